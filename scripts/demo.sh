#!/usr/bin/env bash
# The main job on sample data: starts a throwaway PostgreSQL (Debian's server, as the postgres
# user, on 127.0.0.1 at a free port, data folder under build/), creates a `shop` schema of related
# tables with every common type (about 1M rows in all), writes .dlt/config.toml and
# .dlt/secrets.toml in the shape of a dlt sql_database pipeline, runs `cdlt run` into
# demo/demo.duckdb, prints the run's metrics and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
CDLT=$(realpath "${1:-build/release/cdlt}")
BIN=$(dirname "$CDLT")
ROOT=$(pwd)
DEMO=$ROOT/demo
PGDIR=$BIN/demo-pg
ROWS=${DEMO_ROWS:-1000000}

rm -rf "$DEMO"
mkdir -p "$DEMO/.dlt"
trap 'scripts/pg_server.sh stop "$PGDIR" >/dev/null 2>&1 || true' EXIT
scripts/pg_server.sh start "$PGDIR"
PORT=$(cat "$PGDIR/port")
PASSWORD=$(cat "$PGDIR/password")
export PGPASSWORD=$PASSWORD
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE shop_demo"

ORDERS=$((ROWS * 3 / 10))
ITEMS=$((ROWS * 6 / 10))
CUSTOMERS=$((ROWS * 9 / 100))
PRODUCTS=$((ROWS - ORDERS - ITEMS - CUSTOMERS))
echo "demo: creating schema shop ($CUSTOMERS customers, $PRODUCTS products, $ORDERS orders, $ITEMS order items)"
"${PSQL[@]}" -d shop_demo <<SQL
CREATE SCHEMA shop;
CREATE TYPE shop.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE TABLE shop.customers (
  customer_id   integer PRIMARY KEY,
  email         varchar(120) NOT NULL,
  full_name     text,
  country       char(2),
  signed_up_on  date NOT NULL,
  is_vip        boolean NOT NULL,
  lifetime_value numeric(14,2),
  last_ip       inet,
  preferences   jsonb,
  tags          text[]
);
INSERT INTO shop.customers
SELECT i, 'customer' || i || '@example.com', 'Customer ' || i,
       (ARRAY['DE','FR','US','JP','BR'])[1 + i % 5], DATE '2019-01-01' + (i % 2000),
       i % 7 = 0, CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 100000) * 1.37 END,
       ('10.' || (i % 250) || '.' || (i % 199) || '.' || (i % 97))::inet,
       jsonb_build_object('newsletter', i % 2 = 0, 'language', (ARRAY['en','de','fr'])[1 + i % 3]),
       ARRAY['t' || (i % 13), 't' || (i % 17)]
FROM generate_series(1, $CUSTOMERS) i;

CREATE TABLE shop.products (
  product_id  bigint PRIMARY KEY,
  sku         uuid NOT NULL,
  name        text NOT NULL,
  price       numeric(10,2) NOT NULL,
  weight_kg   double precision,
  image       bytea,
  added_at    timestamp NOT NULL
);
INSERT INTO shop.products
SELECT i, md5('sku' || i)::uuid, 'Product ' || i, 1 + (i % 500) * 0.99, (i % 1000) / 37.0,
       CASE WHEN i % 4 = 0 THEN decode(md5(i::text), 'hex') END,
       TIMESTAMP '2020-01-01' + i * INTERVAL '17 minutes'
FROM generate_series(1, $PRODUCTS) i;

CREATE TABLE shop.orders (
  order_id     bigint PRIMARY KEY,
  customer_id  integer NOT NULL REFERENCES shop.customers,
  status       shop.order_status NOT NULL,
  ordered_at   timestamptz NOT NULL,
  shipped_after interval,
  total        numeric(14,2) NOT NULL,
  note         text
);
INSERT INTO shop.orders
SELECT i, 1 + (i * 7919) % $CUSTOMERS, (ARRAY['new','paid','shipped','cancelled'])[1 + i % 4]::shop.order_status,
       TIMESTAMPTZ '2023-01-01 00:00:00+00' + i * INTERVAL '41 seconds',
       CASE WHEN i % 4 = 2 THEN (i % 96) * INTERVAL '1 hour' END, (i % 90000) * 0.11 + 5,
       CASE WHEN i % 10 = 0 THEN 'gift wrap, please' END
FROM generate_series(1::bigint, $ORDERS) i;

CREATE TABLE shop.order_items (
  order_id    bigint NOT NULL REFERENCES shop.orders,
  line_no     smallint NOT NULL,
  product_id  bigint NOT NULL REFERENCES shop.products,
  quantity    integer NOT NULL,
  unit_price  numeric(10,2) NOT NULL,
  discount    real,
  PRIMARY KEY (order_id, line_no)
);
INSERT INTO shop.order_items
SELECT 1 + i / 2, 1 + i % 2, 1 + (i * 31) % $PRODUCTS, 1 + i % 5, 1 + (i % 500) * 0.99,
       CASE WHEN i % 9 = 0 THEN 0.1 END
FROM generate_series(0::bigint, $ITEMS - 1) i;
ANALYZE;
SQL

cat > "$DEMO/.dlt/config.toml" <<TOML
[runtime]
log_level = "WARNING"

[pipeline]
pipeline_name = "demo"
destination = "duckdb"
dataset_name = "shop_raw"
source = "sql_database"
pipelines_dir = "$DEMO/pipelines"
progress = "log"

# Source: which PostgreSQL schema and tables to extract.
[sources.sql_database]
schema = "shop"
table_names = ["customers", "products", "orders", "order_items"]
chunk_size = 50000
backend = "connectorx"  # accepted for compatibility; cdlt always uses its binary COPY reader

[sources.sql_database.customers]
write_disposition = "replace"

[sources.sql_database.products]
write_disposition = "replace"

[sources.sql_database.orders]
write_disposition = "replace"

[sources.sql_database.order_items]
write_disposition = "replace"

# Interim files: Parquet, rotated.
[data_writer]
buffer_max_items = 50000
file_max_items = 250000

# Workers per stage.
[extract]
workers = 2

[normalize]
workers = 2
loader_file_format = "parquet"

[load]
workers = 2

[destination.duckdb]
credentials = "$DEMO/demo.duckdb"
TOML
cat > "$DEMO/.dlt/secrets.toml" <<TOML
[sources.sql_database]
credentials = "postgresql://postgres:$PASSWORD@127.0.0.1:$PORT/shop_demo"
TOML
chmod 600 "$DEMO/.dlt/secrets.toml"

echo "demo: cdlt run (config in $DEMO/.dlt/config.toml, credentials in $DEMO/.dlt/secrets.toml)"
(cd "$DEMO" && "$CDLT" run)
echo
echo "demo: cdlt pipeline demo info"
"$CDLT" pipeline --pipelines-dir "$DEMO/pipelines" demo info
echo
echo "demo: rows in $DEMO/demo.duckdb"
"$BIN/cdlt_duck_query" "$DEMO/demo.duckdb" \
  "SELECT table_name, estimated_size AS rows FROM duckdb_tables() WHERE schema_name = 'shop_raw' AND table_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1" \
  "SELECT count(*) AS orders, sum(total) AS revenue, min(ordered_at) AS first_order FROM shop_raw.orders"
