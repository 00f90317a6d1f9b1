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
use tracing::Instrument as _;

use super::AUDIT_REASON_PREFIX;
use super::model::{
    Action, AutoModBody, ChannelFields, EventFields, Failure, Lane, OverwriteFor, Plan, Ref,
    RoleFields, RunState, Step, StepId, ThreadFields,
};
use crate::discord::rest::{Endpoint, Method, Rest, RestCall, RestError};

mod bodies;
mod discord;
mod rate;

use bodies::{Req, build};
pub use discord::{Discord, NOTE_ALREADY, reason_prefix, step_of_reason};
pub use rate::Rate;

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

    /// The job was taken over (its lease is someone else's): this run stops writing and
    /// sending at once.
    pub fn mark_fenced(&self) {
        self.fenced.store(true, Ordering::SeqCst);
    }

    /// Why writing progress failed for good, if it did.
    fn store_error(&self) -> Option<String> {
        self.store_error.lock().ok().and_then(|s| s.clone())
    }

    /// Writes down that a member add is about to be sent; returns the state version that
    /// includes it.
    fn mark_sending(&self, step: StepId) -> u64 {
        let inserted = self.state().sending.insert(step);
        if inserted {
            self.version.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            self.version.load(Ordering::SeqCst)
        }
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
                        Action::WebhookCreate { .. } => {
                            s.webhooks.insert(step.id, live);
                        }
                        Action::MessageReplay { channel, .. } => {
                            if let Some(c) = s.ids.channel(*channel) {
                                s.replayed.insert(c, live);
                            }
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
    let mut replaced = false;
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
                    // A member add or an emoji upload is written down before it is sent (a crash
                    // then looks it up instead of sending it twice).
                    if step.write_ahead() {
                        let version = shared.mark_sending(step.id);
                        if let Err(e) = shared.flush_to(version).await {
                            tracing::warn!(error = %e, "recording a member add failed");
                            let _ = freed.send((lane, None));
                            return (step.id, false);
                        }
                    }
                    let outcome = if matches!(call.request, Req::Nothing) {
                        Err(Failure {
                            reason: call.notes.join("; "),
                            code: None,
                        })
                    } else {
                        discord.run(&step, call).await
                    };
                    match &outcome {
                        Ok(_) => tracing::debug!(step = step.id, lane = ?lane, "restore step done"),
                        Err(f) => tracing::debug!(step = step.id, lane = ?lane, reason = %f.reason, "restore step failed"),
                    }
                    let rate = outcome.as_ref().ok().and_then(|o| o.rate.clone());
                    let _ = freed.send((lane, rate));
                    if (step.creates() || step.write_ahead()) && outcome.is_ok() {
                        let k = creates_returned.fetch_add(1, Ordering::SeqCst) + 1;
                        if crash == Some(CrashPoint::BeforeRecording(k)) {
                            crashed.store(true, Ordering::SeqCst);
                            return (step.id, false);
                        }
                    }
                    let version = shared.apply(&step, outcome);
                    if step.creates() || step.write_ahead() {
                        // The id reaches the database before anything depends on it; a member
                        // added back is recorded before the next is added (never added twice).
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
                }.in_current_span());
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
            changed = control.cancel.changed(), if !cancelling && !replaced => {
                match changed {
                    // Only a person or a rule cancels. A closed channel means a newer run of
                    // this job replaced this one (this process took its own job over): this run
                    // stops, the job carries on.
                    Err(_) => {
                        replaced = true;
                        stopping = true;
                    }
                    Ok(()) if *control.cancel.borrow() => cancelling = true,
                    Ok(()) => {}
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
    use super::discord::{DISCORD_EPOCH_MS, snowflake_ms};
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
                add: false,
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
