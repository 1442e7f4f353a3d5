#!/usr/bin/env bash
# native/test/sanitize.sh — builds the C tests with clang under AddressSanitizer + UndefinedBehaviorSanitizer and
# the threaded ones under ThreadSanitizer, runs them, and fails on any sanitizer report (every sanitizer is made
# fatal: -fno-sanitize-recover=all, halt_on_error=1, and a report makes the program exit non-zero).
#
# Usage: native/test/sanitize.sh [OUT_DIR]        (default build/sanitize; STRESS_RECORDS=N overrides 300000)
# Covered: ring_test (unit, corruption, park/wake, stress) under ASan+UBSan and under TSan; sidecar_claims_test
# (runtime.c, plugin_loader.c, with test_faulty.so) under ASan+UBSan; ring_vectors write+read round trip of every
# committed vector under ASan+UBSan; last, the Node addon under ASan+UBSan (native/test/sanitize-addon.sh: the addon
# rebuilt into build/asan, a set of the Node test files run against it; SANITIZE_ADDON=0 skips that stage, as
# test/sanitizers.test.ts does, which runs it as a test of its own). Not covered: the addon under TSan,
# sidecar_claims_test under TSan (it forks; the runtime's threads run in children), ring_peer.
# Run by test/sanitizers.test.ts; docs/verification.md says what it proves.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/build/sanitize}"
STRESS_RECORDS="${STRESS_RECORDS:-300000}"
CC="${CC:-clang}"
mkdir -p "$OUT"
cd "$ROOT"

COMMON=(-std=c11 -D_GNU_SOURCE -Inative/include -Inative -g -O1 -fno-omit-frame-pointer -Wall -Wextra)
ASAN=(-fsanitize=address,undefined -fno-sanitize-recover=all)
TSAN=(-fsanitize=thread -fno-sanitize-recover=all)
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:exitcode=86:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
export TSAN_OPTIONS="halt_on_error=1:exitcode=88:second_deadlock_stack=1"

step() { printf '== %s\n' "$*"; }

step "build (clang $("$CC" -dumpversion)) into $OUT"
"$CC" "${COMMON[@]}" "${ASAN[@]}" native/test/ring_test.c -o "$OUT/ring_test.asan" -lpthread
"$CC" "${COMMON[@]}" "${TSAN[@]}" native/test/ring_test.c -o "$OUT/ring_test.tsan" -lpthread
"$CC" "${COMMON[@]}" "${ASAN[@]}" native/test/sidecar_claims_test.c native/sidecar/runtime.c native/sidecar/plugin_loader.c native/sidecar/scheduling.c \
  -o "$OUT/sidecar_claims_test.asan" -ldl -lpthread
"$CC" "${COMMON[@]}" "${ASAN[@]}" -shared -fPIC native/test/plugins/faulty.c -o "$OUT/test_faulty.so"
"$CC" "${COMMON[@]}" "${ASAN[@]}" native/test/ring_vectors.c -o "$OUT/ring_vectors.asan" -lpthread

step "ring_test under ASan+UBSan (--stress-records $STRESS_RECORDS)"
"$OUT/ring_test.asan" --stress-records "$STRESS_RECORDS" > "$OUT/ring_test.asan.out"
tail -n 1 "$OUT/ring_test.asan.out"

step "ring_test under TSan (--stress-records $STRESS_RECORDS)"
"$OUT/ring_test.tsan" --stress-records "$STRESS_RECORDS" > "$OUT/ring_test.tsan.out"
tail -n 1 "$OUT/ring_test.tsan.out"

step "sidecar_claims_test under ASan+UBSan"
# test_faulty.so crashes on purpose (SIGSEGV, abort, ...) and the test expects the child to die of that signal, so
# ASan must not turn those signals into its own report here.
ASAN_OPTIONS="$ASAN_OPTIONS:handle_segv=0:handle_sigbus=0:handle_abort=0:handle_sigfpe=0:handle_sigill=0" \
  "$OUT/sidecar_claims_test.asan" "$OUT/test_faulty.so" > "$OUT/sidecar_claims_test.asan.out"
tail -n 1 "$OUT/sidecar_claims_test.asan.out"

step "ring_vectors write + read under ASan+UBSan"
rm -rf "$OUT/vectors" && mkdir -p "$OUT/vectors"
"$OUT/ring_vectors.asan" write "$OUT/vectors" > /dev/null
for f in "$OUT"/vectors/*.bin; do cmp "$f" "test/vectors/c/$(basename "$f")"; done
n=0
for f in test/vectors/c/*.bin test/vectors/ts/*.bin; do
  [ -e "$f" ] || continue
  # read exits non-zero for a vector that is corrupt on purpose; only a sanitizer's exit code (86/87) fails here.
  set +e; "$OUT/ring_vectors.asan" read "$f" > /dev/null 2> "$OUT/vector.err"; rc=$?; set -e
  if [ "$rc" -ge 86 ] || [ "$rc" -ge 128 ] || grep -q 'Sanitizer\|runtime error' "$OUT/vector.err"; then
    cat "$OUT/vector.err" >&2; echo "sanitizer report reading $f (exit $rc)" >&2; exit 1
  fi
  n=$((n + 1))
done
echo "$n vectors read"

if [ "${SANITIZE_ADDON:-1}" != 0 ]; then
  step "the Node addon under ASan+UBSan (native/test/sanitize-addon.sh)"
  "$ROOT/native/test/sanitize-addon.sh"
fi
step "no sanitizer report"
