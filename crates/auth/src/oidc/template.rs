//! Templates such as `github:{repository}` or `https://github.com/{repository}/**`: text with
//! `{claim}` placeholders filled from a JWT's claims. A placeholder names a top-level claim
//! (`{repository}`) or, starting with `/`, a JSON pointer into the claims
//! (`{/kubernetes.io/namespace}`); `{{` and `}}` are a literal `{` and `}` (a glob alternation).

use serde_json::Value;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Claim(String),
}

/// Whether `name` can name a claim: a top-level name, or a JSON pointer (RFC 6901) from `/`.
pub(crate) fn check_claim_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("names no claim".into());
    }
    if name.len() > 128 {
        return Err(format!("claim name {name:?} is longer than 128 characters"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.:".contains(c) || (name.starts_with('/') && "/~".contains(c));
    if !name.chars().all(allowed) {
        return Err(format!(
            "{name:?} is not a claim name: letters, digits and _ - . : only, or a JSON pointer such as /kubernetes.io/namespace"
        ));
    }
    if name.starts_with('/') && name.split('/').skip(1).any(str::is_empty) {
        return Err(format!("{name:?} is not a JSON pointer to a claim: it has an empty step"));
    }
    Ok(())
}

/// The claim `name` (a top-level name, or a pointer from `/`) in `claims`.
pub(crate) fn lookup<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') {
        claims.pointer(name)
    } else {
        claims.get(name)
    }
}

impl Template {
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(format!("the }} at byte {at} closes no {{; write }}}} for a literal }}")),
                '{' => {
                    let rest = &text[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!("the {{ at byte {at} is not closed; write {{{{ for a literal {{"));
                    };
                    let name = &rest[..end];
                    check_claim_name(name).map_err(|reason| format!("{{{name}}} at byte {at}: {reason}"))?;
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Claim(name.to_owned()));
                    while chars.peek().is_some_and(|&(i, _)| i <= at + 1 + end) {
                        chars.next();
                    }
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// The claims it names, in order.
    pub(crate) fn claims(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Claim(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    pub(crate) fn has_claims(&self) -> bool {
        self.claims().next().is_some()
    }

    /// The text with each claim replaced by what `value` makes of it.
    pub(crate) fn render<E>(&self, mut value: impl FnMut(&str) -> Result<String, E>) -> Result<String, E> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Claim(name) => out.push_str(&value(name)?),
            }
        }
        Ok(out)
    }
}

/// `value` as a literal inside a glob of [`crate::Pattern`] (which reads `\` as an escape):
/// every character that could widen the match is escaped.
pub(crate) fn glob_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\*?[]{},".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Why a claim's string value may not be put into a principal's name or pattern, if it may not.
pub(crate) fn unsafe_value(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("it is empty")
    } else if value.len() > 512 {
        Some("it is longer than 512 bytes")
    } else if value.chars().any(char::is_control) {
        Some("it has a control character")
    } else if value.contains("/..") || value.split('/').any(|segment| segment == "..") {
        Some("it has a /.. (a step up a path)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pattern;

    fn fill(t: &str, with: &str) -> String {
        Template::parse(t).unwrap().render::<()>(|_| Ok(with.to_owned())).unwrap()
    }

    #[test]
    fn placeholders_literals_and_doubled_braces() {
        assert_eq!(fill("github:{repository}", "acme/api"), "github:acme/api");
        assert_eq!(fill("/k8s/{/kubernetes.io/namespace}/**", "ci"), "/k8s/ci/**");
        assert_eq!(fill("https://x/{{a,b}}/{repo}", "r"), "https://x/{a,b}/r");
        let t = Template::parse("{a}-{b}").unwrap();
        assert_eq!(t.claims().collect::<Vec<_>>(), ["a", "b"]);
        assert!(!Template::parse("fixed").unwrap().has_claims());
    }

    #[test]
    fn bad_templates_say_where() {
        assert_eq!(Template::parse("github:{repository").unwrap_err(), "the { at byte 7 is not closed; write {{ for a literal {");
        assert_eq!(Template::parse("a}b").unwrap_err(), "the } at byte 1 closes no {; write }} for a literal }");
        assert_eq!(Template::parse("a{}").unwrap_err(), "{} at byte 1: names no claim");
        assert_eq!(
            Template::parse("{a b}").unwrap_err(),
            "{a b} at byte 0: \"a b\" is not a claim name: letters, digits and _ - . : only, or a JSON pointer such as /kubernetes.io/namespace"
        );
        assert_eq!(
            Template::parse("{/a//b}").unwrap_err(),
            "{/a//b} at byte 0: \"/a//b\" is not a JSON pointer to a claim: it has an empty step"
        );
    }

    #[test]
    fn an_escaped_value_matches_only_itself() {
        for value in ["a*", "a?", "[ab]", "{a,b}", "a\\", "**", "x,y"] {
            let p = Pattern::new(&format!("https://github.com/{}/**", glob_escape(value))).unwrap();
            assert!(p.matches(&format!("https://github.com/{value}/x")), "{value}");
            assert!(!p.matches("https://github.com/abc/x"), "{value}");
            assert!(!p.matches("https://github.com/a/x"), "{value}");
        }
    }

    #[test]
    fn unsafe_values_are_named() {
        assert_eq!(unsafe_value("acme/api"), None);
        assert_eq!(unsafe_value("acme/.github"), None);
        assert_eq!(unsafe_value("acme/../evil"), Some("it has a /.. (a step up a path)"));
        assert_eq!(unsafe_value(".."), Some("it has a /.. (a step up a path)"));
        assert_eq!(unsafe_value(""), Some("it is empty"));
        assert_eq!(unsafe_value("a\nb"), Some("it has a control character"));
    }
}
