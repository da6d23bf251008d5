//! certflow as separate host processes (the `certflow` binary, `certflow up`) sharing one
//! Redis, as replicas share one store on SpinKube: each process has its own engine, component
//! instances and connections; only the key-value store is shared.

use crate::{OPERATOR, OPERATOR_TOKEN, RedisServer, app_manifest, build_app_components, root};
use anyhow::{Context, Result, bail};
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The `certflow` binary next to this test executable (`target/<profile>/certflow`), built
/// once per test process in the same target directory and profile.
pub fn certflow_binary() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // target/<profile>/deps/<test-binary>
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .ok_or("cannot locate the target directory")?
            .to_path_buf();
        let target_dir = profile_dir
            .parent()
            .ok_or("cannot locate the target directory")?;
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args(["build", "-p", "spin-host", "--bin", "certflow"])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(root());
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            cargo.arg("--release");
        }
        let status = cargo
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("building the certflow binary failed: {status}"));
        }
        Ok(profile_dir.join("certflow"))
    });
    match built {
        Ok(path) => Ok(path.clone()),
        Err(e) => bail!("{e}"),
    }
}

/// A `certflow up` child process; killed (SIGKILL) on drop.
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
    /// Starts `count` processes of the app with the test operator token (as
    /// [`crate::start_app`]) and `extra` Spin variables, all on `redis`. They share one state
    /// directory for the compiled-component cache only (the store is Redis), and start one
    /// after another so the later ones find the cache warm. The fault switch is not
    /// available here (it has no CLI flag, by design).
    pub async fn start(
        redis: &RedisServer,
        count: usize,
        extra: &[(&str, &str)],
    ) -> Result<HostProcesses> {
        build_app_components()?;
        let binary = certflow_binary()?;
        let state = tempfile::tempdir()?;
        let config = state.path().join("runtime-config.toml");
        std::fs::write(&config, redis.runtime_config())?;
        let mut processes = HostProcesses {
            bases: Vec::new(),
            processes: Vec::new(),
            _state: state,
        };
        for _ in 0..count {
            let mut cmd = Command::new(&binary);
            cmd.arg("up")
                .arg("--from")
                .arg(app_manifest())
                .args(["--listen", "127.0.0.1:0", "--no-build"])
                .arg("--state-dir")
                .arg(processes._state.path())
                .arg("--runtime-config-file")
                .arg(&config)
                .arg("--variable")
                .arg(format!(
                    "operator_tokens=someone-else,{OPERATOR}:{OPERATOR_TOKEN}"
                ));
            for (name, value) in extra {
                cmd.arg("--variable").arg(format!("{name}={value}"));
            }
            let mut child = KilledOnDrop(
                cmd.env("CERTFLOW_LOG", "warn")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .with_context(|| format!("cannot run {}", binary.display()))?,
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
                    if let Some(base) = line.strip_prefix("Serving ") {
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
