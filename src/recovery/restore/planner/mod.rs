//! Purpose: the restore planner — a pure diff of a snapshot document against the current guild
//! (live sync's state) into a [`Plan`]: objects matched by original id while they exist, else
//! by name + type + parent; create / update / delete / keep per role, channel (overwrites inside
//! the create), guild settings and member (role set + nickname); snapshot ids mapped to live
//! ids everywhere (overwrites, parents, the AFK/system/rules channels, member roles); the role
//! hierarchy, managed roles, Discord's caps and the plan's member limit turned into skips and
//! warnings. No I/O: the same inputs always give the same plan (and plan hash).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::model::{
    Action, ActionCounts, Component, Components, Counts, Kind, Mode, Object, PLAN_VERSION, Plan,
    Ref, Risks, Scope, SkipReason, Skipped, Step, Warning,
};
use crate::recovery::snapshot::model::{ChannelDoc, RoleDoc, SnapshotDocument};
use crate::recovery::sync::{ChannelState, GuildState, OverwriteTarget, RoleState};

mod automod;
mod bans;
mod channels;
mod emojis;
mod events;
mod members;
mod messages;
mod onboarding;
mod roles;
mod settings;
mod stickers;
mod threads;
mod webhooks;
mod welcome;

/// Names listed in a warning at most.
const NAMES_SHOWN: usize = 5;
const CATEGORY: i16 = 4;

/// What the planner needs.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub snapshot_id: Uuid,
    pub doc: &'a SnapshotDocument,
    /// The guild now (live sync's mirror).
    pub current: &'a GuildState,
    pub owner_id: u64,
    pub bot_user_id: u64,
    pub mode: Mode,
    pub components: Components,
    pub scope: Option<Scope>,
    /// The plan's member restore limit (`None`: unlimited).
    pub member_limit: Option<u32>,
    /// Members never touched: the punished attackers of open AntiNuke incidents (their
    /// punishment stays whatever the snapshot says).
    pub excluded_members: BTreeSet<u64>,
    /// Members with a live re-join link: with [`Component::Pull`], those not in the server
    /// are added back.
    pub linked: BTreeSet<u64>,
}

impl<'a> PlanInput<'a> {
    /// Every component in `mode`, without a scope, a member limit, exclusions or links.
    pub fn everything(
        doc: &'a SnapshotDocument,
        current: &'a GuildState,
        owner_id: u64,
        bot_user_id: u64,
        mode: Mode,
    ) -> Self {
        Self {
            snapshot_id: Uuid::nil(),
            doc,
            current,
            owner_id,
            bot_user_id,
            mode,
            components: Components::all(),
            scope: None,
            member_limit: None,
            excluded_members: BTreeSet::new(),
            linked: BTreeSet::new(),
        }
    }
}

/// Plans `doc` onto a server that has nothing but @everyone, with every component, in both
/// modes (the `snapshot_import` fuzz target's entry: a crafted document must plan without a
/// panic; the plan is dropped).
#[doc(hidden)]
pub fn fuzz_plan_onto_empty(doc: &SnapshotDocument) {
    let settings = crate::recovery::sync::SettingsState::named(&doc.settings.name);
    let current = GuildState {
        guild_id: doc.guild_id,
        as_of: chrono::Utc::now(),
        settings: Some(settings.normalized()),
        roles: vec![RoleState::plain(doc.guild_id, "@everyone", 0, 0)],
        channels: Vec::new(),
        members: Vec::new(),
        bans: Some(Vec::new()),
        threads: Vec::new(),
    };
    for mode in [Mode::Merge, Mode::Mirror] {
        let planned = plan(&PlanInput::everything(doc, &current, 1, 2, mode));
        let _ = planned.dependencies();
        let _ = planned.hash();
    }
}

/// A role's place in Discord's hierarchy: higher position first, then lower id.
type Rank = (i32, Reverse<u64>);

fn rank(r: &RoleState) -> Rank {
    (r.position, Reverse(r.discord_role_id))
}

/// Builds the plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    Planner::new(input).run()
}

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    /// Members left alone because they are punished attackers (names).
    punished: Vec<String>,
    doc: &'a SnapshotDocument,
    cur: &'a GuildState,
    steps: Vec<Action>,
    counts: Counts,
    warnings: Vec<Warning>,
    skipped: Vec<Skipped>,
    /// Roles the plan makes exist: matched (local -> live) and created (local).
    role_live: BTreeMap<u32, u64>,
    role_created: BTreeSet<u32>,
    channel_live: BTreeMap<u32, u64>,
    channel_created: BTreeSet<u32>,
    /// Live roles the bot cannot manage (at or above its highest role).
    bot_top: Rank,
    above_bot_names: Vec<String>,
    above_bot: usize,
    missing_targets: usize,
    deleted_roles: HashSet<u64>,
    /// Images the snapshot did not keep (their owner's name): not restored, reported.
    unrestorable_pictures: Vec<String>,
}

impl<'a> Planner<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let cur = input.current;
        let bot_roles: HashSet<u64> = cur
            .members
            .iter()
            .find(|m| m.discord_user_id == input.bot_user_id)
            .map(|m| m.role_ids.iter().copied().collect())
            .unwrap_or_default();
        let bot_top = if cur
            .members
            .iter()
            .any(|m| m.discord_user_id == input.bot_user_id)
        {
            cur.roles
                .iter()
                .filter(|r| bot_roles.contains(&r.discord_role_id))
                .map(rank)
                .max()
                .unwrap_or((0, Reverse(cur.guild_id)))
        } else {
            // The bot's roles are unknown: let Discord decide at execution.
            (i32::MAX, Reverse(0))
        };
        Self {
            input,
            doc: input.doc,
            cur,
            steps: Vec::new(),
            counts: Counts::default(),
            warnings: Vec::new(),
            skipped: Vec::new(),
            punished: Vec::new(),
            role_live: BTreeMap::new(),
            role_created: BTreeSet::new(),
            channel_live: BTreeMap::new(),
            channel_created: BTreeSet::new(),
            bot_top,
            above_bot_names: Vec::new(),
            above_bot: 0,
            missing_targets: 0,
            deleted_roles: HashSet::new(),
            unrestorable_pictures: Vec::new(),
        }
    }

    fn has(&self, c: Component) -> bool {
        self.input.components.has(c)
    }

    fn in_scope_role(&self, id: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.roles.contains(&id))
    }

    fn in_scope_channel(&self, id: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.channels.contains(&id))
    }

    fn in_scope_member(&self, id: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.members.contains(&id))
    }

    fn manageable(&self, r: &RoleState) -> bool {
        rank(r) < self.bot_top
    }

    fn skip(&mut self, kind: Kind, name: &str, reason: SkipReason) {
        if reason == SkipReason::AboveBot {
            self.above_bot += 1;
            if self.above_bot_names.len() < NAMES_SHOWN
                && !self.above_bot_names.iter().any(|n| n == name)
            {
                self.above_bot_names.push(name.to_owned());
            }
        }
        self.skipped.push(Skipped {
            kind,
            name: name.to_owned(),
            reason,
        });
    }

    /// A snapshot role as a reference the restore can use, if it will exist.
    fn role_ref(&self, local: u32) -> Option<Ref> {
        (self.role_live.contains_key(&local) || self.role_created.contains(&local))
            .then_some(Ref::L(local))
    }

    /// What a picture becomes: `Some(None)` none (`hash` is none), `Some(Some(data URI))` the
    /// image the snapshot kept under `key`, `None` when it kept none.
    fn picture(&self, key: &str, hash: &Option<String>) -> Option<Option<String>> {
        if hash.is_none() {
            return Some(None);
        }
        let data = self
            .doc
            .pictures
            .get(key)
            .and_then(|h| self.doc.images.get(h))?;
        let kind = if hash.as_deref().is_some_and(|h| h.starts_with("a_")) {
            "gif"
        } else {
            "png"
        };
        Some(Some(format!("data:image/{kind};base64,{data}")))
    }

    fn channel_ref(&self, local: u32) -> Option<Ref> {
        (self.channel_live.contains_key(&local) || self.channel_created.contains(&local))
            .then_some(Ref::L(local))
    }

    fn run(mut self) -> Plan {
        if self.doc.guild_id != self.cur.guild_id {
            self.warnings.push(Warning::ForeignSnapshot);
        }
        let mut role_actions = self.match_roles();
        let (channel_actions, channel_positions) = self.match_channels();
        let settings = self.settings();
        let members = self.members();
        let bans = self.bans();
        let emojis = self.emojis();
        let stickers = self.stickers();
        let automod = self.automod();
        let threads = self.threads();
        let events = self.events();
        let welcome = self.welcome();
        let onboarding = self.onboarding();
        let webhooks = self.webhooks();
        let messages = self.messages();
        let grants = std::mem::take(&mut role_actions.grants);

        // Step order = priority inside a lane: deletes, creates (most needed first), updates,
        // positions, settings, members, and the grants last.
        self.steps.extend(role_actions.deletes);
        self.steps.extend(channel_actions.deletes);
        self.steps.extend(role_actions.creates);
        self.steps.extend(role_actions.updates);
        self.steps.extend(channel_actions.creates);
        self.steps.extend(channel_actions.updates);
        self.steps.extend(role_actions.positions);
        self.steps.extend(channel_positions);
        self.steps.extend(settings);
        self.steps.extend(members);
        self.steps.extend(bans);
        self.steps.extend(emojis);
        self.steps.extend(stickers);
        self.steps.extend(automod);
        self.steps.extend(threads);
        self.steps.extend(events);
        self.steps.extend(welcome);
        self.steps.extend(onboarding);
        self.steps.extend(webhooks);
        self.steps.extend(messages);
        self.steps.extend(grants);
        let risks = self.risks();

        if self.above_bot > 0 {
            self.warnings.push(Warning::AboveBot {
                count: self.above_bot,
                names: self.above_bot_names.clone(),
            });
        }
        if !self.unrestorable_pictures.is_empty() {
            self.warnings.push(Warning::PicturesMissing {
                names: std::mem::take(&mut self.unrestorable_pictures),
            });
        }
        if self.missing_targets > 0 {
            self.warnings.push(Warning::MissingTargets {
                count: self.missing_targets,
            });
        }
        let roles = self
            .doc
            .roles
            .iter()
            .map(|r| Object {
                local: r.id,
                original: r.original_id,
                name: r.name.clone(),
            })
            .collect();
        let channels = self
            .doc
            .channels
            .iter()
            .map(|c| Object {
                local: c.id,
                original: c.original_id,
                name: c.name.clone(),
            })
            .collect();
        let mut plan = Plan {
            version: PLAN_VERSION,
            guild_id: self.cur.guild_id,
            snapshot_id: self.input.snapshot_id,
            snapshot_guild_id: self.doc.guild_id,
            mode: self.input.mode,
            components: self.input.components.clone(),
            scope: self.input.scope.clone(),
            roles,
            channels,
            matched_roles: self
                .role_live
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect(),
            matched_channels: self
                .channel_live
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect(),
            steps: self
                .steps
                .into_iter()
                .zip(0u32..)
                .map(|(action, id)| Step { id, action })
                .collect(),
            counts: self.counts,
            warnings: self.warnings,
            skipped: self.skipped,
            risks,
            roles_delete_first: role_actions.delete_first,
            channels_delete_first: channel_actions.delete_first,
            eta_seconds: 0,
        };
        plan.eta_seconds = plan.estimate().as_secs();
        plan
    }

    // ------------------------------------------------------------------ risks

    /// What the steps would grant or delete that an attacker could abuse, by name.
    fn risks(&self) -> Risks {
        use crate::recovery::antinuke::model::perm::DANGEROUS;
        let live_perms: HashMap<u64, u64> = self
            .cur
            .roles
            .iter()
            .map(|r| (r.discord_role_id, r.permissions as u64))
            .collect();
        let doc_role: HashMap<u32, &RoleDoc> = self.doc.roles.iter().map(|r| (r.id, r)).collect();
        let role_name = |l: u32| {
            doc_role
                .get(&l)
                .map_or_else(|| l.to_string(), |r| r.name.clone())
        };
        let now_of = |l: u32| {
            self.role_live
                .get(&l)
                .and_then(|live| live_perms.get(live))
                .copied()
                .unwrap_or(0)
        };
        let mut risks = Risks::default();
        let mut gaining: BTreeSet<u32> = BTreeSet::new();
        for step in &self.steps {
            match step {
                Action::RoleGrant { role, permissions }
                    if permissions & DANGEROUS & !now_of(*role) != 0 && gaining.insert(*role) =>
                {
                    risks.roles.push(role_name(*role));
                }
                Action::RoleCreate { role, fields } | Action::RoleUpdate { role, fields, .. }
                    if fields
                        .permissions
                        .is_some_and(|p| p & DANGEROUS & !now_of(*role) != 0)
                        && gaining.insert(*role) =>
                {
                    risks.roles.push(role_name(*role));
                }
                Action::RoleDelete { name, .. } | Action::ChannelDelete { name, .. } => {
                    risks.deletions.push(name.clone());
                }
                Action::Unban { name, .. } => risks.unbans.push(name.clone()),
                Action::EmojiDelete { name, .. } => risks.emoji_deletions.push(format!(":{name}:")),
                Action::StickerDelete { name, .. } => risks.sticker_deletions.push(name.clone()),
                Action::AutoModDelete { name, .. } => risks.automod_deletions.push(name.clone()),
                Action::ThreadDelete { name, .. } => risks.thread_deletions.push(name.clone()),
                Action::EventDelete { name, .. } => risks.event_deletions.push(name.clone()),
                Action::WebhookDelete { name, .. } => risks.webhook_deletions.push(name.clone()),
                Action::ChannelCreate { fields, .. } | Action::ChannelUpdate { fields, .. } => {
                    let live = match step {
                        Action::ChannelUpdate { live, .. } => Some(*live),
                        _ => None,
                    };
                    let before: u64 = live
                        .and_then(|l| self.cur.channels.iter().find(|c| c.discord_channel_id == l))
                        .map(|c| c.overwrites.iter().fold(0u64, |a, o| a | o.allow as u64))
                        .unwrap_or(0);
                    let allows = fields
                        .overwrites
                        .iter()
                        .flatten()
                        .fold(0u64, |a, o| a | o.allow);
                    if allows & DANGEROUS & !before != 0 {
                        risks.channels.push(
                            fields
                                .name
                                .clone()
                                .unwrap_or_else(|| live.map(|l| l.to_string()).unwrap_or_default()),
                        );
                    }
                }
                _ => {}
            }
        }
        // Members receiving a role that is (or becomes) dangerous.
        let dangerous = |r: &Ref| match r {
            Ref::L(l) => doc_role
                .get(l)
                .is_some_and(|d| (d.permissions | now_of(*l)) & DANGEROUS != 0),
            Ref::D(live) => live_perms.get(live).is_some_and(|p| p & DANGEROUS != 0),
        };
        let current: HashMap<u64, &crate::member::MemberState> = self
            .cur
            .members
            .iter()
            .map(|m| (m.discord_user_id, m))
            .collect();
        for step in &self.steps {
            let Action::Member {
                user,
                roles: Some(roles),
                ..
            } = step
            else {
                continue;
            };
            let held: BTreeSet<u64> = current
                .get(user)
                .map(|m| m.role_ids.iter().copied().collect())
                .unwrap_or_default();
            let given: Vec<String> = roles
                .iter()
                .filter(|r| dangerous(r))
                .filter(|r| match r {
                    Ref::L(l) => self
                        .role_live
                        .get(l)
                        .is_none_or(|live| !held.contains(live)),
                    Ref::D(live) => !held.contains(live),
                })
                .map(|r| match r {
                    Ref::L(l) => role_name(*l),
                    Ref::D(live) => self
                        .cur
                        .roles
                        .iter()
                        .find(|x| x.discord_role_id == *live)
                        .map_or_else(|| live.to_string(), |x| x.name.clone()),
                })
                .collect();
            if !given.is_empty() {
                let name = current.get(user).map_or_else(
                    || user.to_string(),
                    |m| m.global_name.clone().unwrap_or_else(|| m.username.clone()),
                );
                risks.members.push(format!("{name} ({})", given.join(", ")));
            }
        }
        risks.punished = self.punished.clone();
        risks
    }

    // ------------------------------------------------------------------ roles
}

/// Totals for a kind (used by the preview).
pub fn total(c: &ActionCounts) -> usize {
    c.create + c.update + c.delete + c.keep + c.skip
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    mod props;

    use super::super::model::{OverwriteFor, OverwriteSpec, perms};
    use super::*;
    use crate::member::MemberState;
    use crate::recovery::sync::{AutoModRuleState, OverwriteState, SettingsState};

    const GUILD: u64 = 1000;
    const BOT: u64 = 9;
    const OWNER: u64 = 8;

    fn role(id: u64, name: &str, position: i32, permissions: i64) -> RoleState {
        RoleState::plain(id, name, position, permissions)
    }

    fn channel(id: u64, kind: i16, name: &str, parent: Option<u64>, position: i32) -> ChannelState {
        ChannelState {
            discord_channel_id: id,
            kind,
            name: name.into(),
            parent_id: parent,
            position,
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

    fn member(id: u64, roles: &[u64], nick: Option<&str>) -> MemberState {
        MemberState {
            discord_user_id: id,
            username: format!("user{id}"),
            global_name: None,
            nick: nick.map(str::to_owned),
            role_ids: roles.to_vec(),
            is_bot: id == BOT,
            joined_at: None,
        }
    }

    /// @everyone, Members (1), Mods (2, dangerous), Umbra's managed role (3), Founders (4,
    /// above the bot); a category with a text channel overwriting Members; members.
    fn guild() -> GuildState {
        let mut bot = role(30, "Umbra", 3, 8);
        bot.managed = true;
        bot.tags = Some(serde_json::json!({ "bot_id": BOT.to_string() }));
        let mut text = channel(200, 0, "chat", Some(100), 1);
        text.overwrites = vec![OverwriteState {
            target_id: 10,
            target: OverwriteTarget::Role,
            allow: 1024,
            deny: 0,
        }];
        GuildState {
            guild_id: GUILD,
            as_of: Utc::now(),
            settings: Some(
                SettingsState {
                    verification_level: 1,
                    system_channel_id: Some(200),
                    automod: None,
                    events: None,
                    webhooks: None,
                    ..SettingsState::named("G")
                }
                .normalized(),
            ),
            roles: vec![
                role(GUILD, "@everyone", 0, 1024),
                role(10, "Members", 1, 2048),
                role(20, "Mods", 2, 8192 | 2),
                bot,
                role(40, "Founders", 4, 8),
            ],
            channels: vec![channel(100, 4, "Info", None, 0), text],
            members: vec![
                member(OWNER, &[40], None),
                member(BOT, &[30], None),
                member(51, &[10], Some("one")),
                member(52, &[10, 20], None),
            ],
            bans: None,
            threads: Vec::new(),
        }
        .sorted()
    }

    fn doc_of(state: &GuildState) -> SnapshotDocument {
        SnapshotDocument::from_state(state).expect("settings present")
    }

    fn input<'a>(doc: &'a SnapshotDocument, cur: &'a GuildState, mode: Mode) -> PlanInput<'a> {
        PlanInput::everything(doc, cur, OWNER, BOT, mode)
    }

    fn actions(p: &Plan) -> Vec<&Action> {
        p.steps.iter().map(|s| &s.action).collect()
    }

    /// Deletes every role and channel a wipe can, as Discord would (members lose the roles).
    fn wiped(mut g: GuildState) -> GuildState {
        g.roles
            .retain(|r| r.discord_role_id == GUILD || r.managed || r.name == "Founders");
        g.channels.clear();
        let kept: HashSet<u64> = g.roles.iter().map(|r| r.discord_role_id).collect();
        for m in &mut g.members {
            m.role_ids.retain(|r| kept.contains(r));
        }
        if let Some(s) = &mut g.settings {
            s.system_channel_id = None;
        }
        g
    }

    fn ban(user: u64, reason: Option<&str>) -> crate::member::BanState {
        crate::member::BanState {
            discord_user_id: user,
            username: format!("user{user}"),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn missing_bans_come_back_with_their_reason_and_mirror_lifts_new_ones_but_never_the_attackers()
    {
        let mut then = guild();
        then.bans = Some(vec![ban(900, Some("spam")), ban(901, None)]);
        let doc = doc_of(&then);
        let mut now = guild();
        // 900 was unbanned; 902 and the punished attacker 903 were banned since.
        now.bans = Some(vec![ban(901, None), ban(902, None), ban(903, None)]);
        let merge = plan(&input(&doc, &now, Mode::Merge));
        assert_eq!(
            actions(&merge),
            vec![&Action::Ban {
                user: 900,
                name: "user900".into(),
                reason: Some("spam".into())
            }]
        );
        assert_eq!((merge.counts.bans.create, merge.counts.bans.keep), (1, 1));
        let mut mirror_in = input(&doc, &now, Mode::Mirror);
        mirror_in.excluded_members = BTreeSet::from([903]);
        let mirror = plan(&mirror_in);
        assert!(actions(&mirror).contains(&&Action::Unban {
            user: 902,
            name: "user902".into()
        }));
        assert_eq!(mirror.counts.bans.delete, 1, "never the punished attacker");
        assert_eq!(mirror.risks.unbans, vec!["user902".to_owned()]);
        assert!(
            mirror
                .skipped
                .iter()
                .any(|s| s.kind == Kind::Ban && s.reason == SkipReason::Punished)
        );
        // A scope (AntiNuke) touches only the users in it, whatever the mode.
        let mut scoped_in = input(&doc, &now, Mode::Merge);
        scoped_in.scope = Some(Scope {
            bans: BTreeSet::from([902]),
            ..Scope::default()
        });
        let scoped = plan(&scoped_in);
        assert_eq!(
            actions(&scoped),
            vec![&Action::Unban {
                user: 902,
                name: "user902".into()
            }]
        );
    }

    fn emoji(id: u64, name: &str, roles: &[u64]) -> crate::recovery::sync::EmojiState {
        crate::recovery::sync::EmojiState {
            id,
            name: name.into(),
            roles: roles.to_vec(),
            animated: false,
        }
    }

    #[test]
    fn deleted_emojis_are_uploaded_from_the_snapshots_image_and_a_scope_limits_them() {
        let mut then = guild();
        if let Some(s) = &mut then.settings {
            s.emojis = vec![
                emoji(700, "wave", &[10]),
                emoji(701, "gone", &[]),
                emoji(702, "lost", &[]),
            ];
        }
        let mut doc = doc_of(&then);
        // Images kept for two of the three.
        doc.images.insert("aa".into(), "AAAA".into());
        if let Some(list) = &mut doc.emojis {
            list[0].image = Some("aa".into());
            list[1].image = Some("aa".into());
        }
        let mut now = guild();
        if let Some(s) = &mut now.settings {
            s.emojis = vec![emoji(700, "renamed", &[]), emoji(703, "spam", &[])];
        }
        let p = plan(&input(&doc, &now, Mode::Mirror));
        let a = actions(&p);
        assert!(
            a.contains(&&Action::EmojiUpdate {
                live: 700,
                name: "wave".into(),
                roles: vec![Ref::L(
                    doc.roles
                        .iter()
                        .find(|r| r.original_id == 10)
                        .map(|r| r.id)
                        .unwrap_or(0)
                )],
            }),
            "{a:#?}"
        );
        assert!(a.iter().any(|x| matches!(x, Action::EmojiCreate { emoji: 701, image, .. } if image == "data:image/png;base64,AAAA")));
        assert!(a.contains(&&Action::EmojiDelete {
            live: 703,
            name: "spam".into()
        }));
        assert_eq!(
            (
                p.counts.emojis.create,
                p.counts.emojis.update,
                p.counts.emojis.delete,
                p.counts.emojis.skip
            ),
            (1, 1, 1, 1)
        );
        assert!(
            p.warnings
                .iter()
                .any(|w| matches!(w, Warning::EmojiImages { count: 1, .. }))
        );
        assert_eq!(p.risks.emoji_deletions, vec![":spam:".to_owned()]);
        // AntiNuke's scope: only the emoji the attacker deleted.
        let mut scoped = input(&doc, &now, Mode::Mirror);
        scoped.scope = Some(Scope {
            emojis: BTreeSet::from([701]),
            ..Scope::default()
        });
        scoped.components = Components::of(&[Component::Emojis]).unwrap_or_else(Components::all);
        let p = plan(&scoped);
        assert_eq!(p.steps.len(), 1, "{:#?}", p.steps);
        assert!(matches!(
            p.steps[0].action,
            Action::EmojiCreate { emoji: 701, .. }
        ));
    }

    fn rule(
        id: u64,
        name: &str,
        trigger: i16,
        exempt_role: Option<u64>,
        alert: Option<u64>,
    ) -> AutoModRuleState {
        let mut actions = vec![serde_json::json!({ "type": 1, "metadata": {} })];
        if let Some(c) = alert {
            actions.push(
                serde_json::json!({ "type": 2, "metadata": { "channel_id": c.to_string() } }),
            );
        }
        AutoModRuleState {
            id,
            name: name.into(),
            event_type: 1,
            trigger_type: trigger,
            trigger_metadata: serde_json::json!({ "keyword_filter": ["x"], "regex_patterns": [], "allow_list": [] }),
            actions,
            enabled: true,
            exempt_roles: exempt_role.into_iter().collect(),
            exempt_channels: Vec::new(),
        }
    }

    #[test]
    fn automod_rules_come_back_with_mapped_roles_and_channels_and_mirror_deletes_new_ones() {
        let mut then = guild();
        if let Some(s) = &mut then.settings {
            s.automod = Some(vec![
                rule(800, "Words", 1, Some(10), Some(200)),
                rule(801, "Gone", 1, None, None),
                rule(802, "Mentions", 5, None, None),
            ]);
        }
        let doc = doc_of(&then);
        let mut now = guild();
        if let Some(s) = &mut now.settings {
            // 800 lost its exempt role; 801 was deleted; 802's singleton trigger was replaced
            // by a renamed one; 803 is new.
            s.automod = Some(vec![
                rule(800, "Words", 1, None, Some(200)),
                rule(805, "Renamed", 5, None, None),
                rule(803, "Intruder", 1, None, None),
            ]);
        }
        let p = plan(&input(&doc, &now, Mode::Mirror));
        let a = actions(&p);
        let members = doc.roles.iter().find(|r| r.original_id == 10).map(|r| r.id);
        let text = doc
            .channels
            .iter()
            .find(|c| c.original_id == 200)
            .map(|c| c.id);
        assert!(
            a.iter().any(
                |x| matches!(x, Action::AutoModUpdate { live: 800, body, .. }
                if body.exempt_roles == vec![Ref::L(members.unwrap_or(0))]
                    && body.actions.iter().any(|a| a.channel == Some(Ref::L(text.unwrap_or(0)))))
            ),
            "{a:#?}"
        );
        assert!(
            a.iter()
                .any(|x| matches!(x, Action::AutoModCreate { rule: 801, .. }))
        );
        assert!(a.iter().any(
            |x| matches!(x, Action::AutoModUpdate { live: 805, name, .. } if name == "Mentions")
        ));
        assert!(a.contains(&&Action::AutoModDelete {
            live: 803,
            name: "Intruder".into()
        }));
        assert_eq!(
            (
                p.counts.automod.create,
                p.counts.automod.update,
                p.counts.automod.delete
            ),
            (1, 2, 1)
        );
        assert_eq!(p.risks.automod_deletions, vec!["Intruder".to_owned()]);
        // The delete comes before the create (the guild's rule slots are few).
        let pos = |f: &dyn Fn(&Action) -> bool| p.steps.iter().position(|s| f(&s.action));
        assert!(
            pos(&|x| matches!(x, Action::AutoModDelete { .. }))
                < pos(&|x| matches!(x, Action::AutoModCreate { .. }))
        );
        // Unchanged: nothing to do.
        let same = plan(&input(&doc, &then, Mode::Mirror));
        assert_eq!(same.counts.automod.keep, 3, "{:#?}", same.steps);
        assert!(!same.steps.iter().any(|s| s.kind() == Kind::AutoMod));
        // Unknown on either side: left alone, with a warning.
        let p = plan(&input(&doc_of(&guild()), &now, Mode::Mirror));
        assert!(
            p.warnings
                .contains(&Warning::AutoModUnknown { snapshot: false })
        );
        assert!(!p.steps.iter().any(|s| s.kind() == Kind::AutoMod));
        let p = plan(&input(&doc, &guild(), Mode::Mirror));
        assert!(
            p.warnings
                .contains(&Warning::AutoModUnknown { snapshot: true })
        );
        assert!(!p.steps.iter().any(|s| s.kind() == Kind::AutoMod));
    }

    #[test]
    fn without_both_ban_lists_bans_are_left_alone_with_a_warning() {
        let then = guild();
        let doc = doc_of(&then);
        let mut now = guild();
        now.bans = Some(vec![ban(902, None)]);
        let p = plan(&input(&doc, &now, Mode::Mirror));
        assert!(p.steps.is_empty(), "{:#?}", p.steps);
        assert!(
            p.warnings
                .contains(&Warning::BansUnknown { snapshot: false })
        );
        let mut then = guild();
        then.bans = Some(vec![ban(900, None)]);
        let doc = doc_of(&then);
        let p = plan(&input(&doc, &guild(), Mode::Mirror));
        assert!(p.steps.is_empty(), "{:#?}", p.steps);
        assert!(
            p.warnings
                .contains(&Warning::BansUnknown { snapshot: true })
        );
    }

    #[test]
    fn an_unchanged_guild_plans_nothing_but_keeps() {
        let g = guild();
        let doc = doc_of(&g);
        let p = plan(&input(&doc, &g, Mode::Mirror));
        assert!(p.steps.is_empty(), "{:#?}", p.steps);
        assert_eq!(p.counts.roles.keep, 5);
        assert_eq!(p.counts.channels.keep, 2);
        assert_eq!(p.counts.members.keep, 4);
        assert_eq!(p.counts.settings.keep, 1);
    }

    #[test]
    fn after_a_wipe_everything_is_created_with_mapped_references_and_grants_last() {
        let g = guild();
        let doc = doc_of(&g);
        let cur = wiped(g);
        let p = plan(&input(&doc, &cur, Mode::Merge));
        let a = actions(&p);
        let local = |name: &str| {
            doc.roles
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.id)
                .expect("role")
        };
        let creates: Vec<u32> = a
            .iter()
            .filter_map(|x| match x {
                Action::RoleCreate { role, fields } => {
                    assert_eq!(
                        fields.permissions.map(|p| p & perms::DANGEROUS),
                        Some(0),
                        "created without dangerous permissions"
                    );
                    Some(*role)
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            creates.len(),
            2,
            "Members and Mods; Founders exists, Umbra is managed"
        );
        assert_eq!(
            creates[0],
            local("Members"),
            "the most referenced role first"
        );
        let chat = a
            .iter()
            .find_map(|x| match x {
                Action::ChannelCreate {
                    fields,
                    parent,
                    position,
                    ..
                } if fields.name.as_deref() == Some("chat") => {
                    Some((fields.clone(), *parent, *position))
                }
                _ => None,
            })
            .expect("chat is created");
        let info = doc
            .channels
            .iter()
            .find(|c| c.name == "Info")
            .map(|c| c.id)
            .expect("category");
        assert_eq!(chat.1, Some(Ref::L(info)), "created inside its category");
        assert_eq!(chat.2, 1, "at its final position");
        assert_eq!(
            chat.0.overwrites,
            Some(vec![OverwriteSpec {
                target: OverwriteFor::Role(Ref::L(local("Members"))),
                allow: 1024,
                deny: 0
            }]),
            "overwrites inside the create, on the new role"
        );
        // Members get their whole role set and nickname in one PATCH.
        let m52 = a
            .iter()
            .find_map(|x| match x {
                Action::Member {
                    user: 52, roles, ..
                } => roles.clone(),
                _ => None,
            })
            .expect("member 52 is patched");
        assert_eq!(m52, vec![Ref::L(local("Members")), Ref::L(local("Mods"))]);
        // Settings point at the new channel.
        let settings = a
            .iter()
            .find_map(|x| match x {
                Action::Settings { fields } => Some(fields.clone()),
                _ => None,
            })
            .expect("settings");
        let chat_local = doc.channels.iter().find(|c| c.name == "chat").map(|c| c.id);
        assert_eq!(settings.system_channel, Some(chat_local.map(Ref::L)));
        // One position call; the dangerous permission is granted last.
        assert!(a.iter().any(|x| matches!(x, Action::RolePositions { .. })));
        assert!(matches!(
            a.last(),
            Some(Action::RoleGrant { role, permissions }) if *role == local("Mods") && *permissions == (8192 | 2)
        ));
        let deps = p.dependencies();
        let last = p.steps.len() - 1;
        for s in &p.steps {
            if matches!(
                s.action,
                Action::Member { .. } | Action::RolePositions { .. } | Action::ChannelCreate { .. }
            ) {
                assert!(
                    deps[last].contains(&s.id),
                    "the grant waits for step {}: {deps:?}",
                    s.id
                );
            }
        }
    }

    #[test]
    fn merge_keeps_an_unrelated_channel_and_mirror_deletes_it() {
        let g = guild();
        let doc = doc_of(&g);
        let mut cur = g.clone();
        cur.channels.push(channel(300, 0, "new-stuff", None, 5));
        cur.roles.push(role(60, "Extra", 1, 0));
        let merge = plan(&input(&doc, &cur, Mode::Merge));
        assert!(
            !actions(&merge)
                .iter()
                .any(|a| matches!(a, Action::ChannelDelete { .. } | Action::RoleDelete { .. }))
        );
        let mirror = plan(&input(&doc, &cur, Mode::Mirror));
        let deletes: Vec<String> = actions(&mirror)
            .iter()
            .filter_map(|a| match a {
                Action::ChannelDelete { name, .. } | Action::RoleDelete { name, .. } => {
                    Some(name.clone())
                }
                _ => None,
            })
            .collect();
        assert_eq!(deletes, vec!["Extra".to_owned(), "new-stuff".to_owned()]);
        assert_eq!(mirror.counts.channels.delete, 1);
    }

    #[test]
    fn surviving_objects_are_edited_not_recreated_and_renamed_ones_match_by_id() {
        let g = guild();
        let doc = doc_of(&g);
        let mut cur = g.clone();
        for r in &mut cur.roles {
            if r.discord_role_id == 10 {
                r.name = "Renamed".into();
                r.color = 5;
            }
        }
        for c in &mut cur.channels {
            if c.discord_channel_id == 200 {
                c.topic = Some("spam".into());
                c.overwrites.clear();
            }
        }
        let p = plan(&input(&doc, &cur, Mode::Merge));
        let a = actions(&p);
        assert_eq!(a.len(), 2, "{a:#?}");
        assert!(a.iter().any(|x| matches!(x, Action::RoleUpdate { live: 10, fields, .. } if fields.name.as_deref() == Some("Members") && fields.color == Some(0))));
        assert!(a.iter().any(|x| matches!(x, Action::ChannelUpdate { live: 200, fields, .. } if fields.topic == Some(None) && fields.overwrites.as_ref().is_some_and(|o| o.len() == 1))));
    }

    #[test]
    fn a_deleted_object_is_matched_by_name_type_and_parent() {
        let g = guild();
        let doc = doc_of(&g);
        let mut cur = g.clone();
        // The category and channel were recreated by hand with new ids.
        cur.channels = vec![channel(101, 4, "Info", None, 0), {
            let mut c = channel(201, 0, "chat", Some(101), 1);
            c.overwrites = g.channels[1].overwrites.clone();
            c
        }];
        if let Some(s) = &mut cur.settings {
            s.system_channel_id = Some(201);
        }
        let p = plan(&input(&doc, &cur, Mode::Mirror));
        assert!(p.steps.is_empty(), "{:#?}", p.steps);
        assert_eq!(
            p.matched_channels.values().cloned().collect::<Vec<_>>(),
            vec!["101", "201"]
        );
    }

    #[test]
    fn hierarchy_blocked_and_managed_roles_are_skipped_and_warned() {
        let g = guild();
        let doc = doc_of(&g);
        let mut cur = wiped(g.clone());
        // Founders (above the bot) is gone too, and the owner's nickname changed.
        cur.roles.retain(|r| r.name != "Founders");
        for m in &mut cur.members {
            m.role_ids.retain(|r| *r != 40);
            if m.discord_user_id == OWNER {
                m.nick = Some("boss".into());
            }
        }
        let p = plan(&input(&doc, &cur, Mode::Merge));
        assert!(
            p.skipped
                .iter()
                .any(|s| s.name == "Founders" && s.reason == SkipReason::AboveBot)
        );
        assert!(
            p.skipped
                .iter()
                .any(|s| s.kind == Kind::Member && s.reason == SkipReason::Owner)
        );
        assert!(p.warnings.iter().any(|w| matches!(w, Warning::AboveBot { names, .. } if names.contains(&"Founders".to_owned()))));
        assert!(!actions(&p).iter().any(|a| matches!(a, Action::RoleCreate { fields, .. } if fields.name.as_deref() == Some("Founders"))));
        // An unmanaged role of another bot cannot be created.
        let mut other = g.clone();
        other.roles.retain(|r| !r.managed);
        let doc2 = doc_of(&g);
        let p2 = plan(&input(&doc2, &other, Mode::Merge));
        assert!(p2.skipped.iter().any(|s| s.reason == SkipReason::Managed));
    }

    #[test]
    fn components_and_scope_limit_the_plan_and_the_member_limit_cuts_members() {
        let g = guild();
        let doc = doc_of(&g);
        let cur = wiped(g);
        let mut only_roles = input(&doc, &cur, Mode::Merge);
        only_roles.components = Components::of(&[Component::Roles]).expect("non-empty");
        let p = plan(&only_roles);
        assert!(actions(&p).iter().all(|a| matches!(
            a,
            Action::RoleCreate { .. } | Action::RolePositions { .. } | Action::RoleGrant { .. }
        )));
        let mut limited = input(&doc, &cur, Mode::Merge);
        limited.member_limit = Some(1);
        let p = plan(&limited);
        assert_eq!(
            actions(&p)
                .iter()
                .filter(|a| matches!(a, Action::Member { .. }))
                .count(),
            1
        );
        assert!(
            p.warnings
                .iter()
                .any(|w| matches!(w, Warning::MemberLimit { limit: 1, .. }))
        );
        let mut scoped = input(&doc, &cur, Mode::Mirror);
        scoped.scope = Some(Scope {
            roles: BTreeSet::from([10]),
            ..Scope::default()
        });
        let p = plan(&scoped);
        let creates: Vec<_> = actions(&p)
            .into_iter()
            .filter(|a| {
                matches!(
                    a,
                    Action::RoleCreate { .. }
                        | Action::ChannelCreate { .. }
                        | Action::Member { .. }
                )
            })
            .collect();
        assert_eq!(creates.len(), 1, "{creates:#?}");
    }

    #[test]
    fn a_foreign_snapshot_is_matched_by_name_and_its_everyone_maps_here() {
        let g = guild();
        let mut doc = doc_of(&g);
        doc.guild_id = 4242;
        for r in &mut doc.roles {
            if r.everyone {
                r.original_id = 4242;
            } else {
                r.original_id += 100_000;
            }
        }
        for c in &mut doc.channels {
            c.original_id += 100_000;
        }
        let p = plan(&input(&doc, &g, Mode::Merge));
        assert!(p.warnings.contains(&Warning::ForeignSnapshot));
        assert!(p.steps.is_empty(), "{:#?}", p.steps);
        assert_eq!(p.matched_roles.get(&1).map(String::as_str), Some("1000"));
    }

    #[test]
    fn the_same_inputs_give_the_same_plan_hash() {
        let g = guild();
        let doc = doc_of(&g);
        let cur = wiped(g);
        let a = plan(&input(&doc, &cur, Mode::Mirror));
        let b = plan(&input(&doc, &cur, Mode::Mirror));
        assert_eq!(a.hash().ok(), b.hash().ok());
        assert!(a.eta_seconds >= 1);
    }
}
