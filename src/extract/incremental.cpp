#include "extract/incremental.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "normalize/relational/value_convert.hpp"
#include "schema/digest.hpp"

namespace cdlt::pipeline {
namespace {

using nlohmann::json;
// Dates, timestamps, decimals and JSON strings are read and written as the normalizer does.
using normalize::relational::AppendJsonString;
using normalize::relational::DecimalToText;
using normalize::relational::FormatDate;
using normalize::relational::FormatTime;
using normalize::relational::FormatTimestamp;
using normalize::relational::ParseIsoDate;
using normalize::relational::ParseIsoDatetime;
using normalize::relational::ParseIsoTime;
using normalize::relational::TextToDecimal;
using normalize::relational::TextToTimestamp;

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;

bool IsIntegerType(PhysicalType t) {
  return t == PhysicalType::kInt8 || t == PhysicalType::kInt16 || t == PhysicalType::kInt32 ||
         t == PhysicalType::kInt64;
}
bool IsMicrosType(PhysicalType t) {
  return t == PhysicalType::kTimestamp || t == PhysicalType::kTimestampTz ||
         t == PhysicalType::kTime;
}

int64_t IntAt(const Column& c, size_t row) {
  switch (c.type().id) {
    case PhysicalType::kInt8:
      return c.Get<int8_t>(row);
    case PhysicalType::kInt16:
      return c.Get<int16_t>(row);
    case PhysicalType::kInt32:
    case PhysicalType::kDate:
      return c.Get<int32_t>(row);
    default:
      return c.Get<int64_t>(row);
  }
}

json ValueJson(const Column& c, size_t row) {
  if (!c.IsValid(row)) return nullptr;
  const ColumnType& t = c.type();
  switch (t.id) {
    case PhysicalType::kBool:
      return c.Get<uint8_t>(row) != 0;
    case PhysicalType::kInt8:
    case PhysicalType::kInt16:
    case PhysicalType::kInt32:
    case PhysicalType::kInt64:
      return IntAt(c, row);
    case PhysicalType::kInt128:
      return DecimalToText(c.Get<__int128>(row), 0);
    case PhysicalType::kFloat:
      return static_cast<double>(c.Get<float>(row));
    case PhysicalType::kDouble:
      return c.Get<double>(row);
    case PhysicalType::kDecimal:
      return DecimalToText(c.Get<__int128>(row), t.scale);
    case PhysicalType::kText:
    case PhysicalType::kJson:
      return std::string(c.GetString(row));
    case PhysicalType::kBinary:
      return schema::Base64Encode(c.GetString(row));
    case PhysicalType::kDate:
      return FormatDate(c.Get<int32_t>(row));
    case PhysicalType::kTime:
      return FormatTime(c.Get<int64_t>(row));
    case PhysicalType::kTimestamp:
      return FormatTimestamp(c.Get<int64_t>(row), false);
    case PhysicalType::kTimestampTz:
      return FormatTimestamp(c.Get<int64_t>(row), true);
    case PhysicalType::kUuid: {
      auto bytes = c.Get<std::array<uint8_t, 16>>(row);
      std::string out;
      for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out += fmt::format("{:02x}", bytes[static_cast<size_t>(i)]);
      }
      return out;
    }
  }
  return nullptr;
}

/// The value's compact JSON text, as nlohmann::json::dump() would write ValueJson(c, row).
void AppendValueJson(std::string& out, const Column& c, size_t row) {
  if (!c.IsValid(row)) {
    out += "null";
    return;
  }
  switch (c.type().id) {
    case PhysicalType::kInt8:
    case PhysicalType::kInt16:
    case PhysicalType::kInt32:
    case PhysicalType::kInt64: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, IntAt(c, row));
      (void)ec;
      out.append(buf, end);
      return;
    }
    case PhysicalType::kText:
    case PhysicalType::kJson:
      AppendJsonString(out, c.GetString(row));
      return;
    default:
      out += ValueJson(c, row).dump();
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Spec

IncrementalSpec IncrementalSpec::FromJson(const json& value, const std::string& what) {
  if (!value.is_object()) {
    Throw(ErrorKind::kConfig,
          "{}: expected a table such as {{cursor_path = \"updated_at\", initial_value = ...}}",
          what);
  }
  IncrementalSpec spec;
  auto str = [&](const std::string& key, const json& v) {
    if (!v.is_string()) Throw(ErrorKind::kConfig, "{}.{}: expected a string", what, key);
    return v.get<std::string>();
  };
  for (const auto& [key, v] : value.items()) {
    if (key == "cursor_path") {
      spec.cursor_path = str(key, v);
    } else if (key == "initial_value") {
      if (!v.is_null()) spec.initial_value = v;
    } else if (key == "end_value") {
      if (!v.is_null()) spec.end_value = v;
    } else if (key == "last_value_func") {
      std::string f = str(key, v);
      if (f != "max" && f != "min") {
        Throw(ErrorKind::kConfig, "{}.last_value_func: \"{}\" is not max or min", what, f);
      }
      spec.use_min = f == "min";
    } else if (key == "row_order") {
      std::string o = str(key, v);
      if (o != "asc" && o != "desc") {
        Throw(ErrorKind::kConfig, "{}.row_order: \"{}\" is not asc or desc", what, o);
      }
      spec.row_order = o;
    } else if (key == "primary_key") {
      std::vector<std::string> keys;
      if (v.is_string()) {
        keys.push_back(v.get<std::string>());
      } else if (v.is_array()) {
        for (const auto& k : v) keys.push_back(str(key, k));
      } else {
        Throw(ErrorKind::kConfig, "{}.primary_key: expected a string or a list", what);
      }
      spec.primary_key = keys;
    } else if (key == "lag") {
      if (!v.is_number()) Throw(ErrorKind::kConfig, "{}.lag: expected a number", what);
      spec.lag = v.get<double>();
    } else if (key == "on_cursor_value_missing") {
      std::string m = str(key, v);
      if (m == "raise") {
        spec.on_cursor_value_missing = OnMissing::kRaise;
      } else if (m == "include") {
        spec.on_cursor_value_missing = OnMissing::kInclude;
      } else if (m == "exclude") {
        spec.on_cursor_value_missing = OnMissing::kExclude;
      } else {
        Throw(ErrorKind::kConfig,
              "{}.on_cursor_value_missing: \"{}\" is not raise, include or exclude", what, m);
      }
    } else if (key == "range_start" || key == "range_end") {
      std::string r = str(key, v);
      if (r != "open" && r != "closed") {
        Throw(ErrorKind::kConfig, "{}.{}: \"{}\" is not open or closed", what, key, r);
      }
      (key == "range_start" ? spec.range_start_open : spec.range_end_closed) =
          key == "range_start" ? r == "open" : r == "closed";
    } else if (key == "max_boundary_hashes") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0) {
        Throw(ErrorKind::kConfig, "{}.max_boundary_hashes: expected a non-negative integer", what);
      }
      spec.max_boundary_hashes = v.get<int64_t>();
    } else {
      Throw(ErrorKind::kConfig,
            "{}: unknown incremental setting \"{}\" (allowed: cursor_path, initial_value, "
            "end_value, last_value_func, row_order, primary_key, lag, on_cursor_value_missing, "
            "range_start, range_end, max_boundary_hashes)",
            what, key);
    }
  }
  if (spec.cursor_path.empty()) Throw(ErrorKind::kConfig, "{}: cursor_path is required", what);
  if (spec.end_value && !spec.initial_value) {
    Throw(ErrorKind::kConfig, "{}: end_value requires initial_value", what);
  }
  return spec;
}

bool IncrementalSpec::dedup_enabled() const {
  return !range_start_open && !end_value && !lag && !(primary_key && primary_key->empty());
}

// ---------------------------------------------------------------------------------------------
// Filter

IncrementalFilter::IncrementalFilter(IncrementalSpec spec, json state,
                                     std::vector<std::string> resource_key, std::string where)
    : spec_(std::move(spec)),
      stored_(state.is_object() ? std::move(state) : json::object()),
      key_(spec_.primary_key ? *spec_.primary_key : std::move(resource_key)),
      where_(std::move(where)),
      // Rows come in cursor order: past the end (ascending, for max) or before the start
      // (descending) no later row can be in range.
      stop_past_end_(spec_.row_order && (*spec_.row_order == "asc") != spec_.use_min),
      stop_before_start_(spec_.row_order && (*spec_.row_order == "desc") != spec_.use_min) {
  // With an end_value the run is a backfill of a fixed range: nothing is read from or written to
  // the state (dlt uses a throw-away state).
  bool throwaway = spec_.end_value.has_value();
  if (!throwaway && stored_.contains("last_value") && !stored_["last_value"].is_null()) {
    start_json_ = stored_["last_value"];
  } else if (spec_.initial_value) {
    start_json_ = spec_.initial_value;
  }
  if (!throwaway && stored_.value("boundary_overflow", false)) {
    start_open_ = true;
    log::Warn(
        "{}: the last run ended with more than {} rows at cursor {} = {}; this run starts "
        "after that value (rows added later with exactly that value are not loaded)",
        where_, spec_.max_boundary_hashes, spec_.cursor_path,
        start_json_ ? start_json_->dump() : "null");
  }
  if (spec_.range_start_open) start_open_ = true;
  if (!throwaway && spec_.dedup_enabled() && stored_.contains("unique_hashes")) {
    for (const auto& h : stored_["unique_hashes"]) {
      if (!h.is_string()) continue;
      std::optional<std::string> bytes = schema::Base64Decode(h.get<std::string>());
      if (!bytes || bytes->size() != 15) continue;
      RowDigest d{};
      std::memcpy(d.data(), bytes->data(), 15);
      previous_hashes_.insert(d);
    }
  }
  // lag moves the start back (max) or forward (min), never across the initial value.
  if (spec_.lag && start_json_ && !(spec_.initial_value && *start_json_ == *spec_.initial_value)) {
    double lag = spec_.use_min ? -*spec_.lag : *spec_.lag;
    json moved = *start_json_;
    if (start_json_->is_number()) {
      moved = start_json_->is_number_integer()
                  ? json(start_json_->get<int64_t>() - static_cast<int64_t>(std::llround(lag)))
                  : json(start_json_->get<double>() - lag);
    } else if (start_json_->is_string()) {
      const std::string& text = start_json_->get_ref<const std::string&>();
      if (auto d = ParseIsoDate(text)) {
        moved = FormatDate(*d - static_cast<int32_t>(std::llround(lag)));
      } else if (auto us = TextToTimestamp(text)) {
        bool zone = text.find('+', 10) != std::string::npos || text.back() == 'Z' ||
                    text.find('-', 11) != std::string::npos;
        moved = FormatTimestamp(*us - static_cast<int64_t>(std::llround(lag * 1e6)), zone);
      }
    }
    start_json_ = moved;
  }
}

IncrementalFilter::~IncrementalFilter() = default;

void IncrementalFilter::Bind(const Field& field) {
  cursor_type_ = field.type;
  PhysicalType t = cursor_type_.id;
  if (t == PhysicalType::kBool || t == PhysicalType::kBinary || t == PhysicalType::kJson ||
      t == PhysicalType::kUuid || t == PhysicalType::kInt128) {
    Throw(ErrorKind::kConfig, "{}: cursor column {} has type {}, which cannot order rows", where_,
          spec_.cursor_path, PhysicalTypeName(t));
  }
  if (start_json_) start_ = FromJson(*start_json_);
  if (spec_.end_value) end_ = FromJson(*spec_.end_value);
  last_ = start_;
  bound_ = true;
}

CursorValue IncrementalFilter::FromJson(const json& value) const {
  PhysicalType t = cursor_type_.id;
  auto bad = [&]() -> CursorValue {
    Throw(ErrorKind::kConfig, "{}: incremental value {} does not fit cursor column {} ({})", where_,
          value.dump(), spec_.cursor_path, PhysicalTypeName(t));
  };
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (IsIntegerType(t)) {
    if (value.is_number_integer()) return value.get<int64_t>();
    try {
      size_t used = 0;
      int64_t v = std::stoll(text, &used);
      if (used == text.size()) return v;
    } catch (const std::exception&) {
    }
    return bad();
  }
  if (t == PhysicalType::kDate) {
    if (auto d = ParseIsoDate(text)) return static_cast<int64_t>(*d);
    if (auto us = ParseIsoDatetime(text)) {
      return static_cast<int64_t>(*us / kMicrosPerDay);
    }
    return bad();
  }
  if (IsMicrosType(t)) {
    if (t == PhysicalType::kTime) {
      if (auto us = ParseIsoTime(text)) return *us;
      return bad();
    }
    if (auto us = TextToTimestamp(text)) return *us;
    return bad();
  }
  if (t == PhysicalType::kDecimal) {
    if (auto v = TextToDecimal(text, 38, cursor_type_.scale)) return *v;
    return bad();
  }
  if (t == PhysicalType::kFloat || t == PhysicalType::kDouble) {
    if (value.is_number()) return value.get<double>();
    try {
      return std::stod(text);
    } catch (const std::exception&) {
      return bad();
    }
  }
  return text;
}

json IncrementalFilter::ToJson(const CursorValue& value) const {
  PhysicalType t = cursor_type_.id;
  if (std::holds_alternative<std::string>(value)) return std::get<std::string>(value);
  if (std::holds_alternative<double>(value)) return std::get<double>(value);
  if (std::holds_alternative<__int128>(value)) {
    return DecimalToText(std::get<__int128>(value), cursor_type_.scale);
  }
  int64_t v = std::get<int64_t>(value);
  if (t == PhysicalType::kDate) return FormatDate(static_cast<int32_t>(v));
  if (t == PhysicalType::kTime) return FormatTime(v);
  if (t == PhysicalType::kTimestamp) return FormatTimestamp(v, false);
  if (t == PhysicalType::kTimestampTz) return FormatTimestamp(v, true);
  return v;
}

int IncrementalFilter::Compare(const CursorValue& a, const CursorValue& b) const {
  int c = 0;
  if (std::holds_alternative<int64_t>(a)) {
    int64_t x = std::get<int64_t>(a), y = std::get<int64_t>(b);
    c = x < y ? -1 : x > y ? 1 : 0;
  } else if (std::holds_alternative<__int128>(a)) {
    __int128 x = std::get<__int128>(a), y = std::get<__int128>(b);
    c = x < y ? -1 : x > y ? 1 : 0;
  } else if (std::holds_alternative<double>(a)) {
    double x = std::get<double>(a), y = std::get<double>(b);
    c = x < y ? -1 : x > y ? 1 : 0;
  } else {
    int r = std::get<std::string>(a).compare(std::get<std::string>(b));
    c = r < 0 ? -1 : r > 0 ? 1 : 0;
  }
  return spec_.use_min ? -c : c;
}

RowDigest IncrementalFilter::RowHash(const Batch& batch, size_t row) {
  std::string& in = hash_input_;
  in.clear();
  if (key_columns_.size() == 1) {
    AppendValueJson(in, batch.column(static_cast<size_t>(key_columns_[0])), row);
  } else if (!key_columns_.empty()) {
    in.push_back('[');
    for (size_t i = 0; i < key_columns_.size(); ++i) {
      if (i) in.push_back(',');
      AppendValueJson(in, batch.column(static_cast<size_t>(key_columns_[i])), row);
    }
    in.push_back(']');
  } else {
    // No key: the whole row as an object with sorted keys.
    in.push_back('{');
    for (size_t i = 0; i < sorted_columns_.size(); ++i) {
      size_t c = static_cast<size_t>(sorted_columns_[i]);
      if (i) in.push_back(',');
      AppendJsonString(in, batch.fields()[c].name);
      in.push_back(':');
      AppendValueJson(in, batch.column(c), row);
    }
    in.push_back('}');
  }
  if (!hasher_) hasher_ = std::make_unique<schema::Shake128Hasher>();
  RowDigest d{};
  hasher_->Digest(in, d.data(), 15);
  return d;
}

CursorValue IncrementalFilter::ValueAt(const Column& col, size_t r) const {
  const PhysicalType t = cursor_type_.id;
  if (IsIntegerType(t) || t == PhysicalType::kDate || IsMicrosType(t)) return IntAt(col, r);
  if (t == PhysicalType::kDecimal) return col.Get<__int128>(r);
  if (t == PhysicalType::kFloat) return static_cast<double>(col.Get<float>(r));
  if (t == PhysicalType::kDouble) return col.Get<double>(r);
  return std::string(col.GetString(r));
}

Batch IncrementalFilter::Apply(Batch batch, bool* stop) {
  *stop = false;
  size_t rows = batch.num_rows();
  if (rows == 0) return batch;
  int cursor = batch.FindColumn(spec_.cursor_path);
  if (cursor < 0) {
    Throw(ErrorKind::kSource, "{}: incremental cursor column {} is not in the data", where_,
          spec_.cursor_path);
  }
  if (!bound_) {
    Bind(batch.fields()[static_cast<size_t>(cursor)]);
    key_columns_.clear();
    for (const auto& k : key_) {
      int c = batch.FindColumn(k);
      if (c < 0) {
        Throw(ErrorKind::kSource, "{}: primary key column {} of the incremental is not in the data",
              where_, k);
      }
      key_columns_.push_back(c);
    }
    sorted_columns_.clear();
    for (size_t c = 0; c < batch.num_columns(); ++c) sorted_columns_.push_back(static_cast<int>(c));
    std::sort(sorted_columns_.begin(), sorted_columns_.end(), [&](int a, int b) {
      return batch.fields()[static_cast<size_t>(a)].name <
             batch.fields()[static_cast<size_t>(b)].name;
    });
  }
  const Column& col = batch.column(static_cast<size_t>(cursor));
  const bool dedup = spec_.dedup_enabled() && !spec_.end_value;
  std::vector<uint32_t> keep;
  keep.reserve(rows);
  rows_seen_ += static_cast<int64_t>(rows);
  // Pass 1: range checks, de-duplication against the last run's boundary, and the batch maximum.
  std::optional<CursorValue> batch_max;
  // Kept rows whose cursor equals batch_max, with their hash when pass 1 computed it.
  std::vector<std::pair<uint32_t, std::optional<RowDigest>>> at_max;
  for (size_t r = 0; r < rows; ++r) {
    if (!col.IsValid(r)) {
      switch (spec_.on_cursor_value_missing) {
        case IncrementalSpec::OnMissing::kRaise:
          Throw(ErrorKind::kSource,
                "{}: cursor column {} is NULL in a row (set on_cursor_value_missing to "
                "\"include\" or \"exclude\")",
                where_, spec_.cursor_path);
        case IncrementalSpec::OnMissing::kInclude:
          keep.push_back(static_cast<uint32_t>(r));
          continue;
        case IncrementalSpec::OnMissing::kExclude:
          continue;
      }
    }
    CursorValue v = ValueAt(col, r);
    std::optional<RowDigest> hash;  // computed at most once per row
    if (end_) {
      int c = Compare(v, *end_);
      if (c > 0 || (c == 0 && !spec_.range_end_closed)) {
        if (stop_past_end_) *stop = true;
        continue;
      }
    }
    if (start_) {
      int c = Compare(v, *start_);
      if (c < 0) {
        if (stop_before_start_) *stop = true;
        continue;
      }
      if (c == 0) {
        if (start_open_) continue;
        if (dedup && !previous_hashes_.empty()) {
          hash = RowHash(batch, r);
          if (previous_hashes_.count(*hash)) continue;
        }
      }
    }
    int vs_max = batch_max ? Compare(v, *batch_max) : 1;
    if (vs_max > 0) {
      batch_max = std::move(v);
      at_max.clear();
    }
    if (vs_max >= 0) at_max.emplace_back(static_cast<uint32_t>(r), hash);
    keep.push_back(static_cast<uint32_t>(r));
  }
  // Pass 2: only rows at the (new) maximum are hashed into the boundary set.
  if (batch_max) {
    int c = last_ ? Compare(*batch_max, *last_) : 1;
    if (c > 0) {
      last_ = *batch_max;
      boundary_.clear();
      boundary_overflow_ = false;
      max_moved_ = true;  // the previous run's boundary hashes are no longer the state's
    }
    if (c >= 0 && dedup && !boundary_overflow_) {
      for (const auto& [r, hash] : at_max) {
        boundary_.insert(hash ? *hash : RowHash(batch, r));
        if (static_cast<int64_t>(boundary_.size()) > spec_.max_boundary_hashes) {
          boundary_overflow_ = true;
          boundary_.clear();
          break;
        }
      }
    }
  }
  rows_kept_ += static_cast<int64_t>(keep.size());
  if (keep.size() == rows) return batch;
  Batch out(batch.fields());
  for (size_t c = 0; c < batch.num_columns(); ++c) {
    Column& dst = out.column(c);
    const Column& src = batch.column(c);
    dst.Reserve(keep.size());
    for (uint32_t r : keep) dst.AppendFrom(src, r);
  }
  return out;
}

json IncrementalFilter::State() const {
  if (spec_.end_value) return stored_;
  json s = stored_;
  s["initial_value"] =
      spec_.initial_value ? *spec_.initial_value : stored_.value("initial_value", json(nullptr));
  s["start_value"] = start_json_ ? *start_json_ : json(nullptr);
  if (!bound_ || !last_) {
    if (!s.contains("last_value")) s["last_value"] = start_json_ ? *start_json_ : json(nullptr);
    if (!s.contains("unique_hashes")) s["unique_hashes"] = json::array();
    return s;
  }
  s["last_value"] = ToJson(*last_);
  if (boundary_overflow_) {
    s["unique_hashes"] = json::array();
    s["boundary_overflow"] = true;
    log::Warn(
        "{}: more than {} rows share the final cursor value {} = {}; their hashes are not "
        "stored and the next run starts after that value",
        where_, spec_.max_boundary_hashes, spec_.cursor_path, s["last_value"].dump());
    return s;
  }
  s.erase("boundary_overflow");
  std::vector<std::string> hashes;
  auto encode = [](const RowDigest& d) {
    std::string h =
        schema::Base64Encode(std::string_view(reinterpret_cast<const char*>(d.data()), 15));
    while (!h.empty() && h.back() == '=') h.pop_back();
    return h;
  };
  if (!max_moved_) {
    for (const auto& d : previous_hashes_) hashes.push_back(encode(d));
  }
  for (const auto& d : boundary_) hashes.push_back(encode(d));
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  s["unique_hashes"] = hashes;
  return s;
}

bool IncrementalEmitter::Emit(Batch batch) {
  bool stop = false;
  Batch kept = [&] {
    std::lock_guard lock(*mutex_);
    return filter_.Apply(std::move(batch), &stop);
  }();
  bool go_on = kept.num_rows() == 0 || out_.Emit(std::move(kept));
  return go_on && !stop;
}

bool IncrementalEmitter::EmitJson(std::string_view) {
  throw Error(ErrorKind::kConfig,
              "the incremental hint works on typed batches; JSON documents are not parsed in "
              "extract, so it cannot filter them");
}

bool IncrementalEmitter::EmitJsonl(std::string_view lines, const JsonOrigin*) {
  return EmitJson(lines);
}

void IncrementalEmitter::EmitParallel(std::vector<std::function<void(Emitter&)>> parts) {
  for (auto& part : parts) {
    part = [part = std::move(part), &filter = filter_, mutex = mutex_](Emitter& sub) {
      IncrementalEmitter filtered(sub, filter, mutex);
      part(filtered);
    };
  }
  out_.EmitParallel(std::move(parts));
}

}  // namespace cdlt::pipeline
