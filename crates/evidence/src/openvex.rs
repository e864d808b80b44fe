//! OpenVEX (v0.0.1 and v0.2.0): statements about products and vulnerabilities. A product is
//! named by its `@id`, its `identifiers.purl` or its `hashes`; its `subcomponents` limit the
//! statement to those parts of it.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use crate::bounded::Bounded;
use crate::model::{Extract, Format, Product, Tool, VexStatement};
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
    #[serde(default, rename = "@id")]
    id: Option<String>,
    vulnerability: Vulnerability,
    #[serde(default)]
    products: Bounded<Component>,
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

/// A product or subcomponent: v0.0.1 writes a bare string, v0.2.0 an object.
#[derive(Deserialize)]
#[serde(untagged)]
enum Component {
    Bare(String),
    Object(ComponentObject),
}

#[derive(Deserialize)]
struct ComponentObject {
    #[serde(default, rename = "@id")]
    id: Option<String>,
    #[serde(default)]
    identifiers: BTreeMap<String, String>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(default)]
    subcomponents: Bounded<Component>,
}

impl Component {
    /// Its names (`@id`, then `identifiers.purl`, then `hashes` as `sha256:<hex>`) and its
    /// subcomponents.
    fn into_names(self) -> (Vec<String>, Vec<Component>) {
        match self {
            Component::Bare(id) => (vec![id], Vec::new()),
            Component::Object(o) => {
                let purl = o.identifiers.get("purl").cloned();
                let hashes = o.hashes.iter().filter_map(|(alg, hex)| crate::binding::Digest::of(alg, hex)).map(|d| d.to_string());
                let mut names: Vec<String> = o.id.into_iter().chain(purl).chain(hashes).collect();
                names.dedup();
                (names, o.subcomponents.0)
            }
        }
    }
}

/// A statement's product, or the field that does not name one and what is accepted.
fn product(c: Component, path: &str) -> Result<Product, DocumentError> {
    let unnamed = || DocumentError::Invalid {
        format: Format::OpenVex.name(),
        path: path.to_owned(),
        message: "names no product; expected an @id, identifiers.purl or hashes".to_owned(),
    };
    let (names, subcomponents) = c.into_names();
    let mut names = names.into_iter();
    let id = names.next().ok_or_else(unnamed)?;
    let mut subs = Vec::new();
    for (j, sub) in subcomponents.into_iter().enumerate() {
        let (sub_names, _) = sub.into_names();
        if sub_names.is_empty() {
            return Err(DocumentError::Invalid {
                format: Format::OpenVex.name(),
                path: format!("{path}/subcomponents/{j}"),
                message: "names no subcomponent; expected an @id, identifiers.purl or hashes".to_owned(),
            });
        }
        subs.extend(sub_names);
    }
    Ok(Product { id, identifiers: names.collect(), subcomponents: subs })
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
            .enumerate()
            .map(|(j, p)| product(p, &format!("/statements/{i}/products/{j}")))
            .collect::<Result<_, _>>()?;
        out.vex.push(VexStatement {
            id: s.id,
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

#[cfg(test)]
mod product_tests {
    use super::*;

    fn products(products: serde_json::Value) -> Result<Vec<Product>, DocumentError> {
        let doc = serde_json::json!({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"@id": "https://example.com/vex/1#s1", "vulnerability": {"name": "CVE-1"}, "products": products, "status": "not_affected"}
        ]});
        read(doc.to_string().as_bytes()).map(|mut x| x.vex.remove(0).products)
    }

    #[test]
    fn a_product_is_named_by_its_id_purl_and_hashes_and_keeps_its_subcomponents() {
        let got = products(serde_json::json!([
            {"@id": "pkg:oci/shop@sha256%3A4d2a", "identifiers": {"purl": "pkg:oci/shop@sha256:4d2a", "cpe23": "cpe:2.3:a:x:shop"},
             "hashes": {"sha-256": "4D2A"}, "subcomponents": [{"@id": "pkg:npm/lodash@4.17.20"}, {"identifiers": {"purl": "pkg:npm/qs@6"}}]},
            {"hashes": {"sha-256": "77aa"}},
            "pkg:oci/cart@1"
        ]))
        .unwrap();
        assert_eq!(
            got,
            [
                Product {
                    id: "pkg:oci/shop@sha256%3A4d2a".into(),
                    identifiers: vec!["pkg:oci/shop@sha256:4d2a".into(), "sha256:4d2a".into()],
                    subcomponents: vec!["pkg:npm/lodash@4.17.20".into(), "pkg:npm/qs@6".into()],
                },
                Product::named("sha256:77aa"),
                Product::named("pkg:oci/cart@1"),
            ]
        );
        let doc = serde_json::json!({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"@id": "s1", "vulnerability": "CVE-1", "products": ["pkg:oci/cart@1"], "status": "fixed"}]});
        assert_eq!(read(doc.to_string().as_bytes()).unwrap().vex[0].id.as_deref(), Some("s1"));
    }

    #[test]
    fn a_product_or_subcomponent_without_a_name_is_refused_saying_what_names_one() {
        assert_eq!(
            products(serde_json::json!([{"identifiers": {"cpe23": "cpe:2.3:a:x"}}])).unwrap_err().to_string(),
            "openvex document: /statements/0/products/0: names no product; expected an @id, identifiers.purl or hashes"
        );
        assert_eq!(
            products(serde_json::json!([{"@id": "pkg:oci/a@1", "subcomponents": [{}]}])).unwrap_err().to_string(),
            "openvex document: /statements/0/products/0/subcomponents/0: names no subcomponent; expected an @id, identifiers.purl or hashes"
        );
    }

    /// Entries recorded before products kept subcomponents hold bare strings; they still read.
    #[test]
    fn a_product_is_written_as_a_string_when_it_is_only_a_name() {
        assert_eq!(serde_json::to_value(Product::named("pkg:oci/a@1")).unwrap(), serde_json::json!("pkg:oci/a@1"));
        let full = Product { id: "pkg:oci/a@1".into(), identifiers: Vec::new(), subcomponents: vec!["pkg:npm/b@2".into()] };
        let written = serde_json::to_value(&full).unwrap();
        assert_eq!(written, serde_json::json!({"id": "pkg:oci/a@1", "subcomponents": ["pkg:npm/b@2"]}));
        assert_eq!(serde_json::from_value::<Product>(written).unwrap(), full);
        assert_eq!(serde_json::from_value::<Product>(serde_json::json!("pkg:oci/a@1")).unwrap(), Product::named("pkg:oci/a@1"));
    }
}
