//! Evidence bound to its subject: whether what a document states is about the artifact it was
//! sent about. A VEX statement applies to the products it names; an attestation is about the
//! subjects it names. Products, subjects and artifacts are compared by identity — package URLs
//! by type, namespace, name and version, digests by algorithm and value — never as text.

use std::fmt;

use crate::model::{Extract, VexStatement};

/// A content digest: `sha256:<hex>`, the algorithm and the hex value in lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Digest {
    pub algorithm: String,
    pub hex: String,
}

impl Digest {
    /// `sha256:<hex>` (or `sha512:`, `sha1:` …): an algorithm of letters and digits starting
    /// with a letter, a colon, at least one hex digit and nothing else.
    pub fn parse(text: &str) -> Option<Digest> {
        let (algorithm, hex) = text.split_once(':')?;
        let algorithm = algorithm.to_ascii_lowercase().replace('-', "");
        let algorithm_ok = algorithm.starts_with(|c: char| c.is_ascii_alphabetic()) && algorithm.bytes().all(|b| b.is_ascii_alphanumeric());
        let hex_ok = !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
        (algorithm_ok && hex_ok).then(|| Digest { algorithm, hex: hex.to_ascii_lowercase() })
    }

    /// A digest as attestations and OpenVEX hashes write it: algorithm (`sha256`, `sha-256`)
    /// and value apart.
    pub fn of(algorithm: &str, hex: &str) -> Option<Digest> {
        Digest::parse(&format!("{algorithm}:{hex}"))
    }

    /// The 32 bytes of a SHA-256 digest; `None` for another algorithm or a wrong length.
    pub fn sha256_bytes(&self) -> Option<[u8; 32]> {
        if self.algorithm != "sha256" || self.hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in self.hex.as_bytes().chunks(2).enumerate() {
            out[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(out)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

/// What identifies a package URL: its type, namespace, name and version, percent-decoded and
/// normalised as the purl specification says for the type (lower-case names for `oci`, `pypi`,
/// `github`, `bitbucket`; `_` as `-` for `pypi`). Qualifiers and subpath are not identity, but
/// a `digest` or `checksum` qualifier says the package's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    pub ty: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    qualified_digests: Vec<Digest>,
}

impl Purl {
    /// Reads `pkg:type/namespace/name@version?qualifiers#subpath`; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Purl> {
        let rest = text.get(..4).filter(|scheme| scheme.eq_ignore_ascii_case("pkg:")).map(|_| &text[4..])?;
        let rest = rest.trim_start_matches('/');
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let (rest, qualifiers) = rest.split_once('?').map_or((rest, ""), |(r, q)| (r, q));
        let (path, version) = match rest.rsplit_once('@') {
            // A version never holds `/`: an `@` before one is a scope left unescaped.
            Some((path, version)) if !version.is_empty() && !version.contains('/') => (path, Some(decode(version)?)),
            _ => (rest, None),
        };
        let (ty, path) = path.split_once('/')?;
        let ty = ty.to_ascii_lowercase();
        let (namespace, name) = match path.trim_end_matches('/').rsplit_once('/') {
            Some((namespace, name)) => (Some(decode(namespace)?), decode(name)?),
            None => (None, decode(path.trim_end_matches('/'))?),
        };
        if ty.is_empty() || name.is_empty() {
            return None;
        }
        let lower = matches!(ty.as_str(), "oci" | "pypi" | "github" | "bitbucket");
        let normalise = |s: String| {
            let s = if lower { s.to_ascii_lowercase() } else { s };
            if ty == "pypi" {
                s.replace('_', "-")
            } else {
                s
            }
        };
        let qualified_digests = qualifiers
            .split('&')
            .filter_map(|q| q.split_once('='))
            .filter(|(k, _)| k.eq_ignore_ascii_case("digest") || k.eq_ignore_ascii_case("checksum"))
            .filter_map(|(_, v)| decode(v))
            .flat_map(|v| v.split(',').filter_map(|d| Digest::parse(d.trim())).collect::<Vec<_>>())
            .collect();
        Some(Purl { namespace: namespace.map(normalise), name: normalise(name), ty, version, qualified_digests })
    }

    /// The same package, whatever the version: type, namespace and name.
    pub fn same_package(&self, other: &Purl) -> bool {
        (&self.ty, &self.namespace, &self.name) == (&other.ty, &other.namespace, &other.name)
    }

    /// The digest the purl carries: its version when that is a digest (an OCI image's
    /// `@sha256:…`), else a `digest` or `checksum` qualifier's sha256 (or first) value.
    pub fn digest(&self) -> Option<Digest> {
        self.version
            .as_deref()
            .and_then(Digest::parse)
            .or_else(|| self.qualified_digests.iter().find(|d| d.algorithm == "sha256").or(self.qualified_digests.first()).cloned())
    }

    /// Whether the versions are the same: digests compared as digests, other versions exactly.
    fn same_version(&self, other: &Purl) -> bool {
        match (&self.version, &other.version) {
            (Some(a), Some(b)) => match (Digest::parse(a), Digest::parse(b)) {
                (Some(a), Some(b)) => a == b,
                _ => a == b,
            },
            _ => false,
        }
    }
}

/// `%3A` → `:`; `None` when an escape is not two hex digits or the result is not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An artifact as Dossier knows it: the purl it was named by, and the digest that purl carries.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub purl: String,
    parsed: Option<Purl>,
    pub digest: Option<Digest>,
}

impl Artifact {
    pub fn new(purl: &str) -> Artifact {
        let parsed = Purl::parse(purl);
        let digest = parsed.as_ref().and_then(Purl::digest);
        Artifact { purl: purl.to_owned(), parsed, digest }
    }

    /// How `identifier` (a purl or a bare digest) names this artifact, if it does.
    pub fn named_by(&self, identifier: &str) -> Option<Naming> {
        if identifier == self.purl {
            return Some(Naming::Purl);
        }
        if let Some(d) = Digest::parse(identifier) {
            return (self.digest.as_ref() == Some(&d)).then_some(Naming::Digest(d));
        }
        let other = Purl::parse(identifier)?;
        if let Some(mine) = &self.parsed {
            if mine.same_package(&other) && mine.same_version(&other) {
                return Some(Naming::Purl);
            }
        }
        let theirs = other.digest()?;
        (self.digest.as_ref() == Some(&theirs)).then_some(Naming::Digest(theirs))
    }
}

/// How an identifier names an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Naming {
    /// The same package URL: type, namespace, name and version (or digest).
    Purl,
    /// The artifact's digest: bare (`sha256:…`), or carried by a purl of another name.
    Digest(Digest),
}

/// Why a VEX statement applies to a finding: which of its products names which artifact, and
/// which subcomponent is the finding's package when the statement is limited to some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductMatch {
    pub product: String,
    pub naming: Naming,
    /// The artifact the product names, when it is not the one asked about (the ancestor that
    /// reported an inherited finding).
    pub reporter: Option<String>,
    pub subcomponent: Option<String>,
}

impl fmt::Display for ProductMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whom = match &self.reporter {
            Some(r) => format!("{r}, which reported the finding"),
            None => "this artifact".to_owned(),
        };
        match &self.naming {
            Naming::Purl => write!(f, "product {} names {whom}", self.product)?,
            Naming::Digest(d) if self.product == d.to_string() => write!(f, "product {} is the digest of {whom}", self.product)?,
            Naming::Digest(d) => write!(f, "product {} carries the digest of {whom} ({d})", self.product)?,
        }
        if let Some(s) = &self.subcomponent {
            write!(f, "; its subcomponent {s} is the finding's package")?;
        }
        Ok(())
    }
}

/// The product of `statement` that names `artifact` (any of its identifiers), with no
/// subcomponents or with one that is `package` (a finding's purl, or its name and version).
pub fn product_naming(statement: &VexStatement, artifact: &Artifact, package: Option<(&str, Option<&str>)>) -> Option<ProductMatch> {
    statement.products.iter().find_map(|p| {
        let (product, naming) = p.names().find_map(|n| artifact.named_by(n).map(|naming| (n.to_owned(), naming)))?;
        if p.subcomponents.is_empty() {
            return Some(ProductMatch { product, naming, reporter: None, subcomponent: None });
        }
        let (package, version) = package?;
        let subcomponent = p.subcomponents.iter().find(|s| subcomponent_is(s, package, version))?;
        Some(ProductMatch { product, naming, reporter: None, subcomponent: Some(subcomponent.clone()) })
    })
}

/// Whether a statement's subcomponent is a finding's package: the same package, and the same
/// version when the subcomponent states one (the product it belongs to fixes the rest).
fn subcomponent_is(subcomponent: &str, package: &str, version: Option<&str>) -> bool {
    if subcomponent == package {
        return true;
    }
    let (Some(sub), Some(pkg)) = (Purl::parse(subcomponent), Purl::parse(package)) else { return false };
    if !sub.same_package(&pkg) {
        return false;
    }
    match &sub.version {
        None => true,
        Some(_) => {
            let pkg = Purl { version: pkg.version.clone().or(version.map(str::to_owned)), ..pkg };
            sub.same_version(&pkg)
        }
    }
}

/// Whether any product of `statement` names `artifact`, whatever its subcomponents.
pub fn names_artifact(statement: &VexStatement, artifact: &Artifact) -> bool {
    statement.products.iter().any(|p| p.names().any(|n| artifact.named_by(n).is_some()))
}

/// Said on the receipt of a document with VEX statements none of which names the artifact it
/// was sent about: they apply to none of its findings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no VEX statement of this document names {artifact} (its products: {}): the statements apply to none of its findings; \
     send the document about the artifact its products name, or name this one by purl or digest",
    products.join(", ")
)]
pub struct UnnamedArtifact {
    pub artifact: String,
    pub products: Vec<String>,
}

/// `Some` when the extract has VEX statements and none names `artifact`.
pub fn vex_unnamed(extract: &Extract, artifact: &Artifact) -> Option<UnnamedArtifact> {
    if extract.vex.is_empty() || extract.vex.iter().any(|s| names_artifact(s, artifact)) {
        return None;
    }
    let mut products: Vec<String> = extract.vex.iter().flat_map(|s| &s.products).map(|p| p.id.clone()).collect();
    products.sort();
    products.dedup();
    if products.is_empty() {
        products.push("none".to_owned());
    }
    Some(UnnamedArtifact { artifact: artifact.purl.clone(), products })
}

/// An attestation refused because none of its subjects is the artifact it was sent about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAbout {
    #[error(
        "the in-toto statement is about {subjects}, not {artifact} ({digest}): nothing was recorded; \
         send it about the artifact its subject names"
    )]
    OtherDigest { subjects: String, artifact: String, digest: Digest },
    #[error(
        "the in-toto statement is about {subjects}, and {artifact} carries no digest to compare (no @sha256:… version, no digest \
         qualifier) and no subject names it by purl: nothing was recorded; name the artifact by a purl with its digest"
    )]
    NoDigest { subjects: String, artifact: String },
    #[error("the in-toto statement names no subject: it is about nothing, so nothing was recorded")]
    NoSubject,
}

/// Whether an attestation's subjects name `artifact`: a subject with the artifact's digest, or
/// a subject whose name is a purl of the artifact (npm provenance names its package so).
/// Documents that are not attestations (no predicate type) are about whatever they are sent
/// about.
pub fn check_subjects(extract: &Extract, artifact: &Artifact) -> Result<(), NotAbout> {
    if extract.predicate_type.is_none() {
        return Ok(());
    }
    if extract.subjects.is_empty() {
        return Err(NotAbout::NoSubject);
    }
    let by_digest =
        |d: &Digest| extract.subjects.iter().any(|s| s.digest.iter().any(|(alg, hex)| Digest::of(alg, hex).as_ref() == Some(d)));
    let by_name = extract.subjects.iter().any(|s| matches!(artifact.named_by(&s.name), Some(Naming::Purl)));
    if by_name || artifact.digest.as_ref().is_some_and(by_digest) {
        return Ok(());
    }
    let subjects = extract
        .subjects
        .iter()
        .map(|s| {
            let digests: Vec<String> =
                s.digest.iter().map(|(alg, hex)| Digest::of(alg, hex).map_or_else(|| format!("{alg}:{hex}"), |d| d.to_string())).collect();
            if s.name.is_empty() {
                digests.join(", ")
            } else {
                format!("{} ({})", s.name, digests.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(match &artifact.digest {
        Some(digest) => NotAbout::OtherDigest { subjects, artifact: artifact.purl.clone(), digest: digest.clone() },
        None => NotAbout::NoDigest { subjects, artifact: artifact.purl.clone() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = "pkg:oci/shop@sha256%3A4d2a";

    #[test]
    fn a_purl_names_an_artifact_by_type_namespace_name_and_version_not_by_spelling() {
        let shop = Artifact::new(SHOP);
        assert_eq!(shop.named_by("pkg:oci/shop@sha256:4d2a"), Some(Naming::Purl), "an escaped colon is a colon");
        assert_eq!(shop.named_by("pkg:oci/Shop@sha256%3A4D2A?repository_url=ghcr.io/example"), Some(Naming::Purl));
        assert_eq!(shop.named_by("pkg:oci/shop"), None, "without a version it names no artifact in particular");
        assert_eq!(shop.named_by("pkg:oci/shop@sha256%3A9999"), None);
        assert_eq!(shop.named_by("pkg:oci/shop-base@sha256%3A4d2b"), None);
        let lib = Artifact::new("pkg:pypi/Django_Rest@3.2.0");
        assert_eq!(lib.named_by("pkg:pypi/django-rest@3.2.0"), Some(Naming::Purl));
        assert_eq!(lib.named_by("pkg:pypi/django-rest@3.2.1"), None);
        assert_eq!(Artifact::new("pkg:npm/%40scope/a@1").named_by("pkg:npm/@scope/a@1"), Some(Naming::Purl));
    }

    #[test]
    fn a_digest_names_the_artifact_that_carries_it_bare_or_in_an_oci_purl() {
        let shop = Artifact::new(SHOP);
        let digest = Digest { algorithm: "sha256".into(), hex: "4d2a".into() };
        assert_eq!(shop.named_by("sha256:4D2A"), Some(Naming::Digest(digest.clone())));
        assert_eq!(shop.named_by("pkg:oci/shop-eu@sha256%3A4d2a"), Some(Naming::Digest(digest.clone())));
        assert_eq!(shop.named_by("sha256:4d2b"), None);
        let qualified = Artifact::new("pkg:generic/app@1.0?checksum=sha1:aa,sha256:4d2a");
        assert_eq!(qualified.named_by("sha256:4d2a"), Some(Naming::Digest(digest)));
        assert_eq!(Artifact::new("pkg:npm/a@1").named_by("sha256:4d2a"), None, "an artifact without a digest is named by purl only");
    }

    #[test]
    fn what_is_not_a_purl_or_a_digest_is_not_read_as_one() {
        for text in ["shop", "pkg:", "pkg:oci", "pkg:oci/", "pkg:oci/a%zz@1", "https://example.com/shop"] {
            assert_eq!(Purl::parse(text), None, "{text}");
        }
        for text in ["sha256:", "sha256:xyz", ":abc", "1:abc", "shop"] {
            assert_eq!(Digest::parse(text), None, "{text}");
        }
        let scoped = Purl::parse("pkg:npm/@scope/a").unwrap();
        assert_eq!((scoped.namespace.as_deref(), scoped.name.as_str(), scoped.version), (Some("@scope"), "a", None));
        assert_eq!(Artifact::new("shop").named_by("shop"), Some(Naming::Purl), "the very name it was given");
    }

    #[test]
    fn a_subcomponent_is_the_package_of_the_same_name_and_the_version_it_states() {
        assert!(subcomponent_is("pkg:npm/lodash@4.17.20", "pkg:npm/lodash@4.17.20", None));
        assert!(subcomponent_is("pkg:npm/lodash@4.17.20", "pkg:npm/lodash", Some("4.17.20")), "an OSV finding's version apart");
        assert!(subcomponent_is("pkg:npm/lodash", "pkg:npm/lodash@4.17.20", None), "any version inside the product");
        assert!(!subcomponent_is("pkg:npm/lodash@4.17.21", "pkg:npm/lodash@4.17.20", None));
        assert!(!subcomponent_is("pkg:npm/underscore@1", "pkg:npm/lodash@1", None));
    }

    fn attestation(subjects: &[(&str, &str, &str)]) -> Extract {
        let mut x = Extract::new(crate::Format::InToto);
        x.predicate_type = Some("https://slsa.dev/provenance/v1".into());
        x.subjects = subjects
            .iter()
            .map(|(name, alg, hex)| crate::Subject { name: name.to_string(), digest: [(alg.to_string(), hex.to_string())].into() })
            .collect();
        x
    }

    /// Issue 13: an in-toto statement about sha256:ab12… was accepted for an artifact with
    /// another digest.
    #[test]
    fn an_attestation_about_another_digest_is_refused_naming_both() {
        let x = attestation(&[("ghcr.io/example/shop", "sha256", "AB12")]);
        assert_eq!(
            check_subjects(&x, &Artifact::new("pkg:oci/shop@sha256%3Acd34")).unwrap_err().to_string(),
            "the in-toto statement is about ghcr.io/example/shop (sha256:ab12), not pkg:oci/shop@sha256%3Acd34 (sha256:cd34): \
             nothing was recorded; send it about the artifact its subject names"
        );
        assert_eq!(check_subjects(&x, &Artifact::new("pkg:oci/shop@sha256%3Aab12")), Ok(()));
        let two = attestation(&[("a.tar", "sha512", "ff"), ("b.tar", "sha256", "ab12")]);
        assert_eq!(check_subjects(&two, &Artifact::new("pkg:oci/shop@sha256%3Aab12")), Ok(()), "any subject will do");
    }

    #[test]
    fn an_attestation_names_an_artifact_without_digest_by_purl_or_not_at_all() {
        let npm = attestation(&[("pkg:npm/%40acme/app@1.2.0", "sha512", "99")]);
        assert_eq!(check_subjects(&npm, &Artifact::new("pkg:npm/@acme/app@1.2.0")), Ok(()));
        assert_eq!(
            check_subjects(&npm, &Artifact::new("pkg:npm/@acme/app@1.3.0")).unwrap_err().to_string(),
            "the in-toto statement is about pkg:npm/%40acme/app@1.2.0 (sha512:99), and pkg:npm/@acme/app@1.3.0 carries no digest \
             to compare (no @sha256:… version, no digest qualifier) and no subject names it by purl: nothing was recorded; name the \
             artifact by a purl with its digest"
        );
        assert_eq!(check_subjects(&attestation(&[]), &Artifact::new("pkg:oci/shop@sha256%3Aab12")), Err(NotAbout::NoSubject));
        let sbom = Extract::new(crate::Format::CycloneDx);
        assert_eq!(check_subjects(&sbom, &Artifact::new("pkg:oci/shop@sha256%3Aab12")), Ok(()), "not an attestation");
    }

    #[test]
    fn a_vex_document_none_of_whose_statements_names_the_artifact_is_said_so() {
        let mut x = Extract::new(crate::Format::OpenVex);
        let statement = |product: &str| VexStatement {
            id: None,
            vulnerability: "CVE-1".into(),
            aliases: Vec::new(),
            products: vec![crate::Product::named(product)],
            status: "not_affected".into(),
            justification: None,
            detail: None,
        };
        x.vex = vec![statement(SHOP), statement("pkg:oci/cart@sha256%3A77"), statement(SHOP)];
        let other = Artifact::new("pkg:oci/other@sha256%3Abeef");
        assert_eq!(
            vex_unnamed(&x, &other).map(|w| w.to_string()).as_deref(),
            Some(
                "no VEX statement of this document names pkg:oci/other@sha256%3Abeef (its products: pkg:oci/cart@sha256%3A77, \
                 pkg:oci/shop@sha256%3A4d2a): the statements apply to none of its findings; send the document about the artifact \
                 its products name, or name this one by purl or digest"
            )
        );
        assert_eq!(vex_unnamed(&x, &Artifact::new("pkg:oci/shop@sha256:4d2a")), None, "one statement naming it is enough");
        assert_eq!(vex_unnamed(&Extract::new(crate::Format::OpenVex), &other), None, "no statement, nothing to say");
    }
}
