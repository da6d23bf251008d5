//! `GET /openapi.json`: the OpenAPI 3.1 document of every route (issue 14, item 2).

use certflow_component::Outcome;
use certflow_domain::Problem;

/// The document (not yet written: 404 until it is).
pub fn reply() -> Outcome {
    Err(Problem::new(404, "not-found", "Not found"))
}
