#!/usr/bin/env bash
# Build the WebAssembly test fixtures: test/fixtures/src/NAME.c -> test/fixtures/NAME.wasm
# (and bench/native/sha256 and nbody from the same sources with the host compiler), and
# the hand-written test/fixtures/wat/NAME.wat -> test/fixtures/NAME.wasm (wat2wasm).
#
# Usage: scripts/build-fixtures.sh [NAME...]     (default: every fixture)
#
# Environment:
#   CLANG          clang able to target wasm32-wasi (default: clang)
#   WASI_SYSROOT   wasi-libc sysroot (default: clang's own, /usr on Debian)
#   HOST_CC        native compiler for bench/native/sha256 (default: gcc)
#   OCRE_WAMR_DIR  WAMR source tree (otherwise scripts/fetch-wamr.mjs fetches it);
#                  only net.c needs it, for lib-socket's wasi_socket_ext.c.
#
# The .wasm outputs are committed, so tests never need this toolchain.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src_dir="$root/test/fixtures/src"
out_dir="$root/test/fixtures"
native_dir="$root/bench/native"

CLANG="${CLANG:-clang}"
HOST_CC="${HOST_CC:-gcc}"
FIX_HINT="apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32"

export LC_ALL=C SOURCE_DATE_EPOCH=0

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

wasm_flags=(--target=wasm32-wasi -O2 -g0 -Wall -Wextra -Wno-unused-parameter -DNDEBUG)
if [[ -n "${WASI_SYSROOT:-}" ]]; then
  wasm_flags+=("--sysroot=$WASI_SYSROOT")
fi
# Keep the build directory out of the output; --stack-first makes a C stack
# overflow trap (it wraps below address 0) instead of silently overwriting data.
wasm_flags+=("-ffile-prefix-map=$root=." -Wl,--stack-first -Wl,--strip-debug)

# 1. Can clang build a wasm32-wasi program at all?
printf 'int main(void){return 0;}\n' >"$tmp/probe.c"
if ! command -v "$CLANG" >/dev/null 2>&1 ||
  ! "$CLANG" "${wasm_flags[@]}" -o "$tmp/probe.wasm" "$tmp/probe.c" >"$tmp/probe.log" 2>&1; then
  [[ -s "$tmp/probe.log" ]] && sed 's/^/  /' "$tmp/probe.log" >&2
  echo "build-fixtures: $CLANG cannot target wasm32-wasi; fix: $FIX_HINT" >&2
  exit 1
fi

# 2. Which fixtures?
if [[ $# -gt 0 ]]; then
  names=("$@")
else
  names=()
  for f in "$src_dir"/*.c; do
    n="$(basename "$f" .c)"
    names+=("$n")
  done
fi

wamr_dir=""
wamr() {
  if [[ -z "$wamr_dir" ]]; then
    wamr_dir="$(node "$root/scripts/fetch-wamr.mjs")"
    wamr_dir="${wamr_dir%$'\n'}"
  fi
  printf '%s' "$wamr_dir"
}

for name in "${names[@]}"; do
  src="$src_dir/$name.c"
  if [[ -f "$root/test/fixtures/wat/$name.wat" && ! -f "$src" ]]; then
    continue # built below
  fi
  if [[ ! -f "$src" ]]; then
    echo "build-fixtures: no such fixture: $src" >&2
    exit 1
  fi
  extra=()
  if [[ "$name" == net || "$name" == hostile ]]; then
    w="$(wamr)"
    sock="$w/core/iwasm/libraries/lib-socket"
    if [[ ! -f "$sock/src/wasi/wasi_socket_ext.c" ]]; then
      echo "build-fixtures: $sock/src/wasi/wasi_socket_ext.c not found" >&2
      exit 1
    fi
    extra=("-ffile-prefix-map=$w=wamr" -Wno-sign-compare "-I$sock/inc" "$sock/src/wasi/wasi_socket_ext.c")
  fi
  # Ocre applications: message deliveries are copied into the module's heap
  # with its own allocator, which it must export (as the Ocre SDK's build does).
  if [[ "$name" == ocre-* ]]; then
    extra+=(-Wl,--export=malloc -Wl,--export=free)
  fi
  # Run from the repo root with a relative source path: nothing path-specific
  # ends up in the module, so the output is byte-for-byte reproducible.
  (cd "$root" && "$CLANG" "${wasm_flags[@]}" -o "$tmp/$name.wasm" \
    "test/fixtures/src/$name.c" "${extra[@]}")
  mv "$tmp/$name.wasm" "$out_dir/$name.wasm"
  printf '%-32s %7d bytes\n' "test/fixtures/$name.wasm" "$(wc -c <"$out_dir/$name.wasm")"

  if [[ "$name" == sha256 || "$name" == nbody ]]; then
    if command -v "$HOST_CC" >/dev/null 2>&1; then
      mkdir -p "$native_dir"
      "$HOST_CC" -O2 -o "$native_dir/$name" "$src" -lm
      echo "bench/native/$name (native, $HOST_CC -O2)"
    else
      echo "build-fixtures: warning: $HOST_CC not found, bench/native/$name not built" >&2
    fi
  fi
done

# 3. The hand-written modules (every one when no names were given).
wat_names=()
for f in "$root"/test/fixtures/wat/*.wat; do
  n="$(basename "$f" .wat)"
  if [[ $# -eq 0 ]] || printf '%s\n' "$@" | grep -qx "$n"; then
    wat_names+=("$n")
  fi
done
if [[ ${#wat_names[@]} -gt 0 ]]; then
  if ! command -v wat2wasm >/dev/null 2>&1; then
    echo "build-fixtures: wat2wasm not found; fix: apt-get install wabt" >&2
    exit 1
  fi
  for name in "${wat_names[@]}"; do
    wat2wasm "$root/test/fixtures/wat/$name.wat" -o "$out_dir/$name.wasm"
    printf '%-32s %7d bytes\n' "test/fixtures/$name.wasm" "$(wc -c <"$out_dir/$name.wasm")"
  done
fi
