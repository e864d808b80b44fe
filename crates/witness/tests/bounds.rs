//! A witness faces parties it does not know: a sender that stalls or sends too much holds
//! nothing for long.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dossier_tlog::{Cosigner, Signer};
use dossier_witness::Witness;

fn started(dir: &std::path::Path) -> (tokio::runtime::Runtime, std::net::SocketAddr) {
    let log = Signer::generate("bounds.example/log").unwrap();
    let witness =
        Witness::open(Cosigner::generate("w").unwrap(), vec![log.verifier()], dir).unwrap().with_body_timeout(Duration::from_millis(300));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(dossier_witness::serve(listener, Arc::new(witness), std::future::pending()));
    (rt, addr)
}

fn status_of(answer: &str) -> &str {
    answer.split_whitespace().nth(1).unwrap_or("")
}

#[test]
fn a_body_that_stalls_gets_408_and_one_too_large_413() {
    let dir = tempfile::tempdir().unwrap();
    let (_rt, addr) = started(dir.path());
    let mut stalled = std::net::TcpStream::connect(addr).unwrap();
    stalled.write_all(b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 100\r\n\r\nold 0\n").unwrap();
    let t = Instant::now();
    let mut answer = String::new();
    stalled.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = stalled.read_to_string(&mut answer);
    assert_eq!(status_of(&answer), "408", "{answer}");
    assert!(t.elapsed() < Duration::from_secs(5), "answered after {:?}", t.elapsed());

    let big = vec![b'a'; dossier_witness::MAX_REQUEST + 1];
    let mut large = std::net::TcpStream::connect(addr).unwrap();
    large
        .write_all(
            format!("POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", big.len()).as_bytes(),
        )
        .unwrap();
    let _ = large.write_all(&big);
    let mut answer = String::new();
    large.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = large.read_to_string(&mut answer);
    assert_eq!(status_of(&answer), "413", "{answer}");
}
