//! Every function a module calls must exist when it loads, not when an evaluation reaches the
//! call: a policy calling a function the engine lacks would otherwise record an error at its
//! first evaluation and deny nothing (fail open). OPA refuses such a module at compile time;
//! Dossier does too, with the file, line and column of the call.
//!
//! A call resolves, as the interpreter resolves it, to: a builtin of the engine, one of
//! Dossier's own functions (`dossier.events`, the OPA builtins Dossier adds), `print`, or a
//! function (or default function) defined by one of the loaded modules — by its full `data.…`
//! path, through an import alias, or by its name in the calling module's package.

use std::collections::{BTreeMap, BTreeSet};

use regorus::unstable::{Expr, Literal, Module, Query, Ref, Rule, RuleHead, BUILTINS};
use regorus::utils::get_path_string;

/// A call to a function that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCall {
    /// The module's file.
    pub file: String,
    pub line: u32,
    pub col: u32,
    /// The function as called, e.g. `time.now_nanos` or `lib.helper`.
    pub function: String,
}

impl std::fmt::Display for UnknownCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: unknown function {}: ", self.file, self.line, self.col, self.function)?;
        match not_provided(&self.function) {
            Some(why) => f.write_str(why),
            None => f.write_str("it is neither a builtin of Dossier's Rego engine nor a function defined by a loaded module"),
        }
    }
}

/// OPA builtins Dossier's engine does not provide, and why: a module calling one is refused.
pub fn not_provided(function: &str) -> Option<&'static str> {
    let why = match function {
        "http.send" => "policies do not call the network while deciding; ask for a `webhook` or `run` action, or read Dossier's history with dossier.events",
        "net.lookup_ip_addr" => "policies do not call the network (DNS) while deciding",
        "strings.render_template" => "Go templates are not available; build the text with sprintf or concat",
        "rego.metadata.rule" | "rego.metadata.chain" => "rule annotations (METADATA comments) are not read by Dossier's engine",
        "rego.parse_module" => "parsing Rego from a policy is not supported",
        "crypto.x509.parse_certificates"
        | "crypto.x509.parse_and_verify_certificates"
        | "crypto.x509.parse_and_verify_certificates_with_options"
        | "crypto.x509.parse_certificate_request"
        | "crypto.x509.parse_keypair"
        | "crypto.x509.parse_rsa_private_key"
        | "crypto.parse_private_keys" => {
            "X.509 and key parsing are not available in policies; Dossier verifies signatures itself and gives policies the result"
        }
        f if f.starts_with("io.jwt.") => {
            "of the io.jwt functions only io.jwt.decode is available; Dossier verifies credentials itself (see the identity section of the README)"
        }
        f if f.starts_with("crypto.") => "of the crypto functions, crypto.md5, crypto.sha1, crypto.sha256 and crypto.hmac.* are available",
        _ => return None,
    };
    Some(why)
}

/// The calls of `modules` (paired with their files) that resolve to no function, in file order.
/// `extensions` are the functions registered beside the engine's builtins.
pub fn unknown_calls(modules: &[(String, Ref<Module>)], extensions: &BTreeSet<String>) -> Vec<UnknownCall> {
    let mut functions = BTreeSet::new();
    for (_, m) in modules {
        let Some(package) = package_path(m) else { continue };
        for rule in &m.policy {
            let refr = match rule.as_ref() {
                Rule::Spec { head: RuleHead::Func { refr, .. }, .. } => refr,
                Rule::Default { refr, args, .. } if !args.is_empty() => refr,
                _ => continue,
            };
            if let Ok(name) = get_path_string(refr, None) {
                functions.insert(format!("{package}.{name}"));
            }
        }
    }
    let mut unknown = Vec::new();
    for (file, m) in modules {
        let Some(package) = package_path(m) else { continue };
        let mut imports = BTreeMap::new();
        for import in &m.imports {
            let Ok(target) = get_path_string(&import.refr, None) else { continue };
            let alias = match &import.r#as {
                Some(span) => span.text().to_owned(),
                None => target.rsplit('.').next().unwrap_or_default().to_owned(),
            };
            imports.insert(alias, target);
        }
        let scope = Scope { package: &package, imports: &imports, functions: &functions, extensions };
        let mut calls = Vec::new();
        for rule in &m.policy {
            walk_rule(rule, &mut calls);
        }
        calls.sort_by_key(|(_, line, col)| (*line, *col));
        for (fcn, line, col) in calls {
            if !scope.resolves(&fcn) {
                unknown.push(UnknownCall { file: file.clone(), line, col, function: fcn });
            }
        }
    }
    unknown
}

/// `data.` and the module's package, e.g. `data.dossier.sbom_required`.
fn package_path(m: &Module) -> Option<String> {
    get_path_string(&m.package.refr, Some("data")).ok()
}

struct Scope<'a> {
    package: &'a str,
    imports: &'a BTreeMap<String, String>,
    functions: &'a BTreeSet<String>,
    extensions: &'a BTreeSet<String>,
}

impl Scope<'_> {
    fn resolves(&self, called: &str) -> bool {
        let (root, rest) = called.split_once('.').map_or((called, ""), |(r, s)| (r, s));
        // An import alias shadows a builtin namespace of the same name, as in OPA.
        let path = match self.imports.get(root) {
            Some(target) if rest.is_empty() => target.clone(),
            Some(target) => format!("{target}.{rest}"),
            None => called.to_owned(),
        };
        if path.starts_with("data.") {
            return self.functions.contains(&path);
        }
        path == "print"
            || BUILTINS.contains_key(path.as_str())
            || self.extensions.contains(&path)
            || self.functions.contains(&format!("{}.{path}", self.package))
    }
}

type Calls = Vec<(String, u32, u32)>;

fn walk_rule(rule: &Rule, calls: &mut Calls) {
    match rule {
        Rule::Spec { head, bodies, .. } => {
            match head {
                RuleHead::Compr { refr, assign, .. } => {
                    walk_expr(refr, calls);
                    if let Some(a) = assign {
                        walk_expr(&a.value, calls);
                    }
                }
                RuleHead::Set { refr, key, .. } => {
                    walk_expr(refr, calls);
                    if let Some(k) = key {
                        walk_expr(k, calls);
                    }
                }
                RuleHead::Func { args, assign, .. } => {
                    for a in args {
                        walk_expr(a, calls);
                    }
                    if let Some(a) = assign {
                        walk_expr(&a.value, calls);
                    }
                }
            }
            for body in bodies {
                if let Some(a) = &body.assign {
                    walk_expr(&a.value, calls);
                }
                walk_query(&body.query, calls);
            }
        }
        Rule::Default { args, value, .. } => {
            for a in args {
                walk_expr(a, calls);
            }
            walk_expr(value, calls);
        }
    }
}

fn walk_query(q: &Query, calls: &mut Calls) {
    for stmt in &q.stmts {
        match &stmt.literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn { key, value, collection, .. } => {
                if let Some(k) = key {
                    walk_expr(k, calls);
                }
                walk_expr(value, calls);
                walk_expr(collection, calls);
            }
            Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => walk_expr(expr, calls),
            Literal::Every { domain, query, .. } => {
                walk_expr(domain, calls);
                walk_query(query, calls);
            }
        }
        // `with f as g`: the replacement may be a function (by reference, not a call).
        for w in &stmt.with_mods {
            walk_expr(&w.r#as, calls);
        }
    }
}

fn walk_expr(e: &Ref<Expr>, calls: &mut Calls) {
    // Deep references are walked without recursion on their chain.
    let mut stack: Vec<&Expr> = vec![e.as_ref()];
    while let Some(e) = stack.pop() {
        match e {
            Expr::String { .. }
            | Expr::RawString { .. }
            | Expr::Number { .. }
            | Expr::Bool { .. }
            | Expr::Null { .. }
            | Expr::Var { .. } => {}
            Expr::Array { items, .. } | Expr::Set { items, .. } => stack.extend(items.iter().map(|i| i.as_ref())),
            Expr::Object { fields, .. } => {
                for (_, k, v) in fields {
                    stack.push(k.as_ref());
                    stack.push(v.as_ref());
                }
            }
            Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                stack.push(term.as_ref());
                walk_query(query, calls);
            }
            Expr::ObjectCompr { key, value, query, .. } => {
                stack.push(key.as_ref());
                stack.push(value.as_ref());
                walk_query(query, calls);
            }
            Expr::Call { fcn, params, .. } => {
                if let Ok(name) = get_path_string(fcn, None) {
                    let mut root = fcn.as_ref();
                    while let Expr::RefDot { refr, .. } | Expr::RefBrack { refr, .. } = root {
                        root = refr.as_ref();
                    }
                    calls.push((name, root.span().line, root.span().col));
                }
                stack.extend(params.iter().map(|p| p.as_ref()));
            }
            Expr::UnaryExpr { expr, .. } => stack.push(expr.as_ref()),
            Expr::RefDot { refr, .. } => stack.push(refr.as_ref()),
            Expr::RefBrack { refr, index, .. } => {
                stack.push(refr.as_ref());
                stack.push(index.as_ref());
            }
            Expr::BinExpr { lhs, rhs, .. }
            | Expr::BoolExpr { lhs, rhs, .. }
            | Expr::ArithExpr { lhs, rhs, .. }
            | Expr::AssignExpr { lhs, rhs, .. } => {
                stack.push(lhs.as_ref());
                stack.push(rhs.as_ref());
            }
            Expr::Membership { key, value, collection, .. } => {
                if let Some(k) = key {
                    stack.push(k.as_ref());
                }
                stack.push(value.as_ref());
                stack.push(collection.as_ref());
            }
        }
    }
}

/// A module's package (without `data.`) and the names of the rules it defines, with the line
/// of each definition (`deny`, `test_x`; a ref head `a.b.c` is named by `a`).
pub struct Rules {
    pub package: String,
    pub names: Vec<(String, u32)>,
}

pub fn rules_of(m: &Module) -> Rules {
    let package = package_path(m).map(|p| p.strip_prefix("data.").unwrap_or(&p).to_owned()).unwrap_or_default();
    let mut names = Vec::new();
    for rule in &m.policy {
        let refr = match rule.as_ref() {
            Rule::Spec { head: RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. } | RuleHead::Func { refr, .. }, .. } => refr,
            Rule::Default { refr, .. } => refr,
        };
        if let Ok(path) = get_path_string(refr, None) {
            let first = path.split('.').next().unwrap_or_default().to_owned();
            names.push((first, rule.span().line));
        }
    }
    Rules { package, names }
}
