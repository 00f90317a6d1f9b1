//! Purpose: an external database that goes away for good — the real `umbra` binary, connected
//! through a socket this test controls, exits with a non-zero status after
//! `database.give_up_seconds` and a message naming the key (a supervisor then restarts it),
//! instead of staying half alive.

use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};

use crate::support::world::TestWorld;

/// Forwards PostgreSQL's unix socket from `dir` to `real` (the test server's socket file)
/// until aborted (then every connection through it is cut).
pub(super) fn proxy(
    dir: &std::path::Path,
    real: std::path::PathBuf,
) -> tokio::task::JoinHandle<()> {
    let _ = std::fs::remove_file(dir.join(".s.PGSQL.5432"));
    let listener = UnixListener::bind(dir.join(".s.PGSQL.5432")).expect("the proxy's socket");
    tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            let real = real.clone();
            conns.spawn(async move {
                if let Ok(mut server) = UnixStream::connect(real).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    })
}

/// The world's database URL with its socket directory replaced by `dir` (where [`proxy`]
/// listens), and the real server's socket.
pub(super) fn through(world: &TestWorld, dir: &std::path::Path) -> (String, std::path::PathBuf) {
    // The URL names the socket directory as its host, percent-encoded.
    let url = world.db.direct_url.clone();
    let encoded_host = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(host, _)| host.to_owned())
        .unwrap_or_else(|| panic!("the test server listens on a unix socket: {url}"));
    let decode = |s: &str| -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let real = std::path::Path::new(&decode(&encoded_host)).join(".s.PGSQL.5432");
    let through = url.replacen(&encoded_host, &encode(&dir.display().to_string()), 1);

    (through, real)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_database_that_never_comes_back_makes_umbra_exit_non_zero_naming_the_key() {
    let world = TestWorld::builder().without_bot().start().await;
    let sockets = tempfile::tempdir().unwrap();
    let (through, real) = through(&world, sockets.path());
    let forward = proxy(sockets.path(), real);

    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::support::binary::spawn(
        &world,
        dir.path(),
        "umbra.log",
        &[
            ("DATABASE_URL", through.clone()),
            ("UMBRA_DATABASE_GIVE_UP_SECONDS", "3".into()),
        ],
    );
    let read_log = || std::fs::read_to_string(dir.path().join("umbra.log")).unwrap_or_default();

    // Up: the guild is recorded through the proxy.
    let guild = world.guild_id();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let recorded: i64 =
            sqlx::query_scalar("SELECT count(*) FROM guild.guilds WHERE discord_guild_id = $1")
                .bind(guild as i64)
                .fetch_one(&world.db.pool)
                .await
                .unwrap_or(0);
        if recorded == 1 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "Umbra exited early:\n{}",
            read_log()
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "Umbra did not come up:\n{}",
            read_log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The database goes away for good (connections cut, the socket gone).
    forward.abort();
    let _ = forward.await;
    std::fs::remove_file(sockets.path().join(".s.PGSQL.5432")).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("Umbra stayed half alive:\n{}", read_log());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = read_log();
    assert!(!status.success(), "a non-zero exit: {status:?}\n{text}");
    assert!(text.contains("database.give_up_seconds"), "{text}");
}
