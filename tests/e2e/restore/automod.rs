//! Purpose: AutoMod rules end to end (issue 16) — the fixture's rules (a keyword rule that
//! exempts a role and a channel and alerts in a channel; a mention-spam rule) read by live sync
//! (REST on load, re-read on each AUTO_MODERATION_RULE_* event), kept in a snapshot with their
//! references as snapshot-local ids, destroyed (one deleted, one defaced, the alert channel
//! deleted, an intruder added), and brought back by a mirror restore that points them at the
//! restored channel: the emulator's rules equal to before by name.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::recovery::wait_live;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automod_rules_are_mirrored_kept_and_restored_with_their_channels_mapped() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    let g = world.guild_id();
    let before = emulator_view(&world);
    assert_eq!(before.automod.len(), 2, "the fixture has AutoMod rules");
    let keyword = before.automod[0].clone();
    assert!(!keyword.exempt_roles.is_empty() && !keyword.exempt_channels.is_empty());
    let alert = keyword
        .actions
        .iter()
        .find_map(|a| a.pointer("/metadata/channel_id").and_then(|c| c.as_str()))
        .map(str::to_owned)
        .expect("the keyword rule alerts in a channel");
    // The mirror comparison covers the rules (live sync read them by REST).
    let id = snapshot(&world, "with rules").await;
    let (_, doc) = world.data().snapshots.document(g, id).await.expect("doc");
    let rules = doc.automod.clone().expect("the snapshot knows the rules");
    assert_eq!(rules.len(), 2);
    assert!(rules[0].actions.iter().any(|a| a.channel.is_some()));

    // The attack: the mention-spam rule deleted, the keyword rule renamed, turned off and
    // stripped of its exemptions, its alert channel deleted, an intruder's rule added.
    let owner = world.emu.as_user(world.owner_id());
    owner
        .delete_automod_rule(g, before.automod[1].id)
        .expect("delete");
    owner
        .update_automod_rule(
            g,
            keyword.id,
            json!({ "name": "defaced", "enabled": false, "exempt_roles": [], "exempt_channels": [] }),
        )
        .expect("deface");
    let alert_id = before
        .channel_by_name(&alert)
        .map(|c| c.id)
        .expect("the alert channel");
    owner
        .delete_channel(alert_id)
        .expect("delete the alert channel");
    owner
        .create_automod_rule(
            g,
            json!({
                "name": "Intruder", "event_type": 1, "trigger_type": 1, "enabled": true,
                "trigger_metadata": { "keyword_filter": ["hello"] },
                "actions": [{ "type": 1 }],
            }),
        )
        .expect("a new rule");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the attack").await;
    // The alert channel held a thread and was on the welcome screen: they come back too.
    mirror_restore_brings_back(
        &world,
        id,
        "channels,automod,threads,welcome",
        &[
            "AutoMod rules: 1 to create again, 1 to update, 1 to delete",
            "Intruder",
        ],
        &before,
        &channels_and(|o| {
            o.automod = true;
            o.threads = true;
            o.welcome = true;
        }),
    )
    .await;
    world.finish().await;
}
