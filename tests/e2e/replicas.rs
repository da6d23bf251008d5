//! Several replicas on one Redis (issue 12): two `certflow up` processes share a real
//! `redis-server`, as SpinKube replicas share one store, and requests are spread over both.
//! Whatever the interleaving, each reply tells the truth about what was stored: one
//! application per Idempotency-Key (I7), one review of concurrent ones (A9), distinct
//! certificate numbers (C1), one of two conflicting lifecycle changes (C5), and a Redis restart
//! that loses nothing acknowledged (R1).
//!
//! An in-process host on the same Redis prepares the records (with the workflow helpers), so
//! three hosts write to one store.

use anyhow::{Context, Result, ensure};
use certflow_tests::processes::HostProcesses;
use certflow_tests::workflow::{
    application_record, assessment, audit, certificate_details, days_ago, notes_with, post,
    register_people,
};
use certflow_tests::{Host, OPERATOR_TOKEN, RedisServer, example_application, start_app_on};
use reqwest::Method;
use serde_json::{Value, json};
use spin_host::kv::redis::RedisStore;
use spin_host::kv::{KvFaults, KvStore};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A client of one `certflow up` process.
#[derive(Clone)]
struct Replica {
    base: String,
    client: reqwest::Client,
}

/// A reply: status and JSON body (`Value::Null` when the body is not JSON).
struct Answer {
    status: u16,
    content_type: String,
    body: Value,
}

impl Replica {
    fn all(processes: &HostProcesses) -> Result<Vec<Replica>> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(processes
            .bases
            .iter()
            .map(|base| Replica {
                base: base.clone(),
                client: client.clone(),
            })
            .collect())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Answer> {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = resp.text().await?;
        Ok(Answer {
            status,
            content_type,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    async fn submit(&self, application: &Value, key: &str) -> Result<Answer> {
        self.send(
            self.client
                .post(format!("{}/api/applications", self.base))
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(application.to_string()),
        )
        .await
    }

    async fn operator(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Answer> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(OPERATOR_TOKEN);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        self.send(req).await
    }
}

/// An in-process host of the app on `redis` (the records' preparer).
async fn preparer(redis: &RedisServer, state: &std::path::Path) -> Result<Host> {
    start_app_on(state, Some(redis), KvFaults::default()).await
}

/// The application ids stored in `redis` (`application:<32 hex>`).
async fn stored_applications(redis: &RedisServer) -> Result<BTreeSet<String>> {
    let store = RedisStore::new(&redis.url())?;
    Ok(store
        .keys("default")
        .await?
        .into_iter()
        .filter_map(|k| k.strip_prefix("application:").map(str::to_string))
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect())
}

/// An application through review, remote-audit assessment, stage 1 and stage 2 (ready for
/// the decision); returns its id.
async fn audited_application(host: &Host) -> Result<String> {
    let id = certflow_tests::workflow::accepted_application(host).await?;
    let assessed = post(
        host,
        &format!("/api/applications/{id}/remote-audit"),
        &assessment("stage_1"),
    )
    .await?;
    ensure!(assessed.status == 201, "{}", assessed.body);
    let team = [("li-na", "lead"), ("chen-jie", "auditor")];
    for stage in ["stage_1", "stage_2"] {
        let body = audit(stage, days_ago(0)?, days_ago(0)?, &team, json!([]));
        let held = post(host, &format!("/api/applications/{id}/audits"), &body).await?;
        ensure!(held.status == 201, "{}", held.body);
    }
    Ok(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i7_200_concurrent_submissions_on_two_replicas_make_one_application_per_key() -> Result<()>
{
    let redis = RedisServer::start().await?;
    let processes = HostProcesses::start(&redis, 2, &[]).await?;
    let replicas = Replica::all(&processes)?;
    let application = example_application()?;
    // 50 keys, each sent 4 times, every request to the other replica than the one before.
    let sends = (0..200).map(|i| {
        let replica = replicas[i % 2].clone();
        let key = format!("replica-key-{}", i % 50);
        let application = application.clone();
        async move {
            // A duplicate that waited longer than the first took is told to retry (409
            // idempotency-in-progress); it does, as a client would.
            for _ in 0..40 {
                let answer = replica.submit(&application, &key).await?;
                if answer.status == 409
                    && answer.body["type"]
                        .as_str()
                        .is_some_and(|t| t.ends_with("/idempotency-in-progress"))
                {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
                return anyhow::Ok((key, answer));
            }
            anyhow::bail!("{key}: still in progress after 40 tries")
        }
    });
    let answers = futures::future::join_all(sends).await;
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for answer in answers {
        let (key, answer) = answer?;
        ensure!(
            answer.status == 201,
            "{key}: {} {}",
            answer.status,
            answer.body
        );
        let id = answer.body["id"].as_str().context("id")?.to_string();
        ids.entry(key).or_default().insert(id);
    }
    ensure!(ids.len() == 50, "{} keys answered", ids.len());
    for (key, ids) in &ids {
        ensure!(
            ids.len() == 1,
            "{key} answered with {} ids: {ids:?}",
            ids.len()
        );
    }
    let stored = stored_applications(&redis).await?;
    let answered: BTreeSet<String> = ids.into_values().flatten().collect();
    ensure!(
        stored == answered,
        "stored {} applications, answered {}",
        stored.len(),
        answered.len()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a9_20_concurrent_reviews_on_two_replicas_one_wins_the_others_409() -> Result<()> {
    let redis = RedisServer::start().await?;
    let state = tempfile::tempdir()?;
    let host = preparer(&redis, state.path()).await?;
    let processes = HostProcesses::start(&redis, 2, &[]).await?;
    let replicas = Replica::all(&processes)?;
    let created = host.submit(&example_application()?, None).await?;
    ensure!(created.status == 201, "{}", created.body);
    let id = created.body["id"].as_str().context("id")?.to_string();
    let path = format!("/api/applications/{id}/review");
    let reviews = (0..20).map(|i| {
        let replica = replicas[i % 2].clone();
        let path = path.clone();
        async move {
            let body = json!({ "decision": "accept", "reviewer": format!("Reviewer {i}"),
                               "technical_areas": ["IAF 33"] });
            replica.operator(Method::POST, &path, Some(&body)).await
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
            409 => ensure!(
                answer.content_type == "application/problem+json",
                "{}",
                answer.content_type
            ),
            other => anyhow::bail!("review {i}: {other} {}", answer.body),
        }
    }
    ensure!(won.len() == 1, "{} reviews won: {won:?}", won.len());
    // The record holds exactly the winner's review, once (R1).
    let stored = application_record(&host, &id).await?;
    ensure!(stored["status"] == "accepted", "{}", stored["status"]);
    ensure!(
        notes_with(&stored, "accepted") == 1,
        "{}",
        stored["history"]
    );
    ensure!(
        notes_with(&stored, &format!("\"Reviewer {}\"", won[0])) == 1,
        "the history names another reviewer than the one told it won: {}",
        stored["history"]
    );
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c1_50_concurrent_issuances_on_two_replicas_get_50_distinct_numbers() -> Result<()> {
    let redis = RedisServer::start().await?;
    let state = tempfile::tempdir()?;
    let host = preparer(&redis, state.path()).await?;
    register_people(&host).await?;
    let mut ids = Vec::new();
    // Prepared 5 at a time: the preparation is not what is tested.
    for _ in 0..10 {
        let batch = futures::future::join_all((0..5).map(|_| audited_application(&host))).await;
        for id in batch {
            ids.push(id?);
        }
    }
    let processes = HostProcesses::start(&redis, 2, &[]).await?;
    let replicas = Replica::all(&processes)?;
    let grant = json!({ "decision_maker": "wang-fang", "outcome": "grant",
                        "certificate": certificate_details() });
    let decisions = ids.iter().enumerate().map(|(i, id)| {
        let replica = replicas[i % 2].clone();
        let path = format!("/api/applications/{id}/decision");
        let grant = grant.clone();
        async move { replica.operator(Method::POST, &path, Some(&grant)).await }
    });
    let mut numbers = BTreeMap::new();
    for (id, answer) in ids.iter().zip(futures::future::join_all(decisions).await) {
        let answer = answer?;
        ensure!(
            answer.status == 201 && answer.body["status"] == "certified",
            "{id}: {} {}",
            answer.status,
            answer.body
        );
        let number = answer.body["certificate"]["number"]
            .as_str()
            .context("number")?
            .to_string();
        numbers.insert(number, id.clone());
    }
    ensure!(numbers.len() == 50, "{} distinct numbers", numbers.len());
    // Each number names its own application's certificate, as stored.
    for (number, id) in &numbers {
        let stored = application_record(&host, id).await?;
        ensure!(
            stored["certificate"] == number.as_str(),
            "{id}: {}",
            stored["certificate"]
        );
        let (status, body) = host.get(&format!("/api/certificates/{number}")).await?;
        ensure!(status == 200, "{number}: {status} {body}");
    }
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c5_suspend_versus_withdraw_on_two_replicas_the_replies_tell_the_truth() -> Result<()> {
    let redis = RedisServer::start().await?;
    let state = tempfile::tempdir()?;
    let host = preparer(&redis, state.path()).await?;
    register_people(&host).await?;
    let processes = HostProcesses::start(&redis, 2, &[]).await?;
    let replicas = Replica::all(&processes)?;
    let mut one_won = 0;
    for round in 0..3 {
        let mut timings = Vec::new();
        let (_, number) = certflow_tests::workflow::certify(&host, &mut timings).await?;
        let suspend = json!({ "reason": format!("round {round}: certified client refuses audit") });
        let withdraw = json!({ "reason": format!("round {round}: client asked to end it") });
        let suspend_path = format!("/api/certificates/{number}/suspend");
        let withdraw_path = format!("/api/certificates/{number}/withdraw");
        let (suspended, withdrawn) = tokio::join!(
            replicas[0].operator(Method::POST, &suspend_path, Some(&suspend)),
            replicas[1].operator(Method::POST, &withdraw_path, Some(&withdraw)),
        );
        let (suspended, withdrawn) = (suspended?, withdrawn?);
        for answer in [&suspended, &withdrawn] {
            ensure!(
                matches!(answer.status, 200 | 409),
                "{number}: {} {}",
                answer.status,
                answer.body
            );
        }
        ensure!(
            suspended.status == 200 || withdrawn.status == 200,
            "{number}: neither change was stored"
        );
        if (suspended.status == 200) != (withdrawn.status == 200) {
            one_won += 1;
        }
        // Each change told 200 is in the history once; each told 409 is not (R1).
        let read = host
            .operator(Method::GET, &format!("/api/certificates/{number}"), None)
            .await?;
        let history = read.body["history"].as_array().context("history")?.clone();
        for (answer, action) in [(&suspended, "suspended"), (&withdrawn, "withdrawn")] {
            let recorded = history.iter().filter(|h| h["action"] == action).count();
            let expected = usize::from(answer.status == 200);
            ensure!(
                recorded == expected,
                "{number}: {action} answered {} but recorded {recorded} time(s): {history:?}",
                answer.status
            );
        }
    }
    eprintln!("suspend versus withdraw: exactly one won in {one_won} of 3 rounds");
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_redis_restarted_mid_run_answers_503_then_resumes_and_loses_nothing_acknowledged()
-> Result<()> {
    let mut redis = RedisServer::start().await?;
    let processes = HostProcesses::start(&redis, 2, &[]).await?;
    let replicas = Replica::all(&processes)?;
    let application = example_application()?;
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let unavailable = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut loops = Vec::new();
    for worker in 0..4 {
        let replica = replicas[worker % 2].clone();
        let application = application.clone();
        let (accepted, unavailable, stop) = (accepted.clone(), unavailable.clone(), stop.clone());
        loops.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let key = format!("restart-{worker}-{n}");
                let answer = replica.submit(&application, &key).await?;
                match answer.status {
                    201 => {
                        let id = answer.body["id"].as_str().context("id")?.to_string();
                        let token = answer.body["access_token"]
                            .as_str()
                            .context("access_token")?
                            .to_string();
                        if let Ok(mut accepted) = accepted.lock() {
                            accepted.push((id, token));
                        }
                    }
                    503 => {
                        ensure!(
                            answer.content_type == "application/problem+json",
                            "503 as {}",
                            answer.content_type
                        );
                        unavailable.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    other => anyhow::bail!("{key}: {other} {}", answer.body),
                }
            }
            anyhow::Ok(())
        }));
    }
    let count = |accepted: &std::sync::Mutex<Vec<(String, String)>>| {
        accepted.lock().map(|a| a.len()).unwrap_or(0)
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_outage = count(&accepted);
    redis.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    redis.restart().await?;
    let after_restart = count(&accepted);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for l in loops {
        l.await??;
    }
    let accepted = accepted.lock().map(|a| a.clone()).unwrap_or_default();
    let unavailable = unavailable.load(std::sync::atomic::Ordering::SeqCst);
    eprintln!(
        "{} accepted ({before_outage} before the outage, {} after the restart), {unavailable} answered 503",
        accepted.len(),
        accepted.len() - after_restart
    );
    ensure!(before_outage > 0, "nothing accepted before the outage");
    ensure!(unavailable > 0, "no 503 while Redis was down");
    ensure!(
        accepted.len() > after_restart,
        "service did not resume after the restart"
    );
    // Every application acknowledged with 201 is stored and readable with its token.
    let stored = stored_applications(&redis).await?;
    for (id, token) in &accepted {
        ensure!(
            stored.contains(id),
            "{id} was acknowledged but is not stored"
        );
        let read = replicas[0]
            .send(
                replicas[0]
                    .client
                    .get(format!("{}/api/applications/{id}", replicas[0].base))
                    .bearer_auth(token),
            )
            .await?;
        ensure!(read.status == 200, "{id}: {} {}", read.status, read.body);
    }
    Ok(())
}

/// After Redis restarts, each replica's idle connections are dead. The first requests after
/// the restart must still be served whole: a submission is stored *and* screened (201
/// `under_review`, not a `submitted` left unscreened by a 503 of its chained screening), a
/// review is stored, a read answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_the_first_requests_after_a_redis_restart_are_served_whole() -> Result<()> {
    let mut redis = RedisServer::start().await?;
    let processes = HostProcesses::start(&redis, 2, &[]).await?;
    let replicas = Replica::all(&processes)?;
    let application = example_application()?;
    // Warm every replica's connections, compare-and-swap ones included (screening).
    for (i, replica) in replicas.iter().enumerate() {
        let answer = replica.submit(&application, &format!("warm-{i}")).await?;
        ensure!(answer.status == 201, "{}", answer.body);
    }
    redis.stop();
    redis.restart().await?;
    for (i, replica) in replicas.iter().enumerate() {
        let answer = replica.submit(&application, &format!("after-{i}")).await?;
        ensure!(
            answer.status == 201 && answer.body["status"] == "under_review",
            "replica {i}: {} {}",
            answer.status,
            answer.body
        );
        let id = answer.body["id"].as_str().context("id")?;
        let accept = json!({ "decision": "accept", "reviewer": "Wang Fang",
                             "technical_areas": ["IAF 33"] });
        let reviewed = replica
            .operator(
                Method::POST,
                &format!("/api/applications/{id}/review"),
                Some(&accept),
            )
            .await?;
        ensure!(
            reviewed.status == 200,
            "replica {i}: {} {}",
            reviewed.status,
            reviewed.body
        );
    }
    Ok(())
}
