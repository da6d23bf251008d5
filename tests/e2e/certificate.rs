//! The certificate end to end (rules C1–C7, R1): the real `spin.toml`, from submission to a
//! certificate the public verifies, its status lifecycle, the due-date sweep, the CertSearch
//! export, and issuance under concurrency.

use anyhow::{Context, Result, ensure};
use certflow_tests::each_store;
use certflow_tests::workflow::{
    accepted_application, assessment, audit, certificate_details, date, days_ago, post,
    register_people, violation_rules,
};
use certflow_tests::{Host, example_application, reply, start_app};
use chrono::{Datelike, Months, Utc};
use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Holds stage 2 (on site, no findings) for an accepted application.
async fn audited(host: &Host, id: &str) -> Result<()> {
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let stage_2 = audit("stage_2", days_ago(0)?, days_ago(0)?, &team, json!([]));
    let held = post(host, &format!("/api/applications/{id}/audits"), &stage_2).await?;
    ensure!(held.status == 201, "{}", held.body);
    Ok(())
}

/// The public view of `number`, read with no credentials.
async fn public(host: &Host, number: &str) -> Result<(u16, Value, String)> {
    let (status, text) = host.get(&format!("/api/certificates/{number}")).await?;
    let body = serde_json::from_str(&text).with_context(|| format!("{status}: {text}"))?;
    Ok((status, body, text))
}

each_store! {
async fn c1_c7_from_submission_to_a_verified_certificate() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;

    // The CB's register: auditors and a decision maker (D2, D3).
    register_people(&host).await?;

    // Intake (I1–I5) chains the screening (A1–A8); the operator accepts (A9).
    let id = accepted_application(&host).await?;

    // The remote-audit assessment for stage 1 (M1–M5).
    let assessed = post(
        &host,
        &format!("/api/applications/{id}/remote-audit"),
        &assessment("stage_1"),
    )
    .await?;
    ensure!(assessed.status == 201, "{}", assessed.body);

    // Stage 1 and stage 2, on site, no findings (N1–N3).
    let audits = format!("/api/applications/{id}/audits");
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    for (kind, from, to) in [("stage_1", 0, 0), ("stage_2", 0, 0)] {
        let body = audit(kind, days_ago(from)?, days_ago(to)?, &team, json!([]));
        let held = post(&host, &audits, &body).await?;
        ensure!(held.status == 201, "{kind}: {}", held.body);
    }

    // The decision (D1–D8) grants, and with the certificate details chains issuance (C1–C4).
    let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant",
                        "certificate": certificate_details() });
    let decided = post(&host, &format!("/api/applications/{id}/decision"), &grant).await?;
    ensure!(decided.status == 201, "{}", decided.body);
    ensure!(decided.body["status"] == "certified", "{}", decided.body);
    let certificate = &decided.body["certificate"];
    let number = certificate["number"]
        .as_str()
        .context("number")?
        .to_string();
    let today = Utc::now().date_naive();
    let expected_number = format!("CF-{}-000001", today.year());
    ensure!(number == expected_number, "{number}");

    // C1: what the certificate says.
    let contents = &certificate["revisions"][0]["contents"];
    ensure!(
        contents["organization"] == "Acme Data Co., Ltd.",
        "{contents}"
    );
    ensure!(
        contents["standards"]
            == json!([{ "code": "ISO/IEC 27001", "edition": "2022" },
                      { "code": "ISO/IEC 27701", "edition": "2019" }]),
        "{contents}"
    );
    ensure!(
        contents["soa_version"] == "SoA v3, 2026-02-01",
        "{contents}"
    );
    ensure!(
        contents["sites"][0]["address"]["city"] == "Shanghai",
        "{contents}"
    );
    ensure!(
        contents["certification_body"]["name"].is_string(),
        "{contents}"
    );
    ensure!(certificate["revision"] == 1, "{certificate}");

    // C2: effective on the decision's day, the last valid day before the third anniversary.
    let effective = date(&certificate["granted_on"])?;
    let expires = date(&certificate["expires_on"])?;
    ensure!(effective == today, "{certificate}");
    let anniversary = effective
        .checked_add_months(Months::new(36))
        .context("dates")?;
    ensure!(
        expires < anniversary && expires >= anniversary - chrono::Days::new(1),
        "{certificate}"
    );
    // C3: the first surveillance within 12 months of the decision; C4: apply 3 months ahead.
    let first = date(&certificate["surveillance"][0]["due_by"])?;
    ensure!(
        first <= today.checked_add_months(Months::new(12)).context("dates")?,
        "{certificate}"
    );
    let apply_by = date(&certificate["recertification"]["apply_by"])?;
    ensure!(
        apply_by
            == expires
                .checked_sub_months(Months::new(3))
                .context("dates")?,
        "{certificate}"
    );

    // The application is certified and names its certificate.
    let record = host
        .operator(Method::GET, &format!("/api/applications/{id}"), None)
        .await?;
    ensure!(record.body["status"] == "certified", "{}", record.body);
    ensure!(
        record.body["certificate"] == number.as_str(),
        "{}",
        record.body
    );

    // C1: issuing again returns the same certificate.
    let path = format!("/api/applications/{id}/certificate");
    let again = post(&host, &path, &certificate_details()).await?;
    ensure!(again.status == 200, "{}", again.body);
    ensure!(
        again.body["certificate"]["number"] == number.as_str(),
        "{}",
        again.body
    );

    // C6: anyone verifies it; nothing personal shows (the applicant's contact, the
    // consultant, the signatory's name).
    let (status, view, text) = public(&host, &number).await?;
    ensure!(
        status == 200 && view["status"] == "active",
        "{status}: {text}"
    );
    ensure!(view["organization"] == "Acme Data Co., Ltd.", "{text}");
    let application = example_application()?;
    for personal in [
        &application["contact"]["name"],
        &application["contact"]["email"],
        &application["contact"]["phone"],
        &application["consultancy"][0]["person"],
        &application["organization"]["address"]["street"],
        &certificate_details()["signatory"]["name"],
    ] {
        let personal = personal.as_str().context("fixture field")?;
        ensure!(!text.contains(personal), "{personal} shown in {text}");
    }
    let (status, _, _) = public(&host, "CF-1999-999999").await?;
    ensure!(status == 404, "unknown number: {status}");

    // C5, R1: suspend; the public sees it; a second suspension is refused.
    let change = |what: &str| format!("/api/certificates/{number}/{what}");
    let unauthenticated = host
        .client
        .post(host.url(&change("suspend")))
        .header("content-type", "application/json")
        .body(json!({ "reason": "x" }).to_string())
        .send()
        .await?;
    ensure!(unauthenticated.status() == 401);
    let reason = "surveillance audit postponed by the client";
    let suspended = post(&host, &change("suspend"), &json!({ "reason": reason })).await?;
    ensure!(
        suspended.status == 200 && suspended.body["status"] == "suspended",
        "{}",
        suspended.body
    );
    let resolve_by = date(&suspended.body["suspension"]["resolve_by"])?;
    ensure!(
        resolve_by == today.checked_add_months(Months::new(6)).context("dates")?,
        "{}",
        suspended.body
    );
    let (_, view, text) = public(&host, &number).await?;
    ensure!(view["status"] == "suspended", "{text}");
    ensure!(!text.contains(reason), "the internal reason shows: {text}");
    let twice = post(&host, &change("suspend"), &json!({ "reason": "again" })).await?;
    ensure!(
        twice.status == 409 && twice.body["current_status"] == "suspended",
        "{}",
        twice.body
    );
    ensure!(violation_rules(&twice.body) == ["C5"], "{}", twice.body);

    // Restore, then reduce the scope (a new revision; the old one kept, obsolete).
    let restored = post(
        &host,
        &change("restore"),
        &json!({ "reason": "audit held" }),
    )
    .await?;
    ensure!(
        restored.status == 200 && restored.body["status"] == "active",
        "{}",
        restored.body
    );
    let reduce =
        json!({ "reason": "client dropped its PIMS", "drop_standards": ["ISO/IEC 27701"] });
    let reduced = post(&host, &change("reduce-scope"), &reduce).await?;
    ensure!(reduced.status == 200, "{}", reduced.body);
    ensure!(
        reduced.body["revision"] == 2 && reduced.body["scope_reduced"] == true,
        "{}",
        reduced.body
    );
    ensure!(
        reduced.body["revisions"][0]["obsolete"] == true
            && reduced.body["revisions"][1]["obsolete"] == false,
        "{}",
        reduced.body
    );
    let revise = json!({ "reason": "renamed", "organization": "Acme Data Group Co., Ltd." });
    let revised = post(&host, &change("revise"), &revise).await?;
    ensure!(
        revised.status == 200 && revised.body["revision"] == 3,
        "{}",
        revised.body
    );
    let (_, view, text) = public(&host, &number).await?;
    ensure!(
        view["organization"] == "Acme Data Group Co., Ltd."
            && view["standards"].as_array().map(Vec::len) == Some(1),
        "{text}"
    );

    // C7: the CertSearch export, dates as YYYYMMDD (operators only).
    let export = host
        .operator(Method::GET, "/api/exports/certsearch", None)
        .await?;
    ensure!(export.status == 200, "{}", export.body);
    let exported = &export.body["records"][0];
    ensure!(
        exported["certificate_number"] == number.as_str(),
        "{exported}"
    );
    ensure!(
        exported["certification_expiry_date"] == expires.format("%Y%m%d").to_string(),
        "{exported}"
    );
    ensure!(exported["certification_status"] == "active", "{exported}");
    let (status, _) = host.get("/api/exports/certsearch").await?;
    ensure!(status == 401, "export without credentials: {status}");

    // The sweep (C2, C3, C5): nothing is due today, and a second run changes nothing either.
    for _ in 0..2 {
        let swept = host
            .operator(Method::POST, "/api/certificates/sweep", None)
            .await?;
        ensure!(swept.status == 200, "{}", swept.body);
        ensure!(
            swept.body["certificates"] == 1 && swept.body["changed"] == json!([]),
            "{}",
            swept.body
        );
    }

    // Withdraw (by the operator with a bare token: recorded as `operator`); a withdrawn
    // certificate is neither restored nor suspended (C5).
    let withdrawn = reply(
        host.client
            .post(host.url(&change("withdraw")))
            .bearer_auth("someone-else")
            .header("content-type", "application/json")
            .body(json!({ "reason": "client request" }).to_string()),
    )
    .await?;
    ensure!(
        withdrawn.status == 200 && withdrawn.body["status"] == "withdrawn",
        "{}",
        withdrawn.body
    );
    for what in ["restore", "suspend"] {
        let refused = post(&host, &change(what), &json!({ "reason": "x" })).await?;
        ensure!(
            refused.status == 409 && refused.body["current_status"] == "withdrawn",
            "{what}: {}",
            refused.body
        );
    }

    // R1: every change is on the record, with who, when, why and the rule.
    let full = host
        .operator(
            Method::GET,
            &format!("/api/certificates/{number}/record"),
            None,
        )
        .await?;
    let actions: Vec<&str> = full.body["history"]
        .as_array()
        .context("history")?
        .iter()
        .filter_map(|h| h["action"].as_str())
        .collect();
    ensure!(
        actions
            == [
                "issued",
                "suspended",
                "restored",
                "scope_reduced",
                "revised",
                "withdrawn"
            ],
        "{actions:?}"
    );
    ensure!(
        full.body["history"][1]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with(reason))
            && full.body["history"][1]["rule"] == "C5"
            && full.body["history"][1]["by"] == "operator:ops-lead"
            && full.body["history"][5]["by"] == "operator",
        "{}",
        full.body
    );
    let (_, view, _) = public(&host, &number).await?;
    ensure!(
        view["status"] == "withdrawn" && view["history"].as_array().map(Vec::len) == Some(6),
        "{view}"
    );
    host.stop().await
}
}

each_store! {
async fn c1_a_grant_whose_certificate_is_refused_waits_for_the_operator() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let id = accepted_application(&host).await?;
    audited(&host, &id).await?;

    // No SoA version for an ISO/IEC 27001 certificate (C1): the grant stands, no certificate.
    let details = json!({ "signatory": { "name": "Zhao Min", "role": "General Manager" } });
    let grant =
        json!({ "decision_maker": "wang-fang", "outcome": "grant", "certificate": details });
    let decided = post(&host, &format!("/api/applications/{id}/decision"), &grant).await?;
    ensure!(
        decided.status == 201 && decided.body["status"] == "decided",
        "{}",
        decided.body
    );
    ensure!(
        violation_rules(&decided.body["certificate_not_issued"]) == ["C1"],
        "{}",
        decided.body
    );
    let path = format!("/api/applications/{id}/certificate");
    let none = host.operator(Method::GET, &path, None).await?;
    ensure!(none.status == 404, "{}", none.body);

    // Bad details are refused whole (422); the operator then issues with the SoA version.
    let bad = json!({ "effective_on": "someday", "signatory": {} });
    let refused = post(&host, &path, &bad).await?;
    ensure!(refused.status == 422, "{}", refused.body);
    let issued = post(&host, &path, &certificate_details()).await?;
    ensure!(
        issued.status == 201 && issued.body["status"] == "certified",
        "{}",
        issued.body
    );
    let read = host.operator(Method::GET, &path, None).await?;
    ensure!(
        read.status == 200 && read.body["number"] == issued.body["certificate"]["number"],
        "{}",
        read.body
    );
    host.stop().await
}
}

each_store! {
async fn c1_fifty_concurrent_issuances_get_fifty_distinct_numbers() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;

    // 50 granted applications, decided without certificate details (prepared 4 at a time).
    let granted = || async {
        let id = accepted_application(&host).await?;
        audited(&host, &id).await?;
        let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant" });
        let decided = post(&host, &format!("/api/applications/{id}/decision"), &grant).await?;
        ensure!(
            decided.status == 201 && decided.body["status"] == "decided",
            "{}",
            decided.body
        );
        anyhow::Ok(id)
    };
    let ids: Vec<String> = futures::stream::iter((0..50).map(|_| granted()))
        .buffer_unordered(4)
        .try_collect()
        .await?;

    // All 50 issued at once, and 10 more requests for the first one among them.
    let issue = |id: String| {
        let host = &host;
        async move {
            post(
                host,
                &format!("/api/applications/{id}/certificate"),
                &certificate_details(),
            )
            .await
        }
    };
    let mut requests: Vec<_> = ids.iter().cloned().map(issue).collect();
    requests.extend((0..10).map(|_| issue(ids[0].clone())));
    let replies = futures::future::join_all(requests).await;
    let mut numbers = BTreeSet::new();
    let mut first = BTreeSet::new();
    for (i, reply) in replies.into_iter().enumerate() {
        let reply = reply?;
        ensure!(reply.status == 201 || reply.status == 200, "{}", reply.body);
        let number = reply.body["certificate"]["number"]
            .as_str()
            .context("number")?
            .to_string();
        if i == 0 || i >= 50 {
            first.insert(number.clone());
        }
        numbers.insert(number);
    }
    ensure!(numbers.len() == 50, "{} distinct numbers", numbers.len());
    ensure!(first.len() == 1, "the first application got {first:?}");

    // Every number is verifiable and the export lists each once.
    let export = host
        .operator(Method::GET, "/api/exports/certsearch", None)
        .await?;
    let exported: BTreeSet<String> = export.body["records"]
        .as_array()
        .context("records")?
        .iter()
        .filter_map(|r| r["certificate_number"].as_str().map(str::to_string))
        .collect();
    ensure!(exported == numbers, "{exported:?}");
    for number in &numbers {
        let (status, _, text) = public(&host, number).await?;
        ensure!(status == 200, "{number}: {text}");
    }
    host.stop().await
}
}

/// The `(field, code, rule)` of each error of a validation problem (RFC 9457).
fn field_errors(problem: &Value) -> Vec<(String, String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                    (text("field"), text("code"), text("rule"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn one_error(field: &str, code: &str, rule: &str) -> Vec<(String, String, String)> {
    vec![(field.to_string(), code.to_string(), rule.to_string())]
}

/// Today plus `days`.
fn days_ahead(days: u64) -> Result<chrono::NaiveDate> {
    Utc::now()
        .date_naive()
        .checked_add_days(chrono::Days::new(days))
        .context("date out of range")
}

/// Grants `id` (stage 2 held) with `details` as the certificate details; the decision's reply.
async fn granted_with(host: &Host, id: &str, details: Value) -> Result<certflow_tests::Reply> {
    audited(host, id).await?;
    let grant =
        json!({ "decision_maker": "wang-fang", "outcome": "grant", "certificate": details });
    post(host, &format!("/api/applications/{id}/decision"), &grant).await
}

each_store! {
async fn r1_a_held_or_ended_date_may_not_lie_in_the_future() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;
    let id = accepted_application(&host).await?;

    // N2, R1: an audit ending 9999-12-31 is refused at its field, and nothing is stored.
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    let far = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).context("date")?;
    let body = audit("stage_2", days_ago(2)?, far, &team, json!([]));
    let audits = format!("/api/applications/{id}/audits");
    let refused = post(&host, &audits, &body).await?;
    ensure!(refused.status == 422, "{}", refused.body);
    ensure!(
        refused.headers["content-type"] == "application/problem+json",
        "{:?}",
        refused.headers
    );
    ensure!(
        field_errors(&refused.body) == one_error("/ends_on", "out_of_range", "R1"),
        "{}",
        refused.body
    );
    let listed = host.operator(Method::GET, &audits, None).await?;
    ensure!(listed.body["audits"] == json!([]), "{}", listed.body);

    // D5, R1: a response submitted, or a verification made, tomorrow is refused at its
    // field; made today, each is recorded.
    let minor = json!([{ "severity": "minor", "clause": "A.8.13",
        "statement": "Backup test not documented", "evidence": "no record", "process": "operations" }]);
    let body = audit("stage_2", days_ago(0)?, days_ago(0)?, &team, minor);
    let held = post(&host, &audits, &body).await?;
    ensure!(held.status == 201, "{}", held.body);
    let audit_id = held.body["id"].as_str().context("audit id")?;
    let nc = format!("{audits}/{audit_id}/nonconformities/nc-1");
    let today = Utc::now().date_naive();
    let response = |on: chrono::NaiveDate| {
        json!({ "cause": "no owner", "correction": "documented",
                "corrective_action": "test recorded monthly", "submitted_on": on })
    };
    let verification = |on: chrono::NaiveDate| json!({ "verified_by": "Li Na", "verified_on": on, "accepted": true });
    for (step, body, field) in [
        ("response", response(days_ahead(1)?), "/submitted_on"),
        ("response", response(today), ""),
        ("verification", verification(days_ahead(1)?), "/verified_on"),
        ("verification", verification(today), ""),
    ] {
        let sent = post(&host, &format!("{nc}/{step}"), &body).await?;
        if field.is_empty() {
            ensure!(sent.status == 200, "{step}: {}", sent.body);
        } else {
            ensure!(
                sent.status == 422
                    && field_errors(&sent.body) == one_error(field, "out_of_range", "R1"),
                "{step}: {}",
                sent.body
            );
        }
    }

    let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant",
                        "certificate": certificate_details() });
    let decided = post(&host, &format!("/api/applications/{id}/decision"), &grant).await?;
    ensure!(decided.status == 201, "{}", decided.body);
    let number = decided.body["certificate"]["number"]
        .as_str()
        .context("number")?
        .to_string();

    // S1: a surveillance is recorded as an audit (tests/e2e/maintenance.rs); the bare
    // `held_on` change is no longer routed and answers as any unknown change, nothing
    // recorded.
    let path = format!("/api/certificates/{number}/surveillance");
    let held = post(&host, &path, &json!({ "held_on": today })).await?;
    ensure!(held.status == 404, "{}", held.body);
    let record_path = format!("/api/certificates/{number}/record");
    let full = host.operator(Method::GET, &record_path, None).await?;
    ensure!(
        full.body["surveillance"][0]["held_on"].is_null()
            && full.body["history"].as_array().map(Vec::len) == Some(1),
        "{}",
        full.body
    );
    host.stop().await
}
}

/// C7: the IAF CertSearch CB upload API's mandatory fields (v1 `cb/upload-cert`), each a
/// non-empty string, plus `schemes` (see `crates/domain/tests/e2e/certificate.rs` for the shapes).
const CERTSEARCH_MANDATORY: [&str; 13] = [
    "certificate_number",
    "certification_status",
    "certificate_accreditation_status",
    "certification_type",
    "certification_issue_date",
    "certification_expiry_date",
    "certified_entity_name",
    "certified_entity_unique_id",
    "certified_entity_street_address",
    "certified_entity_street_city",
    "certified_entity_country",
    "accreditation_body_name",
    "accreditation_body_acronym_name",
];

each_store! {
async fn c2_c3_c5_c7_a_later_effective_date_neither_lengthens_the_cycle_nor_shows_active_early()
-> Result<()> {
    let state = tempfile::tempdir()?;
    let host = start_app(state.path()).await?;
    register_people(&host).await?;

    // C7 [cfg]: the accreditation body is a setting, checked.
    let bad =
        json!({ "certificate": { "accreditation_body": { "name": "UKAS", "acronym": " " } } });
    let refused = host
        .operator(Method::PUT, "/api/settings", Some(&bad))
        .await?;
    ensure!(refused.status == 422, "{}", refused.body);
    ensure!(
        field_errors(&refused.body)
            .iter()
            .any(|(f, _, r)| f == "/certificate/accreditation_body/acronym" && r == "C7"),
        "{}",
        refused.body
    );
    let settings = json!({ "certificate": { "accreditation_body": {
        "name": "United Kingdom Accreditation Service", "acronym": "UKAS" } } });
    let put = host
        .operator(Method::PUT, "/api/settings", Some(&settings))
        .await?;
    ensure!(put.status == 200, "{}", put.body);

    // The issue's example: decided today, effective 15 months later (2026-11-30 →
    // 2028-02-29): refused (C2, 90 days [cfg]); the grant stands without a certificate.
    let id = accepted_application(&host).await?;
    let mut late = certificate_details();
    late["effective_on"] = json!(days_ahead(456)?);
    let decided = granted_with(&host, &id, late).await?;
    ensure!(
        decided.status == 201 && decided.body["status"] == "decided",
        "{}",
        decided.body
    );
    ensure!(
        violation_rules(&decided.body["certificate_not_issued"]) == ["C2"],
        "{}",
        decided.body
    );

    // Effective 60 days from now: issued; the cycle still runs from the decision.
    let mut details = certificate_details();
    let effective = days_ahead(60)?;
    details["effective_on"] = json!(effective);
    let path = format!("/api/applications/{id}/certificate");
    let issued = post(&host, &path, &details).await?;
    ensure!(issued.status == 201, "{}", issued.body);
    let certificate = &issued.body["certificate"];
    let number = certificate["number"]
        .as_str()
        .context("number")?
        .to_string();
    let today = Utc::now().date_naive();
    let anniversary = today.checked_add_months(Months::new(36)).context("dates")?;
    let expires = date(&certificate["expires_on"])?;
    ensure!(
        date(&certificate["granted_on"])? == effective
            && expires < anniversary
            && expires >= anniversary - chrono::Days::new(1),
        "{certificate}"
    );
    // C3: a surveillance due in every calendar year between the decision's and expiry's.
    let due_years: BTreeSet<i32> = certificate["surveillance"]
        .as_array()
        .context("surveillance")?
        .iter()
        .map(|s| date(&s["due_by"]).map(|d| d.year()))
        .collect::<Result<_>>()?;
    for year in today.year() + 1..expires.year() {
        ensure!(due_years.contains(&year), "{year}: {certificate}");
    }
    // R1: issued today; the effective date is data.
    ensure!(
        certificate["history"][0]["on"] == json!(today)
            && certificate["history"][0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains(&format!("effective on {effective}"))),
        "{certificate}"
    );

    // C5: not yet effective in every view: the issuance's reply, the operator's reads, the
    // public view and the export (CertSearch's `inactive`).
    ensure!(certificate["status"] == "pending", "{certificate}");
    for read in [path.clone(), format!("/api/certificates/{number}/record")] {
        let got = host.operator(Method::GET, &read, None).await?;
        ensure!(
            got.status == 200 && got.body["status"] == "pending",
            "{read}: {}",
            got.body
        );
    }
    let (_, view, text) = public(&host, &number).await?;
    ensure!(view["status"] == "pending", "{text}");
    let export = host
        .operator(Method::GET, "/api/exports/certsearch", None)
        .await?;
    let records = export.body["records"].as_array().context("records")?;
    ensure!(records.len() == 1, "{}", export.body);
    let record = &export.body["records"][0];
    ensure!(record["certification_status"] == "inactive", "{record}");
    // C7: every mandatory upload-API field, the standards as objects, the sites in the API's
    // keys, the accreditation body of the settings.
    for field in CERTSEARCH_MANDATORY {
        ensure!(
            record[field].as_str().is_some_and(|s| !s.trim().is_empty()),
            "{field}: {record}"
        );
    }
    ensure!(
        record["schemes"][0]["standard_list"][0]["standards_name"] == "ISO/IEC 27001:2022"
            && record["accreditation_body_acronym_name"] == "UKAS"
            && record["certificate_accreditation_status"] == "Accredited"
            && record["certification_issue_date"] == effective.format("%Y%m%d").to_string(),
        "{record}"
    );
    let site_keys: BTreeSet<&str> = record["sites"][0]
        .as_object()
        .context("site")?
        .keys()
        .map(String::as_str)
        .collect();
    ensure!(
        site_keys
            == BTreeSet::from([
                "street",
                "city",
                "state",
                "country",
                "postcode",
                "scope_description"
            ]),
        "{record}"
    );
    host.stop().await?;

    // On its effective date it is active.
    let host = certflow_tests::start_app_at(
        state.path(),
        std::time::Duration::from_secs(60 * 24 * 60 * 60),
    )
    .await?;
    let (_, view, text) = public(&host, &number).await?;
    ensure!(view["status"] == "active", "{text}");
    host.stop().await
}
}
