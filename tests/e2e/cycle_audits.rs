//! Audits within the certification cycle, end to end (docs/CYCLE.md S1, S2, T1–T4, M1): the
//! real `spin.toml` certifies a client, then assesses its first surveillance for remote
//! auditing (M3), records the surveillance with its ISMS checklist, and refuses a stage 2, a
//! team that breaks every team rule, and a surveillance without its checklist; and the
//! issue's example of remote use before the assessment that allows it.

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::workflow::{
    accepted_application, assessment, audit, certify, days_ago, offset_to, post, register_people,
    surveillance_checklist, violation_rules,
};
use certflow_tests::{Host, start_app, start_app_at};
use reqwest::Method;
use serde_json::{Value, json};

/// The (field, rule) of a problem's field errors, in order.
fn field_errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| (text(&e["field"]), text(&e["rule"])))
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A first surveillance held today by `team`, with remote use (M3) and `maintain`.
fn surveillance(team: &[(&str, &str)]) -> Result<Value> {
    let mut body = audit(
        "surveillance_1",
        days_ago(0)?,
        days_ago(0)?,
        team,
        json!([]),
    );
    body["remote"] = json!({ "used": true, "tools": ["Microsoft Teams"] });
    body["recommendation"] = json!("maintain");
    Ok(body)
}

/// Registers `id`, an employee competent for the example's standards in `area`.
async fn register(host: &Host, id: &str, name: &str, area: &str) -> Result<()> {
    let person = json!({
        "name": name,
        "employment": { "type": "employee" },
        "competences": [
            { "standard": "ISO/IEC 27001", "technical_areas": [area] },
            { "standard": "ISO/IEC 27701", "technical_areas": [area] }
        ]
    });
    let put = host
        .operator(Method::PUT, &format!("/api/people/{id}"), Some(&person))
        .await?;
    ensure!(put.status == 200, "{id}: {}", put.body);
    Ok(())
}

each_store! {
async fn s1_s2_t1_t4_audits_on_a_certified_client() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    // A trainee competent in the accepted area (IAF 33), and someone competent only in IAF 1.
    register(&host, "xu-lin", "Xu Lin", "IAF 33").await?;
    register(&host, "ma-jun", "Ma Jun", "IAF 1").await?;
    let (id, _number) = certify(&host, &mut Vec::new()).await?;
    let audits = format!("/api/applications/{id}/audits");

    // M3: the certified client's first surveillance is assessed for remote auditing.
    let assessed = post(
        &host,
        &format!("/api/applications/{id}/remote-audit"),
        &assessment("surveillance_1"),
    )
    .await?;
    ensure!(assessed.status == 201, "{}", assessed.body);
    ensure!(
        assessed.body["assessment"]["assessed_on"] == json!(days_ago(0)?),
        "{}",
        assessed.body
    );

    // S1, S2: the surveillance with its checklist, a trainee with their evaluator (T4).
    let team = [
        ("li-na", "lead"),
        ("xu-lin", "trainee"),
        ("chen-jie", "evaluator"),
    ];
    let mut held = surveillance(&team)?;
    held["checklist"] = surveillance_checklist();
    let recorded = post(&host, &audits, &held).await?;
    ensure!(recorded.status == 201, "{}", recorded.body);
    ensure!(
        recorded.body["type"] == "surveillance_1" && recorded.body["remote_allowed"] == "partial",
        "{}",
        recorded.body
    );
    ensure!(
        recorded.body["team"][1]["evaluator"] == "chen-jie",
        "T4: the record names the trainee's evaluator: {}",
        recorded.body
    );
    let listed = host.operator(Method::GET, &audits, None).await?;
    ensure!(listed.status == 200, "{}", listed.body);
    let stored = listed.body["audits"]
        .as_array()
        .and_then(|a| a.last())
        .context("audits")?;
    ensure!(
        stored["checklist"]["control_changes_and_soa"]["covered"] == true
            && stored["recommendation"] == "maintain",
        "{stored}"
    );
    // Recording it leaves the application certified.
    let application = host
        .operator(Method::GET, &format!("/api/applications/{id}"), None)
        .await?;
    ensure!(
        application.body["status"] == "certified",
        "{}",
        application.body
    );

    // S1: a certified application takes no stage 2: 409 naming its status.
    let stage_2 = audit("stage_2", days_ago(0)?, days_ago(0)?, &team[..1], json!([]));
    let refused = post(&host, &audits, &stage_2).await?;
    ensure!(
        refused.status == 409 && refused.body["current_status"] == "certified",
        "{}",
        refused.body
    );

    // T1–T4 at once: no lead; IAF 33 held only by the trainee; ma-jun as auditor and
    // technical expert; the trainee without an evaluator.
    let mut bad = surveillance(&[
        ("ma-jun", "auditor"),
        ("ma-jun", "technical_expert"),
        ("xu-lin", "trainee"),
    ])?;
    bad["checklist"] = surveillance_checklist();
    let refused = post(&host, &audits, &bad).await?;
    let mut broken = violation_rules(&refused.body);
    broken.dedup();
    ensure!(
        refused.status == 422
            && refused.body["type"] == "https://certflow.dev/problems/rules-not-met"
            && broken == ["T1", "T2", "T3", "T4"],
        "{}",
        refused.body
    );

    // S2: an ISMS surveillance without its checklist.
    let refused = post(&host, &audits, &surveillance(&team)?).await?;
    ensure!(
        refused.status == 422
            && field_errors(&refused.body) == [("/checklist".to_string(), "S2".to_string())],
        "{}",
        refused.body
    );
    // Nothing refused was stored.
    let listed = host.operator(Method::GET, &audits, None).await?;
    ensure!(
        listed.body["audits"].as_array().map(Vec::len) == Some(3),
        "{}",
        listed.body
    );
    host.stop().await
}
}

each_store! {
async fn m1_remote_use_before_the_assessment_that_allows_it_is_refused() -> Result<()> {
    // The application is submitted and accepted 10 days ago; the host then runs today.
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let id = accepted_application(&host).await?;
    host.stop().await?;
    let held_on = days_ago(0)?;
    let today = held_on
        .checked_add_days(chrono::Days::new(10))
        .context("date")?;
    let host = start_app_at(state.path(), offset_to(today)?).await?;

    // The example: assessed today, a stage 1 held 10 days ago with remote use.
    let remote_audit = format!("/api/applications/{id}/remote-audit");
    let assessed = post(&host, &remote_audit, &assessment("stage_1")).await?;
    ensure!(assessed.status == 201, "{}", assessed.body);
    let audits = format!("/api/applications/{id}/audits");
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let mut stage_1 = audit("stage_1", held_on, held_on, &team, json!([]));
    stage_1["remote"] = json!({ "used": true, "tools": ["Microsoft Teams"] });
    let refused = post(&host, &audits, &stage_1).await?;
    ensure!(
        refused.status == 422 && violation_rules(&refused.body) == ["M1"],
        "{}",
        refused.body
    );

    // R1: an assessment cannot be made tomorrow; one made on the day the audit started is in
    // time (it is the latest for stage 1 now).
    let mut late = assessment("stage_1");
    late["assessed_on"] = json!(today.succ_opt().context("date")?);
    let refused = post(&host, &remote_audit, &late).await?;
    ensure!(
        refused.status == 422
            && field_errors(&refused.body) == [("/assessed_on".to_string(), "R1".to_string())],
        "{}",
        refused.body
    );
    let mut in_time = assessment("stage_1");
    in_time["assessed_on"] = json!(held_on);
    let assessed = post(&host, &remote_audit, &in_time).await?;
    ensure!(assessed.status == 201, "{}", assessed.body);
    let recorded = post(&host, &audits, &stage_1).await?;
    ensure!(recorded.status == 201, "{}", recorded.body);
    host.stop().await
}
}
