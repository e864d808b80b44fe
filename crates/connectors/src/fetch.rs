//! The SBOMs artifact events point to (`subject.content.sbom.uri` of `artifact.packaged` and
//! `artifact.published`), fetched and recorded like uploaded documents — from a configured
//! directory, or over http(s) from URL prefixes on an allowlist; any other URI is refused.
//! A refusal is evidence too: a `dev.cdeventsx.dossier-document.refused.0.1.0` entry names
//! the artifact, the URI and the reason, so the artifact's timeline says why it has no SBOM.
//!
//! The fetcher follows the log at least once (`DATA/fetch.cursor`); recording is idempotent
//! (the same document about the same artifact is recorded once; a refusal's id derives from
//! the entry that asked), so a crash repeats work without repeating evidence.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use dossier_core::own::{OwnType, DOCUMENTS_SOURCE};
use dossier_evidence::signatures::Trust;
use dossier_log::documents::{BlobError, Documents, Staged};
use dossier_log::follow::Follower;
use dossier_log::own::own_event;
use dossier_log::{Appended, EvidenceLog};
use dossier_views::lineage::LineageView;

use crate::documents::{self, Submission, SubmitError};
const TRIGGERS: [&str; 2] = ["dev.cdevents.artifact.packaged.", "dev.cdevents.artifact.published."];
const ATTEMPTS: u32 = 3;

/// Where documents may be fetched from.
#[derive(Debug, Clone, Default)]
pub struct FetchRules {
    /// File paths (and `file://` URIs) must resolve inside this directory; relative paths are
    /// taken from it.
    pub dir: Option<PathBuf>,
    /// http(s) URLs must fall under one of these: the same scheme, host and port, and a path
    /// that starts with the prefix's path (compared after parsing, not as strings).
    pub allow: Vec<String>,
}

/// An allowlist prefix that is not an http(s) URL: it could never match, so it is refused when
/// the server starts rather than ignored.
#[derive(Debug, thiserror::Error)]
#[error("fetch allowlist prefix {prefix:?}: {reason}; give an http(s) URL such as https://sboms.example.com/public/")]
pub struct BadPrefix {
    pub prefix: String,
    pub reason: String,
}

impl FetchRules {
    /// Checks every allowlist prefix (at start, so a typo is not a silently empty allowlist).
    pub fn check(&self) -> Result<(), BadPrefix> {
        for prefix in &self.allow {
            let bad = |reason: String| BadPrefix { prefix: prefix.clone(), reason };
            let url = url::Url::parse(prefix).map_err(|e| bad(e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(bad(format!("the scheme is {:?}", url.scheme())));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(bad("a prefix names no user".into()));
            }
        }
        Ok(())
    }
}

#[derive(Debug, PartialEq)]
enum Origin {
    File(PathBuf),
    Http(String),
}

/// Why a document an event points at was not fetched (recorded in its `refused` entry).
#[derive(Debug, thiserror::Error)]
pub enum FetchRefused {
    #[error("{0} is not fetched: no URL prefix is allowed (serve --fetch-allow PREFIX)")]
    NoAllowlist(String),
    #[error("{uri} is not on the fetch allowlist; allowed prefixes: {allowed}")]
    NotAllowed { uri: String, allowed: String },
    #[error("{0} is not fetched: a URL that names a user (user@host) is refused")]
    UserInfo(String),
    #[error("{uri} is not a URL: {reason}")]
    BadUrl { uri: String, reason: String },
    #[error(
        "{0} is not fetched: Dossier fetches paths under its fetch directory (serve --fetch-dir) and http(s) URLs on its allowlist (serve --fetch-allow)"
    )]
    Scheme(String),
    #[error("{0} is not fetched: no fetch directory is configured (serve --fetch-dir DIR)")]
    NoDirectory(String),
    #[error("the fetch directory cannot be read ({0}); the operator's log says more")]
    Directory(std::io::ErrorKind),
    /// Missing, unreadable or outside: one answer, which tells nothing about the file system.
    #[error("{0} is not a file in the fetch directory")]
    NotInDirectory(String),
    #[error("{url} answered HTTP {status} (redirects are not followed)")]
    Redirected { url: String, status: u16 },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {last} (after {attempts} attempts)")]
    Unreachable { url: String, last: String, attempts: u32 },
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("reading {url}: {source}")]
    Read { url: String, source: std::io::Error },
    #[error(transparent)]
    Record(#[from] SubmitError),
}

impl FetchRules {
    /// Whether `url` is an http(s) URL on the allowlist.
    pub fn allows_url(&self, url: &str) -> Result<(), FetchRefused> {
        match self.resolve(url)? {
            Origin::Http(_) => Ok(()),
            Origin::File(_) => Err(FetchRefused::Scheme(url.to_owned())),
        }
    }

    /// Reads a small resource over http(s) — an OIDC issuer's JWK Set — if `url` is on the
    /// allowlist: no redirects, 10 s, at most `max` bytes.
    pub fn fetch_small(&self, url: &str, max: u64) -> Result<Vec<u8>, FetchRefused> {
        let Origin::Http(url) = self.resolve(url)? else {
            return Err(FetchRefused::Scheme(url.to_owned()));
        };
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).redirects(0).build();
        let response = match agent.get(&url).call() {
            Ok(r) if (300..400).contains(&r.status()) => return Err(FetchRefused::Redirected { url, status: r.status() }),
            Ok(r) => r,
            Err(ureq::Error::Status(status, _)) => return Err(FetchRefused::Status { url, status }),
            Err(e) => return Err(FetchRefused::Unreachable { url, last: e.to_string(), attempts: 1 }),
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(response.into_reader(), max + 1), &mut bytes)
            .map_err(|source| FetchRefused::Read { url: url.clone(), source })?;
        if bytes.len() as u64 > max {
            return Err(FetchRefused::Unreachable { url, last: format!("the answer is larger than {max} bytes"), attempts: 1 });
        }
        Ok(bytes)
    }

    /// Where `uri` may be read from, or why it may not.
    fn resolve(&self, uri: &str) -> Result<Origin, FetchRefused> {
        if uri.starts_with("http://") || uri.starts_with("https://") {
            let url = url::Url::parse(uri).map_err(|e| FetchRefused::BadUrl { uri: uri.to_owned(), reason: e.to_string() })?;
            if !url.username().is_empty() || url.password().is_some() {
                return Err(FetchRefused::UserInfo(uri.to_owned()));
            }
            if self.allow.is_empty() {
                return Err(FetchRefused::NoAllowlist(uri.to_owned()));
            }
            return if self.allow.iter().any(|prefix| under(&url, prefix)) {
                Ok(Origin::Http(url.to_string()))
            } else {
                Err(FetchRefused::NotAllowed { uri: uri.to_owned(), allowed: self.allow.join(", ") })
            };
        }
        let path = match uri.strip_prefix("file://") {
            Some(p) => PathBuf::from(p),
            None if !uri.contains("://") => PathBuf::from(uri),
            None => return Err(FetchRefused::Scheme(uri.to_owned())),
        };
        let Some(dir) = &self.dir else {
            return Err(FetchRefused::NoDirectory(uri.to_owned()));
        };
        let root = dir.canonicalize().map_err(|e| {
            tracing::error!("the fetch directory {}: {e}", dir.display());
            FetchRefused::Directory(e.kind())
        })?;
        match root.join(&path).canonicalize() {
            Ok(full) if full.starts_with(&root) && full.is_file() => Ok(Origin::File(full)),
            _ => Err(FetchRefused::NotInDirectory(uri.to_owned())),
        }
    }
}

/// Whether `url` falls under the allowed `prefix`: same scheme, host and port (the scheme's
/// default when none is written), and a path that starts with the prefix's path. `url` was
/// parsed, so `..` segments are resolved before the comparison.
fn under(url: &url::Url, prefix: &str) -> bool {
    let Ok(allowed) = url::Url::parse(prefix) else { return false };
    url.scheme() == allowed.scheme()
        && url.host() == allowed.host()
        && url.port_or_known_default() == allowed.port_or_known_default()
        && allowed.username().is_empty()
        && url.path().starts_with(allowed.path())
}

fn fetch(documents: &Documents, origin: &Origin, agent: &ureq::Agent) -> Result<Staged, FetchRefused> {
    match origin {
        Origin::File(path) => Ok(documents.stage_file(path)?),
        Origin::Http(url) => {
            let mut last = String::new();
            for attempt in 0..ATTEMPTS {
                if attempt > 0 {
                    std::thread::sleep(Duration::from_millis(500 << attempt));
                }
                match agent.get(url).call() {
                    Ok(r) if r.status() == 200 => return stage_stream(documents, url, r.into_reader()),
                    Ok(r) => return Err(FetchRefused::Redirected { url: url.clone(), status: r.status() }),
                    Err(ureq::Error::Status(status, _)) if status < 500 => return Err(FetchRefused::Status { url: url.clone(), status }),
                    Err(e) => last = e.to_string(),
                }
            }
            Err(FetchRefused::Unreachable { url: url.clone(), last, attempts: ATTEMPTS })
        }
    }
}

fn stage_stream(documents: &Documents, url: &str, mut reader: impl Read) -> Result<Staged, FetchRefused> {
    let mut stager = documents.stager()?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|source| FetchRefused::Read { url: url.to_owned(), source })?;
        if n == 0 {
            return Ok(stager.finish()?);
        }
        stager.write(&buf[..n])?;
    }
}

struct Fetcher {
    log: Arc<EvidenceLog>,
    lineage: Arc<LineageView>,
    documents: Arc<Documents>,
    rules: FetchRules,
    trust: Arc<Trust>,
    agent: ureq::Agent,
}

impl Fetcher {
    fn handle(&self, a: &Appended) {
        let ty = a.event.event_type.as_str();
        if !TRIGGERS.iter().any(|t| ty.starts_with(t)) {
            return;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&a.event.raw) else { return };
        let Some(uri) = v.pointer("/subject/content/sbom/uri").and_then(|u| u.as_str()) else { return };
        let artifact = a.event.subject_id.clone();
        let outcome = self.rules.resolve(uri).and_then(|origin| fetch(&self.documents, &origin, &self.agent)).and_then(|staged| {
            // The document is recorded as sent by whoever sent the event that points at it.
            let submission = Submission {
                artifact: artifact.clone(),
                sender: a.event.sender.clone(),
                via: crate::documents::Via::Fetch(uri.to_owned()),
                format: None,
            };
            let intake = documents::Intake { log: &self.log, lineage: &self.lineage, documents: &self.documents, trust: &self.trust };
            Ok(documents::record(intake, staged, submission)?)
        });
        match outcome {
            Ok(receipt) => tracing::info!("fetched {uri} for {artifact}: {} as entry {}", receipt.digest, receipt.seq),
            Err(refused) => {
                // Storage trouble is not the document's fault: say so rather than refuse it.
                let reason = match &refused {
                    FetchRefused::Record(SubmitError::Io(_) | SubmitError::Blob(BlobError::Io(_)) | SubmitError::Store(_)) => {
                        format!("could not be recorded: {refused}")
                    }
                    _ => refused.to_string(),
                };
                tracing::warn!("not fetching the SBOM of {artifact}: {reason}");
                let content = json!({"artifactId": artifact, "uri": uri, "reason": reason, "trigger": a.seq});
                let refused = own_event(
                    format!("refused-{}", a.seq),
                    DOCUMENTS_SOURCE,
                    OwnType::DocumentRefused,
                    uri,
                    content,
                    a.event.chain_id.as_deref(),
                );
                match refused.map(|e| self.log.append_blocking(vec![e])) {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!("recording the refusal: {e}"),
                    Err(e) => tracing::error!("recording the refusal: {e}"),
                }
            }
        }
    }
}

/// Starts the fetcher's thread.
pub fn start(
    log: Arc<EvidenceLog>,
    lineage: Arc<LineageView>,
    documents: Arc<Documents>,
    trust: Arc<Trust>,
    rules: FetchRules,
    cursor_file: &Path,
) {
    let follower = Follower::new(log.clone(), cursor_file.to_owned());
    // Redirects could leave the allowlist: they are not followed.
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).redirects(0).build();
    let fetcher = Fetcher { log, lineage, documents, rules, trust, agent };
    let spawned = std::thread::Builder::new().name("dossier-fetch".into()).spawn(move || follower.follow(|a| fetcher.handle(a)));
    if let Err(e) = spawned {
        tracing::error!("starting the document fetcher: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allow: &[&str]) -> FetchRules {
        FetchRules { dir: None, allow: allow.iter().map(|a| a.to_string()).collect() }
    }

    #[test]
    fn the_allowlist_compares_scheme_host_port_and_path_not_strings() {
        let r = rules(&["http://127.0.0.1:18050", "https://sboms.example.com/public/"]);
        assert_eq!(r.resolve("http://127.0.0.1:18050/a.json").unwrap(), Origin::Http("http://127.0.0.1:18050/a.json".into()));
        assert_eq!(
            r.resolve("https://sboms.example.com:443/public/x/b.json").unwrap(),
            Origin::Http("https://sboms.example.com/public/x/b.json".into())
        );
        // The string prefix matches; the host it reaches is another one.
        assert_eq!(
            r.resolve("http://127.0.0.1:18050@127.0.0.1:18051/evil.json").unwrap_err().to_string(),
            "http://127.0.0.1:18050@127.0.0.1:18051/evil.json is not fetched: a URL that names a user (user@host) is refused"
        );
        for outside in [
            "http://127.0.0.1:180501/a.json",
            "http://127.0.0.1:18051/a.json",
            "https://127.0.0.1:18050/a.json",
            "https://sboms.example.com/public/../private/c.json",
            "https://sboms.example.com.evil.net/public/d.json",
            "https://sboms.example.com/publicity.json",
        ] {
            assert!(matches!(r.resolve(outside), Err(FetchRefused::NotAllowed { .. } | FetchRefused::BadUrl { .. })), "{outside}");
        }
    }

    #[test]
    fn a_prefix_that_could_never_match_is_refused_at_start() {
        assert!(rules(&["https://sboms.example.com/public/", "http://127.0.0.1:18050"]).check().is_ok());
        assert_eq!(
            rules(&["sboms.example.com/public/"]).check().unwrap_err().to_string(),
            "fetch allowlist prefix \"sboms.example.com/public/\": relative URL without a base; give an http(s) URL such as https://sboms.example.com/public/"
        );
        assert!(rules(&["ftp://h/"]).check().is_err());
        assert!(rules(&["http://u@h/"]).check().is_err());
    }

    #[test]
    fn a_refused_path_says_nothing_about_the_file_system() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.json"), "{}").unwrap();
        let r = FetchRules { dir: Some(dir.path().to_owned()), allow: vec![] };
        assert!(matches!(r.resolve("ok.json"), Ok(Origin::File(_))));
        let missing = r.resolve("missing.json").unwrap_err().to_string();
        let outside = r.resolve("../../../../etc/passwd").unwrap_err().to_string();
        assert_eq!(missing, "missing.json is not a file in the fetch directory");
        assert_eq!(outside, "../../../../etc/passwd is not a file in the fetch directory");
        assert!(!outside.contains(&dir.path().display().to_string()));
    }
}
