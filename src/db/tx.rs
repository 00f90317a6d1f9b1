//! Purpose: [`Tx`], the one transaction type of Umbra: a PostgreSQL transaction that SeaORM
//! entities and statements run on (it is a `ConnectionTrait`), that `outbox::append` joins, and
//! whose raw connection sqlx work borrows (`COPY`, `UNNEST` bulk writes, the member writer). A
//! domain write, its outbox event and a member write therefore commit or roll back together.
//!
//! Dropping a `Tx` without `commit` rolls it back (sqlx's guarantee).

use async_trait::async_trait;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{Mutex, MutexGuard};

/// An open transaction. `&Tx` is all a participant needs: SeaORM calls take it as a
/// connection, sqlx calls borrow its connection with [`Tx::lock`].
pub struct Tx {
    inner: Mutex<Transaction<'static, Postgres>>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}

/// The transaction's connection, borrowed for sqlx calls: `&mut *tx.lock().await` is a
/// `&mut PgConnection`-like executor. Hold it only for the call (another participant waits).
pub type TxConn<'a> = MutexGuard<'a, Transaction<'static, Postgres>>;

impl Tx {
    /// Begins a transaction on a pooled connection.
    pub async fn begin(pool: &PgPool) -> Result<Self, DbErr> {
        let tx = pool.begin().await.map_err(conn_err)?;
        Ok(Self {
            inner: Mutex::new(tx),
        })
    }

    /// Begins a transaction on the pool behind a SeaORM connection (Umbra's are always
    /// PostgreSQL pools: see `db::Database::connect`).
    pub async fn begin_on(db: &DatabaseConnection) -> Result<Self, DbErr> {
        Self::begin(db.get_postgres_connection_pool()).await
    }

    /// The connection, for sqlx statements inside the transaction.
    pub async fn lock(&self) -> TxConn<'_> {
        self.inner.lock().await
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.inner.into_inner().commit().await.map_err(exec_err)
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.inner.into_inner().rollback().await.map_err(exec_err)
    }
}

fn query(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

// The same error shapes SeaORM's own connections give (so `DbErr::sql_err` still finds unique
// violations).
fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(e.into()))
}

/// An sqlx error as SeaORM would report it (for persistence code that mixes the two).
pub fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

fn conn_err(e: sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(e.into()))
}

#[async_trait]
impl ConnectionTrait for Tx {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut conn = self.lock().await;
        let done = query(&stmt).execute(&mut **conn).await.map_err(exec_err)?;
        Ok(done.into())
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.lock().await;
        let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut **conn)
            .await
            .map_err(exec_err)?;
        Ok(done.into())
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.lock().await;
        let row = query(&stmt)
            .fetch_optional(&mut **conn)
            .await
            .map_err(query_err)?;
        Ok(row.map(Into::into))
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.lock().await;
        let rows = query(&stmt)
            .fetch_all(&mut **conn)
            .await
            .map_err(query_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
