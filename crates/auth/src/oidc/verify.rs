//! Checking a JWT: its shape, its issuer, its key and algorithm (the key's, never the
//! header's), its signature, its audience and times, the issuer's claim requirements; then the
//! principal its claims map to.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::config::{ConfigError, Issuer, IssuerConfig};
use super::json::{self, kind};
use super::jwks::{Jwks, Key, SigningAlgorithm};
use super::template::{glob_escape, lookup, unsafe_value, Template};
use crate::pattern::BadPattern;
use crate::principal::{BadName, Credential};
use crate::{Patterns, Principal, PrincipalName};

/// The longest JWT read, in bytes; a longer one is refused before anything is decoded.
pub const MAX_JWT_BYTES: usize = 16 * 1024;
/// The longest piece of a JWT (a claim's value, an algorithm's name) repeated in a refusal.
const SHOWN: usize = 200;

/// Why a JWT was not accepted (401). Each message says what was wrong and with what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtRefusal {
    #[error("JWT is {len} bytes long; at most {max} are read")]
    TooLong { len: usize, max: usize },
    /// `part` is `token`, `header`, `claims` or `signature`.
    #[error("malformed JWT{}: {reason}", if *.part == "token" { String::new() } else { format!(" {}", .part) })]
    Malformed { part: &'static str, reason: String },
    #[error("no configured OIDC issuer is {given:?}; configured: {}", list(.configured))]
    UnknownIssuer { given: String, configured: Vec<String> },
    #[error("JWT algorithm {alg} is refused: {keys}; an unsigned JWT proves nothing")]
    AlgNone { alg: String, keys: String },
    #[error("JWT algorithm {alg} is refused: {keys}; HMAC would take a public key for a shared secret")]
    Hmac { alg: String, keys: String },
    #[error("JWT algorithm {alg:?} is not supported; the algorithms are {}", SigningAlgorithm::ALL.map(SigningAlgorithm::as_str).join(", "))]
    UnsupportedAlgorithm { alg: String },
    #[error("JWT algorithm {alg} is refused: {keys}")]
    AlgorithmMismatch { alg: SigningAlgorithm, keys: String },
    #[error("JWT header lists critical extensions ({crit}); none is understood here")]
    Critical { crit: String },
    /// The issuer's JWK Set has no key of that `kid`: it may have rotated its keys (see
    /// [`JwtRefusal::refresh_hint`]).
    #[error("{issuer} has no key {kid:?} (its keys: {}); its JWK Set may need refreshing", list(.known))]
    UnknownKey { issuer: String, kid: String, known: Vec<String> },
    /// The JWT names no `kid` and the issuer has no key of its algorithm.
    #[error("{issuer} has no {alg} key for a JWT without kid; its JWK Set may need refreshing")]
    NoKey { issuer: String, alg: SigningAlgorithm },
    #[error("JWT signature does not verify under {} ({alg})", match .kid { Some(kid) => format!("the key {kid:?} of {}", .issuer), None => format!("any key of {}", .issuer) })]
    BadSignature { issuer: String, kid: Option<String>, alg: SigningAlgorithm },
    #[error("JWT has no {claim} claim; {why}")]
    MissingClaim { claim: String, why: String },
    #[error("JWT claim {claim} is {found}, not {expected}; {why}")]
    ClaimType { claim: String, found: &'static str, expected: &'static str, why: String },
    #[error("JWT audience {given:?} does not include any of {expected:?}")]
    Audience { given: Vec<String>, expected: Vec<String> },
    #[error("JWT expired at {} (now {}, leeway {leeway} s)", rfc3339(*.at), rfc3339(*.now))]
    Expired { at: i64, now: i64, leeway: u32 },
    #[error("JWT is not valid before {} (now {}, leeway {leeway} s)", rfc3339(*.at), rfc3339(*.now))]
    NotYetValid { at: i64, now: i64, leeway: u32 },
    #[error("JWT was issued at {}, in the future (now {}, leeway {leeway} s)", rfc3339(*.at), rfc3339(*.now))]
    IssuedInFuture { at: i64, now: i64, leeway: u32 },
    #[error("JWT claim {claim} = {value:?} does not match {pattern:?}, which {issuer} requires")]
    ClaimMismatch { claim: String, value: String, pattern: String, issuer: String },
    #[error("JWT claim {claim} = {value:?} cannot go into {field}: {reason}")]
    ClaimValue { claim: String, value: String, field: String, reason: &'static str },
    #[error("JWT claims make an unusable principal name: {0}")]
    BadPrincipal(BadName),
    #[error("JWT claims make an unusable pattern: {0}")]
    BadPattern(BadPattern),
}

impl JwtRefusal {
    /// The issuer whose JWK Set lacks the key the JWT needs (an unknown `kid`, or no key of the
    /// algorithm): the caller may fetch that issuer's JWK Set again (rate-limited), replace it
    /// with [`Verifier::set_jwks`] and verify the JWT once more.
    pub fn refresh_hint(&self) -> Option<&str> {
        match self {
            JwtRefusal::UnknownKey { issuer, .. } | JwtRefusal::NoKey { issuer, .. } => Some(issuer),
            _ => None,
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(", ")
}

/// Seconds since 1970 as RFC 3339 (`2026-12-02T10:00:00Z`), or as the number when out of range.
fn rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{seconds} s after 1970"))
}

/// At most [`SHOWN`] characters of `text`, to repeat it in a refusal.
fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// What a JWT says of itself before anything is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peek {
    /// Its `iss` claim.
    pub issuer: String,
    /// Its header's `kid`.
    pub kid: Option<String>,
    /// Its header's `alg` (not trusted: the key decides).
    pub alg: String,
}

struct Decoded<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: &'a str,
    signature: &'a str,
}

fn malformed(part: &'static str, reason: impl Into<String>) -> JwtRefusal {
    JwtRefusal::Malformed { part, reason: reason.into() }
}

/// Splits and decodes a JWT, trusting nothing in it.
fn decode(jwt: &str) -> Result<Decoded<'_>, JwtRefusal> {
    if jwt.len() > MAX_JWT_BYTES {
        return Err(JwtRefusal::TooLong { len: jwt.len(), max: MAX_JWT_BYTES });
    }
    if jwt.is_empty() {
        return Err(malformed("token", "it is empty"));
    }
    if let Some((at, c)) = jwt.char_indices().find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')) {
        return Err(malformed("token", format!("it has {c:?} at byte {at}; a JWT is base64url parts separated by dots")));
    }
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header_b64, claims_b64, signature] = parts[..] else {
        let reason = if parts.len() == 5 {
            "it has 5 parts: an encrypted JWT (JWE) is not accepted, a signed one has 3".to_owned()
        } else {
            format!("it has {} parts; a signed JWT has 3: header.claims.signature", parts.len())
        };
        return Err(malformed("token", reason));
    };
    let object = |part: &'static str, b64: &str| {
        let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|e| malformed(part, format!("it is not base64url: {e}")))?;
        json::object(&bytes).map_err(|reason| malformed(part, reason))
    };
    let header = object("header", header_b64)?;
    let claims = object("claims", claims_b64)?;
    Ok(Decoded { header, claims, signing_input: &jwt[..header_b64.len() + 1 + claims_b64.len()], signature })
}

/// The string member `name` of a header, if there.
fn header_string<'a>(header: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, JwtRefusal> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(malformed("header", format!("its {name} is {}, not a string", kind(other)))),
    }
}

/// The string claim `name`, which `why` explains the need of.
fn string_claim<'a>(claims: &'a Value, name: &str, why: impl FnOnce() -> String) -> Result<&'a str, JwtRefusal> {
    match lookup(claims, name) {
        None => Err(JwtRefusal::MissingClaim { claim: name.to_owned(), why: why() }),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(JwtRefusal::ClaimType { claim: name.to_owned(), found: kind(other), expected: "a string", why: why() }),
    }
}

/// The NumericDate claim `name` (seconds since 1970; a fraction is dropped), if there.
fn date_claim(claims: &Value, name: &str, why: &str) -> Result<Option<i64>, JwtRefusal> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i,
            (None, Some(_), _) => i64::MAX,
            // `as` saturates: a huge or tiny float becomes i64::MAX or i64::MIN.
            (None, None, Some(f)) => f.floor() as i64,
            (None, None, None) => i64::MAX,
        })),
        Some(other) => Err(JwtRefusal::ClaimType {
            claim: name.to_owned(),
            found: kind(other),
            expected: "a number of seconds since 1970",
            why: why.to_owned(),
        }),
    }
}

/// What JWTs of which issuers are accepted, and the keys they are verified with.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    issuers: Vec<(Issuer, Jwks)>,
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// Adds an issuer (checked as [`IssuerConfig::validate`] does) with its keys; an issuer
    /// given twice is refused.
    pub fn add(&mut self, config: IssuerConfig, jwks: Jwks) -> Result<(), ConfigError> {
        if self.issuers.iter().any(|(i, _)| i.config.issuer == config.issuer) {
            return Err(ConfigError { issuer: config.issuer, field: "issuer".into(), reason: "is configured twice".into() });
        }
        self.issuers.push((Issuer::compile(config)?, jwks));
        Ok(())
    }

    /// Replaces an issuer's keys (after a refresh): the old ones, or `None` if the issuer is not
    /// configured.
    pub fn set_jwks(&mut self, issuer: &str, jwks: Jwks) -> Option<Jwks> {
        let (_, keys) = self.issuers.iter_mut().find(|(i, _)| i.config.issuer == issuer)?;
        Some(std::mem::replace(keys, jwks))
    }

    /// Each issuer's configuration and keys, in the order added.
    pub fn issuers(&self) -> impl Iterator<Item = (&IssuerConfig, &Jwks)> {
        self.issuers.iter().map(|(i, k)| (&i.config, k))
    }

    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Whether `issuer`'s keys include one of that `kid` (`None`: no such issuer).
    pub fn knows_kid(&self, issuer: &str, kid: &str) -> Option<bool> {
        self.find(issuer).map(|(_, jwks)| jwks.contains_kid(kid))
    }

    fn find(&self, issuer: &str) -> Option<(&Issuer, &Jwks)> {
        self.issuers.iter().find(|(i, _)| i.config.issuer == issuer).map(|(i, k)| (i, k))
    }

    /// The `iss` of a JWT, read without verifying anything (to choose what to refresh, or what
    /// to log).
    pub fn peek_issuer(jwt: &str) -> Result<String, JwtRefusal> {
        Verifier::peek(jwt).map(|p| p.issuer)
    }

    /// The `iss`, `kid` and `alg` of a JWT, read without verifying anything.
    pub fn peek(jwt: &str) -> Result<Peek, JwtRefusal> {
        let d = decode(jwt)?;
        let claims = Value::Object(d.claims);
        let issuer = string_claim(&claims, "iss", || "it names the issuer".into())?.to_owned();
        let kid = header_string(&d.header, "kid")?.map(str::to_owned);
        let alg = header_string(&d.header, "alg")?.ok_or_else(|| malformed("header", "it has no alg"))?.to_owned();
        Ok(Peek { issuer, kid, alg })
    }

    /// The principal a JWT stands for at `now_unix_seconds`, or why it is refused.
    pub fn verify(&self, jwt: &str, now_unix_seconds: i64) -> Result<Principal, JwtRefusal> {
        let now = now_unix_seconds;
        let d = decode(jwt)?;
        let alg_text = header_string(&d.header, "alg")?.ok_or_else(|| malformed("header", "it has no alg"))?;
        let kid = header_string(&d.header, "kid")?;
        if let Some(crit) = d.header.get("crit") {
            return Err(JwtRefusal::Critical { crit: shown(&crit.to_string()) });
        }
        let claims = Value::Object(d.claims);
        let iss = string_claim(&claims, "iss", || "it names the issuer".into())?;
        let (issuer, jwks) = self.find(iss).ok_or_else(|| JwtRefusal::UnknownIssuer {
            given: shown(iss),
            configured: self.issuers.iter().map(|(i, _)| i.config.issuer.clone()).collect(),
        })?;
        let name = &issuer.config.issuer;

        // The algorithm is the key's: the header's alg is only checked against it.
        let keys_text = || describe_keys(name, jwks, kid);
        if alg_text.eq_ignore_ascii_case("none") {
            return Err(JwtRefusal::AlgNone { alg: shown(alg_text), keys: keys_text() });
        }
        if alg_text.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS")) {
            return Err(JwtRefusal::Hmac { alg: shown(alg_text), keys: keys_text() });
        }
        let alg: SigningAlgorithm = alg_text.parse().map_err(|()| JwtRefusal::UnsupportedAlgorithm { alg: shown(alg_text) })?;
        let candidates: Vec<&Key> = match kid {
            Some(kid) => {
                let with_kid: Vec<&Key> = jwks.by_kid(kid).collect();
                if with_kid.is_empty() {
                    return Err(JwtRefusal::UnknownKey {
                        issuer: name.clone(),
                        kid: shown(kid),
                        known: jwks.kids().into_iter().map(str::to_owned).collect(),
                    });
                }
                let fitting: Vec<&Key> = with_kid.into_iter().filter(|k| k.allows(alg)).collect();
                if fitting.is_empty() {
                    return Err(JwtRefusal::AlgorithmMismatch { alg, keys: keys_text() });
                }
                fitting
            }
            None => {
                let fitting: Vec<&Key> = jwks.keys().iter().filter(|k| k.allows(alg)).collect();
                if fitting.is_empty() {
                    return Err(JwtRefusal::NoKey { issuer: name.clone(), alg });
                }
                fitting
            }
        };
        let mut verified = false;
        for key in candidates {
            match jsonwebtoken::crypto::verify(d.signature, d.signing_input.as_bytes(), key.decoding(), alg.jsonwebtoken()) {
                Ok(true) => {
                    verified = true;
                    break;
                }
                Ok(false) => {}
                Err(e) => return Err(malformed("signature", format!("it is not base64url: {e}"))),
            }
        }
        if !verified {
            return Err(JwtRefusal::BadSignature { issuer: name.clone(), kid: kid.map(shown), alg });
        }

        // Signed by the issuer: now what it says. (`iss` is the issuer's: it chose the keys.)
        let config = &issuer.config;
        check_audience(&claims, config)?;
        let leeway = config.leeway_seconds;
        let slack = i64::from(leeway);
        let exp = date_claim(&claims, "exp", "an accepted JWT must expire")?
            .ok_or_else(|| JwtRefusal::MissingClaim { claim: "exp".into(), why: "an accepted JWT must expire".into() })?;
        if now >= exp.saturating_add(slack) {
            return Err(JwtRefusal::Expired { at: exp, now, leeway });
        }
        if let Some(nbf) = date_claim(&claims, "nbf", "it says when the JWT becomes valid")? {
            if nbf > now.saturating_add(slack) {
                return Err(JwtRefusal::NotYetValid { at: nbf, now, leeway });
            }
        }
        if let Some(iat) = date_claim(&claims, "iat", "it says when the JWT was issued")? {
            if iat > now.saturating_add(slack) {
                return Err(JwtRefusal::IssuedInFuture { at: iat, now, leeway });
            }
        }
        for (claim, pattern) in &issuer.claims {
            let why = || format!("{name} requires it to match {:?}", pattern.as_str());
            let value = string_claim(&claims, claim, why)?;
            if !pattern.matches(value) {
                return Err(JwtRefusal::ClaimMismatch {
                    claim: claim.clone(),
                    value: shown(value),
                    pattern: pattern.as_str().to_owned(),
                    issuer: name.clone(),
                });
            }
        }
        let subject = string_claim(&claims, "sub", || "it names the credential's subject".into())?;
        principal(issuer, &claims, subject)
    }
}

fn check_audience(claims: &Value, config: &IssuerConfig) -> Result<(), JwtRefusal> {
    let expected = config.audience.as_slice();
    let why = || format!("it must name one of {expected:?}");
    let given: Vec<&str> = match claims.get("aud") {
        None => return Err(JwtRefusal::MissingClaim { claim: "aud".into(), why: why() }),
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(all)) => {
            let strings: Option<Vec<&str>> = all.iter().map(Value::as_str).collect();
            strings.ok_or_else(|| JwtRefusal::ClaimType {
                claim: "aud".into(),
                found: "an array holding a non-string",
                expected: "a string or an array of strings",
                why: why(),
            })?
        }
        Some(other) => {
            return Err(JwtRefusal::ClaimType {
                claim: "aud".into(),
                found: kind(other),
                expected: "a string or an array of strings",
                why: why(),
            })
        }
    };
    if given.iter().any(|aud| config.audience.contains(aud)) {
        return Ok(());
    }
    Err(JwtRefusal::Audience { given: given.into_iter().take(16).map(shown).collect(), expected: expected.to_vec() })
}

/// The principal the (verified) claims map to.
fn principal(issuer: &Issuer, claims: &Value, subject: &str) -> Result<Principal, JwtRefusal> {
    let name = &issuer.config.issuer;
    let fill = |template: &Template, field: &str, escape: bool| -> Result<String, JwtRefusal> {
        template.render(|claim| {
            let value = string_claim(claims, claim, || format!("{field} of {name} is made from it"))?;
            if let Some(reason) = unsafe_value(value) {
                return Err(JwtRefusal::ClaimValue { claim: claim.to_owned(), value: shown(value), field: field.to_owned(), reason });
            }
            Ok(if escape { glob_escape(value) } else { value.to_owned() })
        })
    };
    let principal_name = fill(&issuer.principal, "principal", false)?;
    let principal_name = PrincipalName::new(&principal_name).map_err(|mut e| {
        e.given = shown(&e.given);
        JwtRefusal::BadPrincipal(e)
    })?;
    let patterns = |templates: &[Template], field: &str| -> Result<Patterns, JwtRefusal> {
        let mut texts = Vec::with_capacity(templates.len());
        for (i, t) in templates.iter().enumerate() {
            texts.push(fill(t, &format!("{field}[{i}]"), true)?);
        }
        Patterns::parse(&texts).map_err(JwtRefusal::BadPattern)
    };
    Ok(Principal {
        name: principal_name,
        credential: Credential::Oidc { issuer: name.clone(), subject: subject.to_owned() },
        scopes: issuer.config.scopes,
        sources: patterns(&issuer.sources, "sources")?,
        artifacts: patterns(&issuer.artifacts, "artifacts")?,
    })
}

/// The issuer's keys, as a refusal about an algorithm names them.
fn describe_keys(issuer: &str, jwks: &Jwks, kid: Option<&str>) -> String {
    let algs = |keys: &[&Key]| keys.iter().map(|k| k.algorithms_text()).collect::<Vec<_>>().join(" and ");
    if let Some(kid) = kid {
        let with_kid: Vec<&Key> = jwks.by_kid(kid).collect();
        if !with_kid.is_empty() {
            return format!("the key {:?} of {issuer} is {}", shown(kid), algs(&with_kid));
        }
    }
    match jwks.keys() {
        [] => format!("{issuer} has no key loaded"),
        [key] => {
            format!("the key {} of {issuer} is {}", key.kid().map_or("without kid".to_owned(), |k| format!("{k:?}")), key.algorithms_text())
        }
        keys => format!(
            "the keys of {issuer} are {}",
            keys.iter()
                .map(|k| format!("{} ({})", k.algorithms_text(), k.kid().map_or("without kid".to_owned(), |k| format!("{k:?}"))))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
