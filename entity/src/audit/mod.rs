//! Purpose: entities of the `audit` schema: the permanent audit log.

pub mod events;
