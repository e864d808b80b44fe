//! What an auditor feeds Dossier — a saved checkpoint, a key — comes from outside: the parsers
//! must answer every input with a value or an error, never a panic, and a signed checkpoint must
//! not open once any byte of it changed.

use dossier_tlog::{Checkpoint, Signer, Verifier};
use proptest::prelude::*;

fn signed(size: u64) -> (Signer, String) {
    let signer = Signer::generate("fuzz.example/log").unwrap();
    let body = Checkpoint { origin: "fuzz.example/log".into(), size, root: [size as u8; 32] }.body();
    let note = signer.sign(&body);
    (signer, note)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_a_checkpoint_a_key_or_an_error(text in ".{0,300}") {
        let _ = Checkpoint::parse(&text);
        let _ = Verifier::parse(&text);
        let (signer, _) = signed(1);
        let _ = signer.verifier().open(&text);
    }

    #[test]
    fn any_bytes_as_text_are_answered(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Checkpoint::parse(&text);
        let _ = Verifier::parse(&text);
    }

    #[test]
    fn a_note_changed_anywhere_does_not_open(size in 0u64..1000, at in any::<prop::sample::Index>(), with in any::<char>()) {
        let (signer, note) = signed(size);
        let verifier = signer.verifier();
        prop_assert!(verifier.open(&note).is_ok());
        let chars: Vec<char> = note.chars().collect();
        let i = at.index(chars.len());
        prop_assume!(chars[i] != with);
        let mut changed = chars.clone();
        changed[i] = with;
        let changed: String = changed.into_iter().collect();
        // Either the note no longer opens, or what it says is still exactly what was signed.
        if let Ok(text) = verifier.open(&changed) {
            prop_assert_eq!(Checkpoint::parse(text).ok(), Checkpoint::parse(verifier.open(&note).unwrap()).ok());
        }
    }
}
