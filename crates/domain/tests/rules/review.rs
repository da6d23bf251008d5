//! Application review rules A1–A7 through the public API: `review::Settings::from_json`,
//! `review::ReviewInputs::from_json`, `review::effective_personnel`, `review::audit_times`,
//! `review::site_times`.

use crate::common::valid_application;
use certflow_domain::intake::application::{Application, StandardCode};
use certflow_domain::review::{
    AuditDays, Complexity, FactorGrades, Grade, GroupDecision, Hours, ReviewInputs, Scheme,
    Settings, SiteTimeRequest, audit_times, ceil_sqrt, complexity_adjustment, effective_personnel,
    site_times,
};
use certflow_domain::{ErrorCode, FieldError};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ISMS: &[StandardCode] = &[StandardCode::Iso27001];

/// Days from a decimal written as tenths (`85` = 8.5): keeps test tables readable.
fn days(tenths: u32) -> AuditDays {
    AuditDays::from_half_days(tenths / 5)
}

fn settings(doc: Value) -> Result<Settings, String> {
    Settings::from_json(&doc).map_err(|e| format!("{e:#?}"))
}

fn application(changes: &[(&str, Value)]) -> Result<Application, serde_json::Error> {
    let mut doc = valid_application();
    for (pointer, value) in changes {
        crate::common::set(&mut doc, pointer, value.clone());
    }
    serde_json::from_value(doc)
}

fn site(name: &str, central: bool, personnel: Value) -> Value {
    json!({
        "name": name, "central": central,
        "address": { "street": "1 Road", "city": "Shenzhen", "country": "CN" },
        "activities": "Operations", "personnel": personnel, "shifts": 2
    })
}

fn decision(group: usize, counted_as: u32) -> GroupDecision {
    GroupDecision {
        group,
        counted_as,
        reason: None,
    }
}

/// `(field, code, rule)` of every error.
fn summary(errors: &[FieldError]) -> Vec<(String, ErrorCode, &'static str)> {
    errors
        .iter()
        .map(|e| (e.field.clone(), e.code, e.rule))
        .collect()
}

fn initial_isms(personnel: u32, settings: &Settings) -> Result<AuditDays, String> {
    audit_times(personnel, ISMS, &FactorGrades::default(), 0, settings)
        .map(|t| t.value.combined.initial.days)
        .map_err(|e| format!("{e:#?}"))
}

fn grades(g: [u8; 6]) -> Result<FactorGrades, String> {
    let grade = |i: usize| Grade::new(g[i]).ok_or(format!("bad grade {}", g[i]));
    Ok(FactorGrades {
        business_type: grade(0)?,
        processes: grade(1)?,
        maturity: grade(2)?,
        it_infrastructure: grade(3)?,
        outsourcing: grade(4)?,
        development: grade(5)?,
    })
}

// ---------------------------------------------------------------- A1

#[test]
fn a1_design_example_part_time_converted_by_weekly_hours() -> TestResult {
    // 120 full-time + 10 x 20 h / 40 h + 5 temporary + 3 contractors = 133.
    let app = application(&[])?;
    let result =
        effective_personnel(&app, &[], &Settings::default()).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.total, 133);
    assert_eq!(result.value.sites.len(), 1);
    assert_eq!(result.value.sites[0].effective, 133);
    assert!(result.steps.iter().all(|s| s.rule == "A1"));
    assert!(
        result
            .steps
            .iter()
            .any(|s| s.input.contains("part-time 10 x 20 h/week = 5.00 FTE"))
    );
    Ok(())
}

#[test]
fn a1_part_time_conversions() -> TestResult {
    // (full time, [(count, weekly hours)], full-time week, effective personnel)
    type Case = (u32, &'static [(u32, f64)], f64, u32);
    let cases: &[Case] = &[
        (0, &[(1, 40.0)], 40.0, 1),
        (0, &[(1, 20.0)], 40.0, 1), // 0.5 rounds up to a whole person
        (1, &[(3, 10.0)], 40.0, 2), // 1.75 -> 2
        (0, &[(4, 10.0)], 40.0, 1), // exactly 1: no spurious rounding
        (0, &[(3, 12.5), (1, 2.5)], 40.0, 1),
        (0, &[(3, 12.5)], 37.5, 1),  // a 37.5 h week
        (0, &[(10, 0.1)], 40.0, 1),  // 0.025 FTE still counts one person
        (2, &[(3, 13.33)], 40.0, 3), // 2.99975 -> 3
        (0, &[(1, 41.0)], 40.0, 2),  // more than full time counts its hours
        (5, &[], 40.0, 5),
    ];
    for &(full_time, lines, week, expected) in cases {
        let part_time: Vec<Value> = lines
            .iter()
            .map(|&(count, hours)| json!({ "count": count, "weekly_hours": hours }))
            .collect();
        let app = application(&[(
            "/sites/0/personnel",
            json!({ "full_time": full_time, "part_time": part_time, "temporary": 0, "contractors": 0 }),
        )])?;
        let s = Settings {
            full_time_hours: Hours::from_number(week).ok_or("week")?,
            ..Settings::default()
        };
        let result = effective_personnel(&app, &[], &s).map_err(|e| format!("{e:#?}"))?;
        assert_eq!(
            result.value.total, expected,
            "{full_time} full-time, {lines:?} at {week} h"
        );
    }
    Ok(())
}

#[test]
fn a1_total_is_the_exact_sum_rounded_once() -> TestResult {
    // Each site is 1.5 FTE (2 people rounded up); together 3.0, not 4.
    let personnel = json!({ "full_time": 1, "part_time": [ { "count": 1, "weekly_hours": 20 } ],
                            "temporary": 0, "contractors": 0 });
    let app = application(&[(
        "/sites",
        json!([
            site("A", true, personnel.clone()),
            site("B", false, personnel)
        ]),
    )])?;
    let result =
        effective_personnel(&app, &[], &Settings::default()).map_err(|e| format!("{e:#?}"))?;
    let sites: Vec<u32> = result.value.sites.iter().map(|s| s.effective).collect();
    assert_eq!(sites, [2, 2]);
    assert_eq!(result.value.total, 3);
    Ok(())
}

#[test]
fn a1_temporary_and_contractors_count_in_full_across_shifts() -> TestResult {
    let app = application(&[(
        "/sites",
        json!([site(
            "Plant",
            true,
            json!({ "full_time": 10, "temporary": 4, "contractors": 6 })
        )]),
    )])?;
    let result =
        effective_personnel(&app, &[], &Settings::default()).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.total, 20);
    // Two shifts, and the steps say the figures already cover them.
    assert!(
        result
            .steps
            .iter()
            .any(|s| s.input.contains("2 shift(s)")
                && s.effect.contains("already count every shift"))
    );
    Ok(())
}

#[test]
fn a1_repetitive_group_floor_is_ceil_sqrt() -> TestResult {
    // (group size, fewest people it may count as)
    let cases = [
        (1, 1),
        (2, 2),
        (3, 2),
        (4, 2),
        (5, 3),
        (63, 8),
        (64, 8),
        (65, 9),
        (99, 10),
        (100, 10),
        (101, 11),
        (10_000, 100),
        (10_001, 101),
        (u32::MAX, 65_536),
    ];
    for (count, least) in cases {
        assert_eq!(ceil_sqrt(count), least, "ceil(sqrt({count}))");
    }
    for (count, least) in [(64u32, 8u32), (65, 9), (100, 10), (101, 11), (2, 2)] {
        let app = application(&[
            ("/sites/0/personnel/full_time", json!(200)),
            (
                "/repetitive_groups",
                json!([{ "description": "Agents", "site": 0, "count": count }]),
            ),
        ])?;
        let s = Settings::default();
        // Exactly the floor is allowed and removes count - floor people.
        let at_floor =
            effective_personnel(&app, &[decision(0, least)], &s).map_err(|e| format!("{e:#?}"))?;
        assert_eq!(
            at_floor.value.total,
            133 + 80 - (count - least),
            "count {count}"
        );
        // One below the floor is refused with rule A1.
        let below = effective_personnel(&app, &[decision(0, least - 1)], &s);
        let Err(errors) = below else {
            return Err(format!("counted_as {} for {count} accepted", least - 1).into());
        };
        assert_eq!(
            summary(&errors),
            [(
                "/repetitive_groups/0/counted_as".to_owned(),
                ErrorCode::ExceedsLimit,
                "A1"
            )]
        );
        // Counting the group in full is no reduction.
        let full =
            effective_personnel(&app, &[decision(0, count)], &s).map_err(|e| format!("{e:#?}"))?;
        assert_eq!(full.value.total, 213);
    }
    Ok(())
}

#[test]
fn a1_group_decisions_report_every_error_at_once() -> TestResult {
    let app = application(&[(
        "/repetitive_groups",
        json!([{ "description": "Agents", "site": 0, "count": 64 },
               { "description": "Packers", "site": 0, "count": 20 },
               { "description": "Drivers", "site": 0, "count": 10 }]),
    )])?;
    let decisions = [
        decision(5, 3),  // no such group
        decision(0, 8),  // fine
        decision(0, 10), // decided twice
        decision(2, 11), // more than the group
        decision(1, 4),  // below ceil(sqrt(20)) = 5
    ];
    let Err(errors) = effective_personnel(&app, &decisions, &Settings::default()) else {
        return Err("accepted".into());
    };
    assert_eq!(
        summary(&errors),
        [
            (
                "/repetitive_groups/0/group".to_owned(),
                ErrorCode::InvalidReference,
                "A1"
            ),
            (
                "/repetitive_groups/2/group".to_owned(),
                ErrorCode::Duplicate,
                "A1"
            ),
            (
                "/repetitive_groups/3/counted_as".to_owned(),
                ErrorCode::OutOfRange,
                "A1"
            ),
            (
                "/repetitive_groups/4/counted_as".to_owned(),
                ErrorCode::ExceedsLimit,
                "A1"
            ),
        ]
    );
    Ok(())
}

#[test]
fn a1_without_decisions_nothing_is_reduced_but_the_maximum_is_shown() -> TestResult {
    let app = application(&[(
        "/repetitive_groups",
        json!([{ "description": "Call-centre agents", "site": 0, "count": 64 }]),
    )])?;
    let result =
        effective_personnel(&app, &[], &Settings::default()).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.total, 133);
    assert!(result.steps.iter().any(|s| s.rule == "A1"
        && s.input.contains("Call-centre agents")
        && s.effect.contains("as 8 = ceil(sqrt(64)), -56 people")));
    Ok(())
}

#[test]
fn a1_group_reduction_is_recorded_with_its_reason() -> TestResult {
    let app = application(&[(
        "/repetitive_groups",
        json!([{ "description": "Call-centre agents", "site": 0, "count": 64 }]),
    )])?;
    let decisions = [GroupDecision {
        group: 0,
        counted_as: 8,
        reason: Some("scripted calls, supervised".into()),
    }];
    let result = effective_personnel(&app, &decisions, &Settings::default())
        .map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.total, 133 - 56);
    assert_eq!(result.value.sites[0].effective, 77);
    assert!(
        result
            .steps
            .iter()
            .any(|s| s.input.contains("reason: scripted calls, supervised")
                && s.effect.starts_with("-56 people"))
    );
    Ok(())
}

// ---------------------------------------------------------------- A2

#[test]
fn a2_band_boundaries() -> TestResult {
    // (effective personnel, auditor-days in tenths): both sides of every boundary of RULES A2,
    // then the default progression (+1 day per 2200 people started above 10 700).
    let cases: &[(u32, u32)] = &[
        (0, 50),
        (1, 50),
        (10, 50),
        (11, 60),
        (15, 60),
        (16, 70),
        (25, 70),
        (26, 85),
        (45, 85),
        (46, 100),
        (65, 100),
        (66, 110),
        (85, 110),
        (86, 120),
        (125, 120),
        (126, 130),
        (175, 130),
        (176, 140),
        (275, 140),
        (276, 150),
        (425, 150),
        (426, 165),
        (625, 165),
        (626, 175),
        (875, 175),
        (876, 185),
        (1175, 185),
        (1176, 195),
        (1550, 195),
        (1551, 210),
        (2025, 210),
        (2026, 220),
        (2675, 220),
        (2676, 230),
        (3450, 230),
        (3451, 240),
        (4350, 240),
        (4351, 250),
        (5450, 250),
        (5451, 260),
        (6800, 260),
        (6801, 270),
        (8500, 270),
        (8501, 280),
        (10700, 280),
        (10701, 290),
        (12900, 290),
        (12901, 300),
        (15100, 300),
        (15101, 310),
        (1_000_000, 4780), // 28 + ceil(989 300 / 2200) = 28 + 450
    ];
    let s = Settings::default();
    for &(personnel, tenths) in cases {
        assert_eq!(
            initial_isms(personnel, &s)?,
            days(tenths),
            "{personnel} people"
        );
    }
    // Far above: no overflow, still growing.
    assert!(initial_isms(u32::MAX, &s)? > initial_isms(1_000_000, &s)?);
    Ok(())
}

#[test]
fn a2_table_step_names_the_band() -> TestResult {
    let result = audit_times(133, ISMS, &FactorGrades::default(), 0, &Settings::default())
        .map_err(|e| format!("{e:#?}"))?;
    assert!(result.steps.iter().any(|s| s.rule == "A2"
        && s.input == "ISMS table, effective personnel 133"
        && s.effect == "13 auditor-days (band 126-175)"));
    Ok(())
}

#[test]
fn a2_progression_above_the_table_is_configurable() -> TestResult {
    let s = settings(json!({
        "isms_time_table": { "progression": { "personnel_per_step": 1000, "days_per_step": 0.5 } }
    }))?;
    assert_eq!(initial_isms(10_700, &s)?, days(280));
    assert_eq!(initial_isms(10_701, &s)?, days(285));
    assert_eq!(initial_isms(11_700, &s)?, days(285));
    assert_eq!(initial_isms(11_701, &s)?, days(290));
    Ok(())
}

// ---------------------------------------------------------------- A3

#[test]
fn a3_all_grades_two_is_no_adjustment() {
    let adjustment = complexity_adjustment(&FactorGrades::default(), &Settings::default());
    assert_eq!(adjustment.value.percent, 0);
    assert_eq!(adjustment.value.business, Complexity::Medium);
    assert_eq!(adjustment.value.it, Complexity::Medium);
}

#[test]
fn a3_grade_sums_pick_the_complexity_pair() -> TestResult {
    use Complexity::{High, Low, Medium};
    // (grades, business, IT, default percent)
    let cases = [
        ([1, 1, 1, 1, 1, 1], Low, Low, -20),
        ([1, 1, 2, 1, 1, 2], Low, Low, -20),
        ([1, 2, 2, 2, 2, 2], Medium, Medium, 0),
        ([1, 1, 1, 2, 2, 2], Low, Medium, -5),
        ([2, 2, 2, 1, 1, 1], Medium, Low, -5),
        ([1, 1, 1, 3, 3, 3], Low, High, 0),
        ([2, 2, 2, 3, 2, 2], Medium, High, 30),
        ([3, 3, 1, 1, 1, 1], High, Low, 15),
        ([3, 2, 2, 2, 2, 2], High, Medium, 30),
        ([3, 3, 3, 3, 3, 3], High, High, 60),
    ];
    for (g, business, it, percent) in cases {
        let adjustment = complexity_adjustment(&grades(g)?, &Settings::default());
        assert_eq!(
            (
                adjustment.value.business,
                adjustment.value.it,
                adjustment.value.percent
            ),
            (business, it, percent),
            "{g:?}"
        );
    }
    Ok(())
}

#[test]
fn a3_every_factor_and_its_effect_is_in_the_steps() -> TestResult {
    let result = audit_times(
        133,
        ISMS,
        &grades([3, 3, 2, 1, 1, 1])?,
        0,
        &Settings::default(),
    )
    .map_err(|e| format!("{e:#?}"))?;
    let a3: Vec<_> = result.steps.iter().filter(|s| s.rule == "A3").collect();
    for label in [
        "type of business and regulatory requirements: grade 3",
        "processes and tasks: grade 3",
        "management-system maturity: grade 2",
        "infrastructure complexity: grade 1",
        "outsourcing and cloud services: grade 1",
        "in-house development: grade 1",
    ] {
        assert!(a3.iter().any(|s| s.input.contains(label)), "{label}");
    }
    // Business 8 (high), IT 3 (low): +15%; 13 x 1.15 = 14.95 -> 15 days = 120 hours.
    assert!(a3.iter().any(|s| {
        s.effect
            .contains("business complexity high (7-9), IT complexity low (3-4): +15%")
    }));
    assert!(a3.iter().any(
        |s| s.effect.starts_with("13 x 1.15 = 14.95 -> 15 auditor-days")
            && s.effect.contains("120 auditor-hours at 8 h a day")
    ));
    assert_eq!(result.value.combined.initial.days, days(150));
    Ok(())
}

#[test]
fn a3_reduction_capped_at_max_reduction_percent() -> TestResult {
    let low = grades([1, 1, 1, 1, 1, 1])?;
    // A CB table asking for -45% on low/low is held to the 30% cap.
    let s = settings(json!({ "complexity_percent": { "business_low": { "it_low": -45 } } }))?;
    let result = audit_times(133, ISMS, &low, 0, &s).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.adjustment.percent, -30);
    // 13 x 0.7 = 9.1; the nearest half day, 9, would cut 30.8%: 9.5.
    assert_eq!(result.value.combined.initial.days, days(95));
    assert!(
        result
            .steps
            .iter()
            .any(|s| s.effect == "-30%: the total reduction is capped at 30%")
    );
    // The cap is a setting.
    let s20 = settings(json!({ "max_reduction_percent": 20,
        "complexity_percent": { "business_low": { "it_low": -45 } } }))?;
    let result = audit_times(133, ISMS, &low, 0, &s20).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.adjustment.percent, -20);
    assert_eq!(result.value.combined.initial.days, days(105)); // 10.4 -> 10.5
    Ok(())
}

#[test]
fn a3_nearest_half_day_never_beyond_the_cap() -> TestResult {
    // 11.5 days at -30% is 8.05, nearest 8.0, which would cut 30.4%: raised to 8.5.
    let s = settings(json!({
        "isms_time_table": { "bands": [ { "from": 1, "to": 10, "days": 11.5 } ] },
        "complexity_percent": { "business_low": { "it_low": -30 } }
    }))?;
    let result =
        audit_times(5, ISMS, &grades([1, 1, 1, 1, 1, 1])?, 0, &s).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.combined.initial.days, days(85));
    assert!(result.steps.iter().any(|s| {
        s.effect
            .contains("(raised: the reduction may not exceed the cap)")
    }));
    // Nearest half day otherwise (IAF MD5 2.2.3): 13 x 1.15 = 14.95 -> 15; 13 x 0.95 = 12.35 -> 12.5;
    // 13 x 0.8 = 10.4 -> 10.5.
    for (g, tenths) in [
        ([3, 3, 3, 1, 1, 1], 150),
        ([1, 1, 1, 2, 2, 2], 125),
        ([1, 1, 1, 1, 1, 1], 105),
    ] {
        let result = audit_times(133, ISMS, &grades(g)?, 0, &Settings::default())
            .map_err(|e| format!("{e:#?}"))?;
        assert_eq!(result.value.combined.initial.days, days(tenths), "{g:?}");
    }
    Ok(())
}

#[test]
fn a3_on_site_share_at_least_min_onsite_percent() -> TestResult {
    // 26 people: 8.5 days; 80% = 6.8 -> 7 on site; surveillance 3 -> 2.4 -> 2.5; recert 6 -> 4.8 -> 5.
    let result = audit_times(26, ISMS, &FactorGrades::default(), 0, &Settings::default())
        .map_err(|e| format!("{e:#?}"))?;
    let times = result.value.combined;
    assert_eq!(
        (times.initial.days, times.initial.min_onsite),
        (days(85), days(70))
    );
    assert_eq!(
        (times.surveillance.days, times.surveillance.min_onsite),
        (days(30), days(25))
    );
    assert_eq!(
        (times.recertification.days, times.recertification.min_onsite),
        (days(60), days(50))
    );
    let s = settings(json!({ "min_onsite_percent": 100 }))?;
    let result =
        audit_times(26, ISMS, &FactorGrades::default(), 0, &s).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.combined.initial.min_onsite, days(85));
    Ok(())
}

// ---------------------------------------------------------------- A4

#[test]
fn a4_surveillance_and_recertification_round_up_to_half_day() -> TestResult {
    // (initial, surveillance = 1/3 rounded up to 0.5, recertification = 2/3 rounded up), tenths.
    let cases = [
        (50, 20, 35),   // 1.67 -> 2, 3.33 -> 3.5
        (60, 20, 40),   // exact thirds
        (70, 25, 50),   // 2.33 -> 2.5, 4.67 -> 5
        (85, 30, 60),   // 2.83 -> 3, 5.67 -> 6
        (100, 35, 70),  // 3.33 -> 3.5, 6.67 -> 7
        (165, 55, 110), // exact
        (175, 60, 120), // 5.83 -> 6, 11.67 -> 12
        (5, 5, 5),      // 0.5: 0.17 -> 0.5, 0.33 -> 0.5
    ];
    for (initial, surveillance, recertification) in cases {
        let s = settings(json!({
            "isms_time_table": { "bands": [ { "from": 1, "to": 10, "days": f64::from(initial) / 10.0 } ] }
        }))?;
        let result =
            audit_times(1, ISMS, &FactorGrades::default(), 0, &s).map_err(|e| format!("{e:#?}"))?;
        let times = result.value.combined;
        assert_eq!(times.initial.days, days(initial));
        assert_eq!(
            times.surveillance.days,
            days(surveillance),
            "initial {initial}"
        );
        assert_eq!(
            times.recertification.days,
            days(recertification),
            "initial {initial}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- A5

#[test]
fn a5_bcms_and_pims_default_to_the_isms_bands() -> TestResult {
    let standards = [
        StandardCode::Iso27001,
        StandardCode::Iso27701,
        StandardCode::Iso22301,
    ];
    let result = audit_times(
        133,
        &standards,
        &FactorGrades::default(),
        0,
        &Settings::default(),
    )
    .map_err(|e| format!("{e:#?}"))?;
    let schemes: Vec<(Scheme, AuditDays)> = result
        .value
        .schemes
        .iter()
        .map(|s| (s.scheme, s.table_days))
        .collect();
    assert_eq!(
        schemes,
        [
            (Scheme::Isms, days(130)),
            (Scheme::Pims, days(130)),
            (Scheme::Bcms, days(130))
        ]
    );
    assert!(
        result
            .steps
            .iter()
            .any(|s| s.rule == "A5" && s.input == "PIMS table, effective personnel 133")
    );
    Ok(())
}

#[test]
fn a5_replaced_tables_are_used() -> TestResult {
    let s = settings(json!({
        "bcms_time_table": { "bands": [ { "from": 1, "to": 50, "days": 3 }, { "from": 51, "to": 500, "days": 6.5 } ],
                             "progression": { "personnel_per_step": 500, "days_per_step": 1 } },
        "pims_time_table": { "bands": [ { "from": 1, "to": 1000, "days": 2 } ] }
    }))?;
    let bcms = audit_times(
        133,
        &[StandardCode::GbT30146],
        &FactorGrades::default(),
        0,
        &s,
    )
    .map_err(|e| format!("{e:#?}"))?;
    assert_eq!(bcms.value.combined.initial.days, days(65));
    let bcms = audit_times(
        1001,
        &[StandardCode::Iso22301],
        &FactorGrades::default(),
        0,
        &s,
    )
    .map_err(|e| format!("{e:#?}"))?;
    assert_eq!(bcms.value.combined.initial.days, days(85)); // 6.5 + 2 steps of 500
    let pims = audit_times(
        133,
        &[StandardCode::Iso27701],
        &FactorGrades::default(),
        0,
        &s,
    )
    .map_err(|e| format!("{e:#?}"))?;
    assert_eq!(pims.value.combined.initial.days, days(20));
    // The ISMS table is untouched.
    assert_eq!(initial_isms(133, &s)?, days(130));
    Ok(())
}

#[test]
fn a5_gbt_30146_and_iso_22301_are_one_bcms_scheme() -> TestResult {
    let result = audit_times(
        133,
        &[StandardCode::Iso22301, StandardCode::GbT30146],
        &FactorGrades::default(),
        0,
        &Settings::default(),
    )
    .map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.schemes.len(), 1);
    assert_eq!(
        result.value.schemes[0].standards,
        [StandardCode::Iso22301, StandardCode::GbT30146]
    );
    assert_eq!(result.value.combined.initial.days, days(130));
    Ok(())
}

// ---------------------------------------------------------------- A6

#[test]
fn a6_site_time_cut_at_most_fifty_percent() -> TestResult {
    let request = |site, tenths, reduction_percent| SiteTimeRequest {
        site,
        single_site: days(tenths),
        reduction_percent,
    };
    let result = site_times(
        Scheme::Bcms,
        &[request(0, 130, 0), request(1, 85, 50), request(2, 70, 30)],
        days(150),
    )
    .map_err(|e| format!("{e:#?}"))?;
    let planned: Vec<AuditDays> = result.value.sites.iter().map(|s| s.days).collect();
    // 8.5 / 2 = 4.25 -> 4.5; 7 x 0.7 = 4.9 -> 5.
    assert_eq!(planned, [days(130), days(45), days(50)]);
    assert_eq!(result.value.total, days(225));
    let Err(errors) = site_times(
        Scheme::Isms,
        &[request(0, 130, 0), request(1, 85, 51), request(1, 50, 0)],
        days(150),
    ) else {
        return Err("a 51% cut was accepted".into());
    };
    assert_eq!(
        summary(&errors),
        [
            (
                "/sites/1/reduction_percent".to_owned(),
                ErrorCode::ExceedsLimit,
                "A6"
            ),
            ("/sites/2/site".to_owned(), ErrorCode::Duplicate, "A6"),
        ]
    );
    Ok(())
}

#[test]
fn a6_isms_total_never_below_the_single_site_time() -> TestResult {
    let sites = [
        SiteTimeRequest {
            site: 0,
            single_site: days(100),
            reduction_percent: 40,
        },
        SiteTimeRequest {
            site: 1,
            single_site: days(50),
            reduction_percent: 50,
        },
    ];
    // 6 + 2.5 = 8.5 < 13 for the whole organisation as one site: ISMS raises it.
    let isms = site_times(Scheme::Isms, &sites, days(130)).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(
        (isms.value.sum, isms.value.added_for_floor, isms.value.total),
        (days(85), days(45), days(130))
    );
    assert!(
        isms.steps
            .iter()
            .any(|s| s.rule == "A6" && s.effect.starts_with("total raised by 4.5 to 13"))
    );
    // Not an ISMS rule: BCMS keeps the sum.
    let bcms = site_times(Scheme::Bcms, &sites, days(130)).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(
        (bcms.value.added_for_floor, bcms.value.total),
        (AuditDays::ZERO, days(85))
    );
    Ok(())
}

// ---------------------------------------------------------------- A7

#[test]
fn a7_integrated_time_summed_then_reduced() -> TestResult {
    let standards = [StandardCode::Iso27001, StandardCode::Iso27701];
    // 13 + 13 = 26; -20% = 20.8 -> 21. Surveillance 4.5 + 4.5 = 9 -> 7.2 -> 7.5.
    let result = audit_times(
        133,
        &standards,
        &FactorGrades::default(),
        20,
        &Settings::default(),
    )
    .map_err(|e| format!("{e:#?}"))?;
    let combined = result.value.combined;
    assert_eq!(combined.initial.days, days(210));
    assert_eq!(combined.surveillance.days, days(75));
    // Recertification 9 + 9 = 18 -> 14.4 -> 14.5.
    assert_eq!(combined.recertification.days, days(145));
    Ok(())
}

#[test]
fn a7_no_reduction_by_default_and_the_sum_is_kept() -> TestResult {
    let standards = [
        StandardCode::Iso27001,
        StandardCode::Iso27701,
        StandardCode::Iso22301,
    ];
    let result = audit_times(
        133,
        &standards,
        &FactorGrades::default(),
        0,
        &Settings::default(),
    )
    .map_err(|e| format!("{e:#?}"))?;
    assert_eq!(result.value.combined.initial.days, days(390));
    assert!(
        result
            .steps
            .iter()
            .any(|s| s.rule == "A7" && s.input.starts_with("ISMS + PIMS + BCMS summed"))
    );
    Ok(())
}

#[test]
fn a7_integration_reduction_above_the_cap_is_refused() -> TestResult {
    let standards = [StandardCode::Iso27001, StandardCode::Iso22301];
    let Err(errors) = audit_times(
        133,
        &standards,
        &FactorGrades::default(),
        21,
        &Settings::default(),
    ) else {
        return Err("21% accepted".into());
    };
    assert_eq!(
        summary(&errors),
        [(
            "/integration_reduction_percent".to_owned(),
            ErrorCode::ExceedsLimit,
            "A7"
        )]
    );
    // The cap is a setting.
    let s = settings(json!({ "max_integration_reduction_percent": 10 }))?;
    assert!(audit_times(133, &standards, &FactorGrades::default(), 11, &s).is_err());
    assert!(audit_times(133, &standards, &FactorGrades::default(), 10, &s).is_ok());
    // One scheme has nothing to integrate.
    let Err(errors) = audit_times(133, ISMS, &FactorGrades::default(), 5, &Settings::default())
    else {
        return Err("integration of one scheme accepted".into());
    };
    assert_eq!(errors[0].rule, "A7");
    Ok(())
}

#[test]
fn a2_no_standard_is_an_error() {
    let result = audit_times(133, &[], &FactorGrades::default(), 0, &Settings::default());
    assert!(
        matches!(result, Err(errors) if errors[0].field == "/standards" && errors[0].code == ErrorCode::Required)
    );
}

// ---------------------------------------------------------------- settings (A1-A7, M5)

#[test]
fn a1_a7_settings_empty_document_gives_the_defaults() -> TestResult {
    let s = settings(json!({}))?;
    assert_eq!(s, Settings::default());
    assert_eq!(s.full_time_hours.centi(), 4000);
    assert_eq!(s.isms_time_table.bands.len(), 22);
    assert_eq!(s.bcms_time_table, s.isms_time_table);
    assert_eq!(s.pims_time_table, s.isms_time_table);
    assert_eq!(
        (
            s.max_reduction_percent,
            s.min_onsite_percent,
            s.remote_share_flag_percent,
            s.max_integration_reduction_percent
        ),
        (30, 80, 30, 20)
    );
    // Nulls keep the default too.
    assert_eq!(
        settings(json!({ "max_reduction_percent": null }))?,
        Settings::default()
    );
    Ok(())
}

#[test]
fn a1_a7_settings_round_trip() -> TestResult {
    let mut s = settings(json!({
        "full_time_hours": 37.5,
        "bcms_time_table": { "bands": [ { "from": 1, "to": 20, "days": 2.5 }, { "from": 21, "to": 30, "days": 3 } ] },
        "complexity_percent": { "business_high": { "it_high": 100 } },
        "max_reduction_percent": 25,
        "jurisdiction": "cn"
    }))?;
    let text = serde_json::to_string(&s)?;
    assert!(text.contains("\"full_time_hours\":37.5") && text.contains("\"days\":2.5"));
    let value: Value = serde_json::from_str(&text)?;
    assert_eq!(settings(value.clone())?, s);
    // serde's own Deserialize reads it back too.
    assert_eq!(serde_json::from_value::<Settings>(value)?, s);
    s = Settings::default();
    assert_eq!(settings(serde_json::to_value(&s)?)?, s);
    Ok(())
}

#[test]
fn a1_a7_settings_partial_documents_keep_the_other_defaults() -> TestResult {
    let s = settings(json!({
        "isms_time_table": { "progression": { "days_per_step": 2 } },
        "complexity_percent": { "business_low": { "it_low": -25 } }
    }))?;
    let d = Settings::default();
    assert_eq!(s.isms_time_table.bands, d.isms_time_table.bands);
    assert_eq!(s.isms_time_table.progression.personnel_per_step, 2200);
    assert_eq!(s.isms_time_table.progression.days_per_step, days(20));
    assert_eq!(s.complexity_percent.business_low.it_low, -25);
    assert_eq!(s.complexity_percent.business_low.it_medium, -5);
    assert_eq!(
        s.complexity_percent.business_high,
        d.complexity_percent.business_high
    );
    Ok(())
}

#[test]
fn a1_a7_settings_each_bad_document_gives_its_error() {
    let band = |from: u32, to: u32, days: f64| json!({ "from": from, "to": to, "days": days });
    let table = |bands: Vec<Value>| json!({ "isms_time_table": { "bands": bands } });
    let cases: Vec<(Value, &str, ErrorCode, &str)> = vec![
        (json!([]), "", ErrorCode::InvalidType, "A2"),
        (
            json!({ "max_reducton_percent": 20 }),
            "/max_reducton_percent",
            ErrorCode::UnknownField,
            "A3",
        ),
        (
            json!({ "colour": 1 }),
            "/colour",
            ErrorCode::UnknownField,
            "A2",
        ),
        (
            json!({ "isms_time_table": { "extra": 1 } }),
            "/isms_time_table/extra",
            ErrorCode::UnknownField,
            "A2",
        ),
        (
            json!({ "full_time_hours": "40" }),
            "/full_time_hours",
            ErrorCode::InvalidType,
            "A1",
        ),
        (
            json!({ "full_time_hours": 0 }),
            "/full_time_hours",
            ErrorCode::OutOfRange,
            "A1",
        ),
        (
            json!({ "full_time_hours": 169 }),
            "/full_time_hours",
            ErrorCode::OutOfRange,
            "A1",
        ),
        (
            json!({ "full_time_hours": 37.555 }),
            "/full_time_hours",
            ErrorCode::InvalidValue,
            "A1",
        ),
        (
            json!({ "max_reduction_percent": 100 }),
            "/max_reduction_percent",
            ErrorCode::OutOfRange,
            "A3",
        ),
        (
            json!({ "max_reduction_percent": -1 }),
            "/max_reduction_percent",
            ErrorCode::OutOfRange,
            "A3",
        ),
        (
            json!({ "max_reduction_percent": 2.5 }),
            "/max_reduction_percent",
            ErrorCode::InvalidType,
            "A3",
        ),
        (
            json!({ "min_onsite_percent": 101 }),
            "/min_onsite_percent",
            ErrorCode::OutOfRange,
            "A3",
        ),
        (
            json!({ "remote_share_flag_percent": true }),
            "/remote_share_flag_percent",
            ErrorCode::InvalidType,
            "M5",
        ),
        (
            json!({ "max_integration_reduction_percent": 100 }),
            "/max_integration_reduction_percent",
            ErrorCode::OutOfRange,
            "A7",
        ),
        (
            json!({ "jurisdiction": "eu" }),
            "/jurisdiction",
            ErrorCode::InvalidValue,
            "C3",
        ),
        (
            json!({ "complexity_percent": { "business_low": { "it_low": -101 } } }),
            "/complexity_percent/business_low/it_low",
            ErrorCode::OutOfRange,
            "A3",
        ),
        (
            json!({ "complexity_percent": { "business_lo": {} } }),
            "/complexity_percent/business_lo",
            ErrorCode::UnknownField,
            "A3",
        ),
        (
            json!({ "bcms_time_table": { "bands": [] } }),
            "/bcms_time_table/bands",
            ErrorCode::Required,
            "A5",
        ),
        (
            json!({ "pims_time_table": "isms" }),
            "/pims_time_table",
            ErrorCode::InvalidType,
            "A5",
        ),
        (
            table(vec![band(2, 10, 5.0)]),
            "/isms_time_table/bands/0/from",
            ErrorCode::InvalidTable,
            "A2",
        ),
        (
            table(vec![band(1, 10, 5.0), band(12, 20, 6.0)]),
            "/isms_time_table/bands/1/from",
            ErrorCode::InvalidTable,
            "A2",
        ),
        (
            table(vec![band(1, 10, 5.0), band(10, 20, 6.0)]),
            "/isms_time_table/bands/1/from",
            ErrorCode::InvalidTable,
            "A2",
        ),
        (
            table(vec![band(1, 10, 5.0), band(11, 10, 6.0)]),
            "/isms_time_table/bands/1/to",
            ErrorCode::InvalidTable,
            "A2",
        ),
        (
            table(vec![band(1, 10, 5.0), band(11, 20, 4.5)]),
            "/isms_time_table/bands/1/days",
            ErrorCode::InvalidTable,
            "A2",
        ),
        (
            table(vec![band(1, 10, 0.0)]),
            "/isms_time_table/bands/0/days",
            ErrorCode::OutOfRange,
            "A2",
        ),
        (
            table(vec![band(1, 10, -1.0)]),
            "/isms_time_table/bands/0/days",
            ErrorCode::OutOfRange,
            "A2",
        ),
        (
            table(vec![band(1, 10, 5.3)]),
            "/isms_time_table/bands/0/days",
            ErrorCode::InvalidValue,
            "A2",
        ),
        (
            table(vec![band(0, 10, 5.0)]),
            "/isms_time_table/bands/0/from",
            ErrorCode::OutOfRange,
            "A2",
        ),
        (
            table(vec![json!({ "from": 1, "days": 5 })]),
            "/isms_time_table/bands/0/to",
            ErrorCode::Required,
            "A2",
        ),
        (
            json!({ "isms_time_table": { "progression": { "personnel_per_step": 0 } } }),
            "/isms_time_table/progression/personnel_per_step",
            ErrorCode::OutOfRange,
            "A2",
        ),
        (
            json!({ "isms_time_table": { "progression": { "days_per_step": 0 } } }),
            "/isms_time_table/progression/days_per_step",
            ErrorCode::OutOfRange,
            "A2",
        ),
    ];
    for (doc, field, code, rule) in cases {
        let errors = Settings::from_json(&doc).err().unwrap_or_default();
        assert_eq!(summary(&errors), [(field.to_owned(), code, rule)], "{doc}");
    }
}

#[test]
fn c1_c5_settings_certificate_section_checked_whole() -> TestResult {
    let doc = json!({ "jurisdiction": "cn", "certificate": {
        "number_prefix": "ZB", "certification_body": { "name": "Zhongbiao", "address": "Beijing" }
    } });
    let settings = Settings::from_json(&doc).map_err(|e| format!("{e:?}"))?;
    assert_eq!(settings.certificate.number_prefix, "ZB");
    assert_eq!(settings.certificate.number_digits, 6);
    let config: certflow_domain::certificate::CertificateConfig =
        serde_json::from_value(json!(settings)).map_err(|e| e.to_string())?;
    assert_eq!(
        config.jurisdiction,
        certflow_domain::review::Jurisdiction::Cn
    );
    assert_eq!(config.certificate, settings.certificate);

    let bad = json!({ "certificate": { "number_digits": 0, "suspension_months": 13 } });
    let errors = Settings::from_json(&bad).err().unwrap_or_default();
    let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.rule)).collect();
    assert_eq!(
        found,
        [
            ("/certificate/number_digits", "C1"),
            ("/certificate/suspension_months", "C5")
        ]
    );
    let unknown = json!({ "certificate": { "prefix": "X" } });
    let errors = Settings::from_json(&unknown).err().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].field.as_str(), errors[0].rule),
        ("/certificate/prefix", "C1")
    );
    Ok(())
}

#[test]
fn c2_c7_settings_certificate_members_are_read_at_their_own_field() -> TestResult {
    // Exact forms of whole numbers read as the other counts are (`90.0` is 90).
    let doc = json!({ "certificate": {
        "effective_within_days": 90.0, "number_digits": 6.0, "max_gap_months": 1.5e1
    } });
    let settings = Settings::from_json(&doc).map_err(|e| format!("{e:?}"))?;
    assert_eq!(settings.certificate.effective_within_days, 90);
    assert_eq!(settings.certificate.number_digits, 6);
    assert_eq!(settings.certificate.max_gap_months, 15);
    // Every error names its field, never the whole section.
    let cases = [
        (
            json!({ "effective_within_days": -1 }),
            "/certificate/effective_within_days",
            ErrorCode::OutOfRange,
            "C2",
        ),
        (
            serde_json::from_str(r#"{ "effective_within_days": 1e-400 }"#)?,
            "/certificate/effective_within_days",
            ErrorCode::InvalidType,
            "C2",
        ),
        (
            json!({ "effective_within_days": 90.5 }),
            "/certificate/effective_within_days",
            ErrorCode::InvalidType,
            "C2",
        ),
        (
            json!({ "effective_within_days": 366 }),
            "/certificate/effective_within_days",
            ErrorCode::OutOfRange,
            "C2",
        ),
        (
            json!({ "accreditation_body": { "name": "UKAS", "acronym": "UKAS", "country": "GB" } }),
            "/certificate/accreditation_body/country",
            ErrorCode::UnknownField,
            "C7",
        ),
        (
            json!({ "accreditation_body": { "accredited": "yes" } }),
            "/certificate/accreditation_body/accredited",
            ErrorCode::InvalidType,
            "C7",
        ),
        (
            json!({ "accreditation_body": { "acronym": 7 } }),
            "/certificate/accreditation_body/acronym",
            ErrorCode::InvalidType,
            "C7",
        ),
        (
            json!({ "accreditation_body": [] }),
            "/certificate/accreditation_body",
            ErrorCode::InvalidType,
            "C7",
        ),
        (
            json!({ "certification_body": { "name": "CB", "address": "x", "phone": "1" } }),
            "/certificate/certification_body/phone",
            ErrorCode::UnknownField,
            "C1",
        ),
        (
            json!({ "number_prefix": 5 }),
            "/certificate/number_prefix",
            ErrorCode::InvalidType,
            "C1",
        ),
    ];
    for (section, field, code, rule) in cases {
        let doc = json!({ "certificate": section });
        let errors = Settings::from_json(&doc).err().unwrap_or_default();
        let found: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code, e.rule))
            .collect();
        assert_eq!(found, [(field, code, rule)], "{doc}");
    }
    // Several at once, each at its field; texts are trimmed.
    let doc = json!({ "certificate": {
        "effective_within_days": -1, "accreditation_body": { "nme": "x" }, "number_digits": 0.5
    } });
    let errors = Settings::from_json(&doc).err().unwrap_or_default();
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "/certificate/accreditation_body/nme",
            "/certificate/effective_within_days",
            "/certificate/number_digits",
        ]
    );
    let doc = json!({ "certificate": {
        "accreditation_body": { "name": " United Kingdom Accreditation Service ", "acronym": " UKAS", "accredited": false }
    } });
    let settings = Settings::from_json(&doc).map_err(|e| format!("{e:?}"))?;
    assert_eq!(settings.certificate.accreditation_body.acronym, "UKAS");
    assert!(!settings.certificate.accreditation_body.accredited);
    Ok(())
}

#[test]
fn a1_a7_settings_every_error_reported_at_once() {
    let doc = json!({
        "full_time_hours": -3,
        "max_reduction_percent": "thirty",
        "jurisdiction": 1,
        "unknown": true,
        "bcms_time_table": { "bands": [ { "from": 1, "to": 5, "days": 2 }, { "from": 7, "to": 9, "days": 1 } ] }
    });
    let errors = Settings::from_json(&doc).err().unwrap_or_default();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "/unknown",
            "/full_time_hours",
            "/bcms_time_table/bands/1/from",
            "/bcms_time_table/bands/1/days",
            "/max_reduction_percent",
            "/jurisdiction",
        ]
    );
}

// ---------------------------------------------------------------- inputs (A1, A3, A7)

#[test]
fn a1_a3_a7_review_inputs_empty_body_gives_the_defaults() -> TestResult {
    let inputs = ReviewInputs::from_json(&json!({})).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(inputs, ReviewInputs::default());
    assert_eq!(inputs.factors.all(), [Grade::MEDIUM; 6]);
    assert!(inputs.repetitive_groups.is_empty());
    assert_eq!(inputs.integration_reduction_percent, 0);
    Ok(())
}

#[test]
fn a1_a3_a7_review_inputs_read_the_operator_body() -> TestResult {
    let body = json!({
        "factors": { "business_type": 3, "outsourcing": 1 },
        "repetitive_groups": [ { "group": 0, "counted_as": 8, "reason": "  scripted calls " } ],
        "integration_reduction_percent": 10
    });
    let inputs = ReviewInputs::from_json(&body).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(inputs.factors.business_type, Grade::HIGH);
    assert_eq!(inputs.factors.outsourcing, Grade::LOW);
    assert_eq!(inputs.factors.processes, Grade::MEDIUM);
    assert_eq!(
        inputs.repetitive_groups,
        [GroupDecision {
            group: 0,
            counted_as: 8,
            reason: Some("scripted calls".into())
        }]
    );
    assert_eq!(inputs.integration_reduction_percent, 10);
    // serde's Deserialize agrees (deny_unknown_fields, defaults).
    let typed: ReviewInputs = serde_json::from_value(serde_json::to_value(&inputs)?)?;
    assert_eq!(typed, inputs);
    assert!(serde_json::from_value::<ReviewInputs>(json!({ "factor": {} })).is_err());
    assert!(
        serde_json::from_value::<ReviewInputs>(json!({ "factors": { "maturity": 4 } })).is_err()
    );
    Ok(())
}

#[test]
fn a1_a3_a7_review_inputs_every_error_at_once() {
    let body = json!({
        "factors": { "business_type": 0, "processes": "2", "maturty": 1 },
        "repetitive_groups": [ { "group": -1, "counted_as": 0 }, { "reason": 5 }, "x" ],
        "integration_reduction_percent": 101,
        "extra": null
    });
    let errors = ReviewInputs::from_json(&body).err().unwrap_or_default();
    assert_eq!(
        summary(&errors),
        [
            ("/extra".to_owned(), ErrorCode::UnknownField, "A3"),
            ("/factors/maturty".to_owned(), ErrorCode::UnknownField, "A3"),
            (
                "/factors/business_type".to_owned(),
                ErrorCode::OutOfRange,
                "A3"
            ),
            (
                "/factors/processes".to_owned(),
                ErrorCode::InvalidType,
                "A3"
            ),
            (
                "/repetitive_groups/0/group".to_owned(),
                ErrorCode::OutOfRange,
                "A1"
            ),
            (
                "/repetitive_groups/0/counted_as".to_owned(),
                ErrorCode::OutOfRange,
                "A1"
            ),
            (
                "/repetitive_groups/1/group".to_owned(),
                ErrorCode::Required,
                "A1"
            ),
            (
                "/repetitive_groups/1/counted_as".to_owned(),
                ErrorCode::Required,
                "A1"
            ),
            (
                "/repetitive_groups/1/reason".to_owned(),
                ErrorCode::InvalidType,
                "A1"
            ),
            (
                "/repetitive_groups/2".to_owned(),
                ErrorCode::InvalidType,
                "A1"
            ),
            (
                "/integration_reduction_percent".to_owned(),
                ErrorCode::OutOfRange,
                "A7"
            ),
        ]
    );
}

#[test]
fn a1_a7_review_of_the_design_example() -> TestResult {
    // Intake's example: 133 people, ISMS + PIMS; a call-centre group of 64 counted as 8.
    let app = application(&[(
        "/repetitive_groups",
        json!([{ "description": "Call-centre agents", "site": 0, "count": 64 }]),
    )])?;
    let inputs = ReviewInputs::from_json(&json!({
        "repetitive_groups": [ { "group": 0, "counted_as": 8 } ],
        "integration_reduction_percent": 10
    }))
    .map_err(|e| format!("{e:#?}"))?;
    let s = Settings::default();
    let personnel =
        effective_personnel(&app, &inputs.repetitive_groups, &s).map_err(|e| format!("{e:#?}"))?;
    assert_eq!(personnel.value.total, 77);
    let codes: Vec<StandardCode> = app.standards.iter().map(|s| s.code).collect();
    let times = audit_times(
        personnel.value.total,
        &codes,
        &inputs.factors,
        inputs.integration_reduction_percent,
        &s,
    )
    .map_err(|e| format!("{e:#?}"))?;
    // 66-85: 11 days per scheme; 22 - 10% = 19.8 -> 20.
    assert_eq!(times.value.combined.initial.days, days(200));
    assert!(serde_json::to_string(&times)?.contains("\"initial\":{\"days\":20,\"min_onsite\":16}"));
    Ok(())
}
