//! Drift correction: the live objects of a release's deployed revision made to match it again —
//! drifted fields re-applied (taking them back from the managers that changed them) and deleted
//! objects recreated. No new revision is written: the deployed record is still what the cluster
//! should hold, so `helm history` and `helm rollback` targets stay as they were (Flux corrects
//! drift the same way).
//!
//! A server-side release gets a forced apply of each drifted object's whole recorded form as
//! `helm` (a partial object would prune every other field helm owns); a client-side release
//! (helm 3) a merge patch of it as `helm` (deleted objects are created), keeping its ownership
//! client-side. Fields that ignore rules leave alone keep their live values.

use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use serde_json::Value as Json;

use super::Context;
use super::records;
use crate::cluster::{ApplyOptions, ObjectRef};
use crate::converge::error::ConvergeError;
use crate::converge::{FIELD_MANAGER, Step};
use crate::observe::live::{self, LiveState, ObservedObject};
use crate::plan::drift::{self, IgnoreRule, remove_pointer, set_pointer};
use crate::storage::ApplyMethod;

/// Requests in flight at once while reading a release's live objects for correction.
const CORRECTION_READS: usize = 8;

impl Context<'_> {
    /// Corrects the drift of the deployed revision; the caller holds the Lease. Returns the
    /// revision corrected and how many objects were written.
    pub async fn correct_drift(&self, rules: &[IgnoreRule]) -> Result<(i32, usize), ConvergeError> {
        let Some(record) = self
            .engine
            .store
            .deployed(self.namespace, self.name)
            .await
            .map_err(|e| self.storage_error(e))?
        else {
            return Err(ConvergeError::NoDeployedReleases {
                release: self.release(),
            });
        };
        let permits = Arc::new(tokio::sync::Semaphore::new(CORRECTION_READS));
        let observed = live::observe_release(self.cluster(), &record, permits, Default::default())
            .await
            .map_err(|source| ConvergeError::Observe {
                release: self.release(),
                source: Box::new(source),
            })?;
        let drifted: Vec<&ObservedObject> = observed
            .iter()
            .filter(|object| drift::object_drift(object, rules).is_some())
            .collect();
        let method = records::apply_method(&record);
        let total = drifted.len();
        for (done, object) in drifted.into_iter().enumerate() {
            self.step(Step::CorrectingDrift { done, total });
            let body = keep_ignored_live_values(object, rules);
            let reference = ObjectRef::new(
                &object.recorded.api_version,
                &object.recorded.kind,
                object.recorded.namespace.as_deref(),
                &object.recorded.name,
            );
            let result = match (method, &object.state) {
                (ApplyMethod::ClientSide, LiveState::Missing) => self.cluster().create(&body).await.map(drop),
                (ApplyMethod::ClientSide, LiveState::Present { .. }) => {
                    let params = PatchParams {
                        field_manager: Some(FIELD_MANAGER.to_string()),
                        ..PatchParams::default()
                    };
                    self.cluster()
                        .patch(&reference, &Patch::Merge(body), &params)
                        .await
                        .map(drop)
                }
                (_, _) => {
                    let options = ApplyOptions {
                        field_manager: FIELD_MANAGER.to_string(),
                        force: true,
                        dry_run: false,
                    };
                    self.cluster().apply(&body, &options).await.map(drop)
                }
            };
            result.map_err(|e| self.cluster_error(e))?;
        }
        self.step(Step::CorrectingDrift { done: total, total });
        Ok((record.version, total))
    }
}

/// The recorded object to send, with the live value (or its absence) at every pointer the
/// ignore rules keep.
fn keep_ignored_live_values(object: &ObservedObject, rules: &[IgnoreRule]) -> Json {
    let mut body = object.recorded.object.clone();
    let LiveState::Present { live, .. } = &object.state else {
        return body;
    };
    for pointer in drift::kept_by_rules(object, rules) {
        match live.pointer(&pointer) {
            Some(value) => set_pointer(&mut body, &pointer, value.clone()),
            None => remove_pointer(&mut body, &pointer),
        }
    }
    body
}
