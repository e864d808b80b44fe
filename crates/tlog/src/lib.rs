//! The evidence log's cryptography, with no I/O.
//!
//! * [`tree`]: the RFC 6962 / RFC 9162 Merkle tree — leaf and node hashing, tree heads,
//!   inclusion and consistency proofs and their verification — over any store of the hashes
//!   of complete subtrees ([`tree::HashSource`]), plus the [`tree::Frontier`] that appends.
//! * [`checkpoint`]: C2SP `tlog-checkpoint` bodies.
//! * [`note`]: C2SP signed notes with Ed25519 keys, and the key formats Go's `sumdb/note` uses.

pub mod checkpoint;
pub mod note;
pub mod tree;

pub use checkpoint::Checkpoint;
pub use note::{signers, NoteError, Signer, Verifier};
pub use tree::{Frontier, Hash, HashSource, MemoryTree, ProofError};
