//! Deterministic CycloneDX 1.5 SBOMs: artifacts made of packages drawn with a skew (a few
//! packages are in almost everything, most in few), several versions per package, licences
//! and hashes as real generators write them.

use serde_json::{json, Value};

use crate::mix;

/// FNV-1a of a text: a package's own number, the same wherever it is drawn.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

const ECOSYSTEMS: [&str; 4] = ["npm", "pypi", "maven", "golang"];
const LICENCES: [&str; 8] = ["MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "MPL-2.0", "GPL-3.0-only", "LGPL-2.1-or-later", "BSD-2-Clause"];

pub struct Sboms {
    seed: u64,
    /// Distinct packages to draw from.
    pub packages: u64,
}

impl Sboms {
    pub fn new(seed: u64, packages: u64) -> Sboms {
        Sboms { seed, packages: packages.max(1) }
    }

    /// Package `k`: its purl without version.
    pub fn package(&self, k: u64) -> String {
        let ecosystem = ECOSYSTEMS[(k % 4) as usize];
        match ecosystem {
            "maven" => format!("pkg:maven/org.example.g{}/lib-{k}", k % 97),
            "golang" => format!("pkg:golang/example.com/mod{}/pkg-{k}", k % 89),
            other => format!("pkg:{other}/pkg-{k}"),
        }
    }

    /// One of the few versions of package `k` in use; `v` picks which.
    pub fn version(&self, k: u64, v: u64) -> String {
        let (major, minor, patch) = (1 + k % 5, v % 12, mix(k ^ v) % 30);
        match ECOSYSTEMS[(k % 4) as usize] {
            "golang" => format!("v{major}.{minor}.{patch}"),
            _ => format!("{major}.{minor}.{patch}"),
        }
    }

    /// A draw skewed towards the first packages: squaring a uniform draw.
    fn draw(&self, n: u64) -> u64 {
        let u = (mix(self.seed ^ n) % 1_000_000) as f64 / 1_000_000.0;
        ((u * u) * self.packages as f64) as u64 % self.packages
    }

    fn component(&self, k: u64, v: u64) -> Value {
        let base = self.package(k);
        let version = self.version(k, v);
        let name = base.rsplit('/').next().unwrap_or_default().to_owned();
        json!({
            "type": "library",
            "bom-ref": format!("{base}@{version}"),
            "name": name,
            "version": version,
            "purl": format!("{base}@{version}"),
            "licenses": [{"license": {"id": LICENCES[(mix(k) % LICENCES.len() as u64) as usize]}}],
            "hashes": [{"alg": "SHA-256", "content": format!("{:016x}{:016x}{:016x}{:016x}", mix(k), mix(v), mix(k ^ v), mix(k + v))}],
        })
    }

    /// The SBOM of artifact `a`: `components` distinct packages, each at one version.
    pub fn sbom(&self, a: u64, components: usize) -> Value {
        let mut chosen = std::collections::BTreeSet::new();
        let mut n = a.wrapping_mul(1_000_003);
        while chosen.len() < components.min(self.packages as usize) {
            chosen.insert(self.draw(n));
            n += 1;
        }
        let list: Vec<Value> = chosen.into_iter().map(|k| self.component(k, mix(a ^ k) % 4)).collect();
        json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "metadata": {"tools": {"components": [{"type": "application", "name": "dossier-gen", "version": "1"}]}},
            "components": list,
        })
    }

    /// The SBOM of artifact `a` as a scanner reports it (Grype and Trivy write CycloneDX so):
    /// its components and up to `findings` vulnerabilities in them. A package's vulnerabilities
    /// are its own (`vulnerability_id(k, i)`), so the same vulnerability is found in every
    /// artifact that contains the package, with aliases, a CVSS vector and a fixed version.
    pub fn scan(&self, a: u64, components: usize, findings: usize) -> Value {
        let mut doc = self.sbom(a, components);
        let list = doc["components"].as_array().cloned().unwrap_or_default();
        let vulnerabilities: Vec<Value> = list
            .iter()
            .enumerate()
            .filter(|(i, c)| mix(a ^ *i as u64).is_multiple_of(3) && c["purl"].is_string())
            .take(findings)
            .map(|(i, c)| {
                let purl = c["purl"].as_str().unwrap_or_default();
                let k = fnv(purl.split('@').next().unwrap_or_default()) % 1000;
                let id = Sboms::vulnerability_id(k, 0);
                let severity = ["critical", "high", "medium", "low"][(k % 4) as usize];
                json!({
                    "bom-ref": format!("{id}-{i}"),
                    "id": id,
                    "source": {"name": "NVD"},
                    "references": [{"id": format!("GHSA-gen{k:04}"), "source": {"name": "GitHub"}}],
                    "ratings": [{"severity": severity, "method": "CVSSv31",
                                 "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                    "description": format!("Generated vulnerability {id} in {purl}."),
                    "affects": [{"ref": c["bom-ref"].clone()}],
                })
            })
            .collect();
        doc["vulnerabilities"] = Value::Array(vulnerabilities);
        doc
    }

    /// The id of the `i`-th vulnerability of the packages whose number is `k` (`scan` reports
    /// the first of each).
    pub fn vulnerability_id(k: u64, i: u64) -> String {
        format!("CVE-2099-{:05}", k * 2 + i)
    }

    /// One large SBOM of at least `bytes` bytes: every package, at every version, with
    /// descriptions, as a monorepo's SBOM grows.
    pub fn large(&self, bytes: usize) -> Vec<u8> {
        let mut out = br#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": ["#.to_vec();
        let mut i = 0u64;
        while out.len() < bytes {
            if i > 0 {
                out.push(b',');
            }
            let mut c = self.component(i % self.packages, i / self.packages);
            c["description"] = json!(format!("Generated component {i} of a large SBOM, described at the length real ones are."));
            out.extend_from_slice(c.to_string().as_bytes());
            i += 1;
        }
        out.extend_from_slice(b"]}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A package's vulnerabilities are its own: two artifacts that contain it report the same id,
    /// with its GHSA alias, and no artifact reports more than asked.
    #[test]
    fn a_scan_reports_the_same_vulnerability_for_the_same_package_in_every_artifact() {
        let sboms = Sboms::new(9, 50);
        let found = |a: u64| -> std::collections::BTreeMap<String, (String, String)> {
            let doc = sboms.scan(a, 20, 6);
            let refs: std::collections::BTreeMap<&str, &str> = doc["components"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["bom-ref"].as_str().unwrap(), c["purl"].as_str().unwrap().split('@').next().unwrap()))
                .collect();
            doc["vulnerabilities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    let package = refs[v["affects"][0]["ref"].as_str().unwrap()].to_owned();
                    (package, (v["id"].as_str().unwrap().to_owned(), v["references"][0]["id"].as_str().unwrap().to_owned()))
                })
                .collect()
        };
        let all: Vec<_> = (0..20).map(found).collect();
        assert!(all.iter().all(|f| f.len() <= 6) && all.iter().any(|f| !f.is_empty()));
        let mut by_package: std::collections::BTreeMap<String, std::collections::BTreeSet<(String, String)>> = Default::default();
        for (package, ids) in all.iter().flatten() {
            by_package.entry(package.clone()).or_default().insert(ids.clone());
        }
        for (package, ids) in &by_package {
            assert_eq!(ids.len(), 1, "{package}: {ids:?}");
            let (cve, ghsa) = ids.first().unwrap();
            let k = fnv(package) % 1000;
            assert_eq!((cve.as_str(), ghsa.as_str()), (Sboms::vulnerability_id(k, 0).as_str(), format!("GHSA-gen{k:04}").as_str()));
        }
        assert!(by_package.len() < all.iter().map(|f| f.len()).sum::<usize>(), "some package is found in several artifacts");
    }
}
