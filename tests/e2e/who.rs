//! R1 "who" end to end: every history entry names the authenticated principal (the operator
//! whose token was presented), never a person the body names; the people a body names
//! (reviewer, assessor, decision maker, verifier) are kept as what they are, beside it.
//! Two named operators (`alice`, `bob`) drive one application from review to certificate.

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::workflow::{assessment, audit, certificate_details, days_ago, register_people};
use certflow_tests::{
    Host, OPERATOR, OPERATOR_TOKEN, Reply, example_application, reply, start_app_with,
};
use reqwest::Method;
use serde_json::{Value, json};

const ALICE: &str = "tok-alice";
const BOB: &str = "tok-bob";

/// The app with three named operators: the harness's own, `alice` and `bob`.
async fn start(state: &std::path::Path) -> Result<Host> {
    let tokens = format!("{OPERATOR}:{OPERATOR_TOKEN},alice:{ALICE},bob:{BOB}");
    start_app_with(
        state,
        std::time::Duration::ZERO,
        &[("operator_tokens", &tokens)],
    )
    .await
}

/// Sends `body` as JSON with `token`.
async fn send(
    host: &Host,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Reply> {
    let mut req = host
        .client
        .request(method, host.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    reply(req).await
}

/// The application as stored (operator view).
async fn record(host: &Host, id: &str) -> Result<Value> {
    let read = send(
        host,
        ALICE,
        Method::GET,
        &format!("/api/applications/{id}"),
        None,
    )
    .await?;
    ensure!(read.status == 200, "{}", read.body);
    Ok(read.body)
}

/// The last history entry.
fn last(record: &Value) -> Result<&Value> {
    record["history"]
        .as_array()
        .and_then(|h| h.last())
        .context("history")
}

each_store! {
async fn r1_history_records_the_authenticated_operator_not_the_body() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    register_people(&host).await?;

    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?.to_string();
    let app = format!("/api/applications/{id}");

    // A9: alice sends the review naming "Mallory" as reviewer.
    let review =
        json!({ "decision": "accept", "reviewer": "Mallory", "technical_areas": ["IAF 33"] });
    let reviewed = send(
        &host,
        ALICE,
        Method::POST,
        &format!("{app}/review"),
        Some(&review),
    )
    .await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    let stored = record(&host, &id).await?;
    let entry = last(&stored)?;
    ensure!(
        entry["status"] == "accepted" && entry["by"] == "operator:alice",
        "the review's history entry must name alice: {entry}"
    );
    ensure!(
        stored["review"]["reviewer"] == "Mallory",
        "{}",
        stored["review"]
    );
    ensure!(!stored.to_string().contains("operator:Mallory"), "{stored}");

    // M1–M5: bob records the assessment the body says Zhao Min made.
    let assessed = send(
        &host,
        BOB,
        Method::POST,
        &format!("{app}/remote-audit"),
        Some(&assessment("stage_1")),
    )
    .await?;
    ensure!(assessed.status == 201, "{}", assessed.body);
    ensure!(
        assessed.body["by"] == "operator:bob"
            && assessed.body["assessment"]["assessor"] == "Zhao Min",
        "{}",
        assessed.body
    );

    // N1–N3: alice records the audits; a minor is answered and verified by "Li Na" as bob.
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let audits = format!("{app}/audits");
    let stage_1 = audit("stage_1", days_ago(0)?, days_ago(0)?, &team, json!([]));
    let held = send(&host, ALICE, Method::POST, &audits, Some(&stage_1)).await?;
    ensure!(held.status == 201, "{}", held.body);
    let findings = json!([{ "severity": "minor", "clause": "A.8.13",
        "statement": "Backup test not documented", "evidence": "Test of 2026-06 has no record",
        "process": "operations" }]);
    let stage_2 = audit("stage_2", days_ago(0)?, days_ago(0)?, &team, findings);
    let held = send(&host, ALICE, Method::POST, &audits, Some(&stage_2)).await?;
    ensure!(held.status == 201, "{}", held.body);
    let audit_id = held.body["id"].as_str().context("audit id")?.to_string();
    let nc = held.body["findings"][0]["id"]
        .as_str()
        .context("nc id")?
        .to_string();
    ensure!(last(&record(&host, &id).await?)?["by"] == "operator:alice");
    let base = format!("{audits}/{audit_id}/nonconformities/{nc}");
    let response = json!({ "cause": "no owner", "correction": "documented now",
        "corrective_action": "test record template", "submitted_on": days_ago(0)? });
    let responded = send(
        &host,
        BOB,
        Method::POST,
        &format!("{base}/response"),
        Some(&response),
    )
    .await?;
    ensure!(responded.status == 200, "{}", responded.body);
    let verification =
        json!({ "verified_by": "Li Na", "verified_on": days_ago(0)?, "accepted": true });
    let verified = send(
        &host,
        BOB,
        Method::POST,
        &format!("{base}/verification"),
        Some(&verification),
    )
    .await?;
    ensure!(verified.status == 200, "{}", verified.body);
    let stored = record(&host, &id).await?;
    ensure!(last(&stored)?["by"] == "operator:bob", "{}", last(&stored)?);
    ensure!(
        verified
            .body
            .to_string()
            .contains("\"verified_by\":\"Li Na\""),
        "{}",
        verified.body
    );

    // D1–D8: bob records the grant the body says wang-fang (Wang Fang) made; the chained
    // issuance is recorded as bob's too.
    let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant",
                        "certificate": certificate_details() });
    let decided = send(
        &host,
        BOB,
        Method::POST,
        &format!("{app}/decision"),
        Some(&grant),
    )
    .await?;
    ensure!(
        decided.status == 201 && decided.body["status"] == "certified",
        "{}",
        decided.body
    );
    ensure!(
        decided.body["decision"]["decision_maker"]["name"] == "Wang Fang",
        "{}",
        decided.body
    );
    let stored = record(&host, &id).await?;
    let history = stored["history"].as_array().context("history")?;
    let by_status = |status: &str| {
        history
            .iter()
            .rev()
            .find(|e| e["status"] == status)
            .map(|e| e["by"].clone())
    };
    ensure!(
        by_status("decided") == Some(json!("operator:bob")),
        "{history:?}"
    );
    ensure!(
        by_status("certified") == Some(json!("operator:bob")),
        "{history:?}"
    );
    ensure!(
        !stored.to_string().contains("operator:Wang Fang"),
        "{stored}"
    );
    let number = decided.body["certificate"]["number"]
        .as_str()
        .context("number")?;
    let certificate = send(
        &host,
        ALICE,
        Method::GET,
        &format!("/api/certificates/{number}/record"),
        None,
    )
    .await?;
    ensure!(
        certificate.body["history"][0]["by"] == "operator:bob",
        "{}",
        certificate.body
    );
    host.stop().await
}
}

each_store! {
async fn r1_a_token_given_to_two_operators_names_nobody() -> Result<()> {
    let state = tempfile::tempdir()?;
    // `same` is configured for alice and bob: a history could name only one of them, maybe
    // the wrong one. `Mallory X:tok2` is neither a bare token nor <name>:<token>: ignored,
    // never read as the bare token `Mallory X:tok2`.
    let host = start_app_with(
        state.path(),
        std::time::Duration::ZERO,
        &[(
            "operator_tokens",
            "alice:same,bob:same,Mallory X:tok2,alice:tok-alice",
        )],
    )
    .await?;
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?.to_string();
    let review = format!("/api/applications/{id}/review");
    let body =
        json!({ "decision": "accept", "reviewer": "operator:bob", "technical_areas": ["IAF 33"] });
    for token in ["same", "Mallory X:tok2", "tok2"] {
        let refused = send(&host, token, Method::POST, &review, Some(&body)).await?;
        ensure!(refused.status == 401, "{token}: {}", refused.body);
    }
    let accepted = send(&host, "tok-alice", Method::POST, &review, Some(&body)).await?;
    ensure!(accepted.status == 200, "{}", accepted.body);
    let stored = send(
        &host,
        "tok-alice",
        Method::GET,
        &format!("/api/applications/{id}"),
        None,
    )
    .await?;
    let entry = last(&stored.body)?;
    ensure!(entry["by"] == "operator:alice", "{entry}");
    // The reviewer the body names is quoted as data, never prose that reads as the actor.
    let note = entry["note"].as_str().unwrap_or_default();
    ensure!(
        !note.starts_with("accepted by") && note.contains("reviewer named"),
        "{note}"
    );
    host.stop().await
}
}
