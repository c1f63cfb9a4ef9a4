// End-to-end: the DuckDB destination's memory settings. Inserts start at a small
// insert_memory_limit; DuckDB holds a row group of every table being inserted in memory, so wide
// rows need more, and a job that runs out of memory is retried with twice the limit (up to
// memory_limit when the user set one). The loaded rows are checked each time.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "db/duckdb_conn.hpp"
#include "helpers/test_util.hpp"

namespace cdlt::test {
namespace {

/// A project loading `files` Parquet files of `rows` rows each with `columns` random 64-character
/// strings (ids 0 to files × rows - 1).
class WideProject {
 public:
  WideProject(int rows, int columns, const std::string& duckdb_toml, int files = 1,
              const std::string& more_toml = "") {
    fs::create_directories(dir_ / "data");
    auto db = db::DuckDatabase::Open(":memory:");
    db::DuckConnection con(db);
    std::string select = "i AS id";
    for (int c = 0; c < columns; ++c) {
      select += fmt::format(", md5((i * {0})::VARCHAR) || md5(i::VARCHAR) AS c{0}", c + 1);
    }
    for (int f = 0; f < files; ++f) {
      con.Execute(
          fmt::format("COPY (SELECT {} FROM range({}, {}) t(i)) TO {} (FORMAT parquet)", select,
                      f * rows, (f + 1) * rows,
                      db::QuoteLiteral((dir_ / fmt::format("data/wide{}.parquet", f)).string())));
    }
    // DuckDbPipelineToml ends inside [destination.duckdb].
    WriteText(dir_ / ".dlt/config.toml",
              DuckDbPipelineToml(dir_.path(), "wide", "filesystem") + duckdb_toml + "\n" +
                  fmt::format("[sources.filesystem.wide]\nbucket_url = \"{}/data\"\nfile_glob = "
                              "\"*.parquet\"\n",
                              dir_.path().string()) +
                  more_toml);
  }
  CommandResult Run() const {
    return RunCli({"run"}, dir_.path(), {{"RUNTIME__LOG_LEVEL", "INFO"}});
  }
  std::string Duck(const std::string& sql) const {
    return QueryDuckScalar(dir_ / "out.duckdb", sql);
  }

 private:
  TempDir dir_;
};

TEST(DuckDbMemoryE2E, WideRowsGetMoreMemoryThanTheInsertLimitAndAllLoad) {
  // 30k rows of 20 × 64 characters: about 40MB in DuckDB, more than an 8MB insert limit. The
  // ceiling is the user's memory_limit, in DuckDB's short unit form.
  WideProject p(30000, 20, "insert_memory_limit = \"8MB\"\nmemory_limit = \"1G\"\n");
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("DuckDB ran out of memory; retrying with memory_limit = 16MB"),
            std::string::npos)
      << Describe(r);
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || count(DISTINCT id) || '/' || sum(length(c20)) FROM "
                   "ds.wide"),
            "30000/30000/1920000");
  EXPECT_EQ(p.Duck("SELECT count(*) FROM ds._dlt_loads"), "1");
}

TEST(DuckDbMemoryE2E, JobsAtOnceAreCappedAtDuckDbsThreadsAndEachGetsItsMemory) {
  // 8 jobs of 20k wide rows (~27MB each in DuckDB) with dlt's default of 20 load workers. They
  // used to be inserted all at once, each with DuckDB's 2 threads, at the insert limit of the time
  // (64MB): they ran out of memory and were retried, and a rollback that itself ran out of memory
  // failed the job. Now the loader runs as many jobs at once as DuckDB has threads (2), each with
  // one thread (fewer rows than two row groups) and 64MB.
  WideProject p(20000, 20, "threads = 2\n", 8, "[data_writer]\nfile_max_items = 20000\n");
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("8 job(s), 2 at a time"), std::string::npos) << Describe(r);
  EXPECT_EQ(r.err.find("ran out of memory"), std::string::npos) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT count(*) || '/' || count(DISTINCT id) || '/' || max(id) || '/' || "
                   "sum(length(c20)) FROM ds.wide"),
            "160000/160000/159999/10240000");
  EXPECT_EQ(p.Duck("SELECT count(*) FROM ds._dlt_loads"), "1");
}

TEST(DuckDbMemoryE2E, AMemoryLimitSetByTheUserIsTheCeilingAndTheErrorNamesIt) {
  WideProject p(30000, 20, "memory_limit = \"8MB\"\n");
  CommandResult r = p.Run();
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("config key destination.duckdb.memory_limit"), std::string::npos)
      << Describe(r);
  EXPECT_NE(r.err.find("into \"ds\".\"wide\""), std::string::npos) << Describe(r);
  // Nothing of the package is loaded.
  EXPECT_EQ(p.Duck("SELECT count(*) FROM ds._dlt_loads"), "0");
  EXPECT_EQ(p.Duck("SELECT count(*) FROM ds.wide"), "0");
}

}  // namespace
}  // namespace cdlt::test
