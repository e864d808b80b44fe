//! The store `open` gives for a location passes the store contract (`dossier_store::testkit`).

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
