//! Purpose: permissions tests (being written).
