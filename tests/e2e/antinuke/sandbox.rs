//! Purpose: `umbra sandbox` end to end — the real binary, its own emulator and embedded
//! PostgreSQL, the whole drill, the localized timeline and the JSON last line.

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_drill_restores_the_demo_server_and_reports_json_last() {
    let output = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_umbra"))
            .args(["sandbox", "--json", "--locale", "ko"])
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
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
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
