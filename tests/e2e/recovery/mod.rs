//! Purpose: end-to-end tests of Recovery I — live sync (the mirror equals the emulator's guild
//! after a full load, random mutations, a restart, and "as of T" before a burst of deletions)
//! and snapshots (/backup commands, export/import, retention, pinning, refusals) — plus the
//! helpers they share: the database's view of a guild in the emulator's `GuildView` shape, so
//! the emulator's structural `diff` compares the two.

mod snapshot;
mod sync;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use discord_emulator::diff::{
    AutoModView, BanView, ChannelView, EventView, MemberView, OnboardingView, OverwriteView,
    RoleView, ThreadView,
};
use discord_emulator::model::GuildSettings;
use discord_emulator::{DiffEntry, DiffOptions, FixtureSpec, GuildView, diff};
use umbra::recovery::sync::{GuildState, OverwriteTarget, SyncState};

use crate::support::world::TestWorld;

/// The issue's fixture: 50 roles, 100 channels, 300 overwrites, 1,000 members (a "large"
/// guild: members come by gateway chunks).
pub fn issue_fixture() -> FixtureSpec {
    FixtureSpec {
        seed: 5,
        guild_name: "Recovery Fixture".into(),
        roles: 50,
        categories: 10,
        channels: 100,
        overwrites: 300,
        members: 1000,
        ..FixtureSpec::small()
    }
}

/// What is compared: structure, members, bans, webhooks (those people made: see
/// [`differences`]), AutoMod rules, threads, events, the welcome screen and the onboarding
/// (emojis and stickers are mirrored without their images, which only snapshots keep: not
/// compared here; the same for posts' starter messages).
pub fn options() -> DiffOptions {
    DiffOptions {
        stickers: false,
        emojis: false,
        // Forum posts' starter messages are not mirrored (snapshots fetch them).
        starters: false,
        ..DiffOptions::default()
    }
}

/// The emulator's view, with lists whose order carries no meaning sorted.
pub fn emulator_view(world: &TestWorld) -> GuildView {
    let mut v = world
        .emu
        .guild_view(world.guild_id())
        .expect("the fixture guild exists");
    normalize(&mut v);
    v
}

fn normalize(v: &mut GuildView) {
    v.settings.features.sort();
    for c in &mut v.channels {
        c.overwrites.sort_by_key(|o| o.id);
    }
    for m in &mut v.members {
        m.roles.sort_unstable();
        m.role_names.sort();
    }
}

fn u8_of_rule(v: i16) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

/// A guild state read from the database, as a `GuildView`. `user_name` names member
/// overwrite targets who are not members (any more): the view's display labels only.
pub fn view_of(
    state: &GuildState,
    owner_id: u64,
    user_name: impl Fn(u64) -> Option<String>,
) -> GuildView {
    let role_name: HashMap<u64, String> = state
        .roles
        .iter()
        .map(|r| (r.discord_role_id, r.name.clone()))
        .collect();
    let username: HashMap<u64, String> = state
        .members
        .iter()
        .map(|m| (m.discord_user_id, m.username.clone()))
        .collect();
    let channel_name: HashMap<u64, String> = state
        .channels
        .iter()
        .map(|c| (c.discord_channel_id, c.name.clone()))
        .collect();
    let s = state.settings.clone().expect("a synced guild has settings");
    // Named as the emulator's view names them (a dangling id included).
    let named = |ids: &[u64], names: &HashMap<u64, String>, kind: &str| {
        let mut out: Vec<String> = ids
            .iter()
            .map(|i| {
                names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("<deleted {kind} {i}>"))
            })
            .collect();
        out.sort();
        out
    };
    let automod = s
        .automod
        .iter()
        .flatten()
        .map(|r| AutoModView {
            id: r.id,
            name: r.name.clone(),
            event_type: u8_of_rule(r.event_type),
            trigger_type: u8_of_rule(r.trigger_type),
            trigger_metadata: r.trigger_metadata.clone(),
            actions: r
                .actions
                .iter()
                .map(|a| {
                    let mut a = a.clone();
                    let name = a
                        .pointer("/metadata/channel_id")
                        .and_then(|c| c.as_str())
                        .and_then(|c| c.parse::<u64>().ok())
                        .map(|c| named(&[c], &channel_name, "channel").remove(0));
                    if let (Some(name), Some(m)) = (name, a.get_mut("metadata")) {
                        m["channel_id"] = serde_json::Value::String(name);
                    }
                    a
                })
                .collect(),
            enabled: r.enabled,
            exempt_roles: named(&r.exempt_roles, &role_name, "role"),
            exempt_channels: named(&r.exempt_channels, &channel_name, "channel"),
        })
        .collect();
    let u8_of = |v: i16| u8::try_from(v).unwrap_or(u8::MAX);
    let settings = GuildSettings {
        name: s.name,
        description: s.description,
        verification_level: u8_of(s.verification_level),
        default_message_notifications: u8_of(s.default_message_notifications),
        explicit_content_filter: u8_of(s.explicit_content_filter),
        afk_channel_id: s.afk_channel_id,
        afk_timeout: u32::try_from(s.afk_timeout).unwrap_or(0),
        system_channel_id: s.system_channel_id,
        system_channel_flags: u32::try_from(s.system_channel_flags).unwrap_or(0),
        rules_channel_id: s.rules_channel_id,
        public_updates_channel_id: s.public_updates_channel_id,
        safety_alerts_channel_id: s.safety_alerts_channel_id,
        preferred_locale: s.preferred_locale,
        premium_progress_bar_enabled: s.premium_progress_bar_enabled,
        features: s.features,
        icon: s.icon,
        banner: s.banner,
        splash: s.splash,
        discovery_splash: s.discovery_splash,
    };
    let roles = state
        .roles
        .iter()
        .map(|r| RoleView {
            id: r.discord_role_id,
            name: r.name.clone(),
            color: u32::try_from(r.color).unwrap_or(0),
            hoist: r.hoist,
            mentionable: r.mentionable,
            permissions: u64::try_from(r.permissions).unwrap_or(0),
            position: i64::from(r.position),
            managed: r.managed,
            unicode_emoji: r.unicode_emoji.clone(),
            icon: r.icon.clone(),
        })
        .collect();
    let channels = state
        .channels
        .iter()
        .map(|c| {
            let mut overwrites: Vec<OverwriteView> = c
                .overwrites
                .iter()
                .map(|o| OverwriteView {
                    id: o.target_id,
                    kind: u8::try_from(o.target.num()).unwrap_or(0),
                    target_name: match o.target {
                        OverwriteTarget::Role => role_name
                            .get(&o.target_id)
                            .cloned()
                            .unwrap_or_else(|| format!("<deleted role {}>", o.target_id)),
                        OverwriteTarget::Member => username
                            .get(&o.target_id)
                            .cloned()
                            .or_else(|| user_name(o.target_id))
                            .unwrap_or_else(|| format!("<unknown user {}>", o.target_id)),
                    },
                    allow: u64::try_from(o.allow).unwrap_or(0),
                    deny: u64::try_from(o.deny).unwrap_or(0),
                })
                .collect();
            overwrites.sort_by_key(|o| o.id);
            let tags = c
                .available_tags
                .as_ref()
                .and_then(|t| t.as_array())
                .map(|tags| {
                    tags.iter()
                        .filter_map(|t| t["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            ChannelView {
                id: c.discord_channel_id,
                kind: u8::try_from(c.kind).unwrap_or(0),
                name: c.name.clone(),
                parent_id: c.parent_id,
                parent_name: c.parent_id.and_then(|p| channel_name.get(&p).cloned()),
                position: i64::from(c.position),
                topic: c.topic.clone(),
                nsfw: c.nsfw,
                rate_limit_per_user: u32::try_from(c.rate_limit_per_user).unwrap_or(0),
                bitrate: c.bitrate.and_then(|b| u32::try_from(b).ok()).unwrap_or(0),
                user_limit: c
                    .user_limit
                    .and_then(|u| u32::try_from(u).ok())
                    .unwrap_or(0),
                overwrites,
                available_tags: tags,
            }
        })
        .collect();
    let members = state
        .members
        .iter()
        .map(|m| {
            let mut names: Vec<String> = m
                .role_ids
                .iter()
                .filter_map(|r| role_name.get(r).cloned())
                .collect();
            names.sort();
            MemberView {
                user_id: m.discord_user_id,
                username: m.username.clone(),
                nick: m.nick.clone(),
                roles: m.role_ids.clone(),
                role_names: names,
            }
        })
        .collect();
    let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    let events = s
        .events
        .iter()
        .flatten()
        .map(|e| EventView {
            id: e.id,
            name: e.name.clone(),
            description: e.description.clone(),
            start: time(&e.start),
            end: e.end.as_ref().map(time),
            entity_type: u8_of_rule(e.entity_type),
            channel_name: e
                .channel_id
                .map(|c| named(&[c], &channel_name, "channel").remove(0)),
            location: e.location.clone(),
            status: u8_of_rule(e.status),
            image: e.image.clone(),
        })
        .collect();
    let threads = state
        .threads
        .iter()
        .map(|t| {
            let parent = state
                .channels
                .iter()
                .find(|c| c.discord_channel_id == t.parent_id);
            let tag_name = |id: u64| {
                parent
                    .and_then(|p| p.available_tags.as_ref())
                    .and_then(|tags| tags.as_array())
                    .and_then(|tags| {
                        tags.iter()
                            .find(|x| x["id"].as_str() == Some(id.to_string().as_str()))
                    })
                    .and_then(|x| x["name"].as_str())
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("<deleted tag {id}>"))
            };
            let mut applied_tags: Vec<String> =
                t.applied_tags.iter().map(|x| tag_name(*x)).collect();
            applied_tags.sort();
            ThreadView {
                id: t.id,
                kind: u8::try_from(t.kind).unwrap_or(0),
                name: t.name.clone(),
                parent_name: named(&[t.parent_id], &channel_name, "channel").remove(0),
                archived: t.archived,
                locked: t.locked,
                auto_archive_duration: u32::try_from(t.auto_archive_duration).unwrap_or(0),
                rate_limit_per_user: u32::try_from(t.rate_limit_per_user).unwrap_or(0),
                applied_tags,
                pinned: t.flags & 2 != 0,
                starter: None,
            }
        })
        .collect();
    let mut v = GuildView {
        id: state.guild_id,
        owner_id,
        settings,
        roles,
        channels,
        members,
        bans: state
            .bans
            .iter()
            .flatten()
            .map(|b| BanView {
                user_id: b.discord_user_id,
                username: b.username.clone(),
                reason: b.reason.clone(),
            })
            .collect(),
        // The webhooks people made (the emulator's view also has the applications').
        webhooks: s
            .webhooks
            .iter()
            .flatten()
            .map(|w| discord_emulator::diff::WebhookView {
                id: w.id,
                name: w.name.clone(),
                channel_id: w.channel_id,
                channel_name: channel_name.get(&w.channel_id).cloned().unwrap_or_default(),
                avatar: w.avatar.clone(),
            })
            .collect(),
        emojis: Vec::new(),
        stickers: Vec::new(),
        automod,
        threads,
        events,
        onboarding: OnboardingView {
            welcome: s
                .welcome
                .as_ref()
                .filter(|w| w.enabled || w.description.is_some() || !w.channels.is_empty())
                .map(|w| {
                    serde_json::json!({
                        "enabled": w.enabled,
                        "description": w.description,
                        "channels": w.channels.iter().map(|(c, d, e)| {
                            serde_json::json!([named(&[*c], &channel_name, "channel").remove(0), d, e])
                        }).collect::<Vec<_>>(),
                    })
                }),
            onboarding: s
                .onboarding
                .as_ref()
                .map(|o| {
                    serde_json::json!({
                        "enabled": o.enabled,
                        "mode": o.mode,
                        "default_channels": named(&o.default_channels, &channel_name, "channel"),
                        "prompts": o.prompts.iter().map(|p| serde_json::json!({
                            "title": p.title,
                            "type": p.kind,
                            "single_select": p.single_select,
                            "required": p.required,
                            "in_onboarding": p.in_onboarding,
                            "options": p.options.iter().map(|x| serde_json::json!({
                                "title": x.title,
                                "description": x.description,
                                "emoji": x.emoji,
                                "roles": named(&x.roles, &role_name, "role"),
                                "channels": named(&x.channels, &channel_name, "channel"),
                            })).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .unwrap_or_default(),
        },
    };
    normalize(&mut v);
    v
}

/// The database's view of the fixture guild as of `at` (`None`: now).
pub async fn database_view(world: &TestWorld, at: Option<DateTime<Utc>>) -> Option<GuildView> {
    let state = world
        .data()
        .sync
        .state_as_of(world.guild_id(), at)
        .await
        .expect("reading the mirror")?;
    Some(view_of(&state, world.owner_id(), |u| {
        world.emu.user(u).map(|u| u.username)
    }))
}

/// The differences between the emulator's guild now and the database's mirror.
pub async fn differences(world: &TestWorld) -> Vec<DiffEntry> {
    let mut expected = emulator_view(world);
    // The mirror keeps the webhooks people and Umbra made, not other applications'.
    let umbra = world.fixture.app.application_id;
    let by_apps: std::collections::HashSet<u64> = world.emu.with_world(|w| {
        w.webhooks
            .values()
            .filter(|h| h.application_id.is_some_and(|a| a != umbra))
            .map(|h| h.id)
            .collect()
    });
    expected.webhooks.retain(|w| !by_apps.contains(&w.id));
    match database_view(world, None).await {
        Some(actual) => diff(&expected, &actual, &options()),
        None => vec![DiffEntry {
            path: "<the mirror is empty>".into(),
            kind: discord_emulator::DiffKind::Removed,
            before: None,
            after: None,
        }],
    }
}

/// Waits until the mirror equals the emulator's guild; fails with the differences otherwise.
pub async fn assert_mirror_matches(world: &TestWorld, patience: Duration, what: &str) {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let live = world
            .data()
            .sync
            .status(world.guild_id())
            .await
            .map(|s| s.state)
            .ok()
            .flatten();
        let idle = world.data().sync.is_idle(world.guild_id());
        let diffs = if live == Some(SyncState::Live) && idle {
            differences(world).await
        } else {
            vec![]
        };
        if live == Some(SyncState::Live) && idle && diffs.is_empty() {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let shown: Vec<String> = diffs.iter().take(40).map(ToString::to_string).collect();
            panic!(
                "{what}: the mirror does not match the emulator (sync state {live:?}, idle {idle}); {} differences:\n{}",
                diffs.len(),
                shown.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the fixture guild's mirror is live.
pub async fn wait_live(world: &TestWorld) {
    assert_mirror_matches(world, Duration::from_secs(60), "after the full load").await;
}

/// The database's clock (versions are stamped with it).
pub async fn db_now(world: &TestWorld) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&world.db.pool)
        .await
        .expect("reading the database clock")
}
