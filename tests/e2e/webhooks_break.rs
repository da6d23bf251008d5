//! Webhooks from the outside (issue 13): what an attacker or a careless integrator tries
//! against the notify component, each a fault found by trying it, checked end to end on the
//! real `spin.toml`.
//!
//! - W1: a subscription URL must not make certflow call into its own components (Spin's
//!   service chaining, `<component>.spin.internal`, and self requests, `self.alt`), nor into a
//!   private network through an IPv6 address that embeds a private IPv4 address.
//! - W2: once a receiver's 410 Gone is recorded, nothing more is sent to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use certflow_tests::{Host, Store, example_application, start_app_with, with_store};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The app as the tests of outbound webhooks run it: plain http to 127.0.0.1 allowed, short
/// retries.
async fn start(state: &std::path::Path) -> Result<Host> {
    start_app_with(
        state,
        Duration::ZERO,
        &[
            ("webhook_trusted_hosts", "127.0.0.1"),
            ("webhook_outbound_host_http", "http://127.0.0.1:*"),
            ("webhook_retry_seconds", "1,1"),
            ("webhook_timeout_seconds", "2"),
        ],
    )
    .await
}

/// `POST /api/webhooks` with `url`, every event.
async fn subscribe(host: &Host, url: &str) -> Result<certflow_tests::Reply> {
    host.operator(
        reqwest::Method::POST,
        "/api/webhooks",
        Some(&json!({"url": url, "events": ["*"], "description": "break"})),
    )
    .await
}

/// The field error codes of a 422, or the status and body when it is not one.
fn error_codes(reply: &certflow_tests::Reply) -> Result<Vec<String>> {
    ensure!(reply.status == 422, "{}: {}", reply.status, reply.body);
    let errors = reply.body["errors"]
        .as_array()
        .with_context(|| format!("no errors: {}", reply.body))?;
    Ok(errors
        .iter()
        .map(|e| e["code"].as_str().unwrap_or_default().to_string())
        .collect())
}

/// The code the app gives a plain private address (`https://10.0.0.1/`).
async fn private_address_code(host: &Host) -> Result<String> {
    let codes = error_codes(&subscribe(host, "https://10.0.0.1/hook").await?)?;
    codes
        .first()
        .cloned()
        .context("a private address gave no error code")
}

/// How many subscriptions the app lists.
async fn subscription_count(host: &Host) -> Result<usize> {
    let list = host
        .operator(reqwest::Method::GET, "/api/webhooks", None)
        .await?;
    ensure!(list.status == 200, "{}: {}", list.status, list.body);
    list.body["webhooks"]
        .as_array()
        .map(Vec::len)
        .with_context(|| format!("no list: {}", list.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w1_subscription_to_the_apps_own_components_is_refused() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start(state.path()).await?;
        let private = private_address_code(&host).await?;
        // Spin routes these to the app itself, past every trigger: notify would POST into
        // the components' internal routes (screening, the outbox) or the public API.
        for url in [
            "https://review.spin.internal/internal/screening/0123456789abcdef0123456789abcdef",
            "https://notify.spin.internal/internal/records/application:x",
            "https://Notify.Spin.Internal./internal/records/application:x",
            "https://intake.spin.internal:443/api/applications",
            "https://spin.internal/",
            "https://self.alt/api/applications",
            "https://SELF.ALT./api/webhooks",
        ] {
            let codes = error_codes(&subscribe(&host, url).await?).context(url)?;
            ensure!(codes == vec![private.clone()], "{url}: {codes:?}");
        }
        ensure!(
            subscription_count(&host).await? == 0,
            "a refused subscription was stored"
        );
        host.stop().await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w1_ipv6_address_embedding_a_private_ipv4_is_refused() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start(state.path()).await?;
        let private = private_address_code(&host).await?;
        for url in [
            // IPv4-compatible (RFC 4291 2.5.5.1, deprecated).
            "https://[::127.0.0.1]/",
            "https://[::10.0.0.1]/",
            // IPv4-translated (RFC 2765 2.1).
            "https://[::ffff:0:10.0.0.1]/",
            // NAT64, well-known and local-use prefixes (RFC 6052, RFC 8215).
            "https://[64:ff9b::10.0.0.1]/",
            "https://[64:ff9b::169.254.169.254]/",
            "https://[64:ff9b:1::a00:1]/",
            // 6to4 (RFC 3056) of 10.0.0.1 and of 127.0.0.1.
            "https://[2002:a00:1::1]/",
            "https://[2002:7f00:1::]/",
            // Site-local (RFC 3879), documentation (RFC 3849), discard-only (RFC 6666).
            "https://[fec0::1]/",
            "https://[2001:db8::1]/",
            "https://[100::1]/",
        ] {
            let codes = error_codes(&subscribe(&host, url).await?).context(url)?;
            ensure!(codes == vec![private.clone()], "{url}: {codes:?}");
        }
        ensure!(
            subscription_count(&host).await? == 0,
            "a refused subscription was stored"
        );
        // Public addresses, including NAT64 of a public IPv4 address, stay allowed.
        for url in [
            "https://[2606:4700:4700::1111]/hook",
            "https://[64:ff9b::8.8.8.8]/hook",
        ] {
            let created = subscribe(&host, url).await?;
            ensure!(
                created.status == 201,
                "{url}: {} {}",
                created.status,
                created.body
            );
        }
        host.stop().await
    })
    .await
}

/// A receiver on 127.0.0.1 that answers every request with `status` after `delay` and counts
/// them.
struct Receiver {
    port: u16,
    requests: Arc<AtomicUsize>,
    /// `<application id> <type>` of every event received, in arrival order.
    types: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start(status: u16, delay: Duration) -> Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let requests = Arc::new(AtomicUsize::new(0));
        let types = Arc::new(std::sync::Mutex::new(Vec::new()));
        let counted = requests.clone();
        let typed = types.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counted = counted.clone();
                let typed = typed.clone();
                tokio::spawn(async move {
                    if let Ok(body) = read_request(&mut socket).await {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let kind = serde_json::from_slice::<Value>(&body)
                            .map(|v| {
                                format!(
                                    "{} {}",
                                    v["data"]["application_id"].as_str().unwrap_or_default(),
                                    v["type"].as_str().unwrap_or_default()
                                )
                            })
                            .unwrap_or_default();
                        if let Ok(mut types) = typed.lock() {
                            types.push(kind);
                        }
                        tokio::time::sleep(delay).await;
                        let answer = format!(
                            "HTTP/1.1 {status} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        );
                        let _ = socket.write_all(answer.as_bytes()).await;
                    }
                });
            }
        });
        Ok(Receiver {
            port,
            requests,
            types,
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn types(&self) -> Vec<String> {
        self.types.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// Reads one request's head and its `content-length` bytes of body; returns the body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Result<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = socket.read(&mut chunk).await?;
        ensure!(read > 0, "closed before the request ended");
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Ok(buffer[end + 4..end + 4 + length].to_vec());
            }
        }
    }
}

/// Waits up to 20 s for `check` to hold.
async fn eventually<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    for _ in 0..200 {
        if check().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("timed out waiting for {what}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w2_receiver_answering_410_gone_gets_no_further_request() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start(state.path()).await?;
        // A slow receiver first: one of two notify requests waits on it while the other
        // reaches the 410 receiver, so the first goes on with the subscription as it was.
        let slow = Receiver::start(200, Duration::from_millis(700)).await?;
        let first = subscribe(&host, &slow.url()).await?;
        ensure!(first.status == 201, "{}", first.body);
        let gone = Receiver::start(410, Duration::ZERO).await?;
        let created = subscribe(&host, &gone.url()).await?;
        ensure!(created.status == 201, "{}", created.body);
        let id = created.body["id"].as_str().context("no id")?.to_string();
        // Each submission makes two events (submitted, screened) announced by two
        // components at once: two notify requests deliver them concurrently.
        for _ in 0..3 {
            let submitted = host.submit(&example_application()?, None).await?;
            ensure!(submitted.status == 201, "{}", submitted.body);
        }
        let path = format!("/api/webhooks/{id}");
        eventually("the subscription to be disabled", || async {
            let view = host.operator(reqwest::Method::GET, &path, None).await?;
            Ok(!view.body["disabled"].is_null())
        })
        .await?;
        // Attempts already under way when the 410 came (another notify instance read the
        // subscription a moment before it was disabled) may still arrive: at most one per
        // instance working on it. Let them settle.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let settled = gone.count();
        ensure!(
            (1..=3).contains(&settled),
            "the 410 receiver got {settled} requests before the subscription was disabled"
        );
        // From now on nothing: not a dispatch (the retries' due times have passed), not a
        // new application's events.
        let submitted = host.submit(&example_application()?, None).await?;
        ensure!(submitted.status == 201, "{}", submitted.body);
        let dispatched = host
            .operator(reqwest::Method::POST, "/api/webhooks/dispatch", None)
            .await?;
        ensure!(dispatched.status == 200, "{}", dispatched.body);
        tokio::time::sleep(Duration::from_secs(1)).await;
        ensure!(
            gone.count() == settled,
            "the subscription was disabled after {settled} request(s) and then got {} more",
            gone.count() - settled
        );
        let deliveries = host
            .operator(reqwest::Method::GET, &format!("{path}/deliveries"), None)
            .await?;
        let attempted = deliveries.body["deliveries"]
            .as_array()
            .context("no deliveries")?
            .iter()
            .filter(|d| d["attempts"].as_array().is_some_and(|a| !a.is_empty()))
            .count();
        ensure!(
            attempted == settled,
            "{attempted} deliveries were attempted, the receiver got {settled}: {}",
            deliveries.body["deliveries"]
        );
        host.stop().await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w1_receiver_no_longer_trusted_is_not_sent_to() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start(state.path()).await?;
        let receiver = Receiver::start(200, Duration::ZERO).await?;
        let created = subscribe(&host, &receiver.url()).await?;
        ensure!(created.status == 201, "{}", created.body);
        let id = created.body["id"].as_str().context("no id")?.to_string();
        host.stop().await?;
        // The operator takes 127.0.0.1 off the trusted hosts; the outbound entry stays.
        let host = start_app_with(
            state.path(),
            Duration::ZERO,
            &[
                ("webhook_trusted_hosts", ""),
                ("webhook_outbound_host_http", "http://127.0.0.1:*"),
            ],
        )
        .await?;
        let ping = host
            .operator(
                reqwest::Method::POST,
                &format!("/api/webhooks/{id}/ping"),
                None,
            )
            .await?;
        ensure!(ping.status == 200, "{}: {}", ping.status, ping.body);
        let attempt = &ping.body["delivery"]["attempts"][0];
        ensure!(
            attempt["status_code"].is_null()
                && attempt["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("not allowed")),
            "{attempt}"
        );
        ensure!(
            receiver.count() == 0,
            "an untrusted http receiver got {} request(s)",
            receiver.count()
        );
        host.stop().await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w1_subscription_with_port_0_or_a_control_character_is_422() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start(state.path()).await?;
        // Port 0 is never a receiver (RFC 6335); a description is one line of text (as every
        // one-line text of the app): a NUL or an escape sequence would reach operators' screens.
        let refused = host
            .operator(
                reqwest::Method::POST,
                "/api/webhooks",
                Some(&json!({
                    "url": "https://hooks.example.com:0/x",
                    "events": ["*"],
                    "description": "ops\u{0}\u{1b}[31m",
                })),
            )
            .await?;
        let fields: Vec<(String, String)> = refused.body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["field"].as_str().unwrap_or_default().to_string(),
                    e["code"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        ensure!(
            refused.status == 422
                && fields
                    == vec![
                        ("/url".to_string(), "invalid_format".to_string()),
                        ("/description".to_string(), "invalid_format".to_string()),
                    ],
            "{}: {}",
            refused.status,
            refused.body
        );
        ensure!(subscription_count(&host).await? == 0, "stored");
        host.stop().await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w2_decision_recorded_arrives_before_certificate_issued() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start(state.path()).await?;
        certflow_tests::workflow::register_people(&host).await?;
        // A grant records the decision (independence) and chains the certificate's issue: two
        // records, two components, two announcements, one stream.
        let receiver = Receiver::start(200, Duration::from_millis(200)).await?;
        let created = host
            .operator(
                reqwest::Method::POST,
                "/api/webhooks",
                Some(&json!({"url": receiver.url(),
                    "events": ["decision.recorded", "certificate.issued"]})),
            )
            .await?;
        ensure!(created.status == 201, "{}", created.body);
        let rounds = 3;
        let mut ids = Vec::new();
        for _ in 0..rounds {
            ids.push(
                certflow_tests::workflow::certify(&host, &mut Vec::new())
                    .await?
                    .0,
            );
        }
        eventually("every decision and certificate", || async {
            Ok(receiver.count() >= 2 * rounds)
        })
        .await?;
        let received = receiver.types();
        for id in &ids {
            let of_it: Vec<&str> = received
                .iter()
                .filter_map(|t| t.strip_prefix(&format!("{id} ")))
                .collect();
            ensure!(
                of_it == ["decision.recorded", "certificate.issued"],
                "application {id}: received in the order {of_it:?}"
            );
        }
        host.stop().await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w2_every_accepted_timeout_setting_delivers() -> Result<()> {
    with_store(Store::Sqlite, async {
        // An attempt starts only when its whole timeout fits in the request's budget for
        // attempts: a timeout the settings accept must fit, or no event is ever delivered.
        for timeout in ["20", "21", "25"] {
            let state = tempfile::tempdir()?;
            let host = start_app_with(
                state.path(),
                Duration::ZERO,
                &[
                    ("webhook_trusted_hosts", "127.0.0.1"),
                    ("webhook_outbound_host_http", "http://127.0.0.1:*"),
                    ("webhook_timeout_seconds", timeout),
                ],
            )
            .await?;
            let receiver = Receiver::start(200, Duration::ZERO).await?;
            let created = subscribe(&host, &receiver.url()).await?;
            if created.status == 503 {
                // Refused as a setting: the operator is told which variable.
                ensure!(
                    created.body["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("webhook_timeout_seconds")),
                    "{timeout}: {}",
                    created.body
                );
                host.stop().await?;
                continue;
            }
            ensure!(created.status == 201, "{timeout}: {}", created.body);
            let submitted = host.submit(&example_application()?, None).await?;
            ensure!(submitted.status == 201, "{}", submitted.body);
            let dispatched = host
                .operator(reqwest::Method::POST, "/api/webhooks/dispatch", None)
                .await?;
            ensure!(dispatched.status == 200, "{}", dispatched.body);
            eventually("both events delivered", || async {
                Ok(receiver.count() >= 2)
            })
            .await
            .with_context(|| format!("timeout {timeout}: dispatch answered {}", dispatched.body))?;
            host.stop().await?;
        }
        Ok(())
    })
    .await
}
