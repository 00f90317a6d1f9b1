//! Purpose: the discord-emulator crate's own tests (REST shapes against Discord's OpenAPI spec,
//! permissions, rate limits, gateway with a real serenity client).
