//! Purpose: the SeaORM entities against the migrated database: every entity's columns, types
//! and nullability match its table, and every table round-trips a fully populated row through
//! its entity (insert, then select by id, then a relation) while `search_path` names an empty
//! schema, which proves `schema_name` is honoured.

use std::collections::BTreeMap;

use chrono::DateTime;
use entity::{
    audit, billing, events, guild, identity, licensing, member, notification, recovery, webhook,
};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::ColumnType;
use sea_orm::{DatabaseConnection, IntoActiveModel, Iterable};
use serde_json::json;

use crate::support::db::TestDb;

/// PostgreSQL's `udt_name` for the column type an entity declares.
fn udt_name(column_type: &ColumnType) -> String {
    match column_type {
        ColumnType::Uuid => "uuid".to_owned(),
        ColumnType::BigInteger => "int8".to_owned(),
        ColumnType::Integer => "int4".to_owned(),
        ColumnType::SmallInteger => "int2".to_owned(),
        ColumnType::Boolean => "bool".to_owned(),
        ColumnType::String(_) | ColumnType::Text => "text".to_owned(),
        ColumnType::TimestampWithTimeZone => "timestamptz".to_owned(),
        ColumnType::JsonBinary => "jsonb".to_owned(),
        ColumnType::Json => "json".to_owned(),
        ColumnType::Binary(_) | ColumnType::VarBinary(_) | ColumnType::Blob => "bytea".to_owned(),
        ColumnType::Array(inner) => format!("_{}", udt_name(inner)),
        other => panic!("unexpected column type {other:?}"),
    }
}

/// (column, udt_name, nullable) of one entity, by column name.
fn entity_columns<E: EntityTrait>() -> BTreeMap<String, (String, bool)> {
    E::Column::iter()
        .map(|column| {
            let def = column.def();
            (
                column.as_str().to_owned(),
                (udt_name(def.get_column_type()), def.is_null()),
            )
        })
        .collect()
}

async fn table_columns(db: &TestDb, schema: &str, table: &str) -> BTreeMap<String, (String, bool)> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT column_name::text, udt_name::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(name, udt, nullable)| (name, (udt, nullable == "YES")))
        .collect()
}

async fn assert_entity_matches_table<E: EntityTrait + Default>(db: &TestDb) {
    let entity = E::default();
    let schema = entity
        .schema_name()
        .unwrap_or_else(|| panic!("{} has no schema_name", entity.table_name()));
    let table = entity.table_name();
    assert!(
        super::TABLES.contains(&(schema, table)),
        "{schema}.{table} is not a seed table"
    );
    assert_eq!(
        entity_columns::<E>(),
        table_columns(db, schema, table).await,
        "{schema}.{table}: entity columns (name -> (type, nullable)) differ from the table"
    );
}

#[tokio::test]
async fn every_entity_declares_exactly_its_tables_columns_types_and_nullability() {
    let db = TestDb::migrated().await;
    assert_entity_matches_table::<identity::users::Entity>(&db).await;
    assert_entity_matches_table::<identity::sessions::Entity>(&db).await;
    assert_entity_matches_table::<guild::guilds::Entity>(&db).await;
    assert_entity_matches_table::<guild::guild_configs::Entity>(&db).await;
    assert_entity_matches_table::<member::members::Entity>(&db).await;
    assert_entity_matches_table::<member::web_join_requests::Entity>(&db).await;
    assert_entity_matches_table::<licensing::plans::Entity>(&db).await;
    assert_entity_matches_table::<licensing::licenses::Entity>(&db).await;
    assert_entity_matches_table::<billing::billing_keys::Entity>(&db).await;
    assert_entity_matches_table::<billing::subscriptions::Entity>(&db).await;
    assert_entity_matches_table::<billing::payment_attempts::Entity>(&db).await;
    assert_entity_matches_table::<recovery::guild_roles::Entity>(&db).await;
    assert_entity_matches_table::<recovery::guild_channels::Entity>(&db).await;
    assert_entity_matches_table::<recovery::guild_permission_overrides::Entity>(&db).await;
    assert_entity_matches_table::<recovery::guild_settings::Entity>(&db).await;
    assert_entity_matches_table::<recovery::snapshots::Entity>(&db).await;
    assert_entity_matches_table::<recovery::restore_jobs::Entity>(&db).await;
    assert_entity_matches_table::<recovery::antinuke_incidents::Entity>(&db).await;
    assert_entity_matches_table::<notification::requests::Entity>(&db).await;
    assert_entity_matches_table::<notification::preferences::Entity>(&db).await;
    assert_entity_matches_table::<audit::events::Entity>(&db).await;
    assert_entity_matches_table::<webhook::events::Entity>(&db).await;
    assert_entity_matches_table::<events::outbox::Entity>(&db).await;
}

/// Inserts a fully populated model through its entity, reads it back by id, and checks both
/// equal the original.
macro_rules! round_trip {
    ($db:expr, $entity:ty, $model:expr) => {{
        let model = $model;
        let inserted = <$entity>::insert(model.clone().into_active_model())
            .exec_with_returning($db)
            .await
            .unwrap_or_else(|e| panic!("inserting through {}: {e}", stringify!($entity)));
        assert_eq!(inserted, model, "{} RETURNING", stringify!($entity));
        let found = <$entity>::find_by_id(model.id)
            .one($db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} row not found by id", stringify!($entity)));
        assert_eq!(found, model, "{} select", stringify!($entity));
        found
    }};
}

fn at(rfc3339: &str) -> DateTimeWithTimeZone {
    DateTime::parse_from_rfc3339(rfc3339).unwrap()
}

fn bytes(n: u8, len: usize) -> Vec<u8> {
    vec![n; len]
}

#[tokio::test]
async fn every_table_round_trips_a_full_row_through_its_entity_with_an_empty_search_path() {
    let test_db = TestDb::migrated().await;
    let (path,): (String,) = sqlx::query_as("SELECT pg_catalog.current_setting('search_path')")
        .fetch_one(&test_db.pool)
        .await
        .unwrap();
    assert_eq!(path, "umbra_empty");
    let db: &DatabaseConnection = &test_db.db;
    let t0 = at("2026-11-25T01:02:03.123456Z");
    let t1 = at("2026-11-25T12:00:00+09:00");
    let t2 = at("2026-12-25T01:02:03Z");

    // identity
    let user = round_trip!(
        db,
        identity::users::Entity,
        identity::users::Model {
            id: Uuid::now_v7(),
            discord_user_id: 1_180_000_000_000_000_001,
            username: Some("owner".into()),
            global_name: Some("The Owner".into()),
            avatar: Some("a_1234".into()),
            locale: Some("ko".into()),
            is_bot: false,
            oauth_access_token_enc: Some(bytes(1, 40)),
            oauth_refresh_token_enc: Some(bytes(2, 40)),
            oauth_key_id: Some("k2026".into()),
            oauth_scopes: vec!["identify".into(), "guilds.join".into()],
            oauth_expires_at: Some(t2),
            oauth_revoked_at: None,
            oauth_token_version: 3,
            last_login_at: Some(t1),
            created_at: t0,
            updated_at: t1,
            deleted_at: None,
            subscribe_link_nonce: Some(Uuid::now_v7()),
            lease_owner: Some("host-a:1".into()),
            lease_until: Some(t2),
            fencing: 2,
        }
    );
    let session = round_trip!(
        db,
        identity::sessions::Entity,
        identity::sessions::Model {
            id: Uuid::now_v7(),
            user_id: user.id,
            token_hash: bytes(7, 32),
            created_at: t0,
            expires_at: t2,
            last_seen_at: t1,
            revoked_at: None,
        }
    );
    let sessions = user
        .find_related(identity::sessions::Entity)
        .all(db)
        .await
        .unwrap();
    assert_eq!(sessions, [session]);

    // guild
    let guild = round_trip!(
        db,
        guild::guilds::Entity,
        guild::guilds::Model {
            id: Uuid::now_v7(),
            discord_guild_id: 1_180_000_000_000_000_002,
            owner_user_id: user.id,
            name: "Umbra HQ".into(),
            icon: None,
            status: "removed".into(),
            installed_at: t0,
            removed_at: Some(t1),
            purge_after: Some(t2),
            created_at: t0,
            updated_at: t1,
        }
    );
    let config = round_trip!(
        db,
        guild::guild_configs::Entity,
        guild::guild_configs::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            locale: Some("ko".into()),
            log_channel_id: Some(1_180_000_000_000_000_010),
            trusted_user_ids: vec![11, 12],
            trusted_role_ids: vec![13],
            snapshot_interval_minutes: Some(360),
            web_join_enabled: true,
            antinuke_enabled: true,
            antinuke_thresholds: json!({"channel_delete": {"count": 3, "window_seconds": 10}}),
            antinuke_punishment: "quarantine".into(),
            antinuke_quarantine_role_id: Some(14),
            antinuke_lockdown: true,
            antinuke_auto_revert: false,
            antinuke_whitelist_user_ids: vec![15],
            antinuke_whitelist_role_ids: vec![],
            version: 2,
            pending_changes: json!([{"id": "x", "change": {"enabled": false}}]),
            protection_health: Some(
                json!({"missing": ["view_audit_log"], "above": [], "above_count": 0})
            ),
            created_at: t0,
            updated_at: t1,
            web_join_role_id: Some(1_180_000_000_000_000_777),
            message_channel_ids: vec![1_180_000_000_000_000_778],
            message_limit: Some(100),
        }
    );
    let owner = guild
        .find_related(identity::users::Entity)
        .one(db)
        .await
        .unwrap();
    assert_eq!(owner, Some(user.clone()));
    let configs = guild
        .find_related(guild::guild_configs::Entity)
        .all(db)
        .await
        .unwrap();
    assert_eq!(configs, [config]);

    // member
    let member = round_trip!(
        db,
        member::members::Entity,
        member::members::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            discord_user_id: user.discord_user_id,
            user_id: Some(user.id),
            username: "owner".into(),
            global_name: None,
            nick: Some("boss".into()),
            role_ids: vec![21, 22, 23],
            is_bot: false,
            joined_at: Some(t0),
            valid_from: t0,
            valid_to: Some(t1),
            ended_by: Some("update".into()),
            synced_at: t1,
            banned: false,
            ban_reason: None,
        }
    );
    round_trip!(
        db,
        member::web_join_requests::Entity,
        member::web_join_requests::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            user_id: Some(user.id),
            discord_user_id: Some(user.discord_user_id),
            state_hash: bytes(3, 32),
            pkce_verifier_enc: None,
            key_id: Some("k2026".into()),
            status: "failed".into(),
            failure_code: Some("guild_limit".into()),
            restored_role_ids: vec![21],
            restored_nick: Some("boss".into()),
            created_at: t0,
            expires_at: t1,
            completed_at: Some(t1),
        }
    );
    let members = guild
        .find_related(member::members::Entity)
        .all(db)
        .await
        .unwrap();
    assert_eq!(members, [member]);

    // licensing
    let pro = licensing::plans::Entity::find()
        .filter(licensing::plans::Column::Code.eq("pro"))
        .one(db)
        .await
        .unwrap()
        .expect("the seeded pro plan");
    assert_eq!(pro.price_krw, 4900);
    let plan = round_trip!(
        db,
        licensing::plans::Entity,
        licensing::plans::Model {
            id: Uuid::now_v7(),
            code: "test_plan".into(),
            name: "Test".into(),
            price_krw: 1000,
            billing_period_days: Some(7),
            snapshot_retention: 1,
            min_snapshot_interval_minutes: 30,
            antinuke_features: json!({"detection": false}),
            member_restore_limit: Some(0),
            message_channels: 0,
            messages_per_channel: 0,
            sort_order: 9,
            is_active: false,
            created_at: t0,
        }
    );
    let license = round_trip!(
        db,
        licensing::licenses::Entity,
        licensing::licenses::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            plan_id: pro.id,
            status: "active".into(),
            source: "subscription".into(),
            starts_at: t0,
            ends_at: Some(t2),
            granted_by_discord_id: None,
            revoked_at: None,
            revoke_reason: None,
            created_at: t0,
            updated_at: t1,
        }
    );
    round_trip!(
        db,
        licensing::licenses::Entity,
        licensing::licenses::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            plan_id: plan.id,
            status: "revoked".into(),
            source: "grant".into(),
            starts_at: t0,
            ends_at: None,
            granted_by_discord_id: Some(1_180_000_000_000_000_099),
            revoked_at: Some(t1),
            revoke_reason: Some("test".into()),
            created_at: t0,
            updated_at: t1,
        }
    );

    // billing
    let key = round_trip!(
        db,
        billing::billing_keys::Entity,
        billing::billing_keys::Model {
            id: Uuid::now_v7(),
            user_id: user.id,
            provider: "toss".into(),
            customer_key: Uuid::now_v7(),
            billing_key_enc: Some(bytes(9, 60)),
            key_id: Some("k2026".into()),
            card_company: Some("Shinhan".into()),
            card_number_masked: Some("4330********123*".into()),
            status: "active".into(),
            created_at: t0,
            deleted_at: None,
        }
    );
    let subscription = round_trip!(
        db,
        billing::subscriptions::Entity,
        billing::subscriptions::Model {
            id: Uuid::now_v7(),
            user_id: user.id,
            guild_id: guild.id,
            plan_id: pro.id,
            license_id: Some(license.id),
            billing_key_id: Some(key.id),
            status: "past_due".into(),
            price_krw: 4900,
            current_period_start: t0,
            current_period_end: t2,
            next_charge_at: Some(t2),
            cancel_at_period_end: true,
            cancelled_at: None,
            failed_attempts: 1,
            lease_owner: Some("host-a:123".into()),
            lease_until: Some(t1),
            fencing: 4,
            created_at: t0,
            updated_at: t1,
            next_plan_id: Some(pro.id),
        }
    );
    let attempt = round_trip!(
        db,
        billing::payment_attempts::Entity,
        billing::payment_attempts::Model {
            id: Uuid::now_v7(),
            subscription_id: subscription.id,
            order_id: "umbra-0001-a".into(),
            idempotency_key: "idem-0001-a".into(),
            amount_krw: 4900,
            period_start: t0,
            attempt_no: 1,
            status: "failed".into(),
            payment_key: None,
            failure_code: Some("REJECT_CARD_COMPANY".into()),
            failure_message: Some("declined".into()),
            requested_at: t0,
            completed_at: Some(t1),
            response: Some(json!({"code": "REJECT_CARD_COMPANY"})),
            kind: "upgrade".into(),
            plan_id: Some(pro.id),
        }
    );
    let attempts = subscription
        .find_related(billing::payment_attempts::Entity)
        .all(db)
        .await
        .unwrap();
    assert_eq!(attempts, [attempt]);
    let paid_by = license
        .find_related(billing::subscriptions::Entity)
        .one(db)
        .await
        .unwrap();
    assert_eq!(paid_by, Some(subscription));

    // recovery
    round_trip!(
        db,
        recovery::guild_roles::Entity,
        recovery::guild_roles::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            discord_role_id: 21,
            name: "Moderators".into(),
            color: 0x00ff_aa00,
            secondary_color: Some(0x0000_00ff),
            tertiary_color: None,
            hoist: true,
            position: 5,
            permissions: 1 << 40 | 8,
            mentionable: false,
            managed: true,
            icon: None,
            unicode_emoji: Some("🛡".into()),
            tags: Some(json!({"bot_id": "1180000000000000030"})),
            flags: 1,
            valid_from: t0,
            valid_to: None,
            ended_by: None,
            synced_at: t1,
        }
    );
    round_trip!(
        db,
        recovery::guild_channels::Entity,
        recovery::guild_channels::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            discord_channel_id: 31,
            kind: 15,
            name: "help".into(),
            parent_id: Some(30),
            position: 2,
            topic: Some("ask here".into()),
            nsfw: false,
            rate_limit_per_user: 10,
            bitrate: None,
            user_limit: None,
            rtc_region: None,
            video_quality_mode: None,
            default_auto_archive_duration: Some(1440),
            default_thread_rate_limit_per_user: Some(5),
            available_tags: Some(json!([{"name": "bug", "moderated": false}])),
            default_reaction_emoji: Some(json!({"emoji_name": "👍"})),
            default_sort_order: Some(0),
            default_forum_layout: Some(1),
            flags: 16,
            thread: None,
            valid_from: t0,
            valid_to: Some(t1),
            ended_by: Some("delete".into()),
            synced_at: t0,
        }
    );
    round_trip!(
        db,
        recovery::guild_permission_overrides::Entity,
        recovery::guild_permission_overrides::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            discord_channel_id: 31,
            target_id: 21,
            target_type: 0,
            allow: 1024,
            deny: 2048,
            valid_from: t0,
            valid_to: None,
            ended_by: None,
            synced_at: t0,
        }
    );
    round_trip!(
        db,
        recovery::guild_settings::Entity,
        recovery::guild_settings::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            name: "Umbra HQ".into(),
            icon: Some("icon".into()),
            description: None,
            verification_level: 2,
            default_message_notifications: 1,
            explicit_content_filter: 2,
            mfa_level: 1,
            afk_channel_id: Some(32),
            afk_timeout: 300,
            system_channel_id: Some(33),
            system_channel_flags: 3,
            rules_channel_id: Some(34),
            public_updates_channel_id: Some(35),
            safety_alerts_channel_id: None,
            preferred_locale: "ko".into(),
            premium_progress_bar_enabled: true,
            premium_tier: 2,
            features: vec!["COMMUNITY".into()],
            vanity_url_code: None,
            banner: None,
            splash: None,
            valid_from: t0,
            valid_to: None,
            ended_by: None,
            synced_at: t1,
            last_full_sync_at: Some(t1),
            sync_state: Some("live".into()),
            bans_known_since: Some(t0),
            discovery_splash: Some("abc".into()),
            stickers: serde_json::json!([]),
            automod: Some(serde_json::json!([{"id": "2", "name": "Keywords"}])),
            scheduled_events: Some(serde_json::json!([{"id": "3", "name": "Town hall"}])),
            welcome_screen: Some(
                serde_json::json!({"enabled": false, "description": null, "channels": []})
            ),
            onboarding: Some(
                serde_json::json!({"enabled": false, "mode": 0, "default_channels": [], "prompts": []})
            ),
            webhooks: Some(
                serde_json::json!([{"id": "4", "name": "Alerts", "channel_id": "5", "avatar": null}])
            ),
            emojis: serde_json::json!([{"id": "1", "name": "wave", "roles": [], "animated": false}]),
        }
    );
    let payload = bytes(0x28, 123);
    let snapshot = round_trip!(
        db,
        recovery::snapshots::Entity,
        recovery::snapshots::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            trigger: "scheduled".into(),
            label: Some("nightly".into()),
            format_version: 1,
            size_bytes: 123,
            payload,
            checksum: bytes(4, 32),
            content_hash: bytes(5, 32),
            uncompressed_bytes: 4567,
            role_count: 10,
            channel_count: 20,
            overwrite_count: 30,
            member_count: 40,
            ban_count: Some(3),
            pinned: true,
            pin_reason: Some("last before incident".into()),
            as_of: t0,
            schedule_slot: Some(29_000_001),
            created_by_discord_id: None,
            created_at: t0,
            expires_at: None,
        }
    );
    let incident = round_trip!(
        db,
        recovery::antinuke_incidents::Entity,
        recovery::antinuke_incidents::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            emergency_snapshot_id: Some(snapshot.id),
            pinned_snapshot_id: Some(snapshot.id),
            actor_discord_id: 1_180_000_000_000_000_066,
            actor_is_bot: true,
            action_class: "channel_delete".into(),
            action_count: 12,
            first_action_at: t0,
            detected_at: t1,
            dedupe_slot: 7,
            punishment: "ban".into(),
            response: json!([{"step": "ban", "ok": true}]),
            stripped_role_ids: vec![21, 22],
            destroyed: json!({"channels": ["31"]}),
            status: "false_positive".into(),
            resolved_at: Some(t2),
            resolved_by_discord_id: Some(user.discord_user_id),
            created_at: t1,
            updated_at: t2,
        }
    );
    let job = round_trip!(
        db,
        recovery::restore_jobs::Entity,
        recovery::restore_jobs::Model {
            id: Uuid::now_v7(),
            guild_id: guild.id,
            snapshot_id: Some(snapshot.id),
            pre_restore_snapshot_id: None,
            incident_id: Some(incident.id),
            requested_by_discord_id: user.discord_user_id,
            confirmed_by_discord_id: Some(user.discord_user_id),
            status: "completed".into(),
            mode: "merge".into(),
            components: vec!["roles".into(), "channels".into(), "overwrites".into()],
            plan: json!({"steps": [{"op": "create_role", "snapshot_id": "21"}]}),
            plan_hash: bytes(6, 32),
            id_map: json!({"21": "1180000000000000077"}),
            progress: json!({"0": "done"}),
            total_steps: 1,
            done_steps: 1,
            failed_steps: 0,
            error_report: Some(json!([])),
            cancel_requested: false,
            progress_message: Some(json!({"channel_id": "33", "message_id": "34"})),
            lease_owner: None,
            lease_until: None,
            fencing: 1,
            heartbeat_at: Some(t1),
            created_at: t0,
            expires_at: t1,
            confirmed_at: Some(t0),
            started_at: Some(t0),
            finished_at: Some(t1),
            approval: Some(json!({"state": "approved", "requested_by": "1", "decided_by": "2"})),
        }
    );
    let emergency_of = snapshot
        .find_related(recovery::antinuke_incidents::Entity)
        .one(db)
        .await
        .unwrap();
    assert_eq!(emergency_of, Some(incident));
    let jobs = snapshot
        .find_related(recovery::restore_jobs::Entity)
        .all(db)
        .await
        .unwrap();
    assert_eq!(jobs, [job]);

    // notification
    let request = round_trip!(
        db,
        notification::requests::Entity,
        notification::requests::Model {
            id: Uuid::now_v7(),
            guild_id: Some(guild.id),
            recipient_discord_id: user.discord_user_id,
            kind: "incident_detected".into(),
            category: "antinuke".into(),
            template_key: "notify-incident-detected".into(),
            args: json!({"actor": "1180000000000000066"}),
            locale: Some("ko".into()),
            status: "sent".into(),
            attempts: 1,
            next_attempt_at: t0,
            last_error: None,
            delivered_via: Some("dm".into()),
            sent_channel_id: Some(41),
            sent_message_id: Some(42),
            sent_at: Some(t1),
            dedupe_key: "outbox-1:incident_detected".into(),
            lease_owner: None,
            lease_until: None,
            fencing: 1,
            created_at: t0,
            updated_at: t1,
        }
    );
    let preferences = round_trip!(
        db,
        notification::preferences::Entity,
        notification::preferences::Model {
            id: Uuid::now_v7(),
            user_id: user.id,
            locale: Some("en-US".into()),
            dm_enabled: false,
            muted_categories: vec!["billing".into()],
            created_at: t0,
            updated_at: t1,
        }
    );
    let prefers = user
        .find_related(notification::preferences::Entity)
        .one(db)
        .await
        .unwrap();
    assert_eq!(prefers, Some(preferences));
    let targets = guild
        .find_related(notification::requests::Entity)
        .all(db)
        .await
        .unwrap();
    assert_eq!(targets, [request]);

    // audit, webhook, events
    let outbox = round_trip!(
        db,
        events::outbox::Entity,
        events::outbox::Model {
            id: Uuid::now_v7(),
            event_type: "recovery.incident_detected".into(),
            aggregate_type: "incident".into(),
            aggregate_id: "x".into(),
            guild_discord_id: Some(guild.discord_guild_id),
            payload: json!({"incident": 1}),
            occurred_at: t0,
            available_at: t1,
            published_at: Some(t2),
            attempts: 2,
            last_error: Some("timeout".into()),
            dead_at: None,
            delivered_to: vec!["audit".into(), "notification".into()],
            lease_owner: None,
            lease_until: None,
            fencing: 2,
        }
    );
    let recorded = round_trip!(
        db,
        audit::events::Entity,
        audit::events::Model {
            id: Uuid::now_v7(),
            outbox_id: outbox.id,
            event_type: outbox.event_type.clone(),
            aggregate_type: outbox.aggregate_type.clone(),
            aggregate_id: outbox.aggregate_id.clone(),
            guild_id: Some(guild.id),
            guild_discord_id: Some(guild.discord_guild_id),
            actor_user_id: Some(user.id),
            actor_discord_id: Some(user.discord_user_id),
            payload: outbox.payload.clone(),
            occurred_at: outbox.occurred_at,
            recorded_at: t1,
        }
    );
    let actor_history = user
        .find_related(audit::events::Entity)
        .all(db)
        .await
        .unwrap();
    assert_eq!(actor_history, [recorded]);
    round_trip!(
        db,
        webhook::events::Entity,
        webhook::events::Model {
            id: Uuid::now_v7(),
            provider: "toss".into(),
            event_type: "PAYMENT_STATUS_CHANGED".into(),
            dedupe_key: "pay_0001:DONE:2026-11-25T01:02:03".into(),
            payload: json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {}}),
            status: "processed".into(),
            attempts: 1,
            error: None,
            received_at: t0,
            processed_at: Some(t1),
        }
    );
}
