//! certflow intake (rules I1–I8): `POST /api/applications` validates an application (JSON or
//! the consultation form) and stores it; `POST /api/hooks/applications` does the same for a
//! partner system's request signed with its integration's secret (Standard Webhooks,
//! [`certflow_component::webhook`]); `GET /api/applications/:id` shows it to its applicant
//! or to an operator. Thin on purpose: HTTP in, `certflow_domain` for every rule, key-value out.
//!
//! Issue 14: a `POST /api/applications` whose `Accept` prefers `text/html` (a browser's form)
//! is answered with pages ([`html`]: the receipt, the form again on 422, an error page); every
//! problem is localized (`Content-Language`, `localized_title`, `localized_message`) when the
//! request asks for a language (`?lang=`, `Accept-Language`); otherwise the JSON is unchanged.
//!
//! Keys this component owns (see docs/STORAGE.md):
//! - `application:<id>`: the [`ApplicationRecord`] (JSON).
//! - `idempotency:<sha256(key)>:claim` and `:lease`: the key's claim
//!   ([`certflow_component::claim`]): 1 means "this request holds it"; the lease lets a retry
//!   take over from a request that died before finishing.
//! - `idempotency:<sha256(key)>`: the [`IdempotencyRecord`] of the first request (JSON).
//!   A signed request's key is `hook <integration> <webhook-id>` ([`hook_key`]): scoped per
//!   integration, and never equal to an `Idempotency-Key` (which cannot contain a space).
//! - `server-secret` (read, and created once when the `server_secret` variable is unset):
//!   [`certflow_component::secret`].

use base64::Engine as _;
use certflow_component::claim::{self, Claim};
use certflow_component::secret::ServerSecret;
use certflow_component::webhook;
use certflow_component::{
    Bucket, JSON, Method, Outcome, REPLAY_WAIT_MS, Reply, Request, check_idempotency_key,
    constant_time_eq, get_json, idempotency_in_progress, is_application_id, is_operator,
    method_not_allowed, open_store, random_bytes, set_json, sha256_hex, store_error, unavailable,
};
use certflow_domain::certificate::{Certificate, CertificateConfig};
use certflow_domain::{ApplicationRecord, FieldError, IntakeConfig, Problem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

mod html;

/// Largest body accepted (the limit; a large multi-site application is ~40 KiB).
const MAX_BODY: usize = 256 * 1024;
const FORM: &str = "application/x-www-form-urlencoded";
/// Form field that carries the idempotency key (an HTML form cannot set headers).
const FORM_IDEMPOTENCY_FIELD: &str = "idempotency_key";

/// [`ServerSecret::derive`] purpose of the applicant's access token (R3), over the id.
const TOKEN_PURPOSE: &str = "applicant access token";
/// [`ServerSecret::derive`] purpose of the id of an application sent with an Idempotency-Key
/// (I7), over the key: a retry after a crash finds the application its first request stored.
const ID_PURPOSE: &str = "application id";

/// What the first request with an Idempotency-Key left for its retries (I7).
#[derive(Serialize, Deserialize)]
struct IdempotencyRecord {
    /// SHA-256 of the canonical request body: a retry must send the same application.
    body_sha256: String,
    application_id: String,
    /// The first 201's JSON body without its `access_token` member (the token is never
    /// stored; a replay derives it again and inserts it, so the bytes are the first ones).
    first_body: String,
}

/// The route of signed submissions (spin.toml).
const HOOK_ROUTE: &str = "/api/hooks/applications";

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    let head = certflow_component::is_head(&incoming);
    let path = incoming.path_with_query().unwrap_or_default();
    if path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        == HOOK_ROUTE
    {
        return handle_hook(incoming, out, head).await;
    }
    // Issue 14: what the client prefers, read before the body (a 413 is answered in kind too).
    let first_header = |name: &str| {
        incoming
            .headers()
            .get(name)
            .first()
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let accept = first_header("accept");
    let accept_language = first_header("accept-language");
    let query_lang = path
        .split_once('?')
        .and_then(|(_, q)| certflow_pages::query_param(q, "lang"))
        .map(str::to_string);
    let form_post = matches!(incoming.method(), Method::Post) && application_id(&path).is_none();
    let (outcome, req) = match Request::read(incoming, MAX_BODY).await {
        Ok(req) => {
            let outcome = match (&req.method, application_id(&req.path)) {
                (Method::Post, None) => submit(&req).await,
                (Method::Get, Some(id)) => read(&req, id),
                (_, None) => Err(method_not_allowed("POST")),
                (_, Some(_)) => Err(method_not_allowed("GET")),
            };
            (outcome, Some(req))
        }
        Err(problem) => (Err(problem), None),
    };
    let default_language = spin_sdk::variables::get("site_default_language").ok();
    if form_post && certflow_pages::prefers_html(accept.as_deref()) {
        // The page's own language (the form's hidden field) comes before Accept-Language.
        let page_language = req.as_ref().and_then(|req| {
            certflow_domain::intake::form::fields(req.body())
                .ok()?
                .into_iter()
                .find(|(name, _)| name == certflow_pages::form::PAGE_LANGUAGE_FIELD)
                .map(|(_, value)| value)
        });
        let lang = certflow_pages::negotiate_language(
            query_lang.as_deref().or(page_language.as_deref()),
            accept_language.as_deref(),
            default_language.as_deref(),
        )
        .lang;
        return html::reply(outcome, req.as_ref(), lang)
            .send(head, out)
            .await;
    }
    let language = certflow_pages::negotiate_language(
        query_lang.as_deref(),
        accept_language.as_deref(),
        default_language.as_deref(),
    );
    let reply = outcome.unwrap_or_else(|problem| {
        let unsupported = problem.status == 415;
        // Issue 14: localized only when a language was asked for; otherwise today's bytes.
        let reply = if language.explicit {
            let body = certflow_pages::localize_problem(&problem.to_json(), language.lang);
            Reply::problem_with_body(&problem, certflow_domain::problem::CONTENT_TYPE, body)
                .header("content-language", language.lang.code())
        } else {
            Reply::problem(problem)
        };
        if unsupported {
            reply.header("accept-post", format!("{JSON}, {FORM}"))
        } else {
            reply
        }
    });
    reply.send(head, out).await
}

/// `POST /api/hooks/applications`: [`hook_submit`], or its problem (a 401 challenges the
/// sender to sign, [`webhook::problem_reply`]).
async fn handle_hook(incoming: IncomingRequest, out: ResponseOutparam, head: bool) {
    let outcome = match Request::read(incoming, MAX_BODY).await {
        Ok(req) if matches!(req.method, Method::Post) => hook_submit(&req).await,
        Ok(_) => Err(method_not_allowed("POST")),
        Err(problem) => Err(problem),
    };
    let reply = outcome.unwrap_or_else(|problem| {
        let unsupported = problem.status == 415;
        let reply = webhook::problem_reply(problem);
        if unsupported {
            reply.header("accept-post", JSON)
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
            // I7: a key sent twice is ambiguous (which one would a retry use?), as any field
            // sent twice is.
            let unreadable = |e: certflow_domain::intake::form::FormError| {
                Problem::new(400, "malformed-body", "The form cannot be read")
                    .detail(format!("field `{}`: {}", e.at, e.message))
            };
            let mut key = None;
            let mut rest = form_urlencoded::Serializer::new(String::new());
            for (name, value) in certflow_domain::intake::form::fields(body).map_err(unreadable)? {
                if name == certflow_pages::form::PAGE_LANGUAGE_FIELD {
                    // The page's language (issue 14): how to answer, not part of the
                    // application.
                    continue;
                }
                if name != FORM_IDEMPOTENCY_FIELD {
                    rest.append_pair(&name, &value);
                } else if key.replace(value).is_some() {
                    return Err(unreadable(certflow_domain::intake::form::FormError {
                        at: name,
                        message: "sent more than once".to_string(),
                    }));
                }
            }
            let value = certflow_domain::intake::form::decode(rest.finish().as_bytes())
                .map_err(unreadable)?;
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

/// The applicant's access token for application `id`, derived with `secret` (R3): `cfa_`
/// and the base64url (no padding) of 32 bytes. Only its SHA-256 is stored; it is derived
/// again, never read back, when a retry replays the first response.
fn access_token(secret: &[u8; 32]) -> String {
    format!(
        "cfa_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    )
}

/// The token of application `id`, derived with the current server secret.
fn current_token(secret: &ServerSecret, id: &str) -> String {
    access_token(&secret.derive(TOKEN_PURPOSE, &[id.as_bytes()]))
}

/// The tokens application `id` may have been given, one per server secret (current first).
fn access_tokens(secret: &ServerSecret, id: &str) -> Vec<String> {
    secret
        .derive_each(TOKEN_PURPOSE, &[id.as_bytes()])
        .iter()
        .map(access_token)
        .collect()
}

/// The token of a stored application: the one (of every secret's) whose SHA-256 it stores.
fn stored_token(secret: &ServerSecret, id: &str, record: &Value) -> Result<String, Problem> {
    let stored = record["access_token_sha256"].as_str().unwrap_or_default();
    access_tokens(secret, id)
        .into_iter()
        .find(|token| constant_time_eq(&sha256_hex(token.as_bytes()), stored))
        .ok_or_else(|| {
            Problem::new(409, "idempotency-replay-unavailable", "Cannot replay").detail(
                "the first response's access token was derived with a server secret that is no \
                 longer configured; use the token you were given",
            )
        })
}

/// 128 bits in lowercase hex, the shape of an application id.
fn hex_id(bytes: &[u8]) -> String {
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn intake_config() -> Result<IntakeConfig, Problem> {
    let text = spin_sdk::variables::get("intake_config").unwrap_or_default();
    if text.trim().is_empty() {
        return Ok(IntakeConfig::default());
    }
    serde_json::from_slice(text.as_bytes())
        .map_err(|e| unavailable(format!("the intake_config variable is invalid: {e}")))
}

/// The 201 that acknowledges a stored application: `first_body` (the body without its token,
/// as kept for retries) with `access_token` inserted, so that a replay's bytes are the first
/// reply's.
fn created(id: &str, first_body: &str, token: &str, replayed: bool) -> Outcome {
    let mut body: Value = serde_json::from_str(first_body).map_err(store_error)?;
    if let Value::Object(members) = &mut body {
        members.insert("access_token".into(), Value::String(token.to_string()));
    }
    let reply = Reply::new(201, JSON, body.to_string())
        .header("location", format!("/api/applications/{id}"))
        .header("cache-control", "no-store");
    Ok(if replayed {
        reply.header("idempotent-replayed", "true")
    } else {
        reply
    })
}

/// The 201 body without the token, from the application's id, status and flags.
fn first_body(id: &str, status: &Value, flags: &Value) -> String {
    serde_json::json!({
        "id": id,
        "status": status,
        "flags": flags,
        "links": { "self": format!("/api/applications/{id}") },
        "note": "keep access_token: it is shown once and is needed to read this application",
    })
    .to_string()
}

/// Chains the review component's screening (A1–A10) for a stored application and returns
/// the status it moved the application to. The application is kept either way: when
/// screening cannot run, it waits in `submitted` (`None` here) and an operator runs it again.
async fn screen(id: &str) -> Option<Value> {
    let path = format!("/internal/screening/{id}");
    match certflow_component::chain_post("review", &path, None).await {
        Ok((200, body)) => serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|b| b.get("status").cloned()),
        Ok((status, _)) => {
            eprintln!("screening of {id} answered {status}");
            None
        }
        Err(e) => {
            eprintln!("screening of {id} not reached: {e}");
            None
        }
    }
}

/// POST /api/applications (I1–I5, I7, R3).
async fn submit(req: &Request) -> Outcome {
    let (value, form_key) = decode_body(req)?;
    let key = match (req.header("idempotency-key"), form_key) {
        // I7: two different keys for one submission: which would a retry send?
        (Some(header), Some(field)) if header != field => {
            return Err(Problem::new(
                400,
                "ambiguous-idempotency-key",
                "Two different idempotency keys",
            )
            .detail(format!(
                "the Idempotency-Key header and the `{FORM_IDEMPOTENCY_FIELD}` field differ; \
                 send one key"
            )));
        }
        (Some(header), _) => Some(header.to_string()),
        (None, field) => field,
    };
    if let Some(key) = &key {
        check_idempotency_key(key)?;
    }
    accept(value, key, "applicant").await
}

/// The idempotency key of a signed submission: its `webhook-id`, scoped to the integration
/// that signed it (the same id from two integrations is two submissions). The spaces keep it
/// apart from every `Idempotency-Key`, which cannot contain one.
fn hook_key(verified: &webhook::Verified) -> String {
    format!("hook {} {}", verified.integration, verified.webhook_id)
}

/// POST /api/hooks/applications: a submission signed by an integration (Standard Webhooks;
/// 401 for a missing, malformed, stale or wrong signature, before the body is parsed or
/// stored; 503 when `webhook_secrets` cannot be used). Then as `POST /api/applications` with
/// a JSON body (415 for anything else, 400 when unreadable, 422 with every error), its
/// `webhook-id` as the idempotency key ([`hook_key`]; a redelivery gets the first 201 with
/// `Idempotent-Replayed: true`), and the history recording `integration:<name>` (R1). An
/// `Idempotency-Key` sent too must equal the `webhook-id` (400 otherwise: which would a
/// redelivery repeat?).
async fn hook_submit(req: &Request) -> Outcome {
    let verified = webhook::verify_request(req)?;
    let media_type = req.body_media_type()?;
    if media_type != JSON {
        return Err(
            Problem::new(415, "unsupported-media-type", "Unsupported media type")
                .detail(format!("a signed submission is {JSON}")),
        );
    }
    let value = certflow_component::parse_json_body(req.body())?;
    if req
        .header("idempotency-key")
        .is_some_and(|key| key != verified.webhook_id)
    {
        return Err(Problem::new(
            400,
            "ambiguous-idempotency-key",
            "Two different idempotency keys",
        )
        .detail(
            "the Idempotency-Key header and webhook-id differ; a signed submission's key is \
             its webhook-id: send no Idempotency-Key, or the same value",
        ));
    }
    let by = format!("integration:{}", verified.integration);
    accept(value, Some(hook_key(&verified)), &by).await
}

/// Stores the application `value` sent with `key` (checked) by `by` (R1: `applicant` or
/// `integration:<name>`), screens it and answers 201 (I1–I5, I7, R3).
async fn accept(value: Value, key: Option<String>, by: &str) -> Outcome {
    // serde_json keeps object keys sorted, so equal applications hash equally whatever
    // their encoding or key order.
    let body_sha256 = sha256_hex(value.to_string().as_bytes());
    let bucket = open_store()?;
    let secret = ServerSecret::load(&bucket)?;

    let Some(key) = key else {
        let id = hex_id(&random_bytes::<16>()?);
        let record = validated(&value, id, &secret, by)?;
        set_json(&bucket, &format!("application:{}", record.id), &record)?;
        println!("application {} submitted", record.id);
        let status = screen(&record.id)
            .await
            .unwrap_or(Value::from(record.status.name()));
        let body = first_body(&record.id, &status, &serde_json::json!(record.flags));
        let token = current_token(&secret, &record.id);
        return created(&record.id, &body, &token, false);
    };

    // I7: the first request with this key holds its claim; never check-then-set.
    let base = format!("idempotency:{}", sha256_hex(key.as_bytes()));
    match claim::claim::<IdempotencyRecord>(&bucket, &base, &body_sha256, REPLAY_WAIT_MS)? {
        Claim::Done(first) => replay(&bucket, &secret, first, &body_sha256),
        Claim::Busy => Err(idempotency_in_progress()),
        Claim::Reused => Err(key_reused()),
        Claim::Held { .. } => {
            let record = match validated(&value, String::new(), &secret, by) {
                Ok(record) => record,
                Err(problem) => {
                    // Nothing was stored: free the key so a corrected retry may use it.
                    claim::release(&bucket, &base);
                    return Err(problem);
                }
            };
            complete(&bucket, &secret, record, &key, &base, body_sha256).await
        }
    }
}

/// The validated application as a new record with id `id` (empty: set later) and its token's
/// hash (I1–I5; 422 with every error), submitted by `by` (R1).
fn validated(
    value: &Value,
    id: String,
    secret: &ServerSecret,
    by: &str,
) -> Result<ApplicationRecord<Value>, Problem> {
    let now = certflow_component::now();
    let accepted = certflow_domain::validate_document(value, now.date_naive(), &intake_config()?)
        .map_err(Problem::validation)?;
    let recertification = match accepted.application["recertification_of"].as_str() {
        Some(number) => Some(recertifying(
            &accepted.application,
            number,
            now.date_naive(),
        )?),
        None => None,
    };
    let token_sha256 = if id.is_empty() {
        String::new()
    } else {
        sha256_hex(current_token(secret, &id).as_bytes())
    };
    let mut record = ApplicationRecord::submitted(id, accepted, token_sha256, now, by);
    record.recertification = recertification;
    Ok(record)
}

/// S4, C4: a recertification application's certificate, checked against the stored one and
/// the CB's settings on `today` (`certflow_domain::cycle::check_recertification_application`):
/// 422 at `/recertification_of` when it cannot be renewed; a late application is flagged.
fn recertifying(
    application: &Value,
    number: &str,
    today: chrono::NaiveDate,
) -> Result<certflow_domain::cycle::Recertifying, Problem> {
    let legal_id = serde_json::from_value(application["organization"]["legal_id"].clone())
        .map_err(certflow_component::store_error)?;
    let bucket = open_store()?;
    let certificate: Option<Certificate> = get_json(&bucket, &format!("certificate:{number}"))?;
    let config: CertificateConfig = get_json(&bucket, "settings")?.unwrap_or_default();
    certflow_domain::cycle::check_recertification_application(
        number,
        certificate.as_ref(),
        &legal_id,
        today,
        config.jurisdiction,
        &config.certificate,
    )
    .map_err(|error| Problem::validation(vec![error]))
}

/// The work of the request that holds an Idempotency-Key's claim (I7): store the application
/// under the id derived from the key, screen it, keep the first response. A request that took
/// the claim over from one that died finds that one's application under the same id (with any
/// server secret, current first) and completes it instead: screening it if it never was, so
/// one key makes exactly one application. That application is this request's: the claim
/// refused the take-over ([`Claim::Reused`]) if the lease named another body's SHA-256 (the
/// dead holder wrote its lease before storing anything).
async fn complete(
    bucket: &Bucket,
    secret: &ServerSecret,
    mut record: ApplicationRecord<Value>,
    key: &str,
    base: &str,
    body_sha256: String,
) -> Outcome {
    let ids: Vec<String> = secret
        .derive_each(ID_PURPOSE, &[key.as_bytes()])
        .iter()
        .map(|d| hex_id(d))
        .collect();
    let mut orphan = None;
    for id in &ids {
        if let Some(stored) = get_json::<Value>(bucket, &format!("application:{id}"))? {
            orphan = Some((id.clone(), stored));
            break;
        }
    }
    let (id, token, status, flags) = match orphan {
        Some((id, stored)) => {
            let token = stored_token(secret, &id, &stored)?;
            let unscreened = stored["status"] == "submitted" && stored["screening"].is_null();
            let status = if unscreened {
                screen(&id)
                    .await
                    .unwrap_or_else(|| stored["status"].clone())
            } else {
                stored["status"].clone()
            };
            println!("application {id} completed after an interrupted submission");
            (id, token, status, stored["flags"].clone())
        }
        None => {
            let id = ids.first().cloned().unwrap_or_default();
            let token = current_token(secret, &id);
            record.id.clone_from(&id);
            record.access_token_sha256 = sha256_hex(token.as_bytes());
            // The application first: once the idempotency record exists, retries rely on it.
            set_json(bucket, &format!("application:{id}"), &record)?;
            // I8: the log names the application, never the contact person.
            println!("application {id} submitted");
            let status = screen(&id)
                .await
                .unwrap_or_else(|| Value::from(record.status.name()));
            (id, token, status, serde_json::json!(record.flags))
        }
    };
    let first = IdempotencyRecord {
        body_sha256,
        application_id: id.clone(),
        first_body: first_body(&id, &status, &flags),
    };
    set_json(bucket, base, &first)?;
    created(&id, &first.first_body, &token, false)
}

fn key_reused() -> Problem {
    Problem::validation(vec![FieldError::new(
        "",
        certflow_domain::ErrorCode::IdempotencyKeyReused,
        "this Idempotency-Key was used for a different application; use a new key",
        "I7",
    )])
}

/// A request whose Idempotency-Key's first request finished: the same body gets the first
/// response again, byte for byte, with its token derived again; another body is refused (I7).
fn replay(
    bucket: &Bucket,
    secret: &ServerSecret,
    first: IdempotencyRecord,
    body_sha256: &str,
) -> Outcome {
    if first.body_sha256 != body_sha256 {
        return Err(key_reused());
    }
    let id = &first.application_id;
    let record: Value = get_json(bucket, &format!("application:{id}"))?
        .ok_or_else(|| unavailable("the first application with this key is missing"))?;
    let token = stored_token(secret, id, &record)?;
    created(id, &first.first_body, &token, true)
}

fn not_found() -> Problem {
    Problem::new(404, "not-found", "Not found")
        .detail("no application with this id is visible with these credentials")
}

/// GET /api/applications/:id (R3: only the applicant and operators see it): the record as
/// stored, with every step's figures and history, less the token's hash.
fn read(req: &Request, id: &str) -> Outcome {
    // No credentials (no header, another scheme, or `Bearer` without a token) is a 401, as
    // on every operator route; only a token that opens nothing is the 404 below (R3).
    let token = match req.bearer_token() {
        Some(token) if !token.is_empty() => token,
        _ => {
            return Err(Problem::new(401, "unauthorized", "Credentials required")
                .detail("send Authorization: Bearer <access token>"));
        }
    };
    let operator = is_operator(token);
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
    let retain_until = retain_until(&bucket, &record)?;
    record.insert("retain_until".into(), serde_json::json!(retain_until));
    Ok(Reply::json(200, &Value::Object(record)))
}

/// R2: until when the application is kept (`certflow_domain::cycle::retention`): by its
/// certificate's expiry, or the day it closed uncertified, plus one full cycle; `None` (null)
/// while it is open.
fn retain_until(
    bucket: &certflow_component::Bucket,
    record: &serde_json::Map<String, Value>,
) -> Result<Option<chrono::NaiveDate>, Problem> {
    // The stored record without its token hash (removed before this is called).
    let mut full = record.clone();
    full.insert("access_token_sha256".into(), Value::String(String::new()));
    let closed = serde_json::from_value::<ApplicationRecord<Value>>(Value::Object(full))
        .ok()
        .and_then(|r| r.closed_on());
    let expires = match record.get("certificate").and_then(Value::as_str) {
        Some(number) => get_json::<Value>(bucket, &format!("certificate:{number}"))?
            .and_then(|c| c["expires_on"].as_str().and_then(|d| d.parse().ok())),
        None => None,
    };
    Ok(certflow_domain::cycle::retention::application_retain_until(
        expires, closed,
    ))
}
