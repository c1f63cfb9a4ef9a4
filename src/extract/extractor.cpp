#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "common/fault.hpp"
#include "common/logging.hpp"
#include "common/text.hpp"
#include "db/duckdb_conn.hpp"
#include "extract/buffered_writer.hpp"
#include "extract/incremental.hpp"
#include "io/file.hpp"
#include "normalize/relational/relational_normalizer.hpp"
#include "pipeline/stages.hpp"

namespace cdlt {

bool Emitter::EmitJson(std::string_view) {
  throw Error(ErrorKind::kInternal, "this emitter does not take JSON documents");
}

bool Emitter::EmitJsonl(std::string_view, const JsonOrigin*) {
  throw Error(ErrorKind::kInternal, "this emitter does not take JSON documents");
}

}  // namespace cdlt

namespace cdlt::pipeline {

namespace fs = std::filesystem;
using package::JobFileName;
using package::JobState;

schema::Column ColumnFromField(const Field& field) {
  using schema::DataType;
  schema::Column c;
  c.name = field.name;
  c.nullable = field.nullable;
  switch (field.type.id) {
    case PhysicalType::kBool:
      c.data_type = DataType::kBool;
      break;
    case PhysicalType::kInt8:
      c.data_type = DataType::kBigint;
      c.precision = 8;
      break;
    case PhysicalType::kInt16:
      c.data_type = DataType::kBigint;
      c.precision = 16;
      break;
    case PhysicalType::kInt32:
      c.data_type = DataType::kBigint;
      c.precision = 32;
      break;
    case PhysicalType::kInt64:
      c.data_type = DataType::kBigint;
      break;
    case PhysicalType::kInt128:
      c.data_type = DataType::kBigint;
      c.precision = 128;
      break;
    case PhysicalType::kFloat:
    case PhysicalType::kDouble:
      c.data_type = DataType::kDouble;
      break;
    case PhysicalType::kDecimal:
      c.data_type = DataType::kDecimal;
      c.precision = field.type.precision == 0 ? 38 : field.type.precision;
      c.scale = field.type.scale;
      break;
    case PhysicalType::kText:
    case PhysicalType::kUuid:
      c.data_type = DataType::kText;
      break;
    case PhysicalType::kBinary:
      c.data_type = DataType::kBinary;
      break;
    case PhysicalType::kJson:
      c.data_type = DataType::kJson;
      break;
    case PhysicalType::kDate:
      c.data_type = DataType::kDate;
      break;
    case PhysicalType::kTime:
      c.data_type = DataType::kTime;
      break;
    case PhysicalType::kTimestamp:
      c.data_type = DataType::kTimestamp;
      c.timezone = false;
      break;
    case PhysicalType::kTimestampTz:
      c.data_type = DataType::kTimestamp;
      break;
  }
  return c;
}

namespace {

/// Everything one extract run shares between resource threads.
class ExtractRun {
 public:
  ExtractRun(const StageContext& ctx, const package::LoadPackage& pkg, const Source& source)
      : ctx_(ctx), pkg_(pkg), package_schema_(schema::Schema::New(source.name)) {}

  /// A new file stream for `table`; each emitter (a resource, or one part of it) has its own, so
  /// parts of one table write their files concurrently.
  TableWriter& NewWriter(const std::string& table) {
    std::lock_guard lock(mutex_);
    auto& list = writers_[table];
    list.push_back(
        std::make_unique<TableWriter>(table, pkg_.dir() / "new_jobs", ctx_.extract_writer));
    return *list.back();
  }

  /// A new JSONL file stream for `table` (JSON documents of an emitter).
  JsonlWriter& NewJsonlWriter(const std::string& table) {
    std::lock_guard lock(mutex_);
    auto& list = jsonl_writers_[table];
    list.push_back(
        std::make_unique<JsonlWriter>(table, pkg_.dir() / "new_jobs", ctx_.extract_writer));
    return *list.back();
  }

  // The task pool of extract.workers threads: resources, and the parts a resource hands to
  // EmitParallel (queued in front so that free workers help a running resource first).
  void PushTasks(std::vector<std::function<void()>> tasks, bool front) {
    {
      std::lock_guard lock(pool_mutex_);
      if (front) {
        for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) tasks_.push_front(std::move(*it));
      } else {
        for (auto& t : tasks) tasks_.push_back(std::move(t));
      }
    }
    pool_cv_.notify_all();
  }
  /// Mark work that runs outside the pool (the sequential resources) so workers stay available
  /// for its parts.
  void BeginOutsideWork() {
    std::lock_guard lock(pool_mutex_);
    ++active_;
  }
  void EndOutsideWork() {
    {
      std::lock_guard lock(pool_mutex_);
      --active_;
    }
    pool_cv_.notify_all();
  }
  void WorkerLoop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(pool_mutex_);
        pool_cv_.wait(lock, [&] { return !tasks_.empty() || active_ == 0; });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
        ++active_;
      }
      task();  // tasks catch their own errors
      {
        std::lock_guard lock(pool_mutex_);
        --active_;
      }
      pool_cv_.notify_all();
    }
  }

  /// Record the columns of a batch for `table`, with the resource's hints on top.
  void ProposeColumns(const std::string& table, const Resource& resource, const Fields& fields) {
    std::lock_guard lock(mutex_);
    schema::Table partial;
    partial.name = table;
    partial.resource = resource.name();
    for (const auto& f : fields) partial.columns.push_back(ColumnFromField(f));
    ApplyHints(partial, resource);
    try {
      package_schema_.MergeTable(partial);
    } catch (Error& e) {
      e.With("resource", resource.name());
      throw;
    }
  }

  void DeclareTable(const std::string& table, const Resource& resource) {
    std::lock_guard lock(mutex_);
    schema::Table partial;
    partial.name = table;
    partial.resource = resource.name();
    ApplyHints(partial, resource);
    package_schema_.MergeTable(partial);
    tables_[table] = partial.write_disposition.value_or(schema::WriteDisposition::kAppend);
  }

  void ApplyHints(schema::Table& t, const Resource& resource) {
    const ResourceHints& h = resource.hints();
    std::string what = fmt::format("write_disposition of resource {}", resource.name());
    auto fail = [&](const std::string& why) -> void {
      throw Error(ErrorKind::kConfig, fmt::format("{}: {}", what, why));
    };
    // The disposition is a name or dlt's dict (as JSON text); the typed hints win over the dict.
    std::optional<std::string> strategy = h.merge_strategy;
    std::optional<std::vector<std::string>> validity = h.validity_column_names;
    std::optional<std::string> active = h.active_record_timestamp;
    std::optional<std::string> boundary = h.boundary_timestamp;
    std::optional<std::string> row_version = h.row_version_column_name;
    t.write_disposition = schema::WriteDisposition::kAppend;
    if (h.write_disposition) {
      std::string text = *h.write_disposition;
      if (Trim(text).starts_with('{')) {
        nlohmann::json dict = nlohmann::json::parse(text, nullptr, false);
        if (!dict.is_object() || !dict.contains("disposition") ||
            !dict["disposition"].is_string()) {
          fail("expected a name or a dict with a \"disposition\"");
        }
        auto take = [&](const char* key, std::optional<std::string>& into) {
          if (!dict.contains(key) || dict[key].is_null() || into) return;
          if (!dict[key].is_string()) fail(fmt::format("{} must be a string", key));
          into = dict[key].get<std::string>();
        };
        take("strategy", strategy);
        take("active_record_timestamp", active);
        take("boundary_timestamp", boundary);
        take("row_version_column_name", row_version);
        if (dict.contains("validity_column_names") && !validity) {
          const auto& names = dict["validity_column_names"];
          if (!names.is_array() || !std::all_of(names.begin(), names.end(),
                                                [](const auto& n) { return n.is_string(); })) {
            fail("validity_column_names must be a list of two column names");
          }
          validity = names.get<std::vector<std::string>>();
        }
        text = dict["disposition"].get<std::string>();
      }
      t.write_disposition = schema::ParseWriteDisposition(text, what);
    }
    auto column = [&](const std::string& raw) -> schema::Column* {
      std::string name = ctx_.naming->NormalizeIdentifier(raw);
      schema::Column* c = t.FindColumn(name);
      if (c == nullptr) {
        t.columns.push_back(schema::Column{name});
        c = &t.columns.back();
      }
      return c;
    };
    bool merge = t.write_disposition == schema::WriteDisposition::kMerge;
    if (!merge && (strategy || validity || active || boundary || row_version)) {
      fail("merge strategy options need write_disposition merge");
    }
    if (strategy && !schema::IsMergeStrategy(*strategy)) {
      fail(fmt::format("unknown merge strategy \"{}\": allowed values are {}", *strategy,
                       schema::kMergeStrategyNames));
    }
    bool scd2 = strategy && *strategy == "scd2";
    if (!scd2 && (validity || active || row_version)) {
      fail(
          "validity_column_names, active_record_timestamp and row_version_column_name need "
          "strategy scd2");
    }
    if (strategy) t.extra[std::string(schema::kMergeStrategyHint)] = *strategy;
    if (boundary) t.extra[std::string(schema::kBoundaryTimestampHint)] = *boundary;
    if (scd2) {
      std::vector<std::string> names = validity.value_or(std::vector<std::string>{
          std::string(schema::kDefaultValidFrom), std::string(schema::kDefaultValidTo)});
      if (names.size() != 2 || names[0].empty() || names[1].empty() || names[0] == names[1]) {
        fail("validity_column_names must be a list of two different column names");
      }
      // As dlt: nullable, because rows in staging have no validity yet.
      for (int i = 0; i < 2; ++i) {
        schema::Column* c = column(names[static_cast<size_t>(i)]);
        c->data_type = schema::DataType::kTimestamp;
        c->nullable = true;
        c->extra[std::string(i == 0 ? schema::kValidFromHint : schema::kValidToHint)] = true;
        if (i == 1 && active) {
          c->extra[std::string(schema::kActiveRecordTimestampHint)] = *active;
        }
      }
      std::string version = row_version.value_or(std::string(schema::kDefaultRowVersion));
      schema::Column* c = column(version);
      c->nullable = false;
      c->extra[std::string(schema::kRowVersionHint)] = true;
      // cdlt computes the default row hash in the destination, so it needs a type up front.
      if (c->name == schema::kDefaultRowVersion) c->data_type = schema::DataType::kText;
    }
    for (const auto& hint : h.columns) {
      std::string name = ctx_.naming->NormalizeIdentifier(hint.name);
      schema::Column* c = t.FindColumn(name);
      if (c == nullptr) {
        t.columns.push_back(schema::Column{name});
        c = &t.columns.back();
      }
      if (hint.data_type) {
        auto dt = schema::ParseDataType(*hint.data_type);
        if (!dt) {
          throw Error(ErrorKind::kConfig,
                      fmt::format("column hint {}.{} of resource {}: unknown data_type \"{}\"",
                                  t.name, hint.name, resource.name(), *hint.data_type));
        }
        c->data_type = dt;
      }
      if (hint.nullable) c->nullable = *hint.nullable;
      if (hint.primary_key) c->primary_key = *hint.primary_key;
      if (hint.merge_key) c->merge_key = *hint.merge_key;
      if (hint.unique) c->unique = *hint.unique;
      if (hint.precision) c->precision = *hint.precision;
      if (hint.scale) c->scale = *hint.scale;
      if (hint.timezone) c->timezone = *hint.timezone;
      if (hint.hard_delete) c->hard_delete = *hint.hard_delete;
      if (hint.dedup_sort) {
        if (*hint.dedup_sort != "asc" && *hint.dedup_sort != "desc") {
          throw Error(ErrorKind::kConfig,
                      fmt::format("column hint {}.{} of resource {}: dedup_sort must be \"asc\" or "
                                  "\"desc\", got \"{}\"",
                                  t.name, hint.name, resource.name(), *hint.dedup_sort));
        }
        c->dedup_sort = *hint.dedup_sort;
      }
    }
    auto mark = [&](const std::vector<std::string>& keys, bool schema::Column::*flag) {
      for (const auto& key : keys) {
        std::string name = ctx_.naming->NormalizeIdentifier(key);
        schema::Column* c = t.FindColumn(name);
        if (c == nullptr) {
          t.columns.push_back(schema::Column{name});
          c = &t.columns.back();
        }
        c->*flag = true;
        c->nullable = false;
      }
    };
    mark(h.primary_key, &schema::Column::primary_key);
    mark(h.merge_key, &schema::Column::merge_key);
    if (h.max_table_nesting) {
      if (*h.max_table_nesting < 0) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("max_table_nesting of resource {} must be 0 or more, got {}",
                                resource.name(), *h.max_table_nesting));
      }
      t.extra["x-normalizer"]["max_nesting"] = *h.max_table_nesting;
    }
    if (h.schema_contract) {
      // A bare mode ("freeze") or dlt's dict as JSON.
      nlohmann::ordered_json contract =
          nlohmann::ordered_json::parse(*h.schema_contract, nullptr, false);
      if (contract.is_discarded()) contract = *h.schema_contract;
      try {
        t.schema_contract = normalize::relational::SchemaContract::FromJson(contract).ToJson();
      } catch (Error& e) {
        e.With("resource", resource.name());
        throw;
      }
    }
  }

  const StageContext& ctx_;
  const package::LoadPackage& pkg_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<TableWriter>>> writers_;
  std::map<std::string, std::vector<std::unique_ptr<JsonlWriter>>> jsonl_writers_;
  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::deque<std::function<void()>> tasks_;
  int active_ = 0;
  std::map<std::string, schema::WriteDisposition> tables_;
  schema::Schema package_schema_;
};

/// The Emitter handed to one resource (or one part of it): applies the limit, normalizes column
/// names once per distinct column set, and routes batches to its own file stream of the table.
class ResourceEmitter : public Emitter {
 public:
  /// Counters shared by a resource and its parts, so the limit holds across them.
  struct Shared {
    std::atomic<int64_t> emitted{0};
    std::atomic<bool> stopped{false};
  };

  ResourceEmitter(ExtractRun& run, const Resource& resource, std::string table,
                  nlohmann::json& state,
                  std::shared_ptr<Shared> shared = std::make_shared<Shared>())
      : run_(run),
        resource_(resource),
        table_(std::move(table)),
        writer_(run.NewWriter(table_)),
        state_(state),
        shared_(std::move(shared)) {}

  bool Emit(Batch batch) override {
    std::optional<int64_t> emitted = Admit();
    if (!emitted) return false;
    if (batch.num_columns() > 0) {
      if (batch.fields() != last_raw_fields_) {
        last_raw_fields_ = batch.fields();
        names_.clear();
        for (const auto& f : last_raw_fields_) {
          names_.push_back(run_.ctx_.naming->NormalizeIdentifier(f.name));
        }
        Fields normalized = last_raw_fields_;
        for (size_t i = 0; i < normalized.size(); ++i) normalized[i].name = names_[i];
        run_.ProposeColumns(table_, resource_, normalized);
      }
      batch.RenameColumns(names_);
      int64_t rows = static_cast<int64_t>(batch.num_rows());
      if (rows > 0) {
        writer_.Write(std::move(batch));
        if (run_.ctx_.progress) run_.ctx_.progress->AddRows(table_, rows);
      }
    }
    return Continue(*emitted);
  }

  bool EmitJson(std::string_view json) override {
    std::optional<int64_t> emitted = Admit();
    if (!emitted) return false;
    // One document per line: raw line breaks in JSON text can only be whitespace (inside
    // strings they are escaped), so they become spaces.
    if (json.find_first_of("\r\n") == std::string_view::npos) {
      WriteJsonl(json, nullptr);
    } else {
      std::string line(json);
      std::replace_if(
          line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
      WriteJsonl(line, nullptr);
    }
    return Continue(*emitted);
  }

  bool EmitJsonl(std::string_view lines, const JsonOrigin* origin) override {
    std::optional<int64_t> emitted = Admit();
    if (!emitted) return false;
    WriteJsonl(lines, origin);
    return Continue(*emitted);
  }

  void EmitParallel(std::vector<std::function<void(Emitter&)>> parts) override {
    struct Group {
      std::vector<std::function<void(Emitter&)>> parts;
      std::unique_ptr<std::atomic<bool>[]> claimed;
      std::mutex mutex;
      std::condition_variable done_cv;
      size_t remaining = 0;
      std::atomic<bool> failed{false};
      std::optional<ErrorData> error;
    };
    auto group = std::make_shared<Group>();
    group->parts = std::move(parts);
    group->remaining = group->parts.size();
    group->claimed = std::make_unique<std::atomic<bool>[]>(group->parts.size());
    auto run_part = [this, group](size_t i) {
      if (group->claimed[i].exchange(true)) return;
      if (!group->failed) {
        try {
          ResourceEmitter sub(run_, resource_, table_, state_, shared_);
          group->parts[i](sub);
        } catch (...) {
          std::lock_guard lock(group->mutex);
          if (!group->error) group->error = ErrorData::FromCurrentException();
          group->failed = true;
        }
      }
      {
        std::lock_guard lock(group->mutex);
        --group->remaining;
      }
      group->done_cv.notify_all();
    };
    std::vector<std::function<void()>> tasks;
    for (size_t i = 1; i < group->parts.size(); ++i)
      tasks.push_back([run_part, i] { run_part(i); });
    run_.PushTasks(std::move(tasks), /*front=*/true);
    // The calling thread works through the parts too, so the call never waits on a busy pool.
    for (size_t i = 0; i < group->parts.size(); ++i) run_part(i);
    std::unique_lock lock(group->mutex);
    group->done_cv.wait(lock, [&] { return group->remaining == 0; });
    if (group->error) group->error->Rethrow();
  }

  int max_parallelism() const override { return std::max(1, run_.ctx_.extract_workers); }
  std::optional<int64_t> limit() const override { return resource_.limit(); }
  const ResourceHints* hints() const override { return &resource_.hints(); }
  nlohmann::json& resource_state() override { return state_; }

 private:
  /// Count one yielded item; nullopt when the resource must stop (its limit was passed).
  std::optional<int64_t> Admit() {
    if (shared_->stopped) return std::nullopt;
    int64_t emitted = ++shared_->emitted;
    if (resource_.limit() && emitted > *resource_.limit()) {
      shared_->stopped = true;
      return std::nullopt;
    }
    return emitted;
  }
  /// Whether the resource may yield more after its `emitted`-th item.
  bool Continue(int64_t emitted) {
    if (resource_.limit() && emitted >= *resource_.limit()) {
      shared_->stopped = true;
      return false;
    }
    return true;
  }
  void WriteJsonl(std::string_view lines, const JsonOrigin* origin) {
    if (Trim(lines).empty()) return;
    if (jsonl_ == nullptr) jsonl_ = &run_.NewJsonlWriter(table_);
    int64_t count = jsonl_->Write(lines, origin);
    if (run_.ctx_.progress) run_.ctx_.progress->AddRows(table_, count);
  }

  ExtractRun& run_;
  const Resource& resource_;
  std::string table_;
  TableWriter& writer_;
  JsonlWriter* jsonl_ = nullptr;
  nlohmann::json& state_;
  std::shared_ptr<Shared> shared_;
  Fields last_raw_fields_;
  std::vector<std::string> names_;
};

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string Extract(const StageContext& ctx, const Source& source, const schema::Schema& live,
                    nlohmann::json& source_state,
                    const std::function<std::optional<nlohmann::json>()>& make_state_row,
                    StepTrace& trace) {
  std::string load_id = ctx.storage->NewLoadId();
  package::LoadPackage pkg = ctx.storage->BeginExtract(load_id);
  trace.load_ids.push_back(load_id);
  // One scratch DuckDB for the Parquet files of this stage, closed (its memory returned) after.
  db::ParquetWriterSession parquet_writers;
  if (ctx.progress) ctx.progress->StartStage("extract");
  try {
    ExtractRun run(ctx, pkg, source);
    std::vector<const Resource*> parallel, sequential;
    std::vector<std::string> table_of(source.resources.size());
    // Each resource works on its own copy of its state; the copies replace the source's state
    // only when every resource succeeded. A replace resource starts from an empty state (dlt).
    nlohmann::json states = nlohmann::json::object();
    if (source_state.is_object() && source_state.contains("resources") &&
        source_state["resources"].is_object()) {
      states = source_state["resources"];
    }
    for (size_t i = 0; i < source.resources.size(); ++i) {
      const Resource& r = source.resources[i];
      table_of[i] = ctx.naming->NormalizeTablePath(r.hints().table_name.value_or(r.name()));
      run.DeclareTable(table_of[i], r);
      (r.is_parallelized() ? parallel : sequential).push_back(&r);
      nlohmann::json& state = states[r.name()];
      if (!state.is_object() || run.tables_.at(table_of[i]) == schema::WriteDisposition::kReplace) {
        state = nlohmann::json::object();
      }
    }
    // Pointers taken once: resource threads never touch the `states` map itself.
    std::vector<nlohmann::json*> state_of;
    for (const Resource& r : source.resources) state_of.push_back(&states[r.name()]);
    auto index_of = [&](const Resource* r) {
      return static_cast<size_t>(r - source.resources.data());
    };
    auto table_for = [&](const Resource* r) { return table_of[index_of(r)]; };
    auto run_resource = [&](const Resource* r) {
      ResourceEmitter emitter(run, *r, table_for(r), *state_of[index_of(r)]);
      try {
        if (r->hints().incremental) {
          std::string where = fmt::format("resource {}", r->name());
          IncrementalSpec spec = IncrementalSpec::FromJson(
              *r->hints().incremental, fmt::format("the incremental hint of {}", where));
          nlohmann::json& state = emitter.resource_state()["incremental"][spec.cursor_path];
          IncrementalFilter filter(spec, state, r->hints().primary_key, where);
          IncrementalEmitter filtered(emitter, filter);
          r->fn()(filtered);
          state = filter.State();
          log::Info("{}: incremental on {} kept {} of {} rows", where, spec.cursor_path,
                    filter.rows_kept(), filter.rows_seen());
        } else {
          r->fn()(emitter);
        }
      } catch (Error& e) {
        e.With("resource", r->name());
        throw;
      } catch (const std::exception& e) {
        throw Error(ErrorKind::kSource, fmt::format("resource {} failed: {}", r->name(), e.what()));
      }
    };

    // Parallelized resources run on a pool of extract.workers threads, the others one after
    // another on this thread at the same time. Parts of a resource (EmitParallel) go to the same
    // pool, so the pool is started whenever there are workers.
    std::vector<ErrorData> errors;
    std::mutex errors_mutex;
    std::atomic<bool> failed{false};
    auto guarded = [&](const Resource* r) {
      if (failed) return;
      try {
        run_resource(r);
      } catch (...) {
        std::lock_guard lock(errors_mutex);
        errors.push_back(ErrorData::FromCurrentException());
        failed = true;
      }
    };
    std::vector<std::function<void()>> tasks;
    for (const Resource* r : parallel) tasks.push_back([&guarded, r] { guarded(r); });
    run.BeginOutsideWork();
    run.PushTasks(std::move(tasks), /*front=*/false);
    std::vector<std::thread> threads;
    for (int i = 0; i < std::max(1, ctx.extract_workers); ++i) {
      threads.emplace_back([&run] { run.WorkerLoop(); });
    }
    for (const Resource* r : sequential) guarded(r);
    run.EndOutsideWork();
    for (auto& t : threads) t.join();
    if (!errors.empty()) errors.front().Rethrow();

    nlohmann::json files = nlohmann::json::object();
    nlohmann::json tables = nlohmann::json::object();
    std::vector<std::string> replace_tables;
    auto close_writers = [&](auto& writers_by_table) {
      for (auto& [table, writers] : writers_by_table) {
        for (auto& writer : writers) {
          writer->Close();
          TableMetrics& m = trace.tables[table];
          for (const FileRecord& f : writer->files()) {
            files[f.name] = {{"rows", f.rows}, {"bytes", f.bytes}};
            if (!f.origins.is_null()) files[f.name]["origins"] = f.origins;
            m.rows += f.rows;
            m.bytes += f.bytes;
            m.files += 1;
          }
        }
      }
    };
    close_writers(run.writers_);
    close_writers(run.jsonl_writers_);
    for (const auto& [table, disposition] : run.tables_) {
      const TableMetrics& m = trace.tables[table];
      bool seen_before =
          live.FindTable(table) != nullptr && live.FindTable(table)->HasCompleteColumns();
      // A replace resource without rows still empties a table that had data (dlt §8.2).
      if (m.rows == 0 && !(disposition == schema::WriteDisposition::kReplace && seen_before)) {
        trace.tables.erase(table);
        continue;
      }
      tables[table] = {{"rows", m.rows},
                       {"write_disposition", schema::WriteDispositionName(disposition)}};
      if (disposition == schema::WriteDisposition::kReplace) replace_tables.push_back(table);
    }
    // Tables without data and without a replace to apply are left out of the package schema.
    for (const auto& [table, disposition] : run.tables_) {
      if (!tables.contains(table)) run.package_schema_.DropTable(table);
    }
    run.package_schema_.SaveFile(pkg.SchemaPath());
    for (auto it = states.begin(); it != states.end();) {
      it = it->empty() ? states.erase(it) : std::next(it);
    }
    if (!source_state.is_object()) source_state = nlohmann::json::object();
    if (states.empty()) {
      source_state.erase("resources");
    } else {
      source_state["resources"] = states;
    }
    std::optional<nlohmann::json> pipeline_state = make_state_row();
    nlohmann::json state = {{"created_at", NowSeconds()},
                            {"source", source.name},
                            {"tables", tables},
                            {"replace_tables", replace_tables},
                            {"files", files}};
    if (pipeline_state) state["pipeline_state"] = *pipeline_state;
    pkg.WriteState(state);
    ctx.storage->CommitExtract(pkg);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(pkg.dir().parent_path(), ec);
    if (ctx.progress) ctx.progress->EndStage();
    throw;
  }
  if (ctx.progress) ctx.progress->EndStage();
  return load_id;
}

}  // namespace cdlt::pipeline
