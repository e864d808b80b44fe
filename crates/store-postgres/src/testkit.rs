//! Scratch storage for tests: a schema of its own in the database `DOSSIER_TEST_POSTGRES`
//! names, dropped with everything in it when the [`ScratchSchema`] is dropped.
//!
//! Tests that need PostgreSQL call [`test_database`] first: when the variable is unset they
//! are skipped (it says so on stderr) and pass; when it is set, the database must be
//! reachable, or the test fails — CI sets it and must not skip silently.

use std::sync::atomic::{AtomicU64, Ordering};

use postgres::{Client, NoTls};

/// The variable naming the test database, e.g. `postgresql://postgres@127.0.0.1:5432/test`.
pub const TEST_DATABASE: &str = "DOSSIER_TEST_POSTGRES";

/// The test database's URL, or `None` after saying on stderr that `test` is skipped because
/// [`TEST_DATABASE`] is unset.
pub fn test_database(test: &str) -> Option<String> {
    match std::env::var(TEST_DATABASE) {
        Ok(url) => {
            assert!(!url.trim().is_empty(), "{TEST_DATABASE} is set but empty: name the test database or unset it");
            Some(url)
        }
        Err(std::env::VarError::NotPresent) => {
            eprintln!("skipped {test}: {TEST_DATABASE} is not set (set it to a PostgreSQL URL to run it)");
            None
        }
        Err(e) => panic!("{TEST_DATABASE}: {e}"),
    }
}

/// `url` with the connection's `search_path` set to `schema` (the `options` parameter,
/// percent-encoded), so that a store opened on it keeps its tables there.
pub fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// A new, empty schema, dropped (`CASCADE`) when this is dropped.
pub struct ScratchSchema {
    database: String,
    name: String,
    url: String,
}

impl ScratchSchema {
    /// Creates a schema with a name no other test uses in the database `database` names.
    /// Panics when the database cannot be reached: a test given a database must not pass
    /// without it.
    pub fn create(database: &str) -> ScratchSchema {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let name = format!("dossier_test_{}_{}_{}", std::process::id(), nanos % 1_000_000_000_000, NEXT.fetch_add(1, Ordering::Relaxed));
        let mut client = connect(database);
        client.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap_or_else(|e| panic!("creating schema {name}: {e:?}"));
        ScratchSchema { database: database.to_owned(), url: with_search_path(database, &name), name }
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database's URL with this schema as the search path.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `sql` (several statements) in this schema, as `psql` would: for tests that change
    /// rows behind the store's back.
    pub fn execute(&self, sql: &str) {
        connect(&self.url).batch_execute(sql).unwrap_or_else(|e| panic!("in schema {}: {sql}: {e:?}", self.name));
    }

    /// A client whose search path is this schema.
    pub fn client(&self) -> Client {
        connect(&self.url)
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        // Best effort: a failure here must not hide the test's own outcome.
        if let Ok(mut client) = Client::connect(&self.database, NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

fn connect(url: &str) -> Client {
    // Named without its password.
    let named = url.parse::<crate::Config>().map(|c| crate::describe(&c)).unwrap_or_else(|_| "an unreadable URL".to_owned());
    Client::connect(url, NoTls).unwrap_or_else(|e| panic!("{TEST_DATABASE}: cannot connect to the {named}: {e:?}"))
}
