#!/usr/bin/env bash
# On demand: libFuzzer + ASan + UBSan over the C API on untrusted modules
# (native/fuzz/fuzz_load.c: ocre_context_create_container, then start ->
# WAMR instantiate -> a few ms of guest code -> kill -> remove), no V8.
#
#   scripts/fuzz-c.sh [--time SECONDS] [libFuzzer args...]
#   npm run fuzz -- --libfuzzer SECONDS          (the same, via scripts/fuzz.mjs)
#
# --time runs a campaign: one worker (-fork=1) that goes on past findings
# (crashes, leaks, timeouts, OOMs are saved to build/fuzz/crashes/ and the
# campaign continues) for SECONDS of wall time; the log is
# build/fuzz/campaign.log. Without --time the arguments go to libFuzzer as
# they are (-runs=N, -max_total_time=N...); files as the first arguments are
# run once each (reproduce a finding: scripts/fuzz-c.sh build/fuzz/crashes/X).
#
# Seed corpus (build/fuzz/seeds/, rebuilt each time): test/fixtures/*.wasm,
# test/fixtures/regress/*.wasm, native/fuzz/seeds/*.wat (with wat2wasm), and
# the WASI testsuite modules (/work/shared/wasi-testsuite, or $WASI_TESTSUITE)
# when present. What libFuzzer adds is kept in build/fuzz/corpus/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/fuzz"
time=""
if [[ "${1:-}" == "--time" ]]; then
  time="${2:?--time needs a number of seconds}"
  [[ "$time" =~ ^[0-9]+$ ]] || { echo "fuzz-c: --time takes a number of seconds, not $time" >&2; exit 2; }
  shift 2
fi
command -v clang >/dev/null || { echo "fuzz-c: needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
# The library with ASan+UBSan (OCRE_SANITIZE=address) and libFuzzer's coverage.
cmake -S "$root" -B "$out/lib" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DOCRE_SANITIZE=address -DOCRE_BUILD_TESTS=OFF -DOCRE_AOTC=OFF -DOCRE_OCI=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$out/lib" --target ocre --parallel 2 >/dev/null
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I "$root/native/include" \
  "$root/native/fuzz/fuzz_load.c" "$out/lib/libocre.a" -lpthread -lm -ldl -o "$out/fuzz_load"

rm -rf "$out/seeds"
mkdir -p "$out/seeds" "$out/corpus" "$out/crashes"
cp "$root"/test/fixtures/*.wasm "$root"/test/fixtures/regress/*.wasm "$out/seeds/"
if command -v wat2wasm >/dev/null; then
  for wat in "$root"/native/fuzz/seeds/*.wat; do
    wat2wasm --enable-all "$wat" -o "$out/seeds/$(basename "$wat" .wat).wasm"
  done
else
  echo "fuzz-c: wat2wasm not found (apt-get install wabt): native/fuzz/seeds/*.wat left out of the corpus" >&2
fi
suite="${WASI_TESTSUITE:-/work/shared/wasi-testsuite}"
if [[ -d "$suite" ]]; then
  find "$suite" -name '*.wasm' -print0 | while IFS= read -r -d '' f; do
    cp "$f" "$out/seeds/wasi-$(echo "$f" | sha256sum | cut -c1-12)-$(basename "$f")"
  done
else
  echo "fuzz-c: no WASI testsuite at $suite: its modules are left out of the corpus" >&2
fi
echo "fuzz-c: $(ls "$out/seeds" | wc -l) seeds, $(ls "$out/corpus" | wc -l) corpus entries" >&2

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
if [[ -z "$time" && $# -gt 0 && -f "$1" ]]; then
  exec "$out/fuzz_load" "$@" # reproduce: run these inputs once each
fi
cd "$out"
if [[ -n "$time" ]]; then
  # the 4 MiB-per-input cap keeps every seed (the largest testsuite module is ~2 MiB)
  ./fuzz_load -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=20 -rss_limit_mb=2048 \
    -max_len=4194304 -max_total_time="$time" -artifact_prefix=crashes/ "$@" corpus seeds 2>&1 | tee campaign.log
  echo "fuzz-c: findings in $out/crashes: $(ls crashes | wc -l); log: $out/campaign.log" >&2
else
  exec ./fuzz_load -artifact_prefix=crashes/ -rss_limit_mb=2048 "$@" corpus seeds
fi
