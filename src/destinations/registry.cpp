#include "config/config.hpp"
#include "destinations/destination.hpp"
#include "destinations/duckdb/duckdb_destination.hpp"

namespace cdlt::dest {

std::vector<std::string> DestinationNames() { return {"duckdb"}; }

std::unique_ptr<DestinationClient> MakeDestination(const std::string& name,
                                                   const config::Config& config,
                                                   const std::string& pipeline_name,
                                                   const std::string& dataset_name,
                                                   const std::filesystem::path& project_dir) {
  if (name == "duckdb") {
    std::string path = duckdb::ResolveDatabasePath(config, pipeline_name, project_dir, project_dir);
    return std::make_unique<duckdb::DuckDbClient>(path, dataset_name,
                                                  duckdb::DuckDbSettingsFromConfig(config));
  }
  std::string known;
  for (const auto& n : DestinationNames()) known += (known.empty() ? "" : ", ") + n;
  throw Error(ErrorKind::kConfig,
              fmt::format("unknown destination \"{}\" (config key destination); known "
                          "destinations are: {}",
                          name, known));
}

}  // namespace cdlt::dest
