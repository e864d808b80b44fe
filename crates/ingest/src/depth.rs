//! Nesting depth of a JSON text, measured before parsing so that deep input is refused with
//! a clear message instead of exhausting the parser.

/// Returns the deepest nesting of arrays and objects, or stops early once it exceeds `max`.
pub fn max_depth(bytes: &[u8], max: usize) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > deepest {
                    deepest = depth;
                    if deepest > max {
                        return deepest;
                    }
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::max_depth;

    #[test]
    fn counts_nesting_outside_strings_only() {
        assert_eq!(max_depth(br#"{"a": [1, {"b": "[[[{{{"}]}"#, 100), 3);
        assert_eq!(max_depth(br#""\"[""#, 100), 0);
    }

    #[test]
    fn stops_as_soon_as_the_limit_is_passed() {
        assert_eq!(max_depth(&[b'['; 10_000], 64), 65);
    }
}
