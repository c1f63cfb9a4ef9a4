#pragma once

// The throwaway PostgreSQL server of the test suite. ctest starts it once per run (the fixture
// `pg` in test/CMakeLists.txt runs scripts/pg_server.sh start build/.../pg); a test binary run by
// hand starts it on first use and leaves it running for the next run.

#include <filesystem>
#include <string>
#include <vector>

#include "db/pg_conn.hpp"

namespace cdlt::test {

struct PgTestServer {
  int port = 0;
  std::string password;

  /// The server, started if needed. Fails the test (throws) when it cannot start.
  static const PgTestServer& Get();
  db::PgCredentials Credentials(const std::string& database) const;
  /// postgresql://postgres:PASSWORD@127.0.0.1:PORT/database
  std::string Url(const std::string& database) const;
};

/// A fresh database for one test (named after the test), dropped when the test ends.
class PgTestDatabase {
 public:
  PgTestDatabase();
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string url() const { return PgTestServer::Get().Url(name_); }
  db::PgCredentials credentials() const { return PgTestServer::Get().Credentials(name_); }
  /// Run SQL (one or more statements) in this database.
  void Exec(const std::string& sql) const;
  /// Rows of a query, values as text ("NULL" for NULL), columns joined by '|'.
  std::vector<std::string> Query(const std::string& sql) const;

 private:
  std::string name_;
};

/// Write a project for a sql_database → DuckDB pipeline into `dir`: .dlt/config.toml with pipeline
/// `pipeline_name`, dataset `src`, pipelines folder `dir/pipelines`, DuckDB file `dir/out.duckdb`,
/// no progress display, then `extra_toml`; and .dlt/secrets.toml with the credentials URL.
void WriteSqlDatabaseProject(const std::filesystem::path& dir, const std::string& pipeline_name,
                             const std::string& credentials_url, const std::string& extra_toml);

}  // namespace cdlt::test
