//! `HELM_DRIVER=sql` against a real PostgreSQL server (`support::postgres`) and the sandbox:
//! helm's rows and tables, history limits, pending-release recovery, the batched read, two
//! writers, and every way the database can be unusable (exit 1, the driver and the server
//! named, the password never shown, nothing written). Interop with the real helm is in the
//! differential tests (`storage_sql_helm`).

use std::process::{Output, Stdio};
use std::time::Duration;

use helmfire::storage::sql::connection;
use helmfire::storage::{Driver, ReleaseRecord, Status, StorageError, StorageSettings, Store};

use crate::support::deploy::Deploy;
use crate::support::postgres::{self, Database, PASSWORD};

/// Two releases whose records live in the database `RELEASES_DB` names.
const STATE: &str = "
environments:
  default:
    storage:
      driver: sql
      connection: \"${{ env.RELEASES_DB }}\"
defaults:
  createNamespace: true
  timeout: 30s
  historyMax: 2
releases:
  - {name: web, namespace: apps, chart: CHART, set: {replicas: 1}}
  - {name: api, namespace: apps, chart: CHART}
";

fn run(deploy: &Deploy, state: &std::path::Path, db: &Database, args: &[&str]) -> Output {
    deploy
        .command(state, args)
        .env("RELEASES_DB", db.connection())
        .output()
        .expect("run helmfire")
}

fn expect(output: Output, code: i32) -> (String, String) {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "the password was printed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// `version|status` of each row of a release, oldest first.
fn revisions(db: &Database, name: &str) -> Vec<String> {
    db.rows(&format!(
        "SELECT version, status FROM releases_v1 WHERE name = '{name}' ORDER BY version"
    ))
    .into_iter()
    .map(|row| row.join("|"))
    .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A store on `db`; its connection runs on `rt`, which must outlive it.
fn open(rt: &tokio::runtime::Runtime, db: &Database) -> Result<Store, StorageError> {
    let settings = StorageSettings {
        driver: Driver::Sql,
        connection: Some(connection::resolve(&db.connection(), &|_| None).expect("valid connection string")),
    };
    rt.block_on(Store::open(None, &settings))
}

fn record(name: &str, namespace: &str, version: i32, status: Status) -> ReleaseRecord {
    let mut chart = helmfire_chart::Chart::default();
    chart.metadata.name = "app".into();
    chart.metadata.version = "1.0.0".into();
    chart.metadata.api_version = "v2".into();
    let mut record = ReleaseRecord::new(name, namespace, version, &chart, &helmfire_value::Map::new());
    record.info.status = status;
    record.manifest =
        format!("---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
    record
}

#[test]
fn apply_keeps_the_records_in_postgres_in_helms_rows() {
    let db = Database::create("apply");
    let deploy = Deploy::start();
    let state = deploy.state("helmfire.yaml", STATE);
    let (_, stderr) = expect(run(&deploy, &state, &db, &["apply"]), 0);
    assert!(stderr.contains("web: installed (revision 1)"), "{stderr}");

    let rows = db.rows(
        "SELECT key, type, name, namespace, version, status, owner, createdat > 1700000000, modifiedat >= createdat, left(body, 4) \
         FROM releases_v1 ORDER BY key",
    );
    assert_eq!(
        rows,
        [
            [
                "sh.helm.release.v1.api.v1",
                "helm.sh/release.v1",
                "api",
                "apps",
                "1",
                "deployed",
                "helm",
                "t",
                "t",
                "H4sI"
            ],
            [
                "sh.helm.release.v1.web.v1",
                "helm.sh/release.v1",
                "web",
                "apps",
                "1",
                "deployed",
                "helm",
                "t",
                "t",
                "H4sI"
            ],
        ]
    );
    // The records are in the database only, not in the cluster.
    let secrets = deploy
        .cluster
        .kubectl(&["get", "secrets", "-n", "apps", "-l", "owner=helm", "-o", "name"]);
    assert!(secrets.trim().is_empty(), "{secrets}");
    // The objects are in the cluster.
    deploy
        .cluster
        .kubectl(&["get", "configmap", "web-config", "-n", "apps"]);

    let (stdout, _) = expect(run(&deploy, &state, &db, &["diff", "--detailed-exitcode"]), 0);
    assert!(
        stdout.contains("0 to install, 0 to upgrade, 0 to uninstall, 2 unchanged"),
        "{stdout}"
    );

    // historyMax 2: each upgrade prunes to one old revision first, as helm's storage does.
    for replicas in 2..=4 {
        let changed = deploy.state(
            "helmfire.yaml",
            &STATE.replace("set: {replicas: 1}", &format!("set: {{replicas: {replicas}}}")),
        );
        expect(run(&deploy, &changed, &db, &["apply"]), 0);
    }
    assert_eq!(revisions(&db, "web"), ["3|superseded", "4|deployed"]);
    assert_eq!(revisions(&db, "api"), ["1|deployed"]);

    let (stdout, _) = expect(run(&deploy, &state, &db, &["history", "web", "-o", "json"]), 0);
    let history: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let versions: Vec<i64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [3, 4]);
    let (stdout, _) = expect(run(&deploy, &state, &db, &["status", "web"]), 0);
    assert!(
        stdout.contains("REVISION: 4") && stdout.contains("STATUS: deployed"),
        "{stdout}"
    );

    expect(run(&deploy, &state, &db, &["destroy", "--yes"]), 0);
    assert!(
        db.rows("SELECT key FROM releases_v1").is_empty(),
        "uninstall deletes the records"
    );
}

#[test]
fn the_store_reads_and_writes_helms_layout() {
    let db = Database::create("store");
    let rt = runtime();
    let store = open(&rt, &db).expect("store opens");

    let mut first = record("web", "apps", 1, Status::Superseded);
    first.labels.insert("team".into(), "payments".into());
    first.labels.insert("tier".into(), "edge".into());
    rt.block_on(store.create(&first)).expect("create");
    rt.block_on(store.create(&record("web", "apps", 2, Status::Deployed)))
        .expect("create v2");
    rt.block_on(store.create(&record("web", "other", 1, Status::Deployed)))
        .expect("same name, other namespace");
    assert_eq!(
        db.rows("SELECT releasekey, releasenamespace, key, value FROM custom_labels_v1 ORDER BY key"),
        [
            ["sh.helm.release.v1.web.v1", "apps", "team", "payments"],
            ["sh.helm.release.v1.web.v1", "apps", "tier", "edge"],
        ]
    );

    // A second create of a revision is refused by the primary key.
    match rt.block_on(store.create(&record("web", "apps", 2, Status::Deployed))) {
        Err(StorageError::RecordExists { namespace, key }) => {
            assert_eq!(
                (namespace.as_str(), key.as_str()),
                ("apps", "sh.helm.release.v1.web.v2")
            );
        }
        other => panic!("expected RecordExists, got {other:?}"),
    }

    let history = rt.block_on(store.history("apps", "web")).expect("history");
    assert_eq!(history.iter().map(|r| r.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(history[0].labels["team"], "payments");
    assert_eq!(history[0].labels["status"], "superseded");
    let got = rt.block_on(store.get("apps", "web", 1)).unwrap().expect("found");
    assert_eq!(
        got.labels.into_iter().collect::<Vec<_>>(),
        [("team".into(), "payments".into()), ("tier".into(), "edge".into())],
        "get: custom labels only"
    );
    assert_eq!(rt.block_on(store.last("apps", "web")).unwrap().unwrap().version, 2);
    assert_eq!(rt.block_on(store.deployed("apps", "web")).unwrap().unwrap().version, 2);
    assert!(rt.block_on(store.last("apps", "nothing")).unwrap().is_none());

    // Update: body and columns, modifiedAt stamped, labels untouched.
    let mut second = rt.block_on(store.get("apps", "web", 2)).unwrap().unwrap();
    second.info.status = Status::Failed;
    rt.block_on(store.update(&second)).expect("update");
    assert_eq!(
        db.rows("SELECT status, modifiedat > 0 FROM releases_v1 WHERE key = 'sh.helm.release.v1.web.v2' AND namespace = 'apps'"),
        [["failed", "t"]]
    );
    assert!(matches!(
        rt.block_on(store.update(&record("web", "apps", 9, Status::Failed))),
        Err(StorageError::RecordNotFound { .. })
    ));

    // Delete takes the labels with the row; deleting twice is "not found".
    rt.block_on(store.delete("apps", "web", 1)).expect("delete");
    assert!(db.rows("SELECT * FROM custom_labels_v1").is_empty());
    assert!(matches!(
        rt.block_on(store.delete("apps", "web", 1)),
        Err(StorageError::RecordNotFound { .. })
    ));

    // The batched read answers every release, including those without records.
    let batch = rt
        .block_on(store.heads(&[
            ("apps".into(), "web".into()),
            ("other".into(), "web".into()),
            ("apps".into(), "none".into()),
        ]))
        .expect("the sql driver batches")
        .expect("read");
    let last = |namespace: &str, name: &str| -> Option<i32> {
        let head = batch[&(namespace.to_string(), name.to_string())].as_ref().unwrap();
        head.last.as_ref().map(|r| r.version)
    };
    assert_eq!(last("apps", "web"), Some(2));
    assert_eq!(last("other", "web"), Some(1));
    assert_eq!(last("apps", "none"), None);

    // helm's schema holds custom labels under a 64-character key: say so before writing.
    let long = "a".repeat(45);
    let mut labelled = record(&long, "apps", 1, Status::Deployed);
    labelled.labels.insert("team".into(), "x".into());
    match rt.block_on(store.create(&labelled)) {
        Err(StorageError::Invalid { reason }) => assert!(reason.contains("at most 42 characters"), "{reason}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(
        db.rows(&format!("SELECT key FROM releases_v1 WHERE name = '{long}'"))
            .is_empty()
    );
}

#[test]
fn the_schema_is_helms_and_an_older_one_is_migrated() {
    let db = Database::create("schema");
    let rt = runtime();
    open(&rt, &db).expect("store opens");
    assert_eq!(
        db.rows("SELECT id FROM gorp_migrations ORDER BY applied_at, id"),
        [["custom_labels"], ["init"]]
    );
    let columns = db.rows(
        "SELECT table_name, column_name, data_type, coalesce(character_maximum_length::text, ''), is_nullable, coalesce(column_default, '') \
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    );
    let columns: Vec<String> = columns.into_iter().map(|c| c.join(" ")).collect();
    assert_eq!(
        columns,
        [
            "custom_labels_v1 releasekey character varying 64 YES ",
            "custom_labels_v1 releasenamespace character varying 67 YES ",
            "custom_labels_v1 key character varying 317 YES ",
            "custom_labels_v1 value character varying 63 YES ",
            "gorp_migrations id text  NO ",
            "gorp_migrations applied_at timestamp with time zone  YES ",
            "releases_v1 key character varying 90 NO ",
            "releases_v1 type character varying 64 NO ",
            "releases_v1 body text  NO ",
            "releases_v1 name character varying 64 NO ",
            "releases_v1 namespace character varying 64 NO ",
            "releases_v1 version integer  NO ",
            "releases_v1 status text  NO ",
            "releases_v1 owner text  NO ",
            "releases_v1 createdat integer  NO ",
            "releases_v1 modifiedat integer  NO 0",
        ]
    );
    let indexes = db.rows("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname");
    let indexes: Vec<&str> = indexes.iter().map(|i| i[0].as_str()).collect();
    assert_eq!(
        indexes,
        [
            "custom_labels_v1_releasekey_releasenamespace_idx",
            "gorp_migrations_pkey",
            "releases_v1_createdat_idx",
            "releases_v1_key_namespace_idx",
            "releases_v1_modifiedat_idx",
            "releases_v1_owner_idx",
            "releases_v1_pkey",
            "releases_v1_status_idx",
            "releases_v1_version_idx",
        ]
    );
    assert_eq!(
        db.rows("SELECT relname, relrowsecurity FROM pg_class WHERE relname IN ('releases_v1', 'custom_labels_v1') ORDER BY relname"),
        [["custom_labels_v1", "t"], ["releases_v1", "t"]]
    );
    // A second open changes nothing and runs no DDL.
    let (simple, extended) = (db.statements().len(), db.executed().len());
    open(&rt, &db).expect("store opens again");
    let since: Vec<String> = db.statements()[simple..]
        .iter()
        .chain(&db.executed()[extended..])
        .cloned()
        .collect();
    assert!(since.iter().all(|s| !s.to_lowercase().contains("create")), "{since:#?}");

    // A database an older helm set up (only `init`) gets `custom_labels`.
    let old = Database::create("schema_old");
    old.execute(
        "CREATE TABLE gorp_migrations (id text not null primary key, applied_at timestamp with time zone); \
         INSERT INTO gorp_migrations VALUES ('init', now()); \
         CREATE TABLE releases_v1 (key VARCHAR(90), type VARCHAR(64) NOT NULL, body TEXT NOT NULL, name VARCHAR(64) NOT NULL, \
         namespace VARCHAR(64) NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL, owner TEXT NOT NULL, \
         createdAt INTEGER NOT NULL, modifiedAt INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(key, namespace));",
    );
    open(&rt, &old).expect("store opens");
    assert_eq!(
        old.rows("SELECT id FROM gorp_migrations ORDER BY id"),
        [["custom_labels"], ["init"]]
    );
    assert_eq!(old.rows("SELECT count(*) FROM custom_labels_v1"), [["0"]]);
}

#[test]
fn diff_reads_every_release_with_one_query() {
    let db = Database::create("batched");
    let rt = runtime();
    let store = open(&rt, &db).expect("store opens");
    let mut releases = String::new();
    for i in 0..40 {
        releases.push_str(&format!("  - {{name: r{i}, namespace: ns{}, chart: CHART}}\n", i % 4));
        if i % 2 == 0 {
            rt.block_on(store.create(&record(&format!("r{i}"), &format!("ns{}", i % 4), 1, Status::Deployed)))
                .expect("create");
        }
    }
    drop(store);
    let deploy = Deploy::start();
    let state = deploy.state(
        "helmfire.yaml",
        &format!(
            "environments:\n  default:\n    storage: {{driver: sql, connection: \"${{{{ env.RELEASES_DB }}}}\"}}\nreleases:\n{releases}"
        ),
    );
    let before = db.executed().len();
    let (stdout, _) = expect(run(&deploy, &state, &db, &["diff"]), 0);
    assert!(stdout.contains("20 to install, 20 to upgrade"), "{stdout}");
    let reads: Vec<String> = db.executed()[before..]
        .iter()
        .filter(|s| s.contains("FROM releases_v1"))
        .cloned()
        .collect();
    assert_eq!(reads.len(), 1, "one query for 40 releases: {reads:#?}");
    assert!(reads[0].contains("unnest"), "{}", reads[0]);

    // `status` of the whole state file reads them the same way.
    let before = db.executed().len();
    let (stdout, _) = expect(run(&deploy, &state, &db, &["status"]), 0);
    assert_eq!(stdout.matches("not installed").count(), 20, "{stdout}");
    let reads = db.executed()[before..]
        .iter()
        .filter(|s| s.contains("FROM releases_v1"))
        .count();
    assert_eq!(reads, 1, "one query for the status of 40 releases");
}

#[test]
fn a_pending_revision_left_by_a_dead_helmfire_is_recovered() {
    let db = Database::create("pending");
    let deploy = Deploy::start();
    let state = deploy.state("helmfire.yaml", &STATE.replace("historyMax: 2", "historyMax: 10"));
    expect(run(&deploy, &state, &db, &["apply", "-l", "name=web"]), 0);
    // A helmfire died mid-upgrade: revision 2 pending, its Lease expired an hour ago.
    let rt = runtime();
    let store = open(&rt, &db).expect("store opens");
    let mut pending = rt.block_on(store.last("apps", "web")).unwrap().unwrap();
    pending.version = 2;
    pending.labels.clear();
    pending.info.status = Status::PendingUpgrade;
    rt.block_on(store.create(&pending)).expect("pending record");
    let an_hour_ago = k8s_openapi::jiff::Timestamp::now().as_second() - 3600;
    let renewed = k8s_openapi::jiff::Timestamp::from_second(an_hour_ago)
        .expect("valid time")
        .to_string();
    let lease = format!(
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: helmfire.release.web\n  namespace: apps\nspec:\n  holderIdentity: dead-helmfire\n  leaseDurationSeconds: 30\n  renewTime: \"{renewed}\"\n"
    );
    let out = deploy.cluster.run_stdin("kubectl", &["apply", "-f", "-"], &lease);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let changed = deploy.state(
        "changed.yaml",
        &STATE
            .replace("historyMax: 2", "historyMax: 10")
            .replace("set: {replicas: 1}", "set: {replicas: 2}"),
    );
    let (_, stderr) = expect(run(&deploy, &changed, &db, &["apply", "-l", "name=web"]), 0);
    assert!(stderr.contains("recovered revision 2"), "{stderr}");
    assert_eq!(revisions(&db, "web"), ["1|superseded", "2|failed", "3|deployed"]);
}

#[test]
fn two_helmfires_on_one_database_take_turns() {
    let db = Database::create("writers");
    // Same cluster: the Lease orders them; the primary key and one-statement writes keep the
    // rows whole.
    let deploy = Deploy::start();
    let state = deploy.state("helmfire.yaml", STATE);
    let spawn = |deploy: &Deploy, state: &std::path::Path| {
        deploy
            .command(state, &["apply"])
            .env("RELEASES_DB", db.connection())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn helmfire")
    };
    let (first, second) = (spawn(&deploy, &state), spawn(&deploy, &state));
    expect(first.wait_with_output().unwrap(), 0);
    expect(second.wait_with_output().unwrap(), 0);
    for name in ["web", "api"] {
        let rows = revisions(&db, name);
        assert!(
            rows == ["1|deployed"] || rows == ["1|superseded", "2|deployed"],
            "{name}: {rows:?}"
        );
    }

    // Two clusters sharing the database: their Leases do not see each other, the database's
    // per-release lock does. Held here, it makes helmfire wait and write nothing.
    let db = Database::create("writers_clusters");
    let (one, two) = (Deploy::start(), Deploy::start());
    let (state_one, state_two) = (one.state("helmfire.yaml", STATE), two.state("helmfire.yaml", STATE));
    let session = db.session();
    session.execute("SELECT pg_advisory_lock(hashtextextended('helmfire.release/apps/web', 0))");
    let waiting = one
        .command(&state_one, &["apply", "-l", "name=web"])
        .env("RELEASES_DB", db.connection())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn helmfire");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        db.rows("SELECT key FROM releases_v1").is_empty(),
        "nothing is written while the lock is held"
    );
    session.execute("SELECT pg_advisory_unlock_all()");
    let (_, stderr) = expect(waiting.wait_with_output().unwrap(), 0);
    assert!(stderr.contains("waiting for the lock held by"), "{stderr}");
    assert_eq!(revisions(&db, "web"), ["1|deployed"]);

    // Both clusters at once on the same release: one installs, the other upgrades after it.
    let changed = two.state(
        "changed.yaml",
        &STATE.replace("set: {replicas: 1}", "set: {replicas: 5}"),
    );
    let (a, b) = (spawn(&one, &state_one), spawn(&two, &changed));
    expect(a.wait_with_output().unwrap(), 0);
    expect(b.wait_with_output().unwrap(), 0);
    let rows = revisions(&db, "web");
    assert_eq!(rows.last().map(|r| r.ends_with("|deployed")), Some(true), "{rows:?}");
    assert_eq!(
        rows.iter().filter(|r| r.ends_with("|deployed")).count(),
        1,
        "exactly one deployed revision: {rows:?}"
    );
    drop(state_two);
}

/// `helmfire diff` with `HELM_DRIVER=sql` and `connection` as the driver's string.
fn diff_with(deploy: &Deploy, state: &std::path::Path, connection: &str) -> Output {
    deploy
        .command(state, &["diff"])
        .env("HELM_DRIVER", "sql")
        .env("HELM_DRIVER_SQL_CONNECTION_STRING", connection)
        .output()
        .expect("run helmfire")
}

#[test]
fn an_unusable_database_fails_clearly_and_writes_nothing() {
    let db = Database::create("errors");
    let deploy = Deploy::start();
    let state = deploy.state(
        "helmfire.yaml",
        "releases:\n  - {name: web, namespace: apps, chart: CHART, createNamespace: true}\n",
    );
    let port = db.server.port;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases: [(String, &str, &str); 4] = [
        (
            format!("host=127.0.0.1 port={closed} user=helm password={PASSWORD} dbname=x sslmode=disable"),
            "sql storage driver: cannot connect to `postgres://helm@127.0.0.1:PORT/x`",
            "Connection refused",
        ),
        (
            format!(
                "postgres://helm:wrong-{PASSWORD}@127.0.0.1:{port}/{}?sslmode=disable",
                db.name
            ),
            "sql storage driver: cannot connect to `postgres://helm@127.0.0.1:PORT/DB`",
            "password authentication failed for user \"helm\" (SQLSTATE 28P01)",
        ),
        (
            format!("host=127.0.0.1 port={port} user=helm password={PASSWORD} dbname=nosuch sslmode=disable"),
            "sql storage driver: cannot connect to `postgres://helm@127.0.0.1:PORT/nosuch`",
            "database \"nosuch\" does not exist (SQLSTATE 3D000)",
        ),
        // lib/pq's default sslmode is `require`: a server without TLS is refused, as by helm.
        (
            format!(
                "host=127.0.0.1 port={port} user=helm password={PASSWORD} dbname={}",
                db.name
            ),
            "sql storage driver: cannot connect to `postgres://helm@127.0.0.1:PORT/DB`",
            "the server does not support TLS, which `sslmode` (default `require`) asks for",
        ),
    ];
    for (connection, message, cause) in cases {
        let (_, stderr) = expect(diff_with(&deploy, &state, &connection), 1);
        let stderr = stderr
            .replace(&port.to_string(), "PORT")
            .replace(&closed.to_string(), "PORT")
            .replace(&db.name, "DB");
        assert!(stderr.contains(message), "{stderr}");
        assert!(stderr.contains(cause), "{stderr}");
        assert!(stderr.contains("hint: "), "{stderr}");
        assert!(!stderr.contains("wrong-"), "{stderr}");
    }

    // A schema newer than helmfire knows: refused before anything is written (apply creates
    // namespaces and records otherwise).
    db.execute(
        "CREATE TABLE gorp_migrations (id text not null primary key, applied_at timestamp with time zone); \
         INSERT INTO gorp_migrations VALUES ('custom_labels', now()), ('init', now()), ('zz_future', now());",
    );
    let (_, stderr) = expect(
        deploy
            .command(&state, &["apply"])
            .env("HELM_DRIVER", "sql")
            .env("HELM_DRIVER_SQL_CONNECTION_STRING", db.url())
            .output()
            .unwrap(),
        1,
    );
    assert!(
        stderr.contains(&format!(
            "sql storage driver: cannot set up the release tables in `{}`",
            db.shown()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("schema migrations helmfire does not know (`zz_future`)"),
        "{stderr}"
    );
    assert!(
        deploy
            .cluster
            .kubectl_fails(&["get", "namespace", "apps"])
            .contains("NotFound"),
        "nothing was applied"
    );
    assert_eq!(
        db.rows("SELECT count(*) FROM information_schema.tables WHERE table_name = 'releases_v1'"),
        [["0"]],
        "no table was created"
    );

    // Settings: an unknown driver (helm is case-sensitive too), an unsupported PG variable.
    let (_, stderr) = expect(
        deploy
            .command(&state, &["diff"])
            .env("HELM_DRIVER", "SQL")
            .output()
            .unwrap(),
        1,
    );
    assert!(stderr.contains("unknown storage driver `SQL`"), "{stderr}");
    let (_, stderr) = expect(
        deploy
            .command(&state, &["diff"])
            .env("HELM_DRIVER", "sql")
            .env("PGSERVICE", "prod")
            .output()
            .unwrap(),
        1,
    );
    assert!(stderr.contains("environment variable `PGSERVICE` is set"), "{stderr}");
}

#[test]
fn the_state_files_storage_setting_is_checked_at_load() {
    let deploy = Deploy::start();
    let cases = [
        (
            "connection: 'host=db sslmode=prefer password=secret-bits'",
            "driver: sql",
            "helmfire.yaml:4:19",
            "environment `default`: invalid `storage.connection`: unsupported sslmode `prefer`",
        ),
        (
            "connection: 'password=secret bits'",
            "driver: sql",
            "helmfire.yaml:4:19",
            "missing `=` after the key ending at character 20",
        ),
        (
            "connection: 'host=db'",
            "driver: secret",
            "helmfire.yaml:4:19",
            "`storage.connection` applies only to `driver: sql`",
        ),
        (
            "connection: '${{ env.NO_SUCH_VARIABLE_X }}'",
            "driver: sql",
            "helmfire.yaml:4:",
            "environment variable `NO_SUCH_VARIABLE_X` is not set",
        ),
        ("connection: 'x=y'", "driver: postgres", "helmfire.yaml:5:", "postgres"),
    ];
    for (connection, driver, location, message) in cases {
        let state = deploy.state(
            "helmfire.yaml",
            &format!(
                "environments:\n  default:\n    storage:\n      {connection}\n      {driver}\nreleases:\n  - {{name: web, chart: CHART}}\n"
            ),
        );
        let (_, stderr) = expect(deploy.helmfire(&state, &["lint"]), 1);
        assert!(stderr.contains(location), "{location}: {stderr}");
        assert!(stderr.contains(message), "{message}: {stderr}");
        assert!(!stderr.contains("secret-bits") && !stderr.contains("bits'"), "{stderr}");
    }

    // HELM_DRIVER naming another driver than the state file is a conflict, not a guess.
    let state = deploy.state(
        "helmfire.yaml",
        "environments:\n  default:\n    storage: {driver: sql, connection: 'host=db'}\nreleases:\n  - {name: web, chart: CHART}\n",
    );
    let (_, stderr) = expect(
        deploy
            .command(&state, &["diff"])
            .env("HELM_DRIVER", "secret")
            .output()
            .unwrap(),
        1,
    );
    assert!(
        stderr.contains("`HELM_DRIVER=secret` conflicts with `storage.driver: sql` at"),
        "{stderr}"
    );
    assert!(stderr.contains("helmfire.yaml:3:14"), "{stderr}");

    // One database holds every context's records, keyed by namespace and name alone: the same
    // release in two clusters would share a history. Refused before anything connects.
    let state = deploy.state(
        "helmfire.yaml",
        "environments:\n  default:\n    storage: {driver: sql, connection: 'host=127.0.0.1 port=1 sslmode=disable'}\nreleases:\n  - {name: web, chart: CHART, kubeContext: east}\n  - {name: web, chart: CHART, kubeContext: west}\n",
    );
    let (_, stderr) = expect(deploy.helmfire(&state, &["diff"]), 1);
    assert!(
        stderr.contains("release `west/default/web` would share its sql storage records with `east/default/web`"),
        "{stderr}"
    );
    assert!(stderr.contains("helmfire.yaml:6:"), "{stderr}");
    assert!(stderr.contains("helmfire.yaml:5:"), "{stderr}");
}

#[test]
fn tls_follows_lib_pqs_sslmodes() {
    let db = Database::create_on(postgres::tls_server(), "tls");
    let (ca, other) = (db.server.ca("ca.pem"), db.server.ca("other-ca.pem"));
    let (ca, other) = (ca.display(), other.display());
    let rt = runtime();
    let open_with = |extra: &str| {
        let text = format!(
            "port={} user=helm password={PASSWORD} dbname={} {extra}",
            db.server.port, db.name
        );
        let settings = StorageSettings {
            driver: Driver::Sql,
            connection: Some(connection::resolve(&text, &|_| None).expect("valid connection string")),
        };
        rt.block_on(Store::open(None, &settings))
            .map(drop)
            .map_err(|e| helmfire::error::Chain(&e).to_string())
    };
    // The certificate names `localhost` only; the server listens on 127.0.0.1.
    let accepted = [
        // lib/pq's default: TLS without verification.
        "host=127.0.0.1".to_string(),
        "host=127.0.0.1 sslmode=require".to_string(),
        // verify-ca checks the chain; for an IP address (no SNI) not the name.
        format!("host=127.0.0.1 sslmode=verify-ca sslrootcert={ca}"),
        format!("host=localhost sslmode=verify-full sslrootcert={ca}"),
        // `require` with an existing root certificate is verify-ca (libpq's rule).
        format!("host=127.0.0.1 sslrootcert={ca}"),
        // …and a missing one is forgotten.
        "host=127.0.0.1 sslrootcert=/nonexistent/ca.pem".to_string(),
    ];
    for extra in &accepted {
        if let Err(error) = open_with(extra) {
            panic!("`{extra}` should connect: {error}");
        }
    }
    let refused = [
        (
            format!("host=127.0.0.1 sslmode=verify-full sslrootcert={ca}"),
            "certificate not valid for name \"127.0.0.1\"",
        ),
        (
            format!("host=localhost sslmode=verify-full sslrootcert={other}"),
            "UnknownIssuer",
        ),
        (
            format!("host=127.0.0.1 sslmode=verify-ca sslrootcert={other}"),
            "UnknownIssuer",
        ),
        (format!("host=127.0.0.1 sslrootcert={other}"), "UnknownIssuer"),
    ];
    for (extra, why) in &refused {
        match open_with(extra) {
            Ok(()) => panic!("`{extra}` should be refused"),
            Err(error) => {
                assert!(
                    error.contains("sql storage driver: cannot connect to")
                        && error.contains("error performing TLS handshake")
                        && error.contains(why),
                    "`{extra}`: {error}"
                );
                assert!(!error.contains(PASSWORD), "{error}");
            }
        }
    }
}
