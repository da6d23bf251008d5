//! Rule I4: readiness for the initial audit. The management system must have run at least
//! 3 months [cfg] (seed ZBT 4c; CNCA), with an internal audit and a management review done.
//! A younger system is accepted but flagged with the earliest audit date; a missing internal
//! audit or management review is an error.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::intake::config::IntakeConfig;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::formats::parse_date;

/// I4: the code of a [`ReadinessFlag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagCode {
    /// The system has run less than the readiness period: no initial audit before
    /// `earliest_audit_date`.
    NotReadyForAudit,
}

/// I4: an accepted application that may not be audited yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessFlag {
    /// Always `not_ready_for_audit`.
    pub code: FlagCode,
    /// The first day the initial audit may take place.
    pub earliest_audit_date: NaiveDate,
    /// `"I4"`.
    pub rule: String,
}

/// I4: the first day a system operating since `operating_since` has run the readiness
/// period: the same day of the month `readiness_months` later, or that month's last day when
/// it is shorter (2026-11-30 + 3 months = 2027-02-28; chrono's `checked_add_months`).
pub fn earliest_audit_date(operating_since: NaiveDate, config: &IntakeConfig) -> NaiveDate {
    operating_since
        .checked_add_months(Months::new(config.readiness_months))
        .unwrap_or(NaiveDate::MAX)
}

/// I4: the flag for a system operating since `operating_since`, judged on `today`. Running
/// exactly the readiness period on `today` is ready (no flag).
pub fn flag(
    operating_since: NaiveDate,
    today: NaiveDate,
    config: &IntakeConfig,
) -> Option<ReadinessFlag> {
    let earliest = earliest_audit_date(operating_since, config);
    (earliest > today).then(|| ReadinessFlag {
        code: FlagCode::NotReadyForAudit,
        earliest_audit_date: earliest,
        rule: "I4".to_owned(),
    })
}

/// I4 over a cleaned document (see `schema::check`): reads `/management_system`, pushes
/// `not_ready` for a missing audit or review date that was not already reported, and
/// `out_of_range` for one before `operating_since`; returns the readiness flag, if any.
pub(crate) fn check_document(
    doc: &Value,
    today: NaiveDate,
    config: &IntakeConfig,
    errors: &mut Vec<FieldError>,
) -> Option<ReadinessFlag> {
    let ms = doc.get("management_system")?;
    let date = |name: &str| {
        ms.get(name)
            .and_then(Value::as_str)
            .and_then(|s| parse_date(s).ok())
    };
    let operating_since = date("operating_since");
    let evidence = [
        ("last_internal_audit", "an internal audit"),
        ("last_management_review", "a management review"),
    ];
    for (name, what) in evidence {
        let field = format!("/management_system/{name}");
        match date(name) {
            None if !errors.iter().any(|e| e.is_within(&field)) => errors.push(FieldError::new(
                field,
                ErrorCode::NotReady,
                format!(
                    "{what} of the management system must be done before applying; give its date"
                ),
                "I4",
            )),
            Some(d) if operating_since.is_some_and(|since| d < since) => {
                errors.push(FieldError::new(
                    field,
                    ErrorCode::OutOfRange,
                    format!("{what} must be of the operating system: on or after operating_since"),
                    "I4",
                ))
            }
            _ => {}
        }
    }
    flag(operating_since?, today, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn i4_exactly_three_months_is_ready() {
        let config = IntakeConfig::default();
        assert_eq!(flag(day(2026, 8, 23), day(2026, 11, 23), &config), None);
        let one_day_short = flag(day(2026, 8, 24), day(2026, 11, 23), &config);
        assert_eq!(
            one_day_short,
            Some(ReadinessFlag {
                code: FlagCode::NotReadyForAudit,
                earliest_audit_date: day(2026, 11, 24),
                rule: "I4".into()
            })
        );
    }

    #[test]
    fn i4_month_end_clamps() {
        let config = IntakeConfig::default();
        assert_eq!(
            earliest_audit_date(day(2026, 11, 30), &config),
            day(2027, 2, 28)
        );
        assert_eq!(
            earliest_audit_date(day(2027, 11, 30), &config),
            day(2028, 2, 29)
        );
        // Clamped: a system started on 30 November is ready on 28 February.
        assert_eq!(flag(day(2026, 11, 30), day(2027, 2, 28), &config), None);
    }

    #[test]
    fn i4_readiness_months_is_configurable() {
        let config = IntakeConfig {
            readiness_months: 6,
            ..IntakeConfig::default()
        };
        assert_eq!(
            earliest_audit_date(day(2026, 1, 15), &config),
            day(2026, 7, 15)
        );
    }

    #[test]
    fn i4_flag_serialises_as_documented() -> Result<(), serde_json::Error> {
        let f = flag(
            day(2026, 10, 1),
            day(2026, 11, 23),
            &IntakeConfig::default(),
        );
        assert_eq!(
            serde_json::to_value(f)?,
            serde_json::json!({ "code": "not_ready_for_audit", "earliest_audit_date": "2027-01-01", "rule": "I4" })
        );
        Ok(())
    }
}
