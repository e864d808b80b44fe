//! What a credential allows: a set of [`Scope`]s.

use std::fmt;
use std::str::FromStr;

/// One thing a credential may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Read everything: the API's queries, the dashboard, the audit report.
    Read,
    /// Send events, only under the `context.source` patterns the credential names.
    EventsWrite,
    /// Send documents, only about the artifacts the credential's patterns name.
    DocumentsWrite,
    /// Upload, remove and reload policies.
    PoliciesAdmin,
    /// Request exceptions.
    ExceptionsRequest,
    /// Approve (and revoke) exceptions.
    ExceptionsApprove,
    /// Ask the deployment gate.
    Gate,
    /// Create, list and revoke tokens.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::Read,
        Scope::EventsWrite,
        Scope::DocumentsWrite,
        Scope::PoliciesAdmin,
        Scope::ExceptionsRequest,
        Scope::ExceptionsApprove,
        Scope::Gate,
        Scope::Admin,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::EventsWrite => "events:write",
            Scope::DocumentsWrite => "documents:write",
            Scope::PoliciesAdmin => "policies:admin",
            Scope::ExceptionsRequest => "exceptions:request",
            Scope::ExceptionsApprove => "exceptions:approve",
            Scope::Gate => "gate",
            Scope::Admin => "admin",
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that is not one of [`Scope::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a scope; the scopes are {}", Scope::ALL.map(Scope::as_str).join(", "))]
pub struct UnknownScope {
    pub given: String,
}

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Scope, UnknownScope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s).ok_or_else(|| UnknownScope { given: s.to_owned() })
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scope, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of scopes.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u16);

impl Scopes {
    pub const NONE: Scopes = Scopes(0);

    /// Every scope.
    pub fn all() -> Scopes {
        Scope::ALL.into_iter().collect()
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Scopes {
        let mut scopes = Scopes::NONE;
        for s in iter {
            scopes.insert(s);
        }
        scopes
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(" "))
    }
}

impl serde::Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> serde::Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scopes, D::Error> {
        Ok(Vec::<Scope>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_reads_back_from_its_name() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert_eq!(
            "event:write".parse::<Scope>().unwrap_err().to_string(),
            "\"event:write\" is not a scope; the scopes are read, events:write, documents:write, policies:admin, exceptions:request, exceptions:approve, gate, admin"
        );
    }

    #[test]
    fn a_set_holds_what_was_put_in_and_nothing_else() {
        let s: Scopes = [Scope::Read, Scope::Gate].into_iter().collect();
        assert!(s.contains(Scope::Read) && s.contains(Scope::Gate) && !s.contains(Scope::Admin));
        assert_eq!(s.to_string(), "read gate");
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"["read","gate"]"#);
        assert_eq!(serde_json::from_str::<Scopes>(r#"["gate","read"]"#).unwrap(), s);
        assert_eq!(Scopes::all().iter().count(), Scope::ALL.len());
    }
}
