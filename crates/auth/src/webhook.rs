//! HMAC-SHA256 signatures of webhooks, checked in constant time: GitHub's
//! `X-Hub-Signature-256: sha256=<hex>`, and Dossier's own outgoing ones —
//! `X-Dossier-Signature: sha256=<hex>` over the body (kept for compatibility) and the timestamped
//! `X-Dossier-Signature-256: t=<unix seconds>,v1=<hex>` over `<t>.<body>` (as Stripe and the
//! Standard Webhooks spec do), which a receiver checks against its clock so that a captured call
//! cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature does not match the body and the shared secret")]
    Mismatch,
    #[error("the signature's timestamp is {age} s away from now, more than the {tolerance} s allowed (a replay, or a clock off)")]
    Stale { age: i64, tolerance: i64 },
}

fn mac(secret: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    for p in parts {
        m.update(p);
    }
    m
}

fn hex_mac(secret: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(mac(secret, parts).finalize().into_bytes())
}

fn check(secret: &[u8], parts: &[&[u8]], hex_sig: &str) -> Result<(), SignatureError> {
    let given = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed("the digest is not hex"))?;
    mac(secret, parts).verify_slice(&given).map_err(|_| SignatureError::Mismatch)
}

/// `sha256=<hex>` of `body`: the value of GitHub's `X-Hub-Signature-256` and of Dossier's
/// `X-Dossier-Signature`.
pub fn sign_body(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex_mac(secret, &[body]))
}

/// Checks a `sha256=<hex>` header (GitHub's `X-Hub-Signature-256`, Dossier's
/// `X-Dossier-Signature`) against `body`.
pub fn verify_body(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_sig = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Malformed("it does not start with sha256="))?;
    check(secret, &[body], hex_sig)
}

/// `t=<t>,v1=<hex>` over `<t>.<body>`: Dossier's `X-Dossier-Signature-256`.
pub fn sign_timestamped(secret: &[u8], t: i64, body: &[u8]) -> String {
    let t = t.to_string();
    format!("t={t},v1={}", hex_mac(secret, &[t.as_bytes(), b".", body]))
}

/// Checks a `t=<t>,v1=<hex>[,v1=<hex>…]` header against `body` and the time `now` (Unix
/// seconds): one `v1` must match and `t` be within `tolerance` seconds of `now`.
pub fn verify_timestamped(secret: &[u8], header: Option<&str>, body: &[u8], now: i64, tolerance: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => signatures.push(v),
            Some(_) => {} // other schemes, for forward compatibility
            None => return Err(SignatureError::Malformed("a part is not key=value")),
        }
    }
    let t = t.ok_or(SignatureError::Malformed("no t= timestamp"))?;
    let seconds: i64 = t.parse().map_err(|_| SignatureError::Malformed("t= is not Unix seconds"))?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed("no v1= signature"));
    }
    let matched = signatures.iter().any(|s| check(secret, &[t.as_bytes(), b".", body], s).is_ok());
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age = now.saturating_sub(seconds);
    if age.abs() > tolerance {
        return Err(SignatureError::Stale { age, tolerance });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
    #[test]
    fn githubs_documented_example_verifies() {
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign_body(b"It's a Secret to Everybody", b"Hello, World!"), expected);
        assert_eq!(verify_body(b"It's a Secret to Everybody", Some(expected), b"Hello, World!"), Ok(()));
        assert_eq!(verify_body(b"It's a Secret to Everybody", Some(expected), b"Hello, World?"), Err(SignatureError::Mismatch));
        assert_eq!(verify_body(b"other", Some(expected), b"Hello, World!"), Err(SignatureError::Mismatch));
        assert_eq!(verify_body(b"k", None, b""), Err(SignatureError::Missing));
        assert_eq!(verify_body(b"k", Some("md5=00"), b""), Err(SignatureError::Malformed("it does not start with sha256=")));
    }

    #[test]
    fn a_timestamped_signature_binds_the_time_and_refuses_a_replay() {
        let header = sign_timestamped(b"s3cret", 1_800_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1800000000,v1="));
        assert_eq!(verify_timestamped(b"s3cret", Some(&header), b"{\"a\":1}", 1_800_000_100, 300), Ok(()));
        assert_eq!(
            verify_timestamped(b"s3cret", Some(&header), b"{\"a\":1}", 1_800_001_000, 300),
            Err(SignatureError::Stale { age: 1000, tolerance: 300 })
        );
        // Moving the signature to another time breaks it.
        let moved = header.replace("t=1800000000", "t=1800000999");
        assert_eq!(verify_timestamped(b"s3cret", Some(&moved), b"{\"a\":1}", 1_800_001_000, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify_timestamped(b"s3cret", Some("v1=00"), b"", 0, 300), Err(SignatureError::Malformed("no t= timestamp")));
    }
}
