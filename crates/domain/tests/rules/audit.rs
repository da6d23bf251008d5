//! Rules N1–N3, M1–M3 and D4 when an audit is recorded: reading the body (every error at
//! once), numbering and deadlines, the systemic-minor flag, remote use against the latest
//! assessment, team impartiality, responses and verification.

use crate::common::cb::{
    STANDARDS, assessment, audit_body, record, record_with, register, request, response,
    verification, with_context,
};
use crate::common::day;
use certflow_domain::ErrorCode;
use certflow_domain::audit::remote::Remote;
use certflow_domain::audit::{
    AuditRecord, NcSettings, NcState, Severity, add_working_days, due_date, record_audit, respond,
    verify,
};
use certflow_domain::intake::application::StandardCode;
use serde_json::{Value, json};

type TestResult = Result<(), String>;

fn with(mut doc: Value, pointer: &str, value: Value) -> Value {
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = value;
    }
    doc
}

fn minor(process: &str) -> Value {
    json!({ "severity": "minor", "clause": "A.8.1", "statement": "s", "evidence": "e", "process": process })
}

#[test]
fn n1_n2_records_ids_and_due_dates() -> TestResult {
    let r = record(&audit_body(), "audit-1")?;
    let ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["nc-1", "nc-2", "ofi-1"]);
    // Wed 2026-03-04 + 30 working days = six weeks later, Wed 2026-04-15.
    assert_eq!(
        r.finding("nc-1").and_then(|f| f.due_on),
        Some(day(2026, 4, 15))
    );
    assert_eq!(
        r.finding("nc-2").and_then(|f| f.due_on),
        Some(day(2026, 6, 4))
    );
    // N1: an opportunity is not an NC: no deadline.
    assert_eq!(r.finding("ofi-1").and_then(|f| f.due_on), None);
    assert!(
        r.reasons
            .iter()
            .any(|x| x.rule == "N2" && x.message.contains("no holiday calendar"))
    );
    Ok(())
}

#[test]
fn n2_working_days_skip_weekends() {
    // Friday + 1 working day = Monday; Saturday + 1 = Monday; Friday + 5 = next Friday.
    assert_eq!(add_working_days(day(2026, 3, 6), 1), day(2026, 3, 9));
    assert_eq!(add_working_days(day(2026, 3, 7), 1), day(2026, 3, 9));
    assert_eq!(add_working_days(day(2026, 3, 6), 5), day(2026, 3, 13));
    assert_eq!(add_working_days(day(2026, 3, 6), 0), day(2026, 3, 6));
    // Across a month end and a year end: Thu 2026-12-31 + 30 = Thu 2027-02-11.
    assert_eq!(add_working_days(day(2026, 12, 31), 30), day(2027, 2, 11));
}

#[test]
fn n2_minor_deadline_clamps_at_month_end() {
    let s = NcSettings::default();
    assert_eq!(
        due_date(Severity::Minor, day(2026, 11, 30), &s),
        Some(day(2027, 2, 28))
    );
    assert_eq!(
        due_date(Severity::Minor, day(2027, 11, 30), &s),
        Some(day(2028, 2, 29))
    );
    assert_eq!(due_date(Severity::Opportunity, day(2026, 11, 30), &s), None);
    let longer = NcSettings {
        major_working_days: 10,
        ..NcSettings::default()
    };
    assert_eq!(
        due_date(Severity::Major, day(2026, 3, 6), &longer),
        Some(day(2026, 3, 20))
    );
}

#[test]
fn n1_two_minors_in_a_process_no_flag_three_flag_other_processes_separate() -> TestResult {
    let two = with(
        audit_body(),
        "/findings",
        json!([
            minor("access control"),
            minor("Access Control "),
            minor("hr"),
            minor("hr2")
        ]),
    );
    assert!(record(&two, "a")?.systemic_flags.is_empty());
    let three = with(
        audit_body(),
        "/findings",
        json!([
            minor("access control"),
            minor("hr"),
            minor("Access Control "),
            minor("access control"),
            minor("hr")
        ]),
    );
    let r = record(&three, "a")?;
    assert_eq!(r.systemic_flags.len(), 1, "{:?}", r.systemic_flags);
    let flag = r.systemic_flags.first().ok_or("no flag")?;
    assert_eq!(flag.rule, "N1");
    assert_eq!(flag.process, "access control");
    assert_eq!(flag.nc_ids, ["nc-1", "nc-3", "nc-4"]);
    // A flag, not an upgrade: all are still minors.
    assert!(
        r.findings
            .iter()
            .all(|f| f.finding.severity == Severity::Minor)
    );
    Ok(())
}

#[test]
fn n1_opportunities_do_not_count_toward_the_systemic_flag() -> TestResult {
    let ofi =
        json!({ "severity": "opportunity", "clause": "6.2", "statement": "s", "process": "hr" });
    let body = with(
        audit_body(),
        "/findings",
        json!([minor("hr"), minor("hr"), ofi]),
    );
    assert!(record(&body, "a")?.systemic_flags.is_empty());
    Ok(())
}

fn record_with_remote(
    audit_type: &str,
    assessments: &[certflow_domain::audit::remote::AssessmentRecord],
) -> Result<AuditRecord, Vec<certflow_domain::violation::Violation>> {
    let body = with(
        with(
            audit_body(),
            "/remote",
            json!({ "used": true, "tools": ["Microsoft Teams"] }),
        ),
        "/type",
        json!(audit_type),
    );
    let req =
        request(&body).map_err(|e| vec![certflow_domain::violation::Violation::new("test", e)])?;
    record_with(req, "a", assessments)
}

#[test]
fn m1_remote_use_without_an_assessment_is_refused() -> TestResult {
    let Err(v) = record_with_remote("stage_2", &[]) else {
        return Err("accepted".into());
    };
    assert_eq!(v.len(), 1);
    assert!(v.iter().all(|x| x.rule == "M1"), "{v:?}");
    // An assessment for another audit type does not count.
    let other = assessment("stage_1", &[])?;
    let Err(v) = record_with_remote("stage_2", &[other]) else {
        return Err("accepted".into());
    };
    assert!(v.iter().all(|x| x.rule == "M1"), "{v:?}");
    Ok(())
}

#[test]
fn m2_remote_use_the_assessment_forbids_is_refused() -> TestResult {
    let none = assessment("stage_2", &[("/client_agreement", json!(false))])?;
    let Err(v) = record_with_remote("stage_2", &[none]) else {
        return Err("accepted".into());
    };
    assert!(v.len() == 1 && v.iter().all(|x| x.rule == "M2"), "{v:?}");
    Ok(())
}

#[test]
fn m1_remote_use_with_an_allowing_assessment_is_recorded() -> TestResult {
    let full = assessment("stage_2", &[])?;
    let r = record_with_remote("stage_2", &[full]).map_err(|v| format!("{v:?}"))?;
    assert_eq!(r.remote_allowed, Some(Remote::Full));
    let partial = assessment("stage_2", &[("/physical_processes", json!(true))])?;
    let r = record_with_remote("stage_2", &[partial]).map_err(|v| format!("{v:?}"))?;
    assert_eq!(r.remote_allowed, Some(Remote::Partial));
    Ok(())
}

#[test]
fn m1_the_latest_assessment_counts() -> TestResult {
    let allowing = assessment("stage_2", &[])?;
    let mut forbidding = assessment("stage_2", &[("/client_agreement", json!(false))])?;
    forbidding.at += chrono::Duration::days(1);
    let refused = record_with_remote("stage_2", &[allowing.clone(), forbidding.clone()]);
    assert!(refused.is_err());
    forbidding.at -= chrono::Duration::days(2);
    assert!(record_with_remote("stage_2", &[allowing, forbidding]).is_ok());
    Ok(())
}

#[test]
fn d4_team_member_who_consulted_or_is_unknown_is_refused() -> TestResult {
    // p-consultant consulted until 2025-06-30; the audit starts 2026-03-02.
    let body = with(
        audit_body(),
        "/team",
        json!([{ "person": "p-lead", "role": "lead" }, { "person": "p-consultant", "role": "technical_expert" },
               { "person": "p-nobody", "role": "trainee" }, { "person": "p-auditor", "role": "evaluator" }]),
    );
    let Err(v) = record_with(request(&body)?, "a", &[]) else {
        return Err("accepted".into());
    };
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().all(|x| x.rule == "D4"), "{v:?}");
    // Two years after, the same team member may audit.
    let later = with(
        with(body, "/starts_on", json!("2027-06-30")),
        "/ends_on",
        json!("2027-07-01"),
    );
    let later = with(
        later,
        "/team",
        json!([{ "person": "p-lead", "role": "lead" }, { "person": "p-consultant", "role": "auditor" }]),
    );
    assert!(record(&later, "a").is_ok());
    Ok(())
}

#[test]
fn n1_n2_d1_d7_d8_reading_reports_every_error_at_once() -> TestResult {
    let bad = json!({
        "type": "stage_3",
        "starts_on": "2026-03-04",
        "ends_on": "2026-03-02",
        "team": [{ "person": "p-a", "role": "auditor" }, { "person": "P-A", "role": "trainee" }],
        "remote": { "used": true },
        "findings": [
            { "severity": "major", "clause": "A.5.15", "statement": "s", "process": "p" },
            { "severity": "minor", "clause": "", "statement": "s", "evidence": "e", "process": "p", "colour": 1 },
            { "severity": "minor", "clause": "c", "statement": "s", "evidence": "e", "process": "p",
              "mark_misuse": { "deliberate": true, "serious_effect": true } }
        ],
        "recommendation": "maybe",
        "extra": true
    });
    let Err(errors) =
        certflow_domain::audit::AuditRequest::from_json(&bad, chrono::NaiveDate::MAX, STANDARDS)
    else {
        return Err("accepted".into());
    };
    let has = |field: &str, code: ErrorCode, rule: &str| {
        errors
            .iter()
            .any(|e| e.field == field && e.code == code && e.rule == rule)
    };
    assert!(has("/type", ErrorCode::InvalidValue, "D8"), "{errors:?}");
    assert!(has("/ends_on", ErrorCode::OutOfRange, "N2"), "{errors:?}");
    assert!(
        has("/remote/tools", ErrorCode::Required, "M3"),
        "{errors:?}"
    );
    assert!(
        has("/findings/0/evidence", ErrorCode::Required, "N1"),
        "{errors:?}"
    );
    assert!(
        has("/findings/1/clause", ErrorCode::Required, "N1"),
        "{errors:?}"
    );
    assert!(
        has("/findings/1/colour", ErrorCode::UnknownField, "N1"),
        "{errors:?}"
    );
    assert!(
        has("/findings/2/severity", ErrorCode::InvalidValue, "N3"),
        "{errors:?}"
    );
    assert!(
        has("/recommendation", ErrorCode::InvalidValue, "D7"),
        "{errors:?}"
    );
    assert!(has("/extra", ErrorCode::UnknownField, "D8"), "{errors:?}");
    // The team's composition (no lead, a person twice) is T1–T4's, checked when it is
    // recorded (tests in `team`).
    assert_eq!(errors.len(), 9, "{errors:?}");
    Ok(())
}

#[test]
fn n3_mark_misuse_graded_by_intent_and_effect() -> TestResult {
    let misuse = |deliberate: bool, serious: bool, severity: &str| {
        with(
            audit_body(),
            "/findings",
            json!([{ "severity": severity, "clause": "mark", "statement": "logo on product",
                     "evidence": "photo", "process": "marketing",
                     "mark_misuse": { "deliberate": deliberate, "serious_effect": serious } }]),
        )
    };
    assert!(request(&misuse(true, true, "major")).is_ok());
    assert!(request(&misuse(true, false, "minor")).is_ok());
    assert!(request(&misuse(false, true, "major")).is_err());
    assert!(request(&misuse(false, false, "opportunity")).is_err());
    Ok(())
}

#[test]
fn d5_respond_and_verify() -> TestResult {
    let mut r = record(&audit_body(), "audit-1")?;
    // Verify needs a response first.
    let v = verify(&mut r, "nc-1", verification("2026-03-20", true)?);
    assert!(matches!(v, Err(ref x) if x.rule == "D5"), "{v:?}");
    // N1: an opportunity takes no response.
    let v = respond(&mut r, "ofi-1", response("2026-03-10")?);
    assert!(matches!(v, Err(ref x) if x.rule == "N1"), "{v:?}");
    assert!(respond(&mut r, "nc-9", response("2026-03-10")?).is_err());
    respond(&mut r, "nc-1", response("2026-03-10")?).map_err(|v| format!("{v:?}"))?;
    assert_eq!(
        r.finding("nc-1").map(|f| f.state()),
        Some(NcState::Responded)
    );
    // Not before the response was submitted.
    assert!(verify(&mut r, "nc-1", verification("2026-03-09", true)?).is_err());
    verify(&mut r, "nc-1", verification("2026-03-12", false)?).map_err(|v| format!("{v:?}"))?;
    assert_eq!(
        r.finding("nc-1").map(|f| f.state()),
        Some(NcState::Rejected)
    );
    // Already verified: a new response first.
    assert!(verify(&mut r, "nc-1", verification("2026-03-13", true)?).is_err());
    respond(&mut r, "nc-1", response("2026-03-15")?).map_err(|v| format!("{v:?}"))?;
    verify(&mut r, "nc-1", verification("2026-03-16", true)?).map_err(|v| format!("{v:?}"))?;
    assert_eq!(
        r.finding("nc-1").map(|f| f.state()),
        Some(NcState::Accepted)
    );
    assert_eq!(r.finding("nc-1").map(|f| f.responses.len()), Some(2));
    // Closed: no more responses.
    assert!(respond(&mut r, "nc-1", response("2026-03-17")?).is_err());
    Ok(())
}

#[test]
fn d5_response_and_verification_reading_reports_every_error_at_once() {
    let r = certflow_domain::audit::NcResponse::from_json(
        &json!({ "cause": "", "correction": 3, "submitted_on": "yesterday", "x": 1 }),
        chrono::NaiveDate::MAX,
    );
    assert!(
        matches!(r, Err(ref e) if e.len() == 5 && e.iter().all(|e| e.rule == "D5")),
        "{r:?}"
    );
    let v = certflow_domain::audit::Verification::from_json(
        &json!({ "accepted": "yes" }),
        chrono::NaiveDate::MAX,
    );
    assert!(matches!(v, Err(ref e) if e.len() == 3), "{v:?}");
}

#[test]
fn d8_audit_record_round_trips_as_json() -> TestResult {
    let mut r = record(&audit_body(), "audit-1")?;
    respond(&mut r, "nc-1", response("2026-03-10")?).map_err(|v| format!("{v:?}"))?;
    let text = serde_json::to_string(&r).map_err(|e| e.to_string())?;
    let back: AuditRecord = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    assert_eq!(back, r);
    Ok(())
}

/// N2: the plain day-by-day count the fast version must agree with.
fn working_days_by_hand(from: chrono::NaiveDate, days: u32) -> chrono::NaiveDate {
    use chrono::{Datelike, Weekday};
    let mut date = from;
    let mut left = days;
    while left > 0 {
        date = date.succ_opt().unwrap_or(date);
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    date
}

proptest::proptest! {
    #[test]
    fn n2_working_days_agree_with_counting_by_hand(offset in 0i64..20_000, days in 0u32..400) {
        let from = day(2000, 1, 1) + chrono::Duration::days(offset);
        proptest::prop_assert_eq!(add_working_days(from, days), working_days_by_hand(from, days));
    }
}

#[test]
fn n2_huge_setting_saturates_instead_of_looping() {
    assert_eq!(
        add_working_days(day(2026, 3, 6), u32::MAX),
        chrono::NaiveDate::MAX
    );
}

#[test]
fn d8_optional_fields_agree_between_schema_and_types() -> TestResult {
    let mut body = audit_body();
    body["notes"] = json!("closing meeting held on site");
    let req = request(&body)?;
    assert_eq!(req.notes.as_deref(), Some("closing meeting held on site"));
    let v = certflow_domain::audit::Verification::from_json(&json!({
        "verified_by": "p-lead", "verified_on": "2026-03-12", "accepted": false, "note": "no evidence of training"
    }), chrono::NaiveDate::MAX)
    .map_err(|e| format!("{e:?}"))?;
    assert_eq!(v.note.as_deref(), Some("no evidence of training"));
    let d = certflow_domain::decision::DecisionRequest::from_json(&json!({
        "decision_maker": "p-dm", "outcome": "refuse", "justification": "major open"
    }))
    .map_err(|e| format!("{e:?}"))?;
    assert_eq!(d.justification.as_deref(), Some("major open"));
    Ok(())
}

#[test]
fn r1_an_audit_response_or_verification_may_not_be_dated_after_today() {
    use certflow_domain::audit::{AuditRequest, NcResponse, Verification};
    let today = day(2026, 11, 30);
    let fields =
        |errors: Vec<certflow_domain::FieldError>| -> Vec<(String, ErrorCode, &'static str)> {
            errors
                .into_iter()
                .map(|e| (e.field, e.code, e.rule))
                .collect()
        };
    // The example: an audit ending 9999-12-31.
    let body = with(audit_body(), "/ends_on", json!("9999-12-31"));
    assert_eq!(
        AuditRequest::from_json(&body, today, STANDARDS)
            .map_err(fields)
            .err(),
        Some(vec![("/ends_on".into(), ErrorCode::OutOfRange, "R1")])
    );
    let body = with(
        with(audit_body(), "/starts_on", json!("2026-12-01")),
        "/ends_on",
        json!("2026-12-02"),
    );
    assert_eq!(
        AuditRequest::from_json(&body, today, STANDARDS)
            .map_err(fields)
            .err(),
        Some(vec![
            ("/starts_on".into(), ErrorCode::OutOfRange, "R1"),
            ("/ends_on".into(), ErrorCode::OutOfRange, "R1"),
        ])
    );
    // Held up to today is fine.
    let body = with(audit_body(), "/ends_on", json!("2026-11-30"));
    assert!(AuditRequest::from_json(&body, today, STANDARDS).is_ok());
    let response = json!({ "cause": "c", "correction": "c", "corrective_action": "c",
                           "submitted_on": "2026-12-01" });
    assert_eq!(
        NcResponse::from_json(&response, today)
            .map_err(fields)
            .err(),
        Some(vec![("/submitted_on".into(), ErrorCode::OutOfRange, "R1")])
    );
    let verification =
        json!({ "verified_by": "p-lead", "verified_on": "2027-01-01", "accepted": true });
    assert_eq!(
        Verification::from_json(&verification, today)
            .map_err(fields)
            .err(),
        Some(vec![("/verified_on".into(), ErrorCode::OutOfRange, "R1")])
    );
}

/// `audit_body()` recorded for an application submitted on `submitted_on`.
fn record_submitted(
    body: &Value,
    submitted_on: chrono::NaiveDate,
) -> Result<AuditRecord, Vec<certflow_domain::violation::Violation>> {
    let fail = |e: String| vec![certflow_domain::violation::Violation::new("test", e)];
    let register = register().map_err(fail)?;
    let request = request(body).map_err(fail)?;
    with_context(submitted_on, &register, &[], |ctx| {
        record_audit(request, "audit-1".into(), ctx)
    })
}

#[test]
fn r1_an_audit_cannot_start_before_the_application_was_submitted() -> TestResult {
    // The example: a stage 1 audit of 1990-01-01 on an application submitted today.
    let submitted = day(2026, 11, 30);
    let body = with(
        with(
            with(audit_body(), "/type", json!("stage_1")),
            "/starts_on",
            json!("1990-01-01"),
        ),
        "/ends_on",
        json!("1990-01-02"),
    );
    let Err(v) = record_submitted(&body, submitted) else {
        return Err("an audit of 1990 was recorded on an application of 2026".into());
    };
    let rules: Vec<&str> = v.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(rules, ["R1"], "{v:?}");
    // The submission day itself is the earliest start (audit_body starts 2026-03-02).
    record_submitted(&audit_body(), day(2026, 3, 2)).map_err(|v| format!("{v:?}"))?;
    let Err(v) = record_submitted(&audit_body(), day(2026, 3, 3)) else {
        return Err("an audit starting the day before the submission was recorded".into());
    };
    assert!(v.iter().all(|x| x.rule == "R1") && v.len() == 1, "{v:?}");
    Ok(())
}

#[test]
fn d5_an_nc_response_cannot_predate_the_audit_that_raised_it() -> TestResult {
    // The audit starts 2026-03-02; the example response is dated 1990-06-01.
    let mut r = record(&audit_body(), "audit-1")?;
    let before = r.clone();
    for on in ["1990-06-01", "2026-03-01"] {
        let v = respond(&mut r, "nc-1", response(on)?);
        assert!(matches!(v, Err(ref x) if x.rule == "D5"), "{on}: {v:?}");
        assert_eq!(r, before, "a refused response changes nothing");
    }
    // On the audit's first day (an NC raised and answered on site) it is recorded.
    respond(&mut r, "nc-1", response("2026-03-02")?).map_err(|v| format!("{v:?}"))?;
    // The verification still follows the response.
    assert!(verify(&mut r, "nc-1", verification("2026-03-01", true)?).is_err());
    verify(&mut r, "nc-1", verification("2026-03-02", true)?).map_err(|v| format!("{v:?}"))?;
    Ok(())
}

/// `audit_body()` as a stage 1 from `starts_on` to `ends_on`, with remote use.
fn remote_stage_1(starts_on: &str, ends_on: &str) -> Value {
    let body = with(audit_body(), "/type", json!("stage_1"));
    let body = with(body, "/starts_on", json!(starts_on));
    let body = with(body, "/ends_on", json!(ends_on));
    with(
        body,
        "/remote",
        json!({ "used": true, "tools": ["Microsoft Teams"] }),
    )
}

/// A stage 1 assessment made on `assessed_on` (recorded that day).
fn assessed_on(
    assessed_on: &str,
) -> Result<certflow_domain::audit::remote::AssessmentRecord, String> {
    let mut a = assessment("stage_1", &[])?;
    let day: chrono::NaiveDate = assessed_on.parse().map_err(|e| format!("{e}"))?;
    a.assessment.assessed_on = Some(day);
    a.at = day.and_hms_opt(9, 0, 0).ok_or("time")?.and_utc();
    Ok(a)
}

#[test]
fn m1_remote_use_in_an_audit_that_started_before_the_assessment_is_refused() -> TestResult {
    // The example: a stage 1 held 10 days ago, assessed today.
    let body = remote_stage_1("2026-11-13", "2026-11-14");
    let Err(v) = record_with(request(&body)?, "a", &[assessed_on("2026-11-23")?]) else {
        return Err("remote use before the assessment was recorded".into());
    };
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].rule == "M1" && v[0].found.contains("2026-11-23"),
        "{v:?}"
    );
    Ok(())
}

#[test]
fn m1_an_assessment_made_the_day_the_audit_starts_is_in_time_one_day_later_is_not() -> TestResult {
    let body = remote_stage_1("2026-11-13", "2026-11-14");
    let same_day = record_with(request(&body)?, "a", &[assessed_on("2026-11-13")?]);
    assert!(same_day.is_ok(), "{same_day:?}");
    let Err(v) = record_with(request(&body)?, "a", &[assessed_on("2026-11-14")?]) else {
        return Err("an assessment made the day after the audit started counted".into());
    };
    assert!(v.len() == 1 && v[0].rule == "M1", "{v:?}");
    // An assessment stored before `assessed_on` was kept counts from the day it was recorded.
    let mut older = assessed_on("2026-11-14")?;
    older.assessment.assessed_on = None;
    assert_eq!(older.assessed_on(), day(2026, 11, 14));
    assert!(record_with(request(&body)?, "a", &[older]).is_err());
    Ok(())
}

#[test]
fn s1_each_status_takes_its_audits() {
    use certflow_domain::Status::{self, *};
    use certflow_domain::audit::remote::AuditType::{self, *};
    let all_status = [
        Submitted,
        UnderReview,
        Accepted,
        Rejected,
        InAudit,
        Decided,
        Certified,
    ];
    let takes = |status: Status, recertification: bool| -> Vec<AuditType> {
        AuditType::ALL
            .into_iter()
            .filter(|t| status.accepts_audit(*t, recertification))
            .collect()
    };
    for status in all_status {
        let (initial, recert) = match status {
            Accepted | InAudit => (vec![Stage1, Stage2], vec![Recertification, Special]),
            Certified => (
                vec![Surveillance1, Surveillance2, Special],
                vec![Surveillance1, Surveillance2, Special],
            ),
            _ => (vec![], vec![]),
        };
        assert_eq!(takes(status, false), initial, "{status:?}");
        assert_eq!(takes(status, true), recert, "{status:?} (recertification)");
    }
    // M3: a certified client's surveillance is assessed; its stage 2 is not; before the
    // decision the whole programme may be; once decided or rejected, nothing.
    assert!(Certified.may_be_assessed_for_remote_audit(Surveillance1, false));
    assert!(!Certified.may_be_assessed_for_remote_audit(Stage2, false));
    assert!(Accepted.may_be_assessed_for_remote_audit(Surveillance1, false));
    assert!(Submitted.may_be_assessed_for_remote_audit(Stage1, false));
    assert!(!Decided.may_be_assessed_for_remote_audit(Stage1, false));
    assert!(!Rejected.may_be_assessed_for_remote_audit(Surveillance1, false));
}

#[test]
fn s1_a_stage_2_of_a_certified_application_is_a_409_naming_the_status() {
    use certflow_domain::record::AuditNotAccepted;
    let problem: certflow_domain::Problem = AuditNotAccepted {
        current: certflow_domain::Status::Certified,
        audit: certflow_domain::audit::remote::AuditType::Stage2,
        recertification: false,
    }
    .into();
    assert_eq!(problem.status, 409);
    assert_eq!(problem.current_status.as_deref(), Some("certified"));
    let detail = problem.detail.unwrap_or_default();
    assert!(
        detail.contains("surveillance_1, surveillance_2, special") && detail.contains("stage_2"),
        "{detail}"
    );
}

/// The S2 checklist with every item covered.
fn checklist() -> Value {
    let items: serde_json::Map<String, Value> = certflow_domain::audit::Checklist::ITEMS
        .iter()
        .map(|item| {
            (
                item.to_string(),
                json!({ "covered": true, "note": format!("{item} sampled") }),
            )
        })
        .collect();
    Value::Object(items)
}

/// `audit_body()` as a surveillance recommending `maintain`.
fn surveillance() -> Value {
    let body = with(audit_body(), "/type", json!("surveillance_1"));
    with(body, "/recommendation", json!("maintain"))
}

fn errors_of(body: &Value, standards: &[StandardCode]) -> Vec<(String, ErrorCode, &'static str)> {
    certflow_domain::audit::AuditRequest::from_json(body, chrono::NaiveDate::MAX, standards)
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.field, e.code, e.rule))
        .collect()
}

#[test]
fn s2_an_isms_surveillance_covers_every_checklist_item() -> TestResult {
    let mut body = surveillance();
    body["checklist"] = checklist();
    let r = record(&body, "audit-3")?;
    let stored = serde_json::to_value(&r).map_err(|e| e.to_string())?;
    assert_eq!(
        stored["checklist"]["control_changes_and_soa"]["note"],
        "control_changes_and_soa sampled"
    );
    // Without it: one error naming the checklist.
    assert_eq!(
        errors_of(&surveillance(), STANDARDS),
        [("/checklist".to_string(), ErrorCode::Required, "S2")]
    );
    // An item left out and an item not covered: each its own error.
    let mut partial = body.clone();
    if let Some(items) = partial["checklist"].as_object_mut() {
        items.remove("legal_compliance_review");
    }
    partial["checklist"]["significant_changes"]["covered"] = json!(false);
    assert_eq!(
        errors_of(&partial, STANDARDS),
        [
            (
                "/checklist/legal_compliance_review".to_string(),
                ErrorCode::Required,
                "S2"
            ),
            (
                "/checklist/significant_changes/covered".to_string(),
                ErrorCode::InvalidValue,
                "S2"
            ),
        ]
    );
    Ok(())
}

#[test]
fn s2_a_non_isms_surveillance_may_omit_the_checklist_and_other_audits_have_none() {
    assert!(errors_of(&surveillance(), &[StandardCode::Iso22301]).is_empty());
    let mut stage_2 = audit_body();
    stage_2["checklist"] = checklist();
    assert_eq!(
        errors_of(&stage_2, STANDARDS),
        [("/checklist".to_string(), ErrorCode::InvalidValue, "S2")]
    );
}

#[test]
fn d7_s3_x1_x2_the_recommendation_fits_the_audit() {
    let recommend = |body: Value, r: &str| with(body, "/recommendation", json!(r));
    let scope_extension = || {
        let mut b = with(audit_body(), "/type", json!("special"));
        b["purpose"] = json!("scope_extension");
        b["extended_scope"] = json!("Operation of the payroll service's disaster-recovery site");
        b
    };
    let short_notice = || {
        let mut b = with(audit_body(), "/type", json!("special"));
        b["purpose"] = json!("short_notice");
        b["cause"] = json!("suspension_follow_up");
        b
    };
    let mut isms_surveillance = surveillance();
    isms_surveillance["checklist"] = checklist();
    for (body, fits, refused, rule) in [
        (audit_body(), "grant_after_verification", "maintain", "D7"),
        (isms_surveillance, "withdraw", "grant", "S3"),
        (short_notice(), "suspend", "refuse", "X2"),
        (scope_extension(), "grant", "maintain", "X1"),
    ] {
        assert!(
            errors_of(&recommend(body.clone(), fits), STANDARDS).is_empty(),
            "{fits}: {body}"
        );
        assert_eq!(
            errors_of(&recommend(body, refused), STANDARDS),
            [("/recommendation".to_string(), ErrorCode::InvalidValue, rule)],
            "{refused}"
        );
    }
}

#[test]
fn x1_x2_a_special_audit_states_its_purpose_and_what_goes_with_it() -> TestResult {
    let special = with(
        with(audit_body(), "/type", json!("special")),
        "/recommendation",
        json!("maintain"),
    );
    assert_eq!(
        errors_of(&special, STANDARDS),
        [("/purpose".to_string(), ErrorCode::Required, "X1")]
    );
    let mut complaint = special.clone();
    complaint["purpose"] = json!("short_notice");
    complaint["cause"] = json!("complaint");
    assert_eq!(
        errors_of(&complaint, STANDARDS),
        [("/complaint".to_string(), ErrorCode::Required, "X2")]
    );
    complaint["complaint"] = json!("CMP-2026-0007");
    let r = record(&complaint, "audit-4")?;
    assert_eq!(r.complaint.as_deref(), Some("CMP-2026-0007"));
    // A scope extension needs its extended scope and takes no cause.
    let mut extension = with(special, "/recommendation", json!("grant"));
    extension["purpose"] = json!("scope_extension");
    extension["cause"] = json!("change");
    assert_eq!(
        errors_of(&extension, STANDARDS),
        [
            ("/extended_scope".to_string(), ErrorCode::Required, "X1"),
            ("/cause".to_string(), ErrorCode::InvalidValue, "X2"),
        ]
    );
    // A stage 2 has no purpose.
    let mut stage_2 = audit_body();
    stage_2["purpose"] = json!("short_notice");
    assert_eq!(
        errors_of(&stage_2, STANDARDS),
        [("/purpose".to_string(), ErrorCode::InvalidValue, "X1")]
    );
    Ok(())
}
