//! Purpose: shared test helpers (fresh database per test, TestWorld).

pub mod browser;
pub mod db;
pub mod web;
pub mod world;
