//! API tokens: their format, their hash, and the [`Book`] of tokens folded from the log.
//!
//! A token is `dst_<id>_<secret>`: `id` is 12 lowercase hex digits, the token's public name
//! (shown in lists, entries and errors), and `secret` 43 base64url characters (256 random bits).
//! The log keeps only `sha256:<hex>` of the whole string: a high-entropy secret needs no slow
//! hash, and whoever reads the log cannot use what it holds.

use std::collections::HashMap;

use base64::Engine as _;
use dossier_core::event::{format_timestamp, parse_timestamp};
use dossier_core::own::{OwnType, TOKENS_SOURCE};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::principal::Credential;
use crate::{Patterns, Principal, PrincipalName, Scopes};

const PREFIX: &str = "dst_";
const ID_LEN: usize = 12;
const SECRET_LEN: usize = 43;
/// Length of a whole token.
pub const TOKEN_LEN: usize = PREFIX.len() + ID_LEN + 1 + SECRET_LEN;

/// A token read from a request: its id and the whole string (to hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented<'a> {
    pub id: &'a str,
    pub whole: &'a str,
}

/// Why a string is not a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("a Dossier token starts with dst_")]
    Prefix,
    #[error("a Dossier token is {TOKEN_LEN} characters long, this one {0}")]
    Length(usize),
    #[error("a Dossier token is made of ASCII letters, digits, - and _")]
    Characters,
    #[error("a Dossier token's id is 12 lowercase hex digits followed by _")]
    Id,
    #[error("a Dossier token's secret is 43 base64url characters")]
    Secret,
}

/// Reads `text` as a token, checking its shape only.
pub fn parse(text: &str) -> Result<Presented<'_>, Malformed> {
    let rest = text.strip_prefix(PREFIX).ok_or(Malformed::Prefix)?;
    if text.len() != TOKEN_LEN {
        return Err(Malformed::Length(text.len()));
    }
    if !text.is_ascii() {
        return Err(Malformed::Characters);
    }
    let (id, secret) = (&rest[..ID_LEN], &rest[ID_LEN..]);
    if !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Malformed::Id);
    }
    let secret = secret.strip_prefix('_').ok_or(Malformed::Id)?;
    if secret.len() != SECRET_LEN || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Malformed::Secret);
    }
    Ok(Presented { id, whole: text })
}

/// The hash the log keeps of a token: `sha256:<hex>`.
pub fn hash(token: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// A new token from `random` (32 bytes for the secret, 6 for the id): `(id, token)`.
pub fn from_random(random: &[u8; 38]) -> (String, String) {
    let id = hex::encode(&random[32..]);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&random[..32]);
    let token = format!("{PREFIX}{id}_{secret}");
    (id, token)
}

/// A new token from the operating system's random source: `(id, token)`.
pub fn generate() -> (String, String) {
    let mut random = [0u8; 38];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
    from_random(&random)
}

/// What a `created` entry says of a token (its content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub id: String,
    pub name: PrincipalName,
    pub scopes: Scopes,
    #[serde(default)]
    pub sources: Patterns,
    #[serde(default)]
    pub artifacts: Patterns,
    /// RFC 3339; none: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `sha256:<hex>` of the token.
    pub hash: String,
    /// Who created it.
    pub by: PrincipalName,
}

/// What a `revoked` entry says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub id: String,
    pub by: PrincipalName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A token as the book knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub grant: Grant,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    /// When and by whom it was revoked.
    pub revoked: Option<(i64, PrincipalName)>,
    /// Whether its expiry has been announced in the log.
    pub expiry_recorded: bool,
}

/// Where a token stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Active,
    Revoked,
    Expired,
}

impl Token {
    pub fn state(&self, now: i64) -> State {
        if self.revoked.is_some() {
            State::Revoked
        } else if self.expires_at.is_some_and(|e| now >= e) {
            State::Expired
        } else {
            State::Active
        }
    }

    /// As the token list shows it: never the hash.
    pub fn view(&self, now: i64) -> serde_json::Value {
        serde_json::json!({
            "id": self.grant.id,
            "name": self.grant.name,
            "scopes": self.grant.scopes,
            "sources": self.grant.sources,
            "artifacts": self.grant.artifacts,
            "expires": self.grant.expires,
            "created": format_timestamp(self.created_at),
            "created_by": self.grant.by,
            "revoked": self.revoked.as_ref().map(|(at, _)| format_timestamp(*at)),
            "revoked_by": self.revoked.as_ref().map(|(_, by)| by),
            "state": self.state(now),
        })
    }
}

/// Why a token was not accepted (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    #[error("malformed token: {0}")]
    Malformed(#[from] Malformed),
    #[error("token {0} is not known to this Dossier")]
    Unknown(String),
    #[error("token {id} was revoked at {at} by {by}")]
    Revoked { id: String, at: String, by: PrincipalName },
    #[error("token {id} expired at {at}")]
    Expired { id: String, at: String },
}

/// Every token, folded from the token entries of the log.
#[derive(Debug, Clone, Default)]
pub struct Book {
    tokens: HashMap<String, Token>,
}

impl Book {
    pub fn new() -> Book {
        Book::default()
    }

    /// Folds one entry in (entries of other types or sources are ignored, and so is what does
    /// not read as a token entry: the log is kept whole, the book only believes well-formed
    /// entries Dossier wrote).
    pub fn apply(&mut self, source: &str, event_type: &str, content: &serde_json::Value, at: i64) {
        if source != TOKENS_SOURCE {
            return;
        }
        match OwnType::of(event_type) {
            Some(OwnType::TokenCreated) => {
                let Ok(grant) = serde_json::from_value::<Grant>(content.clone()) else { return };
                let Some(expires_at) = grant.expires.as_deref().map(parse_timestamp) else {
                    self.tokens.entry(grant.id.clone()).or_insert(Token {
                        grant,
                        expires_at: None,
                        created_at: at,
                        revoked: None,
                        expiry_recorded: false,
                    });
                    return;
                };
                let Some(expires_at) = expires_at else { return };
                self.tokens.entry(grant.id.clone()).or_insert(Token {
                    grant,
                    expires_at: Some(expires_at),
                    created_at: at,
                    revoked: None,
                    expiry_recorded: false,
                });
            }
            Some(OwnType::TokenRevoked) => {
                let Ok(r) = serde_json::from_value::<Revocation>(content.clone()) else { return };
                if let Some(t) = self.tokens.get_mut(&r.id) {
                    t.revoked.get_or_insert((at, r.by));
                }
            }
            Some(OwnType::TokenExpired) => {
                if let Some(t) = content.get("id").and_then(|v| v.as_str()).and_then(|id| self.tokens.get_mut(id)) {
                    t.expiry_recorded = true;
                }
            }
            _ => {}
        }
    }

    pub fn get(&self, id: &str) -> Option<&Token> {
        self.tokens.get(id)
    }

    /// Every token, oldest first.
    pub fn all(&self) -> Vec<&Token> {
        let mut all: Vec<&Token> = self.tokens.values().collect();
        all.sort_by(|a, b| (a.created_at, &a.grant.id).cmp(&(b.created_at, &b.grant.id)));
        all
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Tokens past their expiry whose expiry the log does not hold yet.
    pub fn expiries_due(&self, now: i64) -> Vec<&Token> {
        self.tokens.values().filter(|t| t.revoked.is_none() && !t.expiry_recorded && t.expires_at.is_some_and(|e| now >= e)).collect()
    }

    /// The principal `text` authenticates at `now`, or why it does not.
    pub fn authenticate(&self, text: &str, now: i64) -> Result<Principal, TokenRefusal> {
        let presented = parse(text)?;
        let token = self.tokens.get(presented.id).ok_or_else(|| TokenRefusal::Unknown(presented.id.to_owned()))?;
        // Only the hash's owner gets to learn more than "unknown": compare in constant time.
        let same: bool = hash(presented.whole).as_bytes().ct_eq(token.grant.hash.as_bytes()).into();
        if !same {
            return Err(TokenRefusal::Unknown(presented.id.to_owned()));
        }
        if let Some((at, by)) = &token.revoked {
            return Err(TokenRefusal::Revoked { id: token.grant.id.clone(), at: format_timestamp(*at), by: by.clone() });
        }
        if let Some(expires) = token.expires_at.filter(|e| now >= *e) {
            return Err(TokenRefusal::Expired { id: token.grant.id.clone(), at: format_timestamp(expires) });
        }
        Ok(Principal {
            name: token.grant.name.clone(),
            credential: Credential::Token { id: token.grant.id.clone() },
            scopes: token.grant.scopes,
            sources: token.grant.sources.clone(),
            artifacts: token.grant.artifacts.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;
    use serde_json::json;

    const T0: i64 = 1_800_000_000_000_000_000;

    fn created(book: &mut Book, random: u8, name: &str, expires: Option<&str>) -> String {
        let (id, token) = from_random(&[random; 38]);
        let content = json!({"id": id, "name": name, "scopes": ["events:write"], "sources": ["/ci/jenkins/**"],
            "expires": expires, "hash": hash(&token), "by": "admin"});
        book.apply(TOKENS_SOURCE, OwnType::TokenCreated.as_str(), &content, T0);
        token
    }

    #[test]
    fn a_created_token_authenticates_as_its_principal() {
        let mut book = Book::new();
        let token = created(&mut book, 7, "jenkins", None);
        assert_eq!(token.len(), TOKEN_LEN);
        let p = book.authenticate(&token, T0).unwrap();
        assert_eq!(p.name.as_str(), "jenkins");
        assert!(p.scopes.contains(Scope::EventsWrite) && !p.scopes.contains(Scope::Read));
        assert!(p.may_send_from("/ci/jenkins/x").is_ok());
    }

    #[test]
    fn a_revoked_token_fails_from_the_next_request() {
        let mut book = Book::new();
        let token = created(&mut book, 7, "jenkins", None);
        let id = parse(&token).unwrap().id.to_owned();
        book.apply(TOKENS_SOURCE, OwnType::TokenRevoked.as_str(), &json!({"id": id, "by": "admin"}), T0 + 1);
        assert_eq!(
            book.authenticate(&token, T0 + 2).unwrap_err().to_string(),
            format!("token {id} was revoked at {} by admin", format_timestamp(T0 + 1))
        );
    }

    #[test]
    fn an_expired_token_fails_and_its_expiry_is_due_once() {
        let mut book = Book::new();
        let token = created(&mut book, 9, "ci", Some("2027-01-15T10:00:00Z"));
        let expiry = parse_timestamp("2027-01-15T10:00:00Z").unwrap();
        assert!(book.authenticate(&token, expiry - 1).is_ok());
        assert!(matches!(book.authenticate(&token, expiry), Err(TokenRefusal::Expired { .. })));
        assert_eq!(book.expiries_due(expiry).len(), 1);
        let id = parse(&token).unwrap().id.to_owned();
        book.apply(TOKENS_SOURCE, OwnType::TokenExpired.as_str(), &json!({"id": id}), expiry);
        assert!(book.expiries_due(expiry).is_empty());
    }

    #[test]
    fn a_guessed_secret_or_a_forged_entry_authenticates_nothing() {
        let mut book = Book::new();
        let token = created(&mut book, 7, "jenkins", None);
        let mut guessed = token.clone();
        guessed.replace_range(TOKEN_LEN - 1.., if token.ends_with('A') { "B" } else { "A" });
        assert!(matches!(book.authenticate(&guessed, T0), Err(TokenRefusal::Unknown(_))));
        // The same entry under another source (a producer's event) is not believed.
        let (id, forged) = from_random(&[1; 38]);
        let content = json!({"id": id, "name": "evil", "scopes": ["admin"], "hash": hash(&forged), "by": "evil"});
        book.apply("/ci/evil", OwnType::TokenCreated.as_str(), &content, T0);
        assert!(matches!(book.authenticate(&forged, T0), Err(TokenRefusal::Unknown(_))));
    }

    #[test]
    fn malformed_tokens_say_what_is_wrong() {
        assert_eq!(parse("abc"), Err(Malformed::Prefix));
        assert_eq!(parse("dst_short"), Err(Malformed::Length(9)));
        let (_, good) = from_random(&[3; 38]);
        let mut bad_id = good.clone();
        bad_id.replace_range(4..5, "Z");
        assert_eq!(parse(&bad_id), Err(Malformed::Id));
        let mut bad_secret = good.clone();
        bad_secret.replace_range(TOKEN_LEN - 1.., "!");
        assert_eq!(parse(&bad_secret), Err(Malformed::Secret));
    }
}
