//! HTTP routing for the Spin-compatible host: a std-only re-implementation of Spin's
//! `crates/routes` (`spinframework/spin`, `crates/routes/src/lib.rs`), including the parts of
//! the `routefinder` 0.5 crate it delegates to (`src/route_spec.rs`, `src/segment.rs`,
//! `src/router.rs`), plus the Spin request headers built in
//! `crates/trigger-http/src/headers.rs` (`compute_default_headers` / `prepare_request_headers`).
//!
//! Semantics mirrored from Spin (manifest v2 / Spin 3+, where the base path is always `/`):
//!
//! * A route is "based": made absolute (`foo` -> `/foo`) and stripped of *one* trailing slash
//!   (`/foo/` -> `/foo`, `/` -> the empty string).
//! * `/...` at the end (or `/*`) is a trailing wildcard; `:name` is a single-segment wildcard.
//!   Routes are split on both `/` and `.`, so `/files/:name.json` captures `name` up to the dot.
//! * Precedence does not depend on declaration order: routes are kept sorted by routefinder's
//!   ordering, which compares the routes segment by segment and prefers, at the first segment
//!   kind that differs, exact text over `:param` over the `...` wildcard; with an equal prefix
//!   the route with fewer segments wins, and fully equal shapes keep declaration order. The
//!   first route in that order that matches the path wins. (Exception, as in Spin: a
//!   `.`-segment — a route starting `/.` or a `:param.ext` — compares ahead of anything in
//!   both directions, so there the later-declared route is tried first.)
//! * Matching ignores leading and trailing slashes of the request path (`/foo/` matches `/foo`),
//!   is case-sensitive and works on the raw, still percent-encoded path: nothing is decoded.
//! * Duplicate routes (the same string as written in the manifest) are resolved
//!   last-one-wins; the winner takes the position of the first declaration.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use anyhow::{Result, anyhow};

/// Paths under this prefix are served by the runtime itself (`health`, `info`) before routing;
/// routes declared under it are never reached.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

/// The application base path. Spin 3 removed the application-wide base, so it is always `/`.
const BASE: &str = "/";

/// Routes HTTP request paths to components the way Spin does.
#[derive(Clone, Debug)]
pub struct Router {
    /// Route specs in routefinder's precedence order, each pointing into `handlers`.
    ///
    /// This is a `BTreeMap` on purpose: routefinder keeps its routes in a `BTreeMap` keyed by a
    /// `RouteSpec` whose `Ord` is not a total order (it never returns `Equal`, and a `.`
    /// segment compares greater than everything in both directions). With such keys the final
    /// order depends on the B-tree's insertion algorithm, so reproducing Spin exactly means
    /// using the same container with the same comparison.
    table: BTreeMap<RouteSpec, usize>,
    handlers: Vec<Handler>,
}

/// What a route maps to.
#[derive(Clone, Debug)]
struct Handler {
    component_id: String,
    /// The route as written in the manifest.
    raw_route: String,
    /// The route made absolute, minus one trailing slash (`/` becomes the empty string).
    based_route: String,
    parsed: ParsedRoute,
}

/// The based route, noting whether it has a trailing wildcard (Spin's `ParsedRoute`).
#[derive(Clone, Debug)]
enum ParsedRoute {
    Exact(String),
    /// Holds the based route without its `/...` (or `/*`) suffix.
    TrailingWildcard(String),
}

/// A route that was declared more than once; only the last declaration is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateRoute {
    /// The duplicated route, based as Spin reports it (`/foo/` is reported as `/foo`; the root
    /// is reported as `/`).
    pub route: String,
    /// The component whose declaration was replaced (and is unreachable through this route).
    pub replaced_component: String,
    /// The component that now handles the route.
    pub effective_component: String,
}

/// The result of routing one request path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMatch {
    component_id: String,
    raw_route: String,
    based_route: String,
    path_info: String,
    params: Vec<(String, String)>,
}

impl Router {
    /// Builds a router from `routes` in manifest declaration order: (component id, route as
    /// written in spin.toml). Private routes are not passed in.
    ///
    /// Returns the duplicates found (the caller should log them: Spin reports
    /// "The following component routes are duplicates and will never be used:" followed by
    /// `  {replaced}: {route} (duplicate of {effective})` lines).
    ///
    /// # Errors
    ///
    /// Fails where Spin fails — a `:` with no name, or a named `*name` wildcard — and also for
    /// routes that Spin accepts but on which routefinder panics while matching a request: a
    /// wildcard that is not the last segment (`/*/x`, `/a/*.json`) or a `:param` followed by
    /// anything but `/`, `.` or the end of the route.
    pub fn build<'a>(
        routes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(Router, Vec<DuplicateRoute>)> {
        struct Entry<'a> {
            component_id: &'a str,
            raw_route: &'a str,
            based_route: String,
        }

        // Spin keys an `IndexMap` by the raw route: a later duplicate replaces the value but
        // keeps the position of the first declaration.
        let mut entries: Vec<Entry<'a>> = Vec::new();
        let mut positions: HashMap<&'a str, usize> = HashMap::new();
        let mut duplicates = Vec::new();

        for (component_id, raw_route) in routes {
            let entry = Entry {
                component_id,
                raw_route,
                based_route: sanitize_with_base(BASE, raw_route),
            };
            match positions.get(raw_route).and_then(|&i| entries.get_mut(i)) {
                Some(slot) => {
                    let replaced = std::mem::replace(slot, entry);
                    duplicates.push(DuplicateRoute {
                        route: root_if_empty(&replaced.based_route).to_owned(),
                        replaced_component: replaced.component_id.to_owned(),
                        effective_component: component_id.to_owned(),
                    });
                }
                None => {
                    positions.insert(raw_route, entries.len());
                    entries.push(entry);
                }
            }
        }

        let mut table = BTreeMap::new();
        let mut handlers = Vec::with_capacity(entries.len());
        for entry in entries {
            let (spec, parsed) = parse_route(&entry.based_route).map_err(|e| {
                anyhow!(
                    "Error parsing route {} associated with component {}: {e}",
                    entry.based_route,
                    entry.component_id,
                )
            })?;
            table.insert(spec, handlers.len());
            handlers.push(Handler {
                component_id: entry.component_id.to_owned(),
                raw_route: entry.raw_route.to_owned(),
                based_route: entry.based_route,
                parsed,
            });
        }

        Ok((Router { table, handlers }, duplicates))
    }

    /// Routes a request path (the raw path of the request URI, without the query).
    ///
    /// The caller is expected to handle [`WELL_KNOWN_PREFIX`] paths before calling this, as
    /// Spin does.
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        self.table.iter().find_map(|(spec, &index)| {
            let captures = spec.matches(path)?;
            let handler = self.handlers.get(index)?;
            Some(RouteMatch::new(handler, spec, &captures, path))
        })
    }

    /// The routes as (component id, route as written in the manifest), in precedence order —
    /// the order in which Spin lists them under "Available Routes".
    pub fn routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.handlers_in_order()
            .map(|h| (h.component_id.as_str(), h.raw_route.as_str()))
    }

    /// The routes as Spin prints them under "Available Routes", in the same order as
    /// [`Router::routes`]: (component id, text to append to the base URL). Spin prints
    /// `  {component}: {base_url}{text}`; the text is the based route, with a trailing wildcard
    /// shown as `{prefix} (wildcard)` — so `/` prints as the empty string and `/...` as
    /// ` (wildcard)`.
    pub fn available_routes(&self) -> impl Iterator<Item = (&str, String)> {
        self.handlers_in_order()
            .map(|h| (h.component_id.as_str(), h.parsed.to_string()))
    }

    /// True if a route lies under the reserved [`WELL_KNOWN_PREFIX`]; Spin logs an error
    /// ("Routes under /.well-known/spin/ are handled by the Spin runtime and will never be
    /// reached") in that case.
    pub fn contains_reserved_route(&self) -> bool {
        self.handlers
            .iter()
            .any(|h| h.based_route.starts_with(WELL_KNOWN_PREFIX))
    }

    fn handlers_in_order(&self) -> impl Iterator<Item = &Handler> {
        self.table
            .values()
            .filter_map(|&index| self.handlers.get(index))
    }
}

impl RouteMatch {
    fn new(handler: &Handler, spec: &RouteSpec, captures: &[&str], path: &str) -> Self {
        let mut params: Vec<(String, String)> = Vec::new();
        let mut wildcard = None;
        let capturing = spec
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Param(_) | Segment::Wildcard));
        for (segment, &value) in capturing.zip(captures) {
            match segment {
                // Spin collects the captures into a `HashMap`: a repeated name keeps the
                // last value.
                Segment::Param(name) => match params.iter_mut().find(|(n, _)| n == name) {
                    Some(existing) => existing.1 = value.to_owned(),
                    None => params.push((name.clone(), value.to_owned())),
                },
                Segment::Wildcard => wildcard = Some(value),
                _ => {}
            }
        }

        // Spin has traditionally kept the trailing slash in the path info; routefinder
        // trims it, so Spin puts it back.
        let path_info = match wildcard {
            None => String::new(),
            Some(w) => match (w.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".to_owned(),
                (false, false) => format!("/{w}"),
                (false, true) => format!("/{w}/"),
            },
        };

        RouteMatch {
            component_id: handler.component_id.clone(),
            raw_route: handler.raw_route.clone(),
            based_route: handler.based_route.clone(),
            path_info,
            params,
        }
    }

    /// The match Spin makes up for a service-chaining request
    /// (`http://<component>.spin.internal/<path>`): the component is named, not routed, and
    /// the whole path is the wildcard part (Spin's `RouteMatch::synthetic`).
    pub fn synthetic(component_id: &str, path: &str) -> RouteMatch {
        RouteMatch {
            component_id: component_id.to_owned(),
            raw_route: "/...".to_owned(),
            based_route: "/...".to_owned(),
            path_info: path.to_owned(),
            params: Vec::new(),
        }
    }

    /// The component that handles the request.
    pub fn component_id(&self) -> &str {
        &self.component_id
    }

    /// The route as written in the manifest (`spin-raw-component-route`).
    pub fn raw_route(&self) -> &str {
        &self.raw_route
    }

    /// The based route (`spin-matched-route`): absolute, one trailing slash removed, so the
    /// root route `/` gives the empty string.
    pub fn matched_route(&self) -> &str {
        &self.based_route
    }

    /// The raw route without a trailing `/...` (`spin-component-route`); `/...` gives the
    /// empty string.
    pub fn component_route(&self) -> &str {
        self.raw_route
            .strip_suffix("/...")
            .unwrap_or(&self.raw_route)
    }

    /// The part of the path matched by a trailing wildcard, with a leading `/` and keeping a
    /// trailing slash of the request path (`spin-path-info`); empty for routes without one.
    pub fn path_info(&self) -> &str {
        &self.path_info
    }

    /// The `:name` captures in route order: (name, raw segment, not percent-decoded).
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The Spin request headers for this match, as (name, value) pairs, in the order Spin
    /// adds them. `full_url` is `{scheme}://{host}{path and query}` (Spin takes the host from
    /// the `Host` header, defaulting to `localhost`), e.g. `http://127.0.0.1:3000/api/x?y=1`;
    /// `client_addr` is the peer socket address, e.g. `127.0.0.1:53211`.
    ///
    /// Spin appends these after the request's own headers (it does not remove incoming
    /// `spin-*` headers). A `:name` gives `spin-path-match-{name}` with `_` turned into `-`
    /// and ASCII letters lowercased; names that are not valid header names are left to the
    /// caller to drop, as Spin's wasi-http executor silently does.
    pub fn spin_headers(&self, full_url: &str, client_addr: &str) -> Vec<(String, String)> {
        let mut headers = vec![
            ("spin-path-info".to_owned(), self.path_info.clone()),
            ("spin-full-url".to_owned(), full_url.to_owned()),
            ("spin-matched-route".to_owned(), self.based_route.clone()),
            ("spin-base-path".to_owned(), BASE.to_owned()),
            (
                "spin-raw-component-route".to_owned(),
                self.raw_route.clone(),
            ),
            (
                "spin-component-route".to_owned(),
                self.component_route().to_owned(),
            ),
            ("spin-client-addr".to_owned(), client_addr.to_owned()),
        ];
        for (name, value) in &self.params {
            headers.push((path_match_header_name(name), value.clone()));
        }
        headers
    }
}

/// `SPIN_PATH_MATCH_{NAME}` turned into a header name the way Spin does it: uppercase the
/// name, then replace `_` by `-` and lowercase the whole key.
fn path_match_header_name(name: &str) -> String {
    format!("SPIN_PATH_MATCH_{}", name.to_ascii_uppercase())
        .replace('_', "-")
        .to_ascii_lowercase()
}

impl fmt::Display for ParsedRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParsedRoute::Exact(path) => write!(f, "{path}"),
            ParsedRoute::TrailingWildcard(prefix) => write!(f, "{prefix} (wildcard)"),
        }
    }
}

fn root_if_empty(route: &str) -> &str {
    if route.is_empty() { "/" } else { route }
}

/// Spin's `sanitize_with_base`: the base and the absolutized route, each with one trailing
/// slash removed, concatenated.
fn sanitize_with_base(base: &str, route: &str) -> String {
    let absolute = if route.starts_with('/') {
        route.to_owned()
    } else {
        format!("/{route}")
    };
    format!("{}{}", strip_one_slash(base), strip_one_slash(&absolute))
}

fn strip_one_slash(s: &str) -> &str {
    s.strip_suffix('/').unwrap_or(s)
}

/// Spin's `Router::parse_route`: `/...` becomes routefinder's `/*`; a route already ending
/// in `/*` is also a trailing wildcard.
fn parse_route(based_route: &str) -> Result<(RouteSpec, ParsedRoute), String> {
    if let Some(prefix) = based_route.strip_suffix("/...") {
        let spec = RouteSpec::parse(&format!("{prefix}/*"))?;
        Ok((spec, ParsedRoute::TrailingWildcard(prefix.to_owned())))
    } else if let Some(prefix) = based_route.strip_suffix("/*") {
        let spec = RouteSpec::parse(based_route)?;
        Ok((spec, ParsedRoute::TrailingWildcard(prefix.to_owned())))
    } else {
        let spec = RouteSpec::parse(based_route)?;
        Ok((spec, ParsedRoute::Exact(based_route.to_owned())))
    }
}

/// routefinder's `Segment`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Slash,
    Dot,
    Exact(String),
    Param(String),
    Wildcard,
}

impl Segment {
    /// routefinder's `Ord for Segment`, arm for arm. It is not antisymmetric: `Dot` compares
    /// greater than `Exact`, `Param` and `Wildcard`, and each of those greater than `Dot`.
    fn precedence_cmp(&self, other: &Segment) -> Ordering {
        use Ordering::{Equal, Greater, Less};
        use Segment::{Dot, Exact, Param, Slash, Wildcard};
        match (self, other) {
            (Exact(_), Exact(_))
            | (Slash, Slash)
            | (Dot, Slash)
            | (Slash, Dot)
            | (Dot, Dot)
            | (Param(_), Param(_))
            | (Wildcard, Wildcard) => Equal,
            (Dot, _) => Greater,
            (Exact(_), _) => Greater,
            (Param(_), Exact(_)) => Less,
            (Param(_), _) => Greater,
            (Wildcard, Exact(_)) | (Wildcard, Param(_)) => Less,
            (Wildcard, _) => Greater,
            _ => Less,
        }
    }
}

/// routefinder's `RouteSpec`: a parsed route.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RouteSpec {
    source: String,
    segments: Vec<Segment>,
}

impl RouteSpec {
    /// routefinder's `FromStr for RouteSpec`, including its quirks: the route is split on both
    /// `/` and `.`, a `.` is glued onto a preceding exact segment, and the separator before a
    /// section is looked up by *char* index using a *byte* offset.
    fn parse(source: &str) -> Result<Self, String> {
        let trimmed = source.trim_start_matches('/').trim_end_matches('/');
        let mut segments: Vec<Segment> = Vec::new();
        let mut last_index = 0;
        let ends = trimmed
            .match_indices(['.', '/'])
            .map(|(i, _)| i)
            .chain(std::iter::once(trimmed.len()));
        for index in ends {
            let first_char = if last_index == 0 {
                None
            } else {
                trimmed.chars().nth(last_index - 1)
            };
            let section = trimmed
                .get(last_index..index)
                .ok_or_else(|| format!("cannot split route `{source}`"))?;
            last_index = index + 1;

            let segment = match (section.chars().next(), section.len()) {
                (Some('*'), 1) => Some(Segment::Wildcard),
                (Some('*'), _) => {
                    return Err(format!(
                        "since there can only be one wildcard, it doesn't need a name. \
                         replace `{section}` with `*`"
                    ));
                }
                (Some(':'), 1) => return Err("params must be named".to_owned()),
                (Some(':'), _) => Some(Segment::Param(
                    section.strip_prefix(':').unwrap_or(section).to_owned(),
                )),
                (None, 0) => None,
                (_, _) => Some(Segment::Exact(section.to_owned())),
            };

            if first_char == Some('.') {
                if let Some(Segment::Exact(s)) = segments.last_mut() {
                    s.push('.');
                } else {
                    segments.push(Segment::Dot);
                }
            }
            if let Some(segment) = segment {
                if first_char == Some('/') {
                    segments.push(Segment::Slash);
                }
                segments.push(segment);
            }
        }

        // routefinder panics while matching such routes; refuse them up front instead.
        let mut iter = segments.iter().peekable();
        while let Some(segment) = iter.next() {
            match (segment, iter.peek()) {
                (Segment::Wildcard, Some(_)) => {
                    return Err("the wildcard must be the last segment of the route".to_owned());
                }
                (Segment::Param(name), Some(Segment::Exact(_) | Segment::Param(_)))
                | (Segment::Param(name), Some(Segment::Wildcard)) => {
                    return Err(format!(
                        "`:{name}` must be followed by `/`, `.` or the end of the route"
                    ));
                }
                _ => {}
            }
        }

        Ok(RouteSpec {
            source: source.to_owned(),
            segments,
        })
    }

    fn dots(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Dot))
            .count()
    }

    /// routefinder's `RouteSpec::matches`: the captures (params, then the wildcard) if the
    /// path matches. Leading and trailing slashes of the path are ignored.
    fn matches<'p>(&self, path: &'p str) -> Option<Vec<&'p str>> {
        let mut captures = Vec::new();
        let trimmed = path.trim_start_matches('/').trim_end_matches('/');
        let rest = self.inner_match(trimmed, &mut captures)?;
        (rest.is_empty() || rest == "/").then_some(captures)
    }

    fn inner_match<'p>(&self, mut path: &'p str, captures: &mut Vec<&'p str>) -> Option<&'p str> {
        let mut peek = self.segments.iter().peekable();
        while let Some(segment) = peek.next() {
            path = match segment {
                Segment::Exact(e) => path.strip_prefix(e.as_str())?,
                Segment::Param(_) => {
                    if path.is_empty() {
                        return None;
                    }
                    match peek.peek() {
                        None | Some(Segment::Slash) => {
                            let capture = path.split('/').next().unwrap_or(path);
                            captures.push(capture);
                            path.get(capture.len()..)?
                        }
                        Some(Segment::Dot) => {
                            let index = path.find(['.', '/'])?;
                            // routefinder checks the char at the *char* index equal to the
                            // byte index found above.
                            if path.chars().nth(index) == Some('.') {
                                captures.push(path.get(..index)?);
                                path.get(index..)?
                            } else {
                                return None;
                            }
                        }
                        // Rejected by `parse`.
                        Some(_) => return None,
                    }
                }
                Segment::Wildcard => match peek.peek() {
                    None => {
                        captures.push(path);
                        ""
                    }
                    // Rejected by `parse`.
                    Some(_) => return None,
                },
                Segment::Slash => match (path.chars().next(), peek.peek()) {
                    (Some('/'), Some(_)) => path.get(1..)?,
                    (None, None) | (None, Some(Segment::Wildcard)) => path,
                    _ => return None,
                },
                Segment::Dot => path.strip_prefix('.')?,
            };
        }
        Some(path)
    }
}

impl PartialOrd for RouteSpec {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RouteSpec {
    /// routefinder's `Ord for RouteSpec`: "smaller" sorts first and so takes precedence. The
    /// first differing segment kind decides (exact before param before wildcard), then the
    /// route with more dots, then the shorter route; it never returns `Equal`, so an equal
    /// shape is placed after the routes already in the tree.
    fn cmp(&self, other: &Self) -> Ordering {
        self.segments
            .iter()
            .zip(&other.segments)
            .map(|(mine, theirs)| mine.precedence_cmp(theirs))
            .chain(std::iter::once_with(|| self.dots().cmp(&other.dots())))
            .chain(std::iter::once_with(|| {
                other.segments.len().cmp(&self.segments.len())
            }))
            .find(|c| *c != Ordering::Equal)
            .unwrap_or(Ordering::Less)
            .reverse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    fn router(routes: &[(&str, &str)]) -> Result<Router> {
        Ok(Router::build(routes.iter().copied())?.0)
    }

    fn component_for(router: &Router, path: &str) -> Option<String> {
        router.route(path).map(|m| m.component_id().to_owned())
    }

    fn route(router: &Router, path: &str) -> Result<RouteMatch> {
        router
            .route(path)
            .with_context(|| format!("{path} should have matched"))
    }

    fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn exact_routes_match_only_their_path() -> Result<()> {
        let r = router(&[("foo", "/foo"), ("foobar", "/foo/bar")])?;
        assert_eq!(component_for(&r, "/foo").as_deref(), Some("foo"));
        assert_eq!(component_for(&r, "/foo/bar").as_deref(), Some("foobar"));
        assert_eq!(component_for(&r, "/foo/baz"), None);
        assert_eq!(component_for(&r, "/foobar"), None);
        assert_eq!(component_for(&r, "/fo"), None);
        assert_eq!(component_for(&r, "/"), None);
        Ok(())
    }

    #[test]
    fn exact_routes_are_case_sensitive() -> Result<()> {
        let r = router(&[("foo", "/Foo")])?;
        assert_eq!(component_for(&r, "/Foo").as_deref(), Some("foo"));
        assert_eq!(component_for(&r, "/foo"), None);
        Ok(())
    }

    #[test]
    fn catch_all_matches_every_path() -> Result<()> {
        let r = router(&[("all", "/...")])?;
        for path in ["/", "", "/foo/bar", "/abc/", "//", "/a.b/c.d"] {
            assert_eq!(component_for(&r, path).as_deref(), Some("all"), "{path}");
        }
        Ok(())
    }

    #[test]
    fn trailing_wildcard_matches_prefix_and_everything_below() -> Result<()> {
        let r = router(&[("static", "/static/...")])?;
        for path in ["/static", "/static/", "/static/a", "/static/a/b/c.css"] {
            assert_eq!(component_for(&r, path).as_deref(), Some("static"), "{path}");
        }
        for path in ["/", "/staticx", "/static.css", "/stat", "/other/static"] {
            assert_eq!(component_for(&r, path), None, "{path}");
        }
        Ok(())
    }

    #[test]
    fn star_suffix_is_also_a_trailing_wildcard() -> Result<()> {
        let r = router(&[("star", "/files/*")])?;
        let m = route(&r, "/files/a/b")?;
        assert_eq!(m.component_id(), "star");
        assert_eq!(m.path_info(), "/a/b");
        // Spin only strips `/...` for the component route.
        assert_eq!(m.component_route(), "/files/*");
        assert_eq!(m.matched_route(), "/files/*");
        Ok(())
    }

    #[test]
    fn param_matches_exactly_one_segment() -> Result<()> {
        let r = router(&[("review", "/api/applications/:id/review")])?;
        let m = route(&r, "/api/applications/42/review")?;
        assert_eq!(m.component_id(), "review");
        assert_eq!(m.params(), owned(&[("id", "42")]).as_slice());
        for path in [
            "/api/applications/review",
            "/api/applications/42",
            "/api/applications/4/2/review",
            "/api/applications/42/review/x",
        ] {
            assert_eq!(component_for(&r, path), None, "{path}");
        }
        Ok(())
    }

    #[test]
    fn param_followed_by_dot_captures_up_to_the_dot() -> Result<()> {
        let r = router(&[("json", "/files/:name.json")])?;
        let m = route(&r, "/files/report.json")?;
        assert_eq!(m.params(), owned(&[("name", "report")]).as_slice());
        assert_eq!(component_for(&r, "/files/report.txt"), None);
        assert_eq!(component_for(&r, "/files/report"), None);
        Ok(())
    }

    #[test]
    fn param_before_trailing_wildcard() -> Result<()> {
        let r = router(&[("user", "/foo/:userid/...")])?;
        let m = route(&r, "/foo/42/bar/baz")?;
        assert_eq!(m.params(), owned(&[("userid", "42")]).as_slice());
        assert_eq!(m.path_info(), "/bar/baz");
        let m = route(&r, "/foo/42")?;
        assert_eq!(m.path_info(), "");
        assert_eq!(component_for(&r, "/foo"), None);
        Ok(())
    }

    #[test]
    fn exact_beats_wildcard_regardless_of_order() -> Result<()> {
        for routes in [
            [("exact", "/one"), ("wild", "/...")],
            [("wild", "/..."), ("exact", "/one")],
        ] {
            let r = router(&routes)?;
            assert_eq!(component_for(&r, "/one").as_deref(), Some("exact"));
            assert_eq!(component_for(&r, "/two").as_deref(), Some("wild"));
        }
        Ok(())
    }

    #[test]
    fn exact_beats_wildcard_on_same_prefix() -> Result<()> {
        for routes in [
            [("exact", "/foo"), ("wild", "/foo/...")],
            [("wild", "/foo/..."), ("exact", "/foo")],
        ] {
            let r = router(&routes)?;
            assert_eq!(component_for(&r, "/foo").as_deref(), Some("exact"));
            assert_eq!(component_for(&r, "/foo/").as_deref(), Some("exact"));
            assert_eq!(component_for(&r, "/foo/x").as_deref(), Some("wild"));
        }
        Ok(())
    }

    #[test]
    fn root_route_beats_catch_all_for_slash() -> Result<()> {
        for routes in [
            [("root", "/"), ("all", "/...")],
            [("all", "/..."), ("root", "/")],
        ] {
            let r = router(&routes)?;
            assert_eq!(component_for(&r, "/").as_deref(), Some("root"));
            assert_eq!(component_for(&r, "/x").as_deref(), Some("all"));
        }
        Ok(())
    }

    #[test]
    fn longest_wildcard_prefix_wins_regardless_of_order() -> Result<()> {
        let forward = [
            ("one", "/one/..."),
            ("onetwo", "/one/two/..."),
            ("onetwothree", "/one/two/three/..."),
        ];
        let mut backward = forward;
        backward.reverse();
        for routes in [forward, backward] {
            let r = router(&routes)?;
            assert_eq!(
                component_for(&r, "/one/two/three/four").as_deref(),
                Some("onetwothree")
            );
            assert_eq!(component_for(&r, "/one/two/x").as_deref(), Some("onetwo"));
            assert_eq!(component_for(&r, "/one/two").as_deref(), Some("onetwo"));
            assert_eq!(component_for(&r, "/one/x").as_deref(), Some("one"));
        }
        Ok(())
    }

    #[test]
    fn exact_beats_param_beats_wildcard_regardless_of_order() -> Result<()> {
        let routes = [
            ("wild", "/users/..."),
            ("param", "/users/:id"),
            ("exact", "/users/me"),
        ];
        let mut reversed = routes;
        reversed.reverse();
        for routes in [routes, reversed] {
            let r = router(&routes)?;
            assert_eq!(component_for(&r, "/users/me").as_deref(), Some("exact"));
            assert_eq!(component_for(&r, "/users/42").as_deref(), Some("param"));
            assert_eq!(component_for(&r, "/users/42/x").as_deref(), Some("wild"));
            assert_eq!(component_for(&r, "/users").as_deref(), Some("wild"));
        }
        Ok(())
    }

    #[test]
    fn earliest_exact_segment_decides_between_params() -> Result<()> {
        // The first segment where the kinds differ decides: `/a/:x` beats `/:y/b` for `/a/b`
        // even though both have one exact and one param segment.
        for routes in [
            [("a-first", "/a/:x"), ("b-second", "/:y/b")],
            [("b-second", "/:y/b"), ("a-first", "/a/:x")],
        ] {
            let r = router(&routes)?;
            assert_eq!(component_for(&r, "/a/b").as_deref(), Some("a-first"));
            assert_eq!(component_for(&r, "/z/b").as_deref(), Some("b-second"));
        }
        Ok(())
    }

    #[test]
    fn param_route_beats_longer_wildcard_route_when_param_comes_first() -> Result<()> {
        // `/:a/...` vs `/x/y/...`: the exact `x` beats the param at the first segment.
        let r = router(&[("param", "/:a/..."), ("deep", "/x/y/...")])?;
        assert_eq!(component_for(&r, "/x/y/z").as_deref(), Some("deep"));
        assert_eq!(component_for(&r, "/x/z").as_deref(), Some("param"));
        Ok(())
    }

    #[test]
    fn same_shape_routes_keep_declaration_order() -> Result<()> {
        let r = router(&[("first", "/:a"), ("second", "/:b")])?;
        assert_eq!(component_for(&r, "/x").as_deref(), Some("first"));
        let r = router(&[("second", "/:b"), ("first", "/:a")])?;
        assert_eq!(component_for(&r, "/x").as_deref(), Some("second"));
        Ok(())
    }

    #[test]
    fn dot_leading_route_against_catch_all_follows_declaration_like_spin() -> Result<()> {
        // routefinder's segment order is not antisymmetric for `.`-segments, so between a
        // route starting with `/.` and one with a different kind of first segment, the one
        // declared *later* is tried first. Kept as is to route exactly like Spin.
        let r = router(&[("acme", "/.well-known/acme/..."), ("all", "/...")])?;
        assert_eq!(
            component_for(&r, "/.well-known/acme/x").as_deref(),
            Some("all")
        );
        let r = router(&[("all", "/..."), ("acme", "/.well-known/acme/...")])?;
        assert_eq!(
            component_for(&r, "/.well-known/acme/x").as_deref(),
            Some("acme")
        );
        Ok(())
    }

    #[test]
    fn trailing_slash_in_route_is_ignored_for_matching() -> Result<()> {
        let r = router(&[("foo", "/foo/")])?;
        for path in ["/foo", "/foo/", "/foo//", "//foo"] {
            assert_eq!(component_for(&r, path).as_deref(), Some("foo"), "{path}");
        }
        let m = route(&r, "/foo")?;
        assert_eq!(m.raw_route(), "/foo/");
        assert_eq!(m.matched_route(), "/foo");
        assert_eq!(m.component_route(), "/foo/");
        Ok(())
    }

    #[test]
    fn trailing_slash_in_path_matches_exact_route() -> Result<()> {
        let r = router(&[("foo", "/foo")])?;
        let m = route(&r, "/foo/")?;
        assert_eq!(m.component_id(), "foo");
        assert_eq!(m.path_info(), "");
        Ok(())
    }

    #[test]
    fn routes_differing_by_trailing_slash_are_not_duplicates() -> Result<()> {
        // Spin de-duplicates on the route as written, so both are kept; they match the
        // same paths and the first declared wins.
        let (r, dups) = Router::build([("a", "/foo"), ("b", "/foo/")])?;
        assert!(dups.is_empty());
        assert_eq!(r.routes().count(), 2);
        assert_eq!(component_for(&r, "/foo").as_deref(), Some("a"));
        Ok(())
    }

    #[test]
    fn relative_route_is_made_absolute() -> Result<()> {
        let r = router(&[("foo", "foo")])?;
        let m = route(&r, "/foo")?;
        assert_eq!(m.raw_route(), "foo");
        assert_eq!(m.matched_route(), "/foo");
        Ok(())
    }

    #[test]
    fn path_info_for_exact_route_is_empty() -> Result<()> {
        let r = router(&[("x", "/api/x")])?;
        assert_eq!(route(&r, "/api/x")?.path_info(), "");
        Ok(())
    }

    #[test]
    fn path_info_for_trailing_wildcard_keeps_trailing_slash() -> Result<()> {
        let r = router(&[("t", "/test/...")])?;
        assert_eq!(route(&r, "/test")?.path_info(), "");
        assert_eq!(route(&r, "/test/")?.path_info(), "/");
        assert_eq!(route(&r, "/test/hello")?.path_info(), "/hello");
        assert_eq!(route(&r, "/test/hello/")?.path_info(), "/hello/");
        assert_eq!(route(&r, "/test/a/b/c")?.path_info(), "/a/b/c");
        Ok(())
    }

    #[test]
    fn path_info_for_catch_all_is_whole_path() -> Result<()> {
        let r = router(&[("all", "/...")])?;
        assert_eq!(route(&r, "/1/2/3")?.path_info(), "/1/2/3");
        assert_eq!(route(&r, "/")?.path_info(), "/");
        assert_eq!(route(&r, "/a/")?.path_info(), "/a/");
        Ok(())
    }

    #[test]
    fn path_info_for_param_route_is_empty() -> Result<()> {
        let r = router(&[("p", "/users/:id")])?;
        assert_eq!(route(&r, "/users/7")?.path_info(), "");
        Ok(())
    }

    #[test]
    fn percent_encoded_path_is_matched_raw() -> Result<()> {
        let r = router(&[("cafe", "/caf%C3%A9"), ("user", "/users/:name/...")])?;
        assert_eq!(component_for(&r, "/caf%C3%A9").as_deref(), Some("cafe"));
        assert_eq!(component_for(&r, "/café"), None);
        // An encoded slash does not split a segment, and nothing is decoded.
        let m = route(&r, "/users/john%20doe%2Fjr/a%20b")?;
        assert_eq!(m.params(), owned(&[("name", "john%20doe%2Fjr")]).as_slice());
        assert_eq!(m.path_info(), "/a%20b");
        let headers = m.spin_headers("http://h/users/john%20doe%2Fjr/a%20b", "1.2.3.4:5");
        assert_eq!(
            header(&headers, "spin-path-match-name"),
            Some("john%20doe%2Fjr")
        );
        Ok(())
    }

    #[test]
    fn empty_segment_between_slashes_is_captured_as_empty_param() -> Result<()> {
        // routefinder quirk kept: `/a//c` matches `/a/:b/c` with an empty `b`.
        let r = router(&[("p", "/a/:b/c")])?;
        assert_eq!(route(&r, "/a//c")?.params(), owned(&[("b", "")]).as_slice());
        Ok(())
    }

    #[test]
    fn repeated_param_name_keeps_last_value() -> Result<()> {
        let r = router(&[("p", "/:id/:id")])?;
        assert_eq!(
            route(&r, "/1/2")?.params(),
            owned(&[("id", "2")]).as_slice()
        );
        Ok(())
    }

    #[test]
    fn duplicates_last_one_wins_and_are_reported() -> Result<()> {
        let (r, dups) = Router::build([
            ("comp-/", "/"),
            ("comp-first /foo", "/foo"),
            ("comp-second /foo", "/foo"),
            ("comp-/whee/...", "/whee/..."),
        ])?;
        assert_eq!(r.routes().count(), 3);
        assert_eq!(
            component_for(&r, "/foo").as_deref(),
            Some("comp-second /foo")
        );
        assert_eq!(
            dups,
            vec![DuplicateRoute {
                route: "/foo".into(),
                replaced_component: "comp-first /foo".into(),
                effective_component: "comp-second /foo".into(),
            }]
        );
        Ok(())
    }

    #[test]
    fn duplicate_reporting_matches_spin() -> Result<()> {
        let (_, dups) = Router::build([
            ("first /", "/"),
            ("second /", "/"),
            ("first /foo", "/foo"),
            ("second /foo", "/foo"),
            ("first /...", "/..."),
            ("second /...", "/..."),
            ("first /whee/...", "/whee/..."),
            ("second /whee/...", "/whee/..."),
            ("third /whee/...", "/whee/..."),
        ])?;
        let got: Vec<(&str, &str, &str)> = dups
            .iter()
            .map(|d| {
                (
                    d.route.as_str(),
                    d.replaced_component.as_str(),
                    d.effective_component.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("/", "first /", "second /"),
                ("/foo", "first /foo", "second /foo"),
                ("/...", "first /...", "second /..."),
                ("/whee/...", "first /whee/...", "second /whee/..."),
                ("/whee/...", "second /whee/...", "third /whee/..."),
            ]
        );
        Ok(())
    }

    #[test]
    fn duplicate_takes_position_of_first_declaration() -> Result<()> {
        // `/:a` is replaced in place, so it stays ahead of the same-shaped `/:b`.
        let (r, _) = Router::build([("a1", "/:a"), ("b", "/:b"), ("a2", "/:a")])?;
        assert_eq!(component_for(&r, "/x").as_deref(), Some("a2"));
        Ok(())
    }

    #[test]
    fn routes_are_listed_in_precedence_order() -> Result<()> {
        let r = router(&[
            ("all", "/..."),
            ("root", "/"),
            ("foo", "/foo"),
            ("bar", "/bar"),
            ("whee", "/whee/..."),
            ("user", "/users/:id"),
        ])?;
        let listed: Vec<(&str, &str)> = r.routes().collect();
        assert_eq!(
            listed,
            vec![
                ("root", "/"),
                ("foo", "/foo"),
                ("bar", "/bar"),
                ("user", "/users/:id"),
                ("whee", "/whee/..."),
                ("all", "/..."),
            ]
        );
        Ok(())
    }

    #[test]
    fn sensible_routes_keep_declaration_order_in_listing() -> Result<()> {
        let r = router(&[
            ("comp-/", "/"),
            ("comp-/foo", "/foo"),
            ("comp-/bar", "/bar"),
            ("comp-/whee/...", "/whee/..."),
        ])?;
        let ids: Vec<&str> = r.routes().map(|(c, _)| c).collect();
        assert_eq!(
            ids,
            vec!["comp-/", "comp-/foo", "comp-/bar", "comp-/whee/..."]
        );
        Ok(())
    }

    #[test]
    fn available_routes_display_like_spin() -> Result<()> {
        let r = router(&[
            ("root", "/"),
            ("all", "/..."),
            ("whee", "/whee/..."),
            ("foo", "/foo/"),
            ("user", "/users/:id"),
        ])?;
        let shown: Vec<(&str, String)> = r.available_routes().collect();
        assert_eq!(
            shown,
            vec![
                ("root", String::new()),
                ("foo", "/foo".to_owned()),
                ("user", "/users/:id".to_owned()),
                ("whee", "/whee (wildcard)".to_owned()),
                ("all", " (wildcard)".to_owned()),
            ]
        );
        Ok(())
    }

    #[test]
    fn reserved_routes_are_detected() -> Result<()> {
        assert!(router(&[("c", "/.well-known/spin/...")])?.contains_reserved_route());
        assert!(router(&[("c", "/.well-known/spin/fie")])?.contains_reserved_route());
        assert!(!router(&[("c", "/.well-known/spindle/...")])?.contains_reserved_route());
        assert!(!router(&[("c", "/.well-known/spin")])?.contains_reserved_route());
        Ok(())
    }

    #[test]
    fn invalid_routes_are_rejected() {
        for bad in [
            ":",
            "/foo/:",
            "/foo/*name",
            "/*/x",
            "/a/*.json",
            "/a/.../b/*/c",
        ] {
            let err = Router::build([("comp", bad)]);
            assert!(err.is_err(), "{bad} should be rejected");
        }
        let message = Router::build([("comp", "/x/:")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("comp"), "{message}");
        assert!(message.contains("params must be named"), "{message}");
    }

    #[test]
    fn dots_inside_routes_are_literal_text() -> Result<()> {
        let r = router(&[("a", "/a.../b"), ("v", "/v1.2/x")])?;
        assert_eq!(component_for(&r, "/a.../b").as_deref(), Some("a"));
        assert_eq!(component_for(&r, "/v1.2/x").as_deref(), Some("v"));
        assert_eq!(component_for(&r, "/v1x2/x"), None);
        Ok(())
    }

    #[test]
    fn headers_for_exact_route() -> Result<()> {
        let r = router(&[("x", "/api/x")])?;
        let m = route(&r, "/api/x")?;
        assert_eq!(
            m.spin_headers("http://127.0.0.1:3000/api/x?y=1", "127.0.0.1:53211"),
            owned(&[
                ("spin-path-info", ""),
                ("spin-full-url", "http://127.0.0.1:3000/api/x?y=1"),
                ("spin-matched-route", "/api/x"),
                ("spin-base-path", "/"),
                ("spin-raw-component-route", "/api/x"),
                ("spin-component-route", "/api/x"),
                ("spin-client-addr", "127.0.0.1:53211"),
            ])
        );
        Ok(())
    }

    #[test]
    fn headers_for_wildcard_route() -> Result<()> {
        let r = router(&[("dummy", "/foo/...")])?;
        let m = route(&r, "/foo/bar")?;
        assert_eq!(
            m.spin_headers(
                "https://fermyon.dev/foo/bar?key1=value1&key2=value2",
                "127.0.0.1:8777"
            ),
            owned(&[
                ("spin-path-info", "/bar"),
                (
                    "spin-full-url",
                    "https://fermyon.dev/foo/bar?key1=value1&key2=value2"
                ),
                ("spin-matched-route", "/foo/..."),
                ("spin-base-path", "/"),
                ("spin-raw-component-route", "/foo/..."),
                ("spin-component-route", "/foo"),
                ("spin-client-addr", "127.0.0.1:8777"),
            ])
        );
        Ok(())
    }

    #[test]
    fn headers_for_param_and_wildcard_route() -> Result<()> {
        let r = router(&[("dummy", "/foo/:userid/...")])?;
        let m = route(&r, "/foo/42/bar")?;
        let headers = m.spin_headers("https://fermyon.dev/foo/42/bar?k=v", "127.0.0.1:8777");
        assert_eq!(
            headers,
            owned(&[
                ("spin-path-info", "/bar"),
                ("spin-full-url", "https://fermyon.dev/foo/42/bar?k=v"),
                ("spin-matched-route", "/foo/:userid/..."),
                ("spin-base-path", "/"),
                ("spin-raw-component-route", "/foo/:userid/..."),
                ("spin-component-route", "/foo/:userid"),
                ("spin-client-addr", "127.0.0.1:8777"),
                ("spin-path-match-userid", "42"),
            ])
        );
        Ok(())
    }

    #[test]
    fn headers_for_param_route() -> Result<()> {
        let r = router(&[("review", "/api/applications/:id/review")])?;
        let m = route(&r, "/api/applications/abc/review")?;
        let headers = m.spin_headers(
            "http://localhost:3000/api/applications/abc/review",
            "[::1]:1",
        );
        assert_eq!(header(&headers, "spin-path-info"), Some(""));
        assert_eq!(
            header(&headers, "spin-matched-route"),
            Some("/api/applications/:id/review")
        );
        assert_eq!(
            header(&headers, "spin-component-route"),
            Some("/api/applications/:id/review")
        );
        assert_eq!(header(&headers, "spin-path-match-id"), Some("abc"));
        assert_eq!(header(&headers, "spin-client-addr"), Some("[::1]:1"));
        assert_eq!(headers.len(), 8);
        Ok(())
    }

    #[test]
    fn headers_for_catch_all_route() -> Result<()> {
        let r = router(&[("all", "/...")])?;
        let m = route(&r, "/a/b")?;
        let headers = m.spin_headers("http://h/a/b", "c");
        assert_eq!(header(&headers, "spin-path-info"), Some("/a/b"));
        assert_eq!(header(&headers, "spin-matched-route"), Some("/..."));
        assert_eq!(header(&headers, "spin-raw-component-route"), Some("/..."));
        assert_eq!(header(&headers, "spin-component-route"), Some(""));
        assert_eq!(header(&headers, "spin-base-path"), Some("/"));
        Ok(())
    }

    #[test]
    fn headers_for_root_route() -> Result<()> {
        let r = router(&[("root", "/")])?;
        let m = route(&r, "/")?;
        let headers = m.spin_headers("http://h/", "c");
        assert_eq!(header(&headers, "spin-path-info"), Some(""));
        // The based root route is the empty string.
        assert_eq!(header(&headers, "spin-matched-route"), Some(""));
        assert_eq!(header(&headers, "spin-raw-component-route"), Some("/"));
        assert_eq!(header(&headers, "spin-component-route"), Some("/"));
        Ok(())
    }

    #[test]
    fn param_header_names_use_dashes_and_lowercase() -> Result<()> {
        let r = router(&[("p", "/:path_segment/:UserId/...")])?;
        let m = route(&r, "/path/end/rest")?;
        let headers = m.spin_headers("u", "a");
        assert_eq!(
            header(&headers, "spin-path-match-path-segment"),
            Some("path")
        );
        assert_eq!(header(&headers, "spin-path-match-userid"), Some("end"));
        assert_eq!(header(&headers, "spin-path-info"), Some("/rest"));
        assert_eq!(
            header(&headers, "spin-component-route"),
            Some("/:path_segment/:UserId")
        );
        Ok(())
    }

    #[test]
    fn no_route_matches_gives_none() -> Result<()> {
        let r = router(&[("foo", "/foo"), ("bar", "/bar/...")])?;
        assert!(r.route("/baz").is_none());
        let empty = router(&[])?;
        assert!(empty.route("/").is_none());
        Ok(())
    }

    #[test]
    fn many_routes_keep_precedence() -> Result<()> {
        // More routes than one B-tree node holds.
        let names: Vec<String> = (0..40).map(|i| format!("/r{i}")).collect();
        let mut routes: Vec<(&str, &str)> = vec![("all", "/..."), ("param", "/:x")];
        routes.extend(names.iter().map(|n| ("exact", n.as_str())));
        routes.push(("deep", "/r7/..."));
        let r = router(&routes)?;
        assert_eq!(component_for(&r, "/r7").as_deref(), Some("exact"));
        assert_eq!(component_for(&r, "/r7/x").as_deref(), Some("deep"));
        assert_eq!(component_for(&r, "/zz").as_deref(), Some("param"));
        assert_eq!(component_for(&r, "/zz/y").as_deref(), Some("all"));
        Ok(())
    }
}
