//! certflow review (A1–A10): screening drafts the review of a new application, an operator
//! accepts or rejects it (A9), and the CB's settings are read and replaced here. Thin: HTTP
//! in, `certflow_domain::review` for every figure, key-value out.
//!
//! Routes:
//! - `POST /internal/screening/:id`: the screening intake chains after storing an application
//!   (`http://review.spin.internal/...`). No route of the manifest covers `/internal/`, so
//!   only service chaining reaches it (Spin routes chained requests by component, not path).
//! - `POST /api/applications/:id/screening` (operator): runs the screening again.
//! - `POST /api/applications/:id/review` (operator): the review (A9).
//! - `GET /api/settings`, `PUT /api/settings` (operator): the CB's settings.
//!
//! Keys (docs/STORAGE.md): owns `settings`; changes `application:<id>` with compare-and-swap.

use certflow_component::{
    Bucket, Method, Outcome, Reply, Request, Update, application_not_found, get_json, invalid,
    is_application_id, method_not_allowed, now, open_store, random_bytes, require_operator,
    set_json, unavailable, update_json,
};
use certflow_domain::review::{
    self, Decision, MAX_SEED, Review, ReviewRequest, Screening, Settings,
};
use certflow_domain::webhooks::{EventTag, EventType};
use certflow_domain::{ApplicationRecord, Problem, Status, TransitionRefused};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// Largest body accepted: settings with replaced time tables are a few KiB.
const MAX_BODY: usize = 64 * 1024;
/// The key of the CB's settings.
const SETTINGS: &str = "settings";
/// Who runs the automatic screening, in the history (R1).
const SCREENING_BY: &str = "review (automatic screening)";
const SCREENING_RULES: [&str; 8] = ["A1", "A2", "A3", "A4", "A5", "A6", "A8", "A10"];

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    certflow_component::serve(incoming, out, MAX_BODY, route).await
}

fn route(req: &Request) -> Outcome {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (segments.as_slice(), &req.method) {
        // Intake needs only the outcome: the figures stay in the record.
        (["internal", "screening", id], Method::Post) => screen(id, SCREENING_BY)
            .map(|record| Reply::json(200, &json!({ "id": record.id, "status": record.status }))),
        (["api", "applications", id, "screening"], Method::Post) => {
            let by = require_operator(req)?;
            screen(id, &by).map(|record| {
                Reply::json(
                    200,
                    &json!({ "id": record.id, "status": record.status, "screening": record.screening }),
                )
            })
        }
        (["api", "applications", id, "review"], Method::Post) => {
            let by = require_operator(req)?;
            certflow_component::idempotent(req, &format!("review:{id}"), || decide(req, id, &by))
        }
        (["api", "settings"], Method::Get) => {
            require_operator(req)?;
            let settings = load_settings(&open_store()?)?;
            Ok(Reply::json(200, &json!(settings)))
        }
        (["api", "settings"], Method::Put) => {
            require_operator(req)?;
            replace_settings(req)
        }
        (["api", "settings"], _) => Err(method_not_allowed("GET, PUT")),
        (["api", "applications", _, "screening" | "review"], _) => Err(method_not_allowed("POST")),
        _ => Err(Problem::new(404, "not-found", "Not found")),
    }
}

/// The CB's settings: the stored document, or the built-in defaults (A1–A7, M5). The stored
/// document is read with the same reader that checked it on PUT, so the component carries
/// one reader of settings, not two.
fn load_settings(bucket: &Bucket) -> Result<Settings, Problem> {
    match get_json::<serde_json::Value>(bucket, SETTINGS)? {
        None => Ok(Settings::default()),
        Some(stored) => Settings::from_json(&stored).map_err(|errors| {
            eprintln!("stored settings unreadable: {} error(s)", errors.len());
            unavailable("the stored settings cannot be read; PUT /api/settings again")
        }),
    }
}

/// PUT /api/settings: a bad document is refused whole (422, every error) and the stored one
/// stays in force.
fn replace_settings(req: &Request) -> Outcome {
    let body = req.json_body()?;
    let settings = Settings::from_json(&body).map_err(|e| invalid("The settings document", e))?;
    set_json(&open_store()?, SETTINGS, &settings)?;
    println!("settings replaced");
    Ok(Reply::json(200, &json!(settings)))
}

/// The first day the initial audit may take place: the I4 readiness date intake flagged, or
/// today.
fn earliest_audit(record: &ApplicationRecord, at: DateTime<Utc>) -> NaiveDate {
    let today = at.date_naive();
    record
        .flags
        .iter()
        .map(|flag| flag.earliest_audit_date)
        .fold(today, NaiveDate::max)
}

/// A fresh A6 seed within JSON's exact integers.
fn fresh_seed() -> Result<u64, Problem> {
    Ok(u64::from_le_bytes(random_bytes::<8>()?) & MAX_SEED)
}

/// Screening (A1–A10 with default inputs): stores the draft review and moves the application
/// to `under_review`; when the figures cannot be computed, the application stays `submitted`
/// with the problems recorded, for an operator to look at and run again.
fn screen(id: &str, by: &str) -> Result<ApplicationRecord, Problem> {
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    let bucket = open_store()?;
    let settings = load_settings(&bucket)?;
    let at = now();
    let seed = fresh_seed()?;
    let key = format!("application:{id}");
    let record = update_json::<ApplicationRecord, _>(&bucket, &key, false, |mut record| {
        if record.status != Status::Submitted {
            return Update::Refuse(
                TransitionRefused {
                    current: record.status,
                    requested: Status::UnderReview,
                }
                .into(),
            );
        }
        let figures = review::figures(
            &record.application,
            &settings,
            &review::ReviewInputs::default(),
            seed,
            at.date_naive(),
            earliest_audit(&record, at),
        );
        let screening = Screening::new(at, figures);
        let outcome = if screening.figures.is_some() {
            record.transition(
                Status::UnderReview,
                at,
                by,
                &SCREENING_RULES,
                "screened: draft review stored for the operator",
                Some(EventTag::new(EventType::ApplicationScreened)),
            )
        } else {
            record.append(
                at,
                by,
                &SCREENING_RULES,
                format!(
                    "screening failed ({} problem(s)); the application waits in submitted",
                    screening.problems.len()
                ),
                Some(EventTag::new(EventType::ApplicationScreened)),
            );
            Ok(())
        };
        record.screening = Some(screening);
        match outcome {
            Ok(()) => Update::Store(record),
            Err(refused) => Update::Refuse(refused.into()),
        }
    })?
    .ok_or_else(application_not_found)?;
    println!("application {id} screened: {}", record.status.name());
    Ok(record)
}

/// POST /api/applications/:id/review (A9): accept or reject, with every figure computed from
/// the operator's inputs. The status moves by compare-and-swap: of two concurrent reviews one
/// wins and the other gets 409; a decided application answers 409 with its status. The
/// history records `by`, the authenticated operator (R1); the reviewer named in the body is
/// recorded as the review's `reviewer`.
fn decide(req: &Request, id: &str, by: &str) -> Outcome {
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    let request =
        ReviewRequest::from_json(&req.json_body()?).map_err(|e| invalid("The review", e))?;
    let bucket = open_store()?;
    let settings = load_settings(&bucket)?;
    let at = now();
    let fresh = fresh_seed()?;
    let key = format!("application:{id}");
    let record = update_json::<ApplicationRecord, _>(&bucket, &key, false, |mut record| {
        let next = match request.decision {
            Decision::Accept => Status::Accepted,
            Decision::Reject => Status::Rejected,
        };
        if !record.status.may_become(next) {
            return Update::Refuse(
                TransitionRefused {
                    current: record.status,
                    requested: next,
                }
                .into(),
            );
        }
        // A6: the screening's draw stays the same unless the operator names another seed.
        let screened_seed = record.screening.as_ref().and_then(Screening::seed);
        let figures = match review::figures(
            &record.application,
            &settings,
            &request.inputs,
            screened_seed.unwrap_or(fresh),
            at.date_naive(),
            earliest_audit(&record, at),
        ) {
            Ok(figures) => serde_json::to_value(figures).ok(),
            // A rejection stands on its reasons; figures that cannot be computed add nothing.
            Err(_) if request.decision == Decision::Reject => None,
            Err(errors) => return Update::Refuse(invalid("The review", errors)),
        };
        let scope = request
            .scope
            .clone()
            .unwrap_or_else(|| record.application.scope.clone());
        let note = match request.decision {
            // R1: who acted is `by` (the token's operator); the reviewer the body names is
            // data, quoted as such, never prose that reads as the actor.
            Decision::Accept => format!("accepted (reviewer named: \"{}\")", request.reviewer),
            Decision::Reject => format!(
                "rejected (reviewer named: \"{}\"): {}",
                request.reviewer,
                request.reasons.join("; ")
            ),
        };
        record.review = Some(Review {
            at,
            reviewer: request.reviewer.clone(),
            decision: request.decision,
            reasons: request.reasons.clone(),
            scope,
            technical_areas: request.technical_areas.clone(),
            figures,
        });
        match record.transition(
            next,
            at,
            by,
            &["A9"],
            note,
            Some(EventTag::new(EventType::ApplicationReviewed)),
        ) {
            Ok(()) => Update::Store(record),
            Err(refused) => Update::Refuse(refused.into()),
        }
    })?
    .ok_or_else(application_not_found)?;
    println!("application {id} reviewed: {}", record.status.name());
    Ok(Reply::json(
        200,
        &json!({ "id": record.id, "status": record.status, "review": record.review }),
    ))
}
