//! The graph as text, Graphviz dot, Mermaid or JSON, for `helmfire graph`.

use crate::state::ReleaseSpec;

use super::ReleaseGraph;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Text,
    Dot,
    Mermaid,
    Json,
}

/// Renders the graph; releases appear in topological order, edges point from a need to the
/// release that needs it (the order they are converged in).
pub fn render(releases: &[ReleaseSpec], graph: &ReleaseGraph, format: GraphFormat) -> String {
    let order = graph.topological_order();
    let id = |i: usize| releases[i].id.to_string();
    let mut out = String::new();
    match format {
        GraphFormat::Text => {
            for &release in &order {
                out.push_str(&id(release));
                if !releases[release].installed {
                    out.push_str(" (uninstall)");
                }
                let needs = graph.needs(release);
                if !needs.is_empty() {
                    out.push_str(" <- ");
                    out.push_str(&needs.iter().map(|&n| id(n)).collect::<Vec<_>>().join(", "));
                }
                out.push('\n');
            }
        }
        GraphFormat::Dot => {
            out.push_str("digraph helmfire {\n  rankdir=LR;\n  node [shape=box];\n");
            for &release in &order {
                let style = if releases[release].installed {
                    ""
                } else {
                    " style=dashed"
                };
                out.push_str(&format!("  \"{}\" [label=\"{}\"{style}];\n", id(release), id(release)));
            }
            for &release in &order {
                for need in graph.needs(release) {
                    out.push_str(&format!("  \"{}\" -> \"{}\";\n", id(need), id(release)));
                }
            }
            out.push_str("}\n");
        }
        GraphFormat::Mermaid => {
            out.push_str("graph LR\n");
            for &release in &order {
                out.push_str(&format!("  r{release}[\"{}\"]\n", id(release)));
            }
            for &release in &order {
                for need in graph.needs(release) {
                    out.push_str(&format!("  r{need} --> r{release}\n"));
                }
            }
        }
        GraphFormat::Json => {
            let nodes: Vec<serde_json::Value> = order
                .iter()
                .map(|&release| {
                    serde_json::json!({
                        "id": id(release),
                        "installed": releases[release].installed,
                        "needs": graph.needs(release).into_iter().map(id).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let value = serde_json::json!({ "releases": nodes });
            out = serde_json::to_string_pretty(&value).unwrap_or_default();
            out.push('\n');
        }
    }
    out
}
