//! Who may do what, with no I/O: the [`Scope`]s a credential grants, the [`Principal`] a request
//! is made by, API tokens ([`token`]: their format, their hash, and the [`token::Book`] folded
//! from the log's token entries), OIDC workload identity ([`oidc`]: JWTs checked against an
//! issuer's keys and mapped to a principal), HMAC signatures of webhooks ([`webhook`]) and the
//! per-principal token bucket ([`limit`]).
//!
//! Architecture invariant: nothing here reads a clock, a file or the network; the time is
//! always an argument, keys and entries are given, so every decision is a pure function of
//! what it is handed.

pub mod limit;
pub mod oidc;
pub mod pattern;
pub mod principal;
pub mod scope;
pub mod token;
pub mod webhook;

pub use pattern::{Pattern, Patterns};
pub use principal::{Principal, PrincipalName};
pub use scope::{Scope, Scopes};
