//! Following a chunked body (RFC 9112 §7.1) byte by byte, only to know where it ends and the
//! next request's head begins. It decodes nothing: hyper decodes the body for the component.
//! When the framing is broken, hyper fails the body and closes the connection; this tracker
//! then reports [`Step::Broken`] and the gate stops looking for further heads.

/// The longest chunk-size line followed (size, extensions); hyper allows 16 KiB of extensions
/// in a whole body, so a longer single line is broken framing there too.
const MAX_LINE: usize = 16 * 1024 + 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line; `line` bytes so far, `size` the digits read.
    SizeLine {
        size: u64,
        digits: usize,
        in_extension: bool,
        line: usize,
    },
    /// `remaining` data bytes of a chunk.
    Data { remaining: u64 },
    /// The CRLF after a chunk's data; `seen_cr` once the CR came.
    DataEnd { seen_cr: bool },
    /// Trailer lines after the last chunk; `line` bytes in the current one.
    Trailer { line: usize },
}

/// Where a chunked body stands after some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// All given bytes belong to the body; more are needed.
    More,
    /// The body ended after this many of the given bytes.
    Ended(usize),
    /// The framing is not valid chunked encoding.
    Broken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedBody {
    state: State,
}

impl Default for ChunkedBody {
    fn default() -> Self {
        ChunkedBody {
            state: State::SizeLine {
                size: 0,
                digits: 0,
                in_extension: false,
                line: 0,
            },
        }
    }
}

impl ChunkedBody {
    /// Follows `bytes`, the next bytes of the body.
    pub fn advance(&mut self, bytes: &[u8]) -> Step {
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            match &mut self.state {
                State::SizeLine {
                    size,
                    digits,
                    in_extension,
                    line,
                } => {
                    *line += 1;
                    if *line > MAX_LINE {
                        return Step::Broken;
                    }
                    match byte {
                        b'\n' => {
                            if *digits == 0 {
                                return Step::Broken;
                            }
                            self.state = if *size == 0 {
                                State::Trailer { line: 0 }
                            } else {
                                State::Data { remaining: *size }
                            };
                        }
                        _ if *in_extension => {}
                        b';' | b' ' | b'\t' | b'\r' => *in_extension = true,
                        _ => match (byte as char).to_digit(16) {
                            Some(d) => {
                                *digits += 1;
                                *size = match size.checked_mul(16) {
                                    Some(s) => s + u64::from(d),
                                    None => return Step::Broken,
                                };
                            }
                            None => return Step::Broken,
                        },
                    }
                    at += 1;
                }
                State::Data { remaining } => {
                    let available = (bytes.len() - at) as u64;
                    let take = available.min(*remaining);
                    *remaining -= take;
                    at += usize::try_from(take).unwrap_or(bytes.len() - at);
                    if *remaining == 0 {
                        self.state = State::DataEnd { seen_cr: false };
                    }
                }
                State::DataEnd { seen_cr } => {
                    match (byte, *seen_cr) {
                        (b'\r', false) => *seen_cr = true,
                        (b'\n', true) => self.state = ChunkedBody::default().state,
                        _ => return Step::Broken,
                    }
                    at += 1;
                }
                State::Trailer { line } => {
                    at += 1;
                    match byte {
                        b'\n' if *line == 0 => return Step::Ended(at),
                        b'\n' => *line = 0,
                        b'\r' if *line == 0 => {}
                        _ => {
                            *line += 1;
                            if *line > MAX_LINE {
                                return Step::Broken;
                            }
                        }
                    }
                }
            }
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
    }
}
