//! A plan as text (for people; ANSI colours when asked), JSON (a stable schema for machines,
//! documented in `docs/plan-json.md`) and Markdown (a pull-request comment with one collapsible
//! section per release). Returns strings; printing is the CLI's job.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::drift::{ChangedBy, FieldChange, FieldDrift, ObjectDrift, ObjectState, ReleaseDrift};
use super::{Action, Change, ObjectChange, Plan, ReleasePlan};

/// The `schemaVersion` of [`fn@json`]; bumped only on incompatible changes.
pub const JSON_SCHEMA_VERSION: u32 = 1;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn change_sign(change: Change) -> &'static str {
    match change {
        Change::Added => "+",
        Change::Removed => "-",
        Change::Changed => "~",
    }
}

fn release_heading(release: &ReleasePlan) -> String {
    let mut heading = format!("{}: {}", release.id(), release.action.as_str());
    match release.action {
        Action::Install => {
            if let Some(chart) = &release.chart_to {
                let _ = write!(heading, " ({chart})");
            }
        }
        Action::Upgrade => {
            let revision = release
                .deployed_revision
                .map_or(String::new(), |r| format!("revision {r}, "));
            match (&release.chart_from, &release.chart_to) {
                (Some(from), Some(to)) if from != to => {
                    let _ = write!(heading, " ({revision}{from} → {to})");
                }
                (_, Some(to)) => {
                    let _ = write!(heading, " ({revision}{to})");
                }
                _ => {}
            }
        }
        Action::Uninstall => {
            if let Some(revision) = release.deployed_revision {
                let _ = write!(heading, " (revision {revision})");
            }
        }
        Action::Unchanged => {}
    }
    heading
}

fn secret_note(change: &ObjectChange) -> String {
    let Some(keys) = &change.secret_keys else {
        return String::new();
    };
    let mut parts = Vec::new();
    for (label, list) in [
        ("added", &keys.added),
        ("removed", &keys.removed),
        ("changed", &keys.changed),
    ] {
        if !list.is_empty() {
            parts.push(format!("{label}: {}", list.join(", ")));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" [secret keys {}]", parts.join("; "))
    }
}

/// Human-readable text: per release a heading, per object a line and its diff, then the summary.
pub fn text(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    for release in &plan.releases {
        let heading = release_heading(release);
        let code = match release.action {
            Action::Install => GREEN,
            Action::Upgrade => YELLOW,
            Action::Uninstall => RED,
            Action::Unchanged => "",
        };
        if let Some(pending) = &release.pending {
            let _ = writeln!(
                out,
                "{}",
                paint(
                    color,
                    &format!("{BOLD}{YELLOW}"),
                    &format!(
                        "{}: revision {} is {} (an interrupted operation): it will be recovered",
                        release.id(),
                        pending.revision,
                        pending.status
                    )
                )
            );
        }
        if release.action == Action::Unchanged {
            let _ = writeln!(out, "{heading}");
            if let Some(drift) = release.drift.as_ref().filter(|d| d.drifted()) {
                drift_block(&mut out, drift, color);
            }
            continue;
        }
        let _ = writeln!(out, "{}", paint(color, &format!("{BOLD}{code}"), &heading));
        for change in &release.changes {
            let line = format!("  {} {}{}", change_sign(change.change), change.key, secret_note(change));
            let code = match change.change {
                Change::Added => GREEN,
                Change::Removed => RED,
                Change::Changed => YELLOW,
            };
            let _ = writeln!(out, "{}", paint(color, code, &line));
            for diff_line in change.diff.lines() {
                let code = if diff_line.starts_with("+++") || diff_line.starts_with("---") {
                    BOLD
                } else if diff_line.starts_with('+') {
                    GREEN
                } else if diff_line.starts_with('-') {
                    RED
                } else if diff_line.starts_with("@@") {
                    CYAN
                } else {
                    ""
                };
                let indented = format!("    {diff_line}");
                let _ = writeln!(out, "{}", paint(color && !code.is_empty(), code, &indented));
            }
        }
        if let Some(drift) = release.drift.as_ref().filter(|d| d.drifted()) {
            drift_block(&mut out, drift, color);
        }
    }
    let _ = writeln!(out, "\nPlan: {}.", plan.summary());
    out
}

/// A JSON value as the text shows it: strings quoted, everything else compact.
fn value_text(value: &Option<serde_json::Value>, absent: &str) -> String {
    match value {
        Some(value) => value.to_string(),
        None => absent.to_string(),
    }
}

/// Who changed a field, from its owners: `kubectl-set, 2026-12-07 03:08:00 UTC`.
fn owners_text(field: &FieldDrift) -> String {
    if field.changed_by.is_empty() {
        return match field.change {
            FieldChange::Removed => "removed by an unknown manager".to_string(),
            _ => "changed by an unknown manager".to_string(),
        };
    }
    field.changed_by.iter().map(owner_text).collect::<Vec<_>>().join("; ")
}

fn owner_text(owner: &ChangedBy) -> String {
    let mut text = owner.manager.clone();
    if let Some(subresource) = &owner.subresource {
        let _ = write!(text, " via /{subresource}");
    }
    match &owner.time {
        Some(time) => {
            let _ = write!(text, ", {}", time.replacen('T', " ", 1).replace('Z', " UTC"));
        }
        None => text.push_str(", time not recorded"),
    }
    text
}

/// One drifted field as a line: `spec.replicas: 2 → 5 (kubectl via /scale, time not recorded)`.
pub fn field_line(field: &FieldDrift) -> String {
    let what = if field.hidden {
        match field.change {
            FieldChange::Changed => "changed (value hidden)".to_string(),
            FieldChange::Removed => "removed (value hidden)".to_string(),
            FieldChange::Added => "added (value hidden)".to_string(),
        }
    } else {
        format!(
            "{} → {}",
            value_text(&field.recorded, "(not recorded)"),
            value_text(&field.live, "(removed)")
        )
    };
    format!("{}: {what} ({})", field.path, owners_text(field))
}

fn object_heading(object: &ObjectDrift) -> String {
    let state = match object.state {
        ObjectState::Missing => ": deleted",
        ObjectState::Modified => "",
    };
    format!("  ! {}{state}", object.key)
}

/// The drift of one release under its plan heading.
fn drift_block(out: &mut String, drift: &ReleaseDrift, color: bool) {
    let _ = writeln!(
        out,
        "{}",
        paint(
            color,
            &format!("{BOLD}{RED}"),
            &format!("  drift: the cluster differs from revision {}", drift.revision)
        )
    );
    drift_objects(out, drift, color);
}

/// Each drifted object and its fields.
fn drift_objects(out: &mut String, drift: &ReleaseDrift, color: bool) {
    for object in &drift.objects {
        let _ = writeln!(out, "{}", paint(color, RED, &object_heading(object)));
        for field in &object.fields {
            let _ = writeln!(out, "      {}", field_line(field));
        }
    }
}

/// `helmfire drift` as text: one block per release, in sync ones on one line each.
pub fn drift_text(releases: &[ReleaseDrift], color: bool) -> String {
    let mut out = String::new();
    for drift in releases {
        if !drift.drifted() {
            let _ = writeln!(out, "{}: in sync (revision {})", drift.id(), drift.revision);
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            paint(
                color,
                &format!("{BOLD}{RED}"),
                &format!("{}: drifted from revision {}", drift.id(), drift.revision)
            )
        );
        drift_objects(&mut out, drift, color);
    }
    let drifted = releases.iter().filter(|d| d.drifted()).count();
    let _ = writeln!(out, "\nDrift: {drifted} of {} release(s) drifted.", releases.len());
    out
}

/// The JSON of one release's drift objects (the `drift` list of the plan schema).
pub fn drift_objects_json(drift: &ReleaseDrift) -> Value {
    serde_json::to_value(&drift.objects).unwrap_or(Value::Null)
}

/// `helmfire drift -o json` (see `docs/plan-json.md`).
pub fn drift_json(releases: &[ReleaseDrift]) -> Value {
    let items: Vec<Value> = releases
        .iter()
        .map(|drift| {
            json!({
                "id": drift.id(),
                "context": drift.context,
                "name": drift.name,
                "namespace": drift.namespace,
                "revision": drift.revision,
                "drifted": drift.drifted(),
                "drift": drift_objects_json(drift),
            })
        })
        .collect();
    json!({
        "schemaVersion": JSON_SCHEMA_VERSION,
        "summary": {
            "releases": releases.len(),
            "drifted": releases.iter().filter(|d| d.drifted()).count(),
        },
        "releases": items,
    })
}

/// `helmfire drift -o markdown`: a heading, one section per drifted release.
pub fn drift_markdown(releases: &[ReleaseDrift]) -> String {
    let drifted: Vec<&ReleaseDrift> = releases.iter().filter(|d| d.drifted()).collect();
    let mut out = format!(
        "### helmfire drift: {} of {} release(s) drifted\n\n",
        drifted.len(),
        releases.len()
    );
    for drift in drifted {
        drift_markdown_section(&mut out, drift);
    }
    out
}

fn drift_markdown_section(out: &mut String, drift: &ReleaseDrift) {
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code> — <b>drifted</b> from revision {}</summary>\n",
        html_escape(drift.id()),
        drift.revision
    );
    for object in &drift.objects {
        let _ = writeln!(out, "**{}**\n", html_escape(object_heading(object).trim_start()));
        for field in &object.fields {
            let _ = writeln!(out, "- `{}`", field_line(field).replace('`', "'"));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "</details>\n");
}

/// The stable JSON document (see `docs/plan-json.md`).
pub fn json(plan: &Plan) -> Value {
    let summary = plan.summary();
    let releases: Vec<Value> = plan
        .releases
        .iter()
        .map(|release| {
            let resources: Vec<Value> = release
                .changes
                .iter()
                .map(|change| {
                    let mut object = json!({
                        "apiVersion": change.api_version,
                        "kind": change.key.kind,
                        "namespace": change.key.namespace,
                        "name": change.key.name,
                        "change": change.change,
                        "diff": change.diff,
                    });
                    if let Some(keys) = &change.secret_keys {
                        object["secretKeys"] = json!(keys);
                    }
                    object
                })
                .collect();
            json!({
                "id": release.id(),
                "context": release.context,
                "name": release.name,
                "namespace": release.namespace,
                "action": release.action,
                "deployedRevision": release.deployed_revision,
                "chart": { "deployed": release.chart_from, "desired": release.chart_to },
                "resources": resources,
                "pending": release.pending,
                "drift": release.drift.as_ref().map(drift_objects_json),
            })
        })
        .collect();
    json!({
        "schemaVersion": JSON_SCHEMA_VERSION,
        "summary": {
            "install": summary.install,
            "upgrade": summary.upgrade,
            "uninstall": summary.uninstall,
            "unchanged": summary.unchanged,
            "changes": summary.has_changes(),
            "drifted": summary.drifted,
        },
        "releases": releases,
    })
}

/// A pull-request comment: the summary as a heading, one `<details>` section per release with
/// changes, and the unchanged releases listed on one line.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### helmfire plan: {}\n", plan.summary());
    let mut unchanged = Vec::new();
    for release in &plan.releases {
        if release.action == Action::Unchanged {
            match release.drift.as_ref().filter(|d| d.drifted()) {
                Some(drift) => drift_markdown_section(&mut out, drift),
                None => unchanged.push(format!("`{}`", release.id())),
            }
            continue;
        }
        let count = release.changes.len();
        let objects = if count == 1 {
            "1 object".to_string()
        } else {
            format!("{count} objects")
        };
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code> — <b>{}</b> ({objects})</summary>\n",
            html_escape(release.id()),
            html_escape(&release_heading(release)[release.id().len() + 2..]),
        );
        for change in &release.changes {
            let _ = writeln!(
                out,
                "**{} {}**{}\n",
                change_sign(change.change),
                change.key,
                secret_note(change)
            );
            // A fence longer than any backtick run inside keeps the diff verbatim.
            let longest = longest_backtick_run(&change.diff);
            let fence = "`".repeat(longest.max(2) + 1);
            let _ = writeln!(out, "{fence}diff\n{}{fence}\n", change.diff);
        }
        let _ = writeln!(out, "</details>\n");
        if let Some(drift) = release.drift.as_ref().filter(|d| d.drifted()) {
            drift_markdown_section(&mut out, drift);
        }
    }
    if !unchanged.is_empty() {
        let _ = writeln!(out, "Unchanged: {}", unchanged.join(", "));
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::super::{Deployed, Desired, PlanOptions, plan_release};
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/../../testdata/plan/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Four releases from testdata/plan: one to install, one to upgrade (a changed Deployment, a
    /// changed Secret, a removed and an added object), one to uninstall, one unchanged.
    fn sample_plan() -> Plan {
        let options = PlanOptions::default();
        let web_v1 = fixture("web-v1.yaml");
        let web_v2 = fixture("web-v2.yaml");
        let database = fixture("database.yaml");
        let desired = |name: &'static str, manifest: &'static str, chart: &str| Desired {
            name,
            namespace: "prod",
            installed: true,
            chart: Some(chart.to_string()),
            manifest,
        };
        let web_v1: &'static str = Box::leak(web_v1.into_boxed_str());
        let web_v2: &'static str = Box::leak(web_v2.into_boxed_str());
        let database: &'static str = Box::leak(database.into_boxed_str());
        let deployed = |manifest: &'static str, revision, chart: &str| Deployed {
            revision,
            chart: chart.to_string(),
            manifest,
        };
        let mut gone = desired("legacy", "", "legacy-1.0.0");
        gone.installed = false;
        gone.chart = None;
        Plan {
            releases: vec![
                plan_release(&desired("database", database, "database-0.1.0"), None, &options).unwrap(),
                plan_release(
                    &desired("web", web_v2, "app-0.2.0"),
                    Some(&deployed(web_v1, 3, "app-0.1.0")),
                    &options,
                )
                .unwrap(),
                plan_release(&gone, Some(&deployed(database, 7, "legacy-1.0.0")), &options).unwrap(),
                plan_release(
                    &desired("api", web_v1, "app-0.1.0"),
                    Some(&deployed(web_v1, 2, "app-0.1.0")),
                    &options,
                )
                .unwrap(),
            ],
        }
    }

    #[test]
    fn text_snapshot() {
        let text = text(&sample_plan(), false);
        assert!(!text.contains("planted"), "a secret value leaked:\n{text}");
        insta::assert_snapshot!("plan_text", text);
    }

    #[test]
    fn text_is_coloured_only_when_asked() {
        assert!(!text(&sample_plan(), false).contains('\x1b'));
        assert!(text(&sample_plan(), true).contains("\x1b[32m    +apiVersion: v1"));
    }

    #[test]
    fn json_snapshot() {
        let value = json(&sample_plan());
        let text = serde_json::to_string_pretty(&value).unwrap();
        assert!(!text.contains("planted"), "a secret value leaked:\n{text}");
        insta::assert_snapshot!("plan_json", text);
    }

    #[test]
    fn markdown_snapshot() {
        let text = markdown(&sample_plan());
        assert!(!text.contains("planted"), "a secret value leaked:\n{text}");
        insta::assert_snapshot!("plan_markdown", text);
    }

    #[test]
    fn markdown_fences_outgrow_backticks_in_diffs() {
        assert_eq!(longest_backtick_run("a ```` b `` c"), 4);
    }
}
