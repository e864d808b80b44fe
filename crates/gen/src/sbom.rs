//! Deterministic CycloneDX 1.5 SBOMs: artifacts made of packages drawn with a skew (a few
//! packages are in almost everything, most in few), several versions per package, licences
//! and hashes as real generators write them.

use serde_json::{json, Value};

use crate::mix;

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
