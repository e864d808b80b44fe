//! Event queries: filters, order and cursor pagination.

/// A type filter: an exact type, or a glob with `*` such as `dev.cdevents.artifact.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypePattern(pub String);

impl TypePattern {
    /// The pattern as a case-sensitive `GLOB` pattern (SQLite's; `*` matches any run).
    pub fn to_glob(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 2);
        for c in self.0.chars() {
            match c {
                '?' => out.push_str("[?]"),
                '[' => out.push_str("[[]"),
                c => out.push(c),
            }
        }
        out
    }
}

impl TypePattern {
    /// Whether `ty` matches, with `*` matching any run of characters.
    pub fn matches(&self, ty: &str) -> bool {
        dossier_core::glob_match(&self.0, ty)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    OldestFirst,
    NewestFirst,
}

/// Which events to list. Every filter that is set must match.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub types: Vec<TypePattern>,
    pub subject: Option<String>,
    pub source: Option<String>,
    pub chain: Option<String>,
    /// Events naming this artifact: the subject of artifact events and every `artifactId`.
    /// Any spelling of a purl finds them: stores compare it as
    /// [`dossier_core::artifact_name`] names it, as [`Event::artifacts`](dossier_core::Event)
    /// holds them.
    pub artifact: Option<String>,
    /// `context.timestamp` at or after, in nanoseconds since the epoch.
    pub since: Option<i64>,
    /// `context.timestamp` before, in nanoseconds since the epoch.
    pub until: Option<i64>,
    pub order: Order,
    /// Continue after this entry (exclusive), in `order`.
    pub after: Option<u64>,
    /// Only entries before this one (exclusive): with `after`, a range of the log, such as
    /// the entries received in a period.
    pub before: Option<u64>,
    /// Leave Dossier's records out ([`dossier_core::own::is_record`]: policy decisions, timers,
    /// gate decisions and what the gate keeps), as the timeline policies read does: an artifact
    /// asked about often would otherwise have its history buried under its answers. Stores test
    /// it on the type and source columns, without reading an entry.
    pub without_records: bool,
    pub limit: usize,
}

/// The most events one page holds.
pub const MAX_PAGE: usize = 1000;

const QUERY_PARAMS: &str = "type, subject, source, chain, artifact, since, until, order, limit, after";

/// Parses an RFC 3339 parameter, naming it in the error.
pub fn parse_time_param(name: &str, value: &str) -> Result<i64, String> {
    dossier_core::event::parse_timestamp(value)
        .ok_or_else(|| format!("parameter {name}: {value:?} is not an RFC 3339 date-time such as 2026-01-31T12:00:00Z"))
}

impl EventQuery {
    /// A query from named parameters, as the events API and the `dossier.events` Rego function
    /// take them: `type` (comma-separated, `*` wildcards), `subject`, `source`, `chain`,
    /// `artifact`, `since`, `until` (RFC 3339), `order` (asc / desc), `limit` (1 to 1000,
    /// default 100), `after` (a cursor). The error names the parameter and what it accepts.
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<EventQuery, String> {
        let mut q = EventQuery { limit: 100, ..Default::default() };
        for (name, value) in params {
            match name {
                "type" => q.types = value.split(',').filter(|t| !t.is_empty()).map(|t| TypePattern(t.to_owned())).collect(),
                "subject" => q.subject = Some(value.to_owned()),
                "source" => q.source = Some(value.to_owned()),
                "chain" => q.chain = Some(value.to_owned()),
                "artifact" => q.artifact = Some(value.to_owned()),
                "since" => q.since = Some(parse_time_param(name, value)?),
                "until" => q.until = Some(parse_time_param(name, value)?),
                "order" => {
                    q.order = match value {
                        "asc" | "oldest" => Order::OldestFirst,
                        "desc" | "newest" => Order::NewestFirst,
                        _ => return Err(format!("parameter order: {value:?} is not asc or desc")),
                    }
                }
                "limit" => {
                    q.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE).contains(n))
                        .ok_or_else(|| format!("parameter limit: {value:?} is not a number from 1 to {MAX_PAGE}"))?
                }
                "after" => {
                    q.after = Some(
                        value.parse().map_err(|_| format!("parameter after: {value:?} is not a cursor (the `next` of a previous page)"))?,
                    )
                }
                other => return Err(format!("unknown parameter {other:?}; accepted: {QUERY_PARAMS}")),
            }
        }
        Ok(q)
    }

    /// Whether a newly appended event matches the filters (for live streams; cursors and
    /// order do not apply).
    pub fn matches(&self, e: &dossier_core::Event) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t.matches(e.event_type.as_str())))
            && self.subject.as_ref().is_none_or(|s| *s == e.subject_id)
            && self.source.as_ref().is_none_or(|s| *s == e.key.source)
            && self.chain.as_ref().is_none_or(|c| Some(c) == e.chain_id.as_ref())
            && self.artifact.as_deref().map(dossier_core::artifact_name).is_none_or(|a| e.artifacts.iter().any(|named| *named == a))
            && self.since.is_none_or(|t| e.time_unix_nanos >= t)
            && self.until.is_none_or(|t| e.time_unix_nanos < t)
            && !(self.without_records && dossier_core::own::is_record(e.event_type.as_str(), &e.key.source))
    }
}

/// One page of results; `next` continues the listing when there is more.
#[derive(Debug, Clone)]
pub struct Page {
    pub events: Vec<crate::StoredEvent>,
    pub next: Option<u64>,
}

impl Page {
    /// The page a query answers from what a store read for it: up to `limit + 1` entries in the
    /// query's order, one more than the page holds, to know whether there is a next.
    pub fn of(mut read: Vec<crate::StoredEvent>, limit: usize) -> Page {
        let next = if read.len() > limit {
            read.truncate(limit);
            read.last().map(|e| e.seq)
        } else {
            None
        };
        Page { events: read, next }
    }
}

impl Order {
    /// Entries read type by type (each type's in this order) merged into this order, the first
    /// `keep` kept: how a store answers a query by several types from one index per type.
    pub fn merge(self, mut read: Vec<crate::StoredEvent>, keep: usize) -> Vec<crate::StoredEvent> {
        match self {
            Order::OldestFirst => read.sort_by_key(|e| e.seq),
            Order::NewestFirst => read.sort_by_key(|e| std::cmp::Reverse(e.seq)),
        }
        read.truncate(keep);
        read
    }
}

#[cfg(test)]
mod tests {
    use super::TypePattern;

    #[test]
    fn type_patterns_match_like_globs() {
        let p = |s: &str| TypePattern(s.into());
        assert!(p("dev.cdevents.artifact.*").matches("dev.cdevents.artifact.packaged.0.3.0"));
        assert!(!p("dev.cdevents.artifact.*").matches("dev.cdevents.build.finished.0.3.0"));
        assert!(p("*.finished.*").matches("dev.cdevents.build.finished.0.3.0"));
        assert!(p("dev.cdevents.build.finished.0.3.0").matches("dev.cdevents.build.finished.0.3.0"));
        assert!(!p("dev.cdevents.build.finished").matches("dev.cdevents.build.finished.0.3.0"));
        assert!(p("a*ba").matches("aba"));
        assert!(!p("ab*ba").matches("aba"));
    }

    #[test]
    fn globs_keep_star_and_escape_other_wildcards() {
        assert_eq!(TypePattern("dev.cdevents.artifact.*".into()).to_glob(), "dev.cdevents.artifact.*");
        assert_eq!(TypePattern("a?b[c".into()).to_glob(), "a[?]b[[]c");
    }
}
