//! Intake validation: rule I1 (what an application names, and how) and I2 (every error at
//! once), bringing in I3 ([`crate::intake::editions`]), I4 ([`crate::intake::readiness`]) and I5
//! ([`crate::intake::refusal`]).
//!
//! The input is a `serde_json::Value` (from [`crate::intake::form::parse_json`] or
//! [`crate::intake::form::decode`]), never a typed struct: serde would stop at the first problem with
//! a message about Rust types. The schema walk (`schema::check`) reports structural errors
//! and yields a cleaned document; the checks below add the cross-field ones; only a
//! document with no error at all becomes a typed [`Application`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::intake::application::Application;
use crate::intake::config::IntakeConfig;
use crate::intake::readiness::ReadinessFlag;
use crate::intake::{editions, readiness, refusal, schema};
pub use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::formats::{self, UsccError};

/// What intake records for an application that passed I1–I5: `A` is the typed
/// [`Application`] ([`validate`]) or the cleaned JSON document ([`validate_document`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted<A = Application> {
    /// The validated application (I1), strings trimmed.
    pub application: A,
    /// Readiness flags (I4), e.g. `not_ready_for_audit` with the earliest audit date.
    pub flags: Vec<ReadinessFlag>,
    /// The day the rules were applied (I3 windows, I4 and I5 periods are relative to it).
    pub validated_on: NaiveDate,
}

/// I1–I5: validates an application on `today` (never read from the clock here). Returns every
/// error at once (I2), or the typed application with its readiness flags.
pub fn validate(
    input: &Value,
    today: NaiveDate,
    config: &IntakeConfig,
) -> Result<Accepted, Vec<FieldError>> {
    let accepted = validate_document(input, today, config)?;
    match serde_json::from_value::<Application>(accepted.application) {
        Ok(application) => Ok(Accepted {
            application,
            flags: accepted.flags,
            validated_on: accepted.validated_on,
        }),
        // Unreachable when the schema and the types agree (a test holds them together).
        Err(e) => Err(vec![FieldError::new(
            "",
            ErrorCode::InvalidType,
            e.to_string(),
            "I1",
        )]),
    }
}

/// I1–I5 as [`validate`], but the accepted application stays the cleaned JSON document:
/// what intake stores. The schema walk guarantees it deserialises into [`Application`] (a
/// test holds them together), so intake never carries typed deserialisation code, which
/// would more than double the component's size.
pub fn validate_document(
    input: &Value,
    today: NaiveDate,
    config: &IntakeConfig,
) -> Result<Accepted<Value>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let doc = schema::check(input, config, &mut errors);
    check_legal_id(&doc, &mut errors);
    check_standards(&doc, &mut errors);
    editions::check_document(&doc, today, &mut errors);
    check_sites(&doc, &mut errors);
    check_repetitive_groups(&doc, &mut errors);
    check_not_in_future(&doc, today, &mut errors);
    check_restricted_records(&doc, &mut errors);
    let flag = readiness::check_document(&doc, today, config, &mut errors);
    refusal::check_document(&doc, today, config, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Accepted {
        application: doc,
        flags: flag.into_iter().collect(),
        validated_on: today,
    })
}

/// I1: most people one site may have in all (full-time, part-time lines, temporary and
/// contractors; each figure is also at most 1,000,000), so that no figure computed from them
/// (effective personnel, auditor-days) can overflow.
pub const MAX_SITE_PERSONNEL: u64 = 1_000_000;
/// I1: most people an application's sites may have in all.
pub const MAX_PERSONNEL: u64 = 10_000_000;

/// The whole number at `pointer` of a cleaned document (absent or invalid: `None`).
fn count(doc: &Value, pointer: &str) -> Option<u64> {
    doc.pointer(pointer)?.as_u64()
}

/// The items of the list at `pointer` (invalid items are `null`).
fn items<'a>(doc: &'a Value, pointer: &str) -> &'a [Value] {
    doc.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// I1: a unified social credit code must be well formed and carry its check character.
fn check_legal_id(doc: &Value, errors: &mut Vec<FieldError>) {
    let kind = doc
        .pointer("/organization/legal_id/type")
        .and_then(Value::as_str);
    let number = doc
        .pointer("/organization/legal_id/number")
        .and_then(Value::as_str);
    let (Some(kind), Some(number)) = (kind, number) else {
        return;
    };
    if kind != "uscc" {
        return;
    }
    let problem = match formats::check_uscc(number) {
        Ok(()) => return,
        Err(UsccError::Length) => (
            ErrorCode::InvalidFormat,
            "a unified social credit code has 18 characters".to_owned(),
        ),
        Err(UsccError::Character(at)) => (
            ErrorCode::InvalidFormat,
            format!(
                "character {at} is not allowed in a unified social credit code (digits and capitals except I, O, Z, S, V; digits in places 3 to 8)"
            ),
        ),
        Err(UsccError::Checksum { expected }) => (
            ErrorCode::InvalidChecksum,
            format!(
                "the check character (the 18th) does not match: the first 17 characters give {expected}; please check the code"
            ),
        ),
    };
    errors.push(FieldError::new(
        "/organization/legal_id/number",
        problem.0,
        problem.1,
        "I1",
    ));
}

/// I1: a standard is requested once.
fn check_standards(doc: &Value, errors: &mut Vec<FieldError>) {
    let codes: Vec<Option<&str>> = items(doc, "/standards")
        .iter()
        .map(|s| s.get("code").and_then(Value::as_str))
        .collect();
    for (i, code) in codes.iter().enumerate() {
        if let Some(code) = code.filter(|c| codes[..i].contains(&Some(c))) {
            errors.push(FieldError::new(
                format!("/standards/{i}/code"),
                ErrorCode::Duplicate,
                format!("{code} is requested more than once"),
                "I1",
            ));
        }
    }
}

/// I1: exactly one site is the central function, and the sites have at least one person, at
/// most [`MAX_SITE_PERSONNEL`] per site and [`MAX_PERSONNEL`] in all.
fn check_sites(doc: &Value, errors: &mut Vec<FieldError>) {
    let sites = items(doc, "/sites");
    if sites.is_empty() {
        return; // reported by the schema
    }
    let central: Vec<Option<bool>> = sites
        .iter()
        .map(|s| s.get("central").and_then(Value::as_bool))
        .collect();
    let marked: Vec<usize> = (0..sites.len())
        .filter(|&i| central[i] == Some(true))
        .collect();
    if marked.is_empty() && central.iter().all(Option::is_some) {
        errors.push(FieldError::new(
            "/sites",
            ErrorCode::Required,
            "one site must be marked as the central function (central: true)",
            "I1",
        ));
    }
    for &i in marked.iter().skip(1) {
        errors.push(FieldError::new(
            format!("/sites/{i}/central"),
            ErrorCode::Duplicate,
            format!(
                "only one site can be the central function; site {} already is",
                marked[0]
            ),
            "I1",
        ));
    }
    for i in 0..sites.len() {
        if let Some(people) = site_headcount(doc, i).filter(|&p| p > MAX_SITE_PERSONNEL) {
            errors.push(FieldError::new(
                format!("/sites/{i}/personnel"),
                ErrorCode::OutOfRange,
                format!(
                    "a site has at most {MAX_SITE_PERSONNEL} people in all (full-time, part-time, temporary and contractors); this one has {people}"
                ),
                "I1",
            ));
        }
    }
    let headcounts: Option<Vec<u64>> = (0..sites.len()).map(|i| site_headcount(doc, i)).collect();
    let total: Option<u64> = headcounts.as_ref().map(|h| h.iter().sum());
    if let Some(total) = total.filter(|&t| t > MAX_PERSONNEL) {
        errors.push(FieldError::new(
            "/sites",
            ErrorCode::OutOfRange,
            format!("the sites have at most {MAX_PERSONNEL} people in all; these have {total}"),
            "I1",
        ));
    }
    if total == Some(0) {
        errors.push(FieldError::new(
            "/sites",
            ErrorCode::OutOfRange,
            "the sites have no personnel at all",
            "I1",
        ));
    }
}

/// A site's headcount (people, as [`crate::intake::application::Personnel::headcount`]) from a cleaned document, when
/// its figures are valid.
fn site_headcount(doc: &Value, site: usize) -> Option<u64> {
    let personnel = doc.pointer(&format!("/sites/{site}/personnel"))?;
    let mut people = personnel.get("full_time")?.as_u64()?;
    for name in ["temporary", "contractors"] {
        people = people.checked_add(personnel.get(name)?.as_u64()?)?;
    }
    let part_time = personnel.get("part_time").and_then(Value::as_array);
    for entry in part_time.map_or(&[][..], Vec::as_slice) {
        people = people.checked_add(entry.get("count")?.as_u64()?)?;
    }
    Some(people)
}

/// I1: a repetitive group names an existing site, and a site's groups hold no more people
/// than the site has.
fn check_repetitive_groups(doc: &Value, errors: &mut Vec<FieldError>) {
    let site_count = items(doc, "/sites").len();
    let mut totals = std::collections::BTreeMap::<usize, u64>::new();
    for i in 0..items(doc, "/repetitive_groups").len() {
        let (Some(site), Some(members)) = (
            count(doc, &format!("/repetitive_groups/{i}/site")),
            count(doc, &format!("/repetitive_groups/{i}/count")),
        ) else {
            continue;
        };
        let site = usize::try_from(site).unwrap_or(usize::MAX);
        if site >= site_count {
            if site_count > 0 {
                errors.push(FieldError::new(
                    format!("/repetitive_groups/{i}/site"),
                    ErrorCode::InvalidReference,
                    format!(
                        "there is no site {} (sites are numbered from 0 to {})",
                        site,
                        site_count - 1
                    ),
                    "I1",
                ));
            }
            continue;
        }
        let Some(people) = site_headcount(doc, site) else {
            continue;
        };
        let total = totals.entry(site).or_default();
        *total = total.saturating_add(members);
        if *total > people {
            errors.push(FieldError::new(
                format!("/repetitive_groups/{i}/count"),
                ErrorCode::OutOfRange,
                format!(
                    "the groups at site {} add up to {total} people, more than its {people}",
                    site
                ),
                "I1",
            ));
        }
    }
}

/// I1, R1: dates of things that happened (the management system operating, its last internal
/// audit and management review, a previous certificate's status change) are not after
/// `today` ([`crate::shared::dates::past_event`]). A consultancy's `ended_on` may lie ahead: one still
/// running gives its planned end (see [`crate::shared::dates`]).
fn check_not_in_future(doc: &Value, today: NaiveDate, errors: &mut Vec<FieldError>) {
    let mut fields: Vec<String> = [
        "operating_since",
        "last_internal_audit",
        "last_management_review",
    ]
    .iter()
    .map(|name| format!("/management_system/{name}"))
    .collect();
    fields.extend(
        (0..items(doc, "/previous_certifications").len())
            .map(|i| format!("/previous_certifications/{i}/status_changed_on")),
    );
    crate::shared::dates::check_past_events(doc, fields, today, "I1", errors);
}

/// I1: restricted records (seed ZBT item f) are described when present.
fn check_restricted_records(doc: &Value, errors: &mut Vec<FieldError>) {
    let field = "/restricted_records/description";
    if doc.pointer("/restricted_records/present") == Some(&Value::Bool(true))
        && doc.pointer(field).is_none()
        && !errors.iter().any(|e| e.is_within(field))
    {
        errors.push(FieldError::new(
            field,
            ErrorCode::Required,
            "describe the records that cannot be shown to auditors and why (confidentiality, national security)",
            "I1",
        ));
    }
}
