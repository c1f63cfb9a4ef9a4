#pragma once

// dlt's `incremental`: load only rows whose cursor moved past the last run's value, with dlt's
// boundary de-duplication, on typed batches.
//
// Per row (max shown, min mirrored): rows beyond end_value are dropped; rows below the start value
// are dropped; rows equal to the start value are dropped when their key hash was stored by the last
// run; a row above the current maximum resets the boundary set. Only rows at the boundary (equal to
// the start value or to the current maximum) are hashed, each at most once, into a hash set updated
// in place, so a million rows sharing one cursor value cost about what a million distinct ones do.
// The state keeps the boundary hashes of the final maximum only; above `max_boundary_hashes` it
// keeps none and marks the state `boundary_overflow`: the next run then starts *after* the stored
// value (range_start open) and says so in a warning, instead of growing the state without bound.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "cdlt/batch.hpp"
#include "cdlt/resource.hpp"

namespace cdlt::schema {
class Shake128Hasher;
}

namespace cdlt::pipeline {

struct IncrementalSpec {
  std::string cursor_path;
  std::optional<nlohmann::json> initial_value;
  std::optional<nlohmann::json> end_value;
  bool use_min = false;                  ///< last_value_func = "min"
  std::optional<std::string> row_order;  ///< "asc" | "desc"
  /// Key for de-duplication; nullopt = the resource's primary key (or the whole row without one);
  /// an empty list turns de-duplication off.
  std::optional<std::vector<std::string>> primary_key;
  std::optional<double> lag;  ///< seconds (timestamps), days (dates) or units (numbers)
  enum class OnMissing { kRaise, kInclude, kExclude } on_cursor_value_missing = OnMissing::kRaise;
  bool range_start_open = false;  ///< range_start = "open"
  bool range_end_closed = false;  ///< range_end = "closed"
  int64_t max_boundary_hashes = 100000;

  /// Parse dlt's incremental settings (an object with cursor_path, initial_value, ...). Errors are
  /// Error(kConfig) naming `what` and the bad key.
  static IncrementalSpec FromJson(const nlohmann::json& value, const std::string& what);
  bool dedup_enabled() const;
};

/// A cursor value in a comparable form: integers, dates (days), times and timestamps (µs),
/// decimals (unscaled at the column's scale), doubles or text.
using CursorValue = std::variant<int64_t, __int128, double, std::string>;

/// The 15-byte row hash (dlt's shake128 of the key's JSON), padded to 16 bytes for hashing.
using RowDigest = std::array<unsigned char, 16>;
struct RowDigestHash {
  size_t operator()(const RowDigest& d) const {
    size_t h;
    static_assert(sizeof(h) <= sizeof(RowDigest));
    std::memcpy(&h, d.data(), sizeof(h));
    return h;
  }
};

/// Filters the batches of one resource run and keeps its incremental state.
class IncrementalFilter {
 public:
  /// `state` is the resource's incremental state object for this cursor (read at construction,
  /// written by Commit). `resource_key` is the resource's primary key; `where` names the resource
  /// for errors and warnings.
  IncrementalFilter(IncrementalSpec spec, nlohmann::json state,
                    std::vector<std::string> resource_key, std::string where);
  ~IncrementalFilter();

  /// The value rows must reach (after lag), as stored (JSON), or nullopt on the first run without
  /// an initial value.
  const std::optional<nlohmann::json>& start_value() const { return start_json_; }
  /// Whether rows equal to the start value are excluded (range_start open, or a state that
  /// overflowed its boundary set).
  bool start_open() const { return start_open_; }

  /// Keep the rows of `batch` that pass; sets *stop when row_order says no later row can pass.
  /// A missing cursor column or a NULL cursor with on_cursor_value_missing = "raise" throws
  /// Error(kSource) naming the resource and the column.
  Batch Apply(Batch batch, bool* stop);

  /// The state after the run: {initial_value, last_value, unique_hashes, start_value}.
  nlohmann::json State() const;
  int64_t rows_seen() const { return rows_seen_; }
  int64_t rows_kept() const { return rows_kept_; }

 private:
  void Bind(const Field& field);
  CursorValue FromJson(const nlohmann::json& value) const;
  nlohmann::json ToJson(const CursorValue& value) const;
  RowDigest RowHash(const Batch& batch, size_t row);
  CursorValue ValueAt(const Column& col, size_t row) const;
  int Compare(const CursorValue& a, const CursorValue& b) const;

  IncrementalSpec spec_;
  nlohmann::json stored_;
  std::vector<std::string> key_;
  std::string where_;
  bool stop_past_end_;      ///< a row past the end means no later row can be in range
  bool stop_before_start_;  ///< likewise for a row before the start
  bool bound_ = false;
  ColumnType cursor_type_;
  std::vector<int> key_columns_;
  std::optional<nlohmann::json> start_json_;
  std::optional<CursorValue> start_;
  std::optional<CursorValue> end_;
  std::optional<CursorValue> last_;  ///< current maximum (or minimum)
  bool start_open_ = false;
  std::unordered_set<RowDigest, RowDigestHash> previous_hashes_;
  std::unordered_set<RowDigest, RowDigestHash> boundary_;
  std::vector<int> sorted_columns_;  ///< all columns by name, for key-less row hashes
  std::string hash_input_;
  std::unique_ptr<schema::Shake128Hasher> hasher_;
  bool boundary_overflow_ = false;
  bool max_moved_ = false;
  int64_t rows_seen_ = 0;
  int64_t rows_kept_ = 0;
};

/// An Emitter that passes a resource's batches through `filter` on their way to `out` (and
/// returns false once row_order says no later row can pass). Parts run by EmitParallel get the
/// same filter; its calls are serialized. JSON documents cannot be filtered (they are not parsed
/// in extract): EmitJson / EmitJsonl throw Error(kConfig). `filter` must outlive the emitter.
class IncrementalEmitter : public Emitter {
 public:
  IncrementalEmitter(Emitter& out, IncrementalFilter& filter)
      : IncrementalEmitter(out, filter, std::make_shared<std::mutex>()) {}

  bool Emit(Batch batch) override;
  bool EmitJson(std::string_view json) override;
  bool EmitJsonl(std::string_view lines, const JsonOrigin* origin) override;
  void EmitParallel(std::vector<std::function<void(Emitter&)>> parts) override;
  int max_parallelism() const override { return out_.max_parallelism(); }
  std::optional<int64_t> limit() const override { return out_.limit(); }
  const ResourceHints* hints() const override { return out_.hints(); }
  nlohmann::json& resource_state() override { return out_.resource_state(); }

 private:
  IncrementalEmitter(Emitter& out, IncrementalFilter& filter, std::shared_ptr<std::mutex> mutex)
      : out_(out), filter_(filter), mutex_(std::move(mutex)) {}

  Emitter& out_;
  IncrementalFilter& filter_;
  std::shared_ptr<std::mutex> mutex_;
};

}  // namespace cdlt::pipeline
