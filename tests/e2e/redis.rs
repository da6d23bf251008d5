//! The host's Redis key-value backend against a real `redis-server`: Spin 4.0.2's commands and
//! encodings, a correct compare-and-swap, two hosts sharing one server, Redis down and
//! restarted; then through the probe component, and two `certflow` processes on one Redis.

use anyhow::{Result, ensure};
use certflow_tests::processes::HostProcesses;
use certflow_tests::{
    Host, RedisServer, Start, build_test_components, example_application, reply, scenario,
};
use reqwest::Method;
use spin_host::kv::redis::{OP_TIMEOUT, RedisStore};
use spin_host::kv::{KvStore, SwapOutcome};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn server_and_store() -> Result<(RedisServer, Arc<RedisStore>)> {
    let server = RedisServer::start().await?;
    let store = RedisStore::new(&server.url())?;
    Ok((server, store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_get_delete_exists_keys_and_batches() -> Result<()> {
    let (_server, store) = server_and_store().await?;
    ensure!(store.get("default", "a").await?.is_none());
    store.set("default", "a", b"1".to_vec()).await?;
    store.set("default", "b", vec![0, 255]).await?;
    ensure!(store.get("default", "a").await? == Some(b"1".to_vec()));
    ensure!(store.get("default", "b").await? == Some(vec![0, 255]));
    ensure!(store.exists("default", "a").await?);
    // Labels share the keyspace, as in Spin.
    ensure!(store.get("other-label", "a").await? == Some(b"1".to_vec()));
    let mut keys = store.keys("default").await?;
    keys.sort();
    ensure!(keys == ["a", "b"], "{keys:?}");
    store.delete("default", "a").await?;
    ensure!(!store.exists("default", "a").await?);
    store
        .set_many(
            "default",
            vec![("x".into(), b"X".to_vec()), ("y".into(), b"Y".to_vec())],
        )
        .await?;
    let got = store
        .get_many("default", &["x".into(), "absent".into(), "y".into()])
        .await?;
    ensure!(
        got == vec![
            ("x".to_string(), Some(b"X".to_vec())),
            ("absent".to_string(), None),
            ("y".to_string(), Some(b"Y".to_vec()))
        ],
        "{got:?}"
    );
    store
        .delete_many("default", vec!["x".into(), "y".into()])
        .await?;
    ensure!(store.keys("default").await? == ["b"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increment_is_incrby_and_reads_back_as_a_decimal_string() -> Result<()> {
    let (_server, store) = server_and_store().await?;
    ensure!(store.increment("default", "n", 5).await? == 5);
    ensure!(store.increment("default", "n", -7).await? == -2);
    ensure!(store.get("default", "n").await? == Some(b"-2".to_vec()));
    // INCRBY refuses a value that is not an integer: a store error, the value untouched.
    store.set("default", "text", b"hello".to_vec()).await?;
    ensure!(store.increment("default", "text", 1).await.is_err());
    ensure!(store.get("default", "text").await? == Some(b"hello".to_vec()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_swap_stores_or_reports_the_conflict() -> Result<()> {
    let (_server, store) = server_and_store().await?;
    // Success on an absent key, then on a present one.
    let mut cas = store.new_cas("default", "doc").await?;
    ensure!(cas.current().await?.is_none());
    ensure!(cas.swap(b"v1".to_vec()).await? == SwapOutcome::Stored);
    let mut cas = store.new_cas("default", "doc").await?;
    ensure!(cas.current().await? == Some(b"v1".to_vec()));
    ensure!(cas.swap(b"v2".to_vec()).await? == SwapOutcome::Stored);
    ensure!(store.get("default", "doc").await? == Some(b"v2".to_vec()));
    // A second writer between current() and swap(): the swap is refused, the writer's value
    // stays. Several rounds, so pooled connections are reused (their watch reset).
    for round in 0..5 {
        let mut cas = store.new_cas("default", "doc").await?;
        let seen = cas.current().await?;
        store
            .set("default", "doc", format!("writer {round}").into_bytes())
            .await?;
        ensure!(cas.swap(b"mine".to_vec()).await? == SwapOutcome::Conflict);
        ensure!(store.get("default", "doc").await? == Some(format!("writer {round}").into_bytes()));
        drop(cas);
        // A fresh handle on a reused connection is not disturbed by the earlier watch.
        let mut cas = store.new_cas("default", "doc").await?;
        ensure!(cas.current().await? != seen);
        ensure!(cas.swap(b"mine".to_vec()).await? == SwapOutcome::Stored);
    }
    // Two handles racing: exactly one wins.
    let mut first = store.new_cas("default", "race").await?;
    let mut second = store.new_cas("default", "race").await?;
    first.current().await?;
    second.current().await?;
    ensure!(first.swap(b"first".to_vec()).await? == SwapOutcome::Stored);
    ensure!(second.swap(b"second".to_vec()).await? == SwapOutcome::Conflict);
    ensure!(store.get("default", "race").await? == Some(b"first".to_vec()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_from_two_hosts_are_atomic() -> Result<()> {
    let (server, first) = server_and_store().await?;
    let second = RedisStore::new(&server.url())?;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store: Arc<dyn KvStore> = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            store.increment("default", "counter", 1).await
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await??);
    }
    seen.sort_unstable();
    ensure!(seen == (1..=200).collect::<Vec<i64>>());
    ensure!(first.get("default", "counter").await? == Some(b"200".to_vec()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_a_store_error_then_a_restart_resumes_with_the_data_kept() -> Result<()> {
    let (mut server, store) = server_and_store().await?;
    store
        .set("default", "kept", b"acknowledged".to_vec())
        .await?;
    ensure!(store.increment("default", "n", 3).await? == 3);
    let mut cas = store.new_cas("default", "kept").await?;
    cas.current().await?;

    server.stop();
    let started = Instant::now();
    let failed = store.get("default", "kept").await;
    ensure!(failed.is_err(), "a read with Redis down gave {failed:?}");
    ensure!(store.set("default", "lost", b"x".to_vec()).await.is_err());
    ensure!(cas.swap(b"x".to_vec()).await.is_err());
    ensure!(store.new_cas("default", "kept").await.is_err());
    ensure!(
        started.elapsed() < OP_TIMEOUT * 4 + Duration::from_secs(2),
        "errors took {:?}",
        started.elapsed()
    );

    server.restart().await?;
    // The shared connection reconnects: service resumes within a few attempts.
    let deadline = Instant::now() + Duration::from_secs(20);
    let value = loop {
        match store.get("default", "kept").await {
            Ok(v) => break v,
            Err(e) if Instant::now() < deadline => {
                eprintln!("after restart: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    ensure!(value == Some(b"acknowledged".to_vec()));
    ensure!(store.increment("default", "n", 1).await? == 4);
    let mut cas = store.new_cas("default", "kept").await?;
    cas.current().await?;
    ensure!(cas.swap(b"after".to_vec()).await? == SwapOutcome::Stored);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_that_never_answers_is_a_store_error_within_the_timeout() -> Result<()> {
    // A listener that accepts and never replies: a hung Redis.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let store = RedisStore::new(&format!("redis://127.0.0.1:{port}"))?;
    let started = Instant::now();
    ensure!(store.get("default", "k").await.is_err());
    ensure!(store.new_cas("default", "k").await.is_err());
    ensure!(
        started.elapsed() < OP_TIMEOUT * 2 + Duration::from_secs(2),
        "errors took {:?}",
        started.elapsed()
    );
    hold.abort();
    Ok(())
}

/// The probe component on a host whose runtime config chooses Redis.
async fn probe_on_redis(server: &RedisServer) -> Result<(tempfile::TempDir, Host)> {
    build_test_components()?;
    let state = tempfile::tempdir()?;
    let config = state.path().join("runtime-config.toml");
    std::fs::write(&config, server.runtime_config())?;
    let host = Host::start(
        &scenario("kv"),
        state.path(),
        &Start {
            runtime_config: Some(config),
            ..Start::default()
        },
    )
    .await?;
    Ok((state, host))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_component_runs_on_redis_through_the_runtime_config() -> Result<()> {
    let server = RedisServer::start().await?;
    let (_state, host) = probe_on_redis(&server).await?;
    ensure!(host.send(Method::PUT, "/kv/greeting", "hello").await?.0 == 200);
    ensure!(host.get("/kv/greeting").await? == (200, "hello".to_string()));
    ensure!(host.get("/incr/hits?delta=2").await? == (200, "2".to_string()));
    ensure!(host.get("/incr/hits?delta=3").await? == (200, "5".to_string()));
    // Spin's Redis encoding: the counter is the decimal string.
    ensure!(host.get("/kv/hits").await? == (200, "5".to_string()));
    ensure!(host.send(Method::POST, "/cas/doc", "mine").await? == (200, "swapped".to_string()));
    let (status, body) = host.get("/cas-conflict/race").await?;
    ensure!(
        status == 409 && body == "conflict detected; retry saw 'other writer' and swapped",
        "{status} {body}"
    );
    ensure!(host.get("/kv/race").await? == (200, "mine".to_string()));
    ensure!(
        host.send(Method::POST, "/batch", r#"{"p":"P","q":"Q"}"#)
            .await?
            .0
            == 200
    );
    let (status, body) = host.get("/batch?keys=p,q,none").await?;
    let got: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(
        status == 200 && got == serde_json::json!({"p": "P", "q": "Q", "none": null}),
        "{status} {body}"
    );
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_certflow_processes_share_one_redis() -> Result<()> {
    let server = RedisServer::start().await?;
    let hosts = HostProcesses::start(&server, 2, &[]).await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let submitted = reply(
        client
            .post(format!("{}/api/applications", hosts.bases[0]))
            .header("content-type", "application/json")
            .header("idempotency-key", "two-processes")
            .body(example_application()?.to_string()),
    )
    .await?;
    ensure!(submitted.status == 201, "{}", submitted.body);
    let location = submitted
        .headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    let Some(location) = location else {
        anyhow::bail!("no Location in {:?}", submitted.headers);
    };
    // The other process reads it, and a replay there finds the same application.
    let read = reply(
        client
            .get(format!("{}{location}", hosts.bases[1]))
            .bearer_auth(certflow_tests::OPERATOR_TOKEN),
    )
    .await?;
    ensure!(read.status == 200, "{} {}", read.status, read.body);
    let replayed = reply(
        client
            .post(format!("{}/api/applications", hosts.bases[1]))
            .header("content-type", "application/json")
            .header("idempotency-key", "two-processes")
            .body(example_application()?.to_string()),
    )
    .await?;
    ensure!(
        replayed.status < 300
            && replayed.headers.get("location") == submitted.headers.get("location"),
        "{} {}",
        replayed.status,
        replayed.body
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_redis_url_stops_start_up_naming_the_file_and_the_label() -> Result<()> {
    build_test_components()?;
    let state = tempfile::tempdir()?;
    let config = state.path().join("runtime-config.toml");
    std::fs::write(
        &config,
        "[key_value_store.default]\ntype = \"redis\"\nurl = \"http://not-redis:6379\"\n",
    )?;
    let started = Host::start(
        &scenario("kv"),
        state.path(),
        &Start {
            runtime_config: Some(config.clone()),
            ..Start::default()
        },
    )
    .await;
    let err = match started {
        Ok(host) => {
            host.stop().await?;
            anyhow::bail!("a host started with an http:// Redis URL");
        }
        Err(e) => format!("{e:#}"),
    };
    ensure!(
        err.contains(&config.display().to_string())
            && err.contains("[key_value_store.default]")
            && err.contains("Invalid Redis URL"),
        "{err}"
    );
    Ok(())
}
