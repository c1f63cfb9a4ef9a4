#!/usr/bin/env bash
# Benchmark of the sql_database source, PostgreSQL -> DuckDB, beside the physical limit measured in
# the same run. Not a test: it prints a markdown table (and the machine it ran on) on stdout.
#
#   bench/sql_database_bench.sh [BUILD_DIR]      # default build/release; `make bench` runs it
#
# What it does (all under BUILD_DIR/../bench-sql, removed and recreated on every run):
#   1. starts a throwaway PostgreSQL (scripts/pg_server.sh; stopped on exit, whatever happens) and
#      creates two mixed-type tables, BENCH_ROWS (2M) and BENCH_SMALL_ROWS (0.5M) rows: bigint id
#      primary key, int, numeric(12,2), double, text of varying length, timestamptz, date, bool,
#      uuid, a small jsonb object, NULLs in every column but id; then ANALYZE.
#   2. per table, BENCH_REPEAT (3) rounds, each round running every measurement once in turn (so
#      drift of a shared machine hits all of them alike), reporting the median:
#        limit (a)  psql: COPY (SELECT * FROM t) TO STDOUT (FORMAT binary) > /dev/null
#        limit (b)  DuckDB: CREATE TABLE x AS SELECT * FROM read_parquet(<the Parquet files cdlt
#                   extracted from the same table>) into a fresh DuckDB file
#        cdlt run   sql_database -> duckdb, {extract,normalize,load}.workers = each of BENCH_WORKERS
#                   (1 2), each run into a fresh project folder, pipelines dir and DuckDB file
#   The limit of an end-to-end run is (a) + (b): cdlt's stages are sequential for one load package
#   (load starts when extract has finished), so a run can at best read the table once at COPY speed
#   and then ingest it once at DuckDB's Parquet speed.
#
# Environment: BENCH_ROWS, BENCH_SMALL_ROWS (0 = skip), BENCH_REPEAT, BENCH_WORKERS ("1 2"),
# BENCH_WORK_DIR. Heavy commands run under `nice -n 5`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(realpath -m "${1:-$ROOT/build/release}")
ROWS=${BENCH_ROWS:-2000000}
SMALL_ROWS=${BENCH_SMALL_ROWS:-500000}
REPEAT=${BENCH_REPEAT:-3}
WORKERS_LIST=${BENCH_WORKERS:-"1 2"}
WORK=$(realpath -m "${BENCH_WORK_DIR:-$(dirname "$BUILD_DIR")/bench-sql}")
NICE=(nice -n 5)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# --- binaries: wait for a rebuild in progress, then copy them so a rebuild during the run is harmless
wait_for_binary() {
  local path=$1 attempt
  for attempt in 1 2 3 4 5; do
    if [ -x "$path" ] && "$path" --version >/dev/null 2>&1; then return 0; fi
    # cdlt_duck_query has no --version: accept it when it prints its usage.
    if [ -x "$path" ] && { "$path" 2>&1 || true; } | grep -q usage; then return 0; fi
    log "$path missing or not runnable (attempt $attempt); waiting 60 s"
    sleep 60
  done
  die "$path missing or broken (run make build)"
}
wait_for_binary "$BUILD_DIR/cdlt"
wait_for_binary "$BUILD_DIR/cdlt_duck_query"
command -v psql >/dev/null || die "psql not found (scripts/install_deps.sh installs postgresql-client)"

PG_DIR=$WORK/pg
"$ROOT/scripts/pg_server.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
rm -rf "${WORK:?}"
mkdir -p "$WORK/bin" "$WORK/runs" "$WORK/duck"
cp "$BUILD_DIR/cdlt" "$BUILD_DIR/cdlt_duck_query" "$WORK/bin/"
CDLT=$WORK/bin/cdlt
DUCKQ=$WORK/bin/cdlt_duck_query

cleanup() {
  local rc=$?
  "$ROOT/scripts/pg_server.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  rm -rf "${WORK:?}/duck" "${WORK:?}/runs" "${WORK:?}/parquet" "${WORK:?}/bin" "$WORK/time.out"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TIME_BIN=
STAGE_extract='' STAGE_normalize='' STAGE_load=''
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then TIME_BIN=/usr/bin/time; fi

# --- helpers ------------------------------------------------------------------------------------
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
  if (NR == 0) { print "nan"; exit }
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fmt() { awk -v x="$1" -v f="$2" 'BEGIN { printf f, x }'; }

# cdlt_duck_query wraps its argument in `SELECT ... FROM (<sql>)`, so a DDL statement is run by
# closing that subquery: "SELECT 1) AS q; <stmt>; SELECT 1 FROM (SELECT 1". Probe which form works
# (a later cdlt_duck_query may run statements as given).
DUCK_WRAP=
duck_stmt() {
  if [ -n "$DUCK_WRAP" ]; then echo "SELECT 1) AS q; $1; SELECT 1 AS ok FROM (SELECT 1"; else echo "$1"; fi
}
duck_exec() { "$DUCKQ" "$1" "$(duck_stmt "$2")" >/dev/null; }
duck_scalar() { "$DUCKQ" "$1" "$2" | sed -n 2p; }
if ! "$DUCKQ" "$WORK/duck/probe.duckdb" "CREATE TABLE p AS SELECT 1 AS a" >/dev/null 2>&1; then
  DUCK_WRAP=1
  duck_exec "$WORK/duck/probe.duckdb" "CREATE TABLE p AS SELECT 1 AS a" ||
    die "cannot run DDL through cdlt_duck_query"
fi
[ "$(duck_scalar "$WORK/duck/probe.duckdb" "SELECT count(*) FROM p")" = 1 ] || die "DuckDB probe failed"
rm -f "$WORK/duck/probe.duckdb"*

# Run a command; sets LAST_SECS (wall) and LAST_RSS_KB (peak RSS from /usr/bin/time, or empty).
timed() {
  local t0 t1
  t0=$(now)
  if [ -n "$TIME_BIN" ]; then
    "$TIME_BIN" -f %M -o "$WORK/time.out" "$@"
  else
    "$@"
  fi
  t1=$(now)
  LAST_SECS=$(elapsed "$t0" "$t1")
  LAST_RSS_KB=
  if [ -n "$TIME_BIN" ]; then LAST_RSS_KB=$(tail -1 "$WORK/time.out"); fi
}

# --- PostgreSQL and the tables --------------------------------------------------------------------
log "starting PostgreSQL in $PG_DIR"
"$ROOT/scripts/pg_server.sh" start "$PG_DIR" >/dev/null
PG_URL=$(cat "$PG_DIR/url")

make_table() {
  local name=$1 rows=$2
  "${NICE[@]}" psql -q -X "$PG_URL" -v ON_ERROR_STOP=1 <<SQL
CREATE TABLE $name (
  id     bigint PRIMARY KEY,
  i      integer,
  amount numeric(12,2),
  score  double precision,
  name   text,
  ts     timestamptz,
  d      date,
  flag   boolean,
  u      uuid,
  doc    jsonb
);
INSERT INTO $name
SELECT g,
  CASE WHEN g % 17 = 0 THEN NULL ELSE ((g * 7919) % 1000000)::int END,
  CASE WHEN g % 23 = 0 THEN NULL ELSE ((g * 104729) % 10000000)::numeric / 100 END,
  CASE WHEN g % 29 = 0 THEN NULL ELSE (g % 100003) * 1.37e-3 END,
  CASE WHEN g % 31 = 0 THEN NULL
       ELSE repeat(chr(97 + (g % 26)::int), 1 + (g % 40)::int) || ' #' || g END,
  CASE WHEN g % 37 = 0 THEN NULL
       ELSE timestamptz '2020-01-01 00:00:00+00' + (g * 7) * interval '1 second' END,
  CASE WHEN g % 41 = 0 THEN NULL ELSE date '2000-01-01' + (g % 9000)::int END,
  CASE WHEN g % 43 = 0 THEN NULL ELSE g % 3 = 0 END,
  CASE WHEN g % 47 = 0 THEN NULL ELSE md5(g::text)::uuid END,
  CASE WHEN g % 53 = 0 THEN NULL
       ELSE jsonb_build_object('k', g % 1000, 'tag', chr(65 + (g % 26)::int), 'ok', g % 2 = 0) END
FROM generate_series(1::bigint, $rows) g;
ANALYZE $name;
SQL
}

TABLES=()
for rows in "$ROWS" "$SMALL_ROWS"; do
  [ "$rows" -gt 0 ] 2>/dev/null || continue
  case " ${TABLES[*]-} " in *" t_$rows "*) continue ;; esac
  log "creating table t_$rows ($rows rows)"
  make_table "t_$rows" "$rows"
  TABLES+=("t_$rows")
done

copy_cmd() { COPY_CMD=("${NICE[@]}" psql -q -X "$PG_URL" -c "COPY (SELECT * FROM $1) TO STDOUT (FORMAT binary)"); }

# --- one cdlt run into a fresh project folder ------------------------------------------------------
# Sets LAST_SECS, LAST_RSS_KB and STAGE_{extract,normalize,load}; leaves the project in $RUN_DIR.
run_cdlt() {
  local table=$1 workers=$2 tag=$3
  RUN_DIR=$WORK/runs/$tag
  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR/.dlt"
  cat >"$RUN_DIR/.dlt/config.toml" <<TOML
[runtime]
log_level = "WARNING"

[pipeline]
pipeline_name = "bench"
destination = "duckdb"
dataset_name = "bench_data"
source = "sql_database"
progress = "none"
pipelines_dir = "$RUN_DIR/pipelines"

[sources.sql_database]
schema = "public"
table_names = ["$table"]

[destination.duckdb]
credentials = "$RUN_DIR/bench.duckdb"
TOML
  (umask 077 && printf '[sources.sql_database]\ncredentials = "%s"\n' "$PG_URL" \
    >"$RUN_DIR/.dlt/secrets.toml")
  timed "${NICE[@]}" env DLT_PROJECT_DIR="$RUN_DIR" EXTRACT__WORKERS="$workers" \
    NORMALIZE__WORKERS="$workers" LOAD__WORKERS="$workers" \
    "$CDLT" run --project-dir "$RUN_DIR" >"$RUN_DIR/run.out" 2>&1 || {
    cat "$RUN_DIR/run.out" >&2
    die "cdlt run failed: $table, $workers worker(s)"
  }
  if [ -z "${LAST_RSS_KB:-}" ]; then # no /usr/bin/time: the trace's peak RSS
    LAST_RSS_KB=$(grep -o '"peak_rss_bytes": *[0-9]*' "$RUN_DIR/pipelines/bench/trace.json" |
      grep -o '[0-9]*$' | awk '{ printf "%d", $1 / 1024 }')
  fi
  local stage
  for stage in extract normalize load; do
    printf -v "STAGE_$stage" '%s' "$(sed -n "s/^Step $stage COMPLETED in \([0-9.]*\) seconds.*/\1/p" \
      "$RUN_DIR/run.out" | head -1)"
  done
  local loaded
  loaded=$(duck_scalar "$RUN_DIR/bench.duckdb" "SELECT count(*) FROM bench_data.$table")
  [ "$loaded" = "$4" ] || die "cdlt loaded $loaded rows of $table, expected $4"
}

# --- measurements ----------------------------------------------------------------------------------
declare -A COPY_S DUCK_S DUCK_RSS CDLT_S CDLT_RSS CDLT_EX CDLT_NO CDLT_LO COPY_BYTES PQ_BYTES PQ_FILES

for table in "${TABLES[@]}"; do
  rows=${table#t_}
  # Warm-up (not counted): fills the page cache, counts the COPY bytes and produces the Parquet
  # files that limit (b) ingests: the extract files of a 1-worker cdlt run.
  log "$table: warm-up"
  copy_cmd "$table"
  COPY_BYTES[$table]=$("${COPY_CMD[@]}" | wc -c)
  run_cdlt "$table" 1 "warmup_$table" "$rows"
  mkdir -p "$WORK/parquet/$table"
  find "$RUN_DIR/pipelines/bench" -name "$table.*.parquet" -exec cp {} "$WORK/parquet/$table/" \;
  PQ_FILES[$table]=$(find "$WORK/parquet/$table" -name '*.parquet' | wc -l)
  [ "${PQ_FILES[$table]}" -gt 0 ] || die "no Parquet file found in the warm-up run of $table"
  PQ_BYTES[$table]=$(cat "$WORK/parquet/$table"/*.parquet | wc -c)
  rm -rf "$RUN_DIR"

  copy_s=() duck_s=() duck_rss=()
  declare -A cs=() crss=() cex=() cno=() clo=()
  for round in $(seq 1 "$REPEAT"); do
    log "$table: round $round/$REPEAT"
    timed "${COPY_CMD[@]}" >/dev/null
    copy_s+=("$LAST_SECS")

    db=$WORK/duck/limit_$round.duckdb
    rm -f "$db"*
    timed "${NICE[@]}" "$DUCKQ" "$db" \
      "$(duck_stmt "CREATE TABLE x AS SELECT * FROM read_parquet('$WORK/parquet/$table/*.parquet')")" \
      >/dev/null
    duck_s+=("$LAST_SECS")
    duck_rss+=("${LAST_RSS_KB:-0}")
    n=$(duck_scalar "$db" "SELECT count(*) FROM x")
    [ "$n" = "$rows" ] || die "DuckDB limit table has $n rows, expected $rows"
    rm -f "$db"*

    for w in $WORKERS_LIST; do
      run_cdlt "$table" "$w" "${table}_w${w}_r$round" "$rows"
      cs[$w]+="$LAST_SECS " crss[$w]+="$LAST_RSS_KB " cex[$w]+="$STAGE_extract "
      cno[$w]+="$STAGE_normalize " clo[$w]+="$STAGE_load "
      rm -rf "$RUN_DIR"
    done
  done
  COPY_S[$table]=$(median "${copy_s[@]}")
  DUCK_S[$table]=$(median "${duck_s[@]}")
  DUCK_RSS[$table]=$(median "${duck_rss[@]}")
  for w in $WORKERS_LIST; do
    # shellcheck disable=SC2086
    {
      CDLT_S[$table,$w]=$(median ${cs[$w]})
      CDLT_RSS[$table,$w]=$(median ${crss[$w]})
      CDLT_EX[$table,$w]=$(median ${cex[$w]})
      CDLT_NO[$table,$w]=$(median ${cno[$w]})
      CDLT_LO[$table,$w]=$(median ${clo[$w]})
    }
  done
  unset cs crss cex cno clo
done

# --- report (also saved as $WORK/report.md) ------------------------------------------------------
report() {
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
rss_mb() { [ -n "$1" ] && [ "$1" != 0 ] && awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }' || echo "—"; }

echo "## sql_database: PostgreSQL → DuckDB"
echo
echo "Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)),"\
  "$(free -g | awk '/^Mem:/ { print $2 }') GB RAM ($(free -g | awk '/^Mem:/ { print $7 }') GB available),"\
  "disk: $(df -h "$WORK" | awk 'NR == 2 { print $1 ", " $2 " (" $4 " free)" }');"\
  "PostgreSQL $(psql -X -At "$PG_URL" -c 'SHOW server_version' | cut -d' ' -f1),"\
  "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Median of $REPEAT round(s). MB/s = bytes of the table's binary COPY stream / time (the same"
echo "numerator for every row); Parquet = cdlt's extract files (ZSTD), the input of limit (b)."
echo "ratio = limit time / cdlt time (= cdlt throughput / limit throughput; target ≥ 0.7)."
echo "Peak RSS from $([ -n "$TIME_BIN" ] && echo "/usr/bin/time (max RSS of the process)" || echo "cdlt's trace")."
echo
echo "| table | configuration | time s | rows/s | MB/s | peak RSS MB | ratio to limit | extract / normalize / load s |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
for table in "${TABLES[@]}"; do
  rows=${table#t_}
  bytes=${COPY_BYTES[$table]}
  label="$(awk -v r="$rows" 'BEGIN { if (r >= 1e6) printf "%gM", r / 1e6; else printf "%gk", r / 1e3 }') rows"
  limit=$(awk -v a="${COPY_S[$table]}" -v b="${DUCK_S[$table]}" 'BEGIN { printf "%.3f", a + b }')
  echo "| $label | limit (a): COPY binary → /dev/null ($(mb "$bytes") MB) | $(fmt "${COPY_S[$table]}" %.2f) | $(rate "$rows" "${COPY_S[$table]}") | $(mbps "$bytes" "${COPY_S[$table]}") | — | — | |"
  echo "| $label | limit (b): DuckDB CTAS from Parquet ($(mb "${PQ_BYTES[$table]}") MB, ${PQ_FILES[$table]} file(s)) | $(fmt "${DUCK_S[$table]}" %.2f) | $(rate "$rows" "${DUCK_S[$table]}") | $(mbps "$bytes" "${DUCK_S[$table]}") | $(rss_mb "${DUCK_RSS[$table]}") | — | |"
  echo "| $label | **limit (a) + (b)** | $(fmt "$limit" %.2f) | $(rate "$rows" "$limit") | $(mbps "$bytes" "$limit") | — | 1.00 | |"
  for w in $WORKERS_LIST; do
    s=${CDLT_S[$table,$w]}
    ratio=$(awk -v l="$limit" -v s="$s" 'BEGIN { printf "%.2f", l / s }')
    echo "| $label | cdlt run, $w worker(s) | $(fmt "$s" %.2f) | $(rate "$rows" "$s") | $(mbps "$bytes" "$s") | $(rss_mb "${CDLT_RSS[$table,$w]}") | $ratio | $(fmt "${CDLT_EX[$table,$w]}" %.2f) / $(fmt "${CDLT_NO[$table,$w]}" %.2f) / $(fmt "${CDLT_LO[$table,$w]}" %.2f) |"
  done
done
if [ "${#TABLES[@]}" -ge 2 ]; then
  echo
  big=${TABLES[0]} small=${TABLES[1]}
  for w in $WORKERS_LIST; do
    echo "Peak RSS, $w worker(s): ${big#t_} rows $(rss_mb "${CDLT_RSS[$big,$w]}") MB vs ${small#t_} rows" \
      "$(rss_mb "${CDLT_RSS[$small,$w]}") MB (ratio $(awk -v a="${CDLT_RSS[$big,$w]}" \
        -v b="${CDLT_RSS[$small,$w]}" 'BEGIN { printf "%.2f", a / b }'))."
  done
fi
}
report | tee "$WORK/report.md"
