//! Package versions and ranges, for vulnerabilities found in packages and for "which
//! artifacts contain package X" queries.
//!
//! Each ecosystem orders its versions its own way; the package URL's type says which
//! ([`Scheme::of_purl`]): Semantic Versioning for npm, Cargo, Go, NuGet, Composer, Hex and pub;
//! PEP 440 for PyPI; dpkg's ordering for Debian; Maven's for Maven. Other types, and versions
//! their scheme cannot parse, compare component by component (numeric parts numerically,
//! others as text, a `-` pre-release before its release).
//! Ranges are comma-separated constraints that must all hold: `>=1.2.0,<1.4.5`, `<4.17.21`,
//! `=2.0.1`, or `*` for every version.

mod debian;
mod maven;
mod pep440;
mod semver;

use std::cmp::Ordering;
use std::fmt;

/// How an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    Semver,
    Pep440,
    Debian,
    Maven,
    #[default]
    Generic,
}

impl Scheme {
    /// The scheme of a package URL's type: `pkg:pypi/...` orders by PEP 440, and so on.
    pub fn of_purl(purl: &str) -> Scheme {
        let ty = purl.strip_prefix("pkg:").and_then(|rest| rest.split('/').next()).unwrap_or("");
        match ty.to_ascii_lowercase().as_str() {
            "npm" | "cargo" | "golang" | "nuget" | "composer" | "hex" | "pub" => Scheme::Semver,
            "pypi" => Scheme::Pep440,
            "deb" => Scheme::Debian,
            "maven" => Scheme::Maven,
            _ => Scheme::Generic,
        }
    }

    pub fn compare(self, a: &str, b: &str) -> Ordering {
        let own = match self {
            Scheme::Semver => semver::compare(a, b),
            Scheme::Pep440 => pep440::compare(a, b),
            Scheme::Debian => Some(debian::compare(a, b)),
            Scheme::Maven => Some(maven::compare(a, b)),
            Scheme::Generic => None,
        };
        own.unwrap_or_else(|| compare_versions(a, b))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// A version range of one ecosystem: constraints that must all hold. Empty means every version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    text: String,
    scheme: Scheme,
    constraints: Vec<(Op, String)>,
}

impl VersionRange {
    /// Parses a range of versions of `package` (a purl, whose type gives the ordering).
    pub fn of_package(package: &str, text: &str) -> Result<VersionRange, String> {
        Ok(VersionRange { scheme: Scheme::of_purl(package), ..VersionRange::parse(text)? })
    }

    /// Parses `>=1.2.0,<1.4.5`-style ranges, compared component by component; the error says
    /// what is accepted.
    pub fn parse(text: &str) -> Result<VersionRange, String> {
        let mut constraints = Vec::new();
        let trimmed = text.trim();
        if trimmed != "*" && !trimmed.is_empty() {
            for part in trimmed.split(',') {
                let part = part.trim();
                let (op, rest) = if let Some(r) = part.strip_prefix(">=") {
                    (Op::Ge, r)
                } else if let Some(r) = part.strip_prefix("<=") {
                    (Op::Le, r)
                } else if let Some(r) = part.strip_prefix('>') {
                    (Op::Gt, r)
                } else if let Some(r) = part.strip_prefix('<') {
                    (Op::Lt, r)
                } else if let Some(r) = part.strip_prefix("==").or_else(|| part.strip_prefix('=')) {
                    (Op::Eq, r)
                } else {
                    return Err(format!("{part:?} is not a constraint; write e.g. \">=1.2.0,<1.4.5\", \"<4.17.21\", \"=2.0.1\" or \"*\""));
                };
                let v = rest.trim();
                if v.is_empty() {
                    return Err(format!("{part:?} names no version"));
                }
                constraints.push((op, v.to_owned()));
            }
        }
        Ok(VersionRange { text: trimmed.to_owned(), scheme: Scheme::Generic, constraints })
    }

    pub fn contains(&self, version: &str) -> bool {
        self.constraints.iter().all(|(op, v)| {
            let o = self.scheme.compare(version, v);
            match op {
                Op::Lt => o == Ordering::Less,
                Op::Le => o != Ordering::Greater,
                Op::Gt => o == Ordering::Greater,
                Op::Ge => o != Ordering::Less,
                Op::Eq => o == Ordering::Equal,
            }
        })
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.text.is_empty() { "*" } else { &self.text })
    }
}

/// Compares two versions component by component, whatever their ecosystem.
fn compare_versions(a: &str, b: &str) -> Ordering {
    let a = a.strip_prefix('v').unwrap_or(a);
    let b = b.strip_prefix('v').unwrap_or(b);
    // A pre-release part (after '-') sorts before the release itself.
    let (a_rel, a_pre) = a.split_once('-').map_or((a, None), |(r, p)| (r, Some(p)));
    let (b_rel, b_pre) = b.split_once('-').map_or((b, None), |(r, p)| (r, Some(p)));
    match compare_parts(a_rel, b_rel) {
        Ordering::Equal => match (a_pre, b_pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => compare_parts(x, y),
        },
        o => o,
    }
}

fn compare_parts(a: &str, b: &str) -> Ordering {
    let mut xs = a.split(['.', '+', '_']);
    let mut ys = b.split(['.', '+', '_']);
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(y)) => return if y.chars().all(|c| c == '0') { Ordering::Equal } else { Ordering::Less },
            (Some(x), None) => return if x.chars().all(|c| c == '0') { Ordering::Equal } else { Ordering::Greater },
            (Some(x), Some(y)) => {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    _ => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Splits `pkg:npm/lodash@4.17.20?arch=x` into the package (`pkg:npm/lodash`) and its version.
pub fn split_purl_version(purl: &str) -> Option<(&str, &str)> {
    let end = purl.find(['?', '#']).unwrap_or(purl.len());
    let (package, version) = purl[..end].rsplit_once('@')?;
    (!package.is_empty() && !version.is_empty() && package.starts_with("pkg:")).then_some((package, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_component_by_component() {
        assert_eq!(compare_versions("1.10.0", "1.9.2"), Ordering::Greater);
        assert_eq!(compare_versions("4.17.20", "4.17.21"), Ordering::Less);
        assert_eq!(compare_versions("1.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare_versions("1.0.0-rc1", "1.0.0"), Ordering::Less);
        assert_eq!(compare_versions("v2.1", "2.0.9"), Ordering::Greater);
    }

    #[test]
    fn ranges_hold_every_constraint() {
        let r = VersionRange::parse(">=1.2.0, <1.4.5").unwrap();
        assert!(r.contains("1.2.0") && r.contains("1.4.4") && !r.contains("1.4.5") && !r.contains("1.1.9"));
        assert!(VersionRange::parse("*").unwrap().contains("0.0.1"));
        assert!(VersionRange::parse("=2.0.1").unwrap().contains("2.0.1"));
        assert_eq!(
            VersionRange::parse("~1.2").unwrap_err(),
            "\"~1.2\" is not a constraint; write e.g. \">=1.2.0,<1.4.5\", \"<4.17.21\", \"=2.0.1\" or \"*\""
        );
    }

    #[test]
    fn ranges_use_their_ecosystems_ordering() {
        // Generic ordering would put 1.0.0-rc.10 before 1.0.0-rc.9 and 2.0rc1 after 2.0.
        let npm = VersionRange::of_package("pkg:npm/x", ">=1.0.0-rc.9,<1.0.0").unwrap();
        assert!(npm.contains("1.0.0-rc.10"));
        let pypi = VersionRange::of_package("pkg:pypi/django", "<2.0").unwrap();
        assert!(pypi.contains("2.0rc1") && pypi.contains("2.0.dev3") && !pypi.contains("2.0.post1"));
        let deb = VersionRange::of_package("pkg:deb/debian/openssl", "<3.0.11-1~deb12u1").unwrap();
        assert!(deb.contains("3.0.11-1~deb12u0") && !deb.contains("3.0.11-1"));
        let maven = VersionRange::of_package("pkg:maven/org.apache.logging.log4j/log4j-core", "<2.15.0").unwrap();
        assert!(maven.contains("2.15.0-rc2") && !maven.contains("2.15.0.ga"));
    }

    #[test]
    fn purls_split_at_their_version() {
        assert_eq!(split_purl_version("pkg:npm/lodash@4.17.20"), Some(("pkg:npm/lodash", "4.17.20")));
        assert_eq!(split_purl_version("pkg:npm/%40scope/x@1.0.0?y=z"), Some(("pkg:npm/%40scope/x", "1.0.0")));
        assert_eq!(split_purl_version("pkg:npm/lodash"), None);
    }
}
