//! Semantic Versioning 2.0.0 precedence (npm, Cargo, Go modules, NuGet, Composer, Hex, pub).

use std::cmp::Ordering;

/// `None` when either side is not `MAJOR[.MINOR[.PATCH]][-PRE][+BUILD]` (a leading `v` is
/// allowed, as Go writes it); missing minor or patch count as 0.
pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a_core, a_pre) = parse(a)?;
    let (b_core, b_pre) = parse(b)?;
    Some(a_core.cmp(&b_core).then_with(|| match (a_pre, b_pre) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => compare_pre(x, y),
    }))
}

fn parse(v: &str) -> Option<([u64; 3], Option<&str>)> {
    let v = v.strip_prefix('v').unwrap_or(v);
    // Build metadata does not take part in precedence.
    let v = v.split_once('+').map_or(v, |(v, _)| v);
    let (core, pre) = v.split_once('-').map_or((v, None), |(c, p)| (c, Some(p)));
    let mut numbers = [0u64; 3];
    let mut parts = core.split('.');
    for slot in numbers.iter_mut() {
        match parts.next() {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => *slot = p.parse().ok()?,
            Some(_) => return None,
            None => break,
        }
    }
    parts.next().is_none().then_some((numbers, pre))
}

/// Identifiers compare numerically when both are numeric, numeric before alphanumeric,
/// otherwise in ASCII order; a shorter list that is a prefix of a longer one comes first.
fn compare_pre(a: &str, b: &str) -> Ordering {
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        let (x, y) = match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x, y),
        };
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let o = match (numeric(x), numeric(y)) {
            (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_is_in_order() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Some(Ordering::Less), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn build_metadata_and_go_prefixes_do_not_count() {
        assert_eq!(compare("1.0.0+20130313144700", "1.0.0+exp.sha.5114f85"), Some(Ordering::Equal));
        assert_eq!(compare("v1.2.3", "1.2.3"), Some(Ordering::Equal));
        assert_eq!(compare("1.2", "1.2.0"), Some(Ordering::Equal));
        assert_eq!(compare("1.2.3.4", "1.2.3"), None);
    }
}
