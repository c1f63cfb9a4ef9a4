#pragma once

// The built-in sources, made by name from configuration, and the per-resource hint keys every
// source reads from its resources' config sections.

#include <string>
#include <vector>

#include "cdlt/resource.hpp"

namespace cdlt::config {
class Config;
}

namespace cdlt::sources {

/// Names of built-in sources ("filesystem", "sql_database"; "rest_api" comes later).
std::vector<std::string> SourceNames();

/// Build the source `name` from config (sections `sources.<name>` ...). An unknown name throws
/// Error(kConfig) naming the config key pipeline.source and listing the known sources.
Source MakeSource(const std::string& name, const config::Config& config);

/// Apply the hint keys found under `sources.<source_name>.<resource name>` to `resource`:
/// write_disposition (a string, or an inline table {disposition = ..., strategy = ...}),
/// primary_key / merge_key (a string or a list), table_name, and columns (an inline table
/// {col = {data_type, nullable, precision, scale, timezone, primary_key, merge_key, unique}}).
/// Only the resource's own section is read (no fallback to source-wide keys), so a hint never
/// leaks from one table to another. Keys found replace the resource's hints; absent keys leave
/// them. Bad values throw Error(kConfig) naming the config key.
void ApplyResourceHints(Resource& resource, const config::Config& config,
                        const std::string& source_name);

}  // namespace cdlt::sources
