#pragma once

#include <filesystem>
#include <memory>
#include <string>

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

class DuckDbClient : public DestinationClient {
 public:
  DuckDbClient(std::string path, std::string dataset_name);
  const Capabilities& capabilities() const override { return caps_; }
  std::string location() const override { return path_; }
  void InitPackage(const schema::Schema& schema, const PackagePlan& plan) override;
  bool IsJobCommitted(const std::string& load_id, const std::string& job_id) override;
  void LoadJob(const schema::Schema& schema, const PackagePlan& plan, const std::string& table,
               const std::string& job_id, const std::filesystem::path& file) override;
  bool IsPackageCommitted(const std::string& load_id) override;
  void CompletePackage(const schema::Schema& schema, const PackagePlan& plan) override;

 private:
  std::string Qualified(const std::string& table) const;
  std::string StagingQualified(const std::string& table) const;
  void MigrateTable(db::DuckConnection& con, const std::string& schema_name,
                    const schema::Table& table);
  bool TableExists(db::DuckConnection& con, const std::string& schema_name,
                   const std::string& table);

  Capabilities caps_;
  std::string path_;
  std::string dataset_;
  std::string staging_;
  std::shared_ptr<db::DuckDatabase> db_;
};

}  // namespace cdlt::dest::duckdb
