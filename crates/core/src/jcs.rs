//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! The evidence log hashes the canonical form of an event rather than its raw bytes so that
//! two encodings of the same event (whitespace, key order, escapes) get the same leaf hash,
//! as the CDEvents proposal for event provenance suggests.

use serde_json::Value;

/// Returns the canonical JSON text of `value`.
pub fn canonicalize(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // JCS orders members by the UTF-16 code units of their names.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

fn write_number(n: &serde_json::Number, out: &mut String) {
    if let Some(i) = n.as_i64() {
        // Integers beyond 2^53 are not exactly representable as IEEE 754 doubles; JCS
        // serializes the double, like ECMAScript does.
        if i.unsigned_abs() <= (1u64 << 53) {
            out.push_str(&i.to_string());
            return;
        }
    } else if let Some(u) = n.as_u64() {
        if u <= (1u64 << 53) {
            out.push_str(&u.to_string());
            return;
        }
    }
    let f = n.as_f64().unwrap_or(0.0);
    let mut buf = ryu_js::Buffer::new();
    out.push_str(buf.format(f));
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::canonicalize;
    use serde_json::json;

    #[test]
    fn sorts_members_by_utf16_code_units_and_drops_whitespace() {
        // The RFC 8785 section 3.2.3 example: U+20AC sorts before U+1F600 in UTF-16.
        let v: serde_json::Value =
            serde_json::from_str(r#"{ "\u20ac": "Euro", "\ud83d\ude00": "Smiley", "\r": "CR", "1": "One", "\u0080": "Ctl" }"#).unwrap();
        assert_eq!(canonicalize(&v), "{\"\\r\":\"CR\",\"1\":\"One\",\"\u{80}\":\"Ctl\",\"\u{20ac}\":\"Euro\",\"\u{1f600}\":\"Smiley\"}");
    }

    #[test]
    fn formats_numbers_as_ecmascript_does() {
        let v: serde_json::Value =
            serde_json::from_str("[333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001, -0, 100]").unwrap();
        assert_eq!(canonicalize(&v), "[333333333.3333333,1e+30,4.5,0.002,1e-27,0,100]");
    }

    #[test]
    fn escapes_only_what_json_requires() {
        let v = json!({"s": "a\u{1}b\"c\\d/é\n"});
        assert_eq!(canonicalize(&v), "{\"s\":\"a\\u0001b\\\"c\\\\d/é\\n\"}");
    }
}
