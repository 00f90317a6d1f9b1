//! Purpose: entities of the `identity` schema: Umbra user accounts and web sessions.

pub mod sessions;
pub mod users;
