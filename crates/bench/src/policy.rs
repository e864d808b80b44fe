//! `dossier bench policy`: 20 Rego policies of realistic complexity evaluated on generated
//! events with their subjects' history, as the server does for every committed event.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use dossier_gen::Generator;
use dossier_policy::PolicySet;
use serde_json::{json, Value};

#[derive(clap::Args, Debug)]
pub struct PolicyArgs {
    /// Events evaluated
    #[arg(long, default_value_t = 20_000)]
    pub events: u64,
    /// Events sent to a server whose policy calls a webhook for each
    #[arg(long, default_value_t = 500)]
    pub webhooks: u64,
}

/// A loopback HTTP receiver that reports when each webhook (by the `id` in its body) arrived.
fn webhook_receiver() -> anyhow::Result<(String, std::sync::mpsc::Receiver<(String, Instant)>)> {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let Ok(clone) = stream.try_clone() else { continue };
            let mut reader = BufReader::new(clone);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length.min(1 << 20)];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let at = Instant::now();
            let mut stream = stream;
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if let Some(id) = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["id"].as_str().map(str::to_owned)) {
                if tx.send((id, at)).is_err() {
                    break;
                }
            }
        }
    });
    Ok((url, rx))
}

/// Event accepted by the server → its policy's webhook received, one event at a time.
fn webhook_latency(n: u64) -> anyhow::Result<Vec<Duration>> {
    let (url, arrivals) = webhook_receiver()?;
    let dir = tempfile::tempdir()?;
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies)?;
    std::fs::write(
        policies.join("scan_on_publish.rego"),
        format!(
            "package dossier.scan_on_publish\n\ntriggers := [\"dev.cdevents.artifact.published.*\"]\nallowed_actions := [\"webhook\"]\n\n\
             actions contains {{\"kind\": \"webhook\", \"url\": \"{url}\", \"body\": {{\"id\": input.event.context.id}}}} if {{ true }}\n"
        ),
    )?;
    let server = crate::measure::start(&dir.path().join("data"), Some(policies))?;
    // The policy is loaded (and its version logged) before the clock starts.
    std::thread::sleep(Duration::from_millis(300));
    let agent = crate::measure::agent().build();
    let endpoint = format!("http://{}/api/v1/events", server.addr);
    let mut times = Vec::new();
    for i in 0..n {
        let id = format!("webhook-{i}");
        let event = json!({
            "context": {"specversion": "0.5.1", "id": id, "source": "/bench", "type": "dev.cdevents.artifact.published.0.3.0",
                        "timestamp": "2026-11-25T10:00:00Z"},
            "subject": {"id": format!("pkg:oci/bench@{i}"), "content": {}}
        });
        let t0 = Instant::now();
        agent.post(&endpoint).set("Content-Type", "application/json").send_string(&event.to_string())?;
        loop {
            let (got, at) = arrivals.recv_timeout(Duration::from_secs(10)).map_err(|_| anyhow::anyhow!("webhook for {id} never came"))?;
            if got == id {
                times.push(at - t0);
                break;
            }
        }
    }
    times.sort();
    Ok(times)
}

const STARTER: [(&str, &str); 3] = [
    ("sbom_required.rego", include_str!("../../../policies/sbom_required.rego")),
    ("unsigned_artifact.rego", include_str!("../../../policies/unsigned_artifact.rego")),
    ("no_critical_in_production.rego", include_str!("../../../policies/no_critical_in_production.rego")),
];

/// The 20 benchmark policies as files: the starter pack's three and the seventeen generated.
pub(crate) fn benchmark_policies() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = STARTER.iter().map(|(f, s)| (f.to_string(), s.to_string())).collect();
    out.extend(generated_policies());
    out
}

/// Seventeen more policies in the shapes security teams write: counting the history,
/// checking environments, test outcomes, naming conventions, and asking for actions.
fn generated_policies() -> Vec<(String, String)> {
    let triggers = [
        "dev.cdevents.artifact.published.*",
        "dev.cdevents.service.deployed.*",
        "dev.cdevents.artifact.packaged.*",
        "dev.cdevents.artifact.*",
        "dev.cdevents.service.*",
    ];
    (0..17)
        .map(|i| {
            let trigger = triggers[i % triggers.len()];
            let source = format!(
                r#"package dossier.generated_{i}

triggers := ["{trigger}"]

allowed_actions := ["emit"]

tested if {{
    some t in input.subject.tests
    t.outcome == "success"
}}

builds := [e | some e in input.subject.timeline; startswith(e.type, "dev.cdevents.build.")]

deny contains msg if {{
    startswith(object.get(input.event.subject.content, ["environment", "id"], ""), "prod")
    not tested
    msg := sprintf("policy {i}: %s reaches production untested", [input.subject.artifact])
}}

warn contains msg if {{
    count(input.subject.timeline) > {limit}
    msg := sprintf("policy {i}: %s has %d events", [input.subject.artifact, count(input.subject.timeline)])
}}

warn contains msg if {{
    count(builds) == 0
    not input.subject.signed
    msg := sprintf("policy {i}: no build recorded for %s", [input.event.subject.id])
}}

actions contains {{"kind": "emit", "type": "dev.cdevents.ticket.created.0.2.0", "subject": sprintf("t-{i}-%s", [input.event.context.id])}} if {{
    input.subject.sbom == null
    endswith(input.event.subject.id, "{suffix}")
}}
"#,
                limit = 3 + i % 4,
                suffix = i % 10,
            );
            (format!("generated_{i}.rego"), source)
        })
        .collect()
}

/// Times `set` on `events` generated events; returns (per-event times of triggering events,
/// policies triggered, significant decisions).
fn measure(set: &mut PolicySet, events: u64) -> (Vec<Duration>, usize, usize) {
    let gen = Generator::new(11);
    // The history of each artifact so far, as the server gives it to the policies.
    let mut timelines: HashMap<String, Vec<Value>> = HashMap::new();
    let mut times = Vec::with_capacity(events as usize);
    let (mut triggered, mut decided) = (0usize, 0usize);
    for i in 0..events {
        let event = gen.event(i);
        let ty = event["context"]["type"].as_str().unwrap_or_default().to_owned();
        let purl = dossier_policy::input::subject_artifact(&event);
        let timeline = purl.as_ref().and_then(|p| timelines.get(p)).cloned().unwrap_or_default();
        let lineage = json!({"vulnerabilities": if i % 7 == 0 { json!([["CVE-2026-0001", "critical"]]) } else { json!([]) }});
        let input = dossier_policy::input::build(&event, &timeline, Some(lineage), Vec::new());
        let t = Instant::now();
        let decisions = set.evaluate(&ty, &input);
        let took = t.elapsed();
        if !decisions.is_empty() {
            times.push(took);
        }
        triggered += decisions.len();
        decided += decisions.iter().filter(|d| d.is_significant()).count();
        if let Some(p) = purl {
            timelines.entry(p).or_default().push(json!({"seq": i, "type": ty, "event": event}));
        }
    }
    times.sort();
    (times, triggered, decided)
}

fn report(name: &str, (times, triggered, decided): (Vec<Duration>, usize, usize), events: u64) -> anyhow::Result<()> {
    if times.is_empty() {
        bail!("no event triggered a policy: the benchmark is broken");
    }
    println!(
        "{name:<42}p50 {:>7.3} ms  p99 {:>7.3} ms  ({} of {events} events trigger; {:.1} policies and {:.1} significant decisions each)",
        crate::measure::percentile_ms(&times, 0.5),
        crate::measure::percentile_ms(&times, 0.99),
        times.len(),
        triggered as f64 / times.len() as f64,
        decided as f64 / times.len() as f64
    );
    Ok(())
}

pub fn run(args: PolicyArgs) -> anyhow::Result<std::process::ExitCode> {
    let mut sources: Vec<(String, String)> = STARTER.iter().map(|(f, s)| (f.to_string(), s.to_string())).collect();
    sources.extend(generated_policies());
    // The same policies, each triggered by every event: the worst case.
    let everything: Vec<(String, String)> = sources
        .iter()
        .map(|(f, s)| {
            let mut body = String::new();
            // The declared triggers go, however many lines their list takes.
            let mut in_triggers = false;
            for l in s.lines() {
                if in_triggers || l.starts_with("triggers :=") {
                    in_triggers = !l.contains(']');
                } else if l.starts_with("package ") {
                    body.push_str(&format!("{l}\n\ntriggers := [\"*\"]\n"));
                } else {
                    body.push_str(&format!("{l}\n"));
                }
            }
            (f.clone(), body)
        })
        .collect();
    let (mut set, errors) = PolicySet::from_sources(sources);
    let (mut all, all_errors) = PolicySet::from_sources(everything);
    if !errors.is_empty() || !all_errors.is_empty() {
        bail!("the benchmark's policies do not compile: {errors:?} {all_errors:?}");
    }
    println!("dossier bench policy — {} — {} policies", crate::measure::machine(), set.policies().len());
    report("evaluation per triggering event", measure(&mut set, args.events), args.events)?;
    report("all 20 policies on every event", measure(&mut all, args.events), args.events)?;
    if args.webhooks > 0 {
        let t = webhook_latency(args.webhooks)?;
        println!(
            "{:<42}p50 {:>7.3} ms  p99 {:>7.3} ms  ({} events through the HTTP API, one at a time)",
            "event accepted → webhook received",
            crate::measure::percentile_ms(&t, 0.5),
            crate::measure::percentile_ms(&t, 0.99),
            t.len()
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}
