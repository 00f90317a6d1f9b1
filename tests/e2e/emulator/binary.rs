//! Purpose: binary tests (being written).
