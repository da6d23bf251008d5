//! The certificate (C1–C7, R1): numbering, issuance dates (C2 expiry at month ends and leap
//! days, C3 surveillance under iaf and cn, C4 recertification), the status lifecycle (C5),
//! the due-date sweep, the public view (C6) and the CertSearch export (C7).

use crate::common::{day, valid_application};
use certflow_domain::Application;
use certflow_domain::certificate::{
    Action, Certificate, CertificateSettings, Grant, IssueRequest, NumberFormat, ReasonRequest,
    ReduceScopeRequest, ReviseRequest, SuspendRequest, certificate_number, certsearch_record,
    issue, record_surveillance, reduce_scope, restore, revise, suspend, sweep, withdraw,
};
use certflow_domain::decision::{DecisionMaker, DecisionRecord, Outcome};
use certflow_domain::intake::application::{CertificateStatus, StandardCode};
use certflow_domain::review::{Decision, Jurisdiction, Review};
use certflow_domain::violation::Violation;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use proptest::prelude::*;
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

pub(crate) fn request(effective_on: &str) -> Result<IssueRequest, String> {
    IssueRequest::from_json(&request_json(effective_on)).map_err(|e| format!("{e:?}"))
}

fn issued(
    decided: NaiveDate,
    effective_on: &str,
    jurisdiction: Jurisdiction,
) -> Result<Certificate, String> {
    issued_on_request(decided, &request(effective_on)?, jurisdiction)
}

pub(crate) fn issued_on_request(
    decided: NaiveDate,
    request: &IssueRequest,
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
        request,
        "CF-2026-000042".into(),
        "op-1",
        decided,
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
fn c2_effective_date_defaults_to_the_decision_day() -> TestResult {
    let mut body = request_json("2028-03-01");
    body.as_object_mut().map(|o| o.remove("effective_on"));
    let req = IssueRequest::from_json(&body).map_err(|e| format!("{e:?}"))?;
    let c = issued_on_request(day(2028, 2, 29), &req, Jurisdiction::Iaf)?;
    assert_eq!(c.granted_on, day(2028, 2, 29));
    assert_eq!(c.expires_on, day(2031, 2, 28));
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
        day(2026, 3, 20),
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

fn reason(text: &str) -> Result<ReasonRequest, String> {
    ReasonRequest::from_json(&json!({ "reason": text })).map_err(|e| format!("{e:?}"))
}

fn suspension(body: Value) -> Result<SuspendRequest, String> {
    SuspendRequest::from_json(&body).map_err(|e| format!("{e:?}"))
}

pub(crate) fn cert() -> Result<Certificate, String> {
    issued(day(2026, 3, 20), "2026-04-01", Jurisdiction::Iaf)
}

fn refused(result: Result<(), Violation>, rule: &str) -> TestResult {
    match result {
        Err(v) if v.rule == rule => Ok(()),
        other => Err(format!("expected a {rule} refusal, got {other:?}")),
    }
}

fn err(v: Violation) -> String {
    format!("{v:?}")
}

#[test]
fn c5_suspend_default_limit_then_restore_r1_history() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    let on = day(2026, 8, 31);
    suspend(
        &mut c,
        &suspension(json!({ "reason": "client request" }))?,
        "op-1",
        on,
        &settings,
    )
    .map_err(err)?;
    assert_eq!(c.status, CertificateStatus::Suspended);
    // 6 months [cfg] by default, month end clamped.
    assert_eq!(
        c.suspension.as_ref().map(|s| s.resolve_by),
        Some(day(2027, 2, 28))
    );
    restore(&mut c, &reason("resolved")?, "op-1", day(2026, 9, 15)).map_err(err)?;
    assert_eq!(c.status, CertificateStatus::Active);
    assert!(c.suspension.is_none());
    let actions: Vec<_> = c.history.iter().map(|h| h.action).collect();
    assert_eq!(
        actions,
        vec![Action::Issued, Action::Suspended, Action::Restored]
    );
    assert!(
        c.history
            .iter()
            .all(|h| h.rule.starts_with('C') && !h.by.is_empty())
    );
    Ok(())
}

#[test]
fn c5_suspend_refused_when_resolve_by_beyond_limit_or_already_suspended() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    let on = day(2026, 8, 1);
    let too_late = suspension(json!({ "reason": "x", "resolve_by": "2027-02-02" }))?;
    refused(suspend(&mut c, &too_late, "op", on, &settings), "C5")?;
    let ok = suspension(json!({ "reason": "x", "resolve_by": "2026-10-01" }))?;
    suspend(&mut c, &ok, "op", on, &settings).map_err(err)?;
    refused(suspend(&mut c, &ok, "op", on, &settings), "C5")?;
    Ok(())
}

#[test]
fn c5_suspend_expired_refused_and_restore_active_refused() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    let after_expiry = day(2029, 4, 1);
    refused(
        suspend(
            &mut c,
            &suspension(json!({ "reason": "x" }))?,
            "op",
            after_expiry,
            &settings,
        ),
        "C5",
    )?;
    refused(restore(&mut c, &reason("x")?, "op", day(2026, 5, 1)), "C5")?;
    assert_eq!(c.history.len(), 1);
    Ok(())
}

#[test]
fn c5_withdrawn_certificate_refuses_everything() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    let on = day(2026, 6, 1);
    withdraw(&mut c, &reason("fraud")?, "op", on).map_err(err)?;
    assert_eq!(c.status, CertificateStatus::Withdrawn);
    refused(restore(&mut c, &reason("x")?, "op", on), "C5")?;
    refused(withdraw(&mut c, &reason("x")?, "op", on), "C5")?;
    refused(
        suspend(
            &mut c,
            &suspension(json!({ "reason": "x" }))?,
            "op",
            on,
            &settings,
        ),
        "C5",
    )?;
    let reduce = ReduceScopeRequest::from_json(
        &json!({ "reason": "x", "drop_standards": ["ISO/IEC 27701"] }),
    )
    .map_err(|e| format!("{e:?}"))?;
    refused(reduce_scope(&mut c, &reduce, "op", on), "C5")?;
    let rev = ReviseRequest::from_json(&json!({ "reason": "x", "scope": "y" }))
        .map_err(|e| format!("{e:?}"))?;
    refused(revise(&mut c, &rev, "op", on), "C5")?;
    refused(
        record_surveillance(&mut c, on, "op", on, Jurisdiction::Iaf, &settings),
        "C5",
    )?;
    assert_eq!(c.history.len(), 2);
    Ok(())
}

#[test]
fn c5_withdraw_suspended_allowed_expired_refused() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    suspend(
        &mut c,
        &suspension(json!({ "reason": "x" }))?,
        "op",
        day(2026, 6, 1),
        &settings,
    )
    .map_err(err)?;
    withdraw(&mut c, &reason("unresolved")?, "op", day(2026, 12, 2)).map_err(err)?;
    let mut c = cert()?;
    refused(withdraw(&mut c, &reason("x")?, "op", day(2029, 4, 1)), "C5")?;
    Ok(())
}

#[test]
fn c5_c1_reduce_scope_new_revision_old_obsolete_and_resolves_suspension() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    suspend(
        &mut c,
        &suspension(json!({ "reason": "x" }))?,
        "op",
        day(2026, 6, 1),
        &settings,
    )
    .map_err(err)?;
    let reduce = ReduceScopeRequest::from_json(&json!({
        "reason": "PIMS failures unresolved", "drop_standards": ["ISO/IEC 27701"]
    }))
    .map_err(|e| format!("{e:?}"))?;
    reduce_scope(&mut c, &reduce, "op", day(2026, 7, 1)).map_err(err)?;
    assert_eq!(c.revision, 2);
    assert!(c.scope_reduced);
    assert_eq!(c.status, CertificateStatus::Active);
    assert_eq!(c.revisions.len(), 2);
    assert!(
        c.revisions
            .first()
            .is_some_and(|r| r.obsolete && r.contents.standards.len() == 2)
    );
    assert!(c.revisions.last().is_some_and(|r| !r.obsolete));
    let codes: Vec<_> = c
        .contents()
        .map(|x| x.standards.iter().map(|s| s.code).collect())
        .unwrap_or_default();
    assert_eq!(codes, vec![StandardCode::Iso27001]);
    Ok(())
}

#[test]
fn c5_reduce_scope_refused_central_site_unknown_standard_everything_and_i3() -> TestResult {
    let mut c = cert()?;
    let on = day(2026, 7, 1);
    let body = |v: Value| ReduceScopeRequest::from_json(&v).map_err(|e| format!("{e:?}"));
    refused(
        reduce_scope(
            &mut c,
            &body(json!({ "reason": "x", "drop_sites": [0] }))?,
            "op",
            on,
        ),
        "C5",
    )?;
    refused(
        reduce_scope(
            &mut c,
            &body(json!({ "reason": "x", "drop_sites": [5] }))?,
            "op",
            on,
        ),
        "C5",
    )?;
    refused(
        reduce_scope(
            &mut c,
            &body(json!({ "reason": "x", "drop_standards": ["ISO 22301"] }))?,
            "op",
            on,
        ),
        "C5",
    )?;
    refused(
        reduce_scope(&mut c, &body(json!({ "reason": "x" }))?, "op", on),
        "C5",
    )?;
    refused(
        reduce_scope(
            &mut c,
            &body(json!({ "reason": "x", "drop_standards": ["ISO/IEC 27001", "ISO/IEC 27701"] }))?,
            "op",
            on,
        ),
        "C5",
    )?;
    refused(
        reduce_scope(
            &mut c,
            &body(json!({ "reason": "x", "drop_standards": ["ISO/IEC 27001"] }))?,
            "op",
            on,
        ),
        "I3",
    )?;
    assert_eq!(c.revision, 1);
    Ok(())
}

#[test]
fn c1_revise_keeps_obsolete_revision_and_refuses_no_change() -> TestResult {
    let mut c = cert()?;
    let on = day(2026, 9, 1);
    let rev = ReviseRequest::from_json(&json!({ "reason": "renamed", "organization": "Acme Data Group Co., Ltd.", "soa_version": "SoA v4" }))
        .map_err(|e| format!("{e:?}"))?;
    revise(&mut c, &rev, "op", on).map_err(err)?;
    assert_eq!(c.revision, 2);
    assert!(
        c.revisions
            .first()
            .is_some_and(|r| r.obsolete && r.contents.organization == "Acme Data Co., Ltd.")
    );
    assert_eq!(
        c.contents().map(|x| x.organization.as_str()),
        Some("Acme Data Group Co., Ltd.")
    );
    refused(revise(&mut c, &rev, "op", on), "C1")?;
    Ok(())
}

#[test]
fn c3_record_surveillance_replans_the_next_and_refuses_a_third() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    record_surveillance(
        &mut c,
        day(2027, 1, 15),
        "op",
        day(2027, 1, 15),
        Jurisdiction::Cn,
        &settings,
    )
    .map_err(err)?;
    // cn: 12 months after the surveillance held.
    assert_eq!(
        c.surveillance.get(1).map(|s| s.due_by),
        Some(day(2028, 1, 15))
    );
    record_surveillance(
        &mut c,
        day(2028, 1, 10),
        "op",
        day(2028, 1, 10),
        Jurisdiction::Cn,
        &settings,
    )
    .map_err(err)?;
    refused(
        record_surveillance(
            &mut c,
            day(2028, 6, 1),
            "op",
            day(2028, 6, 1),
            Jurisdiction::Cn,
            &settings,
        ),
        "C3",
    )?;
    Ok(())
}

#[test]
fn c3_c5_restore_refused_while_surveillance_overdue() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    suspend(
        &mut c,
        &suspension(json!({ "reason": "x" }))?,
        "op",
        day(2027, 3, 1),
        &settings,
    )
    .map_err(err)?;
    refused(restore(&mut c, &reason("x")?, "op", day(2027, 3, 25)), "C3")?;
    record_surveillance(
        &mut c,
        day(2027, 3, 26),
        "op",
        day(2027, 3, 26),
        Jurisdiction::Iaf,
        &settings,
    )
    .map_err(err)?;
    restore(&mut c, &reason("held")?, "op", day(2027, 3, 27)).map_err(err)?;
    Ok(())
}

#[test]
fn c5_bodies_report_every_error_at_once() {
    let Err(e) = SuspendRequest::from_json(&json!({ "resolve_by": "2026-13-01", "extra": 1 }))
    else {
        return;
    };
    assert!(e.len() >= 3, "{e:?}");
    assert!(e.iter().all(|e| e.rule == "C5"));
    let Err(e) = IssueRequest::from_json(&json!({ "effective_on": "x", "signatory": {} })) else {
        return;
    };
    assert!(e.iter().any(|e| e.rule == "C2"));
    assert!(e.len() >= 3, "{e:?}");
}

#[test]
fn c3_sweep_marks_overdue_under_iaf_without_suspending_and_is_idempotent() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    // Due by 2027-03-20: the due day itself is in time.
    assert!(
        sweep(
            &mut c,
            day(2027, 3, 20),
            Jurisdiction::Iaf,
            &settings,
            "operator:ops-lead"
        )
        .is_empty()
    );
    let changes = sweep(
        &mut c,
        day(2027, 3, 21),
        Jurisdiction::Iaf,
        &settings,
        "operator:ops-lead",
    );
    assert_eq!(changes.len(), 1);
    assert!(
        changes
            .iter()
            .all(|ch| ch.action == Action::SurveillanceOverdue && ch.rule == "C3")
    );
    assert_eq!(c.status, CertificateStatus::Active);
    let len = c.history.len();
    assert!(
        sweep(
            &mut c,
            day(2027, 3, 21),
            Jurisdiction::Iaf,
            &settings,
            "operator:ops-lead"
        )
        .is_empty()
    );
    assert!(
        sweep(
            &mut c,
            day(2027, 3, 22),
            Jurisdiction::Iaf,
            &settings,
            "operator:ops-lead"
        )
        .is_empty()
    );
    assert_eq!(c.history.len(), len);
    Ok(())
}

#[test]
fn c5_sweep_cn_suspends_overdue_then_flags_after_limit_idempotent() -> TestResult {
    let mut c = issued(day(2026, 3, 20), "2026-04-01", Jurisdiction::Cn)?;
    let settings = CertificateSettings::default();
    let changes = sweep(
        &mut c,
        day(2027, 3, 21),
        Jurisdiction::Cn,
        &settings,
        "operator:ops-lead",
    );
    let actions: Vec<_> = changes.iter().map(|ch| ch.action).collect();
    assert_eq!(
        actions,
        vec![Action::SurveillanceOverdue, Action::Suspended]
    );
    assert_eq!(c.status, CertificateStatus::Suspended);
    assert_eq!(
        c.suspension.as_ref().map(|s| s.resolve_by),
        Some(day(2027, 9, 21))
    );
    assert!(
        sweep(
            &mut c,
            day(2027, 3, 21),
            Jurisdiction::Cn,
            &settings,
            "operator:ops-lead"
        )
        .is_empty()
    );
    assert!(
        sweep(
            &mut c,
            day(2027, 9, 21),
            Jurisdiction::Cn,
            &settings,
            "operator:ops-lead"
        )
        .is_empty()
    );
    let changes = sweep(
        &mut c,
        day(2027, 9, 22),
        Jurisdiction::Cn,
        &settings,
        "operator:ops-lead",
    );
    assert_eq!(
        changes.iter().map(|ch| ch.action).collect::<Vec<_>>(),
        vec![Action::FlaggedForWithdrawal]
    );
    assert!(changes.iter().all(|ch| ch.rule == "C5"));
    assert!(
        sweep(
            &mut c,
            day(2027, 9, 22),
            Jurisdiction::Cn,
            &settings,
            "operator:ops-lead"
        )
        .is_empty()
    );
    // The sweep only flags: the CB withdraws.
    assert_eq!(c.status, CertificateStatus::Suspended);
    Ok(())
}

#[test]
fn r1_sweep_records_the_principal_that_ran_it() -> TestResult {
    let mut c = issued(day(2026, 3, 20), "2026-04-01", Jurisdiction::Cn)?;
    let settings = CertificateSettings::default();
    let changes = sweep(
        &mut c,
        day(2027, 3, 21),
        Jurisdiction::Cn,
        &settings,
        "operator:alice",
    );
    assert!(!changes.is_empty());
    assert!(
        changes.iter().all(|ch| ch.by == "operator:alice"),
        "{changes:?}"
    );
    assert!(
        c.history
            .iter()
            .rev()
            .take(changes.len())
            .all(|ch| ch.by == "operator:alice")
    );
    Ok(())
}

#[test]
fn c2_sweep_expires_after_last_valid_day_and_then_nothing() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    for (i, d) in [day(2027, 1, 10), day(2028, 1, 10)].into_iter().enumerate() {
        record_surveillance(&mut c, d, "op", d, Jurisdiction::Iaf, &settings)
            .map_err(|e| format!("{i}: {e:?}"))?;
    }
    // C2: the cycle runs from the decision of 2026-03-20: last valid day 2029-03-19.
    assert!(
        sweep(
            &mut c,
            day(2029, 3, 19),
            Jurisdiction::Iaf,
            &settings,
            "operator:ops-lead"
        )
        .is_empty()
    );
    let changes = sweep(
        &mut c,
        day(2029, 3, 20),
        Jurisdiction::Iaf,
        &settings,
        "operator:ops-lead",
    );
    assert_eq!(
        changes
            .iter()
            .map(|ch| (ch.action, ch.rule.as_str()))
            .collect::<Vec<_>>(),
        vec![(Action::Expired, "C2")]
    );
    assert_eq!(c.status, CertificateStatus::Expired);
    assert!(
        sweep(
            &mut c,
            day(2029, 4, 1),
            Jurisdiction::Iaf,
            &settings,
            "operator:ops-lead"
        )
        .is_empty()
    );
    assert!(
        sweep(
            &mut c,
            day(2030, 1, 1),
            Jurisdiction::Cn,
            &settings,
            "operator:ops-lead"
        )
        .is_empty()
    );
    Ok(())
}

#[test]
fn c6_i8_public_view_contains_no_personal_or_internal_field() -> TestResult {
    let mut doc = valid_application();
    doc["contact"] = json!({
        "name": "Canary Personname", "email": "canary.leak@contact.example", "phone": "+86 21 9876 5432"
    });
    doc["consultancy"] = json!([{ "provider": "Canary Consulting", "person": "Canary Consultant", "ended_on": "2025-12-01" }]);
    let app: Application = serde_json::from_value(doc).map_err(|e| e.to_string())?;
    let review = review("Operation of the Acme cloud payroll service");
    let decision = decision(day(2026, 3, 20));
    let grant = Grant {
        application: &app,
        review: &review,
        decision: &decision,
    };
    let mut body = request_json("2026-04-01");
    body["signatory"] = json!({ "name": "Canary Signatoryname", "role": "General Manager" });
    let req = IssueRequest::from_json(&body).map_err(|e| format!("{e:?}"))?;
    let mut c = issue(
        grant,
        &req,
        "CF-2026-000042".into(),
        "canary-operator-id",
        day(2026, 3, 20),
        Jurisdiction::Iaf,
        &CertificateSettings::default(),
    )
    .map_err(|v| format!("{v:?}"))?;
    suspend(
        &mut c,
        &suspension(json!({ "reason": "Canary internal note" }))?,
        "canary-operator-id",
        day(2026, 6, 1),
        &CertificateSettings::default(),
    )
    .map_err(err)?;
    let view = serde_json::to_string(&c.public_view(day(2026, 6, 2))).map_err(|e| e.to_string())?;
    let export = serde_json::to_string(&certsearch_record(
        &c,
        day(2026, 6, 2),
        &CertificateSettings::default(),
    ))
    .map_err(|e| e.to_string())?;
    for text in [&view, &export] {
        for secret in [
            "Canary Personname",
            "canary.leak@contact.example",
            "+86 21 9876 5432",
            "9876",
            "Canary Consult",
            "Canary Signatoryname",
            "canary-operator-id",
            "Canary internal note",
            "contact",
            "email",
            "phone",
        ] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
    // What C6 does show.
    for shown in [
        "CF-2026-000042",
        "Acme Data Co., Ltd.",
        "Shanghai",
        "ISO/IEC 27001",
        "2022",
        "General Manager",
        "suspended",
        "2029-03-19",
    ] {
        assert!(view.contains(shown), "{shown} missing from {view}");
    }
    // C6: no street or postcode publicly; the CertSearch export (operators only, C7) names
    // the business addresses CertSearch requires.
    for address in ["88 Century Ave", "200120"] {
        assert!(!view.contains(address), "{address} in the public view");
        assert!(
            export.contains(address),
            "{address} missing from the export"
        );
    }
    assert_eq!(c.public_view(day(2026, 6, 2)).history.len(), 2);
    // C2, C6: past its last valid day the public sees it expired, sweep or no sweep.
    let after = c.public_view(day(2029, 4, 1));
    assert_eq!(
        after.status,
        certflow_domain::intake::application::CertificateStatus::Expired
    );
    Ok(())
}

/// C7: the fields IAF CertSearch's Certification Body upload API marks mandatory (`POST
/// https://api.iafcertsearch.org/api/client/v1/cb/upload-cert`,
/// <https://support.iafcertsearch.org/docs/api-access/certification-body-apis/certification-api/upload-certification>),
/// each with the shape it must have.
const CERTSEARCH_MANDATORY: &[(&str, Shape)] = &[
    ("certificate_number", Shape::Text),
    (
        "certification_status",
        Shape::OneOf(&[
            "active",
            "inactive",
            "suspended",
            "cancelled",
            "hidden",
            "withdrawn",
            "expired",
        ]),
    ),
    (
        "certificate_accreditation_status",
        Shape::OneOf(&["Accredited", "Unaccredited"]),
    ),
    ("certification_type", Shape::Text),
    ("certification_issue_date", Shape::Yyyymmdd),
    ("certification_expiry_date", Shape::Yyyymmdd),
    ("certified_entity_name", Shape::Text),
    ("certified_entity_unique_id", Shape::Text),
    ("certified_entity_street_address", Shape::Text),
    ("certified_entity_street_city", Shape::Text),
    ("certified_entity_country", Shape::Text),
    ("accreditation_body_name", Shape::Text),
    ("accreditation_body_acronym_name", Shape::Text),
    ("schemes", Shape::Schemes),
];

/// C7: the keys of one `sites[]` item of the upload API, all strings.
const CERTSEARCH_SITE_KEYS: &[&str] = &[
    "street",
    "city",
    "state",
    "country",
    "postcode",
    "scope_description",
];

#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A non-empty string.
    Text,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A real date as `YYYYMMDD`.
    Yyyymmdd,
    /// `[{"scheme_name": text, "standard_list": [{"standards_name": text}, ...]}, ...]`,
    /// neither list empty.
    Schemes,
}

fn text(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.trim().is_empty())
}

fn has_shape(v: &Value, shape: Shape) -> bool {
    match shape {
        Shape::Text => text(v),
        Shape::OneOf(values) => v.as_str().is_some_and(|s| values.contains(&s)),
        Shape::Yyyymmdd => v
            .as_str()
            .is_some_and(|s| s.len() == 8 && NaiveDate::parse_from_str(s, "%Y%m%d").is_ok()),
        Shape::Schemes => v.as_array().is_some_and(|schemes| {
            !schemes.is_empty()
                && schemes.iter().all(|scheme| {
                    text(&scheme["scheme_name"])
                        && scheme["standard_list"].as_array().is_some_and(|list| {
                            !list.is_empty() && list.iter().all(|s| text(&s["standards_name"]))
                        })
                })
        }),
    }
}

/// C7: every mandatory field with its shape, and `sites[]` in the API's keys.
fn certsearch_problems(record: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, shape) in CERTSEARCH_MANDATORY {
        if !has_shape(&record[*field], *shape) {
            problems.push(format!("{field} is not {shape:?}: {}", record[*field]));
        }
    }
    match record["sites"].as_array() {
        None => problems.push("sites is not a list".into()),
        Some(sites) => {
            for (i, site) in sites.iter().enumerate() {
                let keys: Vec<&str> = site
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let mut expected = CERTSEARCH_SITE_KEYS.to_vec();
                expected.sort_unstable();
                let mut got = keys.clone();
                got.sort_unstable();
                if got != expected || !keys.iter().all(|k| site[*k].is_string()) {
                    problems.push(format!("sites[{i}] keys {keys:?}"));
                }
            }
        }
    }
    problems
}

#[test]
fn c7_certsearch_record_has_every_mandatory_upload_api_field() -> TestResult {
    for (decided, effective, today) in [
        (day(2028, 2, 29), "2028-02-29", day(2028, 3, 1)),
        (day(2026, 11, 30), "2027-01-15", day(2026, 12, 1)),
        (day(2026, 3, 20), "2026-03-20", day(2030, 1, 1)),
    ] {
        let c = issued(decided, effective, Jurisdiction::Cn)?;
        let record = serde_json::to_value(certsearch_record(
            &c,
            today,
            &CertificateSettings::default(),
        ))
        .map_err(|e| e.to_string())?;
        let problems = certsearch_problems(&record);
        assert!(problems.is_empty(), "{problems:?} in {record}");
    }
    Ok(())
}

#[test]
fn c7_certsearch_dates_yyyymmdd_schemes_sites_and_accreditation_body() -> TestResult {
    let c = issued(day(2028, 2, 29), "2028-02-29", Jurisdiction::Cn)?;
    let r = certsearch_record(&c, day(2028, 3, 1), &CertificateSettings::default());
    assert_eq!(r.certificate_number, "CF-2026-000042");
    assert_eq!(r.certification_issue_date, "20280229");
    assert_eq!(r.certification_original_issue_date, "20280229");
    assert_eq!(r.certification_expiry_date, "20310228");
    assert_eq!(r.certified_entity_name, "Acme Data Co., Ltd.");
    let v = serde_json::to_value(&r).map_err(|e| e.to_string())?;
    assert_eq!(v["certification_status"], json!("active"));
    assert_eq!(v["certificate_accreditation_status"], json!("Accredited"));
    assert_eq!(v["certification_type"], json!("Management System"));
    assert_eq!(
        v["certified_entity_unique_id"],
        json!("uscc:91310000MA1FL8XQ37")
    );
    assert_eq!(
        v["certified_entity_street_address"],
        json!("88 Century Ave")
    );
    assert_eq!(v["certified_entity_street_city"], json!("Shanghai"));
    assert_eq!(v["certified_entity_country"], json!("CN"));
    assert_eq!(v["accreditation_body_acronym_name"], json!("CNAS"));
    assert_eq!(
        v["accreditation_body_name"],
        json!("China National Accreditation Service for Conformity Assessment")
    );
    assert_eq!(
        v["schemes"],
        json!([
            { "scheme_name": "ISMS", "standard_list": [{ "standards_name": "ISO/IEC 27001:2022" }] },
            { "scheme_name": "PIMS", "standard_list": [{ "standards_name": "ISO/IEC 27701:2019" }] }
        ])
    );
    assert_eq!(
        v["sites"][0],
        json!({
            "street": "88 Century Ave", "city": "Shanghai", "state": "", "country": "CN",
            "postcode": "200120", "scope_description": "Payroll service operations"
        })
    );
    // C7 [cfg]: the accreditation body is the settings'.
    let settings: CertificateSettings = serde_json::from_value(json!({
        "accreditation_body": { "name": "United Kingdom Accreditation Service", "acronym": "UKAS", "accredited": false }
    }))
    .map_err(|e| e.to_string())?;
    let v = serde_json::to_value(certsearch_record(&c, day(2028, 3, 1), &settings))
        .map_err(|e| e.to_string())?;
    assert_eq!(v["accreditation_body_acronym_name"], json!("UKAS"));
    assert_eq!(v["certificate_accreditation_status"], json!("Unaccredited"));
    Ok(())
}

#[test]
fn c7_accreditation_body_setting_checked() -> TestResult {
    let bad: CertificateSettings = serde_json::from_value(json!({
        "accreditation_body": { "name": " ", "acronym": "" }, "effective_within_days": 400
    }))
    .map_err(|e| e.to_string())?;
    let fields: Vec<_> = bad.check().into_iter().map(|e| (e.field, e.rule)).collect();
    assert_eq!(
        fields,
        vec![
            ("/effective_within_days".to_string(), "C2"),
            ("/accreditation_body/name".to_string(), "C7"),
            ("/accreditation_body/acronym".to_string(), "C7"),
        ]
    );
    Ok(())
}

/// The issue's example: a grant decided 2026-11-30.
const DECIDED: (i32, u32, u32) = (2026, 11, 30);

fn decided() -> NaiveDate {
    day(DECIDED.0, DECIDED.1, DECIDED.2)
}

#[test]
fn c2_effective_date_cannot_lengthen_the_cycle() -> TestResult {
    // An effective date 15 months after the decision is refused (C2, [cfg] 90 days).
    let Err(v) = issued(decided(), "2028-02-29", Jurisdiction::Iaf) else {
        return Err("effective 15 months after the decision was accepted".into());
    };
    assert!(v.contains("rule: \"C2\"") && v.contains("90 days"), "{v}");
    // Within the bound, the cycle still runs from the decision: expiry 2029-11-29, not
    // three years from the effective date.
    let c = issued(decided(), "2027-02-28", Jurisdiction::Iaf)?;
    assert_eq!(c.granted_on, day(2027, 2, 28));
    assert_eq!(c.expires_on, day(2029, 11, 29));
    assert_eq!(c.recertification.decide_by, day(2029, 11, 29));
    // The last day allowed is the 90th after the decision.
    issued(decided(), "2027-02-28", Jurisdiction::Cn)?;
    let Err(_) = issued(decided(), "2027-03-01", Jurisdiction::Cn) else {
        return Err("effective 91 days after the decision was accepted".into());
    };
    // A recertification may take effect the day after the previous expiry, however far.
    let mut body = request_json("2030-01-01");
    body["previous_expiry"] = json!("2029-12-31");
    let req = IssueRequest::from_json(&body).map_err(|e| format!("{e:?}"))?;
    let c = issued_on_request(day(2029, 6, 1), &req, Jurisdiction::Iaf)?;
    assert_eq!(c.expires_on, day(2032, 12, 31));
    Ok(())
}

#[test]
fn c3_the_issue_example_plans_every_year_to_the_recertification_year() -> TestResult {
    let c = issued(decided(), "2027-02-28", Jurisdiction::Iaf)?;
    let due: Vec<_> = c.surveillance.iter().map(|s| s.due_by).collect();
    // 2027 and 2028 each have a surveillance; 2029 is the recertification year.
    assert_eq!(due, vec![day(2027, 11, 30), day(2028, 12, 31)]);
    assert_eq!(c.expires_on.year(), 2029);
    Ok(())
}

fn years_without_surveillance(c: &Certificate) -> Vec<i32> {
    (c.decided_on.year() + 1..c.expires_on.year())
        .filter(|y| !c.surveillance.iter().any(|s| s.due_by.year() == *y))
        .collect()
}

proptest! {
    /// C3 (ISO/IEC 17021-1 9.6.2.2): whatever the decision day, the effective date within its
    /// bound and the jurisdiction, and for a recertification decided up to a year before or
    /// (IAF) six months after the previous expiry, every calendar year between the decision
    /// and the recertification (expiry) year has a surveillance due; the first is due within
    /// 12 months of the decision; each next within the gap limit and the next calendar year;
    /// none after the expiry.
    #[test]
    fn c3_every_calendar_year_of_the_cycle_has_a_surveillance(
        offset in 0i64..3650,
        effective_after in 0u64..=90,
        previous_after in proptest::option::of(-180i64..=365),
        cn in any::<bool>(),
    ) {
        let decided = day(2025, 1, 1) + chrono::Duration::days(offset);
        let jurisdiction = if cn { Jurisdiction::Cn } else { Jurisdiction::Iaf };
        let previous_after = previous_after.filter(|d| *d >= 0 || !cn);
        let effective = decided + chrono::Days::new(effective_after);
        let mut body = request_json(&effective.to_string());
        if let Some(after) = previous_after {
            body["previous_expiry"] = json!((decided + chrono::Duration::days(after)).to_string());
        }
        let req = IssueRequest::from_json(&body).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let c = issued_on_request(decided, &req, jurisdiction).map_err(TestCaseError::fail)?;
        prop_assert_eq!(years_without_surveillance(&c), Vec::<i32>::new(), "{:?}", c.surveillance);
        let gap = CertificateSettings::default().max_gap(jurisdiction);
        let dues: Vec<_> = c.surveillance.iter().map(|s| s.due_by).collect();
        prop_assert!(dues.len() >= 2);
        prop_assert!(dues.first().is_some_and(|d| *d <= decided + chrono::Months::new(12)));
        for pair in dues.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            prop_assert!(a < b && b <= a + chrono::Months::new(gap) && b.year() <= a.year() + 1);
        }
        prop_assert!(dues.iter().all(|d| *d <= c.expires_on));
        // C2: never longer than three years from the decision (a recertification: from the
        // previous expiry).
        let start = previous_after.map_or(decided, |a| decided + chrono::Duration::days(a + 1));
        prop_assert!(c.expires_on <= start + chrono::Months::new(36));
    }
}

#[test]
fn c5_not_yet_effective_certificate_shows_pending_until_its_effective_date() -> TestResult {
    let c = issued(decided(), "2027-02-28", Jurisdiction::Iaf)?;
    for (today, status, certsearch) in [
        (day(2026, 11, 30), CertificateStatus::Pending, "inactive"),
        (day(2027, 2, 27), CertificateStatus::Pending, "inactive"),
        (day(2027, 2, 28), CertificateStatus::Active, "active"),
        (day(2029, 11, 30), CertificateStatus::Expired, "expired"),
    ] {
        assert_eq!(c.status_on(today), status, "{today}");
        assert_eq!(c.public_view(today).status, status, "{today}");
        let record = certsearch_record(&c, today, &CertificateSettings::default());
        assert_eq!(record.certification_status, certsearch, "{today}");
    }
    let v = serde_json::to_value(c.public_view(day(2026, 12, 1))).map_err(|e| e.to_string())?;
    assert_eq!(v["status"], json!("pending"));
    // A pending certificate may still be withdrawn (it changes as an active one).
    let mut w = c.clone();
    withdraw(&mut w, &reason("client request")?, "op", day(2026, 12, 1)).map_err(err)?;
    Ok(())
}

#[test]
fn r1_issuance_is_recorded_on_the_day_of_issue_not_the_effective_date() -> TestResult {
    let c = issued(decided(), "2027-02-28", Jurisdiction::Iaf)?;
    let first = c.history.first().ok_or("no history")?;
    assert_eq!(first.on, decided());
    assert!(
        first.reason.contains("effective on 2027-02-28"),
        "{}",
        first.reason
    );
    assert_eq!(
        c.revisions.first().map(|r| r.effective_on),
        Some(day(2027, 2, 28))
    );
    Ok(())
}

#[test]
fn r1_a_held_date_may_not_lie_in_the_future() -> TestResult {
    let today = decided();
    // A surveillance audit cannot have been held after the day it is applied.
    let mut c = issued(day(2026, 3, 20), "2026-03-20", Jurisdiction::Iaf)?;
    refused(
        record_surveillance(
            &mut c,
            day(2027, 11, 1),
            "op",
            today,
            Jurisdiction::Iaf,
            &CertificateSettings::default(),
        ),
        "R1",
    )?;
    // Recorded on the day it is recorded; the day held is data.
    record_surveillance(
        &mut c,
        day(2026, 11, 1),
        "op",
        today,
        Jurisdiction::Iaf,
        &CertificateSettings::default(),
    )
    .map_err(err)?;
    let last = c.history.last().ok_or("no history")?;
    assert_eq!((last.action, last.on), (Action::SurveillanceHeld, today));
    assert_eq!(
        c.surveillance.first().and_then(|s| s.held_on),
        Some(day(2026, 11, 1))
    );
    Ok(())
}

#[test]
fn r1_certificate_round_trips_through_json() -> TestResult {
    let mut c = cert()?;
    suspend(
        &mut c,
        &suspension(json!({ "reason": "x" }))?,
        "op",
        day(2026, 6, 1),
        &CertificateSettings::default(),
    )
    .map_err(err)?;
    let text = serde_json::to_string(&c).map_err(|e| e.to_string())?;
    let back: Certificate = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    assert_eq!(back, c);
    let settings: CertificateSettings =
        serde_json::from_value(json!({ "number_prefix": "ZB" })).map_err(|e| e.to_string())?;
    assert_eq!(settings.suspension_months, 6);
    assert_eq!(settings.number_prefix, "ZB");
    Ok(())
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9 :\\-]{0,12}".prop_map(Value::from),
        Just(Value::from("2026-04-01")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("reason".to_string()),
                        Just("resolve_by".to_string()),
                        Just("effective_on".to_string()),
                        Just("signatory".to_string()),
                        Just("site_scopes".to_string()),
                        Just("drop_sites".to_string()),
                        Just("drop_standards".to_string()),
                        Just("held_on".to_string()),
                        Just("site".to_string()),
                        Just("scope".to_string()),
                        "[a-z_]{1,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn c1_c3_c5_body_readers_never_panic(v in arb_json()) {
        let _ = IssueRequest::from_json(&v);
        let _ = SuspendRequest::from_json(&v);
        let _ = ReasonRequest::from_json(&v);
        let _ = ReduceScopeRequest::from_json(&v);
        let _ = ReviseRequest::from_json(&v);
    }
}

fn recertified(
    decided: NaiveDate,
    previous: &str,
    j: Jurisdiction,
) -> Result<Certificate, Vec<Violation>> {
    let app = application().map_err(|e| vec![Violation::new("test", e)])?;
    let review = review("x");
    let decision = decision(decided);
    let mut body = request_json(&decided.to_string());
    body["previous_expiry"] = json!(previous);
    let req = IssueRequest::from_json(&body)
        .map_err(|e| vec![Violation::new("test", format!("{e:?}"))])?;
    let grant = Grant {
        application: &app,
        review: &review,
        decision: &decision,
    };
    issue(
        grant,
        &req,
        "n".into(),
        "op",
        decided,
        j,
        &CertificateSettings::default(),
    )
}

#[test]
fn c2_c4_recertification_continues_from_previous_expiry() -> TestResult {
    for j in [Jurisdiction::Iaf, Jurisdiction::Cn] {
        // Decided before expiry: the new cycle starts the day after the old expiry.
        let c = recertified(day(2029, 2, 1), "2029-03-31", j).map_err(|v| format!("{v:?}"))?;
        assert_eq!(c.expires_on, day(2032, 3, 31));
        let c = recertified(day(2031, 1, 10), "2031-02-28", j).map_err(|v| format!("{v:?}"))?;
        assert_eq!(c.expires_on, day(2034, 2, 28));
    }
    // C4: IAF restores within 6 months after expiry, keeping the cycle; cn does not.
    let c = recertified(day(2029, 9, 30), "2029-03-31", Jurisdiction::Iaf)
        .map_err(|v| format!("{v:?}"))?;
    assert_eq!(c.expires_on, day(2032, 3, 31));
    let Err(v) = recertified(day(2029, 10, 1), "2029-03-31", Jurisdiction::Iaf) else {
        return Err("restored past the 6-month window".into());
    };
    assert!(v.iter().any(|v| v.rule == "C4"));
    let Err(v) = recertified(day(2029, 4, 1), "2029-03-31", Jurisdiction::Cn) else {
        return Err("cn restored after expiry".into());
    };
    assert!(v.iter().any(|v| v.rule == "C4"));
    Ok(())
}

#[test]
fn c1_c3_c5_settings_checked_every_error_at_once() -> TestResult {
    assert!(CertificateSettings::default().check().is_empty());
    let bad: CertificateSettings = serde_json::from_value(json!({
        "number_prefix": "", "number_digits": 40, "max_gap_months": 30, "suspension_months": 0
    }))
    .map_err(|e| e.to_string())?;
    let fields: Vec<_> = bad.check().into_iter().map(|e| (e.field, e.rule)).collect();
    assert_eq!(
        fields,
        vec![
            ("/number_digits".to_string(), "C1"),
            ("/number_prefix".to_string(), "C1"),
            ("/max_gap_months".to_string(), "C3"),
            ("/suspension_months".to_string(), "C5"),
        ]
    );
    Ok(())
}

/// A surveillance recorded on `today` on `c`.
fn surveillance_on(c: &mut Certificate, held_on: NaiveDate, today: NaiveDate) -> TestResult {
    record_surveillance(
        c,
        held_on,
        "op",
        today,
        Jurisdiction::Iaf,
        &CertificateSettings::default(),
    )
    .map_err(err)
}

#[test]
fn c3_a_surveillance_cannot_be_held_before_the_decision() -> TestResult {
    // The issue's examples: decided 2026-11-30, held 2019-03-01 and 2025-01-01.
    let today = day(2027, 6, 1);
    for held in [day(2019, 3, 1), day(2025, 1, 1), day(2026, 11, 29)] {
        let mut c = issued(decided(), "2026-11-30", Jurisdiction::Iaf)?;
        let before = c.clone();
        refused(
            record_surveillance(
                &mut c,
                held,
                "op",
                today,
                Jurisdiction::Iaf,
                &CertificateSettings::default(),
            ),
            "C3",
        )?;
        assert_eq!(c, before, "a refused surveillance changes nothing");
    }
    // The decision's own day opens the cycle.
    let mut c = issued(decided(), "2026-11-30", Jurisdiction::Iaf)?;
    surveillance_on(&mut c, decided(), today)?;
    Ok(())
}

#[test]
fn c3_a_surveillance_cannot_be_held_before_the_previous_one() -> TestResult {
    let mut c = issued(decided(), "2026-11-30", Jurisdiction::Iaf)?;
    surveillance_on(&mut c, day(2027, 10, 1), day(2027, 10, 2))?;
    let before = c.clone();
    refused(
        record_surveillance(
            &mut c,
            day(2027, 3, 1),
            "op",
            day(2028, 6, 1),
            Jurisdiction::Iaf,
            &CertificateSettings::default(),
        ),
        "C3",
    )?;
    assert_eq!(c, before);
    // The next one may be held on or after the previous one.
    surveillance_on(&mut c, day(2028, 5, 1), day(2028, 6, 1))?;
    let held: Vec<_> = c.surveillance.iter().filter_map(|s| s.held_on).collect();
    assert_eq!(held, vec![day(2027, 10, 1), day(2028, 5, 1)]);
    Ok(())
}

#[test]
fn c5_every_view_shows_the_status_as_of_today() -> TestResult {
    // Decided 2026-11-30, effective 2027-02-28: pending until then, active from then,
    // expired after the expiry; the stored status stays `active` throughout.
    let c = issued(decided(), "2027-02-28", Jurisdiction::Iaf)?;
    for (today, status) in [
        (decided(), CertificateStatus::Pending),
        (day(2027, 2, 28), CertificateStatus::Active),
        (day(2030, 1, 1), CertificateStatus::Expired),
    ] {
        let shown = c.shown_on(today);
        assert_eq!(shown.status, status, "{today}");
        assert_eq!(shown.status, c.public_view(today).status, "{today}");
        let record = certsearch_record(&c, today, &CertificateSettings::default());
        let exported = serde_json::to_value(&record).map_err(|e| e.to_string())?;
        let as_shown = serde_json::to_value(&shown).map_err(|e| e.to_string())?;
        assert_eq!(as_shown["status"], json!(status.name()), "{today}");
        assert!(exported["certification_status"].is_string(), "{exported}");
        assert_eq!(
            Certificate {
                status: c.status,
                ..shown
            },
            c,
            "only the status differs"
        );
    }
    assert_eq!(c.status, CertificateStatus::Active);
    Ok(())
}
