//! The certification cycle after the certificate (docs/CYCLE.md): maintaining certification
//! after surveillance and special audits (S1, S3: [`apply_cycle_audit`]), the independent
//! decisions on them (S3, X1, X2: [`check_cycle_decision`], [`apply_cycle_decision`]) and
//! changes to the certified client (G1: [`request_change`], [`review_change`],
//! [`issue_change`]), complaints and appeals (P1–P6: [`complaints`]) and how long records
//! are kept (R2: [`retention`]). Pure: no I/O, no clock; every date is passed in.
//!
//! Choices where the rules are silent:
//! - S3 reads the lead auditor's recommendation and the majors of the audit itself: any major
//!   nonconformity, whatever its state, needs the review (17021-1 9.6.3.2: the decision on
//!   maintaining is made by someone who did not take part when there is a major).
//! - A cycle audit of a suspended certificate always needs a decision (C5: only a decision
//!   restores), and so does a scope extension audit (X1: the scope changes only by
//!   `extend_scope`).
//! - One decision per audit; a decision clears `review_required` only when it names the
//!   audit the review is for.
//! - A cycle audit whose surveillance cannot be marked held (C3: every surveillance of the
//!   cycle already recorded, held before the previous one) is still applied: the C3 problem
//!   becomes a reason of the review, so nothing is retried for ever and nothing is lost.

mod changes;
pub mod complaints;
mod decision;
mod maintain;
mod recertification;
pub mod retention;

pub use crate::certificate::cycle_record::{
    AppliedAudit, AppliedDecision, CertificateChange, ChangeIssued, ChangeRequest, ChangeReview,
    CycleAuditKind, CycleOutcome, Maintenance, NewSite, ReviewRequired,
};

pub use changes::{ChangeReviewRequest, issue_change, request_change, review_change};
pub use decision::{
    CycleContext, CycleDecisionRecord, CycleDecisionRequest, ExtendedScope, apply_cycle_decision,
    check_cycle_decision,
};
pub use maintain::{apply_cycle_audit, review_reasons};
pub use recertification::{
    Recertifying, check_recertification_application, claim_renewal, continue_cycle,
    last_decision_day, require_current_application,
};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::audit::remote::AuditType;
use crate::audit::{AuditRecord, Purpose, Recommendation, Severity};

impl CycleAuditKind {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            CycleAuditKind::Surveillance => "surveillance",
            CycleAuditKind::ScopeExtension => "scope extension",
            CycleAuditKind::ShortNotice => "short-notice",
        }
    }

    /// A special audit (X1, X2), as G1 asks for before a change that needs an audit.
    pub fn is_special(self) -> bool {
        !matches!(self, CycleAuditKind::Surveillance)
    }
}

/// The lead auditor's conclusion on a cycle audit (S3, X1, X2): `maintain`, `suspend` or
/// `withdraw` after a surveillance or short-notice audit, `grant` or `refuse` after a scope
/// extension audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// Maintain certification (positive).
    Maintain,
    /// Suspend the certificate (negative).
    Suspend,
    /// Withdraw the certificate (negative).
    Withdraw,
    /// Grant the scope extension (positive).
    Grant,
    /// Refuse the scope extension (negative).
    Refuse,
}

impl Conclusion {
    /// Its name in JSON and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Conclusion::Maintain => "maintain",
            Conclusion::Suspend => "suspend",
            Conclusion::Withdraw => "withdraw",
            Conclusion::Grant => "grant",
            Conclusion::Refuse => "refuse",
        }
    }

    /// Positive: maintain, or grant the extension.
    pub fn is_positive(self) -> bool {
        matches!(self, Conclusion::Maintain | Conclusion::Grant)
    }
}

/// What S3, X1 and X2 read of a surveillance or special audit recorded on a certified
/// application ([`CycleAudit::of`] reads it from the stored audit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleAudit {
    /// The audit's id, e.g. `audit-3`.
    pub id: String,
    /// What it was for.
    pub kind: CycleAuditKind,
    /// Its first day (C3: the day a surveillance is held).
    pub starts_on: NaiveDate,
    /// The lead auditor's conclusion.
    pub conclusion: Conclusion,
    /// The ids of its major nonconformities (N1), whatever their state.
    pub majors: Vec<String>,
}

impl CycleAudit {
    /// S1, X1, X2: what S3 reads of a stored audit: `None` for an audit of the initial cycle
    /// (stage 1, stage 2), a recertification, or a special audit without a purpose.
    pub fn of(audit: &AuditRecord) -> Option<CycleAudit> {
        let kind = match (audit.audit_type, audit.purpose) {
            (AuditType::Surveillance1 | AuditType::Surveillance2, _) => {
                CycleAuditKind::Surveillance
            }
            (AuditType::Special, Some(Purpose::ScopeExtension)) => CycleAuditKind::ScopeExtension,
            (AuditType::Special, Some(Purpose::ShortNotice)) => CycleAuditKind::ShortNotice,
            _ => return None,
        };
        let conclusion = match audit.recommendation {
            Recommendation::Maintain => Conclusion::Maintain,
            Recommendation::Suspend => Conclusion::Suspend,
            Recommendation::Withdraw => Conclusion::Withdraw,
            Recommendation::Grant | Recommendation::GrantAfterVerification => Conclusion::Grant,
            Recommendation::Refuse => Conclusion::Refuse,
        };
        Some(CycleAudit {
            id: audit.id.clone(),
            kind,
            starts_on: audit.starts_on,
            conclusion,
            majors: audit
                .findings
                .iter()
                .filter(|f| f.finding.severity == Severity::Major)
                .map(|f| f.id.clone())
                .collect(),
        })
    }
}
