//! The whole workflow benchmark (issue 6): N concurrent workflows, each one application from
//! submission to a verified certificate (submit + screening → review → remote-audit → stage 1
//! → stage 2 → decision + certificate → verify), through the real `spin.toml` on the local
//! host; then public verification alone. It measures and prints; it asserts nothing.
//!
//! `cargo bench -p certflow-tests --bench workflow` (defaults: 1 and 4 concurrent workflows,
//! 20 s each; verification 1 and 4 clients, 10 s each). Environment:
//! `WORKFLOW_CLIENTS=1,4`, `WORKFLOW_SECONDS=20`, `VERIFY_SECONDS=10`,
//! `WORKFLOW_STATE_IN=/dev/shm` to keep the store on tmpfs, where a commit's fsync costs
//! nothing (the difference from a disk run is what durable commits cost), and
//! `WORKFLOW_STORE`: `sqlite` (default; the host in the bench's process), `redis` (the same
//! host on a `redis-server` the bench starts, `appendfsync always`), `redis-1p` / `redis-2p`
//! (one or two `certflow up` processes sharing that Redis, the workflows spread over them, as
//! replicas are).

use anyhow::{Context, Result, bail};
use certflow_tests::processes::HostProcesses;
use certflow_tests::workflow::{STEPS, certify, register_people};
use certflow_tests::{Host, RedisServer, Store, start_app, with_store};
use std::time::{Duration, Instant};

fn env_list(name: &str, default: &str) -> Result<Vec<usize>> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .map(|n| n.trim().parse().with_context(|| format!("{name}: {n}")))
        .collect()
}

fn env_seconds(name: &str, default: u64) -> Result<Duration> {
    let seconds = match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}: {v}"))?,
        Err(_) => default,
    };
    Ok(Duration::from_secs(seconds))
}

/// The `q` quantile (nearest rank) of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Runs `clients` workflow loops for `duration`, loop `i` on `hosts[i % hosts.len()]`;
/// returns each workflow's step timings.
async fn workflows(
    hosts: &[Host],
    clients: usize,
    duration: Duration,
) -> Result<Vec<Vec<Duration>>> {
    let deadline = Instant::now() + duration;
    let loops = (0..clients).map(|i| async move {
        let host = &hosts[i % hosts.len()];
        let mut runs = Vec::new();
        while Instant::now() < deadline {
            let mut steps = Vec::with_capacity(STEPS.len());
            certify(host, &mut steps).await?;
            runs.push(steps);
        }
        anyhow::Ok(runs)
    });
    let mut all = Vec::new();
    for runs in futures::future::join_all(loops).await {
        all.extend(runs?);
    }
    Ok(all)
}

/// Public verification of `number` by `clients` loops for `duration`.
async fn verifications(
    host: &Host,
    number: &str,
    clients: usize,
    duration: Duration,
) -> Result<Vec<Duration>> {
    let path = format!("/api/certificates/{number}");
    let deadline = Instant::now() + duration;
    let loops = (0..clients).map(|_| {
        let path = path.clone();
        async move {
            let mut times = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                let (status, _) = host.get(&path).await?;
                if status != 200 {
                    bail!("verification answered {status}");
                }
                times.push(started.elapsed());
            }
            anyhow::Ok(times)
        }
    });
    let mut all = Vec::new();
    for times in futures::future::join_all(loops).await {
        all.extend(times?);
    }
    Ok(all)
}

#[tokio::main]
async fn main() -> Result<()> {
    // This binary is also the host process that `redis-1p` and `redis-2p` start.
    certflow_tests::processes::serve_if_asked().await?;
    let store = std::env::var("WORKFLOW_STORE").unwrap_or_else(|_| "sqlite".into());
    println!("store: {store}");
    let processes = match store.as_str() {
        "sqlite" => return in_process().await,
        "redis" => return with_store(Store::Redis, in_process()).await,
        "redis-1p" => 1,
        "redis-2p" => 2,
        other => {
            anyhow::bail!("WORKFLOW_STORE: `{other}` is not sqlite, redis, redis-1p or redis-2p")
        }
    };
    let redis = RedisServer::start().await?;
    let started = HostProcesses::start(&redis, processes, &[]).await?;
    let hosts = started
        .bases
        .iter()
        .map(|base| Host::remote(base))
        .collect::<Result<Vec<_>>>()?;
    bench(hosts).await
}

/// The bench on one host in this process (on the current test store).
async fn in_process() -> Result<()> {
    let state = match std::env::var("WORKFLOW_STATE_IN") {
        Ok(dir) => tempfile::tempdir_in(dir)?,
        Err(_) => tempfile::tempdir()?,
    };
    let host = start_app(state.path()).await?;
    bench(vec![host]).await
}

async fn bench(hosts: Vec<Host>) -> Result<()> {
    let workflow_clients = env_list("WORKFLOW_CLIENTS", "1,4")?;
    let workflow_seconds = env_seconds("WORKFLOW_SECONDS", 20)?;
    let verify_seconds = env_seconds("VERIFY_SECONDS", 10)?;
    let Some(host) = hosts.first() else {
        anyhow::bail!("no host");
    };
    register_people(host).await?;
    // Warm-up: every component of every host instantiated once, the store's pages in cache.
    let mut steps = Vec::new();
    let mut number = String::new();
    for host in &hosts {
        (_, number) = certify(host, &mut steps).await?;
    }

    println!("whole workflow ({} requests each):", STEPS.len());
    for &clients in &workflow_clients {
        let started = Instant::now();
        let runs = workflows(&hosts, clients, workflow_seconds).await?;
        let elapsed = started.elapsed();
        let mut totals: Vec<Duration> = runs.iter().map(|r| r.iter().sum()).collect();
        totals.sort();
        println!(
            "  {clients} concurrent: {} workflows in {:.1} s = {:.1} workflows/s; p50 {}, p99 {}",
            runs.len(),
            elapsed.as_secs_f64(),
            runs.len() as f64 / elapsed.as_secs_f64(),
            ms(quantile(&totals, 0.5)),
            ms(quantile(&totals, 0.99)),
        );
        for (i, step) in STEPS.iter().enumerate() {
            let mut times: Vec<Duration> = runs.iter().filter_map(|r| r.get(i).copied()).collect();
            times.sort();
            println!(
                "    {step:<24} p50 {:>8}  p99 {:>8}",
                ms(quantile(&times, 0.5)),
                ms(quantile(&times, 0.99))
            );
        }
    }

    println!("public verification (GET /api/certificates/{number}):");
    for clients in [1, 4] {
        let started = Instant::now();
        let mut times = verifications(host, &number, clients, verify_seconds).await?;
        let elapsed = started.elapsed();
        times.sort();
        println!(
            "  {clients} client(s): {:.0} requests/s; p50 {:.2} ms, p99 {:.2} ms",
            times.len() as f64 / elapsed.as_secs_f64(),
            quantile(&times, 0.5).as_secs_f64() * 1e3,
            quantile(&times, 0.99).as_secs_f64() * 1e3,
        );
    }
    for host in hosts {
        host.stop().await?;
    }
    Ok(())
}
