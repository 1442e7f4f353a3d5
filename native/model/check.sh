#!/usr/bin/env bash
# native/model/check.sh — model-checks native/model/parkwake.pml with spin: a safety run (assertions, invalid end
# states = deadlocks, no never claim) and a liveness run of the LTL property no_lost_wakeup (./pan -a -f, weak
# fairness). Exits 0 only when both find no error.
# Usage: native/model/check.sh [-DMACRO ...]      e.g. -DBUG_NO_RECHECK, -DN=6 -DCAP=3 (see the model's header)
# Prints "safety: errors: N" and "liveness: errors: N"; pan's output and trails are kept in $MODEL_OUT
# when set (default: a temporary directory, removed afterwards).
set -euo pipefail
MODEL="$(cd "$(dirname "$0")" && pwd)/parkwake.pml"
if [ -n "${MODEL_OUT:-}" ]; then OUT="$MODEL_OUT"; else OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT; fi
mkdir -p "$OUT"
cd "$OUT"
cp "$MODEL" parkwake.pml # spin -t looks for the trail next to the model
spin -a "$@" parkwake.pml > spin.out
gcc -O2 -DNOCLAIM -o pan_safety pan.c
gcc -O2 -o pan_live pan.c
set +e
./pan_safety -m100000 > safety.out 2>&1
./pan_live -a -f -m100000 > liveness.out 2>&1
set -e
s="$(grep -o 'errors: [0-9]*' safety.out || echo 'errors: ?')"
l="$(grep -o 'errors: [0-9]*' liveness.out || echo 'errors: ?')"
echo "safety: $s ($(grep -m1 'states, stored' safety.out | sed 's/^ *//'))"
grep -m1 '^pan:1' safety.out || true
echo "liveness: $l ($(grep -m1 'states, stored' liveness.out | sed 's/^ *//'))"
grep -m1 '^pan:1' liveness.out || true
if [ "$s" != "errors: 0" ]; then
  # the counterexample of the safety run, as spin replays it (last steps only)
  ./pan_safety -m100000 > /dev/null 2>&1 || true
  echo "counterexample (last steps of spin -t -p -g; the full trail: MODEL_OUT=DIR, then spin -t -p -g in DIR):"
  [ -e parkwake.pml.trail ] && { spin -t -p -g "$@" parkwake.pml 2>&1 | grep -v '^ltl' | tail -n 30 || true; }
fi
[ "$s" = "errors: 0" ] && [ "$l" = "errors: 0" ]
