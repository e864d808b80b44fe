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

/// v0.2.0 writes `{"name": …, "aliases": […]}` (`aliases` may be absent or null, as some
/// tools write it); v0.0.1 a bare string. Anything else is refused saying which field and what
/// is accepted.
enum Vulnerability {
    Named { name: String, aliases: Vec<String> },
    Bare(String),
}

impl<'de> Deserialize<'de> for Vulnerability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Vulnerability, D::Error> {
        use serde::de::Error;
        const ACCEPTED: &str = "a string, or an object with a string name and aliases (a list of strings, or null)";
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(name) => Ok(Vulnerability::Bare(name)),
            serde_json::Value::Object(mut o) => {
                let name = match o.remove("name") {
                    Some(serde_json::Value::String(n)) => n,
                    Some(other) => return Err(D::Error::custom(format!("vulnerability.name is {other}; expected a string"))),
                    None => return Err(D::Error::custom(format!("vulnerability has no name; expected {ACCEPTED}"))),
                };
                let aliases = match o.remove("aliases") {
                    None | Some(serde_json::Value::Null) => Vec::new(),
                    Some(serde_json::Value::Array(items)) => items
                        .into_iter()
                        .map(|i| match i {
                            serde_json::Value::String(a) => Ok(a),
                            other => Err(D::Error::custom(format!("vulnerability.aliases holds {other}; expected strings"))),
                        })
                        .collect::<Result<_, _>>()?,
                    Some(other) => {
                        return Err(D::Error::custom(format!("vulnerability.aliases is {other}; expected a list of strings or null")))
                    }
                };
                Ok(Vulnerability::Named { name, aliases })
            }
            other => Err(D::Error::custom(format!("vulnerability is {other}; expected {ACCEPTED}"))),
        }
    }
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

#[cfg(test)]
mod vulnerability_tests {
    use super::*;

    fn vex(vulnerability: serde_json::Value) -> Result<Extract, DocumentError> {
        let doc = serde_json::json!({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"vulnerability": vulnerability, "products": [{"@id": "pkg:oci/shop"}], "status": "not_affected", "justification": "vulnerable_code_not_present"}
        ]});
        read(doc.to_string().as_bytes())
    }

    /// vexipy writes `"aliases": null`.
    #[test]
    fn null_aliases_are_no_aliases() {
        let e = vex(serde_json::json!({"name": "CVE-2021-23337", "aliases": null})).unwrap();
        assert_eq!((e.vex[0].vulnerability.as_str(), e.vex[0].aliases.len()), ("CVE-2021-23337", 0));
        let e = vex(serde_json::json!({"name": "CVE-2021-23337", "aliases": ["GHSA-35jh-r3h4-6jhm"]})).unwrap();
        assert_eq!(e.vex[0].aliases, ["GHSA-35jh-r3h4-6jhm"]);
        assert_eq!(vex(serde_json::json!("CVE-1")).unwrap().vex[0].vulnerability, "CVE-1");
    }

    #[test]
    fn a_vulnerability_that_does_not_fit_names_the_field_and_what_is_accepted() {
        let message = |v| vex(v).expect_err("refused").to_string();
        assert!(message(serde_json::json!({"name": "CVE-1", "aliases": 5}))
            .contains("vulnerability.aliases is 5; expected a list of strings or null"));
        assert!(message(serde_json::json!({"aliases": []})).contains("vulnerability has no name; expected a string, or an object"));
        assert!(message(serde_json::json!(7)).contains("vulnerability is 7; expected a string, or an object"));
    }
}
