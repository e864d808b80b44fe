//! X.509: signatures between certificates, Fulcio's identity extensions, embedded SCTs.

use der::asn1::{ObjectIdentifier, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};
use x509_cert::Certificate;

use crate::asn1;
use crate::keys::{HashAlg, PublicKey};
use crate::memory::SignatureMemory;

const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Fulcio's OIDC issuer, v1 (the raw string) and v2 (a DER UTF8String).
const FULCIO_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
const FULCIO_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
const SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// The bytes of a certificate's `TBSCertificate`, as sent.
pub(crate) fn tbs_raw(der: &[u8]) -> Result<&[u8], String> {
    let (outer, _) = asn1::expect(der, asn1::SEQUENCE).map_err(|e| e.0.to_owned())?;
    let (tbs, _) = asn1::expect(outer.value, asn1::SEQUENCE).map_err(|e| e.0.to_owned())?;
    Ok(tbs.raw)
}

pub(crate) fn public_key(cert: &Certificate) -> Result<PublicKey, String> {
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
    PublicKey::from_spki_der(&spki).map_err(|e| e.0)
}

/// Checks that `child` (whose DER is `child_der`) names `issuer` as its issuer and carries
/// its signature.
pub(crate) fn verify_issued_by(child_der: &[u8], child: &Certificate, issuer: &Certificate) -> Result<(), String> {
    if child.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err("its issuer is not the next certificate's subject".into());
    }
    let key = public_key(issuer)?;
    let hash = HashAlg::from_oid(&child.signature_algorithm.oid)
        .ok_or_else(|| format!("unsupported signature algorithm {}", child.signature_algorithm.oid))?;
    let sig = child.signature.as_bytes().ok_or("the signature is not whole bytes")?;
    key.verify(hash, tbs_raw(child_der)?, sig).map_err(|_| "the issuer's signature does not verify".to_owned())
}

pub(crate) fn not_before(cert: &Certificate) -> OffsetDateTime {
    to_time(cert.tbs_certificate.validity.not_before.to_unix_duration())
}

pub(crate) fn not_after(cert: &Certificate) -> OffsetDateTime {
    to_time(cert.tbs_certificate.validity.not_after.to_unix_duration())
}

fn to_time(d: std::time::Duration) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(d.as_secs() as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn valid_at(cert: &Certificate, t: OffsetDateTime) -> bool {
    not_before(cert) <= t && t <= not_after(cert)
}

fn extension<'a>(cert: &'a Certificate, oid: &ObjectIdentifier) -> Option<&'a OctetString> {
    cert.tbs_certificate.extensions.as_ref()?.iter().find(|e| &e.extn_id == oid).map(|e| &e.extn_value)
}

pub(crate) fn is_ca(cert: &Certificate) -> bool {
    extension(cert, &BASIC_CONSTRAINTS).and_then(|v| BasicConstraints::from_der(v.as_bytes()).ok()).is_some_and(|bc| bc.ca)
}

pub(crate) fn is_self_signed(cert: &Certificate) -> bool {
    cert.tbs_certificate.issuer == cert.tbs_certificate.subject
}

pub(crate) fn has_code_signing(cert: &Certificate) -> bool {
    extension(cert, &EXTENDED_KEY_USAGE)
        .and_then(|v| ExtendedKeyUsage::from_der(v.as_bytes()).ok())
        .is_some_and(|eku| eku.0.contains(&CODE_SIGNING))
}

/// The identities in the Subject Alternative Name: URIs, e-mail addresses, other names.
pub(crate) fn identities(cert: &Certificate) -> Vec<String> {
    let Some(san) = extension(cert, &SUBJECT_ALT_NAME).and_then(|v| SubjectAltName::from_der(v.as_bytes()).ok()) else {
        return Vec::new();
    };
    san.0
        .iter()
        .filter_map(|name| match name {
            GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
            GeneralName::Rfc822Name(s) => Some(s.to_string()),
            GeneralName::DnsName(s) => Some(s.to_string()),
            GeneralName::OtherName(other) => other.value.decode_as::<Utf8StringRef<'_>>().ok().map(|s| s.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

/// The OIDC issuer Fulcio recorded (the v2 extension, else the v1).
pub(crate) fn oidc_issuer(cert: &Certificate) -> Option<String> {
    if let Some(v) = extension(cert, &FULCIO_ISSUER_V2) {
        return Utf8StringRef::from_der(v.as_bytes()).ok().map(|s| s.as_str().to_owned());
    }
    extension(cert, &FULCIO_ISSUER_V1).and_then(|v| String::from_utf8(v.as_bytes().to_vec()).ok())
}

/// One SCT of the certificate's embedded list.
#[derive(Debug)]
struct Sct<'a> {
    log_id: &'a [u8],
    timestamp: u64,
    extensions: &'a [u8],
    hash: u8,
    signature: &'a [u8],
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if input.len() < n {
        return None;
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Some(head)
}

fn take_u16_prefixed<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = take(input, 2)?;
    take(input, u16::from_be_bytes([len[0], len[1]]) as usize)
}

fn parse_sct(mut b: &[u8]) -> Option<Sct<'_>> {
    let version = take(&mut b, 1)?[0];
    if version != 0 {
        return None;
    }
    let log_id = take(&mut b, 32)?;
    let timestamp = u64::from_be_bytes(take(&mut b, 8)?.try_into().ok()?);
    let extensions = take_u16_prefixed(&mut b)?;
    let algs = take(&mut b, 2)?;
    let signature = take_u16_prefixed(&mut b)?;
    b.is_empty().then_some(Sct { log_id, timestamp, extensions, hash: algs[0], signature })
}

/// Whether the certificate embeds at least one SCT that a CT log of the trusted root signed
/// (RFC 6962 §3.2: over the precertificate's `TBSCertificate`, without the SCT list, and the
/// hash of the issuer's key). `ct_log_key` finds a trusted CT log's key by its log id; a CT
/// log's signature is remembered in `memory` once verified (the same signed bytes and key).
pub(crate) fn has_valid_sct<'k>(
    leaf: &Certificate,
    issuer: &Certificate,
    ct_log_key: impl Fn(&[u8]) -> Option<&'k PublicKey>,
    memory: &SignatureMemory,
) -> bool {
    let Some(list) = extension(leaf, &SCT_LIST) else { return false };
    let Ok(inner) = OctetString::from_der(list.as_bytes()) else { return false };
    let mut list = inner.as_bytes();
    let Some(mut scts) = take_u16_prefixed(&mut list) else { return false };
    // The precertificate's TBSCertificate: the leaf's, without the SCT list extension.
    let mut tbs = leaf.tbs_certificate.clone();
    if let Some(exts) = tbs.extensions.as_mut() {
        exts.retain(|e| e.extn_id != SCT_LIST);
    }
    let Ok(tbs_der) = tbs.to_der() else { return false };
    let Ok(issuer_spki) = issuer.tbs_certificate.subject_public_key_info.to_der() else { return false };
    let issuer_key_hash = Sha256::digest(&issuer_spki);
    while let Some(raw) = take_u16_prefixed(&mut scts) {
        let Some(sct) = parse_sct(raw) else { continue };
        let Some(key) = ct_log_key(sct.log_id) else { continue };
        let hash = match sct.hash {
            4 => HashAlg::Sha256,
            5 => HashAlg::Sha384,
            6 => HashAlg::Sha512,
            _ => continue,
        };
        let mut signed = Vec::with_capacity(tbs_der.len() + 64);
        signed.push(0); // v1
        signed.push(0); // certificate_timestamp
        signed.extend(sct.timestamp.to_be_bytes());
        signed.extend([0, 1]); // precert_entry
        signed.extend(issuer_key_hash);
        signed.extend(&(tbs_der.len() as u32).to_be_bytes()[1..]);
        signed.extend(&tbs_der);
        signed.extend((sct.extensions.len() as u16).to_be_bytes());
        signed.extend(sct.extensions);
        if memory.verify(key, hash, &signed, sct.signature).is_ok() {
            return true;
        }
    }
    false
}
