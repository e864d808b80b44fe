//! The evidence log as a service.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dossier_core::Event;
use dossier_store::{AppendOutcome, GroupCommit, Store, StoreError, StoredCheckpoint};
use dossier_store_sqlite::SqliteStore;
use dossier_tlog::{Checkpoint, Signer, Verifier};
use tokio::sync::{broadcast, oneshot};

use crate::exceptions::ExceptionsView;
use crate::lineage::{self, LineageView};

/// An event as it was appended, for live subscribers.
#[derive(Debug, Clone)]
pub struct Appended {
    pub seq: u64,
    pub received_unix_nanos: i64,
    pub event: Event,
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

/// Where committed events go for the followers of the log (the policy engine, the document
/// fetcher): channels that lose nothing.
pub type CommitTap = Arc<Mutex<Vec<std::sync::mpsc::Sender<Arc<Appended>>>>>;

pub struct EvidenceLog {
    store: Arc<dyn Store>,
    tap: CommitTap,
    lineage: Arc<LineageView>,
    exceptions: Arc<ExceptionsView>,
    commit: GroupCommit,
    signer: Signer,
    feed: broadcast::Sender<Arc<Appended>>,
    /// The newest signed checkpoint, and whether it is saved in the store.
    latest: Mutex<Option<(StoredCheckpoint, bool)>>,
}

const KEY_FILE: &str = "log.key";
const DB_FILE: &str = "dossier.db";

/// Reads the log's signing key from the data directory, creating it on first start.
pub fn load_or_create_key(dir: &Path, name: Option<&str>) -> Result<Signer, LogError> {
    let path = dir.join(KEY_FILE);
    let key_err = |reason: String| LogError::Key { path: path.display().to_string(), reason };
    match std::fs::read_to_string(&path) {
        Ok(text) => Signer::parse(&text).map_err(|e| key_err(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = match name {
                Some(n) => n.to_owned(),
                None => {
                    let mut bytes = [0u8; 4];
                    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
                    format!("dossier.local/{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
                }
            };
            let signer = Signer::generate(&name).map_err(|e| key_err(e.to_string()))?;
            write_private(&path, &signer.to_private_string()).map_err(|e| key_err(e.to_string()))?;
            std::fs::write(dir.join("log.pub"), format!("{}\n", signer.verifier())).map_err(|e| key_err(e.to_string()))?;
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

/// Opens the embedded store in `dir`.
pub fn open_sqlite(dir: &Path) -> Result<Arc<dyn Store>, LogError> {
    std::fs::create_dir_all(dir).map_err(|source| LogError::Io { path: dir.display().to_string(), source })?;
    Ok(Arc::new(SqliteStore::open(&dir.join(DB_FILE))?))
}

impl EvidenceLog {
    /// Starts the log service over `store`: rebuilds the lineage graph from the log, then
    /// starts the writer.
    pub fn new(store: Arc<dyn Store>, signer: Signer) -> Result<Arc<EvidenceLog>, LogError> {
        let (feed, _) = broadcast::channel(4096);
        let sender = feed.clone();
        let lineage = Arc::new(LineageView::new(lineage::replay(store.as_ref(), None)?));
        let view = lineage.clone();
        let exceptions = Arc::new(ExceptionsView::load(store.as_ref())?);
        let book = exceptions.clone();
        let tap: CommitTap = Arc::default();
        let tapped = tap.clone();
        let commit = GroupCommit::start(
            store.clone(),
            Box::new(move |events, outcomes, received_unix_nanos| {
                view.apply(events, outcomes);
                book.apply(events, outcomes);
                let mut taps = tapped.lock().unwrap_or_else(|p| p.into_inner());
                if taps.is_empty() && sender.receiver_count() == 0 {
                    return;
                }
                for (event, outcome) in events.iter().zip(outcomes) {
                    if let AppendOutcome::Accepted { seq } = outcome {
                        let appended = Arc::new(Appended { seq: *seq, received_unix_nanos, event: event.clone() });
                        // A follower that has stopped is forgotten.
                        taps.retain(|t| t.send(appended.clone()).is_ok());
                        let _ = sender.send(appended);
                    }
                }
            }),
        );
        Ok(Arc::new(EvidenceLog { store, tap, lineage, exceptions, commit, signer, feed, latest: Mutex::new(None) }))
    }

    /// Opens the embedded default in a data directory: SQLite and the key beside it.
    pub fn open_dir(dir: &Path, name: Option<&str>) -> Result<Arc<EvidenceLog>, LogError> {
        let store = open_sqlite(dir)?;
        let signer = load_or_create_key(dir, name)?;
        EvidenceLog::new(store, signer)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn lineage(&self) -> &LineageView {
        &self.lineage
    }

    pub fn exceptions(&self) -> &ExceptionsView {
        &self.exceptions
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

    /// Every event committed from now on, in log order, through a channel that drops nothing
    /// (a follower's feed; see `follow`).
    pub fn tap(&self) -> std::sync::mpsc::Receiver<Arc<Appended>> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.tap.lock().unwrap_or_else(|p| p.into_inner()).push(tx);
        rx
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Appended>> {
        self.feed.subscribe()
    }

    /// A checkpoint signed over the current tree (signing only when the tree has grown).
    pub fn checkpoint(&self) -> Result<StoredCheckpoint, StoreError> {
        let size = self.store.size()?;
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((c, _)) = latest.as_ref().filter(|(c, _)| c.size == size) {
            return Ok(c.clone());
        }
        let root = self.store.root(size)?;
        let body = Checkpoint { origin: self.signer.name().to_owned(), size, root }.body();
        let c = StoredCheckpoint { size, note: self.signer.sign(&body) };
        *latest = Some((c.clone(), false));
        Ok(c)
    }

    /// Signs the current tree if it grew and keeps the checkpoint in the store.
    pub fn persist_checkpoint(&self) -> Result<(), StoreError> {
        let c = self.checkpoint()?;
        let saved = self.latest.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_some_and(|(l, s)| l.size == c.size && *s);
        let kept = self.store.latest_checkpoint()?.is_some_and(|k| k.size >= c.size);
        if !saved && !kept {
            self.store.save_checkpoint(&c)?;
        }
        if let Some((l, s)) = self.latest.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            if l.size == c.size {
                *s = true;
            }
        }
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
