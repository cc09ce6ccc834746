//! The release engine against the sandbox, checked with the real helm: install, upgrade,
//! rollback and uninstall of helmfire releases seen by helm (and helm's releases taken over),
//! hooks, waits, CRDs, the Lease, recovery of a killed process, and transient API faults.

use crate::support::sandbox as sandbox_support;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use helmfire::cluster::{Cluster as KubeCluster, ClusterConfig, ObjectRef, RetryPolicy};
use helmfire::converge::{
    ActionOptions, ConvergeError, Converged, DesiredRelease, Engine, LeaseSettings, NoProgress, Progress, Step,
    UninstallOptions,
};
use helmfire::render::{self, ReleaseRender, UserValues};
use helmfire::storage::{Driver, ReleaseRecord, Status, Store};
use helmfire_chart::values::ValueOptions;
use helmfire_sandbox::{FaultSpec, SandboxConfig};
use sandbox_support::Cluster;
use serde_json::Value as Json;

fn chart_dir(name: &str) -> PathBuf {
    PathBuf::from(crate::support::oracle::ROOT)
        .join("testdata/charts-engine")
        .join(name)
}

/// Renders a test chart as the deploy pipeline does.
fn desired(chart: &str, name: &str, namespace: &str, set: &[&str]) -> DesiredRelease {
    let request = ReleaseRender {
        values: UserValues {
            options: ValueOptions {
                set: set.iter().map(|s| s.to_string()).collect(),
                ..ValueOptions::default()
            },
            inline: Vec::new(),
        },
        check_objects: false,
        ..ReleaseRender::install(name, namespace, chart_dir(chart))
    };
    DesiredRelease::new(name, namespace, render::render_release(&request).expect("renders")).expect("chart files read")
}

struct Harness {
    cluster: Cluster,
    engine: Engine,
}

impl Harness {
    fn start() -> Harness {
        Harness::with(Cluster::start())
    }

    fn with(cluster: Cluster) -> Harness {
        let engine = cluster
            .runtime
            .block_on(engine_for(&cluster.kubeconfig, Duration::from_secs(30)));
        Harness { cluster, engine }
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.cluster.runtime.block_on(f)
    }

    /// A client of the sandbox that retries no request.
    async fn bare_cluster(&self) -> KubeCluster {
        KubeCluster::connect(&ClusterConfig {
            kubeconfig: Some(self.cluster.kubeconfig.clone()),
            context: None,
            ..Default::default()
        })
        .await
        .expect("connects")
        .with_retry_policy(RetryPolicy::none())
    }

    fn namespace(&self, name: &str) {
        self.cluster.kubectl(&["create", "namespace", name]);
    }

    fn install(&self, d: DesiredRelease, options: &ActionOptions) -> Result<ReleaseRecord, ConvergeError> {
        self.block_on(self.engine.install(d, options, &NoProgress))
    }

    fn upgrade(&self, d: DesiredRelease, options: &ActionOptions) -> Result<ReleaseRecord, ConvergeError> {
        self.block_on(self.engine.upgrade(d, options, &NoProgress))
    }

    fn history(&self, namespace: &str, name: &str) -> Vec<ReleaseRecord> {
        let mut h = self
            .block_on(self.engine.store().history(namespace, name))
            .expect("history");
        h.sort_by_key(|r| r.version);
        h
    }

    fn statuses(&self, namespace: &str, name: &str) -> Vec<(i32, Status)> {
        self.history(namespace, name)
            .into_iter()
            .map(|r| (r.version, r.info.status))
            .collect()
    }

    fn helm_json(&self, args: &[&str]) -> Json {
        let text = self.cluster.helm(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("helm {args:?}: not JSON ({e}): {text}"))
    }

    fn exists(&self, args: &[&str]) -> bool {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        self.cluster.run("kubectl", &all).status.success()
    }
}

async fn engine_for(kubeconfig: &std::path::Path, lease: Duration) -> Engine {
    let cluster = KubeCluster::connect(&ClusterConfig {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        context: None,
        ..Default::default()
    })
    .await
    .expect("connects");
    let store = Store::new(Some(cluster.clone()), Driver::Secret);
    Engine::new(cluster, store).with_lease(LeaseSettings {
        duration: lease,
        ..LeaseSettings::default()
    })
}

fn options() -> ActionOptions {
    ActionOptions {
        timeout: Duration::from_secs(20),
        ..ActionOptions::default()
    }
}

/// Collects steps for assertions.
#[derive(Default)]
struct Steps(Mutex<Vec<Step>>);

impl Progress for Steps {
    fn step(&self, _release: &str, step: &Step) {
        self.0.lock().unwrap().push(step.clone());
    }
}

#[test]
fn helm_reads_upgrades_rolls_back_and_uninstalls_helmfire_releases() {
    let h = Harness::start();
    h.namespace("apps");
    let record = h
        .install(desired("basic", "web", "apps", &["message=hi"]), &options())
        .expect("install");
    assert_eq!((record.version, record.info.status), (1, Status::Deployed));
    assert_eq!(record.info.description, "Install complete");

    // helm list / status / history / get manifest / get values.
    let list = h.helm_json(&["list", "-n", "apps", "-o", "json"]);
    assert_eq!(list[0]["name"], "web");
    assert_eq!(list[0]["revision"], "1");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "basic-0.1.0");
    let status = h.helm_json(&["status", "web", "-n", "apps", "-o", "json"]);
    assert_eq!(status["info"]["status"], "deployed");
    assert_eq!(status["info"]["description"], "Install complete");
    let manifest = h.cluster.helm(&["get", "manifest", "web", "-n", "apps"]);
    assert_eq!(manifest.trim_end(), record.manifest.trim_end());
    assert!(
        !manifest.contains("meta.helm.sh"),
        "ownership metadata must not be stored"
    );
    let values = h.helm_json(&["get", "values", "web", "-n", "apps", "-o", "json"]);
    assert_eq!(values, serde_json::json!({"message": "hi"}));

    // The objects carry helm's ownership metadata.
    let cm = h.cluster.get_json(&["configmap", "web-config", "-n", "apps"]);
    assert_eq!(cm["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm");
    assert_eq!(cm["metadata"]["annotations"]["meta.helm.sh/release-name"], "web");
    assert_eq!(cm["metadata"]["annotations"]["meta.helm.sh/release-namespace"], "apps");
    assert_eq!(cm["data"]["message"], "hi");

    // helmfire upgrade adds a resource, the next removes it again.
    h.upgrade(
        desired("basic", "web", "apps", &["message=hi", "extra=true"]),
        &options(),
    )
    .expect("upgrade adds extra");
    assert!(h.exists(&["configmap", "web-extra", "-n", "apps"]));
    let record = h
        .upgrade(desired("basic", "web", "apps", &["message=bye"]), &options())
        .expect("upgrade removes extra");
    assert_eq!(record.info.description, "Upgrade complete");
    assert!(!h.exists(&["configmap", "web-extra", "-n", "apps"]));
    assert_eq!(
        h.statuses("apps", "web"),
        [(1, Status::Superseded), (2, Status::Superseded), (3, Status::Deployed)]
    );
    let history = h.helm_json(&["history", "web", "-n", "apps", "-o", "json"]);
    assert_eq!(history.as_array().unwrap().len(), 3);
    assert_eq!(history[2]["status"], "deployed");

    // helm upgrade of a helmfire release: no field conflicts, revision continues.
    let chart = chart_dir("basic");
    h.cluster.helm(&[
        "upgrade",
        "web",
        chart.to_str().unwrap(),
        "-n",
        "apps",
        "--set",
        "message=from-helm",
        "--set",
        "replicas=2",
    ]);
    let cm = h.cluster.get_json(&["configmap", "web-config", "-n", "apps"]);
    assert_eq!(cm["data"]["message"], "from-helm");
    // helmfire after helm upgrade: no conflicts either.
    let record = h
        .upgrade(desired("basic", "web", "apps", &["message=helmfire-again"]), &options())
        .expect("helmfire upgrade after helm upgrade");
    assert_eq!(record.version, 5);
    let deployment = h.cluster.get_json(&["deployment", "web-web", "-n", "apps"]);
    assert_eq!(deployment["spec"]["replicas"], 1);

    // helm rollback of a helmfire release.
    h.cluster.helm(&["rollback", "web", "1", "-n", "apps"]);
    let cm = h.cluster.get_json(&["configmap", "web-config", "-n", "apps"]);
    assert_eq!(cm["data"]["message"], "hi");
    assert_eq!(h.statuses("apps", "web").last(), Some(&(6, Status::Deployed)));

    // helm uninstall removes every object.
    h.cluster.helm(&["uninstall", "web", "-n", "apps"]);
    for object in [
        ["configmap", "web-config"],
        ["deployment", "web-web"],
        ["service", "web-web"],
    ] {
        assert!(
            !h.exists(&[object[0], object[1], "-n", "apps"]),
            "{object:?} left behind"
        );
    }
    assert!(h.history("apps", "web").is_empty());
}

#[test]
fn helmfire_takes_over_releases_helm_installed() {
    let h = Harness::start();
    h.namespace("apps");
    let chart = chart_dir("basic");
    let chart = chart.to_str().unwrap();
    // Server-side apply (helm 4's default)…
    h.cluster
        .helm(&["install", "ssa", chart, "-n", "apps", "--set", "extra=true"]);
    let record = h
        .upgrade(desired("basic", "ssa", "apps", &["message=taken"]), &options())
        .expect("upgrade of helm's release");
    assert_eq!(record.version, 2);
    assert_eq!(
        h.statuses("apps", "ssa"),
        [(1, Status::Superseded), (2, Status::Deployed)]
    );
    assert!(
        !h.exists(&["configmap", "ssa-extra", "-n", "apps"]),
        "removed from the chart"
    );
    assert_eq!(
        h.cluster.get_json(&["configmap", "ssa-config", "-n", "apps"])["data"]["message"],
        "taken"
    );
    h.cluster
        .helm(&["upgrade", "ssa", chart, "-n", "apps", "--set", "message=helm-again"]);
    assert_eq!(h.statuses("apps", "ssa").last(), Some(&(3, Status::Deployed)));

    // …and client-side apply (helm 3 style): helmfire keeps the release client-side.
    h.cluster.helm(&[
        "install",
        "csa",
        chart,
        "-n",
        "apps",
        "--server-side=false",
        "--set",
        "extra=true",
    ]);
    let record = h
        .upgrade(desired("basic", "csa", "apps", &["message=taken"]), &options())
        .expect("upgrade of a client-side release");
    assert_eq!(record.version, 2);
    let history = h.history("apps", "csa");
    assert_eq!(
        format!("{:?}", history[1].apply_method),
        format!("{:?}", history[0].apply_method)
    );
    assert_eq!(
        h.cluster.get_json(&["configmap", "csa-config", "-n", "apps"])["data"]["message"],
        "taken"
    );
    assert!(!h.exists(&["configmap", "csa-extra", "-n", "apps"]));
    h.cluster
        .helm(&["upgrade", "csa", chart, "-n", "apps", "--set", "message=helm-again"]);
    assert_eq!(
        h.cluster.get_json(&["configmap", "csa-config", "-n", "apps"])["data"]["message"],
        "helm-again"
    );
}

#[test]
fn refusals_name_the_release_and_the_reason() {
    let h = Harness::start();
    h.namespace("apps");
    h.cluster.kubectl(&["create", "configmap", "web-config", "-n", "apps"]);
    let err = h.install(desired("basic", "web", "apps", &[]), &options()).unwrap_err();
    let text = helmfire_error_chain(&err);
    assert!(
        text.contains("exists and cannot be imported into release `apps/web`"),
        "{text}"
    );
    assert!(text.contains("missing key \"app.kubernetes.io/managed-by\""), "{text}");
    assert_eq!(h.statuses("apps", "web"), [(1, Status::Failed)]);
    let described = &h.history("apps", "web")[0].info.description;
    assert!(described.starts_with("Release \"web\" failed: "), "{described}");

    let err = h.install(desired("basic", "web", "apps", &[]), &options()).unwrap_err();
    assert!(
        err.to_string().contains("cannot reuse a name that is still in use"),
        "{err}"
    );

    // --take-ownership adopts the object: the failed release's name is reused by a new one.
    h.namespace("adopt");
    h.cluster
        .kubectl(&["create", "configmap", "taken-config", "-n", "adopt"]);
    let adopting = ActionOptions {
        take_ownership: true,
        ..options()
    };
    h.install(desired("basic", "taken", "adopt", &[]), &adopting)
        .expect("install taking ownership");
    assert_eq!(h.statuses("adopt", "taken"), [(1, Status::Deployed)]);
    let annotations = h.cluster.kubectl(&[
        "get",
        "configmap",
        "taken-config",
        "-n",
        "adopt",
        "-o",
        "jsonpath={.metadata.annotations.meta\\.helm\\.sh/release-name}",
    ]);
    assert_eq!(annotations.trim(), "taken");

    // Nothing to roll back to, nothing to upgrade or uninstall.
    let err = h
        .block_on(h.engine.rollback("apps", "web", None, &options(), &NoProgress))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "release `apps/web` has no previous revision to roll back to"
    );
    let err = h
        .upgrade(desired("basic", "none", "apps", &[]), &options())
        .unwrap_err();
    assert_eq!(err.to_string(), "release `apps/none` not found");
    let err = h
        .block_on(
            h.engine
                .uninstall("apps", "none", &UninstallOptions::default(), &NoProgress),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "release `apps/none` not found");

    // An uninstalled release kept in history cannot be upgraded (helm: "has no deployed releases").
    h.install(desired("basic", "kept", "apps", &[]), &options())
        .expect("install");
    let keep = UninstallOptions {
        keep_history: true,
        ..UninstallOptions::default()
    };
    h.block_on(h.engine.uninstall("apps", "kept", &keep, &NoProgress))
        .expect("uninstall");
    let err = h
        .upgrade(desired("basic", "kept", "apps", &[]), &options())
        .unwrap_err();
    assert_eq!(err.to_string(), "release `apps/kept` has no deployed releases");
    // A missing namespace is named; create_namespace creates it.
    let err = h
        .install(desired("basic", "web", "missing", &[]), &options())
        .unwrap_err();
    let text = helmfire_error_chain(&err);
    assert!(text.starts_with("cannot lock release `missing/web`"), "{text}");
    assert!(text.contains("namespaces \"missing\" not found"), "{text}");
    let created = ActionOptions {
        create_namespace: true,
        ..options()
    };
    h.install(desired("basic", "web", "missing", &[]), &created)
        .expect("install creating the namespace");
    assert!(h.exists(&["configmap", "web-config", "-n", "missing"]));

    // A manifest that is not objects is refused before anything is recorded.
    let mut broken = desired("basic", "broken", "apps", &[]);
    broken
        .manifest
        .push_str("---\n# Source: basic/templates/bad.yaml\nkind: ConfigMap\n");
    let err = h.install(broken, &options()).unwrap_err();
    assert_eq!(
        helmfire_error_chain(&err),
        "the manifest of release `apps/broken` is invalid: `basic/templates/bad.yaml` is not a Kubernetes object: `apiVersion` is missing"
    );
    assert!(h.history("apps", "broken").is_empty());

    // history_max bounds the revisions upgrades leave, as helm's --history-max.
    let bounded = ActionOptions {
        history_max: 2,
        ..options()
    };
    h.install(desired("basic", "short", "apps", &[]), &options())
        .expect("install");
    for message in ["a", "b", "c"] {
        let set = format!("message={message}");
        h.upgrade(desired("basic", "short", "apps", &[&set]), &bounded)
            .expect("upgrade");
    }
    assert_eq!(
        h.statuses("apps", "short"),
        [(3, Status::Superseded), (4, Status::Deployed)]
    );
    // Purging an uninstalled release removes its records.
    h.block_on(
        h.engine
            .uninstall("apps", "kept", &UninstallOptions::default(), &NoProgress),
    )
    .expect("purge");
    assert!(h.history("apps", "kept").is_empty());
}

fn helmfire_error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cause = e.source();
    }
    out
}

#[test]
fn hooks_run_by_weight_with_delete_policies() {
    let h = Harness::start();
    h.namespace("apps");
    let record = h
        .install(desired("hooks", "h", "apps", &[]), &options())
        .expect("install with hooks");
    // Pre-install hooks ran in weight order: first (-5), second (0), migrate (5).
    let started = |record: &ReleaseRecord, name: &str| {
        let hook = record
            .hooks
            .iter()
            .find(|x| x.name == name)
            .unwrap_or_else(|| panic!("hook {name}"));
        assert_eq!(hook.last_run.phase, "Succeeded", "{name}");
        let text = hook.last_run.started_at.as_ref().expect("started").as_str().to_string();
        text.parse::<k8s_openapi::jiff::Timestamp>().expect("RFC 3339 time")
    };
    let first = started(&record, "h-first");
    let second = started(&record, "h-second");
    let migrate = started(&record, "h-migrate");
    let notify = started(&record, "h-notify");
    assert!(
        first < second && second < migrate && migrate < notify,
        "{first:?} {second:?} {migrate:?} {notify:?}"
    );
    // The default policy is persisted.
    let second_hook = record.hooks.iter().find(|x| x.name == "h-second").unwrap();
    assert_eq!(second_hook.delete_policies.len(), 1);
    // hook-succeeded objects are gone, the others stay; the release's own objects exist.
    assert!(!h.exists(&["configmap", "h-first", "-n", "apps"]));
    assert!(!h.exists(&["job", "h-notify", "-n", "apps"]));
    assert!(h.exists(&["configmap", "h-second", "-n", "apps"]));
    assert!(h.exists(&["job", "h-migrate", "-n", "apps"]));
    assert!(h.exists(&["configmap", "h-app", "-n", "apps"]));
    // Hooks do not get the ownership metadata.
    let hook_cm = h.cluster.get_json(&["configmap", "h-second", "-n", "apps"]);
    assert!(hook_cm["metadata"]["labels"]["app.kubernetes.io/managed-by"].is_null());
    // helm sees the hooks.
    let hooks = h.cluster.helm(&["get", "hooks", "h", "-n", "apps"]);
    assert!(hooks.contains("h-migrate"), "{hooks}");

    // Upgrade: before-hook-creation replaces the existing hook object.
    h.upgrade(desired("hooks", "h", "apps", &["stamp=two"]), &options())
        .expect("upgrade with hooks");
    let second = h.cluster.get_json(&["configmap", "h-second", "-n", "apps"]);
    assert_eq!(second["data"]["stamp"], "two");

    // Uninstall runs pre-delete hooks and keeps history when asked.
    let kept = h
        .block_on(h.engine.uninstall(
            "apps",
            "h",
            &UninstallOptions {
                keep_history: true,
                ..UninstallOptions::default()
            },
            &NoProgress,
        ))
        .expect("uninstall")
        .expect("kept record");
    assert_eq!(kept.info.status, Status::Uninstalled);
    assert_eq!(kept.info.description, "Uninstallation complete");
    assert!(h.exists(&["configmap", "h-cleanup", "-n", "apps"]));
    assert!(!h.exists(&["configmap", "h-app", "-n", "apps"]));
    let history = h.helm_json(&["history", "h", "-n", "apps", "-o", "json"]);
    assert_eq!(history[1]["status"], "uninstalled");
    // A later install continues the revisions.
    let again = h
        .install(desired("hooks", "h", "apps", &[]), &options())
        .expect("reinstall");
    assert_eq!(again.version, 3);
}

#[test]
fn a_failed_hook_job_reports_its_reason() {
    let h = Harness::start();
    h.namespace("apps");
    let err = h
        .install(desired("failing-hook", "bad", "apps", &[]), &options())
        .unwrap_err();
    let text = helmfire_error_chain(&err);
    assert!(
        text.contains("pre-install hook `failing-hook/templates/hook.yaml`"),
        "{text}"
    );
    assert!(text.contains("BackoffLimitExceeded"), "{text}");
    let record = &h.history("apps", "bad")[0];
    assert_eq!(record.info.status, Status::Failed);
    assert!(
        record.info.description.contains("BackoffLimitExceeded"),
        "{}",
        record.info.description
    );
    assert_eq!(record.hooks[0].last_run.phase, "Failed");
    // hook-failed deleted the Job; the chart's resources were never applied.
    assert!(!h.exists(&["job", "bad-check", "-n", "apps"]));
    assert!(!h.exists(&["configmap", "bad-app", "-n", "apps"]));

    // atomic: the failed install is uninstalled.
    let atomic = ActionOptions {
        atomic: true,
        ..options()
    };
    let err = h
        .install(desired("failing-hook", "gone", "apps", &[]), &atomic)
        .unwrap_err();
    assert!(err.to_string().contains("was uninstalled (atomic)"), "{err}");
    assert!(h.history("apps", "gone").is_empty());

    // atomic upgrade whose rollback fails too: both failures are reported, nothing is pending.
    let no_hooks = ActionOptions {
        disable_hooks: true,
        ..options()
    };
    h.install(desired("failing-hook", "twice", "apps", &[]), &no_hooks)
        .expect("install without hooks");
    let err = h
        .upgrade(desired("failing-hook", "twice", "apps", &[]), &atomic)
        .unwrap_err();
    let text = helmfire_error_chain(&err);
    assert!(text.starts_with("upgrade of release `apps/twice` failed, and undoing it failed too: rollback of release `apps/twice` failed: pre-rollback hook"), "{text}");
    assert!(
        text.contains("pre-upgrade hook `failing-hook/templates/hook.yaml`"),
        "{text}"
    );
    assert_eq!(
        h.statuses("apps", "twice"),
        [(1, Status::Deployed), (2, Status::Failed), (3, Status::Failed)]
    );
}

#[test]
fn wait_timeouts_name_each_unready_resource() {
    let h = Harness::start();
    h.namespace("apps");
    let waiting = ActionOptions {
        wait: true,
        timeout: Duration::from_secs(2),
        ..options()
    };
    let err = h
        .install(desired("never-ready", "slow", "apps", &[]), &waiting)
        .unwrap_err();
    let text = helmfire_error_chain(&err);
    assert!(
        text.contains("timed out after 2s waiting for release `apps/slow`"),
        "{text}"
    );
    assert!(text.contains("Deployment/apps/slow-stuck ("), "{text}");
    assert!(
        text.contains("PersistentVolumeClaim/apps/slow-data (claim phase is Pending)"),
        "{text}"
    );
    assert!(!text.contains("ConfigMap"), "{text}");
    assert_eq!(h.statuses("apps", "slow"), [(1, Status::Failed)]);

    // Once the objects can become ready, an upgrade with wait succeeds.
    let record = h
        .upgrade(
            desired("never-ready", "slow", "apps", &["hang=false"]),
            &ActionOptions {
                timeout: Duration::from_secs(20),
                ..waiting.clone()
            },
        )
        .expect("upgrade waits until ready");
    assert_eq!(record.info.status, Status::Deployed);

    // atomic upgrade back to hanging: rolled back to revision 2's objects.
    let atomic = ActionOptions {
        atomic: true,
        ..waiting
    };
    let err = h
        .upgrade(desired("never-ready", "slow", "apps", &["hang=true"]), &atomic)
        .unwrap_err();
    assert!(err.to_string().contains("was rolled back (atomic)"), "{err}");
    assert_eq!(
        h.statuses("apps", "slow"),
        [
            (1, Status::Failed),
            (2, Status::Superseded),
            (3, Status::Failed),
            (4, Status::Deployed)
        ]
    );
    assert_eq!(h.history("apps", "slow")[3].info.description, "Rollback to 2");

    // Without cleanup_on_fail a failed upgrade leaves what it created…
    let plain = ActionOptions {
        wait: true,
        timeout: Duration::from_secs(2),
        ..options()
    };
    h.upgrade(
        desired("never-ready", "slow", "apps", &["hang=true", "extra=true"]),
        &plain,
    )
    .unwrap_err();
    assert!(h.exists(&["configmap", "slow-extra", "-n", "apps"]));
    // …with it, what the failed upgrade created (relative to the deployed revision) is deleted,
    // what it changed stays.
    let cleanup = ActionOptions {
        cleanup_on_fail: true,
        ..plain
    };
    let err = h
        .upgrade(
            desired("never-ready", "slow", "apps", &["hang=true", "extra=true"]),
            &cleanup,
        )
        .unwrap_err();
    assert!(helmfire_error_chain(&err).contains("timed out after 2s"), "{err}");
    assert!(!h.exists(&["configmap", "slow-extra", "-n", "apps"]));
    assert!(h.exists(&["configmap", "slow-config", "-n", "apps"]));
    assert_eq!(h.statuses("apps", "slow").last(), Some(&(6, Status::Failed)));
}

#[test]
fn crds_are_installed_first_and_updated() {
    let h = Harness::start();
    h.namespace("apps");
    let record = h
        .install(desired("crds", "w", "apps", &[]), &options())
        .expect("install with crds");
    assert!(!record.manifest.contains("CustomResourceDefinition"));
    let widget = h
        .cluster
        .get_json(&["widgets.engine.helmfire.dev", "w-widget", "-n", "apps"]);
    assert_eq!(widget["spec"]["size"], 1);

    // A changed CRD is updated (helm would not) unless skip_crd_update.
    let mut changed = desired("crds", "w", "apps", &["size=2"]);
    changed.crds[0].1 = changed.crds[0].1.replace(
        "  name: widgets.engine.helmfire.dev",
        "  name: widgets.engine.helmfire.dev\n  labels:\n    revision: two",
    );
    let mut skipped = changed.clone();
    skipped.crds[0].1 = skipped.crds[0].1.replace("revision: two", "revision: three");
    h.upgrade(changed, &options()).expect("upgrade");
    let crd = h.cluster.get_json(&["crd", "widgets.engine.helmfire.dev"]);
    assert_eq!(crd["metadata"]["labels"]["revision"], "two");
    h.upgrade(
        skipped,
        &ActionOptions {
            skip_crd_update: true,
            ..options()
        },
    )
    .expect("upgrade without crd update");
    let crd = h.cluster.get_json(&["crd", "widgets.engine.helmfire.dev"]);
    assert_eq!(crd["metadata"]["labels"]["revision"], "two");
}

/// A Lease held by a live process blocks; an expired one lets the pending release be recovered.
#[test]
fn the_lease_blocks_a_second_helmfire_and_expired_ones_are_recovered() {
    let h = Harness::start();
    h.namespace("apps");
    h.install(desired("basic", "web", "apps", &[]), &options())
        .expect("install");
    // Another helmfire holds the Lease and keeps renewing it.
    let now = |offset: i64| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + offset;
        format_rfc3339(t)
    };
    let lease = |holder: &str, renewed: String| {
        format!(
            "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: helmfire.release.web\n  namespace: apps\nspec:\n  holderIdentity: {holder}\n  leaseDurationSeconds: 30\n  renewTime: \"{renewed}\"\n"
        )
    };
    let out = h
        .cluster
        .run_stdin("kubectl", &["apply", "-f", "-"], &lease("other-helmfire", now(0)));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let quick = ActionOptions {
        timeout: Duration::from_secs(1),
        ..options()
    };
    let steps = Steps::default();
    let err = h
        .block_on(h.engine.upgrade(desired("basic", "web", "apps", &[]), &quick, &steps))
        .unwrap_err();
    let text = helmfire_error_chain(&err);
    assert!(
        text.contains("is locked by another helmfire (`other-helmfire`"),
        "{text}"
    );
    assert!(steps.0.lock().unwrap().contains(&Step::WaitingForLease {
        holder: "other-helmfire".into()
    }));
    assert_eq!(h.statuses("apps", "web"), [(1, Status::Deployed)], "nothing recorded");

    // A pending record that no expired Lease explains is refused, as helm does.
    let mut pending = h.history("apps", "web")[0].clone();
    pending.version = 2;
    pending.info.status = Status::PendingUpgrade;
    h.block_on(h.engine.store().create(&pending))
        .expect("fake pending record");
    h.cluster
        .kubectl(&["delete", "lease", "helmfire.release.web", "-n", "apps"]);
    let err = h.upgrade(desired("basic", "web", "apps", &[]), &quick).unwrap_err();
    assert!(
        err.to_string()
            .contains("another operation (install/upgrade/rollback) is in progress"),
        "{err}"
    );

    // The holder died an hour ago: its pending revision is recovered, then upgraded.
    let out = h
        .cluster
        .run_stdin("kubectl", &["apply", "-f", "-"], &lease("dead-helmfire", now(-3600)));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let steps = Steps::default();
    let record = h
        .block_on(
            h.engine
                .install_or_upgrade(desired("basic", "web", "apps", &[]), &quick, &steps),
        )
        .expect("recovered upgrade");
    assert_eq!(record.version, 3);
    assert!(steps.0.lock().unwrap().contains(&Step::Recovered {
        revision: 2,
        status: "pending-upgrade".into(),
        holder: "dead-helmfire".into(),
    }));
    let history = h.history("apps", "web");
    assert_eq!(history[1].info.status, Status::Failed);
    assert!(
        history[1].info.description.contains("Recovered by helmfire"),
        "{}",
        history[1].info.description
    );
    // The Lease is free again.
    let lease = h.cluster.get_json(&["lease", "helmfire.release.web", "-n", "apps"]);
    assert!(lease["spec"]["holderIdentity"].is_null(), "{lease}");
}

/// The record that ends a pending revision cannot be stored (every update of a Secret fails):
/// it is tried again, and when it still cannot be, the Lease is left to expire instead of being
/// let go, so that the next run knows the revision was abandoned and recovers it — a free Lease
/// would have told it another operation was in progress, for ever.
#[test]
fn a_revision_that_cannot_be_ended_keeps_its_lease_until_the_next_run_recovers_it() {
    let h = Harness::start();
    h.namespace("apps");
    let sandbox = h.cluster.sandbox.as_ref().expect("sandbox");
    // A helmfire that retries no request and holds its Leases for a second.
    let first = h.block_on(async {
        let cluster = h.bare_cluster().await;
        let store = Store::new(Some(cluster.clone()), Driver::Secret);
        Engine::new(cluster, store).with_lease(LeaseSettings {
            holder: "first-helmfire".into(),
            duration: Duration::from_secs(1),
        })
    });
    sandbox.set_faults("error=500:1@update/secrets".parse().expect("fault spec"));
    let err = h
        .block_on(first.install(desired("basic", "web", "apps", &[]), &options(), &NoProgress))
        .unwrap_err();
    sandbox.set_faults(FaultSpec::default());
    assert!(
        helmfire_error_chain(&err).contains("500"),
        "{}",
        helmfire_error_chain(&err)
    );
    assert_eq!(h.statuses("apps", "web"), [(1, Status::PendingInstall)]);
    let lease = h.cluster.get_json(&["lease", "helmfire.release.web", "-n", "apps"]);
    assert_eq!(lease["spec"]["holderIdentity"], "first-helmfire", "{lease}");

    // The next run waits the Lease out, marks the revision failed and upgrades over it.
    let steps = Steps::default();
    let record = h
        .block_on(
            h.engine
                .install_or_upgrade(desired("basic", "web", "apps", &[]), &options(), &steps),
        )
        .expect("recovered");
    assert_eq!((record.version, record.info.status), (2, Status::Deployed));
    assert!(steps.0.lock().unwrap().contains(&Step::Recovered {
        revision: 1,
        status: "pending-install".into(),
        holder: "first-helmfire".into(),
    }));
    assert_eq!(h.statuses("apps", "web"), [(1, Status::Failed), (2, Status::Deployed)]);
    let lease = h.cluster.get_json(&["lease", "helmfire.release.web", "-n", "apps"]);
    assert!(lease["spec"]["holderIdentity"].is_null(), "{lease}");
}

fn format_rfc3339(seconds: i64) -> String {
    k8s_openapi::jiff::Timestamp::from_second(seconds)
        .expect("valid time")
        .to_string()
}

const CHILD_ENV: &str = "HELMFIRE_ENGINE_CHILD_KUBECONFIG";

/// Not a test of its own: the child process of `a_killed_upgrade_is_recovered`, started with
/// `CHILD_ENV` set. It upgrades with a pre-upgrade hook that never completes, so it is killed
/// while the release is `pending-upgrade`.
#[test]
fn child_upgrade_that_hangs() {
    let Some(kubeconfig) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = engine_for(std::path::Path::new(&kubeconfig), Duration::from_secs(2)).await;
        let _ = engine
            .upgrade(
                desired("hooks", "h", "apps", &["hang=true"]),
                &ActionOptions {
                    timeout: Duration::from_secs(600),
                    ..ActionOptions::default()
                },
                &NoProgress,
            )
            .await;
    });
    panic!("the hanging upgrade returned");
}

#[test]
fn a_killed_upgrade_is_recovered() {
    let h = Harness::start();
    h.namespace("apps");
    h.install(desired("hooks", "h", "apps", &[]), &options())
        .expect("install");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "converge_engine::child_upgrade_that_hangs", "--nocapture"])
        .env(CHILD_ENV, &h.cluster.kubeconfig)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("child starts");
    // Wait until the child recorded revision 2 as pending-upgrade and is stuck in its hook.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let statuses = h.statuses("apps", "h");
        if statuses.last() == Some(&(2, Status::PendingUpgrade)) && h.exists(&["job", "h-migrate", "-n", "apps"]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "child never got stuck: {statuses:?}"
        );
        assert!(child.try_wait().unwrap().is_none(), "child exited early");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    // helm itself refuses now.
    let out = h.cluster.run(
        "helm",
        &["upgrade", "h", chart_dir("hooks").to_str().unwrap(), "-n", "apps"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another operation"));

    // The next run waits for the dead child's Lease to expire, reports and recovers.
    let steps = Steps::default();
    let record = h
        .block_on(
            h.engine
                .install_or_upgrade(desired("hooks", "h", "apps", &["stamp=three"]), &options(), &steps),
        )
        .expect("recovered");
    assert_eq!((record.version, record.info.status), (3, Status::Deployed));
    let steps = steps.0.lock().unwrap();
    assert!(
        steps.iter().any(|s| matches!(s, Step::Recovered { revision: 2, .. })),
        "{steps:?}"
    );
    let statuses = h.statuses("apps", "h");
    assert_eq!(
        statuses,
        [(1, Status::Superseded), (2, Status::Failed), (3, Status::Deployed)]
    );
    // No data lost: revision 1's values and revision 2's record are intact; helm agrees.
    let history = h.helm_json(&["history", "h", "-n", "apps", "-o", "json"]);
    assert_eq!(history[1]["status"], "failed");
    assert_eq!(
        h.cluster.get_json(&["configmap", "h-app", "-n", "apps"])["data"]["stamp"],
        "three"
    );
}

#[test]
fn installs_and_upgrades_survive_transient_faults() {
    let faults: FaultSpec = "error=500:0.03;error=503:0.02;error=429:0.02;drop=0.02"
        .parse()
        .expect("fault spec");
    let h = Harness::with(Cluster::start_with(SandboxConfig {
        controller_delay: Duration::from_millis(50),
        faults,
        seed: 7,
        ..SandboxConfig::default()
    }));
    for attempt in 0.. {
        if h.cluster
            .run("kubectl", &["create", "namespace", "apps"])
            .status
            .success()
            || attempt > 20
        {
            break;
        }
    }
    // The faults are real: without retries, plain reads fail now and then.
    let failures = h.block_on(async {
        let bare = h.bare_cluster().await;
        let namespace = ObjectRef::new("v1", "Namespace", None, "apps");
        let mut failures = 0;
        for _ in 0..100 {
            if bare.get(&namespace).await.is_err() {
                failures += 1;
            }
        }
        failures
    });
    assert!(failures > 0, "no fault was injected in 100 requests");
    let opts = ActionOptions {
        wait: true,
        ..options()
    };
    for i in 0..10 {
        let name = format!("r{i}");
        let record = h
            .block_on(
                h.engine
                    .install_or_upgrade(desired("basic", &name, "apps", &[]), &opts, &NoProgress),
            )
            .unwrap_or_else(|e| panic!("install {name}: {}", helmfire_error_chain(&e)));
        assert_eq!(record.info.status, Status::Deployed);
        let record = h
            .block_on(h.engine.install_or_upgrade(
                desired("basic", &name, "apps", &["message=second", "extra=true"]),
                &opts,
                &NoProgress,
            ))
            .unwrap_or_else(|e| panic!("upgrade {name}: {}", helmfire_error_chain(&e)));
        assert_eq!((record.version, record.info.status), (2, Status::Deployed));
    }
    for i in 0..10 {
        let name = format!("r{i}");
        assert_eq!(
            h.statuses("apps", &name),
            [(1, Status::Superseded), (2, Status::Deployed)],
            "{name}"
        );
    }
}

#[test]
fn rollback_command_rolls_back_and_reports_bad_input() {
    let h = Harness::start();
    h.namespace("apps");
    h.install(desired("basic", "web", "apps", &["message=one"]), &options())
        .expect("install");
    h.upgrade(desired("basic", "web", "apps", &["message=two"]), &options())
        .expect("upgrade");
    let helmfire = env!("CARGO_BIN_EXE_helmfire");
    let run = |args: &[&str]| {
        std::process::Command::new(helmfire)
            .args(args)
            .arg("--kubeconfig")
            .arg(&h.cluster.kubeconfig)
            .current_dir(h.cluster.home.path())
            .output()
            .expect("helmfire runs")
    };
    let out = run(&["rollback", "web", "--namespace", "apps"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("revision 3 is deployed (Rollback to 1)"));
    assert_eq!(
        h.cluster.get_json(&["configmap", "web-config", "-n", "apps"])["data"]["message"],
        "one"
    );

    // The namespace from the state file.
    std::fs::write(
        h.cluster.home.path().join("helmfire.yaml"),
        format!(
            "releases:\n  - name: web\n    namespace: apps\n    chart: {}\n",
            chart_dir("basic").display()
        ),
    )
    .unwrap();
    let out = run(&["rollback", "web", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        h.cluster.get_json(&["configmap", "web-config", "-n", "apps"])["data"]["message"],
        "two"
    );
    let history = h.helm_json(&["history", "web", "-n", "apps", "-o", "json"]);
    assert_eq!(history[3]["description"], "Rollback to 2");

    let out = run(&["rollback", "web", "9", "-n", "apps"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("release `apps/web` has no revision 9"));
    let out = run(&["rollback", "nope", "-n", "apps"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("release `apps/nope` not found"));
    let out = run(&["rollback", "web", "0", "-n", "apps"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("revisions start at 1"));
}

/// Panics when the action starts applying: after the pending record was written.
struct PanicWhileApplying;

impl Progress for PanicWhileApplying {
    fn step(&self, _release: &str, step: &Step) {
        if matches!(step, Step::Applying { .. }) {
            panic!("injected failure");
        }
    }
}

/// A bug that panics inside an action must not leave the release `pending-install` or its
/// Lease held: the revision is marked failed, the Lease released, and the next install works.
#[test]
fn a_panic_inside_an_action_fails_the_record_and_releases_the_lease() {
    let h = Harness::start();
    h.namespace("panics");
    let error = h
        .block_on(
            h.engine
                .install(desired("basic", "web", "panics", &[]), &options(), &PanicWhileApplying),
        )
        .expect_err("the action panicked");
    assert!(matches!(error, ConvergeError::Panicked { .. }), "{error:?}");
    assert!(error.to_string().contains("injected failure"), "{error}");
    assert_eq!(h.statuses("panics", "web"), vec![(1, Status::Failed)]);
    let holder = h.cluster.kubectl(&[
        "get",
        "lease",
        "helmfire.release.web",
        "-n",
        "panics",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    assert_eq!(holder, "", "the Lease is still held");
    // Nothing waits for a Lease or refuses a pending record: the next attempt just works.
    let record = h
        .block_on(
            h.engine
                .install_or_upgrade(desired("basic", "web", "panics", &[]), &options(), &NoProgress),
        )
        .expect("upgrade after the panic");
    assert_eq!(record.version, 2);
}

/// Two helmfire runs planned the same install before either wrote: the one that waited for the
/// Lease finds the release already converged once it holds it, and writes nothing (before, it
/// wrote a redundant revision 2 — and `install_or_upgrade`, which `apply --force` uses, still
/// does).
#[test]
fn a_second_run_that_waited_for_the_lease_writes_no_redundant_revision() {
    let h = Harness::start();
    h.namespace("apps");
    let other = h.block_on(engine_for(&h.cluster.kubeconfig, Duration::from_secs(30)));
    let options = options();
    let (first, second) = h.block_on(async {
        tokio::join!(
            h.engine
                .converge_planned(desired("basic", "web", "apps", &[]), &options, &NoProgress),
            other.converge_planned(desired("basic", "web", "apps", &[]), &options, &NoProgress),
        )
    });
    let outcomes = [first.expect("first"), second.expect("second")];
    let wrote = outcomes.iter().filter(|o| matches!(o, Converged::Wrote(_))).count();
    let current = outcomes.iter().filter(|o| matches!(o, Converged::Current(_))).count();
    assert_eq!((wrote, current), (1, 1), "{outcomes:?}");
    assert_eq!(h.statuses("apps", "web"), [(1, Status::Deployed)]);

    // A changed release is still upgraded, and a forced one still gets its revision.
    let changed = h
        .block_on(other.converge_planned(desired("basic", "web", "apps", &["replicas=2"]), &options, &NoProgress))
        .expect("upgrade");
    assert!(
        matches!(changed, Converged::Wrote(ref r) if r.version == 2),
        "{changed:?}"
    );
    h.block_on(
        h.engine
            .install_or_upgrade(desired("basic", "web", "apps", &["replicas=2"]), &options, &NoProgress),
    )
    .expect("forced");
    assert_eq!(
        h.statuses("apps", "web"),
        [(1, Status::Superseded), (2, Status::Superseded), (3, Status::Deployed)]
    );
}
