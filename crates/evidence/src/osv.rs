//! OSV: a single record, a list of records, or osv-scanner's JSON output. An advisory's
//! affected packages become findings with their fixed version; osv-scanner's packages carry
//! the installed version too.

use std::io::{BufRead, BufReader, Read};

use serde::Deserialize;

use crate::bounded::Bounded;
use crate::cvss;
use crate::model::{severity_of_score, Extract, Finding, Format, Tool};
use crate::{read_json, DocumentError};
use dossier_core::Severity;

/// A record, or osv-scanner's output when `results` is there (told apart without buffering).
#[derive(Deserialize)]
struct Top {
    #[serde(default)]
    results: Option<Bounded<ScanResult>>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    references: Bounded<Link>,
    #[serde(default)]
    schema_version: Option<String>,
    #[serde(default)]
    severity: Bounded<SeverityEntry>,
    #[serde(default)]
    affected: Bounded<Affected>,
    #[serde(default)]
    database_specific: Option<Specific>,
}

#[derive(Deserialize)]
struct ScanResult {
    #[serde(default)]
    packages: Bounded<ScannedPackage>,
}

#[derive(Deserialize)]
struct ScannedPackage {
    package: Package,
    #[serde(default)]
    vulnerabilities: Bounded<Record>,
    #[serde(default)]
    groups: Bounded<Group>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    max_severity: Option<String>,
}

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    references: Bounded<Link>,
    #[serde(default)]
    schema_version: Option<String>,
    #[serde(default)]
    severity: Bounded<SeverityEntry>,
    #[serde(default)]
    affected: Bounded<Affected>,
    #[serde(default)]
    database_specific: Option<Specific>,
}

#[derive(Deserialize)]
struct SeverityEntry {
    score: String,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct Specific {
    #[serde(default)]
    severity: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Affected {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    ranges: Bounded<Range>,
    #[serde(default)]
    database_specific: Option<Specific>,
    #[serde(default)]
    ecosystem_specific: Option<Specific>,
}

#[derive(Deserialize, Clone)]
struct Package {
    name: String,
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
struct Range {
    #[serde(default)]
    events: Bounded<RangeEvent>,
}

#[derive(Deserialize)]
struct RangeEvent {
    #[serde(default)]
    fixed: Option<String>,
}

pub(crate) fn read(reader: impl Read) -> Result<Extract, DocumentError> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut out = Extract::new(Format::Osv);
    if first_byte(&mut reader) == Some(b'[') {
        let records: Bounded<Record> = read_json(Format::Osv, reader)?;
        records.into_iter().for_each(|r| advisory(&mut out, r, None, None));
        return Ok(out);
    }
    let top: Top = read_json(Format::Osv, reader)?;
    match top.results {
        None => {
            let id = top.id.ok_or_else(|| DocumentError::Invalid {
                format: Format::Osv.name(),
                path: "/id".into(),
                message: "missing field `id` (an OSV record names its vulnerability; osv-scanner output has `results`)".into(),
            })?;
            let record = Record {
                id,
                aliases: top.aliases,
                summary: top.summary,
                details: top.details,
                references: top.references,
                schema_version: top.schema_version,
                severity: top.severity,
                affected: top.affected,
                database_specific: top.database_specific,
            };
            advisory(&mut out, record, None, None);
        }
        Some(results) => {
            out.tools.push(Tool { name: "osv-scanner".into(), version: None });
            for p in results.into_iter().flat_map(|r| r.packages) {
                for v in p.vulnerabilities {
                    let group = p.groups.0.iter().find(|g| g.ids.contains(&v.id));
                    let score = group.and_then(|g| g.max_severity.as_deref()).and_then(|s| s.parse::<f64>().ok());
                    advisory(&mut out, v, Some(&p.package), score);
                }
            }
        }
    }
    Ok(out)
}

/// The first byte that is not white space, left unread.
fn first_byte(reader: &mut impl BufRead) -> Option<u8> {
    loop {
        let buf = reader.fill_buf().ok()?;
        let first = *buf.first()?;
        if !first.is_ascii_whitespace() {
            return Some(first);
        }
        reader.consume(1);
    }
}

/// The record's findings: one per affected package, or the scanned package alone.
fn advisory(out: &mut Extract, r: Record, scanned: Option<&Package>, group_score: Option<f64>) {
    if out.spec_version.is_empty() {
        out.spec_version = r.schema_version.clone().unwrap_or_default();
    }
    let score = group_score.or_else(|| r.severity.0.iter().filter_map(|s| cvss::base_score(&s.score)).reduce(f64::max));
    let named = |s: &Option<Specific>| s.as_ref().and_then(|s| s.severity.as_ref()).and_then(|v| v.as_str()).and_then(Severity::parse);
    let record_severity = named(&r.database_specific);
    let mut push = |package: Option<&Package>, fixed: Option<String>, severity: Option<Severity>| {
        let severity = severity.or(record_severity).or(score.map(severity_of_score)).unwrap_or_default();
        out.findings.push(Finding {
            id: r.id.clone(),
            aliases: r.aliases.clone(),
            severity,
            score,
            package: package.map(purl_of),
            version: package.and_then(|p| p.version.clone()),
            fixed_version: fixed,
            location: None,
            title: r.summary.clone(),
            description: r.details.clone(),
            references: r.references.0.iter().filter_map(|l| l.url.clone()).collect(),
            vectors: r.severity.0.iter().filter(|s| s.score.starts_with("CVSS:")).map(|s| s.score.clone()).collect(),
        });
    };
    let affected: Vec<&Affected> = r.affected.0.iter().collect();
    match scanned {
        Some(p) => {
            let same = affected.iter().find(|a| a.package.as_ref().is_some_and(|q| q.name == p.name));
            let fixed = same.and_then(|a| first_fixed(a));
            push(Some(p), fixed, same.and_then(|a| named(&a.database_specific).or(named(&a.ecosystem_specific))));
        }
        None if affected.is_empty() => push(None, None, None),
        None => {
            for a in affected {
                push(a.package.as_ref(), first_fixed(a), named(&a.database_specific).or(named(&a.ecosystem_specific)));
            }
        }
    }
}

fn first_fixed(a: &Affected) -> Option<String> {
    a.ranges.0.iter().flat_map(|r| r.events.0.iter()).find_map(|e| e.fixed.clone())
}

/// The package's purl: as given, else from its OSV ecosystem and name (with the scanned
/// version when there is one).
fn purl_of(p: &Package) -> String {
    let base = match &p.purl {
        Some(purl) => dossier_core::split_purl_version(purl).map_or(purl.clone(), |(base, _)| base.to_owned()),
        None => {
            let ecosystem = p.ecosystem.as_deref().unwrap_or("");
            let family = ecosystem.split(':').next().unwrap_or("");
            let ty = match family {
                "npm" => "npm",
                "PyPI" => "pypi",
                "crates.io" => "cargo",
                "Go" => "golang",
                "Maven" => "maven",
                "NuGet" => "nuget",
                "RubyGems" => "gem",
                "Packagist" => "composer",
                "Hex" => "hex",
                "Pub" => "pub",
                "Debian" => "deb/debian",
                "Alpine" => "apk/alpine",
                _ => "generic",
            };
            let name = if family == "Maven" { p.name.replacen(':', "/", 1) } else { p.name.clone() };
            let name = if family == "npm" { name.replace('@', "%40") } else { name };
            format!("pkg:{ty}/{name}")
        }
    };
    match &p.version {
        Some(v) => format!("{base}@{v}"),
        None => base,
    }
}
