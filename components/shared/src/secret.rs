//! The server secret and what is derived from it (R3, I8): every token or identifier that must
//! not be computable from what a client sends or sees (the applicant's access token, the
//! application id a retried submission finds again) is an HMAC-SHA256 keyed by a secret only
//! the server holds.
//!
//! Where the secret comes from:
//! - the Spin variable `server_secret` (declared `secret = true`), when set: one value, or
//!   several comma-separated for rotation: the first derives everything new, the others are
//!   *previous* secrets, still tried when something derived earlier must be found or shown
//!   again (a replayed submission's token, a crashed submission's application id);
//! - otherwise 32 random bytes generated once and kept in the store under `server-secret`
//!   (64 lowercase hex characters in a JSON string), created under a [`crate::claim`] so that
//!   concurrent first requests agree on one value. When the variable is set later, a secret
//!   generated earlier stays a previous secret, so nothing derived with it is lost.

use crate::claim::{self, Claim};
use crate::{Bucket, get_json, random_bytes, set_json, unavailable};
use certflow_domain::Problem;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Store key of the generated secret (when the `server_secret` variable is unset).
pub const GENERATED_SECRET_KEY: &str = "server-secret";

/// Fewest characters a configured `server_secret` value may have (32: as many as the
/// generated secret's bytes; `openssl rand -base64 32` gives 44).
pub const MIN_CONFIGURED_LEN: usize = 32;

/// How long a request waits for a concurrent request that is generating the secret.
const WAIT_FOR_GENERATED_MS: u64 = 5_000;

/// The server's secrets, current first.
pub struct ServerSecret {
    /// HMAC keys: the current secret, then the previous ones (rotation).
    keys: Vec<Vec<u8>>,
}

impl ServerSecret {
    /// The configured secrets (the `server_secret` variable, comma-separated, current first),
    /// then the generated one if the store holds it; when nothing is configured, the generated
    /// secret, created on first use. 503 when the store fails or a concurrent first request is
    /// still generating it after 5 s.
    pub fn load(bucket: &Bucket) -> Result<ServerSecret, Problem> {
        let configured = spin_sdk::variables::get("server_secret").unwrap_or_default();
        let mut keys: Vec<Vec<u8>> = configured
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.as_bytes().to_vec())
            .collect();
        // A short secret can be searched offline from one token and its id (R3): refuse to
        // derive anything with it rather than hand out guessable tokens.
        if keys.iter().any(|key| key.len() < MIN_CONFIGURED_LEN) {
            return Err(unavailable(format!(
                "the server_secret variable holds a value shorter than {MIN_CONFIGURED_LEN} \
                 characters; set each value to at least {MIN_CONFIGURED_LEN} random characters \
                 (e.g. `openssl rand -base64 32`)"
            )));
        }
        let generated = match get_json::<String>(bucket, GENERATED_SECRET_KEY)? {
            Some(hex) => Some(decode_hex(&hex)?),
            None if keys.is_empty() => Some(generate(bucket)?),
            None => None,
        };
        keys.extend(generated);
        Ok(ServerSecret { keys })
    }

    /// `derive(purpose, parts)` with the current secret: HMAC-SHA256 over a purpose label and
    /// the length-prefixed parts, so that no two purposes or splits of the parts collide.
    pub fn derive(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        let current = self.keys.first().map(Vec::as_slice).unwrap_or_default();
        derive(current, purpose, parts)
    }

    /// [`ServerSecret::derive`] with each secret in turn, current first: to find or check
    /// something derived before a rotation.
    pub fn derive_each(&self, purpose: &str, parts: &[&[u8]]) -> Vec<[u8; 32]> {
        self.keys
            .iter()
            .map(|key| derive(key, purpose, parts))
            .collect()
    }
}

/// HMAC-SHA256(key = `secret`, "certflow\0" ‖ `purpose` ‖ "\0" ‖ for each part: its length
/// (8 bytes, big-endian) ‖ the part).
pub fn derive(secret: &[u8], purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length; this constructor cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return [0; 32];
    };
    mac.update(b"certflow\0");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Generates the secret once: the request that wins the claim stores 32 random bytes, the
/// others wait for them. A generator that died before storing is taken over once its claim
/// expires (see [`crate::claim`]).
fn generate(bucket: &Bucket) -> Result<Vec<u8>, Problem> {
    match claim::claim::<String>(bucket, GENERATED_SECRET_KEY, "", WAIT_FOR_GENERATED_MS)? {
        Claim::Done(hex) => decode_hex(&hex),
        Claim::Held { .. } => {
            let secret = random_bytes::<32>()?;
            let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
            set_json(bucket, GENERATED_SECRET_KEY, &hex)?;
            Ok(secret.to_vec())
        }
        Claim::Busy | Claim::Reused => Err(unavailable(
            "the server secret is being generated by another request; retry",
        )),
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, Problem> {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    match bytes {
        Some(bytes) if bytes.len() == 32 => Ok(bytes),
        _ => Err(unavailable(format!(
            "the stored `{GENERATED_SECRET_KEY}` is not 64 hex characters"
        ))),
    }
}
