#include "destinations/duckdb/merge_sql.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.hpp"
#include "db/duckdb_conn.hpp"

namespace cdlt::dest::duckdb {

using db::QuoteIdent;
using db::QuoteLiteral;

namespace {

constexpr const char* kDedupRowNumber = "_cdlt_dedup_rn";
constexpr const char* kRootId = "_dlt_root_id";
// Temp tables (per connection) holding root rows of one merge while its nested tables follow.
constexpr const char* kDeleteIds = "_cdlt_merge_delete_ids";
constexpr const char* kInsertRows = "_cdlt_merge_insert_rows";

std::vector<const schema::Column*> CompleteColumns(const schema::Table& table) {
  std::vector<const schema::Column*> out;
  for (const auto& c : table.columns) {
    if (c.complete()) out.push_back(&c);
  }
  return out;
}

std::vector<std::string> KeyColumns(const schema::Table& table, bool schema::Column::*flag) {
  std::vector<std::string> out;
  for (const auto* c : CompleteColumns(table)) {
    if (c->*flag) out.push_back(c->name);
  }
  return out;
}

/// "a, b" or "s.a, s.b" over `names`.
std::string List(const std::vector<std::string>& names, const std::string& alias = "") {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += (alias.empty() ? "" : alias + ".") + QuoteIdent(n);
  }
  return out;
}

/// "d.k1 = s.k1 AND d.k2 = s.k2" (NULL keys never match, as in dlt).
std::string KeysEqual(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty()) out += " AND ";
    out += fmt::format("d.{0} = s.{0}", QuoteIdent(k));
  }
  return out;
}

/// dlt's hard_delete: the row is deleted when the column is not NULL, a bool column when TRUE.
/// Empty when the table has no hard_delete column.
std::string DeletedCondition(const schema::Table& table, const std::string& alias) {
  for (const auto* c : CompleteColumns(table)) {
    if (!c->hard_delete) continue;
    std::string col = alias + "." + QuoteIdent(c->name);
    if (*c->data_type == schema::DataType::kBool) return fmt::format("COALESCE({}, FALSE)", col);
    return fmt::format("{} IS NOT NULL", col);
  }
  return "";
}

/// The staging rows, one per primary key when there is one (dlt: dedup_sort decides which,
/// else any), as a subquery.
std::string Deduplicated(const schema::Table& table, const std::string& staging,
                         const std::vector<std::string>& primary_key) {
  if (primary_key.empty()) return fmt::format("(SELECT * FROM {})", staging);
  std::string order;
  for (const auto* c : CompleteColumns(table)) {
    if (c->dedup_sort && (*c->dedup_sort == "asc" || *c->dedup_sort == "desc")) {
      order = fmt::format(" ORDER BY {} {}", QuoteIdent(c->name),
                          *c->dedup_sort == "desc" ? "DESC" : "ASC");
      break;
    }
  }
  return fmt::format(
      "(SELECT * EXCLUDE ({0}) FROM (SELECT *, row_number() OVER (PARTITION BY {1}{2}) AS {0} "
      "FROM {3}) WHERE {0} = 1)",
      kDedupRowNumber, List(primary_key), order, staging);
}

/// 14 base64 characters of the MD5 of the JSON-ish rendering of the non-NULL `columns`.
std::string HashSql(std::vector<std::string> columns) {
  std::sort(columns.begin(), columns.end());
  if (columns.empty()) return "left(to_base64(unhex(md5(''))), 14)";
  std::string parts;
  for (const auto& c : columns) {
    if (!parts.empty()) parts += ", ";
    parts +=
        fmt::format("CASE WHEN {0} IS NULL THEN '' ELSE {1} || to_json({0})::VARCHAR || ',' END",
                    QuoteIdent(c), QuoteLiteral(nlohmann::json(c).dump() + ":"));
  }
  return fmt::format("left(to_base64(unhex(md5(concat({})))), 14)", parts);
}

/// The SQL expression (over the columns of a row of `table`) of scd2's row hash: 14 base64
/// characters (as dlt's ids) of the MD5 of the row's non-NULL data columns, by name, excluding
/// columns starting with _dlt and the scd2 columns, so a column added later with NULLs keeps the
/// hash.
std::string RowHashSql(const schema::Table& table) {
  std::vector<std::string> columns;
  for (const auto* c : CompleteColumns(table)) {
    if (c->name.rfind(schema::kDltPrefix, 0) == 0) continue;
    if (schema::HasExtraFlag(*c, schema::kValidFromHint) ||
        schema::HasExtraFlag(*c, schema::kValidToHint) ||
        schema::HasExtraFlag(*c, schema::kRowVersionHint)) {
      continue;
    }
    columns.push_back(c->name);
  }
  return HashSql(std::move(columns));
}

const schema::Column* FlaggedColumn(const schema::Table& table, std::string_view hint) {
  for (const auto& c : table.columns) {
    if (schema::HasExtraFlag(c, hint)) return &c;
  }
  return nullptr;
}

std::string Scd2Sql(const schema::Table& table, const std::string& main, const std::string& staging,
                    const std::string& boundary_sql, bool ids_from_normalizer) {
  const schema::Column* from = FlaggedColumn(table, schema::kValidFromHint);
  const schema::Column* to = FlaggedColumn(table, schema::kValidToHint);
  const schema::Column* version = FlaggedColumn(table, schema::kRowVersionHint);
  std::string sql;
  if (version->name == schema::kDefaultRowVersion && !ids_from_normalizer) {
    sql += fmt::format("UPDATE {} SET {} = {};", staging, QuoteIdent(version->name),
                       RowHashSql(table));
  }
  std::string active = "NULL";
  auto art = to->extra.find(std::string(schema::kActiveRecordTimestampHint));
  if (art != to->extra.end() && art->is_string()) {
    active = fmt::format("CAST({} AS TIMESTAMPTZ)", QuoteLiteral(art->get<std::string>()));
  }
  std::string boundary = boundary_sql;
  auto bt = table.extra.find(std::string(schema::kBoundaryTimestampHint));
  if (bt != table.extra.end() && bt->is_string()) {
    boundary = fmt::format("CAST({} AS TIMESTAMPTZ)", QuoteLiteral(bt->get<std::string>()));
  }
  std::string to_col = QuoteIdent(to->name);
  std::string hash = QuoteIdent(version->name);
  auto is_active = [&](const std::string& alias) {
    return active == "NULL" ? fmt::format("{}.{} IS NULL", alias, to_col)
                            : fmt::format("{}.{} = {}", alias, to_col, active);
  };
  // Retire active rows whose version is not in the load (all of them, or with a merge key only
  // those whose key is in the load).
  std::vector<std::string> merge_key = KeyColumns(table, &schema::Column::merge_key);
  std::string key_filter;
  if (!merge_key.empty()) {
    key_filter =
        fmt::format(" AND EXISTS (SELECT 1 FROM {} AS s WHERE {})", staging, KeysEqual(merge_key));
  }
  sql += fmt::format(
      "UPDATE {0} AS d SET {1} = {2} WHERE {3} AND d.{4} NOT IN (SELECT {4} FROM {5}){6};", main,
      to_col, boundary, is_active("d"), hash, staging, key_filter);
  // Insert the versions that are not active yet.
  std::vector<std::string> columns;
  for (const auto* c : CompleteColumns(table)) {
    if (c != from && c != to) columns.push_back(c->name);
  }
  sql += fmt::format(
      "INSERT INTO {0} ({1}, {2}, {3}) SELECT {4}, {5}, {6} FROM {7} AS s WHERE s.{8} NOT IN "
      "(SELECT d.{8} FROM {0} AS d WHERE {9});",
      main, List(columns), QuoteIdent(from->name), to_col, List(columns, "s"), boundary, active,
      staging, hash, is_active("d"));
  return sql;
}

/// The qualified name of `table` in the schema of `qualified_root` ("ds"."root" → "ds"."table").
std::string Sibling(const std::string& qualified_root, const std::string& root,
                    const std::string& table) {
  std::string suffix = QuoteIdent(root);
  if (qualified_root.size() < suffix.size() ||
      qualified_root.compare(qualified_root.size() - suffix.size(), suffix.size(), suffix) != 0) {
    throw Error(ErrorKind::kInternal,
                fmt::format("merge: {} does not name table {}", qualified_root, root));
  }
  return qualified_root.substr(0, qualified_root.size() - suffix.size()) + QuoteIdent(table);
}

/// The nested tables of `root` that can hold rows.
std::vector<const schema::Table*> NestedWithColumns(const schema::Schema& schema,
                                                    const std::string& root) {
  std::vector<const schema::Table*> out;
  for (const schema::Table* t : schema.NestedTables(root)) {
    if (t->HasCompleteColumns()) out.push_back(t);
  }
  return out;
}

/// The staged rows of a nested table, one per _dlt_id.
std::string DistinctNested(const std::string& staging) {
  return fmt::format(
      "(SELECT * EXCLUDE ({0}) FROM (SELECT *, row_number() OVER (PARTITION BY "
      "_dlt_id) AS {0} FROM {1}) WHERE {0} = 1)",
      kDedupRowNumber, staging);
}

std::vector<std::string> ColumnNames(const schema::Table& table) {
  std::vector<std::string> out;
  for (const auto* c : CompleteColumns(table)) out.push_back(c->name);
  return out;
}

// "a = s.a, b = s.b": the SET list of a MERGE's update from the staged row `s`.
std::string SetFromStaged(const std::vector<std::string>& columns) {
  std::string set;
  for (const auto& c : columns) {
    if (!set.empty()) set += ", ";
    set += fmt::format("{0} = s.{0}", QuoteIdent(c));
  }
  return set;
}

}  // namespace

std::vector<std::string> CheckMergeTable(const schema::Schema& schema, const std::string& root) {
  std::vector<std::string> warnings;
  const schema::Table* table = schema.FindTable(root);
  if (table == nullptr) return warnings;
  std::string strategy = schema.GetMergeStrategy(root);
  auto fail = [&](const std::string& why) {
    throw Error(ErrorKind::kSchema, fmt::format("cannot merge table {}: {}", root, why));
  };
  if (!schema::IsMergeStrategy(strategy)) {
    fail(fmt::format("unknown merge strategy \"{}\": allowed values are {}", strategy,
                     schema::kMergeStrategyNames));
  }
  for (const schema::Table* nested : schema.NestedTables(root)) {
    if (!nested->HasCompleteColumns()) continue;
    const schema::Column* id = table->FindColumn(schema::kDefaultRowVersion);
    if (strategy != "scd2" && (id == nullptr || !id->complete())) {
      fail(fmt::format("nested table {} needs the root's _dlt_id column", nested->name));
    }
    const schema::Column* nested_id = nested->FindColumn(schema::kDefaultRowVersion);
    if (nested_id == nullptr || !nested_id->complete()) {
      fail(fmt::format("nested table {} has no _dlt_id column", nested->name));
    }
    const schema::Column* root_id = nested->FindColumn(kRootId);
    if (strategy != "scd2" && (root_id == nullptr || !root_id->complete())) {
      fail(fmt::format(
          "nested table {} has no _dlt_root_id column: it was loaded before the table became a "
          "merge table; drop it (and the root table) or reload with replace",
          nested->name));
    }
  }
  std::vector<std::string> pk = KeyColumns(*table, &schema::Column::primary_key);
  std::vector<std::string> mk = KeyColumns(*table, &schema::Column::merge_key);
  if (strategy == "upsert" || strategy == "insert-only") {
    if (pk.empty()) fail(fmt::format("strategy {} needs a primary_key", strategy));
    if (!mk.empty()) {
      warnings.push_back(fmt::format("merge table {}: strategy {} ignores the merge_key ({})", root,
                                     strategy, List(mk)));
    }
  } else if (strategy == "scd2") {
    const schema::Column* from = FlaggedColumn(*table, schema::kValidFromHint);
    const schema::Column* to = FlaggedColumn(*table, schema::kValidToHint);
    const schema::Column* version = FlaggedColumn(*table, schema::kRowVersionHint);
    if (from == nullptr || to == nullptr || version == nullptr || !from->complete() ||
        !to->complete() || !version->complete()) {
      fail(
          "strategy scd2 needs its validity and row version columns (x-valid-from, x-valid-to, "
          "x-row-version) with data types");
    }
  } else if (pk.empty() && mk.empty()) {
    warnings.push_back(fmt::format(
        "merge table {} has neither primary_key nor merge_key: its rows are appended (as dlt "
        "does), only hard-deleted rows are left out",
        root));
  }
  return warnings;
}

std::string MergeSql(const schema::Schema& schema, const std::string& root, const std::string& main,
                     const std::string& staging, const std::string& boundary_sql,
                     bool ids_from_normalizer) {
  const schema::Table* table = schema.FindTable(root);
  if (table == nullptr) return "";
  // A resumed package skips InitPackage, where this ran first.
  (void)CheckMergeTable(schema, root);
  std::string strategy = schema.GetMergeStrategy(root);
  std::vector<const schema::Table*> nested = NestedWithColumns(schema, root);
  auto nested_main = [&](const schema::Table* t) { return Sibling(main, root, t->name); };
  auto nested_staging = [&](const schema::Table* t) { return Sibling(staging, root, t->name); };
  // Insert-only for nested tables: staged rows whose _dlt_id is not in the table yet (`also`: an
  // extra condition on the staged row `s`).
  auto insert_new_nested = [&](const std::string& also) {
    std::string sql;
    for (const schema::Table* t : nested) {
      std::vector<std::string> cols = ColumnNames(*t);
      sql += fmt::format(
          "INSERT INTO {0} ({1}) SELECT {2} FROM {3} AS s WHERE s._dlt_id NOT IN (SELECT _dlt_id "
          "FROM {0}){4};",
          nested_main(t), List(cols), List(cols, "s"), DistinctNested(nested_staging(t)), also);
    }
    return sql;
  };
  if (strategy == "scd2") {
    // Nested rows of a version carry ids derived from its row hash: new versions bring new ids,
    // unchanged ones are already there (dlt: nested tables are insert-only).
    return Scd2Sql(*table, main, staging, boundary_sql, ids_from_normalizer) +
           insert_new_nested("");
  }

  std::vector<std::string> pk = KeyColumns(*table, &schema::Column::primary_key);
  std::vector<std::string> mk = KeyColumns(*table, &schema::Column::merge_key);
  std::vector<std::string> columns = ColumnNames(*table);
  std::string deleted = DeletedCondition(*table, "s");
  std::string sql;
  const schema::Column* id = table->FindColumn(schema::kDefaultRowVersion);
  if ((strategy == "upsert" || strategy == "insert-only") && id != nullptr && id->complete() &&
      !ids_from_normalizer) {
    // dlt: the root row id is the key hash, so an updated row keeps its id.
    sql += fmt::format("UPDATE {} SET {} = {};", staging, QuoteIdent(id->name), HashSql(pk));
  }
  std::string source = Deduplicated(*table, staging, pk);
  if (strategy == "upsert") {
    sql += fmt::format("MERGE INTO {} AS d USING {} AS s ON {}", main, source, KeysEqual(pk));
    if (!deleted.empty()) sql += fmt::format(" WHEN MATCHED AND {} THEN DELETE", deleted);
    sql += fmt::format(" WHEN MATCHED THEN UPDATE SET {} WHEN NOT MATCHED", SetFromStaged(columns));
    if (!deleted.empty()) sql += fmt::format(" AND NOT {}", deleted);
    sql += fmt::format(" THEN INSERT ({}) VALUES ({});", List(columns), List(columns, "s"));
    // Nested rows: update or insert by their own _dlt_id, then drop those of staged roots that
    // are gone from the new document, and all of hard-deleted roots.
    for (const schema::Table* t : nested) {
      std::vector<std::string> cols = ColumnNames(*t);
      sql += fmt::format(
          "MERGE INTO {0} AS d USING {1} AS s ON d._dlt_id = s._dlt_id WHEN MATCHED THEN UPDATE "
          "SET {2} WHEN NOT MATCHED THEN INSERT ({3}) VALUES ({4});",
          nested_main(t), DistinctNested(nested_staging(t)), SetFromStaged(cols), List(cols),
          List(cols, "s"));
      sql += fmt::format(
          "DELETE FROM {0} WHERE {1} IN (SELECT _dlt_id FROM {2}) AND _dlt_id NOT IN (SELECT "
          "_dlt_id FROM {3});",
          nested_main(t), kRootId, staging, nested_staging(t));
      if (!deleted.empty()) {
        sql +=
            fmt::format("DELETE FROM {0} WHERE {1} IN (SELECT s._dlt_id FROM {2} AS s WHERE {3});",
                        nested_main(t), kRootId, staging, deleted);
      }
    }
    return sql;
  }
  if (strategy == "insert-only") {
    // Nested rows first, and only those of roots not in main yet: a root that is skipped (its
    // key exists; its id is the key hash) keeps its nested rows as they were, even when the new
    // document's lists are longer (their extra rows would have ids not seen before).
    std::string also = fmt::format(" AND s.{} NOT IN (SELECT _dlt_id FROM {})", kRootId, main);
    if (!deleted.empty()) {
      also += fmt::format(" AND s.{} NOT IN (SELECT r._dlt_id FROM {} AS r WHERE {})", kRootId,
                          staging, DeletedCondition(*table, "r"));
    }
    sql += insert_new_nested(also);
    sql += fmt::format(
        "INSERT INTO {0} ({1}) SELECT {2} FROM {3} AS s WHERE NOT EXISTS (SELECT 1 FROM {0} AS d "
        "WHERE {4}){5};",
        main, List(columns), List(columns, "s"), source, KeysEqual(pk),
        deleted.empty() ? "" : " AND NOT " + deleted);
    return sql;
  }
  // delete-insert: rows of main that share a primary key or a merge key with any staged row
  // (hard-deleted ones too) go; then the deduplicated, not deleted staged rows come in.
  std::vector<std::string> predicates;
  if (!pk.empty()) predicates.push_back("(" + KeysEqual(pk) + ")");
  if (!mk.empty()) predicates.push_back("(" + KeysEqual(mk) + ")");
  std::string predicate;
  if (!predicates.empty()) {
    predicate = predicates[0];
    for (size_t i = 1; i < predicates.size(); ++i) predicate += " OR " + predicates[i];
  }
  if (nested.empty()) {
    if (!predicate.empty()) {
      sql += fmt::format("DELETE FROM {} AS d WHERE EXISTS (SELECT 1 FROM {} AS s WHERE {});", main,
                         staging, predicate);
    }
    sql += fmt::format("INSERT INTO {} ({}) SELECT {} FROM {} AS s{};", main, List(columns),
                       List(columns, "s"), source, deleted.empty() ? "" : " WHERE NOT " + deleted);
    return sql;
  }
  // With nested tables (dlt): the root ids to delete and the root rows to insert are fixed in
  // temp tables first, so the nested rows follow exactly the root rows that go and come.
  if (!predicate.empty()) {
    sql += fmt::format(
        "CREATE OR REPLACE TEMP TABLE {} AS SELECT d._dlt_id FROM {} AS d WHERE EXISTS (SELECT 1 "
        "FROM {} AS s WHERE {});",
        kDeleteIds, main, staging, predicate);
    for (const schema::Table* t : nested) {
      sql += fmt::format("DELETE FROM {} WHERE {} IN (SELECT _dlt_id FROM {});", nested_main(t),
                         kRootId, kDeleteIds);
    }
    sql += fmt::format("DELETE FROM {} WHERE _dlt_id IN (SELECT _dlt_id FROM {}); DROP TABLE {};",
                       main, kDeleteIds, kDeleteIds);
  }
  sql += fmt::format("CREATE OR REPLACE TEMP TABLE {} AS SELECT * FROM {} AS s{};", kInsertRows,
                     source, deleted.empty() ? "" : " WHERE NOT " + deleted);
  sql += fmt::format("INSERT INTO {} ({}) SELECT {} FROM {};", main, List(columns), List(columns),
                     kInsertRows);
  for (const schema::Table* t : nested) {
    std::vector<std::string> cols = ColumnNames(*t);
    sql += fmt::format(
        "INSERT INTO {0} ({1}) SELECT {2} FROM {3} AS s WHERE s.{4} IN (SELECT _dlt_id FROM {5});",
        nested_main(t), List(cols), List(cols, "s"), DistinctNested(nested_staging(t)), kRootId,
        kInsertRows);
  }
  sql += fmt::format("DROP TABLE {};", kInsertRows);
  return sql;
}

}  // namespace cdlt::dest::duckdb
