//! Which backend keeps the evidence log is configuration: a [`Location`] names the store,
//! and [`open`] turns it into the `Arc<dyn Store>` the rest of Dossier works with. Nothing
//! above this crate names a backend.
//!
//! Locations, as written in configuration:
//! - `sqlite:///absolute/path/dossier.db` or `sqlite:relative/path/dossier.db`: the embedded
//!   store, one SQLite database file (a relative path is relative to the working directory).
//!   The path is taken as written: no percent-decoding, no parameters.
//! - `postgresql://user@host:port/database?…` (or `postgres://…`): the server store in that
//!   PostgreSQL database (`dossier-store-postgres`), a URL as libpq reads it. Its tables go
//!   into the first schema of the connection's search path (`public` by default); name a
//!   schema of Dossier's own with `options=-c%20search_path%3Ddossier`. Connections are made
//!   without TLS for now (`sslmode=require` is refused). A password in the URL is never
//!   shown: [`Location::describe`] and `Display` leave it out.
//!
//! The default is the embedded store in the data directory, [`Location::in_data_dir`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use dossier_store::{Store, StoreError};
use dossier_store_postgres::PostgresStore;
use dossier_store_sqlite::SqliteStore;

/// The database file of the embedded store in a data directory.
const DB_FILE: &str = "dossier.db";

/// Where the evidence log is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The embedded store: this SQLite database file.
    Sqlite(PathBuf),
    /// The server store: the PostgreSQL database this URL names.
    Postgres(PostgresUrl),
}

/// A `postgresql://` URL, checked when parsed. Shown without its password: by `Debug` and
/// `Display` too, so that no message or log line carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL as written, password included: for connecting, not for showing.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn config(&self) -> Result<dossier_store_postgres::Config, dossier_store_postgres::UrlError> {
        dossier_store_postgres::parse_url(&self.0)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({:?})", dossier_store_postgres::redact(&self.0))
    }
}

/// Why a text is not a store location. Each message ends with the forms accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("{given:?} is not a store location (it has no scheme); accepted: {ACCEPTED}")]
    NoScheme { given: String },
    #[error("unknown store scheme {scheme:?} in {given:?}; accepted: {ACCEPTED}")]
    UnknownScheme { scheme: String, given: String },
    #[error(
        "{given:?} names a host, but a SQLite location is a file: write sqlite:///{rest} for an absolute path or sqlite:{rest} for a relative one"
    )]
    SqliteHost { given: String, rest: String },
    #[error("{given:?} names no database file; accepted: {ACCEPTED}")]
    SqliteNoFile { given: String },
    #[error("{given:?}: a SQLite location takes no parameters; accepted: {ACCEPTED}")]
    SqliteParameters { given: String },
    #[error(transparent)]
    Postgres(#[from] dossier_store_postgres::UrlError),
}

/// The forms of location this build accepts, as error messages list them.
pub const ACCEPTED: &str = "sqlite:///absolute/path/dossier.db, sqlite:relative/path/dossier.db or postgresql://user@host:port/database";

/// Why a store could not be opened, naming the location.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the directory {} for the {}: {source}", dir.display(), location.describe())]
    CreateDir { location: Location, dir: PathBuf, source: std::io::Error },
    #[error("cannot open the {}: {source}", location.describe())]
    Store { location: Location, source: StoreError },
}

impl Location {
    /// The embedded default: the SQLite database `dossier.db` in data directory `dir`.
    pub fn in_data_dir(dir: &Path) -> Location {
        Location::Sqlite(dir.join(DB_FILE))
    }

    /// Whether a store is there already (as opposed to one [`open`] would create). For
    /// PostgreSQL this connects and looks for Dossier's tables in the connection's schema,
    /// creating nothing; a database that cannot be reached is an error, not "no store".
    pub fn exists(&self) -> Result<bool, OpenError> {
        match self {
            Location::Sqlite(path) => Ok(path.is_file()),
            Location::Postgres(url) => {
                let store_error = |source| OpenError::Store { location: self.clone(), source };
                let config = url.config().map_err(|e| store_error(StoreError::Backend(e.to_string())))?;
                dossier_store_postgres::exists(&config).map_err(store_error)
            }
        }
    }

    /// The store in words, for logs and messages, never with a password:
    /// `SQLite database /var/lib/dossier/dossier.db`,
    /// `PostgreSQL database dossier on db.example.com:5432 as dossier`.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => format!("SQLite database {}", path.display()),
            Location::Postgres(url) => match url.config() {
                Ok(config) => dossier_store_postgres::describe(&config),
                Err(_) => format!("PostgreSQL database {}", dossier_store_postgres::redact(url.as_str())),
            },
        }
    }
}

/// The location as written in configuration; it parses back to the same location, except
/// that a PostgreSQL URL's password is shown as `***`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) if path.has_root() => write!(f, "sqlite://{}", path.display()),
            Location::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Location::Postgres(url) => f.write_str(&dossier_store_postgres::redact(url.as_str())),
        }
    }
}

impl FromStr for Location {
    type Err = LocationError;

    fn from_str(given: &str) -> Result<Location, LocationError> {
        let Some((scheme, rest)) = given.split_once(':').filter(|(scheme, _)| is_scheme(scheme)) else {
            return Err(LocationError::NoScheme { given: given.into() });
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => sqlite_path(given, rest).map(Location::Sqlite),
            "postgres" | "postgresql" => {
                // The scheme in lower case, as the PostgreSQL client reads it.
                let url = format!("{}:{rest}", scheme.to_ascii_lowercase());
                dossier_store_postgres::parse_url(&url)?;
                Ok(Location::Postgres(PostgresUrl(url)))
            }
            _ => Err(LocationError::UnknownScheme { scheme: scheme.into(), given: given.into() }),
        }
    }
}

/// A store location as given, fit to show in messages and logs: a PostgreSQL URL's password is
/// replaced by `***`; any other text is shown as it is.
pub fn redacted(given: &str) -> String {
    match given.split_once(':') {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql") => {
            dossier_store_postgres::redact(given)
        }
        _ => given.to_owned(),
    }
}

/// RFC 3986: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// The file of `sqlite:PATH` or `sqlite:///ABSOLUTE-PATH`; `rest` is what follows `sqlite:`.
fn sqlite_path(given: &str, rest: &str) -> Result<PathBuf, LocationError> {
    let path = match rest.strip_prefix("//") {
        // `sqlite:///abs`: an empty authority, then the absolute path.
        Some(after) if after.starts_with('/') => after,
        Some("") => "",
        Some(after) => return Err(LocationError::SqliteHost { given: given.into(), rest: after.into() }),
        None => rest,
    };
    if path.contains('?') {
        return Err(LocationError::SqliteParameters { given: given.into() });
    }
    let path = PathBuf::from(path);
    if path.as_os_str().is_empty() || rest.ends_with('/') || path.file_name().is_none() {
        return Err(LocationError::SqliteNoFile { given: given.into() });
    }
    Ok(path)
}

/// Opens the store at `location`, creating it (and the directories it goes in) if needed.
pub fn open(location: &Location) -> Result<Arc<dyn Store>, OpenError> {
    match location {
        Location::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
                    location: location.clone(),
                    dir: dir.to_owned(),
                    source,
                })?;
            }
            let store = SqliteStore::open(path).map_err(|source| OpenError::Store { location: location.clone(), source })?;
            Ok(Arc::new(store))
        }
        Location::Postgres(url) => {
            let store = PostgresStore::open(url.as_str()).map_err(|source| OpenError::Store { location: location.clone(), source })?;
            Ok(Arc::new(store))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_store::testkit::generated;
    use dossier_store::AppendOutcome;

    fn parse(s: &str) -> Result<Location, String> {
        s.parse::<Location>().map_err(|e| e.to_string())
    }

    fn sqlite(path: &str) -> Result<Location, String> {
        Ok(Location::Sqlite(PathBuf::from(path)))
    }

    #[test]
    fn sqlite_locations_name_an_absolute_or_a_relative_file() {
        assert_eq!(parse("sqlite:///var/lib/dossier/dossier.db"), sqlite("/var/lib/dossier/dossier.db"));
        assert_eq!(parse("sqlite:relative.db"), sqlite("relative.db"));
        assert_eq!(parse("sqlite:data/dossier.db"), sqlite("data/dossier.db"));
        assert_eq!(parse("sqlite:./dossier.db"), sqlite("./dossier.db"));
        assert_eq!(parse("sqlite:../elsewhere/dossier.db"), sqlite("../elsewhere/dossier.db"));
        // `scheme:/path` is a URI too, and schemes are case-insensitive.
        assert_eq!(parse("sqlite:/var/lib/dossier.db"), sqlite("/var/lib/dossier.db"));
        assert_eq!(parse("SQLite:///tmp/d.db"), sqlite("/tmp/d.db"));
        // The path is taken as written.
        assert_eq!(parse("sqlite:///tmp/with space/%41.db"), sqlite("/tmp/with space/%41.db"));
    }

    fn postgres(url: &str) -> Location {
        Location::Postgres(PostgresUrl(url.into()))
    }

    #[test]
    fn postgresql_locations_are_urls_as_libpq_reads_them() {
        assert_eq!(parse("postgresql://dossier@db.example.com/dossier"), Ok(postgres("postgresql://dossier@db.example.com/dossier")));
        assert_eq!(parse("postgres://localhost/dossier"), Ok(postgres("postgres://localhost/dossier")));
        // Schemes are case-insensitive; the client reads them in lower case.
        assert_eq!(parse("PostgreSQL://h/d"), Ok(postgres("postgresql://h/d")));
        let with_schema = "postgresql://dossier:s3cret@db:5433/evidence?options=-c%20search_path%3Ddossier";
        assert_eq!(parse(with_schema), Ok(postgres(with_schema)));
        let location: Location = with_schema.parse().unwrap();
        assert_eq!(location.describe(), "PostgreSQL database evidence on db:5433 as dossier (options \"-c search_path=dossier\")");
        // The password is never shown, whichever way the location is printed.
        assert_eq!(location.to_string(), "postgresql://dossier:***@db:5433/evidence?options=-c%20search_path%3Ddossier");
        assert!(!format!("{location:?}").contains("s3cret"), "{location:?}");
        let Location::Postgres(url) = &location else { panic!("{location:?}") };
        assert_eq!(url.as_str(), with_schema);
    }

    #[test]
    fn locations_are_shown_without_passwords() {
        assert_eq!(redacted("postgresql://u:pw@h/d"), "postgresql://u:***@h/d");
        assert_eq!(redacted("POSTGRES://u:pw@h/d?password=x"), "POSTGRES://u:***@h/d?password=***");
        assert_eq!(redacted("sqlite:a:b@c.db"), "sqlite:a:b@c.db");
        assert_eq!(redacted("not a location"), "not a location");
    }

    #[test]
    fn postgresql_urls_the_client_cannot_use_are_refused_without_their_password() {
        let err = parse("postgresql://u:pw@h/d?unknown_parameter=1").unwrap_err();
        assert!(err.starts_with("postgresql://u:***@h/d?unknown_parameter=1: not a PostgreSQL URL: invalid connection string"), "{err}");
        assert!(!err.contains("pw@"), "{err}");
        assert_eq!(
            parse("postgresql://u:pw@h/d?sslmode=require"),
            Err("postgresql://u:***@h/d?sslmode=require: sslmode=require, but this build connects without TLS for now; \
                 use a local socket, a private network or a TLS proxy"
                .into())
        );
    }

    #[test]
    fn other_texts_are_refused_naming_the_accepted_forms() {
        let forms = "accepted: sqlite:///absolute/path/dossier.db, sqlite:relative/path/dossier.db or postgresql://user@host:port/database";
        assert_eq!(parse("mysql://db/dossier"), Err(format!("unknown store scheme \"mysql\" in \"mysql://db/dossier\"; {forms}")));
        assert_eq!(parse("file:///tmp/dossier.db"), Err(format!("unknown store scheme \"file\" in \"file:///tmp/dossier.db\"; {forms}")));
        assert_eq!(
            parse("/var/lib/dossier.db"),
            Err(format!("\"/var/lib/dossier.db\" is not a store location (it has no scheme); {forms}"))
        );
        assert_eq!(parse("dossier.db"), Err(format!("\"dossier.db\" is not a store location (it has no scheme); {forms}")));
        assert_eq!(parse(""), Err(format!("\"\" is not a store location (it has no scheme); {forms}")));
        assert_eq!(parse("./a:b.db"), Err(format!("\"./a:b.db\" is not a store location (it has no scheme); {forms}")));
        assert_eq!(parse("sqlite:"), Err(format!("\"sqlite:\" names no database file; {forms}")));
        assert_eq!(parse("sqlite://"), Err(format!("\"sqlite://\" names no database file; {forms}")));
        assert_eq!(parse("sqlite:///"), Err(format!("\"sqlite:///\" names no database file; {forms}")));
        assert_eq!(parse("sqlite:///var/lib/"), Err(format!("\"sqlite:///var/lib/\" names no database file; {forms}")));
        assert_eq!(parse("sqlite:data/.."), Err(format!("\"sqlite:data/..\" names no database file; {forms}")));
        assert_eq!(
            parse("sqlite://data/dossier.db"),
            Err("\"sqlite://data/dossier.db\" names a host, but a SQLite location is a file: \
                 write sqlite:///data/dossier.db for an absolute path or sqlite:data/dossier.db for a relative one"
                .into())
        );
        assert_eq!(
            parse("sqlite:dossier.db?mode=ro"),
            Err(format!("\"sqlite:dossier.db?mode=ro\": a SQLite location takes no parameters; {forms}"))
        );
    }

    #[test]
    fn a_location_displays_as_it_is_written_and_parses_back() {
        for text in ["sqlite:///var/lib/dossier/dossier.db", "sqlite:relative.db", "sqlite:data/dossier.db"] {
            let location: Location = text.parse().unwrap();
            assert_eq!(location.to_string(), text);
            assert_eq!(location.to_string().parse::<Location>().unwrap(), location);
        }
        assert_eq!(Location::Sqlite("/tmp/x.db".into()).describe(), "SQLite database /tmp/x.db");
    }

    #[test]
    fn the_default_is_dossier_db_in_the_data_directory() {
        let location = Location::in_data_dir(Path::new("/var/lib/dossier"));
        assert_eq!(location, Location::Sqlite("/var/lib/dossier/dossier.db".into()));
        assert_eq!(location.to_string(), "sqlite:///var/lib/dossier/dossier.db");
        assert_eq!(location.describe(), "SQLite database /var/lib/dossier/dossier.db");
    }

    #[test]
    fn opening_creates_the_store_and_its_directories_and_reopening_finds_the_data() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data/nested");
        let location = Location::in_data_dir(&dir);
        assert!(!location.exists().unwrap());
        let events = generated(12);
        {
            let store = open(&location).unwrap();
            assert_eq!(store.size().unwrap(), 0);
            store.append(&events[..10], 1).unwrap();
        }
        assert!(dir.join("dossier.db").is_file());
        assert!(location.exists().unwrap());
        let store = open(&location).unwrap();
        assert_eq!(store.size().unwrap(), 10);
        assert_eq!(store.get(9).unwrap().unwrap().raw, events[9].raw);
        assert_eq!(
            store.append(&events[9..], 2).unwrap(),
            vec![AppendOutcome::Duplicate { seq: 9 }, AppendOutcome::Accepted { seq: 10 }, AppendOutcome::Accepted { seq: 11 }]
        );
        // The same file by its written location.
        drop(store);
        let written: Location = format!("sqlite://{}", dir.join("dossier.db").display()).parse().unwrap();
        assert_eq!(open(&written).unwrap().size().unwrap(), 12);
    }

    #[test]
    fn a_postgresql_location_opens_the_store_in_its_schema_and_reopening_finds_the_data() {
        use dossier_store_postgres::testkit::{test_database, ScratchSchema};
        let Some(database) = test_database("a_postgresql_location_opens_the_store_in_its_schema") else { return };
        let schema = ScratchSchema::create(&database);
        let location: Location = schema.url().parse().unwrap();
        assert!(!location.exists().unwrap(), "an empty schema holds no store");
        let events = generated(12);
        {
            let store = open(&location).unwrap();
            assert_eq!(store.size().unwrap(), 0);
            store.append(&events[..10], 1).unwrap();
        }
        assert!(location.exists().unwrap());
        let store = open(&location).unwrap();
        assert_eq!(store.size().unwrap(), 10);
        assert_eq!(store.get(9).unwrap().unwrap().raw, events[9].raw);
        assert_eq!(
            store.append(&events[9..], 2).unwrap(),
            vec![AppendOutcome::Duplicate { seq: 9 }, AppendOutcome::Accepted { seq: 10 }, AppendOutcome::Accepted { seq: 11 }]
        );
        let tables: i64 = schema.client().query_one("SELECT count(*) FROM events", &[]).unwrap().get(0);
        assert_eq!(tables, 12, "the entries are in the schema the location names");
    }

    #[test]
    fn a_postgresql_database_that_cannot_be_reached_is_an_error_naming_it_without_its_password() {
        // Nothing listens on port 1.
        let location: Location = "postgresql://dossier:s3cret@127.0.0.1:1/dossier?connect_timeout=5".parse().unwrap();
        let prefix = "cannot open the PostgreSQL database dossier on 127.0.0.1:1 as dossier: storage failed: \
                      connecting to the PostgreSQL database dossier on 127.0.0.1:1 as dossier: error connecting to server";
        for err in [location.exists().expect_err("unreachable"), open(&location).err().expect("unreachable")] {
            let message = err.to_string();
            assert!(message.starts_with(prefix), "{message}");
            assert!(!message.contains("s3cret") && !format!("{err:?}").contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn failures_to_open_name_the_location_and_the_cause() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, "not a directory").unwrap();
        let under_a_file = Location::Sqlite(file.join("sub/dossier.db"));
        let err = open(&under_a_file).err().unwrap();
        assert!(matches!(&err, OpenError::CreateDir { dir, .. } if *dir == file.join("sub")), "{err:?}");
        let prefix = format!(
            "cannot create the directory {} for the SQLite database {}: ",
            file.join("sub").display(),
            file.join("sub/dossier.db").display()
        );
        assert!(err.to_string().starts_with(&prefix), "{err}");

        // A directory where the database file should be.
        let is_a_dir = Location::Sqlite(tmp.path().to_owned());
        let err = open(&is_a_dir).err().unwrap();
        assert!(matches!(&err, OpenError::Store { location, source: StoreError::Backend(_) } if *location == is_a_dir), "{err:?}");
        assert!(
            err.to_string().starts_with(&format!("cannot open the SQLite database {}: storage failed: ", tmp.path().display())),
            "{err}"
        );
        assert!(!is_a_dir.exists().unwrap());
    }
}
