//! JSON read from outside (JWT headers and claims, JWK Sets), bounded: at most [`MAX_DEPTH`]
//! levels of nesting, checked before parsing, and a top-level object whose members are unique
//! (a JWT claiming `iss` twice is refused rather than read one way here and another elsewhere).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// The deepest nesting of arrays and objects read.
pub const MAX_DEPTH: usize = 16;

/// What a JSON value is, for messages: "a string", "an array"…
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// How deeply `bytes` nest, stopping early past `limit`.
fn too_deep(bytes: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

struct Object(Map<String, Value>);

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Object, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Object;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
                let mut out = Map::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format_args!("the member {k:?} appears twice")));
                    }
                    out.insert(k, v);
                }
                Ok(Object(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads `bytes` as one JSON object.
pub(crate) fn object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if too_deep(bytes, MAX_DEPTH) {
        return Err(format!("it nests arrays and objects deeper than {MAX_DEPTH} levels"));
    }
    serde_json::from_slice::<Object>(bytes).map(|o| o.0).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_duplicates_and_shape_are_checked() {
        assert!(object(br#"{"a":[{"b":1}],"s":"[[[[[[[[[[[[[[[[[[[[[["}"#).is_ok());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(16), "]".repeat(16));
        assert_eq!(object(deep.as_bytes()).unwrap_err(), "it nests arrays and objects deeper than 16 levels");
        assert_eq!(object(br#"{"iss":"a","iss":"b"}"#).unwrap_err(), "the member \"iss\" appears twice at line 1 column 21");
        assert_eq!(object(b"[1]").unwrap_err(), "invalid type: sequence, expected a JSON object at line 1 column 0");
        assert!(object(br#"{"a":1} x"#).is_err());
    }
}
