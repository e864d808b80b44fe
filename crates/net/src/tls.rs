//! TLS for the accept loop: a certificate chain and its private key read from PEM files, kept
//! current while the server runs (cert-manager and the like replace them before they expire).
//!
//! The files are read again every [`RELOAD_EVERY`]; when their content changed, the new pair is
//! served only once both parse and the key matches the certificate. The two files are not
//! replaced together, so a pair seen half-way (a new certificate with the old key) is not an
//! error to act on: it is logged, the current pair keeps serving, and the next read finds the
//! whole new pair. TLS 1.2 and 1.3 with ring's algorithms; the ALPN protocol is `http/1.1`.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// How often the certificate and key files are read again to see whether they changed.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// Where a TLS server's certificate and key are: PEM files, the chain with the server's own
/// certificate first, and its private key (PKCS#8, PKCS#1 or SEC1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why a certificate and key could not be used, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the TLS certificate file {}: {reason}", path.display())]
    Cert { path: PathBuf, reason: String },
    #[error("the TLS key file {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("the private key in {} does not match the certificate in {}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
}

/// A TLS server configuration loaded from [`TlsFiles`]; [`serve_tls`](crate::serve_tls) serves
/// with it and keeps it current as the files change. Clones share the current certificate.
#[derive(Clone)]
pub struct Tls {
    files: TlsFiles,
    current: Arc<Current>,
    config: Arc<rustls::ServerConfig>,
    /// What the files held when the current pair was read (see [`fingerprint`]).
    loaded: u64,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads the certificate chain and the key, and checks that they belong together.
    pub fn load(files: TlsFiles) -> Result<Tls, TlsError> {
        let read = |path: &Path| std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source });
        let (cert, key) = (read(&files.cert)?, read(&files.key)?);
        let certified = certified_key(&files, &cert, &key)?;
        let current = Arc::new(Current(RwLock::new(Arc::new(certified))));
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring's provider supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls { loaded: fingerprint(&cert, &key), files, current, config: Arc::new(config) })
    }

    /// The files it was loaded from, and is reloaded from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }

    /// Reads the files every [`RELOAD_EVERY`] and serves what they hold when it changed and
    /// loads; never returns (abort the task).
    pub(crate) async fn keep_current(self) {
        let mut seen = self.loaded;
        let mut last_failure: Option<String> = None;
        let mut ticks = tokio::time::interval(RELOAD_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // The first tick is now: the files were just read.
        loop {
            ticks.tick().await;
            let outcome = match (tokio::fs::read(&self.files.cert).await, tokio::fs::read(&self.files.key).await) {
                (Err(source), _) => Err(TlsError::Read { path: self.files.cert.clone(), source }),
                (_, Err(source)) => Err(TlsError::Read { path: self.files.key.clone(), source }),
                (Ok(cert), Ok(key)) => {
                    let now = fingerprint(&cert, &key);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    certified_key(&self.files, &cert, &key)
                }
            };
            match outcome {
                Ok(certified) => {
                    *self.current.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(certified);
                    last_failure = None;
                    tracing::info!("TLS: now presenting the new certificate of {}", self.files.cert.display());
                }
                Err(e) => {
                    // Once per distinct problem, not every few seconds while it lasts.
                    let text = e.to_string();
                    if last_failure.as_ref() != Some(&text) {
                        tracing::warn!("TLS: keeping the current certificate: {text}");
                        last_failure = Some(text);
                    }
                }
            }
        }
    }
}

/// The certificate rustls presents: whatever was last loaded.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(PoisonError::into_inner).clone())
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A change detector for the files' content (not a security measure: whoever can write the
/// files chooses the certificate anyway).
fn fingerprint(cert: &[u8], key: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (cert, key).hash(&mut h);
    h.finish()
}

/// The chain and key from the files' bytes, checked to belong together.
fn certified_key(files: &TlsFiles, cert: &[u8], key: &[u8]) -> Result<CertifiedKey, TlsError> {
    let cert_error = |reason: String| TlsError::Cert { path: files.cert.clone(), reason };
    let key_error = |reason: String| TlsError::Key { path: files.key.clone(), reason };
    let chain = CertificateDer::pem_slice_iter(cert).collect::<Result<Vec<_>, _>>().map_err(|e| cert_error(format!("not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(cert_error("no certificate in it (a PEM block \"BEGIN CERTIFICATE\")".into()));
    }
    let der = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => key_error(
            "no private key in it (a PEM block \"BEGIN PRIVATE KEY\", \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\")".into(),
        ),
        e => key_error(format!("not PEM: {e}")),
    })?;
    let signing = provider().key_provider.load_private_key(der).map_err(|e| key_error(format!("not a usable private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::Mismatch { cert: files.cert.clone(), key: files.key.clone() })
        }
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Err(key_error("its public key cannot be derived, so it cannot be checked against the certificate".into()))
        }
        Err(e) => Err(cert_error(format!("the first certificate does not parse: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap().self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn files(dir: &Path, cert: &str, key: &str) -> TlsFiles {
        let files = TlsFiles { cert: dir.join("tls.crt"), key: dir.join("tls.key") };
        std::fs::write(&files.cert, cert).unwrap();
        std::fs::write(&files.key, key).unwrap();
        files
    }

    fn error(dir: &Path, cert: &str, key: &str) -> String {
        Tls::load(files(dir, cert, key)).unwrap_err().to_string().replace(&dir.display().to_string(), "DIR")
    }

    #[test]
    fn a_pair_that_belongs_together_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair("localhost");
        let tls = Tls::load(files(dir.path(), &cert, &key)).unwrap();
        assert_eq!(tls.files().cert, dir.path().join("tls.crt"));
    }

    #[test]
    fn loading_says_which_file_is_wrong_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair("localhost");
        let (_, other_key) = pair("localhost");
        assert_eq!(error(dir.path(), &cert, &other_key), "the private key in DIR/tls.key does not match the certificate in DIR/tls.crt");
        assert_eq!(
            error(dir.path(), "garbage", &key),
            "the TLS certificate file DIR/tls.crt: no certificate in it (a PEM block \"BEGIN CERTIFICATE\")"
        );
        assert_eq!(
            error(dir.path(), &cert, &cert),
            "the TLS key file DIR/tls.key: no private key in it (a PEM block \"BEGIN PRIVATE KEY\", \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\")"
        );
        let truncated = &cert[..cert.len() / 2];
        assert!(error(dir.path(), truncated, &key).starts_with("the TLS certificate file DIR/tls.crt: not PEM: "));
        let bad_der = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(
            error(dir.path(), bad_der, &key).starts_with("the TLS certificate file DIR/tls.crt: the first certificate does not parse: "),
            "{}",
            error(dir.path(), bad_der, &key)
        );
        let bad_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(error(dir.path(), &cert, bad_key).starts_with("the TLS key file DIR/tls.key: not a usable private key: "));
        let missing = TlsFiles { cert: dir.path().join("none.crt"), key: dir.path().join("tls.key") };
        let e = Tls::load(missing).unwrap_err().to_string();
        assert!(e.starts_with(&format!("reading {}: ", dir.path().join("none.crt").display())), "{e}");
    }
}
