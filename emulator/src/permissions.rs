//! Purpose: Discord permission bits and the permission / role-hierarchy math (owner bypass,
//! ADMINISTRATOR, role permissions, channel overwrites).

use crate::model::{Overwrite, OverwriteKind};

pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
pub const KICK_MEMBERS: u64 = 1 << 1;
pub const BAN_MEMBERS: u64 = 1 << 2;
pub const ADMINISTRATOR: u64 = 1 << 3;
pub const MANAGE_CHANNELS: u64 = 1 << 4;
pub const MANAGE_GUILD: u64 = 1 << 5;
pub const ADD_REACTIONS: u64 = 1 << 6;
pub const VIEW_AUDIT_LOG: u64 = 1 << 7;
pub const PRIORITY_SPEAKER: u64 = 1 << 8;
pub const STREAM: u64 = 1 << 9;
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const SEND_TTS_MESSAGES: u64 = 1 << 12;
pub const MANAGE_MESSAGES: u64 = 1 << 13;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const ATTACH_FILES: u64 = 1 << 15;
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
pub const MENTION_EVERYONE: u64 = 1 << 17;
pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
pub const VIEW_GUILD_INSIGHTS: u64 = 1 << 19;
pub const CONNECT: u64 = 1 << 20;
pub const SPEAK: u64 = 1 << 21;
pub const MUTE_MEMBERS: u64 = 1 << 22;
pub const DEAFEN_MEMBERS: u64 = 1 << 23;
pub const MOVE_MEMBERS: u64 = 1 << 24;
pub const USE_VAD: u64 = 1 << 25;
pub const CHANGE_NICKNAME: u64 = 1 << 26;
pub const MANAGE_NICKNAMES: u64 = 1 << 27;
pub const MANAGE_ROLES: u64 = 1 << 28;
pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
pub const MANAGE_GUILD_EXPRESSIONS: u64 = 1 << 30;
pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
pub const REQUEST_TO_SPEAK: u64 = 1 << 32;
pub const MANAGE_EVENTS: u64 = 1 << 33;
pub const MANAGE_THREADS: u64 = 1 << 34;
pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
pub const USE_EXTERNAL_STICKERS: u64 = 1 << 37;
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
pub const USE_EMBEDDED_ACTIVITIES: u64 = 1 << 39;
pub const MODERATE_MEMBERS: u64 = 1 << 40;
pub const VIEW_CREATOR_MONETIZATION_ANALYTICS: u64 = 1 << 41;
pub const USE_SOUNDBOARD: u64 = 1 << 42;
pub const CREATE_GUILD_EXPRESSIONS: u64 = 1 << 43;
pub const CREATE_EVENTS: u64 = 1 << 44;
pub const USE_EXTERNAL_SOUNDS: u64 = 1 << 45;
pub const SEND_VOICE_MESSAGES: u64 = 1 << 46;
pub const SEND_POLLS: u64 = 1 << 49;
pub const USE_EXTERNAL_APPS: u64 = 1 << 50;
pub const PIN_MESSAGES: u64 = 1 << 51;
pub const BYPASS_SLOWMODE: u64 = 1 << 52;

/// Every permission bit Discord defines (what the owner and administrators have).
pub const ALL: u64 =
    ((1 << 47) - 1) | SEND_POLLS | USE_EXTERNAL_APPS | PIN_MESSAGES | BYPASS_SLOWMODE;

/// @everyone's permissions in a newly created Discord guild.
pub const DEFAULT_EVERYONE: u64 = CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | REQUEST_TO_SPEAK
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | USE_EXTERNAL_STICKERS
    | SEND_MESSAGES_IN_THREADS
    | USE_EMBEDDED_ACTIVITIES
    | USE_SOUNDBOARD
    | USE_EXTERNAL_SOUNDS
    | SEND_VOICE_MESSAGES
    | SEND_POLLS
    | USE_EXTERNAL_APPS;

/// Permissions an AntiNuke treats as dangerous when granted to a role.
pub const DANGEROUS: u64 = ADMINISTRATOR
    | MANAGE_GUILD
    | MANAGE_ROLES
    | MANAGE_CHANNELS
    | BAN_MEMBERS
    | KICK_MEMBERS
    | MANAGE_WEBHOOKS
    | MANAGE_GUILD_EXPRESSIONS
    | MENTION_EVERYONE
    | MODERATE_MEMBERS;

/// Guild-level permissions of a member: owner => everything; else @everyone | roles, and
/// ADMINISTRATOR => everything.
pub fn base_permissions(
    is_owner: bool,
    everyone: u64,
    role_permissions: impl IntoIterator<Item = u64>,
) -> u64 {
    if is_owner {
        return ALL;
    }
    let perms = role_permissions
        .into_iter()
        .fold(everyone, |acc, p| acc | p);
    if perms & ADMINISTRATOR != 0 {
        ALL
    } else {
        perms
    }
}

/// Channel-level permissions: Discord's overwrite order (@everyone, then all role overwrites
/// of the member together, then the member's own overwrite). Administrators bypass overwrites.
pub fn channel_permissions(
    base: u64,
    guild_id: u64,
    user_id: u64,
    member_roles: &[u64],
    overwrites: &[Overwrite],
) -> u64 {
    if base & ADMINISTRATOR != 0 || base == ALL {
        return ALL;
    }
    let mut perms = base;
    if let Some(ow) = overwrites
        .iter()
        .find(|o| o.kind == OverwriteKind::Role && o.id == guild_id)
    {
        perms &= !ow.deny;
        perms |= ow.allow;
    }
    let (mut allow, mut deny) = (0u64, 0u64);
    for ow in overwrites {
        if ow.kind == OverwriteKind::Role && ow.id != guild_id && member_roles.contains(&ow.id) {
            allow |= ow.allow;
            deny |= ow.deny;
        }
    }
    perms &= !deny;
    perms |= allow;
    if let Some(ow) = overwrites
        .iter()
        .find(|o| o.kind == OverwriteKind::Member && o.id == user_id)
    {
        perms &= !ow.deny;
        perms |= ow.allow;
    }
    // Without VIEW_CHANNEL nothing else in the channel applies.
    if perms & VIEW_CHANNEL == 0 { 0 } else { perms }
}

/// Parses a permission value as Discord sends it (a decimal string; numbers are tolerated).
pub fn parse(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ow(id: u64, kind: OverwriteKind, allow: u64, deny: u64) -> Overwrite {
        Overwrite {
            id,
            kind,
            allow,
            deny,
        }
    }

    #[test]
    fn the_owner_has_every_permission_even_with_no_roles() {
        assert_eq!(base_permissions(true, 0, []), ALL);
    }

    #[test]
    fn administrator_on_any_role_grants_every_permission() {
        assert_eq!(base_permissions(false, VIEW_CHANNEL, [ADMINISTRATOR]), ALL);
    }

    #[test]
    fn role_permissions_are_ored_with_everyone() {
        let p = base_permissions(false, VIEW_CHANNEL, [KICK_MEMBERS, BAN_MEMBERS]);
        assert_eq!(p, VIEW_CHANNEL | KICK_MEMBERS | BAN_MEMBERS);
    }

    #[test]
    fn a_role_allow_beats_an_everyone_deny_and_a_member_deny_beats_a_role_allow() {
        let g = 1;
        let base = VIEW_CHANNEL | SEND_MESSAGES;
        let overwrites = [
            ow(g, OverwriteKind::Role, 0, SEND_MESSAGES),
            ow(10, OverwriteKind::Role, SEND_MESSAGES, 0),
        ];
        assert_eq!(
            channel_permissions(base, g, 5, &[10], &overwrites),
            VIEW_CHANNEL | SEND_MESSAGES
        );
        assert_eq!(
            channel_permissions(base, g, 5, &[], &overwrites),
            VIEW_CHANNEL
        );
        let mut with_member = overwrites.to_vec();
        with_member.push(ow(5, OverwriteKind::Member, 0, SEND_MESSAGES));
        assert_eq!(
            channel_permissions(base, g, 5, &[10], &with_member),
            VIEW_CHANNEL
        );
    }

    #[test]
    fn a_role_deny_and_allow_of_the_same_bit_on_two_roles_resolves_to_allow() {
        let overwrites = [
            ow(10, OverwriteKind::Role, 0, SEND_MESSAGES),
            ow(11, OverwriteKind::Role, SEND_MESSAGES, 0),
        ];
        let p = channel_permissions(VIEW_CHANNEL | SEND_MESSAGES, 1, 5, &[10, 11], &overwrites);
        assert_eq!(p & SEND_MESSAGES, SEND_MESSAGES);
    }

    #[test]
    fn losing_view_channel_removes_every_channel_permission() {
        let overwrites = [ow(1, OverwriteKind::Role, 0, VIEW_CHANNEL)];
        assert_eq!(
            channel_permissions(VIEW_CHANNEL | SEND_MESSAGES, 1, 5, &[], &overwrites),
            0
        );
    }

    #[test]
    fn administrators_ignore_overwrites() {
        let overwrites = [ow(1, OverwriteKind::Role, 0, VIEW_CHANNEL)];
        assert_eq!(channel_permissions(ALL, 1, 5, &[], &overwrites), ALL);
    }

    #[test]
    fn permissions_parse_from_strings_and_numbers() {
        assert_eq!(parse(&serde_json::json!("8")), Some(8));
        assert_eq!(parse(&serde_json::json!(8)), Some(8));
        assert_eq!(parse(&serde_json::json!("x")), None);
    }
}
