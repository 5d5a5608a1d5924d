//! Logging with `tracing`, to standard error (standard output carries only the address
//! line that scripts and tests read). `OSHIRASE_LOG` sets the filter (same syntax as `RUST_LOG`,
//! default `info`); `OSHIRASE_LOG_FORMAT=json` writes JSON lines for log collectors.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let filter = EnvFilter::try_from_env("OSHIRASE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("OSHIRASE_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
