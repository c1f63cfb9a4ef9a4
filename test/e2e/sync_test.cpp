// End-to-end: `cdlt pipeline NAME sync` drops the local state and schemas and restores them from
// the destination (dlt's `dlt pipeline <name> sync`), refusing while packages are pending unless
// told to drop them.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "helpers/pg_test_server.hpp"
#include "helpers/test_util.hpp"
#include "io/file.hpp"

namespace cdlt::test {
namespace {

class SyncProject {
 public:
  SyncProject() {
    WriteSqlDatabaseProject(dir_.path(), "syn", pg_.url(), R"([sources.sql_database]
table_names = ["log"]

[sources.sql_database.log]
incremental = { cursor_path = "seq" }
)");
    pg_.Exec("CREATE TABLE log (seq int PRIMARY KEY, msg text);");
    AddRows(1, 100);
  }

  /// Adds rows seq = first..last to the source table.
  void AddRows(int first, int last) const {
    pg_.Exec(fmt::format("INSERT INTO log SELECT i, 'line ' || i FROM generate_series({}, {}) i;",
                         first, last));
  }

  CommandResult Run(const std::map<std::string, std::string>& env = {}) const {
    return RunCli({"run"}, dir_.path(), env);
  }
  CommandResult Sync(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args = {"pipeline", "syn", "sync"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args, dir_.path());
  }
  CommandResult Info() const {
    return RunCli({"pipeline", "--pipelines-dir", (dir_ / "pipelines").string(), "syn", "info"},
                  dir_.path());
  }
  /// "rows/distinct keys" of the destination table: equal when no row was loaded twice.
  std::string LoadedRows() const {
    return QueryDuckScalar(dir_ / "out.duckdb",
                           "SELECT count(*) || '/' || count(DISTINCT seq) FROM src.log");
  }
  fs::path WorkingDir() const { return dir_ / "pipelines/syn"; }
  nlohmann::json LocalState() const {
    return nlohmann::json::parse(io::ReadFile(WorkingDir() / "state.json"));
  }
  nlohmann::json LastValue() const {
    return LocalState()["sources"]["sql_database"]["resources"]["log"]["incremental"]["seq"]
                       ["last_value"];
  }

 private:
  TempDir dir_;
  PgTestDatabase pg_;
};

TEST(PipelineSync, RestoresStateAndSchemaIntoAFreshFolder) {
  SyncProject p;
  ASSERT_EQ(p.Run().exit_code, 0);
  int version = p.LocalState()["_state_version"].get<int>();
  fs::remove_all(p.WorkingDir());

  CommandResult sync = p.Sync();
  ASSERT_EQ(sync.exit_code, 0) << Describe(sync);
  EXPECT_NE(sync.out.find("Pipeline syn: restored from"), std::string::npos) << sync.out;
  EXPECT_NE(sync.out.find(fmt::format("state version {}, sources: sql_database", version)),
            std::string::npos)
      << sync.out;
  EXPECT_NE(sync.out.find("schemas: sql_database"), std::string::npos) << sync.out;
  EXPECT_EQ(p.LastValue(), 100);
  EXPECT_EQ(p.LocalState()["_state_version"], version);
  EXPECT_TRUE(fs::exists(p.WorkingDir() / "schemas/sql_database.schema.json"));

  // The next run goes on from the restored cursor: only the new rows, none twice.
  p.AddRows(101, 120);
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.LoadedRows(), "120/120");
}

TEST(PipelineSync, ReplacesAStaleLocalState) {
  SyncProject p;
  ASSERT_EQ(p.Run().exit_code, 0);
  // A local state that lost track of the cursor (an old copy of the folder, a hand edit) would
  // read every row again; sync takes the destination's.
  nlohmann::json stale = p.LocalState();
  stale["sources"]["sql_database"]["resources"]["log"]["incremental"]["seq"]["last_value"] = 10;
  WriteText(p.WorkingDir() / "state.json", stale.dump());
  CommandResult sync = p.Sync({"--dataset-name", "src"});
  ASSERT_EQ(sync.exit_code, 0) << Describe(sync);
  EXPECT_EQ(p.LastValue(), 100);

  p.AddRows(101, 101);
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.LoadedRows(), "101/101");
}

TEST(PipelineSync, RefusesWithPendingPackagesUnlessToldToDropThem) {
  SyncProject p;
  ASSERT_EQ(p.Run().exit_code, 0);
  p.AddRows(101, 150);
  // The run extracts rows 101..150 (its package holds the state with cursor 150) and dies before
  // loading them.
  CommandResult killed = p.Run({{"CDLT_FAULT_POINT", "normalize.before_commit"}});
  ASSERT_EQ(killed.exit_code, kKilledExitCode) << Describe(killed);
  EXPECT_EQ(p.LastValue(), 150);

  CommandResult refused = p.Sync();
  EXPECT_EQ(refused.exit_code, 2) << Describe(refused);
  EXPECT_NE(refused.err.find("pipeline syn has 1 pending package(s) not loaded yet"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("--drop-pending-packages"), std::string::npos) << refused.err;
  EXPECT_EQ(p.LastValue(), 150);  // untouched

  // Dropped with the package, the rows it held are read again from the destination's cursor.
  CommandResult sync = p.Sync({"--drop-pending-packages"});
  ASSERT_EQ(sync.exit_code, 0) << Describe(sync);
  EXPECT_NE(sync.out.find("Dropped 1 pending package(s)"), std::string::npos) << sync.out;
  EXPECT_EQ(p.LastValue(), 100);
  CommandResult info = p.Info();
  EXPECT_NE(info.out.find("Pending packages: none"), std::string::npos) << info.out;

  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out.find("Note: finishing"), std::string::npos) << Describe(r);
  EXPECT_EQ(p.LoadedRows(), "150/150");
  EXPECT_EQ(p.LastValue(), 150);
}

TEST(PipelineSync, ADestinationWithoutStateLeavesAFreshFolder) {
  SyncProject p;
  ASSERT_EQ(p.Run().exit_code, 0);
  // Another dataset holds nothing of this pipeline.
  CommandResult sync = p.Sync({"--dataset-name", "elsewhere"});
  ASSERT_EQ(sync.exit_code, 0) << Describe(sync);
  EXPECT_NE(sync.out.find("holds no state of this pipeline, so the next run starts from scratch"),
            std::string::npos)
      << sync.out;
  EXPECT_FALSE(fs::exists(p.WorkingDir() / "state.json"));
  EXPECT_TRUE(fs::is_empty(p.WorkingDir() / "schemas"));
}

}  // namespace
}  // namespace cdlt::test
