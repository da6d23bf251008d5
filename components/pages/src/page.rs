//! The page frame and the pages other than the form (issue 14): every page is one HTML
//! document with its CSS and script inline (allowed by hash in [`Page::csp`]), `<html lang>`,
//! a language switch, and nothing loaded from elsewhere.

use base64::Engine as _;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::catalog::{Lang, t};

/// The page style: system fonts, WCAG 2.2 AA contrast, a visible focus ring.
pub const CSS: &str = include_str!("../assets/site.css");
/// The page script: rows added and removed, fields checked as typed (the server stays the
/// judge; the form works without it).
pub const SCRIPT: &str = include_str!("../assets/site.js");

/// `text/html; charset=utf-8`.
pub const HTML: &str = "text/html; charset=utf-8";

/// A page: its language, title, `<main>` and where the language switch links to.
pub struct Page {
    /// The page language.
    pub lang: Lang,
    /// The `<title>` (the site name is added).
    pub title: String,
    /// The `<main>` element.
    pub main: Markup,
    /// The path the language links add `?lang=` to (a GET page showing the same thing);
    /// `None` for a page that a GET cannot show again (the receipt with its one-time token, the
    /// form with what was typed): no language links there, so one click cannot lose them.
    pub switch_path: Option<String>,
}

fn sha256_source(text: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

impl Page {
    /// The whole document.
    pub fn render(&self) -> String {
        let lang = self.lang;
        html! {
            (DOCTYPE)
            html lang=(lang.html_lang()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · " (t(lang, "ui.site_name")) }
                    style { (PreEscaped(CSS)) }
                }
                body {
                    a class="skip" href="#content" { (t(lang, "ui.skip")) }
                    header {
                        a class="brand" href=(format!("/?lang={}", lang.code())) { (t(lang, "ui.site_name")) }
                        nav aria-label=(t(lang, "ui.nav")) {
                            a href=(format!("/apply?lang={}", lang.code())) { (t(lang, "ui.nav_apply")) }
                            a href=(format!("/verify?lang={}", lang.code())) { (t(lang, "ui.nav_verify")) }
                        }
                        @if let Some(switch_path) = &self.switch_path {
                            nav class="lang" aria-label=(t(lang, "ui.language")) {
                                @for l in Lang::ALL {
                                    a href=(format!("{switch_path}?lang={}", l.code()))
                                        hreflang=(l.html_lang()) lang=(l.html_lang())
                                        aria-current=[(l == lang).then_some("true")] {
                                        (t(l, "ui.language_name"))
                                    }
                                }
                            }
                        }
                    }
                    div id="content" { (self.main) }
                    footer { p { (t(lang, "ui.footer")) } }
                    script { (PreEscaped(SCRIPT)) }
                }
            }
        }
        .into_string()
    }

    /// The headers of this page's reply besides `content-type` ([`HTML`]): its CSP,
    /// `cache-control` (`cache`: `no-store` for anything personal), `content-language`, and
    /// no sniffing, no referrer.
    pub fn headers(&self, cache: &str) -> Vec<(&'static str, String)> {
        vec![
            ("content-security-policy", Page::csp()),
            ("cache-control", cache.to_string()),
            ("content-language", self.lang.code().to_string()),
            ("x-content-type-options", "nosniff".to_string()),
            ("referrer-policy", "no-referrer".to_string()),
            ("vary", "Accept, Accept-Language".to_string()),
        ]
    }

    /// The `content-security-policy`: nothing but this page's own inline style and script
    /// (by hash), forms posting to the app itself, no framing.
    pub fn csp() -> String {
        format!(
            "default-src 'none'; style-src {}; script-src {}; img-src 'self' data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            sha256_source(CSS),
            sha256_source(SCRIPT)
        )
    }
}

/// The words for an application status (`under_review` → "Under review").
pub fn status_words(lang: Lang, status: &str) -> &'static str {
    t(lang, &format!("status.{status}"))
}

fn flags(lang: Lang, flags: &Value, id: &str) -> Markup {
    let list = flags.as_array().cloned().unwrap_or_default();
    html! {
        div id=(id) class="flags" {
            h2 { (t(lang, "ui.flags")) }
            @if list.is_empty() {
                p { (t(lang, "ui.no_flags")) }
            } @else {
                ul {
                    @for f in &list {
                        li data-code=(f["code"].as_str().unwrap_or_default()) {
                            (t(lang, &format!("flag.{}", f["code"].as_str().unwrap_or_default())))
                            @if let Some(date) = f["earliest_audit_date"].as_str() {
                                " " (t(lang, "ui.earliest_audit_date")) " " time datetime=(date) { (date) }
                            }
                            " (" (f["rule"].as_str().unwrap_or_default()) ")"
                        }
                    }
                }
            }
        }
    }
}

/// The receipt after a submission (I7: a resubmission with the same key shows the same one):
/// id, status, readiness flags, the access token shown once with its warning, the status
/// link.
pub fn receipt(
    lang: Lang,
    id: &str,
    status: &str,
    flag_list: &Value,
    token: &str,
    replayed: bool,
) -> Page {
    let path = format!("/applications/{id}");
    // The status page in the receipt's language, whatever the browser's Accept-Language says.
    let link = format!("{path}?lang={}", lang.code());
    Page {
        lang,
        title: t(lang, "page.receipt.title").to_string(),
        switch_path: None,
        main: html! {
            main id="receipt" {
                h1 { (t(lang, "page.receipt.title")) }
                @if replayed { p class="note" id="receipt-replayed" { (t(lang, "page.receipt.replayed")) } }
                dl {
                    dt { (t(lang, "ui.application_id")) }
                    dd { span id="receipt-id" { (id) } }
                    dt { (t(lang, "ui.status")) }
                    dd { span id="receipt-status" data-status=(status) { (status_words(lang, status)) } }
                }
                (flags(lang, flag_list, "receipt-flags"))
                h2 { (t(lang, "ui.access_token")) }
                p class="warning" role="note" { strong { (t(lang, "page.receipt.token_warning")) } }
                p { code id="receipt-token" { (token) } }
                p { a id="status-link" href=(link) { (t(lang, "page.receipt.status_link")) } }
            }
        },
    }
}

/// The status page's token form (`GET /applications/:id`); `wrong` adds nothing: a wrong
/// token is the 404 page.
pub fn token_form(lang: Lang, id: &str) -> Page {
    let path = format!("/applications/{id}");
    Page {
        lang,
        title: t(lang, "page.status.title").to_string(),
        switch_path: Some(path.clone()),
        main: html! {
            main id="status-form" {
                h1 { (t(lang, "page.status.title")) }
                p { (t(lang, "page.status.intro")) }
                form method="post" action=(format!("{path}?lang={}", lang.code())) {
                    div class="field" {
                        label for="f-access_token" { (t(lang, "ui.access_token")) }
                        input type="password" name="access_token" id="f-access_token"
                            autocomplete="off" required;
                    }
                    button type="submit" id="submit" { (t(lang, "ui.show")) }
                }
            }
        },
    }
}

/// The application as its applicant sees it (`POST /applications/:id` with the right token):
/// status, readiness flags and history (R1).
pub fn application(lang: Lang, record: &Value) -> Page {
    let id = record["id"].as_str().unwrap_or_default();
    let status = record["status"].as_str().unwrap_or_default();
    let history = record["history"].as_array().cloned().unwrap_or_default();
    let org = record["application"]["organization"]["legal_name"]
        .as_str()
        .unwrap_or_default();
    let standards = record["application"]["standards"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Page {
        lang,
        title: t(lang, "page.application.title").to_string(),
        switch_path: Some(format!("/applications/{id}")),
        main: html! {
            main id="application" {
                h1 { (t(lang, "page.application.title")) }
                dl {
                    dt { (t(lang, "ui.application_id")) } dd { (id) }
                    dt { (t(lang, "field.organization.legal_name")) } dd { (org) }
                    dt { (t(lang, "section.standards")) }
                    dd {
                        @for (i, s) in standards.iter().enumerate() {
                            @if i > 0 { ", " }
                            (s["code"].as_str().unwrap_or_default()) ":" (s["edition"].as_str().unwrap_or_default())
                        }
                    }
                    dt { (t(lang, "ui.status")) }
                    dd { span id="application-status" data-status=(status) { (status_words(lang, status)) } }
                }
                (flags(lang, &record["flags"], "application-flags"))
                h2 { (t(lang, "ui.history")) }
                ol id="history" {
                    @for h in &history {
                        @let s = h["status"].as_str().unwrap_or_default();
                        li data-status=(s) {
                            @let at = h["at"].as_str().unwrap_or_default();
                            time datetime=(at) { (readable_time(at)) }
                            " · " strong { (status_words(lang, s)) }
                            @let rules: Vec<&str> = h["rules"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                            @if !rules.is_empty() { " (" (rules.join(", ")) ")" }
                            @if let Some(note) = h["note"].as_str() { " · " (note) }
                        }
                    }
                }
            }
        },
    }
}

/// `GET /verify`: the search form for a certificate number.
pub fn verify(lang: Lang) -> Page {
    Page {
        lang,
        title: t(lang, "page.verify.title").to_string(),
        switch_path: Some("/verify".to_string()),
        main: html! {
            main id="verify" {
                h1 { (t(lang, "page.verify.title")) }
                p { (t(lang, "page.verify.intro")) }
                form method="get" action="/verify" role="search" {
                    input type="hidden" name="lang" value=(lang.code());
                    div class="field" {
                        label for="f-number" { (t(lang, "ui.certificate_number")) }
                        input type="search" name="number" id="f-number" placeholder="CF-2026-000001" required;
                    }
                    button type="submit" id="submit" { (t(lang, "ui.search")) }
                }
            }
        },
    }
}

/// `GET /certificates/:number`: the public view (C6) with the status in words and colour and
/// its history.
pub fn certificate(lang: Lang, view: &Value) -> Page {
    let number = view["number"].as_str().unwrap_or_default();
    let status = view["status"].as_str().unwrap_or_default();
    let s = |key: &str| view[key].as_str().unwrap_or_default().to_string();
    let sites = view["sites"].as_array().cloned().unwrap_or_default();
    let history = view["history"].as_array().cloned().unwrap_or_default();
    let standards = view["standards"].as_array().cloned().unwrap_or_default();
    Page {
        lang,
        title: format!("{} {number}", t(lang, "page.certificate.title")),
        switch_path: Some(format!("/certificates/{number}")),
        main: html! {
            main id="certificate" {
                h1 { (t(lang, "page.certificate.title")) " " (number) }
                p class="status-line" {
                    (t(lang, "ui.status")) ": "
                    span id="certificate-status" data-status=(status) class=(format!("status status-{status}")) {
                        (t(lang, &format!("cert_status.{status}")))
                    }
                }
                dl {
                    dt { (t(lang, "cert.organization")) } dd id="certificate-organization" { (s("organization")) }
                    dt { (t(lang, "cert.place")) }
                    dd { (view["organization_place"]["city"].as_str().unwrap_or_default()) ", " (view["organization_place"]["country"].as_str().unwrap_or_default()) }
                    dt { (t(lang, "section.standards")) }
                    dd {
                        ul { @for st in &standards { li { (st["code"].as_str().unwrap_or_default()) ":" (st["edition"].as_str().unwrap_or_default()) } } }
                    }
                    dt { (t(lang, "section.scope")) } dd { (s("scope")) }
                    dt { (t(lang, "cert.certification_body")) } dd { (s("certification_body")) }
                    @if let Some(mark) = view["mark"].as_str() { dt { (t(lang, "cert.mark")) } dd { (mark) } }
                    dt { (t(lang, "cert.revision")) } dd { (view["revision"].as_u64().unwrap_or_default()) }
                    dt { (t(lang, "cert.granted_on")) } dd { (s("granted_on")) }
                    dt { (t(lang, "cert.effective_on")) } dd { (s("effective_on")) }
                    dt { (t(lang, "cert.expires_on")) } dd { (s("expires_on")) }
                    @if let Some(next) = view["next_revision"].as_object() {
                        dt { (t(lang, "cert.next_revision")) }
                        dd id="certificate-next-revision" {
                            (next.get("revision").and_then(|r| r.as_u64()).unwrap_or_default()) ", "
                            (t(lang, "cert.effective_on")) " "
                            (next.get("effective_on").and_then(|d| d.as_str()).unwrap_or_default())
                        }
                    }
                    @if view["scope_reduced"].as_bool() == Some(true) { dt { (t(lang, "cert.scope_reduced")) } dd { "✓" } }
                }
                h2 { (t(lang, "section.sites")) }
                table {
                    thead { tr { th scope="col" { (t(lang, "field.sites.name")) } th scope="col" { (t(lang, "cert.place")) } th scope="col" { (t(lang, "section.scope")) } } }
                    tbody {
                        @for site in &sites {
                            tr {
                                td { (site["name"].as_str().unwrap_or_default()) @if site["central"].as_bool() == Some(true) { " (" (t(lang, "cert.central")) ")" } }
                                td { (site["place"]["city"].as_str().unwrap_or_default()) ", " (site["place"]["country"].as_str().unwrap_or_default()) }
                                td { (site["scope"].as_str().unwrap_or_default()) }
                            }
                        }
                    }
                }
                h2 { (t(lang, "ui.history")) }
                ol id="history" {
                    @for h in &history {
                        @let hs = h["status"].as_str().unwrap_or_default();
                        li data-status=(hs) {
                            time datetime=(h["on"].as_str().unwrap_or_default()) { (h["on"].as_str().unwrap_or_default()) }
                            " · " (t(lang, &format!("action.{}", h["action"].as_str().unwrap_or_default())))
                            " → " (t(lang, &format!("cert_status.{hs}")))
                            " (" (h["rule"].as_str().unwrap_or_default()) ")"
                        }
                    }
                }
            }
        },
    }
}

/// The 404 page (`<main id="not-found">`): an unknown page, certificate number, or an
/// application id with a token that opens nothing.
pub fn not_found(lang: Lang, switch_path: &str) -> Page {
    Page {
        lang,
        title: t(lang, "page.not_found.title").to_string(),
        switch_path: Some(switch_path.to_string()),
        main: html! {
            main id="not-found" {
                h1 { (t(lang, "page.not_found.title")) }
                p { (t(lang, "page.not_found.text")) }
                p { a href=(format!("/?lang={}", lang.code())) { (t(lang, "ui.nav_apply")) } " · " a href=(format!("/verify?lang={}", lang.code())) { (t(lang, "ui.nav_verify")) } }
            }
        },
    }
}

/// A problem as a page (`<main id="error">`): its localized title, the (English) detail and
/// its status.
pub fn problem(lang: Lang, status: u16, kind: &str, title: &str, detail: Option<&str>) -> Page {
    let shown = crate::catalog::problem_title(kind, lang).unwrap_or(title);
    Page {
        lang,
        title: shown.to_string(),
        switch_path: Some("/apply".to_string()),
        main: html! {
            main id="error" data-status=(status) data-problem=(kind.rsplit('/').next().unwrap_or_default()) {
                h1 { (shown) }
                @if let Some(d) = detail { p lang="en" { (d) } }
                p { a href=(format!("/apply?lang={}", lang.code())) { (t(lang, "ui.back_to_form")) } }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue14_pages_load_nothing_from_elsewhere() {
        let page = verify(Lang::En).render();
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"en\">"));
        for external in ["http://", "https://", "//fonts", "@import", "url("] {
            assert!(!page.contains(external), "{external} in the page");
        }
    }

    #[test]
    fn issue14_the_csp_allows_exactly_the_inline_style_and_script() {
        let csp = Page::csp();
        assert!(csp.contains(&sha256_source(CSS)));
        assert!(csp.contains(&sha256_source(SCRIPT)));
        assert!(csp.starts_with("default-src 'none'"));
    }
}

/// An RFC 3339 timestamp as a person reads it: `2026-12-01 04:09 UTC` (the stored value, with
/// its nanoseconds, stays in the `datetime` attribute); text that is not one is shown as it is.
fn readable_time(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod time_tests {
    use super::readable_time;

    #[test]
    fn history_times_read_to_the_minute_in_utc() {
        assert_eq!(
            readable_time("2026-12-01T04:09:04.127845023Z"),
            "2026-12-01 04:09 UTC"
        );
        assert_eq!(
            readable_time("2026-12-01T12:09:04+08:00"),
            "2026-12-01 04:09 UTC"
        );
        assert_eq!(readable_time("not a time"), "not a time");
    }
}
