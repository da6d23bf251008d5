//! The HTTP front: Spin's routing, `/.well-known/spin/health`, one log line per request, a
//! graceful stop (stop accepting, finish in-flight requests), and the limits of
//! [`crate::front`]. Every reply the host makes itself is a problem document
//! ([`HostProblem`]); a component's replies pass unchanged.

use crate::front::gate::{Gate, REFUSAL_HEADER, refusal_marker};
use crate::front::{Connection, FrontLimits, InFlight};
use crate::problem::HostProblem;
use crate::runtime::App;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

pub const HEALTH_PATH: &str = "/.well-known/spin/health";
pub const INFO_PATH: &str = "/.well-known/spin/info";
const INFO_BODY: &str = concat!(
    "{\"build_info\":{\"version\":\"",
    env!("CARGO_PKG_VERSION"),
    "\",\"branch\":null,\"commit\":null,\"commit_date\":null},\"oci_image_digest\":null}"
);

fn json(text: &'static str) -> http::Response<HyperOutgoingBody> {
    let mut resp = plain(http::StatusCode::OK, text);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

fn plain(status: http::StatusCode, text: &'static str) -> http::Response<HyperOutgoingBody> {
    let mut resp = http::Response::new(
        Full::new(Bytes::from_static(text.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Whether the request's `Host` can be served, or why not: RFC 9112 §3.2 (one `Host`, naming
/// an authority, matching an absolute target) and Spin's `set_req_uri` (an authority from
/// `Host` or the target, in HTTP/1.0 too), with Spin's rule that `*.spin.internal` is for
/// components only (Spin strips such a `Host`, then fails the request for want of one).
fn check_host<B>(req: &http::Request<B>) -> Result<(), HostProblem> {
    let mut hosts = req.headers().get_all(http::header::HOST).iter();
    let (host, more) = (hosts.next(), hosts.next());
    if more.is_some() {
        return Err(HostProblem::InvalidHost);
    }
    let Some(host) = host else {
        // HTTP/1.0 may omit Host (RFC 9112 §3.2), but Spin serves no request without an
        // authority (trigger-http `set_req_uri`: "no 'Host' header present in request"), so
        // neither does this host: what it serves, Spin must serve too.
        return match req.uri().authority() {
            Some(_) => Ok(()),
            None => Err(HostProblem::InvalidHost),
        };
    };
    let host = host.to_str().map_err(|_| HostProblem::InvalidHost)?;
    let authority: http::uri::Authority = host.parse().map_err(|_| HostProblem::InvalidHost)?;
    if crate::allowed_hosts::is_service_chaining_host(host) {
        return Err(HostProblem::InternalHost);
    }
    if req.uri().authority().is_some_and(|a| a != &authority) {
        return Err(HostProblem::InvalidHost);
    }
    Ok(())
}

/// The reply for a request the app failed to answer: the kind, from the failure's cause.
fn failure_problem(e: &anyhow::Error) -> HostProblem {
    // The epoch deadline is the request timeout: a guest stopped by it traps with
    // `Interrupt`, which may be seen before the host's own timer fires.
    let interrupted = e
        .chain()
        .any(|c| c.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt));
    if interrupted
        || e.chain()
            .any(|c| c.is::<crate::runtime::NoResponseInTime>())
    {
        HostProblem::HandlerTimeout
    } else if e
        .chain()
        .any(|c| c.is::<wasmtime::PoolConcurrencyLimitError>())
    {
        HostProblem::Busy
    } else {
        HostProblem::HandlerFailed
    }
}

/// A response body that ends its request's [`InFlight`] when hyper has taken all of it.
struct Tracked {
    inner: HyperOutgoingBody,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that reports when no byte came for `timeout` while the component waited
/// for one (the body-read timeout). The server then answers 408 and closes the connection,
/// and the component sees what Spin gives it when a client hangs up mid-body: the body ends
/// with `http-protocol-error` (hyper's error as wasmtime-wasi-http maps it). It finishes
/// its work and its instance is freed, rather than waiting for the request timeout.
struct Timed<B> {
    inner: B,
    timeout: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    armed: bool,
    stalled: Option<tokio::sync::oneshot::Sender<()>>,
}

impl<B> http_body::Body for Timed<B>
where
    B: http_body::Body + Unpin,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    type Data = B::Data;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.stalled.is_none() {
            return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpProtocolError)));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.armed = false;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                if !this.armed {
                    this.armed = true;
                    let deadline = tokio::time::Instant::now() + this.timeout;
                    this.timer.as_mut().reset(deadline);
                }
                if this.timer.as_mut().poll(cx).is_ready()
                    && let Some(stalled) = this.stalled.take()
                {
                    let _ = stalled.send(());
                    return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpProtocolError)));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

async fn handle(
    app: Arc<App>,
    conn: Arc<Connection>,
    limits: FrontLimits,
    req: http::Request<Incoming>,
    client_addr: SocketAddr,
) -> Result<http::Response<HyperOutgoingBody>, Infallible> {
    let in_flight = conn.start_request();
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let refused = req
        .headers()
        .get(REFUSAL_HEADER)
        .is_some_and(|v| v.as_bytes() == refusal_marker().as_bytes())
        .then(|| conn.take_refusal())
        .flatten();
    let (component, resp) = if let Some(problem) = refused {
        // The stand-in's method and path are the gate's, not the client's.
        tracing::info!(
            "request head refused ({problem:?}) {} {:.2}ms",
            problem.parts().0,
            started.elapsed().as_secs_f64() * 1000.0
        );
        return Ok(tracked(problem.response(), in_flight));
    } else if let Err(problem) = check_host(&req) {
        tracing::info!("{method} {path}: refused ({problem:?})");
        ("-".to_string(), problem.response())
    } else if path.starts_with(crate::routes::WELL_KNOWN_PREFIX) {
        // Spin answers these itself, before routing.
        let resp = match path.as_str() {
            HEALTH_PATH => plain(http::StatusCode::OK, "OK"),
            INFO_PATH => json(INFO_BODY),
            _ => HostProblem::NotFound.response(),
        };
        ("-".to_string(), resp)
    } else {
        match app.router.route(&path) {
            None => ("-".to_string(), HostProblem::NotFound.response()),
            Some(route) => {
                let component = route.component_id().to_string();
                let (stalled_tx, stalled) = tokio::sync::oneshot::channel();
                let req = req.map(|inner| Timed {
                    inner,
                    timeout: limits.body_read_timeout,
                    timer: Box::pin(tokio::time::sleep(limits.body_read_timeout)),
                    armed: false,
                    stalled: Some(stalled_tx),
                });
                // The stall is reported before the component sees its body end, so it wins
                // over the component's reply to the broken body.
                let answered = tokio::select! {
                    biased;
                    Ok(()) = stalled => Err(anyhow::Error::new(BodyStalled)),
                    answered = app.handle(&route, req, Scheme::Http, client_addr) => answered,
                };
                match answered {
                    Ok(resp) => (component, resp),
                    Err(e) if e.is::<BodyStalled>() => {
                        tracing::warn!(
                            "{method} {path}: the body stopped arriving for {}s; the request is stopped",
                            limits.body_read_timeout.as_secs_f64()
                        );
                        (component, HostProblem::BodyTimeout.response())
                    }
                    Err(e) => {
                        tracing::error!("{method} {path}: {e:#}");
                        (component, failure_problem(&e).response())
                    }
                }
            }
        }
    };
    tracing::info!(
        "{method} {path} {component} {} {:.2}ms",
        resp.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(tracked(resp, in_flight))
}

/// `resp` with its body [`Tracked`]: the request ends when hyper has taken the body.
fn tracked(
    resp: http::Response<HyperOutgoingBody>,
    in_flight: InFlight,
) -> http::Response<HyperOutgoingBody> {
    resp.map(|inner| {
        Tracked {
            inner,
            _in_flight: in_flight,
        }
        .boxed_unsync()
    })
}

/// The body-read timeout fired.
#[derive(Debug)]
struct BodyStalled;

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body stopped arriving")
    }
}

impl std::error::Error for BodyStalled {}

/// Serves until `shutdown` resolves, then stops accepting and waits for open connections to
/// finish their in-flight requests. At most `limits.max_connections` connections are served
/// at once; more wait in the listen queue.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    limits: FrontLimits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit?,
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, client_addr) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                // Running out of file descriptors and the like: wait a moment, keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        // Small responses must not wait for the peer's delayed ACK (Nagle).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        let app = app.clone();
        let conn = Arc::new(Connection::new());
        let gate = Gate::new(stream, conn.clone(), limits);
        let service = hyper::service::service_fn(move |req| {
            handle(app.clone(), conn.clone(), limits, req, client_addr)
        });
        // half_close: a client that sends its request and shuts down its sending side (as
        // `nc -N` and some proxies do) still gets the reply.
        let served = http1::Builder::new()
            .keep_alive(true)
            .half_close(true)
            .serve_connection(TokioIo::new(gate), service);
        let served = graceful.watch(served);
        tokio::spawn(async move {
            if let Err(e) = served.await {
                tracing::debug!("connection from {client_addr} ended: {e}");
            }
            drop(permit);
        });
    }
    tracing::info!("stopping: finishing in-flight requests");
    graceful.shutdown().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
