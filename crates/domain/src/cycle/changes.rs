//! G1 (seed §5.6.5): a change of the certified client's name, address, sites or scope is
//! requested, reviewed (does it need an audit? with the reason) and issued as a new revision
//! of the certificate, the old one kept, obsolete (C1). A change that needs an audit is
//! issued only after a special audit made after the request was concluded positively: by a
//! positive decision (maintain, restore, extend_scope) or, for a short-notice audit, by the
//! lead auditor's positive conclusion without a major (S3).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    CertificateChange, ChangeIssued, ChangeRequest, ChangeReview, CycleAuditKind, Maintenance,
};
use crate::certificate::{Action, Certificate, CertifiedSite, Contents};
use crate::error::FieldError;
use crate::intake::application::CertificateStatus;
use crate::intake::schema::{self, ADDRESS, Kind, line, multiline, opt, req};
use crate::violation::Violation;

static CHANGE: Kind = Kind::Object(&[
    req("reason", multiline(4000)),
    opt("organization", line(200)),
    opt("organization_address", Kind::Object(ADDRESS)),
    opt("scope", multiline(2000)),
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
    opt(
        "add_sites",
        Kind::Array {
            item: &Kind::Object(&[
                req("name", line(200)),
                req("address", Kind::Object(ADDRESS)),
                req("scope", multiline(2000)),
            ]),
            max: schema::MAX_SITES,
        },
    ),
]);

impl ChangeRequest {
    /// G1: reads the JSON body, every error at once (citing G1).
    pub fn from_json(input: &Value) -> Result<ChangeRequest, Vec<FieldError>> {
        schema::read(&CHANGE, input, "G1")
    }

    /// G1, C1: `current` with this change made; refused citing C1 for a site index the
    /// certificate does not have, and G1 when nothing would change.
    pub fn applied_to(&self, current: &Contents) -> Result<Contents, Violation> {
        let mut contents = current.clone();
        if let Some(o) = &self.organization {
            contents.organization.clone_from(o);
        }
        if let Some(a) = &self.organization_address {
            contents.organization_address = a.clone();
        }
        if let Some(s) = &self.scope {
            contents.scope.clone_from(s);
        }
        for s in &self.site_scopes {
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
        for s in &self.add_sites {
            contents.sites.push(CertifiedSite {
                name: s.name.clone(),
                central: false,
                address: s.address.clone(),
                scope: s.scope.clone(),
            });
        }
        if contents == *current {
            return Err(Violation::new(
                "G1",
                "the change changes nothing the certificate says",
            ));
        }
        Ok(contents)
    }
}

/// G1: `{"needs_audit": true, "reason": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeReviewRequest {
    /// Whether the change needs a special audit before it is issued.
    pub needs_audit: bool,
    /// Why (or why not).
    pub reason: String,
}

static REVIEW: Kind = Kind::Object(&[
    req("needs_audit", Kind::Bool),
    req("reason", multiline(4000)),
]);

impl ChangeReviewRequest {
    /// G1: reads the JSON body, every error at once (citing G1).
    pub fn from_json(input: &Value) -> Result<ChangeReviewRequest, Vec<FieldError>> {
        schema::read(&REVIEW, input, "G1")
    }
}

const OPEN: &[CertificateStatus] = &[CertificateStatus::Active, CertificateStatus::Suspended];

fn change_mut<'a>(
    c: &'a mut Certificate,
    id: &str,
) -> Result<&'a mut CertificateChange, Violation> {
    let number = c.number.clone();
    c.changes
        .iter_mut()
        .find(|ch| ch.id == id)
        .ok_or_else(|| Violation::new("G1", format!("certificate {number} has no change {id}")))
}

/// G1: records the change `request` on certificate `c` (active or suspended, C5), made by
/// `by` on `today`; refused when it would change nothing (G1) or names a site the
/// certificate does not have (C1). Returns the change's id.
pub fn request_change(
    c: &mut Certificate,
    request: ChangeRequest,
    by: &str,
    today: NaiveDate,
) -> Result<String, Violation> {
    c.require(today, OPEN, "request a change of")?;
    let Some(current) = c.contents() else {
        return Err(Violation::new("C1", "the certificate has no revision"));
    };
    request.applied_to(current)?;
    let id = format!("change-{}", c.changes.len() + 1);
    c.changes.push(CertificateChange {
        id: id.clone(),
        requested_on: today,
        requested_by: by.to_string(),
        request,
        audits_applied_before: c.cycle_audits.len(),
        review: None,
        issued: None,
    });
    Ok(id)
}

/// G1: records the review of change `id` (does it need an audit, and why), once, before it
/// is issued.
pub fn review_change(
    c: &mut Certificate,
    id: &str,
    review: ChangeReviewRequest,
    by: &str,
    today: NaiveDate,
) -> Result<(), Violation> {
    let change = change_mut(c, id)?;
    if let Some(r) = &change.review {
        return Err(Violation::new(
            "G1",
            format!("change {id} was already reviewed on {} by {}", r.on, r.by),
        ));
    }
    change.review = Some(ChangeReview {
        needs_audit: review.needs_audit,
        reason: review.reason,
        by: by.to_string(),
        on: today,
    });
    Ok(())
}

/// G1: the special audit made for `change` that was concluded positively, if any: one
/// applied to the certificate after the change was requested and starting on or after its
/// day, with a positive decision on it (X1, X2), or a short-notice audit maintained by the
/// lead auditor's positive conclusion (S3). An audit held the same day but applied before
/// the request was not made for it.
fn positive_special_audit(c: &Certificate, change: &CertificateChange) -> Option<String> {
    let since = change.requested_on;
    let after: Vec<_> = c
        .cycle_audits
        .iter()
        .skip(change.audits_applied_before)
        .filter(|a| a.starts_on >= since)
        .collect();
    c.cycle_decisions
        .iter()
        .find(|d| {
            d.audit_kind.is_special()
                && d.outcome.is_positive()
                && d.decided_on >= since
                && after.iter().any(|a| a.audit == d.audit)
        })
        .map(|d| d.audit.clone())
        .or_else(|| {
            after
                .iter()
                .find(|a| {
                    a.kind == CycleAuditKind::ShortNotice && a.outcome == Maintenance::Maintained
                })
                .map(|a| a.audit.clone())
        })
}

/// G1, C1: issues change `id` as a new revision (the old one kept, obsolete) on `today`,
/// recorded by `by` with history `revised` (rule G1). Refused: not yet reviewed, already
/// issued, needing an audit while no special audit made since the request was concluded
/// positively (G1); the certificate not active or suspended (C5); nothing left to change
/// (G1).
pub fn issue_change(
    c: &mut Certificate,
    id: &str,
    by: &str,
    today: NaiveDate,
) -> Result<(), Violation> {
    c.require(today, OPEN, "issue a change of")?;
    let change = change_mut(c, id)?.clone();
    let Some(review) = &change.review else {
        return Err(Violation::new(
            "G1",
            format!("change {id} is not reviewed yet: review it first (does it need an audit?)"),
        ));
    };
    if let Some(issued) = &change.issued {
        return Err(Violation::new(
            "G1",
            format!(
                "change {id} was already issued as revision {}",
                issued.revision
            ),
        ));
    }
    let audit = if review.needs_audit {
        let Some(audit) = positive_special_audit(c, &change) else {
            return Err(Violation::new(
                "G1",
                format!(
                    "change {id} needs an audit ({}): no special audit since the request of {} is decided positively",
                    review.reason, change.requested_on
                ),
            ));
        };
        Some(audit)
    } else {
        None
    };
    let Some(current) = c.contents() else {
        return Err(Violation::new("C1", "the certificate has no revision"));
    };
    let contents = change.request.applied_to(current)?;
    c.new_revision(today, contents);
    let relied = audit
        .as_deref()
        .map_or_else(String::new, |a| format!(", after audit {a}"));
    c.record(
        today,
        by,
        Action::Revised,
        format!("change {id} issued: {}{relied}", change.request.reason),
        "G1",
    );
    let revision = c.revision;
    let slot = change_mut(c, id)?;
    slot.issued = Some(ChangeIssued {
        revision,
        audit,
        by: by.to_string(),
        on: today,
    });
    Ok(())
}
