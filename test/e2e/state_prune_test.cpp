// End-to-end (issue 5): only new state versions are written to `_dlt_pipeline_state`, old ones
// are pruned to the newest `load.keep_state_versions`, and a fresh pipeline folder still restores
// from what is left. Also: the DuckDB destination's memory_limit / threads through the CLI.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "db/duckdb_conn.hpp"
#include "helpers/pg_test_server.hpp"
#include "helpers/test_util.hpp"
#include "io/file.hpp"

namespace cdlt::test {
namespace {

/// An incremental sql_database pipeline `prune` over table `log` (cursor `seq`).
class PruneProject {
 public:
  explicit PruneProject(const std::string& extra_toml) {
    WriteSqlDatabaseProject(dir_.path(), "prune", pg_.url(), R"([sources.sql_database]
table_names = ["log"]

[sources.sql_database.log]
incremental = { cursor_path = "seq" }
)" + extra_toml);
    pg_.Exec("CREATE TABLE log (seq int PRIMARY KEY, msg text);");
  }

  /// Adds rows next_..next_+n-1 to the source: the next run moves the cursor, so the state changes.
  void AddRows(int n) {
    pg_.Exec(fmt::format("INSERT INTO log SELECT i, 'line ' || i FROM generate_series({}, {}) i;",
                         next_, next_ + n - 1));
    next_ += n;
  }
  CommandResult Run(const std::map<std::string, std::string>& env = {}) const {
    return RunCli({"run"}, dir_.path(), env);
  }
  std::string Duck(const std::string& sql) const {
    return QueryDuckScalar(dir_ / "out.duckdb", sql);
  }
  /// The stored state versions of the pipeline, ascending, comma-separated.
  std::string StoredVersions() const {
    return Duck(
        "SELECT coalesce(string_agg(version::VARCHAR, ',' ORDER BY version), '') FROM "
        "src._dlt_pipeline_state WHERE pipeline_name = 'prune'");
  }
  int64_t LocalVersion() const {
    return nlohmann::json::parse(io::ReadFile(dir_ / "pipelines/prune/state.json"))
        .value("_state_version", int64_t{0});
  }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  PgTestDatabase pg_;
  int next_ = 1;
};

std::string Join(const std::vector<int64_t>& v, size_t from) {
  std::string out;
  for (size_t i = from; i < v.size(); ++i) out += (out.empty() ? "" : ",") + std::to_string(v[i]);
  return out;
}

TEST(StatePruneE2E, KeepsTheNewestVersionsAndAFreshFolderRestoresFromThem) {
  PruneProject p("[load]\nkeep_state_versions = 3\n");
  std::vector<int64_t> versions;
  for (int run = 1; run <= 6; ++run) {
    p.AddRows(10);
    CommandResult r = p.Run();
    ASSERT_EQ(r.exit_code, 0) << "run " << run << "\n" << Describe(r);
    versions.push_back(p.LocalVersion());
    ASSERT_TRUE(run == 1 || versions[run - 1] > versions[run - 2])
        << "the state did not change in run " << run;
    // Never more than 3 rows, and always the newest versions.
    EXPECT_EQ(p.StoredVersions(), Join(versions, versions.size() > 3 ? versions.size() - 3 : 0))
        << "after run " << run;
  }
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || count(DISTINCT seq) FROM src.log"), "60/60");

  // A run without new rows still moves the cursor's start_value to the last value (a new
  // version, once); the run after it has an unchanged state and writes no state row (and prunes
  // nothing).
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  versions.push_back(p.LocalVersion());
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.LocalVersion(), versions.back());
  EXPECT_EQ(p.StoredVersions(), Join(versions, versions.size() - 3));
  EXPECT_EQ(p.Duck("SELECT count(*) FROM src.log"), "60");

  // A new machine: no pipeline folder. The newest stored state comes back, so the next run loads
  // only the new rows.
  fs::remove_all(p.dir() / "pipelines");
  p.AddRows(5);
  r = p.Run({{"RUNTIME__LOG_LEVEL", "INFO"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find(fmt::format("restored state version {}", versions.back())),
            std::string::npos)
      << r.err;
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || count(DISTINCT seq) FROM src.log"), "65/65");
  EXPECT_EQ(p.LocalVersion(), versions.back() + 1);
  versions.push_back(p.LocalVersion());
  EXPECT_EQ(p.StoredVersions(), Join(versions, versions.size() - 3));
}

TEST(StatePruneE2E, ZeroKeepsEveryVersionAndOtherPipelinesAreUntouched) {
  PruneProject p("[load]\nkeep_state_versions = 0\n");
  for (int run = 1; run <= 4; ++run) {
    p.AddRows(3);
    CommandResult r = p.Run();
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }
  EXPECT_EQ(p.Duck("SELECT count(*) FROM src._dlt_pipeline_state WHERE pipeline_name = 'prune'"),
            "4");
  // Another pipeline's rows in the same dataset survive pruning by this one.
  {
    db::DuckConnection con(db::DuckDatabase::Open((p.dir() / "out.duckdb").string()));
    con.Execute(
        "INSERT INTO src._dlt_pipeline_state (version, engine_version, pipeline_name, state, "
        "created_at, version_hash, _dlt_load_id, _dlt_id) SELECT version, engine_version, "
        "'other', state, created_at, version_hash, _dlt_load_id, _dlt_id || 'o' FROM "
        "src._dlt_pipeline_state WHERE pipeline_name = 'prune'");
  }
  ASSERT_EQ(p.Duck("SELECT count(*) FROM src._dlt_pipeline_state WHERE pipeline_name = 'other'"),
            "4");
  p.AddRows(3);
  CommandResult r = p.Run({{"LOAD__KEEP_STATE_VERSIONS", "2"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT count(*) FROM src._dlt_pipeline_state WHERE pipeline_name = 'prune'"),
            "2");
  EXPECT_EQ(p.Duck("SELECT count(*) FROM src._dlt_pipeline_state WHERE pipeline_name = 'other'"),
            "4");
  EXPECT_EQ(p.Duck("SELECT max(version) FROM src._dlt_pipeline_state WHERE pipeline_name = "
                   "'prune'"),
            std::to_string(p.LocalVersion()));
}

TEST(StatePruneE2E, BadKeepStateVersionsStopsBeforeAnyWork) {
  PruneProject p("[load]\nkeep_state_versions = \"many\"\n");
  p.AddRows(3);
  CommandResult r = p.Run();
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("load.keep_state_versions"), std::string::npos) << r.err;
  // No work done: the destination was not opened and no extract committed a state.
  EXPECT_FALSE(fs::exists(p.dir() / "out.duckdb"));
  EXPECT_FALSE(fs::exists(p.dir() / "pipelines/prune/state.json"));
}

TEST(DuckDbDestinationSettingsE2E, MemoryLimitAndThreadsLoadAndABadLimitIsNamed) {
  PruneProject p("");
  // A pipeline file (read above config.toml, which holds the credentials).
  WriteText(p.dir() / "settings.toml",
            "[destination.duckdb]\nmemory_limit = \"64MB\"\nthreads = 1\n");
  p.AddRows(20000);
  CommandResult r = RunCli({"run", (p.dir() / "settings.toml").string()}, p.dir().path());
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || count(DISTINCT seq) FROM src.log"), "20000/20000");

  r = RunCli({"run", (p.dir() / "settings.toml").string()}, p.dir().path(),
             {{"DESTINATION__DUCKDB__MEMORY_LIMIT", "64 elephants"}});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("destination.duckdb.memory_limit"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("64 elephants"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cdlt::test
