//! What post-rendering costs a render: a 100-object chart (`testdata/charts/hundred-objects`: 25
//! Deployments, Services, ConfigMaps and ServiceAccounts) rendered through the one render path
//! without post-renderers,
//! then with each built-in (a strategic merge patch of one Deployment, of all 25, a JSON patch
//! of every Service, an image rewrite, common labels and annotations on everything), all of them
//! together, and an exec renderer (`cat`, started once per release, so every document goes
//! through helm's merge and split). Target: built-in patches add under 10% to the render.
//! Run: `cargo bench --bench post_render [-- LABEL-WORDS]` (numbers go to BENCHMARKS.md).

use std::path::Path;
use std::time::{Duration, Instant};

use helmfire::render::postrender::builtin::{
    Builtin, CommonMetadata, ImageRewrite, JsonPatch, Operation, OperationKind, Pattern, StrategicPatch, Target,
    node_from_json,
};
use helmfire::render::postrender::{PostRenderStep, PostRenderer};
use helmfire::render::{self, ReleaseRender};

const ROUNDS: usize = 101;

fn step(builtin: Builtin) -> PostRenderStep {
    PostRenderStep {
        renderer: PostRenderer::Builtin(builtin),
        origin: "bench".into(),
    }
}

/// A strategic merge patch of the Deployments `name` selects.
fn patches(name: Option<&str>) -> Builtin {
    let patch = node_from_json(&serde_json::json!({
        "spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "EXTRA", "value": "1"}]},
            {"name": "sidecar", "image": "busybox:1.36"}
        ]}}}
    }));
    Builtin::Patches(vec![StrategicPatch {
        target: Some(Target {
            kind: Some(Pattern::new("Deployment").expect("regex")),
            name: name.map(|n| Pattern::new(n).expect("regex")),
            ..Target::default()
        }),
        patches: vec![patch],
        location: "bench".into(),
    }])
}

fn json_patches() -> Builtin {
    Builtin::JsonPatches(vec![JsonPatch {
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
    }])
}

fn images() -> Builtin {
    Builtin::Images(vec![ImageRewrite {
        name: "nginx".into(),
        new_name: Some("registry.local/nginx".into()),
        new_tag: Some("1.27".into()),
        digest: None,
    }])
}

fn metadata() -> Builtin {
    Builtin::Metadata(CommonMetadata {
        labels: vec![("team".into(), "a".into())],
        annotations: vec![("owner".into(), "platform".into())],
    })
}

fn request(chart: &Path, post_renderers: Vec<PostRenderStep>) -> ReleaseRender {
    ReleaseRender {
        post_renderers,
        ..ReleaseRender::install("bench", "default", chart.to_path_buf())
    }
}

/// Renders `plain` and `case` alternately (so a busy machine slows both alike); the median of
/// each and the number of objects `case` rendered.
fn medians(plain: &ReleaseRender, case: &ReleaseRender) -> (Duration, Duration, usize) {
    let mut times = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    let mut objects = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        render::render_release(plain).expect("renders");
        times.0.push(start.elapsed());
        let start = Instant::now();
        let rendered = render::render_release(case).expect("renders");
        times.1.push(start.elapsed());
        objects = rendered.sorted.manifests.len();
    }
    times.0.sort();
    times.1.sort();
    (times.0[ROUNDS / 2], times.1[ROUNDS / 2], objects)
}

fn main() {
    // 25 each of Deployment, Service, ConfigMap and ServiceAccount (scripts/bench-post-render.sh
    // renders it too).
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/charts/hundred-objects");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;

    let plain_request = request(&chart, Vec::new());
    let (_, plain, objects) = medians(&plain_request, &plain_request);
    assert_eq!(objects, 100, "the chart renders 100 objects");
    println!("100-object chart, median of {ROUNDS} renders through render::render_release,");
    println!("each case alternating with a render without post-renderers (its median in brackets):");
    println!("  {:<52} {:>7.3} ms", "no post-renderers", ms(plain));
    let exec = PostRenderStep {
        renderer: PostRenderer::Exec {
            command: "cat".into(),
            args: Vec::new(),
        },
        origin: "bench".into(),
    };
    let cases: Vec<(&str, Vec<PostRenderStep>)> = vec![
        (
            "patches: one Deployment (1 of 100 objects)",
            vec![step(patches(Some("bench-app-7")))],
        ),
        ("patches: every Deployment (25 objects)", vec![step(patches(None))]),
        ("jsonPatches: every Service (25 objects)", vec![step(json_patches())]),
        ("images: every container (25 objects)", vec![step(images())]),
        ("commonLabels + commonAnnotations (100 objects)", vec![step(metadata())]),
        (
            "all of the above",
            vec![
                step(patches(None)),
                step(json_patches()),
                step(images()),
                step(metadata()),
            ],
        ),
        ("exec `cat`: one process, helm's merge and split", vec![exec]),
    ];
    // `cargo bench --bench post_render -- WORDS`: only the cases whose label contains WORDS.
    let only = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    for (label, steps) in cases {
        if only.as_ref().is_some_and(|o| !label.contains(o.as_str())) {
            continue;
        }
        let (plain, time, rendered) = medians(&plain_request, &request(&chart, steps));
        assert_eq!(rendered, 100);
        println!(
            "  {label:<52} {:>7.3} ms ({:.3}) {:>+7.3} ms = {:>+6.1}% of the render",
            ms(time),
            ms(plain),
            ms(time) - ms(plain),
            (ms(time) - ms(plain)) / ms(plain) * 100.0
        );
    }
}
