//! `oshirase-bench-webhook`: parses flags, builds the three runtimes (generator, sandbox,
//! bare handler) and prints the report of [`oshirase_bench::scenario::run`]. Build in release
//! mode, with the server: `cargo build --release -p oshirase-server -p oshirase-bench`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use oshirase_bench::scenario::{self, Options};

/// Signed webhook → durable visit → confirmation reply, against the real server and the LINE
/// sandbox, compared with a bare axum handler under the same load.
#[derive(Debug, Parser)]
#[command(name = "oshirase-bench-webhook", version, about, long_about = None)]
struct Cli {
    /// Measured seconds of each load (bare handler, then server).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Concurrent HTTP/1.1 keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Consenting residents the check-ins come from (at least --connections).
    #[arg(long, default_value_t = 1000)]
    residents: usize,
    /// Reply tokens fetched from the sandbox per resident at a time.
    #[arg(long, default_value_t = 16)]
    token_batch: usize,
    /// The oshirase-server binary [default: next to this one, i.e. target/release/oshirase-server].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The server's log filter (OSHIRASE_LOG).
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 2)]
    generator_threads: usize,
    /// Worker threads of the sandbox's runtime and of the bare handler's.
    #[arg(long, default_value_t = 2)]
    sandbox_threads: usize,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let server_bin = match cli.server_bin {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("oshirase-server"),
    };
    let options = Options {
        duration: Duration::from_secs(cli.duration),
        warmup: Duration::from_secs(cli.warmup),
        connections: cli.connections,
        residents: cli.residents,
        token_batch: cli.token_batch,
        server_bin,
        server_log: cli.server_log,
        generator_threads: cli.generator_threads,
        sandbox_threads: cli.sandbox_threads,
    };
    let runtime = |name: &str, threads: usize| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads.max(1)).thread_name(name).enable_all().build().context("building a runtime")
    };
    let generator = runtime("generator", cli.generator_threads)?;
    let sandbox = runtime("sandbox", cli.sandbox_threads)?;
    let bare = runtime("bare", cli.sandbox_threads)?;
    let report = generator.block_on(scenario::run(&options, sandbox.handle(), bare.handle()))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    // Missing goals are figures; lost visits, replies or failed requests are a failed run.
    anyhow::ensure!(report.is_consistent(), "the run was not consistent: see the visits, replies and failures above");
    Ok(())
}
