//! Purpose: the recovery domain (Core) — live sync of every guild into PostgreSQL (`sync`) and
//! snapshots of it (`snapshot`). The only writer of `recovery.*` (and of `member.members`
//! through the member domain's port, in sync's own transactions). Reads guild, plan and member
//! data only through ports (`GuildReader`, `LicensingReader`, `MemberReader`).

pub mod antinuke;
pub mod restore;
pub mod snapshot;
pub mod sync;
pub mod timemachine;

use anyhow::Context as _;

use crate::config::Config;

/// The HTTP client that downloads imported files: public TLS roots, plus the local emulator's
/// CA when `discord.ca_cert` is set (tests and the sandbox serve attachments themselves).
pub fn download_client(config: &Config) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::limited(3));
    if !config.discord.ca_cert.is_empty() {
        let pem = std::fs::read(&config.discord.ca_cert)
            .with_context(|| format!("reading discord.ca_cert {}", config.discord.ca_cert))?;
        let ca = reqwest::Certificate::from_pem(&pem)
            .context("discord.ca_cert is not a PEM certificate")?;
        builder = builder.add_root_certificate(ca);
    }
    // The emulator is Discord's CDN too (emoji images).
    if let Ok(addr) = config.discord.api_address.parse::<std::net::SocketAddr>() {
        builder = builder.resolve("cdn.discordapp.com", addr);
    }
    builder.build().context("building the download client")
}

/// The member domain's and recovery's services, wired to their ports.
pub fn services(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
    pool: &sqlx::PgPool,
    guilds: &crate::guild::GuildService,
    licensing: &crate::licensing::LicensingService,
    rest: crate::discord::rest::Rest,
) -> anyhow::Result<(
    crate::member::MemberService,
    sync::SyncService,
    snapshot::SnapshotService,
)> {
    use std::sync::Arc;
    use std::time::Duration;
    let r = &config.recovery;
    let members = crate::member::MemberService::new(pool.clone(), r.sync_statement_rows);
    let sync = sync::SyncService::new(
        pool.clone(),
        Arc::new(guilds.clone()),
        Arc::new(members.clone()),
        Arc::new(members.clone()),
        rest.clone(),
        sync::SyncSettings {
            batch_rows: r.sync_batch_rows,
            flush_interval: Duration::from_millis(r.sync_flush_interval_ms),
            statement_rows: r.sync_statement_rows,
            load_timeout: Duration::from_secs(r.member_load_timeout_seconds),
            history_retention: Duration::from_secs(u64::from(r.history_retention_days) * 86_400),
        },
    );
    let snapshots = snapshot::SnapshotService::new(
        db.clone(),
        sync.clone(),
        Arc::new(guilds.clone()),
        Arc::new(licensing.clone()),
        snapshot::SnapshotSettings {
            poll_interval: Duration::from_secs(r.snapshot_poll_seconds),
            import_max_bytes: r.import_max_bytes,
            export_max_bytes: r.export_max_bytes,
            max_document_bytes: usize::try_from(r.max_document_bytes).unwrap_or(usize::MAX),
        },
        download_client(config)?,
        rest,
    );
    Ok((members, sync, snapshots))
}
