//! Application review (RULES.md A1–A7, and M5's [cfg]): effective personnel and audit time,
//! pure Rust, every figure an [`Explained`](crate::shared::explain::Explained) value whose steps cite
//! the rules, so an operator can show the client why (A3).
//!
//! The review component reads the CB's [`Settings`] ([`Settings::from_json`]) and the
//! operator's [`ReviewInputs`] ([`ReviewInputs::from_json`]), then calls
//! [`effective_personnel`] (A1) and [`audit_times`] (A2–A5, A7); [`site_times`] is A6 for a
//! multi-site audit. Auditor-days are exact half days ([`AuditDays`]).

mod audit_time;
mod inputs;
mod outcome;
mod personnel;
pub mod programme;
mod quantity;
mod reader;
pub mod sampling;
mod settings;
pub mod transfer;

pub use crate::shared::settings::Jurisdiction;
pub use audit_time::{
    Adjustment, AuditTime, AuditTimes, Complexity, CycleTimes, FactorGrades, Grade,
    MAX_SITE_REDUCTION_PERCENT, Scheme, SchemeTimes, SiteTime, SiteTimeRequest, SiteTimes,
    audit_times, complexity_adjustment, site_times, table_time,
};
pub use inputs::{MAX_SEED, ReviewInputs, SamplingInputs};
pub use outcome::{Decision, Figures, Review, ReviewRequest, Screening, figures};
pub use personnel::{
    EffectivePersonnel, GroupDecision, SitePersonnel, ceil_sqrt, effective_personnel,
};
pub use quantity::{AuditDays, HOURS_PER_DAY, Hours};
pub use settings::{Band, ComplexityPercent, ItPercent, Progression, Settings, TimeTable};
