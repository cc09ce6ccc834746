//! Deeply nested values without stack overflows: the codecs recurse like Go's, and Go allows
//! 10 000 levels, far more than a default 2 MiB thread stack holds. Every [`SEGMENT`] levels
//! the recursion continues on a fresh thread with its own stack, so depth costs threads only
//! for pathological inputs and nothing for real charts.

/// Levels of recursion run on one stack before moving to a new one.
pub(crate) const SEGMENT: usize = 128;

/// Stack for one segment; generous for unoptimised builds, only touched pages are committed.
const SEGMENT_STACK: usize = 64 << 20;

/// Runs `f` on a new stack when `depth` starts a new segment, else inline. `None` when the
/// operating system refuses another thread (the caller reports its nesting error then).
pub(crate) fn segmented<R: Send>(depth: usize, f: impl FnOnce() -> R + Send) -> Option<R> {
    if depth == 0 || !depth.is_multiple_of(SEGMENT) {
        return Some(f());
    }
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("helmfire-deep-value".to_string())
            .stack_size(SEGMENT_STACK)
            .spawn_scoped(scope, f)
            .ok()?;
        match handle.join() {
            Ok(result) => Some(result),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
