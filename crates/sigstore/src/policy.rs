//! What a verifier expects of a signer: an identity and an OIDC issuer (each exactly, by a
//! pattern, or any), or a public key.

use crate::keys::PublicKey;

/// How an identity or an issuer is matched.
#[derive(Clone)]
pub enum Matcher {
    /// Anything: the value is recorded, not required (policies decide later).
    Any,
    Exact(String),
    /// A regular expression that must match the whole value.
    Pattern {
        source: String,
        regex: regex_lite::Regex,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pattern:?} is not a regular expression: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

impl Matcher {
    /// A pattern matched against the whole value (it is anchored at both ends).
    pub fn pattern(pattern: &str) -> Result<Matcher, PatternError> {
        let regex = regex_lite::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| PatternError { pattern: pattern.to_owned(), reason: e.to_string() })?;
        Ok(Matcher::Pattern { source: pattern.to_owned(), regex })
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Exact(s) => s == value,
            Matcher::Pattern { regex, .. } => regex.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Any => f.write_str("any"),
            Matcher::Exact(s) => write!(f, "exactly {s:?}"),
            Matcher::Pattern { source, .. } => write!(f, "matching /{source}/"),
        }
    }
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum Expected {
    /// A Fulcio certificate of this identity (SAN) and OIDC issuer.
    Identity { identity: Matcher, issuer: Matcher },
    /// This key (`key.pub`): a managed-key bundle, or a cosign key signature.
    Key(PublicKey),
}

impl Expected {
    /// Any certificate identity from any issuer, recorded for policies to judge.
    pub fn any_identity() -> Expected {
        Expected::Identity { identity: Matcher::Any, issuer: Matcher::Any }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_matches_the_whole_value() {
        let m = Matcher::pattern(r"https://github\.com/acme/.*").unwrap();
        assert!(m.matches("https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"));
        assert!(!m.matches("https://evil.example/https://github.com/acme/x"));
        let m = Matcher::pattern("a|b").unwrap();
        assert!(m.matches("a") && m.matches("b") && !m.matches("ab"), "alternatives are anchored too");
        assert!(Matcher::pattern("(").is_err());
    }

    #[test]
    fn exact_is_exact() {
        assert!(Matcher::Exact("x".into()).matches("x"));
        assert!(!Matcher::Exact("x".into()).matches("x "));
    }
}
