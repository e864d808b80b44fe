//! Package URLs as Dossier names artifacts: in the purl specification's canonical form, so that
//! one artifact spelled two ways (`pkg:oci/app@sha256:ab` and `pkg:oci/app@sha256%3Aab`) is one
//! artifact wherever it is named — the lineage graph, the store's artifact index, queries.
//!
//! The canonical form is the specification's (docs/lineage.md, "How artifacts are named"): the
//! type in lower case; namespace and name in lower case where the type says they are
//! case-insensitive; qualifier keys in lower case, sorted; each component percent-encoded where
//! the specification says, and nowhere else — a colon is never encoded, so a digest reads
//! `sha256:ab`. Reading and writing that form is the `packageurl` crate's work, which passes
//! the specification's own test suite. One rule is added here, because `packageurl` 0.7 lacks
//! it: the `oci` type's name and version are case-insensitive (its type definition), so both
//! are lowercased.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use packageurl::PackageUrl;

/// A package URL in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Purl(String);

/// Why a text is not a package URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a package URL ({reason}); a purl is pkg:type/namespace/name@version?qualifiers#subpath, e.g. pkg:oci/app@sha256:4a5b"
)]
pub struct PurlError {
    pub text: String,
    pub reason: String,
}

impl Purl {
    /// Reads any spelling of a package URL into its canonical form.
    pub fn parse(text: &str) -> Result<Purl, PurlError> {
        let refused = |e: packageurl::Error| PurlError { text: text.to_owned(), reason: e.to_string() };
        let parsed = PackageUrl::from_str(text).map_err(refused)?;
        let canonical = if parsed.ty() == "oci" { oci_lowercased(&parsed).map_err(refused)? } else { parsed.to_string() };
        Ok(Purl(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An `oci` purl with its case-insensitive name and version lowercased. (The type prohibits a
/// namespace: a parsed one has none.)
fn oci_lowercased(parsed: &PackageUrl<'_>) -> Result<String, packageurl::Error> {
    let mut purl = PackageUrl::new(parsed.ty().to_owned(), parsed.name().to_lowercase())?;
    if let Some(version) = parsed.version() {
        purl.with_version(version.to_lowercase())?;
    }
    for (key, value) in parsed.qualifiers() {
        purl.add_qualifier(key.to_string(), value.to_string())?;
    }
    if let Some(subpath) = parsed.subpath() {
        purl.with_subpath(subpath.to_owned())?;
    }
    Ok(purl.to_string())
}

impl FromStr for Purl {
    type Err = PurlError;

    fn from_str(text: &str) -> Result<Purl, PurlError> {
        Purl::parse(text)
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Purl> for String {
    fn from(purl: Purl) -> String {
        purl.0
    }
}

/// The name Dossier gives the artifact that `text` names: its canonical package URL when `text`
/// is one, else `text` exactly as received (a name that is not a purl is compared as text).
/// Events, documents and queries name artifacts through this one function, so every spelling
/// of a purl finds the same artifact.
pub fn artifact_name(text: &str) -> Cow<'_, str> {
    match Purl::parse(text) {
        Ok(purl) if purl.as_str() != text => Cow::Owned(purl.into()),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        Purl::parse(text).unwrap().to_string()
    }

    #[test]
    fn a_digest_is_written_with_its_colon_whatever_spelling_arrives() {
        for spelling in ["pkg:oci/app@sha256:abcd", "pkg:oci/app@sha256%3Aabcd", "pkg:oci/app@sha256%3aabcd"] {
            assert_eq!(canonical(spelling), "pkg:oci/app@sha256:abcd", "{spelling}");
        }
    }

    #[test]
    fn the_type_is_lower_case_and_oci_names_and_digests_too() {
        assert_eq!(canonical("pkg:OCI/App@sha256:ABCD"), "pkg:oci/app@sha256:abcd");
        assert_eq!(canonical("pkg:Generic/App@1.0-RC1"), "pkg:generic/App@1.0-RC1");
    }

    #[test]
    fn namespace_and_name_keep_their_case_unless_the_type_says_otherwise() {
        assert_eq!(canonical("pkg:github/Acme/API@v1"), "pkg:github/acme/api@v1");
        assert_eq!(canonical("pkg:pypi/Django_Rest@3.2"), "pkg:pypi/django-rest@3.2");
        assert_eq!(canonical("pkg:maven/Org.Acme/Lib@1.0"), "pkg:maven/Org.Acme/Lib@1.0");
        assert_eq!(canonical("pkg:docker/Acme/Shop@sha256%3Aab"), "pkg:docker/Acme/Shop@sha256:ab");
    }

    #[test]
    fn qualifiers_are_sorted_by_lower_case_key_and_their_values_encoded() {
        assert_eq!(
            canonical("pkg:oci/app@sha256:ab?tag=v1&Repository_URL=ghcr.io/acme/app"),
            "pkg:oci/app@sha256:ab?repository_url=ghcr.io%2Facme%2Fapp&tag=v1"
        );
    }

    #[test]
    fn components_are_percent_encoded_where_the_specification_says() {
        assert_eq!(canonical("pkg:npm/@acme/app@1.0.0"), "pkg:npm/%40acme/app@1.0.0");
        assert_eq!(canonical("pkg:generic/app@1.0+build.7"), "pkg:generic/app@1.0%2Bbuild.7");
        assert_eq!(canonical("pkg:generic/my%20app@1"), "pkg:generic/my%20app@1");
    }

    #[test]
    fn the_canonical_form_is_its_own_canonical_form() {
        for text in ["pkg:OCI/App@sha256%3AABCD?tag=v1&arch=amd64", "pkg:npm/@acme/app@1.0.0+x", "pkg:github/Acme/API@v1#src/Main"] {
            let once = canonical(text);
            assert_eq!(canonical(&once), once, "{text}");
        }
    }

    #[test]
    fn an_artifact_named_by_a_purl_takes_its_canonical_form_and_any_other_name_stays_as_received() {
        assert_eq!(artifact_name("pkg:oci/app@sha256%3Aabcd"), "pkg:oci/app@sha256:abcd");
        assert!(matches!(artifact_name("pkg:oci/app@sha256:abcd"), Cow::Borrowed(_)));
        for other in ["shop", "sha256:abcd", "pkg:", "pkg:oci", "pkg:oci/", "pkg:oci/acme/app@sha256:ab"] {
            assert_eq!(artifact_name(other), other);
        }
    }

    #[test]
    fn a_text_that_is_not_a_purl_is_refused_saying_why_and_what_one_looks_like() {
        assert_eq!(
            Purl::parse("shop").unwrap_err().to_string(),
            "\"shop\" is not a package URL (missing scheme); a purl is pkg:type/namespace/name@version?qualifiers#subpath, \
             e.g. pkg:oci/app@sha256:4a5b"
        );
        assert_eq!(Purl::parse("pkg:oci/acme/app").unwrap_err().reason, "no namespace allowed for type \"oci\"");
    }
}
