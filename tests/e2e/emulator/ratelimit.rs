//! Purpose: ratelimit tests (being written).
