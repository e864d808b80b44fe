//! The graph, its incrementally maintained views, and their from-scratch recomputation.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use dossier_core::{artifact_name, Fact, VersionRange};

use crate::find::ArtifactIndex;
pub(crate) use crate::reports::Id;
use crate::reports::{Report, ReportKey, VexRef, Vuln, Waiver};

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
    /// Still running there, but waived by a VEX statement or an exception (`affected` is false).
    pub waived: bool,
    /// The vulnerability's other ids (aliases merged into it), by name.
    pub aliases: Vec<String>,
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
    /// Every report of a vulnerability (a discovered event, a document's finding), by who
    /// made it; and the vulnerabilities they make, by canonical id (aliases merged).
    pub(crate) reports: HashMap<ReportKey, Report>,
    pub(crate) vulns: HashMap<Id, Vuln>,
    /// Alias edges between vulnerability ids, each with the number of reports stating it.
    pub(crate) alias_edges: HashMap<Id, HashMap<Id, u32>>,
    /// Vulnerability id → the reports stated under it.
    pub(crate) node_reports: HashMap<Id, BTreeSet<ReportKey>>,
    /// Vulnerability id → the canonical id of its alias component, and the reverse.
    pub(crate) canon: HashMap<Id, Id>,
    pub(crate) members: HashMap<Id, BTreeSet<Id>>,
    /// (document, artifact) → how many findings it reported.
    pub(crate) doc_findings: HashMap<(Id, Id), u32>,
    /// VEX documents → the (product key, vulnerability id) pairs their statements are indexed under.
    pub(crate) vex_docs: HashMap<Id, Vec<(Id, Id)>>,
    pub(crate) vex_index: HashMap<(Id, Id), Vec<VexRef>>,
    pub(crate) vex_vulns: HashMap<Id, u32>,
    /// Vulnerability id → the VEX documents naming it, each with its entry.
    pub(crate) vuln_vex_docs: HashMap<Id, HashMap<Id, u64>>,
    /// Exceptions in force that name vulnerabilities, and how many name each id.
    pub(crate) exceptions: HashMap<Id, Waiver>,
    pub(crate) exception_vulns: HashMap<Id, u32>,
    /// Environment → its services.
    pub(crate) env_services: HashMap<Id, HashSet<Id>>,
    /// (vulnerability, cluster) pairs affected but waived for every deployment there.
    pub(crate) waived_pairs: HashSet<(Id, Id)>,
    /// Pairs whose state may have changed during the fact being applied: live before, and
    /// the artifact that changed it.
    pub(crate) touched: HashMap<(Id, Id), (bool, Option<Id>)>,
    pub(crate) deleted: HashMap<Id, u64>,
    /// Quarantined artifacts and the entry that quarantined them.
    pub(crate) quarantined: HashMap<Id, u64>,
    /// Artifact → package versions (`purl@version` ids) it contains.
    pub(crate) contains: HashMap<Id, HashMap<Id, u64>>,
    pub(crate) package_artifacts: HashMap<Id, HashSet<Id>>,
    /// Package version id → (package id, version).
    pub(crate) package_of: HashMap<Id, (Id, String)>,
    pub(crate) package_versions: HashMap<Id, Vec<Id>>,
    /// Package → the reports whose ranges name it.
    pub(crate) package_ranges: HashMap<Id, Vec<(ReportKey, VersionRange)>>,
    // Derived views.
    pub(crate) reach: HashMap<Id, Vec<(Id, Support)>>,
    /// Findings naming each artifact: an artifact is an origin while this is positive.
    pub(crate) artifact_findings: HashMap<Id, u32>,
    pub(crate) origin_vulns: HashMap<Id, HashSet<Id>>,
    pub(crate) origin_clusters: HashMap<Id, HashMap<Id, u32>>,
    pub(crate) vuln_clusters: HashMap<Id, HashMap<Id, u32>>,
    pub(crate) clusters: HashMap<Id, HashMap<Id, u32>>,
    /// sha256 digest (hex) → the artifacts whose purl carries it.
    pub(crate) digests: HashMap<Box<str>, Vec<Id>>,
    /// The artifacts known, by the words of their names.
    pub(crate) artifact_index: ArtifactIndex,
    /// Derivation edges refused because they would close a cycle.
    pub(crate) refused_cycles: u64,
    pub(crate) seq: u64,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Remembers an artifact an event names, so that it can be found by part of its name
    /// ([`Graph::find_artifacts`]) and by the sha256 digest its purl carries
    /// (`pkg:oci/x@sha256:<hex>`, `…?digest=sha256:<hex>`, in any spelling).
    pub fn know_artifact(&mut self, purl: &str) {
        let purl = artifact_name(purl);
        let purl = purl.as_ref();
        self.artifact_id(purl);
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
                let (a, r) = (self.artifact_id(artifact), self.names.id(run));
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
                let (a, repo) = (self.artifact_id(artifact), self.names.id(repository));
                let commit = self.commit_id(repository, commit);
                self.commit_repo.insert(commit, repo);
                if self.artifact_changes.entry(a).or_default().insert(commit, seq).is_none() {
                    self.change_artifacts.entry(commit).or_default().insert(a);
                    self.reach_adjust(commit, a, 1, 0);
                }
            }
            Fact::Parent { artifact, parent } => {
                let (a, p) = (self.artifact_id(artifact), self.artifact_id(parent));
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
                let (e, s, a) = (self.names.id(environment), self.names.id(service), self.artifact_id(artifact));
                match self.deployments.get(&(e, s)).copied() {
                    Some((old, _)) if old == a => {
                        self.deployments.insert((e, s), (a, seq));
                    }
                    old => {
                        if let Some((old, _)) = old {
                            self.undeploy(e, s, old);
                        }
                        self.deployments.insert((e, s), (a, seq));
                        self.env_services.entry(e).or_default().insert(s);
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
                        if let Some(services) = self.env_services.get_mut(&e) {
                            services.remove(&s);
                            if services.is_empty() {
                                self.env_services.remove(&e);
                            }
                        }
                        self.undeploy(e, s, old);
                    }
                }
            }
            Fact::Contains { artifact, package, version } => {
                let (a, pkg) = (self.artifact_id(artifact), self.names.id(package));
                let pv = self.names.id(&format!("{package}@{version}"));
                if self.contains.entry(a).or_default().insert(pv, seq).is_none() {
                    if let std::collections::hash_map::Entry::Vacant(slot) = self.package_of.entry(pv) {
                        // A version seen for the first time joins the vulnerabilities whose
                        // ranges hold it, before it reaches anything.
                        slot.insert((pkg, version.clone()));
                        self.package_versions.entry(pkg).or_default().push(pv);
                        let reports: Vec<ReportKey> = self
                            .package_ranges
                            .get(&pkg)
                            .into_iter()
                            .flatten()
                            .filter(|(_, r)| r.contains(version))
                            .map(|(k, _)| *k)
                            .collect();
                        for k in reports {
                            self.report_gains_origin(k, pv);
                        }
                    }
                    self.package_artifacts.entry(pv).or_default().insert(a);
                    self.reach_adjust(pv, a, 1, 0);
                }
            }
            Fact::Vulnerability { id, aliases, severity, commits, artifacts, packages } => {
                let key = ReportKey::Event(self.names.id(id));
                self.remove_report(key);
                let commits: HashSet<Id> = commits.iter().map(|(repo, c)| self.commit_id(repo, c)).collect();
                let artifacts: HashSet<Id> = artifacts.iter().map(|a| self.names.id(a)).collect();
                let report = self.report(id, aliases, *severity, commits, artifacts, packages, None);
                self.add_report(key, report);
            }
            Fact::VulnerabilityGone { id } => self.gone(id),
            Fact::Findings { document, artifact, found } => self.findings(document, artifact, found),
            Fact::Vex { document, statements } => self.vex(document, statements),
            Fact::Exception { id, vulnerabilities, artifacts, environments, in_force } => {
                self.exception(id, vulnerabilities, artifacts, environments, *in_force)
            }
            Fact::Quarantine { artifact, quarantined } => {
                let a = self.artifact_id(artifact);
                if *quarantined {
                    self.quarantined.insert(a, seq);
                } else {
                    self.quarantined.remove(&a);
                }
            }
            Fact::ArtifactDeleted { artifact } => {
                let a = self.artifact_id(artifact);
                self.deleted.insert(a, seq);
            }
        }
        self.finish()
    }

    /// The id of an artifact a fact or an event names, indexed by its name's words.
    pub(crate) fn artifact_id(&mut self, purl: &str) -> Id {
        let id = self.names.id(purl);
        self.artifact_index.add(id, purl);
        id
    }

    pub(crate) fn commit_id(&mut self, repository: &str, commit: &str) -> Id {
        self.names.id(&format!("{repository}@{commit}"))
    }

    /// Adds (`delta` = 1) or removes (-1) the reach that run `r`'s sources give `a`.
    fn run_direct(&mut self, a: Id, r: Id, delta: i32) {
        let commits: Vec<Id> = self.run_sources.get(&r).map(|m| m.keys().copied().collect()).unwrap_or_default();
        for c in commits {
            self.reach_adjust(c, a, delta, 0);
        }
    }

    pub(crate) fn matching_versions(&self, pkg: Id, range: &VersionRange) -> Vec<Id> {
        self.package_versions
            .get(&pkg)
            .into_iter()
            .flatten()
            .filter(|pv| self.package_of.get(pv).is_some_and(|(_, version)| range.contains(version)))
            .copied()
            .collect()
    }

    /// Makes vulnerability `v` listen to origin `o`: every cluster `o` reaches counts for `v`.
    pub(crate) fn attach(&mut self, v: Id, o: Id) {
        if self.origin_vulns.entry(o).or_default().insert(v) {
            let clusters: Vec<(Id, u32)> =
                self.origin_clusters.get(&o).map(|m| m.iter().map(|(&e, &n)| (e, n)).collect()).unwrap_or_default();
            for (e, n) in clusters {
                self.vuln_cluster_adjust(v, e, o, n as i64);
            }
        }
    }

    pub(crate) fn detach(&mut self, v: Id, o: Id) {
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
    pub(crate) fn reach_adjust(&mut self, o: Id, a: Id, direct: i32, inherited: i32) {
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
        self.touch(v, e, Some(via));
        let per_vuln = self.vuln_clusters.entry(v).or_default();
        let count = per_vuln.entry(e).or_default();
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
    }
}

/// The derived views in a form that can be compared: names, sorted.
#[derive(Debug, PartialEq, Eq)]
pub struct Views {
    /// (origin, artifact, direct reasons, parents reached)
    pub reach: BTreeSet<(String, String, u32, u32)>,
    /// (cluster, vulnerability, affected deployments summed over the vulnerability's origins)
    pub clusters: BTreeSet<(String, String, u32)>,
    /// (vulnerability id, the canonical id of the vulnerability it is an alias of)
    pub aliases: BTreeSet<(String, String)>,
    /// (cluster, vulnerability) affected, but waived for every deployment there.
    pub waived: BTreeSet<(String, String)>,
}

impl Graph {
    /// The incrementally maintained views.
    pub fn views(&self) -> Views {
        let n = |id: Id| self.names.name(id).to_owned();
        Views {
            reach: self.reach.iter().flat_map(|(&a, list)| list.iter().map(move |&(o, s)| (n(o), n(a), s.direct, s.inherited))).collect(),
            clusters: self.clusters.iter().flat_map(|(&e, m)| m.iter().map(move |(&v, &c)| (n(e), n(v), c))).collect(),
            aliases: self.canon.iter().map(|(&x, &c)| (n(x), n(c))).collect(),
            waived: self.waived_pairs.iter().map(|&(v, e)| (n(e), n(v))).collect(),
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
        let named: HashSet<Id> = self.reports.values().flat_map(|r| r.artifacts.iter().copied()).collect();
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
        let mut out = Views { reach: BTreeSet::new(), clusters: BTreeSet::new(), aliases: BTreeSet::new(), waived: BTreeSet::new() };
        for &(o, a) in &reach {
            let inherited = self.parents.get(&a).map(|ps| ps.keys().filter(|p| reach.contains(&(o, **p))).count()).unwrap_or(0);
            out.reach.insert((n(o), n(a), direct.get(&(o, a)).copied().unwrap_or(0), inherited as u32));
        }
        // Vulnerabilities: the alias components of every report's ids, each one vulnerability
        // with the origins of all its reports.
        let canon = self.components_from_scratch();
        out.aliases = canon.iter().map(|(&x, &c)| (n(x), n(c))).collect();
        let mut vulns: BTreeMap<Id, (Vec<&Report>, HashSet<Id>)> = BTreeMap::new();
        for r in self.reports.values() {
            let (reports, origins) = vulns.entry(canon[&r.id]).or_default();
            reports.push(r);
            origins.extend(r.commits.union(&r.artifacts).copied());
            for (&pv, (pkg, version)) in &self.package_of {
                if r.packages.iter().any(|(p, range)| p == pkg && range.contains(version)) {
                    origins.insert(pv);
                }
            }
        }
        let mut clusters: BTreeMap<(Id, Id), u32> = BTreeMap::new();
        for (&v, (_, origins)) in &vulns {
            for &o in origins {
                for (&(e, _), &(a, _)) in &self.deployments {
                    if reach.contains(&(o, a)) {
                        *clusters.entry((e, v)).or_default() += 1;
                    }
                }
            }
        }
        let mut members: HashMap<Id, Vec<Id>> = HashMap::new();
        for (&x, &c) in &canon {
            members.entry(c).or_default().push(x);
        }
        for &(e, v) in clusters.keys() {
            let (reports, origins) = &vulns[&v];
            let every_deployment_waived = self.deployments.iter().filter(|((env, _), _)| *env == e).all(|(_, &(a, _))| {
                let reaching: Vec<Id> = origins.iter().copied().filter(|&o| reach.contains(&(o, a))).collect();
                reaching.is_empty() || self.waived_for(a, e, &members[&v], &reaching, reports).is_some()
            });
            if every_deployment_waived {
                out.waived.insert((n(e), n(v)));
            }
        }
        out.clusters = clusters.into_iter().map(|((e, v), c)| (n(e), n(v), c)).collect();
        out
    }
}
