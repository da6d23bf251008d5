//! Ambiguous write outcomes (issue 12): the host's test-only fault switch makes the store
//! misreport writes as Spin 4.0.2 does on Redis (every compare-and-swap `cas-failed` after it
//! landed; a store error after a write landed), and certflow must still answer the truth, once:
//! a stored change answers success and is stored once (R1), a lost one answers 409 as before.
//! On SQLite (the switch wraps any backend) and on a real Redis.

use anyhow::{Context, Result, ensure};
use certflow_tests::workflow::{assessment, certify, post, register_people};
use certflow_tests::{
    Host, OPERATOR, OPERATOR_TOKEN, RedisServer, Start, app_manifest, build_app_components,
    example_application,
};
use reqwest::Method;
use serde_json::{Value, json};
use spin_host::kv::KvFaults;
use std::collections::BTreeMap;
use std::path::Path;

/// Spin 4.0.2 on Redis: every swap reported `cas-failed`.
const SPIN_402: KvFaults = KvFaults {
    swap_reports_cas_failed: true,
    store_error_after_write_every: None,
};

/// Every `set` and every `swap` reported as a store error after it landed.
const ERROR_AFTER_EVERY_WRITE: KvFaults = KvFaults {
    swap_reports_cas_failed: false,
    store_error_after_write_every: Some(1),
};

/// The app with `faults`, on SQLite in `state`, or on `redis` when given.
async fn app(state: &Path, faults: KvFaults, redis: Option<&RedisServer>) -> Result<Host> {
    build_app_components()?;
    let runtime_config = match redis {
        Some(redis) => {
            std::fs::create_dir_all(state)?;
            let path = state.join("runtime-config.toml");
            std::fs::write(&path, redis.runtime_config())?;
            Some(path)
        }
        None => None,
    };
    let mut variables = BTreeMap::new();
    variables.insert(
        "operator_tokens".to_string(),
        format!("someone-else,{OPERATOR}:{OPERATOR_TOKEN}"),
    );
    Host::start(
        &app_manifest(),
        state,
        &Start {
            variables,
            runtime_config,
            kv_faults: Some(faults),
            ..Start::default()
        },
    )
    .await
}

async fn submitted(host: &Host) -> Result<String> {
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    Ok(created.body["id"].as_str().context("id")?.to_string())
}

async fn record(host: &Host, id: &str) -> Result<Value> {
    let read = host
        .operator(Method::GET, &format!("/api/applications/{id}"), None)
        .await?;
    ensure!(read.status == 200, "{}", read.body);
    Ok(read.body)
}

fn notes_with(record: &Value, needle: &str) -> usize {
    record["history"].as_array().map_or(0, |h| {
        h.iter()
            .filter(|e| e["note"].as_str().is_some_and(|n| n.contains(needle)))
            .count()
    })
}

/// The example: one remote-audit assessment posted once on Spin 4.0.2 with Redis was
/// answered 503 "the record kept changing" and stored 16 times.
async fn m3_one_assessment_posted_once_is_stored_once(redis: Option<&RedisServer>) -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = app(state.path(), SPIN_402, redis).await?;
    let id = submitted(&host).await?;
    let path = format!("/api/applications/{id}/remote-audit");
    let assessed = post(&host, &path, &assessment("stage_1")).await?;
    ensure!(assessed.status == 201, "{}", assessed.body);
    let listed = host.operator(Method::GET, &path, None).await?;
    let count = listed.body["remote_audits"].as_array().map_or(0, Vec::len);
    ensure!(count == 1, "stored {count} times: {}", listed.body);
    // R1: one history entry for it, by the operator who recorded it.
    let stored = record(&host, &id).await?;
    ensure!(
        notes_with(&stored, "remote-audit assessment") == 1,
        "{}",
        stored["history"]
    );
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m3_one_assessment_posted_once_is_stored_once_when_every_swap_reports_cas_failed()
-> Result<()> {
    m3_one_assessment_posted_once_is_stored_once(None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m3_one_assessment_posted_once_is_stored_once_on_redis_as_spin_4_0_2() -> Result<()> {
    let redis = RedisServer::start().await?;
    m3_one_assessment_posted_once_is_stored_once(Some(&redis)).await
}

/// The issue's other example: a review that was stored was answered 409 "Changed
/// concurrently". It is a 200, stored once; a second review is refused as a repeat (409
/// invalid-transition), not as a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a9_a_review_reported_cas_failed_after_it_landed_is_answered_200_once() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = app(state.path(), SPIN_402, None).await?;
    let id = submitted(&host).await?;
    let accept =
        json!({ "decision": "accept", "reviewer": "Wang Fang", "technical_areas": ["IAF 33"] });
    let path = format!("/api/applications/{id}/review");
    let reviewed = post(&host, &path, &accept).await?;
    ensure!(reviewed.status == 200, "{}", reviewed.body);
    ensure!(reviewed.body["status"] == "accepted", "{}", reviewed.body);
    let stored = record(&host, &id).await?;
    ensure!(stored["status"] == "accepted", "{}", stored["status"]);
    ensure!(
        notes_with(&stored, "accepted") == 1,
        "{}",
        stored["history"]
    );
    let again = post(&host, &path, &accept).await?;
    ensure!(
        again.status == 409
            && again.body["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/invalid-transition")),
        "{}",
        again.body
    );
    host.stop().await
}

/// A store error after every write landed (a timeout after commit): the whole workflow still
/// certifies, each step answered success once and stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_a_store_error_after_every_write_landed_still_certifies_once() -> Result<()> {
    let state = tempfile::tempdir()?;
    let host = app(state.path(), ERROR_AFTER_EVERY_WRITE, None).await?;
    register_people(&host).await?;
    let mut timings = Vec::new();
    let (id, number) = certify(&host, &mut timings).await?;
    let stored = record(&host, &id).await?;
    ensure!(
        stored["certificate"] == number.as_str(),
        "{}",
        stored["certificate"]
    );
    for note in ["accepted", "remote-audit assessment", "certificate"] {
        ensure!(
            notes_with(&stored, note) >= 1,
            "{note}: {}",
            stored["history"]
        );
    }
    ensure!(
        notes_with(&stored, "accepted") == 1,
        "{}",
        stored["history"]
    );
    ensure!(
        notes_with(&stored, "remote-audit assessment") == 1,
        "{}",
        stored["history"]
    );
    let (status, body) = host.get(&format!("/api/certificates/{number}")).await?;
    ensure!(status == 200, "{status}: {body}");
    host.stop().await
}

/// Two hosts on one Redis, both as Spin 4.0.2 (real conflicts masked as `cas-failed` too):
/// of 20 concurrent reviews exactly one is answered 200, and it is the one stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a9_concurrent_reviews_on_two_hosts_as_spin_4_0_2_one_wins() -> Result<()> {
    let redis = RedisServer::start().await?;
    let (state_a, state_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = app(state_a.path(), SPIN_402, Some(&redis)).await?;
    let b = app(state_b.path(), SPIN_402, Some(&redis)).await?;
    let id = submitted(&a).await?;
    let path = format!("/api/applications/{id}/review");
    let hosts = [&a, &b];
    let reviews = (0..20).map(|i| {
        let host = hosts[i % 2];
        let path = path.clone();
        async move {
            let body = json!({ "decision": "accept", "reviewer": format!("Reviewer {i}"),
                               "technical_areas": ["IAF 33"] });
            post(host, &path, &body).await
        }
    });
    let mut won = Vec::new();
    for (i, answer) in futures::future::join_all(reviews)
        .await
        .into_iter()
        .enumerate()
    {
        let answer = answer?;
        match answer.status {
            200 => won.push(i),
            409 => {}
            other => anyhow::bail!("review {i}: {other} {}", answer.body),
        }
    }
    ensure!(won.len() == 1, "{} reviews won: {won:?}", won.len());
    let stored = record(&a, &id).await?;
    ensure!(
        notes_with(&stored, "accepted") == 1,
        "{}",
        stored["history"]
    );
    ensure!(
        notes_with(&stored, &format!("\"Reviewer {}\"", won[0])) == 1,
        "{}",
        stored["history"]
    );
    a.stop().await?;
    b.stop().await
}

/// Appends never conflict (M3): 12 concurrent assessments on two hosts as Spin 4.0.2 are
/// each answered 201 and each stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m3_concurrent_assessments_on_two_hosts_as_spin_4_0_2_are_each_stored_once() -> Result<()> {
    let redis = RedisServer::start().await?;
    let (state_a, state_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = app(state_a.path(), SPIN_402, Some(&redis)).await?;
    let b = app(state_b.path(), SPIN_402, Some(&redis)).await?;
    let id = submitted(&a).await?;
    let path = format!("/api/applications/{id}/remote-audit");
    let hosts = [&a, &b];
    let posts = (0..12).map(|i| {
        let host = hosts[i % 2];
        let path = path.clone();
        async move {
            let mut body = assessment("stage_1");
            body["assessor"] = json!(format!("Assessor {i}"));
            post(host, &path, &body).await
        }
    });
    for (i, answer) in futures::future::join_all(posts)
        .await
        .into_iter()
        .enumerate()
    {
        let answer = answer?;
        ensure!(
            answer.status == 201,
            "assessment {i}: {} {}",
            answer.status,
            answer.body
        );
    }
    let listed = a.operator(Method::GET, &path, None).await?;
    let assessors: Vec<&str> = listed.body["remote_audits"]
        .as_array()
        .context("remote_audits")?
        .iter()
        .filter_map(|r| r["assessment"]["assessor"].as_str())
        .collect();
    ensure!(
        assessors.len() == 12,
        "stored {}: {assessors:?}",
        assessors.len()
    );
    for i in 0..12 {
        let name = format!("Assessor {i}");
        ensure!(
            assessors.iter().filter(|a| **a == name).count() == 1,
            "{name}: {assessors:?}"
        );
    }
    let stored = record(&a, &id).await?;
    ensure!(
        notes_with(&stored, "remote-audit assessment") == 12,
        "{}",
        stored["history"]
    );
    a.stop().await?;
    b.stop().await
}
