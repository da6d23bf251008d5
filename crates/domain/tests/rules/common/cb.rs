//! Shared fixtures for the audit (N1–N3, M1) and decision (D1–D8) tests: a people register,
//! a client and audit bodies.

use certflow_domain::audit::remote::{Assessment, AssessmentRecord, assess};
use certflow_domain::audit::{
    AuditContext, AuditRecord, AuditRequest, NcResponse, NcSettings, Verification, record_audit,
    respond, verify,
};
use certflow_domain::decision::DecisionSettings;
use certflow_domain::intake::application::{LegalId, LegalIdType, StandardCode};
use certflow_domain::people::Person;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{VALID_USCC, day};

pub fn client() -> LegalId {
    LegalId {
        kind: LegalIdType::Uscc,
        number: VALID_USCC.to_string(),
    }
}

pub fn person_json(name: &str) -> Value {
    json!({
        "name": name,
        "employment": { "type": "employee" },
        "competences": [{ "standard": "ISO/IEC 27001", "technical_areas": ["IAF 33"] }]
    })
}

pub fn person(v: &Value) -> Result<Person, String> {
    Person::from_json(v).map_err(|e| format!("{e:?}"))
}

/// p-lead, p-auditor (team), p-dm (the decision maker, clear of everything), p-consultant
/// (consulted for the client until 2025-06-30).
pub fn register() -> Result<Vec<(String, Person)>, String> {
    let mut consultant = person_json("Chen Jie");
    consultant["consultancy"] = json!([{
        "organization": { "type": "uscc", "number": VALID_USCC },
        "ended_on": "2025-06-30"
    }]);
    Ok(vec![
        ("p-lead".into(), person(&person_json("Li Lei"))?),
        ("p-auditor".into(), person(&person_json("Zhang Wei"))?),
        ("p-dm".into(), person(&person_json("Wang Fang"))?),
        ("p-consultant".into(), person(&consultant)?),
    ])
}

/// A stage 2 audit from Monday 2026-03-02 to Wednesday 2026-03-04 with one major, one minor
/// and one opportunity, recommending grant after verification.
pub fn audit_body() -> Value {
    json!({
        "type": "stage_2",
        "starts_on": "2026-03-02",
        "ends_on": "2026-03-04",
        "team": [
            { "person": "p-lead", "role": "lead" },
            { "person": "p-auditor", "role": "auditor" }
        ],
        "remote": { "used": false },
        "findings": [
            { "severity": "major", "clause": "A.5.15", "statement": "no access control policy",
              "evidence": "policy register has no entry", "process": "access control" },
            { "severity": "minor", "clause": "A.8.13", "statement": "backup test overdue",
              "evidence": "last test 2024-11", "process": "operations" },
            { "severity": "opportunity", "clause": "6.2", "statement": "objectives could be measured monthly",
              "process": "management" }
        ],
        "recommendation": "grant_after_verification"
    })
}

/// The application's standards in these tests: ISO/IEC 27001 (an ISMS: S2 applies).
pub const STANDARDS: &[StandardCode] = &[StandardCode::Iso27001];

/// The technical areas the review accepted in these tests (T2).
pub fn areas() -> Vec<String> {
    vec!["IAF 33".to_string()]
}

pub fn request(v: &Value) -> Result<AuditRequest, String> {
    AuditRequest::from_json(v, chrono::NaiveDate::MAX, STANDARDS).map_err(|e| format!("{e:?}"))
}

/// `f` with the audit context of these tests: the client, submitted on `submitted_on`,
/// [`STANDARDS`], [`areas`], `register`, `assessments`, default settings.
pub fn with_context<T>(
    submitted_on: chrono::NaiveDate,
    register: &[(String, Person)],
    assessments: &[AssessmentRecord],
    f: impl FnOnce(&AuditContext<'_>) -> T,
) -> T {
    let (client, areas) = (client(), areas());
    let (settings, decision) = (NcSettings::default(), DecisionSettings::default());
    f(&AuditContext {
        client: &client,
        submitted_on,
        standards: STANDARDS,
        technical_areas: &areas,
        register,
        remote_audits: assessments,
        settings: &settings,
        decision: &decision,
    })
}

/// `request` recorded as audit `id` against [`register`] and `assessments`.
pub fn record_with(
    request: AuditRequest,
    id: &str,
    assessments: &[AssessmentRecord],
) -> Result<AuditRecord, Vec<certflow_domain::violation::Violation>> {
    let register =
        register().map_err(|e| vec![certflow_domain::violation::Violation::new("test", e)])?;
    with_context(chrono::NaiveDate::MIN, &register, assessments, |ctx| {
        record_audit(request, id.to_string(), ctx)
    })
}

pub fn record(v: &Value, id: &str) -> Result<AuditRecord, String> {
    record_with(request(v)?, id, &[]).map_err(|e| format!("{e:?}"))
}

pub fn response(on: &str) -> Result<NcResponse, String> {
    NcResponse::from_json(
        &json!({
            "cause": "no owner", "correction": "policy written",
            "corrective_action": "yearly review assigned", "submitted_on": on
        }),
        chrono::NaiveDate::MAX,
    )
    .map_err(|e| format!("{e:?}"))
}

pub fn verification(on: &str, accepted: bool) -> Result<Verification, String> {
    Verification::from_json(
        &json!({
            "verified_by": "p-lead", "verified_on": on, "accepted": accepted
        }),
        chrono::NaiveDate::MAX,
    )
    .map_err(|e| format!("{e:?}"))
}

/// Responds to and verifies (accepted) every NC of `record`, on the given dates.
pub fn close_all(record: &mut AuditRecord, responded: &str, verified: &str) -> Result<(), String> {
    let ids: Vec<String> = record
        .findings
        .iter()
        .filter(|f| f.id.starts_with("nc-"))
        .map(|f| f.id.clone())
        .collect();
    for id in ids {
        respond(record, &id, response(responded)?).map_err(|v| format!("{v:?}"))?;
        verify(record, &id, verification(verified, true)?).map_err(|v| format!("{v:?}"))?;
    }
    Ok(())
}

/// A recorded remote-audit assessment for `audit`, with every risk low except the given
/// overrides (JSON pointer, value).
pub fn assessment(audit: &str, overrides: &[(&str, Value)]) -> Result<AssessmentRecord, String> {
    let low = |note: &str| json!({ "risk": "low", "note": note });
    let mut body = json!({
        "assessor": "Zhao Min",
        "audit": audit,
        "factors": {
            "infrastructure": low("tested"), "sector": low("software"),
            "audit_type": low("known"), "competence": low("trained"),
            "past_performance": low("good"), "scope": low("online")
        },
        "confidentiality": low("screen sharing only"),
        "client_agreement": true,
        "physical_processes": false,
        "physical_security_controls": false,
        "virtual_sites": false,
        "planned_remote_percent": 25,
        "tools": ["Microsoft Teams"]
    });
    for (pointer, value) in overrides {
        if let Some(slot) = body.pointer_mut(pointer) {
            *slot = value.clone();
        }
    }
    // Made on 2026-02-01 (the day it is recorded below), before audit_body's audit.
    let assessment = Assessment::from_json(&body, day(2026, 2, 1)).map_err(|e| format!("{e:?}"))?;
    let result = assess(&assessment, 30);
    let at: DateTime<Utc> = day(2026, 2, 1)
        .and_hms_opt(9, 0, 0)
        .map(|t| t.and_utc())
        .ok_or("time")?;
    Ok(AssessmentRecord {
        at,
        by: "operator:ops-lead".to_string(),
        assessment,
        result,
    })
}
