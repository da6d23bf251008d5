//! The due-date sweep on later days (rules C2, C3, C5), end to end: the real `spin.toml`
//! issues a certificate today, then the host is restarted on the same state directory with
//! the guests' wall clock moved ahead (`start_app_at`) to the day after each due date, and
//! `POST /api/certificates/sweep` applies what the date alone changes, once.

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::workflow::{
    after, certificate_record, certify, date, offset_to, register_people,
};
use certflow_tests::{Host, OPERATOR, start_app, start_app_at};
use chrono::NaiveDate;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;

/// The public status of `number` (no credentials).
async fn public_status(host: &Host, number: &str) -> Result<String> {
    let (status, text) = host.get(&format!("/api/certificates/{number}")).await?;
    ensure!(status == 200, "{status}: {text}");
    let view: Value = serde_json::from_str(&text).with_context(|| text.clone())?;
    Ok(view["status"].as_str().context("status")?.to_string())
}

/// Issues one certificate today (under `cn` if asked, set before issuing) and returns its
/// number and record; the host is stopped again.
async fn issued_today(state: &Path, cn: bool) -> Result<(String, Value)> {
    let host = start_app(state).await?;
    if cn {
        let settings = json!({ "jurisdiction": "cn" });
        let put = host
            .operator(Method::PUT, "/api/settings", Some(&settings))
            .await?;
        ensure!(put.status == 200, "{}", put.body);
    }
    register_people(&host).await?;
    let (_, number) = certify(&host, &mut Vec::new()).await?;
    let full = certificate_record(&host, &number).await?;
    ensure!(full["status"] == "active", "{full}");
    let surveillance = full["surveillance"].as_array().context("surveillance")?;
    ensure!(
        !surveillance.is_empty()
            && surveillance
                .iter()
                .all(|s| s["held_on"].is_null() && s["overdue"] == false),
        "{full}"
    );
    host.stop().await?;
    Ok((number, full))
}

/// Sweeps on the host's today, which must be `day`; checks that every change is `number`'s,
/// made on `day` by the sweep, and that a second sweep the same day changes nothing.
/// Returns the actions of the first sweep's changes, in order.
async fn sweep_twice(host: &Host, day: NaiveDate, number: &str) -> Result<Vec<String>> {
    let mut actions = Vec::new();
    for run in 0..2 {
        let swept = host
            .operator(Method::POST, "/api/certificates/sweep", None)
            .await?;
        let body = &swept.body;
        ensure!(swept.status == 200, "{body}");
        // The guests' today is the shifted day: the clock offset reached them.
        ensure!(date(&body["swept_on"])? == day, "expected {day}: {body}");
        ensure!(
            body["certificates"] == 1 && body["unreadable"] == json!([]),
            "{body}"
        );
        let changed = body["changed"].as_array().context("changed")?;
        if run == 1 {
            ensure!(
                changed.is_empty(),
                "a second sweep on {day} changed: {body}"
            );
            break;
        }
        ensure!(
            changed.len() == 1 && changed[0]["number"] == number,
            "{body}"
        );
        for change in changed[0]["changes"].as_array().context("changes")? {
            ensure!(
                // R1: recorded as the operator who ran the sweep.
                date(&change["on"])? == day && change["by"] == format!("operator:{OPERATOR}"),
                "{change}"
            );
            actions.push(change["action"].as_str().context("action")?.to_string());
        }
    }
    Ok(actions)
}

/// The actions of the last `n` entries of a record's history.
fn last_actions(full: &Value, n: usize) -> Result<Vec<String>> {
    let history = full["history"].as_array().context("history")?;
    ensure!(history.len() >= n, "{full}");
    history[history.len() - n..]
        .iter()
        .map(|h| Ok(h["action"].as_str().context("action")?.to_string()))
        .collect()
}

each_store! {
async fn c2_c3_c5_sweep_on_later_days_iaf() -> Result<()> {
    let state = tempfile::tempdir()?;
    let (number, issued) = issued_today(state.path(), false).await?;
    let due_by = date(&issued["surveillance"][0]["due_by"])?;
    let expires_on = date(&issued["expires_on"])?;

    // C3: the day after the first surveillance's due day, it is marked overdue; under IAF
    // the certificate stays active (the CB decides whether to suspend).
    let day = after(due_by)?;
    let host = start_app_at(state.path(), offset_to(day)?).await?;
    ensure!(public_status(&host, &number).await? == "active");
    let actions = sweep_twice(&host, day, &number).await?;
    ensure!(actions == ["surveillance_overdue"], "on {day}: {actions:?}");
    let full = certificate_record(&host, &number).await?;
    ensure!(
        full["status"] == "active"
            && full["surveillance"][0]["overdue"] == true
            && full["suspension"].is_null(),
        "{full}"
    );
    let last = full["history"]
        .as_array()
        .and_then(|h| h.last())
        .context("history")?;
    ensure!(last["rule"] == "C3" && last["status"] == "active", "{last}");
    ensure!(public_status(&host, &number).await? == "active");
    host.stop().await?;

    // C2: the day after its last valid day the public sees it expired before any sweep; the
    // sweep records the expiry once, and nothing else.
    let day = after(expires_on)?;
    let host = start_app_at(state.path(), offset_to(day)?).await?;
    ensure!(public_status(&host, &number).await? == "expired");
    let actions = sweep_twice(&host, day, &number).await?;
    ensure!(actions == ["expired"], "on {day}: {actions:?}");
    let full = certificate_record(&host, &number).await?;
    ensure!(full["status"] == "expired", "{full}");
    ensure!(
        last_actions(&full, 2)? == ["surveillance_overdue", "expired"],
        "{full}"
    );
    ensure!(public_status(&host, &number).await? == "expired");
    host.stop().await
}
}

each_store! {
async fn c3_c5_cn_suspends_an_overdue_certificate() -> Result<()> {
    let state = tempfile::tempdir()?;
    let (number, issued) = issued_today(state.path(), true).await?;
    let due_by = date(&issued["surveillance"][0]["due_by"])?;
    let expires_on = date(&issued["expires_on"])?;

    // C3, C5 (cn): the day after the first surveillance's due day, it is marked overdue and
    // the certificate is suspended automatically, to be resolved within 6 months.
    let day = after(due_by)?;
    let host = start_app_at(state.path(), offset_to(day)?).await?;
    let actions = sweep_twice(&host, day, &number).await?;
    ensure!(
        actions == ["surveillance_overdue", "suspended"],
        "on {day}: {actions:?}"
    );
    let full = certificate_record(&host, &number).await?;
    ensure!(
        full["status"] == "suspended"
            && full["surveillance"][0]["overdue"] == true
            && date(&full["suspension"]["since"])? == day
            && full["suspension"]["flagged_for_withdrawal_on"].is_null(),
        "{full}"
    );
    let resolve_by = date(&full["suspension"]["resolve_by"])?;
    ensure!(
        Some(resolve_by) == day.checked_add_months(chrono::Months::new(6)),
        "{full}"
    );
    ensure!(public_status(&host, &number).await? == "suspended");
    host.stop().await?;

    // C5: the day after `resolve_by`, the unresolved suspension is flagged for withdrawal (the
    // CB decides: withdraw or reduce the scope); the certificate stays suspended. A later
    // surveillance that fell due meanwhile is marked overdue too (C3).
    let day = after(resolve_by)?;
    let host = start_app_at(state.path(), offset_to(day)?).await?;
    let actions = sweep_twice(&host, day, &number).await?;
    let mut expected = Vec::new();
    let surveillance = issued["surveillance"].as_array().context("surveillance")?;
    for s in surveillance.iter().skip(1) {
        if date(&s["due_by"])? < day {
            expected.push("surveillance_overdue");
        }
    }
    expected.push("flagged_for_withdrawal");
    ensure!(actions == expected, "on {day}: {actions:?}");
    let full = certificate_record(&host, &number).await?;
    ensure!(
        full["status"] == "suspended"
            && date(&full["suspension"]["flagged_for_withdrawal_on"])? == day,
        "{full}"
    );
    ensure!(public_status(&host, &number).await? == "suspended");
    host.stop().await?;

    // C2: a suspended certificate still expires: the public sees it expired before any sweep,
    // and the sweep records the expiry once.
    let day = after(expires_on)?;
    let host = start_app_at(state.path(), offset_to(day)?).await?;
    ensure!(public_status(&host, &number).await? == "expired");
    let actions = sweep_twice(&host, day, &number).await?;
    ensure!(actions == ["expired"], "on {day}: {actions:?}");
    let full = certificate_record(&host, &number).await?;
    ensure!(
        full["status"] == "expired" && last_actions(&full, 1)? == ["expired"],
        "{full}"
    );
    host.stop().await
}
}
