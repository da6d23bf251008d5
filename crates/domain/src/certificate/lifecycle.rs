//! The status lifecycle (C5, R1): suspend, restore, withdraw, reduce scope, revise, and
//! mark a surveillance audit held (C3, S1: from the surveillance audit recorded). Each function checks the transition, changes the
//! certificate and appends one [`Change`] (R1), or refuses with the rule it breaks.
//!
//! Transitions (C5). A certificate past its expiry date counts as expired even before the
//! sweep has marked it; one before its effective date is `pending` and changes as an active
//! one does:
//! - suspend: active only (not suspended, withdrawn or expired).
//! - restore: suspended only, no surveillance still overdue (C3), not past expiry. A
//!   suspension flagged for withdrawal may still be restored: the flag asks for a decision,
//!   it does not make one.
//! - withdraw: active or suspended.
//! - reduce scope: active or suspended; it resolves a suspension (C5: "withdrawn or scope
//!   reduced"), the certificate is active again with the `scope_reduced` flag.
//! - revise: active or suspended; the contents must change.
//! - nothing on a withdrawn certificate.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::issue::Contents;
use super::{Action, Certificate, CertificateRevision, CertificateSettings, Change, Suspension};
use crate::decision::certificate_details::{Signatory, SiteScope};
use crate::intake::application::{CertificateStatus, StandardCode};
use crate::intake::schema::{self, Cap, Format, Kind, line, multiline, opt, req};
use crate::review::programme::next_surveillance_due;
use crate::shared::error::FieldError;
use crate::shared::settings::Jurisdiction;
use crate::shared::violation::Violation;

const DATE: Kind = Kind::Text {
    cap: Cap::Chars(40),
    format: Format::Date,
};
const REASON: Kind = multiline(4000);
const STANDARD_NAMES: &[&str] = &["ISO/IEC 27001", "ISO/IEC 27701", "ISO 22301", "GB/T 30146"];

/// C5: `{"reason": "...", "resolve_by": "2026-10-01"}`; `resolve_by` defaults to
/// `suspension_months` [cfg] after the suspension and may not be later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuspendRequest {
    /// Why (failure to hold surveillance, serious failures, the client's request).
    pub reason: String,
    /// The day the suspension must be resolved by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_by: Option<NaiveDate>,
}

static SUSPEND: Kind = Kind::Object(&[req("reason", REASON), opt("resolve_by", DATE)]);

impl SuspendRequest {
    /// C5: reads the JSON body, every error at once.
    pub fn from_json(input: &Value) -> Result<SuspendRequest, Vec<FieldError>> {
        schema::read(&SUSPEND, input, "C5")
    }
}

/// C5: `{"reason": "..."}` for restore and withdraw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why.
    pub reason: String,
}

static REASON_ONLY: Kind = Kind::Object(&[req("reason", REASON)]);

impl ReasonRequest {
    /// C5: reads the JSON body, every error at once.
    pub fn from_json(input: &Value) -> Result<ReasonRequest, Vec<FieldError>> {
        schema::read(&REASON_ONLY, input, "C5")
    }
}

/// C5: `{"reason": "...", "drop_sites": [1], "drop_standards": ["ISO/IEC 27701"],
/// "scope": "..."}`: sites by index into the current revision's sites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceScopeRequest {
    /// Why.
    pub reason: String,
    /// Sites dropped (indexes into the current revision's `sites`).
    #[serde(default)]
    pub drop_sites: Vec<usize>,
    /// Standards dropped.
    #[serde(default)]
    pub drop_standards: Vec<StandardCode>,
    /// The new overall scope, when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

static REDUCE: Kind = Kind::Object(&[
    req("reason", REASON),
    opt(
        "drop_sites",
        Kind::Array {
            item: &Kind::Integer {
                min: 0,
                max: schema::MAX_SITES as i64,
            },
            max: schema::MAX_SITES,
        },
    ),
    opt(
        "drop_standards",
        Kind::Array {
            item: &Kind::Enum(STANDARD_NAMES),
            max: 4,
        },
    ),
    opt("scope", multiline(2000)),
]);

impl ReduceScopeRequest {
    /// C5: reads the JSON body, every error at once.
    pub fn from_json(input: &Value) -> Result<ReduceScopeRequest, Vec<FieldError>> {
        schema::read(&REDUCE, input, "C5")
    }
}

/// C1: `{"reason": "...", "organization": "...", "scope": "...", "soa_version": "...",
/// "signatory": {...}, "site_scopes": [...]}`: what changes; absent fields stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviseRequest {
    /// Why.
    pub reason: String,
    /// A new legal name (e.g. after a renaming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// A new overall scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A new SoA version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soa_version: Option<String>,
    /// A new signatory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Signatory>,
    /// New per-site scopes (indexes into the current revision's sites).
    #[serde(default)]
    pub site_scopes: Vec<SiteScope>,
}

static REVISE: Kind = Kind::Object(&[
    req("reason", REASON),
    opt("organization", line(200)),
    opt("scope", multiline(2000)),
    opt("soa_version", line(100)),
    opt(
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
                req("scope", multiline(2000)),
            ]),
            max: schema::MAX_SITES,
        },
    ),
]);

impl ReviseRequest {
    /// C1: reads the JSON body, every error at once.
    pub fn from_json(input: &Value) -> Result<ReviseRequest, Vec<FieldError>> {
        schema::read(&REVISE, input, "C1")
    }
}

impl Certificate {
    /// C5: the certificate as shown on `on`: every view (the operator's, the public one, the
    /// export) shows [`Certificate::status_on`] rather than the stored status, so a
    /// certificate not yet effective reads `pending` and one past its expiry `expired`
    /// everywhere. The stored certificate is not changed.
    pub fn shown_on(&self, on: NaiveDate) -> Certificate {
        Certificate {
            status: self.status_on(on),
            ..self.clone()
        }
    }

    /// C2, C5: the status on `on`: an active or suspended certificate past its expiry date is
    /// expired even before the sweep marks it; an active one before its effective date
    /// (`granted_on`) is `pending` (not yet effective).
    pub fn status_on(&self, on: NaiveDate) -> CertificateStatus {
        match self.status {
            CertificateStatus::Active | CertificateStatus::Suspended if on > self.expires_on => {
                CertificateStatus::Expired
            }
            CertificateStatus::Active if on < self.granted_on => CertificateStatus::Pending,
            s => s,
        }
    }

    /// R1: appends a change.
    pub(crate) fn record(
        &mut self,
        on: NaiveDate,
        by: &str,
        action: Action,
        reason: String,
        rule: &str,
    ) {
        self.history.push(Change {
            on,
            by: by.to_string(),
            action,
            status: self.status,
            revision: self.revision,
            reason,
            rule: rule.to_string(),
            change_id: None,
            at: None,
        });
    }

    /// C1: a new revision with `contents`, the current one kept and marked obsolete.
    pub(crate) fn new_revision(&mut self, on: NaiveDate, contents: Contents) {
        for r in &mut self.revisions {
            r.obsolete = true;
        }
        self.revision = self.revision.saturating_add(1);
        self.revisions.push(CertificateRevision {
            revision: self.revision,
            effective_on: on,
            obsolete: false,
            contents,
        });
    }

    /// C5: refuses unless the status on `on` (pending counting as active) is one of
    /// `allowed`, naming `what` was asked.
    pub(crate) fn require(
        &self,
        on: NaiveDate,
        allowed: &[CertificateStatus],
        what: &str,
    ) -> Result<(), Violation> {
        let shown = self.status_on(on);
        // A pending certificate is an active one not yet in effect: it changes as one.
        let status = match shown {
            CertificateStatus::Pending => CertificateStatus::Active,
            s => s,
        };
        if allowed.contains(&status) {
            Ok(())
        } else {
            Err(Violation::new(
                "C5",
                format!(
                    "cannot {what} certificate {}: it is {} on {on}",
                    self.number,
                    shown.name()
                ),
            ))
        }
    }
}

/// C5: suspends an active certificate on `on` until `resolve_by` (at most
/// `suspension_months` [cfg] later, the default), recorded by `by` (R1).
pub fn suspend(
    certificate: &mut Certificate,
    request: &SuspendRequest,
    by: &str,
    on: NaiveDate,
    settings: &CertificateSettings,
) -> Result<(), Violation> {
    certificate.require(on, &[CertificateStatus::Active], "suspend")?;
    let limit = on
        .checked_add_months(Months::new(settings.suspension_months))
        .ok_or_else(|| Violation::new("C5", "the suspension limit is past the calendar's end"))?;
    let resolve_by = request.resolve_by.unwrap_or(limit);
    if resolve_by <= on || resolve_by > limit {
        return Err(Violation::new(
            "C5",
            format!(
                "resolve_by {resolve_by} must be after {on} and at most {} months later ({limit})",
                settings.suspension_months
            ),
        ));
    }
    apply_suspension(certificate, &request.reason, by, on, resolve_by);
    Ok(())
}

pub(crate) fn apply_suspension(
    certificate: &mut Certificate,
    reason: &str,
    by: &str,
    on: NaiveDate,
    resolve_by: NaiveDate,
) {
    certificate.status = CertificateStatus::Suspended;
    certificate.suspension = Some(Suspension {
        since: on,
        reason: reason.to_string(),
        resolve_by,
        flagged_for_withdrawal_on: None,
    });
    certificate.record(
        on,
        by,
        Action::Suspended,
        format!("{reason} (to resolve by {resolve_by})"),
        "C5",
    );
}

/// C5: restores a suspended certificate; refused while a surveillance audit is overdue (C3)
/// or once past expiry.
pub fn restore(
    certificate: &mut Certificate,
    request: &ReasonRequest,
    by: &str,
    on: NaiveDate,
) -> Result<(), Violation> {
    certificate.require(on, &[CertificateStatus::Suspended], "restore")?;
    if let Some(s) = certificate
        .surveillance
        .iter()
        .find(|s| s.held_on.is_none() && s.due_by < on)
    {
        return Err(Violation::new(
            "C3",
            format!(
                "cannot restore certificate {}: the surveillance due by {} has not been held",
                certificate.number, s.due_by
            ),
        ));
    }
    certificate.status = CertificateStatus::Active;
    certificate.suspension = None;
    certificate.record(on, by, Action::Restored, request.reason.clone(), "C5");
    Ok(())
}

/// C5: withdraws an active or suspended certificate.
pub fn withdraw(
    certificate: &mut Certificate,
    request: &ReasonRequest,
    by: &str,
    on: NaiveDate,
) -> Result<(), Violation> {
    certificate.require(
        on,
        &[CertificateStatus::Active, CertificateStatus::Suspended],
        "withdraw",
    )?;
    certificate.status = CertificateStatus::Withdrawn;
    certificate.suspension = None;
    certificate.record(on, by, Action::Withdrawn, request.reason.clone(), "C5");
    Ok(())
}

/// C5: drops sites and standards (a new revision, C1); resolves a suspension. At least one
/// site and one standard remain; the central function stays; ISO/IEC 27701:2019 keeps
/// ISO/IEC 27001 (I3).
pub fn reduce_scope(
    certificate: &mut Certificate,
    request: &ReduceScopeRequest,
    by: &str,
    on: NaiveDate,
) -> Result<(), Violation> {
    certificate.require(
        on,
        &[CertificateStatus::Active, CertificateStatus::Suspended],
        "reduce the scope of",
    )?;
    let Some(current) = certificate.contents() else {
        return Err(Violation::new("C1", "the certificate has no revision"));
    };
    let mut contents = current.clone();
    if request.drop_sites.is_empty() && request.drop_standards.is_empty() {
        return Err(Violation::new(
            "C5",
            "a scope reduction drops at least one site or standard",
        ));
    }
    for &i in &request.drop_sites {
        match contents.sites.get(i) {
            None => {
                return Err(Violation::new(
                    "C5",
                    format!(
                        "drop_sites names site {i}, but the certificate has {} site(s)",
                        contents.sites.len()
                    ),
                ));
            }
            Some(site) if site.central => {
                return Err(Violation::new(
                    "C5",
                    format!(
                        "site {i} ({}) is the central function: it cannot be dropped",
                        site.name
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    for code in &request.drop_standards {
        if !contents.standards.iter().any(|s| s.code == *code) {
            return Err(Violation::new(
                "C5",
                format!(
                    "drop_standards names {}, which the certificate does not cover",
                    code.as_str()
                ),
            ));
        }
    }
    contents.sites = contents
        .sites
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !request.drop_sites.contains(i))
        .map(|(_, s)| s)
        .collect();
    contents
        .standards
        .retain(|s| !request.drop_standards.contains(&s.code));
    if contents.sites.is_empty() || contents.standards.is_empty() {
        return Err(Violation::new(
            "C5",
            "a scope reduction leaves at least one site and one standard: withdraw instead",
        ));
    }
    let has = |code| contents.standards.iter().any(|s| s.code == code);
    if has(StandardCode::Iso27701)
        && !has(StandardCode::Iso27001)
        && contents
            .standards
            .iter()
            .any(|s| s.code == StandardCode::Iso27701 && s.edition == "2019")
    {
        return Err(Violation::new(
            "I3",
            "ISO/IEC 27701:2019 is an extension of ISO/IEC 27001: drop both or neither",
        ));
    }
    if !contents
        .standards
        .iter()
        .any(|s| s.code == StandardCode::Iso27001)
    {
        contents.soa_version = None;
    }
    if let Some(scope) = &request.scope {
        contents.scope.clone_from(scope);
    }
    certificate.new_revision(on, contents);
    certificate.scope_reduced = true;
    certificate.status = CertificateStatus::Active;
    certificate.suspension = None;
    certificate.record(on, by, Action::ScopeReduced, request.reason.clone(), "C5");
    Ok(())
}

/// C1: revises the contents (a new revision; the old one kept, obsolete).
pub fn revise(
    certificate: &mut Certificate,
    request: &ReviseRequest,
    by: &str,
    on: NaiveDate,
) -> Result<(), Violation> {
    certificate.require(
        on,
        &[CertificateStatus::Active, CertificateStatus::Suspended],
        "revise",
    )?;
    let Some(current) = certificate.contents() else {
        return Err(Violation::new("C1", "the certificate has no revision"));
    };
    let mut contents = current.clone();
    if let Some(o) = &request.organization {
        contents.organization.clone_from(o);
    }
    if let Some(s) = &request.scope {
        contents.scope.clone_from(s);
    }
    if let Some(v) = &request.soa_version {
        contents.soa_version = Some(v.clone());
    }
    if let Some(s) = &request.signatory {
        contents.signatory = s.clone();
    }
    for s in &request.site_scopes {
        let count = contents.sites.len();
        let Some(site) = contents.sites.get_mut(s.site) else {
            return Err(Violation::new(
                "C1",
                format!(
                    "site_scopes names site {}, but the certificate has {count} site(s)",
                    s.site
                ),
            ));
        };
        site.scope.clone_from(&s.scope);
    }
    if Some(&contents) == certificate.contents() {
        return Err(Violation::new(
            "C1",
            "a revision changes the contents: nothing would change",
        ));
    }
    certificate.new_revision(on, contents);
    certificate.record(on, by, Action::Revised, request.reason.clone(), "C1");
    Ok(())
}

/// C3, S1: records the next surveillance audit as held on `held_on` (the first day of the
/// surveillance audit recorded, [`crate::cycle::apply_cycle_audit`]) and re-plans the one
/// after it from that day (at most the gap limit later, within the next calendar year). The
/// change is recorded on `today` (R1), the day it is recorded; `held_on` (not after `today`:
/// R1) is its data.
///
/// A surveillance belongs to the cycle that starts with the certification decision (ISO/IEC
/// 17021-1 9.1.3.2): `held_on` before the decision (`decided_on`), or before the last
/// surveillance already recorded in the cycle, is refused citing C3 (it depends on the stored
/// certificate, so it is a violation, a 409, not a body error).
pub fn record_surveillance(
    certificate: &mut Certificate,
    held_on: NaiveDate,
    by: &str,
    today: NaiveDate,
    jurisdiction: Jurisdiction,
    settings: &CertificateSettings,
) -> Result<(), Violation> {
    let on = held_on;
    if on > today {
        return Err(Violation::new(
            "R1",
            format!("the surveillance cannot have been held on {on}, after today ({today})"),
        ));
    }
    if on < certificate.decided_on {
        return Err(Violation::new(
            "C3",
            format!(
                "held_on {on} is before the certification decision of {} that starts the cycle of certificate {}: a surveillance audit follows the decision",
                certificate.decided_on, certificate.number
            ),
        ));
    }
    if let Some(previous) = certificate
        .surveillance
        .iter()
        .filter_map(|s| s.held_on)
        .max()
        .filter(|previous| on < *previous)
    {
        return Err(Violation::new(
            "C3",
            format!(
                "held_on {on} is before the previous surveillance audit of the cycle, held on {previous}"
            ),
        ));
    }
    certificate.require(
        on,
        &[CertificateStatus::Active, CertificateStatus::Suspended],
        "record a surveillance audit on",
    )?;
    let expires_on = certificate.expires_on;
    let mut pending = certificate
        .surveillance
        .iter_mut()
        .filter(|s| s.held_on.is_none());
    let Some(next) = pending.next() else {
        return Err(Violation::new(
            "C3",
            "every surveillance audit of the cycle is already recorded",
        ));
    };
    let due_by = next.due_by;
    next.held_on = Some(on);
    if let Some(after) = pending.next()
        && let Some(due) = next_surveillance_due(on, settings.max_gap(jurisdiction))
    {
        after.due_by = due.min(expires_on);
        after.overdue = false;
    }
    let late = if on > due_by { " (late)" } else { "" };
    certificate.record(
        today,
        by,
        Action::SurveillanceHeld,
        format!("surveillance held on {on}, due by {due_by}{late}"),
        "C3",
    );
    Ok(())
}
