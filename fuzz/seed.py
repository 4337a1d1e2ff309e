#!/usr/bin/env python3
"""Writes the seed corpus for `certificate_check`: every certificate of the MaatProof vectors,
prefixed with the mode byte 0 (check the bytes as they are) and 1 (edit the built-in maat-v1
certificate; the rest of the seed is then read as edits)."""
import json, pathlib, sys

root = pathlib.Path(__file__).resolve().parent
out = root / "corpus" / "certificate_check"
out.mkdir(parents=True, exist_ok=True)
n = 0
for f in sorted((root.parent / "certificate/tests/vectors/maatproof").glob("*.json")):
    v = json.loads(f.read_text())
    if v.get("kind") != "certificate":
        continue
    (out / f"{f.stem}").write_bytes(b"\x00" + json.dumps(v["certificate"]).encode())
    n += 1
(out / "edit-nothing").write_bytes(b"\x01")
print(f"wrote {n + 1} seeds to {out}", file=sys.stderr)
