//! Differential tests: helmfire's answers compared with the real helm v4.1.4 and kubectl v1.34
//! (`scripts/install-oracles.sh`), and with expectations recorded from them. A missing oracle
//! fails loudly.

#[allow(dead_code, reason = "each test binary uses part of the shared support")]
#[path = "../support/mod.rs"]
mod support;

mod chart_load;
mod codec_corpus;
mod codec_helm;
mod helmfile;
mod post_render_helm;
mod post_render_kustomize;
mod render_charts;
mod sandbox_helm;
mod sandbox_kubectl;
mod semver_helm;
mod storage_helm;
mod storage_sql_helm;
mod template_cases;
mod template_differential;
mod values_helm;
