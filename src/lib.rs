//! Purpose: Umbra as a library — everything the `umbra` binary runs, so the end-to-end tests
//! and benchmarks drive the same code in-process.

pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod db;
pub mod http;
pub mod outbox;
pub mod telemetry;
