//! The verification of a bundle, in order: the signer's material and what was expected of it;
//! the signature over the artifact (or the DSSE envelope, bound to the artifact by its
//! subjects); each transparency-log entry (what it records, its signed entry timestamp, its
//! inclusion proof and checkpoint); each signed timestamp; then, at every verified time, the
//! certificate's chain to the trusted root, its SCT, its identity and issuer.

use der::Decode;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::bundle::{Bundle, Content, Material, Version};
use crate::cert;
use crate::error::Refusal;
use crate::keys::{HashAlg, PublicKey, SignatureError};
use crate::policy::Expected;
use crate::rekor::{self, Verifier};
use crate::root::TrustedRoot;
use crate::statement::{Statement, IN_TOTO_PAYLOAD_TYPE};
use crate::{rekor::Recorded, show, tsa};

/// The artifact a bundle is verified against.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    /// Only its SHA-256 digest is known (an image digest, a document's address).
    Sha256([u8; 32]),
}

impl Artifact<'_> {
    pub fn sha256(&self) -> [u8; 32] {
        match self {
            Artifact::Bytes(b) => Sha256::digest(b).into(),
            Artifact::Sha256(d) => *d,
        }
    }
}

/// Who signed, as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    Certificate {
        /// The certificate's identities (SAN): the first is the one a result names.
        identities: Vec<String>,
        /// The OIDC issuer Fulcio recorded.
        issuer: Option<String>,
    },
    Key {
        /// `sha256:<hex>` of the key's DER `SubjectPublicKeyInfo`.
        fingerprint: String,
    },
}

/// A transparency-log entry that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub log_url: String,
    /// Hex of the log's id.
    pub log_id: String,
    pub index: u64,
    /// The time the log says it integrated the entry (Rekor v1, with a verified promise).
    pub integrated_time: Option<OffsetDateTime>,
}

/// What a verified bundle proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub signer: Signer,
    /// The in-toto statement of a DSSE bundle.
    pub statement: Option<Statement>,
    pub log_entries: Vec<LogEntry>,
    /// The times of the signed timestamps (RFC 3161) that verified.
    pub timestamps: Vec<OffsetDateTime>,
    /// The earliest verified time: when the signature existed at the latest.
    pub signed_at: OffsetDateTime,
}

impl Verified {
    /// The identity a result names: the certificate's first SAN, or the key's fingerprint.
    pub fn identity(&self) -> &str {
        match &self.signer {
            Signer::Certificate { identities, .. } => identities.first().map(String::as_str).unwrap_or_default(),
            Signer::Key { fingerprint } => fingerprint,
        }
    }

    pub fn issuer(&self) -> Option<&str> {
        match &self.signer {
            Signer::Certificate { issuer, .. } => issuer.as_deref(),
            Signer::Key { .. } => None,
        }
    }
}

fn bad_signature(e: SignatureError) -> Refusal {
    match e {
        SignatureError::NeedsMessage => Refusal::NeedArtifactBytes,
        SignatureError::Encoding | SignatureError::Invalid => Refusal::BadSignature,
    }
}

/// Verifies `bundle` against `artifact`, as `expected`, with `root`; `now` is the time of
/// verification (a log entry integrated after it is refused).
pub fn verify(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    expected: &Expected,
    root: &TrustedRoot,
    now: OffsetDateTime,
) -> Result<Verified, Refusal> {
    // 1. The signer's material, and what was expected of it.
    let (leaf, key) = match (&bundle.material, expected) {
        (Material::Certificates(_), Expected::Key(_)) => return Err(Refusal::CertificateWhereKeyExpected),
        (Material::PublicKey { .. }, Expected::Identity { .. }) => return Err(Refusal::NoKeyConfigured),
        (Material::PublicKey { .. }, Expected::Key(key)) => (None, key.clone()),
        (Material::Certificates(ders), Expected::Identity { .. }) => {
            let first = ders.first().ok_or(Refusal::EmptyCertificateChain)?;
            let leaf = Certificate::from_der(first).map_err(|e| Refusal::BadCertificate(e.to_string()))?;
            for der in &ders[1..] {
                let c = Certificate::from_der(der).map_err(|e| Refusal::BadCertificate(e.to_string()))?;
                if cert::is_self_signed(&c) {
                    return Err(Refusal::RootCertificateInBundle);
                }
            }
            if cert::is_ca(&leaf) {
                return Err(Refusal::NotCodeSigning("it is a certificate authority"));
            }
            if !cert::has_code_signing(&leaf) {
                return Err(Refusal::NotCodeSigning("it lacks the code-signing extended key usage"));
            }
            let key = cert::public_key(&leaf).map_err(Refusal::BadCertificate)?;
            (Some((leaf, first.as_slice())), key)
        }
    };

    // 2. The signature, over the artifact or the envelope bound to it.
    let artifact_digest = artifact.sha256();
    let statement = match &bundle.content {
        Content::Message { digest, signature } => {
            if let Some(d) = digest {
                if d.algorithm != "SHA2_256" || d.digest != artifact_digest {
                    return Err(Refusal::ArtifactDigestMismatch);
                }
            }
            match artifact {
                Artifact::Bytes(bytes) => root.signatures.verify_sha256_known(&key, HashAlg::Sha256, bytes, &artifact_digest, signature),
                Artifact::Sha256(d) => root.signatures.verify_digest(&key, HashAlg::Sha256, &d, signature),
            }
            .map_err(bad_signature)?;
            None
        }
        Content::Dsse(envelope) => {
            root.signatures.verify(&key, HashAlg::Sha256, &envelope.pae(), &envelope.signature).map_err(bad_signature)?;
            if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
                return Err(Refusal::BadStatement(format!("payload type {:?}", envelope.payload_type)));
            }
            let statement = Statement::from_json(&envelope.payload).map_err(Refusal::BadStatement)?;
            if !statement.has_subject_sha256(&artifact_digest) {
                return Err(Refusal::SubjectMismatch);
            }
            Some(statement)
        }
    };

    // 3. The transparency-log entries.
    if bundle.tlog_entries.is_empty() {
        return Err(Refusal::NoLogEntry);
    }
    let mut times = Vec::new();
    let mut log_entries = Vec::new();
    let mut untimed_logs = Vec::new();
    for entry in &bundle.tlog_entries {
        let log = root.tlog(&entry.log_id).ok_or_else(|| Refusal::UnknownLog(hex::encode(&entry.log_id)))?;
        let recorded = rekor::recorded(entry)?;
        check_recorded(&recorded, bundle, leaf.as_ref().map(|(_, der)| *der), &key, &artifact_digest)?;
        let integrated = match &entry.inclusion_promise {
            Some(set) => {
                let secs = rekor::verify_promise(entry, set, log, &root.signatures)?;
                let t = OffsetDateTime::from_unix_timestamp(secs).map_err(|e| Refusal::BadLogEntry(e.to_string()))?;
                if t > now {
                    return Err(Refusal::IntegratedTimeInFuture { integrated: show(t), now: show(now) });
                }
                if !log.valid.contains(t) {
                    return Err(Refusal::LogKeyNotValid(show(t)));
                }
                times.push(t);
                Some(t)
            }
            None if bundle.version == Version::V0_1 => return Err(Refusal::MissingInclusionPromise),
            None => {
                untimed_logs.push(log);
                None
            }
        };
        match &entry.inclusion_proof {
            Some(proof) => rekor::verify_proof(entry, proof, log, &root.signatures)?,
            None if bundle.version >= Version::V0_2 || integrated.is_none() => return Err(Refusal::MissingInclusionProof),
            None => {}
        }
        log_entries.push(LogEntry {
            log_url: log.base_url.clone(),
            log_id: hex::encode(&entry.log_id),
            index: entry.log_index,
            integrated_time: integrated,
        });
    }

    // 4. The signed timestamps.
    let mut timestamps = Vec::new();
    for (index, ts) in bundle.timestamps.iter().enumerate() {
        let t = tsa::verify(ts, bundle.signature(), &root.timestamp_authorities, &root.signatures)
            .map_err(|reason| Refusal::Timestamp { index, reason })?;
        timestamps.push(t);
    }
    for log in untimed_logs {
        if let Some(t) = timestamps.iter().find(|t| !log.valid.contains(**t)) {
            return Err(Refusal::LogKeyNotValid(show(*t)));
        }
    }
    times.extend(&timestamps);
    let signed_at = times.iter().min().copied().ok_or(Refusal::NoVerifiedTime)?;

    // 5. The certificate, at every verified time.
    let signer = match (leaf, expected) {
        (Some((leaf, der)), Expected::Identity { identity, issuer }) => {
            verify_certificate(&leaf, der, &times, root)?;
            let identities = cert::identities(&leaf);
            if !identities.iter().any(|i| identity.matches(i)) {
                return Err(Refusal::IdentityMismatch { expected: identity.to_string(), found: identities });
            }
            let oidc = cert::oidc_issuer(&leaf);
            if !oidc.as_deref().is_some_and(|i| issuer.matches(i)) {
                return Err(Refusal::IssuerMismatch { expected: issuer.to_string(), found: oidc });
            }
            Signer::Certificate { identities, issuer: oidc }
        }
        _ => Signer::Key { fingerprint: key.fingerprint() },
    };
    Ok(Verified { signer, statement, log_entries, timestamps, signed_at })
}

/// The entry must record this bundle: its signer, its signature and what it signs.
fn check_recorded(
    recorded: &Recorded,
    bundle: &Bundle,
    leaf_der: Option<&[u8]>,
    key: &PublicKey,
    artifact_digest: &[u8; 32],
) -> Result<(), Refusal> {
    let same_signer = match (&recorded.verifier, leaf_der) {
        (Verifier::Certificate(der), Some(leaf)) => der == leaf,
        (Verifier::Key(spki), None) => PublicKey::from_spki_der(spki).is_ok_and(|k| &k == key),
        _ => false,
    };
    if !same_signer {
        return Err(Refusal::LogEntryMismatch("another signer"));
    }
    if recorded.signature != bundle.signature() {
        return Err(Refusal::LogEntryMismatch("another signature"));
    }
    let expected_digest: Vec<u8> = match (&bundle.content, recorded.of_payload) {
        (Content::Message { .. }, false) => artifact_digest.to_vec(),
        (Content::Dsse(e), true) => Sha256::digest(&e.payload).to_vec(),
        // Rekor v2 logs a DSSE envelope as a hashedrekord of its PAE.
        (Content::Dsse(e), false) => Sha256::digest(e.pae()).to_vec(),
        (Content::Message { .. }, true) => return Err(Refusal::LogEntryMismatch("an envelope, where the bundle signs a message")),
    };
    if recorded.digest != expected_digest {
        return Err(Refusal::LogEntryMismatch(match bundle.content {
            Content::Message { .. } => "another artifact digest",
            Content::Dsse(_) => "another envelope",
        }));
    }
    Ok(())
}

/// The leaf chains to a certificate authority of the root valid at every time, and was
/// valid itself then, and carries an SCT of a CT log of the root.
fn verify_certificate(leaf: &Certificate, der: &[u8], times: &[OffsetDateTime], root: &TrustedRoot) -> Result<(), Refusal> {
    for &t in times {
        if !cert::valid_at(leaf, t) {
            return Err(Refusal::TimeOutsideCertificateValidity {
                time: show(t),
                not_before: show(cert::not_before(leaf)),
                not_after: show(cert::not_after(leaf)),
            });
        }
    }
    let issuers = root.issuers_of(der, leaf).into_iter().map(|i| &root.certificate_authorities[i]);
    let mut trusted = None;
    let mut refused_at = times[0];
    for ca in issuers {
        match times.iter().find(|&&t| !ca.valid.contains(t) || !ca.chain.iter().all(|c| cert::valid_at(c, t))) {
            None => {
                trusted = Some(ca);
                break;
            }
            Some(&t) => refused_at = t,
        }
    }
    let ca = trusted.ok_or_else(|| Refusal::UntrustedCertificate(show(refused_at)))?;
    let ct_log_key = |id: &[u8]| root.ctlogs.iter().find(|l| l.id == id).map(|l| &l.key);
    if !cert::has_valid_sct(leaf, &ca.chain[0], ct_log_key, &root.certificate_signatures) {
        return Err(Refusal::NoValidSct);
    }
    Ok(())
}
