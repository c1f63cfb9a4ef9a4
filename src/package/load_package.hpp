#pragma once

// The load package on disk: the only hand-off between extract, normalize and load. A job's state
// is the folder its file sits in and a package's state is the folder the package sits in; every
// change is one durable rename, so a crash at any point leaves a state the next run can finish.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cdlt::package {

namespace fs = std::filesystem;

enum class JobState { kNew, kStarted, kCompleted, kFailed };
/// new_jobs, started_jobs, completed_jobs, failed_jobs.
std::string_view JobFolder(JobState state);

/// `<table>.<file_id>.<retry_count>.<ext>`: table names never contain '.'.
struct JobFileName {
  std::string table;
  std::string file_id;
  int retry = 0;
  std::string ext;

  /// Error(kIo) naming the file when the name has not this shape.
  static JobFileName Parse(std::string_view file_name);
  static JobFileName New(std::string table, std::string ext);
  std::string ToString() const;
  /// The job id: the file name without the retry count (stable across retries).
  std::string JobId() const;
};

enum class PackageStatus { kExtracted, kNormalized, kLoaded, kAborted };
std::string_view PackageStatusName(PackageStatus status);

/// One package folder.
class LoadPackage {
 public:
  LoadPackage(fs::path dir, std::string load_id)
      : dir_(std::move(dir)), load_id_(std::move(load_id)) {}

  const fs::path& dir() const { return dir_; }
  const std::string& load_id() const { return load_id_; }
  fs::path JobPath(JobState state, const std::string& file_name) const;
  /// File names in one job folder, sorted.
  std::vector<std::string> ListJobs(JobState state) const;
  /// Move a job file between folders (durable rename). Returns the path it now has.
  fs::path MoveJob(const std::string& file_name, JobState from, JobState to) const;
  /// started → new with the retry count + 1; returns the new file name.
  std::string RetryJob(const std::string& file_name) const;
  /// Move to failed_jobs and write `<file_name>.exception` holding the error.
  void FailJob(const std::string& file_name, JobState from, const std::string& message) const;
  /// The error text stored beside a failed job.
  std::string FailedJobMessage(const std::string& file_name) const;

  fs::path SchemaPath() const { return dir_ / "schema.json"; }
  fs::path StatePath() const { return dir_ / "load_package_state.json"; }
  nlohmann::json ReadState() const;
  void WriteState(const nlohmann::json& state) const;
  /// Create the job folders.
  void CreateLayout() const;

 private:
  fs::path dir_;
  std::string load_id_;
};

/// The packages of one pipeline working folder.
class PackageStorage {
 public:
  explicit PackageStorage(fs::path pipeline_dir);

  /// A new load id: unix time in seconds with microseconds ("1751371611.374621"), strictly
  /// increasing within the process and greater than any package already on disk.
  std::string NewLoadId() const;

  /// Extract writes into a temporary folder that CommitExtract renames into `extracted`.
  LoadPackage BeginExtract(const std::string& load_id) const;
  LoadPackage CommitExtract(const LoadPackage& pkg) const;

  /// Normalize writes `load/new/<id>`; CommitNormalize renames it to `load/normalized/<id>` and
  /// then removes the extracted package.
  LoadPackage BeginNormalize(const std::string& load_id) const;
  LoadPackage CommitNormalize(const std::string& load_id) const;

  /// Move a normalized package to `load/loaded` as loaded or aborted, with its completion marker.
  LoadPackage CompleteLoad(const std::string& load_id, PackageStatus status) const;

  std::vector<std::string> ListExtracted() const;
  std::vector<std::string> ListNormalized() const;
  std::vector<std::string> ListLoaded() const;
  LoadPackage Extracted(const std::string& load_id) const;
  LoadPackage Normalized(const std::string& load_id) const;
  LoadPackage Loaded(const std::string& load_id) const;
  /// Where a package is now, if anywhere.
  std::optional<std::pair<PackageStatus, LoadPackage>> Find(const std::string& load_id) const;

  /// Clean what a crash left half-done: temporary extract folders, normalize output of packages
  /// whose normalize did not commit, and extracted packages that were already normalized.
  void Recover() const;
  /// Delete every extracted and normalized package (`drop-pending-packages`). Returns their ids.
  std::vector<std::string> DropPending() const;
  bool HasPending() const { return !ListExtracted().empty() || !ListNormalized().empty(); }

  const fs::path& root() const { return root_; }

 private:
  std::vector<std::string> ListIn(const fs::path& dir) const;
  fs::path root_;
};

}  // namespace cdlt::package
