//! Purpose: what makes a document one Umbra can restore — Discord's limits, unique local ids,
//! every reference resolvable, parents that are categories — with a reason for each refusal.

use super::*;

impl SnapshotDocument {
    /// Checks that the document is one Umbra can restore: Discord's limits, unique local ids,
    /// every reference resolvable, parents are categories.
    pub fn validate(&self) -> Result<(), DocumentError> {
        use DocumentError as E;
        if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&self.format_version) {
            return Err(E::Version(self.format_version));
        }
        if self.format_version < 2
            && (self.bans.is_some()
                || self.emojis.is_some()
                || self.stickers.is_some()
                || self.automod.is_some()
                || self.threads.is_some()
                || self.events.is_some()
                || self.welcome.is_some()
                || self.onboarding.is_some()
                || self.webhooks.is_some()
                || self.messages.is_some()
                || !self.images.is_empty()
                || !self.pictures.is_empty()
                || self.settings.discovery_splash.is_some())
        {
            return Err(E::Invalid(
                "bans, emojis, stickers, AutoMod rules, threads, events, the welcome screen, the onboarding, webhooks, messages and images need format version 2"
                    .into(),
            ));
        }
        check_name("settings.name", &self.settings.name)?;
        if self.roles.len() > limits::ROLES {
            return Err(E::Invalid(format!(
                "{} roles (at most {})",
                self.roles.len(),
                limits::ROLES
            )));
        }
        if self.channels.len() > limits::CHANNELS {
            return Err(E::Invalid(format!(
                "{} channels (at most {})",
                self.channels.len(),
                limits::CHANNELS
            )));
        }
        if self.members.len() > limits::MEMBERS {
            return Err(E::Invalid(format!(
                "{} members (at most {})",
                self.members.len(),
                limits::MEMBERS
            )));
        }
        let mut role_ids = HashSet::new();
        let mut role_originals = HashSet::new();
        let mut everyone = 0;
        for r in &self.roles {
            if r.id == 0 || !role_ids.insert(r.id) {
                return Err(E::Invalid(format!("role id {} is zero or repeated", r.id)));
            }
            if !role_originals.insert(r.original_id) {
                return Err(E::Invalid(format!(
                    "role original_id {} is repeated",
                    r.original_id
                )));
            }
            check_name(&format!("role {}", r.id), &r.name)?;
            for c in std::iter::once(Some(r.color))
                .chain([r.secondary_color, r.tertiary_color])
                .flatten()
            {
                if !(0..=0x00FF_FFFF).contains(&c) {
                    return Err(E::Invalid(format!("role {} has colour {c}", r.id)));
                }
            }
            if r.position < 0 {
                return Err(E::Invalid(format!("role {} has a negative position", r.id)));
            }
            everyone += usize::from(r.everyone);
        }
        if everyone > 1 {
            return Err(E::Invalid("more than one @everyone role".into()));
        }
        let kinds: HashMap<u32, i16> = self.channels.iter().map(|c| (c.id, c.kind)).collect();
        let mut channel_originals = HashSet::new();
        if kinds.len() != self.channels.len() || kinds.contains_key(&0) {
            return Err(E::Invalid("channel ids are zero or repeated".into()));
        }
        for c in &self.channels {
            if !channel_originals.insert(c.original_id) {
                return Err(E::Invalid(format!(
                    "channel original_id {} is repeated",
                    c.original_id
                )));
            }
            check_name(&format!("channel {}", c.id), &c.name)?;
            if !CHANNEL_KINDS.contains(&c.kind) {
                return Err(E::Invalid(format!(
                    "channel {} has unsupported type {}",
                    c.id, c.kind
                )));
            }
            if c.topic
                .as_ref()
                .is_some_and(|t| t.chars().count() > limits::TOPIC_CHARS)
            {
                return Err(E::Invalid(format!(
                    "channel {} has a topic over {} characters",
                    c.id,
                    limits::TOPIC_CHARS
                )));
            }
            if let Some(parent) = c.parent
                && (c.kind == CATEGORY || parent == c.id || kinds.get(&parent) != Some(&CATEGORY))
            {
                return Err(E::Invalid(format!(
                    "channel {} has parent {parent}, which is not a category",
                    c.id
                )));
            }
            if c.position < 0
                || c.rate_limit_per_user < 0
                || c.bitrate.is_some_and(|b| b <= 0)
                || c.user_limit.is_some_and(|u| u < 0)
            {
                return Err(E::Invalid(format!(
                    "channel {} has a negative position, slowmode, bitrate or user limit",
                    c.id
                )));
            }
            if c.overwrites.len() > limits::OVERWRITES_PER_CHANNEL {
                return Err(E::Invalid(format!(
                    "channel {} has {} overwrites",
                    c.id,
                    c.overwrites.len()
                )));
            }
            let mut targets = HashSet::new();
            for o in &c.overwrites {
                let key = match (o.target, o.role, o.user_id) {
                    (OverwriteTarget::Role, Some(role), None) if role_ids.contains(&role) => {
                        (0u8, u64::from(role))
                    }
                    (OverwriteTarget::Member, None, Some(user)) => (1u8, user),
                    _ => {
                        return Err(E::Invalid(format!(
                            "channel {} has an overwrite whose target is missing or unknown",
                            c.id
                        )));
                    }
                };
                if !targets.insert(key) {
                    return Err(E::Invalid(format!(
                        "channel {} has two overwrites for one target",
                        c.id
                    )));
                }
            }
        }
        let s = &self.settings;
        for (field, channel) in [
            ("afk_channel", s.afk_channel),
            ("system_channel", s.system_channel),
            ("rules_channel", s.rules_channel),
            ("public_updates_channel", s.public_updates_channel),
            ("safety_alerts_channel", s.safety_alerts_channel),
        ] {
            if let Some(c) = channel
                && !kinds.contains_key(&c)
            {
                return Err(E::Invalid(format!(
                    "settings.{field} names unknown channel {c}"
                )));
            }
        }
        if s.afk_timeout < 0 {
            return Err(E::Invalid("settings.afk_timeout is negative".into()));
        }
        let mut users = HashSet::new();
        for m in &self.members {
            if !users.insert(m.user_id) {
                return Err(E::Invalid(format!("member {} is listed twice", m.user_id)));
            }
            if m.nick
                .as_ref()
                .is_some_and(|n| n.chars().count() > limits::NICK_CHARS)
            {
                return Err(E::Invalid(format!(
                    "member {} has a nickname over {} characters",
                    m.user_id,
                    limits::NICK_CHARS
                )));
            }
            if let Some(r) = m.roles.iter().find(|r| !role_ids.contains(r)) {
                return Err(E::Invalid(format!(
                    "member {} has unknown role {r}",
                    m.user_id
                )));
            }
        }
        self.validate_emojis(&role_ids)?;
        let bans = self.bans.as_deref().unwrap_or_default();
        if bans.len() > limits::BANS {
            return Err(E::Invalid(format!(
                "{} bans (at most {})",
                bans.len(),
                limits::BANS
            )));
        }
        let mut banned = HashSet::new();
        for b in bans {
            if !banned.insert(b.user_id) {
                return Err(E::Invalid(format!("ban of {} is listed twice", b.user_id)));
            }
            if b.username.chars().count() > limits::NAME_CHARS {
                return Err(E::Invalid(format!(
                    "ban of {} has a name over {} characters",
                    b.user_id,
                    limits::NAME_CHARS
                )));
            }
            if b.reason
                .as_ref()
                .is_some_and(|r| r.chars().count() > limits::BAN_REASON_CHARS)
            {
                return Err(E::Invalid(format!(
                    "ban of {} has a reason over {} characters",
                    b.user_id,
                    limits::BAN_REASON_CHARS
                )));
            }
        }
        Ok(())
    }
}

impl SnapshotDocument {
    /// Emojis: within Discord's limits, roles known, images present; every image decodes,
    /// fits Discord's upload limit and has the hash it is stored under.
    /// Kept messages: known text channels, each once; Discord's message limits (2,000
    /// characters, 10 embeds, 10 files, names a webhook takes); every kept file's bytes present.
    fn validate_messages(&self) -> Result<(), DocumentError> {
        let mut seen = HashSet::new();
        for c in self.messages.as_deref().unwrap_or_default() {
            let text = self
                .channels
                .iter()
                .any(|x| x.id == c.channel && matches!(x.kind, 0 | 5));
            if !text || !seen.insert(c.channel) || c.messages.len() > limits::MESSAGES_PER_CHANNEL {
                return Err(DocumentError::Invalid(format!(
                    "the messages of channel {} name an unknown or non-text channel, are listed twice, or are more than {}",
                    c.channel,
                    limits::MESSAGES_PER_CHANNEL
                )));
            }
            let mut ids = HashSet::new();
            for m in &c.messages {
                let bad = !ids.insert(m.original_id)
                    || m.content.chars().count() > 2000
                    || m.embeds.len() > 10
                    || m.embeds.iter().any(|e| !e.is_object())
                    || m.files.len() > 10
                    || !(1..=80).contains(&m.author.chars().count())
                    || m.avatar.len() > 2048
                    || (m.content.is_empty() && m.embeds.is_empty() && m.files.is_empty())
                    || m.files.iter().any(|f| {
                        f.filename.is_empty()
                            || f.filename.chars().count() > 260
                            || f.data
                                .as_ref()
                                .is_some_and(|h| !self.images.contains_key(h))
                    });
                if bad {
                    return Err(DocumentError::Invalid(format!(
                        "message {} is repeated, empty, over Discord's limits or refers to a missing file",
                        m.original_id
                    )));
                }
            }
        }
        Ok(())
    }

    fn validate_emojis(&self, role_ids: &HashSet<u32>) -> Result<(), DocumentError> {
        use DocumentError as E;
        use base64::Engine as _;
        let emojis = self.emojis.as_deref().unwrap_or_default();
        if emojis.len() > limits::EMOJIS {
            return Err(E::Invalid(format!(
                "{} emojis (at most {})",
                emojis.len(),
                limits::EMOJIS
            )));
        }
        let mut ids = HashSet::new();
        for e in emojis {
            if !ids.insert(e.original_id) {
                return Err(E::Invalid(format!(
                    "emoji {} is listed twice",
                    e.original_id
                )));
            }
            let n = e.name.chars().count();
            if !(2..=32).contains(&n) {
                return Err(E::Invalid(format!(
                    "emoji {} has a name of {n} characters (2 to 32)",
                    e.original_id
                )));
            }
            if let Some(r) = e.roles.iter().find(|r| !role_ids.contains(r)) {
                return Err(E::Invalid(format!(
                    "emoji {} has unknown role {r}",
                    e.original_id
                )));
            }
            if let Some(h) = &e.image
                && !self.images.contains_key(h)
            {
                return Err(E::Invalid(format!(
                    "emoji {} refers to a missing image",
                    e.original_id
                )));
            }
        }
        let mut stickers = HashSet::new();
        for s in self.stickers.as_deref().unwrap_or_default() {
            if !stickers.insert(s.original_id) {
                return Err(E::Invalid(format!(
                    "sticker {} is listed twice",
                    s.original_id
                )));
            }
            let n = s.name.chars().count();
            if !(2..=30).contains(&n) || s.tags.is_empty() || s.tags.chars().count() > 200 {
                return Err(E::Invalid(format!(
                    "sticker {} has a name of {n} characters (2 to 30) or bad tags",
                    s.original_id
                )));
            }
            if let Some(h) = &s.image
                && !self.images.contains_key(h)
            {
                return Err(E::Invalid(format!(
                    "sticker {} refers to a missing image",
                    s.original_id
                )));
            }
        }
        if let Some(w) = &self.welcome
            && (w.channels.len() > 5
                || w.description
                    .as_ref()
                    .is_some_and(|d| d.chars().count() > 140)
                || w.channels.iter().any(|(c, d, _)| {
                    !self.channels.iter().any(|x| x.id == *c) || d.chars().count() > 42
                }))
        {
            return Err(E::Invalid(
                "the welcome screen has more than 5 channels, unknown channels or too long texts"
                    .into(),
            ));
        }
        self.validate_messages()?;
        let mut hooks = HashSet::new();
        for w in self.webhooks.as_deref().unwrap_or_default() {
            let n = w.name.chars().count();
            if !hooks.insert(w.original_id)
                || !(1..=80).contains(&n)
                || !self.channels.iter().any(|c| c.id == w.channel)
            {
                return Err(E::Invalid(format!(
                    "webhook {} is repeated, has a name of {n} characters (1 to 80) or an unknown channel",
                    w.original_id
                )));
            }
        }
        if let Some(o) = &self.onboarding {
            let (roles, channels) = o.ids();
            let long = |t: &str, max: usize| t.chars().count() > max;
            let bad = o.prompts.len() > 15
                || o.mode > 1
                || roles
                    .iter()
                    .any(|r| !self.roles.iter().any(|x| x.id == **r))
                || channels
                    .iter()
                    .any(|c| !self.channels.iter().any(|x| x.id == **c))
                || o.prompts.iter().any(|p| {
                    p.kind > 1
                        || p.title.is_empty()
                        || long(&p.title, 100)
                        || p.options.is_empty()
                        || p.options.len() > 50
                        || p.options.iter().any(|x| {
                            x.title.is_empty()
                                || long(&x.title, 50)
                                || x.description.as_deref().is_some_and(|d| long(d, 100))
                                || x.emoji.as_deref().is_some_and(|e| long(e, 32))
                        })
                });
            if bad {
                return Err(E::Invalid(
                    "the onboarding has more than 15 prompts, a prompt without options, unknown roles or channels, or too long texts"
                        .into(),
                ));
            }
        }
        let mut events = HashSet::new();
        for e in self.events.as_deref().unwrap_or_default() {
            let id = e.original_id;
            if !events.insert(id) {
                return Err(E::Invalid(format!("event {id} is listed twice")));
            }
            let n = e.name.chars().count();
            if !(1..=100).contains(&n)
                || !(1..=3).contains(&e.entity_type)
                || !(1..=4).contains(&e.status)
                || e.description
                    .as_ref()
                    .is_some_and(|d| d.chars().count() > 1000)
                || e.location.as_ref().is_some_and(|l| l.chars().count() > 100)
                || e.end.is_some_and(|end| end < e.start)
                || e.channel
                    .is_some_and(|c| !self.channels.iter().any(|x| x.id == c))
            {
                return Err(E::Invalid(format!(
                    "event {id} has a bad name, kind, status, times, location or channel"
                )));
            }
        }
        let mut threads = HashSet::new();
        for t in self.threads.as_deref().unwrap_or_default() {
            let id = t.original_id;
            if !threads.insert(id) {
                return Err(E::Invalid(format!("thread {id} is listed twice")));
            }
            let n = t.name.chars().count();
            let parent = self.channels.iter().find(|c| c.id == t.parent);
            if !(1..=100).contains(&n)
                || !(10..=12).contains(&t.kind)
                || parent.is_none_or(|p| !matches!(p.kind, 0 | 5 | 15 | 16))
                || t.tags.len() > 5
                || t.starter.as_ref().is_some_and(|s| s.chars().count() > 4000)
                || !(0..=21600).contains(&t.rate_limit_per_user)
            {
                return Err(E::Invalid(format!(
                    "thread {id} has a bad name, kind, parent channel, tags or starter message"
                )));
            }
        }
        let mut rules = HashSet::new();
        let role_ids: HashSet<u32> = self.roles.iter().map(|r| r.id).collect();
        let channel_ids: HashSet<u32> = self.channels.iter().map(|c| c.id).collect();
        let rule_list = self.automod.as_deref().unwrap_or_default();
        if rule_list.len() > 25 {
            return Err(E::Invalid(format!(
                "{} AutoMod rules (Discord allows far fewer)",
                rule_list.len()
            )));
        }
        for r in rule_list {
            let id = r.original_id;
            if !rules.insert(id) {
                return Err(E::Invalid(format!("AutoMod rule {id} is listed twice")));
            }
            let n = r.name.chars().count();
            if !(1..=100).contains(&n)
                || !matches!(r.trigger_type, 1 | 3 | 4 | 5 | 6)
                || !matches!(r.event_type, 1 | 2)
                || !r.trigger_metadata.is_object()
                || serde_json::to_vec(&r.trigger_metadata).map_or(true, |b| b.len() > 64 * 1024)
            {
                return Err(E::Invalid(format!(
                    "AutoMod rule {id} has a bad name, trigger, event or trigger metadata"
                )));
            }
            if r.actions.is_empty()
                || r.actions.len() > 5
                || r.actions.iter().any(|a| {
                    !(1..=4).contains(&a.kind)
                        || !a.metadata.is_object()
                        || a.channel.is_some_and(|c| !channel_ids.contains(&c))
                })
            {
                return Err(E::Invalid(format!(
                    "AutoMod rule {id} needs 1 to 5 actions of known kinds, in known channels"
                )));
            }
            if r.exempt_roles.iter().any(|x| !role_ids.contains(x))
                || r.exempt_channels.iter().any(|x| !channel_ids.contains(x))
                || r.exempt_roles.len() > 20
                || r.exempt_channels.len() > 50
            {
                return Err(E::Invalid(format!(
                    "AutoMod rule {id} exempts unknown roles or channels"
                )));
            }
        }
        for (picture, hash) in &self.pictures {
            if !self.images.contains_key(hash) {
                return Err(E::Invalid(format!(
                    "picture {picture} refers to a missing image"
                )));
            }
        }
        for (hash, data) in &self.images {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| E::Invalid(format!("image {hash} is not base64")))?;
            if bytes.is_empty() || bytes.len() > limits::PICTURE_BYTES {
                return Err(E::Invalid(format!(
                    "image {hash} has {} bytes (1 to {})",
                    bytes.len(),
                    limits::PICTURE_BYTES
                )));
            }
            if hex::encode(Sha256::digest(&bytes)) != *hash {
                return Err(E::Invalid(format!("image {hash} does not match its hash")));
            }
        }
        Ok(())
    }
}

pub(super) fn check_name(what: &str, name: &str) -> Result<(), DocumentError> {
    let n = name.chars().count();
    if n == 0 || n > limits::NAME_CHARS {
        return Err(DocumentError::Invalid(format!(
            "{what} has a name of {n} characters (1 to {})",
            limits::NAME_CHARS
        )));
    }
    Ok(())
}

/// Why a document is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("format version {0} is not supported (this Umbra reads versions 1 and 2)")]
    Version(u32),
    #[error("{0}")]
    Invalid(String),
}
