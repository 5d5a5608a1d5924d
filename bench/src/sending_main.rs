//! `oshirase-bench-sending`: an approved alert to 100,000 residents, from the approval's
//! answer until the case is `sent`, with the real release server and the LINE sandbox
//! enforcing LINE's rate limits. Read [`sending`] for the run. Build in release mode, with the
//! server: `cargo build --release -p oshirase-server -p oshirase-bench`.

mod sending;
#[allow(dead_code, reason = "shared with oshirase-bench-matching; each uses part of it")]
mod timing;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

/// Sends one approved alert to every resident through the LINE sandbox (LINE's limits
/// enforced) and times it, against the real server binary.
#[derive(Debug, Parser)]
#[command(name = "oshirase-bench-sending", version, about, long_about = None)]
struct Cli {
    /// Residents who get the alert.
    #[arg(long, default_value_t = 100_000)]
    residents: usize,
    /// Which scenarios to run.
    #[arg(long, value_enum, default_value_t = Scenarios::Both)]
    scenarios: Scenarios,
    /// How often the case's status is polled, in ms.
    #[arg(long, default_value_t = 20)]
    poll_ms: u64,
    /// The server's `[alerts] requests_per_second` [default: the server's, 200].
    #[arg(long)]
    requests_per_second: Option<u32>,
    /// Seconds sending may take before the run fails.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// The oshirase-server binary [default: next to this one, i.e. target/release/oshirase-server].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The server's log filter (OSHIRASE_LOG).
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Worker threads of the sandbox's runtime.
    #[arg(long, default_value_t = 2)]
    sandbox_threads: usize,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenarios {
    /// Unknown recipients first, then friends.
    Both,
    /// Recipients who are sandbox residents and friends of the account (every inbox checked).
    Friends,
    /// Recipients the sandbox does not know (it answers 200 and reaches nobody).
    Unknown,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let server_bin = match cli.server_bin {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("oshirase-server"),
    };
    let options = sending::Options {
        residents: cli.residents,
        scenarios: match cli.scenarios {
            Scenarios::Both => vec![sending::Recipients::Unknown, sending::Recipients::Friends],
            Scenarios::Friends => vec![sending::Recipients::Friends],
            Scenarios::Unknown => vec![sending::Recipients::Unknown],
        },
        server_bin,
        server_log: cli.server_log,
        poll: Duration::from_millis(cli.poll_ms.max(1)),
        requests_per_second: cli.requests_per_second,
        timeout: Duration::from_secs(cli.timeout),
    };
    let sandbox = tokio::runtime::Builder::new_multi_thread().worker_threads(cli.sandbox_threads.max(1)).thread_name("sandbox").enable_all().build().context("building the sandbox's runtime")?;
    // One thread: this side only sets up, polls and reads.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(sending::run(&options, sandbox.handle()))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    // A missed goal is a figure; a recipient without their alert (or with two) fails the run.
    anyhow::ensure!(report.is_consistent(), "the run was not consistent: see the delivery figures above");
    Ok(())
}
