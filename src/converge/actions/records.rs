//! Building and changing release records for the actions; the one place that knows the
//! record's fields beyond status and description.

use super::super::DesiredRelease;
use crate::storage::{ApplyMethod, ChartRecord, HookRecord, ReleaseRecord, Status, Time};

/// A new revision of `desired` (status set by the caller). `current` supplies first_deployed
/// and the custom labels on upgrade.
pub fn new_record(
    desired: &DesiredRelease,
    version: i32,
    method: ApplyMethod,
    current: Option<&ReleaseRecord>,
) -> ReleaseRecord {
    let now = Time::now();
    let mut record = ReleaseRecord::new(&desired.name, &desired.namespace, version);
    record.info.first_deployed = current.map_or(now.clone(), |c| c.info.first_deployed.clone());
    record.info.last_deployed = now;
    record.info.notes = desired.notes.clone().unwrap_or_default();
    record.chart = ChartRecord::from_chart(&desired.chart);
    record.config = crate::storage::config_from_values(&desired.config);
    record.manifest = desired.manifest.clone();
    record.hooks = desired.hooks.iter().map(HookRecord::from_hook).collect();
    record.apply_method = Some(method);
    if let Some(current) = current {
        record.labels = current.labels.clone();
    }
    record
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
    record.info.first_deployed = current.info.first_deployed.clone();
    record.info.last_deployed = Time::now();
    record.info.deleted = None;
    record.apply_method = Some(method);
    for hook in &mut record.hooks {
        hook.last_run = Default::default();
    }
    record
}

/// Sets status and description, and `last_deployed` for the states that deploy.
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
    record.info.deleted = Some(Time::now());
}

/// How the revision was applied; none recorded means client-side (helm 3).
pub fn apply_method(record: &ReleaseRecord) -> ApplyMethod {
    record.apply_method.unwrap_or(ApplyMethod::ClientSide)
}
