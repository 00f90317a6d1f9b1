//! Purpose: REST behaviour beyond shapes: malformed input never crashes and gets Discord's
//! errors, pagination and filters, DMs (closed DMs, no mutual guild), webhooks, unversioned
//! base URLs, and the guild view / structural diff used to check restores.

use discord_emulator::{DiffKind, DiffOptions, FixtureSpec, OverwriteKind, diff};
use serde_json::json;

use super::harness::*;

#[tokio::test]
async fn malformed_requests_get_discord_shaped_errors_and_never_crash() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let g = f.guild_id;
    let raw = bot
        .send(
            bot.request(reqwest::Method::POST, &format!("/guilds/{g}/roles"))
                .header("Content-Type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!((raw.status, raw.code()), (400, 50109));
    let r = bot.get("/guilds/not-a-number").await;
    assert_eq!((r.status, r.code()), (400, 50035));
    let r = bot.get("/no/such/route").await;
    assert_eq!((r.status, r.code()), (404, 0));
    let r = bot.call("DELETE", "/gateway", None).await;
    assert_eq!(r.status, 405);
    let r = bot.get(&format!("/guilds/{g}/members?&limit=abc")).await;
    assert_eq!((r.status, r.code()), (400, 50035));
    let r = bot.get(&format!("/guilds/{g}/audit-logs?limit=101")).await;
    assert_eq!(
        (r.status, r.code()),
        (400, 50035),
        "audit-log limit is 1-100"
    );
    let r = bot
        .patch(&format!("/guilds/{g}/roles"), json!({ "id": "1" }))
        .await;
    assert_eq!(r.code(), 50035, "positions are a list");
    let r = bot
        .post(
            &format!("/guilds/{g}/channels"),
            json!({ "name": "x", "type": 99 }),
        )
        .await;
    assert_eq!(r.code(), 50035);
    let r = bot
        .patch(
            &format!("/guilds/{g}/members/{}", f.member_ids[0]),
            json!({ "roles": "nope" }),
        )
        .await;
    assert_eq!(r.code(), 50035);
    let r = bot
        .post(
            &format!("/channels/{}/messages", f.general_channel_id),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, 50006),
        "empty messages are refused"
    );
    let r = Rest::bot(&emu, "garbage").get("/users/@me").await;
    assert_eq!((r.status, r.code()), (401, 0));
    let r = Rest::bare(&emu, &f.app.bot_token).get("/users/@me").await;
    assert_eq!(
        r.status, 200,
        "tokens without the `Bot ` prefix are accepted"
    );
    // Still alive.
    assert_eq!(bot.get("/gateway").await.status, 200);
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn the_api_answers_under_unversioned_and_v9_base_urls_too() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    for base in ["/api", "/api/v9", "/api/v10"] {
        let rest =
            Rest::bot(&emu, &f.app.bot_token).with_base(&format!("{}{base}", emu.http_base()));
        assert_eq!(
            rest.get(&format!("/guilds/{}", f.guild_id)).await.status,
            200,
            "{base}"
        );
    }
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn members_are_listed_in_pages_by_user_id_and_need_the_members_intent() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let mut all = Vec::new();
    let mut after = 0u64;
    loop {
        let page = bot
            .get(&format!(
                "/guilds/{}/members?limit=10&after={after}",
                f.guild_id
            ))
            .await;
        let items = page.json().as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        assert!(items.len() <= 10);
        after = items.last().unwrap()["user"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        all.extend(items);
    }
    assert_eq!(
        all.len(),
        34,
        "30 members, owner, rogue, trusted and the bot"
    );
    let ids: Vec<u64> = all
        .iter()
        .map(|m| m["user"]["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted by id");
    assert_eq!(
        bot.get(&format!("/guilds/{}/members?limit=1001", f.guild_id))
            .await
            .code(),
        50035
    );

    let no_intent = emu.create_application("Plain", Default::default());
    emu.add_bot(f.guild_id, no_intent.application_id, 0, f.owner_id)
        .unwrap();
    let r = Rest::bot(&emu, &no_intent.bot_token)
        .get(&format!("/guilds/{}/members", f.guild_id))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, 50001),
        "listing members needs the GUILD_MEMBERS intent enabled"
    );
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn without_the_message_content_intent_a_bot_reads_messages_without_their_content() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let general = f.general_channel_id;
    let said = emu
        .as_user(f.owner_id)
        .send_message(general, "the owner's words")
        .unwrap();
    let mention = emu.as_user(f.owner_id);
    let reader = emu.create_application("Reader", Default::default());
    emu.add_bot(
        f.guild_id,
        reader.application_id,
        1 << 10 | 1 << 16,
        f.owner_id,
    )
    .unwrap();
    let named = mention
        .send_message(general, &format!("hey <@{}>", reader.bot_user_id))
        .unwrap();
    let read = |bot: Rest| async move {
        let list = bot
            .get(&format!("/channels/{general}/messages?limit=100"))
            .await
            .json()
            .clone();
        let text = |id: u64| {
            list.as_array()
                .into_iter()
                .flatten()
                .find(|m| m["id"].as_str() == Some(id.to_string().as_str()))
                .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
                .unwrap_or_default()
        };
        (text(said), text(named))
    };
    // Without it: empty, except a message that mentions the bot.
    let (plain, mentioned) = read(Rest::bot(&emu, &reader.bot_token)).await;
    assert_eq!(plain, "");
    assert!(mentioned.starts_with("hey"), "{mentioned}");
    let single = Rest::bot(&emu, &reader.bot_token)
        .get(&format!("/channels/{general}/messages/{said}"))
        .await
        .json()
        .clone();
    assert_eq!(single["content"], "");
    // With it (the fixture's bot): the text.
    let (plain, _) = read(Rest::bot(&emu, &f.app.bot_token)).await;
    assert_eq!(plain, "the owner's words");
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn dms_fail_with_50007_when_closed_or_without_a_mutual_guild() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let user = f.member_ids[0];
    let dm = bot
        .post(
            "/users/@me/channels",
            json!({ "recipient_id": user.to_string() }),
        )
        .await
        .id();
    emu.set_dms_open(user, false);
    let r = bot
        .post(
            &format!("/channels/{dm}/messages"),
            json!({ "content": "hi" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, 50007));
    emu.set_dms_open(user, true);
    assert_eq!(
        bot.post(
            &format!("/channels/{dm}/messages"),
            json!({ "content": "hi" })
        )
        .await
        .status,
        200
    );
    assert_eq!(emu.dm_messages_to(user).len(), 1);
    let stranger = emu.create_user("stranger");
    let dm2 = bot
        .post(
            "/users/@me/channels",
            json!({ "recipient_id": stranger.to_string() }),
        )
        .await
        .id();
    assert_eq!(
        bot.post(
            &format!("/channels/{dm2}/messages"),
            json!({ "content": "hi" })
        )
        .await
        .code(),
        50007
    );
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_webhook_posts_as_itself_and_disappears_with_its_channel() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let ch = f.channel_ids[1];
    let w = bot
        .post(
            &format!("/channels/{ch}/webhooks"),
            json!({ "name": "Alerts" }),
        )
        .await;
    let token = w.json()["token"].as_str().unwrap().to_string();
    let m = Rest::anonymous(&emu)
        .post(
            &format!("/webhooks/{}/{token}?wait=true", w.id()),
            json!({ "content": "alert" }),
        )
        .await;
    assert_eq!(m.json()["author"]["username"], "Alerts");
    assert_eq!(m.json()["webhook_id"], w.json()["id"]);
    assert_eq!(
        Rest::anonymous(&emu)
            .post(
                &format!("/webhooks/{}/{token}", w.id()),
                json!({ "content": "no wait" })
            )
            .await
            .status,
        204
    );
    assert_eq!(
        Rest::anonymous(&emu)
            .post(
                &format!("/webhooks/{}/wrong", w.id()),
                json!({ "content": "x" })
            )
            .await
            .code(),
        10015
    );
    bot.delete(&format!("/channels/{ch}")).await;
    assert_eq!(
        bot.get(&format!("/webhooks/{}", w.id())).await.code(),
        10015
    );
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn the_structural_diff_reports_a_nuke_and_ignores_new_ids_after_a_rebuild() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let before = emu.guild_view(f.guild_id).unwrap();
    let rogue = emu.as_user(f.rogue_admin_id);
    // (The two lowest plain roles have icons, which a rebuild from a view cannot upload.)
    let victim_role = f.role_ids[2];
    let role_name = before
        .roles
        .iter()
        .find(|r| r.id == victim_role)
        .unwrap()
        .name
        .clone();
    let channel = before
        .channels
        .iter()
        .find(|c| c.id == f.channel_ids[1])
        .unwrap()
        .clone();
    rogue.delete_role(f.guild_id, victim_role).unwrap();
    rogue.delete_channel(channel.id).unwrap();
    rogue.ban(f.guild_id, f.member_ids[5]).unwrap();
    let after = emu.guild_view(f.guild_id).unwrap();
    let d = diff(&before, &after, &DiffOptions::default());
    assert!(
        d.iter()
            .any(|e| e.kind == DiffKind::Removed && e.path == format!("roles[{victim_role}]")),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|e| e.kind == DiffKind::Removed && e.path == format!("channels[{}]", channel.id))
    );
    assert!(
        d.iter()
            .any(|e| e.kind == DiffKind::Added && e.path.starts_with("bans["))
    );

    // Rebuild with new ids: the same names, settings, overwrites and member roles.
    let owner = emu.as_user(f.owner_id);
    let old_role = before.roles.iter().find(|r| r.id == victim_role).unwrap();
    let new_role = owner
        .create_role(f.guild_id, json!({ "name": role_name, "permissions": old_role.permissions.to_string(), "color": old_role.color, "hoist": old_role.hoist, "mentionable": old_role.mentionable }))
        .unwrap();
    let pos = before
        .roles
        .iter()
        .find(|r| r.id == victim_role)
        .unwrap()
        .position;
    owner
        .set_role_positions(f.guild_id, &[(new_role, pos)])
        .unwrap();
    for m in before
        .members
        .iter()
        .filter(|m| m.roles.contains(&victim_role) && m.user_id != f.member_ids[5])
    {
        owner
            .add_member_role(f.guild_id, m.user_id, new_role)
            .unwrap();
    }
    let overwrites: Vec<_> = channel
        .overwrites
        .iter()
        .map(|o| json!({ "id": (if o.id == victim_role { new_role } else { o.id }).to_string(), "type": o.kind, "allow": o.allow.to_string(), "deny": o.deny.to_string() }))
        .collect();
    let mut body = json!({ "name": channel.name, "type": channel.kind, "position": channel.position, "topic": channel.topic, "nsfw": channel.nsfw, "rate_limit_per_user": channel.rate_limit_per_user, "permission_overwrites": overwrites, "parent_id": channel.parent_id.map(|p| p.to_string()) });
    if channel.kind == 2 || channel.kind == 13 {
        body["bitrate"] = json!(channel.bitrate);
        body["user_limit"] = json!(channel.user_limit);
    }
    if channel.kind == 15 {
        body["available_tags"] = json!(
            channel
                .available_tags
                .iter()
                .map(|t| json!({ "name": t }))
                .collect::<Vec<_>>()
        );
    }
    let new_channel = owner.create_channel(f.guild_id, body).unwrap();
    // Its threads went with it: make them again (text-channel threads: no tags, no starter).
    for t in before
        .threads
        .iter()
        .filter(|t| t.parent_name == channel.name)
    {
        let thread = owner
            .create_thread(
                new_channel,
                json!({ "name": t.name, "type": t.kind, "auto_archive_duration": t.auto_archive_duration, "rate_limit_per_user": t.rate_limit_per_user }),
            )
            .unwrap();
        if t.archived || t.locked || t.pinned {
            owner
                .update_thread(
                    thread,
                    json!({ "archived": t.archived, "locked": t.locked, "flags": if t.pinned { 2 } else { 0 } }),
                )
                .unwrap();
        }
    }
    // AutoMod rules that named the deleted role or channel are pointed at the new ones.
    let swap = |id: u64| {
        if id == victim_role {
            new_role
        } else if id == channel.id {
            new_channel
        } else {
            id
        }
    };
    let rules = emu.with_world(|w| w.guilds.get(&f.guild_id).map(|g| g.automod.clone()));
    let rules = rules.unwrap();
    for r in rules {
        let actions: Vec<_> = r
            .actions
            .iter()
            .map(|a| {
                let mut a = a.clone();
                if let Some(c) = a
                    .pointer("/metadata/channel_id")
                    .and_then(|c| c.as_str())
                    .and_then(|c| c.parse::<u64>().ok())
                {
                    a["metadata"]["channel_id"] = json!(swap(c).to_string());
                }
                a
            })
            .collect();
        let ids = |v: &[u64]| v.iter().map(|x| swap(*x).to_string()).collect::<Vec<_>>();
        owner
            .update_automod_rule(
                f.guild_id,
                r.id,
                json!({ "actions": actions, "exempt_roles": ids(&r.exempt_roles), "exempt_channels": ids(&r.exempt_channels) }),
            )
            .unwrap();
    }
    // The welcome screen named the deleted channel: point it at the new one.
    let welcome = emu.with_world(|w| {
        w.guilds
            .get(&f.guild_id)
            .and_then(|g| g.welcome_screen.clone())
    });
    if let Some(w) = welcome {
        let channels: Vec<_> = w
            .channels
            .iter()
            .map(|(c, d, e)| json!({ "channel_id": swap(*c).to_string(), "description": d, "emoji_name": e }))
            .collect();
        owner
            .update_welcome_screen(f.guild_id, json!({ "welcome_channels": channels }))
            .unwrap();
    }
    // So did the onboarding (the emulator's own JSON, ids swapped, is a valid PUT body).
    let onboarding = emu.with_world(|w| {
        w.guilds
            .get(&f.guild_id)
            .map(|g| g.onboarding.json(f.guild_id))
    });
    if let Some(mut o) = onboarding {
        let swap_all = |v: &mut serde_json::Value| {
            for id in v.as_array_mut().into_iter().flatten() {
                if let Some(x) = id.as_str().and_then(|x| x.parse::<u64>().ok()) {
                    *id = json!(swap(x).to_string());
                }
            }
        };
        swap_all(&mut o["default_channel_ids"]);
        for p in o["prompts"].as_array_mut().into_iter().flatten() {
            for x in p["options"].as_array_mut().into_iter().flatten() {
                swap_all(&mut x["channel_ids"]);
                swap_all(&mut x["role_ids"]);
                x["emoji_name"] = x["emoji"]["name"].clone();
            }
        }
        owner.update_onboarding(f.guild_id, o).unwrap();
    }
    // Other channels' overwrites for the deleted role were dropped with it; restore them.
    for c in before.channels.iter().filter(|c| c.id != channel.id) {
        for o in c.overwrites.iter().filter(|o| o.id == victim_role) {
            owner
                .put_overwrite(c.id, new_role, OverwriteKind::Role, o.allow, o.deny)
                .unwrap();
        }
    }
    // Emojis limited to the deleted role lost it; give them the new one.
    for e in &before.emojis {
        if e.role_names.contains(&role_name) {
            owner
                .update_emoji(f.guild_id, e.id, &e.name, &[new_role])
                .unwrap();
        }
    }
    owner.unban(f.guild_id, f.member_ids[5]).unwrap();
    emu.add_member(f.guild_id, f.member_ids[5]).unwrap();
    let old_roles = &before.member(f.member_ids[5]).unwrap().roles;
    let roles: Vec<String> = old_roles
        .iter()
        .map(|r| if *r == victim_role { new_role } else { *r }.to_string())
        .collect();
    owner
        .update_member(
            f.guild_id,
            f.member_ids[5],
            json!({ "roles": roles, "nick": before.member(f.member_ids[5]).unwrap().nick }),
        )
        .unwrap();

    let rebuilt = emu.guild_view(f.guild_id).unwrap();
    assert!(
        !diff(&before, &rebuilt, &DiffOptions::default()).is_empty(),
        "ids differ"
    );
    let d = diff(
        &before,
        &rebuilt,
        &DiffOptions {
            ignore_positions: true,
            ..DiffOptions::structural()
        },
    );
    assert!(
        d.iter()
            .any(|e| e.kind == DiffKind::Removed && e.path.starts_with("webhooks[")),
        "the webhook died with its channel: {d:#?}"
    );
    let d = diff(
        &before,
        &rebuilt,
        &DiffOptions {
            ignore_positions: true,
            webhooks: false,
            ..DiffOptions::structural()
        },
    );
    assert!(
        d.is_empty(),
        "structurally identical after the rebuild:\n{}",
        d.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn a_community_guild_keeps_its_rules_channel_and_emoji_images_come_from_the_cdn() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let g = f.guild_id;
    let general = f.general_channel_id;
    let before = emu.guild_view(g).expect("guild");
    assert_eq!(before.settings.rules_channel_id, Some(general));
    let r = bot
        .call("DELETE", &format!("/channels/{general}"), None)
        .await;
    assert_eq!((r.status, r.code()), (400, 50074), "as Discord");
    let after = emu.guild_view(g).expect("guild");
    assert_eq!(
        after.settings, before.settings,
        "the guild's fields are as they were"
    );
    assert!(after.channels.iter().any(|c| c.id == general));
    // Another channel goes as usual.
    let other = f.channel_ids[1];
    let r = bot
        .call("DELETE", &format!("/channels/{other}"), None)
        .await;
    assert_eq!(r.status, 200);

    // Emoji images: served on the CDN route while the emoji exists, with its bytes.
    let emoji = before
        .emojis
        .first()
        .expect("the fixture has emojis")
        .clone();
    let cdn = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("client");
    let url = format!("https://{}/emojis/{}.png", emu.tls_addr(), emoji.id);
    let bytes = cdn
        .get(&url)
        .send()
        .await
        .expect("cdn")
        .bytes()
        .await
        .expect("bytes");
    use sha2::Digest as _;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        emoji.image_sha256
    );
    emu.as_user(f.owner_id)
        .delete_emoji(g, emoji.id)
        .expect("delete");
    let gone = cdn.get(&url).send().await.expect("cdn");
    assert_eq!(gone.status(), 404, "a deleted emoji's image is gone");
}
