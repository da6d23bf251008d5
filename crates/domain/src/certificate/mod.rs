//! The certificate (C1–C7, R1): issuance ([`issue`]), its status lifecycle ([`suspend`],
//! [`restore`], [`withdraw`], [`reduce_scope`], [`revise`]), the daily due-date sweep
//! ([`sweep`]), the public view (C6) and the IAF CertSearch export (C7). Pure: no I/O, no
//! clock; every date is passed in.
//!
//! Choices where the rules are silent:
//! - Numbers: `<prefix>-<year>-<sequence, 6 digits zero-padded>` (`CF-2026-000042`); the
//!   year is the year of issue and the sequence the component's atomic per-year counter.
//!   A sequence above 999 999 is printed in full (never truncated: numbers stay unique, C1).
//! - The cycle starts with the certification decision (C2; ISO/IEC 17021-1 9.1.3.2: "the
//!   first three-year certification cycle begins with the certification decision"). Validity
//!   counts from the decision (a recertification: from the day after the previous
//!   certificate's expiry, `previous_expiry`, when decided by then, or under IAF within
//!   `restore_after_expiry_months` [cfg, 6] after it, C4; never after it under cn), never
//!   from the effective date: a later effective date shortens the certificate's validity, it
//!   never lengthens the cycle. The effective date lies between the decision and
//!   `effective_within_days` [cfg, 90] after it (a recertification: or the day after the
//!   previous expiry); until it the certificate is `pending` ([`Certificate::status_on`]).
//!   Expiry is the certificate's last valid day, the day before the third anniversary (the
//!   month's last day when the anniversary does not exist: 2028-02-29 → 2031-02-28), the
//!   same function as the programme's ([`crate::review::programme::expiry_from`]).
//! - Surveillance (C3; ISO/IEC 17021-1 9.6.2.2) counts from the decision: the first due 12
//!   months after it, each next at most `max_gap_months` (15 IAF, 12 cn) after the one
//!   before (held, or its due date while it is not held) and within the next calendar year
//!   ([`crate::review::programme::next_surveillance_due`]), planned until every calendar year before
//!   the recertification (expiry) year has one. None in the recertification year. A
//!   surveillance recorded as held belongs to the cycle: held not before the decision nor
//!   before the one recorded before it, and not after the day it is recorded
//!   ([`record_surveillance`]).
//! - Views (C5): every view of a certificate (the operator's, [`Certificate::shown_on`]; the
//!   public one; the export) shows its status on the day asked ([`Certificate::status_on`]);
//!   the stored status is changed only by the lifecycle and the sweep.
//! - History (R1): each change is recorded on the day it is made (`on`, the component's
//!   clock): issuance on the day of issue, a surveillance on the day it is recorded; the
//!   effective date and the day a surveillance was held are data (the revision's
//!   `effective_on`, the audit's `held_on`).
//! - Recertification (C4): apply by expiry − 3 months [cfg]; decide by expiry.
//! - "Scope reduced" is a flag next to the status (a scope-reduced certificate is active or
//!   suspended), as C5 lists it "plus".

pub mod cycle_record;
mod issue;
mod lifecycle;
mod public;
mod sweep;

pub use issue::{CertifiedSite, Contents, Grant, certificate_number, issue};
// The certificate's settings (shared with the review's settings document) and the details a
// grant carries (checked with the decision), under the certificate's name too.
pub use crate::decision::certificate_details::{IssueRequest, Signatory, SiteScope};
pub use crate::shared::settings::{
    AccreditationBody, CertificateSettings, CertificationBody, NumberFormat,
    RecertificationNumbering,
};

pub use lifecycle::{
    ReasonRequest, ReduceScopeRequest, ReviseRequest, SuspendRequest, record_surveillance,
    reduce_scope, restore, revise, suspend, withdraw,
};

pub use public::{
    CertSearchRecord, CertSearchScheme, CertSearchSite, CertSearchStandard, Place,
    PublicCertificate, PublicChange, PublicSite, certsearch_record,
};
pub use sweep::sweep;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::intake::application::CertificateStatus;

/// A certificate as stored (C1, C5, R1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// The unique number (C1), e.g. `CF-2026-000042`.
    pub number: String,
    /// C5: active, suspended, withdrawn or expired, as stored; [`Certificate::status_on`] adds
    /// `pending` before the effective date and `expired` after the expiry, and every view
    /// shows that ([`Certificate::shown_on`]).
    pub status: CertificateStatus,
    /// C5: the scope was reduced at least once (the status stays active or suspended).
    #[serde(default)]
    pub scope_reduced: bool,
    /// C1: the current revision number (1 at issue).
    pub revision: u32,
    /// C1: every revision, oldest first; all but the last are obsolete.
    pub revisions: Vec<CertificateRevision>,
    /// C2, C3: the certification decision's day.
    pub decided_on: NaiveDate,
    /// C1, C2: the day of first grant (the first revision's effective date); `pending` before
    /// it.
    pub granted_on: NaiveDate,
    /// C2: the last valid day.
    pub expires_on: NaiveDate,
    /// C3: the surveillance audits of the cycle.
    pub surveillance: Vec<SurveillanceDue>,
    /// C4: recertification dates.
    pub recertification: Recertification,
    /// C5: the current suspension, if suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,
    /// R1: every change, append-only.
    pub history: Vec<Change>,
    /// The application it was issued on (set by the certificate component at issuance, so
    /// that webhook events of the certificate follow the application's; absent on
    /// certificates stored before it). Not public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    /// S3: set while a cycle audit awaits a decision (a major nonconformity, a lead auditor's
    /// recommendation other than `maintain`, a scope extension, a suspended certificate):
    /// `{"audit": "audit-3", "since": "2027-03-02", "reasons": [{"rule", "message"}]}`.
    /// Cleared by the decision on that audit ([`crate::cycle::apply_cycle_decision`]). Not
    /// public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_required: Option<cycle_record::ReviewRequired>,
    /// S1, S3, X1, X2: the cycle audits applied to the certificate, oldest first (applying
    /// one again changes nothing). Not public.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycle_audits: Vec<cycle_record::AppliedAudit>,
    /// S3, X1, X2: the cycle decisions applied to the certificate, oldest first (applying
    /// one again changes nothing). Not public.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycle_decisions: Vec<cycle_record::AppliedDecision>,
    /// G1: the changes requested, oldest first, each with its review and issuance. Not
    /// public.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<cycle_record::CertificateChange>,
    /// S5 (`recertification_numbering: new_number`): the application whose recertification
    /// renewed this certificate under a new number. The certificate then runs to its expiry
    /// and is not renewed again (S4). Not public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewed_by: Option<String>,
}

impl Certificate {
    /// C1: the current revision's contents.
    pub fn contents(&self) -> Option<&Contents> {
        self.revisions.last().map(|r| &r.contents)
    }
}

/// C1: one revision of the certificate's contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateRevision {
    /// The revision number, from 1.
    pub revision: u32,
    /// The day this revision took effect.
    pub effective_on: NaiveDate,
    /// C1: superseded by a later revision.
    pub obsolete: bool,
    /// What the certificate says.
    pub contents: Contents,
}

/// C3: one surveillance audit due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveillanceDue {
    /// The last day it may be held.
    pub due_by: NaiveDate,
    /// When it was held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_on: Option<NaiveDate>,
    /// Marked overdue by the sweep (C3, C5).
    #[serde(default)]
    pub overdue: bool,
}

/// C4: recertification dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recertification {
    /// The client applies by this day (expiry − 3 months [cfg]).
    pub apply_by: NaiveDate,
    /// The recertification decision is due by this day (the expiry).
    pub decide_by: NaiveDate,
}

/// C5: a suspension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// First day suspended.
    pub since: NaiveDate,
    /// Why (internal; not public).
    pub reason: String,
    /// Unresolved after this day → withdrawal or scope reduction (C5, 6 months [cfg]).
    pub resolve_by: NaiveDate,
    /// Set by the sweep once `resolve_by` has passed (C5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged_for_withdrawal_on: Option<NaiveDate>,
}

/// R1: what a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Issued (C1, C2).
    Issued,
    /// Suspended (C5).
    Suspended,
    /// Restored after a suspension (C5).
    Restored,
    /// Withdrawn (C5).
    Withdrawn,
    /// Scope reduced: sites or standards dropped (C5), new revision (C1).
    ScopeReduced,
    /// Contents revised, new revision (C1).
    Revised,
    /// A surveillance audit held (C3).
    SurveillanceHeld,
    /// A surveillance audit overdue (C3).
    SurveillanceOverdue,
    /// A suspension unresolved past its limit: to withdraw or reduce (C5).
    FlaggedForWithdrawal,
    /// Past its expiry (C2).
    Expired,
    /// Certification maintained after a cycle audit: by the lead auditor's positive
    /// conclusion without a major nonconformity, or by a decision (S3).
    Maintained,
    /// A cycle audit needs an independent decision before certification is maintained (S3).
    ReviewRequired,
    /// Scope extended by a decision after a scope extension audit, new revision (X1, C1).
    ScopeExtended,
    /// Continued into a new cycle by a recertification decision: new revision, new expiry
    /// (S5, C1, C2).
    Recertified,
}

impl Action {
    /// Every action, in declaration order (the pages name each one: `action.<name>`).
    pub const ALL: [Action; 14] = [
        Action::Issued,
        Action::Suspended,
        Action::Restored,
        Action::Withdrawn,
        Action::ScopeReduced,
        Action::Revised,
        Action::SurveillanceHeld,
        Action::SurveillanceOverdue,
        Action::FlaggedForWithdrawal,
        Action::Expired,
        Action::Maintained,
        Action::ReviewRequired,
        Action::ScopeExtended,
        Action::Recertified,
    ];
}

/// R1: one append-only change: who, when, what, why and the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The day the change was made (R1: the component's clock, never a date from the body).
    pub on: NaiveDate,
    /// Who (R1): the authenticated principal that made the change, e.g. `operator:<name>`
    /// (also for the due-date sweep, recorded as whoever ran it).
    pub by: String,
    /// What.
    pub action: Action,
    /// The status after the change.
    pub status: CertificateStatus,
    /// The revision after the change.
    pub revision: u32,
    /// Why (internal; not public).
    pub reason: String,
    /// The rule relied on, e.g. `"C5"`.
    pub rule: String,
    /// The id of the state change that wrote this entry (see
    /// [`crate::record::StatusChange::change_id`]); never shown publicly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    /// When the change was written (the component's clock; set with the change id, so that
    /// a webhook subscription made later the same day does not receive it). Absent on
    /// changes written before it existed; never shown publicly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What the certificate component reads of the CB's settings document (`GET /api/settings`):
/// the jurisdiction (C3–C5 variants) and the `certificate` section. The document was checked
/// whole when it was stored ([`crate::review::Settings::from_json`]); its other keys are
/// skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CertificateConfig {
    /// IAF or cn.
    #[serde(default)]
    pub jurisdiction: crate::shared::settings::Jurisdiction,
    /// C1–C5 settings.
    #[serde(default)]
    pub certificate: CertificateSettings,
}
