//! Purpose: a serializable view of a guild (settings, roles, channels with overwrites,
//! members, bans, webhooks, emojis) and a structural, readable diff of two views that can
//! ignore ids (matching roles by name, channels by type/name/parent, overwrites by target).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::*;
use crate::state::World;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleView {
    pub id: RoleId,
    pub name: String,
    pub color: u32,
    pub hoist: bool,
    pub mentionable: bool,
    pub permissions: u64,
    pub position: i64,
    pub managed: bool,
    pub unicode_emoji: Option<String>,
    /// The icon's hash (derived from its bytes).
    #[serde(default)]
    pub icon: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverwriteView {
    pub id: u64,
    /// 0 = role, 1 = member.
    pub kind: u8,
    /// Role name or username of the target.
    pub target_name: String,
    pub allow: u64,
    pub deny: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelView {
    pub id: ChannelId,
    pub kind: u8,
    pub name: String,
    pub parent_id: Option<ChannelId>,
    pub parent_name: Option<String>,
    pub position: i64,
    pub topic: Option<String>,
    pub nsfw: bool,
    pub rate_limit_per_user: u32,
    pub bitrate: u32,
    pub user_limit: u32,
    pub overwrites: Vec<OverwriteView>,
    pub available_tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: UserId,
    pub username: String,
    pub nick: Option<String>,
    pub roles: Vec<RoleId>,
    pub role_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BanView {
    pub user_id: UserId,
    pub username: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: WebhookId,
    pub name: String,
    pub channel_id: ChannelId,
    pub channel_name: String,
    /// Its avatar's hash (named by its bytes).
    #[serde(default)]
    pub avatar: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmojiView {
    pub id: EmojiId,
    pub name: String,
    pub animated: bool,
    /// The roles allowed to use it (empty: everyone), by name, sorted.
    pub role_names: Vec<String>,
    /// SHA-256 of the image bytes (hex).
    pub image_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StickerView {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub tags: String,
    pub format_type: u8,
    /// SHA-256 of the file (hex).
    pub image_sha256: String,
}

/// A guild's welcome screen and onboarding, channels and roles by name (`None`: no welcome
/// screen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OnboardingView {
    pub welcome: Option<serde_json::Value>,
    pub onboarding: serde_json::Value,
}

/// A scheduled event, its channel by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub start: String,
    pub end: Option<String>,
    pub entity_type: u8,
    pub channel_name: Option<String>,
    pub location: Option<String>,
    pub status: u8,
    /// Its cover image's hash (named by its bytes).
    #[serde(default)]
    pub image: Option<String>,
}

/// A thread, its parent and tags by name (a restore makes new ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadView {
    pub id: u64,
    pub kind: u8,
    pub name: String,
    pub parent_name: String,
    pub archived: bool,
    pub locked: bool,
    pub auto_archive_duration: u32,
    pub rate_limit_per_user: u32,
    /// Sorted.
    pub applied_tags: Vec<String>,
    pub pinned: bool,
    /// A forum post's starter message (content).
    pub starter: Option<String>,
}

/// An AutoMod rule, with role and channel ids shown by name (a restore makes new ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoModView {
    pub id: u64,
    pub name: String,
    pub event_type: u8,
    pub trigger_type: u8,
    pub trigger_metadata: serde_json::Value,
    /// Each action with an alert channel's id replaced by its name.
    pub actions: Vec<serde_json::Value>,
    pub enabled: bool,
    /// Sorted.
    pub exempt_roles: Vec<String>,
    /// Sorted.
    pub exempt_channels: Vec<String>,
}

/// A guild's recoverable structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuildView {
    pub id: GuildId,
    pub owner_id: UserId,
    pub settings: GuildSettings,
    /// Sorted by position (lowest first), @everyone included.
    pub roles: Vec<RoleView>,
    /// Sorted by (position, id).
    pub channels: Vec<ChannelView>,
    /// Sorted by user id.
    pub members: Vec<MemberView>,
    pub bans: Vec<BanView>,
    pub webhooks: Vec<WebhookView>,
    pub emojis: Vec<EmojiView>,
    #[serde(default)]
    pub stickers: Vec<StickerView>,
    #[serde(default)]
    pub automod: Vec<AutoModView>,
    #[serde(default)]
    pub threads: Vec<ThreadView>,
    #[serde(default)]
    pub events: Vec<EventView>,
    #[serde(default)]
    pub onboarding: OnboardingView,
}

impl GuildView {
    pub fn build(world: &World, g: &Guild) -> Self {
        let role_name = |id: &RoleId| {
            g.roles
                .get(id)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| format!("<deleted role {id}>"))
        };
        let user_name = |id: &UserId| {
            world
                .users
                .get(id)
                .map(|u| u.username.clone())
                .unwrap_or_else(|| format!("<unknown user {id}>"))
        };
        let roles = g
            .sorted_roles()
            .iter()
            .map(|r| RoleView {
                id: r.id,
                name: r.name.clone(),
                color: r.color,
                hoist: r.hoist,
                mentionable: r.mentionable,
                permissions: r.permissions,
                position: r.position,
                managed: r.managed,
                unicode_emoji: r.unicode_emoji.clone(),
                icon: r.icon.clone(),
            })
            .collect();
        let channels = g
            .sorted_channels()
            .iter()
            .map(|c| ChannelView {
                id: c.id,
                kind: c.kind,
                name: c.name.clone(),
                parent_id: c.parent_id,
                parent_name: c
                    .parent_id
                    .and_then(|p| g.channels.get(&p))
                    .map(|p| p.name.clone()),
                position: c.position,
                topic: c.topic.clone(),
                nsfw: c.nsfw,
                rate_limit_per_user: c.rate_limit_per_user,
                bitrate: c.bitrate,
                user_limit: c.user_limit,
                overwrites: c
                    .overwrites
                    .iter()
                    .map(|o| OverwriteView {
                        id: o.id,
                        kind: o.kind.num(),
                        target_name: match o.kind {
                            OverwriteKind::Role => role_name(&o.id),
                            OverwriteKind::Member => user_name(&o.id),
                        },
                        allow: o.allow,
                        deny: o.deny,
                    })
                    .collect(),
                available_tags: c.available_tags.iter().map(|t| t.name.clone()).collect(),
            })
            .collect();
        let members = g
            .members
            .values()
            .map(|m| {
                let mut names: Vec<String> = m.roles.iter().map(role_name).collect();
                names.sort();
                MemberView {
                    user_id: m.user_id,
                    username: user_name(&m.user_id),
                    nick: m.nick.clone(),
                    roles: m.roles.clone(),
                    role_names: names,
                }
            })
            .collect();
        let bans = g
            .bans
            .values()
            .map(|b| BanView {
                user_id: b.user_id,
                username: user_name(&b.user_id),
                reason: b.reason.clone(),
            })
            .collect();
        let mut webhooks: Vec<WebhookView> = world
            .webhooks
            .values()
            .filter(|w| w.guild_id == g.id)
            .map(|w| WebhookView {
                id: w.id,
                name: w.name.clone(),
                channel_id: w.channel_id,
                channel_name: g
                    .channels
                    .get(&w.channel_id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                avatar: w.avatar.clone(),
            })
            .collect();
        webhooks.sort_by_key(|w| w.id);
        let emojis = g
            .emojis
            .iter()
            .map(|e| {
                let mut role_names: Vec<String> = e.roles.iter().map(role_name).collect();
                role_names.sort();
                EmojiView {
                    id: e.id,
                    name: e.name.clone(),
                    animated: e.animated,
                    role_names,
                    image_sha256: {
                        use sha2::Digest as _;
                        sha2::Sha256::digest(e.image.as_slice())
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect()
                    },
                }
            })
            .collect();
        let sha = |bytes: &[u8]| -> String {
            use sha2::Digest as _;
            sha2::Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let stickers = g
            .stickers
            .iter()
            .map(|s| StickerView {
                id: s.id,
                name: s.name.clone(),
                description: s.description.clone(),
                tags: s.tags.clone(),
                format_type: s.format_type,
                image_sha256: sha(s.image.as_slice()),
            })
            .collect();
        let channel_name = |id: &ChannelId| {
            g.channels
                .get(id)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| format!("<deleted channel {id}>"))
        };
        // Sorted: the order of an answer's roles or channels means nothing.
        let names = |ids: &[u64], f: &dyn Fn(&u64) -> String| -> Vec<String> {
            let mut out: Vec<String> = ids.iter().map(f).collect();
            out.sort();
            out
        };
        let onboarding = OnboardingView {
            // An empty, disabled screen is no screen.
            welcome: g
                .welcome_screen
                .as_ref()
                .filter(|w| w.enabled || w.description.is_some() || !w.channels.is_empty())
                .map(|w| {
                serde_json::json!({
                    "enabled": w.enabled,
                    "description": w.description,
                    "channels": w.channels.iter().map(|(c, d, e)| serde_json::json!([channel_name(c), d, e])).collect::<Vec<_>>(),
                })
            }),
            onboarding: serde_json::json!({
                "enabled": g.onboarding.enabled,
                "mode": g.onboarding.mode,
                "default_channels": names(&g.onboarding.default_channel_ids, &channel_name),
                "prompts": g.onboarding.prompts.iter().map(|p| serde_json::json!({
                    "title": p.title,
                    "type": p.kind,
                    "single_select": p.single_select,
                    "required": p.required,
                    "in_onboarding": p.in_onboarding,
                    "options": p.options.iter().map(|o| serde_json::json!({
                        "title": o.title,
                        "description": o.description,
                        "emoji": o.emoji_name,
                        "roles": names(&o.role_ids, &role_name),
                        "channels": names(&o.channel_ids, &channel_name),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            }),
        };
        let events = g
            .scheduled_events
            .iter()
            .map(|e| EventView {
                id: e.id,
                name: e.name.clone(),
                description: e.description.clone(),
                start: crate::model::ts(&e.start),
                end: e.end.as_ref().map(crate::model::ts),
                entity_type: e.entity_type,
                channel_name: e.channel_id.map(|c| channel_name(&c)),
                location: e.location.clone(),
                status: e.status,
                image: e.image.clone(),
            })
            .collect();
        let threads = g
            .threads
            .values()
            .map(|t| {
                let parent = g.channels.get(&t.parent_id);
                let mut applied_tags: Vec<String> = t
                    .applied_tags
                    .iter()
                    .map(|id| {
                        parent
                            .and_then(|p| p.available_tags.iter().find(|x| x.id == *id))
                            .map(|x| x.name.clone())
                            .unwrap_or_else(|| format!("<deleted tag {id}>"))
                    })
                    .collect();
                applied_tags.sort();
                ThreadView {
                    id: t.id,
                    kind: t.kind,
                    name: t.name.clone(),
                    parent_name: channel_name(&t.parent_id),
                    archived: t.archived,
                    locked: t.locked,
                    auto_archive_duration: t.auto_archive_duration,
                    rate_limit_per_user: t.rate_limit_per_user,
                    applied_tags,
                    pinned: t.flags & 2 != 0,
                    starter: world
                        .messages
                        .get(&t.id)
                        .filter(|m| !m.deleted && m.channel_id == t.id)
                        .map(|m| m.content.clone()),
                }
            })
            .collect();
        let automod = g
            .automod
            .iter()
            .map(|r| {
                let mut exempt_roles: Vec<String> = r.exempt_roles.iter().map(role_name).collect();
                exempt_roles.sort();
                let mut exempt_channels: Vec<String> =
                    r.exempt_channels.iter().map(channel_name).collect();
                exempt_channels.sort();
                let actions = r
                    .actions
                    .iter()
                    .map(|a| {
                        let mut a = a.clone();
                        let named = a
                            .pointer("/metadata/channel_id")
                            .and_then(serde_json::Value::as_str)
                            .and_then(|c| c.parse::<u64>().ok())
                            .map(|c| channel_name(&c));
                        if let (Some(name), Some(m)) = (named, a.get_mut("metadata")) {
                            m["channel_id"] = serde_json::Value::String(name);
                        }
                        a
                    })
                    .collect();
                AutoModView {
                    id: r.id,
                    name: r.name.clone(),
                    event_type: r.event_type,
                    trigger_type: r.trigger_type,
                    trigger_metadata: r.trigger_metadata.clone(),
                    actions,
                    enabled: r.enabled,
                    exempt_roles,
                    exempt_channels,
                }
            })
            .collect();
        Self {
            id: g.id,
            owner_id: g.owner_id,
            settings: g.settings.clone(),
            roles,
            channels,
            members,
            bans,
            webhooks,
            emojis,
            stickers,
            automod,
            threads,
            events,
            onboarding,
        }
    }

    pub fn role_by_name(&self, name: &str) -> Option<&RoleView> {
        self.roles.iter().find(|r| r.name == name)
    }

    pub fn channel_by_name(&self, name: &str) -> Option<&ChannelView> {
        self.channels.iter().find(|c| c.name == name)
    }

    pub fn member(&self, user: UserId) -> Option<&MemberView> {
        self.members.iter().find(|m| m.user_id == user)
    }
}

/// What to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiffOptions {
    /// Match objects by name instead of id (restores create new ids).
    pub ignore_ids: bool,
    /// Ignore absolute positions (compare only the other fields).
    pub ignore_positions: bool,
    pub settings: bool,
    pub roles: bool,
    pub channels: bool,
    pub members: bool,
    pub bans: bool,
    pub webhooks: bool,
    pub emojis: bool,
    pub stickers: bool,
    pub automod: bool,
    pub threads: bool,
    pub events: bool,
    /// The welcome screen.
    pub welcome: bool,
    /// The onboarding.
    pub onboarding: bool,
    /// Compare forum posts' starter messages (the mirror has none: snapshots fetch them).
    pub starters: bool,
    /// Skip managed (bot) roles.
    pub ignore_managed_roles: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            ignore_ids: false,
            ignore_positions: false,
            settings: true,
            roles: true,
            channels: true,
            members: true,
            bans: true,
            webhooks: true,
            emojis: true,
            stickers: true,
            automod: true,
            threads: true,
            events: true,
            welcome: true,
            onboarding: true,
            starters: true,
            ignore_managed_roles: false,
        }
    }
}

impl DiffOptions {
    /// Compare structure only, ids ignored (what a restore check wants).
    pub fn structural() -> Self {
        Self {
            ignore_ids: true,
            ..Self::default()
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffEntry {
    /// e.g. `roles["Moderator"].permissions`, `channels[text "general" in "Info"]`.
    pub path: String,
    pub kind: DiffKind,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffKind {
    Added,
    Removed,
    Changed,
}

impl std::fmt::Display for DiffEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            DiffKind::Added => write!(f, "+ {}", self.path),
            DiffKind::Removed => write!(f, "- {}", self.path),
            DiffKind::Changed => write!(
                f,
                "~ {}: {} -> {}",
                self.path,
                self.before
                    .as_ref()
                    .map_or("null".to_string(), Value::to_string),
                self.after
                    .as_ref()
                    .map_or("null".to_string(), Value::to_string)
            ),
        }
    }
}

fn cmp_fields(out: &mut Vec<DiffEntry>, path: &str, a: &Value, b: &Value, skip: &[&str]) {
    let (Some(ao), Some(bo)) = (a.as_object(), b.as_object()) else {
        if a != b {
            out.push(DiffEntry {
                path: path.to_string(),
                kind: DiffKind::Changed,
                before: Some(a.clone()),
                after: Some(b.clone()),
            });
        }
        return;
    };
    let mut keys: Vec<&String> = ao.keys().chain(bo.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let (x, y) = (
            ao.get(k).unwrap_or(&Value::Null),
            bo.get(k).unwrap_or(&Value::Null),
        );
        if x != y {
            out.push(DiffEntry {
                path: format!("{path}.{k}"),
                kind: DiffKind::Changed,
                before: Some(x.clone()),
                after: Some(y.clone()),
            });
        }
    }
}

/// Keys objects by id or by a name key (duplicates get `#2`, `#3` suffixes in order).
fn keyed<T>(
    items: &[T],
    by_id: bool,
    id: impl Fn(&T) -> u64,
    name: impl Fn(&T) -> String,
) -> BTreeMap<String, &T> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = BTreeMap::new();
    for it in items {
        let base = if by_id { id(it).to_string() } else { name(it) };
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let key = if *n == 1 { base } else { format!("{base}#{n}") };
        out.insert(key, it);
    }
    out
}

fn diff_sets<T: Serialize>(
    out: &mut Vec<DiffEntry>,
    label: &str,
    a: BTreeMap<String, &T>,
    b: BTreeMap<String, &T>,
    skip: &[&str],
) {
    for (k, x) in &a {
        let path = format!("{label}[{k}]");
        match b.get(k) {
            None => out.push(DiffEntry {
                path,
                kind: DiffKind::Removed,
                before: serde_json::to_value(x).ok(),
                after: None,
            }),
            Some(y) => {
                let (xv, yv) = (
                    serde_json::to_value(x).unwrap_or(Value::Null),
                    serde_json::to_value(y).unwrap_or(Value::Null),
                );
                cmp_fields(out, &path, &xv, &yv, skip);
            }
        }
    }
    for (k, y) in &b {
        if !a.contains_key(k) {
            out.push(DiffEntry {
                path: format!("{label}[{k}]"),
                kind: DiffKind::Added,
                before: None,
                after: serde_json::to_value(y).ok(),
            });
        }
    }
}

fn kind_name(k: u8) -> &'static str {
    match k {
        0 => "text",
        2 => "voice",
        4 => "category",
        5 => "announcement",
        13 => "stage",
        15 => "forum",
        _ => "channel",
    }
}

/// The structural differences from `a` to `b`.
pub fn diff(a: &GuildView, b: &GuildView, opts: &DiffOptions) -> Vec<DiffEntry> {
    let mut out = Vec::new();
    let by_id = !opts.ignore_ids;
    if opts.settings {
        let mut sa = serde_json::to_value(&a.settings).unwrap_or(Value::Null);
        let mut sb = serde_json::to_value(&b.settings).unwrap_or(Value::Null);
        if opts.ignore_ids {
            // Channel references compare by channel name.
            for (s, v) in [(&mut sa, a), (&mut sb, b)] {
                for key in [
                    "afk_channel_id",
                    "system_channel_id",
                    "rules_channel_id",
                    "public_updates_channel_id",
                    "safety_alerts_channel_id",
                ] {
                    if let Some(id) = s[key].as_u64() {
                        s[key] = json!(
                            v.channels
                                .iter()
                                .find(|c| c.id == id)
                                .map(|c| c.name.clone())
                        );
                    }
                }
            }
        }
        cmp_fields(&mut out, "settings", &sa, &sb, &[]);
    }
    let mut skip: Vec<&str> = vec![];
    if opts.ignore_ids {
        skip.extend(["id", "parent_id", "roles", "channel_id", "user_id"]);
    }
    if opts.ignore_positions {
        skip.push("position");
    }
    if opts.roles {
        let filt = |v: &GuildView| -> Vec<RoleView> {
            v.roles
                .iter()
                .filter(|r| !(opts.ignore_managed_roles && r.managed))
                .cloned()
                .map(|mut r| {
                    if opts.ignore_ids && r.id == v.id {
                        r.id = 0;
                    }
                    r
                })
                .collect()
        };
        let (ra, rb) = (filt(a), filt(b));
        diff_sets(
            &mut out,
            "roles",
            keyed(&ra, by_id, |r| r.id, |r| format!("{:?}", r.name)),
            keyed(&rb, by_id, |r| r.id, |r| format!("{:?}", r.name)),
            &skip,
        );
    }
    if opts.channels {
        let norm = |v: &GuildView| -> Vec<Value> {
            v.channels
                .iter()
                .map(|c| {
                    let mut cv = serde_json::to_value(c).unwrap_or(Value::Null);
                    if opts.ignore_ids {
                        let ows: BTreeMap<String, Value> = c
                            .overwrites
                            .iter()
                            .map(|o| (format!("{}:{}", if o.kind == 0 { "role" } else { "member" }, o.target_name), json!({ "allow": o.allow.to_string(), "deny": o.deny.to_string() })))
                            .collect();
                        cv["overwrites"] = json!(ows);
                    }
                    cv
                })
                .collect()
        };
        let (ca, cb) = (norm(a), norm(b));
        let key = |c: &Value| -> String {
            let parent = c["parent_name"]
                .as_str()
                .map(|p| format!(" in {p:?}"))
                .unwrap_or_default();
            format!(
                "{} {:?}{parent}",
                kind_name(c["kind"].as_u64().unwrap_or(0) as u8),
                c["name"].as_str().unwrap_or_default()
            )
        };
        let id_of = |c: &Value| c["id"].as_u64().unwrap_or(0);
        diff_sets(
            &mut out,
            "channels",
            keyed(&ca, by_id, id_of, key),
            keyed(&cb, by_id, id_of, key),
            &skip,
        );
    }
    if opts.members {
        let (ma, mb) = (&a.members, &b.members);
        let mut skip_m = skip.clone();
        skip_m.retain(|s| *s != "user_id");
        skip_m.push("username");
        diff_sets(
            &mut out,
            "members",
            keyed(ma, true, |m| m.user_id, |m| m.username.clone()),
            keyed(mb, true, |m| m.user_id, |m| m.username.clone()),
            &skip_m,
        );
    }
    if opts.bans {
        diff_sets(
            &mut out,
            "bans",
            keyed(&a.bans, true, |b| b.user_id, |b| b.username.clone()),
            keyed(&b.bans, true, |b| b.user_id, |b| b.username.clone()),
            &[],
        );
    }
    if opts.webhooks {
        let k = |w: &WebhookView| format!("{:?} in {:?}", w.name, w.channel_name);
        diff_sets(
            &mut out,
            "webhooks",
            keyed(&a.webhooks, by_id, |w| w.id, k),
            keyed(&b.webhooks, by_id, |w| w.id, k),
            &skip,
        );
    }
    if opts.emojis {
        let k = |e: &EmojiView| format!("{:?}", e.name);
        diff_sets(
            &mut out,
            "emojis",
            keyed(&a.emojis, by_id, |e| e.id, k),
            keyed(&b.emojis, by_id, |e| e.id, k),
            &skip,
        );
    }
    if opts.stickers {
        let k = |s: &StickerView| format!("{:?}", s.name);
        diff_sets(
            &mut out,
            "stickers",
            keyed(&a.stickers, by_id, |s| s.id, k),
            keyed(&b.stickers, by_id, |s| s.id, k),
            &skip,
        );
    }
    if opts.threads {
        let k = |t: &ThreadView| format!("{:?} in {:?}", t.name, t.parent_name);
        let without_starters = |v: &[ThreadView]| -> Vec<ThreadView> {
            v.iter()
                .cloned()
                .map(|mut t| {
                    if !opts.starters {
                        t.starter = None;
                    }
                    t
                })
                .collect()
        };
        let (ta, tb) = (without_starters(&a.threads), without_starters(&b.threads));
        diff_sets(
            &mut out,
            "threads",
            keyed(&ta, by_id, |t| t.id, k),
            keyed(&tb, by_id, |t| t.id, k),
            &skip,
        );
    }
    if a.onboarding != b.onboarding {
        for (what, on, x, y) in [
            (
                "welcome_screen",
                opts.welcome,
                serde_json::json!(a.onboarding.welcome),
                serde_json::json!(b.onboarding.welcome),
            ),
            (
                "onboarding",
                opts.onboarding,
                a.onboarding.onboarding.clone(),
                b.onboarding.onboarding.clone(),
            ),
        ] {
            if on && x != y {
                out.push(DiffEntry {
                    path: what.into(),
                    kind: DiffKind::Changed,
                    before: Some(x),
                    after: Some(y),
                });
            }
        }
    }
    if opts.events {
        let k = |e: &EventView| format!("{:?}", e.name);
        diff_sets(
            &mut out,
            "events",
            keyed(&a.events, by_id, |e| e.id, k),
            keyed(&b.events, by_id, |e| e.id, k),
            &skip,
        );
    }
    if opts.automod {
        let k = |r: &AutoModView| format!("{:?}", r.name);
        diff_sets(
            &mut out,
            "automod",
            keyed(&a.automod, by_id, |r| r.id, k),
            keyed(&b.automod, by_id, |r| r.id, k),
            &skip,
        );
    }
    out
}
