//! Intake settings marked [cfg] in RULES.md: shipped with the defaults named there and
//! configurable (e.g. from a Spin variable holding JSON; absent keys keep their default).

use serde::{Deserialize, Serialize};

/// Intake's [cfg] values (rules I1, I4, I5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeConfig {
    /// I4: months the management system must have run before the initial audit (default 3).
    pub readiness_months: u32,
    /// I5: months after an own-fault suspension or withdrawal during which an applicant is
    /// refused (default 12).
    pub refusal_window_months: u32,
    /// I1: maximum length of the scope statement, in characters (default 2000).
    pub max_scope_len: usize,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            readiness_months: 3,
            refusal_window_months: 12,
            max_scope_len: 2000,
        }
    }
}
