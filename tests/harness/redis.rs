//! A real `redis-server` for tests: started on a free port in its own temporary directory,
//! with the persistence settings certflow's deployment needs (`appendonly yes`,
//! `appendfsync always`, no RDB snapshots), restartable on the same port and data, and killed
//! when dropped.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The Debian package's binary (`apt-get install redis-server`); `REDIS_SERVER` overrides it.
fn redis_server_binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

/// Databases a server has (`--databases`): [`crate::with_store`] gives each state directory of
/// a test its own.
pub const DATABASES: usize = 64;

/// How long a starting server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A `redis-server` child process; killed (SIGKILL) on drop.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port; returns once it answers `PING`.
    pub async fn start() -> Result<RedisServer> {
        let mut last_error = None;
        // A free port can be taken by someone else before the server binds it: try again.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut server = RedisServer {
                port,
                dir: tempfile::tempdir().context("temporary directory for redis-server")?,
                child: None,
            };
            match server.spawn().await {
                Ok(()) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("redis-server did not start")))
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id while it runs (to pause it with SIGSTOP: a hung Redis).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A runtime config (`[key_value_store.default] type = "redis"`) pointing at this server.
    pub fn runtime_config(&self) -> String {
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
            self.url()
        )
    }

    /// Kills the server (SIGKILL: what it acknowledged must already be on disk).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server and starts it again on the same port and data directory; returns
    /// once it answers `PING` (it has replayed its append-only file by then).
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn().await
    }

    async fn spawn(&mut self) -> Result<()> {
        let dir = self.dir.path();
        let child = Command::new(redis_server_binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .args(["--databases", &DATABASES.to_string()])
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "cannot run {} (install Debian's redis-server package)",
                    redis_server_binary().display()
                )
            })?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if ping(self.port).await.is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
                bail!("redis-server exited ({status}): {log}");
            }
            if started.elapsed() > START_TIMEOUT {
                self.stop();
                bail!("redis-server on port {} never answered PING", self.port);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends `PING` and expects `+PONG` (a server still loading its data answers `-LOADING`).
async fn ping(port: u16) -> Result<()> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(b"PING\r\n").await?;
    let mut reply = [0u8; 7];
    tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut reply)).await??;
    if &reply == b"+PONG\r\n" {
        Ok(())
    } else {
        bail!(
            "redis-server answered {:?}",
            String::from_utf8_lossy(&reply)
        )
    }
}
