//! A transparency-log witness (C2SP `tlog-witness`): `dossier witness`.
//!
//! The witness holds its own key and, per log it is configured for, the checkpoint it last
//! cosigned. It cosigns a new checkpoint only when the log's signature verifies and a
//! consistency proof shows the new tree extends the one it cosigned before — so an operator who
//! rewrites history cannot get a cosignature for the rewritten log from any honest witness, and
//! an auditor who requires k of n cosignatures cannot be shown a forked view.
//!
//! Architecture invariant: the witness shares no state with a log server: its key, its state
//! directory and its process are its own; it speaks to logs only through the protocol.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use dossier_tlog::witness::{self, AddCheckpoint, Latest, Refusal};
use dossier_tlog::{Checkpoint, Cosigner, Verifier};
use sha2::{Digest, Sha256};

/// The largest request a witness reads: a checkpoint with many signatures and 63 proof lines
/// fit many times over.
pub const MAX_REQUEST: usize = 64 * 1024;

/// How long a request's body may take to arrive, by default.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("the witness's state {path}: {source}")]
    State { path: String, source: std::io::Error },
}

/// The checkpoints a witness cosigned, one file per log (named by the SHA-256 of its origin),
/// each the signed checkpoint it last cosigned with its cosignature added (a note anyone can
/// verify), replaced atomically and fsync'd.
struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    fn path(&self, origin: &str) -> PathBuf {
        self.dir.join(format!("{}.checkpoint", hex::encode(Sha256::digest(origin.as_bytes()))))
    }

    fn error(path: &Path, source: std::io::Error) -> WitnessError {
        WitnessError::State { path: path.display().to_string(), source }
    }

    /// The note last cosigned for `origin`, if any.
    fn note(&self, origin: &str) -> Result<Option<String>, WitnessError> {
        let path = self.path(origin);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Self::error(&path, e)),
        }
    }

    fn load(&self, origin: &str) -> Result<Option<Latest>, WitnessError> {
        let path = self.path(origin);
        match self.note(origin)? {
            Some(note) => {
                let bad = |e: String| Self::error(&path, std::io::Error::other(e));
                let text = dossier_tlog::note_text(&note).map_err(|e| bad(e.to_string()))?;
                let cp = Checkpoint::parse(text).map_err(|e| bad(e.to_string()))?;
                if cp.origin != origin {
                    return Err(Self::error(&path, std::io::Error::other(format!("holds the log {:?}, not {origin:?}", cp.origin))));
                }
                Ok(Some(Latest { size: cp.size, root: cp.root }))
            }
            None => Ok(None),
        }
    }

    fn save(&self, origin: &str, cosigned: &str) -> Result<(), WitnessError> {
        let path = self.path(origin);
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(cosigned.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| Self::error(&path, e))
    }
}

/// A witness: its key, the logs it knows and what it cosigned.
pub struct Witness {
    cosigner: Cosigner,
    logs: Vec<Verifier>,
    /// Held across check and save: the protocol requires them to be atomic.
    state: Mutex<Cosigned>,
    body_timeout: std::time::Duration,
}

struct Cosigned {
    dir: StateDir,
    /// The newest cosignature time given per log: a later cosignature never claims an earlier time.
    last_time: std::collections::HashMap<String, u64>,
}

impl Witness {
    /// A witness keeping its state in `dir` (created if missing), cosigning for `logs`.
    pub fn open(cosigner: Cosigner, logs: Vec<Verifier>, dir: &Path) -> Result<Witness, WitnessError> {
        std::fs::create_dir_all(dir).map_err(|e| StateDir::error(dir, e))?;
        Ok(Witness {
            cosigner,
            logs,
            state: Mutex::new(Cosigned { dir: StateDir { dir: dir.to_owned() }, last_time: Default::default() }),
            body_timeout: BODY_TIMEOUT,
        })
    }

    /// How long a request's body may take to arrive (default [`BODY_TIMEOUT`]).
    pub fn with_body_timeout(mut self, timeout: std::time::Duration) -> Witness {
        self.body_timeout = timeout;
        self
    }

    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }

    pub fn logs(&self) -> &[Verifier] {
        &self.logs
    }

    /// What this witness last cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<Latest>, WitnessError> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).dir.load(origin)
    }

    /// The checkpoint this witness last cosigned for `origin`, with its cosignature: what an
    /// auditor fetches to hold a log to it (`dossier verify --trusted-checkpoint`).
    pub fn latest_note(&self, origin: &str) -> Result<Option<String>, WitnessError> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).dir.note(origin)
    }

    /// Handles an `add-checkpoint` request body at `now` (seconds since the Epoch): checks it,
    /// records the checkpoint durably, and returns the cosignature line.
    pub fn add_checkpoint(&self, body: &str, now: u64) -> Result<String, WitnessError> {
        let request = AddCheckpoint::parse(body)?;
        let origin = request.checkpoint.split('\n').next().unwrap_or_default();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let latest = if self.logs.iter().any(|k| k.name() == origin) { state.dir.load(origin)? } else { None };
        let checked = match witness::check(&request, &self.logs, latest) {
            Ok(c) => c,
            Err(refusal) => {
                if matches!(refusal, Refusal::Forked { .. } | Refusal::Inconsistent { .. }) {
                    tracing::warn!(origin, "refused a checkpoint that does not extend what this witness cosigned: {refusal}");
                }
                return Err(refusal.into());
            }
        };
        // Under the lock: a cosignature given after another never claims an earlier time.
        let time = now.max(state.last_time.get(origin).copied().unwrap_or(0));
        let line = self.cosigner.cosign(checked.body, time);
        let cosigned = dossier_tlog::cosignature::with_cosignatures(&request.checkpoint, &line);
        state.dir.save(origin, &cosigned)?;
        state.last_time.insert(origin.to_owned(), time);
        Ok(line)
    }

    /// The HTTP interface: `POST /add-checkpoint`, `GET /latest?origin=…` and `GET /`
    /// describing the witness.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/add-checkpoint", post(add_checkpoint))
            .route("/latest", get(latest))
            .route("/", get(describe))
            .layer(DefaultBodyLimit::max(MAX_REQUEST))
            .with_state(self)
    }
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, request: axum::extract::Request) -> Response {
    // The whole request within its deadline and its size: a slow or large sender holds nothing.
    let deadline = w.body_timeout;
    let body = match tokio::time::timeout(deadline, axum::body::to_bytes(request.into_body(), MAX_REQUEST)).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return (StatusCode::PAYLOAD_TOO_LARGE, format!("a request is at most {MAX_REQUEST} bytes\n")).into_response(),
        Err(_) => return (StatusCode::REQUEST_TIMEOUT, format!("the request did not arrive within {deadline:?}\n")).into_response(),
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "malformed request: not UTF-8\n").into_response();
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let text = text.to_owned();
    let answer = tokio::task::spawn_blocking(move || w.add_checkpoint(&text, now)).await;
    match answer {
        Ok(Ok(line)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response(),
        Ok(Err(WitnessError::Refused(Refusal::WrongOld { latest, .. }))) => {
            (StatusCode::CONFLICT, [(header::CONTENT_TYPE, "text/x.tlog.size")], format!("{latest}\n")).into_response()
        }
        Ok(Err(WitnessError::Refused(r))) => {
            let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{r}\n")).into_response()
        }
        Ok(Err(e)) => {
            tracing::error!("{e}");
            (StatusCode::SERVICE_UNAVAILABLE, "the witness cannot record checkpoints now\n").into_response()
        }
        Err(e) => {
            tracing::error!("add-checkpoint: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(serde::Deserialize)]
struct Origin {
    origin: String,
}

/// `GET /latest?origin=<log origin>`: the checkpoint last cosigned for that log, with the
/// witness's cosignature.
async fn latest(State(w): State<Arc<Witness>>, axum::extract::Query(Origin { origin }): axum::extract::Query<Origin>) -> Response {
    match tokio::task::spawn_blocking(move || w.latest_note(&origin).map(|n| (origin, n))).await {
        Ok(Ok((_, Some(note)))) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response(),
        Ok(Ok((origin, None))) => (StatusCode::NOT_FOUND, format!("this witness has cosigned nothing for {origin:?}\n")).into_response(),
        Ok(Err(e)) => {
            tracing::error!("{e}");
            (StatusCode::SERVICE_UNAVAILABLE, "the witness cannot read its state now\n").into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn describe(State(w): State<Arc<Witness>>) -> Response {
    let mut text = format!("witness {}\nkey {}\n", w.cosigner.name(), w.cosigner.verifier());
    for log in &w.logs {
        text.push_str(&format!("log {log}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// Reads the witness's private key from `path`, creating it (mode 0600) on first start with
/// `name` (default `witness.local/<random>`); writes the public key beside it, the extension
/// replaced by `.pub` (`witness.key` → `witness.pub`).
pub fn load_or_create_key(path: &Path, name: Option<&str>) -> Result<Cosigner, WitnessError> {
    let err = |source: std::io::Error| WitnessError::State { path: path.display().to_string(), source };
    let bad = |e: dossier_tlog::NoteError| err(std::io::Error::other(e.to_string()));
    let cosigner = match std::fs::read_to_string(path) {
        Ok(text) => Cosigner::parse(&text).map_err(bad)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = name.map(str::to_owned).unwrap_or_else(|| {
                let mut bytes = [0u8; 4];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
                format!("witness.local/{}", hex::encode(bytes))
            });
            let cosigner = Cosigner::generate(&name).map_err(bad)?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(path).map_err(err)?;
            f.write_all(format!("{}\n", cosigner.to_private_string()).as_bytes()).map_err(err)?;
            f.sync_all().map_err(err)?;
            cosigner
        }
        Err(e) => return Err(err(e)),
    };
    let public = path.with_extension("pub");
    std::fs::write(&public, format!("{}\n", cosigner.verifier()))
        .map_err(|e| WitnessError::State { path: public.display().to_string(), source: e })?;
    Ok(cosigner)
}

/// Serves the witness on `listener` until `shutdown` resolves, under the same bounds as the
/// server: at most 1024 connections, 10 s for a request's headers, 10 s for its body.
pub async fn serve(
    listener: tokio::net::TcpListener,
    witness: Arc<Witness>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    dossier_net::serve(listener, witness.router(), dossier_net::Connections::default(), shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_tlog::{tree, MemoryTree, Signer};

    fn grown(t: &mut MemoryTree, to: u64, tag: &str) {
        while t.size() < to {
            t.push(tree::leaf_hash(format!("{tag} {}", t.size()).as_bytes()));
        }
    }

    fn request(log: &Signer, old: u64, t: &MemoryTree) -> String {
        let proof = if old == 0 || old == t.size() { Vec::new() } else { tree::consistency_proof(t, old, t.size()).unwrap() };
        let checkpoint = log.sign(&Checkpoint { origin: log.name().into(), size: t.size(), root: t.root() }.body());
        AddCheckpoint { old, proof, checkpoint }.body()
    }

    #[test]
    fn cosigns_consistent_growth_and_remembers_it_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let log = Signer::generate("example.com/log").unwrap();
        let key = Cosigner::generate("witness.example/w1").unwrap().to_private_string();
        let w = Witness::open(Cosigner::parse(&key).unwrap(), vec![log.verifier()], dir.path()).unwrap();
        let mut t = MemoryTree::default();
        grown(&mut t, 10, "e");
        let line = w.add_checkpoint(&request(&log, 0, &t), 100).unwrap();
        assert!(line.starts_with("\u{2014} witness.example/w1 "));
        let note = dossier_tlog::cosignature::with_cosignatures(
            &log.sign(&Checkpoint { origin: log.name().into(), size: 10, root: t.root() }.body()),
            &line,
        );
        assert_eq!(w.cosigner().verifier().verify(&note), Ok(100));
        drop(w);

        let w = Witness::open(Cosigner::parse(&key).unwrap(), vec![log.verifier()], dir.path()).unwrap();
        assert_eq!(w.latest("example.com/log").unwrap(), Some(Latest { size: 10, root: t.root() }));
        grown(&mut t, 25, "e");
        assert!(w.add_checkpoint(&request(&log, 10, &t), 101).is_ok());
        assert!(matches!(
            w.add_checkpoint(&request(&log, 10, &t), 102),
            Err(WitnessError::Refused(Refusal::WrongOld { old: 10, latest: 25 }))
        ));
    }

    #[test]
    fn refuses_a_rewritten_history_and_keeps_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let log = Signer::generate("example.com/log").unwrap();
        let w = Witness::open(Cosigner::generate("w").unwrap(), vec![log.verifier()], dir.path()).unwrap();
        let mut honest = MemoryTree::default();
        grown(&mut honest, 8, "e");
        w.add_checkpoint(&request(&log, 0, &honest), 1).unwrap();
        let mut rewritten = MemoryTree::default();
        grown(&mut rewritten, 20, "rewritten");
        let refused = w.add_checkpoint(&request(&log, 8, &rewritten), 2).unwrap_err();
        assert!(matches!(refused, WitnessError::Refused(Refusal::Inconsistent { old: 8, size: 20 })), "{refused}");
        assert_eq!(w.latest("example.com/log").unwrap(), Some(Latest { size: 8, root: honest.root() }));
    }
}
