//! The C2SP `tlog-witness` protocol, without I/O: the `add-checkpoint` request a log sends, and
//! the checks a witness makes before it cosigns.
//!
//! A request is `old <size>\n`, at most 63 base64 consistency-proof lines, a blank line and the
//! signed checkpoint. The witness cosigns only a checkpoint signed by a log it knows, whose
//! `old` size is the size it last cosigned for that log, and which a consistency proof shows
//! extends that tree. Whoever calls [`check`] must then persist the new state *atomically with
//! the check* before answering.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::tree::{self, Hash};
use crate::{Checkpoint, Verifier};

/// The most consistency-proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the log believes the witness last cosigned (0: none).
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size (empty when `old` is 0).
    pub proof: Vec<Hash>,
    /// The signed checkpoint (a C2SP note).
    pub checkpoint: String,
}

/// What a witness has cosigned for a log: the tree it vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    pub size: u64,
    pub root: Hash,
}

/// Why a witness does not cosign, with the HTTP status the protocol gives each case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    #[error("this witness does not know the log {0:?}")]
    UnknownLog(String),
    #[error("no signature on the checkpoint verifies with the keys this witness trusts for {origin:?}: {reason}")]
    NotSigned { origin: String, reason: String },
    #[error("old size {old} is larger than the checkpoint's size {size}")]
    OldBeyondCheckpoint { old: u64, size: u64 },
    #[error("old size {old} is not the size this witness last cosigned ({latest})")]
    WrongOld { old: u64, latest: u64 },
    #[error("the checkpoint has the size this witness last cosigned ({size}) but another root: the log forked")]
    Forked { size: u64 },
    #[error("the consistency proof from {old} to {size} does not verify: the checkpoint does not extend what this witness cosigned")]
    Inconsistent { old: u64, size: u64 },
}

impl Refusal {
    /// The HTTP status the protocol requires.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldBeyondCheckpoint { .. } => 400,
            Refusal::NotSigned { .. } => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::WrongOld { .. } | Refusal::Forked { .. } => 409,
            Refusal::Inconsistent { .. } => 422,
        }
    }
}

impl AddCheckpoint {
    /// The request body.
    pub fn body(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a request body.
    pub fn parse(body: &str) -> Result<AddCheckpoint, Refusal> {
        let (head, checkpoint) = body.split_once("\n\n").ok_or(Refusal::Malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| !n.starts_with('+') && (n.len() == 1 || !n.starts_with('0')))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or(Refusal::Malformed("the first line must be `old <size>` in decimal without leading zeros"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(Refusal::Malformed("more than 63 consistency proof lines"));
            }
            let hash = B64
                .decode(line)
                .ok()
                .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
                .ok_or(Refusal::Malformed("a consistency proof line is the base64 of a 32-byte hash"))?;
            proof.push(hash);
        }
        Ok(AddCheckpoint { old, proof, checkpoint: checkpoint.to_owned() })
    }
}

/// A checkpoint that passed the witness's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked<'a> {
    pub checkpoint: Checkpoint,
    /// The note's text, extension lines included: what a cosignature signs.
    pub body: &'a str,
}

/// The checks a witness makes on `request`, in the protocol's order, given the log keys it
/// trusts and what it last cosigned for the request's origin. Returns the checkpoint to record
/// and cosign.
pub fn check<'a>(request: &'a AddCheckpoint, logs: &[Verifier], latest: Option<Latest>) -> Result<Checked<'a>, Refusal> {
    let origin = request.checkpoint.split('\n').next().unwrap_or_default();
    if origin.is_empty() {
        return Err(Refusal::Malformed("the checkpoint has no origin line"));
    }
    let keys: Vec<&Verifier> = logs.iter().filter(|k| k.name() == origin).collect();
    if keys.is_empty() {
        return Err(Refusal::UnknownLog(origin.to_owned()));
    }
    let mut reason = String::new();
    let body = keys.iter().find_map(|k| match k.open(&request.checkpoint) {
        Ok(body) => Some(body),
        Err(e) => {
            reason = e.to_string();
            None
        }
    });
    let body = body.ok_or_else(|| Refusal::NotSigned { origin: origin.to_owned(), reason })?;
    let cp = Checkpoint::parse(body).map_err(|_| Refusal::Malformed("the checkpoint body is not origin, size and root hash"))?;
    if request.old > cp.size {
        return Err(Refusal::OldBeyondCheckpoint { old: request.old, size: cp.size });
    }
    let known = latest.unwrap_or(Latest { size: 0, root: tree::empty_root() });
    if request.old != known.size {
        return Err(Refusal::WrongOld { old: request.old, latest: known.size });
    }
    if request.old == cp.size {
        if cp.root != known.root {
            return Err(Refusal::Forked { size: cp.size });
        }
        if !request.proof.is_empty() {
            return Err(Refusal::Malformed("the consistency proof must be empty when the old size is the checkpoint's"));
        }
    } else if request.old == 0 {
        if !request.proof.is_empty() {
            return Err(Refusal::Malformed("the consistency proof must be empty when the old size is 0"));
        }
    } else {
        tree::verify_consistency(request.old, cp.size, &known.root, &cp.root, &request.proof)
            .map_err(|_| Refusal::Inconsistent { old: request.old, size: cp.size })?;
    }
    Ok(Checked { checkpoint: cp, body })
}

/// Reads a `409 Conflict` answer's body (`text/x.tlog.size`): the size the witness last cosigned.
pub fn parse_size(body: &str) -> Option<u64> {
    body.strip_suffix('\n').filter(|n| n.len() == 1 || !n.starts_with('0')).and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryTree, Signer};

    fn tree_of(n: u64, fork_at: Option<u64>) -> MemoryTree {
        let mut t = MemoryTree::default();
        for i in 0..n {
            let data = if Some(i) == fork_at { format!("forked {i}") } else { format!("entry {i}") };
            t.push(tree::leaf_hash(data.as_bytes()));
        }
        t
    }

    fn signed(log: &Signer, t: &MemoryTree) -> String {
        log.sign(&Checkpoint { origin: log.name().into(), size: t.size(), root: t.root() }.body())
    }

    fn request(log: &Signer, old: &MemoryTree, new: &MemoryTree) -> AddCheckpoint {
        let proof = if old.size() == 0 || old.size() == new.size() {
            Vec::new()
        } else {
            tree::consistency_proof(new, old.size(), new.size()).unwrap()
        };
        AddCheckpoint { old: old.size(), proof, checkpoint: signed(log, new) }
    }

    fn latest(t: &MemoryTree) -> Option<Latest> {
        Some(Latest { size: t.size(), root: t.root() })
    }

    #[test]
    fn the_request_body_round_trips() {
        let log = Signer::generate("example.com/log").unwrap();
        let r = request(&log, &tree_of(5, None), &tree_of(12, None));
        assert!(r.body().starts_with("old 5\n"));
        assert_eq!(AddCheckpoint::parse(&r.body()), Ok(r));
    }

    #[test]
    fn a_first_checkpoint_and_each_consistent_extension_are_cosigned() {
        let log = Signer::generate("example.com/log").unwrap();
        let keys = [log.verifier()];
        let (t0, t5, t12) = (tree_of(0, None), tree_of(5, None), tree_of(12, None));
        assert_eq!(check(&request(&log, &t0, &t5), &keys, None).map(|c| c.checkpoint.size), Ok(5));
        assert_eq!(check(&request(&log, &t5, &t12), &keys, latest(&t5)).map(|c| c.checkpoint.size), Ok(12));
        assert_eq!(check(&request(&log, &t12, &t12), &keys, latest(&t12)).map(|c| c.checkpoint.size), Ok(12), "the same tree again");
    }

    #[test]
    fn a_rewritten_history_is_refused_as_inconsistent() {
        let log = Signer::generate("example.com/log").unwrap();
        let keys = [log.verifier()];
        let (t5, forked12) = (tree_of(5, None), tree_of(12, Some(3)));
        // The log proves consistency from its own (rewritten) size-5 tree; the witness holds the real one.
        let mut r = request(&log, &tree_of(5, Some(3)), &forked12);
        assert_eq!(check(&r, &keys, latest(&t5)), Err(Refusal::Inconsistent { old: 5, size: 12 }));
        r.proof.clear();
        assert_eq!(check(&r, &keys, latest(&t5)).unwrap_err().status(), 422);
        let same_size = request(&log, &tree_of(5, Some(3)), &tree_of(5, Some(3)));
        assert_eq!(check(&same_size, &keys, latest(&t5)), Err(Refusal::Forked { size: 5 }));
    }

    #[test]
    fn the_old_size_must_be_what_the_witness_cosigned() {
        let log = Signer::generate("example.com/log").unwrap();
        let keys = [log.verifier()];
        let r = request(&log, &tree_of(3, None), &tree_of(9, None));
        let refusal = check(&r, &keys, latest(&tree_of(6, None))).unwrap_err();
        assert_eq!(refusal, Refusal::WrongOld { old: 3, latest: 6 });
        assert_eq!(refusal.status(), 409);
        let first = request(&log, &tree_of(0, None), &tree_of(9, None));
        assert_eq!(check(&first, &keys, latest(&tree_of(6, None))), Err(Refusal::WrongOld { old: 0, latest: 6 }));
        let mut beyond = r.clone();
        beyond.old = 10;
        assert_eq!(check(&beyond, &keys, None).unwrap_err().status(), 400);
    }

    #[test]
    fn unknown_logs_and_foreign_signatures_are_refused() {
        let log = Signer::generate("example.com/log").unwrap();
        let impostor = Signer::generate("example.com/log").unwrap();
        let r = request(&impostor, &tree_of(0, None), &tree_of(4, None));
        let refusal = check(&r, &[log.verifier()], None).unwrap_err();
        assert!(matches!(refusal, Refusal::NotSigned { .. }), "{refusal}");
        assert_eq!(refusal.status(), 403);
        let other = Signer::generate("example.com/other").unwrap();
        assert_eq!(check(&r, &[other.verifier()], None), Err(Refusal::UnknownLog("example.com/log".into())));
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        for (body, why) in [
            ("old 1\n", "no blank line before the checkpoint"),
            ("old 01\n\nx", "the first line must be `old <size>` in decimal without leading zeros"),
            ("new 1\n\nx", "the first line must be `old <size>` in decimal without leading zeros"),
            ("old 1\nnot-base64\n\nx", "a consistency proof line is the base64 of a 32-byte hash"),
        ] {
            assert_eq!(AddCheckpoint::parse(body), Err(Refusal::Malformed(why)), "{body:?}");
        }
        let many = format!("old 1\n{}\nx", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n".repeat(64));
        assert_eq!(AddCheckpoint::parse(&many), Err(Refusal::Malformed("more than 63 consistency proof lines")));
        assert_eq!(parse_size("42\n"), Some(42));
        assert_eq!(parse_size("042\n"), None);
    }
}
