#!/usr/bin/env python3
"""Checks a witness's cosignature on a Dossier checkpoint independently of Dossier's code,
from the text of C2SP tlog-cosignature (Ed25519, cosignature/v1), with Python's `cryptography`.

Usage: cross-check-cosignature.py WITNESS_VKEY_FILE NOTE_FILE
  WITNESS_VKEY_FILE  e.g. ./witness/witness.pub  (name+keyid+base64(0x04 || public key))
  NOTE_FILE          a cosigned checkpoint, e.g. from GET /api/v1/log/checkpoint
"""
import base64
import hashlib
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def main(vkey_file: str, note_file: str) -> None:
    name, key_id, data = open(vkey_file).read().strip().split("+", 2)
    raw = base64.b64decode(data)
    if raw[0] != 0x04:
        sys.exit("not a cosignature key: its type byte is not 0x04")
    public = raw[1:]
    if hashlib.sha256(name.encode() + b"\n" + b"\x04" + public).digest()[:4].hex() != key_id:
        sys.exit("the key id is not SHA-256(name || 0x0A || 0x04 || key)[:4]")
    note = open(note_file).read()
    body, signatures = note.split("\n\n", 1)
    body += "\n"
    for line in signatures.splitlines():
        signer, b64 = line[2:].split(" ", 1)
        blob = base64.b64decode(b64)
        if signer != name or blob[:4].hex() != key_id:
            continue
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        message = f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()
        Ed25519PublicKey.from_public_bytes(public).verify(blob[12:], message)  # raises if wrong
        print(f"verified: {name} cosigned this checkpoint at {timestamp}")
        return
    sys.exit(f"no cosignature by {name} on the note")


if __name__ == "__main__":
    main(*sys.argv[1:3])
