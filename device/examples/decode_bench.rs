//! Measures the kiosk's QR decoding on generated 640×480 camera frames
//! (`camera::degrade`): the time per frame, with a code and without one, and the share of
//! degraded frames read, per kind of degradation, for a pass-sized code and for a short
//! kiosk URL; then the same rates for simpler strategies, to show what each stage adds.
//!
//! ```text
//! cargo run --release -p oshirase-device --example decode_bench -- \
//!     [--per-kind 25] [--seed 1] [--stages half,full,regions,smoothed] \
//!     [--write-frames DIR] [--list-failures]
//! ```
//!
//! `--write-frames` also saves every generated frame as a PNG: recorded frames for the demo
//! (`camera::recorded`). Timing is measured here rather than asserted in a test, where a busy
//! CI machine would make it flaky; `tests/camera.rs` asserts the rates, which do not depend on
//! the machine.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use oshirase_device::camera::GrayFrame;
use oshirase_device::camera::decode::{Decoded, STAGES, Stage, decode_traced, decode_with};
use oshirase_device::camera::degrade::{self, Kind, Scene, Symbol};

/// A real pass: the first test vector of `docs/protocol.md` ("Passes"), 131 characters of
/// QR alphanumeric text, version 6 at level M.
const PASS: &str = "OSP100GE1R70W3GE1R70W3PPJEJ01G0C6KY2T8K653ENE3SQ30K909D8FA8V0Y5BPF5BWCBYVV1EVC79R0DV64M97P9VB0WYCBE7YFZKPT6R7C25BY8XVQBYGAB0GCT27G0";
/// A kiosk check-in URL (version 3 at level M).
const URL: &str = "HTTPS://OSHIRASE.EXAMPLE.JP/K/KX7PQ2M901R2DW0A70PJXV6XG";
/// Frames of the background alone, for the time a frame without a code costs.
const EMPTY_FRAMES: u64 = 50;

#[derive(Debug, Parser)]
struct Args {
    /// Degraded frames per kind and payload (9 kinds).
    #[arg(long, default_value_t = 25)]
    per_kind: u64,
    /// First seed; the n-th frame of each kind uses seed + n.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stages to try, in order (default: the decoder's own, half,full,regions,smoothed).
    #[arg(long, value_delimiter = ',', value_parser = parse_stage)]
    stages: Option<Vec<Stage>>,
    /// Also write every generated frame as PNG into this folder.
    #[arg(long)]
    write_frames: Option<PathBuf>,
    /// List the frames that were not read, with their scene parameters.
    #[arg(long)]
    list_failures: bool,
}

fn parse_stage(s: &str) -> Result<Stage, String> {
    match s {
        "half" => Ok(Stage::Half),
        "full" => Ok(Stage::Full),
        "regions" => Ok(Stage::Regions),
        "smoothed" => Ok(Stage::Smoothed),
        other => Err(format!(
            "unknown stage {other:?} (half, full, regions, smoothed)"
        )),
    }
}

/// One generated frame and what it shows.
struct Sample {
    payload: &'static str,
    kind: Kind,
    seed: u64,
    frame: GrayFrame,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // No --stages: the decoder as the kiosk runs it (its stages planned by the frame's noise).
    let stages = args.stages.clone().unwrap_or_default();
    if let Some(dir) = &args.write_frames {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let empty: Vec<GrayFrame> = (0..EMPTY_FRAMES)
        .map(|n| degrade::empty_frame(args.seed + n))
        .collect();
    let mut payloads = Vec::new();
    for (name, payload) in [("pass", PASS), ("url", URL)] {
        let symbol = Symbol::encode(payload).context("payload does not fit a QR code")?;
        let samples = generate(&args, name, payload, &symbol)?;
        payloads.push((name, symbol, samples));
    }

    println!("Decode time per 640×480 frame, stages {stages:?}:");
    println!();
    println!("| frames | n | median ms | p90 ms | max ms | read |");
    println!("|---|---|---|---|---|---|");
    let (times, reads) = time_frames(&empty, &stages);
    print_times("no code (background only)", &times, reads);
    for (name, _, samples) in &payloads {
        let clean: Vec<GrayFrame> = samples
            .iter()
            .filter(|s| s.kind == Kind::Clean)
            .map(|s| s.frame.clone())
            .collect();
        let (times, reads) = time_frames(&clean, &stages);
        print_times(&format!("{name}, clean"), &times, reads);
        let all: Vec<GrayFrame> = samples.iter().map(|s| s.frame.clone()).collect();
        let (times, reads) = time_frames(&all, &stages);
        print_times(&format!("{name}, all degraded"), &times, reads);
    }

    for (name, symbol, samples) in &payloads {
        println!();
        println!(
            "Decode rate, {name} ({} characters, QR version {}, {} modules):",
            samples[0].payload.len(),
            symbol.version(),
            symbol.side()
        );
        println!();
        rate_table(&args, symbol, samples, &stages);
    }

    println!();
    println!("Strategies compared (rate on all degraded frames; time on frames without a code):");
    println!();
    println!("| stages | pass | url | no code, median ms |");
    println!("|---|---|---|---|");
    let strategies: [&[Stage]; 5] = [
        &[Stage::Full],
        &[Stage::Half, Stage::Full],
        &[Stage::Half, Stage::Full, Stage::Regions],
        &STAGES,
        &[],
    ];
    for strategy in strategies {
        let rates: Vec<String> = payloads
            .iter()
            .map(|(_, _, samples)| {
                let read = samples
                    .iter()
                    .filter(|s| reads_payload(&s.frame, s.payload, strategy))
                    .count();
                percent(read, samples.len())
            })
            .collect();
        let (times, _) = time_frames(&empty, strategy);
        println!(
            "| {} | {} | {} | {} |",
            names(strategy),
            rates[0],
            rates[1],
            ms(percentile(&times, 50))
        );
    }
    Ok(())
}

/// The degraded frames for one payload, `per_kind` of each kind.
fn generate(
    args: &Args,
    name: &str,
    payload: &'static str,
    symbol: &Symbol,
) -> anyhow::Result<Vec<Sample>> {
    let mut samples = Vec::new();
    for kind in Kind::ALL {
        for n in 0..args.per_kind {
            let seed = args.seed + n;
            let frame = degrade::frame(symbol, kind, seed);
            if let Some(dir) = &args.write_frames {
                let path = dir.join(format!("{name}-{}-{seed:04}.png", kind.name()));
                std::fs::write(&path, frame.to_png())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            samples.push(Sample {
                payload,
                kind,
                seed,
                frame,
            });
        }
    }
    Ok(samples)
}

#[derive(Debug, Default)]
struct Tally {
    frames: usize,
    read: usize,
    wrong: usize,
    times: Vec<Duration>,
    by_stage: BTreeMap<Stage, usize>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.frames += other.frames;
        self.read += other.read;
        self.wrong += other.wrong;
        self.times.extend(&other.times);
        for (stage, n) in &other.by_stage {
            *self.by_stage.entry(*stage).or_default() += n;
        }
    }
}

fn rate_table(args: &Args, symbol: &Symbol, samples: &[Sample], stages: &[Stage]) {
    let mut tallies: BTreeMap<Kind, Tally> = BTreeMap::new();
    for sample in samples {
        let tally = tallies.entry(sample.kind).or_default();
        let start = Instant::now();
        let decoded = decode_as(&sample.frame, stages);
        tally.times.push(start.elapsed());
        tally.frames += 1;
        if decoded.texts.iter().any(|t| t != sample.payload) {
            tally.wrong += 1;
        }
        if decoded.texts.iter().any(|t| t == sample.payload) {
            tally.read += 1;
            if let Some(stage) = decoded.stage {
                *tally.by_stage.entry(stage).or_default() += 1;
            }
        } else if args.list_failures {
            let scene = Scene::sample(sample.kind, sample.seed, symbol);
            println!(
                "not read: {} seed {}: {scene:?}",
                sample.kind.name(),
                sample.seed
            );
        }
    }
    println!("| kind | frames | read | rate | median ms | p90 ms | max ms | read at stage |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut total = Tally::default();
    for (kind, tally) in &tallies {
        print_row(kind.name(), tally);
        total.add(tally);
    }
    print_row("all", &total);
    if total.wrong > 0 {
        println!();
        println!("WRONG TEXT READ in {} frames", total.wrong);
    }
}

fn print_row(name: &str, tally: &Tally) {
    let stages: Vec<String> = tally
        .by_stage
        .iter()
        .map(|(stage, n)| format!("{} {n}", names(&[*stage])))
        .collect();
    println!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} |",
        tally.frames,
        tally.read,
        percent(tally.read, tally.frames),
        ms(percentile(&tally.times, 50)),
        ms(percentile(&tally.times, 90)),
        ms(percentile(&tally.times, 100)),
        stages.join(", ")
    );
}

fn print_times(name: &str, times: &[Duration], reads: usize) {
    println!(
        "| {name} | {} | {} | {} | {} | {} |",
        times.len(),
        ms(percentile(times, 50)),
        ms(percentile(times, 90)),
        ms(percentile(times, 100)),
        reads
    );
}

fn reads_payload(frame: &GrayFrame, payload: &str, stages: &[Stage]) -> bool {
    decode_as(frame, stages)
        .texts
        .iter()
        .any(|t| t == payload)
}

/// Decode time of each frame, and how many frames gave any text.
fn time_frames(frames: &[GrayFrame], stages: &[Stage]) -> (Vec<Duration>, usize) {
    let mut reads = 0;
    let times = frames
        .iter()
        .map(|frame| {
            let start = Instant::now();
            let decoded = decode_as(frame, stages);
            let elapsed = start.elapsed();
            if !decoded.texts.is_empty() {
                reads += 1;
            }
            elapsed
        })
        .collect();
    (times, reads)
}

/// `stages` in order, or with none given, the decoder's own plan ([`decode_traced`]).
fn decode_as(frame: &GrayFrame, stages: &[Stage]) -> Decoded {
    if stages.is_empty() { decode_traced(frame) } else { decode_with(frame, stages) }
}

fn names(stages: &[Stage]) -> String {
    if stages.is_empty() {
        return "the decoder: half→full→regions, or half→smoothed→regions when noisy".to_owned();
    }
    let names: Vec<&str> = stages
        .iter()
        .map(|stage| match stage {
            Stage::Half => "half",
            Stage::Full => "full",
            Stage::Regions => "regions",
            Stage::Smoothed => "smoothed",
        })
        .collect();
    names.join("→")
}

fn percentile(times: &[Duration], p: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n => sorted[(n - 1) * p / 100],
    }
}

fn percent(part: usize, whole: usize) -> String {
    format!("{:.0}%", 100.0 * part as f64 / whole.max(1) as f64)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}
