//! The SQLite store passes the store contract (`dossier_store::testkit`).

use std::sync::Arc;

use dossier_store::testkit::Backend;
use dossier_store::Store;
use dossier_store_sqlite::SqliteStore;

/// A database file in a temporary directory, deleted with it.
struct TempSqlite(tempfile::TempDir);

impl TempSqlite {
    fn new() -> TempSqlite {
        TempSqlite(tempfile::tempdir().unwrap())
    }
}

impl Backend for TempSqlite {
    fn open(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&self.0.path().join("dossier.db")).unwrap())
    }
}

dossier_store::store_contract_tests!(TempSqlite::new());

#[test]
fn run_all_runs_the_same_cases_without_the_macro() {
    dossier_store::testkit::run_all(TempSqlite::new);
}
