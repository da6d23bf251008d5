//! certflow remote-audit (M1–M5): an operator records the IAF MD4 risk assessment of one
//! planned audit (the day it was made, `assessed_on`, defaults to the day it is recorded); the
//! component decides how much of it may be remote (`full`, `partial`,
//! `none`) with the reasons and flags, and appends it to the application's record, so each
//! re-assessment within the cycle keeps the earlier ones (M3). Thin: HTTP in,
//! `certflow_domain::audit::remote` for every rule, key-value out.
//!
//! Routes (operators): `POST /api/applications/:id/remote-audit` records an assessment,
//! `GET /api/applications/:id/remote-audit` lists them. Keys (docs/STORAGE.md): appends to
//! `remote_audits` of `application:<id>` with compare-and-swap; reads `settings` (M5's
//! threshold), which the review component owns.

use certflow_component::{
    Method, Outcome, Reply, Request, Update, application_not_found, get_json, invalid,
    is_application_id, method_not_allowed, now, open_store, require_operator, update_json,
};
use certflow_domain::audit::remote::{Assessment, AssessmentRecord, assess};
use certflow_domain::record::{AuditNotAccepted, is_recertification};
use certflow_domain::review::Settings;
use certflow_domain::{Problem, Status, StatusChange};
use serde_json::{Value, json};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// Largest body accepted: an assessment with its notes is a few KiB.
const MAX_BODY: usize = 64 * 1024;

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    certflow_component::serve(incoming, out, MAX_BODY, route).await
}

fn route(req: &Request) -> Outcome {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let ["api", "applications", id, "remote-audit"] = segments.as_slice() else {
        return Err(Problem::new(404, "not-found", "Not found"));
    };
    let by = require_operator(req)?;
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    match req.method {
        Method::Post => certflow_component::idempotent(req, &format!("remote-audit:{id}"), || {
            record_assessment(req, id, &by)
        }),
        Method::Get => list(id),
        _ => Err(method_not_allowed("GET, POST")),
    }
}

/// M5's threshold from the CB's settings (kept by the review component), read as plain JSON:
/// this component needs one number of them.
fn remote_share_flag_percent() -> Result<u32, Problem> {
    let stored: Option<Value> = get_json(&open_store()?, "settings")?;
    let configured = stored
        .as_ref()
        .and_then(|s| s.get("remote_share_flag_percent"))
        .and_then(Value::as_u64)
        .and_then(|p| u32::try_from(p).ok());
    Ok(configured.unwrap_or_else(|| Settings::default().remote_share_flag_percent))
}

/// POST: assesses (M1–M5) and appends the assessment to the record (M3), with `by`, the
/// authenticated operator who recorded it (R1). Refused with 409 when the application's status
/// plans no audit of the type assessed (`Status::may_be_assessed_for_remote_audit`: a
/// certified client's surveillance and special audits are, M3). Appends never conflict: when
/// another request appended first, this one appends after it.
fn record_assessment(req: &Request, id: &str, by: &str) -> Outcome {
    let assessment = Assessment::from_json(&req.json_body()?, now().date_naive())
        .map_err(|e| invalid("The assessment", e))?;
    let result = assess(&assessment, remote_share_flag_percent()?);
    let entry = AssessmentRecord {
        at: now(),
        by: by.to_string(),
        assessment,
        result,
    };
    let entry_json = json!(entry);
    let audit = json!(entry.assessment.audit);
    let audit = audit.as_str().unwrap_or("planned");
    let key = format!("application:{id}");
    update_json::<Value, _>(&open_store()?, &key, true, |mut record| {
        let status = record
            .get("status")
            .cloned()
            .and_then(|s| serde_json::from_value::<Status>(s).ok());
        let recertification = record.get("application").is_some_and(is_recertification);
        let audit_type = entry.assessment.audit;
        let status = match status {
            Some(status)
                if status.may_be_assessed_for_remote_audit(audit_type, recertification) =>
            {
                status
            }
            Some(current) => {
                return Update::Refuse(
                    AuditNotAccepted {
                        current,
                        audit: audit_type,
                        recertification,
                    }
                    .into(),
                );
            }
            None => return Update::Refuse(application_not_found()),
        };
        match record
            .as_object_mut()
            .map(|r| r.entry("remote_audits").or_insert_with(|| json!([])))
        {
            Some(Value::Array(list)) => list.push(entry_json.clone()),
            _ => return Update::Refuse(application_not_found()),
        }
        // R1: the history says what happened, who recorded it and when.
        let change = StatusChange {
            at: entry.at,
            status,
            by: by.to_string(),
            rules: vec!["M1".into(), "M3".into()],
            note: format!("remote-audit assessment of the {audit} audit recorded"),
            change_id: None,
            event: Some(certflow_domain::webhooks::EventTag::new(
                certflow_domain::webhooks::EventType::RemoteAuditAssessed,
            )),
        };
        match record.get_mut("history") {
            Some(Value::Array(history)) => history.push(json!(change)),
            _ => return Update::Refuse(application_not_found()),
        }
        Update::Store(record)
    })?
    .ok_or_else(application_not_found)?;
    println!("application {id}: remote-audit assessment recorded");
    Ok(Reply::json(201, &entry_json))
}

/// GET: every assessment of the application, oldest first (M3).
fn list(id: &str) -> Outcome {
    let record: Value = get_json(&open_store()?, &format!("application:{id}"))?
        .ok_or_else(application_not_found)?;
    let assessments = record.get("remote_audits").cloned().unwrap_or(json!([]));
    Ok(Reply::json(
        200,
        &json!({ "id": id, "remote_audits": assessments }),
    ))
}
