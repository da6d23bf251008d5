//! HTTP read as HTTP allows, on every component: the `Bearer` scheme in any case (RFC 9110
//! §11.1, RFC 6750 §2.1), two `Authorization` headers refused (RFC 9110 §5.3),
//! percent-encoded unreserved characters as the same URI (RFC 3986 §2.3, §6.2.2.2) with an
//! encoded `/` staying a 404, and `HEAD` answered as `GET` without the body (RFC 9110
//! §9.3.2), with 405s that list it (RFC 9110 §15.5.6).

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::workflow::{certify, register_people};
use certflow_tests::{OPERATOR_TOKEN, example_application, start_app};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;

const PROBLEM: &str = "application/problem+json";

/// Status, content type and body text of a request.
async fn exchange(req: reqwest::RequestBuilder) -> Result<(u16, String, String)> {
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok((status, content_type, resp.text().await?))
}

fn problem_type(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_string))
        .unwrap_or_default()
}

each_store! {
async fn rfc9110_rfc6750_bearer_scheme_is_case_insensitive_and_sent_once() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?.to_string();
    let access = created.body["access_token"]
        .as_str()
        .context("token")?
        .to_string();

    // RFC 9110 §11.1, RFC 6750 §2.1: any case of the scheme; one or more spaces after it.
    for scheme in ["Bearer", "bearer", "BEARER", "BeArEr"] {
        for (path, token) in [
            ("/api/settings".to_string(), OPERATOR_TOKEN),
            (format!("/api/applications/{id}"), OPERATOR_TOKEN),
            (format!("/api/applications/{id}"), access.as_str()),
            (format!("/api/applications/{id}/audits"), OPERATOR_TOKEN),
            (
                format!("/api/applications/{id}/remote-audit"),
                OPERATOR_TOKEN,
            ),
            ("/api/exports/certsearch".to_string(), OPERATOR_TOKEN),
        ] {
            let (status, _, text) = exchange(
                host.client
                    .get(host.url(&path))
                    .header(AUTHORIZATION, format!("{scheme} {token}")),
            )
            .await?;
            ensure!(status == 200, "{scheme} on {path}: {status} {text}");
        }
    }
    let (status, _, text) = exchange(
        host.client
            .get(host.url("/api/settings"))
            .header(AUTHORIZATION, format!("bearer   {OPERATOR_TOKEN}")),
    )
    .await?;
    ensure!(status == 200, "{status} {text}");
    // Another scheme is still no operator.
    let (status, _, _) = exchange(
        host.client
            .get(host.url("/api/settings"))
            .header(AUTHORIZATION, format!("Basic {OPERATOR_TOKEN}")),
    )
    .await?;
    ensure!(status == 401, "{status}");

    // RFC 9110 §5.3: Authorization is not a list; two of them are refused, not "the first".
    for path in [
        "/api/settings".to_string(),
        format!("/api/applications/{id}"),
        format!("/api/applications/{id}/audits"),
        "/api/exports/certsearch".to_string(),
    ] {
        let same = format!("Bearer {OPERATOR_TOKEN}");
        for second in ["Bearer not-a-token", same.as_str()] {
            let mut headers = HeaderMap::new();
            headers.append(
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {OPERATOR_TOKEN}"))?,
            );
            headers.append(AUTHORIZATION, HeaderValue::from_str(second)?);
            let (status, content_type, text) =
                exchange(host.client.get(host.url(&path)).headers(headers)).await?;
            ensure!(
                status == 400
                    && content_type == PROBLEM
                    && problem_type(&text) == "https://certflow.dev/problems/duplicate-header",
                "{path}: {status} {content_type} {text}"
            );
        }
    }
    host.stop().await
}
}

each_store! {
async fn rfc3986_percent_encoded_unreserved_characters_are_the_same_uri() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let (id, number) = certify(&host, &mut Vec::new()).await?;

    // The certificate number with every '-' encoded (RFC 3986 §2.3: %2D is '-').
    let encoded = number.replace('-', "%2D");
    ensure!(encoded != number, "{number}");
    let (status, plain) = host.get(&format!("/api/certificates/{number}")).await?;
    ensure!(status == 200, "{status} {plain}");
    let (status, text) = host.get(&format!("/api/certificates/{encoded}")).await?;
    ensure!(status == 200 && text == plain, "{status} {text}");
    // Lowercase hex digits are the same octet (RFC 3986 §2.1).
    let (status, text) = host
        .get(&format!("/api/certificates/{}", number.replace('-', "%2d")))
        .await?;
    ensure!(status == 200 && text == plain, "{status} {text}");
    let record = |path: String| host.client.get(host.url(&path)).bearer_auth(OPERATOR_TOKEN);
    let (status, _, text) = exchange(record(format!("/api/certificates/{encoded}/record"))).await?;
    ensure!(status == 200, "{status} {text}");

    // The application id with its hex digits encoded, on several components' routes.
    let encoded_id: String = id.bytes().map(|b| format!("%{b:02X}")).collect();
    for (plain_path, encoded_path) in [
        (
            format!("/api/applications/{id}"),
            format!("/api/applications/{encoded_id}"),
        ),
        (
            format!("/api/applications/{id}/audits"),
            format!("/api/applications/{encoded_id}/audits"),
        ),
        (
            format!("/api/applications/{id}/remote-audit"),
            format!("/api/applications/{encoded_id}/remote-audit"),
        ),
        (
            format!("/api/applications/{id}/certificate"),
            format!("/api/applications/{encoded_id}/certificate"),
        ),
        (
            "/api/people/wang-fang".to_string(),
            "/api/people/wang%2Dfang".to_string(),
        ),
    ] {
        let (status, _, expected) = exchange(record(plain_path.clone())).await?;
        ensure!(status == 200, "{plain_path}: {status} {expected}");
        let (status, _, text) = exchange(record(encoded_path.clone())).await?;
        ensure!(
            status == 200 && text == expected,
            "{encoded_path}: {status} {text}"
        );
    }

    // An encoded '/' stays inside its segment: no resource has that name (404), and it is
    // never read as a separator.
    let slashed = number.replacen('-', "%2F", 1);
    for path in [
        format!("/api/certificates/{slashed}"),
        format!("/api/certificates/{}", number.replacen('-', "%2f", 1)),
        format!("/api/certificates/{number}%2Frecord"),
        format!("/api/applications/{id}%2Faudits"),
    ] {
        let (status, content_type, text) = exchange(record(path.clone())).await?;
        ensure!(
            status == 404 && content_type == PROBLEM,
            "{path}: {status} {content_type} {text}"
        );
    }
    // Broken percent-encoding is the client's error, never a 500.
    for path in [
        "/api/certificates/CF%2".to_string(),
        "/api/certificates/CF%zz2026".to_string(),
        "/api/certificates/%FF%FE".to_string(),
        format!("/api/applications/{id}%"),
    ] {
        let (status, content_type, text) = exchange(record(path.clone())).await?;
        ensure!(
            status == 400
                && content_type == PROBLEM
                && problem_type(&text) == "https://certflow.dev/problems/malformed-path",
            "{path}: {status} {content_type} {text}"
        );
    }
    host.stop().await
}
}

each_store! {
async fn rfc9110_head_is_get_without_body() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let (id, number) = certify(&host, &mut Vec::new()).await?;

    let public = [format!("/api/certificates/{number}")];
    let operator = [
        format!("/api/applications/{id}"),
        format!("/api/applications/{id}/audits"),
        format!("/api/applications/{id}/remote-audit"),
        format!("/api/applications/{id}/certificate"),
        format!("/api/certificates/{number}/record"),
        "/api/people/wang-fang".to_string(),
        "/api/settings".to_string(),
        "/api/exports/certsearch".to_string(),
    ];
    let paths = public
        .iter()
        .map(|p| (p, false))
        .chain(operator.iter().map(|p| (p, true)));
    for (path, as_operator) in paths {
        let with_token = |req: reqwest::RequestBuilder| {
            if as_operator {
                req.bearer_auth(OPERATOR_TOKEN)
            } else {
                req
            }
        };
        let get = with_token(host.client.get(host.url(path))).send().await?;
        let head = with_token(host.client.head(host.url(path))).send().await?;
        ensure!(
            head.status() == get.status() && head.status() == 200,
            "HEAD {path}: {} (GET {})",
            head.status(),
            get.status()
        );
        for name in ["content-type", "cache-control"] {
            ensure!(
                head.headers().get(name) == get.headers().get(name),
                "HEAD {path}: {name} {:?} against {:?}",
                head.headers().get(name),
                get.headers().get(name)
            );
        }
        let body = head.bytes().await?;
        ensure!(body.is_empty(), "HEAD {path} sent a body: {body:?}");
    }
    // A problem answers HEAD without its body too, with the same status as GET.
    let head = host.client.head(host.url("/api/settings")).send().await?;
    ensure!(head.status() == 401, "{}", head.status());
    ensure!(head.bytes().await?.is_empty());

    // 405: RFC 9110 §15.5.6 `allow`, with HEAD wherever GET is allowed.
    for (method, path, allow) in [
        (
            Method::DELETE,
            format!("/api/certificates/{number}"),
            "GET, HEAD",
        ),
        (Method::PUT, format!("/api/applications/{id}"), "GET, HEAD"),
        (
            Method::DELETE,
            "/api/settings".to_string(),
            "GET, HEAD, PUT",
        ),
        (
            Method::PUT,
            format!("/api/applications/{id}/audits"),
            "GET, HEAD, POST",
        ),
        (
            Method::GET,
            format!("/api/applications/{id}/review"),
            "POST",
        ),
        (
            Method::HEAD,
            format!("/api/applications/{id}/decision"),
            "POST",
        ),
    ] {
        let resp = host
            .client
            .request(method.clone(), host.url(&path))
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let header = resp
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = resp.text().await?;
        ensure!(
            status == 405 && header == allow,
            "{method} {path}: {status} allow {header:?}: {text}"
        );
        if method != Method::HEAD {
            ensure!(text.contains(allow), "{method} {path}: {text}");
        }
    }
    host.stop().await
}
}
