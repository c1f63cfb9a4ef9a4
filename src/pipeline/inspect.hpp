#pragma once

// Read-only views of pipeline working folders for `cdlt pipeline ...`: every CLI command is one
// call here, so it can be tested without the CLI. Functions take the pipelines folder and the
// pipeline name, return the text to print and throw Error(kConfig) when the pipeline (or the
// package or schema asked for) does not exist, naming what exists instead.

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cdlt::pipeline {

/// Return dlt's default pipelines folder (§1.1): `$DLT_DATA_DIR/pipelines` if DLT_DATA_DIR is set;
/// else `/var/dlt/pipelines` for root; else `<tmp>/dlt/pipelines` without a writable home; else
/// `$XDG_DATA_HOME/dlt/pipelines` if XDG_DATA_HOME is set and `~/.dlt` does not exist; else
/// `~/.dlt/pipelines`.
std::filesystem::path DefaultPipelinesDir();

/// Return the names of the pipeline folders in `pipelines_dir`, sorted (empty when it is absent).
std::vector<std::string> ListPipelines(const std::filesystem::path& pipelines_dir);

/// Return the working folder of pipeline `name`. Throws Error(kConfig) "pipeline X not found in
/// <dir>; known pipelines: a, b" when it does not exist.
std::filesystem::path PipelineDir(const std::filesystem::path& pipelines_dir,
                                  const std::string& name);

/// Describe pipeline `name`: working folder, schemas with their tables and column counts, local
/// state (keys; values only of known non-secret keys), pending packages, last trace and loaded
/// packages. `verbose` adds dlt's own tables and the state keys of each source.
std::string PipelineInfo(const std::filesystem::path& pipelines_dir, const std::string& name,
                         bool verbose);

/// Return the report of the last run (trace.json), or a message saying there is none.
std::string PipelineTrace(const std::filesystem::path& pipelines_dir, const std::string& name);

/// Describe one load package (default: the newest of any state): load id, status, folder and each
/// job with its table, state and size; failed jobs with their error. Throws Error(kConfig) when
/// `load_id` is not a package of the pipeline or the pipeline has no packages.
std::string LoadPackageInfo(const std::filesystem::path& pipelines_dir, const std::string& name,
                            const std::optional<std::string>& load_id);

/// List every failed job of the loaded packages with its file and error text; "no failed jobs
/// ..." when there are none.
std::string FailedJobs(const std::filesystem::path& pipelines_dir, const std::string& name);

/// Delete the extracted and normalized packages of pipeline `name` (its state is not rolled back).
/// Return their load ids.
std::vector<std::string> DropPendingPackages(const std::filesystem::path& pipelines_dir,
                                             const std::string& name);

/// Return the default schema of pipeline `name` (the only one in schemas/, else the one named
/// like the pipeline or state.json's default_schema_name) as pretty JSON (2 spaces) or YAML.
/// Throws Error(kConfig) for another format or when there is no such schema.
std::string SchemaText(const std::filesystem::path& pipelines_dir, const std::string& name,
                       const std::string& format);

/// Render JSON as block-style YAML (2-space indent); strings are double-quoted only when plain
/// YAML would read them as something else (numbers, booleans, null, special characters).
std::string JsonToYaml(const nlohmann::ordered_json& value);

}  // namespace cdlt::pipeline
