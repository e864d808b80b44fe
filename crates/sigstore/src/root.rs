//! The trusted root (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`): the
//! transparency logs, certificate authorities, CT logs and timestamp authorities a verifier
//! trusts, each with the period it is trusted for.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use der::Decode;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::cert;
use crate::error::RootError;
use crate::keys::PublicKey;
use crate::memory::SignatureMemory;

/// The Sigstore public-good instance's trusted root, shipped with the binary.
pub const PUBLIC_GOOD: &str = include_str!("../trusted_root.production.json");

/// A closed period: `start <= t <= end` (no end: open-ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub start: OffsetDateTime,
    pub end: Option<OffsetDateTime>,
}

impl Validity {
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.start <= t && self.end.is_none_or(|end| t <= end)
    }
}

/// A transparency log (Rekor) or a certificate transparency log.
#[derive(Debug, Clone)]
pub struct Log {
    pub base_url: String,
    /// The log's id: SHA-256 of its key's DER `SubjectPublicKeyInfo` (Rekor v1, CT), or the id
    /// the trusted root gives (Rekor v2).
    pub id: Vec<u8>,
    pub key: PublicKey,
    pub valid: Validity,
}

/// A certificate authority or a timestamp authority: its chain, issuing certificate first.
#[derive(Debug, Clone)]
pub struct Authority {
    pub uri: String,
    pub chain: Vec<Certificate>,
    /// Each certificate's DER, in the chain's order.
    pub chain_der: Vec<Vec<u8>>,
    pub valid: Validity,
}

#[derive(Debug)]
pub struct TrustedRoot {
    pub tlogs: Vec<Log>,
    pub ctlogs: Vec<Log>,
    pub certificate_authorities: Vec<Authority>,
    pub timestamp_authorities: Vec<Authority>,
    /// Signing certificates whose signature by a certificate authority of this root verified:
    /// SHA-256 of the certificate's DER → the authorities' indexes. A certificate signs many
    /// artifacts (one CI run), and its issuer's signature (P-384) is the dearest check of a
    /// bundle; only that signature is remembered, every time check is made each time.
    issued: std::sync::Mutex<std::collections::HashMap<[u8; 32], Vec<usize>>>,
    /// The signatures over a certificate's own bytes that verified (its embedded SCTs): like
    /// `issued`, what a certificate seen before need not have checked again.
    pub(crate) certificate_signatures: SignatureMemory,
    /// The other signatures that verified: over the artifact or envelope, signed entry
    /// timestamps, checkpoints, RFC 3161 timestamps. Each is a bundle's own, so it is found again
    /// only when the same bundle (or the same checkpoint) is verified again.
    pub(crate) signatures: SignatureMemory,
}

/// How many signing certificates a root remembers before it forgets them all.
const ISSUED_CAPACITY: usize = crate::memory::CAPACITY;

impl Clone for TrustedRoot {
    fn clone(&self) -> TrustedRoot {
        TrustedRoot {
            tlogs: self.tlogs.clone(),
            ctlogs: self.ctlogs.clone(),
            certificate_authorities: self.certificate_authorities.clone(),
            timestamp_authorities: self.timestamp_authorities.clone(),
            issued: Default::default(),
            certificate_signatures: Default::default(),
            signatures: Default::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootJson {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<LogJson>,
    #[serde(default)]
    ctlogs: Vec<LogJson>,
    #[serde(default)]
    certificate_authorities: Vec<AuthorityJson>,
    #[serde(default)]
    timestamp_authorities: Vec<AuthorityJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogJson {
    #[serde(default)]
    base_url: String,
    public_key: KeyJson,
    log_id: LogIdJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyJson {
    raw_bytes: String,
    #[serde(default)]
    key_details: String,
    valid_for: Option<ValidityJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogIdJson {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorityJson {
    #[serde(default)]
    uri: String,
    cert_chain: ChainJson,
    valid_for: Option<ValidityJson>,
}

#[derive(Deserialize)]
pub(crate) struct ChainJson {
    pub certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawBytes {
    pub raw_bytes: String,
}

#[derive(Deserialize)]
struct ValidityJson {
    start: Option<String>,
    end: Option<String>,
}

const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

impl TrustedRoot {
    /// The Sigstore public-good root shipped with Dossier.
    pub fn public_good() -> TrustedRoot {
        TrustedRoot::from_json(PUBLIC_GOOD.as_bytes()).expect("the shipped trusted root reads")
    }

    pub fn from_json(json: &[u8]) -> Result<TrustedRoot, RootError> {
        let root: RootJson = serde_json::from_slice(json).map_err(|e| RootError::Malformed(e.to_string()))?;
        if root.media_type != MEDIA_TYPE {
            return Err(RootError::Malformed(format!("media type {:?}, expected {MEDIA_TYPE:?}", root.media_type)));
        }
        let logs = |logs: Vec<LogJson>, kind: &str| -> Result<Vec<Log>, RootError> {
            logs.into_iter()
                .map(|l| {
                    let what = format!("{kind} {}", if l.base_url.is_empty() { &l.log_id.key_id } else { &l.base_url });
                    let bad = |reason: String| RootError::BadKey { what: what.clone(), reason };
                    let raw = B64.decode(&l.public_key.raw_bytes).map_err(|_| bad("key is not base64".into()))?;
                    let key = if l.public_key.key_details.starts_with("PKCS1_RSA") {
                        PublicKey::from_pkcs1_der(&raw).or_else(|_| PublicKey::from_spki_der(&raw))
                    } else {
                        PublicKey::from_spki_der(&raw)
                    }
                    .map_err(|e| bad(e.0))?;
                    let id = B64.decode(&l.log_id.key_id).map_err(|_| bad("log id is not base64".into()))?;
                    Ok(Log { base_url: l.base_url, id, key, valid: validity(l.public_key.valid_for, &what)? })
                })
                .collect()
        };
        let authorities = |auths: Vec<AuthorityJson>, kind: &str| -> Result<Vec<Authority>, RootError> {
            auths
                .into_iter()
                .map(|a| {
                    let what = format!("{kind} {}", a.uri);
                    let bad = |reason: String| RootError::BadCertificate { what: what.clone(), reason };
                    let chain_der = a
                        .cert_chain
                        .certificates
                        .iter()
                        .map(|c| B64.decode(&c.raw_bytes).map_err(|_| bad("certificate is not base64".into())))
                        .collect::<Result<Vec<_>, _>>()?;
                    if chain_der.is_empty() {
                        return Err(bad("empty certificate chain".into()));
                    }
                    let chain = chain_der
                        .iter()
                        .map(|d| Certificate::from_der(d).map_err(|e| bad(e.to_string())))
                        .collect::<Result<Vec<_>, _>>()?;
                    for i in 0..chain.len() {
                        let issuer = chain.get(i + 1).unwrap_or(&chain[i]);
                        cert::verify_issued_by(&chain_der[i], &chain[i], issuer)
                            .map_err(|e| bad(format!("certificate {i} of the chain: {e}")))?;
                    }
                    Ok(Authority { uri: a.uri, chain, chain_der, valid: validity(a.valid_for, &what)? })
                })
                .collect()
        };
        Ok(TrustedRoot {
            tlogs: logs(root.tlogs, "transparency log")?,
            ctlogs: logs(root.ctlogs, "CT log")?,
            certificate_authorities: authorities(root.certificate_authorities, "certificate authority")?,
            timestamp_authorities: authorities(root.timestamp_authorities, "timestamp authority")?,
            issued: Default::default(),
            certificate_signatures: Default::default(),
            signatures: Default::default(),
        })
    }

    /// The indexes of the certificate authorities whose issuing certificate signed the
    /// certificate `der` (`cert`), remembered once verified.
    pub(crate) fn issuers_of(&self, der: &[u8], cert: &Certificate) -> Vec<usize> {
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(der).into();
        if let Some(found) = self.issued.lock().unwrap_or_else(|e| e.into_inner()).get(&digest) {
            return found.clone();
        }
        let found: Vec<usize> = (0..self.certificate_authorities.len())
            .filter(|&i| cert::verify_issued_by(der, cert, &self.certificate_authorities[i].chain[0]).is_ok())
            .collect();
        if !found.is_empty() {
            let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
            if issued.len() >= ISSUED_CAPACITY {
                issued.clear();
            }
            issued.insert(digest, found.clone());
        }
        found
    }

    /// Forgets the signing certificates verified so far, their issuers' signatures and their
    /// SCTs (to measure a first sight of each).
    pub fn forget_verified_certificates(&self) {
        self.issued.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.certificate_signatures.clear();
    }

    /// Forgets the other signatures verified so far: over artifacts and envelopes, signed entry
    /// timestamps, checkpoints and RFC 3161 timestamps (to measure new bundles of a certificate
    /// seen before).
    pub fn forget_verified_signatures(&self) {
        self.signatures.clear();
    }

    pub(crate) fn tlog(&self, id: &[u8]) -> Option<&Log> {
        self.tlogs.iter().find(|l| l.id == id)
    }
}

fn validity(v: Option<ValidityJson>, what: &str) -> Result<Validity, RootError> {
    let v = v.ok_or_else(|| RootError::MissingValidityStart(what.to_owned()))?;
    let start = v.start.ok_or_else(|| RootError::MissingValidityStart(what.to_owned()))?;
    let parse = |s: &str| OffsetDateTime::parse(s, &Rfc3339).map_err(|e| RootError::Malformed(format!("{what}: validity time {s:?}: {e}")));
    Ok(Validity { start: parse(&start)?, end: v.end.as_deref().map(parse).transpose()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_public_good_root_reads() {
        let root = TrustedRoot::public_good();
        assert_eq!(root.tlogs.len(), 2);
        assert_eq!(root.certificate_authorities.len(), 2);
        assert_eq!(root.ctlogs.len(), 2);
        assert_eq!(root.timestamp_authorities.len(), 1);
        assert_eq!(hex::encode(&root.tlogs[0].id[..4]), "c0d23d6a", "Rekor v1's log id, the key hint of its checkpoints");
    }

    #[test]
    fn a_validity_end_is_inclusive() {
        let t = |s| OffsetDateTime::parse(s, &Rfc3339).unwrap();
        let v = Validity { start: t("2025-01-01T00:00:00Z"), end: Some(t("2025-06-12T12:02:20Z")) };
        assert!(v.contains(t("2025-06-12T12:02:20Z")));
        assert!(!v.contains(t("2025-06-12T12:02:21Z")));
        assert!(!v.contains(t("2024-12-31T23:59:59Z")));
    }
}
