//! A real webhook receiver for the outbound tests: a small hyper HTTP/1.1 server on
//! `127.0.0.1:<ephemeral>` that records every request it gets (method, path, headers, body,
//! time), checks each Standard Webhooks signature against the secrets the test gives it (with
//! the `standardwebhooks` crate's `verify`, and again from the scheme's definition with
//! `hmac` and `sha2`, independently of any crate the app signs with), and
//! answers as the test planned: per path a queue of [`Answer`]s (e.g. 500, 500, then the
//! path's default, 200), a status, a delay longer than the sender's timeout, or a dropped
//! connection.
//!
//! ```ignore
//! let receiver = Receiver::start().await?;
//! receiver.plan("/hooks", [Answer::Status(500), Answer::Status(500)])?;
//! // subscribe receiver.url("/hooks"), then:
//! receiver.expect_secrets("/hooks", &[&secret])?;
//! let got = receiver.wait_for("/hooks", 3, Duration::from_secs(30)).await?;
//! ```
//!
//! The server stops when the [`Receiver`] is dropped.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use standardwebhooks::Webhook;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Answer at once with this status (and an empty body).
    Status(u16),
    /// Wait this long, then answer with the status: longer than the sender's timeout, it is a
    /// timeout to the sender.
    Delay(Duration, u16),
    /// Close the connection without answering (the sender sees a reset or an early EOF).
    Drop,
}

/// One request the receiver got, as it got it.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The request's method (`POST`).
    pub method: String,
    /// The request's path (without the query).
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// When it arrived (wall clock) and the same moment on the monotonic clock.
    pub at: SystemTime,
    pub instant: Instant,
    /// How the receiver answered it.
    pub answer: Answer,
    /// For each signature of the `webhook-signature` header, in order: the index in the
    /// path's secrets ([`Receiver::expect_secrets`]) of the secret that made it; `None` when
    /// no secret made it. Computed here from the scheme's definition with `hmac` and `sha2`
    /// (`v1,` + base64 of HMAC-SHA256(key, `<webhook-id>.<webhook-timestamp>.<body>`), the
    /// key the base64 after `whsec_`), so independently of the `standardwebhooks` crate that
    /// the app signs with; the timestamp's age is not checked here ([`Self::verified`] does).
    pub signatures: Vec<(String, Option<usize>)>,
    /// `standardwebhooks::Webhook::verify` (signature and the scheme's 5-minute timestamp
    /// tolerance) with each of the path's secrets: `Ok` when one of them verifies the request,
    /// else the last error (`no secret expected for <path>` when the test gave none).
    pub verified: Result<(), String>,
}

impl Delivery {
    /// A header as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `webhook-id` header.
    pub fn webhook_id(&self) -> Result<&str> {
        self.header("webhook-id").context("no webhook-id header")
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("body is not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The payload's `type`.
    pub fn event_type(&self) -> Result<String> {
        Ok(self.json()?["type"]
            .as_str()
            .context("payload without a type")?
            .to_string())
    }

    /// Whether the delivery carries exactly `expected` signatures, each made by a different one
    /// of the path's secrets (`signatures` all `Some`, no secret twice).
    pub fn signed_by_each(&self, expected: usize) -> bool {
        let mut seen: Vec<usize> = self.signatures.iter().filter_map(|(_, s)| *s).collect();
        seen.sort_unstable();
        seen.dedup();
        self.signatures.len() == expected
            && seen.len() == expected
            && self.signatures.iter().all(|(_, s)| s.is_some())
    }
}

#[derive(Default)]
struct State {
    /// Per path: the answers still to give, in order.
    plans: HashMap<String, VecDeque<Answer>>,
    /// Per path: the answer once the plan is used up (default `Status(200)`).
    defaults: HashMap<String, Answer>,
    /// Per path: the secrets (`whsec_...`) signatures are checked against.
    secrets: HashMap<String, Vec<String>>,
    deliveries: Vec<Delivery>,
}

struct Shared {
    state: Mutex<State>,
    /// The number of deliveries recorded, for waiters.
    arrived: watch::Sender<usize>,
}

impl Shared {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| anyhow::anyhow!("the receiver's state is poisoned"))
    }
}

/// The receiver; see the module documentation.
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Aborting the accept loop drops its connections' tasks too (they live in its JoinSet).
        self.server.abort();
    }
}

impl Receiver {
    /// Starts a receiver on `127.0.0.1` at a port the system picks.
    pub async fn start() -> Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (arrived, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            arrived,
        });
        let serving = shared.clone();
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of descriptors, say: try again shortly rather than spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let shared = serving.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| answer(shared.clone(), req));
                    // An error here is a connection the receiver dropped on purpose, or a
                    // client that went away: nothing to report.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                // Reap finished connections so the set does not grow for ever.
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Receiver {
            addr,
            shared,
            server,
        })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Appends `answers` to `path`'s plan: the next requests to `path` get them in order.
    pub fn plan(&self, path: &str, answers: impl IntoIterator<Item = Answer>) -> Result<()> {
        self.shared
            .lock()?
            .plans
            .entry(path.to_string())
            .or_default()
            .extend(answers);
        Ok(())
    }

    /// How `path` answers once its plan is used up (initially `Status(200)`).
    pub fn always(&self, path: &str, answer: Answer) -> Result<()> {
        self.shared
            .lock()?
            .defaults
            .insert(path.to_string(), answer);
        Ok(())
    }

    /// The secrets (`whsec_<base64>`) the signatures of requests to `path` are checked
    /// against from now on (replacing earlier ones). A secret the scheme cannot read is an
    /// error.
    pub fn expect_secrets(&self, path: &str, secrets: &[&str]) -> Result<()> {
        for secret in secrets {
            Webhook::new(secret).map_err(|e| anyhow::anyhow!("secret {secret:?}: {e}"))?;
        }
        self.shared.lock()?.secrets.insert(
            path.to_string(),
            secrets.iter().map(|s| s.to_string()).collect(),
        );
        Ok(())
    }

    /// Every request so far, in arrival order.
    pub fn deliveries(&self) -> Result<Vec<Delivery>> {
        Ok(self.shared.lock()?.deliveries.clone())
    }

    /// The requests to `path` so far, in arrival order.
    pub fn deliveries_to(&self, path: &str) -> Result<Vec<Delivery>> {
        Ok(self
            .shared
            .lock()?
            .deliveries
            .iter()
            .filter(|d| d.path == path)
            .cloned()
            .collect())
    }

    /// Waits until `done` holds of all the requests so far (in arrival order), at most
    /// `within`; returns them then. `what` names the wait in the error of a timeout, which
    /// lists what did arrive.
    pub async fn wait_until(
        &self,
        what: &str,
        within: Duration,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Result<Vec<Delivery>> {
        let deadline = tokio::time::Instant::now() + within;
        let mut arrived = self.shared.arrived.subscribe();
        loop {
            // Marks the current count seen before looking, so no arrival is missed.
            arrived.mark_unchanged();
            let deliveries = self.deliveries()?;
            if done(&deliveries) {
                return Ok(deliveries);
            }
            match tokio::time::timeout_at(deadline, arrived.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => bail!("the receiver stopped while waiting for {what}"),
                Err(_) => {
                    let got: Vec<String> = deliveries
                        .iter()
                        .map(|d| {
                            format!(
                                "{} {} {}",
                                d.path,
                                d.header("webhook-id").unwrap_or("-"),
                                d.event_type().unwrap_or_else(|_| "?".into())
                            )
                        })
                        .collect();
                    bail!("no {what} within {within:?}; got {got:?}")
                }
            }
        }
    }

    /// Waits (at most `within`) until `path` got at least `n` requests; returns those to
    /// `path`.
    pub async fn wait_for(&self, path: &str, n: usize, within: Duration) -> Result<Vec<Delivery>> {
        let what = format!("{n} requests to {path}");
        let all = self
            .wait_until(&what, within, |d| {
                d.iter().filter(|d| d.path == path).count() >= n
            })
            .await?;
        Ok(all.into_iter().filter(|d| d.path == path).collect())
    }
}

/// Records `req` and answers it per its path's plan.
async fn answer(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let at = SystemTime::now();
    let instant = Instant::now();
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| std::io::Error::other(format!("reading the body: {e}")))?
        .to_bytes();
    let path = parts.uri.path().to_string();
    let answer = {
        let mut state = shared
            .lock()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let default = state
            .defaults
            .get(&path)
            .copied()
            .unwrap_or(Answer::Status(200));
        let answer = state
            .plans
            .get_mut(&path)
            .and_then(VecDeque::pop_front)
            .unwrap_or(default);
        let secrets = state.secrets.get(&path).cloned().unwrap_or_default();
        let (signatures, verified) = check(&path, &parts.headers, &body, &secrets);
        state.deliveries.push(Delivery {
            method: parts.method.to_string(),
            path,
            headers: parts.headers,
            body,
            at,
            instant,
            answer,
            signatures,
            verified,
        });
        answer
    };
    shared.arrived.send_modify(|n| *n += 1);
    let status = match answer {
        Answer::Status(status) => status,
        Answer::Delay(wait, status) => {
            tokio::time::sleep(wait).await;
            status
        }
        // An error from the service makes hyper close the connection without a response.
        Answer::Drop => return Err(std::io::Error::other("dropped as planned")),
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() =
        StatusCode::from_u16(status).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(response)
}

/// The signatures of a request checked against `secrets` (see [`Delivery::signatures`] and
/// [`Delivery::verified`]).
type Checked = (Vec<(String, Option<usize>)>, Result<(), String>);

/// The Standard Webhooks `v1` signature of `id`, `timestamp` (as sent) and `body` with
/// `secret` (`whsec_<base64 key>`), from the scheme's definition; `None` for a secret whose key
/// is not base64.
pub fn v1_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> Option<String> {
    use base64::Engine as _;
    use hmac::Mac as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    ))
}

fn check(path: &str, headers: &http::HeaderMap, body: &[u8], secrets: &[String]) -> Checked {
    let webhooks: Vec<Webhook> = secrets
        .iter()
        .filter_map(|s| Webhook::new(s).ok())
        .collect();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let expected: Vec<Option<String>> = match (
        header(standardwebhooks::HEADER_WEBHOOK_ID),
        header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP),
    ) {
        (Some(id), Some(timestamp)) => secrets
            .iter()
            .map(|secret| v1_signature(secret, id, timestamp, body))
            .collect(),
        _ => Vec::new(),
    };
    let signatures = header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE)
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|sig| {
            let by = expected.iter().position(|e| e.as_deref() == Some(sig));
            (sig.to_string(), by)
        })
        .collect();
    let mut verified = Err(format!("no secret expected for {path}"));
    for webhook in &webhooks {
        verified = webhook.verify(body, headers).map_err(|e| e.to_string());
        if verified.is_ok() {
            break;
        }
    }
    (signatures, verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const OTHER: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn now() -> i64 {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    /// POSTs `body` to `url` signed with `secrets` (one signature each) at `timestamp`.
    async fn send(
        client: &reqwest::Client,
        url: &str,
        id: &str,
        timestamp: i64,
        body: &str,
        secrets: &[&str],
    ) -> Result<reqwest::Response> {
        Ok(signed(client, url, id, timestamp, body, secrets)?
            .send()
            .await?)
    }

    /// The request [`send`] sends.
    fn signed(
        client: &reqwest::Client,
        url: &str,
        id: &str,
        timestamp: i64,
        body: &str,
        secrets: &[&str],
    ) -> Result<reqwest::RequestBuilder> {
        let mut signatures = Vec::new();
        for secret in secrets {
            let webhook = Webhook::new(secret).map_err(|e| anyhow::anyhow!("{e}"))?;
            signatures.push(
                webhook
                    .sign(id, timestamp, body.as_bytes())
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            );
        }
        Ok(client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body.to_string()))
    }

    #[test]
    fn standard_webhooks_v1_signature_matches_the_crate_s_test_vector() -> Result<()> {
        // The `standardwebhooks` crate's own `test_sign` vector.
        let signature = v1_signature(
            SECRET,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            "1649367553",
            br#"{"email":"test@example.com","username":"test_user"}"#,
        );
        anyhow::ensure!(
            signature.as_deref() == Some("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="),
            "{signature:?}"
        );
        anyhow::ensure!(v1_signature("whsec_%%%", "m", "1", b"{}").is_none());
        Ok(())
    }

    #[tokio::test]
    async fn standard_webhooks_receiver_verifies_and_records_each_signature() -> Result<()> {
        let receiver = Receiver::start().await?;
        receiver.expect_secrets("/a", &[SECRET, OTHER])?;
        let client = reqwest::Client::new();
        let body = r#"{"type":"webhook.ping","timestamp":"2026-12-01T00:00:00Z","data":{}}"#;
        let url = receiver.url("/a");
        // Both secrets sign (rotation); one of them; the wrong one; a stale timestamp.
        send(&client, &url, "msg_1", now(), body, &[OTHER, SECRET]).await?;
        send(&client, &url, "msg_2", now(), body, &[SECRET]).await?;
        let wrong = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        send(&client, &url, "msg_3", now(), body, &[wrong]).await?;
        send(&client, &url, "msg_4", now() - 301, body, &[SECRET]).await?;
        let got = receiver.wait_for("/a", 4, Duration::from_secs(10)).await?;
        anyhow::ensure!(got.len() == 4, "{got:?}");
        anyhow::ensure!(got[0].verified.is_ok() && got[0].signed_by_each(2));
        anyhow::ensure!(got[0].signatures[0].1 == Some(1) && got[0].signatures[1].1 == Some(0));
        anyhow::ensure!(got[1].verified.is_ok() && got[1].signed_by_each(1));
        anyhow::ensure!(got[2].verified.is_err() && got[2].signatures[0].1.is_none());
        // Stale: the signature is the secret's, but the scheme's tolerance refuses it.
        anyhow::ensure!(got[3].signed_by_each(1), "{:?}", got[3].signatures);
        anyhow::ensure!(
            got[3]
                .verified
                .as_ref()
                .is_err_and(|e| e.contains("too old")),
            "{:?}",
            got[3].verified
        );
        anyhow::ensure!(got[0].webhook_id()? == "msg_1" && got[0].method == "POST");
        anyhow::ensure!(got[0].event_type()? == "webhook.ping");
        anyhow::ensure!(got[0].json()?["data"] == serde_json::json!({}));
        anyhow::ensure!(got.windows(2).all(|w| w[0].instant <= w[1].instant));
        Ok(())
    }

    #[tokio::test]
    async fn standard_webhooks_receiver_without_a_secret_verifies_nothing() -> Result<()> {
        let receiver = Receiver::start().await?;
        let client = reqwest::Client::new();
        send(
            &client,
            &receiver.url("/b"),
            "msg_1",
            now(),
            "{}",
            &[SECRET],
        )
        .await?;
        let got = receiver.wait_for("/b", 1, Duration::from_secs(10)).await?;
        anyhow::ensure!(
            got[0]
                .verified
                .as_ref()
                .is_err_and(|e| e.contains("no secret")),
            "{:?}",
            got[0].verified
        );
        anyhow::ensure!(got[0].signatures.len() == 1 && got[0].signatures[0].1.is_none());
        Ok(())
    }

    #[tokio::test]
    async fn receiver_answers_per_path_plan_then_default() -> Result<()> {
        let receiver = Receiver::start().await?;
        receiver.plan("/p", [Answer::Status(500), Answer::Status(503)])?;
        receiver.always("/gone", Answer::Status(410))?;
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for path in ["/p", "/p", "/p", "/other", "/gone", "/gone"] {
            let sent = send(&client, &receiver.url(path), "msg", now(), "{}", &[]).await?;
            statuses.push(sent.status().as_u16());
        }
        anyhow::ensure!(statuses == [500, 503, 200, 200, 410, 410], "{statuses:?}");
        let answers: Vec<Answer> = receiver.deliveries()?.iter().map(|d| d.answer).collect();
        anyhow::ensure!(answers[0] == Answer::Status(500) && answers[4] == Answer::Status(410));
        anyhow::ensure!(receiver.deliveries_to("/p")?.len() == 3);
        Ok(())
    }

    #[tokio::test]
    async fn receiver_delay_is_a_timeout_and_drop_closes_the_connection() -> Result<()> {
        let receiver = Receiver::start().await?;
        receiver.plan(
            "/slow",
            [Answer::Delay(Duration::from_secs(3), 200), Answer::Drop],
        )?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()?;
        let started = Instant::now();
        let slow = signed(&client, &receiver.url("/slow"), "m1", now(), "{}", &[])?
            .send()
            .await;
        anyhow::ensure!(
            slow.as_ref().is_err_and(|e| e.is_timeout()),
            "expected a timeout: {slow:?}"
        );
        anyhow::ensure!(started.elapsed() < Duration::from_secs(3));
        let dropped = signed(&client, &receiver.url("/slow"), "m2", now(), "{}", &[])?
            .send()
            .await;
        anyhow::ensure!(
            dropped
                .as_ref()
                .is_err_and(|e| !e.is_timeout() && e.status().is_none()),
            "expected a closed connection: {dropped:?}"
        );
        // Both were recorded although neither was answered.
        let got = receiver
            .wait_for("/slow", 2, Duration::from_secs(5))
            .await?;
        anyhow::ensure!(got[1].answer == Answer::Drop, "{:?}", got[1].answer);
        Ok(())
    }

    #[tokio::test]
    async fn receiver_wait_times_out_naming_what_arrived() -> Result<()> {
        let receiver = Receiver::start().await?;
        let client = reqwest::Client::new();
        send(&client, &receiver.url("/x"), "msg_9", now(), "{}", &[]).await?;
        let waited = receiver.wait_for("/x", 2, Duration::from_millis(300)).await;
        let Err(e) = waited else {
            bail!("a second request never sent arrived");
        };
        anyhow::ensure!(e.to_string().contains("msg_9"), "{e}");
        Ok(())
    }
}
