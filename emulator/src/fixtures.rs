//! Purpose: deterministic fixture guilds (from a few objects up to 250 roles, 500 channels in
//! 50 categories, 3,000 overwrites and 100,000 members) with an owner, a rogue admin, a
//! trusted user and the bot, built straight into the state (no events, empty audit log).

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{Duration as ChronoDuration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::control::App;
use crate::model::channel_type::*;
use crate::model::*;
use crate::permissions as perm;
use crate::state::State;

/// What to build (missing JSON fields default to [`FixtureSpec::small`]'s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FixtureSpec {
    pub seed: u64,
    pub guild_name: String,
    pub app_name: String,
    /// Reuse an existing application instead of creating one.
    pub app: Option<ApplicationId>,
    pub app_options: ApplicationOptions,
    /// Roles excluding @everyone, including the bot's managed role, "Admin", "Moderator"
    /// and "Founders" (minimum 4).
    pub roles: usize,
    pub categories: usize,
    /// Channels including categories and #general.
    pub channels: usize,
    pub overwrites: usize,
    /// Human members besides the owner, the rogue admin and the trusted user.
    pub members: usize,
    /// Percentage of members with a nickname.
    pub nick_percent: u8,
    pub bot_permissions: u64,
    pub emojis: usize,
    pub webhooks: usize,
    /// Users banned from the guild (not members; every other one with a reason).
    pub bans: usize,
    /// Guild stickers (PNG).
    pub stickers: usize,
    /// AutoMod rules (at most 10: a mention-spam, a preset, a spam and a profile rule, the
    /// rest keyword rules), with exempt roles and channels and an alert channel.
    pub automod_rules: usize,
    /// Threads: every other one a forum post (tags, starter message) when there is a forum,
    /// the others threads of text channels; every other post archived, some locked, the
    /// first post pinned.
    pub threads: usize,
    /// Scheduled events in the coming days: alternately in the first voice channel and
    /// external (with a location and an end).
    pub scheduled_events: usize,
    /// A welcome screen (general and the first text channel) and an onboarding (default
    /// channels, a prompt whose options give a role and a channel).
    pub onboarding: bool,
}

impl Default for FixtureSpec {
    fn default() -> Self {
        Self::small()
    }
}

impl FixtureSpec {
    /// A few of everything (fast; most functional tests).
    pub fn small() -> Self {
        Self {
            seed: 1,
            guild_name: "Small Fixture".to_string(),
            app_name: "Umbra".to_string(),
            app: None,
            app_options: ApplicationOptions::privileged(),
            roles: 12,
            categories: 3,
            channels: 18,
            overwrites: 20,
            members: 30,
            nick_percent: 20,
            bot_permissions: perm::ADMINISTRATOR,
            emojis: 3,
            webhooks: 1,
            bans: 2,
            stickers: 1,
            automod_rules: 2,
            threads: 4,
            scheduled_events: 2,
            onboarding: true,
        }
    }

    /// Discord's limits: 250 roles, 500 channels in 50 categories, 3,000 overwrites,
    /// 10,000 members (set `members` up to 100,000).
    pub fn large() -> Self {
        Self {
            seed: 2,
            guild_name: "Large Fixture".to_string(),
            roles: 250,
            categories: 50,
            channels: 500,
            overwrites: 3000,
            members: 10_000,
            nick_percent: 15,
            emojis: 10,
            webhooks: 5,
            bans: 20,
            stickers: 5,
            automod_rules: 4,
            threads: 20,
            scheduled_events: 5,
            ..Self::small()
        }
    }

    pub fn with_members(mut self, n: usize) -> Self {
        self.members = n;
        self
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn with_app(mut self, app: ApplicationId) -> Self {
        self.app = Some(app);
        self
    }
}

/// What was built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    pub guild_id: GuildId,
    pub owner_id: UserId,
    pub app: App,
    pub bot_role_id: RoleId,
    /// A human with the "Admin" (ADMINISTRATOR) role, below the bot's role.
    pub rogue_admin_id: UserId,
    pub admin_role_id: RoleId,
    /// A human with the "Moderator" role (kick, ban, manage messages).
    pub trusted_user_id: UserId,
    pub moderator_role_id: RoleId,
    /// The role above the bot's role.
    pub founders_role_id: RoleId,
    /// Plain roles (not managed, not Admin/Moderator/Founders), lowest first.
    pub role_ids: Vec<RoleId>,
    pub category_ids: Vec<ChannelId>,
    /// Non-category channels, including #general.
    pub channel_ids: Vec<ChannelId>,
    /// #general (text, no parent; the guild's system channel).
    pub general_channel_id: ChannelId,
    /// Other human members, by user id.
    pub member_ids: Vec<UserId>,
    /// Users banned from the guild.
    pub banned_ids: Vec<UserId>,
}

const ROLE_WORDS: [&str; 24] = [
    "Member",
    "Verified",
    "Muted",
    "Helper",
    "Artist",
    "Gamer",
    "Streamer",
    "VIP",
    "Booster",
    "Events",
    "Announcements",
    "Reader",
    "Writer",
    "Coder",
    "Designer",
    "Music",
    "Movies",
    "Anime",
    "Sports",
    "News",
    "Trivia",
    "Staff",
    "Support",
    "Partner",
];
const CHANNEL_WORDS: [&str; 20] = [
    "chat",
    "lounge",
    "memes",
    "media",
    "help",
    "rules",
    "updates",
    "clips",
    "art",
    "music",
    "gaming",
    "off-topic",
    "dev",
    "ideas",
    "feedback",
    "events",
    "trivia",
    "bots",
    "logs",
    "archive",
];

const CHANNEL_PERMS: [u64; 8] = [
    perm::VIEW_CHANNEL,
    perm::SEND_MESSAGES,
    perm::ATTACH_FILES,
    perm::EMBED_LINKS,
    perm::ADD_REACTIONS,
    perm::MANAGE_MESSAGES,
    perm::CONNECT,
    perm::SPEAK,
];

fn member(user: UserId, roles: Vec<RoleId>, nick: Option<String>, days_ago: i64) -> Member {
    Member {
        user_id: user,
        nick,
        roles,
        joined_at: Utc::now() - ChronoDuration::days(days_ago),
        deaf: false,
        mute: false,
        communication_disabled_until: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn channel(
    id: ChannelId,
    guild: GuildId,
    kind: u8,
    name: String,
    position: i64,
    parent: Option<ChannelId>,
) -> Channel {
    Channel {
        id,
        guild_id: guild,
        kind,
        name,
        position,
        parent_id: parent,
        topic: None,
        nsfw: false,
        rate_limit_per_user: 0,
        bitrate: 0,
        user_limit: 0,
        overwrites: Vec::new(),
        available_tags: Vec::new(),
        default_auto_archive_duration: None,
        last_message_id: None,
        renames: VecDeque::new(),
    }
}

/// Builds the fixture into `st`.
pub fn build(st: &mut State, spec: &FixtureSpec) -> Fixture {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let owner = st.create_user("Guild Owner", false);
    let rogue = st.create_user("Rogue Admin", false);
    let trusted = st.create_user("Trusted Mod", false);
    let app = match spec.app.and_then(|a| st.world.apps.get(&a).cloned()) {
        Some(a) => a,
        None => {
            let mut opts = spec.app_options.clone();
            opts.owner_id = Some(owner);
            st.create_application(&spec.app_name, opts)
        }
    };
    let gid = st.create_guild(owner, &spec.guild_name);
    let general = st
        .world
        .guilds
        .get(&gid)
        .and_then(|g| g.settings.system_channel_id)
        .unwrap_or_default();

    // Roles, lowest first: plain roles, Moderator, Admin, bot (managed), Founders.
    let n_roles = spec.roles.max(4);
    let mut roles: Vec<Role> = Vec::with_capacity(n_roles);
    let mut plain = Vec::new();
    for i in 0..n_roles - 4 {
        let word = ROLE_WORDS[i % ROLE_WORDS.len()];
        let name = if i < ROLE_WORDS.len() {
            word.to_string()
        } else {
            format!("{word} {}", i / ROLE_WORDS.len() + 1)
        };
        let mut p = 0;
        if rng.random_bool(0.3) {
            p |= perm::MANAGE_MESSAGES;
        }
        if rng.random_bool(0.2) {
            p |= perm::MENTION_EVERYONE;
        }
        if rng.random_bool(0.1) {
            p |= perm::MANAGE_NICKNAMES;
        }
        let id = st.next_id();
        plain.push(id);
        roles.push(Role {
            id,
            name,
            color: rng.random_range(0..0x00FF_FFFF),
            hoist: rng.random_bool(0.1),
            mentionable: rng.random_bool(0.2),
            permissions: p,
            position: 0,
            managed: false,
            bot_id: None,
            unicode_emoji: None,
            icon: None,
        });
    }
    let mk = |st: &mut State, name: &str, permissions: u64, color: u32| Role {
        id: st.next_id(),
        name: name.to_string(),
        color,
        hoist: true,
        mentionable: false,
        permissions,
        position: 0,
        managed: false,
        bot_id: None,
        unicode_emoji: None,
        icon: None,
    };
    let moderator = mk(
        st,
        "Moderator",
        perm::KICK_MEMBERS
            | perm::BAN_MEMBERS
            | perm::MANAGE_MESSAGES
            | perm::MODERATE_MEMBERS
            | perm::VIEW_AUDIT_LOG,
        0x3498DB,
    );
    let admin = mk(st, "Admin", perm::ADMINISTRATOR, 0xE74C3C);
    let mut bot_role = mk(st, &app.name, spec.bot_permissions, 0);
    bot_role.managed = true;
    bot_role.bot_id = Some(app.bot_user_id);
    bot_role.hoist = false;
    let founders = mk(st, "Founders", perm::ADMINISTRATOR, 0xF1C40F);
    let (mod_id, admin_id, bot_role_id, founders_id) =
        (moderator.id, admin.id, bot_role.id, founders.id);
    roles.extend([moderator, admin, bot_role, founders]);
    for (i, r) in roles.iter_mut().enumerate() {
        r.position = i as i64 + 1;
    }

    // Channels: #general (exists), categories, children round-robin.
    let n_categories = spec.categories.min(spec.channels.saturating_sub(1));
    let n_children = spec.channels.saturating_sub(1 + n_categories);
    let mut channels: Vec<Channel> = Vec::new();
    let mut category_ids = Vec::new();
    for c in 0..n_categories {
        let id = st.next_id();
        category_ids.push(id);
        channels.push(channel(
            id,
            gid,
            GUILD_CATEGORY,
            format!("Category {}", c + 1),
            c as i64 + 1,
            None,
        ));
    }
    let mut per_parent: HashMap<Option<ChannelId>, i64> = HashMap::new();
    let mut child_ids = Vec::new();
    for i in 0..n_children {
        let parent = if category_ids.is_empty() {
            None
        } else {
            Some(category_ids[i % category_ids.len()])
        };
        let slot = per_parent.entry(parent).or_insert(0);
        *slot += 1;
        let k = i / category_ids.len().max(1);
        let kind = match k % 9 {
            1 => GUILD_VOICE,
            4 if i % 3 == 0 => GUILD_FORUM,
            5 if i % 4 == 0 => GUILD_ANNOUNCEMENT,
            7 if i % 5 == 0 => GUILD_STAGE_VOICE,
            _ => GUILD_TEXT,
        };
        let word = CHANNEL_WORDS[(i * 7 + k) % CHANNEL_WORDS.len()];
        let name = match kind {
            GUILD_VOICE => format!("Voice {}", i + 1),
            GUILD_STAGE_VOICE => format!("Stage {}", i + 1),
            _ => format!("{word}-{}", i + 1),
        };
        let id = st.next_id();
        child_ids.push(id);
        let mut ch = channel(id, gid, kind, name, *slot, parent);
        match kind {
            GUILD_VOICE | GUILD_STAGE_VOICE => {
                ch.bitrate = [64_000, 96_000, 32_000][i % 3];
                ch.user_limit = if kind == GUILD_VOICE {
                    [0, 5, 10, 25][i % 4]
                } else {
                    0
                };
            }
            GUILD_FORUM => {
                ch.topic = Some(format!("Forum about {word}"));
                ch.available_tags = ["question", "solved", "idea"]
                    .iter()
                    .enumerate()
                    .map(|(t, n)| ForumTag {
                        id: st.next_id(),
                        name: n.to_string(),
                        moderated: t == 1,
                        emoji_name: None,
                    })
                    .collect();
                ch.default_auto_archive_duration = Some(1440);
            }
            _ => {
                if rng.random_bool(0.5) {
                    ch.topic = Some(format!("Talk about {word}"));
                }
                ch.nsfw = rng.random_bool(0.05);
                ch.rate_limit_per_user = [0, 0, 0, 5, 30][i % 5];
            }
        }
        channels.push(ch);
    }

    // Overwrites on random channels (categories included), unique target per channel.
    let targets: Vec<(u64, OverwriteKind)> = std::iter::once((gid, OverwriteKind::Role))
        .chain(plain.iter().map(|r| (*r, OverwriteKind::Role)))
        .chain([
            (mod_id, OverwriteKind::Role),
            (trusted, OverwriteKind::Member),
        ])
        .collect();
    if !channels.is_empty() {
        let mut placed = 0;
        let mut guard = 0;
        while placed < spec.overwrites && guard < spec.overwrites * 20 {
            guard += 1;
            let ci = rng.random_range(0..channels.len());
            let (tid, kind) = targets[rng.random_range(0..targets.len())];
            if channels[ci].overwrites.iter().any(|o| o.id == tid) {
                continue;
            }
            let a = CHANNEL_PERMS[rng.random_range(0..CHANNEL_PERMS.len())];
            let d = CHANNEL_PERMS[rng.random_range(0..CHANNEL_PERMS.len())];
            let (allow, deny) = if a == d { (a, 0) } else { (a, d) };
            channels[ci].overwrites.push(Overwrite {
                id: tid,
                kind,
                allow,
                deny,
            });
            placed += 1;
        }
    }

    // Members.
    let mut member_ids = Vec::with_capacity(spec.members);
    let mut members: BTreeMap<UserId, Member> = BTreeMap::new();
    members.insert(owner, member(owner, Vec::new(), None, 400));
    members.insert(rogue, member(rogue, vec![admin_id], None, 200));
    members.insert(
        trusted,
        member(trusted, vec![mod_id], Some("Mod".to_string()), 300),
    );
    members.insert(
        app.bot_user_id,
        member(app.bot_user_id, vec![bot_role_id], None, 100),
    );
    for i in 0..spec.members {
        let uid = st.create_user(&format!("user-{:05}", i + 1), false);
        member_ids.push(uid);
        let n = if plain.is_empty() {
            0
        } else {
            rng.random_range(0..=3usize.min(plain.len()))
        };
        let mut rs: Vec<RoleId> = Vec::with_capacity(n);
        for _ in 0..n {
            let r = plain[rng.random_range(0..plain.len())];
            if !rs.contains(&r) {
                rs.push(r);
            }
        }
        let nick =
            (rng.random_range(0..100u8) < spec.nick_percent).then(|| format!("Nick {}", i + 1));
        members.insert(uid, member(uid, rs, nick, rng.random_range(1..365)));
    }

    let mut stickers = Vec::new();
    for i in 0..spec.stickers {
        stickers.push(Sticker {
            id: st.next_id(),
            name: format!("sticker_{}", i + 1),
            description: (i % 2 == 0).then(|| format!("Fixture sticker {}", i + 1)),
            tags: "smile".to_string(),
            format_type: 1,
            creator_id: owner,
            image: std::sync::Arc::new(Emoji::fixture_png(spec.seed * 1000 + 800 + i as u64)),
        });
    }
    let mut bans = Vec::new();
    for i in 0..spec.bans {
        let uid = st.create_user(&format!("banned-{:04}", i + 1), false);
        bans.push(Ban {
            user_id: uid,
            reason: (i % 2 == 0).then(|| format!("raid account {}", i + 1)),
        });
    }
    let banned_ids: Vec<UserId> = bans.iter().map(|b| b.user_id).collect();
    let mut emojis = Vec::new();
    for i in 0..spec.emojis {
        // Every third one is animated; the second is limited to the first plain role.
        emojis.push(Emoji {
            id: st.next_id(),
            name: format!("emoji_{}", i + 1),
            roles: if i == 1 {
                plain.iter().take(1).copied().collect()
            } else {
                Vec::new()
            },
            animated: i % 3 == 2,
            creator_id: owner,
            image: std::sync::Arc::new(Emoji::fixture_png(spec.seed * 1000 + i as u64)),
        });
    }
    let first_voice = channels
        .iter()
        .find(|c| c.kind == GUILD_VOICE)
        .map(|c| c.id);
    let text_children: Vec<ChannelId> = channels
        .iter()
        .filter(|c| c.kind == GUILD_TEXT)
        .map(|c| c.id)
        .collect();
    let mut hooks = Vec::new();
    for i in 0..spec.webhooks {
        let ch = text_children
            .get(i % text_children.len().max(1))
            .copied()
            .unwrap_or(general);
        hooks.push(Webhook {
            id: st.next_id(),
            guild_id: gid,
            channel_id: ch,
            name: format!("Hook {}", i + 1),
            token: State::random_token(34),
            creator_id: owner,
            application_id: None,
            avatar: None,
        });
    }

    let alert = text_children.first().copied().unwrap_or(general);
    let mut automod = Vec::new();
    for i in 0..spec.automod_rules.min(10) {
        // The first four kinds once each, then keyword rules (Discord allows 6).
        let (trigger_type, event_type, metadata, action) = match i {
            1 => (
                5,
                1,
                serde_json::json!({ "mention_total_limit": 8, "mention_raid_protection_enabled": true }),
                serde_json::json!({ "type": 3, "metadata": { "duration_seconds": 600 } }),
            ),
            2 => (
                4,
                1,
                serde_json::json!({ "presets": [1, 3], "allow_list": ["scunthorpe"] }),
                serde_json::json!({ "type": 1, "metadata": {} }),
            ),
            3 => (
                3,
                1,
                serde_json::json!({}),
                serde_json::json!({ "type": 1, "metadata": {} }),
            ),
            4 => (
                6,
                2,
                serde_json::json!({ "keyword_filter": ["spam*"], "regex_patterns": [], "allow_list": [] }),
                serde_json::json!({ "type": 4, "metadata": {} }),
            ),
            _ => (
                1,
                1,
                serde_json::json!({
                    "keyword_filter": [format!("badword{}", i + 1)],
                    "regex_patterns": ["fr[e3]e n[i1]tro"],
                    "allow_list": [],
                }),
                serde_json::json!({ "type": 1, "metadata": { "custom_message": "Please keep it civil." } }),
            ),
        };
        automod.push(AutoModRule {
            id: st.next_id(),
            name: format!("Rule {}", i + 1),
            creator_id: owner,
            event_type,
            trigger_type,
            trigger_metadata: metadata,
            actions: vec![
                action,
                serde_json::json!({ "type": 2, "metadata": { "channel_id": alert.to_string() } }),
            ],
            enabled: i % 4 != 3,
            exempt_roles: if i == 0 { vec![mod_id] } else { Vec::new() },
            exempt_channels: if i == 0 { vec![alert] } else { Vec::new() },
        });
    }

    for c in &channels {
        st.world.channel_guild.insert(c.id, gid);
    }
    for h in hooks {
        st.world.webhooks.insert(h.id, h);
    }
    // Images: the guild's icon, banner, splash and discovery splash, and the icons of the two
    // lowest plain roles (bytes unique to the seed).
    let mut image = |n: u64| {
        let uri = format!("data:image/png;base64,{}", {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .encode(Emoji::fixture_png(spec.seed * 1000 + 500 + n))
        });
        decode_image(&uri).map(|(hash, bytes)| {
            st.world
                .images
                .insert(hash.clone(), std::sync::Arc::new(bytes));
            hash
        })
    };
    let guild_images = [image(1), image(2), image(3), image(4)];
    // The first webhook has an avatar, the first scheduled event a cover image.
    let hook_avatar = image(20);
    let event_image = image(30);
    if let Some(h) = st
        .world
        .webhooks
        .values_mut()
        .filter(|w| w.guild_id == gid)
        .min_by_key(|w| w.id)
    {
        h.avatar = hook_avatar;
    }
    for (i, r) in roles
        .iter_mut()
        .filter(|r| plain.contains(&r.id))
        .take(2)
        .enumerate()
    {
        r.icon = image(10 + i as u64);
    }
    if let Some(g) = st.world.guilds.get_mut(&gid) {
        let [icon, banner, splash, discovery] = guild_images;
        g.settings.icon = icon;
        g.settings.banner = banner;
        g.settings.splash = splash;
        g.settings.discovery_splash = discovery;
        for r in roles {
            g.roles.insert(r.id, r);
        }
        for c in channels {
            g.channels.insert(c.id, c);
        }
        g.members = members;
        g.emojis = emojis;
        g.stickers = stickers;
        g.automod = automod;
        for b in bans {
            g.bans.insert(b.user_id, b);
        }
        g.settings.description = Some(format!("{} (seed {})", spec.guild_name, spec.seed));
        g.settings.verification_level = 1;
        g.settings.default_message_notifications = 1;
        g.settings.explicit_content_filter = 2;
        g.settings.afk_channel_id = first_voice;
        g.settings.features = vec!["COMMUNITY".to_string(), "NEWS".to_string()];
        g.settings.rules_channel_id = Some(general);
        g.settings.public_updates_channel_id = Some(general);
        g.role_creations = VecDeque::new();
    }
    fixture_threads(st, gid, owner, spec.threads);
    if spec.onboarding
        && let Some(first_text) = text_children.first().copied()
    {
        let (p, o1, o2) = (st.next_id(), st.next_id(), st.next_id());
        let first_role = plain.first().copied();
        if let Some(g) = st.world.guilds.get_mut(&gid) {
            g.welcome_screen = Some(WelcomeScreen {
                enabled: true,
                description: Some("Welcome! Start here.".to_string()),
                channels: vec![
                    (general, "Say hello".to_string(), Some("👋".to_string())),
                    (first_text, "Talk about anything".to_string(), None),
                ],
            });
            g.onboarding = Onboarding {
                enabled: true,
                mode: 0,
                default_channel_ids: vec![general, first_text],
                prompts: vec![OnboardingPrompt {
                    id: p,
                    title: "What brings you here?".to_string(),
                    kind: 0,
                    single_select: false,
                    required: false,
                    in_onboarding: true,
                    options: vec![
                        OnboardingOption {
                            id: o1,
                            title: "Chatting".to_string(),
                            description: Some("The text channels".to_string()),
                            emoji_name: Some("💬".to_string()),
                            role_ids: first_role.into_iter().collect(),
                            channel_ids: vec![first_text],
                        },
                        OnboardingOption {
                            id: o2,
                            title: "Just looking".to_string(),
                            description: None,
                            emoji_name: None,
                            role_ids: Vec::new(),
                            channel_ids: vec![general],
                        },
                    ],
                }],
            };
        }
    }
    let first_voice_channel = first_voice;
    for i in 0..spec.scheduled_events {
        let id = st.next_id();
        let start = Utc::now() + ChronoDuration::days(1 + i as i64);
        let voice = i % 2 == 0 && first_voice_channel.is_some();
        let e = ScheduledEvent {
            id,
            name: format!("Event {}", i + 1),
            description: (i % 3 != 2).then(|| format!("What happens at event {}", i + 1)),
            creator_id: owner,
            start,
            end: (!voice).then(|| start + ChronoDuration::hours(2)),
            entity_type: if voice { 2 } else { 3 },
            channel_id: if voice { first_voice_channel } else { None },
            location: (!voice).then(|| format!("Town hall {}", i + 1)),
            status: 1,
            image: if i == 0 { event_image.clone() } else { None },
        };
        if let Some(g) = st.world.guilds.get_mut(&gid) {
            g.scheduled_events.push(e);
        }
    }
    st.send_guild_create(app.id, gid);
    let mut channel_ids = vec![general];
    channel_ids.extend(child_ids);
    Fixture {
        guild_id: gid,
        owner_id: owner,
        app: App::from(&app),
        bot_role_id,
        rogue_admin_id: rogue,
        admin_role_id: admin_id,
        trusted_user_id: trusted,
        moderator_role_id: mod_id,
        founders_role_id: founders_id,
        role_ids: plain,
        category_ids,
        channel_ids,
        general_channel_id: general,
        member_ids,
        banned_ids,
    }
}

/// The fixture's threads (see [`FixtureSpec::threads`]).
fn fixture_threads(st: &mut State, gid: GuildId, owner: UserId, n: usize) {
    let Some(g) = st.world.guilds.get(&gid) else {
        return;
    };
    let forums: Vec<(ChannelId, Vec<u64>)> = g
        .sorted_channels()
        .iter()
        .filter(|c| c.kind == GUILD_FORUM)
        .map(|c| (c.id, c.available_tags.iter().map(|t| t.id).collect()))
        .collect();
    let texts: Vec<ChannelId> = g
        .sorted_channels()
        .iter()
        .filter(|c| c.kind == GUILD_TEXT)
        .map(|c| c.id)
        .collect();
    for j in 0..n {
        let id = st.next_id();
        let post = j % 2 == 0 && !forums.is_empty();
        let (parent, tags) = if post {
            let (f, tags) = &forums[(j / 2) % forums.len()];
            (*f, tags.iter().take(1 + j % 2).copied().collect())
        } else if let Some(t) = texts.get(j % texts.len().max(1)) {
            (*t, Vec::new())
        } else {
            continue;
        };
        // Archived: every other post (a text channel's archived threads are not listed by
        // Umbra's loads, as Discord's guild listing leaves them out).
        let archived = post && j % 4 == 2;
        let thread = Thread {
            id,
            guild_id: gid,
            parent_id: parent,
            kind: if !post && j % 7 == 5 { 12 } else { 11 },
            name: if post {
                format!("Post {}", j + 1)
            } else {
                format!("thread-{}", j + 1)
            },
            owner_id: owner,
            archived,
            archive_timestamp: archived
                .then(|| Utc::now() - chrono::Duration::minutes(i64::try_from(j).unwrap_or(0))),
            locked: j % 5 == 4,
            auto_archive_duration: [1440, 4320, 10080, 60][j % 4],
            invitable: true,
            rate_limit_per_user: [0, 0, 10][j % 3],
            applied_tags: tags,
            flags: if j == 0 && post { 2 } else { 0 },
            message_count: u32::from(post),
            created_at: Utc::now(),
        };
        st.world.channel_guild.insert(id, gid);
        if let Some(g) = st.world.guilds.get_mut(&gid) {
            g.threads.insert(id, thread);
        }
        if post {
            let parts = crate::ops_messages::MessageParts {
                content: Some(format!("Starter message of post {}", j + 1)),
                ..Default::default()
            };
            let origin = crate::ops_messages::MessageOrigin {
                author_id: owner,
                ..Default::default()
            };
            let _ = st.insert_message_with_id(id, id, origin, parts);
        }
    }
}
