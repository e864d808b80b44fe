//! A JSON-schema engine for the subset of draft 2020-12 the CDEvents schemas use:
//! `type`, `properties`, `required`, `additionalProperties`, `enum`, `minLength`, `format`,
//! `pattern`, `items`, `oneOf`, `anyOf` and `$ref` into the links definitions.
//!
//! It reports every violation, each with the JSON pointer of the offending value and the
//! rule it broke, rather than a bare yes or no.

use regex_lite::Regex;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::format::Format;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer (RFC 6901) of the value that broke the rule; empty for the document.
    pub pointer: String,
    /// The JSON-schema keyword: `required`, `type`, `additionalProperties`, `enum`, ...
    pub rule: &'static str,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl Violation {
    pub fn new(pointer: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Violation {
        Violation { pointer: pointer.into(), rule, message: message.into() }
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({"pointer": self.pointer, "rule": self.rule, "message": self.message})
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() { "(document)" } else { &self.pointer };
        write!(f, "{at}: {} [{}]", self.message, self.rule)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Object,
    Array,
    String,
    Number,
    Integer,
    Boolean,
    Null,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "object" => Type::Object,
            "array" => Type::Array,
            "string" => Type::String,
            "number" => Type::Number,
            "integer" => Type::Integer,
            "boolean" => Type::Boolean,
            "null" => Type::Null,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Type::Object => "an object",
            Type::Array => "an array",
            Type::String => "a string",
            Type::Number => "a number",
            Type::Integer => "an integer",
            Type::Boolean => "a boolean",
            Type::Null => "null",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match self {
            Type::Object => v.is_object(),
            Type::Array => v.is_array(),
            Type::String => v.is_string(),
            Type::Number => v.is_number(),
            Type::Integer => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
            Type::Boolean => v.is_boolean(),
            Type::Null => v.is_null(),
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[derive(Debug)]
enum Additional {
    Allowed,
    Denied,
    Schema(Arc<Schema>),
}

/// A compiled schema.
#[derive(Debug)]
pub struct Schema {
    types: Vec<Type>,
    properties: BTreeMap<String, Arc<Schema>>,
    required: Vec<String>,
    additional: Additional,
    enumeration: Option<Vec<Value>>,
    min_length: Option<usize>,
    format: Option<Format>,
    pattern: Option<(String, Regex)>,
    items: Option<Arc<Schema>>,
    one_of: Vec<Arc<Schema>>,
    any_of: Vec<Arc<Schema>>,
    all_of: Vec<Arc<Schema>>,
}

/// A schema the rules file does not express in the supported subset.
#[derive(Debug, thiserror::Error)]
#[error("rules {at}: {reason}")]
pub struct CompileError {
    at: String,
    reason: String,
}

impl Schema {
    /// The schema that accepts everything.
    pub fn any() -> Schema {
        Schema {
            types: Vec::new(),
            properties: BTreeMap::new(),
            required: Vec::new(),
            additional: Additional::Allowed,
            enumeration: None,
            min_length: None,
            format: None,
            pattern: None,
            items: None,
            one_of: Vec::new(),
            any_of: Vec::new(),
            all_of: Vec::new(),
        }
    }

    /// Compiles `node`; `$ref`s are looked up by their last path segment in `defs`.
    pub fn compile(node: &Value, defs: &Map<String, Value>) -> Result<Schema, CompileError> {
        compile(node, defs, "#", 0)
    }

    /// Returns every violation of this schema by `value`, which sits at `pointer`.
    pub fn validate(&self, value: &Value, pointer: &mut String, out: &mut Vec<Violation>) {
        if !self.types.is_empty() && !self.types.iter().any(|t| t.matches(value)) {
            let want: Vec<&str> = self.types.iter().map(|t| t.name()).collect();
            out.push(Violation::new(pointer.clone(), "type", format!("must be {}, not {}", want.join(" or "), kind_of(value))));
            return;
        }
        if let Some(allowed) = &self.enumeration {
            if !allowed.contains(value) {
                let list: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
                out.push(Violation::new(pointer.clone(), "enum", format!("{value} is not one of {}", list.join(", "))));
            }
        }
        if let Value::String(s) = value {
            if let Some(min) = self.min_length {
                if s.chars().count() < min {
                    let msg = if min == 1 { "must not be empty".to_string() } else { format!("must have at least {min} characters") };
                    out.push(Violation::new(pointer.clone(), "minLength", msg));
                }
            }
            if let Some(f) = self.format {
                if !f.check(s) {
                    out.push(Violation::new(pointer.clone(), "format", format!("{s:?} is not {}", f.describe())));
                }
            }
            if let Some((source, re)) = &self.pattern {
                if !re.is_match(s) {
                    out.push(Violation::new(pointer.clone(), "pattern", format!("{s:?} does not match {source}")));
                }
            }
        }
        if let Value::Object(map) = value {
            self.validate_object(map, pointer, out);
        }
        if let (Value::Array(items), Some(schema)) = (value, &self.items) {
            for (i, item) in items.iter().enumerate() {
                with_segment(pointer, &i.to_string(), |p| schema.validate(item, p, out));
            }
        }
        for s in &self.all_of {
            s.validate(value, pointer, out);
        }
        if !self.one_of.is_empty() {
            let results: Vec<Vec<Violation>> = self.one_of.iter().map(|s| violations(s, value, pointer)).collect();
            let passing = results.iter().filter(|r| r.is_empty()).count();
            if passing != 1 {
                out.push(Violation::new(
                    pointer.clone(),
                    "oneOf",
                    format!("must match exactly one of {} alternatives, matches {passing}{}", results.len(), closest(&results)),
                ));
            }
        }
        if !self.any_of.is_empty() {
            let results: Vec<Vec<Violation>> = self.any_of.iter().map(|s| violations(s, value, pointer)).collect();
            if results.iter().all(|r| !r.is_empty()) {
                out.push(Violation::new(
                    pointer.clone(),
                    "anyOf",
                    format!("matches none of {} alternatives{}", results.len(), closest(&results)),
                ));
            }
        }
    }

    fn validate_object(&self, map: &Map<String, Value>, pointer: &mut String, out: &mut Vec<Violation>) {
        for name in &self.required {
            if !map.contains_key(name) {
                out.push(Violation::new(pointer.clone(), "required", format!("required field {name:?} is missing")));
            }
        }
        for (name, item) in map {
            let escaped = name.replace('~', "~0").replace('/', "~1");
            match (self.properties.get(name), &self.additional) {
                (Some(schema), _) | (None, Additional::Schema(schema)) => {
                    with_segment(pointer, &escaped, |p| schema.validate(item, p, out))
                }
                (None, Additional::Allowed) => {}
                (None, Additional::Denied) => with_segment(pointer, &escaped, |p| {
                    let known: Vec<&str> = self.properties.keys().map(String::as_str).collect();
                    out.push(Violation::new(
                        p.clone(),
                        "additionalProperties",
                        format!("field {name:?} is not allowed here; allowed fields: {}", known.join(", ")),
                    ))
                }),
            }
        }
    }
}

fn violations(s: &Schema, value: &Value, pointer: &mut String) -> Vec<Violation> {
    let mut v = Vec::new();
    s.validate(value, pointer, &mut v);
    v
}

/// For an error message: the first violation of the alternative that came closest.
fn closest(results: &[Vec<Violation>]) -> String {
    results
        .iter()
        .filter(|r| !r.is_empty())
        .min_by_key(|r| r.len())
        .and_then(|r| r.first())
        .map(|v| format!(" (closest: {v})"))
        .unwrap_or_default()
}

fn with_segment(pointer: &mut String, segment: &str, f: impl FnOnce(&mut String)) {
    let len = pointer.len();
    pointer.push('/');
    pointer.push_str(segment);
    f(pointer);
    pointer.truncate(len);
}

fn compile(node: &Value, defs: &Map<String, Value>, at: &str, depth: usize) -> Result<Schema, CompileError> {
    let err = |reason: String| CompileError { at: at.to_owned(), reason };
    if depth > 32 {
        return Err(err("schemas nest deeper than 32 levels (a $ref cycle?)".into()));
    }
    let obj = match node {
        Value::Object(o) => o,
        Value::Bool(true) => return Ok(Schema::any()),
        _ => return Err(err("a schema must be an object".into())),
    };
    let sub = |v: &Value, key: &str| compile(v, defs, &format!("{at}/{key}"), depth + 1).map(Arc::new);
    let list = |key: &str| -> Result<Vec<Arc<Schema>>, CompileError> {
        match obj.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| sub(v, &format!("{key}/{i}"))).collect(),
            Some(_) => Err(err(format!("{key} must be an array"))),
        }
    };
    let mut s = Schema::any();
    for (key, value) in obj {
        match key.as_str() {
            "type" => {
                let names: Vec<&Value> = match value {
                    Value::Array(a) => a.iter().collect(),
                    v => vec![v],
                };
                for n in names {
                    let t = n.as_str().and_then(Type::parse).ok_or_else(|| err(format!("unknown type {n}")))?;
                    s.types.push(t);
                }
            }
            "properties" => {
                let props = value.as_object().ok_or_else(|| err("properties must be an object".into()))?;
                for (name, p) in props {
                    s.properties.insert(name.clone(), sub(p, &format!("properties/{name}"))?);
                }
            }
            "required" => {
                let names = value.as_array().ok_or_else(|| err("required must be an array".into()))?;
                s.required = names.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect();
            }
            "additionalProperties" => {
                s.additional = match value {
                    Value::Bool(true) => Additional::Allowed,
                    Value::Bool(false) => Additional::Denied,
                    v => Additional::Schema(sub(v, "additionalProperties")?),
                }
            }
            "enum" => s.enumeration = Some(value.as_array().ok_or_else(|| err("enum must be an array".into()))?.clone()),
            "minLength" => s.min_length = value.as_u64().map(|n| n as usize),
            "format" => s.format = Some(value.as_str().and_then(Format::parse).ok_or_else(|| err(format!("unsupported format {value}")))?),
            "pattern" => {
                let p = value.as_str().ok_or_else(|| err("pattern must be a string".into()))?;
                s.pattern = Some((p.to_owned(), Regex::new(p).map_err(|e| err(format!("bad pattern: {e}")))?));
            }
            "items" => s.items = Some(sub(value, "items")?),
            "oneOf" | "anyOf" => {}
            "$ref" => {
                let name = value.as_str().and_then(|r| r.rsplit('/').next()).unwrap_or_default();
                let target = defs.get(name).ok_or_else(|| err(format!("$ref {value} names no definition")))?;
                s.all_of.push(sub(target, "$ref")?);
            }
            other => return Err(err(format!("keyword {other:?} is not supported"))),
        }
    }
    s.one_of = list("oneOf")?;
    s.any_of = list("anyOf")?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, value: Value) -> Vec<String> {
        let s = Schema::compile(&schema, &Map::new()).unwrap();
        let mut out = Vec::new();
        s.validate(&value, &mut String::new(), &mut out);
        out.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn reports_each_violation_with_pointer_and_rule() {
        let schema = json!({"type": "object", "additionalProperties": false, "required": ["id", "content"],
            "properties": {"id": {"type": "string", "minLength": 1}, "content": {"type": "object",
              "properties": {"outcome": {"type": "string", "enum": ["success", "failure"]}}}}});
        assert_eq!(
            check(schema, json!({"id": "", "content": {"outcome": "meh"}, "extra/x": 1})),
            vec![
                "/content/outcome: \"meh\" is not one of \"success\", \"failure\" [enum]",
                "/extra~1x: field \"extra/x\" is not allowed here; allowed fields: content, id [additionalProperties]",
                "/id: must not be empty [minLength]",
            ]
        );
    }

    #[test]
    fn a_missing_field_is_reported_at_its_parent() {
        let schema = json!({"type": "object", "required": ["id"]});
        assert_eq!(check(schema, json!({})), vec!["(document): required field \"id\" is missing [required]"]);
    }

    #[test]
    fn one_of_requires_exactly_one_match() {
        let schema = json!({"oneOf": [{"type": "object"}, {"type": "string"}]});
        assert!(check(schema.clone(), json!("x")).is_empty());
        assert_eq!(
            check(schema, json!(3)),
            vec!["(document): must match exactly one of 2 alternatives, matches 0 (closest: (document): must be an object, not a number [type]) [oneOf]"]
        );
    }
}
