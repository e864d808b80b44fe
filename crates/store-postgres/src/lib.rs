//! The server store: Dossier's evidence log and its indexes in PostgreSQL.
//!
//! [`PostgresStore`] implements the whole [`Store`] contract (`dossier_store::testkit`) on a
//! PostgreSQL database, with the layout of the embedded SQLite store: `events` holds each
//! entry's raw bytes (`BYTEA`, byte for byte as received) and indexed columns under its sequence
//! number, which is its leaf index; `artifact_refs` indexes the artifacts each event names (in
//! canonical form); `event_types` every type stored; `nodes` the hash of every complete subtree
//! of the Merkle tree; `checkpoints` the signed tree heads; `conflicts` the refused
//! retransmissions; `meta` the log format (`docs/log-format.md`). Sequence numbers, receipt and
//! event times are `BIGINT`, hashes `BYTEA`. The canonical form is not stored: as in SQLite it
//! is recomputed from the raw bytes when needed.
//!
//! # Where the tables go
//!
//! In the first schema of the connection's `search_path` (`public` unless the server or the
//! role says otherwise). To keep Dossier in a schema of its own, create it and name it with the
//! standard connection parameter `options`, percent-encoded in the URL:
//! `postgresql://dossier@db/dossier?options=-c%20search_path%3Ddossier`. The tables are created
//! by the first migration without `IF NOT EXISTS`, so a schema already holding a foreign
//! `events` table is refused rather than written into.
//!
//! # Migrations and formats
//!
//! Opening applies the versioned migrations ([`SCHEMA_VERSION`]) the database does not have
//! yet, in one transaction, recording each in `dossier_schema`. A database whose schema version
//! is newer than this build knows is refused with [`StoreError::Incompatible`] naming both
//! versions, and so is one whose log format (`meta.log_format`) is not [`LOG_FORMAT`].
//!
//! # One writer across processes, durability
//!
//! Every [`Store::append`] is one transaction. It starts by taking the transaction-scoped
//! advisory lock `pg_advisory_xact_lock(LOCK_CLASS, hashtext(schema))`, and only then reads
//! the tree size: two Dossier processes on one schema append in turn and can never fork the
//! tree, and the lock is released by the commit (or by the rollback when a process dies).
//! The commit is durable when it returns with PostgreSQL's default `synchronous_commit = on`;
//! a connection whose server default is `off` is set back to `on` when it is opened.
//!
//! # Connections
//!
//! A bounded pool: at most `max_connections` clients (8 by default), opened on demand and kept
//! for reuse; a caller finding all of them busy waits for one, up to 30 s. Connections are
//! made **without TLS** (`NoTls`) for now: use a local socket, a private network or a TLS
//! proxy; a URL asking for `sslmode=require` is refused ([`parse_url`]).
//!
//! The `postgres` client is blocking and drives each connection with a Tokio runtime of its
//! own, which cannot start on a thread already running asynchronous tasks: every method runs
//! the client where it may block (`off_runtime`), so callers on a runtime's threads work too.
//!
//! # Known limit
//!
//! PostgreSQL text cannot hold the character U+0000. Reading an event refuses it in every field
//! Dossier indexes (`Event::from_json`, for every store), so the submit path answers the one
//! event `rejected`, naming the field, and no commit shared with other senders' events fails for
//! it. Should one reach this store anyway, the append holding it fails as a whole, before
//! anything is written, with an error naming the event and the field.

use std::cell::RefCell;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use dossier_core::{Event, EventKey};
use dossier_store::{
    check_consistency_args, check_inclusion_args, leaf_hash, AppendOutcome, Conflict, EventQuery, Order, Page, Result, Store, StoreError,
    StoredCheckpoint, StoredEvent, LOG_FORMAT,
};
use dossier_tlog::{tree, Frontier, Hash, HashSource};
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row};

pub use postgres::Config;

#[cfg(feature = "testkit")]
pub mod testkit;

/// The first lock key of the appenders' advisory lock (`"Doss"`); the second is the hash of
/// the schema's name, so that stores in different schemas do not wait for each other.
pub const LOCK_CLASS: i32 = 0x446f_7373;

/// The schema version this build writes: the number of [`MIGRATIONS`].
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// The most connections a store opens unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 8;

/// How long a caller waits for a connection when all are busy.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// How long connecting may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The migrations, in order: migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[(&str, &str)] = &[("the evidence log, its tree, checkpoints, conflicts and indexes", MIGRATION_1)];

const MIGRATION_1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('log_format', '3'), ('artifact_names', '2');
CREATE TABLE events (
    seq      BIGINT PRIMARY KEY,
    source   TEXT NOT NULL,
    id       TEXT NOT NULL,
    type     TEXT NOT NULL,
    subject  TEXT NOT NULL,
    chain    TEXT,
    ts       BIGINT NOT NULL,
    received BIGINT NOT NULL,
    raw      BYTEA NOT NULL,
    sender   TEXT,
    UNIQUE (source, id)
);
CREATE INDEX events_by_type ON events (type, seq);
CREATE INDEX events_by_subject ON events (subject, seq);
CREATE INDEX events_by_chain ON events (chain, seq) WHERE chain IS NOT NULL;
CREATE INDEX events_by_source ON events (source, seq);
CREATE INDEX events_by_time ON events (ts);
CREATE TABLE event_types (
    type TEXT PRIMARY KEY
);
CREATE TABLE artifact_refs (
    purl TEXT NOT NULL,
    seq  BIGINT NOT NULL,
    PRIMARY KEY (purl, seq)
);
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE checkpoints (
    size BIGINT PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TABLE conflicts (
    n            BIGINT PRIMARY KEY,
    source       TEXT NOT NULL,
    id           TEXT NOT NULL,
    existing_seq BIGINT NOT NULL,
    received     BIGINT NOT NULL,
    raw          BYTEA NOT NULL
);
";

const COLUMNS: &str = "e.seq, e.received, e.source, e.id, e.type, e.subject, e.chain, e.ts, e.raw, e.sender";

/// A PostgreSQL failure, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("connecting to the {target}: {}", chain(.source))]
    Connect { target: String, source: postgres::Error },
    #[error("{what}: {}", chain(.source))]
    Query { what: &'static str, source: postgres::Error },
    #[error("all {max} connections to the {target} stayed busy for {} s", POOL_WAIT.as_secs())]
    PoolExhausted { target: String, max: usize },
    #[error(
        "the {target}: no schema of the connection's search_path ({search_path}) exists; create it first \
         (CREATE SCHEMA …) or name another with options=-c search_path=…"
    )]
    NoSchema { target: String, search_path: String },
}

/// An error and its causes, as one line (`postgres::Error` alone says only "db error").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

/// Maps a PostgreSQL error to a store error saying what was being done.
fn failed(what: &'static str) -> impl FnOnce(postgres::Error) -> StoreError {
    move |source| PgError::Query { what, source }.into()
}

/// The database a configuration names, in words and without its password:
/// `PostgreSQL database test on 127.0.0.1:5432 as postgres`.
pub fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            // One port for all hosts, or one each; 5432 when none is given.
            let port = config.get_ports().get(i).or(config.get_ports().first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let mut out = format!("PostgreSQL database {}", config.get_dbname().or(config.get_user()).unwrap_or("(default)"));
    if !hosts.is_empty() {
        out.push_str(&format!(" on {}", hosts.join(",")));
    }
    if let Some(user) = config.get_user() {
        out.push_str(&format!(" as {user}"));
    }
    if let Some(options) = config.get_options() {
        out.push_str(&format!(" (options {options:?})"));
    }
    out
}

/// Why a text is not a PostgreSQL URL this build can connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("{given}: not a PostgreSQL URL: {reason}")]
    Invalid { given: String, reason: String },
    #[error("{given}: sslmode=require, but this build connects without TLS for now; use a local socket, a private network or a TLS proxy")]
    TlsRequired { given: String },
}

/// The connection configuration of a `postgresql://` (or `postgres://`) URL, as libpq reads
/// it; refused when it asks for TLS, which this build does not do yet. Errors show the URL
/// without its password.
pub fn parse_url(url: &str) -> Result<Config, UrlError> {
    let config: Config = url.parse().map_err(|e: postgres::Error| UrlError::Invalid { given: redact(url), reason: chain(&e) })?;
    if config.get_ssl_mode() == postgres::config::SslMode::Require {
        return Err(UrlError::TlsRequired { given: redact(url) });
    }
    Ok(config)
}

/// `url` with its password, if it has one (`user:password@` or `password=`), replaced by
/// `***`: for messages and logs.
pub fn redact(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match head.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, hosts)) => match userinfo.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{hosts}"),
                    None => authority.to_owned(),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => head.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// Runs `f`, which uses the blocking client, where it may block. The client drives its
/// connection with a Tokio runtime of its own, which panics when started on a thread already
/// running asynchronous tasks (a caller that did not move the store call to a blocking thread,
/// or a runtime's `block_on`). Outside any runtime, and on a runtime's blocking threads, `f`
/// runs here; on a multi-threaded runtime's own threads, through `block_in_place`; on a
/// current-thread runtime, on a short-lived thread of its own.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|scope| scope.spawn(f).join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))),
    }
}

/// The bounded pool of connections.
struct Pool {
    config: Config,
    target: String,
    max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Client>,
    /// Connections open, idle or lent.
    open: usize,
}

/// A connection lent by the pool; returned to it when dropped.
struct Conn<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("a lent connection")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("a lent connection")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let mut state = self.pool.lock();
            if client.is_closed() {
                state.open -= 1;
            } else {
                state.idle.push(client);
            }
            self.pool.freed.notify_one();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a client blocks on its runtime too.
        let idle = std::mem::take(&mut self.lock().idle);
        off_runtime(move || drop(idle));
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self) -> Result<Conn<'_>> {
        let deadline = std::time::Instant::now() + POOL_WAIT;
        let mut state = self.lock();
        loop {
            if let Some(client) = state.idle.pop() {
                if client.is_closed() {
                    // The server went away (a restart): make a new one.
                    state.open -= 1;
                    continue;
                }
                return Ok(Conn { pool: self, client: Some(client) });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(client) => Ok(Conn { pool: self, client: Some(client) }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Err(PgError::PoolExhausted { target: self.target.clone(), max: self.max }.into());
            }
            state = self.freed.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    fn connect(&self) -> Result<Client> {
        let connect_error = |source| PgError::Connect { target: self.target.clone(), source };
        let mut client = self.config.connect(NoTls).map_err(connect_error)?;
        // Durable at commit: PostgreSQL's default, restored if the server's default is off.
        let sync: String = client.query_one("SHOW synchronous_commit", &[]).map_err(connect_error)?.get(0);
        if sync == "off" {
            client.batch_execute("SET synchronous_commit = on").map_err(connect_error)?;
        }
        Ok(client)
    }
}

/// Complete-subtree hashes read through one connection or transaction.
struct Nodes<'a, C: GenericClient>(RefCell<&'a mut C>);

impl<C: GenericClient> HashSource for Nodes<'_, C> {
    type Error = StoreError;
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        read_node(&mut **self.0.borrow_mut(), level, index)?
            .ok_or_else(|| StoreError::Corrupt(format!("tree node ({level}, {index}) is missing")))
    }
}

fn read_node(c: &mut impl GenericClient, level: u8, index: u64) -> Result<Option<Hash>> {
    let Ok(idx) = i64::try_from(index) else { return Ok(None) };
    let row = c
        .query_opt("SELECT hash FROM nodes WHERE level = $1 AND idx = $2", &[&i32::from(level), &idx])
        .map_err(failed("reading a tree node"))?;
    match row {
        None => Ok(None),
        Some(r) => {
            let b: &[u8] = r.get(0);
            Hash::try_from(b).map(Some).map_err(|_| StoreError::Corrupt(format!("tree node ({level}, {index}) is not 32 bytes")))
        }
    }
}

fn tree_size(c: &mut impl GenericClient) -> Result<u64> {
    let n: i64 =
        c.query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM nodes WHERE level = 0", &[]).map_err(failed("reading the tree size"))?.get(0);
    Ok(n as u64)
}

fn row_to_event(r: &Row) -> StoredEvent {
    StoredEvent {
        seq: r.get::<_, i64>(0) as u64,
        received_unix_nanos: r.get(1),
        key: EventKey { source: r.get(2), id: r.get(3) },
        event_type: r.get(4),
        subject_id: r.get(5),
        chain_id: r.get(6),
        time_unix_nanos: r.get(7),
        raw: r.get(8),
        sender: r.get(9),
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn limit_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub struct PostgresStore {
    pool: Pool,
    /// The schema the tables are in, and the second key of the appenders' advisory lock.
    schema: String,
    lock_key: i32,
    /// The tree as this process last appended to it (reloaded when another process appended).
    frontier: Mutex<Frontier>,
}

impl PostgresStore {
    /// Opens the store in the database `url` names (`postgresql://user@host:port/db?…`),
    /// applying the migrations it lacks, with at most [`DEFAULT_MAX_CONNECTIONS`] connections.
    pub fn open(url: &str) -> Result<PostgresStore> {
        let config = parse_url(url).map_err(|e| StoreError::Backend(e.to_string()))?;
        PostgresStore::open_config(config, DEFAULT_MAX_CONNECTIONS)
    }

    /// Opens the store in the database `config` names, with at most `max_connections`
    /// connections (at least 1).
    pub fn open_config(config: Config, max_connections: usize) -> Result<PostgresStore> {
        off_runtime(|| PostgresStore::open_now(config, max_connections))
    }

    fn open_now(mut config: Config, max_connections: usize) -> Result<PostgresStore> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("dossier");
        }
        let target = describe(&config);
        let pool = Pool {
            config,
            target,
            max: max_connections.max(1),
            state: Mutex::new(PoolState { idle: Vec::new(), open: 0 }),
            freed: Condvar::new(),
        };
        let (schema, lock_key, frontier) = {
            let mut conn = pool.get()?;
            let row = conn
                .query_one("SELECT current_schema(), hashtext(current_schema()), current_setting('search_path')", &[])
                .map_err(failed("reading the connection's schema"))?;
            let (schema, lock_key): (Option<String>, Option<i32>) = (row.get(0), row.get(1));
            let (Some(schema), Some(lock_key)) = (schema, lock_key) else {
                return Err(PgError::NoSchema { target: pool.target.clone(), search_path: row.get(2) }.into());
            };
            migrate(&mut conn, &pool.target, &schema, lock_key)?;
            let size = tree_size(&mut *conn)?;
            let frontier = Frontier::load(&Nodes(RefCell::new(&mut *conn)), size)?;
            (schema, lock_key, frontier)
        };
        Ok(PostgresStore { pool, schema, lock_key, frontier: Mutex::new(frontier) })
    }

    /// The schema holding the store's tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }
}

/// Whether the database `config` names holds a Dossier store in the connection's schema (its
/// `dossier_schema` table), without creating anything.
pub fn exists(config: &Config) -> Result<bool> {
    off_runtime(|| exists_now(config))
}

fn exists_now(config: &Config) -> Result<bool> {
    let mut config = config.clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let mut client = config.connect(NoTls).map_err(|source| PgError::Connect { target: describe(&config), source })?;
    let found: bool = client
        .query_one("SELECT to_regclass(format('%I.dossier_schema', current_schema())) IS NOT NULL", &[])
        .map_err(failed("looking for a Dossier store"))?
        .get(0);
    Ok(found)
}

/// Brings the schema to [`SCHEMA_VERSION`] and checks the log format, under the appenders'
/// lock so that processes opening at once migrate once.
fn migrate(client: &mut Client, target: &str, schema: &str, lock_key: i32) -> Result<()> {
    let mut tx = client.transaction().map_err(failed("starting the migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_CLASS, &lock_key]).map_err(failed("taking the store's lock"))?;
    // Created only when missing: a role without CREATE on the schema can open a store that
    // is already at this version.
    let versioned: bool = tx
        .query_one("SELECT to_regclass(format('%I.dossier_schema', current_schema())) IS NOT NULL", &[])
        .map_err(failed("looking for the schema version table"))?
        .get(0);
    if !versioned {
        tx.batch_execute(
            "CREATE TABLE dossier_schema (
                 version            INTEGER PRIMARY KEY,
                 applied_unix_nanos BIGINT NOT NULL,
                 description        TEXT NOT NULL
             )",
        )
        .map_err(failed("creating the schema version table"))?;
    }
    let found: i32 =
        tx.query_one("SELECT COALESCE(MAX(version), 0) FROM dossier_schema", &[]).map_err(failed("reading the schema version"))?.get(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::Incompatible(format!(
            "the {target} (schema {schema}) holds a Dossier store at schema version {found}; this Dossier knows versions up to \
             {SCHEMA_VERSION}: run a Dossier as new as the one that migrated it"
        )));
    }
    for (i, (description, sql)) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let version = i as i32 + 1;
        tx.batch_execute(sql).map_err(|source| PgError::Query { what: "applying a schema migration", source })?;
        tx.execute(
            "INSERT INTO dossier_schema (version, applied_unix_nanos, description) VALUES ($1, $2, $3)",
            &[&version, &dossier_store::now_unix_nanos(), description],
        )
        .map_err(failed("recording a schema migration"))?;
    }
    let format: Option<String> =
        tx.query_opt("SELECT value FROM meta WHERE key = 'log_format'", &[]).map_err(failed("reading the log format"))?.map(|r| r.get(0));
    // As in SQLite: a store that does not record its format is format 1.
    let format = format.unwrap_or_else(|| "1".to_owned());
    if format != LOG_FORMAT.to_string() {
        return Err(StoreError::Incompatible(format!(
            "the {target} (schema {schema}) holds a log in format {format}; this Dossier reads and writes format {LOG_FORMAT} \
             (docs/log-format.md): verify it with the Dossier that wrote it, or use another database or schema"
        )));
    }
    tx.commit().map_err(failed("committing the migration"))
}

/// Why `e` cannot be stored in PostgreSQL text columns, if it cannot: a field holding U+0000.
fn unstorable(e: &Event) -> Option<StoreError> {
    let fields = [
        ("source", Some(e.key.source.as_str())),
        ("id", Some(e.key.id.as_str())),
        ("type", Some(e.event_type.as_str())),
        ("subject", Some(e.subject_id.as_str())),
        ("chain", e.chain_id.as_deref()),
        ("sender", e.sender.as_deref()),
    ];
    let artifacts = e.artifacts.iter().map(|a| ("artifact", Some(a.as_str())));
    let (field, _) = fields.into_iter().chain(artifacts).find(|(_, v)| v.is_some_and(|v| v.contains('\0')))?;
    Some(StoreError::Backend(format!(
        "event {:?} from {:?}: its {field} holds the character U+0000, which PostgreSQL text cannot store",
        e.key.id, e.key.source
    )))
}

/// Whether entry `seq`, stored as `raw`, is `e` again: the same canonical form (a
/// retransmission with other whitespace or key order is the same event).
fn same_event(raw: &[u8], e: &Event) -> bool {
    raw == e.raw.as_slice()
        || serde_json::from_slice::<serde_json::Value>(raw).is_ok_and(|v| dossier_core::jcs::canonicalize(&v) == e.canonical)
}

/// Appends `events` in a few statements whatever their number: one reads the entries already
/// holding their keys, one writes the new entries with their tree nodes and index rows, and
/// one the conflicts if there are any. Outcomes are decided in the batch's order, as if each
/// event were appended alone (an event repeated inside the batch is a duplicate of, or a
/// conflict with, the entry its first appearance became).
fn append_in(tx: &mut postgres::Transaction<'_>, frontier: &mut Frontier, events: &[Event], received: i64) -> Result<Vec<AppendOutcome>> {
    use std::collections::HashMap;
    let (sources, ids): (Vec<&str>, Vec<&str>) = events.iter().map(|e| (e.key.source.as_str(), e.key.id.as_str())).unzip();
    let rows = tx
        .query(
            // One probe of the (source, id) index per key, however large the log.
            "SELECT e.source, e.id, e.seq, e.raw FROM unnest($1::text[], $2::text[]) AS k (source, id)
             CROSS JOIN LATERAL (SELECT * FROM events WHERE source = k.source AND id = k.id) AS e",
            &[&sources, &ids],
        )
        .map_err(failed("reading the entries the events repeat"))?;
    // Each key's entry: its number and raw bytes, from the log or from earlier in the batch.
    let mut entries: HashMap<(String, String), (u64, Vec<u8>)> = HashMap::with_capacity(rows.len());
    for r in &rows {
        entries.insert((r.get(0), r.get(1)), (r.get::<_, i64>(2) as u64, r.get(3)));
    }
    let mut new = NewEntries::default();
    let mut conflicts: Vec<(&Event, i64)> = Vec::new();
    let mut outcomes = Vec::with_capacity(events.len());
    for e in events {
        let key = (e.key.source.clone(), e.key.id.clone());
        if let Some((existing, raw)) = entries.get(&key) {
            if same_event(raw, e) {
                outcomes.push(AppendOutcome::Duplicate { seq: *existing });
            } else {
                conflicts.push((e, to_i64(*existing)));
                outcomes.push(AppendOutcome::Conflict { seq: *existing, conflict: 0 });
            }
            continue;
        }
        let seq = frontier.size();
        new.push(e, seq, frontier.push(leaf_hash(e, received)));
        entries.insert(key, (seq, e.raw.clone()));
        outcomes.push(AppendOutcome::Accepted { seq });
    }
    if !new.seqs.is_empty() {
        new.write(tx, received)?;
    }
    if !conflicts.is_empty() {
        // Numbered from 1 without gaps: appends hold the lock, so MAX is stable.
        let last: i64 = tx.query_one("SELECT COALESCE(MAX(n), 0) FROM conflicts", &[]).map_err(failed("numbering conflicts"))?.get(0);
        let numbers: Vec<i64> = (last + 1..).take(conflicts.len()).collect();
        let (sources, ids): (Vec<&str>, Vec<&str>) = conflicts.iter().map(|(e, _)| (e.key.source.as_str(), e.key.id.as_str())).unzip();
        let existing: Vec<i64> = conflicts.iter().map(|(_, seq)| *seq).collect();
        let raws: Vec<&[u8]> = conflicts.iter().map(|(e, _)| e.raw.as_slice()).collect();
        tx.execute(
            "INSERT INTO conflicts (n, source, id, existing_seq, received, raw)
             SELECT n, source, id, existing_seq, $5, raw FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $6::bytea[])
                 AS c (n, source, id, existing_seq, raw)",
            &[&numbers, &sources, &ids, &existing, &received, &raws],
        )
        .map_err(failed("recording conflicts"))?;
        let mut numbers = numbers.into_iter();
        for o in &mut outcomes {
            if let AppendOutcome::Conflict { conflict, .. } = o {
                *conflict = numbers.next().expect("a number for each conflict") as u64;
            }
        }
    }
    Ok(outcomes)
}

/// The rows a batch adds to the log, column by column.
#[derive(Default)]
struct NewEntries<'a> {
    seqs: Vec<i64>,
    sources: Vec<&'a str>,
    ids: Vec<&'a str>,
    types: Vec<&'a str>,
    subjects: Vec<&'a str>,
    chains: Vec<Option<&'a str>>,
    times: Vec<i64>,
    raws: Vec<&'a [u8]>,
    senders: Vec<Option<&'a str>>,
    levels: Vec<i32>,
    idxs: Vec<i64>,
    hashes: Vec<Vec<u8>>,
    purls: Vec<&'a str>,
    ref_seqs: Vec<i64>,
    distinct_types: Vec<&'a str>,
}

impl<'a> NewEntries<'a> {
    fn push(&mut self, e: &'a Event, seq: u64, nodes: Vec<(u8, u64, Hash)>) {
        let seq = to_i64(seq);
        self.seqs.push(seq);
        self.sources.push(&e.key.source);
        self.ids.push(&e.key.id);
        self.types.push(e.event_type.as_str());
        self.subjects.push(&e.subject_id);
        self.chains.push(e.chain_id.as_deref());
        self.times.push(e.time_unix_nanos);
        self.raws.push(&e.raw);
        self.senders.push(e.sender.as_deref());
        for (level, idx, hash) in nodes {
            self.levels.push(i32::from(level));
            self.idxs.push(to_i64(idx));
            self.hashes.push(hash.to_vec());
        }
        for purl in &e.artifacts {
            self.purls.push(purl);
            self.ref_seqs.push(seq);
        }
        if !self.distinct_types.contains(&e.event_type.as_str()) {
            self.distinct_types.push(e.event_type.as_str());
        }
    }

    /// One statement: the entries, their tree nodes, their artifacts and any new type.
    fn write(&self, tx: &mut postgres::Transaction<'_>, received: i64) -> Result<()> {
        tx.execute(
            "WITH entries AS (
                 INSERT INTO events (seq, source, id, type, subject, chain, ts, received, raw, sender)
                 SELECT seq, source, id, type, subject, chain, ts, $10, raw, sender
                 FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::bytea[], $9::text[])
                     AS e (seq, source, id, type, subject, chain, ts, raw, sender)
             ), tree AS (
                 INSERT INTO nodes (level, idx, hash) SELECT * FROM unnest($11::int4[], $12::int8[], $13::bytea[])
             ), refs AS (
                 INSERT INTO artifact_refs (purl, seq) SELECT * FROM unnest($14::text[], $15::int8[]) ON CONFLICT DO NOTHING
             )
             INSERT INTO event_types (type) SELECT unnest($16::text[]) ON CONFLICT DO NOTHING",
            &[
                &self.seqs,
                &self.sources,
                &self.ids,
                &self.types,
                &self.subjects,
                &self.chains,
                &self.times,
                &self.raws,
                &self.senders,
                &received,
                &self.levels,
                &self.idxs,
                &self.hashes,
                &self.purls,
                &self.ref_seqs,
                &self.distinct_types,
            ],
        )
        .map_err(failed("appending events"))?;
        Ok(())
    }
}

/// The events matching `q` (of exactly `event_type`, when given), in `q`'s order, at most
/// `limit`.
fn select(c: &mut Client, q: &EventQuery, event_type: Option<&str>, limit: usize) -> Result<Vec<StoredEvent>> {
    let mut sql = format!("SELECT {COLUMNS} FROM events e");
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    if let Some(purl) = &q.artifact {
        sql.push_str(" JOIN artifact_refs r ON r.seq = e.seq");
        args.push(Box::new(dossier_core::artifact_name(purl).into_owned()));
        conds.push(format!("r.purl = ${}", args.len()));
    }
    if let Some(t) = event_type {
        args.push(Box::new(t.to_owned()));
        conds.push(format!("e.type = ${}", args.len()));
    }
    for (col, val) in [("e.subject", &q.subject), ("e.source", &q.source), ("e.chain", &q.chain)] {
        if let Some(v) = val {
            args.push(Box::new(v.clone()));
            conds.push(format!("{col} = ${}", args.len()));
        }
    }
    if let Some(t) = q.since {
        args.push(Box::new(t));
        conds.push(format!("e.ts >= ${}", args.len()));
    }
    if let Some(t) = q.until {
        args.push(Box::new(t));
        conds.push(format!("e.ts < ${}", args.len()));
    }
    if q.without_records {
        // `own::is_record` on the indexed columns: the families' prefixes (compared exactly by
        // `starts_with`, where LIKE would read a `_` as a pattern) and the gate's source.
        let mut record = Vec::new();
        for family in dossier_core::own::record_families() {
            args.push(Box::new(family.prefix().to_owned()));
            record.push(format!("starts_with(e.type, ${})", args.len()));
        }
        args.push(Box::new(dossier_core::own::GATE_SOURCE.to_owned()));
        record.push(format!("e.source = ${}", args.len()));
        conds.push(format!("NOT ({})", record.join(" OR ")));
    }
    let (cmp, dir) = match q.order {
        Order::OldestFirst => (">", "ASC"),
        Order::NewestFirst => ("<", "DESC"),
    };
    if let Some(after) = q.after {
        args.push(Box::new(to_i64(after)));
        conds.push(format!("e.seq {cmp} ${}", args.len()));
    }
    if let Some(before) = q.before {
        args.push(Box::new(to_i64(before)));
        conds.push(format!("e.seq < ${}", args.len()));
    }
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    args.push(Box::new(limit_i64(limit)));
    sql.push_str(&format!(" ORDER BY e.seq {dir} LIMIT ${}", args.len()));
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
    let rows = c.query(&sql, &params).map_err(failed("querying events"))?;
    Ok(rows.iter().map(row_to_event).collect())
}

fn checkpoint(r: &Row) -> StoredCheckpoint {
    StoredCheckpoint { size: r.get::<_, i64>(0) as u64, note: r.get(1) }
}

impl Store for PostgresStore {
    fn append(&self, events: &[Event], received: i64) -> Result<Vec<AppendOutcome>> {
        off_runtime(|| {
            if events.is_empty() {
                return Ok(Vec::new());
            }
            if let Some(refused) = events.iter().find_map(unstorable) {
                return Err(refused);
            }
            let mut cached = self.frontier.lock().unwrap_or_else(|p| p.into_inner());
            let mut conn = self.pool.get()?;
            let mut tx = conn.transaction().map_err(failed("starting an append"))?;
            // One appender at a time across processes; the size is read only once it is held.
            tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_CLASS, &self.lock_key])
                .map_err(failed("taking the store's lock"))?;
            let size = tree_size(&mut tx)?;
            let mut next = if size == cached.size() { cached.clone() } else { Frontier::load(&Nodes(RefCell::new(&mut tx)), size)? };
            let outcomes = append_in(&mut tx, &mut next, events, received)?;
            tx.commit().map_err(failed("committing an append"))?;
            *cached = next;
            Ok(outcomes)
        })
    }

    fn size(&self) -> Result<u64> {
        off_runtime(|| self.with_conn(tree_size))
    }

    fn query(&self, q: &EventQuery) -> Result<Page> {
        off_runtime(|| {
            let limit = q.limit.max(1);
            self.with_conn(|c| {
                let events = if q.types.is_empty() {
                    select(c, q, None, limit + 1)?
                } else {
                    // The patterns become the exact types stored, matched as `EventQuery::matches`
                    // matches them; each is read in entry order from its index and the pages merged.
                    let stored = c.query("SELECT type FROM event_types", &[]).map_err(failed("listing the event types"))?;
                    let mut types = std::collections::BTreeSet::new();
                    for r in &stored {
                        let ty: String = r.get(0);
                        if q.types.iter().any(|p| p.matches(&ty)) {
                            types.insert(ty);
                        }
                    }
                    let mut all = Vec::new();
                    for ty in &types {
                        all.extend(select(c, q, Some(ty), limit + 1)?);
                    }
                    q.order.merge(all, limit + 1)
                };
                Ok(Page::of(events, limit))
            })
        })
    }

    fn get(&self, seq: u64) -> Result<Option<StoredEvent>> {
        off_runtime(|| {
            let Ok(seq) = i64::try_from(seq) else { return Ok(None) };
            self.with_conn(|c| {
                let row = c
                    .query_opt(&format!("SELECT {COLUMNS} FROM events e WHERE e.seq = $1"), &[&seq])
                    .map_err(failed("reading an entry"))?;
                Ok(row.as_ref().map(row_to_event))
            })
        })
    }

    fn get_by_key(&self, key: &EventKey) -> Result<Option<StoredEvent>> {
        off_runtime(|| {
            self.with_conn(|c| {
                let row = c
                    .query_opt(&format!("SELECT {COLUMNS} FROM events e WHERE e.source = $1 AND e.id = $2"), &[&key.source, &key.id])
                    .map_err(failed("reading an entry by key"))?;
                Ok(row.as_ref().map(row_to_event))
            })
        })
    }

    fn scan(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        off_runtime(|| {
            self.with_conn(|c| {
                let rows = c
                    .query(
                        &format!("SELECT {COLUMNS} FROM events e WHERE e.seq >= $1 ORDER BY e.seq LIMIT $2"),
                        &[&to_i64(from), &limit_i64(limit)],
                    )
                    .map_err(failed("scanning entries"))?;
                Ok(rows.iter().map(row_to_event).collect())
            })
        })
    }

    fn leaves(&self, from: u64, limit: usize) -> Result<Vec<Hash>> {
        off_runtime(|| {
            self.with_conn(|c| {
                let rows = c
                    .query(
                        "SELECT idx, hash FROM nodes WHERE level = 0 AND idx >= $1 ORDER BY idx LIMIT $2",
                        &[&to_i64(from), &limit_i64(limit)],
                    )
                    .map_err(failed("reading leaves"))?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let idx: i64 = r.get(0);
                    let hash =
                        Hash::try_from(r.get::<_, &[u8]>(1)).map_err(|_| StoreError::Corrupt(format!("leaf {idx} is not 32 bytes")))?;
                    if idx as u64 != from + out.len() as u64 {
                        return Err(StoreError::Corrupt(format!("the tree has no leaf {}", from + out.len() as u64)));
                    }
                    out.push(hash);
                }
                Ok(out)
            })
        })
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>> {
        off_runtime(|| self.with_conn(|c| read_node(c, level, index)))
    }

    fn root(&self, size: u64) -> Result<Hash> {
        off_runtime(|| {
            self.with_conn(|c| {
                let tree = tree_size(c)?;
                if size > tree {
                    return Err(StoreError::OutOfRange(format!("tree size {size} is larger than the log ({tree} entries)")));
                }
                tree::root(&Nodes(RefCell::new(c)), size)
            })
        })
    }

    fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>> {
        off_runtime(|| {
            self.with_conn(|c| {
                check_inclusion_args(seq, size, tree_size(c)?)?;
                tree::inclusion_proof(&Nodes(RefCell::new(c)), seq, size)
            })
        })
    }

    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        off_runtime(|| {
            self.with_conn(|c| {
                check_consistency_args(old, new, tree_size(c)?)?;
                tree::consistency_proof(&Nodes(RefCell::new(c)), old, new)
            })
        })
    }

    fn save_checkpoint(&self, cp: &StoredCheckpoint) -> Result<()> {
        off_runtime(|| {
            self.with_conn(|c| {
                c.execute(
                    "INSERT INTO checkpoints (size, note) VALUES ($1, $2) ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note",
                    &[&to_i64(cp.size), &cp.note],
                )
                .map_err(failed("saving a checkpoint"))?;
                Ok(())
            })
        })
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        off_runtime(|| {
            self.with_conn(|c| {
                let row = c
                    .query_opt("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1", &[])
                    .map_err(failed("reading the latest checkpoint"))?;
                Ok(row.as_ref().map(checkpoint))
            })
        })
    }

    fn checkpoints(&self, below: u64, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        off_runtime(|| {
            self.with_conn(|c| {
                let rows = c
                    .query(
                        "SELECT size, note FROM checkpoints WHERE size < $1 ORDER BY size DESC LIMIT $2",
                        &[&to_i64(below), &limit_i64(limit)],
                    )
                    .map_err(failed("listing checkpoints"))?;
                Ok(rows.iter().map(checkpoint).collect())
            })
        })
    }

    fn conflicts(&self, limit: usize) -> Result<Vec<Conflict>> {
        off_runtime(|| {
            self.with_conn(|c| {
                let rows = c
                    .query(
                        "SELECT n, existing_seq, source, id, received, raw FROM conflicts ORDER BY n DESC LIMIT $1",
                        &[&limit_i64(limit)],
                    )
                    .map_err(failed("listing conflicts"))?;
                Ok(rows
                    .iter()
                    .map(|r| Conflict {
                        conflict: r.get::<_, i64>(0) as u64,
                        existing_seq: r.get::<_, i64>(1) as u64,
                        key: EventKey { source: r.get(2), id: r.get(3) },
                        received_unix_nanos: r.get(4),
                        raw: r.get(5),
                    })
                    .collect())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgresql://dossier:s3cret@db.example.com:5432/dossier"),
            "postgresql://dossier:***@db.example.com:5432/dossier"
        );
        assert_eq!(
            redact("postgres://u:p@a,b/d?password=x&options=-c%20search_path%3Ds"),
            "postgres://u:***@a,b/d?password=***&options=-c%20search_path%3Ds"
        );
        assert_eq!(redact("postgresql://dossier@db/dossier"), "postgresql://dossier@db/dossier");
        assert_eq!(redact("postgresql://db"), "postgresql://db");
        assert_eq!(redact("postgresql://"), "postgresql://");
    }

    #[test]
    fn urls_are_read_as_libpq_reads_them_and_described_without_password() {
        let config = parse_url("postgresql://dossier:s3cret@db.example.com:6543/evidence?options=-c%20search_path%3Ddossier").unwrap();
        assert_eq!(config.get_options(), Some("-c search_path=dossier"));
        assert_eq!(
            describe(&config),
            "PostgreSQL database evidence on db.example.com:6543 as dossier (options \"-c search_path=dossier\")"
        );
        assert_eq!(describe(&parse_url("postgres://localhost/d").unwrap()), "PostgreSQL database d on localhost:5432");
        assert_eq!(
            parse_url("postgresql://u:pw@h/d?sslmode=require").unwrap_err().to_string(),
            "postgresql://u:***@h/d?sslmode=require: sslmode=require, but this build connects without TLS for now; \
             use a local socket, a private network or a TLS proxy"
        );
        let err = parse_url("postgresql://u:pw@h/d?nonsense=1").unwrap_err().to_string();
        assert!(err.starts_with("postgresql://u:***@h/d?nonsense=1: not a PostgreSQL URL: invalid connection string"), "{err}");
        assert!(!err.contains("pw"), "{err}");
    }
}
