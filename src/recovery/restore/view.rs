//! Purpose: how a restore shows itself — the progress message's texts (bar, counts, ETA, the
//! final report) and the custom ids of its buttons — shared by the commands that post it and
//! the runner that edits it.

use std::time::Duration;

use uuid::Uuid;

use super::model::{self, Plan, RunState};
use crate::i18n::{I18n, Locale, arg, msg};

/// The custom id prefix of the restore buttons.
pub const COMPONENT_PREFIX: &str = "umbra:rst:";

/// The Stop button of a running restore's progress message.
pub fn stop_id(job: Uuid) -> String {
    format!("{COMPONENT_PREFIX}stop:{}", job.simple())
}

/// A report item's kind, as the report names it.
pub fn kind_name(k: model::Kind) -> &'static str {
    match k {
        model::Kind::Role => "role",
        model::Kind::Channel => "channel",
        model::Kind::Settings => "settings",
        model::Kind::Member => "member",
        model::Kind::Ban => "ban",
        model::Kind::Emoji => "emoji",
        model::Kind::Sticker => "sticker",
        model::Kind::AutoMod => "automod",
        model::Kind::Thread => "thread",
        model::Kind::Event => "event",
        model::Kind::Welcome => "welcome screen",
        model::Kind::Onboarding => "onboarding",
        model::Kind::Webhook => "webhook",
        model::Kind::Message => "message",
    }
}

/// `12 min 5 s` in `locale`.
pub fn duration_text(i18n: &I18n, locale: Locale, d: Duration) -> String {
    let secs = d.as_secs();
    i18n.text(
        locale,
        &msg::RESTORE_DURATION,
        &[arg("minutes", secs / 60), arg("seconds", secs % 60)],
    )
}

/// The progress message: bar, counts, ETA.
pub fn progress_text(i18n: &I18n, locale: Locale, plan: &Plan, state: &RunState) -> String {
    let total = plan.steps.len();
    let finished = state.done.len() + state.failed.len();
    i18n.text(
        locale,
        &msg::RESTORE_PROGRESS,
        &[
            arg("bar", model::progress_bar(finished, total, 20)),
            arg("done", state.done.len()),
            arg("failed", state.failed.len()),
            arg("total", total),
            arg(
                "eta",
                duration_text(i18n, locale, plan.estimate_remaining(state)),
            ),
        ],
    )
}

/// The last edit of the progress message.
pub fn final_text(
    i18n: &I18n,
    locale: Locale,
    plan: &Plan,
    state: &RunState,
    status: &str,
) -> String {
    let total = plan.steps.len();
    let m = match status {
        "completed" => msg::RESTORE_FINISHED_COMPLETED,
        "cancelled" => msg::RESTORE_FINISHED_CANCELLED,
        _ => msg::RESTORE_FINISHED_FAILED,
    };
    let mut text = i18n.text(
        locale,
        &m,
        &[
            arg("done", state.done.len()),
            arg("failed", state.failed.len()),
            arg("total", total),
        ],
    );
    if let Some(pull) = model::PullReport::of(plan, state) {
        text.push('\n');
        text.push_str(&i18n.text(
            locale,
            &msg::RESTORE_PULL_REPORT,
            &[
                arg("joined", pull.joined),
                arg("already", pull.already),
                arg("roles", pull.roles_set),
                arg("dead", pull.dead),
                arg("cap", pull.at_cap),
                arg("banned", pull.banned),
                arg("failed", pull.failed),
            ],
        ));
    }
    for item in model::report(plan, state)
        .iter()
        .filter(|i| i.outcome == "failed")
        .take(10)
    {
        text.push_str(&format!(
            "\n• {} `{}`: {}",
            kind_name(item.kind),
            item.name,
            item.reason
        ));
    }
    text
}
