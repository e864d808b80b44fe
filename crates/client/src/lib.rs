//! A client of Dossier's HTTP API: what the `dossier` commands and the benchmarks use to talk
//! to a server. Errors say what was asked and what the server answered.

use anyhow::{anyhow, Context};
use serde_json::Value;

pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// The environment variable holding the credential client commands send (a Dossier token, or
/// a CI job's OIDC token).
pub const TOKEN_ENV: &str = "DOSSIER_TOKEN";

/// A ureq middleware that sends `Authorization: Bearer <credential>` with every request.
pub struct Bearer(String);

impl Bearer {
    pub fn new(credential: &str) -> Bearer {
        Bearer(format!("Bearer {}", credential.trim()))
    }
}

impl ureq::Middleware for Bearer {
    fn handle(&self, request: ureq::Request, next: ureq::MiddlewareNext<'_>) -> Result<ureq::Response, ureq::Error> {
        next.handle(request.set("Authorization", &self.0))
    }
}

impl Client {
    /// A client of the server at `base` (`http://127.0.0.1:7340`) sending the credential in
    /// `DOSSIER_TOKEN`, when it is set, as `Authorization: Bearer …` with every request.
    pub fn new(base: &str) -> Client {
        Client::with_token(base, std::env::var(TOKEN_ENV).ok().filter(|t| !t.trim().is_empty()))
    }

    /// A client sending `token` (none: no credential) with every request.
    pub fn with_token(base: &str, token: Option<String>) -> Client {
        let mut agent = ureq::AgentBuilder::new();
        if let Some(token) = token {
            agent = agent.middleware(Bearer::new(&token));
        }
        Client { base: base.trim_end_matches('/').to_owned(), agent: agent.build() }
    }

    /// The agent requests go through (with the credential, when there is one).
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn read(&self, resp: Result<ureq::Response, ureq::Error>, what: &str) -> anyhow::Result<ureq::Response> {
        match resp {
            Ok(r) => Ok(r),
            Err(ureq::Error::Status(code, r)) => {
                let body = r.into_string().unwrap_or_default();
                let msg = serde_json::from_str::<Value>(&body).ok().and_then(|v| v["error"].as_str().map(str::to_owned)).unwrap_or(body);
                Err(anyhow!("{what}: HTTP {code}: {msg}"))
            }
            Err(e) => Err(anyhow!("{what}: cannot reach Dossier at {}: {e}", self.base)),
        }
    }

    /// GET a JSON document; `query` pairs are URL-encoded.
    pub fn get_json(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        let mut req = self.agent.get(&self.url(path));
        for (k, v) in query {
            req = req.query(k, v);
        }
        self.read(req.call(), path)?.into_json().with_context(|| format!("{path}: the answer is not JSON"))
    }

    /// GET `path` and copy the answer's body into `out` as it arrives (however large: a file
    /// such as an audit bundle, not held in memory); returns the bytes written.
    pub fn get_into(&self, path: &str, query: &[(&str, String)], out: &mut impl std::io::Write) -> anyhow::Result<u64> {
        let mut req = self.agent.get(&self.url(path));
        for (k, v) in query {
            req = req.query(k, v);
        }
        let mut body = self.read(req.call(), path)?.into_reader();
        std::io::copy(&mut body, out).with_context(|| format!("{path}: reading the answer"))
    }

    pub fn get_text(&self, path: &str) -> anyhow::Result<String> {
        Ok(self.read(self.agent.get(&self.url(path)).call(), path)?.into_string()?)
    }

    /// POST a body streamed from `reader`, with query pairs; returns the status and the JSON
    /// answer, whatever the status.
    pub fn post_stream(
        &self,
        path: &str,
        query: &[(&str, String)],
        content_type: &str,
        reader: impl std::io::Read,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self.agent.post(&self.url(path)).set("Content-Type", content_type);
        for (k, v) in query {
            req = req.query(k, v);
        }
        Self::answer(req.send(reader), &self.base)
    }

    fn answer(resp: Result<ureq::Response, ureq::Error>, base: &str) -> anyhow::Result<(u16, Value)> {
        let (status, r) = match resp {
            Ok(r) => (r.status(), r),
            Err(ureq::Error::Status(code, r)) => (code, r),
            Err(e) => return Err(anyhow!("cannot reach Dossier at {base}: {e}")),
        };
        let text = r.into_string()?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// POST a body; returns the status and the JSON answer, whatever the status.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> anyhow::Result<(u16, Value)> {
        Self::answer(self.agent.post(&self.url(path)).set("Content-Type", content_type).send_bytes(body), &self.base)
    }
}
