//! `dossier audit`: make an artifact's audit bundle through the API, and verify one offline with
//! the log's public key alone (docs/audit-bundle.md).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use dossier_audit::{Bundle, Verified, MAX_BUNDLE_BYTES};
use dossier_tlog::{Checkpoint, Verifier};

use crate::server_arg::ServerArg;

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Write the audit bundle of an artifact: its entries and its lineage's, with their proofs,
    /// documents, decisions, exceptions and lineage edges, in one file
    Bundle(BundleArgs),
    /// Verify an audit bundle offline, with the log's public key alone (no server, no data
    /// directory); names what fails
    Verify(VerifyArgs),
    /// The report of a period: deployments per environment, the gate's decisions, exceptions
    /// and who approved them, policy changes, violations, tool runs — one printable HTML file
    /// (or JSON), each line naming its entry in the signed checkpoint it cites
    Report(crate::report_cmd::ReportArgs),
}

#[derive(clap::Args, Debug)]
pub struct BundleArgs {
    /// The artifact's package URL
    pub artifact: String,
    /// Where to write the bundle
    #[arg(short, long)]
    pub output: PathBuf,
    /// The documents' bytes (`include`) or only their digests (`digests`)
    #[arg(long, value_enum, default_value = "include")]
    pub documents: Documents,
    /// A signed checkpoint you saved earlier: the bundle then holds a consistency proof from it,
    /// for `audit verify --checkpoint`
    #[arg(long, value_name = "FILE")]
    pub since: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Documents {
    Include,
    Digests,
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The bundle file
    pub bundle: PathBuf,
    /// The log's public key (text or a file holding it, such as DATA/log.pub)
    #[arg(long)]
    pub key: String,
    /// A signed checkpoint you saved earlier: the bundle's newest checkpoint must extend it
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Bundle(args) => bundle(args),
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Report(args) => crate::report_cmd::run(args),
    }
}

fn bundle(args: BundleArgs) -> anyhow::Result<ExitCode> {
    let documents = match args.documents {
        Documents::Include => "include",
        Documents::Digests => "digests",
    };
    let mut query = vec![("artifact", args.artifact.clone()), ("documents", documents.to_owned())];
    if let Some(saved) = &args.since {
        let note = std::fs::read_to_string(saved).with_context(|| format!("reading {}", saved.display()))?;
        let body = dossier_tlog::note_text(&note).map_err(|e| anyhow!("{}: {e}", saved.display()))?;
        let checkpoint = Checkpoint::parse(body).map_err(|e| anyhow!("{}: {e}", saved.display()))?;
        query.push(("since", checkpoint.size.to_string()));
    }
    // Written beside the target and renamed into place: a failed download leaves no half file.
    let dir = args.output.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("creating a file in {}", dir.display()))?;
    let written = args.server.client().get_into("/api/v1/audit/bundle", &query, &mut file)?;
    file.flush()?;
    file.persist(&args.output).with_context(|| format!("writing {}", args.output.display()))?;
    println!(
        "wrote {} ({written} bytes); verify it with: dossier audit verify {} --key log.pub",
        args.output.display(),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads a bundle file, refusing one larger than any bundle a server makes.
pub fn read_bundle(path: &std::path::Path) -> anyhow::Result<Bundle> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut text = Vec::new();
    file.take(MAX_BUNDLE_BYTES + 1).read_to_end(&mut text).with_context(|| format!("reading {}", path.display()))?;
    if text.len() as u64 > MAX_BUNDLE_BYTES {
        bail!("{} is larger than {MAX_BUNDLE_BYTES} bytes, more than any audit bundle holds", path.display());
    }
    serde_json::from_slice(&text).with_context(|| format!("{} is not an audit bundle (docs/audit-bundle.md)", path.display()))
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let key = Verifier::parse(crate::verify::read_key(&args.key)?.trim()).map_err(|e| anyhow!("the log key: {e}"))?;
    let trusted = match &args.checkpoint {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let bundle = read_bundle(&args.bundle)?;
    match dossier_audit::verify(&bundle, &key, trusted.as_deref()) {
        Ok(v) => {
            println!("{}", said(&v));
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            println!("REFUSED  {}: {failure}", args.bundle.display());
            Ok(ExitCode::from(1))
        }
    }
}

/// What a verified bundle comes to, in words.
fn said(v: &Verified) -> String {
    let mut out = format!(
        "OK  {} entries about {} are in log {}'s signed checkpoint of size {}, which its newest (size {}) extends\n",
        v.entries, v.artifact, v.origin, v.checkpoint, v.newest
    );
    out.push_str(&format!(
        "    {} documents ({} with their bytes, which match their digests), {} decisions, {} exceptions, {} signature checks, {} lineage edges, each stated by an entry of the bundle",
        v.documents, v.documents_included, v.decisions, v.exceptions, v.signatures, v.edges
    ));
    if let Some(size) = v.trusted {
        out.push_str(&format!("\n    trusted: the bundle's newest checkpoint extends your checkpoint of size {size}"));
    }
    out
}
