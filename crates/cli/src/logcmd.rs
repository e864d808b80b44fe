//! `dossier log`: the signed checkpoint, the public key, and proofs verified on this side
//! with the public key alone.

use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use dossier_tlog::{tree, Checkpoint, Hash, Verifier};
use serde_json::Value;

use crate::server_arg::ServerArg;
use dossier_client::Client;

#[derive(clap::Subcommand, Debug)]
pub enum LogCommand {
    /// Print the latest signed checkpoint (C2SP signed note), after verifying its signature
    Checkpoint(KeyArgs),
    /// Print the log's public key (a note verifier key)
    Key(ServerOnly),
    /// Fetch and verify the inclusion proof of entry SEQ
    Prove {
        seq: u64,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Fetch and verify the consistency proof between tree sizes OLD and NEW (default: now).
    /// With --from, OLD and its root come from a checkpoint you saved earlier, not from the server
    Consistency {
        old: Option<u64>,
        new: Option<u64>,
        /// A signed checkpoint you saved earlier (a file holding the C2SP note): proves that
        /// today's log extends it
        #[arg(long, value_name = "FILE")]
        from: Option<std::path::PathBuf>,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Print the log key (`<name>+<id>+<base64>`) of an Ed25519 public key in PEM, such as a
    /// KMS or an HSM exports, for `serve --log-signer … --log-public-key`
    Vkey {
        /// The log's name (its checkpoints' origin), e.g. dossier.example.com/log
        #[arg(long)]
        name: String,
        /// The public key, PEM (`-----BEGIN PUBLIC KEY-----`, Ed25519)
        #[arg(long)]
        pem: std::path::PathBuf,
    },
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, the algorithm
/// 1.3.101.112, then a 32-byte BIT STRING.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// The 32 bytes of an Ed25519 public key in PEM.
fn ed25519_from_pem(pem: &str) -> anyhow::Result<[u8; 32]> {
    let b64: String = pem
        .lines()
        .skip_while(|l| l.trim() != "-----BEGIN PUBLIC KEY-----")
        .skip(1)
        .take_while(|l| l.trim() != "-----END PUBLIC KEY-----")
        .map(str::trim)
        .collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64.as_bytes())
        .map_err(|_| anyhow!("no base64 public key between BEGIN PUBLIC KEY and END PUBLIC KEY"))?;
    match der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(key) => key.try_into().map_err(|_| anyhow!("the Ed25519 key is not 32 bytes")),
        None => bail!("not an Ed25519 public key (RFC 8410 SubjectPublicKeyInfo); Dossier's log signs with Ed25519"),
    }
}

#[derive(clap::Args, Debug)]
pub struct ServerOnly {
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(clap::Args, Debug)]
pub struct KeyArgs {
    /// The log's public key (text or a file holding it); by default the server's is used
    #[arg(long)]
    pub key: Option<String>,
    #[command(flatten)]
    pub server: ServerArg,
}

/// The verifier key from `--key` (text or file) or, failing that, from the server.
pub fn verifier(client: &Client, key: Option<&str>) -> anyhow::Result<Verifier> {
    let text = match key {
        Some(k) => crate::verify::read_key(k)?,
        None => client.get_text("/api/v1/log/key")?,
    };
    Verifier::parse(text.trim()).map_err(|e| anyhow!("the log key: {e}"))
}

fn hash(v: &Value, what: &str) -> anyhow::Result<Hash> {
    let s = v.as_str().ok_or_else(|| anyhow!("{what} is missing"))?;
    let bytes = B64.decode(s).with_context(|| format!("{what} is not base64"))?;
    Hash::try_from(bytes.as_slice()).map_err(|_| anyhow!("{what} is not 32 bytes"))
}

/// The `hashes` array of a proof answer.
fn hashes(answer: &Value) -> anyhow::Result<Vec<Hash>> {
    answer["hashes"]
        .as_array()
        .ok_or_else(|| anyhow!("hashes are missing"))?
        .iter()
        .enumerate()
        .map(|(i, h)| hash(h, &format!("hashes[{i}]")))
        .collect()
}

fn open_checkpoint(note: &str, key: &Verifier) -> anyhow::Result<Checkpoint> {
    let body = key.open(note).map_err(|e| anyhow!("checkpoint: {e}"))?;
    let cp = Checkpoint::parse(body).map_err(|e| anyhow!("{e}"))?;
    if cp.origin != key.name() {
        bail!("the checkpoint is for log {:?}, the key for {:?}", cp.origin, key.name());
    }
    Ok(cp)
}

/// An entry as the server holds it: the bytes as received and the receipt time, which the
/// leaf covers together with the canonical form (docs/log-format.md).
pub struct Entry {
    pub raw: String,
    pub received_unix_nanos: i64,
    pub sender: Option<String>,
}

/// Reads entry `seq`'s raw bytes and receipt time from the server.
pub fn entry(client: &dossier_client::Client, seq: u64, view: &Value) -> anyhow::Result<Entry> {
    let received = view["received"].as_str().ok_or_else(|| anyhow!("the answer carries no receipt time"))?;
    let received_unix_nanos =
        dossier_core::event::parse_timestamp(received).ok_or_else(|| anyhow!("the receipt time {received:?} is not RFC 3339"))?;
    let sender = match &view["sender"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => bail!("the entry's sender {other} is not a string"),
    };
    Ok(Entry { raw: client.get_text(&format!("/api/v1/events/{seq}/raw"))?, received_unix_nanos, sender })
}

/// Verifies an inclusion proof answer against its signed checkpoint; when `entry` is given,
/// also that the proof's leaf is that entry: its raw bytes, receipt time and canonical form.
pub fn check_inclusion(proof: &Value, entry: Option<&Entry>, key: &Verifier) -> anyhow::Result<String> {
    let note = proof["checkpoint"].as_str().ok_or_else(|| anyhow!("the answer carries no signed checkpoint"))?;
    let cp = open_checkpoint(note, key)?;
    let seq = proof["seq"].as_u64().ok_or_else(|| anyhow!("seq is missing"))?;
    let size = proof["tree_size"].as_u64().ok_or_else(|| anyhow!("tree_size is missing"))?;
    if size != cp.size {
        bail!("the proof is for tree size {size}, the checkpoint for {}", cp.size);
    }
    let leaf = hash(&proof["leaf_hash"], "leaf_hash")?;
    if let Some(entry) = entry {
        let value: Value = serde_json::from_str(&entry.raw).context("the entry's raw bytes are not JSON")?;
        let canonical = dossier_core::jcs::canonicalize(&value);
        if dossier_store::leaf::entry_leaf_hash(entry.received_unix_nanos, entry.sender.as_deref(), entry.raw.as_bytes(), &canonical)
            != leaf
        {
            bail!(
                "the entry (its raw bytes, receipt time, sender and content) does not hash to the proven leaf: it is not the logged entry"
            );
        }
    }
    let hashes = hashes(proof)?;
    tree::verify_inclusion(&leaf, seq, size, &hashes, &cp.root).map_err(|e| anyhow!("inclusion proof: {e}"))?;
    Ok(format!("verified: entry {seq} is in the tree of size {size} signed by {}", key.name()))
}

pub fn run(cmd: LogCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LogCommand::Vkey { name, pem } => {
            let text = std::fs::read_to_string(&pem).with_context(|| format!("reading {}", pem.display()))?;
            let key = Verifier::from_ed25519(&name, &ed25519_from_pem(&text)?).map_err(|e| anyhow!("{e}"))?;
            println!("{key}");
        }
        LogCommand::Key(args) => {
            print!("{}", args.server.client().get_text("/api/v1/log/key")?);
        }
        LogCommand::Checkpoint(args) => {
            let client = args.server.client();
            let key = verifier(&client, args.key.as_deref())?;
            let note = client.get_text("/api/v1/log/checkpoint")?;
            let cp = open_checkpoint(&note, &key)?;
            print!("{note}");
            eprintln!("verified: signed by {}, {} entries", key.name(), cp.size);
        }
        LogCommand::Prove { seq, key } => {
            let client = key.server.client();
            let k = verifier(&client, key.key.as_deref())?;
            let proof = client.get_json("/api/v1/log/proof/inclusion", &[("seq", seq.to_string())])?;
            let view = client.get_json(&format!("/api/v1/events/{seq}"), &[])?;
            let entry = entry(&client, seq, &view)?;
            println!("{}", check_inclusion(&proof, Some(&entry), &k)?);
        }
        LogCommand::Consistency { old, new, from, key } => {
            let client = key.server.client();
            let k = verifier(&client, key.key.as_deref())?;
            // The old tree: the auditor's own saved checkpoint, or (weaker) the server's word.
            let saved = match &from {
                Some(path) => {
                    let note = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                    let cp = open_checkpoint(&note, &k).with_context(|| format!("the saved checkpoint {}", path.display()))?;
                    if old.is_some_and(|o| o != cp.size) {
                        bail!("the saved checkpoint is at size {}, not {}; leave OLD out with --from", cp.size, old.unwrap_or_default());
                    }
                    Some(cp)
                }
                None => None,
            };
            let Some(old) = saved.as_ref().map(|c| c.size).or(old) else {
                bail!("give OLD, the smaller tree size, or --from FILE, a checkpoint you saved");
            };
            // The new root must come from a signed checkpoint, not from the answer itself.
            let note = client.get_text("/api/v1/log/checkpoint")?;
            let cp = open_checkpoint(&note, &k)?;
            let new = new.unwrap_or(cp.size);
            if new != cp.size {
                bail!("the signed checkpoint is at size {}; ask for the consistency of {old} with {}", cp.size, cp.size);
            }
            let answer = client.get_json("/api/v1/log/proof/consistency", &[("old", old.to_string()), ("new", new.to_string())])?;
            let old_root = match &saved {
                Some(c) => c.root,
                None => hash(&answer["old_root"], "old_root")?,
            };
            let hashes = hashes(&answer)?;
            if let Err(e) = tree::verify_consistency(old, new, &old_root, &cp.root, &hashes) {
                // Not an error of the command: the answer is "no" (exit 1, as `verify` does).
                match &saved {
                    Some(_) => eprintln!(
                        "FAIL  today's log does NOT extend your saved checkpoint at size {old}: {e} (history before it was rewritten)"
                    ),
                    None => eprintln!("FAIL  consistency proof: {e}"),
                }
                return Ok(ExitCode::from(1));
            }
            match &saved {
                Some(_) => println!(
                    "verified: today's signed tree of size {new} extends your saved checkpoint of size {old} (root {})",
                    B64.encode(old_root)
                ),
                None => {
                    println!(
                        "verified: the tree of size {old} (root {}) is a prefix of the signed tree of size {new}",
                        B64.encode(old_root)
                    );
                    eprintln!("note: the root of size {old} came from the server; to hold it to a checkpoint you saved, use --from FILE");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
