//! Dossier's policy engine.
//!
//! Policies are Rego modules (OPA's language, run by the `regorus` interpreter). Each declares,
//! in Rego, what triggers it and how it runs:
//!
//! ```rego
//! package dossier.sbom_required
//!
//! triggers := ["dev.cdevents.artifact.published.*"]   # event type globs (required)
//! mode := "enforce"                                    # enforce | audit | disabled (default enforce)
//! allowed_actions := ["emit", "webhook"]               # kinds of action it may ask for
//!
//! deny contains msg if { ... }                         # decisions
//! warn contains msg if { ... }
//! actions contains {"kind": "emit", ...} if { ... }    # actions
//! ```
//!
//! [`PolicySet`] loads a directory of them (refusing a module that does not compile, with its
//! line and message), and [`PolicySet::evaluate`] runs the policies an event triggers over an
//! input document and returns one [`Decision`] each. Modules named `*_test.rego` hold Rego unit
//! tests (`test_*` rules), run by [`PolicySet::run_tests`].

mod builtins;
pub mod bundle;
mod calls;
pub mod input;
mod policy;
mod set;

pub use calls::not_provided;
pub use policy::{Mode, OnError, Policy};
pub use set::{filter_params, Decision, EventsFn, Library, LoadError, PolicySet, QueryError, TestOutcome, TestResult};
