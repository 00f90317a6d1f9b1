//! Purpose: snapshots — versioned, checksummed, compressed documents of a guild's structure
//! and member roles/nicknames (`recovery.snapshots`): the document format and codec, storage,
//! the four triggers with plan retention and pinning, export/import files, the scheduler, and
//! the `/backup` commands.

pub mod commands;
pub mod model;
mod persistence;
pub mod service;

pub use model::{ExportFile, SnapshotDocument, SnapshotMeta, Trigger};
pub use service::{Created, ScheduledOutcome, SnapshotError, SnapshotService, SnapshotSettings};
