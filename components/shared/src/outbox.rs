//! The outbox (issue 13): how every state change reaches the notify component without a
//! multi-key transaction.
//!
//! The append-only histories (R1) of `application:<id>` and `certificate:<number>` are the
//! event log. Before a component changes such a record it writes a small marker,
//! `outbox-mark:<record key>:<nonce>` = `{"at_ms"}` ([`mark`]); after it has
//! answered its client it chains `POST http://notify.spin.internal/internal/records/<record
//! key>` `{"mark": <nonce>}` for each record it marked ([`announce`]), so
//! delivery starts at once. Notify turns the history entries past its cursor into deliveries
//! and deletes that marker (the request's changes are all made by then); the dispatcher
//! deletes markers it finds once they are older than any request can run. If the host dies between the change and the announcement, the marker
//! is still there and the next `POST /api/webhooks/dispatch` finds it: no event is lost. A
//! marker whose change never landed (the host died before it) costs one read of the record.

use std::cell::RefCell;

use certflow_domain::Problem;
use serde::{Deserialize, Serialize};

use crate::{Bucket, random_bytes, set_json};

/// Prefix of every marker key.
pub const MARK_PREFIX: &str = "outbox-mark:";

/// The counter of webhook subscriptions ever created (notify's slots): while it is 0 there is
/// no one to tell, and a change writes no marker and announces nothing.
pub const SUBSCRIPTION_COUNT: &str = "webhook-count";

/// A marker: when it was written (the dispatcher deletes markers older than any request).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mark {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// A marker this request wrote: the record key, the marker's nonce, and the [`Mark`].
struct Marked {
    record_key: String,
    nonce: String,
}

thread_local! {
    /// The record keys this request marked, announced once it has answered.
    static MARKED: RefCell<Vec<Marked>> = const { RefCell::new(Vec::new()) };
    /// Whether a subscription exists, read once per request.
    static SUBSCRIBED: RefCell<Option<bool>> = const { RefCell::new(None) };
}

/// Whether `key` is a record whose history is published (`application:`, `certificate:`).
pub fn is_published(key: &str) -> bool {
    key.strip_prefix("application:")
        .or_else(|| key.strip_prefix("certificate:"))
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(':'))
}

/// Writes the marker for a change about to be made to `record_key` (a published record), once
/// per record and request. Errors: 503 when the
/// store cannot take it (the change is then not made).
pub fn mark(bucket: &Bucket, record_key: &str) -> Result<(), Problem> {
    if !is_published(record_key)
        || MARKED.with(|m| m.borrow().iter().any(|k| k.record_key == record_key))
    {
        return Ok(());
    }
    // No subscription yet: nothing to mark (a subscription receives the changes made after it
    // exists; one created while this request runs sees it as made before).
    let subscribed = match SUBSCRIBED.with(|s| *s.borrow()) {
        Some(known) => known,
        None => {
            let known = crate::read_counter(bucket, SUBSCRIPTION_COUNT)? > 0;
            SUBSCRIBED.with(|s| *s.borrow_mut() = Some(known));
            known
        }
    };
    if !subscribed {
        return Ok(());
    }
    let nonce: String = random_bytes::<8>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let at_ms = crate::now().timestamp_millis();
    set_json(
        bucket,
        &format!("{MARK_PREFIX}{record_key}:{nonce}"),
        &Mark { at_ms },
    )?;
    MARKED.with(|m| {
        m.borrow_mut().push(Marked {
            record_key: record_key.to_string(),
            nonce,
        })
    });
    Ok(())
}

/// Chains notify for every record this request marked (after the reply was sent, so the
/// client does not wait for it). A failure is only logged: the markers stay, and the next
/// dispatch delivers.
pub async fn announce() {
    let marked = MARKED.with(|m| std::mem::take(&mut *m.borrow_mut()));
    for Marked {
        record_key: key,
        nonce,
    } in marked
    {
        let path = format!("/internal/records/{key}");
        let body = serde_json::json!({ "mark": nonce });
        match crate::chain_post("notify", &path, Some(&body)).await {
            Ok((status, _)) if (200..300).contains(&status) => {}
            Ok((status, _)) => {
                eprintln!("notify answered {status} for {key}; the next dispatch delivers")
            }
            Err(e) => eprintln!("notify not reached for {key} ({e}); the next dispatch delivers"),
        }
    }
}
