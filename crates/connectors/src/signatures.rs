//! The signatures `artifact.signed` events carry, checked against the configured trust and
//! recorded: each such event gets a `dev.cdeventsx.dossier-signature.checked.0.1.0` entry that
//! names the artifact, the event's entry and the [`Check`] — verified or not, by whom, in which
//! log, and why not. Until it is recorded, the event's signature counts as not checked.
//!
//! What `subject.content.signature` may hold:
//! * a Sigstore bundle, as JSON text or base64 of it (what `cosign sign --bundle` writes),
//!   verified against the artifact's digest;
//! * `sha256:<hex>`, the digest of a bundle sent before as a document (`dossier document send`);
//! * a cosign key signature (base64, what `cosign sign --key` stores), over the simple-signing
//!   payload given base64 in `customData.payload`, or else the one cosign writes for the
//!   image (`docker-reference` from the purl's `repository_url`), verified with the keys.
//!
//! The submit path checks the signatures of the events it accepted and records the checks
//! before it answers, so a client that sent `artifact.signed` and got its answer knows the
//! check precedes whatever it sends next (a deployment a policy gates). The checker also
//! follows the log at least once (`DATA/signatures.cursor`), for what the submit path did not
//! record (a crash in between); a check's id derives from the entry it checks and an entry that
//! has one is not checked again, so nothing is recorded twice.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Value};

use dossier_core::own::{OwnType, SIGNATURES_SOURCE};
use dossier_core::{Event, EventKey};
use dossier_evidence::binding;
use dossier_evidence::signatures::{Check, CheckKind, Checked, Trust};
use dossier_log::documents::Documents;
use dossier_log::follow::Follower;
use dossier_log::own::own_event;
use dossier_log::{Appended, EvidenceLog};
use dossier_store::StoreError;

const TRIGGER: &str = "dev.cdevents.artifact.signed.";

/// Whether entries of `event_type` carry a signature to check: `artifact.signed` events.
pub fn carries_signature(event_type: &str) -> bool {
    event_type.starts_with(TRIGGER)
}

/// Largest signature field read (a bundle with its certificate chain is a few KiB).
const MAX_SIGNATURE: usize = 1024 * 1024;

/// What an `artifact.signed` event says its signature is.
#[derive(Debug, PartialEq)]
enum Carried {
    Bundle(Vec<u8>),
    /// A document kept before, by its sha256 (hex).
    Document(String),
    /// A cosign key signature (base64), and the payload it signs when the event gives it.
    Cosign {
        signature: String,
        payload: Option<Vec<u8>>,
    },
}

fn is_bundle(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v.get("mediaType").and_then(Value::as_str).map(|t| t.starts_with("application/vnd.dev.sigstore.bundle")))
        .unwrap_or(false)
}

/// Reads the signature an event carries: `None` when it carries none.
fn carried(event: &Value) -> Result<Option<Carried>, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let signature = match event.pointer("/subject/content/signature") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        // A bundle given as an object rather than as text.
        Some(v @ Value::Object(_)) => return Ok(Some(Carried::Bundle(v.to_string().into_bytes()))),
        Some(_) => return Err("subject.content.signature is neither text nor a bundle object".into()),
    };
    if signature.len() > MAX_SIGNATURE {
        return Err(format!("subject.content.signature is longer than {MAX_SIGNATURE} bytes: not checked"));
    }
    if signature.starts_with('{') {
        return if is_bundle(signature.as_bytes()) {
            Ok(Some(Carried::Bundle(signature.into_bytes())))
        } else {
            Err("subject.content.signature is JSON but not a Sigstore bundle (no mediaType application/vnd.dev.sigstore.bundle…)".into())
        };
    }
    if let Some(hex) = signature.strip_prefix("sha256:") {
        return Ok(Some(Carried::Document(hex.to_ascii_lowercase())));
    }
    if let Ok(decoded) = b64.decode(&signature) {
        if is_bundle(&decoded) {
            return Ok(Some(Carried::Bundle(decoded)));
        }
    }
    let payload = match event.pointer("/customData/payload") {
        Some(Value::String(p)) => {
            Some(b64.decode(p.trim()).map_err(|_| "customData.payload is not standard base64 (the simple-signing payload)".to_owned())?)
        }
        _ => None,
    };
    Ok(Some(Carried::Cosign { signature, payload }))
}

/// The simple-signing payload cosign signs for an image, byte for byte as cosign writes it.
fn simple_signing_payload(reference: &str, sha256: &str) -> Vec<u8> {
    json!({"critical": {"identity": {"docker-reference": reference}, "image": {"docker-manifest-digest": format!("sha256:{sha256}")},
           "type": "cosign container image signature"}, "optional": null})
    .to_string()
    .into_bytes()
}

/// `ghcr.io/acme/shop` from `pkg:oci/shop@sha256:…?repository_url=ghcr.io/acme/shop`.
fn docker_reference(purl: &str) -> Option<String> {
    let query = purl.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "repository_url").then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
    })
}

/// Checks the signature `event` carries about `artifact` (a purl).
pub fn check(trust: &Trust, documents: Option<&Documents>, artifact: &str, event: &Value) -> Option<Check> {
    let bound = binding::Artifact::new(artifact);
    let digest = bound.digest.as_ref().filter(|d| d.algorithm == "sha256");
    let now = time::OffsetDateTime::now_utc();
    let carried = match carried(event) {
        Ok(c) => c?,
        Err(why) => return Some(Check::not_checked(CheckKind::SigstoreBundle, why)),
    };
    Some(match carried {
        Carried::Bundle(bytes) => trust.check_bundle(&bytes, digest.and_then(|d| d.sha256_bytes()), now),
        Carried::Document(hex) => {
            let bytes = documents.and_then(|d| d.path(&hex)).and_then(|p| std::fs::read(p).ok());
            match bytes {
                Some(b) if is_bundle(&b) => trust.check_bundle(&b, digest.and_then(|d| d.sha256_bytes()), now),
                Some(_) => Check::not_checked(CheckKind::SigstoreBundle, format!("document sha256:{hex} is not a Sigstore bundle")),
                None => Check::not_checked(
                    CheckKind::SigstoreBundle,
                    format!("no document sha256:{hex} is kept: send the bundle first (dossier document send), or put it in the event"),
                ),
            }
        }
        Carried::Cosign { signature, payload } => {
            let Some(d) = digest else {
                return Some(Check::not_checked(
                    CheckKind::CosignKey,
                    "the artifact is named without a sha256 digest: a cosign signature names an image by its manifest digest",
                ));
            };
            let payload = match payload.or_else(|| docker_reference(artifact).map(|r| simple_signing_payload(&r, &d.hex))) {
                Some(p) => p,
                None => {
                    return Some(Check::not_checked(
                        CheckKind::CosignKey,
                        "a cosign key signature is checked over its simple-signing payload: send it base64 in customData.payload, \
                         or name the image with a repository_url qualifier so that Dossier can rebuild it",
                    ))
                }
            };
            trust.check_cosign(&payload, &signature, &d.hex)
        }
    })
}

/// The key of the check of entry `seq`.
fn check_key(seq: u64) -> EventKey {
    EventKey { source: SIGNATURES_SOURCE.to_owned(), id: format!("checked-{seq}") }
}

/// What checks the signatures `artifact.signed` events carry, and records the checks.
#[derive(Clone)]
pub struct Checker {
    pub log: Arc<EvidenceLog>,
    pub documents: Option<Arc<Documents>>,
    pub trust: Arc<Trust>,
}

impl Checker {
    /// The check of entry `seq` (an `artifact.signed` event about `artifact`, as `event`), as
    /// the entry that records it; `None` when the entry carries no signature, or is not one.
    pub fn record_of(&self, seq: u64, event: &Event) -> Option<Event> {
        if !carries_signature(event.event_type.as_str()) {
            return None;
        }
        let v = serde_json::from_slice::<Value>(&event.raw).ok()?;
        let artifact = event.subject_id.clone();
        let check = check(&self.trust, self.documents.as_deref(), &artifact, &v)?;
        if check.verified {
            tracing::info!("entry {seq}: the signature of {artifact} verified under {}", check.trust.join(", "));
        } else {
            tracing::warn!("entry {seq}: the signature of {artifact} did not verify: {}", check.reason.as_deref().unwrap_or(""));
        }
        let content = match serde_json::to_value(Checked { artifact: artifact.clone(), entry: seq, check }) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("recording the check of entry {seq}: {e}");
                return None;
            }
        };
        match own_event(check_key(seq).id, SIGNATURES_SOURCE, OwnType::SignatureChecked, &artifact, content, event.chain_id.as_deref()) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::error!("recording the check of entry {seq}: {e}");
                None
            }
        }
    }

    /// Checks and records the signatures of the entries `appended` (seq, event) that carry one
    /// and have no check yet (blocking: run it off the async threads).
    pub fn record(&self, appended: &[(u64, &Event)]) -> Result<(), StoreError> {
        // The submit path and the follower may reach the same entry at once: one looks and
        // records at a time, so the other finds the check and records nothing (a second check,
        // made at another moment, would be a conflicting entry under the same key). Signed
        // events are few; one lock for the process is enough.
        static RECORDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = RECORDING.lock().unwrap_or_else(|p| p.into_inner());
        let mut records = Vec::new();
        for (seq, event) in appended {
            if carries_signature(event.event_type.as_str()) && self.log.store().get_by_key(&check_key(*seq))?.is_none() {
                records.extend(self.record_of(*seq, event));
            }
        }
        if !records.is_empty() {
            self.log.append_blocking(records)?;
        }
        Ok(())
    }

    fn handle(&self, a: &Appended) {
        if let Err(e) = self.record(&[(a.seq, &a.event)]) {
            tracing::error!("recording the check of entry {}: {e}", a.seq);
        }
    }
}

/// Starts the signature checker's thread.
pub fn start(checker: Checker, cursor_file: &Path) {
    let follower = Follower::new(checker.log.clone(), cursor_file.to_owned());
    let spawned = std::thread::Builder::new().name("dossier-signatures".into()).spawn(move || follower.follow(|a| checker.handle(a)));
    if let Err(e) = spawned {
        tracing::error!("starting the signature checker: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_signature_field_holds_is_told_apart() {
        let ev = |sig: Value| json!({"subject": {"content": {"signature": sig}}});
        assert_eq!(carried(&json!({"subject": {"content": {}}})), Ok(None));
        let bundle = r#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
        assert_eq!(carried(&ev(json!(bundle))), Ok(Some(Carried::Bundle(bundle.as_bytes().to_vec()))));
        let b64 = base64::engine::general_purpose::STANDARD.encode(bundle);
        assert_eq!(carried(&ev(json!(b64))), Ok(Some(Carried::Bundle(bundle.as_bytes().to_vec()))));
        assert_eq!(carried(&ev(json!("sha256:ABCD"))), Ok(Some(Carried::Document("abcd".into()))));
        assert_eq!(
            carried(&ev(json!("MEUCIQDnotarealsig"))),
            Ok(Some(Carried::Cosign { signature: "MEUCIQDnotarealsig".into(), payload: None }))
        );
        assert!(carried(&ev(json!("{\"hello\": 1}"))).unwrap_err().contains("not a Sigstore bundle"));
    }

    #[test]
    fn the_simple_signing_payload_is_the_one_cosign_writes() {
        assert_eq!(
            String::from_utf8(simple_signing_payload("ghcr.io/acme/shop", "ab12")).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"ghcr.io/acme/shop"},"image":{"docker-manifest-digest":"sha256:ab12"},"type":"cosign container image signature"},"optional":null}"#
        );
        assert_eq!(
            docker_reference("pkg:oci/shop@sha256:ab?arch=amd64&repository_url=ghcr.io%2Facme%2Fshop").as_deref(),
            Some("ghcr.io/acme/shop")
        );
        assert_eq!(docker_reference("pkg:oci/shop@sha256:ab"), None);
    }
}
