//! Purpose: everything that touches Discord through serenity/poise — the client set-up (real
//! Discord or the local emulator), the framework (commands, checks, error replies), the event
//! router that feeds the domains, and reply helpers that speak the user's language.

pub mod bot;
pub mod checks;
pub mod client;
pub mod events;
pub mod framework;
pub mod members;
pub mod oauth;
pub mod reply;
pub mod rest;
