//! `HELM_DRIVER=sql` both ways with the real helm v4.1.4, one PostgreSQL database and one
//! sandbox: what helm installs helmfire sees, upgrades and rolls back; what helmfire installs
//! helm lists, shows, upgrades, rolls back and uninstalls; both leave the same schema and the
//! same rows after the same history limit.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::deploy::{Deploy, chart};
use crate::support::postgres::{Database, PASSWORD};

const STATE: &str = "
environments:
  default:
    storage:
      driver: sql
      connection: \"${{ env.RELEASES_DB }}\"
defaults:
  timeout: 30s
releases:
  - {name: web, namespace: apps, chart: CHART, set: {replicas: 1}}
";

fn helmfire(deploy: &Deploy, state: &Path, db: &Database, args: &[&str]) -> (String, String) {
    let output: Output = deploy
        .command(state, args)
        .env("RELEASES_DB", db.url())
        .output()
        .expect("run helmfire");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "helmfire {args:?} failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    (stdout, stderr)
}

/// helm with the sql driver on `db` (its key/value connection string).
fn helm(deploy: &Deploy, db: &Database, args: &[&str]) -> String {
    let connection = db.connection();
    deploy.cluster.helm_env(
        &[
            ("HELM_DRIVER", "sql"),
            ("HELM_DRIVER_SQL_CONNECTION_STRING", &connection),
        ],
        args,
    )
}

fn helm_json(deploy: &Deploy, db: &Database, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let text = helm(deploy, db, &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("helm {args:?}: not JSON ({e}): {text}"))
}

/// `revision:status` as `helm history` shows them.
fn helm_history(deploy: &Deploy, db: &Database, name: &str) -> Vec<String> {
    helm_json(deploy, db, &["history", name, "-n", "apps"])
        .as_array()
        .expect("array")
        .iter()
        .map(|h| format!("{}:{}", h["revision"], h["status"].as_str().unwrap_or_default()))
        .collect()
}

fn rows(db: &Database, name: &str) -> Vec<String> {
    db.rows(&format!(
        "SELECT version, status FROM releases_v1 WHERE name = '{name}' ORDER BY version"
    ))
    .into_iter()
    .map(|row| row.join(":"))
    .collect()
}

#[test]
fn helmfire_sees_upgrades_and_rolls_back_what_helm_installed() {
    let db = Database::create("helm_first");
    let deploy = Deploy::start();
    helm(
        &deploy,
        &db,
        &[
            "install",
            "web",
            &chart(),
            "-n",
            "apps",
            "--create-namespace",
            "--labels",
            "team=payments",
        ],
    );
    let state = deploy.state("helmfire.yaml", STATE);
    let (stdout, _) = helmfire(&deploy, &state, &db, &["status", "web", "-o", "json"]);
    let status: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(status["revision"], 1);
    assert_eq!(status["status"], "deployed");
    let (stdout, _) = helmfire(&deploy, &state, &db, &["diff", "--detailed-exitcode"]);
    assert!(
        stdout.contains("1 unchanged"),
        "helm's install is what the state says: {stdout}"
    );

    let changed = deploy.state("changed.yaml", &STATE.replace("replicas: 1", "replicas: 2"));
    let (_, stderr) = helmfire(&deploy, &changed, &db, &["apply"]);
    assert!(stderr.contains("web: upgraded (revision 2)"), "{stderr}");
    assert_eq!(helm_history(&deploy, &db, "web"), ["1:superseded", "2:deployed"]);
    // helm's upgrade copies custom labels forward; so does helmfire's, into helm's table.
    assert_eq!(
        db.rows("SELECT releasekey, key, value FROM custom_labels_v1 ORDER BY releasekey"),
        [
            ["sh.helm.release.v1.web.v1", "team", "payments"],
            ["sh.helm.release.v1.web.v2", "team", "payments"],
        ]
    );
    let values = helm_json(&deploy, &db, &["get", "values", "web", "-n", "apps"]);
    assert_eq!(values["replicas"], 2);

    helmfire(&deploy, &changed, &db, &["rollback", "web", "1"]);
    assert_eq!(
        helm_history(&deploy, &db, "web"),
        ["1:superseded", "2:superseded", "3:deployed"]
    );
    let history = helm_json(&deploy, &db, &["history", "web", "-n", "apps"]);
    assert_eq!(history[2]["description"], "Rollback to 1");
    let manifest = helm(&deploy, &db, &["get", "manifest", "web", "-n", "apps"]);
    assert!(manifest.contains("name: web-config"), "{manifest}");
    assert_eq!(
        deploy.cluster.get_json(&["deployment", "web", "-n", "apps"])["spec"]["replicas"],
        1,
        "rolled back to helm's values"
    );
}

#[test]
fn helm_lists_upgrades_rolls_back_and_uninstalls_what_helmfire_installed() {
    let db = Database::create("helmfire_first");
    let deploy = Deploy::start();
    let state = deploy.state(
        "helmfire.yaml",
        &STATE.replace("timeout: 30s", "timeout: 30s\n  createNamespace: true"),
    );
    helmfire(&deploy, &state, &db, &["apply"]);

    let list = helm_json(&deploy, &db, &["list", "-n", "apps"]);
    assert_eq!(list[0]["name"], "web");
    assert_eq!(list[0]["revision"], "1");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "ten-objects-1.0.0");
    let all = helm_json(&deploy, &db, &["list", "-A"]);
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    assert_eq!(helm_history(&deploy, &db, "web"), ["1:deployed"]);
    let manifest = helm(&deploy, &db, &["get", "manifest", "web", "-n", "apps"]);
    assert!(
        manifest.contains("kind: Deployment") && manifest.contains("name: web-config"),
        "{manifest}"
    );
    let status = helm(&deploy, &db, &["status", "web", "-n", "apps"]);
    assert!(status.contains("STATUS: deployed"), "{status}");

    helm(
        &deploy,
        &db,
        &["upgrade", "web", &chart(), "-n", "apps", "--set", "replicas=3"],
    );
    helm(&deploy, &db, &["rollback", "web", "1", "-n", "apps"]);
    assert_eq!(
        helm_history(&deploy, &db, "web"),
        ["1:superseded", "2:superseded", "3:deployed"]
    );
    // helmfire reads helm's revisions: the rollback restored what the state file says.
    let (stdout, _) = helmfire(&deploy, &state, &db, &["diff", "--detailed-exitcode"]);
    assert!(stdout.contains("1 unchanged"), "{stdout}");

    helm(&deploy, &db, &["uninstall", "web", "-n", "apps", "--keep-history"]);
    assert_eq!(rows(&db, "web").last().map(String::as_str), Some("3:uninstalled"));
    let (stdout, _) = helmfire(&deploy, &state, &db, &["diff"]);
    assert!(stdout.contains("1 to install"), "{stdout}");
    helm(&deploy, &db, &["uninstall", "web", "-n", "apps"]);
    assert!(rows(&db, "web").is_empty());
}

#[test]
fn both_tools_keep_the_same_rows_under_a_history_limit() {
    let db = Database::create("history");
    let deploy = Deploy::start();
    // `a` by helm, `b` by helmfire: an install and three upgrades each, at most 2 revisions
    // (helm's `install` has no `--history-max`; its upgrades do).
    helm(
        &deploy,
        &db,
        &["install", "a", &chart(), "-n", "apps", "--create-namespace"],
    );
    let state = |replicas: u32| {
        deploy.state(
            "helmfire.yaml",
            &STATE
                .replace("name: web", "name: b")
                .replace("replicas: 1", &format!("replicas: {replicas}"))
                .replace("timeout: 30s", "timeout: 30s\n  historyMax: 2"),
        )
    };
    helmfire(&deploy, &state(1), &db, &["apply"]);
    for replicas in 2..=4 {
        helm(
            &deploy,
            &db,
            &[
                "upgrade",
                "a",
                &chart(),
                "-n",
                "apps",
                "--history-max",
                "2",
                "--set",
                &format!("replicas={replicas}"),
            ],
        );
        helmfire(&deploy, &state(replicas), &db, &["apply"]);
    }
    assert_eq!(rows(&db, "a"), ["3:superseded", "4:deployed"]);
    assert_eq!(rows(&db, "b"), rows(&db, "a"));
    assert_eq!(helm_history(&deploy, &db, "b"), ["3:superseded", "4:deployed"]);
}

/// The schema as PostgreSQL describes it: columns, indexes, row security, grants, migrations.
fn schema(db: &Database) -> Vec<Vec<String>> {
    let mut out = db.rows(
        "SELECT table_name, column_name, data_type, coalesce(character_maximum_length::text, ''), is_nullable, \
         coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = 'public' \
         ORDER BY table_name, ordinal_position",
    );
    out.extend(db.rows("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname"));
    out.extend(db.rows(
        "SELECT relname, relrowsecurity::text, coalesce(array_to_string(relacl, ','), '') FROM pg_class \
         WHERE relname IN ('releases_v1', 'custom_labels_v1', 'gorp_migrations') ORDER BY relname",
    ));
    out.extend(db.rows("SELECT id FROM gorp_migrations ORDER BY id"));
    out
}

#[test]
fn the_schema_helm_sets_up_and_the_one_helmfire_sets_up_are_the_same() {
    let by_helm = Database::create("schema_helm");
    let by_helmfire = Database::create("schema_helmfire");
    let deploy = Deploy::start();
    // Any helm command sets the schema up.
    helm(&deploy, &by_helm, &["list"]);
    let state = deploy.state("helmfire.yaml", STATE);
    helmfire(&deploy, &state, &by_helmfire, &["diff"]);
    let (helm_schema, helmfire_schema) = (schema(&by_helm), schema(&by_helmfire));
    assert!(helm_schema.len() > 20, "{helm_schema:?}");
    assert_eq!(helmfire_schema, helm_schema);

    // Each tool uses the other's: helm lists on helmfire's schema, helmfire diffs on helm's.
    helm(&deploy, &by_helmfire, &["list", "-A"]);
    helmfire(&deploy, &state, &by_helm, &["diff"]);
    assert_eq!(schema(&by_helm), helm_schema, "no migration ran twice");
}
