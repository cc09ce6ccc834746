//! The lock file: what `helmfire deps` resolved for each release (chart, constraint, source,
//! version, archive digest), next to the state file and named after it (`helmfire.yaml` →
//! `helmfire.lock`, `prod.yaml` → `prod.lock`, as helmfile names its locks), so two state files
//! in one directory keep separate locks. Later runs pin to it; an entry that no longer matches
//! the state file is stale and is refused unless the caller updates the lock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Pin;
use super::cache::{is_sha256_hex, write_atomic};

/// One locked release.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LockEntry {
    /// The chart as written in the state file.
    pub chart: String,
    /// The version constraint as written, if any.
    #[serde(default)]
    pub constraint: Option<String>,
    /// Repository URL or `oci://host/path/chart`.
    pub source: String,
    pub version: String,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
}

impl LockEntry {
    /// The pin this entry imposes.
    pub fn pin(&self) -> Pin {
        Pin {
            version: self.version.clone(),
            digest: self.digest.trim_start_matches("sha256:").to_string(),
        }
    }
}

/// The whole lock file: release id (`namespace/name`) → entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct LockFile {
    #[serde(default)]
    pub version: u32,
    #[serde(default)]
    pub releases: BTreeMap<String, LockEntry>,
}

/// Why the lock file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a valid helmfire lock file", path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        source: helmfire_value::yaml::YamlError,
    },
    #[error("`{}` has an invalid entry for release `{release}`: {message}", path.display())]
    Entry {
        path: PathBuf,
        release: String,
        message: String,
    },
    #[error(transparent)]
    Write(#[from] super::cache::CacheError),
}

/// How a lock entry disagrees with the state file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Staleness {
    #[error("release `{release}` is not in the lock file")]
    Missing { release: String },
    #[error("release `{release}`: the lock has chart `{locked}`, the state file `{now}`")]
    Chart {
        release: String,
        locked: String,
        now: String,
    },
    #[error("release `{release}`: the lock was resolved for version `{locked}`, the state file asks for `{now}`")]
    Constraint {
        release: String,
        locked: String,
        now: String,
    },
    #[error("release `{release}`: the lock has source `{locked}`, the state file now points at `{now}`")]
    Source {
        release: String,
        locked: String,
        now: String,
    },
}

impl LockFile {
    /// The lock file of `state_file`: in its directory, its name without `.gotmpl` and then
    /// `.yaml`, `.yml` or `.toml`, plus `.lock` (helmfile's rule, which trims `.gotmpl`,
    /// `.yaml` and `.yml` in that order).
    pub fn path_for(state_file: &Path) -> PathBuf {
        let name = state_file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let name = name.strip_suffix(".gotmpl").unwrap_or(&name);
        let stem = [".yaml", ".yml", ".toml"]
            .iter()
            .find_map(|ext| name.strip_suffix(ext))
            .unwrap_or(name);
        let stem = if stem.is_empty() { "helmfire" } else { stem };
        state_file.with_file_name(format!("{stem}.lock"))
    }

    /// Reads a lock file; `Ok(None)` when there is none.
    pub fn read(path: &Path) -> Result<Option<LockFile>, LockError> {
        let data = match std::fs::read(path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(LockError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let lock: LockFile = helmfire_value::interop::from_yaml(&String::from_utf8_lossy(&data)).map_err(|source| {
            LockError::Invalid {
                path: path.to_path_buf(),
                source,
            }
        })?;
        for (release, entry) in &lock.releases {
            let hex = entry.digest.strip_prefix("sha256:").unwrap_or("");
            if !is_sha256_hex(hex) {
                return Err(LockError::Entry {
                    path: path.to_path_buf(),
                    release: release.clone(),
                    message: format!("digest `{}` is not `sha256:` and 64 lowercase hex digits", entry.digest),
                });
            }
        }
        Ok(Some(lock))
    }

    /// The lock as text (stable: releases sorted, every string quoted).
    pub fn render(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut out = String::from(
            "# helmfire lock: chart versions resolved by `helmfire deps`. Commit it with the state file;\n# `--update-lock` (or `helmfire deps`) rewrites it.\nversion: 1\nreleases:\n",
        );
        if self.releases.is_empty() {
            out.truncate(out.len() - 1);
            out.push_str(" {}\n");
        }
        for (release, e) in &self.releases {
            let _ = writeln!(out, "  {}:", q(release));
            let _ = writeln!(out, "    chart: {}", q(&e.chart));
            if let Some(c) = &e.constraint {
                let _ = writeln!(out, "    constraint: {}", q(c));
            }
            let _ = writeln!(out, "    source: {}", q(&e.source));
            let _ = writeln!(out, "    version: {}", q(&e.version));
            let _ = writeln!(out, "    digest: {}", q(&e.digest));
        }
        out
    }

    /// Writes the lock atomically.
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        write_atomic(path, self.render().as_bytes())?;
        Ok(())
    }

    /// The pin for a release, or how its entry is stale.
    pub fn check(&self, release: &str, chart: &str, constraint: Option<&str>, source: &str) -> Result<Pin, Staleness> {
        let Some(entry) = self.releases.get(release) else {
            return Err(Staleness::Missing {
                release: release.to_string(),
            });
        };
        if entry.chart != chart {
            return Err(Staleness::Chart {
                release: release.to_string(),
                locked: entry.chart.clone(),
                now: chart.to_string(),
            });
        }
        if entry.constraint.as_deref() != constraint {
            return Err(Staleness::Constraint {
                release: release.to_string(),
                locked: entry.constraint.clone().unwrap_or_else(|| "(any)".into()),
                now: constraint.unwrap_or("(any)").to_string(),
            });
        }
        if entry.source.trim_end_matches('/') != source.trim_end_matches('/') {
            return Err(Staleness::Source {
                release: release.to_string(),
                locked: entry.source.clone(),
                now: source.to_string(),
            });
        }
        Ok(entry.pin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> LockEntry {
        LockEntry {
            chart: "repo/app".into(),
            constraint: Some("^1".into()),
            source: "https://x/charts".into(),
            version: "1.2.3".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
        }
    }

    #[test]
    fn round_trips_and_detects_staleness() {
        let dir = tempfile::tempdir().unwrap();
        let path = LockFile::path_for(&dir.path().join("helmfire.yaml"));
        assert_eq!(LockFile::read(&path).unwrap(), None);
        let mut lock = LockFile {
            version: 1,
            ..Default::default()
        };
        lock.releases.insert("default/web".into(), entry());
        lock.write(&path).unwrap();
        let read = LockFile::read(&path).unwrap().unwrap();
        assert_eq!(read, lock);
        let pin = read
            .check("default/web", "repo/app", Some("^1"), "https://x/charts/")
            .unwrap();
        assert_eq!(pin.version, "1.2.3");
        assert_eq!(pin.digest, "ab".repeat(32));
        assert!(matches!(
            read.check("default/api", "repo/app", Some("^1"), "s"),
            Err(Staleness::Missing { .. })
        ));
        assert!(matches!(
            read.check("default/web", "repo/other", Some("^1"), "https://x/charts"),
            Err(Staleness::Chart { .. })
        ));
        assert!(matches!(
            read.check("default/web", "repo/app", Some("^2"), "https://x/charts"),
            Err(Staleness::Constraint { .. })
        ));
        assert!(matches!(
            read.check("default/web", "repo/app", Some("^1"), "https://y"),
            Err(Staleness::Source { .. })
        ));
        let empty = LockFile::default().render();
        assert_eq!(
            helmfire_value::interop::from_yaml::<LockFile>(&empty)
                .unwrap()
                .releases
                .len(),
            0
        );
    }

    #[test]
    fn locks_are_named_after_their_state_file() {
        let lock = |state: &str| LockFile::path_for(Path::new(state)).display().to_string();
        assert_eq!(lock("/d/helmfire.yaml"), "/d/helmfire.lock");
        assert_eq!(lock("/d/helmfire.toml"), "/d/helmfire.lock");
        assert_eq!(lock("/d/prod.yaml"), "/d/prod.lock");
        assert_eq!(lock("/d/prod.yml"), "/d/prod.lock");
        assert_eq!(lock("/d/helmfile.yaml.gotmpl"), "/d/helmfile.lock");
        assert_eq!(lock("/d/helmfire.1.yaml"), "/d/helmfire.1.lock");
        assert_eq!(lock("/d/foo.yaml.yml"), "/d/foo.yaml.lock");
        assert_eq!(lock("state"), "state.lock");
        assert_eq!(lock("relative/dev.yaml"), "relative/dev.lock");
    }

    #[test]
    fn invalid_lock_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("helmfire.lock");
        std::fs::write(&path, "releases: [").unwrap();
        assert!(matches!(LockFile::read(&path), Err(LockError::Invalid { .. })));
        std::fs::write(
            &path,
            "releases:\n  a/b: {chart: c, source: s, version: '1', digest: 'sha256:xyz'}\n",
        )
        .unwrap();
        assert!(matches!(LockFile::read(&path), Err(LockError::Entry { .. })));
    }
}
