//! The JSON-schema `format`s the CDEvents schemas use.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    DateTime,
    Uri,
    UriReference,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "date-time" => Some(Format::DateTime),
            "uri" => Some(Format::Uri),
            "uri-reference" => Some(Format::UriReference),
            _ => None,
        }
    }

    pub fn check(self, s: &str) -> bool {
        match self {
            Format::DateTime => OffsetDateTime::parse(s, &Rfc3339).is_ok(),
            Format::Uri => scheme_len(s).is_some() && uri_chars(s),
            Format::UriReference => uri_chars(s),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Format::DateTime => "an RFC 3339 date-time such as 2024-05-01T12:00:00Z",
            Format::Uri => "an absolute URI such as https://example.com/x (RFC 3986)",
            Format::UriReference => "a URI reference such as /ci/jenkins or https://example.com/x (RFC 3986)",
        }
    }
}

/// Length of a leading `scheme:` (RFC 3986 section 3.1), if there is one.
fn scheme_len(s: &str) -> Option<usize> {
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))).then_some(colon)
}

/// Every character is one RFC 3986 allows, and every `%` starts an escape.
fn uri_chars(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                    return false;
                }
                i += 3;
                continue;
            }
            c if c.is_ascii_alphanumeric() => {}
            b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')'
            | b'*' | b'+' | b',' | b';' | b'=' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn checks_uris_and_references() {
        assert!(Format::Uri.check("https://myorg.com/schema/custom"));
        assert!(!Format::Uri.check("/relative/path"));
        assert!(Format::UriReference.check("/event/source/123"));
        assert!(Format::UriReference.check("pkg:oci/app@sha256%3Aab"));
        assert!(!Format::UriReference.check("has space"));
        assert!(!Format::UriReference.check("bad%zz"));
        assert!(!Format::UriReference.check("trailing%"));
    }

    #[test]
    fn checks_rfc3339_timestamps() {
        assert!(Format::DateTime.check("2023-03-20T14:27:05.315384Z"));
        assert!(Format::DateTime.check("2023-03-20T14:27:05+01:00"));
        assert!(!Format::DateTime.check("2023-03-20 14:27:05"));
        assert!(!Format::DateTime.check("yesterday"));
    }
}
