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
    pub artifact: Option<String>,
    /// `context.timestamp` at or after, in nanoseconds since the epoch.
    pub since: Option<i64>,
    /// `context.timestamp` before, in nanoseconds since the epoch.
    pub until: Option<i64>,
    pub order: Order,
    /// Continue after this entry (exclusive), in `order`.
    pub after: Option<u64>,
    pub limit: usize,
}

/// One page of results; `next` continues the listing when there is more.
#[derive(Debug, Clone)]
pub struct Page {
    pub events: Vec<crate::StoredEvent>,
    pub next: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::TypePattern;

    #[test]
    fn globs_keep_star_and_escape_other_wildcards() {
        assert_eq!(TypePattern("dev.cdevents.artifact.*".into()).to_glob(), "dev.cdevents.artifact.*");
        assert_eq!(TypePattern("a?b[c".into()).to_glob(), "a[?]b[[]c");
    }
}
