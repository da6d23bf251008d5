//! C1, C2: the certificate details a grant carries ([`IssueRequest`]): checked with the
//! decision's body, so a decision and its certificate are refused together; the certificate
//! step issues from them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::intake::config::IntakeConfig;
use crate::intake::schema::{self, Cap, Format, Kind, line, opt, req};
use crate::shared::error::FieldError;

/// C1: who signs, as given in the issue request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatory {
    /// The signatory's name (printed on the certificate; not in the public view, C6).
    pub name: String,
    /// The signatory's role, e.g. `"General Manager"` (public).
    pub role: String,
}

/// C1: the scope of one site, by index into the application's `sites`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteScope {
    /// Index into the application's `sites`.
    pub site: usize,
    /// That site's scope.
    pub scope: String,
}

/// C1, C2: what an operator sends to issue a certificate:
/// `{"effective_on": "2026-04-01", "soa_version": "SoA v3, 2026-02-01",
///   "signatory": {"name": "Zhao Min", "role": "General Manager"},
///   "site_scopes": [{"site": 0, "scope": "..."}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// C2: the effective date, not before the decision and at most `effective_within_days`
    /// [cfg, 90] after it (a recertification: or the day after `previous_expiry`); absent:
    /// the decision's day. Until then the certificate shows `pending` (C5). It never moves
    /// the expiry: the cycle starts with the decision (ISO/IEC 17021-1 9.1.3.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_on: Option<NaiveDate>,
    /// C1: the ISMS Statement of Applicability version (required with ISO/IEC 27001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soa_version: Option<String>,
    /// C1: the signatory.
    pub signatory: Signatory,
    /// C1: per-site scopes; a site not listed has the reviewed scope.
    #[serde(default)]
    pub site_scopes: Vec<SiteScope>,
    /// C2, C4: for a recertification, the expiring certificate's last valid day: the new
    /// validity continues from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_expiry: Option<NaiveDate>,
}

const DATE: Kind = Kind::Text {
    cap: Cap::Chars(40),
    format: Format::Date,
};

pub(crate) const ISSUE: Kind = Kind::Object(&[
    opt("effective_on", DATE),
    opt("soa_version", line(100)),
    req(
        "signatory",
        Kind::Object(&[req("name", line(100)), req("role", line(100))]),
    ),
    opt(
        "site_scopes",
        Kind::Array {
            item: &Kind::Object(&[
                req(
                    "site",
                    Kind::Integer {
                        min: 0,
                        max: schema::MAX_SITES as i64,
                    },
                ),
                req(
                    "scope",
                    Kind::Text {
                        cap: Cap::Scope,
                        format: Format::Multiline,
                    },
                ),
            ]),
            max: schema::MAX_SITES,
        },
    ),
    opt("previous_expiry", DATE),
]);

impl IssueRequest {
    /// C1: reads an operator's JSON body, every error at once (rule C1; the date C2).
    pub fn from_json(input: &Value) -> Result<IssueRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let doc = schema::check_kind(&ISSUE, input, "C1", &IntakeConfig::default(), &mut errors);
        for e in &mut errors {
            e.rule = issue_field_rule(e, "");
        }
        schema::typed(doc, errors, "C1")
    }
}

/// The rule an error in issue details held at `base` (`""` for a body of its own,
/// `"/certificate"` inside a decision) cites: the dates C2, the rest C1.
pub(crate) fn issue_field_rule(error: &FieldError, base: &str) -> &'static str {
    let within = |field: &str| error.is_within(&format!("{base}/{field}"));
    if within("effective_on") || within("previous_expiry") {
        "C2"
    } else {
        "C1"
    }
}
