#pragma once

/// The pipeline: extract → normalize → load of a source into a destination, as in dlt.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cdlt/resource.hpp"

namespace cdlt {

namespace config {
class Config;
}

/// How a run reports progress while it works.
enum class ProgressMode { kAuto, kBar, kLog, kNone };

struct PipelineOptions {
  std::string pipeline_name;
  std::string destination;   ///< empty: config `destination`, else "duckdb"
  std::string dataset_name;  ///< empty: config `dataset_name`, else "<pipeline_name>_dataset"
  std::optional<bool> dev_mode;
  std::filesystem::path
      pipelines_dir;  ///< empty: config `pipelines_dir`, else <data dir>/pipelines
  /// Project folder whose .dlt/ holds config.toml and secrets.toml (empty: $DLT_PROJECT_DIR or
  /// cwd).
  std::filesystem::path project_dir;
  /// Extra config files (`cdlt run FILE`), above config.toml.
  std::vector<std::filesystem::path> config_files;
  std::optional<ProgressMode> progress;
};

/// Rows, files and bytes written for one table in one stage.
struct TableMetrics {
  int64_t rows = 0;
  int64_t files = 0;
  int64_t bytes = 0;
  /// normalize: malformed JSON lines sent to the rejects file (normalize.on_bad_line).
  int64_t rejected = 0;
};

/// One stage of a run (extract, normalize, load).
struct StepTrace {
  std::string step;
  double started_at = 0;   ///< unix seconds
  double finished_at = 0;  ///< unix seconds
  bool failed = false;
  std::string error;
  std::vector<std::string> load_ids;
  std::map<std::string, TableMetrics> tables;
  double duration() const { return finished_at - started_at; }
  int64_t total_rows() const;
  int64_t total_bytes() const;
};

/// What a run did: its steps, metrics and outcome. Saved as trace.json in the pipeline folder.
struct RunTrace {
  std::string pipeline_name;
  std::string destination;
  std::string dataset_name;
  std::string destination_location;  ///< without secrets
  double started_at = 0;
  double finished_at = 0;
  bool failed = false;
  std::string error;
  std::vector<StepTrace> steps;
  std::vector<std::string> loaded_packages;
  std::vector<std::string> failed_jobs;
  int64_t peak_rss_bytes = 0;
  std::vector<std::string> notes;  ///< e.g. "finished pending package ..."

  /// dlt-style human readable report.
  std::string ToString() const;
  std::string ToJson() const;
  static RunTrace FromJson(const std::string& json);
};

/// What load did (dlt's LoadInfo).
struct LoadInfo {
  std::vector<std::string> load_ids;
  bool has_failed_jobs = false;
  std::vector<std::string> failed_jobs;  ///< "<load_id>/<file>: <error>"
};

/// What Pipeline::Sync did.
struct SyncInfo {
  std::string destination_location;           ///< without secrets
  bool restored = false;                      ///< the destination held a state of this pipeline
  int64_t state_version = 0;                  ///< the restored state version
  std::vector<std::string> schemas;           ///< restored schema names
  std::vector<std::string> sources;           ///< source names in the restored state
  std::vector<std::string> dropped_packages;  ///< pending packages deleted first
};

class PipelineImpl;

class Pipeline {
 public:
  /// Resolve the configuration and open the pipeline's working folder. Throws Error(kConfig)
  /// naming the key on a bad value.
  static Pipeline Create(const PipelineOptions& options);
  ~Pipeline();
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;

  /// Finish pending packages, then extract, normalize and load `source`. When a pending package
  /// was found its data is loaded first and the source is then extracted in the same call.
  LoadInfo Run(const Source& source);
  /// Finish pending packages only.
  LoadInfo RunPending();
  /// dlt's `pipeline sync`: drop the local state and schemas and restore them from the newest
  /// state the destination holds for this pipeline (and the schemas it names), even when the
  /// local folder is not fresh. Throws Error(kConfig) when packages are pending, unless
  /// `drop_pending_packages` (then they are deleted, their data is never loaded). The destination
  /// is read before anything local changes; loaded packages and the last trace are kept.
  SyncInfo Sync(bool drop_pending_packages);

  const std::string& name() const;
  const std::string& dataset_name() const;
  const std::filesystem::path& working_dir() const;
  /// The trace of the last Run() in this process, or the one saved on disk.
  std::optional<RunTrace> last_trace() const;
  const config::Config& config() const;

 private:
  explicit Pipeline(std::unique_ptr<PipelineImpl> impl);
  std::unique_ptr<PipelineImpl> impl_;
};

}  // namespace cdlt
