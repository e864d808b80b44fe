//! OIDC workload identity: a CI job or a pod sends the JWT its platform gives it (GitHub
//! Actions, GitLab CI, a Kubernetes service account) instead of a stored secret. The JWT is
//! verified against its issuer's JWK Set and its claims are mapped to a [`Principal`] and to
//! the sources and artifacts it may write about.
//!
//! Nothing here fetches or reads anything: the server reads each `[[oidc]]` table of its
//! configuration into an [`IssuerConfig`], reads or fetches the JWK Set it names
//! ([`IssuerConfig::jwks_source`]) into a [`Jwks`], adds both to a [`Verifier`], and calls
//! [`Verifier::verify`] with the JWT and the time. When a refusal has a
//! [`JwtRefusal::refresh_hint`] (a `kid` the issuer's keys do not hold: it rotated them), the
//! server may fetch that issuer's JWK Set again, rate-limited, [`Verifier::set_jwks`], and retry.
//!
//! What is checked, in order: the JWT's size (at most [`MAX_JWT_BYTES`]) and shape (three
//! base64url parts; header and claims JSON objects, at most [`MAX_JSON_DEPTH`] levels deep,
//! each member once); its `iss`, which must be a configured issuer exactly; its algorithm, which
//! is the key's and never the header's: a header saying `none`, any `HS*` (HMAC, which would
//! take the issuer's public key for a shared secret), or an algorithm other than its key's is
//! refused; a `crit` header is refused; the key is found by `kid` (or, without one, each key
//! of the algorithm is tried); then the signature; then `aud` (one of the configured
//! audiences), `exp` (required), `nbf` and `iat`, with the configured leeway; then the
//! configured claim requirements; then the principal's name and patterns are made from the
//! templates. Keys embedded in or pointed to by a JWT header (`jwk`, `jku`, `x5u`, `x5c`) are
//! never used.
//!
//! # Templates
//!
//! `principal`, `sources` and `artifacts` are templates: `{repository}` is replaced by the
//! string claim `repository`, `{/kubernetes.io/namespace}` by the claim a JSON pointer names;
//! `{{` and `}}` are literal braces. A claim that is missing or not a string refuses the JWT,
//! naming the claim; so does a value that is empty, has a control character or a `/..`. In
//! `sources` and `artifacts` a value is glob-escaped: a repository named `a*` gives the
//! pattern `https://github.com/a\*/**`, which matches only that repository. A pattern or a
//! principal with no `{claim}` is refused at load unless `claims` narrows who gets it: an
//! issuer such as GitHub's signs for every workflow of every repository in the world.
//!
//! # Presets
//!
//! GitHub Actions (the workflow needs `permissions: id-token: write` and asks for its JWT with
//! the audience below):
//!
//! ```toml
//! [[oidc]]
//! issuer = "https://token.actions.githubusercontent.com"
//! audience = "https://dossier.example.com"
//! jwks = "https://token.actions.githubusercontent.com/.well-known/jwks"
//! principal = "github:{repository}"
//! sources = ["https://github.com/{repository}/**"]
//! scopes = ["events:write", "documents:write"]
//! artifacts = ["pkg:github/{repository}@*"]
//! # Only the organisation's repositories, and only from its release workflow on main:
//! claims = { repository_owner = "acme", job_workflow_ref = "acme/*/.github/workflows/release.yml@refs/heads/main" }
//! ```
//!
//! GitLab CI (an `id_tokens:` entry of the job with `aud: https://dossier.example.com`):
//!
//! ```toml
//! [[oidc]]
//! issuer = "https://gitlab.com"
//! audience = "https://dossier.example.com"
//! jwks = "https://gitlab.com/oauth/discovery/keys"
//! principal = "gitlab:{project_path}"
//! sources = ["https://gitlab.com/{project_path}/**"]
//! scopes = ["events:write"]
//! claims = { namespace_path = "acme", ref_protected = "true" }
//! ```
//!
//! Kubernetes service accounts (a projected token with `audience: dossier`; the JWK Set from
//! `kubectl get --raw /openid/v1/jwks`, or the cluster's URL when it serves one):
//!
//! ```toml
//! [[oidc]]
//! issuer = "https://kubernetes.default.svc.cluster.local"
//! audience = "dossier"
//! jwks = "/etc/dossier/k8s-jwks.json"
//! principal = "k8s:{sub}"
//! sources = ["/k8s/{/kubernetes.io/namespace}/**"]
//! scopes = ["events:write"]
//! claims = { sub = "system:serviceaccount:ci:*" }
//! leeway_seconds = 30
//! ```
//!
//! [`Principal`]: crate::Principal

mod config;
mod json;
mod jwks;
mod template;
mod verify;

pub use config::{Audiences, ConfigError, IssuerConfig, JwksSource, DEFAULT_LEEWAY_SECONDS, MAX_LEEWAY_SECONDS};
pub use json::MAX_DEPTH as MAX_JSON_DEPTH;
pub use jwks::{Jwks, JwksError, Key, SigningAlgorithm, SkippedKey, MAX_JWKS_BYTES, MAX_KEYS};
pub use verify::{JwtRefusal, Peek, Verifier, MAX_JWT_BYTES};
