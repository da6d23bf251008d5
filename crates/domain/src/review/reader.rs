//! A checked reader for the JSON documents the review receives (the CB's settings, an
//! operator's inputs): every problem becomes a [`FieldError`], all of them at once (as I2 asks
//! of intake), and nothing in the input can make it panic. serde alone would stop at the
//! first problem with a message about Rust types.

use serde_json::{Map, Value};

use super::quantity::{AuditDays, Hours};
use crate::intake::schema::edit_distance;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::number::{self, Inexact};

/// Unknown fields reported one by one per object; the rest are counted in one error.
const MAX_UNKNOWN_REPORTED: usize = 20;

/// A field an object may hold, with the rule its errors cite.
pub(crate) type Known = (&'static str, &'static str);

/// Collects the errors of one document.
#[derive(Default)]
pub(crate) struct Reader {
    pub(crate) errors: Vec<FieldError>,
}

/// The JSON pointer of `key` inside `path` (RFC 6901 escaping).
pub(crate) fn child(path: &str, key: &str) -> String {
    let mut out = String::with_capacity(path.len() + key.len() + 1);
    out.push_str(path);
    out.push('/');
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// The value of `key`, treating `null` as absent (absent settings keep their default).
pub(crate) fn field<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).filter(|v| !v.is_null())
}

impl Reader {
    pub(crate) fn error(
        &mut self,
        path: &str,
        code: ErrorCode,
        message: impl Into<String>,
        rule: &'static str,
    ) {
        self.errors.push(FieldError::new(path, code, message, rule));
    }

    /// The object at `path`, with every key not in `known` reported as `unknown_field` (citing
    /// the rule of the field it most resembles, else `rule`).
    pub(crate) fn object<'v>(
        &mut self,
        value: &'v Value,
        path: &str,
        known: &[Known],
        rule: &'static str,
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(map) = value else {
            self.error(path, ErrorCode::InvalidType, "expected an object", rule);
            return None;
        };
        let mut unknown = 0usize;
        for key in map.keys() {
            if known.iter().any(|(name, _)| name == key) {
                continue;
            }
            unknown += 1;
            if unknown > MAX_UNKNOWN_REPORTED {
                continue;
            }
            let hint = known
                .iter()
                .filter(|_| key.chars().count() <= 64)
                .map(|&(name, rule)| (edit_distance(name, key), name, rule))
                .filter(|(distance, _, _)| *distance <= 2)
                .min();
            let (message, rule) = match hint {
                Some((_, name, rule)) => (format!("unknown field; did you mean `{name}`?"), rule),
                None => ("unknown field".to_owned(), rule),
            };
            self.error(&child(path, key), ErrorCode::UnknownField, message, rule);
        }
        if unknown > MAX_UNKNOWN_REPORTED {
            let more = unknown - MAX_UNKNOWN_REPORTED;
            self.error(
                path,
                ErrorCode::UnknownField,
                format!("and {more} more unknown fields"),
                rule,
            );
        }
        Some(map)
    }

    /// The list at `path`: at least one and at most `max` items.
    pub(crate) fn list<'v>(
        &mut self,
        value: &'v Value,
        path: &str,
        max: usize,
        rule: &'static str,
    ) -> Option<&'v [Value]> {
        let Value::Array(items) = value else {
            self.error(path, ErrorCode::InvalidType, "expected a list", rule);
            return None;
        };
        if items.len() > max {
            self.error(
                path,
                ErrorCode::TooLong,
                format!("at most {max} entries"),
                rule,
            );
            return None;
        }
        Some(items)
    }

    /// A required field: reports `required` when it is absent or null.
    pub(crate) fn required<'v>(
        &mut self,
        map: &'v Map<String, Value>,
        path: &str,
        key: &str,
        rule: &'static str,
    ) -> Option<&'v Value> {
        let value = field(map, key);
        if value.is_none() {
            self.error(
                &child(path, key),
                ErrorCode::Required,
                "this field is required",
                rule,
            );
        }
        value
    }

    /// A whole number in `min..=max`, read exactly from its text (`5.0` and `1e3` are whole;
    /// `0.5` and `1e-400` are not: `invalid_type`; `1e40` is `out_of_range`).
    pub(crate) fn integer(
        &mut self,
        value: &Value,
        path: &str,
        min: i64,
        max: i64,
        rule: &'static str,
    ) -> Option<i64> {
        let whole = match value {
            Value::Number(n) => number::scaled(n, 0),
            _ => Err(Inexact::Decimals),
        };
        match whole {
            Ok(i) if (min..=max).contains(&i) => Some(i),
            Err(Inexact::Decimals) => {
                self.error(
                    path,
                    ErrorCode::InvalidType,
                    "expected a whole number",
                    rule,
                );
                None
            }
            _ => {
                self.error(
                    path,
                    ErrorCode::OutOfRange,
                    format!("must be between {min} and {max}"),
                    rule,
                );
                None
            }
        }
    }

    /// A whole number in `min..=max` as a `u32` (`min` must not be negative).
    pub(crate) fn unsigned(
        &mut self,
        value: &Value,
        path: &str,
        min: u32,
        max: u32,
        rule: &'static str,
    ) -> Option<u32> {
        self.integer(value, path, i64::from(min), i64::from(max), rule)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Auditor-days: a multiple of 0.5 in `min..=max`, read exactly from the number's text
    /// (`8.5`; `8.3`, `8.25` and `1e-400` are `invalid_value`).
    pub(crate) fn days(
        &mut self,
        value: &Value,
        path: &str,
        min: AuditDays,
        max: AuditDays,
        rule: &'static str,
    ) -> Option<AuditDays> {
        let Value::Number(n) = value else {
            self.error(
                path,
                ErrorCode::InvalidType,
                "expected a number of auditor-days",
                rule,
            );
            return None;
        };
        let out_of_range = format!("must be between {min} and {max} auditor-days");
        match number::scaled(n, 1) {
            Ok(tenths) if tenths % 5 == 0 => {
                let days = u32::try_from(tenths / 5)
                    .ok()
                    .map(AuditDays::from_half_days)
                    .filter(|d| *d >= min && *d <= max);
                if days.is_none() {
                    self.error(path, ErrorCode::OutOfRange, out_of_range, rule);
                }
                days
            }
            Ok(_) | Err(Inexact::Decimals) => {
                self.error(
                    path,
                    ErrorCode::InvalidValue,
                    "must be a multiple of 0.5 auditor-day",
                    rule,
                );
                None
            }
            Err(Inexact::TooLarge) => {
                self.error(path, ErrorCode::OutOfRange, out_of_range, rule);
                None
            }
        }
    }

    /// Hours per week: more than 0, at most 168, at most two decimals, read exactly from the
    /// number's text (`1e-28` and `12.345` are `invalid_value`, never rounded).
    pub(crate) fn hours(&mut self, value: &Value, path: &str, rule: &'static str) -> Option<Hours> {
        let Value::Number(n) = value else {
            self.error(
                path,
                ErrorCode::InvalidType,
                "expected a number of hours",
                rule,
            );
            return None;
        };
        match number::scaled(n, 2) {
            Ok(centi) => {
                let hours = u32::try_from(centi).ok().and_then(Hours::from_centi);
                if hours.is_none() {
                    self.error(
                        path,
                        ErrorCode::OutOfRange,
                        "must be more than 0 and at most 168",
                        rule,
                    );
                }
                hours
            }
            Err(Inexact::Decimals) => {
                self.error(path, ErrorCode::InvalidValue, "at most two decimals", rule);
                None
            }
            Err(Inexact::TooLarge) => {
                self.error(
                    path,
                    ErrorCode::OutOfRange,
                    "must be more than 0 and at most 168",
                    rule,
                );
                None
            }
        }
    }

    /// A required line of text ([`Reader::text`]) that is more than whitespace: absent, null,
    /// empty or blank is `required` (a name printed on a record must say something).
    pub(crate) fn required_text(
        &mut self,
        map: &Map<String, Value>,
        path: &str,
        key: &str,
        max: usize,
        rule: &'static str,
    ) -> Option<String> {
        let at = child(path, key);
        let text = self
            .required(map, path, key, rule)
            .and_then(|v| self.text(v, &at, max, rule))?;
        if crate::shared::formats::is_blank(&text) {
            self.error(&at, ErrorCode::Required, "must not be blank", rule);
            return None;
        }
        Some(text)
    }

    /// One line of text, trimmed, at most `max` characters, no control characters.
    pub(crate) fn text(
        &mut self,
        value: &Value,
        path: &str,
        max: usize,
        rule: &'static str,
    ) -> Option<String> {
        let Some(text) = value.as_str() else {
            self.error(path, ErrorCode::InvalidType, "expected text", rule);
            return None;
        };
        let text = text.trim();
        if text.chars().any(char::is_control) {
            self.error(
                path,
                ErrorCode::InvalidFormat,
                "contains a control character",
                rule,
            );
            None
        } else if text.chars().count() > max {
            self.error(
                path,
                ErrorCode::TooLong,
                format!("at most {max} characters"),
                rule,
            );
            None
        } else {
            Some(text.to_owned())
        }
    }

    /// The document's value, or its errors.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}
