#!/usr/bin/env python3
"""Runs every case of cases.json through OPA's own Go engine and writes opa_answers.json.

Made with (from the repository root; Python 3.11 here, network to fetch the wheel):

    python3 crates/policy/tests/opa/make_answers.py

which fetches the engine itself, as:

    pip download opa-golib-python-bindings==0.4.4 --no-deps --python-version 3.14 \
        --only-binary=:all: -d <tmp>

That wheel is OPA's Go engine built as a C shared library (opa_bindings/libopabridge.so) with a
ctypes wrapper that needs Python 3.14. Only the library is used here, loaded through ctypes from
whatever Python runs this script. To reuse a library already on disk:

    python3 crates/policy/tests/opa/make_answers.py --lib /path/to/libopabridge.so

The exported C API (seen with `nm -D libopabridge.so`): OpaNew() -> handle; OpaDestroy(handle);
OpaAddData(handle, path, json); OpaAddPolicy(handle, file, source); OpaEvalQuery(handle, query,
input_json, coverage, trace). The fallible calls return a malloc'd JSON envelope, freed with
OpaFreeString: {"result": ...} or {"error": {"code": ..., "message": ...}}. A module is parsed
when added (code parse_error); it is compiled on the first query (code prepare_error); evaluation
errors have code eval_error. The library compiles with OPA's defaults (Rego v1) and evaluates
with print statements on and strict built-in errors on (rego.StrictBuiltinErrors(true), as
`opa eval --strict-builtin-errors`), which its C API does not let a caller change: where a
built-in call fails, these answers are an eval_error, where OPA's default would be undefined.

Each case runs in a fresh engine: data (if any) merged at the root of `data`, the module added as
parity.rego, then the query evaluated with the case's input. The answer is one of
{"value": v}, {"undefined": true}, {"compile_error": {"line": n, "message": m}}, {"eval_error": m}.
Nothing is written unless every case got an answer from the engine.
"""

import argparse
import ctypes
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WHEEL = "opa-golib-python-bindings==0.4.4"
FILE = "parity.rego"
DEFAULT_QUERY = "data.parity.result"


def fetch_library(into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--python-version", "3.14",
         "--only-binary=:all:", "-d", str(into)],
        check=True,
    )
    wheel = next(into.glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extractall(into / "unpacked")
    return next((into / "unpacked").rglob("libopabridge.so"))


def opa_version(lib_path: Path) -> str:
    """The OPA module version recorded in the library's Go build information."""
    found = re.search(rb"dep\tgithub\.com/open-policy-agent/opa\t(v[0-9][^\t\n]*)", lib_path.read_bytes())
    if not found:
        raise SystemExit(f"{lib_path}: no Go build information naming github.com/open-policy-agent/opa")
    return found.group(1).decode()


class Opa:
    """The library's C API, declared for ctypes."""

    def __init__(self, path: Path):
        lib = ctypes.CDLL(str(path))
        lib.OpaNew.restype = ctypes.c_uint64
        lib.OpaNew.argtypes = []
        lib.OpaDestroy.restype = None
        lib.OpaDestroy.argtypes = [ctypes.c_uint64]
        lib.OpaFreeString.restype = None
        lib.OpaFreeString.argtypes = [ctypes.c_void_p]
        for name in ("OpaAddPolicy", "OpaAddData"):
            fn = getattr(lib, name)
            fn.restype = ctypes.c_void_p
            fn.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p]
        lib.OpaEvalQuery.restype = ctypes.c_void_p
        lib.OpaEvalQuery.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
        self.lib = lib

    def envelope(self, fn, *args) -> dict:
        pointer = fn(*args)
        if not pointer:
            raise RuntimeError(f"{fn.__name__} returned NULL")
        try:
            return json.loads(ctypes.string_at(pointer))
        finally:
            self.lib.OpaFreeString(pointer)


def utf8(s: str) -> bytes:
    if "\0" in s:
        raise ValueError("NUL in a string passed to C")
    return s.encode("utf-8")


def refusal(message: str) -> dict:
    """A parse or compile error as {"line", "message"}: the first error OPA lists for parity.rego."""
    found = re.search(re.escape(FILE) + r":(\d+): (.*)", message)
    if not found:
        raise RuntimeError(f"a compile error without a {FILE} line: {message!r}")
    return {"compile_error": {"line": int(found.group(1)), "message": found.group(2)}}


def answer(opa: Opa, case: dict) -> dict:
    lib = opa.lib
    handle = lib.OpaNew()
    try:
        if "data" in case:
            added = opa.envelope(lib.OpaAddData, handle, b"", utf8(json.dumps(case["data"], ensure_ascii=False)))
            if added.get("error"):
                raise RuntimeError(f"data refused: {added['error']}")
        added = opa.envelope(lib.OpaAddPolicy, handle, utf8(FILE), utf8(case["module"]))
        if added.get("error"):
            if added["error"]["code"] != "parse_error":
                raise RuntimeError(f"module refused with {added['error']}")
            return refusal(added["error"]["message"])
        given = b"" if "input" not in case else utf8(json.dumps(case["input"], ensure_ascii=False))
        out = opa.envelope(lib.OpaEvalQuery, handle, utf8(case.get("query", DEFAULT_QUERY)), given, 0, 0)
        error = out.get("error")
        if error:
            if error["code"] == "prepare_error":
                return refusal(error["message"])
            if error["code"] == "eval_error":
                return {"eval_error": error["message"]}
            raise RuntimeError(f"unexpected error {error}")
        results = out.get("result") or []
        if not results:
            return {"undefined": True}
        if len(results) > 1:
            raise RuntimeError(f"{len(results)} results; a case's query must name one document")
        return {"value": results[0]["expressions"][0]["value"]}
    finally:
        lib.OpaDestroy(handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lib", type=Path, help="libopabridge.so to load instead of fetching the wheel")
    args = parser.parse_args()
    cases = json.loads((HERE / "cases.json").read_text())
    names = [c["name"] for c in cases]
    if len(set(names)) != len(names):
        raise SystemExit("case names must be unique")
    with tempfile.TemporaryDirectory() as tmp:
        lib_path = args.lib or fetch_library(Path(tmp))
        version = opa_version(lib_path)
        opa = Opa(lib_path)
        answers = {c["name"]: answer(opa, c) for c in cases}
    lines = [f"  {json.dumps(name, ensure_ascii=False)}: {json.dumps(a, ensure_ascii=False)}" for name, a in answers.items()]
    text = (
        "{\n"
        f'"opa_version": {json.dumps(version)},\n'
        f'"made_with": {json.dumps(WHEEL + " (libopabridge.so through ctypes), by make_answers.py")},\n'
        '"answers": {\n' + ",\n".join(lines) + "\n}\n}\n"
    )
    (HERE / "opa_answers.json").write_text(text)
    print(f"OPA {version}: {len(answers)} answers written to {HERE / 'opa_answers.json'}")


if __name__ == "__main__":
    main()
