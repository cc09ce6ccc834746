//! Micro-benchmark: a template-heavy "chart" (helpers, include/nindent/toYaml/dict in loops)
//! rendering ~100 KB, parsed once and executed many times. Run with
//! `cargo bench --bench template_render`; prints median times.

use std::time::{Duration, Instant};

use helmfire_template::{Context, TemplateSet};
use helmfire_value::{Map, Value};

const HELPERS: &str = r#"
{{- define "app.name" -}}{{ .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride -}}{{ .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-%s" .Release.Name (include "app.name" .) | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}
{{- define "app.labels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
"#;

const DEPLOYMENT: &str = r#"
{{- range $i, $svc := .Values.services }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" $ }}-{{ $svc.name }}
  labels:
    {{- include "app.labels" $ | nindent 4 }}
  annotations:
    checksum/config: {{ toJson $svc | sha256sum }}
spec:
  replicas: {{ $svc.replicas | default 1 }}
  template:
    metadata:
      labels:
        {{- include "app.labels" $ | nindent 8 }}
    spec:
      containers:
        {{- range $c := $svc.containers }}
        - name: {{ $c.name | quote }}
          image: "{{ $c.image }}:{{ $c.tag | default "latest" }}"
          env:
            {{- range $k, $v := $c.env }}
            - name: {{ $k | upper | replace "-" "_" }}
              value: {{ tpl (toString $v) $ | quote }}
            {{- end }}
          resources:
            {{- toYaml (dict "limits" (dict "cpu" "500m" "memory" "256Mi") "requests" $c.requests) | nindent 12 }}
          ports:
            {{- range $p := $c.ports }}
            - containerPort: {{ $p }}
              protocol: TCP
            {{- end }}
        {{- end }}
{{- end }}
"#;

fn values() -> Value {
    let mut services = Vec::new();
    for s in 0..32 {
        let mut containers = Vec::new();
        for c in 0..3 {
            let mut env = Map::new();
            for e in 0..8 {
                env.insert(
                    format!("var-{e}"),
                    Value::from(format!("value-{s}-{c}-{e} {{{{ .Release.Name }}}}")),
                );
            }
            let mut requests = Map::new();
            requests.insert("cpu".into(), Value::from("100m"));
            requests.insert("memory".into(), Value::Float(128.0 * 1024.0 * 1024.0));
            let mut m = Map::new();
            m.insert("name".into(), Value::from(format!("c{c}")));
            m.insert("image".into(), Value::from("registry.example.com/team/app"));
            m.insert("env".into(), Value::map(env));
            m.insert("requests".into(), Value::map(requests));
            m.insert(
                "ports".into(),
                Value::list(vec![Value::Float(8080.0), Value::Float(9090.0)]),
            );
            containers.push(Value::map(m));
        }
        let mut svc = Map::new();
        svc.insert("name".into(), Value::from(format!("svc{s}")));
        svc.insert("replicas".into(), Value::Float(2.0));
        svc.insert("containers".into(), Value::list(containers));
        services.push(Value::map(svc));
    }
    let mut vals = Map::new();
    vals.insert("services".into(), Value::list(services));
    let mut extra = Map::new();
    extra.insert("team".into(), Value::from("platform"));
    vals.insert("extraLabels".into(), Value::map(extra));
    let mut chart = Map::new();
    chart.insert("Name".into(), Value::from("app"));
    chart.insert("Version".into(), Value::from("1.2.3+build"));
    let mut release = Map::new();
    release.insert("Name".into(), Value::from("rel"));
    let mut top = Map::new();
    top.insert("Values".into(), Value::map(vals));
    top.insert("Chart".into(), Value::map(chart));
    top.insert("Release".into(), Value::map(release));
    Value::map(top)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let data = values();
    let parse = || {
        let mut set = TemplateSet::default();
        set.parse("app/templates/_helpers.tpl", HELPERS).expect("helpers parse");
        set.parse("app/templates/deployment.yaml", DEPLOYMENT)
            .expect("deployment parse");
        set
    };
    let mut parse_times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        std::hint::black_box(parse());
        parse_times.push(t.elapsed());
    }
    let set = parse();
    let mut exec_times = Vec::new();
    let mut size = 0;
    for _ in 0..50 {
        let mut ctx = Context::with_seed(1);
        let t = Instant::now();
        let out = set
            .execute_helm("app/templates/deployment.yaml", &data, &mut ctx)
            .expect("render");
        exec_times.push(t.elapsed());
        size = out.len();
    }
    let mut cold_times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let fresh = parse();
        let mut ctx = Context::with_seed(1);
        std::hint::black_box(
            fresh
                .execute_helm("app/templates/deployment.yaml", &data, &mut ctx)
                .expect("render"),
        );
        cold_times.push(t.elapsed());
    }
    // The same chart without `tpl`, to separate its cost from the rest of the engine.
    let mut no_tpl = TemplateSet::default();
    no_tpl
        .parse("app/templates/_helpers.tpl", HELPERS)
        .expect("helpers parse");
    no_tpl
        .parse(
            "app/templates/deployment.yaml",
            &DEPLOYMENT.replace("tpl (toString $v) $", "toString $v"),
        )
        .expect("deployment parse");
    let mut no_tpl_times = Vec::new();
    let mut no_tpl_size = 0;
    for _ in 0..50 {
        let mut ctx = Context::with_seed(1);
        let t = Instant::now();
        let out = no_tpl
            .execute_helm("app/templates/deployment.yaml", &data, &mut ctx)
            .expect("render");
        no_tpl_times.push(t.elapsed());
        no_tpl_size = out.len();
    }
    println!("parse (helpers + deployment): median {:?}", median(parse_times));
    println!("parse + first render (cold tpl cache): median {:?}", median(cold_times));
    println!(
        "execute, parsed set reused ({} KB output, 768 tpl calls): median {:?}",
        size / 1024,
        median(exec_times)
    );
    println!(
        "execute without tpl ({} KB output): median {:?}",
        no_tpl_size / 1024,
        median(no_tpl_times)
    );
}
