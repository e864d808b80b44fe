//! SPDX 2.2 and 2.3 JSON: packages as components (their purl from the package-manager
//! external reference, licences concluded or else declared, checksums), the creating tools,
//! and the packages the document describes (`documentDescribes`, or a `DESCRIBES` relationship
//! from the document) — components too, as a CycloneDX SBOM of the same package lists it.

use std::collections::HashSet;
use std::io::Read;

use serde::Deserialize;

use crate::bounded::Bounded;
use crate::model::{Component, Extract, Format, Tool};
use crate::{read_json, read_value, DocumentError};

const VERSIONS: [&str; 2] = ["SPDX-2.2", "SPDX-2.3"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: String,
    #[serde(default)]
    creation_info: Option<CreationInfo>,
    #[serde(default)]
    packages: Bounded<Package>,
    #[serde(default)]
    document_describes: Bounded<String>,
    #[serde(default)]
    relationships: Bounded<Relationship>,
}

#[derive(Deserialize)]
struct CreationInfo {
    #[serde(default)]
    creators: Bounded<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(default)]
    version_info: Option<String>,
    #[serde(default)]
    license_concluded: Option<String>,
    #[serde(default)]
    license_declared: Option<String>,
    #[serde(default)]
    checksums: Bounded<Checksum>,
    #[serde(default)]
    external_refs: Bounded<ExternalRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: String,
    checksum_value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_type: String,
    reference_locator: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: String,
    related_spdx_element: String,
}

pub(crate) fn read(reader: impl Read) -> Result<Extract, DocumentError> {
    from_document(read_json(Format::Spdx, reader)?)
}

pub(crate) fn from_value(value: serde_json::Value) -> Result<Extract, DocumentError> {
    from_document(read_value(Format::Spdx, value)?)
}

fn from_document(doc: Document) -> Result<Extract, DocumentError> {
    if !VERSIONS.contains(&doc.spdx_version.as_str()) {
        return Err(DocumentError::unsupported(
            Format::Spdx,
            format!("spdxVersion {:?} is not read; Dossier reads {}", doc.spdx_version, VERSIONS.join(" and ")),
        ));
    }
    let mut out = Extract::new(Format::Spdx);
    out.spec_version = doc.spdx_version;
    // "Tool: syft-1.0.0" → syft 1.0.0; organisations and people are not tools.
    out.tools = doc
        .creation_info
        .map(|c| c.creators.0)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.strip_prefix("Tool:"))
        .map(|t| {
            let t = t.trim();
            match t.rsplit_once('-').filter(|(_, v)| v.starts_with(|c: char| c.is_ascii_digit() || c == 'v')) {
                Some((name, version)) => Tool { name: name.to_owned(), version: Some(version.to_owned()) },
                None => Tool { name: t.to_owned(), version: None },
            }
        })
        .collect();
    let mut described: HashSet<String> = doc.document_describes.0.into_iter().collect();
    described.extend(
        doc.relationships
            .into_iter()
            .filter(|r| r.spdx_element_id == "SPDXRef-DOCUMENT" && r.relationship_type == "DESCRIBES")
            .map(|r| r.related_spdx_element),
    );
    let mut seen: HashSet<String> = HashSet::new();
    for p in doc.packages {
        // An element is one package however often the document lists it.
        if !seen.insert(p.spdx_id.clone()) {
            continue;
        }
        let purl = p.external_refs.0.iter().find(|r| r.reference_type == "purl").map(|r| r.reference_locator.clone());
        if described.contains(&p.spdx_id) {
            out.describes.extend(purl.clone());
        }
        let licenses = [p.license_concluded, p.license_declared]
            .into_iter()
            .flatten()
            .find(|l| l != "NOASSERTION" && l != "NONE")
            .into_iter()
            .collect();
        let hashes = p
            .checksums
            .into_iter()
            .map(|c| (c.algorithm.to_ascii_lowercase().replace('-', ""), c.checksum_value.to_ascii_lowercase()))
            .collect();
        out.components.push(Component { name: p.name, version: p.version_info, purl, licenses, hashes });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13: the described package was left out of the components, which the same tool's
    /// CycloneDX output lists.
    #[test]
    fn the_described_package_is_a_component_once_however_often_it_is_named() {
        let doc = serde_json::json!({
            "spdxVersion": "SPDX-2.3",
            "documentDescribes": ["SPDXRef-app"],
            "packages": [
                {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0", "licenseDeclared": "MIT",
                 "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:pypi/app@1.0"}]},
                {"SPDXID": "SPDXRef-dep", "name": "dep", "versionInfo": "2.0",
                 "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:pypi/dep@2.0"}]},
                {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0"}
            ],
            "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-app"}]
        });
        let x = from_value(doc).unwrap();
        assert_eq!(x.describes, ["pkg:pypi/app@1.0"]);
        let listed: Vec<(&str, Option<&str>, &[String])> =
            x.components.iter().map(|c| (c.name.as_str(), c.purl.as_deref(), c.licenses.as_slice())).collect();
        assert_eq!(listed, [("app", Some("pkg:pypi/app@1.0"), &["MIT".to_owned()][..]), ("dep", Some("pkg:pypi/dep@2.0"), &[][..])]);
    }
}
