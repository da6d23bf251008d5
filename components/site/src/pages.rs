//! The pages for people (issue 14, item 1).

use certflow_component::{Outcome, Request};
use certflow_domain::Problem;

/// Routes a page request (none written yet: 404 until they are).
pub async fn route(_req: &Request) -> Outcome {
    Err(Problem::new(404, "not-found", "Not found"))
}
