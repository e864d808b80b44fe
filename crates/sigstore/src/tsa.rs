//! RFC 3161 signed timestamps: a `TimeStampResp` whose token (CMS `SignedData` over a
//! `TSTInfo`) a timestamp authority of the trusted root signed, over the bundle's signature.

use der::asn1::ObjectIdentifier;
use time::OffsetDateTime;

use crate::asn1::{self, Tlv};
use crate::cert;
use crate::error::TimestampRefusal;
use crate::keys::HashAlg;
use crate::memory::SignatureMemory;
use crate::root::Authority;

const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

fn malformed(e: asn1::Asn1Error) -> TimestampRefusal {
    TimestampRefusal::Malformed(e.0.to_owned())
}

fn oid(tlv: &Tlv<'_>) -> Result<ObjectIdentifier, TimestampRefusal> {
    use der::Decode;
    ObjectIdentifier::from_der(tlv.raw).map_err(|_| TimestampRefusal::Malformed("expected an object identifier".into()))
}

struct SignerInfo<'a> {
    digest_alg: HashAlg,
    signed_attrs: &'a [u8],
    signature_alg: HashAlg,
    signature: &'a [u8],
}

/// Verifies the timestamp over `signature` and returns its time. The authority's signature is
/// remembered in `memory` once verified (the same signed attributes, signature and key); every
/// other check, the times above all, is made each time.
pub(crate) fn verify(
    resp: &[u8],
    signature: &[u8],
    authorities: &[Authority],
    memory: &SignatureMemory,
) -> Result<OffsetDateTime, TimestampRefusal> {
    let m = |s: &str| TimestampRefusal::Malformed(s.to_owned());
    // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken ContentInfo OPTIONAL }
    let (resp, _) = asn1::expect(resp, asn1::SEQUENCE).map_err(malformed)?;
    let parts = asn1::children(resp.value).map_err(malformed)?;
    let status = parts.first().ok_or_else(|| m("no status"))?;
    let status = asn1::children(status.value).map_err(malformed)?;
    let code = asn1::small_uint(status.first().ok_or_else(|| m("no status"))?).map_err(malformed)?;
    if code > 1 {
        return Err(TimestampRefusal::NotGranted(code));
    }
    // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }
    let token = parts.get(1).ok_or_else(|| m("no timestamp token"))?;
    let token = asn1::children(token.value).map_err(malformed)?;
    if token.len() != 2 || oid(&token[0])? != SIGNED_DATA || token[1].tag != 0xa0 {
        return Err(m("the token is not CMS SignedData"));
    }
    let (signed_data, _) = asn1::expect(token[1].value, asn1::SEQUENCE).map_err(malformed)?;
    let sd = asn1::children(signed_data.value).map_err(malformed)?;
    // version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls, signerInfos
    let encap = sd.get(2).ok_or_else(|| m("no encapsulated content"))?;
    let encap = asn1::children(encap.value).map_err(malformed)?;
    if encap.len() != 2 || oid(&encap[0])? != TST_INFO || encap[1].tag != 0xa0 {
        return Err(m("the content is not a TSTInfo"));
    }
    let (econtent, _) = asn1::expect(encap[1].value, asn1::OCTET_STRING).map_err(malformed)?;
    let tst_info = econtent.value;
    let signer_infos = sd.last().filter(|t| t.tag == asn1::SET).ok_or_else(|| m("no signer infos"))?;
    let signers = asn1::children(signer_infos.value).map_err(malformed)?;
    let [signer] = &signers[..] else { return Err(m("exactly one signer is expected")) };
    let signer = signer_info(signer)?;

    // The signed attributes: the content's type and digest.
    let attrs = asn1::children(&signer.signed_attrs[header_len(signer.signed_attrs)..]).map_err(malformed)?;
    let mut content_digest = None;
    let mut content_type = None;
    for attr in &attrs {
        let kids = asn1::children(attr.value).map_err(malformed)?;
        let (Some(id), Some(values)) = (kids.first(), kids.get(1)) else { return Err(m("bad attribute")) };
        let value = asn1::children(values.value).map_err(malformed)?;
        let Some(value) = value.first() else { return Err(m("an attribute without value")) };
        match oid(id)? {
            id if id == MESSAGE_DIGEST => content_digest = Some(value.value),
            id if id == CONTENT_TYPE => content_type = Some(oid(value)?),
            _ => {}
        }
    }
    if content_type != Some(TST_INFO) || content_digest != Some(&signer.digest_alg.digest(tst_info)[..]) {
        return Err(TimestampRefusal::ContentDigestMismatch);
    }

    // TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime, ... }
    let (info, _) = asn1::expect(tst_info, asn1::SEQUENCE).map_err(malformed)?;
    let info = asn1::children(info.value).map_err(malformed)?;
    let imprint = info.get(2).ok_or_else(|| m("no message imprint"))?;
    let imprint = asn1::children(imprint.value).map_err(malformed)?;
    let (Some(alg), Some(hashed)) = (imprint.first(), imprint.get(1)) else { return Err(m("bad message imprint")) };
    let alg = asn1::children(alg.value).map_err(malformed)?;
    let imprint_alg = HashAlg::from_oid(&oid(alg.first().ok_or_else(|| m("bad message imprint"))?)?)
        .ok_or_else(|| m("unsupported message imprint algorithm"))?;
    if hashed.value != imprint_alg.digest(signature) {
        return Err(TimestampRefusal::ImprintMismatch);
    }
    let time = asn1::generalized_time(info.get(4).ok_or_else(|| m("no genTime"))?).map_err(malformed)?;

    // Who signed: a timestamp authority of the trusted root, whose signing certificate verifies
    // the signature over the signed attributes (as a SET, tag 0x31 in place of [0]).
    let mut signed = signer.signed_attrs.to_vec();
    signed[0] = asn1::SET;
    let authority = authorities
        .iter()
        .find(|a| {
            cert::public_key(&a.chain[0]).is_ok_and(|key| memory.verify(&key, signer.signature_alg, &signed, signer.signature).is_ok())
        })
        .ok_or(TimestampRefusal::UntrustedAuthority)?;
    if !authority.valid.contains(time) {
        return Err(TimestampRefusal::OutsideAuthorityValidity(crate::show(time)));
    }
    if !authority.chain.iter().all(|c| cert::valid_at(c, time)) {
        return Err(TimestampRefusal::OutsideCertificateValidity(crate::show(time)));
    }
    Ok(time)
}

fn header_len(tlv_raw: &[u8]) -> usize {
    match asn1::read(tlv_raw) {
        Ok((t, _)) => t.raw.len() - t.value.len(),
        Err(_) => tlv_raw.len(),
    }
}

// SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm,
//                           signature OCTET STRING, [1] unsignedAttrs OPTIONAL }
fn signer_info<'a>(tlv: &Tlv<'a>) -> Result<SignerInfo<'a>, TimestampRefusal> {
    let m = |s: &str| TimestampRefusal::Malformed(s.to_owned());
    let kids = asn1::children(tlv.value).map_err(malformed)?;
    if kids.len() < 6 || kids[3].tag != 0xa0 || kids[5].tag != asn1::OCTET_STRING {
        return Err(m("a signer info without signed attributes"));
    }
    let alg_of = |t: &Tlv<'_>| -> Result<ObjectIdentifier, TimestampRefusal> {
        let a = asn1::children(t.value).map_err(malformed)?;
        oid(a.first().ok_or_else(|| m("bad algorithm identifier"))?)
    };
    let digest_alg = HashAlg::from_oid(&alg_of(&kids[2])?).ok_or_else(|| m("unsupported digest algorithm"))?;
    // ecPublicKey or rsaEncryption as "signature algorithm" mean: with the digest algorithm.
    let sig_oid = alg_of(&kids[4])?;
    let signature_alg = HashAlg::from_oid(&sig_oid).filter(|_| sig_oid != crate::keys::ED25519).unwrap_or(digest_alg);
    Ok(SignerInfo { digest_alg, signed_attrs: kids[3].raw, signature_alg, signature: kids[5].value })
}
