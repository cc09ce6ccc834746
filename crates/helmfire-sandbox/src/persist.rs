//! `--data-dir` persistence: the whole store as one JSON snapshot, written atomically (temporary
//! file, fsync, rename, fsync of the directory) so a crash leaves either the old or the new
//! snapshot, never a torn one. Loading restores objects, the resourceVersion counter and CRDs.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::Value;
use thiserror::Error;

use super::api;
use super::store::Store;

/// File name of the snapshot inside the data directory.
pub const SNAPSHOT: &str = "store.json";

/// Persistence failures.
#[derive(Debug, Error)]
pub enum PersistError {
    /// Reading or writing a file failed.
    #[error("failed to {action} `{path}`")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The snapshot is not what this version writes.
    #[error("the sandbox snapshot `{path}` is corrupt")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PersistError + 'a {
    move |source| PersistError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Loads a snapshot into the store; a missing snapshot is an empty store.
pub fn load(dir: &Path, store: &Store) -> Result<(), PersistError> {
    let path = dir.join(SNAPSHOT);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("read", &path)(e)),
    };
    let snapshot: Value = serde_json::from_slice(&text).map_err(|source| PersistError::Corrupt {
        path: path.clone(),
        source,
    })?;
    let mut state = store.lock();
    let mut crds = Vec::new();
    for item in snapshot["objects"].as_array().into_iter().flatten() {
        let (Some(group), Some(resource)) = (item["group"].as_str(), item["resource"].as_str()) else {
            continue;
        };
        let object = item["object"].clone();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        if group == "apiextensions.k8s.io" && resource == "customresourcedefinitions" {
            crds.push(object.clone());
        }
        state.restore((group.into(), resource.into()), namespace, name, object);
    }
    for crd in crds {
        api::register_crd(&mut state, &crd);
    }
    if let Some(rv) = snapshot["resourceVersion"].as_u64() {
        state.restore_resource_version(rv);
    }
    state.dirty = false;
    Ok(())
}

/// Writes a snapshot if anything changed since the last one.
pub fn save(dir: &Path, store: &Store) -> Result<(), PersistError> {
    let (rv, objects) = {
        let mut state = store.lock();
        if !state.dirty {
            return Ok(());
        }
        state.dirty = false;
        let mut objects: Vec<(String, String, Bytes)> = Vec::new();
        for ((group, resource), collection) in state.collections() {
            for entry in collection.values() {
                objects.push((group.clone(), resource.clone(), entry.json.clone()));
            }
        }
        (state.resource_version(), objects)
    };
    let mut body = Vec::with_capacity(objects.iter().map(|o| o.2.len() + 64).sum::<usize>() + 64);
    body.extend_from_slice(format!("{{\"resourceVersion\":{rv},\"objects\":[").as_bytes());
    for (i, (group, resource, json)) in objects.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(b",\n");
        }
        let head = serde_json::json!({"group": group, "resource": resource}).to_string();
        body.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
        body.extend_from_slice(b",\"object\":");
        body.extend_from_slice(json);
        body.push(b'}');
    }
    body.extend_from_slice(b"]}\n");
    write_atomically(dir, SNAPSHOT, &body).inspect_err(|_| {
        // Retry on the next flush.
        store.lock().dirty = true;
    })
}

/// Writes `name` in `dir` so readers see the old or the new content, never a mix.
pub fn write_atomically(dir: &Path, name: &str, body: &[u8]) -> Result<(), PersistError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let target = dir.join(name);
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&temporary).map_err(io("create", &temporary))?;
    file.write_all(body).map_err(io("write", &temporary))?;
    file.sync_all().map_err(io("sync", &temporary))?;
    drop(file);
    std::fs::rename(&temporary, &target).map_err(io("rename into", &target))?;
    if let Ok(directory) = std::fs::File::open(dir) {
        // Directory fsync makes the rename durable; not every filesystem supports it.
        let _ = directory.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_objects_and_counter() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::new();
        {
            let mut state = store.lock();
            state.put(
                &(String::new(), "configmaps".into()),
                "default",
                "a",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}}),
            );
        }
        save(dir.path(), &store).expect("saves");
        let rv = store.lock().resource_version();
        let restored = Store::new();
        load(dir.path(), &restored).expect("loads");
        let state = restored.lock();
        assert_eq!(state.resource_version(), rv);
        assert!(
            state
                .get(&(String::new(), "configmaps".into()), "default", "a")
                .is_some()
        );
    }

    #[test]
    fn a_corrupt_snapshot_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(SNAPSHOT), b"{torn").expect("writes");
        assert!(matches!(
            load(dir.path(), &Store::new()),
            Err(PersistError::Corrupt { .. })
        ));
    }
}
