//! The local host against Spin's behaviour, through the probe test component: routing and
//! headers, key-value semantics and durability, variables, outbound rules and chaining, and
//! failure isolation. Each scenario has its own manifest under `tests/scenarios/`.

use anyhow::{Context, Result, ensure};
use certflow_tests::{Host, Start, build_test_components, scenario};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

async fn start(name: &str) -> Result<(tempfile::TempDir, Host)> {
    start_with(name, &Start::default()).await
}

async fn start_with(name: &str, options: &Start) -> Result<(tempfile::TempDir, Host)> {
    build_test_components()?;
    let state = tempfile::tempdir()?;
    let host = Host::start(&scenario(name), state.path(), options).await?;
    Ok((state, host))
}

async fn headers_of(host: &Host, path: &str) -> Result<Value> {
    let (status, body) = host.get(path).await?;
    ensure!(status == 200, "{path}: {status} {body}");
    let json: Value = serde_json::from_str(&body)?;
    Ok(json["headers"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_and_unrouted_paths_are_404() -> Result<()> {
    // `headers` has a catch-all `/...`: Spin's reserved paths are answered before routing.
    let (_state, host) = start("headers").await?;
    let (status, body) = host.get("/.well-known/spin/health").await?;
    ensure!(status == 200 && body == "OK", "{status} {body}");
    let (_state2, chaining) = start("chaining").await?;
    let (status, _) = chaining.get("/nowhere").await?;
    ensure!(status == 404, "unrouted path gave {status}");
    chaining.stop().await?;
    let (status, body) = host.get("/.well-known/spin/info").await?;
    ensure!(
        status == 200 && body.contains("build_info"),
        "{status} {body}"
    );
    let (status, _) = host.get("/.well-known/spin/other").await?;
    ensure!(status == 404, "reserved path gave {status}");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spin_headers_for_exact_wildcard_and_parameter_routes() -> Result<()> {
    let (_state, host) = start("headers").await?;

    let exact = headers_of(&host, "/exact/headers?q=1").await?;
    ensure!(exact["spin-matched-route"] == "/exact/headers", "{exact}");
    ensure!(
        exact["spin-raw-component-route"] == "/exact/headers",
        "{exact}"
    );
    ensure!(exact["spin-component-route"] == "/exact/headers", "{exact}");
    ensure!(exact["spin-path-info"] == "", "{exact}");
    ensure!(exact["spin-base-path"] == "/", "{exact}");
    ensure!(
        exact["spin-full-url"] == format!("{}/exact/headers?q=1", host.base),
        "{exact}"
    );
    let client = exact["spin-client-addr"].as_str().unwrap_or_default();
    ensure!(client.starts_with("127.0.0.1:"), "{exact}");

    let wild = headers_of(&host, "/static/css/site/headers").await?;
    ensure!(wild["spin-matched-route"] == "/static/...", "{wild}");
    ensure!(wild["spin-raw-component-route"] == "/static/...", "{wild}");
    ensure!(wild["spin-component-route"] == "/static", "{wild}");
    ensure!(wild["spin-path-info"] == "/css/site/headers", "{wild}");

    let param = headers_of(&host, "/users/42/headers").await?;
    ensure!(
        param["spin-matched-route"] == "/users/:user_id/:op",
        "{param}"
    );
    ensure!(param["spin-path-match-user-id"] == "42", "{param}");
    ensure!(param["spin-path-match-op"] == "headers", "{param}");
    ensure!(param["spin-path-info"] == "", "{param}");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longest_match_wins_over_the_catch_all_regardless_of_order() -> Result<()> {
    // The manifest declares the catch-all `/...` first.
    let (_state, host) = start("headers").await?;
    let exact = headers_of(&host, "/exact/headers").await?;
    ensure!(exact["spin-matched-route"] == "/exact/headers", "{exact}");
    let other = headers_of(&host, "/exact/other/headers").await?;
    ensure!(other["spin-matched-route"] == "/...", "{other}");
    ensure!(other["spin-path-info"] == "/exact/other/headers", "{other}");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_value_survives_a_host_restart() -> Result<()> {
    build_test_components()?;
    let state = tempfile::tempdir()?;
    let host = Host::start(&scenario("kv"), state.path(), &Start::default()).await?;
    let (status, _) = host.send(Method::PUT, "/kv/greeting", "hello").await?;
    ensure!(status == 200);
    let (status, _) = host.send(Method::POST, "/incr/visits?delta=3", "").await?;
    ensure!(status == 200);
    host.stop().await?;

    let host = Host::start(&scenario("kv"), state.path(), &Start::default()).await?;
    let (status, body) = host.get("/kv/greeting").await?;
    ensure!(status == 200 && body == "hello", "{status} {body}");
    let (_, body) = host.send(Method::POST, "/incr/visits", "").await?;
    ensure!(body == "4", "counter after restart: {body}");
    // Spin's own table shape, so the same state directory works under `spin up`.
    let db = state.path().join("sqlite_key_value.db");
    ensure!(is_nonempty_file(&db)?, "{} missing", db.display());
    host.stop().await
}

fn is_nonempty_file(path: &std::path::Path) -> Result<bool> {
    Ok(path.is_file() && std::fs::metadata(path)?.len() > 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_value_get_set_delete_exists_and_keys() -> Result<()> {
    let (_state, host) = start("kv").await?;
    ensure!(host.get("/kv/a").await?.0 == 404);
    ensure!(host.send(Method::PUT, "/kv/a", "1").await?.0 == 200);
    ensure!(host.send(Method::PUT, "/kv/b", "2").await?.0 == 200);
    ensure!(host.send(Method::HEAD, "/kv/a", "").await?.0 == 200);
    let (_, keys) = host.get("/keys").await?;
    ensure!(keys == r#"["a","b"]"#, "{keys}");
    ensure!(host.send(Method::DELETE, "/kv/a", "").await?.0 == 200);
    ensure!(host.send(Method::HEAD, "/kv/a", "").await?.0 == 404);
    ensure!(host.get("/kv/b").await? == (200, "2".to_string()));
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_increments_give_exactly_two_hundred() -> Result<()> {
    let (_state, host) = start("kv").await?;
    let host = std::sync::Arc::new(host);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            host.send(Method::POST, "/incr/counter", "").await
        }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        let (status, body) = task.await??;
        ensure!(status == 200, "{status} {body}");
        seen.push(body.parse::<i64>()?);
    }
    seen.sort_unstable();
    // Every increment saw a distinct value: none was lost or applied twice.
    ensure!(
        seen == (1..=200).collect::<Vec<_>>(),
        "values seen: {seen:?}"
    );
    let (_, last) = host.send(Method::POST, "/incr/counter?delta=0", "").await?;
    ensure!(last == "200", "final counter {last}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_swap_detects_a_conflicting_write() -> Result<()> {
    let (_state, host) = start("kv").await?;
    let (status, body) = host.get("/cas-conflict/doc").await?;
    ensure!(status == 409, "{status} {body}");
    ensure!(body.contains("retry saw 'other writer'"), "{body}");
    ensure!(host.get("/kv/doc").await? == (200, "mine".to_string()));
    // A plain read-then-swap with no interference succeeds.
    let (status, body) = host.send(Method::POST, "/cas/doc", "next").await?;
    ensure!(status == 200 && body == "swapped", "{status} {body}");
    ensure!(host.get("/kv/doc").await? == (200, "next".to_string()));
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_set_get_and_delete_many() -> Result<()> {
    let (_state, host) = start("kv").await?;
    let (status, _) = host
        .send(Method::POST, "/batch", r#"{"x":"1","y":"2"}"#)
        .await?;
    ensure!(status == 200);
    let (_, got) = host.get("/batch?keys=x,y,z").await?;
    let got: Value = serde_json::from_str(&got)?;
    ensure!(
        got == serde_json::json!({"x": "1", "y": "2", "z": null}),
        "{got}"
    );
    ensure!(host.send(Method::DELETE, "/batch?keys=x,y", "").await?.0 == 200);
    ensure!(host.get("/keys").await?.1 == "[]");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_not_in_key_value_stores_is_access_denied() -> Result<()> {
    let (_state, host) = start("kv").await?;
    let (status, body) = host.get("/open/other").await?;
    ensure!(
        status == 403 && body.contains("AccessDenied"),
        "{status} {body}"
    );
    // A component with no key_value_stores at all may not open `default` either.
    let (_state2, chaining) = start("chaining").await?;
    let (status, body) = chaining.get("/lonely/open/default").await?;
    ensure!(
        status == 403 && body.contains("AccessDenied"),
        "{status} {body}"
    );
    chaining.stop().await?;
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_resolve_defaults_templates_and_provided_secrets() -> Result<()> {
    let mut variables = BTreeMap::new();
    variables.insert("api_token".to_string(), "s3cret".to_string());
    let (_state, host) = start_with(
        "variables",
        &Start {
            variables,
            ..Start::default()
        },
    )
    .await?;
    ensure!(host.get("/vars/message").await? == (200, "hello, world".to_string()));
    ensure!(host.get("/vars/token").await? == (200, "s3cret".to_string()));
    // Application variables the component does not map are undefined for it.
    let (status, body) = host.get("/vars/greeting").await?;
    ensure!(
        status == 404 && body.contains("Undefined"),
        "{status} {body}"
    );
    let (status, body) = host.get("/vars/Not-A-Name").await?;
    ensure!(
        status == 404 && body.contains("InvalidName"),
        "{status} {body}"
    );
    ensure!(host.get("/env/PROBE_MODE").await? == (200, "variables".to_string()));
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_variable_without_a_value_stops_start_up() -> Result<()> {
    build_test_components()?;
    let state = tempfile::tempdir()?;
    let err = match Host::start(&scenario("variables"), state.path(), &Start::default()).await {
        Ok(host) => {
            host.stop().await?;
            anyhow::bail!("the host started without api_token");
        }
        Err(e) => format!("{e:#}"),
    };
    ensure!(err.contains("variables/spin.toml"), "{err}");
    ensure!(err.contains("api_token"), "{err}");
    ensure!(err.contains("SPIN_VARIABLE_API_TOKEN"), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaining_reaches_a_private_component_in_process() -> Result<()> {
    let (_state, host) = start("chaining").await?;
    // `back` has no public route...
    let (status, _) = host.get("/back/headers").await?;
    ensure!(
        status == 404,
        "private component reachable publicly: {status}"
    );
    // ...but `front` reaches it through http://back.spin.internal.
    let (status, body) = host.get("/front/chain/back/some/headers").await?;
    ensure!(status == 200, "{status} {body}");
    let seen: Value = serde_json::from_str(&body)?;
    let headers = &seen["headers"];
    ensure!(headers["spin-client-addr"] == "0.0.0.0:0", "{seen}");
    ensure!(headers["spin-path-info"] == "/some/headers", "{seen}");
    ensure!(seen["path"] == "/some/headers", "{seen}");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_requests_to_unlisted_hosts_are_refused() -> Result<()> {
    let (_state, host) = start("chaining").await?;
    // `lonely` lists no outbound hosts: chaining is refused like any other host.
    let (status, body) = host.get("/lonely/chain/back/headers").await?;
    ensure!(
        status == 502 && body.contains("HttpRequestDenied"),
        "{status} {body}"
    );
    // `front` may reach `back` only, not the network.
    let (status, body) = host.get("/front/fetch?url=http://127.0.0.1:9/").await?;
    ensure!(
        status == 502 && body.contains("HttpRequestDenied"),
        "{status} {body}"
    );
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_gets_a_500_and_the_next_request_succeeds() -> Result<()> {
    let (_state, host) = start("kv").await?;
    let (status, _) = host.get("/trap").await?;
    ensure!(status == 500, "trap gave {status}");
    ensure!(host.send(Method::PUT, "/kv/after", "ok").await?.0 == 200);
    ensure!(host.get("/kv/after").await? == (200, "ok".to_string()));
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_request_is_stopped_and_the_host_keeps_serving() -> Result<()> {
    let (_state, host) = start_with(
        "kv",
        &Start {
            request_timeout: Some(Duration::from_secs(1)),
            ..Start::default()
        },
    )
    .await?;
    let started = std::time::Instant::now();
    let (status, _) = host.get("/spin-forever").await?;
    ensure!(status == 500, "runaway request gave {status}");
    ensure!(
        started.elapsed() < Duration::from_secs(20),
        "the runaway request was not interrupted"
    );
    ensure!(host.get("/kv/x").await?.0 == 404);
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_finishes_in_flight_requests() -> Result<()> {
    let (_state, host) = start("kv").await?;
    let url = host.url("/sleep/700");
    let client = host.client.clone();
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    host.stop().await?;
    let resp = in_flight
        .await?
        .context("the in-flight request was cut off")?;
    ensure!(
        resp.status().as_u16() == 200,
        "in-flight request gave {}",
        resp.status()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_errors_name_the_file_the_component_and_the_key() -> Result<()> {
    build_test_components()?;
    let dir = tempfile::tempdir()?;
    let manifest = dir.path().join("spin.toml");
    let base = r#"spin_manifest_version = 2
[application]
name = "broken"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
"#;
    let cases = [
        (
            "source = \"missing.wasm\"\n",
            vec!["spin.toml", "component.web", "source", "missing.wasm"],
        ),
        (
            &*format!(
                "source = \"{}\"\nkey_value_stores = [\"cache\"]\n",
                certflow_tests::root()
                    .join("tests/components/target/wasm32-wasip2/release/probe.wasm")
                    .display()
            ),
            vec!["spin.toml", "component.web", "key_value_stores", "cache"],
        ),
        (
            "source = \"x.wasm\"\nallowed_outbound_hosts = [\"ftp//nope\"]\n",
            vec!["spin.toml", "component.web", "allowed_outbound_hosts"],
        ),
        (
            "source = \"x.wasm\"\nkey_value_store = [\"default\"]\n",
            vec!["spin.toml", "key_value_store"],
        ),
    ];
    for (component, expected) in cases {
        std::fs::write(&manifest, format!("{base}{component}"))?;
        let err = match Host::start(&manifest, dir.path(), &Start::default()).await {
            Ok(host) => {
                host.stop().await?;
                anyhow::bail!("started with {component}");
            }
            Err(e) => format!("{e:#}"),
        };
        for word in expected {
            ensure!(
                err.contains(word),
                "error for {component:?} lacks `{word}`: {err}"
            );
        }
    }
    Ok(())
}
