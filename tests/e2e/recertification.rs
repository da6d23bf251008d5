//! Recertification end to end (S4, S5 of docs/CYCLE.md; seed §5.6.3; C2, C4): the real
//! `spin.toml` certifies an application; on the last day to apply in time the client applies
//! for recertification naming its certificate; the review accepts it, the recertification
//! audit is held, the decision grants, and the certificate continues into a new cycle as a
//! new revision of the same number from the day after the old expiry. The new cycle's
//! surveillance is recorded on the new application. Then the whole cycle again, applied a
//! day late (accepted, flagged C4): the 3-year cycle runs twice in a row.

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::workflow::{
    accepted, audit, certificate_details, certificate_record, certify, date, grant_certificate,
    post, register_people, surveillance_checklist,
};
use certflow_tests::{Host, OPERATOR, example_application, start_app, start_app_at};
use chrono::NaiveDate;
use reqwest::Method;
use serde_json::{Value, json};

/// The application document renewing certificate `number`.
fn recertification_of(number: &str) -> Result<Value> {
    let mut application = example_application()?;
    application["recertification_of"] = json!(number);
    Ok(application)
}

/// S4, S5 on `host` (its today `today`): the recertification application for `number`, its
/// review, its recertification audit and the grant; returns the new application's id and
/// its record.
async fn recertify(host: &Host, number: &str, today: NaiveDate, late: bool) -> Result<String> {
    let created = host.submit(&recertification_of(number)?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?.to_string();
    let read = host
        .operator(Method::GET, &format!("/api/applications/{id}"), None)
        .await?;
    ensure!(read.status == 200, "{}", read.body);
    let renewing = &read.body["recertification"];
    ensure!(
        renewing["certificate"] == number && renewing["late"] == late,
        "{renewing}"
    );
    ensure!(date(&renewing["applied_on"])? == today, "{renewing}");

    let accept =
        json!({ "decision": "accept", "reviewer": "Wang Fang", "technical_areas": ["IAF 33"] });
    let reviewed = post(host, &format!("/api/applications/{id}/review"), &accept).await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    // The review's figures: the recertification audit time (A4), no initial programme (S5).
    let figures = &reviewed.body["review"]["figures"];
    ensure!(
        figures["audit_times"]["value"]["combined"]["recertification"]["days"].is_number(),
        "{figures}"
    );
    ensure!(figures["programme"].is_null(), "{figures}");

    let audits = format!("/api/applications/{id}/audits");
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    // A stage 2 is not what a recertification application takes (S1's table).
    let stage_2 = audit("stage_2", today, today, &team, json!([]));
    let refused = post(host, &audits, &stage_2).await?;
    ensure!(refused.status == 409, "{}", refused.body);
    let held = post(
        host,
        &audits,
        &audit("recertification", today, today, &team, json!([])),
    )
    .await?;
    ensure!(held.status == 201, "{}", held.body);

    let renewed = grant_certificate(host, &id).await?;
    ensure!(renewed == number, "a revision of {number}, not {renewed}");
    Ok(id)
}

each_store! {
async fn s4_s5_a_certificate_renewed_twice_as_new_revisions() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let (_, number) = certify(&host, &mut Vec::new()).await?;
    let first = certificate_record(&host, &number).await?;
    let expires = date(&first["expires_on"])?;
    let apply_by = date(&first["recertification"]["apply_by"])?;

    // S4: a certificate that does not exist cannot be renewed: 422 at the field.
    let unknown = host.submit(&recertification_of("CF-2099-999999")?, None).await?;
    ensure!(unknown.status == 422, "{}", unknown.body);
    let error = &unknown.body["errors"][0];
    ensure!(error["field"] == "/recertification_of" && error["rule"] == "S4", "{}", unknown.body);
    host.stop().await?;

    // On the last day to apply in time (C4: 3 months before expiry).
    let host = start_app_at(state.path(), certflow_tests::workflow::offset_to(apply_by)?).await?;
    let renewal = recertify(&host, &number, apply_by, false).await?;
    let second = certificate_record(&host, &number).await?;
    ensure!(second["revision"] == 2 && second["status"] == "active", "{second}");
    let new_start = expires.succ_opt().context("date")?;
    ensure!(date(&second["revisions"][1]["effective_on"])? == new_start, "{second}");
    ensure!(second["revisions"][0]["obsolete"] == true, "{second}");
    let renewed_expiry = date(&second["expires_on"])?;
    ensure!(renewed_expiry > expires, "{second}");
    ensure!(second["application_id"] == renewal.as_str(), "{second}");
    let last = second["history"].as_array().and_then(|h| h.last()).context("history")?;
    let operator = format!("operator:{OPERATOR}");
    ensure!(last["action"] == "recertified" && last["rule"] == "S5", "{last}");
    ensure!(last["by"] == operator.as_str(), "{last}");
    // The public view: the same number, still valid, the new revision.
    let (status, public) = host.get(&format!("/api/certificates/{number}")).await?;
    ensure!(status == 200 && public.contains("\"active\""), "{public}");
    // C6: until the new cycle begins, the revision in force is shown, the renewal named.
    let public: Value = serde_json::from_str(&public)?;
    ensure!(public["revision"] == 1 && public["next_revision"]["revision"] == 2, "{public}");
    ensure!(date(&public["next_revision"]["effective_on"])? == new_start, "{public}");
    let (status, page) = host.get(&format!("/certificates/{number}?lang=en")).await?;
    ensure!(status == 200 && page.contains("certificate-next-revision"), "{page}");

    // The new cycle's first surveillance is recorded on the renewing application (S1).
    let today = apply_by;
    let mut surveillance = audit("surveillance_1", today, today,
        &[("li-na", "lead"), ("chen-jie", "auditor")], json!([]));
    surveillance["recommendation"] = json!("maintain");
    surveillance["checklist"] = surveillance_checklist();
    let held = post(&host, &format!("/api/applications/{renewal}/audits"), &surveillance).await?;
    ensure!(held.status == 201, "{}", held.body);
    ensure!(held.body["certificate"]["applied"]["outcome"] == "maintained", "{}", held.body);
    host.stop().await?;

    // The second cycle, applied one day late: accepted and flagged (C4), renewed again.
    let renewed_apply_by = date(&second["recertification"]["apply_by"])?;
    let late_day = renewed_apply_by.succ_opt().context("date")?;
    let host = start_app_at(state.path(), certflow_tests::workflow::offset_to(late_day)?).await?;
    recertify(&host, &number, late_day, true).await?;
    let third = certificate_record(&host, &number).await?;
    ensure!(third["revision"] == 3 && third["status"] == "active", "{third}");
    ensure!(date(&third["expires_on"])? > renewed_expiry, "{third}");
    let actions: Vec<&str> = third["history"].as_array().context("history")?
        .iter().filter_map(|h| h["action"].as_str()).collect();
    ensure!(actions.iter().filter(|a| **a == "recertified").count() == 2, "{actions:?}");
    host.stop().await
}
}

each_store! {
async fn s5_new_number_setting_issues_a_new_certificate_from_the_old_expiry() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    // S5 [cfg]: an unknown numbering is refused at its field.
    let bad = json!({ "certificate": { "recertification_numbering": "renumber" } });
    let refused = host.operator(Method::PUT, "/api/settings", Some(&bad)).await?;
    ensure!(refused.status == 422, "{}", refused.body);
    let error = &refused.body["errors"][0];
    ensure!(error["field"] == "/certificate/recertification_numbering" && error["rule"] == "S5",
        "{}", refused.body);
    let settings = json!({ "certificate": { "recertification_numbering": "new_number" } });
    let put = host.operator(Method::PUT, "/api/settings", Some(&settings)).await?;
    ensure!(put.status == 200, "{}", put.body);

    let (_, number) = certify(&host, &mut Vec::new()).await?;
    let first = certificate_record(&host, &number).await?;
    let expires = date(&first["expires_on"])?;
    let apply_by = date(&first["recertification"]["apply_by"])?;
    host.stop().await?;

    let host = start_app_at(state.path(), certflow_tests::workflow::offset_to(apply_by)?).await?;
    let created = host.submit(&recertification_of(&number)?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?.to_string();
    let accept =
        json!({ "decision": "accept", "reviewer": "Wang Fang", "technical_areas": ["IAF 33"] });
    let reviewed = post(&host, &format!("/api/applications/{id}/review"), &accept).await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let held = post(&host, &format!("/api/applications/{id}/audits"),
        &audit("recertification", apply_by, apply_by, &team, json!([]))).await?;
    ensure!(held.status == 201, "{}", held.body);
    let renewed = grant_certificate(&host, &id).await?;
    ensure!(renewed != number, "a new number, not {number}");
    let new = certificate_record(&host, &renewed).await?;
    ensure!(new["revision"] == 1, "{new}");
    ensure!(date(&new["revisions"][0]["effective_on"])? == expires.succ_opt().context("date")?, "{new}");
    ensure!(date(&new["expires_on"])? > expires, "{new}");
    // The old certificate runs to its expiry, unchanged.
    let old = certificate_record(&host, &number).await?;
    ensure!(old["revision"] == 1 && date(&old["expires_on"])? == expires, "{old}");
    host.stop().await
}
}

/// Submits a recertification of `number`, has it accepted and its recertification audit held
/// on `day`; the application's id.
async fn audited_renewal(host: &Host, number: &str, day: NaiveDate) -> Result<String> {
    let id = accepted(host, &recertification_of(number)?).await?;
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let held = post(
        host,
        &format!("/api/applications/{id}/audits"),
        &audit("recertification", day, day, &team, json!([])),
    )
    .await?;
    ensure!(held.status == 201, "{}", held.body);
    Ok(id)
}

each_store! {
async fn s5_one_renewal_per_cycle_and_the_old_cycles_application_stops_changing_it() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let (first_id, number) = certify(&host, &mut Vec::new()).await?;
    let apply_by = date(&certificate_record(&host, &number).await?["recertification"]["apply_by"])?;
    host.stop().await?;
    let host = start_app_at(state.path(), certflow_tests::workflow::offset_to(apply_by)?).await?;

    // Two applications for the same cycle: the first renews it, the second is refused (S5)
    // and stays decided, the certificate unchanged.
    let first = audited_renewal(&host, &number, apply_by).await?;
    let second = audited_renewal(&host, &number, apply_by).await?;
    ensure!(grant_certificate(&host, &first).await? == number);
    let renewed = certificate_record(&host, &number).await?;
    let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant",
                        "certificate": certificate_details() });
    let decided = post(&host, &format!("/api/applications/{second}/decision"), &grant).await?;
    ensure!(decided.status == 201 && decided.body["status"] == "decided", "{}", decided.body);
    ensure!(decided.body["certificate_not_issued"].to_string().contains("\"S5\""), "{}", decided.body);
    let issue = certificate_details();
    let again = post(&host, &format!("/api/applications/{second}/certificate"), &issue).await?;
    ensure!(again.status == 409, "{}", again.body);
    let read = host.operator(Method::GET, &format!("/api/applications/{second}"), None).await?;
    ensure!(read.body["status"] == "decided" && read.body["certificate"].is_null(), "{}", read.body);
    // Issuing again for the first is the same certificate (200), not another cycle.
    let same = post(&host, &format!("/api/applications/{first}/certificate"), &issue).await?;
    ensure!(same.status == 200, "{}", same.body);
    ensure!(certificate_record(&host, &number).await? == renewed, "the certificate changed");

    // The old cycle's application no longer records audits for the certificate (S5).
    let mut late = audit("special", apply_by, apply_by, &[("li-na", "lead")], json!([]));
    late["purpose"] = json!("short_notice");
    late["cause"] = json!("suspension_follow_up");
    late["recommendation"] = json!("maintain");
    let refused = post(&host, &format!("/api/applications/{first_id}/audits"), &late).await?;
    ensure!(refused.status == 409 && refused.body.to_string().contains("\"S5\""), "{}", refused.body);
    let renewing = post(&host, &format!("/api/applications/{first}/audits"), &late).await?;
    ensure!(renewing.status == 201, "{}", renewing.body);

    // Bodies the requests do not take are refused, not ignored.
    let sweep = post(&host, "/api/certificates/sweep", &json!({ "today": "2030-01-01" })).await?;
    ensure!(sweep.status == 422 && sweep.body["errors"][0]["field"] == "/today", "{}", sweep.body);
    host.stop().await
}
}
