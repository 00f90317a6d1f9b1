//! Purpose: oauth tests (being written).
