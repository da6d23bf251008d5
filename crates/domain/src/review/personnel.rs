//! A1: effective personnel, per site and in total.
//!
//! Full-time staff, temporary staff and in-scope contractors count one person each; part-time
//! staff count `weekly_hours / full_time_hours` ([`Settings::full_time_hours`], default 40).
//! The application's figures already cover every shift (I1 asks for the people, and the
//! number of shifts separately), so shifts add nothing; the steps say so. Fractions are kept
//! exact (hours in hundredths) and rounded up to a whole person only at the end, as CBs
//! usually do: per site for that site's own figure (used for A6's single-site time), and once
//! for the total, from the exact sum, so the total is not inflated by each site's rounding.
//!
//! A repetitive group (identical, simple, supervised work) may be counted as fewer people,
//! never fewer than ceil(sqrt(group size)) (27006-1 C.3.4). Which groups are reduced, and
//! why, is the operator's [`GroupDecision`]; with none, nothing is reduced and the steps show
//! the largest reduction that would be allowed.

use serde::{Deserialize, Serialize};

use super::quantity::{Hours, two_decimals};
use super::settings::Settings;
use crate::intake::application::Application;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::explain::{Explained, Step};

/// A1: count repetitive group `group` (index into the application's `repetitive_groups`) as
/// `counted_as` people, for `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDecision {
    /// Index into `repetitive_groups` of the application.
    pub group: usize,
    /// People the group counts as: from ceil(sqrt(count)) to count.
    pub counted_as: u32,
    /// Why the group's work is identical, simple and supervised (A1: record why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A1: one site's effective personnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitePersonnel {
    /// Index into the application's `sites`.
    pub site: usize,
    /// Effective personnel of the site, rounded up to a whole person.
    pub effective: u32,
}

/// A1: effective personnel of the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePersonnel {
    /// Per site, in the application's order.
    pub sites: Vec<SitePersonnel>,
    /// The whole organisation: the exact sum of the sites, rounded up once.
    pub total: u32,
}

/// A1: ceil(sqrt(n)), the fewest people a repetitive group of `n` may count as.
pub fn ceil_sqrt(n: u32) -> u32 {
    let root = n.isqrt();
    if root * root == n { root } else { root + 1 }
}

fn ceil_div(numerator: u64, denominator: u64) -> u64 {
    if denominator == 0 {
        0
    } else {
        numerator.div_ceil(denominator)
    }
}

fn whole(people: u64) -> u32 {
    u32::try_from(people).unwrap_or(u32::MAX)
}

/// A1: effective personnel of `application` with the operator's group `decisions`. Every
/// invalid decision is reported at once (fields point into the review inputs,
/// `/repetitive_groups/<i>/...`): an unknown group (`invalid_reference`), a group decided twice
/// (`duplicate`), more people than the group has (`out_of_range`), fewer than
/// ceil(sqrt(count)) (`exceeds_limit`).
pub fn effective_personnel(
    application: &Application,
    decisions: &[GroupDecision],
    settings: &Settings,
) -> Result<Explained<EffectivePersonnel>, Vec<FieldError>> {
    let full_time = u64::from(settings.full_time_hours.centi());
    let mut errors = Vec::new();
    let mut steps = Vec::new();
    // People each site loses to repetitive-group decisions.
    let mut removed = vec![0u64; application.sites.len()];
    let mut decided = vec![false; application.repetitive_groups.len()];

    for (i, decision) in decisions.iter().enumerate() {
        let path = format!("/repetitive_groups/{i}");
        let error = |field: &str, code, message: String| {
            FieldError::new(format!("{path}/{field}"), code, message, "A1")
        };
        let Some(group) = application.repetitive_groups.get(decision.group) else {
            errors.push(error(
                "group",
                ErrorCode::InvalidReference,
                format!(
                    "the application lists {} repetitive groups; there is no group {}",
                    application.repetitive_groups.len(),
                    decision.group
                ),
            ));
            continue;
        };
        if let Some(seen) = decided.get_mut(decision.group) {
            if *seen {
                errors.push(error(
                    "group",
                    ErrorCode::Duplicate,
                    format!("group {} is decided twice", decision.group),
                ));
                continue;
            }
            *seen = true;
        }
        let least = ceil_sqrt(group.count);
        if decision.counted_as > group.count {
            errors.push(error(
                "counted_as",
                ErrorCode::OutOfRange,
                format!("at most the group's {} people", group.count),
            ));
            continue;
        }
        if decision.counted_as < least {
            errors.push(error(
                "counted_as",
                ErrorCode::ExceedsLimit,
                format!(
                    "at least {least} = ceil(sqrt({})): A1 allows no larger reduction",
                    group.count
                ),
            ));
            continue;
        }
        let Some(site_removed) = removed.get_mut(group.site) else {
            errors.push(error(
                "group",
                ErrorCode::InvalidReference,
                format!("the group's site {} does not exist", group.site),
            ));
            continue;
        };
        let cut = group.count - decision.counted_as;
        *site_removed += u64::from(cut);
        let reason = match &decision.reason {
            Some(reason) if !reason.trim().is_empty() => format!("; reason: {}", reason.trim()),
            _ => String::new(),
        };
        steps.push(Step::new(
            "A1",
            format!(
                "repetitive group {} \"{}\" at site {}: {} people, counted as {}{reason}",
                decision.group, group.description, group.site, group.count, decision.counted_as
            ),
            format!(
                "-{cut} people (the fewest allowed is ceil(sqrt({})) = {least})",
                group.count
            ),
        ));
    }
    for (g, group) in application.repetitive_groups.iter().enumerate() {
        if decided.get(g).copied().unwrap_or(true) {
            continue;
        }
        let least = ceil_sqrt(group.count);
        steps.push(Step::new(
            "A1",
            format!(
                "repetitive group {g} \"{}\" at site {}: {} people, no reduction decided",
                group.description, group.site, group.count
            ),
            format!(
                "counted in full; A1 would allow counting it as {least} = ceil(sqrt({})), -{} people",
                group.count,
                group.count - least
            ),
        ));
    }

    let mut sites = Vec::with_capacity(application.sites.len());
    let mut total_units = 0u64;
    for (s, site) in application.sites.iter().enumerate() {
        let p = &site.personnel;
        let whole_people =
            u64::from(p.full_time) + u64::from(p.temporary) + u64::from(p.contractors);
        // Units: hundredths of an hour per week.
        let mut units = whole_people.saturating_mul(full_time);
        let mut part_time = String::new();
        for (j, line) in p.part_time.iter().enumerate() {
            let Some(hours) = Hours::from_number(line.weekly_hours) else {
                errors.push(FieldError::new(
                    format!("/sites/{s}/personnel/part_time/{j}/weekly_hours"),
                    ErrorCode::OutOfRange,
                    "weekly hours must be more than 0 and at most 168",
                    "A1",
                ));
                continue;
            };
            let line_units = u64::from(line.count).saturating_mul(u64::from(hours.centi()));
            units = units.saturating_add(line_units);
            part_time.push_str(&format!(
                ", part-time {} x {hours} h/week = {} FTE",
                line.count,
                two_decimals(line_units, full_time)
            ));
        }
        let site_removed = removed.get(s).copied().unwrap_or(0);
        let reduced = units.saturating_sub(site_removed.saturating_mul(full_time));
        let effective = whole(ceil_div(reduced, full_time));
        total_units = total_units.saturating_add(reduced);
        let groups = if site_removed > 0 {
            format!(
                ", repetitive groups -{site_removed} -> {} FTE",
                two_decimals(reduced, full_time)
            )
        } else {
            String::new()
        };
        steps.push(Step::new(
            "A1",
            format!(
                "site {s} \"{}\": {} full-time{part_time}, {} temporary, {} contractors; {} shift(s), full time {} h/week",
                site.name, p.full_time, p.temporary, p.contractors, site.shifts, settings.full_time_hours
            ),
            format!(
                "{} FTE{groups}; effective personnel {effective} (rounded up to a whole person); \
                 the figures already count every shift, so shifts add nothing",
                two_decimals(units, full_time)
            ),
        ));
        sites.push(SitePersonnel { site: s, effective });
    }
    let total = whole(ceil_div(total_units, full_time));
    steps.push(Step::new(
        "A1",
        format!(
            "{} site(s), {} FTE in all",
            sites.len(),
            two_decimals(total_units, full_time)
        ),
        format!(
            "effective personnel {total} (the exact sum rounded up once, not the sum of rounded sites)"
        ),
    ));
    if errors.is_empty() {
        Ok(Explained {
            value: EffectivePersonnel { sites, total },
            steps,
        })
    } else {
        Err(errors)
    }
}
