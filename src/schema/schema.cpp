#include "schema/schema.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/error.hpp"
#include "schema/digest.hpp"

namespace cdlt::schema {
namespace {

using Json = nlohmann::ordered_json;

struct BoolHint {
  std::string_view name;
  bool Column::*member;
};

constexpr std::array<BoolHint, 12> kBoolHints = {{
    {"primary_key", &Column::primary_key},
    {"merge_key", &Column::merge_key},
    {"unique", &Column::unique},
    {"row_key", &Column::row_key},
    {"parent_key", &Column::parent_key},
    {"root_key", &Column::root_key},
    {"hard_delete", &Column::hard_delete},
    {"incremental", &Column::incremental},
    {"variant", &Column::variant},
    {"partition", &Column::partition},
    {"cluster", &Column::cluster},
    {"sort", &Column::sort},
}};

// Hints that describe a key over several columns; see MergeTable's replace_compound_props.
constexpr std::array<bool Column::*, 4> kCompoundHints = {&Column::primary_key, &Column::merge_key,
                                                          &Column::partition, &Column::cluster};

[[noreturn]] void Invalid(const std::string& path, std::string_view what) {
  Throw(ErrorKind::kSchema, "invalid schema: {}: {}", path, what);
}

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string TypeName(const Json& value) { return value.type_name(); }

const std::string& GetString(const Json& value, const std::string& path) {
  if (!value.is_string()) Invalid(path, "expected a string, got " + TypeName(value));
  return value.get_ref<const std::string&>();
}

bool GetBool(const Json& value, const std::string& path) {
  if (!value.is_boolean()) Invalid(path, "expected a boolean, got " + TypeName(value));
  return value.get<bool>();
}

int64_t GetInt(const Json& value, const std::string& path) {
  if (!value.is_number_integer()) Invalid(path, "expected an integer, got " + TypeName(value));
  return value.get<int64_t>();
}

void ExpectObject(const Json& value, const std::string& path) {
  if (!value.is_object()) Invalid(path, "expected an object, got " + TypeName(value));
}

std::optional<std::string> OptionalString(const Json& value, const std::string& path) {
  if (value.is_null()) return std::nullopt;
  return GetString(value, path);
}

Column ColumnFromJson(const Json& json, const std::string& key, const std::string& path) {
  ExpectObject(json, path);
  Column column;
  column.name = key;
  for (const auto& [prop, value] : json.items()) {
    const std::string& prop_name = prop;  // clang < 16 cannot capture bindings
    std::string prop_path = Child(path, prop);
    if (prop == "name") {
      if (GetString(value, prop_path) != key) {
        Invalid(prop_path, "'" + value.get<std::string>() + "' differs from the column key");
      }
      continue;
    }
    if (prop == "data_type") {
      if (value.is_null()) continue;
      auto type = ParseDataType(GetString(value, prop_path));
      if (!type) Invalid(prop_path, "unknown data type '" + value.get<std::string>() + "'");
      column.data_type = type;
      continue;
    }
    if (prop == "nullable") {
      if (!value.is_null()) column.nullable = GetBool(value, prop_path);
      continue;
    }
    auto hint = std::find_if(kBoolHints.begin(), kBoolHints.end(),
                             [&prop_name](const BoolHint& h) { return h.name == prop_name; });
    if (hint != kBoolHints.end()) {
      if (!value.is_null()) column.*(hint->member) = GetBool(value, prop_path);
      continue;
    }
    if (prop == "precision" || prop == "scale") {
      if (value.is_null()) continue;
      int64_t number = GetInt(value, prop_path);
      (prop == "precision" ? column.precision : column.scale) = static_cast<int>(number);
      continue;
    }
    if (prop == "timezone") {
      if (!value.is_null()) column.timezone = GetBool(value, prop_path);
      continue;
    }
    if (prop == "dedup_sort") {
      column.dedup_sort = OptionalString(value, prop_path);
      continue;
    }
    if (prop == "description") {
      column.description = OptionalString(value, prop_path);
      continue;
    }
    column.extra[prop] = value;
  }
  return column;
}

Table TableFromJson(const Json& json, const std::string& key, const std::string& path) {
  ExpectObject(json, path);
  Table table;
  table.name = key;
  for (const auto& [prop, value] : json.items()) {
    std::string prop_path = Child(path, prop);
    if (prop == "name") {
      if (GetString(value, prop_path) != key) {
        Invalid(prop_path, "'" + value.get<std::string>() + "' differs from the table key");
      }
    } else if (prop == "columns") {
      if (value.is_null()) continue;
      ExpectObject(value, prop_path);
      for (const auto& [column_name, column_json] : value.items()) {
        table.columns.push_back(
            ColumnFromJson(column_json, column_name, Child(prop_path, column_name)));
      }
    } else if (prop == "write_disposition") {
      if (value.is_null()) continue;
      auto disposition = TryParseWriteDisposition(GetString(value, prop_path));
      if (!disposition) {
        Invalid(prop_path, "unknown write disposition '" + value.get<std::string>() +
                               "': allowed values are append, replace, merge, skip");
      }
      table.write_disposition = disposition;
    } else if (prop == "parent") {
      table.parent = OptionalString(value, prop_path);
    } else if (prop == "resource") {
      table.resource = OptionalString(value, prop_path);
    } else if (prop == "description") {
      table.description = OptionalString(value, prop_path);
    } else if (prop == "file_format") {
      table.file_format = OptionalString(value, prop_path);
    } else if (prop == "table_format") {
      table.table_format = OptionalString(value, prop_path);
    } else if (prop == "schema_contract") {
      table.schema_contract = value;
    } else {
      table.extra[prop] = value;
    }
  }
  return table;
}

// orjson-like canonical form for hashing: object keys sorted by their UTF-8 bytes (which is
// code point order, as Python sorts).
nlohmann::json Canonical(const Json& value) {
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, item] : value.items()) out[key] = Canonical(item);
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : value) out.push_back(Canonical(item));
    return out;
  }
  switch (value.type()) {
    case Json::value_t::string:
      return value.get<std::string>();
    case Json::value_t::boolean:
      return value.get<bool>();
    case Json::value_t::number_integer:
      return value.get<int64_t>();
    case Json::value_t::number_unsigned:
      return value.get<uint64_t>();
    case Json::value_t::number_float:
      return value.get<double>();
    default:
      return nullptr;
  }
}

Column MakeColumn(std::string name, DataType type, bool nullable) {
  Column column;
  column.name = std::move(name);
  column.data_type = type;
  column.nullable = nullable;
  return column;
}

[[noreturn]] void ThrowIo(std::string_view action, const std::filesystem::path& path, int error) {
  Throw(ErrorKind::kIo, "cannot {} schema file {}: {}", action, path.string(),
        std::strerror(error));
}

}  // namespace

// ---- Table -----------------------------------------------------------------------------------

const Column* Table::FindColumn(std::string_view column_name) const {
  for (const Column& column : columns) {
    if (column.name == column_name) return &column;
  }
  return nullptr;
}

Column* Table::FindColumn(std::string_view column_name) {
  return const_cast<Column*>(std::as_const(*this).FindColumn(column_name));
}

bool Table::HasCompleteColumns() const {
  return std::any_of(columns.begin(), columns.end(), [](const Column& c) { return c.complete(); });
}

// ---- JSON ------------------------------------------------------------------------------------

Json ColumnToJson(const Column& column) {
  Json json = Json::object();
  json["name"] = column.name;
  if (column.data_type) json["data_type"] = std::string(DataTypeName(*column.data_type));
  json["nullable"] = column.nullable;
  for (const BoolHint& hint : kBoolHints) {
    if (column.*(hint.member)) json[std::string(hint.name)] = true;
  }
  if (column.precision) json["precision"] = *column.precision;
  if (column.scale) json["scale"] = *column.scale;
  if (column.timezone) json["timezone"] = *column.timezone;
  if (column.dedup_sort) json["dedup_sort"] = *column.dedup_sort;
  if (column.description) json["description"] = *column.description;
  for (const auto& [key, value] : column.extra.items()) json[key] = value;
  return json;
}

Json TableToJson(const Table& table) {
  Json json = Json::object();
  json["name"] = table.name;
  Json columns = Json::object();
  for (const Column& column : table.columns) columns[column.name] = ColumnToJson(column);
  json["columns"] = std::move(columns);
  if (table.write_disposition) {
    json["write_disposition"] = std::string(WriteDispositionName(*table.write_disposition));
  }
  if (table.parent) json["parent"] = *table.parent;
  if (table.resource) json["resource"] = *table.resource;
  if (table.description) json["description"] = *table.description;
  if (!table.schema_contract.is_null()) json["schema_contract"] = table.schema_contract;
  if (table.table_format) json["table_format"] = *table.table_format;
  if (table.file_format) json["file_format"] = *table.file_format;
  for (const auto& [key, value] : table.extra.items()) json[key] = value;
  return json;
}

Json Schema::ToJson() const { return ToJson(true); }

Json Schema::ToJson(bool with_version_fields) const {
  Json json = Json::object();
  if (with_version_fields) {
    json["version"] = version_;
    json["version_hash"] = version_hash_;
  }
  json["engine_version"] = kEngineVersion;
  json["name"] = name_;
  if (description_) json["description"] = *description_;
  if (with_version_fields) {
    if (imported_version_hash_) json["imported_version_hash"] = *imported_version_hash_;
    json["previous_hashes"] = previous_hashes_;
  }
  json["settings"] = settings_;
  json["normalizers"] = normalizers_;
  Json tables = Json::object();
  for (const Table& table : tables_) tables[table.name] = TableToJson(table);
  json["tables"] = std::move(tables);
  for (const auto& [key, value] : extra_.items()) json[key] = value;
  return json;
}

Schema Schema::FromJson(const Json& json) {
  ExpectObject(json, "(root)");
  Schema schema;
  bool has_name = false;
  for (const auto& [key, value] : json.items()) {
    if (key == "name") {
      schema.name_ = GetString(value, key);
      has_name = true;
    } else if (key == "version") {
      schema.version_ = GetInt(value, key);
    } else if (key == "version_hash") {
      schema.version_hash_ = value.is_null() ? "" : GetString(value, key);
    } else if (key == "engine_version") {
      int64_t engine = GetInt(value, key);
      if (engine > kEngineVersion) {
        Invalid(key, fmt::format("engine version {} is newer than the supported {}", engine,
                                 kEngineVersion));
      }
    } else if (key == "previous_hashes") {
      if (value.is_null()) continue;
      if (!value.is_array()) Invalid(key, "expected an array, got " + TypeName(value));
      for (size_t i = 0; i < value.size(); ++i) {
        schema.previous_hashes_.push_back(GetString(value[i], fmt::format("{}[{}]", key, i)));
      }
    } else if (key == "description") {
      schema.description_ = OptionalString(value, key);
    } else if (key == "imported_version_hash") {
      schema.imported_version_hash_ = OptionalString(value, key);
    } else if (key == "settings") {
      if (value.is_null()) continue;
      ExpectObject(value, key);
      schema.settings_ = value;
    } else if (key == "normalizers") {
      if (value.is_null()) continue;
      ExpectObject(value, key);
      schema.normalizers_ = value;
    } else if (key == "tables") {
      if (value.is_null()) continue;
      ExpectObject(value, key);
      for (const auto& [table_name, table_json] : value.items()) {
        schema.tables_.push_back(TableFromJson(table_json, table_name, Child(key, table_name)));
      }
    } else {
      schema.extra_[key] = value;
    }
  }
  if (!has_name) Invalid("name", "missing");
  if (schema.name_.empty()) Invalid("name", "empty");
  return schema;
}

Schema Schema::LoadFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowIo("read", path, errno);
  std::string text;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      ThrowIo("read", path, error);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  Json json;
  try {
    json = Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    Throw(ErrorKind::kSchema, "schema file {} is not valid JSON: {}", path.string(), e.what());
  }
  try {
    return FromJson(json);
  } catch (const Error& e) {
    Throw(ErrorKind::kSchema, "schema file {}: {}", path.string(), e.message());
  }
}

void Schema::SaveFile(const std::filesystem::path& path) const {
  std::string text =
      ToJson().dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) ThrowIo("write", tmp, errno);
  auto fail = [&](int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    ThrowIo("write", tmp, error);
  };
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail(errno);
  if (::close(fd) != 0) {
    int error = errno;
    ::unlink(tmp.c_str());
    ThrowIo("write", tmp, error);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(tmp.c_str());
    ThrowIo("write", path, error);
  }
  // The rename is durable only once the directory entry is on disk.
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) ThrowIo("sync directory of", path, errno);
  int sync_result = ::fsync(dir_fd);
  int sync_error = errno;
  ::close(dir_fd);
  if (sync_result != 0) ThrowIo("sync directory of", path, sync_error);
}

// ---- Version ---------------------------------------------------------------------------------

Schema Schema::New(std::string name) {
  if (name.empty()) Throw(ErrorKind::kSchema, "schema name cannot be empty");
  Schema schema;
  schema.name_ = std::move(name);
  schema.settings_ = Json::object();
  schema.settings_["detections"] = Json::array({"iso_timestamp"});
  Json hints = Json::object();
  hints["not_null"] =
      Json::array({"_dlt_id", "_dlt_root_id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_load_id"});
  hints["parent_key"] = Json::array({"_dlt_parent_id"});
  hints["root_key"] = Json::array({"_dlt_root_id"});
  hints["unique"] = Json::array({"_dlt_id"});
  hints["row_key"] = Json::array({"_dlt_id"});
  schema.settings_["default_hints"] = std::move(hints);
  schema.normalizers_ = Json::object();
  schema.normalizers_["names"] = "snake_case";
  schema.normalizers_["json"] = Json{{"module", "dlt.common.normalizers.json.relational"}};
  schema.tables_.push_back(DltVersionTable());
  schema.tables_.push_back(DltLoadsTable());
  schema.version_ = 1;
  schema.version_hash_ = schema.ComputeVersionHash();
  return schema;
}

std::string Schema::ComputeVersionHash() const {
  std::string content =
      Canonical(ToJson(false)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Sha3_256 hash;
  hash.Update(content);
  // Key order is lost in the sorted dump, so column order is hashed separately.
  std::vector<const Table*> sorted;
  sorted.reserve(tables_.size());
  for (const Table& table : tables_) sorted.push_back(&table);
  std::sort(sorted.begin(), sorted.end(),
            [](const Table* a, const Table* b) { return a->name < b->name; });
  for (const Table* table : sorted) {
    hash.Update(table->name);
    for (const Column& column : table->columns) hash.Update(column.name);
  }
  return Base64Encode(hash.Finish());
}

bool Schema::BumpVersion() {
  std::string hash = ComputeVersionHash();
  if (version_hash_.empty()) {
    version_ = std::max<int64_t>(version_, 1);
    version_hash_ = std::move(hash);
    return true;
  }
  if (hash == version_hash_) return false;
  ++version_;
  if (std::find(previous_hashes_.begin(), previous_hashes_.end(), version_hash_) ==
      previous_hashes_.end()) {
    previous_hashes_.insert(previous_hashes_.begin(), version_hash_);
    if (previous_hashes_.size() > kMaxPreviousHashes) previous_hashes_.resize(kMaxPreviousHashes);
  }
  version_hash_ = std::move(hash);
  return true;
}

// ---- Tables ----------------------------------------------------------------------------------

const Table* Schema::FindTable(std::string_view table_name) const {
  for (const Table& table : tables_) {
    if (table.name == table_name) return &table;
  }
  return nullptr;
}

Table* Schema::FindTable(std::string_view table_name) {
  return const_cast<Table*>(std::as_const(*this).FindTable(table_name));
}

std::vector<const Table*> Schema::DataTables(bool include_incomplete) const {
  std::vector<const Table*> out;
  for (const Table& table : tables_) {
    if (std::string_view(table.name).substr(0, kDltPrefix.size()) == kDltPrefix) continue;
    if (!include_incomplete && !table.HasCompleteColumns()) continue;
    out.push_back(&table);
  }
  return out;
}

std::vector<const Table*> Schema::NestedTables(std::string_view root) const {
  std::vector<const Table*> out;
  // Depth-first, children in insertion order; `depth` guards against parent cycles.
  auto visit = [&](auto& self, std::string_view parent, size_t depth) -> void {
    if (depth > tables_.size()) return;
    for (const Table& table : tables_) {
      if (table.parent && *table.parent == parent) {
        out.push_back(&table);
        self(self, table.name, depth + 1);
      }
    }
  };
  visit(visit, root, 0);
  return out;
}

const Table& Schema::RootOf(std::string_view table_name) const {
  const Table* table = FindTable(table_name);
  if (table == nullptr) {
    Throw(ErrorKind::kSchema, "table '{}' not found in schema '{}'", table_name, name_);
  }
  for (size_t depth = 0; table->parent; ++depth) {
    const Table* parent = FindTable(*table->parent);
    if (parent == nullptr) {
      Throw(ErrorKind::kSchema, "parent table '{}' of table '{}' not found in schema '{}'",
            *table->parent, table->name, name_);
    }
    if (depth > tables_.size()) {
      Throw(ErrorKind::kSchema, "table '{}' has a cycle in its parent chain", table_name);
    }
    table = parent;
  }
  return *table;
}

WriteDisposition Schema::GetWriteDisposition(std::string_view table_name) const {
  const Table* table = FindTable(table_name);
  for (size_t depth = 0; table != nullptr && depth <= tables_.size(); ++depth) {
    if (table->write_disposition) return *table->write_disposition;
    table = table->parent ? FindTable(*table->parent) : nullptr;
  }
  return WriteDisposition::kAppend;
}

std::string Schema::GetMergeStrategy(std::string_view table_name) const {
  const Table* table = FindTable(table_name);
  for (size_t depth = 0; table != nullptr && depth <= tables_.size(); ++depth) {
    auto it = table->extra.find(std::string(kMergeStrategyHint));
    if (it != table->extra.end() && it->is_string()) return it->get<std::string>();
    table = table->parent ? FindTable(*table->parent) : nullptr;
  }
  return std::string(kDefaultMergeStrategy);
}

bool HasExtraFlag(const Column& column, std::string_view hint) {
  auto it = column.extra.find(std::string(hint));
  return it != column.extra.end() && it->is_boolean() && it->get<bool>();
}

bool MergeColumn(Column& into, const Column& from) {
  Column before = into;
  if (from.data_type) into.data_type = from.data_type;
  if (!from.nullable) into.nullable = false;
  for (const BoolHint& hint : kBoolHints) {
    if (from.*(hint.member)) into.*(hint.member) = true;
  }
  if (from.precision) into.precision = from.precision;
  if (from.scale) into.scale = from.scale;
  if (from.timezone) into.timezone = from.timezone;
  if (from.dedup_sort) into.dedup_sort = from.dedup_sort;
  if (from.description) into.description = from.description;
  for (const auto& [key, value] : from.extra.items()) into.extra[key] = value;
  return into != before;
}

TableUpdate Schema::MergeTable(const Table& partial, bool replace_compound_props) {
  TableUpdate update;
  update.table = partial.name;
  Table* existing = FindTable(partial.name);
  if (existing == nullptr) {
    Table table;
    table.name = partial.name;
    // Merging the columns one by one folds duplicate names in the partial.
    for (const Column& column : partial.columns) {
      if (Column* found = table.FindColumn(column.name)) {
        MergeColumn(*found, column);
      } else {
        table.columns.push_back(column);
        update.new_columns.push_back(column.name);
      }
    }
    table.write_disposition = partial.write_disposition;
    table.parent = partial.parent;
    table.resource = partial.resource;
    table.description = partial.description;
    table.file_format = partial.file_format;
    table.table_format = partial.table_format;
    table.schema_contract = partial.schema_contract;
    table.extra = partial.extra;
    if (!table.parent) {
      if (!table.write_disposition) table.write_disposition = WriteDisposition::kAppend;
      if (!table.resource) table.resource = table.name;
    }
    tables_.push_back(std::move(table));
    update.new_table = true;
    update.changed = true;
    return update;
  }

  // Check everything before changing anything.
  if (partial.parent && existing->parent && *partial.parent != *existing->parent) {
    Throw(ErrorKind::kSchema, "cannot change parent of table {} from {} to {}", partial.name,
          *existing->parent, *partial.parent);
  }
  for (const Column& column : partial.columns) {
    const Column* current = existing->FindColumn(column.name);
    if (current != nullptr && current->complete() && column.complete() &&
        *current->data_type != *column.data_type) {
      Throw(ErrorKind::kSchema, "cannot change data type of column {}.{} from {} to {}",
            partial.name, column.name, DataTypeName(*current->data_type),
            DataTypeName(*column.data_type));
    }
  }

  Table before = *existing;
  if (replace_compound_props) {
    for (bool Column::*hint : kCompoundHints) {
      bool set_in_partial = std::any_of(partial.columns.begin(), partial.columns.end(),
                                        [&](const Column& c) { return c.*hint; });
      if (!set_in_partial) continue;
      for (Column& column : existing->columns) column.*hint = false;
    }
  }
  for (const Column& column : partial.columns) {
    auto it = std::find_if(existing->columns.begin(), existing->columns.end(),
                           [&](const Column& c) { return c.name == column.name; });
    if (it == existing->columns.end()) {
      existing->columns.push_back(column);
      update.new_columns.push_back(column.name);
      continue;
    }
    bool completes = !it->complete() && column.complete();
    MergeColumn(*it, column);
    if (completes) {
      // A column that just got its type is created in the destination now, so it goes last.
      Column moved = std::move(*it);
      existing->columns.erase(it);
      existing->columns.push_back(std::move(moved));
      update.new_columns.push_back(column.name);
    }
  }
  if (partial.write_disposition) existing->write_disposition = partial.write_disposition;
  if (partial.parent) existing->parent = partial.parent;
  if (partial.resource) existing->resource = partial.resource;
  if (partial.description) existing->description = partial.description;
  if (partial.file_format) existing->file_format = partial.file_format;
  if (partial.table_format) existing->table_format = partial.table_format;
  if (!partial.schema_contract.is_null()) existing->schema_contract = partial.schema_contract;
  for (const auto& [key, value] : partial.extra.items()) existing->extra[key] = value;
  update.changed = *existing != before;
  return update;
}

void Schema::DropTable(std::string_view table_name) {
  auto it = std::find_if(tables_.begin(), tables_.end(),
                         [&](const Table& t) { return t.name == table_name; });
  if (it != tables_.end()) tables_.erase(it);
}

// ---- System tables ---------------------------------------------------------------------------

Table DltVersionTable() {
  Table table;
  table.name = std::string(kVersionTableName);
  table.columns = {
      MakeColumn("version", DataType::kBigint, false),
      MakeColumn("engine_version", DataType::kBigint, false),
      MakeColumn("inserted_at", DataType::kTimestamp, false),
      MakeColumn("schema_name", DataType::kText, false),
      MakeColumn("version_hash", DataType::kText, false),
      MakeColumn("schema", DataType::kText, false),
  };
  table.write_disposition = WriteDisposition::kSkip;
  table.resource = table.name;
  table.description = "Created by DLT. Tracks schema updates";
  return table;
}

Table DltLoadsTable() {
  Table table;
  table.name = std::string(kLoadsTableName);
  table.columns = {
      MakeColumn("load_id", DataType::kText, false),
      MakeColumn("schema_name", DataType::kText, true),
      MakeColumn("status", DataType::kBigint, false),
      MakeColumn("inserted_at", DataType::kTimestamp, false),
      MakeColumn("schema_version_hash", DataType::kText, true),
  };
  table.columns[0].precision = 64;
  table.write_disposition = WriteDisposition::kSkip;
  table.resource = table.name;
  table.description = "Created by DLT. Tracks completed loads";
  return table;
}

Table DltPipelineStateTable() {
  Table table;
  table.name = std::string(kPipelineStateTableName);
  table.columns = {
      MakeColumn("version", DataType::kBigint, false),
      MakeColumn("engine_version", DataType::kBigint, false),
      MakeColumn("pipeline_name", DataType::kText, false),
      MakeColumn("state", DataType::kText, false),
      MakeColumn("created_at", DataType::kTimestamp, false),
      MakeColumn("version_hash", DataType::kText, true),
      MakeColumn("_dlt_load_id", DataType::kText, false),
      MakeColumn("_dlt_id", DataType::kText, false),
  };
  table.columns[6].precision = 64;
  table.columns[7].unique = true;
  table.columns[7].row_key = true;
  table.write_disposition = WriteDisposition::kAppend;
  table.resource = table.name;
  table.file_format = "preferred";
  table.description = "Created by DLT. Tracks pipeline state";
  return table;
}

}  // namespace cdlt::schema
