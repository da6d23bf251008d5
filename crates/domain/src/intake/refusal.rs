//! Rule I5: applicants the CB must refuse (CNCA): a certificate suspended or withdrawn for the
//! applicant's own fault within the last 12 months [cfg]; on the list of seriously illegal or
//! dishonest enterprises; under an order to suspend business.
//!
//! Evidence: the three `declarations` (any `false` is a refusal) and the contract extension
//! `previous_certifications` (see [`crate::intake::application::PreviousCertification`]).

use chrono::{Months, NaiveDate};
use serde_json::Value;

use crate::intake::application::{CertificateStatus, PreviousCertification};
use crate::intake::config::IntakeConfig;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::formats;

/// I5: each declaration and why `false` refuses the application.
pub const DECLARATIONS: [(&str, &str); 3] = [
    (
        "not_on_serious_illegal_list",
        "an applicant on the list of seriously illegal or dishonest enterprises cannot be certified",
    ),
    (
        "no_business_suspension_order",
        "an applicant under an order to suspend business cannot be certified",
    ),
    (
        "no_withdrawal_for_own_fault_in_last_12_months",
        "an applicant whose certificate was suspended or withdrawn for its own fault in the last 12 months cannot be certified",
    ),
];

/// I5: the first day an applicant whose certificate was suspended or withdrawn for its own
/// fault on `changed_on` may apply again: `changed_on` + the refusal window. A change exactly
/// 12 months before `today` is outside the window (the applicant may apply), like I4's
/// "exactly 3 months is ready".
pub fn may_apply_from(changed_on: NaiveDate, config: &IntakeConfig) -> NaiveDate {
    changed_on
        .checked_add_months(Months::new(config.refusal_window_months))
        .unwrap_or(NaiveDate::MAX)
}

/// I5: whether this previous certificate refuses an application made on `today`.
pub fn refuses(previous: &PreviousCertification, today: NaiveDate, config: &IntakeConfig) -> bool {
    matches!(
        previous.status,
        CertificateStatus::Suspended | CertificateStatus::Withdrawn
    ) && own_fault_within_window(
        previous.own_fault,
        previous.status_changed_on,
        today,
        config,
    )
}

/// I5 for a suspended or withdrawn certificate: its own fault, changed inside the window.
fn own_fault_within_window(
    own_fault: Option<bool>,
    changed_on: Option<NaiveDate>,
    today: NaiveDate,
    config: &IntakeConfig,
) -> bool {
    own_fault == Some(true) && changed_on.is_some_and(|on| today < may_apply_from(on, config))
}

/// I5 over a cleaned document (see `schema::check`): reads `/declarations`,
/// `/previous_certifications` and `/transfer`.
pub(crate) fn check_document(
    doc: &Value,
    today: NaiveDate,
    config: &IntakeConfig,
    errors: &mut Vec<FieldError>,
) {
    for (name, reason) in DECLARATIONS {
        if doc.pointer(&format!("/declarations/{name}")) == Some(&Value::Bool(false)) {
            errors.push(FieldError::new(
                format!("/declarations/{name}"),
                ErrorCode::Refused,
                reason,
                "I5",
            ));
        }
    }
    let previous = doc
        .get("previous_certifications")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for (i, entry) in previous.iter().enumerate() {
        let status = entry.get("status").and_then(Value::as_str);
        if !matches!(status, Some("suspended" | "withdrawn")) {
            continue;
        }
        for name in ["status_changed_on", "own_fault"] {
            let field = format!("/previous_certifications/{i}/{name}");
            if entry.get(name).is_none() && !errors.iter().any(|e| e.is_within(&field)) {
                errors.push(FieldError::new(
                    field,
                    ErrorCode::Required,
                    "required for a suspended or withdrawn certificate",
                    "I5",
                ));
            }
        }
        // Read from the cleaned document, not deserialised: intake carries no typed
        // deserialisation code (see `validate_document`).
        let changed_on = entry
            .get("status_changed_on")
            .and_then(Value::as_str)
            .and_then(|s| formats::parse_date(s).ok());
        let own_fault = entry.get("own_fault").and_then(Value::as_bool);
        let number = entry.get("certificate_number").and_then(Value::as_str);
        if let (true, Some(on), Some(number)) = (
            own_fault_within_window(own_fault, changed_on, today, config),
            changed_on,
            number,
        ) {
            errors.push(FieldError::new(
                format!("/previous_certifications/{i}"),
                ErrorCode::Refused,
                format!(
                    "certificate {number} was {} for the applicant's own fault on {on}; a new application is possible from {}",
                    status.unwrap_or_default(),
                    may_apply_from(on, config)
                ),
                "I5",
            ));
        }
    }
    // A transferred certificate that is suspended or withdrawn must be listed, so that the
    // date and the fault are known.
    let transfer_status = doc.pointer("/transfer/status").and_then(Value::as_str);
    let transfer_number = doc
        .pointer("/transfer/certificate_number")
        .and_then(Value::as_str);
    if let (Some("suspended" | "withdrawn"), Some(number)) = (transfer_status, transfer_number) {
        let listed = previous
            .iter()
            .any(|p| p.get("certificate_number").and_then(Value::as_str) == Some(number));
        if !listed {
            errors.push(FieldError::new(
                "/previous_certifications",
                ErrorCode::Required,
                format!(
                    "the transferred certificate {number} is not active: list it here with status_changed_on and own_fault"
                ),
                "I5",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }

    fn withdrawn(on: NaiveDate, own_fault: bool) -> PreviousCertification {
        PreviousCertification {
            certification_body: "Other CB".into(),
            certificate_number: "X-1".into(),
            status: CertificateStatus::Withdrawn,
            status_changed_on: Some(on),
            own_fault: Some(own_fault),
        }
    }

    #[test]
    fn i5_refusal_window_boundary() {
        let config = IntakeConfig::default();
        let today = day(2026, 11, 23);
        // Exactly 12 months ago: the window has passed.
        assert!(!refuses(
            &withdrawn(day(2025, 11, 23), true),
            today,
            &config
        ));
        // One day less than 12 months ago: refused.
        assert!(refuses(&withdrawn(day(2025, 11, 24), true), today, &config));
        assert_eq!(
            may_apply_from(day(2025, 11, 24), &config),
            day(2026, 11, 24)
        );
    }

    #[test]
    fn i5_only_own_fault_suspension_or_withdrawal_refuses() {
        let config = IntakeConfig::default();
        let today = day(2026, 11, 23);
        assert!(!refuses(&withdrawn(day(2026, 6, 1), false), today, &config));
        let mut suspended = withdrawn(day(2026, 6, 1), true);
        suspended.status = CertificateStatus::Suspended;
        assert!(refuses(&suspended, today, &config));
        suspended.status = CertificateStatus::Expired;
        assert!(!refuses(&suspended, today, &config));
    }

    #[test]
    fn i5_refusal_window_is_configurable() {
        let config = IntakeConfig {
            refusal_window_months: 24,
            ..IntakeConfig::default()
        };
        assert!(refuses(
            &withdrawn(day(2025, 1, 1), true),
            day(2026, 11, 23),
            &config
        ));
    }
}
