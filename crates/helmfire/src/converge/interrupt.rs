//! How a run is asked to stop, in two steps: the first request ([`Level::Draining`]) starts
//! nothing new and lets running actions finish; the second ([`Level::Aborting`]) also cuts
//! readiness, hook and Lease waits short, so each running action ends its record `failed` and
//! lets go of its Lease at once instead of waiting out its timeout.
//!
//! The CLI raises the level on SIGINT and SIGTERM; the scheduler (`converge::run`) and the
//! actions' waits read it. Nothing here knows about signals.

use tokio::sync::watch;

/// How far a run has been asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Not asked to stop.
    Running,
    /// Start nothing new; running actions finish.
    Draining,
    /// Also cut waits short: running actions fail now and record it.
    Aborting,
}

/// The side that asks a run to stop (the CLI's signal handler).
#[derive(Debug)]
pub struct Interrupter(watch::Sender<Level>);

impl Interrupter {
    /// Raises the level by one step and returns the new level.
    pub fn escalate(&self) -> Level {
        let mut now = Level::Running;
        self.0.send_modify(|level| {
            *level = match *level {
                Level::Running => Level::Draining,
                Level::Draining | Level::Aborting => Level::Aborting,
            };
            now = *level;
        });
        now
    }
}

/// The side a run reads. Clones see the same level.
#[derive(Clone, Debug)]
pub struct Interrupt(watch::Receiver<Level>);

impl Interrupt {
    /// A connected pair.
    pub fn channel() -> (Interrupter, Interrupt) {
        let (sender, receiver) = watch::channel(Level::Running);
        (Interrupter(sender), Interrupt(receiver))
    }

    /// An interrupt nobody can raise (tests, library callers without signals).
    pub fn never() -> Interrupt {
        let (_, interrupt) = Interrupt::channel();
        interrupt
    }

    /// The current level.
    pub fn level(&self) -> Level {
        *self.0.borrow()
    }

    /// Whether the run was asked to start nothing new.
    pub fn draining(&self) -> bool {
        self.level() >= Level::Draining
    }

    /// Whether waits must be cut short.
    pub fn aborting(&self) -> bool {
        self.level() >= Level::Aborting
    }

    /// Resolves once the level reaches `level`; never, when nobody can raise it any more.
    pub async fn reached(&self, level: Level) {
        let mut receiver = self.0.clone();
        if receiver.wait_for(|now| *now >= level).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Sleeps for `duration`, or less when the run is aborted meanwhile; `true` when aborted.
    pub async fn sleep(&self, duration: std::time::Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(duration) => self.aborting(),
            _ = self.reached(Level::Aborting) => true,
        }
    }
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt::never()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn two_requests_drain_then_abort() {
        let (interrupter, interrupt) = Interrupt::channel();
        assert_eq!(interrupt.level(), Level::Running);
        assert_eq!(interrupter.escalate(), Level::Draining);
        assert!(interrupt.draining() && !interrupt.aborting());
        // A drain does not cut sleeps short.
        assert!(!interrupt.sleep(Duration::from_millis(5)).await);
        let sleeper = tokio::spawn({
            let interrupt = interrupt.clone();
            async move { interrupt.sleep(Duration::from_secs(600)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(interrupter.escalate(), Level::Aborting);
        let aborted = tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("the sleep was cut short")
            .unwrap();
        assert!(aborted);
        assert_eq!(interrupter.escalate(), Level::Aborting, "the top level stays");
    }

    #[tokio::test]
    async fn a_never_interrupt_never_fires() {
        let interrupt = Interrupt::never();
        assert!(!interrupt.sleep(Duration::from_millis(5)).await);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), interrupt.reached(Level::Draining))
                .await
                .is_err()
        );
    }
}
