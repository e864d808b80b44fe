//! Every refusal, typed: which check failed, and enough to say why.

/// Why a bundle (or what it was verified against) is refused. Each variant names one check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // Reading the bundle.
    #[error("the bundle does not read: {0}")]
    Malformed(String),
    #[error("unsupported bundle media type {0:?} (v0.1, v0.2 and v0.3 are known)")]
    UnsupportedMediaType(String),
    #[error("{0} is not valid base64")]
    Base64(&'static str),
    #[error("the bundle has neither a message signature nor a DSSE envelope")]
    NoContent,
    #[error("the DSSE envelope does not carry exactly one signature (it has {0})")]
    DsseSignatureCount(usize),

    // The trusted root.
    #[error("the trusted root is refused: {0}")]
    TrustedRoot(#[from] RootError),

    // Verification material and what was expected of it.
    #[error("the bundle's certificate chain is empty")]
    EmptyCertificateChain,
    #[error("the bundle carries a self-signed root certificate; roots come from the trusted root only")]
    RootCertificateInBundle,
    #[error("certificate does not parse: {0}")]
    BadCertificate(String),
    #[error("the bundle is signed with a key, and no public key was given to verify it with")]
    NoKeyConfigured,
    #[error("a public key was given, and the bundle is signed with a certificate")]
    CertificateWhereKeyExpected,
    #[error("the public key does not parse: {0}")]
    BadPublicKey(String),
    #[error("unsupported key or signature algorithm: {0}")]
    UnsupportedAlgorithm(String),

    // The certificate.
    #[error("the signing certificate does not chain to a certificate authority of the trusted root valid at {0}")]
    UntrustedCertificate(String),
    #[error("the signing certificate is not a code-signing leaf: {0}")]
    NotCodeSigning(&'static str),
    #[error("the signing certificate has no signed certificate timestamp from a CT log of the trusted root that verifies")]
    NoValidSct,
    #[error("signing time {time} is outside the signing certificate's validity ({not_before} to {not_after})")]
    TimeOutsideCertificateValidity { time: String, not_before: String, not_after: String },
    #[error("the certificate's identity {found:?} is not the one expected ({expected})")]
    IdentityMismatch { expected: String, found: Vec<String> },
    #[error("the certificate's OIDC issuer {found:?} is not the one expected ({expected})")]
    IssuerMismatch { expected: String, found: Option<String> },

    // The signature and the artifact.
    #[error("the artifact's digest is not the one the bundle signs")]
    ArtifactDigestMismatch,
    #[error("the signature does not verify with the signer's key")]
    BadSignature,
    #[error("a digest alone cannot be verified with an Ed25519 key: the artifact's bytes are needed")]
    NeedArtifactBytes,
    #[error("the DSSE payload is not an in-toto statement: {0}")]
    BadStatement(String),
    #[error("the artifact is not a subject of the in-toto statement")]
    SubjectMismatch,

    // The transparency log.
    #[error("the bundle has no transparency log entry")]
    NoLogEntry,
    #[error("the log entry's log {0} is not in the trusted root")]
    UnknownLog(String),
    #[error("the log entry does not read: {0}")]
    BadLogEntry(String),
    #[error("the log entry records {0}, which is not what the bundle carries")]
    LogEntryMismatch(&'static str),
    #[error("the log entry has no inclusion promise (a v0.1 bundle needs one)")]
    MissingInclusionPromise,
    #[error("the signed entry timestamp (inclusion promise) does not verify with the log's key")]
    BadInclusionPromise,
    #[error("the log entry has no inclusion proof (v0.2 and later bundles, and Rekor v2 entries, need one)")]
    MissingInclusionProof,
    #[error("the inclusion proof does not lead from the entry to the root hash: {0}")]
    InclusionProof(String),
    #[error("the inclusion proof has no checkpoint: nothing signs its root hash")]
    MissingCheckpoint,
    #[error("the checkpoint does not read: {0}")]
    CheckpointMalformed(String),
    #[error("the checkpoint is for another tree ({0}) than the inclusion proof's")]
    CheckpointMismatch(&'static str),
    #[error("the checkpoint has no signature by the log's key")]
    NoCheckpointSignature,
    #[error("the checkpoint's signature by the log's key does not verify")]
    BadCheckpointSignature,
    #[error("the log's key in the trusted root is not valid at {0}")]
    LogKeyNotValid(String),
    #[error("the log integrated the entry at {integrated}, after the time of verification {now}")]
    IntegratedTimeInFuture { integrated: String, now: String },

    // Timestamps.
    #[error("signed timestamp {index}: {reason}")]
    Timestamp { index: usize, reason: TimestampRefusal },
    #[error("no verified time: a Rekor v2 entry, or one without inclusion promise, needs an RFC 3161 timestamp")]
    NoVerifiedTime,
}

/// Why an RFC 3161 signed timestamp is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampRefusal {
    #[error("does not read: {0}")]
    Malformed(String),
    #[error("the authority answered status {0}, not granted")]
    NotGranted(u64),
    #[error("it timestamps another signature (message imprint mismatch)")]
    ImprintMismatch,
    #[error("no timestamp authority of the trusted root signed it")]
    UntrustedAuthority,
    #[error("its time {0} is outside the validity the trusted root gives its authority")]
    OutsideAuthorityValidity(String),
    #[error("its time {0} is outside the validity of the authority's certificate chain")]
    OutsideCertificateValidity(String),
    #[error("its signed attributes are not about its content (message digest mismatch)")]
    ContentDigestMismatch,
}

/// Why a trusted root is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    #[error("not a trusted root: {0}")]
    Malformed(String),
    #[error("{0}: the validity period has no start (a missing bound is not an unbounded one)")]
    MissingValidityStart(String),
    #[error("{what}: {reason}")]
    BadKey { what: String, reason: String },
    #[error("{what}: {reason}")]
    BadCertificate { what: String, reason: String },
}
