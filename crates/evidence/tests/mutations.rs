//! The readers on damaged and hostile versions of real documents: whatever the bytes, detection
//! and extraction answer — a format, an extract or a typed refusal — and never panic. The same
//! property is what `fuzz/` explores with coverage guidance; this keeps a sample of it in every
//! test run.

use std::path::PathBuf;

use dossier_evidence::{detect, extract, DocumentError, Format, MAX_ITEMS};
use proptest::prelude::*;

fn corpus() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/documents");
    let mut names: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e != "md")).collect();
    names.sort();
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// One damage to a document: overwrite, delete or duplicate a stretch, or insert bytes that
/// matter to JSON.
#[derive(Debug, Clone)]
enum Damage {
    Overwrite { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Insert { at: usize, token: &'static str },
}

fn damage() -> impl Strategy<Value = Damage> {
    let token =
        prop::sample::select(vec!["[", "]", "{", "}", "\"", ",", ":", "null", "-1e999", "\"\\ud800\"", "[[[[[[[[", "0", "true", "{\"a\":"]);
    prop_oneof![
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| Damage::Overwrite { at, bytes }),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Damage::Delete { at, len }),
        (any::<usize>(), 1..512usize).prop_map(|(at, len)| Damage::Duplicate { at, len }),
        (any::<usize>(), token).prop_map(|(at, token)| Damage::Insert { at, token }),
    ]
}

fn apply(doc: &mut Vec<u8>, d: &Damage) {
    let n = doc.len();
    match d {
        Damage::Overwrite { at, bytes } => {
            let at = at % n;
            for (i, b) in bytes.iter().enumerate() {
                if let Some(slot) = doc.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
        Damage::Delete { at, len } => {
            let at = at % n;
            doc.drain(at..(at + len).min(n));
        }
        Damage::Duplicate { at, len } => {
            let at = at % n;
            let piece = doc[at..(at + len).min(n)].to_vec();
            doc.splice(at..at, piece);
        }
        Damage::Insert { at, token } => {
            let at = at % (n + 1);
            doc.splice(at..at, token.bytes());
        }
    }
}

/// What a reader may answer: anything but a panic, and a refusal that says something.
fn read_every_way(doc: &[u8]) {
    match detect(doc) {
        Ok(_) | Err(DocumentError::Unrecognized) | Err(DocumentError::NotJson(_)) => {}
        Err(e) => panic!("detection answered {e:?}"),
    }
    for format in Format::ALL {
        match extract(format, doc) {
            Ok(x) => assert!(x.components.len() + x.findings.len() + x.vex.len() <= MAX_ITEMS),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn damaged_real_documents_are_read_or_refused_never_a_panic(
        pick in any::<prop::sample::Index>(),
        damages in prop::collection::vec(damage(), 1..6),
    ) {
        let corpus = corpus();
        let mut doc = pick.get(&corpus).clone();
        for d in &damages {
            apply(&mut doc, d);
        }
        read_every_way(&doc);
    }
}

#[test]
fn every_real_document_reads_as_every_format_without_a_panic() {
    // A document sent with the wrong format is refused, not misread into a crash.
    for doc in corpus() {
        read_every_way(&doc);
    }
}

#[test]
fn more_array_elements_than_the_budget_are_refused_with_what_to_do() {
    let mut doc = String::from(r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": ["#);
    for i in 0..=MAX_ITEMS {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(r#"{"name":"a"}"#);
    }
    doc.push_str("]}");
    let err = extract(Format::CycloneDx, doc.as_bytes()).unwrap_err().to_string();
    assert_eq!(err, format!("cyclonedx document: /components: more than {MAX_ITEMS} array elements in one document; split the document"));
}
