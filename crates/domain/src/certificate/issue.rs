//! Issuance (C1–C4): the number, the contents and the dates.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Action, Certificate, CertificateRevision, Change, Recertification, SurveillanceDue};
use crate::decision::certificate_details::{IssueRequest, Signatory};
use crate::decision::{DecisionRecord, Outcome};
use crate::intake::application::{
    Address, Application, CertificateStatus, LegalId, RequestedStandard, StandardCode,
};
use crate::review::programme::{expiry_from, first_surveillance_due, next_surveillance_due};
use crate::review::{Decision, Review};
use crate::shared::settings::Jurisdiction;
use crate::shared::settings::{CertificateSettings, CertificationBody, NumberFormat};
use crate::shared::violation::Violation;

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
    // A recertification takes effect, by default, the day after the old expiry (the old
    // certificate stays in force until then), or on the decision when that is later (C4).
    let effective_on = request.effective_on.unwrap_or_else(|| {
        request
            .previous_expiry
            .and_then(|p| p.succ_opt())
            .map_or(decided_on, |next| next.max(decided_on))
    });
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
        review_required: None,
        cycle_audits: Vec::new(),
        cycle_decisions: Vec::new(),
        changes: Vec::new(),
        renewed_by: None,
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
