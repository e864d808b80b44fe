//! One trusted issuer, as the server's configuration file gives it (`[[oidc]]`), and its
//! checked, compiled form.

use crate::Scope;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::template::{check_claim_name, glob_escape, Template};
use crate::{Pattern, PrincipalName, Scopes};

/// The leeway given to `exp`, `nbf` and `iat` when a configuration names none.
pub const DEFAULT_LEEWAY_SECONDS: u32 = 60;
/// The largest leeway a configuration may give.
pub const MAX_LEEWAY_SECONDS: u32 = 600;

/// One `[[oidc]]` table: an issuer whose JWTs are accepted, and how their claims map to a
/// principal. See the [module documentation](super) for examples.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` claim, compared exactly.
    pub issuer: String,
    /// One audience or a list: a JWT's `aud` must contain one of them.
    pub audience: Audiences,
    /// Where the issuer's JWK Set is: an `https://` URL or a file path (see
    /// [`IssuerConfig::jwks_source`]).
    pub jwks: String,
    /// The principal's name, e.g. `github:{repository}`.
    pub principal: String,
    /// Templates of the `context.source` patterns the principal may send events from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Templates of the artifact patterns the principal may send documents about.
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// The scopes every principal of this issuer gets.
    pub scopes: Scopes,
    /// Claims that must be strings matching these globs (`*` within a `/` segment, `**` across).
    #[serde(default)]
    pub claims: BTreeMap<String, String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, at most [`MAX_LEEWAY_SECONDS`].
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u32,
}

fn default_leeway() -> u32 {
    DEFAULT_LEEWAY_SECONDS
}

/// The accepted audiences: a TOML string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Audiences(pub Vec<String>);

impl Audiences {
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn contains(&self, aud: &str) -> bool {
        self.0.iter().any(|a| a == aud)
    }
}

impl<'de> Deserialize<'de> for Audiences {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Audiences, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Audiences;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an audience or a list of audiences")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Audiences, E> {
                Ok(Audiences(vec![v.to_owned()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Audiences, A::Error> {
                let mut all = Vec::new();
                while let Some(a) = seq.next_element::<String>()? {
                    all.push(a);
                }
                Ok(Audiences(all))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Where an issuer's JWK Set is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksSource<'a> {
    /// Fetched (and refreshed) over HTTPS.
    Url(&'a str),
    /// Read from a file.
    File(&'a Path),
}

/// A configuration that cannot be used: which issuer, which field, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[[oidc]] issuer {issuer:?}: {field}: {reason}")]
pub struct ConfigError {
    pub issuer: String,
    pub field: String,
    pub reason: String,
}

/// An issuer's configuration, checked and compiled.
#[derive(Debug, Clone)]
pub(crate) struct Issuer {
    pub(crate) config: IssuerConfig,
    pub(crate) principal: Template,
    pub(crate) sources: Vec<Template>,
    pub(crate) artifacts: Vec<Template>,
    pub(crate) claims: Vec<(String, Pattern)>,
}

/// What a placeholder is replaced with when a configuration is checked.
const SAMPLE: &str = "sample";

impl IssuerConfig {
    /// Whether [`IssuerConfig::jwks`] is a URL or a file (an `https://` URL, else a path).
    pub fn jwks_source(&self) -> JwksSource<'_> {
        if self.jwks.starts_with("https://") {
            JwksSource::Url(&self.jwks)
        } else {
            JwksSource::File(Path::new(&self.jwks))
        }
    }

    /// Checks what can be checked before any JWT: each field, each template (filled with a
    /// sample value), each pattern.
    pub fn validate(&self) -> Result<(), ConfigError> {
        Issuer::compile(self.clone()).map(drop)
    }

    fn error(&self, field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError { issuer: self.issuer.clone(), field: field.into(), reason: reason.into() }
    }
}

impl Issuer {
    pub(crate) fn compile(config: IssuerConfig) -> Result<Issuer, ConfigError> {
        let c = &config;
        if c.issuer.is_empty() {
            return Err(c.error("issuer", "is empty; give the exact iss of the issuer's JWTs"));
        }
        if c.issuer.trim() != c.issuer || c.issuer.chars().any(char::is_control) {
            return Err(c.error("issuer", "has surrounding spaces or a control character; iss is compared exactly"));
        }
        if c.audience.0.is_empty() {
            return Err(c.error("audience", "names no audience; give the aud the JWTs are issued for"));
        }
        if let Some(i) = c.audience.0.iter().position(String::is_empty) {
            return Err(c.error(format!("audience[{i}]"), "is empty"));
        }
        if c.jwks.is_empty() {
            return Err(c.error("jwks", "is empty; give an https:// URL or a file path"));
        }
        if let Some((scheme, _)) = c.jwks.split_once("://").filter(|(scheme, _)| *scheme != "https") {
            return Err(c.error("jwks", format!("is a {scheme}:// URL; a JWK Set is fetched over https:// only, or read from a file path")));
        }
        if c.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(c.error("leeway_seconds", format!("{} is more than {MAX_LEEWAY_SECONDS}", c.leeway_seconds)));
        }
        let template = |field: String, text: &str| Template::parse(text).map_err(|reason| c.error(field, reason));
        let principal = template("principal".into(), &c.principal)?;
        let sample = principal.render::<()>(|_| Ok(SAMPLE.into())).expect("a sample renders");
        PrincipalName::new(&sample).map_err(|e| c.error("principal", format!("with {SAMPLE} for each claim: {e}")))?;
        let patterns = |field: &str, texts: &[String]| -> Result<Vec<Template>, ConfigError> {
            let mut all = Vec::with_capacity(texts.len());
            for (i, text) in texts.iter().enumerate() {
                let field = format!("{field}[{i}]");
                let t = template(field.clone(), text)?;
                let sample = t.render::<()>(|_| Ok(glob_escape(SAMPLE))).expect("a sample renders");
                Pattern::new(&sample).map_err(|e| c.error(field.clone(), format!("with {SAMPLE} for each claim: {e}")))?;
                if !t.has_claims() && c.claims.is_empty() {
                    return Err(c.error(
                        field,
                        format!(
                            "{text:?} names no claim and no [claims] requirement narrows who gets it: every workload that {} signs for would get it; add a claims requirement (e.g. repository_owner) or a {{claim}} in the pattern",
                            c.issuer
                        ),
                    ));
                }
                all.push(t);
            }
            Ok(all)
        };
        // An issuer like GitHub's signs for every repository in the world: a scope no pattern
        // narrows (read, exceptions, policies, gate, admin) needs a claims requirement saying
        // whose workloads get it.
        let unbounded: Vec<&str> =
            c.scopes.iter().filter(|s| !matches!(s, Scope::EventsWrite | Scope::DocumentsWrite)).map(Scope::as_str).collect();
        if !unbounded.is_empty() && c.claims.is_empty() {
            return Err(c.error(
                "claims",
                format!(
                    "is empty, yet the scopes {} are not narrowed by any pattern: every workload {} signs for would get them; require claims (e.g. repository_owner = \"acme\")",
                    unbounded.join(", "),
                    c.issuer
                ),
            ));
        }
        let sources = patterns("sources", &c.sources)?;
        let artifacts = patterns("artifacts", &c.artifacts)?;
        if !principal.has_claims() && c.claims.is_empty() {
            return Err(c.error(
                "principal",
                format!(
                    "{:?} names no claim and no [claims] requirement narrows who it is: every workload that {} signs for would be it; add a {{claim}} (e.g. github:{{repository}}) or a claims requirement",
                    c.principal, c.issuer
                ),
            ));
        }
        let mut claims = Vec::with_capacity(c.claims.len());
        for (name, glob) in &c.claims {
            let field = format!("claims.{name}");
            check_claim_name(name).map_err(|reason| c.error(field.clone(), reason))?;
            claims.push((name.clone(), Pattern::new(glob).map_err(|e| c.error(field, e.to_string()))?));
        }
        Ok(Issuer { principal, sources, artifacts, claims, config })
    }
}
