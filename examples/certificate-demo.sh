#!/usr/bin/env bash
# Newcomer demo: build `maat`, create a signing key, build and check a maat-v1 certificate,
# then replay one MaatProof reference vector. Leaves nothing behind but the build cache.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/maat-target}"
cargo build -q -p maat-sdk --bin maat --manifest-path "$root/Cargo.toml"
maat="$CARGO_TARGET_DIR/debug/maat"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples/checkout/." "$work/"
mkdir -p "$work/keys"

echo "== maat keygen"
"$maat" keygen --alg ed25519 --id ci-bot --out "$work/keys/ci.json"
echo "== maat cert build"
"$maat" cert build --spec "$work/deploy.toml" --key "$work/keys/ci.json" > "$work/cert.json"
echo "   wrote $(wc -c < "$work/cert.json") bytes of canonical JSON"
echo "== maat cert check --rule-set maat-v1"
"$maat" cert check "$work/cert.json" --rule-set maat-v1 --registry "$work/registry.toml"
echo "== maat cert check --vector 002 (maatproof-v1)"
"$maat" cert check --vector "$root/certificate/tests/vectors/maatproof/002_valid_float_freshness.json"
