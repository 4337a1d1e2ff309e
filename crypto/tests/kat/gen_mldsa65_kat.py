#!/usr/bin/env python3
"""Generate the ML-DSA-65 known-answer data in mldsa65_dilithium_py.json.

The signatures come from dilithium-py, a pure-Python FIPS 204 implementation that shares no code
with the Rust `ml-dsa` crate, so the Rust test `tests/mldsa_kat.rs` checks interoperability, not
self-consistency. The JSON is committed; the Rust tests do not need Python.

    python3 -m venv /tmp/kat && /tmp/kat/bin/pip install dilithium-py==1.5.1
    /tmp/kat/bin/python crypto/tests/kat/gen_mldsa65_kat.py > crypto/tests/kat/mldsa65_dilithium_py.json

What is signed: pure ML-DSA (FIPS 204 Algorithm 2) with an empty context string, deterministic
variant (rnd = 32 zero bytes), over domain || msg, i.e. M' = 0x00 || 0x00 || domain || msg. That is
exactly what `maat_crypto::sig::KeyPair::sign_deterministic(domain, msg)` computes.
"""

import hashlib
import json
import sys
from importlib.metadata import version

from dilithium_py.ml_dsa import ML_DSA_65

SEEDS = [
    ("bytes 0..31", bytes(range(32))),
    ("all 0xff", b"\xff" * 32),
    ('sha256("maat-kat-1")', hashlib.sha256(b"maat-kat-1").digest()),
    ('sha256("maat-kat-2")', hashlib.sha256(b"maat-kat-2").digest()),
]

# (domain, msg) pairs. The first has an empty domain so the vector is a plain FIPS 204 one.
MESSAGES = [
    (b"", b""),
    (b"maat/evidence/v1\n", b"bb2204039d6fcee3" * 4),
    (b"maat/kat/v1\n", bytes(range(100))),
    (b"maat/kat/v1\n", bytes((7 * i) & 0xFF for i in range(1000))),
]


def main() -> None:
    vectors = []
    for seed_name, seed in SEEDS:
        pk, sk = ML_DSA_65.key_derive(seed)
        assert len(pk) == 1952, len(pk)
        for domain, msg in MESSAGES:
            # ctx = b"" and deterministic=True: M' = 0x00 || 0x00 || domain || msg, rnd = 0^32.
            sig = ML_DSA_65.sign(sk, domain + msg, ctx=b"", deterministic=True)
            assert len(sig) == 3309, len(sig)
            assert ML_DSA_65.verify(pk, domain + msg, sig, ctx=b"")
            vectors.append(
                {
                    "seed_name": seed_name,
                    "seed": seed.hex(),
                    "public_key": pk.hex(),
                    "domain": domain.hex(),
                    "msg": msg.hex(),
                    "signature": sig.hex(),
                }
            )
    out = {
        "generator": f"dilithium-py {version('dilithium-py')} (ML_DSA_65.key_derive, "
        "ML_DSA_65.sign(ctx=b'', deterministic=True))",
        "algorithm": "ML-DSA-65 (FIPS 204), pure, empty context, deterministic (rnd = 0^32)",
        "signed_bytes": "domain || msg",
        "vectors": vectors,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
