//! Purpose: `db::Tx`, the one transaction type — a SeaORM entity write, a member bulk write
//! (sqlx, COPY) and an outbox event in one `Tx` roll back together and commit together, and a
//! unique violation inside it is reported as SeaORM reports it.

use entity::identity::users;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, SqlErr};
use umbra::db::Tx;
use umbra::member::{MemberService, MemberState, MemberWriter};
use umbra::outbox::{self, NewEvent, event_types};
use uuid::Uuid;

use crate::support::db::TestDb;

fn user(id: Uuid, discord_id: i64) -> users::ActiveModel {
    users::ActiveModel {
        id: Set(id),
        discord_user_id: Set(discord_id),
        username: Set(Some("owner".into())),
        ..Default::default()
    }
}

fn member(discord_id: u64) -> MemberState {
    MemberState {
        discord_user_id: discord_id,
        username: format!("m{discord_id}"),
        global_name: None,
        nick: None,
        role_ids: vec![],
        is_bot: false,
        joined_at: None,
    }
}

/// Writes a user (SeaORM), a guild it owns (SQL), 300 members (the member writer's COPY path)
/// and an outbox event, all in `tx`.
async fn write_all(tx: &Tx, service: &MemberService, discord_id: i64) -> Uuid {
    let owner = Uuid::now_v7();
    user(owner, discord_id).insert(tx).await.expect("a user");
    let guild = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO guild.guilds (id, discord_guild_id, owner_user_id, name) VALUES ($1, $2, $3, 'g')",
    )
    .bind(guild)
    .bind(discord_id + 1)
    .bind(owner)
    .execute(&mut **tx.lock().await)
    .await
    .expect("a guild");
    let members: Vec<MemberState> = (0..300).map(|i| member(900_000 + i)).collect();
    let stats = service
        .insert_new(tx, guild, &members)
        .await
        .expect("the members");
    assert_eq!(stats.written, 300);
    outbox::append(
        tx,
        NewEvent::new(
            event_types::GUILD_INSTALLED,
            "guild",
            discord_id.to_string(),
            serde_json::json!({}),
        ),
    )
    .await
    .expect("the event");
    owner
}

async fn counts(db: &TestDb) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM identity.users), (SELECT count(*) FROM guild.guilds), \
                (SELECT count(*) FROM member.members), (SELECT count(*) FROM events.outbox)",
    )
    .fetch_one(&db.pool)
    .await
    .expect("counts")
}

#[tokio::test]
async fn an_entity_write_a_member_bulk_write_and_an_event_share_one_transaction() {
    let db = TestDb::migrated().await;
    let service = MemberService::new(db.pool.clone(), 100);
    let tx = Tx::begin(&db.pool).await.expect("begin");
    write_all(&tx, &service, 1_000_000_000_000_001).await;
    tx.rollback().await.expect("rollback");
    assert_eq!(
        counts(&db).await,
        (0, 0, 0, 0),
        "nothing of a rolled-back Tx stays"
    );

    let tx = Tx::begin_on(&db.db).await.expect("begin");
    let owner = write_all(&tx, &service, 1_000_000_000_000_001).await;
    // Reads inside the transaction see its own writes, through SeaORM as through sqlx.
    let seen = users::Entity::find_by_id(owner)
        .one(&tx)
        .await
        .expect("read");
    assert!(seen.is_some());
    tx.commit().await.expect("commit");
    assert_eq!(
        counts(&db).await,
        (1, 1, 300, 1),
        "everything of a committed Tx is there"
    );

    // A dropped Tx rolls back; a unique violation is reported the way SeaORM reports it.
    let tx = Tx::begin(&db.pool).await.expect("begin");
    let err = user(Uuid::now_v7(), 1_000_000_000_000_001)
        .insert(&tx)
        .await
        .expect_err("the same Discord user twice");
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "{err:?}"
    );
    drop(tx);
    assert_eq!(counts(&db).await, (1, 1, 300, 1));
}
