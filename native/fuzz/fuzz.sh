#!/usr/bin/env bash
# native/fuzz/fuzz.sh — builds native/fuzz/ring_reader_fuzz.c with clang -fsanitize=fuzzer,address,undefined and
# runs it for FUZZ_SECONDS (default 60) on a copy of the seed corpus native/fuzz/corpus/. Exits non-zero on any
# crash, sanitizer report or invariant failure (libFuzzer writes the input to OUT_DIR/crash-*; reproduce with
# `OUT_DIR/ring_reader_fuzz OUT_DIR/crash-…`).
# Usage: native/fuzz/fuzz.sh [OUT_DIR]          (default build/fuzz)
#        native/fuzz/fuzz.sh --seeds            regenerate native/fuzz/corpus/ from make_seeds.c and test/vectors
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
CC="${CC:-clang}"
CFLAGS=(-std=gnu11 -D_GNU_SOURCE -Inative/include -g -O1 -fno-omit-frame-pointer -Wall -Wextra)

if [ "${1:-}" = "--seeds" ]; then
  tmp="$(mktemp -d)"
  "$CC" "${CFLAGS[@]}" native/fuzz/make_seeds.c -o "$tmp/make_seeds"
  rm -rf native/fuzz/corpus && mkdir -p native/fuzz/corpus
  "$tmp/make_seeds" native/fuzz/corpus
  for f in test/vectors/c/*.bin test/vectors/ts/*.bin; do
    base="$(basename "$f" .bin)"; case "$base" in ts-*) ;; *) base="c-$base" ;; esac
    for mode in 1 7; do { printf "\\x0$mode\\x00\\x00\\x00\\x00"; cat "$f"; } > "native/fuzz/corpus/ring-$base-m$mode"; done
  done
  rm -rf "$tmp"
  echo "$(ls native/fuzz/corpus | wc -l) seeds in native/fuzz/corpus"
  exit 0
fi

OUT="${1:-$ROOT/build/fuzz}"
SECONDS_TO_RUN="${FUZZ_SECONDS:-60}"
mkdir -p "$OUT"
"$CC" "${CFLAGS[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all native/fuzz/ring_reader_fuzz.c \
  -o "$OUT/ring_reader_fuzz"
rm -rf "$OUT/corpus" && cp -r native/fuzz/corpus "$OUT/corpus"
cd "$OUT"
# -max_len: twice the largest seed (8 KiB); -rss_limit_mb guards the 2-core CI machine.
./ring_reader_fuzz -max_total_time="$SECONDS_TO_RUN" -max_len=16384 -rss_limit_mb=1024 -timeout=10 \
  -print_final_stats=1 corpus
