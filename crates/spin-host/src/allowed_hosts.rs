//! Spin's `allowed_outbound_hosts` (which destinations a component may call).
//!
//! Mirrors Spin 3.x (spinframework/spin):
//! - `crates/outbound-networking-config/src/allowed_hosts.rs` — `AllowedHostConfig::parse`,
//!   `SchemeConfig`/`HostConfig`/`PortConfig`, `well_known_port`, `OutboundUrl`,
//!   `parse_service_chaining_host`;
//! - `crates/loader/src/local.rs` — entries are validated when the app is loaded
//!   (start-up): ``Failed to load component `<id>` `` → `` `allowed_outbound_hosts` is malformed``;
//! - `crates/factor-outbound-http/src/wasi.rs` `RequestSender::prepare_request` — enforcement;
//! - `crates/runtime-factors/src` (`outbound_networking_factor`, `disallowed_host_handler`) —
//!   what is printed;
//! - `crates/trigger-http/src/outbound_http.rs` — service chaining interception.
//!
//! Entry syntax `<scheme>://<host>[:<port>]` (a trailing `/` is allowed, any other path is not):
//! - scheme: `*` or a single alphabetic scheme (`http`, `https`, `redis`, …); `{a,b}` lists
//!   are rejected ("not supported"). No `://` is an error.
//! - host: `*` (any); `*.example.com` (any subdomain at any depth, NOT `example.com` itself);
//!   an exact DNS name or IP literal (IPv6 in brackets: `http://[::1]:8001`); a CIDR
//!   `10.0.0.0/8` / `ff00::/8` (host bits truncated, matches IP-literal URLs only);
//!   `self` / `self.alt` (requests to the app itself, see [`AllowedHosts::allows_self_request`]).
//! - port: omitted → the scheme's well-known port ONLY (http 80, https 443, redis 6379,
//!   mysql 3306, postgres 5432, mqtt 1883); omitted with any other scheme, incl. `*://host`,
//!   is an error. `*` = any port. `N` exact. `A..B` = half-open range (B excluded).
//!   A request URL without an explicit port uses its scheme's well-known port.
//! - `insecure:allow-all` as the only entry is rejected (use `*://*:*`).
//! - `{{ var }}` templates are expanded (application variables) before parsing.
//!
//! Service chaining: a request to `http://<component-id>.spin.internal/...` is routed in
//! process to that component, but only after the URL passed the allow list, so the entry
//! `http://<id>.spin.internal` (or `http://*.spin.internal`) must be present.
//!
//! How Spin refuses a wasi:http request: `prepare_request` returns
//! `ErrorCode::HttpRequestDenied` (`error-code::HTTP-request-denied`) through the
//! outgoing-request future (`outgoing-handler.handle` itself returns the future; the guest
//! sees `Err(HTTP-request-denied)` from `future-incoming-response.get`). Before that the
//! disallowed-host handler runs with `host_pattern = "<scheme>://<authority>"`
//! ([`host_pattern`]; for a self request `"http://self"`) and prints:
//! 1. `tracing::error!`: `Outbound network destination not allowed: <host_pattern>`
//! 2. stderr (`terminal::warn!`, i.e. prefixed `Warning: `):
//!    `A component tried to make an outbound network connection to disallowed destination '<host_pattern>'.`
//!    (self request: `A component tried to make an HTTP request to its own app but it does not have permission.`)
//! 3. stderr: `To allow this request, add 'allowed_outbound_hosts = ["<host_pattern>"]' to the manifest component section.`
//!
//! See [`denial_log_message`] and [`denial_warning`].

use std::fmt;
use std::net::IpAddr;

use anyhow::{Context as _, bail, ensure};
use url::{Host, Url};

/// The domain used for service chaining.
pub const SERVICE_CHAINING_DOMAIN: &str = "spin.internal";
/// The domain suffix used for service chaining.
pub const SERVICE_CHAINING_DOMAIN_SUFFIX: &str = ".spin.internal";
/// A request whose authority host is this is a self request (like one with no authority).
pub const SELF_ALT_HOST: &str = "self.alt";

const DOCS_LINK: &str = "Learn more: https://spinframework.dev/v3/http-outbound#granting-http-permissions-to-components";

/// A component's parsed `allowed_outbound_hosts`. The default allows nothing.
#[derive(Clone, Default)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
}

#[derive(Clone, Debug)]
struct AllowedHost {
    /// The entry as written (templates unexpanded, so no variable value is shown).
    original: String,
    scheme: SchemeConfig,
    host: HostConfig,
    port: PortConfig,
}

/// Like Spin, equality ignores how the entry was written.
impl PartialEq for AllowedHost {
    fn eq(&self, other: &Self) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }
}

impl Eq for AllowedHost {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum SchemeConfig {
    Any,
    Exact(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostConfig {
    Any,
    /// Holds the suffix including the leading dot: `.example.com`.
    AnySubdomain(String),
    ToSelf,
    Literal(Host<String>),
    Cidr(IpNet),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PortConfig {
    Any,
    Exact(u16),
    /// Half-open, like Spin's `Range<u16>`.
    Range(u16, u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl AllowedHosts {
    /// Parses the entries as written in spin.toml. Entries containing `{{` are first passed
    /// (whole) to `resolve`, e.g. `|t| resolver.resolve_template(t)`. The error names the
    /// offending entry; callers add ``Failed to load component `<id>` ``.
    pub fn parse(
        entries: &[String],
        resolve: impl Fn(&str) -> anyhow::Result<String>,
    ) -> anyhow::Result<AllowedHosts> {
        Self::parse_inner(entries, resolve).context("`allowed_outbound_hosts` is malformed")
    }

    fn parse_inner(
        entries: &[String],
        resolve: impl Fn(&str) -> anyhow::Result<String>,
    ) -> anyhow::Result<AllowedHosts> {
        if let [only] = entries
            && only == "insecure:allow-all"
        {
            bail!(
                "'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic'"
            );
        }
        let mut parsed = Vec::with_capacity(entries.len());
        for entry in entries {
            let host = if entry.contains("{{") {
                let expanded = resolve(entry)
                    .with_context(|| format!("cannot expand variables in entry {entry:?}"))?;
                AllowedHost::parse(&expanded, entry)
            } else {
                AllowedHost::parse(entry, entry)
            }
            .with_context(|| format!("invalid entry {entry:?}"))?;
            parsed.push(host);
        }
        Ok(AllowedHosts { entries: parsed })
    }

    /// True if a request to `url` is allowed: some entry matches its scheme, host and
    /// effective port (explicit, else the scheme's well-known port). URLs without a host
    /// are refused (Spin: unparseable → denied).
    pub fn allows(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let Ok(host) = Host::parse(host) else {
            return false;
        };
        self.entries.iter().any(|e| {
            e.scheme.allows(url.scheme())
                && e.host.allows(&host)
                && e.port.allows(url.port(), url.scheme())
        })
    }

    /// True if the component may call `http://<component_id>.spin.internal`.
    pub fn allows_component_chaining(&self, component_id: &str) -> bool {
        match Url::parse(&format!(
            "http://{component_id}{SERVICE_CHAINING_DOMAIN_SUFFIX}/"
        )) {
            Ok(url) => self.allows(&url),
            Err(_) => false,
        }
    }

    /// True if a self request (a request with no authority, or authority host `self.alt`)
    /// is allowed: an entry whose scheme allows `http` or `https` and whose host is `self`,
    /// `self.alt` or `*` (ports are not checked). Spin's `allows_relative_url(&["http", "https"])`.
    pub fn allows_self_request(&self) -> bool {
        self.entries.iter().any(|e| {
            (e.scheme.allows("http") || e.scheme.allows("https"))
                && matches!(e.host, HostConfig::Any | HostConfig::ToSelf)
        })
    }

    /// True if no entry is listed (every outbound request is refused).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True if some entry targets `*.spin.internal` hosts (the app uses service chaining).
    pub fn uses_service_chaining(&self) -> bool {
        self.entries.iter().any(|e| match &e.host {
            HostConfig::Literal(Host::Domain(d)) => d.ends_with(SERVICE_CHAINING_DOMAIN_SUFFIX),
            HostConfig::AnySubdomain(suffix) => suffix == SERVICE_CHAINING_DOMAIN_SUFFIX,
            _ => false,
        })
    }
}

impl fmt::Debug for AllowedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| &e.original))
            .finish()
    }
}

impl AllowedHost {
    /// Spin's `AllowedHostConfig::parse`.
    fn parse(url: &str, original: &str) -> anyhow::Result<Self> {
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            match url {
                "*" | ":" | "" | "?" => bail!(
                    "{url:?} is not an allowed outbound host format.\nHosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to allow all outbound networking, you can use '*://*:*' - this will obviate all network sandboxing.\n{DOCS_LINK}"
                ),
                _ => bail!(
                    "{url:?} does not contain a scheme (e.g., 'http://' or '*://')\n{DOCS_LINK}"
                ),
            }
        };
        // Schemes are case-insensitive (RFC 3986); Spin compares them as written.
        let scheme = scheme.to_ascii_lowercase();
        let scheme = scheme.as_str();
        let (host, rest) = rest.rsplit_once(':').unwrap_or((rest, ""));
        let port = match rest.split_once('/') {
            Some((port, path)) => {
                if !path.is_empty() {
                    bail!("{url:?} has a path but is not allowed to");
                }
                port
            }
            None => rest,
        };

        let port = PortConfig::parse(port, scheme)
            .with_context(|| format!("Invalid allowed host port {port:?}"))?;
        let scheme = SchemeConfig::parse(scheme)
            .with_context(|| format!("Invalid allowed host scheme {scheme:?}"))?;
        let host =
            HostConfig::parse(host).with_context(|| format!("Invalid allowed host {host:?}"))?;
        Ok(Self {
            original: original.to_string(),
            scheme,
            host,
            port,
        })
    }
}

impl SchemeConfig {
    fn parse(scheme: &str) -> anyhow::Result<Self> {
        if scheme == "*" {
            return Ok(Self::Any);
        }
        if scheme.starts_with('{') {
            bail!("scheme lists are not supported");
        }
        if scheme.is_empty() || scheme.chars().any(|c| !c.is_alphabetic()) {
            bail!("only alphabetic characters are allowed");
        }
        Ok(Self::Exact(scheme.to_string()))
    }

    fn allows(&self, scheme: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(s) => s == scheme,
        }
    }
}

impl HostConfig {
    fn parse(host: &str) -> anyhow::Result<Self> {
        let mut host = host.trim();
        if host == "*" {
            return Ok(Self::Any);
        }
        if host == "self" || host == SELF_ALT_HOST {
            return Ok(Self::ToSelf);
        }
        if host.starts_with('{') {
            ensure!(host.ends_with('}'), "unterminated host list");
            bail!("host lists are not yet supported");
        }
        if let Some(net) = IpNet::parse_truncate(host) {
            return Ok(Self::Cidr(net));
        }
        host = host.trim_end_matches('/');
        if host.contains('/') {
            bail!("must not include a path");
        }
        if let Some(domain) = host.strip_prefix("*.") {
            if domain.contains('*') {
                bail!("wildcards are allowed only as prefixes");
            }
            return Ok(Self::AnySubdomain(format!(
                ".{}",
                domain.to_ascii_lowercase()
            )));
        }
        if host.contains('*') {
            bail!("wildcards are allowed only as subdomains");
        }
        Ok(Self::Literal(Host::parse(host)?))
    }

    fn allows(&self, host: &Host<String>) -> bool {
        match (self, host) {
            (Self::Any, _) => true,
            (Self::AnySubdomain(suffix), Host::Domain(domain)) => domain.ends_with(suffix.as_str()),
            (Self::AnySubdomain(_), _) => false,
            (Self::Literal(literal), host) => literal == host,
            (Self::Cidr(net), Host::Ipv4(ip)) => net.contains(IpAddr::V4(*ip)),
            (Self::Cidr(net), Host::Ipv6(ip)) => net.contains(IpAddr::V6(*ip)),
            (Self::Cidr(_), Host::Domain(_)) => false,
            // Self requests are checked by `allows_self_request`.
            (Self::ToSelf, _) => false,
        }
    }
}

impl PortConfig {
    fn parse(port: &str, scheme: &str) -> anyhow::Result<Self> {
        if port.is_empty() {
            return well_known_port(scheme).map(Self::Exact).with_context(|| {
                format!(
                    "no port was provided and the scheme {scheme:?} does not have a known default port number"
                )
            });
        }
        if port == "*" {
            return Ok(Self::Any);
        }
        if port.starts_with('{') {
            bail!("port lists are not yet supported");
        }
        if let Some((start, end)) = port.split_once("..") {
            let start = start
                .parse()
                .with_context(|| format!("port range {port:?} contains non-number"))?;
            let end = end
                .parse()
                .with_context(|| format!("port range {port:?} contains non-number"))?;
            return Ok(Self::Range(start, end));
        }
        Ok(Self::Exact(port.parse().with_context(|| {
            format!("port {port:?} is not a number")
        })?))
    }

    fn allows(&self, port: Option<u16>, scheme: &str) -> bool {
        if *self == Self::Any {
            return true;
        }
        let Some(port) = port.or_else(|| well_known_port(scheme)) else {
            return false;
        };
        match self {
            Self::Any => true,
            Self::Exact(p) => *p == port,
            Self::Range(start, end) => (*start..*end).contains(&port),
        }
    }
}

/// Spin's `well_known_port`.
fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl IpNet {
    /// Like `ip_network::IpNetwork::from_str_truncate`: `addr/prefix`, host bits cleared.
    /// `None` when `s` is not of that form (then it is treated as a host name).
    fn parse_truncate(s: &str) -> Option<Self> {
        let (addr, prefix) = s.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > max {
            return None;
        }
        let net = IpNet { addr, prefix };
        Some(IpNet {
            addr: net.mask(addr),
            prefix,
        })
    }

    fn mask(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((bits & mask).into())
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((bits & mask).into())
            }
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && self.mask(ip) == self.addr
    }
}

/// The component id a service-chaining URL targets: `http://<id>.spin.internal/...` → `id`.
/// Only a single label before `.spin.internal` counts (Spin's `parse_service_chaining_host`).
pub fn service_chaining_target(url: &Url) -> Option<&str> {
    let host = url.host_str()?;
    let (first, rest) = host.split_once('.')?;
    (rest == SERVICE_CHAINING_DOMAIN).then_some(first)
}

/// Whether a `Host` header value (`host[:port]`) names a service-chaining address
/// (`<component>.spin.internal`), as Spin's `is_service_chaining_host` decides it (case
/// sensitive, one label before the domain). Spin strips such a `Host` from inbound requests.
pub fn is_service_chaining_host(host: &str) -> bool {
    let (host, _) = host.rsplit_once(':').unwrap_or((host, ""));
    host.split_once('.')
        .is_some_and(|(_, rest)| rest == SERVICE_CHAINING_DOMAIN)
}

/// `"<scheme>://<host>[:<port>]"` as Spin's disallowed-host handler formats it (the port
/// only when explicit and not the scheme default).
pub fn host_pattern(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// The host pattern Spin reports for a refused self request.
pub const SELF_HOST_PATTERN: &str = "http://self";

/// Spin's `tracing::error!` line for a refused request.
pub fn denial_log_message(host_pattern: &str) -> String {
    format!("Outbound network destination not allowed: {host_pattern}")
}

/// The two stderr lines Spin prints for a refused request (`Warning: ...` then the hint).
pub fn denial_warning(host_pattern: &str) -> String {
    let first = if host_pattern == SELF_HOST_PATTERN || host_pattern == "https://self" {
        "A component tried to make an HTTP request to its own app but it does not have permission."
            .to_string()
    } else {
        format!(
            "A component tried to make an outbound network connection to disallowed destination '{host_pattern}'."
        )
    };
    format!(
        "Warning: {first}\nTo allow this request, add 'allowed_outbound_hosts = [\"{host_pattern}\"]' to the manifest component section."
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn no_vars(t: &str) -> anyhow::Result<String> {
        anyhow::bail!("no variables here: {t}")
    }

    fn hosts(entries: &[&str]) -> AllowedHosts {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        AllowedHosts::parse(&entries, no_vars).unwrap()
    }

    fn parse_err(entry: &str) -> String {
        let err = AllowedHosts::parse(&[entry.to_string()], no_vars).unwrap_err();
        format!("{err:#}")
    }

    fn one(entry: &str) -> AllowedHost {
        AllowedHost::parse(entry, entry).unwrap()
    }

    fn allows(h: &AllowedHosts, url: &str) -> bool {
        h.allows(&Url::parse(url).unwrap())
    }

    #[test]
    fn url_without_port_gets_scheme_default_port() {
        let h = one("http://spin.fermyon.dev");
        assert_eq!(h.port, PortConfig::Exact(80));
        assert_eq!(h.scheme, SchemeConfig::Exact("http".into()));
        assert_eq!(one("https://spin.fermyon.dev").port, PortConfig::Exact(443));
        assert_eq!(one("redis://cache").port, PortConfig::Exact(6379));
        // Trailing slash is removed.
        assert_eq!(
            one("http://spin.fermyon.dev/"),
            one("http://spin.fermyon.dev")
        );
    }

    #[test]
    fn https_without_port_allows_only_443() {
        let h = hosts(&["https://example.com"]);
        assert!(allows(&h, "https://example.com/a/b?c"));
        assert!(allows(&h, "https://example.com:443/"));
        assert!(!allows(&h, "https://example.com:8443/"));
        assert!(!allows(&h, "http://example.com/"));
        assert!(!allows(&h, "http://example.com:443/"));
    }

    #[test]
    fn explicit_port_and_port_wildcard() {
        let h = hosts(&["http://localhost:3001", "https://api.test:*"]);
        assert!(allows(&h, "http://localhost:3001/x"));
        assert!(!allows(&h, "http://localhost/x"));
        assert!(allows(&h, "https://api.test/"));
        assert!(allows(&h, "https://api.test:9999/"));
        assert_eq!(
            one("http://spin.fermyon.dev:4444/").port,
            PortConfig::Exact(4444)
        );
    }

    #[test]
    fn port_range_is_half_open() {
        let h = hosts(&["http://spin.fermyon.dev:4444..5555"]);
        assert!(allows(&h, "http://spin.fermyon.dev:4444"));
        assert!(allows(&h, "http://spin.fermyon.dev:5554"));
        assert!(!allows(&h, "http://spin.fermyon.dev:5555"));
        assert!(!allows(&h, "http://spin.fermyon.dev:4443"));
        assert!(parse_err("http://a.test:1..x").contains("contains non-number"));
    }

    #[test]
    fn scheme_wildcard_requires_port() {
        let err = parse_err("*://example.com");
        assert!(
            err.contains("does not have a known default port number"),
            "{err}"
        );
        let h = hosts(&["*://spin.fermyon.dev:7777"]);
        assert!(allows(&h, "http://spin.fermyon.dev:7777"));
        assert!(allows(&h, "https://spin.fermyon.dev:7777"));
        assert!(!allows(&h, "https://spin.fermyon.dev"));
    }

    #[test]
    fn allow_all_glob() {
        let h = hosts(&["*://*:*"]);
        assert!(allows(&h, "https://anything.example:1234/"));
        assert!(allows(&h, "http://10.1.2.3/"));
        assert!(h.allows_self_request());
    }

    #[test]
    fn subdomain_wildcard_matches_any_depth_but_not_apex() {
        let h = hosts(&["http://*.example.com", "http://*.example2.com:8383"]);
        assert!(allows(&h, "http://a.example.com/foo/bar"));
        assert!(allows(&h, "http://a.b.example.com/foo/bar"));
        assert!(allows(&h, "http://a.b.example2.com:8383/foo/bar"));
        assert!(!allows(&h, "http://a.b.example2.com/foo/bar"));
        assert!(!allows(&h, "http://example.com/foo/bar"));
        assert!(!allows(&h, "http://example.com:8383/foo/bar"));
        assert!(!allows(&h, "http://myexample.com/foo/bar"));
    }

    #[test]
    fn host_any() {
        let h = hosts(&["https://*"]);
        assert!(allows(&h, "https://whatever.test/"));
        assert!(!allows(&h, "https://whatever.test:444/"));
    }

    #[test]
    fn hosts_compare_case_insensitively() {
        let h = hosts(&["HTTPS://API.Example.COM", "http://*.Upper.TEST"]);
        assert!(allows(&h, "https://api.example.com/"));
        assert!(allows(&h, "https://API.EXAMPLE.com/"));
        assert!(allows(&h, "http://x.upper.test/"));
    }

    #[test]
    fn ip_literals() {
        let h = hosts(&["http://192.168.1.1", "http://[::1]:8001"]);
        assert!(allows(&h, "http://192.168.1.1/"));
        assert!(!allows(&h, "http://192.168.1.2/"));
        assert!(allows(&h, "http://[::1]:8001/"));
        assert!(!allows(&h, "http://[::2]:8001/"));
        // `[::1]` without a port: Spin splits at the last ':' and fails.
        assert!(AllowedHosts::parse(&["http://[::1]".into()], no_vars).is_err());
    }

    #[test]
    fn cidr_ranges_truncate_and_need_port_with_wildcard_scheme() {
        let h = one("*://127.0.0.1/24:63551");
        assert_eq!(
            h.host,
            HostConfig::Cidr(IpNet {
                addr: "127.0.0.0".parse().unwrap(),
                prefix: 24
            })
        );
        assert!(AllowedHosts::parse(&["*://127.0.0.0/24".into()], no_vars).is_err());
        let h = hosts(&["*://10.0.0.0/8:80", "http://ff00::/8:80"]);
        assert!(allows(&h, "http://10.200.3.4/"));
        assert!(!allows(&h, "http://11.0.0.1/"));
        assert!(allows(&h, "http://[ff12::1]/"));
        assert!(!allows(&h, "http://[fe80::1]/"));
        // CIDR never matches a DNS name.
        assert!(!allows(&h, "http://ten.example/"));
        let zero = hosts(&["*://0.0.0.0/0:*"]);
        assert!(allows(&zero, "http://8.8.8.8:53/"));
        assert!(!allows(&zero, "http://[::1]:53/"));
    }

    #[test]
    fn self_entries() {
        let h = hosts(&["http://self"]);
        assert_eq!(h.entries[0].host, HostConfig::ToSelf);
        assert!(h.allows_self_request());
        assert!(!allows(&h, "http://self/"));
        assert!(hosts(&["https://self.alt"]).allows_self_request());
        assert!(!hosts(&["redis://self"]).allows_self_request());
        assert!(!hosts(&["https://example.com"]).allows_self_request());
    }

    #[test]
    fn service_chaining_requires_listing() {
        let specific = hosts(&["http://backend.spin.internal"]);
        assert!(specific.allows_component_chaining("backend"));
        assert!(!specific.allows_component_chaining("other"));
        assert!(specific.uses_service_chaining());

        let any = hosts(&["http://*.spin.internal"]);
        assert!(any.allows_component_chaining("backend"));
        assert!(any.allows_component_chaining("other"));
        assert!(any.uses_service_chaining());

        let none = hosts(&["https://example.com"]);
        assert!(!none.allows_component_chaining("backend"));
        assert!(!none.uses_service_chaining());
        assert!(!AllowedHosts::default().allows_component_chaining("backend"));
        assert!(!specific.allows_component_chaining("bad id/with slash"));
    }

    #[test]
    fn service_chaining_host_as_spin_decides_it() {
        assert!(is_service_chaining_host("back.spin.internal"));
        assert!(is_service_chaining_host("back.spin.internal:80"));
        assert!(!is_service_chaining_host("a.b.spin.internal"));
        assert!(!is_service_chaining_host("spin.internal"));
        assert!(!is_service_chaining_host("localhost:3000"));
    }

    #[test]
    fn service_chaining_target_parsing() {
        let t = |u: &str| service_chaining_target(&Url::parse(u).unwrap()).map(str::to_string);
        assert_eq!(
            t("http://backend.spin.internal/x").as_deref(),
            Some("backend")
        );
        assert_eq!(t("https://a.spin.internal:8080/").as_deref(), Some("a"));
        assert_eq!(t("http://a.b.spin.internal/"), None);
        assert_eq!(t("http://spin.internal/"), None);
        assert_eq!(t("http://example.com/"), None);
    }

    #[test]
    fn missing_scheme_is_error() {
        for entry in ["spin.fermyon.dev", "spin.fermyon.dev:80", "localhost:3001"] {
            assert!(
                parse_err(entry).contains("does not contain a scheme"),
                "{entry}"
            );
        }
        assert!(parse_err("*").contains("is not an allowed outbound host format"));
    }

    #[test]
    fn paths_rejected() {
        assert!(AllowedHosts::parse(&["http://spin.fermyon.dev/".into()], no_vars).is_ok());
        for entry in [
            "http://spin.fermyon.dev/a",
            "http://spin.fermyon.dev:6666/a/b",
            "http://*.fermyon.dev/a",
        ] {
            assert!(
                AllowedHosts::parse(&[entry.into()], no_vars).is_err(),
                "{entry}"
            );
        }
    }

    #[test]
    fn bad_wildcards_and_lists_rejected() {
        assert!(parse_err("http://a.*.com").contains("wildcards are allowed only as subdomains"));
        assert!(parse_err("http://*.a.*.com").contains("only as prefixes"));
        assert!(parse_err("http://{a,b}").contains("host lists"));
        // Like Spin, the port is parsed first: no port + a scheme list fails on the port.
        assert!(parse_err("{http,https}://a.com").contains("known default port"));
        assert!(parse_err("{http,https}://a.com:80").contains("scheme lists"));
        assert!(parse_err("http://a.com:{80,81}").contains("port lists"));
        assert!(parse_err("h2c1://a.com:80").contains("only alphabetic"));
        assert!(parse_err("http://a.com:http").contains("is not a number"));
        assert!(parse_err("http://").contains("Invalid allowed host"));
    }

    #[test]
    fn insecure_allow_all_rejected() {
        assert!(parse_err("insecure:allow-all").contains("use '*://*:*' instead"));
        let two = AllowedHosts::parse(
            &["http://a.test".into(), "insecure:allow-all".into()],
            no_vars,
        );
        assert!(two.is_err());
    }

    #[test]
    fn error_names_the_entry() {
        let err = AllowedHosts::parse(
            &["https://ok.test".into(), "https://bad.test:99999".into()],
            no_vars,
        )
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.starts_with("`allowed_outbound_hosts` is malformed"),
            "{text}"
        );
        assert!(text.contains("\"https://bad.test:99999\""), "{text}");
    }

    #[test]
    fn empty_list_allows_nothing() {
        let h = hosts(&[]);
        assert!(h.is_empty());
        assert!(!allows(&h, "https://example.com/"));
        assert!(!h.allows_self_request());
    }

    #[test]
    fn url_without_host_refused() {
        let h = hosts(&["*://*:*"]);
        assert!(!allows(&h, "data:text/plain,hi"));
    }

    #[test]
    fn templates_are_resolved_through_callback() {
        let entries = vec![
            "https://{{ api_host }}".to_string(),
            "http://literal.test".to_string(),
        ];
        let h = AllowedHosts::parse(&entries, |t| {
            assert_eq!(t, "https://{{ api_host }}");
            Ok("https://api.example.com".to_string())
        })
        .unwrap();
        assert!(allows(&h, "https://api.example.com/v1"));
        assert!(allows(&h, "http://literal.test/"));
        // Debug shows the entries as written, not the expanded values.
        assert_eq!(
            format!("{h:?}"),
            "[\"https://{{ api_host }}\", \"http://literal.test\"]"
        );
    }

    #[test]
    fn template_resolution_failure_is_startup_error() {
        let err = AllowedHosts::parse(&["https://{{ nope }}".into()], |_| {
            anyhow::bail!("unknown variable \"nope\"")
        })
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("{{ nope }}"), "{text}");
        assert!(text.contains("unknown variable"), "{text}");
    }

    #[test]
    fn template_expanding_to_invalid_entry_is_error() {
        let err =
            AllowedHosts::parse(&["{{ h }}".into()], |_| Ok("example.com".into())).unwrap_err();
        assert!(format!("{err:#}").contains("does not contain a scheme"));
    }

    #[test]
    fn host_pattern_and_denial_messages() {
        let u = Url::parse("https://example.com/path?q").unwrap();
        assert_eq!(host_pattern(&u), "https://example.com");
        let u = Url::parse("http://example.com:8080/").unwrap();
        assert_eq!(host_pattern(&u), "http://example.com:8080");
        assert_eq!(
            denial_log_message("http://example.com:8080"),
            "Outbound network destination not allowed: http://example.com:8080"
        );
        assert_eq!(
            denial_warning("https://example.com"),
            "Warning: A component tried to make an outbound network connection to disallowed destination 'https://example.com'.\nTo allow this request, add 'allowed_outbound_hosts = [\"https://example.com\"]' to the manifest component section."
        );
        assert!(denial_warning(SELF_HOST_PATTERN).contains("its own app"));
    }

    #[test]
    fn works_with_variables_resolver() {
        use crate::variables::{AppVariable, Resolver};
        use std::collections::BTreeMap;
        let vars = BTreeMap::from([(
            "backend".to_string(),
            AppVariable {
                default: Some("backend".into()),
                required: false,
                secret: false,
            },
        )]);
        let r = Resolver::new(vars, |_| None).unwrap();
        let h = AllowedHosts::parse(&["http://{{ backend }}.spin.internal".into()], |t| {
            r.resolve_template(t)
        })
        .unwrap();
        assert!(h.allows_component_chaining("backend"));
        assert!(!h.allows_component_chaining("frontend"));
        assert!(
            AllowedHosts::parse(&["http://{{ missing }}".into()], |t| r.resolve_template(t))
                .is_err()
        );
    }
}
