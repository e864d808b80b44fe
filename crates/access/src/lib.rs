//! Authentication and authorization at the edge. [`Access`] turns a request's credential — an
//! API token or an OIDC JWT as `Authorization: Bearer …`, or the dashboard's session cookie —
//! into the [`Principal`] it stands for; [`authorize`] is the one layer every route goes
//! through, applying that route's [`Rule`] (public, or a scope) from the tables the API and the
//! dashboard declare; handlers read who is asking with the [`Caller`] extractor.
//!
//! Architecture invariant: a route with no rule is refused to everyone (403), so a route added
//! without one fails closed and shows up in the route test (`crates/server/tests/access.rs`).

mod layer;
pub mod oidc;
pub mod session;

use std::sync::{Arc, Mutex};

use dossier_auth::limit::{Limiter, Rate};
use dossier_auth::token::TokenRefusal;
use dossier_auth::Principal;
use dossier_views::tokens::TokensView;

pub use layer::{authorize, Caller, Rule, Rules};
pub use session::Sessions;

/// Why a request could not be authenticated (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unauthenticated {
    #[error("no credential: send Authorization: Bearer <token> (an API token, or a JWT of a configured OIDC issuer)")]
    Missing,
    #[error("the Authorization header is not \"Bearer <credential>\"")]
    NotBearer,
    #[error(transparent)]
    Token(#[from] TokenRefusal),
    #[error(transparent)]
    Jwt(#[from] dossier_auth::oidc::JwtRefusal),
    #[error("the session has ended or is unknown: sign in again")]
    Session,
    /// A valid credential that may not sign in to the dashboard (or not now).
    #[error("{0}")]
    NotForSignIn(String),
}

/// Who may do what: the token book, the OIDC issuers, the dashboard's sessions and the
/// per-principal rate limit.
pub struct Access {
    tokens: Arc<TokensView>,
    oidc: Option<Arc<oidc::Oidc>>,
    pub sessions: Sessions,
    limiter: Mutex<Limiter>,
    /// Served without TLS on a non-loopback address on purpose (`serve --insecure`): said on
    /// every dashboard page.
    pub insecure: bool,
    /// Whether cookies get the `Secure` attribute (served over TLS).
    pub secure_cookies: bool,
}

impl Access {
    pub fn new(tokens: Arc<TokensView>, oidc: Option<Arc<oidc::Oidc>>, rate: Rate) -> Access {
        Access {
            tokens,
            oidc,
            sessions: Sessions::default(),
            limiter: Mutex::new(Limiter::new(rate)),
            insecure: false,
            secure_cookies: false,
        }
    }

    /// The principal a bearer credential stands for at `now` (Unix nanoseconds): a Dossier
    /// token (`dst_…`), or else a JWT of a configured issuer.
    pub fn authenticate(&self, credential: &str, now: i64) -> Result<Principal, Unauthenticated> {
        match &self.oidc {
            Some(oidc) if !credential.starts_with("dst_") => Ok(oidc.verify(credential, now / 1_000_000_000)?),
            _ => Ok(self.tokens.read().authenticate(credential, now)?),
        }
    }

    pub fn rate(&self) -> Rate {
        self.limiter.lock().unwrap_or_else(|p| p.into_inner()).rate()
    }

    /// Takes one request from `principal`'s bucket: `Err(seconds)` to wait when it is empty.
    pub fn take(&self, principal: &str, now: i64) -> Result<(), u64> {
        self.limiter.lock().unwrap_or_else(|p| p.into_inner()).take(principal, now)
    }
}

/// Now, in Unix nanoseconds.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}
