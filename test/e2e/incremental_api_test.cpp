// End-to-end: dlt's incremental hint on resources that are not sql_database tables (the C++ API
// and a filesystem CSV resource configured in TOML), into a real DuckDB file.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cdlt/cdlt.hpp"
#include "helpers/test_util.hpp"
#include "io/file.hpp"

namespace cdlt::test {
namespace {

/// A resource yielding rows (id, updated_at) for ids [0, rows): updated_at = id / 10, so ten rows
/// share each cursor value, in pages of 7 rows.
Resource Events(int rows) {
  Resource r("events", [rows](Emitter& out) {
    for (int start = 0; start < rows; start += 7) {
      Batch batch(Fields{{"id", {PhysicalType::kInt64}, false},
                         {"updated_at", {PhysicalType::kInt64}, false}});
      for (int i = start; i < std::min(rows, start + 7); ++i) {
        batch.column(0).Append<int64_t>(i);
        batch.column(1).Append<int64_t>(i / 10);
      }
      if (!out.Emit(std::move(batch))) return;
    }
  });
  r.primary_key({"id"}).incremental({{"cursor_path", "updated_at"}, {"initial_value", 2}});
  return r;
}

TEST(IncrementalApiE2E, CppResourceLoadsOnlyNewRowsAndDeduplicatesTheBoundary) {
  TempDir dir;
  PipelineOptions options;
  options.pipeline_name = "inc_api";
  options.pipelines_dir = dir / "pipelines";
  options.project_dir = dir.path();
  options.progress = ProgressMode::kNone;
  fs::path db = dir / "inc_api.duckdb";
  auto count = [&] {
    return QueryDuckScalar(db,
                           "SELECT count(*) || '/' || count(DISTINCT id) || '/' || min(id) || "
                           "'/' || max(id) FROM inc_api_dataset.events");
  };
  {
    Pipeline pipeline = Pipeline::Create(options);
    pipeline.Run(Source{"api", {Events(55)}});  // initial_value 2: ids 20..54
  }
  EXPECT_EQ(count(), "35/35/20/54");
  {
    // Rows 50..54 share the last cursor value 5: seen last run, dropped now; 55..79 are new.
    Pipeline pipeline = Pipeline::Create(options);
    pipeline.Run(Source{"api", {Events(80)}});
  }
  EXPECT_EQ(count(), "60/60/20/79");
  {
    Pipeline pipeline = Pipeline::Create(options);
    LoadInfo info = pipeline.Run(Source{"api", {Events(80)}});  // nothing new
    EXPECT_FALSE(info.has_failed_jobs);
  }
  EXPECT_EQ(count(), "60/60/20/79");
  // The cursor lives in the resource state, committed with the data. Compared as JSON: a
  // substring search for `"last_value": 7` would also accept 70..79.
  std::string state = io::ReadFile(dir / "pipelines/inc_api/state.json");
  const nlohmann::json::json_pointer last_value(
      "/sources/api/resources/events/incremental/updated_at/last_value");
  nlohmann::json parsed = nlohmann::json::parse(state);
  ASSERT_TRUE(parsed.contains(last_value)) << state;
  EXPECT_EQ(parsed[last_value], 7) << state;
}

TEST(IncrementalApiE2E, CsvResourceWithTomlIncrementalAndBadCursorNamesTheKey) {
  TempDir dir;
  auto config = [&](const std::string& cursor) {
    std::string orders = fmt::format(R"([sources.filesystem.orders]
bucket_url = "{0}/data"
file_glob = "*.csv"
primary_key = "id"
incremental = {{ cursor_path = "{1}", initial_value = "2024-01-02" }}
)",
                                     dir.path().string(), cursor);
    WriteText(dir / ".dlt/config.toml",
              DuckDbPipelineToml(dir.path(), "inc_csv", "filesystem") + orders);
  };
  auto loaded_ids = [&] {
    return QueryDuckScalar(dir / "out.duckdb",
                           "SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM ds.orders");
  };
  config("day");
  WriteText(dir / "data/orders.csv",
            "id,day\n1,2024-01-01\n2,2024-01-02\n3,2024-01-02\n4,2024-01-03\n");
  auto r = RunCli({"run"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(loaded_ids(), "2,3,4");
  WriteText(dir / "data/orders.csv",
            "id,day\n1,2024-01-01\n2,2024-01-02\n3,2024-01-02\n4,2024-01-03\n5,2024-01-03\n"
            "6,2024-01-04\n");
  r = RunCli({"run"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(loaded_ids(), "2,3,4,5,6");
  config("no_such_column");
  r = RunCli({"run"}, dir.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("no_such_column"), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("orders"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(loaded_ids(), "2,3,4,5,6");  // the failed run loaded nothing
}

}  // namespace
}  // namespace cdlt::test
