//! What `verify` accepts and what it refuses, with the reason, over a small log built here:
//! ten entries, a checkpoint at size 9 that the bundle's entries are proven in, and the newest
//! at size 10.

use dossier_audit::bundle::b64_hashes;
use dossier_audit::verify::leaf_hash;
use dossier_audit::{verify, Bundle, Citation, Document, Edge, Entry, Failure, Since, Verified, Which, FORMAT};
use dossier_tlog::checkpoint::CheckpointError;
use dossier_tlog::tree::{self, ProofError};
use dossier_tlog::{Checkpoint, MemoryTree, NoteError, Signer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ORIGIN: &str = "audit.test/log";
const APP: &str = "pkg:oci/app@sha256:ab";
const BASE: &str = "pkg:oci/base@sha256:01";
const SBOM: &[u8] = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}"#;

fn event(seq: u64, ty: &str, source: &str, subject: Value, extra: Value) -> Vec<u8> {
    let mut e = json!({
        "context": {"specversion": "0.5.1", "id": format!("e{seq}"), "source": source, "type": ty, "timestamp": "2026-12-01T10:00:00Z"},
        "subject": subject,
    });
    if let (Value::Object(e), Value::Object(extra)) = (&mut e, extra) {
        e.extend(extra);
    }
    // Written with spaces: the raw bytes are not the canonical form, as sent by most producers.
    serde_json::to_string_pretty(&e).unwrap().into_bytes()
}

fn sbom_digest() -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(SBOM)))
}

/// The log: (raw, received, sender) of each entry.
fn entries() -> Vec<(Vec<u8>, i64, Option<String>)> {
    let raws = vec![
        event(0, "dev.cdevents.artifact.published.0.2.0", "/registry", json!({"id": BASE}), json!({})),
        event(
            1,
            "dev.cdevents.artifact.packaged.0.2.0",
            "/ci",
            json!({"id": APP, "content": {"change": {"id": "c0ffee", "source": "https://git.example.com/app"}}}),
            json!({"customData": {"dossier": {"parents": [BASE]}}}),
        ),
        event(
            2,
            "dev.cdevents.service.deployed.0.2.0",
            "/cd",
            json!({"id": "shop", "content": {"environment": {"id": "prod"}, "artifactId": APP}}),
            json!({}),
        ),
        event(
            3,
            "dev.cdeventsx.dossier-document.received.0.1.0",
            "/dossier/documents",
            json!({"id": sbom_digest(), "content": {"artifactId": APP, "digest": sbom_digest()}}),
            json!({}),
        ),
        event(
            4,
            "dev.cdeventsx.dossier-signature.checked.0.1.0",
            "/dossier/signatures",
            json!({"id": APP, "content": {"artifactId": APP, "verified": true}}),
            json!({}),
        ),
        event(
            5,
            "dev.cdeventsx.dossier-exception.requested.0.1.0",
            "/dossier/exceptions",
            json!({"id": "x1", "content": {"artifacts": [APP], "reason": "r"}}),
            json!({}),
        ),
        event(
            6,
            "dev.cdeventsx.dossier-policy.decided.0.1.0",
            "/dossier/policies",
            json!({"id": "gate", "content": {"artifactId": APP, "trigger": {"seq": 1}, "deny": []}}),
            json!({}),
        ),
        event(7, "dev.cdevents.artifact.published.0.2.0", "/registry", json!({"id": "pkg:oci/other@sha256:cd"}), json!({})),
        event(8, "dev.cdevents.artifact.published.0.2.0", "/registry", json!({"id": "pkg:oci/more@sha256:ef"}), json!({})),
        event(9, "dev.cdevents.artifact.published.0.2.0", "/registry", json!({"id": "pkg:oci/last@sha256:12"}), json!({})),
    ];
    raws.into_iter()
        .enumerate()
        .map(|(i, raw)| (raw, 1_764_668_800_000_000_000 + i as i64 * 1_000, (i % 2 == 1).then(|| "jenkins".to_owned())))
        .collect()
}

fn canonical(raw: &[u8]) -> String {
    dossier_core::jcs::canonicalize(&serde_json::from_slice(raw).unwrap())
}

struct Log {
    signer: Signer,
    tree: MemoryTree,
    entries: Vec<(Vec<u8>, i64, Option<String>)>,
}

impl Log {
    fn new() -> Log {
        Log::of(entries())
    }

    fn of(entries: Vec<(Vec<u8>, i64, Option<String>)>) -> Log {
        let mut tree = MemoryTree::default();
        for (raw, received, sender) in &entries {
            tree.push(leaf_hash(*received, sender.as_deref(), raw, &canonical(raw)).unwrap());
        }
        Log { signer: Signer::generate(ORIGIN).unwrap(), tree, entries }
    }

    fn checkpoint(&self, size: u64) -> String {
        self.signer.sign(&Checkpoint { origin: ORIGIN.into(), size, root: tree::root(&self.tree, size).unwrap() }.body())
    }

    fn entry(&self, seq: u64, size: u64) -> Entry {
        let (raw, received, sender) = self.entries[seq as usize].clone();
        Entry {
            seq,
            received,
            sender,
            raw: dossier_audit::bundle::Bytes(raw),
            inclusion: b64_hashes(&tree::inclusion_proof(&self.tree, seq, size).unwrap()),
        }
    }

    /// The bundle about APP: entries 0 to 6, proven in the checkpoint of size 9, newest 10.
    fn bundle(&self) -> Bundle {
        Bundle {
            format: FORMAT.into(),
            artifact: APP.into(),
            created: "2026-12-03T15:00:00Z".into(),
            checkpoint: self.checkpoint(9),
            newest: self.checkpoint(10),
            consistency: b64_hashes(&tree::consistency_proof(&self.tree, 9, 10).unwrap()),
            since: None,
            entries: (0..7).map(|seq| self.entry(seq, 9)).collect(),
            documents: vec![Document { entry: 3, digest: sbom_digest(), content: Some(dossier_audit::bundle::Bytes(SBOM.to_vec())) }],
            decisions: vec![6],
            exceptions: vec![5],
            signatures: vec![4],
            lineage: vec![
                Edge::BuiltBy { artifact: APP.into(), run: "build of pkg:oci/app@sha256:ab".into(), entry: 1 },
                Edge::Source { artifact: APP.into(), repository: "https://git.example.com/app".into(), commit: "c0ffee".into(), entry: 1 },
                Edge::Parent { artifact: APP.into(), parent: BASE.into(), entry: 1 },
                Edge::Deployed { environment: "prod".into(), service: "shop".into(), artifact: APP.into(), entry: 2 },
            ],
        }
    }
}

fn verified() -> Verified {
    Verified {
        artifact: APP.into(),
        origin: ORIGIN.into(),
        checkpoint: 9,
        newest: 10,
        trusted: None,
        entries: 7,
        documents: 1,
        documents_included: 1,
        decisions: 1,
        exceptions: 1,
        signatures: 1,
        edges: 4,
    }
}

#[test]
fn an_untouched_bundle_verifies_and_says_what_it_holds() {
    let log = Log::new();
    let bundle = log.bundle();
    assert_eq!(verify(&bundle, &log.signer.verifier(), None), Ok(verified()));
    // And it survives being written and read back.
    let text = serde_json::to_vec(&bundle).unwrap();
    let read: Bundle = serde_json::from_slice(&text).unwrap();
    assert_eq!(read, bundle);
}

#[test]
fn one_modified_byte_of_an_entry_is_refused_naming_the_entry() {
    let log = Log::new();
    let mut bundle = log.bundle();
    let raw = &mut bundle.entries[1].raw.0;
    let at = raw.windows(6).position(|w| w == b"c0ffee").unwrap();
    raw[at + 5] = b'f';
    assert_eq!(
        verify(&bundle, &log.signer.verifier(), None),
        Err(Failure::Inclusion { seq: 1, size: 9, reason: ProofError::RootMismatch })
    );
}

#[test]
fn a_changed_receipt_time_or_sender_is_a_modified_entry() {
    let log = Log::new();
    let mut bundle = log.bundle();
    bundle.entries[2].received += 1;
    assert_eq!(
        verify(&bundle, &log.signer.verifier(), None),
        Err(Failure::Inclusion { seq: 2, size: 9, reason: ProofError::RootMismatch })
    );
    let mut bundle = log.bundle();
    bundle.entries[3].sender = Some("jenkinz".into());
    assert_eq!(
        verify(&bundle, &log.signer.verifier(), None),
        Err(Failure::Inclusion { seq: 3, size: 9, reason: ProofError::RootMismatch })
    );
}

#[test]
fn one_modified_byte_of_a_document_is_refused_naming_the_document() {
    let log = Log::new();
    let mut bundle = log.bundle();
    let content = bundle.documents[0].content.as_mut().unwrap();
    content.0[2] ^= 1;
    let found = hex::encode(Sha256::digest(&content.0));
    assert_eq!(verify(&bundle, &log.signer.verifier(), None), Err(Failure::DocumentContent { seq: 3, digest: sbom_digest(), found }));
}

#[test]
fn a_bundle_with_digests_only_verifies_the_digests_against_their_entries() {
    let log = Log::new();
    let mut bundle = log.bundle();
    bundle.documents[0].content = None;
    assert_eq!(verify(&bundle, &log.signer.verifier(), None), Ok(Verified { documents_included: 0, ..verified() }));
    bundle.documents[0].digest = format!("sha256:{}", "0".repeat(64));
    assert_eq!(
        verify(&bundle, &log.signer.verifier(), None),
        Err(Failure::DocumentNotRecorded { seq: 3, digest: bundle.documents[0].digest.clone(), recorded: sbom_digest() })
    );
}

#[test]
fn a_missing_entry_is_named_with_what_cites_it() {
    let log = Log::new();
    let without = |seq: u64| {
        let mut bundle = log.bundle();
        bundle.entries.retain(|e| e.seq != seq);
        verify(&bundle, &log.signer.verifier(), None)
    };
    assert_eq!(without(3), Err(Failure::MissingEntry { seq: 3, cited: Citation::Document { digest: sbom_digest() } }));
    assert_eq!(without(6), Err(Failure::MissingEntry { seq: 6, cited: Citation::Decision }));
    assert_eq!(without(1), Err(Failure::MissingEntry { seq: 1, cited: Citation::Trigger { decision: 6 } }));
    assert_eq!(without(5), Err(Failure::MissingEntry { seq: 5, cited: Citation::Exception }));
    assert_eq!(without(4), Err(Failure::MissingEntry { seq: 4, cited: Citation::Signature }));
    let deployed = Edge::Deployed { environment: "prod".into(), service: "shop".into(), artifact: APP.into(), entry: 2 };
    assert_eq!(without(2), Err(Failure::MissingEntry { seq: 2, cited: Citation::Lineage(Box::new(deployed)) }));
}

#[test]
fn an_entry_cited_as_what_it_is_not_is_refused() {
    let log = Log::new();
    let mut bundle = log.bundle();
    bundle.decisions = vec![2];
    assert_eq!(
        verify(&bundle, &log.signer.verifier(), None),
        Err(Failure::WrongKind {
            seq: 2,
            cited: Citation::Decision,
            expected: "dev.cdeventsx.dossier-policy.decided.",
            found: "dev.cdevents.service.deployed.0.2.0".into()
        })
    );
    let mut bundle = log.bundle();
    let edge = Edge::Parent { artifact: APP.into(), parent: "pkg:oci/evil@sha256:66".into(), entry: 1 };
    bundle.lineage.push(edge.clone());
    assert_eq!(verify(&bundle, &log.signer.verifier(), None), Err(Failure::NotStated { seq: 1, edge: Box::new(edge) }));
}

#[test]
fn a_checkpoint_signed_by_another_key_is_refused() {
    let log = Log::new();
    let mut bundle = log.bundle();
    let impostor = Signer::generate(ORIGIN).unwrap();
    bundle.checkpoint = impostor.sign(&Checkpoint { origin: ORIGIN.into(), size: 9, root: tree::root(&log.tree, 9).unwrap() }.body());
    let key = log.signer.verifier();
    assert_eq!(
        verify(&bundle, &key, None),
        Err(Failure::Signature { which: Which::Checkpoint, reason: NoteError::NoSignature(key.to_string()) })
    );
    // Verified with the wrong key, the newest is the first to fail.
    assert_eq!(
        verify(&log.bundle(), &impostor.verifier(), None),
        Err(Failure::Signature { which: Which::Newest, reason: NoteError::NoSignature(impostor.verifier().to_string()) })
    );
}

#[test]
fn a_checkpoint_of_another_log_or_with_a_modified_byte_is_refused() {
    let log = Log::new();
    let mut bundle = log.bundle();
    bundle.newest = bundle.newest.replacen("\n10\n", "\n11\n", 1);
    let key = log.signer.verifier();
    assert_eq!(
        verify(&bundle, &key, None),
        Err(Failure::Signature { which: Which::Newest, reason: NoteError::BadSignature(key.to_string()) })
    );
    let other = Signer::generate("other.test/log").unwrap();
    let mut bundle = log.bundle();
    bundle.newest = other.sign(&Checkpoint { origin: ORIGIN.into(), size: 10, root: tree::root(&log.tree, 10).unwrap() }.body());
    assert_eq!(
        verify(&bundle, &other.verifier(), None),
        Err(Failure::Origin { which: Which::Newest, expected: "other.test/log".into(), found: ORIGIN.into() })
    );
    let mut bundle = log.bundle();
    bundle.newest = log.signer.sign("audit.test/log\nten\nroot\n");
    assert_eq!(
        verify(&bundle, &key, None),
        Err(Failure::Checkpoint { which: Which::Newest, reason: CheckpointError("second line must be the tree size in decimal") })
    );
}

#[test]
fn a_checkpoint_swapped_for_one_of_another_size_is_refused() {
    let log = Log::new();
    let key = log.signer.verifier();
    // The entries' proofs lead to the tree of size 9, not to the newest's.
    let mut bundle = log.bundle();
    bundle.checkpoint = log.checkpoint(10);
    bundle.consistency = vec![];
    assert_eq!(verify(&bundle, &key, None), Err(Failure::Inclusion { seq: 0, size: 10, reason: ProofError::RootMismatch }));
    // A newest older than the checkpoint.
    let mut bundle = log.bundle();
    bundle.newest = log.checkpoint(8);
    assert_eq!(verify(&bundle, &key, None), Err(Failure::NewestOlder { checkpoint: 9, newest: 8 }));
    // A newest signed over a rewritten history.
    let mut rewritten = entries();
    rewritten[4].1 += 1;
    let forged = Log { signer: Signer::parse(&log.signer.to_private_string()).unwrap(), ..Log::of(rewritten) };
    let mut bundle = log.bundle();
    bundle.newest = forged.checkpoint(10);
    assert_eq!(verify(&bundle, &key, None), Err(Failure::Consistency { from: 9, to: 10, reason: ProofError::RootMismatch }));
}

#[test]
fn a_proof_for_the_wrong_tree_is_refused() {
    let log = Log::new();
    let key = log.signer.verifier();
    // Entry 5's proof in the tree of size 10, not 9.
    let mut bundle = log.bundle();
    bundle.entries[5].inclusion = log.entry(5, 10).inclusion;
    assert_eq!(verify(&bundle, &key, None), Err(Failure::Inclusion { seq: 5, size: 9, reason: ProofError::RootMismatch }));
    // Entry 2 given entry 3's proof.
    let mut bundle = log.bundle();
    bundle.entries[2].inclusion = log.entry(3, 9).inclusion;
    assert_eq!(verify(&bundle, &key, None), Err(Failure::Inclusion { seq: 2, size: 9, reason: ProofError::RootMismatch }));
    // A consistency proof between other sizes.
    let mut bundle = log.bundle();
    bundle.consistency = b64_hashes(&tree::consistency_proof(&log.tree, 8, 10).unwrap());
    assert_eq!(
        verify(&bundle, &key, None),
        Err(Failure::Consistency { from: 9, to: 10, reason: ProofError::WrongLength { got: 1, want: 2 } })
    );
}

#[test]
fn entries_out_of_order_or_beyond_the_checkpoint_are_refused() {
    let log = Log::new();
    let key = log.signer.verifier();
    let mut bundle = log.bundle();
    bundle.entries.swap(1, 2);
    assert_eq!(verify(&bundle, &key, None), Err(Failure::Order { seq: 1, after: 2 }));
    let mut bundle = log.bundle();
    bundle.entries.push(log.entry(9, 10));
    assert_eq!(verify(&bundle, &key, None), Err(Failure::BeyondCheckpoint { seq: 9, size: 9 }));
    let mut bundle = log.bundle();
    bundle.format = "dossier-audit-bundle/v9".into();
    assert_eq!(verify(&bundle, &key, None), Err(Failure::Format { found: "dossier-audit-bundle/v9".into() }));
}

#[test]
fn a_bundle_about_nothing_it_holds_is_refused() {
    let log = Log::new();
    let mut bundle = log.bundle();
    bundle.artifact = "pkg:oci/unrelated@sha256:99".into();
    assert_eq!(
        verify(&bundle, &log.signer.verifier(), None),
        Err(Failure::NothingAbout { artifact: "pkg:oci/unrelated@sha256:99".into() })
    );
}

#[test]
fn the_auditors_saved_checkpoint_holds_the_bundle_to_the_history_it_signed() {
    let log = Log::new();
    let key = log.signer.verifier();
    let saved = log.checkpoint(7);
    // Without a proof from size 7, the bundle cannot be held to it.
    assert_eq!(verify(&log.bundle(), &key, Some(&saved)), Err(Failure::NoProofFromTrusted { trusted: 7, since: None }));
    let mut bundle = log.bundle();
    bundle.since = Some(Since { size: 7, consistency: b64_hashes(&tree::consistency_proof(&log.tree, 7, 10).unwrap()) });
    assert_eq!(verify(&bundle, &key, Some(&saved)), Ok(Verified { trusted: Some(7), ..verified() }));
    // The bundle's own checkpoints are held to it directly.
    assert_eq!(verify(&log.bundle(), &key, Some(&log.checkpoint(9))), Ok(Verified { trusted: Some(9), ..verified() }));
    assert_eq!(verify(&log.bundle(), &key, Some(&log.checkpoint(10))), Ok(Verified { trusted: Some(10), ..verified() }));
    // A log that rewrote entry 4 after the auditor saved size 7 cannot prove it extends it.
    let mut rewritten = entries();
    rewritten[4].1 += 1;
    let forged = Log { signer: Signer::parse(&log.signer.to_private_string()).unwrap(), ..Log::of(rewritten) };
    let mut bundle = forged.bundle();
    bundle.since = Some(Since { size: 7, consistency: b64_hashes(&tree::consistency_proof(&forged.tree, 7, 10).unwrap()) });
    assert_eq!(verify(&bundle, &key, Some(&saved)), Err(Failure::Consistency { from: 7, to: 10, reason: ProofError::RootMismatch }));
    assert_eq!(
        verify(&forged.bundle(), &key, Some(&log.checkpoint(9))),
        Err(Failure::TrustedRootDiffers { size: 9, which: Which::Checkpoint })
    );
    assert_eq!(
        verify(&log.bundle(), &key, Some(&forged.checkpoint(10))),
        Err(Failure::TrustedRootDiffers { size: 10, which: Which::Newest })
    );
}

#[test]
fn the_leaf_is_the_logs_leaf() {
    for (raw, received, sender) in entries() {
        let c = canonical(&raw);
        assert_eq!(
            leaf_hash(received, sender.as_deref(), &raw, &c),
            Some(dossier_store::leaf::entry_leaf_hash(received, sender.as_deref(), &raw, &c))
        );
    }
    // docs/log-format.md's vector.
    let raw = br#"{"context": {"id": "1"}, "subject": {}}"#;
    assert_eq!(
        hex::encode(leaf_hash(1_764_668_800_123_456_789, None, raw, r#"{"context":{"id":"1"},"subject":{}}"#).unwrap()),
        "5bd2849d688cb8a970556e2d598fb7c6e72e5088cbb1d828c27cbf0200884fa5"
    );
}
