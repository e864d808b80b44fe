//! A memory of signatures that verified: the same key, hash, bytes and signature verify again
//! without the curve arithmetic. Only a verification that succeeded is remembered, under the
//! SHA-256 of everything it depends on (the key's DER `SubjectPublicKeyInfo`, the hash, whether
//! the bytes are the message or its digest, the bytes and the signature, each length-prefixed),
//! so any other byte, key or signature is verified in full. Times and validity periods are not
//! remembered: the callers check them on every verification.

use std::collections::HashSet;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::keys::{HashAlg, PublicKey, SignatureError};

/// How many signatures a memory holds before it forgets them all.
pub(crate) const CAPACITY: usize = 4096;

#[derive(Debug, Default)]
pub(crate) struct SignatureMemory {
    verified: Mutex<HashSet<[u8; 32]>>,
}

/// What `bytes` are to the signature.
#[derive(Clone, Copy)]
enum Signed {
    Message = 1,
    Digest = 2,
    /// The message, known by its SHA-256 (an artifact: not hashed twice).
    MessageBySha256 = 3,
}

fn entry(key: &PublicKey, hash: HashAlg, signed: Signed, bytes: &[u8], signature: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    };
    field(&key.to_spki_der());
    let hash = match hash {
        HashAlg::Sha256 => 1u8,
        HashAlg::Sha384 => 2,
        HashAlg::Sha512 => 3,
    };
    field(&[hash, signed as u8]);
    field(bytes);
    field(signature);
    h.finalize().into()
}

impl SignatureMemory {
    fn recall_or(&self, id: [u8; 32], check: impl FnOnce() -> Result<(), SignatureError>) -> Result<(), SignatureError> {
        if self.lock().contains(&id) {
            return Ok(());
        }
        check()?;
        let mut verified = self.lock();
        if verified.len() >= CAPACITY {
            verified.clear();
        }
        verified.insert(id);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`PublicKey::verify`], remembered once it succeeds.
    pub(crate) fn verify(&self, key: &PublicKey, hash: HashAlg, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        self.recall_or(entry(key, hash, Signed::Message, message, signature), || key.verify(hash, message, signature))
    }

    /// [`PublicKey::verify`] of `message`, whose SHA-256 the caller computed from it
    /// (`message_sha256`), remembered under that digest once it succeeds.
    pub(crate) fn verify_sha256_known(
        &self,
        key: &PublicKey,
        hash: HashAlg,
        message: &[u8],
        message_sha256: &[u8; 32],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        debug_assert_eq!(&<[u8; 32]>::from(Sha256::digest(message)), message_sha256);
        self.recall_or(entry(key, hash, Signed::MessageBySha256, message_sha256, signature), || key.verify(hash, message, signature))
    }

    /// [`PublicKey::verify_digest`], remembered once it succeeds.
    pub(crate) fn verify_digest(&self, key: &PublicKey, hash: HashAlg, digest: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        self.recall_or(entry(key, hash, Signed::Digest, digest, signature), || key.verify_digest(hash, digest, signature))
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;

    fn p256_key(seed: u8) -> (p256::ecdsa::SigningKey, PublicKey) {
        let signing = p256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap();
        let public = PublicKey::P256(*signing.verifying_key());
        (signing, public)
    }

    fn sign(key: &p256::ecdsa::SigningKey, message: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = key.sign(message);
        sig.to_der().as_bytes().to_vec()
    }

    #[test]
    fn a_changed_byte_is_not_served_from_memory() {
        let memory = SignatureMemory::default();
        let (signing, key) = p256_key(7);
        let message = b"the signed attributes of a timestamp".to_vec();
        let signature = sign(&signing, &message);
        assert_eq!(memory.verify(&key, HashAlg::Sha256, &message, &signature), Ok(()));
        assert_eq!(memory.len(), 1);
        assert_eq!(memory.verify(&key, HashAlg::Sha256, &message, &signature), Ok(()), "remembered");

        // Each byte of the message changed in turn: refused, though the original is remembered.
        for i in 0..message.len() {
            let mut changed = message.clone();
            changed[i] ^= 1;
            assert_eq!(memory.verify(&key, HashAlg::Sha256, &changed, &signature), Err(SignatureError::Invalid), "byte {i}");
        }
        // The signature changed (its last byte, inside s): refused.
        let mut forged = signature.clone();
        *forged.last_mut().unwrap() ^= 1;
        assert!(memory.verify(&key, HashAlg::Sha256, &message, &forged).is_err());
        // Another key, another hash, the bytes taken as a digest: not the remembered check.
        let (_, other) = p256_key(8);
        assert!(memory.verify(&other, HashAlg::Sha256, &message, &signature).is_err());
        assert!(memory.verify(&key, HashAlg::Sha384, &message, &signature).is_err());
        assert!(memory.verify_digest(&key, HashAlg::Sha256, &message[..32], &signature).is_err());
        let mut changed = message.clone();
        changed[0] ^= 1;
        let digest: [u8; 32] = Sha256::digest(&changed).into();
        assert!(memory.verify_sha256_known(&key, HashAlg::Sha256, &changed, &digest, &signature).is_err());
        assert_eq!(memory.len(), 1, "only what verified is remembered");
    }

    #[test]
    fn a_refused_signature_is_refused_again() {
        let memory = SignatureMemory::default();
        let (signing, key) = p256_key(7);
        let signature = sign(&signing, b"one message");
        for _ in 0..2 {
            assert_eq!(memory.verify(&key, HashAlg::Sha256, b"another message", &signature), Err(SignatureError::Invalid));
        }
        assert_eq!(memory.len(), 0);
    }

    #[test]
    fn a_full_memory_forgets_everything_and_still_verifies() {
        let memory = SignatureMemory::default();
        let (signing, key) = p256_key(7);
        memory.lock().extend((0..CAPACITY as u32).map(|i| {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&i.to_be_bytes());
            id
        }));
        let signature = sign(&signing, b"m");
        assert_eq!(memory.verify(&key, HashAlg::Sha256, b"m", &signature), Ok(()));
        assert_eq!(memory.len(), 1);
        memory.clear();
        assert_eq!(memory.len(), 0);
        assert_eq!(memory.verify(&key, HashAlg::Sha256, b"m", &signature), Ok(()));
    }
}
