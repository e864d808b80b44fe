//! Events: the log newest first, filtered by type, subject, source, artifact and time, each
//! entry opening to its raw JSON and its place in the verified log; the first page is live.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use dossier_store::{EventQuery, Order};
use serde_json::Value;

use crate::html::{self, esc, query_value, time};
use crate::overview::live_table;
use crate::page::blocking;
use crate::page::{problem, PageResult};
use crate::state::Pages as AppState;

const FILTERS: [(&str, &str, &str); 6] = [
    ("type", "Type", "dev.cdevents.artifact.*"),
    ("subject", "Subject", "pkg:oci/shop@sha256:…"),
    ("source", "Source", "/ci/jenkins"),
    ("artifact", "Artifact", "pkg:oci/shop@sha256:…"),
    ("since", "Since (RFC 3339)", "2026-11-01T00:00:00Z"),
    ("until", "Until (RFC 3339)", "2026-12-01T00:00:00Z"),
];
const PAGE: usize = 50;

pub(super) async fn page(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> PageResult {
    if let Some(seq) = params.get("seq") {
        let seq: u64 =
            seq.parse().map_err(|_| problem(StatusCode::BAD_REQUEST, "No such entry", &format!("{seq:?} is not an entry number")))?;
        return entry(s, seq).await;
    }
    let filters: Vec<(&str, &str)> =
        FILTERS.iter().filter_map(|(name, ..)| params.get(*name).filter(|v| !v.is_empty()).map(|v| (*name, v.as_str()))).collect();
    let mut q = EventQuery::from_params(filters.iter().copied()).map_err(|e| problem(StatusCode::BAD_REQUEST, "Events", &e))?;
    q.order = Order::NewestFirst;
    q.limit = PAGE;
    if let Some(after) = params.get("after") {
        q.after = Some(
            after.parse().map_err(|_| problem(StatusCode::BAD_REQUEST, "Events", &format!("after {after:?} is not an entry number")))?,
        );
    }
    let paged = q.after.is_some();
    let log = s.log.clone();
    let page = blocking(move || log.store().query(&q)).await?;

    let mut form = String::from(r#"<form class="stack" method="get" action="/ui/events" aria-label="Filter events">"#);
    for (name, label, example) in FILTERS {
        let value = params.get(name).map(|v| esc(v)).unwrap_or_default();
        let _ = write!(
            form,
            r#"<div><label for="f-{name}">{label}</label><input id="f-{name}" name="{name}" value="{value}" placeholder="{}"></div>"#,
            esc(example)
        );
    }
    form.push_str(r#"<div><button class="primary" type="submit">Show</button> <a href="/ui/events">Clear</a></div></form>"#);

    // Live on the first page only, with the same filters as the stream's.
    let stream: String = filters.iter().map(|(k, v)| format!("{k}={}", query_value(v))).collect::<Vec<_>>().join("&");
    // The next rows (older), said by the table's one pager.
    let next = page.next.map(|next| {
        let mut link: Vec<String> = filters.iter().map(|(k, v)| format!("{k}={}", query_value(v))).collect();
        link.push(format!("after={next}"));
        format!("/ui/events?{}", link.join("&"))
    });
    let table = if paged {
        let rows: Vec<Vec<String>> = page
            .events
            .iter()
            .map(|e| {
                vec![
                    format!(r#"<a href="/ui/events?seq={0}">{0}</a> <button type="button" class="expand" data-seq="{0}" aria-expanded="false" aria-label="JSON of entry {0}">JSON</button>"#, e.seq),
                    time(&dossier_core::event::format_timestamp(e.time_unix_nanos)),
                    format!(r#"<span class="mono">{}</span>"#, esc(&e.event_type)),
                    format!(r#"<span class="mono">{}</span>"#, esc(&e.subject_id)),
                    format!(r#"<span class="mono">{}</span>"#, esc(&e.key.source)),
                    sender(e.sender.as_deref(), &e.key.source),
                ]
            })
            .collect();
        let total = html::Total { next, ..Default::default() };
        html::table_of("events", &["Entry", "Time", "Type", "Subject", "Source", "Sent by"], &rows, "No older events match.", &total)
    } else {
        let empty = if filters.is_empty() {
            crate::overview::NO_EVENTS
        } else {
            r#"No event matches these filters yet; new ones that do appear here as they arrive. <a href="/ui/events">All events</a>"#
        };
        live_table(&page.events, &if stream.is_empty() { String::new() } else { format!("?{stream}") }, empty, next.as_deref())
    };
    let body = format!(
        r#"<h1>Events</h1><p class="lead">The evidence log, newest first. Open an entry for its JSON and its proof of inclusion.</p>
<section class="panel" aria-label="Filters">{form}</section>
<section class="panel" aria-label="Events">{table}</section>"#
    );
    Ok(Html(html::page("Events", "/ui/events", &body)))
}

/// Who sent an entry: the principal of its credential, as the log's leaf records it; Dossier
/// itself for its own acts; unknown for a producer's entry from before authentication.
fn sender(sender: Option<&str>, source: &str) -> String {
    match sender {
        Some(name) => format!(r#"<span class="mono">{}</span>"#, esc(name)),
        None if source.starts_with(dossier_core::own::RESERVED_SOURCE_PREFIX) => r#"<span class="muted">Dossier</span>"#.to_owned(),
        None => r#"<span class="muted">unknown (before authentication)</span>"#.to_owned(),
    }
}

/// One entry: its JSON as received, and where it stands in the log.
async fn entry(s: AppState, seq: u64) -> PageResult {
    let log = s.log.clone();
    let (found, checkpoint) = blocking(move || Ok((log.store().get(seq)?, log.checkpoint()?))).await?;
    let Some(e) = found else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "No such entry",
            &format!("the log has no entry {seq} (it holds {} entries)", checkpoint.size),
        ));
    };
    let pretty = serde_json::from_slice::<Value>(&e.raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(&e.raw).into_owned());
    let body = format!(
        r#"<h1>Entry {seq}</h1><p class="lead mono">{ty}</p>
<div class="grid">
<section class="panel" aria-labelledby="h-what"><h2 id="h-what">The event</h2>
<table class="data" id="entry-fields"><tbody>
<tr><th scope="row">Source</th><td class="mono">{source}</td></tr>
<tr><th scope="row">Id</th><td class="mono">{id}</td></tr>
<tr><th scope="row">Subject</th><td class="mono"><a href="/ui/events?subject={subject_q}">{subject}</a></td></tr>
<tr><th scope="row">Time</th><td>{time}</td></tr>
<tr><th scope="row">Received</th><td>{received}</td></tr>
<tr><th scope="row">Sent by</th><td>{sender}</td></tr>
</tbody></table></section>
<section class="panel" aria-labelledby="h-log"><h2 id="h-log">In the verified log</h2>
<p>Leaf {seq} of a Merkle tree of {size} entries, whose head is signed in the latest checkpoint.</p>
<p><a href="/api/v1/events/{seq}?proof=true">Inclusion proof (JSON)</a> · <a href="/api/v1/log/checkpoint">Latest signed checkpoint</a> · <a href="/api/v1/events/{seq}/raw">The bytes as received</a></p>
<p>Check it offline: <code>dossier log prove {seq} --key "$(cat dossier-data/log.pub)"</code></p></section>
<section class="panel wide" aria-labelledby="h-json"><h2 id="h-json">JSON</h2><pre><code>{json}</code></pre></section>
</div>"#,
        ty = esc(&e.event_type),
        source = esc(&e.key.source),
        id = esc(&e.key.id),
        subject = esc(&e.subject_id),
        subject_q = query_value(&e.subject_id),
        time = time(&dossier_core::event::format_timestamp(e.time_unix_nanos)),
        received = time(&dossier_core::event::format_timestamp(e.received_unix_nanos)),
        size = checkpoint.size,
        sender = sender(e.sender.as_deref(), &e.key.source),
        json = esc(&pretty),
    );
    Ok(Html(html::page(&format!("Entry {seq}"), "/ui/events", &body)))
}
