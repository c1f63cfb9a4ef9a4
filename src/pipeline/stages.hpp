#pragma once

// The three stages. Each reads only the package on disk and the schema, so any stage can be run
// again after a crash.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "cdlt/pipeline.hpp"
#include "cdlt/resource.hpp"
#include "destinations/destination.hpp"
#include "package/load_package.hpp"
#include "pipeline/progress.hpp"
#include "schema/naming.hpp"
#include "schema/schema.hpp"

namespace cdlt::pipeline {

struct WriterConfig {
  int64_t buffer_max_items = 5000;
  std::optional<int64_t> file_max_items;
  std::optional<int64_t> file_max_bytes;
  bool disable_compression = false;
};

/// Settings and services shared by the stages of one pipeline.
struct StageContext {
  std::string pipeline_name;
  std::string dataset_name;
  std::filesystem::path working_dir;
  const package::PackageStorage* storage = nullptr;
  const schema::NamingConvention* naming = nullptr;
  Progress* progress = nullptr;
  int extract_workers = 5;
  int normalize_workers = 1;
  int load_workers = 20;
  WriterConfig extract_writer;
  WriterConfig normalize_writer;
  bool add_dlt_load_id = false;
  bool add_dlt_id = false;
  /// normalize.on_bad_line = "reject": malformed JSON lines go to rejects/<load_id>/ in the
  /// pipeline folder (counted in the trace) instead of failing the package.
  bool reject_bad_lines = false;
  /// schema.widen_in_place: alter a column's type (bigint → double, bigint → wei) instead of
  /// adding a variant column.
  bool widen_in_place = false;
  bool raise_on_failed_jobs = true;
  int raise_on_max_retries = 5;
};

/// Run the source's resources and commit one extracted package; returns its load_id.
/// `live` is the pipeline's current schema (read only: it tells which tables have seen data).
/// `source_state` is the source's part of the pipeline state (`sources.<name>`): each resource
/// reads and writes `resources.<resource>` through Emitter::resource_state() (reset first for
/// `replace` resources, dlt's rule); it is updated only when every resource succeeded. Then
/// `make_state_row` is called, and the _dlt_pipeline_state row it returns (if any) travels in the
/// package, so the state is committed with the data it describes.
std::string Extract(const StageContext& ctx, const Source& source, const schema::Schema& live,
                    nlohmann::json& source_state,
                    const std::function<std::optional<nlohmann::json>()>& make_state_row,
                    StepTrace& trace);

/// Normalize an extracted package into a normalized one, merging its tables into `live` (the one
/// place where the schema changes) and saving `live` to `schema_path`.
void Normalize(const StageContext& ctx, const std::string& load_id, schema::Schema& live,
               const std::filesystem::path& schema_path, StepTrace& trace);

/// Load a normalized package into the destination. Throws FailedJobsError when jobs failed and
/// raise_on_failed_jobs is set; fills `info` otherwise.
void Load(const StageContext& ctx, const std::string& load_id, dest::DestinationClient& client,
          StepTrace& trace, LoadInfo& info);

/// The dlt data type (and precision/timezone) of a physical batch column.
schema::Column ColumnFromField(const Field& field);

}  // namespace cdlt::pipeline
