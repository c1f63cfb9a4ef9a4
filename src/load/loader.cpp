#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "common/fault.hpp"
#include "common/logging.hpp"
#include "io/file.hpp"
#include "pipeline/stages.hpp"

namespace cdlt::pipeline {

namespace fs = std::filesystem;
using package::JobFileName;
using package::JobState;

namespace {

dest::PackagePlan MakePlan(const package::LoadPackage& pkg) {
  nlohmann::json state = pkg.ReadState();
  dest::PackagePlan plan;
  plan.load_id = pkg.load_id();
  if (state.contains("tables")) {
    for (const auto& [table, info] : state["tables"].items()) {
      plan.tables.push_back(table);
      if (info.is_object() && info.value("write_disposition", "") == "merge") {
        plan.merge_tables.push_back(table);
      }
    }
  }
  if (state.contains("replace_tables")) {
    for (const auto& t : state["replace_tables"])
      plan.replace_tables.push_back(t.get<std::string>());
  }
  if (state.contains("created_at") && state["created_at"].is_number()) {
    plan.created_at = state["created_at"].get<double>();
  }
  if (state.contains("normalizer_id_tables") && state["normalizer_id_tables"].is_array()) {
    plan.normalizer_id_tables.emplace();
    for (const auto& t : state["normalizer_id_tables"]) {
      if (t.is_string()) plan.normalizer_id_tables->insert(t.get<std::string>());
    }
  }
  if (state.contains("pipeline_state")) plan.pipeline_state = state["pipeline_state"];
  return plan;
}

}  // namespace

void Load(const StageContext& ctx, const std::string& load_id, dest::DestinationClient& client,
          StepTrace& trace, LoadInfo& info) {
  package::LoadPackage pkg = ctx.storage->Normalized(load_id);
  trace.load_ids.push_back(load_id);
  schema::Schema schema = schema::Schema::LoadFile(pkg.SchemaPath());
  dest::PackagePlan plan = MakePlan(pkg);
  nlohmann::json state = pkg.ReadState();
  // Rows of a job file as extract or normalize recorded them (0 when unknown).
  auto rows_of = [&](const std::string& name) -> int64_t {
    if (!state.contains("files")) return 0;
    JobFileName job = JobFileName::Parse(name);
    job.retry = 0;
    std::string original = job.ToString();
    return state["files"].contains(original) ? state["files"][original].value("rows", 0) : 0;
  };
  {
    std::vector<std::string> pending = pkg.ListJobs(JobState::kNew);
    for (const auto& name : pkg.ListJobs(JobState::kStarted)) pending.push_back(name);
    for (const auto& name : pending) plan.job_rows.push_back(rows_of(name));
    plan.concurrent_jobs =
        std::max(1, std::min<int>(ctx.load_workers, static_cast<int>(pending.size())));
    if (client.capabilities().max_parallel_load_jobs > 0) {
      plan.concurrent_jobs =
          std::min(plan.concurrent_jobs, client.capabilities().max_parallel_load_jobs);
    }
  }

  // A crash after the package's final commit but before its folder moved: nothing left to do.
  if (client.IsPackageCommitted(load_id)) {
    log::Info("load package {} was already committed to the destination; marking it loaded",
              load_id);
    ctx.storage->CompleteLoad(load_id, package::PackageStatus::kLoaded);
    info.load_ids.push_back(load_id);
    return;
  }
  fs::path applied = pkg.dir() / "applied_schema_updates.json";
  std::error_code ec;
  if (!fs::exists(applied, ec)) {
    client.InitPackage(schema, plan);
    // Tables and staging are prepared in the destination, the marker is not written yet.
    FaultPoint("load.after_init");
    io::WriteFileAtomic(applied, io::ReadFile(pkg.dir() / "schema_updates.json"));
  }
  // Jobs left in started_jobs by a crash: finished if the destination recorded them, else rerun.
  for (const auto& name : pkg.ListJobs(JobState::kStarted)) {
    JobFileName job = JobFileName::Parse(name);
    if (client.IsJobCommitted(load_id, job.JobId())) {
      pkg.MoveJob(name, JobState::kStarted, JobState::kCompleted);
    } else {
      pkg.MoveJob(name, JobState::kStarted, JobState::kNew);
    }
  }

  std::vector<std::string> jobs = pkg.ListJobs(JobState::kNew);
  if (ctx.progress) ctx.progress->StartStage("load", static_cast<int64_t>(jobs.size()));
  std::mutex mutex;
  std::deque<std::string> queue(jobs.begin(), jobs.end());
  std::vector<std::string> failed;
  std::optional<ErrorData> stop_error;

  auto worker = [&] {
    while (true) {
      std::string name;
      {
        std::lock_guard lock(mutex);
        if (queue.empty() || stop_error || (!failed.empty() && ctx.raise_on_failed_jobs)) return;
        name = queue.front();
        queue.pop_front();
      }
      JobFileName job = JobFileName::Parse(name);
      try {
        fs::path file = pkg.MoveJob(name, JobState::kNew, JobState::kStarted);
        client.LoadJob(schema, plan, job.table, job.JobId(), file);
        FaultPoint("load.after_job_commit");
        pkg.MoveJob(name, JobState::kStarted, JobState::kCompleted);
        FaultPoint("load.after_job");
        int64_t rows = rows_of(name);
        std::error_code fec;
        int64_t bytes =
            static_cast<int64_t>(fs::file_size(pkg.JobPath(JobState::kCompleted, name), fec));
        std::lock_guard lock(mutex);
        TableMetrics& m = trace.tables[job.table];
        m.rows += rows;
        m.files += 1;
        m.bytes += bytes;
        if (ctx.progress) {
          ctx.progress->AddRows(job.table, rows);
          ctx.progress->FileDone();
        }
      } catch (const Error& e) {
        std::string message = e.what();
        try {
          if (e.transient()) {
            std::string next = pkg.RetryJob(name);
            int retry = JobFileName::Parse(next).retry;
            log::Warn("load job {} failed (attempt {}), retrying: {}", name, retry, message);
            std::lock_guard lock(mutex);
            if (retry >= ctx.raise_on_max_retries) {
              stop_error = ErrorData{ErrorKind::kDestination, Retry::kTransient,
                                     fmt::format("load job {} of package {} failed {} times, the "
                                                 "package stays pending for the next run: {}",
                                                 next, load_id, retry, message)};
            } else {
              queue.push_back(next);
            }
            continue;
          }
          pkg.FailJob(name, JobState::kStarted, message);
          log::Error("load job {} of package {} failed: {}", name, load_id, message);
          std::lock_guard lock(mutex);
          failed.push_back(fmt::format("{}/{}: {}", load_id, name, message));
        } catch (...) {
          std::lock_guard lock(mutex);
          stop_error = ErrorData::FromCurrentException();
        }
      } catch (...) {
        std::lock_guard lock(mutex);
        stop_error = ErrorData::FromCurrentException();
      }
    }
  };
  int n = std::max(1, std::min(plan.concurrent_jobs, static_cast<int>(jobs.size())));
  log::Info("load package {}: {} job(s), {} at a time", load_id, jobs.size(), n);
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (ctx.progress) ctx.progress->EndStage();
  if (stop_error) stop_error->Rethrow();

  if (!failed.empty()) {
    info.has_failed_jobs = true;
    info.failed_jobs.insert(info.failed_jobs.end(), failed.begin(), failed.end());
    if (ctx.raise_on_failed_jobs) {
      // Nothing of an aborted package is recorded in _dlt_loads; its rows stay uncommitted.
      ctx.storage->CompleteLoad(load_id, package::PackageStatus::kAborted);
      throw FailedJobsError(
          fmt::format("load package {} aborted: {} job(s) failed; first: {} (see `cdlt pipeline {} "
                      "failed-jobs`)",
                      load_id, failed.size(), failed.front(), ctx.pipeline_name));
    }
  }
  FaultPoint("load.before_complete");
  client.CompletePackage(schema, plan);
  FaultPoint("load.after_complete");
  ctx.storage->CompleteLoad(load_id, package::PackageStatus::kLoaded);
  info.load_ids.push_back(load_id);
}

}  // namespace cdlt::pipeline
