#!/usr/bin/env bash
# Benchmark of the sql_database source, PostgreSQL -> DuckDB, beside the physical limit measured in
# the same run. Not a test: it prints a markdown table (and the machine it ran on) on stdout.
#
#   bench/sql_database_bench.sh [BUILD_DIR]      # default build/release; `make bench` runs it
#
# What it does (all under BUILD_DIR/../bench-sql, removed and recreated on every run):
#   1. starts a throwaway PostgreSQL (scripts/pg_server.sh; stopped on exit, whatever happens) and
#      creates mixed-type tables of BENCH_SIZES rows (default: BENCH_ROWS (2M) and
#      BENCH_SMALL_ROWS (0.5M)): bigint id
#      primary key, int, numeric(12,2), double, text of varying length, timestamptz, date, bool,
#      uuid, a small jsonb object, NULLs in every column but id; then ANALYZE.
#   2. per table, BENCH_REPEAT (3) rounds, each round running every measurement once in turn (so
#      drift of a shared machine hits all of them alike), reporting the median:
#        limit (a)  psql: COPY (SELECT * FROM t) TO STDOUT (FORMAT binary) > /dev/null
#        limit (b)  DuckDB: CREATE TABLE x AS SELECT * FROM read_parquet(<the Parquet files cdlt
#                   extracted from the same table>) into a fresh DuckDB file, with the memory_limit
#                   (and threads) cdlt's destination uses for merges (the most it gives an insert
#                   without a retry would be less) and preserve_insertion_order = false, as cdlt
#                   inserts: DuckDB's fastest way to ingest the file
#        cdlt run   sql_database -> duckdb, {extract,normalize,load}.workers = each of BENCH_WORKERS
#                   (1 2), each run into a fresh project folder, pipelines dir and DuckDB file
#   The limit of an end-to-end run is (a) + (b): cdlt's stages are sequential for one load package
#   (load starts when extract has finished), so a run can at best read the table once at COPY speed
#   and then ingest it once at DuckDB's Parquet speed.
#   Also measured: peak RSS (/usr/bin/time, else the trace), RSS and CPU sampled per stage, CPU of the
#   PostgreSQL server; see BENCHMARKS.md for the method and the figures. The report is also saved as
#   report.md (raw figures: results.txt) in the work folder.
#
# Environment: BENCH_SIZES (e.g. "500000 1000000 2000000 4000000"; default "BENCH_ROWS
# BENCH_SMALL_ROWS"), BENCH_ROWS, BENCH_SMALL_ROWS (0 = skip), BENCH_REPEAT, BENCH_WORKERS ("1 2"),
# BENCH_WORK_DIR. cdlt's own variables (e.g. DATA_WRITER__FILE_MAX_ITEMS,
# DESTINATION__DUCKDB__MEMORY_LIMIT, DESTINATION__DUCKDB__THREADS) pass through to its runs; the
# memory_limit and threads also apply to limit (b).
# Heavy commands run under `nice -n 5`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(realpath -m "${1:-$ROOT/build/release}")
ROWS=${BENCH_ROWS:-2000000}
SMALL_ROWS=${BENCH_SMALL_ROWS:-500000}
REPEAT=${BENCH_REPEAT:-3}
WORKERS_LIST=${BENCH_WORKERS:-"1 2"}
SIZES=${BENCH_SIZES:-"$ROWS $SMALL_ROWS"}
# The DuckDB settings of cdlt's destination, also used for limit (b): the configured ones, else
# cdlt's default memory_limit (128MB per DuckDB thread, at least 256MB; DuckDB's default threads =
# cores), see DefaultMemoryLimit in src/destinations/duckdb/duckdb_destination.hpp.
DUCK_THREADS=${DESTINATION__DUCKDB__THREADS:-}
# cdlt inserts without DuckDB's insertion order (its fastest insert); so does limit (b).
DUCK_ORDER=${DESTINATION__DUCKDB__PRESERVE_INSERTION_ORDER:-false}
DUCK_MEMORY_LIMIT=${DESTINATION__DUCKDB__MEMORY_LIMIT:-$(
  t=${DUCK_THREADS:-$(nproc)}; echo "$((128 * t > 256 ? 128 * t : 256))MB")}
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
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
LAST_PG_CPU_S=0 LAST_T0=0 LAST_T1=0 PRE_S=0 POST_S=0
STAGE_extract='' STAGE_normalize='' STAGE_load='' RSS_EXTRACT_KB='' RSS_LOAD_KB='' LAST_CPU_S='' CPU_EXTRACT_S='' CPU_LOAD_S=''
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

# Run a command; sets LAST_SECS (wall), LAST_RSS_KB and LAST_CPU_S (peak RSS and user + system CPU
# seconds of the process, from /usr/bin/time; empty without it) and LAST_PG_CPU_S (CPU seconds the
# PostgreSQL server spent meanwhile: the postmaster's own and reaped children's time, so the
# backends that served the measured command once they have exited).
# With SAMPLE_TO=FILE set, also writes "epoch_seconds rss_kb cpu_ticks" lines to FILE every 0.1 s
# (RSS and user + system CPU of the measured process, to find the peak and the CPU of each stage).
SAMPLE_TO=
timed() {
  local t0 t1 pid sampler="" pg0 pg1
  pg0=$(pg_cpu_ticks)
  t0=$(now)
  if [ -n "$TIME_BIN" ]; then
    "$TIME_BIN" -f "%M %U %S" -o "$WORK/time.out" "$@" &
  else
    "$@" &
  fi
  pid=$!
  if [ -n "$SAMPLE_TO" ]; then
    sample_rss "$pid" >"$SAMPLE_TO" &
    sampler=$!
  fi
  local rc=0
  wait "$pid" || rc=$?
  t1=$(now)
  if [ -n "$sampler" ]; then wait "$sampler" || true; fi
  for _ in 1 2 3 4 5 6 7 8 9 10; do # until the backends of the command have exited and been reaped
    [ "$(pg_backends)" -le 0 ] && break
    sleep 0.1
  done
  pg1=$(pg_cpu_ticks)
  LAST_PG_CPU_S=$(awk -v a="$pg0" -v b="$pg1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
  LAST_SECS=$(elapsed "$t0" "$t1") LAST_T0=$t0 LAST_T1=$t1
  LAST_RSS_KB='' LAST_CPU_S=''
  if [ -n "$TIME_BIN" ] && [ $rc -eq 0 ]; then
    read -r LAST_RSS_KB LAST_CPU_S < <(tail -1 "$WORK/time.out" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }')
  fi
  return $rc
}

# CPU ticks of the PostgreSQL server: postmaster utime + stime + cutime + cstime (0 before it runs).
pg_cpu_ticks() {
  local pm
  pm=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat" 2>/dev/null || echo 0
}
# Client backends still running (the benchmark's own sessions only: nothing else connects).
pg_backends() {
  local pm
  pm=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  # Children of the postmaster whose command line names a client connection ("postgres: user db host").
  local n=0 c
  for c in $( (pgrep -P "$pm" || true) 2>/dev/null); do
    if tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q '127\.0\.0\.1\|\[local\]'; then n=$((n + 1)); fi
  done
  echo "$n"
}

# The measured process is the child of /usr/bin/time (nice and env exec into it), else PID itself.
sample_rss() {
  local pid=$1 target=
  while kill -0 "$pid" 2>/dev/null; do
    if [ -z "$target" ]; then
      if [ -n "$TIME_BIN" ]; then
        target=$( (pgrep -P "$pid" || cat "/proc/$pid/task/$pid/children") 2>/dev/null | head -1 | tr -d ' ')
      else
        target=$pid
      fi
    fi
    if [ -n "$target" ]; then
      awk -v t="$EPOCHREALTIME" 'FNR == NR && /^VmRSS:/ { rss = $2 } FNR != NR { cpu = $14 + $15 }
        END { if (rss != "") print t, rss, cpu }' "/proc/$target/status" "/proc/$target/stat" 2>/dev/null || true
    fi
    sleep 0.1
  done
}

# "peak_rss_kb cpu_seconds" of one stage of a cdlt run, from the samples within the stage's window
# in the run's trace.json (CPU: last sample in the window minus last sample before it).
stage_stats() {
  local trace=$1 samples=$2 stage=$3
  awk -v want="$stage" -v hz="$CLK_TCK" '
    FNR == 1 { file++ }
    file == 1 && /"steps"/ { steps = 1 }
    file == 1 && steps && /"finished_at"/ { f = $2 + 0 }
    file == 1 && steps && /"started_at"/ { s = $2 + 0 }
    file == 1 && steps && /"step":/ { name = $2; gsub(/[",]/, "", name); if (name == want) { lo = s; hi = f } }
    file == 2 && hi > 0 && $1 < lo { before = $3 }
    file == 2 && hi > 0 && $1 >= lo && $1 <= hi + 0.1 { if ($2 > peak) peak = $2; last = $3 }
    END { printf "%d %.2f\n", peak, (last != "" ? (last - before) / hz : 0) }' "$trace" "$samples"
}

# --- PostgreSQL and the tables --------------------------------------------------------------------
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
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
for rows in $SIZES; do
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
  SAMPLE_TO=$RUN_DIR/rss.samples
  timed "${NICE[@]}" env DLT_PROJECT_DIR="$RUN_DIR" EXTRACT__WORKERS="$workers" \
    NORMALIZE__WORKERS="$workers" LOAD__WORKERS="$workers" \
    "$CDLT" run --project-dir "$RUN_DIR" >"$RUN_DIR/run.out" 2>&1 || {
    cat "$RUN_DIR/run.out" >&2
    die "cdlt run failed: $table, $workers worker(s)"
  }
  SAMPLE_TO=
  local trace=$RUN_DIR/pipelines/bench/trace.json
  read -r RSS_EXTRACT_KB CPU_EXTRACT_S < <(stage_stats "$trace" "$RUN_DIR/rss.samples" extract)
  read -r RSS_LOAD_KB CPU_LOAD_S < <(stage_stats "$trace" "$RUN_DIR/rss.samples" load)
  # Time outside the trace's run window: before it (start-up, config, connect + reflection) and
  # after it (closing the DuckDB database: its checkpoint).
  read -r PRE_S POST_S < <(awk -v t0="$LAST_T0" -v t1="$LAST_T1" '
    /"steps"/ { exit }
    /"started_at"/ { s = $2 + 0 } /"finished_at"/ { f = $2 + 0 }
    END { if (s > 0 && f > 0) printf "%.2f %.2f\n", s - t0, t1 - f; else print "0 0" }' "$trace")
  if [ -z "${LAST_RSS_KB:-}" ]; then # no /usr/bin/time: the trace's peak RSS
    LAST_RSS_KB=$(grep -o '"peak_rss_bytes": *[0-9]*' "$trace" |
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
# One line per measurement in $RESULTS: kind table workers round secs cpu_s rss_kb pg_cpu_s, then
# for cdlt runs: rss_extract_kb rss_load_kb extract_s normalize_s load_s cpu_extract_s cpu_load_s
# before_run_s after_run_s.
RESULTS=$WORK/results.txt
: >"$RESULTS"
declare -A COPY_BYTES PQ_BYTES PQ_FILES

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

  for round in $(seq 1 "$REPEAT"); do
    log "$table: round $round/$REPEAT"
    timed "${COPY_CMD[@]}" >/dev/null
    echo "copy $table - $round $LAST_SECS ${LAST_CPU_S:-0} ${LAST_RSS_KB:-0} $LAST_PG_CPU_S" >>"$RESULTS"

    db=$WORK/duck/limit_$round.duckdb
    rm -f "$db"*
    timed "${NICE[@]}" "$DUCKQ" "$db" \
      "$(duck_stmt "SET memory_limit = '$DUCK_MEMORY_LIMIT'; SET preserve_insertion_order = $DUCK_ORDER; ${DUCK_THREADS:+SET threads = $DUCK_THREADS; }CREATE TABLE x AS SELECT * FROM read_parquet('$WORK/parquet/$table/*.parquet')")" \
      >/dev/null
    echo "duck $table - $round $LAST_SECS ${LAST_CPU_S:-0} ${LAST_RSS_KB:-0} 0" >>"$RESULTS"
    n=$(duck_scalar "$db" "SELECT count(*) FROM x")
    [ "$n" = "$rows" ] || die "DuckDB limit table has $n rows, expected $rows"
    rm -f "$db"*

    for w in $WORKERS_LIST; do
      run_cdlt "$table" "$w" "${table}_w${w}_r$round" "$rows"
      echo "cdlt $table $w $round $LAST_SECS ${LAST_CPU_S:-0} ${LAST_RSS_KB:-0} $LAST_PG_CPU_S" \
        "${RSS_EXTRACT_KB:-0} ${RSS_LOAD_KB:-0} ${STAGE_extract:-0} ${STAGE_normalize:-0}" \
        "${STAGE_load:-0} ${CPU_EXTRACT_S:-0} ${CPU_LOAD_S:-0} $PRE_S $POST_S" >>"$RESULTS"
      rm -rf "$RUN_DIR"
    done
  done
done

# --- report (also saved as $WORK/report.md) ------------------------------------------------------
# med KIND TABLE WORKERS FIELD: the median of FIELD (1-based, as in $RESULTS) over the rounds.
med() {
  # shellcheck disable=SC2046
  median $(awk -v k="$1" -v t="$2" -v w="$3" -v f="$4" '$1 == k && $2 == t && $3 == w { print $f }' "$RESULTS")
}
# rounds KIND TABLE WORKERS: the wall times of every round, comma-separated.
rounds() {
  awk -v k="$1" -v t="$2" -v w="$3" '$1 == k && $2 == t && $3 == w { printf "%s%.2f", (n++ ? ", " : ""), $5 }' "$RESULTS"
}
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
rss_mb() { if [ -n "$1" ] && [ "$1" != 0 ]; then awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; else echo "—"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "—" }'; }
f2() { fmt "$1" %.2f; }
sum() { printf '%s\n' "$@" | awk '{ t += $1 } END { printf "%.3f", t }'; }

report() {
  echo "## sql_database: PostgreSQL → DuckDB"
  echo
  echo "Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)),"\
    "$(free -g | awk '/^Mem:/ { print $2 }') GB RAM ($(free -g | awk '/^Mem:/ { print $7 }') GB available),"\
    "disk $(df -h "$WORK" | awk 'NR == 2 { print $1 " " $2 " (" $4 " free)" }');"\
    "PostgreSQL $(psql -X -At "$PG_URL" -c 'SHOW server_version' | cut -d' ' -f1);"\
    "load average at the start $LOADAVG_START, at the end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "DuckDB settings of limit (b): memory_limit = $DUCK_MEMORY_LIMIT$(
    [ -n "${DESTINATION__DUCKDB__MEMORY_LIMIT:-}" ] || echo " (cdlt's default for merges)"),"\
    "preserve_insertion_order = $DUCK_ORDER, threads =" \
    "$(if [ -n "$DUCK_THREADS" ]; then echo "$DUCK_THREADS"; else echo "DuckDB's default ($(nproc))"; fi)."
  echo
  echo "Median of $REPEAT round(s). MB/s = bytes of the table's binary COPY stream / time (the same"
  echo "numerator in every row). Parquet = cdlt's extract files (ZSTD), the input of limit (b)."
  echo "ratio = limit (a)+(b) time / cdlt time = cdlt throughput / limit throughput (target ≥ 0.7)."
  echo "Peak RSS: $([ -n "$TIME_BIN" ] && echo "/usr/bin/time's max RSS of the process" || echo "cdlt's trace");"
  echo "in extract / in load: highest RSS sampled every 0.1 s within each stage's window of the trace."
  echo "CPU s: user + system CPU of the measured process (psql, DuckDB, cdlt) + of the PostgreSQL server"
  echo "meanwhile; CPU ratio = limit CPU / cdlt CPU (work done, insensitive to other load on the machine)."
  echo "Stages: extract / normalize / load from the trace; (c) = CPU seconds of cdlt within the stage;"
  echo "other = wall − stages, of which 'before' the trace's run starts (start-up, connect, reflection)"
  echo "and 'after' it ends (closing DuckDB: its checkpoint)."
  echo
  echo "| table | configuration | time s | rows/s | MB/s | ratio to limit | CPU s: process + PG server | CPU ratio | peak RSS MB | RSS in extract / load MB | extract / normalize / load / other s |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  local table rows bytes label copy duck limit w s ex no lo copy_cpu copy_pg duck_cpu limit_cpu c pg
  for table in "${TABLES[@]}"; do
    rows=${table#t_}
    bytes=${COPY_BYTES[$table]}
    label="$(awk -v r="$rows" 'BEGIN { if (r >= 1e6) printf "%gM", r / 1e6; else printf "%gk", r / 1e3 }') rows"
    copy=$(med copy "$table" - 5) copy_cpu=$(med copy "$table" - 6) copy_pg=$(med copy "$table" - 8)
    duck=$(med duck "$table" - 5) duck_cpu=$(med duck "$table" - 6)
    limit=$(sum "$copy" "$duck")
    limit_cpu=$(sum "$copy_cpu" "$copy_pg" "$duck_cpu")
    echo "| $label | limit (a): COPY binary → /dev/null ($(mb "$bytes") MB) | $(f2 "$copy") | $(rate "$rows" "$copy") | $(mbps "$bytes" "$copy") | | $(f2 "$copy_cpu") + $(f2 "$copy_pg") | | | | |"
    echo "| $label | limit (b): DuckDB CTAS from Parquet ($(mb "${PQ_BYTES[$table]}") MB, ${PQ_FILES[$table]} file(s)) | $(f2 "$duck") | $(rate "$rows" "$duck") | $(mbps "$bytes" "$duck") | | $(f2 "$duck_cpu") | | $(rss_mb "$(med duck "$table" - 7)") | | |"
    echo "| $label | **limit (a) + (b)** | $(f2 "$limit") | $(rate "$rows" "$limit") | $(mbps "$bytes" "$limit") | 1.00 | $(f2 "$limit_cpu") | 1.00 | | | |"
    for w in $WORKERS_LIST; do
      s=$(med cdlt "$table" "$w" 5) c=$(med cdlt "$table" "$w" 6) pg=$(med cdlt "$table" "$w" 8)
      ex=$(med cdlt "$table" "$w" 11) no=$(med cdlt "$table" "$w" 12) lo=$(med cdlt "$table" "$w" 13)
      echo "| $label | **cdlt run, $w worker(s)** | $(f2 "$s") | $(rate "$rows" "$s") | $(mbps "$bytes" "$s") | **$(ratio "$limit" "$s")** | $(f2 "$c") + $(f2 "$pg") | $(ratio "$limit_cpu" "$(sum "$c" "$pg")") | $(rss_mb "$(med cdlt "$table" "$w" 7)") | $(rss_mb "$(med cdlt "$table" "$w" 9)") / $(rss_mb "$(med cdlt "$table" "$w" 10)") | $(f2 "$ex") ($(fmt "$(med cdlt "$table" "$w" 14)" %.1f)c) / $(f2 "$no") / $(f2 "$lo") ($(fmt "$(med cdlt "$table" "$w" 15)" %.1f)c) / $(awk -v s="$s" -v a="$ex" -v b="$no" -v c="$lo" 'BEGIN { printf "%.2f", s - a - b - c }') ($(f2 "$(med cdlt "$table" "$w" 16)") before + $(f2 "$(med cdlt "$table" "$w" 17)") after) |"
    done
  done
  echo
  echo "Wall times of the rounds (s):"
  for table in "${TABLES[@]}"; do
    echo "- ${table#t_} rows: COPY $(rounds copy "$table" -); DuckDB CTAS $(rounds duck "$table" -)$(
      for w in $WORKERS_LIST; do printf '; cdlt %s worker(s) %s' "$w" "$(rounds cdlt "$table" "$w")"; done)."
  done
  if [ "${#TABLES[@]}" -ge 2 ]; then
    # By table size, smallest first: does the peak grow with the table?
    local sorted=() header="" line
    mapfile -t sorted < <(printf '%s\n' "${TABLES[@]}" | sort -t_ -k2 -n)
    for table in "${sorted[@]}"; do
      header+=" $(awk -v r="${table#t_}" 'BEGIN { if (r >= 1e6) printf "%gM", r / 1e6; else printf "%gk", r / 1e3 }') rows |"
    done
    echo
    echo "By table size (medians; MB; largest / smallest in the last column):"
    echo
    echo "| figure |$header largest / smallest |"
    echo "|---|$(for _ in "${sorted[@]}"; do printf -- '---:|'; done)---:|"
    size_row() { # label kind workers field
      local label=$1 kind=$2 w=$3 f=$4 t first="" last=""
      line="| $label |"
      for t in "${sorted[@]}"; do
        local v
        v=$(med "$kind" "$t" "$w" "$f")
        line+=" $(rss_mb "$v") |"
        [ -n "$first" ] || first=$v
        last=$v
      done
      echo "$line $(ratio "$last" "$first") |"
    }
    for w in $WORKERS_LIST; do
      size_row "peak RSS, whole run, $w worker(s)" cdlt "$w" 7
      size_row "peak RSS in extract, $w worker(s)" cdlt "$w" 9
      size_row "peak RSS in load, $w worker(s)" cdlt "$w" 10
    done
    size_row "peak RSS, DuckDB CTAS (limit b)" duck - 7
    for w in $WORKERS_LIST; do
      line="| ratio to limit, $w worker(s) |"
      for t in "${sorted[@]}"; do
        line+=" $(ratio "$(sum "$(med copy "$t" - 5)" "$(med duck "$t" - 5)")" "$(med cdlt "$t" "$w" 5)") |"
      done
      echo "$line |"
    done
  fi
}
report | tee "$WORK/report.md"
