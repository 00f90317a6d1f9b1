//! Purpose: the standalone emulator binary: prints one JSON line describing the running
//! emulator (addresses, CA path, bot token, fixture ids) and serves until killed.

use std::io::Write as _;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "discord-emulator",
    about = "A local Discord (REST v10 + Gateway + rate limits)"
)]
struct Cli {
    #[command(flatten)]
    opts: discord_emulator::StandaloneOptions,
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
    let (emu, _fixture, info) = discord_emulator::run_standalone(&cli.opts).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{info}")?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c().await?;
    emu.shutdown();
    Ok(())
}
