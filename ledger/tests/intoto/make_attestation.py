#!/usr/bin/env python3
"""Makes a DSSE-signed in-toto attestation with the reference Python tooling, for the interop
test ledger/tests/attestation_tx.rs.

Usage: make_attestation.py --seed HEX64 --keyid ID [--subject NAME=SHA256HEX]...

The Statement is built with the `in-toto-attestation` package (`Statement`,
`ResourceDescriptor`, and the SLSA provenance v1 protobuf for the predicate) and serialized with
the package's own JSON (protobuf `json_format.MessageToJson` of `statement.pb`). It is signed as
DSSE: Ed25519 (`cryptography`, private key from the 32-byte seed) over
PAE = b"DSSEv1 %d %s %d %s" % (len(type), type, len(payload), payload).

Without --subject the Statement has two subjects, `dist/app-1.0.tar.gz` and
`dist/app-1.0.sbom.json`, whose sha256 digests are those of the bytes `app-1.0.tar.gz bytes`
and `app-1.0.sbom.json bytes` (hashlib), so the caller can recompute them.

Prints the DSSE envelope JSON (standard padded base64) on stdout. Exits 3 when a Python module
is missing (install: `pip install in-toto-attestation==0.9.3 cryptography`, or run `.ci/run`),
2 on bad arguments.
"""

import argparse
import base64
import hashlib
import json
import sys

PAYLOAD_TYPE = "application/vnd.in-toto+json"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
DEFAULT_SUBJECTS = [
    ("dist/app-1.0.tar.gz", b"app-1.0.tar.gz bytes"),
    ("dist/app-1.0.sbom.json", b"app-1.0.sbom.json bytes"),
]

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from google.protobuf import json_format
    from google.protobuf.timestamp_pb2 import Timestamp
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement
except ImportError as e:
    print(
        f"missing Python module: {e}; run .ci/run or "
        "`python3 -m pip install --user in-toto-attestation==0.9.3 cryptography`",
        file=sys.stderr,
    )
    sys.exit(3)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def provenance() -> dict:
    """A SLSA provenance v1 predicate built from the package's protobuf, as a JSON object."""
    started = Timestamp()
    started.FromJsonString("2026-01-01T00:10:00Z")
    finished = Timestamp()
    finished.FromJsonString("2026-01-01T00:17:31Z")
    p = provenance_pb2.Provenance()
    bd = p.build_definition
    bd.build_type = "https://actions.github.io/buildtypes/workflow/v1"
    bd.external_parameters.update(
        {
            "workflow": {
                "ref": "refs/tags/v1.0.0",
                "repository": "https://github.com/example-org/app",
                "path": ".github/workflows/release.yml",
            }
        }
    )
    # A number: protobuf's Struct writes every number as a double (1.0).
    bd.internal_parameters.update({"github": {"event_name": "push", "run_attempt": 1}})
    bd.resolved_dependencies.append(
        ResourceDescriptor(
            uri="git+https://github.com/example-org/app@refs/tags/v1.0.0",
            digest={"gitCommit": "7d9e3a1f0b2c4d5e6f708192a3b4c5d6e7f80912"},
        ).pb
    )
    rd = p.run_details
    rd.builder.id = "https://github.com/example-org/app/.github/workflows/release.yml@refs/tags/v1.0.0"
    rd.metadata.invocation_id = "https://github.com/example-org/app/actions/runs/1/attempts/1"
    rd.metadata.started_on.CopyFrom(started)
    rd.metadata.finished_on.CopyFrom(finished)
    return json_format.MessageToDict(p)


def subject_arg(text: str) -> tuple:
    name, sep, digest = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=SHA256HEX, got {text!r}")
    return name, digest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", required=True, help="Ed25519 seed, 64 hex characters")
    parser.add_argument("--keyid", required=True, help="the signing identity's id")
    parser.add_argument(
        "--subject", action="append", type=subject_arg, default=[], help="NAME=SHA256HEX"
    )
    args = parser.parse_args()
    try:
        seed = bytes.fromhex(args.seed)
    except ValueError:
        seed = b""
    if len(seed) != 32:
        parser.error("--seed must be 64 hex characters")

    subjects = args.subject or [
        (name, hashlib.sha256(content).hexdigest()) for name, content in DEFAULT_SUBJECTS
    ]
    statement = Statement(
        [ResourceDescriptor(name=name, digest={"sha256": d}).pb for name, d in subjects],
        SLSA_PROVENANCE_V1,
        provenance(),
    )
    statement.validate()
    payload = json_format.MessageToJson(statement.pb).encode()

    key = Ed25519PrivateKey.from_private_bytes(seed)
    sig = key.sign(pae(PAYLOAD_TYPE, payload))
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": args.keyid, "sig": base64.b64encode(sig).decode()}],
    }
    print(json.dumps(envelope))
    return 0


if __name__ == "__main__":
    sys.exit(main())
