#pragma once

/// Resources and sources: user code (or a built-in source) that yields typed batches.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdlt/batch.hpp"

namespace cdlt {

/// A column hint, as in dlt's `columns` argument.
struct ColumnHint {
  std::string name;
  std::optional<std::string> data_type;  ///< dlt type name: text, bigint, double, decimal...
  std::optional<bool> nullable;
  std::optional<bool> primary_key;
  std::optional<bool> merge_key;
  std::optional<bool> unique;
  std::optional<int> precision;
  std::optional<int> scale;
  std::optional<bool> timezone;
  /// merge: a row whose value here is not NULL (bool: TRUE) deletes the rows with its key and is
  /// not loaded (dlt's hard_delete).
  std::optional<bool> hard_delete;
  /// merge: "asc" or "desc": which of several rows with one primary key survives (dlt's
  /// dedup_sort: desc keeps the highest value).
  std::optional<std::string> dedup_sort;
};

/// Table hints of a resource.
struct ResourceHints {
  std::optional<std::string> table_name;  ///< defaults to the resource name
  /// append (default), replace, merge; or dlt's write disposition dict as JSON text, e.g.
  /// {"disposition": "merge", "strategy": "scd2", "validity_column_names": ["from", "to"]}.
  std::optional<std::string> write_disposition;
  std::vector<std::string> primary_key;
  std::vector<std::string> merge_key;
  std::vector<ColumnHint> columns;
  /// merge: delete-insert (default), upsert, insert-only or scd2 (dlt's x-merge-strategy).
  std::optional<std::string> merge_strategy;
  /// scd2: names of the validity columns (default _dlt_valid_from, _dlt_valid_to).
  std::optional<std::vector<std::string>> validity_column_names;
  /// scd2: the valid_to value of active rows, e.g. "9999-12-31" (default NULL).
  std::optional<std::string> active_record_timestamp;
  /// scd2: the time rows are retired / become valid at (default: the load package's creation).
  std::optional<std::string> boundary_timestamp;
  /// scd2: the column holding the row version (default _dlt_id, a hash of the row's data).
  std::optional<std::string> row_version_column_name;
  /// JSON documents: levels of nesting turned into nested tables; deeper values stay JSON
  /// (dlt's max_table_nesting).
  std::optional<int> max_table_nesting;
  /// JSON documents: dlt's schema_contract, a mode ("evolve", "freeze", "discard_row",
  /// "discard_value") or {"tables": .., "columns": .., "data_type": ..} as JSON text.
  std::optional<std::string> schema_contract;
  /// dlt's incremental for typed batches: {"cursor_path": "updated_at", "initial_value": ...,
  /// "end_value", "last_value_func" ("max" | "min"), "row_order", "primary_key", "lag",
  /// "on_cursor_value_missing", "range_start", "range_end", "max_boundary_hashes"}. Extract keeps
  /// only new rows and stores the cursor in the resource state. (sql_database tables push it down
  /// to SQL through their own config instead.)
  std::optional<nlohmann::json> incremental;
};

/// Where JSON lines came from, so a bad document is reported with its file and line.
struct JsonOrigin {
  std::string file;
  int64_t first_line = 1;  ///< the number of the first line passed, in `file`
};

/// Handed to a resource function to yield batches.
class Emitter {
 public:
  virtual ~Emitter() = default;
  /// Yield one batch (a page). Returns false once the resource should stop (its limit was
  /// reached or the run is being cancelled); later batches are dropped.
  virtual bool Emit(Batch batch) = 0;

  /// Yield JSON text: an array is a page of items, an object one item (dlt's relational
  /// normalizer turns nested objects into columns and lists into nested tables in the normalize
  /// stage). Pages are the fast path. Extract stores the document unparsed, on one line (line
  /// breaks become spaces); malformed JSON fails in normalize. Counts as one item
  /// for add_limit. Returns false as Emit does.
  virtual bool EmitJson(std::string_view json);
  /// Yield a builder-made JSON value (an array = a page of items).
  bool EmitJsonValue(const nlohmann::json& value) { return EmitJson(value.dump()); }
  /// Yield JSON Lines: whole lines, one document each (blank lines are skipped in normalize).
  /// `origin` names the file they came from for error messages. Counts as one item for
  /// add_limit.
  virtual bool EmitJsonl(std::string_view lines, const JsonOrigin* origin = nullptr);

  /// Run `parts` of this resource concurrently, each with its own Emitter (and its own stream of
  /// files for the same table), on the calling thread plus extract workers that are free; returns
  /// once all parts are done and rethrows the first error. A part that is not started when
  /// another fails is skipped. The default runs the parts one after another.
  virtual void EmitParallel(std::vector<std::function<void(Emitter&)>> parts) {
    for (auto& part : parts) part(*this);
  }
  /// Threads the extract stage may give this resource at most (extract.workers); a source uses it
  /// to decide how finely to split its work.
  virtual int max_parallelism() const { return 1; }
  /// The resource's add_limit (max batches), so a source can push it down (e.g. a SQL LIMIT).
  virtual std::optional<int64_t> limit() const { return std::nullopt; }
  /// The resource's hints as they stand when it runs (e.g. column hints that decide how a source
  /// reads a column); nullptr when unknown.
  virtual const ResourceHints* hints() const { return nullptr; }
  /// This resource's state (dlt's `resource_state()`): a JSON object kept in the pipeline state
  /// under sources.<source>.resources.<resource>, saved with the package when the extract
  /// succeeds and restored on the next run. Parts run by EmitParallel share it: write it from the
  /// resource's own thread only.
  virtual nlohmann::json& resource_state() { return fallback_state_; }

 private:
  nlohmann::json fallback_state_ = nlohmann::json::object();
};

using ResourceFn = std::function<void(Emitter&)>;

/// A named producer of batches for one table.
class Resource {
 public:
  Resource(std::string name, ResourceFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}

  /// Run this resource on the extract thread pool (`extract.workers`) beside the others.
  Resource& parallelized(bool on = true) {
    parallelized_ = on;
    return *this;
  }
  /// Stop after `max_items` yielded batches (dlt's add_limit; the batch reaching it is kept).
  Resource& add_limit(int64_t max_items) {
    limit_ = max_items;
    return *this;
  }
  Resource& table_name(std::string name) {
    hints_.table_name = std::move(name);
    return *this;
  }
  Resource& write_disposition(std::string disposition) {
    hints_.write_disposition = std::move(disposition);
    return *this;
  }
  Resource& primary_key(std::vector<std::string> columns) {
    hints_.primary_key = std::move(columns);
    return *this;
  }
  Resource& merge_key(std::vector<std::string> columns) {
    hints_.merge_key = std::move(columns);
    return *this;
  }
  /// The merge strategy (sets write_disposition to merge): delete-insert, upsert, insert-only,
  /// scd2.
  Resource& merge_strategy(std::string strategy) {
    hints_.write_disposition = "merge";
    hints_.merge_strategy = std::move(strategy);
    return *this;
  }
  Resource& columns(std::vector<ColumnHint> columns) {
    hints_.columns = std::move(columns);
    return *this;
  }
  /// JSON documents: nesting levels turned into nested tables (dlt's max_table_nesting).
  Resource& max_table_nesting(int levels) {
    hints_.max_table_nesting = levels;
    return *this;
  }
  /// dlt's incremental (see ResourceHints::incremental), e.g.
  /// {{"cursor_path", "updated_at"}, {"initial_value", "2024-01-01T00:00:00Z"}}.
  Resource& incremental(nlohmann::json settings) {
    hints_.incremental = std::move(settings);
    return *this;
  }
  /// JSON documents: dlt's schema_contract as JSON text ("freeze" or {"columns": "freeze"}).
  Resource& schema_contract(std::string contract) {
    hints_.schema_contract = std::move(contract);
    return *this;
  }

  const std::string& name() const { return name_; }
  const ResourceFn& fn() const { return fn_; }
  bool is_parallelized() const { return parallelized_; }
  std::optional<int64_t> limit() const { return limit_; }
  const ResourceHints& hints() const { return hints_; }
  ResourceHints& mutable_hints() { return hints_; }

 private:
  std::string name_;
  ResourceFn fn_;
  bool parallelized_ = false;
  std::optional<int64_t> limit_;
  ResourceHints hints_;
};

/// A named group of resources; its name is also the schema's name.
struct Source {
  std::string name;
  std::vector<Resource> resources;
};

}  // namespace cdlt
