//! The public verification view (C6) and the IAF CertSearch export (C7).
//!
//! What is public (C6: "number, organisation, sites, standard and edition, scope, dates,
//! status and its history — nothing personal"), and what is left out:
//! - in: the number and revision; the organisation's legal name, city and country; each
//!   site's name, city, country and scope; the standards with edition; the overall scope; the
//!   CB's name and mark; the signatory's *role*; the grant, effective and expiry dates; the
//!   status, the scope-reduced flag, and each change's day, action, status, revision and rule.
//! - out: the application's contact person and everything else in it (I8); street addresses
//!   and postcodes (the printed certificate carries them, C1; a public lookup needs only the
//!   place); the signatory's name and who made each change (CB staff are people, C6); the
//!   reasons of changes and suspensions (internal notes, R3); a review required after a cycle
//!   audit (S3: internal until its decision), G1 change requests; surveillance dates (the audit
//!   programme is a record, R3).
//!
//! The revision shown is the one in force on the day asked: a recertification's new revision
//! (S5) is named `next_revision` until it takes effect.
//!
//! The status shown is the one on the day asked ([`Certificate::status_on`]): `pending` before
//! the effective date, `expired` after the expiry even before the daily [`super::sweep`] marks
//! it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Action, Certificate, CertificateSettings, Contents};
use crate::intake::application::{CertificateStatus, LegalIdType, RequestedStandard, StandardCode};

/// C6: a place: city and country only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// C6: a certified site, publicly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSite {
    /// Site name.
    pub name: String,
    /// Where it is.
    pub place: Place,
    /// Whether it is the central function.
    pub central: bool,
    /// Its scope.
    pub scope: String,
}

/// C6: one change, publicly: no person, no reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicChange {
    /// The day.
    pub on: NaiveDate,
    /// What.
    pub action: Action,
    /// The status after it.
    pub status: CertificateStatus,
    /// The revision after it.
    pub revision: u32,
    /// The rule relied on.
    pub rule: String,
}

/// C6, S5: a revision issued but not yet in effect (a recertification's new cycle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextRevision {
    /// Its number (C1).
    pub revision: u32,
    /// The day it takes effect.
    pub effective_on: NaiveDate,
}

/// C6: the public verification view of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicCertificate {
    /// The certificate number.
    pub number: String,
    /// The revision in force on the day asked (C1): the latest one effective by then.
    pub revision: u32,
    /// The certified organisation's legal name.
    pub organization: String,
    /// Where it is registered.
    pub organization_place: Place,
    /// The certified sites.
    pub sites: Vec<PublicSite>,
    /// Standards with edition.
    pub standards: Vec<RequestedStandard>,
    /// The overall scope.
    pub scope: String,
    /// The CB's name.
    pub certification_body: String,
    /// The CB's accreditation mark, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
    /// The signatory's role (not the name).
    pub signatory_role: String,
    /// First granted.
    pub granted_on: NaiveDate,
    /// The shown revision's effective date.
    pub effective_on: NaiveDate,
    /// S5: a later revision already issued that takes effect after the day asked (a
    /// recertification decided before the old expiry); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_revision: Option<NextRevision>,
    /// The last valid day.
    pub expires_on: NaiveDate,
    /// The status on the day asked (C5): `pending` before the effective date, `expired`
    /// after the last valid day.
    pub status: CertificateStatus,
    /// Whether the scope was reduced.
    pub scope_reduced: bool,
    /// The status history.
    pub history: Vec<PublicChange>,
}

impl Certificate {
    /// C6: the public view on `today`: nothing personal, no internal notes (see the module
    /// docs). A certificate past its expiry shows as expired even before the sweep marks it
    /// ([`Certificate::status_on`]).
    pub fn public_view(&self, today: NaiveDate) -> PublicCertificate {
        // S5: a renewal's new revision is issued on the decision and takes effect the day
        // after the old expiry; until then the revision in force is the one shown.
        let last = self.revisions.last();
        let current = self
            .revisions
            .iter()
            .rev()
            .find(|r| r.effective_on <= today)
            .or(last);
        let next_revision = last
            .filter(|r| r.effective_on > today && current.is_some_and(|c| c.revision != r.revision))
            .map(|r| NextRevision {
                revision: r.revision,
                effective_on: r.effective_on,
            });
        let contents = current.map(|r| &r.contents);
        PublicCertificate {
            number: self.number.clone(),
            revision: current.map_or(self.revision, |r| r.revision),
            organization: contents.map(|c| c.organization.clone()).unwrap_or_default(),
            organization_place: Place {
                city: contents
                    .map(|c| c.organization_address.city.clone())
                    .unwrap_or_default(),
                country: contents
                    .map(|c| c.organization_address.country.clone())
                    .unwrap_or_default(),
            },
            sites: contents
                .map(|c| {
                    c.sites
                        .iter()
                        .map(|s| PublicSite {
                            name: s.name.clone(),
                            place: Place {
                                city: s.address.city.clone(),
                                country: s.address.country.clone(),
                            },
                            central: s.central,
                            scope: s.scope.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            standards: contents.map(|c| c.standards.clone()).unwrap_or_default(),
            scope: contents.map(|c| c.scope.clone()).unwrap_or_default(),
            certification_body: contents
                .map(|c| c.certification_body.name.clone())
                .unwrap_or_default(),
            mark: contents.and_then(|c| c.certification_body.mark.clone()),
            signatory_role: contents
                .map(|c| c.signatory.role.clone())
                .unwrap_or_default(),
            granted_on: self.granted_on,
            effective_on: current.map_or(self.granted_on, |r| r.effective_on),
            next_revision,
            expires_on: self.expires_on,
            status: self.status_on(today),
            scope_reduced: self.scope_reduced,
            history: self
                .history
                .iter()
                // S3: a review awaiting a decision is internal until decided (R3); its
                // outcome (maintained, suspended, ...) is public.
                .filter(|h| h.action != Action::ReviewRequired)
                .map(|h| PublicChange {
                    on: h.on,
                    action: h.action,
                    status: h.status,
                    revision: h.revision,
                    rule: h.rule.clone(),
                })
                .collect(),
        }
    }
}

/// C7: one standard of a CertSearch scheme (`standard_list[]` items are objects).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSearchStandard {
    /// The standard with edition, e.g. `"ISO/IEC 27001:2022"`.
    pub standards_name: String,
}

/// C7: one scheme of a CertSearch record and its standards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSearchScheme {
    /// The management system: `"ISMS"`, `"PIMS"` or `"BCMS"`.
    pub scheme_name: String,
    /// Its standards, at least one.
    pub standard_list: Vec<CertSearchStandard>,
}

/// C7: one certified site of a CertSearch record, in the upload API's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSearchSite {
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// State or province: the application does not ask for one, so always empty.
    pub state: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `"CN"`.
    pub country: String,
    /// Postcode, empty where there is none.
    pub postcode: String,
    /// The site's scope.
    pub scope_description: String,
}

/// C7: a certificate as one record of IAF CertSearch's Certification Body upload API
/// (`POST https://api.iafcertsearch.org/api/client/v1/cb/upload-cert`, documented at
/// <https://support.iafcertsearch.org/docs/api-access/certification-body-apis/certification-api/upload-certification>;
/// IAF MD 28). Every field the API marks mandatory is present and non-empty:
/// `certificate_number`, `certification_status`, `certificate_accreditation_status`
/// (`Accredited` or `Unaccredited`), `certification_type`, `certification_issue_date` and
/// `certification_expiry_date` (`YYYYMMDD`), `certified_entity_name`,
/// `certified_entity_unique_id`, `certified_entity_street_address`,
/// `certified_entity_street_city`, `certified_entity_country`, `accreditation_body_name`,
/// `accreditation_body_acronym_name` and `schemes` (`[{scheme_name, standard_list:
/// [{standards_name}]}]`); of the optional ones it fills `certification_scope`,
/// `certification_original_issue_date`, `certified_entity_post_code` (when known) and
/// `sites` (`[{street, city, state, country, postcode, scope_description}]`). The API takes
/// no CB name (the uploading CB is the API key's owner), so none is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSearchRecord {
    /// The certificate number.
    pub certificate_number: String,
    /// The status on the export's day in the API's values: `active`, `suspended`,
    /// `withdrawn`, `expired`, or `inactive` for a certificate not yet effective (certflow's
    /// `pending`: the API has no such value).
    pub certification_status: String,
    /// `Accredited` or `Unaccredited` ([`super::AccreditationBody::accredited`]).
    pub certificate_accreditation_status: String,
    /// Always `Management System` (CertSearch's certification type for ISO/IEC 27001, 27701
    /// and ISO 22301 certificates).
    pub certification_type: String,
    /// The overall scope.
    pub certification_scope: String,
    /// The first grant (the first effective date), `YYYYMMDD`.
    pub certification_original_issue_date: String,
    /// The current revision's effective date, `YYYYMMDD`.
    pub certification_issue_date: String,
    /// The last valid day, `YYYYMMDD`.
    pub certification_expiry_date: String,
    /// The certified organisation's legal name.
    pub certified_entity_name: String,
    /// The organisation's stable id across its certificates: its legal-status document as
    /// `<type>:<number>` (e.g. `uscc:91310000MA1FL8XQ3C`, a public business registration),
    /// or `certificate:<number>` for a certificate stored before the id was kept.
    pub certified_entity_unique_id: String,
    /// The registered street address.
    pub certified_entity_street_address: String,
    /// The registered city.
    pub certified_entity_street_city: String,
    /// The registered postcode, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certified_entity_post_code: Option<String>,
    /// The registered country, ISO 3166-1 alpha-2 (e.g. `CN`).
    pub certified_entity_country: String,
    /// The accreditation body's name [cfg].
    pub accreditation_body_name: String,
    /// The accreditation body's acronym [cfg].
    pub accreditation_body_acronym_name: String,
    /// Schemes and their standards.
    pub schemes: Vec<CertSearchScheme>,
    /// The certified sites.
    pub sites: Vec<CertSearchSite>,
}

fn yyyymmdd(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

fn scheme_of(code: StandardCode) -> &'static str {
    match code {
        StandardCode::Iso27001 => "ISMS",
        StandardCode::Iso27701 => "PIMS",
        StandardCode::Iso22301 | StandardCode::GbT30146 => "BCMS",
    }
}

/// C7: CertSearch's `certification_status` for certflow's status.
fn certsearch_status(status: CertificateStatus) -> &'static str {
    match status {
        CertificateStatus::Active => "active",
        CertificateStatus::Suspended => "suspended",
        CertificateStatus::Withdrawn => "withdrawn",
        CertificateStatus::Expired => "expired",
        CertificateStatus::Pending => "inactive",
    }
}

fn legal_id_type(kind: LegalIdType) -> &'static str {
    match kind {
        LegalIdType::Uscc => "uscc",
        LegalIdType::BusinessRegistration => "business_registration",
        LegalIdType::TaxId => "tax_id",
        LegalIdType::Other => "other",
    }
}

/// C7: the CertSearch record of `certificate` with its status on `today` (pending, expired
/// as [`Certificate::status_on`]) and the accreditation body of `settings`. Nothing personal
/// leaves (C6, I8): no contact, no signatory, no history; the organisation's and sites'
/// business addresses are what CertSearch asks for.
pub fn certsearch_record(
    certificate: &Certificate,
    today: NaiveDate,
    settings: &CertificateSettings,
) -> CertSearchRecord {
    let current = certificate.revisions.last();
    let contents = current.map(|r| &r.contents);
    let mut schemes: Vec<CertSearchScheme> = Vec::new();
    for s in contents.map(|c| c.standards.as_slice()).unwrap_or_default() {
        let name = scheme_of(s.code);
        let standard = CertSearchStandard {
            standards_name: format!("{}:{}", s.code.as_str(), s.edition),
        };
        match schemes.iter_mut().find(|x| x.scheme_name == name) {
            Some(scheme) => scheme.standard_list.push(standard),
            None => schemes.push(CertSearchScheme {
                scheme_name: name.to_string(),
                standard_list: vec![standard],
            }),
        }
    }
    let address = contents.map(|c| &c.organization_address);
    let text = |f: &dyn Fn(&Contents) -> String| contents.map(f).unwrap_or_default();
    let ab = &settings.accreditation_body;
    CertSearchRecord {
        certificate_number: certificate.number.clone(),
        certification_status: certsearch_status(certificate.status_on(today)).to_string(),
        certificate_accreditation_status: if ab.accredited {
            "Accredited"
        } else {
            "Unaccredited"
        }
        .to_string(),
        certification_type: "Management System".to_string(),
        certification_scope: text(&|c| c.scope.clone()),
        certification_original_issue_date: yyyymmdd(certificate.granted_on),
        certification_issue_date: yyyymmdd(
            current.map_or(certificate.granted_on, |r| r.effective_on),
        ),
        certification_expiry_date: yyyymmdd(certificate.expires_on),
        certified_entity_name: text(&|c| c.organization.clone()),
        certified_entity_unique_id: match contents.and_then(|c| c.organization_legal_id.as_ref()) {
            Some(id) => format!("{}:{}", legal_id_type(id.kind), id.number),
            None => format!("certificate:{}", certificate.number),
        },
        certified_entity_street_address: address.map(|a| a.street.clone()).unwrap_or_default(),
        certified_entity_street_city: address.map(|a| a.city.clone()).unwrap_or_default(),
        certified_entity_post_code: address.and_then(|a| a.postcode.clone()),
        certified_entity_country: address.map(|a| a.country.clone()).unwrap_or_default(),
        accreditation_body_name: ab.name.trim().to_string(),
        accreditation_body_acronym_name: ab.acronym.trim().to_string(),
        schemes,
        sites: contents
            .map(|c| {
                c.sites
                    .iter()
                    .map(|s| CertSearchSite {
                        street: s.address.street.clone(),
                        city: s.address.city.clone(),
                        state: String::new(),
                        country: s.address.country.clone(),
                        postcode: s.address.postcode.clone().unwrap_or_default(),
                        scope_description: s.scope.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}
