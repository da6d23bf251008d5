//! certflow complaints and appeals (P1–P6, docs/CYCLE.md) and records retention (R2). Thin:
//! HTTP in, `certflow_domain::cycle::complaints` and `certflow_domain::cycle::retention`,
//! key-value out.
//!
//! Routes:
//! - public: `POST /api/complaints` (P1: anyone, no account; 201 with the reference),
//!   `GET /api/complaints/:reference` and `GET /api/appeals/:reference` without credentials
//!   (P5: state and dates only);
//! - operators: `GET /api/complaints`, `GET /api/appeals` and the same `GET .../:reference`
//!   with an operator token (everything, with `retain_until`, R2); `POST
//!   /api/complaints/:reference/<step>` and `POST /api/appeals/:reference/<step>` with
//!   step `acknowledge`, `investigate`, `decide`, `close` or `communications` (P2, P3, P6);
//!   `GET /api/records/retention?past=YYYY-MM-DD` (R2);
//! - operators or the applicant (its access token): `POST /api/applications/:id/appeals` (P4).
//!
//! Keys (docs/STORAGE.md): owns `complaint:<reference>` and `appeal:<reference>` (created
//! once with a fresh random reference, every step a compare-and-swap through
//! `update_json`, its history append-only, R1); reads `application:<id>`,
//! `certificate:<number>` and `person:<id>`.

use certflow_component::{
    Bucket, Method, Outcome, Reply, Request, Update, application_not_found, constant_time_eq,
    get_json, invalid, is_application_id, is_operator, keys_with_prefix, method_not_allowed, now,
    open_store, random_bytes, require_operator, set_json, sha256_hex, store_error, update_json,
};
use certflow_domain::audit::AuditRecord;
use certflow_domain::certificate::Certificate;
use certflow_domain::cycle::complaints::{
    self, AcknowledgeRequest, AppealRequest, Case, CaseDecisionRequest, CaseKind, CaseRefusal,
    CloseRequest, CommunicationRequest, ComplaintRequest, InvestigationRequest, Involvement,
    Subject,
};
use certflow_domain::cycle::retention::{self, RecordKind, Retention};
use certflow_domain::decision::DecisionSettings;
use certflow_domain::intake::application::LegalId;
use certflow_domain::people::{Person, same_legal_id};
use certflow_domain::violation::Violation;
use certflow_domain::{ApplicationRecord, ErrorCode, FieldError, Problem};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// Largest body accepted: a description of 8000 characters, each up to 4 bytes, and the rest.
const MAX_BODY: usize = 64 * 1024;

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    certflow_component::serve(incoming, out, MAX_BODY, route).await
}

fn route(req: &Request) -> Outcome {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (segments.as_slice(), &req.method) {
        (["api", "complaints"], Method::Post) => {
            certflow_component::idempotent(req, "complaints", || lodge_complaint(req))
        }
        (["api", "complaints"], Method::Get) => {
            require_operator(req)?;
            list(CaseKind::Complaint)
        }
        (["api", "complaints"], _) => Err(method_not_allowed("GET, POST")),
        (["api", "appeals"], Method::Get) => {
            require_operator(req)?;
            list(CaseKind::Appeal)
        }
        (["api", "appeals"], _) => Err(method_not_allowed("GET")),
        (["api", "complaints", reference], Method::Get) => {
            read(req, CaseKind::Complaint, reference)
        }
        (["api", "appeals", reference], Method::Get) => read(req, CaseKind::Appeal, reference),
        (["api", "complaints" | "appeals", _], _) => Err(method_not_allowed("GET")),
        (["api", kind @ ("complaints" | "appeals"), reference, step], Method::Post) => {
            let by = require_operator(req)?;
            let kind = if *kind == "complaints" {
                CaseKind::Complaint
            } else {
                CaseKind::Appeal
            };
            let reference = reference_of(kind, reference)?;
            if !STEPS.contains(step) {
                return Err(not_found());
            }
            certflow_component::idempotent(req, &format!("{}:{step}", kind.key(&reference)), || {
                take_step(req, kind, &reference, step, &by)
            })
        }
        (["api", "complaints" | "appeals", _, step], _) if STEPS.contains(step) => {
            Err(method_not_allowed("POST"))
        }
        (["api", "applications", id, "appeals"], Method::Post) => {
            let by = operator_or_applicant(req, id)?;
            certflow_component::idempotent(req, &format!("appeals:{id}"), || {
                lodge_appeal(req, id, &by)
            })
        }
        (["api", "applications", _, "appeals"], _) => Err(method_not_allowed("POST")),
        (["api", "records", "retention"], Method::Get) => {
            require_operator(req)?;
            retention_list(req)
        }
        (["api", "records", "retention"], _) => Err(method_not_allowed("GET")),
        _ => Err(not_found()),
    }
}

/// P2: the steps, by their path segment.
const STEPS: [&str; 5] = [
    "acknowledge",
    "investigate",
    "decide",
    "close",
    "communications",
];

fn not_found() -> Problem {
    Problem::new(404, "not-found", "Not found")
}

fn case_not_found(kind: CaseKind) -> Problem {
    not_found().detail(format!("no {} with this reference", kind.name()))
}

/// The stored form of a reference (`CP-`/`AP-` and 32 hex digits), or 404.
fn reference_of(kind: CaseKind, reference: &str) -> Result<String, Problem> {
    complaints::normalize_reference(kind, reference).ok_or_else(|| case_not_found(kind))
}

/// A fresh reference (128 random bits).
fn new_reference(kind: CaseKind) -> Result<String, Problem> {
    Ok(complaints::reference_from(kind, &random_bytes::<16>()?))
}

/// R2: until when `case` is kept (`None` while open), with the certificate it concerns.
fn case_retention(bucket: &Bucket, case: &Case) -> Result<Option<NaiveDate>, Problem> {
    let number = match &case.subject {
        Subject::CertifiedClient { certificate } => Some(certificate.clone()),
        Subject::Decision { application, .. } => {
            get_json::<ApplicationRecord<Value>>(bucket, &format!("application:{application}"))?
                .and_then(|a| a.certificate)
        }
        Subject::CertificationBody => None,
    };
    let expires = match number {
        Some(n) => {
            get_json::<Certificate>(bucket, &format!("certificate:{n}"))?.map(|c| c.expires_on)
        }
        None => None,
    };
    Ok(retention::case_retain_until(
        case.reached_on(complaints::CaseState::Closed),
        expires,
    ))
}

/// The operators' view: everything, with `retain_until` (R2).
fn full_view(bucket: &Bucket, case: &Case) -> Result<Value, Problem> {
    let mut view = serde_json::to_value(case).map_err(store_error)?;
    view["retain_until"] = json!(case_retention(bucket, case)?);
    Ok(view)
}

fn parse_case(value: Value) -> Result<Case, Problem> {
    serde_json::from_value(value).map_err(store_error)
}

/// POST /api/complaints (P1): anyone, no account. 201 with the reference and the public
/// view; a complaint about a certified client names a certificate that exists.
fn lodge_complaint(req: &Request) -> Outcome {
    let request =
        ComplaintRequest::from_json(&req.json_body()?).map_err(|e| invalid("The complaint", e))?;
    let bucket = open_store()?;
    if let Subject::CertifiedClient { certificate } = &request.subject {
        let found: Option<Value> =
            get_json(&bucket, &format!("certificate:{}", certificate.trim()))?;
        if found.is_none() {
            return Err(invalid(
                "The complaint",
                vec![FieldError::new(
                    "/subject/certificate",
                    ErrorCode::InvalidReference,
                    "no certificate with this number: check it on /verify",
                    "P1",
                )],
            ));
        }
    }
    let reference = new_reference(CaseKind::Complaint)?;
    let case = complaints::lodge_complaint(request, reference.clone(), "public", now());
    // 128 random bits: no other complaint has this key, so a plain write creates it.
    set_json(&bucket, &CaseKind::Complaint.key(&reference), &case)?;
    println!("complaint {reference} received");
    Ok(Reply::json(
        201,
        &json!({
            "reference": reference,
            "complaint": case.public_view(),
            "note": "keep this reference: GET /api/complaints/<reference> shows where the complaint stands",
        }),
    ))
}

/// GET /api/complaints/:reference, /api/appeals/:reference: without credentials the public
/// view (P5: state and dates only); with an operator token everything; any other token 401.
fn read(req: &Request, kind: CaseKind, reference: &str) -> Outcome {
    let operator = match req.bearer_token() {
        None => false,
        Some(_) => {
            require_operator(req)?;
            true
        }
    };
    let reference = reference_of(kind, reference)?;
    let bucket = open_store()?;
    let stored: Value =
        get_json(&bucket, &kind.key(&reference))?.ok_or_else(|| case_not_found(kind))?;
    let case = parse_case(stored)?;
    if operator {
        Ok(Reply::json(200, &full_view(&bucket, &case)?))
    } else {
        Ok(Reply::json(200, &json!(case.public_view())))
    }
}

/// GET /api/complaints, /api/appeals (operators): every case, oldest first.
fn list(kind: CaseKind) -> Outcome {
    let bucket = open_store()?;
    let mut cases = Vec::new();
    for key in keys_with_prefix(&bucket, &format!("{}:", kind.name()))? {
        if let Some(stored) = get_json::<Value>(&bucket, &key)?
            && let Ok(case) = serde_json::from_value::<Case>(stored)
        {
            cases.push(case);
        }
    }
    cases.sort_by(|a, b| {
        (a.history.first().map(|h| h.at), &a.reference)
            .cmp(&(b.history.first().map(|h| h.at), &b.reference))
    });
    let views: Result<Vec<Value>, Problem> = cases.iter().map(|c| full_view(&bucket, c)).collect();
    let plural = format!("{}s", kind.name());
    Ok(Reply::json(200, &json!({ plural: views? })))
}

/// Who lodges an appeal: an operator (`operator:<name>`), or the applicant with its access
/// token (`applicant`). 401 without credentials; 404 for a token that opens nothing.
fn operator_or_applicant(req: &Request, id: &str) -> Result<String, Problem> {
    let token = match req.bearer_token() {
        Some(token) if !token.is_empty() => token,
        _ => {
            return Err(Problem::new(401, "unauthorized", "Credentials required")
                .detail("send Authorization: Bearer <operator token or access token>"));
        }
    };
    if is_operator(token) {
        return require_operator(req);
    }
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    let record: Option<Value> = get_json(&open_store()?, &format!("application:{id}"))?;
    let stored = record
        .as_ref()
        .and_then(|r| r["access_token_sha256"].as_str())
        .unwrap_or_default();
    if !stored.is_empty() && constant_time_eq(&sha256_hex(token.as_bytes()), stored) {
        Ok("applicant".to_string())
    } else {
        // Applicants cannot tell a wrong token from a missing application (R3).
        Err(application_not_found())
    }
}

/// The maker of decision `which` (`certification` or a cycle decision's id) on `record`.
fn decision_maker_of(record: &ApplicationRecord<Value>, which: &str) -> Option<String> {
    let decision = if which == "certification" {
        record.decision.as_ref()
    } else {
        record
            .cycle_decisions
            .iter()
            .find(|d| d["id"].as_str() == Some(which))
    }?;
    decision["decision_maker"]["id"]
        .as_str()
        .map(str::to_string)
}

/// POST /api/applications/:id/appeals (P4): the client appeals a decision on its
/// application; 422 citing P4 when the application has no such decision.
fn lodge_appeal(req: &Request, id: &str, by: &str) -> Outcome {
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    let request =
        AppealRequest::from_json(&req.json_body()?).map_err(|e| invalid("The appeal", e))?;
    let bucket = open_store()?;
    let record: ApplicationRecord<Value> =
        get_json(&bucket, &format!("application:{id}"))?.ok_or_else(application_not_found)?;
    let which = request.decision.trim();
    if decision_maker_of(&record, which).is_none() {
        return Err(Problem::unprocessable(
            "The appeal",
            vec![Violation::new(
                "P4",
                format!(
                    "application {id} has no decision {which}: appeal `certification` (the grant or refusal) or a cycle decision's id"
                ),
            )],
        ));
    }
    let reference = new_reference(CaseKind::Appeal)?;
    let case = complaints::lodge_appeal(request, id, reference.clone(), by, now());
    set_json(&bucket, &CaseKind::Appeal.key(&reference), &case)?;
    println!("appeal {reference} received on application {id}");
    Ok(Reply::json(
        201,
        &json!({ "reference": reference, "appeal": full_view(&bucket, &case)? }),
    ))
}

/// P3: what the people named must not be involved in, read from the store: the client's
/// applications (every application with the same legal id), their audits and the makers of
/// the decisions concerned.
struct Context {
    client: Option<LegalId>,
    audits: Vec<AuditRecord>,
    decision_makers: Vec<(String, String)>,
}

impl Context {
    fn involvement(&self) -> Involvement<'_> {
        Involvement {
            client: self.client.as_ref(),
            audits: &self.audits,
            decision_makers: &self.decision_makers,
        }
    }
}

/// Every application of the client with legal id `client`.
fn client_applications(
    bucket: &Bucket,
    client: &LegalId,
) -> Result<Vec<ApplicationRecord<Value>>, Problem> {
    let mut found = Vec::new();
    for key in keys_with_prefix(bucket, "application:")? {
        let Some(id) = key.strip_prefix("application:") else {
            continue;
        };
        if !is_application_id(id) {
            continue;
        }
        if let Some(record) = get_json::<ApplicationRecord<Value>>(bucket, &key)?
            && record.legal_id().is_some_and(|l| same_legal_id(&l, client))
        {
            found.push(record);
        }
    }
    Ok(found)
}

fn audits_of(records: &[ApplicationRecord<Value>]) -> Result<Vec<AuditRecord>, Problem> {
    let mut audits = Vec::new();
    for record in records {
        for a in &record.audits {
            audits.push(serde_json::from_value(a.clone()).map_err(store_error)?);
        }
    }
    Ok(audits)
}

fn context(bucket: &Bucket, case: &Case) -> Result<Context, Problem> {
    let (application, appealed) = match &case.subject {
        Subject::CertificationBody => {
            return Ok(Context {
                client: None,
                audits: Vec::new(),
                decision_makers: Vec::new(),
            });
        }
        Subject::CertifiedClient { certificate } => {
            let application =
                get_json::<Certificate>(bucket, &format!("certificate:{}", certificate.trim()))?
                    .and_then(|c| c.application_id);
            (application, None)
        }
        Subject::Decision {
            application,
            decision,
        } => (Some(application.clone()), Some(decision.clone())),
    };
    let record = match application {
        Some(id) => get_json::<ApplicationRecord<Value>>(bucket, &format!("application:{id}"))?,
        None => None,
    };
    let Some(record) = record else {
        return Err(store_error(format!(
            "{} {}: the application it concerns is not stored",
            case.kind.name(),
            case.reference
        )));
    };
    let client = record.legal_id();
    let applications = match &client {
        Some(client) => client_applications(bucket, client)?,
        None => vec![record.clone()],
    };
    let audits = audits_of(&applications)?;
    let mut decision_makers = Vec::new();
    match appealed {
        // P4: the maker of the appealed decision.
        Some(which) => {
            if let Some(maker) = decision_maker_of(&record, &which) {
                decision_makers.push((
                    maker,
                    format!("decision {which} of application {}", record.id),
                ));
            }
        }
        // A complaint about a certified client: every certification decision on its
        // applications.
        None => {
            for a in &applications {
                if let Some(maker) = decision_maker_of(a, "certification") {
                    decision_makers.push((
                        maker,
                        format!("certification decision of application {}", a.id),
                    ));
                }
                for d in &a.cycle_decisions {
                    if let (Some(maker), Some(id)) =
                        (d["decision_maker"]["id"].as_str(), d["id"].as_str())
                    {
                        decision_makers.push((
                            maker.to_string(),
                            format!("decision {id} of application {}", a.id),
                        ));
                    }
                }
            }
        }
    }
    Ok(Context {
        client,
        audits,
        decision_makers,
    })
}

/// A person of the register (absent or unreadable: `None`, which P3 refuses).
fn person(bucket: &Bucket, id: &str) -> Result<Option<Person>, Problem> {
    let id = id.trim();
    let valid = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
    if !valid {
        return Ok(None);
    }
    let stored: Option<Value> = get_json(bucket, &format!("person:{id}"))?;
    Ok(stored.and_then(|v| Person::from_json(&v).ok()))
}

fn refusal(kind: CaseKind, what: &str, refused: CaseRefusal) -> Problem {
    match refused {
        CaseRefusal::Transition { current, requested } => Problem::new(
            409,
            "invalid-transition",
            "Not possible in the current state",
        )
        .detail(format!(
            "the {} is {}: it cannot become {} (received → acknowledged → investigated → decided → closed)",
            kind.name(),
            current.name(),
            requested.name()
        ))
        .current_status(current.name()),
        CaseRefusal::Rules(violations) => Problem::unprocessable(what, violations),
        CaseRefusal::Fields(errors) => invalid(what, errors),
    }
}

/// The step's request, read before the store is asked.
#[derive(Clone)]
enum Step {
    Acknowledge(AcknowledgeRequest),
    Investigate(InvestigationRequest),
    Decide(CaseDecisionRequest),
    Close(CloseRequest),
    Communicate(CommunicationRequest),
}

/// POST /api/<complaints|appeals>/:reference/<step> (P2, P3, P6): one step, recorded by
/// `by`, the authenticated operator (R1), with compare-and-swap; 409 naming the current
/// state for a step out of order, 422 `rules-not-met` for a person involved (P3).
fn take_step(req: &Request, kind: CaseKind, reference: &str, step: &str, by: &str) -> Outcome {
    let body = req.json_body_or_empty()?;
    let (what, request) = match step {
        "acknowledge" => (
            "The acknowledgement",
            AcknowledgeRequest::from_json(&body).map(Step::Acknowledge),
        ),
        "investigate" => (
            "The investigation",
            InvestigationRequest::from_json(&body).map(Step::Investigate),
        ),
        "decide" => (
            "The decision",
            CaseDecisionRequest::from_json(&body).map(Step::Decide),
        ),
        "close" => (
            "The closing",
            CloseRequest::from_json(&body).map(Step::Close),
        ),
        _ => (
            "The communication",
            CommunicationRequest::from_json(&body).map(Step::Communicate),
        ),
    };
    let request = request.map_err(|e| invalid(what, e))?;
    let bucket = open_store()?;
    let key = kind.key(reference);
    let stored: Value = get_json(&bucket, &key)?.ok_or_else(|| case_not_found(kind))?;
    let current = parse_case(stored)?;
    // P3: the register entry and the involvement, read once before the swap.
    let named = match &request {
        Step::Investigate(r) => Some(r.investigator.clone()),
        Step::Decide(r) => Some(r.decision_maker.clone()),
        _ => None,
    };
    let (named_person, ctx) = match &named {
        Some(id) => (person(&bucket, id)?, Some(context(&bucket, &current)?)),
        None => (None, None),
    };
    let settings = DecisionSettings::default();
    let at = now();
    // A communication is appended whatever the state: a concurrent writer only means
    // trying again on the newer record; the steps depend on the state, so they are 409.
    let retry = matches!(request, Step::Communicate(_));
    let updated = update_json::<Value, _>(&bucket, &key, retry, |stored| {
        let mut case = match parse_case(stored) {
            Ok(case) => case,
            Err(problem) => return Update::Refuse(problem),
        };
        let empty = Context {
            client: None,
            audits: Vec::new(),
            decision_makers: Vec::new(),
        };
        let involvement = ctx.as_ref().unwrap_or(&empty).involvement();
        let done = match request.clone() {
            Step::Acknowledge(r) => complaints::acknowledge(&mut case, r, by, at),
            Step::Investigate(r) => complaints::investigate(
                &mut case,
                r,
                named_person.as_ref(),
                &involvement,
                by,
                at,
                &settings,
            ),
            Step::Decide(r) => complaints::decide(
                &mut case,
                r,
                named_person.as_ref(),
                &involvement,
                by,
                at,
                &settings,
            ),
            Step::Close(r) => complaints::close(&mut case, r, by, at),
            Step::Communicate(r) => complaints::communicate(&mut case, r, by, at),
        };
        if let Err(refused) = done {
            return Update::Refuse(refusal(kind, what, refused));
        }
        match serde_json::to_value(&case) {
            Ok(value) => Update::Store(value),
            Err(e) => Update::Refuse(store_error(e)),
        }
    })?
    .ok_or_else(|| case_not_found(kind))?;
    let case = parse_case(updated)?;
    println!("{} {reference}: {step} by {by}", kind.name());
    let status = if step == "communications" { 201 } else { 200 };
    Ok(Reply::json(status, &full_view(&bucket, &case)?))
}

/// `past=YYYY-MM-DD` of the query (today without it); 400 otherwise.
fn past_of(query: &str, today: NaiveDate) -> Result<NaiveDate, Problem> {
    let bad = |detail: String| Problem::new(400, "bad-request", "Bad request").detail(detail);
    let mut past = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "past" {
            return Err(bad(format!(
                "unknown query parameter {name:?}: only past is read"
            )));
        }
        if past.is_some() {
            return Err(bad("past is given twice".to_string()));
        }
        // The contract's form exactly: four-digit year, two-digit month and day.
        let shaped = value.len() == 10
            && value.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        let day = shaped
            .then(|| value.parse::<NaiveDate>().ok())
            .flatten()
            .filter(|d| d.year() >= 1)
            .ok_or_else(|| bad(format!("past must be a date YYYY-MM-DD, got {value:?}")))?;
        past = Some(day);
    }
    Ok(past.unwrap_or(today))
}

/// GET /api/records/retention?past=YYYY-MM-DD (R2, operators): every application,
/// certificate, complaint and appeal whose `retain_until` is before `past` (default today).
/// Nothing is deleted.
fn retention_list(req: &Request) -> Outcome {
    let past = past_of(&req.query, now().date_naive())?;
    let bucket = open_store()?;
    let mut dated: Vec<Retention> = Vec::new();
    let mut open = 0usize;
    let mut expiry_of = std::collections::BTreeMap::new();
    for key in keys_with_prefix(&bucket, "certificate:")? {
        let Some(number) = key.strip_prefix("certificate:") else {
            continue;
        };
        if number.contains(':') {
            continue;
        }
        if let Some(c) = get_json::<Value>(&bucket, &key)?
            .and_then(|v| serde_json::from_value::<Certificate>(v).ok())
        {
            expiry_of.insert(c.number.clone(), c.expires_on);
            dated.push(Retention {
                kind: RecordKind::Certificate,
                id: c.number.clone(),
                retain_until: retention::certificate_retain_until(c.expires_on),
                basis: format!(
                    "expires on {} + {} years",
                    c.expires_on,
                    retention::CYCLE_YEARS
                ),
            });
        }
    }
    for key in keys_with_prefix(&bucket, "application:")? {
        let Some(id) = key.strip_prefix("application:") else {
            continue;
        };
        if !is_application_id(id) {
            continue;
        }
        let Some(record) = get_json::<ApplicationRecord<Value>>(&bucket, &key)? else {
            continue;
        };
        let expires = record
            .certificate
            .as_ref()
            .and_then(|n| expiry_of.get(n).copied());
        let closed = record.closed_on();
        let Some(until) = retention::application_retain_until(expires, closed) else {
            open += 1;
            continue;
        };
        let basis = match (&record.certificate, expires, closed) {
            (Some(n), Some(e), _) => format!(
                "certificate {n} expires on {e} + {} years",
                retention::CYCLE_YEARS
            ),
            (_, _, Some(c)) => format!(
                "closed ({}) on {c} + {} years",
                record.status.name(),
                retention::CYCLE_YEARS
            ),
            _ => String::new(),
        };
        dated.push(Retention {
            kind: RecordKind::Application,
            id: id.to_string(),
            retain_until: until,
            basis,
        });
    }
    for kind in [CaseKind::Complaint, CaseKind::Appeal] {
        for key in keys_with_prefix(&bucket, &format!("{}:", kind.name()))? {
            let Some(case) = get_json::<Value>(&bucket, &key)?
                .and_then(|v| serde_json::from_value::<Case>(v).ok())
            else {
                continue;
            };
            let Some(until) = case_retention(&bucket, &case)? else {
                open += 1;
                continue;
            };
            dated.push(Retention {
                kind: if kind == CaseKind::Complaint {
                    RecordKind::Complaint
                } else {
                    RecordKind::Appeal
                },
                id: case.reference.clone(),
                retain_until: until,
                basis: format!(
                    "closed on {} + {} years, or its certificate's date if later",
                    case.reached_on(complaints::CaseState::Closed)
                        .map_or_else(String::new, |d| d.to_string()),
                    retention::CYCLE_YEARS
                ),
            });
        }
    }
    let total = dated.len();
    let mut records: Vec<Retention> = dated
        .into_iter()
        .filter(|r| retention::is_past(r.retain_until, past))
        .collect();
    records.sort_by(|a, b| (a.retain_until, a.kind, &a.id).cmp(&(b.retain_until, b.kind, &b.id)));
    Ok(Reply::json(
        200,
        &json!({
            "past": past,
            "rule": "R2",
            "records": records,
            "dated": total,
            "not_yet_dated": open,
            "note": "records kept through retain_until; listed once past it. Nothing is deleted automatically.",
        }),
    ))
}
