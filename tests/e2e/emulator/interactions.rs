//! Purpose: interactions tests (being written).
