//! An artifact's lineage drawn as an SVG picture, left to right: the commits its build used, the
//! pipeline run, its ancestors (base images, the binaries it packages), the artifact, its
//! descendants, and the environments they run in. Artifacts link to their dossier.
//!
//! Layout is by columns (distance from the artifact) and rows (order of appearance); long names
//! are shortened on the picture and whole in each node's tooltip.

use std::collections::BTreeMap;
use std::fmt::Write;

use dossier_lineage::{Lineage, Source};

use crate::html::{esc, query_value};

const COLUMN: i64 = 250;
const ROW: i64 = 40;
const NODE_W: i64 = 220;
const NODE_H: i64 = 28;
const TOP: i64 = 40;
const LABEL: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Commit,
    Run,
    Artifact,
    Focus,
    Environment,
}

struct Node {
    label: String,
    kind: Kind,
    column: i64,
    row: i64,
}

/// Nodes by name, in order of arrival, and edges between them.
#[derive(Default)]
struct Drawing {
    index: BTreeMap<String, usize>,
    nodes: Vec<Node>,
    edges: Vec<(usize, usize)>,
}

impl Drawing {
    fn node(&mut self, name: &str, kind: Kind, column: i64) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let row = self.nodes.iter().filter(|n| n.column == column).count() as i64;
        self.nodes.push(Node { label: name.to_owned(), kind, column, row });
        self.index.insert(name.to_owned(), self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize) {
        if !self.edges.contains(&(from, to)) {
            self.edges.push((from, to));
        }
    }
}

fn short(s: &str) -> String {
    if s.chars().count() <= LABEL {
        return s.to_owned();
    }
    let head: String = s.chars().take(LABEL - 1).collect();
    format!("{head}…")
}

/// How an artifact on the picture was built: the run and the commits it used.
pub struct Build {
    pub artifact: String,
    pub run: String,
    /// The entry that says the run built it.
    pub seq: u64,
    pub sources: Vec<Source>,
}

/// The builds of `l`'s artifact and of its ancestors, as the graph knows them.
pub fn builds(graph: &dossier_lineage::Graph, l: &Lineage) -> Vec<Build> {
    std::iter::once(l.artifact.as_str())
        .chain(l.ancestors.iter().map(|e| e.parent.as_str()))
        .filter_map(|a| {
            let own = if a == l.artifact { Some(l.clone()) } else { graph.lineage(a) };
            let own = own?;
            let (run, seq) = own.built_by?;
            Some(Build { artifact: a.to_owned(), run, seq, sources: own.sources })
        })
        .collect()
}

/// The picture of `l`, with the `builds` of the artifacts on it.
pub fn svg(l: &Lineage, builds: &[Build]) -> String {
    let mut d = Drawing::default();
    d.node(&l.artifact, Kind::Focus, 0);
    // Ancestors: each parent one column further left than its child.
    let mut depth: BTreeMap<&str, i64> = BTreeMap::from([(l.artifact.as_str(), 0)]);
    for e in &l.ancestors {
        let child = depth.get(e.artifact.as_str()).copied().unwrap_or(0);
        let column = child - 1;
        depth.entry(e.parent.as_str()).or_insert(column);
        let (p, c) = (d.node(&e.parent, Kind::Artifact, column), d.node(&e.artifact, Kind::Artifact, child));
        d.edge(p, c);
    }
    for e in &l.descendants {
        let parent = depth.get(e.parent.as_str()).copied().unwrap_or(0);
        depth.entry(e.artifact.as_str()).or_insert(parent + 1);
        let (p, c) = (d.node(&e.parent, Kind::Artifact, parent), d.node(&e.artifact, Kind::Artifact, parent + 1));
        d.edge(p, c);
    }
    let leftmost = d.nodes.iter().map(|n| n.column).min().unwrap_or(0);
    let rightmost = d.nodes.iter().map(|n| n.column).max().unwrap_or(0);
    for b in builds {
        let built = d.node(&b.artifact, Kind::Artifact, depth.get(b.artifact.as_str()).copied().unwrap_or(0));
        let r = d.node(&b.run, Kind::Run, leftmost - 1);
        d.edge(r, built);
        for s in &b.sources {
            let c = d.node(&format!("{}@{}", s.repository, s.commit), Kind::Commit, leftmost - 2);
            d.edge(c, r);
        }
    }
    for dep in &l.deployments {
        let a = d.node(&dep.artifact, Kind::Artifact, depth.get(dep.artifact.as_str()).copied().unwrap_or(0));
        let env = d.node(&dep.environment, Kind::Environment, rightmost + 1);
        d.edge(a, env);
    }

    let first = d.nodes.iter().map(|n| n.column).min().unwrap_or(0);
    let columns = d.nodes.iter().map(|n| n.column).max().unwrap_or(0) - first + 1;
    let rows = d.nodes.iter().map(|n| n.row).max().unwrap_or(0) + 1;
    let (width, height) = (columns * COLUMN + 20, TOP + rows * ROW + 10);
    let at = |n: &Node| ((n.column - first) * COLUMN + 10, TOP + n.row * ROW);
    let mut out = format!(
        r#"<svg class="lineage" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="group" aria-labelledby="lineage-title" xmlns="http://www.w3.org/2000/svg"><title id="lineage-title">Lineage of {}: {} nodes</title>"#,
        esc(&l.artifact),
        d.nodes.len()
    );
    let mut headings: BTreeMap<i64, &str> = BTreeMap::new();
    for n in &d.nodes {
        let name = match n.kind {
            Kind::Commit => "Sources",
            Kind::Run => "Build",
            Kind::Focus => "This artifact",
            Kind::Environment => "Runs in",
            Kind::Artifact if n.column < 0 => "Derived from",
            Kind::Artifact => "Derived into",
        };
        headings.entry(n.column).or_insert(name);
    }
    for (column, name) in headings {
        let _ = write!(out, r#"<text class="col" x="{}" y="20">{name}</text>"#, (column - first) * COLUMN + 10);
    }
    for &(from, to) in &d.edges {
        let ((x1, y1), (x2, y2)) = (at(&d.nodes[from]), at(&d.nodes[to]));
        let (x1, y1, x2, y2) = (x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2);
        let mid = (x1 + x2) / 2;
        let _ = write!(out, r##"<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="#8c959f" stroke-width="1.5"/>"##);
    }
    for n in &d.nodes {
        let (x, y) = at(n);
        let (fill, stroke) = match n.kind {
            Kind::Focus => ("#0b5cad", "#0b5cad"),
            Kind::Commit => ("#eef6ee", "#1a7f37"),
            Kind::Run => ("#fff8e6", "#9a6700"),
            Kind::Environment => ("#f3eefc", "#6639ba"),
            Kind::Artifact => ("#eaf2fb", "#0b5cad"),
        };
        let ink = if n.kind == Kind::Focus { r#" class="focus""# } else { "" };
        let shape = format!(
            r#"<title>{}</title><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" stroke="{stroke}"/><text x="{}" y="{}"{ink}>{}</text>"#,
            esc(&n.label),
            x + 8,
            y + 18,
            esc(&short(&n.label))
        );
        let href = match n.kind {
            Kind::Artifact | Kind::Focus => Some(format!("/ui/artifact?purl={}", query_value(&n.label))),
            Kind::Run | Kind::Commit | Kind::Environment => Some(format!("/ui/events?subject={}", query_value(&n.label))),
        };
        match href {
            Some(h) => {
                let _ = write!(out, r#"<a href="{}">{shape}</a>"#, esc(&h));
            }
            None => out.push_str(&shape),
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_lineage::{Deployment, Edge};

    fn lineage() -> Lineage {
        Lineage {
            artifact: "pkg:oci/shop@sha256%3Aa".into(),
            deleted: None,
            quarantined: None,
            built_by: Some(("run-42".into(), 3)),
            sources: vec![Source { repository: "https://github.com/x/shop".into(), commit: "abc".into(), seq: 2 }],
            origins: vec![],
            ancestors: vec![
                Edge { artifact: "pkg:oci/shop@sha256%3Aa".into(), parent: "pkg:oci/base@1".into(), seq: 4 },
                Edge { artifact: "pkg:oci/base@1".into(), parent: "pkg:oci/os@1".into(), seq: 1 },
            ],
            descendants: vec![Edge { artifact: "pkg:oci/shop-debug@1".into(), parent: "pkg:oci/shop@sha256%3Aa".into(), seq: 5 }],
            deployments: vec![Deployment {
                environment: "prod-eu".into(),
                service: "shop".into(),
                artifact: "pkg:oci/shop-debug@1".into(),
                seq: 6,
            }],
            vulnerabilities: vec![],
            vex: vec![],
        }
    }

    fn own_build(l: &Lineage) -> Vec<Build> {
        vec![Build { artifact: l.artifact.clone(), run: "run-42".into(), seq: 3, sources: l.sources.clone() }]
    }

    #[test]
    fn every_node_is_drawn_once_in_its_column_and_artifacts_link_to_their_dossier() {
        let l = lineage();
        let s = svg(&l, &own_build(&l));
        assert!(s.contains("Lineage of pkg:oci/shop@sha256%3Aa: 7 nodes"), "{s}");
        for heading in ["Sources", "Build", "Derived from", "This artifact", "Derived into", "Runs in"] {
            assert!(s.contains(&format!(">{heading}</text>")), "{heading}");
        }
        assert_eq!(s.matches("<rect").count(), 7);
        assert_eq!(s.matches("<path").count(), 6, "commit→run→artifact, os→base→shop→debug, debug→prod-eu");
        assert!(s.contains(r#"href="/ui/artifact?purl=pkg%3Aoci%2Fbase%401""#));
        // Ancestors to the left of the artifact, in order of distance.
        let x_of = |name: &str| {
            let at = s.find(&format!("<title>{name}</title><rect x=\"")).unwrap() + name.len() + 24;
            s[at..].split('"').next().unwrap().parse::<i64>().unwrap()
        };
        assert!(x_of("pkg:oci/os@1") < x_of("pkg:oci/base@1") && x_of("pkg:oci/base@1") < x_of("pkg:oci/shop@sha256%3Aa"));
        assert!(x_of("run-42") < x_of("pkg:oci/os@1"));
    }

    #[test]
    fn an_ancestors_build_is_drawn_before_it() {
        let l = lineage();
        let builds = vec![Build { artifact: "pkg:oci/base@1".into(), run: "base-build-7".into(), seq: 1, sources: vec![] }];
        let s = svg(&l, &builds);
        assert_eq!(s.matches("<rect").count(), 6);
        assert!(s.contains("<title>base-build-7</title>") && s.contains(">Build</text>"));
    }

    #[test]
    fn long_names_are_shortened_on_the_picture_only() {
        let mut l = lineage();
        l.artifact = format!("pkg:oci/{}@1", "x".repeat(60));
        let s = svg(&l, &[]);
        assert!(s.contains(&format!("<title>{}</title>", l.artifact)));
        assert!(s.contains(&format!(">{}…</text>", &l.artifact[..LABEL - 1])));
    }
}
