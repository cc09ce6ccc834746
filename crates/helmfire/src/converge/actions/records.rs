//! Building and changing release records for the actions; the one place that knows the
//! record's fields beyond status and description.

use super::super::DesiredRelease;
use crate::storage::{ApplyMethod, HookExecution, ReleaseRecord, SYSTEM_LABELS, Status, Timestamp, hook_record};

/// A new revision of `desired` (status set by the caller). `current` supplies first_deployed
/// and the custom labels on upgrade.
pub fn new_record(
    desired: &DesiredRelease,
    version: i32,
    method: ApplyMethod,
    current: Option<&ReleaseRecord>,
) -> ReleaseRecord {
    let mut record = ReleaseRecord::new(
        &desired.name,
        &desired.namespace,
        version,
        &desired.chart,
        &desired.config,
    );
    if let Some(current) = current {
        if current.info.first_deployed.is_some() {
            record.info.first_deployed = current.info.first_deployed.clone();
        }
        record.labels = custom_labels(current);
    }
    record.info.notes = desired.notes.clone().unwrap_or_default();
    record.manifest = desired.manifest.clone();
    record.hooks = desired.hooks.iter().map(hook_record).collect();
    record.apply_method = Some(method);
    record
}

/// A record's labels without helm's system labels.
fn custom_labels(record: &ReleaseRecord) -> std::collections::BTreeMap<String, String> {
    let mut labels = record.labels.clone();
    labels.retain(|key, _| !SYSTEM_LABELS.contains(&key.as_str()));
    labels
}

/// A rollback revision: the target's chart, values, manifest, hooks, notes and labels.
pub fn rollback_record(
    target: &ReleaseRecord,
    current: &ReleaseRecord,
    version: i32,
    method: ApplyMethod,
) -> ReleaseRecord {
    let mut record = target.clone();
    record.version = version;
    record.labels = custom_labels(target);
    record.info.first_deployed = current.info.first_deployed.clone();
    record.info.last_deployed = Some(Timestamp::now());
    record.info.deleted = None;
    record.apply_method = Some(method);
    for hook in &mut record.hooks {
        hook.last_run = HookExecution::default();
    }
    record
}

/// Sets status and description.
pub fn set_status(record: &mut ReleaseRecord, status: Status, description: &str) {
    record.info.status = status;
    record.info.description = description.to_string();
}

/// Sets the status only (helm keeps the description of a superseded revision).
pub fn set_status_keep_description(record: &mut ReleaseRecord, status: Status) {
    record.info.status = status;
}

/// Uninstall's `deleted` time.
pub fn mark_deleted(record: &mut ReleaseRecord) {
    record.info.deleted = Some(Timestamp::now());
}

/// How the revision was applied; none recorded means client-side (helm 3).
pub fn apply_method(record: &ReleaseRecord) -> ApplyMethod {
    record.apply_method.unwrap_or(ApplyMethod::ClientSide)
}

/// A hook starts: `{started_at: now, phase: Running}` (stored), then `Unknown` while it runs.
pub fn hook_started(run: &mut HookExecution) {
    *run = HookExecution {
        started_at: Some(Timestamp::now()),
        completed_at: None,
        phase: "Running".to_string(),
    };
}

/// A hook ends with `phase` (`Succeeded` or `Failed`).
pub fn hook_finished(run: &mut HookExecution, phase: &str) {
    run.completed_at = Some(Timestamp::now());
    run.phase = phase.to_string();
}

/// Whether the deployed `record` already is `desired`: the same chart, values, manifest and
/// hooks (what a new revision would carry, its number and times aside).
pub fn is_current(record: &ReleaseRecord, desired: &DesiredRelease) -> bool {
    let wanted = new_record(desired, record.version, apply_method(record), Some(record));
    let hooks = |r: &ReleaseRecord| -> Vec<(String, String)> {
        r.hooks.iter().map(|h| (h.path.clone(), h.manifest.clone())).collect()
    };
    record.info.status == Status::Deployed
        && record.manifest == wanted.manifest
        && record.config == wanted.config
        && record.chart.name_version() == wanted.chart.name_version()
        && hooks(record) == hooks(&wanted)
}
