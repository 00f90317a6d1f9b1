//! Purpose: posting kept messages again (issue 16) — each channel gets one replay webhook for
//! this job (`Umbra replay <job>`: made by its first message, found again by name after a
//! restart, deleted after its last message); each message goes through it as its author
//! (`?wait=true`, files as `files[n]`), then is pinned when it was. A message marked as sent
//! before a restart, or whose call failed without an answer, is looked for first — the
//! replay webhook's message after the channel's last recorded one — and never posted twice.

use super::super::bodies::ReplaySpec;
use super::*;

impl Discord {
    /// The name of this job's replay webhooks.
    fn replay_name(&self) -> String {
        let short = self.reason.rsplit(':').next().unwrap_or_default();
        format!(
            "{}{short}",
            crate::recovery::sync::model::REPLAY_WEBHOOK_PREFIX
        )
    }

    /// This job's replay webhook in `channel`: known, found by name, or made (`create`).
    /// `Ok(None)`: none exists and `create` is false.
    async fn replay_hook(
        &self,
        channel: u64,
        create: bool,
    ) -> Result<Option<(u64, String)>, Failure> {
        let mut hooks = self.replay_hooks.lock().await;
        if let Some(h) = hooks.get(&channel) {
            return Ok(Some(h.clone()));
        }
        let name = self.replay_name();
        let listed = self
            .call(
                Endpoint::ChannelWebhooks(channel),
                Method::Get,
                None,
                None,
                &[],
            )
            .await
            .map_err(failure_of)?;
        let found = listed.body.as_array().and_then(|list| {
            list.iter().find_map(|w| {
                (w.get("name").and_then(Value::as_str) == Some(name.as_str())).then(|| {
                    let id = w.get("id")?.as_str()?.parse::<u64>().ok()?;
                    let token = w.get("token")?.as_str()?.to_owned();
                    Some((id, token))
                })?
            })
        });
        let hook = match found {
            Some(h) => h,
            None if !create => return Ok(None),
            None => {
                // Found by name if a restart comes before it is used: never made twice.
                let made = self
                    .call(
                        Endpoint::ChannelWebhooks(channel),
                        Method::Post,
                        Some(&json!({ "name": name })),
                        Some(&self.reason),
                        &[],
                    )
                    .await
                    .map_err(failure_of)?;
                let id = made
                    .body
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<u64>().ok());
                let token = made.body.get("token").and_then(Value::as_str);
                match (id, token) {
                    (Some(id), Some(token)) => (id, token.to_owned()),
                    _ => {
                        return Err(Failure {
                            reason: "Discord's new webhook has no id or token".into(),
                            code: None,
                        });
                    }
                }
            }
        };
        hooks.insert(channel, hook.clone());
        Ok(Some(hook))
    }

    /// The replay webhook's first message in `channel` after `after` (none: any), if any.
    async fn replayed_after(
        &self,
        channel: u64,
        hook: u64,
        after: Option<u64>,
    ) -> Result<Option<u64>, Failure> {
        let mut query = vec![("limit", "100".to_owned())];
        if let Some(a) = after {
            query.push(("after", a.to_string()));
        }
        let page = self
            .call(
                Endpoint::ChannelMessages(channel),
                Method::Get,
                None,
                None,
                &query,
            )
            .await
            .map_err(failure_of)?;
        let hook = hook.to_string();
        Ok(page
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m.get("webhook_id").and_then(Value::as_str) == Some(hook.as_str()))
            .filter_map(|m| m.get("id")?.as_str()?.parse::<u64>().ok())
            .min())
    }

    /// Posts one kept message again (see the module's purpose); `created` is its new id.
    pub(super) async fn replay(
        &self,
        spec: &ReplaySpec,
        mut notes: Vec<String>,
    ) -> Result<Outcome, Failure> {
        use base64::Engine as _;
        if spec.sent_before
            && let Some((hook, _)) = self.replay_hook(spec.channel, false).await?
            && let Some(id) = self.replayed_after(spec.channel, hook, spec.after).await?
        {
            notes.push("posted before a restart: not sent again".into());
            self.pin(spec, id).await?;
            return Ok(Outcome {
                created: Some(id),
                notes,
                rate: None,
            });
        }
        let Some((hook, token)) = self.replay_hook(spec.channel, true).await? else {
            return Err(Failure {
                reason: "no replay webhook".into(),
                code: None,
            });
        };
        let mut files = Vec::with_capacity(spec.files.len());
        for (name, data) in &spec.files {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| Failure {
                    reason: "the snapshot's file is not base64".into(),
                    code: None,
                })?;
            files.push(crate::discord::rest::RestFile {
                filename: name.clone(),
                bytes,
                fields: Vec::new(),
            });
        }
        let mut attempt = 0u32;
        let answer = loop {
            let call = RestCall::new(Method::Post, Endpoint::WebhookExecute(hook, token.clone()))
                .query("wait", "true")
                .body(spec.body.clone())
                .attachments(files.clone());
            match self.rest.send(call).await.map_err(classify) {
                Ok(answer) => break answer,
                Err(CallError::Refused(f, _)) => return Err(f),
                // No answer: it may have been posted. Look before sending again.
                Err(CallError::Transient(m)) => {
                    if let Some(id) = self.replayed_after(spec.channel, hook, spec.after).await? {
                        self.pin(spec, id).await?;
                        return Ok(Outcome {
                            created: Some(id),
                            notes,
                            rate: None,
                        });
                    }
                    if attempt >= self.retries {
                        return Err(Failure {
                            reason: m,
                            code: None,
                        });
                    }
                    attempt += 1;
                    tokio::time::sleep(crate::queue::jittered(
                        attempt + 1,
                        Duration::from_millis(250),
                        Duration::from_secs(16),
                    ))
                    .await;
                }
            }
        };
        let id = answer
            .body
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| Failure {
                reason: "Discord's answer has no id".into(),
                code: None,
            })?;
        self.pin(spec, id).await?;
        Ok(Outcome {
            created: Some(id),
            notes,
            rate: answer.rate.and_then(Rate::from_headers),
        })
    }

    /// Pins a posted message again when it was pinned (a `PUT`: pinning twice changes nothing).
    async fn pin(&self, spec: &ReplaySpec, message: u64) -> Result<(), Failure> {
        if !spec.pinned {
            return Ok(());
        }
        self.call(
            Endpoint::ChannelPin(spec.channel, message),
            Method::Put,
            None,
            Some(&self.reason),
            &[],
        )
        .await
        .map(|_| ())
        .map_err(failure_of)
    }

    /// Deletes this job's replay webhook of `channel` (already gone: done).
    pub(super) async fn replay_end(
        &self,
        channel: u64,
        notes: Vec<String>,
    ) -> Result<Outcome, Failure> {
        let hook = self.replay_hook(channel, false).await?;
        self.replay_hooks.lock().await.remove(&channel);
        if let Some((id, _)) = hook {
            match self
                .call(
                    Endpoint::Webhook(id),
                    Method::Delete,
                    None,
                    Some(&self.reason),
                    &[],
                )
                .await
            {
                Ok(_) | Err(CallError::Refused(_, 404)) => {}
                Err(e) => return Err(failure_of(e)),
            }
        }
        Ok(Outcome {
            created: None,
            notes,
            rate: None,
        })
    }
}
