//! Purpose: shared test helpers (fresh database per test, TestWorld).

pub mod db;
pub mod world;
