//! Following a chunked body (RFC 9112 §7.1) byte by byte, only to know where it ends and the
//! next request's head begins, with hyper's own grammar and limits. It decodes nothing: hyper
//! decodes the body for the component. Where hyper fails the body (and so the connection),
//! this tracker reports [`Step::Broken`].

/// hyper's limit on chunk-extension bytes in one body (`CHUNKED_EXTENSIONS_LIMIT`).
const EXTENSIONS_LIMIT: u64 = 1024 * 16;
/// hyper's limit on trailer bytes in one body (`TRAILER_LIMIT`).
const TRAILER_LIMIT: usize = 1024 * 16;
/// hyper's limit on trailer lines (`DEFAULT_MAX_HEADERS`).
const MAX_TRAILERS: usize = 100;

/// hyper 1.x's `ChunkedState` (`proto/h1/decode.rs`), state for state: the gate must find the
/// end of a chunked body exactly where hyper does, or the two read different requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Size,
    SizeLws,
    Extension,
    SizeLf,
    Body,
    BodyCr,
    BodyLf,
    Trailer,
    TrailerLf,
    EndCr,
    EndLf,
}

/// Where a chunked body stands after some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// All given bytes belong to the body; more are needed.
    More,
    /// The body ended after this many of the given bytes.
    Ended(usize),
    /// hyper fails the body here (and with it the connection).
    Broken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedBody {
    state: State,
    size: u64,
    extensions: u64,
    /// Trailer bytes so far (`None` until the first), and lines.
    trailer_bytes: Option<usize>,
    trailers: usize,
}

impl Default for ChunkedBody {
    fn default() -> Self {
        ChunkedBody {
            state: State::Start,
            size: 0,
            extensions: 0,
            trailer_bytes: None,
            trailers: 0,
        }
    }
}

fn hex(byte: u8) -> Option<u64> {
    match byte {
        b'0'..=b'9' => Some(u64::from(byte - b'0')),
        b'a'..=b'f' => Some(u64::from(byte - b'a' + 10)),
        b'A'..=b'F' => Some(u64::from(byte - b'A' + 10)),
        _ => None,
    }
}

impl ChunkedBody {
    /// Counts one trailer byte as hyper's `put_u8!` does; `false` past its limit.
    fn trailer_byte(&mut self) -> bool {
        let bytes = self.trailer_bytes.unwrap_or(0) + 1;
        self.trailer_bytes = Some(bytes);
        bytes < TRAILER_LIMIT
    }

    /// Follows `bytes`, the next bytes of the body.
    pub fn advance(&mut self, bytes: &[u8]) -> Step {
        use State::*;
        let mut at = 0;
        while at < bytes.len() {
            if self.state == Body {
                let take = (bytes.len() - at).min(usize::try_from(self.size).unwrap_or(usize::MAX));
                self.size -= take as u64;
                at += take;
                if self.size == 0 {
                    self.state = BodyCr;
                }
                continue;
            }
            let byte = bytes[at];
            at += 1;
            self.state = match (self.state, byte) {
                (Start | Size, _) if hex(byte).is_some() => {
                    let digit = hex(byte).unwrap_or(0);
                    match self.size.checked_mul(16).and_then(|s| s.checked_add(digit)) {
                        Some(size) => self.size = size,
                        None => return Step::Broken,
                    }
                    Size
                }
                (Start, _) => return Step::Broken,
                (Size | SizeLws, b'\t' | b' ') => SizeLws,
                (Size | SizeLws, b';') => Extension,
                (Size | SizeLws, b'\r') => SizeLf,
                (Size | SizeLws, _) => return Step::Broken,
                (Extension, b'\r') => SizeLf,
                (Extension, b'\n') => return Step::Broken,
                (Extension, _) => {
                    self.extensions += 1;
                    if self.extensions >= EXTENSIONS_LIMIT {
                        return Step::Broken;
                    }
                    Extension
                }
                (SizeLf, b'\n') if self.size == 0 => EndCr,
                (SizeLf, b'\n') => Body,
                (SizeLf, _) => return Step::Broken,
                (BodyCr, b'\r') => BodyLf,
                (BodyCr, _) => return Step::Broken,
                (BodyLf, b'\n') => Start,
                (BodyLf, _) => return Step::Broken,
                (Trailer, _) => {
                    if !self.trailer_byte() {
                        return Step::Broken;
                    }
                    if byte == b'\r' { TrailerLf } else { Trailer }
                }
                (TrailerLf, b'\n') => {
                    if self.trailers >= MAX_TRAILERS {
                        return Step::Broken;
                    }
                    self.trailers += 1;
                    if !self.trailer_byte() {
                        return Step::Broken;
                    }
                    EndCr
                }
                (TrailerLf, _) => return Step::Broken,
                (EndCr, b'\r') => {
                    if self.trailer_bytes.is_some() && !self.trailer_byte() {
                        return Step::Broken;
                    }
                    EndLf
                }
                (EndCr, _) => {
                    // The first byte of a trailer line (hyper starts its buffer with it).
                    if !self.trailer_byte() {
                        return Step::Broken;
                    }
                    Trailer
                }
                (EndLf, b'\n') => return Step::Ended(at),
                (EndLf, _) => return Step::Broken,
                (Body, _) => Body,
            };
        }
        Step::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(body: &[u8]) -> Step {
        ChunkedBody::default().advance(body)
    }

    #[test]
    fn rfc9112_7_1_the_body_ends_after_the_last_chunk_and_trailers() {
        let body = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        assert_eq!(
            whole(body),
            Step::Ended(body.len() - b"GET / HTTP/1.1\r\n".len())
        );
        let trailers = b"1\r\na\r\n0\r\nX-T: 1\r\n\r\nnext";
        assert_eq!(whole(trailers), Step::Ended(trailers.len() - 4));
        let upper = b"A\r\n0123456789\r\n0\r\n\r\n";
        assert_eq!(whole(upper), Step::Ended(upper.len()));
    }

    #[test]
    fn rfc9112_7_1_split_anywhere_gives_the_same_end() {
        let body = b"4\r\nWiki\r\n5\r\npedia\r\n0\r\nA: b\r\n\r\n";
        for split in 0..body.len() {
            let mut tracker = ChunkedBody::default();
            let first = tracker.advance(&body[..split]);
            assert_eq!(first, Step::More, "split at {split}");
            assert_eq!(
                tracker.advance(&body[split..]),
                Step::Ended(body.len() - split),
                "split at {split}"
            );
        }
    }

    #[test]
    fn rfc9112_7_1_broken_framing_is_reported() {
        assert_eq!(whole(b"zz\r\n"), Step::Broken);
        assert_eq!(whole(b"\r\n"), Step::Broken);
        assert_eq!(whole(b"2\r\nabX\r\n"), Step::Broken);
        assert_eq!(whole(b"fffffffffffffffff\r\n"), Step::Broken);
        // hyper wants CRLF everywhere in the framing.
        assert_eq!(whole(b"1\na\r\n"), Step::Broken);
        assert_eq!(whole(b"1;x\na\r\n"), Step::Broken);
    }

    #[test]
    fn hyper_any_number_of_leading_zeros_is_one_chunk_size() {
        let mut body = b"0".repeat(40_000);
        body.extend_from_slice(b"3\r\nabc\r\n0\r\n\r\n");
        assert_eq!(whole(&body), Step::Ended(body.len()));
    }

    #[test]
    fn hyper_a_bare_lf_after_the_last_chunk_starts_a_trailer_not_the_end() {
        // hyper reads `\nX: y\r\n` as a trailer line, then `\r\n` ends the body: the
        // next request starts after it, not at `X: y`.
        let body = b"3\r\nabc\r\n0\r\n\nX: y\r\n\r\nGET";
        assert_eq!(whole(body), Step::Ended(body.len() - 3));
    }

    #[test]
    fn hyper_limits_extensions_and_trailers() {
        let mut long_extension = b"1;".to_vec();
        long_extension.extend(std::iter::repeat_n(b'x', 16 * 1024));
        assert_eq!(whole(&long_extension), Step::Broken);
        let mut many_trailers = b"0\r\n".to_vec();
        for _ in 0..=100 {
            many_trailers.extend_from_slice(b"a: 1\r\n");
        }
        many_trailers.extend_from_slice(b"\r\n");
        assert_eq!(whole(&many_trailers), Step::Broken);
    }
}
