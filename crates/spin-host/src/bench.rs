//! `bench`: starts the host in process on an ephemeral port with a throw-away state directory,
//! drives one route with N concurrent keep-alive clients, and prints requests/s, p50 and p99.
//! It measures; it asserts nothing.

use crate::up::UpOptions;
use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub manifest: PathBuf,
    pub path: String,
    pub method: http::Method,
    pub body: Option<Bytes>,
    pub content_type: Option<String>,
    pub clients: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub build: bool,
    /// Component whose bare instantiation time is measured (defaults to the routed one).
    pub instantiate: Option<String>,
}

#[derive(Debug)]
pub struct BenchReport {
    pub requests: u64,
    pub failures: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub instantiate: Duration,
}

impl BenchReport {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

pub async fn run(opts: BenchOptions) -> Result<BenchReport> {
    let state = tempfile::tempdir().context("cannot create a temporary state directory")?;
    let up = UpOptions {
        manifest: opts.manifest.clone(),
        listen: "127.0.0.1:0".parse()?,
        state_dir: Some(state.path().to_path_buf()),
        runtime_config: None,
        build: opts.build,
        request_timeout: Duration::from_secs(30),
        front: Default::default(),
        max_instances: crate::up::DEFAULT_MAX_INSTANCES,
        variables: Default::default(),
        clock_offset: Duration::ZERO,
        kv_faults: Default::default(),
    };
    let app = crate::up::load(&up)?;
    let routed = app
        .router
        .route(&opts.path)
        .map(|m| m.component_id().to_string())
        .with_context(|| format!("no route serves {}", opts.path))?;
    let measured = opts.instantiate.clone().unwrap_or(routed);
    // Warm the pool's slots first, then measure.
    app.measure_instantiate(&measured, 100).await?;
    let instantiate = app.measure_instantiate(&measured, 2_000).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(
        app,
        listener,
        Default::default(),
        async {
            let _ = stop_rx.await;
        },
    ));

    let failures = Arc::new(AtomicU64::new(0));
    let measuring_from = Instant::now() + opts.warmup;
    let until = measuring_from + opts.duration;
    let mut clients = Vec::new();
    for _ in 0..opts.clients {
        let opts = opts.clone();
        let failures = failures.clone();
        clients.push(tokio::spawn(async move {
            client_loop(addr, &opts, measuring_from, until, &failures).await
        }));
    }
    let mut latencies = Vec::new();
    for c in clients {
        latencies.extend(c.await??);
    }
    let _ = stop_tx.send(());
    server.await??;

    if latencies.is_empty() {
        bail!("no request completed");
    }
    latencies.sort_unstable();
    let pick = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    Ok(BenchReport {
        requests: latencies.len() as u64,
        failures: failures.load(Ordering::Relaxed),
        elapsed: opts.duration,
        p50: pick(0.50),
        p99: pick(0.99),
        max: latencies[latencies.len() - 1],
        instantiate,
    })
}

/// One keep-alive connection sending requests back to back; returns the latencies of the
/// requests completed inside the measuring window.
async fn client_loop(
    addr: std::net::SocketAddr,
    opts: &BenchOptions,
    measuring_from: Instant,
    until: Instant,
    failures: &AtomicU64,
) -> Result<Vec<Duration>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut latencies = Vec::new();
    loop {
        let started = Instant::now();
        if started >= until {
            break;
        }
        let mut req = http::Request::builder()
            .method(opts.method.clone())
            .uri(opts.path.as_str())
            .header(http::header::HOST, addr.to_string());
        if let Some(ct) = &opts.content_type {
            req = req.header(http::header::CONTENT_TYPE, ct);
        }
        let req = req.body(Full::new(opts.body.clone().unwrap_or_default()))?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        resp.into_body().collect().await?;
        let finished = Instant::now();
        if !(status.is_success()) {
            failures.fetch_add(1, Ordering::Relaxed);
        }
        if started >= measuring_from && finished <= until {
            latencies.push(finished - started);
        }
    }
    Ok(latencies)
}

pub fn print(opts: &BenchOptions, r: &BenchReport) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{} {} with {} client(s) for {:.0}s: {} requests, {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} non-2xx; instantiate {:.1} µs",
        opts.method,
        opts.path,
        opts.clients,
        opts.duration.as_secs_f64(),
        r.requests,
        r.requests_per_second(),
        ms(r.p50),
        ms(r.p99),
        ms(r.max),
        r.failures,
        r.instantiate.as_secs_f64() * 1e6,
    );
}
