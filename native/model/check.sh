#!/usr/bin/env bash
# native/model/check.sh — model-checks native/model/parkwake.pml with spin: a safety run (assertions, invalid end
# states = deadlocks, no never claim) and a liveness run of the LTL property no_lost_wakeup (./pan -a -f, weak
# fairness). Exits 0 only when both find no error.
# Usage: native/model/check.sh [-DMACRO ...]      e.g. -DBUG_NO_RECHECK, -DN=6 -DCAP=3 (see the model's header)
# Prints "safety: errors: N" and "liveness: errors: N"; pan's output is in $MODEL_OUT (default: a temporary dir).
set -euo pipefail
MODEL="$(cd "$(dirname "$0")" && pwd)/parkwake.pml"
OUT="${MODEL_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
cd "$OUT"
spin -a "$@" "$MODEL" > spin.out
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
[ "$s" = "errors: 0" ] && [ "$l" = "errors: 0" ]
