//! Purpose: entities of the `member` schema: guild members (versioned) and web re-join requests.

pub mod members;
pub mod web_join_requests;
