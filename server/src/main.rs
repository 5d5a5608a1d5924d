//! `oshirase-server`: parses the command line and configuration, then hands over to the
//! library. Nothing testable lives here.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use oshirase_server::config::Settings;
use oshirase_server::startup::{Application, shutdown_signal};

/// The oshirase central server: venue registration, QR posters, check-in.
#[derive(Debug, Parser)]
#[command(name = "oshirase-server", version, about, long_about = None)]
struct Cli {
    /// TOML configuration file. Settings not in the file keep their defaults; environment
    /// variables OSHIRASE_<SECTION>__<KEY> (e.g. OSHIRASE_SERVER__LISTEN) override both.
    #[arg(long, short, value_name = "FILE", env = "OSHIRASE_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Load and check the configuration, print it (secrets redacted) and exit.
    CheckConfig,
    /// For the local demo: register a sample place and print a kiosk pairing code for it
    /// (first line) and its management path (second line).
    DemoKiosk,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    oshirase_server::telemetry::init();
    let cli = Cli::parse();
    let env = std::env::vars().filter(|(k, _)| k != "OSHIRASE_CONFIG");
    let settings = Settings::load(cli.config.as_deref(), env).context("loading configuration")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            println!("{settings:#?}");
            Ok(())
        }
        Command::DemoKiosk => {
            let demo = oshirase_server::demo::demo_kiosk(&settings).await?;
            println!("{}", demo.pairing_code);
            println!("{}", demo.manage_path);
            Ok(())
        }
        Command::Serve => {
            let app = Application::build(settings).await?;
            let addr = app.local_addr()?;
            // Tests and the start script read this line to find the port.
            println!("oshirase-server listening on http://{addr}");
            println!("Open {}/ to register a venue.", app.base_url());
            tracing::info!(%addr, base_url = %app.base_url(), "listening");
            app.run_until(shutdown_signal()).await
        }
    }
}
