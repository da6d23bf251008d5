//! Rules P1–P6 (complaints and appeals) and R2 (records retention) of docs/CYCLE.md, each at
//! its boundary.

use crate::common::cb::{audit_body, client, close_all, person, person_json, record, register};
use crate::common::day;
use certflow_domain::audit::AuditRecord;
use certflow_domain::cycle::complaints::{
    AcknowledgeRequest, AppealRequest, Case, CaseDecisionRequest, CaseKind, CaseRefusal, CaseState,
    CloseRequest, CommunicationRequest, ComplaintRequest, InvestigationRequest, Involvement,
    Subject, acknowledge, check_short_notice_complaint, close, communicate, decide, investigate,
    lodge_appeal, lodge_complaint, normalize_reference, reference_from,
};
use certflow_domain::cycle::retention::{
    application_retain_until, case_retain_until, certificate_retain_until, is_past, years_after,
};
use certflow_domain::decision::DecisionSettings;
use certflow_domain::people::Person;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

type TestResult = Result<(), String>;

const OPERATOR: &str = "operator:li";

fn at(d: NaiveDate) -> Result<DateTime<Utc>, String> {
    d.and_hms_opt(9, 0, 0)
        .map(|t| t.and_utc())
        .ok_or_else(|| "time".to_string())
}

fn complaint_body() -> Value {
    json!({
        "complainant": { "name": "Zhou Min", "email": "zhou.min@example.org", "phone": "+86 21 5555 0199" },
        "subject": { "kind": "certified_client", "certificate": "CF-2026-000001" },
        "description": "The certified company leaked my personal data."
    })
}

fn fields(
    result: Result<ComplaintRequest, Vec<certflow_domain::FieldError>>,
) -> Vec<(String, String)> {
    match result {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|e| (e.field, e.rule.to_string()))
            .collect(),
    }
}

/// A complaint about CF-2026-000001 received on `on`, acknowledged the same day.
fn acknowledged(on: NaiveDate) -> Result<Case, String> {
    let request = ComplaintRequest::from_json(&complaint_body()).map_err(|e| format!("{e:?}"))?;
    let mut case = lodge_complaint(
        request,
        reference_from(CaseKind::Complaint, &[7; 16]),
        "public",
        at(on)?,
    );
    acknowledge(
        &mut case,
        AcknowledgeRequest {
            communication: None,
        },
        OPERATOR,
        at(on)?,
    )
    .map_err(|e| format!("{e:?}"))?;
    Ok(case)
}

/// The stage 2 of the client (p-lead, p-auditor), its NCs verified by p-lead.
fn client_audits() -> Result<Vec<AuditRecord>, String> {
    let mut a = record(&audit_body(), "audit-2")?;
    close_all(&mut a, "2026-03-10", "2026-03-20")?;
    Ok(vec![a])
}

fn people() -> Result<Vec<(String, Person)>, String> {
    let mut people = register()?;
    people.push(("p-other".into(), person(&person_json("Zhao Min"))?));
    Ok(people)
}

fn find<'a>(people: &'a [(String, Person)], id: &str) -> Option<&'a Person> {
    people.iter().find(|(p, _)| p == id).map(|(_, p)| p)
}

fn violations(result: Result<(), CaseRefusal>) -> Vec<String> {
    match result {
        Err(CaseRefusal::Rules(v)) => v.into_iter().map(|v| v.rule).collect(),
        other => vec![format!("{other:?}")],
    }
}

fn investigation(investigator: &str) -> InvestigationRequest {
    InvestigationRequest {
        investigator: investigator.into(),
        findings: "the client's breach log confirms it".into(),
    }
}

fn decision(
    maker: &str,
    outcome: &str,
    short_notice: Option<bool>,
) -> Result<CaseDecisionRequest, String> {
    let mut body = json!({ "decision_maker": maker, "outcome": outcome, "reasons": "confirmed" });
    if let Some(s) = short_notice {
        body["short_notice_audit"] = json!(s);
    }
    CaseDecisionRequest::from_json(&body).map_err(|e| format!("{e:?}"))
}

#[test]
fn p1_a_complaint_about_a_certified_client_is_received_by_the_public() -> TestResult {
    let request = ComplaintRequest::from_json(&complaint_body()).map_err(|e| format!("{e:?}"))?;
    let reference = reference_from(CaseKind::Complaint, &[0xab; 16]);
    assert_eq!(reference, format!("CP-{}", "AB".repeat(16)));
    let case = lodge_complaint(request, reference.clone(), "public", at(day(2027, 1, 5))?);
    assert_eq!(case.state, CaseState::Received);
    assert_eq!(case.received_on, day(2027, 1, 5));
    assert_eq!(case.history.len(), 1);
    assert_eq!(case.history[0].by, "public");
    assert_eq!(case.history[0].rules, ["P1"]);
    assert!(
        matches!(&case.subject, Subject::CertifiedClient { certificate } if certificate == "CF-2026-000001")
    );
    assert_eq!(
        normalize_reference(CaseKind::Complaint, &reference.to_lowercase()),
        Some(reference.clone())
    );
    assert_eq!(normalize_reference(CaseKind::Appeal, &reference), None);
    assert_eq!(normalize_reference(CaseKind::Complaint, "CP-123"), None);
    Ok(())
}

#[test]
fn p1_a_complaint_about_the_cb_names_no_certificate() -> TestResult {
    let mut body = complaint_body();
    body["subject"] = json!({ "kind": "certification_body" });
    let request = ComplaintRequest::from_json(&body).map_err(|e| format!("{e:?}"))?;
    assert_eq!(request.subject, Subject::CertificationBody);
    body["subject"]["certificate"] = json!("CF-2026-000001");
    assert_eq!(
        fields(ComplaintRequest::from_json(&body)),
        [("/subject/certificate".to_string(), "P1".to_string())]
    );
    Ok(())
}

#[test]
fn p1_a_blank_certificate_is_required_never_a_complaint_about_the_cb() {
    for blank in ["", "   "] {
        let mut body = complaint_body();
        body["subject"] = json!({ "kind": "certified_client", "certificate": blank });
        assert_eq!(
            fields(ComplaintRequest::from_json(&body)),
            [("/subject/certificate".to_string(), "P1".to_string())],
            "{blank:?}"
        );
    }
}

#[test]
fn p1_every_error_at_once_missing_unknown_and_malformed_fields() {
    let body = json!({
        "complainant": { "name": "", "email": "not an email", "fax": "1" },
        "subject": { "kind": "certified_client" },
        "colour": "red"
    });
    let found = fields(ComplaintRequest::from_json(&body));
    for field in [
        "/complainant/name",
        "/complainant/email",
        "/complainant/fax",
        "/subject/certificate",
        "/description",
        "/colour",
    ] {
        assert!(
            found.iter().any(|(f, rule)| f == field && rule == "P1"),
            "{field}: {found:?}"
        );
    }
    assert!(!fields(ComplaintRequest::from_json(&json!("text"))).is_empty());
}

#[test]
fn p2_the_lifecycle_in_order_each_step_by_the_authenticated_operator() -> TestResult {
    let people = people()?;
    let audits = client_audits()?;
    let client = client();
    let makers = vec![("p-dm".to_string(), "certification decision".to_string())];
    let involvement = Involvement {
        client: Some(&client),
        audits: &audits,
        decision_makers: &makers,
    };
    let on = day(2027, 1, 5);
    let mut case = acknowledged(on)?;
    assert_eq!(case.history[1].by, OPERATOR);
    investigate(
        &mut case,
        investigation("p-other"),
        find(&people, "p-other"),
        &involvement,
        OPERATOR,
        at(on)?,
        &DecisionSettings::default(),
    )
    .map_err(|e| format!("{e:?}"))?;
    decide(
        &mut case,
        decision("p-other", "upheld", Some(true))?,
        find(&people, "p-other"),
        &involvement,
        "operator:wu",
        at(day(2027, 1, 6))?,
        &DecisionSettings::default(),
    )
    .map_err(|e| format!("{e:?}"))?;
    let closing = CloseRequest::from_json(&json!({ "communication": { "on": "2027-01-07", "summary": "upheld; a short-notice audit follows" } }))
        .map_err(|e| format!("{e:?}"))?;
    close(&mut case, closing, OPERATOR, at(day(2027, 1, 7))?).map_err(|e| format!("{e:?}"))?;
    assert_eq!(case.state, CaseState::Closed);
    let states: Vec<CaseState> = case.history.iter().map(|h| h.state).collect();
    assert_eq!(states, CaseState::ALL);
    assert_eq!(case.history[3].by, "operator:wu");
    assert_eq!(
        case.investigation
            .as_ref()
            .map(|i| i.investigator.name.as_str()),
        Some("Zhao Min")
    );
    assert_eq!(case.communications.len(), 1);
    assert!(case.communications[0].outcome);
    assert_eq!(case.communications[0].on, day(2027, 1, 7));
    let public = case.public_view();
    assert_eq!(public.decided_on, Some(day(2027, 1, 6)));
    assert_eq!(public.closed_on, Some(day(2027, 1, 7)));
    Ok(())
}

#[test]
fn p2_a_step_out_of_order_names_the_current_state() -> TestResult {
    let on = day(2027, 1, 5);
    let mut case = acknowledged(on)?;
    let refused = acknowledge(
        &mut case,
        AcknowledgeRequest {
            communication: None,
        },
        OPERATOR,
        at(on)?,
    );
    assert_eq!(
        refused,
        Err(CaseRefusal::Transition {
            current: CaseState::Acknowledged,
            requested: CaseState::Acknowledged
        })
    );
    let closing = CloseRequest::from_json(
        &json!({ "communication": { "on": "2027-01-05", "summary": "x" } }),
    )
    .map_err(|e| format!("{e:?}"))?;
    let refused = close(&mut case, closing, OPERATOR, at(on)?);
    assert_eq!(
        refused,
        Err(CaseRefusal::Transition {
            current: CaseState::Acknowledged,
            requested: CaseState::Closed
        })
    );
    assert_eq!(case.history.len(), 2);
    Ok(())
}

#[test]
fn p2_a_communication_is_not_after_today_nor_before_the_case() -> TestResult {
    let on = day(2027, 1, 5);
    let mut case = acknowledged(on)?;
    let later = CommunicationRequest {
        on: day(2027, 1, 6),
        summary: "x".into(),
    };
    assert!(
        matches!(communicate(&mut case, later, OPERATOR, at(on)?), Err(CaseRefusal::Fields(e)) if e[0].rule == "P2")
    );
    let before = CommunicationRequest {
        on: day(2027, 1, 4),
        summary: "x".into(),
    };
    assert!(
        matches!(communicate(&mut case, before, OPERATOR, at(on)?), Err(CaseRefusal::Fields(e)) if e[0].rule == "P2")
    );
    let same_day = CommunicationRequest {
        on,
        summary: "called the complainant".into(),
    };
    communicate(&mut case, same_day, OPERATOR, at(on)?).map_err(|e| format!("{e:?}"))?;
    assert_eq!(case.state, CaseState::Acknowledged);
    assert_eq!(case.history.len(), 3);
    Ok(())
}

#[test]
fn p3_investigator_in_the_audit_team_is_refused() -> TestResult {
    let people = people()?;
    let audits = client_audits()?;
    let client = client();
    let involvement = Involvement {
        client: Some(&client),
        audits: &audits,
        decision_makers: &[],
    };
    let on = day(2027, 1, 5);
    let mut case = acknowledged(on)?;
    // p-lead led the audit and verified its nonconformities: D1 twice (team, verifier).
    let refused = investigate(
        &mut case,
        investigation("p-lead"),
        find(&people, "p-lead"),
        &involvement,
        OPERATOR,
        at(on)?,
        &DecisionSettings::default(),
    );
    let rules = violations(refused);
    assert!(
        !rules.is_empty() && rules.iter().all(|r| r == "D1"),
        "{rules:?}"
    );
    assert_eq!(case.state, CaseState::Acknowledged);
    Ok(())
}

#[test]
fn p3_every_violation_at_once_not_registered_decision_maker_and_consultant() -> TestResult {
    let people = people()?;
    let audits = client_audits()?;
    let client = client();
    let makers = vec![(
        "p-consultant".to_string(),
        "certification decision".to_string(),
    )];
    let involvement = Involvement {
        client: Some(&client),
        audits: &audits,
        decision_makers: &makers,
    };
    let on = day(2027, 1, 5);
    let mut case = acknowledged(on)?;
    // Consulted until 2025-06-30: within 2 years of 2027-01-05 (D4); made the decision (P3).
    let refused = investigate(
        &mut case,
        investigation("p-consultant"),
        find(&people, "p-consultant"),
        &involvement,
        OPERATOR,
        at(on)?,
        &DecisionSettings::default(),
    );
    assert_eq!(violations(refused), ["P3", "D4"]);
    let refused = investigate(
        &mut case,
        investigation("nobody"),
        None,
        &involvement,
        OPERATOR,
        at(on)?,
        &DecisionSettings::default(),
    );
    assert_eq!(violations(refused), ["P3"]);
    Ok(())
}

#[test]
fn p3_d4_consultancy_ended_exactly_two_years_before_no_longer_bars() -> TestResult {
    let people = people()?;
    let client = client();
    let involvement = Involvement {
        client: Some(&client),
        audits: &[],
        decision_makers: &[],
    };
    // Consultancy ended 2025-06-30: on 2027-06-30 two years have elapsed, on 2027-06-29 not.
    let mut case = acknowledged(day(2027, 6, 29))?;
    let refused = investigate(
        &mut case,
        investigation("p-consultant"),
        find(&people, "p-consultant"),
        &involvement,
        OPERATOR,
        at(day(2027, 6, 29))?,
        &DecisionSettings::default(),
    );
    assert_eq!(violations(refused), ["D4"]);
    investigate(
        &mut case,
        investigation("p-consultant"),
        find(&people, "p-consultant"),
        &involvement,
        OPERATOR,
        at(day(2027, 6, 30))?,
        &DecisionSettings::default(),
    )
    .map_err(|e| format!("{e:?}"))?;
    Ok(())
}

#[test]
fn p3_decision_maker_of_the_decision_concerned_is_refused() -> TestResult {
    let people = people()?;
    let client = client();
    let makers = vec![("p-dm".to_string(), "certification decision".to_string())];
    let involvement = Involvement {
        client: Some(&client),
        audits: &[],
        decision_makers: &makers,
    };
    let on = day(2027, 1, 5);
    let mut case = acknowledged(on)?;
    investigate(
        &mut case,
        investigation("p-other"),
        find(&people, "p-other"),
        &involvement,
        OPERATOR,
        at(on)?,
        &DecisionSettings::default(),
    )
    .map_err(|e| format!("{e:?}"))?;
    let refused = decide(
        &mut case,
        decision("P-DM", "not_upheld", None)?,
        find(&people, "p-dm"),
        &involvement,
        OPERATOR,
        at(on)?,
        &DecisionSettings::default(),
    );
    assert_eq!(violations(refused), ["P3"]);
    assert_eq!(case.state, CaseState::Investigated);
    Ok(())
}

#[test]
fn p4_an_appeal_of_a_decision_is_received_and_follows_the_same_lifecycle() -> TestResult {
    let body = json!({ "appellant": { "name": "Li Wei", "email": "li.wei@acme.example" },
                       "decision": "certification", "grounds": "the refusal ignored our evidence" });
    let request = AppealRequest::from_json(&body).map_err(|e| format!("{e:?}"))?;
    let on = day(2027, 2, 1);
    let mut case = lodge_appeal(
        request,
        "0123",
        reference_from(CaseKind::Appeal, &[1; 16]),
        "applicant",
        at(on)?,
    );
    assert!(case.reference.starts_with("AP-"));
    assert_eq!(case.kind, CaseKind::Appeal);
    assert_eq!(case.history[0].rules, ["P4"]);
    assert!(
        matches!(&case.subject, Subject::Decision { decision, .. } if decision == "certification")
    );
    acknowledge(
        &mut case,
        AcknowledgeRequest {
            communication: None,
        },
        OPERATOR,
        at(on)?,
    )
    .map_err(|e| format!("{e:?}"))?;
    assert_eq!(case.state, CaseState::Acknowledged);
    let mut bad = body.clone();
    bad["decision"] = json!(null);
    bad["extra"] = json!(1);
    let errors = AppealRequest::from_json(&bad).err().unwrap_or_default();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|e| e.rule == "P4"));
    Ok(())
}

#[test]
fn p5_the_public_view_has_state_and_dates_only() -> TestResult {
    let case = acknowledged(day(2027, 1, 5))?;
    let public = serde_json::to_value(case.public_view()).map_err(|e| e.to_string())?;
    let text = public.to_string();
    for secret in [
        "Zhou Min",
        "zhou.min@example.org",
        "5555",
        "leaked",
        "CF-2026-000001",
        "operator",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(public["state"], "acknowledged");
    assert_eq!(public["acknowledged_on"], "2027-01-05");
    assert!(public["decided_on"].is_null());
    Ok(())
}

#[test]
fn p6_short_notice_audit_only_after_an_upheld_complaint_about_a_client() -> TestResult {
    let people = people()?;
    let involvement = Involvement {
        client: None,
        audits: &[],
        decision_makers: &[],
    };
    let on = day(2027, 1, 5);
    let mut case = acknowledged(on)?;
    investigate(
        &mut case,
        investigation("p-other"),
        find(&people, "p-other"),
        &involvement,
        OPERATOR,
        at(on)?,
        &DecisionSettings::default(),
    )
    .map_err(|e| format!("{e:?}"))?;
    let refused = decide(
        &mut case,
        decision("p-other", "not_upheld", Some(true))?,
        find(&people, "p-other"),
        &involvement,
        OPERATOR,
        at(on)?,
        &DecisionSettings::default(),
    );
    assert!(
        matches!(refused, Err(CaseRefusal::Fields(e)) if e[0].rule == "P6" && e[0].field == "/short_notice_audit")
    );
    // Not yet decided: no short-notice audit.
    assert!(check_short_notice_complaint(&case, Some("CF-2026-000001")).is_err());
    decide(
        &mut case,
        decision("p-other", "upheld", Some(true))?,
        find(&people, "p-other"),
        &involvement,
        OPERATOR,
        at(on)?,
        &DecisionSettings::default(),
    )
    .map_err(|e| format!("{e:?}"))?;
    assert_eq!(
        case.decision.as_ref().map(|d| d.short_notice_audit),
        Some(true)
    );
    assert!(
        case.history
            .last()
            .is_some_and(|h| h.rules.contains(&"P6".to_string()))
    );
    assert_eq!(
        check_short_notice_complaint(&case, Some("cf-2026-000001")),
        Ok(())
    );
    let other = check_short_notice_complaint(&case, Some("CF-2026-000002"));
    assert!(matches!(other, Err(v) if v.rule == "X2"));
    assert!(check_short_notice_complaint(&case, None).is_err());
    let bad = CaseDecisionRequest::from_json(
        &json!({ "decision_maker": "x", "outcome": "upheld", "reasons": "r", "short_notice_audit": "yes" }),
    );
    assert!(matches!(bad, Err(e) if e[0].rule == "P6"));
    Ok(())
}

#[test]
fn r2_a_certificate_is_kept_one_full_cycle_after_its_expiry() {
    assert_eq!(
        certificate_retain_until(day(2029, 11, 22)),
        day(2032, 11, 22)
    );
    // A month end stays a month end; 29 February becomes 28 February three years later.
    assert_eq!(certificate_retain_until(day(2028, 2, 29)), day(2031, 2, 28));
    assert_eq!(years_after(day(2027, 2, 28), 3), day(2030, 2, 28));
    assert_eq!(years_after(day(2029, 2, 28), 3), day(2032, 2, 28));
    assert_eq!(years_after(day(2026, 12, 31), 3), day(2029, 12, 31));
}

#[test]
fn r2_an_application_is_kept_by_its_certificate_or_from_the_day_it_closed() {
    assert_eq!(
        application_retain_until(Some(day(2029, 1, 10)), None),
        Some(day(2032, 1, 10))
    );
    assert_eq!(
        application_retain_until(Some(day(2029, 1, 10)), Some(day(2026, 1, 1))),
        Some(day(2032, 1, 10))
    );
    assert_eq!(
        application_retain_until(None, Some(day(2026, 3, 31))),
        Some(day(2029, 3, 31))
    );
    assert_eq!(application_retain_until(None, None), None);
}

#[test]
fn r2_a_case_is_kept_from_its_closing_or_its_certificate_whichever_later() {
    assert_eq!(case_retain_until(None, Some(day(2029, 1, 10))), None);
    assert_eq!(
        case_retain_until(Some(day(2027, 5, 1)), None),
        Some(day(2030, 5, 1))
    );
    assert_eq!(
        case_retain_until(Some(day(2027, 5, 1)), Some(day(2029, 1, 10))),
        Some(day(2032, 1, 10))
    );
    assert_eq!(
        case_retain_until(Some(day(2030, 5, 1)), Some(day(2029, 1, 10))),
        Some(day(2033, 5, 1))
    );
}

#[test]
fn r2_past_from_the_day_after_retain_until() {
    let until = day(2032, 2, 29);
    assert!(!is_past(until, day(2032, 2, 28)));
    assert!(!is_past(until, until));
    assert!(is_past(until, day(2032, 3, 1)));
    let year_end = day(2031, 12, 31);
    assert!(!is_past(year_end, year_end));
    assert!(is_past(year_end, day(2032, 1, 1)));
}
