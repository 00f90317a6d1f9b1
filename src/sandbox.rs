//! Purpose: `umbra sandbox` — AntiNuke end to end with no Discord token and no set-up. Starts
//! the Discord emulator in-process and the embedded PostgreSQL (in `--data-dir`, else a
//! temporary directory removed at the end), builds a demo server, connects Umbra to it, and runs a narrated drill:
//! AntiNuke on, a snapshot, a scripted nuke by a rogue admin at ~50 actions a second, the
//! detection and the response, the owner pressing "Restore what was destroyed" in the DM, the
//! restore with its progress, and the final diff against the pre-attack server. Prints a
//! localized timeline with timings; `--json` adds ONE JSON line last. Success (exit code 0)
//! only when the server ends equal to its pre-attack state (the punished attacker aside).
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_emulator::{
    BotMessage, DiffOptions, Emulator, EmulatorConfig, Fixture, FixtureSpec, GuildView, diff,
};
use serde_json::json;

use crate::config::{Config, Secret, Secrets};
use crate::i18n::{ArgValue, I18n, Locale, Msg, arg, msg};
use crate::types::Data;

/// How long a step may take before the drill gives up.
const PATIENCE: Duration = Duration::from_secs(120);

/// The drill's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DrillReport {
    pub restored_equal: bool,
    /// From the emulator dispatching the destructive event that crossed the threshold to the
    /// emulator receiving the punishment request.
    pub detect_ms: f64,
    /// Objects the nuke destroyed before it was stopped.
    pub destroyed: usize,
    /// From the owner's click to the restore's end.
    pub restore_s: f64,
}

/// The locale of the timeline: `--locale`, else `LANG` (`ko_KR.UTF-8` -> ko), else English.
pub fn locale_of(flag: Option<&str>) -> Locale {
    let lang = std::env::var("LANG").ok();
    flag.or(lang.as_deref())
        .and_then(|l| {
            let base = l.split(['.', '@']).next().unwrap_or(l).replace('_', "-");
            Locale::from_discord(&base)
                .or_else(|| Locale::from_discord(base.split('-').next().unwrap_or("")))
        })
        .unwrap_or(Locale::FALLBACK)
}

/// Prints the timeline.
struct Timeline {
    i18n: I18n,
    locale: Locale,
    started: Instant,
}

impl Timeline {
    fn say(&self, m: Msg, args: &[(&str, ArgValue)]) {
        let text = self.i18n.text(self.locale, &m, args);
        let elapsed = self.started.elapsed().as_secs_f64();
        for (i, line) in text.lines().enumerate() {
            if i == 0 {
                println!("[{elapsed:7.2} s] {line}");
            } else {
                println!("            {line}");
            }
        }
    }
}

/// `umbra sandbox`: runs the drill and returns the process's exit code.
/// The sandbox never touches an installation: it reads no configuration file and no `UMBRA_*`
/// or `DATABASE_URL` setting, and keeps its database in `data_dir` (`--data-dir`) or a
/// temporary directory, never in the installation's `data_dir`.
pub async fn main(
    json_output: bool,
    locale: Option<String>,
    billing: bool,
    data_dir: Option<PathBuf>,
) -> ExitCode {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
    let locale = locale_of(locale.as_deref());
    let i18n = match I18n::load() {
        Ok(i) => i,
        Err(e) => {
            println!("umbra sandbox: loading translations failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let timeline = Timeline {
        i18n,
        locale,
        started: Instant::now(),
    };
    // Scripts (`--json`) get the drill only; people also get the dashboard afterwards.
    let result = run(&timeline, !json_output, billing, data_dir).await;
    match result {
        Ok(report) => {
            if json_output {
                println!(
                    "{}",
                    json!({
                        "restored_equal": report.restored_equal,
                        "detect_ms": (report.detect_ms * 100.0).round() / 100.0,
                        "destroyed": report.destroyed,
                        "restore_s": (report.restore_s * 100.0).round() / 100.0,
                    })
                );
            }
            if report.restored_equal {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            timeline.say(msg::SANDBOX_FAILED, &[arg("error", format!("{e:#}"))]);
            if json_output {
                println!(
                    "{}",
                    json!({"restored_equal": false, "detect_ms": null, "destroyed": null, "restore_s": null, "error": format!("{e:#}")})
                );
            }
            ExitCode::FAILURE
        }
    }
}

/// Where the sandbox's embedded PostgreSQL lives: `--data-dir`, else a fresh temporary
/// directory (mode 0755 under /tmp: when running as root, postgres runs as an unprivileged user
/// who must reach it), removed when the guard drops. Never `UMBRA_DATA_DIR`: that is the
/// installation's.
fn sandbox_dir(given: Option<PathBuf>) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(dir) = given {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating --data-dir {}", dir.display()))?;
        return Ok((dir, None));
    }
    let tmp = tempfile::Builder::new()
        .prefix("umbra-sandbox-")
        .tempdir_in("/tmp")
        .context("creating a temporary directory under /tmp")?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
        .context("opening the temporary directory to the database user")?;
    Ok((tmp.path().to_path_buf(), Some(tmp)))
}

async fn until<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        if Instant::now() > deadline {
            bail!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}

/// Polls `check` until it yields a value.
async fn poll<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn view(emu: &Emulator, fixture: &Fixture, without: u64) -> anyhow::Result<GuildView> {
    let mut v = emu
        .guild_view(fixture.guild_id)
        .context("the demo server vanished")?;
    v.members.retain(|m| m.user_id != without);
    v.settings.features.sort();
    for c in &mut v.channels {
        c.overwrites.sort_by_key(|o| o.id);
    }
    for m in &mut v.members {
        m.roles.sort_unstable();
        m.role_names.sort();
    }
    Ok(v)
}

/// Discord mentions (`<@id>`, `<@&id>`) as the names people see.
fn names(emu: &Emulator, guild: u64, text: &str) -> String {
    let mut out = text.to_owned();
    emu.with_world(|w| {
        for (id, user) in &w.users {
            out = out.replace(&format!("<@{id}>"), &format!("@{}", user.username));
        }
        if let Some(g) = w.guilds.get(&guild) {
            for (id, role) in &g.roles {
                out = out.replace(&format!("<@&{id}>"), &format!("@{}", role.name));
            }
        }
    });
    out
}

async fn reply_text(handle: &discord_emulator::InteractionHandle) -> anyhow::Result<String> {
    let view = handle
        .wait_until(PATIENCE, "the bot's answer", |v| {
            v.original.as_ref().is_some_and(|m| !m.loading) || !v.followups.is_empty()
        })
        .await
        .map_err(|e| anyhow::anyhow!("no answer from Umbra: {e}"))?;
    Ok(view
        .original
        .filter(|m| !m.loading)
        .or_else(|| view.followups.first().cloned())
        .map(|m| m.text())
        .unwrap_or_default())
}

/// Runs the drill; with `stay`, the dashboard then stays up (its login link printed) until
/// Ctrl-C.
async fn run(
    tl: &Timeline,
    stay: bool,
    billing: bool,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<DrillReport> {
    tl.say(msg::SANDBOX_TITLE, &[]);
    // 1. The local Discord and the demo server.
    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .context("starting the Discord emulator")?;
    let spec = FixtureSpec {
        guild_name: "Umbra Sandbox".into(),
        ..FixtureSpec::small()
    };
    let fixture = emu.build_fixture(&spec);
    let guild = fixture.guild_id;
    tl.say(
        msg::SANDBOX_GUILD,
        &[
            arg("guild", spec.guild_name.clone()),
            arg("roles", spec.roles),
            arg("channels", spec.channels),
            arg("members", spec.members + 3),
        ],
    );
    // 2. PostgreSQL and Umbra.
    let (dir, _guard) = sandbox_dir(data_dir)?;
    let mut config = Config {
        data_dir: dir.clone(),
        ..Config::default()
    };
    config.database.url = String::new();
    // The dashboard logs in through the emulator's OAuth2, approving as the demo owner.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("finding a free port for the dashboard")?
        .port();
    config.http.bind = format!("127.0.0.1:{port}").parse().context("address")?;
    config.http.public_url = format!("http://127.0.0.1:{port}");
    config.discord.client_id = fixture.app.client_id;
    config.discord.authorize_url = format!("{}/oauth2/authorize", emu.http_base());
    emu.set_oauth_user(Some(fixture.owner_id));
    config.discord.api_address = emu.tls_addr().to_string();
    config.discord.ca_cert = emu.ca_cert_path().display().to_string();
    config.outbox.poll_interval_ms = 100;
    config.notification.poll_interval_ms = 100;
    // With --billing, plans are sold on a local Toss Payments (the demo server starts on Free).
    let toss = if billing {
        let toss = toss_emulator::TossEmulator::start(toss_emulator::TossConfig::default())
            .await
            .context("starting the Toss Payments emulator")?;
        config.billing.provider = "toss".into();
        config.billing.toss.client_key = toss.client_key().to_owned();
        config.billing.toss.api_url = toss.base_url();
        config.billing.toss.sdk_url = toss.sdk_url();
        config.licensing.default_plan = "free".into();
        Some(toss)
    } else {
        None
    };
    let secrets = Secrets {
        toss_security_key: None,
        discord_token: Some(Secret::new(fixture.app.bot_token.clone())),
        // A throw-away key for this run (the login seals its state with it).
        secret_key: Some(Secret::new(crate::discord::oauth::random_key())),
        client_secret: Some(Secret::new(fixture.app.client_secret.clone())),
        toss_secret_key: toss
            .as_ref()
            .map(|t| Secret::new(t.secret_key().to_owned())),
    };
    let running = crate::app::start(&config, &secrets)
        .await
        .context("starting Umbra")?;
    tl.say(
        msg::SANDBOX_DATABASE,
        &[arg("dir", dir.display().to_string())],
    );
    let data = running.data.clone();
    let mut outcome = drill(tl, &emu, &fixture, &data).await;
    if let (Some(toss), Ok(_)) = (&toss, &outcome)
        && let Err(e) = subscribe(tl, toss, &fixture, &data).await
    {
        outcome = Err(e);
    }
    if stay && outcome.is_ok() {
        // The handlers are installed before the link is shown: a signal sent on seeing it
        // is not lost.
        let stop = crate::cli::shutdown_signal();
        tl.say(
            msg::SANDBOX_DASHBOARD,
            &[arg(
                "link",
                format!("{}/auth/login", config.http.public_url),
            )],
        );
        stop.await;
    }
    let stopped = running.shutdown().await;
    emu.shutdown();
    let report = outcome?;
    stopped.context("stopping Umbra")?;
    let _ = guild;
    Ok(report)
}

/// `--billing`: the owner registers a card on the local Toss Payments and subscribes the demo
/// server to Pro; the first charge goes through and the license follows.
async fn subscribe(
    tl: &Timeline,
    toss: &toss_emulator::TossEmulator,
    fixture: &Fixture,
    data: &Data,
) -> anyhow::Result<()> {
    use crate::identity::UserReader;
    use crate::licensing::LicensingReader;
    let billing = data.billing.clone().context("billing is on")?;
    let owner = data
        .identity
        .user_row(fixture.owner_id)
        .await?
        .context("the owner is recorded")?;
    let customer = crate::billing::BillingService::new_customer_key();
    let auth = toss.issue_auth_key(&customer.to_string(), "4330123412341234");
    billing.register_card(owner, customer, &auth).await?;
    let charged = billing.subscribe(owner, fixture.guild_id, "pro").await?;
    let crate::billing::Charged::Paid { .. } = charged else {
        anyhow::bail!("the demo subscription was not paid: {charged:?}");
    };
    let paid = toss.payments().last().map(|p| p.total_amount).unwrap_or(0);
    until("the Pro license is active", || async {
        data.licensing
            .entitlements(fixture.guild_id)
            .await
            .is_ok_and(|e| e.plan.code == "pro")
    })
    .await?;
    tl.say(msg::SANDBOX_BILLING, &[arg("amount", paid)]);
    Ok(())
}

async fn drill(
    tl: &Timeline,
    emu: &Emulator,
    fixture: &Fixture,
    data: &Data,
) -> anyhow::Result<DrillReport> {
    let guild = fixture.guild_id;
    let owner = fixture.owner_id;
    let rogue = fixture.rogue_admin_id;
    until("Umbra connects", || async {
        emu.connected_sessions(fixture.app.application_id) > 0
    })
    .await?;
    until("Umbra has loaded the demo server", || async {
        data.sync
            .status(guild)
            .await
            .is_ok_and(|s| s.state == Some(crate::recovery::sync::SyncState::Live))
            // Bans, AutoMod rules and archived threads come by REST after the load.
            && data.sync.is_idle(guild)
            && emu.with_world(|w| {
                w.apps
                    .get(&fixture.app.application_id)
                    .is_some_and(|a| !a.global_commands.is_empty())
            })
    })
    .await?;
    tl.say(msg::SANDBOX_CONNECTED, &[]);
    // 3. The owner turns AntiNuke on and takes a snapshot, as a real owner would (and sets the
    // server's language, which Umbra's DMs follow).
    let code = tl.locale.code();
    if tl.locale == Locale::Ko {
        let handle = emu
            .invoke_command(
                owner,
                Some(guild),
                None,
                "umbra settings locale",
                json!({ "language": 2 }),
                code,
            )
            .map_err(|e| anyhow::anyhow!("/umbra settings locale: {e:?}"))?;
        reply_text(&handle).await?;
    }
    let handle = emu
        .invoke_command(owner, Some(guild), None, "antinuke enable", json!({}), code)
        .map_err(|e| anyhow::anyhow!("/antinuke enable: {e:?}"))?;
    reply_text(&handle).await?;
    let threshold = data
        .antinuke
        .policy(guild)
        .map(|p| {
            p.thresholds
                .get(crate::recovery::antinuke::ActionClass::ChannelDelete)
        })
        .context("AntiNuke has no policy for the demo server")?;
    tl.say(
        msg::SANDBOX_ANTINUKE_ON,
        &[
            arg("count", threshold.count),
            arg("window", threshold.window_seconds()),
        ],
    );
    let handle = emu
        .invoke_command(
            owner,
            Some(guild),
            None,
            "backup create",
            json!({ "label": "before-the-drill" }),
            code,
        )
        .map_err(|e| anyhow::anyhow!("/backup create: {e:?}"))?;
    reply_text(&handle).await?;
    let snapshot = data
        .snapshots
        .latest(guild)
        .await
        .context("reading the snapshot")?
        .context("no snapshot was taken")?;
    tl.say(
        msg::SANDBOX_SNAPSHOT,
        &[
            arg("label", snapshot.display_name()),
            arg("roles", snapshot.role_count),
            arg("channels", snapshot.channel_count),
            arg("members", snapshot.member_count),
        ],
    );
    let before = view(emu, fixture, rogue)?;
    // 4. The nuke: channels and roles alternately, 20 ms apart (~50 actions a second).
    tl.say(msg::SANDBOX_NUKE_START, &[arg("actor", "Rogue Admin")]);
    let actor = emu.as_user(rogue).with_reason("nuke");
    let mut channels = fixture.channel_ids.iter().skip(1);
    let mut roles = fixture.role_ids.iter().rev();
    let (mut destroyed, mut refused) = (0usize, 0usize);
    for i in 0..20 {
        let ok = if i % 2 == 0 {
            channels
                .next()
                .is_some_and(|c| actor.delete_channel(*c).is_ok())
        } else {
            roles
                .next()
                .is_some_and(|r| actor.delete_role(guild, *r).is_ok())
        };
        if ok {
            destroyed += 1;
        } else {
            refused += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tl.say(
        msg::SANDBOX_NUKE_END,
        &[arg("destroyed", destroyed), arg("refused", refused)],
    );
    // 5. Detection and response, timed from the emulator's own logs.
    let incident = poll("the incident is recorded", || async {
        data.antinuke
            .incidents(guild, 1)
            .await
            .ok()
            .and_then(|l| l.into_iter().next())
    })
    .await?;
    let member_path = format!("/members/{rogue}");
    let requests = emu.request_log();
    let punish = requests
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with(&member_path))
        .min_by_key(|r| r.received)
        .context("Umbra sent no punishment request")?;
    let trigger = emu
        .dispatch_log()
        .into_iter()
        .filter(|d| {
            d.guild_id == Some(guild)
                && matches!(d.event.as_str(), "CHANNEL_DELETE" | "GUILD_ROLE_DELETE")
                && d.at <= punish.received
        })
        .max_by_key(|d| d.at)
        .context("no destructive dispatch before the punishment")?;
    let detect_ms = punish.received.duration_since(trigger.at).as_secs_f64() * 1000.0;
    let class = crate::recovery::antinuke::ActionClass::parse(&incident.action_class)
        .map(|c| tl.i18n.text(tl.locale, &c.name_msg(), &[]))
        .unwrap_or_else(|| incident.action_class.clone());
    tl.say(
        msg::SANDBOX_DETECTED,
        &[
            arg("ms", format!("{detect_ms:.1}")),
            arg("class", class),
            arg("count", incident.action_count),
        ],
    );
    // 6. The owner's DM with its buttons.
    let restore_id = format!(
        "{}restore:{}",
        crate::recovery::antinuke::COMPONENT_PREFIX,
        incident.id
    );
    let dm: BotMessage = poll("the owner gets the DM", || async {
        emu.dm_messages_to(owner)
            .into_iter()
            .find(|m| m.custom_ids().contains(&restore_id))
    })
    .await?;
    tl.say(
        msg::SANDBOX_DM,
        &[arg("text", names(emu, guild, &dm.text()))],
    );
    until("the emergency snapshot is ready", || async {
        data.antinuke
            .incident(incident.id)
            .await
            .ok()
            .flatten()
            .is_some_and(|i| i.emergency_snapshot_id.is_some())
    })
    .await?;
    // 7. The owner presses "Restore what was destroyed".
    tl.say(msg::SANDBOX_PRESS, &[]);
    let clicked = Instant::now();
    let handle = emu
        .click_button(owner, dm.id, &restore_id)
        .map_err(|e| anyhow::anyhow!("clicking the button: {e:?}"))?;
    let text = reply_text(&handle).await?;
    tl.say(msg::SANDBOX_REPLY, &[arg("text", names(emu, guild, &text))]);
    let mut last = (-1, -1);
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Ok(Some(job)) = data.restores.status(guild).await {
            let now = (job.row.done_steps, job.row.total_steps);
            if now != last && job.row.status == "running" {
                tl.say(
                    msg::SANDBOX_PROGRESS,
                    &[arg("done", now.0), arg("total", now.1)],
                );
                last = now;
            }
            if matches!(
                job.row.status.as_str(),
                "completed" | "failed" | "cancelled"
            ) {
                break job.row.status;
            }
        }
        if Instant::now() > deadline {
            bail!("timed out waiting until the restore ends");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let restore_s = clicked.elapsed().as_secs_f64();
    let job = data
        .restores
        .status(guild)
        .await
        .context("reading the restore")?
        .context("no restore job")?;
    tl.say(
        msg::SANDBOX_RESTORED,
        &[
            arg("seconds", format!("{restore_s:.2}")),
            arg("done", job.row.done_steps),
            arg("failed", job.row.failed_steps),
            arg("status", status),
        ],
    );
    // The restore's report replaced Umbra's answer to the click.
    if let Ok(view) = handle.view()
        && let Some(report) = view.original.filter(|m| !m.loading)
        && report.text() != text
    {
        tl.say(
            msg::SANDBOX_REPLY,
            &[arg("text", names(emu, guild, &report.text()))],
        );
    }
    // 8. The final diff (ids ignored: restored objects are new ones).
    until("the incident is resolved", || async {
        data.antinuke
            .incident(incident.id)
            .await
            .ok()
            .flatten()
            .is_some_and(|i| i.status != crate::recovery::antinuke::IncidentStatus::Restoring)
    })
    .await?;
    let after = view(emu, fixture, rogue)?;
    let options = DiffOptions {
        bans: false,
        webhooks: false,
        emojis: false,
        ..DiffOptions::structural()
    };
    let differences = diff(&before, &after, &options);
    if differences.is_empty() {
        tl.say(msg::SANDBOX_DIFF_EQUAL, &[]);
    } else {
        let shown: Vec<String> = differences
            .iter()
            .take(10)
            .map(ToString::to_string)
            .collect();
        tl.say(
            msg::SANDBOX_DIFF_UNEQUAL,
            &[
                arg("count", differences.len()),
                arg("sample", shown.join("\n")),
            ],
        );
    }
    tl.say(
        msg::SANDBOX_SUMMARY,
        &[
            arg("ms", format!("{detect_ms:.1}")),
            arg("destroyed", destroyed),
            arg("seconds", format!("{restore_s:.2}")),
        ],
    );
    Ok(DrillReport {
        restored_equal: differences.is_empty(),
        detect_ms,
        destroyed,
        restore_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locale_comes_from_the_flag_then_lang() {
        assert_eq!(locale_of(Some("ko")), Locale::Ko);
        assert_eq!(locale_of(Some("ko_KR.UTF-8")), Locale::Ko);
        assert_eq!(locale_of(Some("en_GB.UTF-8")), Locale::EnUs);
        assert_eq!(locale_of(Some("fr")), Locale::EnUs);
    }
}
