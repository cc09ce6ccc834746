//! The state file exactly as written: serde structs with spans, before any validation.
//!
//! These types define the file format (and, through schemars, `schemas/helmfire.schema.json`).
//! Everything is optional here; `load` decides what is required once templates and defaults apply.

pub use helmfire_value::time::parse_std_duration as parse_go_duration;
use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::de::Spanned;

/// A helmfire desired-state file: the releases of a platform and where their charts come from.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "helmfire state file")]
pub struct RawState {
    /// Named environments selected with `--environment`; `default` exists even when not listed.
    #[serde(default)]
    pub environments: BTreeMap<String, Spanned<RawEnvironment>>,
    /// Chart repositories (HTTP `https://…` or OCI `oci://…`) that releases refer to by name.
    #[serde(default)]
    pub repositories: Vec<Spanned<RawRepository>>,
    /// Settings every release inherits unless it sets its own.
    #[serde(default)]
    pub defaults: Option<Spanned<RawDefaults>>,
    /// Reusable release fragments; a release lists the ones it builds on in `inherit`.
    #[serde(default)]
    pub templates: BTreeMap<String, Spanned<RawRelease>>,
    /// The Helm releases to converge.
    #[serde(default)]
    pub releases: Vec<Spanned<RawRelease>>,
}

/// An environment: values visible to expressions as `environment.values`, and cluster settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "Environment")]
pub struct RawEnvironment {
    /// Values files (paths relative to the state file) or inline maps, merged in order.
    #[serde(default)]
    pub values: Vec<Spanned<RawValues>>,
    /// The kubeconfig context releases of this environment deploy to.
    pub kube_context: Option<Spanned<String>>,
    /// What a missing values file is: an error (default), or skipped with a warning or a note.
    pub missing_file_handler: Option<MissingFileHandler>,
    /// Where this environment's release records live. Unset: where `HELM_DRIVER` (and
    /// `HELM_DRIVER_SQL_CONNECTION_STRING`) say, as for helm.
    pub storage: Option<Spanned<RawStorage>>,
}

/// Where release records live: one of helm's storage drivers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "Storage")]
pub struct RawStorage {
    /// `secret` (helm's default), `configmap`, `memory` or `sql` (PostgreSQL, in helm's tables).
    pub driver: Spanned<StorageDriver>,
    /// `sql` only: the connection string, as `HELM_DRIVER_SQL_CONNECTION_STRING` takes it (a
    /// `postgres://` URL or libpq `key=value` pairs; `sslmode` defaults to `require`). It is a
    /// secret: write it as an expression such as `${{ env.RELEASES_DB }}`. Unset:
    /// `HELM_DRIVER_SQL_CONNECTION_STRING`.
    pub connection: Option<Spanned<String>>,
}

/// A storage driver, spelt as `HELM_DRIVER` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageDriver {
    #[serde(alias = "secrets")]
    Secret,
    #[serde(alias = "configmaps")]
    ConfigMap,
    Memory,
    Sql,
}

/// What to do when a values file does not exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum MissingFileHandler {
    #[default]
    Error,
    Warn,
    Info,
}

/// A chart repository.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "Repository")]
pub struct RawRepository {
    /// The name releases use in `chart: NAME/chart`.
    pub name: Option<Spanned<String>>,
    /// `https://…` (or `http://…`) for an index.yaml repository, `oci://host/path` for a registry.
    pub url: Option<Spanned<String>>,
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
    /// PEM file of the certificate authorities to trust, relative to the state file.
    pub ca_file: Option<Spanned<String>>,
    /// PEM client certificate for mutual TLS.
    pub cert_file: Option<Spanned<String>>,
    /// PEM client key for mutual TLS.
    pub key_file: Option<Spanned<String>>,
    /// Do not verify the server's certificate (also spelt `insecureSkipTLSVerify`, as helmfile does).
    #[serde(default, alias = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: bool,
    /// Send the credentials to chart URLs on other hosts too (Helm's `--pass-credentials`).
    #[serde(default)]
    pub pass_credentials: bool,
    /// Talk to an `oci://` registry over plain HTTP (Helm's `--plain-http`), e.g. a local one.
    #[serde(default)]
    pub plain_http: bool,
}

/// Settings every release inherits.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "Defaults")]
pub struct RawDefaults {
    pub namespace: Option<Spanned<String>>,
    pub create_namespace: Option<bool>,
    pub wait: Option<bool>,
    pub wait_for_jobs: Option<bool>,
    pub timeout: Option<Spanned<Timeout>>,
    pub atomic: Option<bool>,
    pub history_max: Option<u32>,
    /// Do not run the chart's hooks (helm's `--no-hooks`).
    pub disable_hooks: Option<bool>,
    /// Do not install the chart's `crds/` (helm's `--skip-crds`).
    pub skip_crds: Option<bool>,
    /// Delete the objects a failed upgrade created (helm's `--cleanup-on-fail`).
    pub cleanup_on_fail: Option<bool>,
    /// Adopt existing objects that belong to no or another release (helm's `--take-ownership`).
    pub take_ownership: Option<bool>,
    /// `true`: server-side apply; `false`: client-side; unset: as the release was last written
    /// (server-side for a new release), like helm's `--server-side auto`.
    pub server_side: Option<bool>,
    /// Server-side apply takes fields other managers own (helm's `--force-conflicts`).
    pub force_conflicts: Option<bool>,
    pub kube_context: Option<Spanned<String>>,
    pub missing_file_handler: Option<MissingFileHandler>,
    #[serde(default)]
    pub labels: BTreeMap<String, Spanned<String>>,
    /// `apply` re-applies drifted fields and recreates deleted objects (default `false`).
    pub drift_correction: Option<bool>,
    /// Differences that are not drift (Argo CD's shape); every release's list starts with these.
    pub ignore_differences: Option<Vec<Spanned<RawIgnoreRule>>>,
    /// Post-renderers every release runs first (before those of its templates and its own).
    pub post_renderers: Option<Vec<Spanned<RawPostRenderer>>>,
}

/// Differences that are not drift, for the objects a rule matches (Argo CD's `ignoreDifferences`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "IgnoreDifferences")]
pub struct RawIgnoreRule {
    /// A glob over the API group (`*`: any; `""`: the core group only). Unset: any.
    pub group: Option<String>,
    /// A glob over the kind. Unset: any.
    pub kind: Option<String>,
    /// The object name, exactly. Unset: any.
    pub name: Option<String>,
    /// The object namespace, exactly. Unset: any.
    pub namespace: Option<String>,
    /// RFC 6901 pointers not compared, e.g. `/spec/replicas`; `/` in a key is written `~1`.
    pub json_pointers: Option<Vec<Spanned<String>>>,
    /// Changes owned by these field managers are not drift (e.g. `kube-controller-manager` for
    /// an HPA's replicas).
    pub managed_fields_managers: Option<Vec<String>>,
}

/// A release (or a template of one). String fields may contain `${{ expression }}`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "Release")]
pub struct RawRelease {
    /// The Helm release name: lowercase DNS-1123, at most 53 characters.
    pub name: Option<Spanned<String>>,
    /// Namespace of the release and its objects (default: `defaults.namespace`, else `default`).
    pub namespace: Option<Spanned<String>>,
    /// `./local/path`, `repo/chart` (a listed repository) or `oci://host/path/chart`.
    pub chart: Option<Spanned<String>>,
    /// A semver constraint on the chart version, as Helm accepts (`^1.2`, `~1.2.3`, `>=1, <2`, `1.2.x`).
    pub version: Option<Spanned<String>>,
    /// Values files (relative to the state file) and inline maps, applied in order.
    pub values: Option<Vec<Spanned<RawValues>>>,
    /// `--set` equivalents: dotted path → value (type inferred like `--set`).
    pub set: Option<BTreeMap<String, Spanned<serde_json::Value>>>,
    /// `--set-string` equivalents: dotted path → string.
    pub set_string: Option<BTreeMap<String, Spanned<String>>>,
    /// Releases that must be converged first: `name` or `namespace/name`.
    pub needs: Option<Vec<Spanned<String>>>,
    /// Labels for `--selector`.
    pub labels: Option<BTreeMap<String, Spanned<String>>>,
    /// `false` uninstalls the release (default `true`).
    pub installed: Option<bool>,
    /// An expression; when it is false the release is treated as not installed.
    pub condition: Option<Spanned<String>>,
    pub create_namespace: Option<bool>,
    /// Wait until every object is ready.
    pub wait: Option<bool>,
    pub wait_for_jobs: Option<bool>,
    /// Seconds (`300`) or a Go duration (`5m`, `1h30m`).
    pub timeout: Option<Spanned<Timeout>>,
    /// Roll back a failed upgrade, uninstall a failed install.
    pub atomic: Option<bool>,
    /// Release revisions to keep (0: unlimited).
    pub history_max: Option<u32>,
    /// Do not run the chart's hooks (helm's `--no-hooks`).
    pub disable_hooks: Option<bool>,
    /// Do not install the chart's `crds/` (helm's `--skip-crds`).
    pub skip_crds: Option<bool>,
    /// Delete the objects a failed upgrade created (helm's `--cleanup-on-fail`).
    pub cleanup_on_fail: Option<bool>,
    /// Adopt existing objects that belong to no or another release (helm's `--take-ownership`).
    pub take_ownership: Option<bool>,
    /// `true`: server-side apply; `false`: client-side; unset: as the release was last written
    /// (server-side for a new release), like helm's `--server-side auto`.
    pub server_side: Option<bool>,
    /// Server-side apply takes fields other managers own (helm's `--force-conflicts`).
    pub force_conflicts: Option<bool>,
    pub kube_context: Option<Spanned<String>>,
    pub missing_file_handler: Option<MissingFileHandler>,
    /// Templates this release builds on, applied in order; the release's own fields win.
    pub inherit: Option<Vec<Spanned<String>>>,
    /// `apply` re-applies drifted fields and recreates deleted objects (default `false`).
    pub drift_correction: Option<bool>,
    /// Differences that are not drift, added to those of `defaults` and templates.
    pub ignore_differences: Option<Vec<Spanned<RawIgnoreRule>>>,
    /// Post-renderers run over the rendered manifests, in order, after those of `defaults` and
    /// templates: each item is one renderer of one kind.
    pub post_renderers: Option<Vec<Spanned<RawPostRenderer>>>,
}

/// One post-renderer: exactly one of `plugin`, `exec`, `patches`, `jsonPatches`, `images`, or
/// `commonLabels`/`commonAnnotations` (which may go together).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "PostRenderer")]
pub struct RawPostRenderer {
    /// A helm 4 `postrenderer/v1` plugin by name, found where helm finds plugins
    /// (`HELM_PLUGINS`, else helm's data directory).
    pub plugin: Option<Spanned<String>>,
    /// Extra arguments for the plugin (helm's `--post-renderer-args`).
    pub args: Option<Vec<String>>,
    /// An executable that reads all manifests on stdin and writes the result on stdout (helm
    /// 3's contract); a relative path is relative to the state file.
    pub exec: Option<Spanned<RawExec>>,
    /// Strategic merge patches (kustomize's `patches`).
    pub patches: Option<Vec<Spanned<RawPatch>>>,
    /// RFC 6902 JSON patches.
    pub json_patches: Option<Vec<Spanned<RawJsonPatch>>>,
    /// New names, tags or digests for container images.
    pub images: Option<Vec<Spanned<RawImage>>>,
    /// Labels added to every object, its pod templates and its selectors (kustomize's
    /// `commonLabels`).
    pub common_labels: Option<BTreeMap<String, Spanned<String>>>,
    /// Annotations added to every object and its pod templates.
    pub common_annotations: Option<BTreeMap<String, Spanned<String>>>,
}

/// An executable post-renderer.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "ExecPostRenderer")]
pub struct RawExec {
    /// The program: a path (relative to the state file) or a name looked up on `PATH`.
    pub command: Option<Spanned<String>>,
    #[serde(default)]
    pub args: Vec<String>,
}

/// Which objects a patch applies to (kustomize's selector). `group`, `version`, `kind`,
/// `name` and `namespace` are regular expressions matched against the whole value; an object
/// without a namespace is in the release's namespace.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "PatchTarget")]
pub struct RawTarget {
    pub group: Option<Spanned<String>>,
    pub version: Option<Spanned<String>>,
    pub kind: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
    /// A Kubernetes label selector (`app=web,tier in (a,b)`).
    pub label_selector: Option<Spanned<String>>,
    /// A label selector over annotations.
    pub annotation_selector: Option<Spanned<String>>,
}

/// A strategic merge patch.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "StrategicMergePatch")]
pub struct RawPatch {
    /// The objects to patch; without it the patch names its object by `kind` and
    /// `metadata.name`. A target that matches nothing is an error.
    pub target: Option<Spanned<RawTarget>>,
    /// The patch: a map, or a string of YAML (several documents only without `target`).
    pub patch: Option<Spanned<RawPatchBody>>,
}

/// A patch given inline as a map or as YAML text.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "PatchBody")]
pub enum RawPatchBody {
    Map(serde_json::Map<String, serde_json::Value>),
    Text(String),
}

impl<'de> Deserialize<'de> for RawPatchBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BodyVisitor;
        impl<'de> Visitor<'de> for BodyVisitor {
            type Value = RawPatchBody;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a patch: a map or a string of YAML")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawPatchBody, E> {
                Ok(RawPatchBody::Text(text.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPatchBody, A::Error> {
                let mut values = serde_json::Map::new();
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    values.insert(key, value);
                }
                Ok(RawPatchBody::Map(values))
            }
        }
        deserializer.deserialize_any(BodyVisitor)
    }
}

/// An RFC 6902 JSON patch.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "JsonPatch")]
pub struct RawJsonPatch {
    /// The objects to patch (required); a target that matches nothing is an error.
    pub target: Option<Spanned<RawTarget>>,
    /// The operations: a list, or a string of YAML or JSON.
    pub patch: Option<Spanned<RawJsonOperations>>,
}

/// JSON patch operations given inline or as text.
#[derive(Clone, Debug, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "JsonPatchOperations")]
pub enum RawJsonOperations {
    List(Vec<Spanned<RawJsonOperation>>),
    Text(String),
}

impl<'de> Deserialize<'de> for RawJsonOperations {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OperationsVisitor;
        impl<'de> Visitor<'de> for OperationsVisitor {
            type Value = RawJsonOperations;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of JSON patch operations or a string of YAML or JSON")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawJsonOperations, E> {
                Ok(RawJsonOperations::Text(text.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawJsonOperations, A::Error> {
                let mut operations = Vec::new();
                while let Some(operation) = seq.next_element::<Spanned<RawJsonOperation>>()? {
                    operations.push(operation);
                }
                Ok(RawJsonOperations::List(operations))
            }
        }
        deserializer.deserialize_any(OperationsVisitor)
    }
}

/// One JSON patch operation.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "JsonPatchOperation")]
pub struct RawJsonOperation {
    /// `add`, `remove`, `replace`, `move`, `copy` or `test`.
    pub op: Option<Spanned<String>>,
    /// An RFC 6901 pointer, e.g. `/metadata/labels/team` (`/` in a key is `~1`).
    pub path: Option<Spanned<String>>,
    /// The source pointer of `move` and `copy`.
    pub from: Option<Spanned<String>>,
    /// The value of `add`, `replace` and `test`.
    pub value: Option<serde_json::Value>,
}

/// A container image rewrite (kustomize's `images`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "ImageRewrite")]
pub struct RawImage {
    /// The image name to match, without tag or digest (e.g. `nginx`, `registry:5000/app`).
    pub name: Option<Spanned<String>>,
    /// A new name (registry and repository).
    pub new_name: Option<Spanned<String>>,
    /// A new tag; quote it (`"1.27"`) so YAML keeps it a string.
    pub new_tag: Option<Spanned<String>>,
    /// A new digest (`sha256:…`).
    pub digest: Option<Spanned<String>>,
}

/// A values source: a file path or an inline map.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "Values")]
pub enum RawValues {
    File(String),
    Inline(serde_json::Map<String, serde_json::Value>),
}

impl<'de> Deserialize<'de> for RawValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValuesVisitor;
        impl<'de> Visitor<'de> for ValuesVisitor {
            type Value = RawValues;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a values file path or an inline map")
            }
            fn visit_str<E: de::Error>(self, path: &str) -> Result<RawValues, E> {
                Ok(RawValues::File(path.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValues, A::Error> {
                let mut values = serde_json::Map::new();
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    values.insert(key, value);
                }
                Ok(RawValues::Inline(values))
            }
        }
        deserializer.deserialize_any(ValuesVisitor)
    }
}

/// A timeout: whole seconds or a Go duration string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(pub std::time::Duration);

impl JsonSchema for Timeout {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timeout".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Seconds, or a Go duration such as `5m` or `1h30m`.",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$" }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeoutVisitor;
        impl Visitor<'_> for TimeoutVisitor {
            type Value = Timeout;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("seconds or a duration such as `5m`")
            }
            fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Timeout, E> {
                u64::try_from(seconds)
                    .map(|s| Timeout(std::time::Duration::from_secs(s)))
                    .map_err(|_| E::custom("a timeout cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Timeout, E> {
                Ok(Timeout(std::time::Duration::from_secs(seconds)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Timeout, E> {
                parse_go_duration(text).map(Timeout).ok_or_else(|| {
                    E::custom(format!(
                        "invalid duration `{text}`: expected seconds or a duration such as `90s`, `5m` or `1h30m`"
                    ))
                })
            }
        }
        deserializer.deserialize_any(TimeoutVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_go_duration("5 minutes"), None);
        assert_eq!(parse_go_duration(""), None);
    }
}
