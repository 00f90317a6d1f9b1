//! Purpose: Umbra as a library — everything the `umbra` binary runs, so the end-to-end tests
//! and benchmarks drive the same code in-process.

pub mod app;
pub mod audit;
pub mod billing;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod discord;
pub mod error;
pub mod failpoint;
pub mod guild;
pub mod http;
pub mod i18n;
pub mod identity;
pub mod ids;
pub mod licensing;
pub mod member;
pub mod notification;
pub mod outbox;
pub mod queue;
pub mod recovery;
pub mod sandbox;
pub mod telemetry;
pub mod types;
pub mod webhook;
