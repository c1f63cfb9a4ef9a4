// Data-driven conformance tests of the relational normalizer: every case in
// test/data/normalize/*.json (reference conformance-cases.md sections B-E) runs here.
//
// A case: {"name", "table", "mode": item|document|jsonl, "input": [items] or "input_text",
//   "seed": [items normalized and merged first (an earlier load)], "hints": {...},
//   "options": {...}, "settings": {...}, "normalizers_config": {...},
//   "expect": {"tables": [{"name", "parent", "columns": [[name, type, flags...]],
//   "rows": [[...]], "row_count"}], "error": {"kind", "contains"}, "table_json": {...},
//   "stats": {...}}}.
// Row tokens: "$L" load id; "$rnd" a random 14-char id; "$ref:N" the value bound to N;
// "$child:N:table:idx" the nested row id of parent N; "$any" anything not null; a token suffix
// ">N" binds the actual value to N.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "normalize/relational/relational_normalizer.hpp"
#include "normalize/relational/value_convert.hpp"
#include "schema/digest.hpp"

namespace cdlt::normalize::relational {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using OJson = nlohmann::ordered_json;

constexpr const char* kLoadId = "1700000000.123456";

struct GoldenCase {
  std::string file;
  Json spec;
};

void PrintTo(const GoldenCase& c, std::ostream* os) {
  *os << c.file << ": " << c.spec.value("name", "?");
}

std::vector<GoldenCase> LoadCases() {
  std::vector<GoldenCase> cases;
  fs::path dir = fs::path(CDLT_SOURCE_DIR) / "test" / "data" / "normalize";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file);
    Json doc = Json::parse(in);
    for (const Json& c : doc) cases.push_back({file.filename().string(), c});
  }
  return cases;
}

// Render one cell of a batch as JSON, the way the expectations are written.
Json CellJson(const Batch& batch, size_t col, size_t row) {
  const Column& column = batch.column(col);
  if (!column.IsValid(row)) return nullptr;
  switch (column.type().id) {
    case PhysicalType::kInt64:
      return column.Get<int64_t>(row);
    case PhysicalType::kDouble:
      return column.Get<double>(row);
    case PhysicalType::kBool:
      return column.Get<uint8_t>(row) != 0;
    case PhysicalType::kText:
      return std::string(column.GetString(row));
    case PhysicalType::kJson:
      return Json::parse(column.GetString(row));
    case PhysicalType::kBinary:
      return schema::Base64Encode(column.GetString(row));
    case PhysicalType::kTimestampTz:
      return FormatTimestamp(column.Get<int64_t>(row), true);
    case PhysicalType::kTimestamp:
      return FormatTimestamp(column.Get<int64_t>(row), false);
    case PhysicalType::kDate:
      return FormatDate(column.Get<int32_t>(row));
    case PhysicalType::kTime:
      return FormatTime(column.Get<int64_t>(row));
    case PhysicalType::kDecimal:
      return DecimalToText(column.Get<__int128>(row), column.type().scale);
    default:
      return "<unsupported>";
  }
}

std::vector<std::string> ColumnFlags(const schema::Column& c) {
  std::vector<std::string> flags;
  if (!c.nullable) flags.push_back("not_null");
  if (c.primary_key) flags.push_back("primary_key");
  if (c.unique) flags.push_back("unique");
  if (c.row_key) flags.push_back("row_key");
  if (c.parent_key) flags.push_back("parent_key");
  if (c.root_key) flags.push_back("root_key");
  if (c.variant) flags.push_back("variant");
  return flags;
}

Json DescribeColumn(const schema::Column& c) {
  Json out = Json::array({c.name, c.data_type ? std::string(DataTypeName(*c.data_type)) : "-"});
  for (const std::string& flag : ColumnFlags(c)) out.push_back(flag);
  return out;
}

struct Collected {
  std::vector<std::string> order;
  std::map<std::string, std::vector<Batch>> batches;
};

RootTableSpec MakeSpec(const Json& spec) {
  RootTableSpec root;
  root.table_name = spec.at("table").get<std::string>();
  const Json hints = spec.value("hints", Json::object());
  if (hints.contains("write_disposition")) {
    root.hints.write_disposition = hints["write_disposition"].get<std::string>();
  }
  if (hints.contains("primary_key")) {
    root.hints.primary_key = hints["primary_key"].get<std::vector<std::string>>();
  }
  if (hints.contains("merge_strategy")) {
    root.merge_strategy = ParseMergeStrategy(hints["merge_strategy"].get<std::string>());
  }
  if (hints.contains("max_table_nesting")) {
    root.max_table_nesting = hints["max_table_nesting"].get<int>();
  }
  if (hints.contains("root_key_propagation")) {
    root.root_key_propagation = hints["root_key_propagation"].get<bool>();
  }
  if (hints.contains("schema_contract")) {
    root.schema_contract = SchemaContract::FromJson(hints["schema_contract"]);
  }
  for (const Json& c : hints.value("columns", Json::array())) {
    ColumnHint hint;
    hint.name = c.at("name").get<std::string>();
    if (c.contains("data_type")) hint.data_type = c["data_type"].get<std::string>();
    if (c.contains("nullable")) hint.nullable = c["nullable"].get<bool>();
    if (c.contains("primary_key")) hint.primary_key = c["primary_key"].get<bool>();
    if (c.contains("timezone")) hint.timezone = c["timezone"].get<bool>();
    if (c.contains("precision")) hint.precision = c["precision"].get<int>();
    if (c.contains("scale")) hint.scale = c["scale"].get<int>();
    root.hints.columns.push_back(hint);
  }
  return root;
}

NormalizerOptions MakeOptions(const Json& spec) {
  NormalizerOptions options;
  options.load_id = kLoadId;
  const Json o = spec.value("options", Json::object());
  if (o.contains("max_identifier_length")) {
    options.max_identifier_length = o["max_identifier_length"].get<size_t>();
  }
  options.widen_in_place = o.value("widen_in_place", false);
  options.batch_rows = o.value("batch_rows", size_t{5000});
  options.max_json_depth = o.value("max_json_depth", size_t{1000});
  options.random_seed = 42;
  return options;
}

void Feed(RelationalNormalizer& normalizer, const Json& spec, const std::string& mode,
          const Json& items) {
  if (mode == "jsonl") {
    normalizer.FeedJsonl(spec.at("input_text").get<std::string>());
    return;
  }
  int64_t line = 1;
  for (const Json& item : items) {
    if (mode == "document") {
      normalizer.FeedDocument(item.dump(), line++);
    } else {
      normalizer.FeedItem(item.dump(), line++);
    }
  }
}

class Matcher {
 public:
  // Compare an expected cell (with tokens) to the actual value; bind names.
  ::testing::AssertionResult Match(const Json& expected, const Json& actual) {
    if (!expected.is_string() || expected.get<std::string>().empty() ||
        expected.get<std::string>()[0] != '$') {
      if (expected == actual) return ::testing::AssertionSuccess();
      return ::testing::AssertionFailure()
             << "expected " << expected.dump() << ", got " << actual.dump();
    }
    std::string token = expected.get<std::string>();
    std::string bind;
    if (auto gt = token.find('>'); gt != std::string::npos) {
      bind = token.substr(gt + 1);
      token = token.substr(0, gt);
    }
    Json want;
    if (token == "$L") {
      want = kLoadId;
    } else if (token == "$rnd") {
      static const std::regex kId("^[A-Za-z0-9+/]{14}$");
      if (!actual.is_string() || !std::regex_match(actual.get<std::string>(), kId)) {
        return ::testing::AssertionFailure() << "expected a random id, got " << actual.dump();
      }
      want = actual;
    } else if (token == "$any") {
      if (actual.is_null()) return ::testing::AssertionFailure() << "expected a value, got null";
      want = actual;
    } else if (token.rfind("$ref:", 0) == 0) {
      std::string name = token.substr(5);
      if (!bound_.count(name)) return ::testing::AssertionFailure() << "unbound " << name;
      want = bound_[name];
    } else if (token.rfind("$child:", 0) == 0) {
      std::vector<std::string> parts;
      std::stringstream ss(token.substr(7));
      for (std::string part; std::getline(ss, part, ':');) parts.push_back(part);
      if (parts.size() != 3 || !bound_.count(parts[0])) {
        return ::testing::AssertionFailure() << "bad token " << token;
      }
      want = NestedRowId(bound_[parts[0]].get<std::string>(), parts[1], std::stoll(parts[2]));
    } else {
      return ::testing::AssertionFailure() << "unknown token " << token;
    }
    if (want != actual) {
      return ::testing::AssertionFailure()
             << token << ": expected " << want.dump() << ", got " << actual.dump();
    }
    if (!bind.empty()) bound_[bind] = actual;
    return ::testing::AssertionSuccess();
  }

 private:
  std::map<std::string, Json> bound_;
};

class RelationalGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(RelationalGolden, Case) {
  const Json& spec = GetParam().spec;
  const std::string mode = spec.value("mode", "item");
  schema::Schema live = schema::Schema::New("golden");
  const Json settings = spec.value("settings", Json::object());
  for (const auto& [key, value] : settings.items()) {
    live.settings()[key] = value;
  }
  if (spec.contains("normalizers_config")) {
    live.normalizers()["json"]["config"] = spec["normalizers_config"];
  }

  // An earlier load, normalized with the same hints but without the contract.
  if (spec.contains("seed")) {
    Json seed_spec = spec;
    if (seed_spec.contains("hints")) seed_spec["hints"].erase("schema_contract");
    if (spec.contains("seed_table")) seed_spec["table"] = spec["seed_table"];
    RelationalNormalizer seed(live, MakeSpec(seed_spec), MakeOptions(spec),
                              [](const std::string&, Batch) {});
    for (const Json& item : spec["seed"]) seed.FeedItem(item.dump());
    seed.Flush();
    MergeOutcome merged = MergeSchemaUpdate(live, seed.TakeSchemaUpdate());
    ASSERT_TRUE(merged.merged) << merged.conflict;
  }

  Collected out;
  const Json& expect = spec.at("expect");
  std::optional<Error> error;
  NormalizeStats stats;
  {
    RelationalNormalizer normalizer(live, MakeSpec(spec), MakeOptions(spec),
                                    [&](const std::string& table, Batch batch) {
                                      if (!out.batches.count(table)) out.order.push_back(table);
                                      out.batches[table].push_back(std::move(batch));
                                    });
    try {
      Feed(normalizer, spec, mode, spec.value("input", Json::array()));
      normalizer.Flush();
      MergeOutcome merged = MergeSchemaUpdate(live, normalizer.TakeSchemaUpdate());
      ASSERT_TRUE(merged.merged) << merged.conflict;
    } catch (const Error& e) {
      error = e;
    }
    stats = normalizer.stats();
  }

  if (expect.contains("error")) {
    ASSERT_TRUE(error.has_value()) << "expected an error";
    EXPECT_EQ(std::string(ErrorKindName(error->kind())),
              expect["error"].at("kind").get<std::string>());
    EXPECT_NE(std::string(error->what()).find(expect["error"].at("contains").get<std::string>()),
              std::string::npos)
        << error->what();
  } else {
    ASSERT_FALSE(error.has_value()) << error->what();
  }

  // Tables: the schema's data tables, in order, with columns and parents.
  if (expect.contains("tables")) {
    std::vector<std::string> expected_names, actual_names;
    for (const Json& t : expect["tables"]) expected_names.push_back(t.at("name"));
    for (const schema::Table* t : live.DataTables()) actual_names.push_back(t->name);
    EXPECT_EQ(actual_names, expected_names);
  }
  Matcher matcher;
  for (const Json& t : expect.value("tables", Json::array())) {
    const std::string name = t.at("name");
    SCOPED_TRACE("table " + name);
    const schema::Table* table = live.FindTable(name);
    ASSERT_NE(table, nullptr);
    if (t.contains("parent")) {
      Json parent = table->parent ? Json(*table->parent) : Json(nullptr);
      EXPECT_EQ(parent, t["parent"]);
    }
    std::vector<std::string> column_names;
    if (t.contains("columns")) {
      Json actual = Json::array();
      for (const schema::Column& c : table->columns) actual.push_back(DescribeColumn(c));
      EXPECT_EQ(actual, t["columns"]) << actual.dump();
    }
    for (const schema::Column& c : table->columns) column_names.push_back(c.name);

    // Rows: all batches of the table, cells by column name.
    std::vector<Json> rows;
    for (const Batch& batch : out.batches[name]) {
      for (size_t r = 0; r < batch.num_rows(); ++r) {
        Json row = Json::array();
        for (const std::string& column : column_names) {
          int index = batch.FindColumn(column);
          row.push_back(index < 0 ? Json(nullptr) : CellJson(batch, static_cast<size_t>(index), r));
        }
        rows.push_back(std::move(row));
      }
    }
    if (t.contains("row_count")) {
      EXPECT_EQ(rows.size(), t["row_count"].get<size_t>());
    }
    if (!t.contains("rows")) continue;
    ASSERT_EQ(rows.size(), t["rows"].size()) << Json(rows).dump();
    for (size_t r = 0; r < rows.size(); ++r) {
      const Json& want = t["rows"][r];
      ASSERT_EQ(rows[r].size(), want.size()) << "row " << r << ": " << rows[r].dump();
      for (size_t c = 0; c < want.size(); ++c) {
        EXPECT_TRUE(matcher.Match(want[c], rows[r][c]))
            << "row " << r << " column " << column_names[c] << ": " << rows[r].dump();
      }
    }
  }

  const Json table_json = expect.value("table_json", Json::object());
  for (const auto& [name, want] : table_json.items()) {
    const schema::Table* table = live.FindTable(name);
    ASSERT_NE(table, nullptr) << name;
    EXPECT_EQ(nlohmann::json::parse(schema::TableToJson(*table).dump()),
              nlohmann::json::parse(want.dump()));
  }
  if (expect.contains("stats")) {
    const Json& s = expect["stats"];
    if (s.contains("discarded_rows")) {
      EXPECT_EQ(stats.discarded_rows, s["discarded_rows"].get<int64_t>());
    }
    if (s.contains("discarded_values")) {
      EXPECT_EQ(stats.discarded_values, s["discarded_values"].get<int64_t>());
    }
    if (s.contains("items")) {
      EXPECT_EQ(stats.items, s["items"].get<int64_t>());
    }
  }
}

std::string CaseName(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string name = info.param.spec.at("name").get<std::string>();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Conformance, RelationalGolden, ::testing::ValuesIn(LoadCases()), CaseName);

}  // namespace
}  // namespace cdlt::normalize::relational
