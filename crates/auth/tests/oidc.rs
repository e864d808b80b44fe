//! OIDC workload identity against issuers made here: our own RSA, EC and Ed25519 keys, our own
//! JWK Sets, JWTs signed (or forged) here. No network.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use dossier_auth::oidc::{
    ConfigError, IssuerConfig, Jwks, JwksError, JwksSource, JwtRefusal, Peek, SigningAlgorithm, Verifier, MAX_JWT_BYTES,
};
use dossier_auth::principal::Credential;
use dossier_auth::Scope;
use jsonwebtoken::{Algorithm, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

const GITHUB: &str = "https://token.actions.githubusercontent.com";
/// 2026-12-02T10:00:00Z.
const T: i64 = 1_796_205_600;
/// Five minutes later.
const NOW: i64 = T + 300;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A private key of ours and its public half as a JWK.
struct TestKey {
    signing: EncodingKey,
    alg: Algorithm,
    jwk: Value,
    /// The public key as PEM (SPKI) and DER (PKCS#1), for RSA keys: what an attacker uses as an
    /// HMAC secret.
    public_pem: String,
    public_der: Vec<u8>,
}

fn rsa_key(kid: &str) -> TestKey {
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
    let public = private.to_public_key();
    TestKey {
        signing: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
        alg: Algorithm::RS256,
        jwk: json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be())}),
        public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
        public_der: public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
    }
}

fn ec_key(kid: &str) -> TestKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    TestKey {
        signing: EncodingKey::from_ec_der(pkcs8.as_ref()),
        alg: Algorithm::ES256,
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(&point[1..33]), "y": b64(&point[33..])}),
        public_pem: String::new(),
        public_der: point.to_vec(),
    }
}

fn ed_key(kid: &str) -> TestKey {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    TestKey {
        signing: EncodingKey::from_ed_der(pkcs8.as_ref()),
        alg: Algorithm::EdDSA,
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(pair.public_key().as_ref())}),
        public_pem: String::new(),
        public_der: pair.public_key().as_ref().to_vec(),
    }
}

/// RSA keys take a moment to make: the issuer's and an attacker's are made once.
fn keys() -> &'static (TestKey, TestKey) {
    static KEYS: OnceLock<(TestKey, TestKey)> = OnceLock::new();
    KEYS.get_or_init(|| (rsa_key("gh-1"), rsa_key("gh-1")))
}

fn issuer_key() -> &'static TestKey {
    &keys().0
}

fn jwks(keys: &[&TestKey]) -> Jwks {
    let set = json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()});
    Jwks::from_json(set.to_string().as_bytes()).unwrap()
}

const GITHUB_TOML: &str = r#"
issuer = "https://token.actions.githubusercontent.com"
audience = ["dossier", "https://dossier.example.com"]
jwks = "https://token.actions.githubusercontent.com/.well-known/jwks"
principal = "github:{repository}"
sources = ["https://github.com/{repository}/**"]
artifacts = ["pkg:github/{repository}@*"]
scopes = ["events:write", "documents:write"]
claims = { repository_owner = "acme", ref = "refs/heads/*" }
"#;

fn github_config() -> IssuerConfig {
    toml::from_str(GITHUB_TOML).unwrap()
}

fn verifier() -> Verifier {
    let mut v = Verifier::new();
    v.add(github_config(), jwks(&[issuer_key()])).unwrap();
    v
}

fn claims() -> Value {
    json!({
        "iss": GITHUB, "aud": "dossier", "sub": "repo:acme/api:ref:refs/heads/main",
        "repository": "acme/api", "repository_owner": "acme", "ref": "refs/heads/main",
        "job_workflow_ref": "acme/api/.github/workflows/release.yml@refs/heads/main",
        "iat": T, "nbf": T, "exp": T + 600,
    })
}

/// A JWT of `header` and `claims`, signed with `key` under `alg`.
fn sign(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{signature}")
}

/// A JWT signed as a well-behaved issuer signs it.
fn issued(key: &TestKey, claims: &Value) -> String {
    let alg = serde_json::to_value(key.alg).unwrap();
    sign(&json!({"alg": alg, "typ": "JWT", "kid": key.jwk["kid"]}), claims, &key.signing, key.alg)
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn refusal(jwt: &str) -> String {
    verifier().verify(jwt, NOW).unwrap_err().to_string()
}

#[test]
fn a_good_github_token_is_its_repository_and_writes_only_its_sources() {
    let p = verifier().verify(&issued(issuer_key(), &claims()), NOW).unwrap();
    assert_eq!(p.name.as_str(), "github:acme/api");
    assert_eq!(p.credential, Credential::Oidc { issuer: GITHUB.into(), subject: "repo:acme/api:ref:refs/heads/main".into() });
    assert_eq!(p.sources.texts(), ["https://github.com/acme/api/**"]);
    assert_eq!(p.artifacts.texts(), ["pkg:github/acme/api@*"]);
    assert!(p.scopes.contains(Scope::EventsWrite) && p.scopes.contains(Scope::DocumentsWrite) && !p.scopes.contains(Scope::Admin));
    assert_eq!(p.may_send_from("https://github.com/acme/api/actions/runs/7"), Ok(()));
    assert!(p.may_send_from("https://github.com/acme/web/actions/runs/7").is_err());
    assert!(p.may_send_from("https://github.com/acme/api2/x").is_err());
    assert_eq!(p.may_send_about("pkg:github/acme/api@v1.2.0"), Ok(()));
    // An audience array holding one of ours is enough.
    let p = verifier().verify(&issued(issuer_key(), &with(claims(), "aud", json!(["other", "https://dossier.example.com"]))), NOW);
    assert!(p.is_ok(), "{p:?}");
}

#[test]
fn an_expired_token_is_refused_with_the_times_and_the_leeway() {
    let expired = issued(issuer_key(), &with(claims(), "exp", json!(T)));
    assert_eq!(refusal(&expired), "JWT expired at 2026-12-02T10:00:00Z (now 2026-12-02T10:05:00Z, leeway 60 s)");
    assert_eq!(verifier().verify(&expired, NOW).unwrap_err(), JwtRefusal::Expired { at: T, now: NOW, leeway: 60 });
    // Within the leeway it still counts; a second past, it does not.
    assert!(verifier().verify(&expired, T + 59).is_ok());
    assert!(matches!(verifier().verify(&expired, T + 60), Err(JwtRefusal::Expired { .. })));
    // A fractional NumericDate is read too.
    let fractional = issued(issuer_key(), &with(claims(), "exp", json!((T as f64) + 0.5)));
    assert_eq!(verifier().verify(&fractional, NOW).unwrap_err(), JwtRefusal::Expired { at: T, now: NOW, leeway: 60 });
    assert_eq!(refusal(&issued(issuer_key(), &without(claims(), "exp"))), "JWT has no exp claim; an accepted JWT must expire");
    assert_eq!(
        refusal(&issued(issuer_key(), &with(claims(), "exp", json!("tomorrow")))),
        "JWT claim exp is a string, not a number of seconds since 1970; an accepted JWT must expire"
    );
}

#[test]
fn a_token_not_yet_valid_or_issued_in_the_future_is_refused() {
    let early = issued(issuer_key(), &with(claims(), "nbf", json!(NOW + 61)));
    assert_eq!(refusal(&early), "JWT is not valid before 2026-12-02T10:06:01Z (now 2026-12-02T10:05:00Z, leeway 60 s)");
    assert!(verifier().verify(&issued(issuer_key(), &with(claims(), "nbf", json!(NOW + 60))), NOW).is_ok());
    let future = issued(issuer_key(), &with(claims(), "iat", json!(NOW + 3600)));
    assert_eq!(refusal(&future), "JWT was issued at 2026-12-02T11:05:00Z, in the future (now 2026-12-02T10:05:00Z, leeway 60 s)");
}

#[test]
fn an_unknown_issuer_is_named_with_the_configured_ones() {
    let evil = issued(issuer_key(), &with(claims(), "iss", json!("https://evil")));
    assert_eq!(
        refusal(&evil),
        "no configured OIDC issuer is \"https://evil\"; configured: \"https://token.actions.githubusercontent.com\""
    );
    assert_eq!(
        Verifier::new().verify(&evil, NOW).unwrap_err().to_string(),
        "no configured OIDC issuer is \"https://evil\"; configured: none"
    );
    assert_eq!(refusal(&issued(issuer_key(), &without(claims(), "iss"))), "JWT has no iss claim; it names the issuer");
}

#[test]
fn a_wrong_audience_is_refused_naming_both() {
    let other = issued(issuer_key(), &with(claims(), "aud", json!("other")));
    assert_eq!(refusal(&other), "JWT audience [\"other\"] does not include any of [\"dossier\", \"https://dossier.example.com\"]");
    let none = issued(issuer_key(), &with(claims(), "aud", json!([])));
    assert_eq!(refusal(&none), "JWT audience [] does not include any of [\"dossier\", \"https://dossier.example.com\"]");
    assert_eq!(
        refusal(&issued(issuer_key(), &with(claims(), "aud", json!(["dossier", 7])))),
        "JWT claim aud is an array holding a non-string, not a string or an array of strings; it must name one of [\"dossier\", \"https://dossier.example.com\"]"
    );
    assert_eq!(
        refusal(&issued(issuer_key(), &without(claims(), "aud"))),
        "JWT has no aud claim; it must name one of [\"dossier\", \"https://dossier.example.com\"]"
    );
}

#[test]
fn alg_none_is_refused_whatever_its_spelling() {
    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": "gh-1"});
        let unsigned = format!("{}.{}.", b64(header.to_string().as_bytes()), b64(claims().to_string().as_bytes()));
        assert_eq!(
            refusal(&unsigned),
            format!("JWT algorithm {alg} is refused: the key \"gh-1\" of {GITHUB} is RS256; an unsigned JWT proves nothing")
        );
    }
    // Without kid, every key of the issuer is named.
    let unsigned = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims().to_string().as_bytes()));
    assert_eq!(
        verifier().verify(&unsigned, NOW).unwrap_err(),
        JwtRefusal::AlgNone { alg: "none".into(), keys: format!("the key \"gh-1\" of {GITHUB} is RS256") }
    );
}

#[test]
fn an_hmac_signed_with_the_issuers_public_key_is_refused() {
    let key = issuer_key();
    let jwk_text = key.jwk.to_string();
    let secrets: [&[u8]; 3] = [key.public_pem.as_bytes(), &key.public_der, jwk_text.as_bytes()];
    for secret in secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let name = serde_json::to_value(alg).unwrap();
            let forged = sign(&json!({"alg": name, "kid": "gh-1"}), &claims(), &EncodingKey::from_secret(secret), alg);
            assert_eq!(
                refusal(&forged),
                format!(
                    "JWT algorithm {} is refused: the key \"gh-1\" of {GITHUB} is RS256; HMAC would take a public key for a shared secret",
                    name.as_str().unwrap()
                )
            );
        }
    }
}

#[test]
fn a_token_signed_by_another_key_with_the_same_kid_is_refused() {
    let attacker = &keys().1;
    assert_eq!(attacker.jwk["kid"], "gh-1");
    let forged = issued(attacker, &claims());
    assert_eq!(refusal(&forged), format!("JWT signature does not verify under the key \"gh-1\" of {GITHUB} (RS256)"));
    // A valid token with its claims changed after signing fails the same way.
    let good = issued(issuer_key(), &claims());
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(with(claims(), "repository", json!("acme/web")).to_string().as_bytes()), parts[2]);
    assert!(matches!(verifier().verify(&tampered, NOW), Err(JwtRefusal::BadSignature { .. })));
    // And with its signature cut off.
    let cut = format!("{}.{}.", parts[0], parts[1]);
    assert!(matches!(verifier().verify(&cut, NOW), Err(JwtRefusal::BadSignature { .. })));
}

#[test]
fn the_header_alg_must_be_the_keys() {
    // An RS384 header on an RS256 key; a PS256 one; an ES256 one.
    for (alg, sig_alg) in [("RS384", Algorithm::RS384), ("PS256", Algorithm::PS256), ("ES256", Algorithm::RS256)] {
        let jwt = sign(&json!({"alg": alg, "kid": "gh-1"}), &claims(), &issuer_key().signing, sig_alg);
        assert_eq!(refusal(&jwt), format!("JWT algorithm {alg} is refused: the key \"gh-1\" of {GITHUB} is RS256"));
    }
    let jwt = sign(&json!({"alg": "rs256", "kid": "gh-1"}), &claims(), &issuer_key().signing, Algorithm::RS256);
    assert_eq!(
        refusal(&jwt),
        "JWT algorithm \"rs256\" is not supported; the algorithms are RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA"
    );
    // An RSA key without alg takes the RS family, no other.
    let mut jwk = issuer_key().jwk.clone();
    jwk.as_object_mut().unwrap().remove("alg");
    let mut v = Verifier::new();
    v.add(github_config(), Jwks::from_json(json!({"keys": [jwk]}).to_string().as_bytes()).unwrap()).unwrap();
    let rs384 = sign(&json!({"alg": "RS384", "kid": "gh-1"}), &claims(), &issuer_key().signing, Algorithm::RS384);
    assert!(v.verify(&rs384, NOW).is_ok());
    let ps256 = sign(&json!({"alg": "PS256", "kid": "gh-1"}), &claims(), &issuer_key().signing, Algorithm::PS256);
    assert_eq!(
        v.verify(&ps256, NOW).unwrap_err().to_string(),
        format!("JWT algorithm PS256 is refused: the key \"gh-1\" of {GITHUB} is RS256/RS384/RS512")
    );
    // A critical extension is not understood.
    let crit =
        sign(&json!({"alg": "RS256", "kid": "gh-1", "crit": ["b64"], "b64": false}), &claims(), &issuer_key().signing, Algorithm::RS256);
    assert_eq!(refusal(&crit), "JWT header lists critical extensions ([\"b64\"]); none is understood here");
}

#[test]
fn ec_and_ed25519_issuers_and_tokens_without_kid() {
    let (ec, ed) = (ec_key("ec-1"), ed_key("ed-1"));
    let mut v = Verifier::new();
    v.add(github_config(), jwks(&[issuer_key(), &ec, &ed])).unwrap();
    for key in [&ec, &ed, issuer_key()] {
        assert_eq!(v.verify(&issued(key, &claims()), NOW).unwrap().name.as_str(), "github:acme/api");
        // Without kid, each key of the algorithm is tried.
        let alg = serde_json::to_value(key.alg).unwrap();
        let no_kid = sign(&json!({"alg": alg}), &claims(), &key.signing, key.alg);
        assert!(v.verify(&no_kid, NOW).is_ok());
    }
    // An ES256 header naming the RSA key, an RS256 header naming the EC key.
    let jwt = sign(&json!({"alg": "ES256", "kid": "gh-1"}), &claims(), &ec.signing, Algorithm::ES256);
    assert_eq!(
        v.verify(&jwt, NOW).unwrap_err().to_string(),
        format!("JWT algorithm ES256 is refused: the key \"gh-1\" of {GITHUB} is RS256")
    );
    let jwt = sign(&json!({"alg": "RS256", "kid": "ec-1"}), &claims(), &issuer_key().signing, Algorithm::RS256);
    assert_eq!(
        v.verify(&jwt, NOW).unwrap_err().to_string(),
        format!("JWT algorithm RS256 is refused: the key \"ec-1\" of {GITHUB} is ES256")
    );
    // No ES384 key at all, for a JWT without kid.
    let jwt = sign(&json!({"alg": "ES384"}), &claims(), &ec.signing, Algorithm::ES256);
    assert_eq!(
        v.verify(&jwt, NOW).unwrap_err().to_string(),
        format!("{GITHUB} has no ES384 key for a JWT without kid; its JWK Set may need refreshing")
    );
}

#[test]
fn an_unknown_kid_asks_for_a_refresh_and_the_new_keys_verify() {
    let rotated = ec_key("gh-2");
    let jwt = issued(&rotated, &claims());
    let mut v = verifier();
    let refused = v.verify(&jwt, NOW).unwrap_err();
    assert_eq!(refused.to_string(), format!("{GITHUB} has no key \"gh-2\" (its keys: \"gh-1\"); its JWK Set may need refreshing"));
    assert_eq!(refused.refresh_hint(), Some(GITHUB));
    assert_eq!(v.knows_kid(GITHUB, "gh-2"), Some(false));
    assert_eq!(v.knows_kid("https://evil", "gh-2"), None);
    assert_eq!(Verifier::peek(&jwt).unwrap(), Peek { issuer: GITHUB.into(), kid: Some("gh-2".into()), alg: "ES256".into() });
    assert_eq!(Verifier::peek_issuer(&jwt).unwrap(), GITHUB);
    let old = v.set_jwks(GITHUB, jwks(&[issuer_key(), &rotated])).unwrap();
    assert_eq!(old.kids(), ["gh-1"]);
    assert!(v.verify(&jwt, NOW).is_ok());
    assert!(v.set_jwks("https://evil", Jwks::empty()).is_none());
    // An issuer whose keys are not fetched yet asks for them too.
    let mut empty = Verifier::new();
    empty.add(github_config(), Jwks::empty()).unwrap();
    assert_eq!(empty.verify(&jwt, NOW).unwrap_err().refresh_hint(), Some(GITHUB));
    // Other refusals do not.
    assert_eq!(v.verify(&issued(&rotated, &with(claims(), "exp", json!(T))), NOW).unwrap_err().refresh_hint(), None);
}

#[test]
fn claim_requirements_must_be_met() {
    let evil = issued(issuer_key(), &with(claims(), "repository_owner", json!("evil")));
    assert_eq!(refusal(&evil), format!("JWT claim repository_owner = \"evil\" does not match \"acme\", which {GITHUB} requires"));
    // `*` stays within a segment: a branch below refs/heads/ with a slash is not refs/heads/*.
    let nested = issued(issuer_key(), &with(claims(), "ref", json!("refs/heads/feature/x")));
    assert_eq!(
        refusal(&nested),
        format!("JWT claim ref = \"refs/heads/feature/x\" does not match \"refs/heads/*\", which {GITHUB} requires")
    );
    assert_eq!(
        refusal(&issued(issuer_key(), &without(claims(), "ref"))),
        format!("JWT has no ref claim; {GITHUB} requires it to match \"refs/heads/*\"")
    );
    assert_eq!(
        refusal(&issued(issuer_key(), &with(claims(), "repository_owner", json!(["acme"])))),
        format!("JWT claim repository_owner is an array, not a string; {GITHUB} requires it to match \"acme\"")
    );
}

#[test]
fn a_repository_value_with_glob_characters_does_not_widen_the_sources() {
    // A principal named by the repository's number, so that only the patterns see the name.
    let by_id: IssuerConfig = toml::from_str(&GITHUB_TOML.replace("github:{repository}", "github:{repository_id}")).unwrap();
    let mut v = Verifier::new();
    v.add(by_id, jwks(&[issuer_key()])).unwrap();
    for (repository, escaped, widened) in [
        ("acme/a*", "acme/a\\*", "acme/api"),
        ("acme/**", "acme/\\*\\*", "acme/api"),
        ("acme/ap?", "acme/ap\\?", "acme/api"),
        ("acme/[a-z]pi", "acme/\\[a-z\\]pi", "acme/api"),
        ("acme/{api,web}", "acme/\\{api\\,web\\}", "acme/web"),
        ("acme/x\\", "acme/x\\\\", "acme/x/api"),
    ] {
        let claims = with(with(claims(), "repository", json!(repository)), "repository_id", json!("4242"));
        let p = v.verify(&issued(issuer_key(), &claims), NOW).unwrap();
        assert_eq!(p.name.as_str(), "github:4242");
        assert_eq!(p.sources.texts(), [format!("https://github.com/{escaped}/**")]);
        assert!(p.may_send_from(&format!("https://github.com/{repository}/run/1")).is_ok(), "{repository}");
        assert!(p.may_send_from(&format!("https://github.com/{widened}/run/1")).is_err(), "{repository}");
    }
    // Where the name is the principal's, `*` is refused outright.
    assert_eq!(
        refusal(&issued(issuer_key(), &with(claims(), "repository", json!("acme/a*")))),
        "JWT claims make an unusable principal name: name \"github:acme/a*\" has a character that is not allowed; a principal's name is 1 to 200 letters, digits and . _ - : @ / +"
    );
    let braces = issued(issuer_key(), &with(claims(), "repository", json!("acme/{api,web}")));
    let p = verifier().verify(&braces, NOW);
    // `{` is not a principal's character: the name refuses it before any pattern is made.
    assert_eq!(
        p.unwrap_err().to_string(),
        "JWT claims make an unusable principal name: name \"github:acme/{api,web}\" has a character that is not allowed; a principal's name is 1 to 200 letters, digits and . _ - : @ / +"
    );
    let up = issued(issuer_key(), &with(claims(), "repository", json!("acme/../evil")));
    assert_eq!(refusal(&up), "JWT claim repository = \"acme/../evil\" cannot go into principal: it has a /.. (a step up a path)");
}

#[test]
fn a_missing_or_non_string_claim_is_named() {
    assert_eq!(
        refusal(&issued(issuer_key(), &without(claims(), "repository"))),
        format!("JWT has no repository claim; principal of {GITHUB} is made from it")
    );
    assert_eq!(
        refusal(&issued(issuer_key(), &with(claims(), "repository", json!(42)))),
        format!("JWT claim repository is a number, not a string; principal of {GITHUB} is made from it")
    );
    assert_eq!(refusal(&issued(issuer_key(), &without(claims(), "sub"))), "JWT has no sub claim; it names the credential's subject");
    // A claim only a pattern uses is named with that pattern.
    let mut config = github_config();
    config.sources.push("https://github.com/{job_workflow_ref}".into());
    let mut v = Verifier::new();
    v.add(config, jwks(&[issuer_key()])).unwrap();
    assert_eq!(
        v.verify(&issued(issuer_key(), &without(claims(), "job_workflow_ref")), NOW).unwrap_err().to_string(),
        format!("JWT has no job_workflow_ref claim; sources[1] of {GITHUB} is made from it")
    );
}

#[test]
fn an_oversized_jwt_is_refused_before_decoding() {
    let huge = "a".repeat(MAX_JWT_BYTES + 1);
    assert_eq!(refusal(&huge), "JWT is 16385 bytes long; at most 16384 are read");
    let big_claims = with(claims(), "padding", json!("x".repeat(MAX_JWT_BYTES)));
    assert!(matches!(verifier().verify(&issued(issuer_key(), &big_claims), NOW), Err(JwtRefusal::TooLong { .. })));
}

#[test]
fn garbage_is_refused_saying_what_is_wrong() {
    let cases = [
        ("", "malformed JWT: it is empty"),
        ("Bearer abc", "malformed JWT: it has ' ' at byte 6; a JWT is base64url parts separated by dots"),
        ("abc", "malformed JWT: it has 1 parts; a signed JWT has 3: header.claims.signature"),
        ("a.b.c.d.e", "malformed JWT: it has 5 parts: an encrypted JWT (JWE) is not accepted, a signed one has 3"),
        ("a.b.c", "malformed JWT header: it is not base64url: Invalid input length: 1"),
        ("e30=.e30.", "malformed JWT: it has '=' at byte 3; a JWT is base64url parts separated by dots"),
        ("bm90IGpzb24.e30.", "malformed JWT header: expected ident at line 1 column 2"),
        ("WzFd.e30.", "malformed JWT header: invalid type: sequence, expected a JSON object at line 1 column 0"),
        ("e30.e30.", "malformed JWT header: it has no alg"),
        ("eyJhbGciOjF9.e30.", "malformed JWT header: its alg is a number, not a string"),
    ];
    for (jwt, message) in cases {
        assert_eq!(refusal(jwt), message, "{jwt:?}");
    }
    // Nested too deep, or iss twice.
    let deep = format!("{{\"alg\":\"RS256\",\"x\":{}{}}}", "[".repeat(20), "]".repeat(20));
    let jwt = format!("{}.{}.", b64(deep.as_bytes()), b64(b"{}"));
    assert_eq!(refusal(&jwt), "malformed JWT header: it nests arrays and objects deeper than 16 levels");
    let twice = br#"{"iss":"https://evil","iss":"https://token.actions.githubusercontent.com"}"#;
    let jwt = format!("{}.{}.", b64(br#"{"alg":"RS256"}"#), b64(twice));
    assert_eq!(refusal(&jwt), "malformed JWT claims: the member \"iss\" appears twice at line 1 column 74");
    // A signature that is not base64url (a lone final character).
    let good = issued(issuer_key(), &claims());
    let bad_sig = format!("{}A", &good[..good.rfind('.').unwrap() + 1]);
    assert!(matches!(verifier().verify(&bad_sig, NOW), Err(JwtRefusal::Malformed { part: "signature", .. })));
}

#[test]
fn jwks_keep_only_asymmetric_signing_keys() {
    let rsa = issuer_key().jwk.clone();
    let mut enc = rsa.clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc-1");
    let mut hs = rsa.clone();
    hs["alg"] = json!("HS256");
    let mut es_on_rsa = rsa.clone();
    es_on_rsa["alg"] = json!("ES256");
    let mut private = rsa.clone();
    private["d"] = json!("AAAA");
    let mut verify_only = rsa.clone();
    verify_only["key_ops"] = json!(["encrypt"]);
    let small = json!({"kty": "RSA", "n": b64(&[0xC5; 128]), "e": "AQAB"});
    let oct = json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"});
    let p521 = json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"});
    let short_ec = json!({"kty": "EC", "crv": "P-256", "x": b64(&[1; 31]), "y": b64(&[1; 32])});
    let set = json!({"keys": [oct, enc, hs, es_on_rsa, private, verify_only, small, p521, short_ec, "x", rsa]});
    let jwks = Jwks::from_json(set.to_string().as_bytes()).unwrap();
    assert_eq!(jwks.kids(), ["gh-1"]);
    assert_eq!(jwks.keys()[0].algorithms(), [SigningAlgorithm::RS256]);
    let skipped: Vec<String> = jwks.skipped().iter().map(ToString::to_string).collect();
    assert_eq!(
        skipped,
        [
            "key 0 (\"hmac\"): is a symmetric (oct) key: an issuer's JWTs are verified with public keys only",
            "key 1 (\"enc-1\"): is for use \"enc\", not sig",
            "key 2 (\"gh-1\"): has alg \"HS256\", not an asymmetric signature algorithm",
            "key 3 (\"gh-1\"): is an RSA key with alg ES256, which needs an EC key",
            "key 4 (\"gh-1\"): holds private key material (d); publish the public key only",
            "key 5 (\"gh-1\"): its key_ops do not include verify",
            "key 6: is an RSA key of 1024 bits; 2048 to 8192 are accepted",
            "key 7: is on curve \"P-521\"; P-256 and P-384 are accepted",
            "key 8: a P-256 point has coordinates of 32 bytes, not 31 and 32",
            "key 9: is a string, not an object",
        ]
    );
    assert_eq!(
        Jwks::from_json(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string().as_bytes()).unwrap_err().to_string(),
        "the JWK Set holds no usable signing key; left out: key 0: is a symmetric (oct) key: an issuer's JWTs are verified with public keys only"
    );
    assert_eq!(Jwks::from_json(b"{}").unwrap_err(), JwksError::NotASet);
    assert!(matches!(Jwks::from_json(b"not json"), Err(JwksError::Json(_))));
    assert!(matches!(Jwks::from_json(&vec![b' '; 300 * 1024]), Err(JwksError::TooLarge { .. })));
    let many = json!({"keys": vec![issuer_key().jwk.clone(); 65]});
    assert_eq!(Jwks::from_json(many.to_string().as_bytes()).unwrap_err().to_string(), "the JWK Set holds 65 keys; at most 64 are read");
}

fn config_error(toml_text: &str) -> String {
    let config: IssuerConfig = toml::from_str(toml_text).unwrap();
    config.validate().unwrap_err().to_string()
}

#[test]
fn configurations_are_read_from_toml_and_checked_naming_the_field() {
    let config = github_config();
    assert_eq!(config.leeway_seconds, 60);
    assert_eq!(config.audience.as_slice(), ["dossier", "https://dossier.example.com"]);
    assert_eq!(config.jwks_source(), JwksSource::Url("https://token.actions.githubusercontent.com/.well-known/jwks"));
    assert_eq!(config.validate(), Ok(()));
    let file: IssuerConfig =
        toml::from_str(&GITHUB_TOML.replace("https://token.actions.githubusercontent.com/.well-known/jwks", "/etc/jwks.json")).unwrap();
    assert_eq!(file.jwks_source(), JwksSource::File(std::path::Path::new("/etc/jwks.json")));
    let one: IssuerConfig = toml::from_str(&GITHUB_TOML.replace(r#"["dossier", "https://dossier.example.com"]"#, r#""dossier""#)).unwrap();
    assert_eq!(one.audience.as_slice(), ["dossier"]);

    let unknown = toml::from_str::<IssuerConfig>(&format!("{GITHUB_TOML}\nsubject = \"x\"")).unwrap_err().to_string();
    assert!(unknown.contains("unknown field `subject`"), "{unknown}");

    let cases = [
        (("issuer = \"https://token.actions.githubusercontent.com\"", "issuer = \"\""), "[[oidc]] issuer \"\": issuer: is empty; give the exact iss of the issuer's JWTs"),
        (("audience = [\"dossier\", \"https://dossier.example.com\"]", "audience = []"), "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": audience: names no audience; give the aud the JWTs are issued for"),
        (("jwks = \"https://token.actions.githubusercontent.com/.well-known/jwks\"", "jwks = \"http://example.com/jwks\""), "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": jwks: is a http:// URL; a JWK Set is fetched over https:// only, or read from a file path"),
        (("principal = \"github:{repository}\"", "principal = \"github:{repository\""), "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": principal: the { at byte 7 is not closed; write {{ for a literal {"),
        (("principal = \"github:{repository}\"", "principal = \"github {repository}\""), "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": principal: with sample for each claim: name \"github sample\" has a character that is not allowed; a principal's name is 1 to 200 letters, digits and . _ - : @ / +"),
        (("sources = [\"https://github.com/{repository}/**\"]", "sources = [\"https://github.com/{repository}/[x\"]"), "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": sources[0]: with sample for each claim: pattern \"https://github.com/sample/[x\": unclosed character class; missing ']'"),
        (("claims = { repository_owner = \"acme\", ref = \"refs/heads/*\" }", "claims = { \"a b\" = \"x\" }"), "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": claims.a b: \"a b\" is not a claim name: letters, digits and _ - . : only, or a JSON pointer such as /kubernetes.io/namespace"),
        (("claims = { repository_owner = \"acme\", ref = \"refs/heads/*\" }", "claims = { ref = \"[\" }"), "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": claims.ref: pattern \"[\": unclosed character class; missing ']'"),
    ];
    for ((from, to), message) in cases {
        assert!(GITHUB_TOML.contains(from), "{from}");
        assert_eq!(config_error(&GITHUB_TOML.replace(from, to)), message);
    }
    assert_eq!(
        config_error(&format!("{GITHUB_TOML}leeway_seconds = 3600")),
        "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": leeway_seconds: 3600 is more than 600"
    );
    // A pattern or a principal naming no claim, with no requirement narrowing who gets it.
    let open = GITHUB_TOML.replace("claims = { repository_owner = \"acme\", ref = \"refs/heads/*\" }", "").replace("{repository}/**", "**");
    assert_eq!(
        config_error(&open),
        "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": sources[0]: \"https://github.com/**\" names no claim and no [claims] requirement narrows who gets it: every workload that https://token.actions.githubusercontent.com signs for would get it; add a claims requirement (e.g. repository_owner) or a {claim} in the pattern"
    );
    let fixed = GITHUB_TOML
        .replace("claims = { repository_owner = \"acme\", ref = \"refs/heads/*\" }", "")
        .replace("github:{repository}", "github");
    assert_eq!(
        config_error(&fixed),
        "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": principal: \"github\" names no claim and no [claims] requirement narrows who it is: every workload that https://token.actions.githubusercontent.com signs for would be it; add a {claim} (e.g. github:{repository}) or a claims requirement"
    );
    // The same issuer twice.
    let mut v = verifier();
    assert_eq!(
        v.add(github_config(), Jwks::empty()),
        Err(ConfigError { issuer: GITHUB.into(), field: "issuer".into(), reason: "is configured twice".into() })
    );
}

/// The ```toml blocks of a text (a Markdown file, or `//!` lines).
fn toml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_start().strip_prefix("//!").map_or(line, |l| l.strip_prefix(' ').unwrap_or(l));
        match (&mut current, line.trim()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_documented_presets_load_and_map_their_platforms_tokens() {
    #[derive(serde::Deserialize)]
    struct File {
        oidc: Vec<IssuerConfig>,
    }
    for (doc, text) in [("docs/oidc.md", include_str!("../../../docs/oidc.md")), ("src/oidc.rs", include_str!("../src/oidc.rs"))] {
        let blocks = toml_blocks(text);
        assert_eq!(blocks.len(), 3, "{doc}");
        let configs: Vec<IssuerConfig> = blocks.iter().flat_map(|b| toml::from_str::<File>(b).unwrap().oidc).collect();
        let mut v = Verifier::new();
        let key = issuer_key();
        for c in &configs {
            v.add(c.clone(), jwks(&[key])).unwrap_or_else(|e| panic!("{doc}: {e}"));
        }
        let aud = |i: usize| configs[i].audience.as_slice()[0].clone();
        let base = json!({"iat": T, "exp": T + 600});
        let github = json!({"iss": GITHUB, "aud": aud(0), "sub": "repo:acme/api:ref:refs/heads/main", "repository": "acme/api",
            "repository_owner": "acme", "job_workflow_ref": "acme/api/.github/workflows/release.yml@refs/heads/main"});
        let gitlab = json!({"iss": "https://gitlab.com", "aud": aud(1), "sub": "project_path:acme/api:ref_type:branch:ref:main",
            "project_path": "acme/api", "namespace_path": "acme", "ref_protected": "true"});
        let k8s = json!({"iss": "https://kubernetes.default.svc.cluster.local", "aud": [aud(2)], "sub": "system:serviceaccount:ci:deployer",
            "kubernetes.io": {"namespace": "ci", "serviceaccount": {"name": "deployer"}}});
        let expected = [
            (github, "github:acme/api", "https://github.com/acme/api/**"),
            (gitlab, "gitlab:acme/api", "https://gitlab.com/acme/api/**"),
            (k8s, "k8s:system:serviceaccount:ci:deployer", "/k8s/ci/**"),
        ];
        for (mut claims, name, source) in expected {
            claims.as_object_mut().unwrap().extend(base.as_object().unwrap().clone());
            let p = v.verify(&issued(key, &claims), NOW).unwrap_or_else(|e| panic!("{doc}: {e}"));
            assert_eq!((p.name.as_str(), p.sources.texts()), (name, vec![source]), "{doc}");
        }
        // GitLab's unprotected branches are not let in.
        let unprotected = json!({"iss": "https://gitlab.com", "aud": aud(1), "sub": "x", "project_path": "acme/api",
            "namespace_path": "acme", "ref_protected": "false", "iat": T, "exp": T + 600});
        assert!(matches!(v.verify(&issued(key, &unprotected), NOW), Err(JwtRefusal::ClaimMismatch { .. })), "{doc}");
    }
}

#[test]
fn a_verifier_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<Verifier>();
    shared::<JwtRefusal>();
}

/// A scope no pattern narrows, given to every workload a public issuer signs for, is refused
/// without a claims requirement saying whose.
#[test]
fn read_for_every_repository_in_the_world_is_refused_without_claims() {
    let config: dossier_auth::oidc::IssuerConfig = toml::from_str(
        r#"issuer = "https://token.actions.githubusercontent.com"
audience = "dossier"
jwks = "jwks.json"
principal = "github:{repository}"
sources = ["https://github.com/{repository}/**"]
scopes = ["events:write", "read"]"#,
    )
    .unwrap();
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.starts_with(
            "[[oidc]] issuer \"https://token.actions.githubusercontent.com\": claims: is empty, yet the scopes read are not narrowed"
        ),
        "{err}"
    );
}
