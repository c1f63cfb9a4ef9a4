#include "normalize/relational/relational_normalizer.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "helpers/test_util.hpp"
#include "normalize/relational/value_convert.hpp"
#include "schema/naming.hpp"

namespace cdlt::normalize::relational {
namespace {

// Collects batches per table.
struct Sink {
  std::map<std::string, std::vector<Batch>> batches;
  std::vector<std::string> order;

  BatchSink fn() {
    return [this](const std::string& table, Batch batch) {
      if (!batches.count(table)) order.push_back(table);
      batches[table].push_back(std::move(batch));
    };
  }
  size_t Rows(const std::string& table) const {
    size_t rows = 0;
    auto it = batches.find(table);
    if (it == batches.end()) return 0;
    for (const Batch& b : it->second) rows += b.num_rows();
    return rows;
  }
};

RootTableSpec Root(std::string table) {
  RootTableSpec spec;
  spec.table_name = std::move(table);
  return spec;
}

NormalizerOptions Options() {
  NormalizerOptions options;
  options.load_id = "1700000000.1";
  options.random_seed = 7;
  return options;
}

std::vector<std::string> ColumnNames(const schema::Schema& schema, const std::string& table) {
  std::vector<std::string> names;
  const schema::Table* t = schema.FindTable(table);
  if (t == nullptr) return names;
  for (const schema::Column& c : t->columns) names.push_back(c.name);
  return names;
}

TEST(RelationalNormalizer, MalformedJsonlLineIsNamed) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  EXPECT_CDLT_ERROR(n.FeedJsonl("{\"a\": 1}\n\n{\"a\": \n{\"a\": 2}\n"), ErrorKind::kSource,
                    "line 3: malformed JSON");
}

TEST(RelationalNormalizer, JsonlFirstLineOffsetIsReported) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  EXPECT_CDLT_ERROR(n.FeedJsonl("{\"a\": 1}\n[1, 2,]\n", 41), ErrorKind::kSource, "line 42:");
}

TEST(RelationalNormalizer, BadLinesGoToTheCallbackAndTheRestLoads) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  std::vector<std::pair<int64_t, std::string>> bad;
  BadLineFn on_bad = [&](int64_t line, std::string_view text, const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSource);
    bad.emplace_back(line, std::string(text));
  };
  n.FeedJsonl("{\"a\": 1}\nnot json\n{\"a\": \"\xff\"}\n{\"a\": 2, \"b\": true}\n", 10, on_bad);
  n.Flush();
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0], (std::pair<int64_t, std::string>{11, "not json"}));
  EXPECT_EQ(bad[1].first, 12);
  EXPECT_EQ(sink.Rows("t"), 2u);
  EXPECT_EQ(ColumnNames(n.schema(), "t"),
            (std::vector<std::string>{"a", "_dlt_load_id", "_dlt_id", "b"}));
  // A schema error is not a bad line: it still throws.
  NormalizerOptions options = Options();
  RootTableSpec root = Root("t");
  root.schema_contract =
      SchemaContract{ContractMode::kFreeze, ContractMode::kFreeze, ContractMode::kFreeze};
  RelationalNormalizer strict(n.schema(), root, options, sink.fn());
  EXPECT_CDLT_ERROR(strict.FeedJsonl("{\"a\": 3, \"new\": 1}\n", 1, on_bad),
                    ErrorKind::kSchemaContract, "new");
  EXPECT_EQ(bad.size(), 2u);
}

TEST(RelationalNormalizer, InvalidUtf8IsAnError) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  EXPECT_CDLT_ERROR(n.FeedJsonl("{\"a\": \"ok\"}\n{\"a\": \"\xff\xfe\"}\n"), ErrorKind::kSource,
                    "line 2: invalid UTF-8");
  EXPECT_CDLT_ERROR(n.FeedDocument("{\"\xc3\x28\": 1}", 9), ErrorKind::kSource, "line 9");
}

TEST(RelationalNormalizer, EmptyDocumentIsAnError) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  EXPECT_CDLT_ERROR(n.FeedDocument("   ", 3), ErrorKind::kSource, "line 3: empty JSON document");
}

TEST(RelationalNormalizer, TooDeepDocumentIsAnError) {
  Sink sink;
  NormalizerOptions options = Options();
  options.max_json_depth = 64;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), options, sink.fn());
  std::string deep = "{\"a\": " + std::string(100, '[') + "1" + std::string(100, ']') + "}";
  EXPECT_CDLT_ERROR(n.FeedDocument(deep, 5), ErrorKind::kSource,
                    "line 5: JSON document nested deeper than 64 levels");
}

TEST(RelationalNormalizer, DeepListsBecomeChainOfTablesWithoutCrash) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  const int depth = 150;
  std::string doc = "{\"a\": " + std::string(depth, '[') + "1" + std::string(depth, ']') + "}";
  n.FeedDocument(doc);
  n.Flush();
  // t, t__a, t__a__list, ... : one table per list level.
  EXPECT_EQ(n.schema().DataTables().size(), static_cast<size_t>(depth + 1));
  std::string deepest = "t__a";
  for (int i = 1; i < depth; ++i) deepest += "__list";
  EXPECT_EQ(sink.Rows(deepest), 1u);
}

TEST(RelationalNormalizer, DeepObjectsFlattenIntoOneColumn) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  const int depth = 300;
  std::string doc;
  for (int i = 0; i < depth; ++i) doc += "{\"k\": ";
  doc += "1";
  doc += std::string(depth, '}');
  n.FeedDocument(doc);
  n.Flush();
  std::string column = "k";
  for (int i = 1; i < depth; ++i) column += "__k";
  EXPECT_EQ(ColumnNames(n.schema(), "t"),
            (std::vector<std::string>{column, "_dlt_load_id", "_dlt_id"}));
}

TEST(RelationalNormalizer, VeryLongStringIsKeptWhole) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  std::string big(8 << 20, 'x');
  big[12345] = 'y';
  n.FeedDocument("{\"s\": \"" + big + "\"}");
  n.Flush();
  ASSERT_EQ(sink.batches["t"].size(), 1u);
  EXPECT_EQ(sink.batches["t"][0].column(0).GetString(0), big);
}

TEST(RelationalNormalizer, DoubleOutOfRangeIsAnError) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  EXPECT_CDLT_ERROR(n.FeedDocument("{\"a\": 1e400}", 4), ErrorKind::kSource,
                    "line 4: malformed JSON");
}

TEST(RelationalNormalizer, BigNumberInsideStringIsNotRewritten) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  n.FeedDocument(R"({"s": "123456789012345678901234567890", "n": 123456789012345678901234567890})");
  n.Flush();
  const Batch& b = sink.batches["t"][0];
  EXPECT_EQ(b.column(0).GetString(0), "123456789012345678901234567890");
  EXPECT_EQ(b.fields()[1].type.id, PhysicalType::kDecimal);
  EXPECT_EQ(DecimalToText(b.column(1).Get<__int128>(0), 0), "123456789012345678901234567890");
}

TEST(RelationalNormalizer, DuplicateKeyLastValueWinsEvenAcrossTypes) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  n.FeedDocument(R"({"a": {"x": 1}, "b": 2, "a": 5})");
  n.Flush();
  EXPECT_EQ(ColumnNames(n.schema(), "t"),
            (std::vector<std::string>{"a", "b", "_dlt_load_id", "_dlt_id"}));
  EXPECT_EQ(sink.batches["t"][0].column(0).Get<int64_t>(0), 5);
}

TEST(RelationalNormalizer, BuffersAreBoundedByBatchRows) {
  Sink sink;
  NormalizerOptions options = Options();
  options.batch_rows = 100;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), options, sink.fn());
  std::string page;
  for (int i = 0; i < 1050; ++i) {
    page += "{\"id\": " + std::to_string(i) + ", \"tags\": [1, 2]}\n";
  }
  n.FeedJsonl(page);
  // Before Flush, full batches were already handed over.
  EXPECT_EQ(sink.batches["t"].size(), 10u);
  EXPECT_EQ(sink.batches["t__tags"].size(), 21u);
  for (const Batch& b : sink.batches["t"]) EXPECT_EQ(b.num_rows(), 100u);
  n.Flush();
  EXPECT_EQ(sink.Rows("t"), 1050u);
  EXPECT_EQ(sink.Rows("t__tags"), 2100u);
  EXPECT_EQ(sink.batches["t"].back().column(0).Get<int64_t>(49), 1049);
  NormalizeStats stats = n.stats();
  EXPECT_EQ(stats.items, 1050);
  EXPECT_EQ(stats.rows,
            (std::vector<std::pair<std::string, int64_t>>{{"t", 1050}, {"t__tags", 2100}}));
}

TEST(RelationalNormalizer, ColumnAddedMidBatchIsBackfilledWithNulls) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  n.FeedJsonl("{\"a\": 1}\n{\"a\": 2, \"b\": \"x\"}\n");
  n.Flush();
  const Batch& b = sink.batches["t"][0];
  ASSERT_EQ(b.num_columns(), 4u);
  EXPECT_EQ(b.fields()[3].name, "b");
  EXPECT_FALSE(b.column(3).IsValid(0));
  EXPECT_EQ(b.column(3).GetString(1), "x");
}

TEST(RelationalNormalizer, RandomRootIdsDifferPerRowAndSeed) {
  Sink a, b;
  NormalizerOptions options = Options();
  options.random_seed.reset();
  RelationalNormalizer na(schema::Schema::New("s"), Root("t"), options, a.fn());
  RelationalNormalizer nb(schema::Schema::New("s"), Root("t"), options, b.fn());
  na.FeedJsonl("{\"x\": 1}\n{\"x\": 1}\n");
  nb.FeedJsonl("{\"x\": 1}\n");
  na.Flush();
  nb.Flush();
  std::string id0(a.batches["t"][0].column(2).GetString(0));
  std::string id1(a.batches["t"][0].column(2).GetString(1));
  std::string other(b.batches["t"][0].column(2).GetString(0));
  EXPECT_EQ(id0.size(), 14u);
  EXPECT_NE(id0, id1);
  EXPECT_NE(id0, other);
}

TEST(RelationalNormalizer, NestedRowIdMatchesDltDigest) {
  EXPECT_EQ(NestedRowId("ROOTID123", "orders__items", 0), "/rFVZUpXkznLuA");
  EXPECT_EQ(NestedRowId("ROOTID123", "orders__items", 1), "jcVqliL8+QSD7w");
}

// The column `name` of `batch`; a missing column fails the test (and throws to stop it).
const Column& ColumnNamed(const Batch& batch, std::string_view name) {
  int i = batch.FindColumn(name);
  if (i < 0) {
    ADD_FAILURE() << "no column " << name;
    throw std::runtime_error("missing column");
  }
  return batch.column(static_cast<size_t>(i));
}

// Nested ids are hashed per document in batches (schema::Shake128Many) after the rows are staged;
// every one must still be NestedRowId(parent's _dlt_id, table, _dlt_list_idx), also three levels
// deep (a parent hashed in the same document), for many ids per document, and for a table name
// too long for one SHAKE block (hashed one by one instead).
/// Check the ids of the nested tables `root`__a, `root`__a__b, ... (one per piece of `chain`):
/// every row hangs under a row of its parent table, its _dlt_id is NestedRowId of that parent's
/// id, its table and its list index, and no id repeats. Returns the rows checked per table.
std::map<std::string, size_t> CheckNestedIds(Sink& sink, const std::string& root,
                                             const std::vector<std::string>& chain) {
  std::map<std::string, std::set<std::string>> ids;  // table → _dlt_id
  for (const Batch& batch : sink.batches[root]) {
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      ids[root].insert(std::string(ColumnNamed(batch, "_dlt_id").GetString(r)));
    }
  }
  std::map<std::string, size_t> counts;
  std::string parent = root;
  for (const std::string& piece : chain) {
    std::string table = parent + "__" + piece;
    EXPECT_TRUE(sink.batches.count(table)) << table;
    for (const Batch& batch : sink.batches[table]) {
      for (size_t r = 0; r < batch.num_rows(); ++r) {
        std::string parent_id(ColumnNamed(batch, "_dlt_parent_id").GetString(r));
        std::string id(ColumnNamed(batch, "_dlt_id").GetString(r));
        int64_t idx = ColumnNamed(batch, "_dlt_list_idx").Get<int64_t>(r);
        EXPECT_TRUE(ids[parent].count(parent_id)) << table << " row " << r;
        EXPECT_EQ(id, NestedRowId(parent_id, table, idx)) << table << " row " << r;
        EXPECT_TRUE(ids[table].insert(id).second) << table << " row " << r;
        ++counts[table];
      }
    }
    parent = table;
  }
  return counts;
}

TEST(RelationalNormalizer, NestedIdsHashTheirParentsIdAtEveryLevel) {
  const std::string long_root = "t" + std::string(170, 'x');
  for (const std::string& root : {std::string("t"), long_root}) {
    Sink sink;
    RelationalNormalizer n(schema::Schema::New("s"), Root(root), Options(), sink.fn());
    std::string doc = R"({"a": [)";
    for (int i = 0; i < 11; ++i) {
      if (i > 0) doc += ',';
      doc += fmt::format(R"({{"i": {}, "b": [{{"c": [1, 2]}}, {{"c": [3]}}, {{"c": []}}]}})", i);
    }
    doc += "]}";
    n.FeedDocument(doc);
    n.FeedDocument(doc);
    n.Flush();
    auto counts = CheckNestedIds(sink, root, {"a", "b", "c"});
    EXPECT_EQ(counts[root + "__a"], 2u * 11);
    EXPECT_EQ(counts[root + "__a__b"], 2u * 33);
    EXPECT_EQ(counts[root + "__a__b__c"], 2u * 33);
  }
}

// More shapes for the batched nested ids: a list long enough for 8-lane groups, a nested object
// that brings its own _dlt_id (its children hash that one), and a document that throws after
// some ids are pending, followed by a good one on the same normalizer.
TEST(RelationalNormalizer, NestedIdsWithUserIdsLongListsAndAfterAnError) {
  schema::Schema live = schema::Schema::New("s");
  {
    RelationalNormalizer seed(live, Root("t"), Options(), [](const std::string&, Batch) {});
    seed.FeedDocument(R"({"a": [{"n": 1}]})");
    seed.Flush();
    ASSERT_TRUE(MergeSchemaUpdate(live, seed.TakeSchemaUpdate()).merged);
  }
  RootTableSpec root = Root("t");
  root.schema_contract =
      SchemaContract{ContractMode::kEvolve, ContractMode::kEvolve, ContractMode::kFreeze};
  Sink sink;
  RelationalNormalizer n(live, root, Options(), sink.fn());
  // "n": "x" cannot become bigint under data_type freeze: thrown after a's first ids are pending.
  EXPECT_CDLT_ERROR(n.FeedDocument(R"({"a": [{"n": 1}, {"n": 2}, {"n": "x"}]})"),
                    ErrorKind::kSchemaContract, "data_type: freeze");
  std::string doc = R"({"a": [{"n": 7, "_dlt_id": "mine", "b": [1, 2, 3]}, {"n": 8, "b": [4]}],)"
                    R"( "c": [)";
  for (int i = 0; i < 21; ++i) doc += (i > 0 ? "," : "") + std::to_string(i);
  doc += "]}";
  n.FeedDocument(doc);
  n.Flush();
  ASSERT_EQ(sink.Rows("t"), 1u);
  std::string root_id(ColumnNamed(sink.batches["t"][0], "_dlt_id").GetString(0));
  // Each nested row: its parent's id and its own, checked against NestedRowId.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> rows;
  for (const std::string table : {"t__a", "t__a__b", "t__c"}) {
    ASSERT_EQ(sink.batches[table].size(), 1u) << table;
    const Batch& batch = sink.batches[table][0];
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      std::string parent(ColumnNamed(batch, "_dlt_parent_id").GetString(r));
      std::string id(ColumnNamed(batch, "_dlt_id").GetString(r));
      int64_t idx = ColumnNamed(batch, "_dlt_list_idx").Get<int64_t>(r);
      if (id != "mine") {
        EXPECT_EQ(id, NestedRowId(parent, table, idx)) << table << " row " << r;
      }
      rows[table].emplace_back(parent, id);
    }
  }
  ASSERT_EQ(rows["t__a"].size(), 2u);  // nothing of the document that threw
  EXPECT_EQ(rows["t__a"][0], std::make_pair(root_id, std::string("mine")));
  EXPECT_EQ(rows["t__a"][1].first, root_id);
  ASSERT_EQ(rows["t__a__b"].size(), 4u);
  for (size_t r = 0; r < 3; ++r) EXPECT_EQ(rows["t__a__b"][r].first, "mine");
  EXPECT_EQ(rows["t__a__b"][3].first, rows["t__a"][1].second);
  ASSERT_EQ(rows["t__c"].size(), 21u);
  for (const auto& [parent, id] : rows["t__c"]) EXPECT_EQ(parent, root_id);
}

// Nested ids wait across documents and are hashed in groups; the cells already committed are
// patched then, including when a table's batch fills in the middle of a document (batch_rows 7)
// and when a document throws while earlier documents' ids still wait.
TEST(RelationalNormalizer, NestedIdsHashedAcrossDocumentsAndBatches) {
  schema::Schema live = schema::Schema::New("s");
  {
    RelationalNormalizer seed(live, Root("t"), Options(), [](const std::string&, Batch) {});
    seed.FeedDocument(R"({"k": 0, "a": [{"n": 1, "b": [{"c": [1]}]}]})");
    seed.Flush();
    ASSERT_TRUE(MergeSchemaUpdate(live, seed.TakeSchemaUpdate()).merged);
  }
  RootTableSpec root = Root("t");
  root.schema_contract =
      SchemaContract{ContractMode::kEvolve, ContractMode::kEvolve, ContractMode::kFreeze};
  NormalizerOptions options = Options();
  options.batch_rows = 7;
  Sink sink;
  RelationalNormalizer n(live, root, options, sink.fn());
  size_t expected_a = 0, expected_b = 0, expected_c = 0;
  for (int k = 0; k < 40; ++k) {
    std::string doc = fmt::format(R"({{"k": {}, "a": [)", k);
    for (int i = 0; i < k % 5; ++i) {
      doc += fmt::format(R"({}{{"n": {}, "b": [{{"c": [{}, {}]}}, {{"c": []}}]}})",
                         i > 0 ? "," : "", i, k, i);
    }
    doc += "]}";
    n.FeedDocument(doc);
    expected_a += k % 5;
    expected_b += 2 * (k % 5);
    expected_c += 2 * (k % 5);
    if (k % 9 == 4) {
      EXPECT_CDLT_ERROR(
          n.FeedDocument(R"({"k": -1, "a": [{"n": 1, "b": [{"c": [9]}]}, {"n": "x"}]})"),
          ErrorKind::kSchemaContract, "data_type: freeze");
    }
  }
  // Flushed right after a document that threw while earlier documents' ids wait.
  EXPECT_CDLT_ERROR(n.FeedDocument(R"({"k": -2, "a": [{"n": 1, "b": [{"c": [9]}]}, {"n": "y"}]})"),
                    ErrorKind::kSchemaContract, "data_type: freeze");
  n.Flush();
  ASSERT_EQ(sink.Rows("t"), 40u);
  auto counts = CheckNestedIds(sink, "t", {"a", "b", "c"});
  EXPECT_EQ(counts["t__a"], expected_a);
  EXPECT_EQ(counts["t__a__b"], expected_b);
  EXPECT_EQ(counts["t__a__b__c"], expected_c);
  EXPECT_GT(sink.batches["t__a__b__c"].size(), 5u);  // batches filled inside documents
}

// One document with a long list: its ids are found among the document's pending ones by
// position, not by a scan per row (which made this quadratic).
TEST(RelationalNormalizer, NestedIdsOfALongList) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  const int kElements = 100000;
  std::string doc = R"({"a": [)";
  for (int i = 0; i < kElements; ++i) doc += fmt::format(R"({}{{"b": [{}]}})", i > 0 ? "," : "", i);
  doc += "]}";
  n.FeedDocument(doc);
  n.Flush();
  ASSERT_EQ(sink.Rows("t__a"), static_cast<size_t>(kElements));
  ASSERT_EQ(sink.Rows("t__a__b"), static_cast<size_t>(kElements));
  std::string root_id(ColumnNamed(sink.batches["t"][0], "_dlt_id").GetString(0));
  std::set<std::string> a_ids;
  int64_t expected_idx = 0;
  for (const Batch& batch : sink.batches["t__a"]) {
    for (size_t r = 0; r < batch.num_rows(); ++r, ++expected_idx) {
      std::string id(ColumnNamed(batch, "_dlt_id").GetString(r));
      ASSERT_EQ(ColumnNamed(batch, "_dlt_parent_id").GetString(r), root_id);
      ASSERT_EQ(id, NestedRowId(root_id, "t__a", expected_idx));
      a_ids.insert(id);
    }
  }
  for (const Batch& batch : sink.batches["t__a__b"]) {
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      std::string parent(ColumnNamed(batch, "_dlt_parent_id").GetString(r));
      ASSERT_TRUE(a_ids.count(parent));
      ASSERT_EQ(ColumnNamed(batch, "_dlt_id").GetString(r), NestedRowId(parent, "t__a__b", 0));
    }
  }
}

// C7: the variant name is shortened as a whole from the joined normalized path.
TEST(RelationalNormalizer, VariantColumnNameIsShortened) {
  auto naming = schema::MakeNamingConvention("snake_case", 9);
  EXPECT_EQ(naming->ShortenFragments({"confidence", "v_bool"}), "coevcf0al");

  Sink sink;
  NormalizerOptions options = Options();
  options.max_identifier_length = 9;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), options, sink.fn());
  n.FeedJsonl("{\"conf\": 1.5}\n{\"conf\": false}\n");
  n.Flush();
  std::string variant = naming->ShortenFragments({"conf", "v_bool"});
  EXPECT_EQ(variant.size(), 9u);
  const schema::Column* c = n.schema().FindTable("t")->FindColumn(variant);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->variant);
  EXPECT_EQ(c->data_type, schema::DataType::kBool);
}

// A5: nested table names are shortened as a whole (PostgreSQL limit 63).
TEST(RelationalNormalizer, NestedTableNameIsShortened) {
  Sink sink;
  NormalizerOptions options = Options();
  options.max_identifier_length = 63;
  RelationalNormalizer n(schema::Schema::New("s"), Root("customers"), options, sink.fn());
  n.FeedDocument(
      R"({"addresses": [{"geo_coordinates": [{"history": [{"entries_with_very_long_suffix_name": [{"x": 1}]}]}]}]})");
  n.Flush();
  EXPECT_NE(n.schema().FindTable("customers__addresses__geo_coonfhccgs_with_very_long_suffix_name"),
            nullptr);
}

TEST(RelationalNormalizer, UnknownHintTypeIsAConfigError) {
  RootTableSpec root = Root("t");
  root.hints.columns.push_back({.name = "a", .data_type = "integer"});
  EXPECT_CDLT_ERROR(RelationalNormalizer(schema::Schema::New("s"), root, Options(), nullptr),
                    ErrorKind::kConfig, "unknown data_type 'integer'");
}

TEST(RelationalNormalizer, UpsertWithoutPrimaryKeyIsAConfigError) {
  RootTableSpec root = Root("t");
  root.hints.write_disposition = "merge";
  root.merge_strategy = MergeStrategy::kUpsert;
  EXPECT_CDLT_ERROR(RelationalNormalizer(schema::Schema::New("s"), root, Options(), nullptr),
                    ErrorKind::kConfig, "needs a primary key");
}

TEST(RelationalNormalizer, SchemaContractParsing) {
  EXPECT_EQ(SchemaContract::FromJson("freeze"),
            (SchemaContract{ContractMode::kFreeze, ContractMode::kFreeze, ContractMode::kFreeze}));
  EXPECT_EQ(
      SchemaContract::FromJson(nlohmann::ordered_json{{"columns", "discard_value"}}),
      (SchemaContract{ContractMode::kEvolve, ContractMode::kDiscardValue, ContractMode::kEvolve}));
  EXPECT_CDLT_ERROR(SchemaContract::FromJson("melt"), ErrorKind::kConfig, "invalid mode \"melt\"");
  EXPECT_CDLT_ERROR(SchemaContract::FromJson(nlohmann::ordered_json{{"rows", "freeze"}}),
                    ErrorKind::kConfig, "unknown key 'rows'");
}

// Parallel workers: each proposes an update from the same snapshot; one place merges them in
// file order; a conflicting proposal is refused and its file is normalized again.
TEST(RelationalNormalizer, WorkersAgreeOrConflictDeterministically) {
  schema::Schema live = schema::Schema::New("s");
  Sink s1, s2, s3;
  RelationalNormalizer w1(live, Root("t"), Options(), s1.fn());
  RelationalNormalizer w2(live, Root("t"), Options(), s2.fn());
  RelationalNormalizer w3(live, Root("t"), Options(), s3.fn());
  w1.FeedDocument(R"({"id": 1, "x": 5})");
  w2.FeedDocument(R"({"id": 2, "x": 6, "y": true})");
  w3.FeedDocument(R"({"id": 3, "x": "text"})");
  for (auto* w : {&w1, &w2, &w3}) w->Flush();

  MergeOutcome m1 = MergeSchemaUpdate(live, w1.TakeSchemaUpdate());
  ASSERT_TRUE(m1.merged) << m1.conflict;
  MergeOutcome m2 = MergeSchemaUpdate(live, w2.TakeSchemaUpdate());
  ASSERT_TRUE(m2.merged) << m2.conflict;
  schema::Schema before = live;
  MergeOutcome m3 = MergeSchemaUpdate(live, w3.TakeSchemaUpdate());
  EXPECT_FALSE(m3.merged);
  EXPECT_NE(m3.conflict.find("cannot change data type of column t.x from bigint to text"),
            std::string::npos)
      << m3.conflict;
  EXPECT_EQ(live, before);  // all or nothing

  // Redo the third file against the merged schema: the value becomes a variant.
  Sink redo_sink;
  RelationalNormalizer redo(live, Root("t"), Options(), redo_sink.fn());
  redo.FeedDocument(R"({"id": 3, "x": "text"})");
  redo.Flush();
  MergeOutcome m4 = MergeSchemaUpdate(live, redo.TakeSchemaUpdate());
  ASSERT_TRUE(m4.merged) << m4.conflict;
  EXPECT_EQ(ColumnNames(live, "t"),
            (std::vector<std::string>{"id", "x", "_dlt_load_id", "_dlt_id", "y", "x__v_text"}));
  // Proposals that agree merge to the same schema as one worker would produce.
  EXPECT_TRUE(MergeSchemaUpdate(live, w1.TakeSchemaUpdate()).merged);
  EXPECT_EQ(ColumnNames(live, "t").size(), 6u);
}

TEST(RelationalNormalizer, SchemaUpdateBumpsVersionOnce) {
  schema::Schema live = schema::Schema::New("s");
  std::string first_hash = live.version_hash();
  RelationalNormalizer n(live, Root("t"), Options(), [](const std::string&, Batch) {});
  n.FeedDocument(R"({"id": 1})");
  n.Flush();
  ASSERT_TRUE(MergeSchemaUpdate(live, n.TakeSchemaUpdate()).merged);
  EXPECT_TRUE(live.BumpVersion());
  EXPECT_EQ(live.version(), 2);
  EXPECT_EQ(live.previous_hashes(), std::vector<std::string>{first_hash});
  // The same data again proposes nothing.
  RelationalNormalizer again(live, Root("t"), Options(), [](const std::string&, Batch) {});
  again.FeedDocument(R"({"id": 2})");
  again.Flush();
  EXPECT_TRUE(again.TakeSchemaUpdate().empty());
  EXPECT_FALSE(live.BumpVersion());
}

// widen_in_place leaves a type set by a column hint alone: the value goes to a variant, and the
// next run (which applies the hint again) agrees with the schema. Found by the fuzzer: the column
// was widened to wei, and the next normalizer refused to change it back to bigint.
TEST(RelationalNormalizer, WideningKeepsATypeSetByAColumnHint) {
  RootTableSpec root = Root("t");
  ColumnHint hint;
  hint.name = "i";
  hint.data_type = "bigint";
  root.hints.columns.push_back(hint);
  NormalizerOptions options = Options();
  options.widen_in_place = true;
  const std::string input = "{\"i\": 0, \"j\": 0}\n{\"i\": 18446744073709551615, \"j\": 1.5}\n";
  schema::Schema live = schema::Schema::New("s");
  for (int run = 0; run < 2; ++run) {
    Sink sink;
    RelationalNormalizer n(live, root, options, sink.fn());
    n.FeedJsonl(input);
    n.Flush();
    SchemaUpdate update = n.TakeSchemaUpdate();
    if (run == 0) {
      // j has no hint and widens; i keeps its hinted type and the big value goes to a variant.
      ASSERT_EQ(update.widenings.size(), 1u);
      EXPECT_EQ(update.widenings[0].column, "j");
    } else {
      EXPECT_TRUE(update.empty());
    }
    ASSERT_TRUE(MergeSchemaUpdate(live, update).merged);
  }
  const schema::Table* t = live.FindTable("t");
  EXPECT_EQ(t->FindColumn("i")->data_type, schema::DataType::kBigint);
  EXPECT_EQ(t->FindColumn("j")->data_type, schema::DataType::kDouble);
  // The big value is in i's variant column (named after its Python type, as dlt does).
  EXPECT_NE(t->FindColumn("i__v_bigint"), nullptr);
}

TEST(RelationalNormalizer, WideningMergesIntoLiveSchema) {
  schema::Schema live = schema::Schema::New("s");
  {
    RelationalNormalizer seed(live, Root("t"), Options(), [](const std::string&, Batch) {});
    seed.FeedDocument(R"({"n": 1})");
    seed.Flush();
    ASSERT_TRUE(MergeSchemaUpdate(live, seed.TakeSchemaUpdate()).merged);
  }
  NormalizerOptions options = Options();
  options.widen_in_place = true;
  Sink sink;
  RelationalNormalizer n(live, Root("t"), options, sink.fn());
  n.FeedJsonl("{\"n\": 2}\n{\"n\": 2.5}\n");
  n.Flush();
  SchemaUpdate update = n.TakeSchemaUpdate();
  ASSERT_EQ(update.widenings.size(), 1u);
  EXPECT_EQ(update.widenings[0],
            (ColumnWidening{"t", "n", schema::DataType::kBigint, schema::DataType::kDouble}));
  // Rows buffered before the widening were converted.
  const Batch& b = sink.batches["t"][0];
  EXPECT_EQ(b.fields()[0].type.id, PhysicalType::kDouble);
  EXPECT_EQ(b.column(0).Get<double>(0), 2.0);
  EXPECT_EQ(b.column(0).Get<double>(1), 2.5);
  ASSERT_TRUE(MergeSchemaUpdate(live, update).merged);
  EXPECT_EQ(live.FindTable("t")->FindColumn("n")->data_type, schema::DataType::kDouble);

  // A widening from a type the live column no longer has is refused.
  schema::Schema other = schema::Schema::New("s");
  schema::Table t;
  t.name = "t";
  t.columns.push_back({.name = "n", .data_type = schema::DataType::kText});
  other.MergeTable(t);
  MergeOutcome refused = MergeSchemaUpdate(other, update);
  EXPECT_FALSE(refused.merged);
  EXPECT_NE(refused.conflict.find("cannot widen column t.n"), std::string::npos);
}

TEST(RelationalNormalizer, FreezeErrorNamesTableColumnAndType) {
  schema::Schema live = schema::Schema::New("s");
  {
    RelationalNormalizer seed(live, Root("t"), Options(), [](const std::string&, Batch) {});
    seed.FeedDocument(R"({"n": 1})");
    seed.Flush();
    ASSERT_TRUE(MergeSchemaUpdate(live, seed.TakeSchemaUpdate()).merged);
  }
  RootTableSpec root = Root("t");
  root.schema_contract =
      SchemaContract{ContractMode::kEvolve, ContractMode::kEvolve, ContractMode::kFreeze};
  RelationalNormalizer n(live, root, Options(), [](const std::string&, Batch) {});
  EXPECT_CDLT_ERROR(n.FeedJsonl("{\"n\": 1}\n{\"n\": \"x\"}\n"), ErrorKind::kSchemaContract,
                    "table t column n (value of type text): cannot coerce into bigint (would "
                    "create variant column n__v_text) (data_type: freeze)");
}

TEST(ValueConvert, PythonFloatRepr) {
  EXPECT_EQ(PyFloatRepr(1.5), "1.5");
  EXPECT_EQ(PyFloatRepr(1000.0), "1000.0");
  EXPECT_EQ(PyFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PyFloatRepr(123456789012345.6), "123456789012345.6");
  EXPECT_EQ(PyFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PyFloatRepr(0.00001), "1e-05");
  EXPECT_EQ(PyFloatRepr(-2.5e-10), "-2.5e-10");
  EXPECT_EQ(PyFloatRepr(0.1), "0.1");
  EXPECT_EQ(PyFloatRepr(-0.0), "-0.0");
}

TEST(ValueConvert, IsoDatetime) {
  EXPECT_EQ(ParseIsoDatetime("1970-01-01T00:00:01Z"), 1'000'000);
  EXPECT_EQ(ParseIsoDatetime("1970-01-01 01:00:00+01:00"), 0);
  EXPECT_EQ(ParseIsoDatetime("1970-01-01T00:00:00.0000019"), 1);
  EXPECT_EQ(ParseIsoDatetime("2024-02-29T12:00"), 1709208000LL * 1'000'000);
  EXPECT_FALSE(ParseIsoDatetime("2023-02-29T12:00"));
  EXPECT_FALSE(ParseIsoDatetime("1975-05-21"));
  EXPECT_FALSE(ParseIsoDatetime("22:00:00"));
  EXPECT_FALSE(ParseIsoDatetime("1975-05-01T27:00:00Z"));
  EXPECT_FALSE(ParseIsoDatetime("2024-01-01T10:00:00Zjunk"));
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999+00:00");
}

TEST(ValueConvert, TextToNumbers) {
  EXPECT_EQ(TextToInt64(" 1_000 "), 1000);
  EXPECT_EQ(TextToInt64("0xff"), 255);
  EXPECT_EQ(TextToInt64("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(TextToInt64("9223372036854775808"));
  EXPECT_FALSE(TextToInt64("1__0"));
  EXPECT_FALSE(TextToInt64("1.0"));
  EXPECT_EQ(TextToDouble(" 1e3 "), 1000.0);
  EXPECT_FALSE(TextToDouble("1e3x"));
  EXPECT_EQ(TextToDecimal("12.3456", 10, 2), __int128{1235});
  EXPECT_EQ(TextToDecimal("-1.5e2", 10, 0), __int128{-150});
  EXPECT_FALSE(TextToDecimal("123456", 5, 0));
  EXPECT_EQ(DecimalToText(-5, 3), "-0.005");
  EXPECT_EQ(TextToBinary("0x4142"), "AB");
  EXPECT_EQ(TextToBinary("QUI="), "AB");
  EXPECT_FALSE(TextToBinary("QUI"));
  EXPECT_EQ(Int64ToBytes(258), std::string("\x02\x01", 2));
  EXPECT_EQ(TextToBool(" Yes "), true);
  EXPECT_EQ(TextToBool("F"), false);
  EXPECT_FALSE(TextToBool("maybe"));
}

// Regressions found by fuzz/normalizer_fuzz.cpp (issue 4).

// A document's own string that starts with the big-number marker U+F8FE but has no digits after
// it was read as a big number with no digits (out-of-range read of its first digit) when the
// document needed the big-number rewrite. It stays text.
TEST(RelationalNormalizerFuzz, MarkerStringWithoutDigitsStaysText) {
  Sink sink;
  RelationalNormalizer n(schema::Schema::New("s"), Root("t"), Options(), sink.fn());
  n.FeedDocument(R"({"a": "\uf8fe", "b": 99999999999999999999, "c": "\uf8fe-"})");
  n.Flush();
  EXPECT_EQ(ColumnNames(n.schema(), "t"),
            (std::vector<std::string>{"a", "b", "c", "_dlt_load_id", "_dlt_id"}));
  const Batch& b = sink.batches["t"][0];
  EXPECT_EQ(b.fields()[0].type.id, PhysicalType::kText);
  EXPECT_EQ(b.column(0).GetString(0), "\xEF\xA3\xBE");
  EXPECT_EQ(b.fields()[1].type.id, PhysicalType::kDecimal);
  EXPECT_EQ(b.column(2).GetString(0), "\xEF\xA3\xBE-");
}

// A decimal text ending in its exponent mark ("1e") was read one character past its end; an
// exponent of INT_MIN went through std::abs (overflow). Both are malformed or out of range.
TEST(RelationalNormalizerFuzz, DecimalTextWithEmptyOrExtremeExponent) {
  EXPECT_FALSE(TextToDecimal("1e", 10, 2));
  EXPECT_FALSE(TextToDecimal("5E+", 38, 0));
  EXPECT_FALSE(TextToDecimal("1e+-5", 10, 2));
  EXPECT_FALSE(TextToDecimal("1e-2147483648", 10, 2));
  EXPECT_FALSE(TextToDecimal("1e2147483647", 10, 2));
  EXPECT_EQ(TextToDecimal("1e+2", 10, 0), __int128{100});
  EXPECT_EQ(TextToDecimal("1e-2", 10, 2), __int128{1});

  Sink sink;
  RootTableSpec root = Root("t");
  ColumnHint hint;
  hint.name = "d";
  hint.data_type = "decimal";
  hint.precision = 10;
  hint.scale = 2;
  root.hints.columns.push_back(hint);
  RelationalNormalizer n(schema::Schema::New("s"), root, Options(), sink.fn());
  n.FeedDocument(R"({"d": "1e"})");
  n.Flush();
  EXPECT_EQ(ColumnNames(n.schema(), "t"),
            (std::vector<std::string>{"d", "d__v_text", "_dlt_load_id", "_dlt_id"}));
}

}  // namespace
}  // namespace cdlt::normalize::relational
