//! The CB's whole procedure as one application goes through it, for the end-to-end tests and
//! the workflow benchmark: register the people, submit, review, assess the remote audit, hold
//! stage 1 and stage 2, decide with the certificate details, verify the certificate. Audits,
//! responses and verifications are dated today, the day the application is submitted: an
//! audit may not start before the submission (R1), a response not before its audit (D5), and
//! none of them after today (R1); so the D6 window (decision within 6 months of stage 2)
//! holds whenever the suite runs.

use anyhow::{Context, Result, ensure};
use chrono::{Days, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::{Host, Reply, example_application};

/// The client's USCC in `tests/fixtures/application.json`.
pub const CLIENT_USCC: &str = "91310000MA1FL8XQ37";

/// The workflow's steps, in order, as [`certify`] times them.
pub const STEPS: [&str; 7] = [
    "submit + screening",
    "review",
    "remote-audit",
    "stage 1",
    "stage 2",
    "decision + certificate",
    "verify",
];

/// A register entry: competent for ISO/IEC 27001 and 27701 in IAF 33.
pub fn person(name: &str, employment: &str, consulted_for_client: bool) -> Value {
    let mut person = json!({
        "name": name,
        "employment": { "type": employment },
        "competences": [
            { "standard": "ISO/IEC 27001", "technical_areas": ["IAF 33"] },
            { "standard": "ISO/IEC 27701", "technical_areas": ["IAF 33"] }
        ]
    });
    if employment == "contracted" {
        person["employment"]["arrangement"] = json!("auditor contract 2026-014");
    }
    if consulted_for_client {
        person["consultancy"] = json!([{
            "organization": { "type": "uscc", "number": CLIENT_USCC },
            "ended_on": "2025-12-01"
        }]);
    }
    person
}

/// Registers the CB's people: `li-na` (lead auditor), `chen-jie` (contracted auditor),
/// `wang-fang` (decision maker), `zhang-san` (consulted for the client), `outsider`.
pub async fn register_people(host: &Host) -> Result<()> {
    for (id, name, employment, consulted) in [
        ("li-na", "Li Na", "employee", false),
        ("chen-jie", "Chen Jie", "contracted", false),
        ("wang-fang", "Wang Fang", "employee", false),
        ("zhang-san", "Zhang San", "employee", true),
        ("outsider", "Out Sider", "external", false),
    ] {
        let body = person(name, employment, consulted);
        let put = host
            .operator(Method::PUT, &format!("/api/people/{id}"), Some(&body))
            .await?;
        ensure!(put.status == 200, "{id}: {}", put.body);
    }
    Ok(())
}

/// Today, `days` ago.
pub fn days_ago(days: u64) -> Result<NaiveDate> {
    Utc::now()
        .date_naive()
        .checked_sub_days(Days::new(days))
        .context("date out of range")
}

/// The day after `day`.
pub fn after(day: NaiveDate) -> Result<NaiveDate> {
    day.checked_add_days(Days::new(1))
        .context("date out of range")
}

/// How far ahead the guests' clock must run for their today to be `day` (for
/// [`crate::start_app_at`]); an error for a day in the past.
pub fn offset_to(day: NaiveDate) -> Result<Duration> {
    let days = u64::try_from((day - Utc::now().date_naive()).num_days())
        .with_context(|| format!("{day} is in the past"))?;
    Ok(Duration::from_secs(days * 24 * 60 * 60))
}

/// A date as the API writes it (`YYYY-MM-DD`).
pub fn date(v: &Value) -> Result<NaiveDate> {
    v.as_str()
        .context("not a date")?
        .parse()
        .with_context(|| format!("{v}"))
}

/// An audit by `team` (`(person, role)`), on site, recommending a grant.
pub fn audit(
    kind: &str,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    team: &[(&str, &str)],
    findings: Value,
) -> Value {
    let team: Vec<Value> = team
        .iter()
        .map(|(person, role)| json!({ "person": person, "role": role }))
        .collect();
    json!({
        "type": kind, "starts_on": starts_on, "ends_on": ends_on, "team": team,
        "remote": { "used": false }, "findings": findings,
        "recommendation": "grant_after_verification"
    })
}

/// An MD4 assessment with every factor low (M1–M4).
pub fn assessment(audit: &str) -> Value {
    let low = |note: &str| json!({ "risk": "low", "note": note });
    json!({
        "assessor": "Zhao Min",
        "audit": audit,
        "factors": {
            "infrastructure": low("tested video links"),
            "sector": low("software services"),
            "audit_type": low("stage 1 document review"),
            "competence": low("team trained in remote techniques"),
            "past_performance": low("first audit"),
            "scope": low("no site-bound process")
        },
        "confidentiality": low("screen sharing under NDA"),
        "client_agreement": true,
        "physical_processes": false,
        "physical_security_controls": true,
        "virtual_sites": false,
        "planned_remote_percent": 20,
        "tools": ["Microsoft Teams"]
    })
}

/// The certificate details a grant carries (C1; effective on the decision's day).
pub fn certificate_details() -> Value {
    json!({
        "soa_version": "SoA v3, 2026-02-01",
        "signatory": { "name": "Zhao Min", "role": "General Manager" }
    })
}

/// POSTs JSON as an operator.
pub async fn post(host: &Host, path: &str, body: &Value) -> Result<Reply> {
    host.operator(Method::POST, path, Some(body)).await
}

/// Submits the example application and has it accepted by the review (A9); returns its id.
pub async fn accepted_application(host: &Host) -> Result<String> {
    accepted(host, &example_application()?).await
}

/// Submits `application` and has it accepted by the review (A9); returns its id.
pub async fn accepted(host: &Host, application: &Value) -> Result<String> {
    let created = host.submit(application, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?.to_string();
    let accept =
        json!({ "decision": "accept", "reviewer": "Wang Fang", "technical_areas": ["IAF 33"] });
    let reviewed = post(host, &format!("/api/applications/{id}/review"), &accept).await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    Ok(id)
}

/// One application from submission to a verified certificate, every step checked and timed
/// (`timings` gets one entry per [`STEPS`]); returns the application id and the certificate
/// number. The people must be registered ([`register_people`]).
pub async fn certify(host: &Host, timings: &mut Vec<Duration>) -> Result<(String, String)> {
    let mut clock = Instant::now();
    let mut lap = |timings: &mut Vec<Duration>| {
        let now = Instant::now();
        timings.push(now - clock);
        clock = now;
    };
    let created = host.submit(&example_application()?, None).await?;
    ensure!(
        created.status == 201 && created.body["status"] == "under_review",
        "{}",
        created.body
    );
    let id = created.body["id"].as_str().context("id")?.to_string();
    lap(timings);

    let accept =
        json!({ "decision": "accept", "reviewer": "Wang Fang", "technical_areas": ["IAF 33"] });
    let reviewed = post(host, &format!("/api/applications/{id}/review"), &accept).await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    lap(timings);

    let path = format!("/api/applications/{id}/remote-audit");
    let assessed = post(host, &path, &assessment("stage_1")).await?;
    ensure!(assessed.status == 201, "{}", assessed.body);
    lap(timings);

    let audits = format!("/api/applications/{id}/audits");
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let stage_1 = audit("stage_1", days_ago(0)?, days_ago(0)?, &team, json!([]));
    let held = post(host, &audits, &stage_1).await?;
    ensure!(held.status == 201, "{}", held.body);
    lap(timings);
    let stage_2 = audit("stage_2", days_ago(0)?, days_ago(0)?, &team, json!([]));
    let held = post(host, &audits, &stage_2).await?;
    ensure!(held.status == 201, "{}", held.body);
    lap(timings);

    let number = grant_certificate(host, &id).await?;
    lap(timings);

    let (status, body) = host.get(&format!("/api/certificates/{number}")).await?;
    ensure!(
        status == 200 && body.contains("\"active\""),
        "{status}: {body}"
    );
    lap(timings);
    Ok((id, number))
}

/// Records a grant by `wang-fang` with [`certificate_details`] on application `id` (D1–D8),
/// which issues the certificate (C1–C4); checks the 201 and returns the certificate number.
pub async fn grant_certificate(host: &Host, id: &str) -> Result<String> {
    let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant",
                        "certificate": certificate_details() });
    let decided = post(host, &format!("/api/applications/{id}/decision"), &grant).await?;
    ensure!(
        decided.status == 201 && decided.body["status"] == "certified",
        "{}",
        decided.body
    );
    Ok(decided.body["certificate"]["number"]
        .as_str()
        .context("certificate number")?
        .to_string())
}

/// The record of application `id` as an operator reads it (`GET /api/applications/:id`, which
/// must answer 200).
pub async fn application_record(host: &Host, id: &str) -> Result<Value> {
    let read = host
        .operator(Method::GET, &format!("/api/applications/{id}"), None)
        .await?;
    ensure!(read.status == 200, "{}", read.body);
    Ok(read.body)
}

/// How many history entries (R1) of an application `record` have a note containing `needle`.
pub fn notes_with(record: &Value, needle: &str) -> usize {
    record["history"].as_array().map_or(0, |h| {
        h.iter()
            .filter(|e| e["note"].as_str().is_some_and(|n| n.contains(needle)))
            .count()
    })
}

/// The operator's full certificate `number` (`GET /api/certificates/:number/record`, which
/// must answer 200): surveillance plan, expiry, suspension, history, cycle records.
pub async fn certificate_record(host: &Host, number: &str) -> Result<Value> {
    let full = host
        .operator(
            Method::GET,
            &format!("/api/certificates/{number}/record"),
            None,
        )
        .await?;
    ensure!(full.status == 200, "{}", full.body);
    Ok(full.body)
}

/// Records audit `body` on application `id` (which must answer 201); the audit's reply.
pub async fn record_audit(host: &Host, id: &str, body: &Value) -> Result<Value> {
    let held = post(host, &format!("/api/applications/{id}/audits"), body).await?;
    ensure!(held.status == 201, "{}", held.body);
    Ok(held.body)
}

/// D5: responds to and verifies (accepted, by li-na) nonconformity `nc` of `audit` on
/// application `id`, both on `day`.
pub async fn close_nonconformity(
    host: &Host,
    id: &str,
    audit: &str,
    nc: &str,
    day: NaiveDate,
) -> Result<()> {
    let path = format!("/api/applications/{id}/audits/{audit}/nonconformities/{nc}");
    let response = json!({ "cause": "no owner", "correction": "rights reviewed",
                           "corrective_action": "quarterly review assigned", "submitted_on": day });
    let sent = post(host, &format!("{path}/response"), &response).await?;
    ensure!(sent.status == 200, "{}", sent.body);
    let verification = json!({ "verified_by": "li-na", "verified_on": day, "accepted": true });
    let sent = post(host, &format!("{path}/verification"), &verification).await?;
    ensure!(sent.status == 200, "{}", sent.body);
    Ok(())
}

/// S2: the checklist of an ISMS surveillance report, every item covered.
pub fn surveillance_checklist() -> Value {
    let items = [
        "maintenance_elements",
        "external_communication",
        "isms_effectiveness",
        "legal_compliance_review",
        "control_changes_and_soa",
        "control_implementation",
        "complaints_records",
        "previous_nonconformities",
        "significant_changes",
    ];
    let list = items
        .iter()
        .map(|item| {
            (
                item.to_string(),
                json!({ "covered": true, "note": format!("{item}: sampled, see report section 4") }),
            )
        })
        .collect();
    Value::Object(list)
}

/// The rules of a `rules-not-met` problem's violations, in order.
pub fn violation_rules(problem: &Value) -> Vec<String> {
    problem["violations"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|v| v["rule"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
