//! The stored application: the accepted application, where it stands, what each step found,
//! and its append-only history (R1: who, when, what, and the rule relied on). Components load
//! it, change it through [`ApplicationRecord::transition`] or by appending, and store it with
//! compare-and-swap; they never rewrite history.
//!
//! The workflow's states and the moves between them live here and nowhere else
//! ([`Status::may_become`]).

use crate::audit::remote::AuditType;
use crate::review::{Review, Screening};
use crate::webhooks::Event;
use crate::{Application, Problem, ReadinessFlag};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Where an application stands in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted at intake (I1–I5), waiting for the automatic screening (A1–A8).
    Submitted,
    /// Screened: the draft review is stored, waiting for an operator's review (A9).
    UnderReview,
    /// Accepted by the review (A9): the CB may contract and plan the audits.
    Accepted,
    /// Rejected by the review, with reasons (A9). Final.
    Rejected,
    /// Audits are being recorded (stage 1, stage 2, ...), with their nonconformities (N1–N3).
    InAudit,
    /// The certification decision is recorded (D1–D8), grant or refuse. Final for a refusal.
    Decided,
    /// A grant's certificate is issued (C1–C4); the certificate's own status (C5) lives on
    /// the certificate.
    Certified,
}

impl Status {
    /// Its name in JSON and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::UnderReview => "under_review",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::InAudit => "in_audit",
            Status::Decided => "decided",
            Status::Certified => "certified",
        }
    }

    /// Whether the workflow lets an application move from `self` to `next`: screening moves
    /// `submitted` to `under_review`; the review (A9) decides an application that is
    /// `under_review`, or still `submitted` when its screening failed (the operator's review
    /// computes every figure itself), and a decided review is final; the first audit of an
    /// accepted application moves it to `in_audit`, where later audits are added; the
    /// certification decision (D1–D8) moves it to `decided`, and issuing a grant's
    /// certificate (C1) to `certified`.
    pub fn may_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Submitted, UnderReview)
                | (Submitted | UnderReview, Accepted | Rejected)
                | (Accepted, InAudit)
                | (InAudit, Decided)
                | (Decided, Certified)
        )
    }

    /// S1, S4 (N1–N3, M1): whether an application in this status accepts an audit of type
    /// `audit`; `recertification` says the application is a recertification application
    /// (S4: it names the certificate it renews). The one table of which audits each status
    /// takes:
    ///
    /// | status | initial application | recertification application |
    /// |---|---|---|
    /// | `accepted`, `in_audit` | `stage_1`, `stage_2` | `recertification`, `special` |
    /// | `certified` | `surveillance_1`, `surveillance_2`, `special` | the same |
    /// | any other | none | none |
    pub fn accepts_audit(self, audit: AuditType, recertification: bool) -> bool {
        use AuditType::*;
        match self {
            Status::Accepted | Status::InAudit if recertification => {
                matches!(audit, Recertification | Special)
            }
            Status::Accepted | Status::InAudit => matches!(audit, Stage1 | Stage2),
            Status::Certified => matches!(audit, Surveillance1 | Surveillance2 | Special),
            Status::Submitted | Status::UnderReview | Status::Rejected | Status::Decided => false,
        }
    }

    /// M1, M3: whether an audit of type `audit` may still be planned, so assessed for remote
    /// activity. Before the decision (`submitted` to `in_audit`), any audit of the programme
    /// (A8): those [`Status::accepts_audit`] takes once accepted and once certified; once
    /// `certified`, the audits it takes (M3: a certified client's surveillance and special
    /// audits are re-assessed within the cycle); `rejected` and `decided`, none.
    pub fn may_be_assessed_for_remote_audit(self, audit: AuditType, recertification: bool) -> bool {
        match self {
            Status::Submitted | Status::UnderReview | Status::Accepted | Status::InAudit => {
                Status::Accepted.accepts_audit(audit, recertification)
                    || Status::Certified.accepts_audit(audit, recertification)
            }
            status => status.accepts_audit(audit, recertification),
        }
    }
}

/// S1, M1: an audit (or its remote-audit assessment) the application's status does not take
/// ([`Status::accepts_audit`]): answered with 409 naming the status and the audits it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditNotAccepted {
    /// Where the application stands.
    pub current: Status,
    /// The audit asked for.
    pub audit: AuditType,
    /// Whether the application is a recertification application (S4).
    pub recertification: bool,
}

impl From<AuditNotAccepted> for Problem {
    fn from(refused: AuditNotAccepted) -> Problem {
        let takes: Vec<&str> = AuditType::ALL
            .into_iter()
            .filter(|t| refused.current.accepts_audit(*t, refused.recertification))
            .map(AuditType::name)
            .collect();
        let takes = if takes.is_empty() {
            "no audit".to_string()
        } else {
            format!("only {} audits", takes.join(", "))
        };
        Problem::new(
            409,
            "invalid-transition",
            "Not possible in the current status",
        )
        .detail(format!(
            "the application is {}: it takes {takes}, not a {} audit (S1)",
            refused.current.name(),
            refused.audit.name()
        ))
        .current_status(refused.current.name())
    }
}

/// A move the workflow does not allow from the current status: answered with 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionRefused {
    /// Where the application stands.
    pub current: Status,
    /// Where the request wanted it to go.
    pub requested: Status,
}

impl From<TransitionRefused> for Problem {
    fn from(refused: TransitionRefused) -> Problem {
        Problem::new(
            409,
            "invalid-transition",
            "Not possible in the current status",
        )
        .detail(format!(
            "the application is {}; it cannot become {}",
            refused.current.name(),
            refused.requested.name()
        ))
        .current_status(refused.current.name())
    }
}

/// One entry of the history (R1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The status after the change.
    pub status: Status,
    /// Who made the change: `applicant`, `integration`, `operator:<name>` or a component.
    pub by: String,
    /// The rules relied on.
    pub rules: Vec<String>,
    /// What happened, in a sentence.
    pub note: String,
    /// The id of the state change that wrote this entry (random, unique per attempt), so that
    /// the component that wrote it can tell, when the store did not report the outcome of its
    /// write truthfully, whether the write landed (issue 12; `certflow_component::outcome`).
    /// Absent on entries written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    /// The event this entry publishes to webhook subscribers (issue 13): the history is the
    /// event log. Absent on entries that publish none and on entries written before events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<crate::webhooks::EventTag>,
}

impl StatusChange {
    /// The event an application's history entry publishes, if any: `data` holds
    /// `application_id`, the `status` after the change, the audit and finding ids it concerns and
    /// `links.application` (`/api/applications/<id>`, read with an operator's token).
    pub fn published_event(&self, application_id: &str) -> Option<Event> {
        let entry = self;
        let tag = entry.event.as_ref()?;
        let mut data = json!({
            "application_id": application_id,
            "status": entry.status.name(),
            "links": { "application": format!("/api/applications/{application_id}") },
        });
        if let Some(audit) = &tag.audit {
            data["audit_id"] = json!(audit);
        }
        if let Some(finding) = &tag.finding {
            data["finding_id"] = json!(finding);
        }
        Some(Event {
            kind: tag.kind,
            timestamp: entry.at,
            data,
        })
    }
}

/// An application as stored under `application:<id>`. `A` is the typed [`Application`], or
/// for intake, which stores and shows the document without interpreting it, the cleaned JSON
/// document of [`crate::validate_document`] (the same JSON either way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationRecord<A = Application> {
    /// Unguessable id (128 random bits, hex).
    pub id: String,
    /// Current status: always the status of the last history entry.
    pub status: Status,
    /// What the applicant submitted, validated (I1).
    pub application: A,
    /// Readiness flags raised at intake (I4).
    pub flags: Vec<ReadinessFlag>,
    /// SHA-256 (hex) of the applicant's access token; the token itself is never stored.
    pub access_token_sha256: String,
    /// Append-only history (R1).
    pub history: Vec<StatusChange>,
    /// The latest automatic screening (A1–A8): the draft review, or why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screening: Option<Screening>,
    /// The operator's review (A9), once decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    /// Every remote-audit assessment (M1–M5), oldest first, each an [`AssessmentRecord`](crate::audit::remote::AssessmentRecord)
    /// as stored: each is kept, so the rationale of each audit stays on record when it is
    /// re-assessed (M3). Kept as JSON for the reason given at [`Screening`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_audits: Vec<serde_json::Value>,
    /// Every audit recorded (N1–N3), oldest first, each an
    /// [`AuditRecord`](crate::audit::AuditRecord) as stored, its nonconformities' responses and
    /// verifications added in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audits: Vec<serde_json::Value>,
    /// The certification decision (D8), a [`DecisionRecord`](crate::decision::DecisionRecord)
    /// as stored, once recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<serde_json::Value>,
    /// The number of the certificate issued on a grant (C1), stored as
    /// `certificate:<number>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The decisions on the surveillance and special audits of the certified application
    /// (S3, X1, X2), oldest first, append-only, each a
    /// [`CycleDecisionRecord`](crate::cycle::CycleDecisionRecord) as stored (D8).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycle_decisions: Vec<serde_json::Value>,
    /// S4: for a recertification application, the certificate it renews as checked when
    /// it was received (late applications flagged, C4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recertification: Option<crate::cycle::Recertifying>,
}

impl<A> ApplicationRecord<A> {
    /// A freshly submitted application (I1–I5 passed), with its first history entry.
    pub fn submitted(
        id: String,
        accepted: crate::Accepted<A>,
        access_token_sha256: String,
        at: DateTime<Utc>,
        by: &str,
    ) -> ApplicationRecord<A> {
        let mut note = "application received and validated".to_string();
        if !accepted.flags.is_empty() {
            note.push_str("; flagged: not yet ready for the initial audit (I4)");
        }
        ApplicationRecord {
            id,
            status: Status::Submitted,
            application: accepted.application,
            flags: accepted.flags,
            access_token_sha256,
            history: vec![StatusChange {
                at,
                status: Status::Submitted,
                by: by.to_string(),
                rules: ["I1", "I2", "I3", "I4", "I5"].map(String::from).to_vec(),
                note,
                change_id: None,
                event: Some(crate::webhooks::EventTag::new(
                    crate::webhooks::EventType::ApplicationSubmitted,
                )),
            }],
            screening: None,
            review: None,
            remote_audits: Vec::new(),
            audits: Vec::new(),
            decision: None,
            certificate: None,
            cycle_decisions: Vec::new(),
            recertification: None,
        }
    }

    /// R1: the day the application was submitted (UTC), its first history entry's date;
    /// `None` for a record without history (none is stored so).
    pub fn submitted_on(&self) -> Option<chrono::NaiveDate> {
        self.history.first().map(|h| h.at.date_naive())
    }

    /// Records something that happened without a change of status (R1), e.g. a screening
    /// that could not compute its figures.
    pub fn append(
        &mut self,
        at: DateTime<Utc>,
        by: &str,
        rules: &[&str],
        note: impl Into<String>,
        event: Option<crate::webhooks::EventTag>,
    ) {
        self.history.push(StatusChange {
            at,
            status: self.status,
            by: by.to_string(),
            rules: rules.iter().map(|r| r.to_string()).collect(),
            note: note.into(),
            change_id: None,
            event,
        });
    }

    /// Moves the application to `next` and appends the change to its history (R1), or
    /// refuses a move the workflow does not allow ([`Status::may_become`]).
    pub fn transition(
        &mut self,
        next: Status,
        at: DateTime<Utc>,
        by: &str,
        rules: &[&str],
        note: impl Into<String>,
        event: Option<crate::webhooks::EventTag>,
    ) -> Result<(), TransitionRefused> {
        if !self.status.may_become(next) {
            return Err(TransitionRefused {
                current: self.status,
                requested: next,
            });
        }
        self.status = next;
        self.history.push(StatusChange {
            at,
            status: next,
            by: by.to_string(),
            rules: rules.iter().map(|r| r.to_string()).collect(),
            note: note.into(),
            change_id: None,
            event,
        });
        Ok(())
    }
}

/// What later steps read of an application held as its stored JSON document: components that
/// do not compute with the whole [`Application`] load `ApplicationRecord<Value>` and carry no
/// code to deserialise it (it is most of a component's size).
impl ApplicationRecord<serde_json::Value> {
    /// The applicant's legal id (D4 compares it with consultancies).
    pub fn legal_id(&self) -> Option<crate::intake::application::LegalId> {
        let id = self.application.pointer("/organization/legal_id")?;
        serde_json::from_value(id.clone()).ok()
    }

    /// S4: whether this is a recertification application (its document names the certificate
    /// it renews, `recertification_of`; [`is_recertification`]).
    pub fn is_recertification(&self) -> bool {
        is_recertification(&self.application)
    }

    /// R2: the day an application closed without a certificate: rejected by the review (A9),
    /// or refused by the certification decision (D1–D8); the day of the history entry that
    /// moved it there. `None` while it is open or once it is certified.
    pub fn closed_on(&self) -> Option<chrono::NaiveDate> {
        let closing = match self.status {
            Status::Rejected => Status::Rejected,
            Status::Decided
                if self
                    .decision
                    .as_ref()
                    .is_some_and(|d| d["outcome"] == "refuse") =>
            {
                Status::Decided
            }
            _ => return None,
        };
        self.history
            .iter()
            .rev()
            .find(|h| h.status == closing)
            .map(|h| h.at.date_naive())
    }

    /// The standards applied for (D2).
    pub fn standard_codes(&self) -> Vec<crate::intake::application::StandardCode> {
        self.application["standards"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|s| s["code"].as_str())
            .filter_map(crate::intake::application::StandardCode::parse)
            .collect()
    }
}

/// S4: whether the application document `application` (as stored) is a recertification
/// application: it names the certificate it renews (`"recertification_of": "<number>"`).
pub fn is_recertification(application: &serde_json::Value) -> bool {
    application
        .get("recertification_of")
        .is_some_and(|number| !number.is_null())
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    const ALL: [Status; 7] = [
        Submitted,
        UnderReview,
        Accepted,
        Rejected,
        InAudit,
        Decided,
        Certified,
    ];

    #[test]
    fn a9_only_the_workflow_moves_are_allowed() {
        let allowed = [
            (Submitted, UnderReview),
            (Submitted, Accepted),
            (Submitted, Rejected),
            (UnderReview, Accepted),
            (UnderReview, Rejected),
            (Accepted, InAudit),
            (InAudit, Decided),
            (Decided, Certified),
        ];
        for from in ALL {
            for to in ALL {
                assert_eq!(
                    from.may_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn a9_a_decided_review_is_final() {
        for to in ALL {
            assert!(!Rejected.may_become(to));
            assert!(to == InAudit || !Accepted.may_become(to));
        }
    }

    #[test]
    fn d8_a_decision_is_final_and_a_grant_only_becomes_certified() {
        for to in ALL {
            assert!(to == Certified || !Decided.may_become(to));
            assert!(!Certified.may_become(to));
        }
    }

    #[test]
    fn d2_d4_a_stored_document_gives_its_legal_id_and_standards() -> Result<(), serde_json::Error> {
        let record: super::ApplicationRecord<serde_json::Value> = serde_json::from_value(
            serde_json::json!({
                "id": "x", "status": "in_audit", "flags": [], "access_token_sha256": "", "history": [],
                "application": {
                    "organization": { "legal_id": { "type": "uscc", "number": "91310000MA1FL8XQ37" } },
                    "standards": [ { "code": "ISO/IEC 27001", "edition": "2022" }, { "code": "ISO 9001" } ]
                }
            }),
        )?;
        assert_eq!(
            record.legal_id().map(|id| id.number),
            Some("91310000MA1FL8XQ37".to_string())
        );
        assert_eq!(
            record.standard_codes(),
            vec![crate::intake::application::StandardCode::Iso27001]
        );
        Ok(())
    }

    #[test]
    fn status_names_match_their_json() -> Result<(), serde_json::Error> {
        for status in ALL {
            assert_eq!(serde_json::to_value(status)?, status.name());
        }
        Ok(())
    }
}

#[cfg(test)]
mod event_tests {
    use super::*;
    use crate::webhooks::{EventTag, EventType};
    use serde_json::json;

    #[test]
    fn r3_application_event_carries_ids_and_status_only() -> Result<(), Box<dyn std::error::Error>>
    {
        let entry = StatusChange {
            at: "2026-11-30T10:00:00Z".parse()?,
            status: Status::InAudit,
            by: "operator:li-na".into(),
            rules: vec!["N1".into()],
            note: "audit-2 recorded (1 finding(s))".into(),
            change_id: Some("c".into()),
            event: Some(EventTag {
                kind: EventType::AuditRecorded,
                audit: Some("audit-2".into()),
                finding: None,
            }),
        };
        let event = entry.published_event("ab").ok_or("no event")?;
        assert_eq!(event.kind, EventType::AuditRecorded);
        assert_eq!(
            event.data,
            json!({"application_id": "ab", "status": "in_audit", "audit_id": "audit-2",
                   "links": {"application": "/api/applications/ab"}})
        );
        // R1 `by` and the note are not published.
        let body = serde_json::to_string(&event)?;
        assert!(
            !body.contains("li-na") && !body.contains("finding(s)"),
            "{body}"
        );
        let untagged = StatusChange {
            event: None,
            ..entry
        };
        assert!(untagged.published_event("ab").is_none());
        Ok(())
    }
}
