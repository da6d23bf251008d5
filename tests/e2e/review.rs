//! Application review and remote-audit assessment end to end (rules A1–A10, M1–M5): the real
//! `spin.toml`; intake chains review's screening over service chaining; operators review,
//! assess remote audits and replace the CB's settings.

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::{
    Host, OPERATOR_TOKEN, Start, build_app_components, example_application, reply, scenario,
    start_app,
};
use reqwest::Method;
use serde_json::{Value, json};

/// Submits the DESIGN example and returns its id (screened by then).
async fn submit(host: &Host) -> Result<String> {
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    created.body["id"]
        .as_str()
        .map(str::to_string)
        .context("no id")
}

async fn record(host: &Host, id: &str) -> Result<Value> {
    let shown = host
        .operator(Method::GET, &format!("/api/applications/{id}"), None)
        .await?;
    ensure!(shown.status == 200, "{}", shown.body);
    Ok(shown.body)
}

fn accept() -> Value {
    json!({
        "decision": "accept",
        "reviewer": "Wang Fang",
        "technical_areas": ["IAF 33"],
        "factors": { "processes": 3, "it_infrastructure": 3 },
        "stage_1_on": "2027-01-11"
    })
}

/// An MD4 assessment that allows a partial remote audit (physical security on site).
fn assessment(audit: &str) -> Value {
    let low = |note: &str| json!({ "risk": "low", "note": note });
    json!({
        "assessor": "Zhao Min",
        "audit": audit,
        "factors": {
            "infrastructure": low("tested video links"),
            "sector": low("software services"),
            "audit_type": low("surveillance"),
            "competence": low("team trained in remote techniques"),
            "past_performance": low("two remote audits went well"),
            "scope": low("no site-bound process")
        },
        "confidentiality": low("screen sharing under NDA"),
        "client_agreement": true,
        "physical_processes": false,
        "physical_security_controls": true,
        "virtual_sites": false,
        "planned_remote_percent": 40,
        "tools": ["Microsoft Teams"]
    })
}

/// The ISMS figures of a stored screening or review.
fn isms(figures: &Value) -> Option<&Value> {
    figures["audit_times"]["value"]["schemes"]
        .as_array()?
        .iter()
        .find(|s| s["scheme"] == "isms")
}

each_store! {
async fn a1_a9_m1_submit_screen_review_and_assess_end_to_end() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let id = submit(&host).await?;

    // Screening (chained by intake): the draft review is stored with its explanation.
    let screened = record(&host, &id).await?;
    ensure!(screened["status"] == "under_review", "{screened}");
    let figures = &screened["screening"]["figures"];
    // A1: 120 full-time + 10 × 20 h / 40 h + 5 temporary + 3 contractors = 133.
    ensure!(
        figures["effective_personnel"]["value"]["total"] == 133,
        "{figures}"
    );
    // A2: 126–175 people → 13 auditor-days, and every step cites its rule.
    ensure!(
        isms(figures).and_then(|s| s["table_days"].as_f64()) == Some(13.0),
        "{figures}"
    );
    let steps = figures["audit_times"]["steps"]
        .as_array()
        .context("steps")?;
    ensure!(
        steps
            .iter()
            .all(|s| s["rule"].as_str().is_some_and(|r| !r.is_empty()))
    );
    ensure!(
        screened["history"][1]["status"] == "under_review",
        "{screened}"
    );

    // A9: the operator accepts with complexity grades and a stage 1 date.
    let reviewed = host
        .operator(
            Method::POST,
            &format!("/api/applications/{id}/review"),
            Some(&accept()),
        )
        .await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    ensure!(reviewed.body["status"] == "accepted", "{}", reviewed.body);
    let review = &reviewed.body["review"];
    ensure!(review["technical_areas"][0] == "IAF 33", "{review}");
    ensure!(
        review["figures"]["audit_times"]["value"]["adjustment"]["percent"] != 0,
        "{review}"
    );
    ensure!(
        review["figures"]["programme"]["value"]["stage_1"] == "2027-01-11",
        "{review}"
    );

    // A decided review is final: 409 naming the current status.
    let again = host
        .operator(
            Method::POST,
            &format!("/api/applications/{id}/review"),
            Some(&accept()),
        )
        .await?;
    ensure!(again.status == 409, "{}", again.body);
    ensure!(again.body["current_status"] == "accepted", "{}", again.body);

    // M1–M5: physical security controls on site → at most partial; 40% > 30% is flagged.
    let path = format!("/api/applications/{id}/remote-audit");
    let assessed = host
        .operator(Method::POST, &path, Some(&assessment("surveillance_1")))
        .await?;
    ensure!(assessed.status == 201, "{}", assessed.body);
    ensure!(
        assessed.body["result"]["remote"] == "partial",
        "{}",
        assessed.body
    );
    let flags = assessed.body["result"]["flags"].to_string();
    ensure!(flags.contains("remote_share_above_threshold"), "{flags}");
    // A retry with the same Idempotency-Key gets the first answer and records nothing new.
    let keyed = || {
        host.client
            .post(host.url(&path))
            .bearer_auth(OPERATOR_TOKEN)
            .header("content-type", "application/json")
            .header("idempotency-key", "assessment-1")
            .body(assessment("stage_2").to_string())
    };
    let first = reply(keyed()).await?;
    let retry = reply(keyed()).await?;
    ensure!(first.status == 201 && retry.status == 201, "{}", retry.body);
    ensure!(retry.body == first.body, "{}", retry.body);
    ensure!(retry.headers.get("idempotent-replayed").is_some());
    // M3: a re-assessment keeps the earlier ones.
    let reassessed = host
        .operator(Method::POST, &path, Some(&assessment("surveillance_1")))
        .await?;
    ensure!(reassessed.status == 201, "{}", reassessed.body);
    let listed = host.operator(Method::GET, &path, None).await?;
    ensure!(
        listed.body["remote_audits"].as_array().map(Vec::len) == Some(3),
        "{}",
        listed.body
    );

    // The applicant sees the same record with their token.
    let final_record = record(&host, &id).await?;
    ensure!(final_record["review"]["reviewer"] == "Wang Fang");
    ensure!(
        final_record["history"][2]["rules"][0] == "A9",
        "{final_record}"
    );
    host.stop().await
}
}

each_store! {
async fn a9_two_concurrent_reviews_one_wins() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    for _ in 0..3 {
        let id = submit(&host).await?;
        let path = format!("/api/applications/{id}/review");
        let reject = json!({ "decision": "reject", "reviewer": "Li Lei", "reasons": ["outside our accreditation"] });
        let accept = accept();
        let (a, b) = tokio::join!(
            host.operator(Method::POST, &path, Some(&accept)),
            host.operator(Method::POST, &path, Some(&reject)),
        );
        let statuses = [a?.status, b?.status];
        ensure!(
            statuses.iter().filter(|s| **s == 200).count() == 1
                && statuses.iter().filter(|s| **s == 409).count() == 1,
            "{statuses:?}"
        );
        let stored = record(&host, &id).await?;
        ensure!(
            stored["history"].as_array().map(Vec::len) == Some(3),
            "{stored}"
        );
    }
    host.stop().await
}
}

each_store! {
async fn a9_rejection_needs_reasons_and_ends_the_workflow() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let id = submit(&host).await?;
    let path = format!("/api/applications/{id}/review");
    let bare = json!({ "decision": "reject", "reviewer": "Li Lei", "colour": "red" });
    let refused = host.operator(Method::POST, &path, Some(&bare)).await?;
    ensure!(refused.status == 422, "{}", refused.body);
    let fields: Vec<&str> = refused.body["errors"]
        .as_array()
        .context("errors")?
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    ensure!(
        fields.contains(&"/reasons") && fields.contains(&"/colour"),
        "{fields:?}"
    );
    ensure!(record(&host, &id).await?["status"] == "under_review");

    let reject = json!({ "decision": "reject", "reviewer": "Li Lei", "reasons": ["scope outside accreditation"] });
    let rejected = host.operator(Method::POST, &path, Some(&reject)).await?;
    ensure!(
        rejected.status == 200 && rejected.body["status"] == "rejected",
        "{}",
        rejected.body
    );
    // A rejected application is not audited, so not assessed for remote audit.
    let assessed = host
        .operator(
            Method::POST,
            &format!("/api/applications/{id}/remote-audit"),
            Some(&assessment("stage_1")),
        )
        .await?;
    ensure!(assessed.status == 409, "{}", assessed.body);
    ensure!(
        assessed.body["current_status"] == "rejected",
        "{}",
        assessed.body
    );
    // Screening again is refused too.
    let rescreen = host
        .operator(
            Method::POST,
            &format!("/api/applications/{id}/screening"),
            None,
        )
        .await?;
    ensure!(rescreen.status == 409, "{}", rescreen.body);
    host.stop().await
}
}

each_store! {
async fn a5_settings_change_takes_effect_and_a_bad_document_is_refused_whole() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let defaults = host.operator(Method::GET, "/api/settings", None).await?;
    ensure!(defaults.status == 200, "{}", defaults.body);
    ensure!(
        defaults.body["max_reduction_percent"] == 30,
        "{}",
        defaults.body
    );

    // The CB raises the 126–175 band from 13 to 13.5 days (still below the next band).
    let mut settings = defaults.body.clone();
    let bands = settings["isms_time_table"]["bands"]
        .as_array_mut()
        .context("bands")?;
    let band = bands
        .iter_mut()
        .find(|b| b["from"] == 126)
        .context("band 126")?;
    band["days"] = json!(13.5);
    let replaced = host
        .operator(Method::PUT, "/api/settings", Some(&settings))
        .await?;
    ensure!(replaced.status == 200, "{}", replaced.body);
    let id = submit(&host).await?;
    let screened = record(&host, &id).await?;
    ensure!(
        isms(&screened["screening"]["figures"]).and_then(|s| s["table_days"].as_f64())
            == Some(13.5),
        "{screened}"
    );

    // A bad document: refused whole, with every error; the stored settings still apply.
    let mut bad = settings.clone();
    bad["max_reduction_percent"] = json!(-5);
    bad["jurisdiction"] = json!("mars");
    bad["unknown"] = json!(true);
    let refused = host
        .operator(Method::PUT, "/api/settings", Some(&bad))
        .await?;
    ensure!(refused.status == 422, "{}", refused.body);
    ensure!(
        refused.body["errors"].as_array().map(Vec::len) >= Some(3),
        "{}",
        refused.body
    );
    let current = host.operator(Method::GET, "/api/settings", None).await?;
    ensure!(current.body == settings, "{}", current.body);

    // Operators only.
    let anonymous = reply(host.client.get(host.url("/api/settings"))).await?;
    ensure!(anonymous.status == 401, "{}", anonymous.body);
    host.stop().await
}
}

each_store! {
async fn a9_review_and_m1_assessment_need_an_operator() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let id = submit(&host).await?;
    for path in [
        format!("/api/applications/{id}/review"),
        format!("/api/applications/{id}/remote-audit"),
        format!("/api/applications/{id}/screening"),
    ] {
        let anonymous = reply(
            host.client
                .post(host.url(&path))
                .header("content-type", "application/json")
                .body(accept().to_string()),
        )
        .await?;
        ensure!(anonymous.status == 401, "{path}: {}", anonymous.body);
        let wrong = reply(host.client.post(host.url(&path)).bearer_auth("nope")).await?;
        ensure!(wrong.status == 401, "{path}: {}", wrong.body);
    }
    // The internal screening route is not reachable from outside.
    let (status, _) = host
        .send(Method::POST, &format!("/internal/screening/{id}"), "")
        .await?;
    ensure!(status == 404, "{status}");
    host.stop().await
}
}

each_store! {
async fn a6_multi_site_samples_are_drawn_at_screening_and_repeated_by_the_review() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    // The central function and four more sites: n = 4.
    let mut application = example_application()?;
    let head_office = application["sites"][0].clone();
    let sites = application["sites"].as_array_mut().context("sites")?;
    for i in 1..=4 {
        let mut site = head_office.clone();
        site["name"] = json!(format!("Branch {i}"));
        site["central"] = json!(false);
        site["personnel"] = json!({ "full_time": 20, "temporary": 0, "contractors": 0 });
        sites.push(site);
    }
    let created = host.submit(&application, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?.to_string();
    let screened = record(&host, &id).await?;
    let samples = screened["screening"]["figures"]["site_samples"]
        .as_array()
        .context("site_samples")?
        .clone();
    // MD1: initial ceil(sqrt(4)) = 2, surveillance ceil(0.6 × 2) = 2, recertification
    // ceil(0.8 × 2) = 2, each besides the central function (site 0).
    ensure!(samples.len() == 3, "{samples:?}");
    for sample in &samples {
        let value = &sample["value"];
        ensure!(value["central"] == 0, "{value}");
        ensure!(
            value["sites"].as_array().map(Vec::len) == Some(2),
            "{value}"
        );
        ensure!(!value["sites"].to_string().contains("[0"), "{value}");
        ensure!(
            !value["random"].as_array().is_none_or(Vec::is_empty),
            "{value}"
        );
    }
    let seed = &screened["screening"]["figures"]["inputs"]["sampling"]["seed"];
    ensure!(seed.is_u64(), "{screened}");

    // The review repeats the screening's draw (same seed) unless told otherwise.
    let reviewed = host
        .operator(
            Method::POST,
            &format!("/api/applications/{id}/review"),
            Some(&accept()),
        )
        .await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    ensure!(
        reviewed.body["review"]["figures"]["site_samples"][0]["value"]["sites"]
            == samples[0]["value"]["sites"],
        "{}",
        reviewed.body
    );
    host.stop().await
}
}

each_store! {
async fn a1_when_screening_fails_an_application_waits_in_submitted() -> Result<()> {
    build_app_components()?;
    certflow_tests::build_test_components()?;
    let state = tempfile::tempdir()?;
    let host = Host::start(&scenario("intake-alone"), state.path(), &Start::default()).await?;
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    ensure!(created.body["status"] == "submitted", "{}", created.body);
    let id = created.body["id"].as_str().context("id")?;
    let shown = reply(
        host.client
            .get(host.url(&format!("/api/applications/{id}")))
            .bearer_auth(OPERATOR_TOKEN),
    )
    .await?;
    ensure!(shown.status == 200, "{}", shown.body);
    ensure!(shown.body["status"] == "submitted" && shown.body.get("screening").is_none());
    host.stop().await
}
}

/// PUTs raw settings text as an operator.
async fn put_settings_text(host: &Host, body: String) -> Result<certflow_tests::Reply> {
    reply(
        host.client
            .put(host.url("/api/settings"))
            .bearer_auth(OPERATOR_TOKEN)
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

each_store! {
async fn c1_settings_refuse_a_blank_cb_name_and_address() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let before = host.operator(Method::GET, "/api/settings", None).await?;
    ensure!(before.status == 200, "{}", before.body);
    let mut blank = before.body.clone();
    blank["certificate"]["certification_body"] = json!({"name": " ", "address": ""});
    let refused = host
        .operator(Method::PUT, "/api/settings", Some(&blank))
        .await?;
    ensure!(refused.status == 422, "{}", refused.body);
    for field in [
        "/certificate/certification_body/name",
        "/certificate/certification_body/address",
    ] {
        ensure!(
            refused.body["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["field"] == field && e["rule"] == "C1")),
            "{field}: {}",
            refused.body
        );
    }
    let after = host.operator(Method::GET, "/api/settings", None).await?;
    ensure!(after.body == before.body, "{}", after.body);
    // The same kind in a review: a reviewer that is only whitespace is required.
    let id = submit(&host).await?;
    let mut review = accept();
    review["reviewer"] = json!("   ");
    let blank_reviewer = host
        .operator(
            Method::POST,
            &format!("/api/applications/{id}/review"),
            Some(&review),
        )
        .await?;
    ensure!(blank_reviewer.status == 422, "{}", blank_reviewer.body);
    ensure!(
        blank_reviewer.body["errors"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e["field"] == "/reviewer" && e["code"] == "required")),
        "{}",
        blank_reviewer.body
    );
    host.stop().await
}
}

each_store! {
async fn a1_settings_numbers_that_cannot_be_held_exactly_are_422_at_their_field() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let before = host.operator(Method::GET, "/api/settings", None).await?;
    for (text, pointer) in [
        (r#"{"full_time_hours": 1e-28}"#, "/full_time_hours"),
        (r#"{"full_time_hours": 1e-400}"#, "/full_time_hours"),
        (r#"{"full_time_hours": 37.555}"#, "/full_time_hours"),
        (
            r#"{"max_reduction_percent": 1e-400}"#,
            "/max_reduction_percent",
        ),
        (
            r#"{"max_reduction_percent": 4294967295}"#,
            "/max_reduction_percent",
        ),
        (
            r#"{"isms_time_table": {"progression": {"days_per_step": 1e-400}}}"#,
            "/isms_time_table/progression/days_per_step",
        ),
        (
            r#"{"certificate": {"suspension_months": 6.5}}"#,
            "/certificate/suspension_months",
        ),
        (
            r#"{"certificate": {"max_gap_months": 4294967311}}"#,
            "/certificate/max_gap_months",
        ),
    ] {
        let refused = put_settings_text(&host, text.to_string()).await?;
        ensure!(refused.status == 422, "{text}: {}", refused.body);
        ensure!(
            refused.body["errors"][0]["field"] == pointer,
            "{text}: {}",
            refused.body
        );
    }
    let after = host.operator(Method::GET, "/api/settings", None).await?;
    ensure!(after.body == before.body, "{}", after.body);
    // Exact forms are read: 37.50 hours, 3.0e1 percent.
    let taken = put_settings_text(
        &host,
        r#"{"full_time_hours": 37.50, "max_reduction_percent": 3.0e1}"#.to_string(),
    )
    .await?;
    ensure!(taken.status == 200, "{}", taken.body);
    ensure!(
        taken.body["full_time_hours"].as_f64() == Some(37.5),
        "{}",
        taken.body
    );
    host.stop().await
}
}

each_store! {
async fn rfc8259_and_rfc9110_every_operator_body_is_read_strictly() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let id = submit(&host).await?;
    let review = format!("/api/applications/{id}/review");
    let body = accept().to_string();
    ensure!(body.contains(r#""reviewer":"Wang Fang""#), "{body}");
    let duplicated = body.replacen(
        r#""reviewer":"Wang Fang""#,
        r#""reviewer":"Wang Fang","reviewer":"Mallory""#,
        1,
    );
    for (path, method, text) in [
        (review.as_str(), Method::POST, duplicated),
        (
            "/api/settings",
            Method::PUT,
            r#"{"certificate": {"certification_body": {"name": "A", "name": "B"}}}"#.to_string(),
        ),
    ] {
        let refused = reply(
            host.client
                .request(method, host.url(path))
                .bearer_auth(OPERATOR_TOKEN)
                .header("content-type", "application/json")
                .body(text),
        )
        .await?;
        ensure!(refused.status == 400, "{path}: {}", refused.body);
        ensure!(
            refused.body["type"] == "https://certflow.dev/problems/duplicate-member",
            "{}",
            refused.body
        );
    }
    for (content_type, coding) in [
        ("application/json; charset=utf-16", None),
        ("application/json", Some("gzip")),
    ] {
        let mut req = host
            .client
            .post(host.url(&review))
            .bearer_auth(OPERATOR_TOKEN)
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(coding) = coding {
            req = req.header("content-encoding", coding);
        }
        let refused = reply(req).await?;
        ensure!(
            refused.status == 415,
            "{content_type} {coding:?}: {}",
            refused.body
        );
    }
    // Nothing was reviewed: the application is still under review.
    ensure!(record(&host, &id).await?["status"] == "under_review");
    host.stop().await
}
}
