#!/usr/bin/env bash
# Debian packages the build needs, installed only when missing (sourced by .ci/run and
# examples/demo.sh): a C compiler for blake3's C/asm code, a C++ compiler for RocksDB, clang and
# libclang for the bindgen of librocksdb-sys. Extra packages can be passed as arguments.
maat_install_build_deps() {
  local missing=("$@")
  command -v cc >/dev/null 2>&1 || missing+=(gcc)
  command -v c++ >/dev/null 2>&1 || missing+=(g++)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  compgen -G "/usr/lib/llvm-*/lib/libclang.so" >/dev/null || missing+=(libclang-dev)
  if [ "${#missing[@]}" -gt 0 ]; then
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}
