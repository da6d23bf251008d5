//! The host against slow and malformed clients, and its fidelity to Spin 4.0.2 where those
//! meet components (issue 16). Raw TCP throughout: these clients are the ones an HTTP library
//! would not let us be.
//!
//! - Every reply the host makes itself is `application/problem+json` with a stable `type`
//!   and a `detail` naming no internal value; for a head hyper refuses, the status is
//!   hyper's (a bare hyper server, what Spin serves with, is the oracle).
//! - The limits of `spin_host::front::FrontLimits`: header-read, body-read and keep-alive
//!   timeouts, and the connection cap, each shown here with short values.
//! - Chaining as Spin 4.0.2 does it: `spin-full-url` with `localhost`, no `Host`, a trap for
//!   a component the app does not have, an empty 500 for one that fails.

use anyhow::{Context, Result, bail, ensure};
use certflow_tests::{Host, Start, build_test_components, scenario, start_app};
use serde_json::Value;
use spin_host::front::FrontLimits;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PROBLEM: &str = "application/problem+json";
/// No exchange here may take longer: a test that hangs fails instead.
const PATIENCE: Duration = Duration::from_secs(30);

/// One HTTP/1.1 reply read off a raw connection.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The problem document, checked: media type, `type` in the app's namespace with `slug`,
    /// `status` equal to the reply's, a `detail` that names no internal value.
    fn problem(&self, slug: &str) -> Result<Value> {
        ensure!(self.header("content-type") == Some(PROBLEM), "{self:?}");
        let doc: Value = serde_json::from_str(&self.body).with_context(|| self.body.clone())?;
        ensure!(
            doc["type"] == format!("https://certflow.dev/problems/{slug}"),
            "{doc}"
        );
        ensure!(doc["status"] == self.status, "{doc}");
        let detail = doc["detail"].as_str().unwrap_or_default();
        ensure!(!detail.is_empty(), "{doc}");
        for leak in [
            "Error {",
            "Resource",
            "handle",
            "component `",
            "/work",
            "spin.internal",
        ] {
            ensure!(!detail.contains(leak), "detail leaks `{leak}`: {doc}");
        }
        Ok(doc)
    }
}

/// Reads one reply; `None` when the connection closed before a status line came.
async fn read_reply(stream: &mut TcpStream) -> Result<Option<Reply>> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            // A reset after the server closed: the same as an end here.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            bail!(
                "connection closed mid-head: {:?}",
                String::from_utf8_lossy(&buf)
            );
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .with_context(|| head.clone())?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let mut body = buf[head_end..].to_vec();
    while if chunked {
        !body.ends_with(b"0\r\n\r\n")
    } else {
        body.len() < length
    } {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(Some(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }))
}

/// The data of a whole chunked body (RFC 9112 §7.1), trailers ignored.
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("chunk size line")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .with_context(|| size_text.clone())?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(data);
        }
        ensure!(raw.len() >= size + 2, "short chunk");
        data.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Sends `bytes` on a new connection and reads the reply.
async fn exchange(addr: &str, bytes: &[u8]) -> Result<Option<Reply>> {
    tokio::time::timeout(PATIENCE, async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(bytes).await?;
        read_reply(&mut stream).await
    })
    .await
    .context("no reply in time")?
}

/// Whether the server closes `stream` (end of stream or reset) within [`PATIENCE`].
async fn closed(stream: &mut TcpStream) -> Result<bool> {
    let mut rest = Vec::new();
    match tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await {
        Ok(_) => Ok(true),
        Err(_) => Ok(false),
    }
}

fn addr(host: &Host) -> String {
    host.base.trim_start_matches("http://").to_string()
}

async fn start(name: &str, start: &Start) -> Result<(tempfile::TempDir, Host)> {
    build_test_components()?;
    let state = tempfile::tempdir()?;
    let host = Host::start(&scenario(name), state.path(), start).await?;
    Ok((state, host))
}

/// Short limits, so a test shows each in a second or two.
fn short_limits(max_connections: usize) -> FrontLimits {
    FrontLimits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        keep_alive_timeout: Duration::from_secs(1),
        write_timeout: Duration::from_secs(1),
        max_connections,
    }
}

/// The probe app (`kv`) with [`short_limits`].
async fn start_limited(max_connections: usize) -> Result<(tempfile::TempDir, Host)> {
    start(
        "kv",
        &Start {
            front: Some(short_limits(max_connections)),
            ..Start::default()
        },
    )
    .await
}

/// A bare hyper HTTP/1 server answering 200 to every request it accepts: the oracle for what
/// hyper (and so Spin) refuses, and with which status.
async fn bare_hyper() -> Result<String> {
    use hyper::server::conn::http1;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                    ))
                });
                let _ = http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9112_what_hyper_refuses_gets_hyper_s_status_as_a_problem_document() -> Result<()> {
    let (_state, host) = start("kv", &Start::default()).await?;
    let ours = addr(&host);
    let oracle = bare_hyper().await?;
    let many_headers: String = (0..101).map(|i| format!("x-h{i}: 1\r\n")).collect();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "two Content-Length headers that differ",
            "POST /echo-body HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".into(),
            400,
            "malformed-request",
        ),
        (
            "a negative Content-Length",
            "POST /echo-body HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n".into(),
            400,
            "malformed-request",
        ),
        (
            "Transfer-Encoding: identity",
            "POST /echo-body HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n".into(),
            400,
            "malformed-request",
        ),
        (
            "a folded header",
            "GET /headers HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n".into(),
            400,
            "malformed-request",
        ),
        (
            "a space in the path",
            "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n".into(),
            400,
            "malformed-request",
        ),
        (
            "a request target over 64 KiB",
            format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(70_000)),
            414,
            "uri-too-long",
        ),
        (
            "101 header lines",
            format!("GET /headers HTTP/1.1\r\nHost: a\r\n{many_headers}\r\n"),
            431,
            "header-fields-too-large",
        ),
    ];
    for (what, request, status, slug) in cases {
        let from_hyper = exchange(&oracle, request.as_bytes())
            .await?
            .with_context(|| format!("{what}: hyper closed without a reply"))?;
        ensure!(
            from_hyper.status == status && from_hyper.body.is_empty(),
            "{what}: the oracle gave {from_hyper:?}"
        );
        let reply = exchange(&ours, request.as_bytes())
            .await?
            .with_context(|| format!("{what}: no reply"))?;
        ensure!(reply.status == status, "{what}: {reply:?}");
        reply.problem(slug).with_context(|| what.to_string())?;
        ensure!(
            reply.header("connection") == Some("close"),
            "{what}: {reply:?}"
        );
    }
    // The host still serves afterwards.
    ensure!(host.get("/kv/none").await?.0 == 404);
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9112_3_2_a_request_without_one_valid_host_is_a_400_problem() -> Result<()> {
    // hyper accepts these; Spin then fails each but the second for want of a usable Host and
    // drops the connection without a reply (it serves two Hosts with the first). RFC 9112
    // §3.2 asks for a 400 for each.
    let (_state, host) = start("chaining", &Start::default()).await?;
    let ours = addr(&host);
    let cases = [
        ("no Host in HTTP/1.1", "GET /front/headers HTTP/1.1\r\n\r\n"),
        (
            "two Host headers",
            "GET /front/headers HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ),
        (
            "a Host that is not an authority",
            "GET /front/headers HTTP/1.1\r\nHost: a b\r\n\r\n",
        ),
        (
            "a Host that disagrees with the absolute target",
            "GET http://a/front/headers HTTP/1.1\r\nHost: b\r\n\r\n",
        ),
        (
            "a service-chaining Host",
            "GET /front/headers HTTP/1.1\r\nHost: back.spin.internal\r\n\r\n",
        ),
    ];
    for (what, request) in cases {
        let reply = exchange(&ours, request.as_bytes())
            .await?
            .with_context(|| format!("{what}: no reply"))?;
        ensure!(reply.status == 400, "{what}: {reply:?}");
        reply
            .problem("malformed-request")
            .with_context(|| what.to_string())?;
    }
    // HTTP/1.0 may omit Host, but Spin serves no request without an authority
    // (trigger-http `set_req_uri`), so neither does this host...
    let reply = exchange(&ours, b"GET /front/headers HTTP/1.0\r\n\r\n")
        .await?
        .context("HTTP/1.0 without Host: no reply")?;
    ensure!(reply.status == 400, "{reply:?}");
    reply.problem("malformed-request")?;
    // ...while an absolute target gives one, and spin-full-url takes its host from `Host`
    // alone (trigger-http `prepare_request_headers`): `localhost` here.
    let reply = exchange(&ours, b"GET http://a/front/headers?x=1 HTTP/1.0\r\n\r\n")
        .await?
        .context("HTTP/1.0, absolute target: no reply")?;
    ensure!(reply.status == 200, "{reply:?}");
    let seen: Value = serde_json::from_str(&reply.body)?;
    ensure!(
        seen["headers"]["spin-full-url"] == "http://localhost/front/headers?x=1",
        "{seen}"
    );
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9457_the_host_s_own_404_500_and_timeout_are_problem_documents() -> Result<()> {
    let (_state, chaining) = start("chaining", &Start::default()).await?;
    for path in ["/nowhere", "/.well-known/spin/other"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n");
        let reply = exchange(&addr(&chaining), request.as_bytes())
            .await?
            .context("no reply")?;
        ensure!(reply.status == 404, "{path}: {reply:?}");
        reply.problem("not-found")?;
    }
    chaining.stop().await?;

    let (_state, kv) = start(
        "kv",
        &Start {
            request_timeout: Some(Duration::from_secs(1)),
            ..Start::default()
        },
    )
    .await?;
    let reply = exchange(&addr(&kv), b"GET /trap HTTP/1.1\r\nHost: a\r\n\r\n")
        .await?
        .context("trap: no reply")?;
    ensure!(reply.status == 500, "{reply:?}");
    reply.problem("handler-failed")?;
    let reply = exchange(&addr(&kv), b"GET /spin-forever HTTP/1.1\r\nHost: a\r\n\r\n")
        .await?
        .context("timeout: no reply")?;
    ensure!(reply.status == 500, "{reply:?}");
    reply.problem("handler-timeout")?;
    kv.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9112_7_1_a_broken_chunk_size_is_a_problem_that_names_no_internal_value() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let request = "POST /api/applications HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
    let reply = exchange(&addr(&host), request.as_bytes())
        .await?
        .context("no reply")?;
    ensure!(reply.status == 400, "{reply:?}");
    reply.problem("malformed-body")?;
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_read_timeout_a_slow_head_gets_a_408_problem_and_the_connection_closes() -> Result<()>
{
    let (_state, host) = start_limited(100).await?;
    let mut stream = TcpStream::connect(addr(&host)).await?;
    stream.write_all(b"GET /headers HTTP/1.1\r\nHo").await?;
    let reply = tokio::time::timeout(PATIENCE, read_reply(&mut stream))
        .await
        .context("the slow head was held past the header-read timeout")??
        .context("closed without a 408")?;
    ensure!(reply.status == 408, "{reply:?}");
    reply.problem("request-timeout")?;
    ensure!(closed(&mut stream).await?, "the connection stayed open");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_timeout_an_idle_connection_is_closed_without_a_reply() -> Result<()> {
    let (_state, host) = start_limited(100).await?;
    let mut stream = TcpStream::connect(addr(&host)).await?;
    stream
        .write_all(b"GET /kv/none HTTP/1.1\r\nHost: a\r\n\r\n")
        .await?;
    let reply = read_reply(&mut stream).await?.context("no reply")?;
    ensure!(reply.status == 404, "{reply:?}");
    // Nothing more is sent: the kept-alive connection is closed, with no reply.
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest))
        .await
        .context("the idle connection was kept open")??;
    ensure!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    // After a request with a body too, chunked or not, whose reply ends the request while
    // hyper is not reading.
    for request in [
        &b"POST /echo-body HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"[..],
        &b"PUT /kv/k HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"[..],
    ] {
        let mut stream = TcpStream::connect(addr(&host)).await?;
        stream.write_all(request).await?;
        let reply = read_reply(&mut stream).await?.context("no reply")?;
        ensure!(reply.status == 200, "{reply:?}");
        let mut rest = Vec::new();
        tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest))
            .await
            .context("the idle connection was kept open after a request with a body")??;
    }
    // A connection that never sends a byte is closed the same way.
    let mut silent = TcpStream::connect(addr(&host)).await?;
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, silent.read_to_end(&mut rest))
        .await
        .context("the silent connection was kept open")??;
    ensure!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_read_timeout_a_stalled_body_gets_a_408_problem_and_frees_its_instance() -> Result<()>
{
    // A pool of one instance: if the stalled request kept its instance, the next request
    // could not be served.
    let (_state, host) = start(
        "kv",
        &Start {
            front: Some(short_limits(100)),
            max_instances: Some(1),
            ..Start::default()
        },
    )
    .await?;
    let mut stream = TcpStream::connect(addr(&host)).await?;
    stream
        .write_all(b"POST /echo-body HTTP/1.1\r\nHost: a\r\nContent-Length: 1200\r\n\r\nabcd")
        .await?;
    let reply = tokio::time::timeout(PATIENCE, read_reply(&mut stream))
        .await
        .context("the stalled body was held past the body-read timeout")??
        .context("closed without a 408")?;
    ensure!(reply.status == 408, "{reply:?}");
    reply.problem("request-timeout")?;
    ensure!(reply.header("connection") == Some("close"), "{reply:?}");
    ensure!(closed(&mut stream).await?, "the connection stayed open");
    let (status, body) = host.get("/echo-body").await?;
    ensure!(status == 200, "the instance was not freed: {status} {body}");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_slow_connections_do_not_stop_a_normal_client() -> Result<()> {
    // 200 slow clients against a cap of 50 connections and a pool of 60 instances: a third
    // send half a head, a third stall in their body, a third send nothing. Each is shed by
    // its timeout, and a normal client is answered every time meanwhile.
    let (_state, host) = start(
        "kv",
        &Start {
            front: Some(short_limits(50)),
            max_instances: Some(60),
            ..Start::default()
        },
    )
    .await?;
    let target = addr(&host);
    let mut slow = Vec::new();
    for i in 0..200 {
        let target = target.clone();
        slow.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&target).await?;
            let kind = i % 3;
            match kind {
                0 => {
                    stream
                        .write_all(b"GET /headers HTTP/1.1\r\nHost: a\r\nX-Slo")
                        .await?
                }
                1 => stream
                    .write_all(
                        b"POST /echo-body HTTP/1.1\r\nHost: a\r\nContent-Length: 1200\r\n\r\nabcd",
                    )
                    .await?,
                _ => {}
            }
            let reply = tokio::time::timeout(Duration::from_secs(120), read_reply(&mut stream))
                .await
                .context("a slow connection was held for two minutes")??;
            anyhow::Ok((kind, reply))
        }));
    }
    // The normal client: fresh connections (each waits for a free slot, not for the slow
    // clients to finish), every answer correct.
    for n in 0..20 {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(60))
            .build()?;
        let resp = client
            .put(host.url(&format!("/kv/normal-{n}")))
            .body(format!("v{n}"))
            .send()
            .await?;
        ensure!(resp.status() == 200, "request {n}: {}", resp.status());
        let resp = client
            .get(host.url(&format!("/kv/normal-{n}")))
            .send()
            .await?;
        ensure!(resp.status() == 200, "request {n}: {}", resp.status());
        ensure!(resp.text().await? == format!("v{n}"));
    }
    for task in slow {
        let (kind, reply) = task.await??;
        match (kind, reply) {
            (0 | 1, Some(reply)) => {
                ensure!(reply.status == 408, "kind {kind}: {reply:?}");
                reply.problem("request-timeout")?;
            }
            (2, None) => {}
            (kind, reply) => bail!("kind {kind}: {reply:?}"),
        }
    }
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spin_4_0_2_a_chained_request_has_no_host_and_a_localhost_full_url() -> Result<()> {
    let (_state, host) = start("chaining", &Start::default()).await?;
    let (status, body) = host.get("/front/chain/back/some/headers?q=1&r=2").await?;
    ensure!(status == 200, "{status} {body}");
    let seen: Value = serde_json::from_str(&body)?;
    let headers = &seen["headers"];
    // trigger-http `prepare_request_headers`: the host from `Host` alone, else `localhost`;
    // factor-outbound-http `prepare_request` removed `Host`.
    ensure!(
        headers["spin-full-url"] == "http://localhost/some/headers?q=1&r=2",
        "{seen}"
    );
    ensure!(headers.get("host").is_none(), "{seen}");
    // The chained request's URL keeps its `*.spin.internal` authority.
    ensure!(
        seen["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://back.spin.internal/some/headers")),
        "{seen}"
    );
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spin_4_0_2_chaining_to_a_component_the_app_lacks_fails_the_inbound_request() -> Result<()>
{
    let (_state, host) = start("chaining", &Start::default()).await?;
    // trigger-http `outbound_http.rs`: `HttpError::trap`; the caller never gets an answer
    // to hand on, and its own request is a 500.
    let reply = exchange(
        &addr(&host),
        b"GET /roamer/chain/ghost/headers HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await?
    .context("no reply")?;
    ensure!(reply.status == 500, "{reply:?}");
    reply.problem("handler-failed")?;
    // A component that exists but fails answers the caller with Spin's empty 500, which the
    // probe hands on as it got it.
    let (status, body) = host.get("/front/chain/back/trap").await?;
    ensure!(status == 500 && body.is_empty(), "{status} {body:?}");
    // Both callers' next requests are served.
    let (status, _) = host.get("/roamer/chain/back/headers").await?;
    ensure!(status == 200, "{status}");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_in_use_is_a_503_problem_with_retry_after() -> Result<()> {
    // A pool of one instance, held by a request that sleeps: the next is told to come back.
    let (_state, host) = start(
        "kv",
        &Start {
            max_instances: Some(1),
            ..Start::default()
        },
    )
    .await?;
    let target = addr(&host);
    let sleeper = tokio::spawn({
        let target = target.clone();
        async move { exchange(&target, b"GET /sleep/3000 HTTP/1.1\r\nHost: a\r\n\r\n").await }
    });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let reply = exchange(&target, b"GET /headers HTTP/1.1\r\nHost: a\r\n\r\n")
        .await?
        .context("no reply")?;
    ensure!(reply.status == 503, "{reply:?}");
    reply.problem("unavailable")?;
    ensure!(reply.header("retry-after") == Some("1"), "{reply:?}");
    let slept = sleeper.await??.context("the sleeper got no reply")?;
    ensure!(slept.status == 200, "{slept:?}");
    // The instance is back: served again.
    let (status, _) = host.get("/headers").await?;
    ensure!(status == 200, "{status}");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_a_bare_lf_after_the_last_chunk_is_a_trailer_and_the_connection_still_ends()
-> Result<()> {
    // hyper reads `\nX: y\r\n` as a trailer and `\r\n` as the end of the body; the gate
    // follows it there, so nothing is mistaken for a head and the idle connection ends.
    let (_state, host) = start_limited(100).await?;
    let mut stream = TcpStream::connect(addr(&host)).await?;
    stream
        .write_all(b"POST /echo-body HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\nX: y\r\n\r\n")
        .await?;
    let reply = read_reply(&mut stream).await?.context("no reply")?;
    ensure!(reply.status == 200 && reply.body == "abc", "{reply:?}");
    ensure!(closed(&mut stream).await?, "the connection stayed open");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_timeout_clients_that_never_read_their_replies_do_not_lock_out_others() -> Result<()>
{
    // Two connections allowed; both taken by clients that pipeline requests and never read.
    let (_state, host) = start_limited(2).await?;
    let target = addr(&host);
    let mut hogs = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&target).await?;
        let many = b"GET /headers HTTP/1.1\r\nHost: a\r\n\r\n".repeat(20_000);
        hogs.push(tokio::spawn(async move {
            // The write stalls once the server stops reading; the server then ends the
            // connection, which ends the write with an error.
            let _ = stream.write_all(&many).await;
            stream
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reply = exchange(&target, b"GET /kv/none HTTP/1.1\r\nHost: a\r\n\r\n")
        .await?
        .context("no reply")?;
    ensure!(reply.status == 404, "{reply:?}");
    for hog in hogs {
        hog.abort();
    }
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_that_compute_without_pause_do_not_stall_the_host() -> Result<()> {
    // More spinning components than worker threads: each yields at every epoch tick, so
    // the health check is answered while they run, and they are still stopped at the
    // request timeout.
    let (_state, host) = start(
        "kv",
        &Start {
            request_timeout: Some(Duration::from_secs(8)),
            ..Start::default()
        },
    )
    .await?;
    let target = addr(&host);
    let mut spinners = Vec::new();
    for _ in 0..3 {
        let target = target.clone();
        spinners.push(tokio::spawn(async move {
            exchange(&target, b"GET /spin-forever HTTP/1.1\r\nHost: a\r\n\r\n").await
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let health = tokio::time::timeout(
        Duration::from_secs(5),
        exchange(
            &target,
            b"GET /.well-known/spin/health HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
    )
    .await
    .context("the health check waited for the spinning components")??
    .context("no reply")?;
    ensure!(health.status == 200 && health.body == "OK", "{health:?}");
    for spinner in spinners {
        let reply = spinner.await??.context("a spinner got no reply")?;
        ensure!(reply.status == 500, "{reply:?}");
        reply.problem("handler-timeout")?;
    }
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_shuts_down_its_sending_side_still_gets_its_reply() -> Result<()> {
    let (_state, host) = start("kv", &Start::default()).await?;
    for request in [
        &b"GET /kv/none HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        &b"GET /nowhere/.well-known/x HTTP/1.1\r\n\r\n"[..],
    ] {
        let mut stream = TcpStream::connect(addr(&host)).await?;
        stream.write_all(request).await?;
        stream.shutdown().await?;
        let reply = tokio::time::timeout(PATIENCE, read_reply(&mut stream))
            .await
            .context("no reply in time")??
            .context("closed without a reply")?;
        ensure!(matches!(reply.status, 404 | 400), "{reply:?}");
    }
    host.stop().await
}
