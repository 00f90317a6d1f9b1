//! Purpose: shared test helpers (fresh database per test, TestWorld).

pub mod binary;
pub mod browser;
pub mod db;
pub mod logs;
pub mod web;
pub mod world;
