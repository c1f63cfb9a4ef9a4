#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/error.hpp"
#include "common/fault.hpp"
#include "common/logging.hpp"
#include "db/duckdb_conn.hpp"
#include "extract/buffered_writer.hpp"
#include "io/file.hpp"
#include "io/text_stream.hpp"
#include "normalize/relational/relational_normalizer.hpp"
#include "pipeline/stages.hpp"

namespace cdlt::pipeline {

namespace fs = std::filesystem;
using package::JobFileName;
using package::JobState;

namespace {

/// Hard-link `from` to `to` (same file system: no copy), copying only when linking is impossible.
/// The extracted file stays in place until normalize commits, so a crash loses nothing.
void LinkOrCopy(const fs::path& from, const fs::path& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return;
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    Throw(ErrorKind::kIo, "cannot copy {} to {}: {}", from.string(), to.string(), ec.message());
  }
  io::Fsync(to);
}

schema::Column DltTextColumn(const std::string& name, bool unique) {
  schema::Column c;
  c.name = name;
  c.data_type = schema::DataType::kText;
  c.nullable = false;
  if (unique) {
    c.unique = true;
    c.row_key = true;
  }
  return c;
}

/// What normalizing one JSONL job produced: Parquet files per table in a staging folder, moved
/// into the package only once its schema update has been merged.
struct JsonlResult {
  normalize::relational::SchemaUpdate update;
  fs::path staging;
  std::vector<std::pair<std::string, FileRecord>> files;  // table, file
  std::map<std::string, int64_t> rows;
  int64_t rejected = 0;
};

/// One run of lines of a JSONL job that came from one place: lines [line, next segment) of the
/// job file are lines source_line... of `file` (empty: the job file itself).
struct Origin {
  int64_t line = 1;
  std::string file;
  int64_t source_line = 1;
};

std::vector<Origin> OriginsOf(const nlohmann::json& file_state) {
  std::vector<Origin> out;
  if (file_state.is_object() && file_state.contains("origins") &&
      file_state["origins"].is_array()) {
    for (const auto& o : file_state["origins"]) {
      Origin origin;
      origin.line = o.value("line", int64_t{1});
      if (o.contains("file") && o["file"].is_string()) origin.file = o["file"].get<std::string>();
      origin.source_line = o.value("source_line", origin.line);
      out.push_back(std::move(origin));
    }
  }
  if (out.empty() || out.front().line > 1) out.insert(out.begin(), Origin{1, "", 1});
  return out;
}

/// Normalize one JSONL job file against `snapshot` (a copy is taken), writing Parquet files to
/// `staging`. Malformed lines fail the job, naming the source file and line, or go to
/// `rejects_path` when ctx.reject_bad_lines is set.
JsonlResult NormalizeJsonl(const StageContext& ctx, const std::string& load_id,
                           const schema::Schema& snapshot, const fs::path& src,
                           const JobFileName& job, const nlohmann::json& file_state,
                           const fs::path& staging, const fs::path& rejects_path) {
  namespace rel = normalize::relational;
  JsonlResult result;
  result.staging = staging;
  std::error_code ec;
  fs::remove_all(staging, ec);
  io::CreateDirs(staging);
  std::map<std::string, std::unique_ptr<TableWriter>> writers;
  auto sink = [&](const std::string& table, Batch batch) {
    auto& w = writers[table];
    if (!w) w = std::make_unique<TableWriter>(table, staging, ctx.normalize_writer, nullptr);
    w->Write(std::move(batch));
  };
  rel::NormalizerOptions options;
  options.load_id = load_id;
  options.widen_in_place = ctx.widen_in_place;
  options.batch_rows =
      static_cast<size_t>(std::max<int64_t>(1, ctx.normalize_writer.buffer_max_items));
  rel::RootTableSpec root;
  root.table_name = job.table;
  rel::RelationalNormalizer normalizer(snapshot, root, options, sink);

  std::vector<Origin> origins = OriginsOf(file_state);
  std::unique_ptr<io::CompressedFileWriter> rejects;
  auto where = [&](const Origin& o) { return o.file.empty() ? src.string() : o.file; };
  auto reject = [&](const Origin& o, int64_t line, std::string_view text, const Error& e) {
    if (!rejects) {
      io::CreateDirs(rejects_path.parent_path());
      rejects = std::make_unique<io::CompressedFileWriter>(rejects_path, false);
    }
    nlohmann::json entry = {{"file", where(o)},
                            {"line", line},
                            {"table", job.table},
                            {"error", e.message()},
                            {"text", std::string(text)}};
    rejects->Write(entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    rejects->Write("\n");
    ++result.rejected;
  };
  auto feed = [&](std::string_view text, int64_t job_line, const Origin& o) {
    rel::BadLineFn on_bad_line;
    if (ctx.reject_bad_lines) {
      on_bad_line = [&](int64_t line, std::string_view content, const Error& e) {
        reject(o, line, content, e);
      };
    }
    try {
      normalizer.FeedJsonl(text, o.source_line + (job_line - o.line), on_bad_line);
    } catch (Error& e) {
      Error out(e.kind(), fmt::format("{}: {}", where(o), e.message()), e.retry());
      out.With("table", job.table);
      throw out;
    }
  };

  io::LineChunkReader reader(src);
  size_t seg = 0;
  for (std::string_view chunk = reader.Next(); !chunk.empty(); chunk = reader.Next()) {
    int64_t job_line = reader.first_line();
    // Cut the chunk where the next origin segment starts, so each piece has one origin.
    while (!chunk.empty()) {
      while (seg + 1 < origins.size() && origins[seg + 1].line <= job_line) ++seg;
      size_t cut = chunk.size();
      if (seg + 1 < origins.size()) {
        int64_t lines_left = origins[seg + 1].line - job_line;
        size_t pos = 0;
        for (int64_t i = 0; i < lines_left && pos < chunk.size(); ++i) {
          size_t nl = chunk.find('\n', pos);
          pos = nl == std::string_view::npos ? chunk.size() : nl + 1;
        }
        cut = pos;
      }
      feed(chunk.substr(0, cut), job_line, origins[seg]);
      chunk.remove_prefix(cut);
      // The usual chunk is one piece; the reader knows where the next chunk starts. Text left
      // after a cut means the cut found all the lines up to the next segment.
      if (!chunk.empty()) job_line = origins[seg + 1].line;
    }
  }
  normalizer.Flush();
  for (auto& [table, writer] : writers) {
    writer->Close();
    for (const FileRecord& f : writer->files()) result.files.emplace_back(table, f);
  }
  if (rejects) rejects->Close();
  for (const auto& [table, rows] : normalizer.stats().rows) result.rows[table] += rows;
  result.update = normalizer.TakeSchemaUpdate();
  return result;
}

}  // namespace

void Normalize(const StageContext& ctx, const std::string& load_id, schema::Schema& live,
               const fs::path& schema_path, StepTrace& trace) {
  namespace rel = normalize::relational;
  package::LoadPackage extracted = ctx.storage->Extracted(load_id);
  trace.load_ids.push_back(load_id);
  // One scratch DuckDB for the Parquet files of this stage, closed (its memory returned) after.
  db::ParquetWriterSession parquet_writers;
  schema::Schema pkg_schema = schema::Schema::LoadFile(extracted.SchemaPath());
  nlohmann::json state = extracted.ReadState();
  std::vector<std::string> jobs = extracted.ListJobs(JobState::kNew);
  if (!state["files"].is_object()) state["files"] = nlohmann::json::object();
  // What extract recorded of a job file (rows, origins); read-only while workers run.
  const nlohmann::json& extracted_files = state["files"];
  auto file_state_of = [&](const std::string& name) {
    auto it = extracted_files.find(name);
    return it != extracted_files.end() ? *it : nlohmann::json::object();
  };
  // Tables that arrive as JSON documents get their columns (and _dlt_load_id, _dlt_id) from the
  // relational normalizer, below.
  std::set<std::string> json_tables;
  for (const auto& name : jobs) {
    JobFileName job = JobFileName::Parse(name);
    if (job.ext == "jsonl") json_tables.insert(job.table);
  }

  // The one place where the schema changes: every table the package proposes is merged here,
  // before any file is touched, so workers never disagree about a type.
  nlohmann::json updates = nlohmann::json::object();
  auto record_update = [&](const schema::TableUpdate& update) {
    if (!update.changed) return;
    nlohmann::json& u = updates[update.table];
    if (u.is_null()) u = {{"new_table", false}, {"new_columns", nlohmann::json::array()}};
    u["new_table"] = u["new_table"].get<bool>() || update.new_table;
    for (const auto& c : update.new_columns) u["new_columns"].push_back(c);
  };
  for (const schema::Table* t : pkg_schema.DataTables()) {
    schema::Table partial = *t;
    if (!json_tables.count(t->name)) {
      if (ctx.add_dlt_load_id) partial.columns.push_back(DltTextColumn("_dlt_load_id", false));
      if (ctx.add_dlt_id) partial.columns.push_back(DltTextColumn("_dlt_id", true));
    }
    schema::TableUpdate update;
    try {
      update = live.MergeTable(partial);
    } catch (Error& e) {
      e.With("load_id", load_id);
      throw;
    }
    update.table = t->name;
    record_update(update);
  }

  package::LoadPackage out = ctx.storage->BeginNormalize(load_id);
  if (ctx.progress) ctx.progress->StartStage("normalize", static_cast<int64_t>(jobs.size()));
  bool rewrite = ctx.add_dlt_load_id || ctx.add_dlt_id;
  // JSON workers normalize against this snapshot; their schema updates are merged afterwards,
  // in job order, so the outcome does not depend on thread timing.
  const schema::Schema snapshot = live;
  std::vector<std::optional<JsonlResult>> json_results(jobs.size());
  fs::path staging_root = out.dir() / "normalize_staging";
  auto rejects_path = [&](const std::string& name) {
    return ctx.working_dir / "rejects" / load_id / (name + ".rejects.jsonl");
  };

  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::vector<ErrorData> errors;
  auto worker = [&] {
    std::unique_ptr<db::DuckConnection> con;
    std::shared_ptr<db::DuckDatabase> scratch;
    while (true) {
      size_t i = next++;
      if (i >= jobs.size()) return;
      {
        std::lock_guard lock(mutex);
        if (!errors.empty()) return;
      }
      const std::string& name = jobs[i];
      try {
        JobFileName job = JobFileName::Parse(name);
        fs::path src = extracted.JobPath(JobState::kNew, name);
        fs::path dst = out.JobPath(JobState::kNew, name);
        if (job.ext == "jsonl") {
          json_results[i] = NormalizeJsonl(ctx, load_id, snapshot, src, job, file_state_of(name),
                                           staging_root / std::to_string(i), rejects_path(name));
          if (ctx.progress) {
            for (const auto& [table, rows] : json_results[i]->rows) {
              ctx.progress->AddRows(table, rows);
            }
            ctx.progress->FileDone();
          }
          continue;
        }
        if (!rewrite) {
          LinkOrCopy(src, dst);
        } else {
          if (!con) {
            scratch = db::DuckDatabase::Open(":memory:", {1, ""}, ErrorKind::kIo);
            con = std::make_unique<db::DuckConnection>(scratch, ErrorKind::kIo);
          }
          std::string extra;
          if (ctx.add_dlt_load_id)
            extra += fmt::format(", {} AS _dlt_load_id", db::QuoteLiteral(load_id));
          if (ctx.add_dlt_id) extra += ", replace(gen_random_uuid()::VARCHAR, '-', '') AS _dlt_id";
          fs::path tmp = dst;
          tmp += ".tmp-normalize";
          con->Execute(
              fmt::format("COPY (SELECT *{} FROM read_parquet({})) TO {} (FORMAT parquet, "
                          "COMPRESSION zstd)",
                          extra, db::QuoteLiteral(src.string()), db::QuoteLiteral(tmp.string())),
              fmt::format("normalizing {}", src.string()));
          io::Fsync(tmp);
          io::RenameDurable(tmp, dst);
        }
        FaultPoint("normalize.after_file");
        int64_t rows = file_state_of(name).value("rows", int64_t{0});
        std::error_code ec;
        int64_t bytes = static_cast<int64_t>(fs::file_size(dst, ec));
        {
          std::lock_guard lock(mutex);
          TableMetrics& m = trace.tables[job.table];
          m.rows += rows;
          m.files += 1;
          m.bytes += bytes;
        }
        if (ctx.progress) {
          ctx.progress->AddRows(job.table, rows);
          ctx.progress->FileDone();
        }
      } catch (...) {
        std::lock_guard lock(mutex);
        errors.push_back(ErrorData::FromCurrentException());
      }
    }
  };
  int n = std::max(1, std::min<int>(ctx.normalize_workers, static_cast<int>(jobs.size())));
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (ctx.progress) ctx.progress->EndStage();
  if (!errors.empty()) errors.front().Rethrow();

  // Merge the JSON jobs' schema updates in job order. An update that contradicts one merged
  // before it (two files inferred different types for a new column) is refused: that file is
  // normalized again against the merged schema, as dlt redoes a conflicting worker group.
  nlohmann::json& files_state = state["files"];
  nlohmann::json& tables_state = state["tables"];
  if (!tables_state.is_object()) tables_state = nlohmann::json::object();
  std::map<std::string, int64_t> json_rows;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!json_results[i]) continue;
    JobFileName job = JobFileName::Parse(jobs[i]);
    rel::MergeOutcome outcome = rel::MergeSchemaUpdate(live, json_results[i]->update);
    if (!outcome.merged) {
      log::Info("normalize: {} disagrees with an earlier file ({}); normalizing it again", jobs[i],
                outcome.conflict);
      json_results[i] = NormalizeJsonl(
          ctx, load_id, live, extracted.JobPath(JobState::kNew, jobs[i]), job,
          file_state_of(jobs[i]), staging_root / std::to_string(i), rejects_path(jobs[i]));
      outcome = rel::MergeSchemaUpdate(live, json_results[i]->update);
      if (!outcome.merged) {
        Throw(ErrorKind::kSchema, "cannot merge the schema of {}: {}", jobs[i], outcome.conflict);
      }
    }
    for (const auto& update : outcome.table_updates) record_update(update);
    JsonlResult& r = *json_results[i];
    for (auto& [table, f] : r.files) {
      io::RenameDurable(r.staging / f.name, out.JobPath(JobState::kNew, f.name));
      files_state[f.name] = {{"rows", f.rows}, {"bytes", f.bytes}};
      TableMetrics& m = trace.tables[table];
      m.files += 1;
      m.bytes += f.bytes;
    }
    for (const auto& [table, rows] : r.rows) {
      trace.tables[table].rows += rows;
      json_rows[table] += rows;
    }
    trace.tables[job.table].rejected += r.rejected;
    if (r.rejected > 0) {
      log::Warn("normalize: {} malformed line(s) of table {} written to {}", r.rejected, job.table,
                rejects_path(jobs[i]).string());
    }
    std::error_code ec;
    fs::remove_all(r.staging, ec);
    FaultPoint("normalize.after_file");
  }
  std::error_code ec;
  fs::remove_all(staging_root, ec);
  // The loader learns the tables of the package from its state: the JSON tables' real row counts,
  // and their nested tables (which follow their root's write disposition: none of their own).
  for (const auto& [table, rows] : json_rows) tables_state[table]["rows"] = rows;
  // The merge SQL must not recompute the ids the relational normalizer set (key and row hashes
  // linked to nested rows), and must compute them for typed rows: the package says which is which.
  state["normalizer_id_tables"] = json_tables;
  live.BumpVersion();

  live.SaveFile(out.SchemaPath());
  io::WriteFileAtomic(out.dir() / "schema_updates.json", updates.dump(2));
  state["normalized_at"] =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  out.WriteState(state);
  // The live schema is saved before the commit: merging the same package again is a no-op.
  live.SaveFile(schema_path);
  FaultPoint("normalize.before_commit");
  ctx.storage->CommitNormalize(load_id);
}

}  // namespace cdlt::pipeline
