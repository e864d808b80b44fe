//! One vulnerability as the API and the dashboard show it: its impact from the lineage graph
//! (ids, severity, sources, what it reaches and where it is waived), what the documents that
//! reported it say of it (title, score, package, fixed version), the VEX statements about it,
//! and the exceptions naming it. Read from the graph's indexes and the few entries they name:
//! no scan of the log.

use std::collections::{BTreeMap, BTreeSet};

use dossier_evidence::about::Received;
use dossier_evidence::{Finding, Tool, VexStatement};
use dossier_exceptions::{Exception, State};
use dossier_lineage::Impact;
use dossier_store::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;

use crate::exceptions::ExceptionsView;
use crate::lineage::LineageView;

/// A vulnerability with everything Dossier knows of it.
#[derive(Debug, Clone, Serialize)]
pub struct Details {
    #[serde(flatten)]
    pub impact: Impact,
    /// The findings of the documents that reported it, oldest first.
    pub findings: Vec<Reported>,
    /// The VEX statements about it, oldest first.
    pub vex: Vec<Statement>,
    /// The exceptions naming one of its ids, with their state now.
    pub exceptions: Vec<Named>,
}

/// A document's finding of the vulnerability.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    pub document: String,
    /// The artifact the document was received about.
    pub artifact: String,
    pub seq: u64,
    pub time: String,
    pub tools: Vec<Tool>,
    #[serde(flatten)]
    pub finding: Finding,
}

/// A VEX statement about the vulnerability, and the document that made it.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub document: String,
    pub seq: u64,
    pub time: String,
    /// Its position among the document's statements.
    pub index: usize,
    #[serde(flatten)]
    pub statement: VexStatement,
}

#[derive(Debug, Clone, Serialize)]
pub struct Named {
    pub state: State,
    #[serde(flatten)]
    pub exception: Exception,
}

/// The document entry at `seq`, if it is one.
fn document_at(store: &dyn Store, seq: u64) -> Result<Option<Received>, StoreError> {
    let Some(e) = store.get(seq)? else { return Ok(None) };
    let Ok(v) = serde_json::from_slice::<Value>(&e.raw) else { return Ok(None) };
    let time = v.pointer("/context/timestamp").and_then(Value::as_str).unwrap_or_default();
    Ok(v.pointer("/subject/content").and_then(|c| Received::from_content(seq, time, c)))
}

/// Everything known of the vulnerability `id` names (any of its ids) now; `None` if no report
/// states it.
pub fn details(
    store: &dyn Store,
    lineage: &LineageView,
    exceptions: &ExceptionsView,
    id: &str,
    now: i64,
) -> Result<Option<Details>, StoreError> {
    let (impact, vex_documents) = {
        let graph = lineage.read();
        let Some(impact) = graph.impact(id) else { return Ok(None) };
        let vex = graph.vex_documents(&impact.vulnerability);
        (impact, vex)
    };
    let ids: BTreeSet<&str> = std::iter::once(impact.vulnerability.as_str()).chain(impact.aliases.iter().map(String::as_str)).collect();
    let names = |f: &Finding| ids.contains(f.id.as_str()) || f.aliases.iter().any(|a| ids.contains(a.as_str()));
    let documents: BTreeMap<u64, &str> =
        impact.sources.iter().filter_map(|s| s.document.as_ref().map(|_| (s.seq, s.artifact.as_deref().unwrap_or_default()))).collect();
    let mut findings = Vec::new();
    for (&seq, artifact) in &documents {
        let Some(d) = document_at(store, seq)? else { continue };
        for f in d.extract.findings.iter().filter(|f| names(f)) {
            findings.push(Reported {
                document: d.digest.clone(),
                artifact: (*artifact).to_owned(),
                seq,
                time: d.time.clone(),
                tools: d.extract.tools.clone(),
                finding: f.clone(),
            });
        }
    }
    let mut vex = Vec::new();
    for (_, seq) in vex_documents {
        let Some(d) = document_at(store, seq)? else { continue };
        for (index, s) in d.extract.vex.iter().enumerate() {
            if std::iter::once(&s.vulnerability).chain(&s.aliases).any(|v| ids.contains(v.as_str())) {
                vex.push(Statement { document: d.digest.clone(), seq, time: d.time.clone(), index, statement: s.clone() });
            }
        }
    }
    let rules = exceptions.rules();
    let named: Vec<Named> = exceptions
        .read()
        .all()
        .filter(|e| e.scope.vulnerabilities.iter().any(|v| ids.contains(v.as_str())))
        .map(|e| Named { state: e.state(now, &rules), exception: e.clone() })
        .collect();
    Ok(Some(Details { impact, findings, vex, exceptions: named }))
}
