//! JSON views of stored events and proofs, as the API returns them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use dossier_store::StoredEvent;
use dossier_tlog::Hash;
use serde::Serialize;
use serde_json::value::RawValue;

pub use dossier_core::event::format_timestamp as rfc3339;

pub fn b64(hash: &Hash) -> String {
    B64.encode(hash)
}

/// An event as the API shows it: the log's facts about it, then the event as received.
#[derive(Serialize)]
pub struct EventView<'a> {
    pub seq: u64,
    pub received: String,
    pub source: &'a str,
    pub id: &'a str,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub subject: &'a str,
    #[serde(rename = "chainId", skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<&'a str>,
    pub timestamp: String,
    /// The principal whose credential sent it (null: Dossier's own act, or from before
    /// authentication).
    pub sender: Option<&'a str>,
    pub event: Box<RawValue>,
}

/// The stored bytes as embedded JSON; bytes that are not JSON (a damaged row) become a string
/// so that the answer stays valid JSON.
fn embed(raw: &[u8]) -> Box<RawValue> {
    let text = String::from_utf8_lossy(raw).into_owned();
    RawValue::from_string(text.clone())
        .or_else(|_| RawValue::from_string(serde_json::Value::String(text).to_string()))
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"))
}

impl<'a> EventView<'a> {
    pub fn of(e: &'a StoredEvent) -> EventView<'a> {
        EventView {
            seq: e.seq,
            received: rfc3339(e.received_unix_nanos),
            source: &e.key.source,
            id: &e.key.id,
            event_type: &e.event_type,
            subject: &e.subject_id,
            chain_id: e.chain_id.as_deref(),
            timestamp: rfc3339(e.time_unix_nanos),
            sender: e.sender.as_deref(),
            event: embed(&e.raw),
        }
    }

    pub fn of_appended(a: &'a crate::Appended) -> EventView<'a> {
        let e = &a.event;
        EventView {
            seq: a.seq,
            received: rfc3339(a.received_unix_nanos),
            source: &e.key.source,
            id: &e.key.id,
            event_type: e.event_type.as_str(),
            subject: &e.subject_id,
            chain_id: e.chain_id.as_deref(),
            timestamp: rfc3339(e.time_unix_nanos),
            sender: e.sender.as_deref(),
            event: embed(&e.raw),
        }
    }
}

#[derive(Serialize)]
pub struct InclusionView {
    pub seq: u64,
    pub tree_size: u64,
    /// RFC 6962 leaf hash of the event's RFC 8785 canonical form, base64.
    pub leaf_hash: String,
    /// The audit path, base64, leaf to root.
    pub hashes: Vec<String>,
    /// The signed checkpoint (C2SP signed note) of `tree_size` the proof leads to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

#[derive(Serialize)]
pub struct ConsistencyView {
    pub old_size: u64,
    pub new_size: u64,
    pub old_root: String,
    pub new_root: String,
    pub hashes: Vec<String>,
}
