//! The key-value stores behind `fermyon:spin/key-value` and `wasi:keyvalue`, as in Spin: one
//! trait ([`KvStore`], with [`KvCas`] for compare-and-swap handles) and one module per backend.
//!
//! - [`sqlite`]: the default, Spin's own SQLite table shape (`type = "spin"` in the runtime
//!   config, or no configuration at all).
//! - [`redis`]: `type = "redis"`, `url = "redis://..."`, faithful to Spin 4.0.2's
//!   `crates/key-value-redis` except for its compare-and-swap defect (see [`KvFaults`]).
//!
//! [`KvFaults`] is a test-only decorator over any backend that reproduces how Spin 4.0.2 on
//! Redis misreports write outcomes.

pub mod redis;
pub mod sqlite;

use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use sqlite::KvDatabase;

/// What a batch read returns: each key with its value, if any.
pub type KeyValues = Vec<(String, Option<Vec<u8>>)>;

/// Errors a guest sees as `other(..)`; the message names what failed, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvError(pub String);

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KvError {}

/// What a compare-and-swap's `swap` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapOutcome {
    /// The value was stored.
    Stored,
    /// Nothing was stored: the value changed after `current()` read it (the guest sees
    /// `cas-failed`).
    Conflict,
}

/// A key-value backend. `label` is the store name the guest opened; a backend may ignore it
/// (Redis does, as in Spin: every label configured with one URL shares its keyspace).
///
/// Every method fails with a [`KvError`] (the guest's `other(..)` / store error) when the
/// backend cannot answer, within a bounded time: a store that is down or hangs is an error,
/// never a hang.
#[async_trait]
pub trait KvStore: Send + Sync {
    async fn get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    async fn exists(&self, label: &str, key: &str) -> Result<bool, KvError>;
    /// Every key of the label, in one page.
    async fn keys(&self, label: &str) -> Result<Vec<String>, KvError>;
    /// The values of `keys`, in the order asked, `None` where absent.
    async fn get_many(&self, label: &str, keys: &[String]) -> Result<KeyValues, KvError>;
    async fn set(&self, label: &str, key: &str, value: Vec<u8>) -> Result<(), KvError>;
    async fn delete(&self, label: &str, key: &str) -> Result<(), KvError>;
    async fn set_many(&self, label: &str, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError>;
    async fn delete_many(&self, label: &str, keys: Vec<String>) -> Result<(), KvError>;
    /// Atomically adds `delta` and returns the new value; an absent key counts as 0. The
    /// stored encoding is the backend's (8 little-endian bytes on SQLite, a decimal string on
    /// Redis), as in Spin.
    async fn increment(&self, label: &str, key: &str, delta: i64) -> Result<i64, KvError>;
    /// A compare-and-swap handle on `key`: `current()` reads the value the later `swap`
    /// expects.
    async fn new_cas(&self, label: &str, key: &str) -> Result<Box<dyn KvCas>, KvError>;
}

/// One compare-and-swap: `current()` then `swap(value)`, which stores `value` only if the key
/// has not changed since `current()` read it. A handle is used by one guest call sequence.
#[async_trait]
pub trait KvCas: Send + Sync {
    /// Reads the value (`None`: absent) and starts watching the key.
    async fn current(&mut self) -> Result<Option<Vec<u8>>, KvError>;
    /// Stores `value` if the key still holds what `current()` read ([`SwapOutcome::Stored`]),
    /// or reports [`SwapOutcome::Conflict`]. A [`KvError`] leaves the outcome unknown to the
    /// caller.
    async fn swap(&mut self, value: Vec<u8>) -> Result<SwapOutcome, KvError>;
}

/// Test only: make the host misreport write outcomes the way Spin 4.0.2 does on Redis, so the
/// app's handling of ambiguous outcomes is tested end to end on any backend. `Default` is no
/// fault (what every real deployment runs). Deliberately no CLI flag or environment variable:
/// it is a field of [`crate::up::UpOptions`] that only tests set.
///
/// Every write is still performed, correctly, by the backend; only the *reply* to the guest
/// is changed, after the write has landed (or lost, for a compare-and-swap):
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvFaults {
    /// Every compare-and-swap `swap` is performed and then reported to the guest as
    /// `cas-failed`, whatever happened (stored, conflict or error). That is Spin 4.0.2's
    /// Redis store, which sends `UNWATCH key` after `EXEC`, gets an error from Redis (UNWATCH
    /// takes no argument) and maps it to `CasFailed` (certflow issue 12).
    pub swap_reports_cas_failed: bool,
    /// `Some(n)`: every n-th `set` and every n-th `swap` (two counters, per host, counted
    /// atomically across all requests and labels) is performed and then reported to the
    /// guest as a store error (`other(..)`), as a timeout after commit would be. The swap's
    /// real outcome (stored or conflict) is not told. `Some(0)` and `None` inject nothing.
    pub store_error_after_write_every: Option<u32>,
}

impl KvFaults {
    /// Whether any fault is switched on.
    pub fn any(&self) -> bool {
        self.swap_reports_cas_failed
            || matches!(self.store_error_after_write_every, Some(n) if n > 0)
    }

    /// Wraps `inner` in the decorator if any fault is on; `counters` are shared by every
    /// store of one host.
    pub fn wrap(&self, inner: Arc<dyn KvStore>, counters: &Arc<FaultCounters>) -> Arc<dyn KvStore> {
        if self.any() {
            Arc::new(FaultyStore {
                inner,
                faults: *self,
                counters: counters.clone(),
            })
        } else {
            inner
        }
    }
}

/// The write counters behind [`KvFaults::store_error_after_write_every`], one set per host.
#[derive(Debug, Default)]
pub struct FaultCounters {
    sets: AtomicU64,
    swaps: AtomicU64,
}

impl FaultCounters {
    /// Counts one write; true if it is an n-th one.
    fn hit(counter: &AtomicU64, every: Option<u32>) -> bool {
        match every {
            Some(n) if n > 0 => {
                (counter.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(u64::from(n))
            }
            _ => false,
        }
    }
}

fn injected(what: &str) -> KvError {
    KvError(format!(
        "key-value store: injected fault: the {what} was performed but its outcome is reported as an error"
    ))
}

/// The [`KvFaults`] decorator: any backend, with faulty replies.
struct FaultyStore {
    inner: Arc<dyn KvStore>,
    faults: KvFaults,
    counters: Arc<FaultCounters>,
}

#[async_trait]
impl KvStore for FaultyStore {
    async fn get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.inner.get(label, key).await
    }
    async fn exists(&self, label: &str, key: &str) -> Result<bool, KvError> {
        self.inner.exists(label, key).await
    }
    async fn keys(&self, label: &str) -> Result<Vec<String>, KvError> {
        self.inner.keys(label).await
    }
    async fn get_many(&self, label: &str, keys: &[String]) -> Result<KeyValues, KvError> {
        self.inner.get_many(label, keys).await
    }
    async fn set(&self, label: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.inner.set(label, key, value).await?;
        if FaultCounters::hit(
            &self.counters.sets,
            self.faults.store_error_after_write_every,
        ) {
            return Err(injected("set"));
        }
        Ok(())
    }
    async fn delete(&self, label: &str, key: &str) -> Result<(), KvError> {
        self.inner.delete(label, key).await
    }
    async fn set_many(&self, label: &str, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        self.inner.set_many(label, pairs).await
    }
    async fn delete_many(&self, label: &str, keys: Vec<String>) -> Result<(), KvError> {
        self.inner.delete_many(label, keys).await
    }
    async fn increment(&self, label: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        self.inner.increment(label, key, delta).await
    }
    async fn new_cas(&self, label: &str, key: &str) -> Result<Box<dyn KvCas>, KvError> {
        Ok(Box::new(FaultyCas {
            inner: self.inner.new_cas(label, key).await?,
            faults: self.faults,
            counters: self.counters.clone(),
        }))
    }
}

struct FaultyCas {
    inner: Box<dyn KvCas>,
    faults: KvFaults,
    counters: Arc<FaultCounters>,
}

#[async_trait]
impl KvCas for FaultyCas {
    async fn current(&mut self) -> Result<Option<Vec<u8>>, KvError> {
        self.inner.current().await
    }
    async fn swap(&mut self, value: Vec<u8>) -> Result<SwapOutcome, KvError> {
        let real = self.inner.swap(value).await;
        if FaultCounters::hit(
            &self.counters.swaps,
            self.faults.store_error_after_write_every,
        ) {
            return Err(injected("compare-and-swap"));
        }
        if self.faults.swap_reports_cas_failed {
            return Ok(SwapOutcome::Conflict);
        }
        real
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Result;

    fn sqlite() -> Result<(tempfile::TempDir, Arc<dyn KvStore>)> {
        let dir = tempfile::tempdir()?;
        let db: Arc<dyn KvStore> = KvDatabase::open(&dir.path().join("kv.db"))?;
        Ok((dir, db))
    }

    #[tokio::test]
    async fn no_faults_is_no_decorator() -> Result<()> {
        let (_dir, db) = sqlite()?;
        let wrapped = KvFaults::default().wrap(db.clone(), &Arc::default());
        assert!(Arc::ptr_eq(&db, &wrapped));
        let zero = KvFaults {
            store_error_after_write_every: Some(0),
            ..KvFaults::default()
        };
        assert!(!zero.any());
        Ok(())
    }

    #[tokio::test]
    async fn swap_is_performed_then_reported_as_cas_failed() -> Result<()> {
        let (_dir, db) = sqlite()?;
        let faults = KvFaults {
            swap_reports_cas_failed: true,
            ..KvFaults::default()
        };
        let faulty = faults.wrap(db.clone(), &Arc::default());
        // A swap that succeeds is reported as a conflict, and has landed.
        let mut cas = faulty.new_cas("s", "k").await?;
        assert_eq!(cas.current().await?, None);
        assert_eq!(cas.swap(b"1".to_vec()).await?, SwapOutcome::Conflict);
        assert_eq!(db.get("s", "k").await?, Some(b"1".to_vec()));
        // A real conflict is reported as a conflict too, and has not landed.
        let mut cas = faulty.new_cas("s", "k").await?;
        assert_eq!(cas.current().await?, Some(b"1".to_vec()));
        db.set("s", "k", b"other".to_vec()).await?;
        assert_eq!(cas.swap(b"2".to_vec()).await?, SwapOutcome::Conflict);
        assert_eq!(db.get("s", "k").await?, Some(b"other".to_vec()));
        // Plain sets are untouched by this fault.
        faulty.set("s", "x", b"v".to_vec()).await?;
        Ok(())
    }

    #[tokio::test]
    async fn every_nth_set_and_swap_lands_and_reports_an_error() -> Result<()> {
        let (_dir, db) = sqlite()?;
        let faults = KvFaults {
            store_error_after_write_every: Some(3),
            ..KvFaults::default()
        };
        let counters = Arc::new(FaultCounters::default());
        // Two labels of one host share the counters.
        let a = faults.wrap(db.clone(), &counters);
        let b = faults.wrap(db.clone(), &counters);
        let mut failed = Vec::new();
        for i in 0..7u8 {
            let store = if i % 2 == 0 { &a } else { &b };
            if store.set("s", &format!("k{i}"), vec![i]).await.is_err() {
                failed.push(i);
            }
        }
        assert_eq!(failed, vec![2, 5]);
        // Every write landed, including the ones reported as errors.
        for i in 0..7u8 {
            assert_eq!(db.get("s", &format!("k{i}")).await?, Some(vec![i]));
        }
        // Swaps have their own count: the 3rd stores and reports an error.
        let mut outcomes = Vec::new();
        for i in 0..3u8 {
            let mut cas = a.new_cas("s", "c").await?;
            cas.current().await?;
            outcomes.push(cas.swap(vec![i]).await.is_ok());
        }
        assert_eq!(outcomes, vec![true, true, false]);
        assert_eq!(db.get("s", "c").await?, Some(vec![2]));
        // Other writes are never faulted.
        for _ in 0..6 {
            a.increment("s", "n", 1).await?;
            a.delete("s", "k0").await?;
        }
        Ok(())
    }
}
