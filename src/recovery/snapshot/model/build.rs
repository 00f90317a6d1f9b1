//! Purpose: freezing a guild state (live sync's mirror) into a snapshot document: local ids
//! in canonical order, references rewritten to them, settings' channels mapped.

use super::*;

impl SnapshotDocument {
    /// Freezes a guild state (`None` when the state has no settings, i.e. nothing synced).
    pub fn from_state(state: &GuildState) -> Option<Self> {
        let settings = state.settings.as_ref()?;
        let state = state.clone().sorted();
        let role_ids: HashMap<u64, u32> = state
            .roles
            .iter()
            .zip(1u32..)
            .map(|(r, local)| (r.discord_role_id, local))
            .collect();
        let channel_ids: HashMap<u64, u32> = state
            .channels
            .iter()
            .zip(1u32..)
            .map(|(c, local)| (c.discord_channel_id, local))
            .collect();
        let local_channel = |id: Option<u64>| id.and_then(|c| channel_ids.get(&c).copied());
        let roles = state
            .roles
            .iter()
            .zip(1u32..)
            .map(|(r, local)| RoleDoc {
                id: local,
                original_id: r.discord_role_id,
                name: r.name.clone(),
                color: r.color,
                secondary_color: r.secondary_color,
                tertiary_color: r.tertiary_color,
                hoist: r.hoist,
                mentionable: r.mentionable,
                permissions: u64::try_from(r.permissions).unwrap_or(0),
                position: r.position,
                managed: r.managed,
                everyone: r.discord_role_id == state.guild_id,
                icon: r.icon.clone(),
                unicode_emoji: r.unicode_emoji.clone(),
                tags: r.tags.clone().map(canonical_value),
            })
            .collect();
        let channels = state
            .channels
            .iter()
            .zip(1u32..)
            .map(|(c, local)| ChannelDoc {
                id: local,
                original_id: c.discord_channel_id,
                kind: c.kind,
                name: c.name.clone(),
                parent: local_channel(c.parent_id),
                position: c.position,
                topic: c.topic.clone(),
                nsfw: c.nsfw,
                rate_limit_per_user: c.rate_limit_per_user,
                bitrate: c.bitrate,
                user_limit: c.user_limit,
                rtc_region: c.rtc_region.clone(),
                video_quality_mode: c.video_quality_mode,
                default_auto_archive_duration: c.default_auto_archive_duration,
                default_thread_rate_limit_per_user: c.default_thread_rate_limit_per_user,
                available_tags: c.available_tags.clone().map(canonical_value),
                default_reaction_emoji: c.default_reaction_emoji.clone().map(canonical_value),
                default_sort_order: c.default_sort_order,
                default_forum_layout: c.default_forum_layout,
                flags: c.flags,
                overwrites: c
                    .overwrites
                    .iter()
                    .filter_map(|o| match o.target {
                        OverwriteTarget::Role => {
                            role_ids.get(&o.target_id).map(|local| OverwriteDoc {
                                target: OverwriteTarget::Role,
                                role: Some(*local),
                                user_id: None,
                                allow: u64::try_from(o.allow).unwrap_or(0),
                                deny: u64::try_from(o.deny).unwrap_or(0),
                            })
                        }
                        OverwriteTarget::Member => Some(OverwriteDoc {
                            target: OverwriteTarget::Member,
                            role: None,
                            user_id: Some(o.target_id),
                            allow: u64::try_from(o.allow).unwrap_or(0),
                            deny: u64::try_from(o.deny).unwrap_or(0),
                        }),
                    })
                    .collect(),
            })
            .collect();
        let members = state
            .members
            .iter()
            .map(|m| {
                let mut roles: Vec<u32> = m
                    .role_ids
                    .iter()
                    .filter_map(|r| role_ids.get(r).copied())
                    .collect();
                roles.sort_unstable();
                MemberDoc {
                    user_id: m.discord_user_id,
                    nick: m.nick.clone(),
                    roles,
                }
            })
            .collect();
        Some(SnapshotDocument {
            format_version: FORMAT_VERSION,
            guild_id: state.guild_id,
            as_of: state.as_of,
            settings: settings_doc(settings, &local_channel),
            roles,
            channels,
            members,
            // Read from Discord at snapshot time (the service), never from the mirror.
            messages: None,
            emojis: Some(
                settings
                    .emojis
                    .iter()
                    .map(|e| {
                        let mut roles: Vec<u32> = e
                            .roles
                            .iter()
                            .filter_map(|r| role_ids.get(r).copied())
                            .collect();
                        roles.sort_unstable();
                        EmojiDoc {
                            original_id: e.id,
                            name: e.name.clone(),
                            roles,
                            animated: e.animated,
                            image: None,
                        }
                    })
                    .collect(),
            ),
            stickers: Some(
                settings
                    .stickers
                    .iter()
                    .map(|s| StickerDoc {
                        original_id: s.id,
                        name: s.name.clone(),
                        description: s.description.clone(),
                        tags: s.tags.clone(),
                        format_type: s.format_type,
                        image: None,
                    })
                    .collect(),
            ),
            welcome: settings.welcome.as_ref().map(|w| WelcomeDoc {
                enabled: w.enabled,
                description: w.description.clone(),
                channels: w
                    .channels
                    .iter()
                    .filter_map(|(c, d, e)| Some((*channel_ids.get(c)?, d.clone(), e.clone())))
                    .collect(),
            }),
            webhooks: settings.webhooks.as_ref().map(|hooks| {
                hooks
                    .iter()
                    .filter_map(|w| {
                        Some(WebhookDoc {
                            original_id: w.id,
                            name: w.name.clone(),
                            channel: *channel_ids.get(&w.channel_id)?,
                            avatar: w.avatar.clone(),
                        })
                    })
                    .collect()
            }),
            onboarding: settings.onboarding.as_ref().map(|o| {
                o.map(
                    |r| role_ids.get(r).copied(),
                    |c| channel_ids.get(c).copied(),
                )
                .0
            }),
            events: settings.events.as_ref().map(|events| {
                events
                    .iter()
                    .map(|e| EventDoc {
                        original_id: e.id,
                        name: e.name.clone(),
                        description: e.description.clone(),
                        start: e.start,
                        end: e.end,
                        entity_type: e.entity_type,
                        channel: local_channel(e.channel_id),
                        location: e.location.clone(),
                        status: e.status,
                        image: e.image.clone(),
                    })
                    .collect()
            }),
            threads: Some(
                state
                    .threads
                    .iter()
                    .filter_map(|t| {
                        let parent = state
                            .channels
                            .iter()
                            .find(|c| c.discord_channel_id == t.parent_id)?;
                        Some(ThreadDoc {
                            original_id: t.id,
                            kind: t.kind,
                            name: t.name.clone(),
                            parent: *channel_ids.get(&t.parent_id)?,
                            archived: t.archived,
                            locked: t.locked,
                            auto_archive_duration: t.auto_archive_duration,
                            invitable: t.invitable,
                            rate_limit_per_user: t.rate_limit_per_user,
                            pinned: t.flags & 2 != 0,
                            tags: tag_names(parent.available_tags.as_ref(), &t.applied_tags),
                            starter: None,
                        })
                    })
                    .collect(),
            ),
            automod: settings.automod.as_ref().map(|rules| {
                rules
                    .iter()
                    .map(|r| automod_doc(r, &role_ids, &channel_ids))
                    .collect()
            }),
            images: BTreeMap::new(),
            pictures: BTreeMap::new(),
            bans: state.bans.as_ref().map(|bans| {
                bans.iter()
                    .map(|b| BanDoc {
                        user_id: b.discord_user_id,
                        username: b.username.clone(),
                        reason: b.reason.clone(),
                    })
                    .collect()
            }),
        })
    }
}

/// The names of the tags `ids` among a forum's `available_tags` (unknown ones left out).
fn tag_names(available: Option<&Value>, ids: &[u64]) -> Vec<String> {
    let tags = available.and_then(Value::as_array);
    let mut out: Vec<String> = ids
        .iter()
        .filter_map(|id| {
            tags?
                .iter()
                .find(|t| t.get("id").and_then(Value::as_str) == Some(id.to_string().as_str()))?
                .get("name")?
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    out.sort();
    out
}

/// A rule with its roles and channels by local id (ones no longer in the guild are left out).
fn automod_doc(
    r: &crate::recovery::sync::AutoModRuleState,
    role_ids: &HashMap<u64, u32>,
    channel_ids: &HashMap<u64, u32>,
) -> AutoModDoc {
    let local = |ids: &[u64], map: &HashMap<u64, u32>| {
        let mut out: Vec<u32> = ids.iter().filter_map(|i| map.get(i).copied()).collect();
        out.sort_unstable();
        out
    };
    AutoModDoc {
        original_id: r.id,
        name: r.name.clone(),
        event_type: r.event_type,
        trigger_type: r.trigger_type,
        trigger_metadata: canonical_value(r.trigger_metadata.clone()),
        actions: r
            .actions
            .iter()
            .map(|a| {
                let mut metadata = a.get("metadata").cloned().unwrap_or(Value::Null);
                let channel = metadata
                    .as_object_mut()
                    .and_then(|m| m.remove("channel_id"))
                    .and_then(|c| c.as_str().and_then(|c| c.parse::<u64>().ok()))
                    .and_then(|c| channel_ids.get(&c).copied());
                AutoModActionDoc {
                    kind: a
                        .get("type")
                        .and_then(Value::as_i64)
                        .and_then(|k| i16::try_from(k).ok())
                        .unwrap_or(0),
                    metadata: canonical_value(if metadata.is_object() {
                        metadata
                    } else {
                        Value::Object(Default::default())
                    }),
                    channel,
                }
            })
            .collect(),
        enabled: r.enabled,
        exempt_roles: local(&r.exempt_roles, role_ids),
        exempt_channels: local(&r.exempt_channels, channel_ids),
    }
}

fn settings_doc(
    s: &SettingsState,
    local_channel: &impl Fn(Option<u64>) -> Option<u32>,
) -> SettingsDoc {
    SettingsDoc {
        name: s.name.clone(),
        description: s.description.clone(),
        icon: s.icon.clone(),
        banner: s.banner.clone(),
        splash: s.splash.clone(),
        discovery_splash: s.discovery_splash.clone(),
        verification_level: s.verification_level,
        default_message_notifications: s.default_message_notifications,
        explicit_content_filter: s.explicit_content_filter,
        mfa_level: s.mfa_level,
        afk_channel: local_channel(s.afk_channel_id),
        afk_timeout: s.afk_timeout,
        system_channel: local_channel(s.system_channel_id),
        system_channel_flags: s.system_channel_flags,
        rules_channel: local_channel(s.rules_channel_id),
        public_updates_channel: local_channel(s.public_updates_channel_id),
        safety_alerts_channel: local_channel(s.safety_alerts_channel_id),
        preferred_locale: s.preferred_locale.clone(),
        premium_progress_bar_enabled: s.premium_progress_bar_enabled,
        premium_tier: s.premium_tier,
        features: s.features.clone(),
        vanity_url_code: s.vanity_url_code.clone(),
    }
}

/// Message types a replay can post again: default, reply, slash-command and context-menu
/// answers. Joins, boosts, pin notices and other system messages are Discord's to make.
const REPLAYABLE_KINDS: [u64; 4] = [0, 19, 20, 23];

/// The name a message was shown with: server nickname, else display name, else username.
fn author_name(m: &Value) -> Option<String> {
    let author = m.get("author")?;
    let nick = m.pointer("/member/nick").and_then(Value::as_str);
    let name = nick
        .or_else(|| author.get("global_name").and_then(Value::as_str))
        .or_else(|| author.get("username").and_then(Value::as_str))?;
    let name: String = name.chars().take(80).collect();
    (!name.trim().is_empty()).then_some(name)
}

/// The author's avatar on Discord's CDN: their own (animated ones as GIF), else Discord's
/// default avatar for their id.
pub fn avatar_url(user: u64, hash: Option<&str>) -> String {
    match hash {
        Some(h) if !h.is_empty() => {
            let ext = if h.starts_with("a_") { "gif" } else { "png" };
            format!("https://cdn.discordapp.com/avatars/{user}/{h}.{ext}")
        }
        _ => format!(
            "https://cdn.discordapp.com/embed/avatars/{}.png",
            (user >> 22) % 6
        ),
    }
}

/// A rich embed as a webhook takes it: the fields Discord fills in itself (type, proxies,
/// sizes, video, provider) left out. `None`: not a rich embed (a link preview Discord makes
/// again from the text).
fn clean_embed(e: &Value) -> Option<Value> {
    let obj = e.as_object()?;
    if obj.get("type").and_then(Value::as_str).unwrap_or("rich") != "rich" {
        return None;
    }
    let pick = |v: &Value, keys: &[&str]| -> Option<Value> {
        let o = v.as_object()?;
        let kept: serde_json::Map<String, Value> = keys
            .iter()
            .filter_map(|k| o.get(*k).map(|x| ((*k).to_owned(), x.clone())))
            .filter(|(_, x)| !x.is_null())
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    let mut out = serde_json::Map::new();
    for k in ["title", "description", "url", "timestamp", "color"] {
        if let Some(v) = obj.get(k).filter(|v| !v.is_null()) {
            out.insert(k.to_owned(), v.clone());
        }
    }
    let parts: [(&str, &[&str]); 5] = [
        ("footer", &["text", "icon_url"]),
        ("image", &["url"]),
        ("thumbnail", &["url"]),
        ("author", &["name", "url", "icon_url"]),
        ("fields", &[]),
    ];
    for (k, keys) in parts {
        let Some(v) = obj.get(k) else { continue };
        let kept = if k == "fields" {
            v.as_array().map(|fs| {
                Value::Array(
                    fs.iter()
                        .filter_map(|f| pick(f, &["name", "value", "inline"]))
                        .collect(),
                )
            })
        } else {
            pick(v, keys)
        };
        if let Some(kept) = kept {
            out.insert(k.to_owned(), kept);
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// A message as Discord gives it, turned into what a replay posts again, with the URLs of
/// its attachments (beside `files`, in order; their bytes are fetched by the caller). `None`:
/// a system message, or nothing a webhook could post (no text, embed or file).
pub fn message_doc(m: &Value) -> Option<(MessageDoc, Vec<String>)> {
    let kind = m.get("type").and_then(Value::as_u64).unwrap_or(0);
    if !REPLAYABLE_KINDS.contains(&kind) {
        return None;
    }
    let id = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|s| s.parse::<u64>().ok())
    };
    let original_id = id(m.get("id"))?;
    let author_id = id(m.pointer("/author/id"))?;
    let content: String = m
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .take(2000)
        .collect();
    let embeds: Vec<Value> = m
        .get("embeds")
        .and_then(Value::as_array)
        .map(|es| es.iter().filter_map(clean_embed).take(10).collect())
        .unwrap_or_default();
    let mut files = Vec::new();
    let mut urls = Vec::new();
    for a in m
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(10)
    {
        let (Some(name), Some(url)) = (
            a.get("filename").and_then(Value::as_str),
            a.get("url").and_then(Value::as_str),
        ) else {
            continue;
        };
        files.push(FileDoc {
            filename: name.chars().take(260).collect(),
            size: a.get("size").and_then(Value::as_u64).unwrap_or(0),
            data: None,
        });
        urls.push(url.to_owned());
    }
    if content.is_empty() && embeds.is_empty() && files.is_empty() {
        return None;
    }
    let avatar = avatar_url(
        author_id,
        m.pointer("/author/avatar").and_then(Value::as_str),
    );
    Some((
        MessageDoc {
            original_id,
            author_id,
            author: author_name(m)?,
            avatar,
            content,
            embeds,
            files,
            pinned: m.get("pinned").and_then(Value::as_bool).unwrap_or(false),
        },
        urls,
    ))
}

#[cfg(test)]
mod message_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_message_keeps_its_text_its_authors_nickname_and_avatar_and_its_pin() {
        let m = json!({
            "id": "500", "type": 19, "content": "hello", "pinned": true,
            "author": { "id": "42", "username": "ann", "global_name": "Ann", "avatar": "a_ff" },
            "member": { "nick": "Annie" },
            "attachments": [{ "filename": "a.png", "size": 3, "url": "https://cdn/x/a.png" }],
            "embeds": [
                { "type": "rich", "title": "T", "image": { "url": "u", "proxy_url": "p", "width": 3 } },
                { "type": "link", "url": "https://example.com" }
            ]
        });
        let (doc, urls) = message_doc(&m).expect("a replayable message");
        assert_eq!(doc.author, "Annie");
        assert_eq!(doc.avatar, "https://cdn.discordapp.com/avatars/42/a_ff.gif");
        assert!(doc.pinned);
        assert_eq!(urls, vec!["https://cdn/x/a.png".to_owned()]);
        assert_eq!(doc.files[0].filename, "a.png");
        assert_eq!(
            doc.embeds,
            vec![json!({ "title": "T", "image": { "url": "u" } })],
            "the link preview is Discord's to make again; proxies and sizes are left out"
        );
    }

    #[test]
    fn system_and_empty_messages_are_not_kept() {
        let join = json!({ "id": "1", "type": 7, "content": "", "author": { "id": "2", "username": "b" } });
        assert!(message_doc(&join).is_none());
        let empty = json!({ "id": "1", "type": 0, "content": "", "author": { "id": "2", "username": "b" } });
        assert!(message_doc(&empty).is_none());
    }

    #[test]
    fn an_author_without_an_avatar_gets_discords_default_one() {
        assert_eq!(
            avatar_url(7 << 22, None),
            "https://cdn.discordapp.com/embed/avatars/1.png"
        );
    }
}
