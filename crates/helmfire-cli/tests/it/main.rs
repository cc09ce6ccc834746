//! Integration tests that drive the real `helmfire` binary and the libraries against the
//! sandbox, real HTTP repositories and a real OCI registry. One binary, so the workspace links
//! it once.

#[allow(dead_code, reason = "each test binary uses part of the shared support")]
#[path = "../support/mod.rs"]
mod support;

mod chart_archives;
mod cli_apply;
mod cli_contexts;
mod cli_diff;
mod cli_drift;
mod cli_sandbox;
mod cli_signals;
mod cli_state;
mod cli_status;
mod cluster_deadlines;
mod codec_roundtrip;
mod converge_engine;
mod error_output;
mod fuzz_inputs;
mod helmfile_errors;
mod post_render;
mod sandbox_durability;
mod sandbox_kube;
mod sandbox_protocol;
mod sources_bench;
mod sources_http;
mod sources_oci;
mod state_errors;
mod storage_sql;
mod template_robustness;
mod torture;
