//! Rules S1, S3, X1, X2 and G1 (docs/CYCLE.md): a cycle audit applied to the certificate
//! (maintained, or a review required), the decisions on it (D1–D8 against that audit), and
//! the changes of the certified client, each at its boundary.

use crate::certificate::cert;
use crate::common::cb::{client, close_all, person, person_json};
use crate::common::day;
use certflow_domain::audit::AuditRecord;
use certflow_domain::certificate::{
    Action, Certificate, CertificateSettings, SuspendRequest, suspend,
};
use certflow_domain::cycle::{
    ChangeRequest, ChangeReviewRequest, CycleAudit, CycleContext, CycleDecisionRecord,
    CycleDecisionRequest, Maintenance, apply_cycle_audit, apply_cycle_decision,
    check_cycle_decision, issue_change, request_change, review_change,
};
use certflow_domain::decision::DecisionSettings;
use certflow_domain::intake::application::{CertificateStatus, StandardCode};
use certflow_domain::review::Jurisdiction;
use certflow_domain::review::programme::next_surveillance_due;
use certflow_domain::violation::Violation;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

type TestResult = Result<(), String>;

/// A stored cycle audit `id` of `kind` (`surveillance_1`, or `special` with `purpose`) from
/// `starts_on` (two days), by p-lead and p-auditor, with findings of the given severities
/// (NCs open), concluding `recommendation`.
fn audit(
    id: &str,
    kind: &str,
    purpose: Option<&str>,
    starts_on: &str,
    severities: &[&str],
    recommendation: &str,
) -> Result<AuditRecord, String> {
    let (mut ncs, mut ofis) = (0, 0);
    let findings: Vec<Value> = severities
        .iter()
        .map(|s| {
            let id = if *s == "opportunity" {
                ofis += 1;
                format!("ofi-{ofis}")
            } else {
                ncs += 1;
                format!("nc-{ncs}")
            };
            json!({ "id": id, "severity": s, "clause": "A.5.15", "statement": "gap",
                    "evidence": "seen", "process": "access control", "responses": [] })
        })
        .collect();
    let mut v = json!({
        "id": id, "type": kind, "starts_on": starts_on, "ends_on": starts_on,
        "team": [{ "person": "p-lead", "role": "lead" }, { "person": "p-auditor", "role": "auditor" }],
        "remote": { "used": false }, "findings": findings,
        "recommendation": recommendation,
    });
    if let Some(p) = purpose {
        v["purpose"] = json!(p);
        if p == "scope_extension" {
            v["extended_scope"] = json!("Operation and support of the payroll service");
        } else {
            v["cause"] = json!("suspension_follow_up");
        }
    }
    serde_json::from_value(v).map_err(|e| e.to_string())
}

fn cycle(a: &AuditRecord) -> Result<CycleAudit, String> {
    CycleAudit::of(a).ok_or_else(|| format!("{} is no cycle audit", a.id))
}

fn apply(c: &mut Certificate, a: &AuditRecord, today: NaiveDate) -> Result<bool, String> {
    Ok(apply_cycle_audit(
        c,
        &cycle(a)?,
        "operator:ops",
        today,
        Jurisdiction::Iaf,
        &CertificateSettings::default(),
    ))
}

fn at(d: NaiveDate) -> Result<DateTime<Utc>, String> {
    d.and_hms_opt(10, 0, 0)
        .map(|t| t.and_utc())
        .ok_or_else(|| "time".to_string())
}

fn decision_request(v: Value) -> Result<CycleDecisionRequest, String> {
    CycleDecisionRequest::from_json(&v).map_err(|e| format!("{e:?}"))
}

/// The decision `body` on audit `a` of a certificate `status`, after `earlier`, by the
/// register entry of `body.decision_maker` (a competent employee), on `today`.
fn decide(
    body: Value,
    a: &AuditRecord,
    status: CertificateStatus,
    earlier: &[CycleDecisionRecord],
    today: NaiveDate,
) -> Result<Result<CycleDecisionRecord, Vec<Violation>>, String> {
    let request = decision_request(body)?;
    let dm = person(&person_json("Wang Fang"))?;
    let standards = [StandardCode::Iso27001];
    let areas = ["IAF 33".to_string()];
    let client = client();
    let context = CycleContext {
        client: &client,
        standards: &standards,
        technical_areas: &areas,
        certificate_status: status,
        earlier,
    };
    Ok(check_cycle_decision(
        &request,
        Some(&dm),
        a,
        &cycle(a)?,
        &context,
        format!("decision-{}", earlier.len() + 1),
        "operator:ops",
        at(today)?,
        &DecisionSettings::default(),
    ))
}

fn rules(result: &Result<CycleDecisionRecord, Vec<Violation>>) -> Vec<String> {
    let mut rules: Vec<String> = match result {
        Ok(_) => Vec::new(),
        Err(v) => v.iter().map(|v| v.rule.clone()).collect(),
    };
    rules.sort();
    rules.dedup();
    rules
}

fn ok(result: Result<CycleDecisionRecord, Vec<Violation>>) -> Result<CycleDecisionRecord, String> {
    result.map_err(|v| format!("{v:?}"))
}

const SURVEILLANCE_DAY: (i32, u32, u32) = (2027, 2, 1);

fn surveillance_day() -> NaiveDate {
    day(SURVEILLANCE_DAY.0, SURVEILLANCE_DAY.1, SURVEILLANCE_DAY.2)
}

#[test]
fn s3_a_minor_only_with_maintain_is_maintained_and_the_next_surveillance_replanned() -> TestResult {
    let mut c = cert()?;
    let a = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &["minor", "opportunity"],
        "maintain",
    )?;
    let today = day(2027, 2, 5);
    assert!(apply(&mut c, &a, today)?);
    // C3: held on the audit's first day; the next due from that day.
    assert_eq!(
        c.surveillance.first().and_then(|s| s.held_on),
        Some(surveillance_day())
    );
    let next = next_surveillance_due(surveillance_day(), 15).ok_or("no next due")?;
    assert_eq!(
        c.surveillance.get(1).map(|s| s.due_by),
        Some(next.min(c.expires_on))
    );
    let last = c.history.last().ok_or("no history")?;
    assert_eq!(
        (last.action, last.rule.as_str(), last.on),
        (Action::Maintained, "S3", today)
    );
    assert_eq!(c.review_required, None);
    assert_eq!(
        c.cycle_audits.first().map(|a| a.outcome),
        Some(Maintenance::Maintained)
    );
    // Idempotent: applying it again changes nothing.
    let before = c.clone();
    assert!(!apply(&mut c, &a, day(2027, 2, 6))?);
    assert_eq!(c, before);
    Ok(())
}

#[test]
fn s3_a_major_requires_review_even_once_verified() -> TestResult {
    let mut a = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &["major"],
        "maintain",
    )?;
    close_all(&mut a, "2027-02-02", "2027-02-03")?;
    let mut c = cert()?;
    apply(&mut c, &a, day(2027, 2, 5))?;
    let review = c.review_required.as_ref().ok_or("no review required")?;
    assert_eq!(review.audit, "audit-3");
    assert!(
        review
            .reasons
            .iter()
            .any(|r| r.rule == "S3" && r.message.contains("nc-1"))
    );
    // The surveillance is held all the same.
    assert_eq!(
        c.surveillance.first().and_then(|s| s.held_on),
        Some(surveillance_day())
    );
    let last = c.history.last().ok_or("no history")?;
    assert_eq!(last.action, Action::ReviewRequired);
    // The public does not see a pending review (R3), only its outcome.
    let public = c.public_view(day(2027, 2, 5));
    assert!(
        public
            .history
            .iter()
            .all(|h| h.action != Action::ReviewRequired)
    );
    Ok(())
}

#[test]
fn s3_recommendation_suspend_requires_review() -> TestResult {
    let a = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &[],
        "suspend",
    )?;
    let mut c = cert()?;
    apply(&mut c, &a, day(2027, 2, 5))?;
    let review = c.review_required.ok_or("no review required")?;
    assert_eq!(review.reasons.len(), 1);
    assert!(review.reasons[0].message.contains("recommends to suspend"));
    Ok(())
}

#[test]
fn s3_c5_an_audit_of_a_suspended_certificate_requires_review() -> TestResult {
    let mut c = cert()?;
    suspend(
        &mut c,
        &SuspendRequest {
            reason: "client request".into(),
            resolve_by: None,
        },
        "op",
        day(2027, 1, 10),
        &CertificateSettings::default(),
    )
    .map_err(|v| format!("{v:?}"))?;
    let a = audit(
        "audit-3",
        "special",
        Some("short_notice"),
        "2027-02-01",
        &[],
        "maintain",
    )?;
    apply(&mut c, &a, day(2027, 2, 5))?;
    let review = c.review_required.ok_or("no review required")?;
    assert_eq!(review.reasons.first().map(|r| r.rule.as_str()), Some("C5"));
    // A short-notice audit is no surveillance: none is marked held.
    assert!(c.surveillance.iter().all(|s| s.held_on.is_none()));
    Ok(())
}

#[test]
fn x1_a_scope_extension_audit_always_requires_review() -> TestResult {
    let a = audit(
        "audit-3",
        "special",
        Some("scope_extension"),
        "2027-02-01",
        &[],
        "grant",
    )?;
    let mut c = cert()?;
    apply(&mut c, &a, day(2027, 2, 5))?;
    let review = c.review_required.ok_or("no review required")?;
    assert_eq!(review.reasons.first().map(|r| r.rule.as_str()), Some("X1"));
    Ok(())
}

#[test]
fn s3_c3_a_surveillance_beyond_the_cycle_is_applied_as_a_review_reason() -> TestResult {
    let mut c = cert()?;
    let first = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &[],
        "maintain",
    )?;
    let second = audit(
        "audit-4",
        "surveillance_2",
        None,
        "2028-01-10",
        &[],
        "maintain",
    )?;
    let third = audit(
        "audit-5",
        "surveillance_2",
        None,
        "2028-06-01",
        &[],
        "maintain",
    )?;
    apply(&mut c, &first, day(2027, 2, 1))?;
    apply(&mut c, &second, day(2028, 1, 10))?;
    assert_eq!(c.review_required, None);
    assert!(apply(&mut c, &third, day(2028, 6, 1))?);
    let review = c.review_required.ok_or("no review required")?;
    assert!(review.reasons.iter().any(|r| r.rule == "C3"));
    Ok(())
}

#[test]
fn d1_the_same_person_on_the_team_cannot_decide() -> TestResult {
    let a = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &[],
        "suspend",
    )?;
    for member in ["p-lead", "p-auditor"] {
        let result = decide(
            json!({ "decision_maker": member, "audit": "audit-3", "outcome": "suspend" }),
            &a,
            CertificateStatus::Active,
            &[],
            day(2027, 2, 5),
        )?;
        assert_eq!(rules(&result), ["D1"], "{member}");
    }
    // Someone who took no part may.
    let d = ok(decide(
        json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "suspend" }),
        &a,
        CertificateStatus::Active,
        &[],
        day(2027, 2, 5),
    )?)?;
    assert_eq!(d.relied_on.id, "audit-3");
    assert_eq!(
        (d.decision_maker.id.as_str(), d.decision_maker.name.as_str()),
        ("p-dm", "Wang Fang")
    );
    Ok(())
}

#[test]
fn s3_d5_maintain_needs_the_major_verified_suspend_does_not() -> TestResult {
    let open = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &["major", "minor"],
        "maintain",
    )?;
    let maintain = json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "maintain" });
    let today = day(2027, 3, 5);
    let result = decide(
        maintain.clone(),
        &open,
        CertificateStatus::Active,
        &[],
        today,
    )?;
    assert_eq!(rules(&result), ["D5"]);
    assert_eq!(
        result.err().map(|v| v.len()),
        Some(2),
        "the major and the minor"
    );
    let suspend = json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "suspend" });
    ok(decide(
        suspend,
        &open,
        CertificateStatus::Active,
        &[],
        today,
    )?)?;
    let mut closed = open.clone();
    close_all(&mut closed, "2027-02-10", "2027-02-20")?;
    let d = ok(decide(
        maintain,
        &closed,
        CertificateStatus::Active,
        &[],
        today,
    )?)?;
    assert!(d.rules_checked.iter().any(|r| r == "D5"));
    Ok(())
}

#[test]
fn d7_maintain_against_a_suspend_recommendation_needs_a_justification() -> TestResult {
    let a = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &[],
        "suspend",
    )?;
    let today = day(2027, 2, 5);
    let bare = json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "maintain" });
    assert_eq!(
        rules(&decide(bare, &a, CertificateStatus::Active, &[], today)?),
        ["D7"]
    );
    let justified = json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "maintain",
                            "justification": "the failure was corrected during the audit" });
    let d = ok(decide(
        justified,
        &a,
        CertificateStatus::Active,
        &[],
        today,
    )?)?;
    assert!(d.reasons.iter().any(|r| r.rule == "D7"));
    Ok(())
}

#[test]
fn s3_one_decision_per_audit() -> TestResult {
    let a = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &[],
        "suspend",
    )?;
    let body = json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "suspend" });
    let today = day(2027, 2, 5);
    let first = ok(decide(
        body.clone(),
        &a,
        CertificateStatus::Active,
        &[],
        today,
    )?)?;
    let again = decide(body, &a, CertificateStatus::Active, &[first], today)?;
    assert_eq!(rules(&again), ["S3"]);
    Ok(())
}

#[test]
fn s3_c5_the_outcome_fits_the_certificate_status() -> TestResult {
    let a = audit(
        "audit-3",
        "special",
        Some("short_notice"),
        "2027-02-01",
        &[],
        "maintain",
    )?;
    let today = day(2027, 2, 5);
    let body = |o: &str| json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": o });
    assert_eq!(
        rules(&decide(
            body("restore"),
            &a,
            CertificateStatus::Active,
            &[],
            today
        )?),
        ["C5"]
    );
    assert_eq!(
        rules(&decide(
            body("maintain"),
            &a,
            CertificateStatus::Suspended,
            &[],
            today
        )?),
        ["C5"]
    );
    assert_eq!(
        rules(&decide(
            body("suspend"),
            &a,
            CertificateStatus::Withdrawn,
            &[],
            today
        )?),
        ["C5"]
    );
    ok(decide(
        body("restore"),
        &a,
        CertificateStatus::Suspended,
        &[],
        today,
    )?)?;
    Ok(())
}

#[test]
fn x2_suspend_then_restore_after_a_short_notice_audit() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    let s = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &["major"],
        "suspend",
    )?;
    apply(&mut c, &s, day(2027, 2, 5))?;
    let suspended = ok(decide(
        json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "suspend" }),
        &s,
        c.status_on(day(2027, 2, 10)),
        &[],
        day(2027, 2, 10),
    )?)?;
    assert!(
        apply_cycle_decision(&mut c, &suspended, day(2027, 2, 10), &settings)
            .map_err(|v| format!("{v:?}"))?
    );
    assert_eq!(c.status, CertificateStatus::Suspended);
    assert_eq!(
        c.review_required, None,
        "the decision on audit-3 clears its review"
    );
    let last = c.history.last().ok_or("no history")?;
    assert_eq!(
        (last.action, last.by.as_str()),
        (Action::Suspended, "operator:ops")
    );
    assert!(
        last.reason
            .contains("decision-1 by Wang Fang (p-dm) on audit audit-3")
    );
    // Idempotent.
    assert!(
        !apply_cycle_decision(&mut c, &suspended, day(2027, 2, 11), &settings)
            .map_err(|v| format!("{v:?}"))?
    );

    let mut follow_up = audit(
        "audit-4",
        "special",
        Some("short_notice"),
        "2027-03-01",
        &["major"],
        "maintain",
    )?;
    close_all(&mut follow_up, "2027-03-02", "2027-03-03")?;
    apply(&mut c, &follow_up, day(2027, 3, 4))?;
    let restored = ok(decide(
        json!({ "decision_maker": "p-dm", "audit": "audit-4", "outcome": "restore" }),
        &follow_up,
        c.status_on(day(2027, 3, 5)),
        &[suspended],
        day(2027, 3, 5),
    )?)?;
    assert!(restored.rules_checked.iter().any(|r| r == "X2"));
    apply_cycle_decision(&mut c, &restored, day(2027, 3, 5), &settings)
        .map_err(|v| format!("{v:?}"))?;
    assert_eq!(c.status, CertificateStatus::Active);
    assert_eq!(c.review_required, None);
    Ok(())
}

#[test]
fn x1_extend_scope_only_after_a_scope_extension_audit_then_a_new_revision() -> TestResult {
    let today = day(2027, 2, 5);
    let body = json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "extend_scope",
                       "certificate": { "scope": "Operation and support of the payroll service",
                                        "site_scopes": [{ "site": 0, "scope": "Operation and support" }] } });
    let surveillance = audit(
        "audit-3",
        "surveillance_1",
        None,
        "2027-02-01",
        &[],
        "maintain",
    )?;
    assert_eq!(
        rules(&decide(
            body.clone(),
            &surveillance,
            CertificateStatus::Active,
            &[],
            today
        )?),
        ["X1"]
    );

    let extension = audit(
        "audit-3",
        "special",
        Some("scope_extension"),
        "2027-02-01",
        &[],
        "grant",
    )?;
    let mut c = cert()?;
    apply(&mut c, &extension, today)?;
    let d = ok(decide(
        body,
        &extension,
        CertificateStatus::Active,
        &[],
        today,
    )?)?;
    apply_cycle_decision(&mut c, &d, today, &CertificateSettings::default())
        .map_err(|v| format!("{v:?}"))?;
    assert_eq!(c.revision, 2);
    assert_eq!(
        c.revisions.iter().map(|r| r.obsolete).collect::<Vec<_>>(),
        [true, false]
    );
    let contents = c.contents().ok_or("no contents")?;
    assert_eq!(
        contents.scope,
        "Operation and support of the payroll service"
    );
    assert_eq!(
        contents.sites.first().map(|s| s.scope.as_str()),
        Some("Operation and support")
    );
    let last = c.history.last().ok_or("no history")?;
    assert_eq!(
        (last.action, last.rule.as_str()),
        (Action::ScopeExtended, "X1")
    );
    assert_eq!(c.review_required, None);
    Ok(())
}

#[test]
fn x1_extend_scope_carries_the_scope_and_only_it_does() -> TestResult {
    let base = json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "extend_scope" });
    let Err(errors) = CycleDecisionRequest::from_json(&base) else {
        return Err("extend_scope without a scope accepted".into());
    };
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.rule))
            .collect::<Vec<_>>(),
        [("/certificate", "X1")]
    );
    let empty = json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "extend_scope", "certificate": {} });
    assert!(CycleDecisionRequest::from_json(&empty).is_err());
    let stray = json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "maintain",
                        "certificate": { "scope": "x" } });
    assert!(CycleDecisionRequest::from_json(&stray).is_err());
    Ok(())
}

fn change(v: Value) -> Result<ChangeRequest, String> {
    ChangeRequest::from_json(&v).map_err(|e| format!("{e:?}"))
}

fn review(needs_audit: bool) -> ChangeReviewRequest {
    ChangeReviewRequest {
        needs_audit,
        reason: "reviewed".into(),
    }
}

#[test]
fn g1_a_change_without_audit_is_issued_at_once_as_a_new_revision() -> TestResult {
    let mut c = cert()?;
    let today = day(2027, 5, 1);
    let id = request_change(
        &mut c,
        change(json!({ "reason": "renamed", "organization": "Acme Payroll Co., Ltd." }))?,
        "operator:ops",
        today,
    )
    .map_err(|v| format!("{v:?}"))?;
    assert_eq!(id, "change-1");
    let early = issue_change(&mut c, &id, "operator:ops", today);
    assert_eq!(
        early.err().map(|v| v.rule),
        Some("G1".to_string()),
        "not reviewed yet"
    );
    review_change(&mut c, &id, review(false), "operator:ops", today)
        .map_err(|v| format!("{v:?}"))?;
    let twice = review_change(&mut c, &id, review(true), "operator:ops", today);
    assert_eq!(twice.err().map(|v| v.rule), Some("G1".to_string()));
    issue_change(&mut c, &id, "operator:ops", today).map_err(|v| format!("{v:?}"))?;
    assert_eq!(c.revision, 2);
    assert!(c.revisions.first().is_some_and(|r| r.obsolete));
    assert_eq!(
        c.contents().map(|x| x.organization.as_str()),
        Some("Acme Payroll Co., Ltd.")
    );
    let last = c.history.last().ok_or("no history")?;
    assert_eq!((last.action, last.rule.as_str()), (Action::Revised, "G1"));
    assert_eq!(
        c.changes
            .first()
            .and_then(|ch| ch.issued.as_ref())
            .map(|i| i.revision),
        Some(2)
    );
    let again = issue_change(&mut c, &id, "operator:ops", today);
    assert_eq!(again.err().map(|v| v.rule), Some("G1".to_string()));
    Ok(())
}

#[test]
fn g1_a_change_that_needs_an_audit_waits_for_a_special_audit_decided_after_it() -> TestResult {
    let mut c = cert()?;
    let settings = CertificateSettings::default();
    // A special audit decided before the request does not count.
    let before = audit(
        "audit-3",
        "special",
        Some("scope_extension"),
        "2027-04-01",
        &[],
        "grant",
    )?;
    apply(&mut c, &before, day(2027, 4, 2))?;
    let d1 = ok(decide(
        json!({ "decision_maker": "p-dm", "audit": "audit-3", "outcome": "maintain" }),
        &before,
        CertificateStatus::Active,
        &[],
        day(2027, 4, 3),
    )?)?;
    apply_cycle_decision(&mut c, &d1, day(2027, 4, 3), &settings).map_err(|v| format!("{v:?}"))?;

    let requested = day(2027, 5, 1);
    let id = request_change(
        &mut c,
        change(
            json!({ "reason": "new site", "add_sites": [{ "name": "Suzhou office",
            "address": { "street": "1 Xinghu St", "city": "Suzhou", "country": "CN" },
            "scope": "Support" }] }),
        )?,
        "operator:ops",
        requested,
    )
    .map_err(|v| format!("{v:?}"))?;
    review_change(&mut c, &id, review(true), "operator:ops", requested)
        .map_err(|v| format!("{v:?}"))?;
    let refused = issue_change(&mut c, &id, "operator:ops", requested);
    assert_eq!(refused.err().map(|v| v.rule), Some("G1".to_string()));

    let after = audit(
        "audit-4",
        "special",
        Some("short_notice"),
        "2027-05-10",
        &["major"],
        "maintain",
    )?;
    apply(&mut c, &after, day(2027, 5, 11))?;
    assert!(
        issue_change(&mut c, &id, "operator:ops", day(2027, 5, 11)).is_err(),
        "not decided yet"
    );
    let mut closed = after.clone();
    close_all(&mut closed, "2027-05-12", "2027-05-13")?;
    let d2 = ok(decide(
        json!({ "decision_maker": "p-dm", "audit": "audit-4", "outcome": "maintain" }),
        &closed,
        CertificateStatus::Active,
        &[d1],
        day(2027, 5, 14),
    )?)?;
    apply_cycle_decision(&mut c, &d2, day(2027, 5, 14), &settings).map_err(|v| format!("{v:?}"))?;
    issue_change(&mut c, &id, "operator:ops", day(2027, 5, 15)).map_err(|v| format!("{v:?}"))?;
    assert_eq!(c.contents().map(|x| x.sites.len()), Some(2));
    assert_eq!(
        c.changes
            .first()
            .and_then(|ch| ch.issued.as_ref())
            .and_then(|i| i.audit.as_deref()),
        Some("audit-4")
    );
    Ok(())
}

#[test]
fn g1_a_special_audit_applied_before_the_request_does_not_count_even_on_the_same_day() -> TestResult
{
    let mut c = cert()?;
    let on = day(2027, 4, 1);
    // A short-notice audit held, applied and decided on the day of the request, but before it.
    let before = audit(
        "audit-3",
        "special",
        Some("short_notice"),
        "2027-04-01",
        &["minor"],
        "maintain",
    )?;
    apply(&mut c, &before, on)?;
    let id = request_change(
        &mut c,
        change(json!({ "reason": "renamed", "organization": "Acme Payroll Co., Ltd." }))?,
        "operator:ops",
        on,
    )
    .map_err(|v| format!("{v:?}"))?;
    review_change(&mut c, &id, review(true), "operator:ops", on).map_err(|v| format!("{v:?}"))?;
    let refused = issue_change(&mut c, &id, "operator:ops", on);
    assert_eq!(refused.err().map(|v| v.rule), Some("G1".to_string()));
    // The same kind of audit applied after the request, the same day, counts (S3 maintained).
    let after = audit(
        "audit-4",
        "special",
        Some("short_notice"),
        "2027-04-01",
        &["minor"],
        "maintain",
    )?;
    apply(&mut c, &after, on)?;
    issue_change(&mut c, &id, "operator:ops", on).map_err(|v| format!("{v:?}"))?;
    assert_eq!(
        c.changes
            .first()
            .and_then(|ch| ch.issued.as_ref())
            .and_then(|i| i.audit.as_deref()),
        Some("audit-4")
    );
    Ok(())
}

#[test]
fn g1_a_change_that_changes_nothing_is_refused() -> TestResult {
    let mut c = cert()?;
    let same = c
        .contents()
        .map(|x| x.organization.clone())
        .ok_or("no contents")?;
    let result = request_change(
        &mut c,
        change(json!({ "reason": "x", "organization": same }))?,
        "op",
        day(2027, 5, 1),
    );
    assert_eq!(result.err().map(|v| v.rule), Some("G1".to_string()));
    let bad_site = request_change(
        &mut c,
        change(json!({ "reason": "x", "site_scopes": [{ "site": 7, "scope": "y" }] }))?,
        "op",
        day(2027, 5, 1),
    );
    assert_eq!(bad_site.err().map(|v| v.rule), Some("C1".to_string()));
    assert!(c.changes.is_empty());
    Ok(())
}
