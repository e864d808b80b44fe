//! Identity and access over real connections (issue 12): every route of the router has an
//! access rule, and without a credential it answers 401 (public routes excepted), with a token
//! lacking the scope 403, storing nothing in either case; producers are bound to their sources;
//! a revoked token fails at once; nobody approves their own exception; the dashboard's session
//! needs its CSRF token for changes; a flood from one principal is limited.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use dossier_access::Rule;
use dossier_server::Server;
use serde_json::{json, Value};

const ADMIN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";

struct Running {
    url: String,
    log: Arc<dossier_log::EvidenceLog>,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn start_with(rate: Option<dossier_auth::limit::Rate>) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (url, log) = runtime.block_on(async {
        let mut builder = Server::builder(dir.path()).log_name(Some("test/log".into())).admin_token(Some(ADMIN.into()));
        if let Some(rate) = rate {
            builder = builder.rate_limit(rate);
        }
        let server = builder.start().unwrap();
        let log = server.log().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, std::future::pending()));
        (url, log)
    });
    Running { url, log, _runtime: runtime, _dir: dir }
}

fn start() -> Running {
    start_with(None)
}

/// Sends a request; `token` as Bearer, `headers` more. Returns status, headers, body text.
fn call(method: &str, url: &str, token: Option<&str>, headers: &[(&str, &str)], body: Option<&str>) -> (u16, ureq::Response) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut req = agent.request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let resp = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    match resp {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(code, r)) => (code, r),
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

fn json_of(r: ureq::Response) -> Value {
    let text = r.into_string().unwrap();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

impl Running {
    fn size(&self) -> u64 {
        self.log.store().size().unwrap()
    }

    /// Creates a token (as the admin) and returns it.
    fn token(&self, body: Value) -> String {
        let (status, r) = call("POST", &format!("{}/api/v1/tokens", self.url), Some(ADMIN), &[], Some(&body.to_string()));
        let v = json_of(r);
        assert_eq!(status, 201, "{v}");
        v["token"].as_str().unwrap().to_owned()
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let (status, r) = call("POST", &format!("{}{path}", self.url), token, &[], Some(&body.to_string()));
        (status, json_of(r))
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let (status, r) = call("GET", &format!("{}{path}", self.url), token, &[], None);
        (status, json_of(r))
    }
}

/// `(method, path template)` of every `.route("path", get(..).post(..))` in a crate's sources.
fn registered(dir: &Path) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(\"") {
            rest = &rest[i + 8..];
            let path = &rest[..rest.find('"').unwrap()];
            let (mut depth, mut end) = (1, 0);
            for (j, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = j;
                    break;
                }
            }
            let call = &rest[..end];
            for method in ["get", "post", "put", "delete"] {
                let named = [format!(" {method}("), format!(".{method}("), format!("::{method}("), format!("({method}(")];
                if named.iter().any(|n| call.contains(n.as_str())) {
                    out.insert((method.to_ascii_uppercase(), path.to_owned()));
                }
            }
        }
    }
    out
}

#[test]
fn every_route_of_the_router_has_an_access_rule_and_every_rule_a_route() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut routes = registered(&root.join("http/src"));
    routes.extend(registered(&root.join("dashboard/src")));
    let rules: BTreeSet<(String, String)> = dossier_server::access_rules().iter().map(|(m, p, _)| (m.to_string(), p.to_owned())).collect();
    assert!(routes.len() >= 55, "the scan found only {} routes: {routes:?}", routes.len());
    let without_rule: Vec<_> = routes.difference(&rules).collect();
    let without_route: Vec<_> = rules.difference(&routes).collect();
    assert!(without_rule.is_empty(), "routes with no access rule (refused to everyone): {without_rule:?}");
    assert!(without_route.is_empty(), "rules for no route: {without_route:?}");
}

/// A concrete path for a template.
fn concrete(template: &str) -> String {
    template
        .replace("{seq}", "0")
        .replace("{name}", "some_policy")
        .replace("{id}", "some-id")
        .replace("{digest}", "sha256:0000000000000000000000000000000000000000000000000000000000000000")
}

#[test]
fn without_a_credential_401_and_without_the_scope_403_on_every_route_storing_nothing() {
    let s = start();
    // A token with every scope but read, and one with read only: between them, each route's
    // scope is lacking in one.
    let no_read = s.token(json!({"name": "no-read", "scopes": ["gate"]}));
    let read_only = s.token(json!({"name": "auditor", "scopes": ["read"]}));
    let before = s.size();
    let body = json!({"anything": true}).to_string();
    let mut checked = 0;
    for (method, template, rule) in dossier_server::access_rules().iter() {
        let url = format!("{}{}", s.url, concrete(template));
        let body = (method != "GET").then_some(body.as_str());
        let (status, resp) = call(method.as_str(), &url, None, &[], body);
        match rule {
            Rule::Public => assert_ne!(status, 401, "{method} {template} is public"),
            _ => {
                assert_eq!(status, 401, "{method} {template} without a credential");
                assert!(resp.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")), "{method} {template}");
            }
        }
        let lacking = match rule {
            Rule::Scope(dossier_auth::Scope::Read) => Some(&no_read),
            Rule::Scope(_) => Some(&read_only),
            Rule::Public | Rule::Authenticated => None,
        };
        if let Some(token) = lacking {
            let (status, resp) = call(method.as_str(), &url, Some(token), &[], body);
            let text = resp.into_string().unwrap();
            assert_eq!(status, 403, "{method} {template} with a token lacking its scope: {text}");
            assert!(text.contains("lacks the scope"), "{method} {template}: {text}");
        }
        checked += 1;
    }
    assert!(checked >= 55);
    assert_eq!(s.size(), before, "nothing was stored by refused requests");
    // A garbage or unknown credential is 401 too, saying why.
    let (status, v) = s.get("/api/v1/events", Some("dst_ffffffffffff_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!((status, v["error"].as_str().unwrap()), (401, "token ffffffffffff is not known to this Dossier"));
    let (status, v) = s.get("/api/v1/events", Some("hunter2"));
    assert_eq!(status, 401, "{v}");
}

/// An expiry the default rules accept (at most 90 days away).
fn in_30_days() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    dossier_core::event::format_timestamp(now + 30 * 86_400 * 1_000_000_000)
}

fn event(id: &str, source: &str) -> Value {
    json!({
        "context": {"specversion": "0.5.1", "id": id, "source": source, "type": "dev.cdevents.artifact.published.0.3.0",
                    "timestamp": "2026-11-25T10:00:00Z"},
        "subject": {"id": format!("pkg:oci/app@sha256%3A{id}"), "content": {}}
    })
}

#[test]
fn a_producer_writes_only_its_own_sources_and_every_entry_names_its_sender() {
    let s = start();
    let jenkins = s.token(json!({"name": "jenkins", "scopes": ["events:write", "read"], "sources": ["/ci/jenkins/**"]}));
    let (status, v) = s.post("/api/v1/events", Some(&jenkins), &event("a1", "/ci/jenkins/build"));
    assert_eq!(status, 201, "{v}");
    let seq = v["seq"].as_u64().unwrap();
    let (_, entry) = s.get(&format!("/api/v1/events/{seq}"), Some(&jenkins));
    assert_eq!(entry["sender"], "jenkins");
    let before = s.size();
    let (status, v) = s.post("/api/v1/events", Some(&jenkins), &event("a2", "/ci/github"));
    assert_eq!(status, 403);
    assert_eq!(
        v["error"],
        "jenkins may not send events from source \"/ci/github\"; its sources are /ci/jenkins/**; nothing of this event was stored"
    );
    assert_eq!(s.size(), before);
    // In a batch, per event: the allowed one is stored, the other answered forbidden.
    let (status, v) = s.post("/api/v1/events", Some(&jenkins), &json!([event("b1", "/ci/jenkins/x"), event("b2", "/ci/github")]));
    assert_eq!(status, 200);
    assert_eq!((v["accepted"].as_u64(), v["forbidden"].as_u64()), (Some(1), Some(1)), "{v}");
    assert_eq!(v["results"][1]["status"], "forbidden");
    assert_eq!(s.size(), before + 1);
    // Dossier's own records cannot be sent, whatever the sources allow.
    let admin_forgery = json!({
        "context": {"specversion": "0.5.1", "id": "forged", "source": "/dossier/exceptions", "type": "dev.cdeventsx.dossier-exception.approved.0.1.0",
                    "timestamp": "2026-11-25T10:00:00Z"},
        "subject": {"id": "exc-1", "content": {"approver": "mallory"}}
    });
    let (status, v) = s.post("/api/v1/events", Some(ADMIN), &admin_forgery);
    assert_eq!(status, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("written by Dossier itself"), "{v}");
}

#[test]
fn a_revoked_token_fails_at_once_and_the_revocation_names_the_admin() {
    let s = start();
    let ci = s.token(json!({"name": "ci", "scopes": ["read"]}));
    assert_eq!(s.get("/api/v1/whoami", Some(&ci)).0, 200);
    let id = &ci[4..16];
    let (status, v) = s.post(&format!("/api/v1/tokens/{id}/revoke"), Some(ADMIN), &json!({"reason": "leaked"}));
    assert_eq!((status, &v["state"]), (200, &json!("revoked")), "{v}");
    let (status, v) = s.get("/api/v1/whoami", Some(&ci));
    assert_eq!(status, 401);
    assert!(v["error"].as_str().unwrap().starts_with(&format!("token {id} was revoked at ")), "{v}");
    assert!(v["error"].as_str().unwrap().ends_with(" by admin"), "{v}");
    // The token's life is in the log: created and revoked, each with who did it.
    let (_, page) = s.get("/api/v1/events?source=/dossier/tokens", Some(ADMIN));
    let senders: Vec<(String, Value)> =
        page["events"].as_array().unwrap().iter().map(|e| (e["type"].as_str().unwrap().to_owned(), e["sender"].clone())).collect();
    assert!(senders.contains(&("dev.cdeventsx.dossier-token.revoked.0.1.0".into(), json!("admin"))), "{senders:?}");
    assert!(!page.to_string().contains(&ci), "the log never holds a token itself");
}

#[test]
fn nobody_approves_their_own_exception_and_the_approval_names_the_credentials_principal() {
    let s = start();
    let alice = s.token(json!({"name": "alice", "scopes": ["exceptions:request", "exceptions:approve", "read"]}));
    let bob = s.token(json!({"name": "bob", "scopes": ["exceptions:approve"]}));
    let request = json!({"id": "exc-1", "vulnerabilities": ["CVE-2026-1"], "artifacts": ["pkg:oci/app@*"], "reason": "not reachable",
                         "expires": in_30_days()});
    let (status, v) = s.post("/api/v1/exceptions", Some(&alice), &request);
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["requested"]["by"], "alice");
    // Naming someone else is refused: the requester comes from the credential.
    let (status, v) = s.post(
        "/api/v1/exceptions",
        Some(&alice),
        &json!({"requester": "carol", "id": "exc-2", "artifacts": ["x"], "reason": "r", "expires": in_30_days()}),
    );
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"], "requester: \"carol\" is not who asks; it is taken from the credential (alice); omit the field");
    let (status, v) = s.post("/api/v1/exceptions/exc-1/approve", Some(&alice), &json!({}));
    assert_eq!(status, 422);
    assert_eq!(v["error"], "approver: \"alice\" requested this exception; another person must approve it");
    let (status, v) = s.post("/api/v1/exceptions/exc-1/approve", Some(&bob), &json!({"approver": "alice"}));
    assert_eq!(status, 422, "bob cannot approve in alice's name: {v}");
    let (status, v) = s.post("/api/v1/exceptions/exc-1/approve", Some(&bob), &json!({"comment": "checked"}));
    assert_eq!((status, &v["approved"]["by"], &v["state"]), (200, &json!("bob"), &json!("active")), "{v}");
    let (_, page) = s.get("/api/v1/events?type=dev.cdeventsx.dossier-exception.approved.0.1.0", Some(&alice));
    assert_eq!(page["events"][0]["sender"], "bob");
}

#[test]
fn the_dashboard_signs_in_with_a_token_and_a_session_changes_nothing_without_its_csrf_token() {
    let s = start();
    let reader = s.token(json!({"name": "auditor", "scopes": ["read", "exceptions:request"]}));
    let (status, _) = call("GET", &format!("{}/ui", s.url), None, &[], None);
    assert_eq!(status, 401);
    let form = format!("token={reader}&next=%2Fui%2Fexceptions");
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let signed =
        match agent.post(&format!("{}/ui/signin", s.url)).set("Content-Type", "application/x-www-form-urlencoded").send_string(&form) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
    assert_eq!((signed.status(), signed.header("location")), (303, Some("/ui/exceptions")));
    let cookie = signed.header("set-cookie").unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let (status, page) = call("GET", &format!("{}/ui/exceptions", s.url), None, &[("Cookie", &session)], None);
    let html = page.into_string().unwrap();
    assert_eq!(status, 200);
    assert!(html.contains("Signed in as <strong>auditor</strong>"), "the page names the principal");
    let csrf = html.split(r#"<meta name="csrf-token" content=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let request =
        json!({"vulnerabilities": ["CVE-2026-2"], "artifacts": ["pkg:oci/app@*"], "reason": "r", "expires": in_30_days()}).to_string();
    let url = format!("{}/api/v1/exceptions", s.url);
    let (status, r) = call("POST", &url, None, &[("Cookie", &session)], Some(&request));
    assert_eq!(status, 403, "a change through the session without its CSRF token");
    assert!(r.into_string().unwrap().contains("CSRF"));
    let (status, r) = call("POST", &url, None, &[("Cookie", &session), ("X-CSRF-Token", &csrf)], Some(&request));
    assert_eq!(status, 201, "{}", r.into_string().unwrap());
    // Read access changes nothing it has no scope for.
    let (status, _) =
        call("PUT", &format!("{}/api/v1/policies/p", s.url), None, &[("Cookie", &session), ("X-CSRF-Token", &csrf)], Some("package p"));
    assert_eq!(status, 403);
    // Signing out needs the session's token, and ends the session.
    let out = agent
        .post(&format!("{}/ui/signout", s.url))
        .set("Cookie", &session)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&format!("csrf={csrf}"));
    let out = match out {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(out.status(), 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(call("GET", &format!("{}/ui", s.url), None, &[("Cookie", &session)], None).0, 401);
    // A wrong token at sign-in says why.
    let bad =
        agent.post(&format!("{}/ui/signin", s.url)).set("Content-Type", "application/x-www-form-urlencoded").send_string("token=nope");
    match bad {
        Err(ureq::Error::Status(401, r)) => assert!(r.into_string().unwrap().contains("malformed token")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_flood_from_one_principal_gets_429_and_others_are_still_served() {
    let s = start_with(Some(dossier_auth::limit::Rate { per_second: 0.5, burst: 5.0 }));
    // The admin's token creates the other (one request of its burst).
    let other = s.token(json!({"name": "other", "scopes": ["read"]}));
    let mut limited = None;
    for _ in 0..10 {
        let (status, r) = call("GET", &format!("{}/api/v1/whoami", s.url), Some(ADMIN), &[], None);
        if status == 429 {
            limited = Some(r.header("retry-after").unwrap().to_owned());
            break;
        }
        assert_eq!(status, 200);
    }
    assert_eq!(limited.as_deref(), Some("2"), "a flood is limited, with Retry-After");
    assert_eq!(s.get("/api/v1/whoami", Some(&other)).0, 200, "another principal is still served");
    assert_eq!(s.get("/healthz", None).0, 200, "public routes are not limited");
}

/// An OIDC issuer made in the test: an Ed25519 key, its JWK Set in a file, and JWTs it signs.
struct Issuer {
    key: jsonwebtoken::EncodingKey,
    jwks_file: tempfile::NamedTempFile,
}

const ISSUER: &str = "https://token.actions.githubusercontent.com";

impl Issuer {
    fn new() -> Issuer {
        use base64::Engine as _;
        use ring::signature::KeyPair as _;
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1", "alg": "EdDSA", "use": "sig"}]});
        let jwks_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(jwks_file.path(), jwks.to_string()).unwrap();
        Issuer { key: jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref()), jwks_file }
    }

    fn config(&self) -> dossier_auth::oidc::IssuerConfig {
        toml::from_str(&format!(
            r#"issuer = "{ISSUER}"
audience = "dossier"
jwks = "{}"
principal = "github:{{repository}}"
sources = ["https://github.com/{{repository}}/**"]
scopes = ["events:write", "read"]
claims = {{ repository_owner = "acme" }}"#,
            self.jwks_file.path().display()
        ))
        .unwrap()
    }

    fn jwt(&self, claims: Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn a_ci_job_writes_its_repositorys_sources_with_its_oidc_token_and_nothing_else() {
    let issuer = Issuer::new();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = runtime.block_on(async {
        let server = Server::builder(dir.path()).admin_token(Some(ADMIN.into())).oidc(vec![issuer.config()]).start().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, std::future::pending()));
        url
    });
    let claims = |changes: Value| {
        let mut c = json!({"iss": ISSUER, "aud": "dossier", "sub": "repo:acme/api:ref:refs/heads/main", "repository": "acme/api",
                           "repository_owner": "acme", "iat": now_secs() - 10, "nbf": now_secs() - 10, "exp": now_secs() + 300});
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let post = |jwt: &str, source: &str, id: &str| {
        let (status, r) = call("POST", &format!("{url}/api/v1/events"), Some(jwt), &[], Some(&event(id, source).to_string()));
        (status, json_of(r))
    };
    let good = issuer.jwt(claims(json!({})));
    let (status, v) = post(&good, "https://github.com/acme/api/actions/runs/1", "o1");
    assert_eq!(status, 201, "{v}");
    let (_, entry) = {
        let (s, r) = call("GET", &format!("{url}/api/v1/events/{}", v["seq"]), Some(&good), &[], None);
        (s, json_of(r))
    };
    assert_eq!(entry["sender"], "github:acme/api");
    let (status, v) = post(&good, "https://github.com/acme/web/actions/runs/1", "o2");
    assert_eq!(status, 403, "{v}");
    // Each refusal says why.
    let expired = issuer.jwt(claims(json!({"exp": now_secs() - 3600, "iat": now_secs() - 7200, "nbf": now_secs() - 7200})));
    let (status, v) = post(&expired, "https://github.com/acme/api/x", "o3");
    assert_eq!(status, 401);
    assert!(v["error"].as_str().unwrap().starts_with("JWT expired at "), "{v}");
    let wrong_audience = issuer.jwt(claims(json!({"aud": "someone-else"})));
    let (status, v) = post(&wrong_audience, "https://github.com/acme/api/x", "o4");
    assert_eq!((status, v["error"].as_str().unwrap()), (401, "JWT audience [\"someone-else\"] does not include any of [\"dossier\"]"));
    let stranger = issuer.jwt(claims(json!({"repository": "evil/api", "repository_owner": "evil"})));
    let (status, _) = post(&stranger, "https://github.com/evil/api/x", "o5");
    assert_eq!(status, 401, "another organisation's job is not let in");
    let unknown_issuer = issuer.jwt(claims(json!({"iss": "https://evil.example"})));
    let (status, v) = post(&unknown_issuer, "https://github.com/acme/api/x", "o6");
    assert_eq!(status, 401);
    assert!(v["error"].as_str().unwrap().starts_with("no configured OIDC issuer is \"https://evil.example\""), "{v}");
    // alg none: the header says none, the signature is empty.
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "kid": "k1"})), b64(&claims(json!({}))));
    let (status, v) = post(&none, "https://github.com/acme/api/x", "o7");
    assert_eq!(status, 401);
    assert!(v["error"].as_str().unwrap().starts_with("JWT algorithm none is refused"), "{v}");
    // HMAC with the public JWK Set as the secret (key confusion).
    let public = std::fs::read(issuer.jwks_file.path()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(&header, &claims(json!({})), &jsonwebtoken::EncodingKey::from_secret(&public)).unwrap();
    let (status, v) = post(&confused, "https://github.com/acme/api/x", "o8");
    assert_eq!(status, 401);
    assert!(v["error"].as_str().unwrap().starts_with("JWT algorithm HS256 is refused"), "{v}");
    drop(runtime);
}

#[test]
fn an_expired_token_fails_and_its_expiry_is_an_entry_in_the_log() {
    let s = start();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    let expires = dossier_core::event::format_timestamp(now + 1_500_000_000);
    let short = s.token(json!({"name": "short-lived", "scopes": ["read"], "expires": expires}));
    assert_eq!(s.get("/api/v1/whoami", Some(&short)).0, 200);
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    let (status, v) = s.get("/api/v1/whoami", Some(&short));
    assert_eq!(status, 401);
    assert_eq!(v["error"], format!("token {} expired at {expires}", &short[4..16]));
    // The announcer records the expiry within a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, page) = s.get("/api/v1/events?type=dev.cdeventsx.dossier-token.expired.0.1.0", Some(ADMIN));
        if let Some(e) = page["events"].as_array().and_then(|a| a.first()) {
            assert_eq!(e["subject"], &short[4..16]);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no expiry entry");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_token_entry_without_a_sender_is_not_believed_and_lifting_a_quarantine_needs_the_approvers_scope() {
    let s = start();
    // An entry as a forger could have sent before authentication existed: under the tokens
    // source, with no sender. Appended straight to the log (no API would take it now).
    let (id, forged) = dossier_auth::token::from_random(&[9; 38]);
    let content =
        json!({"id": id, "name": "mallory", "scopes": ["admin", "read"], "hash": dossier_auth::token::hash(&forged), "by": "dossier"});
    let event = dossier_log::own::own_event(
        format!("created-{id}"),
        dossier_core::own::TOKENS_SOURCE,
        dossier_core::own::OwnType::TokenCreated,
        &id,
        content,
        None,
    )
    .unwrap();
    s.log.append_blocking(vec![event]).unwrap();
    assert_eq!(s.get("/api/v1/whoami", Some(&forged)).0, 401);
    // A producer may quarantine-release only with exceptions:approve.
    let ci = s.token(json!({"name": "ci", "scopes": ["events:write"], "sources": ["/ci/**"]}));
    let release = json!({"context": {"specversion": "0.5.1", "id": "r1", "source": "/ci/x", "type": "dev.cdeventsx.dossier-artifact.released.0.1.0",
                                     "timestamp": "2026-11-25T11:00:00Z"},
                         "subject": {"id": "pkg:oci/app@sha256%3Aabc", "content": {"reason": "trust me"}}});
    let (status, v) = s.post("/api/v1/events", Some(&ci), &release);
    assert_eq!(status, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("lacks the scope exceptions:approve"), "{v}");
    // A token may not be named as Dossier.
    let (status, v) = s.post("/api/v1/tokens", Some(ADMIN), &json!({"name": "dossier", "scopes": ["read"]}));
    assert_eq!(status, 422, "{v}");
}

#[test]
fn a_live_stream_ends_when_the_token_that_opened_it_is_revoked() {
    use std::io::{BufRead, Read};
    let s = start();
    let watcher = s.token(json!({"name": "watcher", "scopes": ["read"]}));
    let agent = ureq::AgentBuilder::new().timeout_read(std::time::Duration::from_secs(30)).build();
    let resp = agent.get(&format!("{}/api/v1/stream", s.url)).set("Authorization", &format!("Bearer {watcher}")).call().unwrap();
    assert_eq!(resp.status(), 200);
    let mut reader = std::io::BufReader::new(resp.into_reader());
    // The stream is live: an event sent now arrives on it.
    assert_eq!(s.post("/api/v1/events", Some(ADMIN), &event("live-1", "/ci/x")).0, 201);
    let mut line = String::new();
    while !line.starts_with("data:") {
        line.clear();
        reader.read_line(&mut line).unwrap();
    }
    assert!(line.contains("live-1"), "{line}");
    let id = watcher[4..16].to_owned();
    let revoked_at = std::time::Instant::now();
    assert_eq!(s.post(&format!("/api/v1/tokens/{id}/revoke"), Some(ADMIN), &json!({})).0, 200);
    // It closes at its next check of the credential.
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let waited = revoked_at.elapsed();
    assert!(waited < std::time::Duration::from_secs(12), "closed after {waited:?}");
}

#[test]
fn a_dashboard_page_that_does_not_exist_is_an_html_404_page() {
    let s = start();
    for token in [None, Some(ADMIN)] {
        let (status, r) = call("GET", &format!("{}/ui/artifacts/nope", s.url), token, &[], None);
        assert_eq!((status, r.content_type()), (404, "text/html"));
        let page = r.into_string().unwrap();
        assert!(page.contains("<h1>No such page</h1>"), "{page}");
        assert!(page.contains("/ui/artifacts/nope is not a page of Dossier&#39;s dashboard"), "{page}");
    }
    // The API's unknown paths stay JSON.
    let (status, r) = call("GET", &format!("{}/api/v1/nope", s.url), Some(ADMIN), &[], None);
    assert_eq!((status, r.content_type()), (404, "application/json"));
}

#[test]
fn a_server_without_tls_on_purpose_says_so_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = runtime.block_on(async {
        let server = Server::builder(dir.path()).admin_token(Some(ADMIN.into())).insecure(true).start().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, std::future::pending()));
        url
    });
    for path in ["/ui", "/ui/events", "/ui/audit", "/ui/signin"] {
        let (status, r) = call("GET", &format!("{url}{path}"), Some(ADMIN), &[], None);
        assert_eq!(status, 200, "{path}");
        assert!(r.into_string().unwrap().contains("served without TLS on a network address"), "{path}");
    }
    // And one served as usual does not.
    let s = start();
    let (_, r) = call("GET", &format!("{}/ui", s.url), Some(ADMIN), &[], None);
    assert!(!r.into_string().unwrap().contains("without TLS"));
    drop(runtime);
}

#[test]
fn a_document_about_an_artifact_no_event_names_is_kept_with_a_warning() {
    let s = start();
    let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"type": "library", "name": "left-pad", "version": "1.3.0", "purl": "pkg:npm/left-pad@1.3.0"}]}).to_string();
    let send = |artifact: &str| {
        let url = format!("{}/api/v1/documents?artifact={}", s.url, artifact.replace('%', "%25"));
        let (status, r) = call("POST", &url, Some(ADMIN), &[], Some(&sbom));
        (status, json_of(r))
    };
    let (status, v) = send("pkg:oci/typo@sha256%3Aabc");
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["warning"], "no event names pkg:oci/typo@sha256:abc yet: the document is kept and applies once events name the artifact; check the purl if none will");
    assert_eq!(s.post("/api/v1/events", Some(ADMIN), &event("abc", "/ci/x")).0, 201);
    let (status, v) = send("pkg:oci/app@sha256%3Aabc");
    assert_eq!((status, v.get("warning")), (201, None), "{v}");
}
