//! `helmfire sandbox`: runs the Kubernetes API emulator in the foreground until Ctrl-C.

use helmfire_sandbox::{FaultSpec, Sandbox, SandboxConfig, parse_duration};

use super::args::SandboxArgs;
use super::settings::Settings;
use super::{CommandResult, exit};

pub fn run(args: &SandboxArgs, settings: &Settings) -> CommandResult {
    let controller_delay = parse_duration(&args.controller_delay).ok_or_else(|| {
        format!(
            "invalid --controller-delay `{}`: expected a duration such as `500ms` or `2s`",
            args.controller_delay
        )
    })?;
    let faults = match &args.faults {
        Some(spec) => spec
            .parse::<FaultSpec>()
            .map_err(|e| format!("invalid --faults `{spec}`: {e}"))?,
        None => FaultSpec::default(),
    };
    let config = SandboxConfig {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        controller_delay,
        faults,
        seed: args.seed,
        // A server is long-lived: a folder in use is refused, not waited for.
        lock_wait: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let sandbox = Sandbox::start(config).await?;
        if let Some(parent) = args.kubeconfig_out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("failed to create `{}`: {e}", parent.display()))?;
        }
        sandbox.write_kubeconfig(&args.kubeconfig_out, &args.context_name)?;
        // The address is data (scripts read it); the rest is for people.
        println!("{}", sandbox.url());
        if !settings.quiet {
            eprintln!("sandbox: Kubernetes API on {} — press Ctrl-C to stop", sandbox.url());
            eprintln!("sandbox: export KUBECONFIG={}", args.kubeconfig_out.display());
            if let Some(dir) = &args.data_dir {
                eprintln!("sandbox: state kept in {}", dir.display());
            }
        }
        shutdown_signal().await;
        if !settings.quiet {
            eprintln!("sandbox: stopping");
        }
        sandbox.shutdown().await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })?;
    Ok(exit::OK)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
