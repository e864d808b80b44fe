//! The embedded store: Dossier's evidence log and its indexes in one SQLite database.
//!
//! Layout (see `SCHEMA`): `events` holds each entry's raw bytes and indexed columns under its
//! sequence number, which is its leaf index; `artifact_refs` indexes the artifacts each event
//! names; `event_types` every type stored (so that a type pattern becomes a few exact types,
//! each read newest first straight from its index); `nodes` holds the hash of every complete
//! subtree of the Merkle tree; `checkpoints` the signed tree heads; `conflicts` the refused
//! retransmissions.
//!
//! Durability: WAL journal with `synchronous=FULL`, so a returned [`Store::append`] has been
//! fsync'd. One writer connection appends; reads use a pool of read-only connections, which
//! WAL lets run beside the writer.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dossier_core::{Event, EventKey};
use dossier_store::{
    check_consistency_args, check_inclusion_args, leaf_hash, AppendOutcome, Conflict, EventQuery, Order, Page, Result, Store, StoreError,
    StoredCheckpoint, StoredEvent, LOG_FORMAT,
};
use dossier_tlog::{tree, Frontier, Hash, HashSource};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq      INTEGER PRIMARY KEY,
    source   TEXT NOT NULL,
    id       TEXT NOT NULL,
    type     TEXT NOT NULL,
    subject  TEXT NOT NULL,
    chain    TEXT,
    ts       INTEGER NOT NULL,
    received INTEGER NOT NULL,
    raw      BLOB NOT NULL,
    sender   TEXT,
    UNIQUE (source, id)
);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type);
CREATE TABLE IF NOT EXISTS event_types (
    type TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_subject ON events (subject);
CREATE INDEX IF NOT EXISTS events_by_chain ON events (chain) WHERE chain IS NOT NULL;
CREATE TABLE IF NOT EXISTS artifact_refs (
    purl TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    PRIMARY KEY (purl, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conflicts (
    n            INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    id           TEXT NOT NULL,
    existing_seq INTEGER NOT NULL,
    received     INTEGER NOT NULL,
    raw          BLOB NOT NULL
);
";

const COLUMNS: &str = "e.seq, e.received, e.source, e.id, e.type, e.subject, e.chain, e.ts, e.raw, e.sender";

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

struct Writer {
    conn: Connection,
    frontier: Frontier,
}

/// Read connections kept open between reads (each holds up to 8 MiB of page cache).
const MAX_IDLE_READERS: usize = 8;

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
}

/// Complete-subtree hashes read through one connection.
struct ConnNodes<'a>(&'a Connection);

impl HashSource for ConnNodes<'_> {
    type Error = StoreError;
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        read_node(self.0, level, index)?.ok_or_else(|| StoreError::Corrupt(format!("tree node ({level}, {index}) is missing")))
    }
}

fn read_node(conn: &Connection, level: u8, index: u64) -> Result<Option<Hash>> {
    let mut stmt = conn.prepare_cached("SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2").map_err(backend)?;
    let blob: Option<Vec<u8>> = stmt.query_row(params![level, index as i64], |r| r.get(0)).optional().map_err(backend)?;
    match blob {
        None => Ok(None),
        Some(b) => {
            Hash::try_from(b.as_slice()).map(Some).map_err(|_| StoreError::Corrupt(format!("tree node ({level}, {index}) is not 32 bytes")))
        }
    }
}

fn tree_size(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM nodes WHERE level = 0", [], |r| r.get(0)).map_err(backend)?;
    Ok(n as u64)
}

fn row_to_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        seq: r.get::<_, i64>(0)? as u64,
        received_unix_nanos: r.get(1)?,
        key: EventKey { source: r.get(2)?, id: r.get(3)? },
        event_type: r.get(4)?,
        subject_id: r.get(5)?,
        chain_id: r.get(6)?,
        time_unix_nanos: r.get(7)?,
        // Read text as well as blobs: verification must report a tampered row, not fail on it.
        raw: r.get_ref(8)?.as_bytes()?.to_vec(),
        sender: r.get(9)?,
    })
}

/// Records the log format in a new store; refuses a store written in another one, whose
/// leaves this build would recompute differently (every entry would look modified).
fn check_format(conn: &Connection, size: u64, path: &Path) -> Result<()> {
    let found: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'log_format'", [], |r| r.get(0)).optional().map_err(backend)?;
    let found = match found {
        Some(f) => f,
        None if size == 0 => {
            conn.execute("INSERT INTO meta (key, value) VALUES ('log_format', ?1)", params![LOG_FORMAT.to_string()]).map_err(backend)?;
            return Ok(());
        }
        // Stores written before the format was recorded are format 1 (the leaf covered only the
        // canonical form).
        None => "1".to_owned(),
    };
    // Format 2 is format 3 without senders: the column is added and the format recorded, in
    // one transaction; the existing leaves stay format 2 leaves.
    if found == "2" {
        let has_sender: bool = conn
            .query_row("SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'sender'", [], |r| r.get::<_, i64>(0))
            .map_err(backend)?
            > 0;
        let alter = if has_sender { "" } else { "ALTER TABLE events ADD COLUMN sender TEXT;" };
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {alter} UPDATE meta SET value = '{LOG_FORMAT}' WHERE key = 'log_format'; COMMIT;"))
            .map_err(backend)?;
        return Ok(());
    }
    if found != LOG_FORMAT.to_string() {
        return Err(StoreError::Incompatible(format!(
            "{} holds a log in format {found}; this Dossier reads and writes format {LOG_FORMAT} (docs/log-format.md): \
             verify it with the Dossier that wrote it, or start a new data directory",
            path.display()
        )));
    }
    Ok(())
}

/// How `artifact_refs` names artifacts: as [`dossier_core::artifact_name`] does since form 2.
const ARTIFACT_NAMES: &str = "2";

/// Renames the artifacts of an index written before artifacts were named in canonical form
/// (form 1: as each event spelled them), once, in one transaction: queries name them in
/// canonical form. The events' raw bytes are not touched; the index is derived from them.
fn name_artifacts_canonically(conn: &Connection) -> Result<()> {
    let form = |conn: &Connection| -> Result<Option<String>> {
        conn.query_row("SELECT value FROM meta WHERE key = 'artifact_names'", [], |r| r.get(0)).optional().map_err(backend)
    };
    if form(conn)?.as_deref() == Some(ARTIFACT_NAMES) {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
    let renamed = (|| {
        // Another process may have renamed them while this one waited for the lock.
        if form(conn)?.as_deref() == Some(ARTIFACT_NAMES) {
            return Ok(());
        }
        let spelled: Vec<String> = {
            let mut stmt = conn.prepare("SELECT DISTINCT purl FROM artifact_refs").map_err(backend)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(backend)?;
            rows.collect::<rusqlite::Result<_>>().map_err(backend)?
        };
        let mut copy = conn
            .prepare("INSERT OR IGNORE INTO artifact_refs (purl, seq) SELECT ?2, seq FROM artifact_refs WHERE purl = ?1")
            .map_err(backend)?;
        let mut delete = conn.prepare("DELETE FROM artifact_refs WHERE purl = ?1").map_err(backend)?;
        for old in &spelled {
            let name = dossier_core::artifact_name(old);
            if name != old.as_str() {
                copy.execute(params![old, name.as_ref()]).map_err(backend)?;
                delete.execute(params![old]).map_err(backend)?;
            }
        }
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('artifact_names', ?1)", params![ARTIFACT_NAMES]).map_err(backend)?;
        Ok(())
    })();
    conn.execute_batch(if renamed.is_ok() { "COMMIT" } else { "ROLLBACK" }).map_err(backend)?;
    renamed
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open(path).map_err(|e| StoreError::Backend(format!("opening {}: {e}", path.display())))?;
        // FULL makes each commit fsync the WAL: an acknowledged event survives power loss.
        // 32 MiB of cache keeps the indexes' upper levels in memory at millions of events (the
        // operating system's page cache holds the rest); a larger one costs memory and, at
        // every commit, the time SQLite takes to walk it (`pcache1Truncate`: 11 % of the
        // writer's time with 128 MiB). A larger autocheckpoint makes the WAL-to-database copies
        // rarer and larger.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;
             PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 16384; PRAGMA temp_store = MEMORY;",
        )
        .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        // A database from before `event_types` existed: list its types once.
        conn.execute_batch(
            "INSERT OR IGNORE INTO event_types (type) SELECT DISTINCT type FROM events WHERE NOT EXISTS (SELECT 1 FROM event_types)",
        )
        .map_err(backend)?;
        let size = tree_size(&conn)?;
        check_format(&conn, size, path)?;
        name_artifacts_canonically(&conn)?;
        let frontier = Frontier::load(&ConnNodes(&conn), size)?;
        Ok(SqliteStore { path: path.to_owned(), writer: Mutex::new(Writer { conn, frontier }), readers: Mutex::new(Vec::new()) })
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                    .map_err(backend)?;
                c.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -8192;").map_err(backend)?;
                c
            }
        };
        let out = f(&conn);
        // Kept for the next read, up to a bound: a burst of concurrent readers (the blocking
        // pool can run hundreds) must not leave as many idle connections, each with its page cache.
        let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }

    fn append_in(tx: &rusqlite::Transaction<'_>, frontier: &mut Frontier, events: &[Event], received: i64) -> Result<Vec<AppendOutcome>> {
        let mut find = tx.prepare_cached("SELECT seq FROM events WHERE source = ?1 AND id = ?2").map_err(backend)?;
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO events (seq, source, id, type, subject, chain, ts, received, raw, sender) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (source, id) DO NOTHING",
            )
            .map_err(backend)?;
        let mut insert_ref = tx.prepare_cached("INSERT OR IGNORE INTO artifact_refs (purl, seq) VALUES (?1, ?2)").map_err(backend)?;
        let mut insert_type = tx.prepare_cached("INSERT OR IGNORE INTO event_types (type) VALUES (?1)").map_err(backend)?;
        let mut types_seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut insert_node = tx.prepare_cached("INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)").map_err(backend)?;
        let mut insert_conflict = tx
            .prepare_cached("INSERT INTO conflicts (source, id, existing_seq, received, raw) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(backend)?;
        let mut outcomes = Vec::with_capacity(events.len());
        for e in events {
            let seq = frontier.size();
            // Insert first and look up only on a clash: one index probe for a new event.
            let inserted = insert
                .execute(params![
                    seq as i64,
                    e.key.source,
                    e.key.id,
                    e.event_type.as_str(),
                    e.subject_id,
                    e.chain_id,
                    e.time_unix_nanos,
                    received,
                    e.raw,
                    e.sender
                ])
                .map_err(backend)?;
            if inserted == 0 {
                let existing: i64 = find.query_row(params![e.key.source, e.key.id], |r| r.get(0)).map_err(backend)?;
                let existing = existing as u64;
                if same_event(tx, existing, e)? {
                    outcomes.push(AppendOutcome::Duplicate { seq: existing });
                } else {
                    insert_conflict.execute(params![e.key.source, e.key.id, existing as i64, received, e.raw]).map_err(backend)?;
                    outcomes.push(AppendOutcome::Conflict { seq: existing, conflict: tx.last_insert_rowid() as u64 });
                }
                continue;
            }
            for purl in &e.artifacts {
                insert_ref.execute(params![purl, seq as i64]).map_err(backend)?;
            }
            if types_seen.insert(e.event_type.as_str()) {
                insert_type.execute(params![e.event_type.as_str()]).map_err(backend)?;
            }
            for (level, idx, hash) in frontier.push(leaf_hash(e, received)) {
                insert_node.execute(params![level, idx as i64, &hash[..]]).map_err(backend)?;
            }
            outcomes.push(AppendOutcome::Accepted { seq });
        }
        Ok(outcomes)
    }
}

/// Whether entry `seq` is `e` again: the same canonical form (a retransmission with other
/// whitespace or key order is the same event), read from the stored raw bytes.
fn same_event(tx: &rusqlite::Transaction<'_>, seq: u64, e: &Event) -> Result<bool> {
    let raw: Vec<u8> = tx
        .query_row("SELECT raw FROM events WHERE seq = ?1", params![seq as i64], |r| Ok(r.get_ref(0)?.as_bytes()?.to_vec()))
        .map_err(backend)?;
    if raw == e.raw {
        return Ok(true);
    }
    Ok(serde_json::from_slice::<serde_json::Value>(&raw).is_ok_and(|v| dossier_core::jcs::canonicalize(&v) == e.canonical))
}

/// The events matching `q` (of exactly `event_type`, when given), in `q`'s order, at most
/// `limit`. Without a more selective filter, a query by type reads its type's index in entry
/// order (`type`, then the sequence number), between `after` and `before` when they are given.
fn select(conn: &Connection, q: &EventQuery, event_type: Option<&str>, limit: usize) -> Result<Vec<StoredEvent>> {
    let narrower = q.artifact.is_some() || q.subject.is_some() || q.chain.is_some() || q.source.is_some();
    let index = if event_type.is_some() && !narrower { " INDEXED BY events_by_type" } else { "" };
    let mut sql = format!("SELECT {COLUMNS} FROM events e{index}");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    if let Some(purl) = &q.artifact {
        sql.push_str(" JOIN artifact_refs r ON r.seq = e.seq");
        args.push(dossier_core::artifact_name(purl).into_owned().into());
        conds.push(format!("r.purl = ?{}", args.len()));
    }
    if let Some(t) = event_type {
        args.push(t.to_owned().into());
        conds.push(format!("e.type = ?{}", args.len()));
    }
    for (col, val) in [("e.subject", &q.subject), ("e.source", &q.source), ("e.chain", &q.chain)] {
        if let Some(v) = val {
            args.push(v.clone().into());
            conds.push(format!("{col} = ?{}", args.len()));
        }
    }
    if let Some(t) = q.since {
        args.push(t.into());
        conds.push(format!("e.ts >= ?{}", args.len()));
    }
    if let Some(t) = q.until {
        args.push(t.into());
        conds.push(format!("e.ts < ?{}", args.len()));
    }
    if q.without_records {
        // `own::is_record` on the indexed columns: the families' globs and the gate's source.
        let mut record = Vec::new();
        for family in dossier_core::own::record_families() {
            args.push(family.glob().into());
            record.push(format!("e.type GLOB ?{}", args.len()));
        }
        args.push(dossier_core::own::GATE_SOURCE.to_owned().into());
        record.push(format!("e.source = ?{}", args.len()));
        conds.push(format!("NOT ({})", record.join(" OR ")));
    }
    let (cmp, dir) = match q.order {
        Order::OldestFirst => (">", "ASC"),
        Order::NewestFirst => ("<", "DESC"),
    };
    if let Some(after) = q.after {
        args.push((after as i64).into());
        conds.push(format!("e.seq {cmp} ?{}", args.len()));
    }
    if let Some(before) = q.before {
        args.push((before as i64).into());
        conds.push(format!("e.seq < ?{}", args.len()));
    }
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(&format!(" ORDER BY e.seq {dir} LIMIT {limit}"));
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), row_to_event).map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}

impl Store for SqliteStore {
    fn append(&self, events: &[Event], received: i64) -> Result<Vec<AppendOutcome>> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Writer { conn, frontier } = &mut *w;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        // Another process may have appended since; the tree on disk is the truth.
        let size = tree_size(&tx)?;
        let mut next = if size == frontier.size() { frontier.clone() } else { Frontier::load(&ConnNodes(&tx), size)? };
        let outcomes = Self::append_in(&tx, &mut next, events, received)?;
        tx.commit().map_err(backend)?;
        *frontier = next;
        Ok(outcomes)
    }

    fn size(&self) -> Result<u64> {
        self.with_reader(tree_size)
    }

    fn query(&self, q: &EventQuery) -> Result<Page> {
        let limit = q.limit.max(1);
        self.with_reader(|conn| {
            let events = if q.types.is_empty() {
                select(conn, q, None, limit + 1)?
            } else {
                // The patterns become the exact types stored; each is read in entry order from
                // its own index, and the pages merged: no sort of every event of a type.
                let mut types = std::collections::BTreeSet::new();
                let mut stmt = conn.prepare_cached("SELECT type FROM event_types WHERE type GLOB ?1").map_err(backend)?;
                for t in &q.types {
                    let rows = stmt.query_map(params![t.to_glob()], |r| r.get::<_, String>(0)).map_err(backend)?;
                    for ty in rows {
                        types.insert(ty.map_err(backend)?);
                    }
                }
                let mut all = Vec::new();
                for ty in &types {
                    all.extend(select(conn, q, Some(ty), limit + 1)?);
                }
                q.order.merge(all, limit + 1)
            };
            Ok(Page::of(events, limit))
        })
    }

    fn get(&self, seq: u64) -> Result<Option<StoredEvent>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM events e WHERE e.seq = ?1")).map_err(backend)?;
            stmt.query_row(params![seq as i64], row_to_event).optional().map_err(backend)
        })
    }

    fn get_by_key(&self, key: &EventKey) -> Result<Option<StoredEvent>> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {COLUMNS} FROM events e WHERE e.source = ?1 AND e.id = ?2")).map_err(backend)?;
            stmt.query_row(params![key.source, key.id], row_to_event).optional().map_err(backend)
        })
    }

    fn scan(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM events e WHERE e.seq >= ?1 ORDER BY e.seq LIMIT ?2"))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![from as i64, limit as i64], row_to_event)
                .map_err(backend)?
                .collect::<rusqlite::Result<_>>()
                .map_err(backend);
            rows
        })
    }

    fn leaves(&self, from: u64, limit: usize) -> Result<Vec<Hash>> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT idx, hash FROM nodes WHERE level = 0 AND idx >= ?1 ORDER BY idx LIMIT ?2").map_err(backend)?;
            let mut rows = stmt.query(params![from as i64, limit as i64]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(backend)? {
                let idx: i64 = r.get(0).map_err(backend)?;
                let blob = r.get_ref(1).map_err(backend)?.as_bytes().map_err(|e| backend(e.into()))?;
                let hash = Hash::try_from(blob).map_err(|_| StoreError::Corrupt(format!("leaf {idx} is not 32 bytes")))?;
                if idx as u64 != from + out.len() as u64 {
                    return Err(StoreError::Corrupt(format!("the tree has no leaf {}", from + out.len() as u64)));
                }
                out.push(hash);
            }
            Ok(out)
        })
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>> {
        self.with_reader(|conn| read_node(conn, level, index))
    }

    fn root(&self, size: u64) -> Result<Hash> {
        self.with_reader(|conn| {
            let tree = tree_size(conn)?;
            if size > tree {
                return Err(StoreError::OutOfRange(format!("tree size {size} is larger than the log ({tree} entries)")));
            }
            tree::root(&ConnNodes(conn), size)
        })
    }

    fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>> {
        self.with_reader(|conn| {
            check_inclusion_args(seq, size, tree_size(conn)?)?;
            tree::inclusion_proof(&ConnNodes(conn), seq, size)
        })
    }

    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.with_reader(|conn| {
            check_consistency_args(old, new, tree_size(conn)?)?;
            tree::consistency_proof(&ConnNodes(conn), old, new)
        })
    }

    fn save_checkpoint(&self, c: &StoredCheckpoint) -> Result<()> {
        let w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.conn
            .execute("INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?1, ?2)", params![c.size as i64, c.note])
            .map_err(backend)?;
        Ok(())
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.with_reader(|conn| {
            conn.query_row("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1", [], |r| {
                Ok(StoredCheckpoint { size: r.get::<_, i64>(0)? as u64, note: r.get(1)? })
            })
            .optional()
            .map_err(backend)
        })
    }

    fn checkpoints(&self, below: u64, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT size, note FROM checkpoints WHERE size < ?1 ORDER BY size DESC LIMIT ?2").map_err(backend)?;
            let rows = stmt
                .query_map(params![below.min(i64::MAX as u64) as i64, limit as i64], |r| {
                    Ok(StoredCheckpoint { size: r.get::<_, i64>(0)? as u64, note: r.get(1)? })
                })
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
    }

    fn conflicts(&self, limit: usize) -> Result<Vec<Conflict>> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT n, existing_seq, source, id, received, raw FROM conflicts ORDER BY n DESC LIMIT ?1")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![limit as i64], |r| {
                    Ok(Conflict {
                        conflict: r.get::<_, i64>(0)? as u64,
                        existing_seq: r.get::<_, i64>(1)? as u64,
                        key: EventKey { source: r.get(2)?, id: r.get(3)? },
                        received_unix_nanos: r.get(4)?,
                        raw: r.get(5)?,
                    })
                })
                .map_err(backend)?
                .collect::<rusqlite::Result<_>>()
                .map_err(backend);
            rows
        })
    }
}
