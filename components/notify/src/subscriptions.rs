//! Webhook subscriptions (W1): create, list, read, delete, rotate the signing secret.
//!
//! A subscription is `webhook:<id>`; its id is also in a slot (`webhook-slot:<n>`, `n` from
//! the counter `webhook-count`), so that every reader finds every subscription without
//! listing the store's keys and concurrent creations never overwrite each other.

use base64::Engine;
use certflow_component::outcome::Journaled;
use certflow_component::{
    Bucket, Outcome, Reply, Request, Update, get_json, increment, invalid, keys_with_prefix, now,
    open_store, random_bytes, set_json, unavailable, update_json,
};
use certflow_domain::Problem;
use certflow_domain::webhooks::{EventType, SubscriptionRequest, WebhookSettings};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::not_found;

/// The counter of subscription slots.
const COUNT: &str = "webhook-count";

/// A subscription as stored under `webhook:<id>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Subscription {
    /// `wh_` + 32 hex characters.
    pub id: String,
    /// Where events are POSTed (W1-checked, normalised).
    pub url: String,
    /// The event types sent; empty: every type.
    pub events: Vec<EventType>,
    /// The operator's note.
    pub description: String,
    /// When it was created; it receives the changes made from then on.
    pub created_at: DateTime<Utc>,
    /// Who created it (R1: the token's operator).
    pub created_by: String,
    /// Set when a receiver answered 410 Gone: nothing more is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<Disabled>,
    /// The signing secrets (`whsec_<base64>`), newest last; each signs until it retires.
    pub secrets: Vec<SigningSecret>,
}

/// Why and when a subscription stopped receiving events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Disabled {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// One signing secret. Kept as it is: an HMAC key is needed whole to sign.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SigningSecret {
    pub secret: String,
    pub created_at: DateTime<Utc>,
    /// When a rotation replaced it, the time it stops signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retires_at: Option<DateTime<Utc>>,
}

/// The deliveries waiting for a subscription, in order (`webhook-queue:<id>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Queue {
    pub items: Vec<QueueItem>,
}

/// One waiting delivery and the stream (application) it is ordered in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QueueItem {
    pub delivery: String,
    pub stream: String,
}

// Neither has a history: a lost reply is resolved by comparing the bytes written.
impl Journaled for Subscription {
    fn journal_len(&self) -> usize {
        0
    }
    fn stamp(&mut self, _: usize, _: &str) {}
}

impl Journaled for Queue {
    fn journal_len(&self) -> usize {
        0
    }
    fn stamp(&mut self, _: usize, _: &str) {}
}

impl Subscription {
    /// The secrets that sign at `at`: those not retired.
    pub fn signing_secrets(&self, at: DateTime<Utc>) -> Vec<String> {
        self.secrets
            .iter()
            .filter(|s| s.retires_at.is_none_or(|r| r > at))
            .map(|s| s.secret.clone())
            .collect()
    }

    /// Whether it receives events of `kind`.
    pub fn wants(&self, kind: EventType) -> bool {
        self.disabled.is_none() && (self.events.is_empty() || self.events.contains(&kind))
    }

    /// What operators see: everything but the secrets' values.
    pub fn view(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "url": self.url,
            "events": if self.events.is_empty() { json!(["*"]) } else { json!(self.events) },
            "description": self.description,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "disabled": self.disabled.as_ref().map(|d| json!({"at": d.at, "reason": d.reason})),
            "secrets": self.secrets.iter().map(|s| json!({"created_at": s.created_at, "retires_at": s.retires_at})).collect::<Vec<_>>(),
            "links": {
                "deliveries": format!("/api/webhooks/{}/deliveries", self.id),
            },
        })
    }
}

/// The key of subscription `id`.
pub(crate) fn key(id: &str) -> String {
    format!("webhook:{id}")
}

/// How many queues a subscription's deliveries are spread over. A stream (an application)
/// always goes to the same one, so its order holds, while the changes of different
/// applications mostly swap different documents instead of all contending for one.
pub(crate) const QUEUE_SHARDS: u8 = 16;

/// The queue shard of `stream`: the first hex digit of its SHA-256 (0–15).
pub(crate) fn shard_of(stream: &str) -> u8 {
    let digest = certflow_component::sha256_hex(stream.as_bytes());
    digest
        .bytes()
        .next()
        .and_then(|b| (b as char).to_digit(16))
        .and_then(|d| u8::try_from(d).ok())
        .unwrap_or(0)
}

/// The key of subscription `id`'s queue shard `shard`.
pub(crate) fn queue_key(id: &str, shard: u8) -> String {
    format!("webhook-queue:{id}:{shard}")
}

/// The notify settings from the variables; 503 naming the variable when one is malformed.
pub(crate) fn settings() -> Result<WebhookSettings, Problem> {
    let var = |name: &str| spin_sdk::variables::get(name).unwrap_or_default();
    WebhookSettings::parse(
        &var("webhook_trusted_hosts"),
        &var("webhook_retry_seconds"),
        &var("webhook_timeout_seconds"),
        &var("webhook_rotation_hours"),
    )
    .map_err(|e| unavailable(format!("the webhook settings are not valid: {e}")))
}

/// Whether `id` has the shape of a subscription id.
fn is_subscription_id(id: &str) -> bool {
    id.strip_prefix("wh_")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The subscription `id`, or 404.
pub(crate) fn load(bucket: &Bucket, id: &str) -> Result<Subscription, Problem> {
    if !is_subscription_id(id) {
        return Err(not_found("no webhook subscription with this id"));
    }
    get_json(bucket, &key(id))?.ok_or_else(|| not_found("no webhook subscription with this id"))
}

/// Every subscription, oldest first.
pub(crate) fn all(bucket: &Bucket) -> Result<Vec<Subscription>, Problem> {
    let count = increment(bucket, COUNT, 0)?;
    let mut found = Vec::new();
    for slot in 1..=count {
        let Some(id) = get_json::<String>(bucket, &format!("webhook-slot:{slot}"))? else {
            continue;
        };
        if let Some(subscription) = get_json::<Subscription>(bucket, &key(&id))? {
            found.push(subscription);
        }
    }
    Ok(found)
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks).
fn new_secret() -> Result<String, Problem> {
    let bytes = random_bytes::<32>()?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// `POST /api/webhooks`: 201 with the subscription and its secret (shown only here).
pub(crate) fn create(req: &Request, by: &str) -> Outcome {
    let settings = settings()?;
    let body = req.json_body()?;
    let new = SubscriptionRequest::parse(&body, &settings.trusted_hosts)
        .map_err(|errors| invalid("The subscription", errors))?;
    let bucket = open_store()?;
    let id = format!(
        "wh_{}",
        random_bytes::<16>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let at = now();
    let secret = new_secret()?;
    let subscription = Subscription {
        id: id.clone(),
        url: new.url,
        events: new.events,
        description: new.description,
        created_at: at,
        created_by: by.to_string(),
        disabled: None,
        secrets: vec![SigningSecret {
            secret: secret.clone(),
            created_at: at,
            retires_at: None,
        }],
    };
    for shard in 0..QUEUE_SHARDS {
        set_json(&bucket, &queue_key(&id, shard), &Queue::default())?;
    }
    set_json(&bucket, &key(&id), &subscription)?;
    let slot = increment(&bucket, COUNT, 1)?;
    set_json(&bucket, &format!("webhook-slot:{slot}"), &id)?;
    println!("webhook {id} created by {by}");
    let mut view = subscription.view();
    view["secret"] = json!(secret);
    Ok(Reply::json(201, &view).header("location", format!("/api/webhooks/{id}")))
}

/// `GET /api/webhooks`.
pub(crate) fn list() -> Outcome {
    let bucket = open_store()?;
    let views: Vec<_> = all(&bucket)?.iter().map(Subscription::view).collect();
    Ok(Reply::json(200, &json!({ "webhooks": views })))
}

/// `GET /api/webhooks/:id`.
pub(crate) fn read(id: &str) -> Outcome {
    let bucket = open_store()?;
    Ok(Reply::json(200, &load(&bucket, id)?.view()))
}

/// `DELETE /api/webhooks/:id`: 204; its queue and deliveries go with it.
pub(crate) fn delete(id: &str) -> Outcome {
    let bucket = open_store()?;
    load(&bucket, id)?;
    let gone = |e| certflow_component::store_error(e);
    bucket.delete(&key(id)).map_err(gone)?;
    for shard in 0..QUEUE_SHARDS {
        bucket.delete(&queue_key(id, shard)).map_err(gone)?;
    }
    for delivery in keys_with_prefix(&bucket, &format!("webhook-delivery:{id}:"))? {
        bucket.delete(&delivery).map_err(gone)?;
    }
    println!("webhook {id} deleted");
    Ok(Reply::new(204, "text/plain", String::new()))
}

/// `POST /api/webhooks/:id/secret`: a new secret; the ones signing now retire after
/// `webhook_rotation_hours`, both signing meanwhile (Standard Webhooks allows several
/// signatures). 200 `{"secret", "previous_retires_at"}`.
pub(crate) fn rotate(id: &str) -> Outcome {
    let settings = settings()?;
    let bucket = open_store()?;
    load(&bucket, id)?;
    let at = now();
    let retires_at = at + Duration::hours(i64::try_from(settings.rotation_hours).unwrap_or(24));
    let secret = new_secret()?;
    update_json::<Subscription, _>(&bucket, &key(id), true, |mut s| {
        s.secrets
            .retain(|old| old.retires_at.is_none_or(|r| r > at));
        for old in &mut s.secrets {
            if old.retires_at.is_none_or(|r| r > retires_at) {
                old.retires_at = Some(retires_at);
            }
        }
        s.secrets.push(SigningSecret {
            secret: secret.clone(),
            created_at: at,
            retires_at: None,
        });
        Update::Store(s)
    })?
    .ok_or_else(|| not_found("no webhook subscription with this id"))?;
    println!("webhook {id}: signing secret rotated");
    Ok(Reply::json(
        200,
        &json!({ "secret": secret, "previous_retires_at": retires_at }),
    ))
}

/// W2: a receiver answered 410 Gone: the subscription stops receiving events.
pub(crate) fn disable(bucket: &Bucket, id: &str, reason: &str) -> Result<(), Problem> {
    let at = now();
    update_json::<Subscription, _>(bucket, &key(id), true, |mut s| {
        if s.disabled.is_some() {
            return Update::Keep(s);
        }
        s.disabled = Some(Disabled {
            at,
            reason: reason.to_string(),
        });
        Update::Store(s)
    })?;
    println!("webhook {id} disabled: {reason}");
    Ok(())
}
