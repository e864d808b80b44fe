//! One vulnerability model. A vulnerability is reported by discovered events and by
//! documents (a scanner's finding in an artifact, an advisory naming affected package
//! versions); every report is kept under who made it, and reports whose ids are aliases of each
//! other (CVE ↔ GHSA ↔ PYSEC ↔ OSV, stated by any report) are one vulnerability, named by a
//! canonical id that depends only on the ids: a CVE first, then a GHSA, then any other, the
//! least by name. VEX statements and exceptions in force waive a vulnerability for the
//! artifacts (products) and environments they name; a cluster where every deployment reached
//! is waived is not at risk, and says so.
//!
//! Everything here is maintained incrementally by [`Graph::apply`]: a report joins or leaves
//! its vulnerability's origins with reference counts; an alias edge added or removed relabels
//! only the component it touches; a waiver re-examines only the (vulnerability, cluster) pairs
//! of the vulnerabilities it names. [`Graph::recompute`] derives the same from scratch.

use std::collections::{BTreeSet, HashMap, HashSet};

use dossier_core::{artifact_name, glob_match_any, Found, Severity, VersionRange, VexFact};

use crate::graph::{Graph, ImpactChange};
use crate::reports::{By, Id, Report, ReportKey, VexRef, Waiver};

/// The sha256 digest (lower-case hex) a purl carries, if any.
pub(crate) fn digest_hex(purl: &str) -> Option<String> {
    let at = purl.find("sha256%3A").map(|i| i + 9).or_else(|| purl.find("sha256:").map(|i| i + 7))?;
    let hex: String = purl[at..].chars().take_while(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
    (!hex.is_empty()).then_some(hex)
}

/// The names an artifact or a VEX product goes by for matching: its canonical purl, and
/// `sha256:<hex>` when it carries a digest (a product named by digest names every purl of it).
pub(crate) fn match_keys(name: &str) -> Vec<String> {
    if let Some(hex) = name.strip_prefix("sha256:") {
        return vec![format!("sha256:{}", hex.to_ascii_lowercase())];
    }
    let canonical = artifact_name(name).into_owned();
    let digest = digest_hex(&canonical).map(|h| format!("sha256:{h}"));
    std::iter::once(canonical).chain(digest).collect()
}

/// A package purl compared as a subcomponent: canonical, without qualifiers or subpath.
pub(crate) fn normalised(purl: &str) -> String {
    let bare = purl.split(['?', '#']).next().unwrap_or(purl);
    artifact_name(bare).into_owned()
}

/// The order of canonical ids: a CVE, then a GHSA, then any other; then by name.
fn rank(name: &str) -> (u8, &str) {
    let class = if name.starts_with("CVE-") {
        0
    } else if name.starts_with("GHSA-") {
        1
    } else {
        2
    };
    (class, name)
}

impl Graph {
    /// A report as stated (ids interned, aliases without the id itself, each once); its
    /// origins are filled in by [`Graph::add_report`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn report(
        &mut self,
        id: &str,
        aliases: &[String],
        severity: Severity,
        commits: HashSet<Id>,
        artifacts: HashSet<Id>,
        packages: &[(String, VersionRange)],
        package: Option<String>,
    ) -> Report {
        let id = self.names.id(id);
        let mut alias_ids: Vec<Id> = aliases.iter().map(|a| self.names.id(a)).filter(|&a| a != id).collect();
        alias_ids.sort_unstable();
        alias_ids.dedup();
        let packages = packages.iter().map(|(p, r)| (self.names.id(p), r.clone())).collect();
        Report { id, aliases: alias_ids, severity, commits, artifacts, packages, package, origins: HashSet::new(), seq: self.seq }
    }

    pub(crate) fn add_report(&mut self, key: ReportKey, mut report: Report) {
        // An artifact named by a report becomes an origin of itself and its descendants before
        // the vulnerability listens to it, so that it is counted once.
        for &a in &report.artifacts {
            let n = self.artifact_findings.entry(a).or_default();
            *n += 1;
            if *n == 1 {
                self.reach_adjust(a, a, 1, 0);
            }
        }
        let mut origins: HashSet<Id> = report.commits.union(&report.artifacts).copied().collect();
        for (pkg, range) in &report.packages {
            self.package_ranges.entry(*pkg).or_default().push((key, range.clone()));
            origins.extend(self.matching_versions(*pkg, range));
        }
        report.origins = origins;
        let id = report.id;
        self.node_reports.entry(id).or_default().insert(key);
        for &alias in &report.aliases {
            for (x, y) in [(id, alias), (alias, id)] {
                *self.alias_edges.entry(x).or_default().entry(y).or_default() += 1;
            }
        }
        self.reports.insert(key, report);
        self.relabel(vec![id]);
        let c = self.canon[&id];
        self.join(key, c);
    }

    pub(crate) fn remove_report(&mut self, key: ReportKey) {
        let Some(id) = self.reports.get(&key).map(|r| r.id) else { return };
        let c = self.canon[&id];
        self.leave(key, c);
        let Some(report) = self.reports.remove(&key) else { return };
        if let Some(keys) = self.node_reports.get_mut(&id) {
            keys.remove(&key);
            if keys.is_empty() {
                self.node_reports.remove(&id);
            }
        }
        for &alias in &report.aliases {
            for (x, y) in [(id, alias), (alias, id)] {
                if let Some(edges) = self.alias_edges.get_mut(&x) {
                    if let Some(n) = edges.get_mut(&y) {
                        *n -= 1;
                        if *n == 0 {
                            edges.remove(&y);
                        }
                    }
                    if edges.is_empty() {
                        self.alias_edges.remove(&x);
                    }
                }
            }
        }
        for (pkg, _) in &report.packages {
            if let Some(list) = self.package_ranges.get_mut(pkg) {
                list.retain(|(k, _)| *k != key);
                if list.is_empty() {
                    self.package_ranges.remove(pkg);
                }
            }
        }
        for &a in &report.artifacts {
            let n = self.artifact_findings.entry(a).or_default();
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.artifact_findings.remove(&a);
                self.reach_adjust(a, a, -1, 0);
            }
        }
        let seeds: Vec<Id> = self.members.get(&c).map(|m| m.iter().copied().collect()).unwrap_or_default();
        self.relabel(seeds);
    }

    /// A package version newly known to be in a report's range.
    pub(crate) fn report_gains_origin(&mut self, key: ReportKey, pv: Id) {
        let Some(report) = self.reports.get_mut(&key) else { return };
        if report.origins.insert(pv) {
            let c = self.canon[&report.id];
            self.origin_add(c, pv);
        }
    }

    /// A `withdrawn` or `fixed` event: the discovered events' reports of the vulnerability (under
    /// any of its ids) are gone; documents' findings stay, as the documents do.
    pub(crate) fn gone(&mut self, id: &str) {
        let Some(c) = self.names.get(id).and_then(|x| self.canon.get(&x)).copied() else { return };
        let keys: Vec<ReportKey> =
            self.vulns.get(&c).into_iter().flat_map(|v| v.reports.iter()).filter(|k| matches!(k, ReportKey::Event(_))).copied().collect();
        for key in keys {
            self.remove_report(key);
        }
    }

    pub(crate) fn findings(&mut self, document: &str, artifact: &str, found: &[Found]) {
        let (doc, a) = (self.names.id(document), self.names.id(artifact));
        for index in 0..self.doc_findings.remove(&(doc, a)).unwrap_or(0) {
            self.remove_report(ReportKey::Document { doc, artifact: a, index });
        }
        for (index, f) in found.iter().enumerate() {
            let artifacts = if f.affected.is_empty() { HashSet::from([a]) } else { HashSet::new() };
            let report = self.report(&f.id, &f.aliases, f.severity, HashSet::new(), artifacts, &f.affected, f.package.clone());
            self.add_report(ReportKey::Document { doc, artifact: a, index: index as u32 }, report);
        }
        if !found.is_empty() {
            self.doc_findings.insert((doc, a), found.len() as u32);
        }
    }

    pub(crate) fn vex(&mut self, document: &str, statements: &[VexFact]) {
        let doc = self.names.id(document);
        let mut named: Vec<Id> = Vec::new();
        for (key, m) in self.vex_docs.remove(&doc).unwrap_or_default() {
            if let Some(list) = self.vex_index.get_mut(&(key, m)) {
                list.retain(|r| r.doc != doc);
                if list.is_empty() {
                    self.vex_index.remove(&(key, m));
                }
            }
            decrement(&mut self.vex_vulns, m);
            if let Some(docs) = self.vuln_vex_docs.get_mut(&m) {
                docs.remove(&doc);
                if docs.is_empty() {
                    self.vuln_vex_docs.remove(&m);
                }
            }
            named.push(m);
        }
        let mut indexed = Vec::new();
        for (index, s) in statements.iter().enumerate() {
            let ids: Vec<Id> = std::iter::once(&s.vulnerability).chain(&s.aliases).map(|v| self.names.id(v)).collect();
            for p in &s.products {
                let keys: Vec<Id> = p.names.iter().flat_map(|n| match_keys(n)).map(|k| self.names.id(&k)).collect();
                let subcomponents: Vec<String> = p.subcomponents.iter().map(|c| normalised(c)).collect();
                for &key in &keys {
                    for &m in &ids {
                        let r = VexRef { seq: self.seq, doc, index: index as u32, waives: s.waives, subcomponents: subcomponents.clone() };
                        self.vex_index.entry((key, m)).or_default().push(r);
                        *self.vex_vulns.entry(m).or_default() += 1;
                        self.vuln_vex_docs.entry(m).or_default().insert(doc, self.seq);
                        indexed.push((key, m));
                        named.push(m);
                    }
                }
            }
        }
        if !indexed.is_empty() {
            self.vex_docs.insert(doc, indexed);
        }
        self.touch_named(named);
    }

    pub(crate) fn exception(
        &mut self,
        id: &str,
        vulnerabilities: &[String],
        artifacts: &[String],
        environments: &[String],
        in_force: bool,
    ) {
        let x = self.names.id(id);
        let mut named: Vec<Id> = Vec::new();
        if let Some(old) = self.exceptions.remove(&x) {
            for m in old.vulns {
                decrement(&mut self.exception_vulns, m);
                named.push(m);
            }
        }
        if in_force && !vulnerabilities.is_empty() {
            let vulns: Vec<Id> = vulnerabilities.iter().map(|v| self.names.id(v)).collect();
            for &m in &vulns {
                *self.exception_vulns.entry(m).or_default() += 1;
                named.push(m);
            }
            let artifacts = artifacts.iter().map(|a| if a.contains('*') { a.clone() } else { artifact_name(a).into_owned() }).collect();
            let environments = environments.iter().map(|e| self.names.id(e)).collect();
            self.exceptions.insert(x, Waiver { vulns, artifacts, environments });
        }
        self.touch_named(named);
    }

    /// Re-examines every cluster of the vulnerabilities these ids belong to.
    fn touch_named(&mut self, ids: Vec<Id>) {
        let canonical: BTreeSet<Id> = ids.iter().filter_map(|m| self.canon.get(m)).copied().collect();
        for c in canonical {
            self.touch_vuln(c);
        }
    }

    fn touch_vuln(&mut self, v: Id) {
        let clusters: Vec<Id> = self.vuln_clusters.get(&v).map(|m| m.keys().copied().collect()).unwrap_or_default();
        for e in clusters {
            self.touch(v, e, None);
        }
    }

    /// Notes that (vulnerability, cluster) may change during this fact, with whether it was
    /// live (affected and not waived) before it, the first time.
    pub(crate) fn touch(&mut self, v: Id, e: Id, via: Option<Id>) {
        let live = self.vuln_clusters.get(&v).and_then(|m| m.get(&e)).is_some_and(|&n| n > 0) && !self.waived_pairs.contains(&(v, e));
        let slot = self.touched.entry((v, e)).or_insert((live, None));
        if via.is_some() {
            slot.1 = via;
        }
    }

    fn join(&mut self, key: ReportKey, c: Id) {
        let severity = self.reports.get(&key).map(|r| r.severity);
        let v = self.vulns.entry(c).or_default();
        if v.reports.insert(key) {
            if let Some(s) = severity {
                *v.severities.entry(s).or_default() += 1;
            }
        }
        let origins: Vec<Id> = self.reports.get(&key).map(|r| r.origins.iter().copied().collect()).unwrap_or_default();
        for o in origins {
            self.origin_add(c, o);
        }
        // Whether a statement limited to subcomponents waives it depends on every report (all
        // must have found it in one of them): a report joining can end a waiver.
        if self.may_waive(c) {
            self.touch_vuln(c);
        }
    }

    fn leave(&mut self, key: ReportKey, c: Id) {
        let severity = self.reports.get(&key).map(|r| r.severity);
        let Some(v) = self.vulns.get_mut(&c) else { return };
        if !v.reports.remove(&key) {
            return;
        }
        if let Some(s) = severity {
            if let Some(n) = v.severities.get_mut(&s) {
                *n -= 1;
                if *n == 0 {
                    v.severities.remove(&s);
                }
            }
        }
        let origins: Vec<Id> = self.reports.get(&key).map(|r| r.origins.iter().copied().collect()).unwrap_or_default();
        // A report leaving can begin a waiver (see `join`); touched before the vulnerability
        // may go, so that its clusters are looked at again.
        if self.may_waive(c) {
            self.touch_vuln(c);
        }
        for o in origins {
            self.origin_remove(c, o);
        }
        if self.vulns.get(&c).is_some_and(|v| v.reports.is_empty()) {
            self.vulns.remove(&c);
        }
    }

    fn origin_add(&mut self, c: Id, o: Id) {
        let n = self.vulns.entry(c).or_default().origins.entry(o).or_default();
        *n += 1;
        if *n == 1 {
            self.attach(c, o);
        }
    }

    fn origin_remove(&mut self, c: Id, o: Id) {
        let Some(v) = self.vulns.get_mut(&c) else { return };
        let Some(n) = v.origins.get_mut(&o) else { return };
        *n -= 1;
        if *n == 0 {
            v.origins.remove(&o);
            self.detach(c, o);
        }
    }

    fn node_exists(&self, x: Id) -> bool {
        self.node_reports.contains_key(&x) || self.alias_edges.contains_key(&x)
    }

    fn best(&self, ids: &[Id]) -> Id {
        *ids.iter().min_by(|x, y| rank(self.names.name(**x)).cmp(&rank(self.names.name(**y)))).expect("a component has a node")
    }

    /// Recomputes the alias components holding `seeds`, and moves the reports of every id
    /// whose canonical id changed.
    fn relabel(&mut self, seeds: Vec<Id>) {
        let mut seen: HashSet<Id> = HashSet::new();
        let mut changed: BTreeSet<Id> = BTreeSet::new();
        for seed in seeds {
            if !seen.insert(seed) {
                continue;
            }
            if !self.node_exists(seed) {
                if let Some(old) = self.canon.remove(&seed) {
                    self.unmember(old, seed);
                    changed.insert(old);
                }
                continue;
            }
            let mut component = vec![seed];
            let mut i = 0;
            while i < component.len() {
                let next: Vec<Id> = self.alias_edges.get(&component[i]).map(|m| m.keys().copied().collect()).unwrap_or_default();
                for y in next {
                    if seen.insert(y) {
                        component.push(y);
                    }
                }
                i += 1;
            }
            let c = self.best(&component);
            for x in component {
                let old = self.canon.insert(x, c);
                if old == Some(c) {
                    continue;
                }
                if let Some(old) = old {
                    self.unmember(old, x);
                    changed.insert(old);
                    let moving: Vec<ReportKey> = self
                        .node_reports
                        .get(&x)
                        .into_iter()
                        .flatten()
                        .filter(|k| self.vulns.get(&old).is_some_and(|v| v.reports.contains(k)))
                        .copied()
                        .collect();
                    for k in moving {
                        self.leave(k, old);
                        self.join(k, c);
                    }
                }
                self.members.entry(c).or_default().insert(x);
                changed.insert(c);
            }
        }
        for c in changed {
            self.touch_vuln(c);
        }
    }

    fn unmember(&mut self, c: Id, x: Id) {
        if let Some(m) = self.members.get_mut(&c) {
            m.remove(&x);
            if m.is_empty() {
                self.members.remove(&c);
            }
        }
    }

    /// The alias components of every report's ids, from the reports alone: id → canonical id.
    pub(crate) fn components_from_scratch(&self) -> HashMap<Id, Id> {
        let mut edges: HashMap<Id, Vec<Id>> = HashMap::new();
        for r in self.reports.values() {
            edges.entry(r.id).or_default();
            for &a in &r.aliases {
                edges.entry(r.id).or_default().push(a);
                edges.entry(a).or_default().push(r.id);
            }
        }
        let mut out = HashMap::new();
        for &start in edges.keys() {
            if out.contains_key(&start) {
                continue;
            }
            let mut component = vec![start];
            let mut seen = HashSet::from([start]);
            let mut i = 0;
            while i < component.len() {
                for &y in &edges[&component[i]] {
                    if seen.insert(y) {
                        component.push(y);
                    }
                }
                i += 1;
            }
            let c = self.best(&component);
            out.extend(component.into_iter().map(|x| (x, c)));
        }
        out
    }

    /// The ids of vulnerability `v` (its alias component), or `v` alone.
    pub(crate) fn members_of(&self, v: Id) -> Vec<Id> {
        self.members.get(&v).map(|m| m.iter().copied().collect()).unwrap_or_else(|| vec![v])
    }

    pub(crate) fn reports_of(&self, v: Id) -> Vec<&Report> {
        self.vulns.get(&v).into_iter().flat_map(|x| x.reports.iter()).filter_map(|k| self.reports.get(k)).collect()
    }

    /// The origins of `v` that reach artifact `a`.
    pub(crate) fn reaching(&self, a: Id, v: Id) -> Vec<Id> {
        self.reach
            .get(&a)
            .into_iter()
            .flatten()
            .filter(|(o, _)| self.origin_vulns.get(o).is_some_and(|s| s.contains(&v)))
            .map(|(o, _)| *o)
            .collect()
    }

    /// Whether any VEX statement or exception names an id of `v`.
    fn may_waive(&self, v: Id) -> bool {
        // The common case, and the cost of every fact that touches a cluster: nothing waives.
        if self.vex_vulns.is_empty() && self.exception_vulns.is_empty() {
            return false;
        }
        self.members_of(v).iter().any(|m| self.vex_vulns.contains_key(m) || self.exception_vulns.contains_key(m))
    }

    /// Whether every deployment in cluster `e` that `v` reaches is waived.
    fn all_waived(&self, v: Id, e: Id) -> bool {
        if !self.may_waive(v) {
            return false;
        }
        let (members, reports) = (self.members_of(v), self.reports_of(v));
        self.env_services.get(&e).into_iter().flatten().all(|&s| {
            let Some(&(a, _)) = self.deployments.get(&(e, s)) else { return true };
            let reaching = self.reaching(a, v);
            reaching.is_empty() || self.waived_for(a, e, &members, &reaching, &reports).is_some()
        })
    }

    /// What waives the vulnerability with ids `members` (found by `reports`, reaching `a`
    /// from `reaching`) for artifact `a` deployed in `e`: an exception in force naming one of
    /// its ids, `a` and `e` (the least by id), else the newest VEX statement about `a` and one
    /// of its ids, when it says `not_affected` — and, when it is limited to subcomponents,
    /// every origin that reaches `a` is one of them (a package version, or an artifact whose
    /// reports found it in one).
    pub(crate) fn waived_for(&self, a: Id, e: Id, members: &[Id], reaching: &[Id], reports: &[&Report]) -> Option<By> {
        let name = self.names.name(a);
        let exception = self
            .exceptions
            .iter()
            .filter(|(_, w)| {
                w.vulns.iter().any(|m| members.contains(m))
                    && (w.environments.is_empty() || w.environments.contains(&e))
                    && glob_match_any(&w.artifacts, name)
            })
            .map(|(&x, _)| x)
            .min_by(|x, y| self.names.name(*x).cmp(self.names.name(*y)));
        if let Some(x) = exception {
            return Some(By::Exception(x));
        }
        self.vex_waiver(a, members, reaching, reports)
    }

    /// The newest VEX statement about `a` and one of `members` when it says `not_affected`
    /// and covers every origin in `reaching` (see [`Graph::waived_for`]): wherever `a` runs.
    pub(crate) fn vex_waiver(&self, a: Id, members: &[Id], reaching: &[Id], reports: &[&Report]) -> Option<By> {
        let name = self.names.name(a);
        let keys: Vec<Id> = match_keys(name).iter().filter_map(|k| self.names.get(k)).collect();
        let newest = keys
            .iter()
            .flat_map(|&k| members.iter().filter_map(move |&m| self.vex_index.get(&(k, m))))
            .flatten()
            .max_by_key(|r| (r.seq, r.index))?;
        let covers = newest.subcomponents.is_empty() || reaching.iter().all(|&o| self.covered(o, &newest.subcomponents, reports));
        (newest.waives && covers).then_some(By::Vex { doc: newest.doc, index: newest.index, seq: newest.seq })
    }

    /// Whether origin `o` is one of `subcomponents`: a package version that is one, or an
    /// artifact whose reports (among `reports`) all found the vulnerability in one.
    fn covered(&self, o: Id, subcomponents: &[String], reports: &[&Report]) -> bool {
        if self.package_of.contains_key(&o) {
            return subcomponents.contains(&normalised(self.names.name(o)));
        }
        let mut naming = reports.iter().filter(|r| r.artifacts.contains(&o)).peekable();
        naming.peek().is_some() && naming.all(|r| r.package.as_deref().is_some_and(|p| subcomponents.contains(&normalised(p))))
    }

    /// Settles the pairs touched by the fact just applied: which are waived now, and the
    /// changes of the live view (affected and not waived) for subscribers, by cluster then
    /// vulnerability. A pair that changed and changed back within the fact is no change.
    pub(crate) fn finish(&mut self) -> Vec<ImpactChange> {
        let touched = std::mem::take(&mut self.touched);
        let mut out = Vec::new();
        for ((v, e), (before, via)) in touched {
            let count = self.vuln_clusters.get(&v).and_then(|m| m.get(&e)).copied().unwrap_or(0);
            let waived = count > 0 && self.all_waived(v, e);
            if waived {
                self.waived_pairs.insert((v, e));
            } else {
                self.waived_pairs.remove(&(v, e));
            }
            let live = count > 0 && !waived;
            if live == before {
                continue;
            }
            let via = via.or_else(|| {
                let mut reached: Vec<Id> = self
                    .env_services
                    .get(&e)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| self.deployments.get(&(e, *s)).map(|d| d.0))
                    .filter(|&a| !self.reaching(a, v).is_empty())
                    .collect();
                reached.sort_by(|x, y| self.names.name(*x).cmp(self.names.name(*y)));
                reached.first().copied()
            });
            out.push(ImpactChange {
                cluster: self.names.name(e).to_owned(),
                vulnerability: self.names.name(v).to_owned(),
                artifact: via.map(|a| self.names.name(a).to_owned()).unwrap_or_default(),
                affected: live,
                waived,
                aliases: self.aliases_of(v),
                seq: self.seq,
            });
        }
        out.sort_by(|a, b| (&a.cluster, &a.vulnerability).cmp(&(&b.cluster, &b.vulnerability)));
        out
    }

    /// The other ids of vulnerability `v`, by name.
    pub(crate) fn aliases_of(&self, v: Id) -> Vec<String> {
        let mut out: Vec<String> = self.members_of(v).into_iter().filter(|&m| m != v).map(|m| self.names.name(m).to_owned()).collect();
        out.sort();
        out
    }

    /// The canonical id of the vulnerability `id` names (any of its aliases).
    pub(crate) fn canonical(&self, id: &str) -> Option<Id> {
        self.names.get(id).and_then(|x| self.canon.get(&x)).copied().filter(|c| self.vulns.contains_key(c))
    }
}

fn decrement(counts: &mut HashMap<Id, u32>, key: Id) {
    if let Some(n) = counts.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(&key);
        }
    }
}
