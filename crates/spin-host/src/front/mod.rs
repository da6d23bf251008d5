//! The host's front door: what stands between a TCP connection and hyper so that slow and
//! malformed clients cost little and get a problem document, while a component sees exactly
//! what it would see under Spin.
//!
//! - [`gate::Gate`] reads each request head before hyper does: a head hyper would refuse
//!   with an empty 400, 414 or 431 is refused with a problem document instead, and a head
//!   that does not arrive within [`FrontLimits::header_read_timeout`] gets a 408 (or, when
//!   not a byte of it came, the connection is closed, [`FrontLimits::keep_alive_timeout`]).
//! - `server` answers 408 when a body stops arriving for
//!   [`FrontLimits::body_read_timeout`], and accepts at most
//!   [`FrontLimits::max_connections`] connections at once: others wait in the listen queue.
//!
//! None of this exists in Spin, which leaves it to the ingress in front of it; on Spin or
//! SpinKube, set the same limits there (README, "Production").

pub mod chunked;
#[cfg(test)]
mod differential;
pub mod gate;
pub mod head;

use crate::problem::HostProblem;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

/// The front door's limits. [`Default`] gives the documented defaults (also `certflow up`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontLimits {
    /// How long a request head may take from its first byte (or, on a new connection, from
    /// the accept) to its blank line: 10 s. Past it, a 408 and the connection is closed.
    pub header_read_timeout: Duration,
    /// How long a request body may go without a byte while the component waits for it:
    /// 10 s. Past it, the component instance is stopped, a 408, the connection closed.
    pub body_read_timeout: Duration,
    /// How long a kept-alive connection may sit idle between requests: 15 s. Past it, the
    /// connection is closed without a reply (RFC 9112 §9.8).
    pub keep_alive_timeout: Duration,
    /// How long a reply may wait for the client to read it: 10 s. Past it, the connection
    /// is ended (a client that sends requests but never reads would otherwise hold it).
    pub write_timeout: Duration,
    /// Connections served at once: 500. Each in-flight request holds one component instance
    /// (and one more per chained call), out of a pool of 1,000; more connections wait in the
    /// listen queue until one closes.
    pub max_connections: usize,
}

impl Default for FrontLimits {
    fn default() -> Self {
        FrontLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(15),
            write_timeout: Duration::from_secs(10),
            max_connections: 500,
        }
    }
}

/// What the gate and the service share about one connection.
#[derive(Debug)]
pub struct Connection {
    /// Requests whose response is not fully handed to hyper yet.
    in_flight: AtomicUsize,
    /// When the last response was handed over (or the connection accepted).
    idle_since: Mutex<Instant>,
    /// The head the gate refused; the service answers it.
    refusal: Mutex<Option<HostProblem>>,
    /// The gate's task, woken when the request in flight ends so that its idle deadlines
    /// start (hyper may not read again by itself).
    idle_waker: Mutex<Option<Waker>>,
}

impl Connection {
    pub fn new() -> Connection {
        Connection {
            in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            refusal: Mutex::new(None),
            idle_waker: Mutex::new(None),
        }
    }

    /// Wakes `waker` when the request in flight ends.
    pub fn wake_on_idle(&self, waker: &Waker) {
        let mut slot = self.idle_waker.lock().unwrap_or_else(|p| p.into_inner());
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// A request starts; the returned guard ends it when dropped (with its response body).
    pub fn start_request(self: &std::sync::Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// `None` while a request is in flight, else since when the connection has been idle.
    fn idle_since(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(*self.idle_since.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn refuse(&self, problem: HostProblem) {
        *self.refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(problem);
    }

    /// The refusal the gate recorded, once.
    pub fn take_refusal(&self) -> Option<HostProblem> {
        self.refusal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

impl Default for Connection {
    fn default() -> Self {
        Connection::new()
    }
}

/// One request in flight on a [`Connection`]; dropped with the response body.
#[derive(Debug)]
pub struct InFlight(std::sync::Arc<Connection>);

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        let waker = self
            .0
            .idle_waker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
