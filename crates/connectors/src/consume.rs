//! CDEvents consumed from NATS JetStream, through the one submit path ([`crate::submit`]): a
//! durable pull consumer on the user's stream, each message submitted as an HTTP body would be
//! (CloudEvents binary mode from `ce-*` headers, structured or batch mode from `content-type`, a
//! plain CDEvent otherwise), on behalf of one principal (`nats:<stream>`, allowed the sources
//! configured), and acknowledged **only once what it holds is durable**.
//!
//! - A redelivered message (an acknowledgement lost, Dossier restarted before acknowledging) is
//!   stored again as the duplicate it is: the log keys events by source and id.
//! - A message that can never be stored (not JSON, not a valid CDEvent, a source the principal
//!   may not send from) is terminated with its reason logged, so that it never blocks the stream;
//!   a message the log could not store now is not acknowledged and comes back after a delay.
//! - Publishers that set `Nats-Msg-Id` are de-duplicated by the stream itself (its duplicate
//!   window); Dossier's own key makes a later repeat a duplicate too.
//! - Backpressure: at most `max_ack_pending` messages are handed out and not acknowledged
//!   (the consumer's `MaxAckPending`), and at most [`IN_FLIGHT`] are being submitted at once.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, AckKind};
use async_nats::ConnectOptions;
use dossier_auth::principal::Credential;
use dossier_auth::{Patterns, Principal, PrincipalName, Scope};
use dossier_ingest::CeHeaders;
use futures_util::StreamExt;

use crate::submit::{Item, Submit, SubmitError};

/// Messages submitted at once: their appends share group commits.
pub const IN_FLIGHT: usize = 64;
/// How long a message the log could not store waits before it is delivered again.
const RETRY: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(5);

/// What to consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// `nats://host:port` (`nats://user:password@…`, `nats://token@…` to authenticate).
    pub url: String,
    /// The stream CDEvents are published to; created (capturing `subject`) if it does not exist.
    pub stream: String,
    /// The subjects consumed, e.g. `cdevents.>`.
    pub subject: String,
    /// The durable consumer's name: several Dossiers with one name share the work.
    pub durable: String,
    /// Messages handed out and not acknowledged yet, at most (JetStream's `MaxAckPending`).
    pub max_ack_pending: i64,
    /// The `context.source` values messages may carry (all, by default).
    pub sources: Patterns,
}

/// Why consuming could not start (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("connecting to {url}: {source}")]
    Connect { url: String, source: async_nats::ConnectError },
    #[error("the stream {stream}: {reason}")]
    Stream { stream: String, reason: String },
    #[error("the consumer {durable} of {stream}: {reason}")]
    Consumer { stream: String, durable: String, reason: String },
    #[error("{0}")]
    Principal(#[from] dossier_auth::principal::BadName),
}

/// What to do with a message once its body was submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Everything it holds is stored (accepted, duplicate, or a conflict kept out of the log).
    Ack,
    /// It can never be stored: why.
    Term(String),
    /// The log could not store it now: deliver it again later.
    Retry(String),
}

/// What becomes of a message, from what became of its body.
pub fn settle(submitted: Result<crate::submit::Submitted, SubmitError>) -> Settle {
    match submitted {
        Ok(s) => {
            if s.items.iter().any(|i| matches!(i, Item::Lost { .. })) {
                return Settle::Retry("the store answered for fewer events than it was given".into());
            }
            let refused: Vec<String> = s
                .items
                .iter()
                .filter_map(|i| match i {
                    Item::Rejected(e) => {
                        let why: Vec<String> = e.violations.iter().map(ToString::to_string).collect();
                        Some(format!("event {}: {}", e.index, why.join("; ")))
                    }
                    Item::Forbidden { index, why, .. } => Some(format!("event {index}: {why}")),
                    Item::Stored { .. } | Item::Lost { .. } => None,
                })
                .collect();
            if refused.is_empty() {
                Settle::Ack
            } else {
                Settle::Term(refused.join(" | "))
            }
        }
        Err(SubmitError::Body(e)) => Settle::Term(e.to_string()),
        Err(e @ (SubmitError::Store(_) | SubmitError::Internal(_))) => Settle::Retry(e.to_string()),
    }
}

/// The principal messages of `stream` are submitted by: it may send events from `sources`.
pub fn principal(stream: &str, sources: Patterns) -> Result<Principal, dossier_auth::principal::BadName> {
    Ok(Principal {
        name: PrincipalName::new(&format!("nats:{stream}"))?,
        credential: Credential::Bus { stream: stream.to_owned() },
        scopes: [Scope::EventsWrite].into_iter().collect(),
        sources,
        // No documents: nothing is allowed.
        artifacts: Patterns::default(),
    })
}

/// Consumes until the process ends, reconnecting (after a pause) whenever NATS goes away; a
/// message larger than `max_body` (HTTP's `--max-body`) is refused as a body that large is.
pub async fn run(submit: Submit, config: IngestConfig, max_body: usize) {
    let mut pause = Duration::from_millis(200);
    loop {
        match consume(&submit, &config, max_body).await {
            Ok(()) => tracing::warn!("the NATS consumer {} of {} ended; starting again", config.durable, config.stream),
            Err(e) => tracing::error!("consuming CDEvents from NATS: {e}; trying again in {pause:?}"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

async fn consume(submit: &Submit, config: &IngestConfig, max_body: usize) -> Result<(), ConsumeError> {
    let principal = principal(&config.stream, config.sources.clone())?;
    let options = ConnectOptions::new().name("dossier-ingest").connection_timeout(TIMEOUT).request_timeout(Some(TIMEOUT));
    let client = options.connect(config.url.as_str()).await.map_err(|source| ConsumeError::Connect { url: config.url.clone(), source })?;
    let js = jetstream::new(client);
    let stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: config.stream.clone(),
            subjects: vec![config.subject.clone()],
            ..Default::default()
        })
        .await
        .map_err(|e| ConsumeError::Stream { stream: config.stream.clone(), reason: e.to_string() })?;
    let consumer_error = |reason: String| ConsumeError::Consumer { stream: config.stream.clone(), durable: config.durable.clone(), reason };
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            &config.durable,
            pull::Config {
                durable_name: Some(config.durable.clone()),
                filter_subject: config.subject.clone(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                max_ack_pending: config.max_ack_pending,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| consumer_error(e.to_string()))?;
    let messages = consumer.messages().await.map_err(|e| consumer_error(e.to_string()))?;
    tracing::info!("consuming CDEvents from NATS stream {} ({}) as consumer {}", config.stream, config.subject, config.durable);
    let mut failed = None;
    messages
        .take_while(|m| {
            let go = match m {
                Ok(_) => true,
                Err(e) => {
                    failed = Some(e.to_string());
                    false
                }
            };
            std::future::ready(go)
        })
        .for_each_concurrent(IN_FLIGHT, |m| async {
            if let Ok(m) = m {
                handle(submit, &principal, max_body, m).await;
            }
        })
        .await;
    match failed {
        Some(reason) => Err(consumer_error(reason)),
        None => Ok(()),
    }
}

/// Submits one message and settles it.
async fn handle(submit: &Submit, principal: &Principal, max_body: usize, m: jetstream::Message) {
    let header = |name: &str| m.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_owned());
    let content_type = header("content-type").or_else(|| header("Content-Type"));
    let ce = CeHeaders { specversion: header("ce-specversion"), id: header("ce-id"), source: header("ce-source"), ty: header("ce-type") };
    let settled = if m.payload.len() > max_body {
        Settle::Term(format!("{} bytes, more than the {max_body} a body may hold (--max-body)", m.payload.len()))
    } else {
        settle(submit.submit(principal, content_type, ce, m.payload.clone()).await)
    };
    let acked = match &settled {
        Settle::Ack => m.ack().await,
        Settle::Term(reason) => {
            tracing::warn!("NATS message on {} refused and terminated: {reason}", m.subject);
            m.ack_with(AckKind::Term).await
        }
        Settle::Retry(reason) => {
            tracing::warn!("NATS message on {} not stored now ({reason}); it will be delivered again", m.subject);
            m.ack_with(AckKind::Nak(Some(RETRY))).await
        }
    };
    if let Err(e) = acked {
        // Not acknowledged: JetStream delivers it again after the ack wait, and it is a duplicate.
        tracing::warn!("settling a NATS message on {}: {e}", m.subject);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submit::Submitted;
    use dossier_core::EventKey;
    use dossier_ingest::{BodyError, ItemError};
    use dossier_store::{AppendOutcome, StoreError};

    fn stored(index: usize, outcome: AppendOutcome) -> Item {
        Item::Stored { index, key: EventKey { source: "/ci".into(), id: format!("e{index}") }, outcome }
    }

    fn body(items: Vec<Item>) -> Result<Submitted, SubmitError> {
        Ok(Submitted { list: items.len() > 1, items })
    }

    #[test]
    fn a_message_is_acknowledged_once_everything_it_holds_is_stored() {
        assert_eq!(settle(body(vec![stored(0, AppendOutcome::Accepted { seq: 7 })])), Settle::Ack);
        assert_eq!(settle(body(vec![stored(0, AppendOutcome::Duplicate { seq: 7 })])), Settle::Ack, "a redelivery");
        let conflict = AppendOutcome::Conflict { seq: 7, conflict: 1 };
        assert_eq!(settle(body(vec![stored(0, conflict)])), Settle::Ack, "a conflict is kept out of the log and listed: done");
    }

    #[test]
    fn a_message_that_can_never_be_stored_is_terminated_with_the_reason() {
        let rejected = Item::Rejected(ItemError { index: 1, event_id: None, violations: Vec::new() });
        assert_eq!(settle(body(vec![stored(0, AppendOutcome::Accepted { seq: 7 }), rejected])), Settle::Term("event 1: ".into()));
        assert_eq!(settle(Err(SubmitError::Body(BodyError::Empty))), Settle::Term(BodyError::Empty.to_string()));
    }

    #[test]
    fn a_message_the_log_could_not_store_now_comes_back() {
        assert_eq!(settle(Err(SubmitError::Store(StoreError::Closed))), Settle::Retry("the store is shutting down".into()));
        assert!(matches!(settle(body(vec![Item::Lost { index: 0 }])), Settle::Retry(_)));
    }

    #[test]
    fn the_principal_is_the_streams_and_may_only_send_events() {
        let p = principal("CDEVENTS", Patterns::parse(&["/ci/**"]).unwrap()).unwrap();
        assert_eq!(p.name.as_str(), "nats:CDEVENTS");
        assert!(p.may_send_from("/ci/jenkins").is_ok());
        assert!(p.may_send_from("/cd/argo").is_err());
        assert!(p.require(Scope::DocumentsWrite).is_err());
    }
}
