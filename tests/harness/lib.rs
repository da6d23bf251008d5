//! End-to-end harness: builds the wasm components once per test process (as `spin build`
//! would), starts the host in process on an ephemeral port with its own state directory, and
//! hands out an HTTP client. Tests return errors rather than panicking.

use anyhow::{Context, Result, bail};
use spin_host::up::{RunningHost, UpOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

pub mod workflow;

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

/// What a test may change about how the host starts.
#[derive(Clone, Debug, Default)]
pub struct Start {
    pub variables: BTreeMap<String, String>,
    pub request_timeout: Option<Duration>,
    /// How far ahead of real time the guests' wall clock runs (zero: today). Restarting on
    /// the same state directory with an offset tests date-driven rules on a later day.
    pub clock_offset: Duration,
}

/// A host serving one manifest, with a client pointed at it.
pub struct Host {
    pub base: String,
    pub client: reqwest::Client,
    running: RunningHost,
}

impl Host {
    /// Starts `manifest` with its state in `state_dir` (components must already be built).
    pub async fn start(manifest: &Path, state_dir: &Path, start: &Start) -> Result<Host> {
        let opts = UpOptions {
            manifest: manifest.to_path_buf(),
            listen: "127.0.0.1:0".parse()?,
            state_dir: Some(state_dir.to_path_buf()),
            runtime_config: None,
            build: false,
            request_timeout: start.request_timeout.unwrap_or(Duration::from_secs(30)),
            variables: start.variables.clone(),
            clock_offset: start.clock_offset,
            kv_faults: Default::default(),
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
            running,
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

    /// Graceful stop: in-flight requests finish, the databases close.
    pub async fn stop(self) -> Result<()> {
        self.running.stop().await
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
    build_app_components()?;
    let mut variables = BTreeMap::new();
    variables.insert(
        "operator_tokens".to_string(),
        format!("someone-else,{OPERATOR}:{OPERATOR_TOKEN}"),
    );
    for (name, value) in extra {
        variables.insert(name.to_string(), value.to_string());
    }
    Host::start(
        &app_manifest(),
        state,
        &Start {
            variables,
            clock_offset,
            ..Start::default()
        },
    )
    .await
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
