//! Duplicate names in a JSON object, found before parsing. `serde_json` keeps the last of two
//! equal names, so `{"id": "innocent", "id": "evil"}` would be indexed and hashed as `evil`
//! while the raw bytes show both. RFC 8785's canonical form (what the log hashes) is defined over
//! I-JSON (RFC 7493), which forbids duplicate names: Dossier refuses them.
//!
//! One pass over the bytes, as the depth check does; names are compared after unescaping, so
//! `"id"` and `"\u0069d"` are the same name. Several top-level values (NDJSON) are numbered.

use std::collections::HashSet;

enum Frame {
    Object { names: HashSet<String>, expecting_name: bool, current: Option<String> },
    Array { index: usize },
}

/// A name repeated in one object: its JSON pointer (RFC 6901) and the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateName {
    pub pointer: String,
    pub name: String,
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn pointer(top: Option<usize>, stack: &[Frame], name: &str) -> String {
    let mut out = top.map(|n| format!("/{n}")).unwrap_or_default();
    for frame in stack {
        match frame {
            Frame::Object { current: Some(c), .. } => out.push_str(&format!("/{}", escape(c))),
            Frame::Array { index } => out.push_str(&format!("/{index}")),
            Frame::Object { current: None, .. } => {}
        }
    }
    out.push_str(&format!("/{}", escape(name)));
    out
}

/// The first name repeated within one object of `bytes` (one JSON text, or several separated
/// by whitespace as in NDJSON), if any. Bytes that are not JSON are left to the parser.
pub fn duplicate_name(bytes: &[u8]) -> Option<DuplicateName> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut values = 0usize;
    let mut many = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                // The string's end, skipping escaped characters.
                let start = i;
                let mut escaped = false;
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        _ if escaped => escaped = false,
                        b'\\' => escaped = true,
                        b'"' => break,
                        _ => {}
                    }
                    i += 1;
                }
                if i >= bytes.len() {
                    // An unterminated string: not JSON, which the parser reports.
                    return None;
                }
                let token = &bytes[start..=i];
                if let Some(Frame::Object { names, expecting_name, current }) = stack.last_mut() {
                    if *expecting_name {
                        let name = if token.contains(&b'\\') {
                            serde_json::from_slice::<String>(token).ok()?
                        } else {
                            String::from_utf8_lossy(&token[1..token.len().saturating_sub(1)]).into_owned()
                        };
                        if !names.insert(name.clone()) {
                            *current = None;
                            let top = many.then_some(values.saturating_sub(1));
                            return Some(DuplicateName { pointer: pointer(top, &stack, &name), name });
                        }
                        *current = Some(name);
                        *expecting_name = false;
                    }
                }
            }
            b'{' | b'[' => {
                if stack.is_empty() {
                    many |= values > 0;
                    values += 1;
                }
                stack.push(if b == b'{' {
                    Frame::Object { names: HashSet::new(), expecting_name: true, current: None }
                } else {
                    Frame::Array { index: 0 }
                });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { expecting_name, .. }) => *expecting_name = true,
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(text: &str) -> Option<(String, String)> {
        duplicate_name(text.as_bytes()).map(|d| (d.pointer, d.name))
    }

    #[test]
    fn a_repeated_name_is_found_with_its_pointer() {
        assert_eq!(dup(r#"{"subject": {"id": "innocent", "id": "evil"}}"#), Some(("/subject/id".into(), "id".into())));
        assert_eq!(dup(r#"[{"a": 1}, {"b": [{"c": 1, "c": 2}]}]"#), Some(("/1/b/0/c".into(), "c".into())));
        assert_eq!(dup(r#"{"a/b": {"x~": 1, "x~": 2}}"#), Some(("/a~1b/x~0".into(), "x~".into())));
    }

    #[test]
    fn names_are_compared_after_unescaping() {
        assert_eq!(dup(r#"{"id": 1, "\u0069d": 2}"#), Some(("/id".into(), "id".into())));
    }

    #[test]
    fn equal_names_in_different_objects_and_strings_that_look_like_names_are_fine() {
        assert_eq!(dup(r#"{"a": {"id": 1}, "b": {"id": 2}, "c": ["id", "id"], "d": "{\"id\": 1, \"id\": 2}"}"#), None);
        assert_eq!(dup(r#"{"a": "x\"", "b": 1}"#), None);
    }

    #[test]
    fn text_that_is_not_json_is_left_to_the_parser() {
        for broken in ["{\"", "{\"a", "{\"a\\", "[\"", "\"", "{\"a\": \"b", "}}]]{", "{\"\\u00"] {
            assert_eq!(dup(broken), None, "{broken:?}");
        }
    }

    proptest::proptest! {
        /// Bodies come from anyone: whatever the bytes, an answer, never a panic.
        #[test]
        fn any_bytes_are_answered(bytes in proptest::collection::vec(proptest::sample::select(b"{}[]\",:\\ab0u".to_vec()), 0..64)) {
            let _ = duplicate_name(&bytes);
        }
    }

    #[test]
    fn ndjson_values_are_numbered() {
        assert_eq!(dup("{\"a\": 1}\n{\"b\": 1, \"b\": 2}\n"), Some(("/1/b".into(), "b".into())));
    }
}
