//! Rules M1–M5: the remote-audit risk assessment: reading the operator's body (every error
//! at once), every outcome (full, partial, none by each cause) and every flag.

use certflow_domain::ErrorCode;
use certflow_domain::audit::remote::{
    Assessment, AssessmentResult, AuditType, FlagCode, Remote, Risk, assess,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

type TestResult = Result<(), String>;

/// The M5 threshold [cfg] RULES.md names.
const THRESHOLD: u32 = 30;

const FACTORS: [&str; 6] = [
    "infrastructure",
    "sector",
    "audit_type",
    "competence",
    "past_performance",
    "scope",
];

fn low(note: &str) -> Value {
    json!({ "risk": "low", "note": note })
}

/// An assessment that allows a full remote audit: every risk low, the client agreed.
fn body() -> Value {
    json!({
        "assessor": "Zhao Min",
        "audit": "surveillance_1",
        "factors": {
            "infrastructure": low("stable links on both sides, tested"),
            "sector": low("software services"),
            "audit_type": low("surveillance, processes known"),
            "competence": low("team trained on remote audits"),
            "past_performance": low("two remote audits, effective"),
            "scope": low("cloud payroll service, all online")
        },
        "confidentiality": low("screen sharing only, no copies kept"),
        "client_agreement": true,
        "physical_processes": false,
        "physical_security_controls": false,
        "virtual_sites": false,
        "planned_remote_percent": 25,
        "tools": ["Microsoft Teams", "screen sharing"]
    })
}

fn with(mut doc: Value, pointer: &str, value: Value) -> Value {
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = value;
    }
    doc
}

fn without(mut doc: Value, key: &str) -> Value {
    if let Some(map) = doc.as_object_mut() {
        map.remove(key);
    }
    doc
}

fn parse(doc: &Value) -> Result<Assessment, String> {
    Assessment::from_json(doc, crate::common::today()).map_err(|e| format!("{e:?}"))
}

fn result_of(doc: &Value) -> Result<AssessmentResult, String> {
    parse(doc).map(|a| assess(&a, THRESHOLD))
}

fn codes(result: &AssessmentResult) -> Vec<FlagCode> {
    result.flags.iter().map(|f| f.code).collect()
}

#[test]
fn m1_full_remote_when_every_risk_is_acceptable() -> TestResult {
    let medium = with(body(), "/factors/sector/risk", json!("medium"));
    for doc in [body(), medium] {
        let r = result_of(&doc)?;
        assert_eq!(r.remote, Remote::Full);
        assert_eq!(r.reasons.len(), 1);
        assert_eq!(r.reasons[0].rule, "M1");
        assert!(r.flags.is_empty(), "{:?}", r.flags);
        assert_eq!(r.tools, vec!["Microsoft Teams", "screen sharing"]);
    }
    Ok(())
}

#[test]
fn m2_unacceptable_factor_means_no_remote() -> TestResult {
    let labels = [
        "a) infrastructure",
        "b) sector",
        "c) audit type",
        "d) competence",
        "e) past performance",
        "f) scope",
    ];
    for (factor, label) in FACTORS.iter().zip(labels) {
        let doc = with(
            body(),
            &format!("/factors/{factor}/risk"),
            json!("unacceptable"),
        );
        let r = result_of(&doc)?;
        assert_eq!(r.remote, Remote::None, "{factor}");
        assert_eq!(r.reasons[0].rule, "M2");
        assert!(
            r.reasons[0].message.contains(label),
            "{}",
            r.reasons[0].message
        );
    }
    Ok(())
}

#[test]
fn m2_unacceptable_confidentiality_means_no_remote() -> TestResult {
    let r = result_of(&with(
        body(),
        "/confidentiality/risk",
        json!("unacceptable"),
    ))?;
    assert_eq!(r.remote, Remote::None);
    assert_eq!(r.reasons[0].rule, "M2");
    assert!(
        r.reasons[0]
            .message
            .contains("confidentiality and data protection")
    );
    Ok(())
}

#[test]
fn m1_no_client_agreement_means_no_remote() -> TestResult {
    let r = result_of(&with(body(), "/client_agreement", json!(false)))?;
    assert_eq!(r.remote, Remote::None);
    assert_eq!(r.reasons[0].rule, "M1");
    assert!(r.reasons[0].message.contains("not agreed"));
    Ok(())
}

#[test]
fn m1_high_risk_allows_at_most_partial() -> TestResult {
    let r = result_of(&with(body(), "/factors/competence/risk", json!("high")))?;
    assert_eq!(r.remote, Remote::Partial);
    assert_eq!(r.reasons[0].rule, "M1");
    assert!(r.reasons[0].message.contains("d) competence"));
    let r = result_of(&with(body(), "/confidentiality/risk", json!("high")))?;
    assert_eq!(r.remote, Remote::Partial);
    Ok(())
}

#[test]
fn m4_physical_processes_allow_at_most_partial() -> TestResult {
    let r = result_of(&with(body(), "/physical_processes", json!(true)))?;
    assert_eq!(r.remote, Remote::Partial);
    assert_eq!(r.reasons[0].rule, "M4");
    assert!(r.reasons[0].message.contains("physical processes"));
    Ok(())
}

#[test]
fn m4_physical_security_controls_allow_at_most_partial() -> TestResult {
    let r = result_of(&with(body(), "/physical_security_controls", json!(true)))?;
    assert_eq!(r.remote, Remote::Partial);
    assert_eq!(r.reasons[0].rule, "M4");
    assert!(r.reasons[0].message.contains("physical security controls"));
    Ok(())
}

#[test]
fn m4_virtual_sites_make_remote_part_of_the_plan_and_allow_full() -> TestResult {
    let r = result_of(&with(body(), "/virtual_sites", json!(true)))?;
    assert_eq!(r.remote, Remote::Full);
    assert!(
        r.reasons
            .iter()
            .any(|x| x.rule == "M4" && x.message.contains("part of the audit plan"))
    );
    // With no remote activity allowed, the reason says where their work is seen instead.
    let doc = with(
        with(body(), "/virtual_sites", json!(true)),
        "/client_agreement",
        json!(false),
    );
    let r = result_of(&doc)?;
    assert_eq!(r.remote, Remote::None);
    assert!(
        r.reasons
            .iter()
            .any(|x| x.rule == "M4" && x.message.contains("on site"))
    );
    Ok(())
}

#[test]
fn m2_none_outranks_partial_and_every_cause_is_listed() -> TestResult {
    let doc = with(
        with(body(), "/physical_processes", json!(true)),
        "/factors/scope/risk",
        json!("unacceptable"),
    );
    let r = result_of(&with(doc, "/client_agreement", json!(false)))?;
    assert_eq!(r.remote, Remote::None);
    let rules: Vec<&str> = r.reasons.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(rules, vec!["M2", "M1", "M4"]);
    Ok(())
}

#[test]
fn m5_stage_1_on_site_by_default_and_says_so() -> TestResult {
    // Not allowed: stage 1 on site.
    let doc = with(
        with(body(), "/audit", json!("stage_1")),
        "/factors/infrastructure/risk",
        json!("unacceptable"),
    );
    let r = result_of(&with(doc, "/planned_remote_percent", json!(0)))?;
    assert_eq!(r.remote, Remote::None);
    assert!(
        r.reasons
            .iter()
            .any(|x| x.rule == "M5" && x.message.contains("held on site (the default)"))
    );
    assert!(r.flags.is_empty());
    // Allowed: the result says remote stage 1 is the exception, and the report must say so.
    let r = result_of(&with(body(), "/audit", json!("stage_1")))?;
    assert_eq!(r.remote, Remote::Full);
    assert!(
        r.reasons
            .iter()
            .any(|x| x.rule == "M5" && x.message.contains("allow a full remote stage 1"))
    );
    assert_eq!(codes(&r), vec![FlagCode::RemoteStage1]);
    // Not stage 1: no M5 reason.
    let r = result_of(&body())?;
    assert!(r.reasons.iter().all(|x| x.rule != "M5"));
    Ok(())
}

#[test]
fn m5_remote_share_above_threshold_is_flagged() -> TestResult {
    let at = result_of(&with(body(), "/planned_remote_percent", json!(30)))?;
    assert!(at.flags.is_empty());
    let above = result_of(&with(body(), "/planned_remote_percent", json!(31)))?;
    assert_eq!(codes(&above), vec![FlagCode::RemoteShareAboveThreshold]);
    assert_eq!(above.flags[0].rule, "M5");
    // The threshold is the caller's [cfg].
    let a = parse(&with(body(), "/planned_remote_percent", json!(31)))?;
    assert!(assess(&a, 50).flags.is_empty());
    Ok(())
}

#[test]
fn m2_remote_planned_but_not_allowed_is_flagged() -> TestResult {
    let doc = with(body(), "/factors/sector/risk", json!("unacceptable"));
    let r = result_of(&doc)?;
    assert_eq!(codes(&r), vec![FlagCode::RemotePlannedButNotAllowed]);
    assert_eq!(r.flags[0].rule, "M2");
    let r = result_of(&with(body(), "/client_agreement", json!(false)))?;
    assert_eq!(r.flags[0].rule, "M1");
    // Nothing planned remote: nothing to flag.
    let r = result_of(&with(doc, "/planned_remote_percent", json!(0)))?;
    assert!(r.flags.is_empty());
    Ok(())
}

#[test]
fn m4_full_remote_planned_with_partial_allowed_is_flagged() -> TestResult {
    let doc = with(
        with(body(), "/physical_security_controls", json!(true)),
        "/planned_remote_percent",
        json!(100),
    );
    let r = result_of(&doc)?;
    assert_eq!(r.remote, Remote::Partial);
    assert_eq!(
        codes(&r),
        vec![
            FlagCode::RemoteShareAboveThreshold,
            FlagCode::FullRemotePlannedButPartialAllowed
        ]
    );
    assert_eq!(r.flags[1].rule, "M4");
    // 100% with a full remote audit allowed is consistent.
    let r = result_of(&with(body(), "/planned_remote_percent", json!(100)))?;
    assert_eq!(codes(&r), vec![FlagCode::RemoteShareAboveThreshold]);
    Ok(())
}

#[test]
fn m3_tools_required_when_remote_activity_is_planned() -> TestResult {
    for tools in [None, Some(json!([])), Some(json!(["  "]))] {
        let doc = match tools {
            None => without(body(), "tools"),
            Some(t) => with(body(), "/tools", t),
        };
        let Err(errors) = Assessment::from_json(&doc, crate::common::today()) else {
            return Err(format!("accepted {doc}"));
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].code, ErrorCode::Required);
        assert!(errors[0].field.starts_with("/tools"));
    }
    let Err(errors) = Assessment::from_json(&without(body(), "tools"), crate::common::today())
    else {
        return Err("accepted".into());
    };
    assert_eq!(errors[0].rule, "M3");
    // Nothing planned remote: no tools needed.
    let on_site = with(
        without(body(), "tools"),
        "/planned_remote_percent",
        json!(0),
    );
    assert!(parse(&on_site)?.tools.is_empty());
    Ok(())
}

#[test]
fn m3_assessment_built_without_tools_is_flagged() -> TestResult {
    let mut a = parse(&body())?;
    a.tools.clear();
    let r = assess(&a, THRESHOLD);
    assert_eq!(codes(&r), vec![FlagCode::ToolsNotStated]);
    assert_eq!(r.flags[0].rule, "M3");
    Ok(())
}

#[test]
fn m1_from_json_reports_every_error_at_once() -> TestResult {
    let mut doc = body();
    if let Some(factors) = doc.pointer_mut("/factors").and_then(Value::as_object_mut) {
        factors.remove("scope");
        factors.insert("sektor".into(), low("typo"));
    }
    let doc = with(doc, "/factors/sector/risk", json!("severe"));
    let doc = with(doc, "/factors/competence/note", json!(""));
    let doc = with(doc, "/planned_remote_percent", json!(101));
    let doc = with(doc, "/client_agreement", json!("yes"));
    let Err(errors) = Assessment::from_json(&doc, crate::common::today()) else {
        return Err("accepted".into());
    };
    let mut got: Vec<(&str, ErrorCode)> =
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    got.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        got,
        vec![
            ("/client_agreement", ErrorCode::InvalidType),
            ("/factors/competence/note", ErrorCode::Required),
            ("/factors/scope", ErrorCode::Required),
            ("/factors/sector/risk", ErrorCode::InvalidValue),
            ("/factors/sektor", ErrorCode::UnknownField),
            ("/planned_remote_percent", ErrorCode::OutOfRange),
        ]
    );
    assert!(errors.iter().all(|e| e.rule == "M1"));
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("did you mean `sector`"))
    );
    Ok(())
}

#[test]
fn m1_unknown_and_missing_top_level_fields_are_refused() -> TestResult {
    let mut doc = without(body(), "confidentiality");
    if let Some(map) = doc.as_object_mut() {
        map.insert("remote_percent".into(), json!(10));
    }
    let Err(errors) = Assessment::from_json(&doc, crate::common::today()) else {
        return Err("accepted".into());
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["/confidentiality", "/remote_percent"]);
    for not_an_object in [json!(null), json!([]), json!("x"), json!(3)] {
        let Err(errors) = Assessment::from_json(&not_an_object, crate::common::today()) else {
            return Err("accepted".into());
        };
        assert_eq!(errors.len(), 1);
    }
    Ok(())
}

#[test]
fn m1_every_audit_type_and_risk_reads() -> TestResult {
    let audits = [
        ("stage_1", AuditType::Stage1),
        ("stage_2", AuditType::Stage2),
        ("surveillance_1", AuditType::Surveillance1),
        ("surveillance_2", AuditType::Surveillance2),
        ("recertification", AuditType::Recertification),
        ("special", AuditType::Special),
    ];
    for (name, audit) in audits {
        assert_eq!(parse(&with(body(), "/audit", json!(name)))?.audit, audit);
    }
    let risks = [
        ("low", Risk::Low),
        ("medium", Risk::Medium),
        ("high", Risk::High),
        ("unacceptable", Risk::Unacceptable),
    ];
    for (name, risk) in risks {
        let a = parse(&with(body(), "/factors/scope/risk", json!(name)))?;
        assert_eq!(a.factors.scope.risk, risk);
    }
    Ok(())
}

#[test]
fn m3_assessment_and_result_are_stored_and_read_back() -> Result<(), Box<dyn std::error::Error>> {
    let doc = with(
        with(body(), "/physical_processes", json!(true)),
        "/planned_remote_percent",
        json!(100),
    );
    let a = Assessment::from_json(&doc, crate::common::today()).map_err(|e| format!("{e:?}"))?;
    let r = assess(&a, THRESHOLD);
    // The stored assessment reads back through the same door it came in.
    let stored = serde_json::to_value(&a)?;
    // M1: without `assessed_on`, the assessment was made the day it is recorded.
    let mut expected = doc.clone();
    expected["assessed_on"] = json!("2026-11-23");
    assert_eq!(stored, expected);
    assert_eq!(
        Assessment::from_json(&stored, crate::common::today()).map_err(|e| format!("{e:?}"))?,
        a
    );
    let stored = serde_json::to_value(&r)?;
    assert_eq!(stored["audit"], "surveillance_1");
    assert_eq!(stored["remote"], "partial");
    assert_eq!(
        stored["flags"][1]["code"],
        "full_remote_planned_but_partial_allowed"
    );
    assert_eq!(stored["reasons"][0]["rule"], "M4");
    let back: AssessmentResult = serde_json::from_value(stored)?;
    assert_eq!(back, r);
    Ok(())
}

fn arb_json() -> impl Strategy<Value = Value> {
    const KEYS: &[&str] = &[
        "audit",
        "factors",
        "infrastructure",
        "sector",
        "audit_type",
        "competence",
        "past_performance",
        "scope",
        "risk",
        "note",
        "confidentiality",
        "client_agreement",
        "physical_processes",
        "physical_security_controls",
        "virtual_sites",
        "planned_remote_percent",
        "tools",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e3f64..1e3).prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
        prop::sample::select(vec![
            "stage_1",
            "surveillance_2",
            "low",
            "high",
            "unacceptable",
            "Teams",
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

fn arb_risk() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["low", "medium", "high", "unacceptable"])
}

/// A valid body with random risks, facts and share.
fn arb_body() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(arb_risk(), 7),
        prop::collection::vec(any::<bool>(), 4),
        0u8..=100,
        prop::sample::select(AuditType::NAMES.to_vec()),
    )
        .prop_map(|(risks, facts, percent, audit)| {
            let mut doc = body();
            for (factor, risk) in FACTORS.iter().zip(&risks) {
                doc = with(doc, &format!("/factors/{factor}/risk"), json!(risk));
            }
            doc = with(doc, "/confidentiality/risk", json!(risks[6]));
            for (name, fact) in [
                "client_agreement",
                "physical_processes",
                "physical_security_controls",
                "virtual_sites",
            ]
            .iter()
            .zip(&facts)
            {
                doc = with(doc, &format!("/{name}"), json!(fact));
            }
            doc = with(doc, "/audit", json!(audit));
            with(doc, "/planned_remote_percent", json!(percent))
        })
}

proptest! {
    #[test]
    fn m1_arbitrary_json_never_panics(doc in arb_json()) {
        match Assessment::from_json(&doc, crate::common::today()) {
            Ok(a) => {
                let r = assess(&a, THRESHOLD);
                prop_assert!(!r.reasons.is_empty());
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.iter().all(|e| e.rule == "M1" || e.rule == "M3"));
            }
        }
    }

    #[test]
    fn m1_m5_outcome_follows_the_rules(doc in arb_body(), threshold in 0u32..=100) {
        let a = Assessment::from_json(&doc, crate::common::today()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let r = assess(&a, threshold);
        let risks: Vec<Risk> = a.factors.labelled().iter().map(|(_, f)| f.risk)
            .chain([a.confidentiality.risk]).collect();
        let expected = if risks.contains(&Risk::Unacceptable) || !a.client_agreement {
            Remote::None
        } else if risks.contains(&Risk::High) || a.physical_processes || a.physical_security_controls {
            Remote::Partial
        } else {
            Remote::Full
        };
        prop_assert_eq!(r.remote, expected);
        prop_assert!(!r.reasons.is_empty());
        let flagged = |code| r.flags.iter().any(|f| f.code == code);
        let planned = u32::from(a.planned_remote_percent);
        prop_assert_eq!(flagged(FlagCode::RemoteShareAboveThreshold), planned > threshold);
        prop_assert_eq!(flagged(FlagCode::RemotePlannedButNotAllowed), planned > 0 && expected == Remote::None);
        prop_assert_eq!(flagged(FlagCode::FullRemotePlannedButPartialAllowed), planned == 100 && expected == Remote::Partial);
        prop_assert_eq!(
            r.reasons.iter().any(|x| x.rule == "M5"),
            a.audit == AuditType::Stage1
        );
        let text = serde_json::to_string(&r).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: AssessmentResult = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, r);
    }
}

#[test]
fn m3_flag_codes_serialise_as_documented() -> Result<(), serde_json::Error> {
    let expected = [
        (
            FlagCode::RemoteShareAboveThreshold,
            "remote_share_above_threshold",
        ),
        (
            FlagCode::RemotePlannedButNotAllowed,
            "remote_planned_but_not_allowed",
        ),
        (
            FlagCode::FullRemotePlannedButPartialAllowed,
            "full_remote_planned_but_partial_allowed",
        ),
        (FlagCode::ToolsNotStated, "tools_not_stated"),
        (FlagCode::RemoteStage1, "remote_stage_1"),
    ];
    for (code, name) in expected {
        assert_eq!(serde_json::to_value(code)?, json!(name));
    }
    for (remote, name) in [
        (Remote::Full, "full"),
        (Remote::Partial, "partial"),
        (Remote::None, "none"),
    ] {
        assert_eq!(serde_json::to_value(remote)?, json!(name));
    }
    Ok(())
}

/// R1: the stored assessment names who recorded it (the authenticated principal) beside the
/// assessor the body names, and an assessment stored before `by` was kept still reads.
#[test]
fn r1_assessment_record_keeps_who_recorded_it_beside_the_assessor() -> TestResult {
    use certflow_domain::audit::remote::AssessmentRecord;
    let assessment = parse(&body())?;
    let result = assess(&assessment, THRESHOLD);
    let record = AssessmentRecord {
        at: chrono::DateTime::UNIX_EPOCH,
        by: "operator:alice".to_string(),
        assessment,
        result,
    };
    let stored = serde_json::to_value(&record).map_err(|e| e.to_string())?;
    assert_eq!(stored["by"], "operator:alice");
    assert_eq!(stored["assessment"]["assessor"], "Zhao Min");
    let mut older = stored;
    older.as_object_mut().ok_or("object")?.remove("by");
    let read: AssessmentRecord = serde_json::from_value(older).map_err(|e| e.to_string())?;
    assert_eq!(read.by, "");
    Ok(())
}

#[test]
fn m1_an_assessment_states_the_day_it_was_made_by_default_the_day_it_is_recorded() -> TestResult {
    let today = crate::common::today();
    assert_eq!(parse(&body())?.assessed_on, Some(today));
    let mut earlier = body();
    earlier["assessed_on"] = json!("2026-11-02");
    assert_eq!(
        parse(&earlier)?.assessed_on,
        Some(crate::common::day(2026, 11, 2))
    );
    // The day it is recorded is the latest it may be made.
    let mut same_day = body();
    same_day["assessed_on"] = json!("2026-11-23");
    assert_eq!(parse(&same_day)?.assessed_on, Some(today));
    Ok(())
}

#[test]
fn r1_an_assessment_cannot_be_made_after_the_day_it_is_recorded() {
    let mut tomorrow = body();
    tomorrow["assessed_on"] = json!("2026-11-24");
    let errors = Assessment::from_json(&tomorrow, crate::common::today())
        .err()
        .unwrap_or_default();
    let got: Vec<(&str, ErrorCode, &str)> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.code, e.rule))
        .collect();
    assert_eq!(got, [("/assessed_on", ErrorCode::OutOfRange, "R1")]);
}
