// The DuckDB destination's settings: [destination.duckdb] memory_limit / threads reach the DuckDB
// database the destination opens, bad values stop with the key named, and [load]
// keep_state_versions is validated.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "db/duckdb_conn.hpp"
#include "destinations/destination.hpp"
#include "destinations/duckdb/duckdb_destination.hpp"
#include "helpers/test_util.hpp"
#include "schema/schema.hpp"

namespace cdlt::dest::duckdb {
namespace {

using Env = std::map<std::string, std::string>;

std::unique_ptr<DestinationClient> Make(const Env& env, const test::TempDir& dir) {
  config::Config cfg(env);
  return MakeDestination("duckdb", cfg, "settings", "data", dir.path());
}

/// current_setting(name) through the destination's own database.
std::string Setting(const DestinationClient& client, const std::string& name) {
  const auto& duck = dynamic_cast<const DuckDbClient&>(client);
  db::DuckConnection con(duck.database());
  return con.QueryScalar("SELECT current_setting('" + name + "')").value_or("NULL");
}

/// How DuckDB shows `memory_limit` once set to `value` (e.g. "512MB" → "488.2 MiB").
std::string Shown(const std::string& value) {
  auto db = db::DuckDatabase::Open(":memory:", {1, value});
  db::DuckConnection con(db);
  return con.QueryScalar("SELECT current_setting('memory_limit')").value_or("NULL");
}

TEST(DuckDbSettings, MemoryLimitAndThreadsReachTheDestinationDatabase) {
  test::TempDir dir;
  auto client =
      Make({{"DESTINATION__DUCKDB__MEMORY_LIMIT", "512MiB"}, {"DESTINATION__DUCKDB__THREADS", "1"}},
           dir);
  EXPECT_EQ(Setting(*client, "memory_limit"), "512.0 MiB");
  EXPECT_EQ(Setting(*client, "threads"), "1");
  // Spilling goes next to the database file, not to the current directory or /tmp.
  EXPECT_EQ(Setting(*client, "temp_directory"), (dir.path() / "settings.duckdb.tmp").string());
}

TEST(DuckDbSettings, MemoryLimitIsBoundedByDefault) {
  test::TempDir dir;
  auto client = Make({}, dir);
  EXPECT_EQ(Setting(*client, "memory_limit"), Shown(DefaultMemoryLimit(0)));
  EXPECT_EQ(DefaultMemoryLimit(1), "256MB");
  EXPECT_EQ(DefaultMemoryLimit(2), "256MB");
  EXPECT_EQ(DefaultMemoryLimit(8), "1024MB");
  // The default follows the configured threads.
  auto four = Make({{"DESTINATION__DUCKDB__THREADS", "4"}}, dir);
  EXPECT_EQ(Setting(*four, "memory_limit"), Shown("512MB"));
}

TEST(DuckDbSettings, NoneGivesDuckDbsOwnDefault) {
  test::TempDir dir;
  auto client = Make({{"DESTINATION__DUCKDB__MEMORY_LIMIT", "none"}}, dir);
  EXPECT_EQ(Setting(*client, "memory_limit"), Shown("none"));
}

TEST(DuckDbSettings, DuckDbsOtherSpellingsOfItsDefaultAreNone) {
  // DuckDB takes "null" and negative sizes as its default too; cdlt reads them as "none" (they
  // used to throw std::invalid_argument or count as a 0-byte ceiling).
  for (const char* none : {"null", "-1", "NONE", " None "}) {
    test::TempDir dir;
    auto client = Make({{"DESTINATION__DUCKDB__MEMORY_LIMIT", none}}, dir);
    EXPECT_EQ(Setting(*client, "memory_limit"), Shown("none")) << none;
    EXPECT_EQ(
        DuckDbSettingsFromConfig(config::Config(Env{{"DESTINATION__DUCKDB__MEMORY_LIMIT", none}}))
            .max_memory_limit,
        "none")
        << none;
    EXPECT_NE(Make({{"DESTINATION__DUCKDB__INSERT_MEMORY_LIMIT", none}}, dir), nullptr);
    EXPECT_EQ(DuckDbSettingsFromConfig(config::Config(Env{{"DESTINATION__DUCKDB__INSERT_MEMORY_"
                                                           "LIMIT",
                                                           none}}))
                  .insert_memory_limit,
              "none")
        << none;
  }
}

TEST(DuckDbSettings, BadMemoryLimitNamesTheKey) {
  for (const char* bad : {"lots", "512", "50%", "", "0", "12 parsecs"}) {
    test::TempDir dir;
    EXPECT_CDLT_ERROR(Make({{"DESTINATION__DUCKDB__MEMORY_LIMIT", bad}}, dir), ErrorKind::kConfig,
                      "destination.duckdb.memory_limit");
    EXPECT_CDLT_ERROR(Make({{"DESTINATION__DUCKDB__MEMORY_LIMIT", bad}}, dir), ErrorKind::kConfig,
                      "512MB");
  }
}

TEST(DuckDbSettings, BadThreadsNamesTheKey) {
  for (const char* bad : {"0", "-2", "many", "100000"}) {
    test::TempDir dir;
    EXPECT_CDLT_ERROR(Make({{"DESTINATION__DUCKDB__THREADS", bad}}, dir), ErrorKind::kConfig,
                      "destination.duckdb.threads");
  }
}

TEST(DuckDbSettings, KeepStateVersions) {
  EXPECT_EQ(KeepStateVersionsFromConfig(config::Config(Env{})), kDefaultKeepStateVersions);
  EXPECT_EQ(KeepStateVersionsFromConfig(config::Config(Env{{"LOAD__KEEP_STATE_VERSIONS", "3"}})),
            3);
  EXPECT_EQ(KeepStateVersionsFromConfig(config::Config(Env{{"LOAD__KEEP_STATE_VERSIONS", "0"}})),
            0);
  EXPECT_CDLT_ERROR(
      KeepStateVersionsFromConfig(config::Config(Env{{"LOAD__KEEP_STATE_VERSIONS", "some"}})),
      ErrorKind::kConfig, "load.keep_state_versions");
  test::TempDir dir;
  EXPECT_CDLT_ERROR(Make({{"LOAD__KEEP_STATE_VERSIONS", "2.5"}}, dir), ErrorKind::kConfig,
                    "load.keep_state_versions");
}

/// Table `t` of `select`'s columns (`a` bigint, the others text) in a new schema, and `file`
/// holding `select`'s rows over `i` in range(rows), written as Parquet.
schema::Schema TableTInParquet(const std::filesystem::path& file, const std::string& select,
                               int64_t rows, const std::vector<std::string>& text_columns) {
  {
    auto db = db::DuckDatabase::Open(":memory:");
    db::DuckConnection con(db);
    con.Execute("COPY (SELECT " + select + " FROM range(" + std::to_string(rows) + ") t(i)) TO " +
                db::QuoteLiteral(file.string()) + " (FORMAT parquet)");
  }
  schema::Schema schema = schema::Schema::New("settings");
  schema::Table table;
  table.name = "t";
  schema::Column a;
  a.name = "a";
  a.data_type = schema::DataType::kBigint;
  table.columns.push_back(a);
  for (const auto& name : text_columns) {
    schema::Column text;
    text.name = name;
    text.data_type = schema::DataType::kText;
    table.columns.push_back(text);
  }
  schema.MergeTable(table);
  return schema;
}

/// Run an empty package through the client, returning `setting` while jobs would load.
std::string DuringInserts(DestinationClient& client, const std::string& setting,
                          int concurrent_jobs = 1, std::vector<int64_t> job_rows = {0}) {
  schema::Schema schema = schema::Schema::New("settings");
  static int packages = 0;  // the client plans each package's inserts once
  PackagePlan plan;
  plan.load_id = "1700000000." + std::to_string(++packages);
  plan.concurrent_jobs = concurrent_jobs;
  plan.job_rows = std::move(job_rows);
  client.InitPackage(schema, plan);
  std::string during = Setting(client, setting);
  client.CompletePackage(schema, plan);
  return during;
}

std::string MemoryLimitDuringInserts(DestinationClient& client) {
  return DuringInserts(client, "memory_limit");
}

TEST(DuckDbSettings, PlanInsertsSharesThreadsAndGivesEachJobItsMemory) {
  const int64_t big = 2 * kDuckDbRowGroupRows;
  const int64_t small = big - 1;
  // One large job at a time (rows for a row group per thread): all threads, 32MB each (>= 64MB).
  EXPECT_EQ(PlanInserts(2, 1, {big}).threads, 2);
  EXPECT_EQ(PlanInserts(2, 1, {big}).memory_limit, "64MB");
  EXPECT_EQ(PlanInserts(8, 1, {0}).threads, 8);  // rows unknown: counted as large
  EXPECT_EQ(PlanInserts(8, 1, {0}).memory_limit, "256MB");
  // No large job: one thread (more would hold the same rows in more memory), 64MB per job.
  EXPECT_EQ(PlanInserts(2, 1, {small, 10}).threads, 1);
  EXPECT_EQ(PlanInserts(2, 1, {small}).memory_limit, "64MB");
  EXPECT_EQ(PlanInserts(8, 2, {65000, 65000, 1000}).threads, 1);
  EXPECT_EQ(PlanInserts(8, 2, {65000, 65000, 1000}).memory_limit, "128MB");
  EXPECT_EQ(PlanInserts(8, 8, std::vector<int64_t>(20, 1000)).memory_limit, "512MB");
  // Large jobs at once: every thread, 32MB per thread.
  EXPECT_EQ(PlanInserts(2, 2, {big, big}).threads, 2);
  EXPECT_EQ(PlanInserts(2, 2, {big, big}).memory_limit, "64MB");
  EXPECT_EQ(PlanInserts(8, 2, {big, big, big}).threads, 8);
  EXPECT_EQ(PlanInserts(8, 2, {big, big, big}).memory_limit, "256MB");
  // One large table beside small ones: the large job keeps every thread, 64MB per small job.
  EXPECT_EQ(PlanInserts(8, 5, {big, 10, 10, 10, 10}).threads, 8);
  EXPECT_EQ(PlanInserts(8, 5, {big, 10, 10, 10, 10}).memory_limit, "512MB");
  EXPECT_EQ(PlanInserts(2, 2, {10 * big, 500}).threads, 2);
  EXPECT_EQ(PlanInserts(2, 2, {10 * big, 500}).memory_limit, "128MB");
  EXPECT_EQ(PlanInserts(0, 0, {}).threads, 1);  // nonsense in, one thread out
}

TEST(DuckDbSettings, InsertsRunWithASmallLimitWithoutInsertionOrderAndMergesGetTheWholeLimit) {
  test::TempDir dir;
  auto client = Make({}, dir);
  EXPECT_EQ(Setting(*client, "preserve_insertion_order"), "false");
  EXPECT_EQ(MemoryLimitDuringInserts(*client), Shown("64MB"));
  // CompletePackage (merges, replace swaps) and everything after it: the whole limit.
  EXPECT_EQ(Setting(*client, "memory_limit"), Shown(DefaultMemoryLimit(0)));

  // Set explicitly; "none" restores DuckDB's default afterwards.
  auto set = Make({{"DESTINATION__DUCKDB__INSERT_MEMORY_LIMIT", "100MB"},
                   {"DESTINATION__DUCKDB__MEMORY_LIMIT", "none"}},
                  dir);
  EXPECT_EQ(MemoryLimitDuringInserts(*set), Shown("100MB"));
  EXPECT_EQ(Setting(*set, "memory_limit"), Shown("none"));
  // Never above a memory_limit smaller than the planned insert limit.
  auto small = Make({{"DESTINATION__DUCKDB__MEMORY_LIMIT", "40MB"}}, dir);
  EXPECT_EQ(MemoryLimitDuringInserts(*small), Shown("40MB"));
  // Insertion order kept on request: then one limit throughout, as DuckDB needs memory per thread
  // for an ordered insert.
  auto ordered = Make({{"DESTINATION__DUCKDB__PRESERVE_INSERTION_ORDER", "true"}}, dir);
  EXPECT_EQ(Setting(*ordered, "preserve_insertion_order"), "true");
  EXPECT_EQ(MemoryLimitDuringInserts(*ordered), Shown(DefaultMemoryLimit(0)));
}

TEST(DuckDbSettings, EachPackagesInsertsGetThePlannedThreadsAndLimitAndMergesGetAllThreads) {
  test::TempDir dir;
  auto client = Make({{"DESTINATION__DUCKDB__THREADS", "4"}}, dir);
  // DuckDB runs in this process: the loader runs at most as many jobs at once as it has threads.
  EXPECT_EQ(client->capabilities().max_parallel_load_jobs, 4);
  const int64_t big = 4 * kDuckDbRowGroupRows;
  EXPECT_EQ(DuringInserts(*client, "threads", 1, {big}), "4");
  EXPECT_EQ(Setting(*client, "threads"), "4");
  EXPECT_EQ(DuringInserts(*client, "threads", 2, {big, big}), "4");
  EXPECT_EQ(DuringInserts(*client, "memory_limit", 2, {big, big}), Shown("128MB"));
  EXPECT_EQ(DuringInserts(*client, "threads", 1, {1000}), "1");
  // The merge SQL of CompletePackage, and everything after it, gets every thread back.
  EXPECT_EQ(Setting(*client, "threads"), "4");
  EXPECT_EQ(Setting(*client, "memory_limit"), Shown(DefaultMemoryLimit(4)));
}

TEST(DuckDbSettings, AResumedPackagesJobsLoadWithTheInsertLimit) {
  // A package resumed after a crash skips InitPackage (its tables are ready): its jobs still run
  // at the insert limit, not at the limit the database was opened with.
  test::TempDir dir;
  std::filesystem::path file = dir.path() / "t.parquet";
  schema::Schema schema = TableTInParquet(file, "i AS a", 10, {});
  PackagePlan plan;
  plan.load_id = "1700000000.1";
  plan.tables = {"t"};
  const Env env = {{"DESTINATION__DUCKDB__INSERT_MEMORY_LIMIT", "100MB"}};
  Make(env, dir)->InitPackage(schema, plan);  // then the process "crashes"
  auto resumed = Make(env, dir);
  EXPECT_EQ(Setting(*resumed, "memory_limit"), Shown(DefaultMemoryLimit(0)));
  resumed->LoadJob(schema, plan, "t", "t.1", file);
  EXPECT_EQ(Setting(*resumed, "memory_limit"), Shown("100MB"));
  resumed->CompletePackage(schema, plan);
  EXPECT_EQ(Setting(*resumed, "memory_limit"), Shown(DefaultMemoryLimit(0)));
  const auto& duck = dynamic_cast<const DuckDbClient&>(*resumed);
  db::DuckConnection con(duck.database());
  EXPECT_EQ(con.QueryScalar("SELECT count(*) || '/' || sum(a) FROM data.t"), "10/45");
}

TEST(DuckDbSettings, AnInsertLimitRaisedByAJobStaysRaisedForTheNextPackage) {
  // 30k rows of 20 × 64 characters (~40MB in DuckDB) cannot load at an 8MB insert limit: the job
  // is retried with more, and the next package starts where it ended instead of failing again.
  test::TempDir dir;
  std::filesystem::path file = dir.path() / "wide.parquet";
  std::string select = "i AS a";
  std::vector<std::string> text_columns;
  for (int c = 1; c <= 20; ++c) {
    text_columns.push_back("c" + std::to_string(c));
    select += ", md5((i * " + std::to_string(c) + ")::VARCHAR) || md5(i::VARCHAR) AS " +
              text_columns.back();
  }
  schema::Schema schema = TableTInParquet(file, select, 30000, text_columns);
  auto client = Make({{"DESTINATION__DUCKDB__INSERT_MEMORY_LIMIT", "8MB"},
                      {"DESTINATION__DUCKDB__MEMORY_LIMIT", "1GB"}},
                     dir);
  std::string raised;
  for (const char* load_id : {"1700000000.1", "1700000000.2"}) {
    PackagePlan plan;
    plan.load_id = load_id;
    plan.tables = {"t"};
    plan.job_rows = {30000};
    client->InitPackage(schema, plan);
    if (raised.empty()) {
      EXPECT_EQ(Setting(*client, "memory_limit"), Shown("8MB"));
      client->LoadJob(schema, plan, "t", std::string("t.") + load_id, file);
      raised = Setting(*client, "memory_limit");
      EXPECT_NE(raised, Shown("8MB"));
    } else {
      EXPECT_EQ(Setting(*client, "memory_limit"), raised);
      client->LoadJob(schema, plan, "t", std::string("t.") + load_id, file);
      EXPECT_EQ(Setting(*client, "memory_limit"), raised);  // no second retry
    }
    client->CompletePackage(schema, plan);
  }
  const auto& duck = dynamic_cast<const DuckDbClient&>(*client);
  db::DuckConnection con(duck.database());
  EXPECT_EQ(con.QueryScalar("SELECT count(*) || '/' || count(DISTINCT a) FROM data.t"),
            "60000/30000");
}

TEST(DuckDbSettings, BadInsertMemoryLimitNamesTheKey) {
  test::TempDir dir;
  EXPECT_CDLT_ERROR(Make({{"DESTINATION__DUCKDB__INSERT_MEMORY_LIMIT", "lots"}}, dir),
                    ErrorKind::kConfig, "destination.duckdb.insert_memory_limit");
  EXPECT_CDLT_ERROR(Make({{"DESTINATION__DUCKDB__PRESERVE_INSERTION_ORDER", "maybe"}}, dir),
                    ErrorKind::kConfig, "preserve_insertion_order");
}

}  // namespace
}  // namespace cdlt::dest::duckdb
