//! Hostile clients over real connections (issue 11): headers or bodies that trickle in, more
//! connections than the cap, more body bytes at once than the budget, gzip bodies and bombs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use dossier_server::{Api, Connections, Server};
use serde_json::{json, Value};

/// The admin token of the test server, sent by every request below.
const TOKEN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";

/// A server on a free port with these bounds, in its own runtime (kept alive by the caller).
fn start(api: Api, connections: Connections) -> (tokio::runtime::Runtime, SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let addr = runtime.block_on(async {
        let server = Server::builder(dir.path())
            .log_name(Some("test/log".into()))
            .api(api)
            .connections(connections)
            .admin_token(Some(TOKEN.into()))
            .start()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(server.serve(listener, std::future::pending()));
        addr
    });
    (runtime, addr, dir)
}

fn event(id: &str) -> Vec<u8> {
    let v = json!({
        "context": {"specversion": "0.5.1", "id": id, "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0",
                    "timestamp": "2026-11-25T10:00:00Z"},
        "subject": {"id": "pkg:oci/app@sha256%3Aabc", "content": {}}
    });
    serde_json::to_vec(&v).unwrap()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn post_head(path: &str, length: usize, extra: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer dst_0123456789ab_testtokentesttokentesttokentesttokentesttok\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n{extra}Connection: close\r\n\r\n")
}

/// Reads an answer to the end of the connection: its status, headers (lower-case names) and body.
fn answer(mut s: TcpStream) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no answer: {bytes:?}"));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    (status, headers, bytes[end + 4..].to_vec())
}

fn json_answer(s: TcpStream) -> (u16, Value) {
    let (status, _, body) = answer(s);
    (status, serde_json::from_slice(&body).unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&body))))
}

fn request(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, Value) {
    let mut s = connect(addr);
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    json_answer(s)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

#[test]
fn headers_that_trickle_in_are_cut_off_at_the_header_timeout() {
    let limits = Connections { header_timeout: Duration::from_secs(1), ..Default::default() };
    let (_rt, addr, _dir) = start(Api::default(), limits);
    let mut s = connect(addr);
    let started = Instant::now();
    let mut reader = s.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        // A byte every 100 ms: never idle for long, never done.
        for b in b"GET /healthz HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer dst_0123456789ab_testtokentesttokentesttokentesttokentesttok\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut got = Vec::new();
    let read = reader.read_to_end(&mut got);
    let elapsed = started.elapsed();
    let closed = match read {
        Ok(0) => true,
        Err(ref e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    };
    assert!(closed, "the connection is closed by the server: {read:?}");
    assert_eq!(got, b"", "the connection is closed without an answer");
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3), "closed after {elapsed:?}");
    trickle.join().unwrap();
}

#[test]
fn a_body_that_stalls_or_trickles_gets_408() {
    let api = Api { body_timeout: Duration::from_secs(1), ..Default::default() };
    let (_rt, addr, _dir) = start(api, Connections::default());
    let want = json!({"error": "the body did not arrive within 1 s; send it faster, or in smaller requests"});
    // Stalls: 10 of 100 bytes, then nothing.
    let mut stalled = connect(addr);
    stalled.write_all(post_head("/api/v1/events", 100, "").as_bytes()).unwrap();
    stalled.write_all(b"{\"context\"").unwrap();
    // Trickles: a byte every 100 ms, each arriving well within any idle timeout.
    let mut trickled = connect(addr);
    trickled.write_all(post_head("/api/v1/events", 1000, "").as_bytes()).unwrap();
    let mut writer = trickled.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..1000 {
            if writer.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let started = Instant::now();
    assert_eq!(json_answer(stalled), (408, want.clone()));
    assert_eq!(json_answer(trickled), (408, want));
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    trickle.join().unwrap();
    // The other routes read their bodies under the same deadline.
    let mut s = connect(addr);
    s.write_all(post_head("/api/v1/exceptions", 100, "").as_bytes()).unwrap();
    assert_eq!(json_answer(s).0, 408);
}

#[test]
fn connections_past_the_cap_wait_until_one_closes() {
    let (_rt, addr, _dir) = start(Api::default(), Connections { max: 2, ..Default::default() });
    let first = connect(addr);
    let _second = connect(addr);
    std::thread::sleep(Duration::from_millis(300));
    // The third is not accepted: it waits in the listen backlog, unanswered.
    let mut third = connect(addr);
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer dst_0123456789ab_testtokentesttokentesttokentesttokentesttok\r\nConnection: close\r\n\r\n").unwrap();
    third.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut byte = [0u8; 1];
    let waited = third.read(&mut byte).unwrap_err().kind();
    assert!(matches!(waited, std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{waited:?}");
    // One closes: the third is served.
    drop(first);
    third.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (status, _, body) = answer(third);
    assert_eq!((status, body.as_slice()), (200, b"ok\n".as_slice()));
}

#[test]
fn past_the_body_budget_requests_wait_then_get_503_with_retry_after() {
    let api = Api { max_body: 64 * 1024, body_budget: 64 * 1024, budget_wait: Duration::from_secs(1), ..Default::default() };
    let (_rt, addr, _dir) = start(api, Connections::default());
    // A holds 60 000 of the 65 536 bytes while its body arrives.
    let mut a = connect(addr);
    a.write_all(post_head("/api/v1/events", 60_000, "").as_bytes()).unwrap();
    a.write_all(&[b' '; 1000]).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // B needs more than is left: it waits its second, then is told to come back.
    let body = event("b");
    let started = Instant::now();
    let mut b = connect(addr);
    b.write_all(post_head("/api/v1/events", body.len() + 6000, "").as_bytes()).unwrap();
    b.write_all(&body).unwrap();
    b.write_all(&[b' '; 6000]).unwrap();
    let (status, headers, answer_body) = answer(b);
    let waited = started.elapsed();
    assert_eq!(status, 503);
    assert!(headers.contains(&("retry-after".to_owned(), "1".to_owned())), "{headers:?}");
    assert_eq!(
        serde_json::from_slice::<Value>(&answer_body).unwrap(),
        json!({"error": "the server is holding as many request bodies as it may (65536 bytes); retry in 1 s", "retry_after": 1})
    );
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(3), "{waited:?}");
    // C, the same, arrives while A finishes: it gets its share when A's answer is sent.
    let mut c = connect(addr);
    c.write_all(post_head("/api/v1/events", body.len() + 6000, "").as_bytes()).unwrap();
    let c_body = event("c");
    c.write_all(&c_body).unwrap();
    c.write_all(&[b' '; 6000]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    a.write_all(&[b' '; 59_000]).unwrap();
    assert_eq!(json_answer(a), (400, json!({"error": "the body is empty; send a CDEvent"})));
    let (status, stored) = json_answer(c);
    assert_eq!((status, &stored["status"], &stored["id"]), (201, &json!("accepted"), &json!("c")), "{stored}");
    // Nothing is held once the answers are sent: the whole budget is there for one body.
    let (status, _) = request(addr, &post_head("/api/v1/events", 64 * 1024, ""), &[b' '; 64 * 1024]);
    assert_eq!(status, 400);
}

#[test]
fn a_gzip_body_is_inflated_and_a_bomb_is_refused_at_the_limit() {
    let api = Api { max_body: 1024 * 1024, body_budget: 1024 * 1024, ..Default::default() };
    let (_rt, addr, _dir) = start(api, Connections::default());
    let plain = event("zipped");
    let zipped = gzip(&plain);
    let (status, stored) = request(addr, &post_head("/api/v1/events", zipped.len(), "Content-Encoding: gzip\r\n"), &zipped);
    assert_eq!((status, &stored["status"], &stored["seq"]), (201, &json!("accepted"), &json!(1)), "{stored}"); // entry 0 records the admin token
    let mut s = connect(addr);
    s.write_all(b"GET /api/v1/events/1/raw HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer dst_0123456789ab_testtokentesttokentesttokentesttokentesttok\r\nConnection: close\r\n\r\n").unwrap();
    assert_eq!(answer(s).2, plain, "the stored event is the inflated body");

    // 100 MiB of spaces, about 100 KiB compressed: refused once 1 MiB is inflated.
    let bomb = {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mib = vec![b' '; 1024 * 1024];
        for _ in 0..100 {
            z.write_all(&mib).unwrap();
        }
        z.finish().unwrap()
    };
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    let (status, refused) = request(addr, &post_head("/api/v1/events", bomb.len(), "Content-Encoding: gzip\r\n"), &bomb);
    assert_eq!(
        (status, refused),
        (413, json!({"error": "the decompressed body is larger than the limit of 1048576 bytes; split it into smaller batches"}))
    );

    let broken = &zipped[..zipped.len() / 2];
    let (status, refused) = request(addr, &post_head("/api/v1/events", broken.len(), "Content-Encoding: gzip\r\n"), broken);
    assert_eq!(status, 400);
    assert!(refused["error"].as_str().unwrap().starts_with("the body is not valid gzip: "), "{refused}");

    let (status, refused) = request(addr, &post_head("/api/v1/events", plain.len(), "Content-Encoding: br\r\n"), &plain);
    assert_eq!(
        (status, refused),
        (
            415,
            json!({"error": "Content-Encoding \"br\" is not accepted; send the body uncompressed (Content-Encoding: identity, or none) or gzip-compressed (Content-Encoding: gzip)"})
        )
    );
}

/// A live stream holds its connection for as long as it is open: past `max_streams` of them a
/// new one gets 503 with Retry-After (so streams cannot fill the connection cap), and one closed
/// gives its place back.
#[test]
fn live_streams_past_their_cap_get_503_and_a_closed_one_frees_its_place() {
    let api = Api { max_streams: 2, ..Api::default() };
    let (_runtime, addr, _dir) = start(api, Connections::default());
    let open = |path: &str| {
        let mut s = connect(addr);
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer dst_0123456789ab_testtokentesttokentesttokentesttokentesttok\r\n\r\n").as_bytes()).unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        (s, String::from_utf8_lossy(&head[9..12]).into_owned())
    };
    let (first, status) = open("/api/v1/stream");
    assert_eq!(status, "200");
    let (_second, status) = open("/api/v1/impact/stream");
    assert_eq!(status, "200");
    let mut third = connect(addr);
    third.write_all(b"GET /api/v1/stream HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer dst_0123456789ab_testtokentesttokentesttokentesttokentesttok\r\nConnection: close\r\n\r\n").unwrap();
    let (status, headers, body) = answer(third);
    assert_eq!(status, 503);
    assert!(headers.contains(&("retry-after".to_owned(), "5".to_owned())), "{headers:?}");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "2 live streams are open, the most this server keeps; retry later, or poll /api/v1/events");
    drop(first);
    // The server notices the closed stream at its next write (a keep-alive comes every 15 s, an
    // event at once): send one.
    let mut post = connect(addr);
    let e = event("wake");
    post.write_all(post_head("/api/v1/events", e.len(), "").as_bytes()).unwrap();
    post.write_all(&e).unwrap();
    assert_eq!(answer(post).0, 201);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_s, status) = open("/api/v1/stream");
        if status == "200" {
            break;
        }
        assert!(Instant::now() < deadline, "the closed stream's place was not given back");
        std::thread::sleep(Duration::from_millis(100));
    }
}
