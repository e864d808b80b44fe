//! The OpenAPI document and the routes agree both ways: every route the API registers is
//! documented with its methods, and every documented path and method is registered. (That each
//! documented path is really served is checked against a running server by
//! `crates/cli/tests/openapi.rs`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `(path, method)` of every `.route("path", get(..).post(..))` in the crate's sources.
fn registered() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(\"") {
            rest = &rest[i + 8..];
            let path = &rest[..rest.find('"').unwrap()];
            // The handlers: up to the call's closing parenthesis.
            let (mut depth, mut end) = (1, 0);
            for (j, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = j;
                    break;
                }
            }
            let call = &rest[..end];
            for method in ["get", "post", "put", "delete"] {
                let named = [format!(" {method}("), format!(".{method}("), format!("::{method}(")];
                if named.iter().any(|n| call.contains(n.as_str())) {
                    out.insert((path.to_owned(), method.to_owned()));
                }
            }
        }
    }
    out
}

fn documented() -> BTreeSet<(String, String)> {
    let doc: serde_json::Value = serde_json::from_str(dossier_http::OPENAPI).unwrap();
    let paths: &BTreeMap<String, serde_json::Value> = &serde_json::from_value(doc["paths"].clone()).unwrap();
    paths.iter().flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (p.clone(), m.clone()))).collect()
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let (registered, documented) = (registered(), documented());
    assert!(registered.len() >= 30, "the scan found {} routes: {registered:?}", registered.len());
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&registered).collect();
    assert!(undocumented.is_empty(), "routes missing from openapi.json: {undocumented:?}");
    assert!(unserved.is_empty(), "documented but not registered: {unserved:?}");
}
