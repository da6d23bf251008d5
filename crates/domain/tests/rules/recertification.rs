//! Rules S4 and S5 (docs/CYCLE.md; seed §5.6.3; ISO/IEC 17021-1 9.6.3) with C2 and C4:
//! a recertification application checked against the certificate it renews (in time, late,
//! past the restoration window, to the day), and the new cycle continuing the certificate
//! as a new revision.

use crate::certificate::{cert, issued_on_request, request};
use crate::common::cb::client;
use crate::common::day;
use certflow_domain::FieldError;
use certflow_domain::certificate::{
    Action, Certificate, CertificateSettings, ReasonRequest, SuspendRequest, suspend, withdraw,
};
use certflow_domain::cycle::{
    Recertifying, check_recertification_application, claim_renewal, continue_cycle,
    require_current_application,
};
use certflow_domain::intake::application::{CertificateStatus, LegalId, LegalIdType};
use certflow_domain::review::Jurisdiction;
use chrono::NaiveDate;

type TestResult = Result<(), String>;

const NUMBER: &str = "CF-2026-000042";

/// S4: the intake check of a recertification of `certificate` (None: no such certificate)
/// by `client` on `today`, under the default settings.
fn check(
    certificate: Option<&Certificate>,
    client: &LegalId,
    today: NaiveDate,
    jurisdiction: Jurisdiction,
) -> Result<Recertifying, FieldError> {
    check_recertification_application(
        NUMBER,
        certificate,
        client,
        today,
        jurisdiction,
        &CertificateSettings::default(),
    )
}

fn check_on(today: NaiveDate, jurisdiction: Jurisdiction) -> Result<Recertifying, String> {
    check(Some(&cert()?), &client(), today, jurisdiction).map_err(|e| format!("{e:?}"))
}

/// `cert()` withdrawn on `on` (C5).
fn withdrawn_on(on: NaiveDate) -> Result<Certificate, String> {
    let mut c = cert()?;
    let reason = ReasonRequest::from_json(&serde_json::json!({ "reason": "client request" }))
        .map_err(|e| format!("{e:?}"))?;
    withdraw(&mut c, &reason, "op", on).map_err(|v| format!("{v:?}"))?;
    Ok(c)
}

fn refused_with(today: NaiveDate, jurisdiction: Jurisdiction, rule: &str) -> TestResult {
    match check_on(today, jurisdiction) {
        Err(e) if e.contains(&format!("rule: \"{rule}\"")) && e.contains("/recertification_of") => {
            Ok(())
        }
        other => Err(format!(
            "expected a {rule} refusal on {today}, got {other:?}"
        )),
    }
}

#[test]
fn s4_c4_applied_on_the_apply_by_day_is_in_time_the_day_after_is_late() -> TestResult {
    // Decided 2026-03-20: valid to 2029-03-19 (C2), apply 3 months before [cfg] (C4).
    let c = cert()?;
    assert_eq!(c.expires_on, day(2029, 3, 19));
    assert_eq!(c.recertification.apply_by, day(2028, 12, 19));
    let in_time = check_on(day(2028, 12, 19), Jurisdiction::Iaf)?;
    assert!(!in_time.late && in_time.reasons.is_empty(), "{in_time:?}");
    assert_eq!(in_time.expires_on, day(2029, 3, 19));
    let late = check_on(day(2028, 12, 20), Jurisdiction::Iaf)?;
    assert!(late.late, "{late:?}");
    assert_eq!(late.reasons.first().map(|r| r.rule.as_str()), Some("C4"));
    Ok(())
}

#[test]
fn s4_c4_iaf_restoration_window_ends_six_months_after_expiry() -> TestResult {
    // 2029-03-19 + 6 months = 2029-09-19: the last day; the day after is refused.
    let restorable = check_on(day(2029, 9, 19), Jurisdiction::Iaf)?;
    assert!(
        restorable.late && restorable.reasons.len() == 2,
        "{restorable:?}"
    );
    refused_with(day(2029, 9, 20), Jurisdiction::Iaf, "C4")
}

#[test]
fn s4_c4_cn_never_restores_an_expired_certificate() -> TestResult {
    let on_expiry = check_on(day(2029, 3, 19), Jurisdiction::Cn)?;
    assert!(on_expiry.late, "{on_expiry:?}");
    refused_with(day(2029, 3, 20), Jurisdiction::Cn, "C4")
}

#[test]
fn s4_unknown_certificate_and_another_organization_are_refused() -> TestResult {
    let unknown = check(None, &client(), day(2028, 12, 1), Jurisdiction::Iaf);
    assert!(
        matches!(&unknown, Err(e) if e.rule == "S4" && e.field == "/recertification_of"),
        "{unknown:?}"
    );
    let c = cert()?;
    let other = LegalId {
        kind: LegalIdType::Uscc,
        number: "91110000100000000X".to_string(),
    };
    let theirs = check(Some(&c), &other, day(2028, 12, 1), Jurisdiction::Iaf);
    assert!(matches!(&theirs, Err(e) if e.rule == "S4"), "{theirs:?}");
    Ok(())
}

#[test]
fn s4_c5_a_withdrawn_certificate_is_not_renewed() -> TestResult {
    let c = withdrawn_on(day(2027, 1, 5))?;
    let refused = check(Some(&c), &client(), day(2028, 12, 1), Jurisdiction::Iaf);
    assert!(matches!(&refused, Err(e) if e.rule == "C5"), "{refused:?}");
    Ok(())
}

#[test]
fn s5_c1_c2_the_new_cycle_is_a_new_revision_from_the_old_expiry() -> TestResult {
    let mut c = cert()?;
    // Decided before the expiry; the new cycle starts the day after it (C2, C4).
    // No effective date given: the day after the old expiry (C4).
    let mut renewal = request("2029-03-20")?;
    renewal.effective_on = None;
    renewal.previous_expiry = Some(day(2029, 3, 19));
    let renewed = issued_on_request(day(2029, 2, 1), &renewal, Jurisdiction::Iaf)?;
    continue_cycle(
        &mut c,
        renewed,
        day(2029, 3, 19),
        "app-2",
        "operator:zhao",
        day(2029, 2, 1),
    )
    .map_err(|v| format!("{v:?}"))?;
    assert_eq!(c.number, NUMBER);
    assert_eq!(c.revision, 2);
    assert_eq!(c.revisions.len(), 2);
    assert!(c.revisions[0].obsolete && !c.revisions[1].obsolete);
    assert_eq!(c.revisions[1].effective_on, day(2029, 3, 20));
    // Three years from the day after the old expiry: to 2032-03-19.
    assert_eq!(c.expires_on, day(2032, 3, 19));
    assert_eq!(c.recertification.apply_by, day(2031, 12, 19));
    assert_eq!(c.decided_on, day(2029, 2, 1));
    assert_eq!(c.status, CertificateStatus::Active);
    assert_eq!(c.application_id.as_deref(), Some("app-2"));
    assert!(c.surveillance.iter().all(|s| s.held_on.is_none()));
    let last = c.history.last().ok_or("no history")?;
    assert_eq!(
        (last.action, last.rule.as_str(), last.by.as_str()),
        (Action::Recertified, "S5", "operator:zhao")
    );
    Ok(())
}

#[test]
fn s5_c4_an_expired_certificate_is_restored_within_the_window() -> TestResult {
    let mut c = cert()?;
    let mut renewal = request("2029-06-30")?;
    renewal.effective_on = None;
    renewal.previous_expiry = Some(day(2029, 3, 19));
    // Effective on the decision (the default after the expiry). Decided 2029-06-30 (IAF, within 6 months): the cycle still runs from the old expiry.
    let renewed = issued_on_request(day(2029, 6, 30), &renewal, Jurisdiction::Iaf)?;
    assert_eq!(c.status_on(day(2029, 6, 30)), CertificateStatus::Expired);
    continue_cycle(
        &mut c,
        renewed,
        day(2029, 3, 19),
        "app-2",
        "op",
        day(2029, 6, 30),
    )
    .map_err(|v| format!("{v:?}"))?;
    assert_eq!(c.status_on(day(2029, 6, 30)), CertificateStatus::Active);
    assert_eq!(c.expires_on, day(2032, 3, 19));
    assert_eq!(c.revisions[1].effective_on, day(2029, 6, 30));
    let last = c.history.last().ok_or("no history")?;
    assert!(last.reason.contains("restored"), "{}", last.reason);
    Ok(())
}

#[test]
fn s5_c5_a_withdrawn_certificate_is_not_continued() -> TestResult {
    let mut c = withdrawn_on(day(2028, 1, 5))?;
    let refused = continue_cycle(
        &mut c,
        renewal()?,
        day(2029, 3, 19),
        "app-2",
        "op",
        day(2029, 2, 1),
    );
    assert!(matches!(&refused, Err(v) if v.rule == "C5"), "{refused:?}");
    assert_eq!(c.revision, 1);
    Ok(())
}

#[test]
fn s5_a_cycle_continued_twice_runs_six_years_and_more() -> TestResult {
    let mut c = cert()?;
    for (decided, prev, effective, expires) in [
        (
            day(2029, 2, 1),
            day(2029, 3, 19),
            "2029-03-20",
            day(2032, 3, 19),
        ),
        (
            day(2032, 1, 15),
            day(2032, 3, 19),
            "2032-03-20",
            day(2035, 3, 19),
        ),
    ] {
        let mut renewal = request(effective)?;
        renewal.previous_expiry = Some(prev);
        let renewed = issued_on_request(decided, &renewal, Jurisdiction::Iaf)?;
        continue_cycle(&mut c, renewed, prev, "app-n", "op", decided)
            .map_err(|v| format!("{v:?}"))?;
        assert_eq!(c.expires_on, expires);
    }
    assert_eq!(c.revision, 3);
    Ok(())
}

/// The renewal decided on 2029-02-01 of `cert()` (expiring 2029-03-19).
fn renewal() -> Result<Certificate, String> {
    let mut renewal = request("2029-03-20")?;
    renewal.previous_expiry = Some(day(2029, 3, 19));
    issued_on_request(day(2029, 2, 1), &renewal, Jurisdiction::Iaf)
}

#[test]
fn s5_a_cycle_is_renewed_once_a_second_renewal_of_the_same_expiry_is_refused() -> TestResult {
    let mut c = cert()?;
    continue_cycle(
        &mut c,
        renewal()?,
        day(2029, 3, 19),
        "app-2",
        "op",
        day(2029, 2, 1),
    )
    .map_err(|v| format!("{v:?}"))?;
    // A second application that applied for the same cycle: refused, nothing changed.
    let before = c.clone();
    let again = continue_cycle(
        &mut c,
        renewal()?,
        day(2029, 3, 19),
        "app-3",
        "op",
        day(2029, 2, 2),
    );
    assert!(matches!(&again, Err(v) if v.rule == "S5"), "{again:?}");
    assert_eq!(c, before);
    Ok(())
}

#[test]
fn s5_c5_a_suspended_certificate_is_restored_before_it_is_renewed() -> TestResult {
    let mut c = cert()?;
    let request = SuspendRequest::from_json(&serde_json::json!({ "reason": "major open" }))
        .map_err(|e| format!("{e:?}"))?;
    suspend(
        &mut c,
        &request,
        "op",
        day(2028, 12, 1),
        &CertificateSettings::default(),
    )
    .map_err(|v| format!("{v:?}"))?;
    let refused = continue_cycle(
        &mut c,
        renewal()?,
        day(2029, 3, 19),
        "app-2",
        "op",
        day(2029, 2, 1),
    );
    assert!(matches!(&refused, Err(v) if v.rule == "C5"), "{refused:?}");
    assert_eq!(c.status, CertificateStatus::Suspended);
    assert_eq!(c.revision, 1);
    Ok(())
}

#[test]
fn s5_new_number_the_renewal_is_claimed_once_and_bars_another_application() -> TestResult {
    let mut c = cert()?;
    assert_eq!(claim_renewal(&mut c, day(2029, 3, 19), "app-2"), Ok(true));
    // The same application again (a retried issuance): nothing to claim.
    assert_eq!(claim_renewal(&mut c, day(2029, 3, 19), "app-2"), Ok(false));
    let other = claim_renewal(&mut c, day(2029, 3, 19), "app-3");
    assert!(matches!(&other, Err(v) if v.rule == "S5"), "{other:?}");
    // S4: a renewed certificate takes no new recertification application.
    let applied = check(Some(&c), &client(), day(2029, 1, 5), Jurisdiction::Iaf);
    assert!(matches!(&applied, Err(e) if e.rule == "S4"), "{applied:?}");
    Ok(())
}

#[test]
fn s5_the_old_cycles_application_no_longer_changes_the_certificate() -> TestResult {
    let mut c = cert()?;
    c.application_id = Some("app-1".to_string());
    require_current_application(&c, "app-1").map_err(|v| format!("{v:?}"))?;
    continue_cycle(
        &mut c,
        renewal()?,
        day(2029, 3, 19),
        "app-2",
        "op",
        day(2029, 2, 1),
    )
    .map_err(|v| format!("{v:?}"))?;
    let refused = require_current_application(&c, "app-1");
    assert!(matches!(&refused, Err(v) if v.rule == "S5"), "{refused:?}");
    require_current_application(&c, "app-2").map_err(|v| format!("{v:?}"))?;
    Ok(())
}

#[test]
fn s4_a_recertification_is_applied_for_in_the_cycles_last_year() -> TestResult {
    // Expiring 2029-03-19: from 2028-03-19 (12 months before), not the day before.
    let first_day = check_on(day(2028, 3, 19), Jurisdiction::Iaf)?;
    assert!(!first_day.late, "{first_day:?}");
    refused_with(day(2028, 3, 18), Jurisdiction::Iaf, "S4")
}

#[test]
fn s5_c6_the_public_view_shows_the_revision_in_force_and_names_the_next() -> TestResult {
    let mut c = cert()?;
    continue_cycle(
        &mut c,
        renewal()?,
        day(2029, 3, 19),
        "app-2",
        "op",
        day(2029, 2, 1),
    )
    .map_err(|v| format!("{v:?}"))?;
    let before = c.public_view(day(2029, 3, 19));
    assert_eq!(before.revision, 1);
    assert_eq!(before.status, CertificateStatus::Active);
    let next = before.next_revision.ok_or("the renewal is not named")?;
    assert_eq!((next.revision, next.effective_on), (2, day(2029, 3, 20)));
    let after = c.public_view(day(2029, 3, 20));
    assert_eq!((after.revision, after.effective_on), (2, day(2029, 3, 20)));
    assert_eq!(after.next_revision, None);
    assert_eq!(after.expires_on, day(2032, 3, 19));
    Ok(())
}
