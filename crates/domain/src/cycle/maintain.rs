//! S1, S3: what a surveillance or special audit does to the certificate: the due
//! surveillance marked held and the next re-planned (C3), then certification maintained on
//! the lead auditor's positive conclusion without a major nonconformity, or a review required
//! until an independent decision ([`super::check_cycle_decision`]).

use chrono::NaiveDate;

use super::{AppliedAudit, Conclusion, CycleAudit, CycleAuditKind, Maintenance, ReviewRequired};
use crate::certificate::{Action, Certificate, CertificateSettings, record_surveillance};
use crate::explain::Reason;
use crate::intake::application::CertificateStatus;
use crate::review::Jurisdiction;

/// S3, X1, C5: why `audit` needs an independent decision on a certificate that is
/// `status` on the day it is applied; empty when the lead auditor's positive conclusion
/// maintains certification by itself.
pub fn review_reasons(audit: &CycleAudit, status: CertificateStatus) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if !audit.majors.is_empty() {
        reasons.push(Reason::new(
            "S3",
            format!(
                "audit {} raised {} major nonconformit{} ({}): an independent review decides",
                audit.id,
                audit.majors.len(),
                if audit.majors.len() == 1 { "y" } else { "ies" },
                audit.majors.join(", ")
            ),
        ));
    }
    match (audit.kind, audit.conclusion) {
        (CycleAuditKind::ScopeExtension, conclusion) => reasons.push(Reason::new(
            "X1",
            format!(
                "audit {} is a scope extension audit (the lead recommends to {}): the scope changes only by a decision extend_scope",
                audit.id,
                conclusion.name()
            ),
        )),
        (_, Conclusion::Maintain) => {}
        (_, conclusion) => reasons.push(Reason::new(
            "S3",
            format!(
                "the lead auditor of audit {} recommends to {}: an independent review decides",
                audit.id,
                conclusion.name()
            ),
        )),
    }
    match status {
        CertificateStatus::Active | CertificateStatus::Pending => {}
        CertificateStatus::Suspended => reasons.push(Reason::new(
            "C5",
            "the certificate is suspended: only a decision (restore, withdraw) resolves it",
        )),
        other => reasons.push(Reason::new(
            "C5",
            format!("the certificate is {}", other.name()),
        )),
    }
    reasons
}

/// S1, S3 (C3, R1): applies the cycle `audit` to certificate `c` on `today`, recorded as
/// made by `by` (the principal that recorded the audit). A surveillance audit marks the due
/// surveillance held on its first day and re-plans the next ([`record_surveillance`]); then
/// either the history gets `maintained` (S3: positive conclusion, no major, certificate
/// active) or the certificate shows [`ReviewRequired`] and the history `review_required`.
/// Idempotent: an audit already applied changes nothing and `false` is returned. Never
/// refused: a surveillance that cannot be marked held (C3) becomes a reason of the review.
pub fn apply_cycle_audit(
    c: &mut Certificate,
    audit: &CycleAudit,
    by: &str,
    today: NaiveDate,
    jurisdiction: Jurisdiction,
    settings: &CertificateSettings,
) -> bool {
    if c.cycle_audits.iter().any(|a| a.audit == audit.id) {
        return false;
    }
    let mut reasons = review_reasons(audit, c.status_on(today));
    if audit.kind == CycleAuditKind::Surveillance
        && let Err(v) = record_surveillance(c, audit.starts_on, by, today, jurisdiction, settings)
    {
        reasons.push(Reason::new(
            &v.rule,
            format!(
                "audit {} could not be recorded as the cycle's surveillance: {}",
                audit.id, v.found
            ),
        ));
    }
    let outcome = if reasons.is_empty() {
        c.record(
            today,
            by,
            Action::Maintained,
            format!(
                "audit {} ({}, from {}): the lead auditor concludes to maintain, no major nonconformity",
                audit.id,
                audit.kind.name(),
                audit.starts_on
            ),
            "S3",
        );
        Maintenance::Maintained
    } else {
        let mut summary: Vec<String> = reasons.iter().map(|r| r.message.clone()).collect();
        if let Some(earlier) = c.review_required.as_ref().filter(|r| r.audit != audit.id) {
            let note = format!(
                "audit {} still awaits its decision as well (review required since {})",
                earlier.audit, earlier.since
            );
            reasons.push(Reason::new("S3", note.clone()));
            summary.push(note);
        }
        c.record(
            today,
            by,
            Action::ReviewRequired,
            format!(
                "audit {} ({}): {}",
                audit.id,
                audit.kind.name(),
                summary.join("; ")
            ),
            "S3",
        );
        c.review_required = Some(ReviewRequired {
            audit: audit.id.clone(),
            since: today,
            reasons,
        });
        Maintenance::ReviewRequired
    };
    c.cycle_audits.push(AppliedAudit {
        audit: audit.id.clone(),
        kind: audit.kind,
        starts_on: audit.starts_on,
        applied_on: today,
        outcome,
    });
    true
}
