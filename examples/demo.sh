#!/usr/bin/env bash
# The first run on a fresh machine: install the Debian packages the build needs (if missing),
# build maatd, maat-testnet and maat, start a local 4-validator testnet in ./.maat-testnet,
# finalize a sample certificate, verify its finality proof offline and print the receipt.
# The network keeps running: `maat-testnet status` / `maat-testnet down` (binaries in
# $CARGO_TARGET_DIR/debug). Arguments go to `maat-testnet demo` (e.g. --stop, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/maat-target}"
# shellcheck source=../.ci/build-deps.sh
source .ci/build-deps.sh
maat_install_build_deps
command -v cargo >/dev/null 2>&1 || {
  echo "cargo is missing: install Rust 1.95 or newer (https://rustup.rs)" >&2
  exit 1
}
echo "building maatd, maat-testnet and maat (the first build takes a while: RocksDB) ..." >&2
# With the tests' feature set (`--tests`), so the README's second command reuses this build.
cargo build --workspace --locked --bins --tests
exec "$CARGO_TARGET_DIR/debug/maat-testnet" demo "$@"
