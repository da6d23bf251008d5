//! Signed intake end to end (issue 13, item 1): `POST /api/hooks/applications` on the real
//! `spin.toml` and intake component, with requests signed by the native `standardwebhooks`
//! crate (an implementation of the Standard Webhooks scheme independent of the component's
//! use of it: the component checks the timestamp and compares signatures itself).

use anyhow::{Context, Result, ensure};
use base64::Engine as _;
use certflow_tests::each_store;
use certflow_tests::{Host, Reply, example_application, reply, start_app_with, stored_state};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const ROUTE: &str = "/api/hooks/applications";

/// A secret of the scheme's shape: `whsec_` and the base64 of 32 bytes, all `byte`.
fn secret(byte: u8) -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    )
}

/// The integration `acme` has two secrets (a rotation under way), `partner` one.
fn acme_old() -> String {
    secret(1)
}
fn acme_new() -> String {
    secret(2)
}
fn partner() -> String {
    secret(3)
}
/// Configured for nobody.
fn stranger() -> String {
    secret(4)
}

fn webhook_secrets() -> String {
    format!(
        "acme:{}, acme:{},partner:{}",
        acme_old(),
        acme_new(),
        partner()
    )
}

async fn start(state: &Path) -> Result<Host> {
    start_with(state, &[]).await
}

/// The app with the test integrations and `extra` variables.
async fn start_with(state: &Path, extra: &[(&str, &str)]) -> Result<Host> {
    let secrets = webhook_secrets();
    let mut variables = vec![("webhook_secrets", secrets.as_str())];
    variables.extend_from_slice(extra);
    start_app_with(state, Duration::ZERO, &variables).await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `v1,<base64>` of `body` for message `id` at `ts`, by the `standardwebhooks` crate.
fn signature(secret: &str, id: &str, ts: i64, body: &[u8]) -> Result<String> {
    let webhook = standardwebhooks::Webhook::new(secret)?;
    Ok(webhook.sign(id, ts, body)?)
}

/// A POST to the signed route with the three headers given (`None`: not sent) and `body`.
fn hook_request(
    host: &Host,
    id: Option<&str>,
    ts: Option<&str>,
    sig: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    let mut req = host
        .client
        .post(host.url(ROUTE))
        .header("content-type", content_type)
        .body(body);
    for (name, value) in [
        ("webhook-id", id),
        ("webhook-timestamp", ts),
        ("webhook-signature", sig),
    ] {
        if let Some(value) = value {
            req = req.header(name, value);
        }
    }
    req
}

/// `body` as JSON, signed with each of `secrets` now for message `id`.
async fn send_signed(host: &Host, secrets: &[String], id: &str, body: &Value) -> Result<Reply> {
    let bytes = body.to_string().into_bytes();
    let ts = now();
    let sigs = secrets
        .iter()
        .map(|s| signature(s, id, ts, &bytes))
        .collect::<Result<Vec<_>>>()?
        .join(" ");
    reply(hook_request(
        host,
        Some(id),
        Some(&ts.to_string()),
        Some(&sigs),
        "application/json",
        bytes,
    ))
    .await
}

async fn stored_applications(state: &Path) -> Result<usize> {
    let keys = stored_state(state)?.keys("default").await?;
    Ok(keys
        .iter()
        .filter(|k| k.starts_with("application:"))
        .count())
}

/// The problem type's last segment.
fn kind(reply: &Reply) -> String {
    reply.body["type"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Reads the application created by `created` with its access token; returns its record.
async fn read_created(host: &Host, created: &Reply) -> Result<Value> {
    let id = text(&created.body["id"]);
    let token = text(&created.body["access_token"]);
    let read = reply(
        host.client
            .get(host.url(&format!("/api/applications/{id}")))
            .bearer_auth(&token),
    )
    .await?;
    ensure!(read.status == 200, "{} {}", read.status, read.body);
    Ok(read.body)
}

/// Who the record's first history entry names (R1).
fn submitted_by(record: &Value) -> String {
    text(&record["history"][0]["by"])
}

each_store! {
async fn standard_webhooks_signed_application_is_created_by_its_integration() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let app = example_application()?;
    let created = send_signed(&host, &[acme_new()], "msg_first", &app).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = text(&created.body["id"]);
    ensure!(id.len() == 32, "{}", created.body);
    ensure!(
        text(&created.body["access_token"]).starts_with("cfa_"),
        "{}",
        created.body
    );
    let location = created
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok());
    ensure!(
        location == Some(format!("/api/applications/{id}").as_str()),
        "{location:?}"
    );
    ensure!(created.headers.get("idempotent-replayed").is_none());
    let record = read_created(&host, &created).await?;
    ensure!(
        submitted_by(&record) == "integration:acme",
        "{}",
        record["history"]
    );
    ensure!(stored_applications(state.path()).await? == 1);
    host.stop().await
}
}

each_store! {
async fn standard_webhooks_each_bad_signature_kind_is_401_and_stores_nothing() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let body = example_application()?.to_string().into_bytes();
    let ts = now();
    let ts_text = ts.to_string();
    let good = signature(&acme_old(), "msg_bad", ts, &body)?;
    let by_stranger = signature(&stranger(), "msg_bad", ts, &body)?;
    let for_other_id = signature(&acme_old(), "msg_other", ts, &body)?;
    let zero_mac = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode([0u8; 32])
    );
    let mut not_utf8 = body.clone();
    not_utf8.extend_from_slice(b"\xff");
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Vec<u8>,
        &'a str,
        &'a [&'a str],
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "no headers",
            None,
            None,
            None,
            body.clone(),
            "webhook-headers-missing",
            &["webhook-id", "webhook-timestamp", "webhook-signature"],
        ),
        (
            "no id",
            None,
            Some(&ts_text),
            Some(&good),
            body.clone(),
            "webhook-headers-missing",
            &["webhook-id"],
        ),
        (
            "no timestamp",
            Some("msg_bad"),
            None,
            Some(&good),
            body.clone(),
            "webhook-headers-missing",
            &["webhook-timestamp"],
        ),
        (
            "no signature",
            Some("msg_bad"),
            Some(&ts_text),
            None,
            body.clone(),
            "webhook-headers-missing",
            &["webhook-signature"],
        ),
        (
            "timestamp not seconds",
            Some("msg_bad"),
            Some("2026-12-01T00:00:00Z"),
            Some(&good),
            body.clone(),
            "webhook-malformed",
            &["webhook-timestamp"],
        ),
        (
            "signature without a comma",
            Some("msg_bad"),
            Some(&ts_text),
            Some("v1:abc"),
            body.clone(),
            "webhook-malformed",
            &["webhook-signature"],
        ),
        (
            "signature not 32 bytes",
            Some("msg_bad"),
            Some(&ts_text),
            Some("v1,c2hvcnQ="),
            body.clone(),
            "webhook-malformed",
            &["32 bytes"],
        ),
        (
            "no v1 signature",
            Some("msg_bad"),
            Some(&ts_text),
            Some("v2,c2hvcnQ="),
            body.clone(),
            "webhook-malformed",
            &["no v1"],
        ),
        (
            "body not UTF-8",
            Some("msg_bad"),
            Some(&ts_text),
            Some(&zero_mac),
            not_utf8,
            "webhook-malformed",
            &["UTF-8"],
        ),
        (
            "secret of nobody",
            Some("msg_bad"),
            Some(&ts_text),
            Some(&by_stranger),
            body.clone(),
            "webhook-signature-invalid",
            &[],
        ),
        (
            "signed for another webhook-id",
            Some("msg_bad"),
            Some(&ts_text),
            Some(&for_other_id),
            body.clone(),
            "webhook-signature-invalid",
            &[],
        ),
        (
            "signed for another body",
            Some("msg_bad"),
            Some(&ts_text),
            Some(&good),
            br#"{"scope":"x"}"#.to_vec(),
            "webhook-signature-invalid",
            &[],
        ),
    ];
    for (what, id, ts, sig, body, expected, named) in cases {
        let refused = reply(hook_request(&host, id, ts, sig, "application/json", body)).await?;
        ensure!(
            refused.status == 401,
            "{what}: {} {}",
            refused.status,
            refused.body
        );
        ensure!(kind(&refused) == expected, "{what}: {}", refused.body);
        let content_type = refused
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        ensure!(
            content_type == Some("application/problem+json"),
            "{what}: {content_type:?}"
        );
        let challenge = refused
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        ensure!(
            challenge.starts_with("StandardWebhooks"),
            "{what}: {challenge}"
        );
        let detail = text(&refused.body["detail"]);
        for name in named {
            ensure!(
                detail.contains(name),
                "{what}: {detail} does not name {name}"
            );
        }
    }
    // A header sent twice is ambiguous, not read as its first value.
    let twice = reply(
        hook_request(
            &host,
            Some("msg_bad"),
            Some(&ts_text),
            Some(&good),
            "application/json",
            body.clone(),
        )
        .header("webhook-id", "msg_bad"),
    )
    .await?;
    ensure!(
        twice.status == 401 && kind(&twice) == "webhook-malformed",
        "{}",
        twice.body
    );
    ensure!(stored_applications(state.path()).await? == 0);
    // The same request, signed right, is accepted: the refusals were the signature's.
    let accepted = reply(hook_request(
        &host,
        Some("msg_bad"),
        Some(&ts_text),
        Some(&good),
        "application/json",
        body,
    ))
    .await?;
    ensure!(accepted.status == 201, "{}", accepted.body);
    ensure!(stored_applications(state.path()).await? == 1);
    host.stop().await
}
}

each_store! {
async fn standard_webhooks_stale_and_future_timestamps_are_401() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let body = example_application()?.to_string().into_bytes();
    // The default tolerance is 300 s either way.
    for (what, offset) in [("stale", -330), ("future", 330)] {
        let ts = now() + offset;
        let sig = signature(&acme_old(), "msg_time", ts, &body)?;
        let refused = reply(hook_request(
            &host,
            Some("msg_time"),
            Some(&ts.to_string()),
            Some(&sig),
            "application/json",
            body.clone(),
        ))
        .await?;
        ensure!(refused.status == 401, "{what}: {}", refused.body);
        ensure!(
            kind(&refused) == "webhook-timestamp-outside-tolerance",
            "{what}: {}",
            refused.body
        );
        let detail = text(&refused.body["detail"]);
        let says = if offset < 0 { "old" } else { "in the future" };
        ensure!(
            detail.contains(says) && detail.contains("300 s"),
            "{what}: {detail}"
        );
    }
    ensure!(stored_applications(state.path()).await? == 0);
    // Two minutes off is within it.
    let ts = now() - 120;
    let sig = signature(&acme_old(), "msg_time", ts, &body)?;
    let accepted = reply(hook_request(
        &host,
        Some("msg_time"),
        Some(&ts.to_string()),
        Some(&sig),
        "application/json",
        body.clone(),
    ))
    .await?;
    ensure!(accepted.status == 201, "{}", accepted.body);
    host.stop().await?;

    // webhook_tolerance_seconds narrows it.
    let state = tempfile::tempdir()?;
    let host = start_with(state.path(), &[("webhook_tolerance_seconds", "60")]).await?;
    let ts = now() - 120;
    let sig = signature(&acme_old(), "msg_narrow", ts, &body)?;
    let refused = reply(hook_request(
        &host,
        Some("msg_narrow"),
        Some(&ts.to_string()),
        Some(&sig),
        "application/json",
        body.clone(),
    ))
    .await?;
    ensure!(refused.status == 401, "{}", refused.body);
    ensure!(
        text(&refused.body["detail"]).contains("60 s"),
        "{}",
        refused.body
    );
    ensure!(stored_applications(state.path()).await? == 0);
    host.stop().await
}
}

each_store! {
async fn standard_webhooks_both_secrets_of_a_rotated_integration_are_accepted() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let app = example_application()?;
    let signers = [
        ("old", vec![acme_old()]),
        ("new", vec![acme_new()]),
        (
            "both, as a sender signs while it rotates",
            vec![acme_new(), acme_old()],
        ),
        (
            "new, beside a secret nobody has",
            vec![stranger(), acme_new()],
        ),
    ];
    let mut ids = Vec::new();
    for (n, (what, secrets)) in signers.iter().enumerate() {
        let created = send_signed(&host, secrets, &format!("msg_rotation_{n}"), &app).await?;
        ensure!(created.status == 201, "{what}: {}", created.body);
        let record = read_created(&host, &created).await?;
        ensure!(
            submitted_by(&record) == "integration:acme",
            "{what}: {}",
            record["history"]
        );
        ids.push(text(&created.body["id"]));
    }
    ids.sort();
    ids.dedup();
    ensure!(ids.len() == 4, "{ids:?}");
    ensure!(stored_applications(state.path()).await? == 4);
    host.stop().await
}
}

each_store! {
async fn standard_webhooks_a_secret_of_one_integration_never_attributes_to_another() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let app = example_application()?;
    let created = send_signed(&host, &[partner()], "msg_whose", &app).await?;
    ensure!(created.status == 201, "{}", created.body);
    let record = read_created(&host, &created).await?;
    ensure!(
        submitted_by(&record) == "integration:partner",
        "{}",
        record["history"]
    );
    // Signed by both integrations: whose is it? Refused rather than guessed.
    let both = send_signed(&host, &[acme_old(), partner()], "msg_both", &app).await?;
    ensure!(both.status == 401, "{}", both.body);
    ensure!(kind(&both) == "webhook-signature-invalid", "{}", both.body);
    ensure!(
        text(&both.body["detail"]).contains("more than one integration"),
        "{}",
        both.body
    );
    ensure!(stored_applications(state.path()).await? == 1);
    host.stop().await
}
}

each_store! {
async fn standard_webhooks_twenty_concurrent_redeliveries_make_one_application() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = std::sync::Arc::new(start(state.path()).await?);
    let app = example_application()?;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (host, app) = (host.clone(), app.clone());
        // Each redelivery is signed anew (its own timestamp), as a sender does.
        tasks.push(tokio::spawn(async move {
            send_signed(&host, &[acme_old()], "msg_redelivered", &app).await
        }));
    }
    let mut bodies = Vec::new();
    let mut replayed = 0;
    for task in tasks {
        let reply = task.await??;
        ensure!(reply.status == 201, "{} {}", reply.status, reply.body);
        if reply
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok())
            == Some("true")
        {
            replayed += 1;
        }
        bodies.push(reply.body);
    }
    bodies.dedup();
    ensure!(bodies.len() == 1, "different replies: {bodies:?}");
    ensure!(replayed == 19, "{replayed} of 20 replayed");
    ensure!(stored_applications(state.path()).await? == 1);
    // A later redelivery is the first reply again; another body under the id is refused.
    let again = send_signed(&host, &[acme_new()], "msg_redelivered", &app).await?;
    ensure!(
        again.status == 201 && again.body == bodies[0],
        "{}",
        again.body
    );
    let mut other = app.clone();
    other["scope"] = json!("Something else entirely");
    let reused = send_signed(&host, &[acme_old()], "msg_redelivered", &other).await?;
    ensure!(reused.status == 422, "{}", reused.body);
    ensure!(
        reused.body["errors"][0]["code"] == "idempotency_key_reused",
        "{}",
        reused.body
    );
    ensure!(stored_applications(state.path()).await? == 1);
    Ok(())
}
}

each_store! {
async fn standard_webhooks_one_webhook_id_from_two_integrations_is_two_applications() -> Result<()>
{
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let app = example_application()?;
    let from_acme = send_signed(&host, &[acme_old()], "msg_shared", &app).await?;
    let from_partner = send_signed(&host, &[partner()], "msg_shared", &app).await?;
    ensure!(from_acme.status == 201 && from_partner.status == 201);
    ensure!(
        from_acme.body["id"] != from_partner.body["id"],
        "{}",
        from_partner.body
    );
    ensure!(from_partner.headers.get("idempotent-replayed").is_none());
    ensure!(submitted_by(&read_created(&host, &from_partner).await?) == "integration:partner");
    // An applicant's Idempotency-Key never meets an integration's webhook-id.
    let plain = host.submit(&app, Some("msg_shared")).await?;
    ensure!(plain.status == 201 && plain.headers.get("idempotent-replayed").is_none());
    ensure!(stored_applications(state.path()).await? == 3);
    host.stop().await
}
}

each_store! {
async fn standard_webhooks_intake_shapes_413_415_422_400_are_kept() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let ts = now();
    let signed = |id: &str, content_type: &str, body: Vec<u8>| -> Result<reqwest::RequestBuilder> {
        let sig = signature(&acme_old(), id, ts, &body)?;
        Ok(hook_request(
            &host,
            Some(id),
            Some(&ts.to_string()),
            Some(&sig),
            content_type,
            body,
        ))
    };

    let huge = format!("{{\"scope\": \"{}\"}}", "x".repeat(300 * 1024)).into_bytes();
    let too_large = reply(signed("msg_413", "application/json", huge)?).await?;
    ensure!(too_large.status == 413, "{}", too_large.body);

    let wrong_type = reply(signed("msg_415", "text/plain", b"hi".to_vec())?).await?;
    ensure!(wrong_type.status == 415, "{}", wrong_type.body);
    let accept = wrong_type
        .headers
        .get("accept-post")
        .and_then(|v| v.to_str().ok());
    ensure!(accept == Some("application/json"), "{accept:?}");
    // A form is the consultation form's, not an integration's.
    let form = reply(signed(
        "msg_form",
        "application/x-www-form-urlencoded",
        b"scope=x".to_vec(),
    )?)
    .await?;
    ensure!(form.status == 415, "{}", form.body);

    let mut invalid = example_application()?;
    invalid["contact"]["email"] = json!("not an address");
    invalid["scope"] = json!("");
    let refused = reply(signed(
        "msg_422",
        "application/json",
        invalid.to_string().into_bytes(),
    )?)
    .await?;
    ensure!(refused.status == 422, "{}", refused.body);
    let errors = refused.body["errors"].as_array().context("errors")?;
    ensure!(errors.len() >= 2, "every error at once: {}", refused.body);

    let broken = reply(signed(
        "msg_400",
        "application/json",
        b"{\n  oops\n}".to_vec(),
    )?)
    .await?;
    ensure!(broken.status == 400, "{}", broken.body);
    ensure!(
        text(&broken.body["detail"]).starts_with("line 2"),
        "{}",
        broken.body
    );

    let app = example_application()?.to_string().into_bytes();
    let ambiguous = reply(
        signed("msg_key", "application/json", app.clone())?.header("idempotency-key", "other"),
    )
    .await?;
    ensure!(ambiguous.status == 400, "{}", ambiguous.body);
    ensure!(
        kind(&ambiguous) == "ambiguous-idempotency-key",
        "{}",
        ambiguous.body
    );

    let wrong_method = reply(host.client.get(host.url(ROUTE))).await?;
    ensure!(wrong_method.status == 405, "{}", wrong_method.body);
    ensure!(stored_applications(state.path()).await? == 0);

    // A refused submission frees its webhook-id: the corrected one is accepted under it.
    let corrected = reply(signed("msg_422", "application/json", app.clone())?).await?;
    ensure!(corrected.status == 201, "{}", corrected.body);
    // An Idempotency-Key equal to the webhook-id is the same key.
    let same_key =
        reply(signed("msg_422", "application/json", app)?.header("idempotency-key", "msg_422"))
            .await?;
    ensure!(
        same_key.status == 201 && same_key.body["id"] == corrected.body["id"],
        "{}",
        same_key.body
    );
    ensure!(stored_applications(state.path()).await? == 1);
    host.stop().await
}
}

each_store! {
async fn standard_webhooks_unusable_webhook_secrets_is_503_without_the_secret() -> Result<()> {
    let app = example_application()?;
    let short = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 8])
    );
    let shared = format!("acme:{},partner:{}", acme_old(), acme_old());
    for (what, configured) in [
        ("too short", format!("acme:{short}")),
        (
            "no whsec_ prefix",
            format!("acme:{}", &acme_old()["whsec_".len()..]),
        ),
        ("no integration", acme_old()),
        ("one secret for two integrations", shared),
    ] {
        let state = tempfile::tempdir()?;
        let host = start_app_with(
            state.path(),
            Duration::ZERO,
            &[("webhook_secrets", &configured)],
        )
        .await?;
        let refused = send_signed(&host, &[acme_old()], "msg_config", &app).await?;
        ensure!(refused.status == 503, "{what}: {}", refused.body);
        let detail = text(&refused.body["detail"]);
        ensure!(detail.contains("webhook_secrets"), "{what}: {detail}");
        let key_text = &acme_old()["whsec_".len()..];
        ensure!(
            !detail.contains(key_text) && !detail.contains(&short["whsec_".len()..]),
            "{what}: the detail shows a secret: {detail}"
        );
        ensure!(stored_applications(state.path()).await? == 0);
        host.stop().await?;
    }
    // No integration configured: nobody's signature is valid.
    let state = tempfile::tempdir()?;
    let host = start_app_with(state.path(), Duration::ZERO, &[]).await?;
    let refused = send_signed(&host, &[acme_old()], "msg_config", &app).await?;
    ensure!(
        refused.status == 401 && kind(&refused) == "webhook-signature-invalid",
        "{}",
        refused.body
    );
    ensure!(stored_applications(state.path()).await? == 0);
    host.stop().await
}
}
