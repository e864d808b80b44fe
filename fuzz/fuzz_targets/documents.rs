//! Any bytes, as any format: detection and every reader answer (a format, an extract, a typed
//! refusal) and never panic, overflow the stack or exceed the item budget; and as a signed
//! document, every signature check answers verified or a reason, never a panic.
#![no_main]

use std::sync::OnceLock;

use dossier_evidence::signatures::Trust;
use dossier_evidence::{detect, extract, Format, MAX_ITEMS};
use libfuzzer_sys::fuzz_target;

fn trust() -> &'static Trust {
    static TRUST: OnceLock<Trust> = OnceLock::new();
    TRUST.get_or_init(Trust::default)
}

fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    for format in Format::ALL {
        if let Ok(x) = extract(format, data) {
            assert!(x.components.len() + x.findings.len() + x.vex.len() <= MAX_ITEMS);
        }
    }
    for check in trust().check_envelope(data) {
        assert!(check.verified || check.reason.as_deref().is_some_and(|r| !r.is_empty()));
    }
    let now = time::OffsetDateTime::from_unix_timestamp(1_796_083_200).unwrap();
    let check = trust().check_bundle(data, Some([7; 32]), now);
    assert!(check.verified || check.reason.as_deref().is_some_and(|r| !r.is_empty()));
});
