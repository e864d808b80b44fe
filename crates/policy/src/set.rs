//! A set of policies compiled together, evaluated per event.
//!
//! A set is loaded from a bundle's files ([`crate::bundle`]): Rego modules and data documents.
//! Modules are grouped by package: a package that declares `triggers` is a policy (even split
//! across files), one that does not is a library the others may import, and `test_*` rules
//! anywhere are Rego unit tests. A module that does not compile, or that calls a function that
//! exists nowhere, is refused with its file and line; the others load.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::num::NonZeroU32;
use std::path::Path;
use std::time::{Duration, Instant};

use regorus::utils::limits::ExecutionTimerConfig;
use regorus::Engine;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::bundle::{self, Kind};
use crate::calls;
use crate::policy::{Mode, OnError, Policy};

/// How long one evaluation may run unless the operator says otherwise.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_millis(250);

/// The rules of a policy that make its decision.
const DECISION_RULES: [&str; 4] = ["deny", "warn", "actions", "exceptions_applied"];

/// A file that could not be loaded, with the reason (for Rego errors, file, line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{file}: {message}")]
pub struct LoadError {
    pub file: String,
    pub message: String,
}

/// A query that failed at evaluation: the engine's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// What one policy decided about one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub policy: String,
    pub version: String,
    pub mode: Mode,
    pub deny: Vec<String>,
    pub warn: Vec<String>,
    /// Actions it asked for, of kinds it is allowed.
    pub actions: Vec<Value>,
    /// Problems evaluating it (a runtime error of a rule, the time limit) and refused actions.
    pub errors: Vec<String>,
    /// Ids of the exceptions the policy let through (its `exceptions_applied` rule).
    pub exceptions: Vec<String>,
    /// What an evaluation error means for this policy; when a rule failed and this is `deny`,
    /// `deny` holds a message saying so.
    pub on_error: OnError,
}

impl Decision {
    /// Whether the decision says anything (so that it must be recorded).
    pub fn is_significant(&self) -> bool {
        !(self.deny.is_empty() && self.warn.is_empty() && self.actions.is_empty() && self.errors.is_empty() && self.exceptions.is_empty())
    }
}

/// How a Rego unit test ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "outcome", content = "reason")]
pub enum TestOutcome {
    Passed,
    /// Undefined, false, another value, or an error: why.
    Failed(String),
    /// A `todo_test_*` rule: reported, not run.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// `package.test_name`
    pub name: String,
    /// The file and line of its (first) definition.
    pub file: String,
    pub line: u32,
    #[serde(flatten)]
    pub outcome: TestOutcome,
    pub duration_ns: u64,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.outcome == TestOutcome::Passed
    }
}

/// A package without `triggers`: rules and functions other modules import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Library {
    pub package: String,
    pub files: Vec<String>,
    /// Whether it defines `deny`, `warn` or `actions` (which decide nothing without triggers).
    pub decides_nothing: bool,
}

/// Answers `dossier.events(filter)` in Rego: the events matching a filter (`type` with `*`
/// wildcards, `subject`, `artifact`, `source`, `chain`, `since`, `until` as RFC 3339, `limit`),
/// oldest first, as the events API lists them. The server answers from its store; the CLI from a
/// server's API.
pub type EventsFn = std::sync::Arc<dyn Fn(&Value) -> Result<Value, String> + Send + Sync>;

/// The events API's parameters that a `dossier.events` filter object stands for.
pub fn filter_params(filter: &Value) -> Result<Vec<(String, String)>, String> {
    let fields = filter.as_object().ok_or("the filter is an object such as {\"type\": \"dev.cdevents.artifact.*\"}")?;
    Ok(fields.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))).collect())
}

/// A `test_*` (or `todo_test_*`) rule.
#[derive(Debug, Clone)]
struct TestRule {
    package: String,
    rule: String,
    file: String,
    line: u32,
}

/// The package of the rules that evaluate policies triggered together ([`PolicySet::entry_rule`]).
const ENTRY_PACKAGE: &str = "__dossier_entry";

/// The policies of a bundle, compiled into one engine.
#[derive(Clone)]
pub struct PolicySet {
    policies: Vec<Policy>,
    libraries: Vec<Library>,
    tests: Vec<TestRule>,
    engine: Engine,
    /// For each combination of policies (by index) triggered together, the rule that evaluates
    /// them in one go (see [`PolicySet::entry_rule`]); `None` when it could not be added.
    entries: HashMap<Vec<usize>, Option<String>>,
    /// The entry rules the engine holds, by name: a copy of the engine holds them too.
    entry_rules: HashSet<String>,
}

/// A Rego value as JSON, converted directly (not through text).
fn to_json(v: &regorus::Value) -> Value {
    match v {
        regorus::Value::Undefined => Value::Null,
        v => serde_json::to_value(v).unwrap_or(Value::Null),
    }
}

/// JSON as a Rego value, read from the JSON in place (the input is not copied first).
fn to_rego(v: &Value) -> regorus::Value {
    serde::Deserialize::deserialize(v).unwrap_or(regorus::Value::Undefined)
}

/// The value of `path` (e.g. `data.p.deny`), or `None` when it is undefined.
fn query(engine: &mut Engine, path: &str) -> Result<Option<Value>, String> {
    let results = engine.eval_query(path.to_owned(), false).map_err(|e| e.to_string())?;
    Ok(results.result.first().and_then(|r| r.expressions.first()).map(|e| to_json(&e.value)))
}

fn strings(v: Option<Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.into_iter().map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string())).collect(),
        Some(Value::String(s)) => vec![s],
        _ => Vec::new(),
    }
}

/// The messages of a `deny` or `warn` rule, in each form OPA users write: a set (or array) of
/// strings, or of objects with a `msg` (conftest's form); a boolean (`deny if …`); an object
/// (`deny[key] := message`).
fn messages(v: Option<Value>, package: &str, rule: &str) -> Result<Vec<String>, String> {
    let one = |item: Value| match item {
        Value::String(s) => s,
        Value::Object(mut o) => match o.remove("msg").or_else(|| o.remove("message")) {
            Some(Value::String(m)) => m,
            _ => Value::Object(o).to_string(),
        },
        other => other.to_string(),
    };
    Ok(match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Vec::new(),
        Some(Value::Bool(true)) => vec![format!("{package}.{rule} is true")],
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items.into_iter().map(one).collect(),
        Some(Value::Object(o)) => o
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(m) => m,
                Value::Bool(true) => k,
                other => format!("{k}: {}", one(other)),
            })
            .collect(),
        Some(Value::Number(n)) => return Err(format!("{rule} is the number {n}; write it as a set of messages, a boolean or an object")),
    })
}

/// The path under `data` where a data document of `file` goes: its directory.
fn data_path(file: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop();
    parts
}

/// A parsed data document, nested under its directory's path.
fn data_document(file: &str, text: &str) -> Result<regorus::Value, String> {
    let value = if file.ends_with(".json") {
        let json: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        to_rego(&json)
    } else {
        regorus::Value::from_yaml_str(text).map_err(|e| format!("not YAML: {e}"))?
    };
    if !matches!(value, regorus::Value::Object(_)) {
        return Err("a data document is an object (its keys go under data)".into());
    }
    let mut nested = value;
    for part in data_path(file).into_iter().rev() {
        let mut o = regorus::Value::new_object();
        o.as_object_mut().map_err(|e| e.to_string())?.insert(regorus::Value::from(part), nested);
        nested = o;
    }
    Ok(nested)
}

/// The stem of a file's name: `lib/sbom_required.rego` → `sbom_required`.
fn stem(file: &str) -> &str {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.strip_suffix(".rego").unwrap_or(name)
}

/// Dossier's functions beside the engine's builtins.
fn extension_names() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = crate::builtins::BUILTINS.iter().map(|(n, _, _)| (*n).to_owned()).collect();
    names.insert("dossier.events".to_owned());
    names
}

/// A fresh engine with Dossier's functions, `dossier.events` answered by `events`.
fn new_engine(events: &Option<EventsFn>) -> Engine {
    let mut engine = Engine::new();
    // OPA's default: a builtin's error makes its expression undefined (that rule body does not
    // hold), it does not stop the evaluation of every other rule.
    engine.set_strict_builtin_errors(false);
    let events = events.clone();
    let call = move |args: Vec<regorus::Value>| -> anyhow::Result<regorus::Value> {
        let filter = args.first().map(to_json).unwrap_or(Value::Null);
        let answer = match &events {
            Some(f) => f(&filter).map_err(|e| anyhow::anyhow!("dossier.events: {e}"))?,
            None => Value::Array(Vec::new()),
        };
        Ok(to_rego(&answer))
    };
    // Names are distinct, and a fresh engine has no extension they could clash with.
    let _ = engine.add_extension("dossier.events".to_owned(), 1, Box::new(call));
    for (name, args, f) in crate::builtins::BUILTINS {
        let _ = engine.add_extension((*name).to_owned(), *args, Box::new(*f));
    }
    engine
}

impl PolicySet {
    pub fn empty() -> PolicySet {
        PolicySet::with_events(None)
    }

    /// An empty set whose policies may call `dossier.events(filter)`, answered by `events`
    /// (without one, the function answers an empty list).
    pub fn with_events(events: Option<EventsFn>) -> PolicySet {
        let mut set = PolicySet {
            policies: Vec::new(),
            libraries: Vec::new(),
            tests: Vec::new(),
            engine: new_engine(&events),
            entries: HashMap::new(),
            entry_rules: HashSet::new(),
        };
        set.set_time_limit(DEFAULT_TIME_LIMIT);
        set
    }

    /// The longest one evaluation may run: past it, it stops with an error that its decision
    /// records (a policy looping over a huge history must not hold up every event behind it).
    pub fn set_time_limit(&mut self, limit: Duration) {
        let check_interval = NonZeroU32::new(64).expect("64 is not zero");
        self.engine.set_execution_timer_config(ExecutionTimerConfig { limit, check_interval });
    }

    /// What an evaluation error means for the policies that do not say (`on_error := …`);
    /// `deny` unless the operator chooses otherwise.
    pub fn set_default_on_error(&mut self, on_error: OnError) {
        for p in &mut self.policies {
            p.on_error = p.on_error_declared.unwrap_or(on_error);
        }
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn libraries(&self) -> &[Library] {
        &self.libraries
    }

    /// Evaluates disabled policies too, as audit: for replaying a policy before enabling it.
    pub fn audit_disabled(&mut self) {
        for p in &mut self.policies {
            if p.mode == Mode::Disabled {
                p.mode = Mode::Audit;
            }
        }
    }

    /// The set with only policy `name` evaluated (its libraries and data stay): for a replay.
    pub fn only(&self, name: &str) -> Option<PolicySet> {
        let policy = self.policies.iter().find(|p| p.name == name)?.clone();
        Some(PolicySet {
            policies: vec![policy],
            libraries: self.libraries.clone(),
            tests: Vec::new(),
            engine: self.engine.clone(),
            entries: HashMap::new(),
            entry_rules: self.entry_rules.clone(),
        })
    }

    /// Loads the bundle at `path`: a directory (with subdirectories) or an OPA bundle tarball.
    /// Files that fail are left out and reported; the others load.
    pub fn load_dir(path: &Path) -> Result<(PolicySet, Vec<LoadError>), LoadError> {
        PolicySet::load_dir_with(path, None)
    }

    /// Like [`PolicySet::load_dir`], with `dossier.events` answered by `events`.
    pub fn load_dir_with(path: &Path, events: Option<EventsFn>) -> Result<(PolicySet, Vec<LoadError>), LoadError> {
        let (files, _) = bundle::read(path).map_err(|e| LoadError { file: path.display().to_string(), message: e.to_string() })?;
        Ok(PolicySet::from_sources_with(files.files, events))
    }

    /// Compiles `(path, text)` files of a bundle; see [`PolicySet::load_dir`].
    pub fn from_sources(sources: Vec<(String, String)>) -> (PolicySet, Vec<LoadError>) {
        PolicySet::from_sources_with(sources, None)
    }

    /// Like [`PolicySet::from_sources`], with `dossier.events` answered by `events`.
    pub fn from_sources_with(sources: Vec<(String, String)>, events: Option<EventsFn>) -> (PolicySet, Vec<LoadError>) {
        let mut errors = Vec::new();
        let mut data = Vec::new();
        let mut modules = Vec::new();
        for (file, text) in sources {
            match bundle::kind_of(&file) {
                Some(Kind::Data) => match data_document(&file, &text) {
                    Ok(d) => data.push((file, d)),
                    Err(message) => errors.push(LoadError { file, message }),
                },
                Some(Kind::Module) | None => modules.push((file, text)),
            }
        }
        let extensions = extension_names();
        let mut refused: BTreeSet<String> = BTreeSet::new();
        // Compile; refuse what does not, or what calls a function that exists nowhere; again
        // without the refused (a refused library can leave its callers' calls unresolved).
        let (engine, accepted) = loop {
            let mut engine = new_engine(&events);
            for (file, d) in &data {
                if refused.contains(file) {
                    continue;
                }
                if let Err(e) = engine.add_data(d.clone()) {
                    errors.push(LoadError { file: file.clone(), message: format!("conflicts with another data document: {e}") });
                    refused.insert(file.clone());
                }
            }
            let mut accepted: Vec<(String, String)> = Vec::new();
            for (file, text) in &modules {
                if refused.contains(file) {
                    continue;
                }
                let mut trial = engine.clone();
                // Adding parses; the first query compiles every module (and finds, say, a
                // variable used before its definition): compiled here, a module's error is
                // its own, not the next module's.
                let added = trial.add_policy(file.clone(), text.clone()).and_then(|_| trial.eval_query("true".to_owned(), false));
                match added {
                    Ok(_) => {
                        engine = trial;
                        accepted.push((file.clone(), text.clone()));
                    }
                    Err(e) => {
                        errors.push(LoadError { file: file.clone(), message: e.to_string() });
                        refused.insert(file.clone());
                    }
                }
            }
            let compiled: Vec<(String, regorus::unstable::Ref<regorus::unstable::Module>)> =
                accepted.iter().map(|(f, _)| f.clone()).zip(engine.get_modules().iter().cloned()).collect();
            let unknown = calls::unknown_calls(&compiled, &extensions);
            if unknown.is_empty() {
                break (engine, accepted);
            }
            let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for u in unknown {
                by_file.entry(u.file.clone()).or_default().push(u.to_string());
            }
            for (file, lines) in by_file {
                errors.push(LoadError { file: file.clone(), message: lines.join("\n") });
                refused.insert(file);
            }
        };
        let mut set = PolicySet {
            policies: Vec::new(),
            libraries: Vec::new(),
            tests: Vec::new(),
            engine,
            entries: HashMap::new(),
            entry_rules: HashSet::new(),
        };
        set.set_time_limit(DEFAULT_TIME_LIMIT);
        errors.extend(set.classify(&accepted));
        errors.sort_by(|a, b| a.file.cmp(&b.file));
        (set, errors)
    }

    /// Sorts the compiled modules' packages into policies and libraries, and finds the tests.
    fn classify(&mut self, files: &[(String, String)]) -> Vec<LoadError> {
        let mut errors = Vec::new();
        let modules: Vec<_> = self.engine.get_modules().to_vec();
        let mut packages: BTreeMap<String, Vec<(usize, calls::Rules)>> = BTreeMap::new();
        for (i, m) in modules.iter().enumerate() {
            let rules = calls::rules_of(m);
            for (rule, line) in &rules.names {
                if rule.starts_with("test_") || rule.starts_with("todo_test_") {
                    let (package, file) = (rules.package.clone(), files[i].0.clone());
                    if !self.tests.iter().any(|t| t.package == package && t.rule == *rule) {
                        self.tests.push(TestRule { package, rule: rule.clone(), file, line: *line });
                    }
                }
            }
            packages.entry(rules.package.clone()).or_default().push((i, rules));
        }
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for (package, members) in packages {
            let member_files: Vec<String> = members.iter().map(|(i, _)| files[*i].0.clone()).collect();
            let declaring = members.iter().find(|(_, r)| r.names.iter().any(|(n, _)| n == "triggers"));
            let Some((main, _)) = declaring else {
                let decides = members.iter().any(|(_, r)| r.names.iter().any(|(n, _)| DECISION_RULES[..3].contains(&n.as_str())));
                let only_tests = member_files.iter().all(|f| f.ends_with("_test.rego"));
                if !only_tests {
                    self.libraries.push(Library { package, files: member_files, decides_nothing: decides });
                }
                continue;
            };
            let main_file = files[*main].0.clone();
            match self.policy(&package, &main_file, &members.iter().map(|(i, _)| files[*i].clone()).collect::<Vec<_>>()) {
                Ok(policy) => match names.get(&policy.name) {
                    Some(other) => errors.push(LoadError {
                        file: main_file,
                        message: format!("policy name {} is taken by {other}; policies are named by their file, rename one", policy.name),
                    }),
                    None => {
                        names.insert(policy.name.clone(), main_file);
                        self.policies.push(policy);
                    }
                },
                Err(message) => errors.push(LoadError { file: main_file, message }),
            }
        }
        self.policies.sort_by(|a, b| a.name.cmp(&b.name));
        errors
    }

    /// The policy of `package`, whose `triggers` `main` declares; `members` are its files.
    fn policy(&mut self, package: &str, main: &str, members: &[(String, String)]) -> Result<Policy, String> {
        let triggers = strings(query(&mut self.engine, &format!("data.{package}.triggers"))?);
        if triggers.is_empty() {
            return Err(format!("package {package} declares no triggers; add e.g. triggers := [\"dev.cdevents.artifact.published.*\"]"));
        }
        let mode = match query(&mut self.engine, &format!("data.{package}.mode"))? {
            None => Mode::Enforce,
            Some(Value::String(m)) => Mode::parse(&m).ok_or_else(|| format!("mode {m:?} is not enforce, audit or disabled"))?,
            Some(other) => return Err(format!("mode must be a string (enforce, audit or disabled), not {other}")),
        };
        let on_error_declared = match query(&mut self.engine, &format!("data.{package}.on_error"))? {
            None => None,
            Some(Value::String(m)) => Some(OnError::parse(&m).ok_or_else(|| format!("on_error {m:?} is not deny or allow"))?),
            Some(other) => return Err(format!("on_error must be a string (deny or allow), not {other}")),
        };
        let allowed_actions = strings(query(&mut self.engine, &format!("data.{package}.allowed_actions"))?);
        let source = match members {
            [(_, text)] => text.clone(),
            several => several.iter().map(|(f, text)| format!("# file: {f}\n{text}\n")).collect(),
        };
        Ok(Policy {
            name: stem(main).to_owned(),
            package: package.to_owned(),
            version: Policy::version_of(&source),
            triggers,
            mode,
            allowed_actions,
            on_error: on_error_declared.unwrap_or_default(),
            on_error_declared,
            files: members.iter().map(|(f, _)| f.clone()).collect(),
            source,
        })
    }

    /// The value of a rule or document (`data.pkg.rule`, or any Rego query) over `input`, as
    /// JSON; `None` when it is undefined. For tools and the OPA parity tests, not for decisions.
    pub fn query(&mut self, query: &str, input: Option<&Value>) -> Result<Option<Value>, QueryError> {
        match input {
            Some(i) => self.engine.set_input(to_rego(i)),
            None => self.engine.set_input(regorus::Value::Undefined),
        }
        self::query(&mut self.engine, query).map_err(QueryError)
    }

    /// Evaluates every policy `event_type` triggers over `input`.
    pub fn evaluate(&mut self, event_type: &str, input: &Value) -> Vec<Decision> {
        let triggered: Vec<usize> = (0..self.policies.len()).filter(|&i| self.policies[i].triggered_by(event_type)).collect();
        self.evaluate_indices(triggered, input)
    }

    /// Evaluates the policy named `name` alone (a timer asking it to look again).
    pub fn evaluate_policy(&mut self, name: &str, input: &Value) -> Option<Decision> {
        let i = self.policies.iter().position(|p| p.name == name && p.mode != Mode::Disabled)?;
        self.evaluate_indices(vec![i], input).pop()
    }

    fn evaluate_indices(&mut self, triggered: Vec<usize>, input: &Value) -> Vec<Decision> {
        if triggered.is_empty() {
            return Vec::new();
        }
        self.engine.set_input(to_rego(input));
        // One evaluation for every triggered policy: the engine's per-evaluation preparation is
        // paid once, and a value used by several of them is computed once.
        let answers = match self.entry_rule(&triggered) {
            Some(rule) => self.engine.eval_rule(rule).map_err(|e| e.to_string()).map(|v| match to_json(&v) {
                Value::Array(values) => Some(values),
                _ => None,
            }),
            None => {
                let packages: Vec<String> = triggered.iter().map(|&i| format!("data.{}", self.policies[i].package)).collect();
                query(&mut self.engine, &format!("[{}]", packages.join(", "))).map(|v| match v {
                    Some(Value::Array(values)) => Some(values),
                    _ => None,
                })
            }
        };
        match answers {
            Ok(Some(answers)) => triggered
                .into_iter()
                .zip(answers.iter().map(Some).chain(std::iter::repeat(None)))
                .map(|(i, a)| self.decide(i, a, Vec::new()))
                .collect(),
            Ok(None) => triggered.into_iter().map(|i| self.decide(i, None, Vec::new())).collect(),
            // One policy's failure must not hide the others' decisions: each is asked alone;
            // and one rule's failure not the other rules' of its policy: those are asked rule
            // by rule.
            Err(_) if triggered.len() > 1 => triggered.into_iter().flat_map(|i| self.evaluate_indices(vec![i], input)).collect(),
            Err(_) => triggered.into_iter().map(|i| self.evaluate_rules(i)).collect(),
        }
    }

    /// The rule whose value lists the values of the packages of `policies`, in that order,
    /// added to the engine the first time these policies are triggered together: evaluating a
    /// rule skips what a query costs every time (parsing it, analysing it, preparing the rules'
    /// prefixes), a fifth of an evaluation. Its name comes from the packages, so a set copied by
    /// [`PolicySet::only`] with the rule already in its engine finds the same one.
    fn entry_rule(&mut self, policies: &[usize]) -> Option<String> {
        if let Some(rule) = self.entries.get(policies) {
            return rule.clone();
        }
        let packages: Vec<String> = policies.iter().map(|&i| format!("data.{}", self.policies[i].package)).collect();
        let digest = Sha256::digest(packages.join(",").as_bytes());
        let name: String = std::iter::once("p".to_owned()).chain(digest[..8].iter().map(|b| format!("{b:02x}"))).collect();
        let held = self.entry_rules.contains(&name) || {
            let module = format!("package {ENTRY_PACKAGE}\n\n{name} := [{}]\n", packages.join(", "));
            // Not expected to fail (the packages compiled); if it does, the query answers the
            // same, only slower.
            self.engine.add_policy(format!("{ENTRY_PACKAGE}/{name}.rego"), module).is_ok()
        };
        let rule = held.then(|| format!("data.{ENTRY_PACKAGE}.{name}"));
        if held {
            self.entry_rules.insert(name);
        }
        self.entries.insert(policies.to_vec(), rule.clone());
        rule
    }

    /// Policy `i` decided rule by rule: a rule that fails is an error of the decision.
    fn evaluate_rules(&mut self, i: usize) -> Decision {
        let package = self.policies[i].package.clone();
        let mut rules = serde_json::Map::new();
        let mut failures = Vec::new();
        for rule in DECISION_RULES {
            match query(&mut self.engine, &format!("data.{package}.{rule}")) {
                Ok(Some(v)) => {
                    rules.insert(rule.to_owned(), v);
                }
                Ok(None) => {}
                Err(e) => failures.push(format!("{rule}: {e}")),
            }
        }
        self.decide(i, Some(&Value::Object(rules)), failures)
    }

    /// The decision of policy `i` from the value of its package and the rules that failed.
    fn decide(&self, i: usize, rules: Option<&Value>, mut failures: Vec<String>) -> Decision {
        let p = &self.policies[i];
        let rule = |name: &str| rules.and_then(|r| r.get(name)).cloned();
        let mut read = |name: &str| match messages(rule(name), &p.package, name) {
            Ok(m) => m,
            Err(e) => {
                failures.push(e);
                Vec::new()
            }
        };
        let mut deny = read("deny");
        let warn = read("warn");
        let exceptions = strings(rule("exceptions_applied"));
        let requested = match rule("actions") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        if !failures.is_empty() && p.on_error == OnError::Deny {
            deny.push(format!(
                "policy {} could not be evaluated, and an error denies (on_error := \"deny\"): {}",
                p.name,
                failures.join("; ")
            ));
        }
        let mut errors = failures;
        let mut actions = Vec::new();
        for a in requested {
            match a.get("kind").and_then(Value::as_str) {
                Some(k) if p.allowed_actions.iter().any(|x| x == k) => actions.push(a),
                Some(k) => errors.push(format!("action of kind {k:?} refused: the policy allows {:?}", p.allowed_actions)),
                None => errors.push(format!("action {a} has no \"kind\"")),
            }
        }
        Decision {
            policy: p.name.clone(),
            version: p.version.clone(),
            mode: p.mode,
            deny,
            warn,
            actions,
            errors,
            exceptions,
            on_error: p.on_error,
        }
    }

    /// Runs the `test_*` rules of every module, as `opa test` does: a test passes when it
    /// evaluates to true, undefined or false fails; `input` is undefined unless the test sets it
    /// (`with input as …`); `todo_test_*` rules are skipped. `only` keeps the tests whose
    /// `package.rule` name it accepts.
    pub fn run_tests(&mut self, only: &dyn Fn(&str) -> bool) -> Vec<TestResult> {
        self.engine.set_input(regorus::Value::Undefined);
        let mut results = Vec::new();
        for t in self.tests.clone() {
            let name = format!("{}.{}", t.package, t.rule);
            if !only(&name) {
                continue;
            }
            let started = Instant::now();
            let outcome = if t.rule.starts_with("todo_") {
                TestOutcome::Skipped
            } else {
                match query(&mut self.engine, &format!("data.{}.{}", t.package, t.rule)) {
                    Ok(Some(Value::Bool(true))) => TestOutcome::Passed,
                    Ok(None) => TestOutcome::Failed("undefined: a condition did not hold".into()),
                    Ok(Some(other)) => TestOutcome::Failed(format!("evaluated to {other}")),
                    Err(e) => TestOutcome::Failed(e),
                }
            };
            let duration_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            results.push(TestResult { name, file: t.file, line: t.line, outcome, duration_ns });
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SBOM: &str = r#"package dossier.sbom_required

triggers := ["dev.cdevents.artifact.published.*"]
allowed_actions := ["emit"]

deny contains msg if {
    not input.subject.sbom
    msg := sprintf("artifact %s was published without an SBOM", [input.event.subject.id])
}

actions contains {"kind": "emit", "type": "dev.cdevents.testsuiterun.queued.0.3.0", "testSuite": "sbom"} if {
    not input.subject.sbom
}

actions contains {"kind": "webhook", "url": "http://example.com"} if { input.subject.evil }
"#;

    fn published() -> Value {
        json!({"event": {"context": {"type": "dev.cdevents.artifact.published.0.3.0"}, "subject": {"id": "pkg:oci/a"}}, "subject": {}})
    }

    #[test]
    fn a_triggered_policy_decides_and_asks_for_allowed_actions_only() {
        let (mut set, errors) = PolicySet::from_sources(vec![("sbom_required.rego".into(), SBOM.into())]);
        assert_eq!(errors, vec![]);
        assert_eq!(set.policies()[0].triggers, vec!["dev.cdevents.artifact.published.*"]);
        assert_eq!(set.policies()[0].mode, Mode::Enforce);
        let mut input = published();
        input["subject"]["evil"] = json!(true);
        let d = set.evaluate("dev.cdevents.artifact.published.0.3.0", &input);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].deny, vec!["artifact pkg:oci/a was published without an SBOM"]);
        assert_eq!(d[0].actions, vec![json!({"kind": "emit", "type": "dev.cdevents.testsuiterun.queued.0.3.0", "testSuite": "sbom"})]);
        assert_eq!(d[0].errors, vec!["action of kind \"webhook\" refused: the policy allows [\"emit\"]"]);
        assert!(set.evaluate("dev.cdevents.build.finished.0.3.0", &input).is_empty(), "not triggered");
        let mut with_sbom = published();
        with_sbom["subject"]["sbom"] = json!({"uri": "x"});
        assert!(!set.evaluate("dev.cdevents.artifact.published.0.3.0", &with_sbom)[0].is_significant());
    }

    /// Policies triggered together are evaluated through one rule added the first time; the
    /// decisions are those each policy makes alone, each in its own place, every time, and a
    /// copy made by `only` (whose engine already holds that rule) decides its policy alike.
    #[test]
    fn policies_triggered_together_decide_as_each_does_alone_every_time() {
        let other = "package dossier.other\n\ntriggers := [\"dev.cdevents.artifact.published.*\"]\n\n\
                     deny contains \"other\" if input.event.subject.id == \"pkg:oci/a\"\n";
        let (mut set, errors) =
            PolicySet::from_sources(vec![("sbom_required.rego".into(), SBOM.into()), ("other.rego".into(), other.into())]);
        assert_eq!(errors, vec![]);
        let alone: Vec<Vec<String>> = ["sbom_required", "other"]
            .iter()
            .map(|name| set.only(name).unwrap().evaluate("dev.cdevents.artifact.published.0.3.0", &published())[0].deny.clone())
            .collect();
        assert_eq!(alone, [vec!["artifact pkg:oci/a was published without an SBOM".to_owned()], vec!["other".to_owned()]]);
        for _ in 0..3 {
            let d = set.evaluate("dev.cdevents.artifact.published.0.3.0", &published());
            let got: Vec<(&str, &[String])> = d.iter().map(|d| (d.policy.as_str(), d.deny.as_slice())).collect();
            assert_eq!(got, [("other", alone[1].as_slice()), ("sbom_required", alone[0].as_slice())], "in the order of the set");
        }
        assert_eq!(set.entries.len(), 1, "one rule for the one combination");
        assert_eq!(set.evaluate_policy("other", &published()).unwrap().deny, alone[1]);
        assert_eq!(set.entry_rules.len(), 2, "and one for the policy alone");
        let mut copy = set.only("other").unwrap();
        assert_eq!(copy.evaluate("dev.cdevents.artifact.published.0.3.0", &published())[0].deny, alone[1]);
        assert_eq!(copy.engine.get_modules().len(), set.engine.get_modules().len(), "the copy's engine held the policy's rule: none added");
    }

    #[test]
    fn a_policy_past_the_time_limit_is_stopped_with_an_error_and_the_others_still_decide() {
        let slow = "package dossier.slow\n\ntriggers := [\"*\"]\n\n\
                    deny contains \"never\" if {\n\tsome i in numbers.range(1, 5000)\n\tsome j in numbers.range(1, 5000)\n\ti * j < 0\n}\n";
        let (mut set, errors) =
            PolicySet::from_sources(vec![("slow.rego".into(), slow.into()), ("sbom_required.rego".into(), SBOM.into())]);
        assert_eq!(errors, vec![]);
        set.set_time_limit(Duration::from_millis(50));
        let started = std::time::Instant::now();
        let d = set.evaluate("dev.cdevents.artifact.published.0.3.0", &published());
        assert!(started.elapsed() < Duration::from_secs(2), "stopped at the limit, not run to the end");
        let slow = d.iter().find(|d| d.policy == "slow").unwrap();
        assert_eq!((slow.deny.len(), slow.errors.len()), (1, 1));
        assert!(slow.errors[0].contains("time limit"), "{:?}", slow.errors);
        assert!(slow.deny[0].starts_with("policy slow could not be evaluated, and an error denies"), "fails closed: {:?}", slow.deny);
        let sbom = d.iter().find(|d| d.policy == "sbom_required").unwrap();
        assert_eq!(sbom.deny, vec!["artifact pkg:oci/a was published without an SBOM"]);
    }

    #[test]
    fn a_module_that_does_not_compile_is_refused_with_its_line_and_the_rest_loads() {
        let broken = "package dossier.broken\n\ntriggers := [\"x\"]\n\ndeny contains msg if {\n    msg := \n}\n";
        let (set, errors) =
            PolicySet::from_sources(vec![("broken.rego".into(), broken.into()), ("sbom_required.rego".into(), SBOM.into())]);
        assert_eq!(set.policies().len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].file, "broken.rego");
        assert!(errors[0].message.contains("broken.rego:6:9"), "{}", errors[0].message);
        assert!(errors[0].message.contains("error: expecting `}`"), "{}", errors[0].message);
    }

    #[test]
    fn a_package_without_triggers_is_a_library_and_a_bad_mode_is_refused() {
        let (set, errors) = PolicySet::from_sources(vec![
            ("a.rego".into(), "package a\n\ndeny contains \"x\" if { true }\n".into()),
            ("b.rego".into(), "package b\n\ntriggers := [\"*\"]\nmode := \"sometimes\"\n".into()),
            ("c.rego".into(), "package c\n\nis_prod(env) if { env == \"prod\" }\n".into()),
        ]);
        assert_eq!(
            errors,
            vec![LoadError { file: "b.rego".into(), message: "mode \"sometimes\" is not enforce, audit or disabled".into() }]
        );
        assert_eq!(
            set.libraries(),
            &[
                Library { package: "a".into(), files: vec!["a.rego".into()], decides_nothing: true },
                Library { package: "c".into(), files: vec!["c.rego".into()], decides_nothing: false },
            ]
        );
    }

    #[test]
    fn policies_can_ask_for_events_through_a_dossier_builtin() {
        let source = r#"package dossier.recent

triggers := ["*"]

deny contains msg if {
    runs := dossier.events({"type": "dev.cdevents.testsuiterun.finished.*", "artifact": input.subject.artifact})
    count(runs) == 0
    msg := "no test suite ran"
}
"#;
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Value::Null));
        let seen = asked.clone();
        let events: EventsFn = std::sync::Arc::new(move |filter: &Value| {
            *seen.lock().unwrap() = filter.clone();
            Ok(json!([]))
        });
        let (mut set, errors) = PolicySet::from_sources_with(vec![("recent.rego".into(), source.into())], Some(events));
        assert_eq!(errors, vec![]);
        let d = set.evaluate("x", &json!({"subject": {"artifact": "pkg:oci/a"}}));
        assert_eq!(d[0].deny, vec!["no test suite ran"]);
        assert_eq!(*asked.lock().unwrap(), json!({"type": "dev.cdevents.testsuiterun.finished.*", "artifact": "pkg:oci/a"}));
    }

    #[test]
    fn rego_unit_tests_run_and_report() {
        let test = r#"package dossier.sbom_required_test

import data.dossier.sbom_required

test_denies_without_sbom if {
    count(sbom_required.deny) == 1 with input as {"event": {"subject": {"id": "a"}}, "subject": {}}
}

test_wrong if {
    count(sbom_required.deny) == 5 with input as {"event": {"subject": {"id": "a"}}, "subject": {}}
}
"#;
        let (mut set, errors) =
            PolicySet::from_sources(vec![("sbom_required.rego".into(), SBOM.into()), ("sbom_required_test.rego".into(), test.into())]);
        assert_eq!(errors, vec![]);
        let results = set.run_tests(&|_| true);
        assert_eq!(results.len(), 2, "{results:?}");
        assert!(results.iter().any(|r| r.name == "dossier.sbom_required_test.test_denies_without_sbom" && r.passed()));
        assert!(results.iter().any(|r| r.name == "dossier.sbom_required_test.test_wrong"
            && r.outcome == TestOutcome::Failed("undefined: a condition did not hold".into())
            && (r.file.as_str(), r.line) == ("sbom_required_test.rego", 9)));
    }

    fn load(files: &[(&str, &str)]) -> (PolicySet, Vec<LoadError>) {
        PolicySet::from_sources(files.iter().map(|(f, t)| ((*f).to_owned(), (*t).to_owned())).collect())
    }

    #[test]
    fn a_module_calling_a_function_that_exists_nowhere_is_refused_with_its_line_and_what_its_callers_need_resolves() {
        let lib = "package lib\n\nis_prod(env) if { env == \"prod\" }\n";
        let good = "package p\n\nimport data.lib\n\ntriggers := [\"*\"]\n\ndeny contains \"prod\" if { lib.is_prod(input.env) }\n\
                    deny contains \"also\" if { data.lib.is_prod(input.env); local(1) }\n\nlocal(x) := x\n\
                    warn contains h if { h := crypto.sha256(\"a\"); time.now_ns() > 0; net.cidr_contains(\"10.0.0.0/8\", \"10.1.1.1\") }\n";
        let bad = "package q\n\ntriggers := [\"*\"]\n\ndeny contains \"x\" if {\n    time.now_nanos() > 0\n    http.send({\"url\": \"http://x\"})\n}\n";
        let (mut set, errors) = load(&[("lib.rego", lib), ("p.rego", good), ("q.rego", bad)]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].file, "q.rego");
        assert_eq!(
            errors[0].message,
            "q.rego:6:5: unknown function time.now_nanos: it is neither a builtin of Dossier's Rego engine nor a function defined by a loaded module\n\
             q.rego:7:5: unknown function http.send: policies do not call the network while deciding; ask for a `webhook` or `run` action, or read Dossier's history with dossier.events"
        );
        let d = set.evaluate("x", &json!({"env": "prod"}));
        assert_eq!(d[0].deny, vec!["also", "prod"]);
        assert_eq!(d[0].warn, vec!["ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"]);
    }

    #[test]
    fn a_module_that_compiles_alone_but_not_in_its_rules_is_refused_itself_not_the_next_one() {
        let bad = "package p\n\ntriggers := [\"*\"]\n\ndeny contains msg if {\n  msg := sprintf(\"%v\", [x])\n  x := y\n}\n";
        let good = "package q\n\ntriggers := [\"*\"]\n\ndeny contains \"q\" if { input.q }\n";
        let (mut set, errors) = load(&[("p.rego", bad), ("q.rego", good)]);
        assert_eq!(errors.iter().map(|e| e.file.as_str()).collect::<Vec<_>>(), vec!["p.rego"]);
        assert!(errors[0].message.contains("p.rego:6:25"), "{}", errors[0].message);
        assert_eq!(set.evaluate("x", &json!({"q": true}))[0].deny, vec!["q"]);
    }

    #[test]
    fn a_package_split_across_files_is_one_policy_named_by_the_file_that_declares_its_triggers() {
        let (mut set, errors) = load(&[
            ("main.rego", "package p\n\ntriggers := [\"*\"]\n"),
            ("rules/more.rego", "package p\n\ndeny contains \"from the second file\" if { true }\n"),
        ]);
        assert_eq!(errors, vec![]);
        let p = &set.policies()[0];
        assert_eq!((p.name.as_str(), p.files.clone()), ("main", vec!["main.rego".to_owned(), "rules/more.rego".to_owned()]));
        assert_eq!(set.evaluate("x", &json!({}))[0].deny, vec!["from the second file"]);
    }

    #[test]
    fn one_failing_rule_does_not_silence_the_others_and_an_error_denies_unless_the_policy_says_allow() {
        let module = |on_error: &str| {
            format!(
                "package p\n\ntriggers := [\"*\"]\n{on_error}\n\
                 deny contains sprintf(\"CVSS %d\", [9.8])\ndeny contains \"critical\" if {{ input.critical }}\n\
                 v := 1 if {{ input.critical }}\nv := 2 if {{ input.critical }}\n\
                 warn contains sprintf(\"%v\", [v])\n"
            )
        };
        let (mut set, errors) = load(&[("p.rego", &module(""))]);
        assert_eq!(errors, vec![]);
        let d = set.evaluate("x", &json!({"critical": true})).pop().unwrap();
        assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
        assert!(d.errors[0].starts_with("warn: "), "{:?}", d.errors);
        assert_eq!(d.on_error, OnError::Deny);
        assert_eq!(d.deny[..2], ["CVSS %!d(float64=9.8)".to_owned(), "critical".to_owned()]);
        assert!(
            d.deny[2].starts_with("policy p could not be evaluated, and an error denies (on_error := \"deny\"): warn: "),
            "{:?}",
            d.deny
        );

        let (mut set, _) = load(&[("p.rego", &module("on_error := \"allow\""))]);
        let d = set.evaluate("x", &json!({"critical": true})).pop().unwrap();
        assert_eq!((d.deny.len(), d.errors.len(), d.on_error), (2, 1, OnError::Allow));

        // The operator's default applies to policies that do not say.
        let (mut set, _) = load(&[("p.rego", &module(""))]);
        set.set_default_on_error(OnError::Allow);
        assert_eq!(set.evaluate("x", &json!({"critical": true})).pop().unwrap().deny.len(), 2);
    }

    #[test]
    fn deny_may_be_a_boolean_an_object_or_a_set_of_objects_with_a_msg() {
        let (mut set, errors) = load(&[
            ("a.rego", "package a\n\ntriggers := [\"*\"]\n\ndeny if { input.bad }\n"),
            ("b.rego", "package b\n\ntriggers := [\"*\"]\n\ndeny[\"unsigned\"] := \"the image is not signed\" if { input.bad }\n"),
            ("c.rego", "package c\n\ntriggers := [\"*\"]\n\ndeny contains {\"msg\": \"no SBOM\", \"details\": {}} if { input.bad }\n"),
        ]);
        assert_eq!(errors, vec![]);
        let deny: Vec<Vec<String>> = set.evaluate("x", &json!({"bad": true})).into_iter().map(|d| d.deny).collect();
        assert_eq!(deny, vec![vec!["a.deny is true".to_owned()], vec!["the image is not signed".to_owned()], vec!["no SBOM".to_owned()]]);
        assert!(set.evaluate("x", &json!({"bad": false})).iter().all(|d| !d.is_significant()));
    }

    #[test]
    fn data_documents_are_loaded_under_data_at_their_directory() {
        let policy = "package p\n\ntriggers := [\"*\"]\n\n\
                      deny contains \"env not allowed\" if { not input.env in data.config.allowed_envs }\n\
                      deny contains \"not a team\" if { not data.teams.names[input.team] }\n";
        let (mut set, errors) = load(&[
            ("p.rego", policy),
            ("data.json", "{\"config\": {\"allowed_envs\": [\"prod\", \"staging\"]}}"),
            ("teams/data.yaml", "names:\n  shop: true\n"),
        ]);
        assert_eq!(errors, vec![]);
        assert!(!set.evaluate("x", &json!({"env": "prod", "team": "shop"}))[0].is_significant());
        assert_eq!(set.evaluate("x", &json!({"env": "dev", "team": "ops"}))[0].deny, vec!["env not allowed", "not a team"]);
        let (_, errors) = load(&[("data.json", "[1]"), ("x/data.yaml", ": :")]);
        assert_eq!(
            errors[0],
            LoadError { file: "data.json".into(), message: "a data document is an object (its keys go under data)".into() }
        );
        assert!(errors[1].message.starts_with("not YAML: "), "{errors:?}");
    }

    #[test]
    fn regular_expressions_take_the_classes_opa_users_write() {
        let (mut set, errors) = load(&[(
            "p.rego",
            "package p\n\ntriggers := [\"*\"]\n\ndeny contains \"digits\" if { regex.match(`^v\\d+\\.\\w+\\s?$`, input.v) }\n",
        )]);
        assert_eq!(errors, vec![]);
        assert_eq!(set.evaluate("x", &json!({"v": "v12.beta"}))[0].deny, vec!["digits"]);
    }

    #[test]
    fn tests_run_as_opa_test_runs_them() {
        let test = "package p_test\n\n  test_input_is_undefined if { not input }\n\ntodo_test_later if { false }\n\ntest_with_input if { input.a == 1 with input as {\"a\": 1} }\n";
        let (mut set, errors) = load(&[("p_test.rego", test)]);
        assert_eq!(errors, vec![]);
        let results = set.run_tests(&|_| true);
        let outcomes: Vec<(&str, &TestOutcome)> = results.iter().map(|r| (r.name.as_str(), &r.outcome)).collect();
        assert_eq!(
            outcomes,
            vec![
                ("p_test.test_input_is_undefined", &TestOutcome::Passed),
                ("p_test.todo_test_later", &TestOutcome::Skipped),
                ("p_test.test_with_input", &TestOutcome::Passed),
            ]
        );
        assert_eq!(set.run_tests(&|n| n.ends_with("later")).len(), 1);
    }
}
