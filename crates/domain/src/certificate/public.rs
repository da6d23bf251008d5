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
//!   reasons of changes and suspensions (internal notes, R3); surveillance dates (the audit
//!   programme is a record, R3).
//!
//! The status shown is the stored one: the daily [`super::sweep`] keeps it current.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Action, Certificate};
use crate::application::{CertificateStatus, RequestedStandard, StandardCode};

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

/// C6: the public verification view of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicCertificate {
    /// The certificate number.
    pub number: String,
    /// The current revision (C1).
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
    /// The current revision's effective date.
    pub effective_on: NaiveDate,
    /// The last valid day.
    pub expires_on: NaiveDate,
    /// The status.
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
        let current = self.revisions.last();
        let contents = current.map(|r| &r.contents);
        PublicCertificate {
            number: self.number.clone(),
            revision: self.revision,
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
            expires_on: self.expires_on,
            status: self.status_on(today),
            scope_reduced: self.scope_reduced,
            history: self
                .history
                .iter()
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

/// C7: one scheme of a CertSearch record and its standards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSearchScheme {
    /// The management system: `"ISMS"`, `"PIMS"` or `"BCMS"`.
    pub scheme_name: String,
    /// Standards with edition, e.g. `"ISO/IEC 27001:2022"`.
    pub standard_list: Vec<String>,
}

/// C7: one site of a CertSearch record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSearchSite {
    /// Site name.
    pub site_name: String,
    /// City.
    pub site_city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub site_country: String,
    /// Whether it is the main (central) site.
    pub is_main_site: bool,
    /// The site's scope.
    pub site_scope: String,
}

/// C7: a certificate in IAF CertSearch's record shape. Field names follow C7; the others
/// (`certification_original_issue_date`, `certification_scope`, `certification_body_name`,
/// `scheme_name`, `site_*`) are this module's choice, in the same style. Dates are
/// `YYYYMMDD`; `certification_issue_date` is the current revision's effective date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSearchRecord {
    /// The certificate number.
    pub certificate_number: String,
    /// `active`, `suspended`, `withdrawn` or `expired`.
    pub certification_status: CertificateStatus,
    /// The certified organisation's legal name.
    pub certified_entity_name: String,
    /// The current revision's effective date, `YYYYMMDD`.
    pub certification_issue_date: String,
    /// The first grant, `YYYYMMDD`.
    pub certification_original_issue_date: String,
    /// The last valid day, `YYYYMMDD`.
    pub certification_expiry_date: String,
    /// The overall scope.
    pub certification_scope: String,
    /// The CB.
    pub certification_body_name: String,
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

/// C7: the CertSearch record of `certificate`, built from its public view (C6: nothing
/// personal leaves through the export either), with its status on `today`.
pub fn certsearch_record(certificate: &Certificate, today: NaiveDate) -> CertSearchRecord {
    let view = certificate.public_view(today);
    let mut schemes: Vec<CertSearchScheme> = Vec::new();
    for s in &view.standards {
        let name = scheme_of(s.code);
        let standard = format!("{}:{}", s.code.as_str(), s.edition);
        match schemes.iter_mut().find(|x| x.scheme_name == name) {
            Some(scheme) => scheme.standard_list.push(standard),
            None => schemes.push(CertSearchScheme {
                scheme_name: name.to_string(),
                standard_list: vec![standard],
            }),
        }
    }
    CertSearchRecord {
        certificate_number: view.number,
        certification_status: view.status,
        certified_entity_name: view.organization,
        certification_issue_date: yyyymmdd(view.effective_on),
        certification_original_issue_date: yyyymmdd(view.granted_on),
        certification_expiry_date: yyyymmdd(view.expires_on),
        certification_scope: view.scope,
        certification_body_name: view.certification_body,
        schemes,
        sites: view
            .sites
            .into_iter()
            .map(|s| CertSearchSite {
                site_name: s.name,
                site_city: s.place.city,
                site_country: s.place.country,
                is_main_site: s.central,
                site_scope: s.scope,
            })
            .collect(),
    }
}
