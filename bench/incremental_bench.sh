#!/usr/bin/env bash
# Benchmark of incremental loading's boundary de-duplication: an incremental sql_database run over
# N rows that all share one cursor value (every row is a boundary row: hashed and kept in the hash
# set) against N rows with distinct cursor values (one boundary row), PostgreSQL -> DuckDB.
# Not a test: prints a markdown table on stdout.
#
#   bench/incremental_bench.sh [BUILD_DIR]    # default build/release; `make bench` runs it
#
# Reported per case (median of BENCH_REPEAT runs, each into a fresh pipeline folder and DuckDB
# file): extract time (where the filter runs), rows/s of extract, peak RSS, and the size of the
# pipeline state afterwards. The one-value case runs twice: with the default cap on stored
# boundary hashes (100k: the state switches to its safe mode) and with the cap raised above N
# (every hash stored), which is the case the "≤ 1.5 × distinct" target is about.
#
# Environment: BENCH_INC_ROWS (1000000), BENCH_REPEAT (3), BENCH_WORK_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(realpath -m "${1:-$ROOT/build/release}")
ROWS=${BENCH_INC_ROWS:-1000000}
REPEAT=${BENCH_REPEAT:-3}
WORK=$(realpath -m "${BENCH_WORK_DIR:-$(dirname "$BUILD_DIR")/bench-incremental}")
CDLT=$BUILD_DIR/cdlt
[ -x "$CDLT" ] || { echo "build first: $CDLT missing" >&2; exit 1; }

log() { printf '[bench] %s\n' "$*" >&2; }
PG_DIR=$WORK/pg
"$ROOT/scripts/pg_server.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
rm -rf "${WORK:?}"
mkdir -p "$WORK"
trap '"$ROOT/scripts/pg_server.sh" stop "$PG_DIR" >/dev/null 2>&1 || true' EXIT
"$ROOT/scripts/pg_server.sh" start "$PG_DIR" >&2
URL="$(cat "$PG_DIR/url")"
URL=${URL%/postgres}/bench
PGPASSWORD=$(cat "$PG_DIR/password") psql -X -q -h 127.0.0.1 -p "$(cat "$PG_DIR/port")" -U postgres \
  -d postgres -c "CREATE DATABASE bench"
log "creating 2 tables of $ROWS rows"
PGPASSWORD=$(cat "$PG_DIR/password") psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
  -p "$(cat "$PG_DIR/port")" -U postgres -d bench <<SQL
CREATE TABLE one_value AS
  SELECT i AS id, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS updated_at, md5(i::text) AS payload
  FROM generate_series(1, $ROWS) i;
ALTER TABLE one_value ADD PRIMARY KEY (id);
CREATE TABLE distinct_values AS
  SELECT i AS id, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1 second' AS updated_at,
         md5(i::text) AS payload
  FROM generate_series(1, $ROWS) i;
ALTER TABLE distinct_values ADD PRIMARY KEY (id);
ANALYZE;
SQL

# run CASE TABLE CAP -> prints "extract_seconds peak_rss_mb state_bytes"
run_case() {
  local name=$1 table=$2 cap=$3 dir=$WORK/$1
  rm -rf "$dir"
  mkdir -p "$dir/.dlt"
  cat >"$dir/.dlt/config.toml" <<TOML
[runtime]
log_level = "WARNING"
[pipeline]
pipeline_name = "inc_bench"
destination = "duckdb"
dataset_name = "bench"
source = "sql_database"
pipelines_dir = "$dir/pipelines"
progress = "none"
[destination.duckdb]
credentials = "$dir/out.duckdb"
[extract]
workers = 1
[sources.sql_database]
table_names = ["$table"]
[sources.sql_database.$table]
incremental = { cursor_path = "updated_at", max_boundary_hashes = $cap }
TOML
  printf '[sources.sql_database]\ncredentials = "%s"\n' "$URL" >"$dir/.dlt/secrets.toml"
  local out
  out=$(cd "$dir" && "$CDLT" run 2>/dev/null)
  local extract rss state
  extract=$(printf '%s\n' "$out" | sed -n 's/^Step extract COMPLETED in \([0-9.]*\) seconds.*/\1/p')
  rss=$(printf '%s\n' "$out" | sed -n 's/^Peak memory (RSS): \([0-9.]*\) MB.*/\1/p')
  state=$(stat -c %s "$dir/pipelines/inc_bench/state.json")
  echo "$extract $rss $state"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A EXTRACT RSS STATE
CASES=("distinct distinct_values 100000" "one_value_capped one_value 100000"
       "one_value_all_hashes one_value $((ROWS * 2))")
for spec in "${CASES[@]}"; do
  read -r name table cap <<<"$spec"
  times=() rsss=() st=0
  for _ in $(seq "$REPEAT"); do
    read -r t r s < <(run_case "$name" "$table" "$cap")
    times+=("$t"); rsss+=("$r"); st=$s
    log "$name: extract $t s, peak RSS $r MB, state $s bytes"
  done
  EXTRACT[$name]=$(printf '%s\n' "${times[@]}" | median)
  RSS[$name]=$(printf '%s\n' "${rsss[@]}" | median)
  STATE[$name]=$st
done

base=${EXTRACT[distinct]}
echo "### Incremental de-duplication: $ROWS rows, one cursor value vs distinct values"
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM. Median of $REPEAT runs; extract.workers = 1."
echo
echo "| case | extract s | rows/s | peak RSS MB | state.json bytes | time / distinct |"
echo "|---|---|---|---|---|---|"
for spec in "${CASES[@]}"; do
  read -r name _ _ <<<"$spec"
  t=${EXTRACT[$name]}
  echo "| $name | $t | $(awk -v r="$ROWS" -v t="$t" 'BEGIN {printf "%.0f", r / t}') | ${RSS[$name]} | ${STATE[$name]} | $(awk -v a="$t" -v b="$base" 'BEGIN {printf "%.2f", a / b}') |"
done
