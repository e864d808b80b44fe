//! The documents entries point at (SBOMs, scan reports, VEX, attestations, tools' output), each
//! kept once under `DATA/documents/sha256/<hex>`. Reading one and recording its entry is the
//! document intake's job (`dossier-connectors`).
//!
//! Order of work, so that nothing is half-stored: the body streams into `incoming/` while it is
//! hashed (memory stays bounded whatever its size); it is read; only a document that reads is
//! renamed to its content address (fsync'd); only then is its entry appended. An entry
//! therefore always has its document; a document without an entry (a crash in between) is
//! harmless and is reused by the next submission of the same bytes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::own::hex;

/// Why a document could not be staged or kept.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the document is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("storing the document: {0}; nothing was recorded, retry")]
    Io(#[from] io::Error),
}

/// The document directory.
#[derive(Debug)]
pub struct Documents {
    dir: PathBuf,
    max_size: u64,
}

/// A body written to `incoming/` and hashed; removed unless kept.
pub struct Staged {
    path: PathBuf,
    pub digest: String,
    pub size: u64,
}

impl Staged {
    /// Where it is staged, to be read before it is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes chunks to a staging file, hashing them and enforcing the size limit.
pub struct Stager {
    file: File,
    hasher: Sha256,
    staged: Staged,
    max_size: u64,
}

impl Stager {
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        self.staged.size += chunk.len() as u64;
        if self.staged.size > self.max_size {
            return Err(BlobError::TooLarge(self.max_size));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk)?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Staged, BlobError> {
        self.file.sync_all()?;
        let mut staged = Staged { path: std::mem::take(&mut self.staged.path), digest: String::new(), size: self.staged.size };
        staged.digest = hex(&self.hasher.finalize_reset());
        Ok(staged)
    }
}

impl Documents {
    /// Opens (creating) the directory; staging files left by a crash are removed.
    pub fn open(dir: &Path, max_size: u64) -> io::Result<Arc<Documents>> {
        std::fs::create_dir_all(dir.join("sha256"))?;
        let incoming = dir.join("incoming");
        if incoming.exists() {
            std::fs::remove_dir_all(&incoming)?;
        }
        std::fs::create_dir_all(&incoming)?;
        Ok(Arc::new(Documents { dir: dir.to_owned(), max_size }))
    }

    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    pub fn stager(&self) -> Result<Stager, BlobError> {
        let mut name = [0u8; 12];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut name);
        let path = self.dir.join("incoming").join(hex(&name));
        let file = File::create(&path)?;
        Ok(Stager { file, hasher: Sha256::new(), staged: Staged { path, digest: String::new(), size: 0 }, max_size: self.max_size })
    }

    /// Stages a file (a document fetched from a directory), streaming it.
    pub fn stage_file(&self, source: &Path) -> Result<Staged, BlobError> {
        let mut stager = self.stager()?;
        let mut file = File::open(source)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return stager.finish();
            }
            stager.write(&buf[..n])?;
        }
    }

    /// Keeps bytes Dossier made or received itself (a tool's output) under their digest, durably;
    /// answers `sha256:<hex>`.
    pub fn keep_bytes(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let mut stager = self.stager()?;
        stager.write(bytes)?;
        let staged = stager.finish()?;
        self.keep(&staged)?;
        Ok(format!("sha256:{}", staged.digest))
    }

    /// Where the document with this sha256 digest (hex) is kept.
    pub fn path(&self, hex_digest: &str) -> Option<PathBuf> {
        let ok = hex_digest.len() == 64 && hex_digest.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        ok.then(|| self.dir.join("sha256").join(hex_digest))
    }

    /// Moves a staged document to its content address, durably.
    pub fn keep(&self, staged: &Staged) -> io::Result<()> {
        let target = self.dir.join("sha256").join(&staged.digest);
        if !target.exists() {
            std::fs::rename(&staged.path, &target)?;
            File::open(self.dir.join("sha256"))?.sync_all()?;
        }
        Ok(())
    }
}
