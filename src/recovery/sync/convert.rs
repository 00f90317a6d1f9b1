//! Purpose: the edge between serenity's gateway types and live sync's model — every conversion
//! from `serenity::model` to the normalized state lives here (and nothing else in recovery
//! touches serenity's model types).

use std::collections::HashSet;

use poise::serenity_prelude as serenity;
use serde_json::Value;

use super::model::{
    ChannelState, EmojiState, MemberState, OverwriteState, OverwriteTarget, RoleState,
    SettingsState, StickerState, ThreadState, bits_to_db, channel_kind, color_to_db,
};

fn small(n: u64) -> i16 {
    i16::try_from(n).unwrap_or(i16::MAX)
}

fn int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A JSON value with empty objects/arrays and nulls treated as absent.
fn present(v: Value) -> Option<Value> {
    match &v {
        Value::Null => None,
        Value::Object(map) if map.values().all(Value::is_null) => None,
        _ => Some(v),
    }
}

pub fn role(r: &serenity::Role) -> RoleState {
    RoleState {
        discord_role_id: r.id.get(),
        name: r.name.clone(),
        color: color_to_db(r.colour.0),
        secondary_color: r.colours.secondary_colour.map(|c| color_to_db(c.0)),
        tertiary_color: r.colours.tertiary_colour.map(|c| color_to_db(c.0)),
        hoist: r.hoist,
        position: i32::from(r.position),
        permissions: bits_to_db(r.permissions.bits()),
        mentionable: r.mentionable,
        managed: r.managed,
        icon: r.icon.map(|h| h.to_string()),
        unicode_emoji: r.unicode_emoji.clone(),
        tags: serde_json::to_value(&r.tags).ok().and_then(present),
        flags: 0,
    }
}

/// A thread, `None` for any other channel (or a thread without its metadata or parent).
pub fn thread(c: &serenity::GuildChannel) -> Option<ThreadState> {
    let kind = i16::from(u8::from(c.kind));
    if !channel_kind::THREADS.contains(&kind) {
        return None;
    }
    let meta = c.thread_metadata?;
    let mut applied_tags: Vec<u64> = c.applied_tags.iter().map(|t| t.get()).collect();
    applied_tags.sort_unstable();
    applied_tags.dedup();
    Some(ThreadState {
        id: c.id.get(),
        kind,
        name: c.name.clone(),
        parent_id: c.parent_id?.get(),
        archived: meta.archived,
        locked: meta.locked,
        auto_archive_duration: i32::from(u16::from(meta.auto_archive_duration)),
        // Only private threads have it; public ones are open to everyone anyway.
        invitable: kind != channel_kind::PRIVATE_THREAD || meta.invitable,
        rate_limit_per_user: c.rate_limit_per_user.map(i32::from).unwrap_or(0),
        flags: int(c.flags.bits()),
        applied_tags,
    })
}

/// A guild channel, `None` for threads. Role overwrites naming a role outside `roles` (deleted
/// since) are dropped: Discord removes them with the role without telling.
pub fn channel(c: &serenity::GuildChannel, roles: &HashSet<u64>) -> Option<ChannelState> {
    let kind = i16::from(u8::from(c.kind));
    if channel_kind::THREADS.contains(&kind) {
        return None;
    }
    let forum_like = kind == channel_kind::FORUM || kind == channel_kind::MEDIA;
    let overwrites = c
        .permission_overwrites
        .iter()
        .filter_map(|o| {
            let (target_id, target) = match o.kind {
                serenity::PermissionOverwriteType::Member(u) => (u.get(), OverwriteTarget::Member),
                serenity::PermissionOverwriteType::Role(r) => (r.get(), OverwriteTarget::Role),
                _ => return None,
            };
            if target == OverwriteTarget::Role && !roles.contains(&target_id) {
                return None;
            }
            Some(OverwriteState {
                target_id,
                target,
                allow: bits_to_db(o.allow.bits()),
                deny: bits_to_db(o.deny.bits()),
            })
        })
        .collect();
    Some(
        ChannelState {
            discord_channel_id: c.id.get(),
            kind,
            name: c.name.clone(),
            parent_id: c.parent_id.map(|p| p.get()),
            position: i32::from(c.position),
            topic: c.topic.clone(),
            nsfw: c.nsfw,
            rate_limit_per_user: c.rate_limit_per_user.map(i32::from).unwrap_or(0),
            bitrate: c.bitrate.map(|b| int(u64::from(b))),
            user_limit: c.user_limit.map(|u| int(u64::from(u))),
            rtc_region: c.rtc_region.clone(),
            video_quality_mode: c.video_quality_mode.map(|m| i16::from(u8::from(m))),
            default_auto_archive_duration: c
                .default_auto_archive_duration
                .map(|d| i32::from(u16::from(d))),
            default_thread_rate_limit_per_user: c.default_thread_rate_limit_per_user.map(i32::from),
            available_tags: if forum_like {
                serde_json::to_value(&c.available_tags).ok()
            } else {
                None
            },
            default_reaction_emoji: c
                .default_reaction_emoji
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok())
                .and_then(present),
            default_sort_order: c.default_sort_order.map(|o| i16::from(u8::from(o))),
            default_forum_layout: c.default_forum_layout.map(|l| i16::from(u8::from(l))),
            flags: int(c.flags.bits()),
            overwrites,
        }
        .normalized(),
    )
}

/// Builds settings from a `Guild` or a `PartialGuild` (same field names); `live` drops a
/// channel reference to a channel the guild no longer has (Discord clears it when the channel
/// is deleted, without telling).
macro_rules! settings_of {
    ($g:expr, $live:expr) => {{
        let g = $g;
        let live = $live;
        SettingsState {
            name: g.name.clone(),
            icon: g.icon.map(|h| h.to_string()),
            description: g.description.clone(),
            verification_level: i16::from(u8::from(g.verification_level)),
            default_message_notifications: i16::from(u8::from(g.default_message_notifications)),
            explicit_content_filter: i16::from(u8::from(g.explicit_content_filter)),
            mfa_level: i16::from(u8::from(g.mfa_level)),
            afk_channel_id: live(g.afk_metadata.as_ref().map(|a| a.afk_channel_id)),
            afk_timeout: g
                .afk_metadata
                .as_ref()
                .map(|a| i32::from(u16::from(a.afk_timeout)))
                .unwrap_or(300),
            system_channel_id: live(g.system_channel_id),
            system_channel_flags: int(g.system_channel_flags.bits()),
            rules_channel_id: live(g.rules_channel_id),
            public_updates_channel_id: live(g.public_updates_channel_id),
            safety_alerts_channel_id: live(g.safety_alerts_channel_id),
            preferred_locale: g.preferred_locale.clone(),
            premium_progress_bar_enabled: g.premium_progress_bar_enabled,
            premium_tier: small(u64::from(u8::from(g.premium_tier))),
            features: g.features.clone(),
            vanity_url_code: g.vanity_url_code.clone(),
            banner: g.banner.clone(),
            splash: g.splash.map(|h| h.to_string()),
            discovery_splash: g.discovery_splash.map(|h| h.to_string()),
            stickers: g.stickers.values().map(sticker).collect(),
            // Not part of the guild object: read by REST (see `events::load_automod`).
            automod: None,
            events: None,
            welcome: None,
            onboarding: None,
            webhooks: None,
            emojis: g.emojis.values().map(emoji).collect(),
        }
        .normalized()
    }};
}

/// A custom emoji.
pub fn emoji(e: &serenity::Emoji) -> EmojiState {
    EmojiState {
        id: e.id.get(),
        name: e.name.clone(),
        roles: e.roles.iter().map(|r| r.get()).collect(),
        animated: e.animated,
    }
}

/// A guild sticker.
pub fn sticker(s: &serenity::Sticker) -> StickerState {
    StickerState {
        id: s.id.get(),
        name: s.name.clone(),
        description: s.description.clone(),
        tags: s.tags.join(","),
        format_type: i16::from(u8::from(s.format_type)),
    }
}

/// The settings of a guild from GUILD_CREATE (or the cache).
pub fn settings(g: &serenity::Guild) -> SettingsState {
    settings_of!(g, |c: Option<serenity::ChannelId>| c
        .filter(|c| g.channels.contains_key(c))
        .map(|c| c.get()))
}

/// The settings a GUILD_UPDATE carries (serenity 0.12 does not apply GUILD_UPDATE to its
/// cache, so the event itself is the source); `channels`: the guild's channels now.
pub fn settings_update(g: &serenity::PartialGuild, channels: &HashSet<u64>) -> SettingsState {
    settings_of!(g, |c: Option<serenity::ChannelId>| c
        .map(|c| c.get())
        .filter(|c| channels.contains(c)))
}

/// `settings` without references to channels outside `channels`.
pub fn without_dead_channels(settings: &SettingsState, channels: &HashSet<u64>) -> SettingsState {
    let live = |c: Option<u64>| c.filter(|c| channels.contains(c));
    SettingsState {
        afk_channel_id: live(settings.afk_channel_id),
        system_channel_id: live(settings.system_channel_id),
        rules_channel_id: live(settings.rules_channel_id),
        public_updates_channel_id: live(settings.public_updates_channel_id),
        safety_alerts_channel_id: live(settings.safety_alerts_channel_id),
        ..settings.clone()
    }
}

/// The ids of a guild's channels.
pub fn channel_ids(g: &serenity::Guild) -> HashSet<u64> {
    g.channels.keys().map(|c| c.get()).collect()
}

/// A member; roles outside `roles` (deleted since) are dropped.
pub fn member(guild_id: u64, m: &serenity::Member, roles: &HashSet<u64>) -> MemberState {
    member_of(
        guild_id,
        &m.user,
        m.nick.as_ref(),
        &m.roles,
        m.joined_at,
        roles,
    )
}

/// A member's state from a GUILD_MEMBER_UPDATE (which carries the whole member but the flags
/// Umbra does not keep).
pub fn member_updated(
    guild_id: u64,
    e: &serenity::GuildMemberUpdateEvent,
    roles: &HashSet<u64>,
) -> MemberState {
    member_of(
        guild_id,
        &e.user,
        e.nick.as_ref(),
        &e.roles,
        Some(e.joined_at),
        roles,
    )
}

fn member_of(
    guild_id: u64,
    user: &serenity::User,
    nick: Option<&String>,
    member_roles: &[serenity::RoleId],
    joined_at: Option<serenity::Timestamp>,
    roles: &HashSet<u64>,
) -> MemberState {
    MemberState {
        discord_user_id: user.id.get(),
        username: user.name.clone(),
        global_name: user.global_name.clone(),
        nick: nick.cloned(),
        role_ids: member_roles
            .iter()
            .map(|r| r.get())
            .filter(|r| roles.contains(r))
            .collect(),
        is_bot: user.bot,
        joined_at: joined_at.map(|t| *t),
    }
    .normalized(guild_id)
}

/// The ids of a guild's roles.
pub fn role_ids(g: &serenity::Guild) -> HashSet<u64> {
    g.roles.keys().map(|r| r.get()).collect()
}
