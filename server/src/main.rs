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
    /// Staff accounts, from the server machine (the first admin, a locked-out admin).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The staff audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a staff account and print its generated password (once). The first admin is
    /// made this way.
    Create {
        /// Login name: 3-32 of a-z 0-9 . _ - starting with a letter.
        #[arg(long)]
        login: String,
        /// The person's name as the console shows it.
        #[arg(long)]
        name: String,
        /// Roles, comma-separated: investigator, approver, admin.
        #[arg(long, default_value = "admin")]
        roles: String,
    },
    /// Give an account a new generated password (printed once), unlock and enable it.
    ResetPassword {
        /// The account's login name.
        #[arg(long)]
        login: String,
    },
    /// Create an API token for the staff JSON API (printed once), acting with one role of an
    /// account, for systems that talk to oshirase.
    Token {
        /// The account the token belongs to.
        #[arg(long)]
        login: String,
        /// The one role it acts with: investigator, approver or admin (the account must hold it).
        #[arg(long)]
        role: String,
        /// What it is for.
        #[arg(long)]
        name: String,
        /// Days until it stops working (none: never).
        #[arg(long)]
        days: Option<u16>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check that no audit entry was altered or removed. Prints the entry count and the head
    /// hash (write it down elsewhere to catch a rewrite of the whole log); exits 1 on a break.
    Verify,
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
        Command::Admin(AdminCommand::Create { login, name, roles }) => {
            let roles = oshirase_server::staff::Roles::parse(&roles).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (account, password) = oshirase_server::admin::create_account(&settings, &login, &name, roles).await?;
            println!("Created staff account {} ({}) with roles {}.", account.login, account.name.as_str(), account.roles.to_stored());
            println!("Password (shown once; change it after the first sign-in at /staff/password):");
            println!("{}", secrecy::ExposeSecret::expose_secret(&password));
            Ok(())
        }
        Command::Admin(AdminCommand::ResetPassword { login }) => {
            let password = oshirase_server::admin::reset_password(&settings, &login).await?;
            println!("New password for {login} (shown once):");
            println!("{}", secrecy::ExposeSecret::expose_secret(&password));
            Ok(())
        }
        Command::Admin(AdminCommand::Token { login, role, name, days }) => {
            let role = oshirase_server::staff::Role::parse(&role).map_err(|e| anyhow::anyhow!("{e}"))?;
            let token = oshirase_server::admin::create_token(&settings, &login, role, &name, days).await?;
            println!("API token for {login} as {role} (shown once; send it as `Authorization: Bearer <token>`):");
            println!("{}", secrecy::ExposeSecret::expose_secret(&token));
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => match oshirase_server::admin::verify_audit(&settings.database.path)? {
            Ok(head) => {
                println!("audit log intact: {} entries, head {}", head.entries, head.hash_hex());
                Ok(())
            }
            Err(broken) => {
                eprintln!("audit log BROKEN: {broken}");
                std::process::exit(1);
            }
        },
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
