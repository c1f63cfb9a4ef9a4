#include "pipeline/inspect.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cdlt/pipeline.hpp"
#include "common/error.hpp"
#include "schema/schema.hpp"

namespace cdlt::pipeline {
namespace {

namespace fs = std::filesystem;

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

void MakePackage(const fs::path& dir) {
  for (const char* folder : {"new_jobs", "started_jobs", "completed_jobs", "failed_jobs"}) {
    fs::create_directories(dir / folder);
  }
  WriteText(dir / "load_package_state.json", "{}");
}

/// Expect `expr` to throw cdlt::Error of `kind` whose message contains `needle`.
template <typename Fn>
void ExpectError(Fn&& fn, ErrorKind kind, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown, expected " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// A pipelines folder with two pipelines: "orders" has a schema, a state, a trace, a pending
// extracted and normalized package and two loaded packages (one with a failed job); "empty" has
// nothing.
class InspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("cdlt_inspect_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    dir_ = root_ / "orders";
    fs::create_directories(root_ / "empty");

    schema::Schema schema = schema::Schema::New("orders");
    schema::Table table;
    table.name = "items";
    schema::Column id;
    id.name = "id";
    id.data_type = schema::DataType::kBigint;
    schema::Column note;
    note.name = "note";  // no data type yet: not created in the destination
    table.columns = {id, note};
    schema.MergeTable(table);
    schema.BumpVersion();
    fs::create_directories(dir_ / "schemas");
    schema.SaveFile(dir_ / "schemas" / "orders.schema.json");

    WriteText(dir_ / "state.json", R"({"_state_version": 2, "pipeline_name": "orders",
      "default_schema_name": "orders",
      "sources": {"orders": {"resources": {"items": {"incremental": {"last_value": "s3cr3t"}}}}},
      "_local": {"first_run": false, "api_token": "hunter2"}})");

    MakePackage(dir_ / "normalize" / "extracted" / "1751371700.000001");
    MakePackage(dir_ / "load" / "normalized" / "1751371600.000001");
    fs::path old_pkg = dir_ / "load" / "loaded" / "999999999.5";
    MakePackage(old_pkg);
    WriteText(old_pkg / "package_completed.json", R"({"status": "loaded"})");
    WriteText(old_pkg / "completed_jobs" / "items.aaaaaaaaaa.0.typed-jsonl", "{}\n");
    loaded_ = dir_ / "load" / "loaded" / "1751371500.000002";
    MakePackage(loaded_);
    WriteText(loaded_ / "package_completed.json", R"({"status": "aborted"})");
    WriteText(loaded_ / "completed_jobs" / "items.0123456789.0.parquet", "12345");
    WriteText(loaded_ / "failed_jobs" / "items.abcdefabcd.2.insert_values", "bad");
    WriteText(loaded_ / "failed_jobs" / "items.abcdefabcd.2.insert_values.exception",
              "column id: value 'x' is not a bigint");
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  fs::path dir_;
  fs::path loaded_;
};

TEST_F(InspectTest, ListsPipelinesSorted) {
  EXPECT_EQ(ListPipelines(root_), (std::vector<std::string>{"empty", "orders"}));
  EXPECT_TRUE(ListPipelines(root_ / "missing").empty());
}

TEST_F(InspectTest, UnknownPipelineListsKnownOnes) {
  ExpectError([&] { PipelineInfo(root_, "nope", false); }, ErrorKind::kConfig,
              "pipeline nope not found in " + root_.string() + "; known pipelines: empty, orders");
  ExpectError([&] { FailedJobs(root_, "../orders"); }, ErrorKind::kConfig, "not found");
}

TEST_F(InspectTest, FailedJobsShowsFileAndError) {
  std::string text = FailedJobs(root_, "orders");
  EXPECT_NE(text.find("column id: value 'x' is not a bigint"), std::string::npos) << text;
  EXPECT_NE(text.find((loaded_ / "failed_jobs" / "items.abcdefabcd.2.insert_values").string()),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1 failed job in 1 package"), std::string::npos) << text;
  EXPECT_EQ(FailedJobs(root_, "empty").rfind("no failed jobs", 0), 0u);
}

TEST_F(InspectTest, DropPendingKeepsLoadedPackages) {
  auto dropped = DropPendingPackages(root_, "orders");
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<std::string>{"1751371600.000001", "1751371700.000001"}));
  EXPECT_FALSE(fs::exists(dir_ / "normalize" / "extracted" / "1751371700.000001"));
  EXPECT_FALSE(fs::exists(dir_ / "load" / "normalized" / "1751371600.000001"));
  EXPECT_TRUE(fs::exists(loaded_));
  EXPECT_TRUE(fs::exists(dir_ / "load" / "loaded" / "999999999.5"));
  EXPECT_TRUE(DropPendingPackages(root_, "orders").empty());
}

TEST_F(InspectTest, LoadPackageDefaultsToNewest) {
  std::string text = LoadPackageInfo(root_, "orders", std::nullopt);
  EXPECT_NE(text.find("Load package 1751371700.000001 of pipeline orders is EXTRACTED"),
            std::string::npos)
      << text;
  DropPendingPackages(root_, "orders");
  // Numeric order: 999999999.5 sorts after 1751371500.000002 as text but is older.
  text = LoadPackageInfo(root_, "orders", std::nullopt);
  EXPECT_NE(text.find("Load package 1751371500.000002 of pipeline orders is ABORTED"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("completed items.0123456789.0.parquet (table items, 5 bytes)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("failed    items.abcdefabcd.2.insert_values (table items, 3 bytes)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("error: column id: value 'x' is not a bigint"), std::string::npos) << text;
  EXPECT_NE(text.find("Jobs: 2 (1 failed)"), std::string::npos) << text;
}

TEST_F(InspectTest, LoadPackageById) {
  std::string text = LoadPackageInfo(root_, "orders", "999999999.5");
  EXPECT_NE(text.find("is LOADED"), std::string::npos) << text;
  ExpectError([&] { LoadPackageInfo(root_, "orders", "1.0"); }, ErrorKind::kConfig,
              "load package 1.0 not found in pipeline orders; packages: 999999999.5, "
              "1751371500.000002");
  ExpectError([&] { LoadPackageInfo(root_, "empty", std::nullopt); }, ErrorKind::kConfig,
              "pipeline empty has no load packages");
}

TEST_F(InspectTest, SchemaJsonRoundTrips) {
  std::string text = SchemaText(root_, "orders", "json");
  auto json = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(json["name"], "orders");
  EXPECT_TRUE(json["tables"].contains("items"));
  EXPECT_NE(text.find("\n  \"name\": \"orders\""), std::string::npos) << text;
}

TEST_F(InspectTest, SchemaYaml) {
  std::string text = SchemaText(root_, "orders", "yaml");
  EXPECT_NE(text.find("\nname: orders\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  items:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("data_type: bigint\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('{'), text.find("{}"));  // block style only; {} just for empty maps
  ExpectError([&] { SchemaText(root_, "orders", "xml"); }, ErrorKind::kConfig,
              "allowed values are json, yaml");
  ExpectError([&] { SchemaText(root_, "empty", "yaml"); }, ErrorKind::kConfig,
              "pipeline empty has no schemas");
}

TEST_F(InspectTest, SchemaPicksOneNamedLikeThePipeline) {
  schema::Schema::New("other").SaveFile(dir_ / "schemas" / "other.schema.json");
  EXPECT_NE(SchemaText(root_, "orders", "yaml").find("\nname: orders\n"), std::string::npos);
  fs::create_directories(root_ / "two" / "schemas");
  schema::Schema::New("a").SaveFile(root_ / "two" / "schemas" / "a.schema.json");
  schema::Schema::New("b").SaveFile(root_ / "two" / "schemas" / "b.schema.json");
  ExpectError([&] { SchemaText(root_, "two", "json"); }, ErrorKind::kConfig,
              "pipeline two has no default schema; schemas: a, b");
}

TEST_F(InspectTest, InfoShowsLayoutButNoStateValues) {
  std::string text = PipelineInfo(root_, "orders", false);
  for (const char* needle :
       {"Working dir: ", "  orders (version ", "    items: 2 columns, 1 without data type",
        "pipeline_name: orders", "_state_version: 2", "orders - resources with state: items",
        "api_token: (set)", "Pending packages: 2 packages", "  1751371700.000001 extracted",
        "  1751371600.000001 normalized",
        "Loaded packages: 2 (1 aborted), newest 1751371500.000002", "Last run: no trace"}) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  }
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
  EXPECT_EQ(text.find("_dlt_loads"), std::string::npos) << text;
  EXPECT_NE(PipelineInfo(root_, "orders", true).find("_dlt_loads"), std::string::npos);
}

TEST_F(InspectTest, TraceFromTraceJson) {
  EXPECT_NE(PipelineTrace(root_, "orders").find("has no run trace"), std::string::npos);
  RunTrace trace;
  trace.pipeline_name = "orders";
  trace.started_at = 1751371500;
  trace.finished_at = 1751371502.5;
  trace.failed = true;
  trace.error = "load failed";
  StepTrace step;
  step.step = "load";
  step.started_at = 1751371501;
  step.finished_at = 1751371502.5;
  step.failed = true;
  step.error = "load failed";
  step.tables["items"] = TableMetrics{.rows = 2, .files = 1, .bytes = 326};
  trace.steps.push_back(step);
  WriteText(dir_ / "trace.json", trace.ToJson());
  EXPECT_EQ(PipelineTrace(root_, "orders"), RunTrace::FromJson(trace.ToJson()).ToString());
  std::string info = PipelineInfo(root_, "orders", false);
  EXPECT_NE(info.find("Last run: started at 2025-07-01 12:05:00 UTC and FAILED in 2.50s "
                      "(step load failed)"),
            std::string::npos)
      << info;
  EXPECT_NE(info.find("  error: load failed"), std::string::npos) << info;
  WriteText(dir_ / "trace.json", "{not json");
  EXPECT_NE(PipelineInfo(root_, "orders", false).find("Last run: trace.json cannot be read: "),
            std::string::npos);
  ExpectError([&] { PipelineTrace(root_, "orders"); }, ErrorKind::kIo, "trace");
}

TEST(JsonToYaml, QuotesWhatPlainYamlWouldMisread) {
  auto json = nlohmann::ordered_json::parse(R"({
    "plain": "hello world", "empty": "", "bool_like": "yes", "null_like": "null",
    "number_like": "12", "float_like": "-1.5", "colon": "a: b", "comment": "a #b",
    "dash": "- x", "newline": "a\nb", "n": 3, "f": 1.5, "t": true, "z": null,
    "list": [1, "two", {"k": "v", "k2": [true]}, [3, 4], {}, []],
    "nested": {"deep": {"x": "y"}}, "empty_map": {}, "weird key:": 1})");
  EXPECT_EQ(JsonToYaml(json),
            "plain: hello world\n"
            "empty: \"\"\n"
            "bool_like: \"yes\"\n"
            "null_like: \"null\"\n"
            "number_like: \"12\"\n"
            "float_like: \"-1.5\"\n"
            "colon: \"a: b\"\n"
            "comment: \"a #b\"\n"
            "dash: \"- x\"\n"
            "newline: \"a\\nb\"\n"
            "\"n\": 3\n"  // YAML 1.1 reads a bare n / y as a boolean
            "f: 1.5\n"
            "t: true\n"
            "z: null\n"
            "list:\n"
            "  - 1\n"
            "  - two\n"
            "  - k: v\n"
            "    k2:\n"
            "      - true\n"
            "  - - 3\n"
            "    - 4\n"
            "  - {}\n"
            "  - []\n"
            "nested:\n"
            "  deep:\n"
            "    x: \"y\"\n"
            "empty_map: {}\n"
            "\"weird key:\": 1\n");
  EXPECT_EQ(JsonToYaml(nlohmann::ordered_json("x")), "x\n");
}

TEST(DefaultPipelinesDir, HonoursDltDataDir) {
  const char* old = std::getenv("DLT_DATA_DIR");
  std::string saved = old ? old : "";
  setenv("DLT_DATA_DIR", "/tmp/cdlt_data", 1);
  EXPECT_EQ(DefaultPipelinesDir(), fs::path("/tmp/cdlt_data/pipelines"));
  if (old) {
    setenv("DLT_DATA_DIR", saved.c_str(), 1);
  } else {
    unsetenv("DLT_DATA_DIR");
  }
  if (geteuid() != 0 && !old) {
    EXPECT_EQ(DefaultPipelinesDir().filename(), "pipelines");
  }
}

}  // namespace
}  // namespace cdlt::pipeline
