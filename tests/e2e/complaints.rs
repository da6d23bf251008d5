//! Complaints and appeals (P1–P6) and records retention (R2) end to end, on the real
//! `spin.toml`: a client is certified; someone without an account complains about it; the
//! public sees the complaint's state and dates only; the people involved (its audit team, the
//! maker of its certification decision, a consultant) are refused as investigator; an
//! independent investigator and decision maker uphold it with a short-notice audit, which the
//! audit step accepts with the complaint's reference (X2); the outcome is communicated and the
//! complaint closed. The client appeals the certification decision; the decision's maker may
//! not handle it. The operators list records past their retention date. Bad input is a 4xx
//! problem, never a 500.

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::workflow::{certify, date, days_ago, post, register_people, violation_rules};
use certflow_tests::{Host, OPERATOR, Reply, example_application, reply, start_app};
use chrono::{Days, Months};
use reqwest::Method;
use serde_json::{Value, json};

const PROBLEM: &str = "application/problem+json";

fn complaint(certificate: &str) -> Value {
    json!({
        "complainant": { "name": "Zhou Min", "email": "zhou.min@example.org", "phone": "+86 21 5555 0199" },
        "subject": { "kind": "certified_client", "certificate": certificate },
        "description": "The certified company published my payslip on its website."
    })
}

/// POSTs `body` without credentials.
async fn public_post(host: &Host, path: &str, body: &str) -> Result<Reply> {
    reply(
        host.client
            .post(host.url(path))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// GETs `path` without credentials.
async fn public_get(host: &Host, path: &str) -> Result<Reply> {
    reply(host.client.get(host.url(path))).await
}

fn is_problem(r: &Reply, status: u16) -> bool {
    r.status == status && r.headers.get("content-type").is_some_and(|c| c == PROBLEM)
}

/// Registers he-ping, an employee involved in nothing.
async fn register_independent(host: &Host) -> Result<()> {
    let body = json!({ "name": "He Ping", "employment": { "type": "employee" } });
    let put = host
        .operator(Method::PUT, "/api/people/he-ping", Some(&body))
        .await?;
    ensure!(put.status == 200, "{}", put.body);
    Ok(())
}

each_store! {
async fn p1_p6_r2_a_complaint_and_an_appeal_handled_by_people_not_involved() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    register_independent(&host).await?;
    let (id, number) = certify(&host, &mut Vec::new()).await?;
    let today = days_ago(0)?;
    let operator = format!("operator:{OPERATOR}");

    // P1: anyone, without an account.
    let lodged = public_post(&host, "/api/complaints", &complaint(&number).to_string()).await?;
    ensure!(lodged.status == 201, "{}", lodged.body);
    let reference = lodged.body["reference"].as_str().context("reference")?.to_string();
    ensure!(reference.starts_with("CP-") && reference.len() == 35, "{reference}");
    let path = format!("/api/complaints/{reference}");

    // P5: the public sees state and dates only.
    let public = public_get(&host, &path).await?;
    ensure!(public.status == 200 && public.body["state"] == "received", "{}", public.body);
    let text = public.body.to_string();
    for personal in ["Zhou Min", "zhou.min", "5555", "payslip", number.as_str()] {
        ensure!(!text.contains(personal), "{personal} is public: {text}");
    }
    ensure!(date(&public.body["received_on"])? == today, "{}", public.body);
    // The lowercase reference is the same complaint.
    let lower = public_get(&host, &format!("/api/complaints/{}", reference.to_lowercase())).await?;
    ensure!(lower.status == 200, "{}", lower.body);
    // The operators see everything.
    let full = host.operator(Method::GET, &path, None).await?;
    ensure!(full.status == 200 && full.body["party"]["email"] == "zhou.min@example.org", "{}", full.body);
    ensure!(full.body["retain_until"].is_null(), "open: not yet dated: {}", full.body);
    let listed = host.operator(Method::GET, "/api/complaints", None).await?;
    ensure!(listed.body["complaints"].as_array().is_some_and(|c| c.len() == 1), "{}", listed.body);
    ensure!(public_get(&host, "/api/complaints").await?.status == 401);

    // P2: a step out of order names the current state.
    let early = post(&host, &format!("{path}/investigate"),
        &json!({ "investigator": "outsider", "findings": "x" })).await?;
    ensure!(is_problem(&early, 409) && early.body["current_status"] == "received", "{}", early.body);
    let acknowledged = host.operator(Method::POST, &format!("{path}/acknowledge"), None).await?;
    ensure!(acknowledged.status == 200 && acknowledged.body["state"] == "acknowledged", "{}", acknowledged.body);
    let last = acknowledged.body["history"].as_array().and_then(|h| h.last()).context("history")?;
    ensure!(last["by"] == operator.as_str(), "{last}");

    // P3: the lead auditor (D1), the consultant (D4), the maker of the certification
    // decision (P3) and someone not in the register (P3) are refused, each with its rules.
    for (person, rule) in [("li-na", "D1"), ("zhang-san", "D4"), ("wang-fang", "P3"), ("nobody", "P3")] {
        let refused = post(&host, &format!("{path}/investigate"),
            &json!({ "investigator": person, "findings": "x" })).await?;
        ensure!(is_problem(&refused, 422) && refused.body["type"] == "https://certflow.dev/problems/rules-not-met"
            && violation_rules(&refused.body).contains(&rule.to_string()), "{person}: {}", refused.body);
    }
    let investigated = post(&host, &format!("{path}/investigate"),
        &json!({ "investigator": "outsider", "findings": "the payslip was on the site for 3 days" })).await?;
    ensure!(investigated.status == 200 && investigated.body["investigation"]["investigator"]["id"] == "outsider",
        "{}", investigated.body);

    // P6: short_notice_audit only on an upheld complaint; then decided by he-ping.
    let refused = post(&host, &format!("{path}/decide"), &json!({ "decision_maker": "he-ping",
        "outcome": "not_upheld", "reasons": "x", "short_notice_audit": true })).await?;
    ensure!(is_problem(&refused, 422) && refused.body["errors"][0]["rule"] == "P6", "{}", refused.body);
    let decided = post(&host, &format!("{path}/decide"), &json!({ "decision_maker": "he-ping",
        "outcome": "upheld", "reasons": "a breach of A.5.34", "short_notice_audit": true })).await?;
    ensure!(decided.status == 200 && decided.body["decision"]["short_notice_audit"] == true, "{}", decided.body);

    // X2: the short-notice audit names the complaint; an unknown reference is refused.
    let audit = |cause_ref: &str| json!({
        "type": "special", "purpose": "short_notice", "cause": "complaint", "complaint": cause_ref,
        "starts_on": today, "ends_on": today,
        "team": [{ "person": "li-na", "role": "lead" }, { "person": "chen-jie", "role": "auditor" }],
        "remote": { "used": false }, "findings": [], "recommendation": "maintain" });
    let audits = format!("/api/applications/{id}/audits");
    let bogus = post(&host, &audits, &audit(&format!("CP-{}", "0".repeat(32)))).await?;
    ensure!(is_problem(&bogus, 422) && violation_rules(&bogus.body) == ["X2"], "{}", bogus.body);
    let held = post(&host, &audits, &audit(&reference)).await?;
    ensure!(held.status == 201 && held.body["complaint"] == reference.as_str(), "{}", held.body);

    // P2: closed with the outcome communicated (not on a day to come).
    let tomorrow = today.checked_add_days(Days::new(1)).context("date")?;
    let future = post(&host, &format!("{path}/close"),
        &json!({ "communication": { "on": tomorrow, "summary": "x" } })).await?;
    ensure!(is_problem(&future, 422) && future.body["errors"][0]["field"] == "/communication/on", "{}", future.body);
    let closed = post(&host, &format!("{path}/close"), &json!({ "communication": { "on": today,
        "summary": "told Zhou Min by email that the complaint is upheld and a short-notice audit was held" } })).await?;
    ensure!(closed.status == 200 && closed.body["state"] == "closed", "{}", closed.body);
    ensure!(closed.body["communications"][0]["outcome"] == true, "{}", closed.body);
    let states: Vec<&str> = closed.body["history"].as_array().context("history")?
        .iter().filter_map(|h| h["state"].as_str()).collect();
    ensure!(states == ["received", "acknowledged", "investigated", "decided", "closed"], "{states:?}");
    let again = post(&host, &format!("{path}/close"),
        &json!({ "communication": { "on": today, "summary": "x" } })).await?;
    ensure!(is_problem(&again, 409) && again.body["current_status"] == "closed", "{}", again.body);
    let public = public_get(&host, &path).await?;
    ensure!(public.body["state"] == "closed" && date(&public.body["closed_on"])? == today, "{}", public.body);

    // P4: the client appeals the certification decision; its maker may not handle it.
    let appeals = format!("/api/applications/{id}/appeals");
    let appeal = json!({ "appellant": { "name": "Li Wei", "email": "li.wei@acme.example" },
                         "decision": "certification", "grounds": "the scope is narrower than applied for" });
    let none = post(&host, &appeals, &json!({ "appellant": appeal["appellant"], "decision": "decision-9", "grounds": "x" })).await?;
    ensure!(is_problem(&none, 422) && violation_rules(&none.body) == ["P4"], "{}", none.body);
    let lodged = post(&host, &appeals, &appeal).await?;
    ensure!(lodged.status == 201, "{}", lodged.body);
    let appeal_ref = lodged.body["reference"].as_str().context("reference")?.to_string();
    ensure!(appeal_ref.starts_with("AP-"), "{appeal_ref}");
    let appeal_path = format!("/api/appeals/{appeal_ref}");
    let ack = post(&host, &format!("{appeal_path}/acknowledge"),
        &json!({ "communication": { "on": today, "summary": "receipt confirmed by email" } })).await?;
    ensure!(ack.status == 200 && ack.body["communications"].as_array().is_some_and(|c| c.len() == 1), "{}", ack.body);
    let maker = post(&host, &format!("{appeal_path}/investigate"),
        &json!({ "investigator": "wang-fang", "findings": "x" })).await?;
    ensure!(is_problem(&maker, 422) && violation_rules(&maker.body) == ["P3"], "{}", maker.body);
    for (step, body) in [
        ("investigate", json!({ "investigator": "outsider", "findings": "the scope matches the application" })),
        ("decide", json!({ "decision_maker": "he-ping", "outcome": "not_upheld", "reasons": "scope as applied" })),
        ("close", json!({ "communication": { "on": today, "summary": "letter: appeal not upheld" } })),
    ] {
        let done = post(&host, &format!("{appeal_path}/{step}"), &body).await?;
        ensure!(done.status == 200, "{step}: {}", done.body);
    }
    let shown = public_get(&host, &appeal_path).await?;
    ensure!(shown.body["state"] == "closed" && shown.body.get("party").is_none(), "{}", shown.body);

    // R2: nothing is past its date today; on a far day everything closed is, by its date.
    let retention = host.operator(Method::GET, "/api/records/retention", None).await?;
    ensure!(retention.status == 200 && retention.body["records"] == json!([]), "{}", retention.body);
    let certificate = host.operator(Method::GET, &format!("/api/certificates/{number}/record"), None).await?;
    let expires = date(&certificate.body["expires_on"])?;
    let kept = expires.checked_add_months(Months::new(36)).context("date")?;
    ensure!(date(&certificate.body["retain_until"])? == kept, "{}", certificate.body);
    let application = host.operator(Method::GET, &format!("/api/applications/{id}"), None).await?;
    ensure!(date(&application.body["retain_until"])? == kept, "{}", application.body);
    let on_the_day = host.operator(Method::GET, &format!("/api/records/retention?past={kept}"), None).await?;
    ensure!(on_the_day.body["records"] == json!([]), "{}", on_the_day.body);
    let next = kept.checked_add_days(Days::new(1)).context("date")?;
    let past = host.operator(Method::GET, &format!("/api/records/retention?past={next}"), None).await?;
    let records = past.body["records"].as_array().context("records")?;
    for (kind, record_id) in [("certificate", number.as_str()), ("application", id.as_str()),
                              ("complaint", reference.as_str()), ("appeal", appeal_ref.as_str())] {
        let found = records.iter().find(|r| r["kind"] == kind && r["id"] == record_id)
            .with_context(|| format!("{kind} {record_id} not listed: {}", past.body))?;
        ensure!(date(&found["retain_until"])? == kept, "{found}");
    }
    // The query is read as the contract writes it: once, YYYY-MM-DD, percent-decoded.
    for query in ["past=someday", "past=2033-1-1", "past=0000-01-01", "past=2033-01-01&past=2020-01-01"] {
        let bad = host.operator(Method::GET, &format!("/api/records/retention?{query}"), None).await?;
        ensure!(is_problem(&bad, 400), "{query}: {}", bad.body);
    }
    let encoded = host.operator(Method::GET, "/api/records/retention?past=2033%2D01%2D01", None).await?;
    ensure!(encoded.status == 200, "{}", encoded.body);
    ensure!(public_get(&host, "/api/records/retention").await?.status == 401);
    host.stop().await
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p1_p4_bad_input_is_a_clear_problem_never_a_500() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;

    // Malformed JSON, a non-object, unknown and missing fields.
    let malformed = public_post(&host, "/api/complaints", "{\"complainant\": ").await?;
    ensure!(is_problem(&malformed, 400), "{}", malformed.body);
    let array = public_post(&host, "/api/complaints", "[]").await?;
    ensure!(is_problem(&array, 422), "{}", array.body);
    let mut unknown = complaint("CF-2026-000001");
    unknown["colour"] = json!("red");
    unknown["complainant"]["fax"] = json!("1");
    let refused = public_post(&host, "/api/complaints", &unknown.to_string()).await?;
    ensure!(is_problem(&refused, 422), "{}", refused.body);
    let fields: Vec<&str> = refused.body["errors"]
        .as_array()
        .context("errors")?
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    ensure!(
        fields.contains(&"/colour") && fields.contains(&"/complainant/fax"),
        "{fields:?}"
    );
    let missing = public_post(
        &host,
        "/api/complaints",
        &json!({ "subject": { "kind": "certified_client" } }).to_string(),
    )
    .await?;
    ensure!(is_problem(&missing, 422), "{}", missing.body);
    let fields: Vec<&str> = missing.body["errors"]
        .as_array()
        .context("errors")?
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for field in ["/complainant", "/subject/certificate", "/description"] {
        ensure!(fields.contains(&field), "{field}: {fields:?}");
    }
    // A certificate that does not exist.
    let unknown_cert = public_post(
        &host,
        "/api/complaints",
        &complaint("CF-1999-000001").to_string(),
    )
    .await?;
    ensure!(
        is_problem(&unknown_cert, 422)
            && unknown_cert.body["errors"][0]["field"] == "/subject/certificate",
        "{}",
        unknown_cert.body
    );
    // Another media type.
    let form = reply(
        host.client
            .post(host.url("/api/complaints"))
            .header("content-type", "text/plain")
            .body("hello"),
    )
    .await?;
    ensure!(is_problem(&form, 415), "{}", form.body);
    // A complaint about the CB is fine without a certificate; an empty body for a step is {}.
    let cb = json!({ "complainant": { "name": "A", "email": "a@example.org" },
                     "subject": { "kind": "certification_body" }, "description": "slow answers" });
    let lodged = public_post(&host, "/api/complaints", &cb.to_string()).await?;
    ensure!(lodged.status == 201, "{}", lodged.body);
    let reference = lodged.body["reference"].as_str().context("reference")?;
    // Unknown references and steps, wrong methods.
    for path in [
        "/api/complaints/CP-1",
        "/api/complaints/nope",
        &format!("/api/appeals/{reference}"),
    ] {
        let missing = public_get(&host, path).await?;
        ensure!(is_problem(&missing, 404), "{path}: {}", missing.body);
    }
    let step = post(
        &host,
        &format!("/api/complaints/{reference}/reopen"),
        &json!({}),
    )
    .await?;
    ensure!(is_problem(&step, 404), "{}", step.body);
    let put = reply(
        host.client
            .put(host.url(&format!("/api/complaints/{reference}"))),
    )
    .await?;
    ensure!(is_problem(&put, 405), "{}", put.body);
    let bad_step = post(
        &host,
        &format!("/api/complaints/{reference}/acknowledge"),
        &json!({ "communication": { "on": "yesterday" } }),
    )
    .await?;
    ensure!(is_problem(&bad_step, 422), "{}", bad_step.body);
    let wrong_token = reply(
        host.client
            .get(host.url(&format!("/api/complaints/{reference}")))
            .bearer_auth("not-a-token"),
    )
    .await?;
    ensure!(is_problem(&wrong_token, 401), "{}", wrong_token.body);

    // P4: an applicant appeals with its access token; the application has no decision yet.
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?;
    let token = created.body["access_token"].as_str().context("token")?;
    // R2: an open application is not yet dated.
    let open = host
        .operator(Method::GET, &format!("/api/applications/{id}"), None)
        .await?;
    ensure!(
        open.status == 200 && open.body["retain_until"].is_null(),
        "{}",
        open.body
    );
    let appeal = json!({ "appellant": { "name": "Li Wei", "email": "li.wei@acme.example" },
                         "decision": "certification", "grounds": "x" });
    let send = |bearer: &str| {
        host.client
            .post(host.url(&format!("/api/applications/{id}/appeals")))
            .bearer_auth(bearer.to_string())
            .header("content-type", "application/json")
            .body(appeal.to_string())
    };
    let no_decision = reply(send(token)).await?;
    ensure!(
        is_problem(&no_decision, 422) && violation_rules(&no_decision.body) == ["P4"],
        "{}",
        no_decision.body
    );
    let stranger = reply(send("someone-elses-token")).await?;
    ensure!(is_problem(&stranger, 404), "{}", stranger.body);
    let anonymous = public_post(
        &host,
        &format!("/api/applications/{id}/appeals"),
        &appeal.to_string(),
    )
    .await?;
    ensure!(is_problem(&anonymous, 401), "{}", anonymous.body);

    // R2: rejected today, never certified: kept until today + 3 years, listed the day after.
    let reject = json!({ "decision": "reject", "reviewer": "Li Lei", "reasons": ["outside our accreditation"] });
    let rejected = post(&host, &format!("/api/applications/{id}/review"), &reject).await?;
    ensure!(rejected.status == 200, "{}", rejected.body);
    let kept = days_ago(0)?
        .checked_add_months(Months::new(36))
        .context("date")?;
    let read = host
        .operator(Method::GET, &format!("/api/applications/{id}"), None)
        .await?;
    ensure!(date(&read.body["retain_until"])? == kept, "{}", read.body);
    let next = kept.checked_add_days(Days::new(1)).context("date")?;
    let past = host
        .operator(
            Method::GET,
            &format!("/api/records/retention?past={next}"),
            None,
        )
        .await?;
    let listed = past.body["records"].as_array().context("records")?;
    ensure!(
        listed.iter().any(|r| r["kind"] == "application"
            && r["id"] == id
            && r["basis"].as_str().is_some_and(|b| b.contains("rejected"))),
        "{}",
        past.body
    );
    host.stop().await
}
