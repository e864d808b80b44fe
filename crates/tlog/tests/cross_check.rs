//! The tree, its roots and its proofs agree byte for byte with an independent RFC 6962
//! implementation, the `ct-merkle` crate.

use ct_merkle::CtMerkleTree;
use dossier_tlog::tree::{self, leaf_hash};
use dossier_tlog::MemoryTree;
use proptest::prelude::*;
use sha2::Sha256;

fn both(leaves: &[Vec<u8>]) -> (MemoryTree, CtMerkleTree<Sha256, Vec<u8>>) {
    let mut ours = MemoryTree::default();
    let mut theirs = CtMerkleTree::new();
    for l in leaves {
        ours.push(leaf_hash(l));
        theirs.push(l.clone());
    }
    (ours, theirs)
}

fn check(leaves: &[Vec<u8>]) {
    let (ours, theirs) = both(leaves);
    assert_eq!(ours.root().as_slice(), theirs.root().as_bytes().as_slice());
    let n = leaves.len() as u64;
    for i in 0..n {
        let proof: Vec<u8> = tree::inclusion_proof(&ours, i, n).unwrap().concat();
        assert_eq!(proof, theirs.prove_inclusion(i as usize).as_bytes(), "inclusion of {i} in {n}");
    }
    for m in 1..n {
        let proof: Vec<u8> = tree::consistency_proof(&ours, m, n).unwrap().concat();
        assert_eq!(proof, theirs.prove_consistency(m as usize).as_bytes(), "consistency {m} -> {n}");
    }
}

#[test]
fn agrees_with_ct_merkle_for_every_size_up_to_70() {
    let leaves: Vec<Vec<u8>> = (0..70u32).map(|i| format!("leaf {i}").into_bytes()).collect();
    for n in 1..=leaves.len() {
        check(&leaves[..n]);
    }
}

proptest! {
    #[test]
    fn agrees_with_ct_merkle_on_random_leaves(leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..150)) {
        check(&leaves);
    }
}
