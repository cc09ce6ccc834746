//! The real kubectl v1.34 against the sandbox: apply (client- and server-side), get, diff, wait,
//! rollout status, delete with finalizers, namespaces, CRDs, chunked lists, protobuf creates.

use crate::support::sandbox as sandbox_support;

use sandbox_support::{Cluster, fixture};

#[test]
fn client_side_apply_creates_then_patches() {
    let cluster = Cluster::start();
    let file = fixture("manifests/configmap-and-deployment.yaml");
    let out = cluster.kubectl(&["apply", "-f", &file]);
    assert!(out.contains("configmap/x-cm created"), "{out}");
    assert!(out.contains("deployment.apps/x-dep created"), "{out}");
    let again = cluster.kubectl(&["apply", "-f", &file]);
    assert!(again.contains("configmap/x-cm unchanged"), "{again}");
    let cm = cluster.get_json(&["cm", "x-cm"]);
    assert_eq!(cm["data"]["a"], "1");
    assert!(cm["metadata"]["uid"].is_string());
    let managers = cm["metadata"]["managedFields"].as_array().expect("managedFields");
    assert_eq!(managers[0]["manager"], "kubectl-client-side-apply");
    let patched = cluster.run_stdin(
        "kubectl",
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x-cm\ndata:\n  a: \"2\"\n",
    );
    let text = sandbox_support::ok("kubectl", &["apply"], patched);
    assert!(text.contains("configmap/x-cm configured"), "{text}");
    assert_eq!(cluster.get_json(&["cm", "x-cm"])["data"]["a"], "2");
    let deployment = cluster.get_json(&["deploy", "x-dep"]);
    assert_eq!(deployment["metadata"]["generation"], 1);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"],
        "TCP"
    );
}

#[test]
fn server_side_apply_conflicts_and_force() {
    let cluster = Cluster::start();
    let file = fixture("manifests/configmap-and-deployment.yaml");
    let out = cluster.kubectl(&["apply", "--server-side", "-f", &file]);
    assert!(out.contains("serverside-applied"), "{out}");
    cluster.kubectl(&["apply", "--server-side", "-f", &file]);
    let conflict = cluster.run_stdin(
        "kubectl",
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x-cm\ndata:\n  a: \"9\"\n",
    );
    assert!(!conflict.status.success());
    let stderr = String::from_utf8_lossy(&conflict.stderr);
    assert!(stderr.contains("conflict with \"kubectl\""), "{stderr}");
    let forced = cluster.run_stdin(
        "kubectl",
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "-",
        ],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x-cm\ndata:\n  a: \"9\"\n",
    );
    sandbox_support::ok("kubectl", &["apply --force-conflicts"], forced);
    assert_eq!(cluster.get_json(&["cm", "x-cm"])["data"]["a"], "9");
}

#[test]
fn csa_then_ssa_migrates_ownership() {
    let cluster = Cluster::start();
    let file = fixture("manifests/configmap-and-deployment.yaml");
    cluster.kubectl(&["apply", "-f", &file]);
    cluster.kubectl(&["apply", "--server-side", "-f", &file]);
    let cm = cluster.get_json(&["cm", "x-cm"]);
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"kubectl"), "{managers:?}");
}

#[test]
fn get_yaml_and_create_with_protobuf_bodies() {
    let cluster = Cluster::start();
    cluster.kubectl(&["create", "namespace", "t1"]);
    cluster.kubectl(&["create", "configmap", "c1", "-n", "t1", "--from-literal=k=v"]);
    cluster.kubectl(&["create", "secret", "generic", "s1", "-n", "t1", "--from-literal=p=q"]);
    let yaml = cluster.kubectl(&["get", "cm", "c1", "-n", "t1", "-o", "yaml"]);
    // Like a real cluster, new namespaces get the default ServiceAccount and the CA bundle.
    cluster.kubectl(&[
        "wait",
        "--for=create",
        "sa/default",
        "cm/kube-root-ca.crt",
        "-n",
        "t1",
        "--timeout=10s",
    ]);
    assert!(yaml.contains("k: v"), "{yaml}");
    let ns = cluster.get_json(&["ns", "t1"]);
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "t1");
    let secret = cluster.get_json(&["secret", "s1", "-n", "t1"]);
    assert_eq!(secret["data"]["p"], "cQ==");
    let err = cluster.kubectl_fails(&["create", "namespace", "t1"]);
    assert!(err.contains("AlreadyExists") || err.contains("already exists"), "{err}");
    let err = cluster.kubectl_fails(&["get", "cm", "nope"]);
    assert!(err.contains("configmaps \"nope\" not found"), "{err}");
    let err = cluster.kubectl_fails(&["create", "configmap", "c2", "-n", "missing"]);
    assert!(err.contains("namespaces \"missing\" not found"), "{err}");
}

#[test]
fn delete_waits_for_finalizers_and_namespaces_terminate() {
    let cluster = Cluster::start();
    cluster.kubectl(&["create", "namespace", "t1"]);
    cluster.kubectl(&["create", "configmap", "c1", "-n", "t1"]);
    cluster.kubectl(&[
        "patch",
        "cm",
        "c1",
        "-n",
        "t1",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/block"]}}"#,
    ]);
    cluster.kubectl(&["delete", "cm", "c1", "-n", "t1", "--wait=false"]);
    let cm = cluster.get_json(&["cm", "c1", "-n", "t1"]);
    assert!(cm["metadata"]["deletionTimestamp"].is_string());
    cluster.kubectl(&[
        "patch",
        "cm",
        "c1",
        "-n",
        "t1",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    cluster.kubectl_fails(&["get", "cm", "c1", "-n", "t1"]);
    cluster.kubectl(&["create", "configmap", "c2", "-n", "t1"]);
    let out = cluster.kubectl(&["delete", "ns", "t1", "--timeout=30s"]);
    assert!(out.contains("namespace \"t1\" deleted"), "{out}");
    cluster.kubectl_fails(&["get", "ns", "t1"]);
    cluster.kubectl_fails(&["get", "cm", "c2", "-n", "t1"]);
}

#[test]
fn wait_and_rollout_status_finish_when_controllers_report_ready() {
    let cluster = Cluster::start();
    let file = fixture("manifests/configmap-and-deployment.yaml");
    cluster.kubectl(&["apply", "-f", &file]);
    cluster.kubectl(&["wait", "--for=condition=Available", "deploy/x-dep", "--timeout=30s"]);
    let out = cluster.kubectl(&["rollout", "status", "deploy/x-dep", "--timeout=30s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let table = cluster.kubectl(&["get", "deploy", "x-dep"]);
    assert!(table.contains("READY") && table.contains("1/1"), "{table}");
    let namespaces = cluster.kubectl(&["get", "ns"]);
    assert!(
        namespaces.contains("STATUS") && namespaces.contains("Active"),
        "{namespaces}"
    );
    let rs = cluster.get_json(&["rs"]);
    assert_eq!(rs["items"].as_array().map(Vec::len), Some(1));
    let out = cluster.kubectl(&["scale", "deploy/x-dep", "--replicas=3"]);
    assert!(out.contains("scaled"), "{out}");
    assert_eq!(cluster.get_json(&["deploy", "x-dep"])["spec"]["replicas"], 3);
    cluster.kubectl(&["rollout", "status", "deploy/x-dep", "--timeout=30s"]);
    let scaled = cluster.get_json(&["rs"]);
    assert_eq!(scaled["items"][0]["spec"]["replicas"], 3);
    cluster.kubectl(&["rollout", "restart", "deploy/x-dep"]);
    cluster.kubectl(&["rollout", "status", "deploy/x-dep", "--timeout=30s"]);
    assert_eq!(cluster.get_json(&["rs"])["items"].as_array().map(Vec::len), Some(2));
    cluster.kubectl(&["rollout", "undo", "deploy/x-dep"]);
    cluster.kubectl(&["rollout", "status", "deploy/x-dep", "--timeout=30s"]);
    let history = cluster.kubectl(&["rollout", "history", "deploy/x-dep"]);
    assert!(history.contains("REVISION"), "{history}");
    cluster.kubectl(&["delete", "-f", &file]);
    // Garbage collection takes the ReplicaSet with the Deployment.
    assert_eq!(cluster.get_json(&["rs"])["items"].as_array().map(Vec::len), Some(0));
}

#[test]
fn diff_and_server_dry_run_change_nothing() {
    let cluster = Cluster::start();
    let file = fixture("manifests/configmap-and-deployment.yaml");
    cluster.kubectl(&["apply", "-f", &file]);
    let changed = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x-cm\ndata:\n  a: \"5\"\n";
    let out = cluster.run_stdin("kubectl", &["apply", "--dry-run=server", "-f", "-"], changed);
    sandbox_support::ok("kubectl", &["apply --dry-run=server"], out);
    let diff = cluster.run_stdin("kubectl", &["diff", "-f", "-"], changed);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff reports changes: {}",
        String::from_utf8_lossy(&diff.stderr)
    );
    assert!(String::from_utf8_lossy(&diff.stdout).contains("+  a: \"5\""));
    let diff = cluster.run_stdin("kubectl", &["diff", "--server-side", "-f", "-"], changed);
    assert_eq!(diff.status.code(), Some(1), "{}", String::from_utf8_lossy(&diff.stderr));
    assert_eq!(cluster.get_json(&["cm", "x-cm"])["data"]["a"], "1");
}

#[test]
fn crd_then_custom_resource() {
    let cluster = Cluster::start();
    cluster.kubectl(&["apply", "-f", &fixture("manifests/widget-crd.yaml")]);
    cluster.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=30s",
    ]);
    cluster.kubectl(&["apply", "-f", &fixture("manifests/widget.yaml")]);
    let w = cluster.get_json(&["widgets", "w1"]);
    assert_eq!(w["spec"]["size"], 3);
    cluster.kubectl(&["apply", "-f", &fixture("manifests/widget-resized.yaml")]);
    let w = cluster.get_json(&["widget", "w1"]);
    assert_eq!(w["spec"]["size"], 4);
    assert_eq!(w["metadata"]["generation"], 2);
    cluster.kubectl(&["delete", "crd", "widgets.example.com"]);
    cluster.kubectl_fails(&["get", "widgets"]);
}

#[test]
fn chunked_list_pages_through_everything() {
    let cluster = Cluster::start();
    cluster.kubectl(&["create", "namespace", "chunks"]);
    for i in 0..5 {
        cluster.kubectl(&["create", "configmap", &format!("c{i}"), "-n", "chunks"]);
    }
    cluster.kubectl(&[
        "wait",
        "--for=create",
        "cm/kube-root-ca.crt",
        "-n",
        "chunks",
        "--timeout=10s",
    ]);
    let out = cluster.kubectl(&[
        "get",
        "cm",
        "-n",
        "chunks",
        "--chunk-size=2",
        "-o",
        "name",
        "-l",
        "!missing-label",
    ]);
    let names: Vec<&str> = out.lines().collect();
    assert_eq!(
        names,
        vec![
            "configmap/c0",
            "configmap/c1",
            "configmap/c2",
            "configmap/c3",
            "configmap/c4",
            "configmap/kube-root-ca.crt"
        ]
    );
    let selected = cluster.kubectl(&["get", "cm", "-n", "chunks", "-l", "missing-label", "-o", "name"]);
    assert_eq!(selected.trim(), "");
}

/// The field managers kubectl's commands record, as the API server records them (kubectl's
/// `--field-manager` defaults; the User-Agent prefix when none is sent; `/scale` writes through
/// the scale handler: subresource `scale`, no time): what drift attribution reads.
#[test]
fn kubectl_commands_record_their_field_managers() {
    let cluster = Cluster::start();
    cluster.kubectl(&[
        "apply",
        "--server-side",
        "-f",
        &fixture("manifests/configmap-and-deployment.yaml"),
    ]);
    cluster.kubectl(&["scale", "deploy", "x-dep", "--replicas=3"]);
    cluster.kubectl(&["set", "image", "deploy/x-dep", "*=nginx:2"]);
    cluster.kubectl(&["label", "deploy", "x-dep", "tier=edge"]);
    cluster.kubectl(&["annotate", "deploy", "x-dep", "note=hi"]);
    cluster.kubectl(&[
        "patch",
        "deploy",
        "x-dep",
        "--type=merge",
        "-p",
        r#"{"spec":{"paused":true}}"#,
    ]);
    let deployment = cluster.get_json(&["deploy", "x-dep"]);
    let entries: Vec<(String, String, String, bool)> = deployment["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|entry| {
            (
                entry["manager"].as_str().unwrap().to_string(),
                entry["operation"].as_str().unwrap().to_string(),
                entry["subresource"].as_str().unwrap_or("").to_string(),
                entry.get("time").is_some(),
            )
        })
        .collect();
    let expect = |manager: &str, operation: &str, subresource: &str, timed: bool| {
        let wanted = (
            manager.to_string(),
            operation.to_string(),
            subresource.to_string(),
            timed,
        );
        assert!(entries.contains(&wanted), "{wanted:?} not in {entries:?}");
    };
    expect("kubectl", "Apply", "", true);
    expect("kubectl", "Update", "scale", false);
    expect("kubectl-set", "Update", "", true);
    expect("kubectl-label", "Update", "", true);
    expect("kubectl-annotate", "Update", "", true);
    expect("kubectl-patch", "Update", "", true);
    // The scale entry owns spec.replicas alone; the applier lost it.
    let replicas = |entry: &serde_json::Value| entry["fieldsV1"]["f:spec"].get("f:replicas").is_some();
    let owners: Vec<&str> = deployment["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| replicas(entry))
        .map(|entry| entry["manager"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["kubectl"]);
    // Re-applying the old replicas conflicts with the scale manager, as upstream words it.
    let error = cluster.kubectl_fails(&[
        "apply",
        "--server-side",
        "-f",
        &fixture("manifests/configmap-and-deployment.yaml"),
    ]);
    assert!(
        error.contains("Apply failed with 2 conflicts: conflicts with \"kubectl\" with subresource \"scale\" using apps/v1:\n- .spec.replicas\nconflicts with \"kubectl-set\" using apps/v1:\n- .spec.template.spec.containers[name=\"web\"].image"),
        "{error}"
    );
}
