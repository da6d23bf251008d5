//! The daily due-date sweep (C2, C3, C5): what the date alone changes.

use chrono::{Months, NaiveDate};

use super::lifecycle::apply_suspension;
use super::{Action, Certificate, CertificateSettings, Change};
use crate::intake::application::CertificateStatus;
use crate::shared::settings::Jurisdiction;

/// C2, C3, C5: brings `certificate` up to date on `today` and returns the changes it made
/// (also appended to the history, R1), in order:
/// - past its expiry (C2): expired, and nothing else;
/// - a surveillance not held by its due day (C3): marked overdue (the due day itself is in
///   time);
/// - under `cn`, an active certificate with an overdue surveillance is suspended (C5
///   [cfg: automatic in China]; under IAF the CB decides, the overdue mark prompts it);
/// - a suspension unresolved past its `resolve_by` day (C5): flagged for withdrawal or
///   scope reduction (the CB decides which).
///
/// Idempotent: every step sets a mark it checks first, so a second sweep the same day (or
/// any later day with nothing new due) changes nothing. Withdrawn and expired certificates
/// are left alone. Each change is recorded as made `by` the authenticated principal that ran
/// the sweep (R1), e.g. `operator:<name>`.
pub fn sweep(
    certificate: &mut Certificate,
    today: NaiveDate,
    jurisdiction: Jurisdiction,
    settings: &CertificateSettings,
    by: &str,
) -> Vec<Change> {
    let before = certificate.history.len();
    if matches!(
        certificate.status,
        CertificateStatus::Withdrawn | CertificateStatus::Expired
    ) {
        return Vec::new();
    }
    if today > certificate.expires_on {
        certificate.status = CertificateStatus::Expired;
        let reason = format!("past its last valid day {}", certificate.expires_on);
        certificate.record(today, by, Action::Expired, reason, "C2");
        return certificate
            .history
            .get(before..)
            .map(<[Change]>::to_vec)
            .unwrap_or_default();
    }
    let mut overdue = Vec::new();
    for s in &mut certificate.surveillance {
        if s.held_on.is_none() && s.due_by < today && !s.overdue {
            s.overdue = true;
            overdue.push(s.due_by);
        }
    }
    for due_by in overdue {
        certificate.record(
            today,
            by,
            Action::SurveillanceOverdue,
            format!("surveillance due by {due_by} not held"),
            "C3",
        );
    }
    let any_overdue = certificate
        .surveillance
        .iter()
        .any(|s| s.held_on.is_none() && s.overdue);
    if jurisdiction == Jurisdiction::Cn
        && any_overdue
        && certificate.status == CertificateStatus::Active
    {
        let resolve_by = today
            .checked_add_months(Months::new(settings.suspension_months))
            .unwrap_or(NaiveDate::MAX);
        apply_suspension(
            certificate,
            "C5 (cn): surveillance overdue, suspended automatically",
            by,
            today,
            resolve_by,
        );
    }
    let flag = certificate.suspension.as_mut().and_then(|s| {
        (certificate.status == CertificateStatus::Suspended
            && s.flagged_for_withdrawal_on.is_none()
            && today > s.resolve_by)
            .then(|| {
                s.flagged_for_withdrawal_on = Some(today);
                s.resolve_by
            })
    });
    if let Some(resolve_by) = flag {
        certificate.record(
            today,
            by,
            Action::FlaggedForWithdrawal,
            format!("suspension unresolved by {resolve_by}: withdraw or reduce the scope"),
            "C5",
        );
    }
    certificate
        .history
        .get(before..)
        .map(<[Change]>::to_vec)
        .unwrap_or_default()
}
