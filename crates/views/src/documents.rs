//! What documents say about an artifact, read from the log: the `document.received` entries
//! about it (and about its ancestors, for findings they pass down).

use std::collections::HashSet;

use dossier_core::own::OwnType;
use dossier_evidence::about::{self, Received};
use dossier_store::{EventQuery, Store, StoreError, TypePattern, MAX_PAGE};
use serde_json::Value;

use crate::lineage::LineageView;

/// The document entries about `artifact`, oldest first.
pub fn received(store: &dyn Store, artifact: &str) -> Result<Vec<Received>, StoreError> {
    let mut out = Vec::new();
    let mut q = EventQuery {
        artifact: Some(artifact.to_owned()),
        types: vec![TypePattern(format!("{}*", OwnType::DocumentReceived.unversioned()))],
        limit: MAX_PAGE,
        ..Default::default()
    };
    loop {
        let page = store.query(&q)?;
        for e in &page.events {
            let Ok(v) = serde_json::from_slice::<Value>(&e.raw) else {
                tracing::error!("entry {}: a document entry that is not JSON; skipped (run `dossier verify`)", e.seq);
                continue;
            };
            let time = v.pointer("/context/timestamp").and_then(Value::as_str).unwrap_or_default();
            match v.pointer("/subject/content").and_then(|c| Received::from_content(e.seq, time, c)) {
                Some(r) => out.push(r),
                None => tracing::error!("entry {}: a document entry whose content does not read; skipped", e.seq),
            }
        }
        match page.next {
            Some(next) => q.after = Some(next),
            None => return Ok(out),
        }
    }
}

/// An artifact's findings: its own documents' (`own`) and those its ancestors pass down to it.
pub fn findings_of(store: &dyn Store, lineage: &LineageView, artifact: &str, own: &[Received]) -> Result<Vec<about::Reported>, StoreError> {
    let ancestors: Vec<String> = {
        let graph = lineage.read();
        let mut seen = HashSet::new();
        let edges = graph.lineage(artifact).map(|l| l.ancestors).unwrap_or_default();
        edges.into_iter().map(|e| e.parent).filter(|p| seen.insert(p.clone())).collect()
    };
    let mut inherited = Vec::new();
    for a in ancestors {
        let docs = received(store, &a)?;
        if !docs.is_empty() {
            inherited.push((a, docs));
        }
    }
    Ok(about::findings(artifact, own, &inherited))
}
