//! Per-node scheduling: hands out releases as soon as everything they wait for is done.
//!
//! Forward order (apply) waits for needs; reverse order (destroy) waits for dependents. A failed
//! release marks everything that waits on it, transitively, as skipped while independent
//! branches go on.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::ReleaseGraph;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Needs first (install, upgrade).
    Forward,
    /// Dependents first (uninstall).
    Reverse,
}

/// What happened to a release, as the scheduler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Waiting,
    Ready,
    Running,
    Done,
    Failed,
    /// Not run because a release it waits for failed (named here).
    Skipped {
        because: usize,
    },
}

pub struct Scheduler<'g> {
    graph: &'g ReleaseGraph,
    order: Order,
    /// How many prerequisites of each release are not done yet.
    blocking: HashMap<usize, usize>,
    steps: HashMap<usize, Step>,
    /// Earliest in the state file first.
    ready: BinaryHeap<Reverse<usize>>,
}

impl<'g> Scheduler<'g> {
    pub fn new(graph: &'g ReleaseGraph, order: Order) -> Scheduler<'g> {
        let mut scheduler = Scheduler {
            graph,
            order,
            blocking: HashMap::new(),
            steps: HashMap::new(),
            ready: BinaryHeap::new(),
        };
        for release in graph.releases() {
            let count = scheduler.prerequisites(release).len();
            scheduler.blocking.insert(release, count);
            if count == 0 {
                scheduler.steps.insert(release, Step::Ready);
                scheduler.ready.push(Reverse(release));
            } else {
                scheduler.steps.insert(release, Step::Waiting);
            }
        }
        scheduler
    }

    fn prerequisites(&self, release: usize) -> Vec<usize> {
        match self.order {
            Order::Forward => self.graph.needs(release),
            Order::Reverse => self.graph.dependents(release),
        }
    }

    fn successors(&self, release: usize) -> Vec<usize> {
        match self.order {
            Order::Forward => self.graph.dependents(release),
            Order::Reverse => self.graph.needs(release),
        }
    }

    /// The next release that may start now, marked running.
    pub fn next_ready(&mut self) -> Option<usize> {
        let Reverse(release) = self.ready.pop()?;
        self.steps.insert(release, Step::Running);
        Some(release)
    }

    /// Marks a running release done; its successors whose prerequisites are all done become ready.
    pub fn complete(&mut self, release: usize) {
        self.steps.insert(release, Step::Done);
        for next in self.successors(release) {
            if let Some(count) = self.blocking.get_mut(&next) {
                *count = count.saturating_sub(1);
                if *count == 0 && self.steps.get(&next) == Some(&Step::Waiting) {
                    self.steps.insert(next, Step::Ready);
                    self.ready.push(Reverse(next));
                }
            }
        }
    }

    /// Marks a running release failed and returns the releases skipped because of it.
    pub fn fail(&mut self, release: usize) -> Vec<usize> {
        self.steps.insert(release, Step::Failed);
        let mut skipped = Vec::new();
        let mut stack = self.successors(release);
        while let Some(next) = stack.pop() {
            if matches!(self.steps.get(&next), Some(Step::Waiting | Step::Ready)) {
                self.steps.insert(next, Step::Skipped { because: release });
                skipped.push(next);
                stack.extend(self.successors(next));
            }
        }
        self.ready.retain(|Reverse(r)| !skipped.contains(r));
        skipped.sort_unstable();
        skipped
    }

    pub fn step(&self, release: usize) -> Option<&Step> {
        self.steps.get(&release)
    }

    /// True when nothing is waiting, ready or running.
    pub fn is_finished(&self) -> bool {
        self.steps
            .values()
            .all(|s| matches!(s, Step::Done | Step::Failed | Step::Skipped { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::ReleaseGraph;
    use super::super::tests::releases;
    use super::*;

    const DIAMOND: &str = "repositories: [{name: r, url: 'https://charts.example.com'}]\nreleases:\n\
        - {name: db, chart: r/x}\n- {name: cache, chart: r/x}\n- {name: api, chart: r/x, needs: [db, cache]}\n\
        - {name: web, chart: r/x, needs: [api]}\n- {name: slow, chart: r/x}\n- {name: after-slow, chart: r/x, needs: [slow]}\n";

    #[test]
    fn a_release_starts_when_its_own_needs_finish_not_a_layer() {
        let releases = releases(DIAMOND);
        let graph = ReleaseGraph::build(&releases, &[0, 1, 2, 3, 4, 5]).unwrap();
        let mut scheduler = Scheduler::new(&graph, Order::Forward);
        let first: Vec<usize> = std::iter::from_fn(|| scheduler.next_ready()).collect();
        assert_eq!(first, [0, 1, 4]);
        scheduler.complete(0);
        assert_eq!(scheduler.next_ready(), None, "api still waits for cache");
        scheduler.complete(1);
        // `api` starts although `slow` (same "layer" as db/cache) is still running.
        assert_eq!(scheduler.next_ready(), Some(2));
        scheduler.complete(2);
        assert_eq!(scheduler.next_ready(), Some(3));
        scheduler.complete(3);
        scheduler.complete(4);
        assert_eq!(scheduler.next_ready(), Some(5));
        scheduler.complete(5);
        assert!(scheduler.is_finished());
    }

    #[test]
    fn failure_skips_dependents_only() {
        let releases = releases(DIAMOND);
        let graph = ReleaseGraph::build(&releases, &[0, 1, 2, 3, 4, 5]).unwrap();
        let mut scheduler = Scheduler::new(&graph, Order::Forward);
        while scheduler.next_ready().is_some() {}
        assert_eq!(scheduler.fail(0), [2, 3]);
        assert_eq!(scheduler.step(3), Some(&Step::Skipped { because: 0 }));
        scheduler.complete(1);
        scheduler.complete(4);
        assert_eq!(scheduler.next_ready(), Some(5));
        scheduler.complete(5);
        assert!(scheduler.is_finished());
    }

    #[test]
    fn reverse_order_tears_down_dependents_first() {
        let releases = releases(DIAMOND);
        let graph = ReleaseGraph::build(&releases, &[0, 1, 2, 3]).unwrap();
        let mut scheduler = Scheduler::new(&graph, Order::Reverse);
        let mut order = Vec::new();
        while let Some(release) = scheduler.next_ready() {
            order.push(release);
            scheduler.complete(release);
        }
        assert_eq!(order, [3, 2, 0, 1]);
    }
}
