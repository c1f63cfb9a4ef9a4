#!/usr/bin/env bash
# Fuzzes the relational normalizer with libFuzzer (clang, ASan + UBSan) for a bounded time.
#
#   scripts/fuzz.sh [SECONDS]      # default 60
#
# Builds build/fuzz/cdlt_normalizer_fuzz (-DCDLT_FUZZ=ON), seeds a corpus from the golden cases in
# test/data/normalize/*.json plus the hand-written edge cases in fuzz/corpus/, and runs the
# fuzzer. The working corpus (grown across runs) and any findings stay under build/fuzz. Exits
# non-zero on a crash, sanitizer report, leak, timeout or out-of-memory, naming the input.
# Reproduce a finding: build/fuzz/cdlt_normalizer_fuzz build/fuzz/artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${1:-60}"
BUILD=build/fuzz
JOBS="${JOBS:-$(nproc)}"

CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCDLT_FUZZ=ON \
  -DCDLT_BUILD_TESTS=OFF >/dev/null
nice cmake --build "$BUILD" -j "$JOBS" --target cdlt_normalizer_fuzz cdlt_fuzz_corpus

corpus="$BUILD/corpus"        # grows across runs; libFuzzer writes new inputs here
seeds="$BUILD/seeds"          # regenerated from the golden cases every run
artifacts="$BUILD/artifacts"  # crash-*, leak-*, timeout-*, oom-* inputs
rm -rf "$seeds"
mkdir -p "$corpus" "$seeds" "$artifacts"
"$BUILD/cdlt_fuzz_corpus" test/data/normalize "$seeds"

stamp="$BUILD/.fuzz-start"
touch "$stamp"
log="$BUILD/fuzz.log"
echo "fuzz: running cdlt_normalizer_fuzz for ${SECS}s (log: $log)"
set +e
ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
nice "$BUILD/cdlt_normalizer_fuzz" "$corpus" "$seeds" fuzz/corpus \
  -dict=fuzz/json.dict -max_total_time="$SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
rc=$?
set -e
# The log holds raw bytes of inputs (grep -a). Last status line: cov (edges), ft, corpus size.
grep -aE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 || true
grep -aE '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
mapfile -t found < <(find "$artifacts" -type f -newer "$stamp")
if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
  tail -60 "$log"
  echo "fuzz: FAILED (exit $rc); inputs:" >&2
  for f in "${found[@]}"; do echo "  $f" >&2; done
  exit 1
fi
echo "fuzz: no findings in ${SECS}s"
