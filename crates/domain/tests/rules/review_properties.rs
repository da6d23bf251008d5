//! Property tests for the review (A1–A7): no JSON makes `Settings::from_json` or
//! `ReviewInputs::from_json` panic, and every refusal is a list of documented errors; audit
//! time never decreases as personnel grows; surveillance ≤ recertification ≤ initial; the
//! effective personnel total is the sites' exact sum rounded once.

use certflow_domain::intake::application::{Application, StandardCode};
use certflow_domain::review::{
    AuditDays, Band, FactorGrades, Grade, Progression, ReviewInputs, Scheme, Settings, TimeTable,
    audit_times, effective_personnel,
};
use certflow_domain::{ErrorCode, FieldError};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Names the documents use, so random objects often hit real fields.
const NAMES: &[&str] = &[
    "full_time_hours",
    "isms_time_table",
    "bcms_time_table",
    "pims_time_table",
    "bands",
    "from",
    "to",
    "days",
    "progression",
    "personnel_per_step",
    "days_per_step",
    "complexity_percent",
    "business_low",
    "business_medium",
    "business_high",
    "it_low",
    "it_medium",
    "it_high",
    "max_reduction_percent",
    "min_onsite_percent",
    "remote_share_flag_percent",
    "max_integration_reduction_percent",
    "jurisdiction",
    "factors",
    "business_type",
    "processes",
    "maturity",
    "it_infrastructure",
    "outsourcing",
    "development",
    "repetitive_groups",
    "group",
    "counted_as",
    "reason",
    "integration_reduction_percent",
];

const RULES: &[&str] = &[
    "A1", "A2", "A3", "A5", "A7", "M5", "C1", "C2", "C3", "C4", "C5", "C7", "S5",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(NAMES).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-5i64..300).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-20i32..2000).prop_map(|h| Value::from(f64::from(h) / 2.0)),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        proptest::sample::select(&["iaf", "cn", "eu", ""][..]).prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every JSON pointer inside `value`.
fn pointers(value: &Value, path: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(v, format!("{path}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(path);
}

/// A full settings document with some of its values replaced.
fn mutated_settings() -> impl Strategy<Value = Value> {
    let base = serde_json::to_value(Settings::default()).unwrap_or(Value::Null);
    let mut paths = Vec::new();
    pointers(&base, String::new(), &mut paths);
    prop::collection::vec((proptest::sample::select(paths), json_value()), 1..4).prop_map(
        move |changes| {
            let mut doc = base.clone();
            for (path, value) in changes {
                if path.is_empty() {
                    doc = value;
                } else if let Some(slot) = doc.pointer_mut(&path) {
                    *slot = value;
                }
            }
            doc
        },
    )
}

fn documented(errors: &[FieldError]) -> bool {
    !errors.is_empty()
        && errors.iter().all(|e| {
            ErrorCode::ALL.contains(&e.code)
                && RULES.contains(&e.rule)
                && (e.field.is_empty() || e.field.starts_with('/'))
                && !e.message.is_empty()
        })
}

/// A7: a valid integration reduction: within the cap, and 0 for a single scheme.
fn integration_for(standards: &[StandardCode], percent: u32, settings: &Settings) -> u32 {
    let mut schemes: Vec<Scheme> = standards.iter().map(|&c| Scheme::of(c)).collect();
    schemes.sort();
    schemes.dedup();
    if schemes.len() > 1 {
        percent.min(settings.max_integration_reduction_percent)
    } else {
        0
    }
}

fn grades() -> impl Strategy<Value = FactorGrades> {
    prop::array::uniform6(1u8..=3).prop_map(|g| {
        let grade = |i: usize| Grade::new(g[i]).unwrap_or_default();
        FactorGrades {
            business_type: grade(0),
            processes: grade(1),
            maturity: grade(2),
            it_infrastructure: grade(3),
            outsourcing: grade(4),
            development: grade(5),
        }
    })
}

fn standards() -> impl Strategy<Value = Vec<StandardCode>> {
    prop::sample::subsequence(StandardCode::ALL.to_vec(), 1..=4)
}

/// A valid time table: contiguous bands from 1, days never decreasing.
fn table() -> impl Strategy<Value = TimeTable> {
    (
        prop::collection::vec((1u32..2000, 0u32..6), 1..12),
        1u32..200,
        1u32..5000,
        1u32..6,
    )
        .prop_map(|(widths, first_days, per_step, step_days)| {
            let (mut from, mut half_days) = (1u32, first_days);
            let bands = widths
                .into_iter()
                .map(|(width, more)| {
                    let band = Band {
                        from,
                        to: from + width - 1,
                        days: AuditDays::from_half_days(half_days),
                    };
                    from += width;
                    half_days += more;
                    band
                })
                .collect();
            TimeTable {
                bands,
                progression: Progression {
                    personnel_per_step: per_step,
                    days_per_step: AuditDays::from_half_days(step_days),
                },
            }
        })
}

/// Valid settings with random tables, percentages and caps.
fn settings() -> impl Strategy<Value = Settings> {
    (
        table(),
        table(),
        table(),
        -100i32..=200,
        0u32..=99,
        0u32..=100,
        0u32..=99,
    )
        .prop_map(
            |(isms, bcms, pims, low_low, max_reduction, onsite, max_integration)| {
                let mut s = Settings {
                    isms_time_table: isms,
                    bcms_time_table: bcms,
                    pims_time_table: pims,
                    max_reduction_percent: max_reduction,
                    min_onsite_percent: onsite,
                    max_integration_reduction_percent: max_integration,
                    ..Settings::default()
                };
                s.complexity_percent.business_low.it_low = low_low;
                s
            },
        )
}

proptest! {
    #[test]
    fn a2_settings_from_arbitrary_json_never_panics(doc in json_value()) {
        match Settings::from_json(&doc) {
            Ok(s) => prop_assert_eq!(Settings::from_json(&serde_json::to_value(&s).unwrap_or(Value::Null)), Ok(s)),
            Err(errors) => prop_assert!(documented(&errors), "{:?}", errors),
        }
    }

    #[test]
    fn a2_mutated_settings_never_panic_and_round_trip(doc in mutated_settings()) {
        match Settings::from_json(&doc) {
            Ok(s) => {
                let back = serde_json::to_value(&s).unwrap_or(Value::Null);
                prop_assert_eq!(Settings::from_json(&back), Ok(s));
            }
            Err(errors) => prop_assert!(documented(&errors), "{:?}", errors),
        }
    }

    #[test]
    fn a3_review_inputs_from_arbitrary_json_never_panic(doc in json_value()) {
        match ReviewInputs::from_json(&doc) {
            Ok(inputs) => {
                let back = serde_json::to_value(&inputs).unwrap_or(Value::Null);
                prop_assert_eq!(ReviewInputs::from_json(&back), Ok(inputs));
            }
            Err(errors) => prop_assert!(documented(&errors), "{:?}", errors),
        }
    }

    #[test]
    fn a3_review_inputs_from_mutated_body_never_panic(
        factors in json_value(), groups in json_value(), percent in leaf()
    ) {
        let doc = json!({ "factors": factors, "repetitive_groups": groups,
                          "integration_reduction_percent": percent });
        if let Err(errors) = ReviewInputs::from_json(&doc) {
            prop_assert!(documented(&errors), "{:?}", errors);
        }
    }

    #[test]
    fn a2_audit_time_is_monotone_in_personnel(
        a in any::<u32>(), b in any::<u32>(), grades in grades(), standards in standards(),
        settings in settings(), integration in 0u32..=100
    ) {
        let (small, large) = (a.min(b), a.max(b));
        let integration = integration_for(&standards, integration, &settings);
        let at = |p| audit_times(p, &standards, &grades, integration, &settings).map(|t| t.value);
        let (Ok(small), Ok(large)) = (at(small), at(large)) else {
            return Err(TestCaseError::fail("valid inputs refused"));
        };
        prop_assert!(small.combined.initial.days <= large.combined.initial.days);
        prop_assert!(small.combined.surveillance.days <= large.combined.surveillance.days);
        prop_assert!(small.combined.recertification.days <= large.combined.recertification.days);
        for (s, l) in small.schemes.iter().zip(&large.schemes) {
            prop_assert!(s.table_days <= l.table_days);
        }
    }

    #[test]
    fn a4_surveillance_le_recertification_le_initial(
        personnel in any::<u32>(), grades in grades(), standards in standards(),
        settings in settings(), integration in 0u32..=100
    ) {
        let integration = integration_for(&standards, integration, &settings);
        let Ok(times) = audit_times(personnel, &standards, &grades, integration, &settings) else {
            return Err(TestCaseError::fail("valid inputs refused"));
        };
        let cycles = times.value.schemes.iter().map(|s| s.times).chain([times.value.combined]);
        for cycle in cycles {
            prop_assert!(cycle.surveillance.days <= cycle.recertification.days);
            prop_assert!(cycle.recertification.days <= cycle.initial.days);
            for audit in [cycle.initial, cycle.surveillance, cycle.recertification] {
                prop_assert!(audit.min_onsite <= audit.days);
            }
        }
        // A3: the reduction never exceeds the cap.
        for scheme in &times.value.schemes {
            let floor = scheme.table_days.ratio_ceil(100 - u64::from(settings.max_reduction_percent), 100);
            prop_assert!(scheme.times.initial.days >= floor);
        }
    }

    #[test]
    fn a1_total_is_the_sites_exact_sum_rounded_once(
        sites in prop::collection::vec(
            (0u32..5000, prop::collection::vec((1u32..50, 1u32..=16800), 0..4), 0u32..100, 0u32..100),
            1..6,
        ),
        week in 1u32..=16800,
    ) {
        let mut doc = crate::common::valid_application();
        let site_docs: Vec<Value> = sites
            .iter()
            .enumerate()
            .map(|(i, (full_time, part_time, temporary, contractors))| {
                let part_time: Vec<Value> = part_time
                    .iter()
                    .map(|&(count, centi)| json!({ "count": count, "weekly_hours": f64::from(centi) / 100.0 }))
                    .collect();
                json!({
                    "name": format!("Site {i}"), "central": i == 0,
                    "address": { "street": "1 Road", "city": "Shenzhen", "country": "CN" },
                    "activities": "Operations", "shifts": 1,
                    "personnel": { "full_time": full_time, "part_time": part_time,
                                   "temporary": temporary, "contractors": contractors }
                })
            })
            .collect();
        crate::common::set(&mut doc, "/sites", Value::Array(site_docs));
        let Ok(app) = serde_json::from_value::<Application>(doc) else {
            return Err(TestCaseError::fail("fixture"));
        };
        let mut settings = Settings::default();
        settings.full_time_hours = certflow_domain::review::Hours::from_centi(week).unwrap_or(settings.full_time_hours);
        let Ok(result) = effective_personnel(&app, &[], &settings) else {
            return Err(TestCaseError::fail("valid application refused"));
        };
        let sum: u64 = result.value.sites.iter().map(|s| u64::from(s.effective)).sum();
        let total = u64::from(result.value.total);
        let n = u64::try_from(sites.len()).unwrap_or(u64::MAX);
        prop_assert!(total <= sum);
        prop_assert!(sum < total + n);
        for (site, (full_time, _, temporary, contractors)) in result.value.sites.iter().zip(&sites) {
            prop_assert!(site.effective >= full_time + temporary + contractors);
        }
    }
}
