//! Container image references (`ghcr.io/acme/shop:1.4@sha256:…`) as Kubernetes and CI tools write
//! them, read into their parts and named as the artifact they pin: `pkg:oci/<name>@sha256:<hex>`
//! with the repository as `repository_url`, the purl specification's form for OCI images.
//!
//! Hand-written because it is small and must be exact: the reference grammar of the OCI
//! distribution specification (as Docker's `reference` package reads it), with Docker Hub's
//! defaults (`nginx` is `docker.io/library/nginx`). Nothing here calls a registry: a reference
//! without a digest names a tag, which can move, and [`ImageRef::digest`] is then `None`.

use std::fmt;

/// A container image reference, read into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (with its port), `docker.io` when the reference names none.
    pub registry: String,
    /// The repository path within the registry (`acme/shop`; `library/nginx` on Docker Hub).
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>` (or `sha512:<128 hex>`), in lower case.
    pub digest: Option<String>,
}

/// Why a text is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an image reference ({reason}); one reads [registry/]repository[:tag]@sha256:<64 hex digits>, e.g. ghcr.io/acme/shop@sha256:4a5b…")]
pub struct ImageRefError {
    pub text: String,
    pub reason: &'static str,
}

impl ImageRef {
    /// Reads `text` (at most 4 096 bytes).
    pub fn parse(text: &str) -> Result<ImageRef, ImageRefError> {
        let err = |reason| ImageRefError { text: text.chars().take(300).collect(), reason };
        if text.is_empty() {
            return Err(err("it is empty"));
        }
        if text.len() > 4096 {
            return Err(err("it is longer than 4096 bytes"));
        }
        let (name_tag, digest) = match text.split_once('@') {
            Some((n, d)) => (
                n,
                Some(parse_digest(d).ok_or_else(|| err("the digest after @ must be sha256:<64 hex digits> or sha512:<128 hex digits>"))?),
            ),
            None => (text, None),
        };
        // A tag is after the last colon of the last path component (a colon before a slash is a port).
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (&name_tag[..last_slash + i], Some(&name_tag[last_slash + i + 1..])),
            None => (name_tag, None),
        };
        if let Some(t) = tag {
            let ok = (1..=128).contains(&t.len())
                && t.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                return Err(err("a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"));
            }
        }
        let mut parts: Vec<&str> = name.split('/').collect();
        let first = parts[0];
        let registry = if parts.len() > 1 && (first.contains('.') || first.contains(':') || first == "localhost") {
            parts.remove(0);
            first.to_owned()
        } else {
            "docker.io".to_owned()
        };
        if registry.bytes().any(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))) {
            return Err(err("the registry host has a character a host name cannot"));
        }
        for p in &parts {
            let ok = !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
                && p.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && p.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
            if !ok {
                return Err(err("each repository path component is lower-case letters, digits and separators (. _ -), starting and ending with a letter or digit"));
            }
        }
        if registry == "docker.io" && parts.len() == 1 {
            parts.insert(0, "library");
        }
        Ok(ImageRef { registry, repository: parts.join("/"), tag: tag.map(str::to_owned), digest })
    }

    /// The image's name: the last component of its repository (`shop`).
    pub fn name(&self) -> &str {
        self.repository.rsplit('/').next().unwrap_or(&self.repository)
    }

    /// The repository with its registry (`ghcr.io/acme/shop`).
    pub fn repository_url(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The artifact a pinned reference names, as a purl in canonical form:
    /// `pkg:oci/shop@sha256:<hex>?repository_url=ghcr.io%2Facme%2Fshop`; `None` for a tag alone.
    pub fn purl(&self) -> Option<String> {
        let digest = self.digest.as_ref()?;
        let text = format!("pkg:oci/{}@{}?repository_url={}", self.name(), digest, self.repository_url());
        Some(crate::artifact_name(&text).into_owned())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository_url())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn parse_digest(d: &str) -> Option<String> {
    let (algo, hex) = d.split_once(':')?;
    let len = match algo {
        "sha256" => 64,
        "sha512" => 128,
        _ => return None,
    };
    (hex.len() == len && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("{algo}:{}", hex.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427";

    #[test]
    fn a_pinned_reference_names_its_artifact_by_digest_with_its_repository() {
        let r = ImageRef::parse(&format!("ghcr.io/acme/shop:1.4@sha256:{HEX}")).unwrap();
        assert_eq!(r.registry, "ghcr.io");
        assert_eq!(r.repository, "acme/shop");
        assert_eq!(r.tag.as_deref(), Some("1.4"));
        assert_eq!(
            r.purl().unwrap(),
            format!("pkg:oci/shop@sha256:{HEX}?repository_url=ghcr.io%2Facme%2Fshop"),
            "canonical: the qualifier's slashes encoded"
        );
    }

    #[test]
    fn docker_hub_defaults_and_ports_are_read_as_docker_reads_them() {
        let r = ImageRef::parse("nginx:1.27").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref(), r.digest),
            ("docker.io", "library/nginx", Some("1.27"), None)
        );
        let r = ImageRef::parse(&format!("localhost:5000/team/api@sha256:{}", HEX.to_uppercase())).unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str(), r.tag), ("localhost:5000", "team/api", None));
        assert_eq!(r.digest.as_deref(), Some(format!("sha256:{HEX}").as_str()), "digests are lower-cased");
        assert_eq!(ImageRef::parse("bitnami/redis").unwrap().repository_url(), "docker.io/bitnami/redis");
    }

    #[test]
    fn a_tag_alone_names_no_artifact() {
        assert_eq!(ImageRef::parse("ghcr.io/acme/shop:latest").unwrap().purl(), None);
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        for (text, reason) in [
            ("", "it is empty"),
            ("shop@sha256:abc", "the digest after @ must be sha256:<64 hex digits> or sha512:<128 hex digits>"),
            ("Acme/Shop", "each repository path component is lower-case letters, digits and separators (. _ -), starting and ending with a letter or digit"),
            ("shop:-x", "a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"),
            ("ghcr.io//shop", "each repository path component is lower-case letters, digits and separators (. _ -), starting and ending with a letter or digit"),
        ] {
            assert_eq!(ImageRef::parse(text).unwrap_err().reason, reason, "{text}");
        }
    }
}
