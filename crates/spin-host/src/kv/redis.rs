//! The Redis key-value backend (`type = "redis"`, `url = "redis://..."` in the runtime config),
//! on the `redis` crate, faithful to Spin 4.0.2's `crates/key-value-redis/src/store.rs`:
//!
//! - the label is ignored: every label configured with one URL shares the Redis keyspace;
//! - `get`/`set`/`delete`/`exists` are `GET`/`SET`/`DEL`/`EXISTS`; `get_keys` is `KEYS *`;
//! - `increment` is `INCRBY`, so a counter reads back with `get` as a decimal string (SQLite
//!   stores 8 little-endian bytes);
//! - `set_many` is `MSET`, `delete_many` is `DEL`, and `get_many` is `MGET`. (Spin 4.0.2 sends
//!   `KEYS` with the key list instead, which Redis refuses; this host does what the interface
//!   says.)
//! - compare-and-swap: `current()` sends `WATCH key` and `GET key` on a connection used by that
//!   handle alone; `swap` sends `MULTI`, `SET`, `EXEC`. An aborted `EXEC` (a nil reply: the key
//!   changed) is a conflict, a Redis error a store error. Spin opens a new connection per
//!   handle; this host keeps a few idle ones and resets them with `UNWATCH` (no argument)
//!   before reuse. Unlike Spin 4.0.2 it never sends `UNWATCH key` (Redis refuses it, and Spin
//!   then reports every swap as `CasFailed`; [`super::KvFaults`] reproduces that for tests).
//!
//! Redis being down or hanging is a store error within [`OP_TIMEOUT`], never a hang: every
//! connection has connect and response timeouts, and every operation a deadline. The shared
//! connection is opened on first use (as in Spin) and reconnects after Redis comes back.

use super::{KeyValues, KvCas, KvError, KvStore, SwapOutcome};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, RedisResult};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Establishing one TCP connection to Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Waiting for one reply.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
/// The most one key-value operation takes, reconnection included, before it is a store error.
pub const OP_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle compare-and-swap connections kept for reuse.
const MAX_IDLE_CAS: usize = 16;

/// One Redis server (one URL), shared by every label configured with it.
pub struct RedisStore {
    client: Client,
    /// Where, for messages: host and port, never the password.
    at: String,
    shared: OnceCell<ConnectionManager>,
    idle_cas: Arc<Mutex<Vec<MultiplexedConnection>>>,
}

impl RedisStore {
    /// Checks `url` (Spin's `parse_redis_url`: `redis://`, `rediss://` if built with TLS,
    /// `redis+unix://`, `unix://`) without connecting; the first operation connects.
    pub fn new(url: &str) -> anyhow::Result<Arc<RedisStore>> {
        let parsed =
            redis::parse_redis_url(url).ok_or_else(|| anyhow::anyhow!("Invalid Redis URL"))?;
        let at = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("Redis at {host}:{port}"),
            (Some(host), None) => format!("Redis at {host}"),
            _ => "Redis".to_string(),
        };
        let client = Client::open(parsed).map_err(|e| anyhow::anyhow!("Invalid Redis URL: {e}"))?;
        Ok(Arc::new(RedisStore {
            client,
            at,
            shared: OnceCell::new(),
            idle_cas: Arc::default(),
        }))
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> KvError {
        KvError(format!("key-value store ({}): {what}: {e}", self.at))
    }

    /// Runs `fut` within [`OP_TIMEOUT`], mapping Redis errors and the timeout to a store error.
    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, KvError> {
        match tokio::time::timeout(OP_TIMEOUT, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.error(what, e)),
            Err(_) => Err(self.error(what, format!("no reply within {OP_TIMEOUT:?}"))),
        }
    }

    /// [`Self::timed`] for a read (`GET`, `EXISTS`, `KEYS`, `MGET`), tried a second time after
    /// 100 ms when the first try found the connection dropped (Redis restarted: the shared
    /// connection reconnects on its own, but the request that found it broken would
    /// otherwise fail). Reads change nothing, so trying again is safe; writes are never
    /// retried here (the app settles their outcome).
    async fn read<T, F, Fut>(&self, what: &str, query: F) -> Result<T, KvError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let first = match tokio::time::timeout(OP_TIMEOUT, query(self.conn().await?)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) if dropped(&e) => e,
            Ok(Err(e)) => return Err(self.error(what, e)),
            Err(_) => return Err(self.error(what, format!("no reply within {OP_TIMEOUT:?}"))),
        };
        tracing::debug!("{what}: {first}; trying again on a new connection");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let c = self.conn().await?;
        self.timed(what, query(c)).await
    }

    /// The shared, auto-reconnecting connection for everything but compare-and-swap.
    async fn conn(&self) -> Result<ConnectionManager, KvError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let manager = self
            .timed(
                "connect",
                self.shared.get_or_try_init(|| {
                    ConnectionManager::new_with_config(self.client.clone(), config)
                }),
            )
            .await?;
        Ok(manager.clone())
    }

    /// A connection for one compare-and-swap handle: an idle one (`true`: reused), or a new
    /// one.
    async fn cas_connection(&self) -> Result<(MultiplexedConnection, bool), KvError> {
        let idle = self.idle_cas.lock().ok().and_then(|mut pool| pool.pop());
        if let Some(conn) = idle {
            return Ok((conn, true));
        }
        let conn = new_cas_connection(&self.client)
            .await
            .map_err(|e| self.error("connect", e))?;
        Ok((conn, false))
    }
}

#[async_trait]
impl KvStore for RedisStore {
    async fn get(&self, _label: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.read("GET", |mut c| async move {
            redis::cmd("GET").arg(key).query_async(&mut c).await
        })
        .await
    }

    async fn exists(&self, _label: &str, key: &str) -> Result<bool, KvError> {
        self.read("EXISTS", |mut c| async move {
            redis::cmd("EXISTS").arg(key).query_async(&mut c).await
        })
        .await
    }

    async fn keys(&self, _label: &str) -> Result<Vec<String>, KvError> {
        self.read("KEYS", |mut c| async move {
            redis::cmd("KEYS").arg("*").query_async(&mut c).await
        })
        .await
    }

    async fn get_many(&self, _label: &str, keys: &[String]) -> Result<KeyValues, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<Vec<u8>>> = self
            .read("MGET", |mut c| async move {
                redis::cmd("MGET").arg(keys).query_async(&mut c).await
            })
            .await?;
        if values.len() != keys.len() {
            return Err(self.error(
                "MGET",
                format!("{} values for {} keys", values.len(), keys.len()),
            ));
        }
        Ok(keys.iter().cloned().zip(values).collect())
    }

    async fn set(&self, _label: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        let mut c = self.conn().await?;
        self.timed(
            "SET",
            redis::cmd("SET").arg(key).arg(value).exec_async(&mut c),
        )
        .await
    }

    async fn delete(&self, _label: &str, key: &str) -> Result<(), KvError> {
        let mut c = self.conn().await?;
        self.timed("DEL", redis::cmd("DEL").arg(key).exec_async(&mut c))
            .await
    }

    async fn set_many(&self, _label: &str, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let mut c = self.conn().await?;
        self.timed("MSET", redis::cmd("MSET").arg(&pairs).exec_async(&mut c))
            .await
    }

    async fn delete_many(&self, _label: &str, keys: Vec<String>) -> Result<(), KvError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut c = self.conn().await?;
        self.timed("DEL", redis::cmd("DEL").arg(&keys).exec_async(&mut c))
            .await
    }

    async fn increment(&self, _label: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        let mut c = self.conn().await?;
        self.timed(
            "INCRBY",
            redis::cmd("INCRBY").arg(key).arg(delta).query_async(&mut c),
        )
        .await
    }

    async fn new_cas(&self, _label: &str, key: &str) -> Result<Box<dyn KvCas>, KvError> {
        let (conn, reused) = self.cas_connection().await?;
        Ok(Box::new(RedisCas {
            store: RedisCasStore {
                client: self.client.clone(),
                client_at: self.at.clone(),
                idle: self.idle_cas.clone(),
            },
            key: key.to_string(),
            conn: Some(conn),
            reused,
            watching: false,
        }))
    }
}

/// Whether `e` says the connection is gone (Redis restarted or closed it), rather than that
/// the command failed.
fn dropped(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal()
}

/// A new connection for compare-and-swap handles, with the connect and response timeouts.
async fn new_cas_connection(client: &Client) -> Result<MultiplexedConnection, String> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT));
    match tokio::time::timeout(
        OP_TIMEOUT,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no connection within {OP_TIMEOUT:?}")),
    }
}

/// What a compare-and-swap handle keeps of its store: the client (to replace a pooled
/// connection that turns out dead), the idle pool to return its connection to, and the name
/// for messages.
struct RedisCasStore {
    client: Client,
    client_at: String,
    idle: Arc<Mutex<Vec<MultiplexedConnection>>>,
}

/// A compare-and-swap on its own connection. A connection that saw an error or a timeout is
/// dropped rather than reused (its state is unknown); a healthy one goes back to the idle pool
/// and is reset with `UNWATCH` before its next use.
struct RedisCas {
    store: RedisCasStore,
    key: String,
    /// `None` once the connection has failed.
    conn: Option<MultiplexedConnection>,
    /// Whether the connection came from the idle pool (it may have died there, e.g. when
    /// Redis restarted).
    reused: bool,
    /// Whether `current()` has sent `WATCH` on this connection.
    watching: bool,
}

impl RedisCas {
    fn error(&self, what: &str, e: impl std::fmt::Display) -> KvError {
        KvError(format!(
            "key-value store ({}): {what}: {e}",
            self.store.client_at
        ))
    }

    /// Runs `query` on this handle's connection within [`OP_TIMEOUT`]; on any failure the
    /// connection is discarded.
    async fn run<T: redis::FromRedisValue>(
        &mut self,
        what: &str,
        pipe: &redis::Pipeline,
    ) -> Result<T, KvError> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(self.error(what, "the connection failed earlier"));
        };
        match tokio::time::timeout(OP_TIMEOUT, pipe.query_async::<T>(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.conn = None;
                Err(self.error(what, e))
            }
            Err(_) => {
                self.conn = None;
                Err(self.error(what, format!("no reply within {OP_TIMEOUT:?}")))
            }
        }
    }
}

#[async_trait]
impl KvCas for RedisCas {
    async fn current(&mut self) -> Result<Option<Vec<u8>>, KvError> {
        // One round trip: forget any earlier watch (a reused connection), watch, read.
        let mut pipe = redis::pipe();
        pipe.cmd("UNWATCH")
            .ignore()
            .cmd("WATCH")
            .arg(&self.key)
            .ignore()
            .cmd("GET")
            .arg(&self.key);
        let (value,): (Option<Vec<u8>>,) = match self.run("WATCH/GET", &pipe).await {
            Ok(read) => read,
            // A pooled connection that died idle (Redis restarted): the others in the pool
            // died with it. Nothing was sent that changes anything, so start again on a new
            // connection.
            Err(e) if self.reused => {
                tracing::debug!("{e}; trying again on a new connection");
                self.reused = false;
                if let Ok(mut idle) = self.store.idle.lock() {
                    idle.clear();
                }
                let fresh = new_cas_connection(&self.store.client)
                    .await
                    .map_err(|e| self.error("connect", e))?;
                self.conn = Some(fresh);
                self.run("WATCH/GET", &pipe).await?
            }
            Err(e) => return Err(e),
        };
        self.watching = true;
        Ok(value)
    }

    async fn swap(&mut self, value: Vec<u8>) -> Result<SwapOutcome, KvError> {
        if !self.watching {
            // No `current()`: as in Spin, nothing is watched and the SET is unconditional; a
            // reused connection must not carry an earlier handle's watch.
            let mut unwatch = redis::pipe();
            unwatch.cmd("UNWATCH");
            let _: redis::Value = self.run("UNWATCH", &unwatch).await?;
        }
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("SET").arg(&self.key).arg(value);
        // EXEC's reply: nil if a watched key changed (nothing was stored), else the SET's.
        let exec: Option<redis::Value> = self.run("MULTI/SET/EXEC", &pipe).await?;
        // EXEC has ended the watch either way.
        self.watching = false;
        Ok(match exec {
            Some(_) => SwapOutcome::Stored,
            None => SwapOutcome::Conflict,
        })
    }
}

impl Drop for RedisCas {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && let Ok(mut idle) = self.store.idle.lock()
            && idle.len() < MAX_IDLE_CAS
        {
            idle.push(conn);
        }
    }
}
