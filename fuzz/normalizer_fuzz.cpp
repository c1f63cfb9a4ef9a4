// libFuzzer target on the relational normalizer (issue 4). Build and run: scripts/fuzz.sh.
//
// Input layout: three option bytes, then the body. The body is split at its first NUL byte into
// a seed part (normalized first, without the contract, and merged into the schema: an earlier
// load) and the main part; without a NUL there is no seed.
//
//   byte 0: bits 0-1 feed mode (FeedJsonl, FeedDocument, FeedItem, FeedItem per line)
//           bit 2 max_table_nesting (byte 1 bits 0-1), bit 3 merge + primary key "id"
//           (strategy: byte 1 bits 2-3), bit 4 widen_in_place, bit 5 schema contract (byte 2),
//           bit 6 max_identifier_length 63, bit 7 schema settings (detections, preferred types,
//           default hints)
//   byte 2: bits 0-1 / 2-3 / 4-5 contract modes of tables / columns / data_type,
//           bit 6 batch_rows 2, bit 7 typed column hints
//
// Expected failures are cdlt::Error (malformed input, contracts, coercion). Anything else that
// escapes (another exception type), a sanitizer report or a broken invariant below is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "normalize/relational/relational_normalizer.hpp"
#include "normalize/relational/value_convert.hpp"

namespace {

using cdlt::Batch;
using cdlt::Column;
using cdlt::PhysicalType;
using namespace cdlt::normalize::relational;
namespace schema = cdlt::schema;
using Json = nlohmann::ordered_json;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "normalizer_fuzz invariant broken: %s\n", what.c_str());
  std::abort();
}

// Volatile sink so reads of batch values are not optimized away.
volatile uint64_t g_checksum = 0;

// Read every value of a batch (so ASan checks the buffers) and check its shape.
void TouchBatch(const std::string& table, const Batch& batch) {
  if (table.empty()) Fail("batch without a table name");
  if (batch.num_columns() != batch.fields().size()) Fail("batch " + table + ": fields != columns");
  const size_t rows = batch.num_rows();
  if (rows == 0) Fail("empty batch for " + table);
  uint64_t sum = 0;
  for (size_t c = 0; c < batch.num_columns(); ++c) {
    const Column& column = batch.column(c);
    const cdlt::Field& field = batch.fields()[c];
    if (column.size() != rows) Fail("batch " + table + ": column " + field.name + " length");
    if (!(column.type() == field.type)) Fail("batch " + table + ": column type != field type");
    if (!IsValidUtf8(field.name)) Fail("column name is not UTF-8 in " + table);
    for (size_t r = 0; r < rows; ++r) {
      if (!column.IsValid(r)) continue;
      switch (column.type().id) {
        case PhysicalType::kText:
        case PhysicalType::kJson: {
          std::string_view s = column.GetString(r);
          if (!IsValidUtf8(s)) Fail("text value is not UTF-8 in " + table + "." + field.name);
          for (char ch : s) sum += static_cast<unsigned char>(ch);
          break;
        }
        case PhysicalType::kBinary:
          for (char ch : column.GetString(r)) sum += static_cast<unsigned char>(ch);
          break;
        case PhysicalType::kBool:
          sum += column.Get<uint8_t>(r);
          break;
        case PhysicalType::kDate:
          sum += FormatDate(column.Get<int32_t>(r)).size();
          break;
        case PhysicalType::kDecimal: {
          auto v = column.Get<__int128>(r);
          sum += DecimalToText(v, column.type().scale).size();
          break;
        }
        case PhysicalType::kDouble:
          sum += static_cast<uint64_t>(column.Get<double>(r) != 0);
          break;
        default:
          sum += static_cast<uint64_t>(column.Get<int64_t>(r));
      }
    }
  }
  g_checksum = g_checksum + sum;
}

struct Options {
  int mode = 0;
  RootTableSpec spec;
  NormalizerOptions options;
  bool settings = false;
};

ContractMode ModeOf(unsigned bits) {
  switch (bits & 3) {
    case 1:
      return ContractMode::kFreeze;
    case 2:
      return ContractMode::kDiscardRow;
    case 3:
      return ContractMode::kDiscardValue;
    default:
      return ContractMode::kEvolve;
  }
}

Options Decode(uint8_t b0, uint8_t b1, uint8_t b2) {
  Options o;
  o.mode = b0 & 3;
  o.spec.table_name = "Fuzz Items";
  if (b0 & 4) o.spec.max_table_nesting = b1 & 3;
  if (b0 & 8) {
    static constexpr MergeStrategy kStrategies[] = {
        MergeStrategy::kDeleteInsert, MergeStrategy::kUpsert, MergeStrategy::kInsertOnly,
        MergeStrategy::kScd2};
    o.spec.hints.write_disposition = "merge";
    o.spec.hints.primary_key = {"id"};
    o.spec.merge_strategy = kStrategies[(b1 >> 2) & 3];
  }
  if (b0 & 32) {
    o.spec.schema_contract = SchemaContract{ModeOf(b2), ModeOf(b2 >> 2), ModeOf(b2 >> 4)};
  }
  if (b2 & 128) {
    auto hint = [&](const char* name, const char* type) {
      cdlt::ColumnHint h;
      h.name = name;
      h.data_type = type;
      o.spec.hints.columns.push_back(std::move(h));
      return &o.spec.hints.columns.back();
    };
    cdlt::ColumnHint* d = hint("d", "decimal");
    d->precision = 10;
    d->scale = 2;
    hint("w", "wei");
    hint("ts", "timestamp")->timezone = (b1 & 16) != 0;
    hint("dt", "date");
    hint("tm", "time");
    hint("bin", "binary");
    hint("j", "json");
    hint("b", "bool");
    hint("f", "double");
    hint("i", "bigint");
    hint("nn", "text")->nullable = false;
  }
  o.options.load_id = "1700000000.123456";
  o.options.random_seed = 42;
  o.options.widen_in_place = (b0 & 16) != 0;
  if (b0 & 64) o.options.max_identifier_length = 63;
  if (b2 & 64) o.options.batch_rows = 2;
  o.settings = (b0 & 128) != 0;
  return o;
}

void ApplySettings(schema::Schema& live) {
  live.settings()["detections"] =
      Json::array({"iso_timestamp", "iso_date", "large_integer", "wei_to_double"});
  live.settings()["preferred_types"] = Json{{"re:_at$", "timestamp"}, {"p", "json"}};
  live.settings()["default_hints"] = Json{{"not_null", Json::array({"re:^req_"})}};
}

void Feed(RelationalNormalizer& n, int mode, std::string_view body) {
  switch (mode) {
    case 0:
      n.FeedJsonl(body, 7);
      break;
    case 1:
      n.FeedDocument(body);
      break;
    case 2:
      n.FeedItem(body);
      break;
    default: {
      int64_t line = 1;
      size_t pos = 0;
      while (pos <= body.size()) {
        size_t end = body.find('\n', pos);
        if (end == std::string_view::npos) end = body.size();
        std::string_view item = body.substr(pos, end - pos);
        if (!item.empty()) n.FeedItem(item, line);
        ++line;
        pos = end + 1;
      }
    }
  }
}

const cdlt::normalize::relational::BatchSink kSink = [](const std::string& table, Batch batch) {
  TouchBatch(table, batch);
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  Options o = Decode(data[0], data[1], data[2]);
  std::string_view body(reinterpret_cast<const char*>(data) + 3, size - 3);
  std::string_view seed;
  if (size_t nul = body.find('\0'); nul != std::string_view::npos) {
    seed = body.substr(0, nul);
    body.remove_prefix(nul + 1);
  }

  schema::Schema live = schema::Schema::New("fuzz");
  if (o.settings) ApplySettings(live);

  // An earlier load: same hints, no contract, merged into `live`.
  if (!seed.empty()) {
    RootTableSpec seed_spec = o.spec;
    seed_spec.schema_contract.reset();
    try {
      RelationalNormalizer n(live, seed_spec, o.options, kSink);
      n.FeedJsonl(seed);
      n.Flush();
      MergeOutcome merged = MergeSchemaUpdate(live, n.TakeSchemaUpdate());
      if (!merged.merged) Fail("seed update refused by its own snapshot: " + merged.conflict);
    } catch (const cdlt::Error&) {
      return 0;  // a bad seed: nothing more to learn from this input
    }
  }

  SchemaUpdate update;
  try {
    RelationalNormalizer n(live, o.spec, o.options, kSink);
    Feed(n, o.mode, body);
    n.Flush();
    update = n.TakeSchemaUpdate();
    (void)n.stats();
    (void)n.schema().ToJson().dump();
  } catch (const cdlt::Error&) {
    return 0;  // expected: malformed input, contract violation, coercion failure
  }

  // The update must merge into (a copy of) the snapshot it was made from.
  schema::Schema merged_schema = live;
  MergeOutcome merged = MergeSchemaUpdate(merged_schema, update);
  if (!merged.merged) Fail("update refused by its own snapshot: " + merged.conflict);
  (void)merged_schema.ToJson().dump();

  // Normalizing the same input again against the merged schema must succeed and propose nothing
  // new (only with the evolve contract: discarded rows/values may differ in what they keep).
  if (!o.spec.schema_contract) {
    try {
      RelationalNormalizer again(merged_schema, o.spec, o.options, kSink);
      Feed(again, o.mode, body);
      again.Flush();
      SchemaUpdate second = again.TakeSchemaUpdate();
      if (!second.empty()) {
        Fail("second pass proposes changes to " +
             (second.tables.empty() ? second.widenings[0].table : second.tables[0].name));
      }
    } catch (const cdlt::Error& e) {
      Fail(std::string("second pass over accepted input failed: ") + e.what());
    }
  }
  return 0;
}
