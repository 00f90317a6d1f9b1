//! Purpose: scripted interactions against a real poise 0.7 bot: slash commands (with
//! subcommand groups, options and `resolved`) in a guild and in DMs, buttons, modals,
//! deferred replies with follow-ups and file attachments, and Discord's 3-second deadline.

use std::time::Duration;

use discord_emulator::{EmulatorConfig, FixtureSpec, InteractionError};
use poise::serenity_prelude as serenity;
use serde_json::json;

use super::harness::*;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Ctx<'a> = poise::Context<'a, (), Error>;

const T: Duration = Duration::from_secs(10);

/// Replies with a button; a click updates the message.
#[poise::command(slash_command)]
async fn ping(ctx: Ctx<'_>) -> Result<(), Error> {
    let row = serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new("again").label("Again"),
    ]);
    let handle = ctx
        .send(
            poise::CreateReply::default()
                .content("pong")
                .components(vec![row]),
        )
        .await?;
    let msg = handle.message().await?;
    if let Some(click) = msg
        .await_component_interaction(ctx.serenity_context())
        .timeout(Duration::from_secs(10))
        .await
    {
        click
            .create_response(
                ctx,
                serenity::CreateInteractionResponse::UpdateMessage(
                    serenity::CreateInteractionResponseMessage::new()
                        .content(format!("pong again for {}", click.user.name))
                        .components(vec![]),
                ),
            )
            .await?;
    }
    Ok(())
}

/// Backup commands.
#[poise::command(slash_command, subcommands("create"))]
async fn backup(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Defers, then sends the backup as a file.
#[poise::command(slash_command)]
async fn create(
    ctx: Ctx<'_>,
    #[description = "A label"] label: String,
    #[description = "Who asked"] user: Option<serenity::User>,
    #[description = "Where"] channel: Option<serenity::GuildChannel>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let body =
        json!({ "label": label, "user": user.map(|u| u.name), "channel": channel.map(|c| c.name) })
            .to_string();
    ctx.send(
        poise::CreateReply::default()
            .content("backup ready")
            .attachment(serenity::CreateAttachment::bytes(
                body.into_bytes(),
                "backup.json",
            ))
            .ephemeral(true),
    )
    .await?;
    ctx.say("and a second follow-up").await?;
    Ok(())
}

/// Opens a modal and echoes what was typed.
#[poise::command(slash_command)]
async fn form(ctx: Ctx<'_>) -> Result<(), Error> {
    let poise::Context::Application(app) = ctx else {
        return Ok(());
    };
    let modal = serenity::CreateQuickModal::new("Settings")
        .timeout(Duration::from_secs(10))
        .short_field("Name");
    if let Some(resp) = app
        .interaction
        .quick_modal(ctx.serenity_context(), modal)
        .await?
    {
        let name = resp.inputs.first().cloned().unwrap_or_default();
        resp.interaction
            .create_response(
                ctx,
                serenity::CreateInteractionResponse::Message(
                    serenity::CreateInteractionResponseMessage::new()
                        .content(format!("hello {name}")),
                ),
            )
            .await?;
    }
    Ok(())
}

/// Answers too late.
#[poise::command(slash_command)]
async fn slow(ctx: Ctx<'_>) -> Result<(), Error> {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ctx.say("too late").await?;
    Ok(())
}

/// Starts a poise bot that registers its commands globally; returns when they are.
async fn poise_bot(emu: &discord_emulator::Emulator, f: &discord_emulator::Fixture) -> SerenityBot {
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: vec![ping(), backup(), form(), slow()],
            ..Default::default()
        })
        .setup(|ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                Ok(())
            })
        })
        .build();
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let unknown = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = Recorder {
        tx,
        unknown: unknown.clone(),
    };
    let intents = serenity::GatewayIntents::GUILDS
        | serenity::GatewayIntents::GUILD_MESSAGES
        | serenity::GatewayIntents::DIRECT_MESSAGES;
    let mut client =
        serenity::ClientBuilder::new_with_http(serenity_http(emu, &f.app.bot_token), intents)
            .framework(framework)
            .raw_event_handler(recorder)
            .await
            .unwrap();
    let shard_manager = client.shard_manager.clone();
    let task = tokio::spawn(async move {
        let _ = client.start().await;
    });
    let app = f.app.application_id;
    let end = tokio::time::Instant::now() + T;
    while !emu.with_world(|w| {
        w.apps
            .get(&app)
            .is_some_and(|a| a.global_commands.len() == 4)
    }) {
        assert!(
            tokio::time::Instant::now() < end,
            "poise did not register its commands"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    SerenityBot {
        events,
        unknown,
        shard_manager,
        task,
    }
}

#[tokio::test]
async fn a_slash_command_replies_and_a_button_click_updates_the_message() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = poise_bot(&emu, &f).await;
    let h = emu
        .invoke_command(
            f.owner_id,
            Some(f.guild_id),
            None,
            "ping",
            json!({}),
            "en-US",
        )
        .unwrap();
    assert_eq!(h.response().await.unwrap().kind, 4);
    let msg = h.message(T).await.unwrap();
    assert_eq!(msg.content, "pong");
    assert_eq!(msg.channel_id, f.general_channel_id);
    assert_eq!(msg.buttons()[0].custom_id.as_deref(), Some("again"));
    assert!(
        emu.messages_in(f.general_channel_id)
            .iter()
            .any(|m| m.id == msg.id)
    );

    // A human clicks after the bot started listening (it fetches @original first).
    emu.wait_for_request(T, |r| {
        r.method == "GET" && r.route.ends_with("/messages/@original")
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let click = emu
        .click_button(f.trusted_user_id, msg.id, "again")
        .unwrap();
    assert_eq!(click.response().await.unwrap().kind, 7);
    let updated = click.message(T).await.unwrap();
    assert_eq!(
        updated.id, msg.id,
        "an update edits the message the button is on"
    );
    assert_eq!(updated.content, "pong again for Trusted Mod");
    assert!(updated.buttons().is_empty());
    assert!(
        emu.click_button(f.owner_id, msg.id, "nope").is_err(),
        "unknown custom ids cannot be clicked"
    );
    bot.assert_no_unknown_events();
    bot.stop().await;
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_deferred_subcommand_sends_a_file_as_follow_ups_and_resolves_its_options() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = poise_bot(&emu, &f).await;
    let registered = emu.with_world(|w| w.apps[&f.app.application_id].global_commands.clone());
    let backup = registered.iter().find(|c| c["name"] == "backup").unwrap();
    assert_eq!(
        backup["options"][0]["type"], 1,
        "poise registers `create` as a subcommand"
    );
    let opts = json!({ "label": "nightly", "user": f.member_ids[0].to_string(), "channel": f.general_channel_id.to_string() });
    let h = emu
        .invoke_command(
            f.owner_id,
            Some(f.guild_id),
            None,
            "backup create",
            opts,
            "ko",
        )
        .unwrap();
    let payload = h.payload();
    assert_eq!(payload["data"]["options"][0]["name"], "create");
    assert_eq!(
        payload["data"]["resolved"]["users"][f.member_ids[0].to_string()]["username"],
        "user-00001"
    );
    assert_eq!(payload["locale"], "ko");
    assert_eq!(h.response().await.unwrap().kind, 5);
    let first = h.message(T).await.unwrap();
    assert!(first.ephemeral);
    assert_eq!(first.content, "backup ready");
    let file = first
        .attachment("backup.json")
        .expect("the file is attached");
    let saved: serde_json::Value = serde_json::from_slice(&file.data).unwrap();
    assert_eq!(
        saved,
        json!({ "label": "nightly", "user": "user-00001", "channel": "general" })
    );
    let followups = h.followups(1, T).await.unwrap();
    assert_eq!(followups[0].content, "and a second follow-up");
    // The file is downloadable from its URL, like Discord's CDN.
    let url = format!(
        "{}/attachments/{}/{}/backup.json",
        emu.http_base(),
        first.channel_id,
        file.id
    );
    let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], &file.data[..]);
    bot.assert_no_unknown_events();
    bot.stop().await;
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_modal_is_opened_and_its_submission_answered() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = poise_bot(&emu, &f).await;
    let h = emu
        .invoke_command(
            f.owner_id,
            Some(f.guild_id),
            None,
            "form",
            json!({}),
            "en-US",
        )
        .unwrap();
    assert_eq!(h.response().await.unwrap().kind, 9);
    let modal = h.modal().unwrap();
    assert_eq!(modal["title"], "Settings");
    let field = modal["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    let submit = emu
        .submit_modal(f.owner_id, &h, &[(field.as_str(), "Alice")])
        .unwrap();
    assert_eq!(submit.payload()["type"], 5);
    assert_eq!(submit.message(T).await.unwrap().content, "hello Alice");
    bot.assert_no_unknown_events();
    bot.stop().await;
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_command_works_in_a_dm_with_the_bot() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = poise_bot(&emu, &f).await;
    let h = emu
        .invoke_command(f.member_ids[0], None, None, "ping", json!({}), "en-US")
        .unwrap();
    assert!(
        h.payload()["user"].is_object() && h.payload()["member"].is_null(),
        "DM interactions carry `user`"
    );
    let msg = h.message(T).await.unwrap();
    assert!(msg.in_dm);
    assert_eq!(msg.content, "pong");
    assert_eq!(emu.dm_messages_to(f.member_ids[0]).len(), 1);
    bot.assert_no_unknown_events();
    bot.stop().await;
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn an_answer_after_the_deadline_is_refused_as_unknown_interaction() {
    let config = EmulatorConfig {
        interaction_deadline: Duration::from_millis(500),
        ..EmulatorConfig::unlimited()
    };
    let emu = start_with(config).await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = poise_bot(&emu, &f).await;
    let h = emu
        .invoke_command(
            f.owner_id,
            Some(f.guild_id),
            None,
            "slow",
            json!({}),
            "en-US",
        )
        .unwrap();
    assert_eq!(
        h.response().await.unwrap_err(),
        InteractionError::DeadlineMissed
    );
    let late = emu
        .wait_for_request(T, |r| {
            r.route == "/interactions/{interaction_id}/{interaction_token}/callback"
        })
        .await
        .expect("the bot answered late");
    assert_eq!(late.status, 404);
    let body = emu
        .recorded_responses()
        .into_iter()
        .find(|r| r.route.ends_with("/callback"))
        .unwrap()
        .body
        .unwrap();
    assert_eq!(body["code"], 10062);
    bot.stop().await;
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn commands_hidden_by_default_member_permissions_cannot_be_invoked() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let cmd =
        json!([{ "name": "restore", "description": "Restore", "default_member_permissions": "8" }]);
    assert_eq!(
        bot.put(
            &format!(
                "/applications/{}/guilds/{}/commands",
                f.app.application_id, f.guild_id
            ),
            cmd
        )
        .await
        .status,
        200
    );
    let e = emu
        .invoke_command(
            f.member_ids[0],
            Some(f.guild_id),
            None,
            "restore",
            json!({}),
            "en-US",
        )
        .unwrap_err();
    assert_eq!(e.code, 50013);
    assert!(
        emu.invoke_command(
            f.rogue_admin_id,
            Some(f.guild_id),
            None,
            "restore",
            json!({}),
            "en-US"
        )
        .is_ok()
    );
    let e = emu
        .invoke_command(f.owner_id, None, None, "restore", json!({}), "en-US")
        .unwrap_err();
    assert_ne!(e.status, 200, "guild commands do not exist in DMs");
}

#[tokio::test]
async fn autocomplete_interactions_get_choices() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let cmd = json!([{ "name": "restore", "description": "Restore", "options": [{ "type": 3, "name": "snapshot", "description": "Which", "autocomplete": true, "required": true }] }]);
    assert_eq!(
        bot.put(
            &format!("/applications/{}/commands", f.app.application_id),
            cmd
        )
        .await
        .status,
        200
    );
    let h = emu
        .autocomplete(
            f.owner_id,
            Some(f.guild_id),
            None,
            "restore",
            json!({ "snapshot": "ni" }),
            "snapshot",
        )
        .unwrap();
    let p = h.payload();
    assert_eq!(p["type"], 4);
    assert_eq!(p["data"]["options"][0]["focused"], true);
    let r = Rest::anonymous(&emu)
        .post(
            &format!(
                "/interactions/{}/{}/callback",
                p["id"].as_str().unwrap(),
                p["token"].as_str().unwrap()
            ),
            json!({ "type": 8, "data": { "choices": [{ "name": "nightly", "value": "1" }] } }),
        )
        .await;
    assert_eq!(r.status, 204);
    let resp = h.response().await.unwrap();
    assert_eq!(
        (resp.kind, &resp.data["choices"][0]["name"]),
        (8, &json!("nightly"))
    );
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_button_on_a_dm_the_bot_sent_is_clicked_in_the_dm() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let dm = bot
        .post(
            "/users/@me/channels",
            json!({ "recipient_id": f.owner_id.to_string() }),
        )
        .await
        .id();
    let alert = json!({
        "content": "Nuke stopped",
        "components": [{ "type": 1, "components": [
            { "type": 2, "style": 4, "label": "Restore", "custom_id": "restore:1" },
            { "type": 2, "style": 2, "label": "False positive", "custom_id": "fp:1" }
        ] }]
    });
    let sent = bot.post(&format!("/channels/{dm}/messages"), alert).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let dms = emu.dm_messages_to(f.owner_id);
    assert_eq!(dms[0].buttons().len(), 2);
    let click = emu
        .click_button(f.owner_id, dms[0].id, "restore:1")
        .unwrap();
    let p = click.payload();
    assert_eq!(p["user"]["id"], f.owner_id.to_string());
    assert!(p["guild_id"].is_null());
    assert_eq!(p["message"]["id"], dms[0].id.to_string());
    let r = Rest::anonymous(&emu)
        .post(
            &format!(
                "/interactions/{}/{}/callback",
                p["id"].as_str().unwrap(),
                p["token"].as_str().unwrap()
            ),
            json!({ "type": 7, "data": { "content": "Restoring…", "components": [] } }),
        )
        .await;
    assert_eq!(r.status, 204);
    let updated = click.message(T).await.unwrap();
    assert_eq!(
        (updated.id, updated.content.as_str()),
        (dms[0].id, "Restoring…")
    );
    assert_all_shapes(&emu);
}
