//! Issuance (C1–C4): the number, the contents and the dates.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Action, Certificate, CertificateRevision, Change, Recertification, SurveillanceDue};
use crate::application::{
    Address, Application, CertificateStatus, LegalId, RequestedStandard, StandardCode,
};
use crate::config::IntakeConfig;
use crate::decision::{DecisionRecord, Outcome};
use crate::error::{ErrorCode, FieldError};
use crate::programme::{expiry_from, first_surveillance_due, next_surveillance_due};
use crate::review::{Decision, Jurisdiction, Review};
use crate::schema::{self, Cap, Format, Kind, line, opt, req};
use crate::violation::Violation;

/// C1: the CB named on every certificate [cfg].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertificationBody {
    /// The CB's name.
    pub name: String,
    /// The CB's address, one line.
    pub address: String,
    /// The accreditation mark shown (e.g. `"CNAS C000-M"`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
}

impl Default for CertificationBody {
    fn default() -> Self {
        Self {
            name: "certflow Certification Body".to_string(),
            address: "to be configured".to_string(),
            mark: None,
        }
    }
}

/// C7: the accreditation body that accredits the CB [cfg], named in every IAF CertSearch
/// record (`accreditation_body_name`, `accreditation_body_acronym_name`,
/// `certificate_accreditation_status`, all mandatory in CertSearch's upload API). Default:
/// CNAS, China National Accreditation Service for Conformity Assessment, accredited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccreditationBody {
    /// The accreditation body's full name (1 to 200 characters, one line).
    pub name: String,
    /// Its acronym as CertSearch lists it (1 to 20 characters, one line), e.g. `"CNAS"`.
    pub acronym: String,
    /// Whether the certificates are issued under this accreditation: CertSearch's
    /// `certificate_accreditation_status` is `"Accredited"`, otherwise `"Unaccredited"`.
    pub accredited: bool,
}

impl Default for AccreditationBody {
    fn default() -> Self {
        Self {
            name: "China National Accreditation Service for Conformity Assessment".to_string(),
            acronym: "CNAS".to_string(),
            accredited: true,
        }
    }
}

/// C1–C5: the certificate settings [cfg], passed in by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertificateSettings {
    /// C1: the number's prefix (default `"CF"`).
    pub number_prefix: String,
    /// C1: the sequence's zero-padded width (default 6).
    pub number_digits: usize,
    /// C5: a suspension unresolved this many months later is flagged for withdrawal or scope
    /// reduction (default 6).
    pub suspension_months: u32,
    /// C3: most months between two surveillance audits under IAF (default 15).
    pub max_gap_months: u32,
    /// C3: the same under the `cn` jurisdiction (default 12).
    pub cn_max_gap_months: u32,
    /// C4: the client applies for recertification this many months before expiry
    /// (default 3).
    pub recertification_application_months: u32,
    /// C4: under IAF a recertification decided this many months after the previous expiry
    /// still continues the cycle (restoration, default 6); under `cn` none is allowed.
    pub restore_after_expiry_months: u32,
    /// C1: the CB's name, address and mark.
    pub certification_body: CertificationBody,
    /// C2: the effective date may lie at most this many days after the certification
    /// decision (default 90; 0 to 365). The cycle starts with the decision (ISO/IEC 17021-1
    /// 9.1.3.2), so a later effective date never lengthens it; a recertification may also
    /// take effect on the day after the previous expiry.
    pub effective_within_days: u32,
    /// C7: the accreditation body named in the CertSearch export.
    pub accreditation_body: AccreditationBody,
}

impl Default for CertificateSettings {
    fn default() -> Self {
        Self {
            number_prefix: "CF".to_string(),
            number_digits: 6,
            suspension_months: 6,
            max_gap_months: 15,
            cn_max_gap_months: 12,
            recertification_application_months: 3,
            restore_after_expiry_months: 6,
            certification_body: CertificationBody::default(),
            effective_within_days: 90,
            accreditation_body: AccreditationBody::default(),
        }
    }
}

impl CertificateSettings {
    /// C1: the number format these settings give.
    pub fn number_format(&self) -> NumberFormat {
        NumberFormat {
            prefix: self.number_prefix.clone(),
            digits: self.number_digits,
        }
    }

    /// C1–C5: the settings' problems, every one at once: a number width of 1 to 12 digits
    /// and a prefix of 1 to 20 letters, digits, `-`, `_` or `.` (C1), the CB's name (at most
    /// 200 characters) and address (at most 500), neither blank, and a mark, when given, not
    /// blank (at most 100) (C1), gap limits of 12 to 24 months (C3, as the programme's),
    /// an application lead of at most 11 months (C4), a restoration window of at most 6
    /// months (C4) and a suspension limit of 1 to 12 months (C5); an effective-date bound of
    /// 0 to 365 days (C2) and an accreditation body with a name of 1 to 200 and an acronym of
    /// 1 to 20 characters, one line each (C7).
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = self.check_effective_and_accreditation();
        let mut out = |field: &str, ok: bool, rule: &'static str, message: &str| {
            if !ok {
                errors.push(FieldError::new(field, ErrorCode::OutOfRange, message, rule));
            }
        };
        out(
            "/number_digits",
            (1..=12).contains(&self.number_digits),
            "C1",
            "1 to 12 digits",
        );
        out(
            "/number_prefix",
            (1..=20).contains(&self.number_prefix.len())
                && self
                    .number_prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
            "C1",
            // Verifiers type the number into a URL (C6): nothing that needs escaping.
            "1 to 20 ASCII letters, digits, '-', '_' or '.'",
        );
        out(
            "/max_gap_months",
            (12..=24).contains(&self.max_gap_months),
            "C3",
            "12 to 24 months",
        );
        out(
            "/cn_max_gap_months",
            (12..=24).contains(&self.cn_max_gap_months),
            "C3",
            "12 to 24 months",
        );
        out(
            "/recertification_application_months",
            self.recertification_application_months <= 11,
            "C4",
            "at most 11 months",
        );
        out(
            "/restore_after_expiry_months",
            self.restore_after_expiry_months <= 6,
            "C4",
            "at most 6 months (IAF)",
        );
        out(
            "/suspension_months",
            (1..=12).contains(&self.suspension_months),
            "C5",
            "1 to 12 months",
        );
        // C1: every certificate names the CB by name and address: neither may be blank.
        let cb = &self.certification_body;
        for (field, text, max, required) in [
            ("/certification_body/name", Some(&cb.name), 200, true),
            ("/certification_body/address", Some(&cb.address), 500, true),
            ("/certification_body/mark", cb.mark.as_ref(), 100, false),
        ] {
            let Some(text) = text else { continue };
            let problem = if crate::formats::is_blank(text) {
                Some((
                    ErrorCode::Required,
                    if required {
                        "must not be blank: every certificate shows it".to_owned()
                    } else {
                        "must not be blank: leave it out for no mark".to_owned()
                    },
                ))
            } else if text.chars().any(char::is_control) {
                Some((
                    ErrorCode::InvalidFormat,
                    "contains a control character".to_owned(),
                ))
            } else if text.trim().chars().count() > max {
                Some((ErrorCode::TooLong, format!("at most {max} characters")))
            } else {
                None
            };
            if let Some((code, message)) = problem {
                errors.push(FieldError::new(field, code, message, "C1"));
            }
        }
        errors
    }

    /// C2, C7: the effective-date bound and the accreditation body (see [`Self::check`]).
    fn check_effective_and_accreditation(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.effective_within_days > 365 {
            errors.push(FieldError::new(
                "/effective_within_days",
                ErrorCode::OutOfRange,
                "0 to 365 days",
                "C2",
            ));
        }
        let line_of = |s: &str, max: usize| {
            let s = s.trim();
            !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
        };
        if !line_of(&self.accreditation_body.name, 200) {
            errors.push(FieldError::new(
                "/accreditation_body/name",
                ErrorCode::InvalidValue,
                "the accreditation body's name: 1 to 200 characters, one line",
                "C7",
            ));
        }
        if !line_of(&self.accreditation_body.acronym, 20) {
            errors.push(FieldError::new(
                "/accreditation_body/acronym",
                ErrorCode::InvalidValue,
                "the accreditation body's acronym: 1 to 20 characters, one line",
                "C7",
            ));
        }
        errors
    }

    /// C3: the surveillance gap limit in `jurisdiction` (IAF 15, cn 12 months).
    pub fn max_gap(&self, jurisdiction: Jurisdiction) -> u32 {
        match jurisdiction {
            Jurisdiction::Iaf => self.max_gap_months,
            Jurisdiction::Cn => self.cn_max_gap_months,
        }
    }
}

/// C1: how certificate numbers are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberFormat {
    /// The prefix, e.g. `"CF"`.
    pub prefix: String,
    /// The sequence's zero-padded width, e.g. 6.
    pub digits: usize,
}

impl Default for NumberFormat {
    fn default() -> Self {
        CertificateSettings::default().number_format()
    }
}

/// C1: the unique certificate number `<prefix>-<year>-<sequence>`, e.g. `CF-2026-000042`.
/// `sequence` is the component's atomic per-year counter; a sequence wider than `digits` is
/// printed in full (never truncated, so numbers stay unique).
pub fn certificate_number(format: &NumberFormat, year: i32, sequence: u64) -> String {
    format!(
        "{}-{year}-{sequence:0width$}",
        format.prefix,
        width = format.digits
    )
}

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

/// C1: a certified site: its location and scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedSite {
    /// Site name.
    pub name: String,
    /// Whether it is the central function.
    pub central: bool,
    /// Its address.
    pub address: Address,
    /// Its scope.
    pub scope: String,
}

/// C1: what a certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contents {
    /// The certified organisation's legal name.
    pub organization: String,
    /// Its registered address.
    pub organization_address: Address,
    /// C7: its legal-status document (a public business registration), the organisation's
    /// stable id in the CertSearch export; not in the public view. Absent on certificates
    /// stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_legal_id: Option<LegalId>,
    /// The certified sites.
    pub sites: Vec<CertifiedSite>,
    /// The standards with edition.
    pub standards: Vec<RequestedStandard>,
    /// The overall scope (the review's final scope, A9).
    pub scope: String,
    /// The ISMS Statement of Applicability version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soa_version: Option<String>,
    /// The CB.
    pub certification_body: CertificationBody,
    /// The signatory.
    pub signatory: Signatory,
}

/// C1: the records a certificate is issued from.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    /// The stored application.
    pub application: &'a Application,
    /// The review (A9): its final scope.
    pub review: &'a Review,
    /// The certification decision (D8): must be a grant.
    pub decision: &'a DecisionRecord,
}

/// C1–C4: issues a certificate numbered `number` from `grant` and `request` on `today`,
/// recording the change by `by` on `today` (R1: the history says when it was issued; the
/// effective date is the revision's data). Every broken rule at once: a decision that is not
/// a grant or a review that did not accept (C1), an effective date before the decision or
/// more than `effective_within_days` after it (C2), no SoA version for ISO/IEC 27001 or a
/// site scope for a site that does not exist or twice (C1), dates beyond the calendar (C2).
///
/// Dates (ISO/IEC 17021-1 9.1.3.2: the cycle begins with the certification decision; 9.6.2.2:
/// surveillance at least once a calendar year except in the recertification year, the first
/// within 12 months of the decision): expiry is 3 years from the decision (C2), or from the
/// day after `previous_expiry` for a recertification (C2, C4), never from the effective
/// date; a surveillance is planned for every calendar year of the cycle before the
/// recertification (expiry) year, at least two (A8, C3).
pub fn issue(
    grant: Grant<'_>,
    request: &IssueRequest,
    number: String,
    by: &str,
    today: NaiveDate,
    jurisdiction: Jurisdiction,
    settings: &CertificateSettings,
) -> Result<Certificate, Vec<Violation>> {
    let Grant {
        application,
        review,
        decision,
    } = grant;
    let mut violations = Vec::new();
    if decision.outcome != Outcome::Grant {
        violations.push(Violation::new(
            "C1",
            "the certification decision refused certification: no certificate is issued",
        ));
    }
    if review.decision != Decision::Accept {
        violations.push(Violation::new(
            "C1",
            "the application review did not accept the application",
        ));
    }
    let decided_on = decision.decided_on;
    let effective_on = request.effective_on.unwrap_or(decided_on);
    if effective_on < decided_on {
        violations.push(Violation::new(
            "C2",
            format!(
                "the effective date {effective_on} is before the certification decision of {decided_on}"
            ),
        ));
    }
    let isms = application
        .standards
        .iter()
        .any(|s| s.code == StandardCode::Iso27001);
    if isms && request.soa_version.is_none() {
        violations.push(Violation::new(
            "C1",
            "an ISO/IEC 27001 certificate names the Statement of Applicability version: soa_version is required",
        ));
    }
    let mut site_scopes: Vec<Option<String>> = vec![None; application.sites.len()];
    for s in &request.site_scopes {
        match site_scopes.get_mut(s.site) {
            None => violations.push(Violation::new(
                "C1",
                format!(
                    "site_scopes names site {}, but the application has {} site(s)",
                    s.site,
                    application.sites.len()
                ),
            )),
            Some(Some(_)) => violations.push(Violation::new(
                "C1",
                format!("site_scopes names site {} twice", s.site),
            )),
            Some(slot) => *slot = Some(s.scope.clone()),
        }
    }
    let latest_effective = decided_on
        .checked_add_days(Days::new(settings.effective_within_days.into()))
        .max(request.previous_expiry.and_then(|p| p.succ_opt()));
    if latest_effective.is_some_and(|latest| effective_on > latest) {
        violations.push(Violation::new(
            "C2",
            format!(
                "the effective date {effective_on} is more than {} days after the certification decision of {decided_on} [cfg effective_within_days]: the cycle starts with the decision (ISO/IEC 17021-1 9.1.3.2), so a later effective date would leave the certificate without surveillance",
                settings.effective_within_days
            ),
        ));
    }
    let validity_start = match request.previous_expiry {
        None => Some(decided_on),
        Some(previous) => {
            let restore_months = match jurisdiction {
                Jurisdiction::Iaf => settings.restore_after_expiry_months,
                Jurisdiction::Cn => 0,
            };
            let window = previous.checked_add_months(Months::new(restore_months));
            if window.is_some_and(|end| decided_on > end) {
                violations.push(Violation::new(
                    "C4",
                    format!(
                        "the recertification was decided on {decided_on}, after the previous expiry {previous} and the {restore_months}-month restoration window: issue it as a new certification"
                    ),
                ));
            }
            previous.succ_opt()
        }
    };
    let gap = settings.max_gap(jurisdiction);
    let dates = validity_start.and_then(|start| dates(start, decided_on, gap, settings));
    if dates.is_none() {
        violations.push(Violation::new(
            "C2",
            "the certificate's dates run past the last representable date",
        ));
    }
    let (Some((expires_on, surveillance, recertification)), true) = (dates, violations.is_empty())
    else {
        return Err(violations);
    };

    let sites = application
        .sites
        .iter()
        .zip(site_scopes)
        .map(|(site, scope)| CertifiedSite {
            name: site.name.clone(),
            central: site.central,
            address: site.address.clone(),
            scope: scope.unwrap_or_else(|| review.scope.clone()),
        })
        .collect();
    let contents = Contents {
        organization: application.organization.legal_name.clone(),
        organization_address: application.organization.address.clone(),
        organization_legal_id: Some(application.organization.legal_id.clone()),
        sites,
        standards: application.standards.clone(),
        scope: review.scope.clone(),
        soa_version: if isms {
            request.soa_version.clone()
        } else {
            None
        },
        certification_body: settings.certification_body.clone(),
        signatory: request.signatory.clone(),
    };
    Ok(Certificate {
        number,
        status: CertificateStatus::Active,
        scope_reduced: false,
        revision: 1,
        revisions: vec![CertificateRevision {
            revision: 1,
            effective_on,
            obsolete: false,
            contents,
        }],
        decided_on,
        granted_on: effective_on,
        expires_on,
        surveillance,
        recertification,
        suspension: None,
        history: vec![Change {
            on: today,
            by: by.to_string(),
            action: Action::Issued,
            status: CertificateStatus::Active,
            revision: 1,
            reason: format!(
                "issued on the grant decision of {decided_on}, effective on {effective_on}, valid to {expires_on}"
            ),
            rule: "C2".to_string(),
            change_id: None,
            at: None,
        }],
        application_id: None,
    })
}

/// C2–C4: expiry (3 years from `validity_start`), surveillance and recertification dates;
/// `None` past the calendar's end.
fn dates(
    validity_start: NaiveDate,
    decided_on: NaiveDate,
    gap: u32,
    settings: &CertificateSettings,
) -> Option<(NaiveDate, Vec<SurveillanceDue>, Recertification)> {
    let expires_on = expiry_from(validity_start)?;
    let surveillance = surveillance_plan(decided_on, expires_on, gap)?
        .into_iter()
        .map(|due_by| SurveillanceDue {
            due_by,
            held_on: None,
            overdue: false,
        })
        .collect();
    let recertification = Recertification {
        apply_by: expires_on
            .checked_sub_months(Months::new(settings.recertification_application_months))?,
        decide_by: expires_on,
    };
    Some((expires_on, surveillance, recertification))
}

/// C3 (ISO/IEC 17021-1 9.6.2.2): the surveillance due dates of a cycle decided on
/// `decided_on` and expiring on `expires_on`: the first 12 months after the decision, each
/// next at most `gap` months after the one before and within the next calendar year, until
/// every calendar year before the recertification (expiry) year has one; at least two (A8:
/// years 1 and 2), none after the expiry. `None` past the calendar's end.
pub(crate) fn surveillance_plan(
    decided_on: NaiveDate,
    expires_on: NaiveDate,
    gap: u32,
) -> Option<Vec<NaiveDate>> {
    let mut dues = vec![first_surveillance_due(decided_on)?.min(expires_on)];
    // A cycle is 3 years plus at most a restoration window (C4): 4 audits cover it.
    while let Some(&last) = dues.last()
        && dues.len() < 4
        && (dues.len() < 2 || last.year() < expires_on.year().saturating_sub(1))
    {
        let next = next_surveillance_due(last, gap)?.min(expires_on);
        if next <= last {
            break;
        }
        dues.push(next);
    }
    Some(dues)
}
