//! What Dossier extracts from a document: the same shape whatever the format, so that queries,
//! policies and the lineage graph read one model. It is serialised into the document's log
//! entry, which makes the extraction part of the evidence.

use std::collections::BTreeMap;

use dossier_core::Severity;
use serde::{Deserialize, Serialize};

/// The document formats Dossier reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    CycloneDx,
    Spdx,
    Sarif,
    Osv,
    OpenVex,
    InToto,
    /// A Sigstore bundle (v0.1–v0.3): a message signature or a DSSE envelope with what verifies it.
    Sigstore,
}

impl Format {
    pub const ALL: [Format; 7] =
        [Format::CycloneDx, Format::Spdx, Format::Sarif, Format::Osv, Format::OpenVex, Format::InToto, Format::Sigstore];

    pub fn name(self) -> &'static str {
        match self {
            Format::CycloneDx => "cyclonedx",
            Format::Spdx => "spdx",
            Format::Sarif => "sarif",
            Format::Osv => "osv",
            Format::OpenVex => "openvex",
            Format::InToto => "intoto",
            Format::Sigstore => "sigstore",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The format a media type names (`application/vnd.cyclonedx+json`, …).
    pub fn of_media_type(media_type: &str) -> Option<Format> {
        let essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        Some(match essence.as_str() {
            "application/vnd.cyclonedx+json" => Format::CycloneDx,
            "application/spdx+json" => Format::Spdx,
            "application/sarif+json" => Format::Sarif,
            "application/vnd.openvex+json" | "application/openvex+json" => Format::OpenVex,
            "application/vnd.dsse.envelope.v1+json" | "application/vnd.in-toto+json" => Format::InToto,
            "application/osv+json" | "application/vnd.osv+json" => Format::Osv,
            "application/vnd.dev.sigstore.bundle+json" | "application/vnd.dev.sigstore.bundle.v0.3+json" => Format::Sigstore,
            _ => return None,
        })
    }
}

/// A tool that made the document (scanner, SBOM generator, builder).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A component an SBOM lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The package URL, with its version when the document gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// SPDX licence ids, names or expressions, as the document states them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Algorithm (lower case, `sha256`, `sha1`, …) → hex digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hashes: BTreeMap<String, String>,
}

/// A vulnerability or weakness a tool reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The vulnerability (CVE, GHSA, OSV id) or rule id.
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub severity: Severity,
    /// A CVSS base score, when the document gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The affected package's purl (or name) and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    /// Where in the source (SARIF): `uri:line`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A longer description, when the document gives one (OSV `details`, CycloneDX `detail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Links about it (OSV `references`, CycloneDX `advisories`), as the document gives them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// CVSS vectors, each with its version prefix (`CVSS:3.1/…`, `CVSS:4.0/…`); `cvss` scores them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vectors: Vec<String>,
}

/// A source the build used: a repository at a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub repository: String,
    pub commit: String,
}

/// Build provenance (SLSA v1 or v0.2 in an in-toto statement).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation: Option<String>,
    /// Repositories at commits: sources of the build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// Other materials named by package URL: parents of what was built (a base image, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    /// Every material as stated: URI → digests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<Material>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    pub uri: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
}

/// What an attestation is about: a name and its digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// A VEX statement: whether products are affected by a vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexStatement {
    /// The statement's own id (OpenVEX `@id`, CycloneDX `bom-ref`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub vulnerability: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The products the statement is about. It applies to an artifact only when one of them
    /// names it (`crate::binding`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<Product>,
    /// OpenVEX statuses: `not_affected`, `affected`, `fixed`, `under_investigation`; CycloneDX
    /// analysis states are mapped onto them, `false_positive` kept as is.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A product a VEX statement is about: a purl, a `sha256:<hex>` digest or another identifier,
/// and the subcomponents (purls) the statement is limited to — none: the whole product.
/// Written as a bare string when it is only an id (as entries before subcomponents were read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ProductForm", into = "ProductForm")]
pub struct Product {
    pub id: String,
    /// More names of the same product (OpenVEX `identifiers.purl`, `hashes` as `sha256:<hex>`).
    pub identifiers: Vec<String>,
    pub subcomponents: Vec<String>,
}

impl Product {
    /// A whole product named by `id` alone.
    pub fn named(id: impl Into<String>) -> Product {
        Product { id: id.into(), identifiers: Vec::new(), subcomponents: Vec::new() }
    }

    /// Every name the product goes by: its id, then its other identifiers.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.identifiers.iter().map(String::as_str))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ProductForm {
    Bare(String),
    Full {
        id: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        identifiers: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        subcomponents: Vec<String>,
    },
}

impl From<ProductForm> for Product {
    fn from(form: ProductForm) -> Product {
        match form {
            ProductForm::Bare(id) => Product::named(id),
            ProductForm::Full { id, identifiers, subcomponents } => Product { id, identifiers, subcomponents },
        }
    }
}

impl From<Product> for ProductForm {
    fn from(p: Product) -> ProductForm {
        if p.identifiers.is_empty() && p.subcomponents.is_empty() {
            ProductForm::Bare(p.id)
        } else {
            ProductForm::Full { id: p.id, identifiers: p.identifiers, subcomponents: p.subcomponents }
        }
    }
}

impl VexStatement {
    /// Whether the statement says the products are not exposed (a candidate exception).
    pub fn waives(&self) -> bool {
        matches!(self.status.as_str(), "not_affected" | "false_positive")
    }
}

/// Everything extracted from one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extract {
    pub format: Format,
    /// The format's own version: `1.5`, `SPDX-2.3`, `2.1.0`, an OSV schema version, …
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub spec_version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Purls the document says it describes (CycloneDX `metadata.component`, SPDX described
    /// packages) and attestation subjects' names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub describes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<Subject>,
    /// An attestation's predicate type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vex: Vec<VexStatement>,
    /// Key ids of the envelope's signatures, as stated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<String>,
    /// The checks of the document's signatures (a DSSE envelope's, a Sigstore bundle's), made
    /// when it was received against the trust configured then ([`crate::signatures`]). Empty
    /// for a document that carries no signature, and in entries made before Dossier verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::signatures::Check>,
}

impl Extract {
    pub fn new(format: Format) -> Extract {
        Extract {
            format,
            spec_version: String::new(),
            tools: Vec::new(),
            describes: Vec::new(),
            subjects: Vec::new(),
            predicate_type: None,
            components: Vec::new(),
            findings: Vec::new(),
            provenance: None,
            vex: Vec::new(),
            signatures: Vec::new(),
            checks: Vec::new(),
        }
    }
}

/// Severity from a CVSS base score (the CVSS v3 qualitative scale).
pub fn severity_of_score(score: f64) -> Severity {
    match score {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s > 0.0 => Severity::Low,
        _ => Severity::Unknown,
    }
}
