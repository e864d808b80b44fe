//! The evidence log's cryptography, with no I/O.
//!
//! * [`tree`]: the RFC 6962 / RFC 9162 Merkle tree — leaf and node hashing, tree heads,
//!   inclusion and consistency proofs and their verification — over any store of the hashes
//!   of complete subtrees ([`tree::HashSource`]), plus the [`tree::Frontier`] that appends.
//! * [`checkpoint`]: C2SP `tlog-checkpoint` bodies.
//! * [`note`]: C2SP signed notes with Ed25519 keys, and the key formats Go's `sumdb/note` uses.
//! * [`cosignature`]: C2SP `tlog-cosignature` (Ed25519 `cosignature/v1`): witnesses' statements.
//! * [`witness`]: the C2SP `tlog-witness` protocol's request and the checks before cosigning.

pub mod checkpoint;
pub mod cosignature;
pub mod note;
pub mod tree;
pub mod witness;

pub use checkpoint::Checkpoint;
pub use cosignature::{CosignatureVerifier, Cosigner};
pub use note::{note_text, signers, NoteError, Signer, Verifier};
pub use tree::{Frontier, Hash, HashSource, MemoryTree, ProofError};
