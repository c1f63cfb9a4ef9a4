#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/data_type.hpp"

namespace cdlt::schema {

/// Engine version of the stored schema form written by ToJson.
inline constexpr int kEngineVersion = 11;
/// How many previous version hashes a schema keeps.
inline constexpr size_t kMaxPreviousHashes = 10;
/// Prefix of dlt's own tables and columns.
inline constexpr std::string_view kDltPrefix = "_dlt";
inline constexpr std::string_view kVersionTableName = "_dlt_version";
inline constexpr std::string_view kLoadsTableName = "_dlt_loads";
inline constexpr std::string_view kPipelineStateTableName = "_dlt_pipeline_state";

/// dlt's merge hints: table props (in Table::extra) and column props (in Column::extra).
inline constexpr std::string_view kMergeStrategyHint = "x-merge-strategy";
inline constexpr std::string_view kBoundaryTimestampHint = "x-boundary-timestamp";
inline constexpr std::string_view kValidFromHint = "x-valid-from";
inline constexpr std::string_view kValidToHint = "x-valid-to";
inline constexpr std::string_view kActiveRecordTimestampHint = "x-active-record-timestamp";
inline constexpr std::string_view kRowVersionHint = "x-row-version";
/// dlt's default scd2 column names.
inline constexpr std::string_view kDefaultValidFrom = "_dlt_valid_from";
inline constexpr std::string_view kDefaultValidTo = "_dlt_valid_to";
inline constexpr std::string_view kDefaultRowVersion = "_dlt_id";
/// The merge strategy used when a merge table sets none (dlt: the destination's first).
inline constexpr std::string_view kDefaultMergeStrategy = "delete-insert";

/// One column of a table; `extra` keeps props cdlt does not model (x-*, ...) verbatim.
struct Column {
  std::string name;
  std::optional<DataType> data_type;
  bool nullable = true;
  bool primary_key = false, merge_key = false, unique = false, row_key = false, parent_key = false,
       root_key = false, hard_delete = false, incremental = false, variant = false,
       partition = false, cluster = false, sort = false;
  std::optional<int> precision, scale;
  std::optional<bool> timezone;
  std::optional<std::string> dedup_sort, description;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();

  /// A column without a data type is not created in the destination.
  bool complete() const { return data_type.has_value(); }
  bool operator==(const Column&) const = default;
};

/// One table; `extra` keeps table props cdlt does not model (x-normalizer, x-merge-strategy,
/// references, filters, ...) verbatim.
struct Table {
  std::string name;
  std::vector<Column> columns;  // Stored order matters (it is part of the version hash).
  std::optional<WriteDisposition> write_disposition;
  std::optional<std::string> parent, resource, description, file_format, table_format;
  nlohmann::ordered_json schema_contract;  // null when unset
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();

  const Column* FindColumn(std::string_view name) const;
  Column* FindColumn(std::string_view name);
  /// Return whether at least one column has a data type.
  bool HasCompleteColumns() const;
  bool operator==(const Table&) const = default;
};

/// What MergeTable changed, so the loader knows what to migrate.
struct TableUpdate {
  std::string table;
  bool new_table = false;
  /// Columns appended to the table, in order: new columns and incomplete columns that became
  /// complete (both moved to the end). For a new table: all its columns.
  std::vector<std::string> new_columns;
  /// Whether anything (columns, column or table props) changed.
  bool changed = false;
};

/// A dlt schema: tables with columns, settings and normalizer config, versioned by content hash.
class Schema {
 public:
  /// Create a schema with the _dlt_version and _dlt_loads tables, default settings and
  /// normalizers; version 1 with its hash set. Throws Error(kSchema) for an empty name.
  static Schema New(std::string name);
  /// Read the stored form. Throws Error(kSchema) naming the offending path (e.g.
  /// "tables.users.columns.id.data_type").
  static Schema FromJson(const nlohmann::ordered_json& json);
  /// Return the stored form (engine version 11).
  nlohmann::ordered_json ToJson() const;
  /// Read a schema file. Throws Error(kIo) naming the file when unreadable, Error(kSchema) when
  /// malformed.
  static Schema LoadFile(const std::filesystem::path& path);
  /// Write the stored form atomically: temp file, fsync, rename, fsync of the directory. Does not
  /// bump the version (call BumpVersion first). Throws Error(kIo) naming the file.
  void SaveFile(const std::filesystem::path& path) const;

  const std::string& name() const { return name_; }
  int64_t version() const { return version_; }
  const std::string& version_hash() const { return version_hash_; }
  const std::vector<std::string>& previous_hashes() const { return previous_hashes_; }
  const std::optional<std::string>& description() const { return description_; }
  void set_description(std::optional<std::string> description) {
    description_ = std::move(description);
  }
  const std::optional<std::string>& imported_version_hash() const { return imported_version_hash_; }
  void set_imported_version_hash(std::optional<std::string> hash) {
    imported_version_hash_ = std::move(hash);
  }

  /// Return base64(sha3_256) over the compact sorted-key stored form without version fields,
  /// then per table (sorted by name) the table name and its column names in order.
  std::string ComputeVersionHash() const;
  /// Bump the version if the content hash differs from version_hash(): version += 1, the old
  /// hash goes to the front of previous_hashes (at most 10, no duplicates). When no hash was set
  /// yet, only set it (version at least 1). Return whether anything changed.
  bool BumpVersion();

  const Table* FindTable(std::string_view name) const;
  Table* FindTable(std::string_view name);
  /// All tables in insertion order.
  const std::vector<Table>& tables() const { return tables_; }
  /// Tables whose name does not start with "_dlt" (optionally only those with complete columns).
  std::vector<const Table*> DataTables(bool include_incomplete = true) const;
  /// All descendants of `root` via `parent` (not `root` itself), depth first, parents first.
  std::vector<const Table*> NestedTables(std::string_view root) const;
  /// Return the root table of `table` (itself when it has no parent). Throws Error(kSchema) when
  /// `table` or a parent is missing.
  const Table& RootOf(std::string_view table) const;
  /// Return the write disposition of `table` or its nearest ancestor that sets one; default append.
  WriteDisposition GetWriteDisposition(std::string_view table) const;
  /// Return the x-merge-strategy of `table` or its nearest ancestor that sets one; else
  /// kDefaultMergeStrategy.
  std::string GetMergeStrategy(std::string_view table) const;

  /// Merge a partial table. A new table is added as given, root tables defaulting to write
  /// disposition append and resource = name. For an existing table: new columns are appended;
  /// existing columns take the partial column's set props (data_type, optionals, extra keys, hints
  /// that are true, nullable when false: a partial never clears a hint); an incomplete column that
  /// becomes complete moves to the end; table props set in the partial overwrite. With
  /// `replace_compound_props`, a compound prop (primary_key, merge_key, partition, cluster) set on
  /// any partial column is first cleared on all existing columns. Throws Error(kSchema) "cannot
  /// change data type of column <table>.<col> from <a> to <b>" or when the parent differs; nothing
  /// is changed then.
  TableUpdate MergeTable(const Table& partial, bool replace_compound_props = false);
  /// Remove a table (and nothing else); no-op when absent.
  void DropTable(std::string_view name);

  nlohmann::ordered_json& settings() { return settings_; }
  const nlohmann::ordered_json& settings() const { return settings_; }
  nlohmann::ordered_json& normalizers() { return normalizers_; }
  const nlohmann::ordered_json& normalizers() const { return normalizers_; }

  bool operator==(const Schema&) const = default;

 private:
  nlohmann::ordered_json ToJson(bool with_version_fields) const;

  std::string name_;
  int64_t version_ = 1;
  std::string version_hash_;
  std::vector<std::string> previous_hashes_;
  std::optional<std::string> description_;
  std::optional<std::string> imported_version_hash_;
  nlohmann::ordered_json settings_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json normalizers_ = nlohmann::ordered_json::object();
  std::vector<Table> tables_;
  nlohmann::ordered_json extra_ = nlohmann::ordered_json::object();  // unknown top-level keys
};

/// Return the stored form of a column / table (as in "tables" of the schema).
nlohmann::ordered_json ColumnToJson(const Column& column);
nlohmann::ordered_json TableToJson(const Table& table);

/// Merge the set props of `from` into `into` (see Schema::MergeTable); return whether it changed.
bool MergeColumn(Column& into, const Column& from);

/// Return whether the column's `extra` holds `hint` set to true (e.g. x-valid-from).
bool HasExtraFlag(const Column& column, std::string_view hint);

/// The dlt system tables (§6.3).
Table DltVersionTable();
Table DltLoadsTable();
/// _dlt_pipeline_state including _dlt_load_id and _dlt_id.
Table DltPipelineStateTable();

}  // namespace cdlt::schema
