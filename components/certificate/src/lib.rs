//! certflow certificate (C1–C7, R1): issues a grant's certificate under a number from an
//! atomic per-year counter, runs its status lifecycle and the due-date sweep, shows the public
//! what C6 allows and exports IAF CertSearch records (C7). Thin: HTTP in,
//! `certflow_domain::certificate` for every rule, key-value out.
//!
//! Routes:
//! - `POST /internal/issue/:id`: chained by the independence component on a grant (no trigger
//!   covers `/internal/`, so only service chaining reaches it).
//! - `POST /internal/cycle-audit/:id/:audit`, `POST /internal/cycle-decision/:id/:decision`:
//!   chained by the audit component after a surveillance or special audit of a certified
//!   application, and by the independence component after a decision on one (S1, S3, X1,
//!   X2; [`cycle`]).
//! - Operators: `POST`/`GET /api/applications/:id/certificate` (issue, or read the issued
//!   one), `GET /api/certificates/:number/record`, `POST /api/certificates/:number/<change>`
//!   (`suspend`, `restore`, `withdraw`, `reduce-scope`, `revise`), the changes of the
//!   certified client (G1: `POST`/`GET /api/certificates/:number/changes`,
//!   `POST .../changes/:change/review`, `POST .../changes/:change/issue`),
//!   `POST /api/certificates/sweep` (which also applies any audit or decision a failed chain
//!   left unapplied), `GET /api/exports/certsearch`.
//! - Public: `GET /api/certificates/:number` (C6).
//!
//! Every view of a certificate (the operator's reads, the replies to an issuance or a change,
//! the public view, the export) shows its status on today ([`Certificate::shown_on`]):
//! `pending` before the effective date, `expired` after the expiry; the stored status is
//! left as it is (the sweep records the expiry).
//!
//! Keys (docs/STORAGE.md): owns `certificate:<number>` and the counters
//! `certificate-counter:<year>`; sets `certificate` of `application:<id>` and moves it to
//! `certified` with compare-and-swap; reads `settings` (jurisdiction and the certificate
//! section), which the review component owns.

use certflow_component::{
    Bucket, Method, Outcome, Reply, Request, Update, application_not_found, get_json, increment,
    invalid, is_application_id, keys_with_prefix, method_not_allowed, now, open_store,
    require_operator, set_json, store_error, update_json,
};
use certflow_domain::certificate::RecertificationNumbering;
use certflow_domain::certificate::{
    self, Certificate, CertificateConfig, Grant, IssueRequest, ReasonRequest, ReduceScopeRequest,
    ReviseRequest, SuspendRequest, certificate_number, certsearch_record,
};
use certflow_domain::cycle::{claim_renewal, continue_cycle};
use certflow_domain::decision::DecisionRecord;
use certflow_domain::violation::Violation;
use certflow_domain::{
    Application, ApplicationRecord, FieldError, Problem, Status, TransitionRefused,
};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

mod cycle;

/// Largest body accepted: a revision with every site's scope is a few KiB.
const MAX_BODY: usize = 64 * 1024;

/// How long an issuance waits for a concurrent one's certificate to be stored before it
/// stores it itself (the application's record already names the number).
const WAIT_FOR_CONCURRENT_MS: u64 = 2_000;

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    certflow_component::serve(incoming, out, MAX_BODY, route).await
}

fn route(req: &Request) -> Outcome {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (segments.as_slice(), &req.method) {
        (["internal", "issue", id], Method::Post) => issue(req, id, None),
        (
            [
                "internal",
                what @ ("cycle-audit" | "cycle-decision"),
                id,
                item,
            ],
            Method::Post,
        ) => cycle::internal(id, what, item),
        (["api", "applications", id, "certificate"], Method::Post) => {
            let by = require_operator(req)?;
            certflow_component::idempotent(req, &format!("certificate:{id}"), || {
                issue(req, id, Some(&by))
            })
        }
        (["api", "applications", id, "certificate"], Method::Get) => {
            require_operator(req)?;
            of_application(id)
        }
        (["api", "applications", _, "certificate"], _) => Err(method_not_allowed("GET, POST")),
        (["api", "certificates", "sweep"], Method::Post) => {
            let by = require_operator(req)?;
            req.no_body("The sweep", "C5")?;
            sweep(&by)
        }
        (["api", "certificates", "sweep"], _) => Err(method_not_allowed("POST")),
        (["api", "certificates", number], Method::Get) => verify(number),
        (["api", "certificates", _], _) => Err(method_not_allowed("GET")),
        (["api", "certificates", number, "record"], Method::Get) => {
            require_operator(req)?;
            let (certificate, _) = stored(&open_store()?, number)?;
            let mut view = json!(certificate.shown_on(now().date_naive()));
            // R2: kept until its expiry plus one full cycle (never deleted automatically).
            view["retain_until"] = json!(
                certflow_domain::cycle::retention::certificate_retain_until(certificate.expires_on)
            );
            Ok(Reply::json(200, &view))
        }
        (["api", "certificates", _, "record"], _) => Err(method_not_allowed("GET")),
        (["api", "certificates", number, "changes"], Method::Get) => {
            require_operator(req)?;
            cycle::list_changes(number)
        }
        (["api", "certificates", number, "changes", rest @ ..], Method::Post)
            if rest.is_empty() || matches!(rest, [_, "review" | "issue"]) =>
        {
            let by = require_operator(req)?;
            let scope = format!("certificate:{number}:changes:{}", rest.join(":"));
            certflow_component::idempotent(req, &scope, || cycle::changes(req, number, rest, &by))
        }
        (["api", "certificates", _, "changes"], _) => Err(method_not_allowed("GET, POST")),
        (["api", "certificates", _, "changes", _, "review" | "issue"], _) => {
            Err(method_not_allowed("POST"))
        }
        (["api", "certificates", number, change], Method::Post) => {
            let by = require_operator(req)?;
            let scope = format!("certificate:{number}:{change}");
            certflow_component::idempotent(req, &scope, || lifecycle(req, number, change, &by))
        }
        (["api", "certificates", _, _], _) => Err(method_not_allowed("POST")),
        (["api", "exports", "certsearch"], Method::Get) => {
            require_operator(req)?;
            export()
        }
        (["api", "exports", "certsearch"], _) => Err(method_not_allowed("GET")),
        _ => Err(Problem::new(404, "not-found", "Not found")),
    }
}

/// The jurisdiction and the certificate settings from the CB's settings document (defaults
/// when none is stored).
fn config(bucket: &Bucket) -> Result<CertificateConfig, Problem> {
    Ok(get_json(bucket, "settings")?.unwrap_or_default())
}

fn certificate_not_found() -> Problem {
    Problem::new(404, "not-found", "Not found").detail("no certificate with this number")
}

/// The stored certificate and its key; 404 for an unknown number, or one that cannot be a
/// certificate number (C1: letters, digits, `-`, `_`, `.`), before the store is asked.
fn stored(bucket: &Bucket, number: &str) -> Result<(Certificate, String), Problem> {
    let plausible = !number.is_empty()
        && number.len() <= 64
        && number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !plausible {
        return Err(certificate_not_found());
    }
    let key = format!("certificate:{number}");
    let certificate = get_json(bucket, &key)?.ok_or_else(certificate_not_found)?;
    Ok((certificate, key))
}

/// GET /api/certificates/:number, public (C6): what the certificate says and its status on
/// today, never a contact, a signatory's name or an internal note.
fn verify(number: &str) -> Outcome {
    let (certificate, _) = stored(&open_store()?, number)?;
    Ok(Reply::json(
        200,
        &json!(certificate.public_view(now().date_naive())),
    ))
}

/// GET /api/applications/:id/certificate: the certificate issued on the application's grant,
/// with its status on today (C5: `pending` before the effective date, as every view shows it).
fn of_application(id: &str) -> Outcome {
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    let bucket = open_store()?;
    let record: ApplicationRecord<Value> =
        get_json(&bucket, &format!("application:{id}"))?.ok_or_else(application_not_found)?;
    let number = record.certificate.ok_or_else(|| {
        Problem::new(404, "not-found", "Not found")
            .detail("no certificate is issued for this application")
            .current_status(record.status.name())
    })?;
    let (certificate, _) = stored(&bucket, &number)?;
    Ok(Reply::json(
        200,
        &json!(certificate.shown_on(now().date_naive())),
    ))
}

/// Issues the certificate of a granted application (C1–C4), once: a second issuance, even a
/// concurrent one, answers with the first certificate (200). The number is taken from the
/// per-year counter only after every rule passed, and the application is claimed with
/// compare-and-swap before the certificate is stored, so a number is never given twice (a
/// lost race leaves a gap, never a duplicate) and no certificate exists that its application
/// does not name. `by` is the authenticated operator (R1); `None` for the issuance chained
/// by the decision, which records who made the grant ([`decided_by`]).
fn issue(req: &Request, id: &str, by: Option<&str>) -> Outcome {
    if !is_application_id(id) {
        return Err(application_not_found());
    }
    let request = IssueRequest::from_json(&req.json_body()?)
        .map_err(|e| invalid("The certificate details", e))?;
    let bucket = open_store()?;
    let key = format!("application:{id}");
    let record: ApplicationRecord<Value> =
        get_json(&bucket, &key)?.ok_or_else(application_not_found)?;
    let by = by.map_or_else(|| decided_by(&record), str::to_string);
    let by = by.as_str();
    let config = config(&bucket)?;
    let mut request = request;
    // S5: the certificate a recertification renews, and the expiry it applied to renew.
    let mut renews = None;
    if let Some(renewing) = &record.recertification {
        if request
            .previous_expiry
            .is_some_and(|given| given != renewing.expires_on)
        {
            return Err(Problem::refused(
                "The certificate",
                vec![Violation::new(
                    "S5",
                    format!(
                        "previous_expiry must be the renewed certificate's expiry {} (or left out)",
                        renewing.expires_on
                    ),
                )],
            ));
        }
        request.previous_expiry = Some(renewing.expires_on);
        let (old, old_key) = stored(&bucket, &renewing.certificate)?;
        if config.certificate.recertification_numbering == RecertificationNumbering::Revision {
            return recertify(
                &bucket,
                &record,
                &request,
                old,
                renewing.expires_on,
                by,
                &config,
            );
        }
        renews = Some((old_key, renewing.expires_on));
    }
    if let Some(number) = &record.certificate
        && let Some(existing) = wait_for(&bucket, number)?
    {
        return Ok(issued(200, id, &existing));
    }
    if record.certificate.is_none() && !record.status.may_become(Status::Certified) {
        return Err(TransitionRefused {
            current: record.status,
            requested: Status::Certified,
        }
        .into());
    }
    let at = now();
    let mut certificate = grant_certificate(&record, &request, by, at.date_naive(), &config)?;
    if let (Some((old_key, renews_expiry)), None) = (&renews, &record.certificate) {
        // S5 (`new_number`): one renewal per cycle, claimed on the old certificate first.
        update_json::<Certificate, _>(&bucket, old_key, false, |mut c| {
            match claim_renewal(&mut c, *renews_expiry, id) {
                Ok(true) => Update::Store(c),
                Ok(false) => Update::Keep(c),
                Err(violation) => {
                    Update::Refuse(Problem::refused("The certificate", vec![violation]))
                }
            }
        })?
        .ok_or_else(certificate_not_found)?;
    }
    certificate.number = match record.certificate {
        // Named by an earlier issuance that never stored it: store it under that number.
        Some(number) => number,
        None => {
            let number = next_number(&bucket, at.date_naive().year(), &config)?;
            match claim(&bucket, &key, number, by, at)? {
                Claim::Won(number) => number,
                Claim::Lost(theirs) => match wait_for(&bucket, &theirs)? {
                    Some(certificate) => return Ok(issued(200, id, &certificate)),
                    None => theirs,
                },
            }
        }
    };
    certificate.application_id = Some(id.to_string());
    // The issuance's time, as every later change has it (`Journaled::stamp`).
    for change in &mut certificate.history {
        change.at.get_or_insert(at);
    }
    set_json(
        &bucket,
        &format!("certificate:{}", certificate.number),
        &certificate,
    )?;
    println!(
        "application {id}: certificate {} issued",
        certificate.number
    );
    Ok(issued(201, id, &certificate))
}

/// S5 (`recertification_numbering: revision`): the recertification decision continues the
/// renewed certificate `old` into a new cycle, a new revision of the same number
/// (`certflow_domain::cycle::continue_cycle`: one renewal of the cycle expiring on
/// `renews_expiry`; a suspended or withdrawn certificate is refused, C5). The certificate is
/// continued first, by compare-and-swap, then the application is named certified; a retry
/// after a failure between the two finds the certificate following the application and
/// names it certified. A refusal leaves the application `decided`. 201 when continued now,
/// 200 when it already was.
fn recertify(
    bucket: &Bucket,
    record: &ApplicationRecord<Value>,
    request: &IssueRequest,
    old: Certificate,
    renews_expiry: NaiveDate,
    by: &str,
    config: &CertificateConfig,
) -> Outcome {
    let id = record.id.as_str();
    let number = old.number.clone();
    let key = format!("application:{id}");
    let at = now();
    let today = at.date_naive();
    if old.application_id.as_deref() != Some(id) {
        if !record.status.may_become(Status::Certified) {
            return Err(TransitionRefused {
                current: record.status,
                requested: Status::Certified,
            }
            .into());
        }
        let renewed = grant_certificate(record, request, by, today, config)?;
        let mut continued_here = false;
        update_json::<Certificate, _>(bucket, &format!("certificate:{number}"), false, |mut c| {
            continued_here = false;
            if c.application_id.as_deref() == Some(id) {
                return Update::Keep(c);
            }
            match continue_cycle(&mut c, renewed.clone(), renews_expiry, id, by, today) {
                Ok(()) => {
                    for change in &mut c.history {
                        change.at.get_or_insert(at);
                    }
                    continued_here = true;
                    Update::Store(c)
                }
                Err(violation) => Update::Refuse(
                    Problem::refused("The certificate", vec![violation])
                        .current_status(c.status_on(today).name()),
                ),
            }
        })?
        .ok_or_else(certificate_not_found)?;
        if continued_here {
            println!("application {id}: certificate {number} continued into a new cycle");
        }
    }
    let mut created = false;
    if record.certificate.is_none() {
        match claim(bucket, &key, number.clone(), by, at)? {
            Claim::Won(_) => created = true,
            Claim::Lost(theirs) if theirs == number => {}
            Claim::Lost(theirs) => {
                return Err(Problem::new(409, "conflict", "Issued concurrently")
                    .detail(format!("the application names certificate {theirs}")));
            }
        }
    } else if record.certificate.as_deref() != Some(number.as_str()) {
        return Err(
            Problem::new(409, "conflict", "Another certificate").detail(format!(
                "the application names certificate {}, not {number}",
                record.certificate.as_deref().unwrap_or_default()
            )),
        );
    }
    let (certificate, _) = stored(bucket, &number)?;
    Ok(issued(if created { 201 } else { 200 }, id, &certificate))
}

/// Who an issuance chained by the decision records (R1): the principal that recorded the
/// decision, as its history entry says (an outside client cannot reach `/internal/`, and the
/// stored history cannot be forged by the chained call); the component when the history has
/// no decision entry.
fn decided_by(record: &ApplicationRecord<Value>) -> String {
    record
        .history
        .iter()
        .rev()
        .find(|change| change.status == Status::Decided)
        .map_or_else(
            || "certificate (chained from the decision)".to_string(),
            |change| change.by.clone(),
        )
}

/// Who names the application's certificate.
enum Claim {
    /// This issuance: the application is `certified` under this number.
    Won(String),
    /// A concurrent issuance named this number first.
    Lost(String),
}

/// Names `number` as the application's certificate and moves it to `certified`, by
/// compare-and-swap, unless another issuance named one first.
fn claim(
    bucket: &Bucket,
    key: &str,
    number: String,
    by: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Claim, Problem> {
    let mut theirs = None;
    let note = format!("certificate {number} issued");
    let claimed = update_json::<ApplicationRecord<Value>, _>(bucket, key, true, |mut r| {
        if let Some(existing) = &r.certificate {
            theirs = Some(existing.clone());
            return Update::Refuse(Problem::new(409, "conflict", "Issued concurrently"));
        }
        match r.transition(
            Status::Certified,
            at,
            by,
            &["C1", "C2", "C3", "C4"],
            &note,
            // The certificate's own history publishes `certificate.issued`.
            None,
        ) {
            Ok(()) => {
                r.certificate = Some(number.clone());
                Update::Store(r)
            }
            Err(refused) => Update::Refuse(refused.into()),
        }
    });
    match (claimed, theirs) {
        (_, Some(theirs)) => Ok(Claim::Lost(theirs)),
        (Ok(Some(_)), None) => Ok(Claim::Won(number)),
        (Ok(None), None) => Err(application_not_found()),
        (Err(problem), None) => Err(problem),
    }
}

fn issued(status: u16, id: &str, certificate: &Certificate) -> Reply {
    Reply::json(
        status,
        &json!({ "id": id, "status": Status::Certified,
                 "certificate": certificate.shown_on(now().date_naive()) }),
    )
    .header(
        "location",
        format!("/api/certificates/{}", certificate.number),
    )
}

/// C1–C4 against the stored application, review and decision, issued on `today` (the number
/// is set later).
fn grant_certificate(
    record: &ApplicationRecord<Value>,
    request: &IssueRequest,
    by: &str,
    today: NaiveDate,
    config: &CertificateConfig,
) -> Result<Certificate, Problem> {
    let application: Application =
        serde_json::from_value(record.application.clone()).map_err(store_error)?;
    let decision: Option<DecisionRecord> = record
        .decision
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(store_error)?;
    let (Some(review), Some(decision)) = (record.review.as_ref(), decision.as_ref()) else {
        return Err(Problem::refused(
            "The certificate",
            vec![Violation::new("C1", "no review and decision are recorded")],
        ));
    };
    let grant = Grant {
        application: &application,
        review,
        decision,
    };
    certificate::issue(
        grant,
        request,
        String::new(),
        by,
        today,
        config.jurisdiction,
        &config.certificate,
    )
    .map_err(|violations| Problem::refused("The certificate", violations))
}

/// C1: the next number of `year` from the atomic per-year counter.
fn next_number(bucket: &Bucket, year: i32, config: &CertificateConfig) -> Result<String, Problem> {
    let sequence = increment(bucket, &format!("certificate-counter:{year}"), 1)?;
    let sequence = u64::try_from(sequence).map_err(store_error)?;
    Ok(certificate_number(
        &config.certificate.number_format(),
        year,
        sequence,
    ))
}

/// The certificate stored under `number`, waiting a little for an issuance in progress.
fn wait_for(bucket: &Bucket, number: &str) -> Result<Option<Certificate>, Problem> {
    let key = format!("certificate:{number}");
    let mut waited = 0;
    loop {
        if let Some(certificate) = get_json(bucket, &key)? {
            return Ok(Some(certificate));
        }
        if waited >= WAIT_FOR_CONCURRENT_MS {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        waited += 10;
    }
}

/// A lifecycle change as read from its body.
enum Change {
    Suspend(SuspendRequest),
    Restore(ReasonRequest),
    Withdraw(ReasonRequest),
    ReduceScope(ReduceScopeRequest),
    Revise(ReviseRequest),
}

impl Change {
    /// The changes, as named in the path.
    /// (A surveillance is recorded as an audit, S1: the audit component applies it.)
    const NAMES: [&'static str; 5] = ["suspend", "restore", "withdraw", "reduce-scope", "revise"];

    /// Reads the body of change `name`.
    fn read(name: &str, body: &Value) -> Result<Change, Problem> {
        let read: Result<Change, Vec<FieldError>> = match name {
            "suspend" => SuspendRequest::from_json(body).map(Change::Suspend),
            "restore" => ReasonRequest::from_json(body).map(Change::Restore),
            "withdraw" => ReasonRequest::from_json(body).map(Change::Withdraw),
            "reduce-scope" => ReduceScopeRequest::from_json(body).map(Change::ReduceScope),
            "revise" => ReviseRequest::from_json(body).map(Change::Revise),
            _ => return Err(Problem::new(404, "not-found", "Not found")),
        };
        read.map_err(|e| invalid("The change", e))
    }

    /// C5, R1: applies the change, or the rule it breaks.
    fn apply(
        &self,
        c: &mut Certificate,
        by: &str,
        today: NaiveDate,
        config: &CertificateConfig,
    ) -> Result<(), Violation> {
        match self {
            Change::Suspend(r) => certificate::suspend(c, r, by, today, &config.certificate),
            Change::Restore(r) => certificate::restore(c, r, by, today),
            Change::Withdraw(r) => certificate::withdraw(c, r, by, today),
            Change::ReduceScope(r) => certificate::reduce_scope(c, r, by, today),
            Change::Revise(r) => certificate::revise(c, r, by, today),
        }
    }
}

/// POST /api/certificates/:number/<change>: the change by compare-and-swap, appended to the
/// history (R1); a transition C5 does not allow is a 409 with the current status.
fn lifecycle(req: &Request, number: &str, name: &str, by: &str) -> Outcome {
    if !Change::NAMES.contains(&name) {
        return Err(Problem::new(404, "not-found", "Not found")
            .detail(format!("certificate changes: {}", Change::NAMES.join(", "))));
    }
    let bucket = open_store()?;
    let (_, key) = stored(&bucket, number)?;
    let today = now().date_naive();
    let change = Change::read(name, &req.json_body()?)?;
    let config = config(&bucket)?;
    let changed = update_json::<Certificate, _>(&bucket, &key, false, |mut c| {
        match change.apply(&mut c, by, today, &config) {
            Ok(()) => Update::Store(c),
            Err(violation) => Update::Refuse(
                Problem::refused("The change", vec![violation])
                    .current_status(c.status_on(today).name()),
            ),
        }
    })?
    .ok_or_else(certificate_not_found)?;
    println!("certificate {number}: {name}");
    Ok(Reply::json(200, &json!(changed.shown_on(today))))
}

/// POST /api/certificates/sweep (C2, C3, C5, S3): brings every certificate up to date on
/// today and reports what changed, each change recorded as made `by` the operator who ran it
/// (R1); first applies to each certificate the surveillance and special audits and the
/// decisions on them that a failed chained call left unapplied (`cycle`: [`cycle::sync`], as
/// recorded by whoever recorded them).
/// Idempotent: a second sweep the same day changes nothing. A certificate that cannot be read
/// is reported, and the others are still swept.
fn sweep(by: &str) -> Outcome {
    let bucket = open_store()?;
    let config = config(&bucket)?;
    let today = now().date_naive();
    let keys = keys_with_prefix(&bucket, "certificate:")?;
    // S3 first: an audit or decision whose chained call failed is applied now (a surveillance
    // held but not yet applied must not be marked overdue).
    let mut readable: Vec<Certificate> = Vec::new();
    for key in &keys {
        if let Some(Ok(c)) = get_json::<Value>(&bucket, key)?.map(serde_json::from_value) {
            readable.push(c);
        }
    }
    let cycle = cycle::sync_all(&bucket, &readable, today);
    let mut changed = Vec::new();
    let mut unreadable = Vec::new();
    for key in &keys {
        let Some(stored) = get_json::<Value>(&bucket, key)? else {
            continue;
        };
        let Ok(mut current) = serde_json::from_value::<Certificate>(stored) else {
            unreadable.push(key.clone());
            continue;
        };
        let sweep = |c: &mut Certificate| {
            certificate::sweep(c, today, config.jurisdiction, &config.certificate, by)
        };
        if sweep(&mut current).is_empty() {
            continue;
        }
        let mut made = Vec::new();
        update_json::<Certificate, _>(&bucket, key, true, |mut c| {
            made = sweep(&mut c);
            if made.is_empty() {
                Update::Keep(c)
            } else {
                Update::Store(c)
            }
        })?;
        if !made.is_empty() {
            changed.push(json!({ "number": current.number, "changes": made }));
        }
    }
    println!(
        "sweep: {} of {} certificate(s) changed",
        changed.len(),
        keys.len()
    );
    Ok(Reply::json(
        200,
        &json!({ "swept_on": today, "certificates": keys.len(), "changed": changed,
                 "cycle": cycle, "unreadable": unreadable }),
    ))
}

/// GET /api/exports/certsearch (C7): every certificate as an IAF CertSearch upload-API record
/// (see [`certificate::CertSearchRecord`]), with its status on today and the accreditation
/// body of the settings. A certificate that cannot be read is reported, and the others
/// exported.
fn export() -> Outcome {
    let bucket = open_store()?;
    let config = config(&bucket)?;
    let today = now().date_naive();
    let mut records = Vec::new();
    let mut unreadable = Vec::new();
    for key in keys_with_prefix(&bucket, "certificate:")? {
        let Some(stored) = get_json::<Value>(&bucket, &key)? else {
            continue;
        };
        match serde_json::from_value::<Certificate>(stored) {
            Ok(c) => records.push(certsearch_record(&c, today, &config.certificate)),
            Err(_) => unreadable.push(key),
        }
    }
    Ok(Reply::json(
        200,
        &json!({ "generated_on": today, "records": records, "unreadable": unreadable }),
    ))
}
