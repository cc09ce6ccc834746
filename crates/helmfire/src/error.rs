//! Per-release failures, typed by the stage that failed, and the one way to write an error's
//! cause chain.
//!
//! A release that cannot be resolved, rendered, observed, planned or converged keeps its typed
//! error up to the report ([`ReleaseError`]); the caller decides how to print it and which exit
//! code it means. [`Chain`] is the only place a chain is flattened into text.

use std::fmt;

use crate::cluster::ClusterError;
use crate::converge::ConvergeError;
use crate::observe::live::ObserveError;
use crate::plan::PlanError;
use crate::render::RenderError;
use crate::resolve::ChartResolveError;
use crate::storage::StorageError;

/// Why one release failed, by stage. `release` is its `namespace/name` id.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("cannot get the chart of release `{release}`")]
    Chart {
        release: String,
        #[source]
        source: ChartResolveError,
    },
    #[error("failed to render release `{release}`")]
    Render {
        release: String,
        #[source]
        source: RenderError,
    },
    #[error("failed to read the records of release `{release}`")]
    Records {
        release: String,
        #[source]
        source: StorageError,
    },
    /// The release's kube context could not be used.
    #[error("release `{release}` cannot be reached")]
    Target {
        release: String,
        #[source]
        source: std::sync::Arc<crate::estate::TargetError>,
    },
    #[error("cannot read the live objects of release `{release}` (revision {revision})")]
    Observe {
        release: String,
        revision: i32,
        #[source]
        source: Box<ObserveError>,
    },
    #[error("cannot record the drift event of release `{release}`")]
    Events {
        release: String,
        #[source]
        source: Box<ClusterError>,
    },
    #[error("failed to compare release `{release}` with its deployed record")]
    Plan {
        release: String,
        #[source]
        source: PlanError,
    },
    /// An action failed; the error names the release and the action already.
    #[error(transparent)]
    Converge(ConvergeError),
    /// A task working on the release stopped without an answer (it panicked).
    #[error("release `{release}`: {message}")]
    Internal { release: String, message: String },
    #[error("cannot create namespace `{namespace}` for release `{release}`")]
    Namespace {
        release: String,
        namespace: String,
        #[source]
        source: std::sync::Arc<ClusterError>,
    },
}

/// An error and its causes. `{}` writes them on one line (`a: b: c`, for progress lines and
/// summaries); `{:#}` writes one cause per line (`a\n  caused by: b`).
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        let mut previous = self.0.to_string();
        while let Some(cause) = source {
            let text = cause.to_string();
            // A wrapper that repeats its cause's text (a transparent or interpolating error)
            // adds nothing: print each text once.
            if !previous.contains(&text) {
                if f.alternate() {
                    write!(f, "\n  caused by: {text}")?;
                } else {
                    write!(f, ": {text}")?;
                }
            }
            previous = text;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner: {1}")]
    struct Inner(#[source] std::io::Error, &'static str);

    #[test]
    fn chains_read_on_one_line_or_one_cause_per_line() {
        let error = Outer(Inner(std::io::Error::other("disk full"), "x"));
        assert_eq!(Chain(&error).to_string(), "outer: inner: x: disk full");
        assert_eq!(
            format!("{:#}", Chain(&error)),
            "outer\n  caused by: inner: x\n  caused by: disk full"
        );
    }

    #[test]
    fn a_cause_repeated_by_its_wrapper_is_printed_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read: {0}")]
        struct Interpolating(#[source] std::io::Error);
        let error = Interpolating(std::io::Error::other("denied"));
        assert_eq!(Chain(&error).to_string(), "cannot read: denied");
    }
}
