//! What the recorded documents say about one artifact: its components and their licences,
//! its findings (with the VEX statements that answer them), and the tools that looked at it.
//! Pure functions over the documents' log entries, so the server, the CLI and tests share them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{Component, Extract, Finding, Format, Tool};

/// A document as its log entry records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    #[serde(default)]
    pub seq: u64,
    /// When the entry was made (RFC 3339).
    #[serde(default)]
    pub time: String,
    pub artifact_id: String,
    pub digest: String,
    pub size: u64,
    pub sender: String,
    pub origin: String,
    #[serde(flatten)]
    pub extract: Extract,
}

impl Received {
    /// Reads an entry's `subject.content`; `None` if it is not a document entry.
    pub fn from_content(seq: u64, time: &str, content: &serde_json::Value) -> Option<Received> {
        let mut r: Received = serde_json::from_value(content.clone()).ok()?;
        r.seq = seq;
        r.time = time.to_owned();
        Some(r)
    }
}

/// A component and the documents that list it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub component: Component,
    pub documents: Vec<String>,
}

/// The components of an artifact over all its SBOMs (each once, by purl or else name and
/// version), and how many carry each licence (`unknown` when none is stated).
#[derive(Debug, Clone, Serialize)]
pub struct Components {
    pub components: Vec<Listed>,
    pub licenses: BTreeMap<String, usize>,
}

pub fn components<'a>(documents: impl IntoIterator<Item = &'a Received>) -> Components {
    let mut by_key: BTreeMap<String, Listed> = BTreeMap::new();
    for d in documents {
        for c in &d.extract.components {
            let key = c.purl.clone().unwrap_or_else(|| format!("{}@{}", c.name, c.version.as_deref().unwrap_or("")));
            let listed = by_key.entry(key).or_insert_with(|| Listed { component: c.clone(), documents: Vec::new() });
            if listed.component.licenses.is_empty() {
                listed.component.licenses = c.licenses.clone();
            }
            if !listed.documents.contains(&d.digest) {
                listed.documents.push(d.digest.clone());
            }
        }
    }
    let mut licenses = BTreeMap::new();
    for l in by_key.values() {
        if l.component.licenses.is_empty() {
            *licenses.entry("unknown".to_owned()).or_insert(0) += 1;
        }
        for name in &l.component.licenses {
            *licenses.entry(name.clone()).or_insert(0) += 1;
        }
    }
    Components { components: by_key.into_values().collect(), licenses }
}

/// A finding about an artifact, where it comes from, and what VEX says of it.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    #[serde(flatten)]
    pub finding: Finding,
    /// The artifact whose document reported it (an ancestor when inherited).
    pub artifact: String,
    pub inherited: bool,
    pub document: String,
    pub seq: u64,
    pub tools: Vec<Tool>,
    /// The newest VEX statement's status for this vulnerability on this artifact or the one
    /// reporting it (`not_affected`, `fixed`, …), if any.
    pub vex: Option<String>,
}

/// The findings of `artifact`'s documents and of its ancestors' (`(ancestor, its documents)`),
/// each vulnerability once per package, location and reporting artifact; the newest document
/// reporting a vulnerability in a package decides for it (all its locations, none of an older
/// document's).
pub fn findings(artifact: &str, own: &[Received], ancestors: &[(String, Vec<Received>)]) -> Vec<Reported> {
    let mut vex: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
    let all = std::iter::once((artifact, own)).chain(ancestors.iter().map(|(a, d)| (a.as_str(), d.as_slice())));
    for (about, docs) in all.clone() {
        for d in docs {
            for s in &d.extract.vex {
                for id in std::iter::once(&s.vulnerability).chain(&s.aliases) {
                    let slot = vex.entry((about.to_owned(), id.clone())).or_insert((0, String::new()));
                    if d.seq >= slot.0 {
                        *slot = (d.seq, s.status.clone());
                    }
                }
            }
        }
    }
    // The newest document reporting each vulnerability per package and reporting artifact
    // decides; all of its results count (a rule found at three places is three findings).
    let mut newest: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for (about, docs) in all.clone() {
        for d in docs {
            for f in &d.extract.findings {
                let slot = newest.entry((about.to_owned(), f.id.clone(), f.package.clone().unwrap_or_default())).or_insert(d.seq);
                *slot = (*slot).max(d.seq);
            }
        }
    }
    let mut out: BTreeMap<(String, String, String, String), Reported> = BTreeMap::new();
    for (about, docs) in all {
        for d in docs {
            for f in &d.extract.findings {
                if newest.get(&(about.to_owned(), f.id.clone(), f.package.clone().unwrap_or_default())) != Some(&d.seq) {
                    continue;
                }
                let status = std::iter::once(&f.id)
                    .chain(&f.aliases)
                    .filter_map(|id| vex.get(&(artifact.to_owned(), id.clone())).or_else(|| vex.get(&(about.to_owned(), id.clone()))))
                    .max_by_key(|(seq, _)| *seq)
                    .map(|(_, s)| s.clone());
                let key = (about.to_owned(), f.id.clone(), f.package.clone().unwrap_or_default(), f.location.clone().unwrap_or_default());
                let newer = out.get(&key).is_none_or(|r| r.seq <= d.seq);
                if newer {
                    out.insert(
                        key,
                        Reported {
                            finding: f.clone(),
                            artifact: about.to_owned(),
                            inherited: about != artifact,
                            document: d.digest.clone(),
                            seq: d.seq,
                            tools: d.extract.tools.clone(),
                            vex: status,
                        },
                    );
                }
            }
        }
    }
    let mut list: Vec<Reported> = out.into_values().collect();
    list.sort_by(|a, b| b.finding.severity.cmp(&a.finding.severity).then_with(|| a.finding.id.cmp(&b.finding.id)));
    list
}

/// A document that a tool made about the artifact: a scan, an SBOM, an attestation.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    pub tools: Vec<Tool>,
    pub format: Format,
    pub document: String,
    pub seq: u64,
    pub time: String,
    pub sender: String,
    pub components: usize,
    pub findings: usize,
    pub severities: BTreeSet<String>,
}

/// Which tools looked at the artifact and when, newest first.
pub fn scans<'a>(documents: impl IntoIterator<Item = &'a Received>) -> Vec<Scan> {
    let mut out: Vec<Scan> = documents
        .into_iter()
        .map(|d| Scan {
            tools: d.extract.tools.clone(),
            format: d.extract.format,
            document: d.digest.clone(),
            seq: d.seq,
            time: d.time.clone(),
            sender: d.sender.clone(),
            components: d.extract.components.len(),
            findings: d.extract.findings.len(),
            severities: d.extract.findings.iter().map(|f| f.severity.name().to_owned()).collect(),
        })
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.seq));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Finding, Format};
    use dossier_core::Severity;

    fn scan(seq: u64, results: &[(&str, &str)]) -> Received {
        let mut extract = Extract::new(Format::Sarif);
        for (rule, location) in results {
            extract.findings.push(Finding {
                id: rule.to_string(),
                aliases: Vec::new(),
                severity: Severity::High,
                score: None,
                package: None,
                version: None,
                fixed_version: None,
                location: Some(location.to_string()),
                title: None,
            });
        }
        Received {
            seq,
            time: String::new(),
            artifact_id: "pkg:oci/app".into(),
            digest: format!("sha256:{seq}"),
            size: 1,
            sender: "semgrep".into(),
            origin: "upload".into(),
            extract,
        }
    }

    fn listed(found: &[Reported]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> =
            found.iter().map(|r| (r.finding.id.clone(), r.finding.location.clone().unwrap_or_default())).collect();
        v.sort();
        v
    }

    /// A rule found at three places is three findings, as many as the scan counted; a newer
    /// scan of the rule replaces the older one's places.
    #[test]
    fn each_place_a_rule_is_found_is_a_finding_and_the_newest_scan_decides() {
        let first = scan(1, &[("eval", "a.py:1"), ("eval", "a.py:2"), ("eval", "b.py:3"), ("sql", "db.py:7")]);
        let found = findings("pkg:oci/app", std::slice::from_ref(&first), &[]);
        assert_eq!(found.len(), first.extract.findings.len());
        let second = scan(2, &[("eval", "c.py:9")]);
        let found = findings("pkg:oci/app", &[first, second], &[]);
        assert_eq!(listed(&found), [("eval".to_owned(), "c.py:9".to_owned()), ("sql".to_owned(), "db.py:7".to_owned())]);
    }
}
