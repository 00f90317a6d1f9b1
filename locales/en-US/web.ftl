# The web dashboard (server-rendered pages).

web-logout = Log out
web-logout-all = Log out everywhere
web-back-to-guilds = Back to my servers
web-never = never
web-none = none
web-next = Next
web-previous = Previous
web-save = Save
web-unlimited = unlimited
web-pinned = pinned
web-minutes = { $count ->
    [one] 1 minute
   *[other] { $count } minutes
}
web-members-count = { $count ->
    [one] 1 member
   *[other] { $count } members
}

web-not-found-title = Not found
web-not-found-body = There is nothing here, or it is not yours to see.
web-forbidden-title = Refused
web-bad-request-title = That did not work
web-refused-title = That did not work
web-internal-title = Something went wrong
web-csrf-refused = This request did not come from Umbra's own pages, so it was refused. Reload the page and try again.
web-not-allowed = Only the server's owner and trusted members can do this.

web-login-title = Log in
web-login-intro = Umbra keeps your Discord server recoverable. Log in with Discord to see the servers you own or are trusted in.
web-login-button = Log in with Discord
web-login-not-configured = Login is not configured on this Umbra: its operator has not set DISCORD_CLIENT_SECRET. The bot works as usual in Discord.
web-login-not-ready = Umbra has not connected to Discord yet. Try again in a minute.
web-login-failed-title = Login failed
web-login-expired = This login attempt has expired or was already used. Start again from the login page.
web-login-state = This login link does not match the one your browser started, so nothing was done. Start again from the login page.
web-login-denied = You did not allow Umbra to see who you are, so you are not logged in.
web-login-code = Discord refused the login (the code expired or was already used). Start again from the login page.
web-login-discord-down = Discord could not be reached. Try again in a moment.

web-guilds-title = My servers
web-guilds-none = No server to show: Umbra lists the servers you own or are trusted in, where Umbra is installed.
web-role-owner = owner
web-role-trusted = trusted

web-nav-overview = Overview
web-nav-snapshots = Snapshots
web-nav-timemachine = Time machine
web-nav-restores = Restores
web-nav-incidents = Incidents
web-nav-antinuke = AntiNuke
web-nav-notifications = Notifications
web-nav-audit = Audit log
web-nav-plan = Plan

web-overview-title = Overview
web-overview-sync = Live sync
web-overview-last-full-sync = Last full sync: { $at }
web-overview-protection = Protection
web-overview-plan = Plan
web-overview-snapshots = Last snapshots
web-overview-restore = Restore
web-overview-incidents = Open incidents
web-sync-live = Live: changes are mirrored as they happen
web-sync-loading = Loading the server
web-sync-stale = Behind: a full reload is due
web-sync-none = Not set up yet
web-antinuke-on = AntiNuke is on
web-antinuke-off = AntiNuke is off
web-incidents-none-open = No open incident.

web-plan-title = Plan
web-plan-until = until { $until }
web-plan-retention = Keeps { $count } snapshots
web-plan-retention-label = Snapshots kept
web-plan-interval-label = Shortest snapshot interval
web-plan-members-label = Members a restore brings back
web-plan-punishments-label = AntiNuke punishments
web-plan-lockdown-label = Lockdown
web-plan-auto-revert-label = Automatic revert
web-plan-thresholds-label = Custom thresholds
web-plan-buy-later = Buying a plan here arrives with billing. Until then, an operator grants plans.

web-snapshots-title = Snapshots
web-snapshots-none = No snapshot yet.
web-snapshot-label = Label
web-snapshot-create = Take a snapshot now
web-snapshot-name = Snapshot
web-snapshot-as-of = As of
web-snapshot-content = Content
web-snapshot-counts = { $roles } roles · { $channels } channels
web-snapshot-download = Download
web-snapshot-pin = Pin
web-snapshot-unpin = Unpin
web-snapshot-delete = Delete
web-snapshot-delete-confirm = Delete this snapshot? It cannot be undone.
web-label-too-long = The label is too long (at most { $max } characters).
web-trigger-manual = taken by hand
web-trigger-scheduled = scheduled
web-trigger-pre-restore = before a restore
web-trigger-emergency = AntiNuke emergency
web-trigger-import = imported
web-import-title = Import a snapshot file
web-import-file = File
web-import-button = Import
web-import-no-file = Choose a snapshot file to import.
web-import-bad-form = The upload could not be read. Try again.

web-tm-title = Time machine
web-tm-history-start = History is kept since { $at }.
web-tm-moment = A moment (UTC)
web-tm-snapshot = Or a snapshot
web-tm-show = Show
web-tm-bad-moment = That moment could not be read. Pick a date and time.
web-tm-bad-mode = Unknown restore mode.
web-tm-out-of-history = Umbra has no history of the server at that moment. Pick a moment after the start of its history and not in the future.
web-tm-then-moment = The server at { $at }
web-tm-then-snapshot = The server in snapshot { $label } ({ $at })
web-tm-diff = Then and now
web-tm-no-changes = Nothing differs from now.
web-tm-object = What
web-tm-field = Field
web-tm-then = Then
web-tm-now = Now
web-tm-more-member-changes = …and { $count } more member changes.
web-tm-mode = Restore mode
web-tm-restore-this = Restore this
web-tm-snapshot-label = Time machine { $at }
web-tm-settings = Settings
web-tm-roles = Roles
web-tm-channels = Channels
web-tm-no-category = No category
web-subject-setting = Setting
web-subject-role = Role
web-subject-channel = Channel
web-subject-member = Member
web-change-created = created
web-change-deleted = deleted
web-change-changed = changed
web-mode-merge = Merge: bring back what is missing, keep what is new
web-mode-mirror = Mirror: make the server exactly like this

web-restores-title = Restores
web-restores-none = No restore yet.
web-restores-how = Start a restore from the time machine: choose a moment or a snapshot, then "Restore this".
web-restore-title = Restore
web-restore-confirm = Confirm and restore
web-restore-discard = Discard
web-restore-cancel = Stop the restore
web-restore-report = Report
web-restore-approval-pending = The server's owner has been asked to approve this restore.
web-restore-awaiting-approval = This restore needs the owner's approval ({ $reasons }). They have been asked in a DM.
web-outcome-failed = failed
web-outcome-skipped = skipped
web-outcome-note = note

web-incidents-title = Incidents
web-incidents-none = No AntiNuke incident.
web-incident-actor = By { $actor }
web-incident-punishment = Punishment: { $punishment }
web-incident-destroyed = { $count } things destroyed
web-incident-first-action = First action ({ $class }) by { $actor }
web-incident-detected = Detected after { $count } actions
web-incident-restore = Restore what was destroyed
web-incident-false-positive = False positive

web-antinuke-title = AntiNuke
web-antinuke-enabled = AntiNuke on
web-antinuke-punishment = Punishment
web-antinuke-lockdown = Lockdown (take dangerous permissions from roles during an attack)
web-antinuke-auto-revert = Revert automatically
web-antinuke-thresholds = Thresholds and whitelist
web-antinuke-more-in-discord = The quarantine role is chosen with /antinuke punishment in Discord.
web-antinuke-not-owner = You are not the owner: your changes wait for the owner's approval.
web-antinuke-requested = The owner has been asked to approve your change.
web-antinuke-pending = { $count ->
    [one] 1 change waits for the owner's approval.
   *[other] { $count } changes wait for the owner's approval.
}
web-antinuke-thresholds-how = How many actions of a kind, within how many seconds, make an incident (the combined row counts weighted points).
web-antinuke-thresholds-plan = Your plan uses the default thresholds; a higher plan lets you set your own.
web-antinuke-count = Count
web-antinuke-window = Seconds
web-antinuke-custom = custom
web-antinuke-default = default { $count } in { $window } s
web-antinuke-reset = Back to the default
web-antinuke-bad-class = Unknown kind of action.
web-antinuke-bad-threshold = A threshold is a count and a number of seconds.
web-antinuke-whitelist-title = Whitelist
web-antinuke-whitelist-how = Users and roles AntiNuke never counts (bots on it are counted with larger thresholds).
web-antinuke-whitelist-kind = Kind
web-antinuke-whitelist-user = User
web-antinuke-whitelist-role = Role
web-antinuke-whitelist-id = Discord id
web-antinuke-whitelist-add = Add
web-antinuke-whitelist-remove = Remove
web-antinuke-bad-target = Give a user or role id of this server.
web-antinuke-bad-punishment = Unknown punishment.
web-antinuke-quarantine-role = Quarantine needs a quarantine role: set it with /antinuke punishment in Discord first.

web-notifications-title = Notifications
web-notifications-yours = These are your own preferences, for every server.
web-notifications-dms = Send me DMs
web-notifications-muted = Muted
web-category-lifecycle = Umbra joining or leaving a server
web-category-billing = Plans and payments
web-category-backups = Snapshots and restores
web-category-security = AntiNuke incidents

web-audit-title = Audit log
web-audit-kind = Kind
web-audit-actor = Actor (Discord id)
web-audit-since = Since
web-audit-until = Until
web-audit-filter = Filter
web-audit-none = No event matches.
web-audit-bad-filter = The filter could not be read: the actor is a Discord id, times are dates with a time.

web-operator-title = Operator
web-operator-gateway = Gateway
web-operator-connected = Connected as { $id }
web-operator-disconnected = Not connected
web-operator-shards = Shards { $shards }
web-operator-cached = { $count } servers in the cache
web-operator-database = Database
web-operator-db-down = The database did not answer
web-operator-pool = { $count } connections
web-operator-guilds = Servers
web-operator-queues = Queues
web-operator-waiting = Waiting
web-operator-leased = Leased
web-operator-dead = Dead
web-operator-licenses = Licenses
web-operator-guild-id = Server id
web-operator-plan = Plan
web-operator-days = Days (empty: no end)
web-operator-grant = Grant
web-operator-revoke = Revoke
web-operator-bad-guild = Umbra does not know that server.
web-operator-bad-plan = No such plan.
web-operator-bad-days = Days must be a number from 1 to 3650.
web-operator-no-license = That server has no license to revoke.
