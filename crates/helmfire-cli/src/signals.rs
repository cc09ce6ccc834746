//! SIGINT (Ctrl-C) and SIGTERM (CI cancellation, Pod shutdown) stop a writing command the same
//! way, in steps:
//!
//! 1. the first starts nothing new and lets running releases finish;
//! 2. the second cuts readiness, hook and lock waits short: each running release ends its
//!    record `failed` and lets go of its Lease at once;
//! 3. the third exits at once (a release still writing may then stay `pending-*` until the next
//!    run recovers it once its Lease expires).
//!
//! Either way the command exits with [`exit::INTERRUPTED`] (130, also for SIGTERM): a clean stop
//! is told apart from a process killed by the signal, which a shell reports as 128 + the signal.

use helmfire::converge::{Interrupt, Level};

use super::exit;

/// Starts listening for SIGINT and SIGTERM; the returned interrupt follows the steps above.
/// Must be called inside the runtime.
pub fn listen(quiet: bool) -> Interrupt {
    let (interrupter, interrupt) = Interrupt::channel();
    let mut signals = Signals::new();
    tokio::spawn(async move {
        let mut received = 0;
        while let Some(signal) = signals.next().await {
            received += 1;
            if received >= 3 {
                eprintln!("{signal} received a third time: exiting now");
                std::process::exit(exit::INTERRUPTED);
            }
            let level = interrupter.escalate();
            if quiet {
                continue;
            }
            match level {
                Level::Draining => eprintln!(
                    "{signal} received: starting nothing new, letting running releases finish (send it again to stop waiting)"
                ),
                Level::Aborting => eprintln!(
                    "{signal} received again: cutting waits short; running releases are recorded as failed (a third signal exits at once)"
                ),
                Level::Running => {}
            }
        }
    });
    interrupt
}

/// The SIGINT and SIGTERM streams, registered before the command does anything else so that
/// no signal falls back to the default action (an abrupt exit) once listening started.
#[cfg(unix)]
struct Signals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

#[cfg(unix)]
impl Signals {
    fn new() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals(
            signal(SignalKind::interrupt())
                .ok()
                .zip(signal(SignalKind::terminate()).ok()),
        )
    }

    /// The next signal, by name; `None` when signals cannot be received.
    async fn next(&mut self) -> Option<&'static str> {
        let (interrupt, terminate) = self.0.as_mut()?;
        tokio::select! {
            received = interrupt.recv() => received.map(|()| "SIGINT"),
            received = terminate.recv() => received.map(|()| "SIGTERM"),
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> Signals {
        Signals
    }

    async fn next(&mut self) -> Option<&'static str> {
        tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
    }
}
