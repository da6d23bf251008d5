//! S3, X1, X2: the decision on a surveillance or special audit of a certified application
//! (`POST /api/applications/:id/decision` naming the audit), checked by
//! `certflow_domain::cycle::check_cycle_decision` (D1–D4 against that audit's team and
//! verifiers, D5, D7, D8), appended to the application's `cycle_decisions` with
//! compare-and-swap, then applied to the certificate by the chained
//! `http://certificate.spin.internal/internal/cycle-decision/<id>/<decision>`.

use certflow_component::{
    Method, Outcome, Reply, Request, Update, get_json, invalid, open_store, store_error,
    update_json,
};
use certflow_domain::audit::AuditRecord;
use certflow_domain::certificate::Certificate;
use certflow_domain::cycle::{
    CycleAudit, CycleContext, CycleDecisionRecord, CycleDecisionRequest, check_cycle_decision,
};
use certflow_domain::decision::DecisionSettings;
use certflow_domain::violation::Violation;
use certflow_domain::webhooks::{EventTag, EventType};
use certflow_domain::{ApplicationRecord, Problem, Status};
use serde_json::{Value, json};

use crate::person;

/// POST /api/applications/:id/decision on a certified application: the decision on the audit
/// it names, every broken rule in one 409; recorded (D8) with `by`, the authenticated
/// operator (R1). 201 with the decision; the handler then chains the certificate
/// ([`apply_on_certificate`]).
pub fn decide(req: &Request, id: &str, by: &str) -> Outcome {
    let request = CycleDecisionRequest::from_json(&req.json_body()?)
        .map_err(|e| invalid("The decision", e))?;
    let bucket = open_store()?;
    let decision_maker = person(&bucket, request.decision_maker.trim())?.map(|(p, _)| p);
    let at = certflow_component::now();
    let today = at.date_naive();
    let key = format!("application:{id}");
    let current: ApplicationRecord<Value> =
        get_json(&bucket, &key)?.ok_or_else(certflow_component::application_not_found)?;
    let certificate = match &current.certificate {
        Some(number) => get_json::<Certificate>(&bucket, &format!("certificate:{number}"))?,
        None => None,
    };
    // S5: a certificate continued by a recertification follows the renewing application.
    if let Some(c) = &certificate
        && let Err(violation) = certflow_domain::cycle::require_current_application(c, id)
    {
        return Err(
            Problem::refused("The decision", vec![violation]).current_status(current.status.name())
        );
    }
    let certificate_status = certificate.map(|c| c.status_on(today));
    let Some(certificate_status) = certificate_status else {
        return Err(Problem::new(409, "conflict", "No certificate")
            .detail("the application is certified but its certificate is not stored yet")
            .current_status(current.status.name()));
    };
    let mut decided = None;
    update_json::<ApplicationRecord<Value>, _>(&bucket, &key, false, |mut record| {
        if record.status != Status::Certified {
            return Update::Refuse(
                Problem::new(409, "invalid-transition", "Not possible in the current status")
                    .detail("decisions naming an audit are made on a certified application")
                    .current_status(record.status.name()),
            );
        }
        let found = record.audits.iter().find(|a| {
            a.get("id").and_then(Value::as_str) == Some(request.audit.trim())
        });
        let audit: AuditRecord = match found.map(|a| serde_json::from_value(a.clone())) {
            Some(Ok(audit)) => audit,
            Some(Err(e)) => return Update::Refuse(store_error(e)),
            None => {
                return Update::Refuse(Problem::refused(
                    "The decision",
                    vec![Violation::new(
                        "S3",
                        format!("the application has no audit {}", request.audit.trim()),
                    )],
                ));
            }
        };
        let Some(cycle) = CycleAudit::of(&audit) else {
            return Update::Refuse(Problem::refused(
                "The decision",
                vec![Violation::new(
                    "S3",
                    format!(
                        "audit {} is not a surveillance or special audit: decisions on a certified application name one",
                        audit.id
                    ),
                )],
            ));
        };
        let earlier: Result<Vec<CycleDecisionRecord>, Problem> = record
            .cycle_decisions
            .iter()
            .map(|d| serde_json::from_value(d.clone()).map_err(store_error))
            .collect();
        let earlier = match earlier {
            Ok(earlier) => earlier,
            Err(problem) => return Update::Refuse(problem),
        };
        let Some(client) = record.legal_id() else {
            return Update::Refuse(store_error("the stored application has no legal id"));
        };
        let standards = record.standard_codes();
        let technical_areas = record
            .review
            .as_ref()
            .map(|r| r.technical_areas.clone())
            .unwrap_or_default();
        let context = CycleContext {
            client: &client,
            standards: &standards,
            technical_areas: &technical_areas,
            certificate_status,
            earlier: &earlier,
        };
        let decision = match check_cycle_decision(
            &request,
            decision_maker.as_ref(),
            &audit,
            &cycle,
            &context,
            format!("decision-{}", earlier.len() + 1),
            by,
            at,
            &DecisionSettings::default(),
        ) {
            Ok(decision) => decision,
            Err(violations) => return Update::Refuse(Problem::refused("The decision", violations)),
        };
        let stored = json!(decision);
        record.cycle_decisions.push(stored.clone());
        record.append(
            at,
            by,
            &["S3", "D1", "D2", "D3", "D4", "D5", "D7", "D8"],
            format!(
                "{}: {} on audit {}",
                decision.id,
                decision.outcome.name(),
                decision.audit
            ),
            Some(EventTag {
                audit: Some(decision.audit.clone()),
                ..EventTag::new(EventType::DecisionRecorded)
            }),
        );
        decided = Some(stored);
        Update::Store(record)
    })?
    .ok_or_else(certflow_component::application_not_found)?;
    println!("application {id}: cycle decision recorded");
    Ok(Reply::json(
        201,
        &json!({ "id": id, "status": Status::Certified, "cycle_decision": decided }),
    ))
}

/// A recorded cycle decision (its first reply or a replay) chains the certificate component
/// to apply it (idempotent); the reply shows the certificate under `certificate`, or why it
/// was not changed under `certificate_not_changed` (the decision stands; `POST
/// /api/certificates/sweep` applies it once the certificate allows).
pub async fn apply_on_certificate(req: &Request, reply: Reply) -> Reply {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let (["api", "applications", id, "decision"], Method::Post) =
        (segments.as_slice(), &req.method)
    else {
        return reply;
    };
    let Some(mut body) = reply.success_json() else {
        return reply;
    };
    let Some(decision) = body["cycle_decision"]["id"].as_str().map(str::to_string) else {
        return reply;
    };
    let path = format!("/internal/cycle-decision/{id}/{decision}");
    match certflow_component::chain_post("certificate", &path, None).await {
        Ok((200, answer)) => {
            let answer: Value = serde_json::from_slice(&answer).unwrap_or_default();
            body["certificate"] = answer["certificate"].clone();
        }
        Ok((status, answer)) => {
            eprintln!("application {id}: {decision} not applied to the certificate ({status})");
            body["certificate_not_changed"] = serde_json::from_slice(&answer).unwrap_or_default();
        }
        Err(e) => {
            eprintln!("application {id}: certificate component not reached: {e}");
            body["certificate_not_changed"] = json!({
                "title": "The certificate component was not reached",
                "detail": "the decision is recorded; POST /api/certificates/sweep applies it to the certificate",
            });
        }
    }
    reply.with_json(&body)
}
