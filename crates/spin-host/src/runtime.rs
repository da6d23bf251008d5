//! The wasmtime side: one engine, each component compiled once (and cached on disk) and
//! pre-instantiated, a fresh instance per request, Spin's host interfaces linked in, outbound
//! HTTP checked against `allowed_outbound_hosts`, and `*.spin.internal` served in process.

use crate::allowed_hosts::AllowedHosts;
use crate::kv::KvStore;
use crate::routes::{RouteMatch, Router};
use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::clocks::WallClock;
use wasmtime_wasi::{FsPerms, HostWallClock, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

/// How often the epoch ticks: a running guest yields to the runtime at each tick, and is
/// stopped at the first tick past its request's deadline.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Everything a request needs about its component, fixed at start-up.
pub struct ComponentInfo {
    pub id: String,
    pub key_value_stores: Vec<String>,
    /// Variables this component maps, already resolved (secrets included; never logged).
    pub variables: crate::variables::ComponentVariables,
    pub allowed_hosts: AllowedHosts,
    pub environment: Vec<(String, String)>,
    /// (host directory, guest path) pairs from `files`.
    pub mounts: Vec<(PathBuf, String)>,
}

pub struct LoadedComponent {
    pub info: Arc<ComponentInfo>,
    pre: ProxyPre<InstanceState>,
}

/// The running application: what the server and the chaining hooks share.
pub struct App {
    engine: Engine,
    pub router: Router,
    pub components: BTreeMap<String, LoadedComponent>,
    pub key_value: Arc<BTreeMap<String, Arc<dyn KvStore>>>,
    pub request_timeout: Duration,
    /// Test only: added to the guests' wall clock (see `UpOptions::clock_offset`).
    clock_offset: Duration,
}

/// The real wall clock plus a fixed offset: what the guests see when a test runs the host
/// on a later day (`UpOptions::clock_offset`).
struct OffsetWallClock {
    real: WallClock,
    offset: Duration,
}

impl HostWallClock for OffsetWallClock {
    fn resolution(&self) -> Duration {
        self.real.resolution()
    }

    fn now(&self) -> Duration {
        self.real.now().saturating_add(self.offset)
    }
}

/// Per-instance state (the `T` of `Store<T>`).
pub struct InstanceState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    pub table: ResourceTable,
    hooks: OutboundHooks,
    pub component: Arc<ComponentInfo>,
    pub key_value: Arc<BTreeMap<String, Arc<dyn KvStore>>>,
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Builds the engine: pooling allocator with Spin's default limits for `max_instances`
/// component instances at once (Spin: `SPIN_WASMTIME_INSTANCE_COUNT`, 1,000), epoch
/// interruption for request timeouts. Falls back to on-demand allocation where the pool's virtual memory
/// reservation is refused (some containers cap it).
pub fn new_engine(max_instances: u32) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // `perf` can name the components' functions when a perf map is written (profiling only).
    if std::env::var_os("CERTFLOW_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(max_instances)
        .max_component_instance_size(10 << 20)
        .max_core_instances_per_component(200)
        .max_tables_per_component(20)
        .table_elements(30_000)
        .max_memories_per_component(32)
        .total_memories(max_instances)
        .total_tables(2 * max_instances)
        .total_core_instances(10 * max_instances)
        .total_stacks(max_instances)
        .max_memory_size(1 << 30)
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(1 << 19);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    match Engine::new(&config) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            tracing::warn!("pooling allocator unavailable ({e:#}); using on-demand allocation");
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            Ok(Engine::new(&config)?)
        }
    }
}

/// Starts the thread that advances the engine's epoch; it stops with the process.
pub fn start_epoch_ticker(engine: &Engine) -> Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .context("cannot start the epoch ticker")?;
    Ok(())
}

/// Loads a component, compiling it only when the on-disk cache has no artifact for these
/// exact bytes and this exact engine configuration.
pub fn load_component(engine: &Engine, wasm_path: &Path, cache_dir: &Path) -> Result<Component> {
    let bytes = std::fs::read(wasm_path)
        .with_context(|| format!("cannot read component {}", wasm_path.display()))?;
    let mut hasher = Sha256::new();
    hasher.update(&bytes);
    let mut engine_hash = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut engine_hash);
    hasher.update(std::hash::Hasher::finish(&engine_hash).to_le_bytes());
    let key: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cached = cache_dir.join(format!("{key}.cwasm"));
    if cached.exists() {
        match deserialize_cached(engine, &cached) {
            Ok(component) => return Ok(component),
            Err(e) => tracing::warn!(
                "ignoring unusable compile cache entry {} ({e:#})",
                cached.display()
            ),
        }
    }
    let component = Component::new(engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile {}", wasm_path.display()))?;
    // The cache is an optimisation: failing to write it only costs the next start-up.
    let written = std::fs::create_dir_all(cache_dir)
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(component.serialize()?))
        .and_then(|artifact| {
            // Unique per process and per write, so concurrent writers (two hosts in one
            // process sharing a cache) never write the same temporary file.
            static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let tmp = cache_dir.join(format!(
                "{key}.tmp{}-{}",
                std::process::id(),
                WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::write(&tmp, artifact)?;
            std::fs::rename(&tmp, &cached)?;
            Ok(())
        });
    if let Err(e) = written {
        tracing::warn!("cannot write compile cache {} ({e:#})", cached.display());
    }
    Ok(component)
}

#[allow(unsafe_code)]
fn deserialize_cached(engine: &Engine, path: &Path) -> Result<Component> {
    // SAFETY: the file is one this host wrote with `Component::serialize` into its own state
    // directory, named by the hash of the source wasm and of the engine configuration;
    // wasmtime itself rejects artifacts from another version or configuration.
    Ok(unsafe { Component::deserialize_file(engine, path) }?)
}

pub fn new_linker(engine: &Engine) -> Result<Linker<InstanceState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::host_api::add_to_linker(&mut linker)?;
    Ok(linker)
}

impl LoadedComponent {
    pub fn new(
        linker: &Linker<InstanceState>,
        component: &Component,
        info: ComponentInfo,
    ) -> Result<LoadedComponent> {
        let id = info.id.clone();
        let instance_pre = linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!("component `{id}` imports something this host does not provide")
            })?;
        let pre = ProxyPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!("component `{id}` does not export wasi:http/incoming-handler")
            })?;
        Ok(LoadedComponent {
            info: Arc::new(info),
            pre,
        })
    }
}

impl App {
    pub fn new(
        engine: Engine,
        router: Router,
        components: BTreeMap<String, LoadedComponent>,
        key_value: BTreeMap<String, Arc<dyn KvStore>>,
        request_timeout: Duration,
        clock_offset: Duration,
    ) -> App {
        App {
            engine,
            router,
            components,
            key_value: Arc::new(key_value),
            request_timeout,
            clock_offset,
        }
    }

    fn new_store(
        self: &Arc<Self>,
        component: &LoadedComponent,
        trap: Trap,
    ) -> Result<Store<InstanceState>> {
        let info = &component.info;
        let mut wasi = WasiCtx::builder();
        wasi.stdout(crate::logging::ComponentOutput::stdout(&info.id))
            .stderr(crate::logging::ComponentOutput::stderr(&info.id));
        if !self.clock_offset.is_zero() {
            wasi.wall_clock(OffsetWallClock {
                real: WallClock::new(),
                offset: self.clock_offset,
            });
        }
        for (name, value) in &info.environment {
            wasi.env(name, value);
        }
        for (host_dir, guest_path) in &info.mounts {
            wasi.preopened_dir(host_dir, guest_path, FsPerms::ReadOnly)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot mount {}", host_dir.display()))?;
        }
        let state = InstanceState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                app: self.clone(),
                component: info.clone(),
                trap,
            },
            component: info.clone(),
            key_value: self.key_value.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        // Every epoch tick the guest yields to the runtime (so a component that computes
        // without pause cannot hold a worker thread and stall other requests, the accept loop
        // and the front door's timers), and past the request timeout it traps.
        let deadline = std::time::Instant::now() + self.request_timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if std::time::Instant::now() >= deadline {
                return Err(wasmtime::Trap::Interrupt.into());
            }
            Ok(wasmtime::UpdateDeadline::Yield(1))
        });
        Ok(store)
    }

    /// Creates and instantiates `count` fresh instances of a component, one after another,
    /// and returns the mean time per instance (store creation plus instantiation).
    pub async fn measure_instantiate(
        self: &Arc<Self>,
        component_id: &str,
        count: u32,
    ) -> Result<Duration> {
        let component = self
            .components
            .get(component_id)
            .ok_or_else(|| anyhow!("no component `{component_id}`"))?;
        let started = std::time::Instant::now();
        for _ in 0..count {
            let (trap, _trapped) = tokio::sync::mpsc::unbounded_channel();
            let mut store = self.new_store(component, trap)?;
            component.pre.instantiate_async(&mut store).await?;
        }
        Ok(started.elapsed() / count.max(1))
    }

    /// Runs one request through a fresh instance of `component_id`. An `Err` means the guest
    /// failed (trap, timeout, no response): the caller answers 500 for this request alone.
    pub async fn handle<B>(
        self: &Arc<Self>,
        route: &RouteMatch,
        mut request: http::Request<B>,
        scheme: Scheme,
        client_addr: SocketAddr,
    ) -> Result<http::Response<HyperOutgoingBody>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let component = self
            .components
            .get(route.component_id())
            .ok_or_else(|| anyhow!("no component `{}`", route.component_id()))?;
        let scheme_str = match &scheme {
            Scheme::Https => "https",
            _ => "http",
        };
        // Spin (`prepare_request_headers`) takes spin-full-url's host from `Host` alone,
        // `localhost` without one: a chained request has none (Spin removes it).
        let host = request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| "localhost".to_string());
        let path_and_query = request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let full_url = format!("{scheme_str}://{host}{path_and_query}");
        for (name, value) in route.spin_headers(&full_url, &client_addr.to_string()) {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .with_context(|| format!("invalid header name {name}"))?;
            match http::HeaderValue::from_str(&value) {
                Ok(value) => {
                    request.headers_mut().insert(name, value);
                }
                Err(_) => tracing::warn!("skipping header {name}: value is not valid HTTP"),
            }
        }
        // wasi:http needs an authority; a chained request already has one.
        if request.uri().authority().is_none() {
            let uri = http::Uri::builder()
                .scheme(scheme_str)
                .authority(host.as_str())
                .path_and_query(path_and_query.as_str())
                .build()
                .context("cannot form the request URL")?;
            *request.uri_mut() = uri;
        }

        let (trap_tx, mut trapped) = tokio::sync::mpsc::unbounded_channel();
        let mut store = self.new_store(component, trap_tx)?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(scheme, request)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = component.pre.clone();
        let id = component.info.id.clone();
        // Stopped on a trap or at the request timeout. When this future is dropped (the
        // client went away, the body-read timeout) the guest runs on, as on Spin: what it
        // was doing is finished, not cut off.
        let mut task = tokio::task::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        let timeout = self.request_timeout;
        let response = tokio::select! {
            response = tokio::time::timeout(timeout, receiver) => response,
            Some(trap) = trapped.recv() => {
                task.abort();
                return Err(trap.context(format!("component `{id}` trapped")));
            }
        };
        match response {
            Ok(Ok(Ok(resp))) => {
                // The guest may still be writing the body: report a failure after the
                // response started rather than dropping it silently, and stop the guest on
                // a trap (the body then ends early, as on Spin).
                tokio::spawn(async move {
                    let finished = tokio::select! {
                        finished = &mut task => finished,
                        Some(trap) = trapped.recv() => {
                            task.abort();
                            tracing::warn!("component `{id}` trapped after starting its response: {trap:#}");
                            return;
                        }
                    };
                    match finished {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(
                            "component `{id}` failed after starting its response: {:#}",
                            anyhow::Error::from(e)
                        ),
                        Err(e) => tracing::warn!("component `{id}` task failed: {e}"),
                    }
                });
                Ok(resp)
            }
            Ok(Ok(Err(code))) => Err(anyhow!("component `{id}` answered with error {code:?}")),
            Ok(Err(_)) => {
                let cause = match task.await {
                    Ok(Ok(())) => anyhow!("component `{id}` never set a response"),
                    Ok(Err(e)) => {
                        anyhow::Error::from(e).context(format!("component `{id}` failed"))
                    }
                    Err(e) => anyhow!("component `{id}` task failed: {e}"),
                };
                Err(cause)
            }
            Err(_) => {
                task.abort();
                Err(anyhow::Error::new(NoResponseInTime(timeout))
                    .context(format!("component `{id}` was stopped")))
            }
        }
    }
}

/// A request's component gave no response within the request timeout.
#[derive(Debug)]
pub struct NoResponseInTime(pub Duration);

impl std::fmt::Display for NoResponseInTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no response within {}s", self.0.as_secs_f64())
    }
}

impl std::error::Error for NoResponseInTime {}

/// The wasi:http hooks of one instance: enforces `allowed_outbound_hosts` and serves
/// `http://<component>.spin.internal` in process.
struct OutboundHooks {
    app: Arc<App>,
    component: Arc<ComponentInfo>,
    trap: Trap,
}

/// Where a host call that must trap its instance reports it: the instance is stopped at
/// once and its request fails, as a wasmtime trap would (wasmtime-wasi-http 48's hooks can
/// only hand the guest an error code).
type Trap = tokio::sync::mpsc::UnboundedSender<anyhow::Error>;

/// Spin's client address for chained requests.
const CHAINED_CLIENT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        let uri = request.uri().to_string();
        let Ok(url) = url::Url::parse(&uri) else {
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestUriInvalid) });
        };
        if !self.component.allowed_hosts.allows(&url) {
            return denied(&url);
        }
        if let Some(target) = crate::allowed_hosts::service_chaining_target(&url) {
            let mut request = request;
            // Spin removes `Host` from every outbound request before its chaining
            // interceptor (factor-outbound-http `prepare_request`).
            request.headers_mut().remove(http::header::HOST);
            if !self.app.components.contains_key(target) {
                // Spin 4.0.2 (trigger-http `outbound_http.rs`): an unknown routing
                // destination is `HttpError::trap`, so the caller traps and its own request
                // fails with a 500.
                let _ = self.trap.send(anyhow!(
                    "chained to `{target}.spin.internal`, but the application has no component `{target}`"
                ));
                return Box::new(std::future::pending());
            }
            let app = self.app.clone();
            let route = RouteMatch::synthetic(target, url.path());
            return Box::new(async move {
                let resp = match app
                    .handle(&route, request, Scheme::Http, CHAINED_CLIENT_ADDR)
                    .await
                {
                    Ok(resp) => resp.map(|b| b.boxed_unsync()),
                    Err(e) => {
                        // Spin answers a chained request whose component fails as it answers
                        // any request: a 500 with an empty body (`internal_error(None, ..)`).
                        tracing::error!("chained request failed: {e:#}");
                        let mut resp = http::Response::new(
                            http_body_util::Empty::<Bytes>::new()
                                .map_err(|never| match never {})
                                .boxed_unsync(),
                        );
                        *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                        resp
                    }
                };
                let io: Box<dyn Future<Output = _> + Send> = Box::new(async { Ok(()) });
                Ok((resp, io))
            });
        }
        Box::new(async move {
            let (resp, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let io: Box<dyn Future<Output = _> + Send> = Box::new(io);
            Ok((resp.map(|b| b.boxed_unsync()), io))
        })
    }
}

/// Refuses an outbound request as Spin does: `HttpRequestDenied` to the guest, and Spin's
/// lines telling the operator which manifest entry would allow it.
fn denied(url: &url::Url) -> Box<dyn Future<Output = SendResult> + Send> {
    let pattern = crate::allowed_hosts::host_pattern(url);
    tracing::error!("{}", crate::allowed_hosts::denial_log_message(&pattern));
    eprintln!("{}", crate::allowed_hosts::denial_warning(&pattern));
    Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::ensure;

    #[test]
    fn offset_wall_clock_runs_ahead_of_the_real_one_by_the_offset() -> Result<()> {
        let offset = Duration::from_secs(400 * 24 * 60 * 60);
        let clock = OffsetWallClock {
            real: WallClock::new(),
            offset,
        };
        let before = WallClock::new().now();
        let shifted = clock.now();
        let after = WallClock::new().now();
        ensure!(
            before + offset <= shifted && shifted <= after + offset,
            "{before:?} + {offset:?} vs {shifted:?}"
        );
        ensure!(clock.resolution() == WallClock::new().resolution());
        Ok(())
    }
}
