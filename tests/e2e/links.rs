//! Purpose: the member re-join link (issue 15) against the emulator's OAuth2 — a member links
//! through real Chromium from the panel `/members link` posts; the grant is stored as
//! ciphertext only (two rows' or two columns' ciphertexts swapped do not open); forged states,
//! a refused consent and a closed link change nothing; a grant near its expiry is refreshed
//! once (and two refreshes at once never lose it); a grant revoked at Discord makes the link
//! dead; a member removes their link on `/me` and the grant is revoked at Discord; only the
//! owner or a trusted user posts the panel, and no powerful role can be the verified role.

use std::time::Duration;

use serde_json::json;
use umbra::guild::GuildReader;
use umbra::member::LinkService;

use crate::recovery::wait_live;
use crate::support::browser::Browser;
use crate::support::web::{WebClient, login};
use crate::support::world::TestWorld;

fn links(world: &TestWorld) -> LinkService {
    world
        .data()
        .links
        .clone()
        .expect("a world with the web login has re-join links")
}

/// A member links `world`'s guild over HTTP (the emulator approves as `user`). Returns the
/// client (with its cookies).
async fn link_over_http(world: &TestWorld, user: u64) -> WebClient {
    // The public URL: also right when Umbra runs as its own process (the crash test).
    let client = WebClient::new(&world.config.http.public_url);
    let start = client
        .get(&format!("/join/{}/start", world.guild_id()))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let authorize = start.location.expect("to Discord");
    assert!(
        authorize.contains("guilds.join")
            || authorize.contains("guilds+join")
            || authorize.contains("guilds%20join"),
        "{authorize}"
    );
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    let consent = client
        .get(&format!("{authorize}&emulator_user={user}"))
        .await;
    assert_eq!(consent.status, 302, "{}", consent.body);
    let back = client.get(&consent.location.expect("back")).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert!(back.body.contains("id=\"joined\""), "{}", back.body);
    client
}

async fn link_rows(world: &TestWorld) -> Vec<(i64, String)> {
    sqlx::query_as(
        "SELECT discord_user_id, status FROM member.web_join_requests \
          WHERE discord_user_id IS NOT NULL ORDER BY discord_user_id",
    )
    .fetch_all(&world.db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_links_from_the_panel_in_chromium_and_the_grant_is_stored_sealed() {
    let world = TestWorld::builder().web().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let panel = world
        .command(world.owner_id(), "members link", json!({}))
        .await;
    assert!(!panel.ephemeral, "the panel is for everyone");
    assert!(panel.text.contains("Stay with"), "{}", panel.text);
    let message = panel.message.clone().expect("the panel");
    let url = message.components[0]["components"][0]["url"]
        .as_str()
        .expect("a link button")
        .to_owned();
    assert_eq!(url, format!("{}/join/{g}", world.web_base()));

    let member = world.fixture.member_ids[0];
    world.emu.set_oauth_user(Some(member));
    let browser = Browser::start().await;
    browser.goto(&url).await;
    browser.find("#join-start").await;
    browser.screenshot("join-1-what-it-means").await;
    browser.click("#join-start").await;
    browser.find("#joined").await;
    browser.screenshot("join-2-linked").await;
    browser.close().await;

    assert_eq!(
        link_rows(&world).await,
        [(member as i64, "authorized".into())]
    );
    let grant = links(&world)
        .grants()
        .get(member)
        .await
        .unwrap()
        .expect("a live grant");
    let (access, refresh): (Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT oauth_access_token_enc, oauth_refresh_token_enc FROM identity.users \
          WHERE discord_user_id = $1",
    )
    .bind(member as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    let token = grant.access_token.expose().as_bytes().to_vec();
    assert!(
        !access.windows(token.len()).any(|w| w == token.as_slice()),
        "only ciphertext is stored"
    );
    assert_ne!(access, refresh);
    // No IP address, location or email anywhere in the link.
    let row: serde_json::Value = sqlx::query_scalar(
        "SELECT to_jsonb(r) FROM member.web_join_requests AS r WHERE discord_user_id = $1",
    )
    .bind(member as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    let text = row.to_string();
    assert!(!text.contains("127.0.0.1") && !text.contains('@'), "{text}");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_ciphertexts_do_not_open_and_forged_states_or_a_refusal_link_nobody() {
    let world = TestWorld::builder().web().start().await;
    wait_live(&world).await;
    let (a, b) = (world.fixture.member_ids[0], world.fixture.member_ids[1]);
    link_over_http(&world, a).await;
    link_over_http(&world, b).await;
    let grants = links(&world).grants().clone();
    assert!(grants.get(a).await.unwrap().is_some());

    // Another row's ciphertext, or another column's, does not decrypt.
    sqlx::query(
        "UPDATE identity.users AS u SET oauth_access_token_enc = o.oauth_access_token_enc \
           FROM identity.users AS o WHERE u.discord_user_id = $1 AND o.discord_user_id = $2",
    )
    .bind(a as i64)
    .bind(b as i64)
    .execute(&world.db.pool)
    .await
    .unwrap();
    assert!(
        grants.get(a).await.is_err(),
        "a row's ciphertext on another row"
    );
    sqlx::query(
        "UPDATE identity.users SET oauth_access_token_enc = oauth_refresh_token_enc \
          WHERE discord_user_id = $1",
    )
    .bind(b as i64)
    .execute(&world.db.pool)
    .await
    .unwrap();
    assert!(
        grants.get(b).await.is_err(),
        "a column's ciphertext in another column"
    );

    // A forged state: without the browser's cookie it is no join; with a cookie that matches a
    // made-up state, no request has it. Nothing changes either way.
    let before = link_rows(&world).await;
    let stranger = WebClient::new(&world.web_base());
    let forged = stranger.get("/auth/callback?code=abc&state=forged").await;
    assert_eq!(forged.status, 400);
    stranger.set_cookie("umbra_join", "forged");
    let forged = stranger.get("/auth/callback?code=abc&state=forged").await;
    assert_eq!(forged.status, 400);
    assert!(
        forged.body.contains("did not start in this browser"),
        "{}",
        forged.body
    );
    // A consent started in one browser cannot be finished in another.
    let c = world.fixture.member_ids[2];
    let victim = WebClient::new(&world.web_base());
    let start = victim
        .get(&format!("/join/{}/start", world.guild_id()))
        .await;
    let consent = victim
        .get(&format!("{}&emulator_user={c}", start.location.unwrap()))
        .await;
    let stolen = stranger.get(&consent.location.unwrap()).await;
    assert_eq!(stolen.status, 400);
    // The member refuses on Discord's page.
    let refuser = WebClient::new(&world.web_base());
    let start = refuser
        .get(&format!("/join/{}/start", world.guild_id()))
        .await;
    let url = reqwest::Url::parse(&start.location.unwrap()).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let denied = refuser
        .get(&format!("/auth/callback?error=access_denied&state={state}"))
        .await;
    assert_eq!(denied.status, 400);
    assert!(denied.body.contains("did not authorize"), "{}", denied.body);
    assert_eq!(link_rows(&world).await, before, "nobody new is linked");

    // A closed or unknown server has no link page.
    assert_eq!(stranger.get("/join/123456789012345678").await.status, 404);
    assert_eq!(stranger.get("/join/not-a-guild/start").await.status, 404);

    // Consents nobody finished (anyone may open one) and refused ones go a day later; links
    // stay.
    let open_consents = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM member.web_join_requests WHERE status <> 'authorized'",
        )
        .fetch_one(&world.db.pool)
        .await
        .unwrap()
    };
    assert!(
        open_consents().await >= 2,
        "the unfinished and the refused consent"
    );
    sqlx::query(
        "UPDATE member.web_join_requests SET created_at = now() - interval '2 days', \
                expires_at = now() - interval '2 days' + interval '10 minutes' \
          WHERE status <> 'authorized'",
    )
    .execute(&world.db.pool)
    .await
    .unwrap();
    links(&world).settle_dead().await.unwrap();
    assert_eq!(open_consents().await, 0);
    assert_eq!(link_rows(&world).await, before, "the links stay");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_are_refreshed_once_before_they_expire_and_a_revoked_one_marks_the_link_dead() {
    let world = TestWorld::builder().web().start().await;
    wait_live(&world).await;
    let member = world.fixture.member_ids[0];
    link_over_http(&world, member).await;
    let service = links(&world);
    let grants = service.grants().clone();
    let first = grants.get(member).await.unwrap().unwrap();
    let near_expiry = || async {
        sqlx::query(
            "UPDATE identity.users SET oauth_expires_at = now() + interval '1 hour' \
              WHERE discord_user_id = $1",
        )
        .bind(member as i64)
        .execute(&world.db.pool)
        .await
        .unwrap();
    };
    let window = Duration::from_secs(24 * 3600);
    // Not due yet: nothing happens.
    assert_eq!(grants.refresh_due(window, 50).await.unwrap(), (0, 0));
    near_expiry().await;
    world.emu.expire_oauth_access(member);
    assert_eq!(grants.refresh_due(window, 50).await.unwrap(), (1, 0));
    assert_eq!(world.emu.oauth_refreshes(), 1, "refreshed once");
    let second = grants.get(member).await.unwrap().unwrap();
    assert_ne!(second.access_token.expose(), first.access_token.expose());
    assert!(second.version > first.version);
    grants
        .oauth()
        .me(&second.access_token)
        .await
        .expect("the new token works at Discord");

    // Two refreshes at once of the grant both callers found stale (refresh tokens are
    // single-use): one goes to Discord, both get the new grant, and the link survives. (Each
    // caller passes the version it saw: a caller that starts after the first refresh finished
    // gets that one instead of refreshing again, whatever the scheduling.)
    let stale = Some(second.version);
    let (x, y) = tokio::join!(grants.refresh(member, stale), grants.refresh(member, stale));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(world.emu.oauth_refreshes(), 2, "one more refresh, not two");
    assert_eq!(x.access_token.expose(), y.access_token.expose());
    grants
        .oauth()
        .me(&x.access_token)
        .await
        .expect("still works");

    // The member removes Umbra in Discord's settings: the next refresh is refused, the grant
    // wiped, the link dead (shown to the owner), and it is not tried again.
    world.emu.deauthorize_oauth(member);
    near_expiry().await;
    assert_eq!(grants.refresh_due(window, 50).await.unwrap(), (0, 1));
    service.settle_dead().await.unwrap();
    assert_eq!(link_rows(&world).await, [(member as i64, "failed".into())]);
    let counts = service.counts(world.guild_id()).await.unwrap();
    assert_eq!((counts.live, counts.dead), (0, 1));
    assert!(grants.get(member).await.unwrap().is_none());
    assert_eq!(
        grants.refresh_due(window, 50).await.unwrap(),
        (0, 0),
        "never retried"
    );
    // The owner sees it when posting the panel.
    let panel = world
        .command(world.owner_id(), "members link", json!({}))
        .await;
    let followups = panel
        .handle
        .followups(1, Duration::from_secs(10))
        .await
        .expect("the counts, for the owner");
    assert!(
        followups
            .iter()
            .any(|m| m.ephemeral && m.text().contains("0 members are linked; 1 links are dead")),
        "{followups:?}"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_removes_their_link_on_me_and_the_grant_is_revoked_at_discord() {
    let world = TestWorld::builder().web().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let member = world.fixture.member_ids[0];
    link_over_http(&world, member).await;
    assert_eq!(world.emu.oauth_grants_of(member), 1);
    let web = login(&world, member).await;
    assert_eq!(
        world.emu.oauth_grants_of(member),
        2,
        "the re-join grant and the login's"
    );
    let me = web.get("/me").await;
    assert!(
        me.body.contains(&format!("data-guild=\"{g}\"")),
        "{}",
        me.body
    );
    // Without the page's token, nothing happens.
    let refused = web
        .post(&format!("/me/links/{g}/remove"), &[("csrf", "wrong")])
        .await;
    assert_eq!(refused.status, 403);
    // Another member cannot remove it.
    let other = login(&world, world.fixture.member_ids[1]).await;
    let page = other.get("/me").await;
    let theirs = other
        .post(&format!("/me/links/{g}/remove"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(link_rows(&world).await.len(), 1);

    let removed = web
        .post(&format!("/me/links/{g}/remove"), &[("csrf", &me.csrf())])
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(removed.body.contains("id=\"link-removed\""));
    assert!(link_rows(&world).await.is_empty());
    // The login's own grant is separate; the re-join grant is gone at Discord and here.
    let sealed: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT oauth_access_token_enc FROM identity.users WHERE discord_user_id = $1",
    )
    .bind(member as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert!(sealed.is_none(), "wiped");
    assert_eq!(
        world.emu.oauth_grants_of(member),
        1,
        "revoked at Discord (the login's own token is another grant)"
    );
    assert!(links(&world).grants().get(member).await.unwrap().is_none());
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_or_trusted_post_the_panel_and_no_powerful_role_can_be_the_verified_one() {
    let world = TestWorld::builder().web().start().await;
    wait_live(&world).await;
    let rogue = world
        .command(world.fixture.rogue_admin_id, "members link", json!({}))
        .await;
    assert!(rogue.ephemeral, "{}", rogue.text);
    assert!(
        !rogue.text.contains("Stay with") && rogue.text.contains("trusted"),
        "an admin who is not trusted gets no panel: {}",
        rogue.text
    );
    let admin_role = world.fixture.admin_role_id;
    let refused = world
        .command(
            world.owner_id(),
            "members link",
            json!({ "role": admin_role.to_string() }),
        )
        .await;
    assert!(
        refused.text.contains("cannot be the verified role"),
        "{}",
        refused.text
    );
    let settings = world
        .data()
        .guilds
        .settings(world.guild_id())
        .await
        .unwrap();
    assert_eq!(settings.web_join_role_id, None, "nothing changed");
    world.finish().await;
}

mod pull {
    //! `/members pull`: linked members who were kicked come back with their original roles and
    //! nickname; a revoked one is reported dead; an expired token is refreshed once.

    use std::time::Duration;

    use serde_json::json;

    use super::link_over_http;
    use crate::recovery::wait_live;
    use crate::restore::{confirm, wait_job};
    use crate::support::world::TestWorld;

    /// `n` members with roles link their account, a snapshot is taken, and they are kicked.
    /// Returns what they had.
    async fn linked_then_kicked(
        world: &TestWorld,
        n: usize,
    ) -> Vec<discord_emulator::diff::MemberView> {
        let g = world.guild_id();
        let view = world.emu.guild_view(g).expect("the guild");
        let chosen: Vec<_> = view
            .members
            .iter()
            .filter(|m| world.fixture.member_ids.contains(&m.user_id) && !m.roles.is_empty())
            .take(n)
            .cloned()
            .collect();
        assert_eq!(chosen.len(), n, "the fixture has members with roles");
        for m in &chosen {
            link_over_http(world, m.user_id).await;
        }
        world
            .data()
            .snapshots
            .create_manual(g, Some("before".into()), world.owner_id())
            .await
            .unwrap();
        for m in &chosen {
            world
                .emu
                .as_user(world.owner_id())
                .kick(g, m.user_id)
                .unwrap();
        }
        world
            .eventually("the mirror sees them gone", || async {
                let state = world
                    .data()
                    .sync
                    .state_as_of(g, None)
                    .await
                    .unwrap()
                    .unwrap();
                chosen
                    .iter()
                    .all(|c| state.members.iter().all(|m| m.discord_user_id != c.user_id))
            })
            .await;
        chosen
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_nuke_and_a_restore_kicked_members_come_back_with_their_roles_and_nicknames() {
        let world = TestWorld::builder().web().start().await;
        wait_live(&world).await;
        crate::restore::bot_on_top(&world);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let g = world.guild_id();
        let owner = world.owner_id();
        let names =
            |view: &discord_emulator::GuildView| -> std::collections::BTreeMap<u64, String> {
                view.roles.iter().map(|r| (r.id, r.name.clone())).collect()
            };
        let before_names = names(&world.emu.guild_view(g).unwrap());
        // Four members with roles link; a nuker kicks them and deletes their roles. One has since
        // removed Umbra at Discord, another's access token expired, another was banned.
        let chosen = linked_then_kicked(&world, 4).await;
        let mut nuked = std::collections::BTreeSet::new();
        for m in &chosen {
            nuked.extend(m.roles.iter().copied());
        }
        for r in &nuked {
            world.emu.as_user(owner).delete_role(g, *r).unwrap();
        }
        let (expired, revoked, banned) = (chosen[1].user_id, chosen[2].user_id, chosen[3].user_id);
        world.emu.expire_oauth_access(expired);
        world.emu.deauthorize_oauth(revoked);
        world.emu.as_user(owner).ban(g, banned).unwrap();
        let refreshes = world.emu.oauth_refreshes();
        world
            .eventually("the mirror sees the roles gone", || async {
                let state = world
                    .data()
                    .sync
                    .state_as_of(g, None)
                    .await
                    .unwrap()
                    .unwrap();
                state
                    .roles
                    .iter()
                    .all(|r| !nuked.contains(&r.discord_role_id))
            })
            .await;
        // The owner restores the roles (new ids) from the snapshot.
        let snapshot = world.data().snapshots.latest(g).await.unwrap().unwrap();
        world
            .data()
            .restores
            .start(umbra::recovery::restore::RestoreRequest {
                guild: g,
                snapshot_id: snapshot.id,
                mode: umbra::recovery::restore::Mode::Merge,
                components: umbra::recovery::restore::Components::of(&[
                    umbra::recovery::restore::model::Component::Roles,
                ])
                .unwrap(),
                scope: None,
                requested_by: owner,
                incident_id: None,
                confirmed: true,
            })
            .await
            .unwrap();
        let (status, ..) =
            wait_job(&world, &["completed", "failed"], Duration::from_secs(60)).await;
        assert_eq!(status, "completed", "the roles are restored");
        let restored: std::collections::BTreeSet<String> =
            nuked.iter().map(|r| before_names[r].clone()).collect();
        world
            .eventually("the mirror has the restored roles", || async {
                let state = world
                    .data()
                    .sync
                    .state_as_of(g, None)
                    .await
                    .unwrap()
                    .unwrap();
                restored
                    .iter()
                    .all(|n| state.roles.iter().any(|r| &r.name == n))
            })
            .await;

        // Not the rogue admin's to run.
        let rogue = world
            .command(world.fixture.rogue_admin_id, "members pull", json!({}))
            .await;
        assert!(rogue.text.contains("owner"), "{}", rogue.text);

        let preview = world.command(owner, "members pull", json!({})).await;
        assert!(
            preview.text.contains("Members to bring back: 4"),
            "{}",
            preview.text
        );
        confirm(&world, owner, &preview).await;
        world
            .eventually("the pull's report", || async {
                preview.handle.messages().iter().any(|m| {
                    let t = m.text();
                    t.contains("2 joined") && t.contains("1 dead links") && t.contains("1 banned")
                })
            })
            .await;

        let after = world.emu.guild_view(g).expect("the guild");
        let after_names = names(&after);
        assert!(
            nuked.iter().all(|r| !after_names.contains_key(r)),
            "the roles were recreated with new ids"
        );
        for m in &chosen[..2] {
            let back = after
                .members
                .iter()
                .find(|x| x.user_id == m.user_id)
                .unwrap_or_else(|| panic!("{} is back", m.username));
            let mut want: Vec<&String> = m.roles.iter().map(|r| &before_names[r]).collect();
            let mut got: Vec<&String> = back.roles.iter().map(|r| &after_names[r]).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{}'s original roles", m.username);
            assert_eq!(back.nick, m.nick, "{}'s nickname", m.username);
        }
        assert!(
            after
                .members
                .iter()
                .all(|x| x.user_id != revoked && x.user_id != banned),
            "the revoked and the banned member are not added"
        );
        assert_eq!(
            world.emu.oauth_refreshes(),
            refreshes + 1,
            "the expired token was refreshed once"
        );
        // The web's job page shows the same report.
        let (_, _, _, _, job) = crate::restore::job(&world).await;
        let web = crate::support::web::login(&world, owner).await;
        let page = web.get(&format!("/guilds/{g}/restores/{job}")).await;
        assert!(
            page.body.contains("2 joined") && page.body.contains("1 banned"),
            "{}",
            page.body
        );
        world.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pull_logged_at_debug_level_logs_no_token() {
        let capture = crate::support::logs::Capture::install(umbra::telemetry::filter("debug"));
        let world = TestWorld::builder().web().start().await;
        wait_live(&world).await;
        let chosen = linked_then_kicked(&world, 2).await;
        // One of them removed Umbra at Discord: the add is refused (a 4xx, which serenity
        // logs inside the request's span) with their token in the body.
        let links = world.data().links.clone().unwrap();
        let dead = links
            .grants()
            .get(chosen[1].user_id)
            .await
            .unwrap()
            .expect("a grant, not known dead yet");
        world.emu.deauthorize_oauth(chosen[1].user_id);
        let preview = world
            .command(world.owner_id(), "members pull", json!({}))
            .await;
        confirm(&world, world.owner_id(), &preview).await;
        let (status, ..) =
            wait_job(&world, &["completed", "failed"], Duration::from_secs(60)).await;
        assert_eq!(status, "completed");
        let grant = world
            .data()
            .links
            .as_ref()
            .unwrap()
            .grants()
            .get(chosen[0].user_id)
            .await
            .unwrap()
            .expect("a live grant");
        world.finish().await;
        let log = capture.text();
        assert!(
            log.len() > 10_000,
            "the flow was logged ({} bytes)",
            log.len()
        );
        for token in [grant.access_token.expose(), dead.access_token.expose()] {
            let as_bytes = token
                .bytes()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            assert!(
                !log.contains(token.as_str()),
                "an access token is in the log"
            );
            assert!(
                !log.contains(&as_bytes),
                "an access token is in the log, as bytes"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pull_stopped_after_an_add_was_sent_resumes_without_adding_anyone_twice() {
        let mut world = TestWorld::builder()
            .web()
            .configure(|c| {
                c.restore.lease_seconds = 2;
                c.restore.heartbeat_ms = 300;
                c.restore.poll_interval_ms = 100;
            })
            .start()
            .await;
        wait_live(&world).await;
        let g = world.guild_id();
        let chosen = linked_then_kicked(&world, 3).await;
        let preview = world
            .command(world.owner_id(), "members pull", json!({}))
            .await;
        // The second add reaches Discord; the process dies before it is recorded.
        world.data().restores.crash_at(Some(
            umbra::recovery::restore::CrashPoint::BeforeRecording(2),
        ));
        confirm(&world, world.owner_id(), &preview).await;
        world
            .eventually("the runner stops at the crash point", || async {
                world.data().restores.crashed()
            })
            .await;
        world.restart_bot().await;
        let (status, done, failed, total, _) =
            wait_job(&world, &["completed", "failed"], Duration::from_secs(60)).await;
        assert_eq!(
            (status.as_str(), done, failed, total),
            ("completed", 3, 0, 3)
        );
        let puts = world
            .emu
            .request_log()
            .into_iter()
            .filter(|r| r.method == "PUT" && r.route == "/guilds/{guild_id}/members/{user_id}")
            .count();
        assert_eq!(puts, 3, "each member added once");
        let after = world.emu.guild_view(g).expect("the guild");
        for m in &chosen {
            let back = after
                .members
                .iter()
                .find(|x| x.user_id == m.user_id)
                .expect("back");
            let (mut want, mut got) = (m.roles.clone(), back.roles.clone());
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want);
        }
        let message = preview.message.clone().expect("the preview message");
        world
            .eventually("the same report as without the crash", || async {
                world
                    .emu
                    .messages_in(message.channel_id)
                    .iter()
                    .any(|m| m.text().contains("3 joined, 0 already there"))
                    || preview
                        .handle
                        .messages()
                        .iter()
                        .any(|m| m.text().contains("3 joined, 0 already there"))
            })
            .await;
        world.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn members_of_a_server_that_moved_are_pulled_into_the_new_one_by_the_owner_of_both() {
        let world = TestWorld::builder().web().start().await;
        wait_live(&world).await;
        let old = world.guild_id();
        let chosen = linked_then_kicked(&world, 2).await;
        let names: std::collections::BTreeMap<u64, String> = world
            .emu
            .guild_view(old)
            .unwrap()
            .roles
            .iter()
            .map(|r| (r.id, r.name.clone()))
            .collect();
        // The new home: Umbra is added; the owner recreated the roles (by name).
        let owner = world.owner_id();
        let new = world.emu.create_guild(owner, "New home");
        let bot_role = world
            .emu
            .add_bot(
                new,
                world.fixture.app.application_id,
                discord_emulator::permissions::ADMINISTRATOR,
                owner,
            )
            .unwrap();
        let mut wanted_names = std::collections::BTreeSet::new();
        for m in &chosen {
            for r in &m.roles {
                wanted_names.insert(names[r].clone());
            }
        }
        let mut order = Vec::new();
        for name in &wanted_names {
            let id = world
                .emu
                .as_user(owner)
                .create_role_named(new, name, 0)
                .unwrap();
            order.push((id, i64::try_from(order.len()).unwrap() + 1));
        }
        // Umbra's role above them all.
        order.push((bot_role, i64::try_from(order.len()).unwrap() + 1));
        world
            .emu
            .as_user(owner)
            .set_role_positions(new, &order)
            .unwrap();
        world
            .eventually("the new server is mirrored", || async {
                world.data().sync.last_load(new).is_some() && world.data().sync.is_idle(new)
            })
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Run in another server than the target: refused, saying where.
        let elsewhere = world
            .command_with(
                owner,
                Some(old),
                "members pull",
                json!({"target": new.to_string()}),
                "en-US",
            )
            .await;
        assert!(
            elsewhere.text.contains("server the members go to"),
            "{}",
            elsewhere.text
        );

        let preview = world
            .command_with(
                owner,
                Some(new),
                "members pull",
                json!({"source": old.to_string()}),
                "en-US",
            )
            .await;
        assert!(
            preview.text.contains("Members to bring back: 2"),
            "{}",
            preview.text
        );
        confirm(&world, owner, &preview).await;
        world
            .eventually("the pull into the new server ends", || async {
                let status: Option<String> = sqlx::query_scalar(
                    "SELECT j.status FROM recovery.restore_jobs AS j \
                       JOIN guild.guilds AS g ON g.id = j.guild_id \
                      WHERE g.discord_guild_id = $1 ORDER BY j.created_at DESC LIMIT 1",
                )
                .bind(new as i64)
                .fetch_optional(&world.db.pool)
                .await
                .unwrap();
                status.as_deref() == Some("completed")
            })
            .await;
        let home = world.emu.guild_view(new).unwrap();
        let new_names: std::collections::BTreeMap<u64, String> =
            home.roles.iter().map(|r| (r.id, r.name.clone())).collect();
        for m in &chosen {
            let back = home
                .members
                .iter()
                .find(|x| x.user_id == m.user_id)
                .unwrap_or_else(|| panic!("{} is in the new server", m.username));
            let mut want: Vec<&String> = m.roles.iter().map(|r| &names[r]).collect();
            let mut got: Vec<&String> = back.roles.iter().map(|r| &new_names[r]).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{}'s roles, by name", m.username);
            assert_eq!(back.nick, m.nick);
        }

        // Someone who owns only the new server cannot take another server's members.
        let stranger = world.emu.create_user("stranger");
        let theirs = world.emu.create_guild(stranger, "Not yours");
        world
            .emu
            .add_bot(
                theirs,
                world.fixture.app.application_id,
                discord_emulator::permissions::ADMINISTRATOR,
                stranger,
            )
            .unwrap();
        world
            .eventually("their server is mirrored", || async {
                world.data().sync.last_load(theirs).is_some()
            })
            .await;
        let refused = world
            .command_with(
                stranger,
                Some(theirs),
                "members pull",
                json!({"source": old.to_string()}),
                "en-US",
            )
            .await;
        assert!(refused.text.contains("owner of both"), "{}", refused.text);
        world.finish().await;
    }
}

mod crash {
    //! The real `umbra` binary killed with SIGKILL in the middle of a member pull: after a
    //! restart the job resumes, nobody is added twice (the emulator's log is the judge) and the
    //! report is the one an uninterrupted pull gives.

    use std::process::Child;

    use serde_json::json;

    use super::link_over_http;
    use crate::restore::confirm;
    use crate::support::world::TestWorld;

    use crate::support::binary::eventually;

    const ADD: &str = "/guilds/{guild_id}/members/{user_id}";

    fn umbra(world: &TestWorld, dir: &std::path::Path, log: &str) -> Child {
        crate::support::binary::spawn(
            world,
            dir,
            log,
            &[
                (
                    "DISCORD_CLIENT_SECRET",
                    world.fixture.app.client_secret.clone(),
                ),
                ("UMBRA_HTTP_BIND", world.config.http.bind.to_string()),
                (
                    "UMBRA_HTTP_PUBLIC_URL",
                    world.config.http.public_url.clone(),
                ),
                (
                    "UMBRA_DISCORD_CLIENT_ID",
                    world.fixture.app.client_id.to_string(),
                ),
                (
                    "UMBRA_DISCORD_AUTHORIZE_URL",
                    world.config.discord.authorize_url.clone(),
                ),
                ("UMBRA_RESTORE_LEASE_SECONDS", "2".into()),
                ("UMBRA_RESTORE_HEARTBEAT_MS", "300".into()),
                ("UMBRA_RESTORE_POLL_INTERVAL_MS", "100".into()),
                ("UMBRA_LICENSING_DEFAULT_PLAN", "max".into()),
            ],
        )
    }

    async fn current_members(world: &TestWorld, users: &[u64]) -> i64 {
        let ids: Vec<i64> = users.iter().map(|u| *u as i64).collect();
        sqlx::query_scalar(
            "SELECT count(*) FROM member.members AS m JOIN guild.guilds AS g ON g.id = m.guild_id \
              WHERE g.discord_guild_id = $1 AND m.valid_to IS NULL \
                AND m.discord_user_id = ANY($2)",
        )
        .bind(world.guild_id() as i64)
        .bind(&ids)
        .fetch_one(&world.db.pool)
        .await
        .unwrap_or(-1)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pull_killed_with_sigkill_resumes_after_restart_without_adding_anyone_twice() {
        let world = TestWorld::builder().web().without_bot().start().await;
        let dir = tempfile::tempdir().unwrap();
        let mut first = umbra(&world, dir.path(), "umbra.log");
        let g = world.guild_id();
        let http = reqwest::Client::new();
        eventually(
            "Umbra answers and the guild is live",
            || {
                let http = http.clone();
                let url = format!("{}/healthz", world.config.http.public_url.clone());
                async move {
                    http.get(&url)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                }
            },
            dir.path(),
        )
        .await;
        let view = world.emu.guild_view(g).expect("the guild");
        // More members than Discord's member bucket takes in one window (10 per 10 s), so the
        // pull is still running when the process is killed.
        let chosen: Vec<_> = view
            .members
            .iter()
            .filter(|m| world.fixture.member_ids.contains(&m.user_id))
            .take(14)
            .cloned()
            .collect();
        assert_eq!(chosen.len(), 14);
        let users: Vec<u64> = chosen.iter().map(|m| m.user_id).collect();
        eventually(
            "the mirror has the members",
            || async { current_members(&world, &users).await == 14 },
            dir.path(),
        )
        .await;
        for m in &chosen {
            link_over_http(&world, m.user_id).await;
        }
        let made = world
            .command(
                world.owner_id(),
                "backup create",
                json!({ "label": "before" }),
            )
            .await;
        assert!(made.text.contains("before"), "{}", made.text);
        for m in &chosen {
            world
                .emu
                .as_user(world.owner_id())
                .kick(g, m.user_id)
                .unwrap();
        }
        eventually(
            "the mirror sees them gone",
            || async { current_members(&world, &users).await == 0 },
            dir.path(),
        )
        .await;
        let preview = world
            .command(world.owner_id(), "members pull", json!({}))
            .await;
        assert!(
            preview.text.contains("Members to bring back: 14"),
            "{}",
            preview.text
        );
        confirm(&world, world.owner_id(), &preview).await;
        // The tenth add reaches Discord: SIGKILL.
        let adds = || {
            world
                .emu
                .request_log()
                .into_iter()
                .filter(|r| r.method == "PUT" && r.route == ADD && r.status != 429)
                .count()
        };
        eventually("ten adds went out", || async { adds() >= 10 }, dir.path()).await;
        first.kill().unwrap();
        first.wait().unwrap();
        assert!(adds() < 14, "killed mid-pull");

        let mut second = umbra(&world, dir.path(), "umbra-2.log");
        let message = preview.message.clone().expect("the preview message");
        eventually(
            "the pull finishes after the restart",
            || async {
                preview
                    .handle
                    .messages()
                    .iter()
                    .chain(world.emu.messages_in(message.channel_id).iter())
                    .any(|m| m.text().contains("14 joined, 0 already there"))
            },
            dir.path(),
        )
        .await;
        let mut per_user = std::collections::BTreeMap::new();
        for r in world
            .emu
            .request_log()
            .into_iter()
            .filter(|r| r.method == "PUT" && r.route == ADD && r.status != 429)
        {
            *per_user.entry(r.path.clone()).or_insert(0) += 1;
        }
        assert_eq!(per_user.len(), 14);
        assert!(
            per_user.values().all(|n| *n == 1),
            "nobody added twice: {per_user:?}"
        );
        let after = world.emu.guild_view(g).expect("the guild");
        for m in &chosen {
            let back = after
                .members
                .iter()
                .find(|x| x.user_id == m.user_id)
                .expect("back");
            let (mut want, mut got) = (m.roles.clone(), back.roles.clone());
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want);
            assert_eq!(back.nick, m.nick);
        }
        second.kill().unwrap();
        second.wait().unwrap();
    }
}
