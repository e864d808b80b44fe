//! `dossier token create|list|show|revoke|generate` and `dossier whoami`.

use std::process::ExitCode;

use anyhow::bail;
use serde_json::{json, Value};

use crate::server_arg::ServerArg;

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token (needs admin): prints the token once, on stdout; the server keeps its hash.
    Create(CreateArgs),
    /// List tokens: id, principal, scopes, sources, state (never the secrets).
    List {
        /// Print the JSON answer
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Show one token.
    Show {
        id: String,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Revoke a token: it fails from the next request on.
    Revoke {
        id: String,
        /// Why (recorded)
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Print a new random token without a server, for `serve --admin-token`.
    Generate,
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// The principal the token stands for (recorded as the sender of what it sends)
    #[arg(long)]
    pub name: String,
    /// A scope: read, events:write, documents:write, policies:admin, exceptions:request,
    /// exceptions:approve, gate, admin (repeat, or separate with commas)
    #[arg(long = "scope", value_delimiter = ',', required = true)]
    pub scopes: Vec<String>,
    /// A context.source pattern its events may carry, e.g. '/ci/jenkins/**' (repeat)
    #[arg(long = "source")]
    pub sources: Vec<String>,
    /// An artifact pattern its documents may be about, e.g. 'pkg:oci/shop*' (repeat)
    #[arg(long = "artifact")]
    pub artifacts: Vec<String>,
    /// Expiry, RFC 3339 (none: until revoked)
    #[arg(long)]
    pub expires: Option<String>,
    #[command(flatten)]
    pub server: ServerArg,
}

fn check(status: u16, v: Value) -> anyhow::Result<Value> {
    if !(200..300).contains(&status) {
        bail!("HTTP {status}: {}", v["error"].as_str().unwrap_or(&v.to_string()));
    }
    Ok(v)
}

fn list(v: &Value) -> String {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".into())
}

fn line(t: &Value) -> String {
    format!(
        "{}  {:<8} {:<20} scopes {}  sources {}  artifacts {}  expires {}",
        t["id"].as_str().unwrap_or("?"),
        t["state"].as_str().unwrap_or("?"),
        t["name"].as_str().unwrap_or("?"),
        list(&t["scopes"]),
        list(&t["sources"]),
        list(&t["artifacts"]),
        t["expires"].as_str().unwrap_or("never"),
    )
}

pub fn run(cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCommand::Create(a) => {
            let body = json!({"name": a.name, "scopes": a.scopes, "sources": a.sources, "artifacts": a.artifacts, "expires": a.expires});
            let (status, v) = a.server.client().post("/api/v1/tokens", "application/json", body.to_string().as_bytes())?;
            let v = check(status, v)?;
            eprintln!("{}", line(&v));
            eprintln!("the token is shown once (below); the server keeps only its hash");
            println!("{}", v["token"].as_str().unwrap_or_default());
        }
        TokenCommand::List { json, server } => {
            let v = server.client().get_json("/api/v1/tokens", &[])?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for t in v["tokens"].as_array().into_iter().flatten() {
                    println!("{}", line(t));
                }
            }
        }
        TokenCommand::Show { id, server } => {
            let v = server.client().get_json(&format!("/api/v1/tokens/{id}"), &[])?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        TokenCommand::Revoke { id, reason, server } => {
            let body = json!({"reason": reason});
            let (status, v) =
                server.client().post(&format!("/api/v1/tokens/{id}/revoke"), "application/json", body.to_string().as_bytes())?;
            println!("{}", line(&check(status, v)?));
        }
        TokenCommand::Generate => println!("{}", dossier_auth::token::generate().1),
    }
    Ok(ExitCode::SUCCESS)
}

/// `dossier whoami`: the principal the credential in DOSSIER_TOKEN stands for.
pub fn whoami(server: ServerArg) -> anyhow::Result<ExitCode> {
    let v = server.client().get_json("/api/v1/whoami", &[])?;
    println!("{}  ({})", v["name"].as_str().unwrap_or("?"), v["credential"].as_str().unwrap_or("?"));
    println!("scopes {}  sources {}  artifacts {}", list(&v["scopes"]), list(&v["sources"]), list(&v["artifacts"]));
    Ok(ExitCode::SUCCESS)
}
