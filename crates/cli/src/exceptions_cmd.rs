//! `dossier exception request|approve|revoke|list|show|from-vex`.

use std::process::ExitCode;

use anyhow::bail;
use serde_json::{json, Value};

use crate::server_arg::ServerArg;

#[derive(clap::Subcommand, Debug)]
pub enum ExceptionCommand {
    /// Ask for an exception: what it waives, for which artifacts, why, until when.
    Request(RequestArgs),
    /// Approve a requested exception as the principal of DOSSIER_TOKEN (someone other than
    /// the requester, unless configured; needs exceptions:approve).
    Approve {
        /// The exception's id
        id: String,
        /// Why, or what was checked (recorded)
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Revoke an exception before its expiry.
    Revoke {
        /// The exception's id
        id: String,
        /// Why (recorded)
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// List exceptions, with their state now (or at --at).
    List(ListArgs),
    /// Show one exception and its history.
    Show {
        /// The exception's id
        id: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Request one exception per not_affected / false_positive statement of a VEX document
    /// recorded about an artifact, the document kept as justification.
    FromVex {
        /// The document's digest, sha256:<hex>
        #[arg(long)]
        document: String,
        /// The artifact purl the document was recorded about
        #[arg(long)]
        artifact: String,
        /// Expiry, RFC 3339 (mandatory; at most the server's maximum away)
        #[arg(long)]
        expires: String,
        /// A ticket link
        #[arg(long)]
        ticket: Option<String>,
        #[command(flatten)]
        server: ServerArg,
    },
}

#[derive(clap::Args, Debug)]
pub struct RequestArgs {
    /// An id of your choosing (letters, digits, . _ -); Dossier gives one otherwise
    #[arg(long)]
    pub id: Option<String>,
    /// A vulnerability waived (repeat for several)
    #[arg(long = "vulnerability")]
    pub vulnerabilities: Vec<String>,
    /// An artifact purl or glob covered, e.g. "pkg:oci/shop@*" (repeat for several)
    #[arg(long = "artifact", required = true)]
    pub artifacts: Vec<String>,
    /// An environment where it applies (repeat; all when none)
    #[arg(long = "environment")]
    pub environments: Vec<String>,
    /// A policy whose rules it waives (repeat)
    #[arg(long = "policy")]
    pub policies: Vec<String>,
    /// Why the finding or rule can be waived (recorded)
    #[arg(long)]
    pub reason: String,
    /// Expiry, RFC 3339 (mandatory; at most the server's maximum away)
    #[arg(long)]
    pub expires: String,
    /// A ticket link
    #[arg(long)]
    pub ticket: Option<String>,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// requested, active, revoked, expired or all
    #[arg(long)]
    pub state: Option<String>,
    /// Only those covering this artifact purl
    #[arg(long)]
    pub artifact: Option<String>,
    /// Only those waiving this vulnerability (or an alias of it)
    #[arg(long)]
    pub vulnerability: Option<String>,
    /// States at this moment (RFC 3339) instead of now
    #[arg(long)]
    pub at: Option<String>,
    /// Print the JSON answer
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

fn post(server: &ServerArg, path: &str, body: Value) -> anyhow::Result<Value> {
    let (status, v) = server.client().post(path, "application/json", body.to_string().as_bytes())?;
    if !(200..300).contains(&status) {
        bail!("HTTP {status}: {}", v["error"].as_str().unwrap_or(&v.to_string()));
    }
    Ok(v)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(s).collect::<Vec<_>>().join(","),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn line(e: &Value) -> String {
    format!(
        "{:<24} {:<9} until {}  {} on {}{}  requested by {}{}: {}",
        s(&e["id"]),
        s(&e["state"]),
        s(&e["expires"]),
        if e["vulnerabilities"].as_array().is_some_and(|a| !a.is_empty()) {
            s(&e["vulnerabilities"])
        } else {
            format!("policies {}", s(&e["policies"]))
        },
        s(&e["artifacts"]),
        if e["environments"].as_array().is_some_and(|a| !a.is_empty()) { format!(" in {}", s(&e["environments"])) } else { String::new() },
        s(&e["requested"]["by"]),
        e["approved"]["by"].as_str().map(|a| format!(", approved by {a}")).unwrap_or_default(),
        s(&e["reason"]),
    )
}

pub fn run(cmd: ExceptionCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ExceptionCommand::Request(a) => {
            let mut body = json!({"vulnerabilities": a.vulnerabilities, "artifacts": a.artifacts, "environments": a.environments,
                                  "policies": a.policies, "reason": a.reason, "expires": a.expires});
            if let Some(id) = a.id {
                body["id"] = json!(id);
            }
            if let Some(t) = a.ticket {
                body["ticket"] = json!(t);
            }
            println!("{}", line(&post(&a.server, "/api/v1/exceptions", body)?));
        }
        ExceptionCommand::Approve { id, comment, server } => {
            println!("{}", line(&post(&server, &format!("/api/v1/exceptions/{id}/approve"), json!({"comment": comment}))?));
        }
        ExceptionCommand::Revoke { id, reason, server } => {
            println!("{}", line(&post(&server, &format!("/api/v1/exceptions/{id}/revoke"), json!({"reason": reason}))?));
        }
        ExceptionCommand::Show { id, server } => {
            let v = server.client().get_json(&format!("/api/v1/exceptions/{id}"), &[])?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        ExceptionCommand::List(a) => {
            let mut q = Vec::new();
            for (k, v) in [("state", &a.state), ("artifact", &a.artifact), ("vulnerability", &a.vulnerability), ("at", &a.at)] {
                if let Some(v) = v {
                    q.push((k, v.clone()));
                }
            }
            let v = a.server.client().get_json("/api/v1/exceptions", &q)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for e in v["exceptions"].as_array().into_iter().flatten() {
                    println!("{}", line(e));
                }
            }
        }
        ExceptionCommand::FromVex { document, artifact, expires, ticket, server } => {
            let v = post(
                &server,
                "/api/v1/exceptions/from-vex",
                json!({"document": document, "artifact": artifact, "expires": expires, "ticket": ticket}),
            )?;
            for e in v["exceptions"].as_array().into_iter().flatten() {
                println!("{}", line(e));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
