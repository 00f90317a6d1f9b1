//! Purpose: punishments are deduplicated in the database and a crash never loses an incident —
//! two processes' detections of one actor make one incident (their stripped roles and what
//! was destroyed merged), and an incident whose process died before notifying the owner is
//! finished by the next process, once.

use chrono::Utc;
use umbra::guild::GuildReader;
use umbra::recovery::antinuke::Destroyed;
use umbra::recovery::antinuke::NewIncident;
use uuid::Uuid;

use super::{events, incident_dm, incidents, protected};
use crate::support::world::TestWorld;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_detections_of_one_actor_make_one_incident_and_an_interrupted_one_is_finished_once() {
    let world = protected(TestWorld::start().await).await;
    let data = world.data().clone();
    let f = world.fixture.clone();
    let row = data
        .guilds
        .guild(world.guild_id())
        .await
        .unwrap()
        .unwrap()
        .id;
    let detected = Utc::now() - chrono::Duration::minutes(2);
    let new = |stripped: u64, channel: u64| {
        let mut destroyed = Destroyed::default();
        destroyed.channels_deleted.insert(channel);
        NewIncident {
            id: Uuid::now_v7(),
            guild_row: row,
            actor: f.rogue_admin_id,
            actor_is_bot: false,
            action_class: "channel_delete".into(),
            action_count: 3,
            first_action_at: detected - chrono::Duration::seconds(1),
            detected_at: detected,
            dedupe_slot: detected.timestamp() / 600,
            slot_seconds: 600,
            punishment: "strip_roles".into(),
            response: serde_json::json!([{"step": "punish", "ok": true}]),
            stripped_role_ids: vec![stripped],
            destroyed,
        }
    };
    // Process A punished and recorded; process B (the same shard after a handover) too.
    let a = new(f.admin_role_id, 101);
    let (first, inserted) = data.antinuke.record_incident(&a).await.unwrap();
    assert!(inserted);
    let (second, inserted) = data
        .antinuke
        .record_incident(&new(f.moderator_role_id, 102))
        .await
        .unwrap();
    assert!(!inserted);
    assert_eq!(first, second);
    let list = incidents(&world).await;
    assert_eq!(list.len(), 1);
    let mut stripped = list[0].stripped_role_ids.clone();
    stripped.sort_unstable();
    let mut expected = vec![f.admin_role_id as i64, f.moderator_role_id as i64];
    expected.sort_unstable();
    assert_eq!(
        stripped, expected,
        "both processes' stripped roles are kept"
    );
    assert_eq!(
        list[0].destroyed["channels_deleted"],
        serde_json::json!([101, 102])
    );
    // Both died before notifying the owner: the next process's worker finishes it, once.
    assert_eq!(events(&world, "recovery.incident_detected").await, 0);
    data.antinuke.resume().await;
    data.antinuke.resume().await;
    assert_eq!(events(&world, "recovery.incident_detected").await, 1);
    let dm = incident_dm(&world, first).await;
    assert!(
        dm.text().contains("AntiNuke stopped a nuke"),
        "{}",
        dm.text()
    );
    world.finish().await;
}
