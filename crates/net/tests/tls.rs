//! `serve_tls` over real connections: HTTPS answered, plain HTTP not, the certificate reloaded
//! when its files change (and only to a pair that loads), an idle handshake closed in time.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use dossier_net::{Connections, Tls, TlsFiles};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest a test waits for something that should happen within a few seconds.
const DEADLINE: Duration = Duration::from_secs(20);

/// A certificate authority the test client trusts, issuing certificates for `localhost`.
struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

/// A server certificate and its key, as PEM, and the certificate as the client sees it.
struct Leaf {
    cert: String,
    key: String,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "Dossier test CA");
        Ca { issuer: rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap() }
    }

    /// A certificate for `localhost` (and `name`, so that each is told apart by its names too).
    fn leaf(&self, name: &str) -> Leaf {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), name.to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf { cert: cert.pem(), key: key.serialize_pem(), der: cert.der().clone() }
    }

    /// A client trusting this CA only, with full handshakes only: a resumed session would show
    /// the certificate of the connection it resumes, not the one served now.
    fn client(&self) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

/// Replaces a file as a whole (written beside it, then renamed), as a secret mount does: the
/// server never reads half of it.
fn replace(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn app() -> axum::Router {
    axum::Router::new().route("/who", axum::routing::get(|ConnectInfo(remote): ConnectInfo<SocketAddr>| async move { remote.to_string() }))
}

/// `serve_tls` on a free loopback port with `leaf`'s files; returns the address, the files, a
/// trigger for shutdown and the serving task.
async fn start(
    dir: &Path,
    leaf: &Leaf,
    limits: Connections,
) -> (SocketAddr, TlsFiles, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let files = TlsFiles { cert: dir.join("tls.crt"), key: dir.join("tls.key") };
    replace(&files.cert, &leaf.cert);
    replace(&files.key, &leaf.key);
    let tls = Tls::load(files.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(dossier_net::serve_tls(listener, app(), limits, tls, async move {
        let _ = stopped.await;
    }));
    (addr, files, stop, task)
}

/// What one HTTPS request sees: the server's certificate, the answer (head and body), and the
/// client's own address.
struct Seen {
    cert: CertificateDer<'static>,
    answer: String,
    local: SocketAddr,
}

async fn get(client: &tokio_rustls::TlsConnector, addr: SocketAddr) -> std::io::Result<Seen> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let local = tcp.local_addr()?;
    let mut tls = client.connect(ServerName::try_from("localhost").unwrap(), tcp).await?;
    let cert = tls.get_ref().1.peer_certificates().expect("a certificate")[0].clone();
    tls.write_all(b"GET /who HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await?;
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).await?;
    Ok(Seen { cert, answer: String::from_utf8(answer).unwrap(), local })
}

/// Polls `f` every 100 ms until it answers, or fails the test after [`DEADLINE`].
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> F) -> T {
    let start = Instant::now();
    loop {
        if let Some(x) = f().await {
            return x;
        }
        assert!(start.elapsed() < DEADLINE, "not within {DEADLINE:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The server's log, kept for the test to read (warnings and above, no colours).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    /// Captures what this thread logs (the test's runtime runs the server on this thread).
    fn capture() -> (Log, tracing::subscriber::DefaultGuard) {
        let log = Log::default();
        let writer = log.clone();
        let subscriber =
            tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_ansi(false).with_writer(move || writer.clone()).finish();
        (log.clone(), tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Waits until a line saying `what` is logged, and returns it.
    async fn line(&self, what: &str) -> String {
        eventually(what, || async { self.text().lines().find(|l| l.contains(what)).map(str::to_owned) }).await
    }
}

#[tokio::test]
async fn an_https_request_is_answered_with_its_client_address_and_the_server_stops_when_asked() {
    let ca = Ca::new();
    let leaf = ca.leaf("a.test");
    let dir = tempfile::tempdir().unwrap();
    let (addr, _files, stop, task) = start(dir.path(), &leaf, Connections::default()).await;
    let seen = get(&ca.client(), addr).await.unwrap();
    assert_eq!(seen.cert, leaf.der);
    assert!(seen.answer.starts_with("HTTP/1.1 200 OK\r\n"), "{}", seen.answer);
    assert!(seen.answer.ends_with(&format!("\r\n\r\n{}", seen.local)), "{}", seen.answer);
    stop.send(()).unwrap();
    tokio::time::timeout(DEADLINE, task).await.expect("serve_tls returns once asked to stop").unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "nothing listens once it stopped");
}

#[tokio::test]
async fn plain_http_on_the_tls_port_gets_no_http_answer() {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    let (addr, _files, _stop, _task) = start(dir.path(), &ca.leaf("a.test"), Connections::default()).await;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /who HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    // The answer is a TLS alert record, not HTTP (content type 21, TLS 1.2 framing, 2 bytes:
    // fatal, decode_error), and the connection is closed at once, not at the header timeout.
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer)).await.expect("the connection is closed").unwrap();
    assert_eq!(answer, [21, 3, 3, 0, 2, 2, 50], "{}", String::from_utf8_lossy(&answer));
    // And the server still serves HTTPS.
    get(&ca.client(), addr).await.unwrap();
}

#[tokio::test]
async fn new_certificate_files_are_served_to_new_connections_within_seconds() {
    let (log, _guard) = Log::capture();
    let ca = Ca::new();
    let client = ca.client();
    let (a, b) = (ca.leaf("a.test"), ca.leaf("b.test"));
    let dir = tempfile::tempdir().unwrap();
    let (addr, files, _stop, _task) = start(dir.path(), &a, Connections::default()).await;
    assert_eq!(get(&client, addr).await.unwrap().cert, a.der);
    // As cert-manager does: the certificate, then the key, not at once.
    replace(&files.cert, &b.cert);
    replace(&files.key, &b.key);
    eventually("b's certificate served", || async { (get(&client, addr).await.unwrap().cert == b.der).then_some(()) }).await;
    // Once it changed, every connection gets the new one.
    for _ in 0..3 {
        assert_eq!(get(&client, addr).await.unwrap().cert, b.der);
    }
    // Seeing the new certificate before its key is at most a warning, never an error served.
    for line in log.text().lines() {
        assert!(line.contains("WARN") && line.contains("does not match the certificate"), "{line}");
    }
}

#[tokio::test]
async fn a_replacement_that_does_not_load_is_logged_and_the_current_certificate_kept() {
    let (log, _guard) = Log::capture();
    let ca = Ca::new();
    let client = ca.client();
    let (a, b) = (ca.leaf("a.test"), ca.leaf("b.test"));
    let dir = tempfile::tempdir().unwrap();
    let (addr, files, _stop, _task) = start(dir.path(), &a, Connections::default()).await;

    replace(&files.cert, "not a certificate\n");
    let line = log.line("no certificate in it").await;
    assert!(line.contains("WARN") && line.contains("TLS: keeping the current certificate: the TLS certificate file"), "{line}");
    assert!(line.contains(&files.cert.display().to_string()), "{line}");
    assert_eq!(get(&client, addr).await.unwrap().cert, a.der, "the old certificate is still served");

    // A new certificate with the old key: half of a rotation.
    replace(&files.cert, &b.cert);
    let line = log.line("does not match").await;
    let expected = format!("the private key in {} does not match the certificate in {}", files.key.display(), files.cert.display());
    assert!(line.contains("WARN") && line.contains(&expected), "{line}");
    assert_eq!(get(&client, addr).await.unwrap().cert, a.der, "the old certificate is still served");

    // The other half: now the pair loads.
    replace(&files.key, &b.key);
    eventually("b's certificate served", || async { (get(&client, addr).await.unwrap().cert == b.der).then_some(()) }).await;
    assert_eq!(log.text().lines().count(), 2, "one warning for each problem, not one every few seconds:\n{}", log.text());
}

#[tokio::test]
async fn a_connection_that_never_starts_its_handshake_is_closed_after_the_header_timeout() {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    // One connection at a time: the silent one holds the only place until it is closed.
    let limits = Connections { header_timeout: Duration::from_secs(1), max: 1 };
    let (addr, _files, _stop, _task) = start(dir.path(), &ca.leaf("a.test"), limits).await;
    let start = Instant::now();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let waiting = tokio::spawn({
        let client = ca.client();
        async move { get(&client, addr).await.map(|_| start.elapsed()) }
    });
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(DEADLINE, silent.read(&mut buf)).await.expect("the silent connection is closed").unwrap();
    let closed = start.elapsed();
    assert_eq!(n, 0, "closed without a word");
    assert!(closed >= Duration::from_millis(900), "closed after {closed:?}, before the header timeout");
    // Its place is freed: the client that waited behind it is served, after it.
    let served = tokio::time::timeout(DEADLINE, waiting).await.expect("the waiting client is served").unwrap().unwrap();
    assert!(served >= Duration::from_millis(900), "served after {served:?}, while the silent connection held the only place");
}
