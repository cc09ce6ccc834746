//! What post-rendering costs a render: a generated 100-object chart (25 Deployments, Services,
//! ConfigMaps and ServiceAccounts) rendered through the one render path without post-renderers,
//! with the built-ins (a strategic merge patch on every Deployment, a JSON patch on every
//! Service, an image rewrite, common labels and annotations), and with an exec renderer
//! (`cat`, started once per release). Target: the built-ins add under 10% to the render.
//! Run: `cargo bench --bench post_render` (numbers go to BENCHMARKS.md).

use std::path::Path;
use std::time::{Duration, Instant};

use helmfire::render::postrender::builtin::{
    Builtin, CommonMetadata, ImageRewrite, JsonPatch, Operation, OperationKind, Pattern, StrategicPatch, Target,
    node_from_json,
};
use helmfire::render::postrender::{PostRenderStep, PostRenderer};
use helmfire::render::{self, Capabilities, ReleaseInfo, ReleaseRender, UserValues};

const ROUNDS: usize = 60;

/// Writes a chart rendering `4 * per_kind` objects.
fn write_chart(dir: &Path, per_kind: usize) {
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: hundred\nversion: 1.0.0\n",
    )
    .expect("Chart.yaml");
    std::fs::write(
        dir.join("values.yaml"),
        format!("count: {per_kind}\nimage: nginx:1.25\nreplicas: 2\n"),
    )
    .expect("values");
    std::fs::write(
        dir.join("templates/objects.yaml"),
        r#"{{- range $i := until (int .Values.count) }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $.Release.Name }}-app-{{ $i }}
  labels:
    app.kubernetes.io/name: app-{{ $i }}
    app.kubernetes.io/instance: {{ $.Release.Name }}
spec:
  replicas: {{ $.Values.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: app-{{ $i }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-{{ $i }}
    spec:
      containers:
        - name: app
          image: {{ $.Values.image }}
          ports:
            - containerPort: 8080
              protocol: TCP
          env:
            - name: INDEX
              value: "{{ $i }}"
            - name: MODE
              value: production
          resources:
            limits: {cpu: 500m, memory: 256Mi}
            requests: {cpu: 100m, memory: 128Mi}
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $.Release.Name }}-app-{{ $i }}
  labels:
    app.kubernetes.io/name: app-{{ $i }}
spec:
  selector:
    app.kubernetes.io/name: app-{{ $i }}
  ports:
    - name: http
      port: 80
      targetPort: 8080
      protocol: TCP
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $.Release.Name }}-config-{{ $i }}
data:
  settings.yaml: |
    index: {{ $i }}
    feature: enabled
  mode: production
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $.Release.Name }}-sa-{{ $i }}
{{- end }}
"#,
    )
    .expect("template");
}

fn builtins() -> Vec<PostRenderStep> {
    let step = |builtin| PostRenderStep {
        renderer: PostRenderer::Builtin(builtin),
        origin: "bench".into(),
    };
    let patch = node_from_json(&serde_json::json!({
        "spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "EXTRA", "value": "1"}]},
            {"name": "sidecar", "image": "busybox:1.36"}
        ]}}}
    }));
    vec![
        step(Builtin::Patches(vec![StrategicPatch {
            target: Some(Target {
                kind: Some(Pattern::new("Deployment").expect("regex")),
                ..Target::default()
            }),
            patches: vec![patch],
            location: "bench".into(),
        }])),
        step(Builtin::JsonPatches(vec![JsonPatch {
            target: Target {
                kind: Some(Pattern::new("Service").expect("regex")),
                ..Target::default()
            },
            operations: vec![Operation {
                op: OperationKind::Add,
                path: "/metadata/annotations".into(),
                from: None,
                value: Some(serde_json::json!({"patched": "true"})),
            }],
            location: "bench".into(),
        }])),
        step(Builtin::Images(vec![ImageRewrite {
            name: "nginx".into(),
            new_name: Some("registry.local/nginx".into()),
            new_tag: Some("1.27".into()),
            digest: None,
        }])),
        step(Builtin::Metadata(CommonMetadata {
            labels: vec![("team".into(), "a".into())],
            annotations: vec![("owner".into(), "platform".into())],
        })),
    ]
}

fn request(chart: &Path, post_renderers: Vec<PostRenderStep>) -> ReleaseRender {
    ReleaseRender {
        release: ReleaseInfo {
            name: "bench".into(),
            namespace: "default".into(),
            revision: 1,
            is_upgrade: false,
        },
        chart: chart.to_path_buf(),
        dependency_charts: Vec::new(),
        values: UserValues::default(),
        capabilities: Capabilities::offline(None, &[]).expect("caps"),
        skip_schema_validation: false,
        lookup: None,
        post_renderers,
        check_objects: true,
    }
}

fn median(request: &ReleaseRender) -> (Duration, usize) {
    let mut samples = Vec::with_capacity(ROUNDS);
    let mut objects = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let rendered = render::render_release(request).expect("renders");
        samples.push(start.elapsed());
        objects = rendered.sorted.manifests.len();
    }
    samples.sort();
    (samples[ROUNDS / 2], objects)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("hundred");
    write_chart(&chart, 25);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;

    let (plain, objects) = median(&request(&chart, Vec::new()));
    let (built, patched) = median(&request(&chart, builtins()));
    let exec = vec![PostRenderStep {
        renderer: PostRenderer::Exec {
            command: "cat".into(),
            args: Vec::new(),
        },
        origin: "bench".into(),
    }];
    let (piped, _) = median(&request(&chart, exec));
    assert_eq!(objects, 100, "the chart renders 100 objects");
    assert_eq!(patched, 100);
    println!("100-object chart, median of {ROUNDS} renders through render::render_release:");
    println!("  no post-renderers                 {:>8.2} ms", ms(plain));
    println!(
        "  built-ins (patches, jsonPatches,  {:>8.2} ms   +{:.2} ms = {:.1}% of the render",
        ms(built),
        ms(built) - ms(plain),
        (ms(built) - ms(plain)) / ms(plain) * 100.0
    );
    println!("   images, commonLabels/Annotations)");
    println!(
        "  exec `cat` (one process)          {:>8.2} ms   +{:.2} ms",
        ms(piped),
        ms(piped) - ms(plain)
    );
}
