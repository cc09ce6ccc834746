//! Uninstall (helm's `pkg/action/uninstall.go`): delete hooks around deleting the release's
//! resources in uninstall order; then the records are purged, or kept as `uninstalled`.

use super::super::hooks::Event;
use super::super::{Step, UninstallOptions};
use super::Context;
use super::records;
use crate::converge::error::ConvergeError;
use crate::error::Chain;
use crate::manifest::sort_for_uninstall;
use crate::storage::{ReleaseRecord, Status};

impl Context<'_> {
    /// Uninstalls the release; the caller holds the Lease. Returns the kept record with
    /// `keep_history`, `None` when the records were purged.
    pub async fn uninstall(&self, options: &UninstallOptions) -> Result<Option<ReleaseRecord>, ConvergeError> {
        // 1. The latest revision. Already uninstalled: only purge (or nothing to do).
        let history = self.history().await?;
        let Some(mut record) = history.last().cloned() else {
            return Err(ConvergeError::NotFound {
                release: self.release(),
            });
        };
        if record.info.status == Status::Uninstalled {
            if options.keep_history {
                return Ok(Some(record));
            }
            self.purge(&history).await?;
            return Ok(None);
        }

        // 2. Mark it uninstalling.
        records::set_status(
            &mut record,
            Status::Uninstalling,
            "Deletion in progress (or silently failed)",
        );
        records::mark_deleted(&mut record);
        self.update_record(&record).await?;

        // 3–5. Hooks and deletion; a failure is recorded on the revision.
        let method = records::apply_method(&record);
        let result: Result<(), ConvergeError> = async {
            // 3. pre-delete hooks.
            if !options.disable_hooks {
                self.run_hooks(&mut record, Event::PreDelete, method, options.timeout)
                    .await?;
            }
            // 4. The resources, in uninstall order, except those the manifest keeps.
            let mut resources = self.parse(&record.manifest, "manifest")?;
            resources.retain(|r| !r.keep_policy());
            sort_for_uninstall(&mut resources);
            let deleted = self.delete(&resources, false).await?;
            if options.wait {
                self.wait_deleted(&deleted, options.timeout).await?;
            }
            // 5. post-delete hooks.
            if !options.disable_hooks {
                self.run_hooks(&mut record, Event::PostDelete, method, options.timeout)
                    .await?;
            }
            Ok(())
        }
        .await;
        if let Err(error) = result {
            // Recorded as failed (helm leaves `uninstalling`): a failed release can be upgraded
            // or uninstalled again.
            let description = format!("Uninstall \"{}\" failed: {}", self.name, Chain(&error));
            records::set_status(&mut record, Status::Failed, &description);
            let _ = self.update_record(&record).await;
            return Err(ConvergeError::Failed {
                release: self.release(),
                action: "uninstall",
                source: Box::new(error),
            });
        }

        // 6. Purge the history, or keep it with this revision uninstalled.
        self.step(Step::Recording);
        if !options.keep_history {
            self.purge(&self.history().await?).await?;
            return Ok(None);
        }
        for mut other in self.history().await? {
            if other.version != record.version && other.info.status == Status::Deployed {
                records::set_status_keep_description(&mut other, Status::Superseded);
                self.update_record(&other).await?;
            }
        }
        let description = options
            .description
            .clone()
            .unwrap_or_else(|| "Uninstallation complete".to_string());
        records::set_status(&mut record, Status::Uninstalled, &description);
        self.update_record(&record).await?;
        Ok(Some(record))
    }

    async fn purge(&self, history: &[ReleaseRecord]) -> Result<(), ConvergeError> {
        for record in history {
            self.engine
                .store
                .delete(self.namespace, self.name, record.version)
                .await
                .map_err(|e| self.storage_error(e))?;
        }
        Ok(())
    }
}
