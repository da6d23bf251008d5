//! The HTTP front: Spin's routing, `/.well-known/spin/health`, one log line per request, and a
//! graceful stop (stop accepting, finish in-flight requests).

use crate::runtime::App;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
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

async fn handle(
    app: Arc<App>,
    req: http::Request<Incoming>,
    client_addr: SocketAddr,
) -> Result<http::Response<HyperOutgoingBody>, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (component, resp) = if path.starts_with(crate::routes::WELL_KNOWN_PREFIX) {
        // Spin answers these itself, before routing.
        let resp = match path.as_str() {
            HEALTH_PATH => plain(http::StatusCode::OK, "OK"),
            INFO_PATH => json(INFO_BODY),
            _ => plain(http::StatusCode::NOT_FOUND, "Not Found"),
        };
        ("-".to_string(), resp)
    } else {
        match app.router.route(&path) {
            None => (
                "-".to_string(),
                plain(http::StatusCode::NOT_FOUND, "Not Found"),
            ),
            Some(route) => {
                let component = route.component_id().to_string();
                match app.handle(&route, req, Scheme::Http, client_addr).await {
                    Ok(resp) => (component, resp),
                    Err(e) => {
                        tracing::error!("{method} {path}: {e:#}");
                        (
                            component,
                            plain(
                                http::StatusCode::INTERNAL_SERVER_ERROR,
                                "Internal Server Error",
                            ),
                        )
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
    Ok(resp)
}

/// Serves until `shutdown` resolves, then stops accepting and waits for open connections to
/// finish their in-flight requests.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
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
        let service = hyper::service::service_fn(move |req| handle(app.clone(), req, client_addr));
        let conn = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection from {client_addr} ended: {e}");
            }
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
