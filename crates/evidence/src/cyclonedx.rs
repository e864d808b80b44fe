//! CycloneDX JSON 1.4–1.7: components (nested ones too), the tools that made the BOM, the
//! component it describes, vulnerabilities as findings and their analyses as VEX statements.
//! An analysis is about the BOM's subject (`metadata.component`): its product is that
//! component, limited to the components its `affects` name unless they name the subject itself.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde::Deserialize;

use crate::bounded::Bounded;
use crate::model::{severity_of_score, Component, Extract, Finding, Format, Product, Tool, VexStatement};
use crate::{read_json, read_value, DocumentError};

const VERSIONS: [&str; 4] = ["1.4", "1.5", "1.6", "1.7"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Bom {
    spec_version: String,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Bounded<CdxComponent>,
    #[serde(default)]
    vulnerabilities: Bounded<Vulnerability>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    tools: Option<Tools>,
    #[serde(default)]
    component: Option<CdxComponent>,
}

/// 1.4 lists tools; 1.5 and later nest them as components and services.
#[derive(Deserialize)]
#[serde(untagged)]
enum Tools {
    Legacy(Bounded<CdxTool>),
    Current {
        #[serde(default)]
        components: Bounded<CdxTool>,
        #[serde(default)]
        services: Bounded<CdxTool>,
    },
}

#[derive(Deserialize)]
struct CdxTool {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
struct CdxComponent {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default, rename = "bom-ref")]
    bom_ref: Option<String>,
    #[serde(default)]
    licenses: Bounded<LicenseChoice>,
    #[serde(default)]
    hashes: Bounded<Hash>,
    #[serde(default)]
    components: Bounded<CdxComponent>,
}

#[derive(Deserialize)]
struct LicenseChoice {
    #[serde(default)]
    license: Option<License>,
    #[serde(default)]
    expression: Option<String>,
}

#[derive(Deserialize)]
struct License {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Hash {
    alg: String,
    content: String,
}

#[derive(Deserialize)]
struct Vulnerability {
    id: String,
    #[serde(default, rename = "bom-ref")]
    bom_ref: Option<String>,
    #[serde(default)]
    references: Bounded<Reference>,
    #[serde(default)]
    ratings: Bounded<Rating>,
    #[serde(default)]
    affects: Bounded<Affects>,
    #[serde(default)]
    analysis: Option<Analysis>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    advisories: Bounded<Advisory>,
}

#[derive(Deserialize)]
struct Reference {
    id: String,
}

#[derive(Deserialize)]
struct Advisory {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct Rating {
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    vector: Option<String>,
}

impl Rating {
    /// Its CVSS vector with the version prefix: CycloneDX states the version in `method`
    /// (`CVSSv31`, `CVSSv3`, `CVSSv4`) and the vector often without it.
    fn cvss_vector(&self) -> Option<String> {
        let vector = self.vector.as_deref()?.trim();
        if vector.starts_with("CVSS:") {
            return Some(vector.to_owned());
        }
        let version = match self.method.as_deref()? {
            "CVSSv31" => "3.1",
            "CVSSv3" => "3.0",
            "CVSSv4" => "4.0",
            _ => return None,
        };
        Some(format!("CVSS:{version}/{vector}"))
    }
}

#[derive(Deserialize)]
struct Affects {
    #[serde(rename = "ref")]
    reference: String,
}

#[derive(Deserialize)]
struct Analysis {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

pub(crate) fn read(reader: impl Read) -> Result<Extract, DocumentError> {
    let bom: Bom = read_json(Format::CycloneDx, reader)?;
    from_bom(bom)
}

pub(crate) fn from_value(value: serde_json::Value) -> Result<Extract, DocumentError> {
    from_bom(read_value(Format::CycloneDx, value)?)
}

fn from_bom(bom: Bom) -> Result<Extract, DocumentError> {
    if !VERSIONS.contains(&bom.spec_version.as_str()) {
        return Err(DocumentError::unsupported(
            Format::CycloneDx,
            format!("specVersion {:?} is not read; Dossier reads CycloneDX JSON {}", bom.spec_version, VERSIONS.join(", ")),
        ));
    }
    let mut out = Extract::new(Format::CycloneDx);
    out.spec_version = bom.spec_version;
    // bom-ref → purl (or name), to name the packages vulnerabilities affect.
    let mut refs: HashMap<String, String> = HashMap::new();
    // The BOM's subject: its purl (or name), and its bom-ref.
    let mut subject: Option<(String, Option<String>)> = None;
    if let Some(meta) = bom.metadata {
        let tools = match meta.tools {
            None => Vec::new(),
            Some(Tools::Legacy(t)) => t.0,
            Some(Tools::Current { components, services }) => components.into_iter().chain(services).collect(),
        };
        out.tools = tools.into_iter().filter_map(|t| Some(Tool { name: t.name?, version: t.version })).collect();
        if let Some(root) = meta.component {
            let name = root.purl.clone().unwrap_or_else(|| root.name.clone());
            if let Some(r) = &root.bom_ref {
                refs.insert(r.clone(), name.clone());
            }
            out.describes.extend(root.purl.clone());
            subject = Some((name, root.bom_ref));
        }
    }
    let mut stack: Vec<CdxComponent> = bom.components.0;
    stack.reverse();
    while let Some(mut c) = stack.pop() {
        // Nested components (a jar's shaded dependencies, an image's packages) are components too.
        let nested = std::mem::take(&mut c.components.0);
        stack.extend(nested.into_iter().rev());
        if let Some(r) = &c.bom_ref {
            refs.insert(r.clone(), c.purl.clone().unwrap_or_else(|| c.name.clone()));
        }
        out.components.push(component(c));
    }
    for v in bom.vulnerabilities {
        let aliases: Vec<String> = v.references.into_iter().map(|r| r.id).filter(|a| *a != v.id).collect();
        let affects: Vec<String> = v.affects.0.iter().map(|a| a.reference.clone()).collect();
        let products: Vec<String> = v.affects.into_iter().map(|a| refs.get(&a.reference).cloned().unwrap_or(a.reference)).collect();
        let status = v.analysis.as_ref().and_then(|a| a.state.as_deref()).map(vex_status);
        match status {
            // An analysed vulnerability is a VEX statement; one under triage or exploitable is
            // still a finding.
            Some(status) if status != "affected" && status != "under_investigation" => {
                let analysis = v.analysis.unwrap_or(Analysis { state: None, justification: None, detail: None });
                out.vex.push(VexStatement {
                    id: v.bom_ref,
                    vulnerability: v.id,
                    aliases,
                    products: vex_products(subject.as_ref(), &affects, products),
                    status: status.to_owned(),
                    justification: analysis.justification,
                    detail: analysis.detail,
                });
            }
            _ => {
                let score = v.ratings.0.iter().filter_map(|r| r.score).reduce(f64::max);
                let named = v.ratings.0.iter().filter_map(|r| r.severity.as_deref().and_then(dossier_core::Severity::parse)).max();
                let severity = named.or(score.map(severity_of_score)).unwrap_or_default();
                let packages = if products.is_empty() { vec![None] } else { products.into_iter().map(Some).collect() };
                for package in packages {
                    let (package, version) = split_package(package);
                    out.findings.push(Finding {
                        id: v.id.clone(),
                        aliases: aliases.clone(),
                        severity,
                        score,
                        package,
                        version,
                        fixed_version: None,
                        location: None,
                        title: v.description.clone(),
                        description: v.detail.clone(),
                        references: v.advisories.0.iter().filter_map(|a| a.url.clone()).collect(),
                        vectors: v.ratings.0.iter().filter_map(Rating::cvss_vector).collect(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The products of an analysis: the BOM's subject, whole when an `affects` names it, else
/// limited to the affected components; without a subject, the affected components themselves.
fn vex_products(subject: Option<&(String, Option<String>)>, affects: &[String], targets: Vec<String>) -> Vec<Product> {
    let Some((name, bom_ref)) = subject else { return targets.into_iter().map(Product::named).collect() };
    let whole = affects.iter().zip(&targets).any(|(r, t)| Some(r) == bom_ref.as_ref() || t == name);
    let subcomponents = if whole { Vec::new() } else { targets };
    vec![Product { id: name.clone(), identifiers: Vec::new(), subcomponents }]
}

fn split_package(package: Option<String>) -> (Option<String>, Option<String>) {
    match package {
        Some(p) => match dossier_core::split_purl_version(&p) {
            Some((_, version)) => {
                let version = version.to_owned();
                (Some(p), Some(version))
            }
            None => (Some(p), None),
        },
        None => (None, None),
    }
}

fn component(c: CdxComponent) -> Component {
    let licenses = c.licenses.into_iter().filter_map(|l| l.expression.or_else(|| l.license.and_then(|l| l.id.or(l.name)))).collect();
    let hashes: BTreeMap<String, String> =
        c.hashes.into_iter().map(|h| (h.alg.to_ascii_lowercase().replace('-', ""), h.content.to_ascii_lowercase())).collect();
    Component { name: c.name, version: c.version, purl: c.purl, licenses, hashes }
}

/// CycloneDX analysis states in OpenVEX's terms.
fn vex_status(state: &str) -> &'static str {
    match state {
        "not_affected" => "not_affected",
        "false_positive" => "false_positive",
        "resolved" | "resolved_with_pedigree" => "fixed",
        "exploitable" => "affected",
        _ => "under_investigation",
    }
}
