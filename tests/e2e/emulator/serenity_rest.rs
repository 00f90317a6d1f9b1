//! Purpose: every REST call Umbra makes through serenity's typed API (rate limiter on, TLS as
//! discord.com) deserializes: roles, channels with overwrites, positions, members, bans, bulk
//! ban, audit log, DMs with files, webhooks, emojis, guild edits and incident actions.

use discord_emulator::FixtureSpec;
use serde_json::json;
use serenity::all::{
    ChannelId, ChannelType, CreateAttachment, CreateChannel, CreateEmbed, CreateMessage,
    CreateWebhook, EditChannel, EditGuild, EditMember, EditRole, GuildId, PermissionOverwrite,
    PermissionOverwriteType, Permissions, RoleId, UserId, VerificationLevel,
};

use super::harness::*;

#[tokio::test]
async fn serenitys_typed_rest_calls_all_parse_the_emulators_answers() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let http = serenity_http(&emu, &f.app.bot_token);
    let g = GuildId::new(f.guild_id);
    let member = UserId::new(f.member_ids[0]);

    let role = g
        .create_role(
            &http,
            EditRole::new()
                .name("Typed")
                .permissions(Permissions::SEND_MESSAGES)
                .colour(0x00AA_BBCC)
                .hoist(true),
        )
        .await
        .unwrap();
    assert_eq!(role.name, "Typed");
    let roles = g.edit_role_position(&http, role.id, 3).await.unwrap();
    assert_eq!(roles.iter().find(|r| r.id == role.id).unwrap().position, 3);
    g.edit_role(
        &http,
        role.id,
        EditRole::new().permissions(Permissions::SEND_MESSAGES | Permissions::ADD_REACTIONS),
    )
    .await
    .unwrap();

    let cat = g
        .create_channel(
            &http,
            CreateChannel::new("Typed Cat").kind(ChannelType::Category),
        )
        .await
        .unwrap();
    let overwrite = PermissionOverwrite {
        allow: Permissions::VIEW_CHANNEL,
        deny: Permissions::SEND_MESSAGES,
        kind: PermissionOverwriteType::Role(role.id),
    };
    let text = g
        .create_channel(
            &http,
            CreateChannel::new("typed")
                .kind(ChannelType::Text)
                .category(cat.id)
                .topic("t")
                .nsfw(true)
                .rate_limit_per_user(5)
                .permissions(vec![overwrite]),
        )
        .await
        .unwrap();
    assert_eq!(text.permission_overwrites.len(), 1);
    assert_eq!(text.parent_id, Some(cat.id));
    let voice = g
        .create_channel(
            &http,
            CreateChannel::new("Typed Voice")
                .kind(ChannelType::Voice)
                .bitrate(64_000)
                .user_limit(4),
        )
        .await
        .unwrap();
    assert_eq!(voice.user_limit, Some(4));
    let forum = g
        .create_channel(
            &http,
            CreateChannel::new("typed-forum").kind(ChannelType::Forum),
        )
        .await
        .unwrap();
    assert_eq!(forum.kind, ChannelType::Forum);
    let stage = g
        .create_channel(
            &http,
            CreateChannel::new("Typed Stage").kind(ChannelType::Stage),
        )
        .await
        .unwrap();
    assert_eq!(stage.kind, ChannelType::Stage);
    g.reorder_channels(&http, [(text.id, 7u64)]).await.unwrap();
    let channels = g.channels(&http).await.unwrap();
    assert_eq!(channels[&text.id].position, 7);
    text.id
        .edit(&http, EditChannel::new().topic("edited"))
        .await
        .unwrap();
    text.id
        .create_permission(
            &http,
            PermissionOverwrite {
                allow: Permissions::empty(),
                deny: Permissions::VIEW_CHANNEL,
                kind: PermissionOverwriteType::Member(member),
            },
        )
        .await
        .unwrap();
    text.id
        .delete_permission(&http, PermissionOverwriteType::Member(member))
        .await
        .unwrap();

    let members = g.members(&http, Some(1000), None).await.unwrap();
    assert_eq!(members.len(), 34);
    let m = g
        .edit_member(
            &http,
            member,
            EditMember::new().nickname("Typed").roles(vec![role.id]),
        )
        .await
        .unwrap();
    assert_eq!(m.nick.as_deref(), Some("Typed"));
    assert_eq!(m.roles, vec![role.id]);
    http.add_member_role(g, member, RoleId::new(f.role_ids[0]), Some("why"))
        .await
        .unwrap();
    http.remove_member_role(g, member, RoleId::new(f.role_ids[0]), None)
        .await
        .unwrap();
    assert_eq!(g.member(&http, member).await.unwrap().user.id, member);

    g.ban_with_reason(&http, UserId::new(f.member_ids[1]), 0, "typed")
        .await
        .unwrap();
    let bans = g.bans(&http, None, None).await.unwrap();
    assert_eq!(bans[0].reason.as_deref(), Some("typed"));
    let bulk = g
        .bulk_ban(
            &http,
            &[UserId::new(f.member_ids[2]), UserId::new(f.owner_id)],
            0,
            None,
        )
        .await
        .unwrap();
    assert_eq!((bulk.banned_users.len(), bulk.failed_users.len()), (1, 1));
    g.kick_with_reason(&http, UserId::new(f.member_ids[3]), "typed")
        .await
        .unwrap();
    let logs = g
        .audit_logs(&http, None, None, None, Some(100))
        .await
        .unwrap();
    assert!(logs.entries.len() >= 10);

    let edited = g
        .edit(
            &http,
            EditGuild::new()
                .name("Typed Guild")
                .verification_level(VerificationLevel::High),
        )
        .await;
    edited.unwrap();
    let incidents = http
        .edit_guild_incident_actions(g, &json!({ "invites_disabled_until": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(), "dms_disabled_until": null }))
        .await
        .unwrap();
    assert!(incidents.invites_disabled_until.is_some());

    let dm = member.create_dm_channel(&http).await.unwrap();
    let msg = dm
        .id
        .send_message(
            &http,
            CreateMessage::new()
                .content("export")
                .embed(CreateEmbed::new().title("T").field("a", "b", true))
                .add_file(CreateAttachment::bytes(b"{}".to_vec(), "export.json")),
        )
        .await
        .unwrap();
    assert_eq!(msg.attachments[0].filename, "export.json");
    assert_eq!(
        emu.dm_messages_to(member.get())[0].attachments[0]
            .data
            .as_slice(),
        b"{}"
    );

    let hook = ChannelId::new(f.general_channel_id)
        .create_webhook(&http, CreateWebhook::new("Typed Hook"))
        .await
        .unwrap();
    assert!(hook.token.is_some());
    assert_eq!(g.webhooks(&http).await.unwrap().len(), 2);
    http.delete_webhook(hook.id, None).await.unwrap();

    let emoji = g
        .create_emoji(&http, "typed_emoji", "data:image/png;base64,iVBORw0KGgo=")
        .await
        .unwrap();
    assert_eq!(emoji.name, "typed_emoji");

    text.id.delete(&http).await.unwrap();
    g.delete_role(&http, role.id).await.unwrap();
    let err = g.delete_role(&http, role.id).await.unwrap_err();
    assert!(err.to_string().contains("Unknown Role"), "{err}");
    assert_all_shapes(&emu);
}
