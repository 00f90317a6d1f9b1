# AntiNuke: /antinuke, the incident buttons and notifications. Counterpart: locales/ko/antinuke.ftl.

## Action classes, punishments, incident states

antinuke-class-channel-delete = channel deletions (threads and posts included)
antinuke-class-channel-create = channel creations
antinuke-class-role-delete = role deletions
antinuke-class-role-create = role creations
antinuke-class-ban = bans
antinuke-class-kick = kicks
antinuke-class-prune = prunes
antinuke-class-webhook-create = webhook creations
antinuke-class-permission-grant = dangerous permission grants
antinuke-class-bot-add = bots added
antinuke-class-guild-update = server setting changes
antinuke-class-timeout = timeouts
antinuke-class-role-remove = roles taken from members
antinuke-class-permission-remove = permissions removed from roles
antinuke-class-webhook-change = webhook changes and deletions
antinuke-class-expression-delete = emoji and sticker deletions
antinuke-class-integration-delete = integrations removed
antinuke-class-automod-change = AutoMod rules deleted or disabled
antinuke-class-message-bulk-delete = bulk message deletions
antinuke-class-unban = unbans
antinuke-class-trust-grant = trusted or whitelisted roles given out
antinuke-class-combined = combined score (points of every kind of action)
antinuke-punishment-strip-roles = take all their roles
antinuke-punishment-quarantine = take all their roles and quarantine them
antinuke-punishment-kick = kick
antinuke-punishment-ban = ban
antinuke-punishment-none = nothing (could not punish)
antinuke-status-open = open
antinuke-status-restoring = being restored
antinuke-status-resolved = resolved
antinuke-status-false-positive = false positive

## /antinuke status

antinuke-status-header = **AntiNuke** is { $state }.
antinuke-status-response = Response to a nuker: { $punishment } · lockdown { $lockdown } · automatic revert { $auto_revert }
antinuke-status-exempt = Never counted: the owner, Umbra, trusted users and roles (`/umbra settings trust`) and the whitelist — users { $users }, roles { $roles } (bots on it are counted with higher thresholds)
antinuke-status-incidents = Incidents: { $open } open, { $total } in total (`/antinuke incidents`).
antinuke-status-value = on — { $punishment }
antinuke-thresholds-title = **Thresholds** (actions by one person within the window):
antinuke-threshold-line = • { $class }: { $count } in { $window } s{ $custom ->
    [yes] { " " }(this server's own)
   *[other] {""}
}
antinuke-plan-limit = ⚠️ Not in your plan, so not applied: { $feature }.
antinuke-feature-detection = AntiNuke detection
antinuke-feature-punishment = the chosen punishment (taking all roles is used instead)
antinuke-feature-lockdown = lockdown
antinuke-feature-auto-revert = automatic revert
antinuke-feature-custom-thresholds = this server's own thresholds (the defaults are used)
antinuke-warn-audit-log = ⚠️ Umbra cannot read this server's audit log: give its role the **View Audit Log** permission, or AntiNuke cannot see who does what.

## /antinuke enable | disable | thresholds | whitelist | punishment | incidents

antinuke-enabled = AntiNuke is **on**. Anyone but the owner, trusted users and roles and the whitelist who crosses a threshold is stopped at once ({ $punishment }), and you get a DM to undo what they did. Keep Umbra's role at the top of the role list: it can only stop people below it.
antinuke-disabled = AntiNuke is **off**. Nothing is watched until you turn it on again with `/antinuke enable`.
antinuke-threshold-set = { $class }: an incident now starts at { $count } within { $window } seconds.
antinuke-threshold-reset = { $class }: back to the default, { $count } within { $window } seconds.
antinuke-whitelist-list = AntiNuke whitelist: { $items }
antinuke-whitelist-added = { $target } is on the AntiNuke whitelist: their actions are never counted.
antinuke-whitelist-removed = { $target } is no longer on the AntiNuke whitelist.
antinuke-whitelist-already = { $target } is already on the AntiNuke whitelist.
antinuke-whitelist-not-found = { $target } is not on the AntiNuke whitelist.
antinuke-punishment-set = A detected nuker now gets: { $punishment } (a bot is always kicked) · lockdown { $lockdown } · automatic revert { $auto_revert }
antinuke-incidents-title = **AntiNuke incidents** (latest { $count }):
antinuke-incidents-empty = No AntiNuke incidents in this server.
antinuke-incident-line = `{ $id }` { $when } — { $actor }: { $count } { $class } → { $punishment } — { $status } — { $destroyed } objects

## Incident buttons

antinuke-button-restore = Restore what was destroyed
antinuke-button-false-positive = False positive
antinuke-already-handled = This incident is already { $status }.
antinuke-restore-not-ready = The snapshot from before the attack is still being prepared. Try again in a few seconds.
antinuke-action-failed = That did not work: { $details }
antinuke-restore-started = Restoring what was destroyed (job `{ $job }`, { $items } objects; { $bans } bans and unbans undone). Umbra reports the progress and the result here.
antinuke-false-positive-done = Marked as a false positive: { $actor } got { $roles } roles back. To stop this happening again, trust them (`/umbra settings trust`) or add them to `/antinuke whitelist`.
antinuke-false-positive-kicked = They were kicked, so they must be invited back.
antinuke-false-positive-cleanup = The clean-up was undone too: { $grants } roles they had given were given back{ $bots ->
    [0] .
   *[other] ; { $bots } bots they had added were removed and must be invited again.
}

## Errors

error-antinuke-threshold-bounds = A threshold needs a count between 1 and { $max_count } and a window between 1 and { $max_window } seconds.
error-antinuke-threshold-needs-action = Choose the action whose threshold you want to change.
error-antinuke-plan-feature = { $feature ->
    [detection] AntiNuke detection
    [punishment] This punishment
    [lockdown] Lockdown
    [auto_revert] Automatic revert
   *[custom_thresholds] Your own thresholds
} is not included in this server's plan. `/umbra status` shows the plan.
error-antinuke-quarantine-role = The quarantine role cannot be @everyone or a role managed by a bot or integration.

## Notifications

notify-incident-detected = 🚨 **AntiNuke stopped a nuke in { $guild }.** { $actor } { $class ->
    [combined] made destructive changes of several kinds, worth { $count } points together,
   *[other] made { $count } { $class ->
        [channel_delete] channel deletions
        [channel_create] channel creations
        [role_delete] role deletions
        [role_create] role creations
        [ban] bans
        [kick] kicks
        [prune] prunes
        [webhook_create] webhook creations
        [permission_grant] dangerous permission grants
        [bot_add] bot additions
        [timeout] timeouts
        [role_remove] role removals
        [permission_remove] permission removals
        [webhook_change] webhook changes
        [expression_delete] emoji or sticker deletions
        [integration_delete] integration removals
        [automod_change] AutoMod rule deletions
        [message_bulk_delete] bulk message deletions
        [unban] unbans
        [trust_grant] grants of a trusted or whitelisted role
       *[guild_update] server setting changes
    }
} within seconds ({ $destroyed } objects affected). { $outcome ->
    [strip_roles] All their roles were taken away.
    [quarantine] All their roles were taken away and they were quarantined.
    [kick] They were kicked.
    [ban] They were banned.
    [hierarchy] Umbra could NOT stop them: their highest role { $blocker } is above Umbra's. Move Umbra's role above it in Server Settings → Roles.
   *[failed] Umbra could NOT stop them (Discord refused). Check Umbra's permissions.
}{ $cleaned ->
    [0] {""}
   *[other] { " " }{ $cleaned } roles they handed out or bots they added were taken back.
} A snapshot of the server from just before the attack was saved. Press **Restore what was destroyed** to bring it back, or **False positive** to give them their roles back.
notify-incident-resolved = ✅ AntiNuke incident in **{ $guild }** ({ $actor }): { $resolution ->
    [restored] what was destroyed has been restored
   *[false_positive] marked as a false positive
} by { $by }.

## Trust, approvals, protection health

antinuke-trust-grant-line = • Giving someone a trusted or whitelisted role: always 1 (only the owner may)
antinuke-change-requested = Only the owner changes AntiNuke directly. Your change was sent to the owner for approval: it applies when they approve it, and lapses if they do not answer within { $hours } hours.
antinuke-status-pending = { $count } change(s) by others are waiting for the owner's approval.
status-protection-degraded = ⚠️ **Protection degraded**: { $reasons }
health-missing = Umbra lacks the **{ $permission }** permission
health-role-too-low = Umbra's role is below { $count } member(s) with dangerous permissions it would have to stop ({ $members }): move Umbra's role above them in Server Settings → Roles
permission-view-audit-log = View Audit Log
permission-ban-members = Ban Members
permission-kick-members = Kick Members
permission-manage-roles = Manage Roles
protection-change-enabled = AntiNuke { $state }
protection-change-threshold = threshold of { $class } set to { $count } within { $window } s
protection-change-threshold-reset = threshold of { $class } back to the default
protection-change-punishment = punishment set to: { $punishment }
protection-change-quarantine-role = quarantine role set to { $role }
protection-change-lockdown = lockdown { $state }
protection-change-auto-revert = automatic revert { $state }
protection-change-whitelist-add = { $target } added to the AntiNuke whitelist
protection-change-whitelist-remove = { $target } removed from the AntiNuke whitelist
protection-change-trust-add = { $target } is now trusted
protection-change-trust-remove = { $target } is no longer trusted
protection-change-trust-reset = settings reset: nobody is trusted any more
protection-button-undo = Undo
protection-button-approve = Approve
protection-button-refuse = Refuse
guard-applied = Approved and applied: { $change }.
guard-refused = Refused: nothing changed ({ $change }).
guard-lapsed = This request lapsed: nothing changed.
guard-unknown = This request was already decided.
guard-undone = Undone: { $change }.
error-too-many-pending = { $max } changes are already waiting for the owner's approval. Ask the owner to answer them first.
notify-protection-changed = 🛡️ Protection of **{ $guild }** changed by { $actor }: { $change }. If this was not wanted, press **Undo**.
notify-change-requested = 🛡️ { $actor } wants to change AntiNuke in **{ $guild }**: { $change }. Nothing changes unless you press **Approve** within { $hours } hours.
notify-protection-degraded = ⚠️ **AntiNuke cannot fully protect { $guild }**: { $reasons }.
notify-protection-restored = ✅ AntiNuke can fully protect **{ $guild }** again.
notify-guild-removed = 👋 Umbra was removed from **{ $guild }**: it no longer protects it. Its backups are kept until { $until }; add Umbra back before then to keep them.
notify-snapshot-deleted = 🗑️ Snapshot **{ $snapshot }** of **{ $guild }** was deleted by { $actor }.
error-incident-pin-owner-only = This snapshot is kept for an AntiNuke incident: only the server's owner can unpin it.

## Command names and descriptions

cmd-antinuke = antinuke
cmd-antinuke-desc = AntiNuke: stops nukes while they happen (owner and trusted users)
cmd-antinuke-status = status
cmd-antinuke-status-desc = Show AntiNuke's settings, thresholds and incidents
cmd-antinuke-enable = enable
cmd-antinuke-enable-desc = Turn AntiNuke on
cmd-antinuke-disable = disable
cmd-antinuke-disable-desc = Turn AntiNuke off
cmd-antinuke-thresholds = thresholds
cmd-antinuke-thresholds-desc = Show the thresholds, or set or reset one action's
cmd-antinuke-thresholds-opt-action = action
cmd-antinuke-thresholds-opt-action-desc = The kind of action (leave empty to list all thresholds)
cmd-antinuke-thresholds-opt-action-choice-0 = Channel deletions
cmd-antinuke-thresholds-opt-action-choice-1 = Channel creations
cmd-antinuke-thresholds-opt-action-choice-2 = Role deletions
cmd-antinuke-thresholds-opt-action-choice-3 = Role creations
cmd-antinuke-thresholds-opt-action-choice-4 = Bans
cmd-antinuke-thresholds-opt-action-choice-5 = Kicks
cmd-antinuke-thresholds-opt-action-choice-6 = Prunes
cmd-antinuke-thresholds-opt-action-choice-7 = Webhook creations
cmd-antinuke-thresholds-opt-action-choice-8 = Dangerous permission grants
cmd-antinuke-thresholds-opt-action-choice-9 = Bots added
cmd-antinuke-thresholds-opt-action-choice-10 = Server setting changes
cmd-antinuke-thresholds-opt-action-choice-11 = Timeouts
cmd-antinuke-thresholds-opt-action-choice-12 = Roles taken from members
cmd-antinuke-thresholds-opt-action-choice-13 = Permissions removed from roles
cmd-antinuke-thresholds-opt-action-choice-14 = Webhooks changed or deleted
cmd-antinuke-thresholds-opt-action-choice-15 = Emojis and stickers deleted
cmd-antinuke-thresholds-opt-action-choice-16 = Integrations removed
cmd-antinuke-thresholds-opt-action-choice-17 = AutoMod rules deleted or disabled
cmd-antinuke-thresholds-opt-action-choice-18 = Messages deleted in bulk
cmd-antinuke-thresholds-opt-action-choice-19 = Unbans
cmd-antinuke-thresholds-opt-action-choice-20 = Combined score (points)
cmd-antinuke-thresholds-opt-count = count
cmd-antinuke-thresholds-opt-count-desc = How many such actions start an incident (leave both empty to reset)
cmd-antinuke-thresholds-opt-window = window
cmd-antinuke-thresholds-opt-window-desc = Within how many seconds
cmd-antinuke-whitelist = whitelist
cmd-antinuke-whitelist-desc = Users and roles AntiNuke never counts
cmd-antinuke-whitelist-opt-action = action
cmd-antinuke-whitelist-opt-action-desc = Add, remove or list
cmd-antinuke-whitelist-opt-action-choice-0 = Add
cmd-antinuke-whitelist-opt-action-choice-1 = Remove
cmd-antinuke-whitelist-opt-action-choice-2 = List
cmd-antinuke-whitelist-opt-user = user
cmd-antinuke-whitelist-opt-user-desc = A user (e.g. a trusted bot)
cmd-antinuke-whitelist-opt-role = role
cmd-antinuke-whitelist-opt-role-desc = A role
cmd-antinuke-punishment = punishment
cmd-antinuke-punishment-desc = What happens to a detected nuker, lockdown and automatic revert
cmd-antinuke-punishment-opt-kind = kind
cmd-antinuke-punishment-opt-kind-desc = The punishment (a bot is always kicked)
cmd-antinuke-punishment-opt-kind-choice-0 = Take all their roles (reversible)
cmd-antinuke-punishment-opt-kind-choice-1 = Take all their roles and give the quarantine role
cmd-antinuke-punishment-opt-kind-choice-2 = Kick
cmd-antinuke-punishment-opt-kind-choice-3 = Ban
cmd-antinuke-punishment-opt-lockdown = lockdown
cmd-antinuke-punishment-opt-lockdown-desc = Also remove dangerous permissions from roles and pause invites
cmd-antinuke-punishment-opt-auto-revert = auto-revert
cmd-antinuke-punishment-opt-auto-revert-desc = Restore what was destroyed without waiting for you
cmd-antinuke-punishment-opt-quarantine-role = quarantine-role
cmd-antinuke-punishment-opt-quarantine-role-desc = The role quarantine gives (Umbra creates one if you leave it empty)
cmd-antinuke-incidents = incidents
cmd-antinuke-incidents-desc = List this server's recent AntiNuke incidents
