//! The audit bundle (`GET /api/v1/audit/bundle`): every entry about an artifact and its
//! lineage, with the proofs that they are in the log, in one file that `dossier audit verify`
//! checks offline (`dossier-audit`, `docs/audit-bundle.md`).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use dossier_audit::bundle::{b64_hashes, decision_trigger, Bytes};
use dossier_audit::{Bundle, Document, Edge, Entry, Since, FORMAT, MAX_CONTENT_BYTES, MAX_ENTRIES};
use dossier_core::artifact_name;
use dossier_core::own::{Family, OwnType};
use dossier_lineage::Lineage;
use dossier_log::documents::Documents;
use dossier_log::EvidenceLog;
use dossier_store::{EventQuery, StoreError, StoredEvent, MAX_PAGE};
use serde::Deserialize;

use crate::error::{error, ApiError, ApiResult, Params};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit/bundle", get(bundle))
}

/// Whether a bundle holds the documents' bytes or only their digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum Documented {
    #[default]
    Include,
    Digests,
}

/// `?artifact=PURL[&documents=include|digests][&since=SIZE]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleParams {
    artifact: String,
    #[serde(default)]
    documents: Documented,
    /// A tree size the auditor saved a checkpoint of: the bundle then holds a consistency
    /// proof from it to the newest checkpoint.
    since: Option<u64>,
}

async fn bundle(State(s): State<AppState>, Params(p): Params<BundleParams>) -> ApiResult {
    let artifact = artifact_name(&p.artifact).into_owned();
    // The lineage first: every entry it cites is committed, so the checkpoint signed next covers it.
    let lineage = s.views.lineage.read().lineage(&artifact);
    let exceptions: Vec<u64> = {
        let book = s.views.exceptions.read();
        book.all()
            .filter(|e| e.covers(Some(&artifact), None, None, None))
            .flat_map(|e| {
                let acts = [Some(&e.requested), e.approved.as_ref(), e.revoked.as_ref()];
                acts.into_iter().flatten().map(|a| a.seq).chain(e.expiry_announced).collect::<Vec<_>>()
            })
            .collect()
    };
    let (log, documents) = (s.log.clone(), s.documents.clone());
    let made = tokio::task::spawn_blocking(move || {
        make(&log, documents.as_deref(), &artifact, lineage.as_ref(), exceptions, p.documents, p.since)
    })
    .await
    .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))??;
    let body = serde_json::to_vec(&made).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("encoding the bundle: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The artifacts whose entries belong in the bundle: the artifact and its ancestors.
fn artifacts(artifact: &str, lineage: Option<&Lineage>) -> BTreeSet<String> {
    let mut names = BTreeSet::from([artifact.to_owned()]);
    for edge in lineage.into_iter().flat_map(|l| &l.ancestors) {
        names.insert(edge.artifact.clone());
        names.insert(edge.parent.clone());
    }
    names
}

/// The lineage edges, each with the entry that states it.
fn edges(artifact: &str, lineage: Option<&Lineage>) -> Vec<Edge> {
    let Some(l) = lineage else { return Vec::new() };
    let mut out = Vec::new();
    if let Some((run, entry)) = &l.built_by {
        out.push(Edge::BuiltBy { artifact: artifact.to_owned(), run: run.clone(), entry: *entry });
    }
    for s in &l.sources {
        out.push(Edge::Source { artifact: artifact.to_owned(), repository: s.repository.clone(), commit: s.commit.clone(), entry: s.seq });
    }
    for e in l.ancestors.iter().chain(&l.descendants) {
        out.push(Edge::Parent { artifact: e.artifact.clone(), parent: e.parent.clone(), entry: e.seq });
    }
    for d in &l.deployments {
        out.push(Edge::Deployed {
            environment: d.environment.clone(),
            service: d.service.clone(),
            artifact: d.artifact.clone(),
            entry: d.seq,
        });
    }
    out
}

fn too_large(what: String) -> ApiError {
    error(StatusCode::PAYLOAD_TOO_LARGE, what)
}

fn make(
    log: &Arc<EvidenceLog>,
    documents: Option<&Documents>,
    artifact: &str,
    lineage: Option<&Lineage>,
    exceptions: Vec<u64>,
    documented: Documented,
    since: Option<u64>,
) -> Result<Bundle, ApiError> {
    let store = log.store();
    let checkpoint = log.checkpoint()?;
    let edges = edges(artifact, lineage);
    let mut seqs: BTreeSet<u64> = edges.iter().map(Edge::entry).chain(exceptions).collect();
    if let Some(l) = lineage {
        seqs.extend(l.deleted.iter().chain(&l.quarantined));
    }
    for name in artifacts(artifact, lineage) {
        let mut after = None;
        loop {
            let page = store.query(&EventQuery {
                artifact: Some(name.clone()),
                after,
                before: Some(checkpoint.size),
                limit: MAX_PAGE,
                ..Default::default()
            })?;
            seqs.extend(page.events.iter().map(|e| e.seq));
            if seqs.len() > MAX_ENTRIES {
                return Err(too_large(format!(
                    "{artifact} and its lineage have more than {MAX_ENTRIES} entries, the most a bundle holds (docs/audit-bundle.md)"
                )));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    if seqs.is_empty() {
        return Err(error(StatusCode::NOT_FOUND, format!("no entry names {artifact}")));
    }
    let mut stored: Vec<StoredEvent> = Vec::with_capacity(seqs.len());
    let mut content: u64 = 0;
    let mut pending: Vec<u64> = seqs.into_iter().collect();
    let mut seen = BTreeSet::new();
    // A decision's trigger joins its decision.
    while let Some(seq) = pending.pop() {
        if !seen.insert(seq) || seq >= checkpoint.size {
            continue;
        }
        let entry = store.get(seq)?.ok_or_else(|| StoreError::Corrupt(format!("entry {seq} is missing")))?;
        content += entry.raw.len() as u64;
        if content > MAX_CONTENT_BYTES {
            return Err(too_large(format!(
                "the entries about {artifact} hold more than {MAX_CONTENT_BYTES} bytes, the most a bundle holds"
            )));
        }
        if OwnType::PolicyDecided.matches(&entry.event_type) {
            pending.extend(decision_trigger(&entry.raw));
        }
        stored.push(entry);
    }
    if seen.len() > MAX_ENTRIES {
        return Err(too_large(format!("{artifact} and its lineage have more than {MAX_ENTRIES} entries, the most a bundle holds")));
    }
    stored.sort_by_key(|e| e.seq);
    let mut bundle = Bundle {
        format: FORMAT.into(),
        artifact: artifact.to_owned(),
        created: dossier_log::own::now_rfc3339(),
        checkpoint: checkpoint.note.clone(),
        newest: String::new(),
        consistency: Vec::new(),
        since: None,
        entries: Vec::with_capacity(stored.len()),
        documents: Vec::new(),
        decisions: Vec::new(),
        exceptions: Vec::new(),
        signatures: Vec::new(),
        lineage: edges,
    };
    for e in stored {
        let ty = e.event_type.as_str();
        if OwnType::PolicyDecided.matches(ty) {
            bundle.decisions.push(e.seq);
        } else if OwnType::SignatureChecked.matches(ty) {
            bundle.signatures.push(e.seq);
        } else if Family::Exception.contains(ty) {
            bundle.exceptions.push(e.seq);
        } else if OwnType::DocumentReceived.matches(ty) {
            let bytes = match (documented, documents) {
                (Documented::Include, Some(docs)) => Some(document(docs, &e.subject_id, MAX_CONTENT_BYTES.saturating_sub(content))?),
                _ => None,
            };
            content += bytes.as_ref().map_or(0, |b| b.len() as u64);
            if content > MAX_CONTENT_BYTES {
                return Err(too_large(format!(
                    "the entries and documents about {artifact} hold more than {MAX_CONTENT_BYTES} bytes, the most a bundle holds: ask with documents=digests"
                )));
            }
            bundle.documents.push(Document { entry: e.seq, digest: e.subject_id.clone(), content: bytes.map(Bytes) });
        }
        let inclusion = b64_hashes(&store.inclusion_proof(e.seq, checkpoint.size)?);
        bundle.entries.push(Entry { seq: e.seq, received: e.received_unix_nanos, sender: e.sender, raw: Bytes(e.raw), inclusion });
    }
    let newest = log.checkpoint()?;
    bundle.consistency = b64_hashes(&store.consistency_proof(checkpoint.size, newest.size)?);
    if let Some(size) = since {
        dossier_store::check_consistency_args(size, newest.size, newest.size)?;
        bundle.since = Some(Since { size, consistency: b64_hashes(&store.consistency_proof(size, newest.size)?) });
    }
    bundle.newest = newest.note;
    Ok(bundle)
}

/// A document's bytes, from where the log keeps them (a document's entry always has its
/// document), unless there are more than `room`.
fn document(docs: &Documents, digest: &str, room: u64) -> Result<Vec<u8>, ApiError> {
    let path = digest.strip_prefix("sha256:").and_then(|hex| docs.path(hex));
    let path = path.ok_or_else(|| StoreError::Corrupt(format!("a document entry names {digest:?}, not a sha256 digest")))?;
    let missing = |e: std::io::Error| ApiError::from(StoreError::Corrupt(format!("document {digest} is not where the log keeps it: {e}")));
    if std::fs::metadata(&path).map_err(missing)?.len() > room {
        return Err(too_large(format!(
            "the documents hold more than the {MAX_CONTENT_BYTES} bytes a bundle holds with its entries: ask with documents=digests"
        )));
    }
    std::fs::read(&path).map_err(missing)
}
