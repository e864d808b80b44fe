//! How CDEvents state lineage facts: the spec's own fields first, then `chainId`, then
//! `customData.dossier` and the custom `dev.cdeventsx.dossier-vulnerability.*` events where the
//! spec has no field. `docs/lineage.md` documents every convention for users.

use serde::Deserialize;
use serde_json::Value;

use crate::facts::{Fact, Found, Severity, VexFact, VexProduct};
use crate::own::{Family, OwnType};
use crate::purl::artifact_name;
use crate::version::{split_purl_version, VersionRange};

// Dossier's custom types are defined once, in `crate::own`: vulnerabilities (discovered, withdrawn,
// fixed; the subject is the vulnerability), quarantine (the subject is the artifact's purl) and
// documents received (the subject is the document's digest; the content names the artifact).

/// A convention broken: where, and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConventionError {
    pub pointer: String,
    pub message: String,
}

fn err(pointer: &str, message: impl Into<String>) -> ConventionError {
    ConventionError { pointer: pointer.to_owned(), message: message.into() }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// The artifacts named by an array of strings at `pointer`, if present, each as
/// [`artifact_name`] names it.
fn artifacts(v: &Value, pointer: &str) -> Result<Vec<String>, ConventionError> {
    Ok(strings(v, pointer)?.iter().map(|a| artifact_name(a).into_owned()).collect())
}

/// An array of strings at `pointer`, if present.
fn strings(v: &Value, pointer: &str) -> Result<Vec<String>, ConventionError> {
    match v.pointer(pointer) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, x)| x.as_str().map(str::to_owned).ok_or_else(|| err(&format!("{pointer}/{i}"), "must be a string (a purl)")))
            .collect(),
        Some(_) => Err(err(pointer, "must be an array of strings")),
    }
}

/// `[{"repository": "...", "commit": "..."}]` at `pointer`, if present.
fn commits(v: &Value, pointer: &str) -> Result<Vec<(String, String)>, ConventionError> {
    match v.pointer(pointer) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, x)| match (x.get("repository").and_then(Value::as_str), x.get("commit").and_then(Value::as_str)) {
                (Some(r), Some(c)) if !r.is_empty() && !c.is_empty() => Ok((r.to_owned(), c.to_owned())),
                _ => Err(err(
                    &format!("{pointer}/{i}"),
                    "must be {\"repository\": \"<url>\", \"commit\": \"<sha>\"}, both non-empty strings",
                )),
            })
            .collect(),
        Some(_) => Err(err(pointer, "must be an array of {\"repository\", \"commit\"} objects")),
    }
}

/// `[{"purl": "pkg:npm/lodash", "versions": "<4.17.21"}]` at `pointer`, if present.
fn packages(v: &Value, pointer: &str) -> Result<Vec<(String, VersionRange)>, ConventionError> {
    match v.pointer(pointer) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let at = format!("{pointer}/{i}");
                let purl = x.get("purl").and_then(Value::as_str).filter(|p| p.starts_with("pkg:") && !p.contains('@'));
                let purl = purl.ok_or_else(|| err(&format!("{at}/purl"), "must be a package URL without version, e.g. pkg:npm/lodash"))?;
                let range = match x.get("versions") {
                    None => VersionRange::of_package(purl, "*"),
                    Some(Value::String(r)) => VersionRange::of_package(purl, r),
                    Some(_) => Err("must be a string such as \">=1.2.0,<1.4.5\"".to_owned()),
                }
                .map_err(|m| err(&format!("{at}/versions"), m))?;
                Ok((purl.to_owned(), range))
            })
            .collect(),
        Some(_) => Err(err(pointer, "must be an array of {\"purl\", \"versions\"} objects")),
    }
}

/// The pipeline run an event belongs to: `customData.dossier.pipelineRun`, else `chainId`.
fn run_of(v: &Value) -> Result<Option<String>, ConventionError> {
    match v.pointer("/customData/dossier/pipelineRun") {
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(err("/customData/dossier/pipelineRun", "must be a non-empty string (the pipeline run's id)")),
        None => Ok(str_at(v, "/context/chainId").map(str::to_owned)),
    }
}

/// The lineage facts a validated CDEvent states, in order.
pub fn facts(v: &Value) -> Result<Vec<Fact>, ConventionError> {
    let ty = str_at(v, "/context/type").unwrap_or_default();
    let subject = str_at(v, "/subject/id").unwrap_or_default().to_owned();
    let mut out = Vec::new();
    let kind = ty.strip_prefix("dev.cdevents.").map(|rest| {
        let mut parts = rest.split('.');
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    });
    match kind {
        Some(("pipelinerun", _)) => {
            // A run is named by its chainId (shared by all its events), else its subject id.
            let run = run_of(v)?.unwrap_or(subject);
            for (repository, commit) in commits(v, "/customData/dossier/sources")? {
                out.push(Fact::RunSource { run: run.clone(), repository, commit });
            }
        }
        Some(("artifact", "deleted")) => out.push(Fact::ArtifactDeleted { artifact: artifact_name(&subject).into_owned() }),
        Some(("artifact", _)) => {
            let artifact = artifact_name(&subject).into_owned();
            // artifact.packaged names the change it was built from: a source of this artifact,
            // not of the others its run builds.
            let change = match (str_at(v, "/subject/content/change/source"), str_at(v, "/subject/content/change/id")) {
                (Some(repo), Some(id)) => Some((repo.to_owned(), id.to_owned())),
                _ => None,
            };
            // Built from a change in no named run: a build of its own.
            let run = run_of(v)?.or_else(|| change.as_ref().map(|_| format!("build of {artifact}")));
            if let Some(run) = run {
                out.push(Fact::BuiltBy { artifact: artifact.clone(), run });
            }
            if let Some((repository, commit)) = change {
                out.push(Fact::Change { artifact: artifact.clone(), repository, commit });
            }
            for parent in artifacts(v, "/customData/dossier/parents")? {
                out.push(Fact::Parent { artifact: artifact.clone(), parent });
            }
            for (i, purl) in strings(v, "/customData/dossier/packages")?.iter().enumerate() {
                let (package, version) = split_purl_version(purl).ok_or_else(|| {
                    err(&format!("/customData/dossier/packages/{i}"), "must be a package URL with a version, e.g. pkg:npm/lodash@4.17.20")
                })?;
                out.push(Fact::Contains { artifact: artifact.clone(), package: package.to_owned(), version: version.to_owned() });
            }
        }
        Some(("service", predicate)) => {
            let environment = str_at(v, "/subject/content/environment/id").unwrap_or_default().to_owned();
            match predicate {
                "deployed" | "upgraded" | "rolledback" => {
                    if let Some(artifact) = str_at(v, "/subject/content/artifactId") {
                        out.push(Fact::Deployed { environment, service: subject, artifact: artifact_name(artifact).into_owned() });
                    }
                }
                "removed" => out.push(Fact::Removed { environment, service: subject }),
                _ => {}
            }
        }
        _ if OwnType::VulnerabilityDiscovered.matches(ty) => {
            let severity = match v.pointer("/subject/content/severity") {
                None => Severity::Unknown,
                Some(s) => s
                    .as_str()
                    .and_then(Severity::parse)
                    .ok_or_else(|| err("/subject/content/severity", "must be one of critical, high, medium, low, unknown"))?,
            };
            let commits = commits(v, "/subject/content/commits")?;
            let artifacts = artifacts(v, "/subject/content/artifacts")?;
            let packages = packages(v, "/subject/content/packages")?;
            if commits.is_empty() && artifacts.is_empty() && packages.is_empty() {
                return Err(err(
                    "/subject/content",
                    "a discovered vulnerability names the commits, artifacts and/or packages it was found in",
                ));
            }
            let aliases = strings(v, "/subject/content/aliases")?.into_iter().filter(|a| *a != subject).collect();
            out.push(Fact::Vulnerability { id: subject, aliases, severity, commits, artifacts, packages });
        }
        _ if OwnType::VulnerabilityWithdrawn.matches(ty) || OwnType::VulnerabilityFixed.matches(ty) => {
            out.push(Fact::VulnerabilityGone { id: subject })
        }
        _ if OwnType::DocumentReceived.matches(ty) => document_facts(v, &subject, &mut out)?,
        _ if OwnType::ArtifactQuarantined.matches(ty) => {
            out.push(Fact::Quarantine { artifact: artifact_name(&subject).into_owned(), quarantined: true })
        }
        _ if OwnType::ArtifactReleased.matches(ty) => {
            out.push(Fact::Quarantine { artifact: artifact_name(&subject).into_owned(), quarantined: false })
        }
        _ => {}
    }
    Ok(out)
}

/// What a document states about its artifact: the versioned packages its SBOM lists, and the
/// build its provenance describes (sources, parents).
fn document_facts(v: &Value, digest: &str, out: &mut Vec<Fact>) -> Result<(), ConventionError> {
    let artifact = str_at(v, "/subject/content/artifactId")
        .filter(|a| !a.is_empty())
        .map(|a| artifact_name(a).into_owned())
        .ok_or_else(|| err("/subject/content/artifactId", "a received document names the artifact it is about"))?;
    if let Some(Value::Array(components)) = v.pointer("/subject/content/components") {
        for c in components {
            // Components without a versioned purl (files, unnamed parts) state no package.
            if let Some((package, version)) = c.get("purl").and_then(Value::as_str).and_then(split_purl_version) {
                out.push(Fact::Contains { artifact: artifact.clone(), package: package.to_owned(), version: version.to_owned() });
            }
        }
    }
    if let Some(found) = v.pointer("/subject/content/findings") {
        let found: Vec<DocFinding> = serde_json::from_value(found.clone())
            .map_err(|e| err("/subject/content/findings", format!("must be the document's findings: {e}")))?;
        let found: Vec<Found> = found.into_iter().filter_map(DocFinding::into_found).collect();
        if !found.is_empty() {
            out.push(Fact::Findings { document: digest.to_owned(), artifact: artifact.clone(), found });
        }
    }
    if let Some(vex) = v.pointer("/subject/content/vex") {
        let vex: Vec<DocVex> =
            serde_json::from_value(vex.clone()).map_err(|e| err("/subject/content/vex", format!("must be VEX statements: {e}")))?;
        let statements: Vec<VexFact> = vex.into_iter().map(DocVex::into_fact).collect();
        if !statements.is_empty() {
            out.push(Fact::Vex { document: digest.to_owned(), statements });
        }
    }
    if let Some(p) = v.pointer("/subject/content/provenance") {
        let run = p.get("invocation").and_then(Value::as_str).map_or_else(|| format!("provenance {digest}"), str::to_owned);
        for (repository, commit) in commits(v, "/subject/content/provenance/sources")? {
            out.push(Fact::RunSource { run: run.clone(), repository, commit });
        }
        out.push(Fact::BuiltBy { artifact: artifact.clone(), run });
        for parent in artifacts(v, "/subject/content/provenance/parents")? {
            out.push(Fact::Parent { artifact: artifact.clone(), parent });
        }
    }
    Ok(())
}

/// A finding as a document entry records it (`dossier_evidence::Finding`, the fields read here).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocFinding {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    severity: Severity,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    fixed_version: Option<String>,
}

/// Whether `id` names a vulnerability (`CVE-2021-23337`, `GHSA-35jh-r3h4-6jhm`,
/// `PYSEC-2021-98`, `RUSTSEC-…`, `GO-…`, `OSV-…`): upper-case letters, a dash, then more. A
/// static analyser's rule (`B102`, `python.lang.security.eval`) is a weakness in code, not a
/// vulnerability that reaches what is built from it.
fn names_a_vulnerability(id: &str) -> bool {
    id.split_once('-').is_some_and(|(prefix, rest)| {
        !prefix.is_empty()
            && prefix.bytes().all(|b| b.is_ascii_uppercase())
            && !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

impl DocFinding {
    /// The vulnerability it reports; `None` for a weakness (a rule of a code scanner).
    fn into_found(self) -> Option<Found> {
        let id = std::iter::once(&self.id).chain(&self.aliases).find(|i| names_a_vulnerability(i))?.clone();
        let mut aliases: Vec<String> =
            std::iter::once(self.id).chain(self.aliases).filter(|a| *a != id && names_a_vulnerability(a)).collect();
        aliases.sort();
        aliases.dedup();
        let (package, affected) = match self.package {
            // A package without a version: an advisory about its versions before the fix.
            Some(p) if p.starts_with("pkg:") && split_purl_version(&p).is_none() => {
                let range = self.fixed_version.map_or_else(|| "*".to_owned(), |f| format!("<{f}"));
                let range = VersionRange::of_package(&p, &range).or_else(|_| VersionRange::of_package(&p, "*")).ok()?;
                (None, vec![(p, range)])
            }
            p => (p, Vec::new()),
        };
        Some(Found { id, aliases, severity: self.severity, package, affected })
    }
}

/// A VEX statement as a document entry records it (`dossier_evidence::VexStatement`).
#[derive(Deserialize)]
struct DocVex {
    vulnerability: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    products: Vec<DocProduct>,
    status: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DocProduct {
    Bare(String),
    Full {
        id: String,
        #[serde(default)]
        identifiers: Vec<String>,
        #[serde(default)]
        subcomponents: Vec<String>,
    },
}

impl DocVex {
    fn into_fact(self) -> VexFact {
        let products = self
            .products
            .into_iter()
            .map(|p| match p {
                DocProduct::Bare(id) => VexProduct { names: vec![id], subcomponents: Vec::new() },
                DocProduct::Full { id, identifiers, subcomponents } => {
                    VexProduct { names: std::iter::once(id).chain(identifiers).collect(), subcomponents }
                }
            })
            .collect();
        let waives = matches!(self.status.as_str(), "not_affected" | "false_positive");
        VexFact { vulnerability: self.vulnerability, aliases: self.aliases, products, waives }
    }
}

/// Whether events of this type can state lineage facts (so others need not be parsed).
pub fn relevant(event_type: &str) -> bool {
    [
        "dev.cdevents.pipelinerun.",
        "dev.cdevents.artifact.",
        "dev.cdevents.service.",
        Family::Vulnerability.prefix(),
        Family::Artifact.prefix(),
        OwnType::DocumentReceived.unversioned(),
    ]
    .iter()
    .any(|p| event_type.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_packaged_image_states_its_build_its_own_change_and_its_parents_in_canonical_form() {
        let e = json!({
            "context": {"type": "dev.cdevents.artifact.packaged.0.3.0", "chainId": "run-7"},
            "subject": {"id": "pkg:oci/shop@sha256%3Aab", "content": {"change": {"id": "c0ffee", "source": "https://git.example.com/shop"}}},
            "customData": {"dossier": {"parents": ["pkg:oci/base@sha256%3A01"]}}
        });
        let shop = "pkg:oci/shop@sha256:ab".to_owned();
        assert_eq!(
            facts(&e).unwrap(),
            vec![
                Fact::BuiltBy { artifact: shop.clone(), run: "run-7".into() },
                Fact::Change { artifact: shop.clone(), repository: "https://git.example.com/shop".into(), commit: "c0ffee".into() },
                Fact::Parent { artifact: shop, parent: "pkg:oci/base@sha256:01".into() },
            ]
        );
    }

    #[test]
    fn a_change_in_no_named_run_is_a_build_of_its_own() {
        let e = json!({
            "context": {"type": "dev.cdevents.artifact.packaged.0.3.0"},
            "subject": {"id": "pkg:generic/tool@1", "content": {"change": {"id": "c1", "source": "https://git.example.com/tool"}}}
        });
        assert_eq!(
            facts(&e).unwrap(),
            vec![
                Fact::BuiltBy { artifact: "pkg:generic/tool@1".into(), run: "build of pkg:generic/tool@1".into() },
                Fact::Change {
                    artifact: "pkg:generic/tool@1".into(),
                    repository: "https://git.example.com/tool".into(),
                    commit: "c1".into()
                },
            ]
        );
    }

    #[test]
    fn every_artifact_a_fact_names_is_named_in_canonical_form() {
        let deployed = json!({
            "context": {"type": "dev.cdevents.service.deployed.0.3.0"},
            "subject": {"id": "shop", "content": {"environment": {"id": "prod"}, "artifactId": "pkg:OCI/Shop@sha256%3AAB"}}
        });
        let found = json!({
            "context": {"type": "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0"},
            "subject": {"id": "CVE-1", "content": {"artifacts": ["pkg:oci/shop@sha256%3Aab", "not-a-purl"]}}
        });
        let quarantined = json!({
            "context": {"type": "dev.cdeventsx.dossier-artifact.quarantined.0.1.0"},
            "subject": {"id": "pkg:oci/shop@sha256%3Aab", "content": {"reason": "CVE-1"}}
        });
        let deleted = json!({"context": {"type": "dev.cdevents.artifact.deleted.0.1.0"}, "subject": {"id": "pkg:oci/shop@sha256%3Aab"}});
        let shop = "pkg:oci/shop@sha256:ab".to_owned();
        let stated: Vec<Fact> = [deployed, found, quarantined, deleted].iter().flat_map(|e| facts(e).unwrap()).collect();
        assert_eq!(
            stated,
            vec![
                Fact::Deployed { environment: "prod".into(), service: "shop".into(), artifact: shop.clone() },
                Fact::Vulnerability {
                    id: "CVE-1".into(),
                    aliases: vec![],
                    severity: Severity::Unknown,
                    commits: vec![],
                    artifacts: vec![shop.clone(), "not-a-purl".into()],
                    packages: vec![]
                },
                Fact::Quarantine { artifact: shop.clone(), quarantined: true },
                Fact::ArtifactDeleted { artifact: shop },
            ]
        );
    }

    #[test]
    fn a_document_states_the_packages_of_its_sbom_and_the_build_of_its_provenance() {
        let e = json!({
            "context": {"type": "dev.cdeventsx.dossier-document.received.0.1.0"},
            "subject": {"id": "sha256:d0c", "content": {
                "artifactId": "pkg:oci/shop@sha256%3Aab",
                "components": [{"name": "lodash", "purl": "pkg:npm/lodash@4.17.20"}, {"name": "README.md"}],
                "provenance": {"sources": [{"repository": "https://github.com/o/shop", "commit": "7fd1"}], "parents": ["pkg:oci/node@sha256%3A9e"]}
            }}
        });
        let shop = "pkg:oci/shop@sha256:ab".to_owned();
        assert_eq!(
            facts(&e).unwrap(),
            vec![
                Fact::Contains { artifact: shop.clone(), package: "pkg:npm/lodash".into(), version: "4.17.20".into() },
                Fact::RunSource {
                    run: "provenance sha256:d0c".into(),
                    repository: "https://github.com/o/shop".into(),
                    commit: "7fd1".into()
                },
                Fact::BuiltBy { artifact: shop.clone(), run: "provenance sha256:d0c".into() },
                Fact::Parent { artifact: shop, parent: "pkg:oci/node@sha256:9e".into() },
            ]
        );
    }

    #[test]
    fn a_document_states_its_vulnerabilities_and_vex_statements_and_a_code_scanners_rules_are_no_vulnerabilities() {
        let e = json!({
            "context": {"type": "dev.cdeventsx.dossier-document.received.0.1.0"},
            "subject": {"id": "sha256:d0c", "content": {
                "artifactId": "pkg:oci/shop@sha256%3Aab",
                "findings": [
                    {"id": "GHSA-35jh-r3h4-6jhm", "aliases": ["CVE-2021-23337"], "severity": "high", "package": "pkg:npm/lodash@4.17.20", "fixedVersion": "4.17.21"},
                    {"id": "GHSA-35jh-r3h4-6jhm", "severity": "high", "package": "pkg:npm/lodash", "fixedVersion": "4.17.21"},
                    {"id": "B102", "severity": "medium", "location": "six.py:735"}
                ],
                "vex": [
                    {"vulnerability": "CVE-2021-23337", "products": [{"id": "pkg:oci/shop@sha256%3Aab", "subcomponents": ["pkg:npm/lodash@4.17.20"]}], "status": "not_affected"},
                    {"vulnerability": "CVE-2023-5678", "aliases": ["GHSA-x"], "products": ["sha256:ab"], "status": "affected"}
                ]
            }}
        });
        let stated = facts(&e).unwrap();
        assert_eq!(
            stated,
            vec![
                Fact::Findings {
                    document: "sha256:d0c".into(),
                    artifact: "pkg:oci/shop@sha256:ab".into(),
                    found: vec![
                        Found {
                            id: "GHSA-35jh-r3h4-6jhm".into(),
                            aliases: vec!["CVE-2021-23337".into()],
                            severity: Severity::High,
                            package: Some("pkg:npm/lodash@4.17.20".into()),
                            affected: vec![]
                        },
                        Found {
                            id: "GHSA-35jh-r3h4-6jhm".into(),
                            aliases: vec![],
                            severity: Severity::High,
                            package: None,
                            affected: vec![("pkg:npm/lodash".into(), VersionRange::of_package("pkg:npm/lodash", "<4.17.21").unwrap())]
                        },
                    ]
                },
                Fact::Vex {
                    document: "sha256:d0c".into(),
                    statements: vec![
                        VexFact {
                            vulnerability: "CVE-2021-23337".into(),
                            aliases: vec![],
                            products: vec![VexProduct {
                                names: vec!["pkg:oci/shop@sha256%3Aab".into()],
                                subcomponents: vec!["pkg:npm/lodash@4.17.20".into()]
                            }],
                            waives: true
                        },
                        VexFact {
                            vulnerability: "CVE-2023-5678".into(),
                            aliases: vec!["GHSA-x".into()],
                            products: vec![VexProduct { names: vec!["sha256:ab".into()], subcomponents: vec![] }],
                            waives: false
                        },
                    ]
                },
            ]
        );
    }

    #[test]
    fn a_discovered_vulnerability_states_its_aliases_without_itself() {
        let e = json!({
            "context": {"type": "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0"},
            "subject": {"id": "GHSA-35jh-r3h4-6jhm", "content": {"severity": "high", "aliases": ["CVE-2021-23337", "GHSA-35jh-r3h4-6jhm"],
                        "packages": [{"purl": "pkg:npm/lodash", "versions": "<4.17.21"}]}}
        });
        let Fact::Vulnerability { id, aliases, .. } = &facts(&e).unwrap()[0] else { panic!("a vulnerability") };
        assert_eq!((id.as_str(), aliases.as_slice()), ("GHSA-35jh-r3h4-6jhm", &["CVE-2021-23337".to_owned()][..]));
        let bad = json!({
            "context": {"type": "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0"},
            "subject": {"id": "CVE-1", "content": {"aliases": "GHSA-1", "artifacts": ["pkg:oci/x"]}}
        });
        assert_eq!(facts(&bad).unwrap_err().pointer, "/subject/content/aliases");
    }

    #[test]
    fn a_malformed_convention_names_the_field() {
        let e = json!({
            "context": {"type": "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0"},
            "subject": {"id": "CVE-1", "content": {"severity": "dire", "artifacts": ["pkg:oci/x"]}}
        });
        assert_eq!(facts(&e).unwrap_err(), err("/subject/content/severity", "must be one of critical, high, medium, low, unknown"));
        let e = json!({
            "context": {"type": "dev.cdevents.pipelinerun.started.0.3.0"},
            "subject": {"id": "r"},
            "customData": {"dossier": {"sources": [{"repository": "x"}]}}
        });
        assert_eq!(facts(&e).unwrap_err().pointer, "/customData/dossier/sources/0");
    }
}
