//! What the recorded documents say about one artifact: its components and their licences,
//! its findings (with the VEX statements that answer them), the tools that looked at it, and
//! the provenance, attestations and signatures about it, each as its signature was checked.
//! Pure functions over the documents' log entries, so the server, the CLI and tests share them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::binding::{self, Artifact};
use crate::model::{Component, Extract, Finding, Format, Provenance, Subject, Tool, VexStatement};
use crate::signatures::Check;

/// A document as its log entry records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    #[serde(default)]
    pub seq: u64,
    /// When the entry was made (RFC 3339).
    #[serde(default)]
    pub time: String,
    pub artifact_id: String,
    pub digest: String,
    pub size: u64,
    pub sender: String,
    pub origin: String,
    #[serde(flatten)]
    pub extract: Extract,
}

impl Received {
    /// Reads an entry's `subject.content`; `None` if it is not a document entry.
    pub fn from_content(seq: u64, time: &str, content: &serde_json::Value) -> Option<Received> {
        let mut r: Received = serde_json::from_value(content.clone()).ok()?;
        r.seq = seq;
        r.time = time.to_owned();
        Some(r)
    }
}

/// A component and the documents that list it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub component: Component,
    pub documents: Vec<String>,
}

/// The components of an artifact over all its SBOMs (each once, by purl or else name and
/// version), and how many carry each licence (`unknown` when none is stated).
#[derive(Debug, Clone, Serialize)]
pub struct Components {
    pub components: Vec<Listed>,
    pub licenses: BTreeMap<String, usize>,
}

pub fn components<'a>(documents: impl IntoIterator<Item = &'a Received>) -> Components {
    let mut by_key: BTreeMap<String, Listed> = BTreeMap::new();
    for d in documents {
        for c in &d.extract.components {
            let key = c.purl.clone().unwrap_or_else(|| format!("{}@{}", c.name, c.version.as_deref().unwrap_or("")));
            let listed = by_key.entry(key).or_insert_with(|| Listed { component: c.clone(), documents: Vec::new() });
            if listed.component.licenses.is_empty() {
                listed.component.licenses = c.licenses.clone();
            }
            if !listed.documents.contains(&d.digest) {
                listed.documents.push(d.digest.clone());
            }
        }
    }
    let mut licenses = BTreeMap::new();
    for l in by_key.values() {
        if l.component.licenses.is_empty() {
            *licenses.entry("unknown".to_owned()).or_insert(0) += 1;
        }
        for name in &l.component.licenses {
            *licenses.entry(name.clone()).or_insert(0) += 1;
        }
    }
    Components { components: by_key.into_values().collect(), licenses }
}

/// A finding about an artifact, where it comes from, and what VEX says of it.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    #[serde(flatten)]
    pub finding: Finding,
    /// The artifact whose document reported it (an ancestor when inherited).
    pub artifact: String,
    pub inherited: bool,
    pub document: String,
    pub seq: u64,
    pub tools: Vec<Tool>,
    /// The VEX statement that answers it, if any: the newest whose products name this
    /// artifact or the one reporting it.
    pub vex: Option<Applied>,
}

/// A VEX statement applied to a finding, and why it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub status: String,
    pub justification: Option<String>,
    /// The statement's id, else its position (from 0) among the document's VEX statements.
    pub statement: StatementRef,
    /// The digest of the document that made it.
    pub document: String,
    /// Which product names which artifact (and subcomponent the package), in words:
    /// `product pkg:oci/shop@sha256:… names this artifact`.
    pub matched: String,
}

/// Which statement of a document: its own id, or its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum StatementRef {
    Id(String),
    Index(usize),
}

/// A statement with where it comes from, for matching against findings.
struct Stated<'a> {
    seq: u64,
    index: usize,
    document: &'a str,
    statement: &'a VexStatement,
}

impl Stated<'_> {
    /// The statement applied to `finding`, reported about `reporter` and asked about for
    /// `artifact`, when one of its products names either (the artifact first).
    fn apply_to(&self, finding: &Finding, artifact: &Artifact, reporter: &Artifact) -> Option<Applied> {
        let package = finding.package.as_deref().map(|p| (p, finding.version.as_deref()));
        let matched = binding::product_naming(self.statement, artifact, package).or_else(|| {
            (reporter.purl != artifact.purl)
                .then(|| binding::product_naming(self.statement, reporter, package))
                .flatten()
                .map(|m| binding::ProductMatch { reporter: Some(reporter.purl.clone()), ..m })
        })?;
        Some(Applied {
            status: self.statement.status.clone(),
            justification: self.statement.justification.clone(),
            statement: self.statement.id.clone().map_or(StatementRef::Index(self.index), StatementRef::Id),
            document: self.document.to_owned(),
            matched: matched.to_string(),
        })
    }
}

/// The findings of `artifact`'s documents and of its ancestors' (`(ancestor, its documents)`),
/// each vulnerability once per package, location and reporting artifact; the newest document
/// reporting a vulnerability in a package decides for it (all its locations, none of an older
/// document's). A VEX statement answers a finding only when one of its products names the
/// artifact, or the ancestor that reported it — whatever artifact its document was sent about —
/// and, if it is limited to subcomponents, one of them is the finding's package; the newest
/// such statement answers.
pub fn findings(artifact: &str, own: &[Received], ancestors: &[(String, Vec<Received>)]) -> Vec<Reported> {
    let all = std::iter::once((artifact, own)).chain(ancestors.iter().map(|(a, d)| (a.as_str(), d.as_slice())));
    // Every statement, by the vulnerability ids it is about.
    let mut statements: BTreeMap<&str, Vec<Stated>> = BTreeMap::new();
    for (_, docs) in all.clone() {
        for d in docs {
            for (index, s) in d.extract.vex.iter().enumerate() {
                for id in std::iter::once(&s.vulnerability).chain(&s.aliases) {
                    statements.entry(id).or_default().push(Stated { seq: d.seq, index, document: &d.digest, statement: s });
                }
            }
        }
    }
    let identities: BTreeMap<&str, Artifact> = all.clone().map(|(a, _)| (a, Artifact::new(a))).collect();
    let this = &identities[artifact];
    let answer = |f: &Finding, about: &str| {
        let reporter = &identities[about];
        std::iter::once(&f.id)
            .chain(&f.aliases)
            .filter_map(|id| statements.get(id.as_str()))
            .flatten()
            .filter_map(|s| s.apply_to(f, this, reporter).map(|a| ((s.seq, s.index), a)))
            .max_by_key(|(order, _)| *order)
            .map(|(_, a)| a)
    };
    // The newest document reporting each vulnerability per package and reporting artifact
    // decides; all of its results count (a rule found at three places is three findings).
    let mut newest: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for (about, docs) in all.clone() {
        for d in docs {
            for f in &d.extract.findings {
                let slot = newest.entry((about.to_owned(), f.id.clone(), f.package.clone().unwrap_or_default())).or_insert(d.seq);
                *slot = (*slot).max(d.seq);
            }
        }
    }
    let mut out: BTreeMap<(String, String, String, String), Reported> = BTreeMap::new();
    for (about, docs) in all {
        for d in docs {
            for f in &d.extract.findings {
                if newest.get(&(about.to_owned(), f.id.clone(), f.package.clone().unwrap_or_default())) != Some(&d.seq) {
                    continue;
                }
                let key = (about.to_owned(), f.id.clone(), f.package.clone().unwrap_or_default(), f.location.clone().unwrap_or_default());
                let newer = out.get(&key).is_none_or(|r| r.seq <= d.seq);
                if newer {
                    out.insert(
                        key,
                        Reported {
                            finding: f.clone(),
                            artifact: about.to_owned(),
                            inherited: about != artifact,
                            document: d.digest.clone(),
                            seq: d.seq,
                            tools: d.extract.tools.clone(),
                            vex: answer(f, about),
                        },
                    );
                }
            }
        }
    }
    let mut list: Vec<Reported> = out.into_values().collect();
    list.sort_by(|a, b| b.finding.severity.cmp(&a.finding.severity).then_with(|| a.finding.id.cmp(&b.finding.id)));
    list
}

/// Why a signature, or what a document attests, counts as unverified when no check verified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// A DSSE envelope recorded before Dossier checked signatures: its signatures were never checked.
    SignatureNotChecked,
    /// A bare in-toto statement, or an envelope without signatures.
    Unsigned,
    /// An `artifact.signed` event whose signature has not been checked yet (the check follows
    /// the log and is recorded as a `dossier-signature.checked` entry).
    NotCheckedYet,
}

impl Unverified {
    /// The state of an attestation no check verified: unsigned when no DSSE signature came with it.
    pub fn of_attestation(extract: &Extract) -> Unverified {
        if extract.signatures.is_empty() && extract.checks.is_empty() && extract.format != Format::Sigstore {
            Unverified::Unsigned
        } else {
            Unverified::SignatureNotChecked
        }
    }

    /// The words shown wherever the claim is (input document, API, dashboard).
    pub fn reason(self) -> &'static str {
        match self {
            Unverified::SignatureNotChecked => {
                "signature not checked: recorded before Dossier verified signatures; send it again to check it"
            }
            Unverified::Unsigned => "not signed: no DSSE signature came with the statement",
            Unverified::NotCheckedYet => {
                "not checked yet: the signature an artifact.signed event carries is checked just after it is recorded"
            }
        }
    }
}

impl Serialize for Unverified {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.reason())
    }
}

/// Whether a document's signatures verified: the first check that verified, else the reason.
pub enum Verdict<'a> {
    Verified(&'a Check),
    Unverified(String),
}

impl Verdict<'_> {
    pub fn of(extract: &Extract) -> Verdict<'_> {
        if let Some(c) = extract.checks.iter().find(|c| c.verified) {
            return Verdict::Verified(c);
        }
        match extract.checks.first() {
            Some(c) => Verdict::Unverified(c.said()),
            None => Verdict::Unverified(Unverified::of_attestation(extract).reason().to_owned()),
        }
    }

    pub fn verified(&self) -> bool {
        matches!(self, Verdict::Verified(_))
    }

    /// `verified under public-good`, or why not.
    pub fn reason(&self) -> String {
        match self {
            Verdict::Verified(c) => c.said(),
            Verdict::Unverified(why) => why.clone(),
        }
    }
}

/// Who signed, as a check that verified found it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Signer {
    /// The certificate's identity (SAN), or the name of the configured key.
    pub identity: Option<String>,
    pub issuer: Option<String>,
    /// `sha256:<hex>` of the key that verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The trust sets it verified under.
    pub trust: Vec<String>,
    pub log_url: Option<String>,
    pub log_index: Option<u64>,
    /// When it was signed at the latest, as a log or timestamp authority says (RFC 3339).
    pub time: Option<String>,
}

impl Signer {
    fn of(check: Option<&Check>) -> Signer {
        match check.filter(|c| c.verified) {
            Some(c) => Signer {
                identity: c.identity.clone(),
                issuer: c.issuer.clone(),
                key: c.key.clone(),
                trust: c.trust.clone(),
                log_url: c.log_url.clone(),
                log_index: c.log_index,
                time: c.time.clone(),
            },
            None => Signer::default(),
        }
    }
}

/// Build provenance an attestation states about the artifact, and whether its signature verified.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attested {
    pub seq: u64,
    pub time: String,
    pub document: String,
    pub sender: String,
    pub predicate_type: Option<String>,
    #[serde(flatten)]
    pub provenance: Provenance,
    pub subjects: Vec<Subject>,
    /// Key ids of the envelope's signatures, as stated.
    pub signatures: Vec<String>,
    /// Whether a signature over the statement verified against the configured trust.
    pub verified: bool,
    /// `verified under …`, or why not.
    pub verification: String,
}

/// The provenance the documents attest, oldest first, each with whether it verified.
pub fn provenance<'a>(documents: impl IntoIterator<Item = &'a Received>) -> Vec<Attested> {
    documents
        .into_iter()
        .filter_map(|d| {
            let p = d.extract.provenance.clone()?;
            let verdict = Verdict::of(&d.extract);
            Some(Attested {
                seq: d.seq,
                time: d.time.clone(),
                document: d.digest.clone(),
                sender: d.sender.clone(),
                predicate_type: d.extract.predicate_type.clone(),
                provenance: p,
                subjects: d.extract.subjects.clone(),
                signatures: d.extract.signatures.clone(),
                verified: verdict.verified(),
                verification: verdict.reason(),
            })
        })
        .collect()
}

/// An attestation about the artifact (any predicate: SLSA provenance, an SBOM, a VSA), and
/// whether its signature verified, by whom, in which log and when.
#[derive(Debug, Clone, Serialize)]
pub struct Attestation {
    pub seq: u64,
    pub document: String,
    pub predicate_type: Option<String>,
    /// The builder, for SLSA provenance.
    pub builder: Option<String>,
    pub verified: bool,
    pub reason: String,
    #[serde(flatten)]
    pub signer: Signer,
}

/// The attestations among the documents (in-toto statements, bare, in DSSE envelopes or in
/// Sigstore bundles), oldest first.
pub fn attestations<'a>(documents: impl IntoIterator<Item = &'a Received>) -> Vec<Attestation> {
    documents
        .into_iter()
        .filter(|d| d.extract.predicate_type.is_some())
        .map(|d| {
            let verdict = Verdict::of(&d.extract);
            let signer = Signer::of(match &verdict {
                Verdict::Verified(c) => Some(c),
                Verdict::Unverified(_) => None,
            });
            Attestation {
                seq: d.seq,
                document: d.digest.clone(),
                predicate_type: d.extract.predicate_type.clone(),
                builder: d.extract.provenance.as_ref().and_then(|p| p.builder.clone()),
                verified: verdict.verified(),
                reason: verdict.reason(),
                signer,
            }
        })
        .collect()
}

/// A signature known about an artifact, as checked.
#[derive(Debug, Clone, Serialize)]
pub struct Signature {
    /// The entry that states it.
    pub seq: u64,
    pub kind: SignatureKind,
    /// Who sent the `artifact.signed` event (its source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The envelope signature's key id, as stated, and the document it came with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    pub verified: bool,
    /// `verified under …`, or why not.
    pub reason: String,
    #[serde(flatten)]
    pub signer: Signer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SignatureKind {
    /// The signature an `artifact.signed` event carries (a bundle, or a cosign key signature).
    #[serde(rename = "artifact.signed")]
    Event,
    /// A signature of a DSSE envelope sent as a document.
    #[serde(rename = "dsse")]
    Envelope,
    /// A Sigstore bundle sent as a document.
    #[serde(rename = "sigstore-bundle")]
    Bundle,
}

impl Signature {
    /// An `artifact.signed` event (entry `seq`, from `source`), with its check when one was recorded.
    pub fn event(seq: u64, source: &str, check: Option<&Check>) -> Signature {
        Signature {
            seq,
            kind: SignatureKind::Event,
            source: Some(source.to_owned()),
            keyid: check.and_then(|c| c.keyid.clone()),
            document: None,
            verified: check.is_some_and(|c| c.verified),
            reason: check.map_or_else(|| Unverified::NotCheckedYet.reason().to_owned(), Check::said),
            signer: Signer::of(check),
        }
    }
}

/// The signatures the documents carry (DSSE envelopes' and Sigstore bundles'), each as checked
/// when the document was received.
pub fn document_signatures<'a>(documents: impl IntoIterator<Item = &'a Received>) -> Vec<Signature> {
    documents
        .into_iter()
        .flat_map(|d| {
            let kind = if d.extract.format == Format::Sigstore { SignatureKind::Bundle } else { SignatureKind::Envelope };
            let of_check = |c: &Check| Signature {
                seq: d.seq,
                kind,
                source: None,
                keyid: c.keyid.clone(),
                document: Some(d.digest.clone()),
                verified: c.verified,
                reason: c.said(),
                signer: Signer::of(Some(c)),
            };
            let mut out: Vec<Signature> = d.extract.checks.iter().map(of_check).collect();
            if d.extract.checks.is_empty() {
                // Recorded before signatures were checked: listed, never verified.
                out.extend(d.extract.signatures.iter().map(|keyid| Signature {
                    seq: d.seq,
                    kind,
                    source: None,
                    keyid: Some(keyid.clone()),
                    document: Some(d.digest.clone()),
                    verified: false,
                    reason: Unverified::SignatureNotChecked.reason().to_owned(),
                    signer: Signer::default(),
                }));
            }
            out
        })
        .collect()
}

/// A document that a tool made about the artifact: a scan, an SBOM, an attestation.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    pub tools: Vec<Tool>,
    pub format: Format,
    pub document: String,
    pub seq: u64,
    pub time: String,
    pub sender: String,
    pub components: usize,
    pub findings: usize,
    pub severities: BTreeSet<String>,
}

/// Which tools looked at the artifact and when, newest first.
pub fn scans<'a>(documents: impl IntoIterator<Item = &'a Received>) -> Vec<Scan> {
    let mut out: Vec<Scan> = documents
        .into_iter()
        .map(|d| Scan {
            tools: d.extract.tools.clone(),
            format: d.extract.format,
            document: d.digest.clone(),
            seq: d.seq,
            time: d.time.clone(),
            sender: d.sender.clone(),
            components: d.extract.components.len(),
            findings: d.extract.findings.len(),
            severities: d.extract.findings.iter().map(|f| f.severity.name().to_owned()).collect(),
        })
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.seq));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Finding, Format, Product};
    use dossier_core::Severity;

    fn scan(seq: u64, results: &[(&str, &str)]) -> Received {
        let mut extract = Extract::new(Format::Sarif);
        for (rule, location) in results {
            extract.findings.push(Finding {
                id: rule.to_string(),
                aliases: Vec::new(),
                severity: Severity::High,
                score: None,
                package: None,
                version: None,
                fixed_version: None,
                location: Some(location.to_string()),
                title: None,
                description: None,
                references: Vec::new(),
                vectors: Vec::new(),
            });
        }
        Received {
            seq,
            time: String::new(),
            artifact_id: "pkg:oci/app".into(),
            digest: format!("sha256:{seq}"),
            size: 1,
            sender: "semgrep".into(),
            origin: "upload".into(),
            extract,
        }
    }

    fn listed(found: &[Reported]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> =
            found.iter().map(|r| (r.finding.id.clone(), r.finding.location.clone().unwrap_or_default())).collect();
        v.sort();
        v
    }

    /// A rule found at three places is three findings, as many as the scan counted; a newer
    /// scan of the rule replaces the older one's places.
    #[test]
    fn each_place_a_rule_is_found_is_a_finding_and_the_newest_scan_decides() {
        let first = scan(1, &[("eval", "a.py:1"), ("eval", "a.py:2"), ("eval", "b.py:3"), ("sql", "db.py:7")]);
        let found = findings("pkg:oci/app", std::slice::from_ref(&first), &[]);
        assert_eq!(found.len(), first.extract.findings.len());
        let second = scan(2, &[("eval", "c.py:9")]);
        let found = findings("pkg:oci/app", &[first, second], &[]);
        assert_eq!(listed(&found), [("eval".to_owned(), "c.py:9".to_owned()), ("sql".to_owned(), "db.py:7".to_owned())]);
    }

    const SHOP: &str = "pkg:oci/shop@sha256%3A4d2a";
    const OTHER: &str = "pkg:oci/other@sha256%3Abeef";

    fn received(seq: u64, about: &str, extract: Extract) -> Received {
        Received {
            seq,
            time: String::new(),
            artifact_id: about.into(),
            digest: format!("sha256:doc{seq}"),
            size: 1,
            sender: "ci".into(),
            origin: "upload".into(),
            extract,
        }
    }

    /// A scan reporting CVE-2021-23337 in lodash and CVE-2023-5678 in openssl.
    fn grype(seq: u64, about: &str) -> Received {
        let mut x = Extract::new(Format::CycloneDx);
        for (id, package) in [("CVE-2021-23337", "pkg:npm/lodash@4.17.20"), ("CVE-2023-5678", "pkg:deb/debian/openssl@3.0.11")] {
            x.findings.push(Finding {
                id: id.into(),
                aliases: Vec::new(),
                severity: Severity::High,
                score: None,
                package: Some(package.into()),
                version: None,
                fixed_version: None,
                location: None,
                title: None,
                description: None,
                references: Vec::new(),
                vectors: Vec::new(),
            });
        }
        received(seq, about, x)
    }

    fn statement(vulnerability: &str, status: &str, products: Vec<Product>) -> VexStatement {
        VexStatement {
            id: None,
            vulnerability: vulnerability.into(),
            aliases: Vec::new(),
            products,
            status: status.into(),
            justification: Some("vulnerable_code_not_in_execute_path".into()),
            detail: None,
        }
    }

    fn vex(seq: u64, about: &str, statements: Vec<VexStatement>) -> Received {
        let mut x = Extract::new(Format::OpenVex);
        x.vex = statements;
        received(seq, about, x)
    }

    fn answer<'a>(found: &'a [Reported], id: &str) -> Option<&'a Applied> {
        found.iter().find(|r| r.finding.id == id).and_then(|r| r.vex.as_ref())
    }

    /// Issue 13: a VEX naming the shop image, sent about another artifact, marked that
    /// artifact's findings not_affected.
    #[test]
    fn a_vex_statement_does_not_apply_to_an_artifact_its_products_do_not_name() {
        let about_shop = statement("CVE-2021-23337", "not_affected", vec![Product::named(SHOP)]);
        let found = findings(OTHER, &[grype(1, OTHER), vex(2, OTHER, vec![about_shop.clone()])], &[]);
        assert_eq!(answer(&found, "CVE-2021-23337"), None);
        let found = findings(SHOP, &[grype(1, SHOP), vex(2, OTHER, vec![about_shop])], &[]);
        assert_eq!(
            answer(&found, "CVE-2021-23337"),
            Some(&Applied {
                status: "not_affected".into(),
                justification: Some("vulnerable_code_not_in_execute_path".into()),
                statement: StatementRef::Index(0),
                document: "sha256:doc2".into(),
                matched: "product pkg:oci/shop@sha256%3A4d2a names this artifact".into(),
            }),
            "the products decide, not the artifact the document was sent about"
        );
        assert_eq!(answer(&found, "CVE-2023-5678"), None, "another vulnerability");
    }

    #[test]
    fn a_product_names_the_artifact_by_purl_spelled_otherwise_or_by_its_digest() {
        let cases = [
            (
                "pkg:oci/shop@sha256:4d2a?repository_url=ghcr.io/example",
                "product pkg:oci/shop@sha256:4d2a?repository_url=ghcr.io/example names this artifact",
            ),
            ("sha256:4d2a", "product sha256:4d2a is the digest of this artifact"),
            ("pkg:oci/shop-eu@sha256%3A4D2A", "product pkg:oci/shop-eu@sha256%3A4D2A carries the digest of this artifact (sha256:4d2a)"),
        ];
        for (product, matched) in cases {
            let s = statement("CVE-2021-23337", "not_affected", vec![Product::named(product)]);
            let found = findings(SHOP, &[grype(1, SHOP), vex(2, SHOP, vec![s])], &[]);
            assert_eq!(answer(&found, "CVE-2021-23337").map(|a| a.matched.as_str()), Some(matched), "{product}");
        }
        for product in ["pkg:oci/shop", "pkg:oci/shop@sha256%3A4d2b", "sha256:4d2b", "shop"] {
            let s = statement("CVE-2021-23337", "not_affected", vec![Product::named(product)]);
            let found = findings(SHOP, &[grype(1, SHOP), vex(2, SHOP, vec![s])], &[]);
            assert_eq!(answer(&found, "CVE-2021-23337"), None, "{product}");
        }
    }

    #[test]
    fn a_statement_limited_to_subcomponents_answers_only_findings_in_them() {
        let product = Product {
            id: SHOP.into(),
            identifiers: Vec::new(),
            subcomponents: vec!["pkg:npm/lodash@4.17.20".into(), "pkg:deb/debian/openssl@9".into()],
        };
        let statements = vec![
            VexStatement {
                id: Some("https://example.com/vex/1".into()),
                ..statement("CVE-2021-23337", "not_affected", vec![product.clone()])
            },
            statement("CVE-2023-5678", "not_affected", vec![product]),
        ];
        let found = findings(SHOP, &[grype(1, SHOP), vex(2, SHOP, statements)], &[]);
        let lodash = answer(&found, "CVE-2021-23337").unwrap();
        assert_eq!(lodash.statement, StatementRef::Id("https://example.com/vex/1".into()));
        assert_eq!(
            lodash.matched,
            "product pkg:oci/shop@sha256%3A4d2a names this artifact; its subcomponent pkg:npm/lodash@4.17.20 is the finding's package"
        );
        assert_eq!(answer(&found, "CVE-2023-5678"), None, "openssl 3.0.11 is not the subcomponent openssl 9");
    }

    #[test]
    fn an_inherited_finding_is_answered_by_a_statement_naming_the_ancestor_that_reported_it() {
        let base = "pkg:oci/base@sha256%3Aa1";
        let ancestors = vec![(
            base.to_owned(),
            vec![grype(1, base), vex(2, base, vec![statement("CVE-2021-23337", "not_affected", vec![Product::named(base)])])],
        )];
        let found = findings(SHOP, &[], &ancestors);
        assert_eq!(
            answer(&found, "CVE-2021-23337").map(|a| a.matched.as_str()),
            Some("product pkg:oci/base@sha256%3Aa1 names pkg:oci/base@sha256%3Aa1, which reported the finding")
        );
        // A statement about the image answers its inherited findings too, and the newest wins.
        let own = vec![vex(3, SHOP, vec![statement("CVE-2021-23337", "affected", vec![Product::named(SHOP)])])];
        let found = findings(SHOP, &own, &ancestors);
        let a = answer(&found, "CVE-2021-23337").unwrap();
        assert_eq!((a.status.as_str(), a.document.as_str()), ("affected", "sha256:doc3"));
    }
}
