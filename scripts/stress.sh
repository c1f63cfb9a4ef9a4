#!/usr/bin/env bash
# Crash stress run: the incremental crash sweep (test/e2e/incremental_crash_test.cpp) with many
# more SIGKILLs than the default suite, through ctest so the throwaway PostgreSQL server (fixture
# `pg`) is started and stopped around it.
#
#   scripts/stress.sh [BUILD_DIR]     # default build/release
#
#   CDLT_CRASH_STRESS=N   kills to reach (default 500)
#   CDLT_CRASH_SEED=S     replay a seed (default: from the clock; printed at the start and in any
#                         failure)
#   JOBS=N                build parallelism (default nproc)
set -euo pipefail

cd "$(dirname "$0")/.."
build_dir=${1:-build/release}
kills=${CDLT_CRASH_STRESS:-500}
case "$kills" in
  '' | *[!0-9]*) echo "stress: CDLT_CRASH_STRESS must be a number, got '$kills'" >&2; exit 2 ;;
esac

scripts/install_deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target cdlt cdlt_e2e_tests

# About 2 s per kill on a busy 2-core machine, with room to spare.
timeout=$((kills * 6 + 600))
echo "stress: $kills kills in the incremental crash sweep (ctest timeout ${timeout}s)"
cd "$build_dir"
CDLT_CRASH_STRESS=$kills ctest --output-on-failure -V -R '^IncrementalCrash\.' --timeout "$timeout"
