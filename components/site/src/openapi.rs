//! `GET /openapi.json`: the OpenAPI 3.1 document of every route (issue 14, item 2).
//!
//! Three parts, each from its one home:
//! - the routes, their security, bodies and responses: data, `openapi/document.json`;
//! - the application contract (`components.schemas.Application`): generated from the
//!   validator's field table by [`certflow_domain::json_schema::application`], so the
//!   document's limits are the ones intake enforces;
//! - every problem `type` (`components.schemas.ProblemType`): the problem-type catalog
//!   `components/shared/i18n/problems.json` ([`certflow_component::problem_types`]).

use certflow_component::problem_types::CATALOG_JSON;
use certflow_component::{Outcome, Reply};
use certflow_domain::{IntakeConfig, Problem};
use serde_json::{Map, Value, json};

/// The static part of the document.
const DOCUMENT: &str = include_str!("../openapi/document.json");

/// `GET /openapi.json`: `200`, `application/json`, cacheable for five minutes (it changes
/// only with a deployment). A data file that does not parse is a build defect: `503`
/// `unavailable`, naming the file.
pub fn reply() -> Outcome {
    let document = document()?;
    Ok(
        Reply::new(200, certflow_component::JSON, document.to_string())
            .header("cache-control", "public, max-age=300"),
    )
}

/// The whole document as JSON.
pub fn document() -> Result<Value, Problem> {
    let mut document: Value = serde_json::from_str(DOCUMENT).map_err(|e| broken("document", e))?;
    let catalog: Map<String, Value> =
        serde_json::from_str(CATALOG_JSON).map_err(|e| broken("problems", e))?;
    let types: Vec<&String> = catalog.keys().collect();
    let described: Vec<String> = catalog
        .iter()
        .map(|(kind, titles)| format!("`{kind}`: {}", titles["en"].as_str().unwrap_or_default()))
        .collect();
    let schemas = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| broken("document", "no components.schemas"))?;
    schemas.insert(
        "Application".into(),
        certflow_domain::json_schema::application(&IntakeConfig::default()),
    );
    schemas.insert(
        "ProblemType".into(),
        json!({
            "type": "string",
            "format": "uri",
            "enum": types,
            "description": format!("Every problem type certflow answers with:\n- {}", described.join("\n- ")),
        }),
    );
    Ok(document)
}

fn broken(file: &str, error: impl std::fmt::Display) -> Problem {
    Problem::new(503, "unavailable", "Service unavailable")
        .detail(format!("the OpenAPI data ({file}.json) cannot be read: {error}"))
}
