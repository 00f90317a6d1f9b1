//! Purpose: localization with Fluent. Every user-facing string lives in `locales/<locale>/*.ftl`
//! (en-US is the fallback, ko the second locale), embedded in the binary. Messages are named in
//! code through [`msg`] constants that also declare their variables, so a test can check that
//! every locale has every message with exactly the declared variables.
//!
//! Reply locale: the interaction's locale when Umbra speaks it, else the guild's configured
//! locale, else en-US ([`resolve`]).

use std::collections::{BTreeSet, HashMap};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};

/// A locale Umbra speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Locale {
    #[serde(rename = "en-US")]
    EnUs,
    #[serde(rename = "ko")]
    Ko,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::EnUs, Locale::Ko];
    pub const FALLBACK: Locale = Locale::EnUs;

    /// The Discord locale code (also the directory under `locales/`).
    pub fn code(self) -> &'static str {
        match self {
            Locale::EnUs => "en-US",
            Locale::Ko => "ko",
        }
    }

    /// Parses a Discord locale (`ko`, `en-US`, `en-GB`, ...); `None` when Umbra has no
    /// translation for it.
    pub fn from_discord(code: &str) -> Option<Locale> {
        let lower = code.trim().to_ascii_lowercase();
        match lower.as_str() {
            "ko" | "ko-kr" => Some(Locale::Ko),
            "en-us" | "en" => Some(Locale::EnUs),
            _ => None,
        }
    }
}

/// The reply locale: the interaction's, else the guild's, else en-US.
pub fn resolve(interaction: Option<&str>, guild: Option<Locale>) -> Locale {
    interaction
        .and_then(Locale::from_discord)
        .or(guild)
        .unwrap_or(Locale::FALLBACK)
}

/// A message: its Fluent id and the variables it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg {
    pub key: &'static str,
    pub args: &'static [&'static str],
}

macro_rules! messages {
    ($( $(#[$doc:meta])* $name:ident = $key:literal $( ( $($arg:ident),* ) )? ; )*) => {
        $( $(#[$doc])* pub const $name: Msg = Msg { key: $key, args: &[$($(stringify!($arg)),*)?] }; )*
        /// Every message the code uses.
        pub const ALL: &[Msg] = &[$($name),*];
    };
}

/// Every message Umbra shows, with its variables.
pub mod msg {
    use super::Msg;

    messages! {
        ERROR_INTERNAL = "error-internal" (error_id);
        ERROR_NOT_OWNER = "error-not-owner";
        ERROR_NOT_TRUSTED = "error-not-trusted";
        ERROR_NOT_OPERATOR = "error-not-operator";
        ERROR_GUILD_ONLY = "error-guild-only";
        ERROR_BAD_ARGUMENT = "error-bad-argument" (details);
        ERROR_UNKNOWN_GUILD = "error-unknown-guild" (guild_id);
        ERROR_UNKNOWN_PLAN = "error-unknown-plan" (plan);
        ERROR_INVALID_DAYS = "error-invalid-days" (max);
        ERROR_NO_LICENSE = "error-no-license";
        ERROR_COOLDOWN = "error-cooldown" (seconds);
        ERROR_EXPIRED_BUTTON = "error-expired-button";

        STATUS_TITLE = "status-title" (guild);
        STATUS_LOADING = "status-loading";
        STATUS_PLAN = "status-plan" (plan);
        STATUS_PLAN_UNTIL = "status-plan-until" (plan, until);
        STATUS_SYNC = "status-sync" (state);
        STATUS_LAST_SNAPSHOT = "status-last-snapshot" (value);
        STATUS_ANTINUKE = "status-antinuke" (state);
        STATUS_NOT_SET_UP = "status-not-set-up";
        STATUS_ENABLED = "status-enabled";
        STATUS_DISABLED = "status-disabled";
        STATUS_LOCALE = "status-locale" (locale);
        STATUS_LOG_CHANNEL = "status-log-channel" (channel);
        STATUS_NONE = "status-none";

        SETTINGS_TITLE = "settings-title";
        SETTINGS_SHOW = "settings-show" (locale, log_channel, users, roles);
        SETTINGS_LOCALE_SET = "settings-locale-set" (locale);
        SETTINGS_LOCALE_CLEARED = "settings-locale-cleared";
        SETTINGS_LOG_CHANNEL_SET = "settings-log-channel-set" (channel);
        SETTINGS_LOG_CHANNEL_CLEARED = "settings-log-channel-cleared";
        SETTINGS_TRUSTED_ADDED = "settings-trusted-added" (target);
        SETTINGS_TRUSTED_REMOVED = "settings-trusted-removed" (target);
        SETTINGS_TRUSTED_ALREADY = "settings-trusted-already" (target);
        SETTINGS_TRUSTED_NOT_FOUND = "settings-trusted-not-found" (target);
        SETTINGS_TRUSTED_NEEDS_TARGET = "settings-trusted-needs-target";
        SETTINGS_TRUSTED_LIMIT = "settings-trusted-limit" (max);

        HELP_TOPIC_OVERVIEW = "help-topic-overview";
        HELP_TOPIC_SETTINGS = "help-topic-settings";
        HELP_TOPIC_NOTIFICATIONS = "help-topic-notifications";
        HELP_TOPIC_PLANS = "help-topic-plans";
        HELP_BUTTON_OVERVIEW = "help-button-overview";
        HELP_BUTTON_SETTINGS = "help-button-settings";
        HELP_BUTTON_NOTIFICATIONS = "help-button-notifications";
        HELP_BUTTON_PLANS = "help-button-plans";
        SETTINGS_RESET_TITLE = "settings-reset-title";
        SETTINGS_RESET_LABEL = "settings-reset-label";
        SETTINGS_RESET_DONE = "settings-reset-done";
        SETTINGS_RESET_MISMATCH = "settings-reset-mismatch";

        LICENSE_GRANTED = "license-granted" (guild, plan, until);
        LICENSE_REVOKED = "license-revoked" (guild);
        LICENSE_SHOW = "license-show" (guild, plan, status, until, source);
        LICENSE_SHOW_FREE = "license-show-free" (guild);
        LICENSE_FOREVER = "license-forever";

        NOTIFICATIONS_SHOW = "notifications-show" (dms, locale, muted);
        NOTIFICATIONS_DMS_ON = "notifications-dms-on";
        NOTIFICATIONS_DMS_OFF = "notifications-dms-off";
        NOTIFICATIONS_LOCALE_SET = "notifications-locale-set" (locale);
        NOTIFICATIONS_MUTED = "notifications-muted" (category);
        NOTIFICATIONS_UNMUTED = "notifications-unmuted" (category);
        NOTIFICATIONS_LOCALE_CLEARED = "notifications-locale-cleared";
        NOTIFICATIONS_LOCALE_AUTO = "notifications-locale-auto";
        NOTIFICATIONS_BUTTON_DMS_ON = "notifications-button-dms-on";
        NOTIFICATIONS_BUTTON_DMS_OFF = "notifications-button-dms-off";

        NOTIFY_WELCOME = "notify-welcome" (guild);
        NOTIFY_LICENSE_GRANTED = "notify-license-granted" (guild, plan, until);
        MEMBERS_LINK_UNAVAILABLE = "members-link-unavailable";
        MEMBERS_ROLE_REFUSED = "members-role-refused" (role);
        MEMBERS_PANEL = "members-panel" (guild);
        MEMBERS_PANEL_BUTTON = "members-panel-button";
        MEMBERS_LINK_COUNTS = "members-link-counts" (live, dead);
        MEMBERS_PULL_IN_TARGET = "members-pull-in-target" (target);
        MEMBERS_NOT_OWNER_OF_BOTH = "members-not-owner-of-both";
        BILLING_NOT_SOLD = "billing-not-sold";
        BILLING_WHICH_SERVER = "billing-which-server";
        BILLING_PLANS_TITLE = "billing-plans-title";
        BILLING_PRICE = "billing-price" (price, days);
        BILLING_PRICE_FREE = "billing-price-free";
        BILLING_PLAN_LINE = "billing-plan-line" (plan, price, snapshots, members);
        BILLING_SUBSCRIBE_LINK = "billing-subscribe-link" (plan, link, minutes);
        BILLING_UNKNOWN_USER = "billing-unknown-user" (link);
        BILLING_UPGRADED = "billing-upgraded" (plan, amount);
        BILLING_UPGRADED_FREE = "billing-upgraded-free" (plan);
        BILLING_CHANGE_SCHEDULED = "billing-change-scheduled" (plan, at);
        BILLING_CHANGE_KEPT = "billing-change-kept" (plan);
        BILLING_CHANGE_DECLINED = "billing-change-declined" (code);
        BILLING_CHANGE_PENDING = "billing-change-pending";
        BILLING_CHANGE_PAST_DUE = "billing-change-past-due";
        BILLING_SAME_PLAN = "billing-same-plan" (plan);
        BILLING_BUSY = "billing-busy";
        BILLING_CHANGES_TO = "billing-changes-to" (plan, at);
        BILLING_CARD_LINK = "billing-card-link" (link);
        BILLING_NONE = "billing-none" (plan);
        BILLING_STATE_ACTIVE = "billing-state-active";
        BILLING_STATE_PAST_DUE = "billing-state-past-due";
        BILLING_STATE_CANCELLED = "billing-state-cancelled";
        BILLING_STATE_EXPIRED = "billing-state-expired";
        BILLING_ENDS = "billing-ends" (at);
        BILLING_NEXT = "billing-next" (at);
        BILLING_STATUS = "billing-status" (plan, state, next, card);
        BILLING_NO_SUBSCRIPTION = "billing-no-subscription";
        BILLING_CANCELLED = "billing-cancelled";
        BILLING_RESUMED = "billing-resumed";
        NOTIFY_PAYMENT_RECEIPT = "notify-payment-receipt" (guild, plan, amount, until, receipt);
        NOTIFY_PAYMENT_FAILED = "notify-payment-failed" (guild, plan, code);
        NOTIFY_SUBSCRIPTION_EXPIRED = "notify-subscription-expired" (guild, plan);
        NOTIFY_SUBSCRIPTION_CANCELED = "notify-subscription-canceled" (guild, plan);
        NOTIFY_LICENSE_REVOKED = "notify-license-revoked" (guild, plan);
        NOTIFY_LICENSE_EXPIRED = "notify-license-expired" (guild, plan);
        NOTIFY_RETENTION_REDUCED = "notify-retention-reduced" (guild, plan, new_plan, keep, until);
        NOTIFY_IN_LOG_CHANNEL = "notify-in-log-channel" (owner, text);

        PLAN_NAME_FREE = "plan-name-free";
        PLAN_NAME_PRO = "plan-name-pro";
        PLAN_NAME_MAX = "plan-name-max";

        CATEGORY_LIFECYCLE = "category-lifecycle";
        CATEGORY_BILLING = "category-billing";
        CATEGORY_BACKUPS = "category-backups";
        CATEGORY_SECURITY = "category-security";

        // Recovery: live sync and snapshots (locales/*/recovery.ftl).
        STATUS_SYNC_LIVE = "status-sync-live" (roles, channels, members, since);
        STATUS_SYNC_LOADING = "status-sync-loading";
        STATUS_SYNC_STALE = "status-sync-stale";
        STATUS_SNAPSHOT_VALUE = "status-snapshot-value" (label, when, trigger);
        BACKUP_CREATED = "backup-created" (label, id, roles, channels, overwrites, members, size);
        BACKUP_EXPIRED_NOTE = "backup-expired-note" (count, keep);
        BACKUP_LIST_TITLE = "backup-list-title" (count, keep);
        BACKUP_LIST_EMPTY = "backup-list-empty";
        BACKUP_LIST_LINE = "backup-list-line" (label, id, when, trigger, members, size, pinned);
        BACKUP_PINNED_MARK = "backup-pinned-mark";
        BACKUP_INFO = "backup-info" (label, id, trigger, created, as_of, roles, channels, overwrites, members, bans, more, size, uncompressed, checksum, pinned, creator);
        BACKUP_INFO_MORE = "backup-info-more" (emojis, stickers, threads, events, onboarding, webhooks, messages, automod);
        BACKUP_INFO_AUTOMOD = "backup-info-automod" (count);
        BACKUP_INFO_AUTOMOD_UNKNOWN = "backup-info-automod-unknown";
        BACKUP_INFO_MORE_UNKNOWN = "backup-info-more-unknown";
        BACKUP_INFO_BANS = "backup-info-bans" (count);
        BACKUP_INFO_BANS_UNKNOWN = "backup-info-bans-unknown";
        BACKUP_DELETED = "backup-deleted" (label);
        BACKUP_PINNED = "backup-pinned" (label);
        BACKUP_UNPINNED = "backup-unpinned" (label);
        BACKUP_EXPORTED = "backup-exported" (label, size);
        BACKUP_IMPORTED = "backup-imported" (label, id, source, as_of, roles, channels, overwrites, members, size);
        BACKUP_SCHEDULE_SET = "backup-schedule-set" (minutes);
        BACKUP_SCHEDULE_RAISED = "backup-schedule-raised" (minutes, requested);
        BACKUP_SCHEDULE_OFF = "backup-schedule-off";
        BACKUP_MESSAGES_ON = "backup-messages-on" (channels, count, max_channels, max_count);
        BACKUP_MESSAGES_OFF = "backup-messages-off";
        ERROR_MESSAGES_INTENT = "error-messages-intent";
        ERROR_MESSAGES_PLAN = "error-messages-plan";
        ERROR_MESSAGES_CHANNELS = "error-messages-channels" (max);
        ERROR_MESSAGES_COUNT = "error-messages-count" (max);
        BACKUP_TRIGGER_MANUAL = "backup-trigger-manual";
        BACKUP_TRIGGER_SCHEDULED = "backup-trigger-scheduled";
        BACKUP_TRIGGER_PRE_RESTORE = "backup-trigger-pre-restore";
        BACKUP_TRIGGER_EMERGENCY = "backup-trigger-emergency";
        BACKUP_TRIGGER_IMPORT = "backup-trigger-import";
        ERROR_BACKUP_NOT_SYNCED = "error-backup-not-synced";
        ERROR_BACKUP_NOT_FOUND = "error-backup-not-found" (snapshot);
        ERROR_BACKUP_PINNED = "error-backup-pinned" (snapshot);
        ERROR_BACKUP_PIN_LIMIT = "error-backup-pin-limit" (max);
        ERROR_BACKUP_LABEL_TOO_LONG = "error-backup-label-too-long" (max);
        ERROR_BACKUP_CORRUPT = "error-backup-corrupt" (snapshot);
        ERROR_BACKUP_EXPORT_TOO_LARGE = "error-backup-export-too-large" (size, max);
        ERROR_BACKUP_FILE_TOO_LARGE = "error-backup-file-too-large" (size, max);
        ERROR_BACKUP_FILE_DOWNLOAD = "error-backup-file-download";
        ERROR_BACKUP_FILE_NOT_UMBRA = "error-backup-file-not-umbra";
        ERROR_BACKUP_FILE_VERSION = "error-backup-file-version" (version, supported);
        ERROR_BACKUP_FILE_CHECKSUM = "error-backup-file-checksum";
        ERROR_BACKUP_FILE_INVALID = "error-backup-file-invalid" (details);
        NOTIFY_SNAPSHOT_FAILED = "notify-snapshot-failed" (guild, reason);

        // Restore (locales/*/restore.ftl).
        RESTORE_PREVIEW_TITLE = "restore-preview-title" (snapshot, when, mode, components);
        RESTORE_PREVIEW_NOTHING = "restore-preview-nothing";
        RESTORE_PREVIEW_CHANGED = "restore-preview-changed";
        RESTORE_PREVIEW_ROLES = "restore-preview-roles" (create, update, delete, keep, skip);
        RESTORE_PREVIEW_CHANNELS = "restore-preview-channels" (create, update, delete, keep, skip, overwrites);
        RESTORE_PREVIEW_SETTINGS = "restore-preview-settings" (update);
        RESTORE_PREVIEW_MEMBERS = "restore-preview-members" (update, keep, skip);
        RESTORE_PREVIEW_PULL = "restore-preview-pull" (add);
        RESTORE_PREVIEW_BANS = "restore-preview-bans" (ban, unban, keep, skip);
        RESTORE_PREVIEW_UNBANS = "restore-preview-unbans" (count, items);
        RESTORE_PREVIEW_EMOJIS = "restore-preview-emojis" (create, update, delete, keep, skip);
        RESTORE_PREVIEW_EMOJI_DELETIONS = "restore-preview-emoji-deletions" (count, items);
        RESTORE_PREVIEW_STICKERS = "restore-preview-stickers" (create, update, delete, keep, skip);
        RESTORE_PREVIEW_STICKER_DELETIONS = "restore-preview-sticker-deletions" (count, items);
        RESTORE_PREVIEW_AUTOMOD = "restore-preview-automod" (create, update, delete, keep, skip);
        RESTORE_PREVIEW_AUTOMOD_DELETIONS = "restore-preview-automod-deletions" (count, items);
        RESTORE_PREVIEW_THREADS = "restore-preview-threads" (create, update, delete, keep, skip);
        RESTORE_PREVIEW_THREAD_DELETIONS = "restore-preview-thread-deletions" (count, items);
        RESTORE_PREVIEW_EVENTS = "restore-preview-events" (create, update, delete, keep, skip);
        RESTORE_PREVIEW_EVENT_DELETIONS = "restore-preview-event-deletions" (count, items);
        RESTORE_PREVIEW_WELCOME = "restore-preview-welcome" (update);
        RESTORE_PREVIEW_ONBOARDING = "restore-preview-onboarding" (update);
        RESTORE_PREVIEW_WEBHOOKS = "restore-preview-webhooks" (create, update, delete, keep, skip);
        RESTORE_PREVIEW_MESSAGES = "restore-preview-messages" (create, keep, skip);
        RESTORE_PREVIEW_WEBHOOK_DELETIONS = "restore-preview-webhook-deletions" (count, items);
        RESTORE_WEBHOOK_URLS = "restore-webhook-urls" (count);
        RESTORE_WARN_AUTOMOD_UNKNOWN_SNAPSHOT = "restore-warn-automod-unknown-snapshot";
        RESTORE_WARN_AUTOMOD_UNKNOWN_MIRROR = "restore-warn-automod-unknown-mirror";
        RESTORE_WARN_EMOJI_IMAGES = "restore-warn-emoji-images" (count, names);
        RESTORE_WARN_PICTURES_MISSING = "restore-warn-pictures-missing" (names);
        RESTORE_WARN_BANS_UNKNOWN_SNAPSHOT = "restore-warn-bans-unknown-snapshot";
        RESTORE_WARN_BANS_UNKNOWN_MIRROR = "restore-warn-bans-unknown-mirror";
        RESTORE_PULL_REPORT = "restore-pull-report" (joined, already, roles, dead, cap, banned, failed);
        RESTORE_PREVIEW_ETA = "restore-preview-eta" (eta, calls);
        RESTORE_PREVIEW_FOOTER = "restore-preview-footer" (expires);
        RESTORE_PREVIEW_CANCELLED = "restore-preview-cancelled";
        RESTORE_MODE_MERGE = "restore-mode-merge";
        RESTORE_MODE_MIRROR = "restore-mode-mirror";
        RESTORE_DURATION = "restore-duration" (minutes, seconds);
        RESTORE_WARN_ABOVE_BOT = "restore-warn-above-bot" (count, names);
        RESTORE_WARN_ROLE_BUDGET = "restore-warn-role-budget" (creates, budget);
        RESTORE_WARN_MANAGED = "restore-warn-managed" (count, names);
        RESTORE_WARN_CAP = "restore-warn-cap" (what, total, max);
        RESTORE_WARN_NOT_IN_SERVER = "restore-warn-not-in-server" (count);
        RESTORE_WARN_MEMBER_LIMIT = "restore-warn-member-limit" (limit, skipped);
        RESTORE_WARN_NOT_RESTORABLE = "restore-warn-not-restorable" (fields);
        RESTORE_WARN_FOREIGN = "restore-warn-foreign";
        RESTORE_WARN_MISSING_TARGETS = "restore-warn-missing-targets" (count);
        RESTORE_BUTTON_CONFIRM = "restore-button-confirm";
        RESTORE_BUTTON_CANCEL = "restore-button-cancel";
        RESTORE_BUTTON_STOP = "restore-button-stop";
        RESTORE_QUEUED = "restore-queued" (user);
        RESTORE_PROGRESS = "restore-progress" (bar, done, failed, total, eta);
        RESTORE_FINISHED_COMPLETED = "restore-finished-completed" (done, failed, total);
        RESTORE_FINISHED_CANCELLED = "restore-finished-cancelled" (done, failed, total);
        RESTORE_FINISHED_FAILED = "restore-finished-failed" (done, failed, total);
        RESTORE_CANCEL_REQUESTED = "restore-cancel-requested";
        RESTORE_STATUS = "restore-status" (state, id, mode, when);
        RESTORE_STATUS_NONE = "restore-status-none";
        RESTORE_HISTORY_TITLE = "restore-history-title" (count);
        RESTORE_HISTORY_LINE = "restore-history-line" (when, state, mode, done, failed, total, id);
        RESTORE_HISTORY_EMPTY = "restore-history-empty";
        RESTORE_STATE_PREVIEWED = "restore-state-previewed";
        RESTORE_STATE_QUEUED = "restore-state-queued";
        RESTORE_STATE_RUNNING = "restore-state-running";
        RESTORE_STATE_COMPLETED = "restore-state-completed";
        RESTORE_STATE_FAILED = "restore-state-failed";
        RESTORE_STATE_CANCELLED = "restore-state-cancelled";
        RESTORE_STATE_EXPIRED = "restore-state-expired";
        ERROR_RESTORE_NOT_SYNCED = "error-restore-not-synced";
        ERROR_RESTORE_SNAPSHOT_NOT_FOUND = "error-restore-snapshot-not-found" (snapshot);
        ERROR_RESTORE_CORRUPT = "error-restore-corrupt" (snapshot);
        ERROR_RESTORE_ACTIVE = "error-restore-active";
        ERROR_RESTORE_NO_JOB = "error-restore-no-job";
        ERROR_RESTORE_NOT_PREVIEW = "error-restore-not-preview" (state);
        ERROR_RESTORE_BAD_COMPONENTS = "error-restore-bad-components" (value);
        NOTIFY_RESTORE_STARTED = "notify-restore-started" (guild, total, mode);
        NOTIFY_RESTORE_COMPLETED = "notify-restore-completed" (guild, done, failed, total, seconds, details);
        NOTIFY_RESTORE_FAILED = "notify-restore-failed" (guild, reason);
        NOTIFY_RESTORE_CANCELLED = "notify-restore-cancelled" (guild, done, total);

        // AntiNuke (locales/*/antinuke.ftl).
        ANTINUKE_CLASS_CHANNEL_DELETE = "antinuke-class-channel-delete";
        ANTINUKE_CLASS_CHANNEL_CREATE = "antinuke-class-channel-create";
        ANTINUKE_CLASS_ROLE_DELETE = "antinuke-class-role-delete";
        ANTINUKE_CLASS_ROLE_CREATE = "antinuke-class-role-create";
        ANTINUKE_CLASS_BAN = "antinuke-class-ban";
        ANTINUKE_CLASS_KICK = "antinuke-class-kick";
        ANTINUKE_CLASS_PRUNE = "antinuke-class-prune";
        ANTINUKE_CLASS_WEBHOOK_CREATE = "antinuke-class-webhook-create";
        ANTINUKE_CLASS_PERMISSION_GRANT = "antinuke-class-permission-grant";
        ANTINUKE_CLASS_BOT_ADD = "antinuke-class-bot-add";
        ANTINUKE_CLASS_GUILD_UPDATE = "antinuke-class-guild-update";
        ANTINUKE_CLASS_TIMEOUT = "antinuke-class-timeout";
        ANTINUKE_CLASS_ROLE_REMOVE = "antinuke-class-role-remove";
        ANTINUKE_CLASS_PERMISSION_REMOVE = "antinuke-class-permission-remove";
        ANTINUKE_CLASS_WEBHOOK_CHANGE = "antinuke-class-webhook-change";
        ANTINUKE_CLASS_EXPRESSION_DELETE = "antinuke-class-expression-delete";
        ANTINUKE_CLASS_INTEGRATION_DELETE = "antinuke-class-integration-delete";
        ANTINUKE_CLASS_AUTOMOD_CHANGE = "antinuke-class-automod-change";
        ANTINUKE_CLASS_MESSAGE_BULK_DELETE = "antinuke-class-message-bulk-delete";
        ANTINUKE_CLASS_UNBAN = "antinuke-class-unban";
        ANTINUKE_CLASS_TRUST_GRANT = "antinuke-class-trust-grant";
        ANTINUKE_CLASS_COMBINED = "antinuke-class-combined";
        ANTINUKE_TRUST_GRANT_LINE = "antinuke-trust-grant-line";
        ANTINUKE_CHANGE_REQUESTED = "antinuke-change-requested" (hours);
        ANTINUKE_STATUS_PENDING = "antinuke-status-pending" (count);
        STATUS_PROTECTION_DEGRADED = "status-protection-degraded" (reasons);
        HEALTH_MISSING = "health-missing" (permission);
        HEALTH_ROLE_TOO_LOW = "health-role-too-low" (count, members);
        PERMISSION_VIEW_AUDIT_LOG = "permission-view-audit-log";
        PERMISSION_BAN_MEMBERS = "permission-ban-members";
        PERMISSION_KICK_MEMBERS = "permission-kick-members";
        PERMISSION_MANAGE_ROLES = "permission-manage-roles";
        PROTECTION_CHANGE_ENABLED = "protection-change-enabled" (state);
        PROTECTION_CHANGE_THRESHOLD = "protection-change-threshold" (class, count, window);
        PROTECTION_CHANGE_THRESHOLD_RESET = "protection-change-threshold-reset" (class);
        PROTECTION_CHANGE_PUNISHMENT = "protection-change-punishment" (punishment);
        PROTECTION_CHANGE_QUARANTINE_ROLE = "protection-change-quarantine-role" (role);
        PROTECTION_CHANGE_LOCKDOWN = "protection-change-lockdown" (state);
        PROTECTION_CHANGE_AUTO_REVERT = "protection-change-auto-revert" (state);
        PROTECTION_CHANGE_WHITELIST_ADD = "protection-change-whitelist-add" (target);
        PROTECTION_CHANGE_WHITELIST_REMOVE = "protection-change-whitelist-remove" (target);
        PROTECTION_CHANGE_TRUST_ADD = "protection-change-trust-add" (target);
        PROTECTION_CHANGE_TRUST_REMOVE = "protection-change-trust-remove" (target);
        PROTECTION_CHANGE_TRUST_RESET = "protection-change-trust-reset";
        PROTECTION_BUTTON_UNDO = "protection-button-undo";
        PROTECTION_BUTTON_APPROVE = "protection-button-approve";
        PROTECTION_BUTTON_REFUSE = "protection-button-refuse";
        GUARD_APPLIED = "guard-applied" (change);
        GUARD_REFUSED = "guard-refused" (change);
        GUARD_LAPSED = "guard-lapsed";
        GUARD_UNKNOWN = "guard-unknown";
        GUARD_UNDONE = "guard-undone" (change);
        ERROR_TOO_MANY_PENDING = "error-too-many-pending" (max);
        NOTIFY_PROTECTION_CHANGED = "notify-protection-changed" (guild, actor, change);
        NOTIFY_CHANGE_REQUESTED = "notify-change-requested" (guild, actor, change, hours);
        NOTIFY_PROTECTION_DEGRADED = "notify-protection-degraded" (guild, reasons);
        NOTIFY_PROTECTION_RESTORED = "notify-protection-restored" (guild);
        NOTIFY_GUILD_REMOVED = "notify-guild-removed" (guild, until);
        NOTIFY_SNAPSHOT_DELETED = "notify-snapshot-deleted" (guild, snapshot, actor);
        NOTIFY_RESTORE_APPROVAL = "notify-restore-approval" (guild, actor, snapshot, reasons, risks);
        RESTORE_PREVIEW_GRANTS = "restore-preview-grants" (count, items);
        RESTORE_PREVIEW_DELETIONS = "restore-preview-deletions" (count, items);
        RESTORE_WARN_PUNISHED = "restore-warn-punished" (count, names);
        RESTORE_APPROVAL_WAITING = "restore-approval-waiting" (reasons);
        RESTORE_REASON_IMPORT = "restore-reason-import";
        RESTORE_REASON_MIRROR = "restore-reason-mirror";
        RESTORE_REASON_GRANTS = "restore-reason-grants";
        RESTORE_APPROVED = "restore-approved" (user);
        RESTORE_APPROVAL_REFUSED = "restore-approval-refused";
        RESTORE_APPROVAL_CHANGED = "restore-approval-changed";
        ERROR_INCIDENT_PIN_OWNER_ONLY = "error-incident-pin-owner-only";
        ANTINUKE_PUNISHMENT_STRIP_ROLES = "antinuke-punishment-strip-roles";
        ANTINUKE_PUNISHMENT_QUARANTINE = "antinuke-punishment-quarantine";
        ANTINUKE_PUNISHMENT_KICK = "antinuke-punishment-kick";
        ANTINUKE_PUNISHMENT_BAN = "antinuke-punishment-ban";
        ANTINUKE_PUNISHMENT_NONE = "antinuke-punishment-none";
        ANTINUKE_STATUS_OPEN = "antinuke-status-open";
        ANTINUKE_STATUS_RESTORING = "antinuke-status-restoring";
        ANTINUKE_STATUS_RESOLVED = "antinuke-status-resolved";
        ANTINUKE_STATUS_FALSE_POSITIVE = "antinuke-status-false-positive";
        ANTINUKE_STATUS_HEADER = "antinuke-status-header" (state);
        ANTINUKE_STATUS_RESPONSE = "antinuke-status-response" (punishment, lockdown, auto_revert);
        ANTINUKE_STATUS_EXEMPT = "antinuke-status-exempt" (users, roles);
        ANTINUKE_STATUS_INCIDENTS = "antinuke-status-incidents" (open, total);
        ANTINUKE_STATUS_VALUE = "antinuke-status-value" (punishment);
        ANTINUKE_THRESHOLDS_TITLE = "antinuke-thresholds-title";
        ANTINUKE_THRESHOLD_LINE = "antinuke-threshold-line" (class, count, window, custom);
        ANTINUKE_PLAN_LIMIT = "antinuke-plan-limit" (feature);
        ANTINUKE_FEATURE_DETECTION = "antinuke-feature-detection";
        ANTINUKE_FEATURE_PUNISHMENT = "antinuke-feature-punishment";
        ANTINUKE_FEATURE_LOCKDOWN = "antinuke-feature-lockdown";
        ANTINUKE_FEATURE_AUTO_REVERT = "antinuke-feature-auto-revert";
        ANTINUKE_FEATURE_CUSTOM_THRESHOLDS = "antinuke-feature-custom-thresholds";
        ANTINUKE_WARN_AUDIT_LOG = "antinuke-warn-audit-log";
        ANTINUKE_ENABLED = "antinuke-enabled" (punishment);
        ANTINUKE_DISABLED = "antinuke-disabled";
        ANTINUKE_THRESHOLD_SET = "antinuke-threshold-set" (class, count, window);
        ANTINUKE_THRESHOLD_RESET = "antinuke-threshold-reset" (class, count, window);
        ANTINUKE_WHITELIST_LIST = "antinuke-whitelist-list" (items);
        ANTINUKE_WHITELIST_ADDED = "antinuke-whitelist-added" (target);
        ANTINUKE_WHITELIST_REMOVED = "antinuke-whitelist-removed" (target);
        ANTINUKE_WHITELIST_ALREADY = "antinuke-whitelist-already" (target);
        ANTINUKE_WHITELIST_NOT_FOUND = "antinuke-whitelist-not-found" (target);
        ANTINUKE_PUNISHMENT_SET = "antinuke-punishment-set" (punishment, lockdown, auto_revert);
        ANTINUKE_INCIDENTS_TITLE = "antinuke-incidents-title" (count);
        ANTINUKE_INCIDENTS_EMPTY = "antinuke-incidents-empty";
        ANTINUKE_INCIDENT_LINE = "antinuke-incident-line" (id, when, actor, class, count, punishment, status, destroyed);
        ANTINUKE_ALREADY_HANDLED = "antinuke-already-handled" (status);
        ANTINUKE_RESTORE_NOT_READY = "antinuke-restore-not-ready";
        ANTINUKE_ACTION_FAILED = "antinuke-action-failed" (details);
        ANTINUKE_RESTORE_STARTED = "antinuke-restore-started" (job, items, bans);
        ANTINUKE_FALSE_POSITIVE_DONE = "antinuke-false-positive-done" (actor, roles);
        ANTINUKE_FALSE_POSITIVE_KICKED = "antinuke-false-positive-kicked";
        ANTINUKE_FALSE_POSITIVE_CLEANUP = "antinuke-false-positive-cleanup" (grants, bots);
        ANTINUKE_BUTTON_RESTORE = "antinuke-button-restore";
        ANTINUKE_BUTTON_FALSE_POSITIVE = "antinuke-button-false-positive";
        ERROR_ANTINUKE_THRESHOLD_BOUNDS = "error-antinuke-threshold-bounds" (max_count, max_window);
        ERROR_ANTINUKE_THRESHOLD_NEEDS_ACTION = "error-antinuke-threshold-needs-action";
        ERROR_ANTINUKE_PLAN_FEATURE = "error-antinuke-plan-feature" (feature);
        ERROR_ANTINUKE_QUARANTINE_ROLE = "error-antinuke-quarantine-role";
        NOTIFY_INCIDENT_DETECTED = "notify-incident-detected" (guild, actor, class, count, destroyed, outcome, blocker, cleaned);
        NOTIFY_INCIDENT_RESOLVED = "notify-incident-resolved" (guild, actor, resolution, by);

        // `umbra sandbox` (locales/*/sandbox.ftl).
        SANDBOX_TITLE = "sandbox-title";
        SANDBOX_GUILD = "sandbox-guild" (guild, roles, channels, members);
        SANDBOX_DATABASE = "sandbox-database" (dir);
        SANDBOX_CONNECTED = "sandbox-connected";
        SANDBOX_ANTINUKE_ON = "sandbox-antinuke-on" (count, window);
        SANDBOX_SNAPSHOT = "sandbox-snapshot" (label, roles, channels, members);
        SANDBOX_NUKE_START = "sandbox-nuke-start" (actor);
        SANDBOX_NUKE_END = "sandbox-nuke-end" (destroyed, refused);
        SANDBOX_DETECTED = "sandbox-detected" (ms, class, count);
        SANDBOX_DM = "sandbox-dm" (text);
        SANDBOX_PRESS = "sandbox-press";
        SANDBOX_REPLY = "sandbox-reply" (text);
        SANDBOX_PROGRESS = "sandbox-progress" (done, total);
        SANDBOX_RESTORED = "sandbox-restored" (seconds, done, failed, status);
        SANDBOX_DIFF_EQUAL = "sandbox-diff-equal";
        SANDBOX_DIFF_UNEQUAL = "sandbox-diff-unequal" (count, sample);
        SANDBOX_SUMMARY = "sandbox-summary" (ms, destroyed, seconds);
        SANDBOX_FAILED = "sandbox-failed" (error);
        SANDBOX_DASHBOARD = "sandbox-dashboard" (link);
        SANDBOX_BILLING = "sandbox-billing" (amount);
    }
}

/// The message for a notification template key (templates are stored by key in the queue).
pub fn msg_by_key(key: &str) -> Option<&'static Msg> {
    msg::ALL.iter().find(|m| m.key == key)
}

/// One Fluent file embedded in the binary.
struct File {
    locale: Locale,
    name: &'static str,
    text: &'static str,
}

const FILES: &[File] = &[
    File {
        locale: Locale::EnUs,
        name: "main.ftl",
        text: include_str!("../locales/en-US/main.ftl"),
    },
    File {
        locale: Locale::EnUs,
        name: "commands.ftl",
        text: include_str!("../locales/en-US/commands.ftl"),
    },
    File {
        locale: Locale::EnUs,
        name: "notification.ftl",
        text: include_str!("../locales/en-US/notification.ftl"),
    },
    File {
        locale: Locale::EnUs,
        name: "recovery.ftl",
        text: include_str!("../locales/en-US/recovery.ftl"),
    },
    File {
        locale: Locale::EnUs,
        name: "antinuke.ftl",
        text: include_str!("../locales/en-US/antinuke.ftl"),
    },
    File {
        locale: Locale::EnUs,
        name: "sandbox.ftl",
        text: include_str!("../locales/en-US/sandbox.ftl"),
    },
    File {
        locale: Locale::EnUs,
        name: "restore.ftl",
        text: include_str!("../locales/en-US/restore.ftl"),
    },
    File {
        locale: Locale::EnUs,
        name: "web.ftl",
        text: include_str!("../locales/en-US/web.ftl"),
    },
    File {
        locale: Locale::Ko,
        name: "main.ftl",
        text: include_str!("../locales/ko/main.ftl"),
    },
    File {
        locale: Locale::Ko,
        name: "commands.ftl",
        text: include_str!("../locales/ko/commands.ftl"),
    },
    File {
        locale: Locale::Ko,
        name: "notification.ftl",
        text: include_str!("../locales/ko/notification.ftl"),
    },
    File {
        locale: Locale::Ko,
        name: "recovery.ftl",
        text: include_str!("../locales/ko/recovery.ftl"),
    },
    File {
        locale: Locale::Ko,
        name: "antinuke.ftl",
        text: include_str!("../locales/ko/antinuke.ftl"),
    },
    File {
        locale: Locale::Ko,
        name: "sandbox.ftl",
        text: include_str!("../locales/ko/sandbox.ftl"),
    },
    File {
        locale: Locale::Ko,
        name: "restore.ftl",
        text: include_str!("../locales/ko/restore.ftl"),
    },
    File {
        locale: Locale::Ko,
        name: "web.ftl",
        text: include_str!("../locales/ko/web.ftl"),
    },
];

/// Names of the embedded files per locale (a test compares them with `locales/` on disk).
pub fn embedded_files() -> Vec<(Locale, &'static str)> {
    FILES.iter().map(|f| (f.locale, f.name)).collect()
}

/// The loaded translations.
pub struct I18n {
    bundles: HashMap<Locale, FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n")
            .field("locales", &self.bundles.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl I18n {
    /// Parses the embedded Fluent files. Fails on a syntax error or a duplicate message id.
    pub fn load() -> Result<Self, String> {
        let mut bundles = HashMap::new();
        for locale in Locale::ALL {
            let langid = locale
                .code()
                .parse()
                .map_err(|e| format!("locale {}: {e}", locale.code()))?;
            let mut bundle = FluentBundle::new_concurrent(vec![langid]);
            // No Unicode isolation marks around variables: they show up as garbage in Discord.
            bundle.set_use_isolating(false);
            for file in FILES.iter().filter(|f| f.locale == locale) {
                let resource =
                    FluentResource::try_new(file.text.to_owned()).map_err(|(_, errs)| {
                        format!("locales/{}/{}: {errs:?}", locale.code(), file.name)
                    })?;
                bundle
                    .add_resource(resource)
                    .map_err(|errs| format!("locales/{}/{}: {errs:?}", locale.code(), file.name))?;
            }
            bundles.insert(locale, bundle);
        }
        Ok(Self { bundles })
    }

    /// Formats `msg` in `locale` (falling back to en-US, then to the key itself).
    pub fn text(&self, locale: Locale, msg: &Msg, args: &[(&str, ArgValue)]) -> String {
        debug_assert!(
            args.iter().all(|(name, _)| msg.args.contains(name)),
            "message {} does not take {:?}",
            msg.key,
            args.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            match value {
                ArgValue::Text(text) => fluent_args.set(*name, FluentValue::from(text.as_str())),
                ArgValue::Number(n) => fluent_args.set(*name, FluentValue::from(*n)),
            }
        }
        self.raw(locale, msg.key, Some(&fluent_args))
            .or_else(|| self.raw(Locale::FALLBACK, msg.key, Some(&fluent_args)))
            .unwrap_or_else(|| {
                tracing::warn!(key = msg.key, "missing translation");
                msg.key.to_owned()
            })
    }

    /// The message `key` in `locale` only (no fallback): for command localizations.
    pub fn raw(&self, locale: Locale, key: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        let bundle = self.bundles.get(&locale)?;
        let pattern = bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(
                key,
                locale = locale.code(),
                ?errors,
                "translation formatted with errors"
            );
        }
        Some(text.into_owned())
    }

    /// Every message id defined for `locale`.
    pub fn keys(&self, locale: Locale) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        for file in FILES.iter().filter(|f| f.locale == locale) {
            if let Ok(resource) = FluentResource::try_new(file.text.to_owned()) {
                for entry in resource.entries() {
                    if let fluent_syntax::ast::Entry::Message(m) = entry {
                        keys.insert(m.id.name.to_owned());
                    }
                }
            }
        }
        keys
    }

    /// The variables message `key` references in `locale` (for the consistency test).
    pub fn variables(&self, locale: Locale, key: &str) -> Option<BTreeSet<String>> {
        for file in FILES.iter().filter(|f| f.locale == locale) {
            let Ok(resource) = FluentResource::try_new(file.text.to_owned()) else {
                continue;
            };
            for entry in resource.entries() {
                if let fluent_syntax::ast::Entry::Message(m) = entry
                    && m.id.name == key
                {
                    let mut vars = BTreeSet::new();
                    if let Some(value) = &m.value {
                        collect_variables(value, &mut vars);
                    }
                    for attribute in &m.attributes {
                        collect_variables(&attribute.value, &mut vars);
                    }
                    return Some(vars);
                }
            }
        }
        None
    }
}

fn collect_variables(pattern: &fluent_syntax::ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    use fluent_syntax::ast::{Expression, InlineExpression, PatternElement};
    fn inline(expr: &InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match expr {
            InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_owned());
            }
            InlineExpression::FunctionReference { arguments, .. } => {
                for a in &arguments.positional {
                    inline(a, out);
                }
                for a in &arguments.named {
                    inline(&a.value, out);
                }
            }
            InlineExpression::Placeable { expression } => expression_vars(expression, out),
            _ => {}
        }
    }
    fn expression_vars(expr: &Expression<&str>, out: &mut BTreeSet<String>) {
        match expr {
            Expression::Inline(i) => inline(i, out),
            Expression::Select { selector, variants } => {
                inline(selector, out);
                for v in variants {
                    collect_variables(&v.value, out);
                }
            }
        }
    }
    for element in &pattern.elements {
        if let PatternElement::Placeable { expression } = element {
            expression_vars(expression, out);
        }
    }
}

/// A message argument's value (Send + Sync, unlike `FluentValue`, so replies can be built
/// across awaits).
#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    Text(String),
    Number(i64),
}

impl From<&str> for ArgValue {
    fn from(v: &str) -> Self {
        ArgValue::Text(v.to_owned())
    }
}

impl From<String> for ArgValue {
    fn from(v: String) -> Self {
        ArgValue::Text(v)
    }
}

impl From<&String> for ArgValue {
    fn from(v: &String) -> Self {
        ArgValue::Text(v.clone())
    }
}

macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for ArgValue {
            fn from(v: $t) -> Self {
                ArgValue::Number(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
    )*};
}

number_arg!(i64, i32, u32, u64, usize);

/// Shorthand for a message argument.
pub fn arg(name: &str, value: impl Into<ArgValue>) -> (&str, ArgValue) {
    (name, value.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_korean_interaction_gets_korean_before_the_guild_locale() {
        assert_eq!(resolve(Some("ko"), Some(Locale::EnUs)), Locale::Ko);
    }

    #[test]
    fn an_unsupported_interaction_locale_falls_back_to_the_guild_then_english() {
        assert_eq!(resolve(Some("fr"), Some(Locale::Ko)), Locale::Ko);
        assert_eq!(resolve(Some("fr"), None), Locale::EnUs);
        assert_eq!(resolve(None, None), Locale::EnUs);
        assert_eq!(resolve(Some("en-GB"), Some(Locale::Ko)), Locale::Ko);
    }

    #[test]
    fn every_locale_has_every_message_with_exactly_its_declared_variables() {
        let i18n = I18n::load().expect("locales parse");
        let mut problems = Vec::new();
        for locale in Locale::ALL {
            for m in msg::ALL {
                match i18n.variables(locale, m.key) {
                    None => problems.push(format!("{}: missing `{}`", locale.code(), m.key)),
                    Some(vars) => {
                        let declared: BTreeSet<String> =
                            m.args.iter().map(|a| (*a).to_owned()).collect();
                        if vars != declared {
                            problems.push(format!(
                                "{}: `{}` uses {vars:?}, the code passes {declared:?}",
                                locale.code(),
                                m.key
                            ));
                        }
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_locale_defines_the_same_keys() {
        let i18n = I18n::load().expect("locales parse");
        let reference = i18n.keys(Locale::FALLBACK);
        for locale in Locale::ALL {
            let keys = i18n.keys(locale);
            let missing: Vec<_> = reference.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&reference).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, extra {extra:?}",
                locale.code()
            );
        }
    }

    #[test]
    fn every_ftl_file_on_disk_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        let embedded = embedded_files();
        for locale in Locale::ALL {
            let dir = root.join(locale.code());
            let entries = std::fs::read_dir(&dir).expect("locale directory exists");
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".ftl") {
                    assert!(
                        embedded.iter().any(|(l, n)| *l == locale && *n == name),
                        "{}/{name} is not embedded in i18n.rs",
                        locale.code()
                    );
                }
            }
        }
    }

    #[test]
    fn variables_are_substituted_without_isolation_marks() {
        let i18n = I18n::load().expect("locales parse");
        let text = i18n.text(
            Locale::EnUs,
            &msg::ERROR_INTERNAL,
            &[arg("error_id", "abc123")],
        );
        assert!(text.contains("abc123"));
        assert!(!text.contains('\u{2068}'));
    }
}
