//! SARIF 2.1.0: each result is a finding named by its rule; its severity is the rule's
//! `security-severity` score (the convention GitHub code scanning, Trivy and Grype follow:
//! ≥ 9.0 critical, ≥ 7.0 high, ≥ 4.0 medium, else low), else the result's level, else the
//! rule's `defaultConfiguration.level` (`error` high, `warning` — SARIF's default — medium,
//! `note` low, `none` unknown).

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
    #[serde(default)]
    default_configuration: Option<RuleConfiguration>,
}

#[derive(Deserialize)]
struct RuleConfiguration {
    #[serde(default)]
    level: Option<String>,
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
            // A result without a level takes its rule's default level (SARIF §3.27.10).
            let level =
                result.level.as_deref().or_else(|| rule.and_then(|r| r.default_configuration.as_ref()).and_then(|c| c.level.as_deref()));
            let severity = match (score, level) {
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
                description: None,
                references: Vec::new(),
                vectors: Vec::new(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn severities(doc: serde_json::Value) -> Vec<(String, Severity)> {
        read(doc.to_string().as_bytes()).unwrap().findings.into_iter().map(|f| (f.id, f.severity)).collect()
    }

    /// ESLint's and semgrep's SARIF give the level on the rule, not on each result.
    #[test]
    fn a_result_without_a_level_takes_its_rules_default_level() {
        let doc = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "eslint", "rules": [
            {"id": "no-eval", "defaultConfiguration": {"level": "error"}},
            {"id": "no-console", "defaultConfiguration": {"level": "note"}},
            {"id": "eqeqeq"}
        ]}}, "results": [
            {"ruleId": "no-eval", "ruleIndex": 0, "message": {"text": "eval"}},
            {"ruleId": "no-console", "ruleIndex": 1, "message": {"text": "console"}},
            {"ruleId": "no-console", "ruleIndex": 1, "level": "error", "message": {"text": "the result's own level wins"}},
            {"ruleId": "eqeqeq", "ruleIndex": 2, "message": {"text": "=="}}
        ]}]});
        assert_eq!(
            severities(doc),
            [
                ("no-eval".to_owned(), Severity::High),
                ("no-console".to_owned(), Severity::Low),
                ("no-console".to_owned(), Severity::High),
                ("eqeqeq".to_owned(), Severity::Medium)
            ]
        );
    }

    /// GitHub's convention for `security-severity`, whatever the level says.
    #[test]
    fn security_severity_decides_by_githubs_thresholds() {
        let rule = |id: &str, score: &str| serde_json::json!({"id": id, "defaultConfiguration": {"level": "note"}, "properties": {"security-severity": score}});
        let results: Vec<serde_json::Value> =
            ["a", "b", "c", "d", "e"].iter().enumerate().map(|(i, id)| serde_json::json!({"ruleId": id, "ruleIndex": i})).collect();
        let doc = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "codeql", "rules": [
            rule("a", "9.0"), rule("b", "8.9"), rule("c", "7.0"), rule("d", "4.0"), rule("e", "3.9")
        ]}}, "results": results}]});
        let got: Vec<Severity> = severities(doc).into_iter().map(|(_, s)| s).collect();
        assert_eq!(got, [Severity::Critical, Severity::High, Severity::High, Severity::Medium, Severity::Low]);
    }
}
