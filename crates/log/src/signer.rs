//! Who signs the log's checkpoints. The default is the key file (`DATA/log.key`, or
//! `--log-key`); a [`CommandSigner`] keeps the private key out of Dossier's reach altogether —
//! in a KMS, an HSM or a signing service that a small program of the operator's asks. Whatever
//! signs, the signature is checked against the log's public key before a checkpoint is kept.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use dossier_tlog::{Signer, Verifier};

/// Signs messages with the log's Ed25519 key.
pub trait NoteSigner: Send + Sync {
    /// The log's public key; its name is the log's origin.
    fn verifier(&self) -> Verifier;
    /// The Ed25519 signature of `message`.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError>;
    /// Whether each signature costs a call outside the process (a KMS, an HSM): then only the
    /// once-a-second checkpoint loop signs, and readers get the newest kept checkpoint.
    fn is_remote(&self) -> bool {
        false
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the signer {program}: {reason}")]
    Command { program: String, reason: String },
    #[error("the signer's signature does not verify with the log's key {key}: it signs with another key, or not Ed25519 over the message")]
    Wrong { key: String },
}

/// The key file: the private key in Dossier's memory.
impl NoteSigner for Signer {
    fn verifier(&self) -> Verifier {
        Signer::verifier(self)
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        Ok(self.sign_bytes(message))
    }
}

/// Signs `text` as a C2SP note with `signer`; refused unless the signature verifies.
pub fn sign_note(signer: &dyn NoteSigner, text: &str) -> Result<String, SignError> {
    let signature = signer.sign(text.as_bytes())?;
    let key = signer.verifier();
    key.note_with(text, &signature).map_err(|_| SignError::Wrong { key: key.to_string() })
}

/// The most a signer program may print.
const MAX_OUTPUT: u64 = 4096;

/// An external signer: a program (no arguments, no shell) that reads the message on its
/// standard input and prints its Ed25519 signature on standard output — the 64 bytes, or their
/// base64 — and exits 0, within `timeout`. A wrapper of a few lines around a KMS's or an HSM's
/// own tool (`gcloud kms asymmetric-sign`, `vault write transit/sign`, `pkcs11-tool`, `openssl
/// pkeyutl`) is enough.
pub struct CommandSigner {
    program: PathBuf,
    key: Verifier,
    timeout: Duration,
}

impl CommandSigner {
    pub fn new(program: PathBuf, key: Verifier, timeout: Duration) -> CommandSigner {
        CommandSigner { program, key, timeout }
    }

    fn fail(&self, reason: impl Into<String>) -> SignError {
        SignError::Command { program: self.program.display().to_string(), reason: reason.into() }
    }
}

impl NoteSigner for CommandSigner {
    fn verifier(&self) -> Verifier {
        self.key.clone()
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let mut child = Command::new(&self.program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.fail(format!("could not start: {e}")))?;
        let mut stdin = child.stdin.take().expect("piped");
        // A program that exits without reading the message is judged by its exit status below.
        if let Err(e) = stdin.write_all(message) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                let _ = child.kill();
                let _ = child.wait();
                return Err(self.fail(format!("writing the message: {e}")));
            }
        }
        drop(stdin);
        let mut stdout = child.stdout.take().expect("piped").take(MAX_OUTPUT);
        let mut stderr = child.stderr.take().expect("piped").take(MAX_OUTPUT);
        // Read on threads that report through channels, so that a descendant keeping the pipes
        // open cannot make the signer wait past its deadline.
        let (out_tx, out) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out_tx.send(stdout.read_to_end(&mut buf).map(|_| buf));
        });
        let (err_tx, err) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            let _ = err_tx.send(buf);
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait().map_err(|e| self.fail(e.to_string()))? {
                Some(status) => break status,
                None if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(self.fail(format!("did not answer within {:?}; killed", self.timeout)));
                }
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        };
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        let out = out
            .recv_timeout(left)
            .map_err(|_| self.fail("exited, but its output did not end (a process it started holds it open?)"))?
            .map_err(|e| self.fail(format!("reading its output: {e}")))?;
        let err = err.recv_timeout(Duration::from_millis(100)).unwrap_or_default();
        if !status.success() {
            return Err(self.fail(format!("{status}: {}", String::from_utf8_lossy(&err).trim())));
        }
        let bytes = if out.len() == 64 {
            out
        } else {
            let text = String::from_utf8_lossy(&out);
            B64.decode(text.trim()).map_err(|_| self.fail("printed neither 64 bytes nor their base64"))?
        };
        bytes.try_into().map_err(|_| self.fail("an Ed25519 signature is 64 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &std::path::Path, body: &str) -> PathBuf {
        let path = dir.join("sign.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn a_file_key_signs_notes_that_verify() {
        let s = Signer::generate("file.example/log").unwrap();
        let note = sign_note(&s, "body\n").unwrap();
        assert_eq!(s.verifier().open(&note), Ok("body\n"));
    }

    #[test]
    fn a_program_that_signs_with_another_key_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        // The program prints a well-formed signature by a key that is not the log's.
        let other = Signer::generate("x").unwrap();
        let sig = B64.encode(other.sign_bytes(b"body\n"));
        let signer = CommandSigner::new(
            script(dir.path(), &format!("cat >/dev/null; echo {sig}")),
            Signer::generate("cmd.example/log").unwrap().verifier(),
            Duration::from_secs(5),
        );
        assert!(matches!(sign_note(&signer, "body\n"), Err(SignError::Wrong { .. })));
    }

    #[test]
    fn a_failing_a_silent_or_a_slow_program_is_an_error_that_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let key = Signer::generate("cmd.example/log").unwrap().verifier();
        let run = |body: &str, timeout: u64| {
            let signer = CommandSigner::new(script(dir.path(), body), key.clone(), Duration::from_millis(timeout));
            sign_note(&signer, "body\n").unwrap_err().to_string()
        };
        assert!(run("cat >/dev/null; echo 'no key' >&2; exit 3", 5000).ends_with("exit status: 3: no key"), "{}", run("exit 3", 5000));
        assert!(run("cat >/dev/null; echo hello", 5000).ends_with("printed neither 64 bytes nor their base64"));
        assert!(run("cat >/dev/null; sleep 5", 200).ends_with("did not answer within 200ms; killed"));
        // One that exits without reading the message is judged by its exit status, not by the pipe.
        assert!(run("echo 'HSM locked' >&2; exit 4", 5000).ends_with("exit status: 4: HSM locked"));
    }
}
