//! certflow's pages for people (issue 14, item 1), shared by the site component (the form,
//! the status and verification pages) and intake (the receipt and the form again on 422 when
//! the request prefers HTML):
//! - [`Lang`] and [`negotiate_language`]: `?lang=`, then `Accept-Language`, then the
//!   `site_default_language` variable, then `zh`;
//! - [`prefers_html`]: whether an `Accept` header prefers `text/html` to JSON;
//! - [`catalog`]: the bilingual texts (`i18n/en.json`, `i18n/zh.json`): every label, hint,
//!   page text and field error code's message;
//! - [`localize_problem`]: a problem document with `localized_title` and each error's
//!   `localized_message`;
//! - [`form`], [`page`]: the HTML (maud), each page self-contained (inline CSS and script
//!   allowed by hash in [`Page::csp`], no external request).

pub mod catalog;
pub mod form;
pub mod page;

pub use catalog::{Lang, t};
pub use page::Page;

/// The language a request asks for, and whether it asked explicitly (by `?lang=` or an
/// `Accept-Language` naming zh or en): only then are problem documents localized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The language to answer in.
    pub lang: Lang,
    /// `true` when the request named it (`?lang=` or `Accept-Language`), `false` when it is
    /// the default.
    pub explicit: bool,
}

/// The value of `name` in a URL query (`a=1&lang=en`), percent-decoding not needed for the
/// values read here (`zh`, `en`, a certificate number is decoded by the caller).
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Issue 14: the page language: `?lang=zh|en` (`query_lang`), then the first of zh or en in
/// `Accept-Language` by quality (RFC 9110 §12.5.4; `zh-CN`, `zh-Hans` are zh, `en-GB` is en;
/// q=0 excludes), then `default` (the `site_default_language` variable: `zh` or `en`), then
/// zh. Unknown values at each step fall through to the next.
pub fn negotiate_language(
    query_lang: Option<&str>,
    accept_language: Option<&str>,
    default: Option<&str>,
) -> Negotiated {
    if let Some(lang) = query_lang.and_then(Lang::parse) {
        return Negotiated {
            lang,
            explicit: true,
        };
    }
    let from_header = accept_language.and_then(|header| {
        accept_language::parse_with_quality(header)
            .into_iter()
            .filter(|(_, q)| *q > 0.0)
            .find_map(|(tag, _)| {
                let primary = tag.split('-').next().unwrap_or_default();
                Lang::parse(&primary.to_ascii_lowercase())
            })
    });
    if let Some(lang) = from_header {
        return Negotiated {
            lang,
            explicit: true,
        };
    }
    Negotiated {
        lang: default.and_then(|d| Lang::parse(d.trim())).unwrap_or(Lang::Zh),
        explicit: false,
    }
}

/// The quality (0–1000) an `Accept` header gives `media_type` (`type/subtype`, lowercase):
/// the most specific range that matches wins (RFC 9110 §12.5.1); no header is `*/*`.
fn quality(accept: &str, media_type: &str) -> u32 {
    let (kind, _) = media_type.split_once('/').unwrap_or((media_type, ""));
    let mut best: Option<(u8, u32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let specificity = if name == media_type {
            3
        } else if name == format!("{kind}/*") {
            2
        } else if name == "*/*" {
            1
        } else {
            continue;
        };
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1000, |(_, v)| parse_q(v.trim()));
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// A qvalue (`1`, `0.8`, `0.125`) in thousandths; malformed is 0.
fn parse_q(text: &str) -> u32 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
    match (whole.parse::<u32>(), digits.parse::<u32>()) {
        (Ok(w), Ok(f)) if fraction.chars().all(|c| c.is_ascii_digit()) => (w * 1000 + f).min(1000),
        _ => 0,
    }
}

/// Issue 14: whether a request with this `Accept` header prefers an HTML page to JSON:
/// `text/html` must rank strictly higher than `application/json` (ties, `*/*` and no header
/// stay JSON, so API clients keep today's replies). A browser's
/// `text/html,application/xhtml+xml,...,*/*;q=0.8` prefers HTML.
pub fn prefers_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    quality(accept, "text/html") > quality(accept, "application/json")
}

/// Issue 14: a problem document (RFC 9457 JSON, as `Problem::to_json` writes it) with
/// `localized_title` (from `components/shared/i18n/problems.json`, by `type`) and each
/// `errors[i].localized_message` (from the catalog, by `code`) in `lang`. Everything else is
/// kept. A body that is not a JSON object is returned unchanged.
pub fn localize_problem(body: &str, lang: Lang) -> String {
    let Ok(serde_json::Value::Object(mut doc)) = serde_json::from_str::<serde_json::Value>(body)
    else {
        return body.to_string();
    };
    if let Some(title) = doc
        .get("type")
        .and_then(|v| v.as_str())
        .and_then(|kind| catalog::problem_title(kind, lang))
    {
        doc.insert("localized_title".into(), title.into());
    }
    if let Some(serde_json::Value::Array(errors)) = doc.get_mut("errors") {
        for error in errors.iter_mut() {
            if let serde_json::Value::Object(error) = error {
                let code = error.get("code").and_then(|v| v.as_str()).unwrap_or_default();
                let message = catalog::error_message(code, lang);
                error.insert("localized_message".into(), message.into());
            }
        }
    }
    serde_json::Value::Object(doc).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue14_query_lang_wins_over_accept_language_and_default() {
        let n = negotiate_language(Some("en"), Some("zh-CN,zh;q=0.9"), Some("zh"));
        assert_eq!(n, Negotiated { lang: Lang::En, explicit: true });
    }

    #[test]
    fn issue14_accept_language_picks_the_best_of_zh_and_en() {
        let n = negotiate_language(None, Some("fr;q=1, en-GB;q=0.5, zh-Hans;q=0.8"), Some("en"));
        assert_eq!(n, Negotiated { lang: Lang::Zh, explicit: true });
        let n = negotiate_language(Some("xx"), Some("en-US,en;q=0.9"), None);
        assert_eq!(n, Negotiated { lang: Lang::En, explicit: true });
        // q=0 means "not this one".
        let n = negotiate_language(None, Some("en;q=0, fr"), Some("zh"));
        assert_eq!(n, Negotiated { lang: Lang::Zh, explicit: false });
    }

    #[test]
    fn issue14_default_language_is_the_variable_then_zh() {
        assert_eq!(negotiate_language(None, None, Some("en")).lang, Lang::En);
        assert_eq!(negotiate_language(None, Some("de"), Some("fr")).lang, Lang::Zh);
        assert!(!negotiate_language(None, None, None).explicit);
    }

    #[test]
    fn issue14_browsers_prefer_html_api_clients_keep_json() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(prefers_html(Some(browser)));
        assert!(prefers_html(Some("text/html")));
        assert!(!prefers_html(None));
        assert!(!prefers_html(Some("*/*")));
        assert!(!prefers_html(Some("application/json")));
        assert!(!prefers_html(Some("text/html, application/json")));
        assert!(!prefers_html(Some("text/html;q=0.5, application/json")));
        assert!(prefers_html(Some("text/*, application/json;q=0.1")));
    }

    #[test]
    fn issue14_query_param_reads_one_value() {
        assert_eq!(query_param("a=1&lang=en", "lang"), Some("en"));
        assert_eq!(query_param("lang", "lang"), Some(""));
        assert_eq!(query_param("language=en", "lang"), None);
    }

    #[test]
    fn issue14_problem_documents_gain_localized_texts() -> Result<(), serde_json::Error> {
        let problem = certflow_domain::Problem::validation(vec![certflow_domain::FieldError::new(
            "/scope",
            certflow_domain::ErrorCode::Required,
            "this field is required",
            "I1",
        )]);
        let out: serde_json::Value =
            serde_json::from_str(&localize_problem(&problem.to_json(), Lang::Zh))?;
        assert_eq!(out["title"], "The application is not valid");
        assert_eq!(out["localized_title"], "请求内容无效");
        assert_eq!(out["errors"][0]["code"], "required");
        assert_eq!(out["errors"][0]["message"], "this field is required");
        assert_eq!(out["errors"][0]["localized_message"], "此项必填");
        Ok(())
    }
}
