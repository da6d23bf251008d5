//! A checked reader for the JSON documents the review receives (the CB's settings, an
//! operator's inputs): every problem becomes a [`FieldError`], all of them at once (as I2 asks
//! of intake), and nothing in the input can make it panic. serde alone would stop at the
//! first problem with a message about Rust types.

use serde_json::{Map, Value};

use super::quantity::{AuditDays, Hours};
use crate::error::{ErrorCode, FieldError};
use crate::schema::edit_distance;

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

    /// A whole number in `min..=max` (`5.0` counts as whole).
    pub(crate) fn integer(
        &mut self,
        value: &Value,
        path: &str,
        min: i64,
        max: i64,
        rule: &'static str,
    ) -> Option<i64> {
        let Value::Number(n) = value else {
            self.error(
                path,
                ErrorCode::InvalidType,
                "expected a whole number",
                rule,
            );
            return None;
        };
        let whole = match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Some(i),
            (None, Some(f)) if f.fract() != 0.0 => {
                self.error(
                    path,
                    ErrorCode::InvalidType,
                    "expected a whole number",
                    rule,
                );
                return None;
            }
            // Range-checked, so the cast cannot truncate.
            (None, Some(f)) if (-9.0e15..=9.0e15).contains(&f) => Some(f as i64),
            _ => None, // beyond i64
        };
        match whole {
            Some(i) if (min..=max).contains(&i) => Some(i),
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

    /// Auditor-days: a multiple of 0.5 in `min..=max`.
    pub(crate) fn days(
        &mut self,
        value: &Value,
        path: &str,
        min: AuditDays,
        max: AuditDays,
        rule: &'static str,
    ) -> Option<AuditDays> {
        let Some(number) = value.as_f64() else {
            self.error(
                path,
                ErrorCode::InvalidType,
                "expected a number of auditor-days",
                rule,
            );
            return None;
        };
        match AuditDays::from_number(number) {
            Some(days) if days >= min && days <= max => Some(days),
            Some(_) => {
                self.error(
                    path,
                    ErrorCode::OutOfRange,
                    format!("must be between {min} and {max} auditor-days"),
                    rule,
                );
                None
            }
            None if number.is_finite() && number >= 0.0 && (number * 2.0).fract() != 0.0 => {
                self.error(
                    path,
                    ErrorCode::InvalidValue,
                    "must be a multiple of 0.5 auditor-day",
                    rule,
                );
                None
            }
            None => {
                self.error(
                    path,
                    ErrorCode::OutOfRange,
                    format!("must be between {min} and {max} auditor-days"),
                    rule,
                );
                None
            }
        }
    }

    /// Hours per week: more than 0, at most 168, at most two decimals.
    pub(crate) fn hours(&mut self, value: &Value, path: &str, rule: &'static str) -> Option<Hours> {
        let Some(number) = value.as_f64() else {
            self.error(
                path,
                ErrorCode::InvalidType,
                "expected a number of hours",
                rule,
            );
            return None;
        };
        match Hours::from_number(number) {
            Some(hours) if Hours::is_exact(number) => Some(hours),
            Some(_) => {
                self.error(path, ErrorCode::InvalidValue, "at most two decimals", rule);
                None
            }
            None => {
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
