//! certflow intake (rules I1–I8): `POST /api/applications` validates an application (JSON or
//! the consultation form) and stores it; `GET /api/applications/:id` shows it to its applicant
//! or to an operator. Thin on purpose: HTTP in, `certflow_domain` for every rule, key-value out.
//!
//! Keys this component owns (see docs/STORAGE.md):
//! - `application:<id>`: the [`ApplicationRecord`] (JSON).
//! - `idempotency:<sha256(key)>:claim`: an `increment` counter; 1 means "this request won".
//! - `idempotency:<sha256(key)>`: the [`IdempotencyRecord`] of the request that won (JSON).

use base64::Engine as _;
use certflow_component::{
    Bucket, JSON, Method, Outcome, Reply, Request, check_idempotency_key, constant_time_eq,
    first_outcome, get_json, is_application_id, is_operator, method_not_allowed, open_store,
    random_bytes, set_json, sha256_hex, store_error, unavailable,
};
use certflow_domain::{ApplicationRecord, FieldError, IntakeConfig, Problem};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::wit::wasi::keyvalue::atomics;

/// Largest body accepted (the limit; a large multi-site application is ~40 KiB).
const MAX_BODY: usize = 256 * 1024;
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

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    let head = certflow_component::is_head(&incoming);
    let outcome = match Request::read(incoming, MAX_BODY).await {
        Ok(req) => match (&req.method, application_id(&req.path)) {
            (Method::Post, None) => match submit(&req) {
                Ok(created) => Ok(screen(created).await.reply()),
                Err(problem) => Err(problem),
            },
            (Method::Get, Some(id)) => read(&req, id),
            (_, None) => Err(method_not_allowed("POST")),
            (_, Some(_)) => Err(method_not_allowed("GET")),
        },
        Err(problem) => Err(problem),
    };
    let reply = outcome.unwrap_or_else(|problem| {
        let unsupported = problem.status == 415;
        let reply = Reply::problem(problem);
        if unsupported {
            reply.header("accept-post", format!("{JSON}, {FORM}"))
        } else {
            reply
        }
    });
    reply.send(head, out).await
}

/// `/api/applications` → None, `/api/applications/<id>` → Some(id).
fn application_id(path: &str) -> Option<&str> {
    let rest = path.trim_end_matches('/');
    let id = rest.strip_prefix("/api/applications")?.strip_prefix('/')?;
    (!id.is_empty()).then_some(id)
}

/// The application body as JSON, whichever encoding it came in, and the idempotency key if
/// the form carried one.
fn decode_body(req: &Request) -> Result<(Value, Option<String>), Problem> {
    let media_type = req.body_media_type()?;
    let body = req.body();
    match media_type.as_str() {
        JSON => certflow_component::parse_json_body(body).map(|value| (value, None)),
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
    serde_json::from_slice(text.as_bytes())
        .map_err(|e| unavailable(format!("the intake_config variable is invalid: {e}")))
}

/// A stored application and the 201 that acknowledges it.
struct Created {
    id: String,
    body: Value,
    /// A retry of an earlier request (I7): answered as the first time, nothing chained.
    replayed: bool,
}

impl Created {
    fn reply(self) -> Reply {
        let reply = Reply::new(201, JSON, self.body.to_string())
            .header("location", format!("/api/applications/{}", self.id));
        if self.replayed {
            reply.header("idempotent-replayed", "true")
        } else {
            reply
        }
    }
}

/// Chains the review component's screening (A1–A10) for a new application, and shows its
/// outcome in the 201. The application is stored either way: when screening cannot run, it
/// waits in `submitted` and an operator runs it again.
async fn screen(mut created: Created) -> Created {
    if created.replayed {
        return created;
    }
    let path = format!("/internal/screening/{}", created.id);
    let screened = match certflow_component::chain_post("review", &path, None).await {
        Ok((200, body)) => serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|b| b.get("status").cloned()),
        Ok((status, _)) => {
            eprintln!("screening of {} answered {status}", created.id);
            None
        }
        Err(e) => {
            eprintln!("screening of {} not reached: {e}", created.id);
            None
        }
    };
    if let Some(status) = screened {
        created.body["status"] = status;
    }
    created
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
fn submit(req: &Request) -> Result<Created, Problem> {
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

    let bucket = open_store()?;
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
    bucket: &Bucket,
    value: &Value,
    key: Option<&str>,
    body_sha256: &str,
    claim: Option<&str>,
) -> Result<Created, Problem> {
    let now = certflow_component::now();
    let accepted = certflow_domain::validate_document(value, now.date_naive(), &intake_config()?)
        .map_err(Problem::validation)?;

    let id: String = random_bytes::<16>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let token = access_token(key, &id)?;
    let record =
        ApplicationRecord::submitted(id, accepted, sha256_hex(token.as_bytes()), now, "applicant");
    // The application first: once the idempotency record exists, retries rely on it.
    set_json(bucket, &format!("application:{}", record.id), &record)?;
    if let Some(key_hash) = claim {
        let idem = IdempotencyRecord {
            body_sha256: body_sha256.to_string(),
            application_id: record.id.clone(),
        };
        set_json(bucket, &format!("idempotency:{key_hash}"), &idem)?;
    }
    // I8: the log names the application, never the contact person.
    println!("application {} submitted", record.id);
    let shown =
        serde_json::json!({ "id": record.id, "status": record.status, "flags": record.flags });
    Ok(Created {
        body: created_body(&shown, &token),
        id: record.id,
        replayed: false,
    })
}

/// A request whose Idempotency-Key was already claimed: the same body gets the first
/// response again; another body is refused (I7).
fn replay(
    bucket: &Bucket,
    key: &str,
    key_hash: &str,
    body_sha256: &str,
) -> Result<Created, Problem> {
    let record_key = format!("idempotency:{key_hash}");
    let first: IdempotencyRecord = first_outcome(bucket, &record_key)?;
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
    Ok(Created {
        body: created_body(&record, &token),
        id: id.clone(),
        replayed: true,
    })
}

fn not_found() -> Problem {
    Problem::new(404, "not-found", "Not found")
        .detail("no application with this id is visible with these credentials")
}

/// GET /api/applications/:id (R3: only the applicant and operators see it): the record as
/// stored, with every step's figures and history, less the token's hash.
fn read(req: &Request, id: &str) -> Outcome {
    let Some(token) = req.bearer_token() else {
        return Err(Problem::new(401, "unauthorized", "Credentials required")
            .detail("send Authorization: Bearer <access token>"));
    };
    let operator = !token.is_empty() && is_operator(token);
    if !is_application_id(id) {
        return Err(not_found());
    }
    let bucket = open_store()?;
    let record: Option<Value> = get_json(&bucket, &format!("application:{id}"))?;
    let Some(Value::Object(mut record)) = record else {
        return Err(not_found());
    };
    let token_sha256 = record.remove("access_token_sha256");
    let applicant = constant_time_eq(
        &sha256_hex(token.as_bytes()),
        token_sha256
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    if !(operator || applicant) {
        // Applicants cannot tell a wrong token from a missing application.
        return Err(not_found());
    }
    Ok(Reply::json(200, &Value::Object(record)))
}
