//! An artifact's dossier: source → build → artifact → deploy, with everything known about it —
//! commits, pipeline run, SBOM components and licences, findings (inherited ones included),
//! scans, tool runs, policy decisions, exceptions, deployments — and its lineage as a picture.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use dossier_store::{EventQuery, Order, TypePattern};
use serde_json::Value;

use crate::html::{self, artifact, badge, esc, mark, time, Mark};
use crate::page::blocking;
use crate::page::{problem, PageResult};
use crate::state::Pages as AppState;
use dossier_engine::policy::Decided;
use dossier_evidence::about::{Unverified, Verdict};
use dossier_evidence::signatures::{Check, Checked};
use dossier_evidence::Format;
use dossier_log::own::now_nanos;

pub(super) async fn page(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> PageResult {
    // Named in any spelling of its purl (`sha256:` as typed or `sha256%3A`), shown by its canonical name.
    let Some(purl) = params.get("purl").map(|p| dossier_core::artifact_name(p.trim()).into_owned()).filter(|p| !p.is_empty()) else {
        return Err(problem(StatusCode::BAD_REQUEST, "Artifact", "name an artifact by its package URL: /ui/artifact?purl=pkg:oci/…"));
    };
    let log = s.log.clone();
    let (timeline, action_entries) = {
        let purl = purl.clone();
        blocking(move || {
            let store = log.store();
            let timeline = store
                .query(&EventQuery { artifact: Some(purl.clone()), order: Order::NewestFirst, limit: 500, ..Default::default() })?
                .events;
            let actions = store
                .query(&EventQuery {
                    artifact: Some(purl),
                    types: vec![TypePattern(dossier_core::own::Family::Action.glob())],
                    limit: 1000,
                    ..Default::default()
                })?
                .events;
            Ok((timeline, actions))
        })
        .await?
    };
    let lineage = s.views.lineage.read().lineage(&purl);
    if timeline.is_empty() && lineage.is_none() {
        let body = format!(
            r#"<h1>Artifact</h1><p class="lead mono">{}</p>{}"#,
            esc(&purl),
            html::empty("Dossier knows nothing about this artifact yet. Check the purl (any spelling: <code>pkg:oci/shop@sha256:…</code> or <code>pkg:oci/shop@sha256%3A…</code>), search for a vulnerability by its id (<code>CVE-…</code>, <code>GHSA-…</code>), or send its events: <code>dossier send artifact-published.json</code>.")
        );
        return Err((StatusCode::NOT_FOUND, Html(html::page("Unknown artifact", "", &body))).into_response());
    }
    let (log, view, about) = (s.log.clone(), s.views.lineage.clone(), purl.clone());
    let (documents, findings) = blocking(move || {
        let documents = dossier_views::documents::received(log.store().as_ref(), &about)?;
        let findings = dossier_views::documents::findings_of(log.store().as_ref(), &view, &about, &documents)?;
        Ok((documents, findings))
    })
    .await?;
    let components = dossier_evidence::about::components(&documents);
    let scans = dossier_evidence::about::scans(&documents);

    let content = |raw: &[u8]| serde_json::from_slice::<Value>(raw).map(|mut v| v["subject"]["content"].take()).unwrap_or(Value::Null);
    let stamp = |nanos: i64| time(&dossier_core::event::format_timestamp(nanos));

    // Source → build → artifact → deploy.
    let mut story = Vec::new();
    let builds = match &lineage {
        Some(l) => crate::lineage_svg::builds(&*s.views.lineage.read(), l),
        None => Vec::new(),
    };
    if let Some(l) = &lineage {
        for b in &builds {
            for src in &b.sources {
                story.push(vec![
                    "Source".into(),
                    format!(r#"<span class="mono">{} @ {}</span>"#, esc(&src.repository), esc(&src.commit)),
                    entry_link(src.seq),
                ]);
            }
            story.push(vec![
                "Build".into(),
                format!(r#"<span class="mono">{}</span> built {}"#, esc(&b.run), artifact(&b.artifact)),
                entry_link(b.seq),
            ]);
        }
        for e in &l.ancestors {
            story.push(vec!["Derived from".into(), format!("{} ← {}", artifact(&e.artifact), artifact(&e.parent)), entry_link(e.seq)]);
        }
        for d in &l.deployments {
            story.push(vec![
                "Deployed".into(),
                format!("{} as {} in <b>{}</b>", artifact(&d.artifact), esc(&d.service), esc(&d.environment)),
                entry_link(d.seq),
            ]);
        }
    }
    let mut state = String::new();
    if let Some(seq) = lineage.as_ref().and_then(|l| l.quarantined) {
        state.push_str(&format!(r#" <span class="badge st-failed">quarantined since entry {seq}</span>"#));
    }
    if let Some(seq) = lineage.as_ref().and_then(|l| l.deleted) {
        state.push_str(&format!(r#" <span class="badge st-expired">deleted at entry {seq}</span>"#));
    }
    // Groups of the picture opened (by the artifacts they hang from), a bounded number.
    let expanded: std::collections::BTreeSet<String> = params
        .get("expand")
        .map(|e| e.split_whitespace().take(crate::lineage_svg::MAX_EXPANDED).map(|a| dossier_core::artifact_name(a).into_owned()).collect())
        .unwrap_or_default();
    let picture = match &lineage {
        Some(l) => crate::lineage_svg::svg(l, &*s.views.lineage.read(), &expanded),
        None => html::empty("No lineage yet: no build, derivation or deployment names this artifact."),
    };
    let vulnerability_rows: Vec<Vec<String>> = lineage
        .iter()
        .flat_map(|l| l.vulnerabilities.iter())
        .map(|(v, sev)| vec![html::vulnerability(v), badge("sev", sev.name())])
        .collect();

    // A finding's id links to its vulnerability's page when it is one (not a code scanner's rule).
    let known: std::collections::HashSet<&str> = {
        let graph = s.views.lineage.read();
        findings.iter().map(|f| f.finding.id.as_str()).filter(|id| graph.resolve(id).is_some()).collect()
    };
    let finding_rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            let from = if f.inherited { format!("inherited from {}", artifact(&f.artifact)) } else { "its own".into() };
            // The status, and which statement applied and why (its product names the artifact).
            let vex = f
                .vex
                .as_ref()
                .map(|v| format!(r#"{} <span class="muted">{}</span>"#, badge("st", &v.status), esc(&v.matched)))
                .unwrap_or_default();
            vec![
                format!(
                    r#"<span data-sort="{}">{}</span>"#,
                    severity_rank(f.finding.severity.name()),
                    badge("sev", f.finding.severity.name())
                ),
                if known.contains(f.finding.id.as_str()) {
                    // Triage where the finding is: the vulnerability's page holds the forms.
                    format!(
                        r##"{} <a href="/ui/vulnerabilities/{}#h-triage">triage</a>"##,
                        html::vulnerability(&f.finding.id),
                        html::query_value(&f.finding.id)
                    )
                } else {
                    format!(r#"<span class="mono">{}</span>"#, esc(&f.finding.id))
                },
                format!(r#"<span class="mono">{}</span>"#, esc(&package_at(f.finding.package.as_deref(), f.finding.version.as_deref()))),
                esc(f.finding.fixed_version.as_deref().unwrap_or("")),
                esc(&f.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")),
                from,
                vex,
            ]
        })
        .collect();
    let component_rows: Vec<Vec<String>> = components
        .components
        .iter()
        .map(|c| {
            vec![
                format!(r#"<span class="mono">{}</span>"#, esc(c.component.purl.as_deref().unwrap_or(&c.component.name))),
                esc(c.component.version.as_deref().unwrap_or("")),
                esc(&c.component.licenses.join(", ")),
            ]
        })
        .collect();
    let licence_rows: Vec<Vec<String>> = components.licenses.iter().map(|(l, n)| vec![esc(l), n.to_string()]).collect();
    let scan_rows: Vec<Vec<String>> = scans
        .iter()
        .map(|sc| {
            vec![
                time(&sc.time),
                esc(&sc.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")),
                esc(sc.format.name()),
                sc.findings.to_string(),
                sc.components.to_string(),
                format!(r#"<a class="mono" href="/api/v1/documents/{0}">{0}</a>"#, esc(&sc.document)),
            ]
        })
        .collect();

    // Signatures (those artifact.signed entries carry, DSSE envelopes', Sigstore bundles') and
    // build provenance, each as checked when it arrived: verified, by whom, under which trust —
    // or unverified, and why.
    let checks: HashMap<u64, Check> = timeline
        .iter()
        .filter(|e| dossier_core::own::OwnType::SignatureChecked.matches(&e.event_type))
        .filter_map(|e| Checked::from_content(&content(&e.raw)).map(|c| (c.entry, c.check)))
        .collect();
    let mut trust_rows: Vec<Vec<String>> = timeline
        .iter()
        .filter(|e| e.event_type.starts_with("dev.cdevents.artifact.signed."))
        .map(|e| {
            let c = content(&e.raw);
            let signature = match &c["signature"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let said = match checks.get(&e.seq) {
                Some(check) => checked(check),
                None => unverified(Unverified::NotCheckedYet.reason()),
            };
            vec![
                stamp(e.time_unix_nanos),
                "Signed".into(),
                format!(
                    r#"<span class="mono">{}</span> from {} {said}"#,
                    esc(&signature.chars().take(48).collect::<String>()),
                    esc(&e.key.source)
                ),
                entry_link(e.seq),
            ]
        })
        .collect();
    for d in &documents {
        let verdict = Verdict::of(&d.extract);
        let said = match &verdict {
            Verdict::Verified(check) => checked(check),
            Verdict::Unverified(why) => unverified(why),
        };
        if let Some(p) = &d.extract.provenance {
            let mut what = Vec::new();
            if let Some(b) = &p.builder {
                what.push(format!("built by <span class=\"mono\">{}</span>", esc(b)));
            }
            if let Some(t) = &p.build_type {
                what.push(format!("build type <span class=\"mono\">{}</span>", esc(t)));
            }
            for src in &p.sources {
                what.push(format!("from <span class=\"mono\">{} @ {}</span>", esc(&src.repository), esc(&src.commit)));
            }
            for parent in &p.parents {
                what.push(format!("on {}", artifact(parent)));
            }
            trust_rows.push(vec![time(&d.time), "Provenance".into(), format!("{} {said}", what.join(", ")), entry_link(d.seq)]);
        } else if d.extract.format == Format::Sigstore || !d.extract.signatures.is_empty() {
            let kind = d.extract.predicate_type.as_deref().unwrap_or(if d.extract.format == Format::Sigstore {
                "a Sigstore bundle"
            } else {
                "an attestation"
            });
            trust_rows.push(vec![time(&d.time), "Attestation".into(), format!("{} {said}", esc(kind)), entry_link(d.seq)]);
        }
    }

    let entries: Vec<(u64, String, String, Value)> = action_entries
        .iter()
        .map(|e| (e.seq, e.event_type.clone(), dossier_core::event::format_timestamp(e.time_unix_nanos), content(&e.raw)))
        .collect();
    let mut runs = dossier_engine::actions::fold(entries.iter().map(|(seq, ty, t, c)| (*seq, ty.as_str(), t.as_str(), c)));
    runs.reverse();
    let run_rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let f = r.finished.as_ref();
            let duration = f.and_then(|f| f["durationMs"].as_u64()).map(|ms| format!("{ms} ms")).unwrap_or_default();
            let digest = f.and_then(|f| f["outputDigest"].as_str().or(f["responseDigest"].as_str())).unwrap_or("");
            vec![
                time(&r.queued_at),
                esc(r.kind),
                format!(r#"<span class="mono">{}</span>"#, esc(&r.target)),
                esc(&r.policy),
                badge("st", r.status.as_str()),
                duration,
                format!(r#"<span class="mono">{}</span>"#, esc(digest)),
            ]
        })
        .collect();

    let mut decision_rows = Vec::new();
    for e in timeline.iter().filter(|e| dossier_core::own::OwnType::PolicyDecided.matches(&e.event_type)) {
        let Some(d) = Decided::read(&e.raw) else { continue };
        let list = |items: &[String]| items.iter().map(|m| esc(m)).collect::<Vec<_>>();
        let (deny, warn, applied) = (list(&d.deny), list(&d.warn), list(&d.exceptions));
        let verdict = if !deny.is_empty() {
            format!(r#"<span class="deny">deny</span>: {}"#, deny.join("; "))
        } else if !warn.is_empty() {
            format!(r#"<span class="warn">warn</span>: {}"#, warn.join("; "))
        } else {
            "acted".into()
        };
        decision_rows.push(vec![stamp(e.time_unix_nanos), esc(&e.subject_id), verdict, applied.join(", "), entry_link(e.seq)]);
    }

    let now = now_nanos();
    let rules = s.views.exceptions.rules();
    let exception_rows: Vec<Vec<String>> = {
        let book = s.views.exceptions.read();
        book.all()
            .filter(|e| e.covers(Some(&purl), None, None, None))
            .map(|e| {
                vec![
                    format!(r#"<a href="/ui/exceptions#{0}">{0}</a>"#, esc(&e.id)),
                    badge("st", &e.state(now, &rules).to_string()),
                    esc(&e.scope.vulnerabilities.join(", ")),
                    esc(&e.scope.policies.join(", ")),
                    esc(&e.reason),
                    time(&e.expires),
                ]
            })
            .collect()
    };
    let timeline_rows: Vec<Vec<String>> = timeline
        .iter()
        .map(|e| {
            let mono = |t: &str| format!(r#"<span class="mono">{}</span>"#, esc(t));
            vec![entry_link(e.seq), stamp(e.time_unix_nanos), mono(&e.event_type), mono(&e.subject_id), mono(&e.key.source)]
        })
        .collect();

    let body = format!(
        r#"<h1>Artifact dossier</h1><p class="lead"><span class="mono">{purl}</span>{state}</p>
<div class="figures">
<div class="figure"><b>{n_events}</b><span>entries name it</span></div>
<div class="figure"><b>{n_components}</b><span>components</span></div>
<div class="figure"><b>{n_findings}</b><span>findings</span></div>
<div class="figure"><b>{n_runs}</b><span>tool runs</span></div>
<div class="figure"><b>{n_deployments}</b><span>deployments</span></div>
</div>
<div class="grid">
<section class="panel wide" aria-labelledby="h-lineage"><h2 id="h-lineage">Lineage</h2>{picture}</section>
<section class="panel wide" aria-labelledby="h-story"><h2 id="h-story">Source → build → artifact → deploy</h2>{story}</section>
<section class="panel wide" aria-labelledby="h-trust"><h2 id="h-trust">Signatures and provenance</h2>{trust_table}</section>
<section class="panel wide" aria-labelledby="h-findings"><h2 id="h-findings">Findings</h2>{finding_table}</section>
<section class="panel" aria-labelledby="h-vulns"><h2 id="h-vulns">Vulnerabilities through its lineage</h2>{vuln_table}</section>
<section class="panel" aria-labelledby="h-licences"><h2 id="h-licences">Licences</h2>{licence_table}</section>
<section class="panel wide" aria-labelledby="h-components"><h2 id="h-components">Components</h2>{component_table}</section>
<section class="panel wide" aria-labelledby="h-scans"><h2 id="h-scans">Scans, SBOMs and attestations</h2>{scan_table}</section>
<section class="panel wide" aria-labelledby="h-runs"><h2 id="h-runs">Tool runs policies asked for</h2>{run_table}</section>
<section class="panel wide" aria-labelledby="h-decisions"><h2 id="h-decisions">Policy decisions</h2>{decision_table}</section>
<section class="panel wide" aria-labelledby="h-exceptions"><h2 id="h-exceptions">Exceptions covering it</h2>{exception_table}</section>
<section class="panel wide" aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>{timeline_table}</section>
</div>"#,
        purl = esc(&purl),
        n_events = timeline.len(),
        n_components = component_rows.len(),
        n_findings = finding_rows.len(),
        n_runs = run_rows.len(),
        n_deployments = lineage.as_ref().map_or(0, |l| l.deployments.len()),
        story = html::table("story", &["Step", "What", "Entry"], &story, "No build, derivation or deployment names this artifact yet."),
        finding_table = html::table(
            "findings",
            &["Severity", "Vulnerability", "Package", "Fixed in", "Tool", "From", "VEX"],
            &finding_rows,
            "No findings. Send scan reports (SARIF, OSV, CycloneDX with vulnerabilities) with <code>dossier document send</code>."
        ),
        trust_table = html::table(
            "trust",
            &["When", "What", "Details", "Entry"],
            &trust_rows,
            "No signature and no provenance: no <code>artifact.signed</code> event names it, and no attestation was sent (<code>dossier document send</code> takes in-toto statements and DSSE envelopes)."
        ),
        vuln_table = html::table("vulns", &["Vulnerability", "Severity"], &vulnerability_rows, "No vulnerability reaches it through its lineage."),
        licence_table = html::table("licences", &["Licence", "Components"], &licence_rows, "No SBOM yet."),
        component_table = html::table("components", &["Package", "Version", "Licences"], &component_rows, "No SBOM yet: <code>dossier document send --artifact PURL sbom.cdx.json</code>."),
        scan_table = html::table("scans", &["When", "Tools", "Format", "Findings", "Components", "Document"], &scan_rows, "No tool has sent a document about it."),
        run_table = html::table("tool-runs", &["Queued", "Kind", "Tool", "Policy", "Status", "Duration", "Output"], &run_rows, "No webhook or tool has run for it."),
        decision_table = html::table("decisions", &["When", "Policy", "Decision", "Exceptions applied", "Entry"], &decision_rows, "No policy has decided anything about it."),
        exception_table = html::table("artifact-exceptions", &["Exception", "State", "Vulnerabilities", "Policies", "Reason", "Expires"], &exception_rows, "No exception covers it."),
        timeline_table = html::table("timeline", &["Entry", "Time", "Type", "Subject", "Source"], &timeline_rows, "No entry names it."),
    );
    Ok(Html(html::page("Artifact dossier", "", &body)))
}

/// A package and its version, the version once even when the purl already carries it.
fn package_at(package: Option<&str>, version: Option<&str>) -> String {
    match (package, version) {
        (Some(p), Some(v)) if !p.ends_with(&format!("@{v}")) => format!("{p} {v}"),
        (Some(p), _) => p.to_owned(),
        (None, Some(v)) => v.to_owned(),
        (None, None) => String::new(),
    }
}

fn entry_link(seq: u64) -> String {
    format!(r#"<a href="/ui/events?seq={seq}" data-sort="{seq}">{seq}</a>"#)
}

/// Sorting by severity puts the worst first in descending order.
fn severity_rank(name: &str) -> u8 {
    match name {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

/// An unverified signature or claim, and why (HTML).
fn unverified(why: &str) -> String {
    format!(r#"{} <span class="muted">{}</span>"#, mark(Mark::Unverified), esc(why))
}

/// A check as the page says it: verified by whom under which trust, in which log, when — or why not (HTML).
fn checked(check: &Check) -> String {
    if !check.verified {
        return unverified(&check.said());
    }
    let mut said = vec![format!("by <span class=\"mono\">{}</span>", esc(check.identity.as_deref().unwrap_or("?")))];
    if let Some(issuer) = &check.issuer {
        said.push(format!("of <span class=\"mono\">{}</span>", esc(issuer)));
    }
    said.push(format!("under {}", esc(&check.trust.join(", "))));
    if let (Some(url), Some(index)) = (&check.log_url, check.log_index) {
        said.push(format!("logged at {} #{index}", esc(url)));
    }
    if let Some(t) = &check.time {
        said.push(format!("signed by {}", esc(t)));
    }
    format!(r#"{} <span class="muted">{}</span>"#, mark(Mark::Verified), said.join(", "))
}
