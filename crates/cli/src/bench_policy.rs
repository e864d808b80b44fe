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
}

const STARTER: [(&str, &str); 3] = [
    ("sbom_required.rego", include_str!("../../../policies/sbom_required.rego")),
    ("unsigned_artifact.rego", include_str!("../../../policies/unsigned_artifact.rego")),
    ("no_critical_in_production.rego", include_str!("../../../policies/no_critical_in_production.rego")),
];

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

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize].as_secs_f64() * 1e3
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
        let input = dossier_policy::input::build(&event, &timeline, Some(lineage));
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
        pct(&times, 0.5),
        pct(&times, 0.99),
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
            let body: String = s
                .lines()
                .filter(|l| !l.starts_with("triggers :="))
                .map(|l| if l.starts_with("package ") { format!("{l}\n\ntriggers := [\"*\"]\n") } else { format!("{l}\n") })
                .collect();
            (f.clone(), body)
        })
        .collect();
    let (mut set, errors) = PolicySet::from_sources(sources);
    let (mut all, all_errors) = PolicySet::from_sources(everything);
    if !errors.is_empty() || !all_errors.is_empty() {
        bail!("the benchmark's policies do not compile: {errors:?} {all_errors:?}");
    }
    println!("dossier bench policy — {} — {} policies", crate::bench::machine(), set.policies().len());
    report("evaluation per triggering event", measure(&mut set, args.events), args.events)?;
    report("all 20 policies on every event", measure(&mut all, args.events), args.events)?;
    Ok(std::process::ExitCode::SUCCESS)
}
