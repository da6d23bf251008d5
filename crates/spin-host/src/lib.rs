//! A Spin-compatible local host on wasmtime: it runs a `spin.toml` (manifest v2) with Spin's
//! routing, request headers, key-value store, variables and outbound HTTP rules, so certflow can
//! be run, tested and measured where the Spin CLI is not installed. It is a faithful subset of
//! Spin, not a second framework: what runs here must run unchanged under `spin up`.

pub mod allowed_hosts;
pub mod bench;
pub mod builder;
pub mod front;
pub mod host_api;
pub mod kv;
pub mod logging;
pub mod manifest;
pub mod problem;
pub mod routes;
pub mod runtime;
pub mod server;
pub mod up;
pub mod variables;
