//! The dashboard's sessions: a sign-in with a token becomes a random session id in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` under TLS). The server keeps, per session, the
//! credential it was opened with — re-checked on every request, so revoking the token ends the
//! session at once — and the session's CSRF token, which every change made through the session
//! must carry. Sessions live in memory: a restart signs everyone out. At most [`MAX_SESSIONS`]
//! are kept; past that the oldest is dropped.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "dossier_session";
/// The cookie's name under TLS: the `__Host-` prefix makes browsers refuse it unless it is
/// `Secure`, for `Path=/` and without `Domain`, so a sibling subdomain cannot plant one.
pub const SECURE_COOKIE: &str = "__Host-dossier_session";
pub const MAX_SESSIONS: usize = 10_000;
/// How long a session lasts from sign-in.
pub const LIFETIME_SECS: i64 = 12 * 3600;

struct Session {
    credential: String,
    csrf: String,
    expires_at: i64,
}

#[derive(Default)]
pub struct Sessions {
    by_id_hash: Mutex<HashMap<[u8; 32], Session>>,
}

/// A session just opened: the cookie's value and its CSRF token.
pub struct Opened {
    pub id: String,
    pub csrf: String,
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// Opens a session for `credential` (already checked) at `now` (Unix nanoseconds).
    pub fn open(&self, credential: String, now: i64) -> Opened {
        let (id, csrf) = (random(), random());
        let mut map = self.by_id_hash.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.expires_at > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires_at).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        map.insert(key(&id), Session { credential, csrf: csrf.clone(), expires_at: now + LIFETIME_SECS * 1_000_000_000 });
        Opened { id, csrf }
    }

    /// The credential and CSRF token of session `id`, while it lasts.
    pub fn get(&self, id: &str, now: i64) -> Option<(String, String)> {
        let map = self.by_id_hash.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key(id)).filter(|s| s.expires_at > now).map(|s| (s.credential.clone(), s.csrf.clone()))
    }

    pub fn close(&self, id: &str) {
        self.by_id_hash.lock().unwrap_or_else(|p| p.into_inner()).remove(&key(id));
    }
}

/// The session id a request's cookies carry (under TLS, only the `__Host-` cookie counts).
pub fn from_headers(headers: &HeaderMap, secure: bool) -> Option<&str> {
    let name = if secure { SECURE_COOKIE } else { COOKIE };
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// The `Set-Cookie` value that opens a session (`None`: that ends it).
pub fn set_cookie(id: Option<&str>, secure: bool) -> String {
    let (name, secure) = if secure { (SECURE_COOKIE, "; Secure") } else { (COOKIE, "") };
    match id {
        Some(id) => format!("{name}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECS}{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_holds_its_credential_until_it_ends_or_expires() {
        let s = Sessions::default();
        let opened = s.open("dst_x".into(), 0);
        assert_eq!(s.get(&opened.id, 1), Some(("dst_x".to_owned(), opened.csrf.clone())));
        assert_eq!(s.get("guess", 1), None);
        assert_eq!(s.get(&opened.id, LIFETIME_SECS * 1_000_000_000), None, "expired");
        s.close(&opened.id);
        assert_eq!(s.get(&opened.id, 1), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_under_tls() {
        assert_eq!(set_cookie(Some("abc"), true), "__Host-dossier_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure");
        assert_eq!(set_cookie(Some("abc"), false), "dossier_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::COOKIE, "a=1; dossier_session=xyz; b=2".parse().unwrap());
        assert_eq!(from_headers(&h, false), Some("xyz"));
        assert_eq!(from_headers(&h, true), None, "under TLS only the __Host- cookie counts");
    }
}
