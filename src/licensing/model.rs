//! Purpose: plans, licenses and entitlements, without I/O.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::UserError;
use crate::i18n::{Msg, msg};

/// The longest grant an operator can give in one command (10 years).
pub const MAX_GRANT_DAYS: i64 = 3650;

/// A plan's stable code (`free`, `pro`, `max`), parsed from input.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlanCode(String);

impl PlanCode {
    pub const FREE: &'static str = "free";

    pub fn parse(input: &str) -> Result<Self, UserError> {
        let code = input.trim().to_ascii_lowercase();
        let valid = code.len() <= 32
            && code.starts_with(|c: char| c.is_ascii_lowercase())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid {
            Ok(Self(code))
        } else {
            Err(UserError::new(msg::ERROR_UNKNOWN_PLAN).with("plan", input.trim()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which AntiNuke features a plan includes.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
pub struct AntinukeFeatures {
    #[serde(default)]
    pub detection: bool,
    #[serde(default)]
    pub punishments: Vec<String>,
    #[serde(default)]
    pub lockdown: bool,
    #[serde(default)]
    pub auto_revert: bool,
    #[serde(default)]
    pub custom_thresholds: bool,
}

/// A sellable plan and its limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub price_krw: i64,
    pub billing_period_days: Option<i32>,
    pub snapshot_retention: u32,
    pub min_snapshot_interval_minutes: u32,
    pub antinuke: AntinukeFeatures,
    /// `None`: unlimited.
    pub member_restore_limit: Option<u32>,
    /// Most channels whose last messages snapshots keep (`/backup messages`); 0: not included.
    pub message_channels: u32,
    /// Most messages kept per channel and snapshot.
    pub messages_per_channel: u32,
}

impl Plan {
    /// The plan's name as `locale` reads it.
    pub fn display_name(&self, i18n: &crate::i18n::I18n, locale: crate::i18n::Locale) -> String {
        match self.name_msg() {
            Some(m) => i18n.text(locale, &m, &[]),
            None => self.name.clone(),
        }
    }

    /// The localized display name's message (unknown codes show the stored name).
    pub fn name_msg(&self) -> Option<Msg> {
        match self.code.as_str() {
            "free" => Some(msg::PLAN_NAME_FREE),
            "pro" => Some(msg::PLAN_NAME_PRO),
            "max" => Some(msg::PLAN_NAME_MAX),
            _ => None,
        }
    }
}

/// A guild's active license.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseInfo {
    pub id: Uuid,
    pub source: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub granted_by_discord_id: Option<u64>,
}

/// What a guild may use now.
#[derive(Debug, Clone, PartialEq)]
pub struct Entitlements {
    pub plan: Plan,
    /// `None`: no active license (the default plan).
    pub license: Option<LicenseInfo>,
    /// After a license ended: the snapshot count it allowed, kept until this moment (the
    /// downgrade grace: extra snapshots are not deleted the minute a plan lapses).
    pub retention_grace: Option<(u32, chrono::DateTime<chrono::Utc>)>,
}

impl Entitlements {
    /// Whether a punishment kind is included in the plan.
    pub fn allows_punishment(&self, punishment: &str) -> bool {
        self.plan
            .antinuke
            .punishments
            .iter()
            .any(|p| p == punishment)
    }

    /// How many unpinned snapshots are kept now: the plan's, or during the grace after a better
    /// plan ended, that plan's.
    pub fn snapshot_keep(&self, now: chrono::DateTime<chrono::Utc>) -> u32 {
        match self.retention_grace {
            Some((keep, until)) if until > now => keep.max(self.plan.snapshot_retention),
            _ => self.plan.snapshot_retention,
        }
    }

    /// The scheduled-snapshot interval to use: the requested one, never below the plan's minimum.
    pub fn clamp_interval(&self, requested_minutes: u32) -> u32 {
        requested_minutes.max(self.plan.min_snapshot_interval_minutes)
    }
}

/// Checks a grant's length in days.
pub fn validate_days(days: i64) -> Result<i64, UserError> {
    if (1..=MAX_GRANT_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(UserError::new(msg::ERROR_INVALID_DAYS).with("max", MAX_GRANT_DAYS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(min_interval: u32) -> Plan {
        Plan {
            id: Uuid::nil(),
            code: "pro".into(),
            name: "Pro".into(),
            price_krw: 4900,
            billing_period_days: Some(30),
            snapshot_retention: 20,
            min_snapshot_interval_minutes: min_interval,
            antinuke: AntinukeFeatures {
                punishments: vec!["strip_roles".into(), "ban".into()],
                ..Default::default()
            },
            member_restore_limit: Some(1000),
            message_channels: 10,
            messages_per_channel: 250,
        }
    }

    #[test]
    fn plan_codes_are_lowercased_and_validated() {
        assert_eq!(
            PlanCode::parse(" Pro ").map(|c| c.as_str().to_owned()).ok(),
            Some("pro".into())
        );
        assert!(PlanCode::parse("pro plan").is_err());
        assert!(PlanCode::parse("1pro").is_err());
        assert!(PlanCode::parse("").is_err());
    }

    #[test]
    fn a_requested_interval_below_the_plan_minimum_is_raised_to_it() {
        let e = Entitlements {
            plan: plan(360),
            license: None,
            retention_grace: None,
        };
        assert_eq!(e.clamp_interval(60), 360);
        assert_eq!(e.clamp_interval(720), 720);
    }

    #[test]
    fn only_the_plan_punishments_are_allowed() {
        let e = Entitlements {
            plan: plan(60),
            license: None,
            retention_grace: None,
        };
        assert!(e.allows_punishment("ban"));
        assert!(!e.allows_punishment("kick"));
    }

    #[test]
    fn grant_days_must_be_between_one_and_ten_years() {
        assert!(validate_days(0).is_err());
        assert!(validate_days(-3).is_err());
        assert!(validate_days(3651).is_err());
        assert_eq!(validate_days(30).ok(), Some(30));
    }

    #[test]
    fn a_lapsed_plan_keeps_its_snapshot_count_until_the_grace_ends() {
        let now = chrono::Utc::now();
        let mut e = Entitlements {
            plan: plan(60),
            license: None,
            retention_grace: Some((100, now + chrono::Duration::days(1))),
        };
        assert_eq!(e.snapshot_keep(now), 100);
        e.retention_grace = Some((100, now - chrono::Duration::days(1)));
        assert_eq!(
            e.snapshot_keep(now),
            20,
            "the plan's own count after the grace"
        );
        e.retention_grace = None;
        assert_eq!(e.snapshot_keep(now), 20);
    }
}
