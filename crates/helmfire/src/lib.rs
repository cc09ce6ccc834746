//! helmfire: deploy whole Kubernetes platforms from one desired-state file.
//!
//! The library is a pipeline; each stage takes the previous stage's output and never reaches
//! into a later one. [`estate`] strings the stages together into the operations every entry
//! point calls (its module docs follow one release from the state file to its stored record):
//!
//! ```text
//! state ① → graph ② → resolve ③ → render ④ → observe ⑤ → plan ⑥ → converge ⑦ → storage ⑧
//! ```
//!
//! Charts, their sources and Helm's values pipeline live in `helmfire-chart`; the template
//! engine in `helmfire-template`; Go-shaped values and encodings in `helmfire-value`. `cluster`
//! is the Kubernetes seam (kubeconfig, cached discovery, verbs with retries) that observe,
//! converge and storage talk through. Nothing here prints or knows the command line.

#![forbid(unsafe_code)]

pub mod state;

pub mod graph;

pub mod resolve;

pub mod render;

pub mod manifest;

pub mod observe;

pub mod plan;

pub mod converge;

pub mod storage;

pub mod cluster;

pub mod error;
pub mod estate;
