//! SARIF 2.1.0: each result is a finding named by its rule; its severity is the rule's
//! `security-severity` score (the convention GitHub code scanning, Trivy and Grype follow),
//! else the result's level (`error` high, `warning` — the default — medium, `note` low).

use std::io::Read;

use serde::Deserialize;

use crate::bounded::Bounded;
use crate::model::{severity_of_score, Extract, Finding, Format, Tool};
use crate::{read_json, DocumentError};
use dossier_core::Severity;

#[derive(Deserialize)]
struct Log {
    version: String,
    #[serde(default)]
    runs: Bounded<Run>,
}

#[derive(Deserialize)]
struct Run {
    tool: RunTool,
    #[serde(default)]
    results: Bounded<SarifResult>,
}

#[derive(Deserialize)]
struct RunTool {
    driver: Driver,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    semantic_version: Option<String>,
    #[serde(default)]
    rules: Bounded<Rule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    #[serde(default)]
    short_description: Option<Text>,
    #[serde(default)]
    properties: Option<RuleProperties>,
}

#[derive(Deserialize)]
struct Text {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct RuleProperties {
    /// A CVSS-like score, as a string ("7.5") or a number.
    #[serde(default, rename = "security-severity")]
    security_severity: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    #[serde(default)]
    rule_id: Option<String>,
    #[serde(default)]
    rule_index: Option<usize>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    message: Option<Text>,
    #[serde(default)]
    locations: Bounded<Location>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(default)]
    physical_location: Option<PhysicalLocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    #[serde(default)]
    artifact_location: Option<ArtifactLocation>,
    #[serde(default)]
    region: Option<Region>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    #[serde(default)]
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    #[serde(default)]
    start_line: Option<u64>,
}

pub(crate) fn read(reader: impl Read) -> Result<Extract, DocumentError> {
    let log: Log = read_json(Format::Sarif, reader)?;
    if log.version != "2.1.0" {
        return Err(DocumentError::unsupported(Format::Sarif, format!("version {:?} is not read; Dossier reads SARIF 2.1.0", log.version)));
    }
    let mut out = Extract::new(Format::Sarif);
    out.spec_version = log.version;
    for run in log.runs {
        let driver = run.tool.driver;
        out.tools.push(Tool { name: driver.name.clone(), version: driver.semantic_version.or(driver.version) });
        for result in run.results {
            let rule = result
                .rule_index
                .and_then(|i| driver.rules.0.get(i))
                .or_else(|| result.rule_id.as_ref().and_then(|id| driver.rules.0.iter().find(|r| &r.id == id)));
            let Some(id) = result.rule_id.clone().or_else(|| rule.map(|r| r.id.clone())) else { continue };
            let score = rule
                .and_then(|r| r.properties.as_ref())
                .and_then(|p| p.security_severity.as_ref())
                .and_then(|s| s.as_f64().or_else(|| s.as_str().and_then(|s| s.trim().parse().ok())));
            let severity = match (score, result.level.as_deref()) {
                (Some(s), _) => severity_of_score(s),
                (None, Some("error")) => Severity::High,
                (None, Some("warning")) => Severity::Medium,
                (None, Some("note")) => Severity::Low,
                (None, Some(_)) => Severity::Unknown,
                // SARIF's default level is "warning".
                (None, None) => Severity::Medium,
            };
            let location = result.locations.0.first().and_then(|l| l.physical_location.as_ref()).and_then(|p| {
                let uri = p.artifact_location.as_ref()?.uri.clone()?;
                Some(match p.region.as_ref().and_then(|r| r.start_line) {
                    Some(line) => format!("{uri}:{line}"),
                    None => uri,
                })
            });
            let title =
                rule.and_then(|r| r.short_description.as_ref()).and_then(|t| t.text.clone()).or(result.message.and_then(|m| m.text));
            out.findings.push(Finding {
                id,
                aliases: Vec::new(),
                severity,
                score,
                package: None,
                version: None,
                fixed_version: None,
                location,
                title,
            });
        }
    }
    Ok(out)
}
