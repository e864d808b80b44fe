//! What policies emit, published onto NATS JetStream when configured: the events `emit`,
//! `quarantine` and `release` actions append, so that tools listening on the bus (a scanner
//! waiting for `testsuiterun.queued`, an admission controller watching quarantines) hear them.
//!
//! The log is the outbox: a follower (`DATA/nats.cursor`) publishes each such entry and moves
//! on only once JetStream acknowledged it, retrying while NATS is away, so nothing is lost; each
//! message carries `Nats-Msg-Id: <source>#<id>`, so JetStream stores a repeat after a restart
//! once. Messages are CloudEvents in binary mode: the CDEvent as the payload, `ce-*` headers.
//!
//! Signed checkpoints go to the bus too (`dossier.checkpoints`, in the same stream), so that
//! anyone subscribed keeps the log's history of tree heads — a witness of a simple kind.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, HeaderMap};
use dossier_log::follow::Follower;
use dossier_log::{Appended, EvidenceLog};
use dossier_store::StoredCheckpoint;
use sha2::Digest;

/// Where to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// `nats://host:port`, `tls://host:port`; `nats://user:password@host:port` or
    /// `nats://token@host:port` to authenticate.
    pub url: String,
    /// The JetStream stream, created (capturing `<subject>.>`) if it does not exist.
    pub stream: String,
    /// Subjects are `<subject>.<event type>`.
    pub subject: String,
    /// Where each checkpoint the log saves (and again once witnesses cosigned it) is published,
    /// as the signed note: `dossier.checkpoints` by default. The stream captures it too.
    pub checkpoints: String,
}

const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The subject an event goes to: the prefix and its type, with anything NATS reserves (`*`,
/// `>`, spaces) replaced.
pub fn subject_of(prefix: &str, event_type: &str) -> String {
    let ty: String = event_type.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    format!("{prefix}.{ty}")
}

/// Why publishing one entry failed (it is retried).
#[derive(Debug, thiserror::Error)]
enum PublishError {
    #[error("connecting to {url}: {source}")]
    Connect { url: String, source: async_nats::ConnectError },
    #[error("creating the stream {stream}: {reason}")]
    Stream { stream: String, reason: String },
    #[error("publishing: {0}")]
    Publish(String),
}

/// A JetStream context over one connection, which the client keeps reconnecting.
struct Publisher {
    config: BusConfig,
    runtime: tokio::runtime::Runtime,
    js: Option<jetstream::Context>,
}

impl Publisher {
    fn context(&mut self) -> Result<jetstream::Context, PublishError> {
        if let Some(js) = &self.js {
            return Ok(js.clone());
        }
        let config = &self.config;
        let js = self.runtime.block_on(async {
            let options = ConnectOptions::new().name("dossier").connection_timeout(TIMEOUT).request_timeout(Some(TIMEOUT));
            let client =
                options.connect(config.url.as_str()).await.map_err(|source| PublishError::Connect { url: config.url.clone(), source })?;
            let js = jetstream::new(client);
            let wanted = stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{}.>", config.subject), config.checkpoints.clone()],
                ..Default::default()
            };
            let stream_err = |e: String| PublishError::Stream { stream: config.stream.clone(), reason: e };
            let mut stream = js.get_or_create_stream(wanted.clone()).await.map_err(|e| stream_err(e.to_string()))?;
            // A stream made before it captured every subject Dossier publishes on gets them added.
            let info = stream.info().await.map_err(|e| stream_err(e.to_string()))?;
            let missing: Vec<String> = wanted.subjects.iter().filter(|s| !info.config.subjects.contains(s)).cloned().collect();
            if !missing.is_empty() {
                let mut updated = info.config.clone();
                updated.subjects.extend(missing);
                js.update_stream(updated).await.map_err(|e| stream_err(format!("adding its subjects: {e}")))?;
            }
            Ok::<_, PublishError>(js)
        })?;
        self.js = Some(js.clone());
        Ok(js)
    }

    /// Publishes `a` and waits for JetStream's acknowledgement.
    fn publish_once(&mut self, subject: &str, headers: HeaderMap, payload: Vec<u8>) -> Result<(), PublishError> {
        let js = self.context()?;
        self.runtime.block_on(async {
            let ack = js
                .publish_with_headers(subject.to_owned(), headers, payload.into())
                .await
                .map_err(|e| PublishError::Publish(e.to_string()))?;
            ack.await.map_err(|e| PublishError::Publish(e.to_string()))?;
            Ok(())
        })
    }

    /// Publishes `a`, retrying with backoff until JetStream acknowledges it. While NATS is away
    /// the follower waits here; what commits meanwhile is read back from the store afterwards
    /// (its tap is bounded), so an outage costs no memory.
    fn publish(&mut self, a: &Appended) {
        let e = &a.event;
        let subject = subject_of(&self.config.subject, e.event_type.as_str());
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, format!("{}#{}", e.key.source, e.key.id).as_str());
        headers.insert("ce-specversion", "1.0");
        headers.insert("ce-id", e.key.id.as_str());
        headers.insert("ce-source", e.key.source.as_str());
        headers.insert("ce-type", e.event_type.as_str());
        headers.insert("content-type", "application/json");
        self.publish_retrying(&subject, headers, e.raw.clone(), &format!("entry {}", a.seq));
    }

    /// Publishes a signed checkpoint (the C2SP note), retrying until JetStream acknowledges it.
    /// Its message id names the size and the note's digest: the same note is stored once, the
    /// note with witnesses' cosignatures added is a new message.
    fn publish_checkpoint(&mut self, c: &StoredCheckpoint) {
        let digest = sha2::Sha256::digest(c.note.as_bytes());
        let mut headers = HeaderMap::new();
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("checkpoint/{}/{}", c.size, dossier_log::own::hex(&digest[..16])).as_str(),
        );
        headers.insert("content-type", "text/plain; charset=utf-8");
        headers.insert("dossier-checkpoint-size", c.size.to_string().as_str());
        let subject = self.config.checkpoints.clone();
        self.publish_retrying(&subject, headers, c.note.as_bytes().to_vec(), &format!("checkpoint {}", c.size));
    }

    fn publish_retrying(&mut self, subject: &str, headers: HeaderMap, payload: Vec<u8>, what: &str) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.publish_once(subject, headers.clone(), payload.clone()) {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!("publishing {what} to {subject}: {err}; retrying in {backoff:?}");
                    // Start over: a new connection, and the stream made again if it was lost
                    // (deleted, or JetStream's storage wiped by a restart of NATS).
                    self.js = None;
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

fn runtime(name: &str) -> Option<tokio::runtime::Runtime> {
    // One worker thread of its own, so the client answers the server's pings and reconnects
    // between publishes, not only while one is waited for.
    match tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name(format!("{name}-io")).enable_all().build() {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!("starting the NATS publisher's runtime: {e}");
            None
        }
    }
}

/// Publishes each checkpoint the log keeps (checked once a second: the newest one, and again
/// when witnesses' cosignatures were added to it) on `config.checkpoints`, for others to keep.
pub fn start_checkpoints(log: Arc<EvidenceLog>, config: BusConfig) {
    let spawned = std::thread::Builder::new().name("dossier-nats-checkpoints".into()).spawn(move || {
        let Some(runtime) = runtime("dossier-nats-checkpoints") else { return };
        let mut publisher = Publisher { config, runtime, js: None };
        let mut last: Option<StoredCheckpoint> = None;
        loop {
            match log.store().latest_checkpoint() {
                Ok(Some(c)) if last.as_ref() != Some(&c) => {
                    publisher.publish_checkpoint(&c);
                    last = Some(c);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("reading the newest checkpoint to publish: {e}"),
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    if let Err(e) = spawned {
        tracing::error!("starting the checkpoint publisher: {e}");
    }
}

/// Starts publishing what policies emit from now on (and what they emitted since the cursor).
pub fn start(log: Arc<EvidenceLog>, config: BusConfig, cursor_file: PathBuf) {
    let follower = Follower::new(log, cursor_file);
    let spawned = std::thread::Builder::new().name("dossier-nats".into()).spawn(move || {
        let Some(runtime) = runtime("dossier-nats") else { return };
        let mut publisher = Publisher { config, runtime, js: None };
        follower.follow(|a| {
            if dossier_core::own::emitted_by_policy(&a.event.key.source, a.event.event_type.as_str()) {
                publisher.publish(a);
            }
        })
    });
    if let Err(e) = spawned {
        tracing::error!("starting the NATS publisher: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_the_prefix_and_the_type_with_reserved_characters_replaced() {
        assert_eq!(
            subject_of("dossier.events", "dev.cdevents.testsuiterun.queued.0.2.0"),
            "dossier.events.dev.cdevents.testsuiterun.queued.0.2.0"
        );
        assert_eq!(subject_of("d", "dev.x.a*b>c d.0.1.0"), "d.dev.x.a_b_c_d.0.1.0");
    }
}
