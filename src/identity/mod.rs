//! Purpose: the identity domain — Umbra's users (one row per Discord user Umbra deals with:
//! guild owners, people who log in or re-join through the web). The only writer of
//! `identity.*`; other domains record users through [`UserRecorder`] inside their own
//! transaction and read them through [`UserReader`].

pub mod grants;
mod model;
mod persistence;
mod ports;
mod service;

pub use grants::{GrantError, GrantStore, OpenGrant};
pub use model::{LoginProfile, User, UserProfile, WebSession};
pub use ports::{UserReader, UserRecorder};
pub use service::{IdentityService, token_hash};
