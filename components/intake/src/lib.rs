//! certflow intake (rules I1–I8): `POST /api/applications` validates an application (JSON or
//! the consultation form) and stores it; `GET /api/applications/:id` shows it to its applicant
//! or to an operator. Thin on purpose: HTTP in, `certflow_domain` for every rule, key-value out.
//!
//! Keys this component owns (see docs/STORAGE.md):
//! - `application:<id>`: the [`ApplicationRecord`] (JSON).
//! - `idempotency:<sha256(key)>:claim`: an `increment` counter; 1 means "this request won".
//! - `idempotency:<sha256(key)>`: the [`IdempotencyRecord`] of the request that won (JSON).

use base64::Engine as _;
use certflow_domain::{ApplicationRecord, FieldError, IntakeConfig, Problem};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;
use spin_sdk::wit::wasi::keyvalue::{atomics, store as wasi_kv};
use subtle::ConstantTimeEq;

/// Largest body accepted (the limit; a large multi-site application is ~40 KiB).
const MAX_BODY: usize = 256 * 1024;
/// How long a concurrent duplicate waits for the first request's outcome.
const REPLAY_WAIT_MS: u64 = 5_000;
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
/// Form field that carries the idempotency key (an HTML form cannot set headers).
const FORM_IDEMPOTENCY_FIELD: &str = "idempotency_key";

/// What the first request with an Idempotency-Key left for its retries (I7).
#[derive(Serialize, Deserialize)]
struct IdempotencyRecord {
    /// SHA-256 of the canonical request body: a retry must send the same application.
    body_sha256: String,
    application_id: String,
}

type Outcome = Result<Response, Problem>;

/// What intake needs of a request, read with the body capped at [`MAX_BODY`].
struct Request {
    /// Lowercase names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn body(&self) -> &[u8] {
        &self.body
    }

    /// Reads the request, refusing a body over [`MAX_BODY`] without buffering it (413).
    async fn read(incoming: IncomingRequest, with_body: bool) -> Result<Request, Problem> {
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
        let too_large = || {
            Problem::new(413, "body-too-large", "Body too large")
                .detail(format!("an application may be at most {MAX_BODY} bytes"))
        };
        let declared = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > MAX_BODY as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        if with_body {
            use futures::StreamExt;
            let mut stream = incoming.into_body_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| {
                    Problem::new(400, "malformed-body", "The body could not be read")
                        .detail(format!("{e:?}"))
                })?;
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Request { headers, body })
    }
}

#[http_component]
async fn handle(incoming: IncomingRequest) -> Response {
    let path_and_query = incoming.path_with_query().unwrap_or_default();
    let path = path_and_query
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let method = incoming.method();
    let outcome = match (method, application_id(&path)) {
        (Method::Post, None) => match Request::read(incoming, true).await {
            Ok(req) => submit(&req),
            Err(problem) => Err(problem),
        },
        (Method::Get, Some(id)) => match Request::read(incoming, false).await {
            Ok(req) => read(&req, id),
            Err(problem) => Err(problem),
        },
        (_, None) => Err(method_not_allowed("POST")),
        (_, Some(_)) => Err(method_not_allowed("GET")),
    };
    outcome.unwrap_or_else(problem_response)
}

/// `/api/applications` → None, `/api/applications/<id>` → Some(id).
fn application_id(path: &str) -> Option<&str> {
    let rest = path.trim_end_matches('/');
    let id = rest.strip_prefix("/api/applications")?.strip_prefix('/')?;
    (!id.is_empty()).then_some(id)
}

fn problem_response(problem: Problem) -> Response {
    let mut builder = Response::builder();
    builder
        .status(problem.status)
        .header("content-type", certflow_domain::problem::CONTENT_TYPE);
    match problem.status {
        401 => {
            builder.header("www-authenticate", "Bearer realm=\"certflow\"");
        }
        415 => {
            builder.header("accept-post", format!("{JSON}, {FORM}"));
        }
        _ => {}
    }
    builder.body(problem.to_json()).build()
}

fn method_not_allowed(allow: &str) -> Problem {
    Problem::new(405, "method-not-allowed", "Method not allowed")
        .detail(format!("this resource answers {allow}"))
}

fn unavailable(detail: impl Into<String>) -> Problem {
    Problem::new(503, "unavailable", "Service unavailable").detail(detail)
}

fn store_error(e: impl std::fmt::Debug) -> Problem {
    // The store failed (not the client): nothing was acknowledged, so a retry is safe.
    eprintln!("key-value error: {e:?}");
    unavailable("the application store is unavailable; retry with the same Idempotency-Key")
}

fn get_json<T: serde::de::DeserializeOwned>(
    bucket: &wasi_kv::Bucket,
    key: &str,
) -> Result<Option<T>, Problem> {
    match bucket.get(key).map_err(store_error)? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(store_error),
        None => Ok(None),
    }
}

fn set_json(bucket: &wasi_kv::Bucket, key: &str, value: &impl Serialize) -> Result<(), Problem> {
    let bytes = serde_json::to_vec(value).map_err(store_error)?;
    bucket.set(key, &bytes).map_err(store_error)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], Problem> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| unavailable(format!("no randomness: {e}")))?;
    Ok(bytes)
}

/// The application body as JSON, whichever encoding it came in, and the idempotency key if
/// the form carried one.
fn decode_body(req: &Request) -> Result<(Value, Option<String>), Problem> {
    let media_type = req
        .header("content-type")
        .and_then(|ct| ct.split(';').next())
        .map(|mt| mt.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let body = req.body();
    match media_type.as_str() {
        JSON => certflow_domain::form::parse_json(body)
            .map(|value| (value, None))
            .map_err(|e| {
                Problem::new(400, "malformed-body", "The body is not valid JSON").detail(format!(
                    "line {}, column {}: {}",
                    e.line, e.column, e.message
                ))
            }),
        FORM => {
            // The key travels as a hidden form field; it is not part of the application.
            let mut key = None;
            let mut rest = form_urlencoded::Serializer::new(String::new());
            for (name, value) in form_urlencoded::parse(body) {
                if name == FORM_IDEMPOTENCY_FIELD {
                    key = Some(value.into_owned());
                } else {
                    rest.append_pair(&name, &value);
                }
            }
            let value = certflow_domain::form::decode(rest.finish().as_bytes()).map_err(|e| {
                Problem::new(400, "malformed-body", "The form cannot be read")
                    .detail(format!("field `{}`: {}", e.at, e.message))
            })?;
            Ok((value, key))
        }
        "" => Err(
            Problem::new(415, "unsupported-media-type", "Unsupported media type")
                .detail(format!("send Content-Type {JSON} or {FORM}")),
        ),
        other => Err(
            Problem::new(415, "unsupported-media-type", "Unsupported media type")
                .detail(format!("`{other}` is not accepted; send {JSON} or {FORM}")),
        ),
    }
}

fn check_idempotency_key(key: &str) -> Result<(), Problem> {
    let printable = key.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if key.is_empty() || key.len() > 255 || !printable {
        return Err(
            Problem::new(400, "invalid-idempotency-key", "Invalid Idempotency-Key")
                .detail("use 1 to 255 printable ASCII characters, e.g. a random UUID"),
        );
    }
    Ok(())
}

/// The applicant's access token. With an Idempotency-Key it is derived from the key, so a
/// retry that lost the first response gets the same token back without the token ever being
/// stored; otherwise it is random. Only its SHA-256 is stored.
fn access_token(idempotency_key: Option<&str>, application_id: &str) -> Result<String, Problem> {
    let secret = match idempotency_key {
        Some(key) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
                .map_err(|e| unavailable(format!("token derivation: {e}")))?;
            mac.update(b"certflow applicant access token\0");
            mac.update(application_id.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        None => random_bytes::<32>()?.to_vec(),
    };
    Ok(format!(
        "cfa_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    ))
}

fn intake_config() -> Result<IntakeConfig, Problem> {
    let text = spin_sdk::variables::get("intake_config").unwrap_or_default();
    if text.trim().is_empty() {
        return Ok(IntakeConfig::default());
    }
    serde_json::from_str(&text)
        .map_err(|e| unavailable(format!("the intake_config variable is invalid: {e}")))
}

fn created(record_id: &str, body: Value, replayed: bool) -> Response {
    let mut builder = Response::builder();
    builder
        .status(201)
        .header("content-type", JSON)
        .header("location", format!("/api/applications/{record_id}"));
    if replayed {
        builder.header("idempotent-replayed", "true");
    }
    builder.body(body.to_string()).build()
}

/// The 201 body, from the stored record (read back as plain JSON: intake shows records, it
/// never interprets them, so it carries no code to deserialise them).
fn created_body(record: &Value, token: &str) -> Value {
    let id = record["id"].as_str().unwrap_or_default();
    serde_json::json!({
        "id": id,
        "status": record["status"],
        "flags": record["flags"],
        "access_token": token,
        "links": { "self": format!("/api/applications/{id}") },
        "note": "keep access_token: it is shown once and is needed to read this application",
    })
}

/// POST /api/applications (I1–I5, I7).
fn submit(req: &Request) -> Outcome {
    let (value, form_key) = decode_body(req)?;
    let key = req
        .header("idempotency-key")
        .map(str::to_string)
        .or(form_key);
    if let Some(key) = &key {
        check_idempotency_key(key)?;
    }
    // serde_json keeps object keys sorted, so equal applications hash equally whatever
    // their encoding or key order.
    let body_sha256 = sha256_hex(value.to_string().as_bytes());

    let bucket = wasi_kv::open("default").map_err(store_error)?;
    let claim = match &key {
        Some(key) => {
            let key_hash = sha256_hex(key.as_bytes());
            // I7: the first request with this key wins the claim; never check-then-set.
            let won = atomics::increment(&bucket, &format!("idempotency:{key_hash}:claim"), 1)
                .map_err(store_error)?
                == 1;
            if !won {
                return replay(&bucket, key, &key_hash, &body_sha256);
            }
            Some(key_hash)
        }
        None => None,
    };

    let outcome = accept(
        &bucket,
        &value,
        key.as_deref(),
        &body_sha256,
        claim.as_deref(),
    );
    if let (Err(_), Some(key_hash)) = (&outcome, &claim) {
        // Nothing was stored: free the key so a corrected retry may use it.
        let _ = bucket.delete(&format!("idempotency:{key_hash}:claim"));
    }
    outcome
}

fn accept(
    bucket: &wasi_kv::Bucket,
    value: &Value,
    key: Option<&str>,
    body_sha256: &str,
    claim: Option<&str>,
) -> Outcome {
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    let accepted = certflow_domain::validate_document(value, now.date_naive(), &intake_config()?)
        .map_err(Problem::validation)?;

    let id: String = random_bytes::<16>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let token = access_token(key, &id)?;
    let record =
        ApplicationRecord::submitted(id, accepted, sha256_hex(token.as_bytes()), now, "applicant");
    let stored = serde_json::to_value(&record).map_err(store_error)?;
    // The application first: once the idempotency record exists, retries rely on it.
    set_json(bucket, &format!("application:{}", record.id), &stored)?;
    if let Some(key_hash) = claim {
        let idem = IdempotencyRecord {
            body_sha256: body_sha256.to_string(),
            application_id: record.id.clone(),
        };
        set_json(bucket, &format!("idempotency:{key_hash}"), &idem)?;
    }
    // I8: the log names the application, never the contact person.
    println!("application {} submitted", record.id);
    Ok(created(&record.id, created_body(&stored, &token), false))
}

/// A request whose Idempotency-Key was already claimed: the same body gets the first
/// response again; another body is refused (I7).
fn replay(bucket: &wasi_kv::Bucket, key: &str, key_hash: &str, body_sha256: &str) -> Outcome {
    let record_key = format!("idempotency:{key_hash}");
    let mut waited = 0;
    let first: IdempotencyRecord = loop {
        if let Some(first) = get_json(bucket, &record_key)? {
            break first;
        }
        if waited >= REPLAY_WAIT_MS {
            return Err(
                Problem::new(409, "idempotency-in-progress", "Request in progress").detail(
                    "a request with this Idempotency-Key is still being processed; retry shortly",
                ),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        waited += 10;
    };
    if first.body_sha256 != body_sha256 {
        return Err(Problem::validation(vec![FieldError::new(
            "",
            certflow_domain::ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different application; use a new key",
            "I7",
        )]));
    }
    let id = &first.application_id;
    let record: Value = get_json(bucket, &format!("application:{id}"))?
        .ok_or_else(|| unavailable("the first application with this key is missing"))?;
    let token = access_token(Some(key), id)?;
    Ok(created(id, created_body(&record, &token), true))
}

/// Whether `presented` equals one of the comma-separated operator tokens, in constant time
/// (comparing digests, so neither content nor length leaks).
fn is_operator(presented: &str) -> bool {
    let configured = spin_sdk::variables::get("operator_tokens").unwrap_or_default();
    let presented = Sha256::digest(presented.as_bytes());
    let mut matched = subtle::Choice::from(0);
    for token in configured
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        matched |= Sha256::digest(token.as_bytes()).ct_eq(&presented);
    }
    matched.into()
}

fn not_found() -> Problem {
    Problem::new(404, "not-found", "Not found")
        .detail("no application with this id is visible with these credentials")
}

/// GET /api/applications/:id (R3: only the applicant and operators see it).
fn read(req: &Request, id: &str) -> Outcome {
    let Some(authorization) = req.header("authorization") else {
        return Err(Problem::new(401, "unauthorized", "Credentials required")
            .detail("send Authorization: Bearer <access token>"));
    };
    let token = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let operator = !token.is_empty() && is_operator(token);
    let valid_id = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid_id {
        return Err(not_found());
    }
    let bucket = wasi_kv::open("default").map_err(store_error)?;
    let record: Option<Value> = get_json(&bucket, &format!("application:{id}"))?;
    let Some(record) = record else {
        return Err(not_found());
    };
    let token_sha256 = record["access_token_sha256"].as_str().unwrap_or_default();
    let applicant = bool::from(
        sha256_hex(token.as_bytes())
            .as_bytes()
            .ct_eq(token_sha256.as_bytes()),
    );
    if !(operator || applicant) {
        // Applicants cannot tell a wrong token from a missing application.
        return Err(not_found());
    }
    let body = serde_json::json!({
        "id": record["id"],
        "status": record["status"],
        "flags": record["flags"],
        "application": record["application"],
        "history": record["history"],
    });
    Ok(Response::builder()
        .status(200)
        .header("content-type", JSON)
        .header("cache-control", "no-store")
        .body(body.to_string())
        .build())
}
