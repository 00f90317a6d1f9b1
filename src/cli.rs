//! Purpose: the command line (clap): `umbra run` (default), `umbra migrate up|down|status|fresh`,
//! `umbra config check`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::{Config, SECRET_VARIABLES, Secrets, config_path};
use crate::db::Database;
use crate::{app, telemetry};

#[derive(Debug, Parser)]
#[command(name = "umbra", version, about = "Keeps Discord servers recoverable.")]
pub struct Cli {
    /// Configuration file (default: $UMBRA_CONFIG, else ./config.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot, the HTTP server and the workers (the default).
    Run,
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Try Umbra without Discord: a local Discord, a demo server, and a narrated AntiNuke
    /// drill (nuke, detection, response, restore, final diff). Exit code 0 when the server ends
    /// equal to its pre-attack state.
    Sandbox {
        /// Also print one JSON object as the last line.
        #[arg(long)]
        json: bool,
        /// Language of the timeline (`en-US`, `ko`); default: from LANG.
        #[arg(long)]
        locale: Option<String>,
        /// Also sell plans on a local Toss Payments and subscribe the demo server to Pro.
        #[arg(long)]
        billing: bool,
        /// Keep the sandbox's database here (default: a temporary directory, removed at the
        /// end). The installation's `data_dir` and database are never used.
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert migrations (the last one by default).
    Down {
        /// How many to revert.
        #[arg(long, default_value_t = 1, conflicts_with = "all")]
        steps: u32,
        /// Revert all of them.
        #[arg(long)]
        all: bool,
    },
    /// List migrations and whether each is applied.
    Status,
    /// Drop Umbra's schemas (ALL DATA) and apply every migration again.
    Fresh {
        /// Confirm that all data may be destroyed.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate the configuration and print the effective values (secrets redacted).
    Check,
}

/// Runs the parsed command line; the process exits with the returned code.
pub async fn main(cli: Cli) -> ExitCode {
    let path = config_path(cli.config.as_deref());
    let config = match Config::load(path.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            telemetry::init(&Default::default());
            eprintln_error(&format!("configuration error: {e}"));
            return ExitCode::from(2);
        }
    };
    // The sandbox prints a timeline and sets up quieter logs itself.
    if !matches!(cli.command, Some(Command::Sandbox { .. })) {
        telemetry::init(&config.log);
    }
    let secrets = Secrets::from_env();
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&config, &secrets).await,
        Command::Migrate { action } => migrate(&config, action).await,
        Command::Sandbox {
            json,
            locale,
            billing,
            data_dir,
        } => return crate::sandbox::main(json, locale, billing, data_dir).await,
        Command::Config {
            action: ConfigAction::Check,
        } => {
            config_check(&config, &secrets, path);
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln_error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stderr)]
fn eprintln_error(message: &str) {
    eprintln!("umbra: {message}");
}

async fn run(config: &Config, secrets: &Secrets) -> anyhow::Result<()> {
    app::preflight(secrets)?;
    // Listening before anything starts: a SIGTERM that comes during start-up (say, as soon as
    // `/healthz` answers) is a clean stop right after it, not the default action's sudden death.
    let stop = shutdown_signal();
    let running = app::start(config, secrets).await?;
    running.run_until(stop).await
}

/// Resolves on SIGINT or SIGTERM received from the moment this is called (the handlers are
/// installed here, not when the future is first polled).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            (Ok(mut one), Err(_)) | (Err(_), Ok(mut one)) => {
                one.recv().await;
            }
            (Err(_), Err(_)) => std::future::pending::<()>().await,
        }
    }
}

#[allow(clippy::print_stdout)]
async fn migrate(config: &Config, action: MigrateAction) -> anyhow::Result<()> {
    if let MigrateAction::Fresh { yes: false } = action {
        anyhow::bail!(
            "`migrate fresh` drops every Umbra schema and ALL its data; run it again with --yes to confirm"
        );
    }
    let db = Database::connect(config).await?;
    let outcome = async {
        match action {
            MigrateAction::Up => {
                let applied = db.migrate().await?;
                if applied.is_empty() {
                    println!("Nothing to apply: the database is up to date.");
                }
                for name in applied {
                    println!("applied  {name}");
                }
            }
            MigrateAction::Down { steps, all } => {
                let steps = (!all).then_some(steps);
                let reverted = migration::down(&db.conn, steps)
                    .await
                    .context("reverting migrations")?;
                if reverted.is_empty() {
                    println!("Nothing to revert.");
                }
                for name in reverted {
                    println!("reverted {name}");
                }
            }
            MigrateAction::Status => {
                let states = migration::status(&db.conn)
                    .await
                    .context("reading migration status")?;
                for state in states {
                    let mark = if state.applied { "applied" } else { "pending" };
                    println!("{mark:8} {}", state.name);
                }
            }
            MigrateAction::Fresh { .. } => {
                let applied = migration::fresh(&db.conn)
                    .await
                    .context("recreating the schema")?;
                println!(
                    "Recreated the database schema ({} migrations).",
                    applied.len()
                );
            }
        }
        anyhow::Ok(())
    }
    .await;
    let closed = db.close().await;
    outcome.and(closed)
}

#[allow(clippy::print_stdout)]
fn config_check(config: &Config, secrets: &Secrets, path: Option<PathBuf>) {
    let source = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(no file: defaults and environment)".into());
    println!("# Configuration is valid. File: {source}");
    println!("# Effective values (passwords in URLs redacted):\n");
    print!("{}", config.to_redacted_toml());
    println!("\n# Secrets (environment only; values never shown):");
    for (name, what) in SECRET_VARIABLES {
        let set = match name {
            "DISCORD_TOKEN" => secrets.discord_token.is_some(),
            "UMBRA_SECRET_KEY" => secrets.secret_key.is_some(),
            _ => false,
        };
        println!(
            "#   {name}: {} — {what}",
            if set { "set" } else { "not set" }
        );
    }
    if std::io::stdout().is_terminal() && config.database.url.is_empty() {
        println!(
            "#\n# database.url is empty: Umbra will run its embedded PostgreSQL under data_dir."
        );
    }
}
