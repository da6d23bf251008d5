//! `certflow`: a Spin-compatible local host. `certflow up` runs a `spin.toml` the way
//! `spin up` does, for development, tests and benchmarks where the Spin CLI is not installed.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use spin_host::bench::{self, BenchOptions};
use spin_host::front::FrontLimits;
use spin_host::up::{self, UpOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "certflow",
    version,
    about = "Run a Spin application (spin.toml) on a local wasmtime host"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the components, then serve the application.
    Up {
        /// The manifest, or the folder holding spin.toml.
        #[arg(short = 'f', long = "from")]
        from: Option<PathBuf>,
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Where the key-value database and compile cache live (default: `.spin` next to
        /// spin.toml).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Runtime configuration: the key-value backend per label, as in Spin (`[key_value_store.default]`
        /// with `type = "spin"` and an optional `path` for SQLite, or `type = "redis"` and `url`).
        #[arg(long)]
        runtime_config_file: Option<PathBuf>,
        /// Skip the `[component.*.build]` commands.
        #[arg(long)]
        no_build: bool,
        /// Seconds a request may run before it is stopped with a 500.
        #[arg(long, default_value_t = 30)]
        request_timeout: u64,
        /// Set an application variable (`name=value`); wins over `SPIN_VARIABLE_<NAME>`.
        #[arg(long = "variable", value_parser = parse_variable)]
        variables: Vec<(String, String)>,
        /// Seconds a request head may take to arrive; then a 408 and the connection closes.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        header_read_timeout: u64,
        /// Seconds a request body may go without a byte while the component waits; then a
        /// 408, the component is stopped and the connection closes.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        body_read_timeout: u64,
        /// Seconds a kept-alive connection may sit idle between requests before it is closed.
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
        keep_alive_timeout: u64,
        /// Seconds a reply may wait for the client to read it before the connection ends.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        write_timeout: u64,
        /// Connections served at once; more wait in the listen queue. Keep it under half the
        /// instance pool (`SPIN_WASMTIME_INSTANCE_COUNT`, 1,000): a request may chain.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
        max_connections: u64,
    },
    /// Measure requests/s and latency of one route with concurrent keep-alive clients.
    Bench {
        #[arg(
            short = 'f',
            long = "from",
            default_value = "tests/scenarios/kv/spin.toml"
        )]
        from: PathBuf,
        #[arg(long, default_value = "/bench")]
        path: String,
        #[arg(long, default_value = "GET")]
        method: String,
        /// A file whose contents are sent as the request body.
        #[arg(long)]
        body: Option<PathBuf>,
        #[arg(long)]
        content_type: Option<String>,
        /// Comma-separated client counts, each measured in turn.
        #[arg(long, default_value = "1,8")]
        clients: String,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 2)]
        warmup_seconds: u64,
        #[arg(long)]
        no_build: bool,
    },
}

fn parse_variable(arg: &str) -> Result<(String, String), String> {
    arg.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("expected name=value, got `{arg}`"))
}

fn main() -> Result<()> {
    spin_host::logging::init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Up {
                from,
                listen,
                state_dir,
                runtime_config_file,
                no_build,
                request_timeout,
                variables,
                header_read_timeout,
                body_read_timeout,
                keep_alive_timeout,
                write_timeout,
                max_connections,
            } => {
                up::up(UpOptions {
                    manifest: up::manifest_path(from.as_deref()),
                    listen,
                    state_dir,
                    runtime_config: runtime_config_file,
                    build: !no_build,
                    request_timeout: Duration::from_secs(request_timeout),
                    front: FrontLimits {
                        header_read_timeout: Duration::from_secs(header_read_timeout),
                        body_read_timeout: Duration::from_secs(body_read_timeout),
                        keep_alive_timeout: Duration::from_secs(keep_alive_timeout),
                        write_timeout: Duration::from_secs(write_timeout),
                        max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
                    },
                    max_instances: up::max_instances_from_env(),
                    variables: variables.into_iter().collect(),
                    clock_offset: Duration::ZERO,
                    kv_faults: Default::default(),
                })
                .await
            }
            Command::Bench {
                from,
                path,
                method,
                body,
                content_type,
                clients,
                seconds,
                warmup_seconds,
                no_build,
            } => {
                let body = match body {
                    Some(p) => Some(
                        std::fs::read(&p)
                            .with_context(|| format!("cannot read {}", p.display()))?
                            .into(),
                    ),
                    None => None,
                };
                let mut build = !no_build;
                for count in clients.split(',') {
                    let opts = BenchOptions {
                        manifest: up::manifest_path(Some(&from)),
                        path: path.clone(),
                        method: method.parse().context("invalid --method")?,
                        body: body.clone(),
                        content_type: content_type.clone(),
                        clients: count.trim().parse().context("invalid --clients")?,
                        duration: Duration::from_secs(seconds),
                        warmup: Duration::from_secs(warmup_seconds),
                        build,
                        instantiate: None,
                    };
                    build = false;
                    let report = bench::run(opts.clone()).await?;
                    bench::print(&opts, &report);
                }
                Ok(())
            }
        }
    })
}
