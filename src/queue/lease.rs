//! Purpose: the one lease queue every database-backed worker uses (the outbox relay, the
//! notification sender, the restore runner; next renewals and member pulls). A [`QueueTable`]
//! describes how a table is worked; its methods are the whole protocol:
//!
//! - **claim**: one short `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)` takes due
//!   rows (or rows whose lease ran out: their worker died), stamps the owner and the lease, and
//!   bumps the fencing counter (and the attempt count, where attempts are counted);
//! - **heartbeat**: extends a lease still held;
//! - every later write is **fenced**: `id = $1 AND fencing = $2 AND <held>`, so a worker whose
//!   lease was taken over cannot overwrite the new owner's work;
//! - **retry** puts a failed row back with a delay (backoff with jitter, see
//!   [`super::WorkerSettings::retry_delay`]) or ends it dead after its last attempt;
//! - **release** gives a row back untried (shutdown), its attempt not counted;
//! - **counts** are visible in `/metrics` (`umbra_queue_items{queue, state}`).
//!
//! Raw SQL on purpose: SeaORM cannot say `FOR UPDATE SKIP LOCKED` inside an `UPDATE ... IN`.
//! Every fragment below is a constant of the table's owner, never user input.

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use uuid::Uuid;

/// A claimed row: who holds it is proven by its fencing counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub id: Uuid,
    pub fencing: i64,
}

/// How failed attempts come back (tables whose rows are retried).
#[derive(Debug)]
pub struct Retry {
    /// The column holding when the row is due again.
    pub due_column: &'static str,
    /// Assignments for a failed attempt; `$5` is the attempt limit (e.g.
    /// `status = CASE WHEN attempts >= $5 THEN 'dead' ELSE 'pending' END`).
    pub on_failure: &'static str,
    /// True for a dead row (after `on_failure`).
    pub is_dead: &'static str,
}

/// One table worked as a lease queue. Its columns: `id uuid`, `lease_owner text`,
/// `lease_until timestamptz`, `fencing bigint` (and `attempts int`, `last_error text` when
/// [`QueueTable::retry`] is set).
#[derive(Debug)]
pub struct QueueTable {
    /// Its name in metrics and logs.
    pub name: &'static str,
    /// Schema-qualified.
    pub table: &'static str,
    /// Rows a worker may claim now.
    pub claimable: &'static str,
    /// Claim order (oldest first).
    pub order: &'static str,
    /// More assignments made by a claim (may be empty).
    pub on_claim: &'static str,
    /// What else holds for a row under a lease (e.g. `status = 'sending'`).
    pub held: &'static str,
    /// More assignments made by a release (may be empty).
    pub on_release: &'static str,
    /// `None`: rows are not retried (a claim does not count an attempt).
    pub retry: Option<Retry>,
    /// Rows waiting for a worker, rows held, dead rows (for the counts).
    pub waiting: &'static str,
    pub leased: &'static str,
    pub dead: &'static str,
}

/// How many rows of a queue are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub waiting: i64,
    pub leased: i64,
    pub dead: i64,
}

fn extra(assignments: &str) -> String {
    if assignments.is_empty() {
        String::new()
    } else {
        format!(", {assignments}")
    }
}

impl QueueTable {
    /// The condition of every fenced write: `$1` the id, `$2` the fencing counter.
    pub fn fenced(&self) -> String {
        format!("id = $1 AND fencing = $2 AND {}", self.held)
    }

    /// The assignments that end a lease (for a fenced write that finishes a row).
    pub const END_LEASE: &'static str = "lease_owner = NULL, lease_until = NULL";

    /// Claims up to `limit` rows for `owner` for `lease`; each row comes back with `returning`
    /// (columns of the row after the claim).
    pub async fn claim<'e>(
        &self,
        exec: impl PgExecutor<'e>,
        owner: &str,
        lease: Duration,
        limit: u32,
        returning: &str,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        let attempts = if self.retry.is_some() {
            ", attempts = q.attempts + 1"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE {table} AS q \
                SET lease_owner = $1, lease_until = now() + make_interval(secs => $2), \
                    fencing = q.fencing + 1{attempts}{on_claim} \
              WHERE q.id IN ( \
                    SELECT id FROM {table} WHERE {claimable} ORDER BY {order} LIMIT $3 \
                       FOR UPDATE SKIP LOCKED) \
             RETURNING {returning}",
            table = self.table,
            on_claim = extra(self.on_claim),
            claimable = self.claimable,
            order = self.order,
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(lease.as_secs_f64())
            .bind(i64::from(limit))
            .fetch_all(exec)
            .await
    }

    /// Extends a lease still held (also making `on_heartbeat`'s assignments). `None` when the
    /// row is no longer ours (fenced out or finished); else the row's `returning` columns.
    pub async fn heartbeat<'e>(
        &self,
        exec: impl PgExecutor<'e>,
        lease: Lease,
        duration: Duration,
        on_heartbeat: &str,
        returning: &str,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET lease_until = now() + make_interval(secs => $3){} \
              WHERE {} RETURNING {returning}",
            self.table,
            extra(on_heartbeat),
            self.fenced(),
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease.id)
            .bind(lease.fencing)
            .bind(duration.as_secs_f64())
            .fetch_optional(exec)
            .await
    }

    /// Gives a row back untried: claimable again at once, the claim's attempt not counted.
    /// False when the lease was lost.
    pub async fn release<'e>(
        &self,
        exec: impl PgExecutor<'e>,
        lease: Lease,
    ) -> Result<bool, sqlx::Error> {
        let attempts = if self.retry.is_some() {
            ", attempts = greatest(attempts - 1, 0)"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE {} SET {}{attempts}{} WHERE {}",
            self.table,
            Self::END_LEASE,
            extra(self.on_release),
            self.fenced(),
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease.id)
            .bind(lease.fencing)
            .execute(exec)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt: the row is due again after `retry_in`, or dead once it was
    /// attempted `max_attempts` times. `Some(dead)`, or `None` when the lease was lost (or the
    /// table does not retry).
    pub async fn retry<'e>(
        &self,
        exec: impl PgExecutor<'e>,
        lease: Lease,
        error: &str,
        retry_in: Duration,
        max_attempts: u32,
    ) -> Result<Option<bool>, sqlx::Error> {
        let Some(retry) = &self.retry else {
            return Ok(None);
        };
        let sql = format!(
            "UPDATE {} SET last_error = $3, {}, \
                    {} = now() + make_interval(secs => $4), {} \
              WHERE {} RETURNING ({}) AS dead",
            self.table,
            Self::END_LEASE,
            retry.due_column,
            retry.on_failure,
            self.fenced(),
            retry.is_dead,
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease.id)
            .bind(lease.fencing)
            .bind(error)
            .bind(retry_in.as_secs_f64())
            .bind(i64::from(max_attempts))
            .fetch_optional(exec)
            .await?;
        row.map(|r| r.try_get("dead")).transpose()
    }

    /// How many rows wait, are held, are dead.
    pub async fn counts<'e>(&self, exec: impl PgExecutor<'e>) -> Result<QueueCounts, sqlx::Error> {
        let sql = format!(
            "SELECT count(*) FILTER (WHERE {}) AS waiting, count(*) FILTER (WHERE {}) AS leased, \
                    count(*) FILTER (WHERE {}) AS dead FROM {}",
            self.waiting, self.leased, self.dead, self.table
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(exec)
            .await?;
        Ok(QueueCounts {
            waiting: row.try_get("waiting")?,
            leased: row.try_get("leased")?,
            dead: row.try_get("dead")?,
        })
    }
}
