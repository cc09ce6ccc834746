//! Shared harness for the sandbox conformance tests: starts a sandbox in-process, writes a
//! kubeconfig into a fresh temporary HOME, and runs the real kubectl/helm against it.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use helmfire_sandbox::{RunningSandbox, Sandbox, SandboxConfig};

pub use crate::support::oracle::locate as oracle;

/// A running sandbox plus a scratch HOME with a kubeconfig.
pub struct Cluster {
    pub sandbox: Option<RunningSandbox>,
    pub runtime: tokio::runtime::Runtime,
    pub home: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Cluster {
    pub fn start() -> Self {
        Self::start_with(SandboxConfig {
            controller_delay: Duration::from_millis(300),
            ..SandboxConfig::default()
        })
    }

    pub fn start_with(config: SandboxConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let sandbox = runtime.block_on(Sandbox::start(config)).expect("sandbox starts");
        let home = tempfile::tempdir().expect("temp home");
        let kubeconfig = home.path().join("kubeconfig");
        sandbox
            .write_kubeconfig(&kubeconfig, helmfire_sandbox::DEFAULT_CONTEXT)
            .expect("kubeconfig");
        Self {
            sandbox: Some(sandbox),
            runtime,
            home,
            kubeconfig,
        }
    }

    fn command(&self, binary: &str, args: &[&str]) -> Command {
        let mut command = Command::new(oracle(binary));
        let home = self.home.path();
        crate::support::postgres::clear_environment(&mut command);
        command
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", home)
            .env("HELM_CACHE_HOME", home.join("helm-cache"))
            .env("HELM_CONFIG_HOME", home.join("helm-config"))
            .env("HELM_DATA_HOME", home.join("helm-data"))
            .env_remove("HELM_DRIVER")
            .current_dir(crate::support::oracle::ROOT);
        command
    }

    pub fn run(&self, binary: &str, args: &[&str]) -> Output {
        self.command(binary, args)
            .output()
            .unwrap_or_else(|e| panic!("failed to run {binary}: {e}"))
    }

    pub fn run_stdin(&self, binary: &str, args: &[&str], stdin: &str) -> Output {
        use std::io::Write as _;
        let mut child = self
            .command(binary, args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("failed to run {binary}: {e}"));
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Runs helm with extra environment (e.g. `HELM_DRIVER`) and requires success; returns stdout.
    pub fn helm_env(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        let mut command = self.command("helm", args);
        command.envs(env.iter().copied());
        let output = command.output().unwrap_or_else(|e| panic!("failed to run helm: {e}"));
        ok("helm", args, output)
    }

    /// Runs kubectl and requires success; returns stdout.
    pub fn kubectl(&self, args: &[&str]) -> String {
        ok("kubectl", args, self.run("kubectl", args))
    }

    /// Runs helm and requires success; returns stdout.
    pub fn helm(&self, args: &[&str]) -> String {
        ok("helm", args, self.run("helm", args))
    }

    /// Runs kubectl and requires failure; returns stderr.
    pub fn kubectl_fails(&self, args: &[&str]) -> String {
        let output = self.run("kubectl", args);
        assert!(
            !output.status.success(),
            "kubectl {args:?} should fail but printed:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// `kubectl get -o json` parsed.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
        let text = self.kubectl(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("kubectl get output is not JSON ({e}):\n{text}"))
    }

    pub fn url(&self) -> String {
        self.sandbox.as_ref().expect("running").url()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            let _ = self.runtime.block_on(sandbox.shutdown());
        }
    }
}

pub fn ok(binary: &str, args: &[&str], output: Output) -> String {
    assert!(
        output.status.success(),
        "{binary} {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Path of a fixture under testdata/sandbox.
pub fn fixture(name: &str) -> String {
    format!("{}/testdata/sandbox/{name}", crate::support::oracle::ROOT)
}
