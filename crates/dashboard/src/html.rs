//! HTML for the dashboard: escaping, the one page layout, and the few widgets every page uses.
//! Every string that comes from data passes through [`esc`]; markup is only ever built here
//! and in the pages from escaped parts.

use std::fmt::Write;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Escapes a query parameter's value (percent-encoding what is not unreserved).
pub fn query_value(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// The pages of the side navigation: path, label.
const NAV: [(&str, &str); 8] = [
    ("/ui", "Overview"),
    ("/ui/events", "Events"),
    ("/ui/vulnerabilities", "Vulnerabilities"),
    ("/ui/impact", "Vulnerability impact"),
    ("/ui/environments", "Environments"),
    ("/ui/policies", "Policies"),
    ("/ui/exceptions", "Exceptions"),
    ("/ui/audit", "Audit"),
];

/// A whole page: the layout around `body`, `active` naming the navigation entry.
pub fn page(title: &str, active: &str, body: &str) -> String {
    let viewer = crate::state::viewer();
    let csrf = viewer.csrf.as_deref().map(|t| format!(r#"<meta name="csrf-token" content="{}">"#, esc(t))).unwrap_or_default();
    let mut account = String::new();
    if let Some((name, scopes)) = &viewer.who {
        let _ = write!(
            account,
            r#"<div class="account"><span>Signed in as <strong>{}</strong> <small>({})</small></span>"#,
            esc(name),
            esc(scopes)
        );
        if let Some(token) = &viewer.csrf {
            let _ = write!(
                account,
                r#"<form action="/ui/signout" method="post"><input type="hidden" name="csrf" value="{}"><button type="submit">Sign out</button></form>"#,
                esc(token)
            );
        }
        account.push_str("</div>");
    }
    let insecure = if viewer.insecure {
        r#"<p class="insecure" role="alert">This Dossier is served without TLS on a network address (started with --insecure): tokens, sessions and evidence cross the network in clear text.</p>"#
    } else {
        ""
    };
    let mut nav = String::new();
    for (path, label) in NAV {
        let current = if path == active { r#" aria-current="page""# } else { "" };
        let _ = write!(nav, r#"<li><a href="{path}"{current}>{label}</a></li>"#);
    }
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Dossier</title>
{csrf}
<link rel="stylesheet" href="/ui/assets/dossier.css">
<link rel="icon" href="/ui/assets/favicon.svg" type="image/svg+xml">
<script src="/ui/assets/dossier.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the content</a>
<nav class="side" aria-label="Dashboard">
<div class="brand">Dossier<small>evidence for software delivery</small></div>
<ul>{nav}</ul>
</nav>
<div>
{insecure}<header class="top">
{account}<form action="/ui/search" method="get" role="search">
<label for="find" class="skip">Artifact name or purl, or vulnerability id</label>
<input id="find" name="q" type="search" placeholder="shop, pkg:oci/shop@sha256:… or CVE-…" required>
<button type="submit">Open</button>
</form>
</header>
<main id="main">
{body}
</main>
</div>
</body>
</html>
"##,
        title = esc(title)
    )
}

/// A time, shown in the viewer's zone by the page's script (UTC without it).
pub fn time(rfc3339: &str) -> String {
    format!(r#"<time datetime="{0}">{0}</time>"#, esc(rfc3339))
}

/// A link to an artifact's dossier, its purl breakable at its parts.
pub fn artifact(purl: &str) -> String {
    format!(r#"<a class="mono" href="/ui/artifact?purl={}">{}</a>"#, query_value(purl), breakable(purl))
}

/// Digits or letters in a row before a line may break among them.
const RUN: usize = 16;

/// An id escaped, with places a line may break (`<wbr>`) after its separators (`/ @ : ? & ,`)
/// and every [`RUN`] characters of a long run of letters and digits (a digest), so that a
/// column holding it wraps it at sensible points and is never narrower than that.
pub fn breakable(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + id.len() / 8);
    let mut run = 0;
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            if run == RUN {
                out.push_str("<wbr>");
                run = 0;
            }
            run += 1;
        } else {
            run = 0;
        }
        out.push_str(&esc(c.encode_utf8(&mut [0; 4])));
        if matches!(c, '/' | '@' | ':' | '?' | '&' | ',') {
            out.push_str("<wbr>");
        }
    }
    out
}

/// A link to a vulnerability's page (by any of its ids).
pub fn vulnerability(id: &str) -> String {
    format!(r#"<a class="mono" href="/ui/vulnerabilities/{}">{}</a>"#, query_value(id), esc(id))
}

/// Where an environment comes in a list: production ones first (`prod`, `production`,
/// `prod-eu-1`, `eu-prod`, `live`; not `preprod` or `nonprod`), then staging, then the others.
pub fn stage(env: &str) -> u8 {
    let words: Vec<String> = env.to_ascii_lowercase().split(|c: char| !c.is_ascii_alphanumeric()).map(str::to_owned).collect();
    if words.iter().any(|w| w == "prod" || w == "production" || w == "prd" || w == "live") {
        0
    } else if words.iter().any(|w| w == "staging" || w == "stage" || w == "stg") {
        1
    } else {
        2
    }
}

/// The states the dashboard marks with a label (`st-<state>` in the stylesheet), besides the
/// runs' (`RunState`) and exceptions' own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A signature or attestation whose check verified.
    Verified,
    /// One whose check did not, or that was never checked.
    Unverified,
    /// A vulnerability an exception or a VEX statement waives there.
    Waived,
    Quarantined,
    /// A deployment a policy denied.
    Denied,
    /// An exception about to expire.
    Expiring,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Verified => "verified",
            Mark::Unverified => "unverified",
            Mark::Waived => "waived",
            Mark::Quarantined => "quarantined",
            Mark::Denied => "denied",
            Mark::Expiring => "expiring",
        }
    }
}

/// The label of a state.
pub fn mark(m: Mark) -> String {
    badge("st", m.as_str())
}

/// A coloured label: `kind` is a CSS class prefix (`sev`, `st`), `value` its text.
pub fn badge(kind: &str, value: &str) -> String {
    format!(r#"<span class="badge {kind}-{}">{}</span>"#, esc(&value.to_ascii_lowercase()), esc(value))
}

/// What to show instead of an empty table: what it would hold and what to do next (HTML).
pub fn empty(message: &str) -> String {
    format!(r#"<p class="empty">{message}</p>"#)
}

/// A data table (sortable, filterable, paged by the script). Cells are HTML, already escaped.
pub fn table(id: &str, headers: &[&str], rows: &[Vec<String>], when_empty: &str) -> String {
    table_of(id, headers, rows, when_empty, &Total::default())
}

/// What a table's one pager says besides its own rows: how many there are in all when the
/// page holds only the first of them, what to do to see others, and the next page's link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Total {
    /// Rows in all, when more than the table holds.
    pub of: Option<usize>,
    /// What to do to see the others (text).
    pub hint: Option<String>,
    /// The link to the next rows, served as a page of their own.
    pub next: Option<String>,
}

/// [`table`], its pager saying `total`. Without the script the pager's words and link show
/// under the table as they are.
pub fn table_of(id: &str, headers: &[&str], rows: &[Vec<String>], when_empty: &str, total: &Total) -> String {
    if rows.is_empty() {
        return empty(when_empty);
    }
    let mut data = String::new();
    if let Some(of) = total.of.filter(|&of| of > rows.len()) {
        let _ = write!(data, r#" data-total="{of}""#);
    }
    if let Some(hint) = &total.hint {
        let _ = write!(data, r#" data-hint="{}""#, esc(hint));
    }
    if let Some(next) = &total.next {
        let _ = write!(data, r#" data-next="{}""#, esc(next));
    }
    let mut out = format!(
        r#"<div class="tools"><label for="{id}-filter" class="skip">Filter</label><input id="{id}-filter" data-filter="{id}" type="search" placeholder="Filter these rows"></div><table class="data" id="{id}"{data}><thead><tr>"#
    );
    for h in headers {
        let _ = write!(out, r#"<th scope="col">{}</th>"#, esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    // The pager's words, for a page read without the script (which makes them its pager's).
    let mut said = Vec::new();
    if let Some(of) = total.of.filter(|&of| of > rows.len()) {
        said.push(format!("The first {} of {of}.", rows.len()));
    }
    if let Some(hint) = &total.hint {
        said.push(esc(hint));
    }
    if let Some(next) = &total.next {
        said.push(format!(r#"<a href="{}">Next rows →</a>"#, esc(next)));
    }
    if !said.is_empty() {
        let _ = write!(out, r#"<p class="pager-static" data-for="{id}">{}</p>"#, said.join(" "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_comes_first_then_staging_and_a_word_inside_a_name_does_not_count() {
        let stages: Vec<(&str, u8)> =
            ["prod", "prod-eu-1", "eu-production", "live", "staging", "stg-2", "preprod", "nonprod", "cluster-0", "product-x"]
                .into_iter()
                .map(|e| (e, stage(e)))
                .collect();
        assert_eq!(
            stages,
            [
                ("prod", 0),
                ("prod-eu-1", 0),
                ("eu-production", 0),
                ("live", 0),
                ("staging", 1),
                ("stg-2", 1),
                ("preprod", 2),
                ("nonprod", 2),
                ("cluster-0", 2),
                ("product-x", 2)
            ]
        );
    }

    #[test]
    fn data_cannot_become_markup() {
        assert_eq!(esc(r#"<script>alert("x")</script> & 'y'"#), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
        assert_eq!(query_value("pkg:oci/a@sha256%3Aab&x=1"), "pkg%3Aoci%2Fa%40sha256%253Aab%26x%3D1");
        assert_eq!(
            artifact("pkg:oci/<a>"),
            r#"<a class="mono" href="/ui/artifact?purl=pkg%3Aoci%2F%3Ca%3E">pkg:<wbr>oci/<wbr>&lt;a&gt;</a>"#
        );
        assert_eq!(vulnerability("CVE-1/<x>"), r#"<a class="mono" href="/ui/vulnerabilities/CVE-1%2F%3Cx%3E">CVE-1/&lt;x&gt;</a>"#);
    }

    #[test]
    fn an_id_breaks_after_its_separators_and_in_long_digests_only() {
        assert_eq!(
            breakable("pkg:oci/shop@sha256:0123456789abcdef0123456789abcdef01?arch=<x>"),
            "pkg:<wbr>oci/<wbr>shop@<wbr>sha256:<wbr>0123456789abcdef<wbr>0123456789abcdef<wbr>01?<wbr>arch=&lt;x&gt;"
        );
        assert_eq!(breakable("svc-12"), "svc-12");
    }

    #[test]
    fn a_table_of_the_first_rows_says_how_many_there_are_and_where_the_next_are() {
        let rows = vec![vec!["1".to_string()], vec!["2".to_string()]];
        let total = Total { of: Some(40), hint: Some("Narrow the <search>.".into()), next: Some("/ui/events?after=2&x=1".into()) };
        let t = table_of("t", &["seq"], &rows, "", &total);
        assert!(t.contains(r#"<table class="data" id="t" data-total="40" data-hint="Narrow the &lt;search&gt;." data-next="/ui/events?after=2&amp;x=1">"#), "{t}");
        assert!(t.ends_with(r#"<p class="pager-static" data-for="t">The first 2 of 40. Narrow the &lt;search&gt;. <a href="/ui/events?after=2&amp;x=1">Next rows →</a></p>"#), "{t}");
        assert!(
            !table_of("t", &["seq"], &rows, "", &Total { of: Some(2), ..Total::default() }).contains("pager-static"),
            "all of them: nothing more to say"
        );
    }

    #[test]
    fn an_empty_table_says_what_to_do_instead() {
        assert_eq!(table("t", &["a"], &[], "No events yet: send one."), r#"<p class="empty">No events yet: send one.</p>"#);
        let t = table("t", &["seq"], &[vec!["1".into()]], "");
        assert!(t.contains(r#"<th scope="col">seq</th>"#) && t.contains("<td>1</td>") && t.contains(r#"data-filter="t""#));
    }
}
