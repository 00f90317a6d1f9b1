//! Purpose: a button's custom id — anyone who sees a message can send any id in an
//! interaction — parsed by every family of Umbra's buttons without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = std::str::from_utf8(data) {
        let _ = umbra::commands::parse_component_id(id);
        // Without the prefix too: each family's own parser on any rest.
        for prefix in ["umbra:help:", "umbra:antinuke:", "umbra:notify:", "umbra:guard:", "umbra:rst:"] {
            let _ = umbra::commands::parse_component_id(&format!("{prefix}{id}"));
        }
    }
});
