#!/usr/bin/env bash
# Benchmark of JSON documents: the relational normalizer alone and JSONL files end to end into
# DuckDB, beside the limit measured in the same run. Not a test: prints a markdown report.
#
#   bench/normalize_bench.sh [BUILD_DIR]      # default build/release; `make bench` runs it
#
# What it does (under BUILD_DIR/../bench-normalize, recreated every run):
#   1. cdlt_normalize_bench generates BENCH_DOCS (1M) GitHub-issue-like documents of about 1 KB
#      (nested user and reactions objects, labels and assignees lists) as BENCH_FILES (8) JSONL
#      files, plus one file with a quarter of them (memory vs input size).
#   2. per worker count in BENCH_WORKERS ("1 2"), the median of BENCH_REPEAT (3) rounds of:
#        limit      simdjson parses every document and visits every value (nothing else)
#        normalize  the relational normalizer alone, batches written as Parquet (what the
#                   normalize stage does per file; also uncompressed, as with
#                   data_writer.disable_compression), and with batches dropped (pure CPU); wall
#                   seconds and the process's CPU seconds
#        cdlt run   filesystem source → duckdb, {extract,normalize,load}.workers = N; the stage
#                   times come from the run's trace.json
#   3. peak RSS (the tool's own peak_rss_mb) of normalize on one file of BENCH_DOCS/4 and one of BENCH_DOCS
#      documents: it must not grow with the file.
# Environment: BENCH_DOCS, BENCH_FILES, BENCH_REPEAT, BENCH_WORKERS, BENCH_WORK_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(realpath -m "${1:-$ROOT/build/release}")
DOCS=${BENCH_DOCS:-1000000}
FILES=${BENCH_FILES:-8}
REPEAT=${BENCH_REPEAT:-3}
WORKERS_LIST=${BENCH_WORKERS:-"1 2"}
WORK=$(realpath -m "${BENCH_WORK_DIR:-$(dirname "$BUILD_DIR")/bench-normalize}")
TOOL=$BUILD_DIR/cdlt_normalize_bench
CDLT=$BUILD_DIR/cdlt

log() { printf '[bench] %s\n' "$*" >&2; }
for bin in "$TOOL" "$CDLT"; do
  [ -x "$bin" ] || { log "missing $bin (run make build)"; exit 1; }
done

rm -rf "$WORK"
mkdir -p "$WORK"
log "generating $DOCS documents in $FILES files"
"$TOOL" generate "$WORK/data" "$DOCS" "$FILES"
"$TOOL" generate "$WORK/quarter" "$((DOCS / 4))" 1
"$TOOL" generate "$WORK/whole" "$DOCS" 1
BYTES=$(du -cb "$WORK"/data/*.jsonl | tail -1 | cut -f1)

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

# "secs" of one tool run (median of REPEAT).
tool_secs() {
  for _ in $(seq "$REPEAT"); do "$TOOL" "$@" | field secs; done | median
}

# "secs cpu_s" of the run with the median wall time (of REPEAT): CPU of the whole process,
# normalizer threads and DuckDB's Parquet writer threads alike.
tool_secs_cpu() {
  for _ in $(seq "$REPEAT"); do
    line=$("$TOOL" "$@")
    echo "$(echo "$line" | field secs) $(echo "$line" | field cpu_s)"
  done | sort -g | awk -v n="$REPEAT" 'NR == int((n + 1) / 2)'
}

# One cdlt run into a fresh project; prints "total_s extract_s normalize_s load_s peak_rss_mb".
cdlt_run() {
  local workers=$1 dir=$WORK/run
  rm -rf "$dir"
  mkdir -p "$dir/.dlt"
  cat >"$dir/.dlt/config.toml" <<TOML
[pipeline]
pipeline_name = "bench"
destination = "duckdb"
dataset_name = "ds"
source = "filesystem"
pipelines_dir = "$dir/pipelines"
progress = "none"
[destination.duckdb]
credentials = "$dir/out.duckdb"
[extract]
workers = $workers
[normalize]
workers = $workers
[load]
workers = $workers
[sources.filesystem.issues]
bucket_url = "$WORK/data"
file_glob = "*.jsonl"
TOML
  local start end rss
  start=$(date +%s.%N)
  (cd "$dir" && "$CDLT" run >"$dir/out.txt" 2>&1) || { cat "$dir/out.txt" >&2; exit 1; }
  end=$(date +%s.%N)
  # The run's report: "Step <stage> COMPLETED in <s> seconds", "Peak memory (RSS): <n> MB".
  local stages
  stages=$(sed -n 's/^Step \([a-z]*\) COMPLETED in \([0-9.]*\) seconds.*/\1=\2/p' "$dir/out.txt" | tr '\n' ' ')
  rss=$(sed -n 's/.*Peak memory (RSS): \([0-9.]*\) MB.*/\1/p' "$dir/out.txt" | head -1)
  printf '%.3f %s %s %s %s\n' "$(calc "$end - $start")" \
    "$(echo "$stages" | field extract)" "$(echo "$stages" | field normalize)" \
    "$(echo "$stages" | field load)" "${rss:-0}"
}

calc() { awk "BEGIN { print $* }"; }
mb() { calc "$BYTES / $1 / 1000000"; }
rate() { calc "$DOCS / $1"; }

{
  echo "Documents: $DOCS in $FILES files, $(calc "int($BYTES / 1000000)") MB of JSON; $(nproc) cores; median of $REPEAT."
  echo
  echo "| measurement | workers | seconds | docs/s | MB/s | ratio to limit | CPU s | docs per CPU-s |"
  echo "|---|---|---|---|---|---|---|---|"
  for w in $WORKERS_LIST; do
    limit=$(tool_secs parse "$w" "$WORK"/data/*.jsonl)
    printf '| limit: simdjson parse + visit | %s | %.2f | %.0f | %.0f | 1 | | |\n' "$w" "$limit" "$(rate "$limit")" "$(mb "$limit")"
    for sink in parquet parquet-uncompressed null; do
      read -r s cpu <<<"$(tool_secs_cpu normalize "$w" "$sink" "$WORK"/data/*.jsonl)"
      printf '| normalizer alone (%s) | %s | %.2f | %.0f | %.0f | %.2f | %.2f | %.0f |\n' "$sink" "$w" "$s" "$(rate "$s")" "$(mb "$s")" "$(calc "$limit / $s")" "$cpu" "$(rate "$cpu")"
    done
    runs=$(for _ in $(seq "$REPEAT"); do cdlt_run "$w"; done | sort -g)
    mid=$(echo "$runs" | awk -v n="$REPEAT" 'NR == int((n + 1) / 2)')
    read -r total ex no lo rss <<<"$mid"
    printf '| cdlt run: normalize stage | %s | %.2f | %.0f | %.0f | %.2f | | |\n' "$w" "$no" "$(rate "$no")" "$(mb "$no")" "$(calc "$limit / $no")"
    printf '| cdlt run: end to end (extract %.2f s, load %.2f s; peak RSS %s MB) | %s | %.2f | %.0f | %.0f | %.2f | | |\n' \
      "$ex" "$lo" "$rss" "$w" "$total" "$(rate "$total")" "$(mb "$total")" "$(calc "$limit / $total")"
  done
  echo
  echo "Peak RSS of the normalizer writing Parquet (1 worker), by input size:"
  echo
  echo "| input | peak RSS (MB) |"
  echo "|---|---|"
  for set in quarter whole; do
    rss=$("$TOOL" normalize 1 parquet "$WORK/$set"/*.jsonl | field peak_rss_mb)
    printf '| %s (%s MB) | %s |\n' "$set" "$(du -m "$WORK/$set"/*.jsonl | cut -f1)" "$rss"
  done
} | tee "$WORK/report.md"
