//! in-toto statements (v0.1 and v1), bare or in a DSSE envelope. SLSA provenance v1 and v0.2
//! give the builder, the invocation, the sources (repositories at commits) and the other
//! materials; CycloneDX and SPDX predicates are read as SBOMs about the subjects; any other
//! predicate is kept with its subjects only. Signatures are recorded by key id here; they are
//! checked by [`crate::signatures`].

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use serde::Deserialize;

use crate::bounded::Bounded;
use crate::model::{Extract, Format, Material, Provenance, Source, Subject, Tool};
use crate::{cyclonedx, read_json, read_value, spdx, DocumentError};

const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Top {
    // A DSSE envelope…
    #[serde(default)]
    payload_type: Option<String>,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    signatures: Bounded<Signature>,
    // …or the statement itself.
    #[serde(default, rename = "_type")]
    statement_type: Option<String>,
    #[serde(default)]
    subject: Bounded<StatementSubject>,
    #[serde(default)]
    predicate_type: Option<String>,
    #[serde(default)]
    predicate: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Signature {
    #[serde(default)]
    keyid: Option<String>,
}

#[derive(Deserialize)]
struct StatementSubject {
    #[serde(default)]
    name: String,
    digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvenanceV1 {
    build_definition: BuildDefinition,
    #[serde(default)]
    run_details: Option<RunDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuildDefinition {
    build_type: String,
    #[serde(default)]
    resolved_dependencies: Bounded<ResourceDescriptor>,
}

#[derive(Deserialize)]
struct ResourceDescriptor {
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunDetails {
    builder: Builder,
    #[serde(default)]
    metadata: Option<RunMetadata>,
}

#[derive(Deserialize)]
struct Builder {
    id: String,
    #[serde(default)]
    version: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunMetadata {
    #[serde(default)]
    invocation_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvenanceV02 {
    builder: Builder,
    build_type: String,
    #[serde(default)]
    invocation: Option<InvocationV02>,
    #[serde(default)]
    metadata: Option<MetadataV02>,
    #[serde(default)]
    materials: Bounded<ResourceDescriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvocationV02 {
    #[serde(default)]
    config_source: Option<ResourceDescriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetadataV02 {
    #[serde(default)]
    build_invocation_id: Option<String>,
}

pub(crate) fn read(reader: impl Read) -> Result<Extract, DocumentError> {
    let top: Top = read_json(Format::InToto, reader)?;
    let mut keyids = Vec::new();
    let statement = match top.payload_type {
        Some(payload_type) => {
            if payload_type != PAYLOAD_TYPE {
                return Err(invalid("/payloadType", format!("{payload_type:?} is not read; Dossier reads {PAYLOAD_TYPE:?} envelopes")));
            }
            let payload = top.payload.ok_or_else(|| invalid("/payload", "missing field `payload`"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(payload.trim())
                .map_err(|e| invalid("/payload", format!("not standard base64: {e}")))?;
            keyids = top.signatures.into_iter().map(|s| s.keyid.unwrap_or_default()).collect();
            read_json::<Top>(Format::InToto, bytes.as_slice())?
        }
        None => top,
    };
    let mut out = statement_extract(statement)?;
    out.signatures = keyids;
    Ok(out)
}

/// Reads the in-toto statement a DSSE envelope carries (a Sigstore bundle's), as `format`.
pub(crate) fn read_payload(format: Format, payload_type: &str, payload: &[u8]) -> Result<Extract, DocumentError> {
    if payload_type != PAYLOAD_TYPE {
        return Err(DocumentError::Invalid {
            format: format.name(),
            path: "/dsseEnvelope/payloadType".into(),
            message: format!("{payload_type:?} is not read; Dossier reads {PAYLOAD_TYPE:?} envelopes"),
        });
    }
    let mut out = statement_extract(read_json::<Top>(format, payload)?)?;
    out.format = format;
    Ok(out)
}

fn statement_extract(statement: Top) -> Result<Extract, DocumentError> {
    let ty = statement.statement_type.unwrap_or_default();
    if !ty.starts_with("https://in-toto.io/Statement/") {
        return Err(invalid("/_type", format!("{ty:?} is not an in-toto statement type (https://in-toto.io/Statement/v1 or v0.1)")));
    }
    let predicate_type = statement.predicate_type.ok_or_else(|| invalid("/predicateType", "missing field `predicateType`"))?;
    let predicate = statement.predicate.unwrap_or(serde_json::Value::Null);
    let mut out = if predicate_type.starts_with("https://cyclonedx.org/bom") {
        cyclonedx::from_value(predicate)?
    } else if predicate_type.starts_with("https://spdx.dev/Document") {
        spdx::from_value(predicate)?
    } else {
        let mut out = Extract::new(Format::InToto);
        out.provenance = match predicate_type.as_str() {
            "https://slsa.dev/provenance/v1" => Some(v1(read_value(Format::InToto, predicate)?)),
            "https://slsa.dev/provenance/v0.2" => Some(v02(read_value(Format::InToto, predicate)?)),
            _ => None,
        };
        if let Some(p) = &out.provenance {
            out.tools.extend(p.builder.clone().map(|name| Tool { name, version: None }));
        }
        out
    };
    out.format = Format::InToto;
    out.spec_version = ty.rsplit('/').next().unwrap_or_default().to_owned();
    out.predicate_type = Some(predicate_type);
    out.subjects = statement.subject.into_iter().map(|s| Subject { name: s.name, digest: s.digest }).collect();
    Ok(out)
}

fn invalid(path: &str, message: impl Into<String>) -> DocumentError {
    DocumentError::Invalid { format: Format::InToto.name(), path: path.to_owned(), message: message.into() }
}

fn v1(p: ProvenanceV1) -> Provenance {
    let (builder, invocation) = match p.run_details {
        Some(r) => (Some(builder_name(r.builder)), r.metadata.and_then(|m| m.invocation_id)),
        None => (None, None),
    };
    with_materials(
        Provenance { builder, build_type: Some(p.build_definition.build_type), invocation, ..Provenance::default() },
        p.build_definition.resolved_dependencies.0,
    )
}

fn v02(p: ProvenanceV02) -> Provenance {
    let mut materials = p.materials.0;
    materials.extend(p.invocation.and_then(|i| i.config_source));
    with_materials(
        Provenance {
            builder: Some(builder_name(p.builder)),
            build_type: Some(p.build_type),
            invocation: p.metadata.and_then(|m| m.build_invocation_id),
            ..Provenance::default()
        },
        materials,
    )
}

fn builder_name(b: Builder) -> String {
    match b.version.and_then(|v| v.into_values().next()) {
        Some(v) => format!("{}@{v}", b.id),
        None => b.id,
    }
}

/// Materials that are repositories at a commit are sources; those named by package URL are
/// parents of the subjects; all are kept as stated.
fn with_materials(mut p: Provenance, materials: Vec<ResourceDescriptor>) -> Provenance {
    for m in materials {
        let Some(uri) = m.uri.or(m.name) else { continue };
        let commit = m.digest.get("gitCommit").or_else(|| m.digest.get("sha1")).cloned();
        if let (Some(commit), Some(repository)) = (commit, git_repository(&uri)) {
            if !p.sources.iter().any(|s| s.repository == repository && s.commit == commit) {
                p.sources.push(Source { repository, commit });
            }
        } else if uri.starts_with("pkg:") {
            p.parents.push(uri.clone());
        }
        p.materials.push(Material { uri, digest: m.digest });
    }
    p
}

/// `git+https://github.com/o/r@refs/heads/main` → `https://github.com/o/r`; the `@` of a user
/// (`git+ssh://git@host/o/r`) is not a ref.
fn git_repository(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("git+")?;
    let rest = rest.split_once('#').map_or(rest, |(base, _)| base);
    let rest = match rest.rsplit_once('@') {
        Some((base, _)) if base.split_once("://").is_some_and(|(_, path)| path.contains('/')) => base,
        _ => rest,
    };
    Some(rest.strip_suffix(".git").unwrap_or(rest).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_materials_name_their_repository() {
        assert_eq!(git_repository("git+https://github.com/o/r@refs/heads/main").as_deref(), Some("https://github.com/o/r"));
        assert_eq!(git_repository("git+ssh://git@github.com/o/r.git").as_deref(), Some("ssh://git@github.com/o/r"));
        assert_eq!(git_repository("git+https://github.com/o/r#v1.2"), Some("https://github.com/o/r".into()));
        assert_eq!(git_repository("https://github.com/o/r"), None);
    }
}
