//! Purpose: events tests (being written).
