//! The SQLite key-value backend (the default; `type = "spin"` in the runtime config): Spin's own
//! table shape (`spin_key_value(store, key, value)`), so a state directory works under the real
//! Spin CLI too.
//!
//! Durability and throughput: a write is acknowledged only once its transaction is committed
//! (WAL, `synchronous=FULL`). All writes go through one writer thread that takes every pending
//! operation into a single transaction (group commit), applying them in arrival order, each in
//! its own savepoint so one failing operation does not fail its neighbours. `increment` and
//! compare-and-swap are read-modify-write inside that transaction, so they stay atomic. Reads use
//! a small pool of connections; under WAL they never wait for the writer.

use super::{KeyValues, KvCas, KvError, KvStore, SwapOutcome};
use anyhow::{Context, Result};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak, mpsc};
use tokio::sync::oneshot;

/// Most operations one transaction takes; bounds a commit's latency under heavy load.
const MAX_BATCH: usize = 512;
/// Idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 16;

impl From<rusqlite::Error> for KvError {
    fn from(e: rusqlite::Error) -> Self {
        KvError(format!("key-value store: {e}"))
    }
}

/// One SQLite database file, shared by every label configured to live in it.
pub struct KvDatabase {
    /// This database, for the compare-and-swap handles it hands out.
    me: Weak<KvDatabase>,
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    writer: mpsc::Sender<WriteJob>,
}

#[derive(Debug)]
enum WriteOp {
    Set(String, String, Vec<u8>),
    Delete(String, String),
    Increment(String, String, i64),
    /// Store the value only if the current one equals `expected` (`None`: the key is absent).
    Swap {
        store: String,
        key: String,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    },
    SetMany(String, Vec<(String, Vec<u8>)>),
    DeleteMany(String, Vec<String>),
}

#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Done,
    Counter(i64),
    /// The compare-and-swap lost: the value had changed.
    Conflict,
}

struct WriteJob {
    op: WriteOp,
    reply: oneshot::Sender<Result<WriteOutcome, KvError>>,
}

fn open(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    // Readers never wait for the writer under WAL; the timeout covers checkpoints and a
    // second process (e.g. the real Spin CLI) holding the file.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

impl KvDatabase {
    /// Opens (creating if needed) the database and starts its writer thread.
    pub fn open(path: &Path) -> Result<Arc<KvDatabase>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create state directory {}", dir.display()))?;
        }
        let conn = open(path, false).with_context(|| format!("cannot open {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|_| conn.pragma_update(None, "synchronous", "FULL"))
            .and_then(|_| {
                conn.execute_batch(
                    "CREATE TABLE IF NOT EXISTS spin_key_value (
                        store TEXT NOT NULL,
                        key   TEXT NOT NULL,
                        value BLOB NOT NULL,
                        PRIMARY KEY (store, key)
                    )",
                )
            })
            .with_context(|| format!("cannot prepare {}", path.display()))?;
        let (writer, jobs) = mpsc::channel();
        std::thread::Builder::new()
            .name("kv-writer".into())
            .spawn(move || write_loop(conn, jobs))
            .context("cannot start the key-value writer thread")?;
        Ok(Arc::new_cyclic(|me| KvDatabase {
            me: me.clone(),
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            writer,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a read on a pooled connection. Reads are short indexed lookups, so they run on the
    /// calling thread rather than paying for a hop to a blocking pool.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, KvError> {
        let pooled = self.readers.lock().ok().and_then(|mut pool| pool.pop());
        let conn = match pooled {
            Some(c) => c,
            None => open(&self.path, true)?,
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < MAX_IDLE_READERS
        {
            pool.push(conn);
        }
        Ok(result?)
    }

    async fn write(&self, op: WriteOp) -> Result<WriteOutcome, KvError> {
        let (reply, outcome) = oneshot::channel();
        self.writer
            .send(WriteJob { op, reply })
            .map_err(|_| KvError("key-value writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| KvError("key-value writer has stopped".into()))?
    }

    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.read(|c| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row(params![store, key], |row| row.get(0))
                .optional()
        })
    }

    pub fn exists(&self, store: &str, key: &str) -> Result<bool, KvError> {
        self.read(|c| {
            c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .exists(params![store, key])
        })
    }

    pub fn keys(&self, store: &str) -> Result<Vec<String>, KvError> {
        self.read(|c| {
            c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?
                .query_map(params![store], |row| row.get(0))?
                .collect()
        })
    }

    pub fn get_many(&self, store: &str, keys: &[String]) -> Result<KeyValues, KvError> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?;
            keys.iter()
                .map(|k| {
                    let v = stmt
                        .query_row(params![store, k], |row| row.get(0))
                        .optional()?;
                    Ok((k.clone(), v))
                })
                .collect()
        })
    }

    pub async fn set(&self, store: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.write(WriteOp::Set(store.into(), key.into(), value))
            .await
            .map(drop)
    }

    pub async fn delete(&self, store: &str, key: &str) -> Result<(), KvError> {
        self.write(WriteOp::Delete(store.into(), key.into()))
            .await
            .map(drop)
    }

    pub async fn set_many(
        &self,
        store: &str,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> Result<(), KvError> {
        self.write(WriteOp::SetMany(store.into(), pairs))
            .await
            .map(drop)
    }

    pub async fn delete_many(&self, store: &str, keys: Vec<String>) -> Result<(), KvError> {
        self.write(WriteOp::DeleteMany(store.into(), keys))
            .await
            .map(drop)
    }

    /// Atomically adds `delta` and returns the new value; an absent key counts as 0. The value
    /// is stored as 8 little-endian bytes, as Spin stores it.
    pub async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        match self
            .write(WriteOp::Increment(store.into(), key.into(), delta))
            .await?
        {
            WriteOutcome::Counter(n) => Ok(n),
            other => Err(KvError(format!("unexpected increment outcome {other:?}"))),
        }
    }

    /// Stores `value` only if the key still holds `expected` (`None`: still absent). Returns
    /// whether it was stored.
    ///
    /// Spin's SQLite store upserts when `expected` is `None`; this host reports the conflict
    /// instead. Applications must not rely on either (create-once uses an `increment` claim).
    pub async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<bool, KvError> {
        let op = WriteOp::Swap {
            store: store.into(),
            key: key.into(),
            expected,
            value,
        };
        Ok(self.write(op).await? == WriteOutcome::Done)
    }
}

#[async_trait]
impl KvStore for KvDatabase {
    async fn get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        KvDatabase::get(self, label, key)
    }
    async fn exists(&self, label: &str, key: &str) -> Result<bool, KvError> {
        KvDatabase::exists(self, label, key)
    }
    async fn keys(&self, label: &str) -> Result<Vec<String>, KvError> {
        KvDatabase::keys(self, label)
    }
    async fn get_many(&self, label: &str, keys: &[String]) -> Result<KeyValues, KvError> {
        KvDatabase::get_many(self, label, keys)
    }
    async fn set(&self, label: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        KvDatabase::set(self, label, key, value).await
    }
    async fn delete(&self, label: &str, key: &str) -> Result<(), KvError> {
        KvDatabase::delete(self, label, key).await
    }
    async fn set_many(&self, label: &str, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        KvDatabase::set_many(self, label, pairs).await
    }
    async fn delete_many(&self, label: &str, keys: Vec<String>) -> Result<(), KvError> {
        KvDatabase::delete_many(self, label, keys).await
    }
    async fn increment(&self, label: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        KvDatabase::increment(self, label, key, delta).await
    }
    async fn new_cas(&self, label: &str, key: &str) -> Result<Box<dyn KvCas>, KvError> {
        let db = self
            .me
            .upgrade()
            .ok_or_else(|| KvError("key-value store: the database is closed".into()))?;
        Ok(Box::new(SqliteCas {
            db,
            label: label.to_string(),
            key: key.to_string(),
            read: None,
        }))
    }
}

/// A compare-and-swap on SQLite: `current()` remembers the value read; `swap` stores only if
/// the row still holds it, inside the writer's transaction. Without a `current()` the swap
/// expects the key to be absent.
struct SqliteCas {
    db: Arc<KvDatabase>,
    label: String,
    key: String,
    read: Option<Vec<u8>>,
}

#[async_trait]
impl KvCas for SqliteCas {
    async fn current(&mut self) -> Result<Option<Vec<u8>>, KvError> {
        let value = self.db.get(&self.label, &self.key)?;
        self.read = value.clone();
        Ok(value)
    }

    async fn swap(&mut self, value: Vec<u8>) -> Result<SwapOutcome, KvError> {
        let stored = self
            .db
            .swap(&self.label, &self.key, self.read.clone(), value)
            .await?;
        Ok(if stored {
            SwapOutcome::Stored
        } else {
            SwapOutcome::Conflict
        })
    }
}

fn write_loop(mut conn: Connection, jobs: mpsc::Receiver<WriteJob>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (outcomes, committed) = apply_batch(&mut conn, &batch);
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            let outcome = match &committed {
                Ok(()) => outcome,
                Err(e) => Err(e.clone()),
            };
            // The requester may have gone away (its request timed out); nothing to tell it.
            let _ = job.reply.send(outcome);
        }
    }
}

fn apply_batch(
    conn: &mut Connection,
    batch: &[WriteJob],
) -> (Vec<Result<WriteOutcome, KvError>>, Result<(), KvError>) {
    let mut outcomes = Vec::with_capacity(batch.len());
    let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return (Vec::new(), Err(e.into())),
    };
    let mut tx = tx;
    for job in batch {
        let outcome = match tx.savepoint() {
            Ok(mut sp) => match apply(&sp, &job.op) {
                Ok(o) => sp.commit().map(|_| o).map_err(KvError::from),
                Err(e) => {
                    let _ = sp.rollback();
                    Err(e)
                }
            },
            Err(e) => Err(e.into()),
        };
        outcomes.push(outcome);
    }
    let committed = tx.commit().map_err(KvError::from);
    (outcomes, committed)
}

const UPSERT: &str = "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                      ON CONFLICT(store, key) DO UPDATE SET value = excluded.value";

fn apply(c: &Connection, op: &WriteOp) -> Result<WriteOutcome, KvError> {
    match op {
        WriteOp::Set(store, key, value) => {
            c.prepare_cached(UPSERT)?
                .execute(params![store, key, value])?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::Delete(store, key) => {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute(params![store, key])?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::SetMany(store, pairs) => {
            let mut stmt = c.prepare_cached(UPSERT)?;
            for (key, value) in pairs {
                stmt.execute(params![store, key, value])?;
            }
            Ok(WriteOutcome::Done)
        }
        WriteOp::DeleteMany(store, keys) => {
            let mut stmt =
                c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?;
            for key in keys {
                stmt.execute(params![store, key])?;
            }
            Ok(WriteOutcome::Done)
        }
        WriteOp::Increment(store, key, delta) => {
            let current: Option<Vec<u8>> = c
                .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row(params![store, key], |row| row.get(0))
                .optional()?;
            let current = match current {
                None => 0,
                Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
                    Ok(b) => i64::from_le_bytes(b),
                    Err(_) => {
                        return Err(KvError(format!(
                            "key `{key}` does not hold a counter (not 8 bytes), cannot increment"
                        )));
                    }
                },
            };
            let next = current.checked_add(*delta).ok_or_else(|| {
                KvError(format!("incrementing `{key}` by {delta} would overflow"))
            })?;
            c.prepare_cached(UPSERT)?.execute(params![
                store,
                key,
                next.to_le_bytes().as_slice()
            ])?;
            Ok(WriteOutcome::Counter(next))
        }
        WriteOp::Swap {
            store,
            key,
            expected,
            value,
        } => {
            let changed = match expected {
                Some(old) => c
                    .prepare_cached(
                        "UPDATE spin_key_value SET value = ?4
                         WHERE store = ?1 AND key = ?2 AND value = ?3",
                    )?
                    .execute(params![store, key, old, value])?,
                None => c
                    .prepare_cached(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT(store, key) DO NOTHING",
                    )?
                    .execute(params![store, key, value])?,
            };
            Ok(if changed == 1 {
                WriteOutcome::Done
            } else {
                WriteOutcome::Conflict
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db() -> Result<(tempfile::TempDir, Arc<KvDatabase>)> {
        let dir = tempfile::tempdir()?;
        let db = KvDatabase::open(&dir.path().join("kv.db"))?;
        Ok((dir, db))
    }

    #[tokio::test]
    async fn set_get_delete_and_labels_are_separate() -> Result<()> {
        let (_dir, db) = temp_db()?;
        db.set("default", "k", b"v".to_vec()).await?;
        assert_eq!(db.get("default", "k")?, Some(b"v".to_vec()));
        assert_eq!(db.get("other", "k")?, None);
        assert!(db.exists("default", "k")?);
        assert_eq!(db.keys("default")?, vec!["k".to_string()]);
        db.delete("default", "k").await?;
        assert_eq!(db.get("default", "k")?, None);
        Ok(())
    }

    #[tokio::test]
    async fn increment_is_atomic_and_stored_as_le_bytes() -> Result<()> {
        let (_dir, db) = temp_db()?;
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move { db.increment("s", "n", 1).await }));
        }
        let mut seen = Vec::new();
        for t in tasks {
            seen.push(t.await??);
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=100).collect::<Vec<i64>>());
        assert_eq!(db.get("s", "n")?, Some(100i64.to_le_bytes().to_vec()));
        Ok(())
    }

    #[tokio::test]
    async fn increment_of_a_non_counter_fails_alone() -> Result<()> {
        let (_dir, db) = temp_db()?;
        db.set("s", "text", b"hello".to_vec()).await?;
        let (bad, good) = tokio::join!(db.increment("s", "text", 1), db.set("s", "x", vec![1]));
        assert!(bad.is_err());
        assert!(good.is_ok());
        assert_eq!(db.get("s", "text")?, Some(b"hello".to_vec()));
        Ok(())
    }

    #[tokio::test]
    async fn swap_detects_conflicts_including_on_absent_keys() -> Result<()> {
        let (_dir, db) = temp_db()?;
        assert!(db.swap("s", "k", None, b"1".to_vec()).await?);
        assert!(!db.swap("s", "k", None, b"2".to_vec()).await?);
        assert!(
            !db.swap("s", "k", Some(b"0".to_vec()), b"2".to_vec())
                .await?
        );
        assert!(
            db.swap("s", "k", Some(b"1".to_vec()), b"2".to_vec())
                .await?
        );
        assert_eq!(db.get("s", "k")?, Some(b"2".to_vec()));
        Ok(())
    }

    #[tokio::test]
    async fn writes_survive_reopening() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("kv.db");
        {
            let db = KvDatabase::open(&path)?;
            db.set_many("s", vec![("a".into(), vec![1]), ("b".into(), vec![2])])
                .await?;
        }
        let db = KvDatabase::open(&path)?;
        let got = db.get_many("s", &["a".into(), "b".into(), "c".into()])?;
        assert_eq!(
            got,
            vec![
                ("a".into(), Some(vec![1])),
                ("b".into(), Some(vec![2])),
                ("c".into(), None)
            ]
        );
        db.delete_many("s", vec!["a".into(), "b".into()]).await?;
        assert!(db.keys("s")?.is_empty());
        Ok(())
    }
}
