//! Audits and nonconformities (N1–N3, M1–M3, D4 when an audit is recorded).
//!
//! An operator records an audit ([`AuditRequest::from_json`]); [`record_audit`] checks the
//! team against the people register (D4) and remote use against the latest remote-audit
//! assessment (M1/M2), numbers the nonconformities (`nc-1`, ...) and opportunities for
//! improvement (`ofi-1`, ...), sets each NC's corrective-action deadline (N2) and flags
//! processes with several minors (N1). The client's responses ([`respond`]) and the CB's
//! verifications ([`verify`]) are appended to the NC; the decision (D5, D6) reads them.
//!
//! Choices where the rules are silent:
//! - N2: a major's deadline is 30 working days after the audit's last day, counting Monday to
//!   Friday only: there is no holiday calendar, so public holidays count as working days. A
//!   minor's is 3 months after the last day (a month end clamps: 30 Nov + 3 months = 28 Feb).
//! - N1: the systemic-failure flag counts minors per process (trimmed, case-insensitive) at
//!   the [cfg] threshold and above; it flags, the audit team decides whether to raise a major.
//! - N3: a finding about misuse of the certificate or mark says so (`mark_misuse`); deliberate
//!   misuse with serious effect must be major, any other misuse minor (or an opportunity is
//!   refused: misuse is a nonconformity).
//! - Team: its composition (T1–T4, and one role each) is [`crate::team`]'s, checked with D4
//!   and M1/M2 when the audit is recorded. Reading errors cite the rule their part serves:
//!   the team D1 (the rule that names the team's roles), `remote` M3, findings N1 (N3 for a
//!   misgraded mark misuse), the dates N2, the recommendation D7 (S3 for a surveillance, X1
//!   and X2 for special audits), a special audit's `purpose` and `extended_scope` X1, its
//!   `cause` and `complaint` X2, the `checklist` S2, anything else D8 (the audit record is
//!   what a decision relies on).
//! - S1: which audits an application takes in its status is [`crate::Status::accepts_audit`].
//!   A recommendation fits the audit: stage 1, stage 2 and recertification `grant`, `refuse`
//!   or `grant_after_verification`; surveillance and short-notice audits `maintain`,
//!   `suspend` or `withdraw`; a scope extension `grant` or `refuse`.
//! - S2: the checklist belongs to a surveillance audit's report; it is required when the
//!   application includes ISO/IEC 27001 and, when given, names every item, each covered.
//! - M1: remote use in an audit that starts before the latest assessment for its type was
//!   made (`assessed_on`) is refused; an assessment made on the audit's first day is in time.
//! - Findings may be empty (an audit without findings); each finding needs its severity,
//!   clause, statement and process, and a nonconformity its evidence.
//! - Responses: a new response may follow a rejected or not yet verified one (each is kept);
//!   none after an accepted verification. A verification applies to the latest response,
//!   once, and not before the response was submitted.

pub mod remote;
pub mod team;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::remote::{AssessmentRecord, AuditType, Remote};
use crate::intake::application::{LegalId, StandardCode};
use crate::intake::config::IntakeConfig;
use crate::intake::schema::{self, Cap, Format, Kind, line, multiline, opt, req};
use crate::people::Person;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::explain::Reason;
use crate::shared::settings::DecisionSettings;
use crate::shared::violation::Violation;

/// N1, N2: the nonconformity settings [cfg].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NcSettings {
    /// N2: working days (Monday–Friday, no holiday calendar) after the audit's last day for a
    /// major's correction and corrective action (default 30).
    pub major_working_days: u32,
    /// N2: months after the audit's last day for a minor's (default 3).
    pub minor_months: u32,
    /// N1: minors in one process from which a possible systemic failure (a major) is flagged
    /// (default 3; RULES.md: 3–5).
    pub systemic_minor_threshold: u32,
}

impl Default for NcSettings {
    fn default() -> Self {
        Self {
            major_working_days: 30,
            minor_months: 3,
            systemic_minor_threshold: 3,
        }
    }
}

/// D1: a team member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The audit team leader (exactly one).
    Lead,
    /// An auditor.
    Auditor,
    /// A technical expert.
    TechnicalExpert,
    /// A trainee auditor.
    Trainee,
    /// An evaluator (witnessing the team).
    Evaluator,
}

impl Role {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] = &[
        "lead",
        "auditor",
        "technical_expert",
        "trainee",
        "evaluator",
    ];
}

/// D1, D4: one member of the audit team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamMember {
    /// The person's id in the people register.
    pub person: String,
    /// Their role.
    pub role: Role,
    /// T4: on a trainee's entry, the evaluator (a person id of the team) responsible for the
    /// trainee's findings; the record always names them ([`crate::audit::team::compose`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator: Option<String>,
}

/// M3: whether remote activities were used, and with which tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteUse {
    /// Whether any activity was remote.
    pub used: bool,
    /// The tools (required when used).
    #[serde(default)]
    pub tools: Vec<String>,
}

/// N1: a finding's grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A major nonconformity.
    Major,
    /// A minor nonconformity.
    Minor,
    /// An opportunity for improvement: not a nonconformity (N1).
    Opportunity,
}

impl Severity {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] = &["major", "minor", "opportunity"];
}

/// N3: a finding about misuse of the certificate or mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkMisuse {
    /// The misuse was deliberate.
    pub deliberate: bool,
    /// It had a serious effect.
    pub serious_effect: bool,
}

/// N1: one finding as the team reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Major, minor or opportunity (N1).
    pub severity: Severity,
    /// The clause or control, e.g. `"A.5.15"`.
    pub clause: String,
    /// What is wrong (or could be better).
    pub statement: String,
    /// The objective evidence; required for nonconformities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// The process it was found in (N1: minors are counted per process).
    pub process: String,
    /// N3: present when the finding is misuse of the certificate or mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_misuse: Option<MarkMisuse>,
}

/// D7: the audit team's recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    /// Grant certification.
    Grant,
    /// Refuse certification (negative: overturning it needs a justification, D7).
    Refuse,
    /// Grant once the NCs' corrections are verified.
    GrantAfterVerification,
    /// S3: maintain the certification (surveillance, short-notice audits).
    Maintain,
    /// S3, C5: suspend the certificate (surveillance, short-notice audits).
    Suspend,
    /// S3, C5: withdraw the certificate (surveillance, short-notice audits).
    Withdraw,
}

impl Recommendation {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] = &[
        "grant",
        "refuse",
        "grant_after_verification",
        "maintain",
        "suspend",
        "withdraw",
    ];

    /// Its name in JSON and in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Recommendation::Grant => "grant",
            Recommendation::Refuse => "refuse",
            Recommendation::GrantAfterVerification => "grant_after_verification",
            Recommendation::Maintain => "maintain",
            Recommendation::Suspend => "suspend",
            Recommendation::Withdraw => "withdraw",
        }
    }

    /// D7, S3, X1, X2: the recommendations an audit of `audit_type` (a special audit with
    /// `purpose`) makes, and the rule that says so: stage 1, stage 2 and recertification
    /// grant, refuse or grant after verification (D7); surveillance (S3) and short-notice
    /// (X2) audits maintain, suspend or withdraw; a scope extension grants or refuses (X1).
    /// `None` for a special audit without a purpose (its own error).
    pub fn fitting(
        audit_type: AuditType,
        purpose: Option<Purpose>,
    ) -> Option<(&'static [Recommendation], &'static str)> {
        use Recommendation::*;
        const INITIAL: &[Recommendation] = &[Grant, Refuse, GrantAfterVerification];
        const CYCLE: &[Recommendation] = &[Maintain, Suspend, Withdraw];
        match (audit_type, purpose) {
            (AuditType::Stage1 | AuditType::Stage2 | AuditType::Recertification, _) => {
                Some((INITIAL, "D7"))
            }
            (AuditType::Surveillance1 | AuditType::Surveillance2, _) => Some((CYCLE, "S3")),
            (AuditType::Special, Some(Purpose::ShortNotice)) => Some((CYCLE, "X2")),
            (AuditType::Special, Some(Purpose::ScopeExtension)) => Some((&[Grant, Refuse], "X1")),
            (AuditType::Special, None) => None,
        }
    }
}

/// X1, X2: why a special audit is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// X1: extending the certified scope (with `extended_scope`).
    ScopeExtension,
    /// X2: a short-notice audit (with its `cause`).
    ShortNotice,
}

impl Purpose {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] = &["scope_extension", "short_notice"];
}

/// X2: what a short-notice audit follows up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortNoticeCause {
    /// A complaint (its reference in `complaint`).
    Complaint,
    /// The follow-up of a suspended client.
    SuspensionFollowUp,
    /// A change at the client.
    Change,
}

impl ShortNoticeCause {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] = &["complaint", "suspension_follow_up", "change"];
}

/// S2: one item of an ISMS surveillance report's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Whether the audit covered it (S2: every item must be).
    pub covered: bool,
    /// What was found, or where the report says it.
    pub note: String,
}

/// S2: the items an ISMS surveillance report covers (27006-1 9.6.2; seed §5.6.2.1.1, §5.6.2.2),
/// every one required and covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    /// Risk assessment and control maintenance, internal audit, management review, corrective
    /// action (§5.6.2.1.1 a).
    pub maintenance_elements: ChecklistItem,
    /// Communication with external parties (§5.6.2.1.1 b).
    pub external_communication: ChecklistItem,
    /// The ISMS's effectiveness against the information-security objectives (§5.6.2.2 a).
    pub isms_effectiveness: ChecklistItem,
    /// The periodic evaluation of legal compliance (§5.6.2.2 b).
    pub legal_compliance_review: ChecklistItem,
    /// Control changes and the resulting SoA changes, with the SoA version (§5.6.2.2 c).
    pub control_changes_and_soa: ChecklistItem,
    /// The implementation and effectiveness of the controls the programme samples (§5.6.2.2 d).
    pub control_implementation: ChecklistItem,
    /// The client's records of complaints and appeals (§5.6.2.2).
    pub complaints_records: ChecklistItem,
    /// Earlier nonconformities eliminated (§5.6.2.2).
    pub previous_nonconformities: ChecklistItem,
    /// Significant changes since the last audit (§5.6.2.2).
    pub significant_changes: ChecklistItem,
}

impl Checklist {
    /// S2: the items' names, in the report's order.
    pub const ITEMS: &'static [&'static str] = &[
        "maintenance_elements",
        "external_communication",
        "isms_effectiveness",
        "legal_compliance_review",
        "control_changes_and_soa",
        "control_implementation",
        "complaints_records",
        "previous_nonconformities",
        "significant_changes",
    ];
}

/// An audit as an operator records it (`POST .../audits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRequest {
    /// The audit within the cycle (`type` in the contract).
    #[serde(rename = "type")]
    pub audit_type: AuditType,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day (N2 deadlines and D6 count from it).
    pub ends_on: NaiveDate,
    /// The team (D1, D4), exactly one lead.
    pub team: Vec<TeamMember>,
    /// M3: remote activities and tools.
    pub remote: RemoteUse,
    /// The findings, possibly none.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// D7, S3, X1, X2: fits the audit type ([`Recommendation::fitting`]).
    pub recommendation: Recommendation,
    /// X1, X2: a special audit's purpose (required for `special`, refused otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// X1: the extended scope a scope-extension audit covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_scope: Option<String>,
    /// X2: what a short-notice audit follows up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<ShortNoticeCause>,
    /// X2, P6: the complaint's reference, for a short-notice audit after a complaint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint: Option<String>,
    /// S2: a surveillance report's checklist (required for an ISMS surveillance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checklist: Option<Checklist>,
    /// Free notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// S2: one checklist item's shape.
const CHECKLIST_ITEM: Kind =
    Kind::Object(&[req("covered", Kind::Bool), req("note", multiline(2000))]);

const DATE: Kind = Kind::Text {
    cap: Cap::Chars(40),
    format: Format::Date,
};

/// The shape of an [`AuditRequest`] body.
static AUDIT: Kind = Kind::Object(&[
    req("type", Kind::Enum(AuditType::NAMES)),
    req("starts_on", DATE),
    req("ends_on", DATE),
    req(
        "team",
        Kind::Array {
            item: &Kind::Object(&[
                req("person", line(100)),
                req("role", Kind::Enum(Role::NAMES)),
                opt("evaluator", line(100)),
            ]),
            max: 50,
        },
    ),
    req(
        "remote",
        Kind::Object(&[
            req("used", Kind::Bool),
            opt(
                "tools",
                Kind::Array {
                    item: &line(100),
                    max: 20,
                },
            ),
        ]),
    ),
    opt(
        "findings",
        Kind::Array {
            item: &Kind::Object(&[
                req("severity", Kind::Enum(Severity::NAMES)),
                req("clause", line(50)),
                req("statement", multiline(4000)),
                opt("evidence", multiline(4000)),
                req("process", line(200)),
                opt(
                    "mark_misuse",
                    Kind::Object(&[
                        req("deliberate", Kind::Bool),
                        req("serious_effect", Kind::Bool),
                    ]),
                ),
            ]),
            max: 500,
        },
    ),
    req("recommendation", Kind::Enum(Recommendation::NAMES)),
    opt("purpose", Kind::Enum(Purpose::NAMES)),
    opt("extended_scope", multiline(2000)),
    opt("cause", Kind::Enum(ShortNoticeCause::NAMES)),
    opt("complaint", line(100)),
    opt(
        "checklist",
        Kind::Object(&[
            req("maintenance_elements", CHECKLIST_ITEM),
            req("external_communication", CHECKLIST_ITEM),
            req("isms_effectiveness", CHECKLIST_ITEM),
            req("legal_compliance_review", CHECKLIST_ITEM),
            req("control_changes_and_soa", CHECKLIST_ITEM),
            req("control_implementation", CHECKLIST_ITEM),
            req("complaints_records", CHECKLIST_ITEM),
            req("previous_nonconformities", CHECKLIST_ITEM),
            req("significant_changes", CHECKLIST_ITEM),
        ]),
    ),
    opt("notes", multiline(4000)),
]);

/// The rule a structural error in an audit body cites, by where it is.
fn audit_rule(field: &str) -> &'static str {
    let under = |p: &str| {
        field
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if under("/team") {
        "D1"
    } else if under("/remote") {
        "M3"
    } else if under("/findings") {
        "N1"
    } else if under("/starts_on") || under("/ends_on") {
        "N2"
    } else if under("/recommendation") {
        "D7"
    } else if under("/purpose") || under("/extended_scope") {
        "X1"
    } else if under("/cause") || under("/complaint") {
        "X2"
    } else if under("/checklist") {
        "S2"
    } else {
        "D8"
    }
}

fn date_at(doc: &Value, field: &str) -> Option<NaiveDate> {
    doc.get(field)
        .and_then(Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

impl AuditRequest {
    /// D1, D8, M3, N1–N3, S2, S3, X1, X2: reads an operator's JSON body for an application
    /// applying for `standards`, reporting every error at once: missing, mistyped or unknown
    /// fields; `ends_on` before `starts_on` (N2); remote use without tools (M3); a
    /// nonconformity without evidence (N1); a mark-misuse finding graded against N3; a
    /// `starts_on` or `ends_on` after `today`, the day it is recorded (R1: an audit recorded
    /// is one held, [`crate::shared::dates::past_event`]); a recommendation that does not fit the
    /// audit ([`Recommendation::fitting`]: D7, S3, X1, X2); a special audit without its
    /// purpose, a scope extension without `extended_scope` (X1), a short-notice audit without
    /// its `cause`, or a complaint's without its `complaint` reference (X2), and any of these
    /// on an audit they do not belong to; a surveillance of an application including ISO/IEC
    /// 27001 without its `checklist`, a checklist item not covered, or a checklist on an audit
    /// that is no surveillance (S2). The team's composition is checked when the audit is
    /// recorded ([`record_audit`], T1–T4).
    pub fn from_json(
        input: &Value,
        today: NaiveDate,
        standards: &[StandardCode],
    ) -> Result<AuditRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let doc = schema::check_kind(&AUDIT, input, "D8", &IntakeConfig::default(), &mut errors);
        for e in &mut errors {
            e.rule = audit_rule(&e.field);
        }
        crate::shared::dates::check_past_events(
            &doc,
            ["/starts_on", "/ends_on"],
            today,
            "R1",
            &mut errors,
        );
        if let (Some(start), Some(end)) = (date_at(&doc, "starts_on"), date_at(&doc, "ends_on"))
            && end < start
        {
            errors.push(FieldError::new(
                "/ends_on",
                ErrorCode::OutOfRange,
                format!("the audit's last day ({end}) is before its first day ({start})"),
                "N2",
            ));
        }
        if let Some(remote) = doc.get("remote")
            && remote.get("used") == Some(&Value::Bool(true))
            && remote.get("tools").is_none()
            && !errors.iter().any(|e| e.is_within("/remote/tools"))
        {
            errors.push(FieldError::new(
                "/remote/tools",
                ErrorCode::Required,
                "remote activities were used: name the tools (reports state them)",
                "M3",
            ));
        }
        if let Some(Value::Array(findings)) = doc.get("findings") {
            for (i, f) in findings.iter().enumerate() {
                let severity = f.get("severity").and_then(Value::as_str);
                let is_nc = matches!(severity, Some("major" | "minor"));
                if is_nc
                    && f.get("evidence").is_none()
                    && !errors
                        .iter()
                        .any(|e| e.is_within(&format!("/findings/{i}/evidence")))
                {
                    errors.push(FieldError::new(
                        format!("/findings/{i}/evidence"),
                        ErrorCode::Required,
                        "a nonconformity is recorded with its objective evidence",
                        "N1",
                    ));
                }
                let misuse = f.get("mark_misuse").map(|m| {
                    (
                        m.get("deliberate") == Some(&Value::Bool(true)),
                        m.get("serious_effect") == Some(&Value::Bool(true)),
                    )
                });
                let expected = match misuse {
                    Some((true, true)) => Some("major"),
                    Some(_) => Some("minor"),
                    None => None,
                };
                if let (Some(expected), Some(severity)) = (expected, severity)
                    && expected != severity
                {
                    errors.push(FieldError::new(
                        format!("/findings/{i}/severity"),
                        ErrorCode::InvalidValue,
                        format!(
                            "misuse of the certificate or mark {} is a {expected} nonconformity",
                            if expected == "major" {
                                "that is deliberate with serious effect"
                            } else {
                                "that is not both deliberate and serious"
                            }
                        ),
                        "N3",
                    ));
                }
            }
        }
        check_cycle_fields(&doc, standards, &mut errors);
        schema::typed(doc, errors, "D8")
    }
}

/// D7, S2, S3, X1, X2: the fields that depend on the audit's type, on the checked document
/// `doc` (fields that failed their own check are absent and skipped).
fn check_cycle_fields(doc: &Value, standards: &[StandardCode], errors: &mut Vec<FieldError>) {
    fn read<T: serde::de::DeserializeOwned>(doc: &Value, field: &str) -> Option<T> {
        doc.get(field)
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
    }
    let Some(audit_type) = read::<AuditType>(doc, "type") else {
        return;
    };
    let purpose: Option<Purpose> = read(doc, "purpose");
    let cause: Option<ShortNoticeCause> = read(doc, "cause");
    let present = |field: &str| doc.get(field).is_some();
    let reported = |errors: &[FieldError], field: &str| errors.iter().any(|e| e.is_within(field));
    let name = audit_type.name();

    // X1, X2: a special audit's purpose and what goes with it.
    let special = audit_type == AuditType::Special;
    let is = |p: Purpose| special && purpose == Some(p);
    let required = [
        (
            "purpose",
            "X1",
            special,
            "a special audit states its purpose: scope_extension (X1) or short_notice (X2)",
        ),
        (
            "extended_scope",
            "X1",
            is(Purpose::ScopeExtension),
            "a scope-extension audit states the extended scope it covers",
        ),
        (
            "cause",
            "X2",
            is(Purpose::ShortNotice),
            "a short-notice audit states its cause: complaint, suspension_follow_up or change",
        ),
        (
            "complaint",
            "X2",
            is(Purpose::ShortNotice) && cause == Some(ShortNoticeCause::Complaint),
            "a short-notice audit following a complaint names the complaint's reference",
        ),
    ];
    for (field, rule, needed, message) in required {
        let pointer = format!("/{field}");
        if needed && !present(field) && !reported(errors, &pointer) {
            errors.push(FieldError::new(pointer, ErrorCode::Required, message, rule));
        }
    }
    // A field refused only once what it depends on is known (its own error otherwise).
    let known = !special || purpose.is_some();
    let misplaced = [
        ("purpose", "X1", special, true, "a special audit"),
        (
            "extended_scope",
            "X1",
            is(Purpose::ScopeExtension),
            known,
            "a scope-extension audit",
        ),
        (
            "cause",
            "X2",
            is(Purpose::ShortNotice),
            known,
            "a short-notice audit",
        ),
        (
            "complaint",
            "X2",
            is(Purpose::ShortNotice) && cause.is_none_or(|c| c == ShortNoticeCause::Complaint),
            known,
            "a short-notice audit following a complaint",
        ),
    ];
    for (field, rule, belongs, known, whose) in misplaced {
        if present(field) && !belongs && known {
            errors.push(FieldError::new(
                format!("/{field}"),
                ErrorCode::InvalidValue,
                format!(
                    "only {whose} has `{field}`; this is a {name} audit{}",
                    match purpose.filter(|_| special) {
                        Some(Purpose::ScopeExtension) => " (scope extension)",
                        Some(Purpose::ShortNotice) => " (short notice)",
                        None => "",
                    }
                ),
                rule,
            ));
        }
    }

    // D7, S3, X1, X2: the recommendation fits the audit.
    let recommendation: Option<Recommendation> = read(doc, "recommendation");
    if let (Some(recommendation), Some((fitting, rule))) = (
        recommendation,
        Recommendation::fitting(audit_type, purpose.filter(|_| special)),
    ) && !fitting.contains(&recommendation)
    {
        let names: Vec<&str> = fitting.iter().map(|r| r.name()).collect();
        errors.push(FieldError::new(
            "/recommendation",
            ErrorCode::InvalidValue,
            format!(
                "this {name} audit recommends {}, not {}",
                names.join(", "),
                recommendation.name()
            ),
            rule,
        ));
    }

    // S2: the surveillance report's checklist.
    if !audit_type.is_surveillance() {
        if present("checklist") {
            errors.push(FieldError::new(
                "/checklist",
                ErrorCode::InvalidValue,
                format!(
                    "the checklist belongs to a surveillance audit's report, not to a {name} audit"
                ),
                "S2",
            ));
        }
        return;
    }
    match doc.get("checklist") {
        None if standards.contains(&StandardCode::Iso27001) && !reported(errors, "/checklist") => {
            errors.push(FieldError::new(
                "/checklist",
                ErrorCode::Required,
                format!(
                    "a surveillance of an ISO/IEC 27001 certification reports its checklist, every S2 item covered: {}",
                    Checklist::ITEMS.join(", ")
                ),
                "S2",
            ));
        }
        Some(checklist) => {
            for item in Checklist::ITEMS {
                if checklist.pointer(&format!("/{item}/covered")) == Some(&Value::Bool(false)) {
                    errors.push(FieldError::new(
                        format!("/checklist/{item}/covered"),
                        ErrorCode::InvalidValue,
                        "a surveillance report covers every S2 item: this one is not covered",
                        "S2",
                    ));
                }
            }
        }
        None => {}
    }
}

/// N2, D5: the client's response to a nonconformity: the cause, the correction, the corrective
/// action (the plan, for a minor), and when it was submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NcResponse {
    /// The root cause found.
    pub cause: String,
    /// The correction (the immediate fix).
    pub correction: String,
    /// The corrective action (against recurrence).
    pub corrective_action: String,
    /// When it was submitted.
    pub submitted_on: NaiveDate,
}

static RESPONSE: Kind = Kind::Object(&[
    req("cause", multiline(4000)),
    req("correction", multiline(4000)),
    req("corrective_action", multiline(4000)),
    req("submitted_on", DATE),
]);

impl NcResponse {
    /// N2, D5: reads a response body, every error at once (citing D5); a `submitted_on`
    /// after `today`, the day it is recorded, cites R1 ([`crate::shared::dates::past_event`]).
    pub fn from_json(input: &Value, today: NaiveDate) -> Result<NcResponse, Vec<FieldError>> {
        read_past_event(&RESPONSE, input, "/submitted_on", today)
    }
}

/// D5: the CB's verification of the latest response: for a major, that correction and
/// corrective action are effective; for a minor, that the plan is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// Who verified (a person id).
    pub verified_by: String,
    /// When (D6 compares it with the 6-month limit).
    pub verified_on: NaiveDate,
    /// Accepted, or rejected (a new response is needed).
    pub accepted: bool,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

static VERIFICATION: Kind = Kind::Object(&[
    req("verified_by", line(100)),
    req("verified_on", DATE),
    req("accepted", Kind::Bool),
    opt("note", multiline(4000)),
]);

impl Verification {
    /// D5: reads a verification body, every error at once (citing D5); a `verified_on`
    /// after `today`, the day it is recorded, cites R1 ([`crate::shared::dates::past_event`]).
    pub fn from_json(input: &Value, today: NaiveDate) -> Result<Verification, Vec<FieldError>> {
        read_past_event(&VERIFICATION, input, "/verified_on", today)
    }
}

/// A D5 body checked against `kind`, with its past-event date at `field` not after `today`
/// (R1).
fn read_past_event<T: serde::de::DeserializeOwned>(
    kind: &Kind,
    input: &Value,
    field: &str,
    today: NaiveDate,
) -> Result<T, Vec<FieldError>> {
    let mut errors = Vec::new();
    let doc = schema::check_kind(kind, input, "D5", &IntakeConfig::default(), &mut errors);
    crate::shared::dates::check_past_events(&doc, [field], today, "R1", &mut errors);
    schema::typed(doc, errors, "D5")
}

/// D5: one response and, once made, its verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseRound {
    /// The client's response.
    pub response: NcResponse,
    /// The CB's verification of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// D5: where a nonconformity stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NcState {
    /// No response yet.
    Open,
    /// The latest response awaits verification.
    Responded,
    /// The latest response was rejected: a new one is needed.
    Rejected,
    /// The latest response was accepted.
    Accepted,
}

/// A finding as recorded: numbered, with its deadline (N2) and its responses (D5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFinding {
    /// `nc-1`, `nc-2`, ... for nonconformities; `ofi-1`, ... for opportunities.
    pub id: String,
    /// The finding as reported.
    #[serde(flatten)]
    pub finding: Finding,
    /// N2: the corrective-action deadline; none for opportunities (not NCs, N1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<NaiveDate>,
    /// D5: responses in order, each with its verification.
    #[serde(default)]
    pub responses: Vec<ResponseRound>,
}

impl RecordedFinding {
    /// D5: where this finding stands (an opportunity stays `open`: it needs nothing).
    pub fn state(&self) -> NcState {
        match self.responses.last() {
            None => NcState::Open,
            Some(ResponseRound {
                verification: None, ..
            }) => NcState::Responded,
            Some(ResponseRound {
                verification: Some(v),
                ..
            }) if v.accepted => NcState::Accepted,
            Some(_) => NcState::Rejected,
        }
    }

    /// D5, D6: the accepted verification of the latest response, if any.
    pub fn accepted_verification(&self) -> Option<&Verification> {
        self.responses
            .last()
            .and_then(|r| r.verification.as_ref())
            .filter(|v| v.accepted)
    }
}

/// N1: minors in one process at or above the [cfg] threshold: a possible systemic failure,
/// which the team may grade as a major. A flag, not an automatic upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemicFlag {
    /// `"N1"`.
    pub rule: String,
    /// The process, as first written.
    pub process: String,
    /// The minors in it.
    pub nc_ids: Vec<String>,
    /// What to look at, in a sentence.
    pub message: String,
}

/// An audit as stored (JSON) and read by the decision (D5–D8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The audit's id (given by the component).
    pub id: String,
    /// The audit within the cycle.
    #[serde(rename = "type")]
    pub audit_type: AuditType,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day.
    pub ends_on: NaiveDate,
    /// D1: everyone who took part, with their role; T4: each trainee's entry names the
    /// evaluator responsible for their findings.
    pub team: Vec<TeamMember>,
    /// M3: remote activities and tools.
    pub remote: RemoteUse,
    /// M1: how much the assessment relied on allowed to be remote, when used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_allowed: Option<Remote>,
    /// The findings, numbered.
    pub findings: Vec<RecordedFinding>,
    /// N1: processes flagged for a possible systemic failure.
    #[serde(default)]
    pub systemic_flags: Vec<SystemicFlag>,
    /// D7, S3, X1, X2.
    pub recommendation: Recommendation,
    /// X1, X2: a special audit's purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// X1: the extended scope of a scope-extension audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_scope: Option<String>,
    /// X2: what a short-notice audit follows up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<ShortNoticeCause>,
    /// X2: the complaint's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint: Option<String>,
    /// S2: the surveillance report's checklist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checklist: Option<Checklist>,
    /// Free notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// How deadlines and checks were reached, each with its rule.
    #[serde(default)]
    pub reasons: Vec<Reason>,
}

impl AuditRecord {
    /// The finding `id`.
    pub fn finding(&self, id: &str) -> Option<&RecordedFinding> {
        self.findings.iter().find(|f| f.id == id)
    }
}

/// N2: `days` working days (Monday–Friday; no holiday calendar) after `from`. Whole weeks
/// are added at once (any 7 consecutive days hold 5 working days), so a large [cfg] value
/// costs nothing; past the calendar's end the result is its last day.
pub fn add_working_days(from: NaiveDate, days: u32) -> NaiveDate {
    // Leave 1–5 days to count one by one, so the result lands on a working day.
    let weeks = u64::from(days.saturating_sub(1) / 5);
    let Some(mut date) = from.checked_add_days(Days::new(weeks * 7)) else {
        return NaiveDate::MAX;
    };
    let mut left = days - days.saturating_sub(1) / 5 * 5;
    while left > 0 {
        let Some(next) = date.succ_opt() else {
            return NaiveDate::MAX;
        };
        date = next;
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    date
}

/// N2: the deadline for a finding of `severity` from an audit whose last day is `ends_on`;
/// none for an opportunity (not an NC, N1).
pub fn due_date(
    severity: Severity,
    ends_on: NaiveDate,
    settings: &NcSettings,
) -> Option<NaiveDate> {
    match severity {
        Severity::Major => Some(add_working_days(ends_on, settings.major_working_days)),
        Severity::Minor => Some(
            ends_on
                .checked_add_months(Months::new(settings.minor_months))
                .unwrap_or(NaiveDate::MAX),
        ),
        Severity::Opportunity => None,
    }
}

/// What [`record_audit`] checks an audit against: the application, the register and the
/// settings.
#[derive(Debug, Clone, Copy)]
pub struct AuditContext<'a> {
    /// The client's legal id (D4 compares it with consultancies).
    pub client: &'a LegalId,
    /// The day the application was submitted (its first history entry,
    /// [`crate::ApplicationRecord::submitted_on`]): no audit of it starts earlier (R1).
    pub submitted_on: NaiveDate,
    /// The application's standards (T2).
    pub standards: &'a [StandardCode],
    /// The technical areas the review accepted (A9's required competence; T2).
    pub technical_areas: &'a [String],
    /// The register entries of (at least) the team's members, by person id (D4, T2).
    pub register: &'a [(String, Person)],
    /// The application's remote-audit assessments; the latest recorded for the audit type
    /// counts (M1, M3).
    pub remote_audits: &'a [AssessmentRecord],
    /// N1, N2 [cfg].
    pub settings: &'a NcSettings,
    /// D4's consultancy window [cfg].
    pub decision: &'a DecisionSettings,
}

/// D4, M1/M2, N1, N2, T1–T4: records `request` as audit `id` of the application `ctx`
/// describes. Refuses, with every violation at once: remote use the latest assessment for
/// the audit type does not allow or without any (M1, M2), or in an audit starting before
/// that assessment was made (M1: its `assessed_on`; one made on the audit's first day is in
/// time); a team member not in the register (D4: impartiality cannot be checked) or who
/// consulted for the client less than `ctx.decision.consultancy_years` before `starts_on`
/// (D4); a team that breaks T1–T4 ([`crate::audit::team::compose`]); an audit starting before the
/// application was submitted, citing R1: a record of an audit of this application cannot
/// predate the application. The recorded team names each trainee's evaluator (T4).
pub fn record_audit(
    request: AuditRequest,
    id: String,
    ctx: &AuditContext<'_>,
) -> Result<AuditRecord, Vec<Violation>> {
    let AuditContext {
        client,
        submitted_on,
        standards,
        technical_areas,
        register,
        remote_audits,
        settings,
        decision,
    } = *ctx;
    let mut violations = Vec::new();
    let mut reasons = Vec::new();
    let audit_name = request.audit_type.name();
    if request.starts_on < submitted_on {
        violations.push(Violation::new(
            "R1",
            format!(
                "the {audit_name} audit starts on {}, before the application was submitted on {submitted_on}",
                request.starts_on
            ),
        ));
    }

    let remote_allowed = if request.remote.used {
        let latest = remote_audits
            .iter()
            .filter(|r| r.assessment.audit == request.audit_type)
            .max_by_key(|r| r.at);
        if let Some(latest) = latest
            && request.starts_on < latest.assessed_on()
        {
            violations.push(Violation::new(
                "M1",
                format!(
                    "remote activities were used in the {audit_name} audit, which started on {}, before the latest remote-audit assessment for it was made on {}: the assessment comes before any remote activity",
                    request.starts_on,
                    latest.assessed_on()
                ),
            ));
        }
        match latest.map(|r| r.result.remote) {
            None => {
                violations.push(Violation::new(
                    "M1",
                    format!(
                        "remote activities were used in the {audit_name} audit but no remote-audit assessment is recorded for it"
                    ),
                ));
                None
            }
            Some(Remote::None) => {
                violations.push(Violation::new(
                    "M2",
                    format!(
                        "remote activities were used in the {audit_name} audit but the latest assessment allows none"
                    ),
                ));
                None
            }
            Some(allowed) => {
                reasons.push(Reason::new(
                    "M1",
                    format!(
                        "remote activities used with {}, as the latest assessment for the {audit_name} audit allows ({})",
                        request.remote.tools.join(", "),
                        if allowed == Remote::Full {
                            "full"
                        } else {
                            "partial"
                        }
                    ),
                ));
                Some(allowed)
            }
        }
    } else {
        None
    };

    for member in &request.team {
        match crate::audit::team::register_entry(register, &member.person) {
            None => violations.push(Violation::new(
                "D4",
                format!(
                    "team member {} is not in the people register: impartiality cannot be checked",
                    member.person
                ),
            )),
            Some(person) => {
                if let Some(reason) = person.consulted_for_within(
                    client,
                    request.starts_on,
                    decision.consultancy_years,
                ) {
                    violations.push(Violation::new(
                        "D4",
                        format!(
                            "team member {} may not audit the client: {}",
                            member.person, reason.message
                        ),
                    ));
                }
            }
        }
    }
    let team = match crate::audit::team::compose(request.team, register, standards, technical_areas)
    {
        Ok(team) => team,
        Err(broken) => {
            violations.extend(broken);
            Vec::new()
        }
    };
    if !violations.is_empty() {
        return Err(violations);
    }
    reasons.push(Reason::new(
        "T2",
        format!(
            "the team's lead, auditors and technical experts are competent for {}{}",
            standards
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if technical_areas.is_empty() {
                String::new()
            } else {
                format!(" in {}", technical_areas.join(", "))
            }
        ),
    ));

    let mut findings = Vec::new();
    let (mut ncs, mut ofis) = (0, 0);
    for finding in request.findings {
        let id = if finding.severity == Severity::Opportunity {
            ofis += 1;
            format!("ofi-{ofis}")
        } else {
            ncs += 1;
            format!("nc-{ncs}")
        };
        findings.push(RecordedFinding {
            id,
            due_on: due_date(finding.severity, request.ends_on, settings),
            finding,
            responses: Vec::new(),
        });
    }
    if findings
        .iter()
        .any(|f| f.finding.severity == Severity::Major)
    {
        reasons.push(Reason::new(
            "N2",
            format!(
                "majors are due {} working days after {} (Monday to Friday; no holiday calendar: public holidays count as working days)",
                settings.major_working_days, request.ends_on
            ),
        ));
    }
    if findings
        .iter()
        .any(|f| f.finding.severity == Severity::Minor)
    {
        reasons.push(Reason::new(
            "N2",
            format!(
                "minors are due {} months after {}",
                settings.minor_months, request.ends_on
            ),
        ));
    }
    let systemic_flags = systemic_flags(&findings, settings);
    Ok(AuditRecord {
        id,
        audit_type: request.audit_type,
        starts_on: request.starts_on,
        ends_on: request.ends_on,
        team,
        remote: request.remote,
        remote_allowed,
        findings,
        systemic_flags,
        recommendation: request.recommendation,
        purpose: request.purpose,
        extended_scope: request.extended_scope,
        cause: request.cause,
        complaint: request.complaint,
        checklist: request.checklist,
        notes: request.notes,
        reasons,
    })
}

/// N1: processes with at least the threshold of minors, in order of first appearance.
fn systemic_flags(findings: &[RecordedFinding], settings: &NcSettings) -> Vec<SystemicFlag> {
    let mut groups: Vec<(String, String, Vec<String>)> = Vec::new();
    for f in findings
        .iter()
        .filter(|f| f.finding.severity == Severity::Minor)
    {
        let key = f.finding.process.trim().to_lowercase();
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, ids)) => ids.push(f.id.clone()),
            None => groups.push((
                key,
                f.finding.process.trim().to_string(),
                vec![f.id.clone()],
            )),
        }
    }
    let threshold = usize::try_from(settings.systemic_minor_threshold).unwrap_or(usize::MAX);
    groups
        .into_iter()
        .filter(|(_, _, ids)| ids.len() >= threshold)
        .map(|(_, process, nc_ids)| SystemicFlag {
            rule: "N1".to_string(),
            message: format!(
                "{} minors in process {process} ({}): a possible systemic failure; the team decides whether it is a major",
                nc_ids.len(),
                nc_ids.join(", ")
            ),
            process,
            nc_ids,
        })
        .collect()
}

/// The contract's name of an audit type.
pub fn audit_type_name(t: AuditType) -> &'static str {
    t.name()
}

fn nc_mut<'a>(
    record: &'a mut AuditRecord,
    nc_id: &str,
) -> Result<&'a mut RecordedFinding, Violation> {
    let audit = record.id.clone();
    let finding = record
        .findings
        .iter_mut()
        .find(|f| f.id == nc_id)
        .ok_or_else(|| Violation::new("N2", format!("audit {audit} has no finding {nc_id}")))?;
    if finding.finding.severity == Severity::Opportunity {
        return Err(Violation::new(
            "N1",
            format!(
                "{nc_id} is an opportunity for improvement, not a nonconformity: it takes no response or verification"
            ),
        ));
    }
    Ok(finding)
}

/// N2, D5: appends the client's `response` to nonconformity `nc_id`. Refused for an
/// opportunity (not an NC, N1), an unknown id, an NC whose latest response was already
/// accepted (D5), or a response `submitted_on` before the first day of the audit that raised
/// the NC (D5: a response answers a finding, so it cannot predate the audit).
pub fn respond(
    record: &mut AuditRecord,
    nc_id: &str,
    response: NcResponse,
) -> Result<(), Violation> {
    let audit_id = record.id.clone();
    let starts_on = record.starts_on;
    let finding = nc_mut(record, nc_id)?;
    if response.submitted_on < starts_on {
        return Err(Violation::new(
            "D5",
            format!(
                "the response to {nc_id} was submitted on {}, before audit {audit_id} that raised it started on {starts_on}",
                response.submitted_on
            ),
        ));
    }
    if finding.state() == NcState::Accepted {
        return Err(Violation::new(
            "D5",
            format!("{nc_id} is already closed: its latest response was accepted"),
        ));
    }
    finding.responses.push(ResponseRound {
        response,
        verification: None,
    });
    Ok(())
}

/// D5: records the CB's `verification` of the latest response to `nc_id`. Refused without
/// a response, when the latest response is already verified, for a verification dated before
/// the response was submitted, and for an opportunity (N1).
pub fn verify(
    record: &mut AuditRecord,
    nc_id: &str,
    verification: Verification,
) -> Result<(), Violation> {
    let finding = nc_mut(record, nc_id)?;
    let Some(round) = finding.responses.last_mut() else {
        return Err(Violation::new(
            "D5",
            format!("{nc_id} has no response to verify"),
        ));
    };
    if round.verification.is_some() {
        return Err(Violation::new(
            "D5",
            format!(
                "the latest response to {nc_id} is already verified: a new response comes first"
            ),
        ));
    }
    if verification.verified_on < round.response.submitted_on {
        return Err(Violation::new(
            "D5",
            format!(
                "verified on {} but the response was submitted on {}",
                verification.verified_on, round.response.submitted_on
            ),
        ));
    }
    round.verification = Some(verification);
    Ok(())
}
