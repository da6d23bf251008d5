//! The application contract (rule I1) as a JSON Schema (draft 2020-12, the dialect of
//! OpenAPI 3.1), generated from the one field table the validator walks (`schema`), so a
//! published limit is the enforced limit: types, required fields, length caps (in characters),
//! integer and number bounds, list sizes, enums, formats and "no unknown fields".
//!
//! What the schema cannot say, and the validator still checks (a document the schema accepts
//! may still get a `422`): dates from 1900 on and real calendar dates; a phone number's 7 to
//! 15 digits; the cross-field rules (I1's sums and site indexes, the USCC check digit, I3's
//! editions, I5). The validator trims text before it measures and matches it, so a value
//! padded with white space may pass the validator and fail the schema's cap or enum, never
//! the other way round.

use serde_json::{Map, Value, json};

use crate::intake::config::IntakeConfig;
use crate::intake::schema::{APPLICATION, Cap, Format, Kind, Prop};
use crate::shared::formats::COUNTRIES;

/// Characters no text field takes (Unicode `Cc`, as `char::is_control`).
const CONTROL: &str = r"\u0000-\u001F\u007F-\u009F";
/// Control characters a multi-line text still refuses (tab, line feed and carriage return
/// are allowed).
const CONTROL_BUT_BREAKS: &str = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F";

/// The whole application (`POST /api/applications`, `POST /api/hooks/applications`) as a
/// JSON Schema object, with `config`'s caps (the scope's length, [`IntakeConfig::max_scope_len`]).
/// Every object is closed (`additionalProperties: false`, I1's `unknown_field`); a required
/// field may be neither missing nor `null` (nor blank text, nor an empty list); an optional
/// one may be `null`.
pub fn application(config: &IntakeConfig) -> Value {
    let mut schema = kind(&APPLICATION, config, true);
    if let Value::Object(map) = &mut schema {
        map.insert("title".into(), json!("Application"));
        map.insert(
            "description".into(),
            json!(
                "The application contract (rule I1), generated from the validator's field table. \
                 Dates from 1900 on, phone digit counts and the cross-field rules (I1-I5) are \
                 checked beyond this schema; every error comes back at once (I2)."
            ),
        );
    }
    schema
}

/// The schema of a value of `kind`; `required` values may not be `null`, blank or empty.
fn kind(kind_: &Kind, config: &IntakeConfig, required: bool) -> Value {
    let mut schema = match kind_ {
        Kind::Object(props) => object(props, config),
        Kind::Array { item, max } => {
            let mut s = json!({
                "type": "array",
                "items": kind(item, config, true),
                "maxItems": max,
            });
            if required {
                s["minItems"] = json!(1);
            }
            s
        }
        Kind::Text { cap, format } => text(*cap, *format, config, required),
        Kind::Integer { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Kind::Number {
            above,
            max,
            decimals,
        } => {
            let step = 10f64.powi(-(*decimals as i32));
            json!({
                "type": "number",
                "exclusiveMinimum": above,
                "maximum": max,
                "multipleOf": step,
            })
        }
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Enum(names) => json!({"type": "string", "enum": names}),
    };
    if !required {
        allow_null(&mut schema);
    }
    schema
}

fn object(props: &[Prop], config: &IntakeConfig) -> Value {
    let mut properties = Map::new();
    for prop in props {
        properties.insert(prop.name.into(), kind(&prop.kind, config, prop.required));
    }
    let required: Vec<&str> = props
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn text(cap: Cap, format: Format, config: &IntakeConfig, required: bool) -> Value {
    let max = match cap {
        Cap::Chars(n) => n,
        Cap::Scope => config.max_scope_len,
    };
    let mut schema = json!({"type": "string", "maxLength": max});
    let allowed = match format {
        Format::Multiline => CONTROL_BUT_BREAKS,
        _ => CONTROL,
    };
    let pattern = match format {
        Format::Date => {
            schema["format"] = json!("date");
            r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$".to_string()
        }
        Format::Email => {
            schema["format"] = json!("email");
            format!("^[^{allowed}\\s]+@[^{allowed}\\s]+$")
        }
        Format::Phone => r"^\s*\+?[0-9(][0-9 ()-]*\s*$".to_string(),
        Format::Url => {
            schema["format"] = json!("uri");
            r"^\s*https?://[^\s/?#]+[^\s]*\s*$".to_string()
        }
        Format::Country => {
            schema["enum"] = json!(COUNTRIES.split(' ').collect::<Vec<_>>());
            return schema;
        }
        // Blank text is missing: a required one needs a character that is not white space.
        Format::Line | Format::Multiline if required => {
            format!("^[^{allowed}]*[^{allowed}\\s][^{allowed}]*$")
        }
        Format::Line | Format::Multiline => format!("^[^{allowed}]*$"),
    };
    schema["pattern"] = json!(pattern);
    if required {
        schema["minLength"] = json!(1);
    }
    schema
}

/// Lets an optional value be `null` (the validator reads `null` as absent).
fn allow_null(schema: &mut Value) {
    if let Some(kind) = schema
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_owned)
    {
        schema["type"] = json!([kind, "null"]);
    }
    if let Some(Value::Array(names)) = schema.get_mut("enum") {
        names.push(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::schema;
    use crate::shared::error::ErrorCode;

    fn fixture() -> Result<Value, String> {
        let text = include_str!("../../../../tests/fixtures/application.json");
        serde_json::from_str(text).map_err(|e| format!("tests/fixtures/application.json: {e}"))
    }

    /// Walks the table and the generated schema together: every constraint the validator
    /// applies appears in the schema with the same value (one home for the limits).
    fn same_limits(kind_: &Kind, schema: &Value, required: bool, at: &str) -> Result<(), String> {
        let fail = |what: &str| Err(format!("{at}: {what}: {schema}"));
        let type_is = |want: &str| match &schema["type"] {
            Value::String(t) => required && t == want,
            Value::Array(ts) => !required && ts == &[json!(want), json!("null")],
            _ => false,
        };
        match kind_ {
            Kind::Object(props) => {
                if !type_is("object") || schema["additionalProperties"] != json!(false) {
                    return fail("not a closed object");
                }
                let names: Vec<&str> = props
                    .iter()
                    .filter(|p| p.required)
                    .map(|p| p.name)
                    .collect();
                if schema["required"] != json!(names) {
                    return fail("required fields differ");
                }
                let listed = schema["properties"].as_object().map_or(0, Map::len);
                if listed != props.len() {
                    return fail("properties differ");
                }
                for prop in *props {
                    let inner = &schema["properties"][prop.name];
                    same_limits(
                        &prop.kind,
                        inner,
                        prop.required,
                        &format!("{at}/{}", prop.name),
                    )?;
                }
            }
            Kind::Array { item, max } => {
                let min = if required { json!(1) } else { Value::Null };
                if !type_is("array")
                    || schema["maxItems"] != json!(max)
                    || schema["minItems"] != min
                {
                    return fail("list bounds differ");
                }
                same_limits(item, &schema["items"], true, &format!("{at}/items"))?;
            }
            Kind::Text { cap, format } => {
                let cap = match cap {
                    Cap::Chars(n) => *n,
                    Cap::Scope => IntakeConfig::default().max_scope_len,
                };
                if !type_is("string") || schema["maxLength"] != json!(cap) {
                    return fail("text cap differs");
                }
                let wanted = match format {
                    Format::Date => Some("date"),
                    Format::Email => Some("email"),
                    Format::Url => Some("uri"),
                    _ => None,
                };
                if schema["format"].as_str() != wanted {
                    return fail("format differs");
                }
                if *format == Format::Country {
                    let codes = schema["enum"].as_array().map_or(0, Vec::len);
                    if codes != 249 + usize::from(!required) {
                        return fail("country codes differ");
                    }
                } else if !schema["pattern"].is_string() {
                    return fail("no pattern");
                }
            }
            Kind::Integer { min, max } => {
                if !type_is("integer")
                    || schema["minimum"] != json!(min)
                    || schema["maximum"] != json!(max)
                {
                    return fail("integer bounds differ");
                }
            }
            Kind::Number {
                above,
                max,
                decimals,
            } => {
                let step = schema["multipleOf"].as_f64().unwrap_or_default();
                if !type_is("number")
                    || schema["exclusiveMinimum"] != json!(above)
                    || schema["maximum"] != json!(max)
                    || (step * 10f64.powi(*decimals as i32) - 1.0).abs() > 1e-9
                {
                    return fail("number bounds differ");
                }
            }
            Kind::Bool => {
                if !type_is("boolean") {
                    return fail("not a boolean");
                }
            }
            Kind::Enum(names) => {
                let mut want: Vec<Value> = names.iter().map(|n| json!(n)).collect();
                if !required {
                    want.push(Value::Null);
                }
                if !type_is("string") || schema["enum"] != Value::Array(want) {
                    return fail("enum differs");
                }
            }
        }
        Ok(())
    }

    /// The parts of JSON Schema the generator emits, except `pattern` and `format` (checked
    /// against a real validator by the end-to-end test `tests/e2e/openapi.rs`): enough to
    /// show the schema's structure agrees with the validator on a document.
    fn conforms(schema: &Value, value: &Value) -> bool {
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let type_ok = types.iter().any(|t| match (*t, value) {
            ("object", Value::Object(_))
            | ("array", Value::Array(_))
            | ("string", Value::String(_))
            | ("boolean", Value::Bool(_))
            | ("null", Value::Null) => true,
            ("number", Value::Number(_)) => true,
            ("integer", Value::Number(n)) => n.as_f64().is_some_and(|f| f.fract() == 0.0),
            _ => false,
        });
        if !type_ok {
            return false;
        }
        if let Some(names) = schema["enum"].as_array()
            && !names.contains(value)
        {
            return false;
        }
        let bound = |key: &str| schema[key].as_f64();
        match value {
            Value::Object(map) => {
                let required_ok = schema["required"].as_array().is_none_or(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .all(|k| map.contains_key(k))
                });
                required_ok
                    && map.iter().all(|(k, v)| match schema["properties"].get(k) {
                        Some(inner) => conforms(inner, v),
                        None => schema["additionalProperties"] != json!(false),
                    })
            }
            Value::Array(items) => {
                bound("maxItems").is_none_or(|m| items.len() as f64 <= m)
                    && bound("minItems").is_none_or(|m| items.len() as f64 >= m)
                    && items.iter().all(|v| conforms(&schema["items"], v))
            }
            Value::String(s) => {
                let len = s.chars().count() as f64;
                bound("maxLength").is_none_or(|m| len <= m)
                    && bound("minLength").is_none_or(|m| len >= m)
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                bound("minimum").is_none_or(|m| x >= m)
                    && bound("maximum").is_none_or(|m| x <= m)
                    && bound("exclusiveMinimum").is_none_or(|m| x > m)
            }
            _ => true,
        }
    }

    /// A way to break a document, named.
    type Breakage = (&'static str, fn(&mut Value));

    /// The structural (I1) errors the validator finds in `doc`.
    fn structural_errors(doc: &Value) -> Vec<ErrorCode> {
        let mut errors = Vec::new();
        schema::check(doc, &IntakeConfig::default(), &mut errors);
        errors.into_iter().map(|e| e.code).collect()
    }

    #[test]
    fn i1_the_json_schema_has_the_validators_limits() -> Result<(), String> {
        let generated = application(&IntakeConfig::default());
        same_limits(&APPLICATION, &generated, true, "")?;
        let bigger = application(&IntakeConfig {
            max_scope_len: 5000,
            ..IntakeConfig::default()
        });
        if bigger["properties"]["scope"]["maxLength"] != json!(5000) {
            return Err("the scope cap does not follow the configuration".into());
        }
        Ok(())
    }

    #[test]
    fn i1_the_json_schema_accepts_the_fixture_and_rejects_what_the_validator_rejects()
    -> Result<(), String> {
        let schema = application(&IntakeConfig::default());
        let good = fixture()?;
        if !conforms(&schema, &good) || !structural_errors(&good).is_empty() {
            return Err("the fixture should pass both".into());
        }
        let breakages: Vec<Breakage> = vec![
            ("unknown field", |d| {
                d["organization"]["nickname"] = json!("Acme")
            }),
            ("missing required", |d| {
                d.as_object_mut().map(|m| m.remove("contact"));
            }),
            ("null required", |d| d["scope"] = Value::Null),
            ("text too long", |d| {
                d["organization"]["legal_name"] = json!("x".repeat(201))
            }),
            ("scope too long", |d| d["scope"] = json!("x".repeat(2001))),
            ("integer out of range", |d| {
                d["sites"][0]["shifts"] = json!(25)
            }),
            ("negative headcount", |d| {
                d["sites"][0]["personnel"]["full_time"] = json!(-1)
            }),
            ("not an integer", |d| {
                d["sites"][0]["personnel"]["full_time"] = json!(1.5)
            }),
            ("wrong type", |d| d["sites"][0]["central"] = json!("yes")),
            ("enum", |d| d["language"] = json!("fr")),
            ("country", |d| {
                d["organization"]["address"]["country"] = json!("XX")
            }),
            ("empty required list", |d| d["standards"] = json!([])),
            ("too many standards", |d| {
                let one = d["standards"][0].clone();
                d["standards"] = Value::Array(vec![one; 11]);
            }),
            ("hours above 168", |d| {
                d["sites"][0]["personnel"]["part_time"] =
                    json!([{"count": 1, "weekly_hours": 169}]);
            }),
            ("hours zero", |d| {
                d["sites"][0]["personnel"]["part_time"] = json!([{"count": 1, "weekly_hours": 0}]);
            }),
        ];
        for (what, breakage) in breakages {
            let mut doc = good.clone();
            breakage(&mut doc);
            if conforms(&schema, &doc) {
                return Err(format!("{what}: the schema accepts it"));
            }
            if structural_errors(&doc).is_empty() {
                return Err(format!(
                    "{what}: the validator accepts it (a breakage that tests nothing)"
                ));
            }
        }
        Ok(())
    }
}
