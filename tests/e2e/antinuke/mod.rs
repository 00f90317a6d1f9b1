//! Purpose: end-to-end tests of AntiNuke (issue 7) against the emulator: a rogue admin's nuke
//! stopped after the threshold, actions under the threshold and by trusted users left alone,
//! Umbra's own actions never counted, a nuking bot kicked, dangerous permission grants caught,
//! "False positive" and "Restore what was destroyed" from the owner's DM — plus the helpers
//! they share.

mod bypass;
mod crash;
mod detection;
mod durability;
mod response;
mod sandbox;

use std::time::Duration;

use discord_emulator::BotMessage;
use serde_json::json;
use uuid::Uuid;

use crate::support::world::{PATIENCE, TestWorld};

/// An incident as the tests read it from the database.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub id: Uuid,
    pub actor: i64,
    pub actor_is_bot: bool,
    pub action_class: String,
    pub action_count: i32,
    pub punishment: String,
    pub status: String,
    pub stripped_role_ids: Vec<i64>,
    pub destroyed: serde_json::Value,
    pub response: serde_json::Value,
    pub emergency_snapshot_id: Option<Uuid>,
}

pub async fn incidents(world: &TestWorld) -> Vec<IncidentRow> {
    use sqlx::Row as _;
    let rows = sqlx::query(
        "SELECT id, actor_discord_id, actor_is_bot, action_class, action_count, punishment, status, \
                stripped_role_ids, destroyed, response, emergency_snapshot_id \
           FROM recovery.antinuke_incidents ORDER BY detected_at",
    )
    .fetch_all(&world.db.pool)
    .await
    .expect("reading incidents");
    rows.iter()
        .map(|r| -> Result<IncidentRow, sqlx::Error> {
            Ok(IncidentRow {
                id: r.try_get("id")?,
                actor: r.try_get("actor_discord_id")?,
                actor_is_bot: r.try_get("actor_is_bot")?,
                action_class: r.try_get("action_class")?,
                action_count: r.try_get("action_count")?,
                punishment: r.try_get("punishment")?,
                status: r.try_get("status")?,
                stripped_role_ids: r.try_get("stripped_role_ids")?,
                destroyed: r.try_get("destroyed")?,
                response: r.try_get("response")?,
                emergency_snapshot_id: r.try_get("emergency_snapshot_id")?,
            })
        })
        .collect::<Result<_, _>>()
        .expect("decoding incidents")
}

/// Waits for the `n`-th incident and returns the list.
pub async fn wait_incidents(world: &TestWorld, n: usize) -> Vec<IncidentRow> {
    world
        .eventually(&format!("{n} incident(s) are recorded"), || async {
            incidents(world).await.len() >= n
        })
        .await;
    incidents(world).await
}

/// Events of `event_type` in the outbox.
pub async fn events(world: &TestWorld, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events.outbox WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(&world.db.pool)
        .await
        .expect("counting events")
}

/// A member's roles in the emulator (`None`: not a member).
pub fn roles_of(world: &TestWorld, user: u64) -> Option<Vec<u64>> {
    let guild = world.guild_id();
    world.emu.with_world(|w| {
        w.guilds
            .get(&guild)
            .and_then(|g| g.members.get(&user))
            .map(|m| m.roles.clone())
    })
}

pub fn is_banned(world: &TestWorld, user: u64) -> bool {
    let guild = world.guild_id();
    world.emu.with_world(|w| {
        w.guilds
            .get(&guild)
            .is_some_and(|g| g.bans.contains_key(&user))
    })
}

/// A protected world: the fixture synced into the mirror (so emergency snapshots work) and
/// AntiNuke turned on by the owner.
pub async fn protected(world: TestWorld) -> TestWorld {
    crate::recovery::wait_live(&world).await;
    let reply = world
        .command(world.owner_id(), "antinuke enable", json!({}))
        .await;
    assert!(
        reply.text.contains("AntiNuke is **on**"),
        "enable: {}",
        reply.text
    );
    let guild = world.guild_id();
    assert!(
        world
            .data()
            .antinuke
            .policy(guild)
            .is_some_and(|p| p.enabled),
        "the policy is in force right after the command"
    );
    world
}

/// Waits until the (only) incident's emergency snapshot is linked.
pub async fn emergency_snapshot_linked(world: &TestWorld) {
    world
        .eventually("the emergency snapshot is linked", || async {
            incidents(world).await[0].emergency_snapshot_id.is_some()
        })
        .await;
}

/// The owner presses "Restore what was destroyed" on the incident's DM once its emergency
/// snapshot is linked; returns the button's answer (the restore goes on).
pub async fn owner_restores(world: &TestWorld, incident: Uuid) -> crate::support::world::Reply {
    let dm = incident_dm(world, incident).await;
    emergency_snapshot_linked(world).await;
    world
        .click(
            world.owner_id(),
            &dm,
            &format!("umbra:antinuke:restore:{incident}"),
        )
        .await
}

/// Waits until the (only) incident is resolved.
pub async fn resolved(world: &TestWorld) {
    world
        .eventually("the incident is resolved", || async {
            incidents(world).await[0].status == "resolved"
        })
        .await;
}

/// The owner's DM about an incident (the one with the incident's buttons).
pub async fn incident_dm(world: &TestWorld, incident: Uuid) -> BotMessage {
    let owner = world.owner_id();
    let wanted = format!("umbra:antinuke:restore:{incident}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(m) = world
            .emu
            .dm_messages_to(owner)
            .into_iter()
            .find(|m| m.custom_ids().contains(&wanted))
        {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the owner got no DM about incident {incident}: {:?}",
            world
                .emu
                .dm_messages_to(owner)
                .iter()
                .map(BotMessage::text)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Deletes `channels` as `user`, `gap` apart; returns how many deletions Discord accepted.
pub async fn delete_channels(
    world: &TestWorld,
    user: u64,
    channels: &[u64],
    gap: Duration,
) -> usize {
    let actor = world.emu.as_user(user);
    let mut ok = 0;
    for c in channels {
        if actor.delete_channel(*c).is_ok() {
            ok += 1;
        }
        tokio::time::sleep(gap).await;
    }
    ok
}
