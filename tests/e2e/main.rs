//! certflow's end-to-end tests: each module drives the real `spin.toml` (or a scenario of the
//! host's) over HTTP on the project's own host, on the stores `each_store!` names.
//!
//! One test binary for all of them: run one area with a module filter, e.g.
//! `cargo test --release -p certflow-tests --test e2e webhooks::`.

mod browser;
mod certificate;
mod complaints;
mod cycle_audits;
mod decision;
mod front;
mod hooks;
mod host;
mod http;
mod intake;
mod life;
mod maintenance;
mod openapi;
mod outcome;
mod recertification;
mod redis;
mod replicas;
mod review;
mod site;
mod site_break;
mod sweep;
mod webhooks;
mod webhooks_break;
mod who;

// The host process that `HostProcesses` starts (this binary run again): declared once, at
// the root, as `certflow_host_process`.
certflow_tests::host_process_entry!();
