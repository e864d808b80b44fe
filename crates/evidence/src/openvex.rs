//! OpenVEX (v0.0.1 and v0.2.0): statements about products and vulnerabilities.

use std::io::Read;

use serde::Deserialize;

use crate::bounded::Bounded;
use crate::model::{Extract, Format, Tool, VexStatement};
use crate::{read_json, DocumentError};

const STATUSES: [&str; 4] = ["not_affected", "affected", "fixed", "under_investigation"];

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "@context")]
    context: String,
    #[serde(default)]
    tooling: Option<String>,
    statements: Bounded<Statement>,
}

#[derive(Deserialize)]
struct Statement {
    vulnerability: Vulnerability,
    #[serde(default)]
    products: Bounded<Product>,
    status: String,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    impact_statement: Option<String>,
    #[serde(default)]
    status_notes: Option<String>,
}

/// v0.2.0 writes `{"name": …, "aliases": […]}`; v0.0.1 a bare string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Vulnerability {
    Named {
        name: String,
        #[serde(default)]
        aliases: Vec<String>,
    },
    Bare(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Product {
    Object {
        #[serde(rename = "@id")]
        id: String,
    },
    Bare(String),
}

pub(crate) fn read(reader: impl Read) -> Result<Extract, DocumentError> {
    let doc: Document = read_json(Format::OpenVex, reader)?;
    let mut out = Extract::new(Format::OpenVex);
    out.spec_version = doc.context.rsplit('/').next().unwrap_or_default().to_owned();
    out.tools.extend(doc.tooling.map(|name| Tool { name, version: None }));
    for (i, s) in doc.statements.into_iter().enumerate() {
        if !STATUSES.contains(&s.status.as_str()) {
            return Err(DocumentError::Invalid {
                format: Format::OpenVex.name(),
                path: format!("/statements/{i}/status"),
                message: format!("{:?} is not a status; accepted: {}", s.status, STATUSES.join(", ")),
            });
        }
        let (vulnerability, aliases) = match s.vulnerability {
            Vulnerability::Named { name, aliases } => (name, aliases),
            Vulnerability::Bare(name) => (name, Vec::new()),
        };
        let products = s
            .products
            .into_iter()
            .map(|p| match p {
                Product::Object { id } | Product::Bare(id) => id,
            })
            .collect();
        out.vex.push(VexStatement {
            vulnerability,
            aliases,
            products,
            status: s.status,
            justification: s.justification,
            detail: s.impact_statement.or(s.status_notes),
        });
    }
    Ok(out)
}
