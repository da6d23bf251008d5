//! Rule A8: the audit programme of a certification cycle: stage 1, stage 2, surveillance in
//! years 1 and 2, recertification in year 3 before expiry, spaced as C3 requires.
//!
//! Conventions (the rules are silent on them):
//! - The certification decision is expected on the stage 2 date; every later date counts
//!   from it.
//! - Months are calendar months with month ends clamped (chrono `checked_add_months`:
//!   Jan 31 + 1 month = Feb 28 or 29; 2028-02-29 + 36 months = 2031-02-28).
//! - Expiry (C2, 3 years) is the certificate's last valid day: the day before the third
//!   anniversary of the decision, or that month's last day when the anniversary does not
//!   exist (a decision on 2028-02-29 expires on 2031-02-28, not 02-27).
//! - "Within 12 months" and "at most N months apart" include the last day.
//! - Surveillance is planned on the decision's first and second anniversaries (the first is
//!   the latest day C3 allows), recertification `recertification_lead_months` before the
//!   third; `due_by` is the latest day the rules allow, so the CB may move a plan earlier,
//!   not later. Surveillance 2 is due within the calendar year after surveillance 1 (C3: once
//!   per calendar year). The gap limit also holds between surveillance 2 and
//!   recertification: C3 does not say so, but a programme that keeps it satisfies the
//!   stricter reading too.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::explain::{Explained, Reason, Step};

/// The programme's settings [cfg], passed in by the caller (never read here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProgrammeSettings {
    /// C3: most months between two surveillance audits: 15 under IAF (default), 12 under the
    /// `cn` jurisdiction. 12 to 24.
    pub max_gap_months: u32,
    /// A8: a stage 2 more than this many months after stage 1 requires the CB to record why
    /// stage 1 is still valid (default 6).
    pub stage1_validity_months: u32,
    /// A8: when no stage 2 date is given, it is planned this many days after stage 1
    /// (default 30: time to close stage 1 findings). At most 3650.
    pub stage2_after_days: u32,
    /// C4: the recertification audit is planned this many months before the decision's
    /// third anniversary, leaving time to close nonconformities and decide before expiry
    /// (default 3). At most 11.
    pub recertification_lead_months: u32,
}

impl Default for ProgrammeSettings {
    fn default() -> Self {
        Self {
            max_gap_months: 15,
            stage1_validity_months: 6,
            stage2_after_days: 30,
            recertification_lead_months: 3,
        }
    }
}

/// One planned audit: when it is planned and the last day the rules allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAudit {
    /// The planned date.
    pub planned: NaiveDate,
    /// The last day the audit may take place (C3; for recertification also C4: the decision
    /// must come by `expiry`).
    pub due_by: NaiveDate,
}

/// A8: the programme of one certification cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programme {
    /// Stage 1, as given.
    pub stage_1: NaiveDate,
    /// Stage 2, as given or planned.
    pub stage_2: NaiveDate,
    /// The expected certification decision (the stage 2 date).
    pub expected_decision: NaiveDate,
    /// The certificate's last valid day (C2: 3 years).
    pub expiry: NaiveDate,
    /// First surveillance (C3: within 12 months of the decision).
    pub surveillance_1: PlannedAudit,
    /// Second surveillance (C3: the next calendar year, at most `max_gap_months` later).
    pub surveillance_2: PlannedAudit,
    /// Recertification (A8: year 3, before expiry).
    pub recertification: PlannedAudit,
    /// A8: present when stage 2 is more than `stage1_validity_months` after stage 1: the CB
    /// must record why stage 1 is still valid.
    pub stage1_validity_note: Option<Reason>,
}

/// A8: plans the cycle from a planned `stage_1` and, optionally, `stage_2`. Errors (all at
/// once): stage 2 before stage 1 (`/stage_2`), settings out of range (`/max_gap_months`,
/// `/stage2_after_days`, `/recertification_lead_months`), dates beyond the calendar
/// (`/stage_1`).
pub fn plan(
    stage_1: NaiveDate,
    stage_2: Option<NaiveDate>,
    settings: &ProgrammeSettings,
) -> Result<Explained<Programme>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out_of_range = |field: &str, rule: &'static str, message: &str| {
        errors.push(FieldError::new(field, ErrorCode::OutOfRange, message, rule));
    };
    if !(12..=24).contains(&settings.max_gap_months) {
        out_of_range(
            "/max_gap_months",
            "C3",
            "surveillance is at least yearly: the gap limit is 12 to 24 months (IAF 15, cn 12)",
        );
    }
    if settings.stage2_after_days > 3650 {
        out_of_range("/stage2_after_days", "A8", "at most 3650 days");
    }
    if settings.recertification_lead_months > 11 {
        out_of_range(
            "/recertification_lead_months",
            "A8",
            "recertification is in year 3: at most 11 months before the third anniversary",
        );
    }
    if stage_2.is_some_and(|s2| s2 < stage_1) {
        out_of_range("/stage_2", "A8", "stage 2 cannot be before stage 1");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    schedule(stage_1, stage_2, settings).ok_or_else(|| {
        vec![FieldError::new(
            "/stage_1",
            ErrorCode::OutOfRange,
            "the programme would run past the last representable date",
            "A8",
        )]
    })
}

/// C2: the last valid day of a 3-year validity starting on `start`: the day before the third
/// anniversary, or that month's last day when the anniversary does not exist (2028-02-29 →
/// 2031-02-28). `None` past the calendar's end. Shared by the programme (A8) and the
/// certificate (C1/C2).
pub fn expiry_from(start: NaiveDate) -> Option<NaiveDate> {
    let third_anniversary = start.checked_add_months(Months::new(36))?;
    if third_anniversary.day() == start.day() {
        third_anniversary.pred_opt()
    } else {
        Some(third_anniversary) // clamped: the anniversary does not exist, its month's end is the last day
    }
}

/// C3: the last day of the first surveillance: 12 months after the decision, inclusive
/// (month ends clamp). Shared by the programme (A8) and the certificate.
pub fn first_surveillance_due(decision: NaiveDate) -> Option<NaiveDate> {
    decision.checked_add_months(Months::new(12))
}

/// C3: the last day of the surveillance after one held (or due) on `previous`: at most
/// `max_gap_months` later (15 IAF, 12 cn) and within the next calendar year (once per
/// calendar year), whichever comes first. Shared by the programme (A8) and the certificate.
pub fn next_surveillance_due(previous: NaiveDate, max_gap_months: u32) -> Option<NaiveDate> {
    let gap_end = previous.checked_add_months(Months::new(max_gap_months))?;
    let next_year_end = NaiveDate::from_ymd_opt(previous.year().checked_add(1)?, 12, 31)?;
    Some(gap_end.min(next_year_end))
}

/// The dates, once the inputs are known to be in range; `None` past the calendar's end.
fn schedule(
    stage_1: NaiveDate,
    stage_2: Option<NaiveDate>,
    settings: &ProgrammeSettings,
) -> Option<Explained<Programme>> {
    let gap = settings.max_gap_months;
    let mut steps = Vec::new();
    let stage_2 = match stage_2 {
        Some(date) => {
            steps.push(Step::new(
                "A8",
                format!("stage 1 {stage_1}, stage 2 {date}"),
                "stage 2 as given",
            ));
            date
        }
        None => {
            let date = stage_1.checked_add_days(Days::new(settings.stage2_after_days.into()))?;
            steps.push(Step::new(
                "A8",
                format!("stage 1 {stage_1}, no stage 2 date"),
                format!(
                    "stage 2 planned {} days later: {date}",
                    settings.stage2_after_days
                ),
            ));
            date
        }
    };

    // A stage 1 validity window beyond the calendar never ends: no note.
    let validity_end = stage_1.checked_add_months(Months::new(settings.stage1_validity_months));
    let stage1_validity_note = validity_end.filter(|end| stage_2 > *end).map(|end| {
        Reason::new(
            "A8",
            format!(
                "stage 2 ({stage_2}) is more than {} months after stage 1 ({stage_1}, window to {end}): the CB records why stage 1 is still valid",
                settings.stage1_validity_months
            ),
        )
    });
    steps.push(Step::new(
        "A8",
        format!(
            "stage 1 {stage_1} to stage 2 {stage_2}, validity window {} months",
            settings.stage1_validity_months
        ),
        match &stage1_validity_note {
            Some(_) => "beyond the window: the CB must record why stage 1 is still valid",
            None => "within the window: no note needed",
        },
    ));

    let decision = stage_2;
    let after = |months: u32| decision.checked_add_months(Months::new(months));
    let expiry = expiry_from(decision)?;
    steps.push(Step::new(
        "C2",
        format!("expected certification decision {decision} (the stage 2 date)"),
        format!("valid 3 years: expires {expiry} (last valid day)"),
    ));

    let first_due = first_surveillance_due(decision)?;
    let surveillance_1 = PlannedAudit {
        planned: first_due,
        due_by: first_due,
    };
    steps.push(Step::new(
        "C3",
        format!("decision {decision}"),
        format!("surveillance 1 within 12 months: due by {first_due}, planned then"),
    ));

    let gap_end = first_due.checked_add_months(Months::new(gap))?;
    let next_year_end = NaiveDate::from_ymd_opt(first_due.year().checked_add(1)?, 12, 31)?;
    let second_due = next_surveillance_due(first_due, gap)?;
    let surveillance_2 = PlannedAudit {
        planned: after(24)?.min(second_due),
        due_by: second_due,
    };
    steps.push(Step::new(
        "C3",
        format!("surveillance 1 {first_due}, at most {gap} months apart, once per calendar year"),
        format!(
            "surveillance 2 due by {second_due} (the earlier of {gap_end} and {next_year_end}), planned {}",
            surveillance_2.planned
        ),
    ));

    let recert_due = expiry.min(
        surveillance_2
            .planned
            .checked_add_months(Months::new(gap))?,
    );
    let lead = settings.recertification_lead_months;
    let recertification = PlannedAudit {
        planned: after(36 - lead.min(11))?.min(recert_due),
        due_by: recert_due,
    };
    steps.push(Step::new(
        "A8",
        format!("expiry {expiry}, surveillance 2 {}", surveillance_2.planned),
        format!(
            "recertification in year 3 before expiry: planned {} ({lead} months before the third anniversary, time to decide before expiry, C4), due by {recert_due}",
            recertification.planned
        ),
    ));

    Some(Explained {
        value: Programme {
            stage_1,
            stage_2,
            expected_decision: decision,
            expiry,
            surveillance_1,
            surveillance_2,
            recertification,
            stage1_validity_note,
        },
        steps,
    })
}
