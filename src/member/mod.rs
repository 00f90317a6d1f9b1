//! Purpose: the member domain — guild members as a versioned mirror of Discord
//! (`member.members`: one current row per member, closed rows as history and tombstones).
//! The only writer of `member.members`; live sync writes through [`MemberWriter`] inside its own
//! transaction (the seed's one cross-domain write exception). Core domains read members only
//! through [`MemberReader`].

pub mod commands;
pub mod links;
pub mod model;
mod persistence;
pub mod ports;
pub mod service;

pub use links::{LinkError, LinkService, LinkSettings};
pub use model::{BanChanges, BanState, MemberState, WriteStats};
pub use ports::{MemberError, MemberReader, MemberWriter};
pub use service::MemberService;
