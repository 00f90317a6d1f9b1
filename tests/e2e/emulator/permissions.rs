//! Purpose: Discord's permission and hierarchy rules and guild limits, enforced identically
//! for scripted users and for the bot through REST.

use discord_emulator::permissions as p;
use discord_emulator::{FixtureSpec, OverwriteKind};
use serde_json::json;

use super::harness::*;

/// A guild with a member holding a "Manager" role (MANAGE_ROLES | MANAGE_CHANNELS) placed in
/// the middle of the hierarchy.
async fn manager_setup() -> (
    discord_emulator::Emulator,
    discord_emulator::Fixture,
    u64,
    u64,
) {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let owner = emu.as_user(f.owner_id);
    let manager_role = owner.create_role(f.guild_id, json!({ "name": "Manager", "permissions": (p::MANAGE_ROLES | p::MANAGE_CHANNELS | p::KICK_MEMBERS).to_string() })).unwrap();
    // Put it above the plain roles, below Moderator.
    let view = emu.guild_view(f.guild_id).unwrap();
    let moderator_pos = view
        .roles
        .iter()
        .find(|r| r.id == f.moderator_role_id)
        .unwrap()
        .position;
    owner
        .set_role_positions(f.guild_id, &[(manager_role, moderator_pos - 1)])
        .unwrap();
    let manager = emu.create_user("manager");
    emu.add_member(f.guild_id, manager).unwrap();
    owner
        .add_member_role(f.guild_id, manager, manager_role)
        .unwrap();
    (emu, f, manager, manager_role)
}

#[tokio::test]
async fn a_member_cannot_delete_a_role_at_or_above_their_highest_role() {
    let (emu, f, manager, manager_role) = manager_setup().await;
    let m = emu.as_user(manager);
    let e = m.delete_role(f.guild_id, f.moderator_role_id).unwrap_err();
    assert_eq!(
        (e.status, e.code),
        (403, 50013),
        "Moderator is above Manager"
    );
    let e = m.delete_role(f.guild_id, manager_role).unwrap_err();
    assert_eq!(e.code, 50013, "nobody manages their own highest role");
    m.delete_role(f.guild_id, f.role_ids[0])
        .expect("a lower role can be deleted");
    assert!(
        emu.guild_view(f.guild_id)
            .unwrap()
            .roles
            .iter()
            .all(|r| r.id != f.role_ids[0])
    );
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn an_administrator_still_cannot_manage_roles_above_their_own_and_cannot_touch_the_owner() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let rogue = emu.as_user(f.rogue_admin_id);
    assert_eq!(
        rogue
            .delete_role(f.guild_id, f.founders_role_id)
            .unwrap_err()
            .code,
        50013
    );
    assert_eq!(
        rogue
            .delete_role(f.guild_id, f.bot_role_id)
            .unwrap_err()
            .code,
        50028,
        "a managed role cannot be deleted"
    );
    assert_eq!(rogue.ban(f.guild_id, f.owner_id).unwrap_err().code, 50013);
    assert_eq!(rogue.kick(f.guild_id, f.owner_id).unwrap_err().code, 50013);
    assert_eq!(
        rogue
            .update_member(f.guild_id, f.app.bot_user_id, json!({ "nick": "pwned" }))
            .unwrap_err()
            .code,
        50013,
        "the bot is above the admin"
    );
    rogue
        .delete_role(f.guild_id, f.moderator_role_id)
        .expect("Moderator is below Admin");
    rogue
        .ban(f.guild_id, f.trusted_user_id)
        .expect("admins outrank moderators");
    assert_eq!(
        emu.as_user(f.trusted_user_id)
            .ban(f.guild_id, f.member_ids[0])
            .unwrap_err()
            .code,
        50001,
        "a banned user is no member"
    );
}

#[tokio::test]
async fn the_owner_bypasses_permissions_and_hierarchy() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let owner = emu.as_user(f.owner_id);
    owner.delete_role(f.guild_id, f.founders_role_id).unwrap();
    owner.ban(f.guild_id, f.rogue_admin_id).unwrap();
    owner
        .update_member(f.guild_id, f.app.bot_user_id, json!({ "nick": "Umbra!" }))
        .unwrap();
    let e = owner
        .update_guild(
            f.guild_id,
            json!({ "owner_id": f.member_ids[0].to_string() }),
        )
        .map(|_| ());
    assert!(e.is_ok(), "only the owner may transfer ownership: {e:?}");
    assert_eq!(
        emu.guild_view(f.guild_id).unwrap().owner_id,
        f.member_ids[0]
    );
    let e = owner
        .update_guild(f.guild_id, json!({ "owner_id": f.owner_id.to_string() }))
        .unwrap_err();
    assert_eq!(e.code, 50013, "the former owner has no MANAGE_GUILD left");
}

#[tokio::test]
async fn channel_overwrites_take_permissions_away_in_one_channel_only() {
    let (emu, f, manager, manager_role) = manager_setup().await;
    let locked = f.channel_ids[1];
    emu.as_user(f.owner_id)
        .put_overwrite(
            locked,
            manager_role,
            OverwriteKind::Role,
            0,
            p::MANAGE_CHANNELS,
        )
        .unwrap();
    let m = emu.as_user(manager);
    assert_eq!(m.delete_channel(locked).unwrap_err().code, 50013);
    m.delete_channel(f.channel_ids[2])
        .expect("other channels are unaffected");
    // Denying VIEW_CHANNEL hides the channel entirely: Missing Access.
    emu.as_user(f.owner_id)
        .put_overwrite(locked, manager, OverwriteKind::Member, 0, p::VIEW_CHANNEL)
        .unwrap();
    assert_eq!(
        m.update_channel(locked, json!({ "topic": "x" }))
            .unwrap_err()
            .code,
        50001
    );
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn nobody_grants_permissions_they_do_not_have() {
    let (emu, f, manager, _) = manager_setup().await;
    let m = emu.as_user(manager);
    let e = m
        .create_role(
            f.guild_id,
            json!({ "name": "Ban hammer", "permissions": p::BAN_MEMBERS.to_string() }),
        )
        .unwrap_err();
    assert_eq!(e.code, 50013);
    let r = m
        .create_role(
            f.guild_id,
            json!({ "name": "Harmless", "permissions": p::MANAGE_ROLES.to_string() }),
        )
        .unwrap();
    assert_eq!(
        m.grant_permissions(f.guild_id, r, p::ADMINISTRATOR)
            .unwrap_err()
            .code,
        50013
    );
    let e = m
        .create_channel(f.guild_id, json!({ "name": "sneaky", "permission_overwrites": [{ "id": manager.to_string(), "type": 1, "allow": p::BAN_MEMBERS.to_string() }] }))
        .unwrap_err();
    assert_eq!(e.code, 50013);
}

#[tokio::test]
async fn the_bot_cannot_assign_roles_above_its_own_or_managed_roles_through_rest() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let m = f.member_ids[0];
    let r = bot
        .put(
            &format!(
                "/guilds/{}/members/{m}/roles/{}",
                f.guild_id, f.founders_role_id
            ),
            json!(null),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, 50013));
    let r = bot
        .patch(
            &format!("/guilds/{}/members/{m}", f.guild_id),
            json!({ "roles": [f.bot_role_id.to_string()] }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, 50013),
        "managed roles cannot be assigned"
    );
    let r = bot
        .put(
            &format!(
                "/guilds/{}/members/{m}/roles/{}",
                f.guild_id, f.admin_role_id
            ),
            json!(null),
        )
        .await;
    assert_eq!(r.status, 204, "Admin is below the bot");
    let r = bot
        .delete(&format!("/guilds/{}/members/{}", f.guild_id, f.owner_id))
        .await;
    assert_eq!((r.status, r.code()), (403, 50013), "nobody kicks the owner");
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_guild_holds_at_most_250_roles_and_500_channels() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::large().with_members(50));
    let view = emu.guild_view(f.guild_id).unwrap();
    assert_eq!(view.roles.len(), 251, "250 roles and @everyone");
    assert_eq!(view.channels.len(), 500);
    assert_eq!(
        view.channels
            .iter()
            .map(|c| c.overwrites.len())
            .sum::<usize>(),
        3000
    );
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let r = bot
        .post(
            &format!("/guilds/{}/roles", f.guild_id),
            json!({ "name": "one more" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 30005));
    let r = bot
        .post(
            &format!("/guilds/{}/channels", f.guild_id),
            json!({ "name": "one-more" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 30013));
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_category_holds_at_most_50_channels() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let path = format!("/guilds/{}/channels", f.guild_id);
    let cat = bot
        .post(&path, json!({ "name": "Full", "type": 4 }))
        .await
        .id();
    for i in 0..50 {
        let r = bot
            .post(
                &path,
                json!({ "name": format!("c{i}"), "parent_id": cat.to_string() }),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let r = bot
        .post(
            &path,
            json!({ "name": "c50", "parent_id": cat.to_string() }),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 50035));
    assert_eq!(
        r.json()["errors"]["parent_id"]["_errors"][0]["code"],
        "CHANNEL_PARENT_MAX_CHANNELS"
    );
    let moved = bot
        .patch(
            &format!("/channels/{}", f.channel_ids[1]),
            json!({ "parent_id": cat.to_string() }),
        )
        .await;
    assert_eq!(moved.code(), 50035, "moving into a full category fails too");
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_bot_outside_the_guild_gets_missing_access() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let stranger = emu.create_application("Stranger", Default::default());
    let r = Rest::bot(&emu, &stranger.bot_token)
        .get(&format!("/guilds/{}/roles", f.guild_id))
        .await;
    assert_eq!((r.status, r.code()), (403, 50001));
    let r = Rest::bot(&emu, &stranger.bot_token)
        .delete(&format!("/channels/{}", f.general_channel_id))
        .await;
    assert_eq!((r.status, r.code()), (403, 50001));
    assert_all_shapes(&emu);
}
