#include "helpers/pg_test_server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "helpers/test_util.hpp"
#include "io/file.hpp"

namespace cdlt::test {
namespace {

namespace fs = std::filesystem;

std::string ReadFirstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

fs::path ServerDir() {
  if (const char* dir = std::getenv("CDLT_PG_DIR")) return dir;
  return CDLT_PG_DIR;
}

PgTestServer Load() {
  fs::path dir = ServerDir();
  std::string script = std::string(CDLT_SOURCE_DIR) + "/scripts/pg_server.sh";
  std::string status = script + " status '" + dir.string() + "' >/dev/null 2>&1";
  if (std::system(status.c_str()) != 0) {
    std::string start = script + " start '" + dir.string() + "' >/dev/null";
    if (std::system(start.c_str()) != 0) {
      throw std::runtime_error("cannot start the test PostgreSQL server with " + start);
    }
  }
  PgTestServer server;
  server.port = std::stoi(ReadFirstLine(dir / "port"));
  server.password = ReadFirstLine(dir / "password");
  return server;
}

}  // namespace

const PgTestServer& PgTestServer::Get() {
  static const PgTestServer server = Load();
  return server;
}

db::PgCredentials PgTestServer::Credentials(const std::string& database) const {
  db::PgCredentials c;
  c.host = "127.0.0.1";
  c.port = port;
  c.database = database;
  c.username = "postgres";
  c.password = Secret<std::string>(password);
  return c;
}

std::string PgTestServer::Url(const std::string& database) const {
  return "postgresql://postgres:" + password + "@127.0.0.1:" + std::to_string(port) + "/" +
         database;
}

PgTestDatabase::PgTestDatabase() {
  std::string base = "t";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    base = std::string(info->test_suite_name()) + "_" + info->name();
  }
  for (char& c : base) {
    c = std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  }
  name_ = base.substr(0, 40) + "_" + io::RandomHex(4);
  db::PgConnection admin(PgTestServer::Get().Credentials("postgres"));
  admin.Execute("CREATE DATABASE " + db::QuoteIdent(name_));
}

PgTestDatabase::~PgTestDatabase() {
  try {
    db::PgConnection admin(PgTestServer::Get().Credentials("postgres"));
    admin.Execute("DROP DATABASE IF EXISTS " + db::QuoteIdent(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "dropping test database " << name_ << ": " << e.what();
  }
}

void PgTestDatabase::Exec(const std::string& sql) const {
  db::PgConnection conn(credentials());
  conn.Execute(sql);
}

std::vector<std::string> PgTestDatabase::Query(const std::string& sql) const {
  db::PgConnection conn(credentials());
  db::PgRows rows = conn.Query(sql);
  std::vector<std::string> out;
  for (const auto& row : rows.rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) line += (c ? "|" : "") + row[c].value_or("NULL");
    out.push_back(line);
  }
  return out;
}

void WriteSqlDatabaseProject(const std::filesystem::path& dir, const std::string& pipeline_name,
                             const std::string& credentials_url, const std::string& extra_toml) {
  WriteText(dir / ".dlt/config.toml",
            DuckDbPipelineToml(dir, pipeline_name, "sql_database", "src") + extra_toml + "\n");
  WriteText(dir / ".dlt/secrets.toml",
            fmt::format("[sources.sql_database]\ncredentials = \"{}\"\n", credentials_url));
}

}  // namespace cdlt::test
