//! `oshirase-bench-kiosk`: the kiosk's resident memory as it really runs, paired with the real
//! server, with and without its screen preview. Read [`kiosk`] for the run. Build in release
//! mode, with the server and the kiosk:
//! `cargo build --release -p oshirase-server -p oshirase-device -p oshirase-bench`.

mod kiosk;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// The kiosk's memory (VmRSS, VmHWM) over a run, with the screen preview fetched as a browser
/// does and without it (heartbeats only).
#[derive(Debug, Parser)]
#[command(name = "oshirase-bench-kiosk", version, about, long_about = None)]
struct Cli {
    /// Seconds each kiosk runs, from its start.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// `/screen.png` fetches per second in the preview scenario (0: the preview listens but
    /// nothing fetches).
    #[arg(long, default_value_t = 1.0)]
    fetch_per_second: f64,
    /// Which kiosks to run.
    #[arg(long, value_enum, default_value_t = Scenarios::Both)]
    scenarios: Scenarios,
    /// The oshirase-server binary [default: next to this one, i.e. target/release/oshirase-server].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The oshirase-kiosk binary [default: next to this one, i.e. target/release/oshirase-kiosk].
    #[arg(long)]
    kiosk_bin: Option<PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenarios {
    /// With the preview, then without.
    Both,
    /// With the preview only.
    Preview,
    /// Without the preview only.
    Headless,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let next_to_me = |name: &str| std::env::current_exe().map(|exe| exe.with_file_name(name));
    let options = kiosk::Options {
        duration: Duration::from_secs(cli.seconds),
        fetch_per_second: cli.fetch_per_second,
        server_bin: match cli.server_bin {
            Some(path) => path,
            None => next_to_me("oshirase-server")?,
        },
        kiosk_bin: match cli.kiosk_bin {
            Some(path) => path,
            None => next_to_me("oshirase-kiosk")?,
        },
        preview: matches!(cli.scenarios, Scenarios::Both | Scenarios::Preview),
        headless: matches!(cli.scenarios, Scenarios::Both | Scenarios::Headless),
    };
    // One thread: this process only samples and fetches, and should take little from the
    // kiosk and the server.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(kiosk::run(&options))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    // A missed goal is a figure; a kiosk that died or showed no code has already failed above.
    Ok(())
}
