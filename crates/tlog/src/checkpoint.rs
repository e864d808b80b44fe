//! C2SP `tlog-checkpoint` bodies: origin, tree size and root hash, one per line.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::tree::Hash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Names the log; also the name of the key that signs its checkpoints.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed checkpoint: {0}")]
pub struct CheckpointError(pub &'static str);

impl Checkpoint {
    /// The note body: `origin\nsize\nbase64(root)\n`.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root))
    }

    /// Parses a note body; extension lines after the root are allowed and ignored.
    pub fn parse(body: &str) -> Result<Checkpoint, CheckpointError> {
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|l| !l.is_empty()).ok_or(CheckpointError("missing origin line"))?;
        let size = lines
            .next()
            .and_then(|l| if l.starts_with('+') || (l.len() > 1 && l.starts_with('0')) { None } else { l.parse().ok() })
            .ok_or(CheckpointError("second line must be the tree size in decimal"))?;
        let root = lines
            .next()
            .and_then(|l| B64.decode(l).ok())
            .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
            .ok_or(CheckpointError("third line must be the base64 of a 32-byte root hash"))?;
        if !body.ends_with('\n') {
            return Err(CheckpointError("body must end with a newline"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips() {
        let c = Checkpoint { origin: "dossier.example/log".into(), size: 12, root: [7; 32] };
        assert_eq!(c.body(), "dossier.example/log\n12\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n");
        assert_eq!(Checkpoint::parse(&c.body()), Ok(c));
    }

    #[test]
    fn rejects_a_size_with_leading_zeros() {
        assert_eq!(
            Checkpoint::parse("o\n012\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n"),
            Err(CheckpointError("second line must be the tree size in decimal"))
        );
    }
}
