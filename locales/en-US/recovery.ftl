# Recovery: live sync and snapshots (/backup), and their lines in /umbra status.

## /umbra status

status-sync-live = live — { $roles } roles, { $channels } channels, { $members } members (full load { $since })
status-sync-loading = loading this server…
status-sync-stale = paused (Umbra lost track of this server; it reloads it when Discord sends it again)
status-snapshot-value = **{ $label }**, { $when } ({ $trigger })

## /backup

backup-created = Snapshot **{ $label }** (`{ $id }`) created: { $roles } roles, { $channels } channels, { $overwrites } permission overwrites, { $members } members — { $size }.
backup-expired-note = The oldest { $count } unpinned snapshot(s) were removed: your plan keeps { $keep }. Pin a snapshot with `/backup pin` to keep it.
backup-list-title = **Snapshots** ({ $count }; your plan keeps { $keep } unpinned)
backup-list-empty = This server has no snapshots yet. Take one with `/backup create`.
backup-list-line = { $pinned }**{ $label }** `{ $id }` — { $when } — { $trigger } — { $members } members — { $size }
backup-pinned-mark = 📌{ " " }
backup-info = **{ $label }**
    Id: `{ $id }`
    Taken: { $created } ({ $trigger }), state as of { $as_of }
    Contents: { $roles } roles, { $channels } channels, { $overwrites } permission overwrites, { $members } members, { $bans }
    Also: { $more }
    Size: { $size } ({ $uncompressed } uncompressed), checksum `{ $checksum }…`
    Pinned: { $pinned }
    Taken by: { $creator }
backup-info-bans = { $count } bans
backup-info-bans-unknown = no ban list (taken before Umbra knew the bans)
backup-info-more = { $emojis } emojis, { $stickers } stickers, { $threads } threads and posts, { $events } scheduled events, { $onboarding } onboarding questions, { $webhooks } webhooks, { $messages } messages, { $automod }
backup-info-automod = { $count } AutoMod rules
backup-info-automod-unknown = no AutoMod rules (not known when it was taken)
backup-info-more-unknown = (the document could not be read)
backup-deleted = Snapshot **{ $label }** deleted.
backup-pinned = Snapshot **{ $label }** pinned: it never expires and does not count against your plan.
backup-unpinned = Snapshot **{ $label }** unpinned: it counts against your plan's retention again.
backup-exported = Snapshot **{ $label }** as a file ({ $size }). Keep it somewhere safe; `/backup import` reads it back.
backup-imported = Imported **{ $label }** (`{ $id }`) from the server **{ $source }** (state as of { $as_of }): { $roles } roles, { $channels } channels, { $overwrites } permission overwrites, { $members } members — { $size }.
backup-schedule-set = Umbra now takes a snapshot every { $minutes } minutes (unchanged states are not stored twice).
backup-schedule-raised = Your plan allows a snapshot every { $minutes } minutes at most, so that is what Umbra uses (you asked for { $requested }).
backup-schedule-off = Scheduled snapshots are off.
backup-messages-on = Each snapshot now keeps the last { $count } messages of { $channels } (your plan: up to { $max_channels } channels, { $max_count } messages each). A restore that makes one of these channels again posts them back in order through a webhook, with each author's name and avatar.
backup-messages-off = Message backups are off: snapshots keep no messages.
error-messages-intent = Umbra cannot read message content, so nothing was changed. Turn on **Message Content Intent** in the Discord Developer Portal (your application → Bot → Privileged Gateway Intents), then run this command again.
error-messages-plan = Your plan does not include message backups. `/billing plans` shows the plans that do.
error-messages-channels = Your plan keeps the messages of { $max } channels at most. Remove one first (`/backup messages` with that channel and keep: False).
error-messages-count = Your plan keeps { $max } messages per channel at most.
backup-trigger-manual = manual
backup-trigger-scheduled = scheduled
backup-trigger-pre-restore = before a restore
backup-trigger-emergency = emergency
backup-trigger-import = imported

## Owner notification

notify-snapshot-failed = Umbra could not take an automatic snapshot of **{ $guild }**: { $reason }. Your existing snapshots are untouched; `/backup create` takes one by hand.

## Errors

error-backup-not-synced = Umbra is still loading this server. Try again in a moment.
error-backup-not-found = There is no snapshot `{ $snapshot }` in this server. `/backup list` shows them.
error-backup-pinned = Snapshot `{ $snapshot }` is pinned. Unpin it with `/backup unpin` before deleting it.
error-backup-pin-limit = At most { $max } snapshots can be pinned on your plan. Unpin one first.
error-backup-label-too-long = A label can have at most { $max } characters.
error-backup-corrupt = Snapshot `{ $snapshot }` is damaged (its checksum does not match) and cannot be used.
error-backup-export-too-large = This snapshot would be a { $size } file; Discord accepts at most { $max }.
error-backup-file-too-large = The file is { $size }; at most { $max } is accepted.
error-backup-file-download = The file could not be downloaded from Discord. Try again.
error-backup-file-not-umbra = This is not an Umbra snapshot file (made by `/backup export`).
error-backup-file-version = This snapshot file has format version { $version }; this Umbra reads version { $supported }. Update Umbra to import it.
error-backup-file-checksum = This snapshot file was changed or damaged after it was exported (its checksum does not match). Nothing was imported.
error-backup-file-invalid = This snapshot file is not valid: { $details }. Nothing was imported.

## Command names and descriptions

cmd-backup = backup
cmd-backup-desc = Snapshots of this server (owner and trusted users)
cmd-backup-create = create
cmd-backup-create-desc = Take a snapshot of this server now
cmd-backup-create-opt-label = label
cmd-backup-create-opt-label-desc = A name for the snapshot
cmd-backup-list = list
cmd-backup-list-desc = List this server's snapshots
cmd-backup-info = info
cmd-backup-info-desc = Details of a snapshot
cmd-backup-info-opt-snapshot = snapshot
cmd-backup-info-opt-snapshot-desc = The snapshot (label or date)
cmd-backup-delete = delete
cmd-backup-delete-desc = Delete a snapshot
cmd-backup-delete-opt-snapshot = snapshot
cmd-backup-delete-opt-snapshot-desc = The snapshot (label or date)
cmd-backup-pin = pin
cmd-backup-pin-desc = Keep a snapshot forever (it does not count against your plan)
cmd-backup-pin-opt-snapshot = snapshot
cmd-backup-pin-opt-snapshot-desc = The snapshot (label or date)
cmd-backup-unpin = unpin
cmd-backup-unpin-desc = Let a snapshot expire again
cmd-backup-unpin-opt-snapshot = snapshot
cmd-backup-unpin-opt-snapshot-desc = The snapshot (label or date)
cmd-backup-export = export
cmd-backup-export-desc = Get a snapshot as a JSON file
cmd-backup-export-opt-snapshot = snapshot
cmd-backup-export-opt-snapshot-desc = The snapshot (label or date)
cmd-backup-import = import
cmd-backup-import-desc = Store a snapshot file as a snapshot of this server
cmd-backup-import-opt-file = file
cmd-backup-import-opt-file-desc = A JSON file from /backup export
cmd-backup-import-opt-label = label
cmd-backup-import-opt-label-desc = A name for the snapshot
cmd-backup-schedule = schedule
cmd-backup-schedule-desc = Take snapshots automatically
cmd-backup-schedule-opt-minutes = minutes
cmd-backup-schedule-opt-minutes-desc = Minutes between snapshots (leave empty to stop)
cmd-backup-messages = messages
cmd-backup-messages-desc = Keep the last messages of chosen channels in every snapshot
cmd-backup-messages-opt-channel = channel
cmd-backup-messages-opt-channel-desc = A text or announcement channel (leave empty to see the setting)
cmd-backup-messages-opt-keep = keep
cmd-backup-messages-opt-keep-desc = Keep this channel's messages (False: stop; without a channel: turn message backups off)
cmd-backup-messages-opt-count = count
cmd-backup-messages-opt-count-desc = How many of each channel's last messages to keep (default: your plan's most)
