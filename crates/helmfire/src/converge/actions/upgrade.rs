//! Upgrade (helm's `pkg/action/upgrade.go`): a new revision from the current one, resources
//! removed from the chart deleted, the previous deployed revision superseded.

use std::collections::HashSet;

use super::super::hooks::Event;
use super::super::{ActionOptions, DesiredRelease, Step};
use super::records::{self, new_record};
use super::{Context, by_key};
use crate::converge::error::ConvergeError;
use crate::error::Chain;
use crate::manifest::{Resource, sort_for_uninstall};
use crate::storage::{ApplyMethod, ReleaseRecord, Status};

impl Context<'_> {
    /// Upgrades the release to `desired`; the caller holds the release's Lease.
    /// `expired_holder` names the process whose Lease had expired when it was taken: a
    /// `pending-*` latest revision was left by it and is recovered.
    pub async fn upgrade(
        &self,
        desired: &DesiredRelease,
        options: &ActionOptions,
        expired_holder: Option<&str>,
    ) -> Result<ReleaseRecord, ConvergeError> {
        // 1. The latest revision; a pending one is either recovered or refused (helm's errPending).
        let mut history = self.history().await?;
        self.recover_pending(&mut history, expired_holder).await?;
        let Some(last) = history.last().cloned() else {
            return Err(ConvergeError::NotFound {
                release: self.release(),
            });
        };

        // 2. The current revision: the latest if deployed, else the newest deployed, else the
        //    latest if it failed or was superseded.
        let current = if last.info.status == Status::Deployed {
            last.clone()
        } else if let Some(deployed) = history.iter().rev().find(|r| r.info.status == Status::Deployed) {
            deployed.clone()
        } else if matches!(last.info.status, Status::Failed | Status::Superseded) {
            last.clone()
        } else {
            return Err(ConvergeError::NoDeployedReleases {
                release: self.release(),
            });
        };

        // 3. The apply method: asked for, else the current revision's (helm's `auto`).
        let method = match options.server_side {
            Some(true) => ApplyMethod::ServerSide,
            Some(false) => ApplyMethod::ClientSide,
            None => records::apply_method(&current),
        };

        // The current objects, read before anything is recorded (a bad stored manifest must not
        // leave a pending revision behind).
        let previous = self.parse(&current.manifest, "previous manifest")?;
        self.parse(&desired.manifest, "manifest")?;

        // 4. The pending-upgrade record (created with pruning to history_max).
        let mut record = new_record(desired, last.version + 1, method, Some(&current));
        records::set_status(&mut record, Status::PendingUpgrade, "Preparing upgrade");
        self.create_record_pruned(&record, options.history_max).await?;

        // 5–9. Any error from here ends in `failed`.
        match self
            .perform_upgrade(desired, &mut record, &previous, method, options)
            .await
        {
            Ok(()) => {
                // 10. The old revision superseded, the new one deployed.
                self.step(Step::Recording);
                let mut old = current.clone();
                if old.info.status == Status::Deployed {
                    records::set_status_keep_description(&mut old, Status::Superseded);
                    if let Err(e) = self.update_record(&old).await {
                        return Err(self.fail_upgrade(record, &current, &previous, e, options).await);
                    }
                }
                let description = options.description.as_deref().unwrap_or("Upgrade complete");
                records::set_status(&mut record, Status::Deployed, description);
                match self.update_record(&record).await {
                    Ok(()) => Ok(record),
                    Err(e) => Err(self.fail_upgrade(record, &current, &previous, e, options).await),
                }
            }
            Err(e) => Err(self.fail_upgrade(record, &current, &previous, e, options).await),
        }
    }

    async fn perform_upgrade(
        &self,
        desired: &DesiredRelease,
        record: &mut ReleaseRecord,
        previous: &[Resource],
        method: ApplyMethod,
        options: &ActionOptions,
    ) -> Result<(), ConvergeError> {
        // 5. CRDs from crds/: created when missing, updated unless `skip_crd_update`.
        if !options.skip_crds {
            self.install_crds(&desired.crds, options.skip_crd_update, options.timeout)
                .await?;
        }
        // 6. pre-upgrade hooks.
        if !options.disable_hooks {
            self.run_hooks(record, Event::PreUpgrade, method, options.timeout)
                .await?;
        }
        // 7. Apply the new manifest, then delete what it no longer has.
        let resources = self.parse(&record.manifest, "manifest")?;
        self.replace_resources(&resources, previous, method, options).await?;
        // 8. Wait.
        if let Some(rules) = options.wait_rules() {
            self.wait(&resources, rules, options.timeout).await?;
        }
        // 9. post-upgrade hooks.
        if !options.disable_hooks {
            self.run_hooks(record, Event::PostUpgrade, method, options.timeout)
                .await?;
        }
        Ok(())
    }

    /// Applies `resources` over `previous` and deletes the objects only `previous` has
    /// (unless the live object says `helm.sh/resource-policy: keep`). Shared with rollback.
    pub async fn replace_resources(
        &self,
        resources: &[Resource],
        previous: &[Resource],
        method: ApplyMethod,
        options: &ActionOptions,
    ) -> Result<(), ConvergeError> {
        let before = by_key(previous, self.namespace);
        self.apply(
            resources,
            method,
            &before,
            options.force_conflicts,
            options.take_ownership,
        )
        .await?;
        let wanted: HashSet<_> = by_key(resources, self.namespace).into_keys().collect();
        let mut removed: Vec<Resource> = previous
            .iter()
            .filter(|r| !wanted.contains(&r.key(self.namespace)))
            .cloned()
            .collect();
        sort_for_uninstall(&mut removed);
        if !removed.is_empty() {
            self.delete(&removed, true).await?;
        }
        Ok(())
    }

    /// Records the failure (`Upgrade "<name>" failed: <err>`); `cleanup_on_fail` deletes the
    /// objects this upgrade created; `atomic` rolls back to the current revision.
    async fn fail_upgrade(
        &self,
        mut record: ReleaseRecord,
        current: &ReleaseRecord,
        previous: &[Resource],
        error: ConvergeError,
        options: &ActionOptions,
    ) -> ConvergeError {
        let description = format!("Upgrade \"{}\" failed: {}", self.name, Chain(&error));
        records::set_status(&mut record, Status::Failed, &description);
        let _ = self.update_record(&record).await;
        if options.cleanup_on_fail
            && let Ok(resources) = self.parse(&record.manifest, "manifest")
        {
            let before: HashSet<_> = by_key(previous, self.namespace).into_keys().collect();
            let mut created: Vec<Resource> = by_key(&resources, self.namespace)
                .into_iter()
                .filter(|(k, _)| !before.contains(k))
                .map(|(_, r)| r)
                .collect();
            sort_for_uninstall(&mut created);
            let _ = self.delete(&created, false).await;
        }
        if options.atomic {
            self.step(Step::RollingBack {
                revision: current.version,
            });
            return match self.rollback(Some(current.version), options, None).await {
                Ok(_) => ConvergeError::Undone {
                    release: self.release(),
                    action: "upgrade",
                    undone: "rolled back",
                    source: Box::new(error),
                },
                Err(undo) => ConvergeError::UndoFailed {
                    release: self.release(),
                    action: "upgrade",
                    undo_error: Box::new(undo),
                    source: Box::new(error),
                },
            };
        }
        ConvergeError::Failed {
            release: self.release(),
            action: "upgrade",
            source: Box::new(error),
        }
    }

    /// A `pending-*` latest revision: recovered (marked failed, saying why) when its process's
    /// Lease had expired, otherwise helm's "another operation is in progress".
    pub async fn recover_pending(
        &self,
        history: &mut [ReleaseRecord],
        expired_holder: Option<&str>,
    ) -> Result<(), ConvergeError> {
        let Some(last) = history.last_mut() else {
            return Ok(());
        };
        if !last.info.status.is_pending() {
            return Ok(());
        }
        let Some(holder) = expired_holder else {
            return Err(ConvergeError::Pending {
                release: self.release(),
                name: self.name.to_string(),
                revision: last.version,
                status: last.info.status.to_string(),
            });
        };
        let status = last.info.status.to_string();
        let description = format!(
            "Recovered by helmfire: the {status} operation of `{holder}` was interrupted (its Lease expired); marked failed"
        );
        records::set_status(last, Status::Failed, &description);
        self.update_record(last).await?;
        self.step(Step::Recovered {
            revision: last.version,
            status,
            holder: holder.to_string(),
        });
        Ok(())
    }

    /// After a panic inside an action: the latest revision, if it is pending, is marked failed
    /// (never left `pending-*`). Errors here are secondary to the panic being reported.
    pub async fn fail_pending(&self, message: &str) {
        let Ok(Some(mut last)) = self.engine.store.last(self.namespace, self.name).await else {
            return;
        };
        if last.info.status.is_pending() {
            let description = format!("helmfire failed unexpectedly ({message}); marked failed");
            records::set_status(&mut last, Status::Failed, &description);
            let _ = self.update_record(&last).await;
        }
    }
}
