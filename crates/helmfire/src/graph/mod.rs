//! ② The dependency graph of releases, from `needs`.
//!
//! Builds a petgraph DAG (rejecting cycles, printed whole), selects releases by selector with
//! helmfile's needs flags, and hands out releases for per-node scheduling: a release is ready the
//! moment all of its needs are done, never in layered batches. Knows nothing of charts or clusters.

mod display;
mod schedule;

use std::collections::{HashMap, HashSet, VecDeque};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::state::{Diagnostic, ReleaseId, ReleaseSpec, Selector, StateError};

pub use display::{GraphFormat, render};
pub use schedule::{Order, Scheduler, Step};

/// How `needs` outside the selection are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NeedsMode {
    /// A selected release whose needs are not selected is an error.
    #[default]
    Strict,
    /// Ignore needs outside the selection (`--skip-needs`).
    Skip,
    /// Select direct needs too (`--include-needs`).
    IncludeDirect,
    /// Select every transitive need (`--include-transitive-needs`).
    IncludeTransitive,
}

/// A DAG over some releases of a state file. Nodes are indexes into the release slice it was
/// built from; an edge `a → b` means `b` needs `a` (a finishes first).
#[derive(Debug)]
pub struct ReleaseGraph {
    graph: DiGraph<usize, ()>,
    nodes: HashMap<usize, NodeIndex>,
    ids: Vec<ReleaseId>,
}

impl ReleaseGraph {
    /// Builds the graph of `selection` (indexes into `releases`), dropping edges to releases
    /// outside it. Fails on a cycle, naming every release on it.
    pub fn build(releases: &[ReleaseSpec], selection: &[usize]) -> Result<ReleaseGraph, StateError> {
        let index_of: HashMap<&ReleaseId, usize> = releases.iter().enumerate().map(|(i, r)| (&r.id, i)).collect();
        let mut graph = DiGraph::with_capacity(selection.len(), selection.len());
        let mut nodes = HashMap::with_capacity(selection.len());
        let mut sorted = selection.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for &index in &sorted {
            nodes.insert(index, graph.add_node(index));
        }
        for &index in &sorted {
            for need in &releases[index].needs {
                if let Some(node) = index_of.get(need).and_then(|i| nodes.get(i)) {
                    graph.add_edge(*node, nodes[&index], ());
                }
            }
        }
        let ids = releases.iter().map(|r| r.id.clone()).collect();
        let built = ReleaseGraph { graph, nodes, ids };
        if let Some(cycle) = built.find_cycle() {
            let first = &releases[cycle[0]];
            let path: Vec<String> = cycle
                .iter()
                .chain(std::iter::once(&cycle[0]))
                .map(|&i| releases[i].id.to_string())
                .collect();
            let mut diagnostic = Diagnostic::new(
                format!("dependency cycle: {}", path.join(" -> ")),
                Some(first.location.clone()),
            )
            .with_hint("each release needs the next one; remove one of these `needs` to break the cycle");
            for &i in &cycle[1..] {
                diagnostic = diagnostic.with_note(
                    releases[i].location.clone(),
                    format!("`{}` is defined here", releases[i].id),
                );
            }
            return Err(diagnostic.into());
        }
        Ok(built)
    }

    /// Number of releases in the graph.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Release indexes in the graph, in state-file order.
    pub fn releases(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self.nodes.keys().copied().collect();
        all.sort_unstable();
        all
    }

    pub fn id(&self, release: usize) -> &ReleaseId {
        &self.ids[release]
    }

    /// The releases `release` needs that are in the graph, in state-file order.
    pub fn needs(&self, release: usize) -> Vec<usize> {
        self.neighbours(release, Direction::Incoming)
    }

    /// The releases in the graph that need `release`, in state-file order.
    pub fn dependents(&self, release: usize) -> Vec<usize> {
        self.neighbours(release, Direction::Outgoing)
    }

    fn neighbours(&self, release: usize, direction: Direction) -> Vec<usize> {
        let Some(&node) = self.nodes.get(&release) else {
            return Vec::new();
        };
        let mut out: Vec<usize> = self
            .graph
            .neighbors_directed(node, direction)
            .map(|n| self.graph[n])
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// A deterministic topological order: among ready releases, the earliest in the file first.
    pub fn topological_order(&self) -> Vec<usize> {
        let mut scheduler = Scheduler::new(self, Order::Forward);
        let mut order = Vec::with_capacity(self.len());
        while let Some(release) = scheduler.next_ready() {
            order.push(release);
            scheduler.complete(release);
        }
        order
    }

    /// A cycle as release indexes in `needs` direction (each needs the next), if there is one.
    fn find_cycle(&self) -> Option<Vec<usize>> {
        let components = petgraph::algo::tarjan_scc(&self.graph);
        let cyclic = components
            .into_iter()
            .filter(|c| c.len() > 1 || self.graph.contains_edge(c[0], c[0]))
            .min_by_key(|c| c.iter().map(|n| self.graph[*n]).min())?;
        let members: HashSet<NodeIndex> = cyclic.iter().copied().collect();
        let start = *cyclic.iter().min_by_key(|n| self.graph[**n])?;
        // Shortest path back to `start` following `needs` (incoming edges), within the component.
        let mut previous: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            let mut next: Vec<NodeIndex> = self
                .graph
                .neighbors_directed(node, Direction::Incoming)
                .filter(|n| members.contains(n))
                .collect();
            next.sort_by_key(|n| self.graph[*n]);
            for neighbour in next {
                if neighbour == start {
                    let mut path = vec![node];
                    while let Some(&p) = previous.get(path.last()?) {
                        path.push(p);
                    }
                    path.reverse();
                    return Some(path.into_iter().map(|n| self.graph[n]).collect());
                }
                if !previous.contains_key(&neighbour) && neighbour != start {
                    previous.insert(neighbour, node);
                    queue.push_back(neighbour);
                }
            }
        }
        None
    }
}

/// The releases a command works on: those the selector matches, plus needs as `mode` says.
/// Returns indexes into `releases` in state-file order.
pub fn select(releases: &[ReleaseSpec], selector: &Selector, mode: NeedsMode) -> Result<Vec<usize>, StateError> {
    let index_of: HashMap<&ReleaseId, usize> = releases.iter().enumerate().map(|(i, r)| (&r.id, i)).collect();
    let mut selected: Vec<bool> = releases.iter().map(|r| selector.matches(r)).collect();
    match mode {
        NeedsMode::Skip => {}
        NeedsMode::IncludeDirect => {
            let direct: Vec<usize> = (0..releases.len())
                .filter(|&i| selected[i])
                .flat_map(|i| releases[i].needs.iter().filter_map(|n| index_of.get(n).copied()))
                .collect();
            for need in direct {
                selected[need] = true;
            }
        }
        NeedsMode::IncludeTransitive => {
            let mut stack: Vec<usize> = (0..releases.len()).filter(|&i| selected[i]).collect();
            while let Some(i) = stack.pop() {
                for need in releases[i].needs.iter().filter_map(|n| index_of.get(n).copied()) {
                    if !selected[need] {
                        selected[need] = true;
                        stack.push(need);
                    }
                }
            }
        }
        NeedsMode::Strict => {
            let mut problems = Vec::new();
            for (i, release) in releases.iter().enumerate().filter(|(i, _)| selected[*i]) {
                for need in &release.needs {
                    if index_of.get(need).is_some_and(|&n| !selected[n]) {
                        problems.push(
                            Diagnostic::new(
                                format!("release `{}` needs `{need}`, which is not selected", release.id),
                                Some(releases[i].location.clone()),
                            )
                            .with_hint("add --include-needs (or --include-transitive-needs) to select it too, or --skip-needs to ignore it"),
                        );
                    }
                }
            }
            if !problems.is_empty() {
                return Err(StateError::Invalid(problems));
            }
        }
    }
    Ok((0..releases.len()).filter(|&i| selected[i]).collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::state::{LoadOptions, load_str};
    use std::path::Path;

    pub(crate) fn releases(text: &str) -> Vec<ReleaseSpec> {
        let options = LoadOptions {
            environment: "default".into(),
            ..Default::default()
        };
        load_str(Path::new("/nonexistent/helmfire.yaml"), text.to_string(), &options)
            .unwrap()
            .releases
    }

    const CHAIN: &str = "repositories: [{name: r, url: 'https://charts.example.com'}]\nreleases:\n\
        - {name: a, chart: r/x, needs: [b]}\n- {name: b, chart: r/x, needs: [c]}\n- {name: c, chart: r/x}\n- {name: d, chart: r/x}\n";

    #[test]
    fn topological_order_is_deterministic_and_respects_needs() {
        let releases = releases(CHAIN);
        let graph = ReleaseGraph::build(&releases, &[0, 1, 2, 3]).unwrap();
        let order: Vec<String> = graph
            .topological_order()
            .iter()
            .map(|&i| releases[i].id.name.to_string())
            .collect();
        assert_eq!(order, ["c", "b", "a", "d"]);
    }

    #[test]
    fn cycles_are_printed_whole() {
        let text = "repositories: [{name: r, url: 'https://charts.example.com'}]\nreleases:\n\
            - {name: a, chart: r/x, needs: [b]}\n- {name: b, chart: r/x, needs: [c]}\n- {name: c, chart: r/x, needs: [a]}\n";
        let releases = releases(text);
        let Err(StateError::Invalid(errors)) = ReleaseGraph::build(&releases, &[0, 1, 2]) else {
            panic!("no cycle found")
        };
        let error = &errors[0];
        assert_eq!(
            error.message,
            "dependency cycle: default/a -> default/b -> default/c -> default/a"
        );
        assert_eq!(error.notes.len(), 2);
    }

    #[test]
    fn selection_modes() {
        let releases = releases(CHAIN);
        let selector = Selector::parse(&["name=a"]).unwrap();
        let Err(StateError::Invalid(strict)) = select(&releases, &selector, NeedsMode::Strict) else {
            panic!("selected")
        };
        assert_eq!(
            strict[0].message,
            "release `default/a` needs `default/b`, which is not selected"
        );
        assert_eq!(select(&releases, &selector, NeedsMode::Skip).unwrap(), [0]);
        assert_eq!(select(&releases, &selector, NeedsMode::IncludeDirect).unwrap(), [0, 1]);
        assert_eq!(
            select(&releases, &selector, NeedsMode::IncludeTransitive).unwrap(),
            [0, 1, 2]
        );
        let by_label_or_name = Selector::parse(&["name=d", "name=c"]).unwrap();
        assert_eq!(select(&releases, &by_label_or_name, NeedsMode::Strict).unwrap(), [2, 3]);
    }
}
