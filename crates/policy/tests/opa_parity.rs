//! Dossier's Rego against OPA's.
//!
//! Every case of `tests/opa/cases.json` (a module, an optional input and data document, a query)
//! is loaded the way Dossier loads a policy directory and queried; its answer is compared with
//! OPA's answer in `tests/opa/opa_answers.json`, made once by running OPA's own engine
//! (`tests/opa/make_answers.py`). A case either answers as OPA does or is listed in
//! `tests/opa/differences.json` with Dossier's answer and why it differs; a listed difference
//! that no longer holds fails as well, so the list stays true. `docs/opa-compatibility.md` is
//! generated from the same files and must be current.
//!
//! Answers are compared normalised: numbers as numbers (exactly as integers when both are
//! integers, else as f64, so 1 and 1.0 are equal), a refused module by the line it is refused on,
//! an evaluation error by the fact of it.
//!
//! `DOSSIER_BLESS_PARITY=1 cargo test -p dossier-policy --test opa_parity` rewrites
//! differences.json from Dossier's current answers (a difference whose answer is unchanged keeps
//! its reason; a new one gets "TODO", to be replaced by a real reason) and the document.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use dossier_policy::PolicySet;
use serde::Deserialize;
use serde_json::{json, Value};

const FILE: &str = "parity.rego";
const DEFAULT_QUERY: &str = "data.parity.result";
const TODO: &str = "TODO";
const DOC: &str = "docs/opa-compatibility.md";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    category: String,
    module: String,
    input: Option<Value>,
    data: Option<Value>,
    query: Option<String>,
}

/// What a query came to: the shapes of `opa_answers.json`.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Value(Value),
    Undefined,
    /// The module was refused before evaluation (parse, type or compile error).
    CompileError {
        line: Option<u64>,
        message: String,
    },
    EvalError(String),
    /// Dossier panicked: never equal to anything OPA answers.
    Panic(String),
}

impl Answer {
    fn from_json(v: &Value) -> Result<Answer, String> {
        let fields = v.as_object().filter(|o| o.len() == 1).ok_or_else(|| format!("an answer has exactly one field: {v}"))?;
        let (kind, body) = fields.iter().next().expect("one field");
        match (kind.as_str(), body) {
            ("value", body) => Ok(Answer::Value(body.clone())),
            ("undefined", Value::Bool(true)) => Ok(Answer::Undefined),
            ("compile_error", Value::Object(e)) => Ok(Answer::CompileError {
                line: e.get("line").and_then(Value::as_u64),
                message: e.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
            }),
            ("eval_error", Value::String(m)) => Ok(Answer::EvalError(m.clone())),
            ("panic", Value::String(m)) => Ok(Answer::Panic(m.clone())),
            _ => Err(format!("not an answer: {v}")),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Answer::Value(v) => json!({ "value": v }),
            Answer::Undefined => json!({ "undefined": true }),
            Answer::CompileError { line, message } => json!({ "compile_error": { "line": line, "message": message } }),
            Answer::EvalError(m) => json!({ "eval_error": m }),
            Answer::Panic(m) => json!({ "panic": m }),
        }
    }

    /// Equal once normalised: values as numbers compare, refusals by line, errors by fact.
    fn same_as(&self, other: &Answer) -> bool {
        match (self, other) {
            (Answer::Value(a), Answer::Value(b)) => same_value(a, b),
            (Answer::Undefined, Answer::Undefined) => true,
            (Answer::CompileError { line: a, .. }, Answer::CompileError { line: b, .. }) => a == b,
            (Answer::EvalError(_), Answer::EvalError(_)) => true,
            _ => false,
        }
    }

    /// One line for a table: the value as JSON, or what went wrong and where.
    fn describe(&self) -> String {
        let shorten = |s: &str, n: usize| match s.char_indices().nth(n) {
            Some((at, _)) => format!("{}…", &s[..at]),
            None => s.to_owned(),
        };
        let first_line = |s: &str| s.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_owned();
        match self {
            Answer::Value(v) => shorten(&v.to_string(), 90),
            Answer::Undefined => "undefined".into(),
            Answer::CompileError { line: Some(l), message } => format!("refused at line {l}: {}", shorten(&first_line(message), 70)),
            Answer::CompileError { line: None, message } => format!("refused: {}", shorten(&first_line(message), 70)),
            Answer::EvalError(m) => format!("error: {}", shorten(&first_line(m), 70)),
            Answer::Panic(m) => format!("panic: {}", shorten(&first_line(m), 70)),
        }
    }
}

fn is_integer(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64()
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if is_integer(x) && is_integer(y) => x == y,
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w))),
        _ => a == b,
    }
}

/// The line of the first `parity.rego:LINE` in an error message.
fn line_of(message: &str) -> Option<u64> {
    let at = message.find(&format!("{FILE}:"))? + FILE.len() + 1;
    let digits: String = message[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// An error message on one line: what precedes the first mention of the file, the location,
/// and the first line after it that is not part of the source snippet regorus draws below it
/// (`--> parity.rego:4:7`, `  |`, `4 |     x :=`, `  |     ^`, `error: …`).
fn headline(message: &str) -> String {
    let Some(at) = message.find(FILE) else {
        return message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default().to_owned();
    };
    let before = message[..at].trim().trim_end_matches("-->").trim();
    let mut lines = message[at..].lines();
    let location = lines.next().unwrap_or_default().trim();
    let detail = lines.map(str::trim).find(|l| !l.is_empty() && !l.contains('|')).unwrap_or_default();
    [before, location, detail].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(": ")
}

/// A message without the `parity.rego:LINE:COL: ` it starts with (a refusal's line is kept
/// apart, as OPA's answers keep it).
fn without_location(message: &str) -> &str {
    let Some(rest) = message.strip_prefix(FILE).and_then(|r| r.strip_prefix(':')) else {
        return message;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':');
    rest.strip_prefix(' ').unwrap_or(rest)
}

/// Dossier's answer: the module (with the `triggers` a policy needs, appended so that line
/// numbers stay those of the case) and its data written as a policy directory, loaded with
/// `PolicySet::load_dir` and queried.
fn dossier(case: &Case) -> Answer {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let module = format!("{}\ntriggers := [\"*\"]\n", case.module);
    std::fs::write(dir.path().join(FILE), module).expect("the module is written");
    if let Some(data) = &case.data {
        std::fs::write(dir.path().join("data.json"), data.to_string()).expect("the data is written");
    }
    let query = case.query.as_deref().unwrap_or(DEFAULT_QUERY);
    let run = catch_unwind(AssertUnwindSafe(|| {
        let (mut set, errors) = PolicySet::load_dir(dir.path()).expect("the directory is readable");
        if let Some(e) = errors.first() {
            let message = headline(&e.message);
            return Answer::CompileError { line: line_of(&e.message), message: without_location(&message).to_owned() };
        }
        match set.query(query, case.input.as_ref()) {
            Ok(Some(v)) => Answer::Value(v),
            Ok(None) => Answer::Undefined,
            Err(e) => Answer::EvalError(headline(&e.to_string())),
        }
    }));
    run.unwrap_or_else(|p| {
        let message = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        Answer::Panic(message.unwrap_or_else(|| "(no message)".into()))
    })
}

/// Something the test found wrong, as a row of the table it fails with.
struct Problem {
    case: String,
    opa: String,
    dossier: String,
    what: String,
}

impl Problem {
    fn about(case: &str, what: &str) -> Problem {
        Problem { case: case.to_owned(), opa: String::new(), dossier: String::new(), what: what.to_owned() }
    }
}

/// One entry of differences.json.
#[derive(Debug)]
struct Difference {
    name: String,
    dossier: Answer,
    why: String,
}

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/opa")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_differences(path: &Path) -> Vec<Difference> {
    if !path.exists() {
        return Vec::new();
    }
    let entries = read_json(path);
    let entries = entries.as_array().unwrap_or_else(|| panic!("{}: a list of differences", path.display()));
    entries
        .iter()
        .map(|e| Difference {
            name: e["name"].as_str().unwrap_or_else(|| panic!("a difference without a name: {e}")).to_owned(),
            dossier: Answer::from_json(&e["dossier"]).unwrap_or_else(|m| panic!("difference {}: {m}", e["name"])),
            why: e["why"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// differences.json: one entry a few lines long, answers on one line each.
fn write_differences(path: &Path, differences: &[Difference]) {
    let entries: Vec<String> = differences
        .iter()
        .map(|d| {
            format!(
                "  {{\n    \"name\": {},\n    \"dossier\": {},\n    \"why\": {}\n  }}",
                json!(d.name),
                d.dossier.to_json(),
                json!(d.why)
            )
        })
        .collect();
    let text = if entries.is_empty() { "[]\n".to_owned() } else { format!("[\n{}\n]\n", entries.join(",\n")) };
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A Markdown code span around `text`, however many backticks it holds.
fn code(text: &str) -> String {
    let fence = "`".repeat(text.split(|c| c != '`').map(str::len).max().unwrap_or(0) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", cell(text))
}

/// Plain text with the characters Markdown would read as markup escaped.
fn plain(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\`*_|<>[]".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

fn document(cases: &[Case], opa: &BTreeMap<String, Answer>, version: &str, differences: &[Difference]) -> String {
    let differs = |case: &Case| differences.iter().any(|d| d.name == case.name);
    let mut categories: Vec<&str> = Vec::new();
    for case in cases {
        if !categories.contains(&case.category.as_str()) {
            categories.push(&case.category);
        }
    }
    let mut out = String::new();
    out.push_str("# Dossier's Rego and OPA's\n\n");
    out.push_str(
        "<!-- Generated from crates/policy/tests/opa/ (cases.json, opa_answers.json, differences.json) by \
         crates/policy/tests/opa_parity.rs: regenerate with\n     \
         DOSSIER_BLESS_PARITY=1 cargo test -p dossier-policy --test opa_parity -->\n\n",
    );
    let _ = writeln!(
        out,
        "Dossier runs Rego with [regorus](https://github.com/microsoft/regorus), a Rust interpreter of OPA's \
         language, not with OPA itself. The test `crates/policy/tests/opa_parity.rs` runs {} cases (builtins and \
         language features where the two could part) through Dossier's policy loader and compares each answer with \
         the answer of OPA {version}'s own engine, recorded in `crates/policy/tests/opa/opa_answers.json` (see the \
         README beside it for how). Numbers compare as numbers (1 and 1.0 are equal), a refused module by the line \
         it is refused on, an evaluation error by the fact of it.\n",
        cases.len()
    );
    let _ = writeln!(
        out,
        "OPA's answers were made with strict built-in errors on (the setting of the bindings that run it, as with \
         `opa eval --strict-builtin-errors`): a built-in call that fails is an error. Without that setting OPA, \
         like Dossier, takes a failing built-in call as undefined.\n"
    );
    let _ = writeln!(out, "**{} of {} cases answer as OPA does.**\n", cases.len() - differences.len(), cases.len());
    out.push_str("## What answers as OPA does\n\n");
    for category in categories {
        let of: Vec<&Case> = cases.iter().filter(|c| c.category == category).collect();
        let equal: Vec<String> = of.iter().filter(|c| !differs(c)).map(|c| plain(&c.name)).collect();
        let listed = if equal.is_empty() { "none".to_owned() } else { equal.join("; ") };
        let _ = writeln!(out, "- **{category}** ({} of {}): {listed}", equal.len(), of.len());
    }
    out.push_str("\n## Differences\n\n");
    if differences.is_empty() {
        out.push_str("None.\n");
        return out;
    }
    out.push_str("| Case | OPA answers | Dossier answers | Why |\n|---|---|---|---|\n");
    for d in differences {
        let theirs = opa.get(&d.name).map(Answer::describe).unwrap_or_default();
        let _ = writeln!(out, "| {} | {} | {} | {} |", plain(&d.name), code(&theirs), code(&d.dossier.describe()), plain(&d.why));
    }
    out
}

#[test]
fn dossier_answers_every_case_as_opa_does_or_as_differences_json_says() {
    let dir = here();
    let cases: Vec<Case> = serde_json::from_value(read_json(&dir.join("cases.json"))).expect("cases.json holds cases");
    let recorded = read_json(&dir.join("opa_answers.json"));
    let version = recorded["opa_version"].as_str().expect("opa_answers.json names the OPA version").to_owned();
    let opa: BTreeMap<String, Answer> = recorded["answers"]
        .as_object()
        .expect("opa_answers.json has answers")
        .iter()
        .map(|(name, a)| (name.clone(), Answer::from_json(a).unwrap_or_else(|m| panic!("OPA's answer to {name}: {m}"))))
        .collect();
    let differences_path = dir.join("differences.json");
    let listed = read_differences(&differences_path);

    let mut structural = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for case in &cases {
        if !names.insert(case.name.as_str()) {
            structural.push(Problem::about(&case.name, "two cases have this name"));
        }
    }
    for name in opa.keys().filter(|n| !names.contains(n.as_str())) {
        structural.push(Problem::about(name, "answered in opa_answers.json but no such case: run make_answers.py"));
    }
    for d in listed.iter().filter(|d| !names.contains(d.name.as_str())) {
        structural.push(Problem::about(&d.name, "listed in differences.json but no such case"));
    }

    let mut listing = Vec::new();
    let mut differences = Vec::new();
    for case in &cases {
        let ours = dossier(case);
        let Some(theirs) = opa.get(&case.name) else {
            structural.push(Problem::about(&case.name, "no OPA answer: run make_answers.py"));
            continue;
        };
        let entry = listed.iter().find(|d| d.name == case.name);
        let what = match entry {
            Some(_) if ours.same_as(theirs) => Some("now answers as OPA does: remove it from differences.json".to_owned()),
            None if !ours.same_as(theirs) => Some("differs from OPA and is not in differences.json".to_owned()),
            Some(d) if !d.dossier.same_as(&ours) => Some(format!("differences.json says Dossier answers {}", d.dossier.describe())),
            Some(d) if d.why.trim().is_empty() || d.why.trim() == TODO => Some("differences.json gives no reason (why)".to_owned()),
            _ => None,
        };
        if let Some(what) = what {
            listing.push(Problem { case: case.name.clone(), opa: theirs.describe(), dossier: ours.describe(), what });
        }
        if !ours.same_as(theirs) {
            let why = entry.filter(|d| d.dossier.same_as(&ours)).map_or(TODO.to_owned(), |d| d.why.clone());
            differences.push(Difference { name: case.name.clone(), dossier: ours, why });
        }
    }

    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(DOC);
    let doc = document(&cases, &opa, &version, &differences);
    if std::env::var("DOSSIER_BLESS_PARITY").is_ok_and(|v| v == "1") {
        write_differences(&differences_path, &differences);
        std::fs::write(&doc_path, &doc).unwrap_or_else(|e| panic!("{}: {e}", doc_path.display()));
        listing = differences
            .iter()
            .filter(|d| d.why == TODO)
            .map(|d| Problem {
                case: d.name.clone(),
                opa: opa[&d.name].describe(),
                dossier: d.dossier.describe(),
                what: "a new difference: replace its \"TODO\" in differences.json by the reason, then bless again".into(),
            })
            .collect();
    } else if std::fs::read_to_string(&doc_path).ok().as_deref() != Some(doc.as_str()) {
        structural.push(Problem::about(DOC, "is not current: regenerate with DOSSIER_BLESS_PARITY=1"));
    }

    let equal = cases.len() - differences.len();
    eprintln!("{equal} of {} cases answer as OPA {version} does; {} differ", cases.len(), differences.len());
    let problems: Vec<Problem> = structural.into_iter().chain(listing).collect();
    if !problems.is_empty() {
        let mut table = String::from("| case | OPA | Dossier | problem |\n|---|---|---|---|\n");
        for p in &problems {
            let _ = writeln!(table, "| {} | {} | {} | {} |", p.case, p.opa, p.dossier, p.what);
        }
        panic!(
            "{} problem(s) comparing Dossier with OPA (DOSSIER_BLESS_PARITY=1 rewrites differences.json and {DOC}; \
             then give each new difference its reason):\n\n{table}",
            problems.len()
        );
    }
}

#[test]
fn answers_compare_normalised() {
    let value = |v: Value| Answer::Value(v);
    assert!(value(json!([1, 2.5])).same_as(&value(json!([1.0, 2.5]))), "1 and 1.0 are the same number");
    assert!(!value(json!(0.30000000000000004)).same_as(&value(json!(0.3))), "floats compare exactly");
    assert!(!value(json!(9007199254740993u64)).same_as(&value(json!(9007199254740992u64))), "integers compare exactly");
    assert!(value(json!({"a": 1, "b": [null]})).same_as(&value(json!({"b": [null], "a": 1}))));
    let refused = |line, message: &str| Answer::CompileError { line, message: message.into() };
    assert!(refused(Some(4), "rego_type_error: undefined function f").same_as(&refused(Some(4), "unknown function f")));
    assert!(!refused(Some(4), "x").same_as(&refused(Some(5), "x")));
    assert!(Answer::EvalError("div: divide by zero".into()).same_as(&Answer::EvalError("division by zero".into())));
    assert!(!Answer::EvalError("x".into()).same_as(&Answer::Undefined));
    assert!(!Answer::Panic("x".into()).same_as(&Answer::EvalError("x".into())));
    assert_eq!(line_of("parity.rego:6:9: error: expecting `}`"), Some(6));
    assert_eq!(line_of("1 error occurred: parity.rego:12: rego_parse_error"), Some(12));
    assert_eq!(line_of("no location"), None);
    let drawn = "\n--> parity.rego:4:7\n  |\n4 |     x :=\n  |       ^\nerror: expecting expression";
    assert_eq!(headline(drawn), "parity.rego:4:7: error: expecting expression");
    assert_eq!(headline("parity.rego:3:5: unknown function f"), "parity.rego:3:5: unknown function f");
    assert_eq!(without_location("parity.rego:4:7: error: expecting expression"), "error: expecting expression");
    assert_eq!(without_location("recursion detected"), "recursion detected");
}
