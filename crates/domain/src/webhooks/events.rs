//! The events certflow publishes (issue 13). Every state change the app records in a history
//! (R1) is one event: an application's history entry carries an [`EventTag`] naming it
//! ([`crate::record::StatusChange::published_event`]), a certificate's change is one by its
//! [`Action`]. The payload ([`Event`]) holds ids, the
//! status and links to read the details with one's own credentials: never a name, contact or
//! any other personal data (R3, I8).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::certificate::{Action, Change};

/// The type of an event, as sent in the payload's `type` (e.g. `"decision.recorded"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    /// An application was received and validated (I1–I5).
    #[serde(rename = "application.submitted")]
    ApplicationSubmitted,
    /// The automatic screening ran (A1–A8), with figures or with problems.
    #[serde(rename = "application.screened")]
    ApplicationScreened,
    /// An operator accepted or rejected the application (A9).
    #[serde(rename = "application.reviewed")]
    ApplicationReviewed,
    /// A remote-audit risk assessment was recorded (M1–M5).
    #[serde(rename = "remote_audit.assessed")]
    RemoteAuditAssessed,
    /// An audit was recorded with its team and findings (N1–N3).
    #[serde(rename = "audit.recorded")]
    AuditRecorded,
    /// A nonconformity's correction was verified (accepted or not) (N3).
    #[serde(rename = "nonconformity.verified")]
    NonconformityVerified,
    /// The certification decision was recorded (D1–D8).
    #[serde(rename = "decision.recorded")]
    DecisionRecorded,
    /// A certificate was issued (C1, C2).
    #[serde(rename = "certificate.issued")]
    CertificateIssued,
    /// A certificate was suspended (C5).
    #[serde(rename = "certificate.suspended")]
    CertificateSuspended,
    /// A suspension was lifted (C5).
    #[serde(rename = "certificate.restored")]
    CertificateRestored,
    /// A certificate was withdrawn (C5).
    #[serde(rename = "certificate.withdrawn")]
    CertificateWithdrawn,
    /// A certificate's scope was reduced (C5, C1).
    #[serde(rename = "certificate.scope_reduced")]
    CertificateScopeReduced,
    /// A certificate's contents were revised (C1).
    #[serde(rename = "certificate.revised")]
    CertificateRevised,
    /// A certificate passed its expiry (C2).
    #[serde(rename = "certificate.expired")]
    CertificateExpired,
    /// A suspension stayed unresolved past its limit: to withdraw or reduce (C5).
    #[serde(rename = "certificate.flagged_for_withdrawal")]
    CertificateFlaggedForWithdrawal,
    /// Certification was maintained after a cycle audit (S3).
    #[serde(rename = "certificate.maintained")]
    CertificateMaintained,
    /// A cycle audit awaits an independent decision (S3).
    #[serde(rename = "certificate.review_required")]
    CertificateReviewRequired,
    /// A certificate's scope was extended, new revision (X1, C1).
    #[serde(rename = "certificate.scope_extended")]
    CertificateScopeExtended,
    /// A certificate continued into a new cycle by a recertification decision (S5).
    #[serde(rename = "certificate.recertified")]
    CertificateRecertified,
    /// A surveillance audit was recorded on the certificate (C3).
    #[serde(rename = "surveillance.recorded")]
    SurveillanceRecorded,
    /// A surveillance audit is overdue (C3).
    #[serde(rename = "surveillance.overdue")]
    SurveillanceOverdue,
    /// A test event an operator sends to check a subscription (never from a record).
    #[serde(rename = "webhook.ping")]
    WebhookPing,
}

impl EventType {
    /// Every event type, in the order of the workflow.
    pub const ALL: [EventType; 22] = [
        Self::ApplicationSubmitted,
        Self::ApplicationScreened,
        Self::ApplicationReviewed,
        Self::RemoteAuditAssessed,
        Self::AuditRecorded,
        Self::NonconformityVerified,
        Self::DecisionRecorded,
        Self::CertificateIssued,
        Self::CertificateSuspended,
        Self::CertificateRestored,
        Self::CertificateWithdrawn,
        Self::CertificateScopeReduced,
        Self::CertificateRevised,
        Self::CertificateExpired,
        Self::CertificateFlaggedForWithdrawal,
        Self::CertificateMaintained,
        Self::CertificateReviewRequired,
        Self::CertificateScopeExtended,
        Self::CertificateRecertified,
        Self::SurveillanceRecorded,
        Self::SurveillanceOverdue,
        Self::WebhookPing,
    ];

    /// The name sent in `type`, e.g. `"certificate.suspended"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ApplicationSubmitted => "application.submitted",
            Self::ApplicationScreened => "application.screened",
            Self::ApplicationReviewed => "application.reviewed",
            Self::RemoteAuditAssessed => "remote_audit.assessed",
            Self::AuditRecorded => "audit.recorded",
            Self::NonconformityVerified => "nonconformity.verified",
            Self::DecisionRecorded => "decision.recorded",
            Self::CertificateIssued => "certificate.issued",
            Self::CertificateSuspended => "certificate.suspended",
            Self::CertificateRestored => "certificate.restored",
            Self::CertificateWithdrawn => "certificate.withdrawn",
            Self::CertificateScopeReduced => "certificate.scope_reduced",
            Self::CertificateRevised => "certificate.revised",
            Self::CertificateExpired => "certificate.expired",
            Self::CertificateFlaggedForWithdrawal => "certificate.flagged_for_withdrawal",
            Self::CertificateMaintained => "certificate.maintained",
            Self::CertificateReviewRequired => "certificate.review_required",
            Self::CertificateScopeExtended => "certificate.scope_extended",
            Self::CertificateRecertified => "certificate.recertified",
            Self::SurveillanceRecorded => "surveillance.recorded",
            Self::SurveillanceOverdue => "surveillance.overdue",
            Self::WebhookPing => "webhook.ping",
        }
    }

    /// The type named `name`, if there is one.
    pub fn parse(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The event a certificate change is (R1: every change is one).
    pub const fn of_certificate_action(action: Action) -> EventType {
        match action {
            Action::Issued => Self::CertificateIssued,
            Action::Suspended => Self::CertificateSuspended,
            Action::Restored => Self::CertificateRestored,
            Action::Withdrawn => Self::CertificateWithdrawn,
            Action::ScopeReduced => Self::CertificateScopeReduced,
            Action::Revised => Self::CertificateRevised,
            Action::SurveillanceHeld => Self::SurveillanceRecorded,
            Action::SurveillanceOverdue => Self::SurveillanceOverdue,
            Action::FlaggedForWithdrawal => Self::CertificateFlaggedForWithdrawal,
            Action::Expired => Self::CertificateExpired,
            Action::Maintained => Self::CertificateMaintained,
            Action::ReviewRequired => Self::CertificateReviewRequired,
            Action::ScopeExtended => Self::CertificateScopeExtended,
            Action::Recertified => Self::CertificateRecertified,
        }
    }
}

/// What an application's history entry publishes: its event type and, for an audit or a
/// nonconformity, which one. Stored in the entry (`event`); entries written before events
/// existed, and those that publish nothing of their own (the move to `certified`, whose event
/// is the certificate's `certificate.issued`), have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTag {
    /// The event type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The audit concerned (`audit.recorded`, `nonconformity.verified`), e.g. `"audit-2"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<String>,
    /// The nonconformity concerned (`nonconformity.verified`), e.g. `"nc-1"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
}

impl EventTag {
    /// A tag naming only the type.
    pub fn new(kind: EventType) -> EventTag {
        EventTag {
            kind,
            audit: None,
            finding: None,
        }
    }
}

/// One event as delivered: the JSON body `{type, timestamp, data}` (Standard Webhooks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When the change was made (for a certificate change, which records only its day: when
    /// the event was taken from the history).
    pub timestamp: DateTime<Utc>,
    /// Ids, status and links (relative to the app's base URL); never personal data (R3).
    pub data: Value,
}

/// The event a certificate's change publishes: `data` holds `certificate_number`, the
/// `application_id` when the certificate names it, the `status` and `revision` after the
/// change and `links.certificate` (`/api/certificates/<number>`, the public C6 view).
/// `timestamp` is `now` (a change records only its day).
pub fn certificate_event(
    number: &str,
    application_id: Option<&str>,
    change: &Change,
    now: DateTime<Utc>,
) -> Event {
    let mut data = json!({
        "certificate_number": number,
        "status": change.status,
        "revision": change.revision,
        "changed_on": change.on,
        "links": { "certificate": format!("/api/certificates/{number}") },
    });
    if let Some(id) = application_id {
        data["application_id"] = json!(id);
        data["links"]["application"] = json!(format!("/api/applications/{id}"));
    }
    Event {
        kind: EventType::of_certificate_action(change.action),
        timestamp: now,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::application::CertificateStatus;

    #[test]
    fn event_type_names_round_trip_through_serde_and_parse() -> Result<(), serde_json::Error> {
        for kind in EventType::ALL {
            assert_eq!(serde_json::to_value(kind)?, json!(kind.as_str()));
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::parse("decision"), None);
        Ok(())
    }

    #[test]
    fn c5_every_certificate_action_is_an_event() -> Result<(), Box<dyn std::error::Error>> {
        let change = Change {
            on: "2026-11-30".parse()?,
            by: "operator:wang".into(),
            action: Action::Suspended,
            status: CertificateStatus::Suspended,
            revision: 1,
            reason: "client asked".into(),
            rule: "C5".into(),
            change_id: None,
            at: None,
        };
        let now = "2026-11-30T10:00:00Z".parse()?;
        let event = certificate_event("CF-2026-000001", Some("ab"), &change, now);
        assert_eq!(event.kind, EventType::CertificateSuspended);
        assert_eq!(event.data["status"], json!("suspended"));
        assert_eq!(
            event.data["links"]["application"],
            json!("/api/applications/ab")
        );
        let body = serde_json::to_string(&event)?;
        assert!(
            !body.contains("client asked") && !body.contains("wang"),
            "{body}"
        );
        Ok(())
    }
}
