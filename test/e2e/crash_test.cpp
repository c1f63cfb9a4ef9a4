// Crash-safety tests: the CLI kills itself (SIGKILL) at a fault point chosen with
// CDLT_FAULT_POINT, and the next run must finish the pending package so that no row is lost and
// none is loaded twice.

#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>
#include <vector>

#include "helpers/test_util.hpp"

namespace cdlt::test {
namespace {

/// A project folder with a duckdb append/replace pipeline over `data/events/*.csv`.
class CrashProject {
 public:
  explicit CrashProject(const std::string& write_disposition = "append") {
    WriteText(tmp_ / "project/.dlt/config.toml",
              DuckDbPipelineToml(tmp_.path(), "crash", "filesystem") +
                  "[data_writer]\n"
                  "file_max_items = 1000\n"
                  "[normalize.parquet_normalizer]\n"
                  "add_dlt_load_id = true\n"
                  "[load]\n"
                  "workers = 2\n"
                  "[sources.filesystem.events]\n"
                  "bucket_url = \"" +
                  (tmp_ / "data/events").string() +
                  "\"\n"
                  "file_glob = \"*.csv\"\n"
                  "chunk_size = 500\n"
                  "write_disposition = \"" +
                  write_disposition + "\"\n");
  }

  fs::path ProjectDir() const { return tmp_ / "project"; }
  fs::path Db() const { return tmp_ / "out.duckdb"; }
  fs::path PipelinesDir() const { return tmp_ / "pipelines"; }

  /// (Re)writes the single CSV with `rows` rows and unique ids first_id .. first_id + rows - 1.
  void WriteCsv(int rows, int first_id = 0) const {
    std::string csv = "id,name,amount\n";
    csv.reserve(static_cast<size_t>(rows) * 24);
    for (int i = first_id; i < first_id + rows; ++i) {
      csv +=
          std::to_string(i) + ",name_" + std::to_string(i) + "," + std::to_string(i % 97) + ".5\n";
    }
    WriteText(tmp_ / "data/events/events.csv", csv);
  }

  CommandResult Run(const std::string& fault_point = "") const {
    if (fault_point.empty()) return RunCli({"run"}, ProjectDir());
    return RunCli({"run"}, ProjectDir(), {{"CDLT_FAULT_POINT", fault_point}});
  }

  CommandResult PipelineCommand(const std::string& operation) const {
    return RunCli({"pipeline", "--pipelines-dir", PipelinesDir().string(), "crash", operation},
                  ProjectDir());
  }

  std::string Scalar(const std::string& sql) const { return QueryDuckScalar(Db(), sql); }
  std::string Row(const std::string& sql) const {
    std::vector<std::string> rows = QueryDuck(Db(), sql);
    return rows.size() == 1 ? rows[0] : "<" + std::to_string(rows.size()) + " rows>";
  }

  /// Checks that `_dlt_loads` holds exactly `packages` completed packages (status 0), and that
  /// every row of ds.events belongs to one of them.
  void ExpectLoads(int packages) const {
    EXPECT_EQ(Row("SELECT count(*), count(DISTINCT load_id), min(status), max(status) "
                  "FROM ds._dlt_loads"),
              std::to_string(packages) + "|" + std::to_string(packages) + "|0|0");
    EXPECT_EQ(Scalar("SELECT count(*) FROM ds.events "
                     "WHERE _dlt_load_id NOT IN (SELECT load_id FROM ds._dlt_loads)"),
              "0");
  }

  /// Checks that the local pipeline has no pending package left.
  void ExpectNoPendingPackages() const {
    CommandResult info = PipelineCommand("info");
    EXPECT_EQ(info.exit_code, 0) << info.out << info.err;
    EXPECT_NE(info.out.find("Pending packages: none"), std::string::npos) << info.out;
  }

 private:
  TempDir tmp_;
};

std::string ParamName(const std::string& point) {
  std::string name;
  for (char c : point) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

// ---------------------------------------------------------------------------------------------
// Append: a killed run leaves a pending package that the next run finishes before it extracts
// the (unchanged) CSV again, so every id ends up in the table exactly twice in two loads.

struct AppendCase {
  std::string fault_point;
  // State of the destination right after the kill: -1 when nothing was loaded yet (ds.events
  // does not exist), else the minimum number of rows already committed to ds.events.
  int min_rows_after_kill;
  int loads_after_kill;  // rows in ds._dlt_loads right after the kill
};

void PrintTo(const AppendCase& c, std::ostream* os) { *os << c.fault_point; }

class CrashSafetyAppend : public ::testing::TestWithParam<AppendCase> {};

TEST_P(CrashSafetyAppend, PendingPackageIsFinishedExactlyOnce) {
  const AppendCase& c = GetParam();
  CrashProject p;
  p.WriteCsv(5000);

  CommandResult killed = p.Run(c.fault_point);
  ASSERT_EQ(killed.exit_code, kKilledExitCode) << Describe(killed);
  CommandResult info = p.PipelineCommand("info");
  ASSERT_EQ(info.exit_code, 0) << Describe(info);
  EXPECT_NE(info.out.find("Pending packages: 1 package"), std::string::npos) << info.out;
  if (c.min_rows_after_kill < 0) {
    EXPECT_EQ(p.Scalar("SELECT count(*) FROM information_schema.tables "
                       "WHERE table_schema = 'ds' AND table_name = 'events'"),
              "0");
  } else {
    // Rows of committed jobs are visible, but the package is not complete.
    EXPECT_GE(std::stoi(p.Scalar("SELECT count(*) FROM ds.events")), c.min_rows_after_kill);
    EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds._dlt_loads"), std::to_string(c.loads_after_kill));
  }

  CommandResult rerun = p.Run();
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_NE(rerun.out.find("Note: finishing 1 pending package"), std::string::npos)
      << Describe(rerun);

  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id) FROM ds.events"), "10000|5000");
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM (SELECT id, count(*) c FROM ds.events GROUP BY id "
                     "HAVING c <> 2)"),
            "0");
  // Each load holds the whole file once.
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM (SELECT _dlt_load_id, count(*) c, count(DISTINCT id) d "
                     "FROM ds.events GROUP BY _dlt_load_id HAVING c <> 5000 OR d <> 5000)"),
            "0");
  EXPECT_EQ(p.Scalar("SELECT count(DISTINCT _dlt_load_id) FROM ds.events"), "2");
  p.ExpectLoads(2);
  p.ExpectNoPendingPackages();

  // A third clean run appends once more and does not find anything pending.
  CommandResult third = p.Run();
  ASSERT_EQ(third.exit_code, 0) << Describe(third);
  EXPECT_EQ(third.out.find("Note: finishing"), std::string::npos) << Describe(third);
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id) FROM ds.events"), "15000|5000");
  p.ExpectLoads(3);
}

INSTANTIATE_TEST_SUITE_P(CrashSafety, CrashSafetyAppend,
                         ::testing::Values(AppendCase{"normalize.after_file", -1, 0},
                                           AppendCase{"normalize.after_file:3", -1, 0},
                                           AppendCase{"normalize.before_commit", -1, 0},
                                           AppendCase{"load.after_job_commit", 1000, 0},
                                           AppendCase{"load.after_job_commit:3", 3000, 0},
                                           AppendCase{"load.after_job_commit:5", 5000, 0},
                                           AppendCase{"load.after_job", 1000, 0},
                                           AppendCase{"load.after_job:4", 4000, 0},
                                           AppendCase{"load.before_complete", 5000, 0},
                                           AppendCase{"load.after_complete", 5000, 1}),
                         [](const auto& info) { return ParamName(info.param.fault_point); });

// ---------------------------------------------------------------------------------------------
// A kill during extract leaves no package: the next run loads the data once.

class CrashSafetyExtract : public ::testing::TestWithParam<std::string> {};

TEST_P(CrashSafetyExtract, KilledExtractLeavesNothingPending) {
  CrashProject p;
  p.WriteCsv(5000);

  CommandResult killed = p.Run(GetParam());
  ASSERT_EQ(killed.exit_code, kKilledExitCode) << Describe(killed);
  p.ExpectNoPendingPackages();

  CommandResult rerun = p.Run();
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_EQ(rerun.out.find("Note: finishing"), std::string::npos) << Describe(rerun);
  // file_max_items = 1000: the package has several load jobs.
  EXPECT_NE(rerun.out.find("events: 5000 row(s), 5 file(s)"), std::string::npos) << Describe(rerun);
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id) FROM ds.events"), "5000|5000");
  p.ExpectLoads(1);
  p.ExpectNoPendingPackages();
}

INSTANTIATE_TEST_SUITE_P(CrashSafety, CrashSafetyExtract,
                         ::testing::Values("extract.after_file", "extract.after_file:4"),
                         [](const auto& info) { return ParamName(info.param); });

// ---------------------------------------------------------------------------------------------
// Replace: a killed replace never leaves the table empty or half replaced.

struct ReplaceCase {
  std::string fault_point;
  bool replaced_before_kill;  // the kill comes after the replace was committed
};

void PrintTo(const ReplaceCase& c, std::ostream* os) { *os << c.fault_point; }

class CrashSafetyReplace : public ::testing::TestWithParam<ReplaceCase> {};

TEST_P(CrashSafetyReplace, TableIsReplacedAtomically) {
  const ReplaceCase& c = GetParam();
  CrashProject p("replace");
  p.WriteCsv(3000);
  CommandResult first = p.Run();
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ds.events"),
            "3000|3000|0|2999");

  // New ids 100000..103999, so old and new rows are told apart.
  p.WriteCsv(4000, 100000);
  CommandResult killed = p.Run(c.fault_point);
  ASSERT_EQ(killed.exit_code, kKilledExitCode) << Describe(killed);
  if (c.replaced_before_kill) {
    EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ds.events"),
              "4000|4000|100000|103999");
  } else {
    EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ds.events"),
              "3000|3000|0|2999");
    p.ExpectLoads(1);
  }

  CommandResult rerun = p.Run();
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_NE(rerun.out.find("Note: finishing 1 pending package"), std::string::npos)
      << Describe(rerun);
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ds.events"),
            "4000|4000|100000|103999");
  // Only the last package's rows remain.
  EXPECT_EQ(p.Scalar("SELECT count(DISTINCT _dlt_load_id) FROM ds.events"), "1");
  EXPECT_EQ(p.Scalar("SELECT max(load_id) FROM ds._dlt_loads"),
            p.Scalar("SELECT min(_dlt_load_id) FROM ds.events"));
  p.ExpectLoads(3);
  p.ExpectNoPendingPackages();
}

INSTANTIATE_TEST_SUITE_P(CrashSafety, CrashSafetyReplace,
                         ::testing::Values(ReplaceCase{"normalize.before_commit", false},
                                           ReplaceCase{"load.after_job_commit:2", false},
                                           ReplaceCase{"load.after_job", false},
                                           ReplaceCase{"load.after_job:3", false},
                                           ReplaceCase{"load.before_complete", false},
                                           ReplaceCase{"load.after_complete", true}),
                         [](const auto& info) { return ParamName(info.param.fault_point); });

// ---------------------------------------------------------------------------------------------
// Runs killed again while they finish the pending package of an earlier killed run.

TEST(CrashSafety, RepeatedKillsWhileFinishingPendingPackage) {
  CrashProject p;
  p.WriteCsv(5000);
  for (const char* point : {"normalize.after_file:2", "load.after_job_commit:2",
                            "load.after_job_commit:2", "load.after_complete"}) {
    CommandResult killed = p.Run(point);
    ASSERT_EQ(killed.exit_code, kKilledExitCode) << point << "\n" << Describe(killed);
  }
  // Every kill hit the first package: nothing else was extracted.
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id) FROM ds.events"), "5000|5000");
  p.ExpectLoads(1);

  CommandResult rerun = p.Run();
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_NE(rerun.out.find("Note: finishing 1 pending package"), std::string::npos)
      << Describe(rerun);
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id) FROM ds.events"), "10000|5000");
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM (SELECT id, count(*) c FROM ds.events GROUP BY id "
                     "HAVING c <> 2)"),
            "0");
  p.ExpectLoads(2);
  p.ExpectNoPendingPackages();
}

TEST(CrashSafety, RepeatedKillsDuringReplace) {
  CrashProject p("replace");
  p.WriteCsv(3000);
  CommandResult first = p.Run();
  ASSERT_EQ(first.exit_code, 0) << Describe(first);

  p.WriteCsv(4000, 100000);
  for (const char* point :
       {"load.after_job_commit:2", "load.after_job:1", "load.before_complete"}) {
    CommandResult killed = p.Run(point);
    ASSERT_EQ(killed.exit_code, kKilledExitCode) << point << "\n" << Describe(killed);
    EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ds.events"),
              "3000|3000|0|2999")
        << point;
  }
  CommandResult rerun = p.Run();
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ds.events"),
            "4000|4000|100000|103999");
  p.ExpectLoads(3);
  p.ExpectNoPendingPackages();
}

// ---------------------------------------------------------------------------------------------
// drop-pending-packages throws the pending package away; the next run loads the data once.

TEST(CrashSafety, DropPendingPackagesAfterKilledNormalize) {
  CrashProject p;
  p.WriteCsv(5000);

  CommandResult killed = p.Run("normalize.before_commit");
  ASSERT_EQ(killed.exit_code, kKilledExitCode) << Describe(killed);
  CommandResult info = p.PipelineCommand("info");
  ASSERT_EQ(info.exit_code, 0) << Describe(info);
  EXPECT_NE(info.out.find("Pending packages: 1 package"), std::string::npos) << info.out;

  CommandResult drop = p.PipelineCommand("drop-pending-packages");
  ASSERT_EQ(drop.exit_code, 0) << Describe(drop);
  EXPECT_NE(drop.out.find("Dropped 1 pending package(s) of pipeline crash"), std::string::npos)
      << Describe(drop);
  p.ExpectNoPendingPackages();

  CommandResult again = p.PipelineCommand("drop-pending-packages");
  ASSERT_EQ(again.exit_code, 0) << Describe(again);
  EXPECT_NE(again.out.find("has no pending packages"), std::string::npos) << Describe(again);

  CommandResult rerun = p.Run();
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_EQ(rerun.out.find("Note: finishing"), std::string::npos) << Describe(rerun);
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id) FROM ds.events"), "5000|5000");
  p.ExpectLoads(1);
  p.ExpectNoPendingPackages();
}

// Dropping a package whose jobs were partly loaded does not roll the destination back (as in
// dlt): the rows of its committed append jobs stay, but no _dlt_loads row ever names them.
TEST(CrashSafety, DropPendingPackagesAfterPartialAppendLoad) {
  CrashProject p;
  p.WriteCsv(5000);
  CommandResult killed = p.Run("load.after_job_commit:2");
  ASSERT_EQ(killed.exit_code, kKilledExitCode) << Describe(killed);
  int orphans = std::stoi(p.Scalar("SELECT count(*) FROM ds.events"));
  EXPECT_GE(orphans, 2000);
  EXPECT_LT(orphans, 5000);

  CommandResult drop = p.PipelineCommand("drop-pending-packages");
  ASSERT_EQ(drop.exit_code, 0) << Describe(drop);
  CommandResult rerun = p.Run();
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_EQ(rerun.out.find("Note: finishing"), std::string::npos) << Describe(rerun);

  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id) FROM ds.events WHERE _dlt_load_id IN "
                  "(SELECT load_id FROM ds._dlt_loads)"),
            "5000|5000");
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.events WHERE _dlt_load_id NOT IN "
                     "(SELECT load_id FROM ds._dlt_loads)"),
            std::to_string(orphans));
  EXPECT_EQ(p.Row("SELECT count(*), min(status) FROM ds._dlt_loads"), "1|0");
  p.ExpectNoPendingPackages();
}

// A replace package dropped in the middle of its load leaves the old rows in place, and its
// half-filled staging table does not leak into the next replace.
TEST(CrashSafety, DropPendingPackagesAfterPartialReplaceLoad) {
  CrashProject p("replace");
  p.WriteCsv(3000);
  CommandResult first = p.Run();
  ASSERT_EQ(first.exit_code, 0) << Describe(first);

  p.WriteCsv(4000, 100000);
  CommandResult killed = p.Run("load.after_job:2");
  ASSERT_EQ(killed.exit_code, kKilledExitCode) << Describe(killed);
  CommandResult drop = p.PipelineCommand("drop-pending-packages");
  ASSERT_EQ(drop.exit_code, 0) << Describe(drop);
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ds.events"),
            "3000|3000|0|2999");

  p.WriteCsv(2500, 200000);
  CommandResult rerun = p.Run();
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_EQ(rerun.out.find("Note: finishing"), std::string::npos) << Describe(rerun);
  EXPECT_EQ(p.Row("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ds.events"),
            "2500|2500|200000|202499");
  p.ExpectLoads(2);
  p.ExpectNoPendingPackages();
}

}  // namespace
}  // namespace cdlt::test
