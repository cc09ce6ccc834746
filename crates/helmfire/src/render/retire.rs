//! Freeing what a render built — parsed templates, loaded files, value trees — is a
//! measurable share of a whole `chart template` process (a tenth of the template-heavy chart),
//! and nothing waits for it. [`retire`] hands such values to one background thread that drops
//! them: a multi-release run frees them beside the next render. A process that exits after
//! one render ([`exiting_after_this_render`]) does not free them at all: the system takes the
//! memory back at exit, so the thread and its work would be spent for nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};

type Retired = Box<dyn Send>;

static EXITING: AtomicBool = AtomicBool::new(false);

/// Declares that the process ends after the current render: from now on [`retire`] leaves
/// values to the exit instead of freeing them. Only for values whose drop has no other effect
/// than freeing memory, which is all a render builds.
pub fn exiting_after_this_render() {
    EXITING.store(true, Ordering::Relaxed);
}

/// Drops `value` on the retiring thread (or here, if that thread cannot be started).
pub fn retire<T: Send + 'static>(value: T) {
    if EXITING.load(Ordering::Relaxed) {
        std::mem::forget(value);
        return;
    }
    static RETIRER: OnceLock<Option<Sender<Retired>>> = OnceLock::new();
    let sender = RETIRER.get_or_init(|| {
        let (tx, rx) = channel::<Retired>();
        let spawned = std::thread::Builder::new()
            .name("retire".into())
            .spawn(move || rx.into_iter().for_each(drop));
        spawned.ok().map(|_| tx)
    });
    if let Some(tx) = sender {
        // A send fails only if the thread died; then the value comes back and drops here.
        let _ = tx.send(Box::new(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn retired_values_are_dropped_off_the_calling_thread() {
        let value = Arc::new(());
        let watch = Arc::downgrade(&value);
        retire(value);
        let deadline = Instant::now() + Duration::from_secs(10);
        while watch.upgrade().is_some() {
            assert!(Instant::now() < deadline, "retired value was never dropped");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
