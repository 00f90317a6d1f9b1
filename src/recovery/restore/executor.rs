//! Purpose: the Discord side of a restore — every call through the REST port (serenity's rate
//! limiter keeps each bucket at its limit and retries 429s; the process-wide pacer keeps the
//! global limit, shared with everything else Umbra sends) with the audit-log reason
//! `umbra:restore:<job>:<step>`, and the scheduler that runs a plan: one lane per rate-limit
//! bucket, lanes concurrently with a bounded number of requests in flight each, dependencies
//! respected (roles before overwrites and member roles, the grants last), every result applied
//! to the shared [`RunState`] and written durably (a create's id before its dependents run;
//! other results in batches), cancel, per-item failures recorded and the job going on. Also
//! the reconciliation that adopts objects a crashed runner created but did not record.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::AUDIT_REASON_PREFIX;
use super::model::{
    Action, ChannelFields, Failure, Lane, OverwriteFor, Plan, Ref, RoleFields, RunState, Step,
    StepId,
};
use crate::discord::rest::{Endpoint, Method, RateHeaders, Rest, RestCall, RestError};

/// Discord's epoch (ms) for snowflake timestamps.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Scheduler tuning (from `[restore]`).
#[derive(Debug, Clone)]
pub struct ExecSettings {
    /// Requests in flight per rate-limit bucket.
    pub bucket_concurrency: usize,
    /// Requests in flight in total.
    pub max_in_flight: usize,
    /// Attempts for a call that failed transiently (5xx, network).
    pub retries: u32,
    /// Longest time a non-create result waits before it is written.
    pub record_interval: Duration,
    /// One call at a time, in plan order (the benchmark's naive baseline).
    pub sequential: bool,
}

/// Writes a job's state durably.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// `Ok(false)`: the job is no longer ours (fenced out).
    async fn write(&self, state: &RunState) -> anyhow::Result<bool>;
}

/// The job's state shared by the scheduler, its calls and the progress display.
pub struct Shared {
    state: Mutex<RunState>,
    version: AtomicU64,
    flushed: tokio::sync::Mutex<u64>,
    store: Arc<dyn StateStore>,
    fenced: AtomicBool,
    store_error: Mutex<Option<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error("the job was taken over by another runner")]
    Fenced,
    #[error("writing the job's progress failed: {0:#}")]
    Store(anyhow::Error),
}

impl Shared {
    pub fn new(state: RunState, store: Arc<dyn StateStore>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(state),
            version: AtomicU64::new(0),
            flushed: tokio::sync::Mutex::new(0),
            store,
            fenced: AtomicBool::new(false),
            store_error: Mutex::new(None),
        })
    }

    pub fn state(&self) -> MutexGuard<'_, RunState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    /// Why writing progress failed for good, if it did.
    fn store_error(&self) -> Option<String> {
        self.store_error.lock().ok().and_then(|s| s.clone())
    }

    /// Applies a step's end; returns the state version that includes it.
    fn apply(&self, step: &Step, outcome: Result<Outcome, Failure>) -> u64 {
        let mut s = self.state();
        let changed = match outcome {
            Ok(o) => {
                if let Some(live) = o.created {
                    match &step.action {
                        Action::RoleCreate { role, .. } => {
                            s.ids.roles.insert(*role, live);
                        }
                        Action::ChannelCreate { channel, .. } => {
                            s.ids.channels.insert(*channel, live);
                        }
                        _ => {}
                    }
                }
                s.finish(step.id, Ok(o.notes))
            }
            Err(f) => s.finish(step.id, Err(f)),
        };
        drop(s);
        if changed {
            self.version.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            self.version.load(Ordering::SeqCst)
        }
    }

    /// Fails every step that has not finished with `reason`, so that the next write records
    /// them (they count as failed steps). Returns how many there were.
    pub fn fail_unfinished(&self, plan: &Plan, reason: &str) -> usize {
        let mut s = self.state();
        let mut n = 0;
        for step in &plan.steps {
            if !s.finished(step.id) {
                let failure = Failure {
                    reason: reason.to_owned(),
                    code: None,
                };
                if s.finish(step.id, Err(failure)) {
                    n += 1;
                }
            }
        }
        drop(s);
        if n > 0 {
            self.version.fetch_add(1, Ordering::SeqCst);
        }
        n
    }

    /// Marks a step done by adopting an object found after a crash.
    pub fn adopt(&self, step: &Step, live: u64) {
        self.apply(
            step,
            Ok(Outcome {
                created: Some(live),
                notes: vec![format!("adopted object {live} created before a restart")],
                rate: None,
            }),
        );
    }

    /// Writes the state up to (at least) version `v`; concurrent calls coalesce.
    pub async fn flush_to(&self, v: u64) -> Result<(), FlushError> {
        let mut flushed = self.flushed.lock().await;
        if *flushed >= v {
            return Ok(());
        }
        if self.is_fenced() {
            return Err(FlushError::Fenced);
        }
        let (snapshot, version) = {
            let s = self.state();
            (s.clone(), self.version.load(Ordering::SeqCst))
        };
        let mut attempt = 0u32;
        loop {
            match self.store.write(&snapshot).await {
                Ok(true) => {
                    *flushed = version;
                    return Ok(());
                }
                Ok(false) => {
                    self.fenced.store(true, Ordering::SeqCst);
                    return Err(FlushError::Fenced);
                }
                Err(e) if attempt >= 4 => {
                    if let Ok(mut slot) = self.store_error.lock() {
                        *slot = Some(format!("{e:#}"));
                    }
                    return Err(FlushError::Store(e));
                }
                Err(e) => {
                    attempt += 1;
                    tracing::warn!(attempt, error = %e, "writing restore progress failed; retrying");
                    tokio::time::sleep(crate::queue::jittered(
                        attempt + 1,
                        Duration::from_millis(100),
                        Duration::from_secs(30),
                    ))
                    .await;
                }
            }
        }
    }

    /// Writes everything applied so far.
    pub async fn flush(&self) -> Result<(), FlushError> {
        self.flush_to(self.version.load(Ordering::SeqCst)).await
    }
}

/// A successful call.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The id of the object a create made.
    pub created: Option<u64>,
    /// What the call could not include.
    pub notes: Vec<String>,
    /// What the answer said about its rate-limit bucket.
    pub rate: Option<Rate>,
}

/// A response's rate-limit headers: how much of its bucket's window is left.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// `X-RateLimit-Bucket`.
    pub bucket: Option<String>,
    /// `X-RateLimit-Remaining`.
    pub remaining: u32,
    /// `X-RateLimit-Reset` (epoch seconds): the same in every answer of one window.
    pub reset: f64,
    /// When the window ends (`X-RateLimit-Reset-After` from the answer), on this clock.
    pub reset_at: Instant,
}

/// Two `X-RateLimit-Reset` values this close (seconds) name the same window.
const SAME_WINDOW: f64 = 0.004;

impl Rate {
    fn from_headers(h: RateHeaders) -> Option<Self> {
        Some(Self {
            bucket: h.bucket,
            remaining: h.remaining,
            reset: h.reset,
            reset_at: Instant::now() + Duration::try_from_secs_f64(h.reset_after).ok()?,
        })
    }

    /// Folds a later-arriving answer of the same lane in. Answers arrive out of order: within
    /// one window the smallest `remaining` is the true one; an answer from an older window
    /// says nothing about the current one.
    fn merge(&mut self, other: Rate) {
        if self.bucket != other.bucket || other.reset > self.reset + SAME_WINDOW {
            *self = other;
        } else if (other.reset - self.reset).abs() <= SAME_WINDOW {
            self.remaining = self.remaining.min(other.remaining);
        }
    }

    /// Whether one more request may go out while `in_flight` others of the lane are unanswered
    /// (they are not in `remaining` yet).
    fn admits(&self, in_flight: usize, now: Instant) -> bool {
        now >= self.reset_at || self.remaining as usize > in_flight
    }
}

/// An answer: its body (JSON, `Null` for none) and its bucket's state.
struct Answer {
    body: Value,
    rate: Option<Rate>,
}

/// Where a simulated crash happens (test hook: the runner stops like a killed process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// After this many step results were written.
    AfterRecorded(u64),
    /// When the n-th create (1-based) returned, before its id was recorded.
    BeforeRecording(u64),
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// Every step finished (done or failed).
    Finished,
    Cancelled,
    /// The process is shutting down: the lease is given back, another runner resumes.
    Stopped,
    /// Another runner took the job over.
    Fenced,
    /// The test hook stopped the runner as if the process died.
    Crashed,
    /// Progress could not be written: the job is left to another claim.
    Store(String),
}

/// Issues a restore's Discord calls.
#[derive(Clone)]
pub struct Discord {
    rest: Rest,
    guild: u64,
    /// `umbra:restore:<job short id>`.
    reason: String,
    retries: u32,
}

/// What went wrong with one call.
enum CallError {
    /// Worth retrying (5xx, network).
    Transient(String),
    /// Discord refused it: the item fails with this reason.
    Refused(Failure, u16),
}

fn classify(e: RestError) -> CallError {
    match e {
        RestError::Refused {
            status,
            code,
            message,
        } => CallError::Refused(
            Failure {
                reason: message,
                code: i64::try_from(code).ok().filter(|c| *c != 0),
            },
            status,
        ),
        other => CallError::Transient(other.to_string()),
    }
}

/// The job's short id used in audit-log reasons.
pub fn reason_prefix(job: uuid::Uuid) -> String {
    let simple = job.simple().to_string();
    format!("{AUDIT_REASON_PREFIX}{}", &simple[simple.len() - 12..])
}

/// The step a reason names, if it is this job's.
pub fn step_of_reason(prefix: &str, reason: &str) -> Option<StepId> {
    reason.strip_prefix(prefix)?.strip_prefix(':')?.parse().ok()
}

fn snowflake_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

impl Discord {
    pub fn new(rest: Rest, guild: u64, job: uuid::Uuid, settings: &ExecSettings) -> Self {
        Self {
            rest,
            guild,
            reason: reason_prefix(job),
            retries: settings.retries,
        }
    }

    /// One request, with retries of transient failures. Returns the response body (JSON, or
    /// `Null` for 204) and its rate-limit headers.
    async fn call(
        &self,
        endpoint: Endpoint,
        method: Method,
        body: Option<&Value>,
        reason: Option<&str>,
        query: &[(&'static str, String)],
    ) -> Result<Answer, CallError> {
        let mut attempt = 0u32;
        loop {
            let mut call = RestCall::new(method, endpoint.clone()).reason(reason);
            if let Some(b) = body {
                call = call.body(b.clone());
            }
            call.query = query.to_vec();
            let error = match self.rest.send(call).await {
                Ok(answer) => {
                    return Ok(Answer {
                        body: answer.body,
                        rate: answer.rate.and_then(Rate::from_headers),
                    });
                }
                Err(e) => classify(e),
            };
            match error {
                CallError::Transient(msg) if attempt < self.retries => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %msg, "a restore call failed; retrying");
                    tokio::time::sleep(crate::queue::jittered(
                        attempt + 1,
                        Duration::from_millis(250),
                        Duration::from_secs(16),
                    ))
                    .await;
                }
                other => return Err(other),
            }
        }
    }

    fn step_reason(&self, step: StepId) -> String {
        format!("{}:{step}", self.reason)
    }

    /// Runs one step (its body built from the current id map by the caller).
    async fn run(&self, step: &Step, call: Call) -> Result<Outcome, Failure> {
        let reason = self.step_reason(step.id);
        let g = self.guild;
        let refused = |e: CallError| match e {
            CallError::Transient(m) => Failure {
                reason: m,
                code: None,
            },
            CallError::Refused(f, _) => f,
        };
        let id_of = |v: &Value| -> Result<u64, Failure> {
            v.get("id")
                .and_then(|i| i.as_str())
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Failure {
                    reason: "Discord's answer has no id".into(),
                    code: None,
                })
        };
        let notes = call.notes;
        // (endpoint, method, body, whether it creates, whether 404 means "already gone": done)
        let (endpoint, method, body, creates, gone_is_done) = match &call.request {
            Req::CreateRole(b) => (Endpoint::GuildRoles(g), Method::Post, Some(b), true, false),
            Req::EditRole(r, b) => (
                Endpoint::GuildRole(g, *r),
                Method::Patch,
                Some(b),
                false,
                false,
            ),
            // Already gone (a retry after a crash): done.
            Req::DeleteRole(r) => (
                Endpoint::GuildRole(g, *r),
                Method::Delete,
                None,
                false,
                true,
            ),
            Req::RolePositions(b) => (
                Endpoint::GuildRoles(g),
                Method::Patch,
                Some(b),
                false,
                false,
            ),
            Req::CreateChannel(b) => (
                Endpoint::GuildChannels(g),
                Method::Post,
                Some(b),
                true,
                false,
            ),
            Req::EditChannel(c, b) => (Endpoint::Channel(*c), Method::Patch, Some(b), false, false),
            Req::DeleteChannel(c) => (Endpoint::Channel(*c), Method::Delete, None, false, true),
            Req::ChannelPositions(b) => (
                Endpoint::GuildChannels(g),
                Method::Patch,
                Some(b),
                false,
                false,
            ),
            Req::EditGuild(b) => (Endpoint::Guild(g), Method::Patch, Some(b), false, false),
            Req::EditMember(user, b) => (
                Endpoint::GuildMember(g, *user),
                Method::Patch,
                Some(b),
                false,
                false,
            ),
            Req::Nothing => {
                return Ok(Outcome {
                    created: None,
                    notes,
                    rate: None,
                });
            }
        };
        match self.call(endpoint, method, body, Some(&reason), &[]).await {
            Ok(answer) => Ok(Outcome {
                created: if creates {
                    Some(id_of(&answer.body)?)
                } else {
                    None
                },
                notes,
                rate: answer.rate,
            }),
            Err(CallError::Refused(_, 404)) if gone_is_done => Ok(Outcome {
                created: None,
                notes,
                rate: None,
            }),
            Err(e) => Err(refused(e)),
        }
    }

    /// The guild's roles or channels now (`GET`), as JSON objects.
    async fn list(&self, channels: bool) -> Result<Vec<Value>, String> {
        let endpoint = if channels {
            Endpoint::GuildChannels(self.guild)
        } else {
            Endpoint::GuildRoles(self.guild)
        };
        match self.call(endpoint, Method::Get, None, None, &[]).await {
            Ok(Answer {
                body: Value::Array(items),
                ..
            }) => Ok(items),
            Ok(_) => Err("Discord's answer is not a list".to_owned()),
            Err(CallError::Transient(m))
            | Err(CallError::Refused(Failure { reason: m, .. }, _)) => Err(m),
        }
    }

    /// Audit-log entries of `action` by `bot` with this job's reasons, newest first, back to
    /// `since_ms`: step -> target id. A read that failed for a passing reason is an error (the
    /// caller retries: an empty answer would make every unrecorded create run again); an audit
    /// log Umbra may not read (Discord refused) matches by name instead.
    async fn audited_creates(
        &self,
        bot: u64,
        action: u8,
        since_ms: u64,
    ) -> Result<HashMap<StepId, u64>, String> {
        let mut out = HashMap::new();
        let mut before: Option<String> = None;
        for _page in 0..20 {
            let mut params = vec![
                ("action_type", action.to_string()),
                ("user_id", bot.to_string()),
                ("limit", "100".to_owned()),
            ];
            if let Some(b) = &before {
                params.push(("before", b.clone()));
            }
            let value: Value = match self
                .call(
                    Endpoint::GuildAuditLogs(self.guild),
                    Method::Get,
                    None,
                    None,
                    &params,
                )
                .await
            {
                Ok(answer) => answer.body,
                Err(CallError::Refused(_, status @ (401 | 403))) => {
                    tracing::info!(
                        status,
                        "the audit log is not readable; matching by name instead"
                    );
                    break;
                }
                Err(CallError::Refused(f, _)) => {
                    return Err(format!("reading the audit log failed: {}", f.reason));
                }
                Err(CallError::Transient(e)) => {
                    return Err(format!("reading the audit log failed: {e}"));
                }
            };
            let entries = value
                .get("audit_log_entries")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut oldest = None;
            for e in &entries {
                let id = e
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<u64>().ok());
                oldest = id.or(oldest);
                let reason = e.get("reason").and_then(Value::as_str).unwrap_or_default();
                let target = e
                    .get("target_id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<u64>().ok());
                if let (Some(step), Some(target)) = (step_of_reason(&self.reason, reason), target) {
                    out.entry(step).or_insert(target);
                }
            }
            match oldest {
                Some(id) if entries.len() == 100 && snowflake_ms(id) >= since_ms => {
                    before = Some(id.to_string());
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// After a crash: creates whose request went out but whose result was not recorded are
    /// found (by the audit-log reason of their step, else by name and type among objects made
    /// since the job started that nothing is mapped to) and adopted instead of created twice.
    /// Returns how many; `Err` when a read failed (retry: guessing from an empty list would send
    /// every unrecorded create again).
    pub async fn reconcile(
        &self,
        plan: &Plan,
        shared: &Shared,
        bot: Option<u64>,
        started_ms: u64,
    ) -> Result<usize, String> {
        let pending: Vec<&Step> = {
            let s = shared.state();
            plan.steps
                .iter()
                .filter(|st| st.creates() && !s.finished(st.id))
                .collect()
        };
        if pending.is_empty() {
            return Ok(0);
        }
        let since = started_ms.saturating_sub(60_000);
        let (roles_audit, channels_audit) = match bot {
            Some(bot) => (
                self.audited_creates(bot, 30, since).await?,
                self.audited_creates(bot, 10, since).await?,
            ),
            None => (HashMap::new(), HashMap::new()),
        };
        let roles = self.list(false).await?;
        let channels = self.list(true).await?;
        let id = |v: &Value| {
            v.get("id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok())
        };
        let live_roles: HashMap<u64, &Value> =
            roles.iter().filter_map(|r| id(r).map(|i| (i, r))).collect();
        let live_channels: HashMap<u64, &Value> = channels
            .iter()
            .filter_map(|c| id(c).map(|i| (i, c)))
            .collect();
        let mut taken: HashSet<u64> = {
            let s = shared.state();
            s.ids
                .roles
                .values()
                .chain(s.ids.channels.values())
                .copied()
                .collect()
        };
        let mut adopted = 0;
        for step in pending {
            let found = match &step.action {
                Action::RoleCreate { fields, .. } => roles_audit
                    .get(&step.id)
                    .copied()
                    .filter(|i| live_roles.contains_key(i))
                    .or_else(|| {
                        roles.iter().find_map(|r| {
                            let i = id(r)?;
                            (!taken.contains(&i)
                                && snowflake_ms(i) >= since
                                && r.get("name").and_then(Value::as_str) == fields.name.as_deref())
                            .then_some(i)
                        })
                    }),
                Action::ChannelCreate { fields, .. } => channels_audit
                    .get(&step.id)
                    .copied()
                    .filter(|i| live_channels.contains_key(i))
                    .or_else(|| {
                        channels.iter().find_map(|c| {
                            let i = id(c)?;
                            let kind = c.get("type").and_then(Value::as_i64);
                            (!taken.contains(&i)
                                && snowflake_ms(i) >= since
                                && c.get("name").and_then(Value::as_str) == fields.name.as_deref()
                                && kind == fields.kind.map(i64::from))
                            .then_some(i)
                        })
                    }),
                _ => None,
            };
            if let Some(live) = found
                && taken.insert(live)
            {
                tracing::info!(
                    step = step.id,
                    live,
                    "adopting an object created before a restart"
                );
                shared.adopt(step, live);
                adopted += 1;
            }
        }
        Ok(adopted)
    }
}

/// A call ready to send.
struct Call {
    request: Req,
    notes: Vec<String>,
}

enum Req {
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
    /// Nothing left to send (everything it referred to failed).
    Nothing,
}

fn role_body(f: &RoleFields) -> Value {
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
    if let Some(e) = &f.unicode_emoji {
        b.insert("unicode_emoji".into(), json!(e));
    }
    if let Some(p) = f.permissions {
        b.insert("permissions".into(), json!(p.to_string()));
    }
    Value::Object(b)
}

/// Builds a channel body; unresolved overwrite targets are dropped with a note.
fn channel_body(
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

fn ref_name(r: Ref) -> String {
    match r {
        Ref::L(l) => format!("snapshot object {l}"),
        Ref::D(d) => d.to_string(),
    }
}

/// Builds a step's request from the current id map.
fn build(step: &Step, state: &RunState) -> Call {
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
        Action::Member { user, roles, nick } => {
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
            Req::EditMember(*user, Value::Object(b))
        }
    };
    Call { request, notes }
}

/// Controls of a running execution.
#[derive(Clone)]
pub struct Control {
    pub cancel: watch::Receiver<bool>,
    /// Shutdown: stop starting calls, finish those in flight, record.
    pub stop: watch::Receiver<bool>,
    pub crash: Option<CrashPoint>,
}

/// A lane's call was answered: its slot is free, and its bucket's state is folded in.
fn give_back(
    in_flight: &mut HashMap<Lane, usize>,
    rates: &mut HashMap<Lane, Rate>,
    lane: Lane,
    rate: Option<Rate>,
) {
    if let Some(c) = in_flight.get_mut(&lane) {
        *c = c.saturating_sub(1);
    }
    if let Some(rate) = rate {
        match rates.get_mut(&lane) {
            Some(known) => known.merge(rate),
            None => {
                rates.insert(lane, rate);
            }
        }
    }
}

/// Runs every unfinished step of `plan`.
pub async fn execute(
    discord: &Discord,
    plan: Arc<Plan>,
    shared: Arc<Shared>,
    settings: &ExecSettings,
    mut control: Control,
) -> Halt {
    let deps = plan.dependencies();
    let n = plan.steps.len();
    let mut dependents: Vec<Vec<StepId>> = vec![Vec::new(); n];
    let mut waiting: Vec<usize> = vec![0; n];
    let mut ready: BTreeMap<Lane, BTreeSet<StepId>> = BTreeMap::new();
    {
        let state = shared.state();
        for (i, d) in deps.iter().enumerate() {
            for dep in d {
                if let Some(list) = dependents.get_mut(*dep as usize) {
                    list.push(i as StepId);
                }
            }
            waiting[i] = d.iter().filter(|x| !state.finished(**x)).count();
        }
        for s in &plan.steps {
            if !state.finished(s.id) && waiting[s.id as usize] == 0 {
                ready.entry(s.lane()).or_default().insert(s.id);
            }
        }
    }
    let (cap, total_cap) = if settings.sequential {
        (1, 1)
    } else {
        (
            settings.bucket_concurrency.max(1),
            settings.max_in_flight.max(1),
        )
    };
    let mut in_flight: HashMap<Lane, usize> = HashMap::new();
    let mut tasks: JoinSet<(StepId, bool)> = JoinSet::new();
    // A call's lane slot is given back as soon as Discord answered it (a create's task then
    // waits for its id to be written, which only holds back its dependents, not its lane:
    // concurrent creates share one write).
    let (freed_tx, mut freed_rx) = tokio::sync::mpsc::unbounded_channel::<(Lane, Option<Rate>)>();
    // What each lane's latest answers said about its bucket. serenity's limiter keeps one
    // `remaining` per bucket and overwrites it with every answer, so with two requests in
    // flight an earlier answer makes it send one request too many (a 429, and its bucket lock
    // held through the retry sleep stalls the lane). A request goes out only while the
    // window has room for it (or once it has ended).
    let mut rates: HashMap<Lane, Rate> = HashMap::new();
    // The periodic write runs beside the scheduler, never inside its loop.
    let mut periodic: Option<tokio::task::JoinHandle<()>> = None;
    let mut cancelling = *control.cancel.borrow();
    let mut stopping = *control.stop.borrow();
    let recorded = Arc::new(AtomicU64::new(0));
    let creates_returned = Arc::new(AtomicU64::new(0));
    let crashed = Arc::new(AtomicBool::new(false));
    let mut ticker = tokio::time::interval(settings.record_interval.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let halt = loop {
        if shared.is_fenced() {
            break Halt::Fenced;
        }
        if crashed.load(Ordering::SeqCst) {
            break Halt::Crashed;
        }
        if let Some(e) = shared.store_error() {
            break Halt::Store(e);
        }
        // Slots given back so far (a finished task sent its lane before it ended, so none of
        // them is still in the channel when the loop asks whether anything is left to do).
        while let Ok((lane, rate)) = freed_rx.try_recv() {
            give_back(&mut in_flight, &mut rates, lane, rate);
        }
        if !cancelling && !stopping {
            // In sequential mode the next step is the lowest ready id of any lane.
            loop {
                let total: usize = in_flight.values().sum();
                if total >= total_cap {
                    break;
                }
                let pick = if settings.sequential {
                    ready
                        .iter()
                        .filter_map(|(lane, set)| set.first().map(|s| (*s, *lane)))
                        .min()
                        .map(|(s, lane)| (lane, s))
                } else {
                    let now = Instant::now();
                    ready
                        .iter()
                        .filter(|(lane, set)| {
                            let n = in_flight.get(*lane).copied().unwrap_or(0);
                            let room = n < cap && rates.get(*lane).is_none_or(|r| r.admits(n, now));
                            !set.is_empty() && room
                        })
                        .filter_map(|(lane, set)| set.first().map(|s| (*lane, *s)))
                        .min_by_key(|(_, s)| *s)
                };
                let Some((lane, id)) = pick else { break };
                if let Some(set) = ready.get_mut(&lane) {
                    set.remove(&id);
                }
                *in_flight.entry(lane).or_default() += 1;
                let step = plan.steps[id as usize].clone();
                let call = build(&step, &shared.state());
                let discord = discord.clone();
                let shared = shared.clone();
                let recorded = recorded.clone();
                let creates_returned = creates_returned.clone();
                let crashed = crashed.clone();
                let crash = control.crash;
                let freed = freed_tx.clone();
                tasks.spawn(async move {
                    let outcome = if matches!(call.request, Req::Nothing) {
                        Err(Failure {
                            reason: call.notes.join("; "),
                            code: None,
                        })
                    } else {
                        discord.run(&step, call).await
                    };
                    let rate = outcome.as_ref().ok().and_then(|o| o.rate.clone());
                    let _ = freed.send((lane, rate));
                    if step.creates() && outcome.is_ok() {
                        let k = creates_returned.fetch_add(1, Ordering::SeqCst) + 1;
                        if crash == Some(CrashPoint::BeforeRecording(k)) {
                            crashed.store(true, Ordering::SeqCst);
                            return (step.id, false);
                        }
                    }
                    let version = shared.apply(&step, outcome);
                    if step.creates() {
                        // The id reaches the database before anything depends on it.
                        if let Err(e) = shared.flush_to(version).await {
                            tracing::warn!(error = %e, "recording a created object failed");
                            return (step.id, false);
                        }
                    }
                    let k = recorded.fetch_add(1, Ordering::SeqCst) + 1;
                    if let Some(CrashPoint::AfterRecorded(n)) = crash
                        && k >= n
                    {
                        let _ = shared.flush().await;
                        crashed.store(true, Ordering::SeqCst);
                    }
                    (step.id, true)
                });
            }
        }
        // Lanes held back only by their bucket's window: the loop wakes when it ends.
        let wake = if settings.sequential || cancelling || stopping {
            None
        } else {
            let now = Instant::now();
            ready
                .iter()
                .filter(|(lane, set)| {
                    !set.is_empty() && in_flight.get(*lane).copied().unwrap_or(0) < cap
                })
                .filter_map(|(lane, _)| {
                    let n = in_flight.get(lane).copied().unwrap_or(0);
                    rates
                        .get(lane)
                        .filter(|r| !r.admits(n, now))
                        .map(|r| r.reset_at)
                })
                .min()
        };
        if tasks.is_empty() && wake.is_none() {
            break if cancelling {
                Halt::Cancelled
            } else if stopping {
                Halt::Stopped
            } else {
                Halt::Finished
            };
        }
        tokio::select! {
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
            joined = tasks.join_next(), if !tasks.is_empty() => {
                let Some(joined) = joined else { continue };
                let (id, ok) = match joined {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::error!(error = %e, "a restore step task failed");
                        continue;
                    }
                };
                if !ok {
                    continue;
                }
                for d in &dependents[id as usize] {
                    let w = &mut waiting[*d as usize];
                    *w = w.saturating_sub(1);
                    if *w == 0 && !shared.state().finished(*d) {
                        ready.entry(plan.steps[*d as usize].lane()).or_default().insert(*d);
                    }
                }
            }
            Some((lane, rate)) = freed_rx.recv() => {
                give_back(&mut in_flight, &mut rates, lane, rate);
            }
            changed = control.cancel.changed(), if !cancelling => {
                if changed.is_err() || *control.cancel.borrow() {
                    cancelling = true;
                }
            }
            changed = control.stop.changed(), if !stopping => {
                if changed.is_err() || *control.stop.borrow() {
                    stopping = true;
                }
            }
            _ = ticker.tick() => {
                // A failed write marks `shared` (fenced / store error): seen at the loop's top.
                if periodic.as_ref().is_none_or(|h| h.is_finished()) {
                    let shared = shared.clone();
                    periodic = Some(tokio::spawn(async move {
                        let _ = shared.flush().await;
                    }));
                }
            }
        }
    };
    if matches!(halt, Halt::Crashed | Halt::Fenced | Halt::Store(_)) {
        tasks.abort_all();
        if let Some(h) = periodic {
            h.abort();
        }
        return halt;
    }
    if let Some(h) = periodic {
        let _ = h.await;
    }
    while tasks.join_next().await.is_some() {}
    match shared.flush().await {
        Ok(()) => halt,
        Err(FlushError::Fenced) => Halt::Fenced,
        Err(FlushError::Store(e)) => Halt::Store(format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_job_and_the_step() {
        let job = uuid::Uuid::now_v7();
        let prefix = reason_prefix(job);
        assert!(prefix.starts_with(AUDIT_REASON_PREFIX));
        assert_eq!(step_of_reason(&prefix, &format!("{prefix}:42")), Some(42));
        assert_eq!(step_of_reason(&prefix, "umbra:restore:other:42"), None);
        assert_eq!(step_of_reason(&prefix, &format!("{prefix}:x")), None);
    }

    #[test]
    fn member_bodies_carry_every_role_and_the_nickname_once() {
        let step = Step {
            id: 3,
            action: Action::Member {
                user: 5,
                roles: Some(vec![Ref::L(1), Ref::L(2), Ref::D(99)]),
                nick: Some(None),
            },
        };
        let mut state = RunState::default();
        state.ids.roles.insert(1, 11);
        let call = build(&step, &state);
        let Req::EditMember(user, body) = call.request else {
            panic!("a member edit")
        };
        assert_eq!(user, 5);
        assert_eq!(body["roles"], json!(["11", "99"]));
        assert_eq!(body["nick"], Value::Null);
        assert_eq!(call.notes.len(), 1, "the unresolved role is reported");
    }

    #[test]
    fn bucket_state_takes_the_lowest_remaining_of_a_window_and_admits_only_what_fits() {
        let now = Instant::now();
        let rate = |remaining, reset| Rate {
            bucket: Some("b".into()),
            remaining,
            reset,
            reset_at: now + Duration::from_millis(50),
        };
        // Answers of one window arrive out of order: the lowest remaining is the true one.
        let mut known = rate(3, 100.0);
        known.merge(rate(5, 100.001));
        assert_eq!(known.remaining, 3);
        assert!(known.admits(2, now), "3 left, 2 in flight: one more fits");
        assert!(!known.admits(3, now), "3 left, 3 in flight: none fits");
        // A late answer from the previous window changes nothing; the next window replaces it.
        known.merge(rate(9, 99.9));
        assert_eq!(known.remaining, 3);
        known.merge(rate(9, 100.1));
        assert_eq!((known.remaining, known.reset), (9, 100.1));
        // Once the window is over, anything goes.
        let mut full = rate(0, 100.2);
        assert!(
            !full.admits(0, now),
            "a full window holds back even a lane with none out"
        );
        assert!(full.admits(1, now + Duration::from_millis(60)));
        // Another bucket on the same lane replaces the state.
        full.merge(Rate {
            bucket: Some("other".into()),
            ..rate(7, 50.0)
        });
        assert_eq!(full.remaining, 7);
    }

    #[test]
    fn snowflake_times_are_read() {
        let id = (1000u64) << 22;
        assert_eq!(snowflake_ms(id), DISCORD_EPOCH_MS + 1000);
    }
}
