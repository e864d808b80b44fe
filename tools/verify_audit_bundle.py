#!/usr/bin/env python3
"""Verifies a Dossier audit bundle independently of Dossier's code, from the text of
docs/audit-bundle.md and docs/log-format.md (RFC 6962/9162 proofs, RFC 8785 canonical JSON,
C2SP signed notes with Ed25519), with Python's standard library and `cryptography`.

Usage: verify_audit_bundle.py BUNDLE LOG_PUB [TRUSTED_CHECKPOINT]
  BUNDLE              a file written by `dossier audit bundle`
  LOG_PUB             the log's public key, e.g. DATA/log.pub (name+keyid+base64(0x01 || key))
  TRUSTED_CHECKPOINT  optionally, a signed checkpoint you saved earlier

Exit status: 0 verified, 1 refused (the reason on stderr), 2 usage.
"""
import base64
import hashlib
import json
import math
import struct
import sys
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "dossier-audit-bundle/v1"
MAX_ENTRIES = 20000


class Refused(Exception):
    pass


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def b64hash(text: str) -> bytes:
    h = base64.b64decode(text, validate=True)
    if len(h) != 32:
        raise Refused(f"a hash is not 32 bytes: {text!r}")
    return h


# --- RFC 8785 (JCS) ------------------------------------------------------------------------


def parse_int(text: str):
    # An integer beyond 2^53 is a double in JCS, as in ECMAScript.
    i = int(text)
    return i if abs(i) <= 2**53 else float(text)


def es_number(x: float) -> str:
    """ECMAScript Number.prototype.toString of a double: the shortest digits that round-trip
    (Python's repr finds the same), laid out as ECMAScript does."""
    if x == 0:
        return "0"
    if math.isnan(x) or math.isinf(x):
        raise Refused("NaN and infinities are not JSON")
    sign = "-" if x < 0 else ""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    fraction = fraction.rstrip("0")
    shift = int(exp) if exp else 0
    if whole == "0":
        # 0.00ddd: the value is 0.ddd x 10^-(leading zeros)
        n = shift - (len(fraction) - len(fraction.lstrip("0")))
    else:
        n = shift + len(whole)
    digits = (whole + fraction).lstrip("0").rstrip("0")
    k = len(digits)
    # The value is 0.digits x 10^n (ECMAScript's k digits and exponent n).
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    e_text = ("+" if e >= 0 else "-") + str(abs(e))
    return sign + digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + e_text


def jcs(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return es_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        names = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(value[k]) for k in names) + "}"
    raise Refused(f"not JSON: {value!r}")


# --- leaves and proofs (RFC 6962 / RFC 9162) --------------------------------------------------


def leaf_hash(received: int, sender, raw: bytes, canonical: str) -> bytes:
    if sender is None:
        head = b"\x02" + struct.pack(">q", received)
    else:
        name = sender.encode()
        head = b"\x03" + struct.pack(">q", received) + struct.pack(">H", len(name)) + name
    return sha256(b"\x00" + head + sha256(raw) + canonical.encode())


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def verify_inclusion(leaf: bytes, index: int, size: int, proof, root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof) -> bool:
    if old == 0 or old > new:
        return False
    if old == new:
        return not proof and old_root == new_root
    path = ([old_root] if old & (old - 1) == 0 else []) + list(proof)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- signed notes and checkpoints (C2SP) -------------------------------------------------------


def read_key(text: str):
    name, key_id, data = text.strip().split("+", 2)
    raw = base64.b64decode(data)
    if raw[0] != 0x01 or len(raw) != 33:
        raise Refused("the log key is not an Ed25519 note key (type 0x01)")
    if sha256(name.encode() + b"\n\x01" + raw[1:])[:4].hex() != key_id:
        raise Refused("the log key's id is not SHA-256(name || 0x0A || 0x01 || key)[:4]")
    return name, bytes.fromhex(key_id), Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note: str, key, which: str):
    name, key_id, public = key
    split = note.rfind("\n\n")
    if split < 0:
        raise Refused(f"{which}: not a signed note")
    text, signatures = note[: split + 1], note[split + 2 :]
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            raise Refused(f"{which}: a signature line starts with an em dash")
        signer, b64 = line[2:].split(" ", 1)
        blob = base64.b64decode(b64)
        if signer != name or blob[:4] != key_id or len(blob) != 68:
            continue
        try:
            public.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise Refused(f"{which}: the signature by the log key does not verify")
        lines = text.split("\n")
        if lines[0] != name:
            raise Refused(f"{which} is of log {lines[0]!r}; the key is of log {name!r}")
        return int(lines[1]), base64.b64decode(lines[2])
    raise Refused(f"{which} has no signature by the log key {name}")


# --- the bundle ----------------------------------------------------------------------------------

KEYS = {"format", "artifact", "created", "checkpoint", "newest", "consistency", "since", "entries", "documents",
        "decisions", "exceptions", "signatures", "lineage"}


def names_artifact(event, artifact: str) -> bool:
    want = urllib.parse.unquote(artifact)
    subject = event.get("subject", {})
    ty = event.get("context", {}).get("type", "")
    if (ty.startswith("dev.cdevents.artifact.") or ty.startswith("dev.cdeventsx.dossier-artifact.")) and \
            urllib.parse.unquote(subject.get("id", "")) == want:
        return True

    def walk(v):
        if isinstance(v, dict):
            return any((k == "artifactId" and isinstance(x, str) and urllib.parse.unquote(x) == want) or walk(x)
                       for k, x in v.items())
        if isinstance(v, list):
            return any(walk(x) for x in v)
        return False

    return walk(subject.get("content"))


def verify(bundle, key, trusted_note=None) -> str:
    if set(bundle) - KEYS or not {k for k in KEYS if k != "since"} <= set(bundle):
        raise Refused(f"the bundle's members are not those of {FORMAT}")
    if bundle["format"] != FORMAT:
        raise Refused(f"not a bundle of format {FORMAT}: {bundle['format']!r}")
    if len(bundle["entries"]) > MAX_ENTRIES:
        raise Refused(f"more than {MAX_ENTRIES} entries")
    n, root_n = open_checkpoint(bundle["newest"], key, "the newest checkpoint")
    c, root_c = open_checkpoint(bundle["checkpoint"], key, "the checkpoint")
    if c > n:
        raise Refused(f"the newest checkpoint (size {n}) is older than the checkpoint (size {c})")
    if not verify_consistency(c, n, root_c, root_n, [b64hash(h) for h in bundle["consistency"]]):
        raise Refused(f"the consistency proof from size {c} to size {n} does not verify")
    trusted = ""
    if trusted_note is not None:
        t, root_t = open_checkpoint(trusted_note, key, "the trusted checkpoint")
        if t > n:
            raise Refused(f"the trusted checkpoint (size {t}) is newer than the bundle's newest (size {n})")
        if t in (n, c):
            if root_t != (root_n if t == n else root_c):
                raise Refused(f"the trusted checkpoint of size {t} has another root: the log was rewritten")
        else:
            since = bundle.get("since")
            if not since or since["size"] != t:
                raise Refused(f"the bundle holds no consistency proof from the trusted size {t}")
            if not verify_consistency(t, n, root_t, root_n, [b64hash(h) for h in since["consistency"]]):
                raise Refused(f"the consistency proof from the trusted size {t} to size {n} does not verify")
        trusted = f"; it extends the trusted checkpoint of size {t}"
    events = {}
    previous = -1
    for entry in bundle["entries"]:
        seq = entry["seq"]
        if seq <= previous:
            raise Refused(f"entry {seq} is listed after entry {previous}")
        previous = seq
        if seq >= c:
            raise Refused(f"entry {seq} is beyond the checkpoint (size {c})")
        raw = base64.b64decode(entry["raw"], validate=True)
        try:
            event = json.loads(raw, parse_int=parse_int)
        except ValueError as e:
            raise Refused(f"entry {seq} is not JSON: {e}")
        leaf = leaf_hash(entry["received"], entry["sender"], raw, jcs(event))
        if not verify_inclusion(leaf, seq, c, [b64hash(h) for h in entry["inclusion"]], root_c):
            raise Refused(f"entry {seq} is not in the checkpoint of size {c}: its bytes, receipt time or sender "
                          "were changed, or its proof is for another tree")
        events[seq] = event
    if not any(names_artifact(e, bundle["artifact"]) for e in events.values()):
        raise Refused(f"no entry names {bundle['artifact']}")

    def cited(seq, by, prefix=None):
        if seq not in events:
            raise Refused(f"{by} cites entry {seq}, which the bundle does not hold")
        ty = events[seq]["context"]["type"]
        if prefix is not None and not ty.startswith(prefix):
            raise Refused(f"{by} cites entry {seq}, of type {ty}, not {prefix}*")
        return events[seq]

    included = 0
    for doc in bundle["documents"]:
        event = cited(doc["entry"], f"document {doc['digest']}", "dev.cdeventsx.dossier-document.received.")
        if event["subject"]["id"] != doc["digest"]:
            raise Refused(f"document {doc['digest']} is cited with entry {doc['entry']}, which records another")
        if "content" in doc:
            found = "sha256:" + hashlib.sha256(base64.b64decode(doc["content"], validate=True)).hexdigest()
            if found != doc["digest"]:
                raise Refused(f"the content of document {doc['digest']} (entry {doc['entry']}) hashes to {found}")
            included += 1
    for seq in bundle["decisions"]:
        event = cited(seq, "the decisions", "dev.cdeventsx.dossier-policy.decided.")
        trigger = event.get("subject", {}).get("content", {}).get("trigger", {}).get("seq")
        if trigger is not None:
            cited(trigger, f"the decision of entry {seq}, as its trigger,")
    for seq in bundle["exceptions"]:
        cited(seq, "the exceptions", "dev.cdeventsx.dossier-exception.")
    for seq in bundle["signatures"]:
        cited(seq, "the signature checks", "dev.cdeventsx.dossier-signature.checked.")
    for edge in bundle["lineage"]:
        cited(edge["entry"], f"the lineage edge {edge['relation']} of {edge.get('artifact', edge.get('service'))}")
    return (f"verified: {len(events)} entries about {bundle['artifact']} are in the signed checkpoint of size {c}, "
            f"which the newest (size {n}) extends{trusted}; {len(bundle['documents'])} documents ({included} with "
            f"matching bytes), {len(bundle['decisions'])} decisions, {len(bundle['exceptions'])} exceptions, "
            f"{len(bundle['signatures'])} signature checks, {len(bundle['lineage'])} lineage edges cite entries it holds")


def main(argv) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        bundle = json.load(f)
    with open(argv[2]) as f:
        key = read_key(f.read())
    trusted = None
    if len(argv) == 4:
        with open(argv[3]) as f:
            trusted = f.read()
    try:
        print(verify(bundle, key, trusted))
        return 0
    except (Refused, KeyError, TypeError, ValueError) as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
