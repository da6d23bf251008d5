//! Exact quantities for review figures: auditor-days as whole half days (A2–A7) and weekly
//! hours as hundredths of an hour (A1). Integer arithmetic only, so no float drift, and
//! printing them never pulls float formatting into the wasm component.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Hours in one auditor-day (A3: longer days do not cut days).
pub const HOURS_PER_DAY: u64 = 8;

/// Auditor-days, counted in half days (A2–A7): 8.5 days is 17 half days. JSON: a number that
/// is a multiple of 0.5 (`8.5`, `5`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditDays(u32);

impl AuditDays {
    /// No time.
    pub const ZERO: AuditDays = AuditDays(0);

    /// `half_days` half days.
    pub const fn from_half_days(half_days: u32) -> AuditDays {
        AuditDays(half_days)
    }

    /// Whole days (saturating).
    pub const fn from_days(days: u32) -> AuditDays {
        AuditDays(days.saturating_mul(2))
    }

    /// A JSON-style number: finite, not negative, a multiple of 0.5.
    pub fn from_number(days: f64) -> Option<AuditDays> {
        let twice = days * 2.0;
        // Checked above u32 range first, so the cast below cannot truncate.
        if !twice.is_finite() || twice < 0.0 || twice.fract() != 0.0 || twice > f64::from(u32::MAX)
        {
            return None;
        }
        Some(AuditDays(twice as u32))
    }

    /// The number of half days.
    pub const fn half_days(self) -> u32 {
        self.0
    }

    /// Auditor-hours at 8 hours a day (A3).
    pub const fn hours(self) -> u64 {
        self.0 as u64 * HOURS_PER_DAY / 2
    }

    /// Sum, saturating.
    pub const fn saturating_add(self, other: AuditDays) -> AuditDays {
        AuditDays(self.0.saturating_add(other.0))
    }

    /// Difference, saturating at zero.
    pub const fn saturating_sub(self, other: AuditDays) -> AuditDays {
        AuditDays(self.0.saturating_sub(other.0))
    }

    /// `numerator / denominator` of this time, rounded up to a half day (A3 on-site share, A4,
    /// A6, A7). A zero denominator gives the time unchanged.
    pub fn ratio_ceil(self, numerator: u64, denominator: u64) -> AuditDays {
        let product = u64::from(self.0).saturating_mul(numerator);
        let half_days = product
            .checked_add(denominator.saturating_sub(1))
            .and_then(|p| p.checked_div(denominator))
            .unwrap_or(u64::from(self.0));
        AuditDays(u32::try_from(half_days).unwrap_or(u32::MAX))
    }
}

impl fmt::Display for AuditDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(2) {
            write!(f, "{}", self.0 / 2)
        } else {
            write!(f, "{}.5", self.0 / 2)
        }
    }
}

impl Serialize for AuditDays {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(2) {
            serializer.serialize_u32(self.0 / 2)
        } else {
            // Exact: a u32 and its half are both representable in an f64.
            serializer.serialize_f64(f64::from(self.0) / 2.0)
        }
    }
}

impl<'de> Deserialize<'de> for AuditDays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let days = f64::deserialize(deserializer)?;
        AuditDays::from_number(days).ok_or_else(|| {
            de::Error::custom("expected auditor-days: a multiple of 0.5, not negative")
        })
    }
}

/// Hours per week, in hundredths of an hour (A1), more than 0 and at most 168. JSON: a
/// number (`40`, `37.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hours(u32);

impl Hours {
    /// Most hours in a week, in hundredths.
    pub const MAX_CENTI: u32 = 168 * 100;

    /// 40 hours: A1's default full-time week.
    pub const FORTY: Hours = Hours(40 * 100);

    /// Hours from hundredths of an hour, in (0, 168].
    pub const fn from_centi(centi: u32) -> Option<Hours> {
        if centi == 0 || centi > Self::MAX_CENTI {
            None
        } else {
            Some(Hours(centi))
        }
    }

    /// Hours from a number in (0, 168], to the nearest hundredth of an hour (36 seconds); a
    /// positive number below that is one hundredth, so it never becomes zero.
    pub fn from_number(hours: f64) -> Option<Hours> {
        let centi = match (hours * 100.0).round() {
            c if c < 1.0 && hours > 0.0 => 1.0,
            c => c,
        };
        // Range-checked before the cast, so it cannot truncate.
        if centi.is_finite() && centi >= 1.0 && centi <= f64::from(Self::MAX_CENTI) {
            Hours::from_centi(centi as u32)
        } else {
            None
        }
    }

    /// Whether `hours` has at most two decimals (so [`Hours::from_number`] is exact).
    pub fn is_exact(hours: f64) -> bool {
        let centi = hours * 100.0;
        (centi - centi.round()).abs() < 1e-6
    }

    /// Hundredths of an hour.
    pub const fn centi(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_hundredths(f, u64::from(self.0))
    }
}

impl Serialize for Hours {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(100) {
            serializer.serialize_u32(self.0 / 100)
        } else {
            serializer.serialize_f64(f64::from(self.0) / 100.0)
        }
    }
}

impl<'de> Deserialize<'de> for Hours {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hours = f64::deserialize(deserializer)?;
        Hours::from_number(hours)
            .ok_or_else(|| de::Error::custom("expected hours per week: more than 0, at most 168"))
    }
}

/// Writes `hundredths / 100` with the decimals it needs: `40`, `37.5`, `12.25`.
pub(crate) fn fmt_hundredths(f: &mut fmt::Formatter<'_>, hundredths: u64) -> fmt::Result {
    let (whole, frac) = (hundredths / 100, hundredths % 100);
    match frac {
        0 => write!(f, "{whole}"),
        _ if frac % 10 == 0 => write!(f, "{whole}.{}", frac / 10),
        _ => write!(f, "{whole}.{frac:02}"),
    }
}

/// `numerator / denominator` to two decimals (rounded half up), for explanations: `5.00`.
pub(crate) fn two_decimals(numerator: u64, denominator: u64) -> String {
    let hundredths = numerator
        .saturating_mul(100)
        .saturating_add(denominator / 2)
        .checked_div(denominator)
        .unwrap_or(0);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a2_audit_days_print_and_serialise_exactly() -> Result<(), serde_json::Error> {
        let d = AuditDays::from_half_days(17);
        assert_eq!(d.to_string(), "8.5");
        assert_eq!(serde_json::to_string(&d)?, "8.5");
        assert_eq!(serde_json::to_string(&AuditDays::from_days(5))?, "5");
        assert_eq!(serde_json::from_str::<AuditDays>("8.5")?, d);
        assert_eq!(
            serde_json::from_str::<AuditDays>("5")?,
            AuditDays::from_days(5)
        );
        assert!(serde_json::from_str::<AuditDays>("8.3").is_err());
        assert!(serde_json::from_str::<AuditDays>("-1").is_err());
        assert_eq!(d.hours(), 68);
        Ok(())
    }

    #[test]
    fn a4_ratio_ceil_rounds_up_to_a_half_day() {
        // 8.5 days / 3 = 2.83 → 3; 2/3 of 8.5 = 5.67 → 6.
        let d = AuditDays::from_half_days(17);
        assert_eq!(d.ratio_ceil(1, 3), AuditDays::from_days(3));
        assert_eq!(d.ratio_ceil(2, 3), AuditDays::from_days(6));
        assert_eq!(d.ratio_ceil(1, 0), d);
    }

    #[test]
    fn a1_hours_print_and_parse() -> Result<(), serde_json::Error> {
        assert_eq!(serde_json::to_string(&Hours::from_number(37.5))?, "37.5");
        assert_eq!(serde_json::to_string(&Hours::from_number(40.0))?, "40");
        assert_eq!(
            Hours::from_number(12.25).map(|h| h.to_string()),
            Some("12.25".into())
        );
        assert_eq!(Hours::from_number(0.0), None);
        assert_eq!(Hours::from_number(168.01), None);
        assert_eq!(Hours::from_number(f64::NAN), None);
        assert!(Hours::is_exact(12.34) && !Hours::is_exact(12.345));
        Ok(())
    }
}
