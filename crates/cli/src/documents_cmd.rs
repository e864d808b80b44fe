//! `dossier document send|get|list`, `components`, `findings`, `scans` and `contains`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::server_arg::ServerArg;

#[derive(clap::Subcommand, Debug)]
pub enum DocumentCommand {
    /// Send a document (SBOM, scan report, VEX, attestation) about an artifact.
    Send(SendArgs),
    /// Print a stored document, byte for byte.
    Get {
        /// The document's digest, sha256:<hex>
        digest: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// List the documents received about an artifact.
    List(ArtifactArg),
}

#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// The document (JSON); "-" reads stdin
    pub file: PathBuf,
    /// The artifact it is about: its purl, or sha256:<hex> of a known artifact
    #[arg(long)]
    pub artifact: String,
    /// The format, when detection should not decide: cyclonedx, spdx, sarif, osv, openvex, intoto
    #[arg(long)]
    pub format: Option<String>,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(clap::Args, Debug)]
pub struct ArtifactArg {
    /// The artifact's package URL
    pub artifact: String,
    /// Print the JSON answer
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(clap::Args, Debug)]
pub struct ContainsArgs {
    /// The package URL without version, e.g. pkg:npm/lodash
    pub package: String,
    /// Versions, compared in the package's ecosystem's order, e.g. ">=4.0.0,<4.17.21"
    #[arg(long, default_value = "*")]
    pub versions: String,
    /// Print the JSON answer
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

pub fn document(cmd: DocumentCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DocumentCommand::Send(args) => send(args),
        DocumentCommand::Get { digest, server } => {
            let text = server.client().get_text(&format!("/api/v1/documents/{digest}"))?;
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        DocumentCommand::List(args) => {
            let v = args.server.client().get_json("/api/v1/documents", &[("artifact", args.artifact.clone())])?;
            if args.json {
                return print_json(&v);
            }
            for d in v["documents"].as_array().into_iter().flatten() {
                println!(
                    "#{:<8} {}  {:<9} {:<24} {} components, {} findings, {} VEX  {}  from {}",
                    d["seq"],
                    s(&d["time"]),
                    s(&d["format"]),
                    tools(&d["tools"]),
                    d["components"],
                    d["findings"],
                    d["vex"],
                    s(&d["digest"]),
                    s(&d["sender"])
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn send(args: SendArgs) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn std::io::Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?)
    };
    let mut query = vec![("artifact", args.artifact.clone())];
    if let Some(f) = &args.format {
        query.push(("format", f.clone()));
    }
    let (status, v) = args.server.client().post_stream("/api/v1/documents", &query, "application/json", reader)?;
    match status {
        200 | 201 => {
            let what = if status == 201 { "recorded" } else { "already recorded" };
            println!(
                "{what} {} ({}, {} components, {} findings, {} VEX statements{}) about {} as entry {}",
                s(&v["digest"]),
                s(&v["format"]),
                v["components"],
                v["findings"],
                v["vex"],
                if v["provenance"] == true { ", provenance" } else { "" },
                s(&v["artifact"]),
                v["seq"]
            );
            if let Some(warning) = v["warning"].as_str() {
                eprintln!("warning: {warning}");
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("{}: HTTP {status}: {}", args.file.display(), v["error"].as_str().unwrap_or(&v.to_string())),
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn tools(v: &Value) -> String {
    let names: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| match t["version"].as_str() {
            Some(version) => format!("{} {version}", s(&t["name"])),
            None => s(&t["name"]).to_owned(),
        })
        .collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(", ")
    }
}

fn print_json(v: &Value) -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(ExitCode::SUCCESS)
}

pub fn components(args: ArtifactArg) -> anyhow::Result<ExitCode> {
    let v = args.server.client().get_json("/api/v1/components", &[("artifact", args.artifact.clone())])?;
    if args.json {
        return print_json(&v);
    }
    let list = v["components"].as_array().cloned().unwrap_or_default();
    for c in &list {
        let id = c["purl"].as_str().map(str::to_owned).unwrap_or_else(|| format!("{} {}", s(&c["name"]), s(&c["version"])));
        let licenses: Vec<&str> = c["licenses"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        println!("{id:<60} {}", if licenses.is_empty() { "(no licence stated)".to_owned() } else { licenses.join(", ") });
    }
    println!("{} components; licences:", list.len());
    for (name, n) in v["licenses"].as_object().into_iter().flatten() {
        println!("  {name:<40} {n}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn findings(args: ArtifactArg) -> anyhow::Result<ExitCode> {
    let v = args.server.client().get_json("/api/v1/findings", &[("artifact", args.artifact.clone())])?;
    if args.json {
        return print_json(&v);
    }
    let list = v["findings"].as_array().cloned().unwrap_or_default();
    for f in &list {
        let from = if f["inherited"] == true { format!(" (inherited from {})", s(&f["artifact"])) } else { String::new() };
        let vex = f["vex"]["status"].as_str().map(|x| format!(" [VEX: {x}, {}]", s(&f["vex"]["matched"]))).unwrap_or_default();
        let fixed = f["fixedVersion"].as_str().map(|x| format!(", fixed in {x}")).unwrap_or_default();
        println!("{:<9} {:<22} {}{fixed}  by {}{from}{vex}", s(&f["severity"]), s(&f["id"]), s(&f["package"]), tools(&f["tools"]));
    }
    println!("{} findings", list.len());
    Ok(ExitCode::SUCCESS)
}

pub fn scans(args: ArtifactArg) -> anyhow::Result<ExitCode> {
    let v = args.server.client().get_json("/api/v1/scans", &[("artifact", args.artifact.clone())])?;
    if args.json {
        return print_json(&v);
    }
    for d in v["scans"].as_array().into_iter().flatten() {
        println!(
            "{}  {:<28} {:<9} {} findings, {} components  {} (entry {})",
            s(&d["time"]),
            tools(&d["tools"]),
            s(&d["format"]),
            d["findings"],
            d["components"],
            s(&d["document"]),
            d["seq"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn contains(args: ContainsArgs) -> anyhow::Result<ExitCode> {
    let v = args.server.client().get_json("/api/v1/contains", &[("package", args.package.clone()), ("versions", args.versions.clone())])?;
    if args.json {
        return print_json(&v);
    }
    let list = v["artifacts"].as_array().cloned().unwrap_or_default();
    for a in &list {
        let via = a["via"].as_str().map(|x| format!("  (through {x})")).unwrap_or_default();
        println!("{:<70} {}{via}", s(&a["artifact"]), s(&a["version"]));
    }
    println!("{} artifacts contain {} {}", list.len(), args.package, args.versions);
    Ok(ExitCode::SUCCESS)
}
