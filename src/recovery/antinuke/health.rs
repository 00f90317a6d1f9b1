//! Purpose: protection health — whether Umbra can still protect a guild: the permissions it
//! needs (View Audit Log, Ban, Kick, Manage Roles; Administrator covers them) and whether its
//! highest role is above every member it would have to punish (holders of dangerous permissions
//! who are not the owner, trusted or whitelisted). Computed from the gateway cache (roles) and
//! the member index (members, `discord::members`) at each new session, after role changes and
//! Umbra's own member updates (debounced), and periodically; kept in memory for `/umbra status`
//! and recorded through the guild domain, which tells the owner when it becomes degraded (and
//! why) or healthy again.

use std::time::Duration;

use poise::serenity_prelude as serenity;
use serde_json::json;

use super::model::{self, Health, MemberInfo, Rank, RoleInfo};
use super::service::AntinukeService;

/// Role changes come in bursts (a restore, an attack): the check waits for them to settle.
const DEBOUNCE: Duration = Duration::from_secs(2);

/// Members listed by name in the owner's message.
const LISTED: usize = 5;

impl AntinukeService {
    /// The guild's health from the cache (`None`: not in the cache, or AntiNuke off).
    pub fn health_from_cache(&self, cache: &serenity::Cache, guild: u64) -> Option<Health> {
        let policy = self.policy(guild).filter(|p| p.enabled)?;
        let bot = serenity::UserId::new(self.inner.bot.user_id()?.max(1));
        let g = cache.guild(serenity::GuildId::new(guild))?;
        let roles: Vec<RoleInfo> = g
            .roles
            .values()
            .map(|r| RoleInfo {
                id: r.id.get(),
                permissions: r.permissions.bits(),
                managed: r.managed,
                rank: Rank::of(i64::from(r.position), r.id.get()),
            })
            .collect();
        drop(g);
        // Members from the member index (serenity's cache keeps none but the bot's own).
        let entry = self.inner.sync.members().guild(guild)?;
        let indexed = crate::discord::members::lock(&entry);
        let bot_roles: Vec<u64> = indexed.members.get(&bot.get())?.roles.to_vec();
        let members: Vec<MemberInfo> = indexed
            .members
            .iter()
            .filter(|(id, _)| **id != bot.get())
            .map(|(id, m)| MemberInfo {
                id: *id,
                roles: self.trusted_roles(guild, *id, &m.roles),
            })
            .collect();
        drop(indexed);
        Some(model::health(&roles, guild, &bot_roles, &members, &policy))
    }

    /// Checks the guild's health now and records a change (the owner is told).
    pub async fn check_health(&self, cache: &serenity::Cache, guild: u64) {
        let Some(health) = self.health_from_cache(cache, guild) else {
            return;
        };
        let previous = self.inner.detector.set_health(guild, health.clone());
        if previous.as_ref() == Some(&health) {
            return;
        }
        let document = json!({
            "degraded": health.degraded(),
            "missing": health.missing,
            "above": health.above.iter().map(u64::to_string).collect::<Vec<_>>(),
            "above_count": health.above_count,
        });
        if let Err(e) = self
            .inner
            .guilds
            .record_protection_health(guild, document, reasons(&health))
            .await
        {
            tracing::warn!(guild, error = %e, "AntiNuke: recording the protection health failed");
            // Try again at the next check.
            self.inner.detector.set_health(
                guild,
                Health {
                    missing: vec!["unknown".into()],
                    ..Default::default()
                },
            );
        }
    }

    /// Checks the guild's health once the current burst of changes settled.
    pub(super) fn health_soon(&self, ctx: &serenity::Context, guild: u64) {
        if !self.inner.detector.schedule_health(guild) {
            return;
        }
        let (this, cache) = (self.clone(), ctx.cache.clone());
        tokio::spawn(async move {
            tokio::time::sleep(DEBOUNCE).await;
            this.inner.detector.health_checked(guild);
            this.check_health(&cache, guild).await;
        });
    }

    /// Every guild's health (the periodic refresh).
    pub(super) async fn check_all_health(&self) {
        let Some(cache) = self.inner.bot.cache() else {
            return;
        };
        for guild in self.inner.detector.guilds() {
            self.check_health(cache, guild).await;
        }
    }

    /// The guild's last known protection health.
    pub fn health(&self, guild: u64) -> Option<Health> {
        self.inner.detector.health(guild)
    }
}

/// Why protection is degraded, as the owner's message lists it (stored messages, rendered in
/// the owner's language).
pub fn reasons(health: &Health) -> serde_json::Value {
    let mut items: Vec<serde_json::Value> = health
        .missing
        .iter()
        .map(|p| {
            json!({"type": "message", "value": {"key": "health-missing", "args": {
                "permission": {"type": "message", "value": {"key": format!("permission-{}", p.replace('_', "-")), "args": {}}},
            }}})
        })
        .collect();
    if health.above_count > 0 {
        let names: Vec<String> = health
            .above
            .iter()
            .take(LISTED)
            .map(|m| format!("<@{m}>"))
            .collect();
        items.push(
            json!({"type": "message", "value": {"key": "health-role-too-low", "args": {
                "count": {"type": "number", "value": health.above_count},
                "members": {"type": "text", "value": names.join(", ")},
            }}}),
        );
    }
    json!({"type": "list", "value": items})
}
