//! Checkpoints sent to witnesses (C2SP `tlog-witness`), their cosignatures kept with them.
//!
//! Once a second (and once more when the server stops), the newest saved checkpoint goes to
//! every configured witness that has not cosigned it, with a consistency proof from the size that witness last cosigned. A witness
//! that answers `409` says which size it holds; the next request starts there. Cosignatures
//! that verify with the witness's key are added to the checkpoint in the store (and in the
//! checkpoint directory); a checkpoint is *witnessed* once `quorum` of them cosigned it.
//!
//! A witness that holds a larger size than the log has means the log lost or rewrote entries
//! after the witness saw them: that is logged as an error on every round, never papered over.

use std::io::Read;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dossier_log::EvidenceLog;
use dossier_store::StoredCheckpoint;
use dossier_tlog::cosignature::{count_cosigners, with_cosignatures};
use dossier_tlog::witness::{parse_size, AddCheckpoint};
use dossier_tlog::CosignatureVerifier;

/// How long one request to a witness may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a witness's answer that is read.
const MAX_ANSWER: u64 = 64 * 1024;

/// A witness: where it listens and its public key (a C2SP vkey of type 0x04).
#[derive(Clone)]
pub struct WitnessConfig {
    /// The submission prefix: requests go to `<url>/add-checkpoint`.
    pub url: String,
    pub key: CosignatureVerifier,
}

impl std::fmt::Debug for WitnessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.url, self.key)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WitnessConfigError {
    #[error("a witness is `<url> <key>` (its submission URL and its public key, separated by a space), got {0:?}")]
    Shape(String),
    #[error("the witness URL {0:?} is not an http(s) URL")]
    Url(String),
    #[error("the witness key {key:?}: {reason}")]
    Key { key: String, reason: String },
}

impl FromStr for WitnessConfig {
    type Err = WitnessConfigError;
    fn from_str(s: &str) -> Result<WitnessConfig, WitnessConfigError> {
        let mut parts = s.split_whitespace();
        let (Some(url), Some(key), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(WitnessConfigError::Shape(s.to_owned()));
        };
        match url::Url::parse(url) {
            Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {}
            _ => return Err(WitnessConfigError::Url(url.to_owned())),
        }
        let key = CosignatureVerifier::parse(key).map_err(|e| WitnessConfigError::Key { key: key.to_owned(), reason: e.to_string() })?;
        Ok(WitnessConfig { url: url.trim_end_matches('/').to_owned(), key })
    }
}

/// Where witnessing stands, for the API and metrics.
#[derive(Debug, Default)]
pub struct WitnessStatus {
    /// The largest checkpoint cosigned by at least `quorum` witnesses (0: none yet).
    pub witnessed_size: AtomicU64,
    /// Requests that did not end in a cosignature.
    pub failures: AtomicU64,
    pub quorum: AtomicU64,
}

/// One witness as the log sees it.
struct Peer {
    config: WitnessConfig,
    /// The size this witness last cosigned, when known.
    known: Option<u64>,
}

/// Why a round with one witness gave no cosignature.
#[derive(Debug, thiserror::Error)]
enum Failed {
    #[error("the witness answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("the witness says it cosigned size {witness}, larger than this log's newest checkpoint ({log}): if so, this log lost or rewrote entries it had shown the witness")]
    Ahead { witness: u64, log: u64 },
    #[error("its answer carries no cosignature that verifies with {0}")]
    NoCosignature(String),
    #[error("{0}")]
    Transport(String),
    #[error("the store: {0}")]
    Store(#[from] dossier_store::StoreError),
}

/// Sends checkpoints to witnesses until the process ends.
pub struct Witnessing {
    log: Arc<EvidenceLog>,
    peers: Mutex<Vec<Peer>>,
    quorum: usize,
    agent: ureq::Agent,
    pub status: Arc<WitnessStatus>,
}

impl Witnessing {
    /// `quorum` of `witnesses` make a checkpoint witnessed (at most their number, at least 1).
    pub fn new(log: Arc<EvidenceLog>, witnesses: Vec<WitnessConfig>, quorum: usize) -> Witnessing {
        let quorum = quorum.clamp(1, witnesses.len().max(1));
        let status = Arc::new(WitnessStatus::default());
        status.quorum.store(quorum as u64, Ordering::Relaxed);
        Witnessing {
            log,
            peers: Mutex::new(witnesses.into_iter().map(|config| Peer { config, known: None }).collect()),
            quorum,
            agent: ureq::AgentBuilder::new().timeout(TIMEOUT).build(),
            status,
        }
    }

    /// One round: the newest saved checkpoint to every witness that has not cosigned it.
    /// Returns the checkpoint as kept afterwards.
    pub fn round(&self) -> Result<Option<StoredCheckpoint>, dossier_store::StoreError> {
        let Some(mut checkpoint) = self.log.store().latest_checkpoint()? else { return Ok(None) };
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        let mut added = String::new();
        for peer in peers.iter_mut() {
            if peer.config.key.verify(&checkpoint.note).is_ok() {
                peer.known = Some(checkpoint.size);
                continue;
            }
            match self.submit(peer, &checkpoint) {
                Ok(lines) => added.push_str(&lines),
                Err(e) => {
                    self.status.failures.fetch_add(1, Ordering::Relaxed);
                    match e {
                        Failed::Ahead { .. } => tracing::error!("witness {}: {e}", peer.config.url),
                        _ => tracing::warn!("witness {}: checkpoint {} not cosigned: {e}", peer.config.url, checkpoint.size),
                    }
                }
            }
        }
        if !added.is_empty() {
            checkpoint = self.log.save_cosigned(&with_cosignatures(&checkpoint.note, &added))?;
        }
        let keys: Vec<CosignatureVerifier> = peers.iter().map(|p| p.config.key.clone()).collect();
        if count_cosigners(&checkpoint.note, &keys) >= self.quorum {
            self.status.witnessed_size.fetch_max(checkpoint.size, Ordering::Relaxed);
        }
        Ok(Some(checkpoint))
    }

    /// Asks one witness to cosign, learning its size from a `409` once.
    fn submit(&self, peer: &mut Peer, checkpoint: &StoredCheckpoint) -> Result<String, Failed> {
        for _ in 0..2 {
            let old = peer.known.unwrap_or(0);
            if old > checkpoint.size {
                return Err(Failed::Ahead { witness: old, log: checkpoint.size });
            }
            let proof =
                if old == 0 || old == checkpoint.size { Vec::new() } else { self.log.store().consistency_proof(old, checkpoint.size)? };
            let body = AddCheckpoint { old, proof, checkpoint: checkpoint.note.clone() }.body();
            let url = format!("{}/add-checkpoint", peer.config.url);
            let (status, content_type, text) = match self.agent.post(&url).set("Content-Type", "text/plain").send_string(&body) {
                Ok(r) => (r.status(), r.content_type().to_owned(), read(r)?),
                Err(ureq::Error::Status(code, r)) => (code, r.content_type().to_owned(), read(r)?),
                Err(e) => return Err(Failed::Transport(e.to_string())),
            };
            match status {
                200 => {
                    // Only this witness's valid cosignatures are kept: nothing else a witness
                    // sends reaches the stored note.
                    let lines = peer.config.key.valid_lines(&checkpoint.note, &text);
                    if lines.is_empty() {
                        return Err(Failed::NoCosignature(peer.config.key.fingerprint()));
                    }
                    peer.known = Some(checkpoint.size);
                    return Ok(lines);
                }
                409 if content_type == "text/x.tlog.size" => match parse_size(&text) {
                    Some(size) if Some(size) != peer.known => peer.known = Some(size),
                    _ => return Err(Failed::Refused { status, body: text.trim_end().to_owned() }),
                },
                _ => return Err(Failed::Refused { status, body: text.trim_end().to_owned() }),
            }
        }
        Err(Failed::Refused { status: 409, body: "the witness's size kept changing".into() })
    }

    /// Runs rounds once a second on a thread of its own.
    pub fn start(self: Arc<Self>) -> Arc<WitnessStatus> {
        let status = self.status.clone();
        let spawned = std::thread::Builder::new().name("dossier-witnessing".into()).spawn(move || loop {
            if let Err(e) = self.round() {
                tracing::warn!("witnessing: {e}");
            }
            std::thread::sleep(Duration::from_secs(1));
        });
        if let Err(e) = spawned {
            tracing::error!("starting witnessing: {e}");
        }
        status
    }
}

fn read(r: ureq::Response) -> Result<String, Failed> {
    let mut text = String::new();
    r.into_reader().take(MAX_ANSWER).read_to_string(&mut text).map_err(|e| Failed::Transport(format!("reading the answer: {e}")))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witness_is_its_url_and_its_key() {
        let key = dossier_tlog::Cosigner::generate("witness.example/w1").unwrap().verifier().to_string();
        let w: WitnessConfig = format!("http://127.0.0.1:7380/ {key}").parse().unwrap();
        assert_eq!(w.url, "http://127.0.0.1:7380");
        assert_eq!(w.key.to_string(), key);
        assert_eq!("http://x".parse::<WitnessConfig>().unwrap_err(), WitnessConfigError::Shape("http://x".into()));
        assert_eq!(format!("ftp://x {key}").parse::<WitnessConfig>().unwrap_err(), WitnessConfigError::Url("ftp://x".into()));
        let log_key = dossier_tlog::Signer::generate("log").unwrap().verifier().to_string();
        assert!(matches!(format!("http://x {log_key}").parse::<WitnessConfig>(), Err(WitnessConfigError::Key { .. })));
    }
}
