//! The [`Principal`] a request is made by: a name that goes into the log as the entry's
//! sender, the scopes its credential grants and the sources and artifacts it may write about.

use std::fmt;

use crate::{Patterns, Scope, Scopes};

/// A principal's name: 1 to 200 characters among letters, digits and `. _ - : @ / +`. The same
/// name is the same principal, whichever credential it came with (a person's two tokens are
/// one person: they cannot approve their own exception with the other).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct PrincipalName(String);

/// A name that cannot be a principal's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("name {given:?} {reason}; a principal's name is 1 to 200 letters, digits and . _ - : @ / +")]
pub struct BadName {
    pub given: String,
    pub reason: &'static str,
}

impl PrincipalName {
    pub fn new(name: &str) -> Result<PrincipalName, BadName> {
        let bad = |reason| BadName { given: name.to_owned(), reason };
        if name.is_empty() {
            return Err(bad("is empty"));
        }
        if name.len() > 200 {
            return Err(bad("is too long"));
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-:@/+".contains(c)) {
            return Err(bad("has a character that is not allowed"));
        }
        Ok(PrincipalName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PrincipalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PrincipalName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PrincipalName, D::Error> {
        PrincipalName::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// How a principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An API token (its id, never its secret).
    Token { id: String },
    /// A JWT from a configured OIDC issuer.
    Oidc { issuer: String, subject: String },
    /// A message consumed from a NATS JetStream stream Dossier is configured to read: the
    /// operator vouches for who may publish to it.
    Bus { stream: String },
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Token { id } => write!(f, "token {id}"),
            Credential::Oidc { issuer, subject } => write!(f, "OIDC token of {issuer} for {subject}"),
            Credential::Bus { stream } => write!(f, "NATS JetStream stream {stream}"),
        }
    }
}

/// Who a request is made by, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: PrincipalName,
    pub credential: Credential,
    pub scopes: Scopes,
    /// The `context.source` values its events may carry (with `events:write`).
    pub sources: Patterns,
    /// The artifacts its documents may be about (with `documents:write`).
    pub artifacts: Patterns,
}

/// Why a principal may not do something (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("{principal} ({credential}) lacks the scope {scope}; it has: {has}")]
    Scope { principal: PrincipalName, credential: String, scope: Scope, has: String },
    #[error("{principal} may not send events from source {given:?}; its sources are {allowed}")]
    Source { principal: PrincipalName, given: String, allowed: String },
    #[error("{principal} may not send documents about {artifact:?}; its artifacts are {allowed}")]
    Artifact { principal: PrincipalName, artifact: String, allowed: String },
}

impl Principal {
    /// Whether the credential grants `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), Denied> {
        if self.scopes.contains(scope) {
            return Ok(());
        }
        let has = if self.scopes.is_empty() { "no scope".to_owned() } else { self.scopes.to_string() };
        Err(Denied::Scope { principal: self.name.clone(), credential: self.credential.to_string(), scope, has })
    }

    /// Whether it may send an event whose `context.source` is `source`.
    pub fn may_send_from(&self, source: &str) -> Result<(), Denied> {
        self.require(Scope::EventsWrite)?;
        if self.sources.matches(source) {
            return Ok(());
        }
        Err(Denied::Source { principal: self.name.clone(), given: source.to_owned(), allowed: self.sources.to_string() })
    }

    /// Whether it may send a document about `artifact`.
    pub fn may_send_about(&self, artifact: &str) -> Result<(), Denied> {
        self.require(Scope::DocumentsWrite)?;
        if self.artifacts.matches(artifact) {
            return Ok(());
        }
        Err(Denied::Artifact { principal: self.name.clone(), artifact: artifact.to_owned(), allowed: self.artifacts.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jenkins() -> Principal {
        Principal {
            name: PrincipalName::new("jenkins").unwrap(),
            credential: Credential::Token { id: "t-1".into() },
            scopes: [Scope::EventsWrite].into_iter().collect(),
            sources: Patterns::parse(&["/ci/jenkins/**"]).unwrap(),
            artifacts: Patterns::default(),
        }
    }

    #[test]
    fn a_producer_writes_its_own_sources_and_no_other() {
        let p = jenkins();
        assert_eq!(p.may_send_from("/ci/jenkins/build-7"), Ok(()));
        assert_eq!(
            p.may_send_from("/ci/github").unwrap_err().to_string(),
            "jenkins may not send events from source \"/ci/github\"; its sources are /ci/jenkins/**"
        );
        assert_eq!(
            p.may_send_about("pkg:oci/app").unwrap_err().to_string(),
            "jenkins (token t-1) lacks the scope documents:write; it has: events:write"
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(PrincipalName::new("github:acme/api@refs/heads/main").is_ok());
        assert_eq!(
            PrincipalName::new("bob smith").unwrap_err().to_string(),
            "name \"bob smith\" has a character that is not allowed; a principal's name is 1 to 200 letters, digits and . _ - : @ / +"
        );
        assert!(PrincipalName::new("").is_err());
        assert!(PrincipalName::new(&"a".repeat(201)).is_err());
    }
}
