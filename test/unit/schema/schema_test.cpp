#include "schema/schema.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace cdlt::schema {
namespace {

using Json = nlohmann::ordered_json;

Column Col(std::string name, std::optional<DataType> type = DataType::kText) {
  Column column;
  column.name = std::move(name);
  column.data_type = type;
  return column;
}

Table MakeTable(std::string name, std::vector<Column> columns) {
  Table table;
  table.name = std::move(name);
  table.columns = std::move(columns);
  return table;
}

std::vector<std::string> ColumnNames(const Table& table) {
  std::vector<std::string> names;
  for (const Column& column : table.columns) names.push_back(column.name);
  return names;
}

std::vector<std::string> TableNames(const std::vector<const Table*>& tables) {
  std::vector<std::string> names;
  for (const Table* table : tables) names.push_back(table->name);
  return names;
}

// Expect `statement` to throw cdlt::Error of `kind` whose message contains `text`.
#define EXPECT_CDLT_ERROR(statement, error_kind, text)                            \
  do {                                                                            \
    try {                                                                         \
      statement;                                                                  \
      ADD_FAILURE() << "expected an error from " #statement;                      \
    } catch (const ::cdlt::Error& e) {                                            \
      EXPECT_EQ(e.kind(), error_kind) << e.what();                                \
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what(); \
    }                                                                             \
  } while (0)

// A schema with a bit of everything the stored form can hold.
Schema SampleSchema() {
  Schema schema = Schema::New("events");
  Column id = Col("id", DataType::kBigint);
  id.nullable = false;
  id.primary_key = true;
  Column amount = Col("amount", DataType::kDecimal);
  amount.precision = 38;
  amount.scale = 9;
  Column at = Col("at", DataType::kTimestamp);
  at.timezone = false;
  at.dedup_sort = "desc";
  at.description = "event time";
  Column pending = Col("pending", std::nullopt);
  pending.merge_key = true;
  pending.extra["x-custom"] = Json{{"a", 1}};
  Table events =
      MakeTable("events", {id, at, amount, pending, Col("_dlt_load_id"), Col("_dlt_id")});
  events.write_disposition = WriteDisposition::kMerge;
  events.schema_contract = "freeze";
  events.extra["x-merge-strategy"] = "upsert";
  schema.MergeTable(events);
  Table items = MakeTable("events__items", {Col("value", DataType::kDouble), Col("_dlt_id")});
  items.parent = "events";
  schema.MergeTable(items);
  return schema;
}

TEST(Schema, NewHasSystemTablesAndDefaults) {
  Schema schema = Schema::New("my_schema");
  EXPECT_EQ(schema.name(), "my_schema");
  EXPECT_EQ(schema.version(), 1);
  EXPECT_EQ(schema.version_hash(), schema.ComputeVersionHash());
  EXPECT_TRUE(schema.previous_hashes().empty());
  EXPECT_EQ(TableNames({&schema.tables()[0], &schema.tables()[1]}),
            (std::vector<std::string>{"_dlt_version", "_dlt_loads"}));
  EXPECT_TRUE(schema.DataTables().empty());
  EXPECT_EQ(schema.settings()["detections"], Json::array({"iso_timestamp"}));
  EXPECT_EQ(
      schema.settings()["default_hints"]["not_null"],
      Json::array({"_dlt_id", "_dlt_root_id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_load_id"}));
  EXPECT_EQ(schema.settings()["default_hints"]["unique"], Json::array({"_dlt_id"}));
  EXPECT_EQ(schema.settings()["default_hints"]["row_key"], Json::array({"_dlt_id"}));
  EXPECT_EQ(schema.settings()["default_hints"]["parent_key"], Json::array({"_dlt_parent_id"}));
  EXPECT_EQ(schema.settings()["default_hints"]["root_key"], Json::array({"_dlt_root_id"}));
  EXPECT_EQ(schema.normalizers(),
            Json::parse(R"({"names":"snake_case",)"
                        R"("json":{"module":"dlt.common.normalizers.json.relational"}})"));
  EXPECT_FALSE(schema.BumpVersion());
  EXPECT_EQ(schema.version(), 1);
  EXPECT_THROW(Schema::New(""), Error);
}

TEST(Schema, VersionTableColumns) {
  Json expected = Json::parse(R"({
    "name": "_dlt_version",
    "columns": {
      "version": {"name": "version", "data_type": "bigint", "nullable": false},
      "engine_version": {"name": "engine_version", "data_type": "bigint", "nullable": false},
      "inserted_at": {"name": "inserted_at", "data_type": "timestamp", "nullable": false},
      "schema_name": {"name": "schema_name", "data_type": "text", "nullable": false},
      "version_hash": {"name": "version_hash", "data_type": "text", "nullable": false},
      "schema": {"name": "schema", "data_type": "text", "nullable": false}
    },
    "write_disposition": "skip",
    "resource": "_dlt_version",
    "description": "Created by DLT. Tracks schema updates"
  })");
  EXPECT_EQ(TableToJson(DltVersionTable()), expected);
}

TEST(Schema, LoadsTableColumns) {
  Json expected = Json::parse(R"({
    "name": "_dlt_loads",
    "columns": {
      "load_id": {"name": "load_id", "data_type": "text", "nullable": false, "precision": 64},
      "schema_name": {"name": "schema_name", "data_type": "text", "nullable": true},
      "status": {"name": "status", "data_type": "bigint", "nullable": false},
      "inserted_at": {"name": "inserted_at", "data_type": "timestamp", "nullable": false},
      "schema_version_hash": {"name": "schema_version_hash", "data_type": "text", "nullable": true}
    },
    "write_disposition": "skip",
    "resource": "_dlt_loads",
    "description": "Created by DLT. Tracks completed loads"
  })");
  EXPECT_EQ(TableToJson(DltLoadsTable()), expected);
}

TEST(Schema, PipelineStateTableColumns) {
  Table table = DltPipelineStateTable();
  EXPECT_EQ(table.name, "_dlt_pipeline_state");
  EXPECT_EQ(table.write_disposition, WriteDisposition::kAppend);
  EXPECT_EQ(table.file_format, "preferred");
  EXPECT_EQ(ColumnNames(table),
            (std::vector<std::string>{"version", "engine_version", "pipeline_name", "state",
                                      "created_at", "version_hash", "_dlt_load_id", "_dlt_id"}));
  const std::vector<DataType> types = {DataType::kBigint, DataType::kBigint,    DataType::kText,
                                       DataType::kText,   DataType::kTimestamp, DataType::kText,
                                       DataType::kText,   DataType::kText};
  for (size_t i = 0; i < types.size(); ++i) EXPECT_EQ(table.columns[i].data_type, types[i]);
  EXPECT_TRUE(table.FindColumn("version_hash")->nullable);
  EXPECT_FALSE(table.FindColumn("state")->nullable);
  EXPECT_EQ(table.FindColumn("_dlt_load_id")->precision, 64);
  const Column* dlt_id = table.FindColumn("_dlt_id");
  EXPECT_FALSE(dlt_id->nullable);
  EXPECT_TRUE(dlt_id->unique);
  EXPECT_TRUE(dlt_id->row_key);
}

TEST(Schema, JsonRoundTripKeepsEverything) {
  Schema schema = SampleSchema();
  schema.set_description("sample");
  schema.settings()["preferred_types"] = Json{{"re:^amount$", "decimal"}};
  schema.BumpVersion();
  Json json = schema.ToJson();
  EXPECT_EQ(json["engine_version"], 11);
  Schema back = Schema::FromJson(json);
  EXPECT_EQ(back, schema);
  EXPECT_EQ(back.ToJson(), json);
  EXPECT_EQ(ColumnNames(*back.FindTable("events")),
            (std::vector<std::string>{"id", "at", "amount", "pending", "_dlt_load_id", "_dlt_id"}));
  const Column* pending = back.FindTable("events")->FindColumn("pending");
  EXPECT_FALSE(pending->complete());
  EXPECT_EQ(pending->extra["x-custom"], Json({{"a", 1}}));
  EXPECT_EQ(back.FindTable("events")->extra["x-merge-strategy"], "upsert");
  EXPECT_EQ(back.FindTable("events")->schema_contract, "freeze");
}

TEST(Schema, StoredColumnForm) {
  Schema schema = SampleSchema();
  Json json = schema.ToJson();
  EXPECT_EQ(
      json["tables"]["events"]["columns"]["id"],
      Json::parse(R"({"name":"id","data_type":"bigint","nullable":false,"primary_key":true})"));
  EXPECT_EQ(json["tables"]["events"]["write_disposition"], "merge");
  EXPECT_EQ(json["tables"]["events"]["resource"], "events");
  EXPECT_EQ(json["tables"]["events__items"]["parent"], "events");
  EXPECT_FALSE(json["tables"]["events__items"].contains("write_disposition"));
  EXPECT_FALSE(json["tables"]["events__items"].contains("resource"));
}

TEST(Schema, FromJsonAcceptsLegacyAndUnknownProps) {
  Json json = Json::parse(R"({
    "version": 3, "version_hash": "abc", "engine_version": 9, "name": "s",
    "x-top": 1,
    "tables": {"t": {"columns": {"c": {"data_type": "complex", "x-foo": "bar",
                                        "primary_key": false}},
                     "references": [{"table": "u"}]}}
  })");
  Schema schema = Schema::FromJson(json);
  EXPECT_EQ(schema.version(), 3);
  EXPECT_EQ(schema.version_hash(), "abc");
  const Table* t = schema.FindTable("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->columns[0].name, "c");
  EXPECT_EQ(t->columns[0].data_type, DataType::kJson);
  EXPECT_TRUE(t->columns[0].nullable);
  EXPECT_EQ(t->columns[0].extra["x-foo"], "bar");
  EXPECT_EQ(t->extra["references"], Json::parse(R"([{"table":"u"}])"));
  EXPECT_EQ(schema.ToJson()["x-top"], 1);
  EXPECT_EQ(schema.ToJson()["engine_version"], 11);
}

TEST(Schema, FromJsonNamesTheOffendingPath) {
  EXPECT_CDLT_ERROR(
      Schema::FromJson(
          Json::parse(R"({"name":"s","tables":{"users":{"columns":{"id":{"data_type":"int"}}}}})")),
      ErrorKind::kSchema, "tables.users.columns.id.data_type: unknown data type 'int'");
  EXPECT_CDLT_ERROR(Schema::FromJson(Json::parse(
                        R"({"name":"s","tables":{"users":{"columns":{"id":{"nullable":"no"}}}}})")),
                    ErrorKind::kSchema, "tables.users.columns.id.nullable: expected a boolean");
  EXPECT_CDLT_ERROR(
      Schema::FromJson(
          Json::parse(R"({"name":"s","tables":{"u":{"write_disposition":"upsert"}}})")),
      ErrorKind::kSchema, "tables.u.write_disposition: unknown write disposition 'upsert'");
  EXPECT_CDLT_ERROR(Schema::FromJson(Json::parse(R"({"name":"s","tables":[]})")),
                    ErrorKind::kSchema, "tables: expected an object");
  EXPECT_CDLT_ERROR(Schema::FromJson(Json::parse(R"({"tables":{}})")), ErrorKind::kSchema,
                    "name: missing");
  EXPECT_CDLT_ERROR(Schema::FromJson(Json::parse(R"({"name":"s","engine_version":12})")),
                    ErrorKind::kSchema, "engine_version: engine version 12 is newer");
  EXPECT_CDLT_ERROR(Schema::FromJson(Json::parse(R"({"name":"s","previous_hashes":["a",1]})")),
                    ErrorKind::kSchema, "previous_hashes[1]: expected a string");
}

TEST(Schema, HashStableAcrossRoundTrip) {
  Schema schema = SampleSchema();
  Schema back = Schema::FromJson(schema.ToJson());
  EXPECT_EQ(back.ComputeVersionHash(), schema.ComputeVersionHash());
  EXPECT_EQ(schema.ComputeVersionHash().size(), 44u);  // base64 of 32 bytes
  // Version fields do not take part.
  back.BumpVersion();
  EXPECT_EQ(back.ComputeVersionHash(), schema.ComputeVersionHash());
}

// Pinned value; cross-checked with Python's hashlib.sha3_256 over json.dumps(sort_keys=True,
// separators=(",", ":"), ensure_ascii=False) of ToJson() minus the version fields, then the
// table and column names.
TEST(Schema, HashOfNewSchemaIsPinned) {
  EXPECT_EQ(Schema::New("pinned").ComputeVersionHash(),
            "XKZCsTAhgqPnA/zLhwW26NMdYqhUaoPL5QnUlx90ado=");
}

TEST(Schema, HashChangesWhenColumnAddedOrReordered) {
  Schema schema = SampleSchema();
  std::string hash = schema.ComputeVersionHash();

  Schema added = schema;
  added.MergeTable(MakeTable("events__items", {Col("extra", DataType::kBool)}));
  EXPECT_NE(added.ComputeVersionHash(), hash);

  Schema reordered = schema;
  std::vector<Column>& columns = reordered.FindTable("events")->columns;
  std::swap(columns[0], columns[1]);
  EXPECT_NE(reordered.ComputeVersionHash(), hash);

  // Table insertion order does not matter (tables are sorted by name).
  Schema other = Schema::New("events");
  Schema swapped = Schema::New("events");
  other.MergeTable(MakeTable("a", {Col("x")}));
  other.MergeTable(MakeTable("b", {Col("y")}));
  swapped.MergeTable(MakeTable("b", {Col("y")}));
  swapped.MergeTable(MakeTable("a", {Col("x")}));
  EXPECT_EQ(other.ComputeVersionHash(), swapped.ComputeVersionHash());
}

// Conformance D1.
TEST(Schema, BumpVersionOncePerChange) {
  Schema schema = Schema::New("s");
  std::string h1 = schema.version_hash();
  schema.MergeTable(MakeTable("t", {Col("a")}));
  EXPECT_TRUE(schema.BumpVersion());
  EXPECT_EQ(schema.version(), 2);
  EXPECT_EQ(schema.previous_hashes(), std::vector<std::string>{h1});
  EXPECT_FALSE(schema.BumpVersion());
  EXPECT_EQ(schema.version(), 2);

  std::vector<std::string> hashes = {schema.version_hash()};
  for (int i = 0; i < 11; ++i) {
    schema.MergeTable(MakeTable("t", {Col("c" + std::to_string(i))}));
    EXPECT_TRUE(schema.BumpVersion());
    hashes.insert(hashes.begin(), schema.version_hash());
  }
  EXPECT_EQ(schema.version(), 13);
  ASSERT_EQ(schema.previous_hashes().size(), 10u);
  // Newest first: the hash before the current one leads.
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(schema.previous_hashes()[i], hashes[i + 1]);
}

TEST(Schema, BumpVersionWithoutHashOnlySetsIt) {
  Schema schema = Schema::FromJson(Json::parse(R"({"name":"s","engine_version":11})"));
  EXPECT_EQ(schema.version_hash(), "");
  EXPECT_TRUE(schema.BumpVersion());
  EXPECT_EQ(schema.version(), 1);
  EXPECT_TRUE(schema.previous_hashes().empty());
  EXPECT_FALSE(schema.BumpVersion());
}

TEST(Schema, BumpVersionSkipsDuplicatePreviousHash) {
  Schema schema = Schema::New("s");
  std::string h1 = schema.version_hash();
  schema.MergeTable(MakeTable("t", {Col("a")}));
  schema.BumpVersion();
  schema.DropTable("t");  // back to the content of h1
  EXPECT_TRUE(schema.BumpVersion());
  EXPECT_EQ(schema.version_hash(), h1);
  schema.MergeTable(MakeTable("t", {Col("a")}));
  EXPECT_TRUE(schema.BumpVersion());  // h1 is already in the list
  EXPECT_EQ(schema.version(), 4);
  EXPECT_EQ(schema.previous_hashes().size(), 2u);
}

TEST(Schema, MergeNewTableGetsDefaults) {
  Schema schema = Schema::New("s");
  TableUpdate update = schema.MergeTable(MakeTable("t", {Col("a"), Col("b")}));
  EXPECT_TRUE(update.new_table);
  EXPECT_TRUE(update.changed);
  EXPECT_EQ(update.table, "t");
  EXPECT_EQ(update.new_columns, (std::vector<std::string>{"a", "b"}));
  const Table* t = schema.FindTable("t");
  EXPECT_EQ(t->write_disposition, WriteDisposition::kAppend);
  EXPECT_EQ(t->resource, "t");

  Table nested = MakeTable("t__n", {Col("v")});
  nested.parent = "t";
  schema.MergeTable(nested);
  EXPECT_EQ(schema.FindTable("t__n")->write_disposition, std::nullopt);
  EXPECT_EQ(schema.FindTable("t__n")->resource, std::nullopt);
}

TEST(Schema, MergeAppendsNewColumns) {
  Schema schema = Schema::New("s");
  schema.MergeTable(MakeTable("t", {Col("a"), Col("b")}));
  TableUpdate update = schema.MergeTable(MakeTable("t", {Col("c"), Col("a"), Col("d")}));
  EXPECT_FALSE(update.new_table);
  EXPECT_TRUE(update.changed);
  EXPECT_EQ(update.new_columns, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(ColumnNames(*schema.FindTable("t")), (std::vector<std::string>{"a", "b", "c", "d"}));

  TableUpdate none = schema.MergeTable(MakeTable("t", {Col("a")}));
  EXPECT_FALSE(none.changed);
  EXPECT_TRUE(none.new_columns.empty());
}

TEST(Schema, MergeMovesCompletedColumnToTheEnd) {
  Schema schema = Schema::New("s");
  Column pk = Col("id", std::nullopt);
  pk.primary_key = true;
  pk.nullable = false;
  schema.MergeTable(MakeTable("t", {pk, Col("a")}));
  EXPECT_FALSE(schema.FindTable("t")->columns[0].complete());

  TableUpdate update = schema.MergeTable(MakeTable("t", {Col("id", DataType::kBigint)}));
  EXPECT_TRUE(update.changed);
  EXPECT_EQ(update.new_columns, std::vector<std::string>{"id"});
  const Table* t = schema.FindTable("t");
  EXPECT_EQ(ColumnNames(*t), (std::vector<std::string>{"a", "id"}));
  // Declared props survive; the partial's defaults do not clear them.
  EXPECT_EQ(t->columns[1].data_type, DataType::kBigint);
  EXPECT_TRUE(t->columns[1].primary_key);
  EXPECT_FALSE(t->columns[1].nullable);
}

TEST(Schema, MergeOverwritesSetProps) {
  Schema schema = Schema::New("s");
  schema.MergeTable(MakeTable("t", {Col("a"), Col("b")}));
  Column a = Col("a");
  a.unique = true;
  a.precision = 10;
  a.extra["x-k"] = 1;
  Table partial = MakeTable("t", {a});
  partial.write_disposition = WriteDisposition::kReplace;
  partial.extra["x-normalizer"] = Json{{"seen-data", true}};
  TableUpdate update = schema.MergeTable(partial);
  EXPECT_TRUE(update.changed);
  EXPECT_TRUE(update.new_columns.empty());
  const Table* t = schema.FindTable("t");
  EXPECT_TRUE(t->columns[0].unique);
  EXPECT_EQ(t->columns[0].precision, 10);
  EXPECT_EQ(t->columns[0].extra["x-k"], 1);
  EXPECT_EQ(t->write_disposition, WriteDisposition::kReplace);
  EXPECT_EQ(t->resource, "t");
  EXPECT_EQ(t->extra["x-normalizer"]["seen-data"], true);
}

TEST(Schema, MergeReplacesCompoundProps) {
  Schema schema = Schema::New("s");
  Column a = Col("a");
  a.primary_key = true;
  schema.MergeTable(MakeTable("t", {a, Col("b")}));
  Column b = Col("b");
  b.primary_key = true;
  schema.MergeTable(MakeTable("t", {b}));
  EXPECT_TRUE(schema.FindTable("t")->columns[0].primary_key);  // additive by default
  schema.MergeTable(MakeTable("t", {b}), /*replace_compound_props=*/true);
  EXPECT_FALSE(schema.FindTable("t")->columns[0].primary_key);
  EXPECT_TRUE(schema.FindTable("t")->columns[1].primary_key);
}

TEST(Schema, MergeRejectsDataTypeChange) {
  Schema schema = Schema::New("s");
  schema.MergeTable(MakeTable("t", {Col("a", DataType::kBigint), Col("b")}));
  Schema before = schema;
  try {
    schema.MergeTable(MakeTable("t", {Col("new_col"), Col("a", DataType::kText)}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSchema);
    EXPECT_EQ(e.message(), "cannot change data type of column t.a from bigint to text");
  }
  EXPECT_EQ(schema, before);  // nothing merged
}

TEST(Schema, MergeRejectsParentChange) {
  Schema schema = Schema::New("s");
  Table nested = MakeTable("t__n", {Col("v")});
  nested.parent = "t";
  schema.MergeTable(MakeTable("t", {Col("a")}));
  schema.MergeTable(nested);
  nested.parent = "u";
  EXPECT_CDLT_ERROR(schema.MergeTable(nested), ErrorKind::kSchema,
                    "cannot change parent of table t__n from t to u");
}

TEST(Schema, TableTreeQueries) {
  Schema schema = Schema::New("s");
  Table root = MakeTable("r", {Col("a")});
  root.write_disposition = WriteDisposition::kMerge;
  schema.MergeTable(root);
  for (auto [name, parent] : std::vector<std::pair<std::string, std::string>>{
           {"r__a", "r"}, {"r__b", "r"}, {"r__a__x", "r__a"}, {"o__c", "o"}}) {
    Table table = MakeTable(name, {Col("v")});
    table.parent = parent;
    schema.MergeTable(table);
  }
  schema.MergeTable(MakeTable("o", {Col("a")}));
  schema.MergeTable(MakeTable("empty", {Col("a", std::nullopt)}));

  EXPECT_EQ(TableNames(schema.NestedTables("r")),
            (std::vector<std::string>{"r__a", "r__a__x", "r__b"}));
  EXPECT_EQ(TableNames(schema.NestedTables("r__a__x")), std::vector<std::string>{});
  EXPECT_EQ(schema.RootOf("r__a__x").name, "r");
  EXPECT_EQ(schema.RootOf("r").name, "r");
  EXPECT_CDLT_ERROR(schema.RootOf("nope"), ErrorKind::kSchema, "table 'nope' not found");
  EXPECT_EQ(schema.GetWriteDisposition("r__a__x"), WriteDisposition::kMerge);
  EXPECT_EQ(schema.GetWriteDisposition("o__c"), WriteDisposition::kAppend);
  EXPECT_EQ(schema.GetWriteDisposition("_dlt_loads"), WriteDisposition::kSkip);
  EXPECT_EQ(schema.GetWriteDisposition("unknown"), WriteDisposition::kAppend);
  EXPECT_EQ(TableNames(schema.DataTables()),
            (std::vector<std::string>{"r", "r__a", "r__b", "r__a__x", "o__c", "o", "empty"}));
  EXPECT_EQ(schema.DataTables(false).size(), 6u);

  schema.DropTable("r__a");
  EXPECT_EQ(schema.FindTable("r__a"), nullptr);
  EXPECT_NE(schema.FindTable("r__a__x"), nullptr);  // nothing else removed
  schema.DropTable("does_not_exist");
}

class SchemaFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("cdlt_schema_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SchemaFileTest, SaveAndLoad) {
  Schema schema = SampleSchema();
  schema.BumpVersion();
  std::filesystem::path path = dir_ / "events.schema.json";
  schema.SaveFile(path);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "events.schema.json.tmp"));
  Schema loaded = Schema::LoadFile(path);
  EXPECT_EQ(loaded, schema);
  schema.SaveFile(path);  // overwrite
  EXPECT_EQ(Schema::LoadFile(path), schema);
}

TEST_F(SchemaFileTest, LoadErrors) {
  EXPECT_CDLT_ERROR(Schema::LoadFile(dir_ / "missing.schema.json"), ErrorKind::kIo,
                    "missing.schema.json");
  std::filesystem::path bad = dir_ / "bad.schema.json";
  std::ofstream(bad) << "{not json";
  EXPECT_CDLT_ERROR(Schema::LoadFile(bad), ErrorKind::kSchema, "bad.schema.json");
  std::filesystem::path wrong = dir_ / "wrong.schema.json";
  std::ofstream(wrong) << R"({"name":"s","tables":{"t":{"columns":{"c":{"data_type":1}}}}})";
  EXPECT_CDLT_ERROR(Schema::LoadFile(wrong), ErrorKind::kSchema,
                    "wrong.schema.json: invalid schema: tables.t.columns.c.data_type");
  EXPECT_CDLT_ERROR(Schema::New("s").SaveFile(dir_ / "no_dir" / "x.json"), ErrorKind::kIo,
                    "x.json");
}

}  // namespace
}  // namespace cdlt::schema
