#!/usr/bin/env bash
# The main job on sample data: writes CSV and Parquet files and a dlt-style .dlt/config.toml into
# demo/, then runs `cdlt run` into demo/demo.duckdb and prints the run's metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
CDLT=$(realpath "${1:-build/release/cdlt}")
ROOT=$(pwd)
DEMO=$ROOT/demo
rm -rf "$DEMO"
mkdir -p "$DEMO/.dlt"
echo "demo: writing sample data (10k customers as CSV, 1M orders as Parquet) to $DEMO/data"
"$(dirname "$CDLT")/cdlt_sample_data" "$DEMO/data" 1000000
cat > "$DEMO/.dlt/config.toml" <<TOML
[runtime]
log_level = "WARNING"

[pipeline]
pipeline_name = "demo"
destination = "duckdb"
dataset_name = "shop"
source = "filesystem"
pipelines_dir = "$DEMO/pipelines"
progress = "log"

[extract]
workers = 2

[normalize]
workers = 2

[load]
workers = 2

[data_writer]
buffer_max_items = 50000
file_max_items = 250000

[destination.duckdb]
credentials = "$DEMO/demo.duckdb"

[sources.filesystem.customers]
bucket_url = "$DEMO/data/customers"
file_glob = "*.csv"
write_disposition = "replace"
primary_key = "customer_id"

[sources.filesystem.orders]
bucket_url = "$DEMO/data/orders"
file_glob = "**/*.parquet"
write_disposition = "append"
TOML
echo "demo: cdlt run (config in $DEMO/.dlt/config.toml)"
(cd "$DEMO" && "$CDLT" run)
echo
echo "demo: cdlt pipeline demo info"
"$CDLT" pipeline --pipelines-dir "$DEMO/pipelines" demo info
