//! Artifacts found by part of their name: the words of each artifact's package name, kept in
//! one ordered index as artifacts become known, so that a lookup costs a range scan bounded
//! by the answer it may give, whatever the number of artifacts. A leaf module.
//!
//! An artifact's *name* is its package URL's name, without type, namespace, version or
//! qualifiers (`pkg:oci/team/shop-api@sha256:…` → `shop-api`), in lower case; its *words*
//! start at the beginning and after each `-`, `_` or `.`. A part matches an artifact when one
//! of those words starts with it (`shop`, `api`, `shop-a` find `shop-api`; `hop` does not).

use std::collections::{BTreeSet, HashSet};

use crate::reports::Id;

/// Words indexed per artifact, at most: a name of more words is found by its first ones.
const WORDS: usize = 8;

#[derive(Default, Clone)]
pub(crate) struct ArtifactIndex {
    /// (a word of an artifact's name and the rest of the name after it, the artifact)
    words: BTreeSet<(Box<str>, Id)>,
    indexed: HashSet<Id>,
}

/// What a lookup found: the artifacts, and whether more match than were asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArtifactMatches {
    /// By the word they match, then in the order the graph first heard of them.
    pub artifacts: Vec<String>,
    pub more: bool,
}

/// The name of the package a purl names, in lower case (the whole of anything else after its
/// last `/`).
pub(crate) fn package_name(purl: &str) -> String {
    let rest = purl.strip_prefix("pkg:").unwrap_or(purl);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let rest = rest.split('@').next().unwrap_or(rest);
    let name = rest.rsplit('/').next().unwrap_or(rest);
    name.to_lowercase()
}

/// Where the words of `name` start.
pub(crate) fn word_starts(name: &str) -> impl Iterator<Item = usize> + '_ {
    let mut previous = None;
    name.char_indices()
        .filter(move |&(_, c)| {
            let starts = previous.is_none_or(|p| matches!(p, '-' | '_' | '.')) && !matches!(c, '-' | '_' | '.');
            previous = Some(c);
            starts
        })
        .map(|(i, _)| i)
        .take(WORDS)
}

impl ArtifactIndex {
    /// Indexes artifact `id` named `purl`, once.
    pub(crate) fn add(&mut self, id: Id, purl: &str) {
        if !self.indexed.insert(id) {
            return;
        }
        let name = package_name(purl);
        for start in word_starts(&name) {
            self.words.insert((name[start..].into(), id));
        }
    }

    /// Up to `limit` artifacts with a word starting with `part` (in any case), in the index's
    /// order, and whether there are more. Scans at most `WORDS × (limit + 1)` entries.
    pub(crate) fn find(&self, part: &str, limit: usize) -> (Vec<Id>, bool) {
        let part = part.trim().to_lowercase();
        if part.is_empty() {
            return (Vec::new(), false);
        }
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        let from: (Box<str>, Id) = (part.as_str().into(), 0);
        for (word, id) in self.words.range(from..) {
            if !word.starts_with(part.as_str()) {
                break;
            }
            if seen.insert(*id) {
                if found.len() == limit {
                    return (found, true);
                }
                found.push(*id);
            }
        }
        (found, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_the_package_name_in_lower_case_and_its_words_start_after_separators() {
        assert_eq!(package_name("pkg:oci/team/Shop-API@sha256%3Aab?arch=x"), "shop-api");
        assert_eq!(package_name("pkg:generic/app-7@1.7.1"), "app-7");
        assert_eq!(package_name("registry.example.com/shop"), "shop");
        let name = "app-12_l3.x--y";
        let words: Vec<&str> = word_starts(name).map(|i| &name[i..]).collect();
        assert_eq!(words, ["app-12_l3.x--y", "12_l3.x--y", "l3.x--y", "x--y", "y"]);
    }

    #[test]
    fn a_lookup_answers_at_most_its_limit_and_says_there_is_more() {
        let mut index = ArtifactIndex::default();
        for (id, purl) in ["pkg:oci/shop@1", "pkg:oci/shop-debug@1", "pkg:oci/workshop@1", "pkg:oci/shop@2"].iter().enumerate() {
            index.add(id as Id, purl);
        }
        index.add(0, "pkg:oci/shop@1");
        assert_eq!(index.find("SHOP", 10), (vec![0, 3, 1], false), "by word, then by arrival; workshop has no word shop…");
        assert_eq!(index.find("shop", 2), (vec![0, 3], true));
        assert_eq!(index.find("debug", 10), (vec![1], false));
        assert_eq!(index.find(" ", 10), (vec![], false));
    }
}
