//! The review as a whole (A1–A10): the figures screening drafts and the operator's review
//! confirms, and what is stored of each. [`figures`] is the one place the steps are put
//! together: A1 effective personnel, A2–A5 and A7 audit time, A6 the site samples, A8 the
//! programme, A10 the transfer check.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::audit_time::{AuditTimes, audit_times};
use super::inputs::ReviewInputs;
use super::personnel::{EffectivePersonnel, effective_personnel};
use super::reader::{Known, Reader, child, field};
use super::settings::Settings;
use crate::intake::application::Application;
use crate::review::programme::{self, Programme, ProgrammeSettings};
use crate::review::sampling::{self, AuditKind, SamplingRequest, SiteSample};
use crate::review::transfer::{self, TransferCheck};
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::explain::{Explained, Step};
use crate::shared::settings::Jurisdiction;

/// Every figure of a review, each with the steps that produced it (A3: shown to the client).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// A1: effective personnel per site and in total.
    pub effective_personnel: Explained<EffectivePersonnel>,
    /// A2–A5, A7: auditor-days per audit of the cycle, per scheme and combined.
    pub audit_times: Explained<AuditTimes>,
    /// A6: the sites each audit of the cycle visits (empty for a single site).
    pub site_samples: Vec<Explained<SiteSample>>,
    /// A8: the audit programme (a draft from the earliest possible date until the review
    /// gives stage 1 a date); none for a recertification application, whose cycle continues
    /// its certificate's (S5).
    pub programme: Option<Explained<Programme>>,
    /// A10: whether a transferred certificate may transfer, and by when.
    pub transfer: Option<Explained<TransferCheck>>,
    /// The inputs the figures were computed with (defaults at screening).
    pub inputs: ReviewInputs,
}

/// A1–A10: the figures of `application` under `settings` and `inputs`. `seed` is the A6
/// random draw's seed when the inputs name none (the caller draws and records it); `today`
/// dates the A10 check; without a stage 1 date in the inputs, the A8 programme is drafted
/// from `earliest_audit` (the I4 readiness date, or today). Every input error at once.
pub fn figures(
    application: &Application,
    settings: &Settings,
    inputs: &ReviewInputs,
    seed: u64,
    today: NaiveDate,
    earliest_audit: NaiveDate,
) -> Result<Figures, Vec<FieldError>> {
    let mut errors = Vec::new();
    let personnel = effective_personnel(application, &inputs.repetitive_groups, settings)
        .map_err(|e| errors.extend(e))
        .ok();
    let standards: Vec<_> = application.standards.iter().map(|s| s.code).collect();
    let times = personnel.as_ref().and_then(|p| {
        audit_times(
            p.value.total,
            &standards,
            &inputs.factors,
            inputs.integration_reduction_percent,
            settings,
        )
        .map_err(|e| errors.extend(e))
        .ok()
    });
    let mut site_samples = Vec::new();
    if application.sites.len() > 1 {
        for audit in AuditKind::ALL {
            let request = SamplingRequest {
                audit,
                method: inputs.sampling.method,
                seed: inputs.sampling.seed.unwrap_or(seed),
                // The CB's own picks are for the initial audit; later samples are drawn anew.
                chosen_by_cb: match audit {
                    AuditKind::Initial => inputs.sampling.chosen_by_cb.clone(),
                    _ => Vec::new(),
                },
            };
            match sampling::sample_sites(&application.sites, &request) {
                Ok(sample) => site_samples.push(sample),
                Err(e) => errors.extend(e.into_iter().map(|e| under("/sampling", e))),
            }
        }
    }
    // S5: a recertification application continues its certificate's cycle (the new cycle
    // runs from the old expiry); an initial programme of stage 1 and stage 2 would be false.
    let programme = if application.recertification_of.is_some() {
        None
    } else {
        let programme_settings = ProgrammeSettings {
            // C3: surveillance at most 12 months apart under the `cn` jurisdiction.
            max_gap_months: match settings.jurisdiction {
                Jurisdiction::Iaf => 15,
                Jurisdiction::Cn => 12,
            },
            ..ProgrammeSettings::default()
        };
        let stage_1 = inputs.stage_1_on.unwrap_or(earliest_audit);
        programme::plan(stage_1, inputs.stage_2_on, &programme_settings)
            .map(|mut planned| {
                if inputs.stage_1_on.is_none() {
                    planned.steps.insert(
                        0,
                        Step::new(
                            "A8",
                            "no stage 1 date given",
                            format!("draft: stage 1 planned on the earliest possible date, {stage_1} (I4 readiness, or today); the review sets the real one"),
                        ),
                    );
                }
                planned
            })
            .map_err(|e| {
                errors.extend(e.into_iter().map(|e| match e.field.as_str() {
                    "/stage_1" | "/stage_2" => {
                        let field = format!("{}_on", e.field);
                        FieldError { field, ..e }
                    }
                    _ => e,
                }))
            })
            .ok()
    };
    let transfer = transfer::check_application(application, today);
    // The seed drawn with is part of the record, so the draw can be repeated (A6).
    let mut inputs = inputs.clone();
    if application.sites.len() > 1 {
        inputs.sampling.seed.get_or_insert(seed);
    }
    match (personnel, times) {
        (Some(effective_personnel), Some(audit_times)) if errors.is_empty() => Ok(Figures {
            effective_personnel,
            audit_times,
            site_samples,
            programme,
            transfer,
            inputs,
        }),
        _ => Err(errors),
    }
}

/// A field error of a nested input, with its path under `prefix`.
fn under(prefix: &str, error: FieldError) -> FieldError {
    FieldError {
        field: format!("{prefix}{}", error.field),
        ..error
    }
}

/// The automatic screening of an application (A1–A10 with default inputs), as stored.
///
/// Figures are stored as the JSON the client is shown ([`Figures`] serialised): they are
/// derived data, computed again by the review from its inputs, so no component reads them
/// back into types, and none carries the code to (it would double the review component).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Screening {
    /// When it ran.
    pub at: DateTime<Utc>,
    /// The draft [`Figures`], when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<Value>,
    /// Why it failed (rule, field, message), when it did: the application stays
    /// `submitted` and an operator can run it again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Step>,
}

impl Screening {
    /// The screening's record of `figures`' outcome.
    pub fn new(at: DateTime<Utc>, outcome: Result<Figures, Vec<FieldError>>) -> Screening {
        match outcome {
            Ok(figures) => Screening {
                at,
                figures: serde_json::to_value(figures).ok(),
                problems: Vec::new(),
            },
            Err(errors) => Screening {
                at,
                figures: None,
                problems: errors
                    .into_iter()
                    .map(|e| Step::new(e.rule, e.field, e.message))
                    .collect(),
            },
        }
    }
}

impl Screening {
    /// The A6 seed the screening drew its site samples with, so the review repeats the draw.
    pub fn seed(&self) -> Option<u64> {
        self.figures
            .as_ref()?
            .pointer("/inputs/sampling/seed")?
            .as_u64()
    }
}

/// What the operator decided (A9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The CB takes the application on.
    Accept,
    /// The CB refuses it, with reasons.
    Reject,
}

/// The operator's review (A9), as stored: the decision, who made it, the final scope and
/// required competence, and the figures computed with the operator's inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// When it was decided.
    pub at: DateTime<Utc>,
    /// Who reviewed (R1).
    pub reviewer: String,
    /// Accept or reject.
    pub decision: Decision,
    /// A9: the reasons, always given for a rejection (seed ZBT 5.1.1.2).
    pub reasons: Vec<String>,
    /// A9: the certification scope as reviewed.
    pub scope: String,
    /// A9: the competence the audit team needs, as IAF/CNAS technical area codes.
    pub technical_areas: Vec<String>,
    /// A1–A10: every figure with its explanation ([`Figures`] as shown; see [`Screening`]).
    /// Absent for a rejection whose figures could not be computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<Value>,
}

/// What an operator sends to `POST /api/applications/:id/review`: the decision fields below
/// plus any [`ReviewInputs`] field, e.g.
/// `{"decision": "accept", "reviewer": "Wang Fang", "technical_areas": ["IAF 33"],
///   "factors": {"processes": 3}, "stage_1_on": "2027-01-11"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRequest {
    /// Accept or reject.
    pub decision: Decision,
    /// Who reviewed (R1).
    pub reviewer: String,
    /// A9: required (at least one) for a rejection.
    pub reasons: Vec<String>,
    /// A9: the final scope; the application's when absent.
    pub scope: Option<String>,
    /// A9: required (at least one) for an acceptance.
    pub technical_areas: Vec<String>,
    /// A1, A3, A6, A7, A8: the figures' inputs.
    pub inputs: ReviewInputs,
}

const DECISION_FIELDS: [Known; 5] = [
    ("decision", "A9"),
    ("reviewer", "A9"),
    ("reasons", "A9"),
    ("scope", "A9"),
    ("technical_areas", "A9"),
];

impl ReviewRequest {
    /// A9: reads an operator's review body, every error at once: the decision fields here,
    /// the rest by [`ReviewInputs::from_json`] (which also refuses unknown fields).
    pub fn from_json(body: &Value) -> Result<ReviewRequest, Vec<FieldError>> {
        let Value::Object(map) = body else {
            return Err(vec![FieldError::new(
                "",
                ErrorCode::InvalidType,
                "expected a JSON object",
                "A9",
            )]);
        };
        let (decision_map, inputs_map): (Map<String, Value>, Map<String, Value>) = map
            .clone()
            .into_iter()
            .partition(|(key, _)| DECISION_FIELDS.iter().any(|(name, _)| name == key));
        let mut errors = Vec::new();
        let inputs = ReviewInputs::from_json(&Value::Object(inputs_map))
            .map_err(|e| errors.extend(e))
            .ok();
        let mut r = Reader::default();
        let map = &decision_map;
        let decision = r
            .required(map, "", "decision", "A9")
            .and_then(|v| match v.as_str() {
                Some("accept") => Some(Decision::Accept),
                Some("reject") => Some(Decision::Reject),
                _ => {
                    r.error(
                        "/decision",
                        ErrorCode::InvalidValue,
                        "expected `accept` or `reject`",
                        "A9",
                    );
                    None
                }
            });
        let reviewer = r.required_text(map, "", "reviewer", 200, "A9");
        let reasons = texts(&mut r, map, "reasons", 20, 2000);
        let technical_areas = texts(&mut r, map, "technical_areas", 20, 40);
        let scope = field(map, "scope")
            .and_then(|v| r.text(v, "/scope", 2000, "A9"))
            .filter(|s| !s.is_empty());
        if decision == Some(Decision::Reject) && reasons.is_empty() {
            r.error(
                "/reasons",
                ErrorCode::Required,
                "a rejection states its reasons (seed ZBT 5.1.1.2)",
                "A9",
            );
        }
        if decision == Some(Decision::Accept) && technical_areas.is_empty() {
            r.error(
                "/technical_areas",
                ErrorCode::Required,
                "an acceptance names the competence the audit team needs: IAF/CNAS technical area codes",
                "A9",
            );
        }
        if let Err(e) = r.finish(()) {
            errors.extend(e);
        }
        match (decision, reviewer, inputs) {
            (Some(decision), Some(reviewer), Some(inputs)) if errors.is_empty() => {
                Ok(ReviewRequest {
                    decision,
                    reviewer,
                    reasons,
                    scope,
                    technical_areas,
                    inputs,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A list of non-empty texts (`key` of the decision fields).
fn texts(
    r: &mut Reader,
    map: &Map<String, Value>,
    key: &str,
    max: usize,
    cap: usize,
) -> Vec<String> {
    let path = child("", key);
    let Some(items) = field(map, key).and_then(|v| r.list(v, &path, max, "A9")) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| r.text(item, &child(&path, &i.to_string()), cap, "A9"))
        .filter(|t| !t.is_empty())
        .collect()
}
