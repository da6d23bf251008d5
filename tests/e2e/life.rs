//! Issue 15, item 9: six years in the life of one certified client, as the CB's procedure
//! runs them (seed ZBT-TP-036 §5.2–§5.8; docs/CYCLE.md), on the real `spin.toml` with the
//! host's clock moved ahead between the steps (`start_app_at`), the state kept.
//!
//! Year 0: initial certification (I1–I8, A1–A10, stage 1 and 2, D1–D8, C1–C4).
//! Year 1: the first surveillance, positive: maintained by the lead auditor (S1, S2, S3).
//! Year 2: the second surveillance finds a major: an independent decision suspends (S3, C5,
//!   D1: not the lead); a short-notice follow-up audit, the majors closed, restores (X2, D5).
//! Year 3: recertification applied for in time, audited and decided: the certificate
//!   continues as a new revision from the old expiry (S4, S5, C2).
//! Year 4: the new cycle's first surveillance (S1); a scope extension audit and decision
//!   (X1, C1).
//! Year 5: the new cycle's second surveillance. A customer complains about the client without
//!   an account (P1); an investigator and a decision maker not involved (P3: not the audit
//!   team, not the decision makers) uphold it with a short-notice audit (P6, X2), and the
//!   outcome is communicated (P2). The client appeals the scope extension decision (P4),
//!   handled by people not involved and not upheld.
//! Year 6: recertified again, before the second expiry.

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::workflow::{
    accepted, certificate_details, certificate_record, certify, close_nonconformity, date,
    offset_to, post, record_audit, register_people, surveillance_checklist,
};
use certflow_tests::{Host, OPERATOR, example_application, start_app, start_app_at};
use chrono::{Months, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;

/// The host as it runs on `day` (the state in `state` kept).
async fn on(state: &Path, day: NaiveDate) -> Result<Host> {
    start_app_at(state, offset_to(day)?).await
}

fn months(day: NaiveDate, n: u32) -> Result<NaiveDate> {
    day.checked_add_months(Months::new(n)).context("date")
}

const TEAM: [(&str, &str); 2] = [("li-na", "lead"), ("chen-jie", "auditor")];

/// An audit of `kind` held on `day` by li-na (lead) and chen-jie, on site.
fn held_on(kind: &str, day: NaiveDate, findings: Value, recommendation: &str) -> Value {
    let team: Vec<Value> = TEAM
        .iter()
        .map(|(person, role)| json!({ "person": person, "role": role }))
        .collect();
    let mut body = json!({
        "type": kind, "starts_on": day, "ends_on": day, "team": team,
        "remote": { "used": false }, "findings": findings, "recommendation": recommendation,
    });
    if kind.starts_with("surveillance") {
        body["checklist"] = surveillance_checklist();
    }
    body
}

/// A decision naming `audit` on application `id` by `decision_maker`: the reply.
async fn decide(host: &Host, id: &str, body: Value) -> Result<certflow_tests::Reply> {
    post(host, &format!("/api/applications/{id}/decision"), &body).await
}

/// S4, S5: the recertification of `number` applied for (with `scope`, when the client's
/// scope changed since the first application), reviewed, audited and granted on `day`; the
/// renewing application's id.
async fn recertify(
    host: &Host,
    number: &str,
    day: NaiveDate,
    scope: Option<&str>,
) -> Result<String> {
    let mut application = example_application()?;
    application["recertification_of"] = json!(number);
    if let Some(scope) = scope {
        application["scope"] = json!(scope);
    }
    let id = accepted(host, &application).await?;
    record_audit(
        host,
        &id,
        &held_on("recertification", day, json!([]), "grant"),
    )
    .await?;
    let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant",
                        "certificate": certificate_details() });
    let granted = decide(host, &id, grant).await?;
    ensure!(granted.status == 201, "{}", granted.body);
    ensure!(
        granted.body["certificate"]["number"] == number,
        "{}",
        granted.body
    );
    Ok(id)
}

fn actions(certificate: &Value) -> Vec<String> {
    certificate["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter_map(|e| e["action"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

each_store! {
async fn issue15_six_years_of_one_client_as_the_procedure_runs_them() -> Result<()> {
    let state = tempfile::tempdir()?;

    // Year 0: initial certification.
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let he_ping = json!({ "name": "He Ping", "employment": { "type": "employee" } });
    let put = host.operator(Method::PUT, "/api/people/he-ping", Some(&he_ping)).await?;
    ensure!(put.status == 200, "{}", put.body);
    let (first_id, number) = certify(&host, &mut Vec::new()).await?;
    let issued = certificate_record(&host, &number).await?;
    let first_expiry = date(&issued["expires_on"])?;
    let first_due = date(&issued["surveillance"][0]["due_by"])?;
    host.stop().await?;

    // Year 1: the first surveillance a month before it is due, positive: maintained (S3).
    let day = first_due.checked_sub_months(Months::new(1)).context("date")?;
    let host = on(state.path(), day).await?;
    let first = record_audit(&host, &first_id, &held_on("surveillance_1", day, json!([]), "maintain")).await?;
    ensure!(first["certificate"]["applied"]["outcome"] == "maintained", "{first}");
    let after_first = certificate_record(&host, &number).await?;
    let second_due = date(&after_first["surveillance"][1]["due_by"])?;
    host.stop().await?;

    // Year 2: the second surveillance finds a major; the lead recommends suspension.
    let day = second_due.checked_sub_months(Months::new(1)).context("date")?;
    let host = on(state.path(), day).await?;
    let major = json!([{ "severity": "major", "clause": "A.5.15", "statement": "access rights not reviewed",
                         "evidence": "no review for 14 months", "process": "access control" }]);
    let second = record_audit(&host, &first_id, &held_on("surveillance_2", day, major, "suspend")).await?;
    let second_id = second["id"].as_str().context("audit id")?.to_string();
    ensure!(second["certificate"]["applied"]["outcome"] == "review_required", "{second}");
    // D1: the lead auditor may not decide on it; an independent, competent person suspends.
    let by_lead = decide(&host, &first_id, json!({ "decision_maker": "li-na", "audit": second_id, "outcome": "suspend" })).await?;
    ensure!(by_lead.status == 409, "{}", by_lead.body);
    let suspended = decide(&host, &first_id, json!({ "decision_maker": "wang-fang", "audit": second_id, "outcome": "suspend" })).await?;
    ensure!(suspended.status == 201 && suspended.body["certificate"]["status"] == "suspended", "{}", suspended.body);
    let (_, public) = host.get(&format!("/api/certificates/{number}")).await?;
    ensure!(public.contains("\"suspended\""), "{public}");
    host.stop().await?;

    // A month later: the major closed, a short-notice follow-up audit, restored (X2, D5).
    let day = months(day, 1)?;
    let host = on(state.path(), day).await?;
    close_nonconformity(&host, &first_id, &second_id, "nc-1", day).await?;
    let mut follow_up = held_on("special", day, json!([]), "maintain");
    follow_up["purpose"] = json!("short_notice");
    follow_up["cause"] = json!("suspension_follow_up");
    let follow_up = record_audit(&host, &first_id, &follow_up).await?;
    let follow_up_id = follow_up["id"].as_str().context("audit id")?.to_string();
    let restored = decide(&host, &first_id, json!({ "decision_maker": "wang-fang", "audit": follow_up_id, "outcome": "restore" })).await?;
    ensure!(restored.status == 201 && restored.body["certificate"]["status"] == "active", "{}", restored.body);
    host.stop().await?;

    // Year 3: recertification, applied for on the last day in time (C4), decided the same day.
    let apply_by = date(&issued["recertification"]["apply_by"])?;
    let host = on(state.path(), apply_by).await?;
    let second_cycle = recertify(&host, &number, apply_by, None).await?;
    let renewed = certificate_record(&host, &number).await?;
    ensure!(renewed["revision"] == 2 && renewed["status"] == "active", "{renewed}");
    ensure!(date(&renewed["revisions"][1]["effective_on"])? == first_expiry.succ_opt().context("date")?, "{renewed}");
    let second_expiry = date(&renewed["expires_on"])?;
    ensure!(second_expiry > first_expiry, "{renewed}");
    let new_due = date(&renewed["surveillance"][0]["due_by"])?;
    host.stop().await?;

    // Year 4: the new cycle's first surveillance, on the renewing application; then a scope
    // extension audit and its decision (X1): a new revision with the extended scope.
    let day = new_due.checked_sub_months(Months::new(1)).context("date")?;
    let host = on(state.path(), day).await?;
    let third = record_audit(&host, &second_cycle, &held_on("surveillance_1", day, json!([]), "maintain")).await?;
    ensure!(third["certificate"]["applied"]["outcome"] == "maintained", "{third}");
    let extended = "Design, development, operation and support of the Acme cloud payroll service";
    let mut extension = held_on("special", day, json!([]), "grant");
    extension["purpose"] = json!("scope_extension");
    extension["extended_scope"] = json!(extended);
    let extension = record_audit(&host, &second_cycle, &extension).await?;
    let extension_id = extension["id"].as_str().context("audit id")?.to_string();
    let extend = decide(&host, &second_cycle, json!({ "decision_maker": "wang-fang", "audit": extension_id,
        "outcome": "extend_scope", "certificate": { "scope": extended } })).await?;
    ensure!(extend.status == 201, "{}", extend.body);
    ensure!(extend.body["certificate"]["revision"] == 3
        && extend.body["certificate"]["revisions"][2]["contents"]["scope"] == extended, "{}", extend.body);
    let after_third = certificate_record(&host, &number).await?;
    let fourth_due = date(&after_third["surveillance"][1]["due_by"])?;
    host.stop().await?;

    // Year 5: the new cycle's second surveillance.
    let day = fourth_due.checked_sub_months(Months::new(1)).context("date")?;
    let host = on(state.path(), day).await?;
    let fourth = record_audit(&host, &second_cycle, &held_on("surveillance_2", day, json!([]), "maintain")).await?;
    ensure!(fourth["certificate"]["applied"]["outcome"] == "maintained", "{fourth}");

    // P1: a complaint lodged by anyone, acknowledged with a reference.
    let complaint = json!({
        "complainant": { "name": "Zhou Min", "email": "zhou.min@example.org" },
        "subject": { "kind": "certified_client", "certificate": number },
        "description": "My payslip was visible to other customers of the payroll service." });
    let lodged = certflow_tests::reply(host.client.post(host.url("/api/complaints"))
        .header("content-type", "application/json").body(complaint.to_string())).await?;
    ensure!(lodged.status == 201, "{}", lodged.body);
    let reference = lodged.body["reference"].as_str().context("reference")?.to_string();
    let path = format!("/api/complaints/{reference}");
    let acknowledged = host.operator(Method::POST, &format!("{path}/acknowledge"), None).await?;
    ensure!(acknowledged.status == 200, "{}", acknowledged.body);
    // P3: the lead auditor of the client's audits may not investigate; an outsider does.
    let involved = post(&host, &format!("{path}/investigate"),
        &json!({ "investigator": "li-na", "findings": "x" })).await?;
    ensure!(involved.status == 422, "{}", involved.body);
    let investigated = post(&host, &format!("{path}/investigate"),
        &json!({ "investigator": "outsider", "findings": "payslips were cached for 2 days" })).await?;
    ensure!(investigated.status == 200, "{}", investigated.body);
    // P3: wang-fang made the client's decisions: she may not decide; he-ping does, upheld (P6).
    let by_maker = post(&host, &format!("{path}/decide"), &json!({ "decision_maker": "wang-fang",
        "outcome": "upheld", "reasons": "x" })).await?;
    ensure!(by_maker.status == 422, "{}", by_maker.body);
    let decided = post(&host, &format!("{path}/decide"), &json!({ "decision_maker": "he-ping",
        "outcome": "upheld", "reasons": "a breach of A.8.12", "short_notice_audit": true })).await?;
    ensure!(decided.status == 200, "{}", decided.body);
    // X2: the short-notice audit the complaint triggered, positive: maintained (S3).
    let mut short_notice = held_on("special", day, json!([]), "maintain");
    short_notice["purpose"] = json!("short_notice");
    short_notice["cause"] = json!("complaint");
    short_notice["complaint"] = json!(reference);
    let checked = record_audit(&host, &second_cycle, &short_notice).await?;
    ensure!(checked["certificate"]["applied"]["outcome"] == "maintained", "{checked}");
    let closed = post(&host, &format!("{path}/close"), &json!({ "communication": { "on": day,
        "summary": "told the complainant the complaint is upheld and the client audited" } })).await?;
    ensure!(closed.status == 200 && closed.body["state"] == "closed", "{}", closed.body);
    let (_, public) = host.get(&path).await?;
    ensure!(!public.contains("Zhou Min") && !public.contains("zhou.min"), "P5: {public}");

    // P4: the client appeals the scope extension decision; handled by people not involved.
    let appeal = json!({ "appellant": { "name": "Li Wei", "email": "li.wei@acme.example" },
        "decision": "decision-1", "grounds": "the extension should include the Suzhou office" });
    let lodged = post(&host, &format!("/api/applications/{second_cycle}/appeals"), &appeal).await?;
    ensure!(lodged.status == 201, "{}", lodged.body);
    let appeal_path = format!("/api/appeals/{}", lodged.body["reference"].as_str().context("reference")?);
    let ack = host.operator(Method::POST, &format!("{appeal_path}/acknowledge"), None).await?;
    ensure!(ack.status == 200, "{}", ack.body);
    for (step, body) in [
        ("investigate", json!({ "investigator": "outsider", "findings": "the audit covered the head office only" })),
        ("decide", json!({ "decision_maker": "he-ping", "outcome": "not_upheld", "reasons": "scope as audited" })),
        ("close", json!({ "communication": { "on": day, "summary": "letter: appeal not upheld" } })),
    ] {
        let done = post(&host, &format!("{appeal_path}/{step}"), &body).await?;
        ensure!(done.status == 200, "{step}: {}", done.body);
    }
    let late_in_cycle = certificate_record(&host, &number).await?;
    host.stop().await?;

    // Year 6: recertified again before the second expiry: a third cycle.
    let apply_by = date(&late_in_cycle["recertification"]["apply_by"])?;
    let host = on(state.path(), apply_by).await?;
    recertify(&host, &number, apply_by, Some(extended)).await?;
    let third_cycle = certificate_record(&host, &number).await?;
    ensure!(date(&third_cycle["expires_on"])? > second_expiry, "{third_cycle}");
    ensure!(third_cycle["revision"] == 4 && third_cycle["status"] == "active", "{third_cycle}");
    // The third cycle certifies the extended scope the client applied with.
    ensure!(third_cycle["revisions"][3]["contents"]["scope"] == extended, "{third_cycle}");
    let history = actions(&third_cycle);
    let expected = ["issued", "surveillance_held", "maintained", "surveillance_held", "review_required",
        "suspended", "review_required", "restored", "recertified", "surveillance_held", "maintained",
        "review_required", "scope_extended", "surveillance_held", "maintained", "maintained",
        "recertified"];
    ensure!(history == expected, "{history:?}");
    let operator = format!("operator:{OPERATOR}");
    ensure!(third_cycle["history"].as_array().context("history")?.iter().all(|h| h["by"] == operator.as_str()),
        "every entry by the authenticated operator: {third_cycle}");
    host.stop().await
}
}
