//! Purpose: the discord-emulator crate's own tests (REST shapes against Discord's OpenAPI spec,
//! permissions, rate limits, gateway with a real serenity client).

mod binary;
mod events;
mod gateway_raw;
mod gateway_serenity;
pub mod harness;
mod interactions;
mod oauth;
mod perf;
mod permissions;
mod ratelimit;
mod rest;
mod serenity_rest;
mod spec_validation;
