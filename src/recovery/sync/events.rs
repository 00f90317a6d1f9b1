//! Purpose: gateway events into live sync's queue.
//!
//! serenity runs every event handler in its own task, so two events can be handled in either
//! order. Its cache, however, is updated in gateway order *before* the handlers are spawned.
//! So each handler reads the object's state from the cache (absent = deleted) and queues it
//! while still holding the cache's guard on the guild: the cache cannot change between the
//! read and the queueing (the shard's next update of that guild waits for the guard, and the
//! handler of that update is spawned after it, so it reads and queues after). Whatever order
//! handlers run in, the last one queued for an object holds its newest state. (Dropping the
//! guard before queueing let a handler preempted in between queue an older state after a newer
//! one: a channel deletion was lost once in a burst of 100.) The database stays the truth; the
//! cache is only the ordered view of the gateway stream.
//!
//! Members are the exception: serenity's cache keeps none (see `discord::members`). Their
//! states are queued by [`SyncService::on_shard_event`], which the shard runner calls for every
//! event in gateway order before handlers are spawned, and which keeps the member index under
//! the same rule (a handler holding a guild's index entry sees no member change of it until it
//! has queued what it read).
//!
//! A full load: GUILD_CREATE queues the whole structure (roles, channels, overwrites, settings)
//! as complete sets; the members come with it for small guilds, else from member chunks
//! (requested here with a nonce); when every chunk arrived the member index's list is the
//! complete set. Current rows missing from a complete set are tombstoned: a reload after a
//! reconnect or a restart is a diff against the tables, never a wipe. The member request of a
//! large guild normally leaves from the shard's event path, before the handler runs (see
//! `SyncService::hook_shard`).

use std::collections::{HashMap, HashSet};
use std::sync::MutexGuard;
use std::time::Instant;

use chrono::Utc;
use poise::serenity_prelude as serenity;
use serenity::FullEvent;

use super::convert;
use super::model::{BanState, SettingsState, ThreadState};
use super::queue::StateChange;
use super::service::{GuildSync, Listed, ListedValue, Load, ShardHook, SyncService};
use crate::discord::members;

impl SyncService {
    /// Handles one gateway event (never awaits: see the module comment).
    pub fn on_event(&self, ctx: &serenity::Context, event: &FullEvent) {
        if let Some(app) = ctx.http.application_id() {
            self.inner
                .own_application
                .store(app.get(), std::sync::atomic::Ordering::Relaxed);
        }
        match event {
            FullEvent::GuildCreate { guild, .. } => self.guild_available(ctx, guild),
            FullEvent::GuildMembersChunk { chunk } => self.members_chunk(chunk),
            FullEvent::GuildUpdate { new_data, .. } => self.settings_changed(ctx, new_data),
            // The cache's lists, not the event's: handlers run in any order, the cache was
            // updated in gateway order (see the module comment).
            FullEvent::GuildStickersUpdate {
                guild_id,
                current_state,
            } => {
                let cached = ctx.cache.guild(*guild_id);
                let stickers: Vec<_> = match &cached {
                    Some(g) => g.stickers.values().map(convert::sticker).collect(),
                    None => current_state.values().map(convert::sticker).collect(),
                };
                self.settings_part(guild_id.get(), |s| s.stickers = stickers);
                drop(cached);
            }
            FullEvent::GuildEmojisUpdate {
                guild_id,
                current_state,
            } => {
                let cached = ctx.cache.guild(*guild_id);
                let emojis: Vec<_> = match &cached {
                    Some(g) => g.emojis.values().map(convert::emoji).collect(),
                    None => current_state.values().map(convert::emoji).collect(),
                };
                self.settings_part(guild_id.get(), |s| s.emojis = emojis);
                drop(cached);
            }
            FullEvent::ThreadCreate { thread } => {
                self.thread_changed(ctx, thread.guild_id, thread.id)
            }
            FullEvent::ThreadUpdate { new, .. } => self.thread_changed(ctx, new.guild_id, new.id),
            FullEvent::ThreadDelete { thread, .. } => {
                self.thread_changed(ctx, thread.guild_id, thread.id)
            }
            FullEvent::ThreadListSync { thread_list_sync } => {
                for t in &thread_list_sync.threads {
                    self.thread_changed(ctx, thread_list_sync.guild_id, t.id);
                }
            }
            FullEvent::AutoModRuleCreate { rule } | FullEvent::AutoModRuleUpdate { rule } => {
                self.load_listed(rule.guild_id.get(), Listed::AutoMod)
            }
            FullEvent::AutoModRuleDelete { rule } => {
                self.load_listed(rule.guild_id.get(), Listed::AutoMod)
            }
            FullEvent::GuildScheduledEventCreate { event }
            | FullEvent::GuildScheduledEventUpdate { event }
            | FullEvent::GuildScheduledEventDelete { event } => {
                self.load_listed(event.guild_id.get(), Listed::Events)
            }
            FullEvent::GuildDelete { incomplete, .. } => {
                self.guild_gone(incomplete.id, incomplete.unavailable)
            }
            FullEvent::GuildRoleCreate { new } => self.role_changed(ctx, new.guild_id, new.id),
            FullEvent::GuildRoleUpdate { new, .. } => self.role_changed(ctx, new.guild_id, new.id),
            FullEvent::GuildRoleDelete {
                guild_id,
                removed_role_id,
                ..
            } => self.role_changed(ctx, *guild_id, *removed_role_id),
            FullEvent::ChannelCreate { channel } => {
                self.channel_changed(ctx, channel.guild_id, channel.id)
            }
            FullEvent::CategoryCreate { category } => {
                self.channel_changed(ctx, category.guild_id, category.id)
            }
            FullEvent::ChannelUpdate { new, .. } => self.channel_changed(ctx, new.guild_id, new.id),
            FullEvent::ChannelDelete { channel, .. } => {
                self.channel_changed(ctx, channel.guild_id, channel.id)
            }
            FullEvent::CategoryDelete { category } => {
                self.channel_changed(ctx, category.guild_id, category.id)
            }
            FullEvent::GuildBanAddition {
                guild_id,
                banned_user,
            } => self.ban_changed(
                guild_id.get(),
                banned_user.id.get(),
                Some(BanState {
                    discord_user_id: banned_user.id.get(),
                    username: banned_user.name.clone(),
                    reason: None,
                }),
            ),
            FullEvent::GuildBanRemoval {
                guild_id,
                unbanned_user,
            } => self.ban_changed(guild_id.get(), unbanned_user.id.get(), None),
            FullEvent::GuildAuditLogEntryCreate { guild_id, entry }
                if matches!(
                    entry.action,
                    serenity::audit_log::Action::Member(serenity::audit_log::MemberAction::BanAdd)
                ) =>
            {
                if let (Some(target), Some(reason)) = (entry.target_id, entry.reason.clone()) {
                    self.enqueue(guild_id.get(), |s| {
                        s.pending.ban_reason(target.get(), reason)
                    });
                }
            }
            // The welcome screen changes with no event of its own: its audit entry tells.
            FullEvent::GuildAuditLogEntryCreate { guild_id, entry } if entry.action.num() == 1 => {
                self.load_listed(guild_id.get(), Listed::Welcome)
            }
            FullEvent::WebhookUpdate { guild_id, .. } => {
                self.load_listed(guild_id.get(), Listed::Webhooks)
            }
            // ONBOARDING_PROMPT_CREATE .. ONBOARDING_UPDATE.
            FullEvent::GuildAuditLogEntryCreate { guild_id, entry }
                if (163..=167).contains(&entry.action.num()) =>
            {
                self.load_listed(guild_id.get(), Listed::Onboarding)
            }
            _ => {}
        }
    }

    /// Follows members on the shard's event path: called by the collector every shard runner
    /// starts with (`ClientBuilder::shard_collector`, see `vendor/README.md`) for each gateway
    /// event, in gateway order, before serenity's cache is updated and any handler runs. Keeps
    /// the member index (`discord::members`) and queues members' states while holding the
    /// guild's index entry, so that a handler queueing a load's completion from the index (it
    /// holds the same entry) is ordered with them. Never awaits.
    ///
    /// `shard` and `generation` name the runner (see [`Self::hook_shard`]).
    pub fn on_shard_event(
        &self,
        shard: serenity::ShardId,
        generation: u64,
        event: &serenity::Event,
    ) {
        use serenity::Event;
        let index = &self.inner.members;
        match event {
            Event::GuildCreate(e) => {
                if let Some(messenger) = self.messenger(shard, generation) {
                    self.request_members_early(&messenger, &e.guild);
                }
                let id = e.guild.id.get();
                let entry = index.guild_or_new(id);
                let mut g = members::lock(&entry);
                g.roles = e.guild.roles.keys().map(|r| r.get()).collect();
                g.members.clear();
                let mut states = Vec::with_capacity(e.guild.members.len());
                for m in e.guild.members.values() {
                    let state = convert::member(id, m, &g.roles);
                    g.set(m.user.id.get(), Some((state.role_ids.clone(), m.user.bot)));
                    states.push(state);
                }
                self.enqueue(id, |s| {
                    // Held until the GUILD_CREATE handler has recorded the guild and queued
                    // its structure: a load's first batch needs both (see `awaiting_guild`).
                    s.awaiting_guild.get_or_insert_with(Instant::now);
                    for m in states {
                        s.pending.member(m.discord_user_id, Some(m));
                    }
                });
                drop(g);
            }
            Event::GuildMembersChunk(e) => {
                let id = e.guild_id.get();
                self.members_seen(id, |roles| {
                    e.members
                        .values()
                        .map(|m| convert::member(id, m, roles))
                        .collect()
                });
            }
            Event::GuildMemberAdd(e) => {
                let id = e.member.guild_id.get();
                self.members_seen(id, |roles| vec![convert::member(id, &e.member, roles)]);
            }
            Event::GuildMemberUpdate(e) => {
                let id = e.guild_id.get();
                self.members_seen(id, |roles| vec![convert::member_updated(id, e, roles)]);
            }
            Event::GuildMemberRemove(e) => {
                let (id, user) = (e.guild_id.get(), e.user.id.get());
                let Some(entry) = index.guild(id) else {
                    return;
                };
                let mut g = members::lock(&entry);
                g.set(user, None);
                self.enqueue(id, |s| s.pending.member(user, None));
                drop(g);
            }
            Event::GuildRoleCreate(e) => {
                if let Some(entry) = index.guild(e.role.guild_id.get()) {
                    members::lock(&entry).roles.insert(e.role.id.get());
                }
            }
            Event::GuildRoleDelete(e) => {
                if let Some(entry) = index.guild(e.guild_id.get()) {
                    members::lock(&entry).role_deleted(e.role_id.get());
                }
            }
            Event::GuildDelete(e) => index.forget(e.guild.id.get()),
            _ => {}
        }
    }

    /// Members the gateway just listed (a chunk, an addition, an update): into the index and
    /// the queue, under the guild's entry (`states` reads the guild's role ids). A guild whose
    /// GUILD_CREATE was not seen is not followed (as with the cache).
    fn members_seen(
        &self,
        guild: u64,
        states: impl FnOnce(&HashSet<u64>) -> Vec<super::model::MemberState>,
    ) {
        let Some(entry) = self.inner.members.guild(guild) else {
            return;
        };
        let mut g = members::lock(&entry);
        let states = states(&g.roles);
        for m in &states {
            g.set(m.discord_user_id, Some((m.role_ids.clone(), m.is_bot)));
        }
        if !states.is_empty() {
            self.enqueue(guild, |s| {
                for m in states {
                    s.pending.member(m.discord_user_id, Some(m));
                }
            });
        }
        drop(g);
    }

    /// Records a new shard runner's messenger (the member requests of its sessions go through
    /// it) and returns the runner's generation; called when the runner is made, before it reads
    /// its first event (`discord::framework::shard_collector`).
    ///
    /// serenity 0.12's shard runner reads the requests queued for it (a member request among
    /// them) only between two gateway messages, and waits up to 500 ms for the next one; a
    /// GUILD_CREATE is often the last message for a while, and its handler runs in a task of
    /// its own, after the runner went back to waiting. So a request made by the handler leaves
    /// up to half a second late. The shard's collector, however, runs inside the runner before
    /// it reads its queue again: it asks for a large guild's member chunks right there
    /// ([`Self::on_shard_event`]), and the GUILD_CREATE handler adopts that request (see
    /// [`GuildSync::awaiting_guild`]).
    pub fn hook_shard(&self, shard: &serenity::ShardMessenger, shard_id: serenity::ShardId) -> u64 {
        let mut hooks = self.hooks();
        let generation = hooks.get(&shard_id.0).map_or(1, |h| h.generation + 1);
        hooks.insert(
            shard_id.0,
            ShardHook {
                generation,
                messenger: shard.clone(),
            },
        );
        generation
    }

    /// The messenger of the runner `generation` of `shard` (`None`: a newer runner replaced it).
    fn messenger(
        &self,
        shard: serenity::ShardId,
        generation: u64,
    ) -> Option<serenity::ShardMessenger> {
        match self.hooks().get(&shard.0) {
            Some(hook) if hook.generation == generation => Some(hook.messenger.clone()),
            _ => None,
        }
    }

    fn hooks(&self) -> MutexGuard<'_, HashMap<u32, ShardHook>> {
        self.inner
            .hooks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// On the shard runner (see [`Self::hook_shard`]): never awaits, never blocks for long.
    fn request_members_early(&self, messenger: &serenity::ShardMessenger, guild: &serenity::Guild) {
        let complete = !guild.large && guild.members.len() as u64 >= guild.member_count;
        if complete {
            return;
        }
        let now = Instant::now();
        let mut map = self.lock();
        let s = map.entry(guild.id.get()).or_default();
        s.awaiting_guild = Some(now);
        s.load = Some(Load::start(guild.id.get(), messenger.clone(), now, true));
        drop(map);
        tracing::trace!(guild = %guild.id, "member chunks requested from the event path");
    }

    fn guild_available(&self, ctx: &serenity::Context, event_guild: &serenity::Guild) {
        let id = event_guild.id.get();
        let cached = ctx.cache.guild(event_guild.id);
        let g: &serenity::Guild = cached.as_deref().unwrap_or(event_guild);
        let roles = convert::role_ids(g);
        let settings = convert::settings(g);
        let g_afk_missing = g.afk_metadata.is_none();
        let role_states = g.roles.values().map(convert::role).collect();
        let channels = g
            .channels
            .values()
            .filter_map(|c| convert::channel(c, &roles))
            .collect();
        // Whether the event listed every member (the cache keeps none: see
        // `discord::members`); their states were queued by the shard's collector.
        let complete =
            !event_guild.large && event_guild.members.len() as u64 >= event_guild.member_count;
        let active_threads: Vec<ThreadState> =
            g.threads.iter().filter_map(convert::thread).collect();
        // Archived threads are read for forum, media and announcement channels (posts and
        // news discussions); a text channel's archived threads are left to Discord.
        let thread_parents: Vec<u64> = g
            .channels
            .values()
            .filter(|c| matches!(u8::from(c.kind), 5 | 15 | 16))
            .map(|c| c.id.get())
            .collect();
        drop(cached);
        let started = Instant::now();
        let no_afk_channel = g_afk_missing;
        // The members as of this event or newer, held until the completion is queued (see the
        // module comment).
        // (Not in the index: the guild went away since; the event's own list, then.)
        let index = self.inner.members.guild(id);
        let indexed = index.as_deref().map(members::lock);
        let present: HashSet<u64> = match &indexed {
            _ if !complete => HashSet::new(),
            Some(g) => g.members.keys().copied().collect(),
            None => event_guild.members.keys().map(|u| u.get()).collect(),
        };
        self.enqueue(id, |s: &mut GuildSync| {
            let mut settings = settings;
            if no_afk_channel && let Some(known) = &s.settings {
                settings.afk_timeout = known.afk_timeout;
            }
            if let Some(known) = &s.settings {
                settings.automod = known.automod.clone();
                settings.events = known.events.clone();
                settings.welcome = known.welcome.clone();
                settings.onboarding = known.onboarding.clone();
                settings.webhooks = known.webhooks.clone();
            }
            s.settings = Some(settings.clone());
            s.pending.full_structure(settings, role_states, channels);
            s.check_first_load = true;
            s.first_load = None;
            // Every chunk of an early request may have come in before this handler ran (the
            // guild is recorded first): the load is complete, nothing to ask again.
            let finished_early = s.awaiting_guild.is_some()
                && s.load.is_none()
                && matches!(
                    s.pending.state,
                    Some(StateChange::Live {
                        early_request: true,
                        ..
                    })
                );
            s.awaiting_guild = None;
            if !finished_early {
                s.pending.state(StateChange::Loading);
            }
            if complete {
                s.load = None;
                s.pending.members_complete(present);
                s.pending.state(StateChange::Live {
                    full_sync_at: Utc::now(),
                    load_started: started,
                    early_request: false,
                });
            } else if finished_early {
                // Nothing left to ask for (see above).
            } else if let Some(load) = s.load.as_mut().filter(|l| l.early && !l.adopted) {
                // Requested from the event path already (see `hook_shard`): adopt it.
                load.adopted = true;
            } else {
                s.load = Some(Load::start(id, ctx.shard.clone(), started, false));
            }
        });
        drop(indexed);
        tracing::debug!(guild = id, complete, "full load of a guild started");
        self.load_bans(id);
        self.load_listed(id, Listed::AutoMod);
        self.load_listed(id, Listed::Events);
        self.load_listed(id, Listed::Welcome);
        self.load_listed(id, Listed::Onboarding);
        self.load_listed(id, Listed::Webhooks);
        self.load_threads(id, active_threads, thread_parents);
    }

    /// A thread event: the thread's state from the cache (absent: deleted), queued, and
    /// remembered over a thread read in progress.
    fn thread_changed(
        &self,
        ctx: &serenity::Context,
        guild: serenity::GuildId,
        thread: serenity::ChannelId,
    ) {
        // The guard is held until the state is queued (see the module comment).
        let g = ctx.cache.guild(guild);
        let state = g.as_ref().and_then(|g| {
            g.threads
                .iter()
                .find(|t| t.id == thread)
                .and_then(convert::thread)
        });
        self.enqueue(guild.get(), |s| {
            if let Some(seen) = &mut s.thread_events {
                seen.insert(thread.get(), state.clone());
            }
            s.pending.thread(thread.get(), state);
        });
        drop(g);
    }

    /// Queues the active threads of a full load and reads the archived ones of `parents`
    /// (they do not come with GUILD_CREATE); when every read succeeded, active and archived
    /// threads together are the complete set (others are tombstoned). Thread events seen
    /// during the read win over it.
    fn load_threads(&self, guild: u64, active: Vec<ThreadState>, parents: Vec<u64>) {
        let mut reading = false;
        self.enqueue(guild, |g| {
            for t in &active {
                g.pending.thread(t.id, Some(t.clone()));
            }
            reading = g.thread_events.is_some();
            if !reading {
                g.thread_events = Some(HashMap::new());
            }
        });
        if reading {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            /// Archived threads read per channel at most (the newest ones).
            const MAX_ARCHIVED: usize = 1000;
            // Never closed; a closed one would only mean reading without waiting.
            let _turn = this.inner.reads.acquire().await.ok();
            let mut all = active;
            let mut complete = true;
            for parent in parents {
                match this.inner.rest.archived_threads(parent, MAX_ARCHIVED).await {
                    Ok(list) => all.extend(list),
                    Err(e) => {
                        complete = false;
                        tracing::warn!(guild, channel = parent, error = %e, "archived threads could not be read; the channel's are not mirrored until the next load");
                    }
                }
            }
            this.enqueue(guild, |s| {
                let seen = s.thread_events.take().unwrap_or_default();
                let mut list: Vec<ThreadState> = all
                    .into_iter()
                    .filter(|t| !seen.contains_key(&t.id))
                    .collect();
                list.extend(seen.into_values().flatten());
                if complete {
                    s.pending.threads_complete(list);
                } else {
                    for t in list {
                        s.pending.thread(t.id, Some(t));
                    }
                }
            });
            this.inner.wake.notify_one();
        });
    }

    /// Emojis and stickers are part of the versioned settings: a change of one list is a new
    /// version of the settings last seen (nothing before the guild's first load).
    fn settings_part(&self, guild: u64, change: impl FnOnce(&mut SettingsState)) {
        self.enqueue(guild, |s| {
            if let Some(known) = &s.settings {
                let mut settings = known.clone();
                change(&mut settings);
                let settings = settings.normalized();
                s.settings = Some(settings.clone());
                s.pending.settings = Some(settings);
            }
        });
    }

    /// A ban event: queued, and remembered over a ban list being fetched.
    fn ban_changed(&self, guild: u64, user: u64, state: Option<BanState>) {
        self.enqueue(guild, |s| {
            if let Some(seen) = &mut s.ban_events {
                seen.insert(user, state.clone());
            }
            s.pending.ban(user, state);
        });
    }

    /// Fetches the whole ban list (bans do not come with GUILD_CREATE) and queues it as the
    /// complete set. Without the Ban Members permission (or after three failures) the guild's
    /// bans stay unknown: snapshots then record no ban list, and a restore leaves bans alone.
    fn load_bans(&self, guild: u64) {
        {
            let mut map = self.lock();
            let g = map.entry(guild).or_default();
            if g.ban_events.is_some() {
                return;
            }
            g.ban_events = Some(HashMap::new());
        }
        let this = self.clone();
        tokio::spawn(async move {
            let _turn = this.inner.reads.acquire().await.ok();
            let mut attempt = 0u32;
            let list = loop {
                attempt += 1;
                match this.inner.rest.bans(guild).await {
                    Ok(list) => break Some(list),
                    Err(e) if attempt >= 3 || e.status() == Some(403) => {
                        tracing::warn!(guild, error = %e, "the ban list could not be read; bans are not mirrored until the next load");
                        break None;
                    }
                    Err(e) => {
                        tracing::debug!(guild, error = %e, "reading the ban list failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(u64::from(attempt)))
                            .await;
                    }
                }
            };
            this.enqueue(guild, |s| {
                let seen = s.ban_events.take().unwrap_or_default();
                if let Some(list) = list {
                    let mut list: Vec<BanState> = list
                        .into_iter()
                        .filter(|(user, ..)| !seen.contains_key(user))
                        .map(|(user, username, reason)| BanState {
                            discord_user_id: user,
                            username,
                            reason,
                        })
                        .collect();
                    list.extend(seen.into_values().flatten());
                    s.pending.bans_complete(list);
                }
            });
            this.inner.wake.notify_one();
        });
    }

    /// Reads a part of the settings that serenity's cache does not follow (AutoMod rules,
    /// scheduled events) and writes it as a new version of the settings; called on a full load
    /// and after each of its events (the whole list is read again: these lists are short and
    /// change rarely, and a read after the change cannot miss it). Reads of one part never
    /// overlap: a change during a read asks for one more. Without the permission to read it
    /// (Manage Server for AutoMod), the part stays unknown (snapshots record none).
    fn load_listed(&self, guild: u64, part: Listed) {
        {
            let mut map = self.lock();
            let g = map.entry(guild).or_default();
            match g.listed_reads.get_mut(&part) {
                Some(again) => {
                    *again = true;
                    return;
                }
                None => {
                    g.listed_reads.insert(part, false);
                }
            }
        }
        let this = self.clone();
        tokio::spawn(async move {
            let _turn = this.inner.reads.acquire().await.ok();
            loop {
                let mut attempt = 0u32;
                let list = loop {
                    attempt += 1;
                    let read = match part {
                        Listed::AutoMod => this
                            .inner
                            .rest
                            .automod_rules(guild)
                            .await
                            .map(ListedValue::AutoMod),
                        Listed::Events => this
                            .inner
                            .rest
                            .scheduled_events(guild)
                            .await
                            .map(ListedValue::Events),
                        Listed::Welcome => this
                            .inner
                            .rest
                            .welcome_screen(guild)
                            .await
                            .map(ListedValue::Welcome),
                        Listed::Onboarding => this
                            .inner
                            .rest
                            .onboarding(guild)
                            .await
                            .map(ListedValue::Onboarding),
                        Listed::Webhooks => this
                            .inner
                            .rest
                            .webhooks(
                                guild,
                                this.inner
                                    .own_application
                                    .load(std::sync::atomic::Ordering::Relaxed),
                            )
                            .await
                            .map(ListedValue::Webhooks),
                    };
                    match read {
                        Ok(list) => break Some(list),
                        Err(e) if attempt >= 3 || e.status() == Some(403) => {
                            tracing::warn!(guild, ?part, error = %e, "a list could not be read; it is not mirrored until the next change or load");
                            break None;
                        }
                        Err(e) => {
                            tracing::debug!(guild, ?part, error = %e, "reading a list failed; retrying");
                            tokio::time::sleep(std::time::Duration::from_secs(u64::from(attempt)))
                                .await;
                        }
                    }
                };
                let mut again = false;
                this.enqueue(guild, |s| {
                    again = s.listed_reads.get(&part) == Some(&true);
                    if again {
                        s.listed_reads.insert(part, false);
                    } else {
                        s.listed_reads.remove(&part);
                    }
                    if let (Some(list), Some(known)) = (list, &s.settings) {
                        let mut settings = known.clone();
                        match list {
                            ListedValue::AutoMod(rules) => settings.automod = Some(rules),
                            ListedValue::Events(events) => settings.events = Some(events),
                            ListedValue::Welcome(w) => settings.welcome = Some(w),
                            ListedValue::Onboarding(o) => settings.onboarding = Some(o),
                            ListedValue::Webhooks(w) => settings.webhooks = Some(w),
                        }
                        let settings = settings.normalized();
                        s.settings = Some(settings.clone());
                        s.pending.settings = Some(settings);
                    }
                });
                this.inner.wake.notify_one();
                if !again {
                    return;
                }
            }
        });
    }

    /// A member chunk: its members' states were queued by the shard's collector; here the
    /// load learns that the chunk came, and with the last one the member list is complete.
    fn members_chunk(&self, chunk: &serenity::GuildMembersChunkEvent) {
        let id = chunk.guild_id.get();
        let Some(index) = self.inner.members.guild(id) else {
            return;
        };
        // The members as of this chunk or newer, held until the completion is queued.
        let g = members::lock(&index);
        let mut present: Option<HashSet<u64>> = None;
        let complete_now = {
            let mut map = self.lock();
            let s = map.entry(id).or_default();
            match &mut s.load {
                Some(load) if chunk.nonce.as_deref() == Some(load.nonce.as_str()) => {
                    load.seen.insert(chunk.chunk_index);
                    (load.seen.len() as u64 >= u64::from(chunk.chunk_count))
                        .then_some((load.started, load.early))
                }
                _ => None,
            }
        };
        if complete_now.is_some() {
            present = Some(g.members.keys().copied().collect());
        }
        tracing::trace!(
            guild = id,
            chunk = chunk.chunk_index,
            of = chunk.chunk_count,
            "member chunk"
        );
        self.enqueue(id, |s| {
            if let (Some((started, early_request)), Some(present)) = (complete_now, present) {
                s.load = None;
                s.pending.members_complete(present);
                s.pending.state(StateChange::Live {
                    full_sync_at: Utc::now(),
                    load_started: started,
                    early_request,
                });
            }
        });
        // Held until the chunk's states are queued (see the module comment).
        drop(g);
    }

    fn settings_changed(&self, ctx: &serenity::Context, update: &serenity::PartialGuild) {
        let Some(g) = ctx.cache.guild(update.id) else {
            return;
        };
        let channels = convert::channel_ids(&g);
        let mut settings = convert::settings_update(update, &channels);
        self.enqueue(update.id.get(), |s| {
            // serenity reads `afk_timeout` only together with an AFK channel: without one, the
            // last known value stands.
            if update.afk_metadata.is_none()
                && let Some(known) = &s.settings
            {
                settings.afk_timeout = known.afk_timeout;
            }
            if let Some(known) = &s.settings {
                settings.automod = known.automod.clone();
                settings.events = known.events.clone();
                settings.welcome = known.welcome.clone();
                settings.onboarding = known.onboarding.clone();
                settings.webhooks = known.webhooks.clone();
            }
            s.settings = Some(settings.clone());
            s.pending.settings = Some(settings);
        });
        drop(g);
    }

    fn guild_gone(&self, guild: serenity::GuildId, unavailable: bool) {
        self.enqueue(guild.get(), |s| {
            s.load = None;
            s.awaiting_guild = None;
            s.pending.state(StateChange::Stale);
        });
        tracing::info!(guild = %guild, unavailable, "guild no longer followed: its mirror is stale until it is back");
    }

    fn role_changed(
        &self,
        ctx: &serenity::Context,
        guild: serenity::GuildId,
        role: serenity::RoleId,
    ) {
        let Some(g) = ctx.cache.guild(guild) else {
            return;
        };
        let state = g.roles.get(&role).map(convert::role);
        self.enqueue(guild.get(), |s| match state {
            Some(state) => s.pending.role(role.get(), Some(state)),
            None => s.pending.role_deleted(role.get()),
        });
        drop(g);
    }

    fn channel_changed(
        &self,
        ctx: &serenity::Context,
        guild: serenity::GuildId,
        channel: serenity::ChannelId,
    ) {
        let Some(g) = ctx.cache.guild(guild) else {
            return;
        };
        let roles = convert::role_ids(&g);
        let (state, channels) = match g.channels.get(&channel) {
            Some(c) => match convert::channel(c, &roles) {
                Some(state) => (Some(state), None),
                None => return,
            },
            None => (None, Some(convert::channel_ids(&g))),
        };
        self.enqueue(guild.get(), |s| {
            s.pending.channel(channel.get(), state);
            // Settings naming a deleted channel (AFK, system, rules, ...) lose the reference.
            if let (Some(channels), Some(known)) = (channels, &s.settings) {
                let fixed = convert::without_dead_channels(known, &channels);
                if fixed != *known {
                    s.settings = Some(fixed.clone());
                    s.pending.settings = Some(fixed);
                }
            }
        });
        drop(g);
    }
}
