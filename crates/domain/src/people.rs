//! The people register (D2–D4): who may audit and decide. An operator records each person's
//! employment (D3), competences (D2) and consultancy engagements (D4, I6) as JSON;
//! [`Person::from_json`] reads it, reporting every error at once.
//!
//! Choices where the rules are silent:
//! - D2: a person is competent for a standard in a technical area only with one competence
//!   record naming both; each requested (standard, area) pair is checked.
//! - D3: an `arrangement` given for any type other than `contracted` is kept but not needed.
//! - D4: a consultancy that ended exactly `years` years before the day in question is outside
//!   the window; one that ended a day later (or is still running) is inside.
//! - D4: legal ids compare by type and number, trimmed, case-insensitive; a unified social
//!   credit code must pass its checksum, so a typo cannot hide a conflict.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::intake::application::{LegalId, LegalIdType, StandardCode};
use crate::intake::config::IntakeConfig;
use crate::intake::schema::{self, Format, Kind, line, multiline, opt, req};
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::explain::Reason;
use crate::shared::formats;

/// D3: how a person is bound to the CB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentType {
    /// An employee of the CB.
    Employee,
    /// An employee of an entity the CB controls.
    ControlledEntity,
    /// Under a legally enforceable arrangement (named in `arrangement`).
    Contracted,
    /// Outside the CB: may never decide (the CB never delegates the decision, seed ZBT 5.5.4).
    External,
}

impl EmploymentType {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] =
        &["employee", "controlled_entity", "contracted", "external"];

    /// Its name in JSON and in messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Employee => "employee",
            Self::ControlledEntity => "controlled_entity",
            Self::Contracted => "contracted",
            Self::External => "external",
        }
    }
}

/// D3: the person's employment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Employment {
    /// How the person is bound to the CB (`type` in the contract).
    #[serde(rename = "type")]
    pub kind: EmploymentType,
    /// D3: the legally enforceable arrangement; required for `contracted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrangement: Option<String>,
}

/// D2: a competence record: a standard and the technical areas (IAF/CNAS codes) it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Competence {
    /// The standard.
    pub standard: StandardCode,
    /// Technical area codes, e.g. `"IAF 33"`.
    #[serde(default)]
    pub technical_areas: Vec<String>,
}

/// D4, I6: consultancy the person gave to an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsultancyEngagement {
    /// The organisation consulted for, by its legal id.
    pub organization: LegalId,
    /// When it ended, or is planned to end (a future date: still consulting).
    pub ended_on: NaiveDate,
}

/// One person in the register (D2–D4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Full name.
    pub name: String,
    /// D3.
    pub employment: Employment,
    /// D2.
    #[serde(default)]
    pub competences: Vec<Competence>,
    /// D4.
    #[serde(default)]
    pub consultancy: Vec<ConsultancyEngagement>,
}

/// D2: the standards' contract spellings (as [`StandardCode::as_str`]).
const STANDARD_NAMES: &[&str] = &["ISO/IEC 27001", "ISO/IEC 27701", "ISO 22301", "GB/T 30146"];

const DATE: Kind = Kind::Text {
    cap: schema::Cap::Chars(40),
    format: Format::Date,
};

/// D2–D4: the shape of a [`Person`] body.
static PERSON: Kind = Kind::Object(&[
    req("name", line(100)),
    req(
        "employment",
        Kind::Object(&[
            req("type", Kind::Enum(EmploymentType::NAMES)),
            opt("arrangement", multiline(2000)),
        ]),
    ),
    opt(
        "competences",
        Kind::Array {
            item: &Kind::Object(&[
                req("standard", Kind::Enum(STANDARD_NAMES)),
                opt(
                    "technical_areas",
                    Kind::Array {
                        item: &line(40),
                        max: 100,
                    },
                ),
            ]),
            max: 50,
        },
    ),
    opt(
        "consultancy",
        Kind::Array {
            item: &Kind::Object(&[
                req(
                    "organization",
                    Kind::Object(&[
                        req("type", Kind::Enum(LegalIdType::NAMES)),
                        req("number", line(50)),
                    ]),
                ),
                req("ended_on", DATE),
            ]),
            max: 100,
        },
    ),
]);

/// Whether a structural error is about `field` (for the rule it cites).
fn rule_for(field: &str) -> &'static str {
    if field.starts_with("/employment") {
        "D3"
    } else if field.starts_with("/competences") {
        "D2"
    } else if field.starts_with("/consultancy") {
        "D4"
    } else {
        "D2"
    }
}

impl Person {
    /// D2–D4: reads an operator's JSON body, reporting every error at once: missing,
    /// mistyped or unknown fields (each citing the rule its part serves: D3 employment, D2
    /// competences, D4 consultancy; the name D2), a `contracted` person without the
    /// arrangement (D3), and a unified social credit code with a wrong check character (D4).
    pub fn from_json(input: &Value) -> Result<Person, Vec<FieldError>> {
        let mut errors = Vec::new();
        let doc = schema::check_kind(&PERSON, input, "D2", &IntakeConfig::default(), &mut errors);
        for e in &mut errors {
            e.rule = rule_for(&e.field);
        }
        let employment = doc.get("employment");
        let contracted = employment
            .and_then(|e| e.get("type"))
            .and_then(Value::as_str)
            == Some("contracted");
        if contracted
            && employment.and_then(|e| e.get("arrangement")).is_none()
            && !errors
                .iter()
                .any(|e| e.is_within("/employment/arrangement"))
        {
            errors.push(FieldError::new(
                "/employment/arrangement",
                ErrorCode::Required,
                "a contracted person needs the legally enforceable arrangement that binds them",
                "D3",
            ));
        }
        if let Some(Value::Array(items)) = doc.get("consultancy") {
            for (i, item) in items.iter().enumerate() {
                let id = item.get("organization");
                let is_uscc =
                    id.and_then(|o| o.get("type")).and_then(Value::as_str) == Some("uscc");
                let number = id.and_then(|o| o.get("number")).and_then(Value::as_str);
                if let (true, Some(number)) = (is_uscc, number)
                    && formats::check_uscc(&number.to_ascii_uppercase()).is_err()
                {
                    errors.push(FieldError::new(
                        format!("/consultancy/{i}/organization/number"),
                        ErrorCode::InvalidChecksum,
                        "not a valid unified social credit code (GB 32100-2015): a wrong number would hide a consultancy conflict",
                        "D4",
                    ));
                }
            }
        }
        schema::typed(doc, errors, "D2")
    }

    /// D3: whether this person may take a certification decision: an employee of the CB or
    /// of an entity it controls, or under a legally enforceable arrangement; never someone
    /// external (the CB never delegates the decision, seed ZBT 5.5.1.1, 5.5.4).
    pub fn may_decide(&self) -> Result<(), Reason> {
        match self.employment.kind {
            EmploymentType::Employee | EmploymentType::ControlledEntity => Ok(()),
            EmploymentType::Contracted
                if self
                    .employment
                    .arrangement
                    .as_deref()
                    .is_some_and(|a| !crate::shared::formats::is_blank(a)) =>
            {
                Ok(())
            }
            EmploymentType::Contracted => Err(Reason::new(
                "D3",
                format!(
                    "{} is contracted without a recorded legally enforceable arrangement",
                    self.name
                ),
            )),
            EmploymentType::External => Err(Reason::new(
                "D3",
                format!(
                    "{} is external to the CB: the CB never delegates the certification decision",
                    self.name
                ),
            )),
        }
    }

    /// D2: what this person lacks to decide on `standards` in `technical_areas`: one reason
    /// per standard with no competence record, and one per (standard, area) the records for
    /// that standard do not cover. Empty: competent.
    pub fn competent_for(
        &self,
        standards: &[StandardCode],
        technical_areas: &[String],
    ) -> Vec<Reason> {
        let mut missing = Vec::new();
        for &standard in standards {
            let records: Vec<&Competence> = self
                .competences
                .iter()
                .filter(|c| c.standard == standard)
                .collect();
            if records.is_empty() {
                missing.push(Reason::new(
                    "D2",
                    format!(
                        "{} has no competence record for {}",
                        self.name,
                        standard.as_str()
                    ),
                ));
                continue;
            }
            for area in technical_areas {
                let covered = records
                    .iter()
                    .flat_map(|c| &c.technical_areas)
                    .any(|a| same_text(a, area));
                if !covered {
                    missing.push(Reason::new(
                        "D2",
                        format!(
                            "{} is not competent for {} in technical area {}",
                            self.name,
                            standard.as_str(),
                            area.trim()
                        ),
                    ));
                }
            }
        }
        missing
    }

    /// D4: the consultancy this person gave to `client` that ended less than `years` years
    /// before `on`, or is still running on `on`; `None` when there is none. A consultancy
    /// that ended exactly `years` years before `on` is outside the window.
    pub fn consulted_for_within(
        &self,
        client: &LegalId,
        on: NaiveDate,
        years: u32,
    ) -> Option<Reason> {
        let boundary = on
            .checked_sub_months(Months::new(years.saturating_mul(12)))
            .unwrap_or(NaiveDate::MIN);
        self.consultancy
            .iter()
            .filter(|c| same_legal_id(&c.organization, client) && c.ended_on > boundary)
            .max_by_key(|c| c.ended_on)
            .map(|c| {
                let when = if c.ended_on >= on {
                    format!("is still consulting for it (ends {})", c.ended_on)
                } else {
                    format!("consulted for it until {}", c.ended_on)
                };
                Reason::new(
                    "D4",
                    format!("{} {when}, less than {years} years before {on}", self.name),
                )
            })
    }
}

/// D4: the same legal id: same type, numbers equal once trimmed, ignoring case.
pub fn same_legal_id(a: &LegalId, b: &LegalId) -> bool {
    a.kind == b.kind && same_text(&a.number, &b.number)
}

/// Trimmed, case-insensitive equality.
fn same_text(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}
