//! ⑦ Converge one release: Helm's install, upgrade, rollback and uninstall actions
//! (`pkg/action/{install,upgrade,rollback,uninstall}.go`), with hooks, readiness waits and a
//! per-release Lease so two helmfire processes never work on the same release at once.
//!
//! Each action is a numbered sequence of steps, like helm's. Every action that writes a
//! `pending-*` record ends it as `deployed`, `superseded`, `uninstalled` or `failed` on every
//! path — nothing is left pending; a record left pending by a process that was killed is recovered
//! by the next run once that process's Lease has expired ([`Engine::install_or_upgrade`]).
//!
//! **Apply method and field manager.** helmfire applies as the field manager `helm`, the same
//! name the helm CLI uses (`kube.ManagedFieldsManager = "helm"`), so fields written by one tool
//! are owned by the same manager when the other tool writes them next: `helm upgrade` after
//! helmfire and helmfire after `helm upgrade` never conflict on fields either of them set. The
//! stored `apply_method` is honoured as helm 4 does (`--server-side=auto`): a release installed
//! by helmfire is server-side applied (`ssa`, apply patch, `force=false` unless
//! [`ActionOptions::force_conflicts`], `fieldValidation=Strict`); a release last written with
//! client-side apply (helm 3, or `helm install --server-side=false`, `csa`) is updated with a
//! client-side merge patch between the previous and the new manifest object (helm's two-way
//! patch for unstructured objects), so its ownership stays client-side and helm's three-way
//! patch keeps working on it. New objects in a `csa` release are created with POST.
//!
//! This module never prints: progress goes through [`Progress`]. It does not decide *which*
//! releases to converge (that is the scheduler in `converge::run`), and it does not render charts.

mod actions;
mod error;
pub mod hooks;
pub mod interrupt;
pub mod lease;
pub mod run;
pub mod wait;

use std::sync::Arc;
use std::time::Duration;

pub use error::ConvergeError;
pub use interrupt::{Interrupt, Interrupter, Level};
pub use lease::LeaseSettings;

use crate::cluster::Cluster;
use crate::render::manifest::Hook;
use crate::storage::Store;
use helmfire_chart::Chart;
use helmfire_value::Map;

/// The field manager helmfire applies with; see the module docs for why it is helm's.
pub const FIELD_MANAGER: &str = "helm";

/// What a release should be after converging: a rendered chart and its values.
#[derive(Clone, Debug)]
pub struct DesiredRelease {
    pub name: String,
    pub namespace: String,
    pub chart: Arc<Chart>,
    /// The user-supplied values (stored as the record's `config`, what `helm get values` shows).
    pub config: Map,
    /// The coalesced values the chart was rendered with.
    pub values: Map,
    /// The release manifest (`render::manifest::release_manifest`): non-hook documents, each
    /// framed by its `# Source:` header.
    pub manifest: String,
    /// The chart's hooks, in kind order (as `render::manifest::sort_manifests` returns them).
    pub hooks: Vec<Hook>,
    /// The rendered NOTES.txt of the root chart.
    pub notes: Option<String>,
    /// `(path, raw content)` of every `crds/` file, in helm's order.
    pub crds: Vec<(String, String)>,
}

impl DesiredRelease {
    /// The release `namespace/name` as `rendered`. The chart's files are read now (the loader
    /// leaves large ones unread until asked for), as the record stores them and an install
    /// applies the CRDs: a file that cannot be read fails the release before anything changes.
    pub fn new(
        name: &str,
        namespace: &str,
        rendered: crate::render::RenderedRelease,
    ) -> Result<DesiredRelease, crate::render::RenderError> {
        let crds = rendered.crds()?;
        for file in rendered.chart.templates.iter().chain(&rendered.chart.files) {
            file.data.get().map_err(crate::render::RenderError::unreadable)?;
        }
        Ok(DesiredRelease {
            name: name.to_string(),
            namespace: namespace.to_string(),
            chart: rendered.chart,
            config: rendered.config,
            values: rendered.values,
            manifest: rendered.manifest,
            hooks: rendered.sorted.hooks,
            notes: rendered.notes,
            crds,
        })
    }
}

/// Flags of an install, upgrade or rollback (helm's flags of the same names).
#[derive(Clone, Debug)]
pub struct ActionOptions {
    /// Wait until every resource is ready (helm's `--wait=watcher`).
    pub wait: bool,
    /// Also wait for Jobs to complete.
    pub wait_for_jobs: bool,
    /// Per release: the whole wait, each hook, and waiting for the release's Lease.
    pub timeout: Duration,
    /// On failure: uninstall a failed install, roll back a failed upgrade.
    pub atomic: bool,
    /// Create the release namespace when it does not exist.
    pub create_namespace: bool,
    /// On a failed upgrade, delete the resources this upgrade created.
    pub cleanup_on_fail: bool,
    /// Revisions kept by upgrade and rollback (0 = unlimited); helm's default is 10.
    pub history_max: u32,
    /// Do not run hooks (they are still stored).
    pub disable_hooks: bool,
    /// Do not install `crds/`.
    pub skip_crds: bool,
    /// Do not update CRDs from `crds/` that already exist (helm never updates them).
    pub skip_crd_update: bool,
    /// `--description`: replaces the success description.
    pub description: Option<String>,
    /// `--server-side`: `None` follows the stored `apply_method` (helm's `auto`; `ssa` on install).
    pub server_side: Option<bool>,
    /// Apply with `force=true`, taking fields from other managers.
    pub force_conflicts: bool,
    /// `--take-ownership`: adopt existing objects that carry no or another release's ownership
    /// metadata instead of refusing them.
    pub take_ownership: bool,
}

impl ActionOptions {
    /// The readiness rules to wait with, or `None` when the action does not wait.
    pub(crate) fn wait_rules(&self) -> Option<wait::Rules> {
        match (self.wait, self.wait_for_jobs) {
            (_, true) => Some(wait::Rules::ResourcesAndJobs),
            (true, false) => Some(wait::Rules::Resources),
            (false, false) => None,
        }
    }
}

impl Default for ActionOptions {
    fn default() -> Self {
        ActionOptions {
            wait: false,
            wait_for_jobs: false,
            timeout: Duration::from_secs(300),
            atomic: false,
            create_namespace: false,
            cleanup_on_fail: false,
            history_max: 10,
            disable_hooks: false,
            skip_crds: false,
            skip_crd_update: false,
            description: None,
            server_side: None,
            force_conflicts: false,
            take_ownership: false,
        }
    }
}

/// What [`Engine::converge_planned`] did.
#[derive(Clone, Debug)]
pub enum Converged {
    /// Installed or upgraded: the new revision.
    Wrote(crate::storage::ReleaseRecord),
    /// The latest revision already was the desired release; nothing was written.
    Current(crate::storage::ReleaseRecord),
}

/// Flags of an uninstall.
#[derive(Clone, Debug)]
pub struct UninstallOptions {
    /// Keep the release records, marked `uninstalled`.
    pub keep_history: bool,
    pub disable_hooks: bool,
    /// Wait until every deleted resource is gone.
    pub wait: bool,
    pub timeout: Duration,
    pub description: Option<String>,
}

impl Default for UninstallOptions {
    fn default() -> Self {
        UninstallOptions {
            keep_history: false,
            disable_hooks: false,
            wait: false,
            timeout: Duration::from_secs(300),
            description: None,
        }
    }
}

/// What an action is doing now, for progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Waiting for another process's Lease on the release.
    WaitingForLease {
        holder: String,
    },
    /// A `pending-*` revision whose process died (its Lease expired) was marked failed.
    Recovered {
        revision: i32,
        status: String,
        holder: String,
    },
    CreatingNamespace,
    ApplyingCrds,
    RunningHook {
        name: String,
        phase: String,
    },
    Applying {
        done: usize,
        total: usize,
    },
    Waiting {
        resource: String,
    },
    Deleting {
        done: usize,
        total: usize,
    },
    /// Re-applying drifted objects of the deployed revision.
    CorrectingDrift {
        done: usize,
        total: usize,
    },
    /// Undoing a failed action (`atomic`): rolling back or uninstalling.
    RollingBack {
        revision: i32,
    },
    Recording,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::WaitingForLease { holder } => write!(f, "waiting for the lock held by `{holder}`"),
            Step::Recovered {
                revision,
                status,
                holder,
            } => write!(
                f,
                "recovered revision {revision}, left {status} by `{holder}` whose Lease expired (marked failed)"
            ),
            Step::CreatingNamespace => f.write_str("creating the namespace"),
            Step::ApplyingCrds => f.write_str("applying CRDs"),
            Step::RunningHook { name, phase } => write!(f, "running {phase} hook `{name}`"),
            Step::Applying { done, total } => write!(f, "applying {done}/{total}"),
            Step::Waiting { resource } => write!(f, "waiting for {resource}"),
            Step::Deleting { done, total } => write!(f, "deleting {done}/{total}"),
            Step::RollingBack { revision } => write!(f, "rolling back to revision {revision}"),
            Step::CorrectingDrift { done, total } => write!(f, "correcting drift {done}/{total}"),
            Step::Recording => f.write_str("recording the release"),
        }
    }
}

/// Receives the steps of every action; implemented by the CLI's progress display.
pub trait Progress: Send + Sync {
    fn step(&self, release: &str, step: &Step);
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn step(&self, _release: &str, _step: &Step) {}
}

/// Runs release actions against one cluster and one release store.
#[derive(Clone)]
pub struct Engine {
    cluster: Cluster,
    store: Store,
    lease: LeaseSettings,
    interrupt: Interrupt,
}

impl Engine {
    pub fn new(cluster: Cluster, store: Store) -> Engine {
        Engine {
            cluster,
            store,
            lease: LeaseSettings::default(),
            interrupt: Interrupt::never(),
        }
    }

    /// Lets `interrupt` cut the actions' waits short once it reaches [`Level::Aborting`]: the
    /// action then fails with [`ConvergeError::Interrupted`], recorded like any failure.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Engine {
        self.interrupt = interrupt;
        self
    }

    /// Replaces the Lease settings (holder identity, duration); tests shorten the duration.
    pub fn with_lease(mut self, lease: LeaseSettings) -> Engine {
        self.lease = lease;
        self
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chart files a record stores and the CRDs an install applies are read when the
    /// release is wanted; a file that went missing after loading fails it there, before the
    /// cluster or the storage is touched.
    #[test]
    fn a_desired_release_reads_the_files_it_stores() {
        use crate::render::{self, ReleaseRender};
        let dir = std::env::temp_dir().join(format!("helmfire-desired-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
        std::fs::create_dir_all(dir.join("crds")).expect("mkdir");
        std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: c\nversion: 1.0.0\n").expect("write");
        std::fs::write(dir.join("templates/cm.yaml"), "kind: ConfigMap\n").expect("write");
        let big = "# a long README\n".repeat(1000);
        std::fs::write(dir.join("README.md"), &big).expect("write");
        let crd = format!("kind: CustomResourceDefinition\n{big}");
        std::fs::write(dir.join("crds/crd.yaml"), &crd).expect("write");
        let request = ReleaseRender::install("r", "default", dir.clone());
        let desired = DesiredRelease::new("r", "default", render::render_release(&request).expect("renders"))
            .expect("files read");
        assert_eq!(desired.crds, vec![("c/crds/crd.yaml".to_string(), crd)]);
        let record = crate::storage::chart_record(&desired.chart);
        let readme = record
            .files
            .iter()
            .flatten()
            .find(|f| f.name == "README.md")
            .expect("stored");
        assert_eq!(readme.data.as_deref(), Some(big.as_bytes()));

        let rendered = render::render_release(&request).expect("renders");
        std::fs::remove_file(dir.join("README.md")).expect("rm");
        let error = DesiredRelease::new("r", "default", rendered).expect_err("README.md is gone");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            error.to_string().starts_with("error reading README.md: open "),
            "{error}"
        );
    }

    #[test]
    fn steps_read_as_sentences() {
        let recovered = Step::Recovered {
            revision: 4,
            status: "pending-upgrade".into(),
            holder: "helmfire@ci/42".into(),
        };
        assert_eq!(
            recovered.to_string(),
            "recovered revision 4, left pending-upgrade by `helmfire@ci/42` whose Lease expired (marked failed)"
        );
        assert_eq!(Step::Applying { done: 3, total: 50 }.to_string(), "applying 3/50");
        assert_eq!(
            Step::RunningHook {
                name: "c/templates/job.yaml".into(),
                phase: "pre-install".into()
            }
            .to_string(),
            "running pre-install hook `c/templates/job.yaml`"
        );
    }

    #[test]
    fn defaults_follow_helm() {
        let options = ActionOptions::default();
        assert_eq!(options.timeout, Duration::from_secs(300));
        assert_eq!(options.history_max, 10);
        assert_eq!(options.server_side, None);
        assert!(!options.wait && !options.atomic && !options.skip_crd_update);
    }
}
