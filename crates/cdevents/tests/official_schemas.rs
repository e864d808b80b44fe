//! Dossier's verdict on every official conformance event, and on mutated copies of each,
//! equals the verdict of the official JSON schema for that event type.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn spec_dir(version: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/cdevents-spec").join(version)
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The official validator for one schema file, with the links definitions registered and
/// `format` asserted (2020-12 only annotates it by default).
fn official(version: &str, schema: &Path) -> jsonschema::Validator {
    let links = spec_dir(version).join("schemas/links");
    let mut opts = jsonschema::options();
    opts.should_validate_formats(true);
    for entry in std::fs::read_dir(&links).unwrap() {
        let path = entry.unwrap().path();
        let doc = read(&path);
        let id = doc["$id"].as_str().unwrap().to_owned();
        opts.with_resource(id, jsonschema::Resource::from_contents(doc).unwrap());
    }
    opts.build(&read(schema)).unwrap()
}

/// Copies of `event` that break (or, for some types, do not break) one rule each.
fn mutations(event: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut add = |name: &str, f: &dyn Fn(&mut Value)| {
        let mut e = event.clone();
        f(&mut e);
        out.push((name.to_owned(), e));
    };
    add("missing context.id", &|e| drop(e["context"].as_object_mut().unwrap().remove("id")));
    add("missing subject", &|e| drop(e.as_object_mut().unwrap().remove("subject")));
    add("missing subject.content", &|e| drop(e["subject"].as_object_mut().unwrap().remove("content")));
    add("wrong type enum", &|e| e["context"]["type"] = json!("dev.cdevents.nothing.happened.0.1.0"));
    add("extra context field", &|e| e["context"]["unexpected"] = json!(1));
    add("extra top-level field", &|e| e["unexpected"] = json!(true));
    add("extra content field", &|e| e["subject"]["content"]["unexpected"] = json!("x"));
    add("bad timestamp", &|e| e["context"]["timestamp"] = json!("2023-13-45T25:61:00Z"));
    add("timestamp not a date", &|e| e["context"]["timestamp"] = json!("yesterday"));
    add("timestamp wrong type", &|e| e["context"]["timestamp"] = json!(1700000000));
    add("subject.id wrong type", &|e| e["subject"]["id"] = json!(42));
    add("subject.id empty", &|e| e["subject"]["id"] = json!(""));
    add("source not a uri-reference", &|e| e["context"]["source"] = json!("not a uri"));
    add("schemaUri relative", &|e| e["context"]["schemaUri"] = json!("/relative"));
    add("customData number", &|e| e["customData"] = json!(5));
    add("customData string", &|e| e["customData"] = json!("aGVsbG8="));
    add("links not an array", &|e| e["context"]["links"] = json!({}));
    add("link with unknown linkType", &|e| e["context"]["links"] = json!([{"linkType": "SIDEWAYS"}]));
    let content = event.pointer("/subject/content").and_then(Value::as_object).cloned().unwrap_or_default();
    for (key, value) in content {
        let k = key.clone();
        add(&format!("missing content.{key}"), &|e| drop(e["subject"]["content"].as_object_mut().unwrap().remove(&k)));
        match value {
            Value::String(_) => {
                add(&format!("content.{key} wrong type"), &|e| e["subject"]["content"][&k] = json!(["x"]));
                add(&format!("content.{key} bad purl"), &|e| e["subject"]["content"][&k] = json!("not a purl at all"));
                add(&format!("content.{key} unknown enum value"), &|e| e["subject"]["content"][&k] = json!("zzz-unknown"));
            }
            Value::Object(inner) => {
                add(&format!("content.{key} wrong type"), &|e| e["subject"]["content"][&k] = json!("x"));
                for inner_key in inner.keys() {
                    let ik = inner_key.clone();
                    add(&format!("missing content.{key}.{inner_key}"), &|e| {
                        drop(e["subject"]["content"][&k].as_object_mut().unwrap().remove(&ik))
                    });
                }
                add(&format!("extra content.{key} field"), &|e| e["subject"]["content"][&k]["unexpected"] = json!(1));
            }
            _ => add(&format!("content.{key} wrong type"), &|e| e["subject"]["content"][&k] = json!({})),
        }
    }
    if event.pointer("/context/type").and_then(Value::as_str).is_some_and(|t| t.contains(".artifact.")) {
        add("artifact subject bad purl", &|e| e["subject"]["id"] = json!("not-a-purl"));
    }
    out
}

fn compare(version: &str, conformance: &Path, schema: &Path) -> usize {
    let validator = official(version, schema);
    let original = read(conformance);
    let mut cases = vec![("as published".to_owned(), original.clone())];
    cases.extend(mutations(&original));
    for (name, case) in &cases {
        let official_ok = validator.is_valid(case);
        let ours = dossier_cdevents::validate(case);
        assert_eq!(
            ours.is_ok(),
            official_ok,
            "{} ({name}): official schema says {}, Dossier says {:?}",
            conformance.display(),
            if official_ok { "valid" } else { "invalid" },
            ours
        );
    }
    assert!(validator.is_valid(&original), "{} must be valid as published", conformance.display());
    cases.len()
}

fn compare_version(version: &str) {
    let dir = spec_dir(version);
    let mut files = 0;
    let mut cases = 0;
    for entry in std::fs::read_dir(dir.join("conformance")).unwrap() {
        let path = entry.unwrap().path();
        let schema = dir.join("schemas").join(path.file_name().unwrap().to_str().unwrap().replace('_', ""));
        cases += compare(version, &path, &schema);
        files += 1;
    }
    cases += compare(version, &dir.join("custom/conformance.json"), &dir.join("custom/schema.json"));
    assert_eq!(files, 45, "every event type of {version} has a conformance file");
    assert!(cases > 45 * 20, "{cases} cases");
}

#[test]
fn verdicts_equal_the_official_schemas_for_spec_0_4_1() {
    compare_version("v0.4.1");
}

#[test]
fn verdicts_equal_the_official_schemas_for_spec_0_5_1() {
    compare_version("v0.5.1");
}
