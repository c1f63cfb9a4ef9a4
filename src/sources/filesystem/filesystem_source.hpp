#pragma once

// The `filesystem` source: CSV and Parquet files in a local folder, one resource (table) per
// [sources.filesystem.<table>] section, read through an in-memory DuckDB per resource.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cdlt/resource.hpp"

namespace cdlt::config {
class Config;
}

namespace cdlt::sources::filesystem {

/// Rows per yielded batch when `chunk_size` is not configured.
inline constexpr int64_t kDefaultChunkSize = 50000;

/// Build one resource per sub-table of [sources.filesystem] (e.g. [sources.filesystem.orders]),
/// except the reserved names credentials, data_writer and extract. Keys per table, looked up the
/// dlt way (sources.filesystem.orders.bucket_url, then sources.filesystem.bucket_url, ...):
/// bucket_url (required: a local folder or file:// URL; relative paths resolve against the
/// current directory when the resource runs), file_glob (default "*"; `**` recurses), format
/// (csv | parquet; default: from each file's extension), chunk_size (rows per batch, default
/// 50000) and add_limit (max batches). Resource hints are applied (ApplyResourceHints). No table
/// sections at all → Error(kConfig) explaining how to add one.
Source MakeFilesystemSource(const config::Config& config);

/// The resource `name` reading the files matched by `bucket_url` + `file_glob`, in path order, as
/// batches of `chunk_size` rows (the last batch of each file may be shorter; a batch never spans
/// two files). `format` nullopt = by extension: .csv/.tsv (optionally .gz/.zst) → csv,
/// .parquet/.pq → parquet. A missing folder, an unreadable or malformed file → Error(kSource)
/// naming the file and the resource.
Resource MakeFilesystemResource(std::string name, std::string bucket_url, std::string file_glob,
                                std::optional<std::string> format,
                                int64_t chunk_size = kDefaultChunkSize);

/// Regular files matched by `bucket_url` + `file_glob`, sorted by path. `*` and `?` match within
/// one folder level, `[...]` a character class, and `**` any number of levels (`**/*.csv` also
/// matches top-level files). A missing folder → Error(kSource); a non-local URL → Error(kConfig).
std::vector<std::filesystem::path> ListFiles(const std::string& bucket_url,
                                             const std::string& file_glob);

}  // namespace cdlt::sources::filesystem
