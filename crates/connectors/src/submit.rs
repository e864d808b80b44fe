//! The one submit path: every source (HTTP ingest now; NATS and webhook adapters next) hands
//! over a body with its media type and CloudEvents attributes, on behalf of the principal that
//! sent it, and gets back, per event, what became of it. Decode (mode, depth, batch size) →
//! validate (the spec's schemas) → authorize (the principal may send from the event's
//! `context.source`; only Dossier writes its own records) → append (one durable commit for the
//! whole body, each entry recording its sender) → answer. Nothing is acknowledged before it is
//! durable. Like validation, authorization is per event: in a batch, the events the principal
//! may send are stored and the others answered `forbidden`.

use std::sync::Arc;

use bytes::Bytes;
use dossier_auth::principal::Denied;
use dossier_auth::Principal;
use dossier_core::{Event, EventKey};
use dossier_ingest::{decode, BodyError, CeHeaders, ItemError, Limits};
use dossier_log::EvidenceLog;
use dossier_store::{AppendOutcome, StoreError};

/// Bodies larger than this are decoded off the async threads.
const DECODE_INLINE_MAX: usize = 64 * 1024;

/// What became of one event of a body.
#[derive(Debug)]
pub enum Item {
    /// Appended, or found already stored (a duplicate), or refused as a conflict.
    Stored { index: usize, key: EventKey, outcome: AppendOutcome },
    /// Not a valid event: why, per violation.
    Rejected(ItemError),
    /// A valid event the principal may not send: nothing of it was stored.
    Forbidden { index: usize, key: EventKey, why: Forbidden },
    /// The store answered for fewer events than it was given (a bug): this one's fate is unknown,
    /// and the sender should retry it (a repeat is a duplicate, never a second entry).
    Lost { index: usize },
}

/// What became of one event, in a word (the `status` of its answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Accepted,
    Duplicate,
    Conflict,
    Rejected,
    Forbidden,
    Lost,
}

/// Why an event was not the principal's to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    #[error("events of type {event_type} or from sources under /dossier/ are written by Dossier itself, never sent")]
    Reserved { event_type: String },
    #[error(transparent)]
    Denied(#[from] Denied),
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Accepted => "accepted",
            ItemStatus::Duplicate => "duplicate",
            ItemStatus::Conflict => "conflict",
            ItemStatus::Rejected => "rejected",
            ItemStatus::Forbidden => "forbidden",
            ItemStatus::Lost => "lost",
        }
    }
}

impl Item {
    pub fn status(&self) -> ItemStatus {
        match self {
            Item::Stored { outcome: AppendOutcome::Accepted { .. }, .. } => ItemStatus::Accepted,
            Item::Stored { outcome: AppendOutcome::Duplicate { .. }, .. } => ItemStatus::Duplicate,
            Item::Stored { outcome: AppendOutcome::Conflict { .. }, .. } => ItemStatus::Conflict,
            Item::Rejected(_) => ItemStatus::Rejected,
            Item::Forbidden { .. } => ItemStatus::Forbidden,
            Item::Lost { .. } => ItemStatus::Lost,
        }
    }
}

/// What became of a body.
#[derive(Debug)]
pub struct Submitted {
    /// Whether the body was a list (batch, array, NDJSON): the answer lists results.
    pub list: bool,
    /// One per event, in the body's order.
    pub items: Vec<Item>,
}

/// Why nothing of a body was stored.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The body as a whole is refused (media type, JSON, depth, size of the batch).
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The log could not store it; nothing was stored, the sender should retry.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error decoding the body: {0}")]
    Internal(String),
}

/// The submit path of one log.
#[derive(Clone)]
pub struct Submit {
    log: Arc<EvidenceLog>,
    limits: Limits,
    signatures: Option<crate::signatures::Checker>,
}

impl Submit {
    pub fn new(log: Arc<EvidenceLog>, limits: Limits) -> Submit {
        Submit { log, limits, signatures: None }
    }

    /// Checks the signatures the accepted `artifact.signed` events carry, and records the
    /// checks, before answering (see [`crate::signatures`]).
    pub fn checking_signatures(mut self, checker: crate::signatures::Checker) -> Submit {
        self.signatures = Some(checker);
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decodes, validates, authorizes and appends a body sent by `sender`; resolves once what
    /// was accepted is durable.
    pub async fn submit(
        &self,
        sender: &Principal,
        content_type: Option<String>,
        ce: CeHeaders,
        body: Bytes,
    ) -> Result<Submitted, SubmitError> {
        let limits = self.limits.clone();
        let decoded = if body.len() > DECODE_INLINE_MAX {
            tokio::task::spawn_blocking(move || decode(content_type.as_deref(), &ce, &body, &limits))
                .await
                .map_err(|e| SubmitError::Internal(e.to_string()))?
        } else {
            decode(content_type.as_deref(), &ce, &body, &limits)
        }?;
        let mut items: Vec<Option<Item>> = Vec::with_capacity(decoded.items.len());
        let mut events: Vec<Event> = Vec::new();
        let mut positions = Vec::new();
        for (index, item) in decoded.items.into_iter().enumerate() {
            match item {
                Ok(mut e) => match authorize(sender, &e) {
                    Ok(()) => {
                        e.sender = Some(sender.name.to_string());
                        positions.push(index);
                        events.push(e);
                        items.push(None);
                    }
                    Err(why) => items.push(Some(Item::Forbidden { index, key: e.key, why })),
                },
                Err(err) => items.push(Some(Item::Rejected(err))),
            }
        }
        let keys: Vec<EventKey> = events.iter().map(|e| e.key.clone()).collect();
        // The signed events, kept to check their signatures once they have a place in the log.
        let signed: Vec<(usize, Event)> = match &self.signatures {
            Some(_) => events
                .iter()
                .enumerate()
                .filter(|(_, e)| crate::signatures::carries_signature(e.event_type.as_str()))
                .map(|(i, e)| (i, e.clone()))
                .collect(),
            None => Vec::new(),
        };
        if !events.is_empty() {
            let outcomes = self.log.append(events).await?;
            let accepted: Vec<(u64, Event)> = signed
                .into_iter()
                .filter_map(|(i, e)| match outcomes.get(i) {
                    Some(AppendOutcome::Accepted { seq }) => Some((*seq, e)),
                    _ => None,
                })
                .collect();
            if let Some(checker) = self.signatures.as_ref().filter(|_| !accepted.is_empty()).cloned() {
                let checked =
                    tokio::task::spawn_blocking(move || checker.record(&accepted.iter().map(|(seq, e)| (*seq, e)).collect::<Vec<_>>()))
                        .await
                        .map_err(|e| SubmitError::Internal(e.to_string()))?;
                // The events are stored: a check that could not be recorded now is the
                // follower's to record, not a reason to say they were not.
                if let Err(e) = checked {
                    tracing::error!("recording signature checks: {e}; the signature checker will record them");
                }
            }
            for ((index, key), outcome) in positions.into_iter().zip(keys).zip(outcomes) {
                items[index] = Some(Item::Stored { index, key, outcome });
            }
        }
        let items = items.into_iter().enumerate().map(|(index, i)| i.unwrap_or(Item::Lost { index })).collect();
        Ok(Submitted { list: decoded.list, items })
    }
}

/// Whether `sender` may send `event`: never one of Dossier's own records, and only from the
/// sources its credential names.
pub fn authorize(sender: &Principal, event: &Event) -> Result<(), Forbidden> {
    if dossier_core::own::written_by_dossier_only(&event.key.source, event.event_type.as_str()) {
        return Err(Forbidden::Reserved { event_type: event.event_type.as_str().to_owned() });
    }
    sender.may_send_from(&event.key.source)?;
    // Lifting a quarantine waives what a policy enforced: it needs the approver's scope, as an
    // exception does.
    if dossier_core::own::OwnType::ArtifactReleased.matches(event.event_type.as_str()) {
        sender.require(dossier_auth::Scope::ExceptionsApprove)?;
    }
    Ok(())
}
