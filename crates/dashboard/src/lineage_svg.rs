//! An artifact's lineage drawn as an SVG picture, left to right: the commits and pipeline runs
//! that built it and its ancestors, its ancestors (base images, the binaries it packages), the
//! artifact, its descendants, and the environments they run in.
//!
//! The rules of the picture, each held by a test below:
//!
//! * **The artifact is in the middle of the first view.** The picture is laid out in columns
//!   (the artifact's is 0, ancestors to the left, descendants to the right) and rows; the first
//!   view (the SVG's `viewBox`) is the whole picture when it fits [`VIEW_W`] × [`VIEW_H`], else
//!   a window of that size centred on the artifact. The page's script zooms and pans it.
//! * **Long chains and large fan-outs are counted groups.** A run of more than
//!   [`CHAIN`] artifacts each with one parent and one child shows its ends and one group
//!   between them; an artifact with more than [`FAN`] children (or parents) shows the first
//!   `FAN - 1` and one group for the rest and what lies beyond them. A group is a link to the
//!   same page with it expanded (`expand=`, by the name of the artifact it hangs from). At
//!   most [`MAX_NODES`] artifacts are drawn whatever is expanded; the rest are a group that
//!   says so.
//! * **Edges never pass behind a node.** Edges run in the gutters between columns and in the
//!   gaps between rows, never through a box.
//! * **Labels tell digests apart.** An artifact is labelled by its package name and version,
//!   a digest by as many of its first hex digits as tell it from the others on the picture;
//!   the whole purl is its tooltip.
//! * **Each artifact says its state**: quarantined, deleted, its worst vulnerability not
//!   waived, how many a VEX statement waives, and where it runs.
//!
//! Artifacts link to their dossier, runs and commits to the entry that states them, clusters
//! to their section of the environments page.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Write;

use dossier_lineage::{ArtifactStatus, Lineage, Severity, Source};

use crate::html::{esc, query_value, Mark};

/// Horizontal distance between columns, and a node's width: the gutter between is for edges.
const COLUMN: i64 = 264;
const NODE_W: i64 = 220;
const GUTTER: i64 = COLUMN - NODE_W;
/// Vertical distance between rows, and a node's height: the gap between is for edges.
const ROW: i64 = 56;
const NODE_H: i64 = 40;
const GAP: i64 = ROW - NODE_H;
/// Room above the first row for the columns' headings, and around the picture.
const TOP: i64 = 36;
const MARGIN: i64 = 12;
/// The largest first view; a larger picture opens on a window of this size.
pub const VIEW_W: i64 = 1320;
pub const VIEW_H: i64 = 560;
/// Children (or parents) of one artifact drawn before the others become a group.
pub const FAN: usize = 8;
/// Artifacts in a chain drawn before its middle becomes a group.
pub const CHAIN: usize = 3;
/// Artifacts drawn at most, whatever is expanded.
pub const MAX_NODES: usize = 240;
/// Commits of one run drawn at most.
const COMMITS: usize = 6;
/// Characters of a label; hex digits of a digest shown at least.
const LABEL: usize = 30;
const DIGEST_MIN: usize = 8;
/// Hex digits of a digest shown whole at most; past them, its start and the digits up to the
/// one that tells it apart.
const DIGEST_SHOWN: usize = 12;
/// Characters of a node's second line, its state.
const STATE: usize = 36;
/// Groups expanded at once, at most (`expand=` names more: the first are taken).
pub const MAX_EXPANDED: usize = 16;

/// How an artifact on the picture was built: the run and the commits it used.
pub struct Build {
    pub artifact: String,
    pub run: String,
    /// The entry that says the run built it.
    pub seq: u64,
    pub sources: Vec<Source>,
}

/// What the picture asks of the graph about the artifacts it draws, and only those.
pub trait Known {
    fn build(&self, artifact: &str) -> Option<Build>;
    fn status(&self, artifact: &str) -> Option<ArtifactStatus>;
}

impl Known for dossier_lineage::Graph {
    fn build(&self, artifact: &str) -> Option<Build> {
        let (run, seq, sources) = self.build_of(artifact)?;
        Some(Build { artifact: artifact.to_owned(), run, seq, sources })
    }

    fn status(&self, artifact: &str) -> Option<ArtifactStatus> {
        dossier_lineage::Graph::status(self, artifact)
    }
}

/// The builds of `l`'s artifact and of its ancestors, as the graph knows them (for the page's
/// story of source → build → artifact).
pub fn builds(known: &dyn Known, l: &Lineage) -> Vec<Build> {
    let mut seen = HashSet::new();
    std::iter::once(l.artifact.as_str())
        .chain(l.ancestors.iter().map(|e| e.parent.as_str()))
        .filter(|a| seen.insert(*a))
        .filter_map(|a| known.build(a))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Commit,
    Run,
    Artifact,
    Focus,
    Environment,
    /// Artifacts drawn as one node, with their count.
    Group,
}

/// Why artifacts are a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouped {
    /// The middle of a chain.
    Chain,
    /// Children (or parents) of one artifact past the first `FAN - 1`, and what lies beyond.
    Fan,
    /// Past [`MAX_NODES`]: not drawn, whatever is expanded.
    Cap,
    /// Commits of a run past [`COMMITS`].
    Commits,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// The artifact's purl, the run's name, `repository@commit`, the environment; for a group,
    /// the name of the artifact it hangs from.
    pub name: String,
    pub column: i64,
    pub row: i64,
    /// For a group: why, and the artifacts in it (those next to the anchor first).
    pub grouped: Option<Grouped>,
    pub members: Vec<String>,
    /// The entry that states a run's build or a commit's use.
    pub seq: Option<u64>,
    /// For an environment: the services running something of the picture there.
    pub services: Vec<String>,
}

impl Node {
    /// The node's box: left, top, right, bottom.
    pub fn rect(&self, first: i64) -> (i64, i64, i64, i64) {
        let x = MARGIN + (self.column - first) * COLUMN;
        let y = TOP + self.row * ROW;
        (x, y, x + NODE_W, y + NODE_H)
    }
}

/// An edge: (from, to) node indices, left to right, and its route: points joined by straight
/// lines.
pub type Routed = (usize, usize, Vec<(i64, i64)>);

/// The picture before it is written: nodes placed, edges routed.
pub struct Layout {
    pub nodes: Vec<Node>,
    pub edges: Vec<Routed>,
    pub width: i64,
    pub height: i64,
    /// The first view: x, y, width, height.
    pub view: (i64, i64, i64, i64),
    first: i64,
}

impl Layout {
    pub fn rect(&self, i: usize) -> (i64, i64, i64, i64) {
        self.nodes[i].rect(self.first)
    }

    #[cfg(test)]
    pub fn find(&self, kind: Kind, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.kind == kind && n.name == name)
    }
}

/// One side of the artifact: its ancestors (up) or its descendants (down), as edges from
/// each artifact to its neighbours on that side, in the lineage's order.
struct Side<'a> {
    next: HashMap<&'a str, Vec<&'a str>>,
    back: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Side<'a> {
    fn new(edges: impl Iterator<Item = (&'a str, &'a str)>) -> Side<'a> {
        let mut next: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut back: HashMap<&str, Vec<&str>> = HashMap::new();
        for (from, to) in edges {
            let list = next.entry(from).or_default();
            if !list.contains(&to) {
                list.push(to);
                back.entry(to).or_default().push(from);
            }
        }
        Side { next, back }
    }

    fn next(&self, a: &str) -> &[&'a str] {
        self.next.get(a).map(Vec::as_slice).unwrap_or_default()
    }

    fn back(&self, a: &str) -> &[&'a str] {
        self.back.get(a).map(Vec::as_slice).unwrap_or_default()
    }
}

/// Where each artifact of a side is: drawn, or in group `g`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Drawn,
    In(usize),
}

struct Group<'a> {
    anchor: &'a str,
    grouped: Grouped,
    members: Vec<&'a str>,
}

/// Decides which artifacts of a side are drawn and which are grouped, walking out from the
/// artifact nearest first. `drawn` counts the artifacts drawn on both sides; past
/// [`MAX_NODES`], the rest of the side is one group, hung from the artifact.
fn walk<'a>(
    focus: &'a str,
    side: &Side<'a>,
    expanded: &BTreeSet<String>,
    groups: &mut Vec<Group<'a>>,
    drawn: &mut usize,
) -> HashMap<&'a str, Place> {
    let mut place: HashMap<&'a str, Place> = HashMap::from([(focus, Place::Drawn)]);
    let mut queue = VecDeque::from([focus]);
    let mut cap: Option<usize> = None;
    // The artifacts of a chain opened: drawn whole, none of them grouping the rest again.
    let mut opened: HashSet<&'a str> = HashSet::new();
    while let Some(x) = queue.pop_front() {
        let open = !expanded.contains(x) && !opened.contains(x);
        let fresh: Vec<&'a str> = side.next(x).iter().copied().filter(|n| !place.contains_key(n)).collect();
        // A chain: x's one neighbour, and on while each has one neighbour that has no other
        // way back; it ends at the first with none or several.
        if fresh.len() == 1 && side.next(x).len() == 1 && (!open || *drawn + 2 <= MAX_NODES) {
            let mut chain = vec![fresh[0]];
            loop {
                let last = chain[chain.len() - 1];
                let ahead = side.next(last);
                if ahead.len() != 1 || side.back(ahead[0]).len() != 1 || place.contains_key(ahead[0]) || chain.contains(&ahead[0]) {
                    break;
                }
                chain.push(ahead[0]);
                if side.next(ahead[0]).len() != 1 {
                    break;
                }
            }
            if !open {
                opened.extend(&chain);
            } else if chain.len() >= CHAIN + 2 {
                let g = groups.len();
                let middle = &chain[1..chain.len() - 1];
                groups.push(Group { anchor: x, grouped: Grouped::Chain, members: middle.to_vec() });
                for &m in middle {
                    place.insert(m, Place::In(g));
                }
                for end in [chain[0], chain[chain.len() - 1]] {
                    *drawn += 1;
                    place.insert(end, Place::Drawn);
                    queue.push_back(end);
                }
                continue;
            }
        }
        let fan = fresh.len() > FAN && open;
        let shown = if fan { FAN - 1 } else { fresh.len() };
        let mut rest: Vec<&'a str> = Vec::new();
        let mut over: Vec<&'a str> = Vec::new();
        for (i, n) in fresh.iter().copied().enumerate() {
            if i >= shown {
                rest.push(n);
            } else if *drawn < MAX_NODES {
                *drawn += 1;
                place.insert(n, Place::Drawn);
                queue.push_back(n);
            } else {
                over.push(n);
            }
        }
        if !rest.is_empty() {
            let g = groups.len();
            for &n in &rest {
                place.insert(n, Place::In(g));
            }
            groups.push(Group { anchor: x, grouped: Grouped::Fan, members: rest });
        }
        if !over.is_empty() {
            let g = *cap.get_or_insert_with(|| {
                groups.push(Group { anchor: focus, grouped: Grouped::Cap, members: Vec::new() });
                groups.len() - 1
            });
            for &n in &over {
                place.insert(n, Place::In(g));
            }
            groups[g].members.extend(over);
        }
    }
    // What lies beyond a group's members belongs to the group.
    for (g, group) in groups.iter_mut().enumerate() {
        let mut queue: VecDeque<&'a str> = group.members.iter().copied().collect();
        while let Some(x) = queue.pop_front() {
            for &n in side.next(x) {
                if !place.contains_key(n) {
                    place.insert(n, Place::In(g));
                    group.members.push(n);
                    queue.push_back(n);
                }
            }
        }
    }
    place
}

/// The shortest labels that tell the artifacts on the picture apart: package name and
/// version, a digest by the fewest hex digits (at least [`DIGEST_MIN`]) that no other
/// artifact of the same name shares — past [`DIGEST_SHOWN`] of them, its first four and the
/// six up to the one that differs.
pub fn labels<'a>(purls: impl IntoIterator<Item = &'a str>) -> HashMap<&'a str, String> {
    let split = |purl: &'a str| -> (&'a str, &'a str) {
        let rest = purl.strip_prefix("pkg:").map(|r| r.split_once('/').map_or(r, |(_, r)| r)).unwrap_or(purl);
        let rest = rest.split(['?', '#']).next().unwrap_or(rest);
        let (path, version) = rest.split_once('@').unwrap_or((rest, ""));
        (path.rsplit('/').next().unwrap_or(path), version)
    };
    let digest = |version: &'a str| -> Option<(&'a str, &'a str)> {
        let (algorithm, hex) = version.split_once(':').or_else(|| version.split_once("%3A"))?;
        hex.chars().all(|c| c.is_ascii_hexdigit()).then_some((algorithm, hex))
    };
    let purls: Vec<&str> = purls.into_iter().collect();
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in &purls {
        let (name, version) = split(p);
        if let Some((_, hex)) = digest(version) {
            by_name.entry(name).or_default().push(hex);
        }
    }
    purls
        .iter()
        .map(|p| {
            let (name, version) = split(p);
            let version = match digest(version) {
                Some((algorithm, hex)) => {
                    let others = &by_name[name];
                    let n = (DIGEST_MIN..hex.len())
                        .find(|&n| others.iter().filter(|o| o.len() >= n && o[..n].eq_ignore_ascii_case(&hex[..n])).count() <= 1)
                        .unwrap_or(hex.len());
                    let n = n.min(hex.len());
                    if n <= DIGEST_SHOWN {
                        format!("{algorithm}:{}", &hex[..n])
                    } else {
                        // A long shared start: its first digits, and those up to the one that differs.
                        format!("{algorithm}:{}…{}", &hex[..4], &hex[n - 6..n])
                    }
                }
                None => version.to_owned(),
            };
            (*p, label(name, &version))
        })
        .collect()
}

/// `name@version` in at most [`LABEL`] characters: the version whole when it can be, the
/// name shortened in the middle.
fn label(name: &str, version: &str) -> String {
    let whole = if version.is_empty() { name.to_owned() } else { format!("{name}@{version}") };
    if whole.chars().count() <= LABEL {
        return whole;
    }
    let version: String = version.chars().take(LABEL * 2 / 3).collect();
    let room = LABEL.saturating_sub(version.chars().count() + 2);
    let head: String = name.chars().take(room.div_ceil(2)).collect();
    let tail: String = name.chars().rev().take(room / 2).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{head}…{tail}@{version}")
}

/// As many of `said` as fit on a node's second line, the rest cut with an ellipsis.
fn fit(said: &[String]) -> String {
    let mut line = String::new();
    for (k, part) in said.iter().enumerate() {
        let next = if line.is_empty() { part.clone() } else { format!("{line} · {part}") };
        if next.chars().count() > STATE {
            return if k == 0 { short(part, STATE) } else { format!("{line} …") };
        }
        line = next;
    }
    line
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let head: String = s.chars().take(n - 1).collect();
    format!("{head}…")
}

/// Lays out `l`'s picture, with the groups whose anchors `expanded` names drawn open.
pub fn layout(l: &Lineage, known: &dyn Known, expanded: &BTreeSet<String>) -> Layout {
    let focus = l.artifact.as_str();
    // Up: from each artifact to its parents; down: to its children.
    let up = Side::new(l.ancestors.iter().map(|e| (e.artifact.as_str(), e.parent.as_str())));
    let down = Side::new(l.descendants.iter().map(|e| (e.parent.as_str(), e.artifact.as_str())));
    let mut drawn = 1;
    let mut up_groups = Vec::new();
    let up_place = walk(focus, &up, expanded, &mut up_groups, &mut drawn);
    let mut down_groups = Vec::new();
    let down_place = walk(focus, &down, expanded, &mut down_groups, &mut drawn);

    let mut nodes: Vec<Node> = Vec::new();
    let mut index: HashMap<(Kind, String), usize> = HashMap::new();
    let mut add = |nodes: &mut Vec<Node>, kind: Kind, name: &str, column: i64| -> usize {
        *index.entry((kind, name.to_owned())).or_insert_with(|| {
            nodes.push(Node {
                kind,
                name: name.to_owned(),
                column,
                row: 0,
                grouped: None,
                members: Vec::new(),
                seq: None,
                services: Vec::new(),
            });
            nodes.len() - 1
        })
    };
    let f = add(&mut nodes, Kind::Focus, focus, 0);
    // Each side's artifacts and groups, and the node each artifact is drawn as.
    let mut at: HashMap<(bool, &str), usize> = HashMap::from([((true, focus), f), ((false, focus), f)]);
    for (is_up, place, groups) in [(true, &up_place, &up_groups), (false, &down_place, &down_groups)] {
        let sign = if is_up { -1 } else { 1 };
        let first_group = nodes.len();
        for (g, group) in groups.iter().enumerate() {
            let i = nodes.len();
            nodes.push(Node {
                kind: Kind::Group,
                name: group.anchor.to_owned(),
                column: sign,
                row: 0,
                grouped: Some(group.grouped),
                members: group.members.iter().map(|m| (*m).to_owned()).collect(),
                seq: None,
                services: Vec::new(),
            });
            debug_assert_eq!(i, first_group + g);
        }
        let mut names: Vec<&&str> = place.keys().collect();
        names.sort();
        for name in names {
            let i = match place[*name] {
                Place::Drawn if *name == focus => f,
                Place::Drawn => add(&mut nodes, Kind::Artifact, name, sign),
                Place::In(g) => first_group + g,
            };
            at.insert((is_up, *name), i);
        }
    }
    // Edges between what is drawn, parent to child.
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let edge = |edges: &mut Vec<(usize, usize)>, from: usize, to: usize| {
        if from != to && !edges.contains(&(from, to)) {
            edges.push((from, to));
        }
    };
    for e in &l.ancestors {
        if let (Some(&p), Some(&c)) = (at.get(&(true, e.parent.as_str())), at.get(&(true, e.artifact.as_str()))) {
            edge(&mut edges, p, c);
        }
    }
    for e in &l.descendants {
        if let (Some(&p), Some(&c)) = (at.get(&(false, e.parent.as_str())), at.get(&(false, e.artifact.as_str()))) {
            edge(&mut edges, p, c);
        }
    }
    // Columns: parents left of their children, however long the longest way between them.
    let derivations = edges.clone();
    for _ in 0..nodes.len() {
        let mut moved = false;
        for &(p, c) in &derivations {
            if nodes[c].column <= 0 && nodes[p].column >= nodes[c].column {
                nodes[p].column = nodes[c].column - 1;
                moved = true;
            }
            if nodes[p].column >= 0 && nodes[c].column <= nodes[p].column {
                nodes[c].column = nodes[p].column + 1;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    // Builds of the artifact and its drawn ancestors: the run one column left of what it
    // built, its commits one further.
    let built: Vec<usize> = (0..nodes.len())
        .filter(|&i| matches!(nodes[i].kind, Kind::Focus) || (nodes[i].kind == Kind::Artifact && nodes[i].column < 0))
        .collect();
    for i in built {
        let Some(b) = known.build(&nodes[i].name) else { continue };
        let column = nodes[i].column - 1;
        let r = add(&mut nodes, Kind::Run, &b.run, column);
        nodes[r].column = nodes[r].column.min(column);
        nodes[r].seq.get_or_insert(b.seq);
        edge(&mut edges, r, i);
        for (k, s) in b.sources.iter().enumerate() {
            if k + 1 == COMMITS && b.sources.len() > COMMITS {
                let g = nodes.len();
                nodes.push(Node {
                    kind: Kind::Group,
                    name: b.run.clone(),
                    column: nodes[r].column - 1,
                    row: 0,
                    grouped: Some(Grouped::Commits),
                    members: b.sources[k..].iter().map(|s| format!("{}@{}", s.repository, s.commit)).collect(),
                    seq: Some(b.seq),
                    services: Vec::new(),
                });
                edge(&mut edges, g, r);
                break;
            }
            let column = nodes[r].column - 1;
            let c = add(&mut nodes, Kind::Commit, &format!("{}@{}", s.repository, s.commit), column);
            nodes[c].seq.get_or_insert(s.seq);
            edge(&mut edges, c, r);
        }
    }
    for _ in 0..nodes.len() {
        let mut moved = false;
        for &(from, to) in &edges {
            if matches!(nodes[from].kind, Kind::Commit | Kind::Run | Kind::Group)
                && nodes[from].column >= nodes[to].column
                && nodes[to].column <= 0
            {
                nodes[from].column = nodes[to].column - 1;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    // Where they run: one column right of everything, reached from what runs there (or the
    // group it is in).
    let last = nodes.iter().map(|n| n.column).max().unwrap_or(0) + 1;
    for d in &l.deployments {
        let Some(&a) = at.get(&(false, d.artifact.as_str())).or_else(|| at.get(&(true, d.artifact.as_str()))) else { continue };
        let e = add(&mut nodes, Kind::Environment, &d.environment, last);
        if !nodes[e].services.contains(&d.service) {
            nodes[e].services.push(d.service.clone());
        }
        edge(&mut edges, a, e);
    }

    // Rows: the artifact's column first, then outwards, each node as near as it can be to the
    // mean row of its neighbours already placed, in order, none on another.
    let first = nodes.iter().map(|n| n.column).min().unwrap_or(0);
    let last = nodes.iter().map(|n| n.column).max().unwrap_or(0);
    let mut order: Vec<i64> = (first..=0).rev().collect();
    order.extend(1..=last);
    let mut placed: HashSet<usize> = HashSet::new();
    for column in order {
        let mut members: Vec<(f64, usize)> = (0..nodes.len())
            .filter(|&i| nodes[i].column == column)
            .map(|i| {
                let rows: Vec<i64> = edges
                    .iter()
                    .filter_map(|&(a, b)| {
                        if a == i {
                            Some(b)
                        } else if b == i {
                            Some(a)
                        } else {
                            None
                        }
                    })
                    .filter(|n| placed.contains(n))
                    .map(|n| nodes[n].row)
                    .collect();
                let want = if rows.is_empty() { f64::INFINITY } else { rows.iter().sum::<i64>() as f64 / rows.len() as f64 };
                (want, i)
            })
            .collect();
        members.sort_by(|x, y| {
            x.0.total_cmp(&y.0).then_with(|| (nodes[x.1].kind, &nodes[x.1].name).cmp(&(nodes[y.1].kind, &nodes[y.1].name)))
        });
        // Nodes nobody placed wants anywhere go after the others.
        let mut wanted: Vec<f64> = Vec::with_capacity(members.len());
        for (k, &(want, _)) in members.iter().enumerate() {
            let after = if k == 0 { 0.0 } else { wanted[k - 1] + 1.0 };
            wanted.push(if want.is_finite() { want } else { after });
        }
        for (row, &(_, i)) in spread(&wanted).iter().zip(&members) {
            nodes[i].row = *row;
            placed.insert(i);
        }
    }
    let top = nodes.iter().map(|n| n.row).min().unwrap_or(0);
    for n in &mut nodes {
        n.row -= top;
    }
    let rows = nodes.iter().map(|n| n.row).max().unwrap_or(0) + 1;
    let width = (last - first + 1) * COLUMN - GUTTER + 2 * MARGIN;
    let height = TOP + rows * ROW - GAP + MARGIN;

    // Edges: out of the right side of a node into the gutter, along the gap next to the
    // target's row when other columns lie between, and into the left side of the target.
    let routed = edges
        .iter()
        .map(|&(from, to)| {
            let (a, b) = (nodes[from].rect(first), nodes[to].rect(first));
            let (y1, y2) = ((a.1 + a.3) / 2, (b.1 + b.3) / 2);
            let (g1, g2) = (a.2 + GUTTER / 2, b.0 - GUTTER / 2);
            let mut points = vec![(a.2, y1), (g1, y1)];
            if g1 != g2 {
                let lane = if y1 <= y2 { b.1 - GAP / 2 } else { b.3 + GAP / 2 };
                points.extend([(g1, lane), (g2, lane)]);
            }
            points.extend([(g2, y2), (b.0, y2)]);
            points.dedup();
            (from, to, points)
        })
        .collect();

    let (fx, fy, ..) = nodes[f].rect(first);
    let view = if width <= VIEW_W && height <= VIEW_H {
        (0, 0, width, height)
    } else {
        let (w, h) = (width.min(VIEW_W), height.min(VIEW_H));
        let x = if width <= VIEW_W { 0 } else { fx + NODE_W / 2 - w / 2 };
        let y = if height <= VIEW_H { 0 } else { fy + NODE_H / 2 - h / 2 };
        (x, y, w, h)
    };
    Layout { nodes, edges: routed, width, height, view, first }
}

/// Integer rows, in order, each at least one below the one before, as near as they can be to
/// the rows wanted: adjacent nodes pushed together move as one block, centred on what its
/// members want.
fn spread(wanted: &[f64]) -> Vec<i64> {
    // Blocks: (first member, size, sum of wanted minus offset in the block).
    let mut blocks: Vec<(usize, usize, f64)> = Vec::new();
    for (i, &w) in wanted.iter().enumerate() {
        blocks.push((i, 1, w));
        while blocks.len() > 1 {
            let (_, n2, s2) = blocks[blocks.len() - 1];
            let (i1, n1, s1) = blocks[blocks.len() - 2];
            let (p1, p2) = (s1 / n1 as f64, s2 / n2 as f64);
            if p1 + n1 as f64 <= p2 {
                break;
            }
            blocks.pop();
            let merged = s1 + s2 - (n1 * n2) as f64;
            *blocks.last_mut().expect("two blocks") = (i1, n1 + n2, merged);
        }
    }
    let mut rows = Vec::with_capacity(wanted.len());
    let mut next = i64::MIN;
    for (_, n, s) in blocks {
        let start = ((s / n as f64).round() as i64).max(next);
        rows.extend((0..n as i64).map(|k| start + k));
        next = start + n as i64;
    }
    rows
}

/// What an artifact's node says of it, and the class that colours it.
fn state(status: Option<&ArtifactStatus>) -> (Vec<String>, &'static str) {
    let Some(s) = status else { return (Vec::new(), "") };
    let mut said = Vec::new();
    let mut class = "";
    if s.quarantined.is_some() {
        said.push(Mark::Quarantined.as_str().to_owned());
        class = "st-quarantined";
    }
    if s.deleted.is_some() {
        said.push("deleted".to_owned());
    }
    match s.worst {
        Some(worst) if s.vulnerabilities > 0 => {
            said.push(if s.vulnerabilities == 1 { worst.name().to_owned() } else { format!("{} ×{}", worst.name(), s.vulnerabilities) });
            if class.is_empty() && worst == Severity::Critical {
                class = "sev-critical";
            }
        }
        _ => {}
    }
    if s.waived > 0 {
        said.push(format!("{} {}", s.waived, Mark::Waived.as_str()));
    }
    if let Some((env, _)) = s.deployed.first() {
        let more = s.deployed.iter().map(|(e, _)| e).collect::<BTreeSet<_>>().len() - 1;
        said.push(if more > 0 { format!("in {env} +{more}") } else { format!("in {env}") });
    }
    (said, class)
}

/// The picture of `l`, its artifact at the centre of the first view, with the groups
/// `expanded` names open (at most [`MAX_EXPANDED`]), and a caption saying what is grouped.
pub fn svg(l: &Lineage, known: &dyn Known, expanded: &BTreeSet<String>) -> String {
    let p = layout(l, known, expanded);
    let first = p.first;
    let artifacts: Vec<&str> = p.nodes.iter().filter(|n| matches!(n.kind, Kind::Artifact | Kind::Focus)).map(|n| n.name.as_str()).collect();
    let labels = labels(artifacts.iter().copied());
    let (vx, vy, vw, vh) = p.view;
    let (width, height) = (p.width, p.height);
    // The artifact's centre, where a narrow screen's first view is centred.
    let (fx, fy) = {
        let (left, top, right, bottom) = p.rect(p.nodes.iter().position(|n| n.kind == Kind::Focus).unwrap_or(0));
        ((left + right) / 2, (top + bottom) / 2)
    };
    let drawn = p.nodes.iter().filter(|n| matches!(n.kind, Kind::Artifact | Kind::Focus)).count();
    let grouped: usize =
        p.nodes.iter().filter(|n| n.kind == Kind::Group && n.grouped != Some(Grouped::Commits)).map(|n| n.members.len()).sum();
    let mut out = format!(
        r##"<div class="lineage-view" id="lineage-view"><div class="zoom" role="toolbar" aria-label="Zoom and move the lineage picture" hidden><button type="button" data-zoom="in">Zoom in</button><button type="button" data-zoom="out">Zoom out</button><button type="button" data-zoom="home">Centre on the artifact</button><button type="button" data-zoom="fit">Whole picture</button><span class="muted">or drag it</span></div><svg class="lineage" width="100%" height="{vh}" viewBox="{vx} {vy} {vw} {vh}" data-home="{vx} {vy} {vw} {vh}" data-focus="{fx} {fy}" data-full="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" role="group" aria-labelledby="lineage-title" xmlns="http://www.w3.org/2000/svg"><title id="lineage-title">Lineage of {}: {drawn} artifacts drawn{}</title><defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#8c959f"/></marker></defs>"##,
        esc(&l.artifact),
        if grouped > 0 { format!(", {grouped} more in groups") } else { String::new() }
    );
    // Column headings.
    let mut headings: BTreeMap<i64, BTreeSet<Kind>> = BTreeMap::new();
    for n in &p.nodes {
        headings.entry(n.column).or_default().insert(n.kind);
    }
    for (column, kinds) in headings {
        let mut said: Vec<&str> = Vec::new();
        if kinds.contains(&Kind::Focus) {
            said.push("This artifact");
        } else if kinds.contains(&Kind::Environment) {
            said.push("Runs in");
        } else if kinds.contains(&Kind::Artifact) || kinds.contains(&Kind::Group) {
            said.push(if column < 0 { "Derived from" } else { "Derived into" });
        }
        if kinds.contains(&Kind::Run) {
            said.push("Build");
        }
        if kinds.contains(&Kind::Commit) {
            said.push("Sources");
        }
        let _ = write!(out, r#"<text class="col" x="{}" y="22">{}</text>"#, MARGIN + (column - first) * COLUMN, said.join(" · "));
    }
    out.push_str(r#"<g class="edges">"#);
    for (_, _, points) in &p.edges {
        let d: Vec<String> = points.iter().enumerate().map(|(k, (x, y))| format!("{}{x},{y}", if k == 0 { "M" } else { "L" })).collect();
        let _ = write!(out, r#"<path d="{}" marker-end="url(#arrow)"/>"#, d.join(" "));
    }
    out.push_str("</g>");
    let expand_href = |anchor: &str| {
        let mut open: Vec<&str> = expanded.iter().map(String::as_str).take(MAX_EXPANDED - 1).collect();
        open.push(anchor);
        format!("/ui/artifact?purl={}&expand={}#h-lineage", query_value(&l.artifact), query_value(&open.join(" ")))
    };
    for (i, n) in p.nodes.iter().enumerate() {
        let (x, y, ..) = p.rect(i);
        let (title, line1, line2, href, class): (String, String, String, Option<String>, String) = match n.kind {
            Kind::Artifact | Kind::Focus => {
                let status = known.status(&n.name);
                let (said, state_class) = state(status.as_ref());
                let kind = if n.kind == Kind::Focus { "node focus" } else { "node artifact" };
                (
                    if said.is_empty() { n.name.clone() } else { format!("{}\n{}", n.name, said.join(", ")) },
                    labels.get(n.name.as_str()).cloned().unwrap_or_else(|| short(&n.name, LABEL)),
                    fit(&said),
                    Some(format!("/ui/artifact?purl={}", query_value(&n.name))),
                    format!("{kind} {state_class}").trim_end().to_owned(),
                )
            }
            Kind::Run => (
                format!("Pipeline run {}", n.name),
                short(&n.name, LABEL),
                "pipeline run".to_owned(),
                n.seq.map(|s| format!("/ui/events?seq={s}")),
                "node run".to_owned(),
            ),
            Kind::Commit => {
                let (repo, commit) = n.name.rsplit_once('@').unwrap_or(("", &n.name));
                (
                    format!("Commit {commit} of {repo}"),
                    short(&format!("{} @ {}", repo.rsplit('/').next().unwrap_or(repo), commit.chars().take(10).collect::<String>()), LABEL),
                    "commit".to_owned(),
                    n.seq.map(|s| format!("/ui/events?seq={s}")),
                    "node commit".to_owned(),
                )
            }
            Kind::Environment => (
                format!("Environment {}: {}", n.name, n.services.join(", ")),
                short(&n.name, LABEL),
                short(&n.services.join(", "), STATE),
                Some(format!("/ui/environments#{}", query_value(&n.name))),
                "node env".to_owned(),
            ),
            Kind::Group => {
                let count = n.members.len();
                match n.grouped {
                    Some(Grouped::Commits) => (
                        format!("{count} more commits of run {}", n.name),
                        format!("{count} more commits"),
                        "in the run's entry".to_owned(),
                        n.seq.map(|s| format!("/ui/events?seq={s}")),
                        "node group".to_owned(),
                    ),
                    Some(Grouped::Cap) => (
                        format!("{count} more artifacts, not drawn: the picture draws at most {MAX_NODES}"),
                        format!("{count} more not drawn"),
                        format!("at most {MAX_NODES} drawn"),
                        None,
                        "node group".to_owned(),
                    ),
                    grouped => {
                        let what = if grouped == Some(Grouped::Chain) { "in a chain" } else { "more" };
                        (
                            format!("{count} artifacts {what} after {}: expand", n.name),
                            format!("{count} {what} ▸"),
                            "click to expand".to_owned(),
                            Some(expand_href(&n.name)),
                            "node group".to_owned(),
                        )
                    }
                }
            }
        };
        let expand = if n.kind == Kind::Group && href.as_deref().is_some_and(|h| h.contains("&expand=")) {
            format!(r#" data-expand="{}""#, esc(&n.name))
        } else {
            String::new()
        };
        let shape = format!(
            r#"<title>{}</title><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6"/><text x="{}" y="{}">{}</text><text class="state" x="{}" y="{}">{}</text>"#,
            esc(&title),
            x + 8,
            y + 16,
            esc(&line1),
            x + 8,
            y + 32,
            esc(&line2)
        );
        match href {
            Some(h) => {
                let _ = write!(out, r#"<a class="{class}" href="{}"{expand}>{shape}</a>"#, esc(&h));
            }
            None => {
                let _ = write!(out, r#"<g class="{class}">{shape}</g>"#);
            }
        }
    }
    out.push_str("</svg>");
    let groups = p.nodes.iter().filter(|n| n.kind == Kind::Group && n.grouped != Some(Grouped::Commits)).count();
    let _ = write!(
        out,
        r#"<p class="muted caption">{drawn} artifacts drawn{}. Each node links to its page; its tooltip names it whole.</p></div>"#,
        match groups {
            0 => String::new(),
            n => format!("; {grouped} more in {n} group{} (open one to draw it)", if n == 1 { "" } else { "s" }),
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_lineage::{Deployment, Edge};

    /// A graph's answers about builds and states, as a test states them.
    #[derive(Default)]
    struct Stated {
        builds: Vec<Build>,
        states: HashMap<String, ArtifactStatus>,
    }

    impl Known for Stated {
        fn build(&self, artifact: &str) -> Option<Build> {
            self.builds.iter().find(|b| b.artifact == artifact).map(|b| Build {
                artifact: b.artifact.clone(),
                run: b.run.clone(),
                seq: b.seq,
                sources: b.sources.clone(),
            })
        }
        fn status(&self, artifact: &str) -> Option<ArtifactStatus> {
            self.states.get(artifact).cloned()
        }
    }

    fn lineage(artifact: &str) -> Lineage {
        Lineage {
            artifact: artifact.into(),
            deleted: None,
            quarantined: None,
            built_by: None,
            sources: vec![],
            origins: vec![],
            ancestors: vec![],
            descendants: vec![],
            deployments: vec![],
            vulnerabilities: vec![],
            vex: vec![],
        }
    }

    fn edge(artifact: &str, parent: &str) -> Edge {
        Edge { artifact: artifact.into(), parent: parent.into(), seq: 1 }
    }

    /// The shop: built by run-42 from one commit, on a base on an os, derived into a debug
    /// image running in prod-eu.
    fn shop() -> (Lineage, Stated) {
        let mut l = lineage("pkg:oci/shop@sha256:aaaa0000");
        l.ancestors = vec![edge("pkg:oci/shop@sha256:aaaa0000", "pkg:oci/base@1"), edge("pkg:oci/base@1", "pkg:oci/os@1")];
        l.descendants = vec![edge("pkg:oci/shop-debug@1", "pkg:oci/shop@sha256:aaaa0000")];
        l.deployments =
            vec![Deployment { environment: "prod-eu".into(), service: "shop".into(), artifact: "pkg:oci/shop-debug@1".into(), seq: 6 }];
        let source = Source { repository: "https://github.com/x/shop".into(), commit: "abc".into(), seq: 2 };
        let known = Stated {
            builds: vec![
                Build { artifact: l.artifact.clone(), run: "run-42".into(), seq: 3, sources: vec![source] },
                Build { artifact: "pkg:oci/base@1".into(), run: "base-build-7".into(), seq: 1, sources: vec![] },
            ],
            states: HashMap::new(),
        };
        (l, known)
    }

    /// `image-0 → image-1 → … → image-<depth>`, seen from `focus`.
    fn chain(depth: usize, focus: usize) -> Lineage {
        let name = |i: usize| format!("pkg:oci/image-{i}@1");
        let mut l = lineage(&name(focus));
        // Nearest first, as the graph answers.
        for d in 1..=focus {
            l.ancestors.push(edge(&name(focus - d + 1), &name(focus - d)));
        }
        for d in 1..=(depth - focus) {
            l.descendants.push(edge(&name(focus + d), &name(focus + d - 1)));
        }
        l
    }

    fn no_expansion() -> BTreeSet<String> {
        BTreeSet::new()
    }

    fn drawn(p: &Layout, kind: Kind) -> Vec<&str> {
        p.nodes.iter().filter(|n| n.kind == kind).map(|n| n.name.as_str()).collect()
    }

    #[test]
    fn every_node_is_drawn_once_left_to_right_and_links_to_a_page_with_content() {
        let (l, known) = shop();
        let p = layout(&l, &known, &no_expansion());
        let column = |kind, name| p.nodes[p.find(kind, name).unwrap()].column;
        assert_eq!(column(Kind::Focus, "pkg:oci/shop@sha256:aaaa0000"), 0);
        assert_eq!(
            [
                column(Kind::Artifact, "pkg:oci/os@1"),
                column(Kind::Artifact, "pkg:oci/base@1"),
                column(Kind::Artifact, "pkg:oci/shop-debug@1")
            ],
            [-2, -1, 1]
        );
        assert_eq!(column(Kind::Run, "run-42"), -1, "the run just left of what it built");
        assert_eq!(column(Kind::Commit, "https://github.com/x/shop@abc"), -2);
        assert_eq!(column(Kind::Run, "base-build-7"), -2);
        assert_eq!(column(Kind::Environment, "prod-eu"), 2, "environments right of everything");
        assert_eq!(p.nodes.len(), 8);
        for &(from, to, _) in &p.edges {
            assert!(p.nodes[from].column < p.nodes[to].column, "{} → {}", p.nodes[from].name, p.nodes[to].name);
        }
        let s = svg(&l, &known, &no_expansion());
        assert!(s.contains("Lineage of pkg:oci/shop@sha256:aaaa0000: 4 artifacts drawn</title>"), "{s}");
        for heading in ["Derived from · Build · Sources", "Derived from · Build", "This artifact", "Derived into", "Runs in"] {
            assert!(s.contains(&format!(">{heading}</text>")), "{heading}");
        }
        assert_eq!(s.matches("<rect").count(), 8);
        assert_eq!(
            s.matches(r##"marker-end="url(#arrow)""##).count(),
            7,
            "commit→run→shop, base-build→base, os→base→shop→debug, debug→prod-eu"
        );
        assert!(s.contains(r#"href="/ui/artifact?purl=pkg%3Aoci%2Fbase%401""#));
        // Runs and commits open the entry that states them; clusters their environment.
        assert!(s.contains(r#"<a class="node run" href="/ui/events?seq=3"><title>Pipeline run run-42</title>"#), "{s}");
        assert!(s.contains(r#"<a class="node commit" href="/ui/events?seq=2"><title>Commit abc of https://github.com/x/shop</title>"#));
        assert!(s.contains(r#"<a class="node env" href="/ui/environments#prod-eu"><title>Environment prod-eu: shop</title>"#));
    }

    #[test]
    fn the_artifact_is_in_the_middle_of_the_first_view_however_far_its_ancestors_reach() {
        // Small: the whole picture.
        let (l, known) = shop();
        let p = layout(&l, &known, &no_expansion());
        assert_eq!(p.view, (0, 0, p.width, p.height));
        // A picture wider and taller than the view: a window centred on the artifact.
        let mut l = chain(20, 20);
        for i in 0..30 {
            l.descendants.push(edge(&format!("pkg:oci/leaf-{i:02}@1"), &l.artifact.clone()));
        }
        l.ancestors.extend((0..30).map(|i| edge(&l.artifact.clone(), &format!("pkg:oci/extra-base-{i:02}@1"))));
        let open = ["pkg:oci/image-20@1".to_string()].into();
        let p = layout(&l, &Stated::default(), &open);
        assert!(p.width > VIEW_W && p.height > VIEW_H, "{} × {}", p.width, p.height);
        let (x, y, w, h) = p.view;
        assert_eq!((w, h), (VIEW_W, VIEW_H));
        let (left, top, right, bottom) = p.rect(p.find(Kind::Focus, &l.artifact).unwrap());
        assert_eq!(((left + right) / 2, (top + bottom) / 2), (x + w / 2, y + h / 2), "centred");
        // Where a narrow screen centres its own first view.
        let (cx, cy) = ((left + right) / 2, (top + bottom) / 2);
        assert!(svg(&l, &Stated::default(), &open).contains(&format!(r#"data-focus="{cx} {cy}""#)));
    }

    #[test]
    fn a_chain_of_twenty_is_its_ends_and_one_counted_group_that_opens_on_request() {
        // From the top of the chain: the parent, a group of 18, image-1, image-0.
        let l = chain(20, 20);
        let p = layout(&l, &Stated::default(), &no_expansion());
        assert_eq!(drawn(&p, Kind::Artifact), ["pkg:oci/image-0@1", "pkg:oci/image-19@1"]);
        let group = &p.nodes[p.find(Kind::Group, "pkg:oci/image-20@1").unwrap()];
        assert_eq!((group.grouped, group.members.len()), (Some(Grouped::Chain), 18));
        assert_eq!(group.members.first().map(String::as_str), Some("pkg:oci/image-18@1"));
        let s = svg(&l, &Stated::default(), &no_expansion());
        assert!(
            s.contains(r#"href="/ui/artifact?purl=pkg%3Aoci%2Fimage-20%401&amp;expand=pkg%3Aoci%2Fimage-20%401#h-lineage" data-expand="pkg:oci/image-20@1"><title>18 artifacts in a chain after pkg:oci/image-20@1: expand</title>"#),
            "{s}"
        );
        assert!(s.contains(">18 in a chain ▸</text>"));
        // Open: all twenty-one, one column each.
        let open = ["pkg:oci/image-20@1".to_string()].into();
        let p = layout(&l, &Stated::default(), &open);
        assert_eq!(drawn(&p, Kind::Artifact).len(), 20);
        assert!(drawn(&p, Kind::Group).is_empty());
        assert_eq!(p.nodes.iter().map(|n| n.column).min(), Some(-20));
        // From its middle, each side is a chain of ten: both collapse.
        let p = layout(&chain(20, 10), &Stated::default(), &no_expansion());
        assert_eq!(drawn(&p, Kind::Group).len(), 2);
        assert_eq!(drawn(&p, Kind::Artifact).len(), 4);
        // A chain of three is drawn whole.
        let p = layout(&chain(3, 0), &Stated::default(), &no_expansion());
        assert_eq!(drawn(&p, Kind::Artifact).len(), 3);
    }

    #[test]
    fn a_fan_out_of_three_hundred_is_seven_children_and_one_group_of_the_rest_and_beyond() {
        let base = "pkg:oci/base@sha256:0000";
        let mut l = lineage(base);
        l.descendants = (0..300).map(|i| edge(&format!("pkg:oci/app-{i:03}@1"), base)).collect();
        // Each child has a child of its own, which counts in the group with its parent.
        l.descendants.extend((0..300).map(|i| edge(&format!("pkg:oci/app-{i:03}-debug@1"), &format!("pkg:oci/app-{i:03}@1"))));
        l.deployments =
            vec![Deployment { environment: "prod".into(), service: "app".into(), artifact: "pkg:oci/app-299-debug@1".into(), seq: 9 }];
        let p = layout(&l, &Stated::default(), &no_expansion());
        let children: Vec<&str> = drawn(&p, Kind::Artifact).into_iter().filter(|n| !n.ends_with("-debug@1")).collect();
        assert_eq!(children, (0..FAN - 1).map(|i| format!("pkg:oci/app-{i:03}@1")).collect::<Vec<_>>());
        assert_eq!(drawn(&p, Kind::Artifact).len(), 2 * (FAN - 1));
        let g = p.find(Kind::Group, base).unwrap();
        assert_eq!((p.nodes[g].grouped, p.nodes[g].members.len()), (Some(Grouped::Fan), 600 - 2 * (FAN - 1)));
        // What runs in a group's artifacts is reached from the group.
        let prod = p.find(Kind::Environment, "prod").unwrap();
        assert!(p.edges.iter().any(|&(from, to, _)| (from, to) == (g, prod)));
        assert!(svg(&l, &Stated::default(), &no_expansion()).contains(">586 more ▸</text>"));
        // Opened, all 300 children are drawn; their own fan-outs are small.
        let open = [base.to_string()].into();
        let p = layout(&l, &Stated::default(), &open);
        assert_eq!(drawn(&p, Kind::Artifact).len(), MAX_NODES - 1, "at most MAX_NODES artifacts drawn");
        let cap = &p.nodes[p.find(Kind::Group, base).unwrap()];
        assert_eq!((cap.grouped, cap.members.len()), (Some(Grouped::Cap), 600 - (MAX_NODES - 1)));
        assert!(svg(&l, &Stated::default(), &open).contains(">361 more not drawn</text>"));
    }

    /// Whether segment `a`–`b` (horizontal or vertical) passes through the inside of `r`.
    fn crosses((a, b): ((i64, i64), (i64, i64)), r: (i64, i64, i64, i64)) -> bool {
        let (x1, x2) = (a.0.min(b.0), a.0.max(b.0));
        let (y1, y2) = (a.1.min(b.1), a.1.max(b.1));
        x1 < r.2 && x2 > r.0 && y1 < r.3 && y2 > r.1
    }

    #[test]
    fn no_edge_passes_behind_a_node() {
        // The shop, a chain with a fan-out in its middle, and a build far from its artifact.
        let (mut l, mut known) = shop();
        l.ancestors.push(edge("pkg:oci/os@1", "pkg:oci/kernel@1"));
        l.ancestors.push(edge("pkg:oci/kernel@1", "pkg:oci/firmware@1"));
        known.builds.push(Build { artifact: "pkg:oci/firmware@1".into(), run: "fw-1".into(), seq: 9, sources: vec![] });
        for i in 0..6 {
            l.descendants.push(edge(&format!("pkg:oci/shop-{i}@1"), &l.artifact.clone()));
            l.descendants.push(edge(&format!("pkg:oci/shop-{i}-x@1"), &format!("pkg:oci/shop-{i}@1")));
            l.deployments.push(Deployment {
                environment: format!("cluster-{}", i % 3),
                service: format!("s{i}"),
                artifact: format!("pkg:oci/shop-{i}-x@1"),
                seq: 10,
            });
        }
        for picture in [l, chain(20, 7)] {
            let p = layout(&picture, &known, &no_expansion());
            for (from, to, points) in &p.edges {
                assert!(points.windows(2).all(|s| s[0].0 == s[1].0 || s[0].1 == s[1].1), "straight segments only");
                assert_eq!(points.first().map(|p| p.0), Some(p.rect(*from).2), "out of the right side");
                assert_eq!(points.last().map(|p| p.0), Some(p.rect(*to).0), "into the left side");
                for (i, _) in p.nodes.iter().enumerate() {
                    for s in points.windows(2) {
                        assert!(
                            !crosses((s[0], s[1]), p.rect(i)),
                            "{} → {} passes behind {}",
                            p.nodes[*from].name,
                            p.nodes[*to].name,
                            p.nodes[i].name
                        );
                    }
                }
            }
            // And no two boxes overlap.
            for i in 0..p.nodes.len() {
                for j in 0..i {
                    let (a, b) = (p.rect(i), p.rect(j));
                    assert!(a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1, "{} on {}", p.nodes[i].name, p.nodes[j].name);
                }
            }
        }
    }

    #[test]
    fn labels_tell_digests_apart_by_their_first_differing_digits_and_tooltips_name_them_whole() {
        let a = "pkg:oci/registry.example.com/team/shop@sha256:3f2a9c1d00aa11bb22cc33dd44ee55ff66778899aabbccddeeff001122334455";
        let b = "pkg:oci/registry.example.com/team/shop@sha256:3f2a9c1d00aa11bb99cc33dd44ee55ff66778899aabbccddeeff001122334455";
        let c = "pkg:oci/registry.example.com/team/shop@sha256:77aa0000";
        let named = labels([a, b, c, "pkg:generic/shop-cli@1.2.3", "pkg:oci/other@sha256:3f2a9c1d00aa11bb"]);
        assert_eq!(named[a], "shop@sha256:3f2a…a11bb2", "the first 16 digits are the same: the 17th tells them apart");
        assert_eq!(named[b], "shop@sha256:3f2a…a11bb9");
        assert_eq!(named[c], "shop@sha256:77aa0000");
        assert_eq!(named["pkg:generic/shop-cli@1.2.3"], "shop-cli@1.2.3");
        assert_eq!(named["pkg:oci/other@sha256:3f2a9c1d00aa11bb"], "other@sha256:3f2a9c1d", "alone of its name: the fewest digits");
        let long = "pkg:oci/an-image-with-a-very-long-name-indeed@sha256:0123456789abcdef";
        assert_eq!(labels([long])[long], "an-imag…indeed@sha256:01234567");
        // On the picture: the label, and the purl whole as the tooltip, both escaped.
        let mut l = lineage(a);
        l.descendants = vec![edge(b, a), edge("pkg:oci/<x>@1", a)];
        let s = svg(&l, &Stated::default(), &no_expansion());
        assert!(s.contains(&format!("<title>{a}</title>")) && s.contains(">shop@sha256:3f2a…a11bb2</text>"), "{s}");
        // Two of the same name whose digests share their first 16 digits (images of one build
        // pipeline), the name long: both keep the digits that tell them apart.
        let twins = [
            "pkg:oci/payments-gateway-service@sha256:49c7f538d2a6be11aa00",
            "pkg:oci/payments-gateway-service@sha256:49c7f538d2a6be11bb00",
        ];
        let named = labels(twins);
        assert_eq!(
            (named[twins[0]].as_str(), named[twins[1]].as_str()),
            ("payme…rvice@sha256:49c7…6be11a", "payme…rvice@sha256:49c7…6be11b")
        );
        assert!(s.contains("<title>pkg:oci/&lt;x&gt;@1</title>") && !s.contains("<x>"));
    }

    #[test]
    fn each_artifact_says_its_state_on_the_picture() {
        let (l, mut known) = shop();
        known.states.insert(
            l.artifact.clone(),
            ArtifactStatus {
                quarantined: Some(7),
                deleted: None,
                vulnerabilities: 3,
                worst: Some(Severity::Critical),
                waived: 1,
                deployed: vec![("prod-eu".into(), "shop".into()), ("prod-us".into(), "shop".into())],
            },
        );
        known.states.insert(
            "pkg:oci/base@1".into(),
            ArtifactStatus {
                quarantined: None,
                deleted: None,
                vulnerabilities: 1,
                worst: Some(Severity::Critical),
                waived: 0,
                deployed: vec![],
            },
        );
        let s = svg(&l, &known, &no_expansion());
        assert!(
            s.contains(r#"<a class="node focus st-quarantined" href="/ui/artifact?purl=pkg%3Aoci%2Fshop%40sha256%3Aaaaa0000">"#),
            "{s}"
        );
        assert!(s.contains(">quarantined · critical ×3 · 1 waived …</text>"), "{s}");
        assert!(
            s.contains("<title>pkg:oci/shop@sha256:aaaa0000\nquarantined, critical ×3, 1 waived, in prod-eu +1</title>"),
            "the whole of it on hover"
        );
        assert!(s.contains(r#"<a class="node artifact sev-critical" href="/ui/artifact?purl=pkg%3Aoci%2Fbase%401">"#));
        assert!(s.contains(">critical</text>"));
    }
}
