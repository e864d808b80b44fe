//! Deterministic synthetic CDEvents (spec 0.5.1) that tell a delivery story: a pipeline run is
//! queued and started, a task and a build finish, the build's artifact is packaged, signed
//! and published, a test suite runs, the artifact is deployed, and now and then a ticket is
//! opened. The same seed gives the same events, so benchmarks and tests are repeatable.

use serde_json::{json, Value};

mod devsecops;
mod sbom;
pub use devsecops::DevSecOps;
pub use sbom::Sboms;

/// The steps of one pipeline run, in order; every run emits each of them.
const STEPS: usize = 10;

pub struct Generator {
    seed: u64,
    /// Index of the next event.
    next: u64,
    /// Distinct applications the artifacts belong to.
    apps: u64,
}

/// SplitMix64: a tiny, well-mixed deterministic sequence.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator { seed, next: 0, apps: 50 }
    }

    /// The artifact (purl) built by pipeline run `run`.
    pub fn artifact(&self, run: u64) -> String {
        let app = mix(self.seed ^ run) % self.apps;
        format!("pkg:oci/app-{app}@sha256%3A{:016x}{:016x}", mix(run ^ self.seed.rotate_left(7)), mix(run))
    }

    /// How many pipeline runs the first `events` events cover.
    pub fn runs(events: u64) -> u64 {
        events.div_ceil(STEPS as u64)
    }

    /// The `i`-th event of this generator's story.
    pub fn event(&self, i: u64) -> Value {
        let run = i / STEPS as u64;
        let step = (i % STEPS as u64) as usize;
        let r = mix(self.seed.wrapping_mul(31) ^ i);
        let app = mix(self.seed ^ run) % self.apps;
        let artifact = self.artifact(run);
        let run_id = format!("run-{}-{run}", self.seed);
        let pipeline = format!("build-app-{app}");
        let uri = format!("https://ci.example.com/job/{pipeline}/{run}");
        let env = ["dev", "staging", "prod"][(r % 3) as usize];
        let outcome = if r.is_multiple_of(17) { "failure" } else { "success" };
        let (ty, subject, content): (&str, String, Value) = match step {
            0 => ("pipelinerun.queued.0.3.0", run_id, json!({"pipelineName": pipeline, "uri": uri})),
            1 => ("pipelinerun.started.0.3.0", run_id, json!({"pipelineName": pipeline, "uri": uri})),
            2 => (
                "taskrun.finished.0.3.0",
                format!("{run_id}-compile"),
                json!({"taskName": "compile", "pipelineRun": {"id": run_id}, "outcome": outcome, "uri": uri}),
            ),
            3 => ("build.finished.0.3.0", format!("{run_id}-build"), json!({"artifactId": artifact})),
            4 => (
                "artifact.packaged.0.3.0",
                artifact.clone(),
                json!({"change": {"id": format!("{:08x}", mix(run) as u32), "source": format!("https://git.example.com/app-{app}")}}),
            ),
            5 => ("artifact.signed.0.3.0", artifact.clone(), json!({"signature": format!("MEUCIQ{:016x}", r)})),
            6 => (
                "testsuiterun.finished.0.3.0",
                format!("{run_id}-tests"),
                json!({"outcome": outcome, "environment": {"id": "ci"}, "testSuite": {"id": "unit", "name": "unit tests"}}),
            ),
            7 => ("artifact.published.0.3.0", artifact.clone(), json!({"user": "ci-bot"})),
            8 => (
                "service.deployed.0.3.0",
                format!("app-{app}"),
                json!({"environment": {"id": env, "source": "https://k8s.example.com/cluster-1"}, "artifactId": artifact}),
            ),
            _ => (
                "ticket.created.0.2.0",
                format!("TICKET-{run}"),
                json!({"summary": format!("Follow up on {pipeline} run {run}"), "creator": "ci-bot", "uri": format!("https://tickets.example.com/{run}"), "priority": "low"}),
            ),
        };
        // Timestamps advance about a second per event from 2026-01-01T00:00:00Z.
        let t = 1_767_225_600u64 + i;
        let (days, secs) = (t / 86_400, t % 86_400);
        json!({
            "context": {
                "specversion": "0.5.1",
                "id": format!("{}-{i}", self.seed),
                "source": format!("/dossier-gen/{}", self.seed),
                "type": format!("dev.cdevents.{ty}"),
                "timestamp": format!("{}T{:02}:{:02}:{:02}.{:03}Z", civil_date(days), secs / 3600, secs / 60 % 60, secs % 60, r % 1000),
                "chainId": format!("chain-{}-{run}", self.seed),
            },
            "subject": {"id": subject, "source": format!("/dossier-gen/{}", self.seed), "content": content}
        })
    }
}

impl Iterator for Generator {
    type Item = Value;
    fn next(&mut self) -> Option<Value> {
        let e = self.event(self.next);
        self.next += 1;
        Some(e)
    }
}

/// `YYYY-MM-DD` of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
pub(crate) fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_event_is_valid() {
        for e in Generator::new(7).take(200) {
            assert!(dossier_cdevents::validate(&e).is_ok(), "{e}: {:?}", dossier_cdevents::validate(&e));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_events() {
        assert_eq!(Generator::new(3).event(42), Generator::new(3).event(42));
        assert_ne!(Generator::new(3).event(42), Generator::new(4).event(42));
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_454), "2026-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
    }
}
