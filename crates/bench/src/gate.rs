//! `dossier bench gate`: how long the deployment gate takes to answer, with many events stored
//! and the 20 benchmark policies loaded (the starter pack's and 17 generated ones, as `bench
//! policy` evaluates): `POST /api/v1/gate` for artifacts with a history, and the admission
//! webhook for a Deployment of 5 containers — each decided, recorded and answered. Beside them,
//! the acknowledgement of a `service.deployed` event sent to the same server, which is stored
//! and decided after the answer: what the gate adds to telling Dossier after the fact. The clock
//! starts once the policy engine has decided everything stored (its backlog would hold both
//! cores); how long that took is printed.

use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dossier_gen::Generator;
use serde_json::{json, Value};

use crate::measure::{agent, drive, machine, percentile_ms};

#[derive(clap::Args, Debug)]
pub struct GateArgs {
    /// Generated events stored before the gate is timed
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Questions asked of each kind
    #[arg(long, default_value_t = 2000)]
    pub repeat: usize,
}

/// An image of the bench with a 64-hex digest (the generator's purls carry shorter ones).
fn image(i: usize) -> (String, String) {
    let hex = format!("{:064x}", 0xb00c_u64.wrapping_mul(i as u64 + 1).wrapping_add(0x9e37_79b9_7f4a_7c15));
    (format!("pkg:oci/svc-{i}@sha256:{hex}"), format!("registry.example/team/svc-{i}@sha256:{hex}"))
}

fn review(uid: usize, images: &[String]) -> Value {
    let containers: Vec<Value> = images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": format!("00000000-0000-4000-8000-{uid:012}"),
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "name": "svc", "namespace": "prod-eu-1", "operation": "CREATE", "userInfo": {"username": "bench"},
            "object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "svc", "namespace": "prod-eu-1"},
                       "spec": {"selector": {"matchLabels": {"app": "svc"}},
                                "template": {"metadata": {"labels": {"app": "svc"}}, "spec": {"containers": containers}}}}
        }
    })
}

/// Times `n` requests made by `ask(i)`, which answers whether the answer was right.
fn time(n: usize, mut ask: impl FnMut(usize) -> anyhow::Result<()>) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        ask(i)?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times)
}

fn report(name: &str, times: &[Duration], target_ms: Option<f64>) {
    let p99 = percentile_ms(times, 0.99);
    let verdict = match target_ms {
        Some(t) if p99 < t => format!("  (target p99 < {t} ms: met)"),
        Some(t) => format!("  (target p99 < {t} ms: MISSED)"),
        None => String::new(),
    };
    println!(
        "{name:<44} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms   ({} requests){verdict}",
        percentile_ms(times, 0.50),
        p99,
        percentile_ms(times, 1.0),
        times.len()
    );
}

pub fn run(args: GateArgs) -> anyhow::Result<ExitCode> {
    let temp = tempfile::tempdir()?;
    let policies = temp.path().join("policies");
    std::fs::create_dir(&policies)?;
    let sources = crate::policy::benchmark_policies();
    for (file, source) in &sources {
        std::fs::write(policies.join(file), source)?;
    }
    let server = crate::measure::start(&temp.path().join("data"), Some(policies)).context("starting the embedded server")?;
    println!("dossier bench gate — {} — {} events, {} policies", machine(), args.events, sources.len());
    let t = Instant::now();
    let gen = Arc::new(Generator::new(42));
    let next = AtomicU64::new(0);
    let mut filled = 0;
    while filled < args.events {
        let chunk = (args.events - filled).min(100_000);
        drive(server.addr, &gen, &next, chunk, 1000, 2, "filling")?;
        filled += chunk;
    }
    // Images with a history the policies read: packaged, tested, published, and for every
    // fifth a critical vulnerability (so that production denies it).
    let agent = agent().timeout(Duration::from_secs(30)).build();
    let base = format!("http://{}", server.addr);
    let mut history = Vec::new();
    for i in 0..50 {
        let (purl, _) = image(i);
        let event = |id: String, ty: &str, subject: &str, content: Value| {
            json!({"context": {"specversion": "0.5.1", "id": id, "source": "/bench/gate", "type": ty, "timestamp": "2026-12-01T10:00:00Z"},
                   "subject": {"id": subject, "content": content}})
        };
        history.push(event(format!("p{i}"), "dev.cdevents.artifact.packaged.0.3.0", &purl, json!({"change": {"id": format!("c{i}")}})));
        history.push(event(
            format!("t{i}"),
            "dev.cdevents.testsuiterun.finished.0.3.0",
            &format!("suite-{i}"),
            json!({"outcome": "pass", "testSuite": {"id": "unit"}, "environment": {"id": "ci"}}),
        ));
        history.push(event(format!("u{i}"), "dev.cdevents.artifact.published.0.3.0", &purl, json!({"user": "ci"})));
        if i % 5 == 0 {
            history.push(event(
                format!("v{i}"),
                dossier_core::own::OwnType::VulnerabilityDiscovered.as_str(),
                &format!("CVE-2026-{i:04}"),
                json!({"severity": "critical", "artifacts": [purl]}),
            ));
        }
    }
    let resp = agent
        .post(&format!("{base}/api/v1/events"))
        .set("Content-Type", "application/json")
        .send_string(&Value::Array(history).to_string());
    match resp {
        Ok(r) if r.status() == 200 => {}
        Ok(r) => bail!("the images' history was refused: HTTP {}", r.status()),
        Err(e) => bail!("the images' history was refused: {e}"),
    }
    println!("stored {} events in {:.1} s", args.events + 200, t.elapsed().as_secs_f64());
    // A server at its steady state: the policy engine has decided what was stored (while it
    // catches up, its workers hold both cores, and every answer would wait for them).
    let t = Instant::now();
    loop {
        let status: Value = agent.get(&format!("{base}/api/v1/policies")).call()?.into_json()?;
        let behind = status.pointer("/lag/entries").and_then(Value::as_u64).unwrap_or(0);
        if behind == 0 {
            break;
        }
        if t.elapsed() > Duration::from_secs(1800) {
            bail!("the policy engine is still {behind} entries behind after 30 minutes");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    println!("the policy engine caught up in {:.1} s more", t.elapsed().as_secs_f64());

    let post = |path: &str, body: &Value| -> anyhow::Result<Value> {
        let r = agent.post(&format!("{base}{path}")).set("Content-Type", "application/json").send_string(&body.to_string());
        match r {
            Ok(r) => Ok(r.into_json()?),
            Err(ureq::Error::Status(code, r)) => bail!("{path}: HTTP {code}: {}", r.into_string().unwrap_or_default()),
            Err(e) => bail!("{path}: {e}"),
        }
    };
    // Warm: the policies' first evaluations compile their rules.
    for i in 0..20 {
        post("/api/v1/gate", &json!({"artifact": image(i).0, "environment": "staging"}))?;
    }
    let gate = time(args.repeat, |i| {
        let (purl, _) = image(i % 50);
        let env = if i % 2 == 0 { "prod-eu-1" } else { "staging" };
        let d = post("/api/v1/gate", &json!({"artifact": purl, "environment": env, "context": {"run": i}}))?;
        if d.get("policies").and_then(Value::as_array).map_or(0, Vec::len) == 0 {
            bail!("no policy decided: {d}");
        }
        Ok(())
    })?;
    let admission = time(args.repeat / 4, |i| {
        let images: Vec<String> = (0..5).map(|k| image((i * 5 + k) % 50).1).collect();
        let r = post("/k8s/admission", &review(i, &images))?;
        if r.pointer("/response/uid").is_none() {
            bail!("not an admission answer: {r}");
        }
        Ok(())
    })?;
    let told = time(args.repeat, |i| {
        let (purl, _) = image(i % 50);
        let e = json!({"context": {"specversion": "0.5.1", "id": format!("deploy-{i}"), "source": "/bench/gate", "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-12-01T11:00:00Z"},
                       "subject": {"id": format!("svc-{}", i % 50), "content": {"environment": {"id": "staging"}, "artifactId": purl}}});
        post("/api/v1/events", &e).map(drop)
    })?;
    report("gate: POST /api/v1/gate", &gate, Some(5.0));
    report("admission: a Deployment of 5 containers", &admission, Some(10.0));
    report("after the fact: a service.deployed event", &told, None);
    println!("ratio gate / event acknowledgement at p50: {:.2}", percentile_ms(&gate, 0.5) / percentile_ms(&told, 0.5).max(1e-9));
    Ok(ExitCode::SUCCESS)
}
