#include "sources/source_registry.hpp"

#include <fmt/format.h>

#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "common/text.hpp"
#include "config/config.hpp"
#include "extract/incremental.hpp"
#include "schema/data_type.hpp"
#include "sources/filesystem/filesystem_source.hpp"
#include "sources/sql_database/sql_database_source.hpp"

namespace cdlt::sources {
namespace {

using nlohmann::json;

constexpr std::string_view kDataTypes =
    "text, double, bool, timestamp, bigint, binary, json, decimal, wei, date, time";
constexpr std::string_view kColumnProps =
    "data_type, nullable, primary_key, merge_key, unique, precision, scale, timezone, "
    "hard_delete, dedup_sort";

/// Where a value came from, for messages: "in /p/.dlt/config.toml" or "environment variable X".
std::string Origin(const config::ConfigValue& value) {
  if (value.origin.provider == "environment variable" || value.origin.provider == "secret file") {
    return fmt::format("{} {}", value.origin.provider, value.origin.key);
  }
  return fmt::format("in {}", value.origin.provider);
}

[[noreturn]] void Invalid(const std::string& key, const config::ConfigValue& found,
                          std::string_view why) {
  Throw(ErrorKind::kConfig, "config key {} ({}): {}", key, Origin(found), why);
}

std::optional<bool> AsBool(const json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  return std::nullopt;
}

std::optional<int> AsSmallInt(const json& value) {
  int64_t v = 0;
  if (value.is_number_integer()) {
    v = value.get<int64_t>();
  } else if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    size_t used = 0;
    try {
      v = std::stoll(text, &used);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (used != text.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (v < 0 || v > std::numeric_limits<int>::max()) return std::nullopt;
  return static_cast<int>(v);
}

ColumnHint ParseColumnHint(const std::string& name, const json& spec, const std::string& key,
                           const config::ConfigValue& found) {
  if (!spec.is_object()) {
    Invalid(key, found,
            fmt::format("column {} must be a table such as {{data_type = \"bigint\"}}, got {}",
                        name, spec.dump()));
  }
  ColumnHint hint;
  hint.name = name;
  for (const auto& [prop, value] : spec.items()) {
    std::string prop_key = fmt::format("{}.{}.{}", key, name, prop);
    auto need_bool = [&]() -> bool {
      std::optional<bool> b = AsBool(value);
      if (!b) Invalid(prop_key, found, fmt::format("expected true or false, got {}", value.dump()));
      return *b;
    };
    auto need_int = [&]() -> int {
      std::optional<int> i = AsSmallInt(value);
      if (!i) {
        Invalid(prop_key, found,
                fmt::format("expected a non-negative integer, got {}", value.dump()));
      }
      return *i;
    };
    if (prop == "data_type") {
      if (!value.is_string() || !schema::ParseDataType(value.get<std::string>())) {
        Invalid(
            prop_key, found,
            fmt::format("unknown data type {}: allowed values are {}", value.dump(), kDataTypes));
      }
      hint.data_type = value.get<std::string>();
    } else if (prop == "nullable") {
      hint.nullable = need_bool();
    } else if (prop == "primary_key") {
      hint.primary_key = need_bool();
    } else if (prop == "merge_key") {
      hint.merge_key = need_bool();
    } else if (prop == "unique") {
      hint.unique = need_bool();
    } else if (prop == "hard_delete") {
      hint.hard_delete = need_bool();
    } else if (prop == "dedup_sort") {
      if (!value.is_string() ||
          (value.get<std::string>() != "asc" && value.get<std::string>() != "desc")) {
        Invalid(prop_key, found, fmt::format("expected \"asc\" or \"desc\", got {}", value.dump()));
      }
      hint.dedup_sort = value.get<std::string>();
    } else if (prop == "timezone") {
      hint.timezone = need_bool();
    } else if (prop == "precision") {
      hint.precision = need_int();
    } else if (prop == "scale") {
      hint.scale = need_int();
    } else if (prop == "name") {
      if (!value.is_string() || value.get<std::string>() != name) {
        Invalid(prop_key, found,
                fmt::format("name {} differs from the column key {}", value.dump(), name));
      }
    } else {
      Invalid(prop_key, found,
              fmt::format("unknown column hint \"{}\": allowed hints are {}", prop, kColumnProps));
    }
  }
  return hint;
}

std::vector<ColumnHint> ParseColumns(const config::Config& config, const std::string& key,
                                     const config::ConfigValue& found) {
  std::vector<ColumnHint> hints;
  if (found.value.is_array()) {
    // dlt also takes a list of column dicts, each with its name.
    for (const json& spec : found.value) {
      if (!spec.is_object() || !spec.contains("name") || !spec["name"].is_string()) {
        Invalid(key, found, "each column in a list must be a table with a \"name\"");
      }
      hints.push_back(ParseColumnHint(spec["name"].get<std::string>(), spec, key, found));
    }
    return hints;
  }
  std::optional<json> object = config.GetObject({}, key);
  for (const auto& [name, spec] : object->items()) {
    hints.push_back(ParseColumnHint(name, spec, key, found));
  }
  return hints;
}

/// Parse `write_disposition`: a name, or dlt's table {disposition = "merge", strategy = "scd2",
/// ...}. Return the name, or for a merge with options dlt's dict as JSON text (the extract stage
/// reads both forms, as dlt's resource hints do).
std::string ParseWriteDisposition(const config::Config& config, const std::string& key,
                                  const config::ConfigValue& found) {
  bool is_table = found.value.is_object();
  if (found.value.is_string()) {
    is_table = Trim(found.value.get_ref<const std::string&>()).starts_with('{');
  }
  if (!is_table) {
    std::optional<std::string> text = config.GetString({}, key);
    schema::ParseWriteDisposition(*text, fmt::format("config key {} ({})", key, Origin(found)));
    return *text;
  }
  json table = *config.GetObject({}, key);
  std::optional<std::string> disposition;
  json dict = json::object();
  for (const auto& [prop, value] : table.items()) {
    if (prop == "disposition") {
      if (!value.is_string()) Invalid(key, found, "disposition must be a string");
      disposition = value.get<std::string>();
    } else if (prop == "strategy") {
      if (!value.is_string() || !schema::IsMergeStrategy(value.get<std::string>())) {
        Invalid(key, found,
                fmt::format("unknown merge strategy {}: allowed values are {}", value.dump(),
                            schema::kMergeStrategyNames));
      }
      dict[prop] = value;
    } else if (prop == "active_record_timestamp" || prop == "boundary_timestamp" ||
               prop == "row_version_column_name") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        Invalid(key, found, fmt::format("{} must be a non-empty string", prop));
      }
      dict[prop] = value;
    } else if (prop == "validity_column_names") {
      if (!value.is_array() || value.size() != 2 || !value[0].is_string() ||
          !value[1].is_string()) {
        Invalid(key, found, "validity_column_names must be a list of two column names");
      }
      dict[prop] = value;
    } else {
      Invalid(key, found,
              fmt::format("write disposition setting \"{}\" is not supported (allowed: "
                          "disposition, strategy, validity_column_names, "
                          "active_record_timestamp, boundary_timestamp, row_version_column_name)",
                          prop));
    }
  }
  if (!disposition)
    Invalid(key, found, "the table needs a disposition, e.g. {disposition = \"merge\"}");
  schema::ParseWriteDisposition(*disposition,
                                fmt::format("config key {} ({})", key, Origin(found)));
  // The default strategy spelled out is the plain name.
  if (dict == json{{"strategy", "delete-insert"}}) dict.erase("strategy");
  if (dict.empty()) return *disposition;
  if (*disposition != "merge") {
    Invalid(
        key, found,
        fmt::format("strategy options apply to disposition \"merge\", not \"{}\"", *disposition));
  }
  bool scd2 = dict.value("strategy", "") == "scd2";
  for (const char* option :
       {"validity_column_names", "active_record_timestamp", "row_version_column_name"}) {
    if (dict.contains(option) && !scd2) {
      Invalid(key, found, fmt::format("{} needs strategy = \"scd2\"", option));
    }
  }
  dict["disposition"] = *disposition;
  return dict.dump();
}

}  // namespace

std::vector<std::string> SourceNames() { return {"filesystem", "sql_database"}; }

Source MakeSource(const std::string& name, const config::Config& config) {
  if (name == "filesystem") return filesystem::MakeFilesystemSource(config);
  if (name == "sql_database") return sql_database::MakeSqlDatabaseSource(config);
  std::string known;
  for (const std::string& n : SourceNames()) known += (known.empty() ? "" : ", ") + n;
  Throw(ErrorKind::kConfig,
        "unknown source \"{}\" (config key pipeline.source); known sources are: {}", name, known);
}

void ApplyResourceHints(Resource& resource, const config::Config& config,
                        const std::string& source_name) {
  const std::string base = fmt::format("sources.{}.{}.", source_name, resource.name());
  ResourceHints& hints = resource.mutable_hints();
  // Exact keys (empty sections): a hint under sources.<source> would otherwise apply to every
  // resource of the source.
  if (auto found = config.Find({}, base + "write_disposition")) {
    hints.write_disposition = ParseWriteDisposition(config, base + "write_disposition", *found);
  }
  if (auto table_name = config.GetString({}, base + "table_name")) {
    if (table_name->empty()) {
      Throw(ErrorKind::kConfig, "config key {}table_name must not be empty", base);
    }
    hints.table_name = std::move(*table_name);
  }
  for (auto [key, target] :
       {std::pair{"primary_key", &hints.primary_key}, std::pair{"merge_key", &hints.merge_key}}) {
    if (auto columns = config.GetStringList({}, base + key)) {
      for (const std::string& column : *columns) {
        if (column.empty()) {
          Throw(ErrorKind::kConfig, "config key {}{} holds an empty column name", base, key);
        }
      }
      *target = std::move(*columns);
    }
  }
  if (auto found = config.Find({}, base + "columns")) {
    hints.columns = ParseColumns(config, base + "columns", *found);
  }
  // dlt's incremental on typed batches; sql_database reads its own key and pushes it down to SQL.
  if (source_name != "sql_database") {
    if (auto found = config.Find({}, base + "incremental")) {
      if (!found->value.is_object()) {
        Throw(ErrorKind::kConfig,
              "config key {}incremental must be a table, e.g. {{ cursor_path = \"updated_at\" }}",
              base);
      }
      pipeline::IncrementalSpec::FromJson(found->value, "config key " + base + "incremental");
      hints.incremental = found->value;
    }
  }
  // JSON documents (dlt's names): nesting depth and schema contract.
  if (auto nesting = config.GetIntInRange({}, base + "max_table_nesting", 0, 1000)) {
    hints.max_table_nesting = static_cast<int>(*nesting);
  }
  if (auto found = config.Find({}, base + "schema_contract")) {
    // A mode string or a {tables, columns, data_type} table; validated when the table is set up.
    hints.schema_contract =
        found->value.is_string() ? found->value.get<std::string>() : found->value.dump();
  }
}

}  // namespace cdlt::sources
