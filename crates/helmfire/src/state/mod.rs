//! ① The desired-state file: YAML or TOML → spanned raw structs → a validated [`DesiredState`].
//! A helmfile (`helmfile.yaml`, `.gotmpl`, `helmfile.d/`) is read by [`helmfile`] into the same
//! [`DesiredState`].
//!
//! Knows nothing of charts, clusters or the dependency graph; every error names the file, line
//! and column of the problem.

mod de;
mod error;
mod expr;
pub mod helmfile;
mod load;
mod model;
mod name;
mod node;
mod post_render;
pub mod raw;
mod selector;
mod source;
mod suggest;
mod toml;
mod yaml;

pub use error::{Diagnostic, StateError};
pub use load::{DEFAULT_FILES, LoadOptions, MAX_FILE_SIZE, load, load_str, locate};
pub use model::*;
pub use name::{Namespace, ReleaseId, ReleaseName};
pub use selector::Selector;
pub use source::Location;
pub use suggest::did_you_mean;

/// The JSON Schema of the state file, generated from the raw types.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<raw::RawState>();
    serde_json::to_value(schema).unwrap_or_default()
}
