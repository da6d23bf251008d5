//! The certification decision and its independence check (D1–D8).
//!
//! An operator asks for a decision ([`DecisionRequest::from_json`]); [`check_decision`]
//! checks it against the people register entry of the decision maker, the client's legal id,
//! the requested standards and technical areas, and the recorded audits, and either returns
//! the [`DecisionRecord`] to store (D8) or every broken rule at once.
//!
//! Choices where the rules are silent:
//! - D1 checks every audit passed in (the component passes the cycle's audits), any role;
//!   verifying an NC's response is part of the audit (17021-1 9.4.10), so a verifier may not
//!   decide either.
//! - D2–D4 for a decision maker not in the register: one violation per rule, since none of
//!   them can be checked.
//! - D5 checks every nonconformity of every audit passed in; D6 the majors of the latest
//!   stage 2 (by last day). The 6-month limit is the same calendar day 6 months after the
//!   last day of stage 2 (a month end clamps: 2026-08-31 → 2027-02-28); verified on that day
//!   is in time. An unverified major is a D6 violation once `today` is past the limit.
//! - D7 reads the recommendation of the latest stage 2. Refusing against a positive
//!   recommendation needs no justification under D7; the record notes it.
//! - A grant needs a stage 2 audit recorded at all: cited as D8 (the decision has no audit
//!   information to rely on).
//! - Outcomes are `grant` and `refuse`; D5–D7 and the stage 2 check apply to grants only.

pub mod certificate_details;

pub use crate::shared::settings::DecisionSettings;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::remote::AuditType;
use crate::audit::{AuditRecord, NcState, Recommendation, Severity, audit_type_name};
use crate::intake::application::{LegalId, StandardCode};
use crate::intake::config::IntakeConfig;
use crate::intake::schema::{self, Kind, line, multiline, opt, req};
use crate::people::Person;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::explain::Reason;
use crate::shared::violation::Violation;
use certificate_details::{ISSUE, IssueRequest, issue_field_rule};

/// The decision asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Grant certification.
    Grant,
    /// Refuse certification.
    Refuse,
}

impl Outcome {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] = &["grant", "refuse"];
}

/// What an operator asks for (`POST .../decision`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The decision maker's person id in the register.
    pub decision_maker: String,
    /// Grant or refuse.
    pub outcome: Outcome,
    /// Why; required to overturn a negative recommendation (D7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// A grant's certificate details (C1, C2): with them, the grant chains the certificate
    /// component, which issues at once; without, an operator issues later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<IssueRequest>,
}

static DECISION: Kind = Kind::Object(&[
    req("decision_maker", line(100)),
    req("outcome", Kind::Enum(Outcome::NAMES)),
    opt("justification", multiline(4000)),
    opt("certificate", ISSUE),
]);

impl DecisionRequest {
    /// D7, D8: reads an operator's JSON body, every error at once (the justification's cite
    /// D7, the certificate details C1 and C2 as [`IssueRequest::from_json`], the others D8).
    /// Certificate details come only with a grant.
    pub fn from_json(input: &Value) -> Result<DecisionRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let doc = schema::check_kind(
            &DECISION,
            input,
            "D8",
            &IntakeConfig::default(),
            &mut errors,
        );
        for e in &mut errors {
            if e.is_within("/justification") {
                e.rule = "D7";
            } else if e.is_within("/certificate") {
                e.rule = issue_field_rule(e, "/certificate");
            }
        }
        if input["outcome"] == "refuse" && input.get("certificate").is_some_and(|c| !c.is_null()) {
            errors.push(FieldError::new(
                "/certificate",
                ErrorCode::InvalidValue,
                "certificate details come only with a grant: a refusal issues no certificate",
                "C1",
            ));
        }
        schema::typed(doc, errors, "D8")
    }
}

/// D8: who decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionMaker {
    /// Person id in the register.
    pub id: String,
    /// Name at the time of the decision.
    pub name: String,
}

/// D8: nonconformities of one severity by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NcCounts {
    /// No response yet.
    pub open: u32,
    /// Latest response awaiting verification.
    pub responded: u32,
    /// Latest response rejected.
    pub rejected: u32,
    /// Latest response accepted (majors: correction and corrective action verified; minors:
    /// plan accepted).
    pub accepted: u32,
}

impl NcCounts {
    fn add(&mut self, state: NcState) {
        let slot = match state {
            NcState::Open => &mut self.open,
            NcState::Responded => &mut self.responded,
            NcState::Rejected => &mut self.rejected,
            NcState::Accepted => &mut self.accepted,
        };
        *slot = slot.saturating_add(1);
    }
}

/// D8: one audit the decision relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSummary {
    /// The audit's id.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub audit_type: AuditType,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day.
    pub ends_on: NaiveDate,
    /// The team's recommendation (D7).
    pub recommendation: Recommendation,
    /// Majors by state.
    pub majors: NcCounts,
    /// Minors by state.
    pub minors: NcCounts,
    /// Opportunities for improvement (not NCs, N1).
    pub opportunities: u32,
    /// N1: processes flagged for a possible systemic failure.
    #[serde(default)]
    pub systemic_flags: Vec<String>,
}

/// D8: a decision as recorded, with the information it relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Who decided.
    pub decision_maker: DecisionMaker,
    /// Grant or refuse.
    pub outcome: Outcome,
    /// Why, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The audits relied on.
    pub relied_on: Vec<AuditSummary>,
    /// The rules checked, e.g. `["D1", ..., "D8"]`.
    pub rules_checked: Vec<String>,
    /// Notes on how rules applied (an overturned recommendation, the D6 limit).
    #[serde(default)]
    pub reasons: Vec<Reason>,
    /// The day of the decision.
    pub decided_on: NaiveDate,
}

/// D8: what the decision relied on from `audit`.
pub fn summarize(audit: &AuditRecord) -> AuditSummary {
    let mut majors = NcCounts::default();
    let mut minors = NcCounts::default();
    let mut opportunities = 0u32;
    for f in &audit.findings {
        match f.finding.severity {
            Severity::Major => majors.add(f.state()),
            Severity::Minor => minors.add(f.state()),
            Severity::Opportunity => opportunities = opportunities.saturating_add(1),
        }
    }
    AuditSummary {
        id: audit.id.clone(),
        audit_type: audit.audit_type,
        starts_on: audit.starts_on,
        ends_on: audit.ends_on,
        recommendation: audit.recommendation,
        majors,
        minors,
        opportunities,
        systemic_flags: audit
            .systemic_flags
            .iter()
            .map(|f| f.process.clone())
            .collect(),
    }
}

/// D1–D8: checks `request` and returns the record to store, or every broken rule at once.
/// `decision_maker` is the register entry for `request.decision_maker` (`None`: not in the
/// register); `audits` the audits of the cycle being decided; `today` the decision date.
#[allow(clippy::too_many_arguments)]
pub fn check_decision(
    request: &DecisionRequest,
    decision_maker: Option<&Person>,
    client: &LegalId,
    standards: &[StandardCode],
    technical_areas: &[String],
    audits: &[AuditRecord],
    today: NaiveDate,
    settings: &DecisionSettings,
) -> Result<DecisionRecord, Vec<Violation>> {
    let mut violations = Vec::new();
    let mut reasons = Vec::new();
    let dm_id = request.decision_maker.trim();

    violations.extend(check_independence(
        dm_id,
        decision_maker,
        client,
        standards,
        technical_areas,
        audits,
        today,
        settings,
    ));

    let mut rules_checked = vec!["D1", "D2", "D3", "D4"];
    if request.outcome == Outcome::Grant {
        rules_checked.extend(["D5", "D6", "D7"]);
        check_grant(
            request,
            audits,
            today,
            settings,
            &mut violations,
            &mut reasons,
        );
    } else if let Some(stage2) = latest_stage_2(audits)
        && matches!(
            stage2.recommendation,
            Recommendation::Grant | Recommendation::GrantAfterVerification
        )
    {
        reasons.push(Reason::new(
            "D7",
            format!(
                "refused against the positive recommendation of audit {}",
                stage2.id
            ),
        ));
    }
    rules_checked.push("D8");

    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(DecisionRecord {
        decision_maker: DecisionMaker {
            id: dm_id.to_string(),
            name: decision_maker.map(|p| p.name.clone()).unwrap_or_default(),
        },
        outcome: request.outcome,
        justification: request.justification.clone(),
        relied_on: audits.iter().map(summarize).collect(),
        rules_checked: rules_checked.into_iter().map(str::to_string).collect(),
        reasons,
        decided_on: today,
    })
}

/// The latest stage 2 audit, by last day; for a recertification application (S5) the latest
/// recertification audit, which takes stage 2's place (an application has one kind or the
/// other: `Status::accepts_audit`).
fn latest_stage_2(audits: &[AuditRecord]) -> Option<&AuditRecord> {
    audits
        .iter()
        .filter(|a| matches!(a.audit_type, AuditType::Stage2 | AuditType::Recertification))
        .max_by_key(|a| a.ends_on)
}

/// D6: the last day majors of a stage 2 ending `ends_on` may be verified.
pub fn major_verification_limit(ends_on: NaiveDate, settings: &DecisionSettings) -> NaiveDate {
    ends_on
        .checked_add_months(Months::new(settings.major_verification_months))
        .unwrap_or(NaiveDate::MAX)
}

/// D5–D8 for a grant.
fn check_grant(
    request: &DecisionRequest,
    audits: &[AuditRecord],
    today: NaiveDate,
    settings: &DecisionSettings,
    violations: &mut Vec<Violation>,
    reasons: &mut Vec<Reason>,
) {
    // D5: every NC of every audit.
    violations.extend(check_nonconformities(audits));

    let Some(stage2) = latest_stage_2(audits) else {
        violations.push(Violation::new(
            "D8",
            "a grant needs a stage 2 audit (a recertification audit, for a recertification) recorded: there is no audit information to rely on",
        ));
        return;
    };

    // D6: majors of the latest stage 2 verified within the limit.
    let limit = major_verification_limit(stage2.ends_on, settings);
    let mut majors = 0;
    for f in stage2
        .findings
        .iter()
        .filter(|f| f.finding.severity == Severity::Major)
    {
        majors += 1;
        match f.accepted_verification() {
            Some(v) if v.verified_on <= limit => {}
            Some(v) => violations.push(Violation::new(
                "D6",
                format!(
                    "major {} of audit {} was verified on {}, after {} ({} months after stage 2 ended on {}): a new stage 2 is required",
                    f.id, stage2.id, v.verified_on, limit, settings.major_verification_months, stage2.ends_on
                ),
            )),
            None if today > limit => violations.push(Violation::new(
                "D6",
                format!(
                    "major {} of audit {} was not verified by {} ({} months after stage 2 ended on {}): a new stage 2 is required",
                    f.id, stage2.id, limit, settings.major_verification_months, stage2.ends_on
                ),
            )),
            None => {}
        }
    }
    if majors > 0 {
        reasons.push(Reason::new(
            "D6",
            format!(
                "majors of audit {} had to be verified by {limit} ({} months after its last day)",
                stage2.id, settings.major_verification_months
            ),
        ));
    }

    // D7: overturning a negative recommendation.
    if stage2.recommendation == Recommendation::Refuse {
        let justified = request
            .justification
            .as_deref()
            .is_some_and(|j| !crate::formats::is_blank(j));
        if justified {
            reasons.push(Reason::new(
                "D7",
                format!(
                    "granted against the negative recommendation of audit {}, with the recorded justification",
                    stage2.id
                ),
            ));
        } else {
            violations.push(Violation::new(
                "D7",
                format!(
                    "granting overturns the refuse recommendation of audit {}: record a justification",
                    stage2.id
                ),
            ));
        }
    }
}

/// D1–D4: whether the decision maker `dm_id` (its register entry `decision_maker`, `None`
/// when not in the register) may decide for `client` on `today`: took no part in `audits`
/// in any role, nor verified a response to their nonconformities (D1), is competent for
/// `standards` and `technical_areas` (D2), belongs to the CB (D3), and did not consult for the
/// client within `settings.consultancy_years` (D4). Every broken rule, in that order. Used by
/// the grant ([`check_decision`]) and the decisions of the cycle
/// ([`crate::cycle::check_cycle_decision`], S3, X1, X2).
#[allow(clippy::too_many_arguments)]
pub fn check_independence(
    dm_id: &str,
    decision_maker: Option<&Person>,
    client: &LegalId,
    standards: &[StandardCode],
    technical_areas: &[String],
    audits: &[AuditRecord],
    today: NaiveDate,
    settings: &DecisionSettings,
) -> Vec<Violation> {
    let mut violations = check_no_part_in_audits("decision maker", dm_id, audits);

    // D2: there must be something to be competent for.
    if standards.is_empty() {
        violations.push(Violation::new(
            "D2",
            "no standard named for the decision: competence cannot be checked",
        ));
    }

    match decision_maker {
        None => {
            for (rule, what) in [
                ("D2", "competence"),
                ("D3", "employment"),
                ("D4", "consultancy"),
            ] {
                violations.push(Violation::new(
                    rule,
                    format!(
                        "decision maker {dm_id} is not in the people register: {what} cannot be checked"
                    ),
                ));
            }
        }
        Some(person) => {
            // D2.
            for reason in person.competent_for(standards, technical_areas) {
                violations.push(Violation::new("D2", reason.message));
            }
            // D3.
            if let Err(reason) = person.may_decide() {
                violations.push(Violation::new("D3", reason.message));
            }
            // D4.
            if let Some(reason) =
                person.consulted_for_within(client, today, settings.consultancy_years)
            {
                violations.push(Violation::new("D4", reason.message));
            }
        }
    }
    violations
}

/// D5: every nonconformity of `audits` closed: each major's correction and corrective action
/// verified, each minor's corrective action plan accepted; one violation per NC that is not.
pub fn check_nonconformities(audits: &[AuditRecord]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for audit in audits {
        for f in &audit.findings {
            let (severity, what) = match f.finding.severity {
                Severity::Major => ("major", "correction and corrective action"),
                Severity::Minor => ("minor", "corrective action plan"),
                Severity::Opportunity => continue,
            };
            let missing = match (f.state(), f.responses.last()) {
                (NcState::Accepted, _) => continue,
                (NcState::Open, _) | (_, None) => format!("no {what} submitted yet"),
                (NcState::Responded, Some(r)) => format!(
                    "the {what} submitted on {} is not yet {}",
                    r.response.submitted_on,
                    if f.finding.severity == Severity::Major {
                        "verified"
                    } else {
                        "accepted"
                    }
                ),
                (NcState::Rejected, Some(r)) => format!(
                    "the {what} was rejected on {}: a new one is needed",
                    r.verification
                        .as_ref()
                        .map_or(r.response.submitted_on, |v| v.verified_on)
                ),
            };
            violations.push(Violation::new(
                "D5",
                format!("audit {} {severity} {}: {missing}", audit.id, f.id),
            ));
        }
    }
    violations
}

/// D1: whether `person_id`, acting as `role` (e.g. "decision maker", "investigator"), took
/// part in any of `audits` in any role, or verified a response to one of their
/// nonconformities (17021-1 9.4.10: verifying is part of the audit); one violation per
/// part taken. Used by [`check_independence`] and by the complaints and appeals (P3,
/// `crate::cycle`).
pub fn check_no_part_in_audits(
    role: &str,
    person_id: &str,
    audits: &[AuditRecord],
) -> Vec<Violation> {
    let dm_id = person_id;
    let mut violations = Vec::new();
    // D1: took no part in any audit, in any role.
    for audit in audits {
        for member in audit
            .team
            .iter()
            .filter(|m| m.person.trim().eq_ignore_ascii_case(dm_id))
        {
            violations.push(Violation::new(
                "D1",
                format!(
                    "{role} {dm_id} took part in audit {} ({}) as {}",
                    audit.id,
                    audit_type_name(audit.audit_type),
                    crate::audit::team::role_name(member.role)
                ),
            ));
        }
    }

    // D1: verifying corrections is part of the audit (17021-1 9.4.10): a verifier took part.
    for audit in audits {
        for f in &audit.findings {
            let verified = f.responses.iter().filter_map(|r| r.verification.as_ref());
            if verified
                .into_iter()
                .any(|v| v.verified_by.trim().eq_ignore_ascii_case(dm_id))
            {
                violations.push(Violation::new(
                    "D1",
                    format!(
                        "{role} {dm_id} verified the response to {} of audit {}: that is part of the audit",
                        f.id, audit.id
                    ),
                ));
            }
        }
    }

    violations
}
