//! Purpose: the configuration loader on any file text and any `UMBRA_*` environment — an error
//! that names the key, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Lines after a `---` line are `NAME=value` environment variables.
    let (file, env) = text.split_once("\n---\n").unwrap_or((text, ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let _ = umbra::config::Config::from_toml(file, &env);
});
