#pragma once

/// The relational JSON normalizer: JSON documents of one resource → per-table columnar batches
/// plus the schema changes they need (dlt's relational normalizer, reference §5.2-5.5, §6.5).
///
/// Design
/// - One RelationalNormalizer per input file and thread. It takes a *snapshot* of the schema (a
///   copy) and never touches shared state, so several can run in parallel. Everything it learns
///   (new tables, columns, variants, widenings) goes into its local copy and is returned by
///   TakeSchemaUpdate() as a SchemaUpdate: partial tables for Schema::MergeTable plus column
///   widenings.
/// - Merging happens in one place (MergeSchemaUpdate), in input (file) order, all or nothing.
///   Two workers that infer the same new column agree when the types are equal; when they are
///   not, the later file's update is refused (SchemaConflict) and that file must be normalized
///   again against the merged schema, as dlt redoes a conflicting worker group. Merging in file
///   order, not completion order, makes the outcome independent of thread timing.
/// - Documents are parsed with simdjson (DOM, one document at a time: a JSONL line or a whole
///   page) and walked once. The rows of one document are staged as typed cells in flat reusable
///   arrays, then committed to each table's column buffers, so a row dropped by a schema contract
///   takes its nested rows with it. A table's buffer is handed to the BatchSink as a cdlt::Batch
///   every `batch_rows` rows and at Flush(): memory is bounded by batch size, not input size.
/// - Batches carry all complete columns of the table in schema order; a column added in the
///   middle of a batch is appended with nulls for the rows before it.
/// - After an exception (malformed input, freeze violation, null in a non-nullable column) the
///   normalizer is in an undefined state: the file fails and the object must be discarded.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdlt/batch.hpp"
#include "cdlt/resource.hpp"
#include "common/error.hpp"
#include "schema/schema.hpp"

namespace cdlt::normalize::relational {

/// Merge strategy of the root table; decides how root `_dlt_id`s are made (§5.3).
enum class MergeStrategy { kNone, kDeleteInsert, kUpsert, kInsertOnly, kScd2 };

/// Parse "delete-insert", "upsert", "insert-only", "scd2". Throws Error(kConfig) otherwise.
MergeStrategy ParseMergeStrategy(std::string_view text);

/// One schema-contract mode (§6.5).
enum class ContractMode { kEvolve, kFreeze, kDiscardRow, kDiscardValue };

/// A schema contract: one mode per entity.
struct SchemaContract {
  ContractMode tables = ContractMode::kEvolve;
  ContractMode columns = ContractMode::kEvolve;
  ContractMode data_type = ContractMode::kEvolve;

  /// Parse dlt's form: a mode string for all three, or {tables, columns, data_type}. Throws
  /// Error(kConfig) naming the bad value.
  static SchemaContract FromJson(const nlohmann::ordered_json& json);
  nlohmann::ordered_json ToJson() const;
  bool operator==(const SchemaContract&) const = default;
};

/// The root table a normalizer fills, with the resource's hints.
struct RootTableSpec {
  /// The resource's table name (raw; normalized by the schema's naming convention).
  std::string table_name;
  /// Column hints, write disposition and primary key of the resource.
  ResourceHints hints;
  /// Levels of nesting turned into nested tables / flattened columns; deeper values are kept as
  /// JSON. Default: the table's x-normalizer.max_nesting or 1000.
  std::optional<int> max_table_nesting;
  /// Merge strategy (only with write disposition merge; default delete-insert).
  std::optional<MergeStrategy> merge_strategy;
  /// Force `_dlt_root_id` propagation on or off (default: on for merge strategies that need it).
  std::optional<bool> root_key_propagation;
  /// The resource's contract (overrides the table's and the schema's).
  std::optional<SchemaContract> schema_contract;
};

/// Settings of a normalizer run.
struct NormalizerOptions {
  /// The package load_id written to `_dlt_load_id` of root rows.
  std::string load_id;
  /// Hand a table's buffered rows to the sink when this many are buffered.
  size_t batch_rows = 5000;
  /// Deepest JSON nesting accepted (objects and arrays); deeper documents are an error.
  size_t max_json_depth = 1000;
  /// Maximum identifier length of the destination (e.g. 63 for PostgreSQL); none by default.
  std::optional<size_t> max_identifier_length;
  /// Alter a column's type (bigint → double, bigint → wei) instead of creating a variant column.
  bool widen_in_place = false;
  /// Seed for root `_dlt_id`s; random when unset (tests use a fixed seed).
  std::optional<uint64_t> random_seed;
};

/// Receives a JSONL line that is not a JSON document (malformed, invalid UTF-8, too deep): its
/// number, its text and the error.
using BadLineFn =
    std::function<void(int64_t line, std::string_view text, const cdlt::Error& error)>;

/// Receives finished batches, one table at a time.
using BatchSink = std::function<void(const std::string& table, Batch batch)>;

/// A column whose type is altered in place (widen_in_place).
struct ColumnWidening {
  std::string table;
  std::string column;
  schema::DataType from;
  schema::DataType to;
  bool operator==(const ColumnWidening&) const = default;
};

/// What a normalizer proposes to change in the schema.
struct SchemaUpdate {
  /// Partial tables, parents before children, in discovery order.
  std::vector<schema::Table> tables;
  std::vector<ColumnWidening> widenings;
  bool empty() const { return tables.empty() && widenings.empty(); }
};

/// Outcome of MergeSchemaUpdate.
struct MergeOutcome {
  bool merged = false;
  /// Why it was refused ("cannot change data type of column t.c from bigint to text").
  std::string conflict;
  std::vector<schema::TableUpdate> table_updates;
};

/// Merge a normalizer's update into `live`, all or nothing. A refused update leaves `live`
/// untouched; the caller normalizes that input again against the new `live`.
MergeOutcome MergeSchemaUpdate(schema::Schema& live, const SchemaUpdate& update);

/// Counters of one normalizer.
struct NormalizeStats {
  int64_t documents = 0;
  int64_t items = 0;
  /// Rows written per table, in first-appearance order.
  std::vector<std::pair<std::string, int64_t>> rows;
  /// Rows dropped by discard_row / discard_value table contracts (nested rows included).
  int64_t discarded_rows = 0;
  /// Values dropped by discard_value column / data_type contracts.
  int64_t discarded_values = 0;
};

/// Turns JSON documents of one resource into batches per table and a schema update.
class RelationalNormalizer {
 public:
  /// `schema` is copied (a snapshot); `sink` receives every batch. Throws Error(kConfig) for bad
  /// hints (unknown data type, merge strategy without a primary key where one is needed...).
  RelationalNormalizer(const schema::Schema& schema, RootTableSpec root, NormalizerOptions options,
                       BatchSink sink);
  ~RelationalNormalizer();
  RelationalNormalizer(const RelationalNormalizer&) = delete;
  RelationalNormalizer& operator=(const RelationalNormalizer&) = delete;

  /// Normalize one item: an object is one root row; anything else is wrapped as {"value": item}
  /// (so a list becomes a nested `<table>__value` table). `line` is reported in errors.
  void FeedItem(std::string_view json, int64_t line = 1);
  /// Normalize a document: an array is a page of items, anything else one item.
  void FeedDocument(std::string_view json, int64_t line = 1);
  /// Normalize JSONL text: each non-blank line is a document (FeedDocument). Lines are numbered
  /// from `first_line`; a malformed line throws Error(kSource) "line N: ...".
  /// With `on_bad_line`, a line that does not parse goes to it instead (the normalizer is left
  /// as before that line); schema and contract errors still throw.
  void FeedJsonl(std::string_view text, int64_t first_line = 1,
                 const BadLineFn& on_bad_line = nullptr);
  /// Hand every buffered row to the sink.
  void Flush();

  /// The changes seen so far relative to the snapshot, ready for MergeSchemaUpdate. Tables that
  /// received rows are marked `x-normalizer.seen-data`.
  SchemaUpdate TakeSchemaUpdate() const;
  /// The local schema: the snapshot with this normalizer's changes.
  const schema::Schema& schema() const;
  NormalizeStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// Return the nested row id: base64(shake_128("<parent_id>_<table>_<idx>"), 10 bytes), no padding.
std::string NestedRowId(std::string_view parent_id, std::string_view table, int64_t list_idx);
/// Return the dlt digest of `text`: base64(shake_128(text), 10 bytes) without padding.
std::string DltDigest(std::string_view text);

}  // namespace cdlt::normalize::relational
