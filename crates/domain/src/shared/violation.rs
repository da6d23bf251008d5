//! Violations: a rule an operator's action breaks (D1–D8 at decision, D4 and M1/M2 when an
//! audit is recorded, N1–N2 for nonconformity responses). Unlike a [`crate::FieldError`],
//! the body was well formed; what it asks for is not allowed.

use serde::{Deserialize, Serialize};

/// One broken rule: which, and what was found (a sentence naming the person, audit or
/// nonconformity concerned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The rule ID from RULES.md, e.g. `"D1"`.
    pub rule: String,
    /// What was found, in a sentence.
    pub found: String,
}

impl Violation {
    /// A violation of `rule`.
    pub fn new(rule: &str, found: impl Into<String>) -> Violation {
        Violation {
            rule: rule.to_string(),
            found: found.into(),
        }
    }
}
