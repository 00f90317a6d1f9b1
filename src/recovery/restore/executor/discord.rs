//! Purpose: a restore's Discord calls through the REST port — each step's request with the
//! audit-log reason `umbra:restore:<job>:<step>`, transient errors retried with a jittered
//! backoff, refusals turned into the item's failure — and the reconciliation that adopts
//! objects a crashed runner created but did not record.

use super::bodies::{Call, Req};
use super::*;

mod replay;

/// Discord's epoch (ms) for snowflake timestamps.
pub(super) const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// An answer: its body (JSON, `Null` for none) and its bucket's state.
pub(super) struct Answer {
    pub(super) body: Value,
    pub(super) rate: Option<Rate>,
}
/// Issues a restore's Discord calls.
#[derive(Clone)]
pub struct Discord {
    rest: Rest,
    guild: u64,
    /// `umbra:restore:<job short id>`.
    reason: String,
    retries: u32,
    /// Members' re-join grants (a member pull's adds); `None`: adds fail, saying why.
    grants: Option<Arc<dyn crate::recovery::restore::ports::MemberGrants>>,
    /// This run's replay webhooks by live channel: (id, token), in memory only (after a
    /// restart they are found again by name).
    replay_hooks: Arc<tokio::sync::Mutex<HashMap<u64, (u64, String)>>>,
}

/// The note of an add whose member was already there (their roles and nickname were set).
pub const NOTE_ALREADY: &str = "already a member: roles and nickname set";

/// What went wrong with one call.
pub(super) enum CallError {
    /// Worth retrying (5xx, network).
    Transient(String),
    /// Discord refused it: the item fails with this reason.
    Refused(Failure, u16),
}

pub(super) fn classify(e: RestError) -> CallError {
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

pub(super) fn snowflake_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// What finds a create made before a restart in its endpoint's list.
type Finder<'a> = Box<dyn Fn(&Value) -> bool + Send + Sync + 'a>;

impl Discord {
    pub fn new(rest: Rest, guild: u64, job: uuid::Uuid, settings: &ExecSettings) -> Self {
        Self {
            rest,
            guild,
            reason: reason_prefix(job),
            retries: settings.retries,
            grants: None,
            replay_hooks: Arc::default(),
        }
    }

    /// With members' re-join grants (member pulls).
    pub fn with_grants(
        mut self,
        grants: Option<Arc<dyn crate::recovery::restore::ports::MemberGrants>>,
    ) -> Self {
        self.grants = grants;
        self
    }

    /// A member add that was sent before a crash and not recorded: `Some` (joined: done without
    /// a note) when the
    /// member is in the guild now (the add went through: their roles came with it), `None` when
    /// they are not (it did not: send it). A read, never a second add.
    async fn added_before(&self, user: u64, notes: &[String]) -> Result<Option<Outcome>, Failure> {
        let endpoint = Endpoint::GuildMember(self.guild, user);
        match self.call(endpoint, Method::Get, None, None, &[]).await {
            Ok(answer) => Ok(Some(Outcome {
                created: None,
                notes: notes.to_vec(),
                rate: answer.rate,
            })),
            Err(CallError::Refused(_, 404)) => Ok(None),
            Err(CallError::Refused(f, _)) => Err(f),
            Err(CallError::Transient(m)) => Err(Failure {
                reason: m,
                code: None,
            }),
        }
    }

    /// Adds a member back with their grant (`PUT`, the roles and nickname in `body`). Already
    /// there (204): the roles and nickname by `PATCH`. An invalid token (50025) is refreshed
    /// once and tried again; refused again, or not refreshable, the link is dead. A guild cap
    /// (30001) or a ban (40007) is the member's failure. Never retried on 401/403 otherwise.
    async fn add_member(
        &self,
        user: u64,
        body: &Value,
        mut notes: Vec<String>,
        reason: &str,
    ) -> Result<Outcome, Failure> {
        let failure = |reason: String, code: Option<i64>| Failure { reason, code };
        let dead = || {
            failure(
                "dead link: the member revoked Umbra's authorization".into(),
                Some(50025),
            )
        };
        let Some(grants) = &self.grants else {
            return Err(failure(
                "member pulls need the web login (re-join links)".into(),
                None,
            ));
        };
        let Some((mut token, version)) = grants.access(user).await.map_err(|e| failure(e, None))?
        else {
            return Err(dead());
        };
        let endpoint = Endpoint::GuildMember(self.guild, user);
        let mut refreshed = false;
        loop {
            let mut with_token = body.clone();
            with_token["access_token"] = json!(token.expose());
            let put = self
                .call(
                    endpoint.clone(),
                    Method::Put,
                    Some(&with_token),
                    Some(reason),
                    &[],
                )
                .await;
            match put {
                Ok(answer) if answer.body.is_null() => {
                    let patched = self
                        .call(endpoint, Method::Patch, Some(body), Some(reason), &[])
                        .await;
                    return match patched {
                        Ok(a) => {
                            notes.push(NOTE_ALREADY.into());
                            Ok(Outcome {
                                created: None,
                                notes,
                                rate: a.rate,
                            })
                        }
                        Err(CallError::Transient(m)) => Err(failure(m, None)),
                        Err(CallError::Refused(f, _)) => Err(f),
                    };
                }
                // Joined (a done add without the "already" note: nothing more to store).
                Ok(answer) => {
                    return Ok(Outcome {
                        created: None,
                        notes,
                        rate: answer.rate,
                    });
                }
                Err(CallError::Refused(f, _)) if f.code == Some(50025) && !refreshed => {
                    refreshed = true;
                    match grants.refreshed(user, version).await {
                        Ok(Some(fresh)) => token = fresh,
                        Ok(None) => return Err(dead()),
                        Err(e) => return Err(failure(e, None)),
                    }
                }
                Err(CallError::Refused(f, _)) if f.code == Some(50025) => {
                    grants.dead(user).await;
                    return Err(dead());
                }
                Err(CallError::Refused(f, _)) => return Err(f),
                Err(CallError::Transient(m)) => return Err(failure(m, None)),
            }
        }
    }

    /// One request, with retries of transient failures. Returns the response body (JSON, or
    /// `Null` for 204) and its rate-limit headers.
    pub(super) async fn call(
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

    pub(super) fn step_reason(&self, step: StepId) -> String {
        format!("{}:{step}", self.reason)
    }

    /// Runs one step (its body built from the current id map by the caller).
    pub(super) async fn run(&self, step: &Step, call: Call) -> Result<Outcome, Failure> {
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
        // A create written ahead and marked as sent before a restart: what finds it in its
        // endpoint's list (then it is not sent again).
        let mut look_up: Option<Finder<'_>> = None;
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
            Req::AddMember(user, b, sent_before) => {
                if *sent_before && let Some(outcome) = self.added_before(*user, &notes).await? {
                    return Ok(outcome);
                }
                return self.add_member(*user, b, notes, &reason).await;
            }
            // A ban keeps its own reason (the restored ban is the snapshot's, reason included);
            // banning someone banned already changes nothing, as unbanning someone who is not.
            Req::Ban(user, ban_reason) => {
                let body = serde_json::json!({ "delete_message_seconds": 0 });
                let endpoint = Endpoint::GuildBan(g, *user);
                return match self
                    .call(
                        endpoint,
                        Method::Put,
                        Some(&body),
                        ban_reason.as_deref(),
                        &[],
                    )
                    .await
                {
                    Ok(answer) => Ok(Outcome {
                        created: None,
                        notes,
                        rate: answer.rate,
                    }),
                    Err(e) => Err(refused(e)),
                };
            }
            Req::CreateEmoji(b, sent_before) => {
                let name = b.get("name").and_then(Value::as_str).unwrap_or_default();
                let animated = b
                    .get("image")
                    .and_then(Value::as_str)
                    .is_some_and(|i| i.starts_with("data:image/gif"));
                let same = move |e: &Value| {
                    e.get("name").and_then(Value::as_str) == Some(name)
                        && e.get("animated").and_then(Value::as_bool).unwrap_or(false) == animated
                };
                if *sent_before {
                    look_up = Some(Box::new(same));
                }
                (
                    Endpoint::GuildEmojis(g),
                    Method::Post,
                    Some(b),
                    false,
                    false,
                )
            }
            Req::CreateSticker(fields, file, format_type, sent_before) => {
                let name = fields
                    .iter()
                    .find(|(k, _)| k == "name")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                let same = |x: &Value| x.get("name").and_then(Value::as_str) == Some(name.as_str());
                if *sent_before
                    && let Some(outcome) = self
                        .uploaded_before(Endpoint::GuildStickers(g), same, &notes)
                        .await?
                {
                    return Ok(outcome);
                }
                return self
                    .upload_sticker(fields, file, *format_type, &reason, notes)
                    .await;
            }
            Req::EditSticker(s, b) => (
                Endpoint::GuildSticker(g, *s),
                Method::Patch,
                Some(b),
                false,
                false,
            ),
            Req::DeleteSticker(s) => (
                Endpoint::GuildSticker(g, *s),
                Method::Delete,
                None,
                false,
                true,
            ),
            Req::CreateAutoMod(b, sent_before) => {
                let name = b.get("name").and_then(Value::as_str).unwrap_or_default();
                let trigger = b.get("trigger_type").and_then(Value::as_i64);
                let same = move |r: &Value| {
                    r.get("name").and_then(Value::as_str) == Some(name)
                        && r.get("trigger_type").and_then(Value::as_i64) == trigger
                };
                if *sent_before {
                    look_up = Some(Box::new(same));
                }
                (
                    Endpoint::GuildAutoModRules(g),
                    Method::Post,
                    Some(b),
                    false,
                    false,
                )
            }
            Req::EditAutoMod(r, b) => (
                Endpoint::GuildAutoModRule(g, *r),
                Method::Patch,
                Some(b),
                false,
                false,
            ),
            Req::DeleteAutoMod(r) => (
                Endpoint::GuildAutoModRule(g, *r),
                Method::Delete,
                None,
                false,
                true,
            ),
            Req::Replay(spec) => return self.replay(spec, notes).await,
            Req::ReplayEnd(channel) => return self.replay_end(*channel, notes).await,
            Req::CreateThread(parent, spec, sent_before) => {
                return self
                    .create_thread(*parent, spec, *sent_before, &reason, notes)
                    .await;
            }
            Req::EditThread(parent, thread, spec, reopen) => {
                return self
                    .edit_thread(*parent, *thread, spec, *reopen, &reason, notes)
                    .await;
            }
            Req::CreateEvent(b, sent_before) => {
                let name = b.get("name").and_then(Value::as_str).unwrap_or_default();
                let start = b.get("scheduled_start_time").and_then(Value::as_str);
                let same = move |e: &Value| {
                    e.get("name").and_then(Value::as_str) == Some(name)
                        && e.get("scheduled_start_time").and_then(Value::as_str) == start
                };
                if *sent_before {
                    look_up = Some(Box::new(same));
                }
                (
                    Endpoint::GuildScheduledEvents(g),
                    Method::Post,
                    Some(b),
                    false,
                    false,
                )
            }
            Req::CreateWebhook(channel, b, sent_before) => {
                let name = b.get("name").and_then(Value::as_str).unwrap_or_default();
                // Made by Umbra before the restart: the channel's webhook of that name (the
                // planner makes one only where none of that name was left).
                let same = move |w: &Value| w.get("name").and_then(Value::as_str) == Some(name);
                if *sent_before {
                    look_up = Some(Box::new(same));
                }
                (
                    Endpoint::ChannelWebhooks(*channel),
                    Method::Post,
                    Some(b),
                    true,
                    false,
                )
            }
            Req::EditWebhook(w, b) => (Endpoint::Webhook(*w), Method::Patch, Some(b), false, false),
            Req::DeleteWebhook(w) => (Endpoint::Webhook(*w), Method::Delete, None, false, true),
            Req::EditWelcome(b) => (
                Endpoint::GuildWelcomeScreen(g),
                Method::Patch,
                Some(b),
                false,
                false,
            ),
            Req::PutOnboarding(b) => (
                Endpoint::GuildOnboarding(g),
                Method::Put,
                Some(b),
                false,
                false,
            ),
            Req::EditEvent(e, b) => (
                Endpoint::GuildScheduledEvent(g, *e),
                Method::Patch,
                Some(b),
                false,
                false,
            ),
            Req::DeleteEvent(e) => (
                Endpoint::GuildScheduledEvent(g, *e),
                Method::Delete,
                None,
                false,
                true,
            ),
            Req::DeleteThread(t) => (Endpoint::Channel(*t), Method::Delete, None, false, true),
            Req::EditEmoji(e, b) => (
                Endpoint::GuildEmoji(g, *e),
                Method::Patch,
                Some(b),
                false,
                false,
            ),
            Req::DeleteEmoji(e) => (
                Endpoint::GuildEmoji(g, *e),
                Method::Delete,
                None,
                false,
                true,
            ),
            Req::Unban(user) => (
                Endpoint::GuildBan(g, *user),
                Method::Delete,
                None,
                false,
                true,
            ),
            Req::Nothing => {
                return Ok(Outcome {
                    created: None,
                    notes,
                    rate: None,
                });
            }
        };
        if let Some(same) = look_up
            && let Some(outcome) = self.uploaded_before(endpoint.clone(), same, &notes).await?
        {
            return Ok(outcome);
        }
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

    /// Uploads a sticker (one multipart call, never retried blindly: a second upload would
    /// make a second sticker; a failure is reported, and a crash looks the sticker up).
    async fn upload_sticker(
        &self,
        fields: &[(String, String)],
        file: &str,
        format_type: i16,
        reason: &str,
        notes: Vec<String>,
    ) -> Result<Outcome, Failure> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(file)
            .map_err(|_| Failure {
                reason: "the snapshot's sticker file is not base64".into(),
                code: None,
            })?;
        let filename = if format_type == 4 {
            "sticker.gif"
        } else {
            "sticker.png"
        };
        let call =
            crate::discord::rest::RestCall::new(Method::Post, Endpoint::GuildStickers(self.guild))
                .reason(Some(reason))
                .file(crate::discord::rest::RestFile {
                    filename: filename.to_owned(),
                    bytes,
                    fields: fields.to_vec(),
                });
        match self.rest.send(call).await {
            Ok(answer) => Ok(Outcome {
                created: None,
                notes,
                rate: answer.rate.and_then(Rate::from_headers),
            }),
            Err(e) => Err(match classify(e) {
                CallError::Transient(m) => Failure {
                    reason: m,
                    code: None,
                },
                CallError::Refused(f, _) => f,
            }),
        }
    }

    /// The ids of `parent`'s forum tags named `names` (`GET /channels/{parent}`; unknown names
    /// are left out).
    async fn tag_ids(&self, parent: u64, names: &[String]) -> Result<Vec<String>, Failure> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let answer = self
            .call(Endpoint::Channel(parent), Method::Get, None, None, &[])
            .await
            .map_err(failure_of)?;
        let tags = answer
            .body
            .get("available_tags")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(names
            .iter()
            .filter_map(|n| {
                tags.iter()
                    .find(|t| t.get("name").and_then(Value::as_str) == Some(n.as_str()))
                    .and_then(|t| t.get("id").and_then(Value::as_str))
                    .map(str::to_owned)
            })
            .collect())
    }

    /// A thread of `parent` named `name` that exists now (active or archived), and whether it
    /// is archived: after a crash between marking its creation and recording it.
    async fn thread_named(&self, parent: u64, name: &str) -> Result<Option<(u64, bool)>, Failure> {
        let same = |t: &&Value| {
            t.get("name").and_then(Value::as_str) == Some(name)
                && t.get("parent_id").and_then(Value::as_str) == Some(parent.to_string().as_str())
        };
        let id = |t: &Value| {
            let id = t.get("id").and_then(Value::as_str)?.parse::<u64>().ok()?;
            let archived = t
                .pointer("/thread_metadata/archived")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Some((id, archived))
        };
        for endpoint in [
            Endpoint::GuildActiveThreads(self.guild),
            Endpoint::ChannelArchivedThreads(parent),
        ] {
            let answer = self
                .call(endpoint, Method::Get, None, None, &[])
                .await
                .map_err(failure_of)?;
            let found = answer
                .body
                .get("threads")
                .and_then(Value::as_array)
                .and_then(|list| list.iter().find(same).and_then(id));
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Creates a thread (a forum post with its starter message: its text, or its title when
    /// the text was not kept), then sets its archive state, lock and pin in one `PATCH`. After
    /// a crash, a thread of that name in that channel is the one created before: only the
    /// `PATCH` is sent.
    async fn create_thread(
        &self,
        parent: u64,
        spec: &super::bodies::ThreadSpec,
        sent_before: bool,
        reason: &str,
        mut notes: Vec<String>,
    ) -> Result<Outcome, Failure> {
        let f = &spec.fields;
        let existing = if sent_before {
            self.thread_named(parent, &spec.name).await?
        } else {
            None
        };
        // A thread found archived had its archive PATCH too (Discord takes no other change on
        // an archived thread).
        let mut done_before = false;
        let (thread, mut rate) = match existing {
            Some((id, archived)) => {
                notes.push("created before a restart: not sent again".into());
                done_before = archived;
                (id, None)
            }
            None => {
                let mut body = serde_json::json!({
                    "name": spec.name,
                    "auto_archive_duration": f.auto_archive_duration,
                    "rate_limit_per_user": f.rate_limit_per_user,
                });
                if spec.post {
                    body["applied_tags"] = serde_json::json!(self.tag_ids(parent, &f.tags).await?);
                    let text = spec
                        .starter
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| spec.name.clone());
                    body["message"] = serde_json::json!({ "content": text });
                } else {
                    body["type"] = serde_json::json!(f.kind);
                    if f.kind == 12 {
                        body["invitable"] = serde_json::json!(f.invitable);
                    }
                }
                let answer = self
                    .call(
                        Endpoint::ChannelThreads(parent),
                        Method::Post,
                        Some(&body),
                        Some(reason),
                        &[],
                    )
                    .await
                    .map_err(failure_of)?;
                let id = answer
                    .body
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|i| i.parse::<u64>().ok())
                    .ok_or_else(|| Failure {
                        reason: "Discord's answer has no id".into(),
                        code: None,
                    })?;
                (id, answer.rate)
            }
        };
        if (f.archived || f.locked || f.pinned) && !done_before {
            let body = serde_json::json!({
                "archived": f.archived,
                "locked": f.locked,
                "flags": if f.pinned { 2 } else { 0 },
            });
            let answer = self
                .call(
                    Endpoint::Channel(thread),
                    Method::Patch,
                    Some(&body),
                    Some(reason),
                    &[],
                )
                .await
                .map_err(failure_of)?;
            rate = rate.or(answer.rate);
        }
        Ok(Outcome {
            created: None,
            notes,
            rate,
        })
    }

    /// Gives a thread its snapshot state: one `PATCH`; an archived thread is opened by it
    /// (Discord takes no other change on an archived thread) and archived again by a second.
    async fn edit_thread(
        &self,
        parent: u64,
        thread: u64,
        spec: &super::bodies::ThreadSpec,
        reopen: bool,
        reason: &str,
        notes: Vec<String>,
    ) -> Result<Outcome, Failure> {
        let f = &spec.fields;
        let mut body = serde_json::json!({
            "name": spec.name,
            "auto_archive_duration": f.auto_archive_duration,
            "rate_limit_per_user": f.rate_limit_per_user,
            "flags": if f.pinned { 2 } else { 0 },
        });
        if !f.tags.is_empty() {
            body["applied_tags"] = serde_json::json!(self.tag_ids(parent, &f.tags).await?);
        }
        if f.kind == 12 {
            body["invitable"] = serde_json::json!(f.invitable);
        }
        let again = reopen && f.archived;
        if reopen {
            body["archived"] = serde_json::json!(false);
        } else {
            body["archived"] = serde_json::json!(f.archived);
            body["locked"] = serde_json::json!(f.locked);
        }
        if reopen && !f.archived {
            body["locked"] = serde_json::json!(f.locked);
        }
        let answer = self
            .call(
                Endpoint::Channel(thread),
                Method::Patch,
                Some(&body),
                Some(reason),
                &[],
            )
            .await
            .map_err(failure_of)?;
        if again {
            self.call(
                Endpoint::Channel(thread),
                Method::Patch,
                Some(&serde_json::json!({ "archived": true, "locked": f.locked })),
                Some(reason),
                &[],
            )
            .await
            .map_err(failure_of)?;
        }
        Ok(Outcome {
            created: None,
            notes,
            rate: answer.rate,
        })
    }

    /// After a crash between marking an upload (an emoji, a sticker) and recording it: whether
    /// the guild's list at `endpoint` has an item that `matches` (then it was uploaded: done,
    /// with a note, and not sent again).
    async fn uploaded_before(
        &self,
        endpoint: Endpoint,
        matches: impl Fn(&Value) -> bool,
        notes: &[String],
    ) -> Result<Option<Outcome>, Failure> {
        match self.call(endpoint, Method::Get, None, None, &[]).await {
            Ok(Answer {
                body: Value::Array(items),
                ..
            }) => Ok(items.iter().find(|i| matches(i)).map(|found| Outcome {
                // What was found (a webhook's id is kept: its new URL is reported).
                created: found
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|id| id.parse().ok()),
                notes: notes
                    .iter()
                    .cloned()
                    .chain(["uploaded before a restart: not sent again".to_owned()])
                    .collect(),
                rate: None,
            })),
            Ok(_) => Ok(None),
            Err(CallError::Transient(m))
            | Err(CallError::Refused(Failure { reason: m, .. }, _)) => Err(Failure {
                reason: format!("looking for an upload made before a restart failed: {m}"),
                code: None,
            }),
        }
    }

    /// The guild's roles or channels now (`GET`), as JSON objects.
    pub(super) async fn list(&self, channels: bool) -> Result<Vec<Value>, String> {
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
    pub(super) async fn audited_creates(
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

/// A failed call as a step's failure.
fn failure_of(e: CallError) -> Failure {
    match e {
        CallError::Transient(m) => Failure {
            reason: m,
            code: None,
        },
        CallError::Refused(f, _) => f,
    }
}
