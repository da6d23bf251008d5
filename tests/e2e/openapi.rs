//! The OpenAPI document (issue 14, item 2) against the running app: `GET /openapi.json` is
//! served, names every route of `spin.toml`, is valid OpenAPI 3.1 (`openapi-spec-validator`),
//! its application schema agrees with intake's validator (`jsonschema`), and schemathesis,
//! fuzzing the app from it with the operator token, finds no 5xx and no reply that departs
//! from it (status codes, content types, response schemas).
//!
//! The Python tools are pinned in `tests/openapi/requirements.txt` and installed by the test
//! itself into `target/openapi-venv` (reinstalled when that file changes), as
//! `deploy/validate` installs its validators: python3 with `venv` and `pip`, and PyPI the
//! first time, are needed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use certflow_tests::{Host, OPERATOR_TOKEN, Store, root, start_app, with_store};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One installation of the tools at a time (the tests of this module run in parallel).
static VENV: Mutex<()> = Mutex::new(());

/// The virtualenv with the pinned tools, installed when missing or when the requirements
/// changed. Fails, saying what to install, when python3 has no `venv` or `pip`.
fn venv() -> Result<PathBuf> {
    let _one = VENV
        .lock()
        .map_err(|_| anyhow::anyhow!("a test panicked while installing the virtualenv"))?;
    let root = root();
    let requirements = root.join("tests/openapi/requirements.txt");
    let venv = root.join("target/openapi-venv");
    let wanted = hex(&Sha256::digest(std::fs::read(&requirements)?));
    let stamp = venv.join(".requirements.sha256");
    let python = venv.join("bin/python");
    if python.exists() && std::fs::read_to_string(&stamp).unwrap_or_default() == wanted {
        return Ok(venv);
    }
    let usable = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ensure!(
        usable,
        "the OpenAPI tests need python3 with venv and pip (Debian: apt-get install python3 \
         python3-venv python3-pip); .ci/run installs them"
    );
    let started = Instant::now();
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-input", "--requirement"])
        .arg(&requirements))?;
    std::fs::write(&stamp, &wanted)?;
    println!(
        "installed tests/openapi/requirements.txt into {} in {:.0} s",
        venv.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(venv)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `command`, failing with its output unless it succeeds.
fn run(command: &mut Command) -> Result<String> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "{command:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

/// `GET /openapi.json`: checks the status and headers, returns the document.
async fn fetch(host: &Host) -> Result<Value> {
    let response = host.client.get(host.url("/openapi.json")).send().await?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    let text = response.text().await?;
    ensure!(status == 200, "GET /openapi.json: {status}: {text}");
    ensure!(
        content_type == "application/json",
        "content-type {content_type}"
    );
    ensure!(cache.starts_with("public"), "cache-control {cache}");
    serde_json::from_str(&text).context("GET /openapi.json is not JSON")
}

/// The routes `spin.toml` gives to HTTP triggers.
fn spin_routes() -> Result<Vec<String>> {
    let manifest: toml::Table = std::fs::read_to_string(root().join("spin.toml"))?.parse()?;
    let triggers = manifest
        .get("trigger")
        .and_then(|t| t.get("http"))
        .and_then(toml::Value::as_array)
        .context("spin.toml has no [[trigger.http]]")?;
    triggers
        .iter()
        .map(|t| {
            t.get("route")
                .and_then(toml::Value::as_str)
                .map(str::to_string)
                .context("a trigger without a route")
        })
        .collect()
}

/// A path with its parameters blanked: `/api/people/:id` and `/api/people/{person}` are both
/// `/api/people/{}`.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with(':') || (s.starts_with('{') && s.ends_with('}')) {
                "{}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Which document paths `route` answers: itself, or for a Spin wildcard (`/prefix/...`) every
/// path under the prefix.
fn covered_by<'a>(route: &str, paths: &'a [String]) -> Vec<&'a String> {
    match route.strip_suffix("/...") {
        Some(prefix) => {
            let prefix = format!("{}/", shape(prefix));
            paths
                .iter()
                .filter(|p| shape(p).starts_with(&prefix))
                .collect()
        }
        None => paths.iter().filter(|p| shape(p) == shape(route)).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_openapi_names_every_spin_route_and_is_valid_openapi_3_1() -> Result<()> {
    let venv = venv()?;
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let document = fetch(&host).await?;
        host.stop().await?;
        ensure!(document["openapi"] == "3.1.0", "{}", document["openapi"]);

        // Every route spin.toml routes is in the document; every path of the document is
        // one spin.toml routes (a wildcard's concrete paths under its prefix).
        let paths: Vec<String> = document["paths"]
            .as_object()
            .context("no paths")?
            .keys()
            .cloned()
            .collect();
        let routes = spin_routes()?;
        ensure!(
            routes.len() >= 20,
            "only {} routes in spin.toml",
            routes.len()
        );
        let missing: Vec<&String> = routes
            .iter()
            .filter(|r| covered_by(r, &paths).is_empty())
            .collect();
        ensure!(
            missing.is_empty(),
            "routes missing from /openapi.json: {missing:?}"
        );
        let unrouted: Vec<&String> = paths
            .iter()
            .filter(|p| !routes.iter().any(|r| covered_by(r, &paths).contains(p)))
            .collect();
        ensure!(
            unrouted.is_empty(),
            "paths no route of spin.toml serves: {unrouted:?}"
        );

        // Every problem type of the catalog, and nothing else.
        let catalog: Value = serde_json::from_str(&std::fs::read_to_string(
            root().join("components/shared/i18n/problems.json"),
        )?)?;
        let listed: BTreeSet<&str> = document["components"]["schemas"]["ProblemType"]["enum"]
            .as_array()
            .context("no ProblemType enum")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let catalogued: BTreeSet<&str> = catalog
            .as_object()
            .context("problems.json is not an object")?
            .keys()
            .map(String::as_str)
            .collect();
        ensure!(
            listed == catalogued,
            "ProblemType {listed:?} against {catalogued:?}"
        );

        // Valid OpenAPI 3.1, by openapi-spec-validator.
        let file = state.path().join("openapi.json");
        std::fs::write(&file, serde_json::to_vec_pretty(&document)?)?;
        let said = run(Command::new(venv.join("bin/openapi-spec-validator")).arg(&file))?;
        println!("openapi-spec-validator: {}", said.trim());
        Ok(())
    })
    .await
}

/// Documents intake refuses for what they are (I1): each must also fail the published schema.
fn structural_breakages(good: &Value) -> Vec<(&'static str, Value)> {
    let broken = |what, change: &dyn Fn(&mut Value)| {
        let mut doc = good.clone();
        change(&mut doc);
        (what, doc)
    };
    vec![
        broken("unknown field", &|d| {
            d["organization"]["nickname"] = json!("Acme")
        }),
        broken("missing contact", &|d| {
            d.as_object_mut().map(|m| m.remove("contact"));
        }),
        broken("null scope", &|d| d["scope"] = Value::Null),
        broken("blank legal name", &|d| {
            d["organization"]["legal_name"] = json!("   ")
        }),
        broken("legal name of 201 characters", &|d| {
            d["organization"]["legal_name"] = json!("x".repeat(201))
        }),
        broken("control character", &|d| {
            d["organization"]["legal_name"] = json!("Acme\u{7}")
        }),
        broken("shifts 25", &|d| d["sites"][0]["shifts"] = json!(25)),
        broken("1.5 people", &|d| {
            d["sites"][0]["personnel"]["full_time"] = json!(1.5)
        }),
        broken("central as text", &|d| {
            d["sites"][0]["central"] = json!("yes")
        }),
        broken("language fr", &|d| d["language"] = json!("fr")),
        broken("country XX", &|d| {
            d["organization"]["address"]["country"] = json!("XX")
        }),
        broken("no standards", &|d| d["standards"] = json!([])),
        broken("date as 15/01/2026", &|d| {
            d["management_system"]["operating_since"] = json!("15/01/2026")
        }),
        broken("email without @", &|d| {
            d["contact"]["email"] = json!("li.wei.acme.example")
        }),
        broken("website ftp://", &|d| {
            d["organization"]["website"] = json!("ftp://acme.example")
        }),
        broken("weekly hours 169", &|d| {
            d["sites"][0]["personnel"]["part_time"] = json!([{"count": 1, "weekly_hours": 169}])
        }),
    ]
}

/// What the Python `jsonschema` validator (2020-12, formats checked) says of each document:
/// `true` when it conforms to the document's `Application` schema.
fn published_schema_accepts(venv: &Path, schema: &Value, docs: &[&Value]) -> Result<Vec<bool>> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("input.json");
    std::fs::write(&input, json!({"schema": schema, "docs": docs}).to_string())?;
    let script = "import json, sys, jsonschema\n\
        data = json.load(open(sys.argv[1]))\n\
        jsonschema.Draft202012Validator.check_schema(data['schema'])\n\
        v = jsonschema.Draft202012Validator(data['schema'], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)\n\
        print(json.dumps([v.is_valid(d) for d in data['docs']]))";
    let out = run(Command::new(venv.join("bin/python"))
        .args(["-c", script])
        .arg(&input))?;
    serde_json::from_str(out.trim()).with_context(|| format!("jsonschema said {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i1_the_published_application_schema_accepts_what_intake_accepts_and_refuses_what_it_refuses()
-> Result<()> {
    let venv = venv()?;
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let document = fetch(&host).await?;
        let schema = &document["components"]["schemas"]["Application"];
        let good = certflow_tests::example_application()?;
        let breakages = structural_breakages(&good);
        let mut docs = vec![&good];
        docs.extend(breakages.iter().map(|(_, doc)| doc));
        let verdicts = published_schema_accepts(&venv, schema, &docs)?;
        ensure!(verdicts.len() == docs.len(), "{verdicts:?}");
        ensure!(verdicts[0], "the schema refuses the example application");
        let accepted = host.submit(&good, None).await?;
        ensure!(accepted.status == 201, "intake: {}", accepted.body);
        for ((what, doc), schema_accepts) in breakages.iter().zip(&verdicts[1..]) {
            ensure!(!schema_accepts, "{what}: the published schema accepts it");
            let refused = host.submit(doc, None).await?;
            let i1 = refused.body["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["rule"] == "I1"));
            ensure!(
                refused.status == 422 && i1,
                "{what}: intake answered {}: {}",
                refused.status,
                refused.body
            );
        }
        host.stop().await
    })
    .await
}

/// What one schemathesis run did, from its JSON report.
#[derive(Debug)]
struct Fuzzed {
    operations: u64,
    test_cases: u64,
    with_failures: u64,
    errored: u64,
    exit_code: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_schemathesis_finds_no_server_error_and_every_reply_conforms_to_the_document()
-> Result<()> {
    let venv = venv()?;
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let document = fetch(&host).await?;
        // Every operation but the document's own (`GET /openapi.json`, which schemathesis
        // reads rather than tests).
        let operations: u64 = document["paths"]
            .as_object()
            .context("no paths")?
            .iter()
            .filter(|(path, _)| *path != "/openapi.json")
            .filter_map(|(_, item)| item.as_object())
            .map(|item| item.keys().filter(|k| *k != "parameters").count() as u64)
            .sum();
        let out = root().join("target/schemathesis");
        std::fs::create_dir_all(&out)?;
        let report = out.join("report.json");
        let _ = std::fs::remove_file(&report);
        let started = Instant::now();
        // Bounded for CI (about a minute on 2 cores): 10 examples per operation and phase,
        // a fixed seed, no example database.
        let command = tokio::process::Command::new(venv.join("bin/schemathesis"))
            .current_dir(&out)
            .arg("run")
            .arg(host.url("/openapi.json"))
            .args(["--header", &format!("Authorization: Bearer {OPERATOR_TOKEN}")])
            .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"])
            .args(["--max-examples", "10", "--seed", "14", "--workers", "2"])
            .args(["--generation-database", "none"])
            .env("NO_COLOR", "1")
            .args(["--report", "json", "--report-json-path"])
            .arg(&report)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(600), command)
            .await
            .context("schemathesis ran over 10 minutes")??;
        let seconds = started.elapsed().as_secs_f64();
        host.stop().await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        std::fs::write(out.join("output.txt"), stdout.as_bytes())?;
        let summary: Value = serde_json::from_str(
            &std::fs::read_to_string(&report)
                .with_context(|| format!("no report; schemathesis said:\n{stdout}"))?,
        )?;
        let number = |pointer: &str| summary.pointer(pointer).and_then(Value::as_u64);
        let fuzzed = Fuzzed {
            operations: number("/operations/tested").context("no operations/tested")?,
            test_cases: number("/test_cases/generated").context("no test_cases/generated")?,
            with_failures: number("/test_cases/with_failures").context("no with_failures")?,
            errored: number("/test_cases/errored").context("no errored")?,
            exit_code: summary["exit_code"].as_i64().context("no exit_code")?,
        };
        println!(
            "schemathesis {}: {} operations, {} test cases, {} with failures, {} errored, \
             in {seconds:.0} s (output in target/schemathesis/)",
            summary["schemathesis_version"], fuzzed.operations, fuzzed.test_cases,
            fuzzed.with_failures, fuzzed.errored
        );
        if fuzzed.with_failures > 0 || fuzzed.errored > 0 || fuzzed.exit_code != 0 {
            bail!(
                "{fuzzed:?}\nfailures: {}\nerrors: {}\n{stdout}",
                summary["failures"],
                summary["errors"]
            );
        }
        ensure!(
            fuzzed.operations == operations,
            "schemathesis tested {} of the document's {operations} operations",
            fuzzed.operations
        );
        ensure!(fuzzed.test_cases >= 10 * operations, "{fuzzed:?}");
        Ok(())
    })
    .await
}

/// Found by schemathesis: a status-page token with bytes that cannot go into a header (the
/// site forwards it to intake as `Authorization: Bearer`) was a 503; it is no token intake
/// issued, so it is the 404 page, as any wrong token is (R3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r3_a_status_page_token_that_cannot_be_a_header_is_the_not_found_page() -> Result<()> {
    with_store(Store::Sqlite, async {
        let state = tempfile::tempdir()?;
        let host = start_app(state.path()).await?;
        let created = host
            .submit(&certflow_tests::example_application()?, None)
            .await?;
        ensure!(created.status == 201, "{}", created.body);
        let id = created.body["id"].as_str().context("no id")?;
        for token in ["\u{83}e\u{87}\t\u{bb}", "cfa_\u{1a}x", "cfa_ümlaut"] {
            let body: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("access_token", token)
                .finish();
            let response = host
                .client
                .post(host.url(&format!("/applications/{id}?lang=en")))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await?;
            let status = response.status().as_u16();
            let page = response.text().await?;
            ensure!(
                status == 404 && page.contains(r#"<main id="not-found""#),
                "{token:?}: {status}: {page}"
            );
        }
        host.stop().await
    })
    .await
}
