//! Audits, nonconformities and the certification decision end to end (rules N1–N3, D1–D8):
//! the real `spin.toml`, from submission through review, audits and NC closure to the
//! decision, as a CB's procedure reads.

use anyhow::{Context, ensure};
use certflow_tests::each_store;
use certflow_tests::start_app;
use certflow_tests::workflow::{
    accepted_application, audit, days_ago, post, register_people, violation_rules,
};
use serde_json::{Value, json};

each_store! {
async fn d1_d8_from_audits_to_a_recorded_decision() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let id = accepted_application(&host).await?;
    let audits = format!("/api/applications/{id}/audits");

    // D4: someone who consulted for the client within 2 years cannot audit it (422: the audit
    // sent breaks the rules, with every team rule at once).
    let conflicted = audit(
        "stage_1",
        days_ago(0)?,
        days_ago(0)?,
        &[("zhang-san", "lead")],
        json!([]),
    );
    let refused = post(&host, &audits, &conflicted).await?;
    ensure!(
        refused.status == 422 && violation_rules(&refused.body) == ["D4"],
        "{}",
        refused.body
    );

    // Stage 1, then stage 2 with a major and a minor (N2 gives each a due date).
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let stage_1 = post(
        &host,
        &audits,
        &audit("stage_1", days_ago(0)?, days_ago(0)?, &team, json!([])),
    )
    .await?;
    ensure!(stage_1.status == 201, "{}", stage_1.body);
    let findings = json!([
        { "severity": "major", "clause": "A.5.15", "statement": "Access rights are not reviewed",
          "evidence": "No review records for 2026", "process": "access control" },
        { "severity": "minor", "clause": "A.8.13", "statement": "Backup test not documented",
          "evidence": "Test of 2026-06 has no record", "process": "operations" }
    ]);
    let stage_2 = post(
        &host,
        &audits,
        &audit("stage_2", days_ago(0)?, days_ago(0)?, &team, findings),
    )
    .await?;
    ensure!(stage_2.status == 201, "{}", stage_2.body);
    let audit_id = stage_2.body["id"].as_str().context("audit id")?.to_string();
    let ncs: Vec<(String, String)> = stage_2.body["findings"]
        .as_array()
        .context("findings")?
        .iter()
        .map(|f| (text(&f["id"]), text(&f["due_on"])))
        .collect();
    ensure!(
        ncs.len() == 2 && ncs.iter().all(|(_, due)| !due.is_empty()),
        "{ncs:?}"
    );

    // D5: a grant with open nonconformities is refused, each NC named.
    let decision = format!("/api/applications/{id}/decision");
    let grant = |maker: &str| json!({ "decision_maker": maker, "outcome": "grant" });
    let early = post(&host, &decision, &grant("wang-fang")).await?;
    ensure!(early.status == 409, "{}", early.body);
    ensure!(
        violation_rules(&early.body).iter().filter(|r| *r == "D5").count() == 2,
        "{}",
        early.body
    );

    // The client responds; the lead auditor verifies and accepts.
    for (nc, _) in &ncs {
        let base = format!("{audits}/{audit_id}/nonconformities/{nc}");
        let response = json!({ "cause": "no owner", "correction": "reviewed now",
                               "corrective_action": "quarterly review assigned", "submitted_on": days_ago(0)? });
        let responded = post(&host, &format!("{base}/response"), &response).await?;
        ensure!(responded.status == 200, "{}", responded.body);
        let verification =
            json!({ "verified_by": "Li Na", "verified_on": days_ago(0)?, "accepted": true });
        let verified = post(&host, &format!("{base}/verification"), &verification).await?;
        ensure!(verified.status == 200, "{}", verified.body);
    }

    // D1: the lead auditor cannot decide; D3: nor can an external person; all rules at once.
    let auditor = post(&host, &decision, &grant("li-na")).await?;
    ensure!(
        auditor.status == 409 && violation_rules(&auditor.body).contains(&"D1".to_string()),
        "{}",
        auditor.body
    );
    let external = post(&host, &decision, &grant("outsider")).await?;
    ensure!(
        external.status == 409 && violation_rules(&external.body) == ["D3"],
        "{}",
        external.body
    );

    // D8: a decision that meets every rule is recorded with what it relied on.
    let decided = post(&host, &decision, &grant("wang-fang")).await?;
    ensure!(decided.status == 201, "{}", decided.body);
    ensure!(decided.body["status"] == "decided", "{}", decided.body);
    let record = &decided.body["decision"];
    ensure!(
        record["relied_on"].as_array().map(Vec::len) == Some(2),
        "{record}"
    );
    ensure!(record["decision_maker"]["name"] == "Wang Fang", "{record}");

    // A decision is final.
    let again = post(&host, &decision, &grant("wang-fang")).await?;
    ensure!(
        again.status == 409 && again.body["current_status"] == "decided",
        "{}",
        again.body
    );
    host.stop().await
}
}

each_store! {
async fn d8_two_concurrent_decisions_record_one() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let id = accepted_application(&host).await?;
    let audits = format!("/api/applications/{id}/audits");
    let team = [("li-na", "lead")];
    let stage_2 = audit("stage_2", days_ago(0)?, days_ago(0)?, &team, json!([]));
    ensure!(post(&host, &audits, &stage_2).await?.status == 201);
    let decision = format!("/api/applications/{id}/decision");
    let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant" });
    let refuse = json!({ "decision_maker": "wang-fang", "outcome": "refuse" });
    let (a, b) = tokio::join!(
        post(&host, &decision, &grant),
        post(&host, &decision, &refuse)
    );
    let statuses = [a?.status, b?.status];
    ensure!(
        statuses.contains(&201) && statuses.contains(&409),
        "{statuses:?}"
    );
    // Audits are closed once decided.
    let late = post(&host, &audits, &stage_2).await?;
    ensure!(late.status == 409, "{}", late.body);
    host.stop().await
}
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}
