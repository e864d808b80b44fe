//! The policy engine.
//!
//! * [`decide`]: the one `decide(entry, moment)` — live evaluation, replay and the gate call it.
//! * [`policy`]: the policy service (the loaded set, reload, upload) and its thread, which
//!   evaluates every committed entry and records versions, decisions and what actions emit.
//! * [`action`]: what policies may ask for ([`action::Action`]) and what came of it
//!   ([`action::Outcome`]), and the one function that makes action ids.
//! * [`actions`]: the workers that run webhooks and tools, each run as evidence; [`tools`]: the
//!   operator's tools.
//! * [`run`]: what a webhook or tool run came to ([`run::RunOutcome`]).
//! * [`gate`]: the deployment gate — a deployment decided before it happens, every decision an
//!   entry in the log.
//! * [`replay`]: a policy over stored history, acting on nothing.
//! * [`report`]: the report of a period for auditors, every section counted in full.
//! * [`expiry`]: the announcer of exception expiries.
//!
//! Architecture invariant: the engine reads the log and the views and appends its own entries;
//! it knows nothing of HTTP, of the dashboard, or of which store backend is used.

pub mod action;
pub mod actions;
pub mod decide;
pub mod expiry;
pub mod gate;
pub mod policy;
pub mod replay;
pub mod report;
pub mod run;
pub mod tools;

pub use decide::{decide, Context, Evaluation, Moment, Why};
pub use dossier_policy::OnError;
pub use policy::PolicyService;
