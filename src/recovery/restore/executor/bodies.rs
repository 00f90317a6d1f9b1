//! Purpose: the request bodies of a restore's steps — roles, channels (with overwrites and
//! forum tags), positions, guild settings, members — with snapshot ids mapped to live ones.

use super::*;

/// A call ready to send.
pub(super) struct Call {
    pub(super) request: Req,
    pub(super) notes: Vec<String>,
}

pub(super) enum Req {
    CreateRole(Value),
    EditRole(u64, Value),
    DeleteRole(u64),
    RolePositions(Value),
    CreateChannel(Value),
    EditChannel(u64, Value),
    DeleteChannel(u64),
    ChannelPositions(Value),
    EditGuild(Value),
    EditMember(u64, Value),
    /// `PUT /guilds/{g}/members/{u}` with the member's grant (added by the caller). `true`: it
    /// may have been sent before a crash — look the member up first.
    AddMember(u64, Value, bool),
    /// `PUT /guilds/{g}/bans/{u}` with the ban's own reason (none: no reason).
    Ban(u64, Option<String>),
    /// `DELETE /guilds/{g}/bans/{u}`.
    Unban(u64),
    /// `POST /guilds/{g}/emojis`. `true`: it may have been sent before a crash — look for an
    /// emoji of that name and kind first.
    CreateEmoji(Value, bool),
    /// `POST /guilds/{g}/stickers` (multipart): form fields, the file (base64), its format,
    /// and whether it may have been sent before a crash (then looked up by name first).
    CreateSticker(Vec<(String, String)>, String, i16, bool),
    EditSticker(u64, Value),
    DeleteSticker(u64),
    EditEmoji(u64, Value),
    DeleteEmoji(u64),
    /// `POST /guilds/{g}/auto-moderation/rules`; `true`: it may have been sent before a crash
    /// (then a rule of that name and trigger is looked for first).
    CreateAutoMod(Value, bool),
    EditAutoMod(u64, Value),
    DeleteAutoMod(u64),
    /// A thread or forum post in `parent` (live id); `true`: it may have been created before
    /// a crash (then looked for by name first).
    CreateThread(u64, ThreadSpec, bool),
    /// A thread's change in `parent` (live id): the thread, its new state, whether it must be
    /// opened first (archived now).
    EditThread(u64, u64, ThreadSpec, bool),
    DeleteThread(u64),
    /// `POST /guilds/{g}/scheduled-events`; `true`: it may have been sent before a crash
    /// (then an event of that name and start is looked for first).
    CreateEvent(Value, bool),
    EditEvent(u64, Value),
    DeleteEvent(u64),
    /// `PATCH /guilds/{g}/welcome-screen`.
    EditWelcome(Value),
    /// `PUT /guilds/{g}/onboarding`.
    PutOnboarding(Value),
    /// `POST /channels/{c}/webhooks` (bool: marked as sent before a restart: look it up).
    CreateWebhook(u64, Value, bool),
    EditWebhook(u64, Value),
    DeleteWebhook(u64),
    /// One kept message through its channel's replay webhook.
    Replay(ReplaySpec),
    /// Deletes the replay webhook of a channel (live id) once its messages are posted.
    ReplayEnd(u64),
    /// Nothing left to send (everything it referred to failed).
    Nothing,
}

/// A message to post again.
pub(super) struct ReplaySpec {
    /// The live channel.
    pub(super) channel: u64,
    /// The webhook execution's body (`payload_json` when there are files).
    pub(super) body: Value,
    /// (file name, base64 bytes).
    pub(super) files: Vec<(String, String)>,
    pub(super) pinned: bool,
    /// Marked as sent before a restart: look for it first.
    pub(super) sent_before: bool,
    /// The channel's last message posted again before this one.
    pub(super) after: Option<u64>,
}

/// Discord's SUPPRESS_NOTIFICATIONS message flag: a replayed message pings and notifies no one.
const SUPPRESS_NOTIFICATIONS: u64 = 1 << 12;

/// A name a webhook may post as: Discord refuses "discord" and "clyde" in it (a word joiner
/// keeps them readable but not equal), and 1 to 80 characters.
pub(super) fn webhook_username(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let hit = ["discord", "clyde"].into_iter().find(|w| {
            chars.len() - i >= w.len()
                && chars[i..i + w.len()]
                    .iter()
                    .zip(w.chars())
                    .all(|(a, b)| a.to_ascii_lowercase() == b)
        });
        match hit {
            Some(w) => {
                for (k, c) in chars[i..i + w.len()].iter().enumerate() {
                    out.push(*c);
                    if k == 3 {
                        out.push('\u{2060}');
                    }
                }
                i += w.len();
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    let out: String = out.chars().take(80).collect();
    if out.trim().is_empty() {
        "?".to_owned()
    } else {
        out
    }
}

pub(super) fn role_body(f: &RoleFields) -> Value {
    let mut b = serde_json::Map::new();
    if let Some(n) = &f.name {
        b.insert("name".into(), json!(n));
    }
    if let Some(c) = f.color {
        b.insert("color".into(), json!(c));
    }
    if f.secondary_color.is_some() || f.tertiary_color.is_some() {
        b.insert(
            "colors".into(),
            json!({
                "primary_color": f.color,
                "secondary_color": f.secondary_color.flatten(),
                "tertiary_color": f.tertiary_color.flatten(),
            }),
        );
    }
    if let Some(h) = f.hoist {
        b.insert("hoist".into(), json!(h));
    }
    if let Some(m) = f.mentionable {
        b.insert("mentionable".into(), json!(m));
    }
    if let Some(i) = &f.icon {
        b.insert("icon".into(), json!(i));
    }
    if let Some(e) = &f.unicode_emoji {
        b.insert("unicode_emoji".into(), json!(e));
    }
    if let Some(p) = f.permissions {
        b.insert("permissions".into(), json!(p.to_string()));
    }
    Value::Object(b)
}

/// Builds a channel body; unresolved overwrite targets are dropped with a note.
pub(super) fn channel_body(
    f: &ChannelFields,
    state: &RunState,
    notes: &mut Vec<String>,
) -> serde_json::Map<String, Value> {
    let mut b = serde_json::Map::new();
    let mut put = |k: &str, v: Value| {
        b.insert(k.to_owned(), v);
    };
    if let Some(v) = f.kind {
        put("type", json!(v));
    }
    if let Some(v) = &f.name {
        put("name", json!(v));
    }
    if let Some(v) = &f.topic {
        put("topic", json!(v));
    }
    if let Some(v) = f.nsfw {
        put("nsfw", json!(v));
    }
    if let Some(v) = f.rate_limit_per_user {
        put("rate_limit_per_user", json!(v));
    }
    if let Some(v) = f.bitrate {
        put("bitrate", json!(v));
    }
    if let Some(v) = f.user_limit {
        put("user_limit", json!(v));
    }
    if let Some(v) = &f.rtc_region {
        put("rtc_region", json!(v));
    }
    if let Some(v) = f.video_quality_mode {
        put("video_quality_mode", json!(v));
    }
    if let Some(v) = f.default_auto_archive_duration {
        put("default_auto_archive_duration", json!(v));
    }
    if let Some(v) = f.default_thread_rate_limit_per_user {
        put("default_thread_rate_limit_per_user", json!(v));
    }
    if let Some(v) = &f.available_tags {
        put("available_tags", v.clone());
    }
    if let Some(v) = &f.default_reaction_emoji {
        put("default_reaction_emoji", v.clone());
    }
    if let Some(v) = f.default_sort_order {
        put("default_sort_order", json!(v));
    }
    if let Some(v) = f.default_forum_layout {
        put("default_forum_layout", json!(v));
    }
    if let Some(list) = &f.overwrites {
        let mut out = Vec::new();
        for o in list {
            let (id, kind) = match o.target {
                OverwriteFor::Role(r) => match state.ids.role(r) {
                    Some(id) => (id, 0),
                    None => {
                        notes.push(format!(
                            "an overwrite for {} was left out: the role was not restored",
                            ref_name(r)
                        ));
                        continue;
                    }
                },
                OverwriteFor::Member(u) => (u, 1),
            };
            out.push(json!({
                "id": id.to_string(),
                "type": kind,
                "allow": o.allow.to_string(),
                "deny": o.deny.to_string(),
            }));
        }
        put("permission_overwrites", Value::Array(out));
    }
    b
}

pub(super) fn ref_name(r: Ref) -> String {
    match r {
        Ref::L(l) => format!("snapshot object {l}"),
        Ref::D(d) => d.to_string(),
    }
}

/// An emoji's allowed roles as live ids (those not restored are left out, with a note).
fn emoji_roles(roles: &[Ref], state: &RunState, notes: &mut Vec<String>) -> Vec<String> {
    let ids: BTreeSet<u64> = roles.iter().filter_map(|r| state.ids.role(*r)).collect();
    if ids.len() < roles.len() {
        notes.push(format!(
            "{} role(s) not restored were left out",
            roles.len() - ids.len()
        ));
    }
    ids.iter().map(u64::to_string).collect()
}

/// An AutoMod rule's body with its roles and channels mapped. Exempt roles and channels not
/// restored are left out; an alert whose channel was not restored is dropped (a rule left
/// without any action cannot be sent: `None`).
fn automod_body(
    b: &AutoModBody,
    name: &str,
    with_trigger: bool,
    state: &RunState,
    notes: &mut Vec<String>,
) -> Option<Value> {
    let roles: Vec<String> = b
        .exempt_roles
        .iter()
        .filter_map(|r| state.ids.role(*r))
        .map(|r| r.to_string())
        .collect();
    let channels: Vec<String> = b
        .exempt_channels
        .iter()
        .filter_map(|c| state.ids.channel(*c))
        .map(|c| c.to_string())
        .collect();
    let left_out = b.exempt_roles.len() - roles.len() + b.exempt_channels.len() - channels.len();
    if left_out > 0 {
        notes.push(format!(
            "{left_out} exempt role(s) or channel(s) not restored were left out"
        ));
    }
    let mut actions = Vec::new();
    for a in &b.actions {
        let mut metadata = a.metadata.clone();
        if let Some(c) = a.channel {
            match state.ids.channel(c) {
                Some(live) => {
                    if let Some(m) = metadata.as_object_mut() {
                        m.insert("channel_id".into(), json!(live.to_string()));
                    }
                }
                None => {
                    notes.push("an alert whose channel was not restored was left out".into());
                    continue;
                }
            }
        }
        actions.push(json!({ "type": a.kind, "metadata": metadata }));
    }
    if actions.is_empty() {
        notes.push("no action left to send".into());
        return None;
    }
    let mut body = json!({
        "name": name,
        "event_type": b.event_type,
        "trigger_metadata": b.trigger_metadata,
        "actions": actions,
        "enabled": b.enabled,
        "exempt_roles": roles,
        "exempt_channels": channels,
    });
    if with_trigger {
        body["trigger_type"] = json!(b.trigger_type);
    }
    Some(body)
}

/// A scheduled event's body with its channel mapped (`None`: its channel was not restored).
fn event_body(name: &str, f: &EventFields, state: &RunState) -> Option<Value> {
    let time =
        |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    let channel = match f.channel {
        Some(c) => Some(state.ids.channel(c)?.to_string()),
        None => None,
    };
    let mut body = json!({
        "name": name,
        "description": f.description,
        "scheduled_start_time": time(&f.start),
        "scheduled_end_time": f.end.as_ref().map(time),
        "entity_type": f.entity_type,
        "channel_id": channel,
        "entity_metadata": f.location.as_ref().map(|l| json!({ "location": l })),
        "privacy_level": 2,
    });
    if let Some(image) = &f.image {
        body["image"] = json!(image);
    }
    Some(body)
}

/// A thread as a request needs it.
pub(super) struct ThreadSpec {
    pub(super) name: String,
    pub(super) post: bool,
    pub(super) fields: ThreadFields,
    pub(super) starter: Option<String>,
}

/// Builds a step's request from the current id map.
pub(super) fn build(step: &Step, state: &RunState) -> Call {
    let mut notes = Vec::new();
    let request = match &step.action {
        Action::RoleCreate { fields, .. } => Req::CreateRole(role_body(fields)),
        Action::RoleUpdate { live, fields, .. } => Req::EditRole(*live, role_body(fields)),
        Action::RoleDelete { live, .. } => Req::DeleteRole(*live),
        Action::RoleGrant { role, permissions } => match state.ids.roles.get(role) {
            Some(live) => Req::EditRole(*live, json!({ "permissions": permissions.to_string() })),
            None => {
                notes.push("the role was not restored".into());
                Req::Nothing
            }
        },
        Action::RolePositions { order } => {
            let ids: Vec<u64> = order.iter().filter_map(|r| state.ids.role(*r)).collect();
            if ids.len() < order.len() {
                notes.push(format!(
                    "{} role(s) not restored were left out",
                    order.len() - ids.len()
                ));
            }
            Req::RolePositions(Value::Array(
                ids.iter()
                    .zip(1u32..)
                    .map(|(id, pos)| json!({ "id": id.to_string(), "position": pos }))
                    .collect(),
            ))
        }
        Action::ChannelCreate {
            parent,
            position,
            fields,
            ..
        } => {
            let mut b = channel_body(fields, state, &mut notes);
            b.insert("position".into(), json!(position));
            if let Some(p) = parent {
                match state.ids.channel(*p) {
                    Some(id) => {
                        b.insert("parent_id".into(), json!(id.to_string()));
                    }
                    None => notes.push("its category was not restored: created without one".into()),
                }
            }
            Req::CreateChannel(Value::Object(b))
        }
        Action::ChannelUpdate { live, fields, .. } => Req::EditChannel(
            *live,
            Value::Object(channel_body(fields, state, &mut notes)),
        ),
        Action::ChannelDelete { live, .. } => Req::DeleteChannel(*live),
        Action::ChannelPositions { items } => {
            let mut out = Vec::new();
            for i in items {
                let Some(id) = state.ids.channel(i.channel) else {
                    notes.push(format!("{} was not restored", ref_name(i.channel)));
                    continue;
                };
                let parent = i.parent.and_then(|p| state.ids.channel(p));
                out.push(json!({
                    "id": id.to_string(),
                    "position": i.position,
                    "parent_id": parent.map(|p| p.to_string()),
                }));
            }
            Req::ChannelPositions(Value::Array(out))
        }
        Action::Settings { fields } => {
            let mut b = serde_json::Map::new();
            let mut put = |k: &str, v: Value| {
                b.insert(k.to_owned(), v);
            };
            if let Some(v) = &fields.name {
                put("name", json!(v));
            }
            if let Some(v) = &fields.description {
                put("description", json!(v));
            }
            if let Some(v) = fields.verification_level {
                put("verification_level", json!(v));
            }
            if let Some(v) = fields.default_message_notifications {
                put("default_message_notifications", json!(v));
            }
            if let Some(v) = fields.explicit_content_filter {
                put("explicit_content_filter", json!(v));
            }
            if let Some(v) = fields.afk_timeout {
                put("afk_timeout", json!(v));
            }
            if let Some(v) = fields.system_channel_flags {
                put("system_channel_flags", json!(v));
            }
            if let Some(v) = &fields.preferred_locale {
                put("preferred_locale", json!(v));
            }
            if let Some(v) = fields.premium_progress_bar_enabled {
                put("premium_progress_bar_enabled", json!(v));
            }
            for (key, image) in [
                ("icon", &fields.icon),
                ("banner", &fields.banner),
                ("splash", &fields.splash),
                ("discovery_splash", &fields.discovery_splash),
            ] {
                if let Some(image) = image {
                    put(key, json!(image));
                }
            }
            for (key, value) in [
                ("afk_channel_id", fields.afk_channel),
                ("system_channel_id", fields.system_channel),
                ("rules_channel_id", fields.rules_channel),
                ("public_updates_channel_id", fields.public_updates_channel),
                ("safety_alerts_channel_id", fields.safety_alerts_channel),
            ] {
                match value {
                    None => {}
                    Some(None) => put(key, Value::Null),
                    Some(Some(r)) => match state.ids.channel(r) {
                        Some(id) => put(key, json!(id.to_string())),
                        None => {
                            notes.push(format!("{key} was left out: the channel was not restored"))
                        }
                    },
                }
            }
            Req::EditGuild(Value::Object(b))
        }
        Action::Member {
            user,
            roles,
            nick,
            add,
        } => {
            let mut b = serde_json::Map::new();
            if let Some(roles) = roles {
                let ids: BTreeSet<u64> = roles.iter().filter_map(|r| state.ids.role(*r)).collect();
                if ids.len() < roles.len() {
                    notes.push(format!(
                        "{} role(s) not restored were left out",
                        roles.len() - ids.len()
                    ));
                }
                b.insert(
                    "roles".into(),
                    Value::Array(ids.iter().map(|i| json!(i.to_string())).collect()),
                );
            }
            if let Some(nick) = nick {
                b.insert("nick".into(), json!(nick));
            }
            if *add {
                Req::AddMember(*user, Value::Object(b), state.sending.contains(&step.id))
            } else {
                Req::EditMember(*user, Value::Object(b))
            }
        }
        Action::Ban { user, reason, .. } => Req::Ban(*user, reason.clone()),
        Action::Unban { user, .. } => Req::Unban(*user),
        Action::EmojiCreate {
            name, roles, image, ..
        } => Req::CreateEmoji(
            json!({ "name": name, "image": image, "roles": emoji_roles(roles, state, &mut notes) }),
            state.sending.contains(&step.id),
        ),
        Action::EmojiUpdate {
            live, name, roles, ..
        } => Req::EditEmoji(
            *live,
            json!({ "name": name, "roles": emoji_roles(roles, state, &mut notes) }),
        ),
        Action::EmojiDelete { live, .. } => Req::DeleteEmoji(*live),
        Action::StickerCreate {
            name,
            description,
            tags,
            format_type,
            file,
            ..
        } => Req::CreateSticker(
            vec![
                ("name".to_owned(), name.clone()),
                (
                    "description".to_owned(),
                    description.clone().unwrap_or_default(),
                ),
                ("tags".to_owned(), tags.clone()),
            ],
            file.clone(),
            *format_type,
            state.sending.contains(&step.id),
        ),
        Action::StickerUpdate {
            live,
            name,
            description,
            tags,
        } => Req::EditSticker(
            *live,
            json!({ "name": name, "description": description, "tags": tags }),
        ),
        Action::StickerDelete { live, .. } => Req::DeleteSticker(*live),
        Action::AutoModCreate { name, body, .. } => {
            match automod_body(body, name, true, state, &mut notes) {
                Some(b) => Req::CreateAutoMod(b, state.sending.contains(&step.id)),
                None => Req::Nothing,
            }
        }
        Action::AutoModUpdate { live, name, body } => {
            match automod_body(body, name, false, state, &mut notes) {
                Some(b) => Req::EditAutoMod(*live, b),
                None => Req::Nothing,
            }
        }
        Action::AutoModDelete { live, .. } => Req::DeleteAutoMod(*live),
        Action::ThreadCreate {
            parent,
            post,
            name,
            fields,
            starter,
            ..
        } => match state.ids.channel(*parent) {
            Some(p) => Req::CreateThread(
                p,
                ThreadSpec {
                    name: name.clone(),
                    post: *post,
                    fields: fields.clone(),
                    starter: starter.clone(),
                },
                state.sending.contains(&step.id),
            ),
            None => {
                notes.push("its channel was not restored".into());
                Req::Nothing
            }
        },
        Action::ThreadEdit {
            live,
            parent,
            name,
            fields,
            reopen,
        } => match state.ids.channel(*parent) {
            Some(p) => Req::EditThread(
                p,
                *live,
                ThreadSpec {
                    name: name.clone(),
                    post: false,
                    fields: fields.clone(),
                    starter: None,
                },
                *reopen,
            ),
            None => {
                notes.push("its channel was not restored".into());
                Req::Nothing
            }
        },
        Action::ThreadDelete { live, .. } => Req::DeleteThread(*live),
        Action::EventCreate { name, fields, .. } => match event_body(name, fields, state) {
            Some(b) => Req::CreateEvent(b, state.sending.contains(&step.id)),
            None => {
                notes.push("its channel was not restored".into());
                Req::Nothing
            }
        },
        Action::EventUpdate { live, name, fields } => match event_body(name, fields, state) {
            Some(b) => Req::EditEvent(*live, b),
            None => {
                notes.push("its channel was not restored".into());
                Req::Nothing
            }
        },
        Action::EventDelete { live, .. } => Req::DeleteEvent(*live),
        Action::WelcomeScreen {
            enabled,
            description,
            channels,
        } => {
            let mut list = Vec::new();
            for (c, d, e) in channels {
                match state.ids.channel(*c) {
                    Some(id) => list.push(json!({
                        "channel_id": id.to_string(),
                        "description": d,
                        "emoji_name": e,
                    })),
                    None => notes.push(format!("the channel of “{d}” was not restored")),
                }
            }
            Req::EditWelcome(json!({
                "enabled": enabled,
                "description": description,
                "welcome_channels": list,
            }))
        }
        Action::Onboarding { onboarding } => {
            let (o, dropped) = onboarding.map(|r| state.ids.role(*r), |c| state.ids.channel(*c));
            if dropped > 0 {
                notes.push(format!(
                    "{dropped} of its roles and channels were not restored: left out"
                ));
            }
            Req::PutOnboarding(o.to_discord())
        }
        Action::WebhookCreate {
            name,
            channel,
            avatar,
            ..
        } => match state.ids.channel(*channel) {
            Some(c) => {
                notes.push(
                    "a new URL (Discord never reuses one): sent by DM to who confirmed the restore; also under Server Settings → Integrations → Webhooks"
                        .into(),
                );
                Req::CreateWebhook(
                    c,
                    json!({ "name": name, "avatar": avatar }),
                    state.sending.contains(&step.id),
                )
            }
            None => {
                notes.push("its channel was not restored".into());
                Req::Nothing
            }
        },
        Action::WebhookUpdate {
            live,
            name,
            channel,
            avatar,
        } => match state.ids.channel(*channel) {
            Some(c) => {
                let mut b = json!({ "name": name, "channel_id": c.to_string() });
                if let Some(a) = avatar {
                    b["avatar"] = json!(a);
                }
                Req::EditWebhook(*live, b)
            }
            None => {
                notes.push("its channel was not restored".into());
                Req::Nothing
            }
        },
        Action::WebhookDelete { live, .. } => Req::DeleteWebhook(*live),
        Action::MessageReplay {
            channel,
            author,
            avatar,
            content,
            embeds,
            files,
            pinned,
            ..
        } => match state.ids.channel(*channel) {
            Some(c) => {
                let attachments: Vec<Value> = files
                    .iter()
                    .enumerate()
                    .map(|(i, (name, _))| json!({ "id": i, "filename": name }))
                    .collect();
                Req::Replay(ReplaySpec {
                    channel: c,
                    body: json!({
                        "content": content,
                        "username": webhook_username(author),
                        "avatar_url": avatar,
                        "embeds": embeds,
                        "attachments": attachments,
                        "allowed_mentions": { "parse": [] },
                        "flags": SUPPRESS_NOTIFICATIONS,
                    }),
                    files: files.clone(),
                    pinned: *pinned,
                    sent_before: state.sending.contains(&step.id),
                    after: state.replayed.get(&c).copied(),
                })
            }
            None => {
                notes.push("its channel was not restored".into());
                Req::Nothing
            }
        },
        Action::ReplayEnd { channel } => match state.ids.channel(*channel) {
            Some(c) => Req::ReplayEnd(c),
            None => {
                notes.push("its channel was not restored".into());
                Req::Nothing
            }
        },
    };
    Call { request, notes }
}
