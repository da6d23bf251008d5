//! The certificate (C1–C7, R1): numbering, issuance dates (C2 expiry at month ends and leap
//! days, C3 surveillance under iaf and cn, C4 recertification), the status lifecycle (C5),
//! the due-date sweep, the public view (C6) and the CertSearch export (C7).

mod common;

use certflow_domain::Application;
use certflow_domain::certificate::{
    Certificate, CertificateSettings, Grant, IssueRequest, NumberFormat, certificate_number, issue,
};
use certflow_domain::decision::{DecisionMaker, DecisionRecord, Outcome};
use certflow_domain::review::{Decision, Jurisdiction, Review};
use chrono::{DateTime, NaiveDate, Utc};
use common::{day, valid_application};
use serde_json::{Value, json};

type TestResult = Result<(), String>;

fn application() -> Result<Application, String> {
    serde_json::from_value(valid_application()).map_err(|e| e.to_string())
}

fn review(scope: &str) -> Review {
    Review {
        at: DateTime::<Utc>::UNIX_EPOCH,
        reviewer: "r-1".into(),
        decision: Decision::Accept,
        reasons: vec![],
        scope: scope.into(),
        technical_areas: vec!["IAF 33".into()],
        figures: None,
    }
}

fn decision(on: NaiveDate) -> DecisionRecord {
    DecisionRecord {
        decision_maker: DecisionMaker {
            id: "p-dm".into(),
            name: "Wang Fang".into(),
        },
        outcome: Outcome::Grant,
        justification: None,
        relied_on: vec![],
        rules_checked: vec![],
        reasons: vec![],
        decided_on: on,
    }
}

fn request_json(effective_on: &str) -> Value {
    json!({
        "effective_on": effective_on,
        "soa_version": "SoA v3",
        "signatory": { "name": "Zhao Min", "role": "General Manager" },
        "site_scopes": [{ "site": 0, "scope": "Payroll service operations" }]
    })
}

fn request(effective_on: &str) -> Result<IssueRequest, String> {
    IssueRequest::from_json(&request_json(effective_on)).map_err(|e| format!("{e:?}"))
}

fn issued(
    decided: NaiveDate,
    effective_on: &str,
    jurisdiction: Jurisdiction,
) -> Result<Certificate, String> {
    let app = application()?;
    let review = review("Operation of the Acme cloud payroll service");
    let decision = decision(decided);
    let grant = Grant {
        application: &app,
        review: &review,
        decision: &decision,
    };
    issue(
        grant,
        &request(effective_on)?,
        "CF-2026-000042".into(),
        "op-1",
        jurisdiction,
        &CertificateSettings::default(),
    )
    .map_err(|v| format!("{v:?}"))
}

#[test]
fn c1_number_format_default_and_prefix() {
    assert_eq!(
        certificate_number(&NumberFormat::default(), 2026, 42),
        "CF-2026-000042"
    );
    let custom = NumberFormat {
        prefix: "ZBT-ISMS".into(),
        digits: 4,
    };
    assert_eq!(certificate_number(&custom, 2027, 7), "ZBT-ISMS-2027-0007");
    // C1: never truncated, numbers stay unique.
    assert_eq!(
        certificate_number(&NumberFormat::default(), 2026, 1_234_567),
        "CF-2026-1234567"
    );
}

#[test]
fn c1_issue_builds_contents_from_application_review_and_decision() -> TestResult {
    let c = issued(day(2026, 3, 20), "2026-04-01", Jurisdiction::Iaf)?;
    let Some(contents) = c.contents() else {
        return Err("no contents".into());
    };
    assert_eq!(c.number, "CF-2026-000042");
    assert_eq!(c.revision, 1);
    assert_eq!(contents.organization, "Acme Data Co., Ltd.");
    assert_eq!(
        contents.scope,
        "Operation of the Acme cloud payroll service"
    );
    assert_eq!(contents.sites.len(), 1);
    assert_eq!(
        contents.sites.first().map(|s| s.scope.as_str()),
        Some("Payroll service operations")
    );
    assert_eq!(contents.soa_version.as_deref(), Some("SoA v3"));
    assert_eq!(contents.standards.len(), 2);
    assert_eq!(contents.signatory.role, "General Manager");
    assert_eq!(c.history.len(), 1);
    assert_eq!(c.granted_on, day(2026, 4, 1));
    Ok(())
}

#[test]
fn c2_effective_date_before_decision_refused() -> TestResult {
    let Err(violations) = issued(day(2026, 3, 20), "2026-03-19", Jurisdiction::Iaf) else {
        return Err("issued with an effective date before the decision".into());
    };
    assert!(violations.contains("rule: \"C2\""), "{violations}");
    // On the decision day is allowed.
    issued(day(2026, 3, 20), "2026-03-20", Jurisdiction::Iaf)?;
    Ok(())
}

#[test]
fn c1_soa_version_required_for_27001_and_site_index_checked() -> TestResult {
    let app = application()?;
    let review = review("x");
    let decision = decision(day(2026, 3, 20));
    let mut body = request_json("2026-04-01");
    body["soa_version"] = Value::Null;
    body["site_scopes"] = json!([{ "site": 3, "scope": "x" }]);
    let req = IssueRequest::from_json(&body).map_err(|e| format!("{e:?}"))?;
    let grant = Grant {
        application: &app,
        review: &review,
        decision: &decision,
    };
    let Err(v) = issue(
        grant,
        &req,
        "n".into(),
        "op",
        Jurisdiction::Iaf,
        &CertificateSettings::default(),
    ) else {
        return Err("issued without SoA".into());
    };
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|v| v.rule == "C1"));
    Ok(())
}

#[test]
fn c2_expiry_month_ends_and_leap_days_both_jurisdictions() -> TestResult {
    for j in [Jurisdiction::Iaf, Jurisdiction::Cn] {
        // The day before the third anniversary.
        let c = issued(day(2026, 3, 20), "2026-03-20", j)?;
        assert_eq!(c.expires_on, day(2029, 3, 19));
        // 2028-02-29 + 3 years: the anniversary does not exist, its month's end.
        let c = issued(day(2028, 2, 29), "2028-02-29", j)?;
        assert_eq!(c.expires_on, day(2031, 2, 28));
        // Month end that exists: 2026-01-31 → 2029-01-30.
        let c = issued(day(2026, 1, 31), "2026-01-31", j)?;
        assert_eq!(c.expires_on, day(2029, 1, 30));
        // C4: apply by expiry − 3 months (clamped): 2031-02-28 → 2030-11-28.
        let c = issued(day(2028, 2, 29), "2028-02-29", j)?;
        assert_eq!(c.recertification.apply_by, day(2030, 11, 28));
        assert_eq!(c.recertification.decide_by, day(2031, 2, 28));
    }
    Ok(())
}

#[test]
fn c3_surveillance_schedule_iaf_15_and_cn_12() -> TestResult {
    // Decision 2026-03-20: first surveillance due 2027-03-20 in both.
    let iaf = issued(day(2026, 3, 20), "2026-04-01", Jurisdiction::Iaf)?;
    let due: Vec<_> = iaf.surveillance.iter().map(|s| s.due_by).collect();
    // IAF: 15 months after 2027-03-20 is 2028-06-20, inside 2028.
    assert_eq!(due, vec![day(2027, 3, 20), day(2028, 6, 20)]);
    let cn = issued(day(2026, 3, 20), "2026-04-01", Jurisdiction::Cn)?;
    let due: Vec<_> = cn.surveillance.iter().map(|s| s.due_by).collect();
    assert_eq!(due, vec![day(2027, 3, 20), day(2028, 3, 20)]);
    // Late in the year, the calendar-year rule bites under IAF: 2027-11-30 + 15 months is
    // 2029-02-28, but the next calendar year ends 2028-12-31.
    let late = issued(day(2026, 11, 30), "2026-11-30", Jurisdiction::Iaf)?;
    let due: Vec<_> = late.surveillance.iter().map(|s| s.due_by).collect();
    assert_eq!(due, vec![day(2027, 11, 30), day(2028, 12, 31)]);
    Ok(())
}
