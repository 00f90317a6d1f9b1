//! Purpose: Discord snowflakes at the edges — stored as BIGINT, parsed from user input with a
//! clear error instead of a panic.

use crate::error::UserError;
use crate::i18n::msg;

/// A snowflake as PostgreSQL stores it (snowflakes stay far below 2^63).
pub fn to_db(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// A stored snowflake back to Discord's form (negative values never occur; 0 if they did).
pub fn from_db(id: i64) -> u64 {
    u64::try_from(id).unwrap_or(0)
}

/// A snowflake typed by a person (`123`, `<@123>`, `<#123>`, `<@&123>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Snowflake(pub u64);

impl Snowflake {
    pub fn parse(input: &str) -> Result<Self, UserError> {
        let trimmed = input
            .trim()
            .trim_start_matches("<@&")
            .trim_start_matches("<@!")
            .trim_start_matches("<@")
            .trim_start_matches("<#")
            .trim_end_matches('>');
        match trimmed.parse::<u64>() {
            Ok(id) if id > 0 && id < (1 << 63) => Ok(Snowflake(id)),
            _ => Err(UserError::new(msg::ERROR_BAD_ARGUMENT)
                .with("details", format!("`{}` is not a Discord id", input.trim()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_id_and_mentions_parse_to_the_same_snowflake() {
        for input in [
            "80351110224678912",
            "<@80351110224678912>",
            "<#80351110224678912>",
            " <@&80351110224678912> ",
        ] {
            assert_eq!(
                Snowflake::parse(input).map(|s| s.0).ok(),
                Some(80351110224678912)
            );
        }
    }

    #[test]
    fn garbage_zero_and_overflow_are_refused_not_panicked_on() {
        for input in ["", "abc", "0", "-5", "99999999999999999999999", "<@>"] {
            assert!(Snowflake::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn a_stored_snowflake_round_trips() {
        assert_eq!(from_db(to_db(1_234_567_890_123)), 1_234_567_890_123);
    }
}
