#!/usr/bin/env bash
# On demand: libFuzzer + ASan over the C image load path.
#   scripts/fuzz-c.sh [libFuzzer args...]   e.g. -max_total_time=60
# Seeds are the fixtures; crashes land in build/fuzz/crashes/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/fuzz"
command -v clang >/dev/null || { echo "fuzz-c: needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
cmake -S "$root" -B "$out/lib" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DOCRE_SANITIZE=address -DOCRE_BUILD_TESTS=OFF -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$out/lib" --target ocre --parallel 2 >/dev/null
clang -g -O1 -fsanitize=fuzzer,address,undefined -I "$root/native/include" "$root/native/fuzz/fuzz_load.c" \
  "$out/lib/libocre.a" -lpthread -lm -ldl -o "$out/fuzz_load"
mkdir -p "$out/corpus" "$out/crashes"
cp -n "$root"/test/fixtures/*.wasm "$out/corpus/" 2>/dev/null || true
cd "$out" && exec ./fuzz_load -artifact_prefix=crashes/ -rss_limit_mb=4096 "$@" corpus
