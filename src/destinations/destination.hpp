#pragma once

// The destination plug-in interface. Core code asks a destination for its capabilities, never for
// its name. A client is used for one package at a time; LoadJob may be called from several threads.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "schema/schema.hpp"

namespace cdlt::config {
class Config;
}

namespace cdlt::dest {

struct Capabilities {
  std::vector<std::string> loader_file_formats;  ///< first is preferred
  size_t max_identifier_length = 65536;
  int max_parallel_load_jobs = 0;  ///< 0 = no limit beyond load.workers
  std::string naming = "snake_case";
};

/// What a package asks of the destination when its load starts.
struct PackagePlan {
  std::string load_id;
  /// Data tables with jobs or with a write disposition that needs them (replace without rows).
  std::vector<std::string> tables;
  /// Root tables loaded with `replace`: their jobs go to staging and are swapped in at the end.
  std::vector<std::string> replace_tables;
  /// Root tables loaded with `merge`: their jobs go to staging and are merged in at the end.
  std::vector<std::string> merge_tables;
  /// When the package was created (unix seconds): scd2's default boundary timestamp.
  std::optional<double> created_at;
  /// Root tables whose rows in this package came through the relational normalizer (JSON
  /// documents), which set their `_dlt_id`s as their merge strategy needs; nullopt for a package
  /// normalized before cdlt recorded this (the schema's x-normalizer.seen-data then stands in).
  std::optional<std::set<std::string>> normalizer_id_tables;
  /// Pipeline state row to store with the package (dlt's _dlt_pipeline_state), if any.
  std::optional<nlohmann::json> pipeline_state;
  /// How many jobs the loader runs at once, and the rows of each job left to load (0 = unknown):
  /// a destination may size its inserts from them.
  int concurrent_jobs = 1;
  std::vector<int64_t> job_rows;
};

/// The newest committed pipeline state of a pipeline in the destination, with its schemas.
struct StoredState {
  int64_t version = 0;
  std::string version_hash;
  std::string state;                           ///< as stored: base64 of zlib-compressed state JSON
  std::map<std::string, std::string> schemas;  ///< newest schema JSON per schema name
};

class DestinationClient {
 public:
  virtual ~DestinationClient() = default;
  virtual const Capabilities& capabilities() const = 0;
  /// Where the data goes, without secrets (for traces and info).
  virtual std::string location() const = 0;

  /// Create the dataset and tables, add missing columns, store the schema version, prepare staging.
  virtual void InitPackage(const schema::Schema& schema, const PackagePlan& plan) = 0;
  /// Whether a job's data was already committed (a crash between commit and the job's rename).
  virtual bool IsJobCommitted(const std::string& load_id, const std::string& job_id) = 0;
  /// Load one file into its table (or its staging table) and record the job, in one transaction.
  virtual void LoadJob(const schema::Schema& schema, const PackagePlan& plan,
                       const std::string& table, const std::string& job_id,
                       const std::filesystem::path& file) = 0;
  /// Whether _dlt_loads already holds this load_id.
  virtual bool IsPackageCommitted(const std::string& load_id) = 0;
  /// The newest state row of `pipeline_name` whose load is in _dlt_loads (status 0), and the
  /// newest stored version of every schema; nullopt when the dataset holds none.
  virtual std::optional<StoredState> RestoreState(const std::string& pipeline_name) = 0;
  /// Swap replaced tables in and write _dlt_loads (and the state row) in one transaction.
  virtual void CompletePackage(const schema::Schema& schema, const PackagePlan& plan) = 0;
};

/// Which destinations exist ("duckdb", ...), and a client for one.
std::vector<std::string> DestinationNames();
/// Error(kConfig) for an unknown name, listing the known ones.
std::unique_ptr<DestinationClient> MakeDestination(const std::string& name,
                                                   const config::Config& config,
                                                   const std::string& pipeline_name,
                                                   const std::string& dataset_name,
                                                   const std::filesystem::path& project_dir);

}  // namespace cdlt::dest
