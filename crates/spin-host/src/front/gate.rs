//! [`Gate`]: the connection as hyper reads it. Every request head is read here first; an
//! acceptable one is passed on byte for byte, a refused one is replaced by a marked request
//! that the service answers with the problem (so the reply goes out through hyper, in order,
//! after any earlier response on the connection), and the connection then ends. Bodies pass
//! through untouched; the gate only follows their framing to find the next head.

use super::chunked::{ChunkedBody, Step};
use super::head::{self, Framing, MAX_HEAD_BYTES};
use super::{Connection, FrontLimits};
use crate::problem::HostProblem;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The header that marks the gate's stand-in for a refused head.
pub const REFUSAL_HEADER: &str = "x-certflow-refused";

/// The marker's value: random per process and never sent out, so a client cannot forge it.
pub fn refusal_marker() -> &'static str {
    static MARKER: OnceLock<String> = OnceLock::new();
    MARKER.get_or_init(|| {
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        format!("{:016x}{:016x}", state.hash_one(1u8), state.hash_one(2u8))
    })
}

#[derive(Debug)]
enum ReadState {
    /// Waiting for (the rest of) a head.
    Head,
    /// This many body bytes to pass before the next head.
    Body(u64),
    /// A chunked body to pass.
    Chunked(ChunkedBody),
    /// Framing hyper fails (and then closes the connection): the bytes pass, no more heads
    /// are looked for, and the connection ends once its request is answered.
    Draining,
    /// A head was refused and its stand-in handed over: nothing more is read; the reply's
    /// `connection: close` ends the connection (or the deadline does).
    Refused,
    /// Idle past the timeout: the end is reported and hyper closes the connection.
    Closed,
}

pub struct Gate<S> {
    io: S,
    conn: Arc<Connection>,
    limits: FrontLimits,
    state: ReadState,
    /// Bytes read from the client that are not checked yet (a head in progress).
    unchecked: Vec<u8>,
    /// Whether the request line has ended and was checked (once per head).
    request_line_checked: bool,
    /// Whether the head in progress has a byte other than the blank lines before it.
    head_has_content: bool,
    /// Checked bytes for hyper, from `ready_at`.
    ready: Vec<u8>,
    ready_at: usize,
    /// When the first byte of the head in progress came.
    head_started: Option<Instant>,
    /// No request has been read on this connection yet.
    first_request: bool,
    timer: Pin<Box<tokio::time::Sleep>>,
    timer_deadline: Option<Instant>,
    /// When the state last changed (a body's, a refusal's or a drain's deadline counts from
    /// it, or from the end of the request in flight, whichever is later).
    state_since: Instant,
    /// The client closed its side.
    eof: bool,
    /// Since when a write has been waiting for the client to read.
    write_blocked_since: Option<Instant>,
    write_timer: Pin<Box<tokio::time::Sleep>>,
}

impl<S> Gate<S> {
    pub fn new(io: S, conn: Arc<Connection>, limits: FrontLimits) -> Gate<S> {
        Gate {
            io,
            conn,
            limits,
            state: ReadState::Head,
            unchecked: Vec::new(),
            request_line_checked: false,
            head_has_content: false,
            ready: Vec::new(),
            ready_at: 0,
            head_started: None,
            first_request: true,
            timer: Box::pin(tokio::time::sleep(limits.header_read_timeout)),
            timer_deadline: None,
            state_since: Instant::now(),
            eof: false,
            write_blocked_since: None,
            write_timer: Box::pin(tokio::time::sleep(limits.write_timeout)),
        }
    }

    fn set_state(&mut self, state: ReadState) {
        self.state = state;
        self.state_since = Instant::now();
    }

    /// Passes `len` bytes of `unchecked` on to hyper.
    fn pass(&mut self, len: usize) {
        if self.ready_at == self.ready.len() {
            self.ready.clear();
            self.ready_at = 0;
        }
        self.ready.extend(self.unchecked.drain(..len));
    }

    /// Refuses the head in progress: hyper gets the marked stand-in, then the end.
    fn refuse(&mut self, problem: HostProblem) {
        tracing::debug!("refused a request head: {problem:?}");
        self.conn.refuse(problem);
        self.unchecked.clear();
        self.ready.extend_from_slice(
            format!(
                "GET / HTTP/1.1\r\nhost: localhost\r\n{REFUSAL_HEADER}: {}\r\n\r\n",
                refusal_marker()
            )
            .as_bytes(),
        );
        self.set_state(ReadState::Refused);
    }

    /// Moves what can be checked from `unchecked` to `ready`, following each message.
    fn check(&mut self, added: usize) {
        loop {
            match &mut self.state {
                ReadState::Refused | ReadState::Closed => {
                    self.unchecked.clear();
                    return;
                }
                ReadState::Draining => {
                    let len = self.unchecked.len();
                    self.pass(len);
                    return;
                }
                ReadState::Body(remaining) => {
                    let take = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(self.unchecked.len());
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        self.set_state(ReadState::Head);
                    }
                    self.pass(take);
                    if self.unchecked.is_empty() {
                        return;
                    }
                }
                ReadState::Chunked(body) => {
                    if self.unchecked.is_empty() {
                        return;
                    }
                    match body.advance(&self.unchecked) {
                        Step::More => {
                            let len = self.unchecked.len();
                            self.pass(len);
                            return;
                        }
                        Step::Ended(len) => {
                            self.set_state(ReadState::Head);
                            self.pass(len);
                        }
                        Step::Broken => {
                            tracing::debug!("broken chunked framing: draining the connection");
                            self.set_state(ReadState::Draining);
                        }
                    }
                }
                ReadState::Head => {
                    if self.unchecked.is_empty() {
                        return;
                    }
                    if self.head_started.is_none() {
                        self.head_started = Some(Instant::now());
                    }
                    // Parse when it can decide something (the request line is complete, the
                    // head has ended, or the limit is reached), so a head sent a byte at a
                    // time costs one parse per event, not one per byte.
                    // Only the bytes just added (and three before, for a split `\r\n\r\n`)
                    // are searched: a head is read in linear time however it is split.
                    let added_from = self.unchecked.len().saturating_sub(added);
                    let from = added_from.saturating_sub(3);
                    let new = &self.unchecked[added_from..];
                    // Blank lines before a request line are skipped (RFC 9112 §2.2).
                    let content_from = new.iter().position(|b| !matches!(b, b'\r' | b'\n'));
                    let line_done = !self.request_line_checked
                        && (self.head_has_content || content_from.is_some())
                        && new[content_from.unwrap_or(0)..].contains(&b'\n');
                    self.head_has_content |= content_from.is_some();
                    let ended = self.head_has_content && ends_head(&self.unchecked[from..]);
                    if !(ended || line_done || self.unchecked.len() >= MAX_HEAD_BYTES) {
                        return;
                    }
                    self.request_line_checked |= line_done;
                    match head::scan(&self.unchecked) {
                        Ok(Some(head)) => {
                            self.set_state(match head.framing {
                                Framing::Length(0) => ReadState::Head,
                                Framing::Length(len) => ReadState::Body(len),
                                Framing::Chunked => ReadState::Chunked(ChunkedBody::default()),
                            });
                            self.head_started = None;
                            self.request_line_checked = false;
                            self.head_has_content = false;
                            self.first_request = false;
                            self.pass(head.len);
                        }
                        Ok(None) => return,
                        Err(problem) => {
                            self.refuse(problem);
                            return;
                        }
                    }
                }
            }
        }
    }

    /// When the connection must have made progress, in the state it is in; `None` while a
    /// request is in flight (the component is working, hyper may read ahead; the body-read
    /// and request timeouts apply then).
    fn deadline(&self) -> Option<Instant> {
        let idle_since = self.conn.idle_since()?;
        let since = self.state_since.max(idle_since);
        Some(match (&self.state, self.head_started) {
            (ReadState::Head, Some(started)) => {
                started.max(idle_since) + self.limits.header_read_timeout
            }
            (ReadState::Head, None) if self.first_request => {
                idle_since + self.limits.header_read_timeout
            }
            (ReadState::Head, None) => idle_since + self.limits.keep_alive_timeout,
            // A body nobody is reading (its request answered without it).
            (ReadState::Body(_) | ReadState::Chunked(_), _) => {
                since + self.limits.body_read_timeout
            }
            (ReadState::Draining | ReadState::Refused | ReadState::Closed, _) => {
                since + self.limits.header_read_timeout
            }
        })
    }
}

/// Whether `bytes` hold an empty line after a line (`\n\n` or `\n\r\n`): the end of a head.
fn ends_head(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"\n\n") || bytes.windows(3).any(|w| w == b"\n\r\n")
}

impl<S: AsyncRead + Unpin> AsyncRead for Gate<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.ready_at < this.ready.len() {
                let len = buf.remaining().min(this.ready.len() - this.ready_at);
                buf.put_slice(&this.ready[this.ready_at..this.ready_at + len]);
                this.ready_at += len;
                return Poll::Ready(Ok(()));
            }
            if this.eof || matches!(this.state, ReadState::Closed) {
                return Poll::Ready(Ok(()));
            }
            if matches!(this.state, ReadState::Draining)
                && this
                    .conn
                    .idle_since()
                    .is_some_and(|idle| idle > this.state_since)
            {
                // The request whose body broke is answered: hyper would not read on.
                this.set_state(ReadState::Closed);
                continue;
            }
            let mut scratch = [0u8; 8192];
            let mut read = ReadBuf::new(&mut scratch);
            let polled = if matches!(this.state, ReadState::Refused) {
                // Nothing more is read after a refusal, only waited out.
                Poll::Pending
            } else {
                Pin::new(&mut this.io).poll_read(cx, &mut read)
            };
            match polled {
                Poll::Ready(Ok(())) => {
                    let filled = read.filled();
                    if filled.is_empty() {
                        this.eof = true;
                        continue;
                    }
                    this.unchecked.extend_from_slice(filled);
                    let added = filled.len();
                    this.check(added);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    // Woken when the request in flight ends, to apply the idle deadlines.
                    this.conn.wake_on_idle(cx.waker());
                    let Some(deadline) = this.deadline() else {
                        return Poll::Pending;
                    };
                    if this.timer_deadline != Some(deadline) {
                        this.timer_deadline = Some(deadline);
                        this.timer.as_mut().reset(deadline.into());
                    }
                    if this.timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    if matches!(this.state, ReadState::Head) && this.head_started.is_some() {
                        this.refuse(HostProblem::HeadTimeout);
                    } else {
                        // Idle between requests, silent since the accept, a body nobody
                        // reads, or a refused or broken connection not closed by its reply:
                        // end it quietly.
                        tracing::debug!("closing a connection past its deadline");
                        this.set_state(ReadState::Closed);
                    }
                }
            }
        }
    }
}

impl<S> Gate<S> {
    /// A write's outcome, with the write timeout: a client that does not read its replies
    /// for [`FrontLimits::write_timeout`] has its connection ended.
    fn timed_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.write_blocked_since = None;
            return polled;
        }
        let since = *self.write_blocked_since.get_or_insert_with(Instant::now);
        let deadline = since + self.limits.write_timeout;
        if self.write_timer.deadline() != deadline.into() {
            self.write_timer.as_mut().reset(deadline.into());
        }
        if self.write_timer.as_mut().poll(cx).is_ready() {
            tracing::debug!("the client did not read its reply in time; closing");
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read its reply within the write timeout",
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Gate<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.timed_write(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.timed_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        self.timed_write(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_shutdown(cx);
        self.timed_write(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::{Result, ensure};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What hyper would read through a gate when the client sends `chunks` then closes, the
    /// pipe holding at most `capacity` bytes (1: the gate reads a byte at a time). Reading
    /// stops at the end, or once the gate stops passing bytes after a refusal.
    async fn through_pipe(
        capacity: usize,
        chunks: &[&[u8]],
    ) -> Result<(Vec<u8>, Option<HostProblem>)> {
        let (client, server) = tokio::io::duplex(capacity);
        let conn = Arc::new(Connection::new());
        let mut gate = Gate::new(server, conn.clone(), FrontLimits::default());
        let chunks: Vec<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
        let writer = tokio::spawn(async move {
            let (_read, mut write) = tokio::io::split(client);
            for chunk in chunks {
                // The gate stops reading after a refusal: the rest may not be taken.
                if write.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = write.shutdown().await;
            // Keep the pipe open until the reader is done.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        });
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let read =
                tokio::time::timeout(std::time::Duration::from_millis(100), gate.read(&mut buf))
                    .await;
            match read {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => return Err(e.into()),
            }
        }
        writer.abort();
        Ok((seen, conn.take_refusal()))
    }

    async fn through_gate(chunks: &[&[u8]]) -> Result<(Vec<u8>, Option<HostProblem>)> {
        through_pipe(1 << 20, chunks).await
    }

    #[tokio::test]
    async fn rfc9112_pipelined_requests_pass_byte_for_byte_whatever_the_split() -> Result<()> {
        let stream: &[u8] = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloPOST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n";
        for split in 0..stream.len() {
            let (seen, refusal) = through_gate(&[&stream[..split], &stream[split..]]).await?;
            ensure!(refusal.is_none(), "split {split}: {refusal:?}");
            ensure!(seen == stream, "split {split}");
        }
        Ok(())
    }

    #[tokio::test]
    async fn rfc9112_a_refused_head_after_a_good_request_is_replaced_by_the_marked_stand_in()
    -> Result<()> {
        let good: &[u8] = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
        let bad: &[u8] = b"POST /b HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx";
        let (seen, refusal) = through_gate(&[good, bad]).await?;
        ensure!(
            refusal == Some(HostProblem::InvalidContentLength),
            "{refusal:?}"
        );
        ensure!(
            seen.starts_with(good),
            "{:?}",
            String::from_utf8_lossy(&seen)
        );
        let stand_in = String::from_utf8_lossy(&seen[good.len()..]).to_string();
        ensure!(
            stand_in.starts_with("GET / HTTP/1.1\r\n")
                && stand_in.contains(refusal_marker())
                && stand_in.ends_with("\r\n\r\n"),
            "{stand_in:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn rfc9112_2_2_blank_lines_before_a_bad_request_line_do_not_delay_its_refusal()
    -> Result<()> {
        // Read a byte at a time, with no blank line after it: the request line alone decides.
        let (seen, refusal) = through_pipe(1, &[b"\r\n\r\n", b"GET /a b HTTP/1.1\r\n"]).await?;
        ensure!(
            refusal == Some(HostProblem::MalformedRequestLine),
            "{refusal:?}"
        );
        ensure!(String::from_utf8_lossy(&seen).contains(refusal_marker()));
        Ok(())
    }

    #[tokio::test]
    async fn hyper_after_a_chunk_size_with_many_leading_zeros_the_next_head_is_still_checked()
    -> Result<()> {
        let mut stream =
            b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        stream.extend(b"0".repeat(17_000));
        stream
            .extend_from_slice(b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n");
        let (_, refusal) = through_gate(&[&stream]).await?;
        ensure!(refusal == Some(HostProblem::MalformedHeader), "{refusal:?}");
        Ok(())
    }

    #[tokio::test]
    async fn requests_read_a_byte_at_a_time_pass_whole_and_a_bad_one_is_still_refused() -> Result<()>
    {
        let good: &[u8] = b"\r\nPOST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        let (seen, refusal) = through_pipe(1, &[good]).await?;
        ensure!(refusal.is_none() && seen == good, "{refusal:?}");
        let bad: &[u8] = b"GET /b HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n";
        let (seen, refusal) = through_pipe(1, &[bad]).await?;
        ensure!(refusal == Some(HostProblem::MalformedHeader), "{refusal:?}");
        ensure!(String::from_utf8_lossy(&seen).contains(refusal_marker()));
        Ok(())
    }
}
