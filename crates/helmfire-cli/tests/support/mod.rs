//! Helpers shared by the test binaries: oracles and paths, an in-process sandbox with a
//! kubeconfig, the deploy harness, chart-source servers, a throwaway PostgreSQL, and the codec
//! and template harnesses.
//! Each binary uses part of it, so unused items are expected in one binary or the other.

pub mod codec;
pub mod deploy;
pub mod helmfile;
pub mod oracle;
pub mod postgres;
pub mod sandbox;
pub mod sources;
pub mod template;
