//! End-to-end harness: builds the wasm components once per test process (as `spin build`
//! would), starts the host in process on an ephemeral port with its own state directory, and
//! hands out an HTTP client. Tests return errors rather than panicking.

use anyhow::{Context, Result, bail};
use spin_host::kv::KvFaults;
use spin_host::up::{RunningHost, UpOptions};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub mod browser;
pub mod processes;
pub mod receiver;
pub mod redis;
pub mod workflow;

pub use redis::RedisServer;

/// The key-value store an end-to-end test runs on. [`each_store!`] runs one test on all three;
/// [`Host::start`] (and so [`start_app`] and friends) uses the current test's store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Store {
    /// The host's default: SQLite in the state directory.
    #[default]
    Sqlite,
    /// A `redis-server` started for the test (see [`RedisServer`]), chosen with a runtime
    /// config `[key_value_store.default] type = "redis"` as on Spin.
    Redis,
    /// [`Store::Redis`] with the host's test-only fault switch on, so it replies as Spin 4.0.2
    /// does on Redis: every compare-and-swap reported as `cas-failed`, and every 7th `set`
    /// and 7th `swap` reported as a store error after landing.
    RedisSpin402,
}

impl Store {
    /// The fault switch this store runs with.
    pub fn kv_faults(self) -> KvFaults {
        match self {
            Store::Sqlite | Store::Redis => KvFaults::default(),
            Store::RedisSpin402 => KvFaults {
                swap_reports_cas_failed: true,
                store_error_after_write_every: Some(7),
            },
        }
    }
}

/// The store of the running test, and its Redis server (one per test: certflow's keys are
/// fixed, so tests cannot share a keyspace). Each state directory the test uses gets its own
/// Redis database (`redis://.../<n>`), so a fresh state directory is a fresh store and a host
/// restarted on the same state directory finds its data, as on SQLite. The server is killed
/// when the test ends.
pub struct TestStore {
    pub store: Store,
    pub redis: Option<RedisServer>,
    /// In a child process: the Redis URL the parent test passed ([`store_env`]).
    parent_url: Option<String>,
    databases: std::sync::Mutex<Vec<PathBuf>>,
}

impl TestStore {
    /// The Redis URL standing for `state_dir`, if the test runs on Redis.
    fn redis_url(&self, state_dir: &Path) -> Result<Option<String>> {
        if let Some(url) = &self.parent_url {
            return Ok(Some(url.clone()));
        }
        let Some(redis) = &self.redis else {
            return Ok(None);
        };
        let mut databases = self
            .databases
            .lock()
            .map_err(|_| anyhow::anyhow!("the test's database list is poisoned"))?;
        let index = match databases.iter().position(|d| d == state_dir) {
            Some(i) => i,
            None => {
                databases.push(state_dir.to_path_buf());
                databases.len() - 1
            }
        };
        if index >= redis::DATABASES {
            bail!(
                "a test uses more than {} state directories",
                redis::DATABASES
            );
        }
        Ok(Some(format!("{}/{index}", redis.url())))
    }
}

tokio::task_local! {
    static CURRENT_STORE: Arc<TestStore>;
}

/// Runs `test` on `store`: starts a `redis-server` for the Redis stores, and makes
/// [`Host::start`] use it. (A task spawned by the test does not inherit the store: start hosts
/// from the test's own task.)
pub async fn with_store(store: Store, test: impl Future<Output = Result<()>>) -> Result<()> {
    let redis = match store {
        Store::Sqlite => None,
        Store::Redis | Store::RedisSpin402 => Some(RedisServer::start().await?),
    };
    let current = TestStore {
        store,
        redis,
        parent_url: None,
        databases: Default::default(),
    };
    CURRENT_STORE.scope(Arc::new(current), test).await
}

/// The environment variables that give a child process (this test binary run again, see
/// [`with_parent_store`]) the current test's store for `state_dir`.
const CHILD_STORE: &str = "CERTFLOW_TEST_STORE";
const CHILD_REDIS_URL: &str = "CERTFLOW_TEST_REDIS_URL";

/// The environment for a child process that must run on the current test's store with the
/// state of `state_dir`.
pub fn store_env(state_dir: &Path) -> Result<Vec<(&'static str, String)>> {
    let store = match current_store() {
        Store::Sqlite => "sqlite",
        Store::Redis => "redis",
        Store::RedisSpin402 => "redis_spin402",
    };
    let mut env = vec![(CHILD_STORE, store.to_string())];
    if let Some(url) = current_redis_url(state_dir)? {
        env.push((CHILD_REDIS_URL, url));
    }
    Ok(env)
}

/// In a child process started with [`store_env`]: runs `test` on the parent test's store
/// (the same Redis server and database; the server stays the parent's).
pub async fn with_parent_store(test: impl Future<Output = Result<()>>) -> Result<()> {
    let store = match std::env::var(CHILD_STORE).as_deref() {
        Ok("redis") => Store::Redis,
        Ok("redis_spin402") => Store::RedisSpin402,
        _ => Store::Sqlite,
    };
    let current = TestStore {
        store,
        redis: None,
        parent_url: std::env::var(CHILD_REDIS_URL).ok(),
        databases: Default::default(),
    };
    CURRENT_STORE.scope(Arc::new(current), test).await
}

/// The current test's store ([`Store::Sqlite`] outside [`with_store`]).
pub fn current_store() -> Store {
    CURRENT_STORE.try_with(|s| s.store).unwrap_or_default()
}

/// The Redis URL the current test's hosts use for `state_dir`, if the test runs on Redis.
pub fn current_redis_url(state_dir: &Path) -> Result<Option<String>> {
    match CURRENT_STORE.try_with(|s| s.clone()) {
        Ok(current) => current.redis_url(state_dir),
        Err(_) => Ok(None),
    }
}

/// The key-value store (label `default`) the app started on `state_dir` uses in the current
/// test, opened directly, for tests that inspect or alter stored records: the SQLite file in
/// the state directory, or the test's Redis database for it.
pub fn stored_state(state_dir: &Path) -> Result<Arc<dyn spin_host::kv::KvStore>> {
    Ok(match current_redis_url(state_dir)? {
        Some(url) => spin_host::kv::redis::RedisStore::new(&url)?,
        None => spin_host::kv::KvDatabase::open(&state_dir.join("sqlite_key_value.db"))?,
    })
}

/// Turns one end-to-end test into three `#[tokio::test]`s, `sqlite`, `redis` and
/// `redis_spin402`, in a module named after the test (`cargo test -- redis_spin402` runs one
/// store):
///
/// ```ignore
/// each_store! {
///     async fn submission_is_stored() -> Result<()> {
///         let state = tempfile::tempdir()?;
///         let host = start_app(state.path()).await?;
///         ...
///     }
/// }
/// ```
#[macro_export]
macro_rules! each_store {
    ($(#[$meta:meta])* async fn $name:ident() -> Result<()> $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn __each_store_body() -> ::anyhow::Result<()> $body

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> ::anyhow::Result<()> {
                $crate::with_store($crate::Store::Sqlite, __each_store_body()).await
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() -> ::anyhow::Result<()> {
                $crate::with_store($crate::Store::Redis, __each_store_body()).await
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis_spin402() -> ::anyhow::Result<()> {
                $crate::with_store($crate::Store::RedisSpin402, __each_store_body()).await
            }
        }
    };
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Builds a guest workspace for `wasm32-wasip2` once per test process, into its own
/// `target/` where the manifests look for the `.wasm` files: a `CARGO_TARGET_DIR` set for the
/// host's build is not passed on.
fn build_guests(
    workspace: &'static str,
    done: &'static OnceLock<Result<(), String>>,
) -> Result<()> {
    let outcome = done.get_or_init(|| {
        let dir = root().join(workspace);
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--target", "wasm32-wasip2", "--release"])
            .env_remove("CARGO_TARGET_DIR")
            .current_dir(&dir)
            .status()
            .map_err(|e| format!("cannot run cargo in {}: {e}", dir.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("building {} failed: {status}", dir.display()))
        }
    });
    match outcome {
        Ok(()) => Ok(()),
        Err(e) => bail!("{e}"),
    }
}

/// The test components under `tests/components`.
pub fn build_test_components() -> Result<()> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    build_guests("tests/components", &DONE)
}

/// certflow's own components under `components/`.
pub fn build_app_components() -> Result<()> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    build_guests("components", &DONE)
}

/// The application's manifest.
pub fn app_manifest() -> PathBuf {
    root().join("spin.toml")
}

/// The DESIGN example application (with a valid USCC check character).
pub fn example_application() -> Result<serde_json::Value> {
    let path = root().join("tests/fixtures/application.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// A scenario manifest: `tests/scenarios/<name>/spin.toml`.
pub fn scenario(name: &str) -> PathBuf {
    root().join("tests/scenarios").join(name).join("spin.toml")
}

/// Points `<state_dir>/component-cache` at one cache shared by every test process of this
/// target directory (`target/<profile>/test-component-cache`), so a host start does not
/// compile the components again for each fresh state directory. Entries are named by the hash
/// of the wasm and of the engine configuration, and written atomically, so sharing is safe.
pub(crate) fn share_component_cache(state_dir: &Path) -> Result<()> {
    let link = state_dir.join("component-cache");
    if link.exists() {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test-binary>
    let Some(profile_dir) = exe.parent().and_then(Path::parent) else {
        return Ok(());
    };
    let shared = profile_dir.join("test-component-cache");
    std::fs::create_dir_all(&shared)?;
    std::fs::create_dir_all(state_dir)?;
    std::os::unix::fs::symlink(&shared, &link)
        .with_context(|| format!("linking {} to {}", link.display(), shared.display()))
}

/// What a test may change about how the host starts.
#[derive(Clone, Debug, Default)]
pub struct Start {
    pub variables: BTreeMap<String, String>,
    pub request_timeout: Option<Duration>,
    /// How far ahead of real time the guests' wall clock runs (zero: today). Restarting on
    /// the same state directory with an offset tests date-driven rules on a later day.
    pub clock_offset: Duration,
    /// A runtime config file (`--runtime-config-file`). `None`: the current test's store
    /// (SQLite, or its Redis server).
    pub runtime_config: Option<PathBuf>,
    /// The fault switch. `None`: the current test's store's.
    pub kv_faults: Option<KvFaults>,
    /// The front door's limits. `None`: the defaults (`certflow up`'s).
    pub front: Option<spin_host::front::FrontLimits>,
    /// The instance pool. `None`: Spin's 1,000.
    pub max_instances: Option<u32>,
}

/// A host serving one manifest, with a client pointed at it.
pub struct Host {
    pub base: String,
    pub client: reqwest::Client,
    /// `None` for a host running elsewhere ([`Host::remote`]).
    running: Option<RunningHost>,
}

impl Host {
    /// Starts `manifest` with its state in `state_dir` (components must already be built).
    /// The key-value store is the current test's ([`with_store`]) unless `start` says otherwise.
    pub async fn start(manifest: &Path, state_dir: &Path, start: &Start) -> Result<Host> {
        let runtime_config = match (&start.runtime_config, current_redis_url(state_dir)?) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(url)) => {
                std::fs::create_dir_all(state_dir)?;
                let path = state_dir.join("runtime-config.toml");
                std::fs::write(
                    &path,
                    format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
                )?;
                Some(path)
            }
            (None, None) => None,
        };
        share_component_cache(state_dir)?;
        let opts = UpOptions {
            manifest: manifest.to_path_buf(),
            listen: "127.0.0.1:0".parse()?,
            state_dir: Some(state_dir.to_path_buf()),
            runtime_config,
            build: false,
            request_timeout: start.request_timeout.unwrap_or(Duration::from_secs(30)),
            front: start.front.unwrap_or_default(),
            max_instances: start
                .max_instances
                .unwrap_or(spin_host::up::DEFAULT_MAX_INSTANCES),
            variables: start.variables.clone(),
            clock_offset: start.clock_offset,
            kv_faults: start
                .kv_faults
                .unwrap_or_else(|| current_store().kv_faults()),
        };
        let running = RunningHost::start(&opts)
            .await
            .with_context(|| format!("starting {}", manifest.display()))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Host {
            base: format!("http://{}", running.addr),
            client,
            running: Some(running),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Result<(u16, String)> {
        let resp = self.client.get(self.url(path)).send().await?;
        Ok((resp.status().as_u16(), resp.text().await?))
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<(u16, String)> {
        let resp = self
            .client
            .request(method, self.url(path))
            .body(body)
            .send()
            .await?;
        Ok((resp.status().as_u16(), resp.text().await?))
    }

    /// A client of a host running elsewhere at `base` (`http://127.0.0.1:<port>`), e.g. one of
    /// [`processes::HostProcesses`], so the workflow helpers can drive it; [`Host::stop`] does
    /// nothing to it.
    pub fn remote(base: &str) -> Result<Host> {
        Ok(Host {
            base: base.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            running: None,
        })
    }

    /// Graceful stop: in-flight requests finish, the databases close.
    pub async fn stop(self) -> Result<()> {
        match self.running {
            Some(running) => running.stop().await,
            None => Ok(()),
        }
    }
}

/// The name the test operator's token is configured with (`<name>:<token>`), so histories
/// record `operator:ops-lead` (R1).
pub const OPERATOR: &str = "ops-lead";

/// The operator token the app tests start with (one of two configured; the other is bare).
pub const OPERATOR_TOKEN: &str = "operator-token-for-tests";

/// Builds certflow's components and starts the real `spin.toml` with operator tokens set.
pub async fn start_app(state: &Path) -> Result<Host> {
    start_app_at(state, Duration::ZERO).await
}

/// [`start_app`] with the guests' wall clock `clock_offset` ahead of real time: the app as it
/// runs on a later day (the state in `state` is kept, so a test issues today and sweeps later).
pub async fn start_app_at(state: &Path, clock_offset: Duration) -> Result<Host> {
    start_app_with(state, clock_offset, &[]).await
}

/// [`start_app_at`] with more Spin variables (`name`, `value`), e.g. `server_secret` or
/// `claim_expiry_seconds`; an `operator_tokens` given here replaces the default tokens.
pub async fn start_app_with(
    state: &Path,
    clock_offset: Duration,
    extra: &[(&str, &str)],
) -> Result<Host> {
    start_app_from(
        state,
        Start {
            clock_offset,
            ..Start::default()
        },
        extra,
    )
    .await
}

/// [`start_app`] on a store the test chooses rather than the current test's: `redis` (through
/// its runtime config), or SQLite in `state` when `None`; with the fault switch `faults`.
/// For tests of several hosts on one Redis, or of the faults themselves.
pub async fn start_app_on(
    state: &Path,
    redis: Option<&RedisServer>,
    faults: KvFaults,
) -> Result<Host> {
    let runtime_config = match redis {
        Some(redis) => {
            std::fs::create_dir_all(state)?;
            let path = state.join("runtime-config.toml");
            std::fs::write(&path, redis.runtime_config())?;
            Some(path)
        }
        None => None,
    };
    let start = Start {
        runtime_config,
        kv_faults: Some(faults),
        ..Start::default()
    };
    start_app_from(state, start, &[]).await
}

/// Builds the components and starts the app with `start`, the test operator tokens and the
/// `extra` variables.
async fn start_app_from(state: &Path, mut start: Start, extra: &[(&str, &str)]) -> Result<Host> {
    build_app_components()?;
    start.variables.insert(
        "operator_tokens".to_string(),
        format!("someone-else,{OPERATOR}:{OPERATOR_TOKEN}"),
    );
    for (name, value) in extra {
        start.variables.insert(name.to_string(), value.to_string());
    }
    Host::start(&app_manifest(), state, &start).await
}

/// A JSON reply: status, headers and the parsed body.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

/// Sends `req` and parses the JSON reply.
pub async fn reply(req: reqwest::RequestBuilder) -> Result<Reply> {
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await?;
    let body = serde_json::from_str(&text).with_context(|| format!("{status}: {text}"))?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

impl Host {
    /// POSTs an application as JSON, with an Idempotency-Key if given.
    pub async fn submit(
        &self,
        application: &serde_json::Value,
        key: Option<&str>,
    ) -> Result<Reply> {
        let mut req = self
            .client
            .post(self.url("/api/applications"))
            .header("content-type", "application/json")
            .body(application.to_string());
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        reply(req).await
    }

    /// Sends JSON as an operator (`body: None` sends no body).
    pub async fn operator(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Reply> {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(OPERATOR_TOKEN);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        reply(req).await
    }
}
