//! Any bytes, as any format: detection and every reader answer (a format, an extract, a typed
//! refusal) and never panic, overflow the stack or exceed the item budget.
#![no_main]

use dossier_evidence::{detect, extract, Format, MAX_ITEMS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    for format in Format::ALL {
        if let Ok(x) = extract(format, data) {
            assert!(x.components.len() + x.findings.len() + x.vex.len() <= MAX_ITEMS);
        }
    }
});
