//! An issuer's public keys: a JWK Set (RFC 7517) read from JSON. Only asymmetric signing keys
//! are kept, each with the one algorithm (or, for an RSA key without `alg`, the one family) it
//! may verify: the algorithm of a JWT is the key's, never the JWT header's.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::json::{self, kind};

/// The largest JWK Set read, in bytes.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// The most keys a JWK Set may hold.
pub const MAX_KEYS: usize = 64;
const MAX_KID_LEN: usize = 256;

/// An asymmetric JWS algorithm (RFC 7518); HMAC (`HS*`) and `none` are not among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl SigningAlgorithm {
    pub const ALL: [SigningAlgorithm; 9] = [
        SigningAlgorithm::RS256,
        SigningAlgorithm::RS384,
        SigningAlgorithm::RS512,
        SigningAlgorithm::PS256,
        SigningAlgorithm::PS384,
        SigningAlgorithm::PS512,
        SigningAlgorithm::ES256,
        SigningAlgorithm::ES384,
        SigningAlgorithm::EdDSA,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::RS384 => "RS384",
            SigningAlgorithm::RS512 => "RS512",
            SigningAlgorithm::PS256 => "PS256",
            SigningAlgorithm::PS384 => "PS384",
            SigningAlgorithm::PS512 => "PS512",
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::ES384 => "ES384",
            SigningAlgorithm::EdDSA => "EdDSA",
        }
    }

    pub(crate) const fn jsonwebtoken(self) -> Algorithm {
        match self {
            SigningAlgorithm::RS256 => Algorithm::RS256,
            SigningAlgorithm::RS384 => Algorithm::RS384,
            SigningAlgorithm::RS512 => Algorithm::RS512,
            SigningAlgorithm::PS256 => Algorithm::PS256,
            SigningAlgorithm::PS384 => Algorithm::PS384,
            SigningAlgorithm::PS512 => Algorithm::PS512,
            SigningAlgorithm::ES256 => Algorithm::ES256,
            SigningAlgorithm::ES384 => Algorithm::ES384,
            SigningAlgorithm::EdDSA => Algorithm::EdDSA,
        }
    }

    const fn kty(self) -> &'static str {
        match self {
            SigningAlgorithm::ES256 | SigningAlgorithm::ES384 => "EC",
            SigningAlgorithm::EdDSA => "OKP",
            _ => "RSA",
        }
    }
}

impl FromStr for SigningAlgorithm {
    type Err = ();
    fn from_str(s: &str) -> Result<SigningAlgorithm, ()> {
        SigningAlgorithm::ALL.into_iter().find(|a| a.as_str() == s).ok_or(())
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const RSA_PKCS1: [SigningAlgorithm; 3] = [SigningAlgorithm::RS256, SigningAlgorithm::RS384, SigningAlgorithm::RS512];

/// One public key of a JWK Set, and the algorithms it verifies.
#[derive(Clone)]
pub struct Key {
    kid: Option<String>,
    algorithms: &'static [SigningAlgorithm],
    decoding: DecodingKey,
}

impl Key {
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithms it verifies: its `alg`, or RS256/RS384/RS512 for an RSA key without one.
    pub fn algorithms(&self) -> &'static [SigningAlgorithm] {
        self.algorithms
    }

    pub fn allows(&self, alg: SigningAlgorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// `RS256`, or `RS256/RS384/RS512`.
    pub fn algorithms_text(&self) -> String {
        self.algorithms.iter().map(|a| a.as_str()).collect::<Vec<_>>().join("/")
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).field("algorithms", &self.algorithms).finish_non_exhaustive()
    }
}

/// A key of the set that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// Its place in `keys`, from 0.
    pub index: usize,
    pub kid: Option<String>,
    pub reason: String,
}

impl fmt::Display for SkippedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kid {
            Some(kid) => write!(f, "key {} ({kid:?}): {}", self.index, self.reason),
            None => write!(f, "key {}: {}", self.index, self.reason),
        }
    }
}

/// A JWK Set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("the JWK Set is {len} bytes long; at most {max} are read")]
    TooLarge { len: usize, max: usize },
    #[error("the JWK Set is not JSON: {0}")]
    Json(String),
    #[error("the JWK Set is not an object with a \"keys\" array")]
    NotASet,
    #[error("the JWK Set holds {count} keys; at most {max} are read")]
    TooManyKeys { count: usize, max: usize },
    #[error("the JWK Set holds no usable signing key{}", describe_skipped(.0))]
    NoUsableKey(Vec<SkippedKey>),
}

fn describe_skipped(skipped: &[SkippedKey]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    format!("; left out: {}", skipped.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
}

/// The usable signing keys of an issuer's JWK Set, indexed by `kid`.
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    keys: Vec<Key>,
    by_kid: HashMap<String, Vec<usize>>,
    skipped: Vec<SkippedKey>,
}

impl Jwks {
    /// A set with no key (every JWT is refused with [`super::JwtRefusal::refresh_hint`] set):
    /// what an issuer starts with before its JWK Set is first fetched.
    pub fn empty() -> Jwks {
        Jwks::default()
    }

    /// Reads the JSON bytes of a JWK Set. Keys that are not asymmetric signing keys (`use`
    /// other than `sig`, `kty: oct`, private keys, unknown types or curves, RSA keys under 2048
    /// bits, an `alg` that does not fit the key) are left out and listed in
    /// [`Jwks::skipped`]; a set with no usable key is refused.
    pub fn from_json(bytes: &[u8]) -> Result<Jwks, JwksError> {
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge { len: bytes.len(), max: MAX_JWKS_BYTES });
        }
        let set = json::object(bytes).map_err(JwksError::Json)?;
        let Some(Value::Array(entries)) = set.get("keys") else { return Err(JwksError::NotASet) };
        if entries.len() > MAX_KEYS {
            return Err(JwksError::TooManyKeys { count: entries.len(), max: MAX_KEYS });
        }
        let mut jwks = Jwks::default();
        for (index, entry) in entries.iter().enumerate() {
            let kid = entry.get("kid").and_then(Value::as_str).map(|k| k.chars().take(MAX_KID_LEN).collect());
            match read_key(entry) {
                Ok(key) => {
                    if let Some(kid) = &key.kid {
                        jwks.by_kid.entry(kid.clone()).or_default().push(jwks.keys.len());
                    }
                    jwks.keys.push(key);
                }
                Err(reason) => jwks.skipped.push(SkippedKey { index, kid, reason }),
            }
        }
        if jwks.keys.is_empty() {
            return Err(JwksError::NoUsableKey(jwks.skipped));
        }
        Ok(jwks)
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys left out, and why.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// The keys whose `kid` is `kid`.
    pub fn by_kid<'a>(&'a self, kid: &str) -> impl Iterator<Item = &'a Key> + 'a {
        self.by_kid.get(kid).into_iter().flatten().map(|&i| &self.keys[i])
    }

    pub fn contains_kid(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }

    /// Every `kid`, in the set's order.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().filter_map(Key::kid).collect()
    }
}

fn string<'a>(jwk: &'a Map<String, Value>, member: &str) -> Result<Option<&'a str>, String> {
    match jwk.get(member) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{member} is {}, not a string", kind(other))),
    }
}

fn required<'a>(jwk: &'a Map<String, Value>, member: &str, kty: &str) -> Result<&'a str, String> {
    string(jwk, member)?.ok_or_else(|| format!("an {kty} key without {member}"))
}

fn bytes(jwk: &Map<String, Value>, member: &str, kty: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD.decode(required(jwk, member, kty)?).map_err(|e| format!("{member} is not base64url: {e}"))
}

fn read_key(entry: &Value) -> Result<Key, String> {
    let Value::Object(jwk) = entry else { return Err(format!("is {}, not an object", kind(entry))) };
    let kid = string(jwk, "kid")?;
    if kid.is_some_and(|k| k.len() > MAX_KID_LEN) {
        return Err(format!("kid is longer than {MAX_KID_LEN} bytes"));
    }
    let kty = string(jwk, "kty")?.ok_or("has no kty")?;
    if kty == "oct" {
        return Err("is a symmetric (oct) key: an issuer's JWTs are verified with public keys only".into());
    }
    if let Some(usage) = string(jwk, "use")?.filter(|u| *u != "sig") {
        return Err(format!("is for use {usage:?}, not sig"));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops.as_array().is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("its key_ops do not include verify".into());
        }
    }
    if jwk.contains_key("d") {
        return Err("holds private key material (d); publish the public key only".into());
    }
    let alg = match string(jwk, "alg")? {
        None => None,
        Some(text) => match text.parse::<SigningAlgorithm>() {
            Ok(alg) if alg.kty() == kty => Some(alg),
            Ok(alg) => return Err(format!("is an {kty} key with alg {alg}, which needs an {} key", alg.kty())),
            Err(()) => return Err(format!("has alg {text:?}, not an asymmetric signature algorithm")),
        },
    };
    let (algorithms, decoding): (&'static [SigningAlgorithm], DecodingKey) = match kty {
        "RSA" => {
            let n = strip_zeros(bytes(jwk, "n", kty)?);
            let e = strip_zeros(bytes(jwk, "e", kty)?);
            let bits = n.first().map_or(0, |top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize));
            if !(2048..=8192).contains(&bits) {
                return Err(format!("is an RSA key of {bits} bits; 2048 to 8192 are accepted"));
            }
            if e.len() > 4 || e.last().is_none_or(|last| last & 1 == 0) || e == [1] {
                return Err("has an RSA exponent that is not an odd number from 3 to 2^32".into());
            }
            let algorithms = match alg {
                Some(alg) => one(alg),
                None => &RSA_PKCS1[..],
            };
            (algorithms, DecodingKey::from_rsa_raw_components(&n, &e))
        }
        "EC" => {
            let crv = required(jwk, "crv", kty)?;
            let (curve_alg, len) = match crv {
                "P-256" => (SigningAlgorithm::ES256, 32),
                "P-384" => (SigningAlgorithm::ES384, 48),
                other => return Err(format!("is on curve {other:?}; P-256 and P-384 are accepted")),
            };
            if let Some(other) = alg.filter(|a| *a != curve_alg) {
                return Err(format!("is a {crv} key with alg {other}, which needs {curve_alg}"));
            }
            let (x, y) = (bytes(jwk, "x", kty)?, bytes(jwk, "y", kty)?);
            if x.len() != len || y.len() != len {
                return Err(format!("a {crv} point has coordinates of {len} bytes, not {} and {}", x.len(), y.len()));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (one(curve_alg), DecodingKey::from_ec_der(&point))
        }
        "OKP" => {
            let crv = required(jwk, "crv", kty)?;
            if crv != "Ed25519" {
                return Err(format!("is an OKP key on curve {crv:?}; only Ed25519 is accepted"));
            }
            let x = bytes(jwk, "x", kty)?;
            if x.len() != 32 {
                return Err(format!("an Ed25519 public key is 32 bytes, not {}", x.len()));
            }
            (one(SigningAlgorithm::EdDSA), DecodingKey::from_ed_der(&x))
        }
        other => return Err(format!("has kty {other:?}; RSA, EC and OKP are accepted")),
    };
    Ok(Key { kid: kid.map(str::to_owned), algorithms, decoding })
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn one(alg: SigningAlgorithm) -> &'static [SigningAlgorithm] {
    let i = SigningAlgorithm::ALL.iter().position(|a| *a == alg).expect("every algorithm is in ALL");
    &SigningAlgorithm::ALL[i..=i]
}
