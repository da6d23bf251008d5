//! certflow as separate host processes sharing one Redis, as replicas share one store on
//! SpinKube: each process has its own engine, component instances and connections; only the
//! key-value store is shared. A process is the test binary itself running its
//! [`crate::host_process_entry!`] test, which serves the app through `spin_host::up::up`, the
//! function `certflow up` calls (running the `certflow` binary instead would make `cargo`
//! build it with another feature set inside the test run).

use crate::{OPERATOR, OPERATOR_TOKEN, RedisServer, app_manifest, build_app_components};
use anyhow::{Context, Result, bail};
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The environment variable that turns a test binary's [`crate::host_process_entry!`] test
/// into a host process: `<state dir>\n<runtime config>\n<name=value>...`.
pub const HOST_PROCESS: &str = "CERTFLOW_TEST_HOST_PROCESS";

/// The body of [`crate::host_process_entry!`]: when [`HOST_PROCESS`] is set, serves the app as
/// `certflow up` does (printing `Serving http://...`) and never returns; otherwise returns at
/// once.
pub async fn serve_if_asked() -> Result<()> {
    let Ok(spec) = std::env::var(HOST_PROCESS) else {
        return Ok(());
    };
    let mut lines = spec.lines();
    let (Some(state_dir), Some(runtime_config)) = (lines.next(), lines.next()) else {
        bail!("{HOST_PROCESS} is not `<state dir>\\n<runtime config>\\n<name=value>...`");
    };
    let mut variables = std::collections::BTreeMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once('=') else {
            bail!("{HOST_PROCESS}: `{line}` is not name=value");
        };
        variables.insert(name.to_string(), value.to_string());
    }
    spin_host::up::up(spin_host::up::UpOptions {
        manifest: app_manifest(),
        listen: "127.0.0.1:0".parse()?,
        state_dir: Some(PathBuf::from(state_dir)),
        runtime_config: Some(PathBuf::from(runtime_config)),
        build: false,
        request_timeout: Duration::from_secs(30),
        front: Default::default(),
        max_instances: spin_host::up::DEFAULT_MAX_INSTANCES,
        variables,
        clock_offset: Duration::ZERO,
        kv_faults: Default::default(),
    })
    .await
}

/// Declares, at the root of the test binary (tests/e2e/main.rs), the test that [`HostProcesses::start`] runs in a
/// child process of the same test binary to serve the app (the path `certflow up` takes,
/// without the command line). Run normally, it does nothing.
#[macro_export]
macro_rules! host_process_entry {
    () => {
        /// Not a test of its own: the host process [`certflow_tests::processes::HostProcesses`]
        /// starts (this test binary again, with the host's settings in the environment).
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn certflow_host_process() -> ::anyhow::Result<()> {
            $crate::processes::serve_if_asked().await
        }
    };
}

/// A host child process; killed (SIGKILL) on drop.
struct KilledOnDrop(Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Several `certflow up` processes serving the app on one Redis; all killed on drop.
pub struct HostProcesses {
    /// Each process's base URL (`http://127.0.0.1:<port>`), in start order.
    pub bases: Vec<String>,
    processes: Vec<KilledOnDrop>,
    _state: tempfile::TempDir,
}

impl HostProcesses {
    /// Starts `count` processes of the app (the calling test file must invoke
    /// [`crate::host_process_entry!`]) with the test operator token (as
    /// [`crate::start_app`]) and `extra` Spin variables, all on `redis`. They share one state
    /// directory (the store is Redis), whose compiled-component cache is the tests' shared
    /// one, and start one after another so the later ones find the cache warm. The fault switch is not
    /// available here (it has no CLI flag, by design).
    pub async fn start(
        redis: &RedisServer,
        count: usize,
        extra: &[(&str, &str)],
    ) -> Result<HostProcesses> {
        build_app_components()?;
        let exe = std::env::current_exe()?;
        let state = tempfile::tempdir()?;
        crate::share_component_cache(state.path())?;
        let config = state.path().join("runtime-config.toml");
        std::fs::write(&config, redis.runtime_config())?;
        let mut spec = format!(
            "{}\n{}\noperator_tokens=someone-else,{OPERATOR}:{OPERATOR_TOKEN}",
            state.path().display(),
            config.display()
        );
        for (name, value) in extra {
            spec.push_str(&format!("\n{name}={value}"));
        }
        let mut processes = HostProcesses {
            bases: Vec::new(),
            processes: Vec::new(),
            _state: state,
        };
        for _ in 0..count {
            let mut child = KilledOnDrop(
                Command::new(&exe)
                    .args(["--exact", "certflow_host_process", "--nocapture"])
                    .args(["--test-threads", "1"])
                    .env(HOST_PROCESS, &spec)
                    .env("CERTFLOW_LOG", "warn")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .with_context(|| format!("cannot run {}", exe.display()))?,
            );
            let stdout = child.0.stdout.take().context("child stdout")?;
            let (serving_tx, serving) = std::sync::mpsc::channel();
            // Read everything it prints, so it never blocks on a full pipe; the `Serving`
            // line says where it listens.
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                {
                    // libtest prints `test <name> ... ` before it, on the same line.
                    if let Some((_, base)) = line.split_once("Serving ") {
                        let _ = serving_tx.send(base.trim().to_string());
                    }
                }
            });
            processes.processes.push(child);
            let base =
                tokio::task::spawn_blocking(move || serving.recv_timeout(Duration::from_secs(300)))
                    .await?
                    .context("a certflow process never served")?;
            processes.bases.push(base);
        }
        Ok(processes)
    }
}
