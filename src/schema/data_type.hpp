#pragma once

#include <optional>
#include <string_view>

namespace cdlt::schema {

/// The dlt data types of a column.
enum class DataType {
  kText,
  kDouble,
  kBool,
  kTimestamp,
  kBigint,
  kBinary,
  kJson,
  kDecimal,
  kWei,
  kDate,
  kTime,
};

/// Return the dlt name of `type` ("text", "double", "bool", ...).
std::string_view DataTypeName(DataType type);

/// Parse a dlt data type name; the legacy name "complex" maps to kJson. nullopt when unknown.
std::optional<DataType> ParseDataType(std::string_view name);

/// How a table receives new data.
enum class WriteDisposition { kAppend, kReplace, kMerge, kSkip };

/// Return the dlt name of `disposition` ("append", "replace", "merge", "skip").
std::string_view WriteDispositionName(WriteDisposition disposition);

/// Parse a write disposition name; nullopt when unknown.
std::optional<WriteDisposition> TryParseWriteDisposition(std::string_view text);

/// Parse a write disposition name. Throws cdlt::Error(kConfig) naming `what` (e.g. a config key)
/// and the allowed values when `text` is not one of them.
WriteDisposition ParseWriteDisposition(std::string_view text, std::string_view what);

/// The merge strategies cdlt loads (dlt's x-merge-strategy), for "allowed values are ..."
/// messages.
inline constexpr std::string_view kMergeStrategyNames = "delete-insert, upsert, insert-only, scd2";

/// Return whether `name` is one of kMergeStrategyNames.
bool IsMergeStrategy(std::string_view name);

}  // namespace cdlt::schema
