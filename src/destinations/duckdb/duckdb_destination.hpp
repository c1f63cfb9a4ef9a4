#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/duckdb_conn.hpp"
#include "destinations/destination.hpp"

namespace cdlt::dest::duckdb {

/// DuckDB's SQL type for a complete schema column (dlt's type map).
std::string SqlType(const schema::Column& column);

/// Resolve `destination.duckdb.credentials` (a path, duckdb:///path, :pipeline:, or a table with
/// `database`) to a file path; default `<project_dir>/<pipeline_name>.duckdb`.
std::string ResolveDatabasePath(const config::Config& config, const std::string& pipeline_name,
                                const std::filesystem::path& project_dir,
                                const std::filesystem::path& working_dir);

/// dlt's replace strategies on DuckDB.
inline constexpr const char* kTruncateAndInsert = "truncate-and-insert";
inline constexpr const char* kInsertFromStaging = "insert-from-staging";

/// Read `destination.[duckdb.]replace_strategy`: truncate-and-insert or insert-from-staging
/// (cdlt's default: it swaps the new rows in atomically at the end of the load; dlt defaults to
/// truncate-and-insert, which empties the table when the load starts). Throws Error(kConfig)
/// naming the key and the allowed values.
std::string ReplaceStrategyFromConfig(const config::Config& config);

/// The default of `destination.duckdb.memory_limit`: 128MB per DuckDB thread, at least 256MB
/// (`threads` 0 = DuckDB's default, one per core). DuckDB's own default (80 % of RAM) lets the
/// load's peak RSS grow with the table, as DuckDB keeps every block it wrote cached; with a limit
/// it evicts them and the peak stays at about the limit plus ~130MB. Below ~128MB per thread an
/// order-preserving INSERT of a large file needs up to twice the CPU (see BENCHMARKS.md).
std::string DefaultMemoryLimit(int threads);

/// DuckDB's row group: an insert thread holds up to this many rows in memory before it writes
/// them out, and holds a smaller remainder until the commit.
inline constexpr int64_t kDuckDbRowGroupRows = 122880;

/// DuckDB's threads and memory_limit while the job files of one package are inserted.
struct InsertPlan {
  int threads = 1;
  std::string memory_limit;
};

/// How a package's jobs are inserted. `threads`: DuckDB's (>= 1); `concurrent_jobs`: how many
/// jobs the loader runs at once; `job_rows`: the rows of each job (0 = unknown).
/// - Threads: all of DuckDB's when the package has a job with rows for two row groups or more
///   ("large"; unknown counts as large): DuckDB's parallel insert writes out each thread's full
///   row groups as it goes (with one thread, concurrent large inserts held more, BENCHMARKS.md).
///   Without a large job, one: every thread would hold its share of a job's rows until the
///   commit, so more threads add memory and CPU without adding speed.
/// - memory_limit (unless `insert_memory_limit` is set): 32MB per DuckDB thread when a large job
///   runs, plus 64MB per other job at once, which holds all its rows until the commit; at least
///   64MB. DuckDB caches the blocks it writes up to the limit, so the load's memory stays flat
///   whatever the table size.
InsertPlan PlanInserts(int threads, int concurrent_jobs, const std::vector<int64_t>& job_rows);

/// Read `destination.duckdb.memory_limit` (DuckDB's syntax: "512MB", "1GiB"; "none" = DuckDB's
/// default) and `destination.duckdb.threads` (1-1024; default DuckDB's). Throws Error(kConfig)
/// naming the key for a value DuckDB would refuse.
db::DuckOptions DuckOptionsFromConfig(const config::Config& config);

/// How many `_dlt_pipeline_state` rows (versions) of a pipeline a load keeps by default.
inline constexpr int64_t kDefaultKeepStateVersions = 10;

/// Read `load.keep_state_versions` (an integer; 0 or negative = keep every version).
int64_t KeepStateVersionsFromConfig(const config::Config& config);

/// Everything a DuckDbClient reads from the configuration.
struct DuckDbSettings {
  /// kInsertFromStaging or kTruncateAndInsert.
  std::string replace_strategy = kInsertFromStaging;
  /// Settings of the DuckDB database (memory_limit, threads).
  db::DuckOptions options = {0, DefaultMemoryLimit(0)};
  /// State rows kept per pipeline after each new one; <= 0 keeps all.
  int64_t keep_state_versions = kDefaultKeepStateVersions;
  /// memory_limit while job files are inserted (InitPackage to CompletePackage), as the user set
  /// it; empty = PlanInserts' (or options.memory_limit when insertion order is preserved).
  std::string insert_memory_limit;
  /// A statement that runs out of memory is retried with twice the limit, up to this ("none" or
  /// empty = DuckDB's default, 80 % of RAM); the user's memory_limit when set.
  std::string max_memory_limit;
  /// DuckDB's preserve_insertion_order: false lets an INSERT of a large file run in bounded
  /// memory at any limit (rows of one file may land in another order).
  bool preserve_insertion_order = true;
};

/// All of the above from the configuration (each key validated).
DuckDbSettings DuckDbSettingsFromConfig(const config::Config& config);

class DuckDbClient : public DestinationClient {
 public:
  /// `replace_strategy`: kInsertFromStaging or kTruncateAndInsert; other settings default.
  DuckDbClient(std::string path, std::string dataset_name,
               std::string replace_strategy = kInsertFromStaging);
  DuckDbClient(std::string path, std::string dataset_name, DuckDbSettings settings);
  const Capabilities& capabilities() const override { return caps_; }
  std::string location() const override { return path_; }
  void InitPackage(const schema::Schema& schema, const PackagePlan& plan) override;
  bool IsJobCommitted(const std::string& load_id, const std::string& job_id) override;
  void LoadJob(const schema::Schema& schema, const PackagePlan& plan, const std::string& table,
               const std::string& job_id, const std::filesystem::path& file) override;
  bool IsPackageCommitted(const std::string& load_id) override;
  std::optional<StoredState> RestoreState(const std::string& pipeline_name) override;
  void CompletePackage(const schema::Schema& schema, const PackagePlan& plan) override;

  /// The open database (for tests and tools: e.g. `current_setting('memory_limit')`).
  const std::shared_ptr<db::DuckDatabase>& database() const { return db_; }

 private:
  std::string Qualified(const std::string& table) const;
  /// The staging schema of one package: `<dataset>_staging_<load_id digits>`, so packages (and
  /// pipelines sharing a dataset) never share staging tables.
  std::string StagingSchema(const PackagePlan& plan) const;
  std::string StagingQualified(const PackagePlan& plan, const std::string& table) const;
  /// Root tables whose jobs go to staging: merge tables, and replace tables unless the replace
  /// strategy is truncate-and-insert.
  std::vector<std::string> StagedRoots(const PackagePlan& plan) const;
  /// Create `table` in `schema_name` or add its missing columns. Staging tables are created
  /// without NOT NULL: columns such as scd2's row hash are filled in there by the merge.
  void MigrateTable(db::DuckConnection& con, const std::string& schema_name,
                    const schema::Table& table, bool staging = false);
  bool TableExists(db::DuckConnection& con, const std::string& schema_name,
                   const std::string& table);
  /// A memory_limit as DuckDB takes it and in bytes (for "none": 80 % of RAM, DuckDB's default).
  struct MemoryLimit {
    double bytes = 0;
    std::string text;
    static MemoryLimit Of(const std::string& text);
  };
  /// SET memory_limit and threads unless already in effect (call with memory_mutex_ held).
  void ApplySettings(const MemoryLimit& limit, int threads);
  /// The inserts of `plan`'s package: its limit and threads (planned once per package).
  void PlanPackageInserts(const PackagePlan& plan);
  /// Run `attempt` (one transaction, on a connection of its own) with `phase`'s limit and
  /// `threads`; when DuckDB runs out of memory, double `phase` (up to max_limit_) and run it again.
  void WithMoreMemoryIfNeeded(MemoryLimit& phase, int threads, const std::string& what,
                              const std::function<void(db::DuckConnection&)>& attempt);

  Capabilities caps_;
  std::string path_;
  std::string dataset_;
  std::string replace_strategy_;
  int64_t keep_state_versions_;
  std::mutex memory_mutex_;
  int threads_ = 1;                  ///< DuckDB's threads as configured (or its default)
  MemoryLimit merge_limit_;          ///< CompletePackage's (merge and replace SQL)
  std::string fixed_insert_limit_;   ///< the user's insert_memory_limit (empty: PlanInserts')
  std::string planned_load_id_;      ///< the package insert_limit_ and insert_threads_ are for
  MemoryLimit insert_limit_;         ///< LoadJob's
  int insert_threads_ = 1;           ///< LoadJob's
  double planned_insert_bytes_ = 0;  ///< insert_limit_ as planned (above it: a job raised it)
  MemoryLimit max_limit_;
  bool opened_without_limit_;
  std::string applied_limit_;  ///< the text of the last ApplySettings (empty: as opened)
  int applied_threads_ = 1;    ///< the threads of the last ApplySettings
  std::shared_ptr<db::DuckDatabase> db_;
};

}  // namespace cdlt::dest::duckdb
