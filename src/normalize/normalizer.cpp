#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "common/fault.hpp"
#include "common/logging.hpp"
#include "db/duckdb_conn.hpp"
#include "io/file.hpp"
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

}  // namespace

void Normalize(const StageContext& ctx, const std::string& load_id, schema::Schema& live,
               const fs::path& schema_path, StepTrace& trace) {
  package::LoadPackage extracted = ctx.storage->Extracted(load_id);
  trace.load_ids.push_back(load_id);
  schema::Schema pkg_schema = schema::Schema::LoadFile(extracted.SchemaPath());
  nlohmann::json state = extracted.ReadState();

  // The one place where the schema changes: every table the package proposes is merged here,
  // before any file is touched, so workers never disagree about a type.
  nlohmann::json updates = nlohmann::json::object();
  for (const schema::Table* t : pkg_schema.DataTables()) {
    schema::Table partial = *t;
    if (ctx.add_dlt_load_id) partial.columns.push_back(DltTextColumn("_dlt_load_id", false));
    if (ctx.add_dlt_id) partial.columns.push_back(DltTextColumn("_dlt_id", true));
    schema::TableUpdate update;
    try {
      update = live.MergeTable(partial);
    } catch (Error& e) {
      e.With("load_id", load_id);
      throw;
    }
    if (update.changed) {
      updates[t->name] = {{"new_table", update.new_table}, {"new_columns", update.new_columns}};
    }
  }
  live.BumpVersion();

  package::LoadPackage out = ctx.storage->BeginNormalize(load_id);
  std::vector<std::string> jobs = extracted.ListJobs(JobState::kNew);
  if (ctx.progress) ctx.progress->StartStage("normalize", static_cast<int64_t>(jobs.size()));
  bool rewrite = ctx.add_dlt_load_id || ctx.add_dlt_id;

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
        int64_t rows = state["files"].contains(name) ? state["files"][name].value("rows", 0) : 0;
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
