//! S3, X1, X2: the independent decision on a surveillance or special audit of a certified
//! client (`POST /api/applications/:id/decision` naming the audit), checked like a grant's
//! (D1–D4 against that audit's team and verifiers, D5 for the positive outcomes, D7, D8), and
//! what it does to the certificate ([`apply_cycle_decision`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AppliedDecision, Conclusion, CycleAudit, CycleAuditKind, CycleOutcome};
use crate::audit::AuditRecord;
use crate::certificate::{
    Action, Certificate, CertificateSettings, ReasonRequest, SiteScope, SuspendRequest, restore,
    suspend, withdraw,
};
use crate::decision::{
    AuditSummary, DecisionMaker, DecisionSettings, check_independence, check_nonconformities,
    summarize,
};
use crate::error::{ErrorCode, FieldError};
use crate::explain::Reason;
use crate::intake::application::{CertificateStatus, LegalId, StandardCode};
use crate::intake::config::IntakeConfig;
use crate::intake::schema::{self, Kind, line, multiline, opt, req};
use crate::people::Person;
use crate::violation::Violation;

impl CycleOutcome {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] =
        &["maintain", "suspend", "withdraw", "restore", "extend_scope"];

    /// Its name in JSON and in messages.
    pub fn name(self) -> &'static str {
        match self {
            CycleOutcome::Maintain => "maintain",
            CycleOutcome::Suspend => "suspend",
            CycleOutcome::Withdraw => "withdraw",
            CycleOutcome::Restore => "restore",
            CycleOutcome::ExtendScope => "extend_scope",
        }
    }

    /// Maintain, restore, extend_scope: the outcomes that need every NC closed (D5).
    pub fn is_positive(self) -> bool {
        matches!(
            self,
            CycleOutcome::Maintain | CycleOutcome::Restore | CycleOutcome::ExtendScope
        )
    }
}

/// X1: the extended scope an `extend_scope` decision carries, like a grant's certificate
/// details: `{"scope": "...", "site_scopes": [{"site": 0, "scope": "..."}]}` (sites by index
/// into the certificate's current sites); at least one of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendedScope {
    /// The new overall scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The new per-site scopes.
    #[serde(default)]
    pub site_scopes: Vec<SiteScope>,
}

/// S3, X1, X2: what an operator sends to decide on a cycle audit of a certified application:
/// `{"decision_maker": "chen", "audit": "audit-3", "outcome": "suspend", "justification":
/// "...", "certificate": {...}}` (`certificate` only, and always, with `extend_scope`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleDecisionRequest {
    /// The decision maker's person id in the register (D1–D4).
    pub decision_maker: String,
    /// The id of the surveillance or special audit decided on.
    pub audit: String,
    /// What is decided.
    pub outcome: CycleOutcome,
    /// Why; required to overturn the lead auditor's recommendation (D7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// X1: the extended scope, with `extend_scope` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ExtendedScope>,
}

const EXTENDED_SCOPE: Kind = Kind::Object(&[
    opt("scope", multiline(2000)),
    opt(
        "site_scopes",
        Kind::Array {
            item: &Kind::Object(&[
                req(
                    "site",
                    Kind::Integer {
                        min: 0,
                        max: schema::MAX_SITES as i64,
                    },
                ),
                req("scope", multiline(2000)),
            ]),
            max: schema::MAX_SITES,
        },
    ),
]);

static CYCLE_DECISION: Kind = Kind::Object(&[
    req("decision_maker", line(100)),
    req("audit", line(100)),
    req("outcome", Kind::Enum(CycleOutcome::NAMES)),
    opt("justification", multiline(4000)),
    opt("certificate", EXTENDED_SCOPE),
]);

impl CycleDecisionRequest {
    /// S3, X1, D7, D8: reads an operator's JSON body, every error at once (the justification's
    /// cite D7, the extended scope X1, the others D8): `extend_scope` needs `certificate` with
    /// a `scope` or `site_scopes`; any other outcome takes none.
    pub fn from_json(input: &Value) -> Result<CycleDecisionRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let doc = schema::check_kind(
            &CYCLE_DECISION,
            input,
            "D8",
            &IntakeConfig::default(),
            &mut errors,
        );
        for e in &mut errors {
            if e.is_within("/justification") {
                e.rule = "D7";
            } else if e.is_within("/certificate") {
                e.rule = "X1";
            }
        }
        let certificate = input.get("certificate").filter(|c| !c.is_null());
        match (input.get("outcome").and_then(Value::as_str), certificate) {
            (Some("extend_scope"), None) => errors.push(FieldError::new(
                "/certificate",
                ErrorCode::Required,
                "extend_scope carries the extended scope: certificate.scope or certificate.site_scopes",
                "X1",
            )),
            (Some("extend_scope"), Some(c))
                if c.get("scope").is_none_or(Value::is_null)
                    && c
                        .get("site_scopes")
                        .and_then(Value::as_array)
                        .is_none_or(Vec::is_empty) =>
            {
                errors.push(FieldError::new(
                    "/certificate",
                    ErrorCode::Required,
                    "the extended scope names the new scope or at least one site's scope",
                    "X1",
                ));
            }
            (Some(outcome), Some(_)) if outcome != "extend_scope" => {
                errors.push(FieldError::new(
                    "/certificate",
                    ErrorCode::InvalidValue,
                    "certificate details come only with extend_scope",
                    "X1",
                ));
            }
            _ => {}
        }
        schema::typed(doc, errors, "D8")
    }
}

/// D8: a decision on a cycle audit as recorded, append-only on the application
/// (`cycle_decisions`), with what it relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleDecisionRecord {
    /// Its id, e.g. `decision-1` (numbered on the application).
    pub id: String,
    /// The audit decided on.
    pub audit: String,
    /// What the audit was for.
    pub audit_kind: CycleAuditKind,
    /// What was decided.
    pub outcome: CycleOutcome,
    /// Who decided (D1–D4).
    pub decision_maker: DecisionMaker,
    /// Why, as given (D7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// X1: the extended scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ExtendedScope>,
    /// D8: the audit relied on.
    pub relied_on: AuditSummary,
    /// The rules checked.
    pub rules_checked: Vec<String>,
    /// Notes on how rules applied (D7: decided against the lead's recommendation).
    #[serde(default)]
    pub reasons: Vec<Reason>,
    /// The day of the decision.
    pub decided_on: NaiveDate,
    /// R1: the authenticated principal that recorded it (the operator).
    pub recorded_by: String,
    /// R1: when it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// What [`check_cycle_decision`] reads besides the request and the audit.
#[derive(Debug, Clone, Copy)]
pub struct CycleContext<'a> {
    /// The client (D4).
    pub client: &'a LegalId,
    /// The certified standards (D2).
    pub standards: &'a [StandardCode],
    /// The technical areas the review accepted (D2).
    pub technical_areas: &'a [String],
    /// The certificate's status on the day of the decision (C5).
    pub certificate_status: CertificateStatus,
    /// The cycle decisions already recorded on the application.
    pub earlier: &'a [CycleDecisionRecord],
}

/// S3, X1, X2 with D1–D8: checks `request` on the cycle `audit` (its stored record and
/// what S3 reads of it, `cycle`) and returns the record to store as decision `id`, recorded
/// by `recorded_by` at `recorded_at`, or every broken rule at once:
/// - S3: one decision per audit;
/// - X1: `extend_scope` only after a scope extension audit; X2: `restore` not after one;
/// - C5: `suspend` and `maintain` and `extend_scope` of an active certificate, `restore` of a
///   suspended one, `withdraw` of an active or suspended one;
/// - D1–D4 against that audit's team and the verifiers of its NCs ([`check_independence`]);
/// - D5 for `maintain`, `restore` and `extend_scope` ([`check_nonconformities`]);
/// - D7: an outcome milder than the lead auditor's recommendation (maintain or restore
///   against suspend or withdraw, suspend against withdraw, extend_scope against refuse)
///   needs a justification.
#[allow(clippy::too_many_arguments)]
pub fn check_cycle_decision(
    request: &CycleDecisionRequest,
    decision_maker: Option<&Person>,
    audit: &AuditRecord,
    cycle: &CycleAudit,
    context: &CycleContext<'_>,
    id: String,
    recorded_by: &str,
    recorded_at: DateTime<Utc>,
    settings: &DecisionSettings,
) -> Result<CycleDecisionRecord, Vec<Violation>> {
    let today = recorded_at.date_naive();
    let mut violations = Vec::new();
    let mut reasons = Vec::new();
    let outcome = request.outcome;
    if let Some(earlier) = context.earlier.iter().find(|d| d.audit == cycle.id) {
        violations.push(Violation::new(
            "S3",
            format!(
                "audit {} is already decided ({} by {} on {}): one decision per audit",
                cycle.id,
                earlier.outcome.name(),
                earlier.id,
                earlier.decided_on
            ),
        ));
    }
    match (cycle.kind, outcome) {
        (CycleAuditKind::ScopeExtension, CycleOutcome::Restore) => violations.push(Violation::new(
            "X2",
            format!(
                "audit {} is a scope extension audit: restore follows a surveillance or short-notice audit",
                cycle.id
            ),
        )),
        (kind, CycleOutcome::ExtendScope) if kind != CycleAuditKind::ScopeExtension => {
            violations.push(Violation::new(
                "X1",
                format!(
                    "audit {} is a {} audit: extend_scope follows a scope extension audit",
                    cycle.id,
                    kind.name()
                ),
            ));
        }
        _ => {}
    }
    let status = match context.certificate_status {
        CertificateStatus::Pending => CertificateStatus::Active,
        s => s,
    };
    let allowed: &[CertificateStatus] = match outcome {
        CycleOutcome::Maintain | CycleOutcome::Suspend | CycleOutcome::ExtendScope => {
            &[CertificateStatus::Active]
        }
        CycleOutcome::Restore => &[CertificateStatus::Suspended],
        CycleOutcome::Withdraw => &[CertificateStatus::Active, CertificateStatus::Suspended],
    };
    if !allowed.contains(&status) {
        violations.push(Violation::new(
            "C5",
            format!(
                "the certificate is {}: {} is not possible{}",
                context.certificate_status.name(),
                outcome.name(),
                if status == CertificateStatus::Suspended && outcome == CycleOutcome::Maintain {
                    " (a suspended certificate is restored or withdrawn)"
                } else {
                    ""
                }
            ),
        ));
    }

    let dm_id = request.decision_maker.trim();
    violations.extend(check_independence(
        dm_id,
        decision_maker,
        context.client,
        context.standards,
        context.technical_areas,
        std::slice::from_ref(audit),
        today,
        settings,
    ));
    let mut rules_checked = vec!["S3", "C5", "D1", "D2", "D3", "D4"];
    if outcome.is_positive() {
        rules_checked.push("D5");
        violations.extend(check_nonconformities(std::slice::from_ref(audit)));
    }

    rules_checked.push("D7");
    let milder = match (cycle.conclusion, outcome) {
        (Conclusion::Refuse, CycleOutcome::ExtendScope) => true,
        (Conclusion::Suspend, o) => o.is_positive(),
        (Conclusion::Withdraw, o) => o != CycleOutcome::Withdraw,
        _ => false,
    };
    let harsher = match (cycle.conclusion, outcome) {
        (Conclusion::Maintain | Conclusion::Grant, o) => !o.is_positive(),
        (Conclusion::Suspend, CycleOutcome::Withdraw) => true,
        _ => false,
    };
    let justified = request
        .justification
        .as_deref()
        .is_some_and(|j| !crate::formats::is_blank(j));
    if milder && !justified {
        violations.push(Violation::new(
            "D7",
            format!(
                "{} overturns the lead auditor's recommendation to {} in audit {}: record a justification",
                outcome.name(),
                cycle.conclusion.name(),
                cycle.id
            ),
        ));
    } else if milder || harsher {
        reasons.push(Reason::new(
            "D7",
            format!(
                "decided {} against the lead auditor's recommendation to {} in audit {}{}",
                outcome.name(),
                cycle.conclusion.name(),
                cycle.id,
                if milder {
                    ", with the recorded justification"
                } else {
                    ""
                }
            ),
        ));
    }
    rules_checked.push("D8");
    if outcome == CycleOutcome::ExtendScope {
        rules_checked.push("X1");
    }
    if cycle.kind == CycleAuditKind::ShortNotice {
        rules_checked.push("X2");
    }

    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(CycleDecisionRecord {
        id,
        audit: cycle.id.clone(),
        audit_kind: cycle.kind,
        outcome,
        decision_maker: DecisionMaker {
            id: dm_id.to_string(),
            name: decision_maker.map(|p| p.name.clone()).unwrap_or_default(),
        },
        justification: request.justification.clone(),
        certificate: request.certificate.clone(),
        relied_on: summarize(audit),
        rules_checked: rules_checked.into_iter().map(str::to_string).collect(),
        reasons,
        decided_on: today,
        recorded_by: recorded_by.to_string(),
        recorded_at,
    })
}

/// S3, X1, X2, C5 (R1): applies decision `d` to certificate `c` on `today`, recorded as
/// made by the operator who recorded the decision, the reason naming the decision and its
/// decision maker: `maintain` → history `maintained` (S3); `suspend`, `withdraw`, `restore`
/// → the C5 lifecycle ([`suspend`], [`withdraw`], [`restore`]); `extend_scope` → a new
/// revision with the extended scope, the old one obsolete (X1, C1), history
/// `scope_extended`. The review required for the decided audit is cleared. Idempotent: a
/// decision already applied changes nothing (`Ok(false)`). Refused with the rule a change
/// breaks (C5: the certificate's status changed since the decision; C1: a site index the
/// certificate does not have).
pub fn apply_cycle_decision(
    c: &mut Certificate,
    d: &CycleDecisionRecord,
    today: NaiveDate,
    settings: &CertificateSettings,
) -> Result<bool, Violation> {
    if c.cycle_decisions.iter().any(|a| a.decision == d.id) {
        return Ok(false);
    }
    let by = d.recorded_by.as_str();
    let mut reason = format!(
        "decision {} by {} ({}) on audit {}: {}",
        d.id,
        d.decision_maker.name,
        d.decision_maker.id,
        d.audit,
        d.outcome.name()
    );
    if let Some(j) = &d.justification {
        reason.push_str(": ");
        reason.push_str(j);
    }
    match d.outcome {
        CycleOutcome::Maintain => {
            c.require(today, &[CertificateStatus::Active], "maintain")?;
            c.record(today, by, Action::Maintained, reason, "S3");
        }
        CycleOutcome::Suspend => suspend(
            c,
            &SuspendRequest {
                reason,
                resolve_by: None,
            },
            by,
            today,
            settings,
        )?,
        CycleOutcome::Withdraw => withdraw(c, &ReasonRequest { reason }, by, today)?,
        CycleOutcome::Restore => restore(c, &ReasonRequest { reason }, by, today)?,
        CycleOutcome::ExtendScope => {
            c.require(today, &[CertificateStatus::Active], "extend the scope of")?;
            let Some(mut contents) = c.contents().cloned() else {
                return Err(Violation::new("C1", "the certificate has no revision"));
            };
            if let Some(extended) = &d.certificate {
                if let Some(scope) = &extended.scope {
                    contents.scope.clone_from(scope);
                }
                for s in &extended.site_scopes {
                    let count = contents.sites.len();
                    let Some(site) = contents.sites.get_mut(s.site) else {
                        return Err(Violation::new(
                            "C1",
                            format!(
                                "the extended scope names site {}, but the certificate has {count} site(s)",
                                s.site
                            ),
                        ));
                    };
                    site.scope.clone_from(&s.scope);
                }
            }
            c.new_revision(today, contents);
            c.record(today, by, Action::ScopeExtended, reason, "X1");
        }
    }
    if c.review_required
        .as_ref()
        .is_some_and(|r| r.audit == d.audit)
    {
        c.review_required = None;
    }
    c.cycle_decisions.push(AppliedDecision {
        decision: d.id.clone(),
        audit: d.audit.clone(),
        audit_kind: d.audit_kind,
        outcome: d.outcome,
        decided_on: d.decided_on,
        applied_on: today,
    });
    Ok(true)
}
