//! The actions (one file each, numbered steps like helm's `pkg/action`) and the operations they
//! share: applying and deleting objects, waiting, running hooks, CRDs and records.

mod correct;
mod install;
mod records;
mod rollback;
mod uninstall;
mod upgrade;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Patch, PatchParams};
use serde_json::Value as Json;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::error::ConvergeError;
use super::hooks::{self, Event};
use super::lease::{self, LeaseGuard};
use super::wait::{Readiness, Rules, readiness};
use super::{ActionOptions, Converged, DesiredRelease, Engine, FIELD_MANAGER, Progress, Step, UninstallOptions};
use crate::cluster::{ApplyOptions, Cluster, ClusterError, ObjectRef, PropagationPolicy};
use crate::manifest::{
    self as objects, MANAGED_BY_LABEL, ObjectKey, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION, Resource,
};
use crate::observe::live::locate;
use crate::storage::{ApplyMethod, ReleaseRecord, Status};

/// How often readiness and deletion are polled.
const POLL: Duration = Duration::from_millis(100);

/// How many more times the record ending a pending revision is stored after the action's own
/// try failed (each a request with its own retries), 0.1 s, 0.2 s, 0.4 s and then 0.8 s apart.
const ENDING_ATTEMPTS: u32 = 6;

/// One action on one release.
pub(crate) struct Context<'a> {
    pub engine: &'a Engine,
    pub name: &'a str,
    pub namespace: &'a str,
    pub progress: &'a dyn Progress,
    /// The revision this action stored as `pending-*`, and, when the record that was to end it
    /// could not be stored, that record: [`Engine::locked`] tries again before letting go of
    /// the Lease.
    ending: std::sync::Mutex<Ending>,
}

/// See [`Context::ending`].
#[derive(Default)]
struct Ending {
    pending: Option<i32>,
    unstored: Option<ReleaseRecord>,
}

impl<'a> Context<'a> {
    /// `namespace/name`, how errors name the release.
    pub fn release(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn cluster(&self) -> &Cluster {
        &self.engine.cluster
    }

    pub fn step(&self, step: Step) {
        self.progress.step(self.name, &step);
    }

    pub fn cluster_error(&self, source: ClusterError) -> ConvergeError {
        ConvergeError::Cluster {
            release: self.release(),
            source: Box::new(source),
        }
    }

    /// A wait cut short by a second interrupt.
    pub fn interrupted(&self, waiting: &'static str) -> ConvergeError {
        ConvergeError::Interrupted {
            release: self.release(),
            waiting,
        }
    }

    pub fn storage_error(&self, source: crate::storage::StorageError) -> ConvergeError {
        ConvergeError::Storage {
            release: self.release(),
            source: Box::new(source),
        }
    }

    /// The objects of a release or hook manifest.
    pub fn parse(&self, manifest: &str, source: &str) -> Result<Vec<Resource>, ConvergeError> {
        objects::parse_manifest(manifest, source).map_err(|source| ConvergeError::Manifest {
            release: self.release(),
            source: Box::new(source),
        })
    }

    // ----- records -------------------------------------------------------------------------

    /// Every revision, oldest first.
    pub async fn history(&self) -> Result<Vec<ReleaseRecord>, ConvergeError> {
        let mut history = self
            .engine
            .store
            .history(self.namespace, self.name)
            .await
            .map_err(|e| self.storage_error(e))?;
        history.sort_by_key(|r| r.version);
        Ok(history)
    }

    /// Stores a new install revision (install never prunes).
    pub async fn create_record(&self, record: &ReleaseRecord) -> Result<(), ConvergeError> {
        let stored = self.engine.store.create(record).await;
        self.note_write(record, stored.is_ok());
        stored.map_err(|e| self.storage_error(e))
    }

    /// Stores a new upgrade or rollback revision as helm's `Create` with `MaxHistory` does:
    /// pruned first to at most `history_max - 1` old revisions (never the newest deployed).
    pub async fn create_record_pruned(&self, record: &ReleaseRecord, history_max: u32) -> Result<(), ConvergeError> {
        let stored = self.engine.store.create_with_history_max(record, history_max).await;
        self.note_write(record, stored.is_ok());
        stored.map_err(|e| self.storage_error(e))
    }

    pub async fn update_record(&self, record: &ReleaseRecord) -> Result<(), ConvergeError> {
        let stored = self.engine.store.update(record).await;
        self.note_write(record, stored.is_ok());
        stored.map_err(|e| self.storage_error(e))
    }

    /// Keeps [`Context::ending`] up to date after a write of `record`.
    fn note_write(&self, record: &ReleaseRecord, stored: bool) {
        let mut ending = self.ending.lock().unwrap_or_else(|p| p.into_inner());
        if record.info.status.is_pending() {
            if stored {
                *ending = Ending {
                    pending: Some(record.version),
                    unstored: None,
                };
            }
        } else if ending.pending == Some(record.version) {
            ending.unstored = (!stored).then(|| record.clone());
        }
    }

    /// The record that was to end this action's pending revision, when storing it failed.
    fn unstored_ending(&self) -> Option<ReleaseRecord> {
        self.ending.lock().unwrap_or_else(|p| p.into_inner()).unstored.take()
    }

    // ----- namespace and CRDs --------------------------------------------------------------

    /// Creates the release namespace when it is missing (`--create-namespace`).
    pub async fn ensure_namespace(&self) -> Result<(), ConvergeError> {
        let reference = ObjectRef::new("v1", "Namespace", None, self.namespace);
        if self
            .cluster()
            .get(&reference)
            .await
            .map_err(|e| self.cluster_error(e))?
            .is_some()
        {
            return Ok(());
        }
        self.step(Step::CreatingNamespace);
        let namespace = serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": {"name": self.namespace}},
        });
        match self.cluster().create(&namespace).await {
            Ok(_) | Err(ClusterError::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(self.cluster_error(e)),
        }
    }

    /// Installs the chart's `crds/` and waits until they are established. Existing CRDs are
    /// updated (server-side apply) unless `skip_update` — unlike helm, which never touches them.
    pub async fn install_crds(
        &self,
        crds: &[(String, String)],
        skip_update: bool,
        timeout: Duration,
    ) -> Result<(), ConvergeError> {
        if crds.is_empty() {
            return Ok(());
        }
        self.step(Step::ApplyingCrds);
        let mut all = Vec::new();
        for (path, content) in crds {
            all.extend(self.parse(content, path)?);
        }
        for crd in &all {
            let reference = ObjectRef::new(&crd.api_version, &crd.kind, None, &crd.name);
            let exists = self
                .cluster()
                .get(&reference)
                .await
                .map_err(|e| self.cluster_error(e))?
                .is_some();
            if exists && skip_update {
                continue;
            }
            let options = ApplyOptions {
                field_manager: FIELD_MANAGER.to_string(),
                force: true,
                dry_run: false,
            };
            self.cluster()
                .apply(&crd.object, &options)
                .await
                .map_err(|e| self.cluster_error(e))?;
        }
        self.wait(&all, Rules::Resources, timeout).await?;
        Ok(())
    }

    // ----- applying ------------------------------------------------------------------------

    /// Sends `resources` in order, consecutive objects of one kind in parallel (helm's
    /// `batchPerform`). `previous` holds the objects of the last release manifest: objects
    /// not in it must not belong to someone else (helm's ownership check), and under client-side
    /// apply they are the base of the merge patch. Returns the objects as sent, with namespaces.
    pub async fn apply(
        &self,
        resources: &[Resource],
        method: ApplyMethod,
        previous: &HashMap<ObjectKey, Resource>,
        force: bool,
        take_ownership: bool,
    ) -> Result<Vec<Resource>, ConvergeError> {
        let total = resources.len();
        let mut done = 0;
        let mut sent = Vec::with_capacity(total);
        self.step(Step::Applying { done, total });
        let previous = Arc::new(previous.clone());
        for batch in objects::kind_batches(resources) {
            let mut tasks = JoinSet::new();
            for (index, resource) in batch.iter().enumerate() {
                let cluster = self.cluster().clone();
                let mut resource = resource.clone();
                let name = self.name.to_string();
                let namespace = self.namespace.to_string();
                let previous = Arc::clone(&previous);
                tasks.spawn(async move {
                    locate(&cluster, &mut resource, &namespace).await?;
                    resource.set_ownership(&name, &namespace);
                    let before = previous.get(&resource.key(&namespace));
                    let ownership = if take_ownership {
                        Ownership::Take
                    } else {
                        Ownership::Check
                    };
                    apply_one(&cluster, &resource, before, method, force, ownership, &name, &namespace).await?;
                    Ok::<_, ApplyError>((index, resource))
                });
            }
            let mut results = Vec::with_capacity(batch.len());
            while let Some(joined) = tasks.join_next().await {
                let outcome = joined.expect("apply task panicked");
                match outcome {
                    Ok(item) => results.push(item),
                    Err(e) => {
                        tasks.abort_all();
                        return Err(self.apply_error(e));
                    }
                }
                done += 1;
                self.step(Step::Applying { done, total });
            }
            results.sort_by_key(|(i, _)| *i);
            sent.extend(results.into_iter().map(|(_, r)| r));
        }
        Ok(sent)
    }

    fn apply_error(&self, error: ApplyError) -> ConvergeError {
        match error {
            ApplyError::Cluster(e) => self.cluster_error(e),
            ApplyError::Ownership { object, reason } => ConvergeError::Ownership {
                release: self.release(),
                object,
                reason,
            },
        }
    }

    /// Deletes objects (background propagation), skipping those whose live object says
    /// `helm.sh/resource-policy: keep`. Objects already gone, or whose kind the cluster no longer
    /// serves, count as deleted. Returns the objects a delete was sent for.
    pub async fn delete(&self, resources: &[Resource], check_live_keep: bool) -> Result<Vec<Resource>, ConvergeError> {
        let total = resources.len();
        self.step(Step::Deleting { done: 0, total });
        let mut deleted = Vec::new();
        for (done, resource) in resources.iter().enumerate() {
            let mut resource = resource.clone();
            match locate(self.cluster(), &mut resource, self.namespace).await {
                Ok(()) => {}
                Err(ClusterError::UnknownKind { .. }) => continue,
                Err(e) => return Err(self.cluster_error(e)),
            }
            let reference = reference(&resource);
            if check_live_keep {
                let live = self
                    .cluster()
                    .get(&reference)
                    .await
                    .map_err(|e| self.cluster_error(e))?;
                let keep = live.as_ref().is_some_and(|o| {
                    o.metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(objects::RESOURCE_POLICY_ANNOTATION))
                        .is_some_and(|p| p.trim().eq_ignore_ascii_case("keep"))
                });
                if live.is_none() || keep {
                    continue;
                }
            }
            self.cluster()
                .delete(&reference, Some(PropagationPolicy::Background))
                .await
                .map_err(|e| self.cluster_error(e))?;
            deleted.push(resource);
            self.step(Step::Deleting { done: done + 1, total });
        }
        Ok(deleted)
    }

    // ----- waiting -------------------------------------------------------------------------

    /// Polls `resources` until each is ready under `rules`, or `timeout` passes. Failed
    /// resources stop blocking and are reported afterwards (helm 4.1.1+).
    pub async fn wait(&self, resources: &[Resource], rules: Rules, timeout: Duration) -> Result<(), ConvergeError> {
        let deadline = Instant::now() + timeout;
        let mut pending: Vec<(Resource, String)> = Vec::new();
        for resource in resources {
            let mut resource = resource.clone();
            locate(self.cluster(), &mut resource, self.namespace)
                .await
                .map_err(|e| self.cluster_error(e))?;
            pending.push((resource, "not checked yet".to_string()));
        }
        let mut failed = Vec::new();
        let mut announced = None;
        while !pending.is_empty() {
            if self.engine.interrupt.aborting() {
                return Err(self.interrupted("waiting for its resources to be ready"));
            }
            if let Some((first, _)) = pending.first() {
                let label = first.to_string();
                if announced.as_ref() != Some(&label) {
                    self.step(Step::Waiting {
                        resource: label.clone(),
                    });
                    announced = Some(label);
                }
            }
            let mut tasks = JoinSet::new();
            for (index, (resource, _)) in pending.iter().enumerate() {
                let cluster = self.cluster().clone();
                let reference = reference(resource);
                tasks.spawn(async move { (index, cluster.get(&reference).await) });
            }
            let mut states = vec![None; pending.len()];
            while let Some(joined) = tasks.join_next().await {
                let (index, result) = joined.expect("wait task panicked");
                let state = match result {
                    Ok(Some(live)) => {
                        let json = serde_json::to_value(&live).unwrap_or(Json::Null);
                        readiness(&with_kind(json, &pending[index].0), rules)
                    }
                    Ok(None) => Readiness::InProgress("not found".into()),
                    // Transient errors were already retried by the cluster seam; keep polling.
                    Err(e) => Readiness::InProgress(format!("cannot read it: {}", crate::error::Chain(&e))),
                };
                states[index] = Some(state);
            }
            let mut still = Vec::new();
            for ((resource, _), state) in pending.into_iter().zip(states) {
                match state.unwrap_or(Readiness::InProgress(String::new())) {
                    Readiness::Current => {}
                    Readiness::Failed(why) => failed.push((resource.to_string(), why)),
                    Readiness::InProgress(why) => still.push((resource, why)),
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(ConvergeError::WaitTimeout {
                    release: self.release(),
                    seconds: timeout.as_secs(),
                    unready: pending.into_iter().map(|(r, why)| (r.to_string(), why)).collect(),
                });
            }
            if self.engine.interrupt.sleep(POLL).await {
                return Err(self.interrupted("waiting for its resources to be ready"));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(ConvergeError::ResourcesFailed {
                release: self.release(),
                failed,
            })
        }
    }

    /// Waits until every object in `resources` is gone.
    pub async fn wait_deleted(&self, resources: &[Resource], timeout: Duration) -> Result<(), ConvergeError> {
        let deadline = Instant::now() + timeout;
        for resource in resources {
            let reference = reference(resource);
            loop {
                match self.cluster().get(&reference).await {
                    Ok(None) | Err(ClusterError::UnknownKind { .. }) => break,
                    Ok(Some(_)) => {}
                    Err(e) => return Err(self.cluster_error(e)),
                }
                if Instant::now() >= deadline {
                    return Err(ConvergeError::WaitTimeout {
                        release: self.release(),
                        seconds: timeout.as_secs(),
                        unready: vec![(resource.to_string(), "still exists after delete".into())],
                    });
                }
                if self.engine.interrupt.sleep(POLL).await {
                    return Err(self.interrupted("waiting for deleted resources to be gone"));
                }
            }
        }
        Ok(())
    }

    // ----- hooks ---------------------------------------------------------------------------

    /// Runs the record's hooks for `event` (helm's `execHook`): by weight and name; for each,
    /// the before-hook-creation delete, a record update with `last_run`, create, wait until a
    /// Job completes or a Pod succeeds; then the delete policies. `record` is updated in place
    /// (and stored as each hook starts); the caller stores the final phases.
    pub async fn run_hooks(
        &self,
        record: &mut ReleaseRecord,
        event: Event,
        method: ApplyMethod,
        timeout: Duration,
    ) -> Result<(), ConvergeError> {
        let order = hooks::order(
            record
                .hooks
                .iter()
                .map(|h| (h.events.as_slice(), h.weight, h.name.as_str())),
            event,
        );
        let mut done: Vec<(usize, Vec<Resource>)> = Vec::new();
        for index in order {
            hooks::default_delete_policies(&mut record.hooks[index].delete_policies);
            let hook = record.hooks[index].clone();
            self.step(Step::RunningHook {
                name: hook.path.clone(),
                phase: event.to_string(),
            });
            let request_error = |source: ConvergeError| ConvergeError::HookRequest {
                release: self.release(),
                event: event.to_string(),
                path: hook.path.clone(),
                source: Box::new(source),
            };
            let mut resources = self.parse(&hook.manifest, &hook.path).map_err(request_error)?;
            for resource in &mut resources {
                locate(self.cluster(), resource, self.namespace)
                    .await
                    .map_err(|e| request_error(self.cluster_error(e)))?;
            }
            if hooks::deletes(&hook.kind, &hook.delete_policies, hooks::BEFORE_HOOK_CREATION) {
                self.delete_hook_objects(&resources, timeout)
                    .await
                    .map_err(request_error)?;
            }
            records::hook_started(&mut record.hooks[index].last_run);
            self.update_record(record).await?;
            record.hooks[index].last_run.phase = "Unknown".to_string();
            let created = self.create_hook_objects(&resources, method).await;
            if let Err(e) = created {
                records::hook_finished(&mut record.hooks[index].last_run, "Failed");
                return Err(request_error(e));
            }
            let waited = self.wait(&resources, Rules::Hook, timeout).await;
            if let Err(e) = waited {
                records::hook_finished(&mut record.hooks[index].last_run, "Failed");
                let reason = match &e {
                    ConvergeError::ResourcesFailed { failed, .. } => failed
                        .iter()
                        .map(|(r, why)| format!("{r}: {why}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                    ConvergeError::WaitTimeout { unready, seconds, .. } => format!(
                        "timed out after {seconds}s: {}",
                        unready
                            .iter()
                            .map(|(r, why)| format!("{r}: {why}"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    other => crate::error::Chain(other).to_string(),
                };
                // Shutdown on failure: delete this hook if `hook-failed`, and the ones that
                // already succeeded if `hook-succeeded`. Errors here are secondary.
                if hooks::deletes(&hook.kind, &hook.delete_policies, hooks::HOOK_FAILED) {
                    let _ = self.delete_hook_objects(&resources, timeout).await;
                }
                for (i, objects) in &done {
                    let h = &record.hooks[*i];
                    if hooks::deletes(&h.kind, &h.delete_policies, hooks::HOOK_SUCCEEDED) {
                        let _ = self.delete_hook_objects(objects, timeout).await;
                    }
                }
                return Err(ConvergeError::Hook {
                    release: self.release(),
                    event: event.to_string(),
                    path: hook.path.clone(),
                    reason,
                });
            }
            records::hook_finished(&mut record.hooks[index].last_run, "Succeeded");
            done.push((index, resources));
        }
        for (i, objects) in done.iter().rev() {
            let h = &record.hooks[*i];
            if hooks::deletes(&h.kind, &h.delete_policies, hooks::HOOK_SUCCEEDED) {
                self.delete_hook_objects(objects, timeout).await?;
            }
        }
        Ok(())
    }

    async fn delete_hook_objects(&self, resources: &[Resource], timeout: Duration) -> Result<(), ConvergeError> {
        let deleted = self.delete(resources, false).await?;
        self.wait_deleted(&deleted, timeout).await
    }

    /// Hooks are created as helm does: an apply patch under SSA, a POST otherwise; they never get
    /// the ownership metadata.
    async fn create_hook_objects(&self, resources: &[Resource], method: ApplyMethod) -> Result<(), ConvergeError> {
        for resource in resources {
            let result = match method {
                ApplyMethod::ServerSide => self
                    .cluster()
                    .apply(
                        &resource.object,
                        &ApplyOptions {
                            field_manager: FIELD_MANAGER.to_string(),
                            force: false,
                            dry_run: false,
                        },
                    )
                    .await
                    .map(|_| ()),
                ApplyMethod::ClientSide => match self.cluster().create(&resource.object).await {
                    Ok(_) => Ok(()),
                    // A retried create whose first attempt reached the server.
                    Err(ClusterError::AlreadyExists { .. }) => Ok(()),
                    Err(e) => Err(e),
                },
            };
            result.map_err(|e| self.cluster_error(e))?;
        }
        Ok(())
    }
}

impl Engine {
    fn context<'a>(&'a self, namespace: &'a str, name: &'a str, progress: &'a dyn Progress) -> Context<'a> {
        Context {
            engine: self,
            name,
            namespace,
            progress,
            ending: std::sync::Mutex::new(Ending::default()),
        }
    }

    /// Takes the release's Lease (waiting up to `timeout` for another helmfire).
    async fn lock(&self, cx: &Context<'_>, timeout: Duration) -> Result<LeaseGuard, ConvergeError> {
        lease::acquire(
            &self.cluster,
            cx.namespace,
            cx.name,
            &self.lease,
            timeout,
            cx.progress,
            &self.interrupt,
        )
        .await
        .map_err(|source| ConvergeError::Lease {
            release: cx.release(),
            source: Box::new(source),
        })
    }

    /// Runs `action` holding the release's Lease, and lets go of it afterwards.
    async fn locked<T>(
        &self,
        cx: &Context<'_>,
        timeout: Duration,
        action: impl AsyncFnOnce(&Context<'_>, Option<&str>) -> Result<T, ConvergeError>,
    ) -> Result<T, ConvergeError> {
        let guard = self.lock(cx, timeout).await?;
        // The store's own lock on the release's records (sql: a database shared by several
        // clusters, whose Leases do not see each other); a no-op for the cluster drivers.
        let on_wait = |holder: &str| {
            cx.step(Step::WaitingForLease {
                holder: holder.to_string(),
            })
        };
        let records = match self.store.lock_release(cx.namespace, cx.name, timeout, &on_wait).await {
            Ok(records) => records,
            Err(error) => {
                let _ = guard.release().await;
                return Err(cx.storage_error(error));
            }
        };
        let result = match CatchUnwind(Box::pin(action(cx, guard.expired_holder()))).await {
            Ok(result) => result,
            Err(message) => {
                // A bug must not leave the release locked or pending: end the pending revision
                // this action wrote as failed, then let go of the Lease below.
                cx.fail_pending(&message).await;
                Err(ConvergeError::Panicked {
                    release: cx.release(),
                    message,
                })
            }
        };
        // A record lock that cannot be released ends with its session; a Lease, by expiring.
        let _ = records.release().await;
        if !self.end_pending(cx).await {
            // Held until it expires, the Lease tells the next run that this pending revision
            // was abandoned, and that run marks it failed.
            drop(guard);
            return result;
        }
        let _ = guard.release().await;
        result
    }

    /// Stores the record that ends the action's pending revision if the action could not
    /// (a cluster failing requests past their retries): tried a few more times, more slowly.
    /// False when the revision is still pending.
    async fn end_pending(&self, cx: &Context<'_>) -> bool {
        let Some(record) = cx.unstored_ending() else {
            return true;
        };
        for attempt in 0..ENDING_ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(100 << attempt.min(3))).await;
            if cx.update_record(&record).await.is_ok() {
                return true;
            }
        }
        false
    }

    /// [`Engine::locked`] for an uninstall: when the release's records are gone (purged), so is
    /// its Lease — a destroyed estate leaves no `helmfire.release.*` objects behind.
    async fn locked_uninstall(
        &self,
        cx: &Context<'_>,
        options: &UninstallOptions,
    ) -> Result<Option<ReleaseRecord>, ConvergeError> {
        let guard = self.lock(cx, options.timeout).await?;
        let result = match CatchUnwind(Box::pin(cx.uninstall(options))).await {
            Ok(result) => result,
            Err(message) => {
                cx.fail_pending(&message).await;
                Err(ConvergeError::Panicked {
                    release: cx.release(),
                    message,
                })
            }
        };
        if !self.end_pending(cx).await {
            drop(guard);
            return result;
        }
        let _ = if matches!(result, Ok(None)) {
            guard.delete().await
        } else {
            guard.release().await
        };
        result
    }

    /// Installs a release that does not exist (or whose latest revision is `uninstalled`).
    pub async fn install(
        &self,
        desired: DesiredRelease,
        options: &ActionOptions,
        progress: &dyn Progress,
    ) -> Result<ReleaseRecord, ConvergeError> {
        let cx = self.context(&desired.namespace, &desired.name, progress);
        if options.create_namespace {
            cx.ensure_namespace().await?;
        }
        self.locked(&cx, options.timeout, async |cx, _| cx.install(&desired, options).await)
            .await
    }

    /// Upgrades an existing release. A `pending-*` latest revision left by a helmfire whose
    /// Lease expired is recovered first (reported as [`Step::Recovered`]).
    pub async fn upgrade(
        &self,
        desired: DesiredRelease,
        options: &ActionOptions,
        progress: &dyn Progress,
    ) -> Result<ReleaseRecord, ConvergeError> {
        let cx = self.context(&desired.namespace, &desired.name, progress);
        self.locked(&cx, options.timeout, async |cx, expired| {
            cx.upgrade(&desired, options, expired).await
        })
        .await
    }

    /// helm's `upgrade --install`: install when there is no history or the latest revision is
    /// `uninstalled`, otherwise upgrade (recovering a stale pending revision).
    pub async fn install_or_upgrade(
        &self,
        desired: DesiredRelease,
        options: &ActionOptions,
        progress: &dyn Progress,
    ) -> Result<ReleaseRecord, ConvergeError> {
        match self.converge(desired, options, progress, false).await? {
            Converged::Wrote(record) | Converged::Current(record) => Ok(record),
        }
    }

    /// [`Engine::install_or_upgrade`] for a plan made before the Lease was taken: once it is
    /// held, a latest revision that is deployed and already `desired` (another helmfire
    /// converged it while this one waited) is left alone — no redundant revision — and
    /// reported as [`Converged::Current`].
    pub async fn converge_planned(
        &self,
        desired: DesiredRelease,
        options: &ActionOptions,
        progress: &dyn Progress,
    ) -> Result<Converged, ConvergeError> {
        self.converge(desired, options, progress, true).await
    }

    /// Installs or upgrades under the release's Lease; with `keep_current`, leaves a latest
    /// revision that already is `desired` alone.
    async fn converge(
        &self,
        desired: DesiredRelease,
        options: &ActionOptions,
        progress: &dyn Progress,
        keep_current: bool,
    ) -> Result<Converged, ConvergeError> {
        let cx = self.context(&desired.namespace, &desired.name, progress);
        if options.create_namespace {
            cx.ensure_namespace().await?;
        }
        self.locked(&cx, options.timeout, async |cx, expired| {
            let history = cx.history().await?;
            match history.last() {
                Some(last) if keep_current && records::is_current(last, &desired) => {
                    Ok(Converged::Current(last.clone()))
                }
                None => cx.install(&desired, options).await.map(Converged::Wrote),
                Some(last) if last.info.status == Status::Uninstalled => {
                    cx.install(&desired, options).await.map(Converged::Wrote)
                }
                Some(_) => cx.upgrade(&desired, options, expired).await.map(Converged::Wrote),
            }
        })
        .await
    }

    /// Rolls back to `revision` (default: the one before the latest) as a new revision.
    pub async fn rollback(
        &self,
        namespace: &str,
        name: &str,
        revision: Option<i32>,
        options: &ActionOptions,
        progress: &dyn Progress,
    ) -> Result<ReleaseRecord, ConvergeError> {
        let cx = self.context(namespace, name, progress);
        self.locked(&cx, options.timeout, async |cx, expired| {
            cx.rollback(revision, options, expired).await
        })
        .await
    }

    /// Corrects the drift of the release's deployed revision (no new revision is written),
    /// holding its Lease; returns the revision and how many objects were written.
    pub async fn correct_drift(
        &self,
        namespace: &str,
        name: &str,
        rules: &[crate::plan::drift::IgnoreRule],
        timeout: std::time::Duration,
        progress: &dyn Progress,
    ) -> Result<(i32, usize), ConvergeError> {
        let cx = self.context(namespace, name, progress);
        self.locked(&cx, timeout, async |cx, _| cx.correct_drift(rules).await)
            .await
    }

    /// Uninstalls the release; the kept record with `keep_history`, otherwise `None`.
    pub async fn uninstall(
        &self,
        namespace: &str,
        name: &str,
        options: &UninstallOptions,
        progress: &dyn Progress,
    ) -> Result<Option<ReleaseRecord>, ConvergeError> {
        let cx = self.context(namespace, name, progress);
        self.locked_uninstall(&cx, options).await
    }
}

/// Errors of one parallel apply task.
enum ApplyError {
    Cluster(ClusterError),
    Ownership { object: String, reason: String },
}

impl From<ClusterError> for ApplyError {
    fn from(e: ClusterError) -> Self {
        ApplyError::Cluster(e)
    }
}

/// The object's reference for the cluster seam.
fn reference(resource: &Resource) -> ObjectRef {
    ObjectRef::new(
        &resource.api_version,
        &resource.kind,
        resource.namespace.as_deref(),
        &resource.name,
    )
}

/// A live object's kind is not always in a dynamic GET's body on every server; take the
/// manifest's.
fn with_kind(mut live: Json, resource: &Resource) -> Json {
    if live.get("kind").and_then(Json::as_str).is_none_or(str::is_empty) {
        live["kind"] = Json::String(resource.kind.clone());
    }
    live
}

/// helm's `checkOwnership`: an existing object must carry this release's label and annotations.
fn ownership_problem(live: &Json, release: &str, namespace: &str) -> Option<String> {
    let mut problems = Vec::new();
    let label = live["metadata"]["labels"][MANAGED_BY_LABEL].as_str();
    match label {
        Some("Helm") => {}
        Some(other) => problems.push(format!(
            "label validation error: key \"{MANAGED_BY_LABEL}\" must equal \"Helm\": current value is \"{other}\""
        )),
        None => problems.push(format!(
            "label validation error: missing key \"{MANAGED_BY_LABEL}\": must be set to \"Helm\""
        )),
    }
    for (key, want) in [
        (RELEASE_NAME_ANNOTATION, release),
        (RELEASE_NAMESPACE_ANNOTATION, namespace),
    ] {
        match live["metadata"]["annotations"][key].as_str() {
            Some(v) if v == want => {}
            Some(other) => problems.push(format!(
                "annotation validation error: key \"{key}\" must equal \"{want}\": current value is \"{other}\""
            )),
            None => problems.push(format!(
                "annotation validation error: missing key \"{key}\": must be set to \"{want}\""
            )),
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// What to do with an existing object the previous manifest did not have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ownership {
    /// helm's check: it must carry this release's ownership metadata.
    Check,
    /// `--take-ownership`: adopt it whatever it carries.
    Take,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one object's apply: what to send, how, and for which release"
)]
async fn apply_one(
    cluster: &Cluster,
    resource: &Resource,
    before: Option<&Resource>,
    method: ApplyMethod,
    force: bool,
    ownership: Ownership,
    release: &str,
    namespace: &str,
) -> Result<(), ApplyError> {
    let reference = reference(resource);
    let live = cluster.get(&reference).await?;
    let live = live.map(|o| serde_json::to_value(&o).unwrap_or(Json::Null));
    if before.is_none()
        && ownership == Ownership::Check
        && let Some(live) = &live
        && let Some(reason) = ownership_problem(live, release, namespace)
    {
        return Err(ApplyError::Ownership {
            object: resource.to_string(),
            reason,
        });
    }
    match method {
        ApplyMethod::ServerSide => {
            let options = ApplyOptions {
                field_manager: FIELD_MANAGER.to_string(),
                force,
                dry_run: false,
            };
            cluster.apply(&resource.object, &options).await?;
        }
        ApplyMethod::ClientSide => match &live {
            None => match cluster.create(&resource.object).await {
                Ok(_) => {}
                Err(ClusterError::AlreadyExists { .. }) => {
                    // A retried create that reached the server: patch it to the wanted state.
                    merge_patch(cluster, resource, &merge_diff(&Json::Null, &resource.object)).await?;
                }
                Err(e) => return Err(e.into()),
            },
            Some(_) => {
                let base = before.map(|b| b.object.clone()).unwrap_or(Json::Null);
                let mut base = base;
                if before.is_some() {
                    let mut owned = before.cloned().unwrap_or_else(|| resource.clone());
                    owned.set_ownership(release, namespace);
                    base = owned.object;
                }
                let patch = merge_diff(&base, &resource.object);
                if patch.as_object().is_some_and(|m| !m.is_empty()) {
                    merge_patch(cluster, resource, &patch).await?;
                }
            }
        },
    }
    Ok(())
}

/// Sends a JSON merge patch as the `helm` field manager (client-side, an Update operation).
async fn merge_patch(cluster: &Cluster, resource: &Resource, patch: &Json) -> Result<(), ClusterError> {
    let reference = reference(resource);
    let resource_type = cluster.resolve(&resource.api_version, &resource.kind).await?;
    let api = cluster.api(&resource_type, resource.namespace.as_deref());
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    let patch = Patch::Merge(patch);
    cluster
        .with_retries("patch", &reference, || api.patch(&resource.name, &params, &patch))
        .await
        .map(|_| ())
        .map_err(|source| ClusterError::request("patch", &reference, source))
}

/// RFC 7386 merge patch turning `from` into `to` (what helm's two-way JSON merge patch computes).
pub fn merge_diff(from: &Json, to: &Json) -> Json {
    match (from, to) {
        (Json::Object(a), Json::Object(b)) => {
            let mut patch = serde_json::Map::new();
            for (key, old) in a {
                match b.get(key) {
                    None => {
                        patch.insert(key.clone(), Json::Null);
                    }
                    Some(new) if new != old => {
                        patch.insert(key.clone(), merge_diff(old, new));
                    }
                    Some(_) => {}
                }
            }
            for (key, new) in b {
                if !a.contains_key(key) {
                    patch.insert(key.clone(), merge_diff(&Json::Null, new));
                }
            }
            Json::Object(patch)
        }
        (_, Json::Object(b)) => {
            // Everything new; nulls inside cannot be expressed and are dropped.
            Json::Object(
                b.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), merge_diff(&Json::Null, v)))
                    .collect(),
            )
        }
        (_, to) => to.clone(),
    }
}

/// The objects of a manifest by identity in a release of `namespace`.
pub(crate) fn by_key(resources: &[Resource], namespace: &str) -> HashMap<ObjectKey, Resource> {
    resources.iter().map(|r| (r.key(namespace), r.clone())).collect()
}

/// Polls a future, turning a panic inside it into an error carrying the panic's message.
struct CatchUnwind<F>(std::pin::Pin<Box<F>>);

impl<F: std::future::Future> std::future::Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: std::pin::Pin<&mut Self>, context: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(context))) {
            Ok(std::task::Poll::Ready(output)) => std::task::Poll::Ready(Ok(output)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| text.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "an unknown panic".to_string());
                std::task::Poll::Ready(Err(message))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_diff_is_rfc7386() {
        let from = json!({"a": 1, "b": {"c": 1, "d": 2}, "e": [1, 2], "gone": true});
        let to = json!({"a": 1, "b": {"c": 3, "d": 2}, "e": [1], "new": {"x": null, "y": 1}});
        assert_eq!(
            merge_diff(&from, &to),
            json!({"b": {"c": 3}, "e": [1], "gone": null, "new": {"y": 1}})
        );
        assert_eq!(merge_diff(&to, &to), json!({}));
    }

    #[test]
    fn ownership_problems_are_listed() {
        let owned = json!({"metadata": {"labels": {MANAGED_BY_LABEL: "Helm"},
            "annotations": {RELEASE_NAME_ANNOTATION: "web", RELEASE_NAMESPACE_ANNOTATION: "apps"}}});
        assert_eq!(ownership_problem(&owned, "web", "apps"), None);
        let other = ownership_problem(&owned, "api", "apps").unwrap();
        assert_eq!(
            other,
            "annotation validation error: key \"meta.helm.sh/release-name\" must equal \"api\": current value is \"web\""
        );
        let bare = ownership_problem(&json!({"metadata": {}}), "web", "apps").unwrap();
        assert!(bare.starts_with("label validation error: missing key"), "{bare}");
        assert_eq!(bare.matches("; ").count(), 2);
    }
}
