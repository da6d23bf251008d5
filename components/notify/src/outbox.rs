//! From the outbox to the queues: a published record's new history entries become one
//! delivery per subscription that wants them (W2), each exactly once whatever happens.
//!
//! Per record, `outbox:<record key>` = `{"cursor": n}` says how many history entries are
//! already queued. Processing reads the record, makes a delivery for every entry past the
//! cursor (its id derived from the record key and the entry's index, so processing the same
//! entry twice finds the same delivery and queues nothing new), and then moves the cursor.
//! Dying anywhere in between leaves the cursor behind and the marker in place: the next run
//! does the rest.

use certflow_component::outbox::{MARK_PREFIX, Mark, is_published};
use certflow_component::{
    Bucket, Reply, Request, Update, get_json, open_store, set_json, sha256_hex, store_error,
    update_json,
};
use certflow_domain::certificate::Certificate;
use certflow_domain::webhooks::{Delivery, DeliveryStatus, Event, events};
use certflow_domain::{ApplicationRecord, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::FollowUp;
use crate::deliver::{Context, Tally};
use crate::subscriptions::{Queue, QueueItem, Subscription, queue_key, shard_of};

/// How old a marker found by the dispatcher must be before it is deleted: longer than any
/// request runs, so the change it announces has landed or never will.
const MARK_GRACE_MS: i64 = 120_000;

/// How far notify has queued a record's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    cursor: usize,
}

/// What the outbox's announcement carries (`certflow_component::outbox::announce`).
#[derive(Debug, Deserialize)]
struct Announcement {
    mark: String,
}

/// One event of a record, with the time it happened from (to skip subscriptions created
/// after it).
struct Published {
    id: String,
    index: usize,
    event: Event,
    happened_at: DateTime<Utc>,
}

/// `POST /internal/records/<record key>` `{"mark"}` from a component that
/// changed the record: queues its new entries, deletes the marker, answers 202, and asks for
/// the streams concerned to be tried once the reply is sent.
pub(crate) fn announced(req: &Request, record_key: &str) -> Result<(Reply, FollowUp), Problem> {
    if !is_published(record_key) {
        return Err(crate::not_found("not a published record"));
    }
    let announcement: Announcement = serde_json::from_value(req.json_body()?).map_err(|e| {
        Problem::new(400, "bad-request", "Bad request")
            .detail(format!("not an outbox announcement: {e}"))
    })?;
    let context = Context::load(open_store()?, certflow_component::now())?;
    let bucket = &context.bucket;
    let mut tally = Tally::default();
    let stream = process(bucket, record_key, &context.subscriptions, &mut tally)?;
    // Every change of the announcing request was made before it announced.
    bucket
        .delete(&format!("{MARK_PREFIX}{record_key}:{}", announcement.mark))
        .map_err(store_error)?;
    let streams = match stream {
        Some(stream) => context
            .subscriptions
            .iter()
            .map(|s| (s.id.clone(), stream.clone()))
            .collect(),
        None => Vec::new(),
    };
    Ok((
        Reply::json(
            202,
            &json!({ "record": record_key, "enqueued": tally.enqueued }),
        ),
        FollowUp {
            streams,
            context: Some(context),
        },
    ))
}

/// The dispatcher's half: every record with a marker is processed, and markers older than
/// [`MARK_GRACE_MS`] are deleted.
pub(crate) fn sweep_marks(
    bucket: &Bucket,
    subscriptions: &[Subscription],
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<(), Problem> {
    let mut marks: std::collections::BTreeMap<String, Vec<(String, Option<Mark>)>> =
        Default::default();
    for key in certflow_component::keys_with_prefix(bucket, MARK_PREFIX)? {
        let Some((record_key, _nonce)) = key[MARK_PREFIX.len()..].rsplit_once(':') else {
            continue;
        };
        let mark = get_json::<Mark>(bucket, &key).ok().flatten();
        marks
            .entry(record_key.to_string())
            .or_default()
            .push((key.clone(), mark));
    }
    for (record_key, found) in marks {
        tally.records += 1;
        if is_published(&record_key) {
            process(bucket, &record_key, subscriptions, tally)?;
        }
        let oldest_kept = now.timestamp_millis() - MARK_GRACE_MS;
        for (key, mark) in found {
            if mark.is_none_or(|m| m.at_ms < oldest_kept) {
                bucket.delete(&key).map_err(store_error)?;
            }
        }
    }
    Ok(())
}

/// Queues the entries of `record_key` past its cursor for every subscription that wants them, then moves the cursor. Returns the
/// record's stream (its application id), `None` when the record does not exist.
fn process(
    bucket: &Bucket,
    record_key: &str,
    subscriptions: &[Subscription],
    tally: &mut Tally,
) -> Result<Option<String>, Problem> {
    let cursor_key = format!("outbox:{record_key}");
    let stored_cursor = get_json::<Cursor>(bucket, &cursor_key)?.map(|c| c.cursor);
    // A record notify has not seen is read from its first entry: subscriptions receive only
    // changes made after they were created, so older entries are skipped at each of them.
    let cursor = stored_cursor.unwrap_or(0);
    let now = certflow_component::now();
    let Some((stream, length, published)) = read_events(bucket, record_key, cursor, now)? else {
        return Ok(None);
    };
    for subscription in subscriptions {
        let wanted: Vec<&Published> = published
            .iter()
            .filter(|p| {
                subscription.wants(p.event.kind) && p.happened_at >= subscription.created_at
            })
            .collect();
        if !wanted.is_empty() {
            tally.enqueued += enqueue(bucket, subscription, &stream, &wanted, now)?;
        }
    }
    if stored_cursor.is_none_or(|c| c < length) {
        set_json(bucket, &cursor_key, &Cursor { cursor: length })?;
    }
    Ok(Some(stream))
}

/// The record's stream, its history's length and the events of the entries from `cursor` on.
#[allow(clippy::type_complexity)]
fn read_events(
    bucket: &Bucket,
    record_key: &str,
    cursor: usize,
    now: DateTime<Utc>,
) -> Result<Option<(String, usize, Vec<Published>)>, Problem> {
    let message_id = |index: usize| {
        let digest = sha256_hex(format!("{record_key}#{index}").as_bytes());
        format!("msg_{}", &digest[..32])
    };
    if let Some(id) = record_key.strip_prefix("application:") {
        let Some(record) = get_json::<ApplicationRecord<Value>>(bucket, record_key)? else {
            return Ok(None);
        };
        let published = record
            .history
            .iter()
            .enumerate()
            .skip(cursor)
            .filter_map(|(index, entry)| {
                entry.published_event(id).map(|event| Published {
                    id: message_id(index),
                    index,
                    event,
                    happened_at: entry.at,
                })
            })
            .collect();
        return Ok(Some((id.to_string(), record.history.len(), published)));
    }
    if let Some(number) = record_key.strip_prefix("certificate:") {
        let Some(certificate) = get_json::<Certificate>(bucket, record_key)? else {
            return Ok(None);
        };
        let application = certificate.application_id.as_deref();
        let published = certificate
            .history
            .iter()
            .enumerate()
            .skip(cursor)
            .map(|(index, change)| Published {
                id: message_id(index),
                index,
                event: events::certificate_event(number, application, change, now),
                // Its time (`at`, since webhooks); a change written before records its day
                // only: the end of that day, so a subscription made that day receives it.
                happened_at: change.at.unwrap_or_else(|| {
                    change
                        .on
                        .and_hms_opt(23, 59, 59)
                        .map_or(now, |t| t.and_utc())
                }),
            })
            .collect();
        let stream = application.unwrap_or(number).to_string();
        return Ok(Some((stream, certificate.history.len(), published)));
    }
    Ok(None)
}

/// Makes the deliveries of `events` for `subscription` (unless they exist) and appends the
/// pending ones its queue does not hold yet. Returns how many were appended.
fn enqueue(
    bucket: &Bucket,
    subscription: &Subscription,
    stream: &str,
    events: &[&Published],
    now: DateTime<Utc>,
) -> Result<usize, Problem> {
    let mut pending = Vec::new();
    for published in events {
        let key = crate::deliver::delivery_key(&subscription.id, &published.id);
        let status = match get_json::<Delivery>(bucket, &key)? {
            Some(existing) => existing.status,
            None => {
                let body = serde_json::to_string(&published.event).map_err(store_error)?;
                let delivery = Delivery {
                    entry: published.index,
                    ..Delivery::new(
                        published.id.clone(),
                        published.event.kind,
                        stream.to_string(),
                        body,
                        now,
                    )
                };
                set_json(bucket, &key, &delivery)?;
                DeliveryStatus::Pending
            }
        };
        if status == DeliveryStatus::Pending {
            pending.push(QueueItem {
                delivery: published.id.clone(),
                stream: stream.to_string(),
            });
        }
    }
    let mut appended = 0;
    let key = queue_key(&subscription.id, shard_of(stream));
    update_json::<Queue, _>(bucket, &key, true, |mut queue| {
        appended = 0;
        for item in &pending {
            if !queue.items.iter().any(|i| i.delivery == item.delivery) {
                queue.items.push(item.clone());
                appended += 1;
            }
        }
        if appended == 0 {
            Update::Keep(queue)
        } else {
            Update::Store(queue)
        }
    })?;
    Ok(appended)
}
