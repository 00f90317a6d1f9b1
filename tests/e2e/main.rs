//! Purpose: the ONE integration-test binary of the workspace (link time on 2 cores matters).
//! Every end-to-end test lives in a module below; shared helpers live in `support`.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod antinuke;
mod billing;
mod bot;
mod emulator;
mod foundation;
mod links;
mod member;
mod notification;
mod recovery;
mod restore;
mod schema;
mod support;
mod toss;
mod web;
