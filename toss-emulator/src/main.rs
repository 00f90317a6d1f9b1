//! Purpose: the standalone Toss emulator: prints one JSON line (its base URL, the SDK URL and
//! the keys) and serves until Ctrl-C.

use std::io::Write as _;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "toss-emulator",
    about = "A local Toss Payments (recurring billing)"
)]
struct Cli {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Emulated seconds per real second for webhook retries.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Where `PAYMENT_STATUS_CHANGED` webhooks go.
    #[arg(long)]
    webhook_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", cli.port)).await?;
    let emu = toss_emulator::TossEmulator::serve(
        toss_emulator::TossConfig {
            time_scale: cli.time_scale,
            webhook_url: cli.webhook_url,
            ..toss_emulator::TossConfig::default()
        },
        listener,
    )
    .await?;
    let info = serde_json::json!({
        "api": emu.base_url(),
        "sdk": emu.sdk_url(),
        "client_key": emu.client_key(),
        "secret_key": emu.secret_key(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{info}")?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c().await?;
    emu.shutdown();
    Ok(())
}
