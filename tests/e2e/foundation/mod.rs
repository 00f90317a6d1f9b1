//! Purpose: issue 2's foundation end to end — the embedded cluster, the CLI, the HTTP health
//! and metrics endpoints, and the outbox relay with its audit consumer.

mod chaos;
mod cli;
mod embedded;
mod http;
mod outage;
mod outbox;
mod queue;
mod self_host;
mod shards;
mod tx;
