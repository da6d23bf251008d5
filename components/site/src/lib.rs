//! certflow site (issue 14): the pages people use, with no external requests, and the OpenAPI
//! document. Pages: the consultation form (`GET /`, `/apply`), the applicant's status page
//! (`/applications/:id`), certificate verification (`/verify`, `/certificates/:number`).
//! Machines: `GET /openapi.json`. Thin: the data comes from the components that own it
//! (chained over `*.spin.internal`), the rules from `certflow_domain`.

mod openapi;
mod pages;

use certflow_component::{Method, Outcome, Reply, Request, is_head};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// Largest body accepted: the status page's token form.
const MAX_BODY: usize = 16 * 1024;

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    let head = is_head(&incoming);
    // Read before the body: a problem found reading the request (a malformed or `%2F` path,
    // a body too large) is answered in kind too.
    let first_header = |name: &str| {
        incoming
            .headers()
            .get(name)
            .first()
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let accept = first_header("accept");
    let accept_language = first_header("accept-language");
    let path_and_query = incoming.path_with_query().unwrap_or_default();
    let outcome = match Request::read(incoming, MAX_BODY).await {
        Ok(req) => route(&req).await,
        Err(problem) => Err(problem),
    };
    let page_path = path_and_query.split('?').next().unwrap_or_default() != "/openapi.json";
    outcome
        .unwrap_or_else(|problem| {
            // Issue 14: a person (Accept prefers HTML) gets a page for every problem of a
            // page's URL, not a problem document (`/verify?number=CF/1` leads to
            // `/certificates/CF%2F1`, a 404); API clients keep the problem document.
            if page_path && certflow_pages::prefers_html(accept.as_deref()) {
                let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
                pages::problem_page(&problem, query, accept_language.as_deref())
            } else {
                Reply::problem(problem)
            }
        })
        .send(head, out)
        .await
}

async fn route(req: &Request) -> Outcome {
    if req.path.trim_end_matches('/') == "/openapi.json" {
        return match req.method {
            Method::Get => openapi::reply(),
            _ => Err(certflow_component::method_not_allowed("GET")),
        };
    }
    pages::route(req).await
}
