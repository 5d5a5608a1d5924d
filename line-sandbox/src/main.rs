//! `oshirase-line-sandbox`: command-line flags (or environment variables) to a running
//! sandbox. Prints `oshirase-line-sandbox listening on http://ADDR` as its first line on
//! stdout; logs go to stderr.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use oshirase_line_sandbox::{Sandbox, SandboxConfig, config::check_webhook_url};

/// A stand-in for the LINE platform: the Messaging API, signed webhooks, and simulated
/// residents (control API under /sandbox, web page at /).
#[derive(Debug, Parser)]
#[command(name = "oshirase-line-sandbox", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "OSHIRASE_LINE_SANDBOX_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Channel secret; webhooks are signed with it. Same variable as the server's.
    #[arg(long, env = "OSHIRASE_LINE__CHANNEL_SECRET", hide_env_values = true)]
    channel_secret: String,
    /// Channel access token the Messaging API accepts. Same variable as the server's.
    #[arg(long, env = "OSHIRASE_LINE__CHANNEL_ACCESS_TOKEN", hide_env_values = true)]
    channel_access_token: String,
    /// The bot's user id, sent as `destination` in webhooks.
    #[arg(long, env = "OSHIRASE_LINE_SANDBOX_BOT_USER_ID", default_value = SandboxConfig::DEFAULT_BOT_USER_ID)]
    bot_user_id: String,
    /// The official account's basic id. Same variable as the server's.
    #[arg(long, env = "OSHIRASE_LINE__BASIC_ID", default_value = "@oshirase")]
    basic_id: String,
    /// Where to deliver webhooks (can be set later with PUT /sandbox/config).
    #[arg(long, env = "OSHIRASE_LINE_SANDBOX_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// The base URL others use to reach this sandbox, if not http://<listen address>
    /// (deep links must point here).
    #[arg(long, env = "OSHIRASE_LINE_SANDBOX_PUBLIC_BASE_URL")]
    public_base_url: Option<String>,
    /// Also accept http:// image URLs (LINE accepts only https://). A deliberate deviation
    /// from LINE, for a local server on plain http://127.0.0.1:PORT; never needed in front
    /// of a real HTTPS server.
    #[arg(long, env = "OSHIRASE_LINE_SANDBOX_ALLOW_HTTP_MEDIA", value_parser = clap::builder::BoolishValueParser::new())]
    allow_http_media: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    if let Some(url) = &args.webhook_url {
        check_webhook_url(url).with_context(|| format!("--webhook-url {url}"))?;
    }
    let mut config = SandboxConfig {
        bot_user_id: args.bot_user_id,
        basic_id: args.basic_id,
        webhook_url: args.webhook_url,
        public_base_url: args.public_base_url,
        ..SandboxConfig::new(args.channel_secret, args.channel_access_token)
    };
    config.knobs.allow_http_media = args.allow_http_media;
    if args.allow_http_media {
        tracing::warn!("--allow-http-media: http:// image URLs are accepted, unlike LINE (which accepts only https://)");
    }
    let handle = Sandbox::start_on(config, args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("oshirase-line-sandbox listening on http://{}", handle.addr());
    tracing::info!(base_url = %handle.base_url(), basic_id = handle.sandbox().basic_id(), "ready; open the base URL in a browser");
    handle.run_until_signal().await.context("serving")
}
