//! Shared fixtures: the DESIGN page's example application, judged on 2026-11-23.
#![allow(dead_code)] // not every helper is used by the rules tests today

use chrono::NaiveDate;
use serde_json::{Value, json};

/// The day the fixtures are judged on.
pub fn today() -> NaiveDate {
    day(2026, 11, 23)
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The DESIGN example's legal-id number, verbatim: its check character is wrong.
pub const DESIGN_USCC: &str = "91310000MA1FL8XQ3C";
/// The same number with the right check character.
pub const VALID_USCC: &str = "91310000MA1FL8XQ37";

/// The DESIGN page's example application (with the check character of the unified social
/// credit code corrected: the page's `...3C` fails GB 32100-2015, `...37` passes).
pub fn valid_application() -> Value {
    json!({
      "organization": {
        "legal_name": "Acme Data Co., Ltd.",
        "legal_id": { "type": "uscc", "number": VALID_USCC },
        "address": { "street": "88 Century Ave", "city": "Shanghai", "postcode": "200120", "country": "CN" },
        "website": "https://acme.example"
      },
      "contact": { "name": "Li Wei", "email": "li.wei@acme.example", "phone": "+86 21 5555 0100" },
      "standards": [ { "code": "ISO/IEC 27001", "edition": "2022" },
                     { "code": "ISO/IEC 27701", "edition": "2019" } ],
      "scope": "Design, development and operation of the Acme cloud payroll service",
      "sites": [ {
        "name": "Head office", "central": true, "virtual": false,
        "address": { "street": "88 Century Ave", "city": "Shanghai", "postcode": "200120", "country": "CN" },
        "activities": "Software development, operations, HR",
        "personnel": { "full_time": 120, "part_time": [ { "count": 10, "weekly_hours": 20 } ],
                       "temporary": 5, "contractors": 3 },
        "shifts": 1 } ],
      "repetitive_groups": [ { "description": "Call-centre agents", "site": 0, "count": 64 } ],
      "management_system": { "operating_since": "2026-01-15", "last_internal_audit": "2026-09-01",
                             "last_management_review": "2026-09-20" },
      "outsourced_processes": [ "Cloud hosting" ],
      "consultancy": [ { "provider": "Example Consulting", "person": "Zhang San", "ended_on": "2025-12-01" } ],
      "restricted_records": { "present": false, "description": null },
      "transfer": null,
      "declarations": { "not_on_serious_illegal_list": true, "no_business_suspension_order": true,
                        "no_withdrawal_for_own_fault_in_last_12_months": true },
      "language": "zh"
    })
}

/// Sets the value at a JSON pointer (creating objects on the way); `Value::Null` stays a
/// value — use [`remove`] to delete.
pub fn set(doc: &mut Value, pointer: &str, value: Value) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    if parent.is_empty() {
        if let Value::Object(map) = doc {
            map.insert(last.to_owned(), value);
        }
        return;
    }
    if doc.pointer(parent).is_none() {
        set(doc, parent, json!({}));
    }
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last.to_owned(), value);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < items.len() {
                    items[i] = value;
                } else {
                    items.push(value);
                }
            }
        }
        _ => {}
    }
}

/// Removes the value at a JSON pointer.
pub fn remove(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// The application as form fields with the contract's names (see `form::encode`).
pub fn flatten(value: &Value) -> Vec<(String, String)> {
    certflow_domain::intake::form::encode(value)
}

/// URL-encodes form fields into a body.
pub fn form_body(fields: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}
pub mod cb;
