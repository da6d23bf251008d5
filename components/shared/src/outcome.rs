//! Ambiguous write outcomes (issue 12): whether a write landed when the store's reply does not
//! say so truthfully.
//!
//! A host may report a write's outcome wrongly or not at all. Spin 4.0.2 on Redis reports every
//! compare-and-swap as `CasFailed` after the write has landed (its `UNWATCH key` is refused by
//! Redis), and reads a real conflict as success before masking it the same way; any store can
//! time out after committing. So every state change here is *outcome unknown* unless the store
//! said it succeeded: the component re-reads the key and decides from what it wrote.
//!
//! - A record with a history (R1: `application:<id>`, `certificate:<number>`) gets a fresh
//!   **change id** (128 random bits, hex) on each history entry the change appends
//!   ([`Journaled::stamp`]); the change landed exactly when the stored history holds an entry
//!   with that id ([`holds_change`]). Histories are append-only, so a later change by someone
//!   else cannot remove the evidence.
//! - A claim's lease carries its own random nonce, compared the same way (`claim.rs`).
//! - A plain `set` landed when the key holds the bytes written ([`set`]).
//!
//! Decided "landed": the request answers success. Decided "lost": a compare-and-swap is
//! [`Swap::Lost`] (the caller retries on the newer value or answers 409, as for a real
//! conflict). A store error with the key unchanged is not "not landed" (a write whose reply
//! timed out may land later): the same compare-and-swap is sent again ([`swap`]). When the
//! outcome stays unknown, the answer is a 503 that says so ([`unconfirmed`]). On a host whose store reports
//! outcomes truthfully (SQLite, a correct Redis CAS), the re-read happens only on a real
//! conflict (where it decides "lost") or a store error.

use crate::{Bucket, random_bytes, unavailable};
use certflow_domain::Problem;
use serde::Deserialize;
use spin_sdk::wit::wasi::keyvalue::atomics;

/// A record whose history (R1) is append-only and whose entries carry the id of the change
/// that wrote them.
pub trait Journaled {
    /// How many history entries the record has.
    fn journal_len(&self) -> usize;
    /// Puts `change_id` on every entry from index `from` on (those this change appended).
    fn stamp(&mut self, from: usize, change_id: &str);
}

impl<A> Journaled for certflow_domain::ApplicationRecord<A> {
    fn journal_len(&self) -> usize {
        self.history.len()
    }

    fn stamp(&mut self, from: usize, change_id: &str) {
        for entry in self.history.iter_mut().skip(from) {
            entry.change_id = Some(change_id.to_string());
        }
    }
}

impl Journaled for certflow_domain::certificate::Certificate {
    fn journal_len(&self) -> usize {
        self.history.len()
    }

    /// Also the time of the change, which a certificate change otherwise records only as its
    /// day (webhook events, issue 13).
    fn stamp(&mut self, from: usize, change_id: &str) {
        let at = crate::now();
        for entry in self.history.iter_mut().skip(from) {
            entry.change_id = Some(change_id.to_string());
            entry.at.get_or_insert(at);
        }
    }
}

/// A delivery (issue 13) has no history: a lost reply is resolved by the bytes written.
impl Journaled for certflow_domain::webhooks::Delivery {
    fn journal_len(&self) -> usize {
        0
    }

    fn stamp(&mut self, _: usize, _: &str) {}
}

/// A record kept as its JSON document (components that do not interpret the whole record):
/// the journal is its top-level `history` array.
impl Journaled for serde_json::Value {
    fn journal_len(&self) -> usize {
        self.get("history")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len)
    }

    fn stamp(&mut self, from: usize, change_id: &str) {
        let Some(history) = self
            .get_mut("history")
            .and_then(serde_json::Value::as_array_mut)
        else {
            return;
        };
        for entry in history.iter_mut().skip(from) {
            if let Some(entry) = entry.as_object_mut() {
                entry.insert("change_id".into(), change_id.into());
            }
        }
    }
}

/// A fresh change id: 128 random bits, lowercase hex.
pub fn new_change_id() -> Result<String, Problem> {
    Ok(random_bytes::<16>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Only what [`holds_change`] reads of a stored record: its history's change ids.
#[derive(Deserialize)]
struct StoredJournal {
    #[serde(default)]
    history: Vec<StoredEntry>,
}

#[derive(Deserialize)]
struct StoredEntry {
    #[serde(default)]
    change_id: Option<String>,
}

/// Whether the stored record `bytes` (JSON with a top-level `history` array) holds an entry
/// written by the change `change_id`.
pub fn holds_change(bytes: &[u8], change_id: &str) -> bool {
    serde_json::from_slice::<StoredJournal>(bytes).is_ok_and(|journal| {
        journal
            .history
            .iter()
            .any(|entry| entry.change_id.as_deref() == Some(change_id))
    })
}

/// What a resolved compare-and-swap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// The new value was stored (the store said so, or the re-read proved it).
    Stored,
    /// It was not, and never will be: another writer changed the key first (a conflict).
    Lost,
}

/// How many times [`swap`] sends the same write when the store failed and the key still
/// holds what the swap expected.
const SAME_SWAP_ATTEMPTS: u32 = 3;

/// The answer when the store did not confirm whether a write landed (503): the write may
/// still land (a reply lost to a timeout does not mean the command was not run).
pub fn unconfirmed() -> Problem {
    unavailable(UNCONFIRMED)
}

const UNCONFIRMED: &str =
    "the store did not confirm whether the change was stored; read the record before retrying";

/// Whether `problem` is [`unconfirmed`]: the change may have landed, or may still land.
pub fn is_unconfirmed(problem: &Problem) -> bool {
    problem.status == 503 && problem.detail.as_deref() == Some(UNCONFIRMED)
}

/// Re-reads `key` to settle an outcome the store did not report: a few attempts, since the
/// store may have just failed. Err: 503, the outcome unknown.
fn reread(bucket: &Bucket, key: &str) -> Result<Option<Vec<u8>>, Problem> {
    let mut last = None;
    for wait_ms in [0, 50, 250] {
        if wait_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        }
        match bucket.get(key) {
            Ok(value) => return Ok(value),
            Err(e) => last = Some(e),
        }
    }
    eprintln!("key-value error re-reading `{key}` to settle a write: {last:?}");
    Err(unconfirmed())
}

/// `atomics::swap(cas, value)`, resolved. `expected` is what `cas.current()` read. When the
/// store reports `CasFailed` or a store error, `key` is re-read and the stored bytes decide:
/// `landed` finds this swap's change there → [`Swap::Stored`]; the key holds something other
/// than `expected` → [`Swap::Lost`] (someone else wrote first; had this swap landed, the
/// append-only history would still show it); the key still holds `expected` →
/// [`Swap::Lost`] after `CasFailed`.
///
/// After a store error with the key still holding `expected`, the swap has *not* been shown
/// not to land: a write whose reply timed out can reach the store later. So the same write
/// (same bytes, same change id) is sent again on a fresh compare-and-swap of `expected`: of
/// it and any late copy of an earlier attempt exactly one can land (each watches the key,
/// and the first to land changes it), and the re-read settles which. Err: 503
/// ([`unconfirmed`]) when the re-read fails, or the store keeps failing.
pub fn swap(
    bucket: &Bucket,
    key: &str,
    cas: atomics::Cas,
    expected: Option<&[u8]>,
    value: &[u8],
    landed: impl Fn(&[u8]) -> bool,
) -> Result<Swap, Problem> {
    let mut first = Some(cas);
    for attempt in 0..SAME_SWAP_ATTEMPTS {
        let cas = match first.take() {
            Some(cas) => cas,
            None => {
                backoff(attempt);
                let again = atomics::Cas::new(bucket, key).map_err(|e| {
                    eprintln!("key-value error sending a write again: {e:?}");
                    unconfirmed()
                })?;
                let current = again.current().map_err(|e| {
                    eprintln!("key-value error sending a write again: {e:?}");
                    unconfirmed()
                })?;
                if current.as_deref() != expected {
                    return Ok(if current.as_deref().is_some_and(&landed) {
                        Swap::Stored
                    } else {
                        Swap::Lost
                    });
                }
                again
            }
        };
        let failed = match atomics::swap(cas, value) {
            Ok(()) => return Ok(Swap::Stored),
            Err(atomics::CasError::CasFailed(_)) => None,
            Err(atomics::CasError::StoreError(e)) => Some(e),
        };
        let stored = reread(bucket, key)?;
        if stored.as_deref().is_some_and(&landed) {
            return Ok(Swap::Stored);
        }
        if stored.as_deref() != expected {
            return Ok(Swap::Lost);
        }
        match failed {
            None => return Ok(Swap::Lost),
            Some(e) => eprintln!("key-value error on a compare-and-swap, not landed yet: {e:?}"),
        }
    }
    Err(unconfirmed())
}

/// `bucket.set(key, value)`, resolved: on a store error, `key` is re-read, and the write
/// counts as done when the key holds `value`. Otherwise the outcome is unknown (the write may
/// still land): 503 ([`unconfirmed`]).
pub fn set(bucket: &Bucket, key: &str, value: &[u8]) -> Result<(), Problem> {
    let Err(e) = bucket.set(key, value) else {
        return Ok(());
    };
    if reread(bucket, key)?.as_deref() == Some(value) {
        return Ok(());
    }
    eprintln!("key-value error on a set, not landed yet: {e:?}");
    Err(unconfirmed())
}

/// Waits a little before retrying a compare-and-swap that lost, longer after each attempt and
/// at random, so that concurrent writers (several replicas on one Redis) do not collide again
/// in step: up to 1, 2, 4, … 32 ms.
pub fn backoff(attempt: u32) {
    let cap = 1u64 << attempt.min(5);
    let jitter = random_bytes::<1>().map(|b| u64::from(b[0])).unwrap_or(0);
    let ms = jitter % (cap + 1);
    if ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
