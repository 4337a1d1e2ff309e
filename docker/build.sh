#!/usr/bin/env bash
# The image's build step, also run outside Docker by CI (testnet/tests/docker.rs) so the
# Dockerfile's commands are checked without a Docker engine.
#   MAAT_PROFILE  cargo profile (release in the image; dev in CI, which builds one profile)
#   MAAT_OUT      directory that receives maatd, maat-testnet and maat
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${MAAT_PROFILE:-release}"
out="${MAAT_OUT:?set MAAT_OUT to the output directory}"
target="${CARGO_TARGET_DIR:-target}"
case "$profile" in
  dev) dir=debug ;;
  *) dir="$profile" ;;
esac
# `--bins --tests`: the exact feature set of `cargo test --workspace`, so CI (and a machine that
# ran the tests) reuses that build; without `--tests` dev-dependencies unify features
# differently and librocksdb-sys is compiled a second time (~15 minutes).
cargo build --workspace --locked --profile "$profile" --bins --tests
mkdir -p "$out"
for b in maatd maat-testnet maat; do
  install -m 0755 "$target/$dir/$b" "$out/$b"
done
# Smaller image: the line tables stay in the build stage.
if [ "$profile" = release ] && command -v strip >/dev/null 2>&1; then
  strip "$out"/maatd "$out"/maat-testnet "$out"/maat
fi
"$out/maatd" --version
"$out/maat-testnet" --version
