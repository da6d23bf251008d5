//! The certification decision and its independence check (D1–D8).

use serde::{Deserialize, Serialize};

/// D4, D6: the decision settings [cfg].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionSettings {
    /// D6: months after the last day of stage 2 within which majors must be verified
    /// (default 6).
    pub major_verification_months: u32,
    /// D4: years after a consultancy during which the consultant may not audit or decide
    /// (default 2).
    pub consultancy_years: u32,
}

impl Default for DecisionSettings {
    fn default() -> Self {
        Self {
            major_verification_months: 6,
            consultancy_years: 2,
        }
    }
}
