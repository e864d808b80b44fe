#!/usr/bin/env python3
"""Compiles the official CDEvents JSON schemas into Dossier's validation rules.

Usage: tools/gen-cdevents-rules.py SPEC_DIR OUT_JSON
  e.g. tools/gen-cdevents-rules.py ../shared/cdevents-spec/v0.5.1 crates/cdevents/rules/v0.5.json

The 45 schemas of a spec version share one envelope (customData, ...) and differ in the
`subject` and, slightly, the `context`. The rules file keeps the envelope once, the few distinct
contexts once each, the links definitions once, and one subject schema per event type, with annotations (descriptions,
defaults, ids) dropped. crates/cdevents interprets it at run time; the tests compare its
verdicts with the official schemas'.
"""
import json, os, sys

ANNOTATIONS = {"$schema", "$id", "default", "description", "contentEncoding", "example", "examples", "title"}

def strip(node):
    """Drops annotation keywords; the names inside `properties` are data and stay."""
    if isinstance(node, dict):
        out = {k: strip(v) for k, v in node.items() if k not in ANNOTATIONS}
        if isinstance(node.get("properties"), dict):
            out["properties"] = {k: strip(v) for k, v in node["properties"].items()}
        return out
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node

def main(spec_dir, out):
    schemas = os.path.join(spec_dir, "schemas")
    envelope, types, contexts = None, {}, []
    for name in sorted(os.listdir(schemas)):
        if not name.endswith(".json"):
            continue
        s = strip(json.load(open(os.path.join(schemas, name))))
        [event_type] = s["properties"]["context"]["properties"]["type"]["enum"]
        context = s["properties"].pop("context")
        context["properties"]["type"] = {"type": "string"}
        if context not in contexts:
            contexts.append(context)
        types[event_type] = {"context": contexts.index(context), "subject": s["properties"].pop("subject")}
        if envelope is None:
            envelope = s
        elif envelope != s:
            sys.exit(f"{name}: its envelope differs from the others; extend the rules format")
    links = {}
    links_dir = os.path.join(schemas, "links")
    for name in sorted(os.listdir(links_dir)):
        links[name[:-5]] = strip(json.load(open(os.path.join(links_dir, name))))
    custom = strip(json.load(open(os.path.join(spec_dir, "custom", "schema.json"))))
    rules = {
        "generated_from": "CDEvents specification " + os.path.basename(spec_dir.rstrip("/")) + " (Apache-2.0), by tools/gen-cdevents-rules.py",
        "envelope": envelope,
        "contexts": contexts,
        "types": types,
        "custom": {"context": custom["properties"]["context"], "subject": custom["properties"]["subject"]},
        "links": links,
    }
    with open(out, "w") as f:
        json.dump(rules, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")

if __name__ == "__main__":
    main(*sys.argv[1:])
