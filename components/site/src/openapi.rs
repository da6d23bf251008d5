//! `GET /openapi.json`: the OpenAPI 3.1 document of every route (issue 14, item 2).
//!
//! Three parts, each from its one home:
//! - the routes, their security, bodies and responses: data, `openapi/document.json`;
//! - the application contract (`components.schemas.Application`): generated from the
//!   validator's field table by [`certflow_domain::intake::json_schema::application`], so the
//!   document's limits are the ones intake enforces (with the `intake_config` variable's caps);
//! - every problem `type` (`components.schemas.ProblemType`): the problem-type catalog
//!   `components/shared/i18n/problems.json` ([`certflow_component::problem_types`]);
//! - the JSON submission's example: `tests/fixtures/application.json`.

use certflow_component::problem_types::CATALOG_JSON;
use certflow_component::{Outcome, Reply};
use certflow_domain::{IntakeConfig, Problem};
use serde_json::{Map, Value, json};

/// The static part of the document.
const DOCUMENT: &str = include_str!("../openapi/document.json");
/// The example application (the README's and the tests'), the JSON submission's example.
const EXAMPLE: &str = include_str!("../../../tests/fixtures/application.json");

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
    let example: Value = serde_json::from_str(EXAMPLE).map_err(|e| broken("example", e))?;
    if let Some(json) = document
        .pointer_mut("/paths/~1api~1applications/post/requestBody/content/application~1json")
    {
        json["example"] = example;
    }
    let schemas = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| broken("document", "no components.schemas"))?;
    schemas.insert(
        "Application".into(),
        certflow_domain::intake::json_schema::application(&intake_config()?),
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

/// Intake's settings (the `intake_config` variable, as intake reads it), for the caps the
/// contract publishes (the scope's length). Invalid: `503`, as intake answers then.
fn intake_config() -> Result<IntakeConfig, Problem> {
    let text = spin_sdk::variables::get("intake_config").unwrap_or_default();
    if text.trim().is_empty() {
        return Ok(IntakeConfig::default());
    }
    serde_json::from_str(&text).map_err(|e| {
        Problem::new(503, "unavailable", "Service unavailable")
            .detail(format!("the intake_config variable is invalid: {e}"))
    })
}

fn broken(file: &str, error: impl std::fmt::Display) -> Problem {
    Problem::new(503, "unavailable", "Service unavailable").detail(format!(
        "the OpenAPI data ({file}.json) cannot be read: {error}"
    ))
}
