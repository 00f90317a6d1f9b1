//! Purpose: drives every REST route Umbra uses (success and error answers) and validates every
//! recorded response against Discord's OpenAPI spec for its path, method and status.

use std::collections::BTreeSet;

use discord_emulator::{FixtureSpec, SpecValidator};
use serde_json::json;

use super::harness::*;

/// (method, spec template) pairs that must have been answered with a 2xx in this test.
const REQUIRED: &[(&str, &str)] = &[
    ("GET", "/gateway"),
    ("GET", "/gateway/bot"),
    ("GET", "/oauth2/applications/@me"),
    ("GET", "/applications/@me"),
    ("GET", "/users/@me"),
    ("GET", "/users/{user_id}"),
    ("GET", "/users/@me/guilds"),
    ("GET", "/oauth2/@me"),
    ("PUT", "/applications/{application_id}/commands"),
    ("GET", "/applications/{application_id}/commands"),
    ("POST", "/applications/{application_id}/commands"),
    (
        "GET",
        "/applications/{application_id}/commands/{command_id}",
    ),
    (
        "DELETE",
        "/applications/{application_id}/commands/{command_id}",
    ),
    (
        "PUT",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ),
    (
        "GET",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ),
    (
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
    ),
    ("POST", "/webhooks/{webhook_id}/{webhook_token}"),
    ("GET", "/webhooks/{webhook_id}/{webhook_token}"),
    (
        "GET",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    ),
    (
        "PATCH",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    ),
    (
        "DELETE",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    ),
    (
        "PATCH",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    ),
    (
        "DELETE",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    ),
    ("GET", "/guilds/{guild_id}"),
    ("PATCH", "/guilds/{guild_id}"),
    ("GET", "/guilds/{guild_id}/roles"),
    ("POST", "/guilds/{guild_id}/roles"),
    ("PATCH", "/guilds/{guild_id}/roles"),
    ("GET", "/guilds/{guild_id}/roles/{role_id}"),
    ("PATCH", "/guilds/{guild_id}/roles/{role_id}"),
    ("DELETE", "/guilds/{guild_id}/roles/{role_id}"),
    ("GET", "/guilds/{guild_id}/channels"),
    ("POST", "/guilds/{guild_id}/channels"),
    ("PATCH", "/guilds/{guild_id}/channels"),
    ("GET", "/channels/{channel_id}"),
    ("PATCH", "/channels/{channel_id}"),
    ("DELETE", "/channels/{channel_id}"),
    ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}"),
    (
        "DELETE",
        "/channels/{channel_id}/permissions/{overwrite_id}",
    ),
    ("GET", "/guilds/{guild_id}/members"),
    ("GET", "/guilds/{guild_id}/members/search"),
    ("GET", "/guilds/{guild_id}/members/{user_id}"),
    ("PATCH", "/guilds/{guild_id}/members/{user_id}"),
    ("PUT", "/guilds/{guild_id}/members/{user_id}"),
    ("DELETE", "/guilds/{guild_id}/members/{user_id}"),
    (
        "PUT",
        "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
    ),
    (
        "DELETE",
        "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
    ),
    ("GET", "/guilds/{guild_id}/bans"),
    ("GET", "/guilds/{guild_id}/bans/{user_id}"),
    ("PUT", "/guilds/{guild_id}/bans/{user_id}"),
    ("DELETE", "/guilds/{guild_id}/bans/{user_id}"),
    ("POST", "/guilds/{guild_id}/bulk-ban"),
    ("GET", "/guilds/{guild_id}/audit-logs"),
    ("GET", "/guilds/{guild_id}/prune"),
    ("POST", "/guilds/{guild_id}/prune"),
    ("POST", "/users/@me/channels"),
    ("POST", "/channels/{channel_id}/messages"),
    ("GET", "/channels/{channel_id}/messages"),
    ("POST", "/channels/{channel_id}/webhooks"),
    ("GET", "/channels/{channel_id}/webhooks"),
    ("GET", "/guilds/{guild_id}/webhooks"),
    ("GET", "/webhooks/{webhook_id}"),
    ("PATCH", "/webhooks/{webhook_id}"),
    ("DELETE", "/webhooks/{webhook_id}"),
    ("PUT", "/guilds/{guild_id}/incident-actions"),
    ("GET", "/guilds/{guild_id}/emojis"),
    ("POST", "/guilds/{guild_id}/emojis"),
    ("GET", "/guilds/{guild_id}/emojis/{emoji_id}"),
    ("PATCH", "/guilds/{guild_id}/emojis/{emoji_id}"),
    ("DELETE", "/guilds/{guild_id}/emojis/{emoji_id}"),
    ("GET", "/guilds/{guild_id}/welcome-screen"),
    ("PATCH", "/guilds/{guild_id}/welcome-screen"),
    ("GET", "/guilds/{guild_id}/onboarding"),
    ("PUT", "/guilds/{guild_id}/onboarding"),
    ("GET", "/guilds/{guild_id}/scheduled-events"),
    ("POST", "/guilds/{guild_id}/scheduled-events"),
    (
        "GET",
        "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
    ),
    (
        "PATCH",
        "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
    ),
    (
        "DELETE",
        "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
    ),
    ("POST", "/channels/{channel_id}/threads"),
    ("GET", "/guilds/{guild_id}/threads/active"),
    ("GET", "/channels/{channel_id}/threads/archived/public"),
    ("GET", "/channels/{channel_id}/messages/{message_id}"),
    ("GET", "/channels/{channel_id}/pins"),
    ("PUT", "/channels/{channel_id}/pins/{message_id}"),
    ("DELETE", "/channels/{channel_id}/pins/{message_id}"),
    ("GET", "/channels/{channel_id}/messages/pins"),
    ("GET", "/guilds/{guild_id}/auto-moderation/rules"),
    ("POST", "/guilds/{guild_id}/auto-moderation/rules"),
    ("GET", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}"),
    (
        "PATCH",
        "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
    ),
    (
        "DELETE",
        "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
    ),
];

#[tokio::test]
async fn every_route_umbra_uses_answers_in_the_shape_of_discords_openapi_spec() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let (g, app) = (f.guild_id, f.app.application_id);
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let member = f.member_ids[0];
    let member2 = f.member_ids[1];

    // Gateway and application.
    assert_eq!(bot.get("/gateway").await.status, 200);
    assert_eq!(bot.get("/gateway/bot").await.status, 200);
    assert_eq!(bot.get("/oauth2/applications/@me").await.status, 200);
    assert_eq!(bot.get("/applications/@me").await.status, 200);
    assert_eq!(bot.get("/users/@me").await.status, 200);
    assert_eq!(bot.get(&format!("/users/{}", f.owner_id)).await.status, 200);
    assert_eq!(bot.get("/users/@me/guilds").await.status, 200);

    // Commands.
    let umbra = json!({
        "name": "umbra", "description": "Umbra", "type": 1,
        "options": [
            { "type": 2, "name": "backup", "description": "Backups", "options": [
                { "type": 1, "name": "create", "description": "Create a backup", "options": [
                    { "type": 3, "name": "label", "description": "A label", "required": false },
                    { "type": 4, "name": "keep", "description": "Days", "required": false, "min_value": 1, "max_value": 30 }
                ] }
            ] },
            { "type": 1, "name": "status", "description": "Status", "options": [
                { "type": 6, "name": "user", "description": "A user", "required": false },
                { "type": 7, "name": "channel", "description": "A channel", "required": false },
                { "type": 8, "name": "role", "description": "A role", "required": false },
                { "type": 5, "name": "verbose", "description": "More", "required": false }
            ] }
        ]
    });
    let r = bot
        .put(&format!("/applications/{app}/commands"), json!([umbra]))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        bot.get(&format!("/applications/{app}/commands"))
            .await
            .status,
        200
    );
    let r = bot
        .put(
            &format!("/applications/{app}/guilds/{g}/commands"),
            json!([{ "name": "ping", "description": "Ping" }]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        bot.get(&format!("/applications/{app}/guilds/{g}/commands"))
            .await
            .status,
        200
    );
    let r = bot
        .post(
            &format!("/applications/{app}/commands"),
            json!({ "name": "extra", "description": "Extra" }),
        )
        .await;
    assert_eq!(r.status, 201, "a new command is 201");
    let cmd = r.id();
    assert_eq!(
        bot.get(&format!("/applications/{app}/commands/{cmd}"))
            .await
            .status,
        200
    );
    assert_eq!(
        bot.delete(&format!("/applications/{app}/commands/{cmd}"))
            .await
            .status,
        204
    );

    // An interaction answered by deferring, a follow-up, edits and deletes.
    let h = emu
        .invoke_command(f.owner_id, Some(g), None, "umbra status", json!({ "user": member.to_string(), "channel": f.general_channel_id.to_string(), "role": f.role_ids[0].to_string(), "verbose": true }), "en-US")
        .unwrap();
    let p = h.payload();
    let (iid, token) = (
        p["id"].as_str().unwrap().to_string(),
        p["token"].as_str().unwrap().to_string(),
    );
    let anon = Rest::anonymous(&emu);
    let r = anon
        .post(
            &format!("/interactions/{iid}/{token}/callback"),
            json!({ "type": 5 }),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = anon.post(&format!("/webhooks/{app}/{token}"), json!({ "content": "first", "components": [{ "type": 1, "components": [{ "type": 2, "style": 1, "label": "Go", "custom_id": "go" }] }], "embeds": [{ "title": "T", "description": "D", "fields": [{ "name": "a", "value": "b" }] }] })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = anon
        .post(
            &format!("/webhooks/{app}/{token}"),
            json!({ "content": "second" }),
        )
        .await;
    assert_eq!(r.status, 200);
    let followup = r.id();
    assert_eq!(
        anon.get(&format!("/webhooks/{app}/{token}/messages/@original"))
            .await
            .status,
        200
    );
    assert_eq!(
        anon.patch(
            &format!("/webhooks/{app}/{token}/messages/@original"),
            json!({ "content": "edited" })
        )
        .await
        .status,
        200
    );
    assert_eq!(
        anon.patch(
            &format!("/webhooks/{app}/{token}/messages/{followup}"),
            json!({ "content": "edited 2" })
        )
        .await
        .status,
        200
    );
    assert_eq!(
        anon.delete(&format!("/webhooks/{app}/{token}/messages/{followup}"))
            .await
            .status,
        204
    );
    assert_eq!(
        anon.delete(&format!("/webhooks/{app}/{token}/messages/@original"))
            .await
            .status,
        204
    );
    // An interaction answered with a message and `with_response`.
    let h2 = emu
        .invoke_command(
            f.owner_id,
            Some(g),
            None,
            "umbra backup create",
            json!({ "label": "x", "keep": 3 }),
            "ko",
        )
        .unwrap();
    let p2 = h2.payload();
    let r = anon
        .post(
            &format!(
                "/interactions/{}/{}/callback?with_response=true",
                p2["id"].as_str().unwrap(),
                p2["token"].as_str().unwrap()
            ),
            json!({ "type": 4, "data": { "content": "ok", "flags": 64 } }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // A late or repeated callback is refused like Discord.
    let r = anon
        .post(
            &format!(
                "/interactions/{}/{}/callback",
                p2["id"].as_str().unwrap(),
                p2["token"].as_str().unwrap()
            ),
            json!({ "type": 4, "data": { "content": "again" } }),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 40060));

    // Guild.
    assert_eq!(
        bot.get(&format!("/guilds/{g}?with_counts=true"))
            .await
            .status,
        200
    );
    let r = bot
        .patch(
            &format!("/guilds/{g}"),
            json!({ "name": "Renamed", "verification_level": 2, "afk_timeout": 900 }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // Roles.
    assert_eq!(bot.get(&format!("/guilds/{g}/roles")).await.status, 200);
    let r = bot
        .post(
            &format!("/guilds/{g}/roles"),
            json!({ "name": "Spec", "permissions": "0", "color": 255, "hoist": true }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let role = r.id();
    assert_eq!(
        bot.get(&format!("/guilds/{g}/roles/{role}")).await.status,
        200
    );
    assert_eq!(
        bot.patch(
            &format!("/guilds/{g}/roles/{role}"),
            json!({ "name": "Spec 2", "mentionable": true })
        )
        .await
        .status,
        200
    );
    assert_eq!(
        bot.patch(
            &format!("/guilds/{g}/roles"),
            json!([{ "id": role.to_string(), "position": 2 }])
        )
        .await
        .status,
        200
    );

    // Channels of every type, with overwrites inside the create.
    assert_eq!(bot.get(&format!("/guilds/{g}/channels")).await.status, 200);
    let cat = bot
        .post(
            &format!("/guilds/{g}/channels"),
            json!({ "name": "Spec Cat", "type": 4 }),
        )
        .await;
    assert_eq!(cat.status, 201, "{:?}", cat.body);
    let cat = cat.id();
    let text = bot
        .post(
            &format!("/guilds/{g}/channels"),
            json!({ "name": "Spec Text", "type": 0, "parent_id": cat.to_string(), "topic": "t", "nsfw": true, "rate_limit_per_user": 10,
                    "permission_overwrites": [{ "id": g.to_string(), "type": 0, "allow": "0", "deny": "1024" }, { "id": role.to_string(), "type": 0, "allow": "1024", "deny": "0" }] }),
        )
        .await;
    assert_eq!(text.status, 201, "{:?}", text.body);
    assert_eq!(
        text.json()["name"],
        "spec-text",
        "text channel names are lowercased and dashed"
    );
    let text = text.id();
    for body in [
        json!({ "name": "Spec Voice", "type": 2, "bitrate": 96000, "user_limit": 5, "parent_id": cat.to_string() }),
        json!({ "name": "spec-forum", "type": 15, "available_tags": [{ "name": "bug" }, { "name": "idea", "moderated": true }] }),
        json!({ "name": "Spec Stage", "type": 13 }),
        json!({ "name": "spec-news", "type": 5, "topic": "news" }),
    ] {
        let r = bot.post(&format!("/guilds/{g}/channels"), body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    assert_eq!(
        bot.patch(
            &format!("/guilds/{g}/channels"),
            json!([{ "id": text.to_string(), "position": 5 }])
        )
        .await
        .status,
        204
    );
    assert_eq!(bot.get(&format!("/channels/{text}")).await.status, 200);
    assert_eq!(
        bot.patch(
            &format!("/channels/{text}"),
            json!({ "topic": "new topic", "rate_limit_per_user": 0 })
        )
        .await
        .status,
        200
    );
    assert_eq!(
        bot.put(
            &format!("/channels/{text}/permissions/{member}"),
            json!({ "type": 1, "allow": "2048", "deny": "0" })
        )
        .await
        .status,
        204
    );
    assert_eq!(
        bot.delete(&format!("/channels/{text}/permissions/{member}"))
            .await
            .status,
        204
    );

    // Members.
    assert_eq!(
        bot.get(&format!("/guilds/{g}/members?limit=5"))
            .await
            .status,
        200
    );
    assert_eq!(
        bot.get(&format!("/guilds/{g}/members/search?query=user&limit=3"))
            .await
            .status,
        200
    );
    assert_eq!(
        bot.get(&format!("/guilds/{g}/members/{member}"))
            .await
            .status,
        200
    );
    let r = bot
        .patch(
            &format!("/guilds/{g}/members/{member}"),
            json!({ "nick": "Spec", "roles": [role.to_string()] }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        bot.put(
            &format!("/guilds/{g}/members/{member}/roles/{}", f.role_ids[1]),
            json!(null)
        )
        .await
        .status,
        204
    );
    assert_eq!(
        bot.delete(&format!(
            "/guilds/{g}/members/{member}/roles/{}",
            f.role_ids[1]
        ))
        .await
        .status,
        204
    );
    assert_eq!(
        bot.delete(&format!("/guilds/{g}/members/{member2}"))
            .await
            .status,
        204
    );
    let tokens = oauth_tokens(
        &emu,
        &f.app,
        member2,
        &["identify", "guilds", "guilds.join", "email"],
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap();
    let r = bot
        .put(
            &format!("/guilds/{g}/members/{member2}"),
            json!({ "access_token": access, "nick": "Back" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        bot.put(
            &format!("/guilds/{g}/members/{member2}"),
            json!({ "access_token": access })
        )
        .await
        .status,
        204
    );
    let me = Rest::bearer(&emu, access);
    assert_eq!(me.get("/users/@me").await.status, 200);
    assert_eq!(me.get("/oauth2/@me").await.status, 200);
    assert_eq!(me.get("/users/@me/guilds").await.status, 200);

    // Bans.
    assert_eq!(
        bot.put(
            &format!("/guilds/{g}/bans/{member2}"),
            json!({ "delete_message_seconds": 0 })
        )
        .await
        .status,
        204
    );
    assert_eq!(bot.get(&format!("/guilds/{g}/bans")).await.status, 200);
    assert_eq!(
        bot.get(&format!("/guilds/{g}/bans/{member2}")).await.status,
        200
    );
    assert_eq!(
        bot.delete(&format!("/guilds/{g}/bans/{member2}"))
            .await
            .status,
        204
    );
    let r = bot.post(&format!("/guilds/{g}/bulk-ban"), json!({ "user_ids": [f.member_ids[2].to_string(), f.member_ids[3].to_string(), f.owner_id.to_string()] })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.json()["failed_users"],
        json!([f.owner_id.to_string()]),
        "the owner cannot be banned"
    );

    // Audit log with filters.
    assert_eq!(
        bot.get(&format!("/guilds/{g}/audit-logs?limit=10"))
            .await
            .status,
        200
    );
    assert_eq!(
        bot.get(&format!(
            "/guilds/{g}/audit-logs?&user_id={}&action_type=22&limit=100",
            f.app.bot_user_id
        ))
        .await
        .status,
        200
    );

    // DMs with an exported file.
    let dm = bot
        .post(
            "/users/@me/channels",
            json!({ "recipient_id": member.to_string() }),
        )
        .await;
    assert_eq!(dm.status, 200);
    let dm = dm.id();
    assert_eq!(bot.get(&format!("/channels/{dm}")).await.status, 200);
    let (ct, body) = multipart(
        &json!({ "content": "your export", "attachments": [{ "id": 0, "filename": "export.json" }] }),
        &[("export.json", b"{\"roles\":[]}")],
    );
    let r = bot
        .send(
            bot.request(reqwest::Method::POST, &format!("/channels/{dm}/messages"))
                .header("Content-Type", ct)
                .body(body),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["attachments"][0]["filename"], "export.json");
    assert_eq!(
        bot.get(&format!("/channels/{dm}/messages?limit=10"))
            .await
            .status,
        200
    );
    assert_eq!(
        bot.post(
            &format!("/channels/{}/messages", f.general_channel_id),
            json!({ "content": "hello" })
        )
        .await
        .status,
        200
    );

    // Webhooks.
    let w = bot
        .post(
            &format!("/channels/{}/webhooks", f.general_channel_id),
            json!({ "name": "Spec Hook" }),
        )
        .await;
    assert_eq!(w.status, 200, "{:?}", w.body);
    let (wid, wtoken) = (w.id(), w.json()["token"].as_str().unwrap().to_string());
    assert_eq!(
        bot.get(&format!("/channels/{}/webhooks", f.general_channel_id))
            .await
            .status,
        200
    );
    assert_eq!(bot.get(&format!("/guilds/{g}/webhooks")).await.status, 200);
    assert_eq!(bot.get(&format!("/webhooks/{wid}")).await.status, 200);
    assert_eq!(
        bot.patch(
            &format!("/webhooks/{wid}"),
            json!({ "name": "Spec Hook 2" })
        )
        .await
        .status,
        200
    );
    // Sent with its own name and avatar (as a restore replays a message); the name is
    // checked as Discord does.
    let r = anon
        .post(
            &format!("/webhooks/{wid}/{wtoken}?wait=true"),
            json!({ "content": "via hook", "username": "Alice", "avatar_url": "https://cdn.discordapp.com/avatars/1/a.png" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["author"]["username"], "Alice");
    assert!(r.json()["author"]["avatar"].is_string());
    let hooked = r.id();
    let r = anon
        .post(
            &format!("/webhooks/{wid}/{wtoken}"),
            json!({ "content": "x", "username": "my discord bot" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 50035));
    // Pins: pinned, listed both ways, unpinned; a message of another channel is unknown.
    let general = f.general_channel_id;
    assert_eq!(
        bot.put(&format!("/channels/{general}/pins/{hooked}"), json!({}))
            .await
            .status,
        204
    );
    let r = bot.get(&format!("/channels/{general}/pins")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()[0]["pinned"], true);
    let r = bot
        .get(&format!("/channels/{general}/messages/pins?limit=10"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["items"][0]["message"]["id"], hooked.to_string());
    assert_eq!(r.json()["has_more"], false);
    assert_eq!(
        bot.delete(&format!("/channels/{general}/pins/{hooked}"))
            .await
            .status,
        204
    );
    let r = bot.get(&format!("/channels/{general}/pins")).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(0));
    let other = f.channel_ids[1];
    let r = bot
        .put(&format!("/channels/{other}/pins/{hooked}"), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (404, 10008));
    assert_eq!(
        anon.get(&format!("/webhooks/{wid}/{wtoken}")).await.status,
        200
    );
    assert_eq!(bot.delete(&format!("/webhooks/{wid}")).await.status, 204);

    // Incident actions.
    let until = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let r = bot
        .put(
            &format!("/guilds/{g}/incident-actions"),
            json!({ "invites_disabled_until": until, "dms_disabled_until": null }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // Emojis.
    let e = bot
        .post(
            &format!("/guilds/{g}/emojis"),
            json!({ "name": "spec_emoji", "image": "data:image/png;base64,iVBORw0KGgo=" }),
        )
        .await;
    assert_eq!(e.status, 201, "{:?}", e.body);
    let e = e.id();
    assert_eq!(bot.get(&format!("/guilds/{g}/emojis")).await.status, 200);
    assert_eq!(
        bot.get(&format!("/guilds/{g}/emojis/{e}")).await.status,
        200
    );
    assert_eq!(
        bot.patch(
            &format!("/guilds/{g}/emojis/{e}"),
            json!({ "name": "spec_emoji_2" })
        )
        .await
        .status,
        200
    );
    assert_eq!(
        bot.delete(&format!("/guilds/{g}/emojis/{e}")).await.status,
        204
    );

    // The welcome screen and the onboarding: read, replaced; an unknown channel is refused.
    assert_eq!(
        bot.get(&format!("/guilds/{g}/welcome-screen")).await.status,
        200
    );
    let r = bot
        .patch(
            &format!("/guilds/{g}/welcome-screen"),
            json!({ "description": "hi", "welcome_channels": [{ "channel_id": text.to_string(), "description": "here" }] }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = bot
        .patch(
            &format!("/guilds/{g}/welcome-screen"),
            json!({ "welcome_channels": [{ "channel_id": "1", "description": "nowhere" }] }),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 50035));
    let r = bot.get(&format!("/guilds/{g}/onboarding")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = bot
        .put(
            &format!("/guilds/{g}/onboarding"),
            json!({ "enabled": true, "default_channel_ids": [text.to_string()],
                    "prompts": [{ "title": "Pick", "options": [{ "title": "A", "channel_ids": [text.to_string()] }] }] }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // Scheduled events: the fixture's (voice and external) list in their spec shapes; one is
    // scheduled, read, edited and deleted; a start in the past is refused.
    let r = bot.get(&format!("/guilds/{g}/scheduled-events")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));
    let at = |days: i64| (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339();
    let r = bot
        .post(
            &format!("/guilds/{g}/scheduled-events"),
            json!({ "name": "spec event", "entity_type": 3, "privacy_level": 2,
                    "scheduled_start_time": at(2), "scheduled_end_time": at(3),
                    "entity_metadata": { "location": "here" } }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let event = r.id();
    assert_eq!(
        bot.get(&format!("/guilds/{g}/scheduled-events/{event}"))
            .await
            .status,
        200
    );
    let r = bot
        .patch(
            &format!("/guilds/{g}/scheduled-events/{event}"),
            json!({ "name": "spec event 2" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = bot
        .post(
            &format!("/guilds/{g}/scheduled-events"),
            json!({ "name": "late", "entity_type": 3, "privacy_level": 2,
                    "scheduled_start_time": at(-1), "scheduled_end_time": at(1),
                    "entity_metadata": { "location": "here" } }),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 50035));
    assert_eq!(
        bot.delete(&format!("/guilds/{g}/scheduled-events/{event}"))
            .await
            .status,
        204
    );

    // Threads: a thread of a text channel, edited, archived and listed; a forum post with its
    // starter message (its id is the thread's); a forum post without a message is refused.
    let r = bot
        .post(
            &format!("/channels/{text}/threads"),
            json!({ "name": "spec thread", "type": 11, "auto_archive_duration": 1440 }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let thread = r.id();
    assert_eq!(bot.get(&format!("/channels/{thread}")).await.status, 200);
    let r = bot
        .patch(
            &format!("/channels/{thread}"),
            json!({ "name": "spec thread 2", "archived": true }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = bot
        .patch(&format!("/channels/{thread}"), json!({ "name": "no" }))
        .await;
    assert_eq!((r.status, r.code()), (400, 50083), "an archived thread");
    let r = bot
        .get(&format!("/channels/{text}/threads/archived/public?limit=2"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = bot.get(&format!("/guilds/{g}/threads/active")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let forum = emu
        .guild_view(g)
        .and_then(|v| v.channels.iter().find(|c| c.kind == 15).map(|c| c.id))
        .expect("the fixture has a forum");
    let r = bot
        .post(
            &format!("/channels/{forum}/threads"),
            json!({ "name": "spec post", "message": { "content": "hello" } }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let post = r.id();
    let r = bot.get(&format!("/channels/{post}/messages/{post}")).await;
    assert_eq!(
        (r.status, r.json()["content"].as_str()),
        (200, Some("hello"))
    );
    let r = bot
        .post(
            &format!("/channels/{forum}/threads"),
            json!({ "name": "no message" }),
        )
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(bot.delete(&format!("/channels/{post}")).await.status, 200);

    // AutoMod rules: every kind the fixture has answers in its spec shape; a seventh keyword
    // rule and an alert in an unknown channel are refused.
    let rules = bot.get(&format!("/guilds/{g}/auto-moderation/rules")).await;
    assert_eq!(rules.status, 200, "{:?}", rules.body);
    assert_eq!(rules.json().as_array().map(Vec::len), Some(2));
    let keyword = |name: &str, channel: u64| {
        json!({
            "name": name, "event_type": 1, "trigger_type": 1, "enabled": true,
            "trigger_metadata": { "keyword_filter": ["spam"] },
            "actions": [{ "type": 1 }, { "type": 2, "metadata": { "channel_id": channel.to_string() } }],
            "exempt_roles": [role.to_string()],
        })
    };
    let r = bot
        .post(
            &format!("/guilds/{g}/auto-moderation/rules"),
            keyword("spec rule", text),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let rule = r.id();
    assert_eq!(
        bot.get(&format!("/guilds/{g}/auto-moderation/rules/{rule}"))
            .await
            .status,
        200
    );
    let r = bot
        .patch(
            &format!("/guilds/{g}/auto-moderation/rules/{rule}"),
            json!({ "name": "spec rule 2", "enabled": false }),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["enabled"].as_bool()),
        (200, Some(false))
    );
    let r = bot
        .post(
            &format!("/guilds/{g}/auto-moderation/rules"),
            keyword("no such channel", 1),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 50035));
    for i in 0..4 {
        let r = bot
            .post(
                &format!("/guilds/{g}/auto-moderation/rules"),
                keyword(&format!("k{i}"), text),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let r = bot
        .post(
            &format!("/guilds/{g}/auto-moderation/rules"),
            keyword("seventh", text),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 50035), "a seventh keyword rule");
    assert_eq!(
        bot.delete(&format!("/guilds/{g}/auto-moderation/rules/{rule}"))
            .await
            .status,
        204
    );

    // Prune (members without roles who joined more than 30 days ago).
    let count = bot.get(&format!("/guilds/{g}/prune?days=30")).await;
    assert_eq!(count.status, 200);
    let expected = count.json()["pruned"].as_u64().unwrap();
    let r = bot
        .post(&format!("/guilds/{g}/prune"), json!({ "days": 30 }))
        .await;
    assert_eq!(r.json()["pruned"].as_u64(), Some(expected));
    let r = bot
        .post(
            &format!("/guilds/{g}/prune"),
            json!({ "days": 30, "compute_prune_count": false }),
        )
        .await;
    assert!(r.json()["pruned"].is_null());

    // Deletes last.
    assert_eq!(bot.delete(&format!("/channels/{text}")).await.status, 200);
    assert_eq!(
        bot.delete(&format!("/guilds/{g}/roles/{role}"))
            .await
            .status,
        204
    );
    assert_eq!(
        bot.delete(&format!("/guilds/{g}/members/{member}"))
            .await
            .status,
        204
    );

    // Errors are Discord-shaped too.
    let r = bot.delete(&format!("/guilds/{g}/roles/{role}")).await;
    assert_eq!((r.status, r.code()), (404, 10011));
    let r = bot.get(&format!("/channels/{text}")).await;
    assert_eq!((r.status, r.code()), (404, 10003));
    let r = bot.get(&format!("/guilds/{g}/members/{member}")).await;
    assert_eq!((r.status, r.code()), (404, 10007));
    let r = bot.get("/users/1").await;
    assert_eq!((r.status, r.code()), (404, 10013));
    let r = bot
        .post(&format!("/guilds/{g}/channels"), json!({ "name": 5 }))
        .await;
    assert_eq!((r.status, r.code()), (400, 50035));
    assert!(r.json()["errors"]["name"]["_errors"][0]["code"].is_string());
    let r = anon.get(&format!("/guilds/{g}")).await;
    assert_eq!((r.status, r.code()), (401, 0));

    // Coverage: every required route answered with a 2xx.
    let answered: BTreeSet<(String, String)> = emu
        .recorded_responses()
        .iter()
        .filter(|r| r.status < 300)
        .filter_map(|r| {
            SpecValidator::bundled()
                .match_path(&r.route)
                .map(|t| (r.method.clone(), t.to_string()))
        })
        .collect();
    let missing: Vec<_> = REQUIRED
        .iter()
        .filter(|(m, t)| !answered.contains(&(m.to_string(), t.to_string())))
        .collect();
    assert!(
        missing.is_empty(),
        "routes never answered with 2xx: {missing:?}"
    );

    let n = assert_responses_match_spec(&emu);
    assert!(n >= REQUIRED.len(), "only {n} responses checked");
    assert_dispatches_are_typed(&emu);
}

#[tokio::test]
async fn the_validator_rejects_a_response_that_breaks_the_spec() {
    let v = SpecValidator::bundled();
    // A role without `managed` and with a numeric id: what a sloppy emulator would send.
    let bad_role = json!({ "id": 5, "name": "x", "permissions": "0", "position": 1, "color": 0, "hoist": false, "mentionable": false });
    let errors = v
        .validate_response("POST", "/guilds/1/roles", 200, Some(&bad_role))
        .unwrap_err();
    assert!(
        errors.iter().any(|e| e.message.contains("managed")),
        "{errors:?}"
    );
    // 201 is not a documented status of role creation.
    assert!(
        v.validate_response("POST", "/guilds/1/roles", 201, Some(&bad_role))
            .is_err()
    );
    // Channel creation must be 201 with a channel.
    assert!(
        v.validate_response("POST", "/guilds/1/channels", 200, Some(&json!({})))
            .is_err()
    );
}
