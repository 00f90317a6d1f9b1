# Umbra — English (United States), the fallback locale.
# Every message here has a counterpart in every other locale, with the same variables.

## Errors

error-internal = Something went wrong on Umbra's side. It has been logged; if it keeps happening, report error id `{ $error_id }`.
error-not-owner = Only the server owner can do this.
error-not-trusted = Only the server owner and the users or roles they trust can do this. The owner can add trusted users with `/umbra settings trust`.
error-not-operator = Only Umbra's operators can do this.
error-guild-only = This command only works in a server.
error-bad-argument = That input is not valid: { $details }
error-unknown-guild = Umbra is not in a server with id `{ $guild_id }`.
error-unknown-plan = There is no plan called `{ $plan }`.
error-invalid-days = The number of days must be between 1 and { $max }.
error-no-license = This server has no active license; the instance's default plan applies.
error-cooldown = Please wait { $seconds } s before using this again.
error-expired-button = This button has expired. Run the command again.

## /umbra status

status-title = **Umbra — { $guild }**
status-loading = Umbra is still setting up this server (it joined a moment ago). Try again in a few seconds.
status-plan = Plan: **{ $plan }**
status-plan-until = Plan: **{ $plan }** (until { $until })
status-sync = Live sync: { $state }
status-last-snapshot = Last snapshot: { $value }
status-antinuke = AntiNuke: { $state }
status-not-set-up = not set up
status-enabled = enabled
status-disabled = disabled
status-locale = Language: { $locale }
status-log-channel = Log channel: { $channel }
status-none = none

## /umbra settings

settings-title = Settings
settings-show = **Settings**
    Language: { $locale }
    Log channel: { $log_channel }
    Trusted users: { $users }
    Trusted roles: { $roles }
settings-locale-set = Umbra now speaks `{ $locale }` in this server (people whose Discord language Umbra speaks still get their own).
settings-locale-cleared = Umbra now follows each person's Discord language in this server.
settings-log-channel-set = Reports go to { $channel } when your DMs are closed.
settings-log-channel-cleared = The log channel is cleared.
settings-trusted-added = { $target } is now trusted.
settings-trusted-removed = { $target } is no longer trusted.
settings-trusted-already = { $target } is already trusted.
settings-trusted-not-found = { $target } was not trusted.
settings-trusted-needs-target = Choose exactly one user or one role.
settings-trusted-limit = A server can trust at most { $max } users and { $max } roles.
settings-reset-title = Reset Umbra's settings
settings-reset-label = Type the server's name to confirm
settings-reset-done = The settings are back to their defaults.
settings-reset-mismatch = The name did not match; nothing was changed.

## /umbra help

help-topic-overview = **Umbra keeps your server recoverable.**
    It records your server's structure, keeps snapshots, restores them, and stops nukes while they happen.
    `/umbra status` — this server's plan and protections
    `/umbra settings` — language, log channel, trusted users (owner only)
    `/umbra notifications` — how Umbra contacts you
help-topic-settings = **Settings** (server owner only)
    `/umbra settings show` — the current settings
    `/umbra settings locale` — the language Umbra uses here
    `/umbra settings log-channel` — where reports go when your DMs are closed
    `/umbra settings trust` / `untrust` — who may run restores and AntiNuke commands
    `/umbra settings reset` — back to the defaults
help-topic-notifications = **Notifications**
    Umbra sends owners a direct message about their servers (plan changes, backups, incidents). If your DMs are closed, it posts in the log channel instead.
    `/umbra notifications` — turn DMs on or off, pick a language, mute categories.
help-topic-plans = **Plans**
    Free: 3 snapshots, daily schedule, AntiNuke detection.
    Pro: 20 snapshots, every 6 hours, every AntiNuke response, lockdown.
    Max: 100 snapshots, hourly, automatic revert, unlimited member restores.
help-button-overview = Overview
help-button-settings = Settings
help-button-notifications = Notifications
help-button-plans = Plans

## /admin license

license-granted = **{ $guild }** now has the **{ $plan }** plan until { $until }.
license-revoked = **{ $guild }**'s license is revoked; it is back on the default plan.
license-show = **{ $guild }**: { $plan } ({ $status }, { $source }) until { $until }.
license-show-free = **{ $guild }** has no license: the default plan applies.
license-forever = no end date

## /umbra notifications

notifications-show = **Your notifications**
    Direct messages: { $dms }
    Language: { $locale }
    Muted: { $muted }
notifications-dms-on = Umbra will send you direct messages.
notifications-dms-off = Umbra will not send you direct messages; reports go to your servers' log channels.
notifications-locale-set = Umbra will write to you in `{ $locale }`.
notifications-muted = You will no longer get { $category } notifications.
notifications-unmuted = You will get { $category } notifications again.

## Notifications sent to owners

notify-welcome = Thanks for adding Umbra to **{ $guild }**! Run `/umbra status` there to see what is protected, and `/umbra settings` to set a log channel and trusted users.
notify-license-granted = **{ $guild }** now has the **{ $plan }** plan until { $until }.
notify-license-revoked = The **{ $plan }** plan of **{ $guild }** was revoked; the server is on the default plan now.
notify-retention-reduced = **{ $guild }** is on the **{ $new_plan }** plan now, which keeps { $keep } snapshots. The snapshots kept under **{ $plan }** stay until { $until }; after that, the oldest unpinned ones beyond { $keep } are deleted as new snapshots are taken. Pinned snapshots are never deleted. To keep them all, pin the ones you need or renew before then.
notify-license-expired = The **{ $plan }** plan of **{ $guild }** has expired; the server is on the default plan now.
notify-in-log-channel = { $owner } (Umbra cannot reach you by direct message, so it posts here): { $text }

## Plans and categories

plan-name-free = Free
plan-name-pro = Pro
plan-name-max = Max
category-lifecycle = server lifecycle
category-billing = plans and billing
category-backups = backups and restores
category-security = security incidents

members-link-unavailable = The re-join link needs Umbra's web login: its operator sets DISCORD_CLIENT_SECRET and UMBRA_SECRET_KEY (see README).
members-role-refused = { $role } cannot be the verified role: it grants a dangerous permission, is managed by an integration, or is @everyone. Choose a plain role.
members-panel = **Stay with { $guild }.** Link your Discord account with Umbra: if this server is ever wiped, banned or moved, you can be brought back with your roles and nickname — no new invite needed. Umbra keeps only an encrypted authorization, never your email or IP, and you can remove it at any time.
members-panel-button = Link my account
members-pull-in-target = Run `/members pull` in the server the members go to ({ $target }): the preview and its buttons live there. `source` names the server they come from.
members-not-owner-of-both = Members of another server are brought only by the owner of both servers.
members-link-counts = The panel is posted. { $live } members are linked; { $dead } links are dead (the member revoked Umbra at Discord: they must link again).
billing-not-sold = This Umbra does not sell plans: its operator grants them.
billing-plans-title = **Plans**
billing-price = { $price } every { $days } days
billing-price-free = free
billing-plan-line = • **{ $plan }** — { $price }: { $snapshots } snapshots kept, { $members } members restored
billing-subscribe-link = To buy **{ $plan }**, open this link within { $minutes } minutes and log in with Discord as yourself: { $link } — it works once, only for you. Your card is registered there with Toss Payments, then charged.
billing-unknown-user = Umbra does not know your account yet: log in once on the dashboard ({ $link }), then ask again.
billing-upgraded = Upgraded to **{ $plan }**: it applies now. { $amount } was charged for the rest of this period; renewals charge the new price.
billing-upgraded-free = Upgraded to **{ $plan }**: it applies now, free for what is left of this period; renewals charge the new price.
billing-change-scheduled = **{ $plan }** applies from { $at }, when this period ends; until then nothing changes, and nothing is refunded. Choose the current plan again with `/billing change` to take it back.
billing-change-kept = The scheduled change is taken back: the subscription stays on **{ $plan }**.
billing-change-declined = The upgrade's payment was declined ({ $code }): the plan stays as it was and nothing was charged.
billing-change-pending = The upgrade's payment is not confirmed yet; Umbra checks with Toss Payments by its order and never charges twice. `/billing status` shows the outcome in a few minutes.
billing-change-past-due = The last renewal was declined: change the card first (`/billing card`), then change the plan.
billing-same-plan = The subscription is already on **{ $plan }**.
billing-busy = A payment of this subscription is in progress: try again in a minute.
billing-changes-to = Changes to **{ $plan }** on { $at }.
billing-none = No subscription: this server is on the **{ $plan }** plan.
billing-state-active = active
billing-state-past-due = payment failed, retrying
billing-state-cancelled = cancelled
billing-state-expired = ended
billing-ends = ends { $at } (cancelled, no further charge)
billing-next = next charge { $at }
billing-status = **{ $plan }** subscription: { $state }. { $next } Card: { $card }
billing-no-subscription = This server has no live subscription.
billing-cancelled = Cancelled: the plan stays until the end of the paid period, and nothing more is charged. `/billing resume` takes it back.
billing-resumed = The subscription continues: it renews at the end of the period.
billing-card-link = To change the card, open the Plan page and press Change the card: { $link } — a renewal that failed is tried again at once on the new card.
billing-which-server = In a DM, say which server: the `server` option (one you own).
