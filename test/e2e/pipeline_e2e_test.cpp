// End-to-end: the CLI and the C++ API against real CSV/Parquet files and a real DuckDB file.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "cdlt/cdlt.hpp"
#include "db/duckdb_conn.hpp"
#include "helpers/test_util.hpp"
#include "io/file.hpp"

namespace cdlt::test {
namespace {

/// A project folder with .dlt/config.toml for a filesystem pipeline and a DuckDB destination.
class Project {
 public:
  explicit Project(const std::string& extra_toml = "", const std::string& disposition = "append") {
    fs::create_directories(dir_ / "data" / "people");
    fs::create_directories(dir_ / "data" / "scores");
    config_ = DuckDbPipelineToml(dir_.path(), "e2e", "filesystem") +
              fmt::format(R"([sources.filesystem.people]
bucket_url = "{0}/data/people"
file_glob = "*.csv"
write_disposition = "{1}"

[sources.filesystem.scores]
bucket_url = "{0}/data/scores"
file_glob = "**/*.parquet"
write_disposition = "{1}"
{2}
)",
                          dir_.path().string(), disposition, extra_toml);
    WriteText(dir_ / ".dlt/config.toml", config_);
  }

  void WritePeople(int rows, int first_id = 1) {
    std::string csv = "Person ID,Full Name,Height,Born,Active,Last Seen\n";
    for (int i = first_id; i < first_id + rows; ++i) {
      csv += fmt::format("{},\"Name, {}\",{}.5,199{}-0{}-1{},{},2024-05-0{} 10:11:12\n", i, i,
                         150 + i % 50, i % 10, 1 + i % 9, i % 10, i % 2 == 0 ? "true" : "false",
                         1 + i % 9);
    }
    WriteText(dir_ / "data/people/people.csv", csv);
  }

  void WriteScores(int rows, int files = 2) {
    auto db = db::DuckDatabase::Open(":memory:");
    db::DuckConnection con(db);
    fs::create_directories(dir_ / "data/scores/nested");
    for (int f = 0; f < files; ++f) {
      fs::path p = f == 0 ? dir_ / "data/scores/s0.parquet"
                          : dir_ / fmt::format("data/scores/nested/s{}.parquet", f);
      con.Execute(fmt::format(
          "COPY (SELECT i AS id, (i * 1.25)::DECIMAL(10,2) AS amount, i::SMALLINT AS small, "
          "'txt' || i AS label, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS at, "
          "uuid() AS uid, CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS maybe "
          "FROM range({}, {}) t(i)) TO {} (FORMAT parquet)",
          f * rows / files, (f + 1) * rows / files, db::QuoteLiteral(p.string())));
    }
  }

  CommandResult Run(const std::map<std::string, std::string>& env = {}) const {
    return RunCli({"run"}, dir_.path(), env);
  }
  fs::path db() const { return dir_ / "out.duckdb"; }
  fs::path pipelines() const { return dir_ / "pipelines"; }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::string config_;
};

TEST(PipelineE2E, CsvAndParquetLoadWithRightRowsAndTypes) {
  Project p;
  p.WritePeople(100);
  p.WriteScores(1000);
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("is LOADED and contains no failed jobs"), std::string::npos) << r.out;
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds.people"), "100");
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds.scores"), "1000");
  // CSV header names are normalized with snake_case; types come from DuckDB's CSV sniffer.
  auto people_types = QueryDuck(
      p.db(),
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema='ds' "
      "AND table_name='people' ORDER BY ordinal_position");
  std::vector<std::string> expected_people = {"person_id|BIGINT", "full_name|VARCHAR",
                                              "height|DOUBLE",    "born|DATE",
                                              "active|BOOLEAN",   "last_seen|TIMESTAMP"};
  EXPECT_EQ(people_types, expected_people);
  EXPECT_EQ(QueryDuckScalar(p.db(),
                            "SELECT full_name || '/' || height || '/' || born || '/' || "
                            "active FROM ds.people WHERE person_id = 7"),
            "Name, 7/157.5/1997-08-17/false");
  auto score_types = QueryDuck(
      p.db(),
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema='ds' "
      "AND table_name='scores' ORDER BY ordinal_position");
  std::vector<std::string> expected_scores = {
      "id|BIGINT",     "amount|DECIMAL(10,2)",        "small|SMALLINT",
      "label|VARCHAR", "at|TIMESTAMP WITH TIME ZONE", "uid|VARCHAR",
      "maybe|BIGINT"};
  EXPECT_EQ(score_types, expected_scores);
  EXPECT_EQ(QueryDuckScalar(p.db(),
                            "SELECT sum(amount) || '/' || count(maybe) || '/' || "
                            "count(DISTINCT uid) FROM ds.scores"),
            "624375.00/666/1000");
  EXPECT_EQ(QueryDuckScalar(p.db(),
                            "SELECT label || ' ' || strftime(\"at\" AT TIME ZONE 'UTC', "
                            "'%Y-%m-%d %H:%M:%S') FROM ds.scores WHERE id = 61"),
            "txt61 2024-01-01 00:01:01");
}

TEST(PipelineE2E, DltLoadsGetsOneRowPerRunAndAppendTwiceIsTwoCopies) {
  Project p;
  p.WritePeople(50);
  p.WriteScores(10);
  ASSERT_EQ(p.Run().exit_code, 0);
  ASSERT_EQ(p.Run().exit_code, 0);
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds.people"), "100");
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(DISTINCT person_id) FROM ds.people"), "50");
  EXPECT_EQ(QueryDuckScalar(p.db(),
                            "SELECT count(*) || '/' || count(DISTINCT load_id) || '/' || "
                            "max(status) || '/' || any_value(schema_name) FROM ds._dlt_loads"),
            "2/2/0/filesystem");
  // _dlt_version holds the schema; _dlt_pipeline_state the state row of the first run.
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds._dlt_version"), "1");
  EXPECT_EQ(QueryDuckScalar(p.db(),
                            "SELECT count(*) || '/' || any_value(pipeline_name) FROM "
                            "ds._dlt_pipeline_state"),
            "1/e2e");
  EXPECT_EQ(QueryDuckScalar(p.db(),
                            "SELECT count(*) FROM ds._dlt_loads l JOIN "
                            "ds._dlt_version v ON l.schema_version_hash = v.version_hash"),
            "2");
}

TEST(PipelineE2E, ASecondRunOfTheSamePipelineFailsClearlyWhileTheFirstHoldsTheLock) {
  Project p;
  p.WritePeople(10);
  ASSERT_EQ(p.Run().exit_code, 0);
  // Hold the pipeline folder's lock as a running `cdlt run` does.
  fs::path lock = p.pipelines() / "e2e" / ".lock";
  ASSERT_TRUE(fs::exists(lock));
  int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  p.WritePeople(5, 100);
  CommandResult r = p.Run();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("pipeline e2e is being run by another process"), std::string::npos)
      << Describe(r);
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds.people"), "10");
  ::close(fd);
  // Released: the next run loads what the refused one would have.
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds.people"), "15");
}

TEST(PipelineE2E, ReplaceTwiceIsOneCopy) {
  Project p("", "replace");
  p.WritePeople(50);
  p.WriteScores(10);
  ASSERT_EQ(p.Run().exit_code, 0);
  p.WritePeople(30, 1000);
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) || '/' || min(person_id) FROM ds.people"),
            "30/1000");
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds.scores"), "10");
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds._dlt_loads"), "2");
}

TEST(PipelineE2E, ParallelWorkersWriteSeveralFilesPerTableAndLoadThemAll) {
  Project p("[data_writer]\nfile_max_items = 700\nbuffer_max_items = 100\n");
  p.WritePeople(5000);
  p.WriteScores(6000, 3);
  auto r = p.Run({{"EXTRACT__WORKERS", "4"}, {"NORMALIZE__WORKERS", "2"}, {"LOAD__WORKERS", "4"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(QueryDuckScalar(p.db(),
                            "SELECT count(*) || '/' || count(DISTINCT person_id) FROM "
                            "ds.people"),
            "5000/5000");
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) || '/' || count(DISTINCT id) FROM ds.scores"),
            "6000/6000");
  // Several load jobs per table, all completed.
  auto loaded = fs::directory_iterator(p.pipelines() / "e2e/load/loaded");
  fs::path pkg = loaded->path();
  int people_jobs = 0, score_jobs = 0;
  for (const auto& e : fs::directory_iterator(pkg / "completed_jobs")) {
    std::string name = e.path().filename().string();
    if (name.rfind("people.", 0) == 0) ++people_jobs;
    if (name.rfind("scores.", 0) == 0) ++score_jobs;
  }
  // file_max_items is exact: 5000 rows → 7 × 700 + 300; 6000 rows → 8 × 700 + 400.
  EXPECT_EQ(people_jobs, 8);
  EXPECT_EQ(score_jobs, 9);
  EXPECT_TRUE(fs::is_empty(pkg / "new_jobs"));
  EXPECT_TRUE(fs::is_empty(pkg / "failed_jobs"));
  // The trace is saved as JSON and printed by `cdlt pipeline NAME trace`.
  auto t = RunCli({"pipeline", "--pipelines-dir", p.pipelines().string(), "e2e", "trace"},
                  p.dir().path());
  EXPECT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("- people: 5000 row(s)"), std::string::npos) << t.out;
}

TEST(PipelineE2E, EnvironmentBeatsConfigAndPipelinePrefixComesFirst) {
  Project p;
  p.WritePeople(5);
  auto r = p.Run({{"PIPELINE__DATASET_NAME", "from_env"},
                  {"E2E__PIPELINE__DATASET_NAME", "from_prefixed_env"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM from_prefixed_env.people"), "5");
  auto r2 = p.Run({{"PIPELINE__DATASET_NAME", "from_env"}});
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM from_env.people"), "5");
  // A resource key from the environment (dlt's SOURCES__<SOURCE>__<RESOURCE>__<KEY>).
  fs::create_directories(p.dir() / "data/other");
  WriteText(p.dir() / "data/other/x.csv", "a,b\n1,2\n3,4\n");
  auto r3 = p.Run({{"SOURCES__FILESYSTEM__PEOPLE__BUCKET_URL", (p.dir() / "data/other").string()}});
  ASSERT_EQ(r3.exit_code, 0) << r3.err;
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT sum(a) || '/' || sum(b) FROM ds.people"), "4/6");
}

TEST(PipelineE2E, MalformedCsvStopsWithFileAndLineAndKeepsEarlierLoads) {
  Project p;
  p.WritePeople(20);
  ASSERT_EQ(p.Run().exit_code, 0);
  std::string csv = "Person ID,Full Name,Height,Born,Active,Last Seen\n";
  for (int i = 0; i < 40; ++i)
    csv += fmt::format("{},n,1.5,1990-01-01,true,2024-01-01 00:00:00\n", i);
  csv += "41,n,1.5,1990-01-01,true,2024-01-01 00:00:00,one field too many\n";
  WriteText(p.dir() / "data/people/people.csv", csv);
  auto r = p.Run();
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("people.csv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 42"), std::string::npos) << r.err;
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds.people"), "20");
  EXPECT_EQ(QueryDuckScalar(p.db(), "SELECT count(*) FROM ds._dlt_loads"), "1");
}

TEST(PipelineE2E, BadConfigurationFailsBeforeAnyWorkNamingTheKey) {
  Project p;
  p.WritePeople(5);
  auto bad_dest = p.Run({{"PIPELINE__DESTINATION", "nowhere"}});
  EXPECT_EQ(bad_dest.exit_code, 2);
  EXPECT_NE(bad_dest.err.find("unknown destination \"nowhere\""), std::string::npos)
      << bad_dest.err;
  auto bad_source = p.Run({{"PIPELINE__SOURCE", "ftp"}});
  EXPECT_EQ(bad_source.exit_code, 2);
  EXPECT_NE(bad_source.err.find("unknown source \"ftp\""), std::string::npos) << bad_source.err;
  auto bad_workers = p.Run({{"LOAD__WORKERS", "many"}});
  EXPECT_EQ(bad_workers.exit_code, 2);
  EXPECT_NE(bad_workers.err.find("LOAD__WORKERS"), std::string::npos) << bad_workers.err;
  EXPECT_FALSE(fs::exists(p.db()));

  WriteText(p.dir() / ".dlt/secrets.toml", "[destination.duckdb\ncredentials = 1\n");
  auto bad_toml = p.Run();
  EXPECT_EQ(bad_toml.exit_code, 2);
  EXPECT_NE(bad_toml.err.find("secrets.toml"), std::string::npos) << bad_toml.err;
  EXPECT_NE(bad_toml.err.find("line 1"), std::string::npos) << bad_toml.err;
}

TEST(PipelineE2E, MissingFolderAndUnwritableDatabaseAreNamed) {
  Project p;
  p.WritePeople(5);
  auto missing = p.Run({{"SOURCES__FILESYSTEM__SCORES__BUCKET_URL", (p.dir() / "nope").string()}});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  auto unwritable =
      p.Run({{"DESTINATION__DUCKDB__CREDENTIALS", (p.dir() / "no/such/dir/x.duckdb").string()}});
  EXPECT_EQ(unwritable.exit_code, 4) << unwritable.err;
  EXPECT_NE(unwritable.err.find("x.duckdb"), std::string::npos) << unwritable.err;
}

TEST(PipelineE2E, CppApiRunsACustomResourceWithHints) {
  TempDir dir;
  PipelineOptions options;
  options.pipeline_name = "api_e2e";
  options.pipelines_dir = dir / "pipelines";
  options.project_dir = dir.path();
  options.progress = ProgressMode::kNone;
  Pipeline pipeline = Pipeline::Create(options);
  Source source{"numbers", {}};
  Resource squares("Squares", [](Emitter& out) {
    for (int page = 0; page < 10; ++page) {
      Batch batch(
          Fields{{"N", {PhysicalType::kInt64}, false}, {"Square Value", {PhysicalType::kDouble}}});
      for (int i = 0; i < 100; ++i) {
        int64_t n = page * 100 + i;
        batch.column(0).Append<int64_t>(n);
        batch.column(1).Append<double>(static_cast<double>(n * n));
      }
      if (!out.Emit(std::move(batch))) return;
    }
  });
  squares.add_limit(3).write_disposition("replace").primary_key({"N"});
  source.resources.push_back(squares);
  LoadInfo info = pipeline.Run(source);
  EXPECT_FALSE(info.has_failed_jobs);
  ASSERT_EQ(info.load_ids.size(), 1u);
  fs::path db = dir / "api_e2e.duckdb";
  EXPECT_EQ(QueryDuckScalar(db,
                            "SELECT count(*) || '/' || max(n) || '/' || max(square_value) FROM "
                            "api_e2e_dataset.squares"),
            "300/299/89401.0");
  auto trace = pipeline.last_trace();
  ASSERT_TRUE(trace.has_value());
  EXPECT_FALSE(trace->failed);
  ASSERT_EQ(trace->steps.size(), 3u);
  EXPECT_EQ(trace->steps[0].tables.at("squares").rows, 300);
  // The schema marks the primary key and keeps the hints.
  auto schema_text = io::ReadFile(dir / "pipelines/api_e2e/schemas/numbers.schema.json");
  EXPECT_NE(schema_text.find("\"primary_key\": true"), std::string::npos);
  EXPECT_NE(schema_text.find("\"write_disposition\": \"replace\""), std::string::npos);
}

}  // namespace
}  // namespace cdlt::test
