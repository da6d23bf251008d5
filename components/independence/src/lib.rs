//! certflow independence (D1–D8): the CB's people register and the certification decision.
//! The decision is checked against everything stored: the decision maker took no part in the
//! audits (D1), is competent (D2), belongs to the CB (D3), never consulted for the client in
//! the last 2 years (D4), every major nonconformity is verified closed and every minor's plan
//! accepted (D5) within 6 months of stage 2 (D6), a grant against a negative recommendation
//! is justified (D7); every failed rule comes back in one 409, and a passing decision is
//! recorded with what it relied on (D8). Thin: HTTP in, `certflow_domain::decision`, key-value
//! out.
//!
//! Routes (operators): `PUT`/`GET /api/people/:id`, `POST /api/applications/:id/decision`
//! (on a certified application: the decision on a surveillance or special audit, S3, X1, X2,
//! [`cycle`], chaining `http://certificate.spin.internal/internal/cycle-decision/<id>/<d>`).
//! Keys (docs/STORAGE.md): owns `person:<id>`; sets `decision` of `application:<id>` and
//! moves it to `decided` with compare-and-swap. A grant that carries certificate details
//! chains the certificate component (`http://certificate.spin.internal/internal/issue/<id>`),
//! which issues at once; the reply shows the certificate, or why it was not issued (the
//! decision stands; an operator issues with `POST /api/applications/:id/certificate`).

use certflow_component::{
    Bucket, Method, Outcome, Reply, Request, Update, application_not_found, get_json, invalid,
    is_application_id, method_not_allowed, now, open_store, require_operator, set_json,
    store_error, update_json,
};
use certflow_domain::audit::AuditRecord;
use certflow_domain::decision::{
    DecisionRequest, DecisionSettings, Outcome as Verdict, check_decision,
};
use certflow_domain::people::Person;
use certflow_domain::{ApplicationRecord, Problem, Status, TransitionRefused};
use serde_json::{Value, json};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

mod cycle;

/// Largest body accepted: a person with a long competence and consultancy history.
const MAX_BODY: usize = 64 * 1024;

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    let head = certflow_component::is_head(&incoming);
    let outcome = match Request::read(incoming, MAX_BODY).await {
        Ok(req) => match route(&req) {
            Ok(reply) => {
                let reply = issue_on_grant(&req, reply).await;
                Ok(cycle::apply_on_certificate(&req, reply).await)
            }
            Err(problem) => Err(problem),
        },
        Err(problem) => Err(problem),
    };
    outcome.unwrap_or_else(Reply::problem).send(head, out).await
}

/// A recorded grant with certificate details (its first reply or a replay of it) chains the
/// certificate component to issue (C1–C4; issuing is idempotent), and the reply shows the
/// certificate or, when it was not issued, the certificate component's answer.
async fn issue_on_grant(req: &Request, reply: Reply) -> Reply {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let (["api", "applications", id, "decision"], Method::Post) =
        (segments.as_slice(), &req.method)
    else {
        return reply;
    };
    let Some(mut body) = reply.success_json() else {
        return reply;
    };
    let details = req
        .json_body()
        .ok()
        .and_then(|b| b.get("certificate").cloned());
    let (true, Some(details)) = (body["decision"]["outcome"] == "grant", details) else {
        return reply;
    };
    let path = format!("/internal/issue/{id}");
    match certflow_component::chain_post("certificate", &path, Some(&details)).await {
        Ok((200 | 201, answer)) => {
            let answer: Value = serde_json::from_slice(&answer).unwrap_or_default();
            body["status"] = answer["status"].clone();
            body["certificate"] = answer["certificate"].clone();
        }
        Ok((status, answer)) => {
            eprintln!("application {id}: certificate not issued ({status})");
            body["certificate_not_issued"] = serde_json::from_slice(&answer).unwrap_or_default();
        }
        Err(e) => {
            eprintln!("application {id}: certificate component not reached: {e}");
            body["certificate_not_issued"] = json!({
                "title": "The certificate component was not reached",
                "detail": "the grant is recorded; issue with POST /api/applications/<id>/certificate",
            });
        }
    }
    reply.with_json(&body)
}

fn route(req: &Request) -> Outcome {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (segments.as_slice(), &req.method) {
        (["api", "people", id], Method::Put) => {
            require_operator(req)?;
            put_person(req, id)
        }
        (["api", "people", id], Method::Get) => {
            require_operator(req)?;
            get_person(id)
        }
        (["api", "people", _], _) => Err(method_not_allowed("GET, PUT")),
        (["api", "applications", id, "decision"], Method::Post) => {
            let by = require_operator(req)?;
            certflow_component::idempotent(req, &format!("decision:{id}"), || decide(req, id, &by))
        }
        (["api", "applications", _, "decision"], _) => Err(method_not_allowed("POST")),
        _ => Err(Problem::new(404, "not-found", "Not found")),
    }
}

/// A register id: 1 to 64 lowercase letters, digits, `-`, `_` or `.`.
fn person_id(id: &str) -> Result<&str, Problem> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
    if valid {
        Ok(id)
    } else {
        Err(Problem::new(404, "not-found", "Not found")
            .detail("person ids are 1 to 64 lowercase letters, digits, '-', '_' or '.'"))
    }
}

/// A person of the register, read with the register's own reader (absent: `None`).
fn person(bucket: &Bucket, id: &str) -> Result<Option<(Person, Value)>, Problem> {
    let stored: Option<Value> = get_json(bucket, &format!("person:{id}"))?;
    Ok(stored.and_then(|v| Person::from_json(&v).ok().map(|p| (p, v))))
}

/// PUT /api/people/:id: replaces the person's record (D2 competences, D3 employment, D4
/// consultancy), refused whole with every error when invalid.
fn put_person(req: &Request, id: &str) -> Outcome {
    let id = person_id(id)?;
    let body = req.json_body()?;
    Person::from_json(&body).map_err(|e| invalid("The person", e))?;
    set_json(&open_store()?, &format!("person:{id}"), &body)?;
    println!("person {id} registered");
    Ok(Reply::json(200, &json!({ "id": id, "person": body })))
}

fn get_person(id: &str) -> Outcome {
    let id = person_id(id)?;
    let (_, stored) = person(&open_store()?, id)?.ok_or_else(|| {
        Problem::new(404, "not-found", "Not found").detail("no person with this id")
    })?;
    Ok(Reply::json(200, &json!({ "id": id, "person": stored })))
}

/// POST /api/applications/:id/decision: D1–D8 against what is stored; every failed rule in
/// one 409; a passing decision recorded (D8) and the application `decided`. The history
/// records `by`, the authenticated operator (R1); the decision maker named in the body is
/// recorded as such in the decision. On a certified application, a decision naming one of its
/// surveillance or special audits (`audit`) is the cycle's ([`cycle::decide`], S3, X1, X2).
fn decide(req: &Request, id: &str, by: &str) -> Outcome {
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    let status =
        get_json::<ApplicationRecord<Value>>(&open_store()?, &format!("application:{id}"))?
            .ok_or_else(application_not_found)?
            .status;
    // A decision naming an audit of a certified application is one of the cycle's; any
    // other decision on it is refused below as the move it would be (certified → decided).
    if status == Status::Certified && req.json_body()?.get("audit").is_some() {
        return cycle::decide(req, id, by);
    }
    let request =
        DecisionRequest::from_json(&req.json_body()?).map_err(|e| invalid("The decision", e))?;
    let bucket = open_store()?;
    let decision_maker = person(&bucket, request.decision_maker.trim())?.map(|(p, _)| p);
    let at = now();
    let mut decided = None;
    update_json::<ApplicationRecord<Value>, _>(
        &bucket,
        &format!("application:{id}"),
        false,
        |mut record| {
            if !record.status.may_become(Status::Decided) {
                return Update::Refuse(
                    TransitionRefused {
                        current: record.status,
                        requested: Status::Decided,
                    }
                    .into(),
                );
            }
            let audits: Result<Vec<AuditRecord>, Problem> = record
                .audits
                .iter()
                .map(|v| serde_json::from_value(v.clone()).map_err(store_error))
                .collect();
            let audits = match audits {
                Ok(audits) => audits,
                Err(problem) => return Update::Refuse(problem),
            };
            let standards = record.standard_codes();
            let Some(client) = record.legal_id() else {
                return Update::Refuse(store_error("the stored application has no legal id"));
            };
            let technical_areas = record
                .review
                .as_ref()
                .map(|r| r.technical_areas.clone())
                .unwrap_or_default();
            let decision = match check_decision(
                &request,
                decision_maker.as_ref(),
                &client,
                &standards,
                &technical_areas,
                &audits,
                at.date_naive(),
                &DecisionSettings::default(),
            ) {
                Ok(decision) => decision,
                Err(violations) => {
                    return Update::Refuse(Problem::refused("The decision", violations));
                }
            };
            let verdict = match decision.outcome {
                Verdict::Grant => "granted",
                Verdict::Refuse => "refused",
            };
            let stored = json!(decision);
            record.decision = Some(stored.clone());
            decided = Some(stored);
            let rules = ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"];
            match record.transition(
                Status::Decided,
                at,
                by,
                &rules,
                format!("certification {verdict}"),
                Some(certflow_domain::webhooks::EventTag::new(
                    certflow_domain::webhooks::EventType::DecisionRecorded,
                )),
            ) {
                Ok(()) => Update::Store(record),
                Err(refused) => Update::Refuse(refused.into()),
            }
        },
    )?
    .ok_or_else(application_not_found)?;
    println!("application {id}: decision recorded");
    Ok(Reply::json(
        201,
        &json!({ "id": id, "status": Status::Decided, "decision": decided }),
    ))
}
