//! Public keys and the signatures they verify: ECDSA P-256 and P-384, Ed25519, RSA PKCS#1 v1.5.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::SubjectPublicKeyInfoRef;

pub(crate) const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub(crate) const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// A hash function a signature is made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// The hash of an algorithm identifier OID (a digest or a signature algorithm).
    pub(crate) fn from_oid(oid: &ObjectIdentifier) -> Option<HashAlg> {
        match oid.to_string().as_str() {
            "2.16.840.1.101.3.4.2.1" | "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => Some(HashAlg::Sha256),
            "2.16.840.1.101.3.4.2.2" | "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => Some(HashAlg::Sha384),
            "2.16.840.1.101.3.4.2.3" | "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" => Some(HashAlg::Sha512),
            // Ed25519 hashes inside the algorithm; the hash given is not used.
            "1.3.101.112" => Some(HashAlg::Sha512),
            _ => None,
        }
    }
}

/// A public key that verifies signatures.
#[derive(Clone)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.algorithm())
    }
}

/// Why a key does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

impl PublicKey {
    /// A key from its DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| KeyError(format!("not a SubjectPublicKeyInfo: {e}")))?;
        let bits = spki.subject_public_key.raw_bytes();
        let oid = spki.algorithm.oid;
        if oid == EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| KeyError("an EC key without its named curve".into()))?;
            if curve == P256_CURVE {
                p256::ecdsa::VerifyingKey::from_sec1_bytes(bits).map(PublicKey::P256).map_err(|_| KeyError("not a point of P-256".into()))
            } else if curve == P384_CURVE {
                p384::ecdsa::VerifyingKey::from_sec1_bytes(bits).map(PublicKey::P384).map_err(|_| KeyError("not a point of P-384".into()))
            } else {
                Err(KeyError(format!("unsupported elliptic curve {curve}")))
            }
        } else if oid == ED25519 {
            let bytes: [u8; 32] = bits.try_into().map_err(|_| KeyError("an Ed25519 key is 32 bytes".into()))?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes).map(PublicKey::Ed25519).map_err(|_| KeyError("not an Ed25519 point".into()))
        } else if oid == RSA_ENCRYPTION {
            Self::from_pkcs1_der(bits)
        } else {
            Err(KeyError(format!("unsupported key algorithm {oid}")))
        }
    }

    /// An RSA key from its DER `RSAPublicKey` (PKCS#1).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        rsa::RsaPublicKey::from_pkcs1_der(der).map(PublicKey::Rsa).map_err(|e| KeyError(format!("not an RSA public key: {e}")))
    }

    /// A key from PEM: `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        let (label, der) = pem_decode(pem).map_err(KeyError)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(&der),
            other => Err(KeyError(format!("a PEM {other:?} is not a public key"))),
        }
    }

    /// The key's DER `SubjectPublicKeyInfo`.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let (oid, curve, point) = match self {
            PublicKey::P256(k) => (EC_PUBLIC_KEY, Some(P256_CURVE), k.to_encoded_point(false).as_bytes().to_vec()),
            PublicKey::P384(k) => (EC_PUBLIC_KEY, Some(P384_CURVE), k.to_encoded_point(false).as_bytes().to_vec()),
            PublicKey::Ed25519(k) => (ED25519, None, k.as_bytes().to_vec()),
            PublicKey::Rsa(k) => {
                use rsa::pkcs8::EncodePublicKey as _;
                return k.to_public_key_der().expect("an RSA key encodes").into_vec();
            }
        };
        let params = curve.map(|c| der::asn1::AnyRef::from(&c).into());
        let spki = spki::SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned { oid, parameters: params },
            subject_public_key: der::asn1::BitString::from_bytes(&point).expect("whole bytes"),
        };
        spki.to_der().expect("a public key encodes")
    }

    /// `sha256:<hex>` of the key's DER `SubjectPublicKeyInfo`: how results name a key.
    pub fn fingerprint(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(self.to_spki_der())))
    }

    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::P256(_) => "ECDSA P-256",
            PublicKey::P384(_) => "ECDSA P-384",
            PublicKey::Ed25519(_) => "Ed25519",
            PublicKey::Rsa(_) => "RSA",
        }
    }

    /// Verifies `signature` (DER for ECDSA) over `message`, hashed with `hash` (ECDSA, RSA).
    pub fn verify(&self, hash: HashAlg, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        // ECDSA over the whole message goes through ring, several times faster than RustCrypto's
        // portable arithmetic (P-384 above all); a digest alone, or SHA-512, through RustCrypto.
        use ring::signature as r;
        let ring_alg: Option<&'static r::EcdsaVerificationAlgorithm> = match (self, hash) {
            (PublicKey::P256(_), HashAlg::Sha256) => Some(&r::ECDSA_P256_SHA256_ASN1),
            (PublicKey::P256(_), HashAlg::Sha384) => Some(&r::ECDSA_P256_SHA384_ASN1),
            (PublicKey::P384(_), HashAlg::Sha256) => Some(&r::ECDSA_P384_SHA256_ASN1),
            (PublicKey::P384(_), HashAlg::Sha384) => Some(&r::ECDSA_P384_SHA384_ASN1),
            _ => None,
        };
        if let Some(alg) = ring_alg {
            let point = match self {
                PublicKey::P256(k) => k.to_encoded_point(false).as_bytes().to_vec(),
                PublicKey::P384(k) => k.to_encoded_point(false).as_bytes().to_vec(),
                _ => unreachable!("only EC keys have a ring algorithm"),
            };
            return r::UnparsedPublicKey::new(alg, point).verify(message, signature).map_err(|_| SignatureError::Invalid);
        }
        match self {
            PublicKey::Ed25519(k) => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| SignatureError::Encoding)?;
                k.verify_strict(message, &sig).map_err(|_| SignatureError::Invalid)
            }
            _ => self.verify_digest(hash, &hash.digest(message), signature),
        }
    }

    /// Verifies `signature` over a message of which only the `digest` (made with `hash`) is known.
    pub fn verify_digest(&self, hash: HashAlg, digest: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        match self {
            PublicKey::P256(k) => {
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| SignatureError::Encoding)?;
                k.verify_prehash(digest, &sig).map_err(|_| SignatureError::Invalid)
            }
            PublicKey::P384(k) => {
                let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| SignatureError::Encoding)?;
                k.verify_prehash(digest, &sig).map_err(|_| SignatureError::Invalid)
            }
            PublicKey::Rsa(k) => {
                let scheme = match hash {
                    HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                    HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                    HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
                };
                k.verify(scheme, digest, signature).map_err(|_| SignatureError::Invalid)
            }
            PublicKey::Ed25519(_) => Err(SignatureError::NeedsMessage),
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.to_spki_der() == other.to_spki_der()
    }
}

/// Why a signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature's bytes are not a signature of the key's algorithm.
    Encoding,
    /// It does not verify.
    Invalid,
    /// Ed25519 signs the message itself, not a digest.
    NeedsMessage,
}

/// The label and DER of a PEM block, read leniently about line lengths (logs and tools wrap
/// base64 differently; RFC 7468's strict reader refuses some of what Rekor returns).
pub(crate) fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), String> {
    use base64::Engine;
    let pem = pem.trim();
    let rest = pem.strip_prefix("-----BEGIN ").ok_or("no BEGIN line")?;
    let (label, rest) = rest.split_once("-----").ok_or("bad BEGIN line")?;
    let end = format!("-----END {label}-----");
    let body = rest.trim_end().strip_suffix(end.as_str()).ok_or("no matching END line")?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| "the PEM body is not base64")?;
    Ok((label.to_owned(), der))
}
