//! What an operator sends to the review (`POST /api/applications/:id/review`): the complexity
//! grades (A3), the repetitive-group decisions (A1) and the integration reduction (A7), e.g.
//! `{"factors": {"business_type": 2}, "repetitive_groups": [{"group": 0, "counted_as": 8}],
//! "integration_reduction_percent": 10}`. Every key is optional: grades default to 2 (no
//! adjustment), no group is reduced, no integration reduction.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::audit_time::{FactorGrades, Grade};
use super::personnel::GroupDecision;
use super::reader::{Known, Reader, child, field};
use crate::review::sampling::Method;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::formats;
use chrono::NaiveDate;

/// The operator's review inputs (A1, A3, A7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewInputs {
    /// A3: the six complexity factors.
    pub factors: FactorGrades,
    /// A1: repetitive groups counted as fewer people.
    pub repetitive_groups: Vec<GroupDecision>,
    /// A7: integration reduction requested, in percent (checked against the cap by
    /// [`super::audit_times`]).
    pub integration_reduction_percent: u32,
    /// A6: how the sites are sampled.
    pub sampling: SamplingInputs,
    /// A8: the planned stage 1 date; the programme is planned once it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_1_on: Option<NaiveDate>,
    /// A8: the planned stage 2 date (planned from stage 1 when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_2_on: Option<NaiveDate>,
}

/// A6: the CB's sampling choices, e.g. `{"method": "sampling", "seed": 42,
/// "chosen_by_cb": [3]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingInputs {
    /// Square-root sampling (default) or `sampling_not_appropriate`.
    pub method: Method,
    /// The seed of the random draw; screening draws one and records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Sites the CB picks for the initial audit for its own reasons (site indexes).
    pub chosen_by_cb: Vec<usize>,
}

/// Most group decisions (the application lists at most 100 groups).
const MAX_DECISIONS: usize = 100;
/// Longest reason for a group decision, in characters.
const MAX_REASON: usize = 500;

const FIELDS: [Known; 6] = [
    ("factors", "A3"),
    ("repetitive_groups", "A1"),
    ("integration_reduction_percent", "A7"),
    ("sampling", "A6"),
    ("stage_1_on", "A8"),
    ("stage_2_on", "A8"),
];
const SAMPLING: [Known; 3] = [("method", "A6"), ("seed", "A6"), ("chosen_by_cb", "A6")];
/// Seeds stay within JSON's exact integers (2^53), so every client reads them back intact.
pub const MAX_SEED: u64 = (1 << 53) - 1;
const FACTORS: [Known; 6] = [
    ("business_type", "A3"),
    ("processes", "A3"),
    ("maturity", "A3"),
    ("it_infrastructure", "A3"),
    ("outsourcing", "A3"),
    ("development", "A3"),
];
const DECISION: [Known; 3] = [("group", "A1"), ("counted_as", "A1"), ("reason", "A1")];

impl ReviewInputs {
    /// Checks an operator's JSON body and returns every problem at once (rules cited per
    /// field): unknown fields, wrong types, grades outside 1–3, group decisions without a
    /// group or a count, percentages outside 0–100. Whether a decision fits its group is A1's
    /// [`super::effective_personnel`]; whether the integration reduction fits the cap is A7's
    /// [`super::audit_times`].
    pub fn from_json(value: &Value) -> Result<ReviewInputs, Vec<FieldError>> {
        let mut r = Reader::default();
        let mut inputs = ReviewInputs::default();
        if let Some(map) = r.object(value, "", &FIELDS, "A3") {
            if let Some(v) = field(map, "factors") {
                inputs.factors = read_factors(&mut r, v);
            }
            if let Some(v) = field(map, "repetitive_groups") {
                inputs.repetitive_groups = read_decisions(&mut r, v);
            }
            if let Some(v) = field(map, "integration_reduction_percent")
                && let Some(p) = r.unsigned(v, "/integration_reduction_percent", 0, 100, "A7")
            {
                inputs.integration_reduction_percent = p;
            }
            if let Some(v) = field(map, "sampling") {
                inputs.sampling = read_sampling(&mut r, v);
            }
            for (key, target) in [
                ("stage_1_on", &mut inputs.stage_1_on),
                ("stage_2_on", &mut inputs.stage_2_on),
            ] {
                if let Some(v) = field(map, key) {
                    *target = read_date(&mut r, v, &child("", key));
                }
            }
        }
        r.finish(inputs)
    }
}

fn read_sampling(r: &mut Reader, value: &Value) -> SamplingInputs {
    let mut sampling = SamplingInputs::default();
    let Some(map) = r.object(value, "/sampling", &SAMPLING, "A6") else {
        return sampling;
    };
    if let Some(v) = field(map, "method") {
        match v.as_str() {
            Some("sampling") => sampling.method = Method::Sampling,
            Some("sampling_not_appropriate") => sampling.method = Method::SamplingNotAppropriate,
            _ => r.error(
                "/sampling/method",
                ErrorCode::InvalidValue,
                "expected `sampling` or `sampling_not_appropriate`",
                "A6",
            ),
        }
    }
    if let Some(v) = field(map, "seed") {
        sampling.seed = r
            .integer(v, "/sampling/seed", 0, MAX_SEED as i64, "A6")
            .and_then(|s| u64::try_from(s).ok());
    }
    if let Some(items) =
        field(map, "chosen_by_cb").and_then(|v| r.list(v, "/sampling/chosen_by_cb", 1000, "A6"))
    {
        for (i, item) in items.iter().enumerate() {
            let path = child("/sampling/chosen_by_cb", &i.to_string());
            if let Some(site) = r
                .unsigned(item, &path, 0, 1_000_000, "A6")
                .and_then(|s| usize::try_from(s).ok())
            {
                sampling.chosen_by_cb.push(site);
            }
        }
    }
    sampling
}

fn read_date(r: &mut Reader, value: &Value, path: &str) -> Option<NaiveDate> {
    let parsed = value.as_str().map(formats::parse_date);
    match parsed {
        Some(Ok(date)) => Some(date),
        _ => {
            r.error(
                path,
                ErrorCode::InvalidFormat,
                "expected a date YYYY-MM-DD",
                "A8",
            );
            None
        }
    }
}

fn read_factors(r: &mut Reader, value: &Value) -> FactorGrades {
    let mut grades = FactorGrades::default();
    let Some(map) = r.object(value, "/factors", &FACTORS, "A3") else {
        return grades;
    };
    let targets = [
        &mut grades.business_type,
        &mut grades.processes,
        &mut grades.maturity,
        &mut grades.it_infrastructure,
        &mut grades.outsourcing,
        &mut grades.development,
    ];
    for ((key, _), target) in FACTORS.iter().zip(targets) {
        if let Some(v) = field(map, key)
            && let Some(g) = r.unsigned(v, &child("/factors", key), 1, 3, "A3")
            && let Some(grade) = u8::try_from(g).ok().and_then(Grade::new)
        {
            *target = grade;
        }
    }
    grades
}

fn read_decisions(r: &mut Reader, value: &Value) -> Vec<GroupDecision> {
    let Some(items) = r.list(value, "/repetitive_groups", MAX_DECISIONS, "A1") else {
        return Vec::new();
    };
    let mut decisions = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = child("/repetitive_groups", &i.to_string());
        let Some(map) = r.object(item, &path, &DECISION, "A1") else {
            continue;
        };
        let group = r
            .required(map, &path, "group", "A1")
            .and_then(|v| r.unsigned(v, &child(&path, "group"), 0, 1_000_000, "A1"))
            .and_then(|g| usize::try_from(g).ok());
        let counted_as = r
            .required(map, &path, "counted_as", "A1")
            .and_then(|v| r.unsigned(v, &child(&path, "counted_as"), 1, 1_000_000, "A1"));
        let reason = field(map, "reason")
            .and_then(|v| r.text(v, &child(&path, "reason"), MAX_REASON, "A1"))
            .filter(|text| !text.is_empty());
        if let (Some(group), Some(counted_as)) = (group, counted_as) {
            decisions.push(GroupDecision {
                group,
                counted_as,
                reason,
            });
        }
    }
    decisions
}
