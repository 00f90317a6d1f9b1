//! Purpose: AntiNuke's use of the restore engine — "Restore what was destroyed" as a restore
//! job from the incident's emergency snapshot, scoped to what the incident destroyed or changed.

use uuid::Uuid;

use super::persistence::Incident;
use super::service::{AntinukeError, RestoreStarted};
use crate::types::Data;

/// Starts the restore job of an incident (`by`: who asked).
pub async fn start(
    _data: &Data,
    _incident: &Incident,
    _snapshot: Uuid,
    _by: u64,
) -> Result<RestoreStarted, AntinukeError> {
    Err(AntinukeError::Restore(
        "the restore engine is not available in this build".into(),
    ))
}
