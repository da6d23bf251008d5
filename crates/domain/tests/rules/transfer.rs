//! Rule A10: transfer of a certificate from another CB (IAF MD2): each refusal, and the
//! "6 months or expiry, whichever first" deadline at its boundary.

use crate::common::{day, today, valid_application};
use certflow_domain::Application;
use certflow_domain::intake::application::{CertificateStatus, Transfer};
use certflow_domain::review::transfer::{TransferCheck, check, check_application};
use chrono::NaiveDate;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn transfer(status: CertificateStatus, expires_on: NaiveDate, ceased: bool) -> Transfer {
    Transfer {
        previous_cb: "Old CB Ltd".into(),
        certificate_number: "ISMS-2024-001".into(),
        status,
        expires_on,
        issuing_cb_ceased: ceased,
    }
}

fn judged(status: CertificateStatus, expires_on: NaiveDate, ceased: bool) -> TransferCheck {
    check(&transfer(status, expires_on, ceased), today()).value
}

#[test]
fn a10_active_valid_certificate_transfers() {
    let c = judged(CertificateStatus::Active, day(2027, 6, 1), false);
    assert!(c.eligible);
    assert_eq!(c.complete_by, None);
    assert_eq!(c.reasons.len(), 1);
    assert_eq!(c.reasons[0].rule, "A10");
}

#[test]
fn a10_suspended_certificate_is_refused() {
    let c = judged(CertificateStatus::Suspended, day(2027, 6, 1), false);
    assert!(!c.eligible);
    assert!(c.reasons[0].message.contains("suspended"));
    assert!(c.reasons[0].message.contains("new client"));
}

#[test]
fn a10_withdrawn_certificate_is_refused() {
    let c = judged(CertificateStatus::Withdrawn, day(2027, 6, 1), false);
    assert!(!c.eligible);
    assert!(c.reasons[0].message.contains("withdrawn"));
}

#[test]
fn a10_expired_status_is_refused() {
    let c = judged(CertificateStatus::Expired, day(2027, 6, 1), false);
    assert!(!c.eligible);
    assert_eq!(c.reasons.len(), 1);
    assert!(c.reasons[0].message.contains("expired"));
}

#[test]
fn a10_past_expiry_is_refused_even_when_declared_active() {
    // `expires_on` is the last valid day: valid on it, expired the day after.
    assert!(judged(CertificateStatus::Active, today(), false).eligible);
    let c = judged(CertificateStatus::Active, day(2026, 11, 22), false);
    assert!(!c.eligible);
    assert!(c.reasons[0].message.contains("expired on 2026-11-22"));
}

#[test]
fn a10_every_refusal_at_once() {
    let c = judged(CertificateStatus::Suspended, day(2026, 1, 1), true);
    assert!(!c.eligible);
    assert_eq!(c.reasons.len(), 2);
    assert!(c.reasons.iter().all(|r| r.rule == "A10"));
    // Nothing to complete when nothing transfers.
    assert_eq!(c.complete_by, None);
}

#[test]
fn a10_ceased_cb_six_months_or_expiry_whichever_first() {
    // Judged on 2026-11-23: six months later is 2027-05-23.
    let six_months = day(2027, 5, 23);
    let cases = [
        (day(2027, 5, 22), day(2027, 5, 22)), // expiry first
        (six_months, six_months),             // both the same day
        (day(2027, 5, 24), six_months),       // six months first
        (day(2029, 1, 1), six_months),
        (today(), today()), // expires today: transfer today
    ];
    for (expires, deadline) in cases {
        let c = judged(CertificateStatus::Active, expires, true);
        assert!(c.eligible, "{expires}");
        assert_eq!(c.complete_by, Some(deadline), "expires {expires}");
        assert!(c.reasons[0].message.contains("complete the transfer by"));
    }
}

#[test]
fn a10_six_months_clamp_at_month_end() {
    // 2026-08-31 + 6 months = 2027-02-28.
    let t = transfer(CertificateStatus::Active, day(2028, 1, 1), true);
    assert_eq!(
        check(&t, day(2026, 8, 31)).value.complete_by,
        Some(day(2027, 2, 28))
    );
    // Past the calendar's end the six months never come: expiry is the deadline.
    let t = transfer(CertificateStatus::Active, NaiveDate::MAX, true);
    assert_eq!(
        check(&t, NaiveDate::MAX).value.complete_by,
        Some(NaiveDate::MAX)
    );
}

#[test]
fn a10_from_the_application() -> TestResult {
    let mut application: Application = serde_json::from_value(valid_application())?;
    assert_eq!(check_application(&application, today()), None);
    application.transfer = Some(transfer(CertificateStatus::Active, day(2027, 3, 1), true));
    let Some(explained) = check_application(&application, today()) else {
        return Err("no check for a transfer".into());
    };
    assert!(explained.value.eligible);
    assert_eq!(explained.value.complete_by, Some(day(2027, 3, 1)));
    assert!(explained.steps.iter().all(|s| s.rule == "A10"));
    Ok(())
}

#[test]
fn a10_check_round_trips_through_json() -> TestResult {
    let explained = check(
        &transfer(CertificateStatus::Active, day(2027, 3, 1), true),
        today(),
    );
    let value = serde_json::to_value(&explained)?;
    assert_eq!(value["value"]["eligible"], true);
    assert_eq!(value["value"]["complete_by"], "2027-03-01");
    let back: certflow_domain::explain::Explained<TransferCheck> = serde_json::from_value(value)?;
    assert_eq!(back, explained);
    Ok(())
}
