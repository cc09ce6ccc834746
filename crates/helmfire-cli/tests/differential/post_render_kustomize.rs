//! The built-in post-renderers against `kubectl kustomize` (kubectl v1.34 embeds kustomize
//! v5.7): the chart `post-render-builtins` rendered by helm is the kustomization's resource,
//! the same change is written once as a helmfire `postRenderers` item and once as kustomize
//! configuration, and both results must hold the same objects (compared as JSON values by
//! apiVersion, kind, namespace and name; list order counts). The release namespace is
//! `default`, kustomize's namespace for objects without one.

use std::collections::BTreeMap;
use std::process::Command;

use crate::support::oracle::{helm, helmfire, kubectl, root};

fn chart() -> String {
    root()
        .join("testdata/charts/post-render-builtins")
        .to_string_lossy()
        .into_owned()
}

/// Every object of a YAML stream as JSON, by identity.
fn objects(text: &str) -> BTreeMap<String, serde_json::Value> {
    let documents = helmfire_value::yaml::decode_documents(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"));
    let mut out = BTreeMap::new();
    for document in documents {
        if matches!(document, helmfire_value::Value::Nil) {
            continue;
        }
        let json = helmfire_value::interop::to_json(&document).expect("JSON");
        let key = format!(
            "{} {} {} {}",
            json["apiVersion"].as_str().unwrap_or(""),
            json["kind"].as_str().unwrap_or(""),
            json["metadata"]["namespace"].as_str().unwrap_or("default"),
            json["metadata"]["name"].as_str().unwrap_or("")
        );
        assert!(out.insert(key.clone(), json).is_none(), "{key} twice");
    }
    out
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What kustomize makes of the chart with `kustomization` (without `resources`).
fn kustomized(dir: &std::path::Path, resources: &str, kustomization: &str) -> BTreeMap<String, serde_json::Value> {
    let kdir = dir.join("kustomize");
    std::fs::create_dir_all(&kdir).expect("mkdir");
    std::fs::write(kdir.join("resources.yaml"), resources).expect("write");
    std::fs::write(
        kdir.join("kustomization.yaml"),
        format!("resources:\n- resources.yaml\n{kustomization}"),
    )
    .expect("write");
    objects(&run(Command::new(kubectl()).arg("kustomize").arg(&kdir)))
}

/// What helmfire makes of the chart with one `postRenderers` item.
fn post_rendered(dir: &std::path::Path, item: &str) -> BTreeMap<String, serde_json::Value> {
    let indented: String = item.lines().map(|l| format!("      {l}\n")).collect();
    let state = format!(
        "releases:\n- name: rel\n  namespace: default\n  chart: {}\n  postRenderers:\n    -\n{indented}",
        chart()
    );
    let path = dir.join("helmfire.yaml");
    std::fs::write(&path, state).expect("write");
    objects(&run(Command::new(helmfire())
        .arg("-f")
        .arg(&path)
        .arg("template")
        .env("NO_COLOR", "1")))
}

/// One change, written for both tools.
struct Case {
    name: &'static str,
    helmfire: &'static str,
    kustomize: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "containers, env and volumes merge by name; $patch: delete removes an element",
        helmfire: r#"patches:
- target: {kind: Deployment, name: web}
  patch:
    spec:
      template:
        spec:
          containers:
          - name: metrics
            image: prom/exporter:1
          - name: web
            image: nginx:1.27
            env:
            - name: C
              value: "3"
            - name: A
              value: one
          - name: logger
            $patch: delete
          volumes:
          - name: cache
            $patch: delete
          - name: extra
            emptyDir: {}
"#,
        kustomize: r#"patches:
- target: {kind: Deployment, name: web}
  patch: |-
    kind: Deployment
    metadata: {name: any}
    spec:
      template:
        spec:
          containers:
          - name: metrics
            image: prom/exporter:1
          - name: web
            image: nginx:1.27
            env:
            - name: C
              value: "3"
            - name: A
              value: one
          - name: logger
            $patch: delete
          volumes:
          - name: cache
            $patch: delete
          - name: extra
            emptyDir: {}
"#,
    },
    Case {
        name: "service ports merge by port and protocol",
        helmfire: r#"patches:
- target: {kind: Service, name: web}
  patch: |
    spec:
      ports:
      - port: 443
        protocol: TCP
        targetPort: 9443
      - name: alt
        port: 8080
        protocol: TCP
"#,
        kustomize: r#"patches:
- target: {kind: Service, name: web}
  patch: |-
    kind: Service
    metadata: {name: any}
    spec:
      ports:
      - port: 443
        protocol: TCP
        targetPort: 9443
      - name: alt
        port: 8080
        protocol: TCP
"#,
    },
    Case {
        name: "ports without a protocol, and kyaml's quirks of list directives",
        helmfire: r#"patches:
- target: {kind: Service, name: headless}
  patch: {spec: {ports: [{port: 9000, name: main}, {port: 9100}]}}
- target: {kind: Deployment}
  patch:
    spec:
      template:
        spec:
          containers:
          - {name: sidecar, $patch: replace, image: other:1}
          volumes:
          - {$patch: replace}
          - {name: only, emptyDir: {}}
"#,
        kustomize: r#"patches:
- target: {kind: Service, name: headless}
  patch: |-
    kind: Service
    metadata: {name: any}
    spec: {ports: [{port: 9000, name: main}, {port: 9100}]}
- target: {kind: Deployment}
  patch: |-
    kind: Deployment
    metadata: {name: any}
    spec:
      template:
        spec:
          containers:
          - {name: sidecar, $patch: replace, image: other:1}
          volumes:
          - {$patch: replace}
          - {name: only, emptyDir: {}}
"#,
    },
    Case {
        name: "several patches naming their objects; $patch: delete removes an object",
        helmfire: r#"patches:
- patch: |
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata:
      name: web
    $patch: delete
    ---
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: db
    spec:
      replicas: 3
"#,
        kustomize: r#"patches:
- patch: |-
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata:
      name: web
    $patch: delete
    ---
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: db
    spec:
      replicas: 3
"#,
    },
    Case {
        name: "a patch naming its object; null deletes, $patch: replace replaces",
        helmfire: r#"patches:
- patch: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: settings
      annotations:
        owner: null
    data:
      $patch: replace
      mode: slow
"#,
        kustomize: r#"patches:
- patch: |-
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: settings
      annotations:
        owner: null
    data:
      $patch: replace
      mode: slow
"#,
    },
    Case {
        name: "a custom resource's lists are replaced, finalizers merge as a set",
        helmfire: r#"patches:
- target: {kind: Widget}
  patch: {spec: {items: [{name: c, size: 3}]}}
- target: {kind: Deployment}
  patch: {metadata: {finalizers: [example.com/c, example.com/a]}}
"#,
        kustomize: r#"patches:
- target: {kind: Widget}
  patch: |-
    kind: Widget
    metadata: {name: any}
    spec: {items: [{name: c, size: 3}]}
- target: {kind: Deployment}
  patch: |-
    kind: Deployment
    metadata: {name: any, finalizers: [example.com/c, example.com/a]}
"#,
    },
    Case {
        name: "label selectors and kind patterns select",
        helmfire: r#"patches:
- target: {labelSelector: "app in (web)", kind: "Deploy.*|Service"}
  patch: {metadata: {annotations: {selected: "true"}}}
"#,
        kustomize: r#"patches:
- target: {labelSelector: "app in (web)", kind: "Deploy.*|Service"}
  patch: |-
    apiVersion: v9
    kind: Anything
    metadata: {name: any, annotations: {selected: "true"}}
"#,
    },
    Case {
        name: "JSON patches",
        helmfire: r#"jsonPatches:
- target: {kind: Service, name: web}
  patch:
  - {op: add, path: /metadata/labels/team, value: a}
  - {op: replace, path: /spec/ports/0/targetPort, value: 8081}
  - {op: remove, path: /spec/ports/1}
  - {op: replace, path: /metadata/labels/new, value: added}
- target: {group: apps, kind: Deployment|StatefulSet}
  patch: |
    - op: add
      path: /spec/template/spec/containers/-1
      value: {name: added, image: busybox}
    - op: copy
      from: /spec/template/metadata/labels
      path: /metadata/annotations
    - op: move
      from: /spec/template/spec/initContainers
      path: /spec/template/spec/initContainersMoved
    - op: test
      path: /apiVersion
      value: apps/v1
"#,
        kustomize: r#"patches:
- target: {kind: Service, name: web}
  patch: |-
    - {op: add, path: /metadata/labels/team, value: a}
    - {op: replace, path: /spec/ports/0/targetPort, value: 8081}
    - {op: remove, path: /spec/ports/1}
    - {op: replace, path: /metadata/labels/new, value: added}
- target: {group: apps, kind: Deployment|StatefulSet}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/-1
      value: {name: added, image: busybox}
    - op: copy
      from: /spec/template/metadata/labels
      path: /metadata/annotations
    - op: move
      from: /spec/template/spec/initContainers
      path: /spec/template/spec/initContainersMoved
    - op: test
      path: /apiVersion
      value: apps/v1
"#,
    },
    Case {
        name: "images: names, tags and digests everywhere containers are",
        helmfire: r#"images:
- {name: nginx, newName: registry.local/nginx, newTag: "1.27"}
- {name: busybox, digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222"}
- {name: "registry.local:5000/tools/sidecar", newTag: "1.0"}
- {name: postgres, newName: mirror.local/postgres}
"#,
        kustomize: r#"images:
- {name: nginx, newName: registry.local/nginx, newTag: "1.27"}
- {name: busybox, digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222"}
- {name: "registry.local:5000/tools/sidecar", newTag: "1.0"}
- {name: postgres, newName: mirror.local/postgres}
"#,
    },
    Case {
        name: "commonLabels reach metadata, templates and selectors",
        helmfire: "commonLabels: {team: a, flag: \"yes\"}\n",
        kustomize: "commonLabels: {team: a, flag: \"yes\"}\n",
    },
    Case {
        name: "commonAnnotations reach metadata and templates",
        helmfire: "commonAnnotations: {owner: platform, note: \"on\"}\n",
        kustomize: "commonAnnotations: {owner: platform, note: \"on\"}\n",
    },
];

#[test]
fn built_in_post_renderers_make_what_kubectl_kustomize_makes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = run(Command::new(helm())
        .args(["template", "rel", &chart(), "-n", "default"])
        .env("HOME", dir.path())
        .env("HELM_DATA_HOME", dir.path()));
    let untouched = objects(&resources);
    for case in CASES {
        let expected = kustomized(dir.path(), &resources, case.kustomize);
        let ours = post_rendered(dir.path(), case.helmfire);
        assert_ne!(expected, untouched, "{}: kustomize changed nothing", case.name);
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{}: different objects",
            case.name
        );
        for (key, value) in &expected {
            assert_eq!(
                &ours[key],
                value,
                "{}: `{key}` differs\n--- helmfire\n{}\n--- kustomize\n{}",
                case.name,
                serde_json::to_string_pretty(&ours[key]).unwrap_or_default(),
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        }
    }
}
