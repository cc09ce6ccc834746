//! Install (helm's `pkg/action/install.go`): a new release, revision 1 (or latest+1 when the
//! name's latest revision is `uninstalled`).

use super::super::hooks::Event;
use super::super::{ActionOptions, DesiredRelease, Step};
use super::records::{self, new_record};
use super::{Context, by_key};
use crate::converge::error::ConvergeError;
use crate::error::Chain;
use crate::storage::{ApplyMethod, ReleaseRecord, Status};

impl Context<'_> {
    /// Installs `desired`; the caller holds the release's Lease.
    pub async fn install(
        &self,
        desired: &DesiredRelease,
        options: &ActionOptions,
    ) -> Result<ReleaseRecord, ConvergeError> {
        // 1. The name must be free: no history, or the latest revision uninstalled (then its
        //    revision number continues, as `helm upgrade --install` replaces it).
        let history = self.history().await?;
        let replaced = match history.last() {
            None => None,
            Some(last) if last.info.status == Status::Uninstalled => Some(last.clone()),
            Some(last) => {
                return Err(ConvergeError::NameInUse {
                    release: self.release(),
                    revision: last.version,
                    status: last.info.status.to_string(),
                });
            }
        };
        let version = replaced.as_ref().map_or(1, |r| r.version + 1);
        let method = match options.server_side {
            Some(false) => ApplyMethod::ClientSide,
            _ => ApplyMethod::ServerSide,
        };

        // The manifest must be objects before anything is recorded (helm's `Build`).
        self.parse(&desired.manifest, "manifest")?;

        // 2. The release namespace, when asked to create it.
        if options.create_namespace {
            self.ensure_namespace().await?;
        }

        // 3. The pending-install record.
        let mut record = new_record(desired, version, method, None);
        records::set_status(&mut record, Status::PendingInstall, "Initial install underway");
        self.create_record(&record).await?;
        if let Some(mut previous) = replaced {
            records::set_status_keep_description(&mut previous, Status::Superseded);
            previous.info.description = "superseded by new release".to_string();
            if let Err(e) = self.update_record(&previous).await {
                return Err(self.fail_install(record, e, options).await);
            }
        }

        // 4–8. Everything after the pending record: any error ends in `failed`.
        match self.perform_install(desired, &mut record, method, options).await {
            Ok(()) => {
                // 9. Deployed.
                self.step(Step::Recording);
                let description = options.description.as_deref().unwrap_or("Install complete");
                records::set_status(&mut record, Status::Deployed, description);
                match self.update_record(&record).await {
                    Ok(()) => Ok(record),
                    Err(e) => Err(self.fail_install(record, e, options).await),
                }
            }
            Err(e) => Err(self.fail_install(record, e, options).await),
        }
    }

    async fn perform_install(
        &self,
        desired: &DesiredRelease,
        record: &mut ReleaseRecord,
        method: ApplyMethod,
        options: &ActionOptions,
    ) -> Result<(), ConvergeError> {
        // 4. CRDs from crds/, established before anything uses them.
        if !options.skip_crds {
            self.install_crds(&desired.crds, options.skip_crd_update, options.timeout)
                .await?;
        }
        // 5. pre-install hooks.
        if !options.disable_hooks {
            self.run_hooks(record, Event::PreInstall, method, options.timeout)
                .await?;
        }
        // 6. The resources, with helm's ownership metadata; any existing object must already
        //    belong to this release.
        let resources = self.parse(&record.manifest, "manifest")?;
        let no_previous = by_key(&[], self.namespace);
        let sent = self
            .apply(
                &resources,
                method,
                &no_previous,
                options.force_conflicts,
                options.take_ownership,
            )
            .await?;
        // 7. Wait.
        if let Some(rules) = options.wait_rules() {
            self.wait(&sent, rules, options.timeout).await?;
        }
        // 8. post-install hooks.
        if !options.disable_hooks {
            self.run_hooks(record, Event::PostInstall, method, options.timeout)
                .await?;
        }
        Ok(())
    }

    /// Records the failure (`Release "<name>" failed: <err>`); with `atomic`, uninstalls.
    async fn fail_install(
        &self,
        mut record: ReleaseRecord,
        error: ConvergeError,
        options: &ActionOptions,
    ) -> ConvergeError {
        let description = format!("Release \"{}\" failed: {}", self.name, Chain(&error));
        records::set_status(&mut record, Status::Failed, &description);
        // If even this write fails the record stays pending until the Lease expires and the
        // next run recovers it.
        let _ = self.update_record(&record).await;
        if options.atomic {
            let uninstall = crate::converge::UninstallOptions {
                keep_history: false,
                disable_hooks: options.disable_hooks,
                wait: options.wait,
                timeout: options.timeout,
                description: None,
            };
            return match self.uninstall(&uninstall).await {
                Ok(_) => ConvergeError::Undone {
                    release: self.release(),
                    action: "install",
                    undone: "uninstalled",
                    source: Box::new(error),
                },
                Err(undo) => ConvergeError::UndoFailed {
                    release: self.release(),
                    action: "install",
                    undo_error: Box::new(undo),
                    source: Box::new(error),
                },
            };
        }
        ConvergeError::Failed {
            release: self.release(),
            action: "install",
            source: Box::new(error),
        }
    }
}
