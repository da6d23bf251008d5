//! The pages for people (issue 14, item 1) end to end over HTTP, on SQLite (the store does
//! not matter to a page): every page in both languages, self-contained and under 100 KB; the
//! form posted by a browser (`Accept: text/html`) answered with the receipt (once, I7) or the
//! form again with its errors (I2); JSON clients' replies unchanged; problem documents
//! localized on request; the applicant's status page (R3) and certificate verification (C6).

use anyhow::{Context, Result, ensure};
use certflow_tests::workflow::{certify, register_people};
use certflow_tests::{Host, Store, example_application, start_app, start_app_with, with_store};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::time::Duration;

/// A browser's `Accept`.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
/// Issue 14: each page under 100 KB.
const MAX_PAGE: usize = 100 * 1024;

struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The text of the element with this id (up to its first `<`).
    fn text_of(&self, id: &str) -> Option<&str> {
        let start = self.body.find(&format!("id=\"{id}\""))?;
        let rest = &self.body[start..];
        let open = rest.find('>')? + 1;
        let close = rest[open..].find('<')?;
        Some(&rest[open..open + close])
    }
}

/// A client that does not follow redirects (the 303 of `/verify` is checked itself).
fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?)
}

async fn send(req: reqwest::RequestBuilder) -> Result<Page> {
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await?;
    Ok(Page {
        status,
        headers,
        body,
    })
}

async fn get(host: &Host, path: &str, accept_language: Option<&str>) -> Result<Page> {
    let mut req = client()?.get(host.url(path)).header("accept", BROWSER);
    if let Some(lang) = accept_language {
        req = req.header("accept-language", lang);
    }
    send(req).await
}

/// Issue 14's page rules: HTML in UTF-8, `<html lang>` as expected, under 100 KB, nothing
/// loaded from elsewhere (no absolute `src`, `href` or `action`; a CSP with no other source).
fn check_page(page: &Page, lang: &str, what: &str) -> Result<()> {
    ensure!(
        page.header("content-type") == "text/html; charset=utf-8",
        "{what}: {}",
        page.header("content-type")
    );
    ensure!(
        page.body.contains(&format!("<html lang=\"{lang}\">")),
        "{what}: not lang {lang}"
    );
    ensure!(
        page.body.len() < MAX_PAGE,
        "{what}: {} bytes",
        page.body.len()
    );
    for attribute in ["src=", "href=", "action="] {
        for quote in ['"', '\''] {
            for scheme in ["http:", "https:", "//"] {
                let external = format!("{attribute}{quote}{scheme}");
                ensure!(!page.body.contains(&external), "{what}: {external}");
            }
        }
    }
    let csp = page.header("content-security-policy");
    ensure!(
        csp.starts_with("default-src 'none'") && !csp.contains("http"),
        "{what}: CSP {csp}"
    );
    Ok(())
}

/// The form contract: every control has `id` = `f-` + its name (`.`, `[` → `-`, `]` removed)
/// and a `<label for>`; the hidden idempotency key; the submit button. Returns the key.
fn check_form(page: &Page) -> Result<String> {
    let body = &page.body;
    ensure!(
        body.contains(r#"<form id="application-form" method="post" action="/api/applications""#),
        "form element"
    );
    ensure!(
        body.contains(r#"<button type="submit" id="submit">"#),
        "submit"
    );
    let mut controls = 0;
    for tag in ["<input ", "<select ", "<textarea "] {
        for (at, _) in body.match_indices(tag) {
            let element = &body[at..at + body[at..].find('>').context("tag end")?];
            let Some(name) = attribute(element, "name") else {
                continue;
            };
            if element.contains(r#"type="hidden""#) {
                continue;
            }
            let expected = format!("f-{}", name.replace(['.', '['], "-").replace(']', ""));
            ensure!(
                attribute(element, "id") == Some(expected.as_str()),
                "{name}: id {:?}",
                attribute(element, "id")
            );
            ensure!(
                body.contains(&format!("<label for=\"{expected}\">")),
                "{name}: no label"
            );
            controls += 1;
        }
    }
    for name in [
        "organization.legal_name",
        "organization.legal_id.number",
        "standards[0].code",
        "standards[0].edition",
        "sites[0].central",
        "sites[0].personnel.full_time",
        "sites[0].personnel.part_time[0].weekly_hours",
        "management_system.operating_since",
        "declarations.not_on_serious_illegal_list",
        "language",
    ] {
        ensure!(
            body.contains(&format!("name=\"{name}\"")),
            "no control {name}"
        );
    }
    ensure!(controls > 50, "{controls} controls");
    let key_at = body
        .find(r#"name="idempotency_key""#)
        .context("no idempotency_key")?;
    let element = &body[body[..key_at].rfind('<').context("<")?..];
    let element = &element[..element.find('>').context(">")?];
    ensure!(element.contains(r#"type="hidden""#), "{element}");
    Ok(attribute(element, "value").unwrap_or_default().to_string())
}

fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let at = element.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = element[at..].find('"')?;
    Some(&element[at..at + end])
}

/// The example application as form fields, with the hidden fields a page sends.
fn form_body(application: &Value, key: &str, page_language: &str) -> String {
    let mut pairs = certflow_domain::intake::form::encode(application);
    pairs.push(("idempotency_key".into(), key.into()));
    pairs.push(("page_language".into(), page_language.into()));
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn post_form(host: &Host, body: &str, accept: Option<&str>) -> Result<Page> {
    let mut req = client()?
        .post(host.url("/api/applications"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    send(req).await
}

#[tokio::test]
async fn issue14_every_page_in_both_languages_is_self_contained_and_small() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let unknown_id = "0123456789abcdef0123456789abcdef";
        for (lang, html_lang) in [("zh", "zh-CN"), ("en", "en")] {
            for (path, status, main) in [
                ("/", 200, "apply"),
                ("/apply", 200, "apply"),
                ("/verify", 200, "verify"),
                (&*format!("/applications/{unknown_id}"), 200, "status-form"),
                ("/certificates/CF-1999-999999", 404, "not-found"),
            ] {
                let page = get(&host, &format!("{path}?lang={lang}"), None).await?;
                let what = format!("{path} in {lang}");
                ensure!(page.status == status, "{what}: {}", page.status);
                check_page(&page, html_lang, &what)?;
                ensure!(
                    page.body.contains(&format!("<main id=\"{main}\"")),
                    "{what}"
                );
                // The language switch.
                ensure!(page.body.contains("?lang=zh\"") && page.body.contains("?lang=en\""));
                println!("{what}: {} bytes", page.body.len());
            }
        }
        let first = get(&host, "/apply?lang=en", None).await?;
        let second = get(&host, "/apply?lang=en", None).await?;
        let (k1, k2) = (check_form(&first)?, check_form(&second)?);
        ensure!(k1.len() == 32 && k1 != k2, "keys {k1} {k2}");
        ensure!(first.header("cache-control") == "no-store");
        // The token form: a password field, and nothing in the URL.
        let status = get(&host, &format!("/applications/{unknown_id}"), None).await?;
        ensure!(
            status
                .body
                .contains(r#"<input type="password" name="access_token" id="f-access_token""#)
        );
        host.stop().await
    })
    .await
}

#[tokio::test]
async fn issue14_language_is_query_then_accept_language_then_the_setting() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let lang_of = |page: &Page| {
            if page.body.contains(r#"<html lang="en">"#) {
                "en"
            } else if page.body.contains(r#"<html lang="zh-CN">"#) {
                "zh"
            } else {
                "?"
            }
        };
        let page = get(&host, "/", None).await?;
        ensure!(lang_of(&page) == "zh", "default zh");
        let page = get(&host, "/", Some("en-GB,en;q=0.9")).await?;
        ensure!(lang_of(&page) == "en" && page.header("content-language") == "en");
        let page = get(&host, "/?lang=zh", Some("en")).await?;
        ensure!(lang_of(&page) == "zh", "?lang before Accept-Language");
        let page = get(&host, "/", Some("fr, zh-CN;q=0.5, en;q=0.4")).await?;
        ensure!(lang_of(&page) == "zh", "best of zh and en by quality");
        host.stop().await?;

        let state = tempfile::tempdir()?;
        let host = start_app_with(
            state.path(),
            Duration::ZERO,
            &[("site_default_language", "en")],
        )
        .await?;
        let page = get(&host, "/verify", None).await?;
        ensure!(lang_of(&page) == "en", "the setting");
        let page = get(&host, "/verify", Some("zh")).await?;
        ensure!(lang_of(&page) == "zh", "Accept-Language before the setting");
        host.stop().await
    })
    .await
}

#[tokio::test]
async fn i7_the_form_posted_by_a_browser_gets_one_receipt() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let key = check_form(&get(&host, "/apply?lang=en", None).await?)?;
        let body = form_body(&example_application()?, &key, "en");
        let receipt = post_form(&host, &body, Some(BROWSER)).await?;
        ensure!(
            receipt.status == 201,
            "{}: {}",
            receipt.status,
            receipt.body
        );
        check_page(&receipt, "en", "receipt")?;
        ensure!(receipt.body.contains(r#"<main id="receipt">"#));
        ensure!(receipt.header("cache-control") == "no-store");
        let id = receipt
            .text_of("receipt-id")
            .context("receipt-id")?
            .to_string();
        let token = receipt
            .text_of("receipt-token")
            .context("receipt-token")?
            .to_string();
        ensure!(id.len() == 32 && token.starts_with("cfa_"), "{id} {token}");
        ensure!(receipt.text_of("receipt-status").is_some());
        ensure!(receipt.body.contains(&format!(
            r#"<a id="status-link" href="/applications/{id}?lang=en">"#
        )));
        // No language links on the receipt: they would lead away from the one-time token.
        ensure!(
            !receipt.body.contains(r#"class="lang""#),
            "the receipt links away"
        );
        // A double click or a reload: the same receipt, nothing new.
        let again = post_form(&host, &body, Some(BROWSER)).await?;
        ensure!(again.status == 201, "{}", again.status);
        ensure!(again.text_of("receipt-id") == Some(id.as_str()));
        ensure!(again.text_of("receipt-token") == Some(token.as_str()));
        ensure!(again.body.contains(r#"id="receipt-replayed""#));
        // The application is stored, readable with the token.
        let stored = client()?
            .get(host.url(&format!("/api/applications/{id}")))
            .bearer_auth(&token)
            .send()
            .await?;
        ensure!(stored.status() == 200, "{}", stored.status());
        host.stop().await
    })
    .await
}

#[tokio::test]
async fn i2_a_422_for_a_browser_is_the_form_again_with_values_and_errors() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let mut app = example_application()?;
        let legal_name = "上海 <示例> & Co".to_string();
        app["organization"]["legal_name"] = json!(legal_name);
        let uscc = app["organization"]["legal_id"]["number"]
            .as_str()
            .context("uscc")?
            .to_string();
        // A wrong check character, and a missing date.
        let last = if uscc.ends_with('0') { "1" } else { "0" };
        let wrong = format!("{}{last}", &uscc[..uscc.len() - 1]);
        app["organization"]["legal_id"]["number"] = json!(wrong);
        app["management_system"]
            .as_object_mut()
            .context("management_system")?
            .remove("operating_since");
        let body = form_body(&app, "k-422", "zh");
        let page = post_form(&host, &body, Some(BROWSER)).await?;
        ensure!(page.status == 422, "{}", page.status);
        check_page(&page, "zh-CN", "422")?;
        ensure!(
            page.body
                .contains(r#"<div id="error-summary" role="alert" tabindex="-1""#)
        );
        for (id, message) in [
            ("f-organization-legal_id-number", "校验码不正确"),
            ("f-management_system-operating_since", "此项必填"),
        ] {
            ensure!(
                page.body.contains(&format!("href=\"#{id}\"")),
                "{id}: no summary link"
            );
            let error = page
                .text_of(&format!("{id}-error"))
                .with_context(|| format!("{id}-error"))?;
            ensure!(error.contains(message), "{id}: {error}");
            let control_at = page.body.find(&format!("id=\"{id}\"")).context(id)?;
            let control = &page.body[page.body[..control_at].rfind('<').context("<")?..];
            let control = &control[..control.find('>').context(">")?];
            ensure!(control.contains(r#"aria-invalid="true""#), "{control}");
            ensure!(control.contains(&format!("{id}-error")), "{control}");
        }
        // Every value typed is kept (escaped), the wrong number included.
        ensure!(page.body.contains("value=\"上海 &lt;示例&gt; &amp; Co\""));
        ensure!(page.body.contains(&format!("value=\"{wrong}\"")));
        let city = app["sites"][0]["address"]["city"]
            .as_str()
            .context("city")?;
        ensure!(page.body.contains(&format!("value=\"{city}\"")));
        // A fresh key for the corrected form.
        let key = check_form(&page)?;
        ensure!(key != "k-422" && key.len() == 32);
        // No language links: a GET of the other language would lose what was typed.
        ensure!(
            !page.body.contains(r#"class="lang""#),
            "the 422 page links away"
        );
        // ISO/IEC 27701:2019 stays 27701's 2019, not ISO 22301's (both are 2019; I3).
        ensure!(
            page.body
                .contains(r#"<option value="2019" selected>2019 (ISO/IEC 27701)</option>"#),
            "the second standard's edition is not kept as ISO/IEC 27701's"
        );
        host.stop().await
    })
    .await
}

#[tokio::test]
async fn issue14_json_clients_keep_todays_replies_byte_for_byte() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let mut app = example_application()?;
        app["contact"]["email"] = json!("not an email");
        let body = form_body(&app, "k-json", "en");
        let mut seen: Vec<(String, Page)> = Vec::new();
        // No Accept, `*/*`, JSON, and a tie between HTML and JSON: all JSON, all the same.
        for accept in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("text/html, application/json"),
        ] {
            let page = post_form(&host, &body, accept).await?;
            seen.push((format!("{accept:?}"), page));
        }
        let (_, first) = &seen[0];
        ensure!(first.status == 422 && first.header("content-type") == "application/problem+json");
        ensure!(first.header("content-language").is_empty());
        ensure!(!first.body.contains("localized"), "{}", first.body);
        for (accept, page) in &seen {
            ensure!(
                page.status == 422 && page.body == first.body,
                "{accept}: {}",
                page.body
            );
        }
        // A 201 and its replay: the same bytes as before the pages (no HTML, no token loss).
        let ok = form_body(&example_application()?, "k-json-ok", "en");
        let created = post_form(&host, &ok, None).await?;
        let replayed = post_form(&host, &ok, Some("application/json")).await?;
        ensure!(created.status == 201 && created.header("content-type") == "application/json");
        ensure!(
            replayed.body == created.body,
            "{} vs {}",
            replayed.body,
            created.body
        );
        let json: Value = serde_json::from_str(&created.body)?;
        ensure!(
            json["access_token"]
                .as_str()
                .is_some_and(|t| t.starts_with("cfa_"))
        );
        host.stop().await
    })
    .await
}

#[tokio::test]
async fn issue14_problem_documents_are_localized_on_request() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let mut app = example_application()?;
        app["contact"]["email"] = json!("not an email");
        let plain = host.submit(&app, None).await?;
        ensure!(plain.status == 422, "{}", plain.body);
        let zh = certflow_tests::reply(
            host.client
                .post(host.url("/api/applications"))
                .header("content-type", "application/json")
                .header("accept-language", "zh-CN,zh;q=0.9")
                .body(app.to_string()),
        )
        .await?;
        ensure!(zh.status == 422);
        ensure!(
            zh.headers
                .get("content-language")
                .and_then(|v| v.to_str().ok())
                == Some("zh")
        );
        ensure!(zh.body["type"] == plain.body["type"] && zh.body["title"] == plain.body["title"]);
        ensure!(
            zh.body["localized_title"]
                .as_str()
                .is_some_and(|t| !t.is_ascii()),
            "{}",
            zh.body
        );
        let errors = zh.body["errors"].as_array().context("errors")?;
        ensure!(!errors.is_empty());
        for (i, error) in errors.iter().enumerate() {
            let before = &plain.body["errors"][i];
            ensure!(error["code"] == before["code"] && error["message"] == before["message"]);
            ensure!(
                error["localized_message"]
                    .as_str()
                    .is_some_and(|m| !m.is_ascii()),
                "{error}"
            );
        }
        // `?lang=en` asks for English.
        let en = certflow_tests::reply(
            host.client
                .post(host.url("/api/applications?lang=en"))
                .header("content-type", "application/json")
                .body(app.to_string()),
        )
        .await?;
        ensure!(
            en.headers
                .get("content-language")
                .and_then(|v| v.to_str().ok())
                == Some("en")
        );
        ensure!(en.body["errors"][0]["localized_message"].is_string());
        host.stop().await
    })
    .await
}

#[tokio::test]
async fn r3_the_status_page_opens_with_the_right_token_only() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let created = host.submit(&example_application()?, None).await?;
        ensure!(created.status == 201, "{}", created.body);
        let id = created.body["id"].as_str().context("id")?;
        let token = created.body["access_token"].as_str().context("token")?;
        let path = format!("/applications/{id}");
        let post = |token: String, lang: &'static str| {
            let url = host.url(&format!("{path}?lang={lang}"));
            async move {
                send(
                    client()?
                        .post(url)
                        .header("accept", BROWSER)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(
                            form_urlencoded::Serializer::new(String::new())
                                .append_pair("access_token", &token)
                                .finish(),
                        ),
                )
                .await
            }
        };
        for (lang, html_lang) in [("en", "en"), ("zh", "zh-CN")] {
            let page = post(token.to_string(), lang).await?;
            ensure!(page.status == 200, "{}: {}", page.status, page.body);
            check_page(&page, html_lang, "status page")?;
            ensure!(page.body.contains(r#"<main id="application">"#));
            ensure!(page.header("cache-control") == "no-store");
            let status = created.body["status"].as_str().context("status")?;
            ensure!(page.body.contains(&format!(
                r#"<span id="application-status" data-status="{status}">"#
            )));
            ensure!(page.body.contains(r#"<ol id="history">"#));
            ensure!(!page.body.contains(token), "the token is not shown back");
        }
        let wrong = post(format!("{token}x"), "en").await?;
        ensure!(wrong.status == 404 && wrong.body.contains(r#"<main id="not-found">"#));
        let unknown = send(
            client()?
                .post(host.url("/applications/0123456789abcdef0123456789abcdef"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("access_token={token}")),
        )
        .await?;
        ensure!(unknown.status == 404 && unknown.body.contains(r#"<main id="not-found">"#));
        host.stop().await
    })
    .await
}

#[tokio::test]
async fn c6_the_verification_page_shows_an_issued_certificate_and_404s_an_unknown_number()
-> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        register_people(&host).await?;
        let (_, number) = certify(&host, &mut Vec::new()).await?;
        let search = get(&host, &format!("/verify?lang=en&number={number}"), None).await?;
        ensure!(search.status == 303, "{}", search.status);
        let location = search.header("location").to_string();
        ensure!(
            location == format!("/certificates/{number}?lang=en"),
            "{location}"
        );
        for (lang, html_lang) in [("en", "en"), ("zh", "zh-CN")] {
            let page = get(&host, &format!("/certificates/{number}?lang={lang}"), None).await?;
            ensure!(page.status == 200, "{}: {}", page.status, page.body);
            check_page(&page, html_lang, "certificate")?;
            ensure!(page.body.contains(r#"<main id="certificate">"#));
            ensure!(
                page.body
                    .contains(r#"<span id="certificate-status" data-status="active""#)
            );
            ensure!(page.body.contains(r#"<ol id="history">"#));
            let org = example_application()?["organization"]["legal_name"]
                .as_str()
                .context("org")?
                .to_string();
            ensure!(page.body.contains(&org), "no organisation");
            // Nothing personal (C6, I8): not the contact person.
            let contact = example_application()?["contact"]["name"]
                .as_str()
                .context("contact")?
                .to_string();
            ensure!(!page.body.contains(&contact), "the contact person is shown");
        }
        let unknown = get(&host, "/certificates/CF-1999-999999?lang=en", None).await?;
        ensure!(unknown.status == 404 && unknown.body.contains(r#"<main id="not-found">"#));
        // Typed in small letters: the certificate's own page, not a 404.
        let lower = number.to_lowercase();
        let typed = get(&host, &format!("/certificates/{lower}?lang=en"), None).await?;
        ensure!(typed.status == 303, "{}", typed.status);
        ensure!(
            typed.header("location") == format!("/certificates/{number}?lang=en"),
            "{}",
            typed.header("location")
        );
        host.stop().await
    })
    .await
}

#[tokio::test]
async fn issue14_without_javascript_a_person_asks_for_more_rows() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let fresh = get(&host, "/apply?lang=en", None).await?;
        ensure!(
            fresh
                .body
                .contains(r#"<noscript><form id="rows-form" method="get" action="/apply">"#)
        );
        ensure!(fresh.body.contains(r#"name="rows.sites""#));
        ensure!(!fresh.body.contains(r#"name="sites[1].name""#));
        // Two standards (27001 and 27701) and three sites; a huge count is capped; an
        // unknown list is ignored. Tags are case-insensitive (RFC 5646): EN is English.
        let page = get(
            &host,
            "/apply?lang=EN&rows.standards=2&rows.sites=3&rows.consultancy=99999&rows.nope=4",
            None,
        )
        .await?;
        ensure!(page.status == 200, "{}", page.status);
        check_page(&page, "en", "rows")?;
        check_form(&page)?;
        for name in [
            "standards[1].code",
            "sites[2].name",
            "sites[2].personnel.full_time",
        ] {
            ensure!(
                page.body.contains(&format!("name=\"{name}\"")),
                "{name} is not in the form"
            );
        }
        ensure!(!page.body.contains(r#"name="sites[3].name""#));
        ensure!(page.body.contains(r#"name="consultancy[49].provider""#));
        ensure!(!page.body.contains(r#"name="consultancy[50].provider""#));
        ensure!(page.body.len() < MAX_PAGE * 4, "{} bytes", page.body.len());
        host.stop().await
    })
    .await
}
