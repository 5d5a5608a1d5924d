//! `oshirase-bench-scans`: a kiosk's 100,000 buffered pass scans synced to the real release
//! server with the kiosk's own buffer and client. Read [`scans`] for the run. Build in release
//! mode, with the server: `cargo build --release -p oshirase-server -p oshirase-bench`.

mod scans;
#[allow(dead_code, reason = "shared with the matching and sending benchmarks; this one uses `grouped`")]
mod timing;

use std::path::PathBuf;

use clap::Parser;

/// Fills a paired kiosk's scan buffer and times syncing it to the server, batch by batch as
/// the kiosk does, then checks every scan became exactly one visit.
#[derive(Debug, Parser)]
#[command(name = "oshirase-bench-scans", version, about, long_about = None)]
struct Cli {
    /// Scans to buffer and sync.
    #[arg(long, default_value_t = 100_000)]
    scans: u64,
    /// Consented residents.
    #[arg(long, default_value_t = 1_000)]
    residents: u32,
    /// Passes each resident holds (at most 10); the scans go through all passes in turn.
    #[arg(long, default_value_t = 1)]
    passes_per_resident: u32,
    /// The oshirase-server binary [default: next to this one, i.e. target/release/oshirase-server].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The server's log filter (OSHIRASE_LOG).
    #[arg(long, default_value = "warn")]
    server_log: String,
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
    let options = scans::Options { scans: cli.scans, residents: cli.residents, passes_per_resident: cli.passes_per_resident, server_bin, server_log: cli.server_log };
    // One thread, as the kiosk's run loop: the buffer's SQLite calls and the client's requests
    // take turns, one batch at a time.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(scans::run(&options))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    // A missed goal is a figure; a scan lost, refused or recorded twice fails the run.
    anyhow::ensure!(report.is_consistent(), "the run was not consistent: see the checks above");
    Ok(())
}
