//! The store `open` gives for a location passes the store contract (`dossier_store::testkit`):
//! the default SQLite location, and a PostgreSQL location (a scratch schema of the database
//! `DOSSIER_TEST_POSTGRES` names; skipped when it is unset).

use std::sync::Arc;

use dossier_store::testkit::Backend;
use dossier_store::Store;
use dossier_stores::Location;

/// The default location, the embedded store in a temporary data directory.
struct TempDataDir(tempfile::TempDir);

impl Backend for TempDataDir {
    fn open(&self) -> Arc<dyn Store> {
        dossier_stores::open(&Location::in_data_dir(self.0.path())).unwrap()
    }
}

dossier_store::store_contract_tests!(TempDataDir(tempfile::tempdir().unwrap()));

/// A `postgresql://` location whose search path is a scratch schema, dropped with it.
struct ScratchPostgres(dossier_store_postgres::testkit::ScratchSchema);

impl Backend for ScratchPostgres {
    fn open(&self) -> Arc<dyn Store> {
        dossier_stores::open(&self.0.url().parse::<Location>().unwrap()).unwrap()
    }
}

mod postgres {
    use super::*;

    dossier_store::store_contract_tests!({
        let Some(database) = dossier_store_postgres::testkit::test_database("this contract case on PostgreSQL") else { return };
        ScratchPostgres(dossier_store_postgres::testkit::ScratchSchema::create(&database))
    });
}
