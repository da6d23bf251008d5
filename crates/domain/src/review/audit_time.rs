//! Audit time (A2–A7) in auditor-days, counted exactly in half days ([`AuditDays`]).
//!
//! [`audit_times`] gives, per scheme and combined, the initial audit (stage 1 + stage 2), the
//! surveillance and the recertification time, each with its least on-site share:
//! - A2/A5: the scheme's table ([`Settings::isms_time_table`], `pims_time_table`,
//!   `bcms_time_table`) at the effective personnel (A1).
//! - A3: six factors graded 1–3 set the business and IT complexity; their pair gives a
//!   percentage ([`Settings::complexity_percent`]), a reduction capped at
//!   [`Settings::max_reduction_percent`]. The result is rounded to the nearest half day (IAF
//!   MD5 2.2.3), but never below the capped reduction. 1 auditor-day = 8 hours.
//! - A3: on site at least [`Settings::min_onsite_percent`], rounded up to a half day.
//! - A4: surveillance 1/3 and recertification 2/3 of the initial time, rounded up to 0.5 day.
//! - A7: several schemes are summed, then reduced by the requested integration percentage,
//!   at most [`Settings::max_integration_reduction_percent`], rounded up to a half day.
//!
//! ISO/IEC 27701 is audited together with ISO/IEC 27001: it is its own scheme (PIMS) whose
//! time is added to the ISMS time and then integrated (A7). GB/T 30146 is China's ISO 22301:
//! both are BCMS, and their time is counted once.
//!
//! [`site_times`] applies A6 to the per-site times of a multi-site audit.

use serde::{Deserialize, Serialize};

use super::quantity::{AuditDays, two_decimals};
use super::settings::{Settings, TimeTable};
use crate::intake::application::StandardCode;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::explain::{Explained, Step};

/// A3: one factor's grade: 1 (less audit effort), 2 (no effect on its own), 3 (more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Grade(u8);

impl Grade {
    /// Grade 1: low complexity.
    pub const LOW: Grade = Grade(1);
    /// Grade 2: medium complexity (the default).
    pub const MEDIUM: Grade = Grade(2);
    /// Grade 3: high complexity.
    pub const HIGH: Grade = Grade(3);

    /// A grade from 1 to 3.
    pub const fn new(grade: u8) -> Option<Grade> {
        match grade {
            1..=3 => Some(Grade(grade)),
            _ => None,
        }
    }

    /// 1, 2 or 3.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for Grade {
    fn default() -> Grade {
        Grade::MEDIUM
    }
}

impl TryFrom<u8> for Grade {
    type Error = &'static str;
    fn try_from(grade: u8) -> Result<Grade, Self::Error> {
        Grade::new(grade).ok_or("a grade is 1, 2 or 3")
    }
}

impl From<Grade> for u8 {
    fn from(grade: Grade) -> u8 {
        grade.0
    }
}

/// A3: the six complexity factors of 27006-1 Annex C, each graded 1–3 (default 2). Grade 1
/// always means less audit effort (e.g. a mature ISMS, little outsourcing), 3 more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FactorGrades {
    /// Business: type(s) of business and regulatory requirements.
    pub business_type: Grade,
    /// Business: processes and tasks.
    pub processes: Grade,
    /// Business: level of establishment (maturity) of the management system.
    pub maturity: Grade,
    /// IT: complexity of the IT infrastructure.
    pub it_infrastructure: Grade,
    /// IT: dependency on outsourcing and suppliers, including cloud services.
    pub outsourcing: Grade,
    /// IT: in-house information system development.
    pub development: Grade,
}

impl FactorGrades {
    /// The JSON names of the factors, business first.
    pub const NAMES: [&'static str; 6] = [
        "business_type",
        "processes",
        "maturity",
        "it_infrastructure",
        "outsourcing",
        "development",
    ];

    /// The grades in [`FactorGrades::NAMES`] order.
    pub const fn all(&self) -> [Grade; 6] {
        [
            self.business_type,
            self.processes,
            self.maturity,
            self.it_infrastructure,
            self.outsourcing,
            self.development,
        ]
    }
}

const FACTOR_LABELS: [&str; 6] = [
    "business: type of business and regulatory requirements",
    "business: processes and tasks",
    "business: management-system maturity",
    "IT: infrastructure complexity",
    "IT: outsourcing and cloud services",
    "IT: in-house development",
];

/// A3: business or IT complexity, from the sum of three grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    /// Sum 3–4.
    Low,
    /// Sum 5–6.
    Medium,
    /// Sum 7–9.
    High,
}

impl Complexity {
    fn of(sum: u8) -> Complexity {
        match sum {
            0..=4 => Complexity::Low,
            5..=6 => Complexity::Medium,
            _ => Complexity::High,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            Complexity::Low => "low (3-4)",
            Complexity::Medium => "medium (5-6)",
            Complexity::High => "high (7-9)",
        }
    }
}

/// A3: the adjustment the factors give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// Business complexity.
    pub business: Complexity,
    /// IT complexity.
    pub it: Complexity,
    /// The percentage applied to the table time, after the reduction cap.
    pub percent: i32,
}

/// The certification schemes audit time is computed for (A2, A5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// ISO/IEC 27001.
    Isms,
    /// ISO/IEC 27701.
    Pims,
    /// ISO 22301 and GB/T 30146.
    Bcms,
}

impl Scheme {
    /// The scheme a standard belongs to.
    pub const fn of(code: StandardCode) -> Scheme {
        match code {
            StandardCode::Iso27001 => Scheme::Isms,
            StandardCode::Iso27701 => Scheme::Pims,
            StandardCode::Iso22301 | StandardCode::GbT30146 => Scheme::Bcms,
        }
    }

    /// `"ISMS"`, `"PIMS"`, `"BCMS"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Isms => "ISMS",
            Scheme::Pims => "PIMS",
            Scheme::Bcms => "BCMS",
        }
    }

    /// The scheme's table, its settings field and the rule it follows.
    fn table(self, settings: &Settings) -> (&TimeTable, &'static str, &'static str) {
        match self {
            Scheme::Isms => (&settings.isms_time_table, "isms_time_table", "A2"),
            Scheme::Pims => (&settings.pims_time_table, "pims_time_table", "A5"),
            Scheme::Bcms => (&settings.bcms_time_table, "bcms_time_table", "A5"),
        }
    }
}

/// One audit's time and its least on-site part (A3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTime {
    /// Auditor-days.
    pub days: AuditDays,
    /// Of which at least this much on site.
    pub min_onsite: AuditDays,
}

/// The times of one certification cycle (A3, A4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleTimes {
    /// Initial audit: stage 1 + stage 2.
    pub initial: AuditTime,
    /// Each surveillance audit.
    pub surveillance: AuditTime,
    /// The recertification audit.
    pub recertification: AuditTime,
}

/// One scheme's times (A2–A5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeTimes {
    /// The scheme.
    pub scheme: Scheme,
    /// The requested standards it covers.
    pub standards: Vec<StandardCode>,
    /// The table time before adjustment (A2, A5).
    pub table_days: AuditDays,
    /// The cycle's times after the A3 adjustment.
    pub times: CycleTimes,
}

/// The audit times of an application (A2–A7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTimes {
    /// The A3 adjustment applied to every scheme.
    pub adjustment: Adjustment,
    /// Per scheme, ISMS first.
    pub schemes: Vec<SchemeTimes>,
    /// The A7 integration reduction applied to the combined times, in percent.
    pub integration_reduction_percent: u32,
    /// All schemes together, after A7.
    pub combined: CycleTimes,
}

/// A2, A5: the table time for `personnel` (0 is read as 1: a band starts at 1) from `table`,
/// with its step; `None` when the table has no band.
pub fn table_time(
    table: &TimeTable,
    personnel: u32,
    rule: &str,
    label: &str,
) -> Option<Explained<AuditDays>> {
    let people = personnel.max(1);
    let index = table
        .bands
        .iter()
        .rposition(|b| b.from <= people)
        .unwrap_or(0);
    let band = table.bands.get(index)?;
    let above = people > band.to && index + 1 == table.bands.len();
    let (days, effect) = if above {
        let progression = table.progression;
        let over = u64::from(people - band.to);
        let per_step = u64::from(progression.personnel_per_step);
        // A zero step (only possible in settings built in code) means no progression.
        let step_count = if per_step == 0 {
            0
        } else {
            over.div_ceil(per_step)
        };
        let half_days = u64::from(band.days.half_days()).saturating_add(
            step_count.saturating_mul(u64::from(progression.days_per_step.half_days())),
        );
        let days = AuditDays::from_half_days(u32::try_from(half_days).unwrap_or(u32::MAX));
        let effect = format!(
            "{days} auditor-days: above the last band ({}-{}: {}), {step_count} step(s) of {} people at +{} each",
            band.from,
            band.to,
            band.days,
            progression.personnel_per_step,
            progression.days_per_step
        );
        (days, effect)
    } else {
        let effect = format!(
            "{} auditor-days (band {}-{})",
            band.days, band.from, band.to
        );
        (band.days, effect)
    };
    Some(Explained {
        value: days,
        steps: vec![Step::new(
            rule,
            format!("{label} table, effective personnel {personnel}"),
            effect,
        )],
    })
}

/// A3: the business and IT complexity of `grades` and the percentage it gives, capped at
/// [`Settings::max_reduction_percent`]; a step per factor, one per sum and one for the result.
pub fn complexity_adjustment(grades: &FactorGrades, settings: &Settings) -> Explained<Adjustment> {
    let all = grades.all();
    let mut steps = Vec::with_capacity(9);
    for (label, grade) in FACTOR_LABELS.iter().zip(all) {
        let effect = match grade.get() {
            1 => "lowers complexity",
            2 => "neutral",
            _ => "raises complexity",
        };
        steps.push(Step::new(
            "A3",
            format!("{label}: grade {}", grade.get()),
            format!("+{} to its sum ({effect})", grade.get()),
        ));
    }
    let sum = |grades: &[Grade]| grades.iter().map(|g| g.get()).sum::<u8>();
    let (business_sum, it_sum) = (sum(&all[..3]), sum(&all[3..]));
    let (business, it) = (Complexity::of(business_sum), Complexity::of(it_sum));
    let row = match business {
        Complexity::Low => settings.complexity_percent.business_low,
        Complexity::Medium => settings.complexity_percent.business_medium,
        Complexity::High => settings.complexity_percent.business_high,
    };
    let table_percent = match it {
        Complexity::Low => row.it_low,
        Complexity::Medium => row.it_medium,
        Complexity::High => row.it_high,
    };
    steps.push(Step::new(
        "A3",
        format!("business grades sum {business_sum}, IT grades sum {it_sum}"),
        format!(
            "business complexity {}, IT complexity {}: {table_percent:+}% (CB settings, 27006-1 Annex C)",
            business.as_str(),
            it.as_str()
        ),
    ));
    let cap = settings.max_reduction_percent.min(100);
    let floor = -i32::try_from(cap).unwrap_or(100);
    // Above +1000% is no longer an adjustment; keeps the arithmetic small.
    let percent = table_percent.clamp(floor, 1000);
    if percent > table_percent {
        steps.push(Step::new(
            "A3",
            format!("adjustment {table_percent:+}%"),
            format!("{percent:+}%: the total reduction is capped at {cap}%"),
        ));
    } else if percent < table_percent {
        steps.push(Step::new(
            "A3",
            format!("adjustment {table_percent:+}%"),
            format!("{percent:+}%: the most an adjustment may add"),
        ));
    }
    Explained {
        value: Adjustment {
            business,
            it,
            percent,
        },
        steps,
    }
}

/// A3: `days` adjusted by `percent`, to the nearest half day (ties up), never below the
/// capped reduction.
fn adjust(
    days: AuditDays,
    percent: i32,
    max_reduction_percent: u32,
    label: &str,
) -> (AuditDays, Step) {
    let factor = u64::try_from(100 + i64::from(percent)).unwrap_or(0);
    let exact = u64::from(days.half_days()).saturating_mul(factor); // half days x 100
    let nearest = exact.saturating_add(50) / 100;
    let least = days.ratio_ceil(100 - u64::from(max_reduction_percent.min(100)), 100);
    let adjusted = AuditDays::from_half_days(u32::try_from(nearest).unwrap_or(u32::MAX)).max(least);
    let exact_days = two_decimals(exact, 200);
    let guard = if adjusted == least && u64::from(adjusted.half_days()) > nearest {
        " (raised: the reduction may not exceed the cap)"
    } else {
        ""
    };
    let step = Step::new(
        "A3",
        format!("{label} table time {days} auditor-days, adjustment {percent:+}%"),
        format!(
            "{days} x {} = {exact_days} -> {adjusted} auditor-days, to the nearest half day{guard}; {} auditor-hours at 8 h a day (longer days do not cut days)",
            two_decimals(factor, 100),
            adjusted.hours()
        ),
    );
    (adjusted, step)
}

/// A3, A4: the cycle from an initial time, with on-site shares.
fn cycle(
    initial: AuditDays,
    settings: &Settings,
    label: &str,
    steps: &mut Vec<Step>,
) -> CycleTimes {
    let surveillance = initial.ratio_ceil(1, 3);
    let recertification = initial.ratio_ceil(2, 3);
    steps.push(Step::new(
        "A4",
        format!("{label} initial audit {initial} auditor-days"),
        format!(
            "surveillance 1/3 = {} -> {surveillance}, recertification 2/3 = {} -> {recertification} (rounded up to a half day)",
            two_decimals(u64::from(initial.half_days()), 6),
            two_decimals(u64::from(initial.half_days()) * 2, 6)
        ),
    ));
    with_onsite(
        initial,
        surveillance,
        recertification,
        settings,
        label,
        steps,
    )
}

fn with_onsite(
    initial: AuditDays,
    surveillance: AuditDays,
    recertification: AuditDays,
    settings: &Settings,
    label: &str,
    steps: &mut Vec<Step>,
) -> CycleTimes {
    let share = u64::from(settings.min_onsite_percent.min(100));
    let time = |days: AuditDays| AuditTime {
        days,
        min_onsite: days.ratio_ceil(share, 100),
    };
    let times = CycleTimes {
        initial: time(initial),
        surveillance: time(surveillance),
        recertification: time(recertification),
    };
    steps.push(Step::new(
        "A3",
        format!("{label}: on site at least {share}%"),
        format!(
            "initial {}, surveillance {}, recertification {} auditor-days on site (rounded up to a half day); more remote time only where the remote-audit assessment allows it (M1-M4)",
            times.initial.min_onsite, times.surveillance.min_onsite, times.recertification.min_onsite
        ),
    ));
    times
}

/// A2–A7: audit times for `effective_personnel` (A1) and the requested `standards`, with the
/// factor `grades` (A3) and the requested `integration_reduction_percent` (A7). Errors, all
/// at once: no standard (`/standards`, `required`); an integration reduction above the cap,
/// or asked for a single scheme (`/integration_reduction_percent`, `exceeds_limit`); a table
/// without bands (`invalid_table`).
pub fn audit_times(
    effective_personnel: u32,
    standards: &[StandardCode],
    grades: &FactorGrades,
    integration_reduction_percent: u32,
    settings: &Settings,
) -> Result<Explained<AuditTimes>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut schemes: Vec<(Scheme, Vec<StandardCode>)> = Vec::new();
    for &code in standards {
        let scheme = Scheme::of(code);
        match schemes.iter_mut().find(|(s, _)| *s == scheme) {
            Some((_, codes)) if !codes.contains(&code) => codes.push(code),
            Some(_) => {}
            None => schemes.push((scheme, vec![code])),
        }
    }
    schemes.sort_by_key(|(scheme, _)| *scheme);
    if schemes.is_empty() {
        errors.push(FieldError::new(
            "/standards",
            ErrorCode::Required,
            "at least one standard",
            "A2",
        ));
    }
    let cap = settings.max_integration_reduction_percent;
    if integration_reduction_percent > cap {
        errors.push(FieldError::new(
            "/integration_reduction_percent",
            ErrorCode::ExceedsLimit,
            format!("at most {cap}% (IAF MD11)"),
            "A7",
        ));
    } else if integration_reduction_percent > 0 && schemes.len() == 1 {
        errors.push(FieldError::new(
            "/integration_reduction_percent",
            ErrorCode::ExceedsLimit,
            "only one scheme is audited: there is nothing to integrate",
            "A7",
        ));
    }

    let adjustment = complexity_adjustment(grades, settings);
    let mut steps = adjustment.steps;
    let adjustment = adjustment.value;
    let mut results = Vec::with_capacity(schemes.len());
    for (scheme, codes) in schemes {
        let (table, key, rule) = scheme.table(settings);
        let label = scheme.as_str();
        if codes.len() > 1 {
            steps.push(Step::new(
                "A5",
                "ISO 22301 and GB/T 30146",
                "one BCMS scheme (GB/T 30146 is China's ISO 22301): its time is counted once",
            ));
        }
        if scheme == Scheme::Pims && standards.contains(&StandardCode::Iso27001) {
            steps.push(Step::new(
                "A5",
                "ISO/IEC 27701 with ISO/IEC 27001",
                "PIMS extends the ISMS and is audited with it: its time is added to the ISMS time, then integrated (A7)",
            ));
        }
        let Some(base) = table_time(table, effective_personnel, rule, label) else {
            errors.push(FieldError::new(
                format!("/{key}/bands"),
                ErrorCode::InvalidTable,
                "the settings' table has no band",
                rule,
            ));
            continue;
        };
        steps.extend(base.steps);
        let (initial, step) = adjust(
            base.value,
            adjustment.percent,
            settings.max_reduction_percent,
            label,
        );
        steps.push(step);
        let times = cycle(initial, settings, label, &mut steps);
        results.push(SchemeTimes {
            scheme,
            standards: codes,
            table_days: base.value,
            times,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let combined = match results.as_slice() {
        [only] => {
            steps.push(Step::new(
                "A7",
                format!("{} only", only.scheme.as_str()),
                "one scheme: nothing to integrate",
            ));
            only.times
        }
        _ => {
            let sum = |pick: fn(&CycleTimes) -> AuditDays| {
                results
                    .iter()
                    .fold(AuditDays::ZERO, |acc, s| acc.saturating_add(pick(&s.times)))
            };
            let keep = 100 - u64::from(integration_reduction_percent.min(100));
            let reduce = |days: AuditDays| days.ratio_ceil(keep, 100);
            let (initial, surveillance, recertification) = (
                sum(|t| t.initial.days),
                sum(|t| t.surveillance.days),
                sum(|t| t.recertification.days),
            );
            let names: Vec<&str> = results.iter().map(|s| s.scheme.as_str()).collect();
            steps.push(Step::new(
                "A7",
                format!(
                    "{} summed: initial {initial}, surveillance {surveillance}, recertification {recertification}; integration reduction {integration_reduction_percent}% (at most {cap}%)",
                    names.join(" + ")
                ),
                format!(
                    "initial {}, surveillance {}, recertification {} auditor-days (rounded up to a half day; applied after the MD5 and MD1 reductions)",
                    reduce(initial),
                    reduce(surveillance),
                    reduce(recertification)
                ),
            ));
            with_onsite(
                reduce(initial),
                reduce(surveillance),
                reduce(recertification),
                settings,
                "combined",
                &mut steps,
            )
        }
    };
    Ok(Explained {
        value: AuditTimes {
            adjustment,
            schemes: results,
            integration_reduction_percent,
            combined,
        },
        steps,
    })
}

/// A6: the most a sampled site's time may be cut (IAF MD1 7.3.1), in percent.
pub const MAX_SITE_REDUCTION_PERCENT: u32 = 50;

/// A6: one audited site's time, before reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteTimeRequest {
    /// Index into the application's `sites`.
    pub site: usize,
    /// The site's own single-site time: the A2/A5 table time for that site's effective
    /// personnel (A1), before any reduction.
    pub single_site: AuditDays,
    /// Every reduction for the site together (A3 complexity, processes run by the central
    /// function), in percent: at most [`MAX_SITE_REDUCTION_PERCENT`].
    pub reduction_percent: u32,
}

/// A6: one audited site's planned time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteTime {
    /// Index into the application's `sites`.
    pub site: usize,
    /// The site's single-site time.
    pub single_site: AuditDays,
    /// The reduction applied, in percent.
    pub reduction_percent: u32,
    /// The planned time, rounded up to a half day.
    pub days: AuditDays,
}

/// A6: the planned times of the audited sites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteTimes {
    /// Per audited site, in the request's order.
    pub sites: Vec<SiteTime>,
    /// The sum of the sites' planned times.
    pub sum: AuditDays,
    /// ISMS: time added so the total is not less than the whole organisation's single-site
    /// time (to be planned, e.g., at the central function).
    pub added_for_floor: AuditDays,
    /// The total: `sum + added_for_floor`.
    pub total: AuditDays,
}

/// A6: per-site times of a multi-site audit. `sites` lists every audited site, the central
/// function included. `whole_organisation` is the time the whole organisation would need as a
/// single site (the table time for its total effective personnel).
///
/// Interpretation. RULES A6 says a sampled site's time may be cut by at most 50% and, for
/// ISMS, "never below that site's own single-site time". Read literally, the second half would
/// forbid any cut for ISMS and leave the 50% meaningless there. IAF MD1 7.3.1 limits the cut
/// per sampled site to 50% (EA FAQ 37.5: MD5's 30% plus 20% for processes run by the central
/// function). 27006:2015 Amd 1:2020, kept in 27006-1:2024, as the EA reads it: each sampled
/// site's time is calculated from that site's own characteristics and people, and the
/// multi-site total may not be less than if the organisation were audited as a single site.
/// So: each site gets at least half of its own single-site time (`exceeds_limit` otherwise),
/// and for ISMS a total below `whole_organisation` is raised to it (`added_for_floor`).
pub fn site_times(
    scheme: Scheme,
    sites: &[SiteTimeRequest],
    whole_organisation: AuditDays,
) -> Result<Explained<SiteTimes>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if sites.is_empty() {
        errors.push(FieldError::new(
            "/sites",
            ErrorCode::Required,
            "at least the central function",
            "A6",
        ));
    }
    let mut steps = Vec::with_capacity(sites.len() + 1);
    let mut planned = Vec::with_capacity(sites.len());
    for (i, request) in sites.iter().enumerate() {
        if sites[..i].iter().any(|s| s.site == request.site) {
            errors.push(FieldError::new(
                format!("/sites/{i}/site"),
                ErrorCode::Duplicate,
                format!("site {} is listed twice", request.site),
                "A6",
            ));
        }
        if request.reduction_percent > MAX_SITE_REDUCTION_PERCENT {
            errors.push(FieldError::new(
                format!("/sites/{i}/reduction_percent"),
                ErrorCode::ExceedsLimit,
                format!("at most {MAX_SITE_REDUCTION_PERCENT}% per site (IAF MD1 7.3.1)"),
                "A6",
            ));
            continue;
        }
        let days = request
            .single_site
            .ratio_ceil(u64::from(100 - request.reduction_percent), 100);
        steps.push(Step::new(
            "A6",
            format!(
                "site {}: single-site time {} auditor-days, reduction {}%",
                request.site, request.single_site, request.reduction_percent
            ),
            format!("{days} auditor-days (rounded up to a half day; at most {MAX_SITE_REDUCTION_PERCENT}% may be cut)"),
        ));
        planned.push(SiteTime {
            site: request.site,
            single_site: request.single_site,
            reduction_percent: request.reduction_percent,
            days,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let sum = planned
        .iter()
        .fold(AuditDays::ZERO, |acc, s| acc.saturating_add(s.days));
    let total = if scheme == Scheme::Isms {
        sum.max(whole_organisation)
    } else {
        sum
    };
    let added_for_floor = total.saturating_sub(sum);
    steps.push(Step::new(
        "A6",
        format!(
            "{}: sites total {sum} auditor-days; the whole organisation as a single site needs {whole_organisation}",
            scheme.as_str()
        ),
        match (scheme, added_for_floor) {
            (Scheme::Isms, AuditDays::ZERO) => format!("total {total}: not below the single-site time (27006-1)"),
            (Scheme::Isms, added) => format!("total raised by {added} to {total}: an ISMS multi-site total may not be less than its single-site time (27006-1)"),
            _ => format!("total {total} (the single-site floor is an ISMS rule)"),
        },
    ));
    Ok(Explained {
        value: SiteTimes {
            sites: planned,
            sum,
            added_for_floor,
            total,
        },
        steps,
    })
}
