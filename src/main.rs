//! Purpose: the `umbra` binary — parses the command line and runs it (see `umbra::cli`).

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    umbra::cli::main(umbra::cli::Cli::parse()).await
}
