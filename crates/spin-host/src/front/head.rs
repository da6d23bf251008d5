//! Reading a request head as hyper's HTTP/1 server does (hyper 1.x `proto/h1/role.rs`, which
//! Spin serves with), to refuse with a problem document exactly what hyper would refuse with
//! an empty reply, and to know how the body is framed so the next head can be found.

use crate::problem::HostProblem;

/// hyper's limit on header lines in one head (`DEFAULT_MAX_HEADERS`); more is a 431.
pub const MAX_HEADERS: usize = 100;
/// hyper's limit on the request target (`MAX_URI_LEN`, bytes); longer is a 414.
pub const MAX_URI_BYTES: usize = (u16::MAX - 1) as usize;
/// hyper's read buffer (`DEFAULT_MAX_BUFFER_SIZE`, bytes): a head that does not end within
/// it is a 431.
pub const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;
/// hyper's largest body length (`MAX_LEN`); a larger `Content-Length` is a 431 there too.
const MAX_CONTENT_LENGTH: u64 = u64::MAX - 2;

/// How the body after a head is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` bytes (0 when there is neither header).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A complete, acceptable head: its length in bytes and the body's framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub len: usize,
    pub framing: Framing,
}

/// Reads the head at the start of `buf`. `Ok(None)`: not complete yet (read more, unless
/// `buf` already holds [`MAX_HEAD_BYTES`]); `Err`: what hyper refuses, as the problem the host
/// answers.
pub fn scan(buf: &[u8]) -> Result<Option<Head>, HostProblem> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match httparse::ParserConfig::default().parse_request(&mut req, buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= MAX_HEAD_BYTES {
                Err(HostProblem::HeaderFieldsTooLarge)
            } else {
                Ok(None)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HostProblem::HeaderFieldsTooLarge),
        Err(httparse::Error::HeaderName | httparse::Error::HeaderValue) => {
            return Err(HostProblem::MalformedHeader);
        }
        Err(_) => return Err(HostProblem::MalformedRequestLine),
    };
    let target = req.path.unwrap_or_default();
    if target.len() > MAX_URI_BYTES {
        return Err(HostProblem::UriTooLong);
    }
    let method = req.method.unwrap_or_default();
    if http::Method::from_bytes(method.as_bytes()).is_err() || http::Uri::try_from(target).is_err()
    {
        return Err(HostProblem::MalformedRequestLine);
    }
    let http11 = req.version == Some(1);
    // RFC 9112 §6.3 as hyper applies it: chunked wins over Content-Length; differing lengths
    // and a Transfer-Encoding not ending in chunked are refused.
    let mut transfer_encoding: Option<bool> = None;
    let mut content_length: Option<u64> = None;
    for header in req.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if !http11 {
                return Err(HostProblem::InvalidTransferEncoding);
            }
            transfer_encoding = Some(ends_in_chunked(header.value));
        } else if header.name.eq_ignore_ascii_case("content-length") && transfer_encoding.is_none()
        {
            let value = decimal(header.value).ok_or(HostProblem::InvalidContentLength)?;
            // hyper sizes each length as it reads it, before comparing it with an earlier one.
            if content_length.is_none() && value > MAX_CONTENT_LENGTH {
                return Err(HostProblem::HeaderFieldsTooLarge);
            }
            match content_length {
                Some(previous) if previous != value => {
                    return Err(HostProblem::InvalidContentLength);
                }
                _ => content_length = Some(value),
            }
        }
    }
    let framing = match (transfer_encoding, content_length) {
        (Some(true), _) => Framing::Chunked,
        (Some(false), _) => return Err(HostProblem::InvalidTransferEncoding),
        (None, Some(len)) => Framing::Length(len),
        (None, None) => Framing::Length(0),
    };
    Ok(Some(Head { len, framing }))
}

/// hyper's `content_length_parse`: ASCII digits only (no sign, no list), no overflow.
fn decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| match b {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// hyper's `is_chunked_`: the last coding of the list is `chunked`, any case.
fn ends_in_chunked(value: &[u8]) -> bool {
    std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.rsplit(',').next())
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::{Result, ensure};

    fn refused(head: &str) -> Option<HostProblem> {
        scan(head.as_bytes()).err()
    }

    #[test]
    fn rfc9112_6_3_framing_follows_transfer_encoding_then_content_length() -> Result<()> {
        let cases = [
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", Framing::Length(0)),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n",
                Framing::Length(12),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
                Framing::Length(3),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, CHUNKED\r\nContent-Length: 3\r\n\r\n",
                Framing::Chunked,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                Framing::Chunked,
            ),
        ];
        for (head, framing) in cases {
            let scanned = scan(head.as_bytes()).map_err(|p| anyhow::anyhow!("{p:?}"))?;
            ensure!(
                scanned
                    == Some(Head {
                        len: head.len(),
                        framing
                    }),
                "{head:?}: {scanned:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn rfc9112_what_hyper_refuses_is_refused_with_its_status() {
        use HostProblem::*;
        let cases = [
            (
                "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                InvalidContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                InvalidContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
                InvalidContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
                InvalidContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                InvalidContentLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 18446744073709551614\r\n\r\n",
                HeaderFieldsTooLarge,
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
                InvalidTransferEncoding,
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                InvalidTransferEncoding,
            ),
            (
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                InvalidTransferEncoding,
            ),
            (
                "GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",
                MalformedHeader,
            ),
            ("GET / HTTP/1.1\r\nX A: 1\r\n\r\n", MalformedHeader),
            ("GET /a b HTTP/1.1\r\n\r\n", MalformedRequestLine),
            ("GET / HTTP/2.0\r\n\r\n", MalformedRequestLine),
            ("G\0T / HTTP/1.1\r\n\r\n", MalformedRequestLine),
            ("GET http://[::1 HTTP/1.1\r\n\r\n", MalformedRequestLine),
        ];
        for (head, problem) in cases {
            assert_eq!(refused(head), Some(problem), "{head:?}");
        }
    }

    #[test]
    fn hyper_limits_uri_and_head_size_and_header_count() {
        let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URI_BYTES));
        assert_eq!(refused(&long_target), Some(HostProblem::UriTooLong));
        let longest = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URI_BYTES - 1));
        assert_eq!(refused(&longest), None);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: 1\r\n")).collect();
        assert_eq!(
            refused(&format!("GET / HTTP/1.1\r\n{many}\r\n")),
            Some(HostProblem::HeaderFieldsTooLarge)
        );
        let endless = format!("GET / HTTP/1.1\r\nx: {}", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(refused(&endless), Some(HostProblem::HeaderFieldsTooLarge));
        assert_eq!(scan(b"GET / HTTP/1.1\r\nx: 1\r\n"), Ok(None));
    }
}
