//! PEP 440 ordering (PyPI): `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, with the
//! spellings PEP 440 normalises (`alpha`, `beta`, `c`, `pre`, `preview`, `-1` for a post
//! release, `_` and `-` separators, upper case).

use std::cmp::Ordering;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Local {
    // PEP 440: alphanumeric segments sort before numeric ones.
    Text(String),
    Number(u64),
}

#[derive(Debug, PartialEq, Eq)]
struct Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Vec<Local>,
}

/// `None` when either side is not a PEP 440 version.
pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    let order = key(&a).cmp(&key(&b));
    Some(order)
}

/// The sort key PEP 440 describes: a dev release of a final version sorts before its
/// pre-releases; no post release sorts before any; no dev release sorts after any.
fn key(v: &Version) -> impl Ord + '_ {
    let mut release = v.release.as_slice();
    while let [rest @ .., 0] = release {
        release = rest;
    }
    let pre = match (v.pre, v.post, v.dev) {
        (None, None, Some(_)) => (0, 0, 0),
        (None, _, _) => (2, 0, 0),
        (Some((kind, n)), _, _) => (1, kind, n),
    };
    let post = v.post.map_or((0, 0), |n| (1, n));
    let dev = v.dev.map_or((1, 0), |n| (0, n));
    (v.epoch, release, pre, post, dev, &v.local)
}

fn parse(text: &str) -> Option<Version> {
    let lower = text.trim().to_ascii_lowercase();
    let s = lower.strip_prefix('v').unwrap_or(&lower);
    let (s, local) = s.split_once('+').map_or((s, None), |(s, l)| (s, Some(l)));
    let (epoch, s) = match s.split_once('!') {
        Some((e, rest)) => (e.parse().ok()?, rest),
        None => (0, s),
    };
    let mut cur = Cursor(s);
    let mut release = vec![cur.number()?];
    while cur.0.starts_with('.') && cur.0[1..].starts_with(|c: char| c.is_ascii_digit()) {
        cur.0 = &cur.0[1..];
        release.push(cur.number()?);
    }
    let mut version = Version { epoch, release, pre: None, post: None, dev: None, local: Vec::new() };
    let before = cur.0;
    cur.separator();
    let pre = [("alpha", 0), ("a", 0), ("beta", 1), ("b", 1), ("preview", 2), ("pre", 2), ("rc", 2), ("c", 2)]
        .into_iter()
        .find(|(spelling, _)| cur.keyword(spelling));
    match pre {
        Some((_, kind)) => {
            cur.separator();
            version.pre = Some((kind, cur.number().unwrap_or(0)));
        }
        None => cur.0 = before,
    }
    if let Some(rest) = cur.0.strip_prefix('-').filter(|r| r.starts_with(|c: char| c.is_ascii_digit())) {
        // `1.0-1` is an implicit post release.
        cur.0 = rest;
        version.post = Some(cur.number()?);
    } else {
        let before = cur.0;
        cur.separator();
        if cur.keyword("post") || cur.keyword("rev") || cur.keyword("r") {
            cur.separator();
            version.post = Some(cur.number().unwrap_or(0));
        } else {
            cur.0 = before;
        }
    }
    let before = cur.0;
    cur.separator();
    if cur.keyword("dev") {
        cur.separator();
        version.dev = Some(cur.number().unwrap_or(0));
    } else {
        cur.0 = before;
    }
    if !cur.0.is_empty() {
        return None;
    }
    if let Some(local) = local {
        for seg in local.split(['.', '-', '_']) {
            if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            version.local.push(seg.parse().map_or_else(|_| Local::Text(seg.to_owned()), Local::Number));
        }
    }
    Some(version)
}

struct Cursor<'a>(&'a str);

impl Cursor<'_> {
    fn number(&mut self) -> Option<u64> {
        let end = self.0.find(|c: char| !c.is_ascii_digit()).unwrap_or(self.0.len());
        let n = self.0[..end].parse().ok()?;
        self.0 = &self.0[end..];
        Some(n)
    }

    fn separator(&mut self) {
        if self.0.starts_with(['.', '-', '_']) {
            self.0 = &self.0[1..];
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        match self.0.strip_prefix(word) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_summary_is_in_order() {
        let ordered = [
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Some(Ordering::Less), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn normalised_spellings_are_equal() {
        for (a, b) in [
            ("1.0", "1.0.0"),
            ("1.0alpha1", "1.0a1"),
            ("1.0-c1", "1.0rc1"),
            ("1.0-1", "1.0.post1"),
            ("1!2.0", "1!2.0"),
            ("V1.0.DEV2", "1.0.dev2"),
        ] {
            assert_eq!(compare(a, b), Some(Ordering::Equal), "{a} = {b}");
        }
        assert_eq!(compare("1!1.0", "2.0"), Some(Ordering::Greater));
        assert_eq!(compare("not a version", "1.0"), None);
    }
}
