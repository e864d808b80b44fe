//! Any bytes, as a credential: an API token (its parser, and a book holding one token), a JWT
//! (peeked and verified against a fixed issuer), and a JWT made of the bytes' pieces — base64url
//! header and claims, both unsigned and signed with the issuer's own Ed25519 key so that the
//! claim checks and the templates are reached. Nothing panics; only the book's one token
//! authenticates; a verified principal is the one its `sub` names, and its sources never reach past
//! its own repository, whatever glob characters the repository's name holds.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use dossier_auth::oidc::{IssuerConfig, Jwks, Verifier};
use dossier_auth::token::{self, Book, TOKEN_LEN};
use dossier_auth::{Principal, Scopes};
use dossier_core::own::{OwnType, TOKENS_SOURCE};
use libfuzzer_sys::fuzz_target;
use ring::signature::{Ed25519KeyPair, KeyPair as _};

const ISSUER: &str = "https://fuzz.example";
/// 2027-01-15T08:00:00Z.
const NOW: i64 = 1_800_000_000;
/// An RSA 2048 and a P-256 public key, made for this target (their private halves were thrown away).
const RSA_N: &str = "2z1fjh1W4wbSJrmJPV-TticHrKif1wIN8llGgNl8YA4Eof7uGNLQSJfA-TO38y3zmuwi7tPy9ruas7zGqvn7L1G1aln80kzYwH3dRubVHgwm2Q3ZBQGsQVV1lZxGDYF3fGFwcxuTonucgvbexHTU2WVIv_ahPK7kN5O0s18fNyn9dD1HDKATXdk6XHouDQtQ8MHXr7n9dPpWHfXh6RpB5rMRWXRQW0BxwsqfPQU8Sh4K7_u8yMOHt_mtTJXL62w8cXhxvjk3B5so9Krt_csbdJAa4C9V7NgGlKDGFYTNGWtTO3brqkCnhvJ5-6YtC9deA1VQrWJ24eKptMdbt2iFgQ";
const EC_X: &str = "TH_4pe89iXxMizJ8IrLDGqA-5GKDDm4QuJY4Ygq7HJk";
const EC_Y: &str = "_jy4AYLdoD55DPsntQ_7ixFmZlQW2rvOJ4LAPWR0aXQ";

struct Fixture {
    book: Book,
    token: String,
    verifier: Verifier,
    signer: Ed25519KeyPair,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (id, token) = token::from_random(&[7; 38]);
        let mut book = Book::new();
        let grant = serde_json::json!({"id": id, "name": "jenkins", "scopes": ["events:write"], "sources": ["/ci/jenkins/**"],
            "hash": token::hash(&token), "by": "admin"});
        book.apply(TOKENS_SOURCE, OwnType::TokenCreated.as_str(), &grant, 0);
        let signer = Ed25519KeyPair::from_seed_unchecked(&[9; 32]).expect("an Ed25519 key");
        let jwks = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": URL_SAFE_NO_PAD.encode(signer.public_key().as_ref())},
            {"kty": "RSA", "kid": "rsa", "alg": "RS256", "n": RSA_N, "e": "AQAB"},
            {"kty": "EC", "crv": "P-256", "kid": "ec", "x": EC_X, "y": EC_Y},
        ]});
        let config: IssuerConfig = serde_json::from_value(serde_json::json!({
            "issuer": ISSUER, "audience": ["dossier", "other"], "jwks": "https://fuzz.example/jwks",
            "principal": "gh:{sub}", "sources": ["https://github.com/{repository}/**"],
            "artifacts": ["pkg:{/ns/name}/*"], "scopes": ["events:write"],
            "claims": {"repository_owner": "acme*"},
        }))
        .expect("the issuer reads");
        let mut verifier = Verifier::new();
        verifier.add(config, Jwks::from_json(jwks.to_string().as_bytes()).expect("the keys read")).expect("the issuer is valid");
        Fixture { book, token, verifier, signer }
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What holds of any principal the fixed issuer maps a JWT to.
fn check(jwt: &str, verified: Result<Principal, dossier_auth::oidc::JwtRefusal>) {
    let Ok(p) = verified else { return };
    // Only what the issuer signed verifies, and it names its repository.
    let claims = jwt.split('.').nth(1).and_then(|c| URL_SAFE_NO_PAD.decode(c).ok()).expect("a verified JWT has claims");
    let claims: serde_json::Value = serde_json::from_slice(&claims).expect("verified claims are JSON");
    let repository = claims["repository"].as_str().expect("a verified JWT has a repository");
    assert_eq!(p.name.as_str(), format!("gh:{}", claims["sub"].as_str().expect("a verified JWT has a subject")));
    assert_eq!(p.scopes, ["events:write".parse().unwrap()].into_iter().collect::<Scopes>());
    assert!(p.sources.matches(&format!("https://github.com/{repository}/x")), "{repository:?}");
    assert!(!p.sources.matches(&format!("https://github.com/{repository}x/y")), "{repository:?} widened");
    assert!(
        !p.sources.matches("https://github.com/zz-other/repo/x") || "zz-other/repo/x".starts_with(repository),
        "{repository:?} widened"
    );
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let text = String::from_utf8_lossy(data);

    // API tokens.
    if let Ok(presented) = token::parse(&text) {
        assert_eq!(presented.whole, &*text);
        assert_eq!(text.len(), TOKEN_LEN);
    }
    let authenticated = f.book.authenticate(&text, NOW);
    assert_eq!(authenticated.is_ok(), *text == f.token, "{text:?}");
    // The book's token with the bytes written over its start: near misses.
    let mut near = f.token.clone().into_bytes();
    let n = data.len().min(near.len());
    near[..n].copy_from_slice(&data[..n]);
    let near = String::from_utf8_lossy(&near);
    assert_eq!(f.book.authenticate(&near, NOW).is_ok(), *near == f.token);

    // The text as a JWT.
    let _ = dossier_auth::oidc::Verifier::peek(&text);
    check(&text, f.verifier.verify(&text, NOW));

    // The bytes as header \0 claims \0 signature, base64url-encoded; then signed by the issuer.
    let mut pieces = data.splitn(3, |&b| b == 0);
    let (header, claims, signature) =
        (pieces.next().unwrap_or_default(), pieces.next().unwrap_or_default(), pieces.next().unwrap_or_default());
    let input = format!("{}.{}", b64(header), b64(claims));
    let unsigned = format!("{input}.{}", b64(signature));
    check(&unsigned, f.verifier.verify(&unsigned, NOW));
    let signed = format!("{input}.{}", b64(f.signer.sign(input.as_bytes()).as_ref()));
    check(&signed, f.verifier.verify(&signed, NOW));
});
