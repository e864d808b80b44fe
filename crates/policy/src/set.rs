//! A set of policies compiled together, evaluated per event.

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use regorus::utils::limits::ExecutionTimerConfig;
use regorus::Engine;
use serde::Serialize;
use serde_json::Value;

use crate::policy::{Mode, Policy};

/// How long one evaluation may run unless the operator says otherwise.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_millis(250);

/// A module that could not be loaded, with the reason (for Rego errors, file, line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{file}: {message}")]
pub struct LoadError {
    pub file: String,
    pub message: String,
}

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
    /// Problems evaluating it: a runtime error, a refused action.
    pub errors: Vec<String>,
    /// Ids of the exceptions the policy let through (its `exceptions_applied` rule).
    pub exceptions: Vec<String>,
}

impl Decision {
    /// Whether the decision says anything (so that it must be recorded).
    pub fn is_significant(&self) -> bool {
        !(self.deny.is_empty() && self.warn.is_empty() && self.actions.is_empty() && self.errors.is_empty() && self.exceptions.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// `package.test_name`
    pub name: String,
    pub passed: bool,
    pub error: Option<String>,
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

/// The policies of a directory, compiled into one engine.
#[derive(Clone)]
pub struct PolicySet {
    policies: Vec<Policy>,
    /// Test modules: (package, source).
    tests: Vec<(String, String)>,
    engine: Engine,
}

/// Names of the `test_*` rules a module defines (rule heads start their line).
fn test_rules(source: &str) -> Vec<String> {
    let mut out: Vec<String> = source
        .lines()
        .filter(|l| l.starts_with("test_"))
        .filter_map(|l| l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next())
        .map(str::to_owned)
        .collect();
    out.dedup();
    out
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

impl PolicySet {
    pub fn empty() -> PolicySet {
        PolicySet::with_events(None)
    }

    /// An empty set whose policies may call `dossier.events(filter)`, answered by `events`
    /// (without one, the function answers an empty list).
    pub fn with_events(events: Option<EventsFn>) -> PolicySet {
        let mut engine = Engine::new();
        let call = move |args: Vec<regorus::Value>| -> anyhow::Result<regorus::Value> {
            let filter = args.first().map(to_json).unwrap_or(Value::Null);
            let answer = match &events {
                Some(f) => f(&filter).map_err(|e| anyhow::anyhow!("dossier.events: {e}"))?,
                None => Value::Array(Vec::new()),
            };
            Ok(to_rego(&answer))
        };
        // Registering a fresh engine's first extension cannot clash with another.
        let _ = engine.add_extension("dossier.events".to_owned(), 1, Box::new(call));
        let mut set = PolicySet { policies: Vec::new(), tests: Vec::new(), engine };
        set.set_time_limit(DEFAULT_TIME_LIMIT);
        set
    }

    /// The longest one evaluation may run: past it, it stops with an error that its decision
    /// records (a policy looping over a huge history must not hold up every event behind it).
    pub fn set_time_limit(&mut self, limit: Duration) {
        let check_interval = NonZeroU32::new(64).expect("64 is not zero");
        self.engine.set_execution_timer_config(ExecutionTimerConfig { limit, check_interval });
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// Evaluates disabled policies too, as audit: for replaying a policy before enabling it.
    pub fn audit_disabled(&mut self) {
        for p in &mut self.policies {
            if p.mode == Mode::Disabled {
                p.mode = Mode::Audit;
            }
        }
    }

    /// Loads every `*.rego` file of `dir`. Modules that fail are left out and reported; the
    /// others load. `*_test.rego` modules are tests, loaded beside the policies they test.
    pub fn load_dir(dir: &Path) -> Result<(PolicySet, Vec<LoadError>), LoadError> {
        PolicySet::load_dir_with(dir, None)
    }

    /// Like [`PolicySet::load_dir`], with `dossier.events` answered by `events`.
    pub fn load_dir_with(dir: &Path, events: Option<EventsFn>) -> Result<(PolicySet, Vec<LoadError>), LoadError> {
        let io = |e: std::io::Error| LoadError { file: dir.display().to_string(), message: e.to_string() };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rego"))
            .collect();
        files.sort();
        let mut sources = Vec::new();
        for path in files {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let source = std::fs::read_to_string(&path).map_err(io)?;
            sources.push((name, source));
        }
        Ok(PolicySet::from_sources_with(sources, events))
    }

    /// Compiles `(file name, source)` pairs; see [`PolicySet::load_dir`].
    pub fn from_sources(sources: Vec<(String, String)>) -> (PolicySet, Vec<LoadError>) {
        PolicySet::from_sources_with(sources, None)
    }

    /// Like [`PolicySet::from_sources`], with `dossier.events` answered by `events`.
    pub fn from_sources_with(sources: Vec<(String, String)>, events: Option<EventsFn>) -> (PolicySet, Vec<LoadError>) {
        let mut set = PolicySet::with_events(events);
        let mut errors = Vec::new();
        for (file, source) in sources {
            let is_test = file.ends_with("_test.rego");
            match set.add(&file, &source, is_test) {
                Ok(()) => {}
                Err(message) => errors.push(LoadError { file, message }),
            }
        }
        (set, errors)
    }

    /// Adds one module, checking it compiles alone and with the others before keeping it.
    fn add(&mut self, file: &str, source: &str, is_test: bool) -> Result<(), String> {
        let mut trial = self.engine.clone();
        let package = trial.add_policy(file.to_owned(), source.to_owned()).map_err(|e| e.to_string())?;
        let package = package.strip_prefix("data.").unwrap_or(&package).to_owned();
        if is_test {
            self.engine = trial;
            self.tests.push((package, source.to_owned()));
            return Ok(());
        }
        if self.policies.iter().any(|p| p.package == package) {
            return Err(format!("package {package} is already defined by another policy"));
        }
        let triggers = strings(query(&mut trial, &format!("data.{package}.triggers"))?);
        if triggers.is_empty() {
            return Err(format!("package {package} declares no triggers; add e.g. triggers := [\"dev.cdevents.artifact.published.*\"]"));
        }
        let mode = match query(&mut trial, &format!("data.{package}.mode"))? {
            None => Mode::Enforce,
            Some(Value::String(m)) => Mode::parse(&m).ok_or_else(|| format!("mode {m:?} is not enforce, audit or disabled"))?,
            Some(other) => return Err(format!("mode must be a string (enforce, audit or disabled), not {other}")),
        };
        let allowed_actions = strings(query(&mut trial, &format!("data.{package}.allowed_actions"))?);
        let name = file.strip_suffix(".rego").unwrap_or(file).to_owned();
        self.engine = trial;
        self.policies.push(Policy {
            name,
            package,
            version: Policy::version_of(source),
            triggers,
            mode,
            allowed_actions,
            source: source.to_owned(),
        });
        Ok(())
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
        // One query for every triggered policy: the engine's per-query preparation is paid once.
        let fields: Vec<String> = triggered.iter().map(|&i| format!("\"{i}\": data.{}", self.policies[i].package)).collect();
        let answers = match query(&mut self.engine, &format!("{{{}}}", fields.join(", "))) {
            Ok(Some(Value::Object(m))) => m,
            Ok(_) => serde_json::Map::new(),
            // One policy's failure (a runtime error, the time limit) must not hide the others'
            // decisions: each is asked alone.
            Err(_) if triggered.len() > 1 => return triggered.into_iter().flat_map(|i| self.evaluate_indices(vec![i], input)).collect(),
            Err(e) => return triggered.iter().map(|&i| self.failed(i, e.clone())).collect(),
        };
        triggered.into_iter().map(|i| self.decide(i, answers.get(&i.to_string()))).collect()
    }

    fn failed(&self, i: usize, error: String) -> Decision {
        let p = &self.policies[i];
        Decision {
            policy: p.name.clone(),
            version: p.version.clone(),
            mode: p.mode,
            deny: vec![],
            warn: vec![],
            actions: vec![],
            errors: vec![error],
            exceptions: vec![],
        }
    }

    /// The decision of policy `i` from the value of its package.
    fn decide(&self, i: usize, rules: Option<&Value>) -> Decision {
        let p = &self.policies[i];
        let rule = |name: &str| rules.and_then(|r| r.get(name)).cloned();
        let deny = strings(rule("deny"));
        let warn = strings(rule("warn"));
        let exceptions = strings(rule("exceptions_applied"));
        let requested = match rule("actions") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        let mut errors = Vec::new();
        let mut actions = Vec::new();
        for a in requested {
            match a.get("kind").and_then(Value::as_str) {
                Some(k) if p.allowed_actions.iter().any(|x| x == k) => actions.push(a),
                Some(k) => errors.push(format!("action of kind {k:?} refused: the policy allows {:?}", p.allowed_actions)),
                None => errors.push(format!("action {a} has no \"kind\"")),
            }
        }
        Decision { policy: p.name.clone(), version: p.version.clone(), mode: p.mode, deny, warn, actions, errors, exceptions }
    }

    /// Runs every `test_*` rule of the test modules and of the policies themselves, as OPA
    /// does: a test passes when it evaluates to true; undefined or false fails.
    pub fn run_tests(&mut self) -> Vec<TestResult> {
        let mut modules: Vec<(String, String)> = self.policies.iter().map(|p| (p.package.clone(), p.source.clone())).collect();
        modules.extend(self.tests.iter().cloned());
        self.engine.set_input(regorus::Value::new_object());
        let mut results = Vec::new();
        for (package, source) in modules {
            for rule in test_rules(&source) {
                let name = format!("{package}.{rule}");
                let r = match query(&mut self.engine, &format!("data.{package}.{rule}")) {
                    Ok(Some(Value::Bool(true))) => TestResult { name, passed: true, error: None },
                    Ok(None) => TestResult { name, passed: false, error: Some("undefined: a condition did not hold".into()) },
                    Ok(Some(other)) => TestResult { name, passed: false, error: Some(format!("evaluated to {other}")) },
                    Err(e) => TestResult { name, passed: false, error: Some(e) },
                };
                results.push(r);
            }
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
        assert_eq!((slow.deny.len(), slow.errors.len()), (0, 1));
        assert!(slow.errors[0].contains("time limit"), "{:?}", slow.errors);
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
    fn a_policy_without_triggers_or_with_a_bad_mode_is_refused() {
        let (_, errors) = PolicySet::from_sources(vec![
            ("a.rego".into(), "package a\n\ndeny contains \"x\" if { true }\n".into()),
            ("b.rego".into(), "package b\n\ntriggers := [\"*\"]\nmode := \"sometimes\"\n".into()),
        ]);
        assert_eq!(errors[0].message, "package a declares no triggers; add e.g. triggers := [\"dev.cdevents.artifact.published.*\"]");
        assert_eq!(errors[1].message, "mode \"sometimes\" is not enforce, audit or disabled");
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
        let results = set.run_tests();
        assert_eq!(results.len(), 2, "{results:?}");
        assert!(results.iter().any(|r| r.name == "dossier.sbom_required_test.test_denies_without_sbom" && r.passed));
        assert!(results.iter().any(
            |r| r.name == "dossier.sbom_required_test.test_wrong" && r.error.as_deref() == Some("undefined: a condition did not hold")
        ));
    }
}
