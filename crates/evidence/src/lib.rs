//! Security documents read into the facts Dossier keeps about artifacts.
//!
//! A document (an SBOM, a scan report, a VEX, an attestation) is read in two passes over the
//! same bytes: [`detect`] looks only at its top-level keys, [`extract`] reads the fields Dossier
//! keeps into an [`Extract`] and skips the rest without building it. Neither pass holds the
//! document in memory, so a reader over a file keeps memory proportional to what is extracted;
//! arrays count against [`MAX_ITEMS`] and nesting against serde_json's depth limit (128).
//!
//! No I/O here beyond the reader given: storage, fetching and the log are the server's.

pub mod about;
pub mod binding;
mod bounded;
mod bundle;
pub mod cvss;
mod cyclonedx;
mod detect;
mod intoto;
mod model;
mod openvex;
mod osv;
mod sarif;
pub mod signatures;
mod spdx;

use std::io::Read;

pub use bounded::MAX_ITEMS;
pub use detect::detect;
pub use model::{
    severity_of_score, Component, Extract, Finding, Format, Material, Product, Provenance, Source, Subject, Tool, VexStatement,
};

/// Why a document was refused.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error(
        "not a document Dossier reads: expected CycloneDX JSON (\"bomFormat\": \"CycloneDX\"), SPDX JSON (\"spdxVersion\"), \
         SARIF (\"runs\"), OSV (\"id\" and \"affected\", a list of them, or osv-scanner's \"results\"), OpenVEX (\"@context\" \
         naming openvex), an in-toto statement or DSSE envelope (\"_type\" or \"payloadType\") or a Sigstore bundle \
         (\"mediaType\": \"application/vnd.dev.sigstore.bundle…\")"
    )]
    Unrecognized,
    #[error("{format} document: {path}: {message}")]
    Invalid { format: &'static str, path: String, message: String },
    #[error("{format} document: {path}: nested more than 128 levels deep")]
    TooDeep { format: &'static str, path: String },
    #[error("{format} document: {message}")]
    Unsupported { format: &'static str, message: String },
}

impl DocumentError {
    pub(crate) fn unsupported(format: Format, message: impl Into<String>) -> DocumentError {
        DocumentError::Unsupported { format: format.name(), message: message.into() }
    }
}

/// Reads `T` from JSON, naming the path of the first field that does not fit.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(format: Format, reader: impl Read) -> Result<T, DocumentError> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(64 * 1024, reader));
    let value = bounded::with_budget(MAX_ITEMS, || serde_path_to_error::deserialize(&mut de)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.to_string().starts_with("recursion limit exceeded") {
            DocumentError::TooDeep { format: format.name(), path: json_pointer(&path) }
        } else if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            DocumentError::NotJson(inner.to_string())
        } else {
            DocumentError::Invalid { format: format.name(), path: json_pointer(&path), message: strip_position(&inner.to_string()) }
        }
    })?;
    de.end().map_err(|e| DocumentError::NotJson(e.to_string()))?;
    Ok(value)
}

/// Reads `T` from JSON already parsed (an attestation's predicate).
pub(crate) fn read_value<T: serde::de::DeserializeOwned>(format: Format, value: serde_json::Value) -> Result<T, DocumentError> {
    bounded::with_budget(MAX_ITEMS, || serde_path_to_error::deserialize(value)).map_err(|e| DocumentError::Invalid {
        format: format.name(),
        path: json_pointer(&e.path().to_string()),
        message: e.into_inner().to_string(),
    })
}

/// serde_path_to_error writes `a.b[3].c`; errors elsewhere in Dossier are JSON pointers.
fn json_pointer(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    let mut out = String::new();
    for part in path.split('.') {
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            if open > 0 {
                out.push('/');
                out.push_str(&rest[..open]);
            }
            let close = rest[open..].find(']').map_or(rest.len(), |c| open + c);
            out.push('/');
            out.push_str(&rest[open + 1..close]);
            rest = rest.get(close + 1..).unwrap_or("");
        }
        if !rest.is_empty() {
            out.push('/');
            out.push_str(rest);
        }
    }
    out
}

/// serde_json appends " at line L column C"; the pointer says where more usefully.
fn strip_position(message: &str) -> String {
    message.rsplit_once(" at line ").map_or(message, |(m, _)| m).to_owned()
}

/// Reads a document of `format`.
pub fn extract(format: Format, reader: impl Read) -> Result<Extract, DocumentError> {
    match format {
        Format::CycloneDx => cyclonedx::read(reader),
        Format::Spdx => spdx::read(reader),
        Format::Sarif => sarif::read(reader),
        Format::Osv => osv::read(reader),
        Format::OpenVex => openvex::read(reader),
        Format::InToto => intoto::read(reader),
        Format::Sigstore => bundle::read(reader),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_json_pointers() {
        assert_eq!(json_pointer("components[3].licenses[0].license"), "/components/3/licenses/0/license");
        assert_eq!(json_pointer("."), "");
        assert_eq!(json_pointer("runs[0].tool"), "/runs/0/tool");
    }
}
