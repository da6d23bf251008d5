//! Maintaining certification end to end (S1, S3, X1, X2, G1 of docs/CYCLE.md): the real
//! `spin.toml` certifies an application, then records its surveillance and special audits
//! as the CB's procedure runs them (seed §5.6): a positive surveillance maintains the
//! certificate by itself and re-plans the next; one with a major needs an independent
//! decision (refused to a member of its team, D1), which suspends; a short-notice follow-up
//! audit and a decision restore; a scope extension audit and `extend_scope` issue a new
//! revision; changes of the client are requested, reviewed and issued, the one needing an
//! audit only once an audit is decided. Everything on one day: a surveillance may be held
//! on the decision's own day (C3).

use anyhow::{Context, Result, ensure};
use certflow_domain::review::programme::next_surveillance_due;
use certflow_tests::each_store;
use certflow_tests::workflow::{
    certificate_record, certify, close_nonconformity, date, days_ago, post, record_audit,
    register_people, surveillance_checklist, violation_rules,
};
use certflow_tests::{OPERATOR, start_app};
use reqwest::Method;
use serde_json::{Value, json};

/// A major nonconformity as the team reports it.
fn major() -> Value {
    json!({ "severity": "major", "clause": "A.5.15", "statement": "access rights not reviewed",
            "evidence": "no review since the certification audit", "process": "access control" })
}

/// A cycle audit held today by li-na (lead) and chen-jie: `kind` is `surveillance_1`,
/// `surveillance_2` or `special`, with `extra` fields (purpose, cause, extended scope).
fn cycle_audit(kind: &str, findings: Value, recommendation: &str, extra: Value) -> Result<Value> {
    let today = days_ago(0)?;
    let mut body = json!({
        "type": kind, "starts_on": today, "ends_on": today,
        "team": [{ "person": "li-na", "role": "lead" }, { "person": "chen-jie", "role": "auditor" }],
        "remote": { "used": false }, "findings": findings, "recommendation": recommendation,
    });
    if kind.starts_with("surveillance") {
        body["checklist"] = surveillance_checklist();
    }
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    Ok(body)
}

/// The action of the certificate's last history entry.
fn last_action(certificate: &Value) -> &str {
    certificate["history"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|h| h["action"].as_str())
        .unwrap_or_default()
}

each_store! {
async fn s3_x1_x2_g1_a_certificate_maintained_suspended_restored_extended_and_changed() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let (id, number) = certify(&host, &mut Vec::new()).await?;
    let today = days_ago(0)?;
    let decision = format!("/api/applications/{id}/decision");

    // S1, S3: a positive first surveillance without a major maintains the certificate by
    // itself: held today, the next re-planned from today (C3, IAF: at most 15 months).
    let minor = json!([{ "severity": "minor", "clause": "A.8.13", "statement": "backup test late",
                         "evidence": "last test 14 months ago", "process": "operations" }]);
    let first = record_audit(&host, &id, &cycle_audit("surveillance_1", minor, "maintain", json!({}))?).await?;
    ensure!(first["certificate"]["applied"]["outcome"] == "maintained", "{first}");
    let full = certificate_record(&host, &number).await?;
    ensure!(date(&full["surveillance"][0]["held_on"])? == today, "{full}");
    let next = next_surveillance_due(today, 15).context("next due")?;
    let expires = date(&full["expires_on"])?;
    ensure!(date(&full["surveillance"][1]["due_by"])? == next.min(expires), "{full}");
    ensure!(last_action(&full) == "maintained" && full["review_required"].is_null(), "{full}");

    // S3: a second surveillance with a major, the lead recommending suspension: a review is
    // required, shown on the certificate until a decision.
    let second = record_audit(&host, &id, &cycle_audit("surveillance_2", json!([major()]), "suspend", json!({}))?).await?;
    let second_id = second["id"].as_str().context("audit id")?.to_string();
    ensure!(second["certificate"]["applied"]["outcome"] == "review_required", "{second}");
    let full = certificate_record(&host, &number).await?;
    ensure!(full["review_required"]["audit"] == second_id.as_str(), "{full}");
    ensure!(full["status"] == "active", "{full}");

    // D1: the lead of that audit cannot decide on it.
    let by_lead = json!({ "decision_maker": "li-na", "audit": second_id, "outcome": "suspend" });
    let refused = post(&host, &decision, &by_lead).await?;
    ensure!(refused.status == 409 && violation_rules(&refused.body).contains(&"D1".to_string()), "{}", refused.body);

    // An independent, competent person decides: suspended (C5), the review cleared.
    let suspend = json!({ "decision_maker": "wang-fang", "audit": second_id, "outcome": "suspend" });
    let suspended = post(&host, &decision, &suspend).await?;
    ensure!(suspended.status == 201, "{}", suspended.body);
    ensure!(suspended.body["cycle_decision"]["outcome"] == "suspend", "{}", suspended.body);
    ensure!(suspended.body["certificate"]["status"] == "suspended", "{}", suspended.body);
    ensure!(suspended.body["certificate"]["review_required"].is_null(), "{}", suspended.body);
    let full = certificate_record(&host, &number).await?;
    let last = full["history"].as_array().and_then(|h| h.last()).context("history")?;
    let operator = format!("operator:{OPERATOR}");
    ensure!(last["action"] == "suspended" && last["by"] == operator.as_str(), "{last}");
    ensure!(last["reason"].as_str().is_some_and(|r| r.contains("Wang Fang (wang-fang)")), "{last}");

    // X2: a short-notice follow-up audit of the suspended certificate, then restore.
    let follow_up = record_audit(&host, &id, &cycle_audit("special", json!([]), "maintain",
        json!({ "purpose": "short_notice", "cause": "suspension_follow_up" }))?).await?;
    let follow_up_id = follow_up["id"].as_str().context("audit id")?.to_string();
    ensure!(follow_up["certificate"]["applied"]["outcome"] == "review_required", "{follow_up}");
    let restore = json!({ "decision_maker": "wang-fang", "audit": follow_up_id, "outcome": "restore" });
    let restored = post(&host, &decision, &restore).await?;
    ensure!(restored.status == 201, "{}", restored.body);
    ensure!(restored.body["certificate"]["status"] == "active", "{}", restored.body);

    // X1: a scope extension audit, then extend_scope: a new revision, the old one obsolete.
    let extended = "Design, development, operation and support of the Acme cloud payroll service";
    let extension = record_audit(&host, &id, &cycle_audit("special", json!([]), "grant",
        json!({ "purpose": "scope_extension", "extended_scope": extended }))?).await?;
    let extension_id = extension["id"].as_str().context("audit id")?.to_string();
    ensure!(extension["certificate"]["applied"]["outcome"] == "review_required", "{extension}");
    let extend = json!({ "decision_maker": "wang-fang", "audit": extension_id, "outcome": "extend_scope",
                         "certificate": { "scope": extended } });
    let done = post(&host, &decision, &extend).await?;
    ensure!(done.status == 201, "{}", done.body);
    let certificate = &done.body["certificate"];
    ensure!(certificate["revision"] == 2, "{certificate}");
    ensure!(certificate["revisions"][0]["obsolete"] == true
        && certificate["revisions"][1]["obsolete"] == false
        && certificate["revisions"][1]["contents"]["scope"] == extended, "{certificate}");
    ensure!(last_action(certificate) == "scope_extended", "{certificate}");
    // S3: one decision per audit.
    let again = post(&host, &decision, &extend).await?;
    ensure!(again.status == 409 && violation_rules(&again.body) == ["S3"], "{}", again.body);

    // G1: a change that needs no audit is issued at once as a new revision.
    let changes = format!("/api/certificates/{number}/changes");
    let rename = json!({ "reason": "the client renamed itself", "organization": "Acme Payroll Co., Ltd." });
    let requested = post(&host, &changes, &rename).await?;
    ensure!(requested.status == 201, "{}", requested.body);
    let rename_id = requested.body["change"]["id"].as_str().context("change id")?.to_string();
    let not_reviewed = post(&host, &format!("{changes}/{rename_id}/issue"), &json!({})).await?;
    ensure!(not_reviewed.status == 409 && violation_rules(&not_reviewed.body) == ["G1"], "{}", not_reviewed.body);
    let review = json!({ "needs_audit": false, "reason": "a renaming; the business registration shows it" });
    let reviewed = post(&host, &format!("{changes}/{rename_id}/review"), &review).await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    let issued = post(&host, &format!("{changes}/{rename_id}/issue"), &json!({})).await?;
    ensure!(issued.status == 200, "{}", issued.body);
    ensure!(issued.body["certificate"]["revision"] == 3
        && issued.body["certificate"]["revisions"][2]["contents"]["organization"] == "Acme Payroll Co., Ltd.",
        "{}", issued.body);

    // G1: a new site needs an audit: refused at issue until a special audit is decided.
    let site = json!({ "reason": "a new support office", "add_sites": [{ "name": "Suzhou office",
        "address": { "street": "1 Xinghu St", "city": "Suzhou", "country": "CN" },
        "scope": "Customer support of the payroll service" }] });
    let requested = post(&host, &changes, &site).await?;
    ensure!(requested.status == 201, "{}", requested.body);
    let site_id = requested.body["change"]["id"].as_str().context("change id")?.to_string();
    let review = json!({ "needs_audit": true, "reason": "a new site: its processes are audited on site" });
    let reviewed = post(&host, &format!("{changes}/{site_id}/review"), &review).await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    let early = post(&host, &format!("{changes}/{site_id}/issue"), &json!({})).await?;
    ensure!(early.status == 409 && violation_rules(&early.body) == ["G1"], "{}", early.body);
    let audit = record_audit(&host, &id, &cycle_audit("special", json!([major()]), "maintain",
        json!({ "purpose": "short_notice", "cause": "change" }))?).await?;
    let audit_id = audit["id"].as_str().context("audit id")?.to_string();
    let still = post(&host, &format!("{changes}/{site_id}/issue"), &json!({})).await?;
    ensure!(still.status == 409, "not decided yet: {}", still.body);
    // D5: maintaining needs the major's correction and corrective action verified.
    let maintain = json!({ "decision_maker": "wang-fang", "audit": audit_id, "outcome": "maintain" });
    let unverified = post(&host, &decision, &maintain).await?;
    ensure!(unverified.status == 409 && violation_rules(&unverified.body) == ["D5"], "{}", unverified.body);
    close_nonconformity(&host, &id, &audit_id, "nc-1", days_ago(0)?).await?;
    let maintained = post(&host, &decision, &maintain).await?;
    ensure!(maintained.status == 201, "{}", maintained.body);
    let issued = post(&host, &format!("{changes}/{site_id}/issue"), &json!({})).await?;
    ensure!(issued.status == 200, "status {}: {}", issued.status, issued.body);
    ensure!(issued.body["certificate"]["revision"] == 4
        && issued.body["certificate"]["revisions"][3]["contents"]["sites"][1]["name"] == "Suzhou office",
        "revision 4 with the new site: {}", issued.body);
    let listed = host.operator(Method::GET, &changes, None).await?;
    ensure!(listed.status == 200 && listed.body["changes"].as_array().map(Vec::len) == Some(2), "listed: {}", listed.body);
    ensure!(listed.body["changes"][1]["issued"]["audit"] == audit_id.as_str(), "listed: {}", listed.body);

    // C6, R3: the public history shows each outcome, never a review pending.
    let (status, text) = host.get(&format!("/api/certificates/{number}")).await?;
    ensure!(status == 200, "public: {text}");
    let public: Value = serde_json::from_str(&text)?;
    let actions: Vec<&str> = public["history"].as_array().context("history")?
        .iter().filter_map(|h| h["action"].as_str()).collect();
    ensure!(actions == ["issued", "surveillance_held", "maintained", "surveillance_held", "suspended",
        "restored", "scope_extended", "revised", "maintained", "revised"], "{actions:?}");
    ensure!(!text.contains("review_required") && !text.contains("Wang Fang"), "public: {text}");

    // Nothing is left for the sweep to apply; the decisions are on the application (D8).
    let swept = post(&host, "/api/certificates/sweep", &json!({})).await?;
    ensure!(swept.status == 200 && swept.body["cycle"] == json!([]), "{}", swept.body);
    let application = host.operator(Method::GET, &format!("/api/applications/{id}"), None).await?;
    ensure!(application.body["cycle_decisions"].as_array().map(Vec::len) == Some(4), "{}", application.body);
    host.stop().await
}
}
