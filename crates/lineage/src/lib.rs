//! The lineage graph and live vulnerability impact.
//!
//! Facts ([`Fact`]) come from events: a pipeline run used a commit, an artifact was built by a
//! run, an artifact was built from a commit of its own (its change), an artifact was derived
//! from a parent, a service runs an artifact in an environment, a
//! vulnerability was found in a commit or an artifact — and their removals. [`Graph::apply`]
//! folds one fact in, and keeps two derived views current with work proportional to what the
//! fact changes:
//!
//! * which artifacts each vulnerability affects, through any depth of derivation;
//! * which clusters (environments) run something affected, per vulnerability.
//!
//! Each derived pair carries a support count (the number of reasons it holds: direct findings
//! plus affected parents), so removals are as exact as insertions: a pair disappears when its
//! last reason does. Derivation edges that would close a cycle are refused, which keeps the
//! counts exact. [`Graph::recompute`] derives the same views from scratch; the property tests
//! check they are always equal.
//!
//! Artifacts are also found by part of their name ([`Graph::find_artifacts`], an index kept
//! as they become known, see [`find`]), and seen at a glance ([`Graph::status`]).
//!
//! Artifacts are named as [`dossier_core::artifact_name`] names them (a purl in canonical
//! form), and the questions take any spelling. Every list an answer holds has one stated
//! order, so a graph rebuilt from the log answers exactly as the live one did.

pub mod find;
mod graph;
mod queries;
mod reports;
mod vulns;

pub use dossier_core::{Fact, Severity};
pub use find::ArtifactMatches;
pub use graph::{Graph, ImpactChange, Views};
pub use queries::{
    ArtifactImpact, ArtifactStatus, ClusterRisk, Containing, Deployment, Edge, Impact, Lineage, Reporter, Source, VexWaived,
    VulnerabilitySummary, WaivedDeployment, WaivedIn, Waiver,
};
