//! The OpenAPI document the server serves describes the routes it has.

mod common;

use common::Server;
use serde_json::Value;

#[test]
fn every_documented_path_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let doc: Value = crate::common::http().get(&format!("{}/openapi.json", server.url)).call().unwrap().into_json().unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 19, "{} paths", paths.len());
    for (path, ops) in paths {
        // Streams never end; their routing is covered by their own tests.
        if path.ends_with("/stream") {
            continue;
        }
        let concrete = path.replace("{seq}", "0");
        for method in ops.as_object().unwrap().keys() {
            let req = ureq::request(&method.to_uppercase(), &format!("{}{concrete}", server.url));
            let (status, body) = match if method == "post" { req.send_string("") } else { req.call() } {
                Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
                Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
                Err(e) => panic!("{method} {path}: {e}"),
            };
            assert!(!body.contains("no such endpoint"), "{method} {path} is documented but not served ({status})");
        }
    }
    // A method a path does not take is refused in JSON too.
    let err = crate::common::http().post(&format!("{}/", server.url)).send_string("").unwrap_err();
    let ureq::Error::Status(405, r) = err else { panic!("expected 405") };
    let body: Value = r.into_json().unwrap();
    assert_eq!(body["error"], "this path does not take that method; see /openapi.json");
    // And an undocumented path says where to look.
    let err = crate::common::http().get(&format!("{}/api/v1/nothing", server.url)).call().unwrap_err();
    let ureq::Error::Status(404, r) = err else { panic!("expected 404") };
    assert!(r.into_string().unwrap().contains("see /openapi.json"));
}
