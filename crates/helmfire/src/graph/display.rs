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

/// The releases of `order` grouped by the kube context of their id (set only when the state
/// file's releases use several), groups in order of first appearance; one group with no
/// context otherwise.
fn by_context<'a>(releases: &'a [ReleaseSpec], order: &[usize]) -> Vec<(Option<&'a str>, Vec<usize>)> {
    let mut groups: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for &release in order {
        let context = releases[release].id.context.as_deref();
        match groups.iter_mut().find(|(c, _)| *c == context) {
            Some((_, members)) => members.push(release),
            None => groups.push((context, vec![release])),
        }
    }
    groups
}

/// A Graphviz string inside double quotes.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
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
            for (position, (context, members)) in by_context(releases, &order).into_iter().enumerate() {
                let indent = match context {
                    Some(context) => {
                        out.push_str(&format!(
                            "  subgraph cluster_{position} {{\n    label=\"{}\";\n",
                            escape(context)
                        ));
                        "    "
                    }
                    None => "  ",
                };
                for release in members {
                    let style = if releases[release].installed {
                        ""
                    } else {
                        " style=dashed"
                    };
                    let name = escape(&id(release));
                    out.push_str(&format!("{indent}\"{name}\" [label=\"{name}\"{style}];\n"));
                }
                if context.is_some() {
                    out.push_str("  }\n");
                }
            }
            for &release in &order {
                for need in graph.needs(release) {
                    out.push_str(&format!(
                        "  \"{}\" -> \"{}\";\n",
                        escape(&id(need)),
                        escape(&id(release))
                    ));
                }
            }
            out.push_str("}\n");
        }
        GraphFormat::Mermaid => {
            out.push_str("graph LR\n");
            for (position, (context, members)) in by_context(releases, &order).into_iter().enumerate() {
                let indent = match context {
                    Some(context) => {
                        out.push_str(&format!(
                            "  subgraph c{position}[\"{}\"]\n",
                            context.replace('"', "#quot;")
                        ));
                        "    "
                    }
                    None => "  ",
                };
                for release in members {
                    out.push_str(&format!("{indent}r{release}[\"{}\"]\n", id(release)));
                }
                if context.is_some() {
                    out.push_str("  end\n");
                }
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
                        "context": releases[release].kube_context,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::releases;

    const TWO_CLUSTERS: &str = "repositories: [{name: r, url: 'https://charts.example.com'}]\nreleases:\n\
        - {name: db, namespace: data, chart: r/x, kubeContext: east}\n\
        - {name: web, namespace: app, chart: r/x, kubeContext: west, needs: [east/data/db]}\n";

    #[test]
    fn several_contexts_are_grouped_and_named() {
        let releases = releases(TWO_CLUSTERS);
        let graph = ReleaseGraph::build(&releases, &[0, 1]).unwrap();
        assert_eq!(
            render(&releases, &graph, GraphFormat::Text),
            "east/data/db\nwest/app/web <- east/data/db\n"
        );
        let dot = render(&releases, &graph, GraphFormat::Dot);
        assert!(
            dot.contains(
                "  subgraph cluster_0 {\n    label=\"east\";\n    \"east/data/db\" [label=\"east/data/db\"];\n  }\n"
            ),
            "{dot}"
        );
        assert!(dot.contains("  \"east/data/db\" -> \"west/app/web\";\n"), "{dot}");
        let mermaid = render(&releases, &graph, GraphFormat::Mermaid);
        assert!(
            mermaid.contains("  subgraph c1[\"west\"]\n    r1[\"west/app/web\"]\n  end\n"),
            "{mermaid}"
        );
        let json: serde_json::Value = serde_json::from_str(&render(&releases, &graph, GraphFormat::Json)).unwrap();
        assert_eq!(json["releases"][1]["context"], "west");
        assert_eq!(json["releases"][1]["needs"][0], "east/data/db");
    }

    #[test]
    fn one_context_is_not_grouped() {
        let text = "repositories: [{name: r, url: 'https://charts.example.com'}]\nreleases:\n\
            - {name: a, chart: r/x, kubeContext: only}\n";
        let releases = releases(text);
        let graph = ReleaseGraph::build(&releases, &[0]).unwrap();
        let dot = render(&releases, &graph, GraphFormat::Dot);
        assert!(!dot.contains("subgraph"), "{dot}");
        let json: serde_json::Value = serde_json::from_str(&render(&releases, &graph, GraphFormat::Json)).unwrap();
        assert_eq!(json["releases"][0]["context"], "only");
        assert_eq!(json["releases"][0]["id"], "default/a");
    }
}
