//! Dates of past events (R1: a record says who did what *when*).
//!
//! A date that says something happened — an audit held or ended (N1–N3), a nonconformity
//! response submitted or verified (D5), a surveillance audit held (C3), an internal audit or
//! management review done and a management system operating (I1, I4), a previous
//! certificate's status changed (I5) — is a record of the past: it may not lie after the day
//! it is recorded on (the request's day from the component's clock). [`past_event`] is the one
//! check every reader of such a date uses.
//!
//! Dates that are *not* past events, and may lie ahead: planned dates (stage 1 and 2, A8),
//! deadlines (`resolve_by`, C5), expiry dates (a transfer's or a previous certificate's, A10,
//! C4), a certificate's effective date (bounded by its own setting, C2), and the end of a
//! consultancy (I6, D4): a consultancy still running gives its planned end, which only makes
//! the D4 bar last longer.

use chrono::NaiveDate;
use serde_json::Value;

use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::formats;

/// R1: the error for `date`, at JSON pointer `field`, when it lies after `today` (the day the
/// record is made): code `out_of_range`, citing `rule`. `None` when `date` is today or
/// earlier.
pub fn past_event(
    field: impl Into<String>,
    date: NaiveDate,
    today: NaiveDate,
    rule: &'static str,
) -> Option<FieldError> {
    (date > today).then(|| {
        FieldError::new(
            field,
            ErrorCode::OutOfRange,
            format!(
                "this date says something happened: it cannot be after today ({today}), got {date}"
            ),
            rule,
        )
    })
}

/// R1: [`past_event`] for each of `fields` (JSON pointers) of a checked document `doc`, every
/// error pushed to `errors`. A field absent or not a valid date is skipped (its own check
/// reported it).
pub(crate) fn check_past_events<I, S>(
    doc: &Value,
    fields: I,
    today: NaiveDate,
    rule: &'static str,
    errors: &mut Vec<FieldError>,
) where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for field in fields {
        let field = field.as_ref();
        let date = doc
            .pointer(field)
            .and_then(Value::as_str)
            .and_then(|s| formats::parse_date(s).ok());
        if let Some(error) = date.and_then(|d| past_event(field, d, today, rule)) {
            errors.push(error);
        }
    }
}
