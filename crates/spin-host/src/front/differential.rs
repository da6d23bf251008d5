//! [`super::head::scan`] against hyper itself: for request heads built from good and bad
//! parts (RFC 9112 §3, §5, §6), whatever status a bare hyper HTTP/1 server (what Spin serves
//! with) answers, the gate decides the same; a head hyper accepts is passed on. The gate
//! must never refuse what Spin would serve, nor let hyper answer with an empty reply.

use super::head;
use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The status hyper's server answers `bytes` with, or `None` when it closes or waits.
async fn hyper_status(bytes: Vec<u8>) -> Result<Option<u16>> {
    let (client, server) = tokio::io::duplex(1 << 20);
    let served = tokio::spawn(async move {
        let service = hyper::service::service_fn(|_req| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Empty::<Bytes>::new()))
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server), service)
            .await;
    });
    let (mut read, mut write) = tokio::io::split(client);
    write.write_all(&bytes).await?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    let status = loop {
        let n =
            match tokio::time::timeout(std::time::Duration::from_millis(500), read.read(&mut buf))
                .await
            {
                Ok(n) => n?,
                Err(_) => break None,
            };
        if n == 0 {
            break None;
        }
        reply.extend_from_slice(&buf[..n]);
        if let Some(line_end) = reply.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&reply[..line_end]).to_string();
            let code = line
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .with_context(|| line.clone())?;
            break Some(code);
        }
    };
    served.abort();
    Ok(status)
}

/// The status the gate decides on (200 for a head it passes), `None` while it waits.
fn gate_status(bytes: &[u8]) -> Option<u16> {
    match head::scan(bytes) {
        Ok(Some(_)) => Some(200),
        Ok(None) => None,
        Err(problem) => Some(problem.parts().0),
    }
}

/// Mostly well-formed parts, so that each bad one is usually the only fault in its head.
fn one_of(
    good: &'static [&'static str],
    bad: &'static [&'static str],
) -> BoxedStrategy<&'static str> {
    prop_oneof![
        6 => prop::sample::select(good),
        1 => prop::sample::select(bad),
    ]
    .boxed()
}

fn request_head() -> impl Strategy<Value = Vec<u8>> {
    let method = one_of(
        &["GET", "POST", "PUT", "PATCH", "get"],
        &["G ET", "", "GE\x01T"],
    );
    let target = one_of(
        &["/", "/a", "/a?b=c", "//", "/%zz", "http://h/p", "*"],
        &["/a b", "/\x7f", "/\u{e9}", "/a#f", "h:1"],
    );
    let version = one_of(
        &["HTTP/1.1", "HTTP/1.0"],
        &["HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/1"],
    );
    let header = one_of(
        &[
            "Host: a",
            "Content-Length: 0",
            "Content-Length: 5",
            "Content-Length:  7 ",
            "Transfer-Encoding: chunked",
            "Transfer-Encoding: gzip, chunked",
            "X-A:b",
            "X-Empty:",
            "X-A: \u{e9}",
            "Connection: close",
            "Expect: 100-continue",
            "Upgrade: websocket",
        ],
        &[
            "Content-Length: -1",
            "Content-Length: 1,1",
            "Content-Length: +3",
            "Content-Length: 99999999999999999999",
            "Content-Length: 18446744073709551614",
            "Transfer-Encoding: identity",
            "Transfer-Encoding: chunked, gzip",
            " folded",
            "\tfolded",
            "X A: b",
            "X-A : b",
            "X-A: \x01",
            ": empty-name",
        ],
    );
    let newline = prop::sample::select(vec!["\r\n", "\n"]);
    (
        method,
        target,
        version,
        prop::collection::vec(header, 0..6),
        newline,
    )
        .prop_map(|(method, target, version, headers, nl)| {
            let mut head = format!("{method} {target} {version}{nl}");
            for h in headers {
                head.push_str(h);
                head.push_str(nl);
            }
            head.push_str(nl);
            head.into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn rfc9112_the_gate_decides_every_head_as_hyper_does(head in request_head()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let from_hyper = runtime
            .block_on(hyper_status(head.clone()))
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        let from_gate = gate_status(&head);
        let shown = String::from_utf8_lossy(&head).to_string();
        match from_hyper {
            // Whatever hyper answers, the gate answers (a refusal with a problem instead of
            // hyper's empty reply; 200 meaning the head is passed to hyper).
            Some(status) => prop_assert_eq!(from_gate, Some(status), "{:?}", shown),
            // hyper closed without a reply or is waiting: the gate may answer, but never
            // lets pass what hyper would not serve.
            None => prop_assert_ne!(from_gate, Some(200), "{:?}", shown),
        }
    }
}
