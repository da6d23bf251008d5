//! Outbound webhooks end to end (issue 13; the notify component): the real `spin.toml` sends
//! Standard Webhooks deliveries to the harness's receiver (`harness/receiver.rs`, which checks
//! every signature with the `standardwebhooks` crate) on 127.0.0.1. The host runs with
//! `webhook_outbound_host_http=http://127.0.0.1:*` and `webhook_trusted_hosts=127.0.0.1` (so a
//! subscription may use plain http to the receiver), a retry schedule of 1 s waits
//! ([`RETRY_SECONDS`]) and a 2 s timeout ([`TIMEOUT_SECONDS`]); retries are driven by
//! `POST /api/webhooks/dispatch`, as a scheduler would call it.

use anyhow::{Context, Result, bail, ensure};
use certflow_tests::receiver::{Answer, Delivery, Receiver};
use certflow_tests::workflow::{
    accepted_application, after, assessment, audit, certificate_details, certify, date, days_ago,
    grant_certificate, offset_to, post, register_people,
};
use certflow_tests::{
    Host, OPERATOR_TOKEN, Reply, build_app_components, each_store, example_application,
    start_app_at, start_app_with, store_env, with_parent_store,
};
use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// The waits before attempts 2, 3 and 4: four attempts, then `failed`.
const RETRY_SECONDS: &str = "1,1,1";
/// How many attempts [`RETRY_SECONDS`] allows.
const ATTEMPTS: usize = 4;
/// How long notify waits for a receiver's answer.
const TIMEOUT_SECONDS: u64 = 2;

/// The variables every test host runs with (see the module documentation).
fn webhook_variables() -> [(&'static str, String); 4] {
    [
        ("webhook_outbound_host_http", "http://127.0.0.1:*".into()),
        ("webhook_trusted_hosts", "127.0.0.1".into()),
        ("webhook_retry_seconds", RETRY_SECONDS.into()),
        ("webhook_timeout_seconds", TIMEOUT_SECONDS.to_string()),
    ]
}

/// The app with [`webhook_variables`], its guests' clock `offset` ahead.
async fn start_at(state: &Path, offset: Duration) -> Result<Host> {
    let variables = webhook_variables();
    let extra: Vec<(&str, &str)> = variables.iter().map(|(n, v)| (*n, v.as_str())).collect();
    start_app_with(state, offset, &extra).await
}

async fn start(state: &Path) -> Result<Host> {
    start_at(state, Duration::ZERO).await
}

/// A subscription as `POST /api/webhooks` created it: its id and its secret.
struct Subscription {
    id: String,
    secret: String,
}

/// Subscribes `url` to `events`; checks the 201's shape (the secret shown once).
async fn subscribe(host: &Host, url: &str, events: &[&str]) -> Result<Subscription> {
    let body = json!({ "url": url, "events": events, "description": "test receiver" });
    let created = post(host, "/api/webhooks", &body).await?;
    ensure!(created.status == 201, "{}", created.body);
    let view = &created.body;
    let id = view["id"].as_str().context("id")?.to_string();
    let secret = view["secret"].as_str().context("secret")?.to_string();
    ensure!(
        id.strip_prefix("wh_")
            .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())),
        "{view}"
    );
    ensure!(secret.starts_with("whsec_"), "{view}");
    ensure!(
        view["url"] == url && view["events"] == json!(events) && view["created_at"].is_string(),
        "{view}"
    );
    Ok(Subscription { id, secret })
}

/// Subscribes the receiver's `path` and tells the receiver the secret.
async fn subscribe_receiver(
    host: &Host,
    receiver: &Receiver,
    path: &str,
    events: &[&str],
) -> Result<Subscription> {
    let subscription = subscribe(host, &receiver.url(path), events).await?;
    receiver.expect_secrets(path, &[&subscription.secret])?;
    Ok(subscription)
}

/// `POST /api/webhooks/dispatch`: its report.
async fn dispatch(host: &Host) -> Result<Value> {
    let report = host
        .operator(Method::POST, "/api/webhooks/dispatch", None)
        .await?;
    ensure!(report.status == 200, "{}", report.body);
    for field in ["records", "enqueued", "attempted", "delivered", "failed"] {
        ensure!(report.body[field].is_u64(), "{field}: {}", report.body);
    }
    Ok(report.body)
}

/// Calls dispatch about every second (as a scheduler would, faster) until `done` holds of the
/// receiver's requests, at most `within`.
async fn dispatch_until(
    host: &Host,
    receiver: &Receiver,
    what: &str,
    within: Duration,
    done: impl Fn(&[Delivery]) -> bool,
) -> Result<Vec<Delivery>> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let got = receiver.deliveries()?;
        if done(&got) {
            return Ok(got);
        }
        if std::time::Instant::now() > deadline {
            bail!("no {what} within {within:?}; got {}", summary(&got));
        }
        dispatch(host).await?;
        // Wait for an arrival, or a second (the retry wait) before the next dispatch.
        let _ = receiver
            .wait_until(what, Duration::from_millis(1100), |d| done(d))
            .await;
    }
}

/// The requests as `<webhook-id> <type> <answer>`, for messages.
fn summary(got: &[Delivery]) -> String {
    let lines: Vec<String> = got
        .iter()
        .map(|d| {
            format!(
                "{} {} {:?}",
                d.header("webhook-id").unwrap_or("-"),
                d.event_type().unwrap_or_else(|_| "?".into()),
                d.answer
            )
        })
        .collect();
    format!("{lines:?}")
}

/// The event types of `got`, once per `webhook-id` (the first arrival of each; at-least-once
/// delivery may repeat one), in arrival order.
fn event_types(got: &[Delivery]) -> Result<Vec<String>> {
    let mut seen = std::collections::BTreeSet::new();
    let mut types = Vec::new();
    for d in got {
        if seen.insert(d.webhook_id()?.to_string()) {
            types.push(d.event_type()?);
        }
    }
    Ok(types)
}

/// `GET /api/webhooks/:id/deliveries`, oldest first.
async fn deliveries(host: &Host, subscription: &str) -> Result<Vec<Value>> {
    let listed = host
        .operator(
            Method::GET,
            &format!("/api/webhooks/{subscription}/deliveries"),
            None,
        )
        .await?;
    ensure!(listed.status == 200, "{}", listed.body);
    listed.body["deliveries"]
        .as_array()
        .cloned()
        .context("deliveries")
}

/// The deliveries list once `settled` holds of it, at most 10 s (a receiver has a request
/// before notify records how the attempt ended); the last list read otherwise, for the
/// caller's check to name.
async fn deliveries_when(
    host: &Host,
    subscription: &str,
    settled: impl Fn(&[Value]) -> bool,
) -> Result<Vec<Value>> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let listed = deliveries(host, subscription).await?;
        if settled(&listed) || std::time::Instant::now() > deadline {
            return Ok(listed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether every delivery listed is delivered.
fn all_delivered(listed: &[Value]) -> bool {
    listed.iter().all(|d| d["status"] == "delivered")
}

/// `GET /api/webhooks/:id` (200).
async fn view(host: &Host, subscription: &str) -> Result<Value> {
    let read = host
        .operator(Method::GET, &format!("/api/webhooks/{subscription}"), None)
        .await?;
    ensure!(read.status == 200, "{}", read.body);
    Ok(read.body)
}

/// A request as an operator whose reply may have no body: status, content type, text.
async fn raw(
    host: &Host,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, String, String)> {
    let mut req = host.client.request(method, host.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        req = req.header("content-type", content_type);
    }
    if let Some(body) = body {
        req = req.body(body.to_string());
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Ok((status, content_type, resp.text().await?))
}

/// The attempts of a delivery view.
fn attempts(delivery: &Value) -> Result<Vec<Value>> {
    delivery["attempts"].as_array().cloned().context("attempts")
}

/// The status codes of a delivery's attempts (`None`: no response).
fn status_codes(delivery: &Value) -> Result<Vec<Option<u64>>> {
    Ok(attempts(delivery)?
        .iter()
        .map(|a| a["status_code"].as_u64())
        .collect())
}

/// Every attempt has a time, a duration in ms, and an error exactly when there was no 2xx.
fn attempts_well_formed(delivery: &Value) -> Result<()> {
    for attempt in attempts(delivery)? {
        ensure!(
            attempt["at"].is_string() && attempt["duration_ms"].is_u64(),
            "{delivery}"
        );
        let ok = attempt["status_code"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s));
        ensure!(
            ok == attempt["error"].is_null(),
            "an attempt's error must say why it was not a 2xx: {delivery}"
        );
    }
    Ok(())
}

/// The field errors' codes of a problem, with its type's last segment, written with `_`
/// (field codes are snake_case, as `out_of_range`; problem types kebab-case).
fn problem_codes(body: &Value) -> Vec<String> {
    let mut codes: Vec<String> = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(kind) = body["type"].as_str().and_then(|t| t.rsplit('/').next()) {
        codes.push(kind.to_string());
    }
    codes.iter().map(|c| c.replace('-', "_")).collect()
}

/// Personal data of the example application and the people the workflow names: none may
/// appear in an event's payload (R3: a subscriber reads details with its own credentials).
const PERSONAL: [&str; 10] = [
    "Li Wei",
    "li.wei@acme.example",
    "+86 21 5555 0100",
    "88 Century Ave",
    "Zhang San",
    "Li Na",
    "Wang Fang",
    "Chen Jie",
    "Zhao Min",
    "Example Consulting",
];

/// Checks a delivery the way a receiver must read it: POST, JSON, `{type, timestamp, data}`,
/// the three Standard Webhooks headers, and (unless the guests' clock runs ahead) a signature
/// that `standardwebhooks` verifies; with the clock ahead, each signature must still be the
/// secret's over this id, timestamp and body.
fn well_formed(d: &Delivery, clock_ahead: bool) -> Result<Value> {
    ensure!(d.method == "POST", "{}", d.method);
    ensure!(
        d.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        d.headers
    );
    let id = d.webhook_id()?;
    // `msg_<hex>` for events, `msg_ping_<hex>` for pings.
    ensure!(
        id.strip_prefix("msg_")
            .is_some_and(|rest| !rest.is_empty()
                && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')),
        "webhook-id {id}"
    );
    ensure!(
        d.header("webhook-timestamp")
            .is_some_and(|t| t.parse::<i64>().is_ok()),
        "{:?}",
        d.headers
    );
    if clock_ahead {
        ensure!(d.signed_by_each(1), "{id}: {:?}", d.signatures);
    } else {
        ensure!(d.verified.is_ok(), "{id}: {:?}", d.verified);
    }
    let payload = d.json()?;
    let members: Vec<&String> = payload.as_object().context("payload")?.keys().collect();
    ensure!(
        members == ["data", "timestamp", "type"],
        "payload members: {payload}"
    );
    let timestamp = payload["timestamp"].as_str().context("timestamp")?;
    chrono::DateTime::parse_from_rfc3339(timestamp).with_context(|| timestamp.to_string())?;
    ensure!(payload["data"].is_object(), "{payload}");
    let data = payload["data"].to_string();
    for personal in PERSONAL {
        ensure!(!data.contains(personal), "{personal} in {payload}");
    }
    Ok(payload)
}

/// The events of the workflow below, in order.
const WORKFLOW_EVENTS: [&str; 14] = [
    "application.submitted",
    "application.screened",
    "application.reviewed",
    "remote_audit.assessed",
    "audit.recorded",
    "audit.recorded",
    "nonconformity.verified",
    "decision.recorded",
    "certificate.issued",
    "certificate.suspended",
    "certificate.restored",
    "certificate.scope_reduced",
    "certificate.revised",
    "certificate.withdrawn",
];

each_store! {
async fn standard_webhooks_the_whole_workflow_emits_its_events_in_order_signed_without_personal_data(
) -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let receiver = Receiver::start().await?;
    register_people(&host).await?;
    let all = subscribe_receiver(&host, &receiver, "/all", &["*"]).await?;
    let some = ["decision.recorded", "certificate.issued"];
    subscribe_receiver(&host, &receiver, "/some", &some).await?;

    // The workflow, with a minor nonconformity answered and verified before the decision.
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?.to_string();
    let access_token = created.body["access_token"]
        .as_str()
        .context("access_token")?
        .to_string();
    let accept =
        json!({ "decision": "accept", "reviewer": "Wang Fang", "technical_areas": ["IAF 33"] });
    let reviewed = post(&host, &format!("/api/applications/{id}/review"), &accept).await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    let assessed = post(
        &host,
        &format!("/api/applications/{id}/remote-audit"),
        &assessment("stage_1"),
    )
    .await?;
    ensure!(assessed.status == 201, "{}", assessed.body);
    let audits = format!("/api/applications/{id}/audits");
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let today = days_ago(0)?;
    let held = post(&host, &audits, &audit("stage_1", today, today, &team, json!([]))).await?;
    ensure!(held.status == 201, "{}", held.body);
    let minor = json!([{ "severity": "minor", "clause": "A.8.13",
        "statement": "Backup test not documented", "evidence": "no record", "process": "operations" }]);
    let held = post(&host, &audits, &audit("stage_2", today, today, &team, minor)).await?;
    ensure!(held.status == 201, "{}", held.body);
    let audit_id = held.body["id"].as_str().context("audit id")?;
    let nc = format!("{audits}/{audit_id}/nonconformities/nc-1");
    let response = json!({ "cause": "no owner", "correction": "documented",
        "corrective_action": "test recorded monthly", "submitted_on": today });
    let answered = post(&host, &format!("{nc}/response"), &response).await?;
    ensure!(answered.status == 200, "{}", answered.body);
    let verification = json!({ "verified_by": "Li Na", "verified_on": today, "accepted": true });
    let verified = post(&host, &format!("{nc}/verification"), &verification).await?;
    ensure!(verified.status == 200, "{}", verified.body);
    let number = grant_certificate(&host, &id).await?;

    // A subscription receives the events of changes made after it was created.
    let late = subscribe_receiver(&host, &receiver, "/late", &["*"]).await?;
    let change = |what: &str| format!("/api/certificates/{number}/{what}");
    for (what, body) in [
        ("suspend", json!({ "reason": "surveillance audit postponed" })),
        ("restore", json!({ "reason": "audit held" })),
        ("reduce-scope", json!({ "reason": "client dropped its PIMS",
                                 "drop_standards": ["ISO/IEC 27701"] })),
        ("revise", json!({ "reason": "renamed", "organization": "Acme Data Group Co., Ltd." })),
        ("withdraw", json!({ "reason": "client request" })),
    ] {
        let changed = post(&host, &change(what), &body).await?;
        ensure!(changed.status == 200, "{what}: {}", changed.body);
    }

    // Chained delivery: every event arrives without a dispatch.
    let within = Duration::from_secs(60);
    let got = receiver
        .wait_until("every workflow event", within, |d| {
            let count = |path: &str| d.iter().filter(|d| d.path == path).count();
            let withdrawn = d.iter().any(|d| {
                d.path == "/late" && d.event_type().is_ok_and(|t| t == "certificate.withdrawn")
            });
            count("/all") >= WORKFLOW_EVENTS.len() && count("/some") >= 2 && withdrawn
        })
        .await?;
    for d in &got {
        let payload = well_formed(d, false)?;
        let data = payload["data"].to_string();
        ensure!(
            data.contains(&id) || data.contains(&number),
            "neither the application nor the certificate named: {payload}"
        );
        ensure!(!data.contains(&access_token), "the access token in {payload}");
        ensure!(d.answer == Answer::Status(200), "{:?}", d.answer);
    }
    let to = |path: &str| -> Vec<Delivery> {
        got.iter().filter(|d| d.path == path).cloned().collect()
    };
    // In order (one application's events are delivered head-of-line), each once.
    ensure!(
        event_types(&to("/all"))? == WORKFLOW_EVENTS,
        "{}",
        summary(&to("/all"))
    );
    ensure!(event_types(&to("/some"))? == some, "{}", summary(&to("/some")));
    // One message per event: the same type, data and webhook-id for every subscription (the
    // Standard Webhooks id names the message; receivers de-duplicate on it).
    let decision = |path: &str| {
        to(path)
            .into_iter()
            .find(|d| d.event_type().is_ok_and(|t| t == "decision.recorded"))
            .context("decision.recorded")
    };
    let (a, b) = (decision("/all")?, decision("/some")?);
    ensure!(a.json()?["data"] == b.json()?["data"], "{:?} {:?}", a.json()?, b.json()?);
    ensure!(a.webhook_id()? == b.webhook_id()?);

    // The deliveries list: one per event, oldest first, each delivered at its first attempt,
    // its id the webhook-id the receiver got.
    let listed = deliveries_when(&host, &all.id, |l| {
        l.len() == WORKFLOW_EVENTS.len() && all_delivered(l)
    })
    .await?;
    let ids: Vec<String> = to("/all")
        .iter()
        .map(|d| d.webhook_id().map(str::to_string))
        .collect::<Result<_>>()?;
    let listed_ids: Vec<&str> = listed.iter().filter_map(|d| d["id"].as_str()).collect();
    let listed_summary: Vec<String> = listed
        .iter()
        .map(|d| format!("{} {} created {}", d["id"], d["type"], d["created_at"]))
        .collect();
    ensure!(
        listed_ids == ids,
        "listed (oldest first) {listed_summary:?}, but delivered in the order {ids:?}"
    );
    for (delivery, expected) in listed.iter().zip(WORKFLOW_EVENTS) {
        ensure!(
            delivery["type"] == expected
                && delivery["status"] == "delivered"
                && status_codes(delivery)? == [Some(200)],
            "{delivery}"
        );
        attempts_well_formed(delivery)?;
    }
    // W2: only the changes made after the late subscription was created reach it; a
    // certificate's change records only its day, so the issuance earlier today may too.
    let late_types = event_types(&to("/late"))?;
    let after_creation = late_types
        .strip_prefix(&["certificate.issued".to_string()])
        .unwrap_or(&late_types);
    ensure!(
        after_creation == &WORKFLOW_EVENTS[9..],
        "{}",
        summary(&to("/late"))
    );
    let late_listed = deliveries_when(&host, &late.id, |l| {
        l.len() == late_types.len() && all_delivered(l)
    })
    .await?;
    ensure!(late_listed.len() == late_types.len(), "{late_listed:?}");
    // Nothing is left to deliver.
    let report = dispatch(&host).await?;
    ensure!(
        report["attempted"] == 0 && report["delivered"] == 0,
        "{report}"
    );
    ensure!(receiver.deliveries()?.len() == got.len(), "{}", summary(&receiver.deliveries()?));
    host.stop().await
}
}

/// Sweeps once (`POST /api/certificates/sweep`) and checks it changed something.
async fn sweep(host: &Host) -> Result<()> {
    let swept = host
        .operator(Method::POST, "/api/certificates/sweep", None)
        .await?;
    ensure!(swept.status == 200, "{}", swept.body);
    ensure!(
        swept.body["changed"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{}",
        swept.body
    );
    Ok(())
}

each_store! {
async fn standard_webhooks_the_sweep_emits_surveillance_overdue_and_certificate_expired(
) -> Result<()> {
    let state = tempfile::tempdir()?;
    let receiver = Receiver::start().await?;
    let host = start(state.path()).await?;
    register_people(&host).await?;
    let (_, number) = certify(&host, &mut Vec::new()).await?;
    let record = host
        .operator(Method::GET, &format!("/api/certificates/{number}/record"), None)
        .await?;
    ensure!(record.status == 200, "{}", record.body);
    let due_by = date(&record.body["surveillance"][0]["due_by"])?;
    let expires_on = date(&record.body["expires_on"])?;
    let events = ["surveillance.overdue", "certificate.expired", "certificate.issued"];
    subscribe_receiver(&host, &receiver, "/sweep", &events).await?;
    host.stop().await?;

    // C3: the day after the first surveillance's due day; C2: the day after expiry. The
    // guests' clock runs ahead, so the webhook-timestamp does too (the scheme's 5-minute
    // tolerance would refuse it; the signatures are checked without it).
    for (day, event) in [
        (after(due_by)?, "surveillance.overdue"),
        (after(expires_on)?, "certificate.expired"),
    ] {
        let host = start_at(state.path(), offset_to(day)?).await?;
        sweep(&host).await?;
        let got = receiver
            .wait_until(event, Duration::from_secs(30), |d| {
                d.iter().any(|d| d.event_type().is_ok_and(|t| t == event))
            })
            .await?;
        let delivery = got
            .iter()
            .find(|d| d.event_type().is_ok_and(|t| t == event))
            .context(event)?;
        let payload = well_formed(delivery, true)?;
        ensure!(payload["data"].to_string().contains(&number), "{payload}");
        host.stop().await?;
    }
    // W2: the issuance was made before the subscription, on the day it was created: a
    // certificate's change records only its day, so it may be sent too, first.
    let got = receiver.deliveries()?;
    let types = event_types(&got)?;
    let after_creation = types
        .strip_prefix(&["certificate.issued".to_string()])
        .unwrap_or(&types);
    ensure!(
        after_creation == ["surveillance.overdue", "certificate.expired"],
        "{}",
        summary(&got)
    );
    Ok(())
}
}

each_store! {
async fn at_least_once_a_failing_receiver_gets_the_retry_with_the_same_webhook_id() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let receiver = Receiver::start().await?;
    let path = "/flaky";
    // 500; the connection dropped; no answer within the timeout; then 200 (the default).
    let slow = Duration::from_secs(TIMEOUT_SECONDS + 2);
    receiver.plan(
        path,
        [Answer::Status(500), Answer::Drop, Answer::Delay(slow, 200)],
    )?;
    let subscription =
        subscribe_receiver(&host, &receiver, path, &["application.submitted"]).await?;
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let application = created.body["id"].as_str().context("id")?;

    let got = dispatch_until(
        &host,
        &receiver,
        "four attempts",
        Duration::from_secs(60),
        |d| d.len() >= ATTEMPTS,
    )
    .await?;
    ensure!(got.len() == ATTEMPTS, "{}", summary(&got));
    let first = &got[0];
    let payload = well_formed(first, false)?;
    ensure!(
        payload["type"] == "application.submitted"
            && payload["data"].to_string().contains(application),
        "{payload}"
    );
    for (i, d) in got.iter().enumerate() {
        well_formed(d, false)?;
        // The same message every time: receivers de-duplicate on webhook-id.
        ensure!(d.webhook_id()? == first.webhook_id()?, "{}", summary(&got));
        ensure!(d.json()? == payload, "attempt {i}: {:?}", d.json()?);
        if i > 0 {
            // Each retry waits its turn (1 s), after the previous attempt ended.
            let waited = d.instant - got[i - 1].instant;
            ensure!(waited >= Duration::from_millis(900), "attempt {i} after {waited:?}");
        }
    }
    let timed_out = got[3].instant - got[2].instant;
    ensure!(
        timed_out >= Duration::from_secs(TIMEOUT_SECONDS),
        "the attempt after a timeout came after {timed_out:?}"
    );

    // Every attempt listed: the status code (none for a dropped connection or a timeout),
    // time, duration and error.
    let listed = deliveries_when(&host, &subscription.id, all_delivered).await?;
    ensure!(listed.len() == 1, "{listed:?}");
    let delivery = &listed[0];
    ensure!(
        delivery["id"] == first.webhook_id()?
            && delivery["type"] == "application.submitted"
            && delivery["status"] == "delivered"
            && delivery["created_at"].is_string(),
        "{delivery}"
    );
    ensure!(
        status_codes(delivery)? == [Some(500), None, None, Some(200)],
        "{delivery}"
    );
    attempts_well_formed(delivery)?;
    let durations: Vec<u64> = attempts(delivery)?
        .iter()
        .filter_map(|a| a["duration_ms"].as_u64())
        .collect();
    ensure!(
        durations[2] >= TIMEOUT_SECONDS * 1000 - 100 && durations[2] < slow.as_millis() as u64,
        "the timed-out attempt took {} ms",
        durations[2]
    );
    host.stop().await
}
}

each_store! {
async fn at_least_once_a_failed_delivery_is_redelivered_by_hand() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let receiver = Receiver::start().await?;
    let path = "/down";
    receiver.always(path, Answer::Status(503))?;
    let subscription =
        subscribe_receiver(&host, &receiver, path, &["application.submitted"]).await?;
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);

    // Every attempt of the schedule fails: the delivery is marked failed, and dispatch leaves
    // it alone from then on.
    let failed = |listed: &[Value]| listed.len() == 1 && listed[0]["status"] == "failed";
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let listed = loop {
        let listed = deliveries(&host, &subscription.id).await?;
        if failed(&listed) {
            break listed;
        }
        ensure!(std::time::Instant::now() < deadline, "never failed: {listed:?}");
        dispatch(&host).await?;
        tokio::time::sleep(Duration::from_millis(1100)).await;
    };
    let delivery = &listed[0];
    ensure!(
        status_codes(delivery)? == vec![Some(503); ATTEMPTS],
        "{delivery}"
    );
    attempts_well_formed(delivery)?;
    ensure!(delivery["next_attempt_at"].is_null(), "{delivery}");
    ensure!(receiver.deliveries_to(path)?.len() == ATTEMPTS);
    dispatch(&host).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    dispatch(&host).await?;
    ensure!(
        receiver.deliveries_to(path)?.len() == ATTEMPTS,
        "a failed delivery was tried again: {}",
        summary(&receiver.deliveries()?)
    );

    // Redelivered by hand: tried at once, with the same webhook-id; a delivered one too.
    receiver.always(path, Answer::Status(204))?;
    let delivery_id = delivery["id"].as_str().context("delivery id")?;
    let redeliver =
        format!("/api/webhooks/{}/deliveries/{delivery_id}/redeliver", subscription.id);
    for expected in [ATTEMPTS + 1, ATTEMPTS + 2] {
        let (status, _, text) =
            raw(&host, Method::POST, &redeliver, Some(OPERATOR_TOKEN), None, None).await?;
        ensure!(status == 202, "{status}: {text}");
        let got = receiver
            .wait_for(path, expected, Duration::from_secs(15))
            .await?;
        let last = got.last().context("redelivery")?;
        well_formed(last, false)?;
        ensure!(last.webhook_id()? == delivery_id, "{}", summary(&got));
        let listed = deliveries_when(&host, &subscription.id, |l| {
            all_delivered(l) && l.iter().all(|d| attempts(d).is_ok_and(|a| a.len() == expected))
        })
        .await?;
        ensure!(
            listed.len() == 1
                && listed[0]["status"] == "delivered"
                && status_codes(&listed[0])?.len() == expected
                && status_codes(&listed[0])?.last() == Some(&Some(204)),
            "{listed:?}"
        );
    }
    host.stop().await
}
}

each_store! {
async fn http_410_gone_disables_the_subscription() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let receiver = Receiver::start().await?;
    let path = "/gone";
    receiver.always(path, Answer::Status(410))?;
    let subscription = subscribe_receiver(&host, &receiver, path, &["*"]).await?;
    ensure!(view(&host, &subscription.id).await?["disabled"].is_null());
    // application.submitted gets the 410; application.screened (and anything later) is never
    // sent.
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let got = receiver.wait_for(path, 1, Duration::from_secs(30)).await?;
    well_formed(&got[0], false)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let disabled = loop {
        let disabled = view(&host, &subscription.id).await?["disabled"].clone();
        if !disabled.is_null() || std::time::Instant::now() > deadline {
            break disabled;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ensure!(
        disabled["at"].is_string() && disabled["reason"].is_string(),
        "disabled: {disabled}"
    );
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    for _ in 0..3 {
        dispatch(&host).await?;
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    ensure!(
        receiver.deliveries()?.len() == 1,
        "sent after the 410: {}",
        summary(&receiver.deliveries()?)
    );
    let listed = deliveries(&host, &subscription.id).await?;
    let submitted = listed
        .iter()
        .find(|d| d["type"] == "application.submitted")
        .context("application.submitted listed")?;
    ensure!(
        status_codes(submitted)? == [Some(410)] && submitted["status"] == "failed",
        "{listed:?}"
    );
    // Nothing else was attempted.
    ensure!(
        listed.iter().map(|d| attempts(d).map(|a| a.len())).sum::<Result<usize>>()? == 1,
        "{listed:?}"
    );
    host.stop().await
}
}

each_store! {
async fn standard_webhooks_ping_is_one_signed_attempt_and_delete_ends_the_subscription(
) -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let receiver = Receiver::start().await?;
    let subscription = subscribe_receiver(&host, &receiver, "/ping", &["decision.recorded"]).await?;

    let pinged = host.operator(Method::POST, &format!("/api/webhooks/{}/ping", subscription.id), None)
        .await?;
    ensure!(pinged.status == 200, "{}", pinged.body);
    let delivery = &pinged.body["delivery"];
    ensure!(
        delivery["type"] == "webhook.ping"
            && delivery["status"] == "delivered"
            && status_codes(delivery)? == [Some(200)],
        "{delivery}"
    );
    // Synchronous: the receiver has it when the reply comes.
    let got = receiver.deliveries_to("/ping")?;
    ensure!(got.len() == 1, "{}", summary(&got));
    let payload = well_formed(&got[0], false)?;
    ensure!(payload["type"] == "webhook.ping", "{payload}");
    ensure!(delivery["id"] == got[0].webhook_id()?, "{delivery}");

    // A ping to a receiver that answers 500 is one attempt, reported as such.
    receiver.always("/ping", Answer::Status(500))?;
    let pinged = host.operator(Method::POST, &format!("/api/webhooks/{}/ping", subscription.id), None)
        .await?;
    ensure!(pinged.status == 200, "{}", pinged.body);
    ensure!(
        status_codes(&pinged.body["delivery"])? == [Some(500)]
            && pinged.body["delivery"]["status"] != "delivered",
        "{}",
        pinged.body
    );

    // The listing and the view never show a secret.
    let listed = host.operator(Method::GET, "/api/webhooks", None).await?;
    ensure!(listed.status == 200, "{}", listed.body);
    let text = listed.body.to_string();
    ensure!(
        listed.body["webhooks"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w["id"] == subscription.id.as_str())),
        "{text}"
    );
    let shown = view(&host, &subscription.id).await?;
    for text in [text, shown.to_string()] {
        ensure!(!text.contains(&subscription.secret) && !text.contains("whsec_"), "{text}");
    }
    ensure!(
        shown["created_by"] == format!("operator:{}", certflow_tests::OPERATOR),
        "R1: {shown}"
    );

    // Deleted: gone from the listing, and nothing more is sent to it.
    let path = format!("/api/webhooks/{}", subscription.id);
    let (status, _, text) =
        raw(&host, Method::DELETE, &path, Some(OPERATOR_TOKEN), None, None).await?;
    ensure!(status == 204, "{status}: {text}");
    let gone = host.operator(Method::GET, &path, None).await?;
    ensure!(gone.status == 404, "{}", gone.body);
    let listed = host.operator(Method::GET, "/api/webhooks", None).await?;
    ensure!(
        !listed.body.to_string().contains(&subscription.id),
        "{}",
        listed.body
    );
    register_people(&host).await?;
    certify(&host, &mut Vec::new()).await?;
    dispatch(&host).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    ensure!(
        receiver.deliveries()?.len() == 2,
        "{}",
        summary(&receiver.deliveries()?)
    );
    host.stop().await
}
}

each_store! {
async fn standard_webhooks_a_rotated_secret_signs_beside_the_old_one() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let receiver = Receiver::start().await?;
    let old = subscribe_receiver(&host, &receiver, "/rotated", &["*"]).await?;
    let rotate = format!("/api/webhooks/{}/secret", old.id);
    let rotated = host.operator(Method::POST, &rotate, None).await?;
    ensure!(rotated.status == 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().context("secret")?.to_string();
    ensure!(new.starts_with("whsec_") && new != old.secret, "{}", rotated.body);
    // The old secret retires `webhook_rotation_hours` (24) from now.
    let retires = rotated.body["previous_retires_at"]
        .as_str()
        .context("previous_retires_at")?;
    let retires = chrono::DateTime::parse_from_rfc3339(retires)?.with_timezone(&Utc);
    let in_a_day = Utc::now() + chrono::Duration::hours(24);
    ensure!(
        (retires - in_a_day).num_minutes().abs() <= 5,
        "{}",
        rotated.body
    );
    let shown = view(&host, &old.id).await?;
    let secrets = shown["secrets"].as_array().context("secrets")?;
    ensure!(
        secrets.len() == 2
            && secrets.iter().all(|s| s["created_at"].is_string())
            && secrets.iter().filter(|s| s["retires_at"].is_null()).count() == 1,
        "{shown}"
    );

    // A ping and an event: each carries two signatures, one per secret, and each verifies.
    receiver.expect_secrets("/rotated", &[&old.secret, &new])?;
    let pinged = host.operator(Method::POST, &format!("/api/webhooks/{}/ping", old.id), None).await?;
    ensure!(pinged.status == 200, "{}", pinged.body);
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let got = receiver.wait_for("/rotated", 2, Duration::from_secs(30)).await?;
    for d in &got {
        well_formed(d, false)?;
        ensure!(d.signed_by_each(2), "{:?}", d.signatures);
        for secret in [&old.secret, &new] {
            let alone = Receiver::start().await?;
            alone.expect_secrets("/", &[secret])?;
            let checked = replay(&alone, d).await?;
            ensure!(checked.verified.is_ok(), "{secret}: {:?}", checked.verified);
        }
    }
    // After a second rotation the newest secret signs too, and every signature is one of the
    // three secrets' (the contract leaves open whether the first, not yet retired, still signs).
    let rotated = host.operator(Method::POST, &rotate, None).await?;
    ensure!(rotated.status == 200, "{}", rotated.body);
    let newest = rotated.body["secret"].as_str().context("secret")?.to_string();
    receiver.expect_secrets("/rotated", &[&old.secret, &new, &newest])?;
    let pinged = host.operator(Method::POST, &format!("/api/webhooks/{}/ping", old.id), None).await?;
    ensure!(pinged.status == 200, "{}", pinged.body);
    // The ping's request (an event of the application may arrive after it).
    let ping_id = pinged.body["delivery"]["id"].as_str().context("ping id")?;
    let got = receiver.deliveries_to("/rotated")?;
    let last = got
        .iter()
        .find(|d| d.webhook_id().is_ok_and(|id| id == ping_id))
        .context("the ping's request")?;
    ensure!(
        last.verified.is_ok()
            && last.signatures.iter().all(|(_, by)| by.is_some())
            && last.signatures.iter().any(|(_, by)| *by == Some(2)),
        "{:?}",
        last.signatures
    );
    host.stop().await
}
}

/// Sends `d` again, as it was, to `receiver`'s `/`, and returns what that receiver recorded
/// (so a delivery can be checked against one secret alone).
async fn replay(receiver: &Receiver, d: &Delivery) -> Result<Delivery> {
    let mut req = reqwest::Client::new().post(receiver.url("/"));
    for name in [
        "content-type",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ] {
        if let Some(value) = d.header(name) {
            req = req.header(name, value);
        }
    }
    req.body(d.body.clone()).send().await?;
    let got = receiver.wait_for("/", 1, Duration::from_secs(5)).await?;
    got.into_iter().next().context("replayed")
}

/// A subscription body's field errors as `(field, code)`.
fn field_codes(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_string(),
                        e["code"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_private_addresses_and_plain_http_are_refused_unless_trusted() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let private: &[&str] = &["private_address"];
    let insecure: &[&str] = &["insecure_url"];
    for (url, codes) in [
        ("https://10.0.0.1/hooks", private),
        ("https://192.168.1.20/hooks", private),
        ("https://172.16.0.1/hooks", private),
        ("https://169.254.169.254/latest/meta-data", private),
        ("https://127.0.0.2/hooks", private),
        ("https://[::1]/hooks", private),
        ("https://[fe80::1]/hooks", private),
        ("http://example.com/hooks", insecure),
        // Both: either may be named.
        (
            "http://10.0.0.1/hooks",
            &["private_address", "insecure_url"],
        ),
    ] {
        let body = json!({ "url": url, "events": ["decision.recorded"], "description": "" });
        let refused = post(&host, "/api/webhooks", &body).await?;
        ensure!(
            refused.status == 422
                && refused.headers["content-type"] == "application/problem+json"
                && problem_codes(&refused.body)
                    .iter()
                    .any(|c| codes.contains(&c.as_str())),
            "{url}: {} {}",
            refused.status,
            refused.body
        );
    }
    let listed = host.operator(Method::GET, "/api/webhooks", None).await?;
    ensure!(listed.body["webhooks"] == json!([]), "{}", listed.body);
    // https to a public name, and http to the trusted host, are accepted.
    subscribe(&host, "https://hooks.example.com/certflow", &["*"]).await?;
    subscribe(&host, "http://127.0.0.1:9/hooks", &["*"]).await?;
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_without_trusted_hosts_the_loopback_receiver_is_refused() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app_at(state.path(), Duration::ZERO).await?;
    let body = json!({ "url": "https://127.0.0.1/hooks", "events": ["*"], "description": "" });
    let refused = post(&host, "/api/webhooks", &body).await?;
    ensure!(
        refused.status == 422
            && problem_codes(&refused.body)
                .iter()
                .any(|c| c == "private_address"),
        "{}",
        refused.body
    );
    let body = json!({ "url": "http://127.0.0.1/hooks", "events": ["*"], "description": "" });
    let refused = post(&host, "/api/webhooks", &body).await?;
    ensure!(refused.status == 422, "{}", refused.body);
    host.stop().await
}

/// A request to send and the statuses it may get: method, path, token, content type, body.
type Case<'a> = (
    Method,
    String,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'a [u16],
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9457_bad_input_to_every_webhook_route_is_a_4xx_problem() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let receiver = Receiver::start().await?;
    let subscription = subscribe_receiver(&host, &receiver, "/x", &["*"]).await?;
    let wh = format!("/api/webhooks/{}", subscription.id);
    let unknown = "/api/webhooks/wh_0123456789abcdef";
    let token = Some(OPERATOR_TOKEN);
    let json_type = Some("application/json");
    let mut cases: Vec<Case> = vec![
        // No credentials, or not an operator's, on every route.
        (
            Method::GET,
            "/api/webhooks".into(),
            None,
            None,
            None,
            &[401],
        ),
        (
            Method::POST,
            "/api/webhooks".into(),
            Some("nope"),
            json_type,
            Some("{}"),
            &[401],
        ),
        (Method::GET, wh.clone(), None, None, None, &[401]),
        (Method::DELETE, wh.clone(), None, None, None, &[401]),
        (
            Method::POST,
            format!("{wh}/secret"),
            None,
            None,
            None,
            &[401],
        ),
        (Method::POST, format!("{wh}/ping"), None, None, None, &[401]),
        (
            Method::GET,
            format!("{wh}/deliveries"),
            None,
            None,
            None,
            &[401],
        ),
        (
            Method::POST,
            "/api/webhooks/dispatch".into(),
            None,
            None,
            None,
            &[401],
        ),
        // Bodies read strictly.
        (
            Method::POST,
            "/api/webhooks".into(),
            token,
            json_type,
            Some("{\"url\": "),
            &[400],
        ),
        (
            Method::POST,
            "/api/webhooks".into(),
            token,
            Some("text/plain"),
            Some("{}"),
            &[415],
        ),
        (
            Method::POST,
            "/api/webhooks".into(),
            token,
            json_type,
            Some(r#"{"url": "https://a.example/", "url": "https://b.example/", "events": ["*"]}"#),
            &[400],
        ),
        // Not an object: refused as malformed or as invalid.
        (
            Method::POST,
            "/api/webhooks".into(),
            token,
            json_type,
            Some("[]"),
            &[400, 422],
        ),
        // Unknown subscriptions and deliveries.
        (Method::GET, unknown.into(), token, None, None, &[404]),
        (Method::DELETE, unknown.into(), token, None, None, &[404]),
        (
            Method::POST,
            format!("{unknown}/secret"),
            token,
            None,
            None,
            &[404],
        ),
        (
            Method::POST,
            format!("{unknown}/ping"),
            token,
            None,
            None,
            &[404],
        ),
        (
            Method::GET,
            format!("{unknown}/deliveries"),
            token,
            None,
            None,
            &[404],
        ),
        (
            Method::POST,
            format!("{wh}/deliveries/msg_0123456789abcdef/redeliver"),
            token,
            None,
            None,
            &[404],
        ),
        (
            Method::GET,
            "/api/webhooks/not-an-id".into(),
            token,
            None,
            None,
            &[404],
        ),
        (
            Method::GET,
            "/api/webhooks/wh_%zz".into(),
            token,
            None,
            None,
            &[400],
        ),
        // Methods a route does not answer.
        (
            Method::PUT,
            "/api/webhooks".into(),
            token,
            json_type,
            Some("{}"),
            &[405],
        ),
        (
            Method::PATCH,
            wh.clone(),
            token,
            json_type,
            Some("{}"),
            &[405],
        ),
        (
            Method::GET,
            "/api/webhooks/dispatch".into(),
            token,
            None,
            None,
            &[405],
        ),
        (Method::GET, format!("{wh}/ping"), token, None, None, &[405]),
    ];
    cases.push((
        Method::POST,
        format!("{wh}/nothing-here"),
        token,
        None,
        None,
        &[404],
    ));
    for (method, path, token, content_type, body, expected) in cases {
        let (status, got_type, text) =
            raw(&host, method.clone(), &path, token, content_type, body).await?;
        ensure!(
            expected.contains(&status) && got_type == "application/problem+json",
            "{method} {path}: expected {expected:?}, got {status} {got_type}: {text}"
        );
        let problem: Value = serde_json::from_str(&text).with_context(|| text.clone())?;
        ensure!(
            problem["status"] == status
                && problem["type"].is_string()
                && problem["title"].is_string(),
            "{method} {path}: {text}"
        );
    }

    // Every error of a subscription at once.
    let body = json!({ "url": "not a url", "events": ["decision.recorded", "no.such.event"],
                       "description": 7 });
    let refused = post(&host, "/api/webhooks", &body).await?;
    ensure!(refused.status == 422, "{}", refused.body);
    let fields: Vec<String> = field_codes(&refused.body)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    for field in ["/url", "/events/1", "/description"] {
        ensure!(
            fields.iter().any(|f| f == field),
            "{field}: {}",
            refused.body
        );
    }
    for body in [
        json!({ "events": ["*"] }),
        json!({ "url": "https://hooks.example.com/", "events": [] }),
        json!({ "url": "https://hooks.example.com/", "events": "decision.recorded" }),
        json!({ "url": "ftp://hooks.example.com/", "events": ["*"] }),
    ] {
        let refused: Reply = post(&host, "/api/webhooks", &body).await?;
        ensure!(
            refused.status == 422 && !refused.body["errors"].as_array().is_none_or(Vec::is_empty),
            "{body}: {} {}",
            refused.status,
            refused.body
        );
    }
    ensure!(
        host.operator(Method::GET, "/api/webhooks", None)
            .await?
            .body["webhooks"]
            .as_array()
            .map(Vec::len)
            == Some(1)
    );
    host.stop().await
}

/// The state directory the SIGKILL test's child process serves (unset: a normal test run,
/// where [`child_host_for_the_sigkill_test`] returns at once).
const CHILD_STATE: &str = "CERTFLOW_WEBHOOK_SIGKILL_CHILD_STATE";

/// Not a test of its own: the host process that
/// [`at_least_once_a_host_killed_after_a_decision_delivers_it_after_restart`] kills (this test
/// binary again, with [`CHILD_STATE`] set); it serves the app and never returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_host_for_the_sigkill_test() -> Result<()> {
    let Ok(state) = std::env::var(CHILD_STATE) else {
        return Ok(());
    };
    with_parent_store(async {
        let host = start(Path::new(&state)).await?;
        println!("Serving {}", host.base);
        use std::io::Write as _;
        std::io::stdout().flush()?;
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    })
    .await
}

/// A child process that is killed (SIGKILL) when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

each_store! {
async fn at_least_once_a_host_killed_after_a_decision_delivers_it_after_restart() -> Result<()> {
    use std::io::BufRead as _;
    build_app_components()?;
    let state = tempfile::tempdir()?;
    let receiver = Receiver::start().await?;
    let path = "/decisions";
    // Until the kill, the receiver holds every request past the timeout: nothing can be
    // delivered before the host dies.
    receiver.always(path, Answer::Delay(Duration::from_secs(120), 200))?;
    let mut child = KillOnDrop(
        std::process::Command::new(std::env::current_exe()?)
            .args(["--exact", "webhooks::child_host_for_the_sigkill_test", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_STATE, state.path())
            .envs(store_env(state.path())?)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?,
    );
    let stdout = child.0.stdout.take().context("child stdout")?;
    let (serving_tx, serving) = std::sync::mpsc::channel();
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
    let base = tokio::task::spawn_blocking(move || serving.recv_timeout(Duration::from_secs(300)))
        .await?
        .context("the child host never served")?;
    let child_host = Host::remote(&base)?;
    register_people(&child_host).await?;
    let id = accepted_application(&child_host).await?;
    let audits = format!("/api/applications/{id}/audits");
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let today = days_ago(0)?;
    for kind in ["stage_1", "stage_2"] {
        let held = post(&child_host, &audits, &audit(kind, today, today, &team, json!([]))).await?;
        ensure!(held.status == 201, "{}", held.body);
    }
    let subscription =
        subscribe_receiver(&child_host, &receiver, path, &["decision.recorded"]).await?;
    let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant",
                        "certificate": certificate_details() });
    let decided = post(&child_host, &format!("/api/applications/{id}/decision"), &grant).await?;
    ensure!(decided.status == 201, "{}", decided.body);
    // SIGKILL right after the decision's reply.
    child.0.kill()?;
    child.0.wait()?;
    let before = receiver.deliveries_to(path)?;
    ensure!(
        before.iter().all(|d| matches!(d.answer, Answer::Delay(..))),
        "{}",
        summary(&before)
    );
    eprintln!("requests before the kill: {}", summary(&before));

    // Restarted on the same store: once an attempt in flight at the kill has lost its hold on
    // the delivery (the timeout and notify's 5 s margin) and the retry wait has passed, one
    // dispatch delivers decision.recorded.
    receiver.always(path, Answer::Status(200))?;
    let host = start(state.path()).await?;
    tokio::time::sleep(Duration::from_secs(TIMEOUT_SECONDS + 5 + 2)).await;
    let report = dispatch(&host).await?;
    let got = receiver
        .wait_until("decision.recorded after the restart", Duration::from_secs(10), |d| {
            d.iter().any(|d| d.path == path && d.answer == Answer::Status(200))
        })
        .await?;
    let delivered: Vec<&Delivery> = got
        .iter()
        .filter(|d| d.path == path && d.answer == Answer::Status(200))
        .collect();
    ensure!(delivered.len() == 1, "{}", summary(&got));
    let payload = well_formed(delivered[0], false)?;
    ensure!(
        payload["type"] == "decision.recorded" && payload["data"].to_string().contains(&id),
        "{payload}"
    );
    ensure!(report["delivered"] == 1, "{report}");
    // A request that reached the receiver before the kill was the same message.
    for d in &before {
        ensure!(d.webhook_id()? == delivered[0].webhook_id()?, "{}", summary(&got));
    }
    let listed = deliveries_when(&host, &subscription.id, all_delivered).await?;
    ensure!(
        listed.len() == 1
            && listed[0]["status"] == "delivered"
            && listed[0]["id"] == delivered[0].webhook_id()?,
        "{listed:?}"
    );
    host.stop().await
}
}

/// `POST /api/webhooks` as an operator with an Idempotency-Key: status and JSON body.
async fn create_with_key(host: &Host, body: &Value, key: &str) -> Result<(u16, Value, bool)> {
    let resp = host
        .client
        .post(host.url("/api/webhooks"))
        .bearer_auth(OPERATOR_TOKEN)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    Ok((status, resp.json().await?, replayed))
}

each_store! {
async fn i7_a_subscription_created_twice_with_one_idempotency_key_is_one() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start(state.path()).await?;
    let body = json!({ "url": "https://hooks.example.com/certflow", "events": ["decision.recorded"],
                       "description": "ERP" });
    let (first_status, first, first_replayed) = create_with_key(&host, &body, "subscribe-erp").await?;
    ensure!(first_status == 201 && !first_replayed, "{first}");
    let (again_status, again, again_replayed) = create_with_key(&host, &body, "subscribe-erp").await?;
    // The same reply, the secret included (the retry must be able to sign-check), once.
    ensure!(again_status == 201 && again_replayed && again == first, "{again} vs {first}");
    let other = json!({ "url": "https://hooks.example.com/other", "events": ["*"] });
    let (reused_status, reused, _) = create_with_key(&host, &other, "subscribe-erp").await?;
    ensure!(reused_status == 422, "{reused}");
    let listed = host.operator(Method::GET, "/api/webhooks", None).await?;
    ensure!(
        listed.body["webhooks"].as_array().map(Vec::len) == Some(1),
        "{}",
        listed.body
    );
    host.stop().await
}
}
