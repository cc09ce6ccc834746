//! `HELM_DRIVER=sql`: release records in PostgreSQL, in helm v4.1.4's tables and rows
//! (`pkg/storage/driver/sql.go`), so a database helm set up is used as is and one helmfire set
//! up first works for helm.
//!
//! - Schema: `schema`'s migrations, tracked in `gorp_migrations` like rubenv/sql-migrate. A
//!   database that already has both is never altered (a role without DDL rights works); a
//!   missing one is applied in one transaction under an advisory lock, so two first runs do not
//!   race; ids helmfire does not know mean a newer helm migrated it, which is refused (helm
//!   v4.1.4 ignores them; writing rows a newer schema may not expect is not worth the risk).
//! - Rows: `releases_v1` holds the body (the same base64(gzip(JSON)) as the Secret driver) and
//!   the system labels as columns; other labels are rows of `custom_labels_v1`, written on
//!   create only, as helm does.
//! - Reads are one statement each, labels joined in (helm runs one labels query per row), and
//!   [`SqlBackend`] answers a whole state's histories with one statement.
//! - Writes that touch two tables are one statement (a data-modifying `WITH`), which PostgreSQL
//!   runs as one transaction: nothing is half-written.
//! - Two writers: the primary key `(key, namespace)` makes a second create of a revision fail
//!   ([`StorageError::RecordExists`]), and a session advisory lock per release
//!   ([`Backend::try_lock`]) is held for a whole action, because the Lease that guards a release
//!   lives in one cluster while this database may be shared by several. helm takes no lock.
//!
//! Connection strings are secrets: errors name the server as [`Endpoint`] shows it, without the
//! password.

pub mod connection;
mod schema;
mod tls;

use std::collections::BTreeMap;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};

pub use connection::{Connection, ConnectionError, Endpoint, SslMode};
pub use tls::TlsError;

use super::driver::{Backend, Batch, BoxFuture, LockState, StoredObject};
use super::{SYSTEM_LABELS, StorageError};

/// `releases_v1.type` and `.owner`, as helm writes them.
const RECORD_TYPE: &str = "helm.sh/release.v1";
const OWNER: &str = "helm";

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("invalid TLS settings")]
    Tls(#[source] TlsError),
    /// The server refused a statement or the login.
    #[error("{message} (SQLSTATE {code})")]
    Server { code: String, message: String },
    /// The client failed: connection refused, TLS handshake, connection closed…
    #[error("the connection failed")]
    Client(#[source] tokio_postgres::Error),
    /// `sslmode` asked for TLS (lib/pq's default, `require`) and the server has none.
    #[error("the server does not support TLS, which `sslmode` (default `require`) asks for")]
    ServerWithoutTls,
    #[error(
        "the database holds schema migrations helmfire does not know ({}): a newer helm migrated it",
        .0.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
    )]
    NewerSchema(Vec<String>),
    /// A row that does not fit helm's layout.
    #[error("{0}")]
    Row(String),
}

impl SqlError {
    /// The SQLSTATE of a server error.
    pub fn code(&self) -> Option<&str> {
        match self {
            SqlError::Server { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl SqlError {
    /// A failed connection attempt; tokio-postgres says "no TLS" only in its message.
    fn connecting(error: tokio_postgres::Error) -> SqlError {
        let no_tls =
            std::error::Error::source(&error).is_some_and(|cause| cause.to_string() == "server does not support TLS");
        if no_tls {
            SqlError::ServerWithoutTls
        } else {
            error.into()
        }
    }
}

impl From<tokio_postgres::Error> for SqlError {
    fn from(error: tokio_postgres::Error) -> SqlError {
        match error.as_db_error() {
            Some(db) => SqlError::Server {
                code: db.code().code().to_string(),
                message: db.message().to_string(),
            },
            None => SqlError::Client(error),
        }
    }
}

/// Release records in PostgreSQL.
pub struct SqlBackend {
    client: tokio_postgres::Client,
    endpoint: Endpoint,
}

impl SqlBackend {
    /// Connects (TLS per `sslmode`), then checks or sets up helm's tables. The connection runs
    /// on the current tokio runtime until the backend is dropped.
    pub async fn connect(connection: &Connection) -> Result<SqlBackend, StorageError> {
        let endpoint = connection.endpoint.clone();
        let fail = |action: &str, source: SqlError| StorageError::Sql {
            action: action.to_string(),
            server: endpoint.to_string(),
            source: Box::new(source),
        };
        let tls =
            tls::client_config(&connection.tls, &endpoint.host).map_err(|e| fail("connect to", SqlError::Tls(e)))?;
        let mut config = connection.config.clone();
        if config.get_application_name().is_none() {
            // Shown in pg_stat_activity, and as the holder of a release lock.
            config.application_name("helmfire");
        }
        let (mut client, driver) = config
            .connect(tls::MakeRustls::new(tls))
            .await
            .map_err(|e| fail("connect to", SqlError::connecting(e)))?;
        tokio::spawn(async move {
            // Ends when the client is dropped; a broken connection fails the next statement.
            let _ = driver.await;
        });
        ensure_schema(&mut client)
            .await
            .map_err(|e| fail("set up the release tables in", e))?;
        Ok(SqlBackend { client, endpoint })
    }

    /// The server, without the password.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn error(&self, action: String, source: impl Into<SqlError>) -> StorageError {
        StorageError::Sql {
            action,
            server: self.endpoint.to_string(),
            source: Box::new(source.into()),
        }
    }

    async fn select(
        &self,
        condition: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<(String, StoredObject)>, SqlError> {
        let statement = format!("{SELECT} WHERE {condition}");
        let rows = self.client.query_typed(&statement, params).await?;
        rows.iter().map(stored_object).collect()
    }

    async fn query_objects(&self, namespace: &str, labels: &[(&str, &str)]) -> Result<Vec<StoredObject>, StorageError> {
        let objects = self.query_matching(Some(namespace), labels).await?;
        Ok(objects.into_iter().map(|(_, object)| object).collect())
    }

    /// helm's `Query` in one namespace, or with `None` in all of them; each object with its
    /// namespace.
    async fn query_matching(&self, namespace: Option<&str>, labels: &[(&str, &str)]) -> Result<Batch, StorageError> {
        let action = || match namespace {
            Some(namespace) => format!("read the release records of namespace `{namespace}` from"),
            None => "read the release records of every namespace from".to_string(),
        };
        // helm's `Query`: only the columns of `labelMap` can be matched.
        let mut conditions = Vec::new();
        let mut texts: Vec<&str> = Vec::new();
        let mut numbers: Vec<i32> = Vec::new();
        let mut sorted: Vec<&(&str, &str)> = labels.iter().collect();
        sorted.sort();
        let mut kinds = Vec::new();
        for (key, value) in sorted {
            let (column, numeric) = match *key {
                "name" => ("r.name", false),
                "owner" => ("r.owner", false),
                "status" => ("r.status", false),
                "version" => ("r.version", true),
                "createdAt" => ("r.createdat", true),
                "modifiedAt" => ("r.modifiedat", true),
                other => {
                    return Err(StorageError::Invalid {
                        reason: format!("the sql storage driver cannot query label `{other}`"),
                    });
                }
            };
            if numeric {
                let number = value.parse::<i32>().map_err(|_| StorageError::Invalid {
                    reason: format!("label `{key}` must be a whole number, not `{value}`"),
                })?;
                numbers.push(number);
                kinds.push((column, true, numbers.len() - 1));
            } else {
                texts.push(value);
                kinds.push((column, false, texts.len() - 1));
            }
        }
        let mut params: Vec<(&(dyn ToSql + Sync), Type)> = Vec::new();
        if let Some(namespace) = &namespace {
            params.push((namespace, Type::TEXT));
            conditions.push("r.namespace = $1".to_string());
        }
        for (column, numeric, index) in kinds {
            params.push(if numeric {
                (&numbers[index], Type::INT4)
            } else {
                (&texts[index], Type::TEXT)
            });
            conditions.push(format!("{column} = ${}", params.len()));
        }
        if conditions.is_empty() {
            conditions.push("TRUE".to_string());
        }
        self.select(&conditions.join(" AND "), &params)
            .await
            .map_err(|e| self.error(action(), e))
    }

    async fn get_object(&self, namespace: &str, key: &str) -> Result<Option<StoredObject>, StorageError> {
        let mut objects = self
            .select(
                "r.key = $1 AND r.namespace = $2",
                &[(&key, Type::TEXT), (&namespace, Type::TEXT)],
            )
            .await
            .map_err(|e| {
                self.error(
                    format!("read release record `{key}` in namespace `{namespace}` from"),
                    e,
                )
            })?;
        Ok(objects.pop().map(|(_, object)| object))
    }

    async fn create_object(&self, namespace: &str, object: StoredObject) -> Result<(), StorageError> {
        let action = || format!("store release record `{}` in namespace `{namespace}` in", object.key);
        let system = SystemColumns::of(&object)?;
        let custom: Vec<(&String, &String)> = object
            .labels
            .iter()
            .filter(|(key, _)| !SYSTEM_LABELS.contains(&key.as_str()))
            .collect();
        if !custom.is_empty() && object.key.chars().count() > schema::LABEL_KEY_LIMIT {
            return Err(StorageError::Invalid {
                reason: format!(
                    "release `{}` has custom labels, which helm's SQL schema stores under a release key of at most {} characters, and `{}` is longer: use a release name of at most 42 characters",
                    system.name,
                    schema::LABEL_KEY_LIMIT,
                    object.key
                ),
            });
        }
        let label_keys: Vec<&str> = custom.iter().map(|(key, _)| key.as_str()).collect();
        let label_values: Vec<&str> = custom.iter().map(|(_, value)| value.as_str()).collect();
        let created_at = system.stamp("createdAt")?;
        // One statement, so one transaction: the release row and its labels, or nothing.
        let statement = "WITH release AS (\
                INSERT INTO releases_v1 (key,type,body,name,namespace,version,status,owner,createdAt) \
                VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING key, namespace) \
            INSERT INTO custom_labels_v1 (releaseKey,releaseNamespace,key,value) \
            SELECT release.key, release.namespace, label.key, label.value \
            FROM release, unnest($10::text[], $11::text[]) AS label(key, value)";
        let result = self
            .client
            .execute_typed(
                statement,
                &[
                    (&object.key, Type::TEXT),
                    (&RECORD_TYPE, Type::TEXT),
                    (&object.body, Type::TEXT),
                    (&system.name, Type::TEXT),
                    (&namespace, Type::TEXT),
                    (&system.version, Type::INT4),
                    (&system.status, Type::TEXT),
                    (&system.owner, Type::TEXT),
                    (&created_at, Type::INT4),
                    (&label_keys, Type::TEXT_ARRAY),
                    (&label_values, Type::TEXT_ARRAY),
                ],
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => Err(StorageError::RecordExists {
                namespace: namespace.to_string(),
                key: object.key,
            }),
            Err(error) => Err(self.error(action(), error)),
        }
    }

    async fn update_object(&self, namespace: &str, object: StoredObject) -> Result<(), StorageError> {
        let system = SystemColumns::of(&object)?;
        let modified_at = system.stamp("modifiedAt")?;
        // helm's `Update`: custom labels are left as they are.
        let updated = self
            .client
            .execute_typed(
                "UPDATE releases_v1 SET body = $1, name = $2, version = $3, status = $4, owner = $5, modifiedAt = $6 \
                 WHERE key = $7 AND namespace = $8",
                &[
                    (&object.body, Type::TEXT),
                    (&system.name, Type::TEXT),
                    (&system.version, Type::INT4),
                    (&system.status, Type::TEXT),
                    (&system.owner, Type::TEXT),
                    (&modified_at, Type::INT4),
                    (&object.key, Type::TEXT),
                    (&namespace, Type::TEXT),
                ],
            )
            .await
            .map_err(|e| {
                self.error(
                    format!("update release record `{}` in namespace `{namespace}` in", object.key),
                    e,
                )
            })?;
        if updated == 0 {
            return Err(StorageError::RecordNotFound {
                namespace: namespace.to_string(),
                key: object.key,
            });
        }
        Ok(())
    }

    async fn delete_object(&self, namespace: &str, key: &str) -> Result<bool, StorageError> {
        // One statement: the release row and its labels go together.
        let deleted = self
            .client
            .execute_typed(
                "WITH labels AS (DELETE FROM custom_labels_v1 WHERE releaseKey = $1 AND releaseNamespace = $2) \
                 DELETE FROM releases_v1 WHERE key = $1 AND namespace = $2",
                &[(&key, Type::TEXT), (&namespace, Type::TEXT)],
            )
            .await
            .map_err(|e| {
                self.error(
                    format!("delete release record `{key}` in namespace `{namespace}` in"),
                    e,
                )
            })?;
        Ok(deleted > 0)
    }

    async fn read_histories(&self, releases: &[(String, String)]) -> Result<Batch, StorageError> {
        let namespaces: Vec<&str> = releases.iter().map(|(namespace, _)| namespace.as_str()).collect();
        let names: Vec<&str> = releases.iter().map(|(_, name)| name.as_str()).collect();
        self.select(
            "r.owner = $1 AND (r.namespace, r.name) IN (SELECT * FROM unnest($2::text[], $3::text[]))",
            &[
                (&OWNER, Type::TEXT),
                (&namespaces, Type::TEXT_ARRAY),
                (&names, Type::TEXT_ARRAY),
            ],
        )
        .await
        .map_err(|e| self.error(format!("read the records of {} releases from", releases.len()), e))
    }

    async fn try_lock_key(&self, key: &str) -> Result<LockState, StorageError> {
        let action = || format!("lock the records of release `{key}` in");
        let taken: bool = self
            .client
            .query_typed_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                &[(&lock_key(key), Type::TEXT)],
            )
            .await
            .map_err(|e| self.error(action(), e))?
            .get(0);
        if taken {
            return Ok(LockState::Taken);
        }
        // Who holds it, as far as this role may see (pg_stat_activity hides other roles' details).
        let holder = self
            .client
            .query_typed(
                "SELECT a.pid, coalesce(a.application_name, '') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                 AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)",
                &[(&lock_key(key), Type::TEXT)],
            )
            .await
            .ok()
            .and_then(|rows| rows.first().map(|row| (row.get::<_, i32>(0), row.get::<_, String>(1))));
        Ok(LockState::Held {
            holder: match holder {
                Some((pid, name)) if !name.is_empty() => format!("{name} (database session {pid})"),
                Some((pid, _)) => format!("database session {pid}"),
                None => "another database session".to_string(),
            },
        })
    }

    async fn unlock_key(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .execute_typed(
                "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                &[(&lock_key(key), Type::TEXT)],
            )
            .await
            .map_err(|e| self.error(format!("unlock the records of release `{key}` in"), e))?;
        Ok(())
    }
}

/// The advisory lock's text, hashed by the server into the 64-bit lock id.
fn lock_key(release: &str) -> String {
    format!("helmfire.release/{release}")
}

/// Every read selects the same columns, the custom labels aggregated per row.
const SELECT: &str = "SELECT r.namespace, r.key, r.body, r.name, r.status, r.version, r.owner, r.createdat, r.modifiedat, \
    l.label_keys, l.label_values FROM releases_v1 r LEFT JOIN LATERAL (\
    SELECT array_agg(c.key) AS label_keys, array_agg(c.value) AS label_values FROM custom_labels_v1 c \
    WHERE c.releasekey = r.key AND c.releasenamespace = r.namespace) l ON true";

/// A row as a storage object: the custom labels (system names dropped, as helm's
/// `filterSystemLabels`), then the system labels from their columns (`modifiedAt` once set).
fn stored_object(row: &tokio_postgres::Row) -> Result<(String, StoredObject), SqlError> {
    let get_text = |index: usize| -> Result<String, SqlError> {
        row.try_get::<_, String>(index)
            .map_err(|e| SqlError::Row(format!("column {index}: {e}")))
    };
    let get_int = |index: usize| -> Result<i32, SqlError> {
        row.try_get::<_, i32>(index)
            .map_err(|e| SqlError::Row(format!("column {index}: {e}")))
    };
    let get_array = |index: usize| -> Result<Vec<Option<String>>, SqlError> {
        row.try_get::<_, Option<Vec<Option<String>>>>(index)
            .map(Option::unwrap_or_default)
            .map_err(|e| SqlError::Row(format!("column {index}: {e}")))
    };
    let namespace = get_text(0)?;
    let key = get_text(1)?;
    let body = get_text(2)?;
    let mut labels = BTreeMap::new();
    for (label, value) in get_array(9)?.into_iter().zip(get_array(10)?) {
        if let (Some(label), Some(value)) = (label, value)
            && !SYSTEM_LABELS.contains(&label.as_str())
        {
            labels.insert(label, value);
        }
    }
    labels.insert("name".to_string(), get_text(3)?);
    labels.insert("status".to_string(), get_text(4)?);
    labels.insert("version".to_string(), get_int(5)?.to_string());
    labels.insert("owner".to_string(), get_text(6)?);
    labels.insert("createdAt".to_string(), get_int(7)?.to_string());
    let modified_at = get_int(8)?;
    if modified_at != 0 {
        labels.insert("modifiedAt".to_string(), modified_at.to_string());
    }
    Ok((namespace, StoredObject { key, labels, body }))
}

/// The columns a write takes from the system labels [`super::Store`] set.
struct SystemColumns<'a> {
    object: &'a StoredObject,
    name: &'a str,
    status: &'a str,
    owner: &'a str,
    version: i32,
}

impl<'a> SystemColumns<'a> {
    fn of(object: &'a StoredObject) -> Result<SystemColumns<'a>, StorageError> {
        let label = |key: &str| {
            object
                .labels
                .get(key)
                .map(String::as_str)
                .ok_or_else(|| StorageError::Invalid {
                    reason: format!("release record `{}` has no `{key}` label", object.key),
                })
        };
        let version = label("version")?;
        Ok(SystemColumns {
            object,
            name: label("name")?,
            status: label("status")?,
            owner: label("owner")?,
            version: version.parse().map_err(|_| StorageError::Invalid {
                reason: format!("release record `{}` has version `{version}`", object.key),
            })?,
        })
    }

    /// `createdAt`/`modifiedAt` as helm's INTEGER columns hold them (seconds; until 2038).
    fn stamp(&self, label: &str) -> Result<i32, StorageError> {
        self.object
            .labels
            .get(label)
            .and_then(|value| value.parse::<i32>().ok())
            .ok_or_else(|| StorageError::Invalid {
                reason: format!(
                    "release record `{}` has no `{label}` time that fits helm's INTEGER column",
                    self.object.key
                ),
            })
    }
}

/// Checks helm's tables, applying the missing migrations in one transaction.
async fn ensure_schema(client: &mut tokio_postgres::Client) -> Result<(), SqlError> {
    const APPLIED: &str = r#"SELECT "id" FROM "gorp_migrations""#;
    let ids = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|row| row.get::<_, String>(0)).collect::<Vec<_>>();
    match client.query_typed(APPLIED, &[]).await {
        Ok(rows) => {
            let applied = ids(rows);
            let unknown = schema::unknown(&applied);
            if !unknown.is_empty() {
                return Err(SqlError::NewerSchema(unknown));
            }
            if schema::missing(&applied).is_empty() {
                return Ok(());
            }
        }
        Err(error) if error.code() == Some(&SqlState::UNDEFINED_TABLE) => {}
        Err(error) => return Err(error.into()),
    }
    let transaction = client.transaction().await?;
    transaction
        .execute_typed(
            "SELECT pg_advisory_xact_lock($1)",
            &[(&schema::SCHEMA_LOCK, Type::INT8)],
        )
        .await?;
    transaction.batch_execute(schema::MIGRATIONS_TABLE).await?;
    // Read again under the lock: another process may have just set it up.
    let applied = ids(transaction.query_typed(APPLIED, &[]).await?);
    let unknown = schema::unknown(&applied);
    if !unknown.is_empty() {
        return Err(SqlError::NewerSchema(unknown));
    }
    for (id, up) in schema::missing(&applied) {
        transaction.batch_execute(up).await?;
        transaction
            .execute_typed(
                r#"insert into "gorp_migrations" ("id","applied_at") values ($1,now());"#,
                &[(&id, Type::TEXT)],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

impl Backend for SqlBackend {
    fn query<'a>(
        &'a self,
        namespace: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<StoredObject>, StorageError>> {
        Box::pin(self.query_objects(namespace, labels))
    }

    fn get<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredObject>, StorageError>> {
        Box::pin(self.get_object(namespace, key))
    }

    fn create<'a>(&'a self, namespace: &'a str, object: StoredObject) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(self.create_object(namespace, object))
    }

    fn update<'a>(&'a self, namespace: &'a str, object: StoredObject) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(self.update_object(namespace, object))
    }

    fn delete<'a>(&'a self, namespace: &'a str, key: &'a str) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(self.delete_object(namespace, key))
    }

    fn query_all<'a>(&'a self, labels: &'a [(&'a str, &'a str)]) -> BoxFuture<'a, Result<Batch, StorageError>> {
        Box::pin(self.query_matching(None, labels))
    }

    fn histories<'a>(&'a self, releases: &'a [(String, String)]) -> Option<BoxFuture<'a, Result<Batch, StorageError>>> {
        Some(Box::pin(self.read_histories(releases)))
    }

    fn try_lock<'a>(&'a self, release: &'a str) -> BoxFuture<'a, Result<LockState, StorageError>> {
        Box::pin(self.try_lock_key(release))
    }

    fn unlock<'a>(&'a self, release: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(self.unlock_key(release))
    }
}
