//! API tokens as a live view of the log: the `Book` folded at start and by every commit, before
//! anyone is answered — so a token works from the request after its `created` entry, and a
//! revoked one fails from the request after its `revoked` entry. Entries without a sender are
//! not believed (see `load`).

use std::sync::{RwLock, RwLockReadGuard};

use dossier_auth::token::Book;
use dossier_core::own::{Family, TOKENS_SOURCE};
use dossier_core::Event;
use dossier_log::Projection;
use dossier_store::{AppendOutcome, EventQuery, Store, StoreError, TypePattern, MAX_PAGE};

use crate::entry::content_of;

pub struct TokensView {
    book: RwLock<Book>,
}

impl Projection for TokensView {
    fn apply(&self, events: &[Event], outcomes: &[AppendOutcome]) {
        let relevant: Vec<&Event> = events
            .iter()
            .zip(outcomes)
            .filter(|(e, o)| {
                matches!(o, AppendOutcome::Accepted { .. }) && Family::Token.contains(e.event_type.as_str()) && e.sender.is_some()
            })
            .map(|(e, _)| e)
            .collect();
        if relevant.is_empty() {
            return;
        }
        let mut book = self.book.write().unwrap_or_else(|p| p.into_inner());
        for e in relevant {
            if let Some((content, at)) = content_of(&e.raw) {
                book.apply(&e.key.source, e.event_type.as_str(), &content, at);
            }
        }
    }
}

impl TokensView {
    /// Folds the token entries of the log (found by type and source).
    pub fn load(store: &dyn Store) -> Result<TokensView, StoreError> {
        let mut book = Book::new();
        let mut q = EventQuery {
            types: vec![TypePattern(Family::Token.glob())],
            source: Some(TOKENS_SOURCE.to_owned()),
            limit: MAX_PAGE,
            ..Default::default()
        };
        loop {
            let page = store.query(&q)?;
            // Only entries with a sender: Dossier writes every token entry with one (the admin's,
            // or `dossier` for the first token and expiries). An entry under the tokens source
            // without one predates authentication — when anyone could send anything — and is
            // not believed.
            for e in page.events.iter().filter(|e| e.sender.is_some()) {
                if let Some((content, at)) = content_of(&e.raw) {
                    book.apply(&e.key.source, &e.event_type, &content, at);
                }
            }
            match page.next {
                Some(next) => q.after = Some(next),
                None => break,
            }
        }
        Ok(TokensView { book: RwLock::new(book) })
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Book> {
        self.book.read().unwrap_or_else(|p| p.into_inner())
    }
}
