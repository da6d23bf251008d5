//! The pages in a real browser (issue 14): headless Debian Chromium driven over WebDriver by
//! `certflow_tests::browser`, against the app on SQLite. Each test checks the HTML contract
//! (README "The pages") as a person meets it: the consultation form in both languages up to
//! the receipt and the status page, the errors at their fields (I2) with the typed values
//! kept, the form without JavaScript, a double submit (I7), adding and removing rows with
//! JavaScript, keyboard use (WCAG 2.1.1), and the verification pages (C6). axe-core runs in
//! every page and fails a test on a serious or critical violation; every page is saved as a
//! PNG under `target/screenshots/` in both languages.

use anyhow::{Context, Result, ensure};
use certflow_tests::browser::{Browser, Options, control_id, form_fields};
use certflow_tests::workflow::{certify, register_people};
use certflow_tests::{Host, Store, example_application, start_app, stored_state, with_store};
use fantoccini::key::Key;
use serde_json::Value;
use std::path::Path;

/// The consultation as a person types it into the form: the DESIGN example (valid USCC) with
/// one standard (the form's first row) and the application's `language` set to `language`.
fn typed_application(language: &str) -> Result<Value> {
    let mut application = example_application()?;
    if let Some(standards) = application["standards"].as_array_mut() {
        standards.truncate(1);
    }
    application["language"] = Value::from(language);
    Ok(application)
}

/// How many applications the store holds.
async fn stored_applications(state: &Path) -> Result<usize> {
    let keys = stored_state(state)?.keys("default").await?;
    Ok(keys
        .iter()
        .filter(|k| k.starts_with("application:"))
        .count())
}

/// A browser on `host` sending `Accept-Language: accept_language`, JavaScript on or off.
async fn browser(host: &Host, accept_language: &str, javascript: bool) -> Result<Browser> {
    Browser::start(
        &host.base,
        &Options {
            javascript,
            accept_language: accept_language.to_string(),
        },
    )
    .await
}

/// Checks the current page is in `lang` (`zh-CN` or `en`), runs axe-core on it and saves its
/// screenshot as `<name>.png`.
async fn look_at(browser: &Browser, name: &str, lang: &str) -> Result<()> {
    let actual = browser.lang().await?;
    ensure!(
        actual == lang,
        "{name}: <html lang={actual:?}>, expected {lang:?}"
    );
    let (passes, minor) = browser.axe(name).await?;
    let shot = browser.screenshot(name).await?;
    eprintln!(
        "{name}: axe {passes} rules passed, {minor} minor violation(s); {}",
        shot.display()
    );
    Ok(())
}

/// Whether `text` has a CJK ideograph (a Chinese message or label).
fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The receipt on the current page: checks the contract's elements and returns the
/// application id and the access token.
async fn read_receipt(browser: &Browser) -> Result<(String, String)> {
    browser.wait_for_id("receipt").await?;
    let id = browser.text_of("receipt-id").await?;
    ensure!(!id.is_empty(), "the receipt shows no application id");
    let status = browser.text_of("receipt-status").await?;
    ensure!(!status.is_empty(), "the receipt shows no status");
    let token = browser.text_of("receipt-token").await?;
    ensure!(token.len() >= 16, "the receipt's access token is {token:?}");
    let link = browser.by_id("status-link").await?;
    let href = link.attr("href").await?.unwrap_or_default();
    // The status page in the receipt's own language.
    let lang = browser.lang().await?;
    let lang = lang.split('-').next().unwrap_or_default();
    ensure!(
        href == format!("/applications/{id}?lang={lang}"),
        "the status link is {href:?}"
    );
    let url = browser.path().await?;
    ensure!(!url.contains(&token), "the token is in the URL {url}");
    Ok((id, token))
}

/// Fills the whole form with `application` (its controls as the contract names them), then
/// submits it with the submit button.
async fn fill_and_submit(browser: &Browser, application: &Value) -> Result<()> {
    browser.fill_all(&form_fields(application)).await?;
    browser.by_id("submit").await?.click().await?;
    Ok(())
}

/// The form in one language (by the browser's `Accept-Language`) up to the receipt, then the
/// status page with the receipt's token, then the status page with a wrong token.
async fn form_to_receipt_and_status(accept_language: &str, lang: &str, suffix: &str) -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let browser = browser(&host, accept_language, true).await?;
    browser.goto("/").await?;
    let form = browser.by_id("application-form").await?;
    ensure!(
        form.attr("action").await?.as_deref() == Some("/api/applications"),
        "the form posts elsewhere"
    );
    look_at(&browser, &format!("form-{suffix}"), lang).await?;

    let language = if lang == "en" { "en" } else { "zh" };
    fill_and_submit(&browser, &typed_application(language)?).await?;
    let (id, token) = read_receipt(&browser).await?;
    let receipt = browser.text_of("receipt").await?;
    ensure!(
        lang == "en" || has_chinese(&receipt),
        "the Chinese receipt has no Chinese: {receipt}"
    );
    look_at(&browser, &format!("receipt-{suffix}"), lang).await?;

    // The stored application is the one typed.
    let record = certflow_tests::workflow::application_record(&host, &id).await?;
    let stored = &record["application"];
    ensure!(
        stored["organization"]["legal_id"]["number"] == "91310000MA1FL8XQ37"
            && stored["sites"][0]["personnel"]["full_time"] == 120
            && stored["management_system"]["operating_since"] == "2026-01-15",
        "stored: {record}"
    );

    // The status page: the token in a form field, never in the URL.
    browser.by_id("status-link").await?.click().await?;
    browser.wait_for_id("f-access_token").await?;
    look_at(&browser, &format!("status-form-{suffix}"), lang).await?;
    browser.fill("access_token", &token).await?;
    browser.press(&Key::Enter.to_string()).await?;
    browser.wait_for_id("application").await?;
    let status = browser.text_of("application-status").await?;
    ensure!(!status.is_empty(), "the status page shows no status");
    let history = browser.all("#history li").await?;
    ensure!(!history.is_empty(), "the status page shows no history");
    let url = browser.path().await?;
    ensure!(
        url.split('?').next() == Some(format!("/applications/{id}").as_str())
            && !url.contains(&token),
        "the status page is at {url}"
    );
    look_at(&browser, &format!("status-{suffix}"), lang).await?;

    // A wrong token: the 404 page, not the application.
    browser.goto(&format!("/applications/{id}")).await?;
    browser.wait_for_id("f-access_token").await?;
    browser
        .fill("access_token", "not-the-token-0000000000")
        .await?;
    browser.press(&Key::Enter.to_string()).await?;
    browser.wait_for_id("not-found").await?;
    look_at(&browser, &format!("status-not-found-{suffix}"), lang).await?;

    browser.close().await?;
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i14_the_form_in_chinese_reaches_the_receipt_and_the_status_page() -> Result<()> {
    // Chinese by the browser's Accept-Language.
    with_store(
        Store::Sqlite,
        form_to_receipt_and_status("zh-CN,zh", "zh-CN", "zh"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i14_the_form_in_english_reaches_the_receipt_and_the_status_page() -> Result<()> {
    // English by the browser's Accept-Language (`?lang=en` over a Chinese browser: the
    // verification test).
    with_store(
        Store::Sqlite,
        form_to_receipt_and_status("en-US,en", "en", "en"),
    )
    .await
}

/// I2 in the browser: a wrong USCC check character and no management-system start date.
async fn errors_at_their_fields(accept_language: &str, lang: &str, suffix: &str) -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let browser = browser(&host, accept_language, true).await?;
    browser.goto("/").await?;
    browser.by_id("application-form").await?;

    let mut application = typed_application(if lang == "en" { "en" } else { "zh" })?;
    // The USCC's check character is `7`: `8` is wrong.
    application["organization"]["legal_id"]["number"] = Value::from("91310000MA1FL8XQ38");
    if let Some(ms) = application["management_system"].as_object_mut() {
        ms.remove("operating_since");
    }
    let typed = form_fields(&application);
    fill_and_submit(&browser, &application).await?;

    let summary = browser.wait_for_id("error-summary").await?;
    ensure!(
        summary.attr("role").await?.as_deref() == Some("alert"),
        "the error summary is not an alert"
    );
    // WCAG 3.3.1 / the contract: the summary has focus after the 422.
    let focused = browser.focused_id().await?;
    ensure!(
        focused == "error-summary",
        "focus is on {focused:?}, not the error summary"
    );
    for name in [
        "organization.legal_id.number",
        "management_system.operating_since",
    ] {
        let id = control_id(name);
        let error_id = format!("{id}-error");
        browser
            .css(&format!("#error-summary a[href=\"#{id}\"]"))
            .await
            .with_context(|| format!("the error summary does not link to #{id}"))?;
        let message = browser.text_of(&error_id).await?;
        ensure!(!message.is_empty(), "#{error_id} is empty");
        ensure!(
            (lang == "en") != has_chinese(&message),
            "#{error_id} is not in {lang}: {message:?}"
        );
        let control = browser.by_id(&id).await?;
        ensure!(
            control.attr("aria-invalid").await?.as_deref() == Some("true"),
            "#{id} is not aria-invalid"
        );
        let described = control.attr("aria-describedby").await?.unwrap_or_default();
        ensure!(
            described.split_whitespace().any(|d| d == error_id),
            "#{id} aria-describedby={described:?} does not name #{error_id}"
        );
    }
    // Every typed value is still there, the wrong USCC too.
    for (name, value) in &typed {
        let kept = browser.control_value(name).await?;
        ensure!(
            &kept == value,
            "{name}: typed {value:?}, the page kept {kept:?}"
        );
    }
    look_at(&browser, &format!("form-errors-{suffix}"), lang).await?;

    // The link in the summary moves focus to the field (HTML's fragment navigation).
    browser
        .css("#error-summary a[href=\"#f-organization-legal_id-number\"]")
        .await?
        .click()
        .await?;
    let focused = browser.focused_id().await?;
    ensure!(
        focused == "f-organization-legal_id-number",
        "the summary's link moved focus to {focused:?}"
    );
    ensure!(
        stored_applications(state.path()).await? == 0,
        "an application was stored"
    );
    browser.close().await?;
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i2_a_wrong_uscc_and_a_missing_date_show_their_messages_at_their_fields_in_chinese()
-> Result<()> {
    with_store(
        Store::Sqlite,
        errors_at_their_fields("zh-CN,zh", "zh-CN", "zh"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i2_a_wrong_uscc_and_a_missing_date_show_their_messages_at_their_fields_in_english()
-> Result<()> {
    with_store(
        Store::Sqlite,
        errors_at_their_fields("en-US,en", "en", "en"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i14_without_javascript_the_form_still_submits_and_reaches_the_receipt() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let browser = browser(&host, "en-US,en", false).await?;
        browser.goto("/").await?;
        browser.by_id("application-form").await?;
        fill_and_submit(&browser, &typed_application("en")?).await?;
        let (id, _) = read_receipt(&browser).await?;
        ensure!(
            stored_applications(state.path()).await? == 1,
            "not one application"
        );
        let record = certflow_tests::workflow::application_record(&host, &id).await?;
        ensure!(
            record["application"]["sites"][0]["personnel"]["part_time"][0]["weekly_hours"].as_f64()
                == Some(20.0),
            "stored: {record}"
        );
        browser.screenshot("receipt-en-no-javascript").await?;
        browser.close().await?;
        host.stop().await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i7_a_double_click_and_a_resubmit_in_the_browser_make_one_application() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let browser = browser(&host, "en-US,en", true).await?;
        browser.goto("/").await?;
        browser.by_id("application-form").await?;
        browser
            .fill_all(&form_fields(&typed_application("en")?))
            .await?;
        let key = browser
            .css("input[type=hidden][name=idempotency_key]")
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();
        ensure!(key.len() >= 16, "the idempotency key is {key:?}");
        // A double click: two clicks as fast as the page takes them.
        let submit = browser.by_id("submit").await?;
        browser
            .client
            .execute(
                "arguments[0].click(); arguments[0].click();",
                vec![serde_json::to_value(&submit)?],
            )
            .await?;
        let (first_id, _) = read_receipt(&browser).await?;
        // Back to the form (the same page load: the same key) and submit again.
        browser.client.back().await?;
        browser.wait_for_id("submit").await?.click().await?;
        let (second_id, _) = read_receipt(&browser).await?;
        ensure!(
            first_id == second_id,
            "the resubmit made {second_id}, not {first_id}"
        );
        let stored = stored_applications(state.path()).await?;
        ensure!(stored == 1, "{stored} applications stored");
        browser.close().await?;
        host.stop().await
    })
    .await
}

/// What has focus, in one call: its name, id, type, whether it is ticked, and (for a select)
/// the label of its option with value `wanted`.
async fn focused(
    browser: &Browser,
    wanted: &str,
) -> Result<(String, String, String, bool, String)> {
    let script = "const e = document.activeElement; \
         const o = e.tagName === 'SELECT' \
           ? [...e.options].find(o => o.value === arguments[0]) : null; \
         return [e.name || '', e.id || '', e.type || '', !!e.checked, \
                 o ? o.textContent.trim() : ''];";
    let v = browser
        .client
        .execute(script, vec![Value::from(wanted)])
        .await?;
    let text = |i: usize| v[i].as_str().unwrap_or_default().to_string();
    Ok((text(0), text(1), text(2), v[3] == true, text(4)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wcag_2_1_1_the_form_is_filled_and_submitted_by_keyboard_alone() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let browser = browser(&host, "en-US,en", true).await?;
        browser.goto("/").await?;
        browser.by_id("application-form").await?;
        // The fields in the page's order (the Tab order), read from the page once.
        let order = browser
            .client
            .execute(
                "return [...document.querySelectorAll('#application-form [name]')]\
                 .map(e => e.name);",
                vec![],
            )
            .await?;
        let order: Vec<&str> = order
            .as_array()
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = form_fields(&typed_application("en")?);
        fields.sort_by_key(|(name, _)| order.iter().position(|n| n == name));
        let tab = Key::Tab.to_string();
        for (name, value) in &fields {
            // Tab forward until the field's control has focus, then type as a person would.
            let mut reached = false;
            for _ in 0..40 {
                let (focused_name, _, kind, checked, label) = focused(&browser, value).await?;
                if &focused_name == name {
                    reached = true;
                    match kind.as_str() {
                        "checkbox" if checked != (value == "true") => {
                            browser.press(&Key::Space.to_string()).await?
                        }
                        "checkbox" => {}
                        // Type-ahead on the option's label.
                        "select-one" => browser.press(&label).await?,
                        _ => browser.press(value).await?,
                    }
                    break;
                }
                browser.press(&tab).await?;
            }
            ensure!(reached, "40 Tabs did not reach {name}");
        }
        // On to the submit button, and Enter.
        let mut reached = false;
        for _ in 0..10 {
            if focused(&browser, "").await?.1 == "submit" {
                reached = true;
                break;
            }
            browser.press(&tab).await?;
        }
        ensure!(reached, "Tab did not reach the submit button");
        browser.press(&Key::Enter.to_string()).await?;
        let (id, _) = read_receipt(&browser).await?;
        let record = certflow_tests::workflow::application_record(&host, &id).await?;
        let stored = &record["application"];
        ensure!(
            stored["organization"]["legal_id"]["number"] == "91310000MA1FL8XQ37"
                && stored["standards"][0]["edition"] == "2022"
                && stored["sites"][0]["central"] == true
                && stored["sites"][0]["personnel"]["part_time"][0]["count"] == 10
                && stored["management_system"]["operating_since"] == "2026-01-15"
                && stored["declarations"]["not_on_serious_illegal_list"] == true
                && stored["language"] == "en",
            "stored: {stored}"
        );
        read_receipt(&browser).await?;
        ensure!(
            stored_applications(state.path()).await? == 1,
            "not one application"
        );
        browser.close().await?;
        host.stop().await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c6_the_verification_page_shows_an_issued_certificate_and_a_404_for_an_unknown_number()
-> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        register_people(&host).await?;
        let (_, number) = certify(&host, &mut Vec::new()).await?;
        let browser = browser(&host, "zh-CN,zh", true).await?;
        for (query, lang, suffix) in [("", "zh-CN", "zh"), ("?lang=en", "en", "en")] {
            browser.goto(&format!("/verify{query}")).await?;
            look_at(&browser, &format!("verify-{suffix}"), lang).await?;
            // The search box, typed into and submitted with Enter.
            browser.by_id("f-number").await?.click().await?;
            browser.press(&number).await?;
            browser.press(&Key::Enter.to_string()).await?;
            browser.wait_for_id("certificate").await?;
            let url = browser.path().await?;
            ensure!(
                url.starts_with(&format!("/certificates/{number}")),
                "the search led to {url}"
            );
            let status = browser.by_id("certificate-status").await?;
            ensure!(
                status.attr("data-status").await?.as_deref() == Some("active"),
                "the certificate's status is not active"
            );
            let words = status.text().await?;
            ensure!(
                (lang == "en") != has_chinese(&words),
                "the status {words:?} is not in {lang}"
            );
            let page = browser.text_of("certificate").await?;
            ensure!(
                page.contains(&number) && page.contains("ISO/IEC 27001"),
                "the certificate page: {page}"
            );
            look_at(&browser, &format!("certificate-{suffix}"), lang).await?;

            browser
                .goto(&format!("/certificates/CF-NO-SUCH-0000{query}"))
                .await?;
            browser.wait_for_id("not-found").await?;
            look_at(&browser, &format!("certificate-not-found-{suffix}"), lang).await?;
        }
        let (status, _) = host.get("/certificates/CF-NO-SUCH-0000").await?;
        ensure!(status == 404, "an unknown number answers {status}");
        browser.close().await?;
        host.stop().await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i14_with_javascript_site_rows_are_added_and_removed_and_posted_with_the_right_names()
-> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let browser = browser(&host, "en-US,en", true).await?;
        browser.goto("/").await?;
        browser.by_id("application-form").await?;
        let application = typed_application("en")?;
        browser.fill_all(&form_fields(&application)).await?;
        ensure!(
            browser
                .all("[data-list=sites] > .rows > [data-row]")
                .await?
                .len()
                == 1,
            "the form does not start with one site"
        );
        // Two more sites, as the script adds them: named sites[1] and sites[2].
        let add = "[data-list=sites] > button[data-add]";
        for (i, name) in [(1, "Branch B"), (2, "Branch C")] {
            browser.css(add).await?.click().await?;
            let mut site = application["sites"][0].clone();
            site["name"] = Value::from(name);
            site["central"] = Value::Bool(false);
            let mut wrapper = serde_json::json!({ "sites": [] });
            if let Some(sites) = wrapper["sites"].as_array_mut() {
                sites.resize(i, Value::Null);
                sites.push(site);
            }
            browser.fill_all(&form_fields(&wrapper)).await?;
        }
        browser.screenshot("form-three-sites-en").await?;
        // Remove the middle one: the last row becomes sites[1].
        let rows = browser
            .all("[data-list=sites] > .rows > [data-row]")
            .await?;
        ensure!(rows.len() == 3, "{} site rows after two adds", rows.len());
        let remove = rows[1]
            .find(fantoccini::Locator::Css(":scope > button[data-remove]"))
            .await?;
        remove.click().await?;
        let names = browser
            .all("[data-list=sites] > .rows > [data-row]")
            .await?;
        ensure!(names.len() == 2, "{} site rows after a remove", names.len());
        ensure!(
            browser.value_of("f-sites-1-name").await? == "Branch C",
            "the last site is not renamed sites[1]"
        );
        ensure!(
            browser
                .all("#f-sites-2-name, [name^=\"sites[2]\"]")
                .await?
                .is_empty(),
            "a control still names sites[2]"
        );
        browser.by_id("submit").await?.click().await?;
        let (id, _) = read_receipt(&browser).await?;
        let record = certflow_tests::workflow::application_record(&host, &id).await?;
        let sites = &record["application"]["sites"];
        ensure!(
            sites[0]["name"] == "Head office"
                && sites[1]["name"] == "Branch C"
                && sites[1]["personnel"]["part_time"][0]["count"] == 10
                && sites.as_array().map(Vec::len) == Some(2),
            "stored sites: {sites}"
        );
        browser.close().await?;
        host.stop().await
    })
    .await
}
