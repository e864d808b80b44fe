//! The PostgreSQL store passes the store contract (`dossier_store::testkit`), each case in a
//! scratch schema of the database `DOSSIER_TEST_POSTGRES` names (skipped when it is unset).

use std::sync::Arc;

use dossier_store::testkit::Backend;
use dossier_store::Store;
use dossier_store_postgres::testkit::{test_database, ScratchSchema};
use dossier_store_postgres::PostgresStore;

/// A schema of its own, dropped with the backend.
struct Scratch(ScratchSchema);

impl Backend for Scratch {
    fn open(&self) -> Arc<dyn Store> {
        Arc::new(PostgresStore::open(self.0.url()).unwrap())
    }
}

dossier_store::store_contract_tests!({
    let Some(database) = test_database("this contract case") else { return };
    Scratch(ScratchSchema::create(&database))
});

#[test]
fn run_all_runs_the_same_cases_without_the_macro() {
    let Some(database) = test_database("run_all") else { return };
    dossier_store::testkit::run_all(|| Scratch(ScratchSchema::create(&database)));
}
