#!/usr/bin/env bash
# On demand: every C test program (native/test) under valgrind memcheck.
#   scripts/valgrind-c.sh [TEST...]      e.g. scripts/valgrind-c.sh api lifecycle
# Builds build/valgrind (Debug, no sanitizers, software bounds checks: valgrind
# cannot map the 8 GiB guard region of every running container, so tests
# that run dozens at once fail to instantiate) and runs each test_<name> with
#   valgrind --leak-check=full --error-exitcode=1 (definite, indirect and
#   possible leaks count as errors) --suppressions=native/test/valgrind.supp
# Timing bounds are relaxed as for the sanitizer builds (OCRE_TEST_SLOW=1) and
# the concurrency hammer runs for OCRE_TEST_SECONDS (default here 3).
# Logs: build/valgrind/logs/<test>.log. Exit status 1 if any test fails or
# valgrind reports an error or a leak.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/valgrind"
command -v valgrind >/dev/null || { echo "valgrind-c: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Debug -DOCRE_BUILD_TESTS=ON -DOCRE_BUILD_ADDON=OFF -DOCRE_HW_BOUNDS=OFF >"$out.configure.log" 2>&1 || { cat "$out.configure.log" >&2; exit 2; }
cmake --build "$out" --parallel 2 >"$out.build.log" 2>&1 || { tail -50 "$out.build.log" >&2; exit 2; }
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=(api lifecycle kill stdio fs net concurrency)
fi
mkdir -p "$out/logs" "$out/tmp"
failed=0
for t in "${tests[@]}"; do
  bin=$(find "$out" -name "test_$t" -type f -perm -u+x | head -1)
  if [ -z "$bin" ]; then echo "valgrind-c: no test_$t in $out" >&2; failed=1; continue; fi
  log="$out/logs/$t.log"
  start=$(date +%s)
  OCRE_FIXTURES="$root/test/fixtures" OCRE_TEST_TMP="$out/tmp" OCRE_TEST_SLOW=1 \
    OCRE_TEST_SECONDS="${OCRE_TEST_SECONDS:-3}" \
    valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
      --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1 --track-origins=yes --fair-sched=yes \
      --suppressions="$root/native/test/valgrind.supp" --gen-suppressions=all \
      --log-file="$log" "$bin" >"$out/logs/$t.out" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  summary=$(grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost" "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')
  if [ $rc -eq 0 ]; then
    echo "ok   $t (${secs} s) $summary"
  else
    echo "FAIL $t (exit $rc, ${secs} s) $summary — see $log and $out/logs/$t.out"
    failed=1
  fi
done
exit $failed
