//! P1–P6 (docs/CYCLE.md; ISO/IEC 17021-1:2015 9.7 appeals, 9.8 complaints; seed §5.7):
//! complaints and appeals, one record shape ([`Case`]) and one lifecycle
//! (`received` → `acknowledged` → `investigated` → `decided` → `closed`), each step appended
//! to the case's history with the authenticated operator who took it (R1).
//!
//! - P1: anyone lodges a complaint ([`ComplaintRequest::from_json`], [`lodge_complaint`]),
//!   about a certified client (by its certificate number) or about the CB.
//! - P2: [`acknowledge`], [`investigate`], [`decide`], [`close`] (closing records how the
//!   outcome was communicated) and [`communicate`]; a step out of order is a
//!   [`CaseRefusal::Transition`] naming the current state.
//! - P3: the investigator and the decision maker are people of the register not involved:
//!   [`check_not_involved`] (D1 by [`check_no_part_in_audits`], D4 by
//!   [`Person::consulted_for_within`], P3: not the maker of a decision concerned).
//! - P4: a client's appeal of a decision on its application ([`AppealRequest::from_json`],
//!   [`lodge_appeal`]).
//! - P5: [`Case::public_view`] holds state and dates only.
//! - P6: an upheld complaint about a certified client may ask for a short-notice audit
//!   (`short_notice_audit`), which the audit step checks with
//!   [`check_short_notice_complaint`] (X2).
//!
//! Choices where the standard is silent:
//! - P3 applies D1 (no part in any audit of the client's applications, nor verifying their
//!   nonconformities) and D4 (no consultancy for the client within 2 years), not D2
//!   (competence in the standards) nor D3 (employment): 17021-1 9.8.4 note and 9.7.4 ask for
//!   people not involved, not for auditor competence. Someone missing from the register is
//!   refused citing P3 (nothing can be checked).
//! - "The decision concerned": for an appeal, the decision appealed; for a complaint about a
//!   certified client, every certification decision (grant and cycle decisions) on the
//!   client's applications; for a complaint about the CB, none.
//! - Outcomes: `upheld` or `not_upheld`, for complaints and appeals alike.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::AuditRecord;
use crate::dates::past_event;
use crate::decision::{DecisionSettings, check_no_part_in_audits};
use crate::error::{ErrorCode, FieldError};
use crate::intake::application::LegalId;
use crate::intake::config::IntakeConfig;
use crate::intake::schema::{self, Cap, Format, Kind, line, multiline, opt, req};
use crate::people::Person;
use crate::violation::Violation;

/// A complaint (P1) or an appeal (P4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// Anyone's complaint about a certified client or the CB (17021-1 9.8).
    Complaint,
    /// A client's appeal of a decision on its application (17021-1 9.7).
    Appeal,
}

impl CaseKind {
    /// Its name in JSON and messages.
    pub fn name(self) -> &'static str {
        match self {
            CaseKind::Complaint => "complaint",
            CaseKind::Appeal => "appeal",
        }
    }

    /// The prefix of its references: `CP-` for a complaint, `AP-` for an appeal.
    pub fn prefix(self) -> &'static str {
        match self {
            CaseKind::Complaint => "CP-",
            CaseKind::Appeal => "AP-",
        }
    }

    /// The key-value prefix of its records (`complaint:`, `appeal:`).
    pub fn key(self, reference: &str) -> String {
        format!("{}:{reference}", self.name())
    }
}

/// P2: where a complaint or appeal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Lodged (P1, P4).
    Received,
    /// The CB acknowledged it and takes responsibility for handling it (9.8.5).
    Acknowledged,
    /// Investigated by someone not involved (P3).
    Investigated,
    /// Decided by someone not involved (P3).
    Decided,
    /// The outcome was communicated; closed (9.7.2, 9.8.3). Final.
    Closed,
}

impl CaseState {
    /// Every state, in order.
    pub const ALL: [CaseState; 5] = [
        CaseState::Received,
        CaseState::Acknowledged,
        CaseState::Investigated,
        CaseState::Decided,
        CaseState::Closed,
    ];

    /// Its name in JSON and messages.
    pub fn name(self) -> &'static str {
        match self {
            CaseState::Received => "received",
            CaseState::Acknowledged => "acknowledged",
            CaseState::Investigated => "investigated",
            CaseState::Decided => "decided",
            CaseState::Closed => "closed",
        }
    }

    /// P2: the one state a case may move to from this one (`None`: closed).
    pub fn next(self) -> Option<CaseState> {
        match self {
            CaseState::Received => Some(CaseState::Acknowledged),
            CaseState::Acknowledged => Some(CaseState::Investigated),
            CaseState::Investigated => Some(CaseState::Decided),
            CaseState::Decided => Some(CaseState::Closed),
            CaseState::Closed => None,
        }
    }
}

/// P5: who lodged the case (personal data: never public, I8, R3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Phone number, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// What a case is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    /// P1: a certified client, by its certificate number.
    CertifiedClient {
        /// The certificate number as given.
        certificate: String,
    },
    /// P1: the certification body itself.
    CertificationBody,
    /// P4: a decision on an application.
    Decision {
        /// The application's id.
        application: String,
        /// The decision appealed: `certification` (the grant or refusal) or a cycle
        /// decision's id (`decision-2`).
        decision: String,
    },
}

/// R1: one step of a case, append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The state after the step.
    pub state: CaseState,
    /// Who, as authenticated (`public` for a complaint lodged without an account,
    /// `operator:<name>`, or `applicant`).
    pub by: String,
    /// The rules applied.
    pub rules: Vec<String>,
    /// What happened.
    pub note: String,
    /// The id of the change that wrote it (the component's, issue 12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
}

/// D8-like: a person of the register as recorded in a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    /// Register id.
    pub id: String,
    /// Name at the time.
    pub name: String,
}

/// P3: the investigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Investigation {
    /// Who investigated (P3).
    pub investigator: PersonRef,
    /// What was found.
    pub findings: String,
    /// The day recorded.
    pub on: NaiveDate,
}

/// P2: a decision's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseOutcome {
    /// The complaint or appeal is upheld.
    Upheld,
    /// It is not.
    NotUpheld,
}

impl CaseOutcome {
    /// The contract's names.
    pub const NAMES: &'static [&'static str] = &["upheld", "not_upheld"];

    /// Its name in JSON and messages.
    pub fn name(self) -> &'static str {
        match self {
            CaseOutcome::Upheld => "upheld",
            CaseOutcome::NotUpheld => "not_upheld",
        }
    }
}

/// P3, P6: the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDecision {
    /// Who decided (P3).
    pub decision_maker: PersonRef,
    /// Upheld or not.
    pub outcome: CaseOutcome,
    /// Why.
    pub reasons: String,
    /// P6: a short-notice audit (X2) is to follow.
    #[serde(default)]
    pub short_notice_audit: bool,
    /// The day decided.
    pub on: NaiveDate,
}

/// P2: what was communicated to the complainant or appellant, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Communication {
    /// The day it was communicated.
    pub on: NaiveDate,
    /// What was said.
    pub summary: String,
    /// Whether this communicated the outcome (recorded at closing).
    #[serde(default)]
    pub outcome: bool,
    /// R1: who recorded it.
    pub recorded_by: String,
    /// R1: when.
    pub recorded_at: DateTime<Utc>,
}

/// A complaint or an appeal as stored under `complaint:<reference>` or
/// `appeal:<reference>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Its reference (the id): `CP-` or `AP-` and 32 hex digits of a random id.
    pub reference: String,
    /// Complaint or appeal.
    pub kind: CaseKind,
    /// Where it stands: always the state of the last history entry.
    pub state: CaseState,
    /// The day it was received.
    pub received_on: NaiveDate,
    /// P5: who lodged it (personal data).
    pub party: Party,
    /// What it is about.
    pub subject: Subject,
    /// The complaint's description or the appeal's grounds.
    pub description: String,
    /// P3: the investigation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investigation: Option<Investigation>,
    /// P3, P6: the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<CaseDecision>,
    /// P2: communications to the party, oldest first.
    #[serde(default)]
    pub communications: Vec<Communication>,
    /// R1: append-only history.
    pub history: Vec<CaseEntry>,
}

/// P5: what the public sees of a case: its reference, kind, state and the day of each step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicCase {
    /// The reference.
    pub reference: String,
    /// Complaint or appeal.
    pub kind: CaseKind,
    /// Where it stands.
    pub state: CaseState,
    /// The day it was received.
    pub received_on: NaiveDate,
    /// The day it was acknowledged.
    pub acknowledged_on: Option<NaiveDate>,
    /// The day it was investigated.
    pub investigated_on: Option<NaiveDate>,
    /// The day it was decided.
    pub decided_on: Option<NaiveDate>,
    /// The day it was closed.
    pub closed_on: Option<NaiveDate>,
}

impl Case {
    /// The day the case reached `state` (its first history entry in that state).
    pub fn reached_on(&self, state: CaseState) -> Option<NaiveDate> {
        self.history
            .iter()
            .find(|e| e.state == state)
            .map(|e| e.at.date_naive())
    }

    /// P5: state and dates, nothing personal, nothing of the substance.
    pub fn public_view(&self) -> PublicCase {
        PublicCase {
            reference: self.reference.clone(),
            kind: self.kind,
            state: self.state,
            received_on: self.received_on,
            acknowledged_on: self.reached_on(CaseState::Acknowledged),
            investigated_on: self.reached_on(CaseState::Investigated),
            decided_on: self.reached_on(CaseState::Decided),
            closed_on: self.reached_on(CaseState::Closed),
        }
    }

    fn push(&mut self, at: DateTime<Utc>, by: &str, rules: &[&str], note: String) {
        self.history.push(CaseEntry {
            at,
            state: self.state,
            by: by.to_string(),
            rules: rules.iter().map(|r| r.to_string()).collect(),
            note,
            change_id: None,
        });
    }

    /// P2: whether `next` is the next state; refused naming the current one.
    fn check_next(&self, next: CaseState) -> Result<(), CaseRefusal> {
        if self.state.next() != Some(next) {
            return Err(CaseRefusal::Transition {
                current: self.state,
                requested: next,
            });
        }
        Ok(())
    }
}

/// Whether `reference` has the shape of a `kind` reference (`CP-`/`AP-` and 32 hex digits,
/// either case), so anything else is a 404 before the store is asked. Returns it in its
/// stored form (uppercase).
pub fn normalize_reference(kind: CaseKind, reference: &str) -> Option<String> {
    let upper = reference.trim().to_ascii_uppercase();
    let hex = upper.strip_prefix(kind.prefix())?;
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(upper)
}

/// P1, P4: a reference from 16 random bytes (the component's randomness).
pub fn reference_from(kind: CaseKind, random: &[u8; 16]) -> String {
    let hex: String = random.iter().map(|b| format!("{b:02X}")).collect();
    format!("{}{hex}", kind.prefix())
}

/// Why a step was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseRefusal {
    /// P2: not the next step (409, naming the current state).
    Transition {
        /// Where the case stands.
        current: CaseState,
        /// Where the step would take it.
        requested: CaseState,
    },
    /// P3 (and D1, D4): the rules refuse the person named (422 `rules-not-met`).
    Rules(Vec<Violation>),
    /// P2, P6: a field of the body is refused (422 `validation`).
    Fields(Vec<FieldError>),
}

const EMAIL: Kind = Kind::Text {
    cap: Cap::Chars(254),
    format: Format::Email,
};
const PHONE: Kind = Kind::Text {
    cap: Cap::Chars(30),
    format: Format::Phone,
};
const DATE: Kind = Kind::Text {
    cap: Cap::Chars(40),
    format: Format::Date,
};
const PARTY: Kind = Kind::Object(&[
    req("name", line(100)),
    req("email", EMAIL),
    opt("phone", PHONE),
]);
/// Longest description or grounds, in characters.
pub const MAX_DESCRIPTION: usize = 8000;
const SUBJECT_KINDS: &[&str] = &["certified_client", "certification_body"];

static COMPLAINT: Kind = Kind::Object(&[
    req("complainant", PARTY),
    req(
        "subject",
        Kind::Object(&[
            req("kind", Kind::Enum(SUBJECT_KINDS)),
            opt("certificate", line(50)),
        ]),
    ),
    req("description", multiline(MAX_DESCRIPTION)),
]);

/// P1: a complaint as lodged: `{"complainant": {"name", "email", "phone"?}, "subject":
/// {"kind": "certified_client", "certificate": "<number>"} | {"kind":
/// "certification_body"}, "description"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintRequest {
    /// Who complains.
    pub complainant: Party,
    /// About whom.
    pub subject: Subject,
    /// What happened.
    pub description: String,
}

#[derive(Deserialize)]
struct ComplaintDoc {
    complainant: Party,
    subject: SubjectDoc,
    description: String,
}

#[derive(Deserialize)]
struct SubjectDoc {
    kind: String,
    #[serde(default)]
    certificate: Option<String>,
}

impl ComplaintRequest {
    /// P1: reads the public body, every error at once (citing P1): a complaint about a
    /// certified client names its certificate; one about the CB names none.
    pub fn from_json(input: &Value) -> Result<ComplaintRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let doc = schema::check_kind(
            &COMPLAINT,
            input,
            "P1",
            &IntakeConfig::default(),
            &mut errors,
        );
        let kind = input.pointer("/subject/kind").and_then(Value::as_str);
        let certificate = input
            .pointer("/subject/certificate")
            .filter(|c| !c.is_null());
        match (kind, certificate) {
            (Some("certified_client"), None) => errors.push(FieldError::new(
                "/subject/certificate",
                ErrorCode::Required,
                "a complaint about a certified client names its certificate number",
                "P1",
            )),
            (Some("certification_body"), Some(_)) => errors.push(FieldError::new(
                "/subject/certificate",
                ErrorCode::InvalidValue,
                "a complaint about the certification body names no certificate",
                "P1",
            )),
            _ => {}
        }
        let doc: ComplaintDoc = schema::typed(doc, errors, "P1")?;
        let subject = match (doc.subject.kind.as_str(), doc.subject.certificate) {
            ("certified_client", Some(certificate)) => Subject::CertifiedClient { certificate },
            // A blank number reads as absent: still a complaint about a client, never one
            // about the CB.
            ("certified_client", None) => {
                return Err(vec![FieldError::new(
                    "/subject/certificate",
                    ErrorCode::Required,
                    "a complaint about a certified client names its certificate number",
                    "P1",
                )]);
            }
            _ => Subject::CertificationBody,
        };
        Ok(ComplaintRequest {
            complainant: doc.complainant,
            subject,
            description: doc.description,
        })
    }
}

/// P1: the complaint as received on `at`, lodged by `by` (`public` without an account).
pub fn lodge_complaint(
    request: ComplaintRequest,
    reference: String,
    by: &str,
    at: DateTime<Utc>,
) -> Case {
    let about = match &request.subject {
        Subject::CertifiedClient { certificate } => format!("certificate {certificate}"),
        _ => "the certification body".to_string(),
    };
    let mut case = Case {
        reference,
        kind: CaseKind::Complaint,
        state: CaseState::Received,
        received_on: at.date_naive(),
        party: request.complainant,
        subject: request.subject,
        description: request.description,
        investigation: None,
        decision: None,
        communications: Vec::new(),
        history: Vec::new(),
    };
    case.push(at, by, &["P1"], format!("complaint received about {about}"));
    case
}

static APPEAL: Kind = Kind::Object(&[
    req("appellant", PARTY),
    req("decision", line(100)),
    req("grounds", multiline(MAX_DESCRIPTION)),
]);

/// P4: an appeal as lodged on an application: `{"appellant": {"name", "email", "phone"?},
/// "decision": "certification" | "decision-<n>", "grounds"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppealRequest {
    /// Who appeals for the client (its contact).
    pub appellant: Party,
    /// The decision appealed: `certification` or a cycle decision's id.
    pub decision: String,
    /// Why.
    pub grounds: String,
}

impl AppealRequest {
    /// P4: reads the body, every error at once (citing P4).
    pub fn from_json(input: &Value) -> Result<AppealRequest, Vec<FieldError>> {
        schema::read(&APPEAL, input, "P4")
    }
}

/// P4: the appeal of `decision` (already checked to exist, with its maker) on application
/// `application`, as received on `at`, lodged by `by`.
pub fn lodge_appeal(
    request: AppealRequest,
    application: &str,
    reference: String,
    by: &str,
    at: DateTime<Utc>,
) -> Case {
    let decision = request.decision.trim().to_string();
    let mut case = Case {
        reference,
        kind: CaseKind::Appeal,
        state: CaseState::Received,
        received_on: at.date_naive(),
        party: request.appellant,
        subject: Subject::Decision {
            application: application.to_string(),
            decision: decision.clone(),
        },
        description: request.grounds,
        investigation: None,
        decision: None,
        communications: Vec::new(),
        history: Vec::new(),
    };
    case.push(
        at,
        by,
        &["P4"],
        format!("appeal received against decision {decision} of application {application}"),
    );
    case
}

const COMMUNICATION_PROPS: &[schema::Prop] =
    &[req("on", DATE), req("summary", multiline(MAX_DESCRIPTION))];
static COMMUNICATION: Kind = Kind::Object(COMMUNICATION_PROPS);

/// P2: a communication to the party: `{"on": "YYYY-MM-DD", "summary": "what was said"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CommunicationRequest {
    /// The day it was communicated.
    pub on: NaiveDate,
    /// What was said.
    pub summary: String,
}

impl CommunicationRequest {
    /// P2: reads the body, every error at once (citing P2).
    pub fn from_json(input: &Value) -> Result<CommunicationRequest, Vec<FieldError>> {
        schema::read(&COMMUNICATION, input, "P2")
    }
}

static ACKNOWLEDGE: Kind = Kind::Object(&[opt("communication", Kind::Object(COMMUNICATION_PROPS))]);

/// P2: `{"communication": {"on", "summary"}}` (optional: how the acknowledgement was sent,
/// beyond the reference given at lodging).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AcknowledgeRequest {
    /// How it was acknowledged to the party, if recorded.
    #[serde(default)]
    pub communication: Option<CommunicationRequest>,
}

impl AcknowledgeRequest {
    /// P2: reads the body (`{}` when empty), every error at once (citing P2).
    pub fn from_json(input: &Value) -> Result<AcknowledgeRequest, Vec<FieldError>> {
        schema::read(&ACKNOWLEDGE, input, "P2")
    }
}

static INVESTIGATE: Kind = Kind::Object(&[
    req("investigator", line(64)),
    req("findings", multiline(MAX_DESCRIPTION)),
]);

/// P3: `{"investigator": "<person id>", "findings": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InvestigationRequest {
    /// The investigator's id in the register.
    pub investigator: String,
    /// What was found.
    pub findings: String,
}

impl InvestigationRequest {
    /// P3: reads the body, every error at once (citing P3).
    pub fn from_json(input: &Value) -> Result<InvestigationRequest, Vec<FieldError>> {
        schema::read(&INVESTIGATE, input, "P3")
    }
}

static DECIDE: Kind = Kind::Object(&[
    req("decision_maker", line(64)),
    req("outcome", Kind::Enum(CaseOutcome::NAMES)),
    req("reasons", multiline(MAX_DESCRIPTION)),
    opt("short_notice_audit", Kind::Bool),
]);

/// P3, P6: `{"decision_maker": "<person id>", "outcome": "upheld" | "not_upheld",
/// "reasons": "...", "short_notice_audit": true?}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CaseDecisionRequest {
    /// The decision maker's id in the register.
    pub decision_maker: String,
    /// Upheld or not.
    pub outcome: CaseOutcome,
    /// Why.
    pub reasons: String,
    /// P6: a short-notice audit is to follow.
    #[serde(default)]
    pub short_notice_audit: Option<bool>,
}

impl CaseDecisionRequest {
    /// P3, P6: reads the body, every error at once (`short_notice_audit` cites P6, the
    /// others P3).
    pub fn from_json(input: &Value) -> Result<CaseDecisionRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let doc = schema::check_kind(&DECIDE, input, "P3", &IntakeConfig::default(), &mut errors);
        for e in &mut errors {
            if e.is_within("/short_notice_audit") {
                e.rule = "P6";
            }
        }
        schema::typed(doc, errors, "P3")
    }
}

static CLOSE: Kind = Kind::Object(&[req("communication", Kind::Object(COMMUNICATION_PROPS))]);

/// P2: `{"communication": {"on", "summary"}}`: how the outcome was communicated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CloseRequest {
    /// The communication of the outcome.
    pub communication: CommunicationRequest,
}

impl CloseRequest {
    /// P2: reads the body, every error at once (citing P2).
    pub fn from_json(input: &Value) -> Result<CloseRequest, Vec<FieldError>> {
        schema::read(&CLOSE, input, "P2")
    }
}

/// P3: what the people named must not be involved in.
#[derive(Debug, Clone, Copy)]
pub struct Involvement<'a> {
    /// The client concerned (D4), if any (none for a complaint about the CB).
    pub client: Option<&'a LegalId>,
    /// Every audit of the client's applications (D1).
    pub audits: &'a [AuditRecord],
    /// The makers of the decisions concerned: `(person id, which decision)`.
    pub decision_makers: &'a [(String, String)],
}

/// P3 (D1, D4): whether `person_id` (its register entry `person`, `None`: not in the
/// register), acting as `role`, is not involved on `today`: in the register (P3), took no
/// part in any audit of the client's applications nor verified their nonconformities (D1),
/// did not make a decision concerned (P3), and did not consult for the client within
/// `settings.consultancy_years` (D4). Every violation, in that order.
pub fn check_not_involved(
    role: &str,
    person_id: &str,
    person: Option<&Person>,
    involvement: &Involvement<'_>,
    today: NaiveDate,
    settings: &DecisionSettings,
) -> Vec<Violation> {
    let id = person_id.trim();
    let mut violations = Vec::new();
    if person.is_none() {
        violations.push(Violation::new(
            "P3",
            format!(
                "{role} {id} is not in the people register: their independence cannot be checked"
            ),
        ));
    }
    violations.extend(check_no_part_in_audits(role, id, involvement.audits));
    for (maker, which) in involvement.decision_makers {
        if maker.trim().eq_ignore_ascii_case(id) {
            violations.push(Violation::new(
                "P3",
                format!("{role} {id} made the decision concerned ({which})"),
            ));
        }
    }
    if let (Some(person), Some(client)) = (person, involvement.client)
        && let Some(reason) = person.consulted_for_within(client, today, settings.consultancy_years)
    {
        violations.push(Violation::new(
            "D4",
            format!("{role} {id}: {}", reason.message),
        ));
    }
    violations
}

fn person_ref(id: &str, person: Option<&Person>) -> PersonRef {
    PersonRef {
        id: id.trim().to_string(),
        name: person.map(|p| p.name.clone()).unwrap_or_default(),
    }
}

/// R1, P2: the communication's day is a past event, not before the case was received.
fn communication(
    request: CommunicationRequest,
    field: &str,
    case: &Case,
    outcome: bool,
    by: &str,
    at: DateTime<Utc>,
) -> Result<Communication, CaseRefusal> {
    let today = at.date_naive();
    let mut errors = Vec::new();
    if let Some(e) = past_event(format!("{field}/on"), request.on, today, "P2") {
        errors.push(e);
    }
    if request.on < case.received_on {
        errors.push(FieldError::new(
            format!("{field}/on"),
            ErrorCode::OutOfRange,
            format!(
                "the {} was received on {}: nothing was communicated about it before",
                case.kind.name(),
                case.received_on
            ),
            "P2",
        ));
    }
    if !errors.is_empty() {
        return Err(CaseRefusal::Fields(errors));
    }
    Ok(Communication {
        on: request.on,
        summary: request.summary,
        outcome,
        recorded_by: by.to_string(),
        recorded_at: at,
    })
}

/// P2: `received` → `acknowledged` by `by` at `at`, with how it was acknowledged if given.
pub fn acknowledge(
    case: &mut Case,
    request: AcknowledgeRequest,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), CaseRefusal> {
    case.check_next(CaseState::Acknowledged)?;
    let mut note = format!("{} acknowledged", case.kind.name());
    if let Some(c) = request.communication {
        let c = communication(c, "/communication", case, false, by, at)?;
        note.push_str(&format!(" to the {} on {}", party_name(case.kind), c.on));
        case.communications.push(c);
    }
    case.state = CaseState::Acknowledged;
    case.push(at, by, &["P2"], note);
    Ok(())
}

fn party_name(kind: CaseKind) -> &'static str {
    match kind {
        CaseKind::Complaint => "complainant",
        CaseKind::Appeal => "appellant",
    }
}

/// P2, P3: `acknowledged` → `investigated`, by an investigator not involved
/// ([`check_not_involved`]), recorded by `by` at `at`.
#[allow(clippy::too_many_arguments)]
pub fn investigate(
    case: &mut Case,
    request: InvestigationRequest,
    investigator: Option<&Person>,
    involvement: &Involvement<'_>,
    by: &str,
    at: DateTime<Utc>,
    settings: &DecisionSettings,
) -> Result<(), CaseRefusal> {
    case.check_next(CaseState::Investigated)?;
    let violations = check_not_involved(
        "investigator",
        &request.investigator,
        investigator,
        involvement,
        at.date_naive(),
        settings,
    );
    if !violations.is_empty() {
        return Err(CaseRefusal::Rules(violations));
    }
    let who = person_ref(&request.investigator, investigator);
    let note = format!("investigated by {} ({})", who.name, who.id);
    case.investigation = Some(Investigation {
        investigator: who,
        findings: request.findings,
        on: at.date_naive(),
    });
    case.state = CaseState::Investigated;
    case.push(at, by, &["P2", "P3", "D1", "D4"], note);
    Ok(())
}

/// P2, P3, P6: `investigated` → `decided`, by a decision maker not involved
/// ([`check_not_involved`]), recorded by `by` at `at`. `short_notice_audit: true` only on
/// an upheld complaint about a certified client (P6, a field error otherwise).
#[allow(clippy::too_many_arguments)]
pub fn decide(
    case: &mut Case,
    request: CaseDecisionRequest,
    decision_maker: Option<&Person>,
    involvement: &Involvement<'_>,
    by: &str,
    at: DateTime<Utc>,
    settings: &DecisionSettings,
) -> Result<(), CaseRefusal> {
    case.check_next(CaseState::Decided)?;
    let short_notice = request.short_notice_audit.unwrap_or(false);
    let about_client = matches!(case.subject, Subject::CertifiedClient { .. });
    if short_notice && !(about_client && request.outcome == CaseOutcome::Upheld) {
        return Err(CaseRefusal::Fields(vec![FieldError::new(
            "/short_notice_audit",
            ErrorCode::InvalidValue,
            "a short-notice audit follows only an upheld complaint about a certified client",
            "P6",
        )]));
    }
    let violations = check_not_involved(
        "decision maker",
        &request.decision_maker,
        decision_maker,
        involvement,
        at.date_naive(),
        settings,
    );
    if !violations.is_empty() {
        return Err(CaseRefusal::Rules(violations));
    }
    let who = person_ref(&request.decision_maker, decision_maker);
    let mut note = format!(
        "decided {} by {} ({})",
        request.outcome.name(),
        who.name,
        who.id
    );
    let mut rules = vec!["P2", "P3", "D1", "D4"];
    if short_notice {
        note.push_str("; a short-notice audit is to follow (X2)");
        rules.push("P6");
    }
    case.decision = Some(CaseDecision {
        decision_maker: who,
        outcome: request.outcome,
        reasons: request.reasons,
        short_notice_audit: short_notice,
        on: at.date_naive(),
    });
    case.state = CaseState::Decided;
    case.push(at, by, &rules, note);
    Ok(())
}

/// P2: `decided` → `closed`, recording how the outcome was communicated, by `by` at `at`.
pub fn close(
    case: &mut Case,
    request: CloseRequest,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), CaseRefusal> {
    case.check_next(CaseState::Closed)?;
    let c = communication(request.communication, "/communication", case, true, by, at)?;
    let note = format!(
        "outcome communicated to the {} on {}; closed",
        party_name(case.kind),
        c.on
    );
    case.communications.push(c);
    case.state = CaseState::Closed;
    case.push(at, by, &["P2"], note);
    Ok(())
}

/// P2: records a communication to the party without changing the state (any state).
pub fn communicate(
    case: &mut Case,
    request: CommunicationRequest,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), CaseRefusal> {
    let c = communication(request, "", case, false, by, at)?;
    let note = format!("communicated to the {} on {}", party_name(case.kind), c.on);
    case.communications.push(c);
    case.push(at, by, &["P2"], note);
    Ok(())
}

/// P6, X2: whether complaint `case` can be the cause of a short-notice audit of the client
/// holding certificate `certificate`: a complaint about that certificate, decided upheld
/// with `short_notice_audit` (decided or closed). The violation cites X2.
pub fn check_short_notice_complaint(
    case: &Case,
    certificate: Option<&str>,
) -> Result<(), Violation> {
    let about = match &case.subject {
        Subject::CertifiedClient { certificate } => certificate.trim(),
        _ => {
            return Err(Violation::new(
                "X2",
                format!(
                    "complaint {} is not about a certified client: it causes no short-notice audit",
                    case.reference
                ),
            ));
        }
    };
    if !certificate.is_some_and(|c| c.trim().eq_ignore_ascii_case(about)) {
        return Err(Violation::new(
            "X2",
            format!(
                "complaint {} is about certificate {about}, not this application's ({})",
                case.reference,
                certificate.unwrap_or("none")
            ),
        ));
    }
    match &case.decision {
        Some(d) if d.outcome == CaseOutcome::Upheld && d.short_notice_audit => Ok(()),
        _ => Err(Violation::new(
            "X2",
            format!(
                "complaint {} is {}: a short-notice audit follows a decision that upholds it with short_notice_audit (P6)",
                case.reference,
                case.state.name()
            ),
        )),
    }
}
