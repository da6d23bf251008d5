//! Signed intake next to plain intake (issue 13): `clients` loops submit new applications for
//! a fixed time through the real `spin.toml` on the local host (SQLite), each a whole
//! submission (validation, the application and idempotency records, the chained screening).
//! Three kinds, one after the other, the same body:
//! - `plain`: `POST /api/applications` without an Idempotency-Key;
//! - `plain + key`: the same with a fresh `Idempotency-Key` (the claim and idempotency record
//!   a signed submission also writes);
//! - `signed`: `POST /api/hooks/applications` signed with an integration's secret (Standard
//!   Webhooks; a fresh `webhook-id`, signed by the `standardwebhooks` crate in the client).
//!
//! It measures and prints requests/s and the p50 and p99 latency; it asserts nothing.
//!
//! `cargo bench -p certflow-tests --bench intake`. Environment: `INTAKE_CLIENTS=8`,
//! `INTAKE_SECONDS=10` (per kind), `INTAKE_ROUNDS=1` (the three kinds run this many times, in
//! turn, so a drift of the machine falls on all of them), `INTAKE_STATE_IN=/dev/shm` to keep
//! the store on tmpfs.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use certflow_tests::{Host, example_application, start_app_with};
use std::time::{Duration, Instant};

fn env_number(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().with_context(|| format!("{name}: {v}")),
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

#[derive(Clone, Copy, Debug)]
enum Kind {
    Plain,
    PlainWithKey,
    Signed,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::PlainWithKey => "plain + key",
            Kind::Signed => "signed",
        }
    }
}

/// The bench integration's secret.
fn secret() -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([42u8; 32])
    )
}

/// One submission of `body` of `kind` (`n` makes its key or webhook-id unique).
async fn submit(host: &Host, kind: Kind, body: &str, n: &str) -> Result<()> {
    let route = match kind {
        Kind::Signed => "/api/hooks/applications",
        _ => "/api/applications",
    };
    let mut req = host
        .client
        .post(host.url(route))
        .header("content-type", "application/json")
        .body(body.to_string());
    match kind {
        Kind::Plain => {}
        Kind::PlainWithKey => req = req.header("idempotency-key", n),
        Kind::Signed => {
            let ts = chrono::Utc::now().timestamp();
            let signature =
                standardwebhooks::Webhook::new(&secret())?.sign(n, ts, body.as_bytes())?;
            req = req
                .header("webhook-id", n)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", signature);
        }
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    if status != 201 {
        bail!("{} answered {status}: {}", kind.name(), resp.text().await?);
    }
    Ok(())
}

/// `clients` loops of `kind` for `duration`: every request's latency.
async fn run(
    host: &Host,
    kind: Kind,
    body: &str,
    clients: u64,
    duration: Duration,
    round: u64,
) -> Result<Vec<Duration>> {
    let deadline = Instant::now() + duration;
    let loops = (0..clients).map(|client| async move {
        let mut times = Vec::new();
        let mut i = 0u64;
        while Instant::now() < deadline {
            let n = format!(
                "bench-{}-{round}-{client}-{i}",
                kind.name().replace(' ', "")
            );
            let started = Instant::now();
            submit(host, kind, body, &n).await?;
            times.push(started.elapsed());
            i += 1;
        }
        anyhow::Ok(times)
    });
    let mut all = Vec::new();
    for times in futures::future::join_all(loops).await {
        all.extend(times?);
    }
    Ok(all)
}

#[tokio::main]
async fn main() -> Result<()> {
    let clients = env_number("INTAKE_CLIENTS", 8)?;
    let seconds = Duration::from_secs(env_number("INTAKE_SECONDS", 10)?);
    let rounds = env_number("INTAKE_ROUNDS", 1)?;
    let state = match std::env::var("INTAKE_STATE_IN") {
        Ok(dir) => tempfile::tempdir_in(dir)?,
        Err(_) => tempfile::tempdir()?,
    };
    let secrets = format!("bench:{}", secret());
    let host = start_app_with(
        state.path(),
        Duration::ZERO,
        &[("webhook_secrets", secrets.as_str())],
    )
    .await?;
    let body = example_application()?.to_string();
    let kinds = [Kind::Plain, Kind::PlainWithKey, Kind::Signed];
    // Warm-up: every route and component instantiated, the store's pages in cache.
    for (k, kind) in kinds.iter().enumerate() {
        for i in 0..clients {
            submit(&host, *kind, &body, &format!("warm-up-{k}-{i}")).await?;
        }
    }
    println!(
        "intake, {clients} clients, {} s per kind:",
        seconds.as_secs()
    );
    let mut totals: Vec<(Kind, usize, f64, Vec<Duration>)> = Vec::new();
    for round in 0..rounds {
        for kind in kinds {
            let started = Instant::now();
            let mut times = run(&host, kind, &body, clients, seconds, round).await?;
            let elapsed = started.elapsed().as_secs_f64();
            times.sort();
            println!(
                "  {:<12} {:>6} requests in {elapsed:.1} s = {:>6.1} requests/s; p50 {:.1} ms, p99 {:.1} ms",
                kind.name(),
                times.len(),
                times.len() as f64 / elapsed,
                quantile(&times, 0.5).as_secs_f64() * 1e3,
                quantile(&times, 0.99).as_secs_f64() * 1e3,
            );
            match totals.iter_mut().find(|(k, ..)| k.name() == kind.name()) {
                Some((_, count, time, all)) => {
                    *count += times.len();
                    *time += elapsed;
                    all.extend(times);
                }
                None => totals.push((kind, times.len(), elapsed, times)),
            }
        }
    }
    if rounds > 1 {
        println!("all rounds:");
        for (kind, count, elapsed, mut times) in totals {
            times.sort();
            println!(
                "  {:<12} {:>6.1} requests/s; p50 {:.1} ms, p99 {:.1} ms",
                kind.name(),
                count as f64 / elapsed,
                quantile(&times, 0.5).as_secs_f64() * 1e3,
                quantile(&times, 0.99).as_secs_f64() * 1e3,
            );
        }
    }
    host.stop().await
}
