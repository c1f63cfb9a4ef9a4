// Writes the demo's sample data: customers as CSV, orders as Parquet (split over several files),
// generated with DuckDB so the demo needs nothing but the build.
//   cdlt_sample_data OUT_DIR [ORDERS_ROWS]

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "db/duckdb_conn.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: cdlt_sample_data OUT_DIR [ORDERS_ROWS]\n";
    return 2;
  }
  namespace fs = std::filesystem;
  fs::path out = argv[1];
  long long orders = argc > 2 ? std::atoll(argv[2]) : 1000000;
  try {
    fs::create_directories(out / "customers");
    fs::create_directories(out / "orders");
    auto db = cdlt::db::DuckDatabase::Open(":memory:");
    cdlt::db::DuckConnection con(db);
    con.Execute(fmt::format(
        "COPY (SELECT i AS \"Customer ID\", 'customer ' || i AS \"Name\", "
        "['DE','FR','US','JP'][1 + i % 4] AS \"Country\", DATE '2020-01-01' + (i % 1500)::INT AS "
        "\"Signed Up\", i % 3 = 0 AS \"Is VIP\" FROM range(1, 10001) t(i)) TO {} (HEADER, "
        "DELIMITER ',')",
        cdlt::db::QuoteLiteral((out / "customers" / "customers.csv").string())));
    int parts = 4;
    for (int p = 0; p < parts; ++p) {
      long long from = orders * p / parts, to = orders * (p + 1) / parts;
      con.Execute(fmt::format(
          "COPY (SELECT i AS order_id, 1 + i % 10000 AS customer_id, "
          "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i * 7) AS ordered_at, "
          "round(5 + (i * 37 % 100000) / 100.0, 2)::DECIMAL(12,2) AS amount, "
          "(i % 5)::INTEGER AS status, uuid() AS tracking_id, "
          "CASE WHEN i % 11 = 0 THEN NULL ELSE 'note ' || i END AS note "
          "FROM range({}, {}) t(i)) TO {} (FORMAT parquet)",
          from, to,
          cdlt::db::QuoteLiteral((out / "orders" / fmt::format("orders_{}.parquet", p)).string())));
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
