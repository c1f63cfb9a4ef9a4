#pragma once

#include <filesystem>
#include <memory>
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

class DuckDbClient : public DestinationClient {
 public:
  /// `replace_strategy`: kInsertFromStaging or kTruncateAndInsert.
  DuckDbClient(std::string path, std::string dataset_name,
               std::string replace_strategy = kInsertFromStaging);
  const Capabilities& capabilities() const override { return caps_; }
  std::string location() const override { return path_; }
  void InitPackage(const schema::Schema& schema, const PackagePlan& plan) override;
  bool IsJobCommitted(const std::string& load_id, const std::string& job_id) override;
  void LoadJob(const schema::Schema& schema, const PackagePlan& plan, const std::string& table,
               const std::string& job_id, const std::filesystem::path& file) override;
  bool IsPackageCommitted(const std::string& load_id) override;
  std::optional<StoredState> RestoreState(const std::string& pipeline_name) override;
  void CompletePackage(const schema::Schema& schema, const PackagePlan& plan) override;

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

  Capabilities caps_;
  std::string path_;
  std::string dataset_;
  std::string replace_strategy_;
  std::shared_ptr<db::DuckDatabase> db_;
};

}  // namespace cdlt::dest::duckdb
