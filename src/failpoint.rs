//! Purpose: named crash points for the real-binary crash tests (issue 17). Built with the cargo
//! feature `failpoints` (test builds only: `scripts/test` enables it), the environment variable
//! `UMBRA_TEST_FAILPOINT=<point>[@<n>]` makes the process abort — no clean-up of any kind, as a
//! SIGKILL — the n-th time (the first by default) the point is reached. A point is `where` or
//! `where.detail` (e.g. `outbox.delivered.notification`). Without the feature, [`hit`] does
//! nothing and compiles away.

/// A crash point: `place`, and `detail` when it names which one (a consumer; empty: none).
#[cfg(feature = "failpoints")]
pub fn hit(place: &str, detail: &str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static WANTED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static REACHED: AtomicU64 = AtomicU64::new(0);
    let wanted = WANTED.get_or_init(|| {
        let v = std::env::var("UMBRA_TEST_FAILPOINT").ok()?;
        let (name, n) = match v.split_once('@') {
            Some((name, n)) => (name.to_owned(), n.parse().unwrap_or(1)),
            None => (v, 1),
        };
        Some((name, n))
    });
    let Some((name, n)) = wanted else {
        return;
    };
    let matches = if detail.is_empty() {
        name == place
    } else {
        name.strip_prefix(place)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|rest| rest == detail)
    };
    if matches && REACHED.fetch_add(1, Ordering::SeqCst) + 1 == *n {
        // Straight to stderr: the process aborts next, before a tracing writer could flush.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("failpoint {name}: aborting the process");
        }
        std::process::abort();
    }
}

/// A crash point (the feature `failpoints` is off: nothing).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_place: &str, _detail: &str) {}
