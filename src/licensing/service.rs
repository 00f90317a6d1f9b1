//! Purpose: licensing use cases — entitlements, operator grants and revocations, expiry — each
//! change committed with its outbox event.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::model::{Entitlements, LicenseInfo, Plan, PlanCode};
use super::persistence;
use super::ports::{LicensingError, LicensingReader, PlanReader};
use crate::guild::GuildReader;
use crate::ids::to_db;
use crate::outbox::{self, NewEvent, event_types};

#[derive(Clone)]
pub struct LicensingService {
    db: DatabaseConnection,
    guilds: Arc<dyn GuildReader>,
    /// The plan code of guilds without a license; `None`: the top plan on sale.
    default_plan: Option<String>,
    /// Days an ended license's snapshot retention still applies.
    downgrade_grace_days: u32,
}

/// A license as `/admin license show` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseView {
    pub plan: Plan,
    pub license: LicenseInfo,
}

impl LicensingService {
    /// `default_plan`: `licensing.default_plan` (empty: the top plan on sale).
    pub fn new(db: DatabaseConnection, guilds: Arc<dyn GuildReader>, default_plan: &str) -> Self {
        let default_plan =
            (!default_plan.trim().is_empty()).then(|| default_plan.trim().to_owned());
        Self {
            db,
            guilds,
            default_plan,
            downgrade_grace_days: 14,
        }
    }

    /// Days an ended license's snapshot retention still applies (`licensing.downgrade_grace_days`).
    pub fn with_downgrade_grace(mut self, days: u32) -> Self {
        self.downgrade_grace_days = days;
        self
    }

    /// The plan of guilds without a license (`licensing.default_plan`, else the top plan).
    pub async fn default_plan(&self) -> Result<Plan, LicensingError> {
        match &self.default_plan {
            Some(code) => persistence::plan_by_code(&self.db, code)
                .await?
                .ok_or_else(|| LicensingError::UnknownPlan(code.clone())),
            None => persistence::plans(&self.db)
                .await?
                .into_iter()
                .last()
                .ok_or(LicensingError::NoFreePlan),
        }
    }

    async fn guild_row(&self, guild: u64) -> Result<crate::guild::GuildRecord, LicensingError> {
        self.guilds
            .guild(guild)
            .await?
            .ok_or(LicensingError::UnknownGuild(guild))
    }

    /// Gives `guild` the plan `code` for `days` (None: without end), replacing any active
    /// license. Publishes `licensing.license_granted`.
    pub async fn grant(
        &self,
        guild: u64,
        code: &PlanCode,
        days: Option<i64>,
        operator: u64,
    ) -> Result<LicenseView, LicensingError> {
        let record = self.guild_row(guild).await?;
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let plan = persistence::plan_by_code(&txn, code.as_str())
            .await?
            .ok_or_else(|| LicensingError::UnknownPlan(code.as_str().to_owned()))?;
        let replaced =
            persistence::revoke_active(&txn, record.id, "replaced by a new grant").await?;
        self.warn_retention(&txn, &record, &replaced, &plan).await?;
        let ends_at = days.map(|d| Utc::now() + Duration::days(d));
        persistence::insert_grant(&txn, record.id, plan.id, ends_at, operator).await?;
        outbox::append(
            &txn,
            NewEvent::new(
                event_types::LICENSE_GRANTED,
                "guild",
                guild.to_string(),
                json!({
                    "plan": plan.code,
                    "ends_at": ends_at,
                    "owner_discord_id": record.owner_discord_id.to_string(),
                    "guild_name": record.name,
                    "actor_discord_id": operator.to_string(),
                }),
            )
            .in_guild(to_db(guild)),
        )
        .await?;
        let (license, plan) = persistence::active_license(&txn, record.id)
            .await?
            .ok_or(LicensingError::NoLicense)?;
        txn.commit().await?;
        Ok(LicenseView { plan, license })
    }

    /// Ends the guild's active license (back to free). Publishes `licensing.license_revoked`.
    pub async fn revoke(&self, guild: u64, operator: u64) -> Result<String, LicensingError> {
        let record = self.guild_row(guild).await?;
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let revoked = persistence::revoke_active(&txn, record.id, "revoked by an operator").await?;
        let Some(code) = revoked.first().cloned() else {
            return Err(LicensingError::NoLicense);
        };
        let now_plan = self.default_plan().await?;
        self.warn_retention(&txn, &record, &revoked, &now_plan)
            .await?;
        outbox::append(
            &txn,
            NewEvent::new(
                event_types::LICENSE_REVOKED,
                "guild",
                guild.to_string(),
                json!({
                    "plan": code,
                    "owner_discord_id": record.owner_discord_id.to_string(),
                    "guild_name": record.name,
                    "actor_discord_id": operator.to_string(),
                }),
            )
            .in_guild(to_db(guild)),
        )
        .await?;
        txn.commit().await?;
        Ok(code)
    }

    /// A paid subscription's period: the guild's license of `plan_code` runs until `until`
    /// (extended, never shortened; another license is replaced). A guild Umbra no longer knows
    /// is skipped.
    pub async fn subscription_paid(
        &self,
        guild: u64,
        plan_code: &str,
        until: DateTime<Utc>,
    ) -> Result<(), LicensingError> {
        let Some(record) = self.guilds.guild(guild).await? else {
            return Ok(());
        };
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let plan = persistence::plan_by_code(&txn, plan_code)
            .await?
            .ok_or_else(|| LicensingError::UnknownPlan(plan_code.to_owned()))?;
        let replaced = persistence::apply_subscription(&txn, record.id, plan.id, until).await?;
        self.warn_retention(&txn, &record, &replaced, &plan).await?;
        txn.commit().await?;
        Ok(())
    }

    /// A subscription ended: the license it gave ends now.
    pub async fn subscription_ended(&self, guild: u64, reason: &str) -> Result<(), LicensingError> {
        let Some(record) = self.guilds.guild(guild).await? else {
            return Ok(());
        };
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let ended = persistence::end_subscription(&txn, record.id, reason).await?;
        let now_plan = self.default_plan().await?;
        self.warn_retention(&txn, &record, &ended, &now_plan)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// When licenses of `ended` plans give way to `now_plan` and it keeps fewer snapshots, tells
    /// the owner (`licensing.retention_reduced`) that the extra ones are kept until the grace
    /// (`licensing.downgrade_grace_days`) ends — the date the entitlements use — and pinned ones
    /// for ever. Nothing is deleted before that date.
    async fn warn_retention(
        &self,
        txn: &crate::db::Tx,
        record: &crate::guild::GuildRecord,
        ended: &[String],
        now_plan: &Plan,
    ) -> Result<(), LicensingError> {
        let mut kept = 0;
        let mut from = None;
        for code in ended {
            if let Some(p) = persistence::plan_by_code(txn, code).await?
                && p.snapshot_retention > kept
            {
                kept = p.snapshot_retention;
                from = Some(p.code);
            }
        }
        let Some(from) = from.filter(|_| kept > now_plan.snapshot_retention) else {
            return Ok(());
        };
        let until = Utc::now() + Duration::days(i64::from(self.downgrade_grace_days));
        outbox::append(
            txn,
            NewEvent::new(
                event_types::RETENTION_REDUCED,
                "guild",
                record.discord_id.to_string(),
                json!({
                    "plan": from,
                    "new_plan": now_plan.code,
                    "kept": kept,
                    "keep": now_plan.snapshot_retention,
                    "until": until,
                    "owner_discord_id": record.owner_discord_id.to_string(),
                    "guild_name": record.name,
                }),
            )
            .in_guild(to_db(record.discord_id)),
        )
        .await?;
        Ok(())
    }

    /// The guild's active license, if any.
    pub async fn show(&self, guild: u64) -> Result<Option<LicenseView>, LicensingError> {
        let record = self.guild_row(guild).await?;
        Ok(persistence::active_license(&self.db, record.id)
            .await?
            .map(|(license, plan)| LicenseView { plan, license }))
    }

    /// Marks licenses past their end as expired and publishes `licensing.license_expired` for
    /// each. Returns how many.
    pub async fn expire_due(&self) -> Result<usize, LicensingError> {
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let expired = persistence::expire_due(&txn).await?;
        let now_plan = self.default_plan().await?;
        for (guild_row, code) in &expired {
            let Some(record) = self.guilds.guild_by_row(*guild_row).await? else {
                continue;
            };
            self.warn_retention(&txn, &record, std::slice::from_ref(code), &now_plan)
                .await?;
            outbox::append(
                &txn,
                NewEvent::new(
                    event_types::LICENSE_EXPIRED,
                    "guild",
                    record.discord_id.to_string(),
                    json!({
                        "plan": code,
                        "owner_discord_id": record.owner_discord_id.to_string(),
                        "guild_name": record.name,
                    }),
                )
                .in_guild(to_db(record.discord_id)),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(expired.len())
    }
}

#[async_trait]
impl LicensingReader for LicensingService {
    async fn entitlements(&self, guild: u64) -> Result<Entitlements, LicensingError> {
        let record = self.guilds.guild(guild).await?;
        let (plan, license) = match &record {
            Some(r) => match persistence::active_license(&self.db, r.id).await? {
                Some((license, plan)) => (plan, Some(license)),
                None => (self.default_plan().await?, None),
            },
            None => (self.default_plan().await?, None),
        };
        // A plan that just ended — or gave way to a smaller one — keeps its snapshots a while
        // (they are not deleted at once).
        let retention_grace = match &record {
            Some(r) => persistence::last_ended(&self.db, r.id)
                .await?
                .filter(|(p, _)| p.snapshot_retention > plan.snapshot_retention)
                .map(|(p, ended)| {
                    (
                        p.snapshot_retention,
                        ended + Duration::days(i64::from(self.downgrade_grace_days)),
                    )
                }),
            None => None,
        };
        Ok(Entitlements {
            plan,
            license,
            retention_grace,
        })
    }
}

#[async_trait]
impl PlanReader for LicensingService {
    async fn plans(&self) -> Result<Vec<Plan>, LicensingError> {
        Ok(persistence::plans(&self.db).await?)
    }

    async fn plan(&self, code: &str) -> Result<Plan, LicensingError> {
        persistence::plan_by_code(&self.db, code)
            .await?
            .ok_or_else(|| LicensingError::UnknownPlan(code.to_owned()))
    }
}
