//! Issue 14: intake's answers to a browser (a `POST /api/applications` whose `Accept` prefers
//! `text/html`, [`certflow_pages::prefers_html`]): the receipt for a 201 (and its idempotent
//! replay, I7), the form again with every value kept and every error at its field for a 422,
//! and an error page for any other problem, each with the status the JSON reply would have.

use certflow_component::{Outcome, Reply, Request};
use certflow_domain::Problem;
use certflow_pages::form::{FormState, IDEMPOTENCY_FIELD, PAGE_LANGUAGE_FIELD, ShownError, render};
use certflow_pages::page::{self, HTML};
use certflow_pages::{Lang, Page};

fn with_page_headers(reply: Reply, page: &Page) -> Reply {
    page.headers("no-store")
        .into_iter()
        .fold(reply, |reply, (name, value)| reply.header(name, value))
}

/// The page for `outcome` in `lang`.
pub fn reply(outcome: Outcome, req: Option<&Request>, lang: Lang) -> Reply {
    match outcome {
        Ok(reply) => receipt(reply, lang),
        Err(problem) if problem.status == 422 && req.is_some_and(is_form) => {
            form_again(&problem, req, lang)
        }
        Err(problem) => error_page(&problem, lang),
    }
}

fn is_form(req: &Request) -> bool {
    req.body_media_type().is_ok_and(|t| t == crate::FORM)
}

/// The 201 as the receipt: id, status, flags, the token shown once, the status link.
fn receipt(reply: Reply, lang: Lang) -> Reply {
    let Some(body) = reply.success_json() else {
        return reply;
    };
    let id = body["id"].as_str().unwrap_or_default();
    let status = body["status"].as_str().unwrap_or_default();
    let token = body["access_token"].as_str().unwrap_or_default();
    let replayed = reply.header_value("idempotent-replayed") == Some("true");
    let page = page::receipt(lang, id, status, &body["flags"], token, replayed);
    let mut html = Reply::new(reply.status(), HTML, page.render());
    for name in ["location", "idempotent-replayed"] {
        if let Some(value) = reply.header_value(name) {
            html = html.header(name, value.to_string());
        }
    }
    with_page_headers(html, &page)
}

/// The 422 as the form again: what was typed (the form's fields as received), each error at
/// its control and in the summary, and a fresh idempotency key (the failed submission stored
/// nothing; I7).
fn form_again(problem: &Problem, req: Option<&Request>, lang: Lang) -> Reply {
    let values = req
        .and_then(|req| certflow_domain::intake::form::fields(req.body()).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, _)| name != IDEMPOTENCY_FIELD && name != PAGE_LANGUAGE_FIELD)
        .collect();
    let key = match certflow_component::random_bytes::<16>() {
        Ok(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        Err(problem) => return error_page(&problem, lang),
    };
    let state = FormState {
        lang,
        today: certflow_component::now().date_naive(),
        values,
        errors: problem
            .errors
            .iter()
            .map(|e| ShownError {
                field: e.field.clone(),
                code: e.code.as_str().to_string(),
                message: e.message.clone(),
            })
            .collect(),
        idempotency_key: key,
        // The rows typed in (and those an error points into) are shown again.
        min_rows: Default::default(),
    };
    let page = Page {
        lang,
        title: certflow_pages::t(lang, "page.apply.title").to_string(),
        main: render(&state),
        switch_path: None,
    };
    let reply = Reply::problem_with_body(problem, HTML, page.render());
    with_page_headers(reply, &page)
}

/// Any other problem as a page with its status (and the headers its status calls for).
fn error_page(problem: &Problem, lang: Lang) -> Reply {
    let page = page::problem(
        lang,
        problem.status,
        &problem.kind,
        &problem.title,
        problem.detail.as_deref(),
    );
    let reply = Reply::problem_with_body(problem, HTML, page.render());
    let reply = if problem.status == 415 {
        reply.header(
            "accept-post",
            format!("{}, {}", certflow_component::JSON, crate::FORM),
        )
    } else {
        reply
    };
    with_page_headers(reply, &page)
}
