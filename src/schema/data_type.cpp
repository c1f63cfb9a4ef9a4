#include "schema/data_type.hpp"

#include <array>
#include <utility>

#include "common/error.hpp"

namespace cdlt::schema {
namespace {

constexpr std::array<std::pair<DataType, std::string_view>, 11> kDataTypeNames = {{
    {DataType::kText, "text"},
    {DataType::kDouble, "double"},
    {DataType::kBool, "bool"},
    {DataType::kTimestamp, "timestamp"},
    {DataType::kBigint, "bigint"},
    {DataType::kBinary, "binary"},
    {DataType::kJson, "json"},
    {DataType::kDecimal, "decimal"},
    {DataType::kWei, "wei"},
    {DataType::kDate, "date"},
    {DataType::kTime, "time"},
}};

constexpr std::array<std::pair<WriteDisposition, std::string_view>, 4> kWriteDispositionNames = {{
    {WriteDisposition::kAppend, "append"},
    {WriteDisposition::kReplace, "replace"},
    {WriteDisposition::kMerge, "merge"},
    {WriteDisposition::kSkip, "skip"},
}};

}  // namespace

std::string_view DataTypeName(DataType type) {
  for (const auto& [value, name] : kDataTypeNames) {
    if (value == type) return name;
  }
  return "text";
}

std::optional<DataType> ParseDataType(std::string_view name) {
  for (const auto& [value, type_name] : kDataTypeNames) {
    if (type_name == name) return value;
  }
  // Engine versions before 10 called the json type "complex".
  if (name == "complex") return DataType::kJson;
  return std::nullopt;
}

std::string_view WriteDispositionName(WriteDisposition disposition) {
  for (const auto& [value, name] : kWriteDispositionNames) {
    if (value == disposition) return name;
  }
  return "append";
}

std::optional<WriteDisposition> TryParseWriteDisposition(std::string_view text) {
  for (const auto& [value, name] : kWriteDispositionNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

WriteDisposition ParseWriteDisposition(std::string_view text, std::string_view what) {
  if (auto parsed = TryParseWriteDisposition(text)) return *parsed;
  Throw(ErrorKind::kConfig, "invalid write disposition '{}' for {}: allowed values are {}", text,
        what, "append, replace, merge, skip");
}

bool IsMergeStrategy(std::string_view name) {
  return name == "delete-insert" || name == "upsert" || name == "insert-only" || name == "scd2";
}

}  // namespace cdlt::schema
