//! RFC 6962 Merkle tree hashing and proofs.
//!
//! Storage keeps the hash of every *complete* subtree: node `(level, index)` covers leaves
//! `[index << level, (index + 1) << level)`. Any other subtree hash, a tree head of any size
//! and every proof are computed from O(log n) of those nodes.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Somewhere the hashes of complete subtrees are kept.
pub trait HashSource {
    type Error;
    /// The hash of the complete subtree `(level, index)`; level 0 holds the leaf hashes.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The Merkle tree hash of leaves `[lo, hi)`, where `[lo, hi)` is a subtree that RFC 6962's
/// recursion produces (its left parts are always complete and aligned).
pub fn subtree_hash<S: HashSource>(src: &S, lo: u64, hi: u64) -> Result<Hash, S::Error> {
    let n = hi - lo;
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return src.node(n.trailing_zeros() as u8, lo >> n.trailing_zeros());
    }
    let k = split(n);
    let left = subtree_hash(src, lo, lo + k)?;
    let right = subtree_hash(src, lo + k, hi)?;
    Ok(node_hash(&left, &right))
}

/// The root hash of the tree of the first `size` leaves.
pub fn root<S: HashSource>(src: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree_hash(src, 0, size)
}

/// The audit path of leaf `index` in the tree of size `size` (RFC 6962 section 2.1.1).
/// Panics if `index >= size`; callers check that against their own input first.
pub fn inclusion_proof<S: HashSource>(src: &S, index: u64, size: u64) -> Result<Vec<Hash>, S::Error> {
    assert!(index < size, "leaf {index} is outside a tree of size {size}");
    let mut proof = Vec::new();
    path(src, index, 0, size, &mut proof)?;
    Ok(proof)
}

fn path<S: HashSource>(src: &S, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Result<(), S::Error> {
    let n = hi - lo;
    if n == 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, lo, lo + k, out)?;
        out.push(subtree_hash(src, lo + k, hi)?);
    } else {
        path(src, m - k, lo + k, hi, out)?;
        out.push(subtree_hash(src, lo, lo + k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of sizes `m` and `n` (RFC 6962 section 2.1.2).
/// Panics unless `0 < m <= n`.
pub fn consistency_proof<S: HashSource>(src: &S, m: u64, n: u64) -> Result<Vec<Hash>, S::Error> {
    assert!(0 < m && m <= n, "no consistency proof from size {m} to size {n}");
    let mut proof = Vec::new();
    if m < n {
        subproof(src, m, 0, n, true, &mut proof)?;
    }
    Ok(proof)
}

fn subproof<S: HashSource>(src: &S, m: u64, lo: u64, hi: u64, whole: bool, out: &mut Vec<Hash>) -> Result<(), S::Error> {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(subtree_hash(src, lo, hi)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, lo, lo + k, whole, out)?;
        out.push(subtree_hash(src, lo + k, hi)?);
    } else {
        subproof(src, m - k, lo + k, hi, false, out)?;
        out.push(subtree_hash(src, lo, lo + k)?);
    }
    Ok(())
}

/// Why a proof did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("the proof has {got} hashes; a proof for these sizes has {want}")]
    WrongLength { got: usize, want: usize },
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("sizes {old} and {new} cannot be proven consistent (need 0 < old <= new)")]
    BadSizes { old: u64, new: u64 },
}

/// Verifies an inclusion proof (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength { got: proof.len(), want: inclusion_len(index, size) });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength { got: proof.len(), want: inclusion_len(index, size) });
    }
    if &r == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

fn inclusion_len(index: u64, size: u64) -> usize {
    // Length of the audit path: one hash per level where the node has a sibling.
    let (mut fn_, mut sn, mut len) = (index, size - 1, 0);
    while sn != 0 {
        if fn_ & 1 == 1 || fn_ != sn {
            len += 1;
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    len
}

/// Verifies a consistency proof (RFC 9162 section 2.1.4.2).
pub fn verify_consistency(old: u64, new: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> Result<(), ProofError> {
    if old == 0 || old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { got: proof.len(), want: 0 });
        }
        return if old_root == new_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let too_short = || ProofError::WrongLength { got: proof.len(), want: proof.len() + 1 };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut items = path.iter();
    let first = items.next().ok_or_else(too_short)?;
    let (mut fr, mut sr) = (*first, *first);
    for c in items {
        if sn == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(too_short());
    }
    if &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The right edge of a growing tree: the roots of its complete subtrees, largest first.
/// Appending a leaf yields the complete nodes it creates, which storage must keep.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    /// `(level, hash)` of each complete subtree on the right edge, by decreasing level.
    edge: Vec<(u8, Hash)>,
}

impl Frontier {
    /// Rebuilds the frontier of a tree of `size` leaves from stored nodes.
    pub fn load<S: HashSource>(src: &S, size: u64) -> Result<Frontier, S::Error> {
        let mut edge = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size & (1u64 << level) != 0 {
                edge.push((level, src.node(level, start >> level)?));
                start += 1u64 << level;
            }
        }
        Ok(Frontier { size, edge })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash and returns every complete node `(level, index, hash)` it
    /// completes, the leaf itself first.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        let index = self.size;
        let mut created = vec![(0u8, index, leaf)];
        let mut hash = leaf;
        let mut level = 0u8;
        while let Some(&(l, left)) = self.edge.last() {
            if l != level {
                break;
            }
            self.edge.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            created.push((level, index >> level, hash));
        }
        self.edge.push((level, hash));
        self.size += 1;
        created
    }

    /// The root hash of the tree so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.edge.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(&(_, first)) => iter.fold(first, |acc, (_, h)| node_hash(h, &acc)),
        }
    }
}

/// A tree held in memory: for tests, and for tools that rebuild a tree from leaves.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    nodes: std::collections::HashMap<(u8, u64), Hash>,
    frontier: Frontier,
}

impl MemoryTree {
    pub fn push(&mut self, leaf: Hash) {
        for (level, index, hash) in self.frontier.push(leaf) {
            self.nodes.insert((level, index), hash);
        }
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
}

/// A node a [`MemoryTree`] does not have.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no tree node ({0}, {1})")]
pub struct NoSuchNode(pub u8, pub u64);

impl HashSource for MemoryTree {
    type Error = NoSuchNode;
    fn node(&self, level: u8, index: u64) -> Result<Hash, NoSuchNode> {
        self.nodes.get(&(level, index)).copied().ok_or(NoSuchNode(level, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Mem = MemoryTree;

    impl MemoryTree {
        fn with_leaves(n: u64) -> MemoryTree {
            let mut m = MemoryTree::default();
            for i in 0..n {
                m.push(leaf_hash(&i.to_be_bytes()));
            }
            m
        }
    }

    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn frontier_root_equals_the_recursive_definition_at_every_size() {
        let mut f = Frontier::default();
        let mut leaves = Vec::new();
        for i in 0..70u64 {
            assert_eq!(f.root(), reference_root(&leaves));
            let h = leaf_hash(&i.to_be_bytes());
            leaves.push(h);
            f.push(h);
        }
    }

    #[test]
    fn stored_nodes_give_the_root_of_every_earlier_size() {
        let m = Mem::with_leaves(37);
        let leaves: Vec<Hash> = (0..37u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for size in 0..=37 {
            assert_eq!(root(&m, size).unwrap(), reference_root(&leaves[..size as usize]));
        }
        let reloaded = Frontier::load(&m, 37).unwrap();
        assert_eq!(reloaded.root(), m.frontier.root());
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_and_tampering_fails() {
        let m = Mem::with_leaves(33);
        for size in 1..=33u64 {
            let r = root(&m, size).unwrap();
            for index in 0..size {
                let leaf = m.node(0, index).unwrap();
                let p = inclusion_proof(&m, index, size).unwrap();
                assert_eq!(verify_inclusion(&leaf, index, size, &p, &r), Ok(()));
                assert_eq!(verify_inclusion(&leaf_hash(b"other"), index, size, &p, &r), Err(ProofError::RootMismatch));
            }
            for old in 1..=size {
                let p = consistency_proof(&m, old, size).unwrap();
                let old_root = root(&m, old).unwrap();
                assert_eq!(verify_consistency(old, size, &old_root, &r, &p), Ok(()), "{old}->{size}");
                if old < size {
                    assert!(verify_consistency(old, size, &leaf_hash(b"x"), &r, &p).is_err());
                }
            }
        }
    }
}
