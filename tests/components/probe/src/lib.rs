//! A test component for the local host. Each path exercises one host capability and answers
//! with what it observed, so the end-to-end tests can check the host against Spin's behaviour.

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::key_value::Store;
use spin_sdk::wit::wasi::keyvalue::{atomics, batch, store as wasi_kv};

fn text(status: u16, body: impl Into<String>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(body.into())
        .build()
}

fn json(status: u16, value: serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(value.to_string())
        .build()
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query().split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

#[http_component]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    // A stand-in for a component that fails on every request (`environment` in a scenario).
    if std::env::var("PROBE_ALWAYS_TRAP").is_ok() {
        panic!("the probe is set to trap on every request");
    }
    // The path this component sees (spin-path-info is relative to its route).
    let path = req.path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let tail = |from: usize| {
        segments
            .get(from..)
            .map(|s| s.join("/"))
            .unwrap_or_default()
    };
    let op = segments.iter().position(|s| {
        matches!(
            *s,
            "headers"
                | "kv"
                | "keys"
                | "incr"
                | "cas"
                | "cas-conflict"
                | "batch"
                | "bench"
                | "vars"
                | "chain"
                | "fetch"
                | "trap"
                | "spin-forever"
                | "open"
                | "env"
                | "echo-body"
                | "sleep"
        )
    });
    let Some(op_at) = op else {
        return Ok(json(
            200,
            serde_json::json!({ "component": "probe", "path": path }),
        ));
    };
    let key = tail(op_at + 1);
    Ok(match (segments[op_at], req.method()) {
        ("headers", _) => {
            let headers: serde_json::Map<String, serde_json::Value> = req
                .headers()
                .filter(|(name, _)| name.starts_with("spin-") || *name == "host")
                .map(|(name, value)| {
                    (
                        name.to_string(),
                        serde_json::Value::String(value.as_str().unwrap_or_default().to_string()),
                    )
                })
                .collect();
            json(
                200,
                serde_json::json!({ "uri": req.uri(), "path": path, "headers": headers }),
            )
        }
        ("echo-body", _) => text(200, String::from_utf8_lossy(req.body()).to_string()),
        ("kv", Method::Get) => match Store::open_default()?.get(&key)? {
            Some(value) => text(200, String::from_utf8_lossy(&value).to_string()),
            None => text(404, "absent"),
        },
        ("kv", Method::Put) => {
            Store::open_default()?.set(&key, req.body())?;
            text(200, "stored")
        }
        ("kv", Method::Delete) => {
            Store::open_default()?.delete(&key)?;
            text(200, "deleted")
        }
        ("kv", Method::Head) => {
            let exists = Store::open_default()?.exists(&key)?;
            text(if exists { 200 } else { 404 }, "")
        }
        ("keys", _) => json(200, serde_json::json!(Store::open_default()?.get_keys()?)),
        ("incr", _) => {
            let delta: i64 = query_param(&req, "delta")
                .and_then(|d| d.parse().ok())
                .unwrap_or(1);
            let bucket = wasi_kv::open("default").map_err(|e| anyhow::anyhow!("{e:?}"))?;
            match atomics::increment(&bucket, &key, delta) {
                Ok(n) => text(200, n.to_string()),
                Err(e) => text(500, format!("{e:?}")),
            }
        }
        ("cas", _) => {
            // Read the current value, then swap in the body: "swapped" or "conflict".
            let bucket = wasi_kv::open("default").map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let cas = atomics::Cas::new(&bucket, &key).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            cas.current().map_err(|e| anyhow::anyhow!("{e:?}"))?;
            match atomics::swap(cas, req.body()) {
                Ok(()) => text(200, "swapped"),
                Err(atomics::CasError::CasFailed(_)) => text(409, "conflict"),
                Err(atomics::CasError::StoreError(e)) => text(500, format!("{e:?}")),
            }
        }
        ("cas-conflict", _) => {
            // Another writer changes the key between current() and swap(): the swap must fail
            // and hand back a handle that sees the other writer's value.
            let bucket = wasi_kv::open("default").map_err(|e| anyhow::anyhow!("{e:?}"))?;
            bucket
                .set(&key, b"first")
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let cas = atomics::Cas::new(&bucket, &key).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            cas.current().map_err(|e| anyhow::anyhow!("{e:?}"))?;
            bucket
                .set(&key, b"other writer")
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            match atomics::swap(cas, b"mine") {
                Ok(()) => text(200, "swapped despite a conflicting write"),
                Err(atomics::CasError::CasFailed(retry)) => {
                    let seen = retry.current().map_err(|e| anyhow::anyhow!("{e:?}"))?;
                    let seen = String::from_utf8_lossy(&seen.unwrap_or_default()).to_string();
                    match atomics::swap(retry, b"mine") {
                        Ok(()) => text(
                            409,
                            format!("conflict detected; retry saw '{seen}' and swapped"),
                        ),
                        Err(e) => text(500, format!("retry failed: {e:?}")),
                    }
                }
                Err(atomics::CasError::StoreError(e)) => text(500, format!("{e:?}")),
            }
        }
        ("batch", Method::Post) => {
            let bucket = wasi_kv::open("default").map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let pairs: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(req.body())?;
            let pairs: Vec<(String, Vec<u8>)> = pairs
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().as_bytes().to_vec()))
                .collect();
            batch::set_many(&bucket, &pairs).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            text(200, "stored")
        }
        ("batch", Method::Get) => {
            let bucket = wasi_kv::open("default").map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let keys: Vec<String> = query_param(&req, "keys")
                .unwrap_or_default()
                .split(',')
                .map(str::to_string)
                .collect();
            let got = batch::get_many(&bucket, &keys).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let got: serde_json::Map<String, serde_json::Value> = got
                .into_iter()
                .map(|(k, v)| {
                    let v =
                        v.map(|b| serde_json::Value::String(String::from_utf8_lossy(&b).into()));
                    (k, v.unwrap_or(serde_json::Value::Null))
                })
                .collect();
            json(200, serde_json::Value::Object(got))
        }
        ("batch", Method::Delete) => {
            let bucket = wasi_kv::open("default").map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let keys: Vec<String> = query_param(&req, "keys")
                .unwrap_or_default()
                .split(',')
                .map(str::to_string)
                .collect();
            batch::delete_many(&bucket, &keys).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            text(200, "deleted")
        }
        ("bench", _) => {
            // The reference workload: one get and one set per request.
            let store = Store::open_default()?;
            let previous = store.get("bench")?.unwrap_or_default();
            let next = previous.len().wrapping_add(1) % 64;
            store.set("bench", &vec![b'x'; next])?;
            text(200, "ok")
        }
        ("vars", _) => match spin_sdk::variables::get(&key) {
            Ok(value) => text(200, value),
            Err(e) => text(404, format!("{e:?}")),
        },
        ("env", _) => match std::env::var(&key) {
            Ok(value) => text(200, value),
            Err(_) => text(404, "unset"),
        },
        ("open", _) => match Store::open(&key) {
            Ok(_) => text(200, "opened"),
            Err(e) => text(403, format!("{e:?}")),
        },
        ("chain", _) => {
            // /chain/<component>/<path...>?<query> ->
            // http://<component>.spin.internal/<path...>?<query>
            let mut parts = key.splitn(2, '/');
            let target = parts.next().unwrap_or_default();
            let rest = parts.next().unwrap_or_default();
            let url = match req.query() {
                "" => format!("http://{target}.spin.internal/{rest}"),
                query => format!("http://{target}.spin.internal/{rest}?{query}"),
            };
            match spin_sdk::http::send::<_, Response>(Request::get(&url)).await {
                Ok(resp) => Response::builder()
                    .status(*resp.status())
                    .header("content-type", "application/json")
                    .body(resp.into_body())
                    .build(),
                Err(e) => text(502, format!("{e}")),
            }
        }
        ("fetch", _) => {
            let url = query_param(&req, "url").unwrap_or_default();
            match spin_sdk::http::send::<_, Response>(Request::get(&url)).await {
                Ok(resp) => text(200, format!("status {}", resp.status())),
                Err(e) => text(502, format!("{e}")),
            }
        }
        ("sleep", _) => {
            let ms: u64 = key.parse().unwrap_or(100);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            text(200, format!("slept {ms} ms"))
        }
        ("trap", _) => panic!("the probe was asked to trap"),
        ("spin-forever", _) => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        _ => text(405, "method not allowed"),
    })
}
