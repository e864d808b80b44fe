//! Exceptions: every one with its state now, who asked, who approved, until when; forms to
//! request, approve and revoke, which call the exceptions API (so the same rules apply and
//! every change is an entry in the log).

use std::fmt::Write;

use axum::extract::State;
use axum::response::Html;

use crate::html::{self, artifact, badge, esc, query_value, time, vulnerability};
use crate::page::PageResult;
use crate::state::Pages as AppState;
use dossier_log::own::now_nanos;

pub(super) async fn page(State(s): State<AppState>) -> PageResult {
    let now = now_nanos();
    let rules = s.views.exceptions.rules();
    let mut list: Vec<dossier_exceptions::Exception> = s.views.exceptions.read().all().cloned().collect();
    list.sort_by_key(|e| std::cmp::Reverse(e.requested.at_nanos));
    let mut rows = Vec::new();
    for e in &list {
        let state = e.state(now, &rules).to_string();
        let mut scope = String::new();
        for a in &e.scope.artifacts {
            let _ = write!(scope, "{} ", if a.contains('*') { format!(r#"<span class="mono">{}</span>"#, esc(a)) } else { artifact(a) });
        }
        let mut people = format!("asked by {}", esc(&e.requested.by));
        if let Some(a) = &e.approved {
            let _ = write!(people, ", approved by {}", esc(&a.by));
        }
        if let Some(r) = &e.revoked {
            let _ = write!(people, ", revoked by {}", esc(&r.by));
        }
        let act = match state.as_str() {
            "requested" => format!(
                r#"<form data-api="/api/v1/exceptions/{id}/approve" aria-label="Approve {id}"><label for="ap-{id}">Comment</label><input id="ap-{id}" name="comment"> <button type="submit">Approve as you</button><span class="result" tabindex="-1" role="alert"></span></form>"#,
                id = esc(&e.id)
            ),
            "active" => format!(
                r#"<form data-api="/api/v1/exceptions/{id}/revoke" aria-label="Revoke {id}"><label for="rr-{id}">Why</label><input id="rr-{id}" name="reason" required> <button type="submit">Revoke</button><span class="result" tabindex="-1" role="alert"></span></form>"#,
                id = esc(&e.id)
            ),
            _ => String::new(),
        };
        let ticket = e.ticket.as_deref().map(ticket_link).unwrap_or_default();
        rows.push(vec![
            format!(r#"<span id="{0}" class="mono">{0}</span>"#, esc(&e.id)),
            badge("st", &state),
            format!(
                "{}{}{}<br>{}",
                e.scope.vulnerabilities.iter().map(|v| vulnerability(v)).collect::<Vec<_>>().join(", "),
                if e.scope.policies.is_empty() {
                    String::new()
                } else {
                    format!(
                        " policies: {}",
                        e.scope
                            .policies
                            .iter()
                            .map(|p| format!(r#"<a href="/ui/policies#{0}">{0}</a>"#, esc(p)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                if e.scope.environments.is_empty() {
                    String::new()
                } else {
                    format!(
                        " in {}",
                        e.scope
                            .environments
                            .iter()
                            .map(|x| format!(r##"<a href="/ui/environments#{}">{}</a>"##, esc(&query_value(x)), esc(x)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                scope
            ),
            format!("{}{ticket}", esc(&e.reason)),
            people,
            time(&e.expires),
            act,
        ]);
    }
    let approval = match (rules.approval_required, rules.distinct_approver) {
        (false, _) => "in force as soon as requested".to_owned(),
        (true, true) => "in force once approved by someone other than the requester".to_owned(),
        (true, false) => "in force once approved".to_owned(),
    };
    let body = format!(
        r#"<h1>Exceptions</h1><p class="lead">Waivers of findings or policy rules, each with a reason and an expiry of at most {max} days; {approval}. Every change is an entry in the evidence log.</p>
<section class="panel" aria-labelledby="h-new"><h2 id="h-new">Request an exception</h2>
<form class="stack" data-api="/api/v1/exceptions" aria-labelledby="h-new">
<div><label for="x-v">Vulnerabilities (comma-separated)</label><input id="x-v" name="vulnerabilities" data-list placeholder="CVE-2021-23337"></div>
<div><label for="x-a">Artifacts, purls or globs (comma-separated)</label><input id="x-a" name="artifacts" data-list required placeholder="pkg:oci/shop@*"></div>
<div><label for="x-e">Environments (comma-separated; all when empty)</label><input id="x-e" name="environments" data-list placeholder="prod-eu-1"></div>
<div><label for="x-p">Policies waived (comma-separated)</label><input id="x-p" name="policies" data-list placeholder="licence_allowlist"></div>
<div><label for="x-r">Reason</label><input id="x-r" name="reason" required></div>
<div><label for="x-x">Expires</label><input id="x-x" name="expires" type="datetime-local" required></div>
<div><label for="x-t">Ticket link</label><input id="x-t" name="ticket" type="url" placeholder="https://tracker.example.com/SEC-42"></div>
<div><button class="primary" type="submit">Request</button> <span class="result" tabindex="-1" role="alert"></span></div>
</form></section>
<section class="panel" aria-labelledby="h-list"><h2 id="h-list">All exceptions</h2>{table}</section>"#,
        max = rules.max_days,
        table = html::table(
            "exceptions",
            &["Id", "State", "Waives", "Reason", "People", "Expires", ""],
            &rows,
            "No exception yet. Request one above, or import a VEX document's statements: <code>dossier exception from-vex</code>."
        )
    );
    Ok(Html(html::page("Exceptions", "/ui/exceptions", &body)))
}

/// A ticket as a link when it is an http(s) URL, else as text: a ticket in the log from before
/// requests were checked must not become a `javascript:` link.
fn ticket_link(ticket: &str) -> String {
    if dossier_exceptions::is_web_link(ticket) {
        format!(r#" <a href="{0}" rel="noopener noreferrer">{0}</a>"#, esc(ticket))
    } else {
        format!(" {}", esc(ticket))
    }
}

#[cfg(test)]
mod ticket_tests {
    use super::ticket_link;

    #[test]
    fn only_web_addresses_become_links() {
        assert_eq!(
            ticket_link("https://tracker.example.com/SEC-42"),
            r#" <a href="https://tracker.example.com/SEC-42" rel="noopener noreferrer">https://tracker.example.com/SEC-42</a>"#
        );
        assert_eq!(ticket_link("javascript:alert(document.domain)"), " javascript:alert(document.domain)");
        assert!(!ticket_link("data:text/html,<script>alert(1)</script>").contains("<a"));
    }
}
