//! The cycle's records as the certificate keeps them (S1, S3, X1, X2, G1; docs/CYCLE.md):
//! the audits and decisions applied to it, the review it awaits and its changes. Only the
//! shapes live here, so the certificate can hold them; the rules that make and apply them
//! are [`crate::cycle`]'s.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::SiteScope;
use crate::explain::Reason;
use crate::intake::application::Address;

/// What a cycle audit was for (S1, X1, X2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleAuditKind {
    /// A surveillance audit, `surveillance_1` or `surveillance_2` (S1).
    Surveillance,
    /// A special audit for a scope extension (X1).
    ScopeExtension,
    /// A special short-notice audit (X2).
    ShortNotice,
}

/// S3: what applying a cycle audit concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Maintenance {
    /// Certification maintained without a decision (S3).
    Maintained,
    /// An independent decision is needed (S3).
    ReviewRequired,
}

/// S3: a cycle audit awaiting a decision, as the certificate shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRequired {
    /// The audit's id: the decision names it (`POST /api/applications/:id/decision`).
    pub audit: String,
    /// The day the review was required (the day the audit was applied).
    pub since: NaiveDate,
    /// Why, each with its rule (S3, X1, C5, C3).
    pub reasons: Vec<Reason>,
}

/// S1, S3: one cycle audit applied to the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedAudit {
    /// The audit's id.
    pub audit: String,
    /// What it was for.
    pub kind: CycleAuditKind,
    /// Its first day.
    pub starts_on: NaiveDate,
    /// The day it was applied (R1: the component's clock).
    pub applied_on: NaiveDate,
    /// Maintained, or a review required.
    pub outcome: Maintenance,
}

/// S3, X1, X2: what a decision on a cycle audit decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleOutcome {
    /// Certification maintained (S3); the certificate stays active.
    Maintain,
    /// The certificate suspended (C5).
    Suspend,
    /// The certificate withdrawn (C5).
    Withdraw,
    /// A suspended certificate restored after a surveillance or short-notice audit (X2, C5).
    Restore,
    /// The scope extended after a scope extension audit: a new revision (X1, C1).
    ExtendScope,
}

/// S3, X1, X2: one cycle decision applied to the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDecision {
    /// The decision's id.
    pub decision: String,
    /// The audit it decided on.
    pub audit: String,
    /// What the audit was for.
    pub audit_kind: CycleAuditKind,
    /// What was decided.
    pub outcome: CycleOutcome,
    /// The day of the decision.
    pub decided_on: NaiveDate,
    /// The day it was applied (R1: the component's clock).
    pub applied_on: NaiveDate,
}

/// G1: a site added by a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    /// Site name.
    pub name: String,
    /// Its address.
    pub address: Address,
    /// Its scope.
    pub scope: String,
}

/// G1: what an operator asks to change (`POST /api/certificates/:number/changes`):
/// `{"reason": "...", "organization": "...", "organization_address": {...}, "scope": "...",
/// "site_scopes": [{"site": 0, "scope": "..."}], "add_sites": [{"name", "address",
/// "scope"}]}`; absent fields stay; at least one thing changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// Why (the client's notification).
    pub reason: String,
    /// A new legal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// A new registered address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_address: Option<Address>,
    /// A new overall scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// New per-site scopes (indexes into the current revision's sites).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub site_scopes: Vec<SiteScope>,
    /// Sites added (dropping sites is a scope reduction, C5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_sites: Vec<NewSite>,
}

/// G1: the review of a change (R1: who, when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeReview {
    /// Whether the change needs a special audit.
    pub needs_audit: bool,
    /// Why.
    pub reason: String,
    /// Who reviewed it (the authenticated operator).
    pub by: String,
    /// When.
    pub on: NaiveDate,
}

/// G1: the issuance of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeIssued {
    /// The revision it issued (C1).
    pub revision: u32,
    /// The special audit it relied on, when it needed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<String>,
    /// Who issued it (the authenticated operator).
    pub by: String,
    /// When.
    pub on: NaiveDate,
}

/// G1: a change as kept on the certificate, append-only: requested, then reviewed, then
/// issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateChange {
    /// Its id, `change-1`, ... on the certificate.
    pub id: String,
    /// The day it was requested.
    pub requested_on: NaiveDate,
    /// Who recorded the request (the authenticated operator).
    pub requested_by: String,
    /// What changes.
    pub request: ChangeRequest,
    /// How many cycle audits the certificate had applied when the change was requested: a
    /// change that needs an audit relies only on one applied after it (G1). 0 on changes
    /// stored before it was kept, and after a recertification cleared the applied audits.
    #[serde(default)]
    pub audits_applied_before: usize,
    /// The review, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ChangeReview>,
    /// The issuance, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<ChangeIssued>,
}
