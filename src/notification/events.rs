//! Purpose: the outbox consumer of the notification domain — owner-facing events become
//! `notification.requests` through one mapping table ([`RULES`]: one line per event), idempotent
//! on the outbox id (`dedupe_key` = `<outbox id>:<kind>`, ON CONFLICT DO NOTHING).

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::model::{Category, NewRequest, StoredArg};
use super::service::NotificationService;
use crate::billing::service::events as billing;
use crate::guild::{GuildReader, GuildRecord};
use crate::i18n::{Msg, msg};
use crate::outbox::relay::Consumer;
use crate::outbox::{OutboxEvent, event_types as ev};

/// Where a template argument comes from in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSource {
    /// The server's name: the payload's `guild_name` or `name`, else Umbra's record, else its id.
    GuildName,
    /// A payload field shown as is.
    Text(&'static str),
    /// A payload field holding a plan code (shown as the plan's localized name).
    Plan(&'static str),
    /// A payload field holding a time (shown as a date; null or missing: "no end date").
    Date(&'static str),
    /// A payload field holding a number.
    Number(&'static str),
    /// A payload field already holding a stored argument (`{"type": .., "value": ..}`, e.g. a
    /// message rendered in the recipient's language).
    Stored(&'static str),
}

/// One owner-facing event and the notification it becomes.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub event_type: &'static str,
    /// `notification.requests.kind`.
    pub kind: &'static str,
    pub category: Category,
    pub template: Msg,
    /// The template's variables and where each comes from.
    pub args: &'static [(&'static str, ArgSource)],
}

const fn rule(
    event_type: &'static str,
    kind: &'static str,
    category: Category,
    template: Msg,
    args: &'static [(&'static str, ArgSource)],
) -> Rule {
    Rule {
        event_type,
        kind,
        category,
        template,
        args,
    }
}

const GUILD: (&str, ArgSource) = ("guild", ArgSource::GuildName);
const PLAN: (&str, ArgSource) = ("plan", ArgSource::Plan("plan"));
const UNTIL: (&str, ArgSource) = ("until", ArgSource::Date("ends_at"));

use Category::{Backups, Billing, Lifecycle, Security};

/// Every event that notifies the guild's owner. A new one is one line (and its message in
/// `locales/*/notification.ftl`).
pub const RULES: &[Rule] = &[
    rule(
        ev::GUILD_INSTALLED,
        "welcome",
        Lifecycle,
        msg::NOTIFY_WELCOME,
        &[GUILD],
    ),
    rule(
        ev::LICENSE_GRANTED,
        "license_granted",
        Billing,
        msg::NOTIFY_LICENSE_GRANTED,
        &[GUILD, PLAN, UNTIL],
    ),
    rule(
        billing::PAYMENT_SUCCEEDED,
        "payment_receipt",
        Billing,
        msg::NOTIFY_PAYMENT_RECEIPT,
        &[
            GUILD,
            PLAN,
            ("amount", ArgSource::Number("amount_krw")),
            ("until", ArgSource::Date("period_end")),
            ("receipt", ArgSource::Text("receipt_url")),
        ],
    ),
    rule(
        billing::PAYMENT_FAILED,
        "payment_failed",
        Billing,
        msg::NOTIFY_PAYMENT_FAILED,
        &[GUILD, PLAN, ("code", ArgSource::Text("failure_code"))],
    ),
    rule(
        billing::SUBSCRIPTION_EXPIRED,
        "subscription_expired",
        Billing,
        msg::NOTIFY_SUBSCRIPTION_EXPIRED,
        &[GUILD, PLAN],
    ),
    rule(
        billing::SUBSCRIPTION_CANCELED,
        "subscription_canceled",
        Billing,
        msg::NOTIFY_SUBSCRIPTION_CANCELED,
        &[GUILD, PLAN],
    ),
    rule(
        ev::LICENSE_REVOKED,
        "license_revoked",
        Billing,
        msg::NOTIFY_LICENSE_REVOKED,
        &[GUILD, PLAN],
    ),
    rule(
        ev::LICENSE_EXPIRED,
        "license_expired",
        Billing,
        msg::NOTIFY_LICENSE_EXPIRED,
        &[GUILD, PLAN],
    ),
    rule(
        ev::RETENTION_REDUCED,
        "retention_reduced",
        Backups,
        msg::NOTIFY_RETENTION_REDUCED,
        &[
            GUILD,
            PLAN,
            ("new_plan", ArgSource::Plan("new_plan")),
            ("keep", ArgSource::Number("keep")),
            ("until", ArgSource::Date("until")),
        ],
    ),
    rule(
        ev::INCIDENT_DETECTED,
        "incident_detected",
        Security,
        msg::NOTIFY_INCIDENT_DETECTED,
        &[
            GUILD,
            ("actor", ArgSource::Text("actor")),
            ("class", ArgSource::Text("class")),
            ("count", ArgSource::Number("count")),
            ("destroyed", ArgSource::Number("destroyed")),
            ("outcome", ArgSource::Text("outcome")),
            ("blocker", ArgSource::Text("blocker")),
            ("cleaned", ArgSource::Number("cleaned")),
        ],
    ),
    rule(
        ev::INCIDENT_RESOLVED,
        "incident_resolved",
        Security,
        msg::NOTIFY_INCIDENT_RESOLVED,
        &[
            GUILD,
            ("actor", ArgSource::Text("actor")),
            ("resolution", ArgSource::Text("resolution")),
            ("by", ArgSource::Text("by")),
        ],
    ),
    rule(
        ev::SNAPSHOT_FAILED,
        "snapshot_failed",
        Backups,
        msg::NOTIFY_SNAPSHOT_FAILED,
        &[GUILD, ("reason", ArgSource::Text("reason"))],
    ),
    rule(
        ev::RESTORE_STARTED,
        "restore_started",
        Backups,
        msg::NOTIFY_RESTORE_STARTED,
        &[
            GUILD,
            ("total", ArgSource::Number("total")),
            ("mode", ArgSource::Text("mode")),
        ],
    ),
    rule(
        ev::RESTORE_COMPLETED,
        "restore_completed",
        Backups,
        msg::NOTIFY_RESTORE_COMPLETED,
        &[
            GUILD,
            ("done", ArgSource::Number("done")),
            ("failed", ArgSource::Number("failed")),
            ("total", ArgSource::Number("total")),
            ("seconds", ArgSource::Number("seconds")),
            ("details", ArgSource::Text("details")),
        ],
    ),
    rule(
        ev::RESTORE_FAILED,
        "restore_failed",
        Backups,
        msg::NOTIFY_RESTORE_FAILED,
        &[GUILD, ("reason", ArgSource::Text("reason"))],
    ),
    rule(
        ev::GUILD_PROTECTION_CHANGED,
        "protection_changed",
        Security,
        msg::NOTIFY_PROTECTION_CHANGED,
        &[
            GUILD,
            ("actor", ArgSource::Text("actor")),
            ("change", ArgSource::Stored("change")),
        ],
    ),
    rule(
        ev::GUILD_CHANGE_REQUESTED,
        "change_requested",
        Security,
        msg::NOTIFY_CHANGE_REQUESTED,
        &[
            GUILD,
            ("actor", ArgSource::Text("actor")),
            ("change", ArgSource::Stored("change")),
            ("hours", ArgSource::Number("hours")),
        ],
    ),
    rule(
        ev::GUILD_PROTECTION_DEGRADED,
        "protection_degraded",
        Security,
        msg::NOTIFY_PROTECTION_DEGRADED,
        &[GUILD, ("reasons", ArgSource::Stored("reasons"))],
    ),
    rule(
        ev::GUILD_PROTECTION_RESTORED,
        "protection_restored",
        Security,
        msg::NOTIFY_PROTECTION_RESTORED,
        &[GUILD],
    ),
    rule(
        ev::GUILD_REMOVED,
        "guild_removed",
        Lifecycle,
        msg::NOTIFY_GUILD_REMOVED,
        &[GUILD, ("until", ArgSource::Date("purge_after"))],
    ),
    rule(
        ev::SNAPSHOT_DELETED,
        "snapshot_deleted",
        Backups,
        msg::NOTIFY_SNAPSHOT_DELETED,
        &[
            GUILD,
            ("snapshot", ArgSource::Text("name")),
            ("actor", ArgSource::Text("actor")),
        ],
    ),
    rule(
        ev::RESTORE_APPROVAL_REQUESTED,
        "restore_approval",
        Security,
        msg::NOTIFY_RESTORE_APPROVAL,
        &[
            GUILD,
            ("actor", ArgSource::Text("actor")),
            ("snapshot", ArgSource::Text("snapshot")),
            ("reasons", ArgSource::Stored("reasons")),
            ("risks", ArgSource::Text("risks")),
        ],
    ),
    rule(
        ev::RESTORE_CANCELLED,
        "restore_cancelled",
        Backups,
        msg::NOTIFY_RESTORE_CANCELLED,
        &[
            GUILD,
            ("done", ArgSource::Number("done")),
            ("total", ArgSource::Number("total")),
        ],
    ),
];

/// The rules for an event type.
pub fn rules_for(event_type: &str) -> impl Iterator<Item = &'static Rule> + '_ {
    RULES.iter().filter(move |r| r.event_type == event_type)
}

fn discord_id(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

fn text(payload: &Value, field: &str) -> Option<String> {
    match payload.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn stored(source: ArgSource, event: &OutboxEvent, guild: Option<&GuildRecord>) -> StoredArg {
    let payload = &event.payload;
    match source {
        ArgSource::GuildName => StoredArg::Text(
            text(payload, "guild_name")
                .or_else(|| text(payload, "name"))
                .or_else(|| guild.map(|g| g.name.clone()))
                .or_else(|| event.guild_discord_id.map(|g| g.to_string()))
                .unwrap_or_default(),
        ),
        ArgSource::Text(field) => StoredArg::Text(text(payload, field).unwrap_or_default()),
        ArgSource::Plan(field) => StoredArg::Plan(text(payload, field).unwrap_or_default()),
        ArgSource::Date(field) => StoredArg::Date(
            payload
                .get(field)
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
        ),
        ArgSource::Number(field) => {
            StoredArg::Number(payload.get(field).and_then(Value::as_i64).unwrap_or(0))
        }
        ArgSource::Stored(field) => payload
            .get(field)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_else(|| StoredArg::Text(String::new())),
    }
}

/// The request `rule` makes of `event`. The recipient is the payload's `owner_discord_id`, else
/// the guild's recorded owner; `None` when neither is known (nobody to notify).
pub fn build(rule: &Rule, event: &OutboxEvent, guild: Option<&GuildRecord>) -> Option<NewRequest> {
    let recipient = discord_id(event.payload.get("owner_discord_id"))
        .or_else(|| guild.map(|g| g.owner_discord_id).filter(|id| *id > 0))?;
    let mut args = Map::new();
    for (name, source) in rule.args {
        let value = serde_json::to_value(stored(*source, event, guild)).unwrap_or(Value::Null);
        args.insert((*name).to_owned(), value);
    }
    if let Some(buttons) = event.payload.get("buttons").filter(|b| b.is_array()) {
        args.insert("_buttons".to_owned(), buttons.clone());
    }
    Some(NewRequest {
        guild_id: guild.map(|g| g.id),
        recipient_discord_id: recipient,
        kind: rule.kind.to_owned(),
        category: rule.category,
        template_key: rule.template.key.to_owned(),
        args: Value::Object(args),
        locale: text(&event.payload, "locale"),
        dedupe_key: format!("{}:{}", event.id, rule.kind),
    })
}

/// The outbox consumer that turns owner-facing events into notification requests.
pub struct NotificationConsumer {
    service: NotificationService,
    guilds: Arc<dyn GuildReader>,
    wake: Arc<Notify>,
}

impl NotificationConsumer {
    pub const NAME: &'static str = "notification";

    /// `wake` is the sender's wake-up (so a new request goes out without waiting for a poll).
    pub fn new(
        service: NotificationService,
        guilds: Arc<dyn GuildReader>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            service,
            guilds,
            wake,
        }
    }

    /// Turns one event into its requests. Returns how many were new.
    pub async fn consume(&self, event: &OutboxEvent) -> anyhow::Result<usize> {
        let mut created = 0;
        let mut guild: Option<Option<GuildRecord>> = None;
        for rule in rules_for(&event.event_type) {
            if guild.is_none() {
                guild = Some(match event.guild_discord_id {
                    Some(id) => self.guilds.guild(crate::ids::from_db(id)).await?,
                    None => None,
                });
            }
            let record = guild.as_ref().and_then(Option::as_ref);
            let Some(request) = build(rule, event, record) else {
                tracing::warn!(event = %event.id, event_type = %event.event_type, "notification: no recipient in the event; nothing to send");
                continue;
            };
            if self.service.enqueue(&request).await? {
                created += 1;
            }
        }
        if created > 0 {
            self.wake.notify_one();
        }
        Ok(created)
    }
}

impl Consumer for NotificationConsumer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn wants(&self, event_type: &str) -> bool {
        rules_for(event_type).next().is_some()
    }

    fn handle<'a>(&'a self, event: &'a OutboxEvent) -> BoxFuture<'a, anyhow::Result<()>> {
        async move {
            self.consume(event).await?;
            Ok(())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;
    use uuid::Uuid;

    fn event(event_type: &str, payload: Value) -> OutboxEvent {
        OutboxEvent {
            id: Uuid::now_v7(),
            event_type: event_type.to_owned(),
            aggregate_type: "guild".into(),
            aggregate_id: "42".into(),
            guild_discord_id: Some(42),
            payload,
            occurred_at: Utc::now(),
            attempts: 1,
            fencing: 1,
            delivered_to: vec![],
        }
    }

    fn record() -> GuildRecord {
        GuildRecord {
            id: Uuid::now_v7(),
            discord_id: 42,
            owner_discord_id: 7,
            name: "Recorded".into(),
            status: crate::guild::GuildStatus::Active,
            installed_at: Utc::now(),
            removed_at: None,
        }
    }

    #[test]
    fn every_rule_fills_exactly_the_variables_its_template_declares() {
        for rule in RULES {
            let mut given: Vec<&str> = rule.args.iter().map(|(n, _)| *n).collect();
            let mut declared: Vec<&str> = rule.template.args.to_vec();
            given.sort_unstable();
            declared.sort_unstable();
            assert_eq!(
                given, declared,
                "{} -> {}",
                rule.event_type, rule.template.key
            );
            assert!(
                rule.template.key.starts_with("notify-"),
                "{}",
                rule.template.key
            );
        }
    }

    #[test]
    fn each_event_type_and_kind_appears_once_in_the_table() {
        let mut kinds: Vec<&str> = RULES.iter().map(|r| r.kind).collect();
        kinds.sort_unstable();
        let before = kinds.len();
        kinds.dedup();
        assert_eq!(kinds.len(), before, "duplicate kinds");
    }

    #[test]
    fn a_granted_license_notifies_the_owner_named_in_the_payload_with_typed_arguments() {
        let e = event(
            ev::LICENSE_GRANTED,
            json!({"plan": "pro", "ends_at": null, "owner_discord_id": "1234", "guild_name": "Cozy"}),
        );
        let rule = rules_for(ev::LICENSE_GRANTED).next().expect("a rule");
        let guild = record();
        let request = build(rule, &e, Some(&guild)).expect("a request");
        assert_eq!(request.recipient_discord_id, 1234);
        assert_eq!(request.guild_id, Some(guild.id));
        assert_eq!(request.category, Category::Billing);
        assert_eq!(request.dedupe_key, format!("{}:license_granted", e.id));
        assert_eq!(
            request.args,
            json!({
                "guild": {"type": "text", "value": "Cozy"},
                "plan": {"type": "plan", "value": "pro"},
                "until": {"type": "date", "value": null},
            })
        );
    }

    #[test]
    fn without_an_owner_in_the_payload_the_recorded_owner_is_notified_and_the_recorded_name_used() {
        let e = event(ev::GUILD_INSTALLED, json!({}));
        let rule = rules_for(ev::GUILD_INSTALLED).next().expect("a rule");
        let request = build(rule, &e, Some(&record())).expect("a request");
        assert_eq!(request.recipient_discord_id, 7);
        assert_eq!(request.args["guild"]["value"], "Recorded");
        assert!(build(rule, &e, None).is_none(), "nobody to notify");
    }

    #[test]
    fn events_without_a_rule_are_not_wanted() {
        assert!(rules_for(ev::GUILD_CONFIG_CHANGED).next().is_none());
        assert!(rules_for(ev::LICENSE_EXPIRED).next().is_some());
    }
}
