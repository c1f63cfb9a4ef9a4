#pragma once

// dlt's merge SQL (§8.3, §8.4) for DuckDB: the statements that move one root table's staging
// rows into its main table, run by DuckDbClient::CompletePackage in the package's final
// transaction.

#include <string>
#include <vector>

#include "schema/schema.hpp"

namespace cdlt::dest::duckdb {

/// Check that root table `root` can be merged with its strategy; return dlt's warnings (e.g. a
/// delete-insert without keys is loaded like append). Throws Error(kSchema, terminal) for an
/// unknown strategy, upsert / insert-only without a primary key, scd2 without its columns, or
/// nested tables without the _dlt_id / _dlt_root_id columns their merge needs.
std::vector<std::string> CheckMergeTable(const schema::Schema& schema, const std::string& root);

/// Return the SQL (statements ending in ';') that merges `staging` (the qualified staging table)
/// into `main` (the qualified main table) for root table `root`, following its merge strategy.
/// `boundary_sql` is the scd2 boundary timestamp when the table sets no x-boundary-timestamp.
/// `ids_from_normalizer`: the staged root rows came through the relational normalizer (JSON
/// documents), which already set `_dlt_id` as the strategy needs (key hash, row hash) and linked
/// nested rows to it, so the SQL must not recompute it; typed rows (Parquet from sql_database or
/// files) get it computed here.
std::string MergeSql(const schema::Schema& schema, const std::string& root, const std::string& main,
                     const std::string& staging, const std::string& boundary_sql,
                     bool ids_from_normalizer);

}  // namespace cdlt::dest::duckdb
