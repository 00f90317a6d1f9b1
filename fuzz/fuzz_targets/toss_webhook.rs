//! Purpose: a Toss webhook delivery's body (and its signature header) as anyone on the
//! internet can send it — read, keyed, and its payment claim taken apart without a panic; a
//! signature only verifies with the key it was made with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use umbra::webhook::{TossDelivery, payment_claim, read_toss_delivery, toss_dedupe_key};

fuzz_target!(|data: &[u8]| {
    // The first line is the signature header (when it is valid UTF-8), the rest the body.
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let key = umbra::config::Secret::new("test_sk_fuzz".to_owned());
    let read = read_toss_delivery(body, header, |s| {
        umbra::billing::toss::signature_matches(&key, body, "2026-01-01T00:00:00+09:00", s)
    });
    if let TossDelivery::Payment(payload) = read {
        assert!(toss_dedupe_key(&payload).is_some(), "a payment has a dedupe key");
        let _ = payment_claim(&payload);
    }
});
