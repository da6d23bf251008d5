//! Rules D2–D4: the people register: reading a person (every error at once), D3 employment,
//! D2 competence, D4 consultancy windows.

use crate::common::{VALID_USCC, day};
use certflow_domain::ErrorCode;
use certflow_domain::intake::application::{LegalId, LegalIdType, StandardCode};
use certflow_domain::people::{EmploymentType, Person};
use serde_json::{Value, json};

type TestResult = Result<(), String>;

fn body() -> Value {
    json!({
        "name": "Wang Fang",
        "employment": { "type": "employee" },
        "competences": [{ "standard": "ISO/IEC 27001", "technical_areas": ["IAF 33"] }],
        "consultancy": [{
            "organization": { "type": "uscc", "number": VALID_USCC },
            "ended_on": "2025-06-30"
        }]
    })
}

fn person(v: &Value) -> Result<Person, String> {
    Person::from_json(v).map_err(|e| format!("{e:?}"))
}

fn client() -> LegalId {
    LegalId {
        kind: LegalIdType::Uscc,
        number: VALID_USCC.to_string(),
    }
}

#[test]
fn d2_d3_d4_reads_a_person() -> TestResult {
    let p = person(&body())?;
    assert_eq!(p.name, "Wang Fang");
    assert_eq!(p.employment.kind, EmploymentType::Employee);
    assert_eq!(p.competences.len(), 1);
    assert_eq!(
        p.consultancy.first().map(|c| c.ended_on),
        Some(day(2025, 6, 30))
    );
    Ok(())
}

#[test]
fn d2_d3_d4_reading_reports_every_error_at_once() -> TestResult {
    let bad = json!({
        "nmae": "x",
        "employment": { "type": "contracted" },
        "competences": [{ "standard": "ISO 9001", "technical_areas": [3] }],
        "consultancy": [{
            "organization": { "type": "uscc", "number": "91310000MA1FL8XQ3C" },
            "ended_on": "2025-13-01"
        }]
    });
    let Err(errors) = Person::from_json(&bad) else {
        return Err("accepted".into());
    };
    let has = |field: &str, code: ErrorCode, rule: &str| {
        errors
            .iter()
            .any(|e| e.field == field && e.code == code && e.rule == rule)
    };
    assert!(has("/name", ErrorCode::Required, "D2"), "{errors:?}");
    assert!(has("/nmae", ErrorCode::UnknownField, "D2"), "{errors:?}");
    assert!(
        has("/employment/arrangement", ErrorCode::Required, "D3"),
        "{errors:?}"
    );
    assert!(
        has("/competences/0/standard", ErrorCode::InvalidValue, "D2"),
        "{errors:?}"
    );
    assert!(
        has(
            "/competences/0/technical_areas/0",
            ErrorCode::InvalidType,
            "D2"
        ),
        "{errors:?}"
    );
    assert!(
        has("/consultancy/0/ended_on", ErrorCode::InvalidFormat, "D4"),
        "{errors:?}"
    );
    assert!(
        has(
            "/consultancy/0/organization/number",
            ErrorCode::InvalidChecksum,
            "D4"
        ),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 7, "{errors:?}");
    Ok(())
}

#[test]
fn d3_who_may_decide() -> TestResult {
    let with = |employment: Value| -> Result<Person, String> {
        let mut b = body();
        b["employment"] = employment;
        person(&b)
    };
    assert!(with(json!({"type": "employee"}))?.may_decide().is_ok());
    assert!(
        with(json!({"type": "controlled_entity"}))?
            .may_decide()
            .is_ok()
    );
    assert!(
        with(
            json!({"type": "contracted", "arrangement": "contract 2026-17, exclusive, enforceable"})
        )?
        .may_decide()
        .is_ok()
    );
    let external = with(json!({"type": "external"}))?.may_decide();
    assert!(
        matches!(external, Err(ref r) if r.rule == "D3"),
        "{external:?}"
    );
    // Built in code rather than read: a contracted person with a blank arrangement.
    let mut p = with(json!({"type": "employee"}))?;
    p.employment.kind = EmploymentType::Contracted;
    p.employment.arrangement = Some("  ".into());
    assert!(matches!(p.may_decide(), Err(ref r) if r.rule == "D3"));
    Ok(())
}

#[test]
fn d2_competence_per_standard_and_area() -> TestResult {
    let p = person(&body())?;
    assert!(
        p.competent_for(&[StandardCode::Iso27001], &["iaf 33 ".into()])
            .is_empty()
    );
    let missing = p.competent_for(
        &[StandardCode::Iso27001, StandardCode::Iso27701],
        &["IAF 33".into(), "IAF 35".into()],
    );
    // 27001 lacks IAF 35; 27701 has no record at all.
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert!(missing.iter().all(|r| r.rule == "D2"));
    Ok(())
}

#[test]
fn d4_consultancy_two_years_minus_a_day_is_within_exactly_two_years_is_not() -> TestResult {
    let p = person(&body())?; // ended 2025-06-30
    let within = p.consulted_for_within(&client(), day(2027, 6, 29), 2);
    assert!(
        matches!(within, Some(ref r) if r.rule == "D4"),
        "{within:?}"
    );
    assert_eq!(p.consulted_for_within(&client(), day(2027, 6, 30), 2), None);
    // Still running (ends in the future), and another client.
    assert!(
        p.consulted_for_within(&client(), day(2025, 1, 1), 2)
            .is_some()
    );
    let other = LegalId {
        kind: LegalIdType::TaxId,
        number: VALID_USCC.into(),
    };
    assert_eq!(p.consulted_for_within(&other, day(2026, 1, 1), 2), None);
    Ok(())
}

#[test]
fn d4_legal_ids_compare_trimmed_and_case_insensitive() -> TestResult {
    let p = person(&body())?;
    let client = LegalId {
        kind: LegalIdType::Uscc,
        number: format!(" {} ", VALID_USCC.to_lowercase()),
    };
    assert!(
        p.consulted_for_within(&client, day(2026, 1, 1), 2)
            .is_some()
    );
    Ok(())
}
