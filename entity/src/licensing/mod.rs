//! Purpose: entities of the `licensing` schema: plans and licenses.

pub mod licenses;
pub mod plans;
