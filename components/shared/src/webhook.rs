//! The Standard Webhooks scheme (<https://www.standardwebhooks.com>, as DESIGN names it) on
//! both sides: [`verify`] checks a signed request that an integration sends to certflow
//! (intake's `POST /api/hooks/applications`), [`sign`] signs what certflow sends (notify).
//! The HMAC is the `standardwebhooks` crate's ([`Webhook::sign`]); certflow checks the
//! timestamp against its own tolerance and compares signatures in constant time.
//!
//! A signed request carries three headers:
//! - `webhook-id`: the message id, the same on every redelivery (1 to 255 printable ASCII
//!   characters here, as an `Idempotency-Key`);
//! - `webhook-timestamp`: when it was signed, in whole seconds since the Unix epoch;
//! - `webhook-signature`: space-separated `<version>,<base64>` entries, at least one `v1`:
//!   `v1,<base64 of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`. Several
//!   entries let a sender sign with an old and a new secret while a rotation is under way.
//!   Entries of other versions (e.g. `v1a`) are ignored, as the scheme says.
//!
//! A secret is `whsec_` and the standard base64 (with padding) of the key.
//!
//! Errors (RFC 9457 problems, each its own `type` under `https://certflow.dev/problems/`):
//! - 401 `webhook-headers-missing`: a header is absent or empty (the detail names each one);
//! - 401 `webhook-malformed`: a header sent twice, a `webhook-id` that is not 1 to 255
//!   printable ASCII characters, a timestamp that is not whole seconds, a signature list
//!   that is not `<version>,<base64>` entries with a 32-byte `v1`, or a body that is not
//!   UTF-8 (the detail says each);
//! - 401 `webhook-timestamp-outside-tolerance`: the timestamp is more than the tolerance
//!   (`webhook_tolerance_seconds`, 300 s) before or after the host's clock;
//! - 401 `webhook-signature-invalid`: no `v1` signature is the HMAC of the request with a
//!   configured secret (or signatures of two integrations: whose request is it?);
//! - 503 `unavailable`: the `webhook_secrets` or `webhook_tolerance_seconds` variable cannot
//!   be read (the detail names the entry, never a secret).

use crate::{Reply, Request, is_operator_name, unavailable};
use base64::Engine as _;
use certflow_domain::Problem;
use standardwebhooks::Webhook;
use subtle::ConstantTimeEq;

/// The message id header.
pub const HEADER_ID: &str = "webhook-id";
/// The signing time header (seconds since the Unix epoch).
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The signatures header (`v1,<base64> v1,<base64>`).
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The default of `webhook_tolerance_seconds`: five minutes, as the scheme recommends.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;
/// The largest tolerance the variable may set (one day).
const MAX_TOLERANCE_SECONDS: i64 = 86_400;
/// The shortest key a configured integration secret may have, in bytes (the scheme's
/// recommended floor, 192 bits).
pub const MIN_SECRET_BYTES: usize = 24;
/// The prefix of a secret.
const PREFIX: &str = "whsec_";
/// The length of an HMAC-SHA256.
const MAC_LEN: usize = 32;

/// One configured secret of one integration.
pub struct IntegrationSecret {
    /// The integration's name: 1 to 64 of `a-z 0-9 - _ .`.
    pub integration: String,
    key: Webhook,
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The integration whose secret signed it (histories record `integration:<name>`, R1).
    pub integration: String,
    /// Its `webhook-id`.
    pub webhook_id: String,
    /// Its `webhook-timestamp`, in seconds since the Unix epoch.
    pub timestamp: i64,
}

/// The three headers as a request sent them: every value of each (a header sent twice is
/// malformed).
#[derive(Debug, Default, Clone)]
pub struct SignedHeaders<'a> {
    /// `webhook-id`.
    pub id: Vec<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Vec<&'a str>,
    /// `webhook-signature`.
    pub signature: Vec<&'a str>,
}

impl<'a> SignedHeaders<'a> {
    /// The headers of `req`.
    pub fn of(req: &'a Request) -> SignedHeaders<'a> {
        SignedHeaders {
            id: req.header_values(HEADER_ID).collect(),
            timestamp: req.header_values(HEADER_TIMESTAMP).collect(),
            signature: req.header_values(HEADER_SIGNATURE).collect(),
        }
    }
}

/// 503 for a configuration that cannot be used.
fn misconfigured(detail: String) -> Problem {
    unavailable(detail)
}

/// The integrations' secrets from `text`, the value of the `webhook_secrets` variable:
/// comma-separated `<integration>:whsec_<base64>` entries (blank entries ignored), several per
/// integration while a secret is rotated. An entry that does not parse, a key shorter than
/// [`MIN_SECRET_BYTES`], or one key configured for two integrations (a request it signs would
/// name either, R1) is a configuration error: 503, naming the entry by position and
/// integration, never the secret. Empty: no integration may send.
pub fn parse_integration_secrets(text: &str) -> Result<Vec<IntegrationSecret>, Problem> {
    let mut parsed: Vec<(String, Vec<u8>)> = Vec::new();
    let entries = text.split(',').map(str::trim).filter(|e| !e.is_empty());
    for (index, entry) in entries.enumerate() {
        let position = index + 1;
        let shape = "<integration>:whsec_<base64>";
        let Some((name, secret)) = entry.split_once(':') else {
            return Err(misconfigured(format!(
                "webhook_secrets: entry {position} is not {shape}"
            )));
        };
        if !is_operator_name(name) {
            return Err(misconfigured(format!(
                "webhook_secrets: entry {position}: the integration name must be 1 to 64 of \
                 a-z 0-9 - _ . ({shape})"
            )));
        }
        let Some(encoded) = secret.strip_prefix(PREFIX) else {
            return Err(misconfigured(format!(
                "webhook_secrets: entry {position} (integration {name}): the secret does not \
                 start with {PREFIX}"
            )));
        };
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| {
                misconfigured(format!(
                    "webhook_secrets: entry {position} (integration {name}): the secret after \
                     {PREFIX} is not standard base64 with padding"
                ))
            })?;
        if key.len() < MIN_SECRET_BYTES {
            return Err(misconfigured(format!(
                "webhook_secrets: entry {position} (integration {name}): the secret has {} \
                 bytes; at least {MIN_SECRET_BYTES} are needed",
                key.len()
            )));
        }
        if let Some((other, _)) = parsed.iter().find(|(n, k)| n != name && *k == key) {
            return Err(misconfigured(format!(
                "webhook_secrets: entry {position}: one secret is configured for integrations \
                 {other} and {name}; give each integration its own"
            )));
        }
        parsed.push((name.to_string(), key));
    }
    parsed
        .into_iter()
        .map(|(integration, key)| {
            let key = Webhook::from_bytes(key)
                .map_err(|e| misconfigured(format!("webhook_secrets: {e}")))?;
            Ok(IntegrationSecret { integration, key })
        })
        .collect()
}

/// The secrets of the `webhook_secrets` variable ([`parse_integration_secrets`]).
pub fn integration_secrets() -> Result<Vec<IntegrationSecret>, Problem> {
    let text = spin_sdk::variables::get("webhook_secrets").unwrap_or_default();
    parse_integration_secrets(&text)
}

/// `text` as a tolerance in seconds: empty is [`DEFAULT_TOLERANCE_SECONDS`]; otherwise a
/// whole number from 1 to 86400 (503 for anything else).
pub fn parse_tolerance(text: &str) -> Result<i64, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_TOLERANCE_SECONDS);
    }
    match text.parse::<i64>() {
        Ok(s) if (1..=MAX_TOLERANCE_SECONDS).contains(&s) => Ok(s),
        _ => Err(misconfigured(format!(
            "the webhook_tolerance_seconds variable must be a whole number of seconds from 1 \
             to {MAX_TOLERANCE_SECONDS}, not `{text}`"
        ))),
    }
}

/// The `webhook_tolerance_seconds` variable ([`parse_tolerance`]).
pub fn tolerance_seconds() -> Result<i64, Problem> {
    parse_tolerance(&spin_sdk::variables::get("webhook_tolerance_seconds").unwrap_or_default())
}

fn missing(names: &[&str]) -> Problem {
    Problem::new(401, "webhook-headers-missing", "Webhook headers missing").detail(format!(
        "missing or empty: {}; a signed request carries {HEADER_ID}, {HEADER_TIMESTAMP} and \
         {HEADER_SIGNATURE} (Standard Webhooks)",
        names.join(", ")
    ))
}

fn malformed(reasons: &[String]) -> Problem {
    Problem::new(401, "webhook-malformed", "Webhook signature malformed").detail(reasons.join("; "))
}

fn outside_tolerance(detail: String) -> Problem {
    Problem::new(
        401,
        "webhook-timestamp-outside-tolerance",
        "Webhook timestamp outside tolerance",
    )
    .detail(detail)
}

fn invalid(detail: &str) -> Problem {
    Problem::new(
        401,
        "webhook-signature-invalid",
        "Webhook signature invalid",
    )
    .detail(detail)
}

/// The `v1` MACs of a `webhook-signature` value, or why it is malformed: space-separated
/// `<version>,<base64>` entries; a `v1` one must decode to 32 bytes; at least one `v1`.
fn v1_signatures(value: &str) -> Result<Vec<[u8; MAC_LEN]>, String> {
    let mut macs = Vec::new();
    for entry in value.split(' ').filter(|e| !e.is_empty()) {
        let Some((version, signature)) = entry.split_once(',') else {
            return Err(format!(
                "{HEADER_SIGNATURE}: an entry is not <version>,<base64>"
            ));
        };
        if version.is_empty() || signature.is_empty() {
            return Err(format!(
                "{HEADER_SIGNATURE}: an entry has an empty version or signature"
            ));
        }
        if version != "v1" {
            continue;
        }
        let mac = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .ok()
            .and_then(|bytes| <[u8; MAC_LEN]>::try_from(bytes).ok())
            .ok_or_else(|| {
                format!("{HEADER_SIGNATURE}: a v1 signature is not the standard base64 of 32 bytes")
            })?;
        macs.push(mac);
    }
    if macs.is_empty() {
        return Err(format!("{HEADER_SIGNATURE}: no v1 signature"));
    }
    Ok(macs)
}

/// Whether `timestamp` is whole seconds: 1 to 12 ASCII digits (no sign, no fraction).
fn parse_timestamp(value: &str) -> Option<i64> {
    let digits = (1..=12).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| value.parse().ok()).flatten()
}

/// Checks a signed request: `headers` as sent, the raw `body`, the host's clock `now` and
/// `tolerance` (both in seconds). Checks, in order, each answering 401 with its own type
/// (module docs): the headers are present; well-formed, with a UTF-8 body (every reason at
/// once); the timestamp within `tolerance` of `now`; a `v1` signature made with a secret of
/// `secrets` (compared in constant time, every secret against every signature). Returns the
/// integration whose secret signed it.
pub fn verify(
    secrets: &[IntegrationSecret],
    headers: &SignedHeaders<'_>,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<Verified, Problem> {
    let named = [
        (HEADER_ID, &headers.id),
        (HEADER_TIMESTAMP, &headers.timestamp),
        (HEADER_SIGNATURE, &headers.signature),
    ];
    let absent: Vec<&str> = named
        .iter()
        .filter(|(_, values)| values.iter().all(|v| v.trim().is_empty()))
        .map(|(name, _)| *name)
        .collect();
    if !absent.is_empty() {
        return Err(missing(&absent));
    }
    let mut reasons = Vec::new();
    for (name, values) in named {
        if values.len() > 1 {
            reasons.push(format!("{name} is sent more than once; send it once"));
        }
    }
    fn first<'v>(values: &[&'v str]) -> &'v str {
        values.first().map(|v| v.trim()).unwrap_or_default()
    }
    let id = first(&headers.id);
    if id.len() > 255 || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        reasons.push(format!(
            "{HEADER_ID} must be 1 to 255 printable ASCII characters without spaces"
        ));
    }
    let timestamp = parse_timestamp(first(&headers.timestamp));
    if timestamp.is_none() {
        reasons.push(format!(
            "{HEADER_TIMESTAMP} must be whole seconds since the Unix epoch (digits only)"
        ));
    }
    let macs = v1_signatures(first(&headers.signature)).unwrap_or_else(|reason| {
        reasons.push(reason);
        Vec::new()
    });
    if std::str::from_utf8(body).is_err() {
        reasons.push("the body is not UTF-8 (the signed content is text)".to_string());
    }
    let (Some(timestamp), true) = (timestamp, reasons.is_empty()) else {
        return Err(malformed(&reasons));
    };
    let age = now.saturating_sub(timestamp);
    if age > tolerance {
        return Err(outside_tolerance(format!(
            "{HEADER_TIMESTAMP} is {age} s old; at most {tolerance} s is accepted (sign each \
             delivery when it is sent, and keep the sender's clock right)"
        )));
    }
    if -age > tolerance {
        return Err(outside_tolerance(format!(
            "{HEADER_TIMESTAMP} is {} s in the future; at most {tolerance} s is accepted (check \
             the sender's clock)",
            -age
        )));
    }
    // Every secret against every signature, so the time taken does not say which matched.
    let mut matched: Vec<&str> = Vec::new();
    for secret in secrets {
        let expected = expected_mac(&secret.key, id, timestamp, body)?;
        let mut hit = subtle::Choice::from(0);
        for mac in &macs {
            hit |= expected.ct_eq(mac);
        }
        if bool::from(hit) && !matched.contains(&secret.integration.as_str()) {
            matched.push(&secret.integration);
        }
    }
    match matched.as_slice() {
        [integration] => Ok(Verified {
            integration: integration.to_string(),
            webhook_id: id.to_string(),
            timestamp,
        }),
        [] if secrets.is_empty() => Err(invalid(
            "no integration is configured to send signed requests (webhook_secrets is empty)",
        )),
        [] => Err(invalid(
            "no v1 signature is the HMAC-SHA256 of \
             `<webhook-id>.<webhook-timestamp>.<body>` with a configured integration's secret",
        )),
        _ => Err(invalid(
            "the request is signed with the secrets of more than one integration; sign with \
             your own",
        )),
    }
}

/// The MAC `key` makes of the signed content, by the crate's [`Webhook::sign`].
fn expected_mac(
    key: &Webhook,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<[u8; MAC_LEN], Problem> {
    let signed = key
        .sign(id, timestamp, body)
        .map_err(|e| malformed(&[format!("cannot sign: {e}")]))?;
    signed
        .split_once(',')
        .and_then(|(_, b64)| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|bytes| <[u8; MAC_LEN]>::try_from(bytes).ok())
        .ok_or_else(|| unavailable("the signature scheme returned an unexpected value"))
}

/// [`verify`] for a request, with the configured secrets and tolerance and the host's clock.
pub fn verify_request(req: &Request) -> Result<Verified, Problem> {
    let secrets = integration_secrets()?;
    let tolerance = tolerance_seconds()?;
    verify(
        &secrets,
        &SignedHeaders::of(req),
        req.body(),
        crate::now().timestamp(),
        tolerance,
    )
}

/// The `webhook-signature` value for a message: one `v1,<base64>` per secret, in the order
/// given, space-separated (`v1,<a> v1,<b>` while a rotated secret still signs). Each secret is
/// `whsec_<base64>`. Errors: 503 when there is no secret or one does not decode (a stored
/// secret that cannot be used), 400 `malformed-body` when `body` is not UTF-8.
pub fn sign(
    secrets: &[String],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, Problem> {
    if secrets.is_empty() {
        return Err(unavailable("there is no secret to sign with"));
    }
    let mut signatures = Vec::with_capacity(secrets.len());
    for (index, secret) in secrets.iter().enumerate() {
        let encoded = secret.strip_prefix(PREFIX).ok_or_else(|| {
            unavailable(format!(
                "signing secret {} does not start with {PREFIX}",
                index + 1
            ))
        })?;
        let key = Webhook::new(encoded).map_err(|_| {
            unavailable(format!(
                "signing secret {} is not standard base64 after {PREFIX}",
                index + 1
            ))
        })?;
        let signature = key.sign(msg_id, timestamp, body).map_err(|_| {
            Problem::new(400, "malformed-body", "The body is not UTF-8")
                .detail("a signed body must be UTF-8 text")
        })?;
        signatures.push(signature);
    }
    Ok(signatures.join(" "))
}

/// The reply to a problem on a signed route: a 401 challenges the sender to sign (RFC 9110
/// §11.6.1 requires a `WWW-Authenticate`; the scheme is named `StandardWebhooks`), not to
/// present a bearer token; anything else is [`Reply::problem`].
pub fn problem_reply(problem: Problem) -> Reply {
    if problem.status != 401 {
        return Reply::problem(problem);
    }
    Reply::new(
        401,
        certflow_domain::problem::CONTENT_TYPE,
        problem.to_json(),
    )
    .header("www-authenticate", "StandardWebhooks realm=\"certflow\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the crate's own tests (and the scheme's reference implementations).
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const OTHER: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const AT: i64 = 1_649_367_553;

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> SignedHeaders<'a> {
        SignedHeaders {
            id: vec![id],
            timestamp: vec![ts],
            signature: vec![sig],
        }
    }

    fn kind(problem: &Problem) -> &str {
        problem.kind.rsplit('/').next().unwrap_or_default()
    }

    fn secrets(text: &str) -> Result<Vec<IntegrationSecret>, String> {
        parse_integration_secrets(text).map_err(|p| format!("{p:?}"))
    }

    #[test]
    fn standard_webhooks_sign_matches_the_reference_vector() -> Result<(), String> {
        let signed = sign(&[SECRET.to_string()], ID, AT, BODY).map_err(|p| p.to_json())?;
        if signed != "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=" {
            return Err(signed);
        }
        let two = sign(&[SECRET.to_string(), OTHER.to_string()], ID, AT, BODY)
            .map_err(|p| p.to_json())?;
        match two.split(' ').collect::<Vec<_>>().as_slice() {
            [first, second] if *first == signed && second.starts_with("v1,") => Ok(()),
            _ => Err(two),
        }
    }

    #[test]
    fn standard_webhooks_valid_signature_names_its_integration() -> Result<(), String> {
        let configured = secrets(&format!("acme:{SECRET}, partner:{OTHER}"))?;
        let sig = sign(&[OTHER.to_string()], ID, AT, BODY).map_err(|p| p.to_json())?;
        let ts = AT.to_string();
        let verified = verify(&configured, &headers(ID, &ts, &sig), BODY, AT + 10, 300)
            .map_err(|p| p.to_json())?;
        if verified.integration != "partner" || verified.webhook_id != ID {
            return Err(format!("{verified:?}"));
        }
        Ok(())
    }

    #[test]
    fn standard_webhooks_rotated_secrets_both_verify() -> Result<(), String> {
        let configured = secrets(&format!("acme:{SECRET},acme:{OTHER}"))?;
        let ts = AT.to_string();
        for secret in [SECRET, OTHER] {
            let sig = sign(&[secret.to_string()], ID, AT, BODY).map_err(|p| p.to_json())?;
            let verified = verify(&configured, &headers(ID, &ts, &sig), BODY, AT, 300)
                .map_err(|p| p.to_json())?;
            if verified.integration != "acme" {
                return Err(format!("{verified:?}"));
            }
        }
        Ok(())
    }

    #[test]
    fn standard_webhooks_each_failure_has_its_type() -> Result<(), String> {
        let configured = secrets(&format!("acme:{SECRET}"))?;
        let ts = AT.to_string();
        let good = sign(&[SECRET.to_string()], ID, AT, BODY).map_err(|p| p.to_json())?;
        let wrong = sign(&[OTHER.to_string()], ID, AT, BODY).map_err(|p| p.to_json())?;
        let cases: Vec<(&str, SignedHeaders<'_>, &[u8], i64, &str)> = vec![
            (
                "no id",
                headers("", &ts, &good),
                BODY,
                AT,
                "webhook-headers-missing",
            ),
            (
                "bad timestamp",
                headers(ID, "+1649367553", &good),
                BODY,
                AT,
                "webhook-malformed",
            ),
            (
                "no comma",
                headers(ID, &ts, "v1tZ1I4"),
                BODY,
                AT,
                "webhook-malformed",
            ),
            (
                "short mac",
                headers(ID, &ts, "v1,dGVzdA=="),
                BODY,
                AT,
                "webhook-malformed",
            ),
            (
                "no v1",
                headers(ID, &ts, "v1a,dGVzdA=="),
                BODY,
                AT,
                "webhook-malformed",
            ),
            (
                "not utf-8",
                headers(ID, &ts, &good),
                b"{\"a\":\"\xff\"}",
                AT,
                "webhook-malformed",
            ),
            (
                "stale",
                headers(ID, &ts, &good),
                BODY,
                AT + 301,
                "webhook-timestamp-outside-tolerance",
            ),
            (
                "future",
                headers(ID, &ts, &good),
                BODY,
                AT - 301,
                "webhook-timestamp-outside-tolerance",
            ),
            (
                "wrong secret",
                headers(ID, &ts, &wrong),
                BODY,
                AT,
                "webhook-signature-invalid",
            ),
            (
                "other body",
                headers(ID, &ts, &good),
                b"{}",
                AT,
                "webhook-signature-invalid",
            ),
        ];
        for (what, h, body, now, expected) in cases {
            match verify(&configured, &h, body, now, 300) {
                Err(p) if p.status == 401 && kind(&p) == expected => {}
                other => return Err(format!("{what}: {other:?}")),
            }
        }
        // Within the tolerance at both ends.
        for now in [AT - 300, AT + 300] {
            verify(&configured, &headers(ID, &ts, &good), BODY, now, 300)
                .map_err(|p| p.to_json())?;
        }
        Ok(())
    }

    #[test]
    fn standard_webhooks_missing_headers_are_named() -> Result<(), String> {
        let configured = secrets(&format!("acme:{SECRET}"))?;
        let h = SignedHeaders {
            id: vec![ID],
            ..SignedHeaders::default()
        };
        match verify(&configured, &h, BODY, AT, 300) {
            Err(p)
                if p.detail.as_deref().is_some_and(|d| {
                    d.contains(HEADER_TIMESTAMP) && d.contains(HEADER_SIGNATURE) && !d.contains(ID)
                }) =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn standard_webhooks_bad_secret_entries_are_503_without_the_secret() -> Result<(), String> {
        let short = "whsec_dGVzdA==";
        for text in [
            "acme".to_string(),
            format!("Acme X:{SECRET}"),
            "acme:C2FVsBQIhrscChlQIMV+b5sSYspob7oD".to_string(),
            "acme:whsec_not base64!".to_string(),
            format!("acme:{short}"),
            format!("acme:{SECRET},partner:{SECRET}"),
        ] {
            match parse_integration_secrets(&text) {
                Err(p) if p.status == 503 => {
                    let detail = p.detail.unwrap_or_default();
                    if detail.contains("C2FVsBQ") || detail.contains("dGVzdA") {
                        return Err(format!("{text}: the detail shows the secret: {detail}"));
                    }
                }
                Ok(_) => return Err(format!("{text}: accepted")),
                Err(p) => return Err(format!("{text}: {p:?}")),
            }
        }
        if !secrets("")?.is_empty() || !secrets(" , ")?.is_empty() {
            return Err("blank entries are not ignored".to_string());
        }
        Ok(())
    }

    #[test]
    fn standard_webhooks_tolerance_variable() -> Result<(), String> {
        let ok = |t: &str| parse_tolerance(t).map_err(|p| p.to_json());
        if ok("")? != 300 || ok(" 60 ")? != 60 {
            return Err("defaults".to_string());
        }
        for bad in ["0", "-5", "abc", "86401"] {
            if parse_tolerance(bad).is_ok() {
                return Err(format!("{bad} accepted"));
            }
        }
        Ok(())
    }
}
