//! The command line as typed: clap types only, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    error (invalid input, failed release, …)
  2    changes present (diff/apply with --detailed-exitcode): a pending change, or drift
       that is to be corrected
  3    drift detected (drift)
  130  interrupted by SIGINT (Ctrl-C) or SIGTERM and stopped cleanly: nothing new started,
       running releases finished (a second signal cuts their waits short and records them failed)";

pub const DRIFT_EXIT_CODES: &str = "\
Exit codes:
  0    every release matches its deployed revision
  1    error: something could not be determined (a read failed, a record is corrupt, …)
  3    drift detected";

#[derive(Debug, Parser)]
#[command(name = "helmfire", version, about = "Deploy whole Kubernetes platforms from one desired-state file", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// State file: a helmfire file, or a helmfile (`helmfile.yaml`, `*.gotmpl`, a `helmfile.d/`
    /// directory) [default: ./helmfire.yaml, ./helmfire.yml, ./helmfire.toml, else helmfile's
    /// ./helmfile.yaml, ./helmfile.yaml.gotmpl, ./helmfile.d/]
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Environment to use (must be listed under `environments`, except `default`; for a
    /// helmfile, `$HELMFILE_ENVIRONMENT` when not given). `import` takes it several times
    #[arg(short = 'e', long = "environment", global = true, value_name = "NAME")]
    pub environment: Vec<String>,
    /// Select releases: `key=value,key2!=value2` (ANDed); repeat the flag to OR. Keys: name, namespace, chart, or a label
    #[arg(short = 'l', long = "selector", global = true, value_name = "SELECTOR")]
    pub selector: Vec<String>,
    /// Also select the direct needs of selected releases
    #[arg(long, global = true, conflicts_with_all = ["include_transitive_needs", "skip_needs"])]
    pub include_needs: bool,
    /// Also select every transitive need of selected releases
    #[arg(long, global = true, conflicts_with = "skip_needs")]
    pub include_transitive_needs: bool,
    /// Ignore needs on releases that are not selected
    #[arg(long, global = true)]
    pub skip_needs: bool,
    /// Path to the kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context for every release (overrides the state file)
    #[arg(long, global = true, value_name = "NAME")]
    pub kube_context: Option<String>,
    /// How many releases to work on at once [default: 8]
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: Option<u16>,
    /// When to use colours
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only results and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Deadline of each cluster request and credential plugin run (e.g. 10s, 2m); retries of a request stop after twice that [default: $HELMFIRE_REQUEST_TIMEOUT, else 30s]
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
    /// Use only the chart cache: never download (fails when something is missing)
    #[arg(long, global = true)]
    pub offline: bool,
    /// Re-resolve charts whose lock entry no longer matches the state file, and rewrite the lock
    #[arg(long, global = true)]
    pub update_lock: bool,
    /// Work against embedded sandbox clusters whose state is kept in DIR, one per kube context (DIR/context-NAME for a named one)
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ".helmfire/sandbox"
    )]
    pub sandbox: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the state file completely, without a cluster
    Lint,
    /// List the selected releases
    List {
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
    },
    /// Print the dependency graph of the selected releases
    Graph {
        #[arg(short, long, value_enum, default_value_t = GraphOutput::Text)]
        output: GraphOutput,
    },
    /// Render every selected release's chart locally, as `helm template` would
    Template {
        /// Write one folder per release (`DIR/<namespace>/<name>/…`) instead of stdout
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
        /// Kubernetes version for `.Capabilities` [default: v1.35.0]
        #[arg(long, value_name = "VERSION")]
        kube_version: Option<String>,
        /// Extra API versions for `.Capabilities.APIVersions`
        #[arg(short = 'a', long, value_name = "GROUP/VERSION", value_delimiter = ',')]
        api_versions: Vec<String>,
        /// Include the charts' crds/ files
        #[arg(long)]
        include_crds: bool,
        /// Leave out test hooks
        #[arg(long)]
        skip_tests: bool,
    },
    /// Resolve every selected release's remote chart and write the state file's lock (foo.yaml → foo.lock)
    Deps,
    /// Download every chart the selected releases need into the cache (for air-gapped use)
    Fetch {
        /// Also copy the chart archives into this directory
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
    /// Show what `apply` would change: per release and object, with unified diffs (secrets masked)
    #[command(after_help = EXIT_CODES)]
    Diff {
        #[command(flatten)]
        plan: PlanArgs,
    },
    /// Converge the cluster to the state file: install, upgrade and uninstall what changed, over the dependency graph
    #[command(after_help = EXIT_CODES)]
    Apply {
        #[command(flatten)]
        plan: PlanArgs,
        /// Show the plan and stop, without changing anything
        #[arg(long)]
        dry_run: bool,
        /// Upgrade every selected release, changed or not
        #[arg(long)]
        force: bool,
    },
    /// Compare the live cluster with each release's deployed revision (no chart is rendered):
    /// what was changed, deleted or added out of band, and by which field manager
    #[command(after_help = DRIFT_EXIT_CODES)]
    Drift {
        /// Report format
        #[arg(short, long, value_enum, default_value_t = PlanOutput::Text)]
        output: PlanOutput,
        /// Every helm release the kubeconfig can see, in every namespace (no state file needed)
        #[arg(long)]
        all: bool,
        /// Record a Kubernetes Event (Warning, reason DriftDetected) on each drifted release's
        /// record, for the cluster's alerting
        #[arg(long)]
        events: bool,
    },
    /// Uninstall the selected releases, dependents first
    #[command(after_help = EXIT_CODES)]
    Destroy {
        /// Do not ask for confirmation (required without a terminal)
        #[arg(short, long)]
        yes: bool,
    },
    /// Helm-compatible chart commands: `chart template RELEASE CHART [helm template's flags]`
    #[command(disable_help_flag = true)]
    Chart {
        /// `template RELEASE CHART [FLAGS]`; `chart template --help` lists the flags
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "SUBCOMMAND")]
        args: Vec<String>,
    },
    /// Show the stored state of the selected releases, or of one release with its resources
    Status(StatusArgs),
    /// Show a release's revisions, as `helm history` does
    History(HistoryArgs),
    /// Print the JSON Schema of the state file
    Schema,
    /// Run a local Kubernetes API server (an emulator) that kubectl, helm and helmfire accept
    Sandbox(SandboxArgs),
    /// Print a shell completion script
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write a helmfile as a native helmfire state file (YAML, or TOML with `--toml`) on
    /// stdout: the same releases and values, with a comment wherever a judgement was made.
    /// `-e` may be given several times; environments that differ become `${{ }}` expressions
    Import {
        /// The helmfile (or `helmfile.d/`) [default: `-f`, else helmfile's default lookup]
        #[arg(value_name = "HELMFILE")]
        helmfile: Option<PathBuf>,
        /// Write TOML instead of YAML
        #[arg(long)]
        toml: bool,
    },
    /// Print helmfire's version
    Version,
    /// Roll a release back to an earlier revision (default: the one before the latest)
    Rollback(RollbackArgs),
}

/// Flags shared by `diff` and `apply`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Plan format
    #[arg(short, long, value_enum, default_value_t = PlanOutput::Text)]
    pub output: PlanOutput,
    /// Unchanged lines shown around each change
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub context: usize,
    /// Show Secret values in diffs instead of masking them
    #[arg(long)]
    pub show_secrets: bool,
    /// Exit with 2 when there are changes (0: none, 1: error)
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Do not read live objects: compare with the deployed revisions only (no drift)
    #[arg(long)]
    pub no_live: bool,
    /// Correct the drift of every selected release (re-apply drifted fields, recreate deleted
    /// objects), not only of those with `driftCorrection: true`
    #[arg(long)]
    pub correct_drift: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanOutput {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphOutput {
    Text,
    Dot,
    Mermaid,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One release to show with its resources (default: every selected release of the state file)
    pub release: Option<String>,
    /// Namespace of RELEASE [default: the state file's, else the kubeconfig context's]
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The release
    pub release: String,
    /// Namespace of RELEASE [default: the state file's, else the kubeconfig context's]
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Show at most this many revisions (the newest)
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max: usize,
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Keep the cluster's objects in this directory across runs (default: in memory only)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where to write a kubeconfig for the sandbox
    #[arg(long, default_value = ".helmfire/sandbox/kubeconfig", value_name = "PATH")]
    pub kubeconfig_out: PathBuf,
    /// The name of the cluster, user and context in that kubeconfig (give each sandbox its own
    /// to merge several into one `KUBECONFIG`)
    #[arg(long = "context-name", default_value = helmfire_sandbox::DEFAULT_CONTEXT, value_name = "NAME")]
    pub context_name: String,
    /// How long simulated controllers take to make workloads ready (e.g. 500ms, 2s)
    #[arg(long, default_value = "500ms", value_name = "DURATION")]
    pub controller_delay: String,
    /// Inject faults, e.g. `error=503:0.05@create|update/secrets;latency=20ms;drop=0.01;cut-watch=5s@watch/*`
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Seed for fault injection (same seed, same faults)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The release name
    #[arg(value_name = "RELEASE")]
    pub release: String,
    /// The revision to roll back to [default: the one before the latest]
    #[arg(value_name = "REVISION")]
    pub revision: Option<i32>,
    /// The release namespace [default: the state file's release of that name, else the kubeconfig's]
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Wait until the release's resources are ready
    #[arg(long)]
    pub wait: bool,
    /// Also wait for Jobs to complete
    #[arg(long)]
    pub wait_for_jobs: bool,
    /// How long to wait for the lock, each hook, and readiness
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: String,
    /// Revisions to keep (0: no limit)
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub history_max: u32,
    /// Do not run the rollback hooks
    #[arg(long)]
    pub no_hooks: bool,
}
