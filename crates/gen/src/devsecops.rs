//! The reference DevSecOps history (the Feldera demo's schema, done with CDEvents): repositories
//! and commits of skewed popularity, pipeline runs using several commits, binaries built by
//! the runs, chains of container images derived from them (any depth, on shared base images),
//! clusters running the top images, and vulnerabilities found in commits — stated with the
//! conventions of `docs/lineage.md`.

use serde_json::{json, Value};

use crate::{civil_date, mix};

#[derive(Debug, Clone)]
pub struct DevSecOps {
    pub seed: u64,
    /// Artifacts to create in all (binaries, images and base images), roughly.
    pub artifacts: u64,
    /// Images derived one from another above each binary.
    pub depth: u32,
    pub clusters: u32,
    pub repositories: u32,
    pub commits_per_repository: u32,
    pub base_images: u32,
}

impl Default for DevSecOps {
    fn default() -> Self {
        DevSecOps { seed: 1, artifacts: 2_000, depth: 3, clusters: 6, repositories: 12, commits_per_repository: 200, base_images: 5 }
    }
}

const SOURCE: &str = "/dossier-demo";

fn timestamp(i: u64) -> String {
    let t = 1_767_225_600u64 + i;
    let (days, secs) = (t / 86_400, t % 86_400);
    format!("{}T{:02}:{:02}:{:02}Z", civil_date(days), secs / 3600, secs / 60 % 60, secs % 60)
}

impl DevSecOps {
    /// Pipeline runs (families): one binary and `depth` images each.
    pub fn families(&self) -> u64 {
        (self.artifacts.saturating_sub(self.base_images as u64) / (self.depth as u64 + 1)).max(1)
    }

    pub fn repository(&self, r: u64) -> String {
        format!("https://git.example.com/team/repo-{r}")
    }

    /// A commit drawn with skewed popularity: low numbers are used by many runs.
    pub fn commit(&self, draw: u64) -> (String, String) {
        let u = (mix(self.seed ^ draw) >> 11) as f64 / (1u64 << 53) as f64;
        let total = self.repositories as u64 * self.commits_per_repository as u64;
        let k = ((total as f64) * u * u * u) as u64 % total.max(1);
        let h = mix(k.wrapping_add(self.seed));
        (self.repository(k % self.repositories as u64), format!("{h:016x}{:016x}{:08x}", mix(h), mix(h ^ 1) as u32))
    }

    fn run_sources(&self, family: u64) -> Vec<(String, String)> {
        let n = 2 + mix(family ^ 0xfeed) % 2;
        (0..n).map(|j| self.commit(family * 4 + j)).collect()
    }

    pub fn binary(&self, family: u64) -> String {
        format!("pkg:generic/app-{family}@1.{family}.{}", self.seed)
    }

    pub fn image(&self, family: u64, level: u32) -> String {
        format!("pkg:oci/app-{family}-l{level}@sha256%3A{:016x}{:016x}", mix(family ^ ((level as u64) << 40)), mix(self.seed ^ family))
    }

    pub fn top(&self, family: u64) -> String {
        if self.depth == 0 {
            self.binary(family)
        } else {
            self.image(family, self.depth)
        }
    }

    pub fn base_image(&self, b: u64) -> String {
        format!("pkg:oci/base-{b}@sha256%3A{:016x}", mix(b ^ 0xba5e))
    }

    pub fn cluster(&self, c: u64) -> String {
        format!("cluster-{c}")
    }

    fn event(&self, i: u64, ty: &str, subject: String, content: Value, chain: Option<String>, custom: Option<Value>) -> Value {
        let mut e = json!({
            "context": {"specversion": "0.5.1", "id": format!("demo-{}-{i}", self.seed), "source": SOURCE,
                        "type": ty, "timestamp": timestamp(i)},
            "subject": {"id": subject, "content": content}
        });
        if let Some(c) = chain {
            e["context"]["chainId"] = json!(c);
        }
        if let Some(c) = custom {
            e["customData"] = json!({"dossier": c});
        }
        e
    }

    /// The build-up: base images, then per family its run, binary, images and deployment.
    pub fn history(&self) -> impl Iterator<Item = Value> + '_ {
        let bases = (0..self.base_images as u64).map(move |b| {
            self.event(
                b,
                "dev.cdevents.artifact.packaged.0.3.0",
                self.base_image(b),
                json!({"change": {"id": format!("base-{b}")}}),
                None,
                None,
            )
        });
        let per_family = self.depth as u64 + 3;
        let families = (0..self.families()).flat_map(move |f| {
            (0..per_family).map(move |step| {
                let i = self.base_images as u64 + f * per_family + step;
                let run = format!("run-{}-{f}", self.seed);
                match step {
                    0 => {
                        let sources: Vec<Value> =
                            self.run_sources(f).into_iter().map(|(r, c)| json!({"repository": r, "commit": c})).collect();
                        self.event(
                            i,
                            "dev.cdevents.pipelinerun.started.0.3.0",
                            run.clone(),
                            json!({"pipelineName": format!("build-app-{f}"), "uri": format!("https://ci.example.com/runs/{f}")}),
                            Some(run),
                            Some(json!({"sources": sources})),
                        )
                    }
                    1 => self.event(
                        i,
                        "dev.cdevents.artifact.packaged.0.3.0",
                        self.binary(f),
                        json!({"change": {"id": format!("build-{f}")}}),
                        Some(run),
                        Some(json!({"packages": self.packages(f)})),
                    ),
                    s if s < per_family - 1 => {
                        let level = (s - 1) as u32;
                        let parent = if level == 1 { self.binary(f) } else { self.image(f, level - 1) };
                        let mut parents = vec![parent];
                        if level == 1 && self.base_images > 0 {
                            parents.push(self.base_image(mix(f) % self.base_images as u64));
                        }
                        // Images come from image builds of their own, linked by parents only.
                        self.event(
                            i,
                            "dev.cdevents.artifact.packaged.0.3.0",
                            self.image(f, level),
                            json!({"change": {"id": format!("image-build-{f}-{level}")}}),
                            None,
                            Some(json!({"parents": parents})),
                        )
                    }
                    _ => self.event(
                        i,
                        "dev.cdevents.service.deployed.0.3.0",
                        format!("svc-{f}"),
                        json!({"environment": {"id": self.cluster(f % self.clusters.max(1) as u64)}, "artifactId": self.top(f)}),
                        None,
                        None,
                    ),
                }
            })
        });
        bases.chain(families)
    }

    /// The third-party packages a binary bundles: three of a pool of 30, in one of 6 versions.
    pub fn packages(&self, family: u64) -> Vec<String> {
        (0..3u64)
            .map(|j| {
                let r = mix((family.wrapping_mul(3) + j) ^ self.seed);
                format!("pkg:npm/lib-{}@1.{}.0", r % 30, (r >> 8) % 6)
            })
            .collect()
    }

    /// Vulnerability `k` found in a package: versions of `lib-(k % 30)` below `1.(k % 6).0`.
    pub fn package_vulnerability(&self, k: u64, i: u64) -> Value {
        let severity = ["high", "medium", "critical", "low"][(k % 4) as usize];
        self.event(
            i,
            "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0",
            Self::package_vulnerability_id(k),
            json!({"severity": severity,
                   "packages": [{"purl": format!("pkg:npm/lib-{}", k % 30), "versions": format!("<1.{}.0", k % 6)}]}),
            None,
            None,
        )
    }

    /// Vulnerability `k`, found in a commit drawn with the same skew as the runs' sources.
    pub fn vulnerability(&self, k: u64, i: u64) -> Value {
        let (repository, commit) = self.commit(mix(k ^ 0xc0de));
        let severity = ["critical", "high", "medium", "low"][(mix(k) % 4) as usize];
        self.event(
            i,
            "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0",
            Self::vulnerability_id(k),
            json!({"severity": severity, "commits": [{"repository": repository, "commit": commit}]}),
            None,
            None,
        )
    }

    /// The vulnerability `id` fixed.
    pub fn fixed(&self, id: &str, i: u64) -> Value {
        self.event(i, "dev.cdeventsx.dossier-vulnerability.fixed.0.1.0", id.to_owned(), json!({}), None, None)
    }

    pub fn vulnerability_id(k: u64) -> String {
        format!("CVE-2026-{k:05}")
    }

    pub fn package_vulnerability_id(k: u64) -> String {
        format!("GHSA-demo-{k:04}")
    }

    /// Service `family` in its cluster now runs the top image of family `to` (an upgrade).
    pub fn redeploy(&self, family: u64, to: u64, i: u64) -> Value {
        self.event(
            i,
            "dev.cdevents.service.upgraded.0.3.0",
            format!("svc-{family}"),
            json!({"environment": {"id": self.cluster(family % self.clusters.max(1) as u64)}, "artifactId": self.top(to)}),
            None,
            None,
        )
    }
}

impl DevSecOps {
    /// The demo's history (`dossier demo`, `dossier bench dashboard`): the reference story, then
    /// `vulnerabilities` found in commits and packages (with redeployments between them), a third
    /// of them fixed afterwards.
    pub fn demo_history(&self, vulnerabilities: u64) -> Vec<Value> {
        let mut events: Vec<Value> = self.history().collect();
        let mut i = events.len() as u64 + 10;
        let families = self.families();
        for k in 0..vulnerabilities {
            // Most are found in commits, every fourth in a range of versions of a package.
            events.push(if k % 4 == 3 { self.package_vulnerability(k, i) } else { self.vulnerability(k, i) });
            i += 1;
            // Now and then a service moves on to another build.
            if k % 3 == 1 && families > 1 {
                events.push(self.redeploy(k % families, (k * 7 + 1) % families, i));
                i += 1;
            }
        }
        for k in (0..vulnerabilities).filter(|k| k % 3 == 0) {
            let id = if k % 4 == 3 { DevSecOps::package_vulnerability_id(k) } else { DevSecOps::vulnerability_id(k) };
            events.push(self.fixed(&id, i));
            i += 1;
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_of_the_history_is_valid() {
        let g = DevSecOps { artifacts: 60, depth: 4, ..Default::default() };
        let extra = [
            g.vulnerability(1, 999),
            g.fixed(&DevSecOps::vulnerability_id(1), 1000),
            g.redeploy(0, 1, 1001),
            g.package_vulnerability(3, 1002),
        ];
        let events: Vec<Value> = g.history().chain(extra).collect();
        assert_eq!(events.len() as u64, 5 + g.families() * 7 + 4);
        for e in &events {
            assert!(dossier_cdevents::validate(e).is_ok(), "{e}: {:?}", dossier_cdevents::validate(e));
        }
    }
}
