//! Rule A8 (the audit programme) with C2 (3-year validity) and C3 (surveillance spacing):
//! month ends, leap years, the IAF 15-month and the cn 12-month gap, the stage 1 note.

use crate::common::day;
use certflow_domain::ErrorCode;
use certflow_domain::review::programme::{PlannedAudit, Programme, ProgrammeSettings, plan};
use chrono::{Datelike, Months, NaiveDate};
use proptest::prelude::*;

type TestResult = Result<(), String>;

fn iaf() -> ProgrammeSettings {
    ProgrammeSettings::default()
}

fn cn() -> ProgrammeSettings {
    ProgrammeSettings {
        max_gap_months: 12,
        ..ProgrammeSettings::default()
    }
}

fn programme(
    stage_1: NaiveDate,
    stage_2: Option<NaiveDate>,
    settings: &ProgrammeSettings,
) -> Result<Programme, String> {
    plan(stage_1, stage_2, settings)
        .map(|e| e.value)
        .map_err(|e| format!("{e:?}"))
}

fn at(planned: NaiveDate, due_by: NaiveDate) -> PlannedAudit {
    PlannedAudit { planned, due_by }
}

#[test]
fn a8_c3_decision_on_jan_31_iaf_and_cn() -> TestResult {
    let d = day(2027, 1, 31);
    let p = programme(day(2027, 1, 4), Some(d), &iaf())?;
    assert_eq!(p.expected_decision, d);
    assert_eq!(p.expiry, day(2030, 1, 30));
    assert_eq!(p.surveillance_1, at(day(2028, 1, 31), day(2028, 1, 31)));
    // 2028-01-31 + 15 months = 2029-04-30 (April has 30 days).
    assert_eq!(p.surveillance_2, at(day(2029, 1, 31), day(2029, 4, 30)));
    assert_eq!(p.recertification, at(day(2029, 10, 31), day(2030, 1, 30)));

    let p = programme(day(2027, 1, 4), Some(d), &cn())?;
    assert_eq!(p.surveillance_2, at(day(2029, 1, 31), day(2029, 1, 31)));
    assert_eq!(p.recertification, at(day(2029, 10, 31), day(2030, 1, 30)));
    Ok(())
}

#[test]
fn a8_c3_decision_on_aug_31_iaf_and_cn() -> TestResult {
    // No stage 2 given: 30 days after 2026-08-01 is 2026-08-31.
    let p = programme(day(2026, 8, 1), None, &iaf())?;
    assert_eq!(p.stage_2, day(2026, 8, 31));
    assert_eq!(p.expiry, day(2029, 8, 30));
    assert_eq!(p.surveillance_1, at(day(2027, 8, 31), day(2027, 8, 31)));
    // 2027-08-31 + 15 months = 2028-11-30.
    assert_eq!(p.surveillance_2, at(day(2028, 8, 31), day(2028, 11, 30)));
    assert_eq!(p.recertification, at(day(2029, 5, 31), day(2029, 8, 30)));

    let p = programme(day(2026, 8, 1), None, &cn())?;
    assert_eq!(p.surveillance_2, at(day(2028, 8, 31), day(2028, 8, 31)));
    assert_eq!(p.recertification, at(day(2029, 5, 31), day(2029, 8, 30)));
    Ok(())
}

#[test]
fn a8_c3_decision_on_leap_day_2028_02_29() -> TestResult {
    assert_eq!(
        day(2028, 2, 29).checked_add_months(Months::new(36)),
        Some(day(2031, 2, 28))
    );
    let d = day(2028, 2, 29);
    let p = programme(day(2028, 1, 10), Some(d), &iaf())?;
    // The third anniversary does not exist: the certificate runs to February's last day.
    assert_eq!(p.expiry, day(2031, 2, 28));
    assert_eq!(p.surveillance_1, at(day(2029, 2, 28), day(2029, 2, 28)));
    assert_eq!(p.surveillance_2, at(day(2030, 2, 28), day(2030, 5, 28)));
    assert_eq!(p.recertification, at(day(2030, 11, 29), day(2031, 2, 28)));

    let p = programme(day(2028, 1, 10), Some(d), &cn())?;
    assert_eq!(p.surveillance_2, at(day(2030, 2, 28), day(2030, 2, 28)));
    assert_eq!(p.recertification, at(day(2030, 11, 29), day(2031, 2, 28)));
    Ok(())
}

#[test]
fn c2_expiry_is_the_day_before_the_third_anniversary() -> TestResult {
    // Decided 2025-03-01: the day before 2028-03-01 is the leap day.
    let p = programme(day(2025, 2, 1), Some(day(2025, 3, 1)), &iaf())?;
    assert_eq!(p.expiry, day(2028, 2, 29));
    let p = programme(day(2026, 2, 1), Some(day(2026, 3, 10)), &iaf())?;
    assert_eq!(p.expiry, day(2029, 3, 9));
    Ok(())
}

#[test]
fn a8_recertification_planned_across_a_short_month() -> TestResult {
    // 2026-05-31 + 33 months = 2029-02-28 (clamped).
    let p = programme(day(2026, 5, 1), Some(day(2026, 5, 31)), &iaf())?;
    assert_eq!(p.recertification.planned, day(2029, 2, 28));
    assert_eq!(p.recertification.due_by, day(2029, 5, 30));
    Ok(())
}

#[test]
fn a8_stage1_validity_note_after_six_months_jan_31() -> TestResult {
    let stage_1 = day(2027, 1, 31);
    let within = programme(stage_1, Some(day(2027, 7, 31)), &iaf())?;
    assert_eq!(within.stage1_validity_note, None);
    let beyond = programme(stage_1, Some(day(2027, 8, 1)), &iaf())?;
    let Some(note) = beyond.stage1_validity_note else {
        return Err("no note past 6 months".into());
    };
    assert_eq!(note.rule, "A8");
    assert!(note.message.contains("still valid"));
    Ok(())
}

#[test]
fn a8_stage1_validity_window_clamps_at_month_end() -> TestResult {
    // 2027-08-31 + 6 months = 2028-02-29 (leap year).
    let stage_1 = day(2027, 8, 31);
    let p = programme(stage_1, Some(day(2028, 2, 29)), &iaf())?;
    assert_eq!(p.stage1_validity_note, None);
    let p = programme(stage_1, Some(day(2028, 3, 1)), &iaf())?;
    assert!(p.stage1_validity_note.is_some());
    // The window is a setting.
    let short = ProgrammeSettings {
        stage1_validity_months: 3,
        ..iaf()
    };
    let p = programme(stage_1, Some(day(2027, 12, 1)), &short)?;
    assert!(p.stage1_validity_note.is_some());
    Ok(())
}

#[test]
fn a8_same_day_stages_are_allowed() -> TestResult {
    let p = programme(day(2027, 3, 3), Some(day(2027, 3, 3)), &iaf())?;
    assert_eq!(p.stage_2, day(2027, 3, 3));
    Ok(())
}

#[test]
fn a8_c3_bad_inputs_are_reported_all_at_once() -> TestResult {
    let settings = ProgrammeSettings {
        max_gap_months: 11,
        stage1_validity_months: 6,
        stage2_after_days: 4000,
        recertification_lead_months: 12,
    };
    let Err(errors) = plan(day(2027, 3, 3), Some(day(2027, 3, 2)), &settings) else {
        return Err("accepted".into());
    };
    let got: Vec<(&str, ErrorCode, &str)> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.code, e.rule))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/max_gap_months", ErrorCode::OutOfRange, "C3"),
            ("/stage2_after_days", ErrorCode::OutOfRange, "A8"),
            ("/recertification_lead_months", ErrorCode::OutOfRange, "A8"),
            ("/stage_2", ErrorCode::OutOfRange, "A8"),
        ]
    );
    Ok(())
}

#[test]
fn a8_dates_past_the_calendar_end_are_an_error_not_a_panic() -> TestResult {
    for stage_1 in [NaiveDate::MAX, day(262_140, 1, 1)] {
        let Err(errors) = plan(stage_1, None, &iaf()) else {
            return Err(format!("accepted {stage_1}"));
        };
        assert_eq!(errors[0].field, "/stage_1");
        assert_eq!(errors[0].code, ErrorCode::OutOfRange);
    }
    Ok(())
}

#[test]
fn a8_steps_cite_the_rules() -> TestResult {
    let explained = plan(day(2026, 8, 1), None, &iaf()).map_err(|e| format!("{e:?}"))?;
    let rules: Vec<&str> = explained.steps.iter().map(|s| s.rule.as_str()).collect();
    assert_eq!(rules, vec!["A8", "A8", "C2", "C3", "C3", "A8"]);
    Ok(())
}

#[test]
fn a8_programme_round_trips_through_json() -> Result<(), Box<dyn std::error::Error>> {
    let explained =
        plan(day(2027, 1, 31), Some(day(2027, 9, 1)), &cn()).map_err(|e| format!("{e:?}"))?;
    let text = serde_json::to_string(&explained)?;
    let back: certflow_domain::explain::Explained<Programme> = serde_json::from_str(&text)?;
    assert_eq!(back, explained);
    let value = serde_json::to_value(&explained.value)?;
    assert_eq!(value["surveillance_1"]["due_by"], "2028-09-01");
    assert_eq!(value["stage1_validity_note"]["rule"], "A8");
    let settings: ProgrammeSettings =
        serde_json::from_value(serde_json::json!({ "max_gap_months": 12 }))?;
    assert_eq!(settings, cn());
    Ok(())
}

proptest! {
    #[test]
    fn a8_c3_programme_keeps_the_spacing_rules(
        start in 0i32..40_000,
        stage_gap in proptest::option::of(0u64..800),
        gap in 12u32..=24,
        lead in 0u32..=11,
        validity in 0u32..40,
    ) {
        let Some(stage_1) = day(1990, 1, 1).checked_add_days(chrono::Days::new(start as u64)) else {
            return Ok(());
        };
        let stage_2 = stage_gap.and_then(|g| stage_1.checked_add_days(chrono::Days::new(g)));
        let settings = ProgrammeSettings {
            max_gap_months: gap,
            stage1_validity_months: validity,
            recertification_lead_months: lead,
            ..ProgrammeSettings::default()
        };
        let result = plan(stage_1, stage_2, &settings);
        prop_assert!(result.is_ok(), "{:?}", result);
        let Ok(explained) = result else { return Ok(()) };
        let p = explained.value;
        let months = |d: NaiveDate, m: u32| d.checked_add_months(Months::new(m)).unwrap_or(NaiveDate::MAX);
        prop_assert!(p.stage_2 >= p.stage_1);
        prop_assert_eq!(p.expected_decision, p.stage_2);
        // C3: first surveillance within 12 months of the decision.
        prop_assert!(p.surveillance_1.planned <= months(p.expected_decision, 12));
        // C3: at most `gap` months apart, once per calendar year.
        prop_assert!(p.surveillance_2.planned <= months(p.surveillance_1.planned, gap));
        prop_assert_eq!(p.surveillance_2.planned.year(), p.surveillance_1.planned.year() + 1);
        prop_assert!(p.recertification.planned <= months(p.surveillance_2.planned, gap));
        // A8: recertification after surveillance 2 and before expiry.
        prop_assert!(p.recertification.planned > p.surveillance_2.planned);
        prop_assert!(p.recertification.planned <= p.expiry);
        for audit in [p.surveillance_1, p.surveillance_2, p.recertification] {
            prop_assert!(audit.planned <= audit.due_by);
        }
        prop_assert!(p.recertification.due_by <= p.expiry);
        // C2: the certificate ends by its third anniversary.
        prop_assert!(p.expiry <= months(p.expected_decision, 36));
        prop_assert_eq!(
            p.stage1_validity_note.is_some(),
            p.stage_2 > months(p.stage_1, validity)
        );
    }
}
