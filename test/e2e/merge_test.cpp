// Merge and replace write dispositions on a real DuckDB file (dlt-behaviour §8, conformance G):
// delete-insert with hard_delete and dedup_sort, merge_key only, no keys, upsert, insert-only,
// scd2 history, the TOML form of the strategy, replace strategies, and kills during the merge.

#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cdlt/cdlt.hpp"
#include "config/config.hpp"
#include "db/duckdb_conn.hpp"
#include "destinations/duckdb/duckdb_destination.hpp"
#include "helpers/test_util.hpp"
#include "io/file.hpp"

namespace cdlt::test {
namespace {

/// One source row: id, name, deleted flag (hard_delete), version (dedup_sort).
struct Row {
  int64_t id;
  std::optional<std::string> name;
  std::optional<bool> deleted = std::nullopt;
  std::optional<int64_t> ver = std::nullopt;
};

Batch MakeBatch(const std::vector<Row>& rows) {
  Batch batch(Fields{{"id", {PhysicalType::kInt64}, false},
                     {"name", {PhysicalType::kText}},
                     {"deleted", {PhysicalType::kBool}},
                     {"ver", {PhysicalType::kInt64}}});
  for (const Row& r : rows) {
    batch.column(0).Append<int64_t>(r.id);
    if (r.name) {
      batch.column(1).AppendString(*r.name);
    } else {
      batch.column(1).AppendNull();
    }
    if (r.deleted) {
      batch.column(2).AppendBool(*r.deleted);
    } else {
      batch.column(2).AppendNull();
    }
    if (r.ver) {
      batch.column(3).Append<int64_t>(*r.ver);
    } else {
      batch.column(3).AppendNull();
    }
  }
  return batch;
}

/// A C++ API pipeline "merge" whose one resource `items` yields the given rows each run.
class MergeProject {
 public:
  using Configure = std::function<void(Resource&)>;
  explicit MergeProject(Configure configure) : configure_(std::move(configure)) {}

  LoadInfo Run(const std::vector<Row>& rows) {
    PipelineOptions options;
    options.pipeline_name = "merge";
    options.pipelines_dir = dir_ / "pipelines";
    options.project_dir = dir_.path();
    options.progress = ProgressMode::kNone;
    Pipeline pipeline = Pipeline::Create(options);
    Source source{"src", {}};
    Resource items("items", [rows](Emitter& out) { out.Emit(MakeBatch(rows)); });
    configure_(items);
    source.resources.push_back(items);
    return pipeline.Run(source);
  }

  /// Rows of `sql` over the dataset (`items` is merge_dataset.items).
  std::vector<std::string> Query(const std::string& sql) const { return QueryDuck(db(), sql); }
  std::vector<std::string> Items(const std::string& columns = "id, name") const {
    return Query("SELECT " + columns + " FROM merge_dataset.items ORDER BY ALL");
  }
  fs::path db() const { return dir_ / "merge.duckdb"; }

 private:
  TempDir dir_;
  Configure configure_;
};

using Rows = std::vector<std::string>;

ColumnHint HardDelete(const std::string& name) {
  ColumnHint hint;
  hint.name = name;
  hint.hard_delete = true;
  return hint;
}

ColumnHint DedupSort(const std::string& name, const std::string& order) {
  ColumnHint hint;
  hint.name = name;
  hint.dedup_sort = order;
  return hint;
}

TEST(MergeE2E, DeleteInsertUpdatesInsertsAndHardDeletes) {
  MergeProject p([](Resource& r) {
    r.write_disposition("merge").primary_key({"id"}).columns({HardDelete("deleted")});
  });
  p.Run({{1, "a"}, {2, "b"}, {3, "c"}});
  EXPECT_EQ(p.Items(), (Rows{"1|a", "2|b", "3|c"}));
  p.Run({{2, "b2"}, {3, "c", true}, {4, "d", false}});
  EXPECT_EQ(p.Items("id, name, deleted"), (Rows{"1|a|NULL", "2|b2|NULL", "4|d|false"}));
  // A deleted row for a key that is not there does nothing; the deleted flag is not loaded.
  p.Run({{9, "x", true}, {1, "a1"}});
  EXPECT_EQ(p.Items(), (Rows{"1|a1", "2|b2", "4|d"}));
  EXPECT_EQ(p.Query("SELECT count(*) FROM merge_dataset._dlt_loads WHERE status = 0"), (Rows{"3"}));
  // The per-load staging schemas are gone once their loads are committed.
  EXPECT_EQ(p.Query("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE "
                    "'merge_dataset_staging%'"),
            (Rows{"0"}));
}

TEST(MergeE2E, DedupSortDescKeepsTheHighestAndAscTheLowest) {
  for (const std::string order : {"desc", "asc"}) {
    MergeProject p([&](Resource& r) {
      r.write_disposition("merge").primary_key({"id"}).columns({DedupSort("ver", order)});
    });
    p.Run({{1, "mid", std::nullopt, 2},
           {1, "high", std::nullopt, 3},
           {1, "low", std::nullopt, 1},
           {2, "only", std::nullopt, 7}});
    if (order == "desc") {
      EXPECT_EQ(p.Items("id, name, ver"), (Rows{"1|high|3", "2|only|7"}));
    } else {
      EXPECT_EQ(p.Items("id, name, ver"), (Rows{"1|low|1", "2|only|7"}));
    }
  }
}

TEST(MergeE2E, DedupThenHardDeleteAsDlt) {
  // The surviving duplicate is a delete: the key is removed and nothing is inserted.
  MergeProject p([](Resource& r) {
    r.write_disposition("merge").primary_key({"id"}).columns(
        {HardDelete("deleted"), DedupSort("ver", "desc")});
  });
  p.Run({{1, "a"}, {2, "b"}});
  p.Run(
      {{1, "a2", std::nullopt, 1}, {1, "gone", true, 2}, {2, "b2", true, 1}, {2, "b3", false, 2}});
  EXPECT_EQ(p.Items(), (Rows{"2|b3"}));
}

TEST(MergeE2E, MergeKeyOnlyReplacesWholePartitionsWithoutDedup) {
  MergeProject p([](Resource& r) {
    r.write_disposition("merge").merge_key({"name"}).columns({HardDelete("deleted")});
  });
  p.Run({{1, "d1"}, {2, "d1"}, {3, "d2"}});
  p.Run({{4, "d1"}, {4, "d1"}});
  EXPECT_EQ(p.Items(), (Rows{"3|d2", "4|d1", "4|d1"}));
  // G7: a deleted row with the merge key removes every row of its partition.
  p.Run({{0, "d1", true}});
  EXPECT_EQ(p.Items(), (Rows{"3|d2"}));
}

TEST(MergeE2E, NoKeysAppendsButLeavesOutHardDeletedRows) {
  // conformance G7 without keys: counts 2, 2, 3, 5.
  MergeProject p(
      [](Resource& r) { r.write_disposition("merge").columns({HardDelete("deleted")}); });
  p.Run({{1, "foo", false}, {2, "bar", false}});
  EXPECT_EQ(p.Items(), (Rows{"1|foo", "2|bar"}));
  p.Run({{1, std::nullopt, true}});
  EXPECT_EQ(p.Items(), (Rows{"1|foo", "2|bar"}));
  p.Run({{2, "baz"}});
  EXPECT_EQ(p.Items(), (Rows{"1|foo", "2|bar", "2|baz"}));
  p.Run({{3, "foo"}, {3, "bar"}});
  EXPECT_EQ(p.Items(), (Rows{"1|foo", "2|bar", "2|baz", "3|bar", "3|foo"}));
}

TEST(MergeE2E, UpsertUpdatesInsertsAndDeletes) {
  MergeProject p([](Resource& r) {
    r.merge_strategy("upsert").primary_key({"id"}).columns({HardDelete("deleted")});
  });
  p.Run({{1, "a"}, {2, "b"}, {3, "c"}});
  p.Run({{1, "a2"}, {2, std::nullopt, true}, {4, "d"}, {5, "never", true}});
  EXPECT_EQ(p.Items(), (Rows{"1|a2", "3|c", "4|d"}));
  auto schema = p.Query(
      "SELECT count(*) FROM merge_dataset._dlt_version WHERE schema LIKE "
      "'%\"x-merge-strategy\": \"upsert\"%' OR schema LIKE '%\"x-merge-strategy\":\"upsert\"%'");
  EXPECT_NE(schema, (Rows{"0"}));
}

TEST(MergeE2E, UpsertWithoutPrimaryKeyFailsTheLoad) {
  MergeProject p([](Resource& r) { r.merge_strategy("upsert"); });
  EXPECT_CDLT_ERROR(p.Run({{1, "a"}}), ErrorKind::kSchema, "strategy upsert needs a primary_key");
}

TEST(MergeE2E, UnknownStrategyIsAConfigError) {
  MergeProject p([](Resource& r) { r.merge_strategy("upsertt"); });
  EXPECT_CDLT_ERROR(p.Run({{1, "a"}}), ErrorKind::kConfig,
                    "unknown merge strategy \"upsertt\": allowed values are delete-insert, "
                    "upsert, insert-only, scd2");
}

TEST(MergeE2E, InsertOnlyNeverUpdatesExistingKeys) {
  // conformance G11.
  MergeProject p([](Resource& r) { r.merge_strategy("insert-only").primary_key({"id"}); });
  p.Run({{1, "a"}});
  p.Run({{1, "b"}, {2, "c"}});
  EXPECT_EQ(p.Items(), (Rows{"1|a", "2|c"}));
}

/// id|name|run that made the row|run that retired it (or "active"), runs numbered by their
/// boundary timestamps.
const char* kScd2History = R"(
  WITH b AS (SELECT DISTINCT _dlt_valid_from AS t FROM merge_dataset.items),
       r AS (SELECT t, row_number() OVER (ORDER BY t) AS n FROM b)
  SELECT id, name, f.n, coalesce(CAST(t.n AS VARCHAR), 'active')
  FROM merge_dataset.items i JOIN r f ON f.t = i._dlt_valid_from
  LEFT JOIN r t ON t.t = i._dlt_valid_to ORDER BY id, f.n)";

TEST(MergeE2E, Scd2KeepsHistoryAcrossThreeRuns) {
  MergeProject p([](Resource& r) { r.merge_strategy("scd2"); });
  p.Run({{1, "a"}, {2, "b"}, {3, "c"}});
  EXPECT_EQ(p.Query(kScd2History), (Rows{"1|a|1|active", "2|b|1|active", "3|c|1|active"}));
  // 1 unchanged, 2 changed, 3 gone, 4 new.
  p.Run({{1, "a"}, {2, "b2"}, {4, "d"}});
  // 3 comes back: it gets a new row; the others stay as they are.
  p.Run({{1, "a"}, {2, "b2"}, {3, "c"}, {4, "d"}});
  EXPECT_EQ(p.Query(kScd2History), (Rows{"1|a|1|active", "2|b|1|2", "2|b2|2|active", "3|c|1|2",
                                         "3|c|3|active", "4|d|2|active"}));
  // The row version is a hash of the data: equal rows share it, every version differs.
  EXPECT_EQ(p.Query("SELECT count(DISTINCT _dlt_id), count(*) FILTER (WHERE length(_dlt_id) = 14) "
                    "FROM merge_dataset.items"),
            (Rows{"5|6"}));
  // Exactly one active row per id.
  EXPECT_EQ(p.Query("SELECT count(*) FROM merge_dataset.items WHERE _dlt_valid_to IS NULL"),
            (Rows{"4"}));
}

TEST(MergeE2E, TypedRowsGetTheirHashesEvenWhenTheSchemaSaysTheNormalizerSawTheTable) {
  // A schema restored from a dlt dataset (or a table that once got JSON documents) carries
  // x-normalizer.seen-data. Typed rows still need their row hash from the merge SQL: with a
  // random _dlt_id, every unchanged row would become a new scd2 version on each run.
  MergeProject p([](Resource& r) { r.merge_strategy("scd2"); });
  p.Run({{1, "a"}, {2, "b"}});
  fs::path schema_file = p.db().parent_path() / "pipelines/merge/schemas/src.schema.json";
  ASSERT_TRUE(fs::exists(schema_file));
  auto schema = nlohmann::json::parse(io::ReadFile(schema_file));
  ASSERT_TRUE(schema["tables"].contains("items"));
  schema["tables"]["items"]["x-normalizer"]["seen-data"] = true;
  WriteText(schema_file, schema.dump(2));
  p.Run({{1, "a"}, {2, "b2"}});
  EXPECT_EQ(p.Query(kScd2History), (Rows{"1|a|1|active", "2|b|1|2", "2|b2|2|active"}));
}

TEST(MergeE2E, Scd2WithCustomColumnsActiveTimestampAndMergeKey) {
  MergeProject p([](Resource& r) {
    r.write_disposition(
         R"({"disposition": "merge", "strategy": "scd2", "validity_column_names": ["valid_from", "valid_to"], "active_record_timestamp": "9999-12-31"})")
        .merge_key({"id"});
  });
  p.Run({{1, "a"}, {2, "b"}});
  // With a merge key only keys in the load are retired: 2 stays active.
  p.Run({{1, "a2"}});
  EXPECT_EQ(p.Query("SELECT id, name, valid_to = TIMESTAMPTZ '9999-12-31', valid_from < valid_to "
                    "FROM merge_dataset.items ORDER BY id, valid_from"),
            (Rows{"1|a|false|true", "1|a2|true|true", "2|b|true|true"}));
  EXPECT_EQ(p.Query("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                    "'merge_dataset' AND table_name = 'items' AND column_name LIKE '_dlt_valid%'"),
            (Rows{"0"}));
}

// ---- TOML, CLI and crash safety ----------------------------------------------------------------

/// A CLI project over data/items.csv (id,name) loaded into ds.items with `write_disposition`.
class CliProject {
 public:
  explicit CliProject(const std::string& write_disposition, const std::string& extra = "") {
    WriteText(tmp_ / "project/.dlt/config.toml",
              DuckDbPipelineToml(tmp_.path(), "mergecli", "filesystem") +
                  fmt::format(R"([load]
workers = 2
[data_writer]
file_max_items = 3
[sources.filesystem.items]
bucket_url = "{0}/data"
file_glob = "*.csv"
primary_key = "id"
write_disposition = {1}
{2}
)",
                              tmp_.path().string(), write_disposition, extra));
  }
  void WriteCsv(const std::vector<std::pair<int, std::string>>& rows) const {
    std::string csv = "id,name\n";
    for (const auto& [id, name] : rows) csv += fmt::format("{},{}\n", id, name);
    WriteText(tmp_ / "data/items.csv", csv);
  }
  CommandResult Run(const std::string& fault_point = "") const {
    if (fault_point.empty()) return RunCli({"run"}, tmp_ / "project");
    return RunCli({"run"}, tmp_ / "project", {{"CDLT_FAULT_POINT", fault_point}});
  }
  Rows Items() const { return QueryDuck(db(), "SELECT id, name FROM ds.items ORDER BY ALL"); }
  Rows Query(const std::string& sql) const { return QueryDuck(db(), sql); }
  fs::path db() const { return tmp_ / "out.duckdb"; }

 private:
  TempDir tmp_;
};

TEST(MergeE2E, TomlTableSelectsTheStrategy) {
  CliProject p(R"({disposition = "merge", strategy = "upsert"})");
  p.WriteCsv({{1, "a"}, {2, "b"}});
  ASSERT_EQ(p.Run().exit_code, 0);
  p.WriteCsv({{2, "b2"}, {3, "c"}});
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Items(), (Rows{"1|a", "2|b2", "3|c"}));
}

TEST(MergeE2E, TomlRejectsUnknownStrategyAndScd2OptionsElsewhere) {
  CliProject bad(R"({disposition = "merge", strategy = "nope"})");
  bad.WriteCsv({{1, "a"}});
  auto r = bad.Run();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown merge strategy \"nope\""), std::string::npos) << r.err;
  CliProject misplaced(R"({disposition = "merge", validity_column_names = ["a", "b"]})");
  misplaced.WriteCsv({{1, "a"}});
  r = misplaced.Run();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("validity_column_names needs strategy = \"scd2\""), std::string::npos)
      << r.err;
}

TEST(MergeE2E, TomlScd2) {
  CliProject p(R"({disposition = "merge", strategy = "scd2"})");
  p.WriteCsv({{1, "a"}, {2, "b"}});
  ASSERT_EQ(p.Run().exit_code, 0);
  p.WriteCsv({{1, "a"}, {2, "b2"}});
  ASSERT_EQ(p.Run().exit_code, 0);
  EXPECT_EQ(p.Query("SELECT id, name, _dlt_valid_to IS NULL FROM ds.items ORDER BY ALL"),
            (Rows{"1|a|true", "2|b|false", "2|b2|true"}));
}

struct KillCase {
  std::string fault_point;
  bool merged_before_kill;
};
void PrintTo(const KillCase& c, std::ostream* os) { *os << c.fault_point; }

class MergeCrash : public ::testing::TestWithParam<KillCase> {};

// A merge killed at any point of its load leaves the old table or the merged one, and the next
// run finishes it: every key once, with the newest name.
TEST_P(MergeCrash, KilledMergeIsFinishedByTheNextRun) {
  const KillCase& c = GetParam();
  CliProject p("\"merge\"");
  std::vector<std::pair<int, std::string>> first, second;
  for (int i = 0; i < 10; ++i) first.push_back({i, "v1"});
  for (int i = 5; i < 15; ++i) second.push_back({i, "v2"});
  Rows before, after;
  for (int i = 0; i < 10; ++i) before.push_back(fmt::format("{}|v1", i));
  for (int i = 0; i < 15; ++i) after.push_back(fmt::format("{}|{}", i, i < 5 ? "v1" : "v2"));
  p.WriteCsv(first);
  ASSERT_EQ(p.Run().exit_code, 0);
  p.WriteCsv(second);
  auto killed = p.Run(c.fault_point);
  ASSERT_EQ(killed.exit_code, kKilledExitCode) << Describe(killed);
  EXPECT_EQ(p.Items(), c.merged_before_kill ? after : before);
  auto next = p.Run();
  ASSERT_EQ(next.exit_code, 0) << Describe(next);
  EXPECT_EQ(p.Items(), after);
  // Three packages: the first, the killed one finished, and the rerun's (same rows again).
  EXPECT_EQ(p.Query("SELECT count(*), count(DISTINCT load_id) FROM ds._dlt_loads"), (Rows{"3|3"}));
  EXPECT_EQ(p.Query("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE "
                    "'ds_staging%'"),
            (Rows{"0"}));
}

INSTANTIATE_TEST_SUITE_P(MergeCrash, MergeCrash,
                         ::testing::Values(KillCase{"load.after_job_commit", false},
                                           KillCase{"load.after_job_commit:3", false},
                                           KillCase{"load.after_job", false},
                                           KillCase{"load.before_complete", false},
                                           KillCase{"load.after_complete", true}),
                         [](const auto& info) {
                           std::string name;
                           for (char ch : info.param.fault_point)
                             name += std::isalnum(ch) ? ch : '_';
                           return name;
                         });

// ---- replace strategies, on the client --------------------------------------------------------

/// Load `ids` into ds.t with a replace package through the DuckDB client directly, stopping
/// before CompletePackage when `complete` is false.
void ReplaceWith(dest::duckdb::DuckDbClient& client, const fs::path& dir,
                 const std::string& load_id, const std::vector<int>& ids, bool complete) {
  schema::Schema schema = schema::Schema::New("s");
  schema::Table t;
  t.name = "t";
  schema::Column id;
  id.name = "id";
  id.data_type = schema::DataType::kBigint;
  t.columns.push_back(id);
  t.write_disposition = schema::WriteDisposition::kReplace;
  schema.MergeTable(t);
  schema.BumpVersion();
  fs::path file = dir / (load_id + ".parquet");
  {
    auto db = db::DuckDatabase::Open(":memory:");
    db::DuckConnection con(db);
    std::string values;
    for (int i : ids) values += (values.empty() ? "" : ", ") + fmt::format("({})", i);
    con.Execute(fmt::format("COPY (SELECT * FROM (VALUES {}) v(id)) TO {} (FORMAT parquet)", values,
                            db::QuoteLiteral(file.string())));
  }
  dest::PackagePlan plan;
  plan.load_id = load_id;
  plan.tables = {"t"};
  plan.replace_tables = {"t"};
  client.InitPackage(schema, plan);
  client.LoadJob(schema, plan, "t", "t.1", file);
  if (complete) client.CompletePackage(schema, plan);
}

TEST(ReplaceStrategy, InsertFromStagingSwapsAtTheEndTruncateAndInsertEmptiesFirst) {
  TempDir dir;
  fs::path db = dir / "r.duckdb";
  {
    dest::duckdb::DuckDbClient staging(db.string(), "ds");
    ReplaceWith(staging, dir.path(), "1000.1", {1, 2}, true);
    ReplaceWith(staging, dir.path(), "1000.2", {3}, false);
  }
  // insert-from-staging: until the package completes the old rows stay.
  EXPECT_EQ(QueryDuck(db, "SELECT id FROM ds.t ORDER BY id"), (Rows{"1", "2"}));
  {
    dest::duckdb::DuckDbClient truncate(db.string(), "ds", dest::duckdb::kTruncateAndInsert);
    ReplaceWith(truncate, dir.path(), "1000.3", {4, 5}, false);
  }
  // truncate-and-insert: the table was emptied at the start and the job loaded into it.
  EXPECT_EQ(QueryDuck(db, "SELECT id FROM ds.t ORDER BY id"), (Rows{"4", "5"}));
  // Each package had its own staging schema; the unfinished insert-from-staging one remains.
  EXPECT_EQ(QueryDuck(db,
                      "SELECT schema_name FROM information_schema.schemata WHERE schema_name "
                      "LIKE 'ds_staging%' ORDER BY 1"),
            (Rows{"ds_staging_10002"}));
}

TEST(ReplaceStrategy, ConfigKeyIsReadAndChecked) {
  config::Config none(std::map<std::string, std::string>{});
  EXPECT_EQ(dest::duckdb::ReplaceStrategyFromConfig(none), "insert-from-staging");
  config::Config truncate(
      std::map<std::string, std::string>{{"DESTINATION__REPLACE_STRATEGY", "truncate-and-insert"}});
  EXPECT_EQ(dest::duckdb::ReplaceStrategyFromConfig(truncate), "truncate-and-insert");
  config::Config bad(std::map<std::string, std::string>{
      {"DESTINATION__DUCKDB__REPLACE_STRATEGY", "staging-optimized"}});
  EXPECT_CDLT_ERROR(dest::duckdb::ReplaceStrategyFromConfig(bad), ErrorKind::kConfig,
                    "allowed values are truncate-and-insert, insert-from-staging");
}

}  // namespace
}  // namespace cdlt::test
