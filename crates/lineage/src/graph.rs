//! The graph, its incrementally maintained views, and their from-scratch recomputation.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use dossier_core::{artifact_name, Fact, Severity, VersionRange};

pub(crate) type Id = u32;

/// Names interned as small ids: the graph holds millions of edges.
#[derive(Default, Clone)]
pub(crate) struct Names {
    ids: HashMap<Box<str>, Id>,
    names: Vec<Box<str>>,
}

impl Names {
    pub(crate) fn id(&mut self, name: &str) -> Id {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as Id;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    pub(crate) fn get(&self, name: &str) -> Option<Id> {
        self.ids.get(name).copied()
    }

    pub(crate) fn name(&self, id: Id) -> &str {
        &self.names[id as usize]
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Vuln {
    pub severity: Severity,
    pub commits: HashSet<Id>,
    pub artifacts: HashSet<Id>,
    /// Package (purl without version) and the affected versions.
    pub packages: Vec<(Id, VersionRange)>,
    /// Where it is found now: its commits, its artifacts, and the known package versions in
    /// its ranges (which grow as artifacts with new versions arrive).
    pub origins: HashSet<Id>,
    pub seq: u64,
}

/// Why an origin (a commit, or an artifact named by a finding) reaches an artifact: directly
/// (the artifact's build used the commit; the artifact is the named one), and through parents
/// it reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Support {
    pub direct: u32,
    pub inherited: u32,
}

impl Support {
    fn total(self) -> u32 {
        self.direct + self.inherited
    }
}

/// A change of the affected-cluster view, for live subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactChange {
    pub cluster: String,
    pub vulnerability: String,
    /// The artifact whose deployment (or lineage) made, or stopped making, the cluster affected.
    pub artifact: String,
    pub affected: bool,
    pub seq: u64,
}

/// The graph. Facts are kept as stated; two views are derived from them and kept current:
///
/// * `reach`: for every artifact, the *origins* whose code it contains — the commits its build
///   used, inherited through any depth of parents — and the artifacts named by a finding, which
///   are origins of themselves and their descendants. Each pair has a support count.
/// * per origin, per cluster: how many deployments there run an artifact the origin reaches;
///   per vulnerability, per cluster: the sum over the vulnerability's origins.
///
/// A vulnerability arriving therefore costs O(its origins × clusters), whatever its fan-out;
/// the fan-out was paid for once, when the builds and derivations arrived.
#[derive(Default, Clone)]
pub struct Graph {
    pub(crate) names: Names,
    // Facts, each with the log entry that stated it.
    pub(crate) run_sources: HashMap<Id, HashMap<Id, u64>>,
    pub(crate) commit_runs: HashMap<Id, HashSet<Id>>,
    pub(crate) commit_repo: HashMap<Id, Id>,
    pub(crate) built_by: HashMap<Id, (Id, u64)>,
    pub(crate) run_artifacts: HashMap<Id, HashSet<Id>>,
    /// Artifact → the commits of its own change (`subject.content.change`), each with the
    /// entry that states it; and commit → the artifacts built from it so.
    pub(crate) artifact_changes: HashMap<Id, HashMap<Id, u64>>,
    pub(crate) change_artifacts: HashMap<Id, HashSet<Id>>,
    pub(crate) parents: HashMap<Id, HashMap<Id, u64>>,
    pub(crate) children: HashMap<Id, HashSet<Id>>,
    pub(crate) deployments: HashMap<(Id, Id), (Id, u64)>,
    pub(crate) artifact_deployments: HashMap<Id, HashSet<(Id, Id)>>,
    pub(crate) vulns: HashMap<Id, Vuln>,
    pub(crate) deleted: HashMap<Id, u64>,
    /// Quarantined artifacts and the entry that quarantined them.
    pub(crate) quarantined: HashMap<Id, u64>,
    /// Artifact → package versions (`purl@version` ids) it contains.
    pub(crate) contains: HashMap<Id, HashMap<Id, u64>>,
    pub(crate) package_artifacts: HashMap<Id, HashSet<Id>>,
    /// Package version id → (package id, version).
    pub(crate) package_of: HashMap<Id, (Id, String)>,
    pub(crate) package_versions: HashMap<Id, Vec<Id>>,
    /// Package → the vulnerabilities whose ranges name it.
    package_ranges: HashMap<Id, Vec<(Id, VersionRange)>>,
    // Derived views.
    pub(crate) reach: HashMap<Id, Vec<(Id, Support)>>,
    /// Findings naming each artifact: an artifact is an origin while this is positive.
    artifact_findings: HashMap<Id, u32>,
    pub(crate) origin_vulns: HashMap<Id, HashSet<Id>>,
    pub(crate) origin_clusters: HashMap<Id, HashMap<Id, u32>>,
    pub(crate) vuln_clusters: HashMap<Id, HashMap<Id, u32>>,
    pub(crate) clusters: HashMap<Id, HashMap<Id, u32>>,
    /// sha256 digest (hex) → the artifacts whose purl carries it.
    pub(crate) digests: HashMap<Box<str>, Vec<Id>>,
    /// Derivation edges refused because they would close a cycle.
    pub(crate) refused_cycles: u64,
    changes: Vec<ImpactChange>,
    seq: u64,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Remembers an artifact an event names, so that it can be found by the sha256 digest its
    /// purl carries (`pkg:oci/x@sha256:<hex>`, `…?digest=sha256:<hex>`, in any spelling).
    pub fn know_artifact(&mut self, purl: &str) {
        let purl = artifact_name(purl);
        let purl = purl.as_ref();
        let Some(at) = purl.find("sha256%3A").map(|i| i + 9).or_else(|| purl.find("sha256:").map(|i| i + 7)) else { return };
        let hex: String = purl[at..].chars().take_while(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
        if hex.is_empty() {
            return;
        }
        let id = self.names.id(purl);
        let list = self.digests.entry(hex.into()).or_default();
        if !list.contains(&id) {
            list.push(id);
        }
    }

    /// Folds one fact in, stated by log entry `seq`, and returns the affected-cluster changes
    /// it caused.
    pub fn apply(&mut self, fact: &Fact, seq: u64) -> Vec<ImpactChange> {
        self.seq = seq;
        match fact {
            Fact::RunSource { run, repository, commit } => {
                let (run, repo) = (self.names.id(run), self.names.id(repository));
                let commit = self.commit_id(repository, commit);
                self.commit_repo.insert(commit, repo);
                if self.run_sources.entry(run).or_default().insert(commit, seq).is_none() {
                    self.commit_runs.entry(commit).or_default().insert(run);
                    let arts: Vec<Id> = self.run_artifacts.get(&run).map(|a| a.iter().copied().collect()).unwrap_or_default();
                    for a in arts {
                        self.reach_adjust(commit, a, 1, 0);
                    }
                }
            }
            Fact::BuiltBy { artifact, run } => {
                let (a, r) = (self.names.id(artifact), self.names.id(run));
                match self.built_by.get(&a).copied() {
                    Some((old, _)) if old == r => {
                        self.built_by.insert(a, (r, seq));
                    }
                    old => {
                        if let Some((old, _)) = old {
                            self.run_direct(a, old, -1);
                            if let Some(s) = self.run_artifacts.get_mut(&old) {
                                s.remove(&a);
                            }
                        }
                        self.built_by.insert(a, (r, seq));
                        self.run_artifacts.entry(r).or_default().insert(a);
                        self.run_direct(a, r, 1);
                    }
                }
            }
            Fact::Change { artifact, repository, commit } => {
                let (a, repo) = (self.names.id(artifact), self.names.id(repository));
                let commit = self.commit_id(repository, commit);
                self.commit_repo.insert(commit, repo);
                if self.artifact_changes.entry(a).or_default().insert(commit, seq).is_none() {
                    self.change_artifacts.entry(commit).or_default().insert(a);
                    self.reach_adjust(commit, a, 1, 0);
                }
            }
            Fact::Parent { artifact, parent } => {
                let (a, p) = (self.names.id(artifact), self.names.id(parent));
                if a == p || self.is_ancestor(a, p) {
                    self.refused_cycles += 1;
                } else if self.parents.entry(a).or_default().insert(p, seq).is_none() {
                    self.children.entry(p).or_default().insert(a);
                    let origins: Vec<Id> = self.reach.get(&p).map(|r| r.iter().map(|(o, _)| *o).collect()).unwrap_or_default();
                    for o in origins {
                        self.reach_adjust(o, a, 0, 1);
                    }
                }
            }
            Fact::Deployed { environment, service, artifact } => {
                let (e, s, a) = (self.names.id(environment), self.names.id(service), self.names.id(artifact));
                match self.deployments.get(&(e, s)).copied() {
                    Some((old, _)) if old == a => {
                        self.deployments.insert((e, s), (a, seq));
                    }
                    old => {
                        if let Some((old, _)) = old {
                            self.undeploy(e, s, old);
                        }
                        self.deployments.insert((e, s), (a, seq));
                        self.artifact_deployments.entry(a).or_default().insert((e, s));
                        let origins: Vec<Id> = self.reach.get(&a).map(|r| r.iter().map(|(o, _)| *o).collect()).unwrap_or_default();
                        for o in origins {
                            self.origin_cluster_adjust(o, e, a, 1);
                        }
                    }
                }
            }
            Fact::Removed { environment, service } => {
                if let (Some(e), Some(s)) = (self.names.get(environment), self.names.get(service)) {
                    if let Some((old, _)) = self.deployments.remove(&(e, s)) {
                        self.undeploy(e, s, old);
                    }
                }
            }
            Fact::Contains { artifact, package, version } => {
                let (a, pkg) = (self.names.id(artifact), self.names.id(package));
                let pv = self.names.id(&format!("{package}@{version}"));
                if self.contains.entry(a).or_default().insert(pv, seq).is_none() {
                    if let std::collections::hash_map::Entry::Vacant(slot) = self.package_of.entry(pv) {
                        // A version seen for the first time joins the vulnerabilities whose
                        // ranges hold it, before it reaches anything.
                        slot.insert((pkg, version.clone()));
                        self.package_versions.entry(pkg).or_default().push(pv);
                        let vulns: Vec<Id> = self
                            .package_ranges
                            .get(&pkg)
                            .into_iter()
                            .flatten()
                            .filter(|(_, r)| r.contains(version))
                            .map(|(v, _)| *v)
                            .collect();
                        for v in vulns {
                            if let Some(vuln) = self.vulns.get_mut(&v) {
                                vuln.origins.insert(pv);
                            }
                            self.attach(v, pv);
                        }
                    }
                    self.package_artifacts.entry(pv).or_default().insert(a);
                    self.reach_adjust(pv, a, 1, 0);
                }
            }
            Fact::Vulnerability { id, severity, commits, artifacts, packages } => {
                let v = self.names.id(id);
                self.withdraw(v);
                let commits: HashSet<Id> = commits.iter().map(|(repo, c)| self.commit_id(repo, c)).collect();
                let artifacts: HashSet<Id> = artifacts.iter().map(|a| self.names.id(a)).collect();
                // An artifact named by a finding becomes an origin of itself and its descendants
                // before the vulnerability listens to it, so that it is counted once.
                for &a in &artifacts {
                    let n = self.artifact_findings.entry(a).or_default();
                    *n += 1;
                    if *n == 1 {
                        self.reach_adjust(a, a, 1, 0);
                    }
                }
                let packages: Vec<(Id, VersionRange)> = packages.iter().map(|(p, r)| (self.names.id(p), r.clone())).collect();
                let mut origins: HashSet<Id> = commits.union(&artifacts).copied().collect();
                for (pkg, range) in &packages {
                    self.package_ranges.entry(*pkg).or_default().push((v, range.clone()));
                    origins.extend(self.matching_versions(*pkg, range));
                }
                for &o in &origins {
                    self.attach(v, o);
                }
                self.vulns.insert(v, Vuln { severity: *severity, commits, artifacts, packages, origins, seq });
            }
            Fact::VulnerabilityGone { id } => {
                if let Some(v) = self.names.get(id) {
                    self.withdraw(v);
                }
            }
            Fact::Quarantine { artifact, quarantined } => {
                let a = self.names.id(artifact);
                if *quarantined {
                    self.quarantined.insert(a, seq);
                } else {
                    self.quarantined.remove(&a);
                }
            }
            Fact::ArtifactDeleted { artifact } => {
                let a = self.names.id(artifact);
                self.deleted.insert(a, seq);
            }
        }
        net(std::mem::take(&mut self.changes))
    }

    fn commit_id(&mut self, repository: &str, commit: &str) -> Id {
        self.names.id(&format!("{repository}@{commit}"))
    }

    /// Adds (`delta` = 1) or removes (-1) the reach that run `r`'s sources give `a`.
    fn run_direct(&mut self, a: Id, r: Id, delta: i32) {
        let commits: Vec<Id> = self.run_sources.get(&r).map(|m| m.keys().copied().collect()).unwrap_or_default();
        for c in commits {
            self.reach_adjust(c, a, delta, 0);
        }
    }

    fn matching_versions(&self, pkg: Id, range: &VersionRange) -> Vec<Id> {
        self.package_versions
            .get(&pkg)
            .into_iter()
            .flatten()
            .filter(|pv| self.package_of.get(pv).is_some_and(|(_, version)| range.contains(version)))
            .copied()
            .collect()
    }

    /// Makes vulnerability `v` listen to origin `o`: every cluster `o` reaches counts for `v`.
    fn attach(&mut self, v: Id, o: Id) {
        if self.origin_vulns.entry(o).or_default().insert(v) {
            let clusters: Vec<(Id, u32)> =
                self.origin_clusters.get(&o).map(|m| m.iter().map(|(&e, &n)| (e, n)).collect()).unwrap_or_default();
            for (e, n) in clusters {
                self.vuln_cluster_adjust(v, e, o, n as i64);
            }
        }
    }

    fn detach(&mut self, v: Id, o: Id) {
        let Some(s) = self.origin_vulns.get_mut(&o) else { return };
        if !s.remove(&v) {
            return;
        }
        if s.is_empty() {
            self.origin_vulns.remove(&o);
        }
        let clusters: Vec<(Id, u32)> = self.origin_clusters.get(&o).map(|m| m.iter().map(|(&e, &n)| (e, n)).collect()).unwrap_or_default();
        for (e, n) in clusters {
            self.vuln_cluster_adjust(v, e, o, -(n as i64));
        }
    }

    fn withdraw(&mut self, v: Id) {
        let Some(vuln) = self.vulns.remove(&v) else { return };
        for &o in &vuln.origins {
            self.detach(v, o);
        }
        for (pkg, _) in &vuln.packages {
            if let Some(list) = self.package_ranges.get_mut(pkg) {
                list.retain(|(x, _)| *x != v);
                if list.is_empty() {
                    self.package_ranges.remove(pkg);
                }
            }
        }
        for &a in &vuln.artifacts {
            let n = self.artifact_findings.entry(a).or_default();
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.artifact_findings.remove(&a);
                self.reach_adjust(a, a, -1, 0);
            }
        }
    }

    fn undeploy(&mut self, e: Id, s: Id, a: Id) {
        if let Some(set) = self.artifact_deployments.get_mut(&a) {
            set.remove(&(e, s));
        }
        let origins: Vec<Id> = self.reach.get(&a).map(|r| r.iter().map(|(o, _)| *o).collect()).unwrap_or_default();
        for o in origins {
            self.origin_cluster_adjust(o, e, a, -1);
        }
    }

    /// Whether `a` is `p` or one of `p`'s ancestors: then making `p` a parent of `a` would
    /// close a cycle.
    fn is_ancestor(&self, a: Id, p: Id) -> bool {
        let mut stack = vec![p];
        let mut seen = HashSet::new();
        while let Some(x) = stack.pop() {
            if x == a {
                return true;
            }
            if seen.insert(x) {
                stack.extend(self.parents.get(&x).into_iter().flat_map(|m| m.keys().copied()));
            }
        }
        false
    }

    /// Changes the support of (origin `o`, artifact `a`) and propagates every 0 ↔ positive
    /// transition to the artifact's children and deployments: work proportional to the pairs
    /// that change.
    fn reach_adjust(&mut self, o: Id, a: Id, direct: i32, inherited: i32) {
        let mut work = vec![(a, direct, inherited)];
        while let Some((a, dd, di)) = work.pop() {
            let list = self.reach.entry(a).or_default();
            let i = match list.iter().position(|(x, _)| *x == o) {
                Some(i) => i,
                None => {
                    list.push((o, Support::default()));
                    list.len() - 1
                }
            };
            let entry = &mut list[i].1;
            let before = entry.total();
            entry.direct = entry.direct.saturating_add_signed(dd);
            entry.inherited = entry.inherited.saturating_add_signed(di);
            let after = entry.total();
            if after == 0 {
                list.swap_remove(i);
                if list.is_empty() {
                    self.reach.remove(&a);
                }
            }
            let delta = match (before, after) {
                (0, n) if n > 0 => 1,
                (n, 0) if n > 0 => -1,
                _ => continue,
            };
            work.extend(self.children.get(&a).into_iter().flatten().map(|&c| (c, 0, delta)));
            let deps: Vec<(Id, Id)> = self.artifact_deployments.get(&a).map(|d| d.iter().copied().collect()).unwrap_or_default();
            for (e, _) in deps {
                self.origin_cluster_adjust(o, e, a, delta);
            }
        }
    }

    fn origin_cluster_adjust(&mut self, o: Id, e: Id, via: Id, delta: i32) {
        let per_origin = self.origin_clusters.entry(o).or_default();
        let count = per_origin.entry(e).or_default();
        *count = count.saturating_add_signed(delta);
        if *count == 0 {
            per_origin.remove(&e);
            if per_origin.is_empty() {
                self.origin_clusters.remove(&o);
            }
        }
        let vulns: Vec<Id> = self.origin_vulns.get(&o).map(|s| s.iter().copied().collect()).unwrap_or_default();
        for v in vulns {
            self.vuln_cluster_adjust(v, e, via, delta as i64);
        }
    }

    fn vuln_cluster_adjust(&mut self, v: Id, e: Id, via: Id, delta: i64) {
        let per_vuln = self.vuln_clusters.entry(v).or_default();
        let count = per_vuln.entry(e).or_default();
        let before = *count;
        *count = (*count as i64 + delta).max(0) as u32;
        let after = *count;
        if after == 0 {
            per_vuln.remove(&e);
            if per_vuln.is_empty() {
                self.vuln_clusters.remove(&v);
            }
        }
        let per_cluster = self.clusters.entry(e).or_default();
        if after == 0 {
            per_cluster.remove(&v);
            if per_cluster.is_empty() {
                self.clusters.remove(&e);
            }
        } else {
            per_cluster.insert(v, after);
        }
        if (before == 0) != (after == 0) {
            self.changes.push(ImpactChange {
                cluster: self.names.name(e).to_owned(),
                vulnerability: self.names.name(v).to_owned(),
                artifact: self.names.name(via).to_owned(),
                affected: after > 0,
                seq: self.seq,
            });
        }
    }
}

/// Drops changes that cancel out within one fact (a restated vulnerability is withdrawn and
/// added again inside `apply`; subscribers see only the difference), and lists the rest by
/// cluster, then vulnerability.
fn net(changes: Vec<ImpactChange>) -> Vec<ImpactChange> {
    if changes.len() < 2 {
        return changes;
    }
    let mut balance: HashMap<(String, String), i32> = HashMap::new();
    for c in &changes {
        *balance.entry((c.cluster.clone(), c.vulnerability.clone())).or_default() += if c.affected { 1 } else { -1 };
    }
    let mut out: Vec<ImpactChange> = Vec::new();
    for c in changes.into_iter().rev() {
        let key = (c.cluster.clone(), c.vulnerability.clone());
        let b = balance.get(&key).copied().unwrap_or(0);
        if b != 0 && (b > 0) == c.affected && !out.iter().any(|o| o.cluster == c.cluster && o.vulnerability == c.vulnerability) {
            out.push(c);
        }
    }
    out.sort_by(|a, b| (&a.cluster, &a.vulnerability).cmp(&(&b.cluster, &b.vulnerability)));
    out
}

/// The derived views in a form that can be compared: names, sorted.
#[derive(Debug, PartialEq, Eq)]
pub struct Views {
    /// (origin, artifact, direct reasons, parents reached)
    pub reach: BTreeSet<(String, String, u32, u32)>,
    /// (cluster, vulnerability, affected deployments summed over the vulnerability's origins)
    pub clusters: BTreeSet<(String, String, u32)>,
}

impl Graph {
    /// The incrementally maintained views.
    pub fn views(&self) -> Views {
        let n = |id: Id| self.names.name(id).to_owned();
        Views {
            reach: self.reach.iter().flat_map(|(&a, list)| list.iter().map(move |&(o, s)| (n(o), n(a), s.direct, s.inherited))).collect(),
            clusters: self.clusters.iter().flat_map(|(&e, m)| m.iter().map(move |(&v, &c)| (n(e), n(v), c))).collect(),
        }
    }

    /// The same views derived from the facts alone, from scratch.
    pub fn recompute(&self) -> Views {
        let n = |id: Id| self.names.name(id).to_owned();
        let mut direct: HashMap<(Id, Id), u32> = HashMap::new();
        for (&a, &(r, _)) in &self.built_by {
            for &c in self.run_sources.get(&r).into_iter().flat_map(|m| m.keys()) {
                *direct.entry((c, a)).or_default() += 1;
            }
        }
        for (&a, commits) in &self.artifact_changes {
            for &c in commits.keys() {
                *direct.entry((c, a)).or_default() += 1;
            }
        }
        for (&a, versions) in &self.contains {
            for &pv in versions.keys() {
                *direct.entry((pv, a)).or_default() += 1;
            }
        }
        let named: HashSet<Id> = self.vulns.values().flat_map(|v| v.artifacts.iter().copied()).collect();
        for &a in &named {
            *direct.entry((a, a)).or_default() += 1;
        }
        let mut reach: HashSet<(Id, Id)> = HashSet::new();
        for &(o, a) in direct.keys() {
            let mut stack = vec![a];
            while let Some(x) = stack.pop() {
                if reach.insert((o, x)) {
                    stack.extend(self.children.get(&x).into_iter().flatten().copied());
                }
            }
        }
        let mut out = Views { reach: BTreeSet::new(), clusters: BTreeSet::new() };
        for &(o, a) in &reach {
            let inherited = self.parents.get(&a).map(|ps| ps.keys().filter(|p| reach.contains(&(o, **p))).count()).unwrap_or(0);
            out.reach.insert((n(o), n(a), direct.get(&(o, a)).copied().unwrap_or(0), inherited as u32));
        }
        let mut clusters: BTreeMap<(Id, Id), u32> = BTreeMap::new();
        for (&v, vuln) in &self.vulns {
            // The vulnerability's origins, from its statement and the package versions known.
            let mut origins: HashSet<Id> = vuln.commits.union(&vuln.artifacts).copied().collect();
            for (&pv, (pkg, version)) in &self.package_of {
                if vuln.packages.iter().any(|(p, r)| p == pkg && r.contains(version)) {
                    origins.insert(pv);
                }
            }
            for &o in &origins {
                for (&(e, _), &(a, _)) in &self.deployments {
                    if reach.contains(&(o, a)) {
                        *clusters.entry((e, v)).or_default() += 1;
                    }
                }
            }
        }
        out.clusters = clusters.into_iter().map(|((e, v), c)| (n(e), n(v), c)).collect();
        out
    }
}
