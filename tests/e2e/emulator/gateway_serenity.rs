//! Purpose: gateway_serenity tests (being written).
