//! Property tests (I1, I2): no input makes `validate` or `form::decode` panic; every answer is
//! an accepted application or a non-empty list of documented errors; valid applications stay
//! valid through JSON and form round trips.

use crate::common::{day, flatten, form_body, remove, set, today, valid_application};
use certflow_domain::{Accepted, ErrorCode, FieldError, IntakeConfig, intake::form, validate};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const RULES: [&str; 4] = ["I1", "I3", "I4", "I5"];

/// Names that occur in the contract, so random documents often hit real fields.
const NAMES: &[&str] = &[
    "organization",
    "legal_name",
    "legal_id",
    "type",
    "number",
    "address",
    "street",
    "city",
    "postcode",
    "country",
    "website",
    "contact",
    "name",
    "email",
    "phone",
    "standards",
    "code",
    "edition",
    "scope",
    "sites",
    "central",
    "virtual",
    "activities",
    "personnel",
    "full_time",
    "part_time",
    "count",
    "weekly_hours",
    "temporary",
    "contractors",
    "shifts",
    "repetitive_groups",
    "description",
    "site",
    "management_system",
    "operating_since",
    "last_internal_audit",
    "last_management_review",
    "outsourced_processes",
    "consultancy",
    "provider",
    "person",
    "ended_on",
    "restricted_records",
    "present",
    "transfer",
    "previous_cb",
    "certificate_number",
    "status",
    "expires_on",
    "issuing_cb_ceased",
    "previous_certifications",
    "certification_body",
    "status_changed_on",
    "own_fault",
    "declarations",
    "not_on_serious_illegal_list",
    "no_business_suspension_order",
    "no_withdrawal_for_own_fault_in_last_12_months",
    "language",
];

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![3 => prop::sample::select(NAMES).prop_map(str::to_owned), 1 => "[a-z_~/]{0,8}"]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        prop::sample::select(vec![0.5, 168.0, 168.000_001, 1e300, -0.0]).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "2026-01-15",
            "2026-02-30",
            "1899-12-31",
            "2099-01-01",
            "CN",
            "cn",
            "ISO/IEC 27001",
            "2022",
            "2013",
            "uscc",
            "zh",
            "withdrawn",
            "suspended",
            "+86 21 5555 0100",
            "a@b.cn",
            "\u{0}",
            " ",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every JSON pointer of `v` (leaves and inner nodes), the root excluded.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, c)| (k.clone(), c)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, c)| (i.to_string(), c))
            .collect(),
        _ => Vec::new(),
    };
    for (k, c) in children {
        let p = format!("{at}/{k}");
        out.push(p.clone());
        pointers(c, &p, out);
    }
}

fn design_pointers() -> Vec<String> {
    let mut out = Vec::new();
    pointers(&valid_application(), "", &mut out);
    out
}

/// The invariants every answer satisfies (I2).
fn check_answer(result: &Result<Accepted, Vec<FieldError>>) -> Result<(), TestCaseError> {
    match result {
        Ok(accepted) => {
            // Whatever was accepted is still accepted after a JSON round trip.
            let again = serde_json::to_value(&accepted.application)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let second = validate(&again, accepted.validated_on, &IntakeConfig::default());
            prop_assert!(second.is_ok(), "{second:?}");
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            let documented: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
            for e in errors {
                let code =
                    serde_json::to_value(e.code).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(
                    code.as_str().is_some_and(|c| documented.contains(&c)),
                    "{e:?}"
                );
                prop_assert!(RULES.contains(&e.rule), "{e:?}");
                prop_assert!(e.field.is_empty() || e.field.starts_with('/'), "{e:?}");
                prop_assert!(!e.message.is_empty(), "{e:?}");
            }
        }
    }
    Ok(())
}

/// A valid application varied in the ways the contract allows.
fn arb_valid_application() -> impl Strategy<Value = Value> {
    let site = (
        0u32..5000,
        prop::collection::vec((1u32..50, 1u32..=1680), 0..3),
        0u32..100,
        0u32..100,
        1u32..=3,
        any::<bool>(),
    );
    (
        prop::collection::vec(site, 1..4),
        any::<prop::sample::Index>(),
        0i64..3000,
        0i64..=1000,
        0i64..=1000,
        prop::sample::select(vec![
            vec![("ISO/IEC 27001", "2022")],
            vec![("ISO/IEC 27001", "2022"), ("ISO/IEC 27701", "2019")],
            vec![("ISO/IEC 27701", "2025")],
            vec![("ISO 22301", "2019"), ("GB/T 30146", "2023")],
        ]),
        prop::sample::select(vec!["zh", "en"]),
        "[ \t]{0,2}",
        (0u32..=100, any::<bool>()),
    )
        .prop_map(|(sites, central, age, audit_gap, review_gap, standards, language, pad, (group_pct, restricted))| {
            let mut doc = valid_application();
            let central = central.index(sites.len());
            let site_values: Vec<Value> = sites
                .iter()
                .enumerate()
                .map(|(i, (full, part, temp, contractors, shifts, is_virtual))| {
                    let part: Vec<Value> =
                        part.iter().map(|(count, tenths)| json!({ "count": count, "weekly_hours": f64::from(*tenths) / 10.0 })).collect();
                    json!({
                        "name": format!("{pad}Site {i}{pad}"), "central": i == central, "virtual": is_virtual,
                        "address": { "street": "1 Road", "city": "Suzhou", "country": "CN" },
                        "activities": "Operations",
                        "personnel": { "full_time": full, "part_time": part, "temporary": temp, "contractors": contractors },
                        "shifts": shifts
                    })
                })
                .collect();
            let (full, part, temp, contractors, _, _) = &sites[0];
            let people = u64::from(*full) + part.iter().map(|(c, _)| u64::from(*c)).sum::<u64>() + u64::from(*temp) + u64::from(*contractors);
            let group = people * u64::from(group_pct) / 100;
            set(&mut doc, "/sites", Value::Array(site_values));
            if group > 0 {
                set(&mut doc, "/repetitive_groups/0/count", json!(group));
            } else {
                remove(&mut doc, "/repetitive_groups");
            }
            if people + sites[1..].iter().map(|s| u64::from(s.0 + s.2 + s.3)).sum::<u64>() == 0 {
                set(&mut doc, "/sites/0/personnel/full_time", json!(1));
            }
            let since = today() - chrono::Days::new(age.unsigned_abs());
            let span = (today() - since).num_days();
            let audit = since + chrono::Days::new((span * audit_gap / 1000).unsigned_abs());
            let review = since + chrono::Days::new((span * review_gap / 1000).unsigned_abs());
            set(&mut doc, "/management_system", json!({
                "operating_since": since.to_string(), "last_internal_audit": audit.to_string(),
                "last_management_review": review.to_string()
            }));
            let standards: Vec<Value> = standards.iter().map(|(c, e)| json!({ "code": c, "edition": format!("{pad}{e}") })).collect();
            set(&mut doc, "/standards", Value::Array(standards));
            set(&mut doc, "/language", json!(language));
            set(&mut doc, "/organization/legal_name", json!(format!("{pad}Acme{pad}")));
            if restricted {
                set(&mut doc, "/restricted_records", json!({ "present": true, "description": "Defence contracts" }));
            }
            doc
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn i2_arbitrary_json_never_panics(doc in arb_json()) {
        check_answer(&validate(&doc, today(), &IntakeConfig::default()))?;
    }

    #[test]
    fn i2_mutated_application_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::option::of(arb_json())), 1..5),
        days in 0u64..20_000,
    ) {
        let paths = design_pointers();
        let mut doc = valid_application();
        for (index, value) in edits {
            let pointer = index.get(&paths);
            match value {
                Some(v) => set(&mut doc, pointer, v),
                None => remove(&mut doc, pointer),
            }
        }
        let on = day(1990, 1, 1) + chrono::Days::new(days);
        check_answer(&validate(&doc, on, &IntakeConfig::default()))?;
    }

    #[test]
    fn i2_arbitrary_form_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(doc) = form::decode(&body) {
            check_answer(&validate(&doc, today(), &IntakeConfig::default()))?;
        }
    }

    #[test]
    fn i2_arbitrary_form_names_never_panic(body in "([a-z_.0-9\\[\\]]{0,30}(=[a-zA-Z0-9 %+.-]{0,8})?&?){0,12}") {
        if let Ok(doc) = form::decode(body.as_bytes()) {
            check_answer(&validate(&doc, today(), &IntakeConfig::default()))?;
        }
    }

    #[test]
    fn i2_form_with_edited_values_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), "\\PC{0,10}"), 1..6),
        drop in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let mut fields = flatten(&valid_application());
        for (index, value) in edits {
            let i = index.index(fields.len());
            fields[i].1 = value;
        }
        for index in drop {
            if !fields.is_empty() {
                fields.remove(index.index(fields.len()));
            }
        }
        if let Ok(doc) = form::decode(form_body(&fields).as_bytes()) {
            check_answer(&validate(&doc, today(), &IntakeConfig::default()))?;
        }
    }

    #[test]
    fn i1_valid_application_survives_json_and_form_round_trips(doc in arb_valid_application()) {
        let accepted = validate(&doc, today(), &IntakeConfig::default());
        prop_assert!(accepted.is_ok(), "{accepted:#?}");
        let Ok(accepted) = accepted else { return Ok(()) };
        let text = serde_json::to_string(&accepted.application).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let again: Value = form::parse_json(text.as_bytes()).map_err(|e| TestCaseError::fail(e.message))?;
        let second = validate(&again, today(), &IntakeConfig::default());
        prop_assert_eq!(second.map(|a| a.application).ok(), Some(accepted.application.clone()));
        let body = form_body(&flatten(&doc));
        let from_form = form::decode(body.as_bytes()).map_err(|e| TestCaseError::fail(e.message))?;
        let third = validate(&from_form, today(), &IntakeConfig::default());
        prop_assert_eq!(third.map(|a| a.application).ok(), Some(accepted.application));
    }
}
