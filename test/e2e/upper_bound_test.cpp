// End-to-end: `upper_bound = "snapshot"` on incremental sql_database tables (PostgreSQL → DuckDB).
// A transaction that stamps its rows with now() but commits after a run has read past that time
// loses those rows under dlt's plain `cursor >= last_value`; with the bound they are read by the
// next run. The same scenario on a table without the bound shows the loss, so the test would
// notice if the scenario stopped producing a late commit.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "db/pg_conn.hpp"
#include "helpers/pg_test_server.hpp"
#include "helpers/test_util.hpp"

namespace cdlt::test {
namespace {

constexpr const char* kTables = R"SQL(
CREATE TABLE bounded (id serial PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now(),
                      note text);
CREATE TABLE plain (id serial PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now(),
                    note text);
CREATE TABLE local_time (id serial PRIMARY KEY, updated_at timestamp NOT NULL DEFAULT now(),
                         note text);
)SQL";

constexpr const char* kConfig = R"([sources.sql_database]
table_names = ["bounded", "plain", "local_time"]

[sources.sql_database.bounded]
incremental = { cursor_path = "updated_at" }
upper_bound = "snapshot"

[sources.sql_database.plain]
incremental = { cursor_path = "updated_at" }

[sources.sql_database.local_time]
incremental = { cursor_path = "updated_at" }
upper_bound = "snapshot"
upper_bound_time_zone = "UTC"
)";

void InsertInto(const PgTestDatabase& pg, const std::string& note) {
  pg.Exec("INSERT INTO bounded (note) VALUES ('" + note + "'); INSERT INTO plain (note) VALUES ('" +
          note + "'); INSERT INTO local_time (note) VALUES ('" + note + "');");
}

TEST(UpperBoundE2E, RowsCommittedLateAreReadByTheNextRun) {
  TempDir dir;
  PgTestDatabase pg;
  pg.Exec(kTables);
  InsertInto(pg, "early");
  WriteSqlDatabaseProject(dir.path(), "bound", pg.url(), kConfig);
  // A writer opens its transaction (now() is fixed at its start) and inserts, but does not commit
  // yet; the database's TimeZone for this session is UTC (cdlt's connections set it).
  db::PgConnection late(pg.credentials());
  late.Execute("BEGIN");
  late.Execute(
      "INSERT INTO bounded (note) VALUES ('late'); INSERT INTO plain (note) VALUES ('late'); "
      "INSERT INTO local_time (note) VALUES ('late')");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  InsertInto(pg, "after");  // committed, stamped later than the open transaction's start

  const std::map<std::string, std::string> info = {{"RUNTIME__LOG_LEVEL", "INFO"}};
  CommandResult r = RunCli({"run"}, dir.path(), info);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("the start of the oldest open transaction"), std::string::npos)
      << Describe(r);
  auto notes = [&](const std::string& table) {
    return QueryDuckScalar(dir / "out.duckdb",
                           "SELECT string_agg(note, ',' ORDER BY id) FROM src." + table);
  };
  // With the bound, nothing at or after the open transaction's start is read yet.
  EXPECT_EQ(notes("bounded"), "early");
  EXPECT_EQ(notes("local_time"), "early");
  EXPECT_EQ(notes("plain"), "early,after");

  late.Execute("COMMIT");
  r = RunCli({"run"}, dir.path(), info);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("no other transaction open"), std::string::npos) << Describe(r);
  EXPECT_EQ(notes("bounded"), "early,late,after");
  EXPECT_EQ(notes("local_time"), "early,late,after");
  // dlt's behaviour: the late row is below the last value of run 1 and is never read.
  EXPECT_EQ(notes("plain"), "early,after");

  // Nothing new: a third run loads nothing and duplicates nothing.
  r = RunCli({"run"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryDuckScalar(dir / "out.duckdb",
                            "SELECT count(*) || '/' || count(DISTINCT id) FROM src.bounded"),
            "3/3");
}

TEST(UpperBoundE2E, AnIntegerCursorIsRefusedNamingTheKeyAndColumn) {
  TempDir dir;
  PgTestDatabase pg;
  pg.Exec("CREATE TABLE seq (id int PRIMARY KEY, v text); INSERT INTO seq VALUES (1, 'a');");
  WriteSqlDatabaseProject(dir.path(), "bound", pg.url(), R"([sources.sql_database]
table_names = ["seq"]

[sources.sql_database.seq]
incremental = { cursor_path = "id" }
upper_bound = "snapshot"
)");
  CommandResult r = RunCli({"run"}, dir.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("sources.sql_database.seq.upper_bound"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("id of table public.seq"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("integer"), std::string::npos) << Describe(r);

  WriteSqlDatabaseProject(dir.path(), "bound", pg.url(), R"([sources.sql_database]
table_names = ["seq"]
upper_bound = "latest"
)");
  r = RunCli({"run"}, dir.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("upper_bound"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("\"none\", \"snapshot\""), std::string::npos) << Describe(r);

  // Set in a table's own section without an incremental, the bound would do nothing: refused.
  WriteSqlDatabaseProject(dir.path(), "bound", pg.url(), R"([sources.sql_database]
table_names = ["seq"]

[sources.sql_database.seq]
upper_bound = "snapshot"
)");
  r = RunCli({"run"}, dir.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("config key sources.sql_database.seq.upper_bound"), std::string::npos)
      << Describe(r);
  EXPECT_NE(r.err.find("sources.sql_database.seq.incremental"), std::string::npos) << Describe(r);

  // Set for the whole source, it bounds the tables that have a cursor; a table without one loads.
  WriteSqlDatabaseProject(dir.path(), "bound", pg.url(), R"([sources.sql_database]
table_names = ["seq"]
upper_bound = "snapshot"
)");
  r = RunCli({"run"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryDuckScalar(dir.path() / "out.duckdb", "SELECT string_agg(v, ',') FROM src.seq"),
            "a");
}

TEST(UpperBoundE2E, AUserWhoCannotSeeOtherSessionsGetsAClearErrorWithoutThePassword) {
  TempDir dir;
  PgTestDatabase pg;
  const std::string role = "reader_" + pg.name();
  const std::string password = "s3cret-bound-pw";
  pg.Exec(kTables);
  InsertInto(pg, "early");
  pg.Exec("DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role + " LOGIN PASSWORD '" + password +
          "'; GRANT USAGE ON SCHEMA public TO " + role + "; GRANT SELECT ON ALL TABLES IN SCHEMA " +
          "public TO " + role + ";");
  const PgTestServer& server = PgTestServer::Get();
  const std::string url = "postgresql://" + role + ":" + password +
                          "@127.0.0.1:" + std::to_string(server.port) + "/" + pg.name();
  WriteSqlDatabaseProject(dir.path(), "bound", url, kConfig);
  // A session of another user (the superuser) is open in this database.
  db::PgConnection other(pg.credentials());
  other.Execute("BEGIN");
  other.Execute("SELECT 1");
  CommandResult r = RunCli({"run"}, dir.path());
  other.Execute("ROLLBACK");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("pg_read_all_stats"), std::string::npos) << Describe(r);
  EXPECT_EQ(r.err.find(password), std::string::npos) << Describe(r);
  EXPECT_EQ(r.out.find(password), std::string::npos) << Describe(r);
  // With the grant the same run succeeds.
  pg.Exec("GRANT pg_read_all_stats TO " + role);
  r = RunCli({"run"}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryDuckScalar(dir / "out.duckdb", "SELECT count(*) FROM src.bounded"), "1");
  pg.Exec("DROP OWNED BY " + role + "; DROP ROLE " + role);
}

}  // namespace
}  // namespace cdlt::test
