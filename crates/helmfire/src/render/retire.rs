//! Freeing what a render built — parsed templates, loaded files, value trees — is a
//! measurable share of a whole `chart template` process (a tenth of the template-heavy chart).
//! A process that exits after one render ([`exiting_after_this_render`]) does not free them at
//! all: the system takes the memory back at exit. Every other caller frees them in place.
//!
//! Handing them to a background thread to drop, as this module once did, was slower wherever
//! more than one render runs: glibc's `free` of memory from another thread's arena takes that
//! arena's lock against the renders still allocating from it, and memory freed late is not
//! reused by the next render. A 200-release `helmfire template` took 1.42–1.69 s with the thread
//! and 0.86–0.88 s without it; the in-process render of the 100-object chart 0.70 ms and 0.56 ms.

use std::sync::atomic::{AtomicBool, Ordering};

static EXITING: AtomicBool = AtomicBool::new(false);

/// Declares that the process ends after the current render: from now on [`retire`] leaves
/// values to the exit instead of freeing them. Only for values whose drop has no other effect
/// than freeing memory, which is all a render builds.
pub fn exiting_after_this_render() {
    EXITING.store(true, Ordering::Relaxed);
}

/// Drops `value`, unless the process is about to exit (then its memory goes with the process).
pub fn retire<T>(value: T) {
    if EXITING.load(Ordering::Relaxed) {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn retired_values_are_dropped_until_the_process_is_exiting() {
        let value = Arc::new(());
        let watch = Arc::downgrade(&value);
        retire(value);
        assert!(watch.upgrade().is_none(), "retired value was not dropped");
    }
}
