//! `up`: read `spin.toml`, build, check everything the app needs, load the components, serve.
//! Every start-up error names the manifest file, the component and the key at fault.

use crate::allowed_hosts::AllowedHosts;
use crate::front::FrontLimits;
use crate::kv::redis::RedisStore;
use crate::kv::{FaultCounters, KvDatabase, KvFaults, KvStore};
use crate::manifest::{FileMount, KvBackend, Manifest, Route, RuntimeConfig};
use crate::routes::Router;
use crate::runtime::{App, ComponentInfo, LoadedComponent};
use crate::variables::Resolver;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub manifest: PathBuf,
    pub listen: SocketAddr,
    pub state_dir: Option<PathBuf>,
    pub runtime_config: Option<PathBuf>,
    pub build: bool,
    pub request_timeout: Duration,
    /// The front door's timeouts and connection cap ([`FrontLimits`]).
    pub front: FrontLimits,
    /// Component instances at once (the pooling allocator's size): 1,000, or
    /// `SPIN_WASMTIME_INSTANCE_COUNT` as Spin reads it ([`max_instances_from_env`]). When all
    /// are in use a request gets a 503.
    pub max_instances: u32,
    /// `--variable name=value`: values that win over `SPIN_VARIABLE_*` (as in `spin up`).
    pub variables: BTreeMap<String, String>,
    /// Test only: how far ahead of real time the guests' wall clock runs (`Duration::ZERO`,
    /// the default everywhere but tests, leaves it alone). Date-driven rules, such as the
    /// certificate sweep (surveillance overdue, suspension, expiry), are thereby tested end
    /// to end on a later day without waiting months or years: restart the host on the same
    /// state directory with an offset. Only `wasi:clocks/wall-clock` moves; the monotonic
    /// clock, the host's own clock and request timeouts are untouched. Deliberately no CLI
    /// flag or environment variable.
    pub clock_offset: Duration,
    /// Test only: make the key-value store misreport write outcomes as Spin 4.0.2 does on
    /// Redis (see [`KvFaults`]); the default, no fault, everywhere but tests. Deliberately no
    /// CLI flag or environment variable.
    pub kv_faults: KvFaults,
}

/// Spin's default pool size.
pub const DEFAULT_MAX_INSTANCES: u32 = 1_000;

/// The pool size as Spin reads it: `SPIN_WASMTIME_INSTANCE_COUNT`, else 1,000.
pub fn max_instances_from_env() -> u32 {
    std::env::var("SPIN_WASMTIME_INSTANCE_COUNT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_MAX_INSTANCES)
}

/// Finds `spin.toml`: `--from` may name the file or its folder.
pub fn manifest_path(from: Option<&Path>) -> PathBuf {
    match from {
        Some(p) if p.is_dir() => p.join("spin.toml"),
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("spin.toml"),
    }
}

/// Loads the application: everything short of listening.
pub fn load(opts: &UpOptions) -> Result<Arc<App>> {
    let manifest = Manifest::load(&opts.manifest)?;
    if opts.build {
        crate::builder::build_all(&manifest)?;
    }
    let at = manifest.path.display().to_string();
    let state_dir = opts
        .state_dir
        .clone()
        .unwrap_or_else(|| manifest.dir.join(".spin"));

    let runtime_config = match &opts.runtime_config {
        Some(path) => RuntimeConfig::load(path)?,
        None => RuntimeConfig::default(),
    };
    let config_dir = opts
        .runtime_config
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let kv_backends = runtime_config
        .key_value_backends(&config_dir, &state_dir)
        .with_context(|| match &opts.runtime_config {
            Some(path) => format!("{}: invalid runtime config", path.display()),
            None => "invalid runtime config".to_string(),
        })?;

    let app_vars = manifest
        .variables
        .iter()
        .map(|(name, decl)| {
            (
                name.clone(),
                crate::variables::AppVariable {
                    default: decl.default.clone(),
                    required: decl.required,
                    secret: decl.secret,
                },
            )
        })
        .collect();
    let resolver = Resolver::new(app_vars, |env_name| {
        opts.variables
            .iter()
            .find(|(name, _)| crate::variables::env_var_name(name) == env_name)
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var(env_name).ok())
    })
    .with_context(|| format!("{at}: [variables]"))?;

    // Spin loads the components that triggers name; a component no trigger names is not run.
    let mut used: Vec<&str> = Vec::new();
    for trigger in &manifest.http_triggers {
        if !used.contains(&trigger.component.as_str()) {
            used.push(&trigger.component);
        }
    }

    let engine = crate::runtime::new_engine(opts.max_instances)?;
    crate::runtime::start_epoch_ticker(&engine)?;
    let linker = crate::runtime::new_linker(&engine)?;
    let cache_dir = state_dir.join("component-cache");

    // One backend per SQLite file or Redis URL, shared by the labels configured with it.
    let mut backends: BTreeMap<KvBackend, Arc<dyn KvStore>> = BTreeMap::new();
    let mut key_value: BTreeMap<String, Arc<dyn KvStore>> = BTreeMap::new();
    let fault_counters = Arc::new(FaultCounters::default());
    let mut components = BTreeMap::new();
    for id in used {
        let Some(component) = manifest.components.get(id) else {
            bail!("{at}: a trigger names component `{id}`, which is not declared");
        };
        let ctx = |key: &str| format!("{at}: [component.{id}] `{key}`");

        for label in &component.key_value_stores {
            let Some(backend) = kv_backends.get(label) else {
                bail!(
                    "{}: no key-value store is configured for label `{label}` (add [key_value_store.{label}] to the runtime config)",
                    ctx("key_value_stores")
                );
            };
            if !key_value.contains_key(label) {
                let store = match backends.get(backend) {
                    Some(store) => store.clone(),
                    None => {
                        let store: Arc<dyn KvStore> = match backend {
                            KvBackend::Sqlite(path) => {
                                KvDatabase::open(path).with_context(|| ctx("key_value_stores"))?
                            }
                            KvBackend::Redis(url) => RedisStore::new(url)
                                .with_context(|| format!("[key_value_store.{label}]: `url`"))?,
                        };
                        backends.insert(backend.clone(), store.clone());
                        store
                    }
                };
                key_value.insert(label.clone(), opts.kv_faults.wrap(store, &fault_counters));
            }
        }

        let variables = resolver
            .resolve_component(id, &component.variables)
            .with_context(|| ctx("variables"))?;
        let allowed_hosts = AllowedHosts::parse(&component.allowed_outbound_hosts, |t| {
            resolver.resolve_template(t)
        })
        .with_context(|| ctx("allowed_outbound_hosts"))?;

        let mut mounts = Vec::new();
        for mount in &component.files {
            let (source, destination) = match mount {
                FileMount::Pattern(p) => (p.clone(), format!("/{}", p.trim_start_matches("./"))),
                FileMount::Mapping {
                    source,
                    destination,
                } => (source.clone(), destination.clone()),
            };
            let host_dir = manifest.dir.join(&source);
            if !host_dir.is_dir() {
                bail!(
                    "{}: `{source}` is not a directory (this host mounts directories)",
                    ctx("files")
                );
            }
            mounts.push((host_dir, destination));
        }

        let wasm = component
            .wasm_path(&manifest.dir)
            .with_context(|| ctx("source"))?;
        if !wasm.is_file() {
            bail!(
                "{}: {} does not exist{}",
                ctx("source"),
                wasm.display(),
                if component.build.is_some() && !opts.build {
                    " (run without --no-build to build it)"
                } else {
                    ""
                }
            );
        }
        let compiled = crate::runtime::load_component(&engine, &wasm, &cache_dir)
            .with_context(|| ctx("source"))?;
        let info = ComponentInfo {
            id: id.to_string(),
            key_value_stores: component.key_value_stores.clone(),
            variables,
            allowed_hosts,
            environment: component
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            mounts,
        };
        let loaded =
            LoadedComponent::new(&linker, &compiled, info).with_context(|| ctx("source"))?;
        components.insert(id.to_string(), loaded);
    }

    let public_routes: Vec<(&str, &str)> = manifest
        .http_triggers
        .iter()
        .filter_map(|t| match &t.route {
            Route::Public(r) => Some((t.component.as_str(), r.as_str())),
            Route::Private => None,
        })
        .collect();
    let (router, duplicates) =
        Router::build(public_routes).with_context(|| format!("{at}: [[trigger.http]] `route`"))?;
    if router.contains_reserved_route() {
        tracing::error!(
            "Routes under {} are handled by the Spin runtime and will never be reached",
            crate::routes::WELL_KNOWN_PREFIX
        );
    }
    for d in duplicates {
        tracing::warn!(
            "route `{}` is declared more than once: `{}` replaces `{}` (the last declaration wins)",
            d.route,
            d.effective_component,
            d.replaced_component
        );
    }
    Ok(Arc::new(App::new(
        engine,
        router,
        components,
        key_value,
        opts.request_timeout,
        opts.clock_offset,
    )))
}

/// Prints what is served, as `spin up` does.
pub fn print_routes(app: &App, addr: SocketAddr) {
    println!("Serving http://{addr}");
    println!("Available Routes:");
    for (component, route) in app.router.available_routes() {
        println!("  {component}: http://{addr}{route}");
    }
}

pub async fn up(opts: UpOptions) -> Result<()> {
    let app = load(&opts)?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    print_routes(&app, addr);
    crate::server::serve(app, listener, opts.front, crate::server::shutdown_signal()).await
}

/// A host serving in this process, for tests and benchmarks.
pub struct RunningHost {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl RunningHost {
    pub async fn start(opts: &UpOptions) -> Result<RunningHost> {
        let app = load(opts)?;
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("cannot listen on {}", opts.listen))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(crate::server::serve(app, listener, opts.front, async {
            let _ = stopped.await;
        }));
        Ok(RunningHost {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Stops accepting, lets in-flight requests finish, and releases the app (and with it the
    /// key-value databases).
    pub async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }
}
