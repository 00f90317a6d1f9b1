//! Purpose: gateway_raw tests (being written).
