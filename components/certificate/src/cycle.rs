//! The certification cycle on the certificate (S1, S3, X1, X2, G1): the surveillance and
//! special audits and the decisions on them applied to the certificate, and the changes of
//! the certified client. Thin: `certflow_domain::cycle` for every rule.
//!
//! Nothing is lost when a chained call fails (S3): the audit or the decision is stored on
//! the application first, and [`sync`] applies everything of the application not yet on the
//! certificate, in the order it was recorded, whoever calls it: the chained
//! `/internal/cycle-audit/...` and `/internal/cycle-decision/...` (from the audit and
//! independence components), or `POST /api/certificates/sweep`, which syncs every
//! certificate's application. Applying is idempotent (the certificate lists what it applied).

use certflow_component::{
    Bucket, Outcome, Reply, Request, Update, application_not_found, get_json, invalid,
    is_application_id, now, open_store, store_error, update_json,
};
use certflow_domain::audit::AuditRecord;
use certflow_domain::certificate::Certificate;
use certflow_domain::cycle::{
    ChangeRequest, ChangeReviewRequest, CycleAudit, CycleDecisionRecord, apply_cycle_audit,
    apply_cycle_decision, issue_change, request_change, require_current_application, review_change,
};
use certflow_domain::violation::Violation;
use certflow_domain::webhooks::EventType;
use certflow_domain::{ApplicationRecord, Problem, Status};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::{certificate_not_found, config, stored};

/// One thing of the application to apply to its certificate.
enum Item {
    /// A surveillance or special audit, recorded by `by` (R1).
    Audit(CycleAudit, String),
    /// A decision on one.
    Decision(Box<CycleDecisionRecord>),
}

/// What a sync did.
pub struct Synced {
    /// The certificate after it.
    pub certificate: Certificate,
    /// The decisions the certificate refused, with the rule (C5, C1).
    pub refused: Vec<(String, Violation)>,
    /// Whether anything was applied.
    pub changed: bool,
}

/// The audits and decisions of the certified application `record` in the order recorded:
/// surveillance and special audits recorded since it was certified (by the history entry
/// that published them), and the cycle decisions.
fn items(record: &ApplicationRecord<Value>) -> Result<Vec<(DateTime<Utc>, Item)>, Problem> {
    let Some(certified_at) = record
        .history
        .iter()
        .find(|h| h.status == Status::Certified)
        .map(|h| h.at)
    else {
        return Ok(Vec::new());
    };
    let mut items = Vec::new();
    for stored in &record.audits {
        let audit: AuditRecord = serde_json::from_value(stored.clone()).map_err(store_error)?;
        let Some(cycle) = CycleAudit::of(&audit) else {
            continue;
        };
        let Some(entry) = record.history.iter().find(|h| {
            h.event.as_ref().is_some_and(|e| {
                e.kind == EventType::AuditRecorded && e.audit.as_deref() == Some(audit.id.as_str())
            })
        }) else {
            continue;
        };
        if entry.at < certified_at {
            continue;
        }
        items.push((entry.at, Item::Audit(cycle, entry.by.clone())));
    }
    for stored in &record.cycle_decisions {
        let d: CycleDecisionRecord = serde_json::from_value(stored.clone()).map_err(store_error)?;
        items.push((d.recorded_at, Item::Decision(Box::new(d))));
    }
    items.sort_by_key(|(at, _)| *at);
    Ok(items)
}

/// S1, S3, X1, X2: applies every surveillance and special audit and every cycle decision of
/// application `id` not yet on its certificate, by compare-and-swap, on `today`. 404 for an
/// unknown application, 409 when it has no certificate or the certificate follows another
/// application since a recertification (S5).
pub fn sync(bucket: &Bucket, id: &str, today: NaiveDate) -> Result<Synced, Problem> {
    let record: ApplicationRecord<Value> =
        get_json(bucket, &format!("application:{id}"))?.ok_or_else(application_not_found)?;
    let Some(number) = record.certificate.clone() else {
        return Err(Problem::new(409, "conflict", "No certificate")
            .detail("the application has no certificate yet")
            .current_status(record.status.name()));
    };
    let items = items(&record)?;
    let config = config(bucket)?;
    let mut refused = Vec::new();
    let mut changed = false;
    let key = format!("certificate:{number}");
    let certificate = update_json::<Certificate, _>(bucket, &key, true, |mut c| {
        refused.clear();
        changed = false;
        // S5: after a recertification the new cycle follows the renewing application only.
        if let Err(violation) = require_current_application(&c, id) {
            return Update::Refuse(
                Problem::refused("The certificate", vec![violation])
                    .current_status(c.status_on(today).name()),
            );
        }
        for (_, item) in &items {
            match item {
                Item::Audit(audit, by) => {
                    changed |= apply_cycle_audit(
                        &mut c,
                        audit,
                        by,
                        today,
                        config.jurisdiction,
                        &config.certificate,
                    );
                }
                Item::Decision(d) => {
                    match apply_cycle_decision(&mut c, d, today, &config.certificate) {
                        Ok(applied) => changed |= applied,
                        Err(violation) => refused.push((d.id.clone(), violation)),
                    }
                }
            }
        }
        if changed {
            Update::Store(c)
        } else {
            Update::Keep(c)
        }
    })?
    .ok_or_else(certificate_not_found)?;
    Ok(Synced {
        certificate,
        refused,
        changed,
    })
}

/// POST /internal/cycle-audit/:id/:audit and /internal/cycle-decision/:id/:decision (chained
/// by the audit and independence components; no trigger covers `/internal/`): [`sync`], then
/// what became of the named audit or decision: 200 with the certificate, or 409 with the
/// rule the certificate refused the decision by.
pub fn internal(id: &str, what: &str, item: &str) -> Outcome {
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    let today = now().date_naive();
    let synced = sync(&open_store()?, id, today)?;
    if let Some((_, violation)) = synced.refused.iter().find(|(d, _)| d == item) {
        return Err(
            Problem::refused("The decision's change", vec![violation.clone()])
                .current_status(synced.certificate.status_on(today).name()),
        );
    }
    let c = &synced.certificate;
    let applied = match what {
        "cycle-audit" => c
            .cycle_audits
            .iter()
            .find(|a| a.audit == item)
            .map(|a| json!(a)),
        _ => c
            .cycle_decisions
            .iter()
            .find(|d| d.decision == item)
            .map(|d| json!(d)),
    };
    let Some(applied) = applied else {
        return Err(Problem::new(404, "not-found", "Not found").detail(format!(
            "the application has no {} {item} to apply to its certificate",
            if what == "cycle-audit" {
                "surveillance or special audit"
            } else {
                "cycle decision"
            }
        )));
    };
    println!(
        "application {id}: {what} {item} applied to certificate {}",
        c.number
    );
    Ok(Reply::json(
        200,
        &json!({ "applied": applied, "certificate": c.shown_on(today) }),
    ))
}

/// POST /api/certificates/sweep's part (S3): [`sync`] of the application of every
/// certificate, reporting those that changed and the decisions refused.
pub fn sync_all(bucket: &Bucket, certificates: &[Certificate], today: NaiveDate) -> Vec<Value> {
    let mut report = Vec::new();
    for c in certificates {
        let Some(id) = &c.application_id else {
            continue;
        };
        match sync(bucket, id, today) {
            Ok(synced) if synced.changed || !synced.refused.is_empty() => report.push(json!({
                "number": c.number,
                "applied": synced.changed,
                "refused": synced.refused.iter().map(|(d, v)| json!({ "decision": d, "rule": v.rule, "found": v.found })).collect::<Vec<_>>(),
            })),
            Ok(_) => {}
            Err(problem) => report.push(json!({ "number": c.number, "error": problem.detail })),
        }
    }
    report
}

/// G1 routes under `/api/certificates/:number/changes` (operators): `POST` requests a
/// change, `GET` lists them, `POST .../:change/review` reviews one, `POST .../:change/issue`
/// issues it as a new revision.
pub fn changes(req: &Request, number: &str, rest: &[&str], by: &str) -> Outcome {
    let bucket = open_store()?;
    let (_, key) = stored(&bucket, number)?;
    let today = now().date_naive();
    match rest {
        [] => {
            let request = ChangeRequest::from_json(&req.json_body()?)
                .map_err(|e| invalid("The change", e))?;
            let mut id = String::new();
            let c = change(&bucket, &key, today, |c| {
                id = request_change(c, request.clone(), by, today)?;
                Ok(())
            })?;
            println!("certificate {number}: {id} requested");
            Ok(Reply::json(201, &change_reply(&c, &id, today)).header(
                "location",
                format!("/api/certificates/{number}/changes/{id}"),
            ))
        }
        [id, "review"] => {
            let review = ChangeReviewRequest::from_json(&req.json_body()?)
                .map_err(|e| invalid("The review", e))?;
            known(&bucket, &key, id)?;
            let c = change(&bucket, &key, today, |c| {
                review_change(c, id, review.clone(), by, today)
            })?;
            println!("certificate {number}: {id} reviewed");
            Ok(Reply::json(200, &change_reply(&c, id, today)))
        }
        [id, "issue"] => {
            req.no_body("The issuance", "G1")?;
            known(&bucket, &key, id)?;
            let c = change(&bucket, &key, today, |c| issue_change(c, id, by, today))?;
            println!("certificate {number}: {id} issued");
            Ok(Reply::json(200, &change_reply(&c, id, today)))
        }
        _ => Err(Problem::new(404, "not-found", "Not found")),
    }
}

/// GET /api/certificates/:number/changes (G1).
pub fn list_changes(number: &str) -> Outcome {
    let (c, _) = stored(&open_store()?, number)?;
    Ok(Reply::json(
        200,
        &json!({ "number": c.number, "changes": c.changes }),
    ))
}

/// 404 unless the certificate stored under `key` has change `id`.
fn known(bucket: &Bucket, key: &str, id: &str) -> Result<(), Problem> {
    let c: Certificate = get_json(bucket, key)?.ok_or_else(certificate_not_found)?;
    if c.changes.iter().any(|ch| ch.id == id) {
        Ok(())
    } else {
        Err(Problem::new(404, "not-found", "Not found")
            .detail(format!("certificate {} has no change {id}", c.number)))
    }
}

/// The certificate under `key` changed by `f` with compare-and-swap; a violation is a 409
/// with the certificate's status.
fn change(
    bucket: &Bucket,
    key: &str,
    today: NaiveDate,
    mut f: impl FnMut(&mut Certificate) -> Result<(), Violation>,
) -> Result<Certificate, Problem> {
    update_json::<Certificate, _>(bucket, key, false, |mut c| match f(&mut c) {
        Ok(()) => Update::Store(c),
        Err(violation) => Update::Refuse(
            Problem::refused("The change", vec![violation])
                .current_status(c.status_on(today).name()),
        ),
    })?
    .ok_or_else(certificate_not_found)
}

fn change_reply(c: &Certificate, id: &str, today: NaiveDate) -> Value {
    json!({
        "number": c.number,
        "change": c.changes.iter().find(|ch| ch.id == id),
        "certificate": c.shown_on(today),
    })
}
