//! Which format a document is, from its top-level keys alone.

use std::fmt;
use std::io::Read;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::{DocumentError, Format};

#[derive(Default)]
struct Keys {
    array: bool,
    bom_format: Option<String>,
    context: Option<String>,
    statement_type: Option<String>,
    media_type: Option<String>,
    has: Vec<&'static str>,
}

const INTERESTING: [&str; 8] = ["spdxVersion", "runs", "payloadType", "affected", "results", "statements", "id", "modified"];

impl<'de> Visitor<'de> for &mut Keys {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.array = true;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "bomFormat" => self.bom_format = map.next_value::<serde_json::Value>()?.as_str().map(str::to_owned),
                // OpenVEX's context is a string; JSON-LD allows an array.
                "@context" => self.context = Some(map.next_value::<serde_json::Value>()?.to_string()),
                "_type" => self.statement_type = map.next_value::<serde_json::Value>()?.as_str().map(str::to_owned),
                "mediaType" => self.media_type = map.next_value::<serde_json::Value>()?.as_str().map(str::to_owned),
                k => {
                    if let Some(known) = INTERESTING.iter().find(|i| **i == k) {
                        self.has.push(known);
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The format of the JSON document `reader` holds.
pub fn detect(reader: impl Read) -> Result<Format, DocumentError> {
    let mut keys = Keys::default();
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(64 * 1024, reader));
    de.deserialize_any(&mut keys).map_err(|e| DocumentError::NotJson(e.to_string()))?;
    let has = |k: &str| keys.has.contains(&k);
    Ok(if keys.bom_format.as_deref() == Some("CycloneDX") {
        Format::CycloneDx
    } else if keys.media_type.as_deref().is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle")) {
        Format::Sigstore
    } else if has("spdxVersion") {
        Format::Spdx
    } else if has("payloadType") || keys.statement_type.as_deref().is_some_and(|t| t.starts_with("https://in-toto.io/Statement")) {
        Format::InToto
    } else if has("runs") {
        Format::Sarif
    } else if keys.context.as_deref().is_some_and(|c| c.contains("openvex")) && has("statements") {
        Format::OpenVex
    } else if keys.array || has("results") || (has("id") && (has("affected") || has("modified"))) {
        Format::Osv
    } else if keys.context.as_deref().is_some_and(|c| c.contains("spdx.org/rdf/3")) {
        // SPDX 3's JSON-LD serialisation: a different model, said by name rather than "unrecognised".
        return Err(DocumentError::unsupported(
            Format::Spdx,
            "SPDX 3 (JSON-LD) is not supported yet; send SPDX 2.2 or 2.3 JSON (spdx-tools, syft -o spdx-json) or CycloneDX",
        ));
    } else {
        return Err(DocumentError::Unrecognized);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_told_by_its_keys() {
        let cases = [
            (r#"{"bomFormat": "CycloneDX", "specVersion": "1.5"}"#, Format::CycloneDx),
            (r#"{"spdxVersion": "SPDX-2.3", "packages": []}"#, Format::Spdx),
            (r#"{"version": "2.1.0", "runs": []}"#, Format::Sarif),
            (r#"{"id": "GHSA-x", "modified": "2024-01-01T00:00:00Z", "affected": []}"#, Format::Osv),
            (r#"[{"id": "GHSA-x"}]"#, Format::Osv),
            (r#"{"results": []}"#, Format::Osv),
            (r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}"#, Format::OpenVex),
            (r#"{"payloadType": "application/vnd.in-toto+json", "payload": ""}"#, Format::InToto),
            (r#"{"_type": "https://in-toto.io/Statement/v1", "subject": []}"#, Format::InToto),
            (r#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": {}}"#, Format::Sigstore),
            (r#"{"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1", "messageSignature": {}}"#, Format::Sigstore),
        ];
        for (doc, format) in cases {
            assert_eq!(detect(doc.as_bytes()).unwrap(), format, "{doc}");
        }
        assert!(matches!(detect(&b"{\"hello\": 1}"[..]), Err(DocumentError::Unrecognized)));
        let spdx3 = r#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}"#;
        assert_eq!(
            detect(spdx3.as_bytes()).unwrap_err().to_string(),
            "spdx document: SPDX 3 (JSON-LD) is not supported yet; send SPDX 2.2 or 2.3 JSON (spdx-tools, syft -o spdx-json) or CycloneDX"
        );
        assert!(matches!(detect(&b"{\"hello\": "[..]), Err(DocumentError::NotJson(_))));
    }
}
