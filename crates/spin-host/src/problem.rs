//! The replies the host itself makes, as RFC 9457 problem documents
//! (`application/problem+json`) in the application's namespace
//! (`https://certflow.dev/problems/<slug>`), so a client branches on one set of `type`s
//! whether the host or a component answered. A `detail` says what was wrong with the request
//! in words; it never carries an internal value (a component id, a path on disk, an error's
//! debug form): those go to the host's log.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// The media type of every reply made here (RFC 9457 §3).
pub const CONTENT_TYPE: &str = "application/problem+json";

/// Where the `type` URIs live; the components use the same base.
const TYPE_BASE: &str = "https://certflow.dev/problems/";

/// Every kind of reply the host makes itself. The slug (the `type`'s last segment) and the
/// status of each are stable; clients may rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostProblem {
    /// 400 `malformed-request`: the request line or a header is not HTTP/1.1 (RFC 9112 §3,
    /// §5), e.g. a space inside the request target or a folded header line.
    MalformedRequestLine,
    /// 400 `malformed-request`: a header line is not `name: value` (RFC 9112 §5.1, §5.2: a
    /// folded `obs-fold` line is refused).
    MalformedHeader,
    /// 400 `malformed-request`: `Content-Length` is not one non-negative decimal number, or
    /// two differ (RFC 9112 §6.3, item 5).
    InvalidContentLength,
    /// 400 `malformed-request`: a `Transfer-Encoding` whose last coding is not `chunked`, or
    /// any in HTTP/1.0 (RFC 9112 §6.1, §6.3 item 4).
    InvalidTransferEncoding,
    /// 400 `malformed-request`: no `Host` (and no absolute target), more than one, or one
    /// that is not an authority or disagrees with an absolute request target (RFC 9112 §3.2;
    /// Spin serves no request without an authority, HTTP/1.0 included).
    InvalidHost,
    /// 400 `malformed-request`: `Host` names a service-chaining address
    /// (`*.spin.internal`), which only components may call (Spin strips it, then has none).
    InternalHost,
    /// 414 `uri-too-long` (RFC 9110 §15.5.15).
    UriTooLong,
    /// 431 `header-fields-too-large`: too many header lines, or a head larger than the
    /// host reads (RFC 6585 §5).
    HeaderFieldsTooLarge,
    /// 408 `request-timeout`: the head did not arrive within the header-read timeout.
    HeadTimeout,
    /// 408 `request-timeout`: the body stopped arriving for longer than the body-read
    /// timeout.
    BodyTimeout,
    /// 404 `not-found`: no route matches the path.
    NotFound,
    /// 500 `handler-failed`: the component trapped or answered without a response.
    HandlerFailed,
    /// 500 `handler-timeout`: the component gave no response within the request timeout.
    HandlerTimeout,
    /// 503 `unavailable`: every component instance is in use; try again shortly.
    Busy,
}

impl HostProblem {
    /// The status, slug and title of this kind.
    pub fn parts(self) -> (u16, &'static str, &'static str) {
        use HostProblem::*;
        match self {
            MalformedRequestLine
            | MalformedHeader
            | InvalidContentLength
            | InvalidTransferEncoding
            | InvalidHost
            | InternalHost => (400, "malformed-request", "Malformed request"),
            UriTooLong => (414, "uri-too-long", "Request target too long"),
            HeaderFieldsTooLarge => (431, "header-fields-too-large", "Header fields too large"),
            HeadTimeout | BodyTimeout => (408, "request-timeout", "Request timeout"),
            NotFound => (404, "not-found", "Not found"),
            HandlerFailed => (500, "handler-failed", "The request could not be completed"),
            HandlerTimeout => (500, "handler-timeout", "The request took too long"),
            Busy => (503, "unavailable", "Service unavailable"),
        }
    }

    /// What was wrong, for a person: names the rule broken, never an internal value.
    pub fn detail(self) -> &'static str {
        use HostProblem::*;
        match self {
            MalformedRequestLine => {
                "the request line must be `METHOD SP request-target SP HTTP/1.x` with no spaces inside the target (RFC 9112 §3)"
            }
            MalformedHeader => {
                "every header line must be `name: value`; folded (obs-fold) lines are not accepted (RFC 9112 §5)"
            }
            InvalidContentLength => {
                "Content-Length must be one non-negative decimal number, sent once or with equal values (RFC 9112 §6.3)"
            }
            InvalidTransferEncoding => {
                "Transfer-Encoding must end with `chunked`, and HTTP/1.0 requests may not use it (RFC 9112 §6.1)"
            }
            InvalidHost => {
                "a request needs exactly one Host header naming the server, matching an absolute request target (RFC 9112 §3.2)"
            }
            InternalHost => {
                "the Host header names an address only the application's components may call"
            }
            UriTooLong => "the request target is longer than the server accepts",
            HeaderFieldsTooLarge => {
                "the request has more header lines, or a larger head, than the server accepts"
            }
            HeadTimeout => "the request's head did not arrive in time; the connection is closed",
            BodyTimeout => "the request's body stopped arriving; the connection is closed",
            NotFound => "no resource is served at this path",
            HandlerFailed => "the request could not be completed; the operator's log has the cause",
            HandlerTimeout => {
                "the request was stopped because it took longer than the server allows; the operator's log has the cause"
            }
            Busy => "the server is handling as many requests as it can; try again in a moment",
        }
    }

    /// The document, serialised.
    pub fn body(self) -> String {
        let (status, slug, title) = self.parts();
        serde_json::json!({
            "type": format!("{TYPE_BASE}{slug}"),
            "title": title,
            "status": status,
            "detail": self.detail(),
        })
        .to_string()
    }

    /// The reply: the document with its media type (no `cache-control`: a 404 stays
    /// heuristically cacheable, RFC 9111 §4.2.2, as Spin's is), and `connection: close` where the connection cannot be trusted any more (a broken or slow
    /// request), `retry-after` when busy.
    pub fn response(self) -> http::Response<HyperOutgoingBody> {
        let (status, _, _) = self.parts();
        let mut resp = http::Response::new(
            Full::new(Bytes::from(self.body()))
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        *resp.status_mut() =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
        let headers = resp.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(CONTENT_TYPE),
        );
        if self.closes_connection() {
            headers.insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
        }
        if self == HostProblem::Busy {
            headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
        }
        resp
    }

    /// Whether the connection is closed after this reply: after a request the host could not
    /// read, the next byte on the connection cannot be trusted to start a request.
    pub fn closes_connection(self) -> bool {
        use HostProblem::*;
        !matches!(self, NotFound | HandlerFailed | HandlerTimeout | Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::{Result, ensure};

    const ALL: [HostProblem; 14] = [
        HostProblem::MalformedRequestLine,
        HostProblem::MalformedHeader,
        HostProblem::InvalidContentLength,
        HostProblem::InvalidTransferEncoding,
        HostProblem::InvalidHost,
        HostProblem::InternalHost,
        HostProblem::UriTooLong,
        HostProblem::HeaderFieldsTooLarge,
        HostProblem::HeadTimeout,
        HostProblem::BodyTimeout,
        HostProblem::NotFound,
        HostProblem::HandlerFailed,
        HostProblem::HandlerTimeout,
        HostProblem::Busy,
    ];

    #[test]
    fn rfc9457_the_host_s_types_and_titles_are_in_the_app_s_catalog() -> Result<()> {
        // One set of types for clients: the components' catalog, which the OpenAPI
        // document publishes as `ProblemType`, lists the host's too, with the same titles.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../components/shared/i18n/problems.json");
        let catalog: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        for problem in ALL {
            let (_, slug, title) = problem.parts();
            let entry = &catalog[format!("{TYPE_BASE}{slug}")];
            ensure!(
                entry["en"] == title,
                "{slug}: catalog has {entry}, host says {title:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn rfc9457_every_host_reply_is_a_problem_document_with_a_stable_type() -> Result<()> {
        for problem in ALL {
            let resp = problem.response();
            let (status, slug, _) = problem.parts();
            ensure!(resp.status().as_u16() == status, "{problem:?}");
            ensure!(
                resp.headers().get("content-type").map(|v| v.as_bytes())
                    == Some(CONTENT_TYPE.as_bytes()),
                "{problem:?}"
            );
            let doc: serde_json::Value = serde_json::from_str(&problem.body())?;
            ensure!(
                doc["type"] == format!("https://certflow.dev/problems/{slug}"),
                "{doc}"
            );
            ensure!(doc["status"] == status && doc["title"].is_string(), "{doc}");
            ensure!(!problem.detail().contains('{'), "{problem:?}");
        }
        Ok(())
    }
}
