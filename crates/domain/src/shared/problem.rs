//! RFC 9457 problem details: the one shape every certflow error response takes
//! (`application/problem+json`), with the field errors of I2 in `errors`.

use crate::FieldError;
use crate::shared::violation::Violation;
use serde::Serialize;

/// The media type of a problem response.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem response body. `type` is a stable URI per kind of problem, so clients branch on
/// it rather than on `title`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `https://certflow.dev/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field errors (I2), all at once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a refused state change (409): where the application stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    /// For a request the rules refuse (409): every rule it breaks, with what was found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// For a 405: the methods the resource answers, sent as the `allow` header (RFC 9110
    /// §15.5.6), not in the body.
    #[serde(skip)]
    pub allow: Option<String>,
}

impl Problem {
    /// A problem of kind `slug` (the last segment of its `type` URI).
    pub fn new(status: u16, slug: &str, title: &str) -> Problem {
        Problem {
            kind: format!("https://certflow.dev/problems/{slug}"),
            title: title.to_string(),
            status,
            detail: None,
            errors: Vec::new(),
            current_status: None,
            violations: Vec::new(),
            allow: None,
        }
    }

    /// The 409 for a well-formed request the rules refuse: every broken rule at once
    /// (e.g. D1–D8 at the decision).
    pub fn refused(what: &str, violations: Vec<Violation>) -> Problem {
        let count = violations.len();
        let mut problem = Problem::new(409, "rules-not-met", &format!("{what} is refused")).detail(
            format!("{count} rule(s) not met; each names the rule and what was found"),
        );
        problem.violations = violations;
        problem
    }

    /// The 422 for a record whose content the rules refuse, every broken rule at once: an
    /// audit whose team breaks T1–T4, D4, or whose remote use breaks M1/M2 (docs/CYCLE.md).
    /// The same `rules-not-met` type as [`Problem::refused`], with status 422: what is wrong
    /// is the record sent, not the state it meets.
    pub fn unprocessable(what: &str, violations: Vec<Violation>) -> Problem {
        let mut problem = Problem::refused(what, violations);
        problem.status = 422;
        problem
    }

    /// Names the current status (a refused state change).
    pub fn current_status(mut self, status: &str) -> Problem {
        self.current_status = Some(status.to_string());
        self
    }

    /// Adds the explanation for this request.
    pub fn detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    /// Adds field errors (I2).
    pub fn errors(mut self, errors: Vec<FieldError>) -> Problem {
        self.errors = errors;
        self
    }

    /// The 422 for an application that failed validation: every error at once (I2).
    pub fn validation(errors: Vec<FieldError>) -> Problem {
        let count = errors.len();
        Problem::new(422, "validation", "The application is not valid")
            .detail(format!(
                "{count} field error(s); each names the field, a code and the rule"
            ))
            .errors(errors)
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and lists cannot fail; fall back to the title.
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"title\":{:?}}}", self.title))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn i2_validation_problem_lists_every_error() -> Result<(), serde_json::Error> {
        let errors = vec![
            FieldError::new("/scope", ErrorCode::Required, "scope is required", "I1"),
            FieldError::new("/language", ErrorCode::InvalidValue, "zh or en", "I1"),
        ];
        let json: serde_json::Value = serde_json::from_str(&Problem::validation(errors).to_json())?;
        assert_eq!(json["status"], 422);
        assert_eq!(json["type"], "https://certflow.dev/problems/validation");
        assert_eq!(json["errors"][1]["field"], "/language");
        assert_eq!(json["errors"][1]["code"], "invalid_value");
        assert_eq!(json["errors"][1]["rule"], "I1");
        Ok(())
    }
}
