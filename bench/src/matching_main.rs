//! `oshirase-bench-matching`: matching a 20-exposure case over 10 million stored visits with
//! the server's own store (`SqliteStore::preview_case` and `approve_case`). Read [`matching`]
//! for the run and [`matching_data`] for the database it builds once and keeps under the
//! target folder. Build in release mode: `cargo build --release -p oshirase-bench`.

mod matching;
mod matching_data;
#[allow(dead_code, reason = "shared with oshirase-bench-sending; each uses part of it")]
mod timing;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;

use crate::matching_data::DataParams;

/// Times the case preview (who would be alerted) and the approval over a month of visits in
/// SQLite, built once through the server's store and cached.
#[derive(Debug, Parser)]
#[command(name = "oshirase-bench-matching", version, about, long_about = None)]
struct Cli {
    /// Where the generated database is kept [default: target/bench-data next to the target
    /// folder this binary is in].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Build the database again even if a usable one is cached.
    #[arg(long)]
    rebuild: bool,
    /// Visits to generate.
    #[arg(long, default_value_t = 10_000_000)]
    visits: u64,
    /// Residents.
    #[arg(long, default_value_t = 1_000_000)]
    residents: u32,
    /// Places.
    #[arg(long, default_value_t = 2_000)]
    venues: u32,
    /// Days the visits span.
    #[arg(long, default_value_t = 31)]
    days: u32,
    /// The generator's seed.
    #[arg(long, default_value_t = 20_261_125)]
    seed: u64,
    /// Exposures of the case.
    #[arg(long, default_value_t = 20)]
    exposures: usize,
    /// Warm previews timed.
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Do not drop the database from the page cache before the first preview.
    #[arg(long)]
    no_evict: bool,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        // target/release/oshirase-bench-matching → target/bench-data
        None => std::env::current_exe()?
            .parent()
            .and_then(std::path::Path::parent)
            .context("cannot tell the target folder from this binary's path; pass --data-dir")?
            .join("bench-data"),
    };
    let name = if cli.visits.is_multiple_of(1_000_000) { format!("matching-{}m.sqlite", cli.visits / 1_000_000) } else { format!("matching-{}.sqlite", cli.visits) };
    let options = matching::Options {
        database: data_dir.join(name),
        params: DataParams { venues: cli.venues, residents: cli.residents, visits: cli.visits, days: cli.days, seed: cli.seed },
        rebuild: cli.rebuild,
        runs: cli.runs,
        exposures: cli.exposures,
        evict: !cli.no_evict,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let report = runtime.block_on(matching::run(&options))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    // A missed goal is a figure; a preview that disagrees with the approval fails the run.
    anyhow::ensure!(report.approval.matches_preview, "the approval's counts differ from the preview's");
    Ok(())
}
