//! Purpose: the `umbra` binary — parses the command line and runs it (see `umbra::cli`).

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: gateway parsing (serenity builds a JSON tree, then the
/// typed event, for every dispatch) is allocation-bound, and glibc's malloc was a sixth of the
/// CPU of a large guild's first load (see README, "Dependencies").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    umbra::cli::main(umbra::cli::Cli::parse()).await
}
