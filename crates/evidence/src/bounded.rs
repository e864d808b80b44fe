//! Arrays whose elements count against one budget per document, so that a hostile document
//! (millions of empty objects) cannot make the extraction's memory grow past a bound that the
//! document's size alone would not give.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Error, SeqAccess, Visitor};

/// At most this many array elements (components, findings, statements, rules, …) are read
/// from one document.
pub const MAX_ITEMS: usize = 1_000_000;

thread_local! {
    static LEFT: Cell<usize> = const { Cell::new(MAX_ITEMS) };
}

/// Runs `parse` with a fresh budget of `limit` elements.
pub(crate) fn with_budget<T>(limit: usize, parse: impl FnOnce() -> T) -> T {
    let before = LEFT.with(|l| l.replace(limit));
    let out = parse();
    LEFT.with(|l| l.set(before));
    out
}

/// A JSON array of `T`, counted against the budget; `null` and absence read as empty.
#[derive(Debug)]
pub(crate) struct Bounded<T>(pub Vec<T>);

impl<T> Default for Bounded<T> {
    fn default() -> Self {
        Bounded(Vec::new())
    }
}

impl<T> IntoIterator for Bounded<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Bounded<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seq<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Seq<T> {
            type Value = Bounded<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
                Ok(Bounded::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element()? {
                    let left = LEFT.with(Cell::get);
                    if left == 0 {
                        return Err(A::Error::custom(format!("more than {MAX_ITEMS} array elements in one document; split the document")));
                    }
                    LEFT.with(|l| l.set(left - 1));
                    out.push(x);
                }
                Ok(Bounded(out))
            }
        }
        d.deserialize_any(Seq(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_by_every_array_of_a_document() {
        let r: Result<(Bounded<u8>, Bounded<u8>), _> = with_budget(5, || serde_json::from_str("[[1,2,3],[4,5,6]]"));
        assert!(r.unwrap_err().to_string().contains("array elements in one document"));
        let r: (Bounded<u8>, Bounded<u8>) = with_budget(6, || serde_json::from_str("[[1,2,3],[4,5,6]]")).unwrap();
        assert_eq!((r.0 .0.len(), r.1 .0.len()), (3, 3));
    }
}
