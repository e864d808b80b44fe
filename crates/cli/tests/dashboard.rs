//! The dashboard's pages, served by the binary over a demo-populated Dossier: each answers with
//! the layout, the data it is about and what to do when there is none; data never becomes
//! markup. (What only a browser shows — scripts, live updates — is for the browser tests.)

mod common;

use std::time::Duration;

use common::{dossier, Server};
use serde_json::json;

/// The DSSE envelope at `path` with its statement's subject digest replaced by the one
/// `artifact`'s purl carries (`…@sha256%3A<hex>` or `…@sha256:<hex>`).
fn about_digest(path: &str, artifact: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut envelope: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut statement: serde_json::Value = serde_json::from_slice(&b64.decode(envelope["payload"].as_str().unwrap()).unwrap()).unwrap();
    let hex = artifact.rsplit_once("sha256%3A").or_else(|| artifact.rsplit_once("sha256:")).expect("a purl with a digest").1;
    statement["subject"][0]["digest"]["sha256"] = json!(hex);
    envelope["payload"] = json!(b64.encode(statement.to_string()));
    envelope.to_string()
}

/// A page's status, content type and body.
fn page(server: &Server, path: &str) -> (u16, String, String) {
    match crate::common::http().get(&format!("{}{path}", server.url)).timeout(Duration::from_secs(30)).call() {
        Ok(r) => (r.status(), r.content_type().to_owned(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.content_type().to_owned(), r.into_string().unwrap()),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

fn query(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[test]
fn every_page_shows_its_data_in_one_layout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (code, _, err) = dossier(&["demo", "--artifacts", "120", "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    // A deployed artifact of the demo, with an SBOM and an exception.
    let (_, environments) = server.get("/api/v1/environments");
    let deployed = environments["environments"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|d| d[0]["artifact"].as_str())
        .unwrap()
        .to_owned();
    let signed = json!({
        "context": {"specversion": "0.5.1", "id": "sig-1", "source": "/ci/cosign", "type": "dev.cdevents.artifact.signed.0.3.0", "timestamp": "2026-11-30T10:00:00Z"},
        "subject": {"id": deployed, "content": {"signature": "MEUCIQDsignature"}}
    });
    assert_eq!(server.post("application/json", signed.to_string().as_bytes()).0, 201);
    // The SBOM, and the fixture's attestation made about this artifact's digest (an
    // attestation about another digest is refused).
    let documents = format!("{}/../evidence/tests/documents", env!("CARGO_MANIFEST_DIR"));
    let attestation = dir.path().join("slsa-v1.dsse.json");
    std::fs::write(&attestation, about_digest(&format!("{documents}/slsa-v1.dsse.json"), &deployed)).unwrap();
    for path in [format!("{documents}/cyclonedx-py-1.6.json"), attestation.to_str().unwrap().to_owned()] {
        let (code, _, err) = dossier(&["document", "send", "--artifact", &deployed, &path, "--server", &server.url]);
        assert_eq!(code, 0, "{path}: {err}");
    }
    let expires = dossier_core::event::format_timestamp(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64 + 7 * 86_400_000_000_000,
    );
    // Alice asks for it with her own token: the requester is who the credential names.
    let alice = common::token(&server, "alice", &["exceptions:request", "read"]);
    let request = json!({"id": "exc-dash", "vulnerabilities": ["CVE-2021-23337"], "artifacts": [deployed], "reason": "not reachable", "expires": expires});
    let r = common::as_bearer(&alice).post(&format!("{}/api/v1/exceptions", server.url)).send_json(request).unwrap();
    assert_eq!(r.status(), 201);

    for (path, heading) in [
        ("/ui", "Overview"),
        ("/ui/events", "Events"),
        ("/ui/impact", "Vulnerability impact"),
        ("/ui/environments", "Environments"),
        ("/ui/policies", "Policies"),
        ("/ui/exceptions", "Exceptions"),
        ("/ui/audit", "Audit"),
        ("/ui/events?seq=3", "Entry 3"),
    ] {
        let (code, ty, body) = page(&server, path);
        assert_eq!((code, ty.as_str()), (200, "text/html"), "{path}");
        assert!(body.contains(&format!("<h1>{heading}</h1>")), "{path}");
        assert!(
            body.contains(r#"<link rel="stylesheet" href="/ui/assets/dossier.css">"#)
                && body.contains(r#"<nav class="side" aria-label="Dashboard">"#),
            "{path}: the layout"
        );
    }
    let (_, _, overview) = page(&server, "/ui");
    assert!(overview.contains(r#"data-live="""#), "the newest events update live");
    assert!(
        overview.contains("Clusters affected by vulnerabilities") && overview.contains(r#"class="badge sev-"#),
        "the demo's vulnerable clusters"
    );

    let (code, _, dossier_page) = page(&server, &format!("/ui/artifact?purl={}", query(&deployed)));
    assert_eq!(code, 200);
    assert!(dossier_page.contains(r#"<svg class="lineage""#), "the lineage picture");
    for column in ["Sources", "Build", "Derived from", "This artifact", "Runs in"] {
        assert!(
            dossier_page.contains(&format!(">{column}</text>")),
            "{column} on the picture: the binary's build, its images, the clusters"
        );
    }
    assert!(dossier_page.contains("pkg:pypi/pyyaml@6.0.4"), "the SBOM's components");
    assert!(
        dossier_page.contains("<td>Provenance</td>") && dossier_page.contains("built by <span class=\"mono\">"),
        "the attestation's provenance"
    );
    assert!(
        dossier_page.contains(
            r#"<span class="badge st-unverified">unverified</span> <span class="muted">signatures[0].sig is not standard base64</span>"#
        ),
        "the provenance, said unverified: the fixture's signature is a placeholder"
    );
    assert!(dossier_page.contains("<td>Signed</td>") && dossier_page.contains("MEUCIQDsignature</span> from /ci/cosign"), "its signature");
    assert!(
        dossier_page.contains(r#"from /ci/cosign <span class="badge st-unverified">unverified</span> <span class="muted">a cosign key signature is checked over its simple-signing payload: send it base64 in customData.payload, or name the image with a repository_url qualifier so that Dossier can rebuild it</span>"#),
        "the signature, said unverified: nothing to check it over"
    );
    assert!(dossier_page.contains(r#"<a href="/ui/exceptions#exc-dash">exc-dash</a>"#), "the exception covering it");

    // The demo's vulnerabilities, their reach, and the risk per cluster.
    let (_, risk) = server.get("/api/v1/risk");
    let cluster = risk["clusters"][0]["cluster"].as_str().unwrap().to_owned();
    let (_, vulnerabilities) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-vulnerability.discovered.*");
    // One the demo did not fix afterwards.
    let (vulnerability, impact) = vulnerabilities["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["subject"].as_str())
        .find_map(|v| {
            let (code, impact) = server.get(&format!("/api/v1/impact?vulnerability={v}"));
            (code == 200 && impact["artifacts"].as_array().is_some_and(|a| !a.is_empty())).then(|| (v.to_owned(), impact))
        })
        .unwrap();
    let (_, _, impact_page) = page(&server, &format!("/ui/impact?vulnerability={vulnerability}"));
    assert!(
        impact_page.contains(&format!("Reaches {} artifacts", impact["artifacts"].as_array().unwrap().len())),
        "the same reach as the API"
    );
    assert!(impact_page.contains(&format!(">{cluster}</a>")), "the risk table names the clusters");
    let (_, _, unknown_vulnerability) = page(&server, "/ui/impact?vulnerability=CVE-1999-0001");
    assert!(unknown_vulnerability.contains("Dossier knows of no vulnerability CVE-1999-0001"));
    let (_, _, environments) = page(&server, "/ui/environments");
    // The artifact running there (its name breakable at its parts on the page).
    assert!(environments.contains(&format!(r#"id="{cluster}""#)) && environments.replace("<wbr>", "").contains(&deployed));
    let (_, _, audit) = page(&server, "/ui/audit");
    assert!(audit.contains("✓ Verified"), "the checkpoint verifies");
    let report = audit.split("Exceptions: who, what, when").nth(1).expect("the report's exceptions");
    assert!(
        report.contains(r#"<a href="/ui/exceptions#exc-dash">exc-dash</a>"#) && report.contains("alice"),
        "who asked for the exception, in the report"
    );
    let (_, _, policies) = page(&server, "/ui/policies");
    assert!(policies.contains("No policy engine runs"), "this server runs without --policies");

    let (_, _, exceptions) = page(&server, "/ui/exceptions");
    assert!(exceptions.contains(r#"<span id="exc-dash" class="mono">exc-dash</span>"#));
    assert!(exceptions.contains(r#"data-api="/api/v1/exceptions/exc-dash/approve""#), "a requested exception can be approved");

    let (code, _, unknown) = page(&server, "/ui/artifact?purl=pkg%3Aoci%2Fnowhere%401");
    assert_eq!(code, 404);
    assert!(unknown.contains("Dossier knows nothing about this artifact yet"));
    let (code, _, missing) = page(&server, "/ui/events?seq=999999");
    assert_eq!(code, 404);
    assert!(missing.contains("the log has no entry 999999"));

    let (code, ty, _) = page(&server, "/ui/assets/dossier.js");
    assert_eq!((code, ty.as_str()), (200, "text/javascript"));
    let (code, ty, _) = page(&server, "/ui/assets/dossier.css");
    assert_eq!((code, ty.as_str()), (200, "text/css"));
}

#[test]
fn an_empty_dossier_says_what_to_do_next() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (_, _, overview) = page(&server, "/ui");
    assert!(overview.contains("No events yet. Send one"));
    assert!(overview.contains("No pipeline run has finished yet"));
    let (_, _, exceptions) = page(&server, "/ui/exceptions");
    assert!(exceptions.contains("No exception yet. Request one above"));
}

/// Every page forbids inline script and anything from elsewhere (markup that slipped into a page
/// could not run), and may not be framed by another site.
#[test]
fn pages_and_assets_carry_a_content_security_policy_without_inline_script() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    for path in ["/ui", "/ui/events", "/ui/exceptions", "/ui/audit", "/ui/assets/dossier.js"] {
        let r = crate::common::http().get(&format!("{}{path}", server.url)).call().unwrap();
        let csp = r.header("content-security-policy").unwrap_or_default().to_owned();
        assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
        let body = r.into_string().unwrap();
        assert!(!body.contains(" style=\"") && !body.contains("<script>"), "{path} has inline style or script");
    }
}

#[test]
fn data_is_shown_as_text_never_as_markup() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let evil = json!({
        "context": {"specversion": "0.5.1", "id": "x1", "source": "/ci/evil", "type": "dev.cdeventsx.acme-scan.finished.0.1.0", "timestamp": "2026-11-30T10:00:00Z"},
        "subject": {"id": "<script>alert(1)</script>", "content": {"artifactId": "pkg:oci/x@1", "note": "<b>evil</b>"}}
    });
    assert_eq!(server.post("application/json", evil.to_string().as_bytes()).0, 201);
    for path in [
        "/ui",
        "/ui/events",
        "/ui/events?seq=1", // entry 0 records the admin token
        &format!("/ui/events?subject={}", query("<script>alert(1)</script>")),
        "/ui/artifact?purl=pkg%3Aoci%2Fx%401",
    ] {
        let (code, _, body) = page(&server, path);
        assert_eq!(code, 200, "{path}");
        assert!(!body.contains("<script>alert") && !body.contains("<b>evil"), "{path} embeds data as markup");
        assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{path} shows it as text");
    }
}

/// Where `path` redirects to (its `Location`), or `None` if it answers itself.
fn redirect(server: &Server, path: &str) -> Option<String> {
    let agent = ureq::AgentBuilder::new().redirects(0).middleware(dossier_client::Bearer::new(common::ADMIN_TOKEN)).build();
    match agent.get(&format!("{}{path}", server.url)).timeout(Duration::from_secs(30)).call() {
        Ok(r) => r.header("Location").map(str::to_owned),
        Err(ureq::Error::Status(_, r)) => r.header("Location").map(str::to_owned),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// Where the header's search leads for `typed`: the page it redirects to, that page's status
/// and its body.
fn search(server: &Server, typed: &str) -> (String, u16, String) {
    let to = redirect(server, &format!("/ui/search?q={}", query(typed))).unwrap_or_else(|| panic!("searching {typed:?} leads to a page"));
    let (status, _, body) = page(server, &to);
    (to, status, body)
}

#[test]
fn the_header_search_opens_what_was_typed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    // An image, and a scanner's report about it: lodash's GHSA-35jh-r3h4-6jhm (alias
    // CVE-2021-23337) and django's PYSEC-2021-98 (alias CVE-2021-33203).
    let hex = "4d2a0f5e";
    let packaged = json!({
        "context": {"specversion": "0.5.1", "id": "shop-1", "source": "/ci", "type": "dev.cdevents.artifact.packaged.0.3.0", "timestamp": "2026-11-25T10:00:00Z"},
        "subject": {"id": format!("pkg:oci/shop@sha256%3A{hex}"), "content": {"change": {"id": "c1"}}}
    });
    assert_eq!(server.post("application/json", packaged.to_string().as_bytes()).0, 201);
    let scan = format!("{}/../evidence/tests/documents/osv-scanner.json", env!("CARGO_MANIFEST_DIR"));
    let (code, _, err) =
        dossier(&["document", "send", "--artifact", &format!("pkg:oci/shop@sha256:{hex}"), &scan, "--server", &server.url]);
    assert_eq!(code, 0, "{err}");

    // An image's purl, in any spelling: its dossier, under its canonical name.
    let dossier_page = format!("/ui/artifact?purl=pkg%3Aoci%2Fshop%40sha256%3A{hex}");
    for typed in [
        format!("pkg:oci/shop@sha256:{hex}"),
        format!("pkg:oci/shop@sha256%3A{hex}"),
        format!("  pkg:OCI/Shop@sha256:{}  ", hex.to_uppercase()),
    ] {
        let (landed, status, body) = search(&server, &typed);
        assert_eq!((landed.as_str(), status), (dossier_page.as_str(), 200), "{typed}");
        assert!(body.contains("<h1>Artifact dossier</h1>"), "{typed}");
        assert!(body.contains(&format!(r#"<p class="lead"><span class="mono">pkg:oci/shop@sha256:{hex}</span>"#)), "{typed}");
    }
    // A vulnerability by any of its ids, in any letter case: its page, under its canonical id.
    for (typed, id) in [
        ("GHSA-35jh-r3h4-6jhm", "CVE-2021-23337"),
        ("ghsa-35jh-r3h4-6jhm", "CVE-2021-23337"),
        ("CVE-2021-23337", "CVE-2021-23337"),
        ("cve-2021-23337", "CVE-2021-23337"),
        ("PYSEC-2021-98", "CVE-2021-33203"),
    ] {
        let (landed, status, body) = search(&server, typed);
        assert_eq!((landed.as_str(), status), (format!("/ui/vulnerabilities/{id}").as_str(), 200), "{typed}");
        assert!(body.contains(&format!(r#"<h1><span class="mono">{id}</span> <span class="badge sev-"#)), "{typed}: the page of {id}");
    }
    // Part of an id: the vulnerabilities that hold it.
    let (landed, status, body) = search(&server, "2021-3");
    assert_eq!((landed.as_str(), status), ("/ui/vulnerabilities?q=2021-3", 200));
    assert!(body.contains("1 of 2 vulnerabilities") && body.contains("CVE-2021-33203"), "PYSEC-2021-98 alone holds it (CVE-2021-33203)");
    // Anything else is an artifact Dossier does not know, said so.
    let (landed, status, body) = search(&server, "pkg:oci/nowhere@sha256:00");
    assert_eq!((landed.as_str(), status), ("/ui/artifact?purl=pkg%3Aoci%2Fnowhere%40sha256%3A00", 404));
    assert!(body.contains("Dossier knows nothing about this artifact yet"));
    assert_eq!(redirect(&server, "/ui/search?q=+"), None);
    let (status, _, body) = page(&server, "/ui/search?q=+");
    assert_eq!(status, 400);
    assert!(body.contains("type an artifact&#39;s name or package URL"), "{body}");
}

#[test]
fn a_dashboard_path_that_is_no_page_answers_a_404_page_in_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    for path in ["/ui/nope", "/ui/artifact/pkg:oci/app", "/ui/vulnerabilities/CVE-2021-23337/more", "/ui/events/"] {
        let (code, ty, body) = page(&server, path);
        assert_eq!((code, ty.as_str()), (404, "text/html"), "{path}");
        assert!(body.contains("<h1>No such page</h1>"), "{path}: {body}");
        assert!(body.contains(&format!("{path} is not a page of Dossier&#39;s dashboard")), "{path}");
        assert!(body.contains(r#"<nav class="side" aria-label="Dashboard">"#), "{path}: the navigation to the pages there are");
    }
    // `/ui/` is the overview.
    assert_eq!(redirect(&server, "/ui/").as_deref(), Some("/ui"));
}
