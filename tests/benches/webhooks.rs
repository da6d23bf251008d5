//! The outbound webhooks benchmark (issue 13): how many events per second one dispatcher
//! delivers to the local receiver (`harness/receiver.rs`, answering 200 at once and checking
//! every signature with `standardwebhooks`), through the real `spin.toml` on the local host.
//!
//! 1. Backlog: `WEBHOOK_WORKFLOWS` workflows (8 events each) run while the receiver answers
//!    503, so their deliveries queue up (each tried once, by the chained call); then the
//!    receiver answers 200 and `POST /api/webhooks/dispatch` is called, one call at a time (one
//!    dispatcher), until every event is delivered: events/s = events / time to drain.
//! 2. Live: `WEBHOOK_CLIENTS` concurrent workflow loops for `WEBHOOK_SECONDS`, without and
//!    with one subscription to every event (the receiver answering 200), twice, alternately:
//!    workflows/s and p50/p99 of each, the events delivered by the chained calls alone (until
//!    nothing arrives for 2 s) and how many were left to the dispatcher (announcements notify
//!    refused with 503 under contention).
//!
//! It measures and prints; it asserts only that every event arrives, signed.
//!
//! `cargo bench -p certflow-tests --bench webhooks`. Environment: `WEBHOOK_WORKFLOWS=100`,
//! `WEBHOOK_CLIENTS=4`, `WEBHOOK_SECONDS=10` (one run), `WEBHOOK_STORE=sqlite` (or `redis`: a
//! `redis-server` the bench starts, `appendfsync always`), `WEBHOOK_STATE_IN=/dev/shm` to keep
//! SQLite on tmpfs.

use anyhow::{Context, Result, bail, ensure};
use certflow_tests::receiver::{Answer, Delivery, Receiver};
use certflow_tests::workflow::{certify, register_people};
use certflow_tests::{Host, Store, start_app_with, with_store};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The events one workflow ([`certify`]) makes: submitted, screened, reviewed, remote audit
/// assessed, two audits, the decision and the certificate.
const EVENTS_PER_WORKFLOW: usize = 8;

fn env_number(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}: {v}")),
        Err(_) => Ok(default),
    }
}

/// The `q` quantile (nearest rank) of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The distinct webhook-ids the receiver answered 200 at `path`.
fn delivered(got: &[Delivery], path: &str) -> usize {
    got.iter()
        .filter(|d| d.path == path && d.answer == Answer::Status(200))
        .filter_map(|d| d.header("webhook-id"))
        .collect::<BTreeSet<_>>()
        .len()
}

/// Subscribes `url` to every event; returns the secret.
async fn subscribe(host: &Host, url: &str) -> Result<String> {
    let body = json!({ "url": url, "events": ["*"], "description": "benchmark" });
    let created = host
        .operator(Method::POST, "/api/webhooks", Some(&body))
        .await?;
    ensure!(created.status == 201, "{}", created.body);
    Ok(created.body["secret"]
        .as_str()
        .context("secret")?
        .to_string())
}

#[tokio::main]
async fn main() -> Result<()> {
    let store = std::env::var("WEBHOOK_STORE").unwrap_or_else(|_| "sqlite".into());
    println!("store: {store}");
    match store.as_str() {
        "sqlite" => bench().await,
        "redis" => with_store(Store::Redis, bench()).await,
        other => bail!("WEBHOOK_STORE: `{other}` is not sqlite or redis"),
    }
}

async fn bench() -> Result<()> {
    let workflows = env_number("WEBHOOK_WORKFLOWS", 100)? as usize;
    let clients = env_number("WEBHOOK_CLIENTS", 4)? as usize;
    let seconds = Duration::from_secs(env_number("WEBHOOK_SECONDS", 10)?);
    let state = match std::env::var("WEBHOOK_STATE_IN") {
        Ok(dir) => tempfile::tempdir_in(dir)?,
        Err(_) => tempfile::tempdir()?,
    };
    // Plenty of 1 s retries, so no delivery runs out of attempts while the backlog builds.
    let host = start_app_with(
        state.path(),
        Duration::ZERO,
        &[
            ("webhook_outbound_host_http", "http://127.0.0.1:*"),
            ("webhook_trusted_hosts", "127.0.0.1"),
            ("webhook_retry_seconds", "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"),
            ("webhook_timeout_seconds", "10"),
        ],
    )
    .await?;
    let receiver = Receiver::start().await?;
    register_people(&host).await?;
    // Warm-up: every component instantiated once.
    certify(&host, &mut Vec::new()).await?;

    // 1. Backlog drained by one dispatcher.
    let path = "/backlog";
    receiver.always(path, Answer::Status(503))?;
    let secret = subscribe(&host, &receiver.url(path)).await?;
    receiver.expect_secrets(path, &[&secret])?;
    let started = Instant::now();
    for _ in 0..workflows {
        certify(&host, &mut Vec::new()).await?;
    }
    let events = workflows * EVENTS_PER_WORKFLOW;
    println!(
        "backlog: {workflows} workflows ({events} events) made in {:.1} s while the receiver answered 503",
        started.elapsed().as_secs_f64()
    );
    // Every first attempt has failed by now and its 1 s wait has passed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    receiver.always(path, Answer::Status(200))?;
    let started = Instant::now();
    let mut calls = 0;
    let mut call_times = Vec::new();
    while delivered(&receiver.deliveries()?, path) < events {
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "only {} of {events} events delivered in 600 s",
                delivered(&receiver.deliveries()?, path)
            );
        }
        let call = Instant::now();
        let report = host
            .operator(Method::POST, "/api/webhooks/dispatch", None)
            .await?;
        ensure!(report.status == 200, "{}", report.body);
        call_times.push(call.elapsed());
        calls += 1;
        if report.body["attempted"] == 0 {
            // Nothing due yet (a retry wait still running): wait for it rather than spin.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let drained = started.elapsed();
    let got = receiver.deliveries_to(path)?;
    let unsigned = got
        .iter()
        .filter(|d| d.answer == Answer::Status(200) && d.verified.is_err())
        .count();
    ensure!(unsigned == 0, "{unsigned} deliveries failed verification");
    call_times.sort();
    println!(
        "  drained by one dispatcher: {events} events in {:.2} s = {:.1} events/s ({calls} dispatch calls, p50 {:.0} ms, max {:.0} ms)",
        drained.as_secs_f64(),
        events as f64 / drained.as_secs_f64(),
        quantile(&call_times, 0.5).as_secs_f64() * 1e3,
        call_times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    // The backlog's subscription removed, so the live part measures its own.
    remove_subscriptions(&host).await?;

    // 2. Live: the workflow loops without and with a subscription, alternately (the machine
    // is shared: alternating spreads its load over both).
    println!("live: {clients} concurrent workflow loops, {seconds:?} a run");
    for round in 1..=2 {
        let without = loops(&host, clients, seconds).await?;
        report(&format!("no subscription ({round})"), &without, seconds);
        let path = format!("/live-{round}");
        let path = path.as_str();
        let secret = subscribe(&host, &receiver.url(path)).await?;
        receiver.expect_secrets(path, &[&secret])?;
        let started = Instant::now();
        let with = loops(&host, clients, seconds).await?;
        report(&format!("one subscription ({round})"), &with, seconds);
        let events = with.len() * EVENTS_PER_WORKFLOW;
        // Chained delivery alone: until nothing more arrives for 2 s.
        let mut seen = delivered(&receiver.deliveries()?, path);
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let now = delivered(&receiver.deliveries()?, path);
            if now == seen || now >= events {
                seen = now;
                break;
            }
            seen = now;
        }
        let chained = started.elapsed();
        // The rest (announcements notify refused under contention) by the dispatcher.
        let mut calls = 0;
        while delivered(&receiver.deliveries()?, path) < events {
            if calls >= 100 {
                bail!(
                    "{} of {} live events delivered after 100 dispatch calls",
                    delivered(&receiver.deliveries()?, path),
                    events
                );
            }
            let report = host
                .operator(Method::POST, "/api/webhooks/dispatch", None)
                .await?;
            ensure!(report.status == 200, "{}", report.body);
            calls += 1;
            if report.body["attempted"] == 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        println!(
            "    chained: {} of {} events delivered within {:.1} s = {:.1} events/s; the other {} by {calls} dispatch call(s)",
            seen,
            events,
            chained.as_secs_f64(),
            seen as f64 / chained.as_secs_f64(),
            events - seen,
        );
        ensure!(
            receiver
                .deliveries_to(path)?
                .iter()
                .all(|d| d.answer != Answer::Status(200) || d.verified.is_ok()),
            "a live delivery failed verification"
        );
        remove_subscriptions(&host).await?;
    }
    host.stop().await
}

/// Deletes every subscription.
async fn remove_subscriptions(host: &Host) -> Result<()> {
    let listed = host.operator(Method::GET, "/api/webhooks", None).await?;
    for webhook in listed.body["webhooks"].as_array().context("webhooks")? {
        let id = webhook["id"].as_str().context("id")?;
        let removed = host
            .client
            .delete(host.url(&format!("/api/webhooks/{id}")))
            .bearer_auth(certflow_tests::OPERATOR_TOKEN)
            .send()
            .await?;
        ensure!(removed.status() == 204, "{}", removed.status());
    }
    Ok(())
}

/// `clients` workflow loops for `duration`; each workflow's total time.
async fn loops(host: &Host, clients: usize, duration: Duration) -> Result<Vec<Duration>> {
    let deadline = Instant::now() + duration;
    let runs = (0..clients).map(|_| async move {
        let mut totals = Vec::new();
        while Instant::now() < deadline {
            let started = Instant::now();
            certify(host, &mut Vec::new()).await?;
            totals.push(started.elapsed());
        }
        anyhow::Ok(totals)
    });
    let mut all = Vec::new();
    for totals in futures::future::join_all(runs).await {
        all.extend(totals?);
    }
    all.sort();
    Ok(all)
}

fn report(what: &str, totals: &[Duration], duration: Duration) {
    println!(
        "  {what:<16}: {} workflows = {:.2} workflows/s; p50 {:.0} ms, p99 {:.0} ms",
        totals.len(),
        totals.len() as f64 / duration.as_secs_f64(),
        quantile(totals, 0.5).as_secs_f64() * 1e3,
        quantile(totals, 0.99).as_secs_f64() * 1e3,
    );
}
