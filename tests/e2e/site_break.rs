//! The pages (issue 14) attacked from outside: input that makes a page echo or render without
//! bound, paths that are no id or number. Each test is named after the rule it holds to; the
//! faults were found by the breaker of issue 14 against the running app.

use anyhow::{Result, ensure};
use certflow_tests::{Host, Store, start_app, with_store};
use std::time::Duration;

/// A browser's `Accept`.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
/// Issue 14: each page under 100 KB.
const MAX_PAGE: usize = 100 * 1024;

async fn send(req: reqwest::RequestBuilder) -> Result<(u16, String)> {
    let resp = req.header("accept", BROWSER).send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await?))
}

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?)
}

async fn get(host: &Host, path: &str) -> Result<(u16, String)> {
    send(client()?.get(host.url(path))).await
}

async fn post_422(host: &Host, body: &str) -> Result<String> {
    let (status, page) = send(
        client()?
            .post(host.url("/api/applications"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string()),
    )
    .await?;
    ensure!(status == 422, "{status}");
    Ok(page)
}

/// Issue 14 (each page under 100 KB) and I2 (the form again with what was typed): a 422 page
/// renders the rows typed in or pointed at by an error, not every row up to the highest index
/// sent. Before, `sites[0].personnel.part_time[999].weekly_hours=1` (50 bytes) made a 1 MB
/// page, eleven such fields 12 MB; now the page grows with the errors (the schema's limits:
/// at most 50 part-time rows), not with the index.
#[tokio::test]
async fn issue14_a_422_page_renders_the_rows_typed_not_every_index_up_to_a_hostile_one()
-> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let page = post_422(
            &host,
            "standards[999].code=x&organization.legal_name=Acme&sites[2].name=Third",
        )
        .await?;
        ensure!(
            page.len() < MAX_PAGE,
            "the 422 page is {} bytes",
            page.len()
        );
        // What was typed is still there, at its index.
        ensure!(
            page.contains(r#"name="standards[999].code""#),
            "standards[999] lost"
        );
        ensure!(page.contains(r#"value="Acme""#), "the typed name is lost");
        // A blank row in the middle that an error points into is still shown (I2).
        ensure!(page.contains(r#"value="Third""#), "sites[2] lost");
        ensure!(
            page.contains(r#"name="sites[1].name""#),
            "the blank sites[1] is not shown"
        );
        let near = post_422(&host, "sites[0].personnel.part_time[60].weekly_hours=1").await?;
        let far = post_422(&host, "sites[0].personnel.part_time[999].weekly_hours=1").await?;
        ensure!(
            far.len() < near.len() + 4096,
            "index 999: {} bytes, index 60: {} bytes",
            far.len(),
            near.len()
        );
        host.stop().await
    })
    .await
}

/// RFC 3986 §3.3 and issue 14 (each page under 100 KB): the status page's path segment goes
/// back into the page's links and its form action; a segment that is no application id
/// (`a?b` would post the token to `/applications/a`, 60 000 characters made a 187 KB page)
/// is the 404 page, for GET and POST alike.
#[tokio::test]
async fn rfc3986_a_status_page_path_that_is_no_application_id_is_the_404_page() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let long = "A".repeat(60_000);
        for id in ["a%3Fb", "%3Cscript%3E", long.as_str()] {
            let path = format!("/applications/{id}");
            let (status, page) = get(&host, &path).await?;
            ensure!(
                status == 404,
                "GET {}: {status}",
                &path[..40.min(path.len())]
            );
            ensure!(page.contains(r#"<main id="not-found">"#));
            ensure!(page.len() < MAX_PAGE, "{} bytes", page.len());
            let (status, page) = send(
                client()?
                    .post(host.url(&path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("access_token=x"),
            )
            .await?;
            ensure!(status == 404, "POST: {status}");
            ensure!(page.len() < MAX_PAGE, "{} bytes", page.len());
        }
        host.stop().await
    })
    .await
}

/// C1 (a certificate number is `<prefix>-<year>-<sequence>` in letters, digits, `-`, `_`,
/// `.`) and issue 14 (each page under 100 KB): a path that is no certificate number is the
/// 404 page without echoing it (60 000 characters made a 127 KB page), and `/verify` sends a
/// search for one there too, on the site.
#[tokio::test]
async fn c1_a_path_that_is_no_certificate_number_is_a_small_404_page() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let long = "A".repeat(60_000);
        for number in [long.as_str(), "%3Cb%3E", "%E2%80%AEx"] {
            let (status, page) = get(&host, &format!("/certificates/{number}")).await?;
            ensure!(status == 404, "{status}");
            ensure!(page.contains(r#"<main id="not-found">"#));
            ensure!(page.len() < MAX_PAGE, "{} bytes", page.len());
        }
        let (status, page) = get(&host, &format!("/verify?number={long}")).await?;
        ensure!(status == 303, "{status}: {}", &page[..200.min(page.len())]);
        host.stop().await
    })
    .await
}

/// Issue 14 (a person gets pages, an unknown number is a 404 page): a problem found reading a
/// page's request is a page for a browser too. `/verify?number=CF/1` leads to
/// `/certificates/CF%2F1`, which answered `application/problem+json`; a 405 keeps its `allow`.
#[tokio::test]
async fn issue14_a_browser_gets_a_page_for_every_problem_of_a_page_url() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let (status, location) = {
            let resp = client()?
                .get(host.url("/verify?number=CF/1"))
                .header("accept", BROWSER)
                .send()
                .await?;
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (resp.status().as_u16(), location)
        };
        ensure!(
            status == 303 && location.starts_with('/'),
            "{status} {location}"
        );
        let resp = client()?
            .get(host.url(&location))
            .header("accept", BROWSER)
            .send()
            .await?;
        ensure!(resp.status().as_u16() == 404, "{}", resp.status());
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        ensure!(kind == "text/html; charset=utf-8", "{location}: {kind}");
        ensure!(resp.text().await?.contains(r#"<main id="not-found">"#));
        let resp = client()?
            .delete(host.url("/apply"))
            .header("accept", BROWSER)
            .send()
            .await?;
        ensure!(resp.status().as_u16() == 405, "{}", resp.status());
        ensure!(resp.headers().get("allow").is_some(), "no allow");
        ensure!(resp.text().await?.contains(r#"<main id="error""#));
        // API clients keep the problem document.
        let resp = client()?
            .get(host.url("/certificates/CF%2F1"))
            .header("accept", "application/json")
            .send()
            .await?;
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        ensure!(kind == "application/problem+json", "{kind}");
        host.stop().await
    })
    .await
}
