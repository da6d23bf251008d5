//! The pages for people (issue 14, item 1), rendered by `certflow_pages`:
//! - `GET /`, `GET /apply`: the consultation form, with a fresh idempotency key (I7) per load;
//! - `GET /applications/:id`: the applicant's token form; `POST /applications/:id` with the
//!   form field `access_token` (never in a URL): the status, readiness flags and history, read
//!   from intake (`GET /api/applications/:id` with the token as bearer); a wrong token or an
//!   unknown id is the 404 page (R3: the two look the same);
//! - `GET /verify`: the search form; `GET /verify?number=X`: 303 to `/certificates/X`;
//! - `GET /certificates/:number`: the public view (C6) from the certificate component, or the
//!   404 page.
//!
//! Language: `?lang=zh|en`, then `Accept-Language`, then the `site_default_language` variable,
//! then `zh`. Every page carries a CSP allowing only its inline style and script.

use certflow_component::{Method, Outcome, Reply, Request, method_not_allowed, random_bytes};
use certflow_domain::Problem;
use certflow_pages::form::{FormState, render};
use certflow_pages::page::{self, HTML};
use certflow_pages::{Lang, Page, negotiate_language};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::Value;

/// Characters escaped in a path segment (RFC 3986 §3.3: everything but unreserved and
/// sub-delims is escaped here, `/` included).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// The value of query parameter `name`, decoded (`+` is a space).
fn query_value(req: &Request, name: &str) -> Option<String> {
    form_urlencoded::parse(req.query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The page language of this request.
fn language(req: &Request) -> Lang {
    language_of(&req.query, req.header("accept-language"))
}

/// The page language for a query string (its `lang`) and an `Accept-Language` header.
fn language_of(query: &str, accept_language: Option<&str>) -> Lang {
    let default = spin_sdk::variables::get("site_default_language").ok();
    let lang = form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == "lang")
        .map(|(_, v)| v.into_owned());
    negotiate_language(lang.as_deref(), accept_language, default.as_deref()).lang
}

/// A problem of a page's URL as a page, for a person (issue 14): a 404 is the 404 page,
/// anything else the problem page with its status (and the headers the status calls for:
/// `allow` for a 405). `query` is the request's query (its `lang`).
pub fn problem_page(problem: &Problem, query: &str, accept_language: Option<&str>) -> Reply {
    let lang = language_of(query, accept_language);
    let page = if problem.status == 404 {
        page::not_found(lang, "/")
    } else {
        page::problem(
            lang,
            problem.status,
            &problem.kind,
            &problem.title,
            problem.detail.as_deref(),
        )
    };
    page.headers("no-store").into_iter().fold(
        Reply::problem_with_body(problem, HTML, page.render()),
        |reply, (name, value)| reply.header(name, value),
    )
}

/// A page as a reply with its headers.
fn reply(status: u16, page: &Page, cache: &str) -> Reply {
    page.headers(cache).into_iter().fold(
        Reply::new(status, HTML, page.render()),
        |reply, (name, value)| reply.header(name, value),
    )
}

fn not_found(lang: Lang, path: &str) -> Reply {
    reply(404, &page::not_found(lang, path), "no-store")
}

/// Routes a page request.
pub async fn route(req: &Request) -> Outcome {
    let lang = language(req);
    let path = req.path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    match (segments.as_slice(), &req.method) {
        ([] | ["apply"], Method::Get) => form(req, lang),
        ([] | ["apply"], _) => Err(method_not_allowed("GET")),
        (["verify"], Method::Get) => Ok(verify(req, lang)),
        (["verify"], _) => Err(method_not_allowed("GET")),
        // RFC 3986 §3.3: the id goes back into the page's links and form action; anything
        // but an application id's shape (`..`, `a?b`, 60 000 characters) names nothing and
        // is the 404 page, echoing nothing (issue 14: each page under 100 KB).
        (["applications", id], Method::Get) if certflow_component::is_application_id(id) => {
            Ok(reply(200, &page::token_form(lang, id), "no-store"))
        }
        (["applications", _], Method::Get) => Ok(not_found(lang, "/")),
        (["applications", id], Method::Post) => Ok(status(req, lang, id).await),
        (["applications", _], _) => Err(method_not_allowed("GET, POST")),
        (["certificates", number], Method::Get) => Ok(certificate(lang, number).await),
        (["certificates", _], _) => Err(method_not_allowed("GET")),
        _ => Ok(not_found(lang, "/")),
    }
}

/// The consultation form with a fresh idempotency key (I7: 128 random bits, hex), with the
/// rows `?rows.<list>=<n>` asks for (how a person without JavaScript adds rows).
fn form(req: &Request, lang: Lang) -> Outcome {
    let key: String = random_bytes::<16>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let state = FormState {
        lang,
        today: certflow_component::now().date_naive(),
        // Defaults a person may change: the correspondence language is the page's, the legal
        // identifier a USCC (the CB's applicants are mostly Chinese organisations).
        values: std::collections::HashMap::from([
            ("language".to_string(), lang.code().to_string()),
            ("organization.legal_id.type".to_string(), "uscc".to_string()),
        ]),
        errors: Vec::new(),
        idempotency_key: key,
        min_rows: form_urlencoded::parse(req.query.as_bytes())
            .filter_map(|(name, count)| {
                let list = name.strip_prefix(certflow_pages::form::ROWS_PREFIX)?;
                certflow_pages::form::rows_requested(list, count.trim().parse().ok()?)
            })
            .collect(),
    };
    let page = Page {
        lang,
        title: certflow_pages::t(lang, "page.apply.title").to_string(),
        main: render(&state),
        switch_path: Some("/apply".to_string()),
    };
    // Each load carries its own key: never cached.
    Ok(reply(200, &page, "no-store"))
}

/// `GET /verify`: the search form, or 303 to the certificate's page for `?number=`.
fn verify(req: &Request, lang: Lang) -> Reply {
    match query_value(req, "number").map(|n| n.trim().to_string()) {
        Some(number) if !number.is_empty() => {
            let location = format!(
                "/certificates/{}?lang={}",
                utf8_percent_encode(&number, SEGMENT),
                lang.code()
            );
            Reply::new(303, HTML, String::new())
                .header("location", location)
                .header("cache-control", "no-store")
        }
        _ => reply(200, &page::verify(lang), "no-cache"),
    }
}

/// `POST /applications/:id` with `access_token`: the application from intake, or the 404 page.
async fn status(req: &Request, lang: Lang, id: &str) -> Reply {
    if !certflow_component::is_application_id(id) {
        return not_found(lang, "/");
    }
    let here = format!("/applications/{id}");
    let token = form_urlencoded::parse(req.body())
        .find(|(n, _)| n == "access_token")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    // A token with anything but visible ASCII is no token intake issued (and cannot be sent
    // as a header): the 404 page, as for a wrong token, not a 503 (found by schemathesis).
    let sendable = token.bytes().all(|b| b.is_ascii_graphic());
    if token.is_empty() || !sendable {
        return not_found(lang, &here);
    }
    let path = format!("/api/applications/{id}");
    match certflow_component::chain_get("intake", &path, Some(&token)).await {
        Ok((200, body)) => match serde_json::from_slice::<Value>(&body) {
            Ok(record) => reply(200, &page::application(lang, &record), "no-store"),
            Err(e) => unavailable(lang, &format!("intake answered unreadable JSON: {e}")),
        },
        Ok((401 | 404, _)) => not_found(lang, &here),
        Ok((code, _)) => unavailable(lang, &format!("intake answered {code}")),
        Err(e) => unavailable(lang, &e),
    }
}

/// `GET /certificates/:number`: the public view (C6), or the 404 page.
async fn certificate(lang: Lang, number: &str) -> Reply {
    if !is_certificate_number(number) {
        // Not a number certflow can issue: the 404 page without asking the certificate
        // component, and without echoing the path into the page.
        return not_found(lang, "/verify");
    }
    let here = format!("/certificates/{}", utf8_percent_encode(number, SEGMENT));
    let path = format!("/api{here}");
    match certflow_component::chain_get("certificate", &path, None).await {
        Ok((200, body)) => match serde_json::from_slice::<Value>(&body) {
            // The status may change at any time: revalidate each view.
            Ok(view) => reply(200, &page::certificate(lang, &view), "no-cache"),
            Err(e) => unavailable(lang, &format!("certificate answered unreadable JSON: {e}")),
        },
        Ok((404, _)) => match canonical_number(number).await {
            // Typed in the wrong case (`cf-2026-000001`): the certificate's own page.
            Some(canonical) => Reply::new(303, HTML, String::new())
                .header(
                    "location",
                    format!(
                        "/certificates/{}?lang={}",
                        utf8_percent_encode(&canonical, SEGMENT),
                        lang.code()
                    ),
                )
                .header("cache-control", "no-cache"),
            None => not_found(lang, &here),
        },
        Ok((code, _)) => unavailable(lang, &format!("certificate answered {code}")),
        Err(e) => unavailable(lang, &e),
    }
}

/// The number of a certificate that exists when `number` is typed in the wrong case: numbers
/// are printed in capitals (C1: the default prefix `CF`), and a person copying one may not
/// keep them. `None` when the capitalised number is the same or does not exist either.
async fn canonical_number(number: &str) -> Option<String> {
    let upper = number.to_uppercase();
    if upper == number {
        return None;
    }
    let path = format!("/api/certificates/{}", utf8_percent_encode(&upper, SEGMENT));
    match certflow_component::chain_get("certificate", &path, None).await {
        Ok((200, _)) => Some(upper),
        _ => None,
    }
}

/// C1: whether `number` has the shape of a certificate number (`<prefix>-<year>-<sequence>`,
/// the prefix 1 to 20 ASCII letters, digits, `-`, `_` or `.`): at most 64 such bytes and not
/// a dot segment (`.`, `..`, RFC 3986 §3.3).
fn is_certificate_number(number: &str) -> bool {
    (1..=64).contains(&number.len())
        && number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && number.bytes().any(|b| b != b'.')
}

/// 503 as a page, when the component that owns the data cannot be read.
fn unavailable(lang: Lang, why: &str) -> Reply {
    eprintln!("page unavailable: {why}");
    let kind = "https://certflow.dev/problems/unavailable";
    reply(
        503,
        &page::problem(lang, 503, kind, "Service unavailable", None),
        "no-store",
    )
}
