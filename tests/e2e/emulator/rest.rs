//! Purpose: rest tests (being written).
