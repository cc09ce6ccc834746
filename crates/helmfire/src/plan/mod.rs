//! ⑥ The plan: what converging would change, release by release and object by object.
//!
//! Compares each release's rendered manifest with the manifest of its latest deployed record:
//! objects added, removed and changed, with unified diffs of their canonical YAML (keys sorted,
//! as `sigs.k8s.io/yaml` writes them, so formatting alone never counts as a change). Secret
//! values are masked unless asked otherwise. Pure: it neither renders, reads storage nor prints;
//! [`display`] turns a plan into text, JSON or Markdown.

pub mod display;
pub mod drift;
mod objects;
pub mod secret;

use std::collections::HashMap;

use serde::Serialize;
use similar::TextDiff;
use thiserror::Error;

pub use crate::manifest::{ObjectError, ObjectKey};
use objects::{Object, parse_manifest};
pub use secret::SecretKeys;

use helmfire_value::yaml;

/// How to compare.
#[derive(Clone, Copy, Debug)]
pub struct PlanOptions {
    /// Unchanged lines around each change in the diffs.
    pub context: usize,
    /// Show Secret values instead of markers.
    pub show_secrets: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            context: 3,
            show_secrets: false,
        }
    }
}

/// The desired side of one release.
#[derive(Clone, Debug)]
pub struct Desired<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    /// False for `installed: false` or a false `condition`.
    pub installed: bool,
    /// `name-version` of the chart; `None` when not installed (nothing was rendered).
    pub chart: Option<String>,
    /// The rendered release manifest; empty when not installed.
    pub manifest: &'a str,
}

/// The latest deployed record of a release, as far as the plan needs it.
#[derive(Clone, Debug)]
pub struct Deployed<'a> {
    pub revision: i32,
    /// `name-version` of the chart.
    pub chart: String,
    pub manifest: &'a str,
}

/// What converging does to a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Install,
    Upgrade,
    Uninstall,
    Unchanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Install => "install",
            Action::Upgrade => "upgrade",
            Action::Uninstall => "uninstall",
            Action::Unchanged => "unchanged",
        }
    }
}

/// How one object changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// One object that differs.
#[derive(Clone, Debug)]
pub struct ObjectChange {
    pub key: ObjectKey,
    /// The object's `apiVersion`: the desired one, or the deployed one when it is removed.
    pub api_version: String,
    pub change: Change,
    /// Unified diff of the canonical YAML (secret values masked unless shown), with
    /// `--- deployed`/`+++ desired` headers.
    pub diff: String,
    /// For Secrets: which keys differ (never their values).
    pub secret_keys: Option<SecretKeys>,
}

/// The plan of one release.
#[derive(Clone, Debug)]
pub struct ReleasePlan {
    /// How the release is named in output: `namespace/name`, prefixed with its kube context
    /// when the state file's releases use several (the state's release id).
    pub id: String,
    /// The kube context the release lives in (`None`: the kubeconfig's current one).
    pub context: Option<String>,
    pub name: String,
    pub namespace: String,
    pub action: Action,
    /// The deployed revision compared against.
    pub deployed_revision: Option<i32>,
    /// Chart `name-version` deployed and desired.
    pub chart_from: Option<String>,
    pub chart_to: Option<String>,
    /// Objects that differ, in desired manifest order then removed ones in deployed order.
    pub changes: Vec<ObjectChange>,
    /// Where the live cluster differs from the deployed revision (`None`: live objects were
    /// not read).
    pub drift: Option<drift::ReleaseDrift>,
    /// The latest revision is `pending-*`, left by an interrupted operation: converging
    /// recovers it (marks it failed) and upgrades, even when nothing else differs.
    pub pending: Option<PendingRevision>,
}

/// A `pending-*` latest revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingRevision {
    pub revision: i32,
    /// `pending-install`, `pending-upgrade` or `pending-rollback`.
    pub status: String,
}

impl ReleasePlan {
    /// The release's id, as output shows it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the live cluster drifted from the deployed revision.
    pub fn drifted(&self) -> bool {
        self.drift.as_ref().is_some_and(drift::ReleaseDrift::drifted)
    }
}

/// Releases by action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub install: usize,
    pub upgrade: usize,
    pub uninstall: usize,
    pub unchanged: usize,
    /// Releases whose live objects differ from their deployed revision (whatever their action).
    pub drifted: usize,
}

impl Summary {
    pub fn has_changes(&self) -> bool {
        self.install + self.upgrade + self.uninstall > 0
    }
}

impl std::fmt::Display for Summary {
    /// `2 to install, 3 to upgrade, 1 to uninstall, 14 unchanged` (`; 1 drifted` when any).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} to install, {} to upgrade, {} to uninstall, {} unchanged",
            self.install, self.upgrade, self.uninstall, self.unchanged
        )?;
        if self.drifted > 0 {
            write!(f, "; {} drifted", self.drifted)?;
        }
        Ok(())
    }
}

/// The plan of every selected release, in the order given.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub releases: Vec<ReleasePlan>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for release in &self.releases {
            match release.action {
                Action::Install => summary.install += 1,
                Action::Upgrade => summary.upgrade += 1,
                Action::Uninstall => summary.uninstall += 1,
                Action::Unchanged => summary.unchanged += 1,
            }
            if release.drifted() {
                summary.drifted += 1;
            }
        }
        summary
    }
}

/// A manifest that could not be compared.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error("failed to read the {side} manifest of release `{namespace}/{name}`")]
    Manifest {
        side: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: Box<ObjectError>,
    },
    #[error("failed to encode object `{key}` of release `{namespace}/{name}`")]
    Encode {
        key: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<yaml::YamlError>,
    },
}

/// Plans one release: install (nothing deployed), uninstall (not wanted but deployed), upgrade
/// (objects or chart differ) or unchanged.
pub fn plan_release(
    desired: &Desired<'_>,
    deployed: Option<&Deployed<'_>>,
    options: &PlanOptions,
) -> Result<ReleasePlan, PlanError> {
    let manifest_error = |side: &'static str| {
        move |source| PlanError::Manifest {
            side,
            namespace: desired.namespace.to_string(),
            name: desired.name.to_string(),
            source: Box::new(source),
        }
    };
    let wanted = if desired.installed {
        parse_manifest(desired.manifest, desired.namespace).map_err(manifest_error("rendered"))?
    } else {
        Vec::new()
    };
    let current = match deployed {
        Some(record) => parse_manifest(record.manifest, desired.namespace).map_err(manifest_error("deployed"))?,
        None => Vec::new(),
    };
    let action = match (desired.installed, deployed) {
        (true, None) => Action::Install,
        (false, Some(_)) => Action::Uninstall,
        (false, None) => Action::Unchanged,
        (true, Some(_)) => Action::Upgrade, // narrowed below once objects are compared
    };
    let mut changes = Vec::new();
    let by_key: HashMap<&ObjectKey, &Object> = current.iter().map(|o| (&o.key, o)).collect();
    for object in &wanted {
        let old = by_key.get(&object.key).copied();
        if let Some(change) = compare(desired, old, Some(object), options)? {
            changes.push(change);
        }
    }
    let wanted_keys: std::collections::HashSet<&ObjectKey> = wanted.iter().map(|o| &o.key).collect();
    for object in &current {
        if !wanted_keys.contains(&object.key)
            && let Some(change) = compare(desired, Some(object), None, options)?
        {
            changes.push(change);
        }
    }
    let chart_from = deployed.map(|d| d.chart.clone());
    let chart_to = desired.chart.clone().filter(|_| desired.installed);
    let action = match action {
        Action::Upgrade if changes.is_empty() && chart_from == chart_to => Action::Unchanged,
        other => other,
    };
    Ok(ReleasePlan {
        id: format!("{}/{}", desired.namespace, desired.name),
        context: None,
        name: desired.name.to_string(),
        namespace: desired.namespace.to_string(),
        action,
        deployed_revision: deployed.map(|d| d.revision),
        chart_from,
        chart_to,
        changes,
        drift: None,
        pending: None,
    })
}

/// One object compared: `None` when equal.
fn compare(
    desired: &Desired<'_>,
    old: Option<&Object>,
    new: Option<&Object>,
    options: &PlanOptions,
) -> Result<Option<ObjectChange>, PlanError> {
    let Some((key, api_version)) = new.or(old).map(|o| (o.key.clone(), o.api_version.clone())) else {
        return Ok(None);
    };
    let encode = |object: &Object, value: &helmfire_value::Value| {
        yaml::encode(value).map_err(|source| PlanError::Encode {
            key: object.key.to_string(),
            namespace: desired.namespace.to_string(),
            name: desired.name.to_string(),
            source: Box::new(source),
        })
    };
    let old_text = old.map(|o| encode(o, &o.value)).transpose()?.unwrap_or_default();
    let new_text = new.map(|o| encode(o, &o.value)).transpose()?.unwrap_or_default();
    if old.is_some() && new.is_some() && old_text == new_text {
        return Ok(None);
    }
    let change = match (old, new) {
        (None, Some(_)) => Change::Added,
        (Some(_), None) => Change::Removed,
        _ => Change::Changed,
    };
    let is_secret = new.or(old).is_some_and(|object| object.secret);
    let (secret_keys, old_text, new_text) = if is_secret {
        let keys = secret::compare(old.map(|o| &o.value), new.map(|o| &o.value));
        if options.show_secrets {
            (Some(keys), old_text, new_text)
        } else {
            let old_masked = old
                .map(|o| encode(o, &secret::mask(&o.value, &keys.changed, secret::HIDDEN_BEFORE)))
                .transpose()?
                .unwrap_or_default();
            let new_masked = new
                .map(|o| encode(o, &secret::mask(&o.value, &keys.changed, secret::HIDDEN_AFTER)))
                .transpose()?
                .unwrap_or_default();
            (Some(keys), old_masked, new_masked)
        }
    } else {
        (None, old_text, new_text)
    };
    let diff = TextDiff::from_lines(&old_text, &new_text)
        .unified_diff()
        .context_radius(options.context)
        .header(&format!("{key} (deployed)"), &format!("{key} (desired)"))
        .to_string();
    Ok(Some(ObjectChange {
        key,
        api_version,
        change,
        diff,
        secret_keys,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: \"1\"\n  b: \"2\"\n";
    const SECRET: &str = "---\n# Source: app/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app\nstringData:\n  password: hunter2-planted\n";

    fn desired<'a>(manifest: &'a str) -> Desired<'a> {
        Desired {
            name: "app",
            namespace: "prod",
            installed: true,
            chart: Some("app-0.1.0".into()),
            manifest,
        }
    }

    fn deployed(manifest: &str) -> Deployed<'_> {
        Deployed {
            revision: 4,
            chart: "app-0.1.0".into(),
            manifest,
        }
    }

    #[test]
    fn nothing_deployed_means_install_with_every_object_added() {
        let plan = plan_release(&desired(CONFIG), None, &PlanOptions::default()).unwrap();
        assert_eq!(plan.action, Action::Install);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].change, Change::Added);
        assert!(
            plan.changes[0].diff.contains("+kind: ConfigMap"),
            "{}",
            plan.changes[0].diff
        );
    }

    #[test]
    fn formatting_and_key_order_are_not_changes() {
        let reordered = "apiVersion: v1\nmetadata: {name: app}\nkind: ConfigMap\ndata: {b: '2', a: '1'}\n";
        let plan = plan_release(&desired(reordered), Some(&deployed(CONFIG)), &PlanOptions::default()).unwrap();
        assert_eq!(plan.action, Action::Unchanged);
        assert!(plan.changes.is_empty());
    }

    #[test]
    fn a_changed_chart_version_alone_is_an_upgrade() {
        let mut newer = desired(CONFIG);
        newer.chart = Some("app-0.2.0".into());
        let plan = plan_release(&newer, Some(&deployed(CONFIG)), &PlanOptions::default()).unwrap();
        assert_eq!(plan.action, Action::Upgrade);
        assert!(plan.changes.is_empty());
    }

    #[test]
    fn changed_objects_get_unified_diffs_with_the_requested_context() {
        let changed = CONFIG.replace("b: \"2\"", "b: \"3\"");
        let options = PlanOptions {
            context: 0,
            ..PlanOptions::default()
        };
        let plan = plan_release(&desired(&changed), Some(&deployed(CONFIG)), &options).unwrap();
        assert_eq!(plan.action, Action::Upgrade);
        let diff = &plan.changes[0].diff;
        assert!(diff.starts_with("--- ConfigMap prod/app (deployed)\n+++ ConfigMap prod/app (desired)\n"));
        assert!(diff.contains("-  b: \"2\"\n+  b: \"3\"\n"), "{diff}");
        assert!(!diff.contains(" a: "), "no context lines with --context 0: {diff}");
    }

    #[test]
    fn objects_gone_from_the_chart_are_removed() {
        let both = format!("{CONFIG}{}", SECRET.replace("name: app", "name: other"));
        let plan = plan_release(&desired(CONFIG), Some(&deployed(&both)), &PlanOptions::default()).unwrap();
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].change, Change::Removed);
        assert_eq!(plan.changes[0].key.to_string(), "Secret prod/other");
    }

    #[test]
    fn not_installed_is_uninstall_when_deployed_and_nothing_otherwise() {
        let mut gone = desired("");
        gone.installed = false;
        gone.chart = None;
        let plan = plan_release(&gone, Some(&deployed(CONFIG)), &PlanOptions::default()).unwrap();
        assert_eq!(plan.action, Action::Uninstall);
        assert_eq!(plan.changes[0].change, Change::Removed);
        let plan = plan_release(&gone, None, &PlanOptions::default()).unwrap();
        assert_eq!(plan.action, Action::Unchanged);
    }

    #[test]
    fn secret_values_are_masked_unless_shown() {
        let changed = SECRET.replace("hunter2-planted", "correct-horse-planted");
        let plan = plan_release(&desired(&changed), Some(&deployed(SECRET)), &PlanOptions::default()).unwrap();
        let change = &plan.changes[0];
        assert_eq!(change.secret_keys.as_ref().unwrap().changed, ["password"]);
        assert!(!change.diff.contains("planted"), "{}", change.diff);
        assert!(
            change.diff.contains("-  password: '(hidden: old value)'"),
            "{}",
            change.diff
        );
        let shown = PlanOptions {
            show_secrets: true,
            ..PlanOptions::default()
        };
        let plan = plan_release(&desired(&changed), Some(&deployed(SECRET)), &shown).unwrap();
        assert!(plan.changes[0].diff.contains("+  password: correct-horse-planted"));
    }

    #[test]
    fn a_broken_manifest_names_the_release_and_side() {
        let error = plan_release(&desired("kind: [\n"), None, &PlanOptions::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to read the rendered manifest of release `prod/app`"
        );
        let error = plan_release(&desired(CONFIG), Some(&deployed("a: 1\n")), &PlanOptions::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to read the deployed manifest of release `prod/app`"
        );
    }

    #[test]
    fn the_summary_counts_actions() {
        let plan = Plan {
            releases: vec![
                plan_release(&desired(CONFIG), None, &PlanOptions::default()).unwrap(),
                plan_release(&desired(CONFIG), Some(&deployed(CONFIG)), &PlanOptions::default()).unwrap(),
            ],
        };
        assert_eq!(
            plan.summary().to_string(),
            "1 to install, 0 to upgrade, 0 to uninstall, 1 unchanged"
        );
        assert!(plan.summary().has_changes());
    }
}
