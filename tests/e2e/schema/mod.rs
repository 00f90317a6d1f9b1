//! Purpose: the database schema on real PostgreSQL: migrations up/down/up, the seed's 10 schemas
//! and 23 tables, the ER diagram's foreign keys and their ON DELETE, primary keys, identity
//! uniqueness, state CHECKs, the plan seed, and a guild purge. Every test database has
//! `search_path = umbra_empty` (an empty schema), so everything here also proves that the
//! migrations and queries are schema-qualified.

mod constraints;
mod entities;

use std::collections::BTreeSet;

use sqlx::PgPool;

use crate::support::db::TestDb;

/// The seed's catalog: every table in its schema (23).
pub const TABLES: [(&str, &str); 23] = [
    ("identity", "users"),
    ("identity", "sessions"),
    ("guild", "guilds"),
    ("guild", "guild_configs"),
    ("member", "members"),
    ("member", "web_join_requests"),
    ("licensing", "plans"),
    ("licensing", "licenses"),
    ("billing", "billing_keys"),
    ("billing", "subscriptions"),
    ("billing", "payment_attempts"),
    ("recovery", "guild_roles"),
    ("recovery", "guild_channels"),
    ("recovery", "guild_permission_overrides"),
    ("recovery", "guild_settings"),
    ("recovery", "snapshots"),
    ("recovery", "restore_jobs"),
    ("recovery", "antinuke_incidents"),
    ("notification", "requests"),
    ("notification", "preferences"),
    ("audit", "events"),
    ("webhook", "events"),
    ("events", "outbox"),
];

/// One foreign key: `child.column -> parent(id) ON DELETE on_delete`.
struct Fk {
    child: &'static str,
    column: &'static str,
    parent: &'static str,
    on_delete: &'static str,
}

const fn fk(
    child: &'static str,
    column: &'static str,
    parent: &'static str,
    on_delete: &'static str,
) -> Fk {
    Fk {
        child,
        column,
        parent,
        on_delete,
    }
}

/// The 22 relationships of the seed's ER diagram, with the ON DELETE each one was given.
const ER_DIAGRAM: [Fk; 22] = [
    // IDENTITY_USERS ||--o{ GUILD_GUILDS : "owner"
    fk(
        "guild.guilds",
        "owner_user_id",
        "identity.users",
        "RESTRICT",
    ),
    // IDENTITY_USERS ||--o{ MEMBER_MEMBERS : "linked to"
    fk("member.members", "user_id", "identity.users", "SET NULL"),
    // IDENTITY_USERS ||--o{ BILLING_BILLING_KEYS : owns
    fk(
        "billing.billing_keys",
        "user_id",
        "identity.users",
        "CASCADE",
    ),
    // IDENTITY_USERS ||--o{ BILLING_SUBSCRIPTIONS : pays
    fk(
        "billing.subscriptions",
        "user_id",
        "identity.users",
        "RESTRICT",
    ),
    // IDENTITY_USERS ||--o{ AUDIT_EVENTS : "actor"
    fk(
        "audit.events",
        "actor_user_id",
        "identity.users",
        "SET NULL",
    ),
    // IDENTITY_USERS ||--|| NOTIFICATION_PREFERENCES : "prefers"
    fk(
        "notification.preferences",
        "user_id",
        "identity.users",
        "CASCADE",
    ),
    // GUILD_GUILDS ||--|| GUILD_CONFIGS : config
    fk("guild.guild_configs", "guild_id", "guild.guilds", "CASCADE"),
    // GUILD_GUILDS ||--o{ MEMBER_MEMBERS : contains
    fk("member.members", "guild_id", "guild.guilds", "CASCADE"),
    // GUILD_GUILDS ||--o{ LICENSING_LICENSES : licensed
    fk("licensing.licenses", "guild_id", "guild.guilds", "CASCADE"),
    // GUILD_GUILDS ||--o{ BILLING_SUBSCRIPTIONS : subscribes
    fk(
        "billing.subscriptions",
        "guild_id",
        "guild.guilds",
        "RESTRICT",
    ),
    // GUILD_GUILDS ||--o{ RECOVERY_SNAPSHOTS : "backed up"
    fk("recovery.snapshots", "guild_id", "guild.guilds", "CASCADE"),
    // GUILD_GUILDS ||--o{ RECOVERY_RESTORE_JOBS : restored
    fk(
        "recovery.restore_jobs",
        "guild_id",
        "guild.guilds",
        "CASCADE",
    ),
    // GUILD_GUILDS ||--o{ RECOVERY_ANTINUKE_INCIDENTS : "detected in"
    fk(
        "recovery.antinuke_incidents",
        "guild_id",
        "guild.guilds",
        "CASCADE",
    ),
    // GUILD_GUILDS ||--o{ AUDIT_EVENTS : "context"
    fk("audit.events", "guild_id", "guild.guilds", "SET NULL"),
    // GUILD_GUILDS ||--o{ NOTIFICATION_REQUESTS : "target"
    fk(
        "notification.requests",
        "guild_id",
        "guild.guilds",
        "SET NULL",
    ),
    // LICENSING_PLANS ||--o{ LICENSING_LICENSES : "plan of"
    fk(
        "licensing.licenses",
        "plan_id",
        "licensing.plans",
        "RESTRICT",
    ),
    // LICENSING_PLANS ||--o{ BILLING_SUBSCRIPTIONS : "subscribed to"
    fk(
        "billing.subscriptions",
        "plan_id",
        "licensing.plans",
        "RESTRICT",
    ),
    // LICENSING_LICENSES ||--o| BILLING_SUBSCRIPTIONS : "paid by"
    fk(
        "billing.subscriptions",
        "license_id",
        "licensing.licenses",
        "SET NULL",
    ),
    // BILLING_BILLING_KEYS ||--o{ BILLING_SUBSCRIPTIONS : "charged via"
    fk(
        "billing.subscriptions",
        "billing_key_id",
        "billing.billing_keys",
        "SET NULL",
    ),
    // BILLING_SUBSCRIPTIONS ||--o{ BILLING_PAYMENT_ATTEMPTS : has
    fk(
        "billing.payment_attempts",
        "subscription_id",
        "billing.subscriptions",
        "RESTRICT",
    ),
    // RECOVERY_SNAPSHOTS ||--o{ RECOVERY_RESTORE_JOBS : "source"
    fk(
        "recovery.restore_jobs",
        "snapshot_id",
        "recovery.snapshots",
        "SET NULL",
    ),
    // RECOVERY_SNAPSHOTS ||--o| RECOVERY_ANTINUKE_INCIDENTS : "emergency"
    fk(
        "recovery.antinuke_incidents",
        "emergency_snapshot_id",
        "recovery.snapshots",
        "SET NULL",
    ),
];

/// Foreign keys beyond the diagram: owned rows that need their parent (sessions, join requests,
/// the live-sync mirror) and the links between recovery rows.
const BEYOND_DIAGRAM: [Fk; 12] = [
    fk("identity.sessions", "user_id", "identity.users", "CASCADE"),
    fk(
        "member.web_join_requests",
        "guild_id",
        "guild.guilds",
        "CASCADE",
    ),
    fk(
        "member.web_join_requests",
        "user_id",
        "identity.users",
        "SET NULL",
    ),
    fk(
        "recovery.guild_roles",
        "guild_id",
        "guild.guilds",
        "CASCADE",
    ),
    fk(
        "recovery.guild_channels",
        "guild_id",
        "guild.guilds",
        "CASCADE",
    ),
    fk(
        "recovery.guild_permission_overrides",
        "guild_id",
        "guild.guilds",
        "CASCADE",
    ),
    fk(
        "recovery.guild_settings",
        "guild_id",
        "guild.guilds",
        "CASCADE",
    ),
    fk(
        "recovery.restore_jobs",
        "pre_restore_snapshot_id",
        "recovery.snapshots",
        "SET NULL",
    ),
    fk(
        "recovery.restore_jobs",
        "incident_id",
        "recovery.antinuke_incidents",
        "SET NULL",
    ),
    fk(
        "recovery.antinuke_incidents",
        "pinned_snapshot_id",
        "recovery.snapshots",
        "SET NULL",
    ),
    // Plan changes (migration 400): the plan a subscription moves to, the plan an upgrade
    // charge paid for. Optional references: a deleted plan drops them.
    fk(
        "billing.subscriptions",
        "next_plan_id",
        "licensing.plans",
        "SET NULL",
    ),
    fk(
        "billing.payment_attempts",
        "plan_id",
        "licensing.plans",
        "SET NULL",
    ),
];

/// The "one" side of the diagram's 1:1 and 1:0..1 relationships: a single-column unique key.
const ONE_TO_ONE: [(&str, &str); 4] = [
    ("notification.preferences", "user_id"),
    ("guild.guild_configs", "guild_id"),
    ("billing.subscriptions", "license_id"),
    ("recovery.antinuke_incidents", "emergency_snapshot_id"),
];

/// (schema, table, key columns, their types, whether any has a default)
type PrimaryKeyRow = (String, String, Vec<String>, Vec<String>, bool);

/// (code, price_krw, billing_period_days, snapshot_retention, min interval, member restore limit)
type PlanLimits<'a> = (&'a str, i64, Option<i32>, i32, i32, Option<i32>);

/// Every relation (tables, views, sequences, ...) outside PostgreSQL's own schemas, as
/// `schema.name`.
async fn user_relations(pool: &PgPool) -> BTreeSet<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT n.nspname || '.' || c.relname \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg\\_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().map(|(name,)| name).collect()
}

/// Schemas other than PostgreSQL's own, `public` and the harness's empty one.
async fn umbra_schemas(pool: &PgPool) -> BTreeSet<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT nspname FROM pg_catalog.pg_namespace \
         WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public', 'umbra_empty') \
           AND nspname NOT LIKE 'pg\\_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().map(|(name,)| name).collect()
}

fn expected_relations() -> BTreeSet<String> {
    TABLES
        .iter()
        .map(|(schema, table)| format!("{schema}.{table}"))
        .chain(["public.seaql_migrations".to_owned()])
        .collect()
}

async fn search_path(pool: &PgPool) -> String {
    let (path,): (String,) = sqlx::query_as("SELECT pg_catalog.current_setting('search_path')")
        .fetch_one(pool)
        .await
        .unwrap();
    path
}

#[tokio::test]
async fn the_test_role_searches_only_an_empty_schema() {
    let db = TestDb::migrated().await;
    assert_eq!(search_path(&db.pool).await, "umbra_empty");
    let in_empty: Vec<String> = user_relations(&db.pool)
        .await
        .into_iter()
        .filter(|name| name.starts_with("umbra_empty."))
        .collect();
    assert!(in_empty.is_empty(), "objects in umbra_empty: {in_empty:?}");
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again_recreating_every_table() {
    let db = TestDb::empty().await;
    let names: Vec<String> = migration::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    // One migration per schema to start, in dependency order; later changes follow them.
    assert!(names.len() >= 10);
    for (name, schema) in names.iter().zip(migration::SCHEMAS) {
        assert!(
            name.ends_with(&format!("_{schema}")),
            "{name} creates {schema}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, names, "migrations are listed oldest first");

    let applied = migration::up(&db.db).await.unwrap();
    assert_eq!(applied, names);
    assert_eq!(user_relations(&db.pool).await, expected_relations());

    let reverted = migration::down(&db.db, None).await.unwrap();
    let mut newest_first = names.clone();
    newest_first.reverse();
    assert_eq!(reverted, newest_first);
    assert_eq!(
        user_relations(&db.pool).await,
        BTreeSet::from(["public.seaql_migrations".to_owned()]),
        "down removes every table it created"
    );
    assert!(
        umbra_schemas(&db.pool).await.is_empty(),
        "down removes the schemas"
    );
    let (types,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_catalog.pg_type t \
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname IN ('public', 'umbra_empty')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // seaql_migrations' own row type and its array type.
    assert_eq!(types, 2, "no types left behind");

    let reapplied = migration::up(&db.db).await.unwrap();
    assert_eq!(reapplied, names);
    assert_eq!(user_relations(&db.pool).await, expected_relations());
    let (plans,): (i64,) = sqlx::query_as("SELECT count(*) FROM licensing.plans")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(plans, 3, "the plan seed is applied again");
    assert!(
        migration::status(&db.db)
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied)
    );
    assert!(
        migration::up(&db.db).await.unwrap().is_empty(),
        "up is a no-op when nothing is pending"
    );
}

#[tokio::test]
async fn reverting_one_step_at_a_time_works_in_dependency_order() {
    let db = TestDb::migrated().await;
    let mut names: Vec<String> = migration::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    while let Some(newest) = names.pop() {
        assert_eq!(migration::down(&db.db, Some(1)).await.unwrap(), [newest]);
    }
    assert!(umbra_schemas(&db.pool).await.is_empty());
    assert!(migration::down(&db.db, Some(1)).await.unwrap().is_empty());
}

#[tokio::test]
async fn there_are_exactly_the_seeds_ten_schemas_and_twenty_three_tables_and_nothing_else_in_public()
 {
    let db = TestDb::migrated().await;
    let expected_schemas: BTreeSet<String> =
        migration::SCHEMAS.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(expected_schemas.len(), 10);
    assert_eq!(umbra_schemas(&db.pool).await, expected_schemas);
    assert_eq!(TABLES.len(), 23);
    assert_eq!(user_relations(&db.pool).await, expected_relations());

    // Only base tables (no views, sequences, partitions); every table in a seed schema.
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text, table_type::text \
         FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 24);
    for (schema, table, kind) in rows {
        assert_eq!(kind, "BASE TABLE", "{schema}.{table}");
        assert!(
            schema == "public" && table == "seaql_migrations"
                || TABLES.contains(&(schema.as_str(), table.as_str())),
            "unexpected table {schema}.{table}"
        );
    }

    // No functions, types or other objects hide in `public` or the search_path schema either.
    let (functions,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname IN ('public', 'umbra_empty')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(functions, 0);
    let (types,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_catalog.pg_type t \
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname IN ('public', 'umbra_empty') \
           AND t.typname NOT IN ('seaql_migrations', '_seaql_migrations')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(types, 0);
}

#[tokio::test]
async fn every_table_has_a_single_uuid_primary_key_named_id_that_the_application_fills() {
    let db = TestDb::migrated().await;
    let rows: Vec<PrimaryKeyRow> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, \
                array_agg(a.attname::text ORDER BY a.attnum), \
                array_agg(pg_catalog.format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum), \
                bool_or(a.atthasdef) \
         FROM pg_catalog.pg_constraint k \
         JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey) \
         WHERE k.contype = 'p' AND n.nspname::text = ANY($1) \
         GROUP BY n.nspname, c.relname",
    )
    .bind(migration::SCHEMAS.to_vec())
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 23, "every table has a primary key");
    for (schema, table, columns, types, has_default) in rows {
        assert_eq!(columns, ["id"], "{schema}.{table}");
        assert_eq!(types, ["uuid"], "{schema}.{table}");
        assert!(
            !has_default,
            "{schema}.{table}.id must have no default: the application generates UUID v7"
        );
    }
}

/// Every single-column foreign key as (child, column, parent, on_delete, column nullable).
async fn foreign_keys(pool: &PgPool) -> Vec<(String, String, String, String, bool)> {
    let rows: Vec<(String, String, String, String, String, i32, bool)> = sqlx::query_as(
        "SELECT cn.nspname || '.' || cl.relname, a.attname::text, \
                pn.nspname || '.' || pl.relname, pa.attname::text, \
                k.confdeltype::text, pg_catalog.cardinality(k.conkey), NOT a.attnotnull \
         FROM pg_catalog.pg_constraint k \
         JOIN pg_catalog.pg_class cl ON cl.oid = k.conrelid \
         JOIN pg_catalog.pg_namespace cn ON cn.oid = cl.relnamespace \
         JOIN pg_catalog.pg_class pl ON pl.oid = k.confrelid \
         JOIN pg_catalog.pg_namespace pn ON pn.oid = pl.relnamespace \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
         JOIN pg_catalog.pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1] \
         WHERE k.contype = 'f'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(
            |(child, column, parent, parent_column, action, width, nullable)| {
                assert_eq!(
                    width, 1,
                    "{child}.{column}: single-column foreign keys only"
                );
                assert_eq!(
                    parent_column, "id",
                    "{child}.{column} references {parent}.id"
                );
                let on_delete = match action.as_str() {
                    "a" => "NO ACTION",
                    "r" => "RESTRICT",
                    "c" => "CASCADE",
                    "n" => "SET NULL",
                    "d" => "SET DEFAULT",
                    other => panic!("unknown ON DELETE action {other}"),
                };
                (child, column, parent, on_delete.to_owned(), nullable)
            },
        )
        .collect()
}

#[tokio::test]
async fn every_relationship_of_the_er_diagram_is_a_foreign_key_with_its_intended_on_delete() {
    let db = TestDb::migrated().await;
    let actual = foreign_keys(&db.pool).await;
    let key = |c: &str, col: &str| (c.to_owned(), col.to_owned());

    for expected in ER_DIAGRAM.iter().chain(BEYOND_DIAGRAM.iter()) {
        let found = actual
            .iter()
            .find(|(child, column, ..)| key(child, column) == key(expected.child, expected.column))
            .unwrap_or_else(|| {
                panic!(
                    "missing foreign key {}.{} -> {}",
                    expected.child, expected.column, expected.parent
                )
            });
        assert_eq!(
            (found.2.as_str(), found.3.as_str()),
            (expected.parent, expected.on_delete),
            "{}.{}",
            expected.child,
            expected.column
        );
        // SET NULL needs a nullable column; CASCADE/RESTRICT children always have a parent.
        assert_eq!(
            found.4,
            expected.on_delete == "SET NULL",
            "{}.{} nullability",
            expected.child,
            expected.column
        );
    }
    assert_eq!(
        actual.len(),
        ER_DIAGRAM.len() + BEYOND_DIAGRAM.len(),
        "no foreign keys beyond the listed ones: {actual:?}"
    );

    // 1:1 and 1:0..1 relationships are backed by a single-column unique key.
    for (table, column) in ONE_TO_ONE {
        let (unique,): (bool,) = sqlx::query_as(
            "SELECT EXISTS ( \
               SELECT 1 FROM pg_catalog.pg_index i \
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
               WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnatts = 1 \
                 AND i.indpred IS NULL AND a.attname = $2)",
        )
        .bind(table)
        .bind(column)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert!(unique, "{table}.{column} must be unique (1:1 / 1:0..1)");
    }
}

#[tokio::test]
async fn the_seeded_plans_are_free_and_two_paid_plans_priced_in_krw() {
    use entity::licensing::plans;
    use sea_orm::{EntityTrait, QueryOrder};

    let db = TestDb::migrated().await;
    let rows = plans::Entity::find()
        .order_by_asc(plans::Column::SortOrder)
        .all(&db.db)
        .await
        .unwrap();
    let limits: Vec<PlanLimits<'_>> = rows
        .iter()
        .map(|p| {
            (
                p.code.as_str(),
                p.price_krw,
                p.billing_period_days,
                p.snapshot_retention,
                p.min_snapshot_interval_minutes,
                p.member_restore_limit,
            )
        })
        .collect();
    assert_eq!(
        limits,
        [
            ("free", 0, None, 3, 1440, Some(100)),
            ("pro", 4900, Some(30), 20, 360, Some(1000)),
            ("max", 9900, Some(30), 100, 60, None),
        ]
    );
    for plan in &rows {
        assert!(plan.is_active, "{} is on sale", plan.code);
        assert_eq!(
            plan.id.get_version_num(),
            7,
            "{}: plan ids are UUID v7-shaped",
            plan.code
        );
        assert_eq!(plan.antinuke_features["detection"], true, "{}", plan.code);
    }
    let features = |i: usize| &rows[i].antinuke_features;
    assert_eq!(
        features(0)["punishments"],
        serde_json::json!(["strip_roles"])
    );
    assert_eq!(features(0)["lockdown"], false);
    assert_eq!(features(0)["custom_thresholds"], false);
    assert_eq!(features(0)["auto_revert"], false);
    let all_punishments = serde_json::json!(["strip_roles", "quarantine", "kick", "ban"]);
    assert_eq!(features(1)["punishments"], all_punishments);
    assert_eq!(features(1)["lockdown"], true);
    assert_eq!(features(1)["custom_thresholds"], true);
    assert_eq!(features(1)["auto_revert"], false);
    assert_eq!(features(2)["punishments"], all_punishments);
    assert_eq!(features(2)["lockdown"], true);
    assert_eq!(features(2)["custom_thresholds"], true);
    assert_eq!(features(2)["auto_revert"], true);

    // The ids are fixed: every installation has the same plan ids.
    let ids: Vec<String> = rows.iter().map(|p| p.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "01a21000-8800-75b7-965b-dfbbff276a08",
            "01a21000-8801-7154-9532-4efc322f5860",
            "01a21000-8802-78e3-816d-582826bd9bcf",
        ]
    );
}
