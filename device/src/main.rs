//! `oshirase-kiosk`: the kiosk binary. Today it only answers `--help` and `--version`; the
//! kiosk issues add pairing, the display loop and sync.

use clap::Parser;

/// The oshirase kiosk for Raspberry Pi: shows rotating QR codes for residents to scan.
#[derive(Debug, Parser)]
#[command(name = "oshirase-kiosk", version = oshirase_device::VERSION, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("oshirase-kiosk {}: the kiosk is not built yet; see the kiosk issues.", oshirase_device::VERSION);
}
