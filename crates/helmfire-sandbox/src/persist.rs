//! `--data-dir` persistence, durable before acknowledging: every write is appended to a journal
//! (one JSON line per write) and fsynced before its answer leaves the sandbox, so a confirmed
//! write survives a SIGKILL. Concurrent requests share one fsync (group commit). When the
//! journal grows large, and at shutdown, the whole store is written as one snapshot (temporary
//! file, fsync, rename, fsync of the directory) and the journal emptied. Loading reads the
//! snapshot, then replays the journal records newer than it; a torn last line (a crash in the
//! middle of an append, never acknowledged) is dropped.
//!
//! The folder is locked (`lock`, an advisory `flock` released when the process dies): a second
//! sandbox on the same folder waits or is refused, instead of two processes overwriting each
//! other's snapshots.

use std::io::{Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use thiserror::Error;

use super::api;
use super::store::Store;

/// File name of the snapshot inside the data directory.
pub const SNAPSHOT: &str = "store.json";
/// File name of the journal of writes since the snapshot.
pub const JOURNAL: &str = "journal.ndjson";
/// File name of the folder lock.
pub const LOCK: &str = "lock";
/// Journal size after which a commit writes a snapshot and empties the journal.
const COMPACT_AFTER: u64 = 64 << 20;

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
    /// A journal line other than the last does not parse.
    #[error("the sandbox journal `{path}` is corrupt at line {line}")]
    CorruptJournal {
        /// The file.
        path: PathBuf,
        /// 1-based.
        line: usize,
    },
    /// Another process has the folder.
    #[error("the sandbox folder `{dir}` is in use by another process{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The folder.
        dir: PathBuf,
        /// The holder, as it wrote itself into the lock file.
        pid: Option<u32>,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PersistError + 'a {
    move |source| PersistError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Loads the snapshot and replays the journal into the store; a missing snapshot is an empty
/// store. A torn last journal line is cut off the file.
pub fn load(dir: &Path, store: &Store) -> Result<(), PersistError> {
    let path = dir.join(SNAPSHOT);
    let text = match std::fs::read(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("read", &path)(e)),
    };
    let mut state = store.lock();
    let mut snapshot_rv = 0;
    if let Some(text) = text {
        let snapshot: Value = serde_json::from_slice(&text).map_err(|source| PersistError::Corrupt {
            path: path.clone(),
            source,
        })?;
        for item in snapshot["objects"].as_array().into_iter().flatten() {
            let (Some(group), Some(resource)) = (item["group"].as_str(), item["resource"].as_str()) else {
                continue;
            };
            let object = item["object"].clone();
            let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
            let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
            state.restore((group.into(), resource.into()), namespace, name, object);
        }
        if let Some(rv) = snapshot["resourceVersion"].as_u64() {
            snapshot_rv = rv;
            state.restore_resource_version(rv);
        }
    }
    replay(dir, &mut state, snapshot_rv)?;
    // CRDs as they stand after the journal: created, changed or deleted since the snapshot.
    let crd_key = (
        "apiextensions.k8s.io".to_string(),
        "customresourcedefinitions".to_string(),
    );
    let crds: Vec<Value> = state.list(&crd_key, None).map(|(_, entry)| entry.value()).collect();
    for crd in crds {
        api::register_crd(&mut state, &crd);
    }
    Ok(())
}

/// Applies the journal's records newer than the snapshot (`after`).
fn replay(dir: &Path, state: &mut super::store::State, after: u64) -> Result<(), PersistError> {
    let path = dir.join(JOURNAL);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("read", &path)(e)),
    };
    let mut offset = 0;
    let mut line_number = 0;
    while offset < text.len() {
        line_number += 1;
        let (line, complete) = match text[offset..].iter().position(|&b| b == b'\n') {
            Some(end) => (&text[offset..offset + end], true),
            None => (&text[offset..], false),
        };
        let record: Option<Value> = serde_json::from_slice(line).ok();
        let Some(record) = record.filter(|_| complete) else {
            if complete && offset + line.len() + 1 < text.len() {
                return Err(PersistError::CorruptJournal {
                    path,
                    line: line_number,
                });
            }
            // The last line, cut short by a crash while it was written: it was never
            // acknowledged. Cut it off so that appends continue on a clean line.
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(io("open", &path))?;
            file.set_len(offset as u64).map_err(io("truncate", &path))?;
            file.sync_all().map_err(io("sync", &path))?;
            break;
        };
        offset += line.len() + 1;
        let rv = record["rv"].as_u64().unwrap_or(0);
        if rv <= after {
            continue;
        }
        let key = (
            record["group"].as_str().unwrap_or_default().to_string(),
            record["resource"].as_str().unwrap_or_default().to_string(),
        );
        let namespace = record["namespace"].as_str().unwrap_or_default();
        let name = record["name"].as_str().unwrap_or_default();
        match record["op"].as_str() {
            Some("put") => state.restore(key, namespace.to_string(), name.to_string(), record["object"].clone()),
            Some("delete") => state.forget(&key, namespace, name),
            _ => {
                return Err(PersistError::CorruptJournal {
                    path,
                    line: line_number,
                });
            }
        }
        state.restore_resource_version(rv);
    }
    Ok(())
}

/// The snapshot of everything the store holds.
fn snapshot(state: &super::store::State) -> Vec<u8> {
    let rv = state.resource_version();
    let mut objects: Vec<(String, String, Bytes)> = Vec::new();
    for ((group, resource), collection) in state.collections() {
        for entry in collection.values() {
            objects.push((group.clone(), resource.clone(), entry.json.clone()));
        }
    }
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
    body
}

/// The journal: appends the store's pending write records and fsyncs them.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    path: PathBuf,
    /// The open journal and its length; held while appending, so appends never interleave and
    /// a request that finds it taken waits for the fsync that covers its own write.
    file: std::sync::Mutex<(std::fs::File, u64)>,
}

impl Journal {
    /// Opens the journal of `dir` for appending (after [`load`] replayed it) and turns on the
    /// store's journal records.
    pub fn open(dir: &Path, store: &Store) -> Result<Journal, PersistError> {
        let path = dir.join(JOURNAL);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io("open", &path))?;
        let length = file.metadata().map_err(io("read", &path))?.len();
        store.lock().enable_journal();
        Ok(Journal {
            dir: dir.to_path_buf(),
            path,
            file: std::sync::Mutex::new((file, length)),
        })
    }

    /// Makes every write the store holds durable; returns once they are on disk. Writes other
    /// requests made meanwhile ride along (one fsync for all).
    pub fn commit(&self, store: &Store) -> Result<(), PersistError> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let records = store.lock().take_journal();
        if records.is_empty() {
            return Ok(());
        }
        let mut body = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum());
        for record in &records {
            body.extend_from_slice(record);
            body.push(b'\n');
        }
        let (handle, length) = &mut *file;
        let written = handle
            .write_all(&body)
            .map_err(io("append to", &self.path))
            .and_then(|()| handle.sync_data().map_err(io("sync", &self.path)));
        if let Err(error) = written {
            // Cut off whatever part reached the file; the records are written again next time.
            let _ = handle.set_len(*length);
            store.lock().restore_journal(records);
            return Err(error);
        }
        *length += body.len() as u64;
        if *length > COMPACT_AFTER {
            self.compact_locked(&mut file, store)?;
        }
        Ok(())
    }

    /// Writes a snapshot of the whole store and empties the journal (shutdown).
    pub fn compact(&self, store: &Store) -> Result<(), PersistError> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        self.compact_locked(&mut file, store)
    }

    fn compact_locked(&self, file: &mut (std::fs::File, u64), store: &Store) -> Result<(), PersistError> {
        // The snapshot holds every write so far, pending records included.
        let body = {
            let mut state = store.lock();
            state.take_journal();
            snapshot(&state)
        };
        write_atomically(&self.dir, SNAPSHOT, &body)?;
        // A crash before this truncation leaves records the snapshot already holds; replay
        // skips them by resourceVersion.
        let (handle, length) = file;
        handle.set_len(0).map_err(io("truncate", &self.path))?;
        handle.rewind().map_err(io("truncate", &self.path))?;
        handle.sync_all().map_err(io("sync", &self.path))?;
        *length = 0;
        Ok(())
    }
}

/// The folder lock, held for as long as it lives (the OS lets go of it when the process dies).
#[derive(Debug)]
pub struct DirLock {
    _file: std::fs::File,
}

/// Locks `dir` for this process; when another holds it, waits up to `wait` (`None`: refuse at
/// once) with [`PersistError::Locked`] naming the holder's pid.
pub fn lock(dir: &Path, wait: Option<Duration>) -> Result<DirLock, PersistError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let path = dir.join(LOCK);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io("open", &path))?;
    let deadline = wait.map(|wait| std::time::Instant::now() + wait);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                if deadline.is_none_or(|deadline| std::time::Instant::now() >= deadline) {
                    let pid = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|text| text.trim().parse().ok());
                    return Err(PersistError::Locked {
                        dir: dir.to_path_buf(),
                        pid,
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &path)(e)),
        }
    }
    // Who holds it, for the next process's message.
    let _ = file.set_len(0);
    let _ = file.write_all(format!("{}\n", std::process::id()).as_bytes());
    let _ = file.sync_data();
    Ok(DirLock { _file: file })
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

    fn put(store: &Store, name: &str) {
        store.lock().put(
            &(String::new(), "configmaps".into()),
            "default",
            name,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}}),
        );
    }

    fn names(store: &Store) -> Vec<String> {
        store
            .lock()
            .list(&(String::new(), "configmaps".into()), None)
            .map(|((_, name), _)| name.clone())
            .collect()
    }

    #[test]
    fn committed_writes_come_back_from_the_journal_and_the_snapshot() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::new();
        load(dir.path(), &store).expect("an empty folder loads");
        let journal = Journal::open(dir.path(), &store).expect("journal");
        put(&store, "a");
        put(&store, "b");
        journal.commit(&store).expect("commit");
        store
            .lock()
            .remove(&(String::new(), "configmaps".into()), "default", "a");
        journal.commit(&store).expect("commit");
        let rv = store.lock().resource_version();
        // "Killed" here: no snapshot, only the journal.
        let restored = Store::new();
        load(dir.path(), &restored).expect("loads");
        assert_eq!(names(&restored), ["b"]);
        assert_eq!(restored.lock().resource_version(), rv);
        // A compaction folds the journal into the snapshot.
        journal.compact(&store).expect("compacts");
        assert_eq!(std::fs::metadata(dir.path().join(JOURNAL)).unwrap().len(), 0);
        put(&store, "c");
        journal.commit(&store).expect("commit");
        let restored = Store::new();
        load(dir.path(), &restored).expect("loads");
        assert_eq!(names(&restored), ["b", "c"]);
        assert_eq!(restored.lock().resource_version(), store.lock().resource_version());
    }

    #[test]
    fn a_torn_last_journal_line_is_dropped_and_a_torn_middle_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::new();
        let journal = Journal::open(dir.path(), &store).expect("journal");
        put(&store, "a");
        journal.commit(&store).expect("commit");
        let path = dir.path().join(JOURNAL);
        let mut text = std::fs::read(&path).unwrap();
        let intact = text.len();
        text.extend_from_slice(b"{\"rv\":999,\"op\":\"put\",\"gro");
        std::fs::write(&path, &text).unwrap();
        let restored = Store::new();
        load(dir.path(), &restored).expect("a torn tail is not an error");
        assert_eq!(names(&restored), ["a"]);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, intact, "cut off");
        let mut text = b"{torn\n".to_vec();
        text.extend_from_slice(&std::fs::read(&path).unwrap());
        std::fs::write(&path, &text).unwrap();
        assert!(matches!(
            load(dir.path(), &Store::new()),
            Err(PersistError::CorruptJournal { line: 1, .. })
        ));
    }

    #[test]
    fn a_second_process_is_refused_or_waits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let held = lock(dir.path(), None).expect("first lock");
        match lock(dir.path(), None) {
            Err(PersistError::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        let started = std::time::Instant::now();
        let waiter = std::thread::spawn({
            let dir = dir.path().to_path_buf();
            move || lock(&dir, Some(Duration::from_secs(30))).map(|_| ())
        });
        std::thread::sleep(Duration::from_millis(200));
        drop(held);
        waiter.join().unwrap().expect("got it once the first let go");
        assert!(started.elapsed() < Duration::from_secs(10));
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
