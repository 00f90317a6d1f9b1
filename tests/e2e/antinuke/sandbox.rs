//! Purpose: `umbra sandbox` end to end — the real binary, its own emulator and embedded
//! PostgreSQL, the whole drill, the localized timeline and the JSON last line.

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_drill_restores_the_demo_server_and_reports_json_last() {
    // An installation's settings are in the environment: the sandbox must use none of them
    // (its own temporary database; the installation's data_dir stays untouched).
    let installation = tempfile::tempdir().expect("a directory");
    let output = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_umbra"))
            .args(["sandbox", "--json", "--locale", "ko"])
            .env("UMBRA_DATA_DIR", installation.path())
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/installation")
            .env(
                "UMBRA_DATABASE_URL",
                "postgres://nobody@127.0.0.1:1/installation",
            )
            .env_remove("RUST_LOG")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the sandbox finishes within 5 minutes")
    .expect("the sandbox runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert_eq!(
        std::fs::read_dir(installation.path())
            .map(|d| d.count())
            .unwrap_or(usize::MAX),
        0,
        "the installation's data_dir is untouched"
    );
    let last = stdout.lines().last().expect("some output");
    let report: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the last line is not JSON ({e}): {last}"));
    assert_eq!(report["restored_equal"], true, "{stdout}");
    let destroyed = report["destroyed"].as_u64().expect("destroyed");
    assert!((3..=5).contains(&destroyed), "{stdout}");
    let detect = report["detect_ms"].as_f64().expect("detect_ms");
    assert!(detect > 0.0 && detect < 1000.0, "{stdout}");
    assert!(report["restore_s"].as_f64().expect("restore_s") > 0.0);
    // The timeline is in Korean, with timings, and narrates every step.
    for step in ["샌드박스", "스냅샷", "감지", "파괴된 것 복구", "최종 비교"] {
        assert!(stdout.contains(step), "no `{step}` in:\n{stdout}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with('[') && l.contains(" s] ")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_drill_the_sandbox_dashboard_logs_the_demo_owner_in_until_stopped() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_umbra"))
        .args(["sandbox", "--locale", "en-US"])
        .env_remove("UMBRA_DATA_DIR")
        .env_remove("DATABASE_URL")
        .env_remove("UMBRA_DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the sandbox starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let link = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(line) = lines.next_line().await.expect("reading stdout") {
            seen.push(line.clone());
            if let Some(at) = line.find("http://127.0.0.1:") {
                let link: String = line[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                return Some(link);
            }
        }
        None
    })
    .await
    .expect("the dashboard link within 5 minutes")
    .unwrap_or_else(|| panic!("no dashboard link in:\n{}", seen.join("\n")));
    assert!(link.ends_with("/auth/login"), "{link}");
    let base = link.trim_end_matches("/auth/login");
    let web = crate::support::web::WebClient::new(base);
    let start = web.get("/auth/login").await;
    assert_eq!(start.status, 303, "{}", start.body);
    let consent = web.get(&start.location.expect("to Discord")).await;
    assert_eq!(consent.status, 302, "the emulator approves as the owner");
    let done = web.get(&consent.location.expect("back to Umbra")).await;
    assert_eq!(done.location.as_deref(), Some("/guilds"), "{}", done.body);
    let guilds = web.get("/guilds").await;
    assert!(guilds.body.contains("Umbra Sandbox"), "{}", guilds.body);
    let at = guilds.body.find("href=\"/guilds/").expect("a guild link") + 6;
    let path: String = guilds.body[at..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let tm = web.get(&format!("{path}/timemachine")).await;
    assert_eq!(tm.status, 200, "{}", tm.body);
    let snapshots = web.get(&format!("{path}/snapshots")).await;
    assert!(
        snapshots.body.contains("data-id="),
        "the drill's snapshot is listed"
    );

    let pid = nix::unistd::Pid::from_raw(child.id().expect("running") as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the sandbox stops within a minute")
        .expect("its status");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_with_billing_subscribes_the_demo_server_on_a_local_toss() {
    let output = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_umbra"))
            .args(["sandbox", "--json", "--billing", "--locale", "en-US"])
            .env_remove("UMBRA_DATA_DIR")
            .env_remove("DATABASE_URL")
            .env_remove("UMBRA_DATABASE_URL")
            .env_remove("RUST_LOG")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the sandbox finishes within 5 minutes")
    .expect("the sandbox runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("subscribed the server to Pro — ₩4900 charged once"),
        "{stdout}"
    );
    let last = stdout.lines().last().expect("some output");
    let report: serde_json::Value = serde_json::from_str(last).expect("JSON last");
    assert_eq!(report["restored_equal"], true, "{stdout}");
}
