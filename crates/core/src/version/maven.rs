//! Maven version ordering (after `ComparableVersion`): items split at `.`, `-` and at
//! changes between digits and letters; numbers compare numerically; qualifiers in the order
//! `alpha` < `beta` < `milestone` < `rc` (= `cr`) < `snapshot` < release (= `ga`, `final`)
//! < `sp`, unknown qualifiers after those, alphabetically; trailing zeros and release markers
//! are ignored.

use std::cmp::Ordering;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
enum Item {
    Qualifier(u8, String),
    Number(u64),
}

const RELEASE: u8 = 5;

fn qualifier(word: &str) -> Item {
    let rank = match word {
        "alpha" | "a" => 0,
        "beta" | "b" => 1,
        "milestone" | "m" => 2,
        "rc" | "cr" => 3,
        "snapshot" => 4,
        "" | "ga" | "final" | "release" => RELEASE,
        "sp" => 6,
        _ => 7,
    };
    Item::Qualifier(rank, if rank == 7 { word.to_owned() } else { String::new() })
}

fn items(v: &str) -> Vec<Item> {
    let lower = v.to_ascii_lowercase();
    let mut out = Vec::new();
    for part in lower.split(['.', '-']) {
        let mut start = 0;
        let bytes = part.as_bytes();
        for k in 1..=bytes.len() {
            if k == bytes.len() || bytes[k].is_ascii_digit() != bytes[k - 1].is_ascii_digit() {
                let piece = &part[start..k];
                out.push(piece.parse().map_or_else(|_| qualifier(piece), Item::Number));
                start = k;
            }
        }
    }
    // Trailing zeros and release markers say nothing: 1.0.0 = 1 = 1-ga.
    while matches!(out.last(), Some(Item::Number(0)) | Some(Item::Qualifier(RELEASE, _))) {
        out.pop();
    }
    out
}

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (items(a), items(b));
    for k in 0..a.len().max(b.len()) {
        // A missing item compares like the release of what is there: `1` vs `1.1` vs `1-rc`.
        let padding = |other: &Item| match other {
            Item::Number(_) => Item::Number(0),
            Item::Qualifier(..) => Item::Qualifier(RELEASE, String::new()),
        };
        let x = a.get(k).cloned().unwrap_or_else(|| padding(&b[k]));
        let y = b.get(k).cloned().unwrap_or_else(|| padding(&a[k]));
        let o = x.cmp(&y);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_sort_before_and_after_the_release() {
        let ordered = ["1.0-alpha-1", "1.0-beta", "1.0-m2", "1.0-rc1", "1.0-SNAPSHOT", "1.0", "1.0-sp1", "1.0.1", "1.10"];
        for pair in ordered.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ordering::Less, "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(compare("1.0.0", "1-ga"), Ordering::Equal);
        assert_eq!(compare("2.12.7.1", "2.12.7"), Ordering::Greater);
    }
}
