//! ARCHITECTURE.md is checked, not believed: the crate graph `cargo metadata` reports must be the
//! one its code map states, the layers must point one way, nothing above the store may name a
//! backend, and no module of a crate may import a module that imports it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Each workspace crate's Dossier dependencies (normal ones, optional included), by name.
fn crate_graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|n| n.starts_with("dossier"))
                .map(str::to_owned)
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

/// The code map of ARCHITECTURE.md: each "### `name`" section and the crates its "Depends on:"
/// paragraph names (in backticks; the paragraph ends at a blank line).
fn code_map() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut map = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut paragraph: Option<String> = None;
    for line in text.lines().chain(std::iter::once("")) {
        if let Some(p) = paragraph.as_mut() {
            if line.trim().is_empty() {
                let named = p.split('`').skip(1).step_by(2).filter(|n| n.starts_with("dossier")).map(str::to_owned).collect();
                map.insert(current.take().expect("a section"), named);
                paragraph = None;
            } else {
                p.push(' ');
                p.push_str(line);
            }
        } else if let Some(rest) = line.strip_prefix("### `") {
            current = rest.split('`').next().filter(|n| n.starts_with("dossier")).map(str::to_owned);
        } else if let (Some(_), Some(deps)) = (&current, line.strip_prefix("Depends on:")) {
            paragraph = Some(deps.to_owned());
        }
    }
    map
}

/// Layers, bottom up: a crate may depend only on crates of lower layers.
const LAYERS: &[&[&str]] = &[
    &["dossier-core", "dossier-tlog", "dossier-gen", "dossier-client", "dossier-net"],
    &["dossier-sigstore", "dossier-audit"],
    &[
        "dossier-cdevents",
        "dossier-lineage",
        "dossier-evidence",
        "dossier-exceptions",
        "dossier-witness",
        "dossier-auth",
        "dossier-admission",
    ],
    &["dossier-ingest", "dossier-policy"],
    &["dossier-gate"],
    &["dossier-store"],
    &["dossier-store-sqlite", "dossier-store-postgres"],
    &["dossier-stores"],
    &["dossier-log"],
    &["dossier-views"],
    &["dossier-engine", "dossier-connectors", "dossier-access"],
    &["dossier-http", "dossier-dashboard"],
    &["dossier-server"],
    &["dossier-bench"],
    &["dossier"],
];

fn layer(name: &str) -> usize {
    LAYERS.iter().position(|l| l.contains(&name)).unwrap_or_else(|| panic!("crate {name} has no layer in this test"))
}

#[test]
fn the_crate_graph_is_the_one_architecture_md_states() {
    let graph = crate_graph();
    let map = code_map();
    let mut problems = Vec::new();
    for (name, deps) in &graph {
        match map.get(name) {
            None => problems.push(format!("{name} is not in the code map of ARCHITECTURE.md")),
            Some(stated) if stated != deps => {
                let added: Vec<_> = deps.difference(stated).collect();
                let gone: Vec<_> = stated.difference(deps).collect();
                problems.push(format!(
                    "{name}: depends on {added:?} that ARCHITECTURE.md does not state; states {gone:?} it does not depend on"
                ));
            }
            Some(_) => {}
        }
    }
    for name in map.keys().filter(|n| !graph.contains_key(*n)) {
        problems.push(format!("ARCHITECTURE.md maps {name}, which is not a workspace crate"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn arrows_point_down_the_layers() {
    let mut problems = Vec::new();
    for (name, deps) in crate_graph() {
        for dep in deps {
            if layer(&dep) >= layer(&name) {
                problems.push(format!("{name} (layer {}) depends on {dep} (layer {})", layer(&name), layer(&dep)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_dashboard_never_reaches_the_http_layer() {
    let graph = crate_graph();
    assert!(!graph["dossier-dashboard"].contains("dossier-http"), "dossier-dashboard depends on dossier-http");
    assert!(!graph["dossier-http"].contains("dossier-dashboard"), "dossier-http depends on dossier-dashboard");
}

#[test]
fn nothing_above_the_store_names_a_backend() {
    let graph = crate_graph();
    for (name, deps) in &graph {
        for backend in ["dossier-store-sqlite", "dossier-store-postgres"] {
            if deps.contains(backend) {
                assert_eq!(name, "dossier-stores", "only dossier-stores chooses a backend; {name} depends on {backend}");
            }
        }
    }
    let mut problems = Vec::new();
    for name in graph.keys().filter(|n| layer(n) > layer("dossier-stores") && *n != "dossier-bench") {
        let dir = root().join("crates").join(name.strip_prefix("dossier-").unwrap_or("cli")).join("src");
        for file in rust_files(&dir) {
            for (n, line) in std::fs::read_to_string(&file).unwrap().lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if ["rusqlite", "Sqlite", "dossier_store_sqlite", "PostgresStore", "dossier_store_postgres"]
                    .iter()
                    .any(|b| code.contains(b))
                {
                    problems.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "code above the store names a backend:\n{}", problems.join("\n"));
}

#[test]
fn dossiers_own_event_types_are_written_once() {
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        // The generator writes events as a producer would, knowing nothing of Dossier's crates.
        if dir.ends_with("gen") {
            continue;
        }
        for file in rust_files(&dir.join("src")) {
            if file.ends_with("core/src/own.rs") || file.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().take_while(|l| l.trim() != "#[cfg(test)]").enumerate() {
                if line.split("//").next().unwrap_or_default().contains("\"dev.cdeventsx.dossier-") {
                    problems.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "Dossier's own types written outside dossier_core::own:\n{}", problems.join("\n"));
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module a file belongs to (`lib` for the crate root).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// The modules a file's code (tests excluded) names through `crate::` (and `super::` at the
/// top level): the first segment of each path, or of each item of a `use crate::{…}` group.
fn named_modules(text: &str, top_level: bool) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let prefixes: &[&str] = if top_level { &["crate::", "super::"] } else { &["crate::"] };
    for prefix in prefixes {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // The first segment of each item at the group's own depth.
                let (mut depth, mut item_start) = (0usize, true);
                for (j, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && (c.is_alphanumeric() || c == '_') => {
                            item_start = false;
                            out.insert(group[j..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
                        }
                        _ => {}
                    }
                }
            } else {
                let first: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !first.is_empty() {
                    out.insert(first);
                }
            }
        }
    }
    out
}

/// Strongly connected components of more than one module.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Reachability is cheap at this size: a and b are in one cycle when each reaches the other.
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(m) = stack.pop() {
            for n in edges.get(&m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    stack.push(n.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = edges.keys().map(|m| (m, reach(m))).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for (m, r) in &reaches {
        if !r.contains(*m) {
            continue;
        }
        let component: Vec<String> = r.iter().filter(|n| reaches.get(n).is_some_and(|rn| rn.contains(*m))).cloned().collect();
        if component.len() > 1 {
            found.insert(component);
        }
    }
    found.into_iter().collect()
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        let files = rust_files(&src);
        let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let from = module_of(&src, file);
            let top_level = file.parent() == Some(src.as_path());
            let text = std::fs::read_to_string(file).unwrap();
            for named in named_modules(&text, top_level) {
                let to = if modules.contains(&named) && named != "lib" && named != "main" { named } else { "lib".to_owned() };
                let to = if to == "lib" && modules.contains("main") && !modules.contains("lib") { "main".to_owned() } else { to };
                if to != from {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        for cycle in cycles(&edges) {
            problems.push(format!("{}: {}", src.display(), cycle.join(" ⇄ ")));
        }
    }
    assert!(problems.is_empty(), "modules that import each other:\n{}", problems.join("\n"));
}

#[test]
fn the_cycle_finder_finds_a_cycle_and_only_a_cycle() {
    let edges: BTreeMap<String, BTreeSet<String>> = [("lib", vec!["a"]), ("a", vec!["b"]), ("b", vec!["a", "c"]), ("c", vec![])]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
        .collect();
    assert_eq!(cycles(&edges), vec![vec!["a".to_owned(), "b".to_owned()]]);
    let named = named_modules("use crate::{state::AppState, error::{a, b}};\nfn f() { crate::html::esc(x) }\n// crate::gone\n", true);
    assert_eq!(named, ["error", "html", "state"].into_iter().map(str::to_owned).collect());
}
