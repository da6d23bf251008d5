//! Rules D1–D8: the certification decision's independence check: each rule broken on its
//! own, all satisfied, several at once, the D6 limit to the day, D4 to the day, reading the
//! body, and arbitrary JSON never panicking the readers.

use crate::common::cb::{
    audit_body, client, close_all, person, person_json, record, response, verification,
};
use crate::common::day;
use certflow_domain::ErrorCode;
use certflow_domain::audit::{
    AuditRecord, AuditRequest, NcResponse, Verification, respond, verify,
};
use certflow_domain::decision::{
    DecisionRecord, DecisionRequest, DecisionSettings, Outcome, check_decision,
};
use certflow_domain::intake::application::StandardCode;
use certflow_domain::people::Person;
use certflow_domain::violation::Violation;
use chrono::NaiveDate;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

type TestResult = Result<(), String>;

fn with(mut doc: Value, pointer: &str, value: Value) -> Value {
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = value;
    }
    doc
}

fn request(
    dm: &str,
    outcome: &str,
    justification: Option<&str>,
) -> Result<DecisionRequest, String> {
    let mut body = json!({ "decision_maker": dm, "outcome": outcome });
    if let Some(j) = justification {
        body["justification"] = json!(j);
    }
    DecisionRequest::from_json(&body).map_err(|e| format!("{e:?}"))
}

/// Stage 2 (ends Wed 2026-03-04) with every NC responded 2026-03-10 and verified 2026-03-20.
fn closed_stage_2() -> Result<AuditRecord, String> {
    let mut r = record(&audit_body(), "audit-2")?;
    close_all(&mut r, "2026-03-10", "2026-03-20")?;
    Ok(r)
}

fn dm() -> Result<Person, String> {
    person(&person_json("Wang Fang"))
}

fn check(
    request: &DecisionRequest,
    decision_maker: Option<&Person>,
    audits: &[AuditRecord],
    today: NaiveDate,
) -> Result<DecisionRecord, Vec<Violation>> {
    check_decision(
        request,
        decision_maker,
        &client(),
        &[StandardCode::Iso27001],
        &["IAF 33".to_string()],
        audits,
        today,
        &DecisionSettings::default(),
    )
}

/// The rules refused, sorted and deduplicated.
fn rules(result: &Result<DecisionRecord, Vec<Violation>>) -> Vec<String> {
    let mut rules: Vec<String> = match result {
        Ok(_) => Vec::new(),
        Err(v) => v.iter().map(|v| v.rule.clone()).collect(),
    };
    rules.sort();
    rules.dedup();
    rules
}

const TODAY: (i32, u32, u32) = (2026, 4, 1);

fn today() -> NaiveDate {
    day(TODAY.0, TODAY.1, TODAY.2)
}

#[test]
fn d1_to_d8_all_satisfied_gives_a_record() -> TestResult {
    let dm = dm()?;
    let audits = [closed_stage_2()?];
    let req = request("p-dm", "grant", Some("all NCs closed"))?;
    let rec = check(&req, Some(&dm), &audits, today()).map_err(|v| format!("{v:?}"))?;
    assert_eq!(rec.decision_maker.id, "p-dm");
    assert_eq!(rec.decision_maker.name, "Wang Fang");
    assert_eq!(rec.outcome, Outcome::Grant);
    assert_eq!(rec.decided_on, today());
    assert_eq!(
        rec.rules_checked,
        ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"]
    );
    let summary = rec.relied_on.first().ok_or("no audit relied on")?;
    assert_eq!(summary.id, "audit-2");
    assert_eq!(
        (
            summary.majors.accepted,
            summary.minors.accepted,
            summary.opportunities
        ),
        (1, 1, 1)
    );
    assert_eq!(summary.ends_on, day(2026, 3, 4));
    // D8: stored as JSON and read back.
    let text = serde_json::to_string(&rec).map_err(|e| e.to_string())?;
    let back: DecisionRecord = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    assert_eq!(back, rec);
    Ok(())
}

#[test]
fn d1_decision_maker_in_the_audit_team_is_refused() -> TestResult {
    // p-auditor is competent, employed and never consulted: only D1.
    let auditor = person(&person_json("Zhang Wei"))?;
    let r = check(
        &request("p-auditor", "grant", None)?,
        Some(&auditor),
        &[closed_stage_2()?],
        today(),
    );
    assert_eq!(rules(&r), ["D1"]);
    // Any role: a trainee too (with the evaluator T4 asks for).
    let body = with(
        audit_body(),
        "/team",
        json!([
            { "person": "p-lead", "role": "lead" },
            { "person": "p-auditor", "role": "evaluator" },
            { "person": "p-dm", "role": "trainee" }
        ]),
    );
    let mut audit = record(&body, "audit-2")?;
    close_all(&mut audit, "2026-03-10", "2026-03-20")?;
    let r = check(
        &request("p-dm", "refuse", None)?,
        Some(&dm()?),
        &[audit],
        today(),
    );
    assert_eq!(rules(&r), ["D1"]);
    Ok(())
}

#[test]
fn d2_decision_maker_not_competent_is_refused() -> TestResult {
    let mut p = dm()?;
    p.competences.clear();
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&p),
        &[closed_stage_2()?],
        today(),
    );
    assert_eq!(rules(&r), ["D2"]);
    // Competent for the standard, not the area.
    let p = person(&json!({
        "name": "Wang Fang", "employment": { "type": "employee" },
        "competences": [{ "standard": "ISO/IEC 27001", "technical_areas": ["IAF 19"] }]
    }))?;
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&p),
        &[closed_stage_2()?],
        today(),
    );
    assert_eq!(rules(&r), ["D2"]);
    Ok(())
}

#[test]
fn d3_external_decision_maker_is_refused() -> TestResult {
    let mut body = person_json("Wang Fang");
    body["employment"] = json!({ "type": "external" });
    let p = person(&body)?;
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&p),
        &[closed_stage_2()?],
        today(),
    );
    assert_eq!(rules(&r), ["D3"]);
    Ok(())
}

fn consultant(ended_on: &str) -> Result<Person, String> {
    let mut body = person_json("Wang Fang");
    body["consultancy"] = json!([{
        "organization": { "type": "uscc", "number": crate::common::VALID_USCC }, "ended_on": ended_on
    }]);
    person(&body)
}

#[test]
fn d4_consultancy_two_years_minus_a_day_refused_exactly_two_years_allowed() -> TestResult {
    // today is 2026-04-01.
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&consultant("2024-04-02")?),
        &[closed_stage_2()?],
        today(),
    );
    assert_eq!(rules(&r), ["D4"]);
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&consultant("2024-04-01")?),
        &[closed_stage_2()?],
        today(),
    );
    assert_eq!(rules(&r), Vec::<String>::new());
    // Still consulting.
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&consultant("2027-01-01")?),
        &[closed_stage_2()?],
        today(),
    );
    assert_eq!(rules(&r), ["D4"]);
    Ok(())
}

#[test]
fn d5_open_nonconformities_block_a_grant_and_say_what_is_missing() -> TestResult {
    let mut audit = record(&audit_body(), "audit-2")?;
    respond(&mut audit, "nc-2", response("2026-03-10")?).map_err(|v| format!("{v:?}"))?;
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&dm()?),
        &[audit.clone()],
        today(),
    );
    assert_eq!(rules(&r), ["D5"]);
    let Err(v) = r else {
        return Err("granted".into());
    };
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(
        v.iter().any(|x| x.found.contains("major nc-1")
            && x.found.contains("no correction and corrective action")),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|x| x.found.contains("minor nc-2") && x.found.contains("not yet accepted")),
        "{v:?}"
    );
    // A rejected verification says a new response is needed.
    verify(&mut audit, "nc-2", verification("2026-03-11", false)?).map_err(|v| format!("{v:?}"))?;
    let Err(v) = check(
        &request("p-dm", "grant", None)?,
        Some(&dm()?),
        &[audit.clone()],
        today(),
    ) else {
        return Err("granted".into());
    };
    assert!(
        v.iter().any(|x| x.found.contains("rejected on 2026-03-11")),
        "{v:?}"
    );
    // Refusing needs none of that.
    let r = check(
        &request("p-dm", "refuse", None)?,
        Some(&dm()?),
        &[audit],
        today(),
    );
    assert!(r.is_ok(), "{r:?}");
    Ok(())
}

/// A stage 2 ending on `ends_on` with one major, responded on `ends_on`; verified on
/// `verified` when given.
fn stage_2_major(ends_on: &str, verified: Option<&str>) -> Result<AuditRecord, String> {
    let body = with(
        with(
            with(audit_body(), "/starts_on", json!(ends_on)),
            "/ends_on",
            json!(ends_on),
        ),
        "/findings",
        json!([{ "severity": "major", "clause": "A.5.15", "statement": "s", "evidence": "e", "process": "p" }]),
    );
    let mut audit = record(&body, "audit-2")?;
    respond(&mut audit, "nc-1", response(ends_on)?).map_err(|v| format!("{v:?}"))?;
    if let Some(on) = verified {
        verify(&mut audit, "nc-1", verification(on, true)?).map_err(|v| format!("{v:?}"))?;
    }
    Ok(audit)
}

fn grant_on(audit: AuditRecord, on: NaiveDate) -> Result<Vec<String>, String> {
    Ok(rules(&check(
        &request("p-dm", "grant", None)?,
        Some(&dm()?),
        &[audit],
        on,
    )))
}

#[test]
fn d6_major_verified_on_the_six_month_date_is_in_time_a_day_later_needs_a_new_stage_2() -> TestResult
{
    let later = day(2027, 6, 1);
    assert!(grant_on(stage_2_major("2026-03-04", Some("2026-09-04"))?, later)?.is_empty());
    assert_eq!(
        grant_on(stage_2_major("2026-03-04", Some("2026-09-05"))?, later)?,
        ["D6"]
    );
    let Err(v) = check(
        &request("p-dm", "grant", None)?,
        Some(&dm()?),
        &[stage_2_major("2026-03-04", Some("2026-09-05"))?],
        later,
    ) else {
        return Err("granted".into());
    };
    assert!(v.iter().all(|x| x.found.contains("new stage 2")), "{v:?}");
    Ok(())
}

#[test]
fn d6_month_end_stage_2_limit_is_the_last_day_of_february() -> TestResult {
    // Stage 2 ends 2026-08-31: the limit is 2027-02-28.
    let later = day(2027, 6, 1);
    assert!(grant_on(stage_2_major("2026-08-31", Some("2027-02-28"))?, later)?.is_empty());
    assert_eq!(
        grant_on(stage_2_major("2026-08-31", Some("2027-03-01"))?, later)?,
        ["D6"]
    );
    // Not verified: within the limit only D5; past it D5 and D6.
    assert_eq!(
        grant_on(stage_2_major("2026-08-31", None)?, day(2027, 2, 28))?,
        ["D5"]
    );
    assert_eq!(
        grant_on(stage_2_major("2026-08-31", None)?, day(2027, 3, 1))?,
        ["D5", "D6"]
    );
    Ok(())
}

#[test]
fn d6_limit_follows_the_setting() -> TestResult {
    let settings = DecisionSettings {
        major_verification_months: 3,
        ..DecisionSettings::default()
    };
    let r = check_decision(
        &request("p-dm", "grant", None)?,
        Some(&dm()?),
        &client(),
        &[StandardCode::Iso27001],
        &["IAF 33".to_string()],
        &[stage_2_major("2026-03-04", Some("2026-06-05"))?],
        day(2026, 7, 1),
        &settings,
    );
    assert_eq!(rules(&r), ["D6"]);
    Ok(())
}

#[test]
fn d7_overturning_a_refuse_recommendation_needs_a_justification() -> TestResult {
    let mut audit = record(
        &with(audit_body(), "/recommendation", json!("refuse")),
        "audit-2",
    )?;
    close_all(&mut audit, "2026-03-10", "2026-03-20")?;
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&dm()?),
        &[audit.clone()],
        today(),
    );
    assert_eq!(rules(&r), ["D7"]);
    let r = check(
        &request("p-dm", "grant", Some("   "))?,
        Some(&dm()?),
        &[audit.clone()],
        today(),
    );
    assert_eq!(rules(&r), ["D7"]);
    let rec = check(
        &request(
            "p-dm",
            "grant",
            Some("the team misread A.5.15; evidence reviewed"),
        )?,
        Some(&dm()?),
        &[audit],
        today(),
    )
    .map_err(|v| format!("{v:?}"))?;
    assert!(rec.reasons.iter().any(|r| r.rule == "D7"));
    Ok(())
}

#[test]
fn d8_a_grant_without_a_stage_2_audit_is_refused() -> TestResult {
    let r = check(&request("p-dm", "grant", None)?, Some(&dm()?), &[], today());
    assert_eq!(rules(&r), ["D8"]);
    // A stage 1 alone is not enough.
    let mut stage1 = record(&with(audit_body(), "/type", json!("stage_1")), "audit-1")?;
    close_all(&mut stage1, "2026-03-10", "2026-03-20")?;
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&dm()?),
        &[stage1],
        today(),
    );
    assert_eq!(rules(&r), ["D8"]);
    // Refusing without a stage 2 is a decision too.
    assert!(
        check(
            &request("p-dm", "refuse", None)?,
            Some(&dm()?),
            &[],
            today()
        )
        .is_ok()
    );
    Ok(())
}

#[test]
fn d1_to_d8_several_broken_rules_are_all_reported() -> TestResult {
    // External, not competent, still consulting, in the team as trainee; open NCs; a refuse
    // recommendation overturned without justification.
    let body = with(
        with(audit_body(), "/recommendation", json!("refuse")),
        "/team",
        json!([{ "person": "p-lead", "role": "lead" }, { "person": "p-dm", "role": "evaluator" }]),
    );
    let audit = record(&body, "audit-2")?;
    let p = person(&json!({
        "name": "Wang Fang", "employment": { "type": "external" },
        "consultancy": [{ "organization": { "type": "uscc", "number": crate::common::VALID_USCC }, "ended_on": "2027-12-31" }]
    }))?;
    let r = check(
        &request("p-dm", "grant", None)?,
        Some(&p),
        &[audit],
        day(2026, 9, 5),
    );
    assert_eq!(rules(&r), ["D1", "D2", "D3", "D4", "D5", "D6", "D7"]);
    // Not in the register: D2, D3 and D4 cannot be checked.
    let r = check(&request("p-x", "refuse", None)?, None, &[], today());
    assert_eq!(rules(&r), ["D2", "D3", "D4"]);
    Ok(())
}

#[test]
fn d7_d8_reading_reports_every_error_at_once() -> TestResult {
    let Err(errors) = DecisionRequest::from_json(&json!({
        "decision_maker": "", "outcome": "approve", "justification": 7, "by": "me"
    })) else {
        return Err("accepted".into());
    };
    let has = |field: &str, code: ErrorCode, rule: &str| {
        errors
            .iter()
            .any(|e| e.field == field && e.code == code && e.rule == rule)
    };
    assert!(
        has("/decision_maker", ErrorCode::Required, "D8"),
        "{errors:?}"
    );
    assert!(has("/outcome", ErrorCode::InvalidValue, "D8"), "{errors:?}");
    assert!(
        has("/justification", ErrorCode::InvalidType, "D7"),
        "{errors:?}"
    );
    assert!(has("/by", ErrorCode::UnknownField, "D8"), "{errors:?}");
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(DecisionRequest::from_json(&json!([])).is_err());
    Ok(())
}

#[test]
fn c1_c2_d8_a_grant_carries_certificate_details_a_refusal_none() -> TestResult {
    let grant = DecisionRequest::from_json(&json!({
        "decision_maker": "p-1", "outcome": "grant",
        "certificate": { "soa_version": "SoA v3", "signatory": { "name": "Zhao Min", "role": "GM" } }
    }))
    .map_err(|e| format!("{e:?}"))?;
    let certificate = grant.certificate.ok_or("certificate details dropped")?;
    assert_eq!(certificate.effective_on, None);
    assert_eq!(certificate.soa_version.as_deref(), Some("SoA v3"));

    let Err(errors) = DecisionRequest::from_json(&json!({
        "decision_maker": "p-1", "outcome": "grant",
        "certificate": { "effective_on": "2026-02-30", "signatory": { "name": "Zhao Min" } }
    })) else {
        return Err("accepted bad certificate details".into());
    };
    let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.rule)).collect();
    assert!(
        found.contains(&("/certificate/effective_on", "C2")),
        "{errors:?}"
    );
    assert!(
        found.contains(&("/certificate/signatory/role", "C1")),
        "{errors:?}"
    );

    let Err(errors) = DecisionRequest::from_json(&json!({
        "decision_maker": "p-1", "outcome": "refuse",
        "certificate": { "signatory": { "name": "Zhao Min", "role": "GM" } }
    })) else {
        return Err("a refusal with certificate details was accepted".into());
    };
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.rule))
            .collect::<Vec<_>>(),
        [("/certificate", "C1")]
    );
    Ok(())
}

fn arb_json() -> impl Strategy<Value = Value> {
    const KEYS: &[&str] = &[
        "name",
        "employment",
        "type",
        "arrangement",
        "competences",
        "standard",
        "technical_areas",
        "consultancy",
        "organization",
        "number",
        "ended_on",
        "starts_on",
        "ends_on",
        "team",
        "person",
        "role",
        "remote",
        "used",
        "tools",
        "findings",
        "severity",
        "clause",
        "statement",
        "evidence",
        "process",
        "mark_misuse",
        "deliberate",
        "serious_effect",
        "recommendation",
        "notes",
        "decision_maker",
        "outcome",
        "justification",
        "cause",
        "correction",
        "corrective_action",
        "submitted_on",
        "verified_by",
        "verified_on",
        "accepted",
        "note",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e3f64..1e3).prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
        prop::sample::select(vec![
            "contracted",
            "external",
            "uscc",
            "ISO/IEC 27001",
            "2026-03-04",
            "2025-13-40",
            "stage_2",
            "lead",
            "major",
            "minor",
            "opportunity",
            "grant",
            "refuse",
            crate::common::VALID_USCC,
            "\u{0}",
            " ",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    3 => prop::sample::select(KEYS).prop_map(str::to_owned),
                    1 => "[a-z_]{0,6}"
                ],
                inner,
                0..10
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #[test]
    fn d_n_arbitrary_json_never_panics_the_readers(doc in arb_json()) {
        for errors in [
            Person::from_json(&doc).err(),
            AuditRequest::from_json(&doc, chrono::NaiveDate::MAX, crate::common::cb::STANDARDS).err(),
            DecisionRequest::from_json(&doc).err(),
            NcResponse::from_json(&doc, chrono::NaiveDate::MAX).err(),
            Verification::from_json(&doc, chrono::NaiveDate::MAX).err(),
        ].into_iter().flatten() {
            prop_assert!(!errors.is_empty());
            prop_assert!(errors.iter().all(|e| !e.rule.is_empty()));
        }
    }

    #[test]
    fn d_n_valid_bodies_with_one_field_replaced_never_panic(
        key in prop::sample::select(vec!["type", "starts_on", "ends_on", "team", "remote", "findings", "recommendation"]),
        value in arb_json(),
    ) {
        let doc = with(audit_body(), &format!("/{key}"), value);
        if let Ok(req) = AuditRequest::from_json(&doc, chrono::NaiveDate::MAX, crate::common::cb::STANDARDS) {
            let _ = crate::common::cb::record_with(req, "a", &[]);
        }
    }
}

#[test]
fn d1_decision_maker_who_verified_a_response_took_part_in_the_audit() -> TestResult {
    let mut audit = record(&audit_body(), "audit-2")?;
    respond(&mut audit, "nc-1", response("2026-03-10")?).map_err(|v| format!("{v:?}"))?;
    let by_dm = Verification::from_json(
        &json!({
            "verified_by": "P-DM", "verified_on": "2026-03-12", "accepted": true
        }),
        chrono::NaiveDate::MAX,
    )
    .map_err(|e| format!("{e:?}"))?;
    verify(&mut audit, "nc-1", by_dm).map_err(|v| format!("{v:?}"))?;
    let r = check(
        &request("p-dm", "refuse", None)?,
        Some(&dm()?),
        &[audit],
        today(),
    );
    assert_eq!(rules(&r), ["D1"]);
    Ok(())
}

#[test]
fn d2_no_standard_to_decide_on_is_refused() -> TestResult {
    let r = check_decision(
        &request("p-dm", "grant", None)?,
        Some(&dm()?),
        &client(),
        &[],
        &[],
        &[closed_stage_2()?],
        today(),
        &DecisionSettings::default(),
    );
    assert_eq!(rules(&r), ["D2"]);
    Ok(())
}

#[test]
fn d4_d6_n1_n2_settings_default_and_read_partially() -> TestResult {
    let d: DecisionSettings = serde_json::from_value(json!({ "major_verification_months": 4 }))
        .map_err(|e| e.to_string())?;
    assert_eq!((d.major_verification_months, d.consultancy_years), (4, 2));
    let n: certflow_domain::audit::NcSettings =
        serde_json::from_value(json!({ "systemic_minor_threshold": 5 }))
            .map_err(|e| e.to_string())?;
    assert_eq!(
        (
            n.major_working_days,
            n.minor_months,
            n.systemic_minor_threshold
        ),
        (30, 3, 5)
    );
    assert!(serde_json::from_value::<DecisionSettings>(json!({ "months": 1 })).is_err());
    Ok(())
}

#[test]
fn d8_record_lists_systemic_flags_and_open_counts_for_a_refusal() -> TestResult {
    let minor = |p: &str| json!({ "severity": "minor", "clause": "c", "statement": "s", "evidence": "e", "process": p });
    let body = with(
        audit_body(),
        "/findings",
        json!([minor("hr"), minor("hr"), minor("hr")]),
    );
    let audit = record(&body, "audit-2")?;
    let rec = check(
        &request("p-dm", "refuse", Some("systemic failure in hr"))?,
        Some(&dm()?),
        &[audit],
        today(),
    )
    .map_err(|v| format!("{v:?}"))?;
    let summary = rec.relied_on.first().ok_or("no audit")?;
    assert_eq!(summary.systemic_flags, ["hr"]);
    assert_eq!(summary.minors.open, 3);
    assert_eq!(rec.rules_checked, ["D1", "D2", "D3", "D4", "D8"]);
    // Refused against a positive recommendation: noted, not refused (D7 asks it of grants).
    assert!(rec.reasons.iter().any(|r| r.rule == "D7"));
    Ok(())
}
