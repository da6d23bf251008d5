//! Intake end to end (rules I1–I8): the real `spin.toml`, the real intake component, over HTTP.

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::{
    Host, OPERATOR_TOKEN, Reply, build_app_components, example_application, reply, start_app,
    start_app_with, store_env, stored_state, with_parent_store,
};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

async fn start(state: &Path) -> Result<Host> {
    start_app(state).await
}

async fn post_json(host: &Host, body: &Value, key: Option<&str>) -> Result<Reply> {
    host.submit(body, key).await
}

async fn read(host: &Host, id: &str, token: Option<&str>) -> Result<Reply> {
    let mut req = host
        .client
        .get(host.url(&format!("/api/applications/{id}")));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    reply(req).await
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// POSTs `size` bytes of JSON-ish text with chunked transfer encoding over a raw connection.
async fn post_chunked(host: &Host, size: usize) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = host.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await?;
    let head = format!(
        "POST /api/applications HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let chunk = vec![b' '; 16 * 1024];
    let mut sent = 0;
    while sent < size {
        // The server may answer and close before the whole body is sent.
        let frame = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        if stream.write_all(&frame).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

async fn stored_applications(state: &Path) -> Result<i64> {
    let keys = stored_state(state)?.keys("default").await?;
    Ok(keys
        .iter()
        .filter(|k| k.starts_with("application:"))
        .count() as i64)
}

each_store! {
async fn i1_valid_json_is_created_with_location_and_a_token() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let created = post_json(&host, &example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = text(&created.body["id"]);
    ensure!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "id {id}"
    );
    // Intake chained the screening (A1-A10): the draft review is stored.
    ensure!(created.body["status"] == "under_review", "{}", created.body);
    let location = created
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok());
    ensure!(
        location == Some(&*format!("/api/applications/{id}")),
        "{location:?}"
    );
    let token = text(&created.body["access_token"]);
    ensure!(
        token.starts_with("cfa_") && token.len() > 40,
        "token {token}"
    );

    let shown = read(&host, &id, Some(&token)).await?;
    ensure!(shown.status == 200, "{}", shown.body);
    ensure!(shown.body["application"]["organization"]["legal_name"] == "Acme Data Co., Ltd.");
    ensure!(
        shown.body["history"][0]["status"] == "submitted",
        "{}",
        shown.body
    );
    ensure!(
        shown.body["history"][0]["rules"][0] == "I1",
        "{}",
        shown.body
    );
    // The token itself is never stored, nor shown back.
    ensure!(!shown.body.to_string().contains(&token));
    host.stop().await
}
}

each_store! {
async fn i1_valid_form_is_created() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let mut pairs = certflow_domain::intake::form::encode(&example_application()?);
    pairs.push(("idempotency_key".into(), "form-key-1".into()));
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let created = reply(
        host.client
            .post(host.url("/api/applications"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone()),
    )
    .await?;
    ensure!(created.status == 201, "{}", created.body);
    // The form sent twice (the hidden key travels with it) creates one application (I7).
    let again = reply(
        host.client
            .post(host.url("/api/applications"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await?;
    ensure!(
        again.status == 201 && again.body["id"] == created.body["id"],
        "{}",
        again.body
    );
    ensure!(stored_applications(state.path()).await? == 1);
    host.stop().await
}
}

each_store! {
async fn i2_five_errors_come_back_in_one_422() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let mut app = example_application()?;
    app["contact"]["email"] = json!("not an email");
    app["standards"][0]["edition"] = json!("2013");
    app["sites"][0]["personnel"]["full_time"] = json!("many");
    app["management_system"]["last_internal_audit"] = json!(null);
    app["declarations"]["no_business_suspension_order"] = json!(false);
    let refused = post_json(&host, &app, None).await?;
    ensure!(refused.status == 422, "{}", refused.body);
    let content_type = refused
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    ensure!(
        content_type == Some("application/problem+json"),
        "{content_type:?}"
    );
    let mut found: Vec<(String, String, String)> = refused.body["errors"]
        .as_array()
        .context("errors list")?
        .iter()
        .map(|e| (text(&e["field"]), text(&e["code"]), text(&e["rule"])))
        .collect();
    found.sort();
    let expected = [
        ("/contact/email", "invalid_format", "I1"),
        (
            "/declarations/no_business_suspension_order",
            "refused",
            "I5",
        ),
        ("/management_system/last_internal_audit", "not_ready", "I4"),
        ("/sites/0/personnel/full_time", "invalid_type", "I1"),
        ("/standards/0/edition", "edition_not_accepted", "I3"),
    ]
    .map(|(f, c, r)| (f.to_string(), c.to_string(), r.to_string()));
    ensure!(found == expected, "errors: {found:?}");
    ensure!(
        stored_applications(state.path()).await? == 0,
        "a refused application was stored"
    );
    host.stop().await
}
}

each_store! {
async fn i7_a_retry_with_the_same_key_returns_the_first_response() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let app = example_application()?;
    let first = post_json(&host, &app, Some("retry-key")).await?;
    ensure!(first.status == 201, "{}", first.body);
    ensure!(first.headers.get("idempotent-replayed").is_none());
    let retry = post_json(&host, &app, Some("retry-key")).await?;
    ensure!(retry.status == 201, "{}", retry.body);
    ensure!(retry.body["id"] == first.body["id"]);
    ensure!(retry.body["access_token"] == first.body["access_token"]);
    let replayed = retry
        .headers
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok());
    ensure!(replayed == Some("true"), "{replayed:?}");

    let mut other = app.clone();
    other["scope"] = json!("Something else entirely");
    let reused = post_json(&host, &other, Some("retry-key")).await?;
    ensure!(reused.status == 422, "{}", reused.body);
    ensure!(
        reused.body["errors"][0]["code"] == "idempotency_key_reused",
        "{}",
        reused.body
    );
    ensure!(stored_applications(state.path()).await? == 1);
    host.stop().await
}
}

each_store! {
async fn i7_twenty_concurrent_submissions_with_one_key_make_one_application() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = std::sync::Arc::new(start(state.path()).await?);
    let app = example_application()?;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (host, app) = (host.clone(), app.clone());
        tasks.push(tokio::spawn(async move {
            post_json(&host, &app, Some("one-key-twenty-clicks")).await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let reply = task.await??;
        ensure!(reply.status == 201, "{} {}", reply.status, reply.body);
        ids.push(text(&reply.body["id"]));
    }
    ids.dedup();
    ensure!(ids.len() == 1, "different ids: {ids:?}");
    ensure!(stored_applications(state.path()).await? == 1);
    Ok(())
}
}

each_store! {
async fn an_application_survives_a_host_restart() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let created = post_json(&host, &example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    host.stop().await?;

    let host = start(state.path()).await?;
    let id = text(&created.body["id"]);
    let shown = read(&host, &id, Some(&text(&created.body["access_token"]))).await?;
    ensure!(shown.status == 200, "{}", shown.body);
    ensure!(shown.body["id"] == id.as_str());
    host.stop().await
}
}

each_store! {
async fn r3_only_the_applicant_and_operators_can_read_an_application() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let mine = post_json(&host, &example_application()?, None).await?;
    let mut other_app = example_application()?;
    other_app["scope"] = json!("Operation of another service");
    let theirs = post_json(&host, &other_app, None).await?;
    ensure!(mine.status == 201 && theirs.status == 201);
    let id = text(&mine.body["id"]);

    // Another applicant's token: 404, as for an application that does not exist.
    let other_token = text(&theirs.body["access_token"]);
    let denied = read(&host, &id, Some(&other_token)).await?;
    ensure!(denied.status == 404, "{}", denied.body);
    let missing = read(
        &host,
        "0123456789abcdef0123456789abcdef",
        Some(&other_token),
    )
    .await?;
    ensure!(missing.status == 404 && missing.body == denied.body);
    // No credentials at all: 401.
    let anonymous = read(&host, &id, None).await?;
    ensure!(anonymous.status == 401, "{}", anonymous.body);
    ensure!(anonymous.headers.contains_key("www-authenticate"));
    // An operator sees any application.
    let operator = read(&host, &id, Some(OPERATOR_TOKEN)).await?;
    ensure!(
        operator.status == 200 && operator.body["id"] == id.as_str(),
        "{}",
        operator.body
    );
    let not_quite = read(&host, &id, Some("operator-token-for-test")).await?;
    ensure!(not_quite.status == 404);
    host.stop().await
}
}

each_store! {
async fn bad_requests_get_clear_4xx_problems() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let url = host.url("/api/applications");

    let wrong_type = reply(
        host.client
            .post(&url)
            .header("content-type", "text/plain")
            .body("hi"),
    )
    .await?;
    ensure!(wrong_type.status == 415, "{}", wrong_type.body);
    ensure!(wrong_type.headers.contains_key("accept-post"));

    let broken = reply(
        host.client
            .post(&url)
            .header("content-type", "application/json")
            .body("{\n  \"scope\": \"x\",\n  oops\n}"),
    )
    .await?;
    ensure!(broken.status == 400, "{}", broken.body);
    ensure!(
        text(&broken.body["detail"]).starts_with("line 3, column 3"),
        "{}",
        broken.body
    );

    let bad_form = reply(
        host.client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("sites[x].name=a"),
    )
    .await?;
    ensure!(bad_form.status == 400, "{}", bad_form.body);
    ensure!(
        text(&bad_form.body["detail"]).contains("sites[x].name"),
        "{}",
        bad_form.body
    );

    let huge = reply(
        host.client
            .post(&url)
            .header("content-type", "application/json")
            .body(format!("{{\"scope\": \"{}\"}}", "x".repeat(300 * 1024))),
    )
    .await?;
    ensure!(huge.status == 413, "{}", huge.body);

    // Without a Content-Length the limit holds too, counted while the body streams in.
    let chunked = post_chunked(&host, 300 * 1024).await?;
    ensure!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");

    let not_json_object = post_json(&host, &json!([1, 2, 3]), None).await?;
    ensure!(not_json_object.status == 422, "{}", not_json_object.body);

    let bad_key = post_json(&host, &example_application()?, Some("has space")).await?;
    ensure!(bad_key.status == 400, "{}", bad_key.body);

    let wrong_method = reply(host.client.delete(&url)).await?;
    ensure!(wrong_method.status == 405, "{}", wrong_method.body);
    ensure!(stored_applications(state.path()).await? == 0);
    host.stop().await
}
}

/// The example application as compact JSON text with `from` replaced by `to` once (to send
/// what a `Value` cannot hold: a member twice, a number's exact text).
fn example_text_with(from: &str, to: &str) -> Result<String> {
    let text = example_application()?.to_string();
    ensure!(text.contains(from), "{from} not in {text}");
    Ok(text.replacen(from, to, 1))
}

async fn post_text(
    host: &Host,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> Result<Reply> {
    reply(
        host.client
            .post(host.url("/api/applications"))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

each_store! {
async fn rfc8259_duplicate_member_is_refused_with_its_pointer() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    for (from, to, pointer) in [
        (
            r#""legal_name":"Acme Data Co., Ltd.""#,
            r#""legal_name":"Acme Data Co., Ltd.","legal_name":"Other Name Ltd.""#,
            "/organization/legal_name",
        ),
        (
            r#""full_time":120"#,
            r#""full_time":120,"full_time":5000"#,
            "/sites/0/personnel/full_time",
        ),
        // The same name however it is escaped.
        (r#""scope":"#, r#""sc\u006fpe":"x","scope":"#, "/scope"),
    ] {
        let body = example_text_with(from, to)?;
        let refused = post_text(&host, "application/json", body).await?;
        ensure!(refused.status == 400, "{}", refused.body);
        ensure!(
            refused.body["type"] == "https://certflow.dev/problems/duplicate-member",
            "{}",
            refused.body
        );
        ensure!(
            refused.body["errors"][0]["field"] == pointer
                && refused.body["errors"][0]["code"] == "duplicate"
                && text(&refused.body["detail"]).contains(pointer),
            "{}",
            refused.body
        );
    }
    ensure!(stored_applications(state.path()).await? == 0);
    host.stop().await
}
}

each_store! {
async fn i1_numbers_out_of_bounds_or_not_exact_are_422_at_their_field() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    for (from, to, pointer) in [
        (
            r#""full_time":120"#,
            r#""full_time":4294967295"#,
            "/sites/0/personnel/full_time",
        ),
        (
            r#""full_time":120"#,
            r#""full_time":1e-400"#,
            "/sites/0/personnel/full_time",
        ),
        (
            r#""full_time":120"#,
            r#""full_time":120.0000000000000000001"#,
            "/sites/0/personnel/full_time",
        ),
        (
            r#""weekly_hours":20"#,
            r#""weekly_hours":1e-28"#,
            "/sites/0/personnel/part_time/0/weekly_hours",
        ),
        (
            r#""weekly_hours":20"#,
            r#""weekly_hours":1e-400"#,
            "/sites/0/personnel/part_time/0/weekly_hours",
        ),
        (
            r#""weekly_hours":20"#,
            r#""weekly_hours":20.125"#,
            "/sites/0/personnel/part_time/0/weekly_hours",
        ),
    ] {
        let body = example_text_with(from, to)?;
        let refused = post_text(&host, "application/json", body).await?;
        ensure!(refused.status == 422, "{to}: {}", refused.body);
        let errors = refused.body["errors"].as_array().context("errors")?;
        ensure!(
            errors.iter().any(|e| e["field"] == pointer),
            "{to}: {}",
            refused.body
        );
    }
    ensure!(stored_applications(state.path()).await? == 0);
    // Exact forms of the same values are fine: `1.2e2` people, 20.50 hours.
    let body = example_text_with(r#""full_time":120"#, r#""full_time":1.2e2"#)?.replacen(
        r#""weekly_hours":20"#,
        r#""weekly_hours":20.50"#,
        1,
    );
    let created = post_text(&host, "application/json", body).await?;
    ensure!(created.status == 201, "{}", created.body);
    host.stop().await
}
}

each_store! {
async fn rfc9110_unsupported_charset_or_content_encoding_is_415() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let json = example_application()?.to_string();
    let utf16: Vec<u8> = json.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for content_type in [
        "application/json; charset=utf-16",
        "application/json; charset=\"UTF-16LE\"",
        "application/x-www-form-urlencoded; charset=iso-8859-1",
    ] {
        let refused = post_text(&host, content_type, utf16.clone()).await?;
        ensure!(refused.status == 415, "{content_type}: {}", refused.body);
        ensure!(
            text(&refused.body["detail"]).contains("charset"),
            "{}",
            refused.body
        );
    }
    for coding in ["gzip", "deflate", "br", "identity, gzip"] {
        let refused = reply(
            host.client
                .post(host.url("/api/applications"))
                .header("content-type", "application/json")
                .header("content-encoding", coding)
                .body(json.clone()),
        )
        .await?;
        ensure!(refused.status == 415, "{coding}: {}", refused.body);
        ensure!(
            refused.body["type"] == "https://certflow.dev/problems/unsupported-content-encoding"
                && refused
                    .headers
                    .get("accept-encoding")
                    .and_then(|v| v.to_str().ok())
                    == Some("identity"),
            "{coding}: {}",
            refused.body
        );
    }
    ensure!(stored_applications(state.path()).await? == 0);
    // UTF-8, however the parameter is written, and the identity coding are read.
    let created = reply(
        host.client
            .post(host.url("/api/applications"))
            .header("content-type", "Application/JSON; Charset=\"UTF-8\"")
            .header("content-encoding", "identity")
            .body(json),
    )
    .await?;
    ensure!(created.status == 201, "{}", created.body);
    host.stop().await
}
}

// ---- Item 1 of issue 11: every token depends on the server secret (R3, I8) ----

/// The token as intake derived it before the server secret: HMAC-SHA256 keyed by the
/// Idempotency-Key itself, computable offline by anyone who knows the key and the id.
fn token_derived_from_the_key_alone(key: &str, id: &str) -> Result<String> {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())?;
    mac.update(b"certflow applicant access token\0");
    mac.update(id.as_bytes());
    Ok(format!(
        "cfa_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    ))
}

/// Starts the app with extra variables (e.g. `server_secret`, `claim_expiry_seconds`).
async fn start_with(state: &Path, extra: &[(&str, &str)]) -> Result<Host> {
    start_app_with(state, Duration::ZERO, extra).await
}

each_store! {
async fn r3_i8_the_access_token_cannot_be_computed_from_the_idempotency_key() -> Result<()> {
    // The issue's example: no server_secret set (the README's first command), key `1`.
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let created = post_json(&host, &example_application()?, Some("1")).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = text(&created.body["id"]);
    let forged = token_derived_from_the_key_alone("1", &id)?;
    let shown = read(&host, &id, Some(&forged)).await?;
    ensure!(shown.status == 404, "forged token read it: {}", shown.body);
    ensure!(!shown.body.to_string().contains("Li Wei"));
    let token = text(&created.body["access_token"]);
    ensure!(token != forged);
    let shown = read(&host, &id, Some(&token)).await?;
    ensure!(shown.status == 200, "{}", shown.body);

    // The generated secret is kept: after a restart the replay still carries the same token.
    host.stop().await?;
    let host = start(state.path()).await?;
    let replayed = post_json(&host, &example_application()?, Some("1")).await?;
    ensure!(replayed.status == 201, "{}", replayed.body);
    ensure!(
        replayed.body["access_token"] == token.as_str(),
        "{}",
        replayed.body
    );
    host.stop().await
}
}

each_store! {
async fn r3_i8_tokens_and_ids_depend_on_the_server_secret() -> Result<()> {
    let app = example_application()?;
    let mut seen = Vec::new();
    for secret in [
        "first-server-secret-of-32-characters",
        "second-server-secret-of-32-characters",
        "first-server-secret-of-32-characters",
    ] {
        let state = tempfile::tempdir()?;
        let host = start_with(state.path(), &[("server_secret", secret)]).await?;
        let created = post_json(&host, &app, Some("same-key")).await?;
        ensure!(created.status == 201, "{}", created.body);
        let (id, token) = (
            text(&created.body["id"]),
            text(&created.body["access_token"]),
        );
        ensure!(read(&host, &id, Some(&token)).await?.status == 200);
        ensure!(
            read(
                &host,
                &id,
                Some(&token_derived_from_the_key_alone("same-key", &id)?)
            )
            .await?
            .status
                == 404
        );
        // A configured secret is used as it is: nothing is generated into the store.
        let generated = stored_state(state.path())?
            .keys("default")
            .await?
            .iter()
            .filter(|k| k.starts_with("server-secret"))
            .count();
        ensure!(generated == 0, "a secret was generated although one is set");
        seen.push((id, token));
        host.stop().await?;
    }
    // Another secret, another id and token for the same key; the same secret, the same ones.
    ensure!(seen[0].0 != seen[1].0 && seen[0].1 != seen[1].1, "{seen:?}");
    ensure!(seen[0] == seen[2], "{seen:?}");
    Ok(())
}
}

each_store! {
async fn r3_i8_a_rotated_secret_keeps_tokens_and_replays_working() -> Result<()> {
    let state = tempfile::tempdir()?;
    let app = example_application()?;
    let host = start_with(
        state.path(),
        &[("server_secret", "old-server-secret-of-32-characters")],
    )
    .await?;
    let created = post_json(&host, &app, Some("rotation-key")).await?;
    ensure!(created.status == 201, "{}", created.body);
    let (id, token) = (
        text(&created.body["id"]),
        text(&created.body["access_token"]),
    );
    host.stop().await?;

    // Rotation: the new secret first, the old one after it.
    let host = start_with(
        state.path(),
        &[(
            "server_secret",
            "new-server-secret-of-32-characters,old-server-secret-of-32-characters",
        )],
    )
    .await?;
    ensure!(read(&host, &id, Some(&token)).await?.status == 200);
    let replayed = post_json(&host, &app, Some("rotation-key")).await?;
    ensure!(replayed.status == 201, "{}", replayed.body);
    ensure!(replayed.body["access_token"] == token.as_str());
    ensure!(replayed.body["id"] == id.as_str());
    // New applications get tokens from the new secret.
    let fresh = post_json(&host, &app, Some("after-rotation")).await?;
    ensure!(fresh.status == 201, "{}", fresh.body);
    host.stop().await?;
    let host = start_with(
        state.path(),
        &[("server_secret", "new-server-secret-of-32-characters")],
    )
    .await?;
    let fresh_id = text(&fresh.body["id"]);
    let fresh_token = text(&fresh.body["access_token"]);
    ensure!(read(&host, &fresh_id, Some(&fresh_token)).await?.status == 200);
    // Stored hashes keep the old token working even once the old secret is retired.
    ensure!(read(&host, &id, Some(&token)).await?.status == 200);
    host.stop().await
}
}

// ---- Item 2 of issue 11: a replay is the first response; a crash does not block a key (I7) ----

/// POSTs the example application with `key` and returns status, replayed flag and raw bytes.
async fn submit_raw(host: &Host, key: &str) -> Result<(u16, bool, String)> {
    let resp = host
        .client
        .post(host.url("/api/applications"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(example_application()?.to_string())
        .send()
        .await?;
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    Ok((resp.status().as_u16(), replayed, resp.text().await?))
}

each_store! {
async fn i7_a_replay_is_the_first_response_byte_for_byte() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = std::sync::Arc::new(start(state.path()).await?);
    let (status, replayed, first) = submit_raw(&host, "K").await?;
    ensure!(status == 201 && !replayed, "{status} {first}");
    let first_json: Value = serde_json::from_str(&first)?;
    ensure!(first_json["status"] == "under_review", "{first}");
    let id = text(&first_json["id"]);

    // The operator accepts it: the application moves on, the first response does not.
    let accept =
        json!({ "decision": "accept", "reviewer": "Wang Fang", "technical_areas": ["IAF 33"] });
    let reviewed = host
        .operator(
            reqwest::Method::POST,
            &format!("/api/applications/{id}/review"),
            Some(&accept),
        )
        .await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    let (status, replayed, again) = submit_raw(&host, "K").await?;
    ensure!(status == 201 && replayed, "{status} {again}");
    ensure!(again == first, "replay differs:\n{again}\nfirst:\n{first}");

    // Concurrent requests with one key: every one, first or replay, answers the same bytes.
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            submit_raw(&host, "K-concurrent").await
        }));
    }
    let mut bodies = Vec::new();
    for task in tasks {
        let (status, _, body) = task.await??;
        ensure!(status == 201, "{status} {body}");
        bodies.push(body);
    }
    bodies.dedup();
    ensure!(bodies.len() == 1, "different replies: {bodies:#?}");
    ensure!(
        bodies[0].contains("\"status\":\"under_review\""),
        "{}",
        bodies[0]
    );
    ensure!(stored_applications(state.path()).await? == 2);
    Ok(())
}
}

/// Key of a store row: the SHA-256 of an Idempotency-Key, as intake names its records.
fn key_hash(key: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Puts a stored submission back in the state a kill -9 between intake's writes leaves: the
/// application stored but never screened, the key claimed, no idempotency record; `lease`:
/// the lease as the dead holder left it (`None`: it died before writing one).
async fn crash_between_the_writes(
    state: &Path,
    key: &str,
    id: &str,
    lease: Option<Value>,
) -> Result<()> {
    let db = stored_state(state)?;
    let base = format!("idempotency:{}", key_hash(key));
    db.delete("default", &base).await?;
    let lease_key = format!("{base}:lease");
    match lease {
        Some(lease) => {
            if db.exists("default", &lease_key).await? {
                db.set("default", &lease_key, lease.to_string().into_bytes())
                    .await?;
            }
        }
        None => db.delete("default", &lease_key).await?,
    };
    let app_key = format!("application:{id}");
    let stored = db
        .get("default", &app_key)
        .await?
        .with_context(|| format!("{app_key} is not stored"))?;
    let mut record: Value = serde_json::from_slice(&stored)?;
    let submitted = record["history"][0].clone();
    record["status"] = json!("submitted");
    record["history"] = json!([submitted]);
    if let Value::Object(members) = &mut record {
        members.remove("screening");
    }
    db.set("default", &app_key, record.to_string().into_bytes())
        .await?;
    ensure!(
        db.exists("default", &format!("{base}:claim")).await?,
        "the key's claim is not stored as {base}:claim"
    );
    Ok(())
}

each_store! {
async fn i7_a_retry_completes_a_submission_interrupted_between_its_writes() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let mut firsts = Vec::new();
    for key in ["died-before-its-lease", "died-holding-its-lease"] {
        let created = post_json(&host, &example_application()?, Some(key)).await?;
        ensure!(created.status == 201, "{}", created.body);
        firsts.push(created.body);
    }
    host.stop().await?;
    crash_between_the_writes(
        state.path(),
        "died-before-its-lease",
        &text(&firsts[0]["id"]),
        None,
    )
    .await?;
    let expired = json!({ "expires_at_ms": chrono::Utc::now().timestamp_millis() + 1_000,
                          "request_sha256": "", "nonce": "dead" });
    crash_between_the_writes(
        state.path(),
        "died-holding-its-lease",
        &text(&firsts[1]["id"]),
        Some(expired),
    )
    .await?;

    let host = start_with(state.path(), &[("claim_expiry_seconds", "2")]).await?;
    for (key, first) in ["died-before-its-lease", "died-holding-its-lease"]
        .iter()
        .zip(&firsts)
    {
        let started = std::time::Instant::now();
        let retried = loop {
            let retried = post_json(&host, &example_application()?, Some(key)).await?;
            if retried.status != 409 || started.elapsed() > Duration::from_secs(15) {
                break retried;
            }
        };
        ensure!(
            retried.status == 201,
            "{key}: {} {}",
            retried.status,
            retried.body
        );
        ensure!(
            started.elapsed() < Duration::from_secs(10),
            "{key}: {:?}",
            started.elapsed()
        );
        // The same application, completed: screened once, with the token first handed out.
        ensure!(retried.body["id"] == first["id"], "{key}: {}", retried.body);
        ensure!(retried.body["access_token"] == first["access_token"]);
        ensure!(retried.body["status"] == "under_review", "{}", retried.body);
        let id = text(&retried.body["id"]);
        let shown = read(&host, &id, Some(&text(&retried.body["access_token"]))).await?;
        ensure!(shown.status == 200, "{}", shown.body);
        let history = shown.body["history"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        ensure!(history.len() == 2, "{key}: {}", shown.body["history"]);
        // From now on the key replays.
        let again = post_json(&host, &example_application()?, Some(key)).await?;
        ensure!(again.status == 201 && again.body == retried.body);
        ensure!(again.headers.contains_key("idempotent-replayed"));
    }
    ensure!(stored_applications(state.path()).await? == 2);
    host.stop().await
}
}

/// The state directory the kill -9 test's child process serves (unset: a normal test run,
/// where [`child_host_for_the_kill_9_test`] returns at once).
const CHILD_STATE: &str = "CERTFLOW_KILL_9_CHILD_STATE";

/// Not a test of its own: the host process that
/// [`i7_retries_after_a_kill_9_under_load_make_one_application_per_key`] kills. That test runs
/// this test binary again with [`CHILD_STATE`] set; this then serves the app and never returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_host_for_the_kill_9_test() -> Result<()> {
    let Ok(state) = std::env::var(CHILD_STATE) else {
        return Ok(());
    };
    with_parent_store(async {
        let host = start_with(Path::new(&state), &[]).await?;
        println!("Serving {}", host.base);
        use std::io::Write as _;
        std::io::stdout().flush()?;
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    })
    .await
}

/// A child process that is killed (SIGKILL) when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

each_store! {
async fn i7_retries_after_a_kill_9_under_load_make_one_application_per_key() -> Result<()> {
    use std::io::BufRead as _;
    build_app_components()?;
    let state = tempfile::tempdir()?;
    let mut child = KillOnDrop(
        std::process::Command::new(std::env::current_exe()?)
            .args(["--exact", "intake::child_host_for_the_kill_9_test", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_STATE, state.path())
            .envs(store_env(state.path())?)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?,
    );
    let stdout = child.0.stdout.take().context("child stdout")?;
    // Read everything the child prints (its request log too, so it never blocks on a full
    // pipe); the first `Serving` line says where it listens.
    let (serving_tx, serving) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            // libtest prints `test <name> ... ` before it, on the same line.
            if let Some((_, base)) = line.split_once("Serving ") {
                let _ = serving_tx.send(base.trim().to_string());
            }
        }
    });
    let base = serving
        .recv_timeout(Duration::from_secs(120))
        .context("the child host never served")?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let keys: Vec<String> = (0..24).map(|i| format!("kill-9-key-{i}")).collect();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    for key in &keys {
        let (client, url, key, done) = (
            client.clone(),
            format!("{base}/api/applications"),
            key.clone(),
            done_tx.clone(),
        );
        let body = example_application()?.to_string();
        tokio::spawn(async move {
            let sent = client
                .post(url)
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(body)
                .send()
                .await;
            if let Err(e) = &sent {
                eprintln!("submission not answered: {e:?}");
            }
            let _ = done.send(sent.map(|r| r.status().as_u16()).ok());
        });
    }
    // kill -9 once the first answer is back, with the others in flight.
    let mut answered = 0;
    let mut statuses = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(status) = done_rx.recv().await {
            answered += usize::from(status == Some(201));
            statuses.push(status);
            if status == Some(201) {
                break;
            }
        }
    })
    .await;
    child.0.kill()?;
    child.0.wait()?;
    drop(done_tx);
    while let Some(status) = done_rx.recv().await {
        answered += usize::from(status == Some(201));
        statuses.push(status);
    }
    eprintln!("answers before and at the kill: {statuses:?}");
    // The kill hit the load: some submissions were still in flight.
    ensure!(
        answered < keys.len(),
        "every submission finished before the kill"
    );
    eprintln!(
        "kill -9 with {} of {} submissions unanswered",
        keys.len() - answered,
        keys.len()
    );

    let host = start_with(state.path(), &[("claim_expiry_seconds", "2")]).await?;
    let started = std::time::Instant::now();
    let mut ids = std::collections::BTreeSet::new();
    for key in &keys {
        let retried = loop {
            let retried = post_json(&host, &example_application()?, Some(key)).await?;
            if retried.status != 409 || started.elapsed() > Duration::from_secs(120) {
                break retried;
            }
        };
        ensure!(
            retried.status == 201,
            "{key}: {} {}",
            retried.status,
            retried.body
        );
        ids.insert(text(&retried.body["id"]));
    }
    // Every retry answered within the claim expiry plus the wait, not for ever.
    ensure!(
        started.elapsed() < Duration::from_secs(90),
        "{:?}",
        started.elapsed()
    );
    ensure!(
        ids.len() == keys.len(),
        "{} ids for {} keys",
        ids.len(),
        keys.len()
    );
    ensure!(
        stored_applications(state.path()).await? == keys.len() as i64,
        "not exactly one application per key"
    );
    host.stop().await
}
}

// ---- Findings of the adversarial run after issue 11 (same kinds, more places) ----

/// The example application as form fields plus `extra` raw `name=value` text.
fn form_with(extra: &str) -> Result<String> {
    let pairs = certflow_domain::intake::form::encode(&example_application()?);
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Ok(format!("{body}&{extra}"))
}

async fn post_form(host: &Host, body: String, key: Option<&str>) -> Result<Reply> {
    let mut req = host
        .client
        .post(host.url("/api/applications"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    reply(req).await
}

each_store! {
async fn i7_a_form_key_sent_twice_or_unlike_the_header_is_refused() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    // Two keys in one form: which would a retry send?
    let twice = post_form(
        &host,
        form_with("idempotency_key=A&idempotency_key=B")?,
        None,
    )
    .await?;
    ensure!(twice.status == 400, "{}", twice.body);
    ensure!(twice.body["detail"].to_string().contains("idempotency_key"));
    // The header and the field disagree.
    let unlike = post_form(&host, form_with("idempotency_key=kf")?, Some("kh")).await?;
    ensure!(unlike.status == 400, "{}", unlike.body);
    ensure!(
        unlike.body["type"]
            .to_string()
            .contains("ambiguous-idempotency-key")
    );
    ensure!(stored_applications(state.path()).await? == 0);
    // The same key in both places is one key.
    let same = post_form(&host, form_with("idempotency_key=k1")?, Some("k1")).await?;
    ensure!(same.status == 201, "{}", same.body);
    host.stop().await
}
}

each_store! {
async fn i1_a_form_value_that_is_not_utf8_or_not_a_json_number_is_not_read_silently() -> Result<()>
{
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    // `Li %FF Wei` would be stored as "Li \u{FFFD} Wei".
    let body = form_with("x=1")?.replace("contact.name=Li+Wei", "contact.name=Li+%FF+Wei");
    ensure!(body.contains("%FF"), "fixture changed: {body}");
    let latin1 = post_form(&host, body.replace("&x=1", ""), None).await?;
    ensure!(latin1.status == 400, "{}", latin1.body);
    ensure!(latin1.body["detail"].to_string().contains("contact.name"));
    // `+120` is not a JSON number: reported at its field, as in a JSON body.
    let body = form_with("x=1")?
        .replace("&x=1", "")
        .replace("personnel.full_time=120", "personnel.full_time=%2B120");
    ensure!(body.contains("%2B120"), "fixture changed");
    let plus = post_form(&host, body, None).await?;
    ensure!(plus.status == 422, "{}", plus.body);
    ensure!(
        plus.body["errors"][0]["field"] == "/sites/0/personnel/full_time",
        "{}",
        plus.body
    );
    ensure!(stored_applications(state.path()).await? == 0);
    host.stop().await
}
}

each_store! {
async fn r3_an_application_read_without_a_usable_credential_is_401() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let created = post_json(&host, &example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let url = host.url(&format!("/api/applications/{}", text(&created.body["id"])));
    for authorization in ["Bearer", "Bearer ", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", ""] {
        let read = reply(host.client.get(&url).header("authorization", authorization)).await?;
        ensure!(read.status == 401, "{authorization:?}: {}", read.body);
        ensure!(read.headers.contains_key("www-authenticate"));
    }
    host.stop().await
}
}

each_store! {
async fn r3_a_short_server_secret_is_refused_not_used() -> Result<()> {
    let state = tempfile::tempdir()?;
    // A 1-byte secret would let anyone search the token offline from one id.
    let host = start_with(state.path(), &[("server_secret", "a")]).await?;
    let refused = post_json(&host, &example_application()?, Some("k")).await?;
    ensure!(refused.status == 503, "{}", refused.body);
    ensure!(refused.body["detail"].to_string().contains("32"));
    host.stop().await?;
    ensure!(stored_applications(state.path()).await? == 0);
    Ok(())
}
}
