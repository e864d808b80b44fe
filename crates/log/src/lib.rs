//! The evidence log as a service: a [`Store`] behind the one writer ([`GroupCommit`]), the
//! signing key and signed checkpoints, the views that register as [`Projection`]s, the lossy
//! live feed for streams, and bounded taps for the followers ([`follow`]).
//!
//! * [`own`]: building Dossier's own entries (the types are `dossier_core::own`).
//! * [`follow`]: at-least-once followers of the log with a persisted cursor.
//! * [`documents`]: the content-addressed documents that entries point at.
//! * [`render`]: entries and proofs as the API shows them.
//! * [`signer`]: who signs checkpoints — the key file, or an external signer (KMS, HSM).
//!
//! Architecture invariant: this crate names no store backend and knows nothing of HTTP,
//! policies or views; views plug in through [`Projection`].

pub mod documents;
pub mod follow;
pub mod own;
pub mod render;
pub mod signer;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dossier_core::Event;
use dossier_store::{AppendOutcome, GroupCommit, Store, StoreError, StoredCheckpoint, StoredEvent};
use dossier_tlog::{Checkpoint, Signer, Verifier};
use signer::NoteSigner;
use tokio::sync::{broadcast, oneshot};

/// An event as it was appended, for live subscribers.
#[derive(Debug, Clone)]
pub struct Appended {
    pub seq: u64,
    pub received_unix_nanos: i64,
    pub event: Event,
}

/// Why a stored row could not be read back as an event.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("entry {seq}: its bytes are not JSON: {reason}")]
    NotJson { seq: u64, reason: String },
    #[error("entry {seq}: not an event Dossier can read: {reason}")]
    NotEvent { seq: u64, reason: String },
}

static UNREADABLE_ROWS: AtomicU64 = AtomicU64::new(0);

/// How many stored rows could not be read back as events since the process started (each is
/// also logged; `dossier verify` names them).
pub fn unreadable_rows() -> u64 {
    UNREADABLE_ROWS.load(Ordering::Relaxed)
}

impl Appended {
    /// The one conversion of a stored row into an event: every reader of the log goes through
    /// it. A row that does not read is a damaged store; it is counted ([`unreadable_rows`]),
    /// logged with `what` (who was reading), and returned as an error — never skipped in silence.
    pub fn from_row(row: &StoredEvent, what: &str) -> Result<Appended, RowError> {
        let read = serde_json::from_slice::<serde_json::Value>(&row.raw)
            .map_err(|e| RowError::NotJson { seq: row.seq, reason: e.to_string() })
            .and_then(|v| Event::from_json(row.raw.clone(), &v).map_err(|e| RowError::NotEvent { seq: row.seq, reason: e.to_string() }));
        match read {
            Ok(event) => Ok(Appended {
                seq: row.seq,
                received_unix_nanos: row.received_unix_nanos,
                event: Event { sender: row.sender.clone(), ..event },
            }),
            Err(e) => {
                UNREADABLE_ROWS.fetch_add(1, Ordering::Relaxed);
                tracing::error!("{what}: {e}; skipped (run `dossier verify`)");
                Err(e)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the log key in {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("data directory {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// A view of the log kept current by every commit, before any caller is answered (so a client
/// reads its own writes). Views are derived from the log only: built from the store at start,
/// then fed each commit's accepted entries in log order.
pub trait Projection: Send + Sync {
    fn apply(&self, events: &[Event], outcomes: &[AppendOutcome]);
}

/// Entries a follower's tap holds at most; past that the follower reads from the store.
pub const TAP_CAPACITY: usize = 1024;

/// One follower's bounded queue of committed entries.
struct Tap {
    sender: std::sync::mpsc::SyncSender<Arc<Appended>>,
    /// Set when an entry did not fit: the follower reads what it missed from the store.
    overflowed: Arc<AtomicBool>,
}

/// The receiving end of a tap (see [`follow::Follower`]).
pub struct TapReceiver {
    pub(crate) receiver: std::sync::mpsc::Receiver<Arc<Appended>>,
    pub(crate) overflowed: Arc<AtomicBool>,
}

pub struct EvidenceLog {
    store: Arc<dyn Store>,
    taps: Arc<Mutex<Vec<Tap>>>,
    /// Entries below this seq are committed *and* applied to every projection: what followers
    /// may read from the store without getting ahead of the views.
    applied: Arc<AtomicU64>,
    commit: GroupCommit,
    signer: Arc<dyn NoteSigner>,
    feed: broadcast::Sender<Arc<Appended>>,
    /// The newest signed checkpoint, and whether it is saved in the store.
    latest: Mutex<Option<(StoredCheckpoint, bool)>>,
    /// Where each saved checkpoint is also published, for others to keep.
    publish_dir: std::sync::OnceLock<std::path::PathBuf>,
}

const KEY_FILE: &str = "log.key";

/// Reads the log's signing key from the data directory, creating it on first start.
pub fn load_or_create_key(dir: &Path, name: Option<&str>) -> Result<Signer, LogError> {
    load_or_create_key_at(&dir.join(KEY_FILE), dir, name)
}

/// The log's public key as the operator gives it for an external signer (`--log-public-key`);
/// written to `DATA/log.pub` like a key file's.
pub fn external_key(path: &Path, dir: &Path) -> Result<Verifier, LogError> {
    let key_err = |reason: String| LogError::Key { path: path.display().to_string(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| key_err(e.to_string()))?;
    let key = Verifier::parse(text.trim()).map_err(|e| key_err(e.to_string()))?;
    let public = format!("{key}\n");
    let pub_path = dir.join("log.pub");
    if std::fs::read_to_string(&pub_path).ok().as_deref() != Some(public.as_str()) {
        std::fs::write(&pub_path, public).map_err(|e| LogError::Key { path: pub_path.display().to_string(), reason: e.to_string() })?;
    }
    Ok(key)
}

/// Reads the log's signing key from `path` (which may be outside the data directory: whoever
/// can rewrite the database should not also hold the key), creating it on first start. The
/// public key is written to `DATA/log.pub` whenever it is missing or differs.
pub fn load_or_create_key_at(path: &Path, dir: &Path, name: Option<&str>) -> Result<Signer, LogError> {
    let signer = read_or_create(path, name)?;
    let public = format!("{}\n", signer.verifier());
    let pub_path = dir.join("log.pub");
    if std::fs::read_to_string(&pub_path).ok().as_deref() != Some(public.as_str()) {
        std::fs::write(&pub_path, public).map_err(|e| LogError::Key { path: pub_path.display().to_string(), reason: e.to_string() })?;
    }
    Ok(signer)
}

fn read_or_create(path: &Path, name: Option<&str>) -> Result<Signer, LogError> {
    let key_err = |reason: String| LogError::Key { path: path.display().to_string(), reason };
    match std::fs::read_to_string(path) {
        Ok(text) => Signer::parse(&text).map_err(|e| key_err(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = match name {
                Some(n) => n.to_owned(),
                None => {
                    let mut bytes = [0u8; 4];
                    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
                    format!("dossier.local/{}", hex::encode(bytes))
                }
            };
            let signer = Signer::generate(&name).map_err(|e| key_err(e.to_string()))?;
            write_private(path, &signer.to_private_string()).map_err(|e| key_err(e.to_string()))?;
            Ok(signer)
        }
        Err(e) => Err(key_err(e.to_string())),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

impl EvidenceLog {
    /// Starts the log service over `store`: the writer, with `projections` applied to every
    /// commit. Each projection must already hold the log as it is (built from `store`).
    pub fn new(store: Arc<dyn Store>, signer: impl NoteSigner + 'static, projections: Vec<Arc<dyn Projection>>) -> Arc<EvidenceLog> {
        EvidenceLog::with_signer(store, Arc::new(signer), projections)
    }

    /// [`EvidenceLog::new`] with a signer chosen at run time (the key file or an external one).
    pub fn with_signer(store: Arc<dyn Store>, signer: Arc<dyn NoteSigner>, projections: Vec<Arc<dyn Projection>>) -> Arc<EvidenceLog> {
        let (feed, _) = broadcast::channel(4096);
        let sender = feed.clone();
        let taps: Arc<Mutex<Vec<Tap>>> = Arc::default();
        let tapped = taps.clone();
        // Every entry stored now is in the projections, which were built from the store.
        let applied = Arc::new(AtomicU64::new(store.size().unwrap_or(0)));
        let watermark = applied.clone();
        let commit = GroupCommit::start(
            store.clone(),
            Box::new(move |events, outcomes, received_unix_nanos| {
                for p in &projections {
                    p.apply(events, outcomes);
                }
                if let Some(end) =
                    outcomes.iter().filter_map(|o| if let AppendOutcome::Accepted { seq } = o { Some(seq + 1) } else { None }).max()
                {
                    watermark.fetch_max(end, Ordering::AcqRel);
                }
                let mut taps = tapped.lock().unwrap_or_else(|p| p.into_inner());
                if taps.is_empty() && sender.receiver_count() == 0 {
                    return;
                }
                for (event, outcome) in events.iter().zip(outcomes) {
                    if let AppendOutcome::Accepted { seq } = outcome {
                        let appended = Arc::new(Appended { seq: *seq, received_unix_nanos, event: event.clone() });
                        // A follower that has stopped is forgotten; one that is behind reads
                        // what did not fit from the store.
                        taps.retain(|t| match t.sender.try_send(appended.clone()) {
                            Ok(()) => true,
                            Err(std::sync::mpsc::TrySendError::Full(_)) => {
                                t.overflowed.store(true, Ordering::Release);
                                true
                            }
                            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => false,
                        });
                        let _ = sender.send(appended);
                    }
                }
            }),
        );
        Arc::new(EvidenceLog {
            store,
            taps,
            applied,
            commit,
            signer,
            feed,
            latest: Mutex::new(None),
            publish_dir: std::sync::OnceLock::new(),
        })
    }

    /// The entries `0..applied()` are committed and in every projection. A follower reads no
    /// further from the store, so it never sees an entry before the views do.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// Appends events; resolves once they are durable.
    pub async fn append(&self, events: Vec<Event>) -> Result<Vec<AppendOutcome>, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.commit.submit(events, Box::new(move |r| drop(tx.send(r))));
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Appends without waiting: for evidence whose caller goes on regardless (an action's
    /// start). The single writer keeps submission order, so what the caller appends next lands
    /// after it; a failure is logged.
    pub fn append_detached(&self, events: Vec<Event>) {
        self.commit.submit(
            events,
            Box::new(|r| {
                if let Err(e) = r {
                    tracing::error!("appending: {e}");
                }
            }),
        );
    }

    /// Appends from a thread that is not async; blocks until durable.
    pub fn append_blocking(&self, events: Vec<Event>) -> Result<Vec<AppendOutcome>, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.commit.submit(events, Box::new(move |r| drop(tx.send(r))));
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    /// Every event committed from now on, in log order, through a queue of at most
    /// [`TAP_CAPACITY`] entries; what does not fit is flagged, for the follower to read from the
    /// store (see `follow`). Memory stays bounded however far a follower falls behind.
    pub fn tap(&self) -> TapReceiver {
        self.tap_sized(TAP_CAPACITY)
    }

    /// A tap holding at most `capacity` entries.
    pub fn tap_sized(&self, capacity: usize) -> TapReceiver {
        let (sender, receiver) = std::sync::mpsc::sync_channel(capacity);
        let overflowed = Arc::new(AtomicBool::new(false));
        self.taps.lock().unwrap_or_else(|p| p.into_inner()).push(Tap { sender, overflowed: overflowed.clone() });
        TapReceiver { receiver, overflowed }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Appended>> {
        self.feed.subscribe()
    }

    /// A checkpoint signed over the current tree (signing only when the tree has grown). With a
    /// remote signer (a KMS), the newest kept checkpoint instead, at most a second behind: a
    /// reader never waits for, nor pays for, a call to the signer.
    pub fn checkpoint(&self) -> Result<StoredCheckpoint, StoreError> {
        if self.signer.is_remote() {
            if let Some((c, true)) = self.latest.lock().unwrap_or_else(|p| p.into_inner()).clone() {
                return Ok(c);
            }
            if let Some(c) = self.store.latest_checkpoint()? {
                return Ok(c);
            }
        }
        self.sign_current()
    }

    /// Signs the current tree if it grew since the last signature.
    fn sign_current(&self) -> Result<StoredCheckpoint, StoreError> {
        let size = self.store.size()?;
        if let Some((c, _)) = self.latest.lock().unwrap_or_else(|p| p.into_inner()).as_ref().filter(|(c, _)| c.size == size) {
            return Ok(c.clone());
        }
        // Signed without the lock held: a slow signer keeps no reader of `latest` waiting.
        let root = self.store.root(size)?;
        let body = Checkpoint { origin: self.signer.verifier().name().to_owned(), size, root }.body();
        let note =
            signer::sign_note(self.signer.as_ref(), &body).map_err(|e| StoreError::Backend(format!("signing checkpoint {size}: {e}")))?;
        let c = StoredCheckpoint { size, note };
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((l, _)) = latest.as_ref() {
            // Another caller signed meanwhile: the same size (keep theirs, it may be saved), or a
            // larger one (keep it cached; ours is still a valid checkpoint of `size`).
            if l.size == size {
                return Ok(l.clone());
            }
            if l.size > size {
                return Ok(c);
            }
        }
        *latest = Some((c.clone(), false));
        Ok(c)
    }

    /// Signs the current tree if it grew and keeps the checkpoint in the store.
    pub fn persist_checkpoint(&self) -> Result<(), StoreError> {
        let c = self.sign_current()?;
        let saved = self.latest.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_some_and(|(l, s)| l.size == c.size && *s);
        let kept = self.store.latest_checkpoint()?.is_some_and(|k| k.size >= c.size);
        if !saved && !kept {
            self.store.save_checkpoint(&c)?;
            if let Some(dir) = self.publish_dir.get() {
                if let Err(e) = publish(dir, &c, false) {
                    tracing::error!("publishing checkpoint {} to {}: {e}", c.size, dir.display());
                }
            }
        }
        if let Some((l, s)) = self.latest.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            if l.size == c.size {
                *s = true;
            }
        }
        Ok(())
    }

    /// Keeps a checkpoint the log signed, now carrying witnesses' cosignatures, in place of the
    /// one saved at its size (and republishes it). The note must open with the log's key.
    pub fn save_cosigned(&self, note: &str) -> Result<StoredCheckpoint, StoreError> {
        let body = self.signer.verifier().open(note).map_err(|e| StoreError::Corrupt(format!("a cosigned checkpoint: {e}")))?;
        let cp = Checkpoint::parse(body).map_err(|e| StoreError::Corrupt(format!("a cosigned checkpoint: {e}")))?;
        let c = StoredCheckpoint { size: cp.size, note: note.to_owned() };
        self.store.save_checkpoint(&c)?;
        if let Some((l, saved)) = self.latest.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            if l.size == c.size {
                *l = c.clone();
                *saved = true;
            }
        }
        if let Some(dir) = self.publish_dir.get() {
            if let Err(e) = publish(dir, &c, true) {
                tracing::error!("publishing checkpoint {} to {}: {e}", c.size, dir.display());
            }
        }
        Ok(c)
    }

    /// Also writes every checkpoint saved from now on to `dir` as `<size>.note` (a C2SP signed
    /// note), where auditors and witnesses can collect them. Set once.
    pub fn publish_checkpoints_to(&self, dir: std::path::PathBuf) -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let _ = self.publish_dir.set(dir);
        Ok(())
    }

    /// Commits what is queued and keeps a final checkpoint.
    pub fn close(&self) {
        self.commit.shutdown();
        if let Err(e) = self.persist_checkpoint() {
            tracing::error!("saving the final checkpoint: {e}");
        }
    }
}

/// Writes a checkpoint to `dir/<size>.note`, atomically (a reader never sees half a note),
/// replacing one already there only when `replace` (the same checkpoint with cosignatures).
fn publish(dir: &Path, c: &StoredCheckpoint, replace: bool) -> std::io::Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let target = dir.join(format!("{}.note", c.size));
    if target.exists() && !replace {
        return Ok(());
    }
    // A temporary name of its own per write: two writers of one size never mix their bytes.
    let tmp = dir.join(format!(".{}.{}.{}.note.tmp", c.size, std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&tmp, &c.note)?;
    let placed = if replace {
        std::fs::rename(&tmp, &target)
    } else {
        // Never over a note already there (it may carry cosignatures this one lacks).
        match std::fs::hard_link(&tmp, &target) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    };
    let _ = std::fs::remove_file(&tmp);
    placed
}

/// Keeps a signed checkpoint of the growing tree in the store, once a second at most.
pub async fn persist_checkpoints(log: Arc<EvidenceLog>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let l = log.clone();
        match tokio::task::spawn_blocking(move || l.persist_checkpoint()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("saving a checkpoint: {e}"),
            Err(e) => tracing::warn!("saving a checkpoint: {e}"),
        }
    }
}
