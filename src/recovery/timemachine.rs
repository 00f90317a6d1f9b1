//! Purpose: the time machine's model — a guild as it was (from live sync's history at a moment,
//! or from a snapshot) turned into what a person reads (roles with permission names, channels
//! in their categories with overwrites, settings, members with role names), and the difference
//! between then and now, object by object and field by field. Pure: no I/O. Both sides are
//! snapshot documents (a moment in history is frozen the same way a snapshot is), matched by
//! Discord id.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use poise::serenity_prelude::Permissions;
use serde_json::Value;

use super::snapshot::model::{ChannelDoc, RoleDoc, SnapshotDocument};
use super::sync::OverwriteTarget;

/// The object a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    Setting,
    Role,
    Channel,
    Member,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Setting => "setting",
            Subject::Role => "role",
            Subject::Channel => "channel",
            Subject::Member => "member",
        }
    }
}

/// What happened to an object between then and now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// It exists now, not then.
    Created,
    /// It existed then, not now.
    Deleted,
    /// It exists in both, with fields that differ.
    Changed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One field that differs: its value then and now, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub then: String,
    pub now: String,
}

/// One object that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub subject: Subject,
    /// Its Discord id (0 for the guild's settings).
    pub id: u64,
    pub name: String,
    pub kind: ChangeKind,
    pub fields: Vec<FieldChange>,
}

/// A role as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleView {
    pub id: u64,
    pub name: String,
    /// `#rrggbb`, or empty for no color.
    pub color: String,
    pub position: i32,
    pub hoist: bool,
    pub mentionable: bool,
    pub managed: bool,
    pub permissions: Vec<String>,
}

/// An overwrite as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverwriteView {
    /// The role's name, or the member's id.
    pub target: String,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

/// A channel as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    pub id: u64,
    pub name: String,
    pub kind: &'static str,
    pub topic: String,
    pub nsfw: bool,
    pub overwrites: Vec<OverwriteView>,
}

/// A category with its channels (the first group has no category).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryView {
    pub category: Option<ChannelView>,
    pub channels: Vec<ChannelView>,
}

/// A member as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub user_id: u64,
    pub name: String,
    pub nick: String,
    pub roles: Vec<String>,
}

/// A guild at one moment, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub as_of: DateTime<Utc>,
    pub settings: Vec<(String, String)>,
    /// Highest first.
    pub roles: Vec<RoleView>,
    pub categories: Vec<CategoryView>,
    pub members: Vec<MemberView>,
    /// "name (reason)" of each ban; `None` when the snapshot has no ban list.
    pub bans: Option<Vec<String>>,
    /// `:name:` of each custom emoji, then each sticker's name.
    pub emojis: Vec<String>,
    pub stickers: Vec<String>,
    /// The AutoMod rules; `None`: not known then.
    pub automod: Option<Vec<RuleView>>,
    /// Threads and forum posts: (name, its channel's name, archived).
    pub threads: Vec<(String, String, bool)>,
    /// Scheduled events: (name, start, where: a channel's name or a location).
    pub events: Vec<(String, DateTime<Utc>, String)>,
    /// The welcome screen when it is on.
    pub welcome: Option<WelcomeView>,
    /// The onboarding's questions when it is on: (title, "answer: @role, #channel" of each
    /// answer).
    pub onboarding: Option<Vec<(String, Vec<String>)>>,
    /// Webhooks: (name, its channel's name).
    pub webhooks: Vec<(String, String)>,
}

fn kind_name(kind: i16) -> &'static str {
    match kind {
        0 => "text",
        2 => "voice",
        4 => "category",
        5 => "announcement",
        13 => "stage",
        15 => "forum",
        16 => "media",
        _ => "other",
    }
}

fn permission_names(bits: u64) -> Vec<String> {
    Permissions::from_bits_truncate(bits)
        .get_permission_names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn color(c: i32) -> String {
    if c == 0 {
        String::new()
    } else {
        format!("#{:06x}", c & 0x00ff_ffff)
    }
}

/// Local ids of a document to names and Discord ids.
struct Names<'a> {
    roles: HashMap<u32, &'a RoleDoc>,
    channels: HashMap<u32, &'a ChannelDoc>,
}

impl<'a> Names<'a> {
    fn of(doc: &'a SnapshotDocument) -> Self {
        Self {
            roles: doc.roles.iter().map(|r| (r.id, r)).collect(),
            channels: doc.channels.iter().map(|c| (c.id, c)).collect(),
        }
    }

    fn role(&self, local: u32) -> String {
        self.roles
            .get(&local)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| format!("#{local}"))
    }

    fn channel(&self, local: Option<u32>) -> String {
        local
            .and_then(|l| self.channels.get(&l))
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }
}

fn role_view(r: &RoleDoc) -> RoleView {
    RoleView {
        id: r.original_id,
        name: r.name.clone(),
        color: color(r.color),
        position: r.position,
        hoist: r.hoist,
        mentionable: r.mentionable,
        managed: r.managed,
        permissions: permission_names(r.permissions),
    }
}

fn channel_view(c: &ChannelDoc, names: &Names<'_>) -> ChannelView {
    ChannelView {
        id: c.original_id,
        name: c.name.clone(),
        kind: kind_name(c.kind),
        topic: c.topic.clone().unwrap_or_default(),
        nsfw: c.nsfw,
        overwrites: c
            .overwrites
            .iter()
            .map(|o| OverwriteView {
                target: match o.target {
                    OverwriteTarget::Role => o.role.map(|r| names.role(r)).unwrap_or_default(),
                    OverwriteTarget::Member => {
                        format!("<@{}>", o.user_id.unwrap_or_default())
                    }
                },
                allow: permission_names(o.allow),
                deny: permission_names(o.deny),
            })
            .collect(),
    }
}

/// The guild's settings as (field, shown value), channels by name.
fn settings_of(doc: &SnapshotDocument, names: &Names<'_>) -> Vec<(String, String)> {
    let s = &doc.settings;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("name".into(), s.name.clone()),
        ("description".into(), opt(&s.description)),
        (
            "verification_level".into(),
            s.verification_level.to_string(),
        ),
        (
            "default_message_notifications".into(),
            s.default_message_notifications.to_string(),
        ),
        (
            "explicit_content_filter".into(),
            s.explicit_content_filter.to_string(),
        ),
        ("mfa_level".into(), s.mfa_level.to_string()),
        ("afk_channel".into(), names.channel(s.afk_channel)),
        ("afk_timeout".into(), s.afk_timeout.to_string()),
        ("system_channel".into(), names.channel(s.system_channel)),
        ("rules_channel".into(), names.channel(s.rules_channel)),
        (
            "public_updates_channel".into(),
            names.channel(s.public_updates_channel),
        ),
        ("preferred_locale".into(), s.preferred_locale.clone()),
        ("icon".into(), opt(&s.icon)),
        ("banner".into(), opt(&s.banner)),
        ("vanity_url_code".into(), opt(&s.vanity_url_code)),
    ]
}

/// The guild of `doc`, as shown. `user_names`: display names of members (others show their id).
pub fn picture(doc: &SnapshotDocument, user_names: &HashMap<u64, String>) -> Picture {
    let names = Names::of(doc);
    let mut roles: Vec<RoleView> = doc.roles.iter().map(role_view).collect();
    roles.sort_by(|a, b| b.position.cmp(&a.position).then(a.id.cmp(&b.id)));
    let mut groups: BTreeMap<(i32, u64), CategoryView> = BTreeMap::new();
    let mut loose = CategoryView {
        category: None,
        channels: Vec::new(),
    };
    let mut sorted: Vec<&ChannelDoc> = doc.channels.iter().collect();
    sorted.sort_by_key(|c| (c.position, c.original_id));
    for c in &sorted {
        if c.kind == 4 {
            groups.insert(
                (c.position, c.original_id),
                CategoryView {
                    category: Some(channel_view(c, &names)),
                    channels: Vec::new(),
                },
            );
        }
    }
    for c in sorted.iter().filter(|c| c.kind != 4) {
        let parent = c
            .parent
            .and_then(|p| names.channels.get(&p))
            .map(|p| (p.position, p.original_id));
        match parent.and_then(|k| groups.get_mut(&k)) {
            Some(group) => group.channels.push(channel_view(c, &names)),
            None => loose.channels.push(channel_view(c, &names)),
        }
    }
    let mut categories = vec![loose];
    categories.extend(groups.into_values());
    let members = doc
        .members
        .iter()
        .map(|m| MemberView {
            user_id: m.user_id,
            name: user_names
                .get(&m.user_id)
                .cloned()
                .unwrap_or_else(|| m.user_id.to_string()),
            nick: m.nick.clone().unwrap_or_default(),
            roles: m.roles.iter().map(|r| names.role(*r)).collect(),
        })
        .collect();
    let bans = doc.bans.as_ref().map(|bans| {
        bans.iter()
            .map(|b| match &b.reason {
                Some(r) => format!("{} ({r})", b.username),
                None => b.username.clone(),
            })
            .collect()
    });
    Picture {
        as_of: doc.as_of,
        settings: settings_of(doc, &names),
        roles,
        categories,
        members,
        bans,
        emojis: doc
            .emojis
            .iter()
            .flatten()
            .map(|e| format!(":{}:", e.name))
            .collect(),
        stickers: doc
            .stickers
            .iter()
            .flatten()
            .map(|s| s.name.clone())
            .collect(),
        welcome: doc.welcome.as_ref().filter(|w| w.enabled).map(|w| {
            (
                w.description.clone(),
                w.channels
                    .iter()
                    .map(|(c, d, _)| (names.channel(Some(*c)), d.clone()))
                    .collect(),
            )
        }),
        webhooks: doc
            .webhooks
            .iter()
            .flatten()
            .map(|w| (w.name.clone(), names.channel(Some(w.channel))))
            .collect(),
        onboarding: doc.onboarding.as_ref().filter(|o| o.enabled).map(|o| {
            o.prompts
                .iter()
                .map(|p| {
                    let answers = p.options.iter().map(|x| {
                        let gives: Vec<String> = x
                            .roles
                            .iter()
                            .map(|r| format!("@{}", names.role(*r)))
                            .chain(
                                x.channels
                                    .iter()
                                    .map(|c| format!("#{}", names.channel(Some(*c)))),
                            )
                            .collect();
                        format!("{}: {}", x.title, gives.join(", "))
                    });
                    (p.title.clone(), answers.collect())
                })
                .collect()
        }),
        events: doc
            .events
            .iter()
            .flatten()
            .map(|e| {
                let place = match (&e.location, e.channel) {
                    (Some(l), _) => l.clone(),
                    (None, c) => format!("#{}", names.channel(c)),
                };
                (e.name.clone(), e.start, place)
            })
            .collect(),
        threads: doc
            .threads
            .iter()
            .flatten()
            .map(|t| (t.name.clone(), names.channel(Some(t.parent)), t.archived))
            .collect(),
        automod: doc.automod.as_ref().map(|rules| {
            rules
                .iter()
                .map(|r| RuleView {
                    name: r.name.clone(),
                    trigger_key: match r.trigger_type {
                        1 => "web-tm-automod-keywords",
                        3 => "web-tm-automod-spam",
                        4 => "web-tm-automod-presets",
                        5 => "web-tm-automod-mentions",
                        _ => "web-tm-automod-profile",
                    },
                    enabled: r.enabled,
                    exempt: r.exempt_roles.iter().map(|l| names.role(*l)).collect(),
                })
                .collect()
        }),
    }
}

/// A welcome screen as shown: its description and (channel name, description) of each of its
/// channels.
pub type WelcomeView = (Option<String>, Vec<(String, String)>);

/// An AutoMod rule as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleView {
    pub name: String,
    /// The message naming its trigger.
    pub trigger_key: &'static str,
    pub enabled: bool,
    /// The roles it exempts, by name.
    pub exempt: Vec<String>,
}

/// A role's fields as shown (for the field-by-field comparison).
fn role_fields(r: &RoleDoc) -> Vec<(&'static str, String)> {
    vec![
        ("name", r.name.clone()),
        ("color", color(r.color)),
        ("hoist", r.hoist.to_string()),
        ("mentionable", r.mentionable.to_string()),
        ("permissions", permission_names(r.permissions).join(", ")),
        ("icon", r.icon.clone().unwrap_or_default()),
    ]
}

/// A channel's fields as shown; references by name (local ids differ between documents).
fn channel_fields(c: &ChannelDoc, names: &Names<'_>) -> Vec<(&'static str, String)> {
    let mut overwrites: Vec<String> = channel_view(c, names)
        .overwrites
        .into_iter()
        .map(|o| {
            format!(
                "{}: +[{}] -[{}]",
                o.target,
                o.allow.join(", "),
                o.deny.join(", ")
            )
        })
        .collect();
    overwrites.sort();
    let json = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
    vec![
        ("name", c.name.clone()),
        ("type", kind_name(c.kind).to_owned()),
        ("category", names.channel(c.parent)),
        ("topic", c.topic.clone().unwrap_or_default()),
        ("nsfw", c.nsfw.to_string()),
        ("slowmode", c.rate_limit_per_user.to_string()),
        (
            "bitrate",
            c.bitrate.map(|b| b.to_string()).unwrap_or_default(),
        ),
        (
            "user_limit",
            c.user_limit.map(|b| b.to_string()).unwrap_or_default(),
        ),
        ("tags", json(&c.available_tags)),
        ("overwrites", overwrites.join("; ")),
    ]
}

fn field_changes(
    then: Vec<(&'static str, String)>,
    now: Vec<(&'static str, String)>,
) -> Vec<FieldChange> {
    then.into_iter()
        .zip(now)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, a), (_, b))| FieldChange {
            field: field.to_owned(),
            then: a,
            now: b,
        })
        .collect()
}

/// Everything that differs between `then` and `now`: settings, roles, channels (with their
/// overwrites), members (nickname and roles). Ordered settings, roles, channels, members; by
/// name within each.
pub fn diff(then: &SnapshotDocument, now: &SnapshotDocument) -> Vec<Change> {
    let (tn, nn) = (Names::of(then), Names::of(now));
    let mut out = Vec::new();
    let settings = field_changes(
        settings_of(then, &tn)
            .into_iter()
            .map(|(k, v)| (static_field(&k), v))
            .collect(),
        settings_of(now, &nn)
            .into_iter()
            .map(|(k, v)| (static_field(&k), v))
            .collect(),
    );
    if !settings.is_empty() {
        out.push(Change {
            subject: Subject::Setting,
            id: 0,
            name: now.settings.name.clone(),
            kind: ChangeKind::Changed,
            fields: settings,
        });
    }
    let mut objects: Vec<Change> = Vec::new();
    let then_roles: HashMap<u64, &RoleDoc> =
        then.roles.iter().map(|r| (r.original_id, r)).collect();
    let now_roles: HashMap<u64, &RoleDoc> = now.roles.iter().map(|r| (r.original_id, r)).collect();
    for (id, r) in &then_roles {
        match now_roles.get(id) {
            None => objects.push(gone(Subject::Role, *id, &r.name)),
            Some(n) => {
                let fields = field_changes(role_fields(r), role_fields(n));
                if !fields.is_empty() {
                    objects.push(changed(Subject::Role, *id, &n.name, fields));
                }
            }
        }
    }
    for (id, r) in &now_roles {
        if !then_roles.contains_key(id) {
            objects.push(new(Subject::Role, *id, &r.name));
        }
    }
    let then_channels: HashMap<u64, &ChannelDoc> =
        then.channels.iter().map(|c| (c.original_id, c)).collect();
    let now_channels: HashMap<u64, &ChannelDoc> =
        now.channels.iter().map(|c| (c.original_id, c)).collect();
    for (id, c) in &then_channels {
        match now_channels.get(id) {
            None => objects.push(gone(Subject::Channel, *id, &c.name)),
            Some(n) => {
                let fields = field_changes(channel_fields(c, &tn), channel_fields(n, &nn));
                if !fields.is_empty() {
                    objects.push(changed(Subject::Channel, *id, &n.name, fields));
                }
            }
        }
    }
    for (id, c) in &now_channels {
        if !then_channels.contains_key(id) {
            objects.push(new(Subject::Channel, *id, &c.name));
        }
    }
    let member_fields = |names: &Names<'_>, nick: &Option<String>, roles: &[u32]| {
        let mut r: Vec<String> = roles.iter().map(|l| names.role(*l)).collect();
        r.sort();
        vec![
            ("nick", nick.clone().unwrap_or_default()),
            ("roles", r.join(", ")),
        ]
    };
    let now_members: HashMap<u64, _> = now.members.iter().map(|m| (m.user_id, m)).collect();
    let then_members: HashMap<u64, _> = then.members.iter().map(|m| (m.user_id, m)).collect();
    for (id, m) in &then_members {
        let name = id.to_string();
        match now_members.get(id) {
            None => objects.push(gone(Subject::Member, *id, &name)),
            Some(n) => {
                let fields = field_changes(
                    member_fields(&tn, &m.nick, &m.roles),
                    member_fields(&nn, &n.nick, &n.roles),
                );
                if !fields.is_empty() {
                    objects.push(changed(Subject::Member, *id, &name, fields));
                }
            }
        }
    }
    for id in now_members.keys() {
        if !then_members.contains_key(id) {
            objects.push(new(Subject::Member, *id, &id.to_string()));
        }
    }
    objects.sort_by(|a, b| {
        (a.subject, a.name.to_lowercase(), a.id).cmp(&(b.subject, b.name.to_lowercase(), b.id))
    });
    out.extend(objects);
    out
}

/// Setting names are a fixed set: keep them `'static` for the shared comparison.
fn static_field(name: &str) -> &'static str {
    const FIELDS: [&str; 15] = [
        "name",
        "description",
        "verification_level",
        "default_message_notifications",
        "explicit_content_filter",
        "mfa_level",
        "afk_channel",
        "afk_timeout",
        "system_channel",
        "rules_channel",
        "public_updates_channel",
        "preferred_locale",
        "icon",
        "banner",
        "vanity_url_code",
    ];
    FIELDS
        .iter()
        .find(|f| **f == name)
        .copied()
        .unwrap_or("other")
}

fn gone(subject: Subject, id: u64, name: &str) -> Change {
    Change {
        subject,
        id,
        name: name.to_owned(),
        kind: ChangeKind::Deleted,
        fields: Vec::new(),
    }
}

fn new(subject: Subject, id: u64, name: &str) -> Change {
    Change {
        subject,
        id,
        name: name.to_owned(),
        kind: ChangeKind::Created,
        fields: Vec::new(),
    }
}

fn changed(subject: Subject, id: u64, name: &str, fields: Vec<FieldChange>) -> Change {
    Change {
        subject,
        id,
        name: name.to_owned(),
        kind: ChangeKind::Changed,
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recovery::snapshot::model::{MemberDoc, OverwriteDoc, SettingsDoc};

    fn settings(name: &str) -> SettingsDoc {
        SettingsDoc {
            name: name.into(),
            description: None,
            icon: None,
            banner: None,
            splash: None,
            discovery_splash: None,
            verification_level: 1,
            default_message_notifications: 0,
            explicit_content_filter: 0,
            mfa_level: 0,
            afk_channel: None,
            afk_timeout: 300,
            system_channel: Some(2),
            system_channel_flags: 0,
            rules_channel: None,
            public_updates_channel: None,
            safety_alerts_channel: None,
            preferred_locale: "en-US".into(),
            premium_progress_bar_enabled: false,
            premium_tier: 0,
            features: vec![],
            vanity_url_code: None,
        }
    }

    fn role(id: u32, original: u64, name: &str, permissions: u64) -> RoleDoc {
        RoleDoc {
            id,
            original_id: original,
            name: name.into(),
            color: 0x3498db,
            secondary_color: None,
            tertiary_color: None,
            hoist: false,
            mentionable: false,
            permissions,
            position: i32::try_from(id).unwrap_or(0),
            managed: false,
            everyone: false,
            icon: None,
            unicode_emoji: None,
            tags: None,
        }
    }

    fn channel(id: u32, original: u64, name: &str, kind: i16, parent: Option<u32>) -> ChannelDoc {
        ChannelDoc {
            id,
            original_id: original,
            kind,
            name: name.into(),
            parent,
            position: i32::try_from(id).unwrap_or(0),
            topic: None,
            nsfw: false,
            rate_limit_per_user: 0,
            bitrate: None,
            user_limit: None,
            rtc_region: None,
            video_quality_mode: None,
            default_auto_archive_duration: None,
            default_thread_rate_limit_per_user: None,
            available_tags: None,
            default_reaction_emoji: None,
            default_sort_order: None,
            default_forum_layout: None,
            flags: 0,
            overwrites: vec![],
        }
    }

    fn doc() -> SnapshotDocument {
        let mut general = channel(2, 200, "general", 0, Some(1));
        general.overwrites.push(OverwriteDoc {
            target: OverwriteTarget::Role,
            role: Some(1),
            user_id: None,
            allow: 0,
            deny: 0x800,
        });
        SnapshotDocument {
            format_version: 1,
            guild_id: 9,
            as_of: Utc::now(),
            settings: settings("Guild"),
            roles: vec![role(1, 100, "Mods", 0x8), role(2, 101, "Members", 0)],
            channels: vec![
                channel(1, 199, "Text", 4, None),
                general,
                channel(3, 201, "rules", 0, None),
            ],
            members: vec![MemberDoc {
                user_id: 7,
                nick: Some("seven".into()),
                roles: vec![1],
            }],
            bans: None,
            emojis: None,
            stickers: None,
            automod: None,
            threads: None,
            events: None,
            welcome: None,
            onboarding: None,
            webhooks: None,
            messages: None,
            images: Default::default(),
            pictures: Default::default(),
        }
    }

    #[test]
    fn a_picture_groups_channels_under_their_category_and_names_permissions() {
        let p = picture(&doc(), &HashMap::from([(7, "Seven".to_owned())]));
        assert_eq!(p.roles[0].name, "Members", "highest position first");
        assert_eq!(p.roles[1].permissions, vec!["Administrator".to_owned()]);
        assert_eq!(
            p.categories[0].channels[0].name, "rules",
            "no category first"
        );
        let text = &p.categories[1];
        assert_eq!(
            text.category.as_ref().map(|c| c.name.as_str()),
            Some("Text")
        );
        assert_eq!(text.channels[0].name, "general");
        assert_eq!(text.channels[0].overwrites[0].target, "Mods");
        assert_eq!(
            text.channels[0].overwrites[0].deny,
            vec!["Send Messages".to_owned()]
        );
        assert_eq!(p.members[0].name, "Seven");
        assert_eq!(p.members[0].roles, vec!["Mods".to_owned()]);
        assert!(
            p.settings
                .contains(&("system_channel".into(), "general".into()))
        );
    }

    #[test]
    fn deleted_created_and_changed_objects_are_told_apart_field_by_field() {
        let then = doc();
        let mut now = doc();
        now.channels.retain(|c| c.name != "general");
        now.channels.push(channel(4, 300, "spam", 0, None));
        now.roles[0].permissions = 0;
        now.settings.name = "Renamed".into();
        now.settings.system_channel = None;
        now.members[0].nick = None;
        let d = diff(&then, &now);
        let find = |name: &str| d.iter().find(|c| c.name == name).cloned();
        assert_eq!(find("general").map(|c| c.kind), Some(ChangeKind::Deleted));
        assert_eq!(find("spam").map(|c| c.kind), Some(ChangeKind::Created));
        let mods = find("Mods").expect("the role changed");
        assert_eq!(mods.kind, ChangeKind::Changed);
        assert_eq!(
            mods.fields,
            vec![FieldChange {
                field: "permissions".into(),
                then: "Administrator".into(),
                now: String::new(),
            }]
        );
        let settings = &d[0];
        assert_eq!(settings.subject, Subject::Setting);
        assert!(
            settings
                .fields
                .iter()
                .any(|f| f.field == "system_channel" && f.then == "general" && f.now.is_empty())
        );
        assert!(find("7").is_some_and(|c| c.fields[0].field == "nick"));
    }

    #[test]
    fn the_same_guild_has_no_difference() {
        assert!(diff(&doc(), &doc()).is_empty());
    }
}
