//! One-time work that survives a crash (I7): a *claim* on a key `base` decides which request
//! does the work whose result is then stored at `base` (an idempotent request's first reply, a
//! submission's idempotency record, the generated server secret), and lets a later request take
//! the work over when the holder died before storing the result.
//!
//! Keys, for a claim on `base`:
//! - `<base>:claim`: an `increment` counter; the request that gets 1 holds the claim (create-once
//!   is an increment, never a check-then-set or a compare-and-swap on an absent key, which
//!   Spin's SQLite store upserts).
//! - `<base>:lease`: a [`Lease`] (JSON): until when the holder is trusted to finish, and the
//!   SHA-256 of the request it is doing. The holder writes it right after winning; a request
//!   that finds the claim taken and no lease (the holder died in between, or is about to write
//!   it) writes one, which starts the clock. Once the lease has expired, a request takes the
//!   claim over with a compare-and-swap on the *existing* lease: of concurrent takers, exactly
//!   one swaps and holds the claim.
//! - `<base>`: the result, written by the holder when the work is done.
//!
//! A lease lasts `claim_expiry_seconds` (the Spin variable, default 30 s). It must exceed the
//! longest time a request can run (the host's request timeout), or a slow holder and its
//! successor may both do the work.

use crate::outcome::Swap;
use crate::{Bucket, get_json, now, store_error, unavailable};
use certflow_domain::Problem;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use spin_sdk::wit::wasi::keyvalue::atomics;

/// Default lease length, in seconds.
pub const DEFAULT_EXPIRY_SECONDS: u64 = 30;

/// Longest lease the `claim_expiry_seconds` variable may set (one day).
const MAX_EXPIRY_SECONDS: u64 = 86_400;

/// The lease of a claim (`<base>:lease`).
#[derive(Serialize, Deserialize)]
pub struct Lease {
    /// When the holder stops being trusted to finish: milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
    /// SHA-256 of the request the holder is doing; empty when unknown (a lease written by a
    /// waiting request because the holder wrote none).
    pub request_sha256: String,
    /// Random, so that every lease written differs from the one it replaces, and so that its
    /// writer can tell whether its write landed when the store does not say ([`crate::outcome`]).
    pub nonce: String,
}

/// What [`claim`] found.
pub enum Claim<T> {
    /// This request holds the claim: do the work and store the result at `base`, or
    /// [`release`] the claim when the work was refused. `taken_over`: an earlier holder died
    /// before storing its result, and may have left part of its work in the store.
    Held { taken_over: bool },
    /// The work was done: its result.
    Done(T),
    /// Another request holds the claim and its lease has not expired.
    Busy,
    /// The holder is doing another request (another SHA-256) under this key.
    Reused,
}

/// `claim_expiry_seconds`, in milliseconds (1 s to one day; 503 for anything else).
pub fn expiry_ms() -> Result<i64, Problem> {
    let text = spin_sdk::variables::get("claim_expiry_seconds").unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return Ok((DEFAULT_EXPIRY_SECONDS * 1000) as i64);
    }
    match text.parse::<u64>() {
        Ok(s) if (1..=MAX_EXPIRY_SECONDS).contains(&s) => Ok((s * 1000) as i64),
        _ => Err(unavailable(format!(
            "the claim_expiry_seconds variable must be a whole number of seconds from 1 to \
             {MAX_EXPIRY_SECONDS}, not `{text}`"
        ))),
    }
}

/// A new lease and its nonce (what identifies this write of it when the store's reply does
/// not: [`crate::outcome`]).
fn new_lease(request_sha256: &str, expiry_ms: i64) -> Result<(Vec<u8>, String), Problem> {
    let nonce = crate::outcome::new_change_id()?;
    let lease = Lease {
        expires_at_ms: now().timestamp_millis().saturating_add(expiry_ms),
        request_sha256: request_sha256.to_string(),
        nonce: nonce.clone(),
    };
    Ok((serde_json::to_vec(&lease).map_err(store_error)?, nonce))
}

/// Whether the stored lease `bytes` is the one written with `nonce`.
fn is_lease(bytes: &[u8], nonce: &str) -> bool {
    serde_json::from_slice::<Lease>(bytes).is_ok_and(|lease| lease.nonce == nonce)
}

/// Swaps in a new lease, resolved ([`crate::outcome::swap`]): whether it was stored.
fn swap_lease(
    bucket: &Bucket,
    lease_key: &str,
    cas: atomics::Cas,
    expected: Option<&[u8]>,
    request_sha256: &str,
    expiry: i64,
) -> Result<Swap, Problem> {
    let (lease, nonce) = new_lease(request_sha256, expiry)?;
    crate::outcome::swap(bucket, lease_key, cas, expected, &lease, |stored| {
        is_lease(stored, &nonce)
    })
}

/// Claims the work stored at `base` for the request whose SHA-256 is `request_sha256` (empty:
/// any request does the same work). The first request holds it. Any other waits up to
/// `wait_ms` for the result, and takes the claim over if the holder's lease expires meanwhile.
pub fn claim<T: DeserializeOwned>(
    bucket: &Bucket,
    base: &str,
    request_sha256: &str,
    wait_ms: u64,
) -> Result<Claim<T>, Problem> {
    let lease_key = format!("{base}:lease");
    let expiry = expiry_ms()?;
    if atomics::increment(bucket, &format!("{base}:claim"), 1).map_err(store_error)? == 1 {
        let (lease, _) = new_lease(request_sha256, expiry)?;
        crate::outcome::set(bucket, &lease_key, &lease)?;
        return Ok(Claim::Held { taken_over: false });
    }
    let mut waited = 0;
    loop {
        if let Some(done) = get_json::<T>(bucket, base)? {
            return Ok(Claim::Done(done));
        }
        let cas = atomics::Cas::new(bucket, &lease_key).map_err(store_error)?;
        match cas.current().map_err(store_error)? {
            None => {
                // The holder wrote no lease (yet): start the clock. A conflict means someone
                // else started it.
                swap_lease(bucket, &lease_key, cas, None, "", expiry)?;
            }
            Some(bytes) => {
                let lease: Lease = serde_json::from_slice(&bytes).map_err(store_error)?;
                let known = !lease.request_sha256.is_empty() && !request_sha256.is_empty();
                if known && lease.request_sha256 != request_sha256 {
                    return Ok(Claim::Reused);
                }
                if lease.expires_at_ms <= now().timestamp_millis() {
                    let request = if lease.request_sha256.is_empty() {
                        request_sha256
                    } else {
                        &lease.request_sha256
                    };
                    // Lost: another request took it over first; wait for its result.
                    let taken = swap_lease(bucket, &lease_key, cas, Some(&bytes), request, expiry)?;
                    if taken == Swap::Stored {
                        return Ok(Claim::Held { taken_over: true });
                    }
                }
            }
        }
        if waited >= wait_ms {
            return Ok(Claim::Busy);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        waited += 10;
    }
}

/// Gives up a held claim whose work was refused and left nothing in the store, so that a
/// corrected request may use the key: the lease, then the counter (a crash in between leaves
/// a claim without lease, taken over after the expiry).
pub fn release(bucket: &Bucket, base: &str) {
    let _ = bucket.delete(&format!("{base}:lease"));
    let _ = bucket.delete(&format!("{base}:claim"));
}
