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
    let outcome = match Request::read(incoming, MAX_BODY).await {
        Ok(req) => route(&req).await,
        Err(problem) => Err(problem),
    };
    outcome.unwrap_or_else(Reply::problem).send(head, out).await
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
