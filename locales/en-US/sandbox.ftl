# `umbra sandbox`: the narrated AntiNuke drill. Counterpart: locales/ko/sandbox.ftl.

sandbox-title = Umbra sandbox — an AntiNuke drill on a local Discord (no token, no set-up)
sandbox-guild = Demo server **{ $guild }** built in the local Discord: { $roles } roles, { $channels } channels, { $members } members.
sandbox-database = Umbra started with its own PostgreSQL in { $dir }.
sandbox-connected = Umbra is connected and has mirrored the server into its database.
sandbox-antinuke-on = The owner turns AntiNuke on (/antinuke enable): { $count } channel deletions within { $window } s by one person make an incident.
sandbox-snapshot = The owner takes a snapshot (/backup create): **{ $label }** — { $roles } roles, { $channels } channels, { $members } members.
sandbox-nuke-start = ☢️  { $actor } (an administrator) starts deleting channels and roles, about 50 per second…
sandbox-nuke-end = The nuke is over: { $destroyed } objects destroyed before Umbra stopped it, { $refused } more attempts refused by Discord.
sandbox-detected = 🛡️  Detected ({ $count } { $class }): the punishment request reached Discord { $ms } ms after the destructive event.
sandbox-dm = The owner's DM:
    { $text }
sandbox-press = The owner presses “Restore what was destroyed”.
sandbox-reply = Umbra: { $text }
sandbox-progress = Restoring… { $done }/{ $total } steps
sandbox-restored = Restore { $status ->
    [completed] finished
   *[other] ended ({ $status })
} in { $seconds } s: { $done } steps done, { $failed } failed.
sandbox-diff-equal = ✅ Final diff: the server equals its pre-attack state (the attacker keeps their punishment).
sandbox-diff-unequal = ❌ Final diff: { $count } differences from the pre-attack state:
    { $sample }
sandbox-summary = Summary: stopped { $ms } ms after the destructive event, { $destroyed } objects destroyed, restored in { $seconds } s.
sandbox-failed = The drill failed: { $error }
sandbox-dashboard = 🌐 The dashboard is up: open { $link } — it logs you in as the demo server's owner. See the server before the nuke in the time machine. Ctrl-C stops the sandbox.
sandbox-billing = 💳 Billing (local Toss Payments): the owner registered a card and subscribed the server to Pro — ₩{ $amount } charged once, the Pro license is active. The dashboard's Plan page shows the subscription and its receipt.
