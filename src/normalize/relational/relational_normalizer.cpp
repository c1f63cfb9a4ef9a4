#include "normalize/relational/relational_normalizer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <regex>
#include <set>
#include <unordered_map>
#include <utility>

#include "common/error.hpp"
#include "common/text.hpp"
#include "normalize/relational/value_convert.hpp"
#include "schema/digest.hpp"
#include "schema/naming.hpp"

namespace cdlt::normalize::relational {

namespace dom = simdjson::dom;
using Json = nlohmann::ordered_json;
using schema::DataType;

// ---- Small public helpers --------------------------------------------------------------------

std::string DltDigest(std::string_view text) {
  std::string encoded = schema::Base64Encode(schema::Shake128(text, 10));
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  return encoded;
}

std::string NestedRowId(std::string_view parent_id, std::string_view table, int64_t list_idx) {
  return DltDigest(fmt::format("{}_{}_{}", parent_id, table, list_idx));
}

MergeStrategy ParseMergeStrategy(std::string_view text) {
  if (text == "delete-insert") return MergeStrategy::kDeleteInsert;
  if (text == "upsert") return MergeStrategy::kUpsert;
  if (text == "insert-only") return MergeStrategy::kInsertOnly;
  if (text == "scd2") return MergeStrategy::kScd2;
  Throw(ErrorKind::kConfig,
        "unknown merge strategy '{}': allowed values are delete-insert, upsert, insert-only, scd2",
        text);
}

namespace {

ContractMode ParseContractMode(const Json& value, std::string_view what) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text == "evolve") return ContractMode::kEvolve;
    if (text == "freeze") return ContractMode::kFreeze;
    if (text == "discard_row") return ContractMode::kDiscardRow;
    if (text == "discard_value") return ContractMode::kDiscardValue;
  }
  Throw(ErrorKind::kConfig,
        "schema_contract{}: invalid mode {}: allowed values are evolve, freeze, discard_row, "
        "discard_value",
        what, value.dump());
}

std::string_view ContractModeName(ContractMode mode) {
  switch (mode) {
    case ContractMode::kEvolve:
      return "evolve";
    case ContractMode::kFreeze:
      return "freeze";
    case ContractMode::kDiscardRow:
      return "discard_row";
    case ContractMode::kDiscardValue:
      return "discard_value";
  }
  return "evolve";
}

}  // namespace

SchemaContract SchemaContract::FromJson(const Json& json) {
  SchemaContract contract;
  if (json.is_null()) return contract;
  if (json.is_string()) {
    ContractMode mode = ParseContractMode(json, "");
    return {mode, mode, mode};
  }
  if (!json.is_object()) {
    Throw(ErrorKind::kConfig, "schema_contract: expected a mode or an object, got {}", json.dump());
  }
  for (const auto& [key, value] : json.items()) {
    if (key == "tables") {
      contract.tables = ParseContractMode(value, ".tables");
    } else if (key == "columns") {
      contract.columns = ParseContractMode(value, ".columns");
    } else if (key == "data_type") {
      contract.data_type = ParseContractMode(value, ".data_type");
    } else {
      Throw(ErrorKind::kConfig,
            "schema_contract: unknown key '{}': allowed keys are tables, columns, data_type", key);
    }
  }
  return contract;
}

Json SchemaContract::ToJson() const {
  if (tables == columns && columns == data_type) return std::string(ContractModeName(tables));
  return Json{{"tables", ContractModeName(tables)},
              {"columns", ContractModeName(columns)},
              {"data_type", ContractModeName(data_type)}};
}

// ---- Schema merge ----------------------------------------------------------------------------

MergeOutcome MergeSchemaUpdate(schema::Schema& live, const SchemaUpdate& update) {
  MergeOutcome outcome;
  schema::Schema next = live;
  for (const ColumnWidening& w : update.widenings) {
    schema::Table* table = next.FindTable(w.table);
    schema::Column* column = table ? table->FindColumn(w.column) : nullptr;
    if (column == nullptr || !column->data_type) continue;  // the partial brings it
    if (*column->data_type == w.to) continue;
    if (*column->data_type != w.from) {
      outcome.conflict =
          fmt::format("cannot widen column {}.{} from {} to {}: it is {}", w.table, w.column,
                      DataTypeName(w.from), DataTypeName(w.to), DataTypeName(*column->data_type));
      return outcome;
    }
    column->data_type = w.to;
  }
  for (const schema::Table& partial : update.tables) {
    try {
      outcome.table_updates.push_back(next.MergeTable(partial));
    } catch (const Error& e) {
      outcome.conflict = e.message();
      outcome.table_updates.clear();
      return outcome;
    }
  }
  live = std::move(next);
  outcome.merged = true;
  return outcome;
}

// ---- The normalizer --------------------------------------------------------------------------

namespace {

// Typed views of an element whose type was checked (named locals: iterating a member of a
// temporary simdjson_result would dangle).
template <typename T>
void Get(dom::element e, T& out) {
  auto error = e.get(out);
  CDLT_ASSERT(error == simdjson::SUCCESS, "JSON element type checked before reading");
}

dom::object AsObject(dom::element e) {
  dom::object out;
  Get(e, out);
  return out;
}

dom::array AsArray(dom::element e) {
  dom::array out;
  Get(e, out);
  return out;
}

constexpr std::string_view kBigNumMarker = "\xEF\xA3\xBE";  // U+F8FE, see RewriteBigNumbers
constexpr size_t kMaxWeiDigits = 38;                        // DECIMAL(38,0)

// Whether `text` is a marker string written by RewriteBigNumbers: the marker, then an integer
// literal (`-`? digits). A document's own string starting with the marker but not followed by
// digits ("\uf8fe", "\uf8fe-") stays a string: read as a number it had no digits.
bool IsBigNumMarked(std::string_view text) {
  if (text.substr(0, kBigNumMarker.size()) != kBigNumMarker) return false;
  std::string_view digits = text.substr(kBigNumMarker.size());
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  return !digits.empty() &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Bytes of the SHAKE-128 digests that make ids, and their characters in base64 without padding
// (DltDigest, NestedRowId).
constexpr size_t kDigestBytes = 10;
constexpr size_t kDigestChars = 14;

// Base64 (standard alphabet) of 10 bytes with the trailing "==" left off: what DltDigest makes.
void EncodeDigest(const unsigned char (&bytes)[kDigestBytes], char (&out)[kDigestChars]) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < 9; i += 3) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
    out[o++] = kAlphabet[v & 63];
  }
  uint32_t v = uint32_t{bytes[9]} << 16;
  out[o++] = kAlphabet[(v >> 18) & 63];
  out[o++] = kAlphabet[(v >> 12) & 63];
}

// a == b for the short keys of JSON objects, without a call to memcmp.
inline bool SameKey(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  size_t n = a.size();
  for (; n >= 8; n -= 8, x += 8, y += 8) {
    uint64_t u, v;
    std::memcpy(&u, x, 8);
    std::memcpy(&v, y, 8);
    if (u != v) return false;
  }
  for (; n > 0; --n, ++x, ++y) {
    if (*x != *y) return false;
  }
  return true;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using NameMap = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

enum class VKind : uint8_t {
  kNull,
  kString,
  kInt,
  kUInt,
  kBigNum,
  kDouble,
  kBool,
  kObject,
  kArray
};

struct Value {
  VKind kind = VKind::kNull;
  std::string_view str;  // kString; kBigNum: the digits
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  bool b = false;
  dom::element elem;  // kObject, kArray
};

// The dlt type of a value as Python sees it (names variant columns).
DataType PyTypeOf(const Value& v) {
  switch (v.kind) {
    case VKind::kString:
      return DataType::kText;
    case VKind::kInt:
    case VKind::kUInt:
    case VKind::kBigNum:
      return DataType::kBigint;
    case VKind::kDouble:
      return DataType::kDouble;
    case VKind::kBool:
      return DataType::kBool;
    default:
      return DataType::kJson;
  }
}

std::string_view KindName(const Value& v) {
  switch (v.kind) {
    case VKind::kNull:
      return "null";
    case VKind::kString:
      return "text";
    case VKind::kInt:
    case VKind::kUInt:
    case VKind::kBigNum:
      return "bigint";
    case VKind::kDouble:
      return "double";
    case VKind::kBool:
      return "bool";
    default:
      return "json";
  }
}

ColumnType PhysicalFor(const schema::Column& column) {
  switch (*column.data_type) {
    case DataType::kText:
      return {PhysicalType::kText};
    case DataType::kDouble:
      return {PhysicalType::kDouble};
    case DataType::kBool:
      return {PhysicalType::kBool};
    case DataType::kTimestamp:
      return {column.timezone == std::optional<bool>(false) ? PhysicalType::kTimestamp
                                                            : PhysicalType::kTimestampTz};
    case DataType::kBigint:
      return {PhysicalType::kInt64};
    case DataType::kBinary:
      return {PhysicalType::kBinary};
    case DataType::kJson:
      return {PhysicalType::kJson};
    case DataType::kDecimal:
      return {PhysicalType::kDecimal, static_cast<uint8_t>(column.precision.value_or(38)),
              static_cast<uint8_t>(column.scale.value_or(9))};
    case DataType::kWei:
      return {PhysicalType::kDecimal, 38, 0};
    case DataType::kDate:
      return {PhysicalType::kDate};
    case DataType::kTime:
      return {PhysicalType::kTime};
  }
  return {PhysicalType::kText};
}

enum class CellKind : uint8_t { kI64, kF64, kI128, kI32, kStrPtr, kStrArena };

// A staged value. Small and 8-byte aligned: cells are copied around a lot, and a 16-byte aligned
// __int128 member made every copy a stall.
struct Cell {
  uint32_t col = 0;
  CellKind kind = CellKind::kI64;
  union {
    int64_t i64 = 0;  // kI64, kI32; kI128: the low half
    double f64;       // kF64
    const char* ptr;  // kStrPtr
    size_t off;       // kStrArena
  };
  int64_t hi = 0;  // kI128: the high half
  size_t len = 0;  // kStrPtr, kStrArena

  void SetI128(__int128 value) {
    kind = CellKind::kI128;
    i64 = static_cast<int64_t>(static_cast<uint64_t>(value));
    hi = static_cast<int64_t>(value >> 64);
  }
  __int128 I128() const {
    return static_cast<__int128>((static_cast<unsigned __int128>(static_cast<uint64_t>(hi)) << 64) |
                                 static_cast<uint64_t>(i64));
  }
};

struct ColState {
  std::string name;
  DataType type = DataType::kText;
  ColumnType phys;
  bool nullable = true;
  bool was_incomplete = false;  // completed by this normalizer from a hint
  uint64_t stage_stamp = 0;
  uint32_t cell_pos = 0;
  uint64_t commit_stamp = 0;
};

struct PathNode {
  std::string name;         // flattened column name, shortened
  std::string raw_path;     // normalized pieces joined, not shortened
  std::string table_piece;  // the key as a table identifier (for nested tables)
  int32_t parent = -1;
  int32_t column = -1;
  int32_t nested_table = -1;
  bool preferred_json = false;
  std::vector<std::pair<DataType, int32_t>> variants;
  /// Child nodes by raw key (value: position in `ordered`), and in first-seen order: documents
  /// of one resource mostly repeat their key order, so the next key is predicted from the last
  /// one and the hash lookup is only the fallback.
  NameMap children;
  std::vector<std::pair<std::string, uint32_t>> ordered;
  uint32_t next = 0;   // position in `ordered` expected next
  uint64_t stamp = 0;  // the object being gathered that last used this node (duplicate keys)
};

// The dlt columns the normalizer writes.
enum class DltCol : uint8_t { kId, kLoadId, kParentId, kListIdx, kRootId };
constexpr std::array<std::string_view, 5> kDltColNames = {
    "_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_root_id"};

struct TableState {
  std::string name;
  std::vector<std::string> fragments;
  int32_t parent = -1;
  bool is_dlt = false;
  SchemaContract contract;
  std::vector<ColState> cols;
  NameMap col_index;
  std::vector<Column> buffer;
  std::vector<size_t> char_bytes;  // scratch of Emit
  size_t buffered = 0;
  int64_t rows_total = 0;
  std::vector<PathNode> nodes;
  std::array<int32_t, 5> dlt_nodes = {-1, -1, -1, -1, -1};  // by DltCol
};

struct Frame {
  dom::object obj;
  uint32_t node;
  int lvl;
};

struct ListRef {
  uint32_t node;
  dom::array array;
};

struct StagedRow {
  uint32_t table;
  size_t cell_begin;
  size_t cell_end;
  bool dropped;
};

struct ArenaRef {
  size_t off = 0;
  size_t len = 0;
};

// A nested row id not hashed yet (NestedId). Ids wait across documents, so that many are hashed
// side by side; the committed cells that hold one are patched when it is (IdPatch).
struct PendingId {
  size_t out;  // its place in the arena, while its document is the one being processed
  // The parent's id: another pending id (its index), or -1 and the final text in pending_text_.
  int64_t parent;
  size_t parent_off, parent_len;
  uint32_t table;
  int64_t idx;
  size_t depth;  // levels below the root (1: a row of a list of the root row)
  char digest[kDigestChars];
};

// A committed cell holding pending id `id`: row `row` of column `col` of table `table`'s buffer.
struct IdPatch {
  size_t id;
  uint32_t table;
  uint32_t col;
  size_t row;
};

// How many nested ids wait before they are hashed (8 lanes of AVX-512, a few times over).
constexpr size_t kPendingIdBatch = 32;

// What a nested row id's place holds until it is hashed.
constexpr char kPendingId[] = "______________";
static_assert(sizeof(kPendingId) - 1 == kDigestChars);

// Where a nested row hangs.
struct RowLink {
  ArenaRef parent_id;
  int64_t idx = 0;
  ArenaRef root_id;
};

enum class RowIdKind { kRandom, kKeyHash, kRowHash };

// A preferred-type or hint pattern: exact name or "re:" regex (searched).
struct NamePattern {
  std::string exact;
  std::optional<std::regex> regex;
  bool Matches(const std::string& name) const {
    if (regex) return std::regex_search(name, *regex);
    return name == exact;
  }
};

NamePattern CompilePattern(const std::string& text) {
  NamePattern pattern;
  if (text.rfind("re:", 0) == 0) {
    try {
      pattern.regex.emplace(text.substr(3), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      Throw(ErrorKind::kSchema, "invalid regex '{}' in schema settings: {}", text, e.what());
    }
  } else {
    pattern.exact = text;
  }
  return pattern;
}

// Replace integers that do not fit 64 bits by marker strings, so simdjson (which rejects them)
// can parse the document; the normalizer reads them back as big numbers.
std::optional<std::string> RewriteBigNumbers(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 64);
  bool changed = false;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, text.size());
      out.append(text.substr(i, j - i));
      i = j;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i + 1;
      while (j < text.size() &&
             (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.' ||
              text[j] == 'e' || text[j] == 'E' || text[j] == '+' || text[j] == '-')) {
        ++j;
      }
      std::string_view token = text.substr(i, j - i);
      bool integer = token.find_first_of(".eE+") == std::string_view::npos &&
                     token.find('-', 1) == std::string_view::npos && token != "-";
      bool fits = true;
      if (integer) {
        if (token[0] == '-') {
          int64_t v = 0;
          fits = std::from_chars(token.data(), token.data() + token.size(), v).ec == std::errc();
        } else {
          uint64_t v = 0;
          fits = std::from_chars(token.data(), token.data() + token.size(), v).ec == std::errc();
        }
      }
      if (integer && !fits) {
        out += "\"\\uf8fe";
        out.append(token);
        out += '"';
        changed = true;
      } else {
        out.append(token);
      }
      i = j;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  if (!changed) return std::nullopt;
  return out;
}

}  // namespace

class RelationalNormalizer::Impl {
 public:
  Impl(const schema::Schema& schema, RootTableSpec root, NormalizerOptions options, BatchSink sink)
      : base_(schema),
        schema_(schema),
        spec_(std::move(root)),
        options_(std::move(options)),
        sink_(std::move(sink)) {
    if (options_.batch_rows == 0) options_.batch_rows = 1;
    std::string naming = "snake_case";
    if (schema_.normalizers().contains("names") && schema_.normalizers()["names"].is_string()) {
      naming = schema_.normalizers()["names"].get<std::string>();
    }
    naming_ = schema::MakeNamingConvention(naming, options_.max_identifier_length);
    ReadSettings();
    rng_.seed(options_.random_seed ? *options_.random_seed : std::random_device{}());
    if (parser_.allocate(1 << 16, options_.max_json_depth) != simdjson::SUCCESS) {
      Throw(ErrorKind::kInternal, "cannot allocate the JSON parser");
    }
    SetUpRoot();
  }

  void FeedItem(std::string_view json, int64_t line) {
    dom::element doc = Parse(json, line);
    ++stats_.documents;
    RunItem(doc, line);
  }

  // `padded`: at least SIMDJSON_PADDING readable bytes follow `json`, so simdjson can parse it
  // where it is instead of copying it to its own padded buffer.
  void FeedDocument(std::string_view json, int64_t line, bool padded = false) {
    dom::element doc = Parse(json, line, padded);
    ++stats_.documents;
    if (doc.type() == dom::element_type::ARRAY) {
      dom::array page = AsArray(doc);
      for (dom::element item : page) RunItem(item, line);
    } else {
      RunItem(doc, line);
    }
  }

  void FeedJsonl(std::string_view text, int64_t first_line, const BadLineFn* on_bad_line) {
    int64_t line = first_line;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view content = text.substr(pos, end - pos);
      if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
      bool blank = std::all_of(content.begin(), content.end(),
                               [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
      if (!blank) {
        // Every line but the last ones of `text` is followed by enough of it to serve as padding.
        bool padded = text.size() - end >= simdjson::SIMDJSON_PADDING;
        if (on_bad_line == nullptr) {
          FeedDocument(content, line, padded);
        } else {
          try {
            FeedDocument(content, line, padded);
          } catch (const Error& e) {
            // kSource comes only from Parse, before any state changed: the line can be skipped.
            if (e.kind() != ErrorKind::kSource) throw;
            (*on_bad_line)(line, content, e);
          }
        }
      }
      pos = end + 1;
      ++line;
    }
  }

  void Flush() {
    // Ids of a document that threw are not hashed: no committed cell holds them.
    pending_ids_.resize(committed_ids_);
    pending_text_.resize(committed_id_text_);
    for (auto& t : tables_) Emit(*t);
  }

  SchemaUpdate TakeSchemaUpdate() const;
  const schema::Schema& schema() const { return schema_; }
  NormalizeStats stats() const {
    NormalizeStats out = stats_;
    for (const auto& t : tables_) {
      if (t->rows_total > 0) out.rows.emplace_back(t->name, t->rows_total);
    }
    return out;
  }

 private:
  // -- setup --

  void ReadSettings() {
    const Json& settings = schema_.settings();
    if (settings.contains("detections") && settings["detections"].is_array()) {
      for (const Json& d : settings["detections"]) {
        if (!d.is_string()) continue;
        const auto& name = d.get_ref<const std::string&>();
        if (name == "iso_timestamp") detect_iso_timestamp_ = true;
        if (name == "iso_date") detect_iso_date_ = true;
        if (name == "timestamp") detect_timestamp_ = true;
        // "large_integer" needs no flag: integers beyond int64 always become wei or text.
        if (name == "wei_to_double") detect_wei_to_double_ = true;
      }
    }
    if (settings.contains("preferred_types") && settings["preferred_types"].is_object()) {
      for (const auto& [pattern, type] : settings["preferred_types"].items()) {
        if (!type.is_string()) continue;
        auto parsed = schema::ParseDataType(type.get<std::string>());
        if (!parsed) {
          Throw(ErrorKind::kSchema, "preferred_types: unknown data type {} for '{}'", type.dump(),
                pattern);
        }
        preferred_.emplace_back(CompilePattern(pattern), *parsed);
      }
    }
    if (settings.contains("default_hints") && settings["default_hints"].is_object()) {
      for (const auto& [hint, patterns] : settings["default_hints"].items()) {
        if (!patterns.is_array()) continue;
        for (const Json& p : patterns) {
          if (p.is_string()) hints_.emplace_back(hint, CompilePattern(p.get<std::string>()));
        }
      }
    }
    if (settings.contains("schema_contract")) {
      schema_contract_ = SchemaContract::FromJson(settings["schema_contract"]);
    }
  }

  void SetUpRoot() {
    root_name_ = naming_->NormalizeTableIdentifier(spec_.table_name);
    schema::Table partial;
    partial.name = root_name_;
    bool has_props = false;
    const ResourceHints& h = spec_.hints;
    if (h.write_disposition) {
      auto wd = schema::ParseWriteDisposition(*h.write_disposition, "write_disposition");
      partial.write_disposition = wd;
      has_props = true;
    }
    for (const ColumnHint& hint : h.columns) {
      schema::Column c;
      c.name = naming_->NormalizePath(hint.name);
      if (hint.data_type) {
        auto type = schema::ParseDataType(*hint.data_type);
        if (!type) {
          Throw(ErrorKind::kConfig, "column hint {}.{}: unknown data_type '{}'", root_name_,
                hint.name, *hint.data_type);
        }
        c.data_type = type;
        hinted_types_.insert(c.name);
      }
      if (hint.nullable) c.nullable = *hint.nullable;
      c.primary_key = hint.primary_key.value_or(false);
      c.merge_key = hint.merge_key.value_or(false);
      c.unique = hint.unique.value_or(false);
      c.precision = hint.precision;
      c.scale = hint.scale;
      c.timezone = hint.timezone;
      partial.columns.push_back(std::move(c));
    }
    auto mark = [&](const std::vector<std::string>& names, bool schema::Column::*member) {
      for (const std::string& raw : names) {
        std::string name = naming_->NormalizePath(raw);
        auto it = std::find_if(partial.columns.begin(), partial.columns.end(),
                               [&](const schema::Column& c) { return c.name == name; });
        if (it == partial.columns.end()) {
          schema::Column c;
          c.name = name;
          c.*member = true;
          c.nullable = member == &schema::Column::primary_key ? false : true;
          partial.columns.push_back(std::move(c));
        } else {
          (*it).*member = true;
          if (member == &schema::Column::primary_key) it->nullable = false;
        }
      }
    };
    mark(h.primary_key, &schema::Column::primary_key);
    mark(h.merge_key, &schema::Column::merge_key);
    const schema::Table* existing = schema_.FindTable(root_name_);
    Json x_normalizer = existing && existing->extra.contains("x-normalizer")
                            ? existing->extra["x-normalizer"]
                            : Json::object();
    if (spec_.max_table_nesting) {
      x_normalizer["max_nesting"] = *spec_.max_table_nesting;
      partial.extra["x-normalizer"] = x_normalizer;
      has_props = true;
    }
    if (spec_.merge_strategy) {
      static constexpr std::array<std::string_view, 5> kNames = {"", "delete-insert", "upsert",
                                                                 "insert-only", "scd2"};
      partial.extra["x-merge-strategy"] =
          std::string(kNames[static_cast<size_t>(*spec_.merge_strategy)]);
      has_props = true;
    }
    if (spec_.schema_contract) {
      partial.schema_contract = spec_.schema_contract->ToJson();
      has_props = true;
    }
    // A table that gets no complete column from its hints is only created with its first
    // accepted row (a contract may refuse every row).
    schema::Schema probe = schema_;
    if (has_props || !partial.columns.empty()) probe.MergeTable(partial);
    if (probe.FindTable(root_name_) != nullptr) {
      if (probe.FindTable(root_name_)->HasCompleteColumns()) {
        schema_ = probe;
      } else {
        pending_root_ = partial;
      }
    }

    // Nesting level, root id kind and root key propagation (reference §5.3).
    const schema::Table* table = probe.FindTable(root_name_);
    max_nesting_ = 1000;
    const Json& norm = schema_.normalizers();
    if (norm.contains("json") && norm["json"].is_object() && norm["json"].contains("config") &&
        norm["json"]["config"].contains("max_nesting") &&
        norm["json"]["config"]["max_nesting"].is_number_integer()) {
      max_nesting_ = norm["json"]["config"]["max_nesting"].get<int>();
    }
    if (table && table->extra.contains("x-normalizer") &&
        table->extra["x-normalizer"].contains("max_nesting") &&
        table->extra["x-normalizer"]["max_nesting"].is_number_integer()) {
      max_nesting_ = table->extra["x-normalizer"]["max_nesting"].get<int>();
    }
    bool is_merge = table && table->write_disposition == schema::WriteDisposition::kMerge;
    std::optional<MergeStrategy> strategy = spec_.merge_strategy;
    if (!strategy && table && table->extra.contains("x-merge-strategy") &&
        table->extra["x-merge-strategy"].is_string()) {
      strategy = ParseMergeStrategy(table->extra["x-merge-strategy"].get<std::string>());
    }
    if (is_merge && !strategy) strategy = MergeStrategy::kDeleteInsert;
    if (is_merge && strategy) {
      if (*strategy == MergeStrategy::kUpsert || *strategy == MergeStrategy::kInsertOnly) {
        row_id_kind_ = RowIdKind::kKeyHash;
      } else if (*strategy == MergeStrategy::kScd2) {
        row_id_kind_ = RowIdKind::kRowHash;
      }
    }
    if (table) {
      for (const schema::Column& c : table->columns) {
        if (c.primary_key) primary_key_.push_back(c.name);
      }
      // Sorted once: RootRowId hashes the key columns by name.
      std::sort(primary_key_.begin(), primary_key_.end());
    }
    if (row_id_kind_ == RowIdKind::kKeyHash && primary_key_.empty()) {
      Throw(ErrorKind::kConfig,
            "table {}: merge strategy upsert/insert-only needs a primary key to compute row ids",
            root_name_);
    }
    bool propagate = is_merge && strategy && *strategy != MergeStrategy::kScd2;
    for (const schema::Table* nested : schema_.NestedTables(root_name_)) {
      for (const schema::Column& c : nested->columns) propagate = propagate || c.root_key;
    }
    if (spec_.root_key_propagation) propagate = *spec_.root_key_propagation;
    propagate_root_key_ = propagate;
    root_index_ = GetTable(root_name_, {root_name_}, -1);
  }

  // -- tables and paths --

  uint32_t GetTable(const std::string& name, std::vector<std::string> fragments, int32_t parent) {
    auto found = table_index_.find(name);
    if (found != table_index_.end()) return found->second;
    auto t = std::make_unique<TableState>();
    t->name = name;
    t->fragments = std::move(fragments);
    t->parent = parent;
    t->is_dlt = std::string_view(name).substr(0, schema::kDltPrefix.size()) == schema::kDltPrefix;
    t->contract = ResolveContract(name, parent);
    t->nodes.emplace_back();  // the row itself
    if (const schema::Table* existing = schema_.FindTable(name)) {
      for (const schema::Column& c : existing->columns) {
        if (c.complete()) AddColState(*t, c, false);
      }
    }
    auto index = static_cast<uint32_t>(tables_.size());
    tables_.push_back(std::move(t));
    table_index_.emplace(name, index);
    return index;
  }

  SchemaContract ResolveContract(const std::string& name, int32_t parent) const {
    if (spec_.schema_contract) return *spec_.schema_contract;
    const schema::Table* table = schema_.FindTable(name);
    for (size_t depth = 0; depth < 1000; ++depth) {
      if (table && !table->schema_contract.is_null()) {
        return SchemaContract::FromJson(table->schema_contract);
      }
      if (table && table->parent) {
        table = schema_.FindTable(*table->parent);
        continue;
      }
      if (!table && parent >= 0) {
        table = schema_.FindTable(tables_[static_cast<size_t>(parent)]->name);
        parent = -1;
        continue;
      }
      break;
    }
    return schema_contract_.value_or(SchemaContract{});
  }

  void AddColState(TableState& t, const schema::Column& c, bool was_incomplete) {
    ColState state;
    state.name = c.name;
    state.type = *c.data_type;
    state.phys = PhysicalFor(c);
    state.nullable = c.nullable;
    state.was_incomplete = was_incomplete;
    t.col_index[c.name] = static_cast<uint32_t>(t.cols.size());
    t.cols.push_back(std::move(state));
    Column column(t.cols.back().phys);
    column.Reserve(std::min<size_t>(options_.batch_rows, 1024));
    for (size_t i = 0; i < t.buffered; ++i) column.AppendNull();
    t.buffer.push_back(std::move(column));
  }

  uint32_t Child(TableState& t, uint32_t node_id, std::string_view key) {
    {
      PathNode& node = t.nodes[node_id];
      if (node.next < node.ordered.size() && SameKey(node.ordered[node.next].first, key)) {
        return node.ordered[node.next++].second;
      }
      // Back to the first key: the next object of this node begins.
      if (node.next != 0 && !node.ordered.empty() && SameKey(node.ordered[0].first, key)) {
        node.next = 1;
        return node.ordered[0].second;
      }
      auto it = node.children.find(key);
      if (it != node.children.end()) {
        node.next = it->second + 1;
        return node.ordered[it->second].second;
      }
    }
    std::string norm_key;
    std::string table_piece;
    if (Trim(key).empty()) {
      norm_key = "_empty";
      table_piece = "_empty";
    } else {
      norm_key = naming_->NormalizePath(key);
      table_piece = naming_->NormalizeTableIdentifier(key);
    }
    PathNode child;
    const PathNode& parent = t.nodes[node_id];
    if (node_id == 0) {
      child.raw_path = norm_key;
      child.name = norm_key;
    } else {
      child.raw_path = naming_->MakePath({parent.raw_path, norm_key});
      child.name = naming_->ShortenFragments({parent.raw_path, norm_key});
    }
    child.table_piece = std::move(table_piece);
    child.parent = static_cast<int32_t>(node_id);
    child.preferred_json = Preferred(child.name) == std::optional<DataType>(DataType::kJson);
    auto index = static_cast<uint32_t>(t.nodes.size());
    t.nodes.push_back(std::move(child));
    PathNode& node = t.nodes[node_id];
    auto position = static_cast<uint32_t>(node.ordered.size());
    node.children.emplace(std::string(key), position);
    node.ordered.emplace_back(std::string(key), index);
    node.next = position + 1;
    return index;
  }

  uint32_t NestedTableFor(uint32_t ti, uint32_t node_id) {
    TableState& t = *tables_[ti];
    int32_t cached = t.nodes[node_id].nested_table;
    if (cached >= 0) return static_cast<uint32_t>(cached);
    std::vector<std::string> fragments = t.fragments;
    const PathNode& node = t.nodes[node_id];
    if (node.parent > 0) fragments.push_back(t.nodes[static_cast<size_t>(node.parent)].raw_path);
    fragments.push_back(node.table_piece);
    std::string name = naming_->ShortenFragments(fragments);
    uint32_t index = GetTable(name, std::move(fragments), static_cast<int32_t>(ti));
    tables_[ti]->nodes[node_id].nested_table = static_cast<int32_t>(index);
    return index;
  }

  std::optional<DataType> Preferred(const std::string& name) const {
    for (const auto& [pattern, type] : preferred_) {
      if (pattern.Matches(name)) return type;
    }
    return std::nullopt;
  }

  int32_t ColumnOf(TableState& t, uint32_t node_id) {
    PathNode& node = t.nodes[node_id];
    if (node.column >= 0) return node.column;
    auto it = t.col_index.find(node.name);
    if (it == t.col_index.end()) return -1;
    node.column = static_cast<int32_t>(it->second);
    return node.column;
  }

  bool KeepAsJson(TableState& t, uint32_t node_id, int lvl) {
    if (lvl <= 0) return true;
    int32_t ci = ColumnOf(t, node_id);
    if (ci >= 0) return t.cols[static_cast<size_t>(ci)].type == DataType::kJson;
    return t.nodes[node_id].preferred_json;
  }

  // -- parsing --

  dom::element Parse(std::string_view json, int64_t line, bool padded = false) {
    bigint_markers_ = false;
    auto result = parser_.parse(json.data(), json.size(), !padded);
    if (result.error() == simdjson::NUMBER_ERROR) {
      if (auto rewritten = RewriteBigNumbers(json)) {
        rewrite_ = std::move(*rewritten);
        result = parser_.parse(rewrite_.data(), rewrite_.size(), true);
        bigint_markers_ = true;
      }
    }
    switch (result.error()) {
      case simdjson::SUCCESS:
        return result.value_unsafe();
      case simdjson::UTF8_ERROR:
        Throw(ErrorKind::kSource, "line {}: invalid UTF-8 in JSON document", line);
      case simdjson::DEPTH_ERROR:
        Throw(ErrorKind::kSource, "line {}: JSON document nested deeper than {} levels", line,
              options_.max_json_depth);
      case simdjson::EMPTY:
        Throw(ErrorKind::kSource, "line {}: empty JSON document", line);
      default:
        Throw(ErrorKind::kSource, "line {}: malformed JSON: {}", line,
              simdjson::error_message(result.error()));
    }
  }

  Value ToValue(dom::element e) const {
    Value v;
    switch (e.type()) {
      case dom::element_type::OBJECT:
        v.kind = VKind::kObject;
        v.elem = e;
        break;
      case dom::element_type::ARRAY:
        v.kind = VKind::kArray;
        v.elem = e;
        break;
      case dom::element_type::STRING:
        v.kind = VKind::kString;
        Get(e, v.str);
        if (bigint_markers_ && IsBigNumMarked(v.str)) {
          v.kind = VKind::kBigNum;
          v.str.remove_prefix(kBigNumMarker.size());
        }
        break;
      case dom::element_type::INT64:
        v.kind = VKind::kInt;
        Get(e, v.i);
        break;
      case dom::element_type::UINT64:
        v.kind = VKind::kUInt;
        Get(e, v.u);
        break;
      case dom::element_type::DOUBLE:
        v.kind = VKind::kDouble;
        Get(e, v.d);
        break;
      case dom::element_type::BOOL:
        v.kind = VKind::kBool;
        Get(e, v.b);
        break;
      case dom::element_type::NULL_VALUE:
        v.kind = VKind::kNull;
        break;
    }
    return v;
  }

  void WriteJson(std::string& out, dom::element e, bool sorted) const {
    switch (e.type()) {
      case dom::element_type::OBJECT: {
        out.push_back('{');
        std::vector<std::pair<std::string_view, dom::element>> fields;
        dom::object object = AsObject(e);
        for (auto field : object) fields.emplace_back(field.key, field.value);
        if (sorted) {
          std::stable_sort(fields.begin(), fields.end(),
                           [](const auto& a, const auto& b) { return a.first < b.first; });
        }
        bool first = true;
        for (const auto& [key, value] : fields) {
          if (!first) out.push_back(',');
          first = false;
          AppendJsonString(out, key);
          out.push_back(':');
          WriteJson(out, value, sorted);
        }
        out.push_back('}');
        break;
      }
      case dom::element_type::ARRAY: {
        out.push_back('[');
        bool first = true;
        dom::array array = AsArray(e);
        for (dom::element item : array) {
          if (!first) out.push_back(',');
          first = false;
          WriteJson(out, item, sorted);
        }
        out.push_back(']');
        break;
      }
      default:
        WriteScalarJson(out, ToValue(e));
    }
  }

  static void WriteScalarJson(std::string& out, const Value& v) {
    switch (v.kind) {
      case VKind::kString:
        AppendJsonString(out, v.str);
        break;
      case VKind::kBigNum:
        out.append(v.str);
        break;
      case VKind::kInt:
        out += std::to_string(v.i);
        break;
      case VKind::kUInt:
        out += std::to_string(v.u);
        break;
      case VKind::kDouble:
        out += PyFloatRepr(v.d);
        break;
      case VKind::kBool:
        out += v.b ? "true" : "false";
        break;
      default:
        out += "null";
    }
  }

  // -- documents and rows --

  void RunItem(dom::element item, int64_t line) {
    ++stats_.items;
    cells_.clear();
    rows_.clear();
    arena_.clear();
    // The ids of a document that threw before its rows were committed are dropped.
    pending_ids_.resize(committed_ids_);
    pending_text_.resize(committed_id_text_);
    dlt_text_active_ = false;  // a previous document may have thrown inside SetDltText
    try {
      if (item.type() == dom::element_type::OBJECT) {
        ProcessRow(root_index_, &item, {}, max_nesting_, nullptr, 0);
      } else {
        ProcessRow(root_index_, nullptr, {"value", item}, max_nesting_, nullptr, 0);
      }
    } catch (Error& e) {
      e.With("line", std::to_string(line));
      throw;
    }
    Commit();
    committed_ids_ = pending_ids_.size();
    committed_id_text_ = pending_text_.size();
    if (pending_ids_.size() >= kPendingIdBatch) HashPendingIds();
  }

  struct SyntheticField {
    std::string_view key;
    dom::element value;
  };

  ArenaRef ArenaPut(std::string_view text) {
    ArenaRef ref{arena_.size(), text.size()};
    arena_.append(text);
    return ref;
  }
  std::string_view ArenaGet(ArenaRef ref) const { return {arena_.data() + ref.off, ref.len}; }

  // Stage one row of table `ti` (from `obj`, or the one synthetic field), then its nested rows.
  void ProcessRow(uint32_t ti, const dom::element* obj, SyntheticField synthetic, int lvl,
                  const RowLink* link, size_t depth) {
    {
      TableState& t = *tables_[ti];
      if (t.cols.empty() && !t.is_dlt && t.contract.tables != ContractMode::kEvolve) {
        if (t.contract.tables == ContractMode::kFreeze) {
          Throw(ErrorKind::kSchemaContract,
                "schema contract violation: cannot create new table {} (tables: freeze)", t.name);
        }
        ++stats_.discarded_rows;
        return;
      }
    }
    ++row_serial_;
    size_t row_index = rows_.size();
    rows_.push_back({ti, cells_.size(), cells_.size(), false});
    size_t cols_before = tables_[ti]->cols.size();
    row_table_new_ = cols_before == 0;
    if (queues_.size() <= depth) queues_.resize(depth + 1);
    queues_[depth].clear();
    bool keep = true;
    stack_.clear();
    if (obj != nullptr) {
      stack_.push_back({AsObject(*obj), 0, lvl});
    } else {
      keep = HandleField(ti, Child(*tables_[ti], 0, synthetic.key), synthetic.value, lvl, depth);
    }
    while (keep && !stack_.empty()) {
      Frame frame = stack_.back();
      stack_.pop_back();
      GatherFields(*tables_[ti], frame.node, frame.obj);
      // HandleField may push frames; fields_ is only read here.
      for (size_t i = 0; keep && i < fields_.size(); ++i) {
        keep = HandleField(ti, field_nodes_[i], fields_[i], frame.lvl, depth);
      }
    }
    if (!keep) {
      DropRow(ti, row_index, cols_before);
      return;
    }

    // dlt columns: propagated, _dlt_load_id (root), _dlt_parent_id + _dlt_list_idx, _dlt_id.
    TableState& t = *tables_[ti];
    ArenaRef row_id;
    bool has_id = false;
    if (int32_t ci = ColumnOf(t, DltNode(t, DltCol::kId)); ci >= 0) {
      const ColState& c = t.cols[static_cast<size_t>(ci)];
      if (c.stage_stamp == row_serial_) {
        const Cell& cell = cells_[c.cell_pos];
        std::string_view existing = CellString(cell);
        if ((cell.kind == CellKind::kStrPtr || cell.kind == CellKind::kStrArena) &&
            !existing.empty()) {
          row_id = ArenaPut(existing);
          has_id = true;
        }
      }
    }
    if (!has_id) {
      if (link == nullptr) {
        row_id = row_id_kind_ == RowIdKind::kRandom || obj == nullptr ? RandomRowId()
                                                                      : ArenaPut(RootRowId(obj));
      } else {
        row_id = NestedId(link->parent_id, ti, link->idx, depth);
      }
    }
    ArenaRef root_id = link == nullptr ? row_id : link->root_id;
    if (link != nullptr && propagate_root_key_) SetDltText(ti, DltCol::kRootId, root_id);
    if (link == nullptr) SetDltText(ti, DltCol::kLoadId, ArenaPut(options_.load_id));
    if (link != nullptr) {
      SetDltText(ti, DltCol::kParentId, link->parent_id);
      Value idx;
      idx.kind = VKind::kInt;
      idx.i = link->idx;
      SetField(ti, DltNode(*tables_[ti], DltCol::kListIdx), idx, true);
    }
    SetDltText(ti, DltCol::kId, row_id);
    rows_[row_index].cell_end = cells_.size();

    // Nested rows, list by list, each element depth-first.
    for (size_t q = 0; q < queues_[depth].size(); ++q) {
      ListRef list = queues_[depth][q];
      uint32_t nested = NestedTableFor(ti, list.node);
      int64_t idx = 0;
      for (dom::element element : list.array) {
        RowLink child_link{row_id, idx, root_id};
        auto type = element.type();
        if (type == dom::element_type::OBJECT) {
          ProcessRow(nested, &element, {}, lvl - 1, &child_link, depth + 1);
        } else if (type == dom::element_type::ARRAY) {
          ProcessRow(nested, nullptr, {"list", element}, lvl - 2, &child_link, depth + 1);
        } else {
          ProcessRow(nested, nullptr, {"value", element}, lvl - 1, &child_link, depth + 1);
        }
        ++idx;
      }
    }
  }

  /// Collect the fields of `obj` (a value of node `node_id`) with their child nodes into fields_ /
  /// field_nodes_. Duplicate keys keep the last value at the first key's position (as a Python
  /// dict does); they are found by the child node repeating, so the common case costs nothing.
  void GatherFields(TableState& t, uint32_t node_id, dom::object obj) {
    fields_.clear();
    field_nodes_.clear();
    uint64_t stamp = ++gather_stamp_;
    bool duplicates = false;
    for (auto field : obj) {
      uint32_t child = Child(t, node_id, field.key);
      fields_.push_back(field.value);
      field_nodes_.push_back(child);
      if (t.nodes[child].stamp == stamp) duplicates = true;
      t.nodes[child].stamp = stamp;
    }
    if (!duplicates) return;
    std::unordered_map<uint32_t, size_t> position;
    std::vector<dom::element> unique;
    std::vector<uint32_t> unique_nodes;
    for (size_t i = 0; i < fields_.size(); ++i) {
      auto [it, inserted] = position.emplace(field_nodes_[i], unique.size());
      if (inserted) {
        unique.push_back(fields_[i]);
        unique_nodes.push_back(field_nodes_[i]);
      } else {
        unique[it->second] = fields_[i];
      }
    }
    fields_ = std::move(unique);
    field_nodes_ = std::move(unique_nodes);
  }

  // Returns false when the row must be dropped.
  bool HandleField(uint32_t ti, uint32_t node, dom::element value, int lvl, size_t depth) {
    TableState& t = *tables_[ti];
    auto type = value.type();
    if (type == dom::element_type::OBJECT || type == dom::element_type::ARRAY) {
      if (!KeepAsJson(t, node, lvl)) {
        if (type == dom::element_type::OBJECT) {
          stack_.push_back({AsObject(value), node, lvl - 1});
        } else {
          queues_[depth].push_back({node, AsArray(value)});
        }
        return true;
      }
    }
    return SetField(ti, node, ToValue(value), false);
  }

  int32_t LookupColumn(TableState& t, std::string_view name) {
    auto it = t.col_index.find(name);
    return it == t.col_index.end() ? -1 : static_cast<int32_t>(it->second);
  }

  // The node of a dlt column under the row (cached: nodes are never removed).
  uint32_t DltNode(TableState& t, DltCol which) {
    int32_t& node = t.dlt_nodes[static_cast<size_t>(which)];
    if (node < 0)
      node = static_cast<int32_t>(Child(t, 0, kDltColNames[static_cast<size_t>(which)]));
    return static_cast<uint32_t>(node);
  }

  void SetDltText(uint32_t ti, DltCol column, ArenaRef value) {
    Value v;
    v.kind = VKind::kString;
    v.str = ArenaGet(value);
    // The arena may grow while the value is in use, so stage it by reference instead.
    dlt_text_ = value;
    dlt_text_active_ = true;
    SetField(ti, DltNode(*tables_[ti], column), v, true);
    dlt_text_active_ = false;
  }

  // The id of a root row made of random bytes, into the arena (as RootRowId would make it).
  ArenaRef RandomRowId() {
    unsigned char bytes[kDigestBytes];
    uint64_t a = rng_(), b = rng_();
    std::memcpy(bytes, &a, 8);
    std::memcpy(bytes + 8, &b, 2);
    char id[kDigestChars];
    EncodeDigest(bytes, id);
    return ArenaPut({id, kDigestChars});
  }

  // The place in the arena of NestedRowId(parent_id, t.name, idx) for a row `depth` levels below
  // the root. Until HashPendingIds writes the digest, the place holds a fixed text; only Commit
  // reads the dlt columns' text (they are staged by reference), except when a user's value made
  // such a column non-text: then the placeholder, like any digest, fails to coerce and goes to
  // the text variant, also by reference. Commit records every cell that copies a placeholder.
  ArenaRef NestedId(ArenaRef parent_id, uint32_t ti, int64_t idx, size_t depth) {
    ArenaRef ref = ArenaPut(std::string_view(kPendingId, kDigestChars));
    PendingId id{};
    id.out = ref.off;
    id.parent = DocumentPendingId(parent_id);
    if (id.parent < 0) {
      id.parent_off = pending_text_.size();
      id.parent_len = parent_id.len;
      pending_text_.append(ArenaGet(parent_id));
    }
    id.table = ti;
    id.idx = idx;
    id.depth = depth;
    pending_ids_.push_back(id);
    return ref;
  }

  // The index of the current document's pending id whose place is `ref`, or -1. Their places
  // were appended to the arena in order, so they are sorted (a list of a million elements
  // makes as many lookups).
  int64_t DocumentPendingId(ArenaRef ref) const {
    if (ref.len != kDigestChars || committed_ids_ == pending_ids_.size()) return -1;
    auto begin = pending_ids_.begin() + static_cast<std::ptrdiff_t>(committed_ids_);
    auto it = std::lower_bound(begin, pending_ids_.end(), ref.off,
                               [](const PendingId& id, size_t off) { return id.out < off; });
    if (it == pending_ids_.end() || it->out != ref.off) return -1;
    return it - pending_ids_.begin();
  }

  // Hash every pending id, one nesting level at a time (a nested row's id hashes its parent's id,
  // which is one level up or final), write the digests into the committed cells that hold them and
  // into the current document's places (for its rows not committed yet), and forget them.
  void HashPendingIds() {
    if (pending_ids_.empty()) return;
    size_t max_depth = 0;
    for (const PendingId& id : pending_ids_) max_depth = std::max(max_depth, id.depth);
    for (size_t depth = 1; depth <= max_depth; ++depth) {
      id_group_.clear();
      for (size_t i = 0; i < pending_ids_.size(); ++i) {
        if (pending_ids_[i].depth == depth) id_group_.push_back(i);
      }
      HashIdGroup();
    }
    for (const IdPatch& patch : id_patches_) {
      tables_[patch.table]->buffer[patch.col].OverwriteString(
          patch.row, {pending_ids_[patch.id].digest, kDigestChars});
    }
    for (size_t i = committed_ids_; i < pending_ids_.size(); ++i) {
      std::memcpy(arena_.data() + pending_ids_[i].out, pending_ids_[i].digest, kDigestChars);
    }
    pending_ids_.clear();
    pending_text_.clear();
    id_patches_.clear();
    committed_ids_ = 0;
    committed_id_text_ = 0;
  }

  // Hash the pending ids listed in id_group_ (their parents' ids are final).
  void HashIdGroup() {
    if (id_group_.empty()) return;
    id_text_.clear();
    id_ends_.clear();
    for (size_t i : id_group_) {
      const PendingId& id = pending_ids_[i];
      if (id.parent >= 0) {
        id_text_.append(pending_ids_[static_cast<size_t>(id.parent)].digest, kDigestChars);
      } else {
        id_text_.append(pending_text_, id.parent_off, id.parent_len);
      }
      id_text_.push_back('_');
      id_text_.append(tables_[id.table]->name);
      id_text_.push_back('_');
      char digits[24];
      id_text_.append(digits, std::to_chars(digits, digits + sizeof(digits), id.idx).ptr);
      id_ends_.push_back(id_text_.size());
    }
    id_views_.clear();
    size_t from = 0;
    for (size_t to : id_ends_) {
      id_views_.emplace_back(id_text_.data() + from, to - from);
      from = to;
    }
    id_bytes_.resize(id_views_.size() * kDigestBytes);
    schema::Shake128Many(id_views_, id_bytes_.data(), kDigestBytes);
    for (size_t k = 0; k < id_group_.size(); ++k) {
      unsigned char bytes[kDigestBytes];
      std::memcpy(bytes, id_bytes_.data() + k * kDigestBytes, kDigestBytes);
      EncodeDigest(bytes, pending_ids_[id_group_[k]].digest);
    }
  }

  // The id of a root row made from its primary key or its content (merge strategies, §5.3).
  std::string RootRowId(const dom::element* obj) {
    std::string text;
    dom::object item = AsObject(*obj);
    if (row_id_kind_ == RowIdKind::kKeyHash) {
      text.push_back('{');
      bool first = true;
      for (const std::string& key : primary_key_) {
        if (!first) text.push_back(',');
        first = false;
        AppendJsonString(text, key);
        text.push_back(':');
        bool found = false;
        for (auto field : item) {
          if (field.key == key || naming_->NormalizePath(field.key) == key) {
            WriteJson(text, field.value, true);
            found = true;
            break;
          }
        }
        if (!found) text += "null";
      }
      text.push_back('}');
    } else {
      std::vector<std::pair<std::string_view, dom::element>> fields;
      for (auto field : item) {
        if (field.key.substr(0, schema::kDltPrefix.size()) != schema::kDltPrefix) {
          fields.emplace_back(field.key, field.value);
        }
      }
      std::stable_sort(fields.begin(), fields.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      text.push_back('{');
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) text.push_back(',');
        AppendJsonString(text, fields[i].first);
        text.push_back(':');
        WriteJson(text, fields[i].second, true);
      }
      text.push_back('}');
    }
    return DltDigest(text);
  }

  // -- values --

  [[noreturn]] void Violation(const TableState& t, std::string_view column, const Value& v,
                              std::string_view what, std::string_view entity) const {
    Throw(ErrorKind::kSchemaContract,
          "schema contract violation: table {} column {} (value of type {}): {} ({}: freeze)",
          t.name, column, KindName(v), what, entity);
  }

  // Returns false when the row must be dropped.
  bool SetField(uint32_t ti, uint32_t node_id, const Value& v, bool is_dlt) {
    TableState& t = *tables_[ti];
    if (v.kind == VKind::kNull) {
      HandleNull(t, node_id);
      return true;
    }
    int32_t ci = ColumnOf(t, node_id);
    if (ci < 0) {
      const std::string name = t.nodes[node_id].name;
      bool contract_applies = !is_dlt && !t.is_dlt && !row_table_new_ &&
                              name.substr(0, schema::kDltPrefix.size()) != schema::kDltPrefix;
      if (contract_applies && t.contract.columns != ContractMode::kEvolve) {
        switch (t.contract.columns) {
          case ContractMode::kFreeze:
            Violation(t, name, v, "new column", "columns");
          case ContractMode::kDiscardRow:
            return false;
          default:
            ++stats_.discarded_values;
            return true;
        }
      }
      ci = NewColumn(t, name, Infer(v, name, false), false);
      t.nodes[node_id].column = ci;
    }
    ColState& c = t.cols[static_cast<size_t>(ci)];
    // The value is converted straight into a new last cell (see StageLast); nothing below adds
    // cells before it is staged or dropped.
    cells_.emplace_back();
    if (Coerce(v, c, cells_.back())) {
      StageLast(t, static_cast<uint32_t>(ci));
      return true;
    }
    // A type the resource's column hints set is kept: widening it would fight the hint on the
    // next run (a value it cannot take goes to a variant column, as without widen_in_place).
    if (options_.widen_in_place && !(ti == root_index_ && hinted_types_.count(c.name))) {
      if (auto to = Widening(c.type, v)) {
        Widen(t, static_cast<uint32_t>(ci), *to);
        if (Coerce(v, t.cols[static_cast<size_t>(ci)], cells_.back())) {
          StageLast(t, static_cast<uint32_t>(ci));
          return true;
        }
      }
    }
    // Variant column <col>__v_<type>.
    DataType py_type = PyTypeOf(v);
    PathNode& node = t.nodes[node_id];
    int32_t vi = -1;
    for (const auto& [type, index] : node.variants) {
      if (type == py_type) vi = index;
    }
    if (vi < 0) {
      std::string vname =
          naming_->ShortenFragments({node.name, "v_" + std::string(schema::DataTypeName(py_type))});
      vi = LookupColumn(t, vname);
      if (vi < 0 && py_type == DataType::kJson) {
        vi = LookupColumn(t, naming_->ShortenFragments({node.name, "v_complex"}));
      }
      if (vi < 0) {
        if (!is_dlt && !t.is_dlt && t.contract.data_type != ContractMode::kEvolve) {
          switch (t.contract.data_type) {
            case ContractMode::kFreeze:
              Violation(t, node.name, v,
                        fmt::format("cannot coerce into {} (would create variant column {})",
                                    DataTypeName(t.cols[static_cast<size_t>(ci)].type), vname),
                        "data_type");
            case ContractMode::kDiscardRow:
              cells_.pop_back();
              return false;
            default:
              cells_.pop_back();
              ++stats_.discarded_values;
              return true;
          }
        }
        vi = NewColumn(t, vname, Infer(v, vname, true), true);
      }
      t.nodes[node_id].variants.emplace_back(py_type, vi);
    }
    ColState& variant = t.cols[static_cast<size_t>(vi)];
    if (!Coerce(v, variant, cells_.back())) {
      Throw(ErrorKind::kSchema,
            "cannot coerce a {} value into column {}.{} of type {} nor into its variant {} of "
            "type {}",
            KindName(v), t.name, t.nodes[node_id].name,
            DataTypeName(t.cols[static_cast<size_t>(ci)].type), variant.name,
            DataTypeName(variant.type));
    }
    StageLast(t, static_cast<uint32_t>(vi));
    return true;
  }

  void HandleNull(TableState& t, uint32_t node_id) {
    int32_t ci = ColumnOf(t, node_id);
    const std::string& name = t.nodes[node_id].name;
    if (ci >= 0) {
      if (!t.cols[static_cast<size_t>(ci)].nullable) {
        Throw(ErrorKind::kSchema, "cannot coerce null into non-nullable column {}.{}", t.name,
              name);
      }
      return;
    }
    for (const auto& [hint, pattern] : hints_) {
      if (hint == "not_null" && pattern.Matches(name)) {
        Throw(ErrorKind::kSchema, "cannot coerce null into new non-nullable column {}.{}", t.name,
              name);
      }
    }
  }

  DataType Infer(const Value& v, const std::string& name, bool is_variant) const {
    DataType type = DataType::kText;
    switch (v.kind) {
      case VKind::kString:
        if (detect_iso_timestamp_ && ParseIsoDatetime(v.str)) {
          type = DataType::kTimestamp;
        } else if (detect_iso_date_ && ParseIsoDate(v.str)) {
          type = DataType::kDate;
        }
        break;
      case VKind::kInt:
        type = detect_timestamp_ && NearNow(static_cast<double>(v.i)) ? DataType::kTimestamp
                                                                      : DataType::kBigint;
        break;
      case VKind::kUInt:
      case VKind::kBigNum: {
        // Beyond int64 (detected as large_integer or not: bigint cannot hold it).
        size_t digits = v.kind == VKind::kUInt ? std::to_string(v.u).size()
                                               : v.str.size() - (v.str[0] == '-' ? 1 : 0);
        type = digits <= kMaxWeiDigits ? DataType::kWei : DataType::kText;
        if (type == DataType::kWei && detect_wei_to_double_) type = DataType::kDouble;
        break;
      }
      case VKind::kDouble:
        type = detect_timestamp_ && NearNow(v.d) ? DataType::kTimestamp : DataType::kDouble;
        break;
      case VKind::kBool:
        type = DataType::kBool;
        break;
      default:
        type = DataType::kJson;
    }
    if (!is_variant) {
      if (auto preferred = Preferred(name)) type = *preferred;
    }
    return type;
  }

  bool NearNow(double seconds) const {
    double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
    double five_years = 5 * 365.25 * 86400;
    return seconds >= now - five_years && seconds <= now + five_years;
  }

  int32_t NewColumn(TableState& t, const std::string& name, DataType type, bool variant) {
    if (pending_root_ && t.name == root_name_) {
      schema_.MergeTable(*pending_root_);
      pending_root_.reset();
    }
    schema::Column column;
    bool was_incomplete = false;
    const schema::Table* existing = schema_.FindTable(t.name);
    if (existing) {
      if (const schema::Column* hinted = existing->FindColumn(name)) {
        column = *hinted;  // declared props override inferred ones
        was_incomplete = true;
      }
    }
    column.name = name;
    column.data_type = type;
    if (variant) column.variant = true;
    for (const auto& [hint, pattern] : hints_) {
      if (!pattern.Matches(name)) continue;
      if (hint == "not_null") {
        column.nullable = false;
      } else if (hint == "unique") {
        column.unique = true;
      } else if (hint == "row_key") {
        column.row_key = true;
      } else if (hint == "parent_key") {
        column.parent_key = true;
      } else if (hint == "root_key") {
        column.root_key = true;
      } else if (hint == "primary_key") {
        column.primary_key = true;
      } else if (hint == "merge_key") {
        column.merge_key = true;
      } else if (hint == "partition") {
        column.partition = true;
      } else if (hint == "cluster") {
        column.cluster = true;
      } else if (hint == "sort") {
        column.sort = true;
      } else if (hint == "hard_delete") {
        column.hard_delete = true;
      }
    }
    schema::Table partial;
    partial.name = t.name;
    if (t.parent >= 0) partial.parent = tables_[static_cast<size_t>(t.parent)]->name;
    partial.columns.push_back(column);
    schema_.MergeTable(partial);
    AddColState(t, *schema_.FindTable(t.name)->FindColumn(name), was_incomplete);
    return static_cast<int32_t>(t.cols.size() - 1);
  }

  // Drop the staged row (its nested rows were never staged) and the columns it created.
  void DropRow(uint32_t ti, size_t row_index, size_t cols_before) {
    TableState& t = *tables_[ti];
    rows_[row_index].dropped = true;
    cells_.resize(rows_[row_index].cell_begin);
    ++stats_.discarded_rows;
    if (t.cols.size() == cols_before) return;
    schema::Table* table = schema_.FindTable(t.name);
    while (t.cols.size() > cols_before) {
      const ColState& c = t.cols.back();
      auto& columns = table->columns;
      auto it = std::find_if(columns.begin(), columns.end(),
                             [&](const schema::Column& col) { return col.name == c.name; });
      if (it != columns.end()) {
        if (c.was_incomplete) {
          it->data_type.reset();
        } else {
          columns.erase(it);
        }
      }
      t.col_index.erase(c.name);
      t.cols.pop_back();
      t.buffer.pop_back();
    }
    for (PathNode& node : t.nodes) {
      if (node.column >= static_cast<int32_t>(cols_before)) node.column = -1;
      std::erase_if(node.variants, [&](const auto& entry) {
        return entry.second >= static_cast<int32_t>(cols_before);
      });
    }
  }

  std::optional<DataType> Widening(DataType from, const Value& v) const {
    if (from != DataType::kBigint) return std::nullopt;
    if (v.kind == VKind::kDouble) return DataType::kDouble;
    if (v.kind == VKind::kUInt) return DataType::kWei;
    if (v.kind == VKind::kBigNum && v.str.size() - (v.str[0] == '-' ? 1 : 0) <= kMaxWeiDigits) {
      return DataType::kWei;
    }
    return std::nullopt;
  }

  void Widen(TableState& t, uint32_t ci, DataType to) {
    ColState& c = t.cols[ci];
    schema::Column* column = schema_.FindTable(t.name)->FindColumn(c.name);
    DataType from = c.type;
    column->data_type = to;
    c.type = to;
    c.phys = PhysicalFor(*column);
    Column widened(c.phys);
    const Column& old = t.buffer[ci];
    for (size_t row = 0; row < old.size(); ++row) {
      if (!old.IsValid(row)) {
        widened.AppendNull();
      } else if (to == DataType::kDouble) {
        widened.Append<double>(static_cast<double>(old.Get<int64_t>(row)));
      } else {
        widened.Append<__int128>(old.Get<int64_t>(row));
      }
    }
    t.buffer[ci] = std::move(widened);
    auto it = std::find_if(widenings_.begin(), widenings_.end(), [&](const ColumnWidening& w) {
      return w.table == t.name && w.column == c.name;
    });
    if (it != widenings_.end()) {
      it->to = to;
    } else {
      widenings_.push_back({t.name, c.name, from, to});
    }
  }

  // Stage the last cell (just converted in place) as the value of column `ci` of the current row;
  // a column given twice (duplicate keys) keeps the later value at the first one's place.
  void StageLast(TableState& t, uint32_t ci) {
    ColState& c = t.cols[ci];
    Cell& last = cells_.back();
    last.col = ci;
    if (c.stage_stamp == row_serial_) {
      cells_[c.cell_pos] = last;
      cells_.pop_back();
      return;
    }
    c.stage_stamp = row_serial_;
    c.cell_pos = static_cast<uint32_t>(cells_.size() - 1);
  }

  std::string_view CellString(const Cell& cell) const {
    if (cell.kind == CellKind::kStrPtr) return {cell.ptr, cell.len};
    if (cell.kind == CellKind::kStrArena) return {arena_.data() + cell.off, cell.len};
    return {};
  }

  void PutString(Cell& cell, std::string_view text) {
    cell.kind = CellKind::kStrArena;
    cell.off = arena_.size();
    cell.len = text.size();
    arena_.append(text);
  }

  // A value that lives as long as the document (simdjson's buffers or static text).
  static void PointString(Cell& cell, std::string_view text) {
    cell.kind = CellKind::kStrPtr;
    cell.ptr = text.data();
    cell.len = text.size();
  }

  std::string IntegerText(const Value& v) const {
    if (v.kind == VKind::kInt) return std::to_string(v.i);
    if (v.kind == VKind::kUInt) return std::to_string(v.u);
    return std::string(v.str);
  }

  bool Coerce(const Value& v, const ColState& c, Cell& cell) {
    bool is_integer = v.kind == VKind::kInt || v.kind == VKind::kUInt || v.kind == VKind::kBigNum;
    switch (c.type) {
      case DataType::kText:
        switch (v.kind) {
          case VKind::kString:
            if (dlt_text_active_) {
              cell.kind = CellKind::kStrArena;
              cell.off = dlt_text_.off;
              cell.len = dlt_text_.len;
            } else {
              PointString(cell, v.str);
            }
            return true;
          case VKind::kBigNum:
            PointString(cell, v.str);
            return true;
          case VKind::kInt:
          case VKind::kUInt:
            PutString(cell, IntegerText(v));
            return true;
          case VKind::kDouble:
            PutString(cell, PyFloatRepr(v.d));
            return true;
          case VKind::kBool:
            PointString(cell, v.b ? "True" : "False");
            return true;
          case VKind::kObject:
          case VKind::kArray: {
            std::string json;
            WriteJson(json, v.elem, false);
            PutString(cell, json);
            return true;
          }
          default:
            return false;
        }
      case DataType::kBigint: {
        std::optional<int64_t> value;
        if (v.kind == VKind::kInt) {
          value = v.i;
        } else if (v.kind == VKind::kDouble) {
          if (std::isfinite(v.d) && std::floor(v.d) == v.d && v.d >= -9.223372036854775e18 &&
              v.d < 9.223372036854775e18) {
            value = static_cast<int64_t>(v.d);
          }
        } else if (v.kind == VKind::kString) {
          value = TextToInt64(v.str);
        }
        if (!value) return false;
        cell.kind = CellKind::kI64;
        cell.i64 = *value;
        return true;
      }
      case DataType::kDouble: {
        std::optional<double> value;
        if (v.kind == VKind::kInt) value = static_cast<double>(v.i);
        if (v.kind == VKind::kUInt) value = static_cast<double>(v.u);
        if (v.kind == VKind::kBigNum) value = TextToDouble(v.str);
        if (v.kind == VKind::kDouble) value = v.d;
        if (v.kind == VKind::kString) value = TextToDouble(v.str);
        if (!value) return false;
        cell.kind = CellKind::kF64;
        cell.f64 = *value;
        return true;
      }
      case DataType::kBool: {
        std::optional<bool> value;
        if (v.kind == VKind::kBool) value = v.b;
        if (v.kind == VKind::kInt) value = v.i != 0;
        if (v.kind == VKind::kUInt) value = v.u != 0;
        if (v.kind == VKind::kBigNum) value = true;  // never zero: zero fits 64 bits
        if (v.kind == VKind::kDouble) value = v.d != 0;
        if (v.kind == VKind::kString) value = TextToBool(v.str);
        if (!value) return false;
        cell.kind = CellKind::kI64;
        cell.i64 = *value ? 1 : 0;
        return true;
      }
      case DataType::kTimestamp: {
        std::optional<Micros> value;
        if (v.kind == VKind::kString) value = TextToTimestamp(v.str);
        if (v.kind == VKind::kInt) value = SecondsToMicros(static_cast<double>(v.i));
        if (v.kind == VKind::kDouble) value = SecondsToMicros(v.d);
        if (!value) return false;
        cell.kind = CellKind::kI64;
        cell.i64 = *value;
        return true;
      }
      case DataType::kDate: {
        std::optional<Micros> micros;
        if (v.kind == VKind::kString) {
          if (auto date = ParseIsoDate(v.str)) {
            cell.kind = CellKind::kI32;
            cell.i64 = *date;
            return true;
          }
          micros = ParseIsoDatetime(v.str);
        }
        if (v.kind == VKind::kInt) micros = SecondsToMicros(static_cast<double>(v.i));
        if (v.kind == VKind::kDouble) micros = SecondsToMicros(v.d);
        if (!micros) return false;
        constexpr int64_t kDay = 86'400'000'000;
        int64_t days = *micros >= 0 ? *micros / kDay : -((-*micros + kDay - 1) / kDay);
        if (days < std::numeric_limits<int32_t>::min() ||
            days > std::numeric_limits<int32_t>::max()) {
          return false;
        }
        cell.kind = CellKind::kI32;
        cell.i64 = days;
        return true;
      }
      case DataType::kTime: {
        if (v.kind != VKind::kString) return false;
        auto value = ParseIsoTime(v.str);
        if (!value) return false;
        cell.kind = CellKind::kI64;
        cell.i64 = *value;
        return true;
      }
      case DataType::kDecimal:
      case DataType::kWei: {
        int precision = c.phys.precision == 0 ? 38 : c.phys.precision;
        int scale = c.phys.scale;
        std::optional<__int128> value;
        if (v.kind == VKind::kString) value = TextToDecimal(v.str, precision, scale);
        if (is_integer) value = TextToDecimal(IntegerText(v), precision, scale);
        if (v.kind == VKind::kDouble && std::isfinite(v.d)) {
          value = TextToDecimal(PyFloatRepr(v.d), precision, scale);
        }
        if (!value) return false;
        cell.SetI128(*value);
        return true;
      }
      case DataType::kBinary: {
        std::optional<std::string> value;
        if (v.kind == VKind::kString) value = TextToBinary(v.str);
        if (v.kind == VKind::kInt) value = Int64ToBytes(v.i);
        if (!value) return false;
        PutString(cell, *value);
        return true;
      }
      case DataType::kJson: {
        if (v.kind == VKind::kObject || v.kind == VKind::kArray) {
          std::string json;
          WriteJson(json, v.elem, false);
          PutString(cell, json);
          return true;
        }
        if (v.kind != VKind::kString) return false;
        auto parsed = aux_parser_.parse(v.str.data(), v.str.size(), true);
        if (parsed.error() != simdjson::SUCCESS) return false;
        std::string json;
        WriteJson(json, parsed.value_unsafe(), false);
        PutString(cell, json);
        return true;
      }
    }
    return false;
  }

  // -- output --

  void Commit() {
    for (const StagedRow& row : rows_) {
      if (row.dropped) continue;
      TableState& t = *tables_[row.table];
      ++commit_serial_;
      for (size_t i = row.cell_begin; i < row.cell_end; ++i) {
        const Cell& cell = cells_[i];
        ColState& c = t.cols[cell.col];
        if (cell.kind == CellKind::kStrArena) {
          if (int64_t id = DocumentPendingId({cell.off, cell.len}); id >= 0) {
            id_patches_.push_back(
                {static_cast<size_t>(id), row.table, cell.col, t.buffer[cell.col].size()});
          }
        }
        AppendCell(t.buffer[cell.col], c, cell);
        c.commit_stamp = commit_serial_;
      }
      for (size_t i = 0; i < t.cols.size(); ++i) {
        if (t.cols[i].commit_stamp != commit_serial_) t.buffer[i].AppendNull();
      }
      ++t.buffered;
      ++t.rows_total;
      if (t.buffered >= options_.batch_rows) Emit(t);
    }
  }

  void AppendCell(Column& column, const ColState& c, const Cell& cell) const {
    switch (c.phys.id) {
      case PhysicalType::kDouble:
        column.Append<double>(cell.kind == CellKind::kI64 ? static_cast<double>(cell.i64)
                                                          : cell.f64);
        break;
      case PhysicalType::kBool:
        column.AppendBool(cell.i64 != 0);
        break;
      case PhysicalType::kDecimal:
        column.Append<__int128>(cell.kind == CellKind::kI64 ? __int128{cell.i64} : cell.I128());
        break;
      case PhysicalType::kDate:
        column.Append<int32_t>(static_cast<int32_t>(cell.i64));
        break;
      case PhysicalType::kText:
      case PhysicalType::kJson:
      case PhysicalType::kBinary:
        column.AppendString(CellString(cell));
        break;
      default:
        column.Append<int64_t>(cell.i64);
    }
  }

  void Emit(TableState& t) {
    // A batch leaves with final ids: the pending ones are hashed into the cells that hold them
    // (in every table, so the patches refer to buffers that are all still here).
    HashPendingIds();
    if (t.buffered == 0) return;
    Fields fields;
    fields.reserve(t.cols.size());
    for (const ColState& c : t.cols) fields.push_back({c.name, c.phys, c.nullable});
    Batch batch(std::move(fields));
    bool full = t.buffered >= options_.batch_rows;
    std::vector<size_t>& char_bytes = t.char_bytes;
    char_bytes.assign(t.cols.size(), 0);
    for (size_t i = 0; i < t.cols.size(); ++i) {
      const Column& column = t.buffer[i];
      if (full && IsVarWidth(t.cols[i].phys.id) && column.size() > 0) {
        std::string_view first = column.GetString(0);
        std::string_view last = column.GetString(column.size() - 1);
        char_bytes[i] = static_cast<size_t>(last.data() + last.size() - first.data());
      }
      batch.column(i) = std::move(t.buffer[i]);
      t.buffer[i] = Column(t.cols[i].phys);
    }
    t.buffered = 0;
    sink_(t.name, std::move(batch));
    if (!full) return;
    // After a full batch the next one will most likely be as large: its buffers get their size
    // at once (no growing and copying), and after the sink dropped the batch (its memory).
    for (size_t i = 0; i < t.cols.size(); ++i) {
      t.buffer[i].Reserve(options_.batch_rows, char_bytes[i] + char_bytes[i] / 8);
    }
  }

 public:
  schema::Schema base_;
  schema::Schema schema_;
  RootTableSpec spec_;
  NormalizerOptions options_;
  BatchSink sink_;
  std::unique_ptr<schema::NamingConvention> naming_;
  dom::parser parser_;
  dom::parser aux_parser_;
  std::string id_text_;
  std::vector<size_t> id_ends_;
  std::vector<std::string_view> id_views_;
  std::vector<unsigned char> id_bytes_;
  std::set<std::string> hinted_types_;  // root columns whose data_type a column hint sets
  std::vector<PendingId> pending_ids_;
  std::string pending_text_;  // parents' final ids of pending_ids_
  std::vector<IdPatch> id_patches_;
  size_t committed_ids_ = 0;  // pending_ids_[0, committed_ids_) belong to committed documents
  size_t committed_id_text_ = 0;
  std::vector<size_t> id_group_;
  std::string rewrite_;
  bool bigint_markers_ = false;

  bool detect_iso_timestamp_ = false, detect_iso_date_ = false, detect_timestamp_ = false,
       detect_wei_to_double_ = false;
  std::vector<std::pair<NamePattern, DataType>> preferred_;
  std::vector<std::pair<std::string, NamePattern>> hints_;
  std::optional<SchemaContract> schema_contract_;

  std::string root_name_;
  std::optional<schema::Table> pending_root_;
  uint32_t root_index_ = 0;
  int max_nesting_ = 1000;
  RowIdKind row_id_kind_ = RowIdKind::kRandom;
  std::vector<std::string> primary_key_;
  bool propagate_root_key_ = false;
  std::mt19937_64 rng_;

  std::vector<std::unique_ptr<TableState>> tables_;
  std::unordered_map<std::string, uint32_t> table_index_;
  std::vector<ColumnWidening> widenings_;

  // Per-document scratch, reused.
  std::vector<Cell> cells_;
  std::vector<StagedRow> rows_;
  std::string arena_;
  std::vector<Frame> stack_;
  std::vector<std::vector<ListRef>> queues_;
  std::vector<dom::element> fields_;
  std::vector<uint32_t> field_nodes_;
  uint64_t gather_stamp_ = 0;
  uint64_t row_serial_ = 0;
  uint64_t commit_serial_ = 0;
  bool row_table_new_ = false;
  ArenaRef dlt_text_;
  bool dlt_text_active_ = false;
  NormalizeStats stats_;
};

SchemaUpdate RelationalNormalizer::Impl::TakeSchemaUpdate() const {
  SchemaUpdate update;
  update.widenings = widenings_;
  std::unordered_map<std::string, int64_t> rows;
  for (const auto& t : tables_) rows[t->name] = t->rows_total;
  for (const schema::Table& local : schema_.tables()) {
    const schema::Table* base = base_.FindTable(local.name);
    bool seen = rows.count(local.name) && rows[local.name] > 0;
    Json x_normalizer =
        local.extra.contains("x-normalizer") ? local.extra["x-normalizer"] : Json::object();
    bool mark_seen =
        seen && !(x_normalizer.contains("seen-data") && x_normalizer["seen-data"] == Json(true));
    if (mark_seen) x_normalizer["seen-data"] = true;
    if (base == nullptr) {
      // A table whose only rows were dropped by a contract is not proposed.
      if (!local.HasCompleteColumns()) continue;
      schema::Table partial = local;
      if (mark_seen) partial.extra["x-normalizer"] = x_normalizer;
      update.tables.push_back(std::move(partial));
      continue;
    }
    schema::Table partial;
    partial.name = local.name;
    partial.parent = local.parent;
    bool changed = false;
    for (const schema::Column& column : local.columns) {
      const schema::Column* before = base->FindColumn(column.name);
      if (before == nullptr || (!before->complete() && column.complete())) {
        partial.columns.push_back(column);
        changed = true;
        continue;
      }
      schema::Column props = column;
      bool widened = std::any_of(widenings_.begin(), widenings_.end(), [&](const auto& w) {
        return w.table == local.name && w.column == column.name;
      });
      if (widened) props.data_type = before->data_type;
      if (props != *before) {
        if (widened) props.data_type.reset();
        partial.columns.push_back(props);
        changed = true;
      }
    }
    if (local.write_disposition != base->write_disposition) {
      partial.write_disposition = local.write_disposition;
      changed = true;
    }
    if (local.schema_contract != base->schema_contract) {
      partial.schema_contract = local.schema_contract;
      changed = true;
    }
    for (const auto& [key, value] : local.extra.items()) {
      if (!base->extra.contains(key) || base->extra[key] != value) {
        partial.extra[key] = value;
        changed = true;
      }
    }
    if (mark_seen) {
      partial.extra["x-normalizer"] = x_normalizer;
      changed = true;
    }
    if (changed) update.tables.push_back(std::move(partial));
  }
  return update;
}

// ---- Facade ----------------------------------------------------------------------------------

RelationalNormalizer::RelationalNormalizer(const schema::Schema& schema, RootTableSpec root,
                                           NormalizerOptions options, BatchSink sink)
    : impl_(std::make_unique<Impl>(schema, std::move(root), std::move(options), std::move(sink))) {}
RelationalNormalizer::~RelationalNormalizer() = default;

void RelationalNormalizer::FeedItem(std::string_view json, int64_t line) {
  impl_->FeedItem(json, line);
}
void RelationalNormalizer::FeedDocument(std::string_view json, int64_t line) {
  impl_->FeedDocument(json, line);
}
void RelationalNormalizer::FeedJsonl(std::string_view text, int64_t first_line,
                                     const BadLineFn& on_bad_line) {
  impl_->FeedJsonl(text, first_line, on_bad_line ? &on_bad_line : nullptr);
}
void RelationalNormalizer::Flush() { impl_->Flush(); }
SchemaUpdate RelationalNormalizer::TakeSchemaUpdate() const { return impl_->TakeSchemaUpdate(); }
const schema::Schema& RelationalNormalizer::schema() const { return impl_->schema(); }
NormalizeStats RelationalNormalizer::stats() const { return impl_->stats(); }

}  // namespace cdlt::normalize::relational
