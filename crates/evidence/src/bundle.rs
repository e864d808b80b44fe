//! Sigstore bundles read for what they say: a DSSE envelope's in-toto statement (its subjects,
//! predicate type and, for SLSA provenance, the build), or the digest a message signature signs
//! as the one subject. Whether the signature holds is [`crate::signatures`]' question, asked
//! with the trust configured; this reading is the same whatever the answer.

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use serde::Deserialize;

use crate::model::{Extract, Format, Subject};
use crate::{intoto, read_json, DocumentError};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Top {
    media_type: String,
    #[serde(default)]
    message_signature: Option<MessageSignature>,
    #[serde(default)]
    dsse_envelope: Option<Envelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSignature {
    #[serde(default)]
    message_digest: Option<MessageDigest>,
}

#[derive(Deserialize)]
struct MessageDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
}

fn invalid(path: &str, message: impl Into<String>) -> DocumentError {
    DocumentError::Invalid { format: Format::Sigstore.name(), path: path.to_owned(), message: message.into() }
}

pub(crate) fn read(reader: impl Read) -> Result<Extract, DocumentError> {
    let top: Top = read_json(Format::Sigstore, reader)?;
    if !top.media_type.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(invalid("/mediaType", format!("{:?} is not a Sigstore bundle media type", top.media_type)));
    }
    let version = top.media_type.rsplit_once("version=").map_or_else(
        || {
            top.media_type
                .strip_prefix("application/vnd.dev.sigstore.bundle.")
                .and_then(|v| v.strip_suffix("+json"))
                .map_or("", |v| v.trim_start_matches('v'))
        },
        |(_, v)| v,
    );
    let mut out = match (top.dsse_envelope, top.message_signature) {
        (Some(envelope), None) => {
            let payload = base64::engine::general_purpose::STANDARD
                .decode(envelope.payload.trim())
                .map_err(|e| invalid("/dsseEnvelope/payload", format!("not standard base64: {e}")))?;
            intoto::read_payload(Format::Sigstore, &envelope.payload_type, &payload)?
        }
        (None, Some(message)) => {
            let mut out = Extract::new(Format::Sigstore);
            // The digest the signature is over names what was signed: the bundle's one subject.
            if let Some(d) = message.message_digest {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(d.digest.trim())
                    .map_err(|e| invalid("/messageSignature/messageDigest/digest", format!("not standard base64: {e}")))?;
                let algorithm = match d.algorithm.as_str() {
                    "SHA2_256" => "sha256",
                    "SHA2_384" => "sha384",
                    "SHA2_512" => "sha512",
                    other => {
                        return Err(invalid(
                            "/messageSignature/messageDigest/algorithm",
                            format!("{other:?} is not a digest algorithm Sigstore names"),
                        ))
                    }
                };
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                out.subjects.push(Subject { name: String::new(), digest: BTreeMap::from([(algorithm.to_owned(), hex)]) });
            }
            out
        }
        (Some(_), Some(_)) => return Err(invalid("/messageSignature", "a bundle carries a messageSignature or a dsseEnvelope, not both")),
        (None, None) => return Err(invalid("/dsseEnvelope", "missing: a bundle carries a messageSignature or a dsseEnvelope")),
    };
    out.format = Format::Sigstore;
    out.spec_version = version.to_owned();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_signature_names_its_digest_as_the_subject() {
        let doc = r#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {},
            "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": "q83vAQ=="}, "signature": "MEUC"}}"#;
        let x = read(doc.as_bytes()).unwrap();
        assert_eq!((x.format, x.spec_version.as_str(), x.predicate_type.as_deref()), (Format::Sigstore, "0.3", None));
        assert_eq!(x.subjects, vec![Subject { name: String::new(), digest: BTreeMap::from([("sha256".into(), "abcdef01".into())]) }]);
    }

    #[test]
    fn a_dsse_bundle_is_read_as_its_statement() {
        let statement = r#"{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "shop", "digest": {"sha256": "4a5b"}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"},
                          "runDetails": {"builder": {"id": "https://github.com/actions/runner"}}}}"#;
        let payload = base64::engine::general_purpose::STANDARD.encode(statement);
        let doc = format!(
            r#"{{"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2", "verificationMaterial": {{}},
                "dsseEnvelope": {{"payload": "{payload}", "payloadType": "application/vnd.in-toto+json", "signatures": [{{"sig": "MEUC"}}]}}}}"#
        );
        let x = read(doc.as_bytes()).unwrap();
        assert_eq!((x.format, x.spec_version.as_str()), (Format::Sigstore, "0.2"));
        assert_eq!(x.predicate_type.as_deref(), Some("https://slsa.dev/provenance/v1"));
        assert_eq!(x.provenance.unwrap().builder.as_deref(), Some("https://github.com/actions/runner"));
        assert_eq!(x.subjects[0].name, "shop");
    }

    #[test]
    fn a_bundle_without_content_says_what_is_missing() {
        let doc = r#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {}}"#;
        assert_eq!(
            read(doc.as_bytes()).unwrap_err().to_string(),
            "sigstore document: /dsseEnvelope: missing: a bundle carries a messageSignature or a dsseEnvelope"
        );
    }
}
