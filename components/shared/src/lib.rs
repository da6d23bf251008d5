//! What every certflow component does at its edges, in one place: read a request with a
//! capped body, answer with a [`Reply`] or an RFC 9457 [`Problem`], recognise operators
//! (constant time), and keep JSON records in the key-value store, where a state change is a
//! compare-and-swap ([`update_json`]). The rules themselves live in `certflow_domain`.

use certflow_domain::Problem;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::wit::wasi::keyvalue::{atomics, store};
use subtle::ConstantTimeEq;

pub mod claim;
pub mod outbox;
pub mod outcome;
pub mod problem_types;
pub mod secret;
pub mod webhook;

pub use spin_sdk::http::Method;
pub use store::Bucket;

/// `application/json`.
pub const JSON: &str = "application/json";

/// The result of handling a request: a reply, or a problem to answer with.
pub type Outcome = Result<Reply, Problem>;

/// A response to send, written straight to wasi:http. Header names are lowercase here; the
/// SDK's `Response` and its conversions (which lowercase every name with the Unicode case
/// tables) would add 73 KB to each component (intake: 366 KB against 293 KB).
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    /// A reply with a body of this content type.
    pub fn new(status: u16, content_type: &str, body: String) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", content_type.to_string())],
            body: body.into_bytes(),
        }
    }

    /// A JSON reply that must not be cached (records are confidential, R3).
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::new(status, JSON, body.to_string()).header("cache-control", "no-store")
    }

    /// Adds a header (`name` in lowercase).
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// The JSON body of a successful (2xx) reply, for a handler that adds to it after a
    /// chained call.
    pub fn success_json(&self) -> Option<serde_json::Value> {
        if !(200..300).contains(&self.status) {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }

    /// The reply with `body` as its JSON body, status and headers kept.
    pub fn with_json(mut self, body: &serde_json::Value) -> Reply {
        self.body = body.to_string().into_bytes();
        self
    }

    /// The value of a header this reply carries (`name` in lowercase).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The answer to a problem (RFC 9457), with the headers its status calls for.
    pub fn problem(problem: Problem) -> Reply {
        let body = problem.to_json();
        Reply::problem_with_body(&problem, certflow_domain::problem::CONTENT_TYPE, body)
    }

    /// The answer to a problem with this body and content type (a localized problem
    /// document, or a page for a person), with the headers its status calls for
    /// (`www-authenticate`, `allow`, `accept-encoding`).
    pub fn problem_with_body(problem: &Problem, content_type: &str, body: String) -> Reply {
        let reply = Reply::new(problem.status, content_type, body);
        match (problem.status, problem.allow.clone()) {
            (401, _) => reply.header("www-authenticate", "Bearer realm=\"certflow\""),
            // RFC 9110 §15.5.6: a 405 lists what the resource answers.
            (405, Some(allow)) => reply.header("allow", allow),
            // RFC 9110 §12.5.3: the content codings a 415 accepts (none but identity).
            (415, _) => reply.header("accept-encoding", "identity"),
            _ => reply,
        }
    }

    /// Sends the reply; for a `HEAD` request (`head`), its status and headers without the
    /// body (RFC 9110 §9.3.2: HEAD is GET without the content). No `content-length` is
    /// sent for it, which RFC 9110 §8.6 allows.
    pub async fn send(mut self, head: bool, out: ResponseOutparam) {
        if head {
            self.body = Vec::new();
        }
        let fields: Vec<(String, Vec<u8>)> = self
            .headers
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.into_bytes()))
            .collect();
        // Every name and value is the component's own; a refusal here is a bug, not input.
        let headers = Fields::from_list(&fields).unwrap_or_else(|e| {
            eprintln!("response headers refused: {e:?}");
            Fields::new()
        });
        let response = OutgoingResponse::new(headers);
        if response.set_status_code(self.status).is_err() {
            eprintln!("status {} refused", self.status);
        }
        if let Err(e) = out.set_with_body(response, self.body).await {
            eprintln!("response body not sent: {e:?}");
        }
        // The client has its answer; now the changes it made reach notify (issue 13).
        outbox::announce().await;
    }
}

/// What a component needs of a request: method, path, headers and a capped body.
pub struct Request {
    /// The method; `HEAD` is read as [`Method::Get`] (RFC 9110 §9.3.2), with [`Request::head`]
    /// set, so every GET route answers HEAD too.
    pub method: Method,
    /// Whether the request was a `HEAD`: the reply is sent without its body.
    pub head: bool,
    /// The path, without the query, each segment percent-decoded once (RFC 3986 §2.3,
    /// §6.2.2.2: `/api/certificates/CF%2D2026%2D000001` is `/api/certificates/CF-2026-000001`).
    /// A segment never holds a `/`: an encoded one (`%2F`) is a 404, not a separator.
    pub path: String,
    /// The query without its `?` (`""` when there is none), as sent: percent-decoding is the
    /// reader's (the pages read `lang` and `number` from it).
    pub query: String,
    /// Lowercase names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Request headers the app reads as one value each: sent twice, the request is ambiguous
/// (which credentials, which body type, which key?) and is refused with 400, rather than
/// reading the first (RFC 9110 §5.3: only list-valued fields may repeat).
pub const SINGLE_VALUED_HEADERS: [&str; 3] = ["authorization", "content-type", "idempotency-key"];

/// Whether `incoming` is a `HEAD` request (its reply is then sent without a body).
pub fn is_head(incoming: &IncomingRequest) -> bool {
    matches!(incoming.method(), Method::Head)
}

/// Percent-decodes each segment of `path` once (RFC 3986 §2.3, §6.2.2.2), keeping the `/`
/// separators. 400 `malformed-path` for a `%` not followed by two hex digits or a segment
/// that does not decode to UTF-8; 404 `not-found` for a segment holding an encoded `/`
/// (`%2F`), which names no resource of the app (a segment is never split in two).
pub fn decode_path(path: &str) -> Result<String, Problem> {
    let malformed = |detail: &str| {
        Problem::new(400, "malformed-path", "Malformed path").detail(detail.to_string())
    };
    let mut decoded = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            decoded.push('/');
        }
        let bytes = segment.as_bytes();
        let well_formed = bytes.iter().enumerate().all(|(at, b)| {
            *b != b'%'
                || (bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit))
        });
        if !well_formed {
            return Err(malformed(
                "a '%' in the path must be followed by two hexadecimal digits (RFC 3986 §2.1)",
            ));
        }
        let text = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| malformed("a path segment does not decode to UTF-8"))?;
        if text.contains('/') {
            return Err(Problem::new(404, "not-found", "Not found")
                .detail("an encoded '/' (%2F) in a path segment names no resource"));
        }
        decoded.push_str(&text);
    }
    Ok(decoded)
}

impl Request {
    /// The value of a header (`name` in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (`name` in lowercase), in the order sent.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Reads a request, refusing a body over `max_body` bytes without buffering it (413).
    pub async fn read(incoming: IncomingRequest, max_body: usize) -> Result<Request, Problem> {
        let path_and_query = incoming.path_with_query().unwrap_or_default();
        let path = decode_path(path_and_query.split('?').next().unwrap_or_default())?;
        let query = path_and_query
            .split_once('?')
            .map(|(_, q)| q.to_string())
            .unwrap_or_default();
        let (method, head) = match incoming.method() {
            Method::Head => (Method::Get, true),
            method => (method, false),
        };
        let headers: Vec<(String, String)> = incoming
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| {
                (
                    name.to_ascii_lowercase(),
                    String::from_utf8_lossy(&value).into_owned(),
                )
            })
            .collect();
        for name in SINGLE_VALUED_HEADERS {
            if headers.iter().filter(|(n, _)| n == name).count() > 1 {
                return Err(
                    Problem::new(400, "duplicate-header", "Header sent more than once")
                        .detail(format!("send one {name} header")),
                );
            }
        }
        let too_large = || {
            Problem::new(413, "body-too-large", "Body too large")
                .detail(format!("the body may be at most {max_body} bytes"))
        };
        let declared = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > max_body as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        if matches!(method, Method::Post | Method::Put | Method::Patch) {
            use futures::StreamExt;
            let mut stream = incoming.into_body_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| {
                    // The stream error is the host's (a resource handle, hyper's words): it
                    // goes to the log, and the client is told what it can fix.
                    eprintln!("request body not read: {e:?}");
                    Problem::new(400, "malformed-body", "The body could not be read").detail(
                        "the body ended before its declared length, or its chunked framing \
                         is broken (RFC 9112 §6, §7.1)",
                    )
                })?;
                if body.len() + chunk.len() > max_body {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Request {
            method,
            head,
            path,
            query,
            headers,
            body,
        })
    }

    /// The bearer token presented, if any (`None`: no `Authorization` header at all; `""`:
    /// a header with another scheme or no token). The scheme is matched case-insensitively
    /// (RFC 9110 §11.1, RFC 6750 §2.1: `Bearer`, `bearer`, `BEARER` are one scheme), and may
    /// be followed by one or more spaces. [`Request::read`] refuses two `Authorization`
    /// headers.
    pub fn bearer_token(&self) -> Option<&str> {
        let authorization = self.header("authorization")?.trim();
        Some(
            authorization
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .unwrap_or_default(),
        )
    }

    /// The body of a request whose fields are all optional: `{}` when it is empty (or only
    /// whitespace), else [`Request::json_body`].
    pub fn json_body_or_empty(&self) -> Result<serde_json::Value, Problem> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::json!({}));
        }
        self.json_body()
    }

    /// The body of a request that carries nothing (`POST .../issue`, the sweep): empty, or
    /// `{}`, read as strictly as any body (415, 400); a member is a 422 `unknown_field` at its
    /// pointer, a body that is not an object a 422 at the root, citing `rule`, every one at
    /// once.
    pub fn no_body(&self, what: &str, rule: &'static str) -> Result<(), Problem> {
        let body = self.json_body_or_empty()?;
        let errors: Vec<certflow_domain::FieldError> = match &body {
            serde_json::Value::Object(members) => members
                .keys()
                .map(|name| {
                    certflow_domain::FieldError::new(
                        format!("/{}", name.replace('~', "~0").replace('/', "~1")),
                        certflow_domain::ErrorCode::UnknownField,
                        "this request takes no fields",
                        rule,
                    )
                })
                .collect(),
            _ => vec![certflow_domain::FieldError::new(
                "",
                certflow_domain::ErrorCode::InvalidType,
                "expected an empty body or {}",
                rule,
            )],
        };
        if errors.is_empty() {
            Ok(())
        } else {
            Err(invalid(what, errors))
        }
    }

    /// The request's body as JSON (`application/json` only: 415 otherwise, see
    /// [`Request::body_media_type`]; 400 when malformed or a member is named twice, see
    /// [`parse_json_body`]).
    pub fn json_body(&self) -> Result<serde_json::Value, Problem> {
        if self.body_media_type()? != JSON {
            return Err(
                Problem::new(415, "unsupported-media-type", "Unsupported media type")
                    .detail(format!("send Content-Type {JSON}")),
            );
        }
        parse_json_body(&self.body)
    }

    /// The body's media type in lowercase (`""` without `Content-Type`), when the body can be
    /// read at all: UTF-8 (a `charset` other than `utf-8` is a 415) with no content coding
    /// (any `Content-Encoding` other than `identity` is a 415). Every body a component reads
    /// passes here ([`certflow_domain::media::readable_media_type`]).
    pub fn body_media_type(&self) -> Result<String, Problem> {
        let encodings: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == "content-encoding")
            .map(|(_, v)| v.as_str())
            .collect();
        certflow_domain::media::readable_media_type(self.header("content-type"), &encodings)
    }
}

/// A JSON body as a value (every JSON body any component reads comes through here, by
/// [`Request::json_body`] or intake's own decoding): 400 `malformed-body` with the line and
/// column of a syntax error, or 400 `duplicate-member` when an object names a member twice,
/// with the member's JSON pointer in `detail` and in `errors[0].field` (code `duplicate`; RFC
/// 8259 §4, RFC 7493 §2.3).
pub fn parse_json_body(body: &[u8]) -> Result<serde_json::Value, Problem> {
    certflow_domain::intake::form::parse_json(body).map_err(|e| match e.duplicate {
        Some(pointer) => Problem::new(400, "duplicate-member", "A member is given twice")
            .detail(format!(
                "{pointer} is given more than once in its object (line {}, column {}); send each member once",
                e.line, e.column
            ))
            .errors(vec![certflow_domain::FieldError::new(
                pointer,
                certflow_domain::ErrorCode::Duplicate,
                "given more than once in its object; send it once",
                "RFC 8259 §4",
            )]),
        None => Problem::new(400, "malformed-body", "The body is not valid JSON").detail(format!(
            "line {}, column {}: {}",
            e.line, e.column, e.message
        )),
    })
}

/// 401 without credentials; the same 401 for a token that is not an operator's. Returns who
/// the operator is, as histories record it (R1): `operator:<name>` for a named token,
/// `operator` for a bare one (see [`operator_identity`]).
pub fn require_operator(req: &Request) -> Result<String, Problem> {
    let unauthorized = |detail: &str| {
        Problem::new(401, "unauthorized", "Operator credentials required").detail(detail)
    };
    match req.bearer_token() {
        None => Err(unauthorized("send Authorization: Bearer <operator token>")),
        Some(token) if !token.is_empty() => operator_identity(token)
            .ok_or_else(|| unauthorized("this token is not an operator token")),
        Some(_) => Err(unauthorized("this token is not an operator token")),
    }
}

/// Whether `presented` is one of the operators' tokens.
pub fn is_operator(presented: &str) -> bool {
    operator_identity(presented).is_some()
}

/// Who presents `presented`, if it is one of the comma-separated entries of the
/// `operator_tokens` variable. An entry is a bare token (recorded as `operator`; it may not
/// contain `:`), or `<name>:<token>` with a name of 1 to 64 lowercase letters, digits, `-`,
/// `_` or `.`, so that histories name the operator (R1). An entry that is neither (e.g.
/// `Mallory X:tok`, `alice:`) is ignored and logged, never read as a bare token; a token
/// configured for two different operators names nobody (R1: a history must not name the
/// wrong person), and is logged. Every entry is compared, in constant time (digests, so
/// neither content nor length leaks).
pub fn operator_identity(presented: &str) -> Option<String> {
    let configured = spin_sdk::variables::get("operator_tokens").unwrap_or_default();
    let presented = Sha256::digest(presented.as_bytes());
    let mut identities: Vec<String> = Vec::new();
    for entry in configured
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let (identity, token) = match entry.split_once(':') {
            None => ("operator".to_string(), entry),
            Some((name, token)) if is_operator_name(name) && !token.is_empty() => {
                (format!("operator:{name}"), token)
            }
            Some(_) => {
                eprintln!(
                    "operator_tokens: an entry is neither a bare token nor <name>:<token> \
                     (name: 1-64 of a-z 0-9 - _ .); it is ignored"
                );
                continue;
            }
        };
        let matched: bool = Sha256::digest(token.as_bytes()).ct_eq(&presented).into();
        if matched && !identities.contains(&identity) {
            identities.push(identity);
        }
    }
    match identities.len() {
        0 => None,
        1 => identities.pop(),
        _ => {
            eprintln!(
                "operator_tokens: one token is configured for {}; it is refused",
                identities.join(" and ")
            );
            None
        }
    }
}

/// Whether `name` may name an operator (or an integration, [`webhook`]): 1 to 64 of
/// `a-z 0-9 - _ .`.
pub(crate) fn is_operator_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

/// Whether two strings are equal, in constant time.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// 405 naming what the resource answers (`allow`: e.g. `"GET, PUT"`), in its detail and in
/// the `allow` header (RFC 9110 §15.5.6). A resource that answers GET answers HEAD too
/// (RFC 9110 §9.3.2), so `HEAD` is added after `GET`.
pub fn method_not_allowed(allow: &str) -> Problem {
    let allow = allow.replace("GET", "GET, HEAD");
    let mut problem = Problem::new(405, "method-not-allowed", "Method not allowed")
        .detail(format!("this resource answers {allow}"));
    problem.allow = Some(allow);
    problem
}

/// 503: something the component depends on failed; the client may retry.
pub fn unavailable(detail: impl Into<String>) -> Problem {
    Problem::new(503, "unavailable", "Service unavailable").detail(detail)
}

/// The store failed (not the client): nothing was changed, so a retry is safe.
pub fn store_error(e: impl std::fmt::Debug) -> Problem {
    eprintln!("key-value error: {e:?}");
    unavailable("the store is unavailable; retry")
}

/// Opens the `default` store.
pub fn open_store() -> Result<Bucket, Problem> {
    store::open("default").map_err(store_error)
}

/// Reads a JSON value.
pub fn get_json<T: DeserializeOwned>(bucket: &Bucket, key: &str) -> Result<Option<T>, Problem> {
    match bucket.get(key).map_err(store_error)? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(store_error),
        None => Ok(None),
    }
}

/// Writes a JSON value (a plain `set`, resolved as [`outcome::set`]: a store error after the
/// write landed still counts as written).
pub fn set_json(bucket: &Bucket, key: &str, value: &impl Serialize) -> Result<(), Problem> {
    // A published record written whole is a new one (an application, a certificate): its
    // whole history is new.
    outbox::mark(bucket, key)?;
    let bytes = serde_json::to_vec(value).map_err(store_error)?;
    outcome::set(bucket, key, &bytes)
}

/// What [`update_json`] should do with the value it read.
pub enum Update<T> {
    /// Store this new value: the change appended at least one history entry (R1).
    Store(T),
    /// Nothing to change: leave the stored value as it is and answer with it.
    Keep(T),
    /// Leave the stored value as it is, and answer with this problem.
    Refuse(Problem),
}

/// How many times [`update_json`] tries before answering 503.
const UPDATE_ATTEMPTS: u32 = 16;

/// Changes an existing JSON record with compare-and-swap: `change` sees the current value and
/// says what to store. When another writer got in between, `retry` decides: `true` runs
/// `change` again on the newer value (appending), `false` answers 409 (a transition whose
/// precondition may no longer hold). `None` when the key is absent.
///
/// The store's reply is not trusted to tell whether the swap landed (issue 12, see
/// [`outcome`]): the history entries the change appends carry a fresh change id, and on
/// `CasFailed` or a store error the record is re-read and the id looked for. Found: the
/// change is stored and this returns it, whatever the store said. Not found: another writer
/// came first (retried or 409, as above); after a store error with the record unchanged, the
/// same swap is sent again ([`outcome::swap`]: the first may still land). Errors: 409
/// `conflict` (`retry` false, another writer first), 503 (the outcome could not be settled,
/// or the record kept changing for 16 attempts).
pub fn update_json<T, F>(
    bucket: &Bucket,
    key: &str,
    retry: bool,
    mut change: F,
) -> Result<Option<T>, Problem>
where
    T: Serialize + DeserializeOwned + outcome::Journaled,
    F: FnMut(T) -> Update<T>,
{
    for attempt in 0..UPDATE_ATTEMPTS {
        if attempt > 0 {
            outcome::backoff(attempt);
        }
        let cas = atomics::Cas::new(bucket, key).map_err(store_error)?;
        let Some(read) = cas.current().map_err(store_error)? else {
            return Ok(None);
        };
        let current: T = serde_json::from_slice(&read).map_err(store_error)?;
        let before = current.journal_len();
        let mut next = match change(current) {
            Update::Store(next) => next,
            Update::Keep(current) => return Ok(Some(current)),
            Update::Refuse(problem) => return Err(problem),
        };
        // Before the change can land, the outbox knows the record may have new entries.
        outbox::mark(bucket, key)?;
        let change_id = outcome::new_change_id()?;
        next.stamp(before, &change_id);
        let bytes = serde_json::to_vec(&next).map_err(store_error)?;
        // A change that appended no entry (none should) is recognised by its bytes.
        let journaled = next.journal_len() > before;
        let landed = |stored: &[u8]| {
            if journaled {
                outcome::holds_change(stored, &change_id)
            } else {
                stored == bytes.as_slice()
            }
        };
        match outcome::swap(bucket, key, cas, Some(&read), &bytes, landed)? {
            outcome::Swap::Stored => return Ok(Some(next)),
            outcome::Swap::Lost if retry => continue,
            outcome::Swap::Lost => {
                return Err(Problem::new(409, "conflict", "Changed concurrently")
                    .detail("another request changed this record first; read it and retry"));
            }
        }
    }
    Err(unavailable("the record kept changing; retry"))
}

/// Adds `delta` to the counter at `key` atomically (`wasi:keyvalue/atomics.increment`; an
/// absent key counts from 0) and returns the new value.
pub fn increment(bucket: &Bucket, key: &str, delta: i64) -> Result<i64, Problem> {
    atomics::increment(bucket, key, delta).map_err(store_error)
}

/// Reads the counter at `key` without changing it: 0 when absent. A counter is written only by
/// `increment` (never `set`), which Spin stores as 8 little-endian bytes on SQLite and as a
/// decimal string on Redis: both are read here (8 ASCII digits would be a little-endian
/// value above 3.4e18, which no counter of certflow's reaches). Reading with `get` costs no
/// write, where `increment` by 0 is one. Errors: 503 when the store fails or the value is
/// neither.
pub fn read_counter(bucket: &Bucket, key: &str) -> Result<i64, Problem> {
    let Some(bytes) = bucket.get(key).map_err(store_error)? else {
        return Ok(0);
    };
    if !bytes.is_empty()
        && bytes.iter().all(u8::is_ascii_digit)
        && let Some(value) = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
    {
        return Ok(value);
    }
    match <[u8; 8]>::try_from(bytes.as_slice()) {
        Ok(le) => Ok(i64::from_le_bytes(le)),
        Err(_) => Err(store_error(format!("{key} is not a counter"))),
    }
}

/// Every key that starts with `prefix`, in order (Spin answers in one page; a cursor from
/// another host is followed).
pub fn keys_with_prefix(bucket: &Bucket, prefix: &str) -> Result<Vec<String>, Problem> {
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = bucket.list_keys(cursor.as_deref()).map_err(store_error)?;
        keys.extend(page.keys.into_iter().filter(|k| k.starts_with(prefix)));
        match page.cursor {
            Some(next) if cursor.as_ref() != Some(&next) => cursor = Some(next),
            _ => break,
        }
    }
    keys.sort();
    Ok(keys)
}

/// SHA-256 in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `N` random bytes from the host.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Problem> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| unavailable(format!("no randomness: {e}")))?;
    Ok(bytes)
}

/// Whether `id` has the shape of an application id (128 bits in hex), so that anything else
/// is a 404 before the store is asked.
pub fn is_application_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// POSTs to another component of the app through Spin's local service chaining
/// (`http://<component>.spin.internal<path>`; the caller lists that host in its
/// `allowed_outbound_hosts`), with `body` as JSON when given. Returns the status and the
/// body, or why the call failed.
pub async fn chain_post(
    component: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, Vec<u8>), String> {
    chain(Method::Post, component, path, None, body).await
}

/// GETs `path` of another component of the app (as [`chain_post`]), with
/// `Authorization: Bearer <bearer>` when given (the site reads an application with its
/// applicant's token). Returns the status and the body, or why the call failed.
pub async fn chain_get(
    component: &str,
    path: &str,
    bearer: Option<&str>,
) -> Result<(u16, Vec<u8>), String> {
    chain(Method::Get, component, path, bearer, None).await
}

async fn chain(
    method: Method,
    component: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<(u16, Vec<u8>), String> {
    use spin_sdk::http::{IncomingResponse, OutgoingRequest, Scheme};
    let authority = format!("{component}.spin.internal");
    let headers = Fields::new();
    if let Some(token) = bearer {
        headers
            .append("authorization", format!("Bearer {token}").as_bytes())
            .map_err(|e| format!("http://{authority}{path}: header: {e:?}"))?;
    }
    let body = match body {
        Some(body) => {
            headers
                .append("content-type", JSON.as_bytes())
                .map_err(|e| format!("http://{authority}{path}: header: {e:?}"))?;
            Some(serde_json::to_vec(body).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let request = OutgoingRequest::new(headers);
    let accepted = request.set_method(&method).is_ok()
        && request.set_scheme(Some(&Scheme::Http)).is_ok()
        && request.set_authority(Some(&authority)).is_ok()
        && request.set_path_with_query(Some(path)).is_ok();
    if !accepted {
        return Err(format!("cannot address http://{authority}{path}"));
    }
    let response: IncomingResponse = spin_sdk::http::send(Chained { request, body })
        .await
        .map_err(|e| format!("http://{authority}{path}: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .await
        .map_err(|e| format!("http://{authority}{path}: body: {e:?}"))?;
    Ok((status, body))
}

/// A chained request and its buffered body: the SDK's `send` starts the request, then writes
/// the body, as wasi:http requires.
struct Chained {
    request: spin_sdk::http::OutgoingRequest,
    body: Option<Vec<u8>>,
}

impl spin_sdk::http::conversions::TryIntoOutgoingRequest for Chained {
    type Error = std::convert::Infallible;

    fn try_into_outgoing_request(
        self,
    ) -> Result<(spin_sdk::http::OutgoingRequest, Option<Vec<u8>>), Self::Error> {
        Ok((self.request, self.body))
    }
}

/// Now, from the host's clock (components read the clock; the domain never does).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
}

/// A 422 listing every error of an operator's input (`what`: e.g. "The review").
pub fn invalid(what: &str, errors: Vec<certflow_domain::FieldError>) -> Problem {
    let count = errors.len();
    Problem::new(422, "validation", &format!("{what} is not valid"))
        .detail(format!(
            "{count} field error(s); each names the field, a code and the rule"
        ))
        .errors(errors)
}

/// 404 for an application that does not exist (or an id that cannot be one).
pub fn application_not_found() -> Problem {
    Problem::new(404, "not-found", "Not found").detail("no application with this id")
}

/// The whole of a handler whose routes are synchronous: reads the request (body capped at
/// `max_body`), routes it, and sends the reply or the problem.
pub async fn serve(
    incoming: IncomingRequest,
    out: ResponseOutparam,
    max_body: usize,
    route: impl FnOnce(&Request) -> Outcome,
) {
    let head = is_head(&incoming);
    let outcome = match Request::read(incoming, max_body).await {
        Ok(req) => route(&req),
        Err(problem) => Err(problem),
    };
    outcome.unwrap_or_else(Reply::problem).send(head, out).await
}

/// How long a concurrent request with a claimed Idempotency-Key waits for the first one.
pub const REPLAY_WAIT_MS: u64 = 5_000;

/// What the first request with an Idempotency-Key left for its retries.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptReply {
    body_sha256: String,
    status: u16,
    content_type: String,
    body: String,
}

/// DESIGN's `Idempotency-Key` on a POST that creates or changes something. Without the
/// header, `create` runs. With it, the request that holds the key's [`claim`] (an `increment`,
/// never check-then-set) runs `create` and keeps its successful reply; a retry with the same
/// key and body (a JSON body compared parsed: member order and white space do not matter)
/// gets that reply again, byte for byte (`idempotent-replayed: true`); the same
/// key with another body gets 422 `idempotency_key_reused`; a retry while the first is still
/// running waits up to 5 s for it, then gets 409 `idempotency-in-progress`. A refused request
/// keeps nothing and frees the key, so a corrected retry may use it. When the first request
/// died before keeping its reply, its claim expires after `claim_expiry_seconds` (30 s) and a
/// retry runs `create` again (a step already taken then answers as a repeat of it does, e.g.
/// 409 for a transition already made). `scope` keeps keys of different resources apart.
/// The reply is stored as it is, so this is not for replies that carry a secret (intake's
/// access token has its own scheme: the token is derived again, never stored).
pub fn idempotent(req: &Request, scope: &str, create: impl FnOnce() -> Outcome) -> Outcome {
    let Some(key) = req.header("idempotency-key") else {
        return create();
    };
    check_idempotency_key(key)?;
    let bucket = open_store()?;
    let record_key = format!("idempotency:{scope}:{}", sha256_hex(key.as_bytes()));
    // The same request whatever its member order or white space (as intake compares
    // applications): a JSON body is compared in its parsed form, with keys sorted.
    let body_sha256 = match certflow_domain::intake::form::parse_json(req.body()) {
        Ok(value) => sha256_hex(value.to_string().as_bytes()),
        Err(_) => sha256_hex(req.body()),
    };
    match claim::claim::<KeptReply>(&bucket, &record_key, &body_sha256, REPLAY_WAIT_MS)? {
        claim::Claim::Done(first) => replay(first, &body_sha256),
        claim::Claim::Busy => Err(idempotency_in_progress()),
        claim::Claim::Reused => Err(idempotency_key_reused("request")),
        claim::Claim::Held { .. } => {
            let outcome = create();
            match &outcome {
                Ok(reply) if (200..300).contains(&reply.status) => {
                    let kept = KeptReply {
                        body_sha256,
                        status: reply.status,
                        content_type: reply
                            .headers
                            .iter()
                            .find(|(n, _)| *n == "content-type")
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default(),
                        body: String::from_utf8_lossy(&reply.body).into_owned(),
                    };
                    set_json(&bucket, &record_key, &kept)?;
                }
                // The change may have landed, or may still land (a write whose reply was
                // lost): keep the claim, so that a retry waits for the lease rather than
                // making the change a second time at once.
                Err(problem) if outcome::is_unconfirmed(problem) => {}
                _ => claim::release(&bucket, &record_key),
            }
            outcome
        }
    }
}

/// An Idempotency-Key is 1 to 255 printable ASCII characters (400 otherwise).
pub fn check_idempotency_key(key: &str) -> Result<(), Problem> {
    let printable = key.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if key.is_empty() || key.len() > 255 || !printable {
        return Err(
            Problem::new(400, "invalid-idempotency-key", "Invalid Idempotency-Key")
                .detail("use 1 to 255 printable ASCII characters, e.g. a random UUID"),
        );
    }
    Ok(())
}

/// 409: a request with this Idempotency-Key is still being processed (retry shortly; if it
/// died, its claim expires after `claim_expiry_seconds` and a retry completes it).
pub fn idempotency_in_progress() -> Problem {
    Problem::new(409, "idempotency-in-progress", "Request in progress")
        .detail("a request with this Idempotency-Key is still being processed; retry shortly")
}

/// 422 `idempotency_key_reused` (I7): the key was used for another `what` (another body).
pub fn idempotency_key_reused(what: &str) -> Problem {
    Problem::new(422, "validation", "The request is not valid").errors(vec![
        certflow_domain::FieldError::new(
            "",
            certflow_domain::ErrorCode::IdempotencyKeyReused,
            format!("this Idempotency-Key was used for a different {what}; use a new key"),
            "I7",
        ),
    ])
}

fn replay(first: KeptReply, body_sha256: &str) -> Outcome {
    if first.body_sha256 != body_sha256 {
        return Err(idempotency_key_reused("request"));
    }
    Ok(Reply::new(first.status, &first.content_type, first.body)
        .header("cache-control", "no-store")
        .header("idempotent-replayed", "true"))
}
