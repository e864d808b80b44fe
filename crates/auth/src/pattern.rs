//! What a credential may write about: `context.source` patterns for events, artifact patterns
//! for documents. A pattern is a glob over the whole string where `*` stays within one
//! `/`-separated segment and `**` crosses them: `/ci/jenkins/**` is every source under
//! `/ci/jenkins/`, `https://github.com/acme/*` every repository of `acme`, `**` everything.

use std::fmt;

/// One glob, compiled.
#[derive(Clone)]
pub struct Pattern {
    text: String,
    matcher: globset::GlobMatcher,
}

/// A glob that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pattern {pattern:?}: {reason}")]
pub struct BadPattern {
    pub pattern: String,
    pub reason: String,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, BadPattern> {
        let bad = |reason: String| BadPattern { pattern: text.to_owned(), reason };
        if text.is_empty() {
            return Err(bad("is empty; give a source or an artifact, or ** for all".into()));
        }
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| bad(e.kind().to_string()))?;
        Ok(Pattern { text: text.to_owned(), matcher: glob.compile_matcher() })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `candidate` matches. A candidate with a `.` or `..` path segment matches only
    /// `**`: `/ci/jenkins/../github` must not pass for a source under `/ci/jenkins/`.
    pub fn matches(&self, candidate: &str) -> bool {
        self.text == "**" || (!has_dot_segment(candidate) && self.matcher.is_match(candidate))
    }
}

fn has_dot_segment(s: &str) -> bool {
    s.split(['/', '\\']).any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

/// Several patterns; a string is allowed when one of them matches. None: nothing is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patterns(Vec<Pattern>);

impl Patterns {
    /// Every string.
    pub fn any() -> Patterns {
        Patterns(vec![Pattern::new("**").expect("** is a pattern")])
    }

    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<Patterns, BadPattern> {
        texts.iter().map(|t| Pattern::new(t.as_ref())).collect::<Result<_, _>>().map(Patterns)
    }

    pub fn matches(&self, candidate: &str) -> bool {
        self.0.iter().any(|p| p.matches(candidate))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn texts(&self) -> Vec<&str> {
        self.0.iter().map(Pattern::as_str).collect()
    }
}

impl fmt::Display for Patterns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&self.texts().join(", "))
    }
}

impl serde::Serialize for Patterns {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Pattern::as_str))
    }
}

impl<'de> serde::Deserialize<'de> for Patterns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Patterns, D::Error> {
        Patterns::parse(&Vec::<String>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_double_star_crosses_segments_and_a_single_star_does_not() {
        let jenkins = Patterns::parse(&["/ci/jenkins/**"]).unwrap();
        assert!(jenkins.matches("/ci/jenkins/job/build"));
        assert!(jenkins.matches("/ci/jenkins/x"));
        assert!(!jenkins.matches("/ci/github"));
        assert!(!jenkins.matches("/ci/jenkinsfoo/x"));
        assert!(!jenkins.matches("/ci/jenkins/../github"), "a dot segment leaves the namespace");
        assert!(!jenkins.matches("/ci/jenkins/%2E%2E/github"));
        assert!(jenkins.matches("/ci/jenkins/v1.2/x"), "dots inside a segment are fine");
        let org = Patterns::parse(&["https://github.com/acme/*"]).unwrap();
        assert!(org.matches("https://github.com/acme/api"));
        assert!(!org.matches("https://github.com/acme/api/actions"));
        assert!(!org.matches("https://github.com/evil/acme"));
        assert!(Patterns::any().matches("anything/at/all"));
        assert!(!Patterns::default().matches("/ci/jenkins/x"), "no pattern allows nothing");
    }

    #[test]
    fn a_bad_pattern_is_refused_with_the_reason() {
        assert_eq!(
            Patterns::parse(&["/ci/[jenkins"]).unwrap_err().to_string(),
            "pattern \"/ci/[jenkins\": unclosed character class; missing ']'"
        );
        assert!(Patterns::parse(&[""]).is_err());
    }
}
