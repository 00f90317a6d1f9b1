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

web-plan-not-sold = Plans are not sold on this Umbra: its operator grants them.
web-billing-price = { $price } every { $days } days
web-billing-subscribe = Subscribe
web-billing-subscription = Subscription
web-billing-status-active = active
web-billing-status-past-due = payment failed: retrying
web-billing-status-cancelled = cancelled
web-billing-status-expired = ended
web-billing-next-charge = Next charge: { $at }
web-billing-ends = Cancelled: it ends on { $at }, with no further charge.
web-billing-card = Card: { $card }
web-billing-receipt = Receipt
web-billing-paid = paid
web-billing-failed = declined
web-billing-cancel = Cancel at the end of the period
web-billing-cancel-confirm = Cancel the subscription? The plan stays until the end of the paid period.
web-billing-resume = Keep the subscription
web-billing-thanks = Thank you: the payment went through and the plan is active.
web-billing-owner-only = Only the server's owner can buy or cancel a plan.
web-billing-already = This server already has a subscription.
web-billing-not-for-sale = That plan is not for sale.
web-billing-mismatch = This card registration does not belong to your session, so nothing was stored. Start again from the Plan page.
web-billing-expired = This card registration has expired or was already used. Start again from the Plan page.
web-billing-declined = The payment was declined.
web-billing-declined-code = The payment was declined ({ $code }). Nothing was charged; try another card.
web-billing-refused = Toss Payments refused the request. Try again, or use another card.
web-billing-pending = The payment's outcome is not known yet; Umbra checks with Toss Payments and never charges twice. Look at the Plan page in a few minutes.
web-billing-card-title = Register a card
web-billing-upgraded = Upgraded: the new plan applies now. The rest of this period was charged pro rata (receipt below); renewals charge the new price.
web-billing-change-scheduled = The new plan applies when this period ends; until then nothing changes, and nothing is refunded.
web-billing-change-kept = The scheduled change is taken back.
web-billing-changes-to = Changes to { $plan } on { $at }.
web-billing-keep-plan = Stay on { $plan }
web-billing-change-intro = Change the plan: a dearer plan applies now, and the rest of this period is charged pro rata; a cheaper one applies when this period ends.
web-billing-change = Switch to this plan
web-billing-no-subscription = This server has no live subscription.
web-billing-change-past-due = The last renewal was declined: change the card first, then change the plan.
web-billing-same-plan = The subscription is already on that plan.
web-billing-busy = A payment of this subscription is in progress: try again in a minute.
web-billing-link-invalid = This link has expired, was already used, or was made for another Discord account. Ask for a new one with /billing subscribe.
web-billing-card-intro = Your card is registered with Toss Payments for recurring payments. Umbra never sees the card number; it keeps only an encrypted billing key.
web-billing-card-button = Register a card with Toss Payments
web-billing-toss-failed = The card was not registered: { $message } ({ $code }).
web-billing-activating = The plan is being activated: it applies within a few seconds.
web-billing-one-per-server = One subscription per server: cancel this one at the end of its period to choose another plan.
web-operator-failing = Failing subscriptions
web-operator-refund = Refund a payment
web-operator-order = Order id
web-operator-amount = Amount in KRW (empty: all that is left)
web-operator-reason = Reason
web-operator-refund-button = Refund
web-operator-refund-confirm = Refund this payment? Toss Payments returns the money to the card.
web-operator-bad-amount = The amount is a positive number of won.
web-operator-bad-order = No paid order has that id.
web-operator-refund-refused = Toss Payments refused the refund ({ $code }).
web-billing-change-card = Change the card
web-billing-card-changed = The new card is registered: the next payment uses it (a failed one is tried again now).

## Member re-join link (/join, /me)
web-join-title = Link your account
web-join-intro = { $guild } uses Umbra to keep the server recoverable. If the server is ever wiped, banned or moved, linking lets its owner bring you back — with the roles and nickname you had — without a new invite.
web-join-what-1 = Discord will ask you to let Umbra see who you are and add you to servers. Umbra uses that only to bring you back to servers you linked.
web-join-what-2 = Umbra keeps the authorization encrypted. It never stores your email, IP address or location.
web-join-what-3 = You can remove the link at any time on your "My links" page; removing the last one revokes the authorization at Discord.
web-join-button = Link with Discord
web-join-done = You are linked to { $guild }. If the server needs to bring its members back, you will be added again with your roles.
web-join-verified = You also got the server's verified role.
web-join-manage = You can see and remove your links on the "My links" page after logging in.
web-join-closed = This server has no open re-join link.
web-join-expired = This link attempt has expired or did not start in this browser. Open the server's link again.
web-join-denied = You did not authorize Umbra, so nothing was linked.
web-join-scope = Discord did not grant leave to add you to servers, so nothing was linked. Try again and keep every permission checked.
web-join-code = Discord refused this authorization (it may have been used already). Open the server's link again.
web-join-discord-down = Discord could not be reached. Try again in a moment.
web-me-title = My links
web-me-links = Servers you linked
web-me-none = You have not linked any server.
web-me-live = linked
web-me-dead = authorization revoked at Discord: link again to be brought back
web-me-remove = Remove
web-me-remove-confirm = Remove this link? If it is your last one, Umbra revokes its authorization at Discord.
web-me-removed = The link was removed.
web-me-explain = A server you linked can add you back with your roles if it is wiped or moved. Removing every link revokes Umbra's authorization at Discord.
web-tm-emojis = { $count ->
    [one] 1 emoji
   *[other] { $count } emojis
}
web-tm-stickers = { $count ->
    [one] 1 sticker
   *[other] { $count } stickers
}
web-tm-automod = { $count ->
    [one] 1 AutoMod rule
   *[other] { $count } AutoMod rules
}
web-tm-automod-off = off
web-tm-threads = { $count ->
    [one] 1 thread or post
   *[other] { $count } threads and posts
}
web-tm-thread-archived = archived
web-tm-welcome = Welcome screen
web-tm-webhooks = Webhooks ({ $count })
web-tm-onboarding = Onboarding ({ $count } { $count ->
    [one] question
   *[other] questions
})
web-tm-events = { $count ->
    [one] 1 scheduled event
   *[other] { $count } scheduled events
}
web-tm-automod-exempt = except
web-tm-automod-keywords = keywords
web-tm-automod-spam = spam
web-tm-automod-presets = keyword presets
web-tm-automod-mentions = mention spam
web-tm-automod-profile = member profiles
web-tm-bans = { $count ->
    [one] 1 ban
   *[other] { $count } bans
}
web-tm-bans-unknown = Bans: not known at that time
