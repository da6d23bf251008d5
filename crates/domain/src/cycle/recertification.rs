//! S4, S5 (docs/CYCLE.md; seed §5.6.3; ISO/IEC 17021-1 9.6.3): recertification. The client
//! applies with an application naming the certificate it renews (`recertification_of`); the
//! application is checked against that certificate when it is received
//! ([`check_recertification_application`]); its audits are `recertification` (and special)
//! ones, decided like an initial certification with the recertification audit in place of
//! stage 2 (D1–D8); the certificate of the new cycle continues from the old expiry (C2, C4),
//! as a new revision of the same number ([`continue_cycle`]) or under a new number
//! ([`crate::certificate::RecertificationNumbering`]).

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::certificate::{Action, Certificate, CertificateSettings};
use crate::error::{ErrorCode, FieldError};
use crate::explain::Reason;
use crate::intake::application::{CertificateStatus, LegalId};
use crate::review::Jurisdiction;
use crate::violation::Violation;

/// S4: a recertification application's link to the certificate it renews, as checked when
/// the application was received and stored on its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recertifying {
    /// The certificate renewed (C1 number).
    pub certificate: String,
    /// Its expiry: the new cycle starts the day after (C2).
    pub expires_on: NaiveDate,
    /// The day the client should have applied by (C4: `recertification_application_months`
    /// [cfg] before expiry).
    pub apply_by: NaiveDate,
    /// The day the application was received.
    pub applied_on: NaiveDate,
    /// S4, C4: applied after `apply_by`: accepted, and flagged so the CB plans the audit
    /// and the decision before the expiry.
    pub late: bool,
    /// Why it is flagged, each with its rule (C4); empty when in time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
}

const FIELD: &str = "/recertification_of";

/// S4: how many months before the expiry a recertification may be applied for at the
/// earliest (the cycle's last year).
pub const EARLIEST_MONTHS: u32 = 12;

fn refused(code: ErrorCode, message: String, rule: &'static str) -> FieldError {
    FieldError::new(FIELD, code, message, rule)
}

/// The last day a recertification of a certificate expiring on `expires_on` may still be
/// decided (C4): the expiry itself under `cn`, `restore_after_expiry_months` [cfg] later
/// under IAF.
pub fn last_decision_day(
    expires_on: NaiveDate,
    jurisdiction: Jurisdiction,
    settings: &CertificateSettings,
) -> NaiveDate {
    let months = match jurisdiction {
        Jurisdiction::Iaf => settings.restore_after_expiry_months,
        Jurisdiction::Cn => 0,
    };
    expires_on
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// S4, C4: checks a recertification application from `client` received on `today` naming
/// certificate `number` (`certificate`: that certificate as stored, `None` when there is
/// none). Refused at `/recertification_of` (422) when the certificate does not exist (S4),
/// when it is applied for before the cycle's last year ([`EARLIEST_MONTHS`] before expiry, S4),
/// was issued to another organization (S4, I1 legal id), is withdrawn (C5: a new initial
/// certification is needed), or can no longer be renewed: past its expiry under `cn`, past
/// the restoration window under IAF (C4). Accepted late (after `apply_by`) with the flag and
/// its reason (C4).
pub fn check_recertification_application(
    number: &str,
    certificate: Option<&Certificate>,
    client: &LegalId,
    today: NaiveDate,
    jurisdiction: Jurisdiction,
    settings: &CertificateSettings,
) -> Result<Recertifying, FieldError> {
    let Some(c) = certificate else {
        return Err(refused(
            ErrorCode::InvalidValue,
            format!("there is no certificate {number} to renew"),
            "S4",
        ));
    };
    let holder = c
        .revisions
        .first()
        .and_then(|r| r.contents.organization_legal_id.as_ref());
    if holder.is_some_and(|holder| holder != client) {
        return Err(refused(
            ErrorCode::InvalidValue,
            format!(
                "certificate {number} was issued to another organization (legal id): a recertification renews the applicant's own certificate"
            ),
            "S4",
        ));
    }
    if c.status == CertificateStatus::Withdrawn {
        return Err(refused(
            ErrorCode::InvalidValue,
            format!("certificate {number} is withdrawn: apply for initial certification instead"),
            "C5",
        ));
    }
    if let Some(application) = &c.renewed_by {
        return Err(refused(
            ErrorCode::InvalidValue,
            format!(
                "certificate {number} was already renewed under a new number (application {application}): renew that certificate"
            ),
            "S4",
        ));
    }
    // S4: a recertification belongs to the cycle's last year (A8: the recertification audit
    // in year 3); earlier, the cycle's surveillance audits are still to come.
    let earliest = c
        .expires_on
        .checked_sub_months(Months::new(EARLIEST_MONTHS))
        .unwrap_or(NaiveDate::MIN);
    if today < earliest {
        return Err(refused(
            ErrorCode::OutOfRange,
            format!(
                "certificate {number} expires on {}: a recertification is applied for in the cycle's last year, from {earliest}",
                c.expires_on
            ),
            "S4",
        ));
    }
    let last = last_decision_day(c.expires_on, jurisdiction, settings);
    if today > last {
        let why = match jurisdiction {
            Jurisdiction::Cn => format!(
                "certificate {number} expired on {} and under the cn rules an expired certificate is not restored: apply for initial certification",
                c.expires_on
            ),
            Jurisdiction::Iaf => format!(
                "certificate {number} expired on {} and the {}-month restoration window closed on {last}: apply for initial certification",
                c.expires_on, settings.restore_after_expiry_months
            ),
        };
        return Err(refused(ErrorCode::InvalidValue, why, "C4"));
    }
    let apply_by = c.recertification.apply_by;
    let late = today > apply_by;
    let mut reasons = Vec::new();
    if late {
        reasons.push(Reason::new(
            "C4",
            format!(
                "applied on {today}, after {apply_by} ({} months before the expiry of {}): the recertification audit and decision must still come before the expiry",
                settings.recertification_application_months, c.expires_on
            ),
        ));
    }
    if today > c.expires_on {
        reasons.push(Reason::new(
            "C4",
            format!(
                "certificate {number} expired on {}: certification can be restored only if the recertification is decided by {last} with the outstanding work done",
                c.expires_on
            ),
        ));
    }
    Ok(Recertifying {
        certificate: number.to_string(),
        expires_on: c.expires_on,
        apply_by,
        applied_on: today,
        late,
        reasons,
    })
}

/// S5, C5: whether certificate `c` may be renewed by the recertification that applied when
/// it expired on `renews_expiry`: not withdrawn (C5), not suspended (C5: a suspension is
/// lifted only by `restore`, with its checks, before the new cycle is issued), not already
/// renewed, neither continued past that expiry nor renewed under a new number (S5: one
/// renewal per cycle).
fn renewable(c: &Certificate, renews_expiry: NaiveDate) -> Result<(), Violation> {
    match c.status {
        CertificateStatus::Withdrawn => {
            return Err(Violation::new(
                "C5",
                format!(
                    "certificate {} was withdrawn: it cannot be renewed",
                    c.number
                ),
            ));
        }
        CertificateStatus::Suspended => {
            return Err(Violation::new(
                "C5",
                format!(
                    "certificate {} is suspended: restore it (C5) before the recertification is issued",
                    c.number
                ),
            ));
        }
        _ => {}
    }
    if c.expires_on != renews_expiry {
        return Err(Violation::new(
            "S5",
            format!(
                "certificate {} was already renewed: the cycle that expired on {renews_expiry} now runs to {}",
                c.number, c.expires_on
            ),
        ));
    }
    Ok(())
}

/// S5 (`recertification_numbering: new_number`): claims the renewal of certificate `c` (its
/// cycle expiring on `renews_expiry`) for application `application_id`, before the new
/// certificate is numbered: `Ok(true)` when claimed now, `Ok(false)` when this application
/// had claimed it. Refused when another application renewed it (S5), or as [`renewable`].
pub fn claim_renewal(
    c: &mut Certificate,
    renews_expiry: NaiveDate,
    application_id: &str,
) -> Result<bool, Violation> {
    match &c.renewed_by {
        Some(by) if by == application_id => return Ok(false),
        Some(by) => {
            return Err(Violation::new(
                "S5",
                format!(
                    "certificate {} was already renewed under a new number by application {by}",
                    c.number
                ),
            ));
        }
        None => {}
    }
    renewable(c, renews_expiry)?;
    c.renewed_by = Some(application_id.to_string());
    Ok(true)
}

/// S5: refuses a change to certificate `c` from application `application_id` when the
/// certificate follows another application since a recertification continued it: the audits
/// and decisions of the new cycle are the renewing application's.
pub fn require_current_application(c: &Certificate, application_id: &str) -> Result<(), Violation> {
    match &c.application_id {
        Some(current) if current != application_id => Err(Violation::new(
            "S5",
            format!(
                "certificate {} follows application {current} since its recertification: record the new cycle's audits and decisions there",
                c.number
            ),
        )),
        _ => Ok(()),
    }
}

/// S5, C1, C2 (`recertification_numbering: revision`): continues certificate `old` into
/// the new cycle of `renewed` (the certificate [`crate::certificate::issue`] gave the
/// recertification decision, effective by default the day after the old expiry), for the
/// recertification application `application_id` that applied when the cycle would expire on
/// `renews_expiry`, issued on `today` by `by` (R1): a new revision with the renewed contents,
/// the old ones kept, obsolete (C1); the new cycle's decision day, expiry, surveillance plan
/// and recertification dates; an expired certificate restored within the window (C4);
/// history `recertified`. The cycle audits and decisions applied belong to the old cycle's
/// application and are cleared, the review it awaited with them; the history keeps them.
/// Refused ([`renewable`]): withdrawn or suspended (C5), already renewed (S5); and when
/// `renewed` does not run past the old expiry (C2).
pub fn continue_cycle(
    old: &mut Certificate,
    renewed: Certificate,
    renews_expiry: NaiveDate,
    application_id: &str,
    by: &str,
    today: NaiveDate,
) -> Result<(), Violation> {
    renewable(old, renews_expiry)?;
    if renewed.expires_on <= old.expires_on {
        return Err(Violation::new(
            "C2",
            format!(
                "the new cycle must run past the old expiry {} (it ends {})",
                old.expires_on, renewed.expires_on
            ),
        ));
    }
    let Some(first) = renewed.revisions.into_iter().next_back() else {
        return Err(Violation::new(
            "C1",
            "the renewed certificate has no revision",
        ));
    };
    let restored = old.status_on(today) == CertificateStatus::Expired;
    let previous_expiry = old.expires_on;
    old.new_revision(first.effective_on, first.contents);
    old.decided_on = renewed.decided_on;
    old.expires_on = renewed.expires_on;
    old.surveillance = renewed.surveillance;
    old.recertification = renewed.recertification;
    old.status = CertificateStatus::Active;
    old.review_required = None;
    old.cycle_audits.clear();
    old.cycle_decisions.clear();
    // G1: a change still open relies on audits applied from now on.
    for change in old.changes.iter_mut().filter(|ch| ch.issued.is_none()) {
        change.audits_applied_before = 0;
    }
    old.application_id = Some(application_id.to_string());
    let restored = if restored {
        format!(", restored after its expiry of {previous_expiry} (C4)")
    } else {
        String::new()
    };
    old.record(
        today,
        by,
        Action::Recertified,
        format!(
            "recertified on the decision of {} (application {application_id}): revision {} effective {}, valid to {}{restored}",
            old.decided_on, old.revision, first.effective_on, old.expires_on
        ),
        "S5",
    );
    Ok(())
}
