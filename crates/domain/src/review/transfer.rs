//! Rule A10: whether a certificate from another CB may be transferred (IAF MD2).
//!
//! Only a valid certificate transfers: status active, not suspended, withdrawn or expired,
//! and not past its expiry date (`expires_on` is its last valid day). A certificate that does
//! not transfer is not the end of the application: the client is certified as a new client
//! (initial audit). When the issuing CB ceased trading or lost its accreditation, the transfer
//! must be completed within 6 months or by expiry, whichever comes first. MD2 counts the
//! 6 months from the issuing CB's cessation; the application does not carry that date, so
//! they run from `today`, the day of the check: pass the cessation date as `today` when the
//! CB knows it. That the certificate is covered by an IAF MLA accreditation, and the
//! pre-transfer review itself, are the CB's to verify: the application cannot show them.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::intake::application::{Application, CertificateStatus, Transfer};
use crate::shared::explain::{Explained, Reason, Step};

/// A10: the answer for one transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferCheck {
    /// Whether the certificate may be transferred.
    pub eligible: bool,
    /// Why (every refusal at once when not eligible; the grounds when eligible).
    pub reasons: Vec<Reason>,
    /// When the issuing CB ceased or lost accreditation and the certificate transfers: the
    /// last day to complete the transfer.
    pub complete_by: Option<NaiveDate>,
}

/// A10 for an application: `None` when it is not a transfer.
pub fn check_application(
    application: &Application,
    today: NaiveDate,
) -> Option<Explained<TransferCheck>> {
    application.transfer.as_ref().map(|t| check(t, today))
}

/// A10: whether `transfer` may be transferred on `today`, and by when.
pub fn check(transfer: &Transfer, today: NaiveDate) -> Explained<TransferCheck> {
    let number = &transfer.certificate_number;
    let expires = transfer.expires_on;
    let new_client = "the client can apply as a new client (initial audit)";
    let mut reasons = Vec::new();
    let mut steps = vec![Step::new(
        "A10",
        format!(
            "certificate {number} from {}, status {}, expires {expires}, judged on {today}",
            transfer.previous_cb,
            status_name(transfer.status)
        ),
        "only a valid, non-suspended accredited certificate transfers",
    )];
    let refusal = match transfer.status {
        CertificateStatus::Active => None,
        CertificateStatus::Suspended => {
            Some("the certificate is suspended: a suspended certificate is not transferred")
        }
        CertificateStatus::Withdrawn => {
            Some("the certificate is withdrawn: only a valid certificate transfers")
        }
        CertificateStatus::Expired => {
            Some("the certificate has expired: only a valid certificate transfers")
        }
        CertificateStatus::Pending => {
            Some("the certificate is not yet effective: only a valid certificate transfers")
        }
    };
    if let Some(why) = refusal {
        reasons.push(Reason::new("A10", format!("{why}; {new_client}")));
    }
    if expires < today && transfer.status != CertificateStatus::Expired {
        reasons.push(Reason::new(
            "A10",
            format!(
                "the certificate expired on {expires}: only a valid certificate transfers; {new_client}"
            ),
        ));
    }
    let eligible = reasons.is_empty();
    steps.push(Step::new(
        "A10",
        format!("status {}, expires {expires}", status_name(transfer.status)),
        if eligible {
            "valid on the day of the check: eligible"
        } else {
            "not valid: not eligible"
        },
    ));

    let mut complete_by = None;
    if transfer.issuing_cb_ceased && eligible {
        // Past the calendar's end six months never come: expiry is the limit.
        let six_months = today.checked_add_months(Months::new(6));
        let deadline = six_months.map_or(expires, |d| d.min(expires));
        complete_by = Some(deadline);
        steps.push(Step::new(
            "A10",
            format!(
                "{} ceased or lost accreditation; 6 months from {today}, expiry {expires}",
                transfer.previous_cb
            ),
            format!("the earlier of the two: complete the transfer by {deadline}"),
        ));
    }
    if eligible {
        let mut grounds = format!("certificate {number} is active and valid until {expires}");
        if let Some(deadline) = complete_by {
            grounds.push_str(&format!(
                "; the issuing CB ceased or lost accreditation: complete the transfer by {deadline} (6 months or expiry, whichever first)"
            ));
        }
        reasons.push(Reason::new("A10", grounds));
    }
    steps.push(Step::new(
        "A10",
        "accreditation of the certificate (IAF MLA) and the pre-transfer review",
        "the CB verifies them; the application does not show them",
    ));
    Explained {
        value: TransferCheck {
            eligible,
            reasons,
            complete_by,
        },
        steps,
    }
}

fn status_name(status: CertificateStatus) -> &'static str {
    status.name()
}
