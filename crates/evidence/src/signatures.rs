//! Signatures checked, not believed. A Sigstore bundle, the signatures of a DSSE envelope and a
//! cosign key signature are each checked against the configured [`Trust`] — named sets of a
//! trusted root (Fulcio, Rekor, CT logs, timestamp authorities), public keys and the
//! certificate identities accepted — and the outcome is a [`Check`]: verified or not, under
//! which trust, by which identity and issuer or key, in which log and when, and the reason
//! when not. The check is kept in the log entry that records what was signed, so what was
//! verified against which trust is evidence, and a later change of trust rewrites nothing.
//!
//! No I/O and no clock: the bytes, the artifact's digest and the time of verification are
//! arguments. The cryptography is `dossier-sigstore`'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use dossier_sigstore::keys::HashAlg;
use dossier_sigstore::{Bundle, Envelope, Expected, Matcher, PublicKey, TrustedRoot};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A public key trusted under a name (`release-key`), for managed-key bundles, DSSE envelopes
/// and cosign key signatures.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub name: String,
    pub key: PublicKey,
}

/// One named trust: what a signature must chain to, or be verified by, to count under it.
#[derive(Debug, Clone)]
pub struct TrustSet {
    pub name: String,
    /// The certificate authorities, transparency logs, CT logs and timestamp authorities.
    pub root: TrustedRoot,
    pub keys: Vec<TrustedKey>,
    /// The certificate identities (SAN) accepted; [`Matcher::Any`] records whichever signed, for
    /// policies to judge.
    pub identity: Matcher,
    /// The OIDC issuers accepted.
    pub issuer: Matcher,
}

impl TrustSet {
    /// A set named `name` that trusts one key (PEM) and nothing else: no certificate authority,
    /// no transparency log, so only signatures by that key verify under it.
    pub fn of_key(name: &str, pem: &str) -> Result<TrustSet, dossier_sigstore::keys::KeyError> {
        let key = PublicKey::from_pem(pem)?;
        let empty = br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[],"certificateAuthorities":[],"ctlogs":[],"timestampAuthorities":[]}"#;
        let root = TrustedRoot::from_json(empty).map_err(|e| dossier_sigstore::keys::KeyError(format!("an empty trusted root: {e}")))?;
        Ok(TrustSet {
            name: name.to_owned(),
            root,
            keys: vec![TrustedKey { name: name.to_owned(), key }],
            identity: Matcher::Any,
            issuer: Matcher::Any,
        })
    }

    /// The Sigstore public-good root shipped with Dossier, any identity of any issuer, no keys,
    /// named `default`.
    pub fn public_good() -> TrustSet {
        TrustSet {
            name: DEFAULT.to_owned(),
            root: TrustedRoot::public_good(),
            keys: Vec::new(),
            identity: Matcher::Any,
            issuer: Matcher::Any,
        }
    }

    /// A trust set as configured; `read` reads the files it names.
    pub fn configured(config: &TrustConfig, read: impl Fn(&Path) -> std::io::Result<Vec<u8>>) -> Result<TrustSet, TrustError> {
        let name = config.name.clone();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(TrustError::Name(name));
        }
        let file =
            |path: &PathBuf| read(path).map_err(|e| TrustError::Read { trust: name.clone(), path: path.clone(), reason: e.to_string() });
        let root = match &config.trusted_root {
            Some(path) => TrustedRoot::from_json(&file(path)?).map_err(|e| TrustError::Root {
                trust: name.clone(),
                path: path.clone(),
                reason: e.to_string(),
            })?,
            None => TrustedRoot::public_good(),
        };
        let mut keys = Vec::new();
        for (key_name, path) in &config.keys {
            let pem = String::from_utf8(file(path)?).map_err(|_| TrustError::Key {
                trust: name.clone(),
                key: key_name.clone(),
                path: path.clone(),
                reason: "not PEM text".into(),
            })?;
            let key = PublicKey::from_pem(&pem).map_err(|e| TrustError::Key {
                trust: name.clone(),
                key: key_name.clone(),
                path: path.clone(),
                reason: e.to_string(),
            })?;
            keys.push(TrustedKey { name: key_name.clone(), key });
        }
        let matcher = |what: &'static str, exact: &Option<String>, pattern: &Option<String>| match (exact, pattern) {
            (Some(_), Some(_)) => Err(TrustError::Both { trust: name.clone(), what }),
            (Some(e), None) => Ok(Matcher::Exact(e.clone())),
            (None, Some(p)) => Matcher::pattern(p).map_err(|e| TrustError::Pattern { trust: name.clone(), what, reason: e.to_string() }),
            (None, None) => Ok(Matcher::Any),
        };
        let identity = matcher("identity", &config.identity, &config.identity_pattern)?;
        let issuer = matcher("issuer", &config.issuer, &config.issuer_pattern)?;
        Ok(TrustSet { name, root, keys, identity, issuer })
    }
}

/// The name of the trust set Dossier starts with, and of the one `serve --trusted-root` and
/// `--trusted-key` make.
pub const DEFAULT: &str = "default";

/// A trust set as written in the configuration (TOML `[[trust]]`): a name, the trusted root
/// (default: the Sigstore public-good root shipped with Dossier), public keys by name (PEM
/// files), and the certificate identity and OIDC issuer accepted, exactly or by a pattern
/// matched against the whole value (default: any, recorded for policies to judge).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_root: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_pattern: Option<String>,
}

/// Why the configured trust cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("trust name {0:?}: a name is letters, digits, '-', '_' and '.', at least one")]
    Name(String),
    #[error("trust {0:?} is configured twice")]
    Duplicate(String),
    #[error("trust {trust:?}: reading {path}: {reason}")]
    Read { trust: String, path: PathBuf, reason: String },
    #[error("trust {trust:?}: trusted root {path}: {reason}")]
    Root { trust: String, path: PathBuf, reason: String },
    #[error("trust {trust:?}: key {key:?} ({path}): {reason}; give a PEM public key (cosign.pub)")]
    Key { trust: String, key: String, path: PathBuf, reason: String },
    #[error("trust {trust:?}: {what} and {what}_pattern exclude each other: give the exact value or a pattern")]
    Both { trust: String, what: &'static str },
    #[error("trust {trust:?}: {what}_pattern: {reason}")]
    Pattern { trust: String, what: &'static str, reason: String },
}

/// Most signatures of one DSSE envelope that are checked; more are recorded as not checked.
pub const MAX_ENVELOPE_SIGNATURES: usize = 16;

/// Every trust set configured. A signature verifies when it verifies under one of them; its
/// check names each one it verified under.
#[derive(Debug, Clone)]
pub struct Trust {
    pub sets: Vec<TrustSet>,
}

impl Default for Trust {
    /// The public-good root alone.
    fn default() -> Trust {
        Trust { sets: vec![TrustSet::public_good()] }
    }
}

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// A Sigstore bundle (certificate or managed key; message signature or DSSE envelope).
    SigstoreBundle,
    /// One signature of a DSSE envelope, with the configured keys.
    Dsse,
    /// A cosign key signature over a simple-signing payload, with the configured keys.
    CosignKey,
}

/// The outcome of checking one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub kind: CheckKind,
    pub verified: bool,
    /// The trust sets it verified under (empty when it did not verify).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trust: Vec<String>,
    /// The signing certificate's identity (its first SAN), or the name of the key that verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The OIDC issuer the certificate records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `sha256:<hex>` of the key that verified (a managed, DSSE or cosign key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A DSSE signature's key id, as stated (a hint, never trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
    /// The transparency log that recorded the signature, and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// When the signature existed at the latest, as the log or a timestamp authority says
    /// (RFC 3339); none for a bare key signature, which proves no time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Why it did not verify: under each trust set, the check that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a `dev.cdeventsx.dossier-signature.checked` entry holds (its `subject.content`): the
/// artifact, the entry whose signature was checked, and the check. Written and read only as this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    #[serde(rename = "artifactId")]
    pub artifact: String,
    pub entry: u64,
    pub check: Check,
}

impl Checked {
    /// Reads an entry's `subject.content`; `None` if it is not a check.
    pub fn from_content(content: &serde_json::Value) -> Option<Checked> {
        Checked::deserialize(content).ok()
    }
}

impl Check {
    fn new(kind: CheckKind) -> Check {
        Check {
            kind,
            verified: false,
            trust: Vec::new(),
            identity: None,
            issuer: None,
            key: None,
            keyid: None,
            log_url: None,
            log_index: None,
            time: None,
            reason: None,
        }
    }

    /// What the check comes to, in words: `verified under default`, or why it did not verify.
    pub fn said(&self) -> String {
        if self.verified {
            format!("verified under {}", self.trust.join(", "))
        } else {
            self.reason.clone().unwrap_or_else(|| "not verified".to_owned())
        }
    }

    /// A signature recorded without being checked, and why.
    pub fn not_checked(kind: CheckKind, reason: impl Into<String>) -> Check {
        Check::new(kind).refused(reason)
    }

    fn refused(mut self, reason: impl Into<String>) -> Check {
        self.verified = false;
        self.reason = Some(reason.into());
        self
    }

    /// Verified under `set`: the first set that verifies names the signer; later ones add
    /// their names.
    fn verified_under(&mut self, set: &str, signer: Signer) {
        if !self.verified {
            self.verified = true;
            self.identity = signer.identity;
            self.issuer = signer.issuer;
            self.key = signer.key;
            self.log_url = signer.log_url;
            self.log_index = signer.log_index;
            self.time = signer.time;
        }
        self.trust.push(set.to_owned());
    }

    /// Finishes a check: the reasons under each set when none verified.
    fn conclude(mut self, refusals: Vec<String>) -> Check {
        if !self.verified {
            self.reason = Some(if refusals.is_empty() { "no trust set is configured".to_owned() } else { refusals.join("; ") });
        }
        self
    }
}

#[derive(Default)]
struct Signer {
    identity: Option<String>,
    issuer: Option<String>,
    key: Option<String>,
    log_url: Option<String>,
    log_index: Option<u64>,
    time: Option<String>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The hash a key signs DSSE and simple-signing payloads with (cosign: SHA-256, SHA-384 for P-384).
fn hash_for(key: &PublicKey) -> HashAlg {
    match key {
        PublicKey::P384(_) => HashAlg::Sha384,
        _ => HashAlg::Sha256,
    }
}

impl Trust {
    /// The trust sets configured, each named once.
    pub fn configured(configs: &[TrustConfig], read: impl Fn(&Path) -> std::io::Result<Vec<u8>>) -> Result<Trust, TrustError> {
        let mut sets: Vec<TrustSet> = Vec::new();
        for c in configs {
            if sets.iter().any(|s| s.name == c.name) {
                return Err(TrustError::Duplicate(c.name.clone()));
            }
            sets.push(TrustSet::configured(c, &read)?);
        }
        Ok(Trust { sets })
    }

    /// The names of the trust sets, in order.
    pub fn names(&self) -> Vec<&str> {
        self.sets.iter().map(|s| s.name.as_str()).collect()
    }

    /// Checks a Sigstore bundle (its JSON) against the artifact whose SHA-256 is `artifact`, at
    /// `now`. A certificate must chain to a set's root and show an identity and issuer the set
    /// accepts; a managed-key bundle must verify with one of the set's keys.
    pub fn check_bundle(&self, json: &[u8], artifact: Option<[u8; 32]>, now: OffsetDateTime) -> Check {
        let check = Check::new(CheckKind::SigstoreBundle);
        let bundle = match Bundle::from_json(json) {
            Ok(b) => b,
            Err(refusal) => return check.refused(refusal.to_string()),
        };
        let Some(digest) = artifact else {
            return check.refused(
                "the artifact is named without a sha256 digest (no @sha256:… version, no checksum qualifier): there is nothing to verify the bundle against",
            );
        };
        self.check_read_bundle(&bundle, digest, now)
    }

    fn check_read_bundle(&self, bundle: &Bundle, digest: [u8; 32], now: OffsetDateTime) -> Check {
        let mut check = Check::new(CheckKind::SigstoreBundle);
        let mut refusals = Vec::new();
        let artifact = dossier_sigstore::Artifact::Sha256(digest);
        for set in &self.sets {
            let outcome = match &bundle.material {
                dossier_sigstore::bundle::Material::Certificates(_) => {
                    let expected = Expected::Identity { identity: set.identity.clone(), issuer: set.issuer.clone() };
                    dossier_sigstore::verify(bundle, artifact, &expected, &set.root, now).map(|v| (v, None))
                }
                dossier_sigstore::bundle::Material::PublicKey { .. } if set.keys.is_empty() => {
                    refusals.push(format!("{}: the bundle is signed with a key, and the trust set has no keys", set.name));
                    continue;
                }
                dossier_sigstore::bundle::Material::PublicKey { .. } => {
                    let mut last = None;
                    let mut found = None;
                    for k in &set.keys {
                        match dossier_sigstore::verify(bundle, artifact, &Expected::Key(k.key.clone()), &set.root, now) {
                            Ok(v) => {
                                found = Some((v, Some(k)));
                                break;
                            }
                            Err(e) => last = Some(e),
                        }
                    }
                    match (found, last) {
                        (Some(f), _) => Ok(f),
                        (None, Some(e)) => Err(e),
                        (None, None) => continue,
                    }
                }
            };
            match outcome {
                Ok((v, key)) => {
                    let log = v.log_entries.first();
                    check.verified_under(
                        &set.name,
                        Signer {
                            identity: Some(key.map_or_else(|| v.identity().to_owned(), |k| k.name.clone())),
                            issuer: v.issuer().map(str::to_owned),
                            key: key.map(|k| k.key.fingerprint()),
                            log_url: log.map(|l| l.log_url.clone()),
                            log_index: log.map(|l| l.index),
                            time: Some(rfc3339(v.signed_at)),
                        },
                    )
                }
                Err(refusal) => refusals.push(format!("{}: {refusal}", set.name)),
            }
        }
        check.conclude(refusals)
    }

    /// Checks each signature of a DSSE envelope (its JSON) with the configured keys. The
    /// statement's subjects are bound to the artifact elsewhere (`binding::check_subjects`).
    pub fn check_envelope(&self, json: &[u8]) -> Vec<Check> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Sig {
            #[serde(default)]
            keyid: Option<String>,
            #[serde(default)]
            sig: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            payload_type: String,
            payload: String,
            #[serde(default)]
            signatures: Vec<Sig>,
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let raw: Raw = match serde_json::from_slice(json) {
            Ok(r) => r,
            Err(e) => return vec![Check::new(CheckKind::Dsse).refused(format!("the envelope does not read: {e}"))],
        };
        let payload = match b64.decode(raw.payload.trim()) {
            Ok(p) => p,
            Err(_) => return vec![Check::new(CheckKind::Dsse).refused("the envelope's payload is not standard base64")],
        };
        let pae = Envelope { payload_type: raw.payload_type, payload, signature: Vec::new() }.pae();
        let keys = self.sets.iter().map(|s| s.keys.len()).sum::<usize>();
        let beyond = raw.signatures.len().saturating_sub(MAX_ENVELOPE_SIGNATURES);
        let mut checks: Vec<Check> = raw
            .signatures
            .into_iter()
            .take(MAX_ENVELOPE_SIGNATURES)
            .enumerate()
            .map(|(i, s)| {
                let mut check = Check::new(CheckKind::Dsse);
                check.keyid = s.keyid.filter(|k| !k.is_empty());
                let Ok(signature) = b64.decode(s.sig.trim()) else {
                    return check.refused(format!("signatures[{i}].sig is not standard base64"));
                };
                if keys == 0 {
                    return check.refused("no public key is configured to verify DSSE signatures with (serve --trusted-key NAME=FILE)");
                }
                self.check_with_keys(check, |key| key.verify(hash_for(key), &pae, &signature).is_ok())
            })
            .collect();
        // The rest are said in one check, however many there are: what is recorded stays bounded.
        if beyond > 0 {
            checks
                .push(Check::new(CheckKind::Dsse).refused(format!(
                    "not checked: {beyond} more signatures; only the first {MAX_ENVELOPE_SIGNATURES} of an envelope are"
                )));
        }
        checks
    }

    /// Checks a cosign key signature (base64) over a simple-signing `payload` that must name the
    /// image whose manifest digest is `sha256` (hex), with the configured keys.
    pub fn check_cosign(&self, payload: &[u8], signature: &str, sha256: &str) -> Check {
        let check = Check::new(CheckKind::CosignKey);
        if self.sets.iter().all(|s| s.keys.is_empty()) {
            return check.refused("no public key is configured to verify cosign key signatures with (serve --trusted-key NAME=FILE)");
        }
        let mut refusal = None;
        let check =
            self.check_with_keys(check, |key| match dossier_sigstore::cosign::verify_simple_signing(payload, signature, key, sha256) {
                Ok(()) => true,
                Err(e) => {
                    // A payload about another image is the one refusal worth naming over "no key".
                    if refusal.is_none() || matches!(e, dossier_sigstore::Refusal::ArtifactDigestMismatch) {
                        refusal = Some(e);
                    }
                    false
                }
            });
        match (check.verified, refusal) {
            (false, Some(dossier_sigstore::Refusal::ArtifactDigestMismatch)) => {
                check.refused("the simple-signing payload names another image digest than the artifact's")
            }
            (false, Some(dossier_sigstore::Refusal::BadStatement(why))) => check.refused(why),
            _ => check,
        }
    }

    /// Tries every key of every set; the check names the first key that verifies.
    fn check_with_keys(&self, mut check: Check, mut verifies: impl FnMut(&PublicKey) -> bool) -> Check {
        let mut tried = Vec::new();
        for set in &self.sets {
            if let Some(k) = set.keys.iter().find(|k| verifies(&k.key)) {
                check.verified_under(
                    &set.name,
                    Signer { identity: Some(k.name.clone()), key: Some(k.key.fingerprint()), ..Signer::default() },
                );
            } else {
                tried.extend(set.keys.iter().map(|k| format!("{} ({})", k.name, set.name)));
            }
        }
        if check.verified {
            return check;
        }
        check.refused(format!("no configured key verifies the signature (tried {})", tried.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;

    fn signing_key(seed: u8) -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap()
    }

    fn trust_with_key(name: &str, seed: u8) -> Trust {
        let key = PublicKey::P256(*signing_key(seed).verifying_key());
        let mut set = TrustSet::public_good();
        set.name = "release".into();
        set.keys.push(TrustedKey { name: name.into(), key });
        Trust { sets: vec![set] }
    }

    fn envelope(signer: &p256::ecdsa::SigningKey, payload: &[u8], tamper: bool) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let pae = Envelope { payload_type: "application/vnd.in-toto+json".into(), payload: payload.to_vec(), signature: vec![] }.pae();
        let sig: p256::ecdsa::Signature = signer.sign(&pae);
        let sent = if tamper { [payload, b" "].concat() } else { payload.to_vec() };
        serde_json::to_vec(&serde_json::json!({
            "payloadType": "application/vnd.in-toto+json",
            "payload": b64.encode(sent),
            "signatures": [{"keyid": "release", "sig": b64.encode(sig.to_der().as_bytes())}],
        }))
        .unwrap()
    }

    #[test]
    fn an_envelope_signed_by_a_configured_key_verifies_under_its_set_and_names_the_key() {
        let trust = trust_with_key("ci-key", 7);
        let checks = trust.check_envelope(&envelope(&signing_key(7), b"{}", false));
        assert_eq!(checks.len(), 1);
        let c = &checks[0];
        assert_eq!(
            (c.kind, c.verified, c.trust.clone(), c.identity.as_deref()),
            (CheckKind::Dsse, true, vec!["release".into()], Some("ci-key"))
        );
        assert_eq!(c.key.as_deref(), Some(PublicKey::P256(*signing_key(7).verifying_key()).fingerprint().as_str()));
        assert_eq!((c.keyid.as_deref(), c.reason.as_deref(), c.time.as_deref()), (Some("release"), None, None));
    }

    #[test]
    fn a_changed_payload_or_another_key_does_not_verify_and_says_which_keys_were_tried() {
        let trust = trust_with_key("ci-key", 7);
        for doc in [envelope(&signing_key(7), b"{}", true), envelope(&signing_key(8), b"{}", false)] {
            let c = &trust.check_envelope(&doc)[0];
            assert!(!c.verified);
            assert!(c.trust.is_empty() && c.identity.is_none());
            assert_eq!(c.reason.as_deref(), Some("no configured key verifies the signature (tried ci-key (release))"));
        }
        let none = Trust::default().check_envelope(&envelope(&signing_key(7), b"{}", false));
        assert_eq!(
            none[0].reason.as_deref(),
            Some("no public key is configured to verify DSSE signatures with (serve --trusted-key NAME=FILE)")
        );
    }

    #[test]
    fn an_envelope_with_more_signatures_than_are_checked_records_one_check_for_the_rest() {
        let trust = trust_with_key("ci-key", 7);
        let mut doc: serde_json::Value = serde_json::from_slice(&envelope(&signing_key(7), b"{}", false)).unwrap();
        let one = doc["signatures"][0].clone();
        doc["signatures"] = serde_json::Value::Array(vec![one; 1000]);
        let checks = trust.check_envelope(&serde_json::to_vec(&doc).unwrap());
        assert_eq!(checks.len(), MAX_ENVELOPE_SIGNATURES + 1);
        assert!(checks[..MAX_ENVELOPE_SIGNATURES].iter().all(|c| c.verified));
        let rest = checks.last().unwrap();
        assert_eq!(
            (rest.verified, rest.reason.as_deref()),
            (false, Some("not checked: 984 more signatures; only the first 16 of an envelope are"))
        );
    }

    #[test]
    fn a_bundle_that_does_not_read_or_has_nothing_to_verify_against_is_refused_with_the_reason() {
        let trust = Trust::default();
        let now = OffsetDateTime::now_utc();
        let c = trust.check_bundle(b"{}", Some([0; 32]), now);
        assert_eq!((c.kind, c.verified), (CheckKind::SigstoreBundle, false));
        assert!(c.reason.unwrap().starts_with("the bundle does not read"));
        let bundle = br#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
        let c = trust.check_bundle(bundle, None, now);
        assert!(c.reason.unwrap().starts_with("the bundle does not read"), "read first, so a broken bundle is said so");
    }

    #[test]
    fn a_configured_trust_reads_its_files_and_refuses_what_it_cannot_use_by_name() {
        let der = PublicKey::P256(*signing_key(7).verifying_key()).to_spki_der();
        let pem =
            format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", base64::engine::general_purpose::STANDARD.encode(der));
        let read = |p: &Path| match p.to_str() {
            Some("cosign.pub") => Ok(pem.as_bytes().to_vec()),
            Some("root.json") => Ok(b"{}".to_vec()),
            _ => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")),
        };
        let config = |name: &str| TrustConfig { name: name.into(), ..TrustConfig::default() };
        let with_key = TrustConfig {
            keys: BTreeMap::from([("release".to_owned(), PathBuf::from("cosign.pub"))]),
            identity_pattern: Some(r"https://github\.com/acme/.*".into()),
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            ..config("production")
        };
        let trust = Trust::configured(&[with_key.clone(), config("staging")], read).unwrap();
        assert_eq!(trust.names(), ["production", "staging"]);
        assert_eq!(trust.sets[0].keys[0].name, "release");
        assert_eq!(trust.sets[0].identity.to_string(), r"matching /https://github\.com/acme/.*/");
        assert_eq!(trust.sets[1].identity.to_string(), "any");
        let refused = |c: TrustConfig| Trust::configured(&[c], read).unwrap_err().to_string();
        assert_eq!(
            refused(TrustConfig { trusted_root: Some("missing.json".into()), ..config("x") }),
            "trust \"x\": reading missing.json: No such file or directory"
        );
        assert!(refused(TrustConfig { trusted_root: Some("root.json".into()), ..config("x") })
            .starts_with("trust \"x\": trusted root root.json: "));
        assert_eq!(
            refused(TrustConfig { identity: Some("a".into()), identity_pattern: Some("b".into()), ..config("x") }),
            "trust \"x\": identity and identity_pattern exclude each other: give the exact value or a pattern"
        );
        assert_eq!(refused(config("a b")), "trust name \"a b\": a name is letters, digits, '-', '_' and '.', at least one");
        assert_eq!(Trust::configured(&[config("x"), config("x")], read).unwrap_err(), TrustError::Duplicate("x".into()));
    }

    #[test]
    fn a_check_reads_back_as_it_was_recorded() {
        let trust = trust_with_key("ci-key", 7);
        let c = trust.check_envelope(&envelope(&signing_key(7), b"{}", false)).remove(0);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["kind"], "dsse");
        assert_eq!(serde_json::from_value::<Check>(json).unwrap(), c);
    }
}
