//! Embedded migrations, one SQL file per backend and version, applied in order at start and by `migrate`.
//! Each runs in its own transaction with its bookkeeping row; a database migrated by a newer program is refused.

use crate::conn::{Backend, Db};
use crate::error::DbError;
use crate::{args, now};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "sessions",
        sqlite: include_str!("../migrations/sqlite/0002_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0002_sessions.sql"),
    },
    Migration {
        version: 3,
        name: "files",
        sqlite: include_str!("../migrations/sqlite/0003_files.sql"),
        postgres: include_str!("../migrations/postgres/0003_files.sql"),
    },
    Migration {
        version: 4,
        name: "buckets",
        sqlite: include_str!("../migrations/sqlite/0004_buckets.sql"),
        postgres: include_str!("../migrations/postgres/0004_buckets.sql"),
    },
    Migration {
        version: 5,
        name: "escalations",
        sqlite: include_str!("../migrations/sqlite/0005_escalations.sql"),
        postgres: include_str!("../migrations/postgres/0005_escalations.sql"),
    },
    Migration {
        version: 6,
        name: "invitation_revocation",
        sqlite: include_str!("../migrations/sqlite/0006_invitation_revocation.sql"),
        postgres: include_str!("../migrations/postgres/0006_invitation_revocation.sql"),
    },
    Migration {
        version: 7,
        name: "upload_leases",
        sqlite: include_str!("../migrations/sqlite/0007_upload_leases.sql"),
        postgres: include_str!("../migrations/postgres/0007_upload_leases.sql"),
    },
    Migration {
        version: 8,
        name: "inbound_mail",
        sqlite: include_str!("../migrations/sqlite/0008_inbound_mail.sql"),
        postgres: include_str!("../migrations/postgres/0008_inbound_mail.sql"),
    },
    Migration {
        version: 9,
        name: "mailbox_cursors",
        sqlite: include_str!("../migrations/sqlite/0009_mailbox_cursors.sql"),
        postgres: include_str!("../migrations/postgres/0009_mailbox_cursors.sql"),
    },
    Migration {
        version: 10,
        name: "notice_choices",
        sqlite: include_str!("../migrations/sqlite/0010_notice_choices.sql"),
        postgres: include_str!("../migrations/postgres/0010_notice_choices.sql"),
    },
    Migration {
        version: 11,
        name: "ticket_ccs",
        sqlite: include_str!("../migrations/sqlite/0011_ticket_ccs.sql"),
        postgres: include_str!("../migrations/postgres/0011_ticket_ccs.sql"),
    },
    Migration {
        version: 12,
        name: "mail_threads",
        sqlite: include_str!("../migrations/sqlite/0012_mail_threads.sql"),
        postgres: include_str!("../migrations/postgres/0012_mail_threads.sql"),
    },
    Migration {
        version: 13,
        name: "search",
        sqlite: include_str!("../migrations/sqlite/0013_search.sql"),
        postgres: include_str!("../migrations/postgres/0013_search.sql"),
    },
    Migration {
        version: 14,
        name: "export_indexes",
        sqlite: include_str!("../migrations/sqlite/0014_export_indexes.sql"),
        postgres: include_str!("../migrations/postgres/0014_export_indexes.sql"),
    },
    Migration {
        version: 15,
        name: "ticket_fields",
        sqlite: include_str!("../migrations/sqlite/0015_ticket_fields.sql"),
        postgres: include_str!("../migrations/postgres/0015_ticket_fields.sql"),
    },
    Migration {
        version: 16,
        name: "search_dates",
        sqlite: include_str!("../migrations/sqlite/0016_search_dates.sql"),
        postgres: include_str!("../migrations/postgres/0016_search_dates.sql"),
    },
    Migration {
        version: 17,
        name: "external_ids_and_jobs",
        sqlite: include_str!("../migrations/sqlite/0017_external_ids_and_jobs.sql"),
        postgres: include_str!("../migrations/postgres/0017_external_ids_and_jobs.sql"),
    },
    Migration {
        version: 18,
        name: "profile_fields",
        sqlite: include_str!("../migrations/sqlite/0018_profile_fields.sql"),
        postgres: include_str!("../migrations/postgres/0018_profile_fields.sql"),
    },
    Migration {
        version: 19,
        name: "status_priority",
        sqlite: include_str!("../migrations/sqlite/0019_status_priority.sql"),
        postgres: include_str!("../migrations/postgres/0019_status_priority.sql"),
    },
];

/// The migration that created the ticket index: the tickets already there are indexed in its transaction, by the
/// store's rebuild. That rebuild reads tickets and comments as they are at version 13; a later migration that
/// changes a column it reads must give this one a copy of the rebuild as it was.
const SEARCH_INDEX: i64 = 13;

/// Applies every migration not yet applied; returns the versions applied now.
#[tracing::instrument(skip_all, err)]
pub async fn migrate(db: &Db) -> Result<Vec<i64>, DbError> {
    db.conn()
        .execute_script(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .await?;
    let known = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let mut tx = db.begin().await?;
        if db.backend() == Backend::Postgres {
            // Several instances may start at once: one migrates, the others wait and then find it done.
            tx.execute("SELECT pg_advisory_xact_lock(7272727)", &[]).await?;
        }
        let latest = tx
            .fetch_one("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations", &[])
            .await?
            .i64("v")?;
        if latest > known {
            return Err(DbError::TooNew { found: latest, known });
        }
        if latest >= m.version {
            continue;
        }
        let script = match db.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        tx.execute_script(script).await?;
        if m.version == SEARCH_INDEX {
            crate::search::index::rebuild(&mut tx).await?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            &args![m.version, m.name, now().to_rfc3339()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied.push(m.version);
    }
    Ok(applied)
}
