// Prints the result of SQL statements run against a DuckDB file, for the demo, the benchmarks
// and debugging (the DuckDB CLI is not in Debian).
//   cdlt_duck_query DB_FILE SQL [SQL...]

#include <fmt/format.h>

#include <iostream>

#include "db/duckdb_conn.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: cdlt_duck_query DB_FILE SQL [SQL...]\n";
    return 2;
  }
  try {
    auto db = cdlt::db::DuckDatabase::Open(argv[1]);
    cdlt::db::DuckConnection con(db);
    for (int i = 2; i < argc; ++i) {
      cdlt::db::TextRows rows = con.QueryText(argv[i]);
      std::string line;
      for (const auto& c : rows.columns) line += (line.empty() ? "" : " | ") + c;
      fmt::print("{}\n", line);
      for (const auto& row : rows.rows) {
        line.clear();
        for (size_t c = 0; c < row.size(); ++c) {
          line += (c ? " | " : "") + row[c].value_or("NULL");
        }
        fmt::print("{}\n", line);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "cdlt_duck_query: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
