//! W1: what a webhook subscription may name. An operator subscribes a URL to event types;
//! the URL must be `https`, except to a host the CB trusts explicitly (setting
//! `webhook_trusted_hosts`), and must not point at a loopback, private, link-local or other
//! non-public address unless that host is trusted (so that a subscription cannot make
//! certflow call into the CB's own network). A name that resolves to such an address cannot
//! be seen from a component (no DNS API): the notify component's `allowed_outbound_hosts`
//! is the second line of defence.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use super::events::EventType;
use crate::shared::error::{ErrorCode, FieldError};

/// The longest URL accepted, in characters.
pub const MAX_URL_CHARS: usize = 2_000;
/// The longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A valid subscription request (`POST /api/webhooks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    /// Where events are POSTed.
    pub url: String,
    /// The event types sent; empty means every type (`["*"]` in the request).
    pub events: Vec<EventType>,
    /// The operator's note ("" when none).
    pub description: String,
}

/// The body of `POST /api/webhooks`: `{"url": string, "events": [type…] | ["*"],
/// "description"?: string}`.
pub struct SubscriptionRequest;

impl SubscriptionRequest {
    /// Reads and checks a subscription request, every error at once (I2's convention). Errors:
    /// `required`, `invalid_type`, `unknown_field`, `too_long`, `invalid_format` (not an
    /// absolute http(s) URL, with user info or port 0; a description with a control character), `insecure_url` (plain http to a host not
    /// trusted), `private_address` (a loopback, private, link-local or unspecified address, or
    /// `localhost`, not trusted), `invalid_value` (an unknown event type), `duplicate`.
    pub fn parse(
        body: &Value,
        trusted_hosts: &[String],
    ) -> Result<NewSubscription, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(object) = body.as_object() else {
            return Err(vec![FieldError::new(
                "",
                ErrorCode::InvalidType,
                "the body must be a JSON object {url, events, description}",
                "W1",
            )]);
        };
        for key in object.keys() {
            if !matches!(key.as_str(), "url" | "events" | "description") {
                errors.push(FieldError::new(
                    format!("/{key}"),
                    ErrorCode::UnknownField,
                    "not a field of a subscription (url, events, description)",
                    "W1",
                ));
            }
        }
        let url = match object.get("url") {
            None => {
                errors.push(FieldError::new(
                    "/url",
                    ErrorCode::Required,
                    "the URL events are sent to",
                    "W1",
                ));
                None
            }
            Some(Value::String(url)) => match check_url(url, trusted_hosts) {
                Ok(url) => Some(url),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError::new(
                    "/url",
                    ErrorCode::InvalidType,
                    "must be a string",
                    "W1",
                ));
                None
            }
        };
        let events = match object.get("events") {
            None => {
                errors.push(FieldError::new(
                    "/events",
                    ErrorCode::Required,
                    "the event types to send, e.g. [\"decision.recorded\"], or [\"*\"] for all",
                    "W1",
                ));
                None
            }
            Some(Value::Array(names)) => read_events(names, &mut errors),
            Some(_) => {
                errors.push(FieldError::new(
                    "/events",
                    ErrorCode::InvalidType,
                    "must be an array of event types",
                    "W1",
                ));
                None
            }
        };
        let description = match object.get("description") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) if text.chars().count() > MAX_DESCRIPTION_CHARS => {
                errors.push(FieldError::new(
                    "/description",
                    ErrorCode::TooLong,
                    format!("at most {MAX_DESCRIPTION_CHARS} characters"),
                    "W1",
                ));
                String::new()
            }
            Some(Value::String(text)) if text.chars().any(char::is_control) => {
                errors.push(FieldError::new(
                    "/description",
                    ErrorCode::InvalidFormat,
                    "one line of text: contains a control character",
                    "W1",
                ));
                String::new()
            }
            Some(Value::String(text)) => text.trim().to_string(),
            Some(_) => {
                errors.push(FieldError::new(
                    "/description",
                    ErrorCode::InvalidType,
                    "must be a string",
                    "W1",
                ));
                String::new()
            }
        };
        match (url, events) {
            (Some(url), Some(events)) if errors.is_empty() => Ok(NewSubscription {
                url,
                events,
                description,
            }),
            _ => Err(errors),
        }
    }
}

fn read_events(names: &[Value], errors: &mut Vec<FieldError>) -> Option<Vec<EventType>> {
    if names.is_empty() {
        errors.push(FieldError::new(
            "/events",
            ErrorCode::Required,
            "name at least one event type, or [\"*\"] for all",
            "W1",
        ));
        return None;
    }
    let before = errors.len();
    let mut events = Vec::new();
    let mut all = false;
    for (i, name) in names.iter().enumerate() {
        let field = format!("/events/{i}");
        match name.as_str() {
            Some("*") if names.len() == 1 => all = true,
            Some("*") => errors.push(FieldError::new(
                field,
                ErrorCode::InvalidValue,
                "\"*\" (every event) stands alone",
                "W1",
            )),
            Some(text) => match EventType::parse(text) {
                Some(EventType::WebhookPing) | None => errors.push(FieldError::new(
                    field,
                    ErrorCode::InvalidValue,
                    format!("not an event type certflow sends: {}", known_types()),
                    "W1",
                )),
                Some(kind) if events.contains(&kind) => errors.push(FieldError::new(
                    field,
                    ErrorCode::Duplicate,
                    "named twice",
                    "W1",
                )),
                Some(kind) => events.push(kind),
            },
            None => errors.push(FieldError::new(
                field,
                ErrorCode::InvalidType,
                "must be a string",
                "W1",
            )),
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(if all { Vec::new() } else { events })
}

fn known_types() -> String {
    EventType::ALL
        .iter()
        .filter(|t| **t != EventType::WebhookPing)
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// W1: checks a subscription URL and returns it normalised (as `url` serialises it).
pub fn check_url(text: &str, trusted_hosts: &[String]) -> Result<String, FieldError> {
    let invalid =
        |message: String| FieldError::new("/url", ErrorCode::InvalidFormat, message, "W1");
    if text.chars().count() > MAX_URL_CHARS {
        return Err(FieldError::new(
            "/url",
            ErrorCode::TooLong,
            format!("at most {MAX_URL_CHARS} characters"),
            "W1",
        ));
    }
    let url =
        url::Url::parse(text.trim()).map_err(|e| invalid(format!("not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("the scheme must be https".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "no user name or password in the URL: the signature authenticates certflow".into(),
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid("no fragment (#…): it is never sent".into()));
    }
    let Some(host) = url.host() else {
        return Err(invalid("the URL names no host".into()));
    };
    if url.port() == Some(0) {
        return Err(invalid(
            "port 0 cannot be connected to (RFC 6335: reserved)".into(),
        ));
    }
    let host_text = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let with_port = url
        .port_or_known_default()
        .map(|port| format!("{host_text}:{port}"))
        .unwrap_or_else(|| host_text.clone());
    let trusted = trusted_hosts
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .any(|h| !h.is_empty() && (h == host_text || h == with_port));
    if url.scheme() == "http" && !trusted {
        return Err(FieldError::new(
            "/url",
            ErrorCode::InsecureUrl,
            "must be https: plain http only to a host the CB trusts (setting webhook_trusted_hosts)",
            "W1",
        ));
    }
    if let url::Host::Domain(name) = &host
        && is_the_apps_own_host(name)
    {
        return Err(FieldError::new(
            "/url",
            ErrorCode::PrivateAddress,
            "the app's own components (`*.spin.internal`, `self.alt`): Spin routes these to \
             the app itself, past its routes; never a receiver, whatever is trusted",
            "W1",
        ));
    }
    let non_public = match host {
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => !is_public(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => !is_public(IpAddr::V6(ip)),
    };
    if non_public && !trusted {
        return Err(FieldError::new(
            "/url",
            ErrorCode::PrivateAddress,
            "a loopback, private, link-local or unspecified address: allowed only for a host the CB trusts (setting webhook_trusted_hosts)",
            "W1",
        ));
    }
    Ok(url.to_string())
}

/// Whether `name` is a host Spin serves from the app itself rather than the network: service
/// chaining (`spin.internal` and `<component>.spin.internal`) and self requests (`self.alt`),
/// in any case, with or without a trailing dot.
pub fn is_the_apps_own_host(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "spin.internal" || name.ends_with(".spin.internal") || name == "self.alt"
}

/// Whether `ip` is a public unicast address (not loopback, private, link-local, shared
/// (RFC 6598), unspecified, broadcast, documentation, multicast, unique-local, site-local,
/// discard-only, Teredo or local-use NAT64). An IPv6 address that carries an IPv4 address
/// (IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`)
/// is judged as that IPv4 address, since it reaches it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // RFC 6598
    let this_network = a == 0;
    let reserved = a >= 240;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || shared
        || this_network
        || reserved)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    if ip.is_loopback() || ip.is_unspecified() {
        return false;
    }
    // IPv4-compatible `::a.b.c.d` (RFC 4291 2.5.5.1) and IPv4-translated `::ffff:0:a.b.c.d`
    // (RFC 2765 2.1).
    if s[..6] == [0; 6] || s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return is_public_v4(v4(s[6], s[7]));
    }
    // NAT64's well-known prefix `64:ff9b::/96` (RFC 6052): the translator reaches a.b.c.d.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(v4(s[6], s[7]));
    }
    // 6to4 `2002:AABB:CCDD::/48` (RFC 3056): a relay reaches AA.BB.CC.DD.
    if s[0] == 0x2002 {
        return is_public_v4(v4(s[1], s[2]));
    }
    let local_use_nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1; // RFC 8215
    let site_local = (s[0] & 0xffc0) == 0xfec0; // RFC 3879
    let documentation = s[0] == 0x2001 && s[1] == 0x0db8; // RFC 3849
    let discard_only = s[..4] == [0x100, 0, 0, 0]; // RFC 6666
    let teredo = s[0] == 0x2001 && s[1] == 0; // RFC 4380: the IPv4 address is obfuscated
    !(ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || local_use_nat64
        || site_local
        || documentation
        || discard_only
        || teredo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(body: Value, trusted: &[&str]) -> Vec<(String, ErrorCode)> {
        let trusted: Vec<String> = trusted.iter().map(|s| s.to_string()).collect();
        match SubscriptionRequest::parse(&body, &trusted) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    #[test]
    fn w1_https_public_url_is_accepted() -> Result<(), String> {
        let s = SubscriptionRequest::parse(
            &json!({"url": "https://hooks.example.com/certflow", "events": ["decision.recorded", "certificate.suspended"]}),
            &[],
        )
        .map_err(|e| format!("{e:?}"))?;
        assert_eq!(s.url, "https://hooks.example.com/certflow");
        assert_eq!(
            s.events,
            vec![EventType::DecisionRecorded, EventType::CertificateSuspended]
        );
        let all =
            SubscriptionRequest::parse(&json!({"url": "https://h.example/", "events": ["*"]}), &[])
                .map_err(|e| format!("{e:?}"))?;
        assert!(all.events.is_empty());
        Ok(())
    }

    #[test]
    fn w1_private_and_loopback_addresses_are_refused_unless_trusted() {
        for url in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://localhost/",
            "https://api.localhost./",
            "https://2130706433/", // 127.0.0.1 as one number: url parses it as IPv4
            "https://0x7f.1/",
            "https://0177.0.0.1/",
            "https://[::127.0.0.1]/",
            "https://[::ffff:0:10.0.0.1]/",
            "https://[64:ff9b::10.0.0.1]/",
            "https://[64:ff9b:1::1]/",
            "https://[2002:a00:1::1]/",
            "https://[2001:0:4136:e378::1]/",
            "https://[fec0::1]/",
            "https://[2001:db8::1]/",
            "https://[100::1]/",
        ] {
            assert_eq!(
                codes(json!({"url": url, "events": ["*"]}), &[]),
                vec![("/url".to_string(), ErrorCode::PrivateAddress)],
                "{url}"
            );
        }
        assert!(
            codes(
                json!({"url": "https://127.0.0.1:9000/x", "events": ["*"]}),
                &["127.0.0.1"]
            )
            .is_empty()
        );
        assert!(
            codes(
                json!({"url": "http://127.0.0.1:9000/x", "events": ["*"]}),
                &["127.0.0.1:9000"]
            )
            .is_empty()
        );
    }

    #[test]
    fn w1_the_apps_own_hosts_are_refused_even_when_trusted() {
        for url in [
            "https://review.spin.internal/internal/screening/x",
            "https://Notify.Spin.Internal./internal/records/application:x",
            "https://spin.internal/",
            "https://self.alt/api/applications",
            "https://SELF.ALT./",
        ] {
            assert_eq!(
                codes(json!({"url": url, "events": ["*"]}), &[]),
                vec![("/url".to_string(), ErrorCode::PrivateAddress)],
                "{url}"
            );
        }
        assert_eq!(
            codes(
                json!({"url": "https://self.alt/", "events": ["*"]}),
                &["self.alt"]
            ),
            vec![("/url".to_string(), ErrorCode::PrivateAddress)]
        );
        assert!(
            codes(
                json!({"url": "https://spin.internal.example.com/", "events": ["*"]}),
                &[]
            )
            .is_empty()
        );
    }

    #[test]
    fn w1_public_ipv6_addresses_are_accepted() {
        for ip in [
            "2606:4700:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            let ip: Ipv6Addr = ip.parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
            assert!(is_public(IpAddr::V6(ip)), "{ip}");
        }
    }

    #[test]
    fn w1_plain_http_only_to_trusted_hosts() {
        assert_eq!(
            codes(
                json!({"url": "http://hooks.example.com/", "events": ["*"]}),
                &[]
            ),
            vec![("/url".to_string(), ErrorCode::InsecureUrl)]
        );
        assert!(
            codes(
                json!({"url": "http://hooks.example.com/", "events": ["*"]}),
                &["hooks.example.com"]
            )
            .is_empty()
        );
        assert_eq!(
            codes(
                json!({"url": "https://hooks.example.com:0/", "events": ["*"], "description": "a\u{1b}[31m"}),
                &[]
            ),
            vec![
                ("/url".to_string(), ErrorCode::InvalidFormat),
                ("/description".to_string(), ErrorCode::InvalidFormat)
            ]
        );
        assert_eq!(
            codes(
                json!({"url": "ftp://hooks.example.com/", "events": ["*"]}),
                &[]
            ),
            vec![("/url".to_string(), ErrorCode::InvalidFormat)]
        );
        assert_eq!(
            codes(
                json!({"url": "https://user:pw@hooks.example.com/", "events": ["*"]}),
                &[]
            ),
            vec![("/url".to_string(), ErrorCode::InvalidFormat)]
        );
    }

    #[test]
    fn i2_every_error_at_once() {
        let found = codes(
            json!({"url": 5, "events": ["nope", "decision.recorded", "decision.recorded", 3, "webhook.ping"], "description": "x".repeat(501), "extra": 1}),
            &[],
        );
        assert_eq!(
            found,
            vec![
                ("/extra".to_string(), ErrorCode::UnknownField),
                ("/url".to_string(), ErrorCode::InvalidType),
                ("/events/0".to_string(), ErrorCode::InvalidValue),
                ("/events/2".to_string(), ErrorCode::Duplicate),
                ("/events/3".to_string(), ErrorCode::InvalidType),
                ("/events/4".to_string(), ErrorCode::InvalidValue),
                ("/description".to_string(), ErrorCode::TooLong),
            ]
        );
        assert_eq!(codes(json!([]), &[]).len(), 1);
        assert_eq!(
            codes(json!({"events": []}), &[]),
            vec![
                ("/url".to_string(), ErrorCode::Required),
                ("/events".to_string(), ErrorCode::Required)
            ]
        );
        assert_eq!(
            codes(
                json!({"url": "https://a.example/", "events": ["*", "decision.recorded"]}),
                &[]
            ),
            vec![("/events/0".to_string(), ErrorCode::InvalidValue)]
        );
    }
}
