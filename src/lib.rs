//! helmfire: deploy whole Kubernetes platforms from one desired-state file.
//!
//! The crate is a pipeline; each stage takes the previous stage's output and never reaches into
//! a later one:
//!
//! ```text
//! state ① → graph ② → chart ③ → values ④ → template/render ⑤ → plan ⑥ → converge ⑦ → storage ⑧
//! ```
//!
//! `cluster` is the Kubernetes seam (kubeconfig, cached discovery, verbs with retries) that
//! converge and storage talk through.
//!
//! `value` is the Go-shaped data model shared by values and templates; `sandbox` is the Kubernetes
//! API emulator the cluster-facing stages are tested against; `cli` is the only module that knows
//! about the command line, terminals and exit codes.

pub mod chart;
pub mod graph;
pub mod render;
pub mod state;
pub mod template;
pub mod value;
pub mod values;

pub mod plan;

pub mod sandbox;

pub mod cluster;
pub mod converge;
pub mod storage;

pub mod cli;
