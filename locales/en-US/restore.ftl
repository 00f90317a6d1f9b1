# Restore — English (United States). Counterpart: locales/ko/restore.ftl.

## /restore preview

restore-preview-title = **Restore preview** — snapshot **{ $snapshot }** ({ $when }), mode **{ $mode }**, restoring { $components }
restore-preview-nothing = Nothing to do: this server already matches the snapshot.
restore-preview-changed = The server changed or the preview expired since it was shown: this is the plan now. Check it and confirm again.
restore-preview-roles = Roles: { $create } to create, { $update } to update, { $delete } to delete, { $keep } unchanged, { $skip } skipped
restore-preview-channels = Channels: { $create } to create, { $update } to update, { $delete } to delete, { $keep } unchanged, { $skip } skipped ({ $overwrites } permission overwrites)
restore-preview-settings = Server settings: { $update ->
        [0] unchanged
       *[other] updated
    }
restore-preview-pull = Members to bring back: { $add } (they linked their account; each is added with their roles and nickname)
restore-pull-report = Members: { $joined } joined, { $already } already there, { $roles } roles set, { $dead } dead links, { $cap } at Discord's server limit, { $banned } banned, { $failed } failed
restore-preview-members = Members: { $update } to update (roles and nickname), { $keep } unchanged, { $skip } skipped
restore-preview-eta = Estimated time at Discord's rate limits: about { $eta } ({ $calls } calls)
restore-preview-footer = A snapshot of the server as it is now is taken first. This preview expires { $expires }; only the owner and trusted users can confirm it.
restore-preview-cancelled = Restore cancelled. Nothing was changed.
restore-mode-merge = merge (create what is missing, fix what changed, delete nothing)
restore-mode-mirror = mirror (also delete what the snapshot does not have)
restore-duration = { $minutes } min { $seconds } s

## Warnings

restore-warn-above-bot = { $count } item(s) are at or above Umbra's highest role and will be skipped: { $names }. Move Umbra's role up to restore them.
restore-warn-role-budget = This creates { $creates } roles. Discord allows about { $budget } role creations per server every 48 hours; beyond that, creation pauses.
restore-warn-managed = { $count } bot or integration role(s) cannot be created by a restore, only reused: { $names }
restore-warn-cap = The result would have { $total } { $what } (Discord allows { $max }); the rest will fail.
restore-warn-not-in-server = { $count } member(s) of the snapshot are no longer in the server and are skipped.
restore-warn-member-limit = Your plan restores at most { $limit } members; { $skipped } more are skipped.
restore-warn-not-restorable = A bot cannot restore these settings: { $fields }
restore-warn-foreign = This snapshot comes from another server: objects are matched by name.
restore-preview-grants = ⚠️ **Dangerous grants** ({ $count }): { $items }
restore-preview-deletions = 🗑️ **Deletions** ({ $count }): { $items }
restore-warn-punished = { $count } member(s) are the punished attacker of an open AntiNuke incident and keep their punishment: { $names }
restore-approval-waiting = This restore needs the server owner's approval ({ $reasons }). The owner got a DM: it starts when they press **Approve**.
restore-reason-import = it restores an imported file
restore-reason-mirror = it deletes what the snapshot lacks (mirror)
restore-reason-grants = it grants dangerous permissions
restore-approved = Approved by { $user }: the restore is queued.
restore-approval-refused = The owner refused this restore: nothing changed.
restore-approval-changed = The server changed since this restore was requested: ask for a new preview.
notify-restore-approval = 🛡️ { $actor } wants to restore **{ $snapshot }** in **{ $guild }** and needs your approval because { $reasons }. { $risks } Nothing happens unless you press **Approve**.
restore-warn-missing-targets = { $count } permission overwrite(s) or member role(s) refer to something this restore does not bring back; they are left out.

## Buttons and progress

restore-button-confirm = Confirm restore
restore-button-cancel = Cancel
restore-button-stop = Stop restore
restore-queued = Restore confirmed by { $user }. It starts in a moment; this message shows its progress.
restore-progress = **Restoring…** { $bar }
    { $done } done, { $failed } failed, of { $total } — about { $eta } left
restore-finished-completed = **Restore finished**: { $done } of { $total } steps done, { $failed } failed. The owner gets the full report by DM.
restore-finished-cancelled = **Restore cancelled**: { $done } of { $total } steps were done ({ $failed } failed) before it stopped.
restore-finished-failed = **Restore failed** after { $done } of { $total } steps ({ $failed } failed).
restore-cancel-requested = Stopping the restore: calls already sent finish, nothing new starts.

## /restore status and history

restore-status = **Restore** `{ $id }` — { $state } — { $mode } — { $when }
restore-status-none = No restore has run in this server yet. `/restore preview` plans one.
restore-history-title = **Restores** (last { $count })
restore-history-line = { $when } — { $state } — { $mode } — { $done }/{ $total } done, { $failed } failed — `{ $id }`
restore-history-empty = No restore has run in this server yet.
restore-state-previewed = waiting for confirmation
restore-state-queued = queued
restore-state-running = running
restore-state-completed = completed
restore-state-failed = failed
restore-state-cancelled = cancelled
restore-state-expired = expired

## Errors

error-restore-not-synced = Umbra is still loading this server. Try again in a moment.
error-restore-snapshot-not-found = There is no snapshot `{ $snapshot }` in this server. A snapshot of another server must be imported with `/backup import` first.
error-restore-corrupt = Snapshot `{ $snapshot }` is damaged and cannot be restored.
error-restore-active = A restore is already running in this server. `/restore status` shows it; `/restore cancel` stops it.
error-restore-no-job = There is no such restore running in this server.
error-restore-not-preview = This restore is already { $state }; it cannot be confirmed or cancelled from here.
error-restore-bad-components = `{ $value }` is not a list of components. Use roles, channels, settings, members, bans, emojis, stickers, automod, threads, events, welcome, onboarding, webhooks (comma-separated) or all.

## Owner notifications

notify-restore-started = A restore of **{ $guild }** started ({ $mode }, { $total } steps).
notify-restore-completed = **Restore of { $guild } finished** in { $seconds } s: { $done } of { $total } steps done, { $failed } failed.
    { $details }
notify-restore-failed = **The restore of { $guild } failed**: { $reason }
notify-restore-cancelled = The restore of **{ $guild }** was cancelled after { $done } of { $total } steps.

## Command names and descriptions

cmd-restore = restore
cmd-restore-desc = Restore this server from a snapshot (owner and trusted users)
cmd-restore-preview = preview
cmd-restore-preview-desc = Show what restoring a snapshot would change, then confirm it
cmd-restore-preview-opt-snapshot = snapshot
cmd-restore-preview-opt-snapshot-desc = The snapshot (label or date)
cmd-restore-preview-opt-mode = mode
cmd-restore-preview-opt-mode-desc = merge (default) keeps extra objects; mirror deletes them
cmd-restore-preview-opt-mode-choice-0 = merge — create what is missing, delete nothing
cmd-restore-preview-opt-mode-choice-1 = mirror — also delete what the snapshot lacks
cmd-restore-preview-opt-components = components
cmd-restore-preview-opt-components-desc = Comma-separated components (roles, channels, bans, threads…; the list suggests them) or all
cmd-restore-status = status
cmd-restore-status-desc = The running or last restore and its progress
cmd-restore-cancel = cancel
cmd-restore-cancel-desc = Stop the running restore
cmd-restore-history = history
cmd-restore-history-desc = This server's last restores
restore-preview-bans = Bans: { $ban } to ban again, { $unban } to lift, { $keep } unchanged, { $skip } skipped
restore-preview-unbans = 🔓 **Unbans** ({ $count }): { $items }
restore-warn-bans-unknown-snapshot = This snapshot was taken before Umbra knew the server's ban list: bans are left as they are.
restore-warn-bans-unknown-mirror = Umbra has not loaded the server's ban list yet (it needs the Ban Members permission): bans are left as they are.
restore-preview-emojis = Emojis: { $create } to upload again, { $update } to update, { $delete } to delete, { $keep } unchanged, { $skip } skipped
restore-preview-emoji-deletions = 🗑️ **Emoji deletions** ({ $count }): { $items }
restore-warn-emoji-images = { $count } emoji(s) cannot be uploaded again: the snapshot could not keep their image ({ $names })
restore-warn-pictures-missing = The snapshot did not keep the icon of these roles: they stay as they are ({ $names })
restore-preview-stickers = Stickers: { $create } to upload again, { $update } to update, { $delete } to delete, { $keep } unchanged, { $skip } skipped
restore-preview-sticker-deletions = 🗑️ **Sticker deletions** ({ $count }): { $items }
restore-preview-automod = AutoMod rules: { $create } to create again, { $update } to update, { $delete } to delete, { $keep } unchanged, { $skip } skipped
restore-preview-automod-deletions = 🗑️ **AutoMod rule deletions** ({ $count }): { $items }
restore-preview-threads = Threads and posts: { $create } to create again, { $update } to update, { $delete } to delete, { $keep } unchanged, { $skip } skipped
restore-preview-thread-deletions = 🗑️ **Thread deletions** ({ $count }): { $items }
restore-preview-events = Scheduled events: { $create } to schedule again, { $update } to update, { $delete } to delete, { $keep } unchanged, { $skip } skipped (past or starting soon)
restore-preview-event-deletions = 🗑️ **Scheduled event deletions** ({ $count }): { $items }
restore-preview-webhooks = Webhooks: { $create } to make again (with new URLs, sent to you by DM when done), { $update } to update, { $delete } to delete, { $keep } unchanged, { $skip } skipped
restore-preview-messages = Messages: { $create } to post again in the channels made again, in order, with their authors' names and avatars (through a webhook, without pinging anyone); { $keep } left where their channel survived; { $skip } skipped
restore-preview-webhook-deletions = 🗑️ **Webhook deletions** ({ $count }): { $items }
restore-webhook-urls = 🔗 The restore made { $count ->
    [one] a webhook
   *[other] { $count } webhooks
} again. Discord gave { $count ->
    [one] it a new URL
   *[other] them new URLs
}: give each integration that posted to the old one its new URL. Keep them secret: anyone with a URL can post.
restore-preview-welcome = Welcome screen: { $update ->
    [0] unchanged
   *[other] set back
}
restore-preview-onboarding = Onboarding: { $update ->
    [0] unchanged
   *[other] set back (questions, their roles and channels, default channels)
}
restore-warn-automod-unknown-snapshot = This snapshot does not know the server's AutoMod rules: they are left as they are.
restore-warn-automod-unknown-mirror = Umbra has not read the server's AutoMod rules yet (it needs the Manage Server permission): they are left as they are.
