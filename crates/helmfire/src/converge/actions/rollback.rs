//! Rollback (helm's `pkg/action/rollback.go`): a new revision copying an earlier one's chart,
//! values, manifest and hooks. Never refused because of a pending revision — that is how a
//! stuck release is unstuck.

use super::super::hooks::Event;
use super::super::{ActionOptions, Step};
use super::Context;
use super::records;
use crate::converge::error::ConvergeError;
use crate::error::Chain;
use crate::storage::{ApplyMethod, ReleaseRecord, Status};

impl Context<'_> {
    /// Rolls back to `revision` (default: the one before the latest); the caller holds the Lease.
    /// A `pending-*` latest revision left by a process whose Lease expired (`expired_holder`)
    /// is recovered (marked failed) first; any other pending one is rolled back over, as helm
    /// does.
    pub async fn rollback(
        &self,
        revision: Option<i32>,
        options: &ActionOptions,
        expired_holder: Option<&str>,
    ) -> Result<ReleaseRecord, ConvergeError> {
        // 1. The latest revision and the target.
        let mut history = self.history().await?;
        if expired_holder.is_some() {
            self.recover_pending(&mut history, expired_holder).await?;
        }
        let Some(current) = history.last().cloned() else {
            return Err(ConvergeError::NotFound {
                release: self.release(),
            });
        };
        let target_version = match revision {
            Some(v) if v > 0 => v,
            _ => current.version - 1,
        };
        if target_version < 1 {
            return Err(ConvergeError::NoPreviousRevision {
                release: self.release(),
            });
        }
        let Some(target) = history.iter().find(|r| r.version == target_version).cloned() else {
            return Err(ConvergeError::RevisionNotFound {
                release: self.release(),
                revision: target_version,
            });
        };
        let method = match options.server_side {
            Some(true) => ApplyMethod::ServerSide,
            Some(false) => ApplyMethod::ClientSide,
            None => records::apply_method(&current),
        };

        // 2. The pending-rollback record, a copy of the target (created with pruning).
        let mut record = records::rollback_record(&target, &current, current.version + 1, method);
        let description = format!("Rollback to {target_version}");
        records::set_status(&mut record, Status::PendingRollback, &description);
        self.create_record_pruned(&record, options.history_max).await?;

        // 3–6. Any error from here ends in `failed`.
        match self.perform_rollback(&mut record, &current, method, options).await {
            Ok(()) => {
                // 7. Deployed; every other deployed revision superseded.
                self.step(Step::Recording);
                let result: Result<(), ConvergeError> = async {
                    for mut other in self.history().await? {
                        if other.version != record.version && other.info.status == Status::Deployed {
                            records::set_status_keep_description(&mut other, Status::Superseded);
                            self.update_record(&other).await?;
                        }
                    }
                    let description = options.description.clone().unwrap_or(description);
                    records::set_status(&mut record, Status::Deployed, &description);
                    self.update_record(&record).await
                }
                .await;
                match result {
                    Ok(()) => Ok(record),
                    Err(e) => Err(self.fail_rollback(record, e).await),
                }
            }
            Err(e) => Err(self.fail_rollback(record, e).await),
        }
    }

    async fn perform_rollback(
        &self,
        record: &mut ReleaseRecord,
        current: &ReleaseRecord,
        method: ApplyMethod,
        options: &ActionOptions,
    ) -> Result<(), ConvergeError> {
        // 3. pre-rollback hooks (the target's).
        if !options.disable_hooks {
            self.run_hooks(record, Event::PreRollback, method, options.timeout)
                .await?;
        }
        // 4. The target's resources over the latest revision's; what only the latest has goes.
        let resources = self.parse(&record.manifest, "manifest")?;
        let previous = self.parse(&current.manifest, "previous manifest")?;
        self.replace_resources(&resources, &previous, method, options).await?;
        // 5. Wait.
        if let Some(rules) = options.wait_rules() {
            self.wait(&resources, rules, options.timeout).await?;
        }
        // 6. post-rollback hooks.
        if !options.disable_hooks {
            self.run_hooks(record, Event::PostRollback, method, options.timeout)
                .await?;
        }
        Ok(())
    }

    async fn fail_rollback(&self, mut record: ReleaseRecord, error: ConvergeError) -> ConvergeError {
        let description = format!("Rollback \"{}\" failed: {}", self.name, Chain(&error));
        records::set_status(&mut record, Status::Failed, &description);
        let _ = self.update_record(&record).await;
        ConvergeError::Failed {
            release: self.release(),
            action: "rollback",
            source: Box::new(error),
        }
    }
}
