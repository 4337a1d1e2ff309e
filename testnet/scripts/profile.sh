#!/usr/bin/env bash
# Where the CPU goes on a running testnet: samples every maatd of the testnet directory (and
# the load generator, if running) with `perf record -e cpu-clock` for SECONDS, then groups the
# samples by component with profile-classify.py.
#   usage: testnet/scripts/profile.sh DIR SECONDS [OUT.data]
# perf's hardware counters are often unavailable on shared VMs; cpu-clock (a software event)
# works everywhere perf does. Needs symbols: release builds keep line tables (Cargo.toml).
set -euo pipefail
dir="$1"; secs="$2"; out="${3:-/tmp/maat-profile.data}"
pids=$(cat "$dir"/*/maatd.pid | paste -sd, -)
[ -n "$pids" ] || { echo "no maatd runs in $dir" >&2; exit 1; }
gen=$(pgrep -f 'maat-testnet .*load|maat-testnet .*curve|maat-testnet .*chaos' | paste -sd, - || true)
[ -n "$gen" ] && pids="$pids,$gen"
perf record -e cpu-clock -F 499 -g -p "$pids" -o "$out" -- sleep "$secs" >/dev/null 2>&1
perf report -i "$out" --stdio --no-children --sort pid,sym --percent-limit 0 -g none 2>/dev/null |
  python3 "$(dirname "$0")/profile-classify.py" "$gen"
