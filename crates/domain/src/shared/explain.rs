//! Explanations: every figure certflow computes for a review (A1–A8, A10) or an assessment
//! (M1–M5) carries the steps that produced it, so an operator can show the client why (A3:
//! "each factor and its effect is recorded and shown to the client").

use serde::{Deserialize, Serialize};

/// One step of a computation: the rule applied, what it was applied to, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The rule ID from RULES.md, e.g. `"A2"`.
    pub rule: String,
    /// What the rule was applied to, e.g. `"effective personnel 142"`.
    pub input: String,
    /// What it did, e.g. `"base audit time 13 auditor-days (band 126-175)"`.
    pub effect: String,
}

impl Step {
    /// A step of an explanation.
    pub fn new(rule: &str, input: impl Into<String>, effect: impl Into<String>) -> Step {
        Step {
            rule: rule.to_string(),
            input: input.into(),
            effect: effect.into(),
        }
    }
}

/// A figure together with how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explained<T> {
    /// The result.
    pub value: T,
    /// The steps that produced it, in order.
    pub steps: Vec<Step>,
}

/// Why a decision came out as it did: the rule and what it meant here (A10 transfer
/// eligibility, M1–M5 remote-audit outcome; DESIGN: "every decision payload cites the rule IDs
/// it applied").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The rule ID from RULES.md, e.g. `"M2"`.
    pub rule: String,
    /// What the rule decided here, in a sentence.
    pub message: String,
}

impl Reason {
    /// A reason citing `rule`.
    pub fn new(rule: &str, message: impl Into<String>) -> Reason {
        Reason {
            rule: rule.to_string(),
            message: message.into(),
        }
    }
}
