//! The `certflow` command as an operator runs it: `up` builds, prints where it serves, logs one
//! line per request, stops cleanly on SIGTERM, and refuses a broken manifest with a message
//! that names the file, the component and the key.

use anyhow::{Context, Result, bail, ensure};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running `certflow up`, with everything it printed collected.
struct Up {
    child: Child,
    addr: String,
    stdout: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

/// Starts `certflow up`, which builds the components first. The manifests look for the
/// `.wasm` files under each guest workspace's own `target/`, so a `CARGO_TARGET_DIR` set for
/// this test's build is not passed on to the components' build.
fn up(manifest: &Path, state: &Path, extra: &[&str]) -> Result<Up> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_certflow"))
        .env_remove("CARGO_TARGET_DIR")
        .arg("up")
        .arg("--from")
        .arg(manifest)
        .args(["--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut stderr = child.stderr.take().context("no stderr")?;
    let stderr = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all);
        all
    });
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Building may compile the components: allow for it.
    let addr = loop {
        match lines.recv_timeout(Duration::from_secs(600)) {
            Ok(line) => {
                if let Some(addr) = line.strip_prefix("Serving http://") {
                    break addr.trim().to_string();
                }
            }
            Err(_) => {
                let _ = child.kill();
                let err = stderr.join().unwrap_or_default();
                bail!("`certflow up` never said where it serves; stderr:\n{err}");
            }
        }
    };
    Ok(Up {
        child,
        addr,
        stdout: lines,
        stderr,
    })
}

impl Up {
    /// SIGTERM, then everything the process printed; fails unless it exits cleanly.
    fn terminate(mut self) -> Result<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        ensure!(status.success(), "kill failed");
        let exit = self.child.wait()?;
        let mut printed: Vec<String> = self.stdout.try_iter().collect();
        printed.push(self.stderr.join().unwrap_or_default());
        let printed = printed.join("\n");
        ensure!(exit.success(), "exit {exit} after SIGTERM:\n{printed}");
        Ok(printed)
    }
}

/// A minimal HTTP/1.1 exchange over a fresh connection (no client library needed here).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<String> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn up_serves_logs_each_request_and_stops_on_sigterm() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = up(
        &root().join("tests/scenarios/kv/spin.toml"),
        state.path(),
        &[],
    )?;
    let put = http(&host.addr, "PUT", "/kv/k", &[], "v")?;
    ensure!(put.starts_with("HTTP/1.1 200"), "{put}");
    let get = http(&host.addr, "GET", "/kv/k", &[], "")?;
    ensure!(
        get.starts_with("HTTP/1.1 200") && get.contains("\r\n\r\n1\r\nv\r\n"),
        "{get}"
    );
    let printed = host.terminate()?;
    ensure!(
        printed.contains("GET /kv/k probe 200"),
        "no request log line:\n{printed}"
    );
    ensure!(
        printed.contains("Building component probe"),
        "no build progress:\n{printed}"
    );
    Ok(())
}

#[test]
fn i8_the_contact_person_never_reaches_the_logs() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = up(&root().join("spin.toml"), state.path(), &[])?;
    let application = std::fs::read_to_string(root().join("tests/fixtures/application.json"))?;
    let created = http(
        &host.addr,
        "POST",
        "/api/applications",
        &[("Content-Type", "application/json")],
        &application,
    )?;
    ensure!(created.starts_with("HTTP/1.1 201"), "{created}");
    let printed = host.terminate()?;
    ensure!(
        printed.contains("[intake] application "),
        "intake logged nothing:\n{printed}"
    );
    for personal in ["Li Wei", "li.wei@acme.example", "5555 0100"] {
        ensure!(
            !printed.contains(personal),
            "`{personal}` was logged:\n{printed}"
        );
    }
    Ok(())
}

#[test]
fn a_broken_manifest_stops_start_up_with_file_component_and_key() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let manifest = dir.path().join("spin.toml");
    std::fs::write(
        &manifest,
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"web.wasm\"\n",
    )?;
    let out = Command::new(env!("CARGO_BIN_EXE_certflow"))
        .arg("up")
        .arg("--from")
        .arg(&manifest)
        .args(["--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path())
        .output()?;
    ensure!(!out.status.success(), "started with a missing .wasm");
    let err = String::from_utf8_lossy(&out.stderr);
    for word in ["spin.toml", "[component.web]", "`source`", "web.wasm"] {
        ensure!(err.contains(word), "stderr lacks `{word}`:\n{err}");
    }
    Ok(())
}
