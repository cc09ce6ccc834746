//! helm v4.1.4's tables (`pkg/storage/driver/sql.go` `ensureDBSetup`), applied the way
//! rubenv/sql-migrate applies them: a `gorp_migrations` table of applied ids, migrations in id
//! order (`custom_labels` sorts before `init`), each Up script as one multi-statement string.
//! Identifiers are unquoted, so PostgreSQL folds `createdAt` to `createdat`, as for helm.

/// sql-migrate's bookkeeping table, as gorp creates it.
pub const MIGRATIONS_TABLE: &str = r#"create table if not exists "gorp_migrations" ("id" text not null primary key, "applied_at" timestamp with time zone) ;"#;

/// helm's migration `init`: the release table.
pub const INIT: &str = "
    CREATE TABLE releases_v1 (
        key VARCHAR(90),
        type VARCHAR(64) NOT NULL,
        body TEXT NOT NULL,
        name VARCHAR(64) NOT NULL,
        namespace VARCHAR(64) NOT NULL,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        owner TEXT NOT NULL,
        createdAt INTEGER NOT NULL,
        modifiedAt INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY(key, namespace)
    );
    CREATE INDEX ON releases_v1 (key, namespace);
    CREATE INDEX ON releases_v1 (version);
    CREATE INDEX ON releases_v1 (status);
    CREATE INDEX ON releases_v1 (owner);
    CREATE INDEX ON releases_v1 (createdAt);
    CREATE INDEX ON releases_v1 (modifiedAt);

    GRANT ALL ON releases_v1 TO PUBLIC;

    ALTER TABLE releases_v1 ENABLE ROW LEVEL SECURITY;
";

/// helm's migration `custom_labels`: labels other than the system ones (key 253+1+63, value 63
/// characters, Kubernetes' label limits).
pub const CUSTOM_LABELS: &str = "
    CREATE TABLE custom_labels_v1 (
        releaseKey VARCHAR(64),
        releaseNamespace VARCHAR(67),
        key VARCHAR(317),
        value VARCHAR(63)
    );
    CREATE INDEX ON custom_labels_v1 (releaseKey, releaseNamespace);

    GRANT ALL ON custom_labels_v1 TO PUBLIC;
    ALTER TABLE custom_labels_v1 ENABLE ROW LEVEL SECURITY;
";

/// The migrations helmfire knows, in the order sql-migrate applies them (sorted by id).
pub const MIGRATIONS: [(&str, &str); 2] = [("custom_labels", CUSTOM_LABELS), ("init", INIT)];

/// `custom_labels_v1.releaseKey` holds 64 characters while keys may reach 90: a release with
/// custom labels and a longer key cannot be stored (helm fails the same way).
pub const LABEL_KEY_LIMIT: usize = 64;

/// The advisory lock that serialises schema setup between helmfire processes
/// (`pg_advisory_xact_lock`; "helmfire" in ASCII).
pub const SCHEMA_LOCK: i64 = 0x6865_6c6d_6669_7265;

/// Ids in `gorp_migrations` that helmfire does not know: a newer helm migrated the database.
pub fn unknown(applied: &[String]) -> Vec<String> {
    applied
        .iter()
        .filter(|id| !MIGRATIONS.iter().any(|(known, _)| known == id))
        .cloned()
        .collect()
}

/// The known migrations not applied yet, in order.
pub fn missing(applied: &[String]) -> Vec<(&'static str, &'static str)> {
    MIGRATIONS
        .iter()
        .filter(|(id, _)| !applied.iter().any(|applied| applied == id))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_in_sql_migrate_order_and_unknown_ids_are_found() {
        assert_eq!(
            missing(&[]).iter().map(|m| m.0).collect::<Vec<_>>(),
            ["custom_labels", "init"]
        );
        assert_eq!(
            missing(&["init".into()]).iter().map(|m| m.0).collect::<Vec<_>>(),
            ["custom_labels"]
        );
        assert!(missing(&["init".into(), "custom_labels".into()]).is_empty());
        assert_eq!(
            unknown(&["init".into(), "zz_future".into(), "custom_labels".into()]),
            ["zz_future"]
        );
    }
}
