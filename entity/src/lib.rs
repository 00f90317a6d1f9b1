//! Purpose: SeaORM entities of Umbra's 23 tables, one module per PostgreSQL schema
//! (`<schema>::<table>`), each carrying its `schema_name` so no query depends on `search_path`.
//!
//! Plain data: columns typed as stored (snowflakes `i64`, `bigint[]` `Vec<i64>`, `text[]`
//! `Vec<String>`, `jsonb` `Json`, `bytea` `Vec<u8>`, `timestamptz` `DateTimeWithTimeZone`),
//! states as `String` (the CHECK constraints list the allowed values), relations for the foreign
//! keys. Behaviour lives in the domains; only the owning domain's `persistence.rs` writes a table.

pub mod audit;
pub mod billing;
pub mod events;
pub mod guild;
pub mod identity;
pub mod licensing;
pub mod member;
pub mod notification;
pub mod recovery;
pub mod webhook;
