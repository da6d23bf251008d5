//! certflow audit (N1–N3, with M1, D4 and T1–T4 when an audit is recorded): operators record
//! each audit of an application with its team, remote use and findings: stage 1 and stage 2
//! of an accepted application, surveillance and special audits of a certified one (S1; the
//! status's table is `Status::accepts_audit`); nonconformities get their due dates (N2) and
//! systemic flags (N1), then responses and verification. Thin: HTTP in,
//! `certflow_domain::audit` and `certflow_domain::audit::team` for every rule, key-value out.
//!
//! Routes (operators):
//! - `POST /api/applications/:id/audits` records an audit, `GET` lists them.
//! - `POST /api/applications/:id/audits/:audit/nonconformities/:nc/response` records the
//!   client's response (cause, correction, corrective action).
//! - `POST /api/applications/:id/audits/:audit/nonconformities/:nc/verification` records who
//!   verified it, when, and whether it is accepted.
//!
//! Keys (docs/STORAGE.md): appends to and changes `audits` of `application:<id>` with
//! compare-and-swap; reads `person:<id>` (the people register, owned by independence).
//! A surveillance or special audit of a certified application then chains the certificate
//! component (`http://certificate.spin.internal/internal/cycle-audit/<id>/<audit>`, S1, S3).

use certflow_component::{
    Bucket, Method, Outcome, Reply, Request, Update, application_not_found, get_json, invalid,
    is_application_id, method_not_allowed, now, open_store, require_operator, store_error,
    update_json,
};
use certflow_domain::audit::remote::AssessmentRecord;
use certflow_domain::audit::{
    AuditContext, AuditRecord, AuditRequest, NcResponse, NcSettings, Verification, record_audit,
    respond, verify,
};
use certflow_domain::decision::DecisionSettings;
use certflow_domain::people::Person;
use certflow_domain::record::AuditNotAccepted;
use certflow_domain::violation::Violation;
use certflow_domain::{ApplicationRecord, Problem, Status};
use serde_json::{Value, json};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// Largest body accepted: an audit with many findings and their evidence.
const MAX_BODY: usize = 256 * 1024;

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    let head = certflow_component::is_head(&incoming);
    let outcome = match Request::read(incoming, MAX_BODY).await {
        Ok(req) => match route(&req) {
            Ok(reply) => Ok(apply_to_certificate(&req, reply).await),
            Err(problem) => Err(problem),
        },
        Err(problem) => Err(problem),
    };
    outcome.unwrap_or_else(Reply::problem).send(head, out).await
}

/// S1, S3: a surveillance or special audit recorded on a certified application (its first
/// reply or a replay of it) chains the certificate component, which marks the surveillance
/// held, re-plans the next and maintains certification or requires a review (applying is
/// idempotent). The reply shows what the certificate made of it under `certificate`, or why
/// it was not applied under `certificate_not_applied`: the audit stays recorded, and
/// `POST /api/certificates/sweep` applies it later.
async fn apply_to_certificate(req: &Request, reply: Reply) -> Reply {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let (["api", "applications", id, "audits"], Method::Post) = (segments.as_slice(), &req.method)
    else {
        return reply;
    };
    let Some(mut body) = reply.success_json() else {
        return reply;
    };
    let cycle = matches!(
        body["type"].as_str(),
        Some("surveillance_1" | "surveillance_2" | "special")
    );
    let Some(audit) = body["id"].as_str().filter(|_| cycle).map(str::to_string) else {
        return reply;
    };
    let path = format!("/internal/cycle-audit/{id}/{audit}");
    match certflow_component::chain_post("certificate", &path, None).await {
        Ok((200, answer)) => {
            let answer: Value = serde_json::from_slice(&answer).unwrap_or_default();
            body["certificate"] = answer;
        }
        // Not a certified application's cycle audit (no certificate): nothing to apply.
        Ok((404 | 409, _)) => return reply,
        Ok((status, answer)) => {
            eprintln!("application {id}: {audit} not applied to the certificate ({status})");
            body["certificate_not_applied"] = serde_json::from_slice(&answer).unwrap_or_default();
        }
        Err(e) => {
            eprintln!("application {id}: certificate component not reached: {e}");
            body["certificate_not_applied"] = json!({
                "title": "The certificate component was not reached",
                "detail": "the audit is recorded; POST /api/certificates/sweep applies it to the certificate",
            });
        }
    }
    reply.with_json(&body)
}

fn route(req: &Request) -> Outcome {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let (id, rest) = match segments.as_slice() {
        ["api", "applications", id, "audits", rest @ ..] => (*id, rest),
        _ => return Err(Problem::new(404, "not-found", "Not found")),
    };
    let by = require_operator(req)?;
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    match (rest, &req.method) {
        ([], Method::Post) => {
            certflow_component::idempotent(req, &format!("audit:{id}"), || record(req, id, &by))
        }
        ([], Method::Get) => list(id),
        ([], _) => Err(method_not_allowed("GET, POST")),
        (
            [
                audit,
                "nonconformities",
                nc,
                step @ ("response" | "verification"),
            ],
            Method::Post,
        ) => change_nonconformity(req, id, audit, nc, step, &by),
        ([_, "nonconformities", _, "response" | "verification"], _) => {
            Err(method_not_allowed("POST"))
        }
        _ => Err(Problem::new(404, "not-found", "Not found")),
    }
}

/// A person of the register, read with the register's own reader (absent: `None`).
fn person(bucket: &Bucket, id: &str) -> Result<Option<Person>, Problem> {
    let stored: Option<Value> = get_json(bucket, &format!("person:{id}"))?;
    Ok(stored.and_then(|v| Person::from_json(&v).ok()))
}

/// Records stored as JSON in the application record, read back into their type.
fn typed<T: serde::de::DeserializeOwned>(stored: &[Value]) -> Result<Vec<T>, Problem> {
    stored
        .iter()
        .map(|v| serde_json::from_value(v.clone()).map_err(store_error))
        .collect()
}

/// POST: checks the audit (the type against the application's status, S1; the fields that
/// depend on its type, S2, X1, X2, D7; M1 remote use and its timing, D4 and T1–T4 the team,
/// N1 systemic minors, N2 due dates, R1 not before the application was submitted) and
/// appends it; the first audit moves an accepted application to `in_audit`, and a certified
/// one stays `certified`. Refused rules: 422 `rules-not-met`, every one at once.
/// X2, P6: a short-notice audit caused by a complaint names a complaint about this
/// application's certificate that was decided upheld with `short_notice_audit`
/// (`complaint:<reference>`, the complaints component's); 422 citing X2 otherwise.
fn complaint_cause(
    bucket: &Bucket,
    reference: &str,
    certificate: Option<&str>,
) -> Result<(), Problem> {
    use certflow_domain::cycle::complaints::{
        Case, CaseKind, check_short_notice_complaint, normalize_reference,
    };
    let refused = |found: String| {
        Problem::unprocessable(
            "The audit",
            vec![certflow_domain::violation::Violation::new("X2", found)],
        )
    };
    let Some(reference) = normalize_reference(CaseKind::Complaint, reference) else {
        return Err(refused(format!(
            "{reference} is not a complaint reference (CP- and 32 hex digits)"
        )));
    };
    let Some(stored) = get_json::<Value>(bucket, &CaseKind::Complaint.key(&reference))? else {
        return Err(refused(format!("there is no complaint {reference}")));
    };
    let case: Case = serde_json::from_value(stored).map_err(store_error)?;
    check_short_notice_complaint(&case, certificate)
        .map_err(|v| Problem::unprocessable("The audit", vec![v]))
}

fn record(req: &Request, id: &str, by: &str) -> Outcome {
    let today = now().date_naive();
    let body = req.json_body()?;
    let bucket = open_store()?;
    let key = format!("application:{id}");
    // The standards never change after intake: read once for the body's S2 check.
    let stored =
        get_json::<ApplicationRecord<Value>>(&bucket, &key)?.ok_or_else(application_not_found)?;
    let standards = stored.standard_codes();
    let request =
        AuditRequest::from_json(&body, today, &standards).map_err(|e| invalid("The audit", e))?;
    if let Some(reference) = &request.complaint {
        complaint_cause(&bucket, reference, stored.certificate.as_deref())?;
    }
    // S5: a certificate continued by a recertification follows the renewing application.
    if let Some(number) = &stored.certificate
        && let Some(certificate) = get_json::<certflow_domain::certificate::Certificate>(
            &bucket,
            &format!("certificate:{number}"),
        )?
        && let Err(violation) =
            certflow_domain::cycle::require_current_application(&certificate, id)
    {
        return Err(
            Problem::refused("The audit", vec![violation]).current_status(stored.status.name())
        );
    }
    let mut team = Vec::new();
    for member in &request.team {
        // Someone missing from the register is reported by the D4 check.
        if let Some(person) = person(&bucket, &member.person)? {
            team.push((member.person.clone(), person));
        }
    }
    let at = now();
    let mut recorded = None;
    update_json::<ApplicationRecord<Value>, _>(&bucket, &key, true, |mut record| {
        let recertification = record.is_recertification();
        if !record
            .status
            .accepts_audit(request.audit_type, recertification)
        {
            return Update::Refuse(
                AuditNotAccepted {
                    current: record.status,
                    audit: request.audit_type,
                    recertification,
                }
                .into(),
            );
        }
        let assessments: Vec<AssessmentRecord> = match typed(&record.remote_audits) {
            Ok(a) => a,
            Err(problem) => return Update::Refuse(problem),
        };
        let Some(client) = record.legal_id() else {
            return Update::Refuse(store_error("the stored application has no legal id"));
        };
        let Some(submitted_on) = record.submitted_on() else {
            return Update::Refuse(store_error("the stored application has no history"));
        };
        let technical_areas = record
            .review
            .as_ref()
            .map(|r| r.technical_areas.clone())
            .unwrap_or_default();
        let standards = record.standard_codes();
        let audit_id = format!("audit-{}", record.audits.len() + 1);
        let ctx = AuditContext {
            client: &client,
            submitted_on,
            standards: &standards,
            technical_areas: &technical_areas,
            register: &team,
            remote_audits: &assessments,
            settings: &NcSettings::default(),
            decision: &DecisionSettings::default(),
        };
        let audit = match record_audit(request.clone(), audit_id.clone(), &ctx) {
            Ok(audit) => audit,
            Err(violations) => {
                return Update::Refuse(Problem::unprocessable("The audit", violations));
            }
        };
        let stored = json!(audit);
        record.audits.push(stored.clone());
        let note = format!(
            "{audit_id} recorded: {} audit ({} finding(s))",
            audit.audit_type.name(),
            audit.findings.len()
        );
        let rules = ["N1", "N2", "M1", "D4", "T1", "T2", "T3", "T4", "S1"];
        let event = Some(certflow_domain::webhooks::EventTag {
            audit: Some(audit_id.to_string()),
            ..certflow_domain::webhooks::EventTag::new(
                certflow_domain::webhooks::EventType::AuditRecorded,
            )
        });
        // S1: a certified application's audit leaves it certified.
        let moved = if record.status == Status::Accepted {
            record.transition(Status::InAudit, at, by, &rules, note, event)
        } else {
            record.append(at, by, &rules, note, event);
            Ok(())
        };
        recorded = Some(stored);
        match moved {
            Ok(()) => Update::Store(record),
            Err(refused) => Update::Refuse(refused.into()),
        }
    })?
    .ok_or_else(application_not_found)?;
    println!("application {id}: audit recorded");
    Ok(Reply::json(201, &recorded.unwrap_or_default()))
}

/// GET: every audit of the application, oldest first.
fn list(id: &str) -> Outcome {
    let record: Value = get_json(&open_store()?, &format!("application:{id}"))?
        .ok_or_else(application_not_found)?;
    let audits = record.get("audits").cloned().unwrap_or(json!([]));
    Ok(Reply::json(200, &json!({ "id": id, "audits": audits })))
}

/// What happens to a nonconformity.
enum Change {
    Response(NcResponse),
    Verification(Verification),
}

/// POST a response to, or the verification of, one nonconformity (N2, D5): a response not
/// submitted before the audit that raised the NC started, a verification not before the
/// response (409 otherwise, [`respond`], [`verify`]).
fn change_nonconformity(
    req: &Request,
    id: &str,
    audit_id: &str,
    nc: &str,
    step: &str,
    by: &str,
) -> Outcome {
    let body = req.json_body()?;
    let today = now().date_naive();
    let change = match step {
        "response" => Change::Response(
            NcResponse::from_json(&body, today).map_err(|e| invalid("The response", e))?,
        ),
        _ => Change::Verification(
            Verification::from_json(&body, today).map_err(|e| invalid("The verification", e))?,
        ),
    };
    let at = now();
    let mut changed = None;
    update_json::<ApplicationRecord<Value>, _>(
        &open_store()?,
        &format!("application:{id}"),
        true,
        |mut record| {
            let Some(slot) = record
                .audits
                .iter_mut()
                .find(|a| a.get("id").and_then(Value::as_str) == Some(audit_id))
            else {
                return Update::Refuse(
                    Problem::new(404, "not-found", "Not found")
                        .detail(format!("no audit {audit_id} in this application")),
                );
            };
            let mut audit: AuditRecord = match serde_json::from_value(slot.clone()) {
                Ok(audit) => audit,
                Err(e) => return Update::Refuse(store_error(e)),
            };
            let applied: Result<(), Violation> = match &change {
                Change::Response(response) => respond(&mut audit, nc, response.clone()),
                Change::Verification(verification) => verify(&mut audit, nc, verification.clone()),
            };
            if let Err(violation) = applied {
                return Update::Refuse(Problem::refused("The change", vec![violation]));
            }
            *slot = json!(audit);
            changed = audit.finding(nc).map(|f| json!(f));
            record.append(
                at,
                by,
                &["N2", "D5"],
                format!("{step} recorded for {nc} of {audit_id}"),
                // A response is not an event of the contract; its verification is.
                matches!(change, Change::Verification(_)).then(|| {
                    certflow_domain::webhooks::EventTag {
                        audit: Some(audit_id.to_string()),
                        finding: Some(nc.to_string()),
                        ..certflow_domain::webhooks::EventTag::new(
                            certflow_domain::webhooks::EventType::NonconformityVerified,
                        )
                    }
                }),
            );
            Update::Store(record)
        },
    )?
    .ok_or_else(application_not_found)?;
    println!("application {id}: {step} recorded for {nc} of {audit_id}");
    Ok(Reply::json(200, &changed.unwrap_or_default()))
}
