//! Purpose: Discord snowflake ids (timestamp << 22 | counter), monotonic per emulator.

use chrono::{DateTime, TimeZone, Utc};

/// Milliseconds since the Unix epoch of Discord's epoch (2015-01-01T00:00:00Z).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Generates strictly increasing snowflakes whose timestamp part is the wall clock.
#[derive(Debug, Default)]
pub struct SnowflakeGen {
    last: u64,
}

impl SnowflakeGen {
    /// The next id; never equal to or below a previous one.
    pub fn next_id(&mut self) -> u64 {
        let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(DISCORD_EPOCH_MS);
        let candidate = now_ms.saturating_sub(DISCORD_EPOCH_MS) << 22;
        let id = candidate.max(self.last + 1);
        self.last = id;
        id
    }
}

/// The creation time encoded in a snowflake.
pub fn timestamp_of(id: u64) -> DateTime<Utc> {
    let ms = (id >> 22) + DISCORD_EPOCH_MS;
    Utc.timestamp_millis_opt(i64::try_from(ms).unwrap_or(0))
        .single()
        .unwrap_or_else(Utc::now)
}

/// Parses a snowflake given as a decimal string (what Discord puts in JSON and paths).
pub fn parse(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strictly_increasing_and_carry_their_creation_time() {
        let mut g = SnowflakeGen::default();
        let a = g.next_id();
        let b = g.next_id();
        assert!(b > a);
        let age = Utc::now() - timestamp_of(b);
        assert!(age.num_seconds().abs() < 5);
    }

    #[test]
    fn parse_rejects_non_numeric_ids() {
        assert_eq!(parse("123"), Some(123));
        assert_eq!(parse("12a"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("-1"), None);
    }
}
