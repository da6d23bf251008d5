//! R2 (seed §5.8.1: keep records for the current cycle plus one full cycle; ISO/IEC
//! 17021-1:2015 9.9): until when each record is kept. Nothing is deleted: the operators' list
//! of records past their date (`GET /api/records/retention`) is for a person to act on.
//!
//! What certflow chooses, with the cycle being the certificate's three years (C2):
//! - a certificate: its expiry date plus one full cycle, 3 years ([`certificate_retain_until`]),
//!   whatever its status (a withdrawn certificate's cycle is still the one it was issued for);
//! - an application that led to a certificate: its certificate's date;
//! - an application closed without one (rejected by the review, A9, or refused by the
//!   decision, D1–D8): the day it closed plus 3 years ([`closed_retain_until`]): it never
//!   started a cycle, so "one full cycle" after its end is kept;
//! - an application still open (no certificate, not closed): not yet dated (`None`);
//! - a complaint or appeal: the later of the day it closed plus 3 years and, when it concerns
//!   a certificate (a complaint about a certified client), that certificate's date
//!   ([`case_retain_until`]); an open one: not yet dated.
//!
//! Dates: "plus 3 years" is the same calendar day 36 months later; 29 February goes to
//! 28 February (chrono's month arithmetic clamps to the month's end). A record is past its
//! date on the day after it: kept through `retain_until` ([`is_past`]).

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// R2: one full cycle, in years (C2: a certificate is valid 3 years).
pub const CYCLE_YEARS: u32 = 3;

/// R2: `day` plus `years` calendar years (29 February → 28 February in a common year).
pub fn years_after(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MAX)
}

/// R2: a certificate expiring on `expires_on` is kept until its expiry plus one full cycle.
pub fn certificate_retain_until(expires_on: NaiveDate) -> NaiveDate {
    years_after(expires_on, CYCLE_YEARS)
}

/// R2: a record closed on `closed_on` outside any cycle is kept one full cycle after.
pub fn closed_retain_until(closed_on: NaiveDate) -> NaiveDate {
    years_after(closed_on, CYCLE_YEARS)
}

/// R2: an application record: its certificate's date when it has one (`certificate_expires_on`),
/// else the day it closed plus one cycle; `None` while it is open.
pub fn application_retain_until(
    certificate_expires_on: Option<NaiveDate>,
    closed_on: Option<NaiveDate>,
) -> Option<NaiveDate> {
    match (certificate_expires_on, closed_on) {
        (Some(expires), _) => Some(certificate_retain_until(expires)),
        (None, Some(closed)) => Some(closed_retain_until(closed)),
        (None, None) => None,
    }
}

/// R2: a complaint or appeal closed on `closed_on` (`None`: still open, not yet dated),
/// concerning a certificate expiring on `certificate_expires_on` if any: the later of the
/// two dates.
pub fn case_retain_until(
    closed_on: Option<NaiveDate>,
    certificate_expires_on: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let closed = closed_retain_until(closed_on?);
    Some(match certificate_expires_on {
        Some(expires) => closed.max(certificate_retain_until(expires)),
        None => closed,
    })
}

/// R2: whether a record kept until `retain_until` is past its date on `on` (kept through
/// that day, past from the next).
pub fn is_past(retain_until: NaiveDate, on: NaiveDate) -> bool {
    retain_until < on
}

/// R2: the kinds of record dated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// `application:<id>`.
    Application,
    /// `certificate:<number>`.
    Certificate,
    /// `complaint:<reference>`.
    Complaint,
    /// `appeal:<reference>`.
    Appeal,
}

/// R2: one record and until when it is kept, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// What kind of record.
    pub kind: RecordKind,
    /// Its id, number or reference.
    pub id: String,
    /// Kept through this day.
    pub retain_until: NaiveDate,
    /// How the date was computed.
    pub basis: String,
}
