//! Purpose: the schema's rules as data sees them: Discord ids identify rows once, live-sync
//! objects have one current version, states stay inside their lists, "one at a time" rules per
//! guild, and what a guild purge, a user deletion or snapshot retention does to related rows.

use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::PgPool;
use sqlx::postgres::PgQueryResult;
use uuid::Uuid;

use crate::support::db::TestDb;

/// Distinct positive snowflakes for fixtures.
fn snowflake() -> i64 {
    static NEXT: AtomicI64 = AtomicI64::new(1_180_000_000_000_000_000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The outcome of a statement: `ok`, or `<SQLSTATE> <constraint>` of the error.
fn outcome(result: Result<PgQueryResult, sqlx::Error>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => match e.as_database_error() {
            Some(db) => format!(
                "{} {}",
                db.code().unwrap_or_default(),
                db.constraint().unwrap_or_default()
            ),
            None => panic!("not a database error: {e}"),
        },
    }
}

async fn exec(pool: &PgPool, sql: &str) -> String {
    outcome(
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await,
    )
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap();
    n
}

async fn user(pool: &PgPool) -> (Uuid, i64) {
    let (id, discord_id) = (Uuid::now_v7(), snowflake());
    sqlx::query(
        "INSERT INTO identity.users (id, discord_user_id, username) VALUES ($1, $2, 'someone')",
    )
    .bind(id)
    .bind(discord_id)
    .execute(pool)
    .await
    .unwrap();
    (id, discord_id)
}

async fn guild(pool: &PgPool, owner: Uuid) -> (Uuid, i64) {
    let (id, discord_id) = (Uuid::now_v7(), snowflake());
    sqlx::query(
        "INSERT INTO guild.guilds (id, discord_guild_id, owner_user_id, name) VALUES ($1, $2, $3, 'a guild')",
    )
    .bind(id)
    .bind(discord_id)
    .bind(owner)
    .execute(pool)
    .await
    .unwrap();
    (id, discord_id)
}

fn snapshot_sql(guild: Uuid, trigger: &str, slot: Option<i64>) -> String {
    snapshot_sql_with_id(Uuid::now_v7(), guild, trigger, slot)
}

fn snapshot_sql_with_id(id: Uuid, guild: Uuid, trigger: &str, slot: Option<i64>) -> String {
    let slot = slot.map_or("NULL".to_owned(), |s| s.to_string());
    format!(
        "INSERT INTO recovery.snapshots (id, guild_id, trigger, format_version, payload, checksum, \
           content_hash, size_bytes, uncompressed_bytes, as_of, schedule_slot) \
         VALUES ('{id}', '{guild}', '{trigger}', 1, '\\x28b52ffd'::bytea, \
           pg_catalog.sha256('\\x28b52ffd'::bytea), pg_catalog.sha256('doc'::bytea), 4, 10, now(), {slot})"
    )
}

async fn snapshot(pool: &PgPool, guild: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    let sql = snapshot_sql_with_id(id, guild, "manual", None);
    assert_eq!(exec(pool, &sql).await, "ok");
    id
}

fn restore_job_sql(guild: Uuid, snapshot: Option<Uuid>, status: &str, mode: &str) -> String {
    let snapshot = snapshot.map_or("NULL".to_owned(), |s| format!("'{s}'"));
    let finished = if ["completed", "failed", "cancelled", "expired"].contains(&status) {
        "now()"
    } else {
        "NULL"
    };
    let started = if ["running", "completed"].contains(&status) {
        "now()"
    } else {
        "NULL"
    };
    format!(
        "INSERT INTO recovery.restore_jobs (id, guild_id, snapshot_id, requested_by_discord_id, status, \
           mode, components, plan, plan_hash, expires_at, started_at, finished_at) \
         VALUES ('{}', '{guild}', {snapshot}, 1, '{status}', '{mode}', '{{roles,channels}}', '{{}}', \
           pg_catalog.sha256('plan'::bytea), now() + interval '15 minutes', {started}, {finished})",
        Uuid::now_v7()
    )
}

#[tokio::test]
async fn a_discord_user_and_a_discord_guild_are_stored_once_each() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (owner, owner_discord) = user(pool).await;
    let (_, guild_discord) = guild(pool, owner).await;

    let again = format!(
        "INSERT INTO identity.users (id, discord_user_id, username) VALUES ('{}', {owner_discord}, 'x')",
        Uuid::now_v7()
    );
    assert_eq!(exec(pool, &again).await, "23505 users_discord_user_id_key");
    let again = format!(
        "INSERT INTO guild.guilds (id, discord_guild_id, owner_user_id, name) \
         VALUES ('{}', {guild_discord}, '{owner}', 'x')",
        Uuid::now_v7()
    );
    assert_eq!(
        exec(pool, &again).await,
        "23505 guilds_discord_guild_id_key"
    );
    let nonsense = format!(
        "INSERT INTO identity.users (id, discord_user_id, username) VALUES ('{}', 0, 'x')",
        Uuid::now_v7()
    );
    assert_eq!(
        exec(pool, &nonsense).await,
        "23514 users_discord_user_id_check"
    );
}

#[tokio::test]
async fn a_member_has_one_current_version_and_any_number_of_closed_ones() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (owner, _) = user(pool).await;
    let (guild_a, _) = guild(pool, owner).await;
    let (guild_b, _) = guild(pool, owner).await;
    let member = snowflake();
    let insert = |guild: Uuid| {
        format!(
            "INSERT INTO member.members (id, guild_id, discord_user_id, username, role_ids) \
             VALUES ('{}', '{guild}', {member}, 'm', '{{1,2}}')",
            Uuid::now_v7()
        )
    };

    assert_eq!(exec(pool, &insert(guild_a)).await, "ok");
    assert_eq!(
        exec(pool, &insert(guild_a)).await,
        "23505 members_current_key",
        "two current rows for the same (guild, user)"
    );
    assert_eq!(
        exec(pool, &insert(guild_b)).await,
        "ok",
        "same user, another guild"
    );

    // An update closes the current version, then inserts the new one.
    let close = |ended_by: &str| {
        format!(
            "UPDATE member.members SET valid_to = now(), ended_by = '{ended_by}' \
             WHERE guild_id = '{guild_a}' AND discord_user_id = {member} AND valid_to IS NULL"
        )
    };
    assert_eq!(exec(pool, &close("update")).await, "ok");
    assert_eq!(
        exec(pool, &insert(guild_a)).await,
        "ok",
        "a closed row plus a current row"
    );
    // A leave closes it as a tombstone; a re-join starts a new current version.
    assert_eq!(exec(pool, &close("delete")).await, "ok");
    assert_eq!(exec(pool, &insert(guild_a)).await, "ok");
    let history = format!(
        "SELECT count(*) FROM member.members WHERE guild_id = '{guild_a}' AND discord_user_id = {member}"
    );
    assert_eq!(count(pool, &history).await, 3);

    // "As of T" reads exactly one version per member for any T.
    let as_of = format!(
        "SELECT count(*) FROM member.members WHERE guild_id = '{guild_a}' \
         AND valid_from <= now() AND (valid_to IS NULL OR valid_to > now())"
    );
    assert_eq!(count(pool, &as_of).await, 1);

    // Versions that make no sense are rejected.
    let half_closed = format!(
        "UPDATE member.members SET valid_to = now() \
         WHERE guild_id = '{guild_b}' AND valid_to IS NULL"
    );
    assert_eq!(
        exec(pool, &half_closed).await,
        "23514 members_version_closed_check"
    );
    let backwards = format!(
        "UPDATE member.members SET valid_to = valid_from - interval '1 second', ended_by = 'update' \
         WHERE guild_id = '{guild_b}' AND valid_to IS NULL"
    );
    assert_eq!(exec(pool, &backwards).await, "23514 members_validity_check");
    let unknown = format!(
        "UPDATE member.members SET valid_to = now(), ended_by = 'purged' \
         WHERE guild_id = '{guild_b}' AND valid_to IS NULL"
    );
    assert_eq!(exec(pool, &unknown).await, "23514 members_ended_by_check");
}

#[tokio::test]
async fn every_live_sync_object_has_one_current_version() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (owner, _) = user(pool).await;
    let (guild_id, _) = guild(pool, owner).await;
    // (table, identifying columns, their values, other required columns and values)
    let cases = [
        ("guild_roles", "discord_role_id, name", "77, 'mods'"),
        (
            "guild_channels",
            "discord_channel_id, kind, name",
            "88, 0, 'general'",
        ),
        (
            "guild_permission_overrides",
            "discord_channel_id, target_id, target_type",
            "88, 77, 0",
        ),
        ("guild_settings", "name", "'a guild'"),
    ];
    for (table, columns, values) in cases {
        let insert = || {
            format!(
                "INSERT INTO recovery.{table} (id, guild_id, {columns}) VALUES ('{}', '{guild_id}', {values})",
                Uuid::now_v7()
            )
        };
        assert_eq!(exec(pool, &insert()).await, "ok", "{table}");
        assert_eq!(
            exec(pool, &insert()).await,
            format!("23505 {table}_current_key"),
            "{table}: two current versions"
        );
        let close = format!(
            "UPDATE recovery.{table} SET valid_to = now(), ended_by = 'delete' \
             WHERE guild_id = '{guild_id}' AND valid_to IS NULL"
        );
        assert_eq!(exec(pool, &close).await, "ok", "{table}");
        assert_eq!(
            exec(pool, &insert()).await,
            "ok",
            "{table}: tombstone + current"
        );
    }
}

#[tokio::test]
async fn state_columns_accept_only_their_listed_values() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (owner, _) = user(pool).await;
    let (guild_id, _) = guild(pool, owner).await;

    let bad_status = format!("UPDATE guild.guilds SET status = 'deleted' WHERE id = '{guild_id}'");
    assert_eq!(exec(pool, &bad_status).await, "23514 guilds_status_check");
    let removed_without_time =
        format!("UPDATE guild.guilds SET status = 'removed' WHERE id = '{guild_id}'");
    assert_eq!(
        exec(pool, &removed_without_time).await,
        "23514 guilds_removed_at_check"
    );

    assert_eq!(
        exec(pool, &snapshot_sql(guild_id, "weekly", None)).await,
        "23514 snapshots_trigger_check"
    );
    assert_eq!(
        exec(pool, &snapshot_sql(guild_id, "scheduled", None)).await,
        "23514 snapshots_schedule_slot_check",
        "a scheduled snapshot names its slot"
    );
    assert_eq!(
        exec(pool, &snapshot_sql(guild_id, "manual", Some(5))).await,
        "23514 snapshots_schedule_slot_check"
    );

    assert_eq!(
        exec(pool, &restore_job_sql(guild_id, None, "previewed", "wipe")).await,
        "23514 restore_jobs_mode_check"
    );
    assert_eq!(
        exec(pool, &restore_job_sql(guild_id, None, "paused", "merge")).await,
        "23514 restore_jobs_status_check"
    );
    let running_without_start = format!(
        "INSERT INTO recovery.restore_jobs (id, guild_id, requested_by_discord_id, status, mode, \
           components, plan, plan_hash, expires_at) \
         VALUES ('{}', '{guild_id}', 1, 'running', 'merge', '{{roles}}', '{{}}', \
           pg_catalog.sha256('plan'::bytea), now() + interval '15 minutes')",
        Uuid::now_v7()
    );
    assert_eq!(
        exec(pool, &running_without_start).await,
        "23514 restore_jobs_started_check"
    );

    let config = format!(
        "INSERT INTO guild.guild_configs (id, guild_id, antinuke_punishment) \
         VALUES ('{}', '{guild_id}', 'mute')",
        Uuid::now_v7()
    );
    assert_eq!(
        exec(pool, &config).await,
        "23514 guild_configs_antinuke_punishment_check"
    );
    let free_plan_billed =
        "UPDATE licensing.plans SET billing_period_days = 30 WHERE code = 'free'";
    assert_eq!(
        exec(pool, free_plan_billed).await,
        "23514 plans_billed_check"
    );
}

#[tokio::test]
async fn a_guild_has_one_active_license_one_live_subscription_and_one_running_restore() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (owner, _) = user(pool).await;
    let (guild_id, _) = guild(pool, owner).await;

    let license = |status: &str| {
        let revoked = if status == "revoked" { "now()" } else { "NULL" };
        format!(
            "INSERT INTO licensing.licenses (id, guild_id, plan_id, status, source, revoked_at) \
             SELECT '{}', '{guild_id}', id, '{status}', 'grant', {revoked} FROM licensing.plans WHERE code = 'pro'",
            Uuid::now_v7()
        )
    };
    assert_eq!(exec(pool, &license("active")).await, "ok");
    assert_eq!(
        exec(pool, &license("active")).await,
        "23505 licenses_one_active_per_guild"
    );
    assert_eq!(exec(pool, &license("expired")).await, "ok");
    assert_eq!(exec(pool, &license("revoked")).await, "ok");

    let subscription = |status: &str| {
        format!(
            "INSERT INTO billing.subscriptions (id, user_id, guild_id, plan_id, status, price_krw, \
               current_period_start, current_period_end) \
             SELECT '{}', '{owner}', '{guild_id}', id, '{status}', price_krw, now(), now() + interval '30 days' \
             FROM licensing.plans WHERE code = 'pro'",
            Uuid::now_v7()
        )
    };
    assert_eq!(exec(pool, &subscription("active")).await, "ok");
    assert_eq!(
        exec(pool, &subscription("past_due")).await,
        "23505 subscriptions_one_live_per_guild"
    );
    assert_eq!(exec(pool, &subscription("cancelled")).await, "ok");

    assert_eq!(
        exec(pool, &restore_job_sql(guild_id, None, "running", "merge")).await,
        "ok"
    );
    assert_eq!(
        exec(pool, &restore_job_sql(guild_id, None, "queued", "mirror")).await,
        "23505 restore_jobs_one_active_per_guild"
    );
    assert_eq!(
        exec(pool, &restore_job_sql(guild_id, None, "previewed", "merge")).await,
        "ok",
        "previews do not count"
    );
    assert_eq!(
        exec(pool, &restore_job_sql(guild_id, None, "completed", "merge")).await,
        "ok"
    );
}

#[tokio::test]
async fn scheduled_snapshots_and_punishments_are_deduplicated_by_their_slots() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (owner, _) = user(pool).await;
    let (guild_id, _) = guild(pool, owner).await;
    let (other_guild, _) = guild(pool, owner).await;

    let slot = 29_000_000;
    let scheduled = snapshot_sql(guild_id, "scheduled", Some(slot));
    assert_eq!(exec(pool, &scheduled).await, "ok");
    // A second process taking the same slot: ON CONFLICT DO NOTHING inserts nothing.
    let racing = format!(
        "{} ON CONFLICT (guild_id, schedule_slot) DO NOTHING",
        snapshot_sql(guild_id, "scheduled", Some(slot))
    );
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(racing))
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(result.rows_affected(), 0);
    assert_eq!(
        exec(pool, &snapshot_sql(other_guild, "scheduled", Some(slot))).await,
        "ok"
    );

    let actor = snowflake();
    let incident = || {
        format!(
            "INSERT INTO recovery.antinuke_incidents (id, guild_id, actor_discord_id, action_class, \
               action_count, first_action_at, detected_at, dedupe_slot, punishment) \
             VALUES ('{}', '{guild_id}', {actor}, 'channel_delete', 5, now(), now(), 4242, 'strip_roles')",
            Uuid::now_v7()
        )
    };
    assert_eq!(exec(pool, &incident()).await, "ok");
    assert_eq!(
        exec(pool, &incident()).await,
        "23505 antinuke_incidents_dedupe_key"
    );
}

#[tokio::test]
async fn purging_a_guild_removes_its_operational_data_and_keeps_its_history() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (owner, owner_discord) = user(pool).await;
    let (guild_id, guild_discord) = guild(pool, owner).await;
    let snapshot_id = snapshot(pool, guild_id).await;
    let emergency_id = snapshot(pool, guild_id).await;
    let incident_id = Uuid::now_v7();
    let statements = [
        format!(
            "INSERT INTO guild.guild_configs (id, guild_id) VALUES ('{}', '{guild_id}')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO member.members (id, guild_id, discord_user_id, user_id, username) \
             VALUES ('{}', '{guild_id}', {owner_discord}, '{owner}', 'owner')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO member.web_join_requests (id, guild_id, state_hash, pkce_verifier_enc, key_id, expires_at) \
             VALUES ('{}', '{guild_id}', pg_catalog.sha256('state'::bytea), '\\x01'::bytea, 'k1', now() + interval '10 minutes')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO licensing.licenses (id, guild_id, plan_id, source) \
             SELECT '{}', '{guild_id}', id, 'grant' FROM licensing.plans WHERE code = 'max'",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO recovery.guild_roles (id, guild_id, discord_role_id, name) VALUES ('{}', '{guild_id}', 5, 'r')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO recovery.guild_channels (id, guild_id, discord_channel_id, kind, name) \
             VALUES ('{}', '{guild_id}', 6, 0, 'c')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO recovery.guild_permission_overrides (id, guild_id, discord_channel_id, target_id, target_type) \
             VALUES ('{}', '{guild_id}', 6, 5, 0)",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO recovery.guild_settings (id, guild_id, name) VALUES ('{}', '{guild_id}', 'g')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO recovery.antinuke_incidents (id, guild_id, emergency_snapshot_id, pinned_snapshot_id, \
               actor_discord_id, action_class, action_count, first_action_at, detected_at, dedupe_slot, punishment) \
             VALUES ('{incident_id}', '{guild_id}', '{emergency_id}', '{snapshot_id}', 99, 'role_delete', 9, \
               now(), now(), 1, 'ban')"
        ),
        restore_job_sql(guild_id, Some(snapshot_id), "previewed", "merge"),
        format!(
            "INSERT INTO audit.events (id, outbox_id, event_type, aggregate_type, aggregate_id, guild_id, \
               guild_discord_id, actor_user_id, actor_discord_id, payload, occurred_at) \
             VALUES ('{}', '{}', 'recovery.incident_detected', 'incident', '{incident_id}', '{guild_id}', \
               {guild_discord}, '{owner}', {owner_discord}, '{{}}', now())",
            Uuid::now_v7(),
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO notification.requests (id, guild_id, recipient_discord_id, kind, category, \
               template_key, dedupe_key) \
             VALUES ('{}', '{guild_id}', {owner_discord}, 'incident_detected', 'antinuke', \
               'notify-incident-detected', 'x:incident_detected')",
            Uuid::now_v7()
        ),
    ];
    for sql in &statements {
        assert_eq!(exec(pool, sql).await, "ok", "{sql}");
    }
    let link = format!(
        "UPDATE recovery.restore_jobs SET incident_id = '{incident_id}' WHERE guild_id = '{guild_id}'"
    );
    assert_eq!(exec(pool, &link).await, "ok");

    assert_eq!(
        exec(
            pool,
            &format!("DELETE FROM guild.guilds WHERE id = '{guild_id}'")
        )
        .await,
        "ok"
    );

    for table in [
        "guild.guild_configs",
        "member.members",
        "member.web_join_requests",
        "licensing.licenses",
        "recovery.guild_roles",
        "recovery.guild_channels",
        "recovery.guild_permission_overrides",
        "recovery.guild_settings",
        "recovery.snapshots",
        "recovery.restore_jobs",
        "recovery.antinuke_incidents",
    ] {
        assert_eq!(
            count(pool, &format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table} is purged with its guild"
        );
    }
    let audit = format!(
        "SELECT count(*) FROM audit.events WHERE guild_id IS NULL AND guild_discord_id = {guild_discord}"
    );
    assert_eq!(
        count(pool, &audit).await,
        1,
        "audit history stays, unlinked"
    );
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM notification.requests WHERE guild_id IS NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn money_rows_block_deleting_what_they_refer_to() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (payer, _) = user(pool).await;
    let (guild_id, _) = guild(pool, payer).await;
    let (license_id, key_id, subscription_id) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let setup = [
        format!(
            "INSERT INTO licensing.licenses (id, guild_id, plan_id, source, ends_at) \
             SELECT '{license_id}', '{guild_id}', id, 'subscription', now() + interval '30 days' \
             FROM licensing.plans WHERE code = 'pro'"
        ),
        format!(
            "INSERT INTO billing.billing_keys (id, user_id, customer_key, billing_key_enc, key_id) \
             VALUES ('{key_id}', '{payer}', '{}', '\\x0102'::bytea, 'k1')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO billing.subscriptions (id, user_id, guild_id, plan_id, license_id, billing_key_id, \
               price_krw, current_period_start, current_period_end) \
             SELECT '{subscription_id}', '{payer}', '{guild_id}', id, '{license_id}', '{key_id}', price_krw, \
               now(), now() + interval '30 days' FROM licensing.plans WHERE code = 'pro'"
        ),
        format!(
            "INSERT INTO billing.payment_attempts (id, subscription_id, order_id, idempotency_key, amount_krw, \
               period_start, attempt_no, status, payment_key, completed_at) \
             VALUES ('{}', '{subscription_id}', 'umbra-order-0001', 'idem-0001', 4900, now(), 1, 'done', \
               'pay_0001', now())",
            Uuid::now_v7()
        ),
    ];
    for sql in &setup {
        assert_eq!(exec(pool, sql).await, "ok", "{sql}");
    }

    let delete_guild = format!("DELETE FROM guild.guilds WHERE id = '{guild_id}'");
    assert_eq!(
        exec(pool, &delete_guild).await,
        "23503 subscriptions_guild_id_fkey"
    );
    let delete_user = format!("DELETE FROM identity.users WHERE id = '{payer}'");
    assert_eq!(
        exec(pool, &delete_user).await,
        "23503 guilds_owner_user_id_fkey"
    );
    let delete_subscription =
        format!("DELETE FROM billing.subscriptions WHERE id = '{subscription_id}'");
    assert_eq!(
        exec(pool, &delete_subscription).await,
        "23503 payment_attempts_subscription_id_fkey"
    );
    assert_eq!(
        exec(pool, "DELETE FROM licensing.plans WHERE code = 'pro'").await,
        "23503 licenses_plan_id_fkey"
    );

    // A deleted card or license unlinks the subscription; the subscription stays.
    let delete_key = format!("DELETE FROM billing.billing_keys WHERE id = '{key_id}'");
    assert_eq!(exec(pool, &delete_key).await, "ok");
    let delete_license = format!("DELETE FROM licensing.licenses WHERE id = '{license_id}'");
    assert_eq!(exec(pool, &delete_license).await, "ok");
    let unlinked = format!(
        "SELECT count(*) FROM billing.subscriptions \
         WHERE id = '{subscription_id}' AND billing_key_id IS NULL AND license_id IS NULL"
    );
    assert_eq!(count(pool, &unlinked).await, 1);
}

#[tokio::test]
async fn deleting_a_user_takes_their_sessions_preferences_and_cards_and_unlinks_their_history() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (owner, _) = user(pool).await;
    let (guild_id, _) = guild(pool, owner).await;
    let (leaver, leaver_discord) = user(pool).await;
    let statements = [
        format!(
            "INSERT INTO identity.sessions (id, user_id, token_hash, expires_at) \
             VALUES ('{}', '{leaver}', pg_catalog.sha256('token'::bytea), now() + interval '1 day')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO notification.preferences (id, user_id) VALUES ('{}', '{leaver}')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO billing.billing_keys (id, user_id, customer_key, billing_key_enc, key_id) \
             VALUES ('{}', '{leaver}', '{}', '\\x01'::bytea, 'k1')",
            Uuid::now_v7(),
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO member.members (id, guild_id, discord_user_id, user_id, username) \
             VALUES ('{}', '{guild_id}', {leaver_discord}, '{leaver}', 'leaver')",
            Uuid::now_v7()
        ),
        format!(
            "INSERT INTO audit.events (id, outbox_id, event_type, aggregate_type, aggregate_id, \
               actor_user_id, actor_discord_id, payload, occurred_at) \
             VALUES ('{}', '{}', 'identity.login', 'user', '{leaver}', '{leaver}', {leaver_discord}, '{{}}', now())",
            Uuid::now_v7(),
            Uuid::now_v7()
        ),
    ];
    for sql in &statements {
        assert_eq!(exec(pool, sql).await, "ok", "{sql}");
    }
    assert_eq!(
        exec(
            pool,
            &format!("DELETE FROM identity.users WHERE id = '{leaver}'")
        )
        .await,
        "ok"
    );
    for table in [
        "identity.sessions",
        "notification.preferences",
        "billing.billing_keys",
    ] {
        assert_eq!(
            count(pool, &format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
    let members = format!(
        "SELECT count(*) FROM member.members WHERE discord_user_id = {leaver_discord} AND user_id IS NULL"
    );
    assert_eq!(count(pool, &members).await, 1);
    let audit = format!(
        "SELECT count(*) FROM audit.events WHERE actor_user_id IS NULL AND actor_discord_id = {leaver_discord}"
    );
    assert_eq!(count(pool, &audit).await, 1);
}

#[tokio::test]
async fn retention_deleting_a_snapshot_keeps_the_jobs_and_incidents_that_used_it() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let (owner, _) = user(pool).await;
    let (guild_id, _) = guild(pool, owner).await;
    let source = snapshot(pool, guild_id).await;
    let incident = |slot: i64| {
        format!(
            "INSERT INTO recovery.antinuke_incidents (id, guild_id, emergency_snapshot_id, actor_discord_id, \
               action_class, action_count, first_action_at, detected_at, dedupe_slot, punishment) \
             VALUES ('{}', '{guild_id}', '{source}', 99, 'ban', 30, now(), now(), {slot}, 'ban')",
            Uuid::now_v7()
        )
    };
    assert_eq!(exec(pool, &incident(1)).await, "ok");
    assert_eq!(
        exec(pool, &incident(2)).await,
        "23505 antinuke_incidents_emergency_snapshot_id_key",
        "an emergency snapshot belongs to one incident"
    );
    assert_eq!(
        exec(
            pool,
            &restore_job_sql(guild_id, Some(source), "completed", "merge")
        )
        .await,
        "ok"
    );

    assert_eq!(
        exec(
            pool,
            &format!("DELETE FROM recovery.snapshots WHERE id = '{source}'")
        )
        .await,
        "ok"
    );
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM recovery.restore_jobs WHERE snapshot_id IS NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM recovery.antinuke_incidents WHERE emergency_snapshot_id IS NULL"
        )
        .await,
        1
    );
}
