//! Questions asked of the graph.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::Serialize;

use crate::find::ArtifactMatches;
use crate::graph::Graph;
use crate::reports::{By, Id, Report, ReportKey};
use dossier_core::{artifact_name, Severity, VersionRange};

/// An artifact at a glance: the states a picture of its lineage marks on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactStatus {
    /// The entry that quarantined it, while it is quarantined.
    pub quarantined: Option<u64>,
    /// The entry of its deletion from its registry.
    pub deleted: Option<u64>,
    /// Vulnerabilities reaching it through its lineage that no VEX statement about it waives,
    /// and the worst severity among them.
    pub vulnerabilities: usize,
    pub worst: Option<Severity>,
    /// Vulnerabilities reaching it that a VEX statement about it waives.
    pub waived: usize,
    /// Where it runs itself: (environment, service), by environment then service.
    pub deployed: Vec<(String, String)>,
}

/// A lineage edge and the log entry that states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub artifact: String,
    pub parent: String,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub repository: String,
    pub commit: String,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    pub environment: String,
    pub service: String,
    pub artifact: String,
    pub seq: u64,
}

/// An artifact's lineage. Every list has one order, stated with it, whatever the graph's
/// history: a graph rebuilt from the log answers exactly as the live one.
#[derive(Debug, Clone, Serialize)]
pub struct Lineage {
    /// The artifact, named in canonical form.
    pub artifact: String,
    /// Log entry of the artifact's deletion from its registry, if it was deleted.
    pub deleted: Option<u64>,
    /// Log entry that quarantined the artifact, while it is quarantined.
    pub quarantined: Option<u64>,
    /// The pipeline run that built it, and the entry that says so.
    pub built_by: Option<(String, u64)>,
    /// The commits it was built from: those its run used and its own change, by repository
    /// then commit, each once (with the first entry that states it).
    pub sources: Vec<Source>,
    /// Every commit whose code the artifact contains, through its build and its ancestors'
    /// (`repository@commit`), and the artifacts named by findings that it derives from.
    pub origins: Vec<String>,
    /// Derivation edges upwards: nearest first, then by artifact, then by parent.
    pub ancestors: Vec<Edge>,
    /// Derivation edges downwards: nearest first, then by artifact, then by parent.
    pub descendants: Vec<Edge>,
    /// Where it and its descendants run, by environment then service.
    pub deployments: Vec<Deployment>,
    /// Vulnerabilities affecting it, worst first, then by id.
    pub vulnerabilities: Vec<(String, Severity)>,
    /// Those of them a VEX statement about it says it is not affected by, wherever it runs,
    /// by id; exceptions, which hold per environment, are the policy input's `exceptions`.
    pub vex: Vec<VexWaived>,
}

impl Lineage {
    /// Whether the graph holds anything about the artifact beyond its name: a build, commits,
    /// ancestors or descendants, deployments, vulnerabilities, VEX, a quarantine or a deletion.
    /// (An artifact's name alone is known as soon as any entry names it — a gate decision does.)
    pub fn states_anything(&self) -> bool {
        self.deleted.is_some()
            || self.quarantined.is_some()
            || self.built_by.is_some()
            || !self.sources.is_empty()
            || !self.origins.is_empty()
            || !self.ancestors.is_empty()
            || !self.descendants.is_empty()
            || !self.deployments.is_empty()
            || !self.vulnerabilities.is_empty()
            || !self.vex.is_empty()
    }
}

/// A vulnerability a VEX statement waives for an artifact, and the statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VexWaived {
    pub vulnerability: String,
    pub by: Waiver,
}

/// An artifact containing a version of a package: its own SBOM lists it (`via` is `None`), or
/// it derives from an artifact whose SBOM does (`via` names that artifact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Containing {
    pub artifact: String,
    pub version: String,
    pub via: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactImpact {
    pub artifact: String,
    /// `pkg:oci/` and `pkg:docker/` artifacts are container images.
    pub image: bool,
    /// Why: from where the vulnerability was found (a commit, or an artifact) down to this one.
    pub path: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Impact {
    /// The vulnerability's canonical id (a CVE, else a GHSA, else the least id by name).
    pub vulnerability: String,
    /// Its other ids, by name: every id any report gave it.
    pub aliases: Vec<String>,
    /// The worst severity any report gives it.
    pub severity: Severity,
    /// The newest log entry that reported it.
    pub seq: u64,
    /// Who reported it, oldest first.
    pub sources: Vec<Reporter>,
    pub artifacts: Vec<ArtifactImpact>,
    pub deployments: Vec<Deployment>,
    /// Clusters it puts at risk: something affected runs there, not waived.
    pub clusters: Vec<String>,
    /// Clusters where everything affected that runs there is waived, with what waives each.
    pub waived: Vec<WaivedIn>,
}

/// Who reported a vulnerability: a discovered event, or a document's finding or advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reporter {
    /// `event` or `document`.
    pub kind: &'static str,
    /// The id it reported the vulnerability under.
    pub id: String,
    pub severity: Severity,
    /// The log entry that states it.
    pub seq: u64,
    /// The document's digest and the artifact it was received about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// The package a scanner found it in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The package versions an advisory names, `purl versions`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<String>,
}

/// A cluster where a vulnerability is waived, and what waives it for each deployment reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaivedIn {
    pub cluster: String,
    pub deployments: Vec<WaivedDeployment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaivedDeployment {
    pub service: String,
    pub artifact: String,
    pub by: Waiver,
}

/// What waives a vulnerability for an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Waiver {
    /// An exception in force.
    Exception { id: String },
    /// A VEX statement (`statement`: its position in the document) saying `not_affected`.
    Vex { document: String, statement: u32, seq: u64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterRisk {
    pub cluster: String,
    /// Distinct vulnerabilities affecting something that runs there, not waived.
    pub vulnerabilities: usize,
    pub worst: Severity,
    pub by_severity: BTreeMap<&'static str, usize>,
    /// Vulnerabilities affecting what runs there, but waived for all of it, by id.
    pub waived: Vec<String>,
}

/// A vulnerability in the index: its ids, severity, and reach.
#[derive(Debug, Clone, Serialize)]
pub struct VulnerabilitySummary {
    pub vulnerability: String,
    pub aliases: Vec<String>,
    pub severity: Severity,
    /// The newest log entry that reported it.
    pub seq: u64,
    pub reports: usize,
    /// Clusters it puts at risk, and clusters where it is waived, by name.
    pub clusters: Vec<String>,
    pub waived: Vec<String>,
}

fn is_image(purl: &str) -> bool {
    purl.starts_with("pkg:oci/") || purl.starts_with("pkg:docker/")
}

impl Graph {
    /// The derivation edges up (to parents) or down (to children) from `start`, each once:
    /// nearest first (an edge leaving an artifact `d` derivations away is `d + 1` away), then
    /// by artifact, then by parent.
    fn walk(&self, start: Id, up: bool) -> Vec<Edge> {
        let mut found: Vec<(usize, Id, Id, u64)> = Vec::new();
        let mut distance = HashMap::from([(start, 0usize)]);
        let mut queue = VecDeque::from([start]);
        while let Some(x) = queue.pop_front() {
            let d = distance[&x] + 1;
            let next: Vec<(Id, Id, u64)> = if up {
                self.parents.get(&x).into_iter().flatten().map(|(&p, &seq)| (x, p, seq)).collect()
            } else {
                self.children
                    .get(&x)
                    .into_iter()
                    .flatten()
                    .map(|&c| (c, x, self.parents.get(&c).and_then(|m| m.get(&x)).copied().unwrap_or(0)))
                    .collect()
            };
            for (child, parent, seq) in next {
                found.push((d, child, parent, seq));
                let other = if up { parent } else { child };
                if let std::collections::hash_map::Entry::Vacant(e) = distance.entry(other) {
                    e.insert(d);
                    queue.push_back(other);
                }
            }
        }
        let name = |id: Id| self.names.name(id);
        found.sort_by(|x, y| (x.0, name(x.1), name(x.2)).cmp(&(y.0, name(y.1), name(y.2))));
        found
            .into_iter()
            .map(|(_, child, parent, seq)| Edge { artifact: name(child).to_owned(), parent: name(parent).to_owned(), seq })
            .collect()
    }

    /// Every artifact containing `package` (a purl without version) at a version in `range`,
    /// by artifact then version; an artifact is listed once per version, with the nearest way
    /// it gets it (its own SBOM before inheritance).
    pub fn containing(&self, package: &str, range: &VersionRange) -> Vec<Containing> {
        let Some(pkg) = self.names.get(package) else { return Vec::new() };
        let mut out = Vec::new();
        for &pv in self.package_versions.get(&pkg).into_iter().flatten() {
            let Some((_, version)) = self.package_of.get(&pv).filter(|(_, v)| range.contains(v)) else { continue };
            let direct: Vec<Id> = self.package_artifacts.get(&pv).into_iter().flatten().copied().collect();
            let mut seen: HashSet<Id> = direct.iter().copied().collect();
            let mut queue: VecDeque<(Id, Id)> = VecDeque::new();
            for &a in &direct {
                out.push(Containing { artifact: self.names.name(a).to_owned(), version: version.clone(), via: None });
                queue.push_back((a, a));
            }
            while let Some((x, from)) = queue.pop_front() {
                for &child in self.children.get(&x).into_iter().flatten() {
                    if seen.insert(child) {
                        let via = Some(self.names.name(from).to_owned());
                        out.push(Containing { artifact: self.names.name(child).to_owned(), version: version.clone(), via });
                        queue.push_back((child, from));
                    }
                }
            }
        }
        out.sort_by(|a, b| (&a.artifact, &a.version).cmp(&(&b.artifact, &b.version)));
        out
    }

    /// Up to `limit` known artifacts with a word of their name starting with `part`, in any case
    /// (`shop` and `api` find `pkg:oci/shop-api@sha256:…`; see [`crate::find`]): by the word
    /// they match, then in the order the graph first heard of them; and whether more match.
    /// The lookup costs what it answers, not what the graph holds.
    pub fn find_artifacts(&self, part: &str, limit: usize) -> ArtifactMatches {
        let (ids, more) = self.artifact_index.find(part, limit);
        ArtifactMatches { artifacts: ids.into_iter().map(|id| self.names.name(id).to_owned()).collect(), more }
    }

    /// What is known of an artifact (named in any spelling) at a glance, or `None` if the graph
    /// has never heard of it: the cost of its vulnerabilities and its own deployments, not of
    /// its lineage.
    pub fn status(&self, purl: &str) -> Option<ArtifactStatus> {
        let a = self.names.get(&artifact_name(purl))?;
        let waived = self.vex_waived(a);
        let live: Vec<Severity> = self
            .vulnerabilities_of_id(a)
            .into_iter()
            .filter(|(v, _)| !waived.iter().any(|w| &w.vulnerability == v))
            .map(|(_, s)| s)
            .collect();
        let mut deployed: Vec<(String, String)> = self
            .artifact_deployments
            .get(&a)
            .into_iter()
            .flatten()
            .map(|&(e, s)| (self.names.name(e).to_owned(), self.names.name(s).to_owned()))
            .collect();
        deployed.sort();
        Some(ArtifactStatus {
            quarantined: self.quarantined.get(&a).copied(),
            deleted: self.deleted.get(&a).copied(),
            vulnerabilities: live.len(),
            worst: live.first().copied(),
            waived: waived.len(),
            deployed,
        })
    }

    /// The run that built an artifact (named in any spelling), the entry that says so, and the
    /// commits it was built from; `None` if no run is known to have built it.
    pub fn build_of(&self, purl: &str) -> Option<(String, u64, Vec<Source>)> {
        let a = self.names.get(&artifact_name(purl))?;
        let &(run, seq) = self.built_by.get(&a)?;
        Some((self.names.name(run).to_owned(), seq, self.sources_of(a)))
    }

    /// Known artifacts whose purl carries the sha256 digest `hex` (see [`Graph::know_artifact`]),
    /// by name.
    pub fn artifacts_with_digest(&self, hex: &str) -> Vec<String> {
        let list = self.digests.get(hex.to_ascii_lowercase().as_str());
        let mut out: Vec<String> = list.into_iter().flatten().map(|&id| self.names.name(id).to_owned()).collect();
        out.sort();
        out
    }

    fn deployments_of(&self, arts: impl IntoIterator<Item = Id>) -> Vec<Deployment> {
        let mut out: Vec<Deployment> = arts
            .into_iter()
            .flat_map(|a| self.artifact_deployments.get(&a).into_iter().flatten().map(move |&d| (d, a)))
            .map(|((e, s), a)| Deployment {
                environment: self.names.name(e).to_owned(),
                service: self.names.name(s).to_owned(),
                artifact: self.names.name(a).to_owned(),
                seq: self.deployments.get(&(e, s)).map(|d| d.1).unwrap_or(0),
            })
            .collect();
        out.sort_by(|a, b| (&a.environment, &a.service).cmp(&(&b.environment, &b.service)));
        out
    }

    /// The commits artifact `a` was built from: its run's sources and its own change, by
    /// repository then commit, each once with the first entry that states it.
    fn sources_of(&self, a: Id) -> Vec<Source> {
        let run = self.built_by.get(&a).and_then(|(r, _)| self.run_sources.get(r));
        let own = self.artifact_changes.get(&a);
        let mut out: Vec<Source> = run
            .into_iter()
            .chain(own)
            .flatten()
            .map(|(&c, &seq)| {
                let name = self.names.name(c);
                let repo = self.commit_repo.get(&c).map(|r| self.names.name(*r)).unwrap_or("");
                let commit = name.strip_prefix(repo).and_then(|r| r.strip_prefix('@')).unwrap_or(name);
                Source { repository: repo.to_owned(), commit: commit.to_owned(), seq }
            })
            .collect();
        out.sort_by(|x, y| (&x.repository, &x.commit, x.seq).cmp(&(&y.repository, &y.commit, y.seq)));
        out.dedup_by(|later, first| (&later.repository, &later.commit) == (&first.repository, &first.commit));
        out
    }

    /// The lineage of an artifact named in any spelling, or `None` if the graph has never
    /// heard of it.
    pub fn lineage(&self, purl: &str) -> Option<Lineage> {
        let purl = artifact_name(purl);
        let a = self.names.get(&purl)?;
        let built_by = self.built_by.get(&a).map(|&(r, seq)| (self.names.name(r).to_owned(), seq));
        let descendants = self.walk(a, false);
        // An artifact derived twice below this one runs where it runs once.
        let mut running: Vec<Id> = vec![a];
        running.extend(descendants.iter().filter_map(|e| self.names.get(&e.artifact)));
        running.sort_unstable();
        running.dedup();
        let vulnerabilities = self.vulnerabilities_of_id(a);
        let vex = self.vex_waived(a);
        let mut origins: Vec<String> = self.reach.get(&a).into_iter().flatten().map(|(o, _)| self.names.name(*o).to_owned()).collect();
        origins.sort();
        Some(Lineage {
            artifact: purl.into_owned(),
            deleted: self.deleted.get(&a).copied(),
            quarantined: self.quarantined.get(&a).copied(),
            built_by,
            sources: self.sources_of(a),
            origins,
            ancestors: self.walk(a, true),
            descendants,
            deployments: self.deployments_of(running),
            vulnerabilities,
            vex,
        })
    }

    /// The vulnerabilities affecting an artifact (named in any spelling) through its lineage,
    /// worst first, then by id.
    pub fn vulnerabilities_of(&self, purl: &str) -> Vec<(String, Severity)> {
        self.names.get(&artifact_name(purl)).map(|a| self.vulnerabilities_of_id(a)).unwrap_or_default()
    }

    fn vulnerabilities_of_id(&self, a: Id) -> Vec<(String, Severity)> {
        let vulns: std::collections::BTreeSet<Id> =
            self.reach.get(&a).into_iter().flatten().flat_map(|(o, _)| self.origin_vulns.get(o).into_iter().flatten().copied()).collect();
        let mut out: Vec<(String, Severity)> = vulns.into_iter().map(|v| (self.names.name(v).to_owned(), self.severity_of(v))).collect();
        out.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        out
    }

    /// The artifacts quarantined now, with the entry that quarantined each, newest first.
    pub fn quarantined(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self.quarantined.iter().map(|(&a, &seq)| (self.names.name(a).to_owned(), seq)).collect();
        out.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        out
    }

    /// Clusters running something affected by `vulnerability` (any of its ids), not waived:
    /// the view the graph keeps current.
    pub fn affected_clusters(&self, vulnerability: &str) -> Vec<String> {
        self.canonical(vulnerability).map(|v| self.clusters_of(v).0).unwrap_or_default()
    }

    /// The clusters `v` puts at risk and those where it is waived, each by name.
    fn clusters_of(&self, v: Id) -> (Vec<String>, Vec<String>) {
        let (mut live, mut waived) = (Vec::new(), Vec::new());
        for &e in self.vuln_clusters.get(&v).into_iter().flatten().map(|(e, _)| e) {
            let name = self.names.name(e).to_owned();
            if self.waived_pairs.contains(&(v, e)) {
                waived.push(name);
            } else {
                live.push(name);
            }
        }
        live.sort();
        waived.sort();
        (live, waived)
    }

    /// The worst severity the reports of `v` give it.
    pub(crate) fn severity_of(&self, v: Id) -> Severity {
        self.vulns.get(&v).and_then(|x| x.severities.keys().next_back().copied()).unwrap_or_default()
    }

    /// The canonical id of the vulnerability `id` names (itself or one of its aliases), if any
    /// report states it.
    pub fn resolve(&self, id: &str) -> Option<String> {
        self.canonical(id).map(|v| self.names.name(v).to_owned())
    }

    /// Every vulnerability reported, newest report first, then by id.
    pub fn vulnerabilities(&self) -> Vec<VulnerabilitySummary> {
        let mut out: Vec<VulnerabilitySummary> = self
            .vulns
            .iter()
            .map(|(&v, vuln)| {
                let (clusters, waived) = self.clusters_of(v);
                VulnerabilitySummary {
                    vulnerability: self.names.name(v).to_owned(),
                    aliases: self.aliases_of(v),
                    severity: self.severity_of(v),
                    seq: self.reports_of(v).iter().map(|r| r.seq).max().unwrap_or(0),
                    reports: vuln.reports.len(),
                    clusters,
                    waived,
                }
            })
            .collect();
        out.sort_by(|a, b| b.seq.cmp(&a.seq).then_with(|| a.vulnerability.cmp(&b.vulnerability)));
        out
    }

    /// The VEX documents with a statement about the vulnerability `id` names (under any of
    /// its ids), each with its entry, oldest first.
    pub fn vex_documents(&self, id: &str) -> Vec<(String, u64)> {
        let ids = match self.canonical(id) {
            Some(v) => self.members_of(v),
            None => self.names.get(id).into_iter().collect(),
        };
        let mut out: Vec<(String, u64)> = ids
            .iter()
            .flat_map(|m| self.vuln_vex_docs.get(m).into_iter().flatten())
            .map(|(&doc, &seq)| (self.names.name(doc).to_owned(), seq))
            .collect();
        out.sort_by(|x, y| (x.1, &x.0).cmp(&(y.1, &y.0)));
        out.dedup();
        out
    }

    fn reporter(&self, key: ReportKey, r: &Report) -> Reporter {
        let (kind, document, artifact) = match key {
            ReportKey::Event(_) => ("event", None, None),
            ReportKey::Document { doc, artifact, .. } => {
                ("document", Some(self.names.name(doc).to_owned()), Some(self.names.name(artifact).to_owned()))
            }
        };
        Reporter {
            kind,
            id: self.names.name(r.id).to_owned(),
            severity: r.severity,
            seq: r.seq,
            document,
            artifact,
            package: r.package.clone(),
            affected: r.packages.iter().map(|(p, range)| format!("{} {range}", self.names.name(*p))).collect(),
        }
    }

    fn waiver(&self, by: By) -> Waiver {
        match by {
            By::Exception(x) => Waiver::Exception { id: self.names.name(x).to_owned() },
            By::Vex { doc, index, seq } => Waiver::Vex { document: self.names.name(doc).to_owned(), statement: index, seq },
        }
    }

    /// The vulnerabilities reaching `a` that a VEX statement about it waives, by id.
    fn vex_waived(&self, a: Id) -> Vec<VexWaived> {
        if self.vex_vulns.is_empty() {
            return Vec::new();
        }
        let vulns: std::collections::BTreeSet<Id> =
            self.reach.get(&a).into_iter().flatten().flat_map(|(o, _)| self.origin_vulns.get(o).into_iter().flatten().copied()).collect();
        let mut out: Vec<VexWaived> = vulns
            .into_iter()
            .filter_map(|v| {
                let (members, reports) = (self.members_of(v), self.reports_of(v));
                let by = self.vex_waiver(a, &members, &self.reaching(a, v), &reports)?;
                Some(VexWaived { vulnerability: self.names.name(v).to_owned(), by: self.waiver(by) })
            })
            .collect();
        out.sort_by(|x, y| x.vulnerability.cmp(&y.vulnerability));
        out
    }

    /// For each cluster where `v` is waived, what waives it for each deployment it reaches.
    fn waived_in(&self, v: Id) -> Vec<WaivedIn> {
        let (members, reports) = (self.members_of(v), self.reports_of(v));
        let mut out: Vec<WaivedIn> = Vec::new();
        for &(w, e) in self.waived_pairs.iter().filter(|(w, _)| *w == v) {
            let _ = w;
            let mut deployments: Vec<WaivedDeployment> = Vec::new();
            for &s in self.env_services.get(&e).into_iter().flatten() {
                let Some(&(a, _)) = self.deployments.get(&(e, s)) else { continue };
                let reaching = self.reaching(a, v);
                if reaching.is_empty() {
                    continue;
                }
                if let Some(by) = self.waived_for(a, e, &members, &reaching, &reports) {
                    deployments.push(WaivedDeployment {
                        service: self.names.name(s).to_owned(),
                        artifact: self.names.name(a).to_owned(),
                        by: self.waiver(by),
                    });
                }
            }
            deployments.sort_by(|x, y| x.service.cmp(&y.service));
            out.push(WaivedIn { cluster: self.names.name(e).to_owned(), deployments });
        }
        out.sort_by(|x, y| x.cluster.cmp(&y.cluster));
        out
    }

    /// Everything a vulnerability affects, each with the path that explains why: a walk down
    /// from where it was found (a commit, through the builds that used it or were built from
    /// it, or a named artifact) along derivations. The listing costs what it lists. Artifacts
    /// are listed by name; each path is a shortest one, the first by name where there are
    /// several (origins, and the artifacts at each step, taken in name order).
    pub fn impact(&self, vulnerability: &str) -> Option<Impact> {
        let v = self.canonical(vulnerability)?;
        let vuln = self.vulns.get(&v)?;
        // Breadth-first from the origins, remembering how each artifact was first reached.
        let mut came_from: HashMap<Id, Option<Id>> = HashMap::new();
        let mut queue: VecDeque<Id> = VecDeque::new();
        let by_name = |x: &Id, y: &Id| self.names.name(*x).cmp(self.names.name(*y));
        let mut seeds: Vec<(Id, Id)> = Vec::new();
        let mut origins: Vec<Id> = vuln.origins.keys().copied().collect();
        origins.sort_by(by_name);
        for o in origins {
            let mut arts: Vec<Id> = if self.artifact_findings.contains_key(&o) {
                vec![o]
            } else if let Some(arts) = self.package_artifacts.get(&o) {
                arts.iter().copied().collect()
            } else {
                // A commit: the artifacts of the runs that used it, and those built from it.
                let runs = self.commit_runs.get(&o).into_iter().flatten();
                let built = runs.flat_map(|r| self.run_artifacts.get(r).into_iter().flatten());
                built.chain(self.change_artifacts.get(&o).into_iter().flatten()).copied().collect()
            };
            arts.sort_by(by_name);
            seeds.extend(arts.into_iter().map(|a| (o, a)));
        }
        let mut seed_origin: HashMap<Id, Id> = HashMap::new();
        for (o, a) in seeds {
            if let std::collections::hash_map::Entry::Vacant(e) = came_from.entry(a) {
                e.insert(None);
                seed_origin.insert(a, o);
                queue.push_back(a);
            }
        }
        while let Some(x) = queue.pop_front() {
            let mut kids: Vec<Id> = self.children.get(&x).into_iter().flatten().copied().collect();
            kids.sort_by(by_name);
            for c in kids {
                if let std::collections::hash_map::Entry::Vacant(e) = came_from.entry(c) {
                    e.insert(Some(x));
                    queue.push_back(c);
                }
            }
        }
        let path = |a: Id| -> Vec<String> {
            let mut p = vec![a];
            let mut x = a;
            while let Some(Some(prev)) = came_from.get(&x) {
                p.push(*prev);
                x = *prev;
            }
            let origin = seed_origin.get(&x).copied();
            let mut names: Vec<String> = p.iter().rev().map(|&i| self.names.name(i).to_owned()).collect();
            if let Some(o) = origin.filter(|o| *o != x) {
                names.insert(0, self.names.name(o).to_owned());
            }
            names
        };
        let mut arts: Vec<Id> = came_from.keys().copied().collect();
        arts.sort_by(|x, y| self.names.name(*x).cmp(self.names.name(*y)));
        let mut sources: Vec<Reporter> = vuln.reports.iter().filter_map(|&k| self.reports.get(&k).map(|r| self.reporter(k, r))).collect();
        sources.sort_by(|x, y| (x.seq, &x.document, &x.id).cmp(&(y.seq, &y.document, &y.id)));
        sources.dedup();
        let (clusters, _) = self.clusters_of(v);
        Some(Impact {
            vulnerability: self.names.name(v).to_owned(),
            aliases: self.aliases_of(v),
            severity: self.severity_of(v),
            seq: sources.iter().map(|r| r.seq).max().unwrap_or(0),
            sources,
            artifacts: arts
                .iter()
                .map(|&a| ArtifactImpact { artifact: self.names.name(a).to_owned(), image: is_image(self.names.name(a)), path: path(a) })
                .collect(),
            deployments: self.deployments_of(arts.iter().copied()),
            clusters,
            waived: self.waived_in(v),
        })
    }

    /// Per cluster: distinct vulnerabilities (not paths) not waived, the worst severity, counts
    /// by severity, and the vulnerabilities waived there.
    pub fn risk(&self) -> Vec<ClusterRisk> {
        let mut out: Vec<ClusterRisk> = self
            .clusters
            .iter()
            .map(|(&e, vulns)| {
                let mut by_severity: BTreeMap<&'static str, usize> = BTreeMap::new();
                let mut worst = Severity::Unknown;
                let (mut live, mut waived) = (0, Vec::new());
                for &v in vulns.keys() {
                    if self.waived_pairs.contains(&(v, e)) {
                        waived.push(self.names.name(v).to_owned());
                        continue;
                    }
                    let s = self.severity_of(v);
                    worst = worst.max(s);
                    *by_severity.entry(s.name()).or_default() += 1;
                    live += 1;
                }
                waived.sort();
                ClusterRisk { cluster: self.names.name(e).to_owned(), vulnerabilities: live, worst, by_severity, waived }
            })
            .collect();
        out.sort_by(|a, b| b.worst.cmp(&a.worst).then(b.vulnerabilities.cmp(&a.vulnerabilities)).then(a.cluster.cmp(&b.cluster)));
        out
    }

    /// Per environment, what runs there now.
    pub fn what_runs_where(&self) -> BTreeMap<String, Vec<Deployment>> {
        let mut out: BTreeMap<String, Vec<Deployment>> = BTreeMap::new();
        for (&(e, s), &(a, seq)) in &self.deployments {
            out.entry(self.names.name(e).to_owned()).or_default().push(Deployment {
                environment: self.names.name(e).to_owned(),
                service: self.names.name(s).to_owned(),
                artifact: self.names.name(a).to_owned(),
                seq,
            });
        }
        for list in out.values_mut() {
            list.sort_by(|a, b| a.service.cmp(&b.service));
        }
        out
    }

    /// Counts for status displays.
    pub fn stats(&self) -> serde_json::Value {
        serde_json::json!({
            "built_artifacts": self.built_by.len(),
            "derivations": self.parents.values().map(|m| m.len()).sum::<usize>(),
            "deployments": self.deployments.len(),
            "vulnerabilities": self.vulns.len(),
            "reach_pairs": self.reach.values().map(|m| m.len()).sum::<usize>(),
            "affected_clusters": self.clusters.len(),
            "refused_cycles": self.refused_cycles,
            "digest": self.digest(),
        })
    }

    /// A fingerprint of the derived views: equal graphs have equal digests, so a graph rebuilt
    /// from the log can be compared with the live one.
    pub fn digest(&self) -> String {
        use std::hash::{Hash, Hasher};
        let views = self.views();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        views.reach.hash(&mut h);
        views.clusters.hash(&mut h);
        format!("{:016x}", h.finish())
    }
}
