//! `dossier serve` and TLS: HTTPS with a certificate's files, and the loopback rule (plain HTTP
//! on an address others reach only with `--insecure`, and said so at start).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{dossier, Server, BIN};

/// A CA, and a certificate for `localhost` it issued, written as `tls.crt` and `tls.key` in
/// `dir`; returns the CA's certificate (DER), for the client to trust.
fn certificate(dir: &std::path::Path) -> rustls::pki_types::CertificateDer<'static> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
    std::fs::write(dir.join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();
    ca.der().clone()
}

fn https_agent(ca: rustls::pki_types::CertificateDer<'static>) -> ureq::Agent {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    ureq::AgentBuilder::new().tls_config(Arc::new(config)).timeout(Duration::from_secs(30)).build()
}

#[test]
fn serve_answers_https_with_the_certificate_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let ca = certificate(dir.path());
    let (crt, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let server = Server::start_with(&dir.path().join("data"), &["--tls-cert", crt.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    let port = server.url.strip_prefix("https://127.0.0.1:").unwrap_or_else(|| panic!("an https URL: {}", server.url));
    let answer = https_agent(ca).get(&format!("https://localhost:{port}/healthz")).call().unwrap();
    assert_eq!((answer.status(), answer.into_string().unwrap()), (200, "ok\n".to_owned()));
    // Plain HTTP on the same port gets no HTTP answer.
    let plain = ureq::get(&format!("http://127.0.0.1:{port}/healthz")).timeout(Duration::from_secs(30)).call();
    assert!(matches!(plain, Err(ureq::Error::Transport(_))), "{plain:?}");
}

#[test]
fn a_certificate_that_does_not_load_stops_serve_before_it_opens_anything() {
    let dir = tempfile::tempdir().unwrap();
    certificate(dir.path());
    let (crt, data) = (dir.path().join("tls.crt"), dir.path().join("data"));
    let (code, _, stderr) =
        dossier(&["serve", "--data", data.to_str().unwrap(), "--tls-cert", crt.to_str().unwrap(), "--tls-key", crt.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    let expected = format!(
        "error: loading the TLS certificate: the TLS key file {}: no private key in it (a PEM block \"BEGIN PRIVATE KEY\", \
         \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\")",
        crt.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!data.exists(), "the data directory was created");
    let (code, _, stderr) = dossier(&["serve", "--data", data.to_str().unwrap(), "--tls-cert", crt.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error: tls_cert needs tls_key: the private key of the certificate"), "{stderr}");
}

#[test]
fn plain_http_on_an_address_others_reach_is_refused_unless_insecure_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, stderr) = dossier(&["serve", "--listen", "0.0.0.0:0", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "error: refusing to serve plain HTTP on 0.0.0.0:0, which is not a loopback address: give --tls-cert and --tls-key \
             (a certificate and its private key, PEM) to serve HTTPS, or --insecure to serve plain HTTP there on purpose"
        ),
        "{stderr}"
    );
    assert!(!data.exists(), "the data directory was created");

    // With --insecure it serves, and says so before it says where.
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--insecure", "--data"])
        .arg(&data)
        .env("DOSSIER_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut before = Vec::new();
    let url = loop {
        let line = lines.next().expect("it exited before listening").unwrap();
        if let Some(rest) = line.split("serving ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        before.push(line);
    };
    std::thread::spawn(move || for _ in lines {});
    // (This server starts without an admin token, so it also warns where it wrote one.)
    let warning =
        before.iter().find(|l| l.contains("WARN") && l.contains("without TLS")).unwrap_or_else(|| panic!("no TLS warning: {before:?}"));
    assert!(warning.contains("the API is served without TLS on 0.0.0.0:"), "{warning}");
    assert!(warning.contains("not a loopback address (--insecure)"), "{warning}");
    let port = url.strip_prefix("http://0.0.0.0:").unwrap_or_else(|| panic!("an http URL: {url}"));
    let answer = ureq::get(&format!("http://127.0.0.1:{port}/healthz")).timeout(Duration::from_secs(30)).call().unwrap();
    assert_eq!(answer.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
}
