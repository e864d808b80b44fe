//! OIDC issuers with their keys: a JWK Set read from a file, or fetched from a URL (through the
//! fetch allowlist, by a function the server gives), refreshed every ten minutes and, at most
//! once every 30 s per issuer, when a JWT names a key the set does not hold (keys rotate).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use dossier_auth::oidc::{IssuerConfig, Jwks, JwksSource, JwtRefusal, Verifier, MAX_JWKS_BYTES};
use dossier_auth::Principal;

/// Reads an issuer's JWK Set from a URL (bounded, on the allowlist), or says why not.
pub type Fetch = Box<dyn Fn(&str) -> Result<Vec<u8>, String> + Send + Sync>;

/// How often keys are read again whatever happens.
pub const REFRESH_EVERY: Duration = Duration::from_secs(600);
/// The least time between two reads of one issuer's keys asked for by unknown key ids.
pub const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(30);

/// The configured issuers and their current keys.
pub struct Oidc {
    verifier: RwLock<Verifier>,
    configs: Vec<IssuerConfig>,
    fetch: Fetch,
    last_read: Mutex<HashMap<String, Instant>>,
}

/// Why the issuers could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error(transparent)]
    Config(#[from] dossier_auth::oidc::ConfigError),
    #[error("[[oidc]] issuer {issuer:?}: jwks {source_name}: {reason}")]
    Keys { issuer: String, source_name: String, reason: String },
}

impl Oidc {
    /// Loads every issuer's keys. A key file that cannot be read is an error (a typo must not
    /// start a server that accepts no one); a URL that cannot be fetched now starts with no
    /// keys, is logged, and is tried again on use and every ten minutes.
    pub fn load(configs: Vec<IssuerConfig>, fetch: Fetch) -> Result<Oidc, OidcError> {
        let oidc = Oidc { verifier: RwLock::new(Verifier::new()), configs, fetch, last_read: Mutex::new(HashMap::new()) };
        let mut verifier = Verifier::new();
        for config in &oidc.configs {
            config.validate()?;
            let jwks = match oidc.read_keys(config) {
                Ok(jwks) => jwks,
                Err(reason) => match config.jwks_source() {
                    JwksSource::File(_) => {
                        return Err(OidcError::Keys { issuer: config.issuer.clone(), source_name: config.jwks.clone(), reason })
                    }
                    JwksSource::Url(_) => {
                        tracing::error!("OIDC issuer {}: reading its keys from {}: {reason}; retried on use", config.issuer, config.jwks);
                        Jwks::empty()
                    }
                },
            };
            verifier.add(config.clone(), jwks)?;
        }
        *oidc.verifier.write().unwrap_or_else(|p| p.into_inner()) = verifier;
        Ok(oidc)
    }

    fn read_keys(&self, config: &IssuerConfig) -> Result<Jwks, String> {
        self.last_read.lock().unwrap_or_else(|p| p.into_inner()).insert(config.issuer.clone(), Instant::now());
        let bytes = match config.jwks_source() {
            JwksSource::Url(url) => (self.fetch)(url)?,
            JwksSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
                if bytes.len() > MAX_JWKS_BYTES {
                    return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
                }
                bytes
            }
        };
        Jwks::from_json(&bytes).map_err(|e| e.to_string())
    }

    /// Reads `issuer`'s keys again, unless they were read less than `at_most_every` ago.
    fn refresh(&self, issuer: &str, at_most_every: Duration) {
        let Some(config) = self.configs.iter().find(|c| c.issuer == issuer) else { return };
        let recent = self.last_read.lock().unwrap_or_else(|p| p.into_inner()).get(issuer).is_some_and(|t| t.elapsed() < at_most_every);
        if recent {
            return;
        }
        match self.read_keys(config) {
            Ok(jwks) => {
                self.verifier.write().unwrap_or_else(|p| p.into_inner()).set_jwks(issuer, jwks);
            }
            Err(e) => tracing::warn!("OIDC issuer {issuer}: reading its keys from {}: {e}; the keys held are kept", config.jwks),
        }
    }

    /// The principal `jwt` stands for at `now` (Unix seconds), or why not. A key the issuer's
    /// set does not hold makes Dossier read the set again (at most every 30 s) and try once more.
    pub fn verify(&self, jwt: &str, now: i64) -> Result<Principal, JwtRefusal> {
        let first = self.verifier.read().unwrap_or_else(|p| p.into_inner()).verify(jwt, now);
        match first {
            Ok(p) => Ok(p),
            Err(e) => match e.refresh_hint().map(str::to_owned) {
                Some(issuer) => {
                    self.refresh(&issuer, REFRESH_AT_MOST_EVERY);
                    self.verifier.read().unwrap_or_else(|p| p.into_inner()).verify(jwt, now)
                }
                None => Err(e),
            },
        }
    }

    /// Reads every issuer's keys again every ten minutes, on a thread of its own.
    pub fn refresh_periodically(self: &Arc<Oidc>) {
        let oidc = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("oidc-keys".into())
            .spawn(move || loop {
                std::thread::sleep(REFRESH_EVERY);
                let Some(oidc) = oidc.upgrade() else { return };
                for issuer in oidc.configs.iter().map(|c| c.issuer.clone()).collect::<Vec<_>>() {
                    oidc.refresh(&issuer, REFRESH_EVERY / 2);
                }
            })
            .expect("starting the OIDC key refresher");
    }
}
