//! Purpose: entities of the `notification` schema: notification requests and user preferences.

pub mod preferences;
pub mod requests;
