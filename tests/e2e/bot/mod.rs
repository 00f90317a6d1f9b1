//! Purpose: issue 4 end to end — the bot on the emulator's gateway: connection and command
//! registration, guild lifecycle, localized replies, checks, license grants, components and
//! modals in guilds and DMs, and resilience (op 7 reconnect, RESUME, 429s, fatal closes).

mod commands;
mod lifecycle;
mod resilience;
