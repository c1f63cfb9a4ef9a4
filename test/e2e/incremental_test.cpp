// End-to-end: incremental loading of sql_database tables (PostgreSQL → DuckDB) through the CLI:
// SQL pushdown, boundary de-duplication, state in the pipeline folder and in the destination,
// and the backfill-in-chunks sequence of dlt's example.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "helpers/pg_test_server.hpp"
#include "helpers/test_util.hpp"
#include "io/file.hpp"

namespace cdlt::test {
namespace {

class IncrementalProject {
 public:
  explicit IncrementalProject(const std::string& tables_toml) { Configure(tables_toml); }

  void Configure(const std::string& tables_toml) {
    WriteSqlDatabaseProject(dir_.path(), "inc", pg_.url(), tables_toml);
  }

  CommandResult Run(const std::map<std::string, std::string>& env = {}) const {
    return RunCli({"run"}, dir_.path(), env);
  }
  const PgTestDatabase& pg() const { return pg_; }
  std::string Duck(const std::string& sql) const {
    return QueryDuckScalar(dir_ / "out.duckdb", sql);
  }
  nlohmann::json LocalState() const {
    return nlohmann::json::parse(io::ReadFile(dir_ / "pipelines/inc/state.json"));
  }
  nlohmann::json Incremental(const std::string& table, const std::string& cursor) const {
    return LocalState()["sources"]["sql_database"]["resources"][table]["incremental"][cursor];
  }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  PgTestDatabase pg_;
};

TEST(IncrementalE2E, BackfillInChunksLoadsTheNextChunkEachRunWithoutDuplicates) {
  // dlt's backfill example: family keyed by rfam_id, cursor `created` ascending, chunk size 1000,
  // one chunk per run. Each run re-reads the boundary row of the last one and drops it by hash.
  IncrementalProject p(R"([sources.sql_database]
table_names = ["family"]
chunk_size = 1000

[sources.sql_database.family]
add_limit = 1
primary_key = "rfam_id"
incremental = { cursor_path = "created", row_order = "asc" }
)");
  p.pg().Exec(R"SQL(
CREATE TABLE family (rfam_id text PRIMARY KEY, description text, created timestamp NOT NULL);
INSERT INTO family SELECT 'RF' || lpad(i::text, 5, '0'), 'family ' || i,
       TIMESTAMP '2010-01-01' + ((i * 7919) % 4178) * INTERVAL '1 hour'
FROM generate_series(1, 4178) i;
)SQL");
  const std::vector<std::string> expected = {"1000", "1999", "2998", "3997", "4178", "4178"};
  for (size_t run = 0; run < expected.size(); ++run) {
    CommandResult r = p.Run();
    ASSERT_EQ(r.exit_code, 0) << "run " << run + 1 << "\n" << Describe(r);
    EXPECT_EQ(p.Duck("SELECT count(*) || '/' || count(DISTINCT rfam_id) FROM src.family"),
              expected[run] + "/" + expected[run])
        << "after run " << run + 1;
  }
  // The rows loaded are exactly the table, in cursor order.
  EXPECT_EQ(p.Duck("SELECT max(created)::VARCHAR FROM src.family"),
            p.pg().Query("SELECT max(created)::text FROM family")[0]);
  nlohmann::json inc = p.Incremental("family", "created");
  EXPECT_EQ(inc["last_value"], "2010-06-24T01:00:00") << inc.dump();
  EXPECT_EQ(inc["unique_hashes"].size(), 1u) << inc.dump();
}

TEST(IncrementalE2E, OnlyNewRowsAndBoundaryRowsWithNewKeysAreLoaded) {
  IncrementalProject p(R"([sources.sql_database]
table_names = ["events"]

[sources.sql_database.events]
incremental = { cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00+00:00" }
)");
  p.pg().Exec(R"SQL(
CREATE TABLE events (id int PRIMARY KEY, updated_at timestamptz, payload text);
INSERT INTO events VALUES
  (1, '2023-12-31 23:59:59+00', 'before the initial value'),
  (2, '2024-01-01 00:00:00+00', 'at the initial value'),
  (3, '2024-01-02 00:00:00+00', 'c'), (4, '2024-01-03 00:00:00+00', 'd'),
  (5, '2024-01-03 00:00:00+00', 'e');
)SQL");
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM src.events"), "2,3,4,5");
  nlohmann::json inc = p.Incremental("events", "updated_at");
  EXPECT_EQ(inc["last_value"], "2024-01-03T00:00:00+00:00") << inc.dump();
  EXPECT_EQ(inc["unique_hashes"].size(), 2u) << inc.dump();  // ids 4 and 5
  // New rows: one more at the boundary (new key), one after it, one without a cursor value
  // (not selected by the pushed-down WHERE).
  p.pg().Exec(R"SQL(
INSERT INTO events VALUES (6, '2024-01-03 00:00:00+00', 'f'), (7, '2024-01-04 00:00:00+00', 'g'),
                          (8, NULL, 'no cursor');
)SQL");
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM src.events"),
            "2,3,4,5,6,7");
  inc = p.Incremental("events", "updated_at");
  EXPECT_EQ(inc["last_value"], "2024-01-04T00:00:00+00:00");
  EXPECT_EQ(inc["start_value"], "2024-01-03T00:00:00+00:00");
  // A run with nothing new loads nothing and keeps the state.
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT count(*) FROM src.events"), "6");
  EXPECT_EQ(p.Incremental("events", "updated_at")["last_value"], "2024-01-04T00:00:00+00:00");
  // on_cursor_value_missing = "include" reads rows without a cursor too (and they leave the
  // state alone).
  p.Configure(R"([sources.sql_database]
table_names = ["events"]

[sources.sql_database.events]
incremental = { cursor_path = "updated_at", on_cursor_value_missing = "include" }
)");
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM src.events"),
            "2,3,4,5,6,7,8");
  EXPECT_EQ(p.Incremental("events", "updated_at")["last_value"], "2024-01-04T00:00:00+00:00");
  // The state travelled to the destination with the data.
  EXPECT_EQ(p.Duck("SELECT count(*) > 0 FROM src._dlt_pipeline_state WHERE pipeline_name = 'inc'"),
            "true");
}

TEST(IncrementalE2E, ManyRowsAtTheFinalValueSwitchToTheDocumentedSafeMode) {
  IncrementalProject p(R"([sources.sql_database]
table_names = ["ticks"]

[sources.sql_database.ticks]
incremental = { cursor_path = "day", max_boundary_hashes = 10 }
)");
  p.pg().Exec(
      "CREATE TABLE ticks (id int PRIMARY KEY, day date NOT NULL);"
      "INSERT INTO ticks SELECT i, DATE '2024-01-01' + (i / 50) FROM generate_series(0, 99) i;");
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("more than 10 rows share the final cursor value"), std::string::npos)
      << r.err;
  nlohmann::json inc = p.Incremental("ticks", "day");
  EXPECT_EQ(inc["last_value"], "2024-01-02");
  EXPECT_TRUE(inc["unique_hashes"].empty());
  EXPECT_EQ(inc["boundary_overflow"], true);
  // Next run starts after 2024-01-02: rows at that day are not re-read (no duplicates), later
  // rows are loaded.
  p.pg().Exec("INSERT INTO ticks VALUES (100, '2024-01-03'), (101, '2024-01-02');");
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("this run starts after that value"), std::string::npos) << r.err;
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || count(DISTINCT id) FROM src.ticks"), "101/101");
}

TEST(IncrementalE2E, ReplaceResetsTheIncrementalStateAndEndValueIsAFixedRange) {
  IncrementalProject p(R"([sources.sql_database]
table_names = ["nums"]

[sources.sql_database.nums]
write_disposition = "replace"
incremental = { cursor_path = "n" }
)");
  p.pg().Exec("CREATE TABLE nums AS SELECT i AS n FROM generate_series(1, 10) i;");
  ASSERT_EQ(p.Run().exit_code, 0);
  ASSERT_EQ(p.Run().exit_code, 0);
  // Replace starts from the initial value every run, so the table always holds every row.
  EXPECT_EQ(p.Duck("SELECT count(*) FROM src.nums"), "10");
  p.Configure(R"([sources.sql_database]
table_names = ["nums"]

[sources.sql_database.nums]
write_disposition = "replace"
incremental = { cursor_path = "n", initial_value = 3, end_value = 7 }
)");
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT string_agg(n::VARCHAR, ',' ORDER BY n) FROM src.nums"), "3,4,5,6");
  // A bad cursor is named.
  p.Configure(R"([sources.sql_database]
table_names = ["nums"]

[sources.sql_database.nums]
incremental = { cursor_path = "nope" }
)");
  r = p.Run();
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("incremental cursor_path nope is not a column of table public.nums"),
            std::string::npos)
      << r.err;
}

TEST(IncrementalE2E, IncrementalMergeUpdatesInsertsAndHardDeletes) {
  IncrementalProject p(R"([sources.sql_database]
table_names = ["accounts"]

[sources.sql_database.accounts]
write_disposition = {disposition = "merge", strategy = "delete-insert"}
columns = {deleted = {hard_delete = true}}
incremental = { cursor_path = "updated_at", row_order = "asc" }
)");
  p.pg().Exec(R"SQL(
CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric(12,2),
                       deleted boolean NOT NULL DEFAULT false, updated_at bigint NOT NULL);
INSERT INTO accounts SELECT i, 'owner ' || i, i * 10, false, i FROM generate_series(1, 100) i;
)SQL");
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || sum(balance) FROM src.accounts"), "100/50500.00");
  // Updates (moved cursor), inserts, a hard delete, and an update at the boundary value 100.
  p.pg().Exec(R"SQL(
UPDATE accounts SET balance = balance + 1, updated_at = 101 WHERE id IN (5, 6);
UPDATE accounts SET deleted = true, updated_at = 102 WHERE id = 7;
INSERT INTO accounts VALUES (101, 'new', 1, false, 103), (102, 'new', 2, false, 103);
)SQL");
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // The destination equals the source minus the deleted row, every key once.
  std::string expected =
      p.pg().Query("SELECT count(*) || '/' || sum(balance) FROM accounts WHERE NOT deleted")[0];
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || sum(balance) FROM src.accounts"), expected);
  EXPECT_EQ(expected, "101/50435.00");
  EXPECT_EQ(p.Duck("SELECT count(*) - count(DISTINCT id) FROM src.accounts"), "0");
  EXPECT_EQ(p.Duck("SELECT count(*) FROM src.accounts WHERE id = 7"), "0");
  EXPECT_EQ(p.Duck("SELECT balance FROM src.accounts WHERE id = 5"), "51.00");
  EXPECT_EQ(p.Incremental("accounts", "updated_at")["last_value"], 103);
  // A rerun with no change reads the boundary rows again and changes nothing.
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || sum(balance) FROM src.accounts"), expected);
}

TEST(IncrementalE2E, AFreshPipelineFolderResumesFromTheDestinationState) {
  IncrementalProject p(R"([sources.sql_database]
table_names = ["log"]

[sources.sql_database.log]
incremental = { cursor_path = "seq" }
)");
  p.pg().Exec(
      "CREATE TABLE log AS SELECT i AS seq, 'line ' || i AS msg FROM generate_series(1, 100) i;");
  ASSERT_EQ(p.Run().exit_code, 0);
  ASSERT_EQ(p.Duck("SELECT count(*) FROM src.log"), "100");
  nlohmann::json before = p.LocalState();
  // A new machine: no pipeline folder, same destination.
  fs::remove_all(p.dir() / "pipelines");
  p.pg().Exec("INSERT INTO log SELECT i, 'line ' || i FROM generate_series(101, 110) i;");
  CommandResult r = p.Run({{"RUNTIME__LOG_LEVEL", "INFO"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("restored state version"), std::string::npos) << r.err;
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || count(DISTINCT seq) FROM src.log"), "110/110");
  EXPECT_EQ(p.Incremental("log", "seq")["last_value"], 110);
  EXPECT_GT(p.LocalState()["_state_version"].get<int>(), before["_state_version"].get<int>());
  EXPECT_TRUE(fs::exists(p.dir() / "pipelines/inc/schemas/sql_database.schema.json"));
  // With restore_from_destination = false a fresh folder starts over (and appends duplicates).
  fs::remove_all(p.dir() / "pipelines");
  r = p.Run({{"RESTORE_FROM_DESTINATION", "false"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT count(*) FROM src.log"), "220");
}

}  // namespace
}  // namespace cdlt::test
