//! Purpose: a test's log output captured in memory (the whole process's, at a chosen filter),
//! to search it for secrets. One per test process (nextest runs each test in its own).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The captured output.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Installs the process's subscriber with `filter`, writing here.
    pub fn install(filter: tracing_subscriber::EnvFilter) -> Self {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init()
            .expect("this test's process has no subscriber yet (nextest: one process per test)");
        capture
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}
