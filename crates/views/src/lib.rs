//! Views derived from the evidence log only, each kept current by every commit (a
//! [`dossier_log::Projection`]) and each able to answer about a past moment.
//!
//! * [`lineage`]: the lineage graph (what contains what, what runs where, what a vulnerability
//!   reaches), rebuilt from the log at start; `replay` gives it as of a moment.
//! * [`exceptions`]: the exception book and the operator's rules; asked at a moment.
//! * [`documents`]: what the documents received about an artifact (and its ancestors) say.
//! * [`vulnerabilities`]: one vulnerability with its sources, statements and exceptions.
//!
//! Architecture invariant: views never append to the log; they read entries and nothing else.

pub mod documents;
mod entry;
pub mod exceptions;
pub mod lineage;
pub mod tokens;
pub mod vulnerabilities;

use std::sync::Arc;

use dossier_log::Projection;
use dossier_store::{Store, StoreError};

/// Every view the log keeps current, loaded from the store together.
#[derive(Clone)]
pub struct Views {
    pub lineage: Arc<lineage::LineageView>,
    pub exceptions: Arc<exceptions::ExceptionsView>,
    pub tokens: Arc<tokens::TokensView>,
}

impl Views {
    /// The views of the log as `store` holds it now (load them before the writer starts, so
    /// that no entry is applied twice or missed).
    pub fn load(store: &dyn Store) -> Result<Views, StoreError> {
        Ok(Views {
            lineage: Arc::new(lineage::LineageView::load(store)?),
            exceptions: Arc::new(exceptions::ExceptionsView::load(store)?),
            tokens: Arc::new(tokens::TokensView::load(store)?),
        })
    }

    /// The operator's exception rules, for the exceptions view and the waivers the lineage
    /// graph applies to risk.
    pub fn set_exception_rules(&self, rules: dossier_exceptions::Rules) {
        self.lineage.set_exception_rules(rules.clone());
        self.exceptions.set_rules(rules);
    }

    /// The projections to register with the log, in the order they are applied.
    pub fn projections(&self) -> Vec<Arc<dyn Projection>> {
        vec![self.lineage.clone(), self.exceptions.clone(), self.tokens.clone()]
    }
}
