//! Field errors: what intake answers for bad input (I2: all of them at once, each with field
//! path, code, message and rule), and the same for the operators' inputs and settings (A1–A8
//! review inputs and settings, M1–M5 remote-audit assessment). Components put them in the
//! RFC 9457 `errors` list.

use serde::Serialize;

/// One problem with one field (I2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the field, e.g. `/sites/0/personnel/full_time`; `""` is the
    /// whole document.
    pub field: String,
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation (English).
    pub message: String,
    /// The rule that was applied, e.g. `"I1"`.
    pub rule: &'static str,
}

impl FieldError {
    /// A field error (I2).
    pub fn new(
        field: impl Into<String>,
        code: ErrorCode,
        message: impl Into<String>,
        rule: &'static str,
    ) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
            rule,
        }
    }

    /// Whether this error is about `pointer` or a field inside it (I2).
    pub fn is_within(&self, pointer: &str) -> bool {
        self.field
            .strip_prefix(pointer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// The documented error codes (I2). Serialised in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// I1 (and A1–A6 for review inputs and settings; D1–D8, M3, N1 for people, audit,
    /// response, verification and decision bodies; C1–C5 for certificate issue, lifecycle
    /// and surveillance bodies): a required field is missing, null or empty.
    Required,
    /// I1, A*, D*, N*, C*: wrong JSON type (e.g. a string where a number is expected, or a
    /// number that is not exactly whole, `0.5` or `1e-400`, where a whole number is).
    InvalidType,
    /// I1, A1, C1–C5: malformed text (date, email, phone, country code, URL, control
    /// characters).
    InvalidFormat,
    /// I1, A*, D*, N*, C5: not one of the allowed values (an enumeration, a multiple of 0.5 day,
    /// more decimals than the field holds, N3: a mark-misuse finding graded against its intent
    /// and effect).
    InvalidValue,
    /// I1, D4: a unified social credit code whose check character is wrong.
    InvalidChecksum,
    /// I1, A1: refers to something that does not exist (a site or repetitive-group index).
    InvalidReference,
    /// I1, I4, A*, N2, C1–C5: a number or date outside its allowed range (an audit ending
    /// before it starts, a site index above the cap).
    OutOfRange,
    /// I1, A*, C*: text or list longer than allowed.
    TooLong,
    /// I1, A*, D*, N*, C*: a field the contract, the review inputs, the settings or the
    /// people, audit, decision and certificate bodies do not define (usually a typo).
    UnknownField,
    /// I1, A1, A6, D1: the same thing given twice (a standard, a central site, a group
    /// decision, a person in an audit team, a second team lead); in a `400 duplicate-member`,
    /// any JSON body's member named twice in one object (rule `RFC 8259 §4`).
    Duplicate,
    /// I3: the edition is not accepted for new applications on this date.
    EditionNotAccepted,
    /// I3: the standard is not one the CB certifies.
    StandardNotAccepted,
    /// I3: the standard needs another standard in the same application.
    RequiresStandard,
    /// I4: the management system is not ready (no internal audit or management review).
    NotReady,
    /// I5: the application must be refused.
    Refused,
    /// I7: an Idempotency-Key already used for a different application.
    IdempotencyKeyReused,
    /// A2, A5: a time table whose bands do not start at 1, leave a gap or overlap, or whose
    /// days decrease from one band to the next.
    InvalidTable,
    /// A1, A6, A7: a requested reduction larger than the rule allows (a group counted as
    /// fewer than ceil(sqrt) people, a site cut by more than 50%, an integration reduction
    /// above the cap).
    ExceedsLimit,
    /// A6: the central function was chosen as a sampled site; it is audited every time, in
    /// addition to the sample.
    CentralFunctionChosen,
    /// A6: the CB chose more sites than the sample leaves to it (at least 25% of the sample is
    /// chosen at random).
    TooManyChosen,
    /// W1: a webhook URL with a loopback, private or link-local address, not trusted.
    PrivateAddress,
    /// W1: a webhook URL with plain http to a host not trusted.
    InsecureUrl,
}

impl ErrorCode {
    /// Every code (I2).
    pub const ALL: [ErrorCode; 22] = [
        Self::Required,
        Self::InvalidType,
        Self::InvalidFormat,
        Self::InvalidValue,
        Self::InvalidChecksum,
        Self::InvalidReference,
        Self::OutOfRange,
        Self::TooLong,
        Self::UnknownField,
        Self::Duplicate,
        Self::EditionNotAccepted,
        Self::StandardNotAccepted,
        Self::RequiresStandard,
        Self::NotReady,
        Self::Refused,
        Self::IdempotencyKeyReused,
        Self::InvalidTable,
        Self::ExceedsLimit,
        Self::CentralFunctionChosen,
        Self::TooManyChosen,
        Self::PrivateAddress,
        Self::InsecureUrl,
    ];

    /// The serialised name, e.g. `"invalid_format"` (I2).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::InvalidType => "invalid_type",
            Self::InvalidFormat => "invalid_format",
            Self::InvalidValue => "invalid_value",
            Self::InvalidChecksum => "invalid_checksum",
            Self::InvalidReference => "invalid_reference",
            Self::OutOfRange => "out_of_range",
            Self::TooLong => "too_long",
            Self::UnknownField => "unknown_field",
            Self::Duplicate => "duplicate",
            Self::EditionNotAccepted => "edition_not_accepted",
            Self::StandardNotAccepted => "standard_not_accepted",
            Self::RequiresStandard => "requires_standard",
            Self::NotReady => "not_ready",
            Self::Refused => "refused",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::InvalidTable => "invalid_table",
            Self::ExceedsLimit => "exceeds_limit",
            Self::CentralFunctionChosen => "central_function_chosen",
            Self::TooManyChosen => "too_many_chosen",
            Self::PrivateAddress => "private_address",
            Self::InsecureUrl => "insecure_url",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i2_codes_serialise_as_documented() -> Result<(), serde_json::Error> {
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code)?,
                serde_json::Value::from(code.as_str())
            );
        }
        Ok(())
    }

    #[test]
    fn i2_is_within_matches_whole_segments() {
        let e = FieldError::new("/sites/10/name", ErrorCode::Required, "x", "I1");
        assert!(e.is_within("/sites/10"));
        assert!(e.is_within(""));
        assert!(!e.is_within("/sites/1"));
    }
}
