#!/usr/bin/env bash
# native/test/sanitize-addon.sh — builds a second copy of the Node addon (native/addon/*.cc with the runtime.c and
# plugin_loader.c it links, the sources of binding.gyp's native_sidecar target) with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs a set of the compiled test files in Node against it.
# Any sanitizer report fails.
#
# Usage: native/test/sanitize-addon.sh [OUT_DIR] [TEST_NAME ...]
#   OUT_DIR defaults to build/asan (the addon is OUT_DIR/native_sidecar.node; build/Release is not touched);
#   TEST_NAMEs (e.g. ring-native, or NAME:PATTERN) replace the default set below. The addon is rebuilt only when a
#   native source changed. Needs `npm run build:native` (the build/Release executables
#   and plugins the tests use stay the normal ones) and the compiled tests (`npx tsc -p tsconfig.test.json`, .out/).
#   NODE_INCLUDE_DIR=... names Node's headers (the directory holding node_api.h) when they are not found.
#
# How: Node itself is not instrumented, so the ASan runtime is LD_PRELOADed into it (it must come first in the
# library list); the dynamic runtime libclang_rt.asan-x86_64.so also holds UBSan's handlers (the C and the C++ ones,
# __ubsan_handle_dynamic_type_cache_miss for -fsanitize=vptr), so one runtime serves both sanitizers. The library
# loads the sanitized copy through its test hook NATIVE_SIDECAR_ADDON_PATH (src/native/addon.ts). Each test file runs
# in its own `node <file>` process; the environment (LD_PRELOAD included) is inherited by every process it spawns, so
# child Node processes and worker threads load the sanitized addon too. Reports go to log files (log_path), not only
# to stderr, so a report from a child process whose stderr a test swallows is still seen; the script prints them on
# stderr and fails. The last stage of native/test/sanitize.sh; test/sanitizers.test.ts runs it as a test of its own.
# docs/verification.md §1.1 says what it proves and what it does not cover.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/build/asan}"
shift || true
CC="${CC:-clang}"
CXX="${CXX:-clang++}"
NODE="${NODE:-node}"
mkdir -p "$OUT/obj"
OUT="$(cd "$OUT" && pwd)"
cd "$ROOT"

# The default set: test files that drive the addon hard — the futex waiter and its threads, and the io_uring futex
# waits with their raw SQ/CQ rings (park-wake, parker-contract, ring-lifetime,
# ring-native's 1,000,000-record stress both ways against the addon's RingPeerThread with both sides parking, and its
# "native peers" suite; left out: the same stress with spin-then-park — the spinning is C code that ring_test runs
# under ASan and TSan — and against the ring_peer process, which is not instrumented), the eventfd waiter (eventfd-parker), the mapped regions, seals and fd passing
# (region, region-seals, region-handover), the sidecar (runtime.c on a native thread, sidecar_thread.cc; the
# process-mode tests of the same files run too, for the region and waiters on the Node side: sidecar-requests,
# sidecar-delivery, sidecar-start-errors) and the N-API binding of the showcase (showcase-*; their koffi half runs
# too). An entry NAME:PATTERN runs only the tests whose name (or suite's name) matches PATTERN
# (--test-name-pattern). docs/verification.md §1 says what is left out and why.
DEFAULT_TESTS=(park-wake parker-contract ring-lifetime 'ring-native:a native thread, park$|native peers' eventfd-parker region region-seals
  region-handover sidecar-requests sidecar-delivery sidecar-start-errors showcase-steps
  showcase-lifetimes showcase-threads showcase-exit showcase-deadlock)
if [ "$#" -gt 0 ]; then TESTS=("$@"); else TESTS=("${DEFAULT_TESTS[@]}"); fi

step() { printf '== %s\n' "$*"; }

# Node's headers: $NODE_INCLUDE_DIR, npm's nodedir (what node-gyp used), next to the node binary, node-gyp's cache.
node_include() {
  local version prefix d
  version="$("$NODE" -p process.versions.node)"
  prefix="$(dirname "$(dirname "$("$NODE" -p process.execPath)")")"
  for d in "${NODE_INCLUDE_DIR:-}" "${npm_config_nodedir:+$npm_config_nodedir/include/node}" "$prefix/include/node" \
    "$HOME/.cache/node-gyp/$version/include/node" "$HOME/.node-gyp/$version/include/node"; do
    if [ -n "$d" ] && [ -f "$d/node_api.h" ]; then echo "$d"; return 0; fi
  done
  echo "Node's headers (node_api.h) not found; set NODE_INCLUDE_DIR" >&2
  return 1
}

RUNTIME="$("$CC" -print-file-name=libclang_rt.asan-x86_64.so)"
if [ ! -f "$RUNTIME" ]; then
  echo "the ASan runtime libclang_rt.asan-x86_64.so is missing: apt-get install -y --no-install-recommends libclang-rt-14-dev" >&2
  exit 1
fi
NODE_INC="$(node_include)"
NAPI_INC="$("$NODE" -p "require('node:path').dirname(require.resolve('node-addon-api/napi.h'))")"
for spec in "${TESTS[@]}"; do
  if [ ! -f ".out/test/${spec%%:*}.test.js" ]; then
    echo ".out/test/${spec%%:*}.test.js is missing: compile the tests first (npx tsc -p tsconfig.test.json)" >&2
    exit 1
  fi
done

# The flags of binding.gyp's native_sidecar target (defines, includes, C++17 with exceptions), with the sanitizers
# and -O1 instead of -O2. RTTI stays on (node-gyp's -fno-rtti dropped) so that UBSan's vptr check runs too.
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 -fno-omit-frame-pointer)
COMMON=(-fPIC -pthread -Wall -Wextra -Wno-unused-parameter -DNAPI_VERSION=8 -DNODE_ADDON_API_DISABLE_DEPRECATED
  -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=native_sidecar -Inative/include -Inative -I"$NODE_INC" -I"$NAPI_INC")

build_addon() {
  local objs=() pids=() src obj p
  for src in native/addon/*.cc native/sidecar/runtime.c native/sidecar/plugin_loader.c native/sidecar/scheduling.c; do
    obj="$OUT/obj/$(basename "$src").o"
    objs+=("$obj")
    case "$src" in
      *.cc) "$CXX" -std=c++17 "${COMMON[@]}" "${SAN[@]}" -c "$src" -o "$obj" & ;;
      *.c) "$CC" -std=c11 -D_GNU_SOURCE "${COMMON[@]}" "${SAN[@]}" -c "$src" -o "$obj" & ;;
    esac
    pids+=($!)
    # two compilers at a time (the machines this runs on have 2 cores)
    if [ "${#pids[@]}" -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  done
  for p in "${pids[@]}"; do wait "$p"; done
  # -shared: the runtime is not linked in (the __asan_*/__ubsan_* symbols stay undefined and resolve against the
  # LD_PRELOADed runtime); loading this file into a Node without that preload fails with "undefined symbol: __asan_…".
  "$CXX" -shared "${SAN[@]}" -pthread "${objs[@]}" -o "$OUT/native_sidecar.node.tmp" -ldl
  mv "$OUT/native_sidecar.node.tmp" "$OUT/native_sidecar.node"
}

# Rebuilt when a native source or header (ours or node-addon-api's), or this script, is newer than the last build.
if [ -f "$OUT/native_sidecar.node" ] && [ -z "$(find native "$NAPI_INC" -newer "$OUT/native_sidecar.node" \( -name '*.c' -o -name '*.cc' -o -name '*.h' -o -name '*.sh' \) -print -quit)" ]; then
  step "the sanitized addon $OUT/native_sidecar.node is up to date"
else
  step "build the addon ($CXX $("$CXX" -dumpversion), ASan+UBSan) into $OUT/native_sidecar.node"
  build_addon
fi

# ASan: every report is fatal and aborts the process (abort_on_error=1, so a child that dies of it shows a signal,
# not an exit code a test may expect). Leak detection is off (detect_leaks=0), because in Node it cannot tell a leak
# from a live object: V8's heap is mmapped, not malloc'd, and LeakSanitizer does not scan it, so every native object
# still owned by a JavaScript object at exit (each napi_wrap/napi_create_external of ours, of koffi, of Node) and
# V8's own slot sets and page bookkeeping are reported — tried: a process that ends by process.exit() reports
# hundreds, all in v8::internal or napi_create_external. A suppression cannot keep only the addon's allocations
# either: it matches any frame of the allocation stack, and each of them has Node's frames below. What the addon
# frees is checked by tests instead (eventfd-parker, ring-lifetime here; sidecar-cycles: fds, threads, mappings).
# ASan's handlers for SIGSEGV/SIGBUS/SIGFPE/SIGILL are off (handle_*=0): several tests make a process die of such a
# signal on purpose and check which one (region-seals: a shrunk memfd kills a reader with SIGBUS; the faulty plugin
# crashes native-sidecar-host, which inherits LD_PRELOAD), and ASan would turn each into a report and an abort. An
# out-of-bounds access or use-after-free in the addon is reported by the instrumentation before any signal; a wild
# crash of a Node process that should not crash still fails its test (it dies of the signal).
LOGS="$OUT/logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:log_path=$LOGS/report:log_exe_name=1"
# native/test/ubsan-addon.supp: one report inside node-addon-api's ObjectWrap constructor (see the file).
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$LOGS/report:log_exe_name=1:suppressions=$ROOT/native/test/ubsan-addon.supp"
export NATIVE_SIDECAR_ADDON_PATH="$OUT/native_sidecar.node"
# Run from `node --test` (test/sanitizers.test.ts), this variable would make each test file report to that runner
# in its binary protocol instead of printing TAP.
unset NODE_TEST_CONTEXT

# The sanitized addon must load (this fails when the runtime could not be preloaded, for example).
LD_PRELOAD="$RUNTIME" "$NODE" -e "const a = require(process.env.NATIVE_SIDECAR_ADDON_PATH); if (typeof a.FutexWaiter !== 'function') process.exit(1)"

failed=0
total_pass=0
total_skip=0
for spec in "${TESTS[@]}"; do
  t="${spec%%:*}"
  args=(--test-reporter=tap)
  if [ "$spec" != "$t" ]; then args+=("--test-name-pattern=${spec#*:}"); fi
  start=$(date +%s%N)
  set +e
  # A bound per file (FILE_TIMEOUT seconds, default 150) against a hang, so that no process outlives the script.
  LD_PRELOAD="$RUNTIME" timeout -k 5 "${FILE_TIMEOUT:-150}" "$NODE" "${args[@]}" ".out/test/$t.test.js" > "$OUT/$t.out" 2> "$OUT/$t.err"
  rc=$?
  set -e
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  npass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$OUT/$t.out" | tail -n 1)
  nfail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$OUT/$t.out" | tail -n 1)
  nskip=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$OUT/$t.out" | tail -n 1)
  echo "$t: exit $rc, ${npass:-?} passed, ${nfail:-?} failed, ${nskip:-?} skipped, $((ms / 1000)).$(( (ms % 1000) / 100 )) s"
  total_pass=$((total_pass + ${npass:-0}))
  total_skip=$((total_skip + ${nskip:-0}))
  if [ "$rc" -ne 0 ] || [ -z "$npass" ] || [ "$npass" -eq 0 ]; then
    failed=1
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "---- $t timed out after ${FILE_TIMEOUT:-150} s" >&2; fi
    echo "---- $t failed (exit $rc); the end of its output:" >&2
    tail -n 60 "$OUT/$t.out" >&2
    cat "$OUT/$t.err" >&2
  elif grep -q 'Sanitizer\|runtime error:' "$OUT/$t.err"; then
    failed=1
    echo "---- $t: sanitizer text on stderr:" >&2
    cat "$OUT/$t.err" >&2
  fi
done

reports=("$LOGS"/*)
if [ -e "${reports[0]}" ]; then
  echo "---- sanitizer reports (${#reports[@]} files in $LOGS):" >&2
  for f in "${reports[@]}"; do echo "-- $f" >&2; cat "$f" >&2; done
  exit 1
fi
if [ "$failed" -ne 0 ]; then
  echo "a test file failed under the sanitized addon" >&2
  exit 1
fi
step "${#TESTS[@]} test files, $total_pass tests passed ($total_skip skipped) against the sanitized addon, no sanitizer report"
