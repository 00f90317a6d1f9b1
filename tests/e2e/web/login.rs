//! Purpose: logging in and out — the OAuth2 flow records the user and stores only a hash of
//! the session token in a cookie with the right flags; a forged or replayed state, a denied
//! consent and a spent code show a page and create nothing; logout and "log out everywhere"
//! end sessions; an expired session is sent to the login page; without a client secret the
//! pages say login is not configured.

use sha2::Digest;

use super::{builder, sessions};
use crate::support::web::{WebClient, login, start_login};
use crate::support::world::TestWorld;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_records_the_user_and_stores_only_a_hash_of_the_session_token() {
    let world = builder().start().await;
    let (client, callback) = start_login(&world, world.owner_id()).await;
    let oauth = client
        .cookie("umbra_oauth")
        .expect("the sealed login cookie");
    assert!(!oauth.contains("state"), "the login cookie is sealed");
    let done = client.get(&callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let cookie = done
        .set_cookies
        .iter()
        .find(|c| c.starts_with("umbra_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );
    assert!(cookie.contains("Max-Age=1209600"), "14 days: {cookie}");
    assert!(
        client.cookie("umbra_oauth").is_none(),
        "the login cookie is spent"
    );

    let token = client.cookie("umbra_session").unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM identity.sessions")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, sha2::Sha256::digest(token.as_bytes()).to_vec());
    let (username, locale): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT username, locale FROM identity.users WHERE discord_user_id = $1")
            .bind(world.owner_id() as i64)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert!(username.is_some(), "the user's profile is recorded");
    let _ = locale;

    let guilds = client.get("/guilds").await;
    assert_eq!(guilds.status, 200);
    let name = world
        .emu
        .guild_view(world.guild_id())
        .expect("guild")
        .settings
        .name;
    assert!(guilds.body.contains(&name), "{}", guilds.body);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_replayed_state_a_denied_consent_or_a_spent_code_creates_nothing() {
    let world = builder().start().await;
    // A forged state: the callback's state is not the one sealed in the browser's cookie.
    let (client, callback) = start_login(&world, world.owner_id()).await;
    let forged = regex_replace_state(&callback, "forged-state-forged-state-forged-state-00");
    let answer = client.get(&forged).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("does not match"), "{}", answer.body);
    assert!(client.cookie("umbra_session").is_none());
    assert_eq!(sessions(&world).await, 0);
    // The attempt is spent: the genuine callback no longer works either.
    let late = client.get(&callback).await;
    assert_eq!(late.status, 400);
    assert!(
        late.body.contains("expired or was already used"),
        "{}",
        late.body
    );
    assert_eq!(sessions(&world).await, 0);

    // A callback without any login attempt (another browser): nothing.
    let stranger = WebClient::new(&world.web_base());
    let (_, other) = start_login(&world, world.owner_id()).await;
    assert_eq!(stranger.get(&other).await.status, 400);
    assert_eq!(sessions(&world).await, 0);

    // A denied consent.
    let (client, callback) = start_login(&world, world.owner_id()).await;
    let state = callback.split("state=").nth(1).unwrap().to_owned();
    let denied = client
        .get(&format!("/auth/callback?error=access_denied&state={state}"))
        .await;
    assert_eq!(denied.status, 400);
    assert!(denied.body.contains("did not allow"), "{}", denied.body);
    assert_eq!(sessions(&world).await, 0);

    // A replayed callback: the code is spent even with the old cookie put back.
    let (client, callback) = start_login(&world, world.owner_id()).await;
    let sealed = client.cookie("umbra_oauth").unwrap();
    assert_eq!(client.get(&callback).await.status, 303);
    assert_eq!(sessions(&world).await, 1);
    let replay = WebClient::new(&world.web_base());
    replay.set_cookie("umbra_oauth", &sealed);
    let answer = replay.get(&callback).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.contains("Discord refused"), "{}", answer.body);
    assert_eq!(sessions(&world).await, 1, "no second session");
    world.finish().await;
}

fn regex_replace_state(url: &str, state: &str) -> String {
    let (head, _) = url.split_once("state=").expect("a state");
    format!("{head}state={state}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_logout_everywhere_and_expiry_end_sessions() {
    let world = builder().start().await;
    let a = login(&world, world.owner_id()).await;
    let b = login(&world, world.owner_id()).await;
    let c = login(&world, world.owner_id()).await;
    assert_eq!(sessions(&world).await, 3);

    // A logout without the page's CSRF token does nothing.
    let refused = a.post("/auth/logout", &[("csrf", "wrong")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(a.get("/guilds").await.status, 200);

    let page = a.get("/guilds").await;
    let out = a.post("/auth/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    assert_eq!(a.get("/guilds").await.location.as_deref(), Some("/login"));
    assert_eq!(b.get("/guilds").await.status, 200, "other sessions live on");

    // An expired session is a logged-out one.
    sqlx::query(
        "UPDATE identity.sessions SET created_at = now() - interval '30 days', \
                expires_at = now() - interval '1 day' WHERE token_hash = $1",
    )
    .bind(sha2::Sha256::digest(c.cookie("umbra_session").unwrap().as_bytes()).to_vec())
    .execute(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(c.get("/guilds").await.location.as_deref(), Some("/login"));
    // A deep link comes back after the login.
    assert_eq!(
        c.get(&format!("/guilds/{}", world.guild_id()))
            .await
            .location,
        Some(format!("/login?next=/guilds/{}", world.guild_id()))
    );

    let page = b.get("/guilds").await;
    let all = b.post("/auth/logout-all", &[("csrf", &page.csrf())]).await;
    assert_eq!(all.location.as_deref(), Some("/login"));
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM identity.sessions WHERE revoked_at IS NULL AND expires_at > now()",
    )
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(live, 0, "every session ended");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_client_secret_the_bot_runs_and_the_pages_say_login_is_not_configured() {
    let world = TestWorld::start().await;
    let client = WebClient::new(&world.web_base());
    let page = client.get("/login").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Login is not configured"),
        "{}",
        page.body
    );
    let korean = reqwest::Client::new()
        .get(format!("{}/login", world.web_base()))
        .header("Accept-Language", "ko-KR,ko;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(korean.contains("lang=\"ko\""), "{korean}");
    assert!(
        korean.contains("로그인이 설정되어 있지 않습니다"),
        "{korean}"
    );
    let start = client.get("/auth/login").await;
    assert_eq!(start.status, 503);
    assert_eq!(
        client.get("/guilds").await.location.as_deref(),
        Some("/login")
    );
    let csp = reqwest::get(format!("{}/login", world.web_base()))
        .await
        .unwrap()
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    world.finish().await;
}
