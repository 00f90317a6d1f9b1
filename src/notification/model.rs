//! Purpose: notification types and rules without I/O — categories, request states, preferences,
//! stored template arguments, the locale chain, the delivery decision, the classification of
//! Discord errors, retry backoff, and the message nonce that makes a resend return the same
//! message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::i18n::{ArgValue, I18n, Locale, Msg, msg};

/// What a notification is about; a user can mute a whole category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// The bot joined or left a server.
    Lifecycle,
    /// Plans, licenses, payments.
    Billing,
    /// Snapshots and restores.
    Backups,
    /// AntiNuke incidents.
    Security,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Lifecycle,
        Category::Billing,
        Category::Backups,
        Category::Security,
    ];

    /// The stored name (`notification.requests.category`, `preferences.muted_categories`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Lifecycle => "lifecycle",
            Category::Billing => "billing",
            Category::Backups => "backups",
            Category::Security => "security",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The category's display name.
    pub fn name_msg(self) -> Msg {
        match self {
            Category::Lifecycle => msg::CATEGORY_LIFECYCLE,
            Category::Billing => msg::CATEGORY_BILLING,
            Category::Backups => msg::CATEGORY_BACKUPS,
            Category::Security => msg::CATEGORY_SECURITY,
        }
    }
}

/// The life of a request (`notification.requests.status`):
///
/// ```text
/// pending --claim--> sending --sent------------> sent
///    ^                  |  \--muted-----------> skipped
///    |                  |   \--permanent error-> failed
///    +---retry (backoff)+    \--last attempt---> dead
/// ```
///
/// A `sending` row whose lease expired (its sender crashed) is claimed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// Waiting for its next attempt (`next_attempt_at`), also between retries.
    Pending,
    /// Claimed by a sender (leased).
    Sending,
    /// Delivered by DM or in the guild's log channel.
    Sent,
    /// Permanently undeliverable (no retry can help).
    Failed,
    /// Gave up after the last allowed attempt.
    Dead,
    /// Not sent on purpose: the recipient muted its category.
    Skipped,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Sending => "sending",
            RequestStatus::Sent => "sent",
            RequestStatus::Failed => "failed",
            RequestStatus::Dead => "dead",
            RequestStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            RequestStatus::Pending,
            RequestStatus::Sending,
            RequestStatus::Sent,
            RequestStatus::Failed,
            RequestStatus::Dead,
            RequestStatus::Skipped,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// No sender will touch the request again.
    pub fn is_final(self) -> bool {
        !matches!(self, RequestStatus::Pending | RequestStatus::Sending)
    }
}

/// How a notification reached its recipient (`notification.requests.delivered_via`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Dm,
    LogChannel,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Dm => "dm",
            Via::LogChannel => "log_channel",
        }
    }
}

/// A user's notification preferences. Defaults apply until they change something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// `None`: the request's locale, else the server's, else English.
    pub locale: Option<Locale>,
    pub dm_enabled: bool,
    pub muted: Vec<Category>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            locale: None,
            dm_enabled: true,
            muted: Vec::new(),
        }
    }
}

impl Preferences {
    pub fn mutes(&self, category: Category) -> bool {
        self.muted.contains(&category)
    }
}

/// A change a user makes to their preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferenceChange {
    Dms(bool),
    Locale(Option<Locale>),
    Mute(Category),
    Unmute(Category),
}

/// A template argument as stored in `notification.requests.args` (`{"name": {"type": ..,
/// "value": ..}}`). Typed so the sender renders it in the recipient's language at send time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum StoredArg {
    /// Shown as is (a server's name).
    Text(String),
    /// A plan code, shown as the plan's localized name.
    Plan(String),
    /// A point in time shown as a date; `None` shows "no end date".
    Date(Option<DateTime<Utc>>),
    Number(i64),
    /// Another message with its own arguments, rendered in the recipient's language (e.g. what
    /// a protection change was).
    Message(StoredMessage),
    /// Several values shown as a comma-separated list.
    List(Vec<StoredArg>),
}

/// A message key with stored arguments (unknown keys render as the key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub key: String,
    #[serde(default)]
    pub args: std::collections::BTreeMap<String, StoredArg>,
}

/// How deep nested messages are rendered (a stored argument is data, never trusted to be small).
const MAX_NESTING: usize = 4;

impl StoredArg {
    /// A stored argument from its JSON form (`None` when it is not one).
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }

    /// The value as the message template takes it, in `locale`.
    pub fn render(&self, i18n: &I18n, locale: Locale) -> ArgValue {
        self.render_at(i18n, locale, 0)
    }

    fn render_at(&self, i18n: &I18n, locale: Locale, depth: usize) -> ArgValue {
        match self {
            StoredArg::Message(m) => {
                let Some(msg) = crate::i18n::msg_by_key(&m.key).filter(|_| depth < MAX_NESTING)
                else {
                    return ArgValue::Text(m.key.clone());
                };
                let args: Vec<(&str, ArgValue)> = msg
                    .args
                    .iter()
                    .filter_map(|name| {
                        Some((*name, m.args.get(*name)?.render_at(i18n, locale, depth + 1)))
                    })
                    .collect();
                ArgValue::Text(i18n.text(locale, msg, &args))
            }
            StoredArg::List(items) => ArgValue::Text(
                items
                    .iter()
                    .take(25)
                    .map(|i| match i.render_at(i18n, locale, depth + 1) {
                        ArgValue::Text(t) => t,
                        ArgValue::Number(n) => n.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            other => other.render_flat(i18n, locale),
        }
    }

    fn render_flat(&self, i18n: &I18n, locale: Locale) -> ArgValue {
        match self {
            StoredArg::Text(t) => ArgValue::Text(t.clone()),
            StoredArg::Plan(code) => match crate::i18n::msg_by_key(&format!("plan-name-{code}")) {
                Some(m) => ArgValue::Text(i18n.text(locale, m, &[])),
                None => ArgValue::Text(code.clone()),
            },
            StoredArg::Date(Some(at)) => ArgValue::Text(at.format("%Y-%m-%d").to_string()),
            StoredArg::Date(None) => ArgValue::Text(i18n.text(locale, &msg::LICENSE_FOREVER, &[])),
            StoredArg::Number(n) => ArgValue::Number(*n),
            StoredArg::Message(m) => ArgValue::Text(m.key.clone()),
            StoredArg::List(_) => ArgValue::Text(String::new()),
        }
    }
}

/// Renders a stored `args` object into message arguments for `template` (only the variables
/// the template declares; unreadable entries are left out, Fluent then shows the variable name).
pub fn render_args(
    args: &serde_json::Value,
    template: &Msg,
    i18n: &I18n,
    locale: Locale,
) -> Vec<(&'static str, ArgValue)> {
    template
        .args
        .iter()
        .filter_map(|name| {
            let stored: StoredArg = serde_json::from_value(args.get(*name)?.clone()).ok()?;
            Some((*name, stored.render(i18n, locale)))
        })
        .collect()
}

/// A button on a notification: `args._buttons` = `[{"custom_id", "label" (a message key),
/// "style" ("danger", "primary", else secondary)}]`, copied from the event's `buttons`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub custom_id: String,
    pub label: String,
    pub style: String,
}

/// The buttons stored with a request, their labels in `locale` (unknown label keys are left out).
pub fn buttons(args: &serde_json::Value, i18n: &I18n, locale: Locale) -> Vec<Button> {
    args.get("_buttons")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| {
            let custom_id = b.get("custom_id")?.as_str()?.to_owned();
            let label = crate::i18n::msg_by_key(b.get("label")?.as_str()?)?;
            Some(Button {
                custom_id,
                label: i18n.text(locale, label, &[]),
                style: b
                    .get("style")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("secondary")
                    .to_owned(),
            })
        })
        .take(5)
        .collect()
}

/// The language of a notification: the recipient's preference, else the request's, else the
/// server's configured language, else English.
pub fn choose_locale(
    preference: Option<Locale>,
    request: Option<&str>,
    guild: Option<Locale>,
) -> Locale {
    preference
        .or_else(|| request.and_then(Locale::from_discord))
        .or(guild)
        .unwrap_or(Locale::FALLBACK)
}

/// Where to deliver, before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The recipient muted the category: do not send.
    Skip,
    /// Try a DM first (falling back to the log channel on Discord error 50007).
    Dm,
    /// The recipient turned DMs off: the guild's log channel.
    LogChannel,
}

pub fn route(preferences: &Preferences, category: Option<Category>) -> Route {
    match category {
        Some(c) if preferences.mutes(c) => Route::Skip,
        _ if preferences.dm_enabled => Route::Dm,
        _ => Route::LogChannel,
    }
}

/// Discord's "Cannot send messages to this user" (DMs closed, no mutual server, blocked).
pub const DISCORD_CANNOT_DM: isize = 50007;

/// What a failed Discord call means for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// DMs are closed: use the log channel.
    DmClosed,
    /// Nothing will change by retrying (unknown user, malformed message).
    Permanent,
    /// Try again later (network, 5xx, 429 left over, missing permissions the owner may fix).
    Transient,
}

/// Classifies a failed call by its HTTP status and Discord JSON error code (when there was a
/// response at all).
pub fn classify(status: Option<u16>, code: Option<isize>) -> SendFailure {
    match (status, code) {
        (_, Some(DISCORD_CANNOT_DM)) => SendFailure::DmClosed,
        // Unknown user; invalid form body; message too long.
        (_, Some(10013 | 50035 | 50006)) => SendFailure::Permanent,
        _ => SendFailure::Transient,
    }
}

/// The message nonce of a request: the request id in base 36 (at most 25 characters, Discord's
/// limit). The same for every attempt, so with `enforce_nonce` a resend after a crash between
/// sending and recording returns the message already sent instead of posting it twice.
pub fn nonce(id: Uuid) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = id.as_u128();
    let mut out = Vec::with_capacity(25);
    loop {
        let digit = usize::try_from(n % 36).unwrap_or(0);
        out.push(DIGITS[digit]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A request to enqueue (the consumer builds these from events).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub guild_id: Option<Uuid>,
    pub recipient_discord_id: u64,
    pub kind: String,
    pub category: Category,
    pub template_key: String,
    pub args: serde_json::Value,
    pub locale: Option<String>,
    pub dedupe_key: String,
}

/// A request as a sender claimed it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedRequest {
    pub id: Uuid,
    pub guild_id: Option<Uuid>,
    pub recipient_discord_id: u64,
    pub kind: String,
    pub category: String,
    pub template_key: String,
    pub args: serde_json::Value,
    pub locale: Option<String>,
    /// Attempts including this one.
    pub attempts: i32,
    /// The lease's fencing counter: results are written only while it still matches.
    pub fencing: i64,
}

impl ClaimedRequest {
    /// The claim this copy was read under.
    pub fn lease(&self) -> crate::queue::Lease {
        crate::queue::Lease {
            id: self.id,
            fencing: self.fencing,
        }
    }
}

/// A request as stored (for inspection: `/umbra notifications`, tests, operators).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestView {
    pub id: Uuid,
    pub guild_id: Option<Uuid>,
    pub recipient_discord_id: u64,
    pub kind: String,
    pub category: String,
    pub template_key: String,
    pub args: serde_json::Value,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_via: Option<String>,
    pub sent_channel_id: Option<u64>,
    pub sent_message_id: Option<u64>,
    pub dedupe_key: String,
    pub fencing: i64,
}

/// The result of one delivery attempt, decided outside any transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent {
        via: Via,
        channel_id: u64,
        message_id: u64,
    },
    /// Muted by the recipient.
    Skipped(String),
    /// Permanently undeliverable.
    Failed(String),
    /// Worth another attempt (or dead when this was the last).
    Retry(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_fits_discords_25_characters_and_is_stable_per_request() {
        let max = Uuid::from_u128(u128::MAX);
        assert!(nonce(max).len() <= 25, "{}", nonce(max));
        let id = Uuid::now_v7();
        assert_eq!(nonce(id), nonce(id));
        assert_ne!(nonce(id), nonce(Uuid::now_v7()));
        assert_eq!(nonce(Uuid::from_u128(0)), "0");
        assert_eq!(nonce(Uuid::from_u128(36 * 36 + 35)), "10z");
    }

    #[test]
    fn the_recipients_language_wins_then_the_requests_then_the_servers_then_english() {
        assert_eq!(
            choose_locale(Some(Locale::Ko), Some("en-US"), Some(Locale::EnUs)),
            Locale::Ko
        );
        assert_eq!(
            choose_locale(None, Some("ko"), Some(Locale::EnUs)),
            Locale::Ko
        );
        assert_eq!(
            choose_locale(None, Some("fr"), Some(Locale::Ko)),
            Locale::Ko
        );
        assert_eq!(choose_locale(None, None, Some(Locale::Ko)), Locale::Ko);
        assert_eq!(choose_locale(None, None, None), Locale::EnUs);
    }

    #[test]
    fn a_muted_category_is_skipped_even_when_dms_are_off() {
        let prefs = Preferences {
            dm_enabled: false,
            muted: vec![Category::Billing],
            ..Preferences::default()
        };
        assert_eq!(route(&prefs, Some(Category::Billing)), Route::Skip);
        assert_eq!(route(&prefs, Some(Category::Security)), Route::LogChannel);
        assert_eq!(
            route(&Preferences::default(), Some(Category::Billing)),
            Route::Dm
        );
        assert_eq!(route(&Preferences::default(), None), Route::Dm);
    }

    #[test]
    fn closed_dms_fall_back_unknown_users_fail_and_everything_else_retries() {
        assert_eq!(classify(Some(403), Some(50007)), SendFailure::DmClosed);
        assert_eq!(classify(Some(404), Some(10013)), SendFailure::Permanent);
        assert_eq!(classify(Some(400), Some(50035)), SendFailure::Permanent);
        assert_eq!(classify(Some(500), Some(0)), SendFailure::Transient);
        assert_eq!(classify(Some(403), Some(50013)), SendFailure::Transient);
        assert_eq!(classify(None, None), SendFailure::Transient);
    }

    #[test]
    fn categories_and_statuses_round_trip_through_their_stored_names() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        assert_eq!(Category::parse("marketing"), None);
        for s in ["pending", "sending", "sent", "failed", "dead", "skipped"] {
            assert_eq!(RequestStatus::parse(s).map(RequestStatus::as_str), Some(s));
        }
        assert!(RequestStatus::Skipped.is_final() && !RequestStatus::Pending.is_final());
    }

    #[test]
    fn stored_arguments_render_plans_and_dates_in_the_recipients_language() {
        let i18n = I18n::load().expect("locales parse");
        let args = serde_json::json!({
            "guild": {"type": "text", "value": "Cozy"},
            "plan": {"type": "plan", "value": "pro"},
            "until": {"type": "date", "value": null},
        });
        let rendered = render_args(&args, &msg::NOTIFY_LICENSE_GRANTED, &i18n, Locale::Ko);
        let text = i18n.text(Locale::Ko, &msg::NOTIFY_LICENSE_GRANTED, &rendered);
        assert!(text.contains("Cozy") && text.contains("Pro"), "{text}");
        assert!(
            text.contains(&i18n.text(Locale::Ko, &msg::LICENSE_FOREVER, &[])),
            "{text}"
        );
        let dated = StoredArg::Date(Some(
            DateTime::parse_from_rfc3339("2027-01-31T10:00:00Z")
                .expect("a date")
                .with_timezone(&Utc),
        ));
        assert_eq!(
            dated.render(&i18n, Locale::EnUs),
            ArgValue::Text("2027-01-31".into())
        );
        assert_eq!(
            StoredArg::Plan("gold".into()).render(&i18n, Locale::EnUs),
            ArgValue::Text("gold".into())
        );
    }
}
