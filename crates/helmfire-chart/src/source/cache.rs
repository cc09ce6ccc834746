//! The on-disk cache of chart sources: chart archives content-addressed by sha256
//! (`charts/sha256/<hex>.tgz`) and repository indexes with their HTTP validators
//! (`indexes/<sha256 of URL>/`). Every write goes to a temporary file in the same directory
//! and is renamed into place, so readers never see half a file and an error leaves nothing
//! behind; index refreshes hold an exclusive file lock so parallel helmfire processes fetch
//! an index once and never interleave writes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A cache I/O failure, with the path.
#[derive(Debug, thiserror::Error)]
#[error("cache file `{}` cannot be {action}", path.display())]
pub struct CacheError {
    pub path: PathBuf,
    pub action: &'static str,
    #[source]
    pub source: std::io::Error,
}

/// Lowercase hex sha256.
pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// True for 64 lowercase hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// HTTP validators of a cached index.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IndexMeta {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The cache root and its layout.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    /// `$HELMFIRE_CACHE_DIR`, else `$XDG_CACHE_HOME/helmfire`, else `~/.cache/helmfire`.
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("HELMFIRE_CACHE_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("helmfire");
        }
        let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
        home.join(".cache").join("helmfire")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the archive with this sha256 lives (whether or not it is there).
    pub fn chart_path(&self, digest_hex: &str) -> PathBuf {
        self.root
            .join("charts")
            .join("sha256")
            .join(format!("{digest_hex}.tgz"))
    }

    /// The cached archive with this digest, if present and intact. The content is re-hashed:
    /// writes are not fsynced (a crash can leave a short file behind the atomic rename), so a
    /// damaged entry is removed and reported as absent rather than trusted.
    pub fn chart(&self, digest_hex: &str) -> Option<PathBuf> {
        if !is_sha256_hex(digest_hex) {
            return None;
        }
        let path = self.chart_path(digest_hex);
        let data = std::fs::read(&path).ok()?;
        if sha256_hex(&data) != digest_hex {
            let _ = std::fs::remove_file(&path);
            return None;
        }
        Some(path)
    }

    /// Stores verified archive bytes under their digest; returns the path.
    pub fn put_chart(&self, digest_hex: &str, data: &[u8]) -> Result<PathBuf, CacheError> {
        let path = self.chart_path(digest_hex);
        if self.chart(digest_hex).is_some() {
            return Ok(path);
        }
        write_atomic(&path, data)?;
        Ok(path)
    }

    fn index_dir(&self, url: &str) -> PathBuf {
        self.root.join("indexes").join(&sha256_hex(url.as_bytes())[..32])
    }

    /// The cached body of the index at `url` and its validators.
    pub fn index(&self, url: &str) -> Option<(Vec<u8>, IndexMeta)> {
        let dir = self.index_dir(url);
        let meta: IndexMeta = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).ok()?).ok()?;
        if meta.url != url {
            return None;
        }
        let body = std::fs::read(dir.join("index")).ok()?;
        Some((body, meta))
    }

    /// A decoded form of the index body with this sha256, if one was stored.
    pub fn decoded_index(&self, url: &str, body_digest: &str) -> Option<Vec<u8>> {
        std::fs::read(self.index_dir(url).join(format!("decoded-{body_digest}.json"))).ok()
    }

    /// Stores the index body, then its validators (a reader that finds the new meta finds the
    /// new body).
    pub fn put_index(&self, body: &[u8], meta: &IndexMeta) -> Result<(), CacheError> {
        let dir = self.index_dir(&meta.url);
        write_atomic(&dir.join("index"), body)?;
        let json = serde_json::to_vec(meta).unwrap_or_default();
        write_atomic(&dir.join("meta.json"), &json)
    }

    /// Stores the decoded index (a fast-to-read JSON form) for the body with this digest,
    /// removing decoded forms of older bodies.
    pub fn put_decoded_index(&self, url: &str, body_digest: &str, decoded: &[u8]) -> Result<(), CacheError> {
        let dir = self.index_dir(url);
        let name = format!("decoded-{body_digest}.json");
        write_atomic(&dir.join(&name), decoded)?;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let n = entry.file_name().to_string_lossy().into_owned();
                if n.starts_with("decoded-") && n != name {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// What an OCI reference (`oci://…@<tag, digest or constraint>`) last resolved to:
    /// `(version, archive digest)`. Lets `--offline` work for registry charts.
    pub fn reference(&self, key: &str) -> Option<(String, String)> {
        let data = std::fs::read(self.reference_path(key)).ok()?;
        let (version, digest): (String, String) = serde_json::from_slice(&data).ok()?;
        Some((version, digest))
    }

    /// Records what an OCI reference resolved to.
    pub fn put_reference(&self, key: &str, version: &str, digest: &str) -> Result<(), CacheError> {
        if self.reference(key).is_some_and(|(v, d)| v == version && d == digest) {
            return Ok(());
        }
        let json = serde_json::to_vec(&(version, digest)).unwrap_or_default();
        write_atomic(&self.reference_path(key), &json)
    }

    fn reference_path(&self, key: &str) -> PathBuf {
        self.root.join("references").join(&sha256_hex(key.as_bytes())[..32])
    }

    /// An exclusive lock on the index at `url`, held until the returned guard is dropped.
    /// Blocks while another process refreshes the same index.
    pub fn lock_index(&self, url: &str) -> Result<IndexLock, CacheError> {
        let dir = self.index_dir(url);
        create_dir(&dir)?;
        let path = dir.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| CacheError {
                path: path.clone(),
                action: "opened",
                source,
            })?;
        file.lock().map_err(|source| CacheError {
            path,
            action: "locked",
            source,
        })?;
        Ok(IndexLock { _file: file })
    }
}

/// Holds an index lock; released on drop (closing the file releases the `flock`).
#[derive(Debug)]
pub struct IndexLock {
    _file: File,
}

fn create_dir(dir: &Path) -> Result<(), CacheError> {
    std::fs::create_dir_all(dir).map_err(|source| CacheError {
        path: dir.to_path_buf(),
        action: "created",
        source,
    })
}

/// Writes `data` to `path` through a uniquely named temporary file in the same directory,
/// renamed into place; the temporary is removed on any error. Not fsynced: readers verify
/// what they read (archives by digest, indexes by decoding), which is cheaper than ~100 fsyncs
/// on a cold run.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), CacheError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dir(dir)?;
    let error = |action, source| CacheError {
        path: path.to_path_buf(),
        action,
        source,
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| error("written", e))?;
    temp.write_all(data).map_err(|e| error("written", e))?;
    temp.persist(path).map_err(|e| error("renamed into place", e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let digest = sha256_hex(b"chart");
        assert!(cache.chart(&digest).is_none());
        let path = cache.put_chart(&digest, b"chart").unwrap();
        assert_eq!(cache.chart(&digest), Some(path.clone()));
        assert_eq!(std::fs::read(&path).unwrap(), b"chart");
        // A damaged entry is dropped, not trusted.
        std::fs::write(&path, b"char").unwrap();
        assert!(cache.chart(&digest).is_none());
        assert!(!path.exists());
        cache.put_chart(&digest, b"chart").unwrap();
        assert!(cache.chart("../../etc/passwd").is_none());
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("charts/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn indexes_round_trip_with_validators() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let meta = IndexMeta {
            url: "https://x/index.yaml".into(),
            etag: Some("\"1\"".into()),
            last_modified: None,
        };
        cache.put_index(b"apiVersion: v1", &meta).unwrap();
        let (body, got) = cache.index("https://x/index.yaml").unwrap();
        assert_eq!(body, b"apiVersion: v1");
        assert_eq!(got.etag.as_deref(), Some("\"1\""));
        assert!(cache.index("https://y/index.yaml").is_none());
        cache.put_decoded_index(&meta.url, "a", b"{}").unwrap();
        cache.put_decoded_index(&meta.url, "b", b"[]").unwrap();
        assert!(cache.decoded_index(&meta.url, "a").is_none());
        assert_eq!(cache.decoded_index(&meta.url, "b").unwrap(), b"[]");
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails, and the temporary file must be gone.
        let target = dir.path().join("sub");
        std::fs::create_dir_all(target.join("occupied")).unwrap();
        assert!(write_atomic(&target, b"x").is_err());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn index_locks_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let guard = cache.lock_index("u").unwrap();
        let path = cache.index_dir("u").join("lock");
        let other = File::options().write(true).open(&path).unwrap();
        assert!(other.try_lock().is_err());
        drop(guard);
        assert!(other.try_lock().is_ok());
    }
}
