//! What policies emit, published onto NATS JetStream when configured: the events `emit`,
//! `quarantine` and `release` actions append, so that tools listening on the bus (a scanner
//! waiting for `testsuiterun.queued`, an admission controller watching quarantines) hear them.
//!
//! The log is the outbox: a follower (`DATA/nats.cursor`) publishes each such entry and moves
//! on only once JetStream acknowledged it, retrying while NATS is away, so nothing is lost; each
//! message carries `Nats-Msg-Id: <source>#<id>`, so JetStream stores a repeat after a restart
//! once. Messages are CloudEvents in binary mode: the CDEvent as the payload, `ce-*` headers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dossier_nats::{JetStream, NatsError};

use dossier_log::follow::Follower;
use dossier_log::{Appended, EvidenceLog};

/// Where to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// `nats://host:port`.
    pub url: String,
    /// The JetStream stream, created (capturing `<subject>.>`) if it does not exist.
    pub stream: String,
    /// Subjects are `<subject>.<event type>`.
    pub subject: String,
}

const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The subject an event goes to: the prefix and its type, with anything NATS reserves (`*`,
/// `>`, spaces) replaced.
pub fn subject_of(prefix: &str, event_type: &str) -> String {
    let ty: String = event_type.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    format!("{prefix}.{ty}")
}

struct Publisher {
    config: BusConfig,
    js: Option<JetStream>,
}

impl Publisher {
    fn connect(&mut self) -> Result<&mut JetStream, NatsError> {
        if self.js.is_none() {
            let mut js = JetStream::connect(&self.config.url, TIMEOUT)?;
            js.ensure_stream(&self.config.stream, &[format!("{}.>", self.config.subject)])?;
            self.js = Some(js);
        }
        Ok(self.js.as_mut().expect("connected just above"))
    }

    /// Publishes `a`, retrying with backoff until JetStream acknowledges it.
    fn publish(&mut self, a: &Appended) {
        let e = &a.event;
        let subject = subject_of(&self.config.subject, e.event_type.as_str());
        let msg_id = format!("{}#{}", e.key.source, e.key.id);
        let headers = [
            ("ce-specversion", "1.0"),
            ("ce-id", e.key.id.as_str()),
            ("ce-source", e.key.source.as_str()),
            ("ce-type", e.event_type.as_str()),
            ("content-type", "application/json"),
        ];
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.connect().and_then(|js| js.publish(&subject, &msg_id, &headers, &e.raw)) {
                Ok(_) => return,
                Err(err) => {
                    tracing::warn!("publishing entry {} to {subject}: {err}; retrying in {backoff:?}", a.seq);
                    self.js = None;
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Starts publishing what policies emit from now on (and what they emitted since the cursor).
pub fn start(log: Arc<EvidenceLog>, config: BusConfig, cursor_file: PathBuf) {
    let follower = Follower::new(log, cursor_file);
    let mut publisher = Publisher { config, js: None };
    let spawned = std::thread::Builder::new().name("dossier-nats".into()).spawn(move || {
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
