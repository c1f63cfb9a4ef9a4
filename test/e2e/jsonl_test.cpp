// End-to-end: JSON documents (JSONL files and a C++ resource yielding pages) through the
// relational normalizer into a real DuckDB file.

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cdlt/cdlt.hpp"
#include "helpers/test_util.hpp"
#include "io/file.hpp"
#include "io/text_stream.hpp"

namespace cdlt::test {
namespace {

/// A GitHub-issue-like document: nested user, labels (list of objects), reactions (object with
/// keys like "+1"), assignees (list of objects), and a body with unicode and escapes.
nlohmann::ordered_json Issue(int id) {
  nlohmann::ordered_json labels = nlohmann::ordered_json::array();
  for (int l = 0; l < id % 4; ++l) {
    labels.push_back(
        {{"id", 1000 + l}, {"name", "label-" + std::to_string(l)}, {"default", l == 0}});
  }
  nlohmann::ordered_json assignees = nlohmann::ordered_json::array();
  for (int a = 0; a < id % 3; ++a) {
    assignees.push_back({{"login", "dev" + std::to_string(a)}, {"id", 500 + a}});
  }
  return {
      {"id", id},
      {"number", id * 10},
      {"title", "Issue " + std::to_string(id) + " — ünïcödé"},
      {"state", id % 5 == 0 ? "closed" : "open"},
      {"created_at", "2024-03-0" + std::to_string(1 + id % 9) + "T10:11:12Z"},
      {"user", {{"login", "user" + std::to_string(id % 7)}, {"id", id % 7}, {"site_admin", false}}},
      {"labels", labels},
      {"reactions", {{"total_count", id % 11}, {"+1", id % 3}, {"-1", 0}, {"heart", 1}}},
      {"assignees", assignees},
      {"body", id % 6 == 0 ? nlohmann::ordered_json(nullptr)
                           : nlohmann::ordered_json("line1\nline2 \"q\"")}};
}

std::string IssuesJsonl(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i) out += Issue(i).dump() + "\n";
  return out;
}

/// A project whose filesystem source reads data/issues/*.jsonl* into table `issues`.
class JsonProject {
 public:
  explicit JsonProject(const std::string& extra_toml = "", const std::string& table_toml = "") {
    WriteText(dir_ / ".dlt/config.toml",
              DuckDbPipelineToml(dir_.path(), "gh", "filesystem") +
                  fmt::format(R"([sources.filesystem.issues]
bucket_url = "{0}/data/issues"
file_glob = "*.jsonl*"
{2}
{1}
)",
                              dir_.path().string(), extra_toml, table_toml));
  }
  CommandResult Run(const std::map<std::string, std::string>& env = {}) const {
    return RunCli({"run"}, dir_.path(), env);
  }
  fs::path data() const { return dir_ / "data/issues"; }
  fs::path db() const { return dir_ / "out.duckdb"; }
  fs::path pipeline_dir() const { return dir_ / "pipelines/gh"; }
  std::string Scalar(const std::string& sql) const { return QueryDuckScalar(db(), sql); }
  std::vector<std::string> Columns(const std::string& table) const {
    return QueryDuck(db(), fmt::format("SELECT column_name || ' ' || data_type FROM "
                                       "information_schema.columns WHERE table_schema = 'ds' AND "
                                       "table_name = '{}' ORDER BY ordinal_position",
                                       table));
  }

 private:
  TempDir dir_;
};

TEST(JsonlE2E, GithubIssuesBecomeRootAndNestedTablesJoinableByParentId) {
  JsonProject p("[normalize]\nworkers = 2\n[data_writer]\nfile_max_items = 300\n");
  // Three files, three encodings; 1000 issues in all.
  WriteText(p.data() / "a.jsonl", IssuesJsonl(0, 400));
  WriteGzip(p.data() / "b.jsonl.gz", IssuesJsonl(400, 300));
  WriteZstd(p.data() / "c.jsonl.zst", IssuesJsonl(700, 300));
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  EXPECT_EQ(p.Scalar("SELECT count(*) || '/' || count(DISTINCT id) || '/' || sum(id) FROM "
                     "ds.issues"),
            "1000/1000/499500");
  // Nested objects are flattened with "__" ("+1" becomes x1, "-1" _1). Column order is dlt's
  // traversal order: the document's scalars first, then its sub-objects, last one first; jobs are
  // normalized in the order they were written, so the order is the same on every run.
  std::vector<std::string> expected = {
      "id BIGINT",
      "number BIGINT",
      "title VARCHAR",
      "state VARCHAR",
      "created_at TIMESTAMP WITH TIME ZONE",
      "reactions__total_count BIGINT",
      "reactions__x1 BIGINT",
      "reactions___1 BIGINT",
      "reactions__heart BIGINT",
      "user__login VARCHAR",
      "user__id BIGINT",
      "user__site_admin BOOLEAN",
      "_dlt_load_id VARCHAR",
      "_dlt_id VARCHAR",
      "body VARCHAR",  // null in the first document: added when first seen with a value
  };
  EXPECT_EQ(p.Columns("issues"), expected);
  EXPECT_EQ(p.Scalar("SELECT title || '|' || user__login || '|' || reactions__total_count || '|' "
                     "|| body FROM ds.issues WHERE id = 13"),
            "Issue 13 — ünïcödé|user6|2|line1\nline2 \"q\"");
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues WHERE body IS NULL"), "167");

  // Lists become nested tables linked by _dlt_parent_id → issues._dlt_id.
  int expected_labels = 0, expected_assignees = 0;
  for (int i = 0; i < 1000; ++i) {
    expected_labels += i % 4;
    expected_assignees += i % 3;
  }
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues__labels"), std::to_string(expected_labels));
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues__labels l JOIN ds.issues i ON "
                     "l._dlt_parent_id = i._dlt_id"),
            std::to_string(expected_labels));
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues__assignees a JOIN ds.issues i ON "
                     "a._dlt_parent_id = i._dlt_id"),
            std::to_string(expected_assignees));
  // The labels of issue 7 are label-0, label-1, label-2, in list order.
  EXPECT_EQ(p.Scalar("SELECT string_agg(l.name, ',' ORDER BY l._dlt_list_idx) FROM "
                     "ds.issues__labels l JOIN ds.issues i ON l._dlt_parent_id = i._dlt_id "
                     "WHERE i.id = 7"),
            "label-0,label-1,label-2");
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues__labels WHERE _dlt_id IS NULL OR "
                     "_dlt_list_idx IS NULL"),
            "0");
  // One package, recorded in _dlt_loads; the schema with the nested tables in _dlt_version.
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds._dlt_loads"), "1");
  EXPECT_NE(p.Scalar("SELECT schema FROM ds._dlt_version ORDER BY version DESC LIMIT 1")
                .find("issues__assignees"),
            std::string::npos);
}

TEST(JsonlE2E, MalformedLineStopsNamingFileAndLineAndLoadsNothingOfThePackage) {
  JsonProject p;
  std::string text = IssuesJsonl(0, 5) + "{\"id\": 5, \"title\": \"broken\"\n" + IssuesJsonl(6, 3);
  WriteText(p.data() / "bad.jsonl", text);
  auto r = p.Run();
  EXPECT_NE(r.exit_code, 0);
  std::string all = r.out + r.err;
  EXPECT_NE(all.find((p.data() / "bad.jsonl").string()), std::string::npos) << all;
  EXPECT_NE(all.find("line 6"), std::string::npos) << all;
  EXPECT_NE(all.find("malformed JSON"), std::string::npos) << all;
  // Nothing of the package reached the destination: no table of it (root or nested), no load
  // recorded. The run opens the destination before it extracts (a bad destination fails before
  // any work), so the file is there to look into; _dlt_loads need not exist yet.
  ASSERT_TRUE(fs::exists(p.db()));
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE "
                     "'issues%'"),
            "0");
  if (p.Scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ds' AND "
               "table_name = '_dlt_loads'") != "0") {
    EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds._dlt_loads"), "0");
  }
}

TEST(JsonlE2E, RejectModeLoadsGoodLinesAndWritesBadOnesToTheRejectsFile) {
  JsonProject p("[normalize]\non_bad_line = \"reject\"\n");
  std::string text = IssuesJsonl(0, 3) + "not json at all\n" + IssuesJsonl(3, 3) +
                     "{\"id\": \"\xff\xfe\"}\n" + IssuesJsonl(6, 2);
  WriteText(p.data() / "mixed.jsonl", text);
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues"), "8");
  // The rejects file names the source file and line of each bad document.
  std::vector<nlohmann::json> rejects;
  for (const auto& entry : fs::recursive_directory_iterator(p.pipeline_dir() / "rejects")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) rejects.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0]["line"], 4);
  EXPECT_EQ(rejects[0]["text"], "not json at all");
  EXPECT_EQ(rejects[0]["file"], (p.data() / "mixed.jsonl").string());
  EXPECT_EQ(rejects[1]["line"], 8);
  EXPECT_NE(rejects[1]["error"].get<std::string>().find("UTF-8"), std::string::npos);
  // The trace counts them.
  auto trace = nlohmann::json::parse(io::ReadFile(p.pipeline_dir() / "trace.json"));
  int64_t rejected = 0;
  for (const auto& step : trace["steps"]) {
    if (step["step"] == "normalize") rejected = step["tables"]["issues"].value("rejected", 0);
  }
  EXPECT_EQ(rejected, 2);
}

TEST(JsonlE2E, SchemaEvolvesAcrossRunsWithNewColumnsAndVariants) {
  JsonProject p;
  WriteText(p.data() / "1.jsonl", "{\"id\": 1, \"score\": 10}\n{\"id\": 2, \"score\": 20}\n");
  ASSERT_EQ(p.Run().exit_code, 0);
  fs::remove(p.data() / "1.jsonl");
  // Run 2: a new column, and a value that does not fit bigint → variant column.
  WriteText(p.data() / "2.jsonl",
            "{\"id\": 3, \"score\": \"high\", \"tags\": [\"a\", \"b\"], \"extra\": true}\n");
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues"), "3");
  EXPECT_EQ(p.Scalar("SELECT score__v_text || '/' || extra FROM ds.issues WHERE id = 3"),
            "high/true");
  EXPECT_EQ(p.Scalar("SELECT sum(score) FROM ds.issues"), "30");
  EXPECT_EQ(p.Scalar("SELECT string_agg(value, ',' ORDER BY _dlt_list_idx) FROM "
                     "ds.issues__tags"),
            "a,b");
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds._dlt_version"), "2");
}

TEST(JsonlE2E, ParallelWorkersDisagreeingOnANewColumnEndDeterministically) {
  // File a (first in job order) makes `v` text; file b would make it bigint. With two workers b
  // is normalized again against the merged schema, so `v` is text and b's ints stay visible.
  for (int attempt = 0; attempt < 2; ++attempt) {
    JsonProject p("[normalize]\nworkers = 2\n");
    WriteText(p.data() / "a.jsonl", "{\"id\": 1, \"v\": \"x\"}\n");
    WriteText(p.data() / "b.jsonl", "{\"id\": 2, \"v\": 5}\n{\"id\": 3, \"v\": 6}\n");
    auto r = p.Run();
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto cols = p.Columns("issues");
    EXPECT_NE(std::find(cols.begin(), cols.end(), "v VARCHAR"), cols.end());
    EXPECT_EQ(p.Scalar("SELECT string_agg(v, ',' ORDER BY id) FROM ds.issues"), "x,5,6");
  }
}

TEST(JsonlE2E, MergeOnPrimaryKeyReplacesNestedRowsOfUpdatedDocuments) {
  JsonProject p("", "write_disposition = \"merge\"\nprimary_key = [\"id\"]\n");
  WriteText(p.data() / "d.jsonl", IssuesJsonl(0, 20));
  ASSERT_EQ(p.Run().exit_code, 0);
  // Issue 7 loses its labels but one; issue 25 is new.
  nlohmann::ordered_json seven = Issue(7);
  seven["labels"] =
      nlohmann::ordered_json::array({{{"id", 9}, {"name", "only"}, {"default", false}}});
  WriteText(p.data() / "d.jsonl", seven.dump() + "\n" + Issue(25).dump() + "\n");
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(p.Scalar("SELECT count(*) || '/' || count(DISTINCT id) FROM ds.issues"), "21/21");
  EXPECT_EQ(p.Scalar("SELECT string_agg(l.name, ',') FROM ds.issues__labels l JOIN ds.issues i "
                     "ON l._dlt_parent_id = i._dlt_id WHERE i.id = 7"),
            "only");
  int expected = 0;
  for (int i = 0; i < 20; ++i) expected += i == 7 ? 1 : i % 4;
  expected += 25 % 4;
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues__labels"), std::to_string(expected));
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues__labels l LEFT JOIN ds.issues i ON "
                     "l._dlt_parent_id = i._dlt_id WHERE i._dlt_id IS NULL"),
            "0");
}

TEST(JsonlE2E, FrozenColumnsStopTheRunNamingTableColumnAndType) {
  JsonProject p("", "schema_contract = { columns = \"freeze\" }\nmax_table_nesting = 1\n");
  WriteText(p.data() / "1.jsonl", "{\"id\": 1, \"deep\": {\"a\": {\"b\": 1}}}\n");
  auto first = p.Run();
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  // max_table_nesting = 1: the object below the first level stays JSON.
  auto cols = p.Columns("issues");
  EXPECT_NE(std::find(cols.begin(), cols.end(), "deep__a JSON"), cols.end())
      << ::testing::PrintToString(cols);
  WriteText(p.data() / "1.jsonl", "{\"id\": 2, \"surprise\": 3.5}\n");
  auto r = p.Run();
  EXPECT_NE(r.exit_code, 0);
  std::string all = r.out + r.err;
  EXPECT_NE(all.find("table issues column surprise (value of type double): new column "
                     "(columns: freeze)"),
            std::string::npos)
      << all;
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues"), "1");
}

TEST(JsonlE2E, InsertOnlyKeepsFirstDocumentsAndTheirNestedRows) {
  JsonProject p("", R"(write_disposition = { disposition = "merge", strategy = "insert-only" }
primary_key = ["id"]
)");
  WriteText(p.data() / "d.jsonl", IssuesJsonl(0, 6));
  auto first = p.Run();
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  // Issue 3 again with other and more labels (all ignored: its key exists; nested ids come from
  // the key, so the 4th and 5th would be new ids), issue 7 new.
  nlohmann::ordered_json three = Issue(3);
  three["labels"] = nlohmann::ordered_json::array();
  for (int i = 0; i < 5; ++i) three["labels"].push_back({{"id", i}, {"name", "ignored"}});
  WriteText(p.data() / "d.jsonl", three.dump() + "\n" + Issue(7).dump() + "\n");
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(p.Scalar("SELECT count(*) || '/' || count(DISTINCT id) FROM ds.issues"), "7/7");
  EXPECT_EQ(p.Scalar("SELECT string_agg(l.name, ',' ORDER BY l._dlt_list_idx) FROM "
                     "ds.issues__labels l JOIN ds.issues i ON l._dlt_root_id = i._dlt_id WHERE "
                     "i.id = 3"),
            "label-0,label-1,label-2");
  int expected = 0;
  for (int i : {0, 1, 2, 3, 4, 5, 7}) expected += i % 4;
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues__labels"), std::to_string(expected));
}

TEST(JsonlE2E, UpsertUpdatesNestedRowsByIdAndHardDeleteRemovesThem) {
  JsonProject p("", R"(write_disposition = { disposition = "merge", strategy = "upsert" }
primary_key = ["id"]
columns = { deleted = { hard_delete = true, data_type = "bool" } }
)");
  WriteText(p.data() / "d.jsonl", IssuesJsonl(0, 12));
  auto first = p.Run();
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  nlohmann::ordered_json three = Issue(3);  // had labels 0, 1, 2
  three["labels"] = nlohmann::ordered_json::array({{{"id", 1}, {"name", "renamed"}}});
  nlohmann::ordered_json five = Issue(5);
  five["deleted"] = true;
  WriteText(p.data() / "d.jsonl", three.dump() + "\n" + five.dump() + "\n");
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(p.Scalar("SELECT count(*) || '/' || count(*) FILTER (WHERE id = 5) FROM ds.issues"),
            "11/0");
  EXPECT_EQ(p.Scalar("SELECT string_agg(l.name, ',') FROM ds.issues__labels l JOIN ds.issues i "
                     "ON l._dlt_root_id = i._dlt_id WHERE i.id = 3"),
            "renamed");
  // No orphans: every nested row belongs to a root row.
  for (const char* nested : {"issues__labels", "issues__assignees"}) {
    EXPECT_EQ(p.Scalar(fmt::format("SELECT count(*) FROM ds.{} n LEFT JOIN ds.issues i ON "
                                   "n._dlt_root_id = i._dlt_id WHERE i._dlt_id IS NULL",
                                   nested)),
              "0")
        << nested;
  }
}

TEST(JsonlE2E, Scd2KeepsNestedRowsOfEveryVersion) {
  JsonProject p("", "write_disposition = { disposition = \"merge\", strategy = \"scd2\" }\n");
  WriteText(p.data() / "d.jsonl", Issue(1).dump() + "\n" + Issue(2).dump() + "\n");
  auto first = p.Run();
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  // A new version of issue 1 (title and labels changed); issue 2 unchanged. dlt's row hash is
  // taken over the whole document, nested lists included (checked below).
  nlohmann::ordered_json changed = Issue(1);
  changed["title"] = "renamed";
  changed["labels"] = nlohmann::ordered_json::array({{{"id", 9}, {"name", "v2"}}});
  WriteText(p.data() / "d.jsonl", changed.dump() + "\n" + Issue(2).dump() + "\n");
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Issue 1 has a retired and an active version; issue 2 one unchanged version.
  EXPECT_EQ(p.Scalar("SELECT count(*) || '/' || count(*) FILTER (WHERE _dlt_valid_to IS NULL) FROM "
                     "ds.issues"),
            "3/2");
  EXPECT_EQ(p.Scalar("SELECT string_agg(l.name, ',') FROM ds.issues__labels l JOIN ds.issues i ON "
                     "l._dlt_parent_id = i._dlt_id WHERE i.id = 1 AND i._dlt_valid_to IS NULL"),
            "v2");
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues__labels l JOIN ds.issues i ON "
                     "l._dlt_parent_id = i._dlt_id WHERE i.id = 1 AND i._dlt_valid_to IS NOT NULL"),
            "1");
  EXPECT_EQ(p.Scalar("SELECT count(*) FROM ds.issues__labels l LEFT JOIN ds.issues i ON "
                     "l._dlt_parent_id = i._dlt_id WHERE i._dlt_id IS NULL"),
            "0");

  // Only issue 2's labels change: that too is a new version of it (issue 1 is unchanged).
  nlohmann::ordered_json relabelled = Issue(2);
  relabelled["labels"] = nlohmann::ordered_json::array({{{"id", 8}, {"name", "other"}}});
  WriteText(p.data() / "d.jsonl", changed.dump() + "\n" + relabelled.dump() + "\n");
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(p.Scalar("SELECT count(*) || '/' || count(*) FILTER (WHERE _dlt_valid_to IS NULL) FROM "
                     "ds.issues"),
            "4/2");
  EXPECT_EQ(p.Scalar("SELECT string_agg(l.name, ',') FROM ds.issues__labels l JOIN ds.issues i ON "
                     "l._dlt_parent_id = i._dlt_id WHERE i.id = 2 AND i._dlt_valid_to IS NULL"),
            "other");
}

TEST(JsonlE2E, WidenInPlaceAltersABigintColumnInsteadOfAddingAVariant) {
  JsonProject p("[schema]\nwiden_in_place = true\n");
  WriteText(p.data() / "1.jsonl", "{\"id\": 1, \"score\": 10}\n");
  ASSERT_EQ(p.Run().exit_code, 0);
  WriteText(p.data() / "1.jsonl", "{\"id\": 2, \"score\": 2.5}\n");
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto cols = p.Columns("issues");
  EXPECT_NE(std::find(cols.begin(), cols.end(), "score DOUBLE"), cols.end())
      << ::testing::PrintToString(cols);
  EXPECT_EQ(std::find(cols.begin(), cols.end(), "score__v_double DOUBLE"), cols.end());
  EXPECT_EQ(p.Scalar("SELECT string_agg(score::VARCHAR, ',' ORDER BY id) FROM ds.issues"),
            "10.0,2.5");
}

TEST(JsonlE2E, DuckCaseNamingKeepsCaseAndSpaces) {
  JsonProject p("[schema]\nnaming = \"duck_case\"\n");
  WriteText(p.data() / "1.jsonl", "{\"User Id\": 1, \"Nested\": {\"Inner Key\": \"x\"}}\n");
  auto r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(p.Scalar("SELECT \"User Id\" || \"Nested__Inner Key\" FROM ds.issues"), "1x");
}

TEST(JsonlE2E, CppResourceYieldsPagesOfDocumentsAndBuilderValues) {
  TempDir dir;
  PipelineOptions options;
  options.pipeline_name = "json_api";
  options.pipelines_dir = dir / "pipelines";
  options.project_dir = dir.path();
  options.progress = ProgressMode::kNone;
  Pipeline pipeline = Pipeline::Create(options);
  Source source{"api", {}};
  Resource events("Events", [](Emitter& out) {
    for (int page = 0; page < 10; ++page) {
      // A page as pretty-printed text: line breaks are whitespace in JSON.
      nlohmann::json items = nlohmann::json::array();
      for (int i = 0; i < 50; ++i) {
        int id = page * 50 + i;
        items.push_back({{"Event ID", id}, {"payload", {{"kind", "k" + std::to_string(id % 3)}}}});
      }
      if (!out.EmitJson(items.dump(2))) return;
    }
  });
  events.add_limit(4).max_table_nesting(0);
  Resource single("single", [](Emitter& out) {
    out.EmitJsonValue({{"a", 1}, {"list", {1, 2, 3}}});
  });
  source.resources.push_back(events);
  source.resources.push_back(single);
  LoadInfo info = pipeline.Run(source);
  EXPECT_FALSE(info.has_failed_jobs);
  fs::path db = dir / "json_api.duckdb";
  EXPECT_EQ(QueryDuckScalar(db,
                            "SELECT count(*) || '/' || max(event_id) FROM "
                            "json_api_dataset.events"),
            "200/199");
  // max_table_nesting = 0: the nested object stays JSON in one column.
  EXPECT_EQ(QueryDuckScalar(db,
                            "SELECT data_type FROM information_schema.columns WHERE "
                            "table_name = 'events' AND column_name = 'payload'"),
            "JSON");
  EXPECT_EQ(QueryDuckScalar(db, "SELECT count(*) FROM json_api_dataset.single__list"), "3");
}

}  // namespace
}  // namespace cdlt::test
