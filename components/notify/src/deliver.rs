//! Delivering (W2): attempts, the dispatcher, ping, the deliveries list and redelivery.
//!
//! An attempt first takes the delivery (a compare-and-swap that sets `in_flight_until`), so
//! two notify instances never send the same attempt; it then POSTs the event with the
//! Standard Webhooks headers, signed with every secret of the subscription that signs now,
//! and records the outcome. Events of one stream (an application, its certificate
//! included) go out in order: only the first waiting delivery of a stream is tried, and the
//! next one only once it is delivered or has failed for good.

use std::time::Instant;

use certflow_component::{
    Bucket, Outcome, Reply, Update, get_json, keys_with_prefix, now, open_store, random_bytes,
    set_json, store_error, update_json,
};
use certflow_domain::Problem;
use certflow_domain::webhooks::delivery::Recorded;
use certflow_domain::webhooks::subscription::check_url;
use certflow_domain::webhooks::{
    AttemptResult, Delivery, DeliveryStatus, Event, EventType, WebhookSettings,
};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::FollowUp;
use crate::subscriptions::{
    self, QUEUE_SHARDS, Queue, QueueItem, Subscription, queue_key, shard_of,
};

/// How long one request spends on attempts, in seconds: what is left waits for the next
/// dispatch (a request must end well within the host's timeout). `webhook_timeout_seconds`
/// is at most this, so one attempt always fits.
const BUDGET_SECONDS: u64 = certflow_domain::webhooks::delivery::ATTEMPT_BUDGET_SECONDS;

/// The key of a delivery.
pub(crate) fn delivery_key(subscription: &str, delivery: &str) -> String {
    format!("webhook-delivery:{subscription}:{delivery}")
}

/// What one request did, as `POST /api/webhooks/dispatch` answers it.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub records: usize,
    pub enqueued: usize,
    pub attempted: usize,
    pub delivered: usize,
    pub failed: usize,
    /// Deliveries due that were left for the next dispatch (out of time).
    pub deferred: usize,
}

/// What a request delivering needs: the store, the clock, the settings and the subscriptions.
pub(crate) struct Context {
    pub bucket: Bucket,
    pub now: DateTime<Utc>,
    pub settings: WebhookSettings,
    pub subscriptions: Vec<Subscription>,
    started: Instant,
}

/// What became of a queue's head.
enum Head {
    /// Delivered, failed for good, or gone: the next one of its stream may go.
    Done,
    /// Waiting (a retry later, another attempt in flight, out of time): its stream waits.
    Waiting,
    /// The subscription is disabled (410): nothing more for it.
    Disabled,
}

impl Context {
    /// Loads the settings and every subscription.
    pub fn load(bucket: Bucket, now: DateTime<Utc>) -> Result<Context, Problem> {
        let settings = subscriptions::settings()?;
        let subscriptions = subscriptions::all(&bucket)?;
        Ok(Context {
            bucket,
            now,
            settings,
            subscriptions,
            started: Instant::now(),
        })
    }

    /// Whether an attempt may still start within this request's budget.
    fn has_time(&self) -> bool {
        self.started.elapsed().as_secs() + self.settings.timeout_seconds <= BUDGET_SECONDS
    }

    /// Tries the due heads of the given (subscription, stream) pairs; an empty stream means
    /// every stream of the subscription.
    pub fn deliver_streams(&self, streams: &[(String, String)], tally: &mut Tally) {
        for (id, stream) in streams {
            let Some(subscription) = self.subscriptions.iter().find(|s| &s.id == id) else {
                continue;
            };
            let only = (!stream.is_empty()).then_some(stream.as_str());
            if let Err(problem) = self.deliver_subscription(subscription, only, tally) {
                eprintln!("webhook {id}: {}", problem.to_json());
            }
        }
    }

    /// Tries the due heads of `subscription`'s queues (stream `only`'s, or all), each stream
    /// moving on while its head is delivered.
    fn deliver_subscription(
        &self,
        subscription: &Subscription,
        only: Option<&str>,
        tally: &mut Tally,
    ) -> Result<(), Problem> {
        if subscription.disabled.is_some() {
            return Ok(());
        }
        let shards: Vec<u8> = match only {
            Some(stream) => vec![shard_of(stream)],
            None => (0..QUEUE_SHARDS).collect(),
        };
        for shard in shards {
            if !self.deliver_shard(subscription, shard, only, tally)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// [`Context::deliver_subscription`] for one queue shard; `false` once the subscription
    /// is disabled.
    fn deliver_shard(
        &self,
        subscription: &Subscription,
        shard: u8,
        only: Option<&str>,
        tally: &mut Tally,
    ) -> Result<bool, Problem> {
        let mut blocked: Vec<String> = Vec::new();
        // Each round settles at least one head; the bound only guards against a store that
        // keeps answering with the same queue.
        for _ in 0..10_000 {
            let Some(queue) = get_json::<Queue>(&self.bucket, &queue_key(&subscription.id, shard))?
            else {
                return Ok(true);
            };
            let mut heads: Vec<QueueItem> = Vec::new();
            for item in queue.items {
                let wanted = only.is_none_or(|s| s == item.stream);
                if wanted
                    && !blocked.contains(&item.stream)
                    && !heads.iter().any(|h| h.stream == item.stream)
                {
                    heads.push(item);
                }
            }
            // Streams already blocked are skipped: their heads are not the first waiting.
            if heads.is_empty() {
                return Ok(true);
            }
            for head in heads {
                match self.attempt_head(subscription, &head, tally)? {
                    Head::Done => {}
                    Head::Waiting => blocked.push(head.stream),
                    Head::Disabled => return Ok(false),
                }
            }
        }
        Ok(true)
    }

    /// One attempt of a queue's head, when it is due and time is left.
    fn attempt_head(
        &self,
        subscription: &Subscription,
        head: &QueueItem,
        tally: &mut Tally,
    ) -> Result<Head, Problem> {
        let key = delivery_key(&subscription.id, &head.delivery);
        let now = now();
        let due = get_json::<Delivery>(&self.bucket, &key)?;
        match &due {
            None => {
                dequeue(&self.bucket, &subscription.id, head)?;
                return Ok(Head::Done);
            }
            Some(d) if d.status != DeliveryStatus::Pending => {
                dequeue(&self.bucket, &subscription.id, head)?;
                return Ok(Head::Done);
            }
            Some(d) if !d.is_due(now) => return Ok(Head::Waiting),
            Some(_) if !self.has_time() => {
                tally.deferred += 1;
                return Ok(Head::Waiting);
            }
            Some(_) => {}
        }
        // W2: the subscription as it is now, not as this request loaded it: another request
        // may have seen a 410 (disabled) or an operator deleted it meanwhile.
        let subscription = match subscriptions::load(&self.bucket, &subscription.id) {
            Ok(current) if current.disabled.is_none() => current,
            Ok(_) => return Ok(Head::Disabled),
            Err(problem) if problem.status == 404 => return Ok(Head::Disabled),
            Err(problem) => return Err(problem),
        };
        let subscription = &subscription;
        let timeout = self.settings.timeout_seconds;
        // Take it: of two instances only one swaps `in_flight_until` in.
        let taken = update_json::<Delivery, _>(&self.bucket, &key, false, |mut d| {
            if d.is_due(now) {
                d.start_attempt(now, timeout);
                Update::Store(d)
            } else {
                Update::Refuse(Problem::new(409, "conflict", "Busy"))
            }
        });
        let delivery = match taken {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(Head::Done),
            Err(problem) if problem.status == 409 => return Ok(Head::Waiting),
            Err(problem) => return Err(problem),
        };
        let recorded = self.attempt(subscription, &delivery, now, tally)?;
        match recorded {
            Some(Recorded::Delivered) | Some(Recorded::Failed) => {
                dequeue(&self.bucket, &subscription.id, head)?;
                Ok(Head::Done)
            }
            Some(Recorded::Gone) => {
                dequeue(&self.bucket, &subscription.id, head)?;
                Ok(Head::Disabled)
            }
            Some(Recorded::Retry(_)) | None => Ok(Head::Waiting),
        }
    }

    /// Sends `delivery` once and records the outcome; a 410 disables the subscription.
    fn attempt(
        &self,
        subscription: &Subscription,
        delivery: &Delivery,
        at: DateTime<Utc>,
        tally: &mut Tally,
    ) -> Result<Option<Recorded>, Problem> {
        tally.attempted += 1;
        let started = Instant::now();
        let result = send(subscription, delivery, at, &self.settings);
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut recorded = None;
        let settings = &self.settings;
        update_json::<Delivery, _>(
            &self.bucket,
            &delivery_key(&subscription.id, &delivery.id),
            true,
            |mut d| {
                recorded = None;
                if d.status != DeliveryStatus::Pending
                    || d.in_flight_until != delivery.in_flight_until
                {
                    // The hold expired and another attempt took the delivery (this request
                    // stalled past the timeout): its outcome stands; this one is not recorded
                    // over it.
                    return Update::Keep(d);
                }
                recorded = Some(d.record(&result, at, duration_ms, settings));
                Update::Store(d)
            },
        )?;
        match recorded {
            Some(Recorded::Delivered) => tally.delivered += 1,
            Some(Recorded::Failed) => tally.failed += 1,
            Some(Recorded::Gone) => {
                tally.failed += 1;
                subscriptions::disable(
                    &self.bucket,
                    &subscription.id,
                    "the receiver answered 410 Gone",
                )?;
            }
            _ => {}
        }
        println!(
            "webhook {}: {} {} -> {:?}",
            subscription.id,
            delivery.id,
            delivery.kind.as_str(),
            result
        );
        Ok(recorded)
    }
}

/// Removes `delivery` from `subscription`'s queue.
fn dequeue(bucket: &Bucket, subscription: &str, item: &QueueItem) -> Result<(), Problem> {
    let key = queue_key(subscription, shard_of(&item.stream));
    update_json::<Queue, _>(bucket, &key, true, |mut queue| {
        let before = queue.items.len();
        queue.items.retain(|i| i.delivery != item.delivery);
        if queue.items.len() == before {
            Update::Keep(queue)
        } else {
            Update::Store(queue)
        }
    })?;
    Ok(())
}

/// One attempt: POST the delivery's body to the subscription's URL, signed, within
/// `settings.timeout_seconds`. The URL is checked again (W1) with the settings of now, so a
/// subscription stored before a host was untrusted, or before a check was added, is not
/// sent to.
fn send(
    subscription: &Subscription,
    delivery: &Delivery,
    at: DateTime<Utc>,
    settings: &WebhookSettings,
) -> AttemptResult {
    if let Err(refused) = check_url(&subscription.url, &settings.trusted_hosts) {
        return AttemptResult::NoResponse(format!(
            "not sent: the URL is not allowed (W1, {}): {}",
            refused.code.as_str(),
            refused.message
        ));
    }
    let timeout_seconds = settings.timeout_seconds;
    let timestamp = at.timestamp();
    // The Standard Webhooks signature: `v1,<base64>` for each secret that signs now.
    let signed = certflow_component::webhook::sign(
        &subscription.signing_secrets(at),
        &delivery.id,
        timestamp,
        delivery.body.as_bytes(),
    );
    let signature = match signed {
        Ok(signature) => signature,
        Err(problem) => {
            return AttemptResult::NoResponse(format!(
                "not signed: {}",
                problem.detail.unwrap_or(problem.title)
            ));
        }
    };
    let headers = vec![
        ("content-type".to_string(), b"application/json".to_vec()),
        (
            "content-length".to_string(),
            delivery.body.len().to_string().into_bytes(),
        ),
        ("user-agent".to_string(), b"certflow-notify/0.1".to_vec()),
        ("webhook-id".to_string(), delivery.id.clone().into_bytes()),
        (
            "webhook-timestamp".to_string(),
            timestamp.to_string().into_bytes(),
        ),
        ("webhook-signature".to_string(), signature.into_bytes()),
    ];
    match http::post(
        &subscription.url,
        &headers,
        delivery.body.as_bytes(),
        timeout_seconds,
    ) {
        Ok(status) => AttemptResult::Response(status),
        Err(reason) => AttemptResult::NoResponse(reason),
    }
}

/// `POST /api/webhooks/dispatch`: queues what the outbox's markers point at, then tries every
/// due delivery of every subscription (within the request's budget). 200 with the counts.
pub(crate) fn dispatch() -> Outcome {
    let context = Context::load(open_store()?, now())?;
    let mut tally = Tally::default();
    crate::outbox::sweep_marks(
        &context.bucket,
        &context.subscriptions,
        context.now,
        &mut tally,
    )?;
    let all: Vec<(String, String)> = context
        .subscriptions
        .iter()
        .map(|s| (s.id.clone(), String::new()))
        .collect();
    context.deliver_streams(&all, &mut tally);
    Ok(Reply::json(
        200,
        &json!({
            "records": tally.records,
            "enqueued": tally.enqueued,
            "attempted": tally.attempted,
            "delivered": tally.delivered,
            "failed": tally.failed,
            "deferred": tally.deferred,
        }),
    ))
}

/// What operators see of a delivery: everything, the body as `payload`.
fn view(delivery: &Delivery) -> serde_json::Value {
    json!({
        "id": delivery.id,
        "type": delivery.kind,
        "status": delivery.status,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "attempts": delivery.attempts,
        "payload": serde_json::from_str::<serde_json::Value>(&delivery.body).unwrap_or(json!(null)),
    })
}

/// `POST /api/webhooks/:id/ping`: one `webhook.ping` attempt, now; 200 with the delivery.
pub(crate) fn ping(id: &str) -> Outcome {
    let bucket = open_store()?;
    let subscription = subscriptions::load(&bucket, id)?;
    let settings = subscriptions::settings()?;
    let at = now();
    let message = format!(
        "msg_ping_{}",
        random_bytes::<12>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let event = Event {
        kind: EventType::WebhookPing,
        timestamp: at,
        data: json!({ "webhook_id": id }),
    };
    let body = serde_json::to_string(&event).map_err(store_error)?;
    let mut delivery = Delivery::new(message, EventType::WebhookPing, "ping".into(), body, at);
    let started = Instant::now();
    let result = send(&subscription, &delivery, at, &settings);
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let recorded = delivery.record(&result, at, duration_ms, &settings);
    // A ping is tried once: it checks the endpoint now, it is not an event to deliver later.
    delivery.abandon();
    set_json(&bucket, &delivery_key(id, &delivery.id), &delivery)?;
    if recorded == Recorded::Gone {
        subscriptions::disable(&bucket, id, "the receiver answered 410 Gone to a ping")?;
    }
    Ok(Reply::json(200, &json!({ "delivery": view(&delivery) })))
}

/// The deliveries of subscription `id`, oldest first.
fn deliveries(bucket: &Bucket, id: &str) -> Result<Vec<Delivery>, Problem> {
    let mut found = Vec::new();
    for key in keys_with_prefix(bucket, &format!("webhook-delivery:{id}:"))? {
        if let Some(delivery) = get_json::<Delivery>(bucket, &key)? {
            found.push(delivery);
        }
    }
    // In the order the changes were made: the event's timestamp, then its history entry.
    let happened = |d: &Delivery| {
        serde_json::from_str::<Event>(&d.body).map_or(d.created_at, |event| event.timestamp)
    };
    found.sort_by(|a, b| (happened(a), a.entry, &a.id).cmp(&(happened(b), b.entry, &b.id)));
    Ok(found)
}

/// `GET /api/webhooks/:id/deliveries`: every delivery and its attempts, oldest first.
pub(crate) fn list(id: &str) -> Outcome {
    let bucket = open_store()?;
    subscriptions::load(&bucket, id)?;
    let views: Vec<_> = deliveries(&bucket, id)?.iter().map(view).collect();
    Ok(Reply::json(200, &json!({ "deliveries": views })))
}

fn is_delivery_id(id: &str) -> bool {
    id.starts_with("msg_")
        && id.len() <= 64
        && id[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn delivery_not_found() -> Problem {
    crate::not_found("no delivery with this id for this subscription")
}

/// `GET /api/webhooks/:id/deliveries/:delivery`.
pub(crate) fn read(id: &str, delivery: &str) -> Outcome {
    let bucket = open_store()?;
    subscriptions::load(&bucket, id)?;
    if !is_delivery_id(delivery) {
        return Err(delivery_not_found());
    }
    let found = get_json::<Delivery>(&bucket, &delivery_key(id, delivery))?
        .ok_or_else(delivery_not_found)?;
    Ok(Reply::json(200, &view(&found)))
}

/// `POST /api/webhooks/:id/deliveries/:delivery/redeliver`: the delivery is queued again
/// (same `webhook-id`, same body, a fresh round of retries) and tried once the reply is sent.
/// 202 with the delivery; 409 when the subscription is disabled; 404.
pub(crate) fn redeliver(id: &str, delivery: &str) -> Result<(Reply, FollowUp), Problem> {
    let bucket = open_store()?;
    let subscription = subscriptions::load(&bucket, id)?;
    if !is_delivery_id(delivery) || delivery.starts_with("msg_ping_") {
        return Err(delivery_not_found());
    }
    if subscription.disabled.is_some() {
        return Err(
            Problem::new(409, "webhook-disabled", "Subscription disabled").detail(
                "the receiver answered 410 Gone; create a new subscription to receive events again",
            ),
        );
    }
    let at = now();
    let queued =
        update_json::<Delivery, _>(&bucket, &delivery_key(id, delivery), true, |mut d| {
            if d.status == DeliveryStatus::Pending && d.in_flight_until.is_some_and(|t| t > at) {
                // An attempt is under way: it is not interrupted.
                return Update::Keep(d);
            }
            d.redeliver(at);
            Update::Store(d)
        })?
        .ok_or_else(delivery_not_found)?;
    let item = QueueItem {
        delivery: queued.id.clone(),
        stream: queued.stream.clone(),
    };
    update_json::<Queue, _>(
        &bucket,
        &queue_key(id, shard_of(&item.stream)),
        true,
        |mut queue| {
            if queue.items.iter().any(|i| i.delivery == item.delivery) {
                Update::Keep(queue)
            } else {
                queue.items.push(item.clone());
                Update::Store(queue)
            }
        },
    )?;
    println!("webhook {id}: {delivery} queued again");
    Ok((
        Reply::json(202, &json!({ "delivery": view(&queued) })),
        FollowUp {
            streams: vec![(id.to_string(), queued.stream.clone())],
            context: None,
        },
    ))
}

/// wasi:http with a deadline: the SDK's `send` has no timeout, so the outgoing handler is
/// called with request options and polled against a monotonic-clock deadline.
mod http {
    use wasi::clocks::monotonic_clock;
    use wasi::http::outgoing_handler;
    use wasi::http::types::{
        ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
    };

    /// POSTs `body` to `url` and returns the response's status, or why there was none.
    pub(super) fn post(
        url: &str,
        headers: &[(String, Vec<u8>)],
        body: &[u8],
        timeout_seconds: u64,
    ) -> Result<u16, String> {
        let url = url::Url::parse(url).map_err(|e| format!("the URL cannot be used: {e}"))?;
        let scheme = match url.scheme() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => return Err(format!("the scheme {other} cannot be used")),
        };
        let host = url.host_str().ok_or("the URL names no host")?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let fields = Fields::from_list(headers).map_err(|e| format!("headers refused: {e:?}"))?;
        let request = OutgoingRequest::new(fields);
        let addressed = request.set_method(&Method::Post).is_ok()
            && request.set_scheme(Some(&scheme)).is_ok()
            && request.set_authority(Some(&authority)).is_ok()
            && request.set_path_with_query(Some(&path)).is_ok();
        if !addressed {
            return Err(format!("cannot address {url}"));
        }
        let timeout_ns = timeout_seconds.saturating_mul(1_000_000_000);
        let options = RequestOptions::new();
        // A host that does not support an option still gets the deadline below.
        let _ = options.set_connect_timeout(Some(timeout_ns));
        let _ = options.set_first_byte_timeout(Some(timeout_ns));
        let _ = options.set_between_bytes_timeout(Some(timeout_ns));
        let outgoing = request.body().map_err(|()| "no request body".to_string())?;
        let future = outgoing_handler::handle(request, Some(options)).map_err(describe)?;
        {
            let stream = outgoing
                .write()
                .map_err(|()| "no body stream".to_string())?;
            for chunk in body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| format!("the body could not be sent: {e:?}"))?;
            }
        }
        OutgoingBody::finish(outgoing, None).map_err(describe)?;
        let deadline = monotonic_clock::subscribe_duration(timeout_ns);
        let ready = future.subscribe();
        let answered = |result: Result<Result<_, ErrorCode>, ()>| match result {
            Ok(Ok(response)) => {
                let response: wasi::http::types::IncomingResponse = response;
                Ok(response.status())
            }
            Ok(Err(code)) => Err(describe(code)),
            Err(()) => Err("the response was already taken".to_string()),
        };
        loop {
            if let Some(result) = future.get() {
                return answered(result);
            }
            let woken = wasi::io::poll::poll(&[&ready, &deadline]);
            if woken.contains(&1) {
                return match future.get() {
                    Some(result) => answered(result),
                    None => Err(format!("no response within {timeout_seconds} s")),
                };
            }
        }
    }

    /// Why a request failed, in words (the error code's name, with a hint for the usual ones).
    fn describe(code: ErrorCode) -> String {
        match code {
            ErrorCode::HttpRequestDenied => "the host is not in notify's allowed_outbound_hosts \
                (variables webhook_outbound_host, webhook_outbound_host_http)"
                .into(),
            ErrorCode::ConnectionRefused => "the connection was refused".into(),
            ErrorCode::ConnectionTimeout => "the connection timed out".into(),
            ErrorCode::DnsTimeout | ErrorCode::DnsError(_) => {
                "the host name was not resolved".into()
            }
            other => format!("{other:?}"),
        }
    }
}
