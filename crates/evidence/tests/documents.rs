//! Documents made by real tools (and the hand-written ones listed in documents/README.md)
//! read into exactly the facts they state.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;

use dossier_core::Severity;
use dossier_evidence::about::{self, Received};
use dossier_evidence::{detect, extract, Component, DocumentError, Extract, Finding, Format, Product, Source, Tool, VexStatement};

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/documents").join(name)
}

/// Detects the format, then extracts, each pass over the file as a stream.
fn read(name: &str) -> Extract {
    let format = detect(File::open(path(name)).unwrap()).unwrap();
    extract(format, File::open(path(name)).unwrap()).unwrap()
}

fn component<'a>(x: &'a Extract, name: &str) -> &'a Component {
    x.components.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no component {name}"))
}

#[test]
fn cyclonedx_py_sboms_of_every_spec_version_list_the_environment() {
    for version in ["1.4", "1.5", "1.6"] {
        let x = read(&format!("cyclonedx-py-{version}.json"));
        assert_eq!((x.format, x.spec_version.as_str()), (Format::CycloneDx, version));
        assert_eq!(x.components.len(), 60);
        assert_eq!(x.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["cyclonedx-py", "cyclonedx-python-lib"], "{version}");
        let six = component(&x, "six");
        assert_eq!(six.purl.as_deref(), Some("pkg:pypi/six@1.17.0"));
        assert_eq!((six.version.as_deref(), six.licenses.as_slice()), (Some("1.17.0"), &["MIT".to_owned()][..]));
        assert!(x.findings.is_empty() && x.vex.is_empty() && x.provenance.is_none());
    }
}

#[test]
fn sbom4python_spdx_names_the_described_package_and_lists_it_among_its_components() {
    let x = read("sbom4python-spdx.json");
    assert_eq!((x.format, x.spec_version.as_str()), (Format::Spdx, "SPDX-2.3"));
    assert_eq!(x.tools, vec![Tool { name: "sbom4python".into(), version: Some("0.12.6".into()) }]);
    assert_eq!(x.describes, vec!["pkg:pypi/cyclonedx-bom@7.5.0".to_owned()]);
    // The twelve packages sbom4python's CycloneDX output lists (beside its files), the
    // described one among them, once.
    assert_eq!(x.components.len(), 12);
    assert_eq!(x.components.iter().filter(|c| c.purl.as_deref() == Some("pkg:pypi/cyclonedx-bom@7.5.0")).count(), 1);
    let cdx = read("sbom4python-cyclonedx.json");
    let mut packages: Vec<_> = cdx.components.iter().filter_map(|c| c.purl.clone()).collect();
    let mut spdx: Vec<_> = x.components.iter().filter_map(|c| c.purl.clone()).collect();
    packages.sort();
    spdx.sort();
    assert_eq!(spdx, packages);
    let chardet = component(&x, "chardet");
    assert_eq!(chardet.purl.as_deref(), Some("pkg:pypi/chardet@7.7.0"));
    assert_eq!(chardet.licenses, vec!["0BSD".to_owned()]);
}

#[test]
fn a_cyclonedx_1_7_sbom_with_file_components_and_hashes_is_read() {
    let x = read("sbom4python-cyclonedx.json");
    assert_eq!((x.format, x.spec_version.as_str()), (Format::CycloneDx, "1.7"));
    assert_eq!(x.tools, vec![Tool { name: "sbom4python".into(), version: Some("0.12.6".into()) }]);
    assert_eq!(x.components.len(), 29);
    let hashed = x.components.iter().find(|c| c.hashes.contains_key("sha256")).expect("a file component with hashes");
    assert_eq!(hashed.hashes.keys().collect::<Vec<_>>(), ["sha1", "sha256", "sha512"]);
}

#[test]
fn bandit_sarif_results_are_findings_at_their_location() {
    let x = read("bandit.sarif");
    assert_eq!((x.format, x.spec_version.as_str()), (Format::Sarif, "2.1.0"));
    assert_eq!(x.tools, vec![Tool { name: "Bandit".into(), version: Some("1.9.4".into()) }]);
    assert_eq!(x.findings.len(), 1);
    let f = &x.findings[0];
    assert_eq!((f.id.as_str(), f.severity), ("B102", Severity::Medium));
    assert_eq!(f.location.as_deref(), Some("file:///tmp/sbomvenv/lib/python3.11/site-packages/six.py:740"));
    assert_eq!(f.title.as_deref(), Some("Use of exec detected."));
}

#[test]
fn a_cyclonedx_scan_report_gives_findings_and_vex_statements() {
    let x = read("cyclonedx-vex.json");
    assert_eq!(x.tools, vec![Tool { name: "grype".into(), version: Some("0.74.0".into()) }]);
    assert_eq!(x.describes, vec!["pkg:oci/shop@sha256%3A4d2a".to_owned()]);
    // Nested components are components.
    assert_eq!(x.components.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["lodash", "openssl", "libssl3"]);
    assert_eq!(component(&x, "openssl").licenses, vec!["Apache-2.0 AND OpenSSL".to_owned()]);
    assert_eq!(
        x.findings,
        vec![Finding {
            id: "CVE-2021-23337".into(),
            aliases: vec!["GHSA-35jh-r3h4-6jhm".into()],
            severity: Severity::High,
            score: Some(7.2),
            package: Some("pkg:npm/lodash@4.17.20".into()),
            version: Some("4.17.20".into()),
            fixed_version: None,
            location: None,
            title: Some("Command Injection in lodash".into()),
            description: None,
            references: Vec::new(),
            vectors: vec!["CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H".into()],
        }]
    );
    assert_eq!(
        x.vex,
        vec![VexStatement {
            id: None,
            vulnerability: "CVE-2023-5678".into(),
            aliases: vec![],
            // The BOM's subject, limited to the component the analysis affects.
            products: vec![Product {
                id: "pkg:oci/shop@sha256%3A4d2a".into(),
                identifiers: vec![],
                subcomponents: vec!["pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64".into()],
            }],
            status: "not_affected".into(),
            justification: Some("code_not_reachable".into()),
            detail: Some("DH keys are never generated".into()),
        }]
    );
}

#[test]
fn an_osv_advisory_names_the_package_and_its_fix_and_scores_its_vector() {
    let x = read("osv-ghsa.json");
    assert_eq!((x.format, x.spec_version.as_str()), (Format::Osv, "1.6.0"));
    let f = &x.findings[..];
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].id.as_str(), f[0].aliases.as_slice()), ("GHSA-35jh-r3h4-6jhm", &["CVE-2021-23337".to_owned()][..]));
    assert_eq!((f[0].severity, f[0].score), (Severity::High, Some(7.2)));
    assert_eq!((f[0].package.as_deref(), f[0].fixed_version.as_deref()), (Some("pkg:npm/lodash"), Some("4.17.21")));
}

#[test]
fn an_osv_record_keeps_its_details_references_and_cvss_vectors_of_each_version() {
    let record = serde_json::json!({
        "schema_version": "1.6.0", "id": "GHSA-2026-0001", "aliases": ["CVE-2026-0001"], "summary": "Heap overflow in parse()",
        "details": "A crafted header overflows the buffer.",
        "references": [{"type": "ADVISORY", "url": "https://github.com/advisories/GHSA-2026-0001"}, {"type": "WEB"}],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                     {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
        "affected": [{"package": {"ecosystem": "npm", "name": "parser", "purl": "pkg:npm/parser"}}]
    });
    let x = dossier_evidence::extract(Format::Osv, record.to_string().as_bytes()).unwrap();
    let f = &x.findings[0];
    assert_eq!(f.description.as_deref(), Some("A crafted header overflows the buffer."));
    assert_eq!(f.references, vec!["https://github.com/advisories/GHSA-2026-0001".to_owned()]);
    let scores: Vec<Option<f64>> = f.vectors.iter().map(|v| dossier_evidence::cvss::base_score(v)).collect();
    assert_eq!(scores, vec![Some(9.8), Some(9.3)], "{:?}", f.vectors);
}

#[test]
fn osv_scanner_output_gives_the_installed_versions() {
    let x = read("osv-scanner.json");
    let got: Vec<_> =
        x.findings.iter().map(|f| (f.id.as_str(), f.package.as_deref().unwrap(), f.fixed_version.as_deref(), f.severity)).collect();
    assert_eq!(
        got,
        [
            ("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash@4.17.20", Some("4.17.21"), Severity::High),
            ("PYSEC-2021-98", "pkg:pypi/django@3.2.0", Some("3.2.4"), Severity::Unknown),
        ]
    );
    assert_eq!(x.tools[0].name, "osv-scanner");
}

#[test]
fn openvex_statements_are_kept_with_their_justification() {
    let x = read("openvex.json");
    assert_eq!((x.format, x.spec_version.as_str()), (Format::OpenVex, "v0.2.0"));
    assert_eq!(x.vex.len(), 2);
    assert_eq!(
        x.vex[0].products,
        vec![Product {
            id: "pkg:oci/shop@sha256%3A4d2a".into(),
            identifiers: vec![],
            subcomponents: vec!["pkg:npm/lodash@4.17.20".into()]
        }]
    );
    assert_eq!(x.vex[1].products, vec![Product::named("pkg:oci/shop@sha256%3A4d2a")]);
    assert_eq!(x.vex[0].justification.as_deref(), Some("vulnerable_code_not_in_execute_path"));
    assert!(x.vex[0].waives() && !x.vex[1].waives());
}

fn recorded(seq: u64, about: &str, name: &str) -> Received {
    Received {
        seq,
        time: String::new(),
        artifact_id: about.into(),
        digest: format!("sha256:{name}"),
        size: 1,
        sender: "ci".into(),
        origin: "upload".into(),
        extract: read(name),
    }
}

/// Issue 13: the OpenVEX document about pkg:oci/shop@sha256%3A4d2a, sent about another
/// image, marked that image's lodash finding not_affected.
#[test]
fn the_openvex_document_answers_the_findings_of_the_image_it_names_and_no_other() {
    for (artifact, expected) in [
        (
            "pkg:oci/shop@sha256%3A4d2a",
            Some(serde_json::json!({
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "statement": 0,
                "document": "sha256:openvex.json",
                "matched": "product pkg:oci/shop@sha256%3A4d2a names this artifact; its subcomponent pkg:npm/lodash@4.17.20 is the finding's package"
            })),
        ),
        ("pkg:oci/shop@sha256%3Ab2", None),
    ] {
        let documents = [recorded(1, artifact, "osv-scanner.json"), recorded(2, artifact, "openvex.json")];
        let found = about::findings(artifact, &documents, &[]);
        let lodash = found.iter().find(|f| f.finding.id == "GHSA-35jh-r3h4-6jhm").expect("the lodash finding");
        assert_eq!(lodash.vex.as_ref().map(|v| serde_json::to_value(v).unwrap()), expected, "{artifact}");
    }
}

#[test]
fn slsa_v1_provenance_in_a_dsse_envelope_gives_sources_parents_and_builder() {
    let x = read("slsa-v1.dsse.json");
    assert_eq!((x.format, x.predicate_type.as_deref()), (Format::InToto, Some("https://slsa.dev/provenance/v1")));
    assert_eq!(x.signatures, vec!["SHA256:kXd1".to_owned()]);
    assert_eq!(x.subjects[0].digest, BTreeMap::from([("sha256".to_owned(), format!("4d2a{}", "0".repeat(60)))]));
    let p = x.provenance.unwrap();
    assert_eq!(p.builder.as_deref(), Some("https://github.com/actions/runner/github-hosted"));
    assert_eq!(p.invocation.as_deref(), Some("https://github.com/example/shop/actions/runs/1234/attempts/1"));
    assert_eq!(
        p.sources,
        vec![Source { repository: "https://github.com/example/shop".into(), commit: "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d".into() }]
    );
    assert_eq!(p.parents, vec!["pkg:oci/node@sha256%3A9e1c?repository_url=docker.io/library".to_owned()]);
    assert_eq!(p.materials.len(), 2);
}

#[test]
fn slsa_v0_2_provenance_takes_its_config_source_as_a_source() {
    let x = read("slsa-v0.2.json");
    let p = x.provenance.unwrap();
    assert_eq!(p.builder.as_deref(), Some("https://tekton.dev/chains/v2"));
    assert_eq!(p.invocation.as_deref(), Some("shop-build-run-42"));
    assert_eq!(
        p.sources,
        vec![Source { repository: "https://github.com/example/shop".into(), commit: "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d".into() }]
    );
    assert_eq!(p.parents, vec!["pkg:oci/golang@sha256%3A77aa".to_owned()]);
}

fn refused(format: Format, doc: &str) -> String {
    extract(format, doc.as_bytes()).unwrap_err().to_string()
}

#[test]
fn malformed_documents_are_refused_with_the_field_and_what_is_accepted() {
    assert_eq!(
        refused(Format::CycloneDx, r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "a"}, {"version": "1"}]}"#),
        "cyclonedx document: /components/1: missing field `name`"
    );
    assert_eq!(
        refused(Format::CycloneDx, r#"{"bomFormat": "CycloneDX", "specVersion": "1.2"}"#),
        "cyclonedx document: specVersion \"1.2\" is not read; Dossier reads CycloneDX JSON 1.4, 1.5, 1.6, 1.7"
    );
    assert_eq!(
        refused(Format::Spdx, r#"{"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "x", "name": 7}]}"#),
        "spdx document: /packages/0/name: invalid type: integer `7`, expected a string"
    );
    assert_eq!(
        refused(Format::Sarif, r#"{"version": "2.0.0", "runs": []}"#),
        "sarif document: version \"2.0.0\" is not read; Dossier reads SARIF 2.1.0"
    );
    assert_eq!(
        refused(
            Format::OpenVex,
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": "CVE-1", "status": "fine"}]}"#
        ),
        "openvex document: /statements/0/status: \"fine\" is not a status; accepted: not_affected, affected, fixed, under_investigation"
    );
    assert_eq!(
        refused(Format::InToto, r#"{"payloadType": "application/vnd.in-toto+json", "payload": "%%%"}"#),
        "intoto document: /payload: not standard base64: Invalid symbol 37, offset 0."
    );
    assert_eq!(
        refused(Format::Osv, r#"{"affected": []}"#),
        "osv document: /id: missing field `id` (an OSV record names its vulnerability; osv-scanner output has `results`)"
    );
    assert!(matches!(extract(Format::Spdx, &b"{\"spdxVersion\": \"SPDX-2.3\", "[..]), Err(DocumentError::NotJson(_))));
}

#[test]
fn hostile_nesting_is_skipped_or_refused_never_followed_down_the_stack() {
    // Fields Dossier does not read are skipped without recursion, however deep.
    let deep = format!(r#"{{"bomFormat": "CycloneDX", "specVersion": "1.5", "x": {}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(detect(deep.as_bytes()).unwrap(), Format::CycloneDx);
    assert_eq!(extract(Format::CycloneDx, deep.as_bytes()).unwrap().components.len(), 0);
    // Fields it reads stop at serde_json's depth limit.
    let nested = format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": {}{}}}"#,
        r#"[{"name": "a", "components": "#.repeat(100),
        "]}".repeat(100)
    );
    let err = extract(Format::CycloneDx, nested.as_bytes()).unwrap_err().to_string();
    assert!(
        err.starts_with("cyclonedx document: /components/0/components/0/") && err.ends_with("nested more than 128 levels deep"),
        "{err}"
    );
}

/// A CycloneDX analysis is about the BOM's subject (metadata.component), limited to the
/// component its `affects` names: it answers that component's finding on that image only.
#[test]
fn the_cyclonedx_analysis_answers_the_finding_of_the_boms_subject_and_no_other_image() {
    let openssl = Finding {
        id: "CVE-2023-5678".into(),
        aliases: vec![],
        severity: Severity::Medium,
        score: None,
        package: Some("pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64".into()),
        version: None,
        fixed_version: None,
        location: None,
        title: None,
        description: None,
        references: Vec::new(),
        vectors: Vec::new(),
    };
    for (artifact, matched) in [
        (
            "pkg:oci/shop@sha256%3A4d2a",
            Some("product pkg:oci/shop@sha256%3A4d2a names this artifact; its subcomponent pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64 is the finding's package"),
        ),
        ("pkg:oci/shop-base@sha256%3Aa1", None),
    ] {
        let mut scan = Extract::new(Format::Osv);
        scan.findings.push(openssl.clone());
        let documents = [
            Received { extract: scan, ..recorded(1, artifact, "osv-ghsa.json") },
            recorded(2, artifact, "cyclonedx-vex.json"),
        ];
        let found = about::findings(artifact, &documents, &[]);
        let answer = found.iter().find(|f| f.finding.id == "CVE-2023-5678").and_then(|f| f.vex.as_ref());
        assert_eq!(answer.map(|a| a.matched.as_str()), matched, "{artifact}");
    }
}
