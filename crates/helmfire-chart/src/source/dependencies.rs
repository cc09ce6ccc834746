//! Chart dependencies that are declared in Chart.yaml but not vendored in `charts/`, fetched as
//! `helm dependency build` would: from the repository URL, `@name`/`alias:name` repositories,
//! `oci://` registries or `file://` paths, at the version Chart.lock pins when it names the
//! dependency, else the newest version matching the declared range.
//!
//! Only the top chart's dependencies are resolved (as Helm does); the results are archives or
//! directories the caller loads and attaches as subcharts.

use std::path::{Path, PathBuf};

use super::{ChartRequest, Pin, SourceError, SourceErrorKind, Sources};
use crate::reference::ChartRef;
use crate::{Chart, Dependency};
use helmfire_value::Value;

/// Dependencies of `chart` with no subchart of the same name in `charts/`.
pub fn missing(chart: &Chart) -> Vec<Dependency> {
    let Some(deps) = &chart.metadata.dependencies else {
        return Vec::new();
    };
    let mut out: Vec<Dependency> = Vec::new();
    for dep in deps.iter().flatten() {
        if chart.dependencies.iter().any(|c| c.name() == dep.name) {
            continue;
        }
        // The same chart under two aliases is fetched once.
        if out.iter().any(|d| d.name == dep.name && d.repository == dep.repository) {
            continue;
        }
        out.push(dep.clone());
    }
    out
}

/// The version Chart.lock (or requirements.lock) records for a dependency.
pub fn locked_version(chart: &Chart, dep: &Dependency) -> Option<String> {
    let lock = chart.lock.as_ref()?.as_map()?.read().get("dependencies").cloned()?;
    lock.as_list()?.iter().find_map(|d| {
        let map = d.as_map()?.read();
        let field = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
        (field("name")? == dep.name && field("repository").unwrap_or_default() == dep.repository)
            .then(|| field("version"))
            .flatten()
    })
}

/// Fetches every missing dependency of `chart` (whose directory is `chart_dir`, if it is a
/// directory); returns the archives or directories to load as subcharts.
pub async fn fetch_missing(
    sources: &Sources,
    release: &str,
    chart: &Chart,
    chart_dir: Option<&Path>,
) -> Result<Vec<PathBuf>, SourceError> {
    let mut out = Vec::new();
    for dep in missing(chart) {
        let who = format!("{release} (dependency `{}` of chart `{}`)", dep.name, chart.name());
        let error = |kind| SourceError {
            release: who.clone(),
            chart: dep.name.clone(),
            repository: Some(dep.repository.clone()),
            kind: Box::new(kind),
        };
        let locked = locked_version(chart, &dep);
        // Helm refuses a Chart.lock that no longer describes Chart.yaml (it compares a hash of
        // both); a dependency missing from the lock, or locked outside its range, is that case.
        if chart.lock.is_some() {
            let in_sync = locked
                .as_deref()
                .is_some_and(|v| dep.version.is_empty() || crate::semver::is_compatible_range(&dep.version, v));
            if !in_sync {
                return Err(error(SourceErrorKind::LockOutOfSync {
                    chart: chart.name().to_string(),
                }));
            }
        }
        let constraint = locked
            .clone()
            .or_else(|| (!dep.version.is_empty()).then(|| dep.version.clone()));
        let pin = locked.map(|version| Pin {
            version,
            digest: String::new(),
        });
        let repository = dep.repository.trim();
        if repository.is_empty() {
            // Nothing to fetch from: the loader reports it as missing from charts/, as Helm does.
            continue;
        }
        if let Some(path) = repository.strip_prefix("file://") {
            let Some(dir) = chart_dir else {
                return Err(error(SourceErrorKind::Reference {
                    message: format!("`{repository}` cannot be resolved for a chart archive"),
                }));
            };
            let target = dir.join(path);
            if !target.exists() {
                return Err(error(SourceErrorKind::NotFound {
                    url: target.display().to_string(),
                }));
            }
            out.push(target);
            continue;
        }
        let named = repository
            .strip_prefix('@')
            .or_else(|| repository.strip_prefix("alias:"));
        let resolved = if let Some(name) = named {
            let repo = sources.repository_by_name(name).ok_or_else(|| {
                error(SourceErrorKind::UnknownRepository {
                    name: name.to_string(),
                    known: sources.repository_names(),
                })
            })?;
            if repo.oci {
                let request = ChartRequest {
                    release: who.clone(),
                    chart: ChartRef::Oci(format!("{}/{}", repo.url, dep.name)),
                    constraint,
                    pin,
                };
                sources.fetch(&request).await?
            } else {
                sources
                    .fetch_by_url(&who, &repo.url, &dep.name, constraint.as_deref(), pin.as_ref())
                    .await?
            }
        } else if repository.starts_with("oci://") {
            let request = ChartRequest {
                release: who.clone(),
                chart: ChartRef::Oci(format!("{}/{}", repository.trim_end_matches('/'), dep.name)),
                constraint,
                pin,
            };
            sources.fetch(&request).await?
        } else {
            sources
                .fetch_by_url(&who, repository, &dep.name, constraint.as_deref(), pin.as_ref())
                .await?
        };
        out.push(resolved.path);
    }
    Ok(out)
}

/// Loads fetched dependencies and attaches them to `chart` as subcharts (sorted by name, as
/// the loader sorts `charts/`).
pub fn attach(chart: &mut Chart, paths: &[PathBuf]) -> Result<(), crate::ChartError> {
    for path in paths {
        chart.dependencies.push(crate::load(path)?);
    }
    chart.dependencies.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metadata;

    fn dep(name: &str, repo: &str) -> Dependency {
        Dependency {
            name: name.into(),
            version: "^1".into(),
            repository: repo.into(),
            ..Default::default()
        }
    }

    #[test]
    fn vendored_dependencies_are_not_missing() {
        let mut chart = Chart {
            metadata: Metadata {
                name: "top".into(),
                dependencies: Some(vec![
                    Some(dep("a", "https://x")),
                    Some(dep("b", "https://x")),
                    Some(dep("b", "https://x")),
                ]),
                ..Default::default()
            },
            ..Default::default()
        };
        chart.dependencies.push(Chart {
            metadata: Metadata {
                name: "a".into(),
                ..Default::default()
            },
            ..Default::default()
        });
        let names: Vec<String> = missing(&chart).into_iter().map(|d| d.name).collect();
        assert_eq!(names, ["b"]);
    }

    #[test]
    fn chart_lock_versions_are_honoured() {
        let lock = crate::load_values(
            b"dependencies:\n- name: b\n  repository: https://x\n  version: 1.2.3\n- name: c\n  repository: https://y\n  version: 9.9.9\n",
        )
        .unwrap();
        let chart = Chart {
            lock: Some(Value::map(lock)),
            ..Default::default()
        };
        assert_eq!(locked_version(&chart, &dep("b", "https://x")).as_deref(), Some("1.2.3"));
        assert_eq!(locked_version(&chart, &dep("c", "https://other")), None);
    }
}
