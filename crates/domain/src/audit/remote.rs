//! Rules M1–M5: the remote-audit risk assessment (seed ZBT 5.1.3.4; IAF MD4).
//!
//! An operator records, before any remote activity (M1), the risk of six factors (a)
//! infrastructure of the CB and the client, b) the client's sector, c) the audit type within
//! the cycle, d) competence of the people on both sides, e) past performance of remote
//! audits with this client, f) the scope), confidentiality and data protection, and the
//! client's agreement; plus the M4 facts and the planned remote share and tools. [`assess`]
//! turns that into how much of the audit may be remote, with reasons and flags. Both input
//! and result serialise, so each assessment is kept as history and re-read (M3: re-assessed
//! within the cycle).
//!
//! What each answer does (where the rules are silent, the choice is documented here):
//! - `unacceptable` risk in any factor or in confidentiality: no remote activity (M2).
//! - No client agreement: no remote activity (M1).
//! - `high` risk: at most a partial remote audit; the activities the risk touches are held
//!   on site (M1 records the risk, M2 forbids only the unacceptable; high is the CB's
//!   middle ground). `low` and `medium` do not limit anything.
//! - Physical processes or physical security controls: at most partial (M4).
//! - Virtual sites: remote techniques are part of the plan (M4); they limit nothing.
//! - Stage 1: on site by default, remote only as far as M1–M4 allow, and the result says so
//!   (M5).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::intake::config::IntakeConfig;
use crate::intake::schema::{self, Kind, line, multiline, opt, req};
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::explain::Reason;

/// M1 c), M5: the audit being assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditType {
    /// Stage 1 of the initial audit (on site by default, M5).
    #[serde(rename = "stage_1")]
    Stage1,
    /// Stage 2 of the initial audit.
    #[serde(rename = "stage_2")]
    Stage2,
    /// First surveillance audit.
    #[serde(rename = "surveillance_1")]
    Surveillance1,
    /// Second surveillance audit.
    #[serde(rename = "surveillance_2")]
    Surveillance2,
    /// Recertification audit.
    #[serde(rename = "recertification")]
    Recertification,
    /// A special audit (short notice, scope extension).
    #[serde(rename = "special")]
    Special,
}

impl AuditType {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] = &[
        "stage_1",
        "stage_2",
        "surveillance_1",
        "surveillance_2",
        "recertification",
        "special",
    ];

    /// Every audit type, in declaration order.
    pub const ALL: [AuditType; 6] = [
        AuditType::Stage1,
        AuditType::Stage2,
        AuditType::Surveillance1,
        AuditType::Surveillance2,
        AuditType::Recertification,
        AuditType::Special,
    ];

    /// The contract's name, e.g. `"surveillance_1"`.
    pub const fn name(self) -> &'static str {
        match self {
            AuditType::Stage1 => "stage_1",
            AuditType::Stage2 => "stage_2",
            AuditType::Surveillance1 => "surveillance_1",
            AuditType::Surveillance2 => "surveillance_2",
            AuditType::Recertification => "recertification",
            AuditType::Special => "special",
        }
    }

    /// S1: a surveillance audit (`surveillance_1`, `surveillance_2`).
    pub const fn is_surveillance(self) -> bool {
        matches!(self, AuditType::Surveillance1 | AuditType::Surveillance2)
    }
}

/// M1: the assessed risk of one factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// No limit.
    Low,
    /// No limit.
    Medium,
    /// At most a partial remote audit.
    High,
    /// No remote activity (M2).
    Unacceptable,
}

impl Risk {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] = &["low", "medium", "high", "unacceptable"];
}

/// M1: one assessed factor: its risk and the rationale (M3: recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Factor {
    /// The assessed risk.
    pub risk: Risk,
    /// Why: the recorded rationale.
    pub note: String,
}

/// M1 a)–f): the six factors of seed ZBT 5.1.3.4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Factors {
    /// a) available infrastructure, CB and client.
    pub infrastructure: Factor,
    /// b) the client's sector.
    pub sector: Factor,
    /// c) the audit type within the cycle.
    pub audit_type: Factor,
    /// d) competence of the people taking part, both sides.
    pub competence: Factor,
    /// e) past demonstrated performance of remote audits with this client.
    pub past_performance: Factor,
    /// f) the certification scope.
    pub scope: Factor,
}

impl Factors {
    /// Each factor with how a reason names it, in M1's order.
    pub fn labelled(&self) -> [(&'static str, &Factor); 6] {
        [
            ("factor a) infrastructure", &self.infrastructure),
            ("factor b) sector", &self.sector),
            ("factor c) audit type", &self.audit_type),
            ("factor d) competence", &self.competence),
            ("factor e) past performance", &self.past_performance),
            ("factor f) scope", &self.scope),
        ]
    }
}

/// M1–M5: what the operator records for one audit (`POST .../remote-audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// Who assessed, as the operator names them (data; who *recorded* the assessment is
    /// [`AssessmentRecord::by`], R1).
    pub assessor: String,
    /// The audit assessed.
    pub audit: AuditType,
    /// M1: the day the assessment was made (never after the day it is recorded, R1); the
    /// day it is recorded when the body leaves it out. Absent only in assessments stored
    /// before it was kept ([`AssessmentRecord::assessed_on`] reads those).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessed_on: Option<chrono::NaiveDate>,
    /// M1 a)–f).
    pub factors: Factors,
    /// M1: confidentiality and data protection.
    pub confidentiality: Factor,
    /// M1: the client agreed to remote activities.
    pub client_agreement: bool,
    /// M4: physical processes need on-site evidence.
    pub physical_processes: bool,
    /// M4: physical security controls need on-site evidence.
    pub physical_security_controls: bool,
    /// M4: the client has virtual sites (work done entirely online).
    pub virtual_sites: bool,
    /// M5: the planned remote share of the audit time, 0 to 100.
    pub planned_remote_percent: u8,
    /// M3: the tools remote activities use; required when any is planned.
    #[serde(default)]
    pub tools: Vec<String>,
}

const FACTOR: Kind = Kind::Object(&[
    req("risk", Kind::Enum(Risk::NAMES)),
    req("note", multiline(2000)),
]);

/// M1: the shape of an [`Assessment`] body.
static ASSESSMENT: Kind = Kind::Object(&[
    req("assessor", line(200)),
    req("audit", Kind::Enum(AuditType::NAMES)),
    opt(
        "assessed_on",
        Kind::Text {
            cap: schema::Cap::Chars(40),
            format: schema::Format::Date,
        },
    ),
    req(
        "factors",
        Kind::Object(&[
            req("infrastructure", FACTOR),
            req("sector", FACTOR),
            req("audit_type", FACTOR),
            req("competence", FACTOR),
            req("past_performance", FACTOR),
            req("scope", FACTOR),
        ]),
    ),
    req("confidentiality", FACTOR),
    req("client_agreement", Kind::Bool),
    req("physical_processes", Kind::Bool),
    req("physical_security_controls", Kind::Bool),
    req("virtual_sites", Kind::Bool),
    req("planned_remote_percent", Kind::Integer { min: 0, max: 100 }),
    opt(
        "tools",
        Kind::Array {
            item: &line(100),
            max: 20,
        },
    ),
]);

impl Assessment {
    /// M1, M3: reads an operator's JSON body, reporting every error at once: missing,
    /// mistyped or unknown fields (M1), no tools for planned remote activity (M3), and an
    /// `assessed_on` after `today`, the day it is recorded (R1, [`crate::dates::past_event`]).
    /// Without `assessed_on`, the assessment was made `today`.
    pub fn from_json(
        input: &Value,
        today: chrono::NaiveDate,
    ) -> Result<Assessment, Vec<FieldError>> {
        let mut errors = Vec::new();
        let doc = schema::check_kind(
            &ASSESSMENT,
            input,
            "M1",
            &IntakeConfig::default(),
            &mut errors,
        );
        let planned = doc.get("planned_remote_percent").and_then(Value::as_u64);
        let tools_reported = errors.iter().any(|e| e.is_within("/tools"));
        if planned.is_some_and(|p| p > 0) && doc.get("tools").is_none() && !tools_reported {
            errors.push(FieldError::new(
                "/tools",
                ErrorCode::Required,
                "remote activity is planned: name the tools it uses (plans and reports state them)",
                "M3",
            ));
        }
        crate::dates::check_past_events(&doc, ["/assessed_on"], today, "R1", &mut errors);
        let mut assessment: Assessment = schema::typed(doc, errors, "M1")?;
        if assessment.assessed_on.is_none() {
            assessment.assessed_on = Some(today);
        }
        Ok(assessment)
    }
}

/// M1–M4: how much of the audit may be remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Remote {
    /// The whole audit may be remote.
    Full,
    /// Part of it; what needs on-site evidence is held on site.
    Partial,
    /// No remote activity.
    None,
}

impl Remote {
    const fn rank(self) -> u8 {
        match self {
            Remote::None => 0,
            Remote::Partial => 1,
            Remote::Full => 2,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            Remote::Full => "full",
            Remote::Partial => "partial",
            Remote::None => "none",
        }
    }
}

/// What a [`Flag`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagCode {
    /// M5: the planned remote share is above the CB's threshold [cfg: 30%].
    RemoteShareAboveThreshold,
    /// M1/M2: remote activity is planned but not allowed.
    RemotePlannedButNotAllowed,
    /// M1/M4: a fully remote audit is planned but only a partial one is allowed.
    FullRemotePlannedButPartialAllowed,
    /// M3: remote activity is planned without naming its tools.
    ToolsNotStated,
    /// M5: stage 1 is planned (partly) remote: the plan and report must say so and why.
    #[serde(rename = "remote_stage_1")]
    RemoteStage1,
}

/// Something an operator must look at: the assessment stands, but the plan needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// What it is about.
    pub code: FlagCode,
    /// The rule behind it.
    pub rule: String,
    /// What to do, in a sentence.
    pub message: String,
}

/// M1–M5: the outcome of one [`Assessment`], kept with it as history (M3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentResult {
    /// The audit assessed.
    pub audit: AuditType,
    /// How much of it may be remote.
    pub remote: Remote,
    /// The planned remote share, as assessed.
    pub planned_remote_percent: u8,
    /// M3: the tools the plan and report name.
    pub tools: Vec<String>,
    /// Why, each with its rule, the deciding reasons first.
    pub reasons: Vec<Reason>,
    /// What the plan must fix or state.
    pub flags: Vec<Flag>,
}

/// M1–M5: decides how much of `assessment.audit` may be remote; `remote_share_flag_percent`
/// is the M5 threshold [cfg: 30]. Pure: the same assessment always gives the same result.
pub fn assess(assessment: &Assessment, remote_share_flag_percent: u32) -> AssessmentResult {
    // Each limit: the most remote it allows, its rule, why.
    let mut limits: Vec<(Remote, &'static str, String)> = Vec::new();
    let rated = assessment.factors.labelled().into_iter().chain([(
        "confidentiality and data protection",
        &assessment.confidentiality,
    )]);
    for (label, factor) in rated {
        match factor.risk {
            Risk::Unacceptable => limits.push((
                Remote::None,
                "M2",
                format!("unacceptable risk in {label}: no remote activity for this audit"),
            )),
            Risk::High => limits.push((
                Remote::Partial,
                "M1",
                format!(
                    "high risk in {label}: at most a partial remote audit; what it touches is audited on site"
                ),
            )),
            Risk::Low | Risk::Medium => {}
        }
    }
    if !assessment.client_agreement {
        limits.push((
            Remote::None,
            "M1",
            "the client has not agreed to remote activities: no remote activity".to_string(),
        ));
    }
    if assessment.physical_processes {
        limits.push((
            Remote::Partial,
            "M4",
            "physical processes need on-site evidence: at most a partial remote audit".to_string(),
        ));
    }
    if assessment.physical_security_controls {
        limits.push((
            Remote::Partial,
            "M4",
            "physical security controls need on-site evidence: at most a partial remote audit"
                .to_string(),
        ));
    }
    let remote = limits
        .iter()
        .map(|(r, _, _)| *r)
        .min_by_key(|r| r.rank())
        .unwrap_or(Remote::Full);
    // The rule that set the outcome: the first limit at that level.
    let deciding_rule = limits
        .iter()
        .find(|(r, _, _)| *r == remote)
        .map_or("M1", |(_, rule, _)| *rule);
    // Deciding reasons first, then the weaker limits they override.
    limits.sort_by_key(|(r, _, _)| r.rank());
    let mut reasons: Vec<Reason> = limits
        .into_iter()
        .map(|(_, rule, message)| Reason::new(rule, message))
        .collect();
    if remote == Remote::Full {
        reasons.push(Reason::new(
            "M1",
            "every factor, confidentiality and data protection at low or medium risk, and the client agreed: a full remote audit is allowed",
        ));
    }
    if assessment.virtual_sites {
        reasons.push(Reason::new(
            "M4",
            if remote == Remote::None {
                "the client has virtual sites, but no remote activity is allowed: their online work is observed on site where it is done"
            } else {
                "the client has virtual sites: remote techniques are part of the audit plan"
            },
        ));
    }
    if assessment.audit == AuditType::Stage1 {
        reasons.push(Reason::new(
            "M5",
            if remote == Remote::None {
                "stage 1 of the initial audit is held on site (the default)".to_string()
            } else {
                format!(
                    "stage 1 of the initial audit is held on site by default; M1-M4 allow a {} remote stage 1, and the report must say so",
                    remote.as_str()
                )
            },
        ));
    }

    let flags = flags(assessment, remote, deciding_rule, remote_share_flag_percent);
    AssessmentResult {
        audit: assessment.audit,
        remote,
        planned_remote_percent: assessment.planned_remote_percent,
        tools: assessment.tools.clone(),
        reasons,
        flags,
    }
}

fn flags(
    assessment: &Assessment,
    remote: Remote,
    deciding_rule: &'static str,
    threshold: u32,
) -> Vec<Flag> {
    let planned = assessment.planned_remote_percent;
    let mut flags = Vec::new();
    let mut flag = |code, rule: &str, message: String| {
        flags.push(Flag {
            code,
            rule: rule.to_string(),
            message,
        })
    };
    if u32::from(planned) > threshold {
        flag(
            FlagCode::RemoteShareAboveThreshold,
            "M5",
            format!("{planned}% of the audit is planned remote, above the {threshold}% threshold"),
        );
    }
    if planned > 0 && remote == Remote::None {
        flag(
            FlagCode::RemotePlannedButNotAllowed,
            deciding_rule,
            format!(
                "{planned}% is planned remote but no remote activity is allowed: plan it on site"
            ),
        );
    }
    if planned >= 100 && remote == Remote::Partial {
        flag(
            FlagCode::FullRemotePlannedButPartialAllowed,
            deciding_rule,
            "the whole audit is planned remote but only a partial remote audit is allowed: plan on site what needs on-site evidence".to_string(),
        );
    }
    if planned > 0 && assessment.tools.is_empty() {
        flag(
            FlagCode::ToolsNotStated,
            "M3",
            "remote activity is planned without naming its tools: the plan and report must state them".to_string(),
        );
    }
    if planned > 0 && remote != Remote::None && assessment.audit == AuditType::Stage1 {
        flag(
            FlagCode::RemoteStage1,
            "M5",
            format!(
                "stage 1 is planned {planned}% remote, an exception to on-site stage 1: the plan and report must say so and why"
            ),
        );
    }
    flags
}

/// One assessment as kept in the application's record (M3: each is kept, so re-assessments
/// within the cycle leave the earlier rationale on record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentRecord {
    /// When it was recorded.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who recorded it (R1): the authenticated principal, e.g. `operator:<name>` (the
    /// assessor named in the body is `assessment.assessor`). Empty in records stored before
    /// it was kept.
    #[serde(default)]
    pub by: String,
    /// What the operator recorded (M1).
    pub assessment: Assessment,
    /// What M1–M5 made of it.
    pub result: AssessmentResult,
}

impl AssessmentRecord {
    /// M1: the day the assessment was made: its `assessed_on`, or for an assessment stored
    /// before that was kept, the day it was recorded.
    pub fn assessed_on(&self) -> chrono::NaiveDate {
        self.assessment
            .assessed_on
            .unwrap_or_else(|| self.at.date_naive())
    }
}
