//! Purpose: the member domain's bulk path on a real server — a first load checks its foreign
//! keys once per batch when the database role may leave the row triggers out, refuses rows of
//! a guild that does not exist exactly as the row-by-row check would, puts the triggers back
//! for the rest of the transaction, and falls back to the row-by-row checks for a role that may
//! not.

use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use umbra::db::Tx;
use umbra::member::{MemberService, MemberState, MemberWriter};
use uuid::Uuid;

use crate::support::db::TestDb;

/// More than the COPY threshold: a first load's batch.
const MEMBERS: u64 = 600;

/// The first member's Discord id (each test has a database of its own).
const FIRST: u64 = 1_195_000_000_000_000_000;

fn snowflake() -> i64 {
    static NEXT: AtomicI64 = AtomicI64::new(1_190_000_000_000_000_000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn members() -> Vec<MemberState> {
    (0..MEMBERS)
        .map(|i| MemberState {
            discord_user_id: FIRST + i,
            username: format!("member{i}"),
            global_name: None,
            nick: (i % 3 == 0).then(|| format!("nick {i}")),
            role_ids: vec![1_100_000_000_000_000_001],
            is_bot: false,
            joined_at: None,
        })
        .collect()
}

/// A guild row and an Umbra account whose Discord id is [`FIRST`] (the first member's).
async fn guild_and_account(pool: &PgPool) -> (Uuid, Uuid) {
    let (account, guild) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::query(
        "INSERT INTO identity.users (id, discord_user_id, username) VALUES ($1, $2, 'linked')",
    )
    .bind(account)
    .bind(i64::try_from(FIRST).unwrap())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO guild.guilds (id, discord_guild_id, owner_user_id, name) VALUES ($1, $2, $3, 'a guild')",
    )
    .bind(guild)
    .bind(snowflake())
    .bind(account)
    .execute(pool)
    .await
    .unwrap();
    (guild, account)
}

async fn current_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM member.members WHERE valid_to IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Every member is current, and the first one is linked to `account`.
async fn assert_all_stored_and_linked(pool: &PgPool, account: Uuid) {
    assert_eq!(current_rows(pool).await, i64::try_from(MEMBERS).unwrap());
    let linked: Option<Uuid> = sqlx::query_scalar(
        "SELECT user_id FROM member.members WHERE discord_user_id = $1 AND valid_to IS NULL",
    )
    .bind(i64::try_from(FIRST).unwrap())
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(linked, Some(account), "the member is linked to its account");
}

#[tokio::test]
async fn a_first_load_checks_foreign_keys_once_per_batch_and_puts_the_triggers_back() {
    let db = TestDb::migrated().await;
    let (guild, account) = guild_and_account(&db.pool).await;
    let service = MemberService::new(db.pool.clone(), 500);
    let tx = Tx::begin(&db.pool).await.unwrap();
    let stats = service.insert_new(&tx, guild, &members()).await.unwrap();
    assert_eq!(stats.written, MEMBERS);
    assert_eq!(
        service.bulk_load_checks_once(),
        Some(true),
        "a superuser may leave the row triggers out of a first load"
    );
    let role: String = sqlx::query_scalar("SELECT current_setting('session_replication_role')")
        .fetch_one(&mut **tx.lock().await)
        .await
        .unwrap();
    assert_eq!(
        role, "origin",
        "the triggers are back on right after the batch"
    );
    // ... so a later orphan in the same transaction is still refused by the foreign key.
    let orphan = sqlx::query(
        "INSERT INTO member.members (id, guild_id, discord_user_id, username, role_ids, is_bot) \
         VALUES ($1, $2, 1, 'orphan', '{}', false)",
    )
    .bind(Uuid::now_v7())
    .bind(Uuid::now_v7())
    .execute(&mut **tx.lock().await)
    .await
    .expect_err("a member of a guild that does not exist");
    assert_eq!(
        orphan.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("23503")
    );
    tx.rollback().await.unwrap();

    let tx = Tx::begin(&db.pool).await.unwrap();
    service.insert_new(&tx, guild, &members()).await.unwrap();
    tx.commit().await.unwrap();
    assert_all_stored_and_linked(&db.pool, account).await;
}

#[tokio::test]
async fn a_first_load_into_a_guild_that_does_not_exist_is_refused_and_writes_nothing() {
    let db = TestDb::migrated().await;
    // The trigger bypass is known to be allowed: only the guild check stands in the way.
    let (guild, _) = guild_and_account(&db.pool).await;
    let service = MemberService::new(db.pool.clone(), 500);
    let tx = Tx::begin(&db.pool).await.unwrap();
    service.insert_new(&tx, guild, &members()).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(service.bulk_load_checks_once(), Some(true));

    let tx = Tx::begin(&db.pool).await.unwrap();
    let refused = service
        .insert_new(&tx, Uuid::now_v7(), &members())
        .await
        .expect_err("rows of a guild that does not exist");
    let umbra::member::MemberError::Database(e) = refused;
    assert_eq!(
        e.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("23503"),
        "{e}"
    );
    drop(tx);
    assert_eq!(current_rows(&db.pool).await, 0);
}

#[tokio::test]
async fn a_role_that_may_not_leave_triggers_out_loads_with_row_by_row_checks() {
    let db = TestDb::migrated().await;
    let (guild, account) = guild_and_account(&db.pool).await;
    let role = format!("umbra_t_limited_{}", Uuid::now_v7().simple());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE {role} LOGIN; \
         GRANT USAGE ON SCHEMA member, guild, identity TO {role}; \
         GRANT SELECT, INSERT ON member.members TO {role}; \
         GRANT SELECT ON guild.guilds, identity.users TO {role};"
    )))
    .execute(&db.pool)
    .await
    .unwrap();
    let limited = db.options.clone().username(&role);
    let pool = PgPool::connect_with(limited).await.unwrap();
    let service = MemberService::new(pool.clone(), 500);
    let tx = Tx::begin(&pool).await.unwrap();
    let stats = service.insert_new(&tx, guild, &members()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stats.written, MEMBERS);
    assert_eq!(service.bulk_load_checks_once(), Some(false));
    assert_all_stored_and_linked(&db.pool, account).await;
    pool.close().await;
    let mut admin: PgConnection = db.options.clone().connect().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP OWNED BY {role}; DROP ROLE {role};"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.ok();
}
