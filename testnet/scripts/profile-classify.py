#!/usr/bin/env python3
"""Groups `perf report --sort comm,sym -g none` lines (stdin) into components: the share of all
samples per (process kind, component). The patterns are substrings of demangled Rust symbols."""
import re
import sys
from collections import defaultdict

# First match wins; order matters (specific before general).
COMPONENTS = [
    ("ed25519 verify/sign", ["curve25519", "ed25519"]),
    ("ml-dsa-65 (votes, QCs, checkpoints)", ["ml_dsa", "fips204", "keccak", "sha3"]),
    ("sha-256 / blake3 hashing", ["sha2::", "sha256", "blake3", "compress256"]),
    ("rocksdb", ["rocksdb", "librocksdb", "lz4", "LZ4"]),
    ("certificate check (json, maat-v1)", ["maat_certificate"]),
    ("ledger / mempool logic", ["maat_ledger", "maat_mempool"]),
    ("consensus core", ["maat_consensus"]),
    ("p2p: noise/yamux/gossipsub/tcp", ["libp2p", "yamux", "snow::", "chacha", "poly1305", "gossipsub", "multistream"]),
    ("protobuf (prost)", ["prost::", "maat_proto"]),
    ("rpc: jsonrpsee/hyper/serde/hex", ["jsonrpsee", "hyper", "serde_json", "serde::", "hex::", "h2::", "tonic"]),
    ("memory (malloc/free/memcpy)", ["malloc", "free", "memcpy", "memmove", "memset", "realloc", "_int_", "cfree"]),
    ("tokio runtime", ["tokio::"]),
    ("kernel (syscalls, network, scheduling)", ["[k]", "entry_SYSCALL", "do_syscall"]),
]

# `--sort pid,sym`: "  12.34%  12345:tokio-runtime-w  [.] symbol"
line_re = re.compile(r"^\s*([\d.]+)%\s+(\d+):(\S+)\s+\[(.)\]\s+(.*)$")
gen_pids = set(filter(None, sys.argv[1].split(","))) if len(sys.argv) > 1 else set()
totals = defaultdict(float)
by_comm = defaultdict(float)
for line in sys.stdin:
    m = line_re.match(line)
    if not m:
        continue
    pct, pid, kind, sym = float(m.group(1)), m.group(2), m.group(4), m.group(5)
    proc = "load generator" if pid in gen_pids else "maatd (all validators)"
    text = ("[k] " if kind == "k" else "") + sym
    comp = "other"
    for name, pats in COMPONENTS:
        if any(p in text for p in pats):
            comp = name
            break
    totals[(proc, comp)] += pct
    by_comm[proc] += pct

print("| process | component | share of all sampled CPU |")
print("|---|---|---|")
for (proc, comp), pct in sorted(totals.items(), key=lambda kv: -kv[1]):
    if pct >= 0.1:
        print(f"| {proc} | {comp} | {pct:.1f} % |")
print()
for proc, pct in sorted(by_comm.items(), key=lambda kv: -kv[1]):
    print(f"{proc}: {pct:.1f} % of samples")
