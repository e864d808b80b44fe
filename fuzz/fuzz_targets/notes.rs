//! Any text, as a checkpoint, a signed note, a key, a witness request: every parser answers (a
//! value or a typed error) and never panics; what parses as a checkpoint body prints back to
//! a body that parses to the same checkpoint; a note changed by the fuzzer never opens under
//! the log's key unless it still carries the original text.
#![no_main]

use dossier_tlog::witness::{self, AddCheckpoint, Latest};
use dossier_tlog::{signers, Checkpoint, CosignatureVerifier, Cosigner, Signer, Verifier};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Keys {
    log: Signer,
    witness: Cosigner,
    signed: String,
    body: String,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let log = Signer::generate("fuzz.example/log").unwrap();
        let body = Checkpoint { origin: "fuzz.example/log".into(), size: 7, root: [7; 32] }.body();
        let signed = log.sign(&body);
        Keys { log, witness: Cosigner::generate("fuzz.example/w").unwrap(), signed, body }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let k = keys();
    if let Ok(cp) = Checkpoint::parse(text) {
        assert_eq!(Checkpoint::parse(&cp.body()), Ok(cp));
    }
    let _ = Verifier::parse(text);
    let _ = Signer::parse(text);
    let _ = Cosigner::parse(text);
    let _ = CosignatureVerifier::parse(text);
    let _ = signers(text);
    if let Ok(opened) = k.log.verifier().open(text) {
        assert_eq!(opened, k.body, "only the signed text opens under the log's key");
    }
    let _ = k.witness.verifier().verify(text);
    // The fuzzer's text appended to a real note as more signature lines.
    let extended = format!("{}{text}", k.signed);
    let _ = k.log.verifier().open(&extended);
    let _ = k.witness.verifier().verify(&extended);
    if let Ok(request) = AddCheckpoint::parse(text) {
        assert_eq!(AddCheckpoint::parse(&request.body()).as_ref(), Ok(&request));
        let _ = witness::check(&request, &[k.log.verifier()], Some(Latest { size: 3, root: [3; 32] }));
    }
    let _ = witness::parse_size(text);
});
